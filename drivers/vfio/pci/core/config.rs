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
//! real ones. The capability lists are virtual too: capabilities the core does not know are
//! unlinked from them, so userspace never sees them.
//!
//! [`VConfig`] is the emulation itself. It reaches the hardware through [`ConfigHw`] only, so
//! KUnit drives it with a config space in memory.

use kernel::{
    bindings,
    prelude::*, //
};

/// One field of a permission table: `width` bytes at `offset` (within the capability), with
/// the virtual bits `virt` and the writable bits `write`.
#[derive(Clone, Copy)]
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
///
/// `N` is the structure's size rounded up to a dword, so that an access chopped at a dword
/// boundary always lies within the table.
pub(crate) struct PermTable<const N: usize> {
    virt: [u8; N],
    write: [u8; N],
}

impl<const N: usize> PermTable<N> {
    /// Builds a table from its fields; bytes no field covers are read-only and not virtual.
    ///
    /// Evaluated at compile time for the `const` tables: a field outside the structure, two
    /// fields covering the same byte or a size that is not a whole number of dwords fail the
    /// build.
    pub(crate) const fn new(fields: &[Field]) -> Self {
        assert!(N % 4 == 0, "permission tables cover whole dwords");
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
    #[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
    pub(crate) fn masks(&self, offset: usize, width: usize) -> Option<(u32, u32)> {
        masks(&self.virt, &self.write, offset, width)
    }

    /// The table as slices, so tables of different sizes can be chosen at run time.
    const fn perms(&'static self) -> Perms {
        Perms {
            virt: &self.virt,
            write: &self.write,
        }
    }
}

fn masks(virt: &[u8], write: &[u8], offset: usize, width: usize) -> Option<(u32, u32)> {
    if width == 0 || width > 4 || offset.checked_add(width)? > virt.len() {
        return None;
    }
    let mut v = 0u32;
    let mut w = 0u32;
    for b in 0..width {
        v |= u32::from(virt[offset + b]) << (8 * b);
        w |= u32::from(write[offset + b]) << (8 * b);
    }
    Some((v, w))
}

/// A permission table of any size.
#[derive(Clone, Copy)]
struct Perms {
    virt: &'static [u8],
    write: &'static [u8],
}

impl Perms {
    /// The masks of an access; bytes past the table are read-only and not virtual.
    fn masks(self, offset: usize, width: usize) -> (u32, u32) {
        masks(self.virt, self.write, offset, width).unwrap_or((NONE, NONE))
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

// CAST: the `PCI_*` register offsets, sizes and bits below are small `u32` constants.
const STD_HEADER_SIZEOF: usize = bindings::PCI_STD_HEADER_SIZEOF as usize;
const CFG_SPACE_SIZE: usize = bindings::PCI_CFG_SPACE_SIZE as usize;
const CFG_SPACE_EXP_SIZE: usize = bindings::PCI_CFG_SPACE_EXP_SIZE as usize;

/// Rounds a structure size up to whole dwords, the size of its permission table.
const fn dwords(size: u32) -> usize {
    // CAST: structure sizes are below 4096.
    (size as usize).next_multiple_of(4)
}

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

/// Every capability's next pointer is virtual, so that capabilities can be unlinked.
const CAP_NEXT: Field = Field::byte(bindings::PCI_CAP_LIST_NEXT, ALL, NONE);

/// Power management: userspace asks for power states, the core makes the change (the state
/// bits are read-only); PME is the host's, so its support and status bits are virtual.
const PM_PERMS: PermTable<{ dwords(bindings::PCI_PM_SIZEOF) }> = PermTable::new(&[
    CAP_NEXT,
    Field::word(bindings::PCI_PM_PMC, bindings::PCI_PM_CAP_PME_MASK, NONE),
    Field::dword(
        bindings::PCI_PM_CTRL,
        bindings::PCI_PM_CTRL_PME_ENABLE | bindings::PCI_PM_CTRL_PME_STATUS,
        !(bindings::PCI_PM_CTRL_PME_ENABLE
            | bindings::PCI_PM_CTRL_PME_STATUS
            | bindings::PCI_PM_CTRL_STATE_MASK),
    ),
]);

/// Vital product data: the address and data registers are virtual; a write of the address
/// register's upper byte, with its flag, makes the core read or write the data
/// ([`ConfigHw::vpd_read`], [`ConfigHw::vpd_write`]).
const VPD_PERMS: PermTable<{ dwords(bindings::PCI_CAP_VPD_SIZEOF) }> = PermTable::new(&[
    CAP_NEXT,
    Field::word(bindings::PCI_VPD_ADDR, ALL, ALL),
    Field::dword(bindings::PCI_VPD_DATA, ALL, ALL),
]);

/// PCI-X: command and ECC control writable.
const PCIX_PERMS: PermTable<{ dwords(bindings::PCI_CAP_PCIX_SIZEOF_V2) }> = PermTable::new(&[
    CAP_NEXT,
    Field::word(bindings::PCI_X_CMD, NONE, ALL),
    Field::dword(bindings::PCI_X_ECC_CSR, NONE, ALL),
]);

/// PCI Express: function-level reset, payload and read request size are virtual (the core
/// acts on them), phantom functions and ARI forwarding are not the user's to change.
const EXP_PERMS: PermTable<{ dwords(bindings::PCI_CAP_EXP_ENDPOINT_SIZEOF_V2) }> =
    PermTable::new(&[
        CAP_NEXT,
        Field::word(
            bindings::PCI_EXP_DEVCTL,
            bindings::PCI_EXP_DEVCTL_BCR_FLR
                | bindings::PCI_EXP_DEVCTL_PAYLOAD
                | bindings::PCI_EXP_DEVCTL_READRQ,
            !bindings::PCI_EXP_DEVCTL_PHANTOM,
        ),
        Field::word(
            bindings::PCI_EXP_DEVCTL2,
            NONE,
            !bindings::PCI_EXP_DEVCTL2_ARI,
        ),
    ]);

/// Advanced features: the function-level reset bit is virtual, the core does the reset.
const AF_PERMS: PermTable<{ dwords(bindings::PCI_CAP_AF_SIZEOF) }> = PermTable::new(&[
    CAP_NEXT,
    Field::byte(
        bindings::PCI_AF_CTRL,
        bindings::PCI_AF_CTRL_FLR,
        bindings::PCI_AF_CTRL_FLR,
    ),
]);

/// MSI: the whole capability is virtual (the core programs MSI through the IRQ ioctls),
/// except the per-vector mask and pending bits.
const fn msi_perms<const N: usize>(mem64: bool, maskbit: bool) -> PermTable<N> {
    let (data, mask, pending) = if mem64 {
        (
            bindings::PCI_MSI_DATA_64,
            bindings::PCI_MSI_MASK_64,
            bindings::PCI_MSI_PENDING_64,
        )
    } else {
        (
            bindings::PCI_MSI_DATA_32,
            bindings::PCI_MSI_MASK_32,
            bindings::PCI_MSI_PENDING_32,
        )
    };
    let common = [
        CAP_NEXT,
        // The upper byte of the control register is reserved.
        Field::byte(bindings::PCI_MSI_FLAGS, ALL, ALL),
        Field::dword(bindings::PCI_MSI_ADDRESS_LO, ALL, ALL),
        Field::word(data, ALL, ALL),
    ];
    let hi = Field::dword(bindings::PCI_MSI_ADDRESS_HI, ALL, ALL);
    let bits = [
        Field::dword(mask, NONE, ALL),
        Field::dword(pending, NONE, ALL),
    ];
    match (mem64, maskbit) {
        (false, false) => PermTable::new(&common),
        (true, false) => PermTable::new(&[common[0], common[1], common[2], common[3], hi]),
        (false, true) => {
            PermTable::new(&[common[0], common[1], common[2], common[3], bits[0], bits[1]])
        }
        (true, true) => PermTable::new(&[
            common[0], common[1], common[2], common[3], hi, bits[0], bits[1],
        ]),
    }
}

// The four MSI layouts: 10, 14, 20 and 24 bytes.
const MSI32_PERMS: PermTable<12> = msi_perms(false, false);
const MSI64_PERMS: PermTable<16> = msi_perms(true, false);
const MSI32_MASK_PERMS: PermTable<20> = msi_perms(false, true);
const MSI64_MASK_PERMS: PermTable<24> = msi_perms(true, true);

/// Advanced error reporting: the header is virtual, error status, masks and severities and
/// ECRC control writable.
const ERR_PERMS: PermTable<{ dwords(bindings::PCI_ERR_ROOT_COMMAND) }> = {
    const UNCOR: u32 = bindings::PCI_ERR_UNC_UND
        | bindings::PCI_ERR_UNC_DLP
        | bindings::PCI_ERR_UNC_SURPDN
        | bindings::PCI_ERR_UNC_POISON_TLP
        | bindings::PCI_ERR_UNC_FCP
        | bindings::PCI_ERR_UNC_COMP_TIME
        | bindings::PCI_ERR_UNC_COMP_ABORT
        | bindings::PCI_ERR_UNC_UNX_COMP
        | bindings::PCI_ERR_UNC_RX_OVER
        | bindings::PCI_ERR_UNC_MALF_TLP
        | bindings::PCI_ERR_UNC_ECRC
        | bindings::PCI_ERR_UNC_UNSUP
        | bindings::PCI_ERR_UNC_ACSV
        | bindings::PCI_ERR_UNC_INTN
        | bindings::PCI_ERR_UNC_MCBTLP
        | bindings::PCI_ERR_UNC_ATOMEG
        | bindings::PCI_ERR_UNC_TLPPRE;
    const COR: u32 = bindings::PCI_ERR_COR_RCVR
        | bindings::PCI_ERR_COR_BAD_TLP
        | bindings::PCI_ERR_COR_BAD_DLLP
        | bindings::PCI_ERR_COR_REP_ROLL
        | bindings::PCI_ERR_COR_REP_TIMER
        | bindings::PCI_ERR_COR_ADV_NFAT
        | bindings::PCI_ERR_COR_INTERNAL
        | bindings::PCI_ERR_COR_LOG_OVER;
    PermTable::new(&[
        Field::dword(0, ALL, NONE),
        Field::dword(bindings::PCI_ERR_UNCOR_STATUS, NONE, UNCOR),
        Field::dword(bindings::PCI_ERR_UNCOR_MASK, NONE, UNCOR),
        Field::dword(bindings::PCI_ERR_UNCOR_SEVER, NONE, UNCOR),
        Field::dword(bindings::PCI_ERR_COR_STATUS, NONE, COR),
        Field::dword(bindings::PCI_ERR_COR_MASK, NONE, COR),
        Field::dword(
            bindings::PCI_ERR_CAP,
            NONE,
            bindings::PCI_ERR_CAP_ECRC_GENE | bindings::PCI_ERR_CAP_ECRC_CHKE,
        ),
    ])
};

/// Power budgeting: the header is virtual, the data select register writable.
const PWR_PERMS: PermTable<{ dwords(bindings::PCI_EXT_CAP_PWR_SIZEOF) }> = PermTable::new(&[
    Field::dword(0, ALL, NONE),
    Field::byte(bindings::PCI_PWR_DATA, NONE, ALL),
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

/// Access to the real configuration space of the function, as userspace would access it
/// (`pci_user_{read,write}_config_*()`: blocked while the function is being reset).
pub(crate) trait ConfigHw {
    /// Reads `width` (1, 2 or 4) bytes at `pos`.
    fn read(&self, pos: usize, width: usize) -> Result<u32>;
    /// Writes the low `width` (1, 2 or 4) bytes of `val` at `pos`.
    fn write(&self, pos: usize, width: usize, val: u32) -> Result;

    /// Reads the 4 bytes of vital product data at `addr`, as a little-endian value
    /// (`pci_read_vpd()`). None by default.
    fn vpd_read(&self, _addr: u32) -> Result<u32> {
        Err(ENODEV)
    }

    /// Writes `data` as the 4 bytes of vital product data at `addr` (`pci_write_vpd()`).
    /// None by default.
    fn vpd_write(&self, _addr: u32, _data: u32) -> Result {
        Err(ENODEV)
    }
}

/// What the core knows of the function when it sets up the emulation.
#[derive(Clone, Copy, Default)]
pub(crate) struct DeviceFacts {
    /// The size of the configuration space, 256 or 4096.
    pub(crate) cfg_size: usize,
    /// The BARs as the host assigned them.
    pub(crate) bars: [BarResource; NUM_BARS],
    /// The size of the expansion ROM BAR if the host assigned it, otherwise 0.
    pub(crate) rom_len: u64,
    /// An SR-IOV virtual function: identity and interrupt pin come from the PF.
    pub(crate) virtfn: Option<(u16, u16)>,
    /// The function does not implement the memory enable bit of the command register.
    pub(crate) no_command_memory: bool,
    /// The function's INTx is broken: INTx disable stays set in it, even after a reset.
    pub(crate) nointx: bool,
    /// The function has a usable INTx line; otherwise its interrupt pin reads 0.
    pub(crate) intx: bool,
    /// log2 of the number of MSI vectors userspace last enabled (0 before it ever did), which
    /// the virtual MSI capability offers: C vfio-pci's `msi_qmax`.
    pub(crate) msi_qmax: u16,
}

/// Marks bytes of config space that belong to no capability: raw access, as C vfio-pci does
/// (some devices hide registers between capabilities).
const MAP_UNASSIGNED: u8 = 0xff;
/// Capability ID of the standard header in the byte map.
const CAP_ID_BASIC: u8 = 0;

/// How an access to one capability is handled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Handler {
    /// The standard header.
    Basic,
    /// Masks from a table, virtual bits from the virtual config space.
    Table,
    /// Read from hardware except the capability header; writes dropped.
    DirectRo,
    /// Read from hardware except the capability header; writes go to hardware.
    DirectRaw,
    /// Raw access (bytes outside any capability).
    Raw,
}

/// What a write asks of the core beyond the config space: the caller acts on it.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Effects {
    /// The power state userspace asked for through the PM capability (0 to 3, D0 to D3hot).
    pub(crate) power_state: Option<u8>,
    /// A function-level reset through the PCIe or AF capability.
    pub(crate) flr: bool,
    /// The command register was written: memory decoding may have changed.
    pub(crate) command: bool,
    /// The PCIe maximum read request size userspace chose, in bytes: the hardware gets it,
    /// but never below the maximum payload size.
    pub(crate) readrq: Option<u32>,
}

/// The layout of the function's MSI capability.
#[derive(Clone, Copy)]
struct Msi {
    perms: Perms,
    /// log2 of the number of vectors the function supports.
    qmax: u16,
}

/// The emulated configuration space of one function, set up at open.
pub(crate) struct VConfig {
    facts: DeviceFacts,
    /// The virtual config space, little-endian like the real one.
    vconfig: KVec<u8>,
    /// The capability ID owning each byte, or [`MAP_UNASSIGNED`].
    map: KVec<u8>,
    msi: Option<Msi>,
    /// MSI is enabled through the IRQ ioctls: userspace may then set the enable bit.
    msi_enabled: bool,
    /// The BARs were written since they were last fixed up.
    bardirty: bool,
    /// The real BARs and ROM BAR at open, to restore them after a backdoor reset.
    rbar: [u32; NUM_BARS + 1],
}

/// Reads `width` little-endian bytes of `buf` at `pos`.
///
/// Bytes past the end of `buf` read as 0: a capability register computed from a capability
/// near the end of the config space may lie past it.
fn get(buf: &[u8], pos: usize, width: usize) -> u32 {
    let mut v = 0u32;
    for (b, byte) in buf.iter().skip(pos).take(width).enumerate() {
        v |= u32::from(*byte) << (8 * b);
    }
    v
}

/// Writes the low `width` bytes of `val` into `buf` at `pos`, little-endian. Bytes past the
/// end of `buf` are dropped.
fn put(buf: &mut [u8], pos: usize, width: usize, val: u32) {
    for (b, byte) in buf.iter_mut().skip(pos).take(width).enumerate() {
        // CAST: selecting byte `b` of `val`.
        *byte = (val >> (8 * b)) as u8;
    }
}

const fn is_bar(offset: usize) -> bool {
    // CAST: small register offsets.
    (offset >= bindings::PCI_BASE_ADDRESS_0 as usize
        && offset < bindings::PCI_BASE_ADDRESS_5 as usize + 4)
        || offset == bindings::PCI_ROM_ADDRESS as usize
}

// CAST (all below): register offsets and capability IDs are small constants.
const COMMAND: usize = bindings::PCI_COMMAND as usize;
const STATUS: usize = bindings::PCI_STATUS as usize;
const BAR0: usize = bindings::PCI_BASE_ADDRESS_0 as usize;
const ROM: usize = bindings::PCI_ROM_ADDRESS as usize;
const CAP_LIST: usize = bindings::PCI_CAPABILITY_LIST as usize;
const INTX_PIN: usize = bindings::PCI_INTERRUPT_PIN as usize;
const CAP_ID_MAX: u8 = bindings::PCI_CAP_ID_MAX as u8;
const EXT_CAP_ID_MAX: u8 = bindings::PCI_EXT_CAP_ID_MAX as u8;

impl VConfig {
    /// Builds the virtual config space from the hardware's, as C vfio-pci does at open: the
    /// header, then every capability of the standard and the extended list that the core
    /// knows, unlinking the others.
    pub(crate) fn new(hw: &impl ConfigHw, facts: DeviceFacts) -> Result<Self> {
        let size = facts.cfg_size;
        if size != CFG_SPACE_SIZE && size != CFG_SPACE_EXP_SIZE {
            return Err(EINVAL);
        }
        let mut vconfig = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        let mut map = KVec::from_elem(MAP_UNASSIGNED, size, GFP_KERNEL)?;
        map[..STD_HEADER_SIZEOF].fill(CAP_ID_BASIC);
        fill(hw, &mut vconfig, 0, STD_HEADER_SIZEOF)?;

        let mut rbar = [0u32; NUM_BARS + 1];
        for (i, r) in rbar.iter_mut().take(NUM_BARS).enumerate() {
            *r = get(&vconfig, BAR0 + 4 * i, 4);
        }
        rbar[NUM_BARS] = get(&vconfig, ROM, 4);

        if let Some((vendor, device)) = facts.virtfn {
            put(&mut vconfig, 0, 2, vendor.into());
            put(&mut vconfig, 2, 2, device.into());
            vconfig[INTX_PIN] = 0;
        }
        if facts.no_command_memory {
            // CAST: the bit fits in the command register.
            let cmd = get(&vconfig, COMMAND, 2) | bindings::PCI_COMMAND_MEMORY;
            put(&mut vconfig, COMMAND, 2, cmd);
        }
        if !facts.intx {
            vconfig[INTX_PIN] = 0;
        }

        let mut this = Self {
            facts,
            vconfig,
            map,
            msi: None,
            msi_enabled: false,
            bardirty: true,
            rbar,
        };
        let extended = this.init_caps(hw)?;
        if extended {
            this.init_ecaps(hw)?;
        }
        Ok(this)
    }

    /// Walks the standard capability list; returns whether the function has extended
    /// capabilities worth walking.
    fn init_caps(&mut self, hw: &impl ConfigHw) -> Result<bool> {
        let mut extended = false;
        if hw.read(STATUS, 2)? & bindings::PCI_STATUS_CAP_LIST == 0 {
            return Ok(false);
        }
        // CAST: a byte read. The low two bits of capability pointers are reserved.
        let mut pos = (hw.read(CAP_LIST, 1)? & !3) as usize;
        let mut prev = CAP_LIST;
        let mut caps = 0;
        let mut loops = (CFG_SPACE_SIZE - STD_HEADER_SIZEOF) / 4;
        while pos != 0 && loops > 0 {
            loops -= 1;
            // The low two bits of a pointer are reserved; a pointer into the header is bogus.
            if pos < STD_HEADER_SIZEOF || pos + 2 > CFG_SPACE_SIZE {
                break;
            }
            // CAST: byte reads.
            let cap = hw.read(pos, 1)? as u8;
            let next = (hw.read(pos + 1, 1)? & !3) as usize;
            let len = if cap != 0 && cap <= CAP_ID_MAX {
                self.cap_len(hw, cap, pos, &mut extended)?
            } else {
                0
            };
            if len == 0 {
                // Unlink it: userspace never sees this capability.
                // CAST: `next` came from a byte.
                self.vconfig[prev] = next as u8;
                pos = next;
                continue;
            }
            let len = len.min(CFG_SPACE_SIZE - pos);
            self.map[pos..pos + len].fill(cap);
            fill(hw, &mut self.vconfig, pos, len)?;
            if u32::from(cap) == bindings::PCI_CAP_ID_PM {
                // PME is the host's.
                let pmc = pos + PM_PMC;
                let v = get(&self.vconfig, pmc, 2) & !bindings::PCI_PM_CAP_PME_MASK;
                put(&mut self.vconfig, pmc, 2, v);
                let ctrl = pos + PM_CTRL;
                let v = get(&self.vconfig, ctrl, 2)
                    & !(bindings::PCI_PM_CTRL_PME_ENABLE | bindings::PCI_PM_CTRL_PME_STATUS);
                put(&mut self.vconfig, ctrl, 2, v);
            }
            prev = pos + 1;
            pos = next;
            caps += 1;
        }
        if caps == 0 {
            let v = get(&self.vconfig, STATUS, 2) & !bindings::PCI_STATUS_CAP_LIST;
            put(&mut self.vconfig, STATUS, 2, v);
        }
        Ok(extended)
    }

    /// The length of standard capability `cap` at `pos`, 0 to hide it.
    fn cap_len(
        &mut self,
        hw: &impl ConfigHw,
        cap: u8,
        pos: usize,
        extended: &mut bool,
    ) -> Result<usize> {
        // CAST (below): capability sizes and fields are small.
        let len = match u32::from(cap) {
            bindings::PCI_CAP_ID_PM => bindings::PCI_PM_SIZEOF as usize,
            bindings::PCI_CAP_ID_AGP => bindings::PCI_AGP_SIZEOF as usize,
            bindings::PCI_CAP_ID_VPD => bindings::PCI_CAP_VPD_SIZEOF as usize,
            bindings::PCI_CAP_ID_MSIX => bindings::PCI_CAP_MSIX_SIZEOF as usize,
            bindings::PCI_CAP_ID_AF => bindings::PCI_CAP_AF_SIZEOF as usize,
            bindings::PCI_CAP_ID_MSI => {
                let flags = hw.read(pos + MSI_FLAGS, 2)?;
                let mem64 = flags & bindings::PCI_MSI_FLAGS_64BIT != 0;
                let maskbit = flags & bindings::PCI_MSI_FLAGS_MASKBIT != 0;
                let perms = match (mem64, maskbit) {
                    (false, false) => MSI32_PERMS.perms(),
                    (true, false) => MSI64_PERMS.perms(),
                    (false, true) => MSI32_MASK_PERMS.perms(),
                    (true, true) => MSI64_MASK_PERMS.perms(),
                };
                if self.msi.is_none() {
                    self.msi = Some(Msi {
                        perms,
                        qmax: self.facts.msi_qmax,
                    });
                }
                10 + if mem64 { 4 } else { 0 } + if maskbit { 10 } else { 0 }
            }
            bindings::PCI_CAP_ID_PCIX => {
                let cmd = hw.read(pos + bindings::PCI_X_CMD as usize, 2)?;
                // The capability version, `PCI_X_CMD_VERSION()`.
                if (cmd >> 12) & 3 != 0 {
                    *extended |= self.has_ecaps(hw)?;
                    bindings::PCI_CAP_PCIX_SIZEOF_V2 as usize
                } else {
                    bindings::PCI_CAP_PCIX_SIZEOF_V0 as usize
                }
            }
            bindings::PCI_CAP_ID_VNDR => {
                hw.read(pos + bindings::PCI_CAP_FLAGS as usize, 1)? as usize
            }
            bindings::PCI_CAP_ID_EXP => {
                *extended |= self.has_ecaps(hw)?;
                let flags = hw.read(pos + bindings::PCI_EXP_FLAGS as usize, 2)?;
                let rc_end =
                    (flags & bindings::PCI_EXP_FLAGS_TYPE) >> 4 == bindings::PCI_EXP_TYPE_RC_END;
                match (flags & bindings::PCI_EXP_FLAGS_VERS == 1, rc_end) {
                    (true, true) => 0xc,
                    (true, false) => bindings::PCI_CAP_EXP_ENDPOINT_SIZEOF_V1 as usize,
                    (false, true) => 0x2c,
                    (false, false) => bindings::PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 as usize,
                }
            }
            bindings::PCI_CAP_ID_HT => {
                let b = hw.read(pos + 3, 1)?;
                if b & bindings::HT_3BIT_CAP_MASK != 0 {
                    bindings::HT_CAP_SIZEOF_SHORT as usize
                } else {
                    bindings::HT_CAP_SIZEOF_LONG as usize
                }
            }
            bindings::PCI_CAP_ID_SATA => {
                let b = hw.read(pos + bindings::PCI_SATA_REGS as usize, 1)?;
                if b & bindings::PCI_SATA_REGS_MASK == bindings::PCI_SATA_REGS_INLINE {
                    bindings::PCI_SATA_SIZEOF_LONG as usize
                } else {
                    bindings::PCI_SATA_SIZEOF_SHORT as usize
                }
            }
            // Bridge, CompactPCI, debug and secure device capabilities: hidden.
            _ => 0,
        };
        Ok(len)
    }

    fn has_ecaps(&self, hw: &impl ConfigHw) -> Result<bool> {
        Ok(self.facts.cfg_size > CFG_SPACE_SIZE && hw.read(CFG_SPACE_SIZE, 4)? != 0)
    }

    /// Walks the extended capability list, unlinking what the core does not know. The first
    /// capability cannot be unlinked: an unknown one there keeps its place with a zero ID.
    fn init_ecaps(&mut self, hw: &impl ConfigHw) -> Result {
        let mut epos = CFG_SPACE_SIZE;
        let mut prev: Option<usize> = None;
        let mut ecaps = 0;
        let mut loops = (self.facts.cfg_size - CFG_SPACE_SIZE) / 4;
        while loops > 0 && epos >= CFG_SPACE_SIZE && epos + 4 <= self.facts.cfg_size {
            loops -= 1;
            let header = hw.read(epos, 4)?;
            // CAST: the ID is the low 16 bits, the next pointer 12 bits.
            let id = (header & 0xffff) as u16;
            let next = ((header >> 20) & 0xffc) as usize;
            let mut len = if id <= u16::from(EXT_CAP_ID_MAX) {
                ecap_len(hw, id, epos)?
            } else {
                0
            };
            let mut hidden = false;
            if len == 0 {
                if let Some(p) = prev {
                    let v = (get(&self.vconfig, p, 4) & !(0xffc << 20)) | ((next as u32) << 20);
                    put(&mut self.vconfig, p, 4, v);
                    epos = next;
                    continue;
                }
                len = 4;
                hidden = true;
            }
            let len = len.min(self.facts.cfg_size - epos);
            // CAST: extended capability IDs the core knows are below `EXT_CAP_ID_MAX`; a
            // hidden placeholder's ID only selects read-only direct access.
            let mapped = if hidden { EXT_CAP_ID_MAX + 1 } else { id as u8 };
            self.map[epos..epos + len].fill(mapped);
            fill(hw, &mut self.vconfig, epos, len)?;
            if hidden {
                let v = get(&self.vconfig, epos, 4) & (0xffc << 20);
                put(&mut self.vconfig, epos, 4, v);
            } else {
                ecaps += 1;
            }
            prev = Some(epos);
            epos = next;
        }
        if ecaps == 0 {
            put(&mut self.vconfig, CFG_SPACE_SIZE, 4, 0);
        }
        Ok(())
    }

    /// The size of the config space region.
    pub(crate) fn size(&self) -> usize {
        self.facts.cfg_size
    }

    /// The start of the capability that owns `pos`.
    fn cap_start(&self, pos: usize) -> usize {
        let cap = self.map[pos];
        if cap == CAP_ID_BASIC && pos < STD_HEADER_SIZEOF {
            return 0;
        }
        let base = if pos >= CFG_SPACE_SIZE {
            CFG_SPACE_SIZE
        } else {
            STD_HEADER_SIZEOF
        };
        let mut p = pos;
        while p > base && self.map[p - 1] == cap {
            p -= 1;
        }
        p
    }

    /// The width of the access at `pos` for `count` bytes: aligned, within a dword and within
    /// one capability. `EFAULT` outside the config space, as C vfio-pci answers.
    pub(crate) fn chunk(&self, pos: usize, count: usize) -> Result<usize> {
        let end = pos.checked_add(count).ok_or(EFAULT)?;
        if count == 0 || end > self.size() {
            return Err(EFAULT);
        }
        let cap = self.map[pos];
        let mut same = 1;
        while (pos + same) % 4 != 0 && self.map[pos + same] == cap {
            same += 1;
        }
        let n = count.min(same);
        Ok(if n >= 4 && pos % 4 == 0 {
            4
        } else if n >= 2 && pos % 2 == 0 {
            2
        } else {
            1
        })
    }

    /// The handler and permissions of the capability owning `pos`, and its start.
    fn handler(&self, pos: usize) -> (Handler, Option<Perms>, usize) {
        let cap = self.map[pos];
        if cap == MAP_UNASSIGNED {
            return (Handler::Raw, None, pos);
        }
        let start = self.cap_start(pos);
        if pos < STD_HEADER_SIZEOF {
            return (Handler::Basic, Some(BASIC_PERMS.perms()), 0);
        }
        let (handler, perms) = if pos >= CFG_SPACE_SIZE {
            match u32::from(cap) {
                bindings::PCI_EXT_CAP_ID_ERR => (Handler::Table, Some(ERR_PERMS.perms())),
                bindings::PCI_EXT_CAP_ID_PWR => (Handler::Table, Some(PWR_PERMS.perms())),
                bindings::PCI_EXT_CAP_ID_VNDR | bindings::PCI_EXT_CAP_ID_DVSEC => {
                    (Handler::DirectRaw, None)
                }
                _ => (Handler::DirectRo, None),
            }
        } else {
            match u32::from(cap) {
                bindings::PCI_CAP_ID_PM => (Handler::Table, Some(PM_PERMS.perms())),
                bindings::PCI_CAP_ID_VPD => (Handler::Table, Some(VPD_PERMS.perms())),
                bindings::PCI_CAP_ID_PCIX => (Handler::Table, Some(PCIX_PERMS.perms())),
                bindings::PCI_CAP_ID_EXP => (Handler::Table, Some(EXP_PERMS.perms())),
                bindings::PCI_CAP_ID_AF => (Handler::Table, Some(AF_PERMS.perms())),
                bindings::PCI_CAP_ID_MSI => (Handler::Table, self.msi.map(|m| m.perms)),
                bindings::PCI_CAP_ID_VNDR => (Handler::DirectRaw, None),
                _ => (Handler::DirectRo, None),
            }
        };
        (handler, perms, start)
    }

    /// Reads one chunk (see [`VConfig::chunk`]) of `width` bytes at `pos`.
    pub(crate) fn read(&mut self, hw: &impl ConfigHw, pos: usize, width: usize) -> Result<u32> {
        let (handler, perms, start) = self.handler(pos);
        let offset = pos - start;
        match handler {
            Handler::Raw => hw.read(pos, width),
            Handler::DirectRo | Handler::DirectRaw => self.direct_read(hw, pos, offset, width),
            Handler::Basic => {
                if is_bar(offset) {
                    self.bar_fixup();
                }
                let mut val = self.default_read(hw, perms, pos, offset, width)?;
                if offset == COMMAND && self.facts.no_command_memory {
                    val |= get(&self.vconfig, COMMAND, 2) & bindings::PCI_COMMAND_MEMORY;
                }
                Ok(val)
            }
            Handler::Table => {
                if u32::from(self.map[pos]) == bindings::PCI_CAP_ID_MSI
                    && pos < CFG_SPACE_SIZE
                    && covers(offset, width, MSI_FLAGS)
                {
                    if let Some(msi) = self.msi {
                        let f = (get(&self.vconfig, start + MSI_FLAGS, 2)
                            & !bindings::PCI_MSI_FLAGS_QMASK)
                            | (u32::from(msi.qmax) << 1);
                        put(&mut self.vconfig, start + MSI_FLAGS, 2, f);
                    }
                }
                self.default_read(hw, perms, pos, offset, width)
            }
        }
    }

    /// Writes one chunk (see [`VConfig::chunk`]) of `width` bytes at `pos`. Returns what the
    /// caller has to do beyond the config space.
    pub(crate) fn write(
        &mut self,
        hw: &impl ConfigHw,
        pos: usize,
        width: usize,
        val: u32,
    ) -> Result<Effects> {
        let (handler, perms, start) = self.handler(pos);
        let offset = pos - start;
        let mut effects = Effects::default();
        match handler {
            Handler::Raw | Handler::DirectRaw => hw.write(pos, width, val)?,
            Handler::DirectRo => {}
            Handler::Basic => self.basic_write(hw, perms, pos, offset, width, val, &mut effects)?,
            Handler::Table => {
                let cap = u32::from(self.map[pos]);
                if pos >= CFG_SPACE_SIZE {
                    self.default_write(hw, perms, pos, offset, width, val)?;
                    return Ok(effects);
                }
                // Only meaningful for the PCIe capability; `get` reads 0 past the end.
                let readrq = get(&self.vconfig, start + EXP_DEVCTL, 2) & EXP_READRQ;
                self.default_write(hw, perms, pos, offset, width, val)?;
                match cap {
                    bindings::PCI_CAP_ID_PM if offset == PM_CTRL => {
                        // CAST: a 2-bit field.
                        effects.power_state = Some((val & bindings::PCI_PM_CTRL_STATE_MASK) as u8);
                    }
                    bindings::PCI_CAP_ID_MSI if covers(offset, width, MSI_FLAGS) => {
                        self.msi_flags_fixup(hw, start)?;
                    }
                    bindings::PCI_CAP_ID_VPD => self.vpd_access(hw, start, offset, width),
                    bindings::PCI_CAP_ID_EXP => {
                        let flr = bindings::PCI_EXP_DEVCTL_BCR_FLR;
                        let ctrl = get(&self.vconfig, start + EXP_DEVCTL, 2);
                        if ctrl & flr != 0 {
                            // The bit always reads as zero, whether the reset happens or not.
                            put(&mut self.vconfig, start + EXP_DEVCTL, 2, ctrl & !flr);
                            let cap = hw.read(start + bindings::PCI_EXP_DEVCAP as usize, 4)?;
                            effects.flr = cap & bindings::PCI_EXP_DEVCAP_FLR != 0;
                        }
                        if ctrl & EXP_READRQ != readrq {
                            effects.readrq = Some(128 << ((ctrl & EXP_READRQ) >> 12));
                        }
                    }
                    bindings::PCI_CAP_ID_AF => {
                        let flr = bindings::PCI_AF_CTRL_FLR;
                        let ctrl = get(&self.vconfig, start + AF_CTRL, 1);
                        if ctrl & flr != 0 {
                            put(&mut self.vconfig, start + AF_CTRL, 1, ctrl & !flr);
                            let cap = hw.read(start + AF_CAP, 1)?;
                            effects.flr = cap & bindings::PCI_AF_CAP_FLR != 0
                                && cap & bindings::PCI_AF_CAP_TP != 0;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(effects)
    }

    /// After a write of `width` bytes at `offset` of the VPD capability at `start`: if it
    /// covered the address register's upper byte, reads the 4 bytes of VPD at the address
    /// into the data register, or, with the address's flag set, writes the data register
    /// there, then toggles the flag to signal completion, as C vfio-pci does. On failure the
    /// flag stays as it is, and the driver times out.
    fn vpd_access(&mut self, hw: &impl ConfigHw, start: usize, offset: usize, width: usize) {
        let flag_byte = VPD_ADDR + 1;
        if offset > flag_byte || offset + width <= flag_byte {
            return;
        }
        let addr = get(&self.vconfig, start + VPD_ADDR, 2);
        let flag = bindings::PCI_VPD_ADDR_F;
        if addr & flag != 0 {
            let data = get(&self.vconfig, start + VPD_DATA, 4);
            if hw.vpd_write(addr & !flag, data).is_err() {
                return;
            }
        } else {
            let Ok(data) = hw.vpd_read(addr) else {
                return;
            };
            put(&mut self.vconfig, start + VPD_DATA, 4, data);
        }
        put(&mut self.vconfig, start + VPD_ADDR, 2, addr ^ flag);
    }

    /// Records that userspace enabled MSI through the IRQ ioctls (with `qmax`, log2 of the
    /// number of vectors, the queue size the capability now offers), or disabled it.
    pub(crate) fn set_msi(&mut self, enabled: bool, qmax: Option<u16>) {
        self.msi_enabled = enabled;
        if let (Some(msi), Some(qmax)) = (&mut self.msi, qmax) {
            msi.qmax = qmax;
        }
    }

    /// MSI is enabled through the IRQ ioctls, never by a config write alone: the enable bit
    /// only sticks while MSI is enabled that way. The queue size is limited to what userspace
    /// enabled. Writes the result to hardware too.
    fn msi_flags_fixup(&mut self, hw: &impl ConfigHw, start: usize) -> Result {
        let Some(msi) = self.msi else {
            return Ok(());
        };
        let pos = start + MSI_FLAGS;
        let mut flags = get(&self.vconfig, pos, 2);
        if !self.msi_enabled {
            flags &= !bindings::PCI_MSI_FLAGS_ENABLE;
        }
        if (flags & bindings::PCI_MSI_FLAGS_QSIZE) >> 4 > u32::from(msi.qmax) {
            flags = (flags & !bindings::PCI_MSI_FLAGS_QSIZE) | (u32::from(msi.qmax) << 4);
        }
        put(&mut self.vconfig, pos, 2, flags);
        hw.write(pos, 2, flags)
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the table handlers")]
    fn basic_write(
        &mut self,
        hw: &impl ConfigHw,
        perms: Option<Perms>,
        pos: usize,
        offset: usize,
        width: usize,
        val: u32,
        effects: &mut Effects,
    ) -> Result {
        let io = bindings::PCI_COMMAND_IO;
        let mem = bindings::PCI_COMMAND_MEMORY;
        if offset == COMMAND {
            let phys = hw.read(COMMAND, 2)?;
            let virt = get(&self.vconfig, COMMAND, 2);
            let new = val & 0xffff;
            let backdoor_reset = (new & mem != 0
                && virt & mem != 0
                && phys & mem == 0
                && !self.facts.no_command_memory)
                || (new & io != 0 && virt & io != 0 && phys & io == 0);
            if backdoor_reset || self.need_bar_restore(hw)? {
                self.bar_restore(hw)?;
            }
            effects.command = true;
        }
        self.default_write(hw, perms, pos, offset, width, val)?;
        if offset == COMMAND + 1 {
            // INTx disable, in the upper byte.
            effects.command = true;
        }
        if offset == COMMAND {
            // Remember the enables userspace asked for, to detect a backdoor reset next time.
            let v = (get(&self.vconfig, COMMAND, 2) & !(io | mem)) | (val & (io | mem));
            put(&mut self.vconfig, COMMAND, 2, v);
        }
        if is_bar(offset) {
            self.bardirty = true;
        }
        Ok(())
    }

    /// Whether the real BARs lost what the host assigned (a reset behind the core's back).
    fn need_bar_restore(&self, hw: &impl ConfigHw) -> Result<bool> {
        for (i, r) in self.rbar.iter().take(NUM_BARS).enumerate() {
            if *r != 0 && hw.read(BAR0 + 4 * i, 4)? != *r {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Writes back the BARs the host assigned (not for VFs, whose BARs the PF owns).
    fn bar_restore(&self, hw: &impl ConfigHw) -> Result {
        if self.facts.virtfn.is_some() {
            return Ok(());
        }
        for (i, r) in self.rbar.iter().take(NUM_BARS).enumerate() {
            hw.write(BAR0 + 4 * i, 4, *r)?;
        }
        hw.write(ROM, 4, self.rbar[NUM_BARS])?;
        // As C: the reset cleared INTx disable, which a function with broken INTx keeps set.
        if self.facts.nointx {
            let cmd = hw.read(COMMAND, 2)?;
            hw.write(COMMAND, 2, cmd | bindings::PCI_COMMAND_INTX_DISABLE)?;
        }
        Ok(())
    }

    /// Applies BAR sizing to the virtual BARs if they were written.
    fn bar_fixup(&mut self) {
        if !self.bardirty {
            return;
        }
        let mut vbars = [0u32; NUM_BARS];
        for (i, v) in vbars.iter_mut().enumerate() {
            *v = get(&self.vconfig, BAR0 + 4 * i, 4);
        }
        bar_fixup(&mut vbars, &self.facts.bars);
        for (i, v) in vbars.iter().enumerate() {
            put(&mut self.vconfig, BAR0 + 4 * i, 4, *v);
        }
        let vrom = rom_fixup(get(&self.vconfig, ROM, 4), self.facts.rom_len);
        put(&mut self.vconfig, ROM, 4, vrom);
        self.bardirty = false;
    }

    fn default_read(
        &self,
        hw: &impl ConfigHw,
        perms: Option<Perms>,
        pos: usize,
        offset: usize,
        width: usize,
    ) -> Result<u32> {
        let (virt, _) = perms.map_or((NONE, NONE), |p| p.masks(offset, width));
        let vval = get(&self.vconfig, pos, width);
        let all = u32::MAX >> (32 - 8 * width);
        if virt & all == all {
            return Ok(vval);
        }
        Ok(merge_read(hw.read(pos, width)?, vval, virt))
    }

    fn default_write(
        &mut self,
        hw: &impl ConfigHw,
        perms: Option<Perms>,
        pos: usize,
        offset: usize,
        width: usize,
        val: u32,
    ) -> Result {
        let (virt, write) = perms.map_or((NONE, NONE), |p| p.masks(offset, width));
        if write == 0 {
            return Ok(());
        }
        let vval = get(&self.vconfig, pos, width);
        let phys = if write & !virt != 0 {
            hw.read(pos, width)?
        } else {
            0
        };
        let (new_virtual, new_hw) = apply_write(val, vval, phys, virt, write);
        put(&mut self.vconfig, pos, width, new_virtual);
        if let Some(v) = new_hw {
            hw.write(pos, width, v)?;
        }
        Ok(())
    }

    /// Hardware values, except the capability header, which is virtual (IDs and next
    /// pointers may have been rewritten to unlink capabilities).
    fn direct_read(
        &self,
        hw: &impl ConfigHw,
        pos: usize,
        offset: usize,
        width: usize,
    ) -> Result<u32> {
        let mut val = hw.read(pos, width)?;
        let mut virt_bytes = 0;
        if pos >= CFG_SPACE_SIZE {
            if offset < 4 {
                virt_bytes = width;
            }
        } else if offset == 0 && width > 1 {
            virt_bytes = 2;
        } else if offset == 1 {
            virt_bytes = 1;
        }
        if virt_bytes > 0 {
            let mask = u32::MAX >> (32 - 8 * virt_bytes);
            val = (val & !mask) | (get(&self.vconfig, pos, virt_bytes) & mask);
        }
        Ok(val)
    }

    /// Whether userspace set INTx disable in the virtual command register.
    pub(crate) fn intx_disabled(&self) -> bool {
        get(&self.vconfig, COMMAND, 2) & bindings::PCI_COMMAND_INTX_DISABLE != 0
    }

    /// The virtual interrupt pin: 0 if the function has no INTx userspace may use.
    pub(crate) fn intx_pin(&self) -> u8 {
        self.vconfig[INTX_PIN]
    }

    /// The virtual command register: whether userspace enabled memory decoding.
    pub(crate) fn memory_enabled(&self) -> bool {
        self.facts.no_command_memory
            || get(&self.vconfig, COMMAND, 2) & bindings::PCI_COMMAND_MEMORY != 0
    }
}

/// Whether an access of `width` bytes at `offset` covers the register at `reg`.
fn covers(offset: usize, width: usize, reg: usize) -> bool {
    offset <= reg && offset + width > reg
}

// CAST (all below): small register offsets.
const MSI_FLAGS: usize = bindings::PCI_MSI_FLAGS as usize;
const PM_PMC: usize = bindings::PCI_PM_PMC as usize;
const PM_CTRL: usize = bindings::PCI_PM_CTRL as usize;
const EXP_DEVCTL: usize = bindings::PCI_EXP_DEVCTL as usize;
const EXP_READRQ: u32 = bindings::PCI_EXP_DEVCTL_READRQ;
const AF_CAP: usize = bindings::PCI_AF_CAP as usize;
const AF_CTRL: usize = bindings::PCI_AF_CTRL as usize;
const VPD_ADDR: usize = bindings::PCI_VPD_ADDR as usize;
const VPD_DATA: usize = bindings::PCI_VPD_DATA as usize;

/// The length of extended capability `id` at `epos`, 0 to hide it.
fn ecap_len(hw: &impl ConfigHw, id: u16, epos: usize) -> Result<usize> {
    // CAST (below): capability sizes and fields are small.
    let len = match u32::from(id) {
        bindings::PCI_EXT_CAP_ID_ERR => bindings::PCI_ERR_ROOT_COMMAND as usize,
        bindings::PCI_EXT_CAP_ID_DSN => bindings::PCI_EXT_CAP_DSN_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_PWR => bindings::PCI_EXT_CAP_PWR_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_ARI => bindings::PCI_EXT_CAP_ARI_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_ATS => bindings::PCI_EXT_CAP_ATS_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_SRIOV => bindings::PCI_EXT_CAP_SRIOV_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_MCAST => bindings::PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_PRI => bindings::PCI_EXT_CAP_PRI_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_LTR => bindings::PCI_EXT_CAP_LTR_SIZEOF as usize,
        bindings::PCI_EXT_CAP_ID_VNDR => {
            (hw.read(epos + bindings::PCI_VNDR_HEADER as usize, 4)? >> 20) as usize
        }
        bindings::PCI_EXT_CAP_ID_DVSEC => {
            (hw.read(epos + bindings::PCI_DVSEC_HEADER1 as usize, 4)? >> 20) as usize
        }
        bindings::PCI_EXT_CAP_ID_ACS => {
            let cap = hw.read(epos + bindings::PCI_ACS_CAP as usize, 1)?;
            if cap & bindings::PCI_ACS_EC != 0 {
                let bits = hw.read(epos + bindings::PCI_ACS_EGRESS_BITS as usize, 1)? as usize;
                let bits = if bits != 0 {
                    bits.next_multiple_of(32)
                } else {
                    256
                };
                8 + bits / 8
            } else {
                8
            }
        }
        bindings::PCI_EXT_CAP_ID_REBAR => {
            let ctrl = hw.read(epos + bindings::PCI_REBAR_CTRL as usize, 1)?;
            let nbar =
                (ctrl & bindings::PCI_REBAR_CTRL_NBAR_MASK) >> bindings::PCI_REBAR_CTRL_NBAR_SHIFT;
            4 + nbar as usize * 8
        }
        bindings::PCI_EXT_CAP_ID_TPH => {
            let cap = hw.read(epos + bindings::PCI_TPH_CAP as usize, 4)?;
            if cap & bindings::PCI_TPH_CAP_LOC_MASK == bindings::PCI_TPH_LOC_CAP {
                let sts = (cap & bindings::PCI_TPH_CAP_ST_MASK) >> bindings::PCI_TPH_CAP_ST_SHIFT;
                bindings::PCI_TPH_BASE_SIZEOF as usize + sts as usize * 2 + 2
            } else {
                bindings::PCI_TPH_BASE_SIZEOF as usize
            }
        }
        bindings::PCI_EXT_CAP_ID_VC
        | bindings::PCI_EXT_CAP_ID_VC9
        | bindings::PCI_EXT_CAP_ID_MFVC => vc_cap_len(hw, epos)?,
        bindings::PCI_EXT_CAP_ID_DPA => {
            let cap = hw.read(epos + bindings::PCI_DPA_CAP as usize, 1)?;
            bindings::PCI_DPA_BASE_SIZEOF as usize
                + (cap & bindings::PCI_DPA_CAP_SUBSTATE_MASK) as usize
                + 1
        }
        // The root-only capabilities are hidden, as in C.
        _ => 0,
    };
    Ok(len)
}

/// The length of a virtual channel capability (VC, VC9, MFVC) at `epos`, as C vfio-pci sizes
/// it: the base, one entry per VC, and the VC arbitration table. The port and function
/// arbitration tables are left out: userspace never writes them.
fn vc_cap_len(hw: &impl ConfigHw, epos: usize) -> Result<usize> {
    // CAST (below): small register offsets and fields.
    let evcc = hw.read(epos + bindings::PCI_VC_PORT_CAP1 as usize, 4)? & bindings::PCI_VC_CAP1_EVCC;
    let cap2 = hw.read(epos + bindings::PCI_VC_PORT_CAP2 as usize, 4)?;
    let phases = if cap2 & bindings::PCI_VC_CAP2_128_PHASE != 0 {
        128
    } else if cap2 & bindings::PCI_VC_CAP2_64_PHASE != 0 {
        64
    } else if cap2 & bindings::PCI_VC_CAP2_32_PHASE != 0 {
        32
    } else {
        0
    };
    let mut len = bindings::PCI_CAP_VC_BASE_SIZEOF as usize
        + (1 + evcc as usize) * bindings::PCI_CAP_VC_PER_VC_SIZEOF as usize;
    if phases != 0 {
        // The VC arbitration table: 4 bits a phase.
        len = len.next_multiple_of(16) + phases * 4 / 8;
    }
    Ok(len)
}

/// Fills `len` bytes of the virtual config space at `pos` from hardware, in the largest
/// aligned accesses possible.
fn fill(hw: &impl ConfigHw, buf: &mut [u8], mut pos: usize, len: usize) -> Result {
    let end = pos + len;
    while pos < end {
        let left = end - pos;
        let width = if left >= 4 && pos % 4 == 0 {
            4
        } else if left >= 2 && pos % 2 == 0 {
            2
        } else {
            1
        };
        let v = hw.read(pos, width)?;
        put(buf, pos, width, v);
        pos += width;
    }
    Ok(())
}

#[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
#[kernel::macros::kunit_tests(vfio_pci_core_rs_config)]
mod tests {
    use super::*;
    use core::cell::Cell;

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
    fn msi_tables_follow_the_layout() {
        // 64-bit with per-vector masking: address high virtual, data at 0x0c, mask bits
        // writable in hardware, not virtual.
        assert_eq!(MSI64_MASK_PERMS.masks(1, 1), Some((0xff, NONE)));
        assert_eq!(MSI64_MASK_PERMS.masks(2, 2), Some((0xff, 0xff)));
        assert_eq!(MSI64_MASK_PERMS.masks(8, 4), Some((ALL, ALL)));
        assert_eq!(MSI64_MASK_PERMS.masks(0xc, 2), Some((0xffff, 0xffff)));
        assert_eq!(MSI64_MASK_PERMS.masks(0x10, 4), Some((NONE, ALL)));
        // 32-bit without masking: data at 8, nothing after it.
        assert_eq!(MSI32_PERMS.masks(8, 2), Some((0xffff, 0xffff)));
        assert_eq!(MSI32_PERMS.masks(0xa, 2), Some((NONE, NONE)));
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

    /// A function's config space in memory.
    struct FakeHw(Cell<[u8; 256]>);

    impl ConfigHw for FakeHw {
        fn read(&self, pos: usize, width: usize) -> Result<u32> {
            Ok(get(&self.0.get(), pos, width))
        }

        fn write(&self, pos: usize, width: usize, val: u32) -> Result {
            let mut c = self.0.get();
            put(&mut c, pos, width, val);
            self.0.set(c);
            Ok(())
        }
    }

    /// The config space of a function (edu's IDs) whose capability list starts at 0x40.
    fn header() -> [u8; 256] {
        let mut c = [0u8; 256];
        put(&mut c, 0, 4, 0x11e8_1234);
        put(&mut c, STATUS, 2, bindings::PCI_STATUS_CAP_LIST);
        c[CAP_LIST] = 0x40;
        c
    }

    /// A function with a 1 MiB BAR0, a capability the core hides (CompactPCI hot swap, 0x06)
    /// at 0x40, MSI (64-bit, one vector) at 0x50 and a vendor capability of 8 bytes at 0x60.
    fn fake() -> FakeHw {
        let mut c = header();
        put(&mut c, BAR0, 4, 0xfe60_0000);
        c[INTX_PIN] = 1;
        c[0x40] = 0x06;
        c[0x41] = 0x50;
        c[0x50] = 0x05;
        c[0x51] = 0x60;
        // CAST: MSI flags fit in a byte.
        c[0x52] = bindings::PCI_MSI_FLAGS_64BIT as u8;
        c[0x60] = 0x09;
        c[0x61] = 0;
        c[0x62] = 8;
        c[0x64] = 0xab;
        FakeHw(Cell::new(c))
    }

    /// A function with a VPD capability at 0x40, and 64 bytes of VPD.
    struct VpdHw(FakeHw, Cell<[u8; 64]>);

    impl ConfigHw for VpdHw {
        fn read(&self, pos: usize, width: usize) -> Result<u32> {
            self.0.read(pos, width)
        }

        fn write(&self, pos: usize, width: usize, val: u32) -> Result {
            self.0.write(pos, width, val)
        }

        fn vpd_read(&self, addr: u32) -> Result<u32> {
            let a = usize::try_from(addr)?;
            let vpd = self.1.get();
            let b = vpd.get(a..a + 4).ok_or(ETIMEDOUT)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }

        fn vpd_write(&self, addr: u32, data: u32) -> Result {
            let a = usize::try_from(addr)?;
            let mut vpd = self.1.get();
            vpd.get_mut(a..a + 4)
                .ok_or(ETIMEDOUT)?
                .copy_from_slice(&data.to_le_bytes());
            self.1.set(vpd);
            Ok(())
        }
    }

    fn vpd_fake() -> VpdHw {
        let mut c = header();
        // CAST: the capability ID is a byte.
        c[0x40] = bindings::PCI_CAP_ID_VPD as u8;
        let mut vpd = [0u8; 64];
        vpd[0x10..0x14].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
        VpdHw(FakeHw(Cell::new(c)), Cell::new(vpd))
    }

    /// Extended capabilities at 0x100 and after, as reads see them.
    struct EcapHw([u8; 64]);

    impl ConfigHw for EcapHw {
        fn read(&self, pos: usize, width: usize) -> Result<u32> {
            let off = pos.checked_sub(CFG_SPACE_SIZE).ok_or(EINVAL)?;
            Ok(get(&self.0, off, width))
        }

        fn write(&self, _pos: usize, _width: usize, _val: u32) -> Result {
            Err(EINVAL)
        }
    }

    #[test]
    fn vc_and_dpa_capabilities_are_sized_as_c_sizes_them() -> Result {
        let mut c = [0u8; 64];
        let vc = bindings::PCI_EXT_CAP_ID_VC as u16;
        // One VC (EVCC 0), no arbitration table: the base and one entry.
        assert_eq!(ecap_len(&EcapHw(c), vc, CFG_SPACE_SIZE)?, 16 + 12);
        // Three more VCs, a 64-phase table: rounded up to 16, then 64 * 4 bits.
        c[4] = 3;
        // CAST: the flag fits in a byte.
        c[8] = bindings::PCI_VC_CAP2_64_PHASE as u8;
        assert_eq!(ecap_len(&EcapHw(c), vc, CFG_SPACE_SIZE)?, 64 + 32);
        c[8] = (bindings::PCI_VC_CAP2_128_PHASE | bindings::PCI_VC_CAP2_32_PHASE) as u8;
        let mfvc = bindings::PCI_EXT_CAP_ID_MFVC as u16;
        assert_eq!(ecap_len(&EcapHw(c), mfvc, CFG_SPACE_SIZE)?, 64 + 64);
        // DPA: the base and one byte per substate.
        c[4] = 7;
        let dpa = bindings::PCI_EXT_CAP_ID_DPA as u16;
        assert_eq!(ecap_len(&EcapHw(c), dpa, CFG_SPACE_SIZE)?, 16 + 8);
        Ok(())
    }

    #[test]
    fn vpd_is_read_and_written_through_its_capability() -> Result {
        let hw = vpd_fake();
        let mut vc = VConfig::new(&hw, facts())?;
        let f = bindings::PCI_VPD_ADDR_F;
        assert_eq!(read(&mut vc, &hw, CAP_LIST, 1)?, 0x40);
        // A read: the address without the flag; the flag set when the data is there.
        vc.write(&hw, 0x42, 2, 0x10)?;
        assert_eq!(read(&mut vc, &hw, 0x42, 2)?, 0x10 | f);
        assert_eq!(read(&mut vc, &hw, 0x44, 4)?, 0x4433_2211);
        // A write: the data, then the address with the flag; the flag cleared when done.
        vc.write(&hw, 0x44, 4, 0xdead_beef)?;
        vc.write(&hw, 0x42, 2, 0x20 | f)?;
        assert_eq!(read(&mut vc, &hw, 0x42, 2)?, 0x20);
        assert_eq!(hw.vpd_read(0x20)?, 0xdead_beef);
        // The hardware's registers are not touched.
        assert_eq!(hw.read(0x42, 2)?, 0);
        // The low byte alone does not start an access.
        vc.write(&hw, 0x42, 1, 0x30)?;
        assert_eq!(read(&mut vc, &hw, 0x42, 2)?, 0x30);
        // A failed access leaves the flag as it is.
        vc.write(&hw, 0x42, 2, 0x7e)?;
        assert_eq!(read(&mut vc, &hw, 0x42, 2)?, 0x7e);
        Ok(())
    }

    fn facts() -> DeviceFacts {
        let mut bars = [BarResource::default(); NUM_BARS];
        bars[0] = BarResource {
            start: 0xfe60_0000,
            len: 1 << 20,
            ..Default::default()
        };
        DeviceFacts {
            cfg_size: 256,
            bars,
            intx: true,
            ..Default::default()
        }
    }

    fn read(vc: &mut VConfig, hw: &impl ConfigHw, pos: usize, width: usize) -> Result<u32> {
        assert_eq!(vc.chunk(pos, width)?, width);
        vc.read(hw, pos, width)
    }

    #[test]
    fn unknown_capabilities_are_unlinked() -> Result {
        let hw = fake();
        let mut vc = VConfig::new(&hw, facts())?;
        // The list starts at MSI now, which links to the vendor capability.
        assert_eq!(read(&mut vc, &hw, CAP_LIST, 1)?, 0x50);
        assert_eq!(read(&mut vc, &hw, 0x50, 2)?, 0x6005);
        assert_eq!(read(&mut vc, &hw, 0x60, 4)?, 0x0008_0009);
        assert_eq!(read(&mut vc, &hw, 0x64, 1)?, 0xab);
        // The hidden capability's bytes are outside any capability: raw access.
        assert_eq!(read(&mut vc, &hw, 0x40, 2)?, 0x5006);
        Ok(())
    }

    #[test]
    fn bar_sizing_through_the_config_space() -> Result {
        let hw = fake();
        let mut vc = VConfig::new(&hw, facts())?;
        assert_eq!(read(&mut vc, &hw, BAR0, 4)?, 0xfe60_0000);
        vc.write(&hw, BAR0, 4, ALL)?;
        assert_eq!(read(&mut vc, &hw, BAR0, 4)?, 0xfff0_0000);
        // The real BAR never moved.
        assert_eq!(hw.read(BAR0, 4)?, 0xfe60_0000);
        // Unassigned BARs are unimplemented.
        vc.write(&hw, BAR0 + 4, 4, ALL)?;
        assert_eq!(read(&mut vc, &hw, BAR0 + 4, 4)?, 0);
        Ok(())
    }

    #[test]
    fn command_writes_reach_hardware_except_intx_disable() -> Result {
        let hw = fake();
        let mut vc = VConfig::new(&hw, facts())?;
        let intx = bindings::PCI_COMMAND_INTX_DISABLE;
        let fx = vc.write(&hw, COMMAND, 2, intx | bindings::PCI_COMMAND_MEMORY)?;
        assert!(fx.command);
        assert_eq!(hw.read(COMMAND, 2)?, bindings::PCI_COMMAND_MEMORY);
        assert_eq!(
            read(&mut vc, &hw, COMMAND, 2)?,
            intx | bindings::PCI_COMMAND_MEMORY
        );
        assert!(vc.memory_enabled());
        Ok(())
    }

    #[test]
    fn msi_is_virtual_and_never_enabled_by_config_writes() -> Result {
        let hw = fake();
        let mut vc = VConfig::new(&hw, facts())?;
        vc.write(&hw, 0x54, 4, 0xfee0_0000)?;
        assert_eq!(read(&mut vc, &hw, 0x54, 4)?, 0xfee0_0000);
        assert_eq!(hw.read(0x54, 4)?, 0);
        vc.write(&hw, 0x52, 2, bindings::PCI_MSI_FLAGS_ENABLE | (3 << 4))?;
        // Enable dropped, queue size limited to the one vector supported.
        let flags = read(&mut vc, &hw, 0x52, 2)?;
        assert_eq!(flags & bindings::PCI_MSI_FLAGS_ENABLE, 0);
        assert_eq!(flags & bindings::PCI_MSI_FLAGS_QSIZE, 0);
        // With MSI enabled by ioctl for 4 vectors, the enable bit sticks, the capability
        // offers 4 vectors, and a larger queue size is cut to them.
        vc.set_msi(true, Some(2));
        vc.write(&hw, 0x52, 2, bindings::PCI_MSI_FLAGS_ENABLE | (3 << 4))?;
        let flags = read(&mut vc, &hw, 0x52, 2)?;
        assert_eq!(
            flags & bindings::PCI_MSI_FLAGS_ENABLE,
            bindings::PCI_MSI_FLAGS_ENABLE
        );
        assert_eq!((flags & bindings::PCI_MSI_FLAGS_QSIZE) >> 4, 2);
        assert_eq!((flags & bindings::PCI_MSI_FLAGS_QMASK) >> 1, 2);
        assert_eq!(hw.read(0x52, 2)? & bindings::PCI_MSI_FLAGS_ENABLE, 1);
        // Disabled again: the next flags write drops the enable bit.
        vc.set_msi(false, None);
        vc.write(&hw, 0x52, 2, bindings::PCI_MSI_FLAGS_ENABLE)?;
        assert_eq!(
            read(&mut vc, &hw, 0x52, 2)? & bindings::PCI_MSI_FLAGS_ENABLE,
            0
        );
        Ok(())
    }

    #[test]
    fn accesses_are_chopped_and_bounded() -> Result {
        let hw = fake();
        let vc = VConfig::new(&hw, facts())?;
        assert_eq!(vc.chunk(0, 4)?, 4);
        assert_eq!(vc.chunk(1, 4)?, 1);
        assert_eq!(vc.chunk(2, 4)?, 2);
        assert_eq!(vc.chunk(0, 8)?, 4);
        assert_eq!(vc.chunk(255, 2), Err(EFAULT));
        assert_eq!(vc.chunk(256, 1), Err(EFAULT));
        assert_eq!(vc.chunk(usize::MAX, 2), Err(EFAULT));
        Ok(())
    }

    #[test]
    fn capabilities_at_the_end_of_config_space_are_safe() -> Result {
        // PM at 0xf8 (its control register ends the config space), then AF at 0xfc (its
        // control register would lie past it), the last one's next pointer unaligned.
        let hw = fake();
        let mut c = hw.0.get();
        c[0x61] = 0xf8;
        c[0xf8] = 0x01;
        c[0xf9] = 0xfd;
        c[0xfc] = 0x13;
        c[0xfd] = 0x02;
        hw.0.set(c);
        let mut vc = VConfig::new(&hw, facts())?;
        for pos in [0xf8, 0xfc] {
            assert_eq!(vc.chunk(pos, 4)?, 4);
            vc.write(&hw, pos, 4, ALL)?;
            read(&mut vc, &hw, pos, 4)?;
        }
        assert_eq!(vc.chunk(0xfc, 8), Err(EFAULT));
        Ok(())
    }

    #[test]
    fn no_intx_hides_the_pin() -> Result {
        let hw = fake();
        let mut vc = VConfig::new(
            &hw,
            DeviceFacts {
                intx: false,
                ..facts()
            },
        )?;
        assert_eq!(read(&mut vc, &hw, INTX_PIN, 1)?, 0);
        Ok(())
    }
}
