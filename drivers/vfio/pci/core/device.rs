// SPDX-License-Identifier: GPL-2.0

//! [`VfioPciCoreDevice`]: the state of one PCI function handed to userspace, and what the VFIO
//! operations do with it.

use kernel::{
    bindings,
    device::{
        self,
        Bound, //
    },
    io::Io,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader,
        UserSliceWriter, //
    },
    vfio::{
        self,
        uapi,
        EventFd,
        IommufdOwnership,
        Uuid, //
    }, //
};

use crate::{
    config::{
        BarResource,
        ConfigHw,
        DeviceFacts,
        Effects,
        VConfig,
        NUM_BARS, //
    },
    devset,
    intrs::{
        self,
        Irqs, //
    },
    ioeventfd::{
        Gate,
        IoEventFd,
        IoEventKey,
        MemGate,
        Target,
        MAX_IOEVENTFDS, //
    },
    region::{
        Backing,
        BarMmap,
        BarWindow,
        DevRegion,
        DevRegionEntry,
        DevRegionInfo, //
    },
    region_offset,
    split_offset,
    sriov::{
        self,
        Sriov, //
    },
    vga, //
};

/// Functions with errata that may be exploited by whoever drives them: Intel QuickAssist
/// (C3xxx, C62x, DH895xCC and their VFs) and the Sapphire Rapids DSA and IAA accelerators.
const DENYLIST: [(u16, u16); 8] = [
    (0x8086, 0x19e2),
    (0x8086, 0x19e3),
    (0x8086, 0x37c8),
    (0x8086, 0x37c9),
    (0x8086, 0x0435),
    (0x8086, 0x0443),
    (0x8086, 0x0b25),
    (0x8086, 0x0cfe),
];

/// The size of BAR or ROM region `index` (a BAR index, or `VFIO_PCI_ROM_REGION_INDEX`) if the
/// host assigned it, 0 otherwise.
fn assigned_len(pdev: &pci::Device, index: u32) -> Result<u64> {
    if index == uapi::PCI_ROM_REGION_INDEX {
        return Ok(if pdev.rom_start() == 0 {
            0
        } else {
            pdev.rom_len()
        });
    }
    Ok(if pdev.resource_start(index)? == 0 {
        0
    } else {
        pdev.resource_len(index)?
    })
}

/// Runs `f` with the function's memory decoding on, turning it on for the call if userspace
/// left it off (the ROM can only be read with memory decoding on).
pub(crate) fn with_memory_enabled<R>(
    pdev: &pci::Device<Bound>,
    f: impl FnOnce() -> R,
) -> Result<R> {
    // CAST: a small register offset.
    let command = bindings::PCI_COMMAND as usize;
    let cmd = pdev.user_read_config(command, 2)?;
    let mem = bindings::PCI_COMMAND_MEMORY;
    if cmd & mem == 0 {
        pdev.user_write_config(command, 2, cmd | mem)?;
    }
    let r = f();
    // Always written back, as C does: `f` may have changed other bits (enabling MSI sets INTx
    // disable).
    pdev.user_write_config(command, 2, cmd)?;
    Ok(r)
}

/// The real configuration space of a bound function, accessed as userspace would.
struct PciHw<'a>(&'a pci::Device<Bound>);

impl ConfigHw for PciHw<'_> {
    fn read(&self, pos: usize, width: usize) -> Result<u32> {
        self.0.user_read_config(pos, width)
    }

    fn write(&self, pos: usize, width: usize, val: u32) -> Result {
        self.0.user_write_config(pos, width, val)
    }

    fn vpd_read(&self, addr: u32) -> Result<u32> {
        // As C: what could be read, zeros past it.
        let mut data = [0u8; 4];
        self.0.read_vpd(addr, &mut data)?;
        Ok(u32::from_le_bytes(data))
    }

    fn vpd_write(&self, addr: u32, data: u32) -> Result {
        match self.0.write_vpd(addr, &data.to_le_bytes())? {
            4 => Ok(()),
            _ => Err(EIO),
        }
    }
}

/// The MSI-X table's place in its BAR: userspace must not reach it through the BAR region (the
/// core owns MSI-X), so accesses there read all ones and drop writes.
#[derive(Clone, Copy)]
struct MsixTable {
    bar: usize,
    start: u64,
    end: u64,
}

/// What the core holds while the device is open, if it is: shared with the device set, whose
/// hot reset takes every member's.
pub(crate) type OpenState = Mutex<Option<Open>>;

/// What the core holds while the device is open.
pub(crate) struct Open {
    /// Keeps the function resumed (out of idle D3hot) while it is open, unless userspace let
    /// it suspend.
    pm: Option<pci::RuntimePmGet>,
    /// Userspace let the function suspend (`VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY`), with the
    /// eventfd to signal when an access wakes it up, if it gave one.
    user_low_power: Option<Option<EventFd>>,
    /// INTx was masked for that low power, and is unmasked when it ends.
    low_power_intx_masked: bool,
    vconfig: VConfig,
    /// The memory BARs mapped so far, on first access; shared with the ioeventfds.
    bars: [Option<Arc<pci::DevresBar>>; NUM_BARS],
    /// Which BARs userspace may mmap, decided at open ([`BarMmap`]).
    bar_mmap: BarMmap,
    /// Open while userspace may access the memory BARs ([`Open::memory_enabled`]), for the
    /// ioeventfds' writes: closed before memory goes away.
    gate: Arc<MemGate>,
    /// `VFIO_DEVICE_IOEVENTFD`s.
    ioeventfds: KVec<IoEventFd>,
    /// The function's state at open, restored at close.
    saved: Option<pci::SavedState>,
    /// Whether the function can be reset (without resetting others).
    reset_works: bool,
    msix: Option<MsixTable>,
    /// Userspace put the function in D3hot through its PM capability.
    low_power: bool,
    /// Device-specific regions registered by the driver, after the fixed ones.
    regions: KVec<DevRegionEntry>,
    /// The interrupts userspace set up.
    irqs: Irqs,
    /// INTx disable in the virtual command register, as the interrupts last saw it.
    virq_disabled: bool,
}

impl Open {
    /// Whether userspace may access the function's memory: decoding on in the virtual command
    /// register, and not put in D3hot.
    fn memory_enabled(&self) -> bool {
        self.vconfig.memory_enabled() && !self.low_power
    }

    /// Returns the mapping of memory BAR `bar`, requesting and mapping it on first use.
    ///
    /// The mapping is device-managed: it is accessed through [`pci::DevresBar::try_access`],
    /// which fails (`ENXIO`) once the mapping is revoked, whatever the order in which the
    /// driver's resources go away at unbind.
    fn bar(&mut self, pdev: &pci::Device<Bound>, bar: usize) -> Result<&Arc<pci::DevresBar>> {
        let slot = self.bars.get_mut(bar).ok_or(EINVAL)?;
        if slot.is_none() {
            // CAST: `bar` is a BAR index below 6.
            let mapped = pdev.iomap_region(bar as u32, c"vfio")?.into_devres()?;
            *slot = Some(Arc::new(mapped, GFP_KERNEL)?);
        }
        slot.as_ref().ok_or(EINVAL)
    }

    /// Where region `index` maps, if userspace may mmap it: the memory BAR, the offset of the
    /// region in it and the region's size (`EINVAL` for a region that does not map).
    fn mapping(&self, pdev: &pci::Device<Bound>, index: u32) -> Result<(u32, u64, u64)> {
        if index <= uapi::PCI_BAR5_REGION_INDEX {
            let len = pdev.resource_len(index)?;
            if len == 0 || !self.bar_mmap.supported(index) {
                return Err(EINVAL);
            }
            return Ok((index, 0, len));
        }
        let i = index.checked_sub(uapi::PCI_NUM_REGIONS).ok_or(EINVAL)?;
        // CAST: `u32` fits in `usize`.
        let region = self.regions.get(i as usize).ok_or(EINVAL)?;
        match region.backing {
            Backing::Bar(w) => Ok((w.bar, w.offset, region.info.size)),
            Backing::Ops(_) => Err(EINVAL),
        }
    }

    /// Stops userspace's accesses to the function's memory, for a reset, as C does: its
    /// mappings invalidated (they fault again afterwards), ioeventfd writes deferred until the
    /// reset is over, and the function brought back to D0 if userspace put it in D3hot (a reset
    /// would do that behind the core's back). [`Open::sync_gate`], which the caller must call
    /// after the reset under the same hold of the lock, ends it.
    fn quiesce(&mut self, vdev: &vfio::AnyDevice, pdev: &pci::Device<Bound>) {
        vdev.zap_mappings();
        self.gate.set(Gate::Resetting);
        if pdev.set_power_state(pci::PowerState::D0).is_ok() {
            self.low_power = false;
        }
    }

