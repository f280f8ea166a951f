// SPDX-License-Identifier: GPL-2.0

//! Interrupts: `VFIO_DEVICE_SET_IRQS` for INTx, MSI, MSI-X and the error and request indexes.
//!
//! INTx is level triggered and shared: the handler masks it in the function (PCI 2.3 INTx
//! masking) before it signals userspace's eventfd, and userspace unmasks it once it has served
//! the interrupt (by ioctl, or by signalling an unmask eventfd), as with C vfio-pci. Each MSI or
//! MSI-X vector signals its own eventfd. One of INTx, MSI and MSI-X is enabled at a time.
//!
//! Eventfds are signalled with no lock held: userspace may use one eventfd both to be told of
//! INTx and to unmask it, and the unmask runs inside the signal.

use crate::{
    device::with_memory_enabled,
    irq_bypass::IrqBypassProducer, //
};
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
        IrqSet,
        Virqfd,
        VirqfdHandler, //
    }, //
};

/// The INTx state the interrupt handler shares with the ioctls.
#[pin_data]
pub(crate) struct Intx {
    pdev: ARef<pci::Device>,
    /// The function masks INTx itself (PCI 2.3) and the line is shared; otherwise the line is
    /// exclusive and masked by disabling it.
    pci_2_3: bool,
    #[pin]
    state: SpinLockIrq<IntxState>,
}

struct IntxState {
    /// Masked in the function, by the handler or by userspace.
    masked: bool,
    /// Userspace set INTx disable in the virtual command register: INTx stays masked.
    virq_disabled: bool,
    /// Shared, so that it is signalled with the lock released.
    trigger: Option<Arc<EventFd>>,
}

impl pci::IrqHandler for Intx {
    fn handle(&self, line: &pci::IrqLine) -> IrqReturn {
        let trigger = {
            let mut state = self.state.lock();
            if !self.pci_2_3 {
                // A mask by ioctl may have disabled the line while this handler was on its
                // way: disabling it twice would leave it disabled after the one unmask.
                if !state.masked {
                    line.disable_nosync();
                }
            } else if state.masked || !self.pdev.check_and_mask_intx() {
                // Not ours: the line is shared.
                return IrqReturn::None;
            }
            state.masked = true;
            state.trigger.clone()
        };
        if let Some(trigger) = trigger {
            trigger.signal();
        }
        IrqReturn::Handled
    }
}

/// Unmasks INTx when userspace signals its unmask eventfd (`VFIO_IRQ_SET_ACTION_UNMASK` with
/// an eventfd, which KVM signals when the guest ends the interrupt). It shares the INTx
/// registration: the line stays requested while it may enable it.
pub(crate) struct IntxUnmask(Arc<pci::IntxRegistration<Intx>>);

impl VirqfdHandler for IntxUnmask {
    fn handle(&self) -> bool {
        // Still asserted: stays masked, and userspace is told again, from the thread.
        Intx::unmask_quiet(&self.0)
    }

    fn thread(&self) {
        self.0.handler().signal();
    }
}

impl Intx {
    /// Masks INTx of `reg`'s function: in the function, or by disabling the line. Returns
    /// whether it did, INTx not being masked already.
    fn mask(reg: &pci::IntxRegistration<Intx>) -> bool {
        let this = reg.handler();
        let mut state = this.state.lock();
        if state.masked {
            return false;
        }
        if this.pci_2_3 {
            this.pdev.intx(false);
        } else {
            reg.disable_nosync();
        }
        state.masked = true;
        true
    }

    /// Unmasks INTx of `reg`'s function, unless userspace set INTx disable in the virtual
    /// command register. If a function that masks INTx itself still asserts it, it stays
    /// masked and userspace is signalled again.
    fn unmask(reg: &pci::IntxRegistration<Intx>) {
        if Self::unmask_quiet(reg) {
            reg.handler().signal();
        }
    }

