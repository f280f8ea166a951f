// SPDX-License-Identifier: GPL-2.0

//! Generic VFIO PCI driver, in Rust.
//!
//! Hands a PCI device to userspace through VFIO, with the behaviour of the Rust VFIO PCI core
//! (`vfio_pci_core_rs`). Its PCI driver is named `vfio-pci`, like the C driver's, so the usual
//! `echo vfio-pci > driver_override` binds it; its module is `vfio_pci_rs`, so both modules
//! can be built and swapped in one boot (they cannot be loaded at the same time: the PCI bus
//! allows one driver of a name). `ids=` binds it to functions by ID too, as C's does.

use kernel::{
    device::Core,
    driver::Registration,
    pci,
    prelude::*,
    str::BStr,
    InPlaceModule, //
};
use vfio_pci_core_rs::{
    CoreParams,
    VfioPciCoreDevice,
    VfioPciRegistration, //
};

/// The PCI driver: binds through `driver_override` only.
struct VfioPciDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <VfioPciDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::any().vfio_driver_override(), ())]
);

#[vtable]
impl pci::Driver for VfioPciDriver {
    type IdInfo = ();
    type Data<'bound> = VfioPciRegistration<VfioPciCoreDevice>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;
    const DRIVER_MANAGED_DMA: bool = true;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let params = CoreParams {
            disable_denylist: module_parameters::disable_denylist.value(),
            disable_idle_d3: module_parameters::disable_idle_d3.value(),
            nointxmask: module_parameters::nointxmask.value(),
            disable_vga: module_parameters::disable_vga.value(),
        };
        vfio_pci_core_rs::probe(pdev, params, VfioPciCoreDevice::new(pdev, params))
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        this.unbind(pdev);
    }

    fn error_detected<'bound>(
        _pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        _state: pci::ChannelState,
    ) -> pci::ErsResult {
        // As C vfio-pci: the user of the device hears of it through its error eventfd.
        this.error_detected()
    }

    fn sriov_configure<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        nr_virtfn: u16,
    ) -> Result<u16> {
        // As C vfio-pci: VFs only if the administrator allowed them.
        if !module_parameters::enable_sriov.value() {
            return Err(ENOENT);
        }
        this.sriov_configure(pdev, nr_virtfn)
    }
}

#[pin_data]
struct VfioPciModule {
    #[pin]
    _driver: Registration<pci::Adapter<VfioPciDriver>>,
}

impl VfioPciModule {
    /// Adds the IDs of the `ids=` parameter to the driver's dynamic IDs, as C vfio-pci does:
    /// comma-separated, each `vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]` in
    /// hexadecimal; an ID that does not parse, or that cannot be added, is skipped with a
    /// warning.
    fn add_ids(driver: &Registration<pci::Adapter<VfioPciDriver>>) {
        let ids = module_parameters::ids.value();
        for s in ids
            .as_bytes()
            .split(|&c| c == b',')
            .filter(|s| !s.is_empty())
        {
            let Some(id) = pci::DynId::parse(s) else {
                pr_warn!("invalid id string \"{}\"\n", BStr::from_bytes(s));
                continue;
            };
            match driver.add_dynid(&id) {
                Ok(()) => pr_info!("add {}\n", id),
                Err(e) => pr_warn!("failed to add dynamic id {} ({})\n", id, e.to_errno()),
            }
        }
    }
}

impl InPlaceModule for VfioPciModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // The PCI driver's name is C vfio-pci's, so driver_override and existing tooling
            // (driverctl, libvirt) work unchanged.
            _driver <- Registration::new(c"vfio-pci", module),
        })
        .pin_chain(|this| {
            Self::add_ids(&this._driver);
            Ok(())
        })
    }
}

module! {
    type: VfioPciModule,
    name: "vfio_pci_rs",
    authors: ["vfio-rs developers"],
    description: "Generic VFIO PCI driver (Rust)",
    license: "GPL v2",
    params: {
        ids: str {
            default: c"",
            description: "Initial PCI IDs to add to the vfio driver, format is \
                          \"vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]\" and \
                          multiple comma separated entries can be specified",
        },
        disable_denylist: bool {
            default: false,
            description: "Allow binding devices with errata that untrusted users may exploit",
        },
        enable_sriov: bool {
            default: false,
            description: "Enable support for SR-IOV configuration. Enabling SR-IOV on a PF \
                          typically requires support of the userspace PF driver, enabling VFs \
                          without such support may result in non-functional VFs or PF.",
        },
        disable_idle_d3: bool {
            default: false,
            description: "Disable using the PCI D3 low power state for idle, unused devices",
        },
        disable_vga: bool {
            default: false,
            description: "Disable VGA resource access through vfio-pci",
        },
        nointxmask: bool {
            default: false,
            description: "Disable support for PCI 2.3 style INTx masking: INTx lines are then \
                          exclusive, masked by disabling them",
        },
    },
}