    /// Keeps the function resumed until the result drops if userspace let it suspend: for an
    /// access under the core's lock, which low-power entry takes too (`EIO` if it cannot be
    /// resumed, as C).
    fn resume_if_low_power(&self, pdev: &pci::Device<Bound>) -> Result<Option<pci::RuntimePmGet>> {
        match self.pm {
            Some(_) => Ok(None),
            None => pdev.runtime_resume_get().map(Some).map_err(|_| EIO),
        }
    }

    /// Opens or closes the ioeventfds' gate as [`Open::memory_enabled`] says, once memory is
    /// back or after it went away, or a reset is over.
    fn sync_gate(&self) {
        self.gate
            .set(if self.memory_enabled() && self.user_low_power.is_none() {
                Gate::Open
            } else {
                Gate::Closed
            });
    }
}

/// Policies of the core that C vfio-pci takes from its module parameters
/// (`vfio_pci_core_set_params()`). A driver passes them per device; the default is C's.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreParams {
    /// Bind functions that the denylist says are unsafe in untrusted hands
    /// (`disable_denylist`), with a warning.
    pub disable_denylist: bool,
    /// Keep idle functions in D0 (`disable_idle_d3`); otherwise they go to D3hot through
    /// runtime PM while no one has them open.
    pub disable_idle_d3: bool,
    /// Do not use PCI 2.3 INTx masking (`nointxmask`): INTx is then requested exclusively and
    /// masked by disabling the line, as for functions that cannot mask INTx themselves.
    pub nointxmask: bool,
    /// No VGA region on VGA functions (`disable_vga`); without
    /// `CONFIG_VFIO_PCI_CORE_RUST_VGA`, there is none anyway.
    pub disable_vga: bool,
}

/// The core's state of a PCI function handed to userspace through VFIO.
///
/// A driver embeds it in its [`vfio::Driver::Data`] (see [`crate::VfioPciOps`]) and forwards
/// the VFIO operations it does not handle itself to the methods here.
#[pin_data]
pub struct VfioPciCoreDevice {
    pdev: ARef<pci::Device>,
    params: CoreParams,
    open: Arc<OpenState>,
    /// log2 of the number of MSI vectors userspace last enabled, kept from one open to the
    /// next as C vfio-pci keeps `msi_qmax`.
    msi_qmax: Atomic<u32>,
    /// Userspace let the function suspend while open: accesses resume it.
    user_low_power: Atomic<bool>,
    /// The function's part in SR-IOV: the VF token of a PF, or of a VF's PF.
    sriov: Sriov,
    /// VFs are enabled on the function (a PF): it stays in D0, whatever userspace writes to its
    /// PM capability.
    sriov_active: Atomic<bool>,
}

/// Returns the bound PCI function of a VFIO operation.
fn bound(parent: &device::Device<Bound>) -> Result<&pci::Device<Bound>> {
    parent.try_into()
}

impl VfioPciCoreDevice {
    /// Creates the core state for `pdev`, which the calling driver is probing.
    pub fn new(
        pdev: &pci::Device<device::Core<'_>>,
        params: CoreParams,
    ) -> impl PinInit<Self, Error> {
        let pdev: ARef<pci::Device> = pdev.into();
        try_pin_init!(Self {
            params,
            open: Arc::pin_init(kernel::new_mutex!(None), GFP_KERNEL)?,
            msi_qmax: Atomic::new(0),
            user_low_power: Atomic::new(false),
            sriov: Sriov::new(&pdev)?,
            sriov_active: Atomic::new(false),
            pdev,
        })
    }

    /// Checks that `pdev` may be handed to userspace, as C vfio-pci does before it registers
    /// a device: a normal (type 0) header, no SR-IOV VFs enabled (`EBUSY`), and not in the
    /// denylist of functions with errata that make them unsafe in untrusted hands, unless
    /// `disable_denylist` says otherwise (`EINVAL`, with a warning).
    pub fn probe_checks(pdev: &pci::Device<device::Core<'_>>, disable_denylist: bool) -> Result {
        // CAST: a small register offset.
        let hdr = pdev
            .config_space()
            .try_read8(bindings::PCI_HEADER_TYPE as usize)?;
        // CAST: the multi-function bit is bit 7.
        if u32::from(hdr) & 0x7f != bindings::PCI_HEADER_TYPE_NORMAL {
            return Err(EINVAL);
        }
        if pdev.num_vf() != 0 {
            dev_warn!(pdev, "Cannot bind to PF with SR-IOV enabled\n");
            return Err(EBUSY);
        }
        let id = (pdev.vendor_id().as_raw(), pdev.device_id());
        if !DENYLIST.contains(&id) {
            return Ok(());
        }
        if disable_denylist {
            dev_warn!(
                pdev,
                "device denylist disabled - allowing device {:04x}:{:04x}.\n",
                id.0,
                id.1
            );
            return Ok(());
        }
        dev_warn!(
            pdev,
            "{:04x}:{:04x} exists in vfio-pci device denylist, driver probing disallowed.\n",
            id.0,
            id.1
        );
        Err(EINVAL)
    }

    /// Adds a device-specific region for the rest of this open of the device, after the fixed
    /// regions and those registered before; returns its region index. `EINVAL` if the device
    /// is not open, `ENOSPC` past 64 regions.
    pub fn register_dev_region(
        &self,
        info: DevRegionInfo,
        ops: KBox<dyn DevRegion>,
    ) -> Result<u32> {
        let mut guard = self.open.lock();
        let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
        Self::add_region(open, info, Backing::Ops(ops))
    }

    /// Adds a device-specific region that is a window onto memory BAR `window.bar`, for the
    /// rest of this open of the device, as [`VfioPciCoreDevice::register_dev_region`] does;
    /// the core reads and writes it as the BAR, and userspace may mmap it. The region must be
    /// writable: its pages are the BAR's, which userspace may map read-write anyway. `EINVAL`
    /// if it is not, if the BAR is not one userspace may mmap, or if the region does not fit
    /// in the BAR from a page boundary.
    pub fn register_bar_window(&self, info: DevRegionInfo, window: BarWindow) -> Result<u32> {
        let mut guard = self.open.lock();
        let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
        // `supported()` is false past BAR 5.
        if !info.writable || !open.bar_mmap.supported(window.bar) {
            return Err(EINVAL);
        }
        window.check(info.size, self.pdev.resource_len(window.bar)?, PAGE)?;
        Self::add_region(open, info, Backing::Bar(window))
    }

    /// Adds a device-specific region after the others: its region index, `ENOSPC` past 64.
    fn add_region(open: &mut Open, info: DevRegionInfo, backing: Backing) -> Result<u32> {
        if open.regions.len() >= MAX_DEV_REGIONS {
            return Err(ENOSPC);
        }
        open.regions
            .push(DevRegionEntry { info, backing }, GFP_KERNEL)?;
        // CAST: bounded by `MAX_DEV_REGIONS`.
        Ok(uapi::PCI_NUM_REGIONS + open.regions.len() as u32 - 1)
    }

    /// What the core holds while the device is open, for the device set.
    pub(crate) fn open_state(&self) -> &Arc<OpenState> {
        &self.open
    }

    /// Whether the function is an SR-IOV PF.
    pub fn is_pf(&self) -> bool {
        self.sriov.is_pf()
    }

    /// Returns the PCI function.
    pub fn pdev(&self) -> &pci::Device {
        &self.pdev
    }

    /// Enables the function for userspace, on the first open of the device: as C vfio-pci,
    /// bus mastering off, enabled, reset if it can be on its own, its state saved for close,
    /// and the virtual config space built.
    pub fn open_device(&self, parent: &device::Device<Bound>) -> Result {
        let pdev = bound(parent)?;
        let mut open = self.open.lock();
        if open.is_some() {
            return Err(EBUSY);
        }
        // Out of idle D3hot first; on failure below, back to idle last.
        let pm = pdev.runtime_resume_get()?;
        pdev.clear_master();
        pdev.enable_device()?;
        let reset_works = match pdev.try_reset_function() {
            Ok(()) => true,
            Err(e) if e == EAGAIN => {
                pdev.disable_device();
                return Err(e);
            }
            Err(_) => false,
        };
        pdev.save_state();
        let saved = pdev.store_saved_state();

        // As C: with INTx masking, the core masks INTx itself, so the hardware's INTx disable
        // bit starts clear.
        let command = bindings::PCI_COMMAND as usize;
        let intx_disable = bindings::PCI_COMMAND_INTX_DISABLE;
        // As C: a function whose INTx is broken gets none, and INTx stays disabled in it.
        let nointx = !self.params.nointxmask
            && intrs::broken_intx(pdev.vendor_id().as_raw(), pdev.device_id());
        if nointx {
            dev_info!(pdev, "Masking broken INTx support\n");
            pdev.intx(false);
        }
        let pci_2_3 = !self.params.nointxmask && !nointx && pdev.intx_mask_supported();
        if pci_2_3 {
            if let Ok(cmd) = pdev.user_read_config(command, 2) {
                if cmd & intx_disable != 0 {
                    let _ = pdev.user_write_config(command, 2, cmd & !intx_disable);
                }
            }
        }

        // CAST: stored from a `u16`.
        let facts = Self::facts(pdev, self.msi_qmax.load(Relaxed) as u16, nointx)?;
        let hw = PciHw(pdev);
        let vconfig = match VConfig::new(&hw, facts) {
            Ok(v) => v,
            Err(e) => {
                drop(saved);
                pdev.disable_device();
                return Err(e);
            }
        };
        let msix = Self::msix_table(&hw).unwrap_or(None);
        let bar_mmap = BarMmap::probe(pdev);
        let gate = match MemGate::new(vconfig.memory_enabled()) {
            Ok(g) => g,
            Err(e) => {
                drop(saved);
                pdev.disable_device();
                return Err(e);
            }
        };
        *open = Some(Open {
            pm: Some(pm),
            user_low_power: None,
            low_power_intx_masked: false,
            vconfig,
            bars: Default::default(),
            bar_mmap,
            gate,
            ioeventfds: KVec::new(),
            saved,
            reset_works,
            msix,
            low_power: false,
            regions: KVec::new(),
            irqs: Irqs::new(pci_2_3, nointx),
            virq_disabled: false,
        });
        self.sriov.vf_user(true);
        Ok(())
    }

