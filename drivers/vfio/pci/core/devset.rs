// SPDX-License-Identifier: GPL-2.0

//! Device sets: the functions bound to drivers of this core that a PCI hot reset resets
//! together, grouped as C vfio-pci groups them: the functions below one slot if the slot can
//! be reset, else those on one bus. A function on a root bus, and a VF, is alone in its set.
//!
//! The sets are the VFIO core's (`struct vfio_device_set`): it opens and closes the devices of
//! a set under the set's lock, which a hot reset takes too. C vfio-pci keys its sets by the
//! address of the `struct pci_slot` or `struct pci_bus`; the core keys them by the same
//! address made odd ([`vfio::DeviceSetKey`]), so that its sets never mix with C drivers':
//! their code would take a device of this core for a `struct vfio_pci_core_device`. So a hot
//! reset that would also reset a function bound to a C VFIO driver is refused, as one that
//! would reset a function bound to any other driver.
//!
//! The VFIO core knows a set's devices, not the core's state of each: the list here, of every
//! function bound to a driver of this core, gives it.

use core::ptr;

use kernel::{
    device::{
        self,
        Bound, //
    },
    devres::Devres,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        global_lock,
        Arc,
        GlobalGuard, //
    },
    vfio, //
};

use crate::device::OpenState;

/// A function bound to a driver of this core, in its device set.
pub(crate) struct Member {
    /// What a hot reset of the function resets; `None` for a function alone in its set.
    target: Option<pci::HotResetTarget>,
    pdev: ARef<pci::Device>,
    /// The function's VFIO device.
    pub(crate) vdev: ARef<vfio::AnyDevice>,
    /// What the core holds while the device is open.
    pub(crate) state: Arc<OpenState>,
    /// The function was closed without being reset: a bus reset should clean it up once every
    /// device of its set is closed.
    needs_reset: bool,
}

impl Member {
    /// Returns the function, bound.
    pub(crate) fn pdev(&self) -> Result<&pci::Device<Bound>> {
        let dev: &device::Device = self.pdev.as_ref();
        // SAFETY: By the invariant of `MEMBERS`, the function is bound while it is a member,
        // and `self` is only reachable through a `Sets`, which holds the lock of the list: a
        // function leaves the list, before it is unbound, with that lock held.
        let dev = unsafe { dev.as_bound() };
        dev.try_into()
    }

    /// Whether the member is the function `pdev`.
    pub(crate) fn is(&self, pdev: &pci::Device) -> bool {
        ptr::eq(&*self.pdev, pdev)
    }

    /// Returns how the member's VFIO device relates to the iommufd that `caller`, in an
    /// operation, is bound to, with the lock of the member's VFIO device set held (`set`).
    pub(crate) fn iommufd_ownership(
        &self,
        caller: &vfio::Registered<impl vfio::Driver>,
        set: &vfio::DeviceSetGuard<'_>,
    ) -> vfio::IommufdOwnership {
        // SAFETY: The VFIO device's parent is the member's function, which `self.pdev` keeps
        // alive.
        unsafe { self.vdev.iommufd_ownership(caller, set) }
    }
}

global_lock! {
    // SAFETY: Initialized by the core module's init, before any driver can use the core.
    //
    // INVARIANT: The functions in the list are bound to the driver that added them: they are
    // added by probe, with a `Membership` that a `Devres` of the function holds, and leave the
    // list when it is dropped, at the latest when the function's device resources are released,
    // before it is unbound.
    unsafe(uninit) static MEMBERS: Mutex<KVec<Member>> = KVec::new();
}

/// Initializes the list of device set members.
///
/// # Safety
///
/// Called once, from the core module's init.
pub(crate) unsafe fn init() {
    // SAFETY: Called once, before any use of `MEMBERS` (function safety requirements).
    unsafe { MEMBERS.init() };
}

/// The membership of a function in its device set, from probe until it is dropped with the
/// driver data.
pub(crate) struct Membership {
    pdev: ARef<pci::Device>,
}

/// Which device set a function is in: the functions with the same hot reset target, or none
/// but itself.
#[derive(Clone, Copy)]
pub(crate) struct SetId(Option<pci::HotResetTarget>);

