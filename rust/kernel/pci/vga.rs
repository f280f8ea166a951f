// SPDX-License-Identifier: GPL-2.0

//! VGA functions: their legacy resources (memory at `0xa0000..0xc0000`, I/O ports
//! `0x3b0..0x3bc` and `0x3c0..0x3e0`), which every VGA function of the system decodes at the
//! same addresses, and the VGA arbiter, which routes them to one function at a time.
//!
//! C headers: [`include/linux/vgaarb.h`](srctree/include/linux/vgaarb.h),
//! [`include/linux/aperture.h`](srctree/include/linux/aperture.h)

use super::Device;
use crate::{
    bindings,
    device,
    devres::Devres,
    error::to_result,
    ffi::{
        c_uint,
        c_ulong,
        c_void, //
    },
    prelude::*,
    sync::aref::ARef, //
};
use core::marker::PhantomData;

/// A set of VGA resources, as the VGA arbiter counts them (`VGA_RSRC_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VgaResources(u32);

impl VgaResources {
    /// None.
    pub const NONE: Self = Self(bindings::VGA_RSRC_NONE);
    /// The legacy I/O ports.
    pub const LEGACY_IO: Self = Self(bindings::VGA_RSRC_LEGACY_IO);
    /// The legacy memory.
    pub const LEGACY_MEM: Self = Self(bindings::VGA_RSRC_LEGACY_MEM);
    /// The function's I/O BARs.
    pub const NORMAL_IO: Self = Self(bindings::VGA_RSRC_NORMAL_IO);
    /// The function's memory BARs.
    pub const NORMAL_MEM: Self = Self(bindings::VGA_RSRC_NORMAL_MEM);
    /// All of them.
    pub const ALL: Self = Self(
        bindings::VGA_RSRC_LEGACY_IO
            | bindings::VGA_RSRC_LEGACY_MEM
            | bindings::VGA_RSRC_NORMAL_IO
            | bindings::VGA_RSRC_NORMAL_MEM,
    );

    /// Returns the union of `self` and `other`.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Returns the raw `VGA_RSRC_*` bits.
    pub const fn as_raw(self) -> u32 {
        self.0
    }
}

/// A range of legacy VGA addresses that an access can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VgaRange {
    /// The legacy memory, `0xa0000..0xc0000`.
    Mem,
    /// The I/O ports `0x3b0..0x3bc` (monochrome).
    MonoIo,
    /// The I/O ports `0x3c0..0x3e0` (color and common registers).
    ColorIo,
}

impl VgaRange {
    /// Returns the range that address `addr` (a memory address for [`VgaRange::Mem`], an I/O
    /// port otherwise) is in, as the VFIO VGA region lays them out in one address space, with
    /// the address's offset in the range; `None` outside them.
    pub fn find(addr: u64) -> Option<(Self, u64)> {
        [Self::Mem, Self::MonoIo, Self::ColorIo]
            .into_iter()
            .find(|r| (r.start()..r.start() + r.size()).contains(&addr))
            .map(|r| (r, addr - r.start()))
    }

    /// The first address of the range.
    pub const fn start(self) -> u64 {
        match self {
            Self::Mem => 0xa0000,
            Self::MonoIo => 0x3b0,
            Self::ColorIo => 0x3c0,
        }
    }

    /// The size of the range, in bytes.
    pub const fn size(self) -> u64 {
        match self {
            Self::Mem => 0x20000,
            Self::MonoIo => 0xc,
            Self::ColorIo => 0x20,
        }
    }

    /// The VGA resource the range is part of.
    pub const fn resource(self) -> VgaResources {
        match self {
            Self::Mem => VgaResources::LEGACY_MEM,
            Self::MonoIo | Self::ColorIo => VgaResources::LEGACY_IO,
        }
    }
}

/// Decides which VGA resources a function decodes, for the VGA arbiter, which asks when the
/// number of VGA functions changes (`set_decode` of `vga_client_register()`).
///
/// Implementations must not sleep: the arbiter calls them in atomic context.
pub trait VgaDecode: 'static {
    /// Returns what `pdev` decodes; `single_vga` tells whether it is the only VGA function in
    /// the system. Called in atomic context, with the arbiter's spinlock held.
    fn decodes(pdev: &Device, single_vga: bool) -> VgaResources;
}

