// SPDX-License-Identifier: GPL-2.0

//! Device-specific regions: regions past the fixed vfio-pci ones that a variant driver adds
//! for its device, such as firmware tables or a vendor's register window.
//!
//! A variant registers them with [`crate::VfioPciCoreDevice::register_dev_region`] while the
//! device is open, typically from its `open_device`; they go away when the device is closed.
//! Userspace finds them after the fixed regions (`VFIO_PCI_NUM_REGIONS` onwards), identified
//! by the type capability of their region info.

use kernel::{
    device::Bound,
    pci,
    prelude::*, //
};

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

/// A registered device-specific region.
pub(crate) struct DevRegionEntry {
    pub(crate) info: DevRegionInfo,
    pub(crate) ops: KBox<dyn DevRegion>,
}
