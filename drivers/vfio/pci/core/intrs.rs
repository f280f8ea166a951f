// SPDX-License-Identifier: GPL-2.0

//! Interrupts: `VFIO_DEVICE_SET_IRQS` for INTx and the error and request indexes.
//!
//! INTx is level triggered and shared: the handler masks it in the function (PCI 2.3 INTx
//! masking) before it signals userspace's eventfd, and userspace unmasks it once it has served
//! the interrupt, as with C vfio-pci. MSI and MSI-X are not implemented yet.

use kernel::{
    device::Bound,
    irq::IrqReturn,
    new_spinlock_irq,
    pci,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        Arc,
        SpinLockIrq, //
    },
    vfio::{
        uapi,
        EventFd,
        IrqSet, //
    }, //
};

/// The INTx state the interrupt handler shares with the ioctls.
#[pin_data]
pub(crate) struct Intx {
    pdev: ARef<pci::Device>,
    #[pin]
    state: SpinLockIrq<IntxState>,
}

struct IntxState {
    /// Masked in the function, by the handler or by userspace.
    masked: bool,
    trigger: Option<EventFd>,
}

impl pci::IntxHandler for Intx {
    fn handle(&self) -> IrqReturn {
        let mut state = self.state.lock();
        if state.masked || !self.pdev.check_and_mask_intx() {
            // Not ours: the line is shared.
            return IrqReturn::None;
        }
        state.masked = true;
        if let Some(trigger) = &state.trigger {
            trigger.signal();
        }
        IrqReturn::Handled
    }
}

impl Intx {
    /// Masks INTx in the function.
    fn mask(&self) {
        let mut state = self.state.lock();
        if !state.masked {
            self.pdev.intx(false);
            state.masked = true;
        }
    }

    /// Unmasks INTx in the function, unless `virq_disabled` (userspace set INTx disable in
    /// the virtual command register). If the function still asserts INTx, it stays masked
    /// and userspace is signalled again.
    fn unmask(&self, virq_disabled: bool) {
        let mut state = self.state.lock();
        if !state.masked || virq_disabled {
            return;
        }
        if self.pdev.check_and_unmask_intx() {
            state.masked = false;
        } else if let Some(trigger) = &state.trigger {
            trigger.signal();
        }
    }

    fn signal(&self) {
        if let Some(trigger) = &self.state.lock().trigger {
            trigger.signal();
        }
    }
}

/// The interrupts userspace set up on an open device.
#[derive(Default)]
pub(crate) struct Irqs {
    intx: Option<pci::IntxRegistration<Intx>>,
    err: Option<EventFd>,
    req: Option<EventFd>,
}

impl Irqs {
    /// Masks or unmasks INTx when userspace writes INTx disable in the virtual command
    /// register.
    pub(crate) fn set_virq_disabled(&self, disabled: bool) {
        if let Some(intx) = &self.intx {
            if disabled {
                intx.handler().mask();
            } else {
                intx.handler().unmask(false);
            }
        }
    }

    /// Signals the request eventfd, if userspace set one; returns whether it did.
    pub(crate) fn request(&self) -> bool {
        self.req.as_ref().map(EventFd::signal).is_some()
    }