    /// Disables the function again when the last file of the device is closed: back to D0,
    /// bus mastering off, the state of open restored, reset if it can be, disabled. As C
    /// vfio-pci, a function that could not be reset is reset with its bus or slot once no
    /// device of its set is open, if every function that resets is in the set.
    pub fn close_device(&self, parent: &device::Device<Bound>) {
        let Ok(pdev) = bound(parent) else {
            return;
        };
        let Some(open) = self.open.lock().take() else {
            return;
        };
        self.user_low_power.store(false, Relaxed);
        // Out of the low power userspace asked for, if it did, for the rest of the close.
        let _resumed = if open.pm.is_none() {
            pdev.runtime_resume_get().ok()
        } else {
            None
        };
        self.sriov.vf_user(false);
        // Dropped last, on every way out: the function may go back to idle D3hot.
        let (_pm, reset_done) = Self::disable(parent, pdev, open);
        devset::lock().set_needs_reset(pdev, !reset_done);
        Self::try_reset_set(pdev);
    }

    /// Gives the function back at close, as C vfio-pci's `vfio_pci_core_disable()`: returns
    /// the runtime PM usage count of open, to drop once done, and whether the function was
    /// reset.
    fn disable(
        parent: &device::Device<Bound>,
        pdev: &pci::Device<Bound>,
        open: Open,
    ) -> (Option<pci::RuntimePmGet>, bool) {
        // Nothing can be done about failures here: the device is being given back.
        let _ = pdev.set_power_state(pci::PowerState::D0);
        pdev.clear_master();
        let Open {
            pm,
            vconfig,
            bars,
            bar_mmap,
            saved,
            reset_works,
            mut irqs,
            regions,
            ioeventfds,
            ..
        } = open;
        // The ioeventfds' writes, and the interrupts' handlers, must be over before the
        // function is reset.
        drop(ioeventfds);
        irqs.disable(pdev);
        drop(irqs);
        drop(regions);
        drop(vconfig);
        drop(bars);
        // As C: the rest of the pages of BARs smaller than a page are given back here.
        drop(bar_mmap);
        // As C vfio-pci: back to the state of open, INTx disabled, reset if the function can
        // be, then the state of open written back (the reset saves and restores the state it
        // finds, so the state of open is loaded again after it).
        let reload = |what: &str| {
            let ok = saved
                .as_ref()
                .is_some_and(|s| pdev.load_saved_state(s).is_ok());
            if !ok {
                dev_info!(parent, "close: couldn't reload the saved state {}\n", what);
            }
            ok
        };
        let reloaded = reload("of open");
        if !reloaded && !reset_works {
            pdev.disable_device();
            return (pm, false);
        }
        if !reloaded {
            pdev.save_state();
        }
        let _ = pdev.user_write_config(
            // CAST: small register offset.
            bindings::PCI_COMMAND as usize,
            2,
            bindings::PCI_COMMAND_INTX_DISABLE,
        );
        let mut reset_done = false;
        if reset_works {
            // Even a failed reset may have saved over the state of open.
            reset_done = pdev.try_reset_function().is_ok();
            if reloaded {
                reload("after reset");
            }
        }
        pdev.restore_state();
        pdev.disable_device();
        (pm, reset_done)
    }

    /// Resets the slot or bus of `pdev`, which was just closed, as C vfio-pci's
    /// `vfio_pci_dev_set_try_reset()`: if no device of its set is open, one of them was closed
    /// without being reset, and the reset resets the set's functions only. Called with the lock
    /// of the VFIO device set held, by the VFIO core: no device of the set is opened meanwhile.
    fn try_reset_set(pdev: &pci::Device<Bound>) {
        // Most closes end here, without walking the bus: nothing in the set is left unreset
        // (which only closes change, under the VFIO set lock this close holds).
        if !devset::lock().set_needs_reset_any(pdev).unwrap_or(false) {
            return;
        }
        let Some(scope) = pdev.hot_reset_scope() else {
            return;
        };
        // Walked before the list is locked: the walk holds the PCI bus lock.
        let Ok(affected) = Self::hot_reset_affected(pdev, scope) else {
            return;
        };
        let pm = {
            let sets = devset::lock();
            let Ok(set) = sets.resettable_set(pdev, &affected) else {
                return;
            };
            // A device being opened or closed holds the VFIO set lock, which this close holds:
            // a device whose state is locked is open, in an operation.
            let open = |m: &&devset::Member| match m.state.try_lock() {
                Some(state) => state.is_some(),
                None => true,
            };
            if set.iter().any(open) {
                return;
            }
            // Functions in idle D3hot are resumed for the reset, as C does.
            let mut pm = KVec::new();
            for m in &set {
                let Ok(got) = m.pdev().and_then(|p| p.runtime_resume_get()) else {
                    return;
                };
                if pm.push(got, GFP_KERNEL).is_err() {
                    return;
                }
            }
            pm
        };
        // The list is not locked for the reset, which may take seconds: the VFIO set lock
        // keeps the set's devices closed.
        if pdev.reset_bus().is_ok() {
            devset::lock().set_was_reset(pdev);
        }
        drop(pm);
    }

    /// The functions that a hot reset of `pdev` through `scope` resets, `pdev` included.
    fn hot_reset_affected(
        pdev: &pci::Device<Bound>,
        scope: pci::HotResetScope,
    ) -> Result<KVec<ARef<pci::Device>>> {
        let mut affected = KVec::new();
        pdev.for_each_hot_reset_dependent(scope, |f| {
            affected.push(f.into(), GFP_KERNEL)?;
            Ok(())
        })?;
        Ok(affected)
    }

    /// What the config-space emulation needs to know of the function; `nointx` if its INTx is
    /// broken.
    fn facts(pdev: &pci::Device<Bound>, msi_qmax: u16, nointx: bool) -> Result<DeviceFacts> {
        let mut bars = [BarResource::default(); NUM_BARS];
        for (i, bar) in bars.iter_mut().enumerate() {
            // CAST: `i` is a BAR index below 6.
            let i = i as u32;
            let flags = pdev.resource_flags(i)?;
            *bar = BarResource {
                start: pdev.resource_start(i)?,
                len: pdev.resource_len(i)?,
                io: flags.is_io(),
                prefetch: flags.is_prefetch(),
                mem64: flags.is_mem64(),
            };
        }
        let rom_len = assigned_len(pdev, uapi::PCI_ROM_REGION_INDEX)?;
        let virtfn = pdev
            .is_virtfn()
            .then(|| (pdev.vendor_id().as_raw(), pdev.device_id()));
        Ok(DeviceFacts {
            cfg_size: pdev.cfg_size().into_raw(),
            bars,
            rom_len,
            virtfn,
            no_command_memory: pdev.no_command_memory(),
            // `IRQ_NOTCONNECTED` is the top bit.
            nointx,
            intx: !nointx && pdev.irq() != 0 && pdev.irq() != bindings::IRQ_NOTCONNECTED,
            msi_qmax,
        })
    }

    /// Finds the MSI-X table, if the function has one.
    fn msix_table(hw: &PciHw<'_>) -> Result<Option<MsixTable>> {
        let pdev = hw.0;
        // CAST: capability IDs are bytes.
        let Some(pos) = pdev.find_capability(bindings::PCI_CAP_ID_MSIX as u8) else {
            return Ok(None);
        };
        let pos = usize::from(pos);
        // CAST (below): small register offsets.
        let flags = hw.read(pos + bindings::PCI_MSIX_FLAGS as usize, 2)?;
        let table = hw.read(pos + bindings::PCI_MSIX_TABLE as usize, 4)?;
        let start = u64::from(table & bindings::PCI_MSIX_TABLE_OFFSET);
        let size = u64::from((flags & bindings::PCI_MSIX_FLAGS_QSIZE) + 1) * 16;
        Ok(Some(MsixTable {
            // CAST: a 3-bit field.
            bar: (table & bindings::PCI_MSIX_TABLE_BIR) as usize,
            start,
            end: start + size,
        }))
    }

