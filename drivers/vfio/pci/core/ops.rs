// SPDX-License-Identifier: GPL-2.0

//! The operations of a VFIO PCI driver: [`VfioPciOps`], with the core's behaviour as
//! defaults, and [`VfioPciDevice`], which turns them into a [`vfio::Driver`].

use core::marker::PhantomData;

use kernel::{
    device,
    devres::Devres,
    pci,
    prelude::*,
    uaccess::{
        UserSliceReader,
        UserSliceWriter, //
    },
    vfio, //
};

use crate::{
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
    pm: pci::RuntimePm,
}

impl<D: VfioPciOps> VfioPciRegistration<D> {
    /// Gives the function's runtime PM back as it was before probe (idle D3 off), as the PCI
    /// core requires before its remove ends: call it from [`pci::Driver::unbind`].
    pub fn unbind(&self) {
        self.pm.release();
    }
}

/// Probes `pdev` for a VFIO PCI driver whose device data is `D`, initialized by `data`, with
/// C vfio-pci's steps: its checks ([`VfioPciCoreDevice::probe_checks`]), the function put in
/// D0 and its runtime PM allowed, so that it goes to D3hot while no one has it open unless
/// `params.disable_idle_d3`, then the VFIO device allocated and registered with its IOMMU
/// group. The driver keeps the result as its PCI driver data.
pub fn probe<D: VfioPciOps>(
    pdev: &pci::Device<device::Core<'_>>,
    params: CoreParams,
    data: impl PinInit<D, Error>,
) -> Result<VfioPciRegistration<D>> {
    VfioPciCoreDevice::probe_checks(pdev, params.disable_denylist)?;
    let vdev = vfio::Device::<VfioPciDevice<D>>::new(pdev.as_ref(), data)?;
    // The PCI core leaves the power state of an unbound function unknown, and D0 is the only
    // way out of that; D3hot then comes through runtime PM.
    let _ = pdev.set_power_state(pci::PowerState::D0);
    let pm = pdev.allow_runtime_pm(!params.disable_idle_d3);
    Ok(VfioPciRegistration {
        _registration: vfio::Registration::new_group(pdev.as_ref(), vdev)?,
        pm,
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
}
