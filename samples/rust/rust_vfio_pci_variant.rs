// SPDX-License-Identifier: GPL-2.0

//! Rust VFIO PCI variant driver sample.
//!
//! A variant driver is the generic VFIO PCI driver plus what one device needs. This one is
//! for QEMU's PCI test device (`pci-testdev`, 1b36:0005): it uses the core's behaviour for
//! every operation but `open_device`, which it overrides to add two device-specific regions
//! after calling the core, small examples of what real variants expose that way:
//!
//! - the function's identity (vendor, device and revision ID), read-only, read through the
//!   sample's own [`DevRegion`] (as firmware tables are);
//! - the page of test headers of BAR 0, as a [`BarWindow`]: a vendor's register window within
//!   a BAR, which the core reads, writes and lets userspace mmap as the BAR itself. The sample
//!   also overrides `region_info` to describe the mappable part of the window with a
//!   sparse-mmap capability (all of it, here), as C variants that map only parts of a region
//!   do.
//!
//! Everything a variant needs is in the core's [`VfioPciOps`] trait and the VFIO and PCI
//! abstractions: there is no `unsafe` here.

use core::sync::atomic::{
    AtomicU32,
    Ordering, //
};
use kernel::{
    device::{
        Bound,
        Core, //
    },
    pci,
    prelude::*,
    vfio::{
        self,
        uapi,
        SparseMmapArea, //
    }, //
};
use vfio_pci_core_rs::{
    BarWindow,
    CoreParams,
    DevRegion,
    DevRegionInfo,
    Registered,
    VfioPciCoreDevice,
    VfioPciOps,
    VfioPciRegistration, //
};

/// The subtype of the identity region, within the Red Hat vendor type.
const IDENT_SUBTYPE: u32 = 1;
/// The subtype of the test header window, within the Red Hat vendor type.
const HEADERS_SUBTYPE: u32 = 2;
/// The test header window: the first page of BAR 0.
const HEADERS: BarWindow = BarWindow { bar: 0, offset: 0 };
/// The size of the test header window.
const HEADERS_SIZE: u64 = 4096;

/// The PCI driver: binds to pci-testdev through `driver_override` only.
struct SampleDriver;

/// The device data: the core, and the region index of the test header window.
#[pin_data]
struct SampleDevice {
    #[pin]
    core: VfioPciCoreDevice,
    /// The region index of the test header window while the device is open, 0 otherwise.
    headers: AtomicU32,
}

/// The identity region: vendor ID, device ID (little-endian 16-bit each), revision ID, padding.
struct IdentRegion;

impl DevRegion for IdentRegion {
    fn read(&self, pdev: &pci::Device<Bound>, pos: u64, buf: &mut [u8]) -> Result {
        let [v0, v1] = pdev.vendor_id().as_raw().to_le_bytes();
        let [d0, d1] = pdev.device_id().to_le_bytes();
        let ident = [v0, v1, d0, d1, pdev.revision_id(), 0, 0, 0];
        let start = usize::try_from(pos)?;
        let bytes = ident.get(start..start + buf.len()).ok_or(EINVAL)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl VfioPciOps for SampleDevice {
    const NAME: &'static CStr = c"rust-vfio-pci-sample";

    fn core(&self) -> &VfioPciCoreDevice {
        &self.core
    }

    fn open_device(dev: &Registered<Self>) -> Result {
        let core = dev.core();
        core.open_device(dev.parent())?;
        let vendor_type =
            uapi::REGION_TYPE_PCI_VENDOR_TYPE | u32::from(pci::Vendor::REDHAT.as_raw());
        let ident = DevRegionInfo {
            region_type: vendor_type,
            subtype: IDENT_SUBTYPE,
            size: 8,
            writable: false,
        };
        let headers = DevRegionInfo {
            region_type: vendor_type,
            subtype: HEADERS_SUBTYPE,
            size: HEADERS_SIZE,
            writable: true,
        };
        let registered = KBox::new(IdentRegion, GFP_KERNEL)
            .map_err(Error::from)
            .and_then(|ops| core.register_dev_region(ident, ops));
        if let Err(e) = registered {
            core.close_device(dev.parent());
            return Err(e);
        }
        // The window needs BAR 0 to be mappable, which it may not be (pages larger than the
        // BAR whose rest is in use, or BARs that must not be mapped): the device works
        // without it.
        match core.register_bar_window(headers, HEADERS) {
            Ok(index) => dev.headers.store(index, Ordering::Relaxed),
            Err(e) => dev_info!(dev.parent(), "no test header window: {:?}\n", e),
        }
        dev_info!(
            dev.parent(),
            "opened with the identity and test header regions\n"
        );
        Ok(())
    }

    fn close_device(dev: &Registered<Self>) {
        dev.headers.store(0, Ordering::Relaxed);
        dev.core().close_device(dev.parent());
    }

    fn region_info(
        dev: &Registered<Self>,
        info: &mut vfio::RegionInfo,
        caps: &mut vfio::InfoCaps,
    ) -> Result {
        dev.core().region_info(dev.parent(), info, caps)?;
        // 0 (BAR 0's index, never a device-specific region's) while there is no window.
        let headers = dev.headers.load(Ordering::Relaxed);
        if headers != 0 && info.index() == headers {
            caps.add_sparse_mmap(&[SparseMmapArea {
                offset: 0,
                size: HEADERS_SIZE,
            }])?;
        }
        Ok(())
    }
}

kernel::pci_device_table!(
    PCI_TABLE,
    <SampleDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT, 0x0005).vfio_driver_override(),
        ()
    )]
);

#[vtable]
impl pci::Driver for SampleDriver {
    type IdInfo = ();
    type Data<'bound> = VfioPciRegistration<SampleDevice>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;
    const DRIVER_MANAGED_DMA: bool = true;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let params = CoreParams::default();
        let data = try_pin_init!(SampleDevice {
            core <- VfioPciCoreDevice::new(pdev, params),
            headers: AtomicU32::new(0),
        });
        vfio_pci_core_rs::probe(pdev, params, data)
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        this.unbind(pdev);
    }
}

kernel::module_pci_driver! {
    type: SampleDriver,
    name: "rust_vfio_pci_variant",
    authors: ["vfio-rs developers"],
    description: "Rust VFIO PCI variant driver sample",
    license: "GPL v2",
}