    /// Tells userspace that the PCI core detected an error on the function (AER), as C
    /// vfio-pci's `vfio_pci_core_aer_err_detected()`: signals the error eventfd if userspace
    /// set one, and answers that the driver can recover, userspace taking it from there.
    pub fn error_detected(&self) -> pci::ErsResult {
        if let Some(open) = Option::as_ref(&*self.open.lock()) {
            open.irqs.error();
        }
        pci::ErsResult::CanRecover
    }

    /// Asks userspace to release the device, while unbinding waits for it: signals the
    /// request eventfd if userspace set one, as C vfio-pci does.
    pub fn request(&self, parent: &device::Device<Bound>, count: u32) {
        let signalled = Option::as_ref(&*self.open.lock()).is_some_and(|open| open.irqs.request());
        if signalled {
            if count % 10 == 0 {
                dev_notice!(parent, "Relaying device request to user (#{})\n", count);
            }
        } else if count == 0 {
            dev_warn!(
                parent,
                "No device request channel registered, blocked until released by user\n"
            );
        }
    }

    /// Checks the VF token given to open the device (`None` if none was), with C vfio-pci's
    /// rules: a VF whose PF is bound to a VFIO PCI driver needs the PF's token, a PF whose VFs
    /// are open needs its current token (otherwise a token given becomes the PF's token), and
    /// any other function takes none (`EACCES` for a missing or wrong token, `EINVAL` for one
    /// that is not needed).
    pub fn match_token(&self, token: Option<&Uuid>) -> Result {
        self.sriov.match_token(token)
    }

    /// Decides whether `buf`, the name given to `VFIO_GROUP_GET_DEVICE_FD`, selects the device,
    /// as C vfio-pci does: the function's name, optionally followed by
    /// `" vf_token=<UUID>"`, which [`VfioPciCoreDevice::match_token`] checks.
    pub fn match_name(&self, buf: &CStr) -> Result<bool> {
        let name: &device::Device = self.pdev.as_ref();
        match sriov::parse_match(name.name().to_bytes(), buf.to_bytes())? {
            None => Ok(false),
            Some(token) => self.match_token(token.as_ref()).map(|()| true),
        }
    }

    /// Handles the `VFIO_DEVICE_FEATURE`s the core implements: setting the VF token of a PF,
    /// `VFIO_DEVICE_FEATURE_PCI_VF_TOKEN` (it cannot be read back: it would give away the
    /// previous user's token), and the low-power features (set only): `LOW_POWER_ENTRY` lets
    /// the open function suspend, `LOW_POWER_ENTRY_WITH_WAKEUP` too, with an eventfd that an
    /// access waking it up signals, ending low power, and `LOW_POWER_EXIT` ends it. `ENOTTY`
    /// for other features and functions.
    pub fn device_feature(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        flags: u32,
        arg: UserPtr,
        argsz: usize,
    ) -> Result {
        // Any ioctl is an access, as with C's runtime PM around them.
        let _pm = self.resume_for_access(bound(dev.parent())?)?;
        let set = uapi::DEVICE_FEATURE_SET;
        match flags & uapi::DEVICE_FEATURE_MASK {
            uapi::DEVICE_FEATURE_LOW_POWER_ENTRY => {
                if vfio::check_feature(flags, argsz, set, 0)? {
                    self.low_power_entry(dev, None)?;
                }
                Ok(())
            }
            uapi::DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP => {
                // `struct vfio_device_low_power_entry_with_wakeup`: the eventfd, reserved.
                let mut entry = [0u8; 8];
                if !vfio::check_feature(flags, argsz, set, entry.len())? {
                    return Ok(());
                }
                UserSlice::new(arg, entry.len())
                    .reader()
                    .read_slice(&mut entry)?;
                let fd = i32::from_ne_bytes([entry[0], entry[1], entry[2], entry[3]]);
                if fd < 0 {
                    return Err(EINVAL);
                }
                self.low_power_entry(dev, Some(EventFd::from_fd(fd)?))
            }
            uapi::DEVICE_FEATURE_LOW_POWER_EXIT => {
                if vfio::check_feature(flags, argsz, set, 0)? {
                    let pdev = bound(dev.parent())?;
                    if let Some(open) = Option::as_mut(&mut *self.open.lock()) {
                        self.low_power_exit(pdev, open)?;
                    }
                }
                Ok(())
            }
            uapi::DEVICE_FEATURE_PCI_VF_TOKEN if self.sriov.is_pf() => {
                let mut uuid = Uuid::default();
                if !vfio::check_feature(flags, argsz, uapi::DEVICE_FEATURE_SET, uuid.0.len())? {
                    return Ok(());
                }
                UserSlice::new(arg, uuid.0.len())
                    .reader()
                    .read_slice(&mut uuid.0)?;
                self.sriov.set_token(&uuid)
            }
            _ => Err(ENOTTY),
        }
    }

    /// Enables `nr_virtfn` SR-IOV VFs on the function, a PF, or disables them for 0, as a
    /// write to its `sriov_numvfs` attribute asks; returns how many are enabled. As C
    /// vfio-pci, the PF is kept in D0 while it has VFs, and their devices get the PF's
    /// driver through `driver_override`. Enabling twice without disabling in between is
    /// `EINVAL`.
    pub fn sriov_configure(
        &self,
        pdev: &pci::Device<device::Core<'_>>,
        nr_virtfn: u16,
    ) -> Result<u16> {
        self.sriov.configure(pdev, nr_virtfn, |active| {
            if !active {
                self.sriov_active.store(false, Relaxed);
                return;
            }
            // Against a concurrent power state write from userspace, which holds the lock.
            let mut guard = self.open.lock();
            let _ = pdev.set_power_state(pci::PowerState::D0);
            self.sriov_active.store(true, Relaxed);
            if let Some(open) = Option::as_mut(&mut *guard) {
                // Out of the D3hot userspace may have asked for: its memory is back.
                open.low_power = false;
                open.sync_gate();
            }
        })
    }

    /// Lets the open function suspend, as `VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY` asks: its
    /// mappings fault with `SIGBUS` and ioeventfds do not write until low power ends; other
    /// accesses resume it ([`VfioPciCoreDevice::resume_for_access`]). `EINVAL` if it is in
    /// low power already.
    fn low_power_entry(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        wakeup: Option<EventFd>,
    ) -> Result {
        let mut guard = self.open.lock();
        let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
        if open.user_low_power.is_some() {
            return Err(EINVAL);
        }
        dev.zap_mappings();
        open.user_low_power = Some(wakeup);
        open.sync_gate();
        // As C: a suspended function may read back all ones, which a shared INTx handler would
        // take for its interrupt.
        open.low_power_intx_masked = open.irqs.mask_intx_for_low_power();
        self.user_low_power.store(true, Relaxed);
        // The function may suspend once this usage count is given back.
        drop(open.pm.take());
        Ok(())
    }

    /// Ends the low power userspace asked for: the function is resumed and stays so.
    fn low_power_exit(&self, pdev: &pci::Device<Bound>, open: &mut Open) -> Result {
        if open.user_low_power.is_none() {
            return Ok(());
        }
        open.pm = Some(pdev.runtime_resume_get()?);
        open.user_low_power = None;
        self.user_low_power.store(false, Relaxed);
        open.sync_gate();
        if core::mem::take(&mut open.low_power_intx_masked) {
            open.irqs.unmask_intx_after_low_power();
        }
        Ok(())
    }

    /// Keeps the function resumed for an access by userspace (an ioctl, a read or a write of
    /// the device file) until the result drops, as C vfio-pci's runtime PM does around them,
    /// so that it cannot suspend under the access even if userspace lets it meanwhile. If
    /// userspace let it suspend with a wakeup eventfd, the access also ends low power and
    /// signals the eventfd, as C's runtime resume does.
    fn resume_for_access(&self, pdev: &pci::Device<Bound>) -> Result<pci::RuntimePmGet> {
        let pm = pdev.runtime_resume_get()?;
        if self.user_low_power.load(Relaxed) {
            let mut guard = self.open.lock();
            if let Some(open) = Option::as_mut(&mut *guard) {
                if let Some(Some(_)) = &open.user_low_power {
                    let wakeup = open.user_low_power.take().flatten();
                    open.user_low_power = Some(None);
                    self.low_power_exit(pdev, open)?;
                    if let Some(wakeup) = wakeup {
                        wakeup.signal();
                    }
                }
            }
        }
        Ok(pm)
    }

