// SPDX-License-Identifier: GPL-2.0

//! IRQ bypass producers for the eventfds of MSI and MSI-X vectors.
//!
//! The IRQ bypass manager (`virt/lib/irqbypass.c`) is a module, which the kernel crate cannot
//! call, so this abstraction lives in the core, the one user.
//!
//! C header: [`include/linux/irqbypass.h`](srctree/include/linux/irqbypass.h)

use kernel::{
    bindings,
    error::to_result,
    ffi::c_int,
    prelude::*,
    sync::Arc,
    types::Opaque,
    vfio::EventFd, //
};

/// An IRQ bypass producer, `struct irq_bypass_producer`: tells a consumer, a hypervisor such as
/// KVM, that the signals of an eventfd come from an interrupt, so that it can deliver the
/// interrupt to its guest directly (posted interrupts) rather than through the eventfd.
/// Registered with the IRQ bypass manager by [`IrqBypassProducer::new`], unregistered on drop.
/// Without a consumer for the eventfd, nothing else happens.
///
/// # Invariants
///
/// `producer` is registered with the eventfd of `eventfd` and an IRQ that stays requested, with
/// a handler that signals `eventfd`, for as long as the producer lives.
#[pin_data(PinnedDrop)]
pub(crate) struct IrqBypassProducer {
    #[pin]
    producer: Opaque<bindings::irq_bypass_producer>,
    _eventfd: Arc<EventFd>,
}

// SAFETY: The producer is only touched by the IRQ bypass manager, under its lock, and the
// eventfd may be released from any thread.
unsafe impl Send for IrqBypassProducer {}

// SAFETY: A shared producer gives out nothing.
unsafe impl Sync for IrqBypassProducer {}

impl IrqBypassProducer {
    /// Registers a producer for interrupt `irq`, whose handler signals `eventfd`,
    /// `irq_bypass_register_producer()`: `EBUSY` if the eventfd has a producer already.
    ///
    /// # Safety
    ///
    /// `irq` must stay requested, with a handler that signals `eventfd`, until the result is
    /// dropped: a consumer may program the interrupt's delivery in the meantime.
    pub(crate) unsafe fn new(eventfd: Arc<EventFd>, irq: u32) -> impl PinInit<Self, Error> {
        let ctx = eventfd.as_raw();
        try_pin_init!(Self {
            producer <- Opaque::try_ffi_init(move |p: *mut bindings::irq_bypass_producer| {
                // SAFETY: `p` is valid for writes; a zeroed producer has no callbacks.
                unsafe { p.write(pin_init::zeroed()) };
                // CAST: IRQ numbers fit in `int`.
                // SAFETY: `p` is pinned in `Self` until `PinnedDrop::drop` unregisters it;
                // `ctx` is kept alive by `eventfd`, and `irq` stays requested (function safety
                // requirements).
                // INVARIANT: On success, the producer is registered with both.
                to_result(unsafe {
                    bindings::irq_bypass_register_producer(p, ctx, irq as c_int)
                })
            }),
            _eventfd: eventfd,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for IrqBypassProducer {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The producer is registered (type invariant); it is unregistered before its
        // eventfd reference and its IRQ go.
        unsafe { bindings::irq_bypass_unregister_producer(self.producer.get()) };
    }
}
