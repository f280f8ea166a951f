// SPDX-License-Identifier: GPL-2.0

//! The Rust VFIO PCI core: what every VFIO PCI driver shares.
//!
//! A library module: the generic driver (`vfio_pci_rs`) and variant drivers use this crate,
//! as C VFIO PCI drivers use `vfio-pci-core`. Its module is `vfio_pci_core_rs`, so it can be
//! loaded beside the C stack.
//!
//! [`VfioPciCoreDevice`] holds a function's state; [`VfioPciOps`] are the VFIO operations, with
//! the core's behaviour as defaults, and [`VfioPciDevice`] turns them into a
//! [`kernel::vfio::Driver`]. Implemented: device, region and IRQ info, open and close (enable,
//! reset, state save and restore), config-space emulation, BAR and ROM access through the
//! region, BAR mmap, `VFIO_DEVICE_RESET`, device-specific regions, INTx, MSI and MSI-X, the
//! ERR and REQ eventfds and the INTx unmask eventfd, idle D3, SR-IOV with the VF token, PCI
//! hot reset and ioeventfds.

use kernel::prelude::*;

mod config;
mod device;
mod devset;
mod intrs;
mod ioeventfd;
mod irq_bypass;
mod ops;
mod region;
mod sriov;
mod vga;

pub use device::{
    CoreParams,
    VfioPciCoreDevice, //
};
pub use region::{
    BarWindow,
    DevRegion,
    DevRegionInfo, //
};

pub use ops::{
    probe,
    Registered,
    VfioPciDevice,
    VfioPciOps,
    VfioPciRegistration, //
};

/// VFIO region offsets: the region index in the bits above `VFIO_PCI_OFFSET_SHIFT`.
const VFIO_PCI_OFFSET_SHIFT: u32 = 40;

/// Returns the offset of region `index` within the device file.
pub const fn region_offset(index: u32) -> u64 {
    // CAST: widening `u32` to `u64`.
    (index as u64) << VFIO_PCI_OFFSET_SHIFT
}

/// Splits an offset within the device file into the region index and the offset within the
/// region.
pub const fn split_offset(off: u64) -> (u32, u64) {
    // CAST: `off >> 40` has at most 24 significant bits.
    (
        (off >> VFIO_PCI_OFFSET_SHIFT) as u32,
        off & ((1 << VFIO_PCI_OFFSET_SHIFT) - 1),
    )
}

#[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
#[kernel::macros::kunit_tests(vfio_pci_core_rs_offsets)]
mod tests {
    use super::{
        region_offset,
        split_offset, //
    };
    use crate::region::{
        BarMapping,
        BarWindow, //
    };

    #[test]
    fn bars_map_by_c_rules() {
        use BarMapping::{
            None as No,
            SubPage,
            Whole, //
        };
        const PAGE: u64 = 4096;
        // (memory, start, length, page size, mapping)
        let cases = [
            // Memory BARs of a page or more map whole, wherever they start.
            (true, 0xfe00_0000, PAGE, PAGE, Whole),
            (true, 0x1_0000_0000, 1 << 30, PAGE, Whole),
            // Smaller ones only on a page boundary, by their page.
            (true, 0xfe00_1000, 0x100, PAGE, SubPage),
            (true, 0xfe00_1000, PAGE - 16, PAGE, SubPage),
            (true, 0xfe00_1100, 0x100, PAGE, No),
            (true, 0xfe00_1ff0, 0x10, PAGE, No),
            // Never I/O port BARs, nor empty ones.
            (false, 0x1000, PAGE, PAGE, No),
            (false, 0xc000, 0x20, PAGE, No),
            (true, 0, 0, PAGE, No),
            // With larger pages, a BAR of 4 KiB is a sub-page one.
            (true, 0x10000, 0x1000, 0x10000, SubPage),
            (true, 0x11000, 0x1000, 0x10000, No),
        ];
        for (is_mem, start, len, page, mapping) in cases {
            assert_eq!(BarMapping::of(is_mem, start, len, page), mapping);
        }
    }

    #[test]
    fn bar_windows_fit_from_a_page_boundary() {
        const PAGE: u64 = 4096;
        let at = |offset| BarWindow { bar: 2, offset };
        // (window offset, region size, BAR length, fits)
        let cases = [
            (0, PAGE, PAGE, true),
            (0, 0x100, PAGE, true),
            (PAGE, PAGE, 4 * PAGE, true),
            (3 * PAGE, PAGE, 4 * PAGE, true),
            (0, 0x100, 0x100, true),
            // Past the end of the BAR, by a byte or a page.
            (3 * PAGE, PAGE + 1, 4 * PAGE, false),
            (4 * PAGE, PAGE, 4 * PAGE, false),
            (0, 0x101, 0x100, false),
            // Not on a page boundary; empty; wrapping around.
            (0x800, 0x100, PAGE, false),
            (0, 0, PAGE, false),
            (!(PAGE - 1), PAGE, u64::MAX, false),
        ];
        for (offset, size, bar_len, fits) in cases {
            assert_eq!(at(offset).check(size, bar_len, PAGE).is_ok(), fits);
        }
    }

    #[test]
    fn region_offsets_round_trip() {
        for index in [0, 5, 7, 8, 9, 200] {
            assert_eq!(split_offset(region_offset(index)), (index, 0));
            assert_eq!(split_offset(region_offset(index) + 0x1234), (index, 0x1234));
        }
    }

    #[test]
    fn region_offsets_match_the_uapi_encoding() {
        assert_eq!(region_offset(0), 0);
        assert_eq!(region_offset(7), 0x700_0000_0000);
        // The last byte of region 0 and the first of region 1.
        assert_eq!(split_offset((1 << 40) - 1), (0, (1 << 40) - 1));
        assert_eq!(split_offset(1 << 40), (1, 0));
        assert_eq!(split_offset(u64::MAX), ((1 << 24) - 1, (1 << 40) - 1));
    }
}

/// The core library module. Public as the owner module of the operations the core defines
/// ([`VfioPciDevice`]'s `#[vtable]`).
pub struct VfioPciCoreModule;

impl kernel::Module for VfioPciCoreModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Called once, at module init, before any driver can use the core.
        unsafe {
            sriov::init();
            devset::init();
        }
        Ok(Self)
    }
}

module! {
    type: VfioPciCoreModule,
    name: "vfio_pci_core_rs",
    authors: ["vfio-rs developers"],
    description: "Rust VFIO PCI core library",
    license: "GPL v2",
}
