// SPDX-License-Identifier: GPL-2.0

//! `VFIO_DEVICE_IOEVENTFD`: a fixed write to a BAR each time userspace, or KVM on a guest's
//! write, signals an eventfd, without a trip through the device file.
//!
//! The write is done right in the eventfd's wakeup. Writes to a memory BAR are behind a
//! [`MemGate`] that is closed before anything takes the BAR's memory away (memory decoding
//! turned off, D3hot, a reset), as C vfio-pci's writes are behind its `memory_lock`: a signal
//! while the gate is closed writes nothing. As in C, a signal that comes during a reset is not
//! lost: the write is deferred to process context, which waits for the reset to be over and
//! writes then, if memory is still enabled. Writes to an I/O port BAR are not gated, as in C.

use kernel::{
    devres::Devres,
    io::Io,
    new_condvar,
    new_spinlock_irq,
    pci,
    prelude::*,
    sync::{
        Arc,
        CondVar,
        SpinLockIrq, //
    },
    vfio::{
        Virqfd,
        VirqfdHandler, //
    }, //
};

/// The maximum number of ioeventfds of an open device, C's `VFIO_PCI_IOEVENTFD_MAX`.
pub(crate) const MAX_IOEVENTFDS: usize = 1000;

/// What the ioeventfds' writes to memory BARs may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Write: memory decoding is on.
    Open,
    /// Write nothing: memory decoding is off, or the function is in a low-power state.
    Closed,
    /// Wait, in process context, for the reset in progress, then do as the gate says.
    Resetting,
}

/// Whether the function's memory BARs may be accessed now, for the ioeventfd writes, which
/// hold it while they write: closed before the memory goes away, opened again after. A spinlock
/// with interrupts off: eventfds are signalled from any context.
///
/// Every path that sets [`Gate::Resetting`] sets the gate again after the reset, under the same
/// hold of the core's lock: a write waiting for the reset waits no longer than the reset. The
/// core drops an ioeventfd, which waits for its deferred write, either under that lock, where
/// no reset is in progress, or at close, once its open state can no longer be reached, so no
/// reset can start on its gate. (If userspace closes the eventfd during a reset, the VFIO core
/// shuts the ioeventfd down from its workqueue, which then waits for the reset, as in C.)
#[pin_data]
pub(crate) struct MemGate {
    #[pin]
    state: SpinLockIrq<Gate>,
    /// Notified when the state changes, for the writes waiting for a reset.
    #[pin]
    changed: CondVar,
}

impl MemGate {
    /// A gate, open if `open`.
    pub(crate) fn new(open: bool) -> Result<Arc<Self>> {
        let state = if open { Gate::Open } else { Gate::Closed };
        Arc::pin_init(
            pin_init!(Self {
                state <- new_spinlock_irq!(state),
                changed <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    /// Sets the gate; closing it waits for a write in progress.
    pub(crate) fn set(&self, state: Gate) {
        *self.state.lock() = state;
        self.changed.notify_all();
    }
}

/// What an ioeventfd writes, and where: C matches ioeventfds on all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoEventKey {
    /// The BAR.
    pub(crate) bar: usize,
    /// The offset in the BAR.
    pub(crate) pos: u64,
    /// The value written.
    pub(crate) data: u64,
    /// The width of the write: 1, 2, 4 or 8 bytes.
    pub(crate) count: usize,
}

/// The BAR an ioeventfd writes to.
pub(crate) enum Target {
    /// A memory BAR, mapped, written to while the gate is open.
    Mem(Arc<MemGate>, Arc<pci::DevresBar>),
    /// An I/O port BAR.
    Io(Devres<pci::IoPortBar>),
}

/// Does the write of an ioeventfd.
struct Writer {
    key: IoEventKey,
    target: Target,
}

impl VirqfdHandler for Writer {
    fn handle(&self) -> bool {
        self.write(false)
    }

    fn thread(&self) {
        self.write(true);
    }
}

impl Writer {
    /// Writes, to a memory BAR if the gate is open. During a reset, waits for it to be over if
    /// `wait` (in process context), or returns `true` for the write to be done so. Usable in
    /// atomic context unless `wait`.
    fn write(&self, wait: bool) -> bool {
        let (gate, bar) = match &self.target {
            Target::Mem(gate, bar) => (gate, bar),
            Target::Io(ports) => {
                if let Some(ports) = ports.try_access() {
                    // Checked against the BAR when the ioeventfd was set up.
                    let _ = ports.try_write(self.key.pos, self.key.count, self.key.data);
                }
                return false;
            }
        };
        let mut state = gate.state.lock();
        while wait && *state == Gate::Resetting {
            gate.changed.wait(&mut state);
        }
        match *state {
            Gate::Open => (),
            Gate::Closed => return false,
            Gate::Resetting => return true,
        }
        let Some(io) = bar.try_access() else {
            return false;
        };
        let Ok(off) = usize::try_from(self.key.pos) else {
            return false;
        };
        let data = self.key.data;
        // Checked against the BAR when the ioeventfd was set up; nothing to tell anyone here.
        // CAST: truncating to the width of the write.
        let _ = match self.key.count {
            8 => io.try_write64(data, off),
            4 => io.try_write32(data as u32, off),
            2 => io.try_write16(data as u16, off),
            _ => io.try_write8(data as u8, off),
        };
        false
    }
}

/// An ioeventfd of an open device: dropping it stops its writes, after one in progress.
pub(crate) struct IoEventFd {
    key: IoEventKey,
    _virqfd: Pin<KBox<Virqfd<Writer>>>,
}

impl IoEventFd {
    /// Writes as `key` says to `target` whenever the eventfd `fd` is signalled (and, for a
    /// memory BAR, its gate is open).
    pub(crate) fn new(key: IoEventKey, fd: i32, target: Target) -> Result<Self> {
        let writer = Writer { key, target };
        Ok(Self {
            key,
            _virqfd: KBox::pin_init(Virqfd::new(fd, writer), GFP_KERNEL)?,
        })
    }

    /// What the ioeventfd writes, and where.
    pub(crate) fn key(&self) -> IoEventKey {
        self.key
    }
}