impl SetId {
    /// Returns the set of `pdev`, being probed, as C vfio-pci keys device sets: by what a hot
    /// reset of it resets, or alone for a function on a root bus or a VF.
    pub(crate) fn of(pdev: &pci::Device<device::Core<'_>>) -> Self {
        if pdev.on_root_bus() || pdev.is_virtfn() {
            Self(None)
        } else {
            Self(Some(pdev.hot_reset_target()))
        }
    }

    /// Returns the key of the VFIO device set, `None` for a function alone in its set.
    pub(crate) fn key(&self) -> Option<vfio::DeviceSetKey> {
        self.0.map(|t| vfio::DeviceSetKey::new(t.id()))
    }
}

impl Membership {
    /// Adds `pdev`, being probed, to the list, in the set `set`, with its VFIO device (allocated
    /// in the VFIO device set of `set`'s key) and its open state. The function leaves the list
    /// when the result is dropped, at the latest when the function is unbound.
    pub(crate) fn join(
        pdev: &pci::Device<device::Core<'_>>,
        set: SetId,
        vdev: &vfio::AnyDevice,
        state: &Arc<OpenState>,
    ) -> Result<Devres<Self>> {
        let dev: &pci::Device = pdev;
        MEMBERS.lock().push(
            Member {
                target: set.0,
                pdev: dev.into(),
                vdev: vdev.into(),
                state: state.clone(),
                needs_reset: false,
            },
            GFP_KERNEL,
        )?;
        // On failure, `Devres::new()` drops the membership, which leaves the list.
        Devres::new(pdev.as_ref(), Self { pdev: dev.into() })
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // Dropped after the lock is given back: the member may hold the last reference to its
        // VFIO device, whose release takes the VFIO core's lock of its set, which is taken
        // before the list's.
        let member = {
            let mut members = MEMBERS.lock();
            match members.iter().position(|m| m.is(&self.pdev)) {
                Some(i) => members.remove(i).ok(),
                None => None,
            }
        };
        drop(member);
    }
}

/// The list of the functions in device sets, locked. Taken under the VFIO core's lock of a set,
/// never the other way round.
pub(crate) struct Sets(GlobalGuard<MEMBERS>);

/// Locks the list of the functions in device sets.
pub(crate) fn lock() -> Sets {
    Sets(MEMBERS.lock())
}

impl Sets {
    /// Returns the members of the device set of `pdev`: `pdev` alone, or every function with
    /// its hot reset target; none if `pdev` is not a member.
    pub(crate) fn set_of(&self, pdev: &pci::Device) -> Result<KVec<&Member>> {
        let mut set = KVec::new();
        let Some(me) = self.0.iter().find(|m| m.is(pdev)) else {
            return Ok(set);
        };
        for m in self.0.iter() {
            let same = match me.target {
                None => ptr::eq(m, me),
                Some(t) => m.target == Some(t),
            };
            if same {
                set.push(m, GFP_KERNEL)?;
            }
        }
        Ok(set)
    }

    /// Returns the members of the set of `pdev` if they are every function in `affected`, the
    /// functions its hot reset resets (`EINVAL` otherwise, as C vfio-pci answers).
    pub(crate) fn resettable_set(
        &self,
        pdev: &pci::Device,
        affected: &[ARef<pci::Device>],
    ) -> Result<KVec<&Member>> {
        let set = self.set_of(pdev)?;
        if set.is_empty() {
            return Err(EINVAL);
        }
        let all_in = affected.iter().all(|f| set.iter().any(|m| m.is(f)));
        if !all_in {
            return Err(EINVAL);
        }
        Ok(set)
    }

    /// Records whether `pdev` was closed without being reset.
    pub(crate) fn set_needs_reset(&mut self, pdev: &pci::Device, needs_reset: bool) {
        if let Some(m) = self.0.iter_mut().find(|m| m.is(pdev)) {
            m.needs_reset = needs_reset;
        }
    }

    /// Whether a member of the set of `pdev` was closed without being reset.
    pub(crate) fn set_needs_reset_any(&self, pdev: &pci::Device) -> Result<bool> {
        Ok(self.set_of(pdev)?.iter().any(|m| m.needs_reset))
    }

    /// Records that the set of `pdev` was reset.
    pub(crate) fn set_was_reset(&mut self, pdev: &pci::Device) {
        let target = match self.0.iter().find(|m| m.is(pdev)) {
            Some(me) => me.target,
            None => return,
        };
        for m in self.0.iter_mut() {
            if m.is(pdev) || (target.is_some() && m.target == target) {
                m.needs_reset = false;
            }
        }
    }
}
