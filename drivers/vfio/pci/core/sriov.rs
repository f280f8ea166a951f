// SPDX-License-Identifier: GPL-2.0

//! SR-IOV: VFs that userspace enables on a PF bound to a VFIO PCI driver, and the VF token that
//! the PF's user shares with the users of its VFs.
//!
//! There is some trust between a PF and its VFs: the PF hosts the SR-IOV capability, can reset
//! the VFs, and its driver often has access to what goes through them. So, as C vfio-pci
//! requires, the users of a PF and of its VFs opt in to that trust with a shared VF token, a
//! UUID:
//!
//! - a VF whose PF is bound to a VFIO PCI driver is only opened with the PF's token
//!   (`"<VF name> vf_token=<UUID>"` for the group, `VFIO_DEVICE_BIND_FLAG_TOKEN` for the device
//!   file);
//! - a PF whose VFs are in use is only opened with the current token; while they are not in
//!   use, the token given to open the PF becomes the token, and its user can set it with the
//!   `VFIO_DEVICE_FEATURE_PCI_VF_TOKEN` feature;
//! - a token given where none is needed is an error.

use core::ptr;

use kernel::{
    device,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        global_lock,
        Arc,
        Mutex, //
    },
    vfio::Uuid, //
};

/// The textual length of a UUID, `UUID_STRING_LEN`.
const UUID_STRING_LEN: usize = 36;

/// The option that gives a VF token after the device name, `"<name> vf_token=<UUID>"`.
const VF_TOKEN_ARG: &[u8] = b"vf_token=";

/// The VF token of a PF and the number of its VFs open through VFIO.
#[derive(Debug)]
pub(crate) struct TokenState {
    pub(crate) uuid: Uuid,
    pub(crate) users: u32,
}

impl TokenState {
    /// Checks the token `given` to open the PF that owns this token: the current token if its
    /// VFs are in use (`EACCES` otherwise); else any or none, and one given becomes the token.
    pub(crate) fn open_pf(&mut self, given: Option<&Uuid>) -> Result {
        if self.users != 0 {
            match given {
                Some(uuid) if *uuid == self.uuid => Ok(()),
                _ => Err(EACCES),
            }
        } else {
            if let Some(uuid) = given {
                self.uuid = *uuid;
            }
            Ok(())
        }
    }

    /// Checks the token `given` to open a VF whose PF has the token `pf`, or, with `pf`
    /// `None`, is not bound to a VFIO PCI driver: the PF's token is needed (`EACCES`), and no
    /// token is allowed without such a PF (`EINVAL`).
    pub(crate) fn open_vf(pf: Option<&TokenState>, given: Option<&Uuid>) -> Result {
        match (pf, given) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(EINVAL),
            (Some(_), None) => Err(EACCES),
            (Some(pf), Some(uuid)) if *uuid == pf.uuid => Ok(()),
            (Some(_), Some(_)) => Err(EACCES),
        }
    }
}

/// The VF token of a PF, shared with the devices of its VFs.
#[pin_data]
pub(crate) struct VfToken {
    #[pin]
    state: Mutex<TokenState>,
}

impl VfToken {
    /// A new token, a random UUID, with no users.
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- kernel::new_mutex!(TokenState {
                    uuid: Uuid::generate(),
                    users: 0,
                }),
            }),
            GFP_KERNEL,
        )
    }
}

/// A PF on which [`Sriov::configure`] enabled VFs.
struct SriovPf {
    pf: ARef<pci::Device>,
    token: Arc<VfToken>,
    /// Keeps the PF in D0 while its VFs exist: a PF must not be in a lower power state than
    /// its VFs.
    _pm: pci::RuntimePmGet,
}

global_lock! {
    // SAFETY: Initialized by the core module's init, before any driver can use the core.
    unsafe(uninit) static SRIOV_PFS: Mutex<KVec<SriovPf>> = KVec::new();
}

/// Initializes the list of PFs with VFs enabled.
///
/// # Safety
///
/// Called once, from the core module's init.
pub(crate) unsafe fn init() {
    // SAFETY: Called once, before any use of `SRIOV_PFS` (function safety requirements).
    unsafe { SRIOV_PFS.init() };
}