    /// Unmasks INTx as [`Intx::unmask`] does, without signalling userspace: returns whether
    /// it should be, because the function still asserts INTx. Usable in atomic context.
    fn unmask_quiet(reg: &pci::IntxRegistration<Intx>) -> bool {
        let this = reg.handler();
        let mut state = this.state.lock();
        if !state.masked || state.virq_disabled {
            return false;
        }
        if !this.pci_2_3 {
            reg.enable();
            state.masked = false;
        } else if this.pdev.check_and_unmask_intx() {
            state.masked = false;
        }
        state.masked
    }

    /// Signals userspace's eventfd, if it set one.
    fn signal(&self) {
        let trigger = self.state.lock().trigger.clone();
        if let Some(trigger) = trigger {
            trigger.signal();
        }
    }
}

/// The handler of one MSI or MSI-X vector: it signals the vector's eventfd, which it shares with
/// the vector's IRQ bypass producer.
pub(crate) struct MsiTrigger(Arc<EventFd>);

impl pci::IrqHandler for MsiTrigger {
    fn handle(&self, _line: &pci::IrqLine) -> IrqReturn {
        self.0.signal();
        IrqReturn::Handled
    }
}

/// INTx, enabled by userspace.
struct IntxOn {
    /// The unmask eventfd, if userspace set one; dropped first.
    unmask: Option<Pin<KBox<Virqfd<IntxUnmask>>>>,
    /// Shared with the unmask eventfd; the line is freed when both let go of it.
    reg: Arc<pci::IntxRegistration<Intx>>,
}

/// Which of the function's interrupt modes userspace enabled (C vfio-pci's `irq_type`).
#[derive(Default)]
enum Enabled {
    #[default]
    None,
    Intx(IntxOn),
    /// MSI or MSI-X, as the vectors say.
    Msi(MsiOn),
}

/// MSI or MSI-X, enabled by userspace.
pub(crate) struct MsiOn {
    /// The IRQ bypass producer of each vector with an eventfd, if it could be registered;
    /// dropped before the vectors.
    producers: KVec<Option<Pin<KBox<IrqBypassProducer>>>>,
    vectors: pci::MsiVectors<MsiTrigger>,
}

/// Functions whose INTx is broken, as C vfio-pci lists them: Intel's i40e (XL710, X710,
/// XXV710) and X550 NICs, by device ID ranges. They get no INTx: their interrupt pin reads 0 and
/// INTx stays disabled in them.
const BROKEN_INTX: [(u16, u16, u16); 6] = [
    (0x8086, 0x1572, 0x1572),
    (0x8086, 0x1574, 0x1574),
    (0x8086, 0x1580, 0x1581),
    (0x8086, 0x1583, 0x158b),
    (0x8086, 0x37d0, 0x37d2),
    (0x8086, 0x1563, 0x1563),
];

/// Whether the function `vendor:device` has broken INTx ([`BROKEN_INTX`]).
pub(crate) fn broken_intx(vendor: u16, device: u16) -> bool {
    BROKEN_INTX
        .iter()
        .any(|&(v, lo, hi)| v == vendor && (lo..=hi).contains(&device))
}

/// The interrupts userspace set up on an open device.
pub(crate) struct Irqs {
    /// INTx is masked in the function (PCI 2.3 INTx masking), not by disabling the line.
    pci_2_3: bool,
    /// The function's INTx is broken ([`broken_intx`]): it stays disabled in the function.
    nointx: bool,
    enabled: Enabled,
    /// log2 of the number of MSI vectors last enabled, for the virtual MSI capability.
    msi_qmax: Option<u16>,
    err: Option<EventFd>,
    req: Option<EventFd>,
}

impl Irqs {
    /// No interrupts set up yet; INTx is masked in the function if `pci_2_3`, and kept
    /// disabled there if `nointx`.
    pub(crate) fn new(pci_2_3: bool, nointx: bool) -> Self {
        Self {
            pci_2_3,
            nointx,
            enabled: Enabled::None,
            msi_qmax: None,
            err: None,
            req: None,
        }
    }

