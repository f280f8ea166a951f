// SPDX-License-Identifier: GPL-2.0

//! The operations of a VFIO PCI driver: [`VfioPciOps`], with the core's behaviour as
//! defaults, and [`VfioPciDevice`], which turns them into a [`vfio::Driver`].

use core::marker::PhantomData;

use kernel::{
    device,
    devres::Devres,
    pci,
    prelude::*,
    sync::aref::ARef,
    uaccess::{
        UserPtr,
        UserSliceReader,
        UserSliceWriter, //
    },
    vfio::{
        self,
        Uuid, //
    }, //
};

use crate::{
    devset::{
        Membership,
        SetId, //
    },
    sriov::VfCapture,
    vga::{
        self,
        VgaRegistration, //
    },
    CoreParams,
    VfioPciCoreDevice, //
};

/// The VFIO device of a driver whose device data is `D`, as its operations see it: registered,
/// with its PCI function bound for the duration of the call.
pub type Registered<D> = vfio::Registered<VfioPciDevice<D>>;

/// The VFIO operations of a PCI driver built on the core.
///
/// A driver's device data implements this trait and returns its [`VfioPciCoreDevice`] from
/// [`VfioPciOps::core`]. Every operation defaults to the core's behaviour; a variant driver
/// overrides the ones it changes and calls the core (through [`VfioPciOps::core`]) for what it
/// does not handle itself, as C variant drivers call `vfio_pci_core_ioctl()` and friends.
///
/// Each operation receives the VFIO device, whose data is `self` (through `Deref`), and whose
/// [`vfio::Registered::parent`] is the PCI function.
pub trait VfioPciOps: Sized + Send + Sync + 'static {
    /// The name of the operations, `vfio_device_ops.name`.
    const NAME: &'static CStr;

    /// Returns the core state of the device.
    fn core(&self) -> &VfioPciCoreDevice;

    /// The device is opened for the first time.
    fn open_device(dev: &Registered<Self>) -> Result {
        dev.core().open_device(dev.parent())
    }

    /// The last file of the device is closed.
    fn close_device(dev: &Registered<Self>) {
        dev.core().close_device(dev.parent())
    }

    /// An ioctl on the device file.
    fn ioctl(dev: &Registered<Self>, cmd: u32, arg: usize) -> Result<isize> {
        dev.core().ioctl(dev, cmd, arg)
    }

    /// `VFIO_DEVICE_GET_REGION_INFO`: fill in `info` and its capabilities.
    fn region_info(
        dev: &Registered<Self>,
        info: &mut vfio::RegionInfo,
        caps: &mut vfio::InfoCaps,
    ) -> Result {
        dev.core().region_info(dev.parent(), info, caps)
    }

    /// A read of the device file.
    fn read(dev: &Registered<Self>, buf: &mut UserSliceWriter, offset: u64) -> Result<usize> {
        dev.core().read(dev, buf, offset)
    }

    /// A write to the device file.
    fn write(dev: &Registered<Self>, buf: &mut UserSliceReader, offset: u64) -> Result<usize> {
        dev.core().write(dev, buf, offset)
    }

    /// Userspace is asked to release the device, `count` times so far.
    fn request(dev: &Registered<Self>, count: u32) {
        dev.core().request(dev.parent(), count)
    }

    /// An mmap of the device file.
    fn mmap(dev: &Registered<Self>, vma: &vfio::Mmap) -> Result {
        dev.core().mmap(dev, vma)
    }

    /// A fault on a mapping set up by [`VfioPciOps::mmap`].
    fn mmap_fault(dev: &Registered<Self>, fault: &vfio::MmapFault) -> vfio::VmFault {
        dev.core().mmap_fault(dev, fault)
    }

    /// Whether `buf`, the name given to `VFIO_GROUP_GET_DEVICE_FD`, selects the device.
    fn match_name(dev: &Registered<Self>, buf: &CStr) -> Result<bool> {
        dev.core().match_name(buf)
    }

    /// Checks the VF token that comes with an open through the device file.
    fn match_token(dev: &Registered<Self>, token: Option<&Uuid>) -> Result {
        dev.core().match_token(token)
    }

    /// A `VFIO_DEVICE_FEATURE` that the VFIO core does not handle itself.
    fn device_feature(dev: &Registered<Self>, flags: u32, arg: UserPtr, argsz: usize) -> Result {
        dev.core().device_feature(dev, flags, arg, argsz)
    }
}

impl VfioPciOps for VfioPciCoreDevice {
    const NAME: &'static CStr = c"vfio-pci";

    fn core(&self) -> &VfioPciCoreDevice {
        self
    }
}

/// What a VFIO PCI driver keeps as its PCI driver data while a function is bound, from
/// [`probe`]. The driver calls [`VfioPciRegistration::unbind`] from its
/// [`pci::Driver::unbind`]. Dropped after unbind: the VFIO device is unregistered (which waits
/// for userspace to close it).
pub struct VfioPciRegistration<D: VfioPciOps> {
    _registration: Devres<vfio::Registration<VfioPciDevice<D>>>,
    dev: ARef<vfio::Device<VfioPciDevice<D>>>,
    pm: pci::RuntimePm,
    /// For a PF: binds its VFs to the same driver, as they appear.
    _vf_capture: Option<Pin<KBox<pci::BusNotifier<VfCapture>>>>,
    /// For a VGA function: its registration with the VGA arbiter, dropped after the device is
    /// unregistered, as C does.
    _vga: Option<VgaRegistration>,
    /// The function in its device set; leaves it after the device is unregistered (fields drop
    /// in order, and device resources are released in reverse order), as C's devices leave
    /// theirs when released.
    _membership: Devres<Membership>,
}

