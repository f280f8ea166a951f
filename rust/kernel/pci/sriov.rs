// SPDX-License-Identifier: GPL-2.0

//! SR-IOV: enabling Virtual Functions, relating VFs to their Physical Function, and watching
//! the PCI bus for new functions.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::Device;
use crate::{
    bindings,
    container_of,
    device,
    error::to_result,
    ffi::{
        c_int,
        c_ulong,
        c_void, //
    },
    prelude::*,
    types::Opaque, //
};

impl Device {
    /// Returns `true` if this function is an SR-IOV Physical Function (PF): it has the SR-IOV
    /// capability, whether or not VFs are enabled.
    #[inline]
    pub fn is_physfn(&self) -> bool {
        // SAFETY: By its type invariant `self.as_raw` is always a valid pointer to a
        // `struct pci_dev`. The raw accessor reads the bit without creating a reference to the
        // structure; `is_physfn` is set when SR-IOV is probed, before the device is added.
        unsafe { bindings::pci_dev::is_physfn_raw(self.as_raw()) != 0 }
    }

    /// Returns the Physical Function of an SR-IOV VF, and the function itself for any other
    /// function, `pci_physfn()`.
    #[inline]
    pub fn physfn(&self) -> &Device {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`. The result is either it or the
        // PF of a VF, which the VF holds a reference to from its creation to its release, so
        // it lives at least as long as `self`.
        unsafe { &*bindings::pci_physfn(self.as_raw()).cast::<Device>() }
    }

    /// Makes the driver called `name` the only one that may bind to the function, as a write
    /// of `name` to its `driver_override` attribute does, `device_set_driver_override()`.
    pub fn set_driver_override(&self, name: &CStr) -> Result {
        // SAFETY: `self.as_ref().as_raw()` is a valid `struct device`; `name` is valid for
        // `name.len()` bytes and copied by the callee, which takes the device's
        // `driver_override` lock.
        to_result(unsafe {
            bindings::__device_set_driver_override(
                self.as_ref().as_raw(),
                name.as_char_ptr(),
                name.to_bytes().len(),
            )
        })
    }
}

impl Device<device::Core<'_>> {
    /// Enables `nr_virtfn` SR-IOV VFs, `pci_enable_sriov()`: the VFs are added to the bus, and
    /// drivers probed for them, before this returns.
    ///
    /// Called from [`super::Driver::sriov_configure`]; the VFs stay until
    /// [`Device::disable_sriov`], which the driver calls at the latest from
    /// [`super::Driver::unbind`].
    pub fn enable_sriov(&self, nr_virtfn: u16) -> Result {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`, whose device lock is held.
        to_result(unsafe { bindings::pci_enable_sriov(self.as_raw(), nr_virtfn.into()) })
    }

    /// Removes the SR-IOV VFs of the function, `pci_disable_sriov()`: waits until their
    /// drivers let go of them. Does nothing if none are enabled.
    pub fn disable_sriov(&self) {
        // SAFETY: `self.as_raw()` is a valid `struct pci_dev`, whose device lock is held.
        unsafe { bindings::pci_disable_sriov(self.as_raw()) };
    }
}

/// The handler of a [`BusNotifier`].
pub trait BusNotify: Send + Sync {
    /// `pdev` was added to the PCI bus, `BUS_NOTIFY_ADD_DEVICE`. No driver is bound to it yet;
    /// drivers are probed for it after every notifier returns, so this is where a
    /// `driver_override` that decides its driver is set.
    fn device_added(&self, pdev: &Device);
}

/// A notifier on the PCI bus, `bus_register_notifier(&pci_bus_type, ...)`: its handler is
/// called for the bus events of [`BusNotify`] from registration until the notifier drops.
///
/// # Invariants
///
/// `nb` is registered on the PCI bus with [`BusNotifier::call`] as its callback for as long as
/// the notifier lives.
#[pin_data(PinnedDrop)]
pub struct BusNotifier<T: BusNotify> {
    handler: T,
    #[pin]
    nb: Opaque<bindings::notifier_block>,
}

// SAFETY: The notifier block is only touched by the notifier chain, under its lock; the handler
// is `Send`.
unsafe impl<T: BusNotify> Send for BusNotifier<T> {}

// SAFETY: A shared notifier only gives out `&T`, which is `Sync`.
unsafe impl<T: BusNotify> Sync for BusNotifier<T> {}

impl<T: BusNotify> BusNotifier<T> {
    /// Registers a notifier on the PCI bus calling `handler`.
    pub fn new(handler: T) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // Initialized before `nb`: the handler is ready when the first event comes.
            handler,
            nb <- Opaque::try_ffi_init(|nb: *mut bindings::notifier_block| {
                // SAFETY: `nb` is valid for writes, and pinned inside `Self`.
                unsafe {
                    nb.write(bindings::notifier_block {
                        notifier_call: Some(Self::call),
                        ..pin_init::zeroed()
                    })
                };
                // SAFETY: `nb` is an initialized notifier block that stays at this address
                // until `PinnedDrop::drop` unregisters it.
                // INVARIANT: On success, `nb` is registered with `Self::call`.
                to_result(unsafe {
                    bindings::bus_register_notifier(&raw const bindings::pci_bus_type, nb)
                })
            }),
        })
    }

    extern "C" fn call(
        nb: *mut bindings::notifier_block,
        action: c_ulong,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: The notifier chain calls this with the `nb` of a registered `Self` (type
        // invariant), which is not dropped before it is unregistered.
        let this = unsafe { &*container_of!(Opaque::cast_from(nb), Self, nb) };
        // CAST: The bus notifier events are small enum values.
        if action == bindings::bus_notifier_event_BUS_NOTIFY_ADD_DEVICE as c_ulong {
            // SAFETY: The PCI bus notifies with one of its `struct device`s, valid for the
            // call.
            let dev = unsafe { device::Device::from_raw(data.cast()) };
            if let Ok(pdev) = <&Device>::try_from(dev) {
                this.handler.device_added(pdev);
            }
        }
        bindings::NOTIFY_DONE as c_int
    }
}

#[pinned_drop]
impl<T: BusNotify> PinnedDrop for BusNotifier<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `nb` is registered (type invariant); once this returns, the chain neither
        // calls it nor references it.
        unsafe {
            bindings::bus_unregister_notifier(&raw const bindings::pci_bus_type, self.nb.get())
        };
    }
}