    /// Handles `VFIO_DEVICE_GET_INFO` for the user structure at `arg`.
    pub fn ioctl_get_info(&self, arg: usize) -> Result<isize> {
        let (reset, regions) = Option::as_ref(&*self.open.lock())
            .map_or((false, 0), |open| (open.reset_works, open.regions.len()));
        vfio::DeviceInfo {
            flags: uapi::DEVICE_FLAGS_PCI | if reset { uapi::DEVICE_FLAGS_RESET } else { 0 },
            // CAST: the number of regions is bounded by `register_dev_region()`.
            num_regions: uapi::PCI_NUM_REGIONS + regions as u32,
            num_irqs: uapi::PCI_NUM_IRQS,
        }
        .write_to_user(arg)
    }

    /// Handles `VFIO_DEVICE_RESET`: resets the function if it can be reset on its own
    /// (`EINVAL` otherwise, as C vfio-pci answers); userspace mappings are invalidated first
    /// and fault again afterwards.
    pub fn ioctl_reset(&self, dev: &vfio::Registered<impl vfio::Driver>) -> Result<isize> {
        let pdev = bound(dev.parent())?;
        let mut guard = self.open.lock();
        let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
        if !open.reset_works {
            return Err(EINVAL);
        }
        open.quiesce(dev.as_any(), pdev);
        let ret = pdev.try_reset_function();
        open.sync_gate();
        ret.map(|()| 0)
    }

    /// Handles `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO`: lists the functions a hot reset of the
    /// device's slot or bus resets, with their IOMMU group for a device opened through its
    /// group, or, for one opened through its device file, their iommufd device ID, as C
    /// vfio-pci does (`ENODEV` if neither the slot nor the bus can be reset, `EPERM` for a
    /// function without an IOMMU group). A function outside the device's set, or bound to
    /// another iommufd, is not owned.
    pub fn ioctl_hot_reset_info(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        arg: usize,
    ) -> Result<isize> {
        let pdev = bound(dev.parent())?;
        // As C: the scope, then the count (ENOSPC if it does not fit), then the functions.
        let scope = core::cell::Cell::new(None);
        let count = || {
            let s = pdev.hot_reset_scope().ok_or(ENODEV)?;
            scope.set(Some(s));
            let mut n = 0;
            pdev.for_each_hot_reset_dependent(s, |_| {
                n += 1;
                Ok(())
            })?;
            Ok(n)
        };
        vfio::hot_reset_info(arg, count, || {
            let scope = scope.get().ok_or(ENODEV)?;
            // Against the devices' binding to an iommufd, done when they are opened or closed.
            let set_lock = dev.lock_device_set();
            let affected = Self::hot_reset_affected(pdev, scope)?;
            let cdev = dev.cdev_opened();
            let mut flags = if cdev {
                uapi::PCI_HOT_RESET_FLAG_DEV_ID | uapi::PCI_HOT_RESET_FLAG_DEV_ID_OWNED
            } else {
                0
            };
            let sets = devset::lock();
            let set = sets.set_of(pdev)?;
            let mut devices = KVec::with_capacity(affected.len(), GFP_KERNEL)?;
            for f in &affected {
                let id = if !cdev {
                    f.iommu_group_id().ok_or(EPERM)?
                } else {
                    let member = set.iter().find(|m| m.is(f));
                    match member.map(|m| m.iommufd_ownership(dev, &set_lock)) {
                        Some(IommufdOwnership::Bound(id)) => id,
                        Some(IommufdOwnership::GroupBound) => uapi::PCI_DEVID_OWNED,
                        _ => {
                            flags &= !uapi::PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
                            uapi::PCI_DEVID_NOT_OWNED
                        }
                    }
                };
                let entry = vfio::DependentDevice {
                    id,
                    segment: f.domain_nr(),
                    bus: f.bus_nr(),
                    devfn: f.devfn(),
                };
                devices.push(entry, GFP_KERNEL)?;
            }
            Ok((flags, devices))
        })
    }

    /// Handles `VFIO_DEVICE_PCI_HOT_RESET`: resets the device's slot or bus, as C vfio-pci
    /// does, if every function that resets is in the device's set (`EINVAL` otherwise) and the
    /// caller owns every device of the set (`EINVAL` otherwise): group file descriptors prove
    /// that for a device opened through its group (and none may be given for a device opened
    /// through its device file: `EINVAL`); for one opened through its device file, the others
    /// must be bound to the same iommufd, or be in an IOMMU group that a device bound to it is
    /// in. `EBUSY` if another device of the set is busy. Userspace mappings of every device of
    /// the set are invalidated first and fault again afterwards.
    pub fn ioctl_hot_reset(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        arg: usize,
    ) -> Result<isize> {
        let pdev = bound(dev.parent())?;
        let req = vfio::HotResetRequest::from_user(arg)?;
        let cdev = dev.cdev_opened();
        if (req.count() != 0) == cdev {
            return Err(EINVAL);
        }
        let scope = pdev.hot_reset_scope().ok_or(ENODEV)?;
        // No device of the set is opened or closed until the reset is over.
        let set_lock = dev.lock_device_set();
        let affected = Self::hot_reset_affected(pdev, scope)?;
        // Held across the reset, as C holds them.
        let groups = if req.count() != 0 {
            // One group per function at most.
            if req.count() as usize > affected.len() {
                return Err(EINVAL);
            }
            req.group_files()?
        } else {
            KVec::new()
        };
        let sets = devset::lock();
        let set = sets.resettable_set(pdev, &affected)?;
        // Functions in idle D3hot are resumed for the reset, as C does.
        let mut pm = KVec::with_capacity(set.len(), GFP_KERNEL)?;
        let mut pdevs = KVec::with_capacity(set.len(), GFP_KERNEL)?;
        for m in &set {
            let mpdev = m.pdev()?;
            pm.push(mpdev.runtime_resume_get()?, GFP_KERNEL)?;
            pdevs.push(mpdev, GFP_KERNEL)?;
        }
        // Every device of the set must be the caller's.
        let mut states = KVec::with_capacity(set.len(), GFP_KERNEL)?;
        for m in &set {
            let owned = if cdev {
                matches!(
                    m.iommufd_ownership(dev, &set_lock),
                    IommufdOwnership::Bound(_) | IommufdOwnership::GroupBound
                )
            } else {
                groups.iter().any(|g| g.has_device(&m.vdev))
            };
            if !owned {
                return Err(EINVAL);
            }
            states.push((m.state.clone(), m.vdev.clone()), GFP_KERNEL)?;
        }
        // Every device of the set locked. The locks are only tried, as C does: taking several
        // in a row could deadlock.
        let mut locked = KVec::with_capacity(states.len(), GFP_KERNEL)?;
        for (state, vdev) in &states {
            locked.push((state.try_lock().ok_or(EBUSY)?, vdev), GFP_KERNEL)?;
        }
        for ((state, vdev), mpdev) in locked.iter_mut().zip(pdevs.iter()) {
            match Option::as_mut(&mut **state) {
                Some(open) => open.quiesce(vdev, mpdev),
                None => {
                    vdev.zap_mappings();
                    let _ = mpdev.set_power_state(pci::PowerState::D0);
                }
            }
        }
        // The list is not locked for the reset, which may take seconds: the VFIO set lock keeps
        // the set as it is.
        drop(pdevs);
        drop(set);
        drop(sets);
        let ret = pdev.reset_bus();
        for (state, _) in &locked {
            if let Some(open) = Option::as_ref(&**state) {
                open.sync_gate();
            }
        }
        drop(locked);
        drop(groups);
        drop(pm);
        ret.map(|()| 0)
    }

