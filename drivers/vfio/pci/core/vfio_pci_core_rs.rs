// SPDX-License-Identifier: GPL-2.0

//! The Rust VFIO PCI core: what every VFIO PCI driver shares.
//!
//! A library module: the generic driver (`vfio_pci_rs`) and variant drivers use this crate,
//! as C VFIO PCI drivers use `vfio-pci-core`. Its module is `vfio_pci_core_rs`, so it can be
//! loaded beside the C stack.
//!
//! Work in progress: [`VfioPciCoreDevice`] answers `VFIO_DEVICE_GET_INFO` and
//! `VFIO_DEVICE_GET_REGION_INFO` as C vfio-pci does. Region access, mmap, config-space
//! emulation, interrupts and reset follow.

use kernel::{
    device::Core,
    page::PAGE_SIZE,
    pci,
    prelude::*,
    sync::aref::ARef,
    vfio,
    vfio::uapi, //
};

// The config-space emulation is used by the region access that follows; until then only its
// tests use it.
#[cfg_attr(
    not(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST),
    expect(dead_code, reason = "config-space region access is not wired up yet")
)]
mod config;

/// VFIO region offsets: the region index in the bits above `VFIO_PCI_OFFSET_SHIFT`.
const VFIO_PCI_OFFSET_SHIFT: u32 = 40;

/// Returns the offset of region `index` within the device file.
pub const fn region_offset(index: u32) -> u64 {
    // CAST: widening `u32` to `u64`.
    (index as u64) << VFIO_PCI_OFFSET_SHIFT
}

/// Splits an offset within the device file into the region index and the offset within the
/// region.
pub const fn split_offset(off: u64) -> (u32, u64) {
    // CAST: `off >> 40` has at most 24 significant bits.
    (
        (off >> VFIO_PCI_OFFSET_SHIFT) as u32,
        off & ((1 << VFIO_PCI_OFFSET_SHIFT) - 1),
    )
}

/// The core's state of a PCI function handed to userspace through VFIO.
///
/// A driver embeds it in its [`vfio::Driver::Data`] and forwards the VFIO operations it does
/// not handle itself to the methods here.
pub struct VfioPciCoreDevice {
    pdev: ARef<pci::Device>,
}

impl VfioPciCoreDevice {
    /// Creates the core state for `pdev`, which the calling driver is probing.
    pub fn new(pdev: &pci::Device<Core<'_>>) -> Self {
        Self { pdev: pdev.into() }
    }

    /// Returns the PCI function.
    pub fn pdev(&self) -> &pci::Device {
        &self.pdev
    }

    /// Handles `VFIO_DEVICE_GET_INFO` for the user structure at `arg`.
    pub fn ioctl_get_info(&self, arg: usize) -> Result<isize> {
        vfio::DeviceInfo {
            flags: uapi::DEVICE_FLAGS_PCI,
            num_regions: uapi::PCI_NUM_REGIONS,
            num_irqs: uapi::PCI_NUM_IRQS,
        }
        .write_to_user(arg)
    }

    /// Handles `VFIO_DEVICE_GET_REGION_INFO` for the fixed vfio-pci regions.
    pub fn region_info(&self, info: &mut vfio::RegionInfo) -> Result {
        let index = info.index();
        match index {
            uapi::PCI_BAR0_REGION_INDEX..=uapi::PCI_BAR5_REGION_INDEX => {
                self.bar_info(index, info)?
            }
            uapi::PCI_ROM_REGION_INDEX => {
                let len = self.pdev.rom_len();
                info.set_size(len);
                info.set_flags(if len == 0 {
                    0
                } else {
                    uapi::REGION_INFO_FLAG_READ
                });
            }
            uapi::PCI_CONFIG_REGION_INDEX => {
                // CAST: the configuration space is 256 or 4096 bytes.
                info.set_size(self.pdev.cfg_size().into_raw() as u64);
                info.set_flags(uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE);
            }
            // No VGA support yet, and no device-specific regions: C answers EINVAL for both.
            _ => return Err(EINVAL),
        }
        info.set_offset(region_offset(index));
        Ok(())
    }

    /// Fills in region info for BAR `bar`.
    fn bar_info(&self, bar: u32, info: &mut vfio::RegionInfo) -> Result {
        let len = self.pdev.resource_len(bar)?;
        info.set_size(len);
        if len == 0 {
            info.set_flags(0);
            return Ok(());
        }
        let mut flags = uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE;
        if self.bar_mmap_supported(bar, len)? {
            flags |= uapi::REGION_INFO_FLAG_MMAP;
        }
        info.set_flags(flags);
        Ok(())
    }

    /// Whether userspace may mmap BAR `bar`, of `len` bytes: a memory BAR of at least a page, or
    /// one that starts on a page boundary (the rest of the page is then reserved, so nothing
    /// else lands there).
    fn bar_mmap_supported(&self, bar: u32, len: u64) -> Result<bool> {
        if !self.pdev.resource_flags(bar)?.is_mem() {
            return Ok(false);
        }
        // CAST: `PAGE_SIZE` fits in `u64`.
        let page = PAGE_SIZE as u64;
        let start = self.pdev.resource_start(bar)?;
        Ok(len >= page || start % page == 0)
    }
}

#[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
#[kernel::macros::kunit_tests(vfio_pci_core_rs_offsets)]
mod tests {
    use super::{
        region_offset,
        split_offset, //
    };

    #[test]
    fn region_offsets_round_trip() {
        for index in [0, 5, 7, 8, 9, 200] {
            assert_eq!(split_offset(region_offset(index)), (index, 0));
            assert_eq!(split_offset(region_offset(index) + 0x1234), (index, 0x1234));
        }
    }

    #[test]
    fn region_offsets_match_the_uapi_encoding() {
        assert_eq!(region_offset(0), 0);
        assert_eq!(region_offset(7), 0x700_0000_0000);
        // The last byte of region 0 and the first of region 1.
        assert_eq!(split_offset((1 << 40) - 1), (0, (1 << 40) - 1));
        assert_eq!(split_offset(1 << 40), (1, 0));
        assert_eq!(split_offset(u64::MAX), ((1 << 24) - 1, (1 << 40) - 1));
    }
}

struct VfioPciCoreModule;

impl kernel::Module for VfioPciCoreModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

module! {
    type: VfioPciCoreModule,
    name: "vfio_pci_core_rs",
    authors: ["vfio-rs developers"],
    description: "Rust VFIO PCI core library",
    license: "GPL v2",
}
