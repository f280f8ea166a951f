// SPDX-License-Identifier: GPL-2.0

//! I/O port BARs accessed from any context, an eventfd's wakeup say, while the function is
//! bound: [`IoPortBar`], held in a [`Devres`].
//!
//! C header: [`include/linux/io.h`](srctree/include/linux/io.h)

use super::Device;
use crate::{
    bindings,
    device,
    devres::Devres,
    ffi::c_ulong,
    prelude::*, //
};

/// The ports of an I/O port BAR of a function, for accesses of 1, 2 or 4 bytes (and 8, as two
/// of 4, low first, as C's `iowrite64()` does on ports), bounds-checked against the BAR.
///
/// Only reachable through the [`Devres`] that [`Device::io_port_bar`] returns, so only while
/// the function is bound.
///
/// # Invariants
///
/// `start..start + len` are the ports of an I/O BAR of a bound function, `len` is not 0.
pub struct IoPortBar {
    start: u64,
    len: u64,
}

impl IoPortBar {
    /// Writes the low `width` bytes of `val` at offset `off` of the BAR: `EINVAL` for another
    /// width than 1, 2, 4 or 8, or past the end of the BAR. Usable in atomic context.
    pub fn try_write(&self, off: u64, width: usize, val: u64) -> Result {
        if width == 8 {
            // CAST: the low and high halves.
            self.try_write(off, 4, val & 0xffff_ffff)?;
            return self.try_write(off + 4, 4, val >> 32);
        }
        if !matches!(width, 1 | 2 | 4) {
            return Err(EINVAL);
        }
        // CAST: `width` is at most 4.
        let end = off.checked_add(width as u64).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        let port = c_ulong::try_from(self.start + off)?;
        // SAFETY: The ports are within an I/O BAR of the function, bound while `self` can be
        // reached (type invariants); mapping ports has no side effects, and `ioport_map()` does
        // not sleep.
        // CAST (below): `width` is at most 4; the value is truncated to the width on purpose.
        unsafe {
            let addr = bindings::ioport_map(port, width as u32);
            if addr.is_null() {
                return Err(ENOMEM);
            }
            super::iowrite_width(addr, width, val as u32);
            bindings::ioport_unmap(addr);
        }
        Ok(())
    }
}

impl Device<device::Bound> {
    /// Returns I/O port BAR `bar` of the function, for accesses as long as the function is
    /// bound: `EINVAL` if the BAR is not an assigned I/O port BAR.
    pub fn io_port_bar(&self, bar: u32) -> Result<Devres<IoPortBar>> {
        if !self.resource_flags(bar)?.is_io() {
            return Err(EINVAL);
        }
        let (start, len) = (self.resource_start(bar)?, self.resource_len(bar)?);
        if start == 0 || len == 0 {
            return Err(EINVAL);
        }
        // INVARIANT: The ports of an assigned I/O BAR of this bound function; the `Devres`
        // revokes the access when it is unbound.
        Devres::new(self.as_ref(), IoPortBar { start, len })
    }
}
