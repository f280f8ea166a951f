// SPDX-License-Identifier: GPL-2.0

//! Vital product data (VPD) of a function, read and written through its VPD capability, with
//! the PCI core's serialization and timeouts (`pci_read_vpd()`, `pci_write_vpd()`).
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::Device;
use crate::{
    bindings,
    device,
    ffi::c_int,
    prelude::*, //
};

impl Device<device::Bound> {
    /// Reads vital product data at `pos` into `buf`: returns how many bytes were read, which
    /// may be fewer than asked at the end of the data (`pci_read_vpd()`). `ENODEV` for a
    /// function without VPD, `ETIMEDOUT` if the function does not answer.
    pub fn read_vpd(&self, pos: u32, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: `self.as_raw()` is a valid, bound function; `buf` is valid for writes of its
        // length, which the C function does not exceed.
        let ret = unsafe {
            bindings::pci_read_vpd(
                self.as_raw(),
                pos.into(),
                buf.len(),
                buf.as_mut_ptr().cast(),
            )
        };
        to_count(ret)
    }

    /// Writes `buf` as vital product data at `pos`: returns how many bytes were written
    /// (`pci_write_vpd()`). `ENODEV` for a function without VPD, `ETIMEDOUT` if the function
    /// does not answer.
    pub fn write_vpd(&self, pos: u32, buf: &[u8]) -> Result<usize> {
        // SAFETY: `self.as_raw()` is a valid, bound function; `buf` is valid for reads of its
        // length, which the C function does not exceed.
        let ret = unsafe {
            bindings::pci_write_vpd(self.as_raw(), pos.into(), buf.len(), buf.as_ptr().cast())
        };
        to_count(ret)
    }
}

/// A byte count, or a negative errno, as the C functions return it.
fn to_count(ret: isize) -> Result<usize> {
    if ret < 0 {
        // CAST: errnos fit in an `int`.
        return Err(Error::from_errno(ret as c_int));
    }
    // CAST: a non-negative count.
    Ok(ret as usize)
}
