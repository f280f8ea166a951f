// SPDX-License-Identifier: GPL-2.0

//! Mapping memory BARs whole pages at a time, for drivers that give a function's BARs to
//! userspace: whether the BARs may be mapped at all, and [`SubPageReservation`], which keeps
//! the rest of the page of a BAR smaller than a page free while userspace maps that page.
//!
//! C header: [`include/linux/ioport.h`](srctree/include/linux/ioport.h)

use super::Device;
use crate::{
    bindings,
    device,
    devres::Devres,
    ffi::c_ulong,
    page::PAGE_SIZE,
    prelude::*,
    types::Opaque, //
};

/// The rest of the page of a memory BAR smaller than a page, from the end of the BAR to the
/// end of the page it starts, reserved in the resource tree under the BAR's parent, so that no
/// other resource (the BAR of a function added later, say) is assigned there. Userspace that
/// is given the page then reaches nothing but the BAR.
///
/// C vfio-pci makes the same reservation with the BAR's flags; this one is also marked busy,
/// so that no region can be requested within it either (a request would otherwise nest below
/// the reservation, and be left with a freed parent when it goes away).
///
/// Only reachable through the [`Devres`] that [`Device::reserve_sub_page`] returns: the
/// reservation goes away when it drops or when the function is unbound, whichever comes
/// first, while the BAR's parent still exists.
///
/// # Invariants
///
/// `res` is linked in the resource tree (`request_resource()` succeeded on it) until it drops,
/// and does not move meanwhile; its name is `'static`.
pub struct SubPageReservation {
    res: Pin<KBox<Opaque<bindings::resource>>>,
}

// SAFETY: The resource is only reached through the resource tree, under its lock, once
// linked; `release_resource()` may be called from any thread.
unsafe impl Send for SubPageReservation {}

impl Drop for SubPageReservation {
    fn drop(&mut self) {
        // SAFETY: The resource is linked in the tree (type invariant), under a parent that
        // still exists: `self` is dropped either by `Device::reserve_sub_page()` itself, if
        // the `Devres` cannot be set up, or by that `Devres`, at the latest when the function
        // is unbound, before its BARs are released. Being busy, it gets no children from
        // region requests, so nothing reaches it once it is unlinked (as in C, only a resource
        // inserted within it by `insert_resource()`, which nothing does in a BAR's page, would
        // be left with a freed parent); its memory is freed after this.
        unsafe { bindings::release_resource(self.res.get()) };
    }
}

impl<Ctx: device::DeviceContext> Device<Ctx> {
    /// Returns whether the function's BARs must not be mapped by the CPU or by peers
    /// (`non_mappable_bars`, set by platform code for functions whose BARs only work through
    /// special instructions).
    pub fn non_mappable_bars(&self) -> bool {
        // SAFETY: By its type invariant `self.as_raw` is a valid pointer to a `struct pci_dev`;
        // the bit is set before the device is added, and not changed afterwards.
        unsafe { bindings::pci_dev::non_mappable_bars_raw(self.as_raw()) != 0 }
    }
}

impl Device<device::Bound> {
    /// Reserves the rest of the page that memory BAR `bar` starts, from its end to the end of
    /// the page, under the BAR's parent resource, until the returned [`Devres`] drops or the
    /// function is unbound. This is what lets a driver give userspace the page of a BAR
    /// smaller than a page, as C vfio-pci does.
    ///
    /// Returns `EINVAL` if the BAR is not an assigned memory BAR smaller than a page that
    /// starts on a page boundary, and `EBUSY` if part of the rest of the page is in use.
    pub fn reserve_sub_page(
        &self,
        bar: u32,
        name: &'static CStr,
    ) -> Result<Devres<SubPageReservation>> {
        let flags = self.resource_flags(bar)?;
        let (start, len) = (self.resource_start(bar)?, self.resource_len(bar)?);
        // CAST: `usize` fits in a `resource_size_t`.
        let page = PAGE_SIZE as bindings::resource_size_t;
        if !flags.is_mem() || len == 0 || len >= page || start % page != 0 {
            return Err(EINVAL);
        }
        // SAFETY: `bar` is a valid BAR index (checked by `resource_flags()` above), and by its
        // type invariant `self.as_raw` is a valid pointer to a `struct pci_dev`; the parent of
        // an assigned BAR is set when the BAR is claimed, and stays while the function is
        // bound.
        // CAST: `bar` is a BAR index below 6.
        let parent = unsafe { (*self.as_raw()).resource[bar as usize].parent };
        if parent.is_null() {
            return Err(EINVAL);
        }
        let res = KBox::pin(
            Opaque::new(bindings::resource {
                name: name.as_char_ptr(),
                start: start + len,
                end: start + page - 1,
                // CAST: the flag fits in a `c_ulong`.
                flags: flags.0 | bindings::IORESOURCE_BUSY as c_ulong,
                ..Default::default()
            }),
            GFP_KERNEL_ACCOUNT,
        )?;
        // SAFETY: `parent` is a valid resource (above); `res` is a valid resource that does not
        // move while it is linked, with a `'static` name, and unlinked by `Drop` before it
        // is freed.
        if unsafe { bindings::request_resource(parent, res.get()) } != 0 {
            return Err(EBUSY);
        }
        // INVARIANT: `res` was just linked in the tree; it is pinned and its name `'static`.
        let reserved = SubPageReservation { res };
        Devres::new(self.as_ref(), reserved)
    }
}