    /// Handles `VFIO_DEVICE_IOEVENTFD`, as C vfio-pci does: from now on, each signal of the
    /// eventfd writes the data to the BAR, if memory is enabled then; `fd` -1 removes the
    /// ioeventfd with the same offset, data and width (`ENODEV` if there is none). Only within
    /// a BAR and outside the MSI-X table (`EINVAL`), one ioeventfd per offset, data and width
    /// (`EEXIST`), at most 1000 (`ENOSPC`). Memory and I/O port BARs; writes to I/O ports are
    /// not gated on memory decoding, as in C.
    pub fn ioctl_ioeventfd(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        arg: usize,
    ) -> Result<isize> {
        let pdev = bound(dev.parent())?;
        let req = vfio::IoEventFdRequest::from_user(arg)?;
        let (index, pos) = split_offset(req.offset);
        if index > uapi::PCI_BAR5_REGION_INDEX {
            return Err(EINVAL);
        }
        // CAST: a width of at most 8 bytes.
        let count = req.count as u64;
        let end = pos.checked_add(count).ok_or(EINVAL)?;
        if end > pdev.resource_len(index)? {
            return Err(EINVAL);
        }
        let mut guard = self.open.lock();
        let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
        // CAST: `index` is a BAR index below 6.
        let bar = index as usize;
        if let Some(m) = open.msix.as_ref().filter(|m| m.bar == bar) {
            if end > m.start && pos < m.end {
                return Err(EINVAL);
            }
        }
        let key = IoEventKey {
            bar,
            pos,
            data: req.data,
            count: req.count,
        };
        if let Some(i) = open.ioeventfds.iter().position(|e| e.key() == key) {
            if req.fd != -1 {
                return Err(EEXIST);
            }
            // Its writes are over once it is dropped.
            drop(open.ioeventfds.remove(i));
            return Ok(0);
        }
        if req.fd < 0 {
            return Err(ENODEV);
        }
        if open.ioeventfds.len() >= MAX_IOEVENTFDS {
            return Err(ENOSPC);
        }
        let target = if pdev.resource_flags(index)?.is_io() {
            Target::Io(pdev.io_port_bar(index)?)
        } else {
            Target::Mem(open.gate.clone(), open.bar(pdev, bar)?.clone())
        };
        let ioeventfd = IoEventFd::new(key, req.fd, target)?;
        open.ioeventfds.push(ioeventfd, GFP_KERNEL)?;
        Ok(0)
    }

    /// Answers `VFIO_DEVICE_GET_IRQ_INFO` for interrupt index `index`, as C vfio-pci does:
    /// INTx if the virtual interrupt pin says so (maskable, automasked), MSI and MSI-X as many
    /// vectors as their capabilities allow, one ERR and one REQ interrupt.
    pub fn irq_info(&self, pdev: &pci::Device<Bound>, index: u32) -> Result<vfio::IrqInfo> {
        let eventfd = uapi::IRQ_INFO_EVENTFD;
        let noresize = eventfd | uapi::IRQ_INFO_NORESIZE;
        let cap_flags = |id: u32, reg: u32| -> Result<Option<u32>> {
            // CAST: capability IDs are bytes, register offsets small.
            match pdev.find_capability(id as u8) {
                Some(pos) => Ok(Some(
                    pdev.user_read_config(usize::from(pos) + reg as usize, 2)?,
                )),
                None => Ok(None),
            }
        };
        let info = match index {
            uapi::PCI_INTX_IRQ_INDEX => {
                let guard = self.open.lock();
                let open = Option::as_ref(&*guard).ok_or(EINVAL)?;
                vfio::IrqInfo {
                    flags: eventfd | uapi::IRQ_INFO_MASKABLE | uapi::IRQ_INFO_AUTOMASKED,
                    count: u32::from(open.vconfig.intx_pin() != 0),
                }
            }
            uapi::PCI_MSI_IRQ_INDEX => vfio::IrqInfo {
                flags: noresize,
                count: cap_flags(bindings::PCI_CAP_ID_MSI, bindings::PCI_MSI_FLAGS)?
                    .map_or(0, |f| 1 << ((f & bindings::PCI_MSI_FLAGS_QMASK) >> 1)),
            },
            uapi::PCI_MSIX_IRQ_INDEX => vfio::IrqInfo {
                flags: if pdev.msix_can_alloc_dyn() {
                    eventfd
                } else {
                    noresize
                },
                count: cap_flags(bindings::PCI_CAP_ID_MSIX, bindings::PCI_MSIX_FLAGS)?
                    .map_or(0, |f| (f & bindings::PCI_MSIX_FLAGS_QSIZE) + 1),
            },
            uapi::PCI_ERR_IRQ_INDEX | uapi::PCI_REQ_IRQ_INDEX => vfio::IrqInfo {
                flags: noresize,
                count: 1,
            },
            _ => return Err(EINVAL),
        };
        Ok(info)
    }

    /// Handles the ioctls of the VFIO PCI uAPI that the core implements.
    pub fn ioctl(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        cmd: u32,
        arg: usize,
    ) -> Result<isize> {
        let _pm = self.resume_for_access(bound(dev.parent())?)?;
        match cmd {
            uapi::DEVICE_GET_INFO => self.ioctl_get_info(arg),
            uapi::DEVICE_GET_IRQ_INFO => {
                let pdev = bound(dev.parent())?;
                vfio::IrqInfo::ioctl(arg, |index| self.irq_info(pdev, index))
            }
            uapi::DEVICE_SET_IRQS => {
                let pdev = bound(dev.parent())?;
                let req = vfio::IrqSet::from_user(arg, uapi::PCI_NUM_IRQS, |index| {
                    self.irq_info(pdev, index).map_or(0, |info| info.count)
                })?;
                let mut guard = self.open.lock();
                let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
                let ret = open.irqs.set(pdev, &req, open.virq_disabled);
                let (msi, qmax) = open.irqs.msi_state();
                open.vconfig.set_msi(msi, qmax);
                if let Some(qmax) = qmax {
                    self.msi_qmax.store(qmax.into(), Relaxed);
                }
                ret
            }
            uapi::DEVICE_RESET => self.ioctl_reset(dev),
            uapi::DEVICE_GET_PCI_HOT_RESET_INFO => self.ioctl_hot_reset_info(dev, arg),
            uapi::DEVICE_PCI_HOT_RESET => self.ioctl_hot_reset(dev, arg),
            uapi::DEVICE_IOEVENTFD => self.ioctl_ioeventfd(dev, arg),
            _ => Err(ENOTTY),
        }
    }

    /// Sets up an mmap of a BAR, with C vfio-pci's rules: a shared mapping of a BAR that
    /// supports it, within the BAR (rounded up to a page); or of a device-specific region that
    /// is a [`BarWindow`], within the region (rounded up to a page). The mapping is populated
    /// on fault ([`VfioPciCoreDevice::mmap_fault`]).
    pub fn mmap(&self, dev: &vfio::Registered<impl vfio::Driver>, vma: &vfio::Mmap) -> Result {
        let pdev = bound(dev.parent())?;
        let (index, start) = split_offset(vma.pgoff() << PAGE_SHIFT);
        if !vma.is_shared() {
            return Err(EINVAL);
        }
        let mut guard = self.open.lock();
        let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
        let (bar, _, len) = open.mapping(pdev, index)?;
        if start
            .checked_add(vma.size())
            .is_none_or(|end| end > len.next_multiple_of(PAGE))
        {
            return Err(EINVAL);
        }
        // The BAR is requested for the mapping, as for region access.
        // CAST: `bar` is a BAR index below 6.
        open.bar(pdev, bar as usize)?;
        vma.set_io_fault(dev);
        Ok(())
    }

    /// Populates the page of a BAR mapping that userspace accessed, unless memory decoding is
    /// off or the function is in a low-power state: the access then gets `SIGBUS`.
    pub fn mmap_fault(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        fault: &vfio::MmapFault,
    ) -> vfio::VmFault {
        let Ok(pdev) = bound(dev.parent()) else {
            return vfio::VmFault::SIGBUS;
        };
        let guard = self.open.lock();
        let Some(open) = Option::as_ref(&*guard) else {
            return vfio::VmFault::SIGBUS;
        };
        // As C: no access through mappings while in the low power userspace asked for.
        if !open.memory_enabled() || open.user_low_power.is_some() {
            return vfio::VmFault::SIGBUS;
        }
        let (index, off) = split_offset(fault.pgoff() << PAGE_SHIFT);
        let Ok((bar, base, len)) = open.mapping(pdev, index) else {
            return vfio::VmFault::SIGBUS;
        };
        let Ok(start) = pdev.resource_start(bar) else {
            return vfio::VmFault::SIGBUS;
        };
        if off >= len.next_multiple_of(PAGE) {
            return vfio::VmFault::SIGBUS;
        }
        // SAFETY: The page lies within the pages of memory BAR `bar` (checked above: a window
        // starts on a page boundary and ends within the BAR), which userspace may map (the rest
        // of the page of a BAR smaller than a page is reserved) and which the core requested
        // for userspace at mmap; mappings are invalidated before the BAR's memory decoding is
        // turned off, the function reset or put in a low-power state.
        unsafe { fault.insert_pfn((start + base + off) >> PAGE_SHIFT) }
    }