    /// Masks or unmasks INTx when userspace writes INTx disable in the virtual command
    /// register.
    /// Without INTx on, the function's own INTx disable bit follows the virtual one, where the
    /// function has INTx masking, as in C.
    pub(crate) fn set_virq_disabled(&self, pdev: &pci::Device<Bound>, disabled: bool) {
        match &self.enabled {
            Enabled::Intx(intx) => {
                intx.reg.handler().state.lock().virq_disabled = disabled;
                if disabled {
                    Intx::mask(&intx.reg);
                } else {
                    Intx::unmask(&intx.reg);
                }
            }
            _ if self.pci_2_3 => pdev.intx(!disabled),
            _ => {}
        }
    }

    /// Whether MSI (not MSI-X) is enabled, and log2 of the number of MSI vectors userspace
    /// last enabled, if it ever did: what the virtual MSI capability shows.
    pub(crate) fn msi_state(&self) -> (bool, Option<u16>) {
        let msi = matches!(&self.enabled, Enabled::Msi(m) if !m.vectors.is_msix());
        (msi, self.msi_qmax)
    }

    /// Disables whatever interrupts userspace enabled, before the device is closed.
    pub(crate) fn disable(&mut self, pdev: &pci::Device<Bound>) {
        if let Enabled::Msi(_) = &self.enabled {
            self.msi_disable(pdev);
        }
        self.enabled = Enabled::None;
        self.err = None;
        self.req = None;
    }

    /// Masks INTx, if it is on and not masked, for the low power userspace asks for: returns
    /// whether it did, and then [`Irqs::unmask_intx_after_low_power`] unmasks it.
    pub(crate) fn mask_intx_for_low_power(&self) -> bool {
        match &self.enabled {
            Enabled::Intx(intx) => Intx::mask(&intx.reg),
            _ => false,
        }
    }

    /// Unmasks INTx after low power, as an unmask by userspace would.
    pub(crate) fn unmask_intx_after_low_power(&self) {
        if let Enabled::Intx(intx) = &self.enabled {
            Intx::unmask(&intx.reg);
        }
    }

    /// Signals the request eventfd, if userspace set one; returns whether it did.
    pub(crate) fn request(&self) -> bool {
        self.req.as_ref().map(EventFd::signal).is_some()
    }

    /// Signals the error eventfd, if userspace set one; returns whether it did.
    pub(crate) fn error(&self) -> bool {
        self.err.as_ref().map(EventFd::signal).is_some()
    }

    /// Carries out `VFIO_DEVICE_SET_IRQS`, already checked with
    /// [`kernel::vfio::validate_irq_set`], with C vfio-pci's answers: `ENOTTY` for an action
    /// an index does not have (MSI and MSI-X cannot be masked), `EINVAL` for a request that
    /// does not fit the current state. Returns what the ioctl returns: 0, or, as C does, the
    /// number of MSI or MSI-X vectors the function could give when it could not give as many
    /// as userspace asked for.
    pub(crate) fn set(
        &mut self,
        pdev: &pci::Device<Bound>,
        req: &IrqSet,
        virq_disabled: bool,
    ) -> Result<isize> {
        match (req.index, req.action()) {
            (uapi::PCI_INTX_IRQ_INDEX, uapi::IRQ_SET_ACTION_MASK) => {
                let intx = self.intx_for(req)?;
                match req.data_type() {
                    uapi::IRQ_SET_DATA_EVENTFD => return Err(ENOTTY),
                    uapi::IRQ_SET_DATA_BOOL if req.bool_at(0) != Some(true) => {}
                    _ => {
                        Intx::mask(&intx.reg);
                    }
                }
                Ok(0)
            }
            (uapi::PCI_INTX_IRQ_INDEX, uapi::IRQ_SET_ACTION_UNMASK) => {
                let intx = self.intx_for(req)?;
                match req.data_type() {
                    uapi::IRQ_SET_DATA_EVENTFD => {
                        let fd = req.fd_at(0).ok_or(EINVAL)?;
                        if fd < 0 {
                            intx.unmask = None;
                        } else if intx.unmask.as_ref().is_some_and(|u| u.is_active()) {
                            // As C: one unmask eventfd at a time, until userspace closes it.
                            return Err(EBUSY);
                        } else {
                            // One whose eventfd was closed is gone: replaced.
                            intx.unmask = None;
                            let handler = IntxUnmask(intx.reg.clone());
                            intx.unmask =
                                Some(KBox::pin_init(Virqfd::new(fd, handler), GFP_KERNEL)?);
                        }
                    }
                    uapi::IRQ_SET_DATA_BOOL if req.bool_at(0) != Some(true) => {}
                    _ => Intx::unmask(&intx.reg),
                }
                Ok(0)
            }
            (uapi::PCI_INTX_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                self.intx_trigger(pdev, req, virq_disabled).map(|()| 0)
            }
            (uapi::PCI_MSI_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                self.msi_trigger(pdev, req, false)
            }
            (uapi::PCI_MSIX_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                self.msi_trigger(pdev, req, true)
            }
            (uapi::PCI_ERR_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                set_trigger_single(&mut self.err, req).map(|()| 0)
            }
            (uapi::PCI_REQ_IRQ_INDEX, uapi::IRQ_SET_ACTION_TRIGGER) => {
                set_trigger_single(&mut self.req, req).map(|()| 0)
            }
            _ => Err(ENOTTY),
        }
    }

