// SPDX-License-Identifier: GPL-2.0

//! Device-specific regions: regions past the fixed vfio-pci ones that a variant driver adds
//! for its device, such as firmware tables or a vendor's register window.
//!
//! A variant registers them while the device is open, typically from its `open_device`; they
//! go away when the device is closed. A region is either accessed through the variant's
//! [`DevRegion`] operations ([`crate::VfioPciCoreDevice::register_dev_region`]), or a window
//! onto pages of a memory BAR ([`BarWindow`],
//! [`crate::VfioPciCoreDevice::register_bar_window`]), which the core reads, writes and maps
//! as it does the BAR. Userspace finds them after the fixed regions (`VFIO_PCI_NUM_REGIONS`
//! onwards), identified by the type capability of their region info.

use kernel::{
    device::Bound,
    devres::Devres,
    page::PAGE_SIZE,
    pci,
    prelude::*, //
};

use crate::config::NUM_BARS;

/// How userspace may mmap a BAR, by C vfio-pci's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BarMapping {
    /// Not at all: an I/O port BAR, an empty one, or one smaller than a page that does not
    /// start on a page boundary (userspace could not tell where in its page it lies).
    None,
    /// A memory BAR of at least a page, mapped up to its end rounded up to a page.
    Whole,
    /// A memory BAR smaller than a page that starts on a page boundary: its whole page is
    /// mapped, once the rest of the page is reserved.
    SubPage,
}

impl BarMapping {
    /// How a BAR starting at `start`, of `len` bytes, memory or not, may be mapped with pages
    /// of `page` bytes.
    pub(crate) const fn of(is_mem: bool, start: u64, len: u64, page: u64) -> Self {
        if !is_mem || len == 0 {
            Self::None
        } else if len >= page {
            Self::Whole
        } else if start % page == 0 {
            Self::SubPage
        } else {
            Self::None
        }
    }
}

/// Which BARs userspace may mmap, decided when the device is opened, as C vfio-pci's
/// `vfio_pci_probe_mmaps()` does, with the reservations of the rest of the page of the BARs
/// smaller than a page, held until the device is closed.
pub(crate) struct BarMmap {
    /// Whether userspace may mmap each BAR.
    supported: [bool; NUM_BARS],
    /// The reservations of the rest of the page of each BAR smaller than a page that maps.
    reserved: [Option<Devres<pci::SubPageReservation>>; NUM_BARS],
}

impl BarMmap {
    /// The name of the reservations in the resource tree (`/proc/iomem`), C's.
    const RESERVED: &'static CStr = c"vfio sub-page reserved";

    /// Decides which BARs of `pdev` userspace may mmap: none if the function's BARs must not
    /// be mapped; BARs smaller than a page only if the rest of their page could be reserved.
    pub(crate) fn probe(pdev: &pci::Device<Bound>) -> Self {
        let mut mmap = Self {
            supported: [false; NUM_BARS],
            reserved: Default::default(),
        };
        if pdev.non_mappable_bars() {
            return mmap;
        }
        // CAST: `PAGE_SIZE` fits in `u64`.
        let page = PAGE_SIZE as u64;
        for (bar, (supported, reserved)) in mmap
            .supported
            .iter_mut()
            .zip(mmap.reserved.iter_mut())
            .enumerate()
        {
            // CAST: `bar` is below `NUM_BARS`.
            let bar = bar as u32;
            let (Ok(flags), Ok(start), Ok(len)) = (
                pdev.resource_flags(bar),
                pdev.resource_start(bar),
                pdev.resource_len(bar),
            ) else {
                continue;
            };
            *supported = match BarMapping::of(flags.is_mem(), start, len, page) {
                BarMapping::None => false,
                BarMapping::Whole => true,
                BarMapping::SubPage => {
                    *reserved = pdev.reserve_sub_page(bar, Self::RESERVED).ok();
                    reserved.is_some()
                }
            };
        }
        mmap
    }

    /// Whether userspace may mmap BAR `bar`.
    pub(crate) fn supported(&self, bar: u32) -> bool {
        // CAST: `u32` fits in `usize`.
        self.supported.get(bar as usize).copied().unwrap_or(false)
    }
}

/// The accesses of a device-specific region.
pub trait DevRegion: Send + Sync {
    /// Reads `buf.len()` bytes at `pos` of the region (never past its end), on behalf of
    /// userspace.
    fn read(&self, pdev: &pci::Device<Bound>, pos: u64, buf: &mut [u8]) -> Result;

    /// Writes `buf` at `pos` of the region (never past its end). Only called for regions
    /// registered with [`DevRegionInfo::writable`].
    fn write(&self, _pdev: &pci::Device<Bound>, _pos: u64, _buf: &[u8]) -> Result {
        Err(EINVAL)
    }
}

/// What userspace learns of a device-specific region from `VFIO_DEVICE_GET_REGION_INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevRegionInfo {
    /// `VFIO_REGION_TYPE_*`, or a PCI vendor type (`VFIO_REGION_TYPE_PCI_VENDOR_TYPE` with
    /// the vendor ID in the low 16 bits).
    pub region_type: u32,
    /// The subtype, defined by the type.
    pub subtype: u32,
    /// Size in bytes.
    pub size: u64,
    /// Whether userspace may write the region.
    pub writable: bool,
}

/// Where a device-specific region lies within a memory BAR: it starts at byte `offset` of
/// BAR `bar`, on a page boundary, and the region's page `n` is the page `n` after that one.
///
/// Userspace may mmap such a region (`VFIO_REGION_INFO_FLAG_MMAP`): the core maps the BAR's
/// pages, with the BAR's own rules (no access while memory decoding is off, during a reset or
/// in a low-power state), and reads and writes the region as the BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarWindow {
    /// The memory BAR, 0 to 5. Userspace must be allowed to mmap it.
    pub bar: u32,
    /// Where the region starts in the BAR, in bytes: a multiple of the page size.
    pub offset: u64,
}

impl BarWindow {
    /// Checks that a region of `size` bytes fits in the window's BAR, of `bar_len` bytes, from
    /// a page boundary of pages of `page` bytes (its last page is then one of the BAR's, all
    /// of which userspace may have when it maps the BAR).
    pub(crate) const fn check(&self, size: u64, bar_len: u64, page: u64) -> Result {
        match self.offset.checked_add(size) {
            Some(end) if size != 0 && self.offset % page == 0 && end <= bar_len => Ok(()),
            _ => Err(EINVAL),
        }
    }
}

/// How the core accesses a device-specific region.
pub(crate) enum Backing {
    /// Through the variant's operations.
    Ops(KBox<dyn DevRegion>),
    /// As pages of a memory BAR.
    Bar(BarWindow),
}

/// A registered device-specific region.
pub(crate) struct DevRegionEntry {
    pub(crate) info: DevRegionInfo,
    pub(crate) backing: Backing,
}