    /// Handles `VFIO_DEVICE_GET_REGION_INFO` for the fixed vfio-pci regions, as C vfio-pci
    /// does: BARs (mmap-able ones with the `MSIX_MAPPABLE` capability if they hold the MSI-X
    /// table), the ROM if its image is valid (sized as its BAR), the config space.
    pub fn region_info(
        &self,
        parent: &device::Device<Bound>,
        info: &mut vfio::RegionInfo,
        caps: &mut vfio::InfoCaps,
    ) -> Result {
        let pdev = bound(parent)?;
        let index = info.index();
        match index {
            uapi::PCI_BAR0_REGION_INDEX..=uapi::PCI_BAR5_REGION_INDEX => {
                let guard = self.open.lock();
                let open = Option::as_ref(&*guard).ok_or(EINVAL)?;
                self.bar_info(open, index, info)?;
                // CAST: a BAR index below 6.
                let msix_bar = open.msix.is_some_and(|m| m.bar == index as usize);
                if msix_bar && info.flags() & uapi::REGION_INFO_FLAG_MMAP != 0 {
                    caps.add_header(uapi::REGION_INFO_CAP_MSIX_MAPPABLE, 1)?;
                }
            }
            uapi::PCI_ROM_REGION_INDEX => {
                // Under the lock: the command register is changed for the check, and the ROM
                // mapped, as region access does.
                let _guard = self.open.lock();
                let len = assigned_len(pdev, index)?;
                let valid = len != 0 && with_memory_enabled(pdev, || pdev.map_rom().is_some())?;
                info.set_size(if valid { len } else { 0 });
                info.set_flags(if valid {
                    uapi::REGION_INFO_FLAG_READ
                } else {
                    0
                });
            }
            uapi::PCI_CONFIG_REGION_INDEX => {
                // CAST: the configuration space is 256 or 4096 bytes.
                info.set_size(pdev.cfg_size().into_raw() as u64);
                info.set_flags(uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE);
            }
            // As C: only on VGA functions, with VGA support, unless `disable_vga`.
            uapi::PCI_VGA_REGION_INDEX => {
                if !vga::enabled(pdev, self.params.disable_vga) {
                    return Err(EINVAL);
                }
                info.set_size(vga::REGION_SIZE);
                info.set_flags(uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE);
            }
            _ => {
                let guard = self.open.lock();
                let open = Option::as_ref(&*guard).ok_or(EINVAL)?;
                let i = index.checked_sub(uapi::PCI_NUM_REGIONS).ok_or(EINVAL)?;
                let region = open.regions.get(i as usize).ok_or(EINVAL)?;
                let r = region.info;
                info.set_size(r.size);
                let mut flags = uapi::REGION_INFO_FLAG_READ;
                if r.writable {
                    flags |= uapi::REGION_INFO_FLAG_WRITE;
                }
                if let Backing::Bar(_) = region.backing {
                    flags |= uapi::REGION_INFO_FLAG_MMAP;
                }
                info.set_flags(flags);
                caps.add(uapi::REGION_INFO_CAP_TYPE, 1, &[r.region_type, r.subtype])?;
            }
        }
        info.set_offset(region_offset(index));
        Ok(())
    }

    /// Fills in region info for BAR `bar`.
    fn bar_info(&self, open: &Open, bar: u32, info: &mut vfio::RegionInfo) -> Result {
        let len = self.pdev.resource_len(bar)?;
        info.set_size(len);
        if len == 0 {
            info.set_flags(0);
            return Ok(());
        }
        let mut flags = uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE;
        if open.bar_mmap.supported(bar) {
            flags |= uapi::REGION_INFO_FLAG_MMAP;
        }
        info.set_flags(flags);
        Ok(())
    }

    /// Reads from the device file at `offset`: config space, or a BAR.
    pub fn read(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        buf: &mut UserSliceWriter,
        offset: u64,
    ) -> Result<usize> {
        self.rw(dev, offset, Access::Read(buf))
    }

    /// Writes to the device file at `offset`: config space, or a BAR.
    pub fn write(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        buf: &mut UserSliceReader,
        offset: u64,
    ) -> Result<usize> {
        self.rw(dev, offset, Access::Write(buf))
    }

    /// Reads or writes a region. User memory is only touched with the state unlocked, through
    /// a bounce buffer (see [`Access::bounced`]): the user buffer may be a mapping of the device
    /// itself, whose fault handler takes the lock.
    fn rw(
        &self,
        dev: &vfio::Registered<impl vfio::Driver>,
        offset: u64,
        mut access: Access<'_>,
    ) -> Result<usize> {
        let pdev = bound(dev.parent())?;
        // As C: resumed for the access if userspace let the function suspend (a function that
        // cannot be resumed is not accessed). Checked again under the lock below, against a
        // concurrent low-power entry; the common case costs no runtime PM call.
        let _pm = if self.user_low_power.load(Relaxed) {
            Some(self.resume_for_access(pdev).map_err(|_| EIO)?)
        } else {
            None
        };
        let (index, pos) = split_offset(offset);
        let write = access.is_write();
        match index {
            uapi::PCI_CONFIG_REGION_INDEX => {
                let count = access.len();
                if count == 0 {
                    return Ok(0);
                }
                let size = pdev.cfg_size().into_raw();
                // CAST: offsets past the config space fail the range check.
                let pos = usize::try_from(pos).map_err(|_| EFAULT)?;
                if pos >= size || count > size - pos {
                    return Err(EFAULT);
                }
                access.bounced(count, |done, buf| {
                    let mut guard = self.open.lock();
                    let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
                    let _pm = open.resume_if_low_power(pdev)?;
                    let effects = config_rw(dev, open, pdev, pos + done, buf, write);
                    // A write that failed part way may have closed the gate already.
                    let mut effects = effects.inspect_err(|_| open.sync_gate())?;
                    // As C: a PF with VFs enabled stays in D0.
                    if self.sriov_active.load(Relaxed) {
                        effects.power_state = effects
                            .power_state
                            .filter(|&s| pci::PowerState::from_pm_ctrl(s) == pci::PowerState::D0);
                    }
                    apply_effects(dev, pdev, open, effects);
                    if write {
                        open.sync_gate();
                    }
                    Ok(())
                })
            }
            uapi::PCI_BAR0_REGION_INDEX..=uapi::PCI_ROM_REGION_INDEX => {
                let rom = index == uapi::PCI_ROM_REGION_INDEX;
                if rom && write {
                    return Err(EINVAL);
                }
                let len = assigned_len(pdev, index)?;
                if pos >= len {
                    return Err(EINVAL);
                }
                // CAST: the user's count fits in `u64`, the result is at most that count.
                let count = (access.len() as u64).min(len - pos) as usize;
                access.bounced(count, |done, buf| {
                    let mut guard = self.open.lock();
                    let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
                    let _pm = open.resume_if_low_power(pdev)?;
                    // CAST: `done` fits in `u64`.
                    region_rw(open, pdev, index, len, pos + done as u64, buf, write)
                })
            }
            uapi::PCI_VGA_REGION_INDEX => {
                if !vga::enabled(pdev, self.params.disable_vga) || pos >= vga::REGION_SIZE {
                    return Err(EINVAL);
                }
                let count = vga::access_len(pos, access.len())?;
                access.bounced(count, |done, buf| {
                    // CAST: `done` fits in `u64`.
                    vga::rw(pdev, pos + done as u64, buf, write)
                })
            }
            _ => {
                let i = index.checked_sub(uapi::PCI_NUM_REGIONS).ok_or(EINVAL)?;
                let info = {
                    let guard = self.open.lock();
                    let open = Option::as_ref(&*guard).ok_or(EINVAL)?;
                    open.regions.get(i as usize).ok_or(EINVAL)?.info
                };
                if pos >= info.size || (write && !info.writable) {
                    return Err(EINVAL);
                }
                // CAST: the result is at most the user's count.
                let count = (access.len() as u64).min(info.size - pos) as usize;
                access.bounced(count, |done, buf| {
                    let mut guard = self.open.lock();
                    let open = Option::as_mut(&mut *guard).ok_or(EINVAL)?;
                    let region = open.regions.get(i as usize).ok_or(EINVAL)?;
                    // CAST: `done` fits in `u64`.
                    let at = pos + done as u64;
                    match &region.backing {
                        Backing::Ops(ops) if write => ops.write(pdev, at, buf),
                        Backing::Ops(ops) => ops.read(pdev, at, buf),
                        &Backing::Bar(w) => {
                            let _pm = open.resume_if_low_power(pdev)?;
                            let len = pdev.resource_len(w.bar)?;
                            region_rw(open, pdev, w.bar, len, w.offset + at, buf, write)
                        }
                    }
                })
            }
        }
    }
}

// CAST: `PAGE_SIZE` and `PAGE_SHIFT` are small.
const PAGE: u64 = kernel::page::PAGE_SIZE as u64;
const PAGE_SHIFT: u32 = kernel::page::PAGE_SHIFT as u32;

/// The most device-specific regions one device may have.
const MAX_DEV_REGIONS: usize = 64;

/// The largest piece of a BAR access done under one lock.
const BOUNCE: usize = 4096;
/// Accesses up to this size use a bounce buffer on the stack.
const SMALL_BOUNCE: usize = 64;