    /// INTx for a mask or unmask request: INTx must be enabled and the request about its one
    /// interrupt.
    fn intx_for(&mut self, req: &IrqSet) -> Result<&mut IntxOn> {
        match &mut self.enabled {
            Enabled::Intx(intx) if req.start == 0 && req.count == 1 => Ok(intx),
            _ => Err(EINVAL),
        }
    }

    fn intx_trigger(
        &mut self,
        pdev: &pci::Device<Bound>,
        req: &IrqSet,
        virq_disabled: bool,
    ) -> Result {
        let intx_on = matches!(self.enabled, Enabled::Intx(_));
        if intx_on && req.count == 0 && req.data_type() == uapi::IRQ_SET_DATA_NONE {
            self.enabled = Enabled::None;
            return Ok(());
        }
        let none = matches!(self.enabled, Enabled::None);
        if !(intx_on || none) || req.start != 0 || req.count != 1 {
            return Err(EINVAL);
        }
        if let Some(fd) = req.fd_at(0) {
            let trigger = if fd >= 0 {
                Some(Arc::new(EventFd::from_fd(fd)?, GFP_KERNEL)?)
            } else {
                None
            };
            match &self.enabled {
                Enabled::Intx(intx) => {
                    // The old eventfd is released after the lock.
                    let _old =
                        core::mem::replace(&mut intx.reg.handler().state.lock().trigger, trigger);
                }
                _ => {
                    let reg = enable_intx(pdev, self.pci_2_3, trigger, virq_disabled)?;
                    self.enabled = Enabled::Intx(IntxOn {
                        unmask: None,
                        reg: Arc::new(reg, GFP_KERNEL)?,
                    });
                }
            }
            return Ok(());
        }
        let Enabled::Intx(intx) = &self.enabled else {
            return Err(EINVAL);
        };
        // A loopback, unless userspace disabled INTx in the virtual command register.
        let asked = req.data_type() == uapi::IRQ_SET_DATA_NONE || req.bool_at(0) == Some(true);
        if asked && !virq_disabled {
            intx.reg.handler().signal();
        }
        Ok(())
    }