impl<D: VfioPciOps> VfioPciRegistration<D> {
    /// Takes down what the PCI core requires gone before its remove ends: the function's VFs
    /// (their devices are unregistered, which waits for their users), and its runtime PM, back
    /// as it was before probe (idle D3 off). Call it from [`pci::Driver::unbind`].
    pub fn unbind(&self, pdev: &pci::Device<device::Core<'_>>) {
        if self.dev.core().sriov_configure(pdev, 0).is_err() {
            dev_warn!(pdev, "couldn't disable SR-IOV\n");
        }
        self.pm.release();
    }

    /// Relays an error the PCI core detected on the function to userspace, for
    /// [`pci::Driver::error_detected`]: see [`VfioPciCoreDevice::error_detected`].
    pub fn error_detected(&self) -> pci::ErsResult {
        self.dev.core().error_detected()
    }

    /// Enables or disables SR-IOV VFs on the function, for [`pci::Driver::sriov_configure`]:
    /// see [`VfioPciCoreDevice::sriov_configure`].
    pub fn sriov_configure(
        &self,
        pdev: &pci::Device<device::Core<'_>>,
        nr_virtfn: u16,
    ) -> Result<u16> {
        self.dev.core().sriov_configure(pdev, nr_virtfn)
    }
}

/// Probes `pdev` for a VFIO PCI driver whose device data is `D`, initialized by `data`, with
/// C vfio-pci's steps: its checks ([`VfioPciCoreDevice::probe_checks`]), the function put in
/// D0 and its runtime PM allowed, so that it goes to D3hot while no one has it open unless
/// `params.disable_idle_d3`, then the VFIO device allocated and registered with its IOMMU
/// group. A PF gets a bus notifier that gives the VFs it will have the driver of `D`
/// (`D::NAME`) through `driver_override`, as C vfio-pci does. The driver keeps the result as
/// its PCI driver data.
pub fn probe<D: VfioPciOps>(
    pdev: &pci::Device<device::Core<'_>>,
    params: CoreParams,
    data: impl PinInit<D, Error>,
) -> Result<VfioPciRegistration<D>> {
    VfioPciCoreDevice::probe_checks(pdev, params.disable_denylist)?;
    // As C vfio-pci, in the device set of the functions it is hot reset with.
    let set = SetId::of(pdev);
    let vdev = match set.key() {
        Some(key) => vfio::Device::<VfioPciDevice<D>>::new_in_set(pdev.as_ref(), key, data)?,
        None => vfio::Device::<VfioPciDevice<D>>::new(pdev.as_ref(), data)?,
    };
    // The PCI core leaves the power state of an unbound function unknown, and D0 is the only
    // way out of that; D3hot then comes through runtime PM.
    let _ = pdev.set_power_state(pci::PowerState::D0);
    let vf_capture = if vdev.core().is_pf() {
        Some(KBox::pin_init(
            pci::BusNotifier::new(VfCapture::new(pdev, D::NAME)),
            GFP_KERNEL,
        )?)
    } else {
        None
    };
    // As C: the VGA arbiter knows the function before userspace can reach it.
    let vga = vga::register(pdev, D::NAME, params.disable_vga)?;
    let pm = pdev.allow_runtime_pm(!params.disable_idle_d3);
    // In its set before userspace can open it.
    let membership = Membership::join(pdev, set, vdev.as_any(), vdev.core().open_state())?;
    Ok(VfioPciRegistration {
        _registration: vfio::Registration::new_group(pdev.as_ref(), vdev.clone())?,
        dev: vdev,
        pm,
        _vf_capture: vf_capture,
        _vga: vga,
        _membership: membership,
    })
}

/// The [`vfio::Driver`] of a VFIO PCI driver whose device data is `D`: every operation is
/// `D`'s [`VfioPciOps`].
pub struct VfioPciDevice<D>(PhantomData<D>);

#[vtable]
impl<D: VfioPciOps> vfio::Driver for VfioPciDevice<D> {
    type Data = D;
    const NAME: &'static CStr = D::NAME;

    fn open_device(dev: &Registered<D>) -> Result {
        D::open_device(dev)
    }

    fn close_device(dev: &Registered<D>) {
        D::close_device(dev)
    }

    fn ioctl(dev: &Registered<D>, cmd: u32, arg: usize) -> Result<isize> {
        D::ioctl(dev, cmd, arg)
    }

    fn region_info(
        dev: &Registered<D>,
        info: &mut vfio::RegionInfo,
        caps: &mut vfio::InfoCaps,
    ) -> Result {
        D::region_info(dev, info, caps)
    }

    fn read(dev: &Registered<D>, buf: &mut UserSliceWriter, offset: u64) -> Result<usize> {
        D::read(dev, buf, offset)
    }

    fn write(dev: &Registered<D>, buf: &mut UserSliceReader, offset: u64) -> Result<usize> {
        D::write(dev, buf, offset)
    }

    fn mmap(dev: &Registered<D>, vma: &vfio::Mmap) -> Result {
        D::mmap(dev, vma)
    }

    fn request(dev: &Registered<D>, count: u32) {
        D::request(dev, count)
    }

    fn mmap_fault(dev: &Registered<D>, fault: &vfio::MmapFault) -> vfio::VmFault {
        D::mmap_fault(dev, fault)
    }

    fn match_name(dev: &Registered<D>, buf: &CStr) -> Result<bool> {
        D::match_name(dev, buf)
    }

    fn match_token(dev: &Registered<D>, token: Option<&Uuid>) -> Result {
        D::match_token(dev, token)
    }

    fn device_feature(dev: &Registered<D>, flags: u32, arg: UserPtr, argsz: usize) -> Result {
        D::device_feature(dev, flags, arg, argsz)
    }
}
