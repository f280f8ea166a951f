// SPDX-License-Identifier: GPL-2.0

//! Dynamic IDs of a PCI driver: the functions it binds besides those of its ID table, as
//! written to its `new_id` attribute or given to a module parameter such as vfio-pci's `ids=`.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::{
    Adapter,
    Driver, //
};
use crate::{
    bindings,
    driver,
    error::to_result,
    fmt,
    prelude::*, //
};

/// `PCI_ANY_ID`: any vendor or device.
const ANY_ID: u32 = !0;

/// A dynamic ID of a PCI driver (`pci_add_dynid()`): the functions it matches bind to the
/// driver as if its ID table listed them, with no ID information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynId {
    /// The vendor ID, or `!0` for any.
    pub vendor: u32,
    /// The device ID, or `!0` for any.
    pub device: u32,
    /// The subsystem vendor ID, or `!0` for any.
    pub subvendor: u32,
    /// The subsystem device ID, or `!0` for any.
    pub subdevice: u32,
    /// The class code (class, subclass, programming interface), compared under `class_mask`.
    pub class: u32,
    /// The bits of `class` that must match; 0 for any class.
    pub class_mask: u32,
}

impl DynId {
    /// Returns the ID of the functions with this vendor and device ID, of any subsystem and
    /// class.
    pub const fn new(vendor: u32, device: u32) -> Self {
        Self {
            vendor,
            device,
            subvendor: ANY_ID,
            subdevice: ANY_ID,
            class: 0,
            class_mask: 0,
        }
    }

    /// Parses `vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]`, hexadecimal
    /// fields (each with an optional `0x`), the format of vfio-pci's and pci-stub's `ids=`, as
    /// they parse it (the kernel's `sscanf()` with `"%x:%x:%x:%x:%x:%x"`): fields are read up
    /// to the first one that is missing or malformed, and the rest is ignored; at least the
    /// vendor and the device are needed (`None` otherwise). Fields wider than 32 bits keep
    /// their low bits.
    pub fn parse(s: &[u8]) -> Option<Self> {
        let mut fields = [ANY_ID, ANY_ID, ANY_ID, ANY_ID, 0, 0];
        let mut rest = s;
        let mut n = 0;
        while n < fields.len() {
            if n > 0 {
                match rest.split_first() {
                    Some((b':', tail)) => rest = tail,
                    _ => break,
                }
            }
            let Some((val, tail)) = parse_hex(rest) else {
                break;
            };
            fields[n] = val;
            rest = tail;
            n += 1;
        }
        if n < 2 {
            return None;
        }
        let [vendor, device, subvendor, subdevice, class, class_mask] = fields;
        Some(Self {
            vendor,
            device,
            subvendor,
            subdevice,
            class,
            class_mask,
        })
    }
}

/// As C's PCI drivers log a dynamic ID: `[vendor:device[subvendor:subdevice]] class
/// 0xCCCCCC/MMMMMMMM`.
impl fmt::Display for DynId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:04x}:{:04x}[{:04x}:{:04x}]] class {:#08x}/{:08x}",
            self.vendor, self.device, self.subvendor, self.subdevice, self.class, self.class_mask
        )
    }
}

/// Parses a hexadecimal number at the start of `s`, as the kernel's `sscanf()` does for `%x`:
/// leading white space, then a hexadecimal digit, then a `0x` or `0X` prefix is skipped if
/// there is one (even with no digit after it: `0x` alone is 0), then the digits. Returns the
/// number (its low 32 bits) and what follows.
fn parse_hex(s: &[u8]) -> Option<(u32, &[u8])> {
    let start = s.iter().position(|c| !c.is_ascii_whitespace())?;
    let mut s = &s[start..];
    if !s.first()?.is_ascii_hexdigit() {
        return None;
    }
    if let [b'0', b'x' | b'X', ..] = s {
        s = &s[2..];
    }
    let digits = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let val = s[..digits].iter().fold(0u32, |acc, &c| {
        // `c` is an ASCII hexadecimal digit, so `to_digit()` succeeds.
        let d = char::from(c).to_digit(16).unwrap_or(0);
        (acc << 4) | d
    });
    Some((val, &s[digits..]))
}