    /// Carries out `VFIO_DEVICE_SET_IRQS`, already checked with
    /// [`kernel::vfio::validate_irq_set`], with C vfio-pci's answers: `ENOTTY` for an action
    /// an index does not have (and, for now, for MSI and MSI-X), `EINVAL` for a request that
    /// does not fit the current state.
    pub(crate) fn set(
        &mut self,
        pdev: &pci::Device<Bound>,
        req: &IrqSet,
        virq_disabled: bool,
    ) -> Result {
        match (req.index, req.action()) {
            (uapi::PCI_INTX_IRQ_INDEX, uapi::IRQ_SET_ACTION_MASK) => {
                let intx = self.intx_for(req)?;
                match req.data_type() {
                    uapi::IRQ_SET_DATA_EVENTFD => return Err(ENOTTY),
                    uapi::IRQ_SET_DATA_BOOL if req.bool_at(0) != Some(true) => {}
                    _ => intx.handler().mask(),
                }
                Ok(())
            }
            (uapi::PCI_INTX_IRQ_INDEX, uapi::IRQ_SET_ACTION_UNMASK) => {
                let intx = self.intx_for(req)?;
                match req.data_type() {
                    // Unmasking through an eventfd (virqfd) is not implemented yet.
                    uapi::IRQ_SET_DATA_EVENTFD => return Err(ENOTTY),
                    uapi::IRQ_SET_DATA_BOOL if req.bool_at(0) != Some(true) => {}
                    _ => intx.handler().unmask(virq_disabled),
                }
                Ok(())
            }
            (uapi::PCI_INTX_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                self.intx_trigger(pdev, req, virq_disabled)
            }
            (uapi::PCI_ERR_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                set_trigger_single(&mut self.err, req)
            }
            (uapi::PCI_REQ_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                set_trigger_single(&mut self.req, req)
            }
            _ => Err(ENOTTY),
        }
    }

    /// The INTx registration for a mask or unmask request: INTx must be enabled and the
    /// request about its one interrupt.
    fn intx_for(&self, req: &IrqSet) -> Result<&pci::IntxRegistration<Intx>> {
        match &self.intx {
            Some(intx) if req.start == 0 && req.count == 1 => Ok(intx),
            _ => Err(EINVAL),
        }
    }

    fn intx_trigger(
        &mut self,
        pdev: &pci::Device<Bound>,
        req: &IrqSet,
        virq_disabled: bool,
    ) -> Result {
        if self.intx.is_some() && req.count == 0 && req.data_type() == uapi::IRQ_SET_DATA_NONE {
            self.intx = None;
            return Ok(());
        }
        if req.start != 0 || req.count != 1 {
            return Err(EINVAL);
        }
        if let Some(fd) = req.fd_at(0) {
            let trigger = if fd >= 0 {
                Some(EventFd::from_fd(fd)?)
            } else {
                None
            };
            match &self.intx {
                Some(intx) => {
                    // The old eventfd is released after the lock.
                    let _old =
                        core::mem::replace(&mut intx.handler().state.lock().trigger, trigger);
                }
                None => self.intx = Some(enable_intx(pdev, trigger, virq_disabled)?),
            }
            return Ok(());
        }
        let intx = self.intx.as_ref().ok_or(EINVAL)?;
        // A loopback, unless userspace disabled INTx in the virtual command register.
        let asked = req.data_type() == uapi::IRQ_SET_DATA_NONE || req.bool_at(0) == Some(true);
        if asked && !virq_disabled {
            intx.handler().signal();
        }
        Ok(())
    }
}

/// Requests INTx for `pdev`, masked if userspace disabled it in the virtual command register.
fn enable_intx(
    pdev: &pci::Device<Bound>,
    trigger: Option<EventFd>,
    virq_disabled: bool,
) -> Result<pci::IntxRegistration<Intx>> {
    // Functions without INTx masking would need an exclusive, disabled line: not implemented.
    if !pdev.intx_mask_supported() {
        return Err(EOPNOTSUPP);
    }
    let pdev_ref: ARef<pci::Device> = pdev.into();
    let intx = Arc::pin_init(
        pin_init!(Intx {
            pdev: pdev_ref,
            state <- new_spinlock_irq!(IntxState {
                masked: virq_disabled,
                trigger,
            }),
        }),
        GFP_KERNEL,
    )?;
    pdev.intx(!virq_disabled);
    let name = CString::try_from_fmt(fmt!("vfio-intx({:04x})", pdev.dev_id()))?;
    pdev.request_intx(intx, true, name)
}

