// SPDX-License-Identifier: GPL-2.0

//! Config-space emulation: what userspace sees of a function's configuration space.
//!
//! Every byte of a capability structure has two masks: the *virtual* bits are read from and
//! written to the device's virtual copy of its config space, the other bits go to the hardware;
//! the *writable* bits are those userspace may change at all (other bits of a write are
//! dropped, as on hardware). The masks are `const` tables built from declarative field lists
//! and checked at compile time.
//!
//! The BARs are fully virtual: userspace can size them as on hardware, but never moves the
//! real ones.

use kernel::bindings;

/// One field of a permission table: `width` bytes at `offset` (within the capability), with
/// the virtual bits `virt` and the writable bits `write`.
pub(crate) struct Field {
    offset: usize,
    width: usize,
    virt: u32,
    write: u32,
}

/// Every bit of a field.
pub(crate) const ALL: u32 = u32::MAX;
/// No bit of a field.
pub(crate) const NONE: u32 = 0;

impl Field {
    /// A byte field.
    pub(crate) const fn byte(offset: u32, virt: u32, write: u32) -> Self {
        Self::new(offset, 1, virt, write)
    }

    /// A 16-bit field.
    pub(crate) const fn word(offset: u32, virt: u32, write: u32) -> Self {
        Self::new(offset, 2, virt, write)
    }

    /// A 32-bit field.
    pub(crate) const fn dword(offset: u32, virt: u32, write: u32) -> Self {
        Self::new(offset, 4, virt, write)
    }

    const fn new(offset: u32, width: usize, virt: u32, write: u32) -> Self {
        // CAST: config-space offsets are below 4096.
        Self {
            offset: offset as usize,
            width,
            virt,
            write,
        }
    }
}

/// The per-byte permissions of a capability structure of `N` bytes.
pub(crate) struct PermTable<const N: usize> {
    virt: [u8; N],
    write: [u8; N],
}

impl<const N: usize> PermTable<N> {
    /// Builds a table from its fields; bytes no field covers are read-only and not virtual.
    ///
    /// Evaluated at compile time for the `const` tables: a field outside the structure or two
    /// fields covering the same byte fail the build.
    pub(crate) const fn new(fields: &[Field]) -> Self {
        let mut virt = [0u8; N];
        let mut write = [0u8; N];
        let mut covered = [false; N];
        let mut i = 0;
        while i < fields.len() {
            let f = &fields[i];
            assert!(
                f.offset + f.width <= N,
                "permission field outside the structure"
            );
            let mut b = 0;
            while b < f.width {
                assert!(!covered[f.offset + b], "overlapping permission fields");
                covered[f.offset + b] = true;
                // CAST: selecting byte `b` of the little-endian field masks.
                virt[f.offset + b] = (f.virt >> (8 * b)) as u8;
                write[f.offset + b] = (f.write >> (8 * b)) as u8;
                b += 1;
            }
            i += 1;
        }
        Self { virt, write }
    }

    /// Returns the `(virtual, writable)` masks of the `width` bytes at `offset`, as a
    /// little-endian value; `None` if the access does not lie within the structure.
    pub(crate) fn masks(&self, offset: usize, width: usize) -> Option<(u32, u32)> {
        if width == 0 || width > 4 || offset.checked_add(width)? > N {
            return None;
        }
        let mut virt = 0u32;
        let mut write = 0u32;
        for b in 0..width {
            virt |= u32::from(self.virt[offset + b]) << (8 * b);
            write |= u32::from(self.write[offset + b]) << (8 * b);
        }
        Some((virt, write))
    }
}

/// The result of a read: virtual bits from the virtual config space, the rest from hardware.
pub(crate) fn merge_read(hw: u32, virtual_value: u32, virt: u32) -> u32 {
    (hw & !virt) | (virtual_value & virt)
}

/// What a write of `val` does, given the current virtual and hardware values and the masks:
/// returns the new virtual value, and the value to write to hardware if any writable bit is
/// not virtual. Bits that are not writable keep their current value.
pub(crate) fn apply_write(
    val: u32,
    virtual_value: u32,
    hw: u32,
    virt: u32,
    write: u32,
) -> (u32, Option<u32>) {
    let new_virtual = (virtual_value & !(virt & write)) | (val & virt & write);
    let hw_bits = write & !virt;
    let new_hw = (hw_bits != 0).then_some((hw & !hw_bits) | (val & hw_bits));
    (new_virtual, new_hw)
}

// CAST: the `PCI_*` register offsets and bits below are small `u32` constants.
const STD_HEADER_SIZEOF: usize = bindings::PCI_STD_HEADER_SIZEOF as usize;