/// A read into, or a write from, a user buffer.
enum Access<'a> {
    Read(&'a mut UserSliceWriter),
    Write(&'a mut UserSliceReader),
}

impl Access<'_> {
    fn len(&self) -> usize {
        match self {
            Access::Read(w) => w.len(),
            Access::Write(r) => r.len(),
        }
    }

    fn is_write(&self) -> bool {
        matches!(self, Access::Write(_))
    }

    /// For a write, fills `buf` with the next bytes of the user's data.
    fn fetch(&mut self, buf: &mut [u8]) -> Result {
        match self {
            Access::Read(_) => Ok(()),
            Access::Write(r) => r.read_slice(buf),
        }
    }

    /// For a read, copies `buf` to the user's buffer.
    fn store(&mut self, buf: &[u8]) -> Result {
        match self {
            Access::Read(w) => w.write_slice(buf),
            Access::Write(_) => Ok(()),
        }
    }

    /// Transfers `count` bytes between the user buffer and `op` through a bounce buffer, at
    /// most [`BOUNCE`] bytes at a time: `op` gets the offset of the piece within the access
    /// and the piece, filled with the user's data for a write, to fill for a read. The user
    /// buffer is never touched while `op` runs.
    fn bounced(
        &mut self,
        count: usize,
        mut op: impl FnMut(usize, &mut [u8]) -> Result,
    ) -> Result<usize> {
        // Most accesses are a register (up to 8 bytes): those stay on the stack, not to pay for
        // an allocation on every access (measured by `make bench`).
        let mut small = [0u8; SMALL_BOUNCE];
        let mut large;
        let bounce: &mut [u8] = if count <= SMALL_BOUNCE {
            &mut small
        } else {
            large = KVec::from_elem(0u8, count.min(BOUNCE), GFP_KERNEL)?;
            &mut large
        };
        let mut done = 0;
        while done < count {
            let buf = &mut bounce[..(count - done).min(BOUNCE)];
            self.fetch(buf)?;
            op(done, buf)?;
            self.store(buf)?;
            done += buf.len();
        }
        Ok(count)
    }
}

/// Reads or writes `buf` at `pos` of the config space through the emulation, in the chunks it
/// allows.
fn config_rw(
    dev: &vfio::Device<impl vfio::Driver>,
    open: &mut Open,
    pdev: &pci::Device<Bound>,
    pos: usize,
    buf: &mut [u8],
    write: bool,
) -> Result<Effects> {
    // CAST: a small register offset.
    const COMMAND: usize = bindings::PCI_COMMAND as usize;
    let hw = PciHw(pdev);
    let mut effects = Effects::default();
    let mut done = 0;
    while done < buf.len() {
        let at = pos + done;
        let width = open.vconfig.chunk(at, buf.len() - done)?;
        let bytes = &mut buf[done..done + width];
        if write {
            let mut b = [0u8; 4];
            b[..width].copy_from_slice(bytes);
            let val = u32::from_le_bytes(b);
            if at == COMMAND && val & bindings::PCI_COMMAND_MEMORY == 0 {
                // Mappings and ioeventfd writes go before memory decoding does; faults wait
                // for the lock we hold, then find decoding off.
                dev.zap_mappings();
                open.gate.set(Gate::Closed);
            }
            let fx = open.vconfig.write(&hw, at, width, val)?;
            effects.power_state = fx.power_state.or(effects.power_state);
            effects.flr |= fx.flr;
            effects.command |= fx.command;
            effects.readrq = fx.readrq.or(effects.readrq);
        } else {
            let v = open.vconfig.read(&hw, at, width)?;
            bytes.copy_from_slice(&v.to_le_bytes()[..width]);
        }
        done += width;
    }
    Ok(effects)
}

/// Acts on what config writes asked for: power state changes, function-level resets, and
/// userspace mappings that must fault again after memory decoding changed.
fn apply_effects(
    dev: &vfio::Device<impl vfio::Driver>,
    pdev: &pci::Device<Bound>,
    open: &mut Open,
    done: Effects,
) {
    if done.command && !open.vconfig.memory_enabled() {
        dev.zap_mappings();
    }
    if done.command && open.vconfig.intx_disabled() != open.virq_disabled {
        open.virq_disabled = open.vconfig.intx_disabled();
        open.irqs.set_virq_disabled(pdev, open.virq_disabled);
    }
    if let Some(state) = done.power_state {
        let state = pci::PowerState::from_pm_ctrl(state);
        open.low_power = state == pci::PowerState::D3Hot;
        if open.low_power {
            dev.zap_mappings();
            open.gate.set(Gate::Closed);
        }
        let _ = pdev.set_power_state(state);
    }
    if done.flr {
        dev.zap_mappings();
        open.gate.set(Gate::Resetting);
        // A reset leaves the function in D0.
        if pdev.try_reset_function().is_ok() {
            open.low_power = false;
        }
        open.sync_gate();
    }
    if let Some(bytes) = done.readrq {
        let _ = pdev.pcie_set_readrq(bytes);
    }
}

/// Reads or writes `buf` at `pos` of BAR or ROM region `index`, of `len` bytes, as C vfio-pci
/// does: memory BARs in naturally aligned accesses of up to 8 bytes, I/O port BARs and the ROM
/// of up to 4. The MSI-X table, and the ROM BAR past its image, read as all ones and ignore
/// writes. Memory regions need memory decoding on (`EIO` otherwise).
fn region_rw(
    open: &mut Open,
    pdev: &pci::Device<Bound>,
    index: u32,
    len: u64,
    pos: u64,
    buf: &mut [u8],
    write: bool,
) -> Result {
    if index == uapi::PCI_ROM_REGION_INDEX {
        if !open.memory_enabled() {
            return Err(EIO);
        }
        let rom = pdev.map_rom().ok_or(ENOMEM)?;
        // CAST: the ROM image is smaller than the ROM BAR, which fits in `u64`.
        let hole = Some((rom.size() as u64, len));
        return io_loop(
            pos,
            buf,
            write,
            hole,
            4,
            |off, width| rom.read(usize::try_from(off)?, width).map(u64::from),
            |_, _, _| Err(EINVAL),
        );
    }
    // CAST: `index` is a BAR index below 6.
    let bar = index as usize;
    let msix = open.msix.filter(|m| m.bar == bar).map(|m| (m.start, m.end));
    if pdev.resource_flags(index)?.is_io() {
        return io_loop(
            pos,
            buf,
            write,
            msix,
            4,
            |off, width| pdev.io_port_read(index, off, width).map(u64::from),
            // CAST: truncating to the access width, at most 4 bytes.
            |off, width, v| pdev.io_port_write(index, off, width, v as u32),
        );
    }
    if !open.memory_enabled() {
        return Err(EIO);
    }
    let mapped = open.bar(pdev, bar)?;
    let io = mapped.try_access().ok_or(ENXIO)?;
    let io = &*io;
    io_loop(
        pos,
        buf,
        write,
        msix,
        8,
        |off, width| {
            let off = usize::try_from(off)?;
            Ok(match width {
                8 => io.try_read64(off)?,
                4 => io.try_read32(off)?.into(),
                2 => io.try_read16(off)?.into(),
                _ => io.try_read8(off)?.into(),
            })
        },
        |off, width, v| {
            let off = usize::try_from(off)?;
            // CAST: truncating to the access width.
            match width {
                8 => io.try_write64(v, off),
                4 => io.try_write32(v as u32, off),
                2 => io.try_write16(v as u16, off),
                _ => io.try_write8(v as u8, off),
            }
        },
    )
}

/// Transfers `buf` at `pos` of a region in C vfio-pci's accesses: the widest naturally aligned
/// one (up to `max` bytes) that does not reach into `hole`, a range that reads as all ones and
/// ignores writes.
pub(crate) fn io_loop(
    pos: u64,
    buf: &mut [u8],
    write: bool,
    hole: Option<(u64, u64)>,
    max: usize,
    read: impl Fn(u64, usize) -> Result<u64>,
    write_fn: impl Fn(u64, usize, u64) -> Result,
) -> Result {
    let mut done = 0;
    while done < buf.len() {
        // CAST: `done` fits in `u64`.
        let off = pos + done as u64;
        let left = buf.len() - done;
        // CAST (below): distances within a buffer of at most `BOUNCE` bytes.
        let fillable = match hole {
            Some((start, _)) if off < start => left.min((start - off) as usize),
            Some((_, end)) if off < end => 0,
            _ => left,
        };
        let bytes;
        if fillable == 0 {
            let end = hole.map_or(off, |(_, end)| end);
            let n = left.min((end - off) as usize);
            bytes = &mut buf[done..done + n];
            if !write {
                bytes.fill(0xff);
            }
        } else {
            let width = [8, 4, 2, 1]
                .into_iter()
                .find(|w| *w <= max && fillable >= *w && off % (*w as u64) == 0)
                .unwrap_or(1);
            bytes = &mut buf[done..done + width];
            if write {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(bytes);
                write_fn(off, width, u64::from_le_bytes(b))?;
            } else {
                let v = read(off, width)?;
                bytes.copy_from_slice(&v.to_le_bytes()[..width]);
            }
        }
        done += bytes.len();
    }
    Ok(())
}