impl<T: Driver + 'static> driver::Registration<Adapter<T>> {
    /// Adds `id` to the dynamic IDs of the registered driver (`pci_add_dynid()`), and binds it
    /// to the functions without a driver that it matches.
    pub fn add_dynid(&self, id: &DynId) -> Result {
        // SAFETY: `self.driver()` is a registered `struct pci_driver`, registered as long as
        // `self` is borrowed, and `pci_add_dynid()` may be called from any thread. Its
        // `driver_data` is 0, which the driver reads as no ID information (`dynid_no_data`).
        to_result(unsafe {
            bindings::pci_add_dynid(
                self.driver().get(),
                id.vendor,
                id.device,
                id.subvendor,
                id.subdevice,
                id.class,
                id.class_mask,
                0,
            )
        })
    }
}

#[cfg(CONFIG_RUST_PCI_KUNIT_TEST)]
#[kunit_tests(rust_pci_dynid)]
mod tests {
    use super::{
        DynId,
        ANY_ID, //
    };

    #[test]
    fn vendor_and_device() {
        assert_eq!(DynId::parse(b"8086:10c9"), Some(DynId::new(0x8086, 0x10c9)));
        assert_eq!(DynId::parse(b"0x1b36:0X0005"), Some(DynId::new(0x1b36, 5)));
        assert_eq!(
            DynId::parse(b" 1af4: 1041"),
            Some(DynId::new(0x1af4, 0x1041))
        );
    }

    #[test]
    fn every_field() {
        let id = DynId::parse(b"10de:ffff:1462:3fa1:030000:ff0000");
        assert_eq!(
            id,
            Some(DynId {
                vendor: 0x10de,
                device: 0xffff,
                subvendor: 0x1462,
                subdevice: 0x3fa1,
                class: 0x030000,
                class_mask: 0xff0000,
            })
        );
        let id = DynId::parse(b"8086:1234:ffffffff").map(|id| (id.subvendor, id.subdevice));
        assert_eq!(id, Some((ANY_ID, ANY_ID)));
    }

    #[test]
    fn rest_ignored_as_sscanf_does() {
        // Fields are read up to the first malformed one.
        assert_eq!(
            DynId::parse(b"8086:10c9xyz"),
            Some(DynId::new(0x8086, 0x10c9))
        );
        assert_eq!(
            DynId::parse(b"8086:10c9:"),
            Some(DynId::new(0x8086, 0x10c9))
        );
        let id = DynId::parse(b"8086:10c9:1af4:zz").map(|id| (id.subvendor, id.subdevice));
        assert_eq!(id, Some((0x1af4, ANY_ID)));
        // "0x" alone is 0, as the kernel's sscanf() reads it.
        assert_eq!(DynId::parse(b"0x:1"), Some(DynId::new(0, 1)));
        assert_eq!(DynId::parse(b"1:0x"), Some(DynId::new(1, 0)));
        let id = DynId::parse(b"1:0x:abcd").map(|id| (id.device, id.subvendor));
        assert_eq!(id, Some((0, 0xabcd)));
        // A field must start with a digit.
        assert_eq!(DynId::parse(b"x1:1"), None);
        // Wider than 32 bits: the low bits.
        assert_eq!(
            DynId::parse(b"123456789:1"),
            Some(DynId::new(0x23456789, 1))
        );
    }

    #[test]
    fn too_few_fields() {
        for s in [
            &b""[..],
            b"8086",
            b"8086:",
            b":10c9",
            b"xyz",
            b"8086;10c9",
            b"  ",
        ] {
            assert_eq!(DynId::parse(s), None);
        }
    }
}