/// Sets, clears or signals the one eventfd of the error or request index, as C vfio-pci's
/// `vfio_pci_set_ctx_trigger_single()`: data none signals it (count 1) or releases it
/// (count 0), bool signals it, an eventfd replaces it (-1 releases it).
fn set_trigger_single(slot: &mut Option<EventFd>, req: &IrqSet) -> Result {
    match req.data_type() {
        uapi::IRQ_SET_DATA_NONE => {
            let trigger = slot.as_ref().ok_or(EINVAL)?;
            if req.count == 0 {
                *slot = None;
            } else {
                trigger.signal();
            }
            Ok(())
        }
        uapi::IRQ_SET_DATA_BOOL => {
            if req.bool_at(0).ok_or(EINVAL)? {
                if let Some(trigger) = slot {
                    trigger.signal();
                }
            }
            Ok(())
        }
        _ => {
            let fd = req.fd_at(0).ok_or(EINVAL)?;
            match fd {
                -1 => *slot = None,
                0.. => *slot = Some(EventFd::from_fd(fd)?),
                _ => return Err(EINVAL),
            }
            Ok(())
        }
    }
}

#[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
#[kernel::macros::kunit_tests(vfio_pci_core_rs_irqs)]
mod tests {
    use kernel::vfio::{
        uapi,
        validate_irq_set, //
    };

    const HDR: u32 = 20;
    const NONE: u32 = uapi::IRQ_SET_DATA_NONE | uapi::IRQ_SET_ACTION_TRIGGER;
    const BOOL: u32 = uapi::IRQ_SET_DATA_BOOL | uapi::IRQ_SET_ACTION_TRIGGER;
    const EVENTFD: u32 = uapi::IRQ_SET_DATA_EVENTFD | uapi::IRQ_SET_ACTION_TRIGGER;
    const MAX: u32 = uapi::PCI_NUM_IRQS;

    #[test]
    fn set_irqs_data_sizes_follow_the_data_type() {
        assert_eq!(validate_irq_set(HDR, NONE, 0, 0, 1, 1, MAX), Ok(0));
        assert_eq!(validate_irq_set(HDR + 3, BOOL, 1, 0, 3, 4, MAX), Ok(3));
        assert_eq!(validate_irq_set(HDR + 8, EVENTFD, 2, 1, 2, 4, MAX), Ok(8));
        // Count 0 (disable) needs no data.
        assert_eq!(validate_irq_set(HDR, EVENTFD, 0, 0, 0, 1, MAX), Ok(0));
        // Mask and unmask are not the validation's business, nor several actions at once.
        let both =
            uapi::IRQ_SET_DATA_NONE | uapi::IRQ_SET_ACTION_MASK | uapi::IRQ_SET_ACTION_UNMASK;
        assert_eq!(validate_irq_set(HDR, both, 0, 0, 1, 1, MAX), Ok(0));
    }

    #[test]
    fn set_irqs_rejects_what_c_rejects() {
        // Header too small, or not covering the data.
        assert!(validate_irq_set(HDR - 1, NONE, 0, 0, 1, 1, MAX).is_err());
        assert!(validate_irq_set(HDR + 7, EVENTFD, 2, 0, 2, 4, MAX).is_err());
        // Index past the device's, unknown flags, not exactly one data type.
        assert!(validate_irq_set(HDR, NONE, MAX, 0, 1, 1, MAX).is_err());
        assert!(validate_irq_set(HDR, NONE | 1 << 6, 0, 0, 1, 1, MAX).is_err());
        assert!(validate_irq_set(HDR + 1, NONE | BOOL, 0, 0, 1, 1, MAX).is_err());
        assert!(validate_irq_set(HDR, uapi::IRQ_SET_ACTION_TRIGGER, 0, 0, 1, 1, MAX).is_err());
        // Interrupts past those of the index, none at all, or a count that overflows.
        assert!(validate_irq_set(HDR, NONE, 3, 1, 1, 1, MAX).is_err());
        assert!(validate_irq_set(HDR, NONE, 0, 0, 2, 1, MAX).is_err());
        assert!(validate_irq_set(HDR, NONE, 0, 0, 0, 0, MAX).is_err());
        assert!(validate_irq_set(HDR, NONE, 2, 5, u32::MAX - 5, 64, MAX).is_err());
        assert!(validate_irq_set(u32::MAX, EVENTFD, 2, 0, u32::MAX / 4, u32::MAX, MAX).is_err());
    }
}