/// What a function is to SR-IOV, with what its VFIO device needs of it.
enum Role {
    /// A PF, with its VF token.
    Pf(Arc<VfToken>),
    /// A VF, with the token of its PF if VFIO enabled the VF.
    Vf(Option<Arc<VfToken>>),
    /// Neither.
    None,
}

/// The SR-IOV state of a function handed to userspace.
pub(crate) struct Sriov {
    role: Role,
}

impl Sriov {
    /// The state of `pdev`, being probed. For a PF, a new VF token; for a VF, the token of its
    /// PF if VFIO enabled it (it stays so until the VF is removed, which comes first).
    pub(crate) fn new(pdev: &pci::Device) -> Result<Self> {
        let role = if pdev.is_virtfn() {
            let physfn = pdev.physfn();
            let pfs = SRIOV_PFS.lock();
            Role::Vf(
                pfs.iter()
                    .find(|e| ptr::eq(&*e.pf, physfn))
                    .map(|e| e.token.clone()),
            )
        } else if pdev.is_physfn() {
            Role::Pf(VfToken::new()?)
        } else {
            Role::None
        };
        Ok(Self { role })
    }

    /// Whether the function is a PF.
    pub(crate) fn is_pf(&self) -> bool {
        matches!(self.role, Role::Pf(_))
    }

    /// Checks the VF token `given` to open the device, with C vfio-pci's rules (see the
    /// module documentation).
    pub(crate) fn match_token(&self, given: Option<&Uuid>) -> Result {
        match &self.role {
            Role::Pf(token) => token.state.lock().open_pf(given),
            Role::Vf(pf) => match pf {
                Some(t) => TokenState::open_vf(Some(&t.state.lock()), given),
                None => TokenState::open_vf(None, given),
            },
            Role::None if given.is_some() => Err(EINVAL),
            Role::None => Ok(()),
        }
    }

    /// Sets the VF token of a PF (`ENOTTY` for other functions), as
    /// `VFIO_DEVICE_FEATURE_PCI_VF_TOKEN` asks.
    pub(crate) fn set_token(&self, uuid: &Uuid) -> Result {
        let Role::Pf(token) = &self.role else {
            return Err(ENOTTY);
        };
        token.state.lock().uuid = *uuid;
        Ok(())
    }

    /// Counts an open (`true`) or close of a VF with its PF's token.
    pub(crate) fn vf_user(&self, open: bool) {
        if let Role::Vf(Some(token)) = &self.role {
            let mut state = token.state.lock();
            if open {
                state.users += 1;
            } else {
                state.users = state.users.saturating_sub(1);
            }
        }
    }

    /// Enables `nr_virtfn` VFs on the PF `pdev`, or disables them for 0, as a write to its
    /// `sriov_numvfs` attribute asks. `active` is told when VFs are about to be enabled, once
    /// the PF is resumed (`true`), and when they are gone again or could not be enabled
    /// (`false`). Enabling twice without disabling in between, or on a function that is not a
    /// PF, is `EINVAL` (and `active` is not told); disabling always succeeds.
    pub(crate) fn configure(
        &self,
        pdev: &pci::Device<device::Core<'_>>,
        nr_virtfn: u16,
        active: impl Fn(bool),
    ) -> Result<u16> {
        let pf: &pci::Device = pdev;
        let remove = || {
            SRIOV_PFS.lock().retain(|e| !ptr::eq(&*e.pf, pf));
        };
        if nr_virtfn == 0 {
            if pdev.num_vf() != 0 {
                pdev.disable_sriov();
            }
            remove();
            active(false);
            return Ok(0);
        }
        let Role::Pf(token) = &self.role else {
            return Err(EINVAL);
        };
        // Resumed before the list is locked: VF probes, elsewhere, look the list up.
        let pm = pdev.runtime_resume_get()?;
        {
            let mut pfs = SRIOV_PFS.lock();
            if pfs.iter().any(|e| ptr::eq(&*e.pf, pf)) {
                return Err(EINVAL);
            }
            pfs.push(
                SriovPf {
                    pf: pf.into(),
                    token: token.clone(),
                    _pm: pm,
                },
                GFP_KERNEL,
            )?;
        }
        active(true);
        // The VFs are probed before this returns: the list must not be locked.
        if let Err(e) = pdev.enable_sriov(nr_virtfn) {
            remove();
            active(false);
            return Err(e);
        }
        Ok(nr_virtfn)
    }
}