    /// MSI or MSI-X triggers, as C vfio-pci's `vfio_pci_set_msi_trigger()`: data none with
    /// count 0 disables the index; eventfds enable it (with `start + count` vectors) or set,
    /// replace or release (-1) the eventfds of those vectors; data none or bool signal them.
    fn msi_trigger(
        &mut self,
        pdev: &pci::Device<Bound>,
        req: &IrqSet,
        msix: bool,
    ) -> Result<isize> {
        let on = matches!(&self.enabled, Enabled::Msi(m) if m.vectors.is_msix() == msix);
        if on && req.count == 0 && req.data_type() == uapi::IRQ_SET_DATA_NONE {
            self.msi_disable(pdev);
            return Ok(0);
        }
        if !(on || matches!(self.enabled, Enabled::None)) {
            return Err(EINVAL);
        }
        if req.data_type() == uapi::IRQ_SET_DATA_EVENTFD {
            if on {
                return self.msi_set_block(pdev, req).map(|()| 0);
            }
            // Validated: `start + count` does not overflow.
            let nvec = req.start + req.count;
            // SAFETY: The vectors live in `self`, part of the core's state of the open device,
            // which is dropped when the device is closed: the VFIO core closes it before
            // unregistration returns, which happens while the driver unbinds.
            let vectors = with_memory_enabled(pdev, || unsafe {
                pci::MsiVectors::enable(pdev, nvec, msix)
            })??;
            if vectors.enabled() < nvec {
                // As C: the number of vectors the function could give.
                let got = vectors.enabled();
                with_memory_enabled(pdev, || drop(vectors))?;
                return Ok(isize::try_from(got)?);
            }
            self.enabled = Enabled::Msi(MsiOn {
                producers: KVec::new(),
                vectors,
            });
            if !msix {
                // log2 of `nvec` rounded up to a power of two, `fls(nvec * 2 - 1) - 1`.
                // CAST: at most 5 for MSI's up to 32 vectors.
                self.msi_qmax = Some((nvec * 2 - 1).ilog2() as u16);
            }
            if let Err(e) = self.msi_set_block(pdev, req) {
                self.msi_disable(pdev);
                return Err(e);
            }
            return Ok(0);
        }
        let Enabled::Msi(MsiOn { vectors, .. }) = &self.enabled else {
            return Err(EINVAL);
        };
        if !on {
            return Err(EINVAL);
        }
        for (i, vector) in (req.start..req.start + req.count).enumerate() {
            let Some(handler) = vectors.handler(vector) else {
                continue;
            };
            let asked = req.data_type() == uapi::IRQ_SET_DATA_NONE || req.bool_at(i) == Some(true);
            if asked {
                handler.0.signal();
            }
        }
        Ok(0)
    }

