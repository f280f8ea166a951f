// SPDX-License-Identifier: GPL-2.0

//! Generic VFIO PCI driver, in Rust.
//!
//! Hands a PCI device to userspace through VFIO. Its PCI driver is named `vfio-pci`, like the C
//! driver's, so the usual `echo vfio-pci > driver_override` binds it; its module is
//! `vfio_pci_rs`, so both modules can be built and swapped in one boot (they cannot be loaded at
//! the same time: the PCI bus allows one driver of a name).
//!
//! Work in progress: this first slice answers `VFIO_DEVICE_GET_INFO` and
//! `VFIO_DEVICE_GET_REGION_INFO` as C vfio-pci does. Region access, mmap, config-space
//! emulation, interrupts and reset follow, in the `vfio_pci_core` library.

use kernel::{
    device::Core,
    driver::Registration,
    page::PAGE_SIZE,
    pci,
    prelude::*,
    sync::aref::ARef,
    vfio,
    vfio::uapi,
    InPlaceModule, //
};

/// VFIO region offsets: the region index in the bits above `VFIO_PCI_OFFSET_SHIFT`.
const VFIO_PCI_OFFSET_SHIFT: u32 = 40;

/// The PCI driver: binds through `driver_override` only.
struct VfioPciDriver;

/// The VFIO side of a bound device.
struct VfioPciDevice;

/// What the VFIO device knows of its PCI function.
struct DeviceState {
    pdev: ARef<pci::Device>,
}

kernel::pci_device_table!(
    PCI_TABLE,
    <VfioPciDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::any().vfio_driver_override(), ())]
);

impl pci::Driver for VfioPciDriver {
    type IdInfo = ();
    type Data<'bound> = vfio::Registration<VfioPciDevice>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;
    const DRIVER_MANAGED_DMA: bool = true;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let state = DeviceState { pdev: pdev.into() };
        let vdev = vfio::Device::<VfioPciDevice>::new(pdev.as_ref(), Ok(state))?;
        vfio::Registration::new_group(vdev)
    }
}

impl DeviceState {
    /// Fills in region info for BAR `bar` with C vfio-pci's rules.
    fn bar_info(&self, bar: u32, info: &mut vfio::RegionInfo) -> Result {
        let len = self.pdev.resource_len(bar)?;
        info.set_size(len);
        if len == 0 {
            info.set_flags(0);
            return Ok(());
        }
        let mut flags = uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE;
        if self.bar_mmap_supported(bar)? {
            flags |= uapi::REGION_INFO_FLAG_MMAP;
        }
        info.set_flags(flags);
        Ok(())
    }

    /// Whether userspace may mmap BAR `bar`: a memory BAR of at least a page, or one that starts
    /// on a page boundary (the rest of the page is reserved so nothing else lands there).
    fn bar_mmap_supported(&self, bar: u32) -> Result<bool> {
        if !self.pdev.resource_flags(bar)?.is_mem() {
            return Ok(false);
        }
        // CAST: `PAGE_SIZE` fits in `u64`.
        let page = PAGE_SIZE as u64;
        let len = self.pdev.resource_len(bar)?;
        let start = self.pdev.resource_start(bar)?;
        Ok(len >= page || start % page == 0)
    }
}

#[vtable]
impl vfio::Driver for VfioPciDevice {
    type Data = DeviceState;
    const NAME: &'static CStr = c"vfio-pci";

    fn ioctl(dev: &vfio::Device<Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::DEVICE_GET_INFO => vfio::DeviceInfo {
                flags: uapi::DEVICE_FLAGS_PCI,
                num_regions: uapi::PCI_NUM_REGIONS,
                num_irqs: uapi::PCI_NUM_IRQS,
            }
            .write_to_user(arg),
            _ => {
                let _ = dev;
                Err(ENOTTY)
            }
        }
    }

    fn region_info(
        dev: &vfio::Device<Self>,
        info: &mut vfio::RegionInfo,
        _caps: &mut vfio::InfoCaps,
    ) -> Result {
        let index = info.index();
        match index {
            uapi::PCI_BAR0_REGION_INDEX..=uapi::PCI_BAR5_REGION_INDEX => {
                dev.bar_info(index, info)?
            }
            uapi::PCI_ROM_REGION_INDEX => {
                let len = dev.pdev.rom_len();
                info.set_size(len);
                info.set_flags(if len == 0 {
                    0
                } else {
                    uapi::REGION_INFO_FLAG_READ
                });
            }
            uapi::PCI_CONFIG_REGION_INDEX => {
                // CAST: the configuration space is 256 or 4096 bytes.
                info.set_size(dev.pdev.config_size() as u64);
                info.set_flags(uapi::REGION_INFO_FLAG_READ | uapi::REGION_INFO_FLAG_WRITE);
            }
            // No VGA support yet, and no device-specific regions: C answers EINVAL for both.
            _ => return Err(EINVAL),
        }
        info.set_offset(u64::from(index) << VFIO_PCI_OFFSET_SHIFT);
        Ok(())
    }
}

#[pin_data]
struct VfioPciModule {
    #[pin]
    _driver: Registration<pci::Adapter<VfioPciDriver>>,
}

impl InPlaceModule for VfioPciModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // The PCI driver's name is C vfio-pci's, so driver_override and existing tooling
            // (driverctl, libvirt) work unchanged.
            _driver <- Registration::new(c"vfio-pci", module),
        })
    }
}

module! {
    type: VfioPciModule,
    name: "vfio_pci_rs",
    authors: ["vfio-rs developers"],
    description: "Generic VFIO PCI driver (Rust)",
    license: "GPL v2",
}
