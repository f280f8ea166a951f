// SPDX-License-Identifier: GPL-2.0

//! Hot reset of a function's slot or bus, which resets every function below it, and what a
//! function is to the IOMMU and the bus topology.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::Device;
use crate::{
    bindings,
    device,
    error::to_result,
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*, //
};

/// What a hot reset of a function resets: its slot, or its whole bus (see
/// [`Device::hot_reset_scope`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HotResetScope {
    /// The function's slot, through its hotplug controller: the functions below the slot.
    Slot,
    /// The function's bus, through the secondary bus reset of the bridge above it: every
    /// function below the bridge.
    Bus,
}

/// The slot or bus whose hot reset resets a function, as an identity: functions with equal
/// targets are reset together (see [`Device::hot_reset_target`]). Compared only, never used to
/// reach the slot or bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotResetTarget(usize);

impl HotResetTarget {
    /// Returns the address of the slot or bus, as a number: an identity, for keys.
    pub fn id(&self) -> usize {
        self.0
    }
}

impl Device {
    /// Whether the function is on a root bus, which no bridge above it can reset.
    pub fn on_root_bus(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`, whose `bus` is valid as long as
        // it is; a root bus has no parent (`pci_is_root_bus()`).
        unsafe { (*(*self.as_raw()).bus).parent.is_null() }
    }

    /// Returns the PCI segment (domain) of the function, `pci_domain_nr()`.
    pub fn domain_nr(&self) -> u16 {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`, whose `bus` is valid as long as
        // it is.
        let nr = unsafe { bindings::pci_domain_nr((*self.as_raw()).bus) };
        // CAST: Truncated to the 16 bits of the PCI segment, as the VFIO uAPI reports it; some
        // domains (VMD) are wider.
        nr as u16
    }

    /// Returns the number of the function's bus.
    pub fn bus_nr(&self) -> u8 {
        // CAST: The bus number is the high byte of the device ID.
        (self.dev_id() >> 8) as u8
    }

    /// Returns the device and function number of the function (use `PCI_SLOT`/`PCI_FUNC`).
    pub fn devfn(&self) -> u8 {
        // CAST: `devfn` is the low byte of the device ID.
        self.dev_id() as u8
    }

    /// Returns the ID of the function's IOMMU group, or `None` if the function has none
    /// (`iommu_group_get()`, `iommu_group_id()`).
    #[cfg(CONFIG_IOMMU_API)]
    pub fn iommu_group_id(&self) -> Option<u32> {
        // SAFETY: `self.as_ref().as_raw()` is a valid `struct device`.
        let group = unsafe { bindings::iommu_group_get(self.as_ref().as_raw()) };
        if group.is_null() {
            return None;
        }
        // SAFETY: `group` is a valid group, whose reference `iommu_group_get()` took and that
        // is given back here.
        let id = unsafe {
            let id = bindings::iommu_group_id(group);
            bindings::iommu_group_put(group);
            id
        };
        u32::try_from(id).ok()
    }

    /// Returns the ID of the function's IOMMU group: `None` without IOMMU support.
    #[cfg(not(CONFIG_IOMMU_API))]
    pub fn iommu_group_id(&self) -> Option<u32> {
        None
    }

    /// Whether the function is at or below `slot`: the first device on the slot's bus on the
    /// way up from the function is in the slot.
    fn below_slot(&self, slot: *mut bindings::pci_slot) -> bool {
        let mut pdev = self.as_raw();
        // SAFETY: `slot` is a valid slot (caller), `pdev` a valid function and then, each time,
        // the bridge above a valid bus, which lives at least as long as the functions below it;
        // the root bus has no bridge (`self_` is null).
        unsafe {
            while !pdev.is_null() {
                if (*pdev).bus == (*slot).bus {
                    return (*pdev).slot == slot;
                }
                pdev = (*(*pdev).bus).self_;
            }
        }
        false
    }
}