    /// Sets the eventfds of vectors `start..start + count`; on failure, releases those it set.
    fn msi_set_block(&mut self, pdev: &pci::Device<Bound>, req: &IrqSet) -> Result {
        let Enabled::Msi(msi) = &mut self.enabled else {
            return Err(EINVAL);
        };
        for (i, vector) in (req.start..req.start + req.count).enumerate() {
            let fd = req.fd_at(i).unwrap_or(-1);
            if let Err(e) = msi_set_vector(pdev, msi, vector, fd) {
                for done in req.start..vector {
                    let _ = msi_set_vector(pdev, msi, done, -1);
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Releases the eventfd of MSI or MSI-X vector `vector`, if it has one, then, if `fd` is an
/// eventfd, has the vector signal it. The vector itself stays allocated until MSI is disabled.
fn msi_set_vector(pdev: &pci::Device<Bound>, msi: &mut MsiOn, vector: u32, fd: i32) -> Result {
    let MsiOn { producers, vectors } = msi;
    let slot = usize::try_from(vector)?;
    // The producer goes before the IRQ it tells about.
    if let Some(producer) = producers.get_mut(slot) {
        *producer = None;
    }
    // Freeing or requesting an MSI-X vector masks or writes its table entry, in a BAR.
    with_memory_enabled(pdev, || vectors.set_handler(vector, None))??;
    if fd < 0 {
        return Ok(());
    }
    let kind = if vectors.is_msix() { "x" } else { "" };
    let name = CString::try_from_fmt(fmt!(
        "vfio-msi{}[{}]({})",
        kind,
        vector,
        pdev.as_ref().name()
    ))?;
    let eventfd = Arc::new(EventFd::from_fd(fd)?, GFP_KERNEL)?;
    let trigger = Arc::new(MsiTrigger(eventfd.clone()), GFP_KERNEL)?;
    with_memory_enabled(pdev, || vectors.set_handler(vector, Some((trigger, name))))??;
    // As C: an IRQ bypass producer for the vector, so that a hypervisor that consumes the
    // eventfd can post the interrupt to its guest; the vector works without it.
    let Some(irq) = vectors.handler_irq(vector) else {
        return Ok(());
    };
    // SAFETY: The producer is kept in `producers`, and dropped before the vector's handler is
    // freed (above, and in `MsiOn`'s field order, for every way MSI is disabled).
    let producer = KBox::pin_init(unsafe { IrqBypassProducer::new(eventfd, irq) }, GFP_KERNEL);
    match producer {
        Ok(producer) => {
            while producers.len() <= slot {
                producers.push(None, GFP_KERNEL)?;
            }
            producers[slot] = Some(producer);
        }
        Err(e) => {
            dev_info!(
                pdev,
                "irq bypass producer (vector {}) registration fails: {:?}\n",
                vector,
                e
            );
        }
    }
    Ok(())
}

/// Disables MSI or MSI-X: every vector's handler, then the vectors.
fn msi_disable(pdev: &pci::Device<Bound>, enabled: &mut Enabled) {
    let old = core::mem::take(enabled);
    // The MSI-X table is in a BAR. Nothing more can be done if the command register fails.
    let _ = with_memory_enabled(pdev, || drop(old));
}

impl Irqs {
    /// Disables MSI or MSI-X. Their shutdown clears INTx disable in the function: set again
    /// for a function with broken INTx, as C does.
    fn msi_disable(&mut self, pdev: &pci::Device<Bound>) {
        msi_disable(pdev, &mut self.enabled);
        if self.nointx {
            pdev.intx(false);
        }
    }
}

/// Requests INTx for `pdev`, masked if userspace disabled it in the virtual command register:
/// shared, masked in the function, if `pci_2_3`; otherwise exclusive, masked by disabling the
/// line, as C vfio-pci does for functions without INTx masking or with `nointxmask`.
fn enable_intx(
    pdev: &pci::Device<Bound>,
    pci_2_3: bool,
    trigger: Option<Arc<EventFd>>,
    virq_disabled: bool,
) -> Result<pci::IntxRegistration<Intx>> {
    let pdev_ref: ARef<pci::Device> = pdev.into();
    let intx = Arc::pin_init(
        pin_init!(Intx {
            pdev: pdev_ref,
            pci_2_3,
            state <- new_spinlock_irq!(IntxState {
                masked: virq_disabled,
                virq_disabled,
                trigger,
            }),
        }),
        GFP_KERNEL,
    )?;
    let mode = if pci_2_3 {
        pdev.intx(!virq_disabled);
        pci::IntxMode::Shared
    } else {
        pci::IntxMode::Exclusive {
            enabled: !virq_disabled,
        }
    };
    let name = CString::try_from_fmt(fmt!("vfio-intx({})", pdev.as_ref().name()))?;
    // SAFETY: The registration lives in the core's state of the open device (shared only with
    // the INTx unmask eventfd, which lives there too), which is dropped when the device is
    // closed: the VFIO core closes it before unregistration returns, which happens while the
    // driver unbinds.
    unsafe { pdev.request_intx(intx, mode, name) }
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
    fn broken_intx_is_c_s_list() {
        use super::broken_intx;
        for device in [
            0x1572, 0x1574, 0x1580, 0x1581, 0x1583, 0x1588, 0x158b, 0x37d1, 0x1563,
        ] {
            assert!(broken_intx(0x8086, device));
        }
        for device in [
            0x1571, 0x1573, 0x1582, 0x158c, 0x37cf, 0x37d3, 0x1562, 0x10c9,
        ] {
            assert!(!broken_intx(0x8086, device));
        }
        // Intel's IDs only.
        assert!(!broken_intx(0x8087, 0x1572));
    }

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