/// A VGA function's registration with the VGA arbiter, with `T` deciding what it decodes;
/// unregistered on drop, when the function is said to decode every VGA resource again. Held
/// in a [`Devres`]: the registration ends, at the latest, when the function is unbound.
pub struct VgaClient<T: VgaDecode> {
    pdev: ARef<Device>,
    // A policy, not data: `fn() -> T` keeps the client `Send` and `Sync` whatever `T` is.
    _decode: PhantomData<fn() -> T>,
}

impl<T: VgaDecode> VgaClient<T> {
    extern "C" fn set_decode(pdev: *mut bindings::pci_dev, single_vga: bool) -> u32 {
        // SAFETY: The arbiter calls this with a valid function, registered as its client,
        // which a `VgaClient` keeps referenced until it unregisters it.
        let pdev = unsafe { &*pdev.cast::<Device>() };
        T::decodes(pdev, single_vga).as_raw()
    }

    /// Registers `pdev`, a VGA function being probed, with the VGA arbiter
    /// (`vga_client_register()`), and tells it what the function decodes
    /// (`vga_set_legacy_decoding()`). `EINVAL` for a function that is not VGA.
    pub fn new(pdev: &Device<device::Core<'_>>) -> Result<Devres<Self>> {
        if !pdev.is_vga() {
            return Err(EINVAL);
        }
        // SAFETY: `pdev.as_raw()` is a valid function; `set_decode` is valid until the
        // client is unregistered in `drop`.
        to_result(unsafe { bindings::vga_client_register(pdev.as_raw(), Some(Self::set_decode)) })?;
        // SAFETY: `pdev.as_raw()` is a valid function.
        unsafe {
            bindings::vga_set_legacy_decoding(pdev.as_raw(), T::decodes(pdev, false).as_raw())
        };
        let dev: &Device = pdev;
        // If this fails, dropping the client unregisters it.
        Devres::new(
            pdev.as_ref(),
            Self {
                pdev: dev.into(),
                _decode: PhantomData,
            },
        )
    }
}

impl<T: VgaDecode> Drop for VgaClient<T> {
    fn drop(&mut self) {
        // SAFETY: The function is referenced and registered as a client; registering no
        // `set_decode` unregisters it (`vga_client_unregister()`).
        unsafe {
            bindings::vga_client_register(self.pdev.as_raw(), None);
            bindings::vga_set_legacy_decoding(self.pdev.as_raw(), VgaResources::ALL.as_raw());
        }
    }
}

/// Access to one range of legacy VGA addresses of a function: the arbiter routes the range's
/// resource to the function (`vga_get()`) and the range is mapped, until this drops.
pub struct VgaAccess<'a> {
    pdev: &'a Device<device::Bound>,
    range: VgaRange,
    addr: *mut c_void,
}

impl VgaAccess<'_> {
    /// Reads `width` bytes (1, 2 or 4) at offset `off` of the range: `EINVAL` if they do not
    /// fit in it or for another width.
    pub fn read(&self, off: u64, width: usize) -> Result<u32> {
        let addr = self.at(off, width)?;
        // SAFETY: `addr` is within the mapping of the range, with room for `width` bytes, and
        // the arbiter routes the range to the function.
        Ok(unsafe { super::ioread_width(addr, width) })
    }

    /// Writes the low `width` bytes (1, 2 or 4) of `val` at offset `off` of the range:
    /// `EINVAL` if they do not fit in it or for another width.
    pub fn write(&self, off: u64, width: usize, val: u32) -> Result {
        let addr = self.at(off, width)?;
        // SAFETY: As in `read()`.
        unsafe { super::iowrite_width(addr, width, val) };
        Ok(())
    }

    /// Returns the address of `width` bytes at `off` in the mapping.
    fn at(&self, off: u64, width: usize) -> Result<*mut c_void> {
        if !matches!(width, 1 | 2 | 4) {
            return Err(EINVAL);
        }
        // CAST: `width` is at most 4.
        let end = off.checked_add(width as u64).ok_or(EINVAL)?;
        if end > self.range.size() {
            return Err(EINVAL);
        }
        // CAST: `off` is below the range's length, at most 128 KiB.
        Ok(self.addr.wrapping_byte_add(off as usize))
    }
}