impl Device<device::Bound> {
    /// Returns how the function can be hot reset, as `pci_reset_bus()` would do it: through its
    /// slot if the slot can be reset, else through its bus if the bridge above it can reset it,
    /// else `None` (for instance on a root bus).
    pub fn hot_reset_scope(&self) -> Option<HotResetScope> {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`; its `slot` may be null, which
        // `pci_probe_reset_slot()` refuses, and its `bus` is valid.
        unsafe {
            if bindings::pci_probe_reset_slot((*self.as_raw()).slot) == 0 {
                Some(HotResetScope::Slot)
            } else if bindings::pci_probe_reset_bus((*self.as_raw()).bus) == 0 {
                Some(HotResetScope::Bus)
            } else {
                None
            }
        }
    }

    /// Returns the slot whose reset resets the function if the slot can be reset, else its
    /// bus, whether or not the bus can be reset: the functions that share a target share their
    /// hot reset, as C VFIO groups them into device sets.
    pub fn hot_reset_target(&self) -> HotResetTarget {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`; its `slot` may be null, which
        // `pci_probe_reset_slot()` refuses.
        let (slot, bus) = unsafe { ((*self.as_raw()).slot, (*self.as_raw()).bus) };
        // SAFETY: `slot` is null or a valid slot of the function.
        if unsafe { bindings::pci_probe_reset_slot(slot) } == 0 {
            HotResetTarget(slot.addr())
        } else {
            HotResetTarget(bus.addr())
        }
    }

    /// Calls `f` for every function a hot reset of `scope` resets, this one included, in bus
    /// order, with the bus locked against changes (`pci_walk_bus()`): stops at the first error
    /// `f` returns, and returns it. `f` runs with `pci_bus_sem` held for reading: it must not
    /// add or remove devices, nor reset the bus.
    pub fn for_each_hot_reset_dependent(
        &self,
        scope: HotResetScope,
        mut f: impl FnMut(&Device) -> Result,
    ) -> Result {
        struct Walk<'a> {
            f: &'a mut dyn FnMut(&Device) -> Result,
            slot: *mut bindings::pci_slot,
            ret: Result,
        }

        extern "C" fn visit(pdev: *mut bindings::pci_dev, data: *mut c_void) -> c_int {
            // SAFETY: `data` is the `Walk` passed to `pci_walk_bus()` below, which outlives
            // the walk and is only used by it.
            let walk = unsafe { &mut *data.cast::<Walk<'_>>() };
            // SAFETY: `pci_walk_bus()` calls this with valid functions, which cannot be
            // removed during the walk.
            let pdev = unsafe { &*pdev.cast::<Device>() };
            if walk.slot.is_null() || pdev.below_slot(walk.slot) {
                walk.ret = (walk.f)(pdev);
            }
            c_int::from(walk.ret.is_err())
        }

        let slot = match scope {
            // SAFETY: `self.as_raw()` is a valid `struct pci_dev`.
            HotResetScope::Slot => unsafe { (*self.as_raw()).slot },
            HotResetScope::Bus => core::ptr::null_mut(),
        };
        if scope == HotResetScope::Slot && slot.is_null() {
            return Err(EINVAL);
        }
        let mut walk = Walk {
            f: &mut f,
            slot,
            ret: Ok(()),
        };
        // SAFETY: The function's `bus` is valid; `visit` only uses `walk`, which outlives the
        // call.
        unsafe {
            bindings::pci_walk_bus(
                (*self.as_raw()).bus,
                Some(visit),
                (&raw mut walk).cast::<c_void>(),
            )
        };
        walk.ret
    }

    /// Hot resets the function's slot or bus, as [`Device::hot_reset_scope`] says,
    /// `pci_reset_bus()`: every function [`Device::for_each_hot_reset_dependent`] lists is
    /// reset, its config state saved before and restored after.
    ///
    /// The other functions' drivers are not asked: the caller makes sure that it owns all of
    /// them, as VFIO does before a hot reset that userspace asks for.
    pub fn reset_bus(&self) -> Result {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`.
        to_result(unsafe { bindings::pci_reset_bus(self.as_raw()) })
    }
}
