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

use crate::VfioPciCoreDevice;

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

/// Probes `pdev` for a VFIO PCI driver whose device data is `D`, initialized by `data`: the
/// checks C vfio-pci makes ([`VfioPciCoreDevice::probe_checks`]), then the VFIO device is
/// allocated and registered with its IOMMU group. The driver keeps the registration as its PCI
/// driver data; the device is unregistered when it is dropped, at unbind.
pub fn probe<D: VfioPciOps>(
    pdev: &pci::Device<device::Core<'_>>,
    disable_denylist: bool,
    data: impl PinInit<D, Error>,
) -> Result<Devres<vfio::Registration<VfioPciDevice<D>>>> {
    VfioPciCoreDevice::probe_checks(pdev, disable_denylist)?;
    let vdev = vfio::Device::<VfioPciDevice<D>>::new(pdev.as_ref(), data)?;
    vfio::Registration::new_group(pdev.as_ref(), vdev)
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
