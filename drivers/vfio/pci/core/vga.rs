// SPDX-License-Identifier: GPL-2.0

//! The VGA region: on a VGA function, unless `disable_vga`, the legacy VGA memory
//! (`0xa0000..0xc0000`) and I/O ports (`0x3b0..0x3bc`, `0x3c0..0x3e0`) at their own addresses
//! in one region of `0xc0000` bytes, which the VGA arbiter routes to the function around each
//! access, as C vfio-pci does with `CONFIG_VFIO_PCI_VGA`. With
//! `CONFIG_VFIO_PCI_CORE_RUST_VGA` only; without it, the region does not exist (`EINVAL`), but
//! VGA functions are still registered with the VGA arbiter, decoding as with `disable_vga`.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    pci,
    prelude::*, //
};

#[cfg(CONFIG_VGA_ARB)]
use kernel::devres::Devres;

/// The size of the VGA region.
pub(crate) const REGION_SIZE: u64 = 0xc0000;

/// Whether the function has a VGA region: a VGA function, with VGA support, unless
/// `disable_vga`.
pub(crate) fn enabled(pdev: &pci::Device, disable_vga: bool) -> bool {
    cfg!(CONFIG_VFIO_PCI_CORE_RUST_VGA) && !disable_vga && is_vga(pdev)
}

#[cfg(CONFIG_VGA_ARB)]
fn is_vga(pdev: &pci::Device) -> bool {
    pdev.is_vga()
}

#[cfg(not(CONFIG_VGA_ARB))]
fn is_vga(_pdev: &pci::Device) -> bool {
    false
}

#[cfg(CONFIG_VGA_ARB)]
mod arbiter {
    use kernel::pci::{
        self,
        VgaResources, //
    };

    /// What a VGA function with a VGA region decodes: everything, its legacy resources
    /// included, since userspace may access them.
    pub(crate) struct DecodeAll;

    impl pci::VgaDecode for DecodeAll {
        fn decodes(_pdev: &pci::Device, _single_vga: bool) -> VgaResources {
            VgaResources::ALL
        }
    }

    /// What a VGA function without a VGA region (`disable_vga`, or no VGA support) decodes,
    /// as C vfio-pci says: its legacy resources only if it is the only VGA function in the
    /// system, on a root bus, or not the only one below its bridge; otherwise userspace cannot
    /// reach them, and the bridge can stop routing them.
    pub(crate) struct DecodeUnlessAlone;

    impl pci::VgaDecode for DecodeUnlessAlone {
        fn decodes(pdev: &pci::Device, single_vga: bool) -> VgaResources {
            if single_vga || pdev.on_root_bus() || pci::other_vga_below_bridge(pdev) {
                VgaResources::ALL
            } else {
                VgaResources::NORMAL_IO.with(VgaResources::NORMAL_MEM)
            }
        }
    }
}

/// A VGA function's registration with the VGA arbiter, for as long as it is bound.
pub(crate) enum VgaRegistration {
    /// With a VGA region.
    #[cfg(CONFIG_VGA_ARB)]
    Enabled {
        _client: Devres<pci::VgaClient<arbiter::DecodeAll>>,
    },
    /// Without.
    #[cfg(CONFIG_VGA_ARB)]
    Disabled {
        _client: Devres<pci::VgaClient<arbiter::DecodeUnlessAlone>>,
    },
}

/// Registers `pdev`, being probed, with the VGA arbiter if it is a VGA function, as C
/// vfio-pci's `vfio_pci_vga_init()` does, with a VGA region or without: the firmware
/// framebuffers on it removed for the driver `name`, then the function registered, decoding
/// as its VGA region needs. `None` for other functions, and without the VGA arbiter.
pub(crate) fn register(
    pdev: &pci::Device<Core<'_>>,
    name: &CStr,
    disable_vga: bool,
) -> Result<Option<VgaRegistration>> {
    if !is_vga(pdev) {
        return Ok(None);
    }
    #[cfg(CONFIG_VGA_ARB)]
    {
        pdev.remove_conflicting_framebuffers(name)?;
        Ok(Some(if enabled(pdev, disable_vga) {
            VgaRegistration::Enabled {
                _client: pci::VgaClient::new(pdev)?,
            }
        } else {
            VgaRegistration::Disabled {
                _client: pci::VgaClient::new(pdev)?,
            }
        }))
    }
    #[cfg(not(CONFIG_VGA_ARB))]
    {
        let _ = (name, disable_vga);
        Ok(None)
    }
}

/// Returns how many bytes of an access of `count` bytes at `pos` of the VGA region stay in one
/// legacy range, as C vfio-pci cuts them: `EINVAL` outside the ranges.
pub(crate) fn access_len(pos: u64, count: usize) -> Result<usize> {
    #[cfg(CONFIG_VFIO_PCI_CORE_RUST_VGA)]
    {
        let (range, off) = pci::VgaRange::find(pos).ok_or(EINVAL)?;
        // CAST: the result is at most `count`.
        Ok((range.size() - off).min(count as u64) as usize)
    }
    #[cfg(not(CONFIG_VFIO_PCI_CORE_RUST_VGA))]
    {
        let _ = (pos, count);
        Err(EINVAL)
    }
}

/// Reads or writes `buf` at `pos` of the VGA region, within one legacy range
/// ([`access_len`]), in C vfio-pci's accesses (naturally aligned, up to 4 bytes), with the
/// range routed to the function for the access (`EINTR` if the wait for it is interrupted).
/// VGA memory is legacy and not behind a BAR: as C, the command register is not checked.
pub(crate) fn rw(pdev: &pci::Device<Bound>, pos: u64, buf: &mut [u8], write: bool) -> Result {
    #[cfg(CONFIG_VFIO_PCI_CORE_RUST_VGA)]
    {
        let (range, off) = pci::VgaRange::find(pos).ok_or(EINVAL)?;
        let access = pdev.vga_access(range)?;
        crate::device::io_loop(
            off,
            buf,
            write,
            None,
            4,
            |off, width| access.read(off, width).map(u64::from),
            // CAST: truncating to the access width, at most 4 bytes.
            |off, width, v| access.write(off, width, v as u32),
        )
    }
    #[cfg(not(CONFIG_VFIO_PCI_CORE_RUST_VGA))]
    {
        let _ = (pdev, pos, buf, write);
        Err(EINVAL)
    }
}