/// Finds where a `"<name> vf_token=<UUID>"` string that `VFIO_GROUP_GET_DEVICE_FD` was given
/// selects the device called `name`, as C vfio-pci's `match` does: `Ok(None)` if it is not
/// this device, `Ok(Some(token))` if it is, with the token if one is given, `EINVAL` for an
/// option that is unknown, given twice or malformed.
pub(crate) fn parse_match(name: &[u8], buf: &[u8]) -> Result<Option<Option<Uuid>>> {
    let Some(mut rest) = buf.strip_prefix(name) else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Ok(Some(None));
    }
    if rest[0] != b' ' {
        return Ok(None);
    }
    let mut token = None;
    while let Some((&c, tail)) = rest.split_first() {
        if c == b' ' {
            rest = tail;
            continue;
        }
        match rest.strip_prefix(VF_TOKEN_ARG) {
            Some(arg) if token.is_none() => {
                let text = arg.get(..UUID_STRING_LEN).ok_or(EINVAL)?;
                token = Some(parse_uuid(text)?);
                rest = &arg[UUID_STRING_LEN..];
            }
            _ => return Err(EINVAL),
        }
    }
    Ok(Some(token))
}

/// Parses the textual form of a UUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hexadecimal
/// digits of either case, as `uuid_parse()`: `EINVAL` for anything else.
pub(crate) fn parse_uuid(text: &[u8]) -> Result<Uuid> {
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    if text.len() != UUID_STRING_LEN {
        return Err(EINVAL);
    }
    let digit = |c: u8| -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(EINVAL),
        }
    };
    let mut uuid = [0u8; 16];
    let mut pos = 0;
    for byte in uuid.iter_mut() {
        if HYPHENS.contains(&pos) {
            if text[pos] != b'-' {
                return Err(EINVAL);
            }
            pos += 1;
        }
        *byte = digit(text[pos])? << 4 | digit(text[pos + 1])?;
        pos += 2;
    }
    Ok(Uuid(uuid))
}

/// Sets `driver_override` of the VFs of a PF as they appear, so that they are bound to the
/// PF's driver, as C vfio-pci does: a VFIO driver's VFs are for userspace too.
pub(crate) struct VfCapture {
    pf: ARef<pci::Device>,
    driver: &'static CStr,
}

impl VfCapture {
    /// Captures the VFs of `pf` for the driver called `driver`.
    pub(crate) fn new(pf: &pci::Device, driver: &'static CStr) -> Self {
        Self {
            pf: pf.into(),
            driver,
        }
    }
}

impl pci::BusNotify for VfCapture {
    fn device_added(&self, pdev: &pci::Device) {
        if !pdev.is_virtfn() || !ptr::eq(pdev.physfn(), &*self.pf) {
            return;
        }
        let pf: &pci::Device = &self.pf;
        let vf: &device::Device = pdev.as_ref();
        dev_info!(pf, "Captured SR-IOV VF {} driver_override\n", vf.name());
        if let Err(e) = pdev.set_driver_override(self.driver) {
            dev_warn!(pf, "VF {} driver_override not set: {:?}\n", vf.name(), e);
        }
    }
}

#[cfg(CONFIG_VFIO_PCI_CORE_RUST_KUNIT_TEST)]
#[kernel::macros::kunit_tests(vfio_pci_core_rs_vf_token)]
mod tests {
    use super::{
        parse_match,
        parse_uuid,
        TokenState, //
    };
    use kernel::{
        prelude::*,
        vfio::Uuid, //
    };

    const U1: &[u8] = b"52ac9bff-3a88-4fbd-901a-0d767c3b6c97";
    const U2: &[u8] = b"88594674-90A0-47a9-aea8-9d9b352ac08a";

    fn u1() -> Uuid {
        Uuid([
            0x52, 0xac, 0x9b, 0xff, 0x3a, 0x88, 0x4f, 0xbd, 0x90, 0x1a, 0x0d, 0x76, 0x7c, 0x3b,
            0x6c, 0x97,
        ])
    }