/// The standard header (type 0): identity and BARs virtual, command register writable with
/// INTx disable virtual, the capability list virtual so capabilities can be hidden.
pub(crate) const BASIC_PERMS: PermTable<STD_HEADER_SIZEOF> = PermTable::new(&[
    // Virtual for SR-IOV VFs, which read all ones there.
    Field::word(bindings::PCI_VENDOR_ID, ALL, NONE),
    Field::word(bindings::PCI_DEVICE_ID, ALL, NONE),
    // INTx disable is emulated: the core masks INTx itself.
    Field::word(
        bindings::PCI_COMMAND,
        bindings::PCI_COMMAND_INTX_DISABLE,
        ALL,
    ),
    Field::word(bindings::PCI_STATUS, bindings::PCI_STATUS_CAP_LIST, NONE),
    Field::byte(bindings::PCI_CACHE_LINE_SIZE, NONE, ALL),
    Field::byte(bindings::PCI_LATENCY_TIMER, NONE, ALL),
    Field::byte(bindings::PCI_BIST, NONE, ALL),
    Field::dword(bindings::PCI_BASE_ADDRESS_0, ALL, ALL),
    Field::dword(bindings::PCI_BASE_ADDRESS_1, ALL, ALL),
    Field::dword(bindings::PCI_BASE_ADDRESS_2, ALL, ALL),
    Field::dword(bindings::PCI_BASE_ADDRESS_3, ALL, ALL),
    Field::dword(bindings::PCI_BASE_ADDRESS_4, ALL, ALL),
    Field::dword(bindings::PCI_BASE_ADDRESS_5, ALL, ALL),
    Field::dword(bindings::PCI_ROM_ADDRESS, ALL, ALL),
    Field::byte(bindings::PCI_CAPABILITY_LIST, ALL, NONE),
    // Used by software only.
    Field::byte(bindings::PCI_INTERRUPT_LINE, ALL, ALL),
    // Virtual so that INTx can be hidden.
    Field::byte(bindings::PCI_INTERRUPT_PIN, ALL, NONE),
]);

/// What the host assigned to one BAR, as BAR sizing needs it.
#[derive(Clone, Copy, Default)]
pub(crate) struct BarResource {
    /// Start address; 0 if the host left the BAR unassigned.
    pub(crate) start: u64,
    /// Size in bytes (a power of two when assigned).
    pub(crate) len: u64,
    /// An I/O port BAR.
    pub(crate) io: bool,
    /// A prefetchable memory BAR.
    pub(crate) prefetch: bool,
    /// A 64-bit memory BAR: it uses the next BAR slot for its upper half.
    pub(crate) mem64: bool,
}

impl BarResource {
    /// The type bits of the BAR's low dword.
    fn flags(&self) -> u32 {
        if self.io {
            return bindings::PCI_BASE_ADDRESS_SPACE_IO;
        }
        let mut flags = bindings::PCI_BASE_ADDRESS_SPACE_MEMORY;
        if self.prefetch {
            flags |= bindings::PCI_BASE_ADDRESS_MEM_PREFETCH;
        }
        if self.mem64 {
            flags |= bindings::PCI_BASE_ADDRESS_MEM_TYPE_64;
        }
        flags
    }
}

/// Number of standard BARs.
pub(crate) const NUM_BARS: usize = 6;

/// Emulates BAR sizing on the virtual BARs `vbars`: keeps the address bits a BAR of its size
/// decodes, sets its type bits, and reads an unassigned BAR as 0 (unimplemented), so writing
/// all ones and reading back gives userspace the size, as on hardware.
pub(crate) fn bar_fixup(vbars: &mut [u32; NUM_BARS], bars: &[BarResource; NUM_BARS]) {
    let mut i = 0;
    while i < NUM_BARS {
        let bar = &bars[i];
        if bar.start == 0 {
            vbars[i] = 0;
            i += 1;
            continue;
        }
        let mask = !(bar.len.wrapping_sub(1));
        // CAST: selecting the low and high dwords of the 64-bit mask.
        vbars[i] = (vbars[i] & mask as u32) | bar.flags();
        if bar.mem64 && i + 1 < NUM_BARS {
            vbars[i + 1] &= (mask >> 32) as u32;
            i += 1;
        }
        i += 1;
    }
}

/// Emulates sizing of the expansion ROM BAR `vrom` for a ROM of `len` bytes (0: none): the
/// enable bit is kept.
pub(crate) fn rom_fixup(vrom: u32, len: u64) -> u32 {
    if len == 0 {
        return 0;
    }
    let mask = !(len.wrapping_sub(1)) | u64::from(bindings::PCI_ROM_ADDRESS_ENABLE);
    // CAST: the ROM BAR is 32 bits wide.
    vrom & mask as u32
}

#[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
#[kernel::macros::kunit_tests(vfio_pci_core_rs_config)]
mod tests {
    use super::*;