impl Drop for VgaAccess<'_> {
    fn drop(&mut self) {
        // SAFETY: `addr` was mapped by `vga_access()` as the range says, and the resource
        // routed to the function there.
        unsafe {
            match self.range {
                VgaRange::Mem => bindings::iounmap(self.addr),
                VgaRange::MonoIo | VgaRange::ColorIo => bindings::ioport_unmap(self.addr),
            }
            bindings::vga_put(self.pdev.as_raw(), self.range.resource().as_raw());
        }
    }
}

impl Device {
    /// Whether the function is a VGA-compatible display controller (class `0x0300`).
    pub fn is_vga(&self) -> bool {
        self.pci_class().as_raw() >> 8 == bindings::PCI_CLASS_DISPLAY_VGA
    }
}

impl Device<device::Bound> {
    /// Has the VGA arbiter route the resource of `range` to the function, waiting for it
    /// (interruptibly: `EINTR`), and maps the range, for accesses through the result.
    pub fn vga_access(&self, range: VgaRange) -> Result<VgaAccess<'_>> {
        let rsrc = range.resource().as_raw();
        // SAFETY: `self.as_raw()` is a valid function; on success, the resource is given back
        // by `VgaAccess::drop()`, or below.
        to_result(unsafe { bindings::vga_get(self.as_raw(), rsrc, 1) })?;
        // CAST: the ranges' addresses and sizes are small constants.
        let (start, len) = (range.start() as usize, range.size() as usize);
        // SAFETY: Mapping fixed legacy VGA addresses, unmapped by `VgaAccess::drop()`.
        let addr = unsafe {
            match range {
                VgaRange::Mem => bindings::ioremap(start as bindings::resource_size_t, len),
                VgaRange::MonoIo | VgaRange::ColorIo => {
                    bindings::ioport_map(start as c_ulong, len as c_uint)
                }
            }
        };
        if addr.is_null() {
            // SAFETY: The resource was taken above.
            unsafe { bindings::vga_put(self.as_raw(), rsrc) };
            return Err(ENOMEM);
        }
        Ok(VgaAccess {
            pdev: self,
            range,
            addr: addr.cast(),
        })
    }
}

impl Device<device::Core<'_>> {
    /// Removes the firmware framebuffers (and the VGA console, for the primary VGA function)
    /// that use the function's memory, so that the driver `name` can take it over
    /// (`aperture_remove_conflicting_pci_devices()`).
    pub fn remove_conflicting_framebuffers(&self, name: &CStr) -> Result {
        #[cfg(CONFIG_APERTURE_HELPERS)]
        // SAFETY: `self.as_raw()` is a valid function being probed; `name` is a valid string
        // for the duration of the call.
        to_result(unsafe {
            bindings::aperture_remove_conflicting_pci_devices(self.as_raw(), name.as_char_ptr())
        })?;
        #[cfg(not(CONFIG_APERTURE_HELPERS))]
        let _ = name;
        Ok(())
    }
}

/// Whether another VGA function than `pdev` is below the bridge above `pdev` (on its bus or
/// the buses below it), in the same PCI segment: the legacy VGA resources then have to be
/// routed to one of them at a time.
pub fn other_vga_below_bridge(pdev: &Device) -> bool {
    // SAFETY: `pdev.as_raw()` is a valid function, whose bus is valid as long as it is.
    let (bus, max, domain) = unsafe {
        let bus = (*pdev.as_raw()).bus;
        (
            (*bus).number,
            bindings::pci_bus_max_busnr(bus),
            bindings::pci_domain_nr(bus),
        )
    };
    let mut cur: *mut bindings::pci_dev = core::ptr::null_mut();
    loop {
        // SAFETY: `cur` is null or the function that the previous call returned, referenced;
        // `pci_get_class()` drops that reference and takes one on the function it returns.
        cur = unsafe { bindings::pci_get_class(bindings::PCI_CLASS_DISPLAY_VGA << 8, cur) };
        if cur.is_null() {
            return false;
        }
        // SAFETY: `cur` is a valid function, referenced until the next call.
        let other = unsafe { &*cur.cast::<Device>() };
        // SAFETY: `cur` is a valid function, whose bus is valid as long as it is.
        let other_domain = unsafe { bindings::pci_domain_nr((*cur).bus) };
        if core::ptr::eq(other, pdev) || other_domain != domain || other.on_root_bus() {
            continue;
        }
        if (bus..=max).contains(&other.bus_nr()) {
            // SAFETY: `cur` is referenced by `pci_get_class()`; the loop ends here.
            unsafe { bindings::pci_dev_put(cur) };
            return true;
        }
    }
}