    #[test]
    fn uuids_parse_as_uuid_parse() {
        assert_eq!(parse_uuid(U1), Ok(u1()));
        assert_eq!(parse_uuid(U2).map(|u| u.0[4]), Ok(0x90));
        // Hyphens where they belong, hex digits elsewhere, exactly 36 characters.
        assert_eq!(
            parse_uuid(b"52ac9bff3a88-4fbd-901a-0d767c3b6c97-"),
            Err(EINVAL)
        );
        assert_eq!(
            parse_uuid(b"52ac9bff-3a88-4fbd-901a-0d767c3b6c9g"),
            Err(EINVAL)
        );
        assert_eq!(
            parse_uuid(b"52ac9bff-3a88-4fbd-901a-0d767c3b6c9"),
            Err(EINVAL)
        );
        assert_eq!(
            parse_uuid(b"52ac9bff-3a88-4fbd-901a-0d767c3b6c977"),
            Err(EINVAL)
        );
        assert_eq!(parse_uuid(b""), Err(EINVAL));
    }

    /// The concatenation of `parts`.
    fn cat(parts: &[&[u8]]) -> KVec<u8> {
        let mut v = KVec::new();
        for p in parts {
            v.extend_from_slice(p, GFP_KERNEL).unwrap();
        }
        v
    }

    #[test]
    fn match_strings_select_as_c_does() {
        let name = b"0000:01:10.0";
        assert_eq!(parse_match(name, b"0000:01:10.0"), Ok(Some(None)));
        assert_eq!(parse_match(name, b"0000:01:10.1"), Ok(None));
        assert_eq!(parse_match(name, b"0000:01:10.00"), Ok(None));
        assert_eq!(parse_match(name, b"0000:01:10"), Ok(None));
        assert_eq!(parse_match(name, b"0000:01:10.0 "), Ok(Some(None)));
        let with = |parts: &[&[u8]]| parse_match(name, &cat(parts));
        assert_eq!(
            with(&[b"0000:01:10.0   vf_token=", U1]),
            Ok(Some(Some(u1())))
        );
        assert_eq!(
            with(&[b"0000:01:10.0 vf_token=", U1, b"  "]),
            Ok(Some(Some(u1())))
        );
        // A second token, an unknown option, trailing garbage, a short or bad UUID.
        assert_eq!(
            with(&[b"0000:01:10.0 vf_token=", U1, b" vf_token=", U1]),
            Err(EINVAL)
        );
        assert_eq!(parse_match(name, b"0000:01:10.0 foo=1"), Err(EINVAL));
        assert_eq!(with(&[b"0000:01:10.0 vf_token=", U1, b"x"]), Err(EINVAL));
        assert_eq!(
            parse_match(name, b"0000:01:10.0 vf_token=52ac9bff"),
            Err(EINVAL)
        );
        assert_eq!(
            with(&[
                b"0000:01:10.0 vf_token=",
                b"52ac9bff-3a88-4fbd-901a-0d767c3b6czz"
            ]),
            Err(EINVAL)
        );
    }

    #[test]
    fn pf_token_rules() {
        let u2 = parse_uuid(U2).unwrap();
        let mut pf = TokenState {
            uuid: u1(),
            users: 0,
        };
        // No VF in use: anything goes, and a token given becomes the token.
        assert_eq!(pf.open_pf(None), Ok(()));
        assert_eq!(pf.uuid, u1());
        assert_eq!(pf.open_pf(Some(&u2)), Ok(()));
        assert_eq!(pf.uuid, u2);
        // VFs in use: the current token only, and it does not change.
        pf.users = 1;
        assert_eq!(pf.open_pf(None), Err(EACCES));
        assert_eq!(pf.open_pf(Some(&u1())), Err(EACCES));
        assert_eq!(pf.open_pf(Some(&u2)), Ok(()));
        assert_eq!(pf.uuid, u2);
    }

    #[test]
    fn vf_token_rules() {
        let pf = TokenState {
            uuid: u1(),
            users: 0,
        };
        let other = parse_uuid(U2).unwrap();
        // PF not bound to a VFIO PCI driver: no token.
        assert_eq!(TokenState::open_vf(None, None), Ok(()));
        assert_eq!(TokenState::open_vf(None, Some(&other)), Err(EINVAL));
        // PF bound: its token, and only it.
        assert_eq!(TokenState::open_vf(Some(&pf), None), Err(EACCES));
        assert_eq!(TokenState::open_vf(Some(&pf), Some(&other)), Err(EACCES));
        assert_eq!(TokenState::open_vf(Some(&pf), Some(&u1())), Ok(()));
    }
}