    #[test]
    fn basic_perms_match_the_header_layout() {
        // Vendor and device ID: virtual, read-only.
        assert_eq!(BASIC_PERMS.masks(0, 4), Some((ALL, NONE)));
        // Command: all writable, INTx disable virtual.
        assert_eq!(
            BASIC_PERMS.masks(4, 2),
            Some((bindings::PCI_COMMAND_INTX_DISABLE, 0xffff))
        );
        // Status: only the capability-list bit is virtual, nothing is writable.
        assert_eq!(
            BASIC_PERMS.masks(6, 2),
            Some((bindings::PCI_STATUS_CAP_LIST, NONE))
        );
        // Class code and revision: read-only pass-through.
        assert_eq!(BASIC_PERMS.masks(8, 4), Some((NONE, NONE)));
        // Cache line, latency timer, BIST writable; header type read-only.
        assert_eq!(BASIC_PERMS.masks(12, 4), Some((NONE, 0xff00_ffff)));
        for bar in 0..6 {
            assert_eq!(BASIC_PERMS.masks(16 + 4 * bar, 4), Some((ALL, ALL)));
        }
        // Capability pointer virtual, read-only; interrupt line virtual and writable; pin
        // virtual and read-only.
        assert_eq!(BASIC_PERMS.masks(0x34, 1), Some((0xff, NONE)));
        assert_eq!(BASIC_PERMS.masks(0x3c, 2), Some((0xffff, 0x00ff)));
    }

    #[test]
    fn masks_reject_accesses_outside_the_structure() {
        assert_eq!(BASIC_PERMS.masks(62, 4), None);
        assert_eq!(BASIC_PERMS.masks(64, 1), None);
        assert_eq!(BASIC_PERMS.masks(0, 0), None);
        assert_eq!(BASIC_PERMS.masks(0, 8), None);
        assert_eq!(BASIC_PERMS.masks(usize::MAX, 2), None);
    }

    #[test]
    fn reads_merge_virtual_and_hardware_bits() {
        assert_eq!(
            merge_read(0x1234_5678, 0xabcd_ef01, 0xffff_0000),
            0xabcd_5678
        );
        assert_eq!(merge_read(0x1234_5678, 0xabcd_ef01, 0), 0x1234_5678);
    }

    #[test]
    fn writes_touch_only_writable_bits() {
        // Command register: INTx disable (bit 10) virtual, everything writable.
        let (virt, write) = (bindings::PCI_COMMAND_INTX_DISABLE, 0xffff);
        let (v, hw) = apply_write(0x0406, 0, 0x0000, virt, write);
        assert_eq!(v, 0x0400);
        assert_eq!(hw, Some(0x0006));
        // Read-only, virtual bits (device ID): nothing changes, nothing reaches hardware.
        assert_eq!(
            apply_write(0xffff, 0x11e8, 0x11e8, ALL, NONE),
            (0x11e8, None)
        );
        // Fully virtual, writable (a BAR): only the virtual value changes.
        assert_eq!(
            apply_write(ALL, 0xfe60_0000, 0xfe60_0000, ALL, ALL),
            (ALL, None)
        );
    }

    #[test]
    fn bar_sizing_reports_size_and_type() {
        let mut bars = [BarResource::default(); NUM_BARS];
        // BAR0: 1 MiB, 32-bit non-prefetchable memory.
        bars[0] = BarResource {
            start: 0xfe60_0000,
            len: 1 << 20,
            ..Default::default()
        };
        // BAR2/3: 4 GiB, 64-bit prefetchable memory.
        bars[2] = BarResource {
            start: 0x80_0000_0000,
            len: 1 << 32,
            prefetch: true,
            mem64: true,
            ..Default::default()
        };
        // BAR4: 32 bytes of I/O ports.
        bars[4] = BarResource {
            start: 0xc000,
            len: 32,
            io: true,
            ..Default::default()
        };
        let mut vbars = [ALL; NUM_BARS];
        bar_fixup(&mut vbars, &bars);
        assert_eq!(vbars[0], 0xfff0_0000);
        // An unassigned BAR reads as unimplemented.
        assert_eq!(vbars[1], 0);
        assert_eq!(vbars[2], 0x0000_000c);
        assert_eq!(vbars[3], 0xffff_ffff);
        assert_eq!(vbars[4], 0xffff_ffe1);
        assert_eq!(vbars[5], 0);

        // Before sizing, the addresses read back unchanged.
        let mut vbars = [0xfe60_0000, 0, 0, 0x80, 0xc000, 0];
        bar_fixup(&mut vbars, &bars);
        assert_eq!(vbars, [0xfe60_0000, 0, 0x0000_000c, 0x80, 0xc001, 0]);
    }

    #[test]
    fn rom_sizing_keeps_the_enable_bit() {
        assert_eq!(rom_fixup(ALL, 64 << 10), 0xffff_0001);
        assert_eq!(rom_fixup(0xfeb0_0001, 64 << 10), 0xfeb0_0001);
        assert_eq!(rom_fixup(ALL, 0), 0);
    }
}
