// SPDX-License-Identifier: GPL-2.0

//! VFIO devices.
//!
//! A VFIO driver hands a device to userspace, typically a virtual machine monitor, through the
//! VFIO uAPI. The C VFIO core owns the character devices (the group's `/dev/vfio/N` and the
//! per-device `/dev/vfio/devices/vfioX`), the IOMMU plumbing and the file operations. A driver
//! subclasses `struct vfio_device` with its own data and implements the device operations, the
//! [`Driver`] trait here.
//!
//! C header: [`include/linux/vfio.h`](srctree/include/linux/vfio.h)

use crate::{
    bindings,
    device,
    devres::Devres,
    error::{
        from_err_ptr,
        from_result,
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::{
        c_char,
        c_int,
        c_long,
        c_uint,
        c_ulong,
        c_void, //
    },
    ioctl::_IO,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    },
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader,
        UserSliceWriter, //
    }, //
};
use core::{
    marker::PhantomData,
    mem,
    ops::Deref,
    ptr::{
        self,
        NonNull, //
    },
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

/// The operations of a VFIO device, `struct vfio_device_ops`.
///
/// Every method receives the [`Device`] it is called for, as [`Registered`]: its driver data is
/// reachable through `Deref`, and its parent device is bound for the duration of the call.
/// Methods that are not implemented are left out of the C operations table, and the VFIO core
/// then answers as it does for a C driver that leaves them `NULL`.
///
/// Devices that do DMA through the IOMMU get the C core's physical iommufd helpers for the
/// `bind_iommufd`, `unbind_iommufd`, `attach_ioas` and `detach_ioas` operations.
#[vtable]
pub trait Driver: Sized + 'static {
    /// The driver's data, embedded in the [`Device`].
    type Data: Send + Sync;

    /// The name of the operations, `vfio_device_ops.name`.
    const NAME: &'static CStr;

    /// Called when the device is first opened, by a group or a device file, with the device
    /// set's lock held.
    fn open_device(_dev: &Registered<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the last file that opened the device is closed, with the device set's lock
    /// held.
    fn close_device(_dev: &Registered<Self>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles the ioctls the VFIO core does not handle itself.
    ///
    /// `arg` is the ioctl's argument as userspace passed it, usually a pointer to a uAPI
    /// structure that starts with `argsz`.
    fn ioctl(_dev: &Registered<Self>, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles `VFIO_DEVICE_GET_REGION_INFO` after the core has copied in and checked the
    /// header: fills in `info` for `info.index()` and adds capabilities to `caps`.
    fn region_info(
        _dev: &Registered<Self>,
        _info: &mut RegionInfo,
        _caps: &mut InfoCaps,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reads from the device file at `offset` into `buf`; returns the number of bytes read.
    fn read(_dev: &Registered<Self>, _buf: &mut UserSliceWriter, _offset: u64) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes `buf` to the device file at `offset`; returns the number of bytes written.
    fn write(_dev: &Registered<Self>, _buf: &mut UserSliceReader, _offset: u64) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sets up `vma`, a new mapping of the device file, or refuses it with an error. A driver
    /// that maps device memory calls [`Mmap::set_io_fault`], and [`Driver::mmap_fault`] then
    /// populates the mapping page by page.
    fn mmap(_dev: &Registered<Self>, _vma: &Mmap) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Populates the page of a mapping set up with [`Mmap::set_io_fault`] that userspace just
    /// accessed: [`MmapFault::insert_pfn`], or [`VmFault::SIGBUS`] if the memory cannot be
    /// accessed now (the driver then invalidates mappings with [`Device::zap_mappings`] before
    /// the memory goes away, so that accesses fault again).
    fn mmap_fault(_dev: &Registered<Self>, _fault: &MmapFault) -> VmFault {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Asks userspace to release the device: called repeatedly, with an increasing `count`,
    /// while unregistration waits for the device's files to be closed.
    fn request(_dev: &Registered<Self>, _count: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Decides whether `buf`, the name given to `VFIO_GROUP_GET_DEVICE_FD`, selects this
    /// device. Without this operation the core compares `buf` with the parent device's name.
    fn match_name(_dev: &Registered<Self>, _buf: &CStr) -> Result<bool> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Checks the token that comes with an open of the device through its device file,
    /// `match_token_uuid`: the one given to `VFIO_DEVICE_BIND_IOMMUFD` with
    /// `VFIO_DEVICE_BIND_FLAG_TOKEN`, `None` without that flag. An error refuses the open.
    ///
    /// Without this operation, binding with a token fails with `EINVAL`.
    fn match_token(_dev: &Registered<Self>, _token: Option<&Uuid>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles `VFIO_DEVICE_FEATURE` for a feature the VFIO core does not handle itself (the
    /// core handles migration and DMA logging): `flags` are userspace's (the feature in
    /// `uapi::DEVICE_FEATURE_MASK`, and `GET`, `SET` or `PROBE`), and the feature's data is at
    /// `arg`, `argsz` bytes. [`check_feature`] validates them.
    ///
    /// Without this operation, and for features a driver does not know, `ENOTTY`.
    fn device_feature(
        _dev: &Registered<Self>,
        _flags: u32,
        _arg: UserPtr,
        _argsz: usize,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// What a [`Virqfd`] does when its eventfd is signalled.
pub trait VirqfdHandler: Send + Sync + 'static {
    /// Called when the eventfd is signalled (or, at registration, if it already is), in atomic
    /// context: under the eventfd's wait queue lock, with interrupts off. Returns whether
    /// [`VirqfdHandler::thread`] should run.
    fn handle(&self) -> bool;

    /// Called in process context, from a workqueue, after [`VirqfdHandler::handle`] returned
    /// `true`.
    fn thread(&self);
}

/// An eventfd from userspace whose signals call a handler in the kernel, `struct virqfd`
/// (`vfio_virqfd_enable()`): how a VFIO driver lets userspace, or KVM, unmask an interrupt
/// or write to a device by signalling an eventfd.
///
/// Dropping it stops the calls, after any running one (`vfio_virqfd_disable()`). It also stops
/// when userspace closes the eventfd.
///
/// # Invariants
///
/// `virqfd` is the `pvirqfd` slot of a virqfd enabled by [`Virqfd::new`] with a pointer to
/// `self` as its `opaque`, or null once the VFIO core shut it down.
#[pin_data(PinnedDrop)]
pub struct Virqfd<T: VirqfdHandler> {
    handler: T,
    #[pin]
    virqfd: Opaque<*mut bindings::virqfd>,
}

// SAFETY: The slot is only touched by the VFIO core, under its lock; the handler is `Send`.
unsafe impl<T: VirqfdHandler> Send for Virqfd<T> {}

// SAFETY: A shared `Virqfd` only gives out `&T`, which is `Sync`.
unsafe impl<T: VirqfdHandler> Sync for Virqfd<T> {}

impl<T: VirqfdHandler> Virqfd<T> {
    /// Calls `handler` whenever the eventfd `fd` is signalled: `EBADF` if `fd` is not open,
    /// `EINVAL` if it is not an eventfd.
    pub fn new(fd: i32, handler: T) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            // Initialized before `virqfd`: it is called as soon as the eventfd is watched.
            handler,
            virqfd <- Opaque::try_ffi_init(move |slot: *mut *mut bindings::virqfd| {
                // SAFETY: `slot` is valid for writes.
                unsafe { slot.write(ptr::null_mut()) };
                // SAFETY: `this` is pinned and lives until `PinnedDrop::drop` disables the
                // virqfd and waits for its calls; `slot` stays at this address as long.
                // INVARIANT: On success, the virqfd is enabled with `this` as `opaque`.
                to_result(unsafe {
                    bindings::vfio_virqfd_enable(
                        this.as_ptr().cast(),
                        Some(Self::handle_callback),
                        Some(Self::thread_callback),
                        ptr::null_mut(),
                        slot,
                        fd,
                    )
                })
            }),
        })
    }

    /// Returns the handler.
    pub fn handler(&self) -> &T {
        &self.handler
    }

    /// Whether the eventfd is still watched: `false` once userspace closed it, after which the
    /// VFIO core shut the virqfd down.
    pub fn is_active(&self) -> bool {
        // SAFETY: `virqfd` is a valid slot (type invariant), which the VFIO core writes under
        // its lock; a volatile read of the pointer is C's `READ_ONCE()`.
        !unsafe { ptr::read_volatile(self.virqfd.get()) }.is_null()
    }

    extern "C" fn handle_callback(opaque: *mut c_void, _data: *mut c_void) -> c_int {
        // SAFETY: The VFIO core calls this with the `opaque` of `Virqfd::new`, a `Self` that
        // lives until the virqfd is disabled and its calls are over.
        let this = unsafe { &*opaque.cast::<Self>() };
        c_int::from(this.handler.handle())
    }

    extern "C" fn thread_callback(opaque: *mut c_void, _data: *mut c_void) {
        // SAFETY: As in `handle_callback()`.
        let this = unsafe { &*opaque.cast::<Self>() };
        this.handler.thread();
    }
}

#[pinned_drop]
impl<T: VirqfdHandler> PinnedDrop for Virqfd<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `virqfd` is the slot of a virqfd enabled for `self`, or null (type
        // invariant); `vfio_virqfd_disable()` shuts it down and flushes the VFIO core's
        // workqueue, so no call of the handler runs once it returns.
        unsafe { bindings::vfio_virqfd_disable(self.virqfd.get()) };
    }
}

/// A UUID, `uuid_t`: 16 bytes, in the order of their textual form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// Returns a new random (version 4) UUID, `uuid_gen()`.
    pub fn generate() -> Self {
        let mut uuid = bindings::uuid_t::default();
        // SAFETY: `uuid` is a valid `uuid_t` to write to.
        unsafe { bindings::uuid_gen(&mut uuid) };
        Self(uuid.b)
    }
}

/// Checks the flags and data size of a `VFIO_DEVICE_FEATURE` for a feature that supports the
/// operations `supported` (`uapi::DEVICE_FEATURE_GET` and/or `SET`) and whose data is `minsz`
/// bytes, as C's `vfio_check_feature()`: `Ok(false)` for a `PROBE`, which is then answered,
/// `Ok(true)` if the feature is to be got or set, `EINVAL` for an unsupported operation,
/// neither `GET` nor `SET`, or too little data.
pub fn check_feature(flags: u32, argsz: usize, supported: u32, minsz: usize) -> Result<bool> {
    let get_set = uapi::DEVICE_FEATURE_GET | uapi::DEVICE_FEATURE_SET;
    if flags & get_set & !supported != 0 {
        return Err(EINVAL);
    }
    if flags & uapi::DEVICE_FEATURE_PROBE != 0 {
        return Ok(false);
    }
    if flags & get_set == 0 || argsz < minsz {
        return Err(EINVAL);
    }
    Ok(true)
}

/// A VFIO device: a `struct vfio_device` followed by the driver's data.
///
/// Reference counted through the embedded `struct device`; the driver's data is dropped when the
/// last reference goes away.
///
/// # Invariants
///
/// `vdev` is a `struct vfio_device` allocated by `_vfio_alloc_device()` for a `Self`, `data` is
/// initialized, and `vdev.ops` points to `Self::OPS`.
#[repr(C)]
#[pin_data]
pub struct Device<T: Driver> {
    // `_vfio_alloc_device()` allocates the containing structure with `struct vfio_device` at
    // offset 0; `#[repr(C)]` and this being the first field keep it there.
    vdev: Opaque<bindings::vfio_device>,
    // Whether a `Registration` holds the device. Zeroed, so `false`, by `_vfio_alloc_device()`.
    registered: AtomicBool,
    #[pin]
    data: T::Data,
}

impl<T: Driver> Device<T> {
    const OPS: bindings::vfio_device_ops = bindings::vfio_device_ops {
        name: crate::str::as_char_ptr_in_const_context(T::NAME).cast_mut(),
        release: Some(Self::release_callback),
        open_device: if T::HAS_OPEN_DEVICE {
            Some(Self::open_device_callback)
        } else {
            None
        },
        close_device: if T::HAS_CLOSE_DEVICE {
            Some(Self::close_device_callback)
        } else {
            None
        },
        ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl_callback)
        } else {
            None
        },
        get_region_info_caps: if T::HAS_REGION_INFO {
            Some(Self::region_info_callback)
        } else {
            None
        },
        read: if T::HAS_READ {
            Some(Self::read_callback)
        } else {
            None
        },
        write: if T::HAS_WRITE {
            Some(Self::write_callback)
        } else {
            None
        },
        mmap: if T::HAS_MMAP {
            Some(Self::mmap_callback)
        } else {
            None
        },
        request: if T::HAS_REQUEST {
            Some(Self::request_callback)
        } else {
            None
        },
        match_: if T::HAS_MATCH_NAME {
            Some(Self::match_callback)
        } else {
            None
        },
        match_token_uuid: if T::HAS_MATCH_TOKEN {
            Some(Self::match_token_callback)
        } else {
            None
        },
        device_feature: if T::HAS_DEVICE_FEATURE {
            Some(Self::device_feature_callback)
        } else {
            None
        },
        #[cfg(CONFIG_IOMMUFD)]
        bind_iommufd: Some(bindings::vfio_iommufd_physical_bind),
        #[cfg(CONFIG_IOMMUFD)]
        unbind_iommufd: Some(bindings::vfio_iommufd_physical_unbind),
        #[cfg(CONFIG_IOMMUFD)]
        attach_ioas: Some(bindings::vfio_iommufd_physical_attach_ioas),
        #[cfg(CONFIG_IOMMUFD)]
        detach_ioas: Some(bindings::vfio_iommufd_physical_detach_ioas),
        ..pin_init::zeroed()
    };

    /// The operations of a device whose data is not initialized yet: without `release`, so
    /// that a failed initialization frees the device without dropping uninitialized data.
    const ALLOC_OPS: bindings::vfio_device_ops = bindings::vfio_device_ops {
        release: None,
        ..Self::OPS
    };

    /// Allocates a VFIO device for `parent`, with the driver data `data`.
    ///
    /// The device is not visible to userspace until it is registered with [`Registration`].
    pub fn new(
        parent: &device::Device<device::Bound>,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<ARef<Self>> {
        // `_vfio_alloc_device()` uses `kvzalloc()`, which aligns to at least
        // `ARCH_KMALLOC_MINALIGN`.
        const {
            assert!(mem::align_of::<Self>() <= bindings::ARCH_KMALLOC_MINALIGN);
        }

        // SAFETY:
        // - `parent` is a valid, bound device by its type invariants.
        // - `Self::ALLOC_OPS` is a static table: it outlives the device whenever it is freed
        //   (the release of a device can be delayed).
        // - The size is that of `Self`, which starts with the `struct vfio_device`.
        let vdev = from_err_ptr(unsafe {
            bindings::_vfio_alloc_device(
                mem::size_of::<Self>(),
                parent.as_raw(),
                const { &Self::ALLOC_OPS },
            )
        })?;
        let this = vdev.cast::<Self>();

        // SAFETY: `this` points to a zeroed allocation of `size_of::<Self>()` bytes, suitably
        // aligned; `data` is never moved out of it.
        let data_ptr = unsafe { &raw mut (*this).data };

        // SAFETY: `data_ptr` is valid for writes and pinned for the lifetime of the allocation.
        unsafe { pin_init::raw_try_init(data_ptr, data) }.inspect_err(|_| {
            // SAFETY: The allocation succeeded, so `vdev` holds the initial reference; its
            // operations have no `release`, so nothing reads the uninitialized `data`.
            unsafe { bindings::put_device(&raw mut (*vdev).device) };
        })?;

        // SAFETY: The device is still private to this function.
        // INVARIANT: `data` is initialized, the device now uses `Self::OPS`.
        unsafe { (*vdev).ops = const { &Self::OPS } };

        // SAFETY: `this` is non-null (a successful allocation) and we own its initial reference.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(this)) })
    }

    /// Allocates a VFIO device for `parent`, with the driver data `data`, in the VFIO device set
    /// `key` (`vfio_assign_device_set()`), which it shares with the other devices allocated with
    /// the same key, instead of a set of its own: the VFIO core opens and closes the devices of
    /// a set under one lock, which [`Registered::lock_device_set`] takes too.
    pub fn new_in_set(
        parent: &device::Device<device::Bound>,
        key: DeviceSetKey,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<ARef<Self>> {
        let dev = Self::new(parent, data)?;
        // SAFETY: `dev` is a valid VFIO device, not registered yet (it is private to this
        // function), so not in a set yet; the key is not null (it is odd). If this fails,
        // dropping `dev` frees the device.
        to_result(unsafe {
            bindings::vfio_assign_device_set(dev.as_raw(), ptr::without_provenance_mut(key.0))
        })?;
        Ok(dev)
    }

    /// Returns the raw `struct vfio_device`.
    pub fn as_raw(&self) -> *mut bindings::vfio_device {
        self.vdev.get()
    }

    /// Returns the device without its driver's type, as other devices' drivers may see it.
    pub fn as_any(&self) -> &AnyDevice {
        // SAFETY: `self.vdev` is a valid `struct vfio_device`, at offset 0 of `Self`, reference
        // counted through its `struct device` as `Self` is; `AnyDevice` wraps it transparently.
        unsafe { &*self.as_raw().cast::<AnyDevice>() }
    }

    /// Whether the device is open through its device file; see [`AnyDevice::cdev_opened`].
    pub fn cdev_opened(&self) -> bool {
        self.as_any().cdev_opened()
    }

    /// Returns the ID of the device in the iommufd its device file is bound to; see
    /// [`AnyDevice::iommufd_dev_id`].
    pub fn iommufd_dev_id(&self) -> Option<u32> {
        self.as_any().iommufd_dev_id()
    }

    /// Invalidates every userspace mapping of the device file; see [`AnyDevice::zap_mappings`].
    pub fn zap_mappings(&self) {
        self.as_any().zap_mappings()
    }

    extern "C" fn release_callback(vdev: *mut bindings::vfio_device) {
        let this = vdev.cast::<Self>();
        // SAFETY: The last reference is gone, so nothing else accesses `this`; `data` is
        // initialized because only then are `Self::OPS`, and this callback, installed. The C core
        // frees the memory after this returns.
        unsafe { ptr::drop_in_place(&raw mut (*this).data) };
    }

    extern "C" fn open_device_callback(vdev: *mut bindings::vfio_device) -> c_int {
        // SAFETY: The VFIO core calls this with a registered, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        from_result(|| T::open_device(dev).map(|()| 0))
    }

    extern "C" fn close_device_callback(vdev: *mut bindings::vfio_device) {
        // SAFETY: The VFIO core calls this with a registered, live device.
        T::close_device(unsafe { Registered::from_raw(vdev) });
    }

    extern "C" fn ioctl_callback(
        vdev: *mut bindings::vfio_device,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        // SAFETY: The VFIO core calls this with an open, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        match T::ioctl(dev, cmd, arg) {
            Ok(ret) => ret,
            Err(err) => err.to_errno() as c_long,
        }
    }

    extern "C" fn region_info_callback(
        vdev: *mut bindings::vfio_device,
        info: *mut bindings::vfio_region_info,
        caps: *mut bindings::vfio_info_cap,
    ) -> c_int {
        // SAFETY: The VFIO core calls this with an open, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        // SAFETY: `info` points to the core's copy of the user's header, exclusively ours for the
        // duration of the call; `RegionInfo` is a transparent wrapper.
        let info = unsafe { &mut *info.cast::<RegionInfo>() };
        // SAFETY: Likewise for `caps`, the core's capability chain for this call.
        let caps = unsafe { &mut *caps.cast::<InfoCaps>() };
        from_result(|| T::region_info(dev, info, caps).map(|()| 0))
    }

    extern "C" fn read_callback(
        vdev: *mut bindings::vfio_device,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: The VFIO core calls this with an open, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        let mut writer = UserSlice::new(UserPtr::from_ptr(buf.cast()), count).writer();
        // SAFETY: `ppos` is the file position of this read, valid for the call.
        let pos = unsafe { &mut *ppos };
        Self::rw(pos, |offset| T::read(dev, &mut writer, offset))
    }

    extern "C" fn write_callback(
        vdev: *mut bindings::vfio_device,
        buf: *const c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: The VFIO core calls this with an open, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        let mut reader = UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), count).reader();
        // SAFETY: `ppos` is the file position of this write, valid for the call.
        let pos = unsafe { &mut *ppos };
        Self::rw(pos, |offset| T::write(dev, &mut reader, offset))
    }

    /// Runs a read or write at `*pos` and advances `*pos` by what it transferred.
    fn rw(pos: &mut bindings::loff_t, f: impl FnOnce(u64) -> Result<usize>) -> isize {
        let res = u64::try_from(*pos).map_err(|_| EINVAL).and_then(f);
        match res {
            Ok(done) => {
                // CAST: `done` is at most the requested count, which the VFS bounds by
                // `MAX_RW_COUNT`, well within `isize` and `loff_t`.
                *pos += done as bindings::loff_t;
                done as isize
            }
            Err(err) => err.to_errno() as isize,
        }
    }

    extern "C" fn mmap_callback(
        vdev: *mut bindings::vfio_device,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The VFIO core calls this with an open, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        // SAFETY: `vma` is the mapping being set up for this call; `Mmap` is a transparent
        // wrapper of it.
        let vma = unsafe { &*vma.cast::<Mmap>() };
        from_result(|| T::mmap(dev, vma).map(|()| 0))
    }

    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(Self::fault_callback),
        ..pin_init::zeroed()
    };

    extern "C" fn fault_callback(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The core mm calls this with a valid fault on a mapping set up by
        // `Mmap::set_io_fault::<T>()`.
        let vma = unsafe { (*vmf).__bindgen_anon_1.vma };
        // SAFETY: `Mmap::set_io_fault()` stored the device in `vm_private_data`. The mapping
        // holds a reference to the device file, so the device is open, hence registered.
        let dev = unsafe { Registered::from_raw((*vma).vm_private_data.cast()) };
        T::mmap_fault(dev, &MmapFault { vmf }).0
    }

    extern "C" fn request_callback(vdev: *mut bindings::vfio_device, count: c_uint) {
        // SAFETY: The VFIO core calls this with a registered, live device.
        T::request(unsafe { Registered::from_raw(vdev) }, count);
    }

    extern "C" fn match_callback(vdev: *mut bindings::vfio_device, buf: *mut c_char) -> c_int {
        // SAFETY: The VFIO core calls this with a registered, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        // SAFETY: `buf` is the NUL-terminated name userspace passed, valid for the call.
        let name = unsafe { CStr::from_char_ptr(buf) };
        match T::match_name(dev, name) {
            Ok(matches) => c_int::from(matches),
            Err(err) => err.to_errno(),
        }
    }

    extern "C" fn match_token_callback(
        vdev: *mut bindings::vfio_device,
        uuid: *const bindings::uuid_t,
    ) -> c_int {
        // SAFETY: The VFIO core calls this with a registered, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        // SAFETY: `uuid` is null or points to a valid `uuid_t` for the duration of the call.
        let token = unsafe { uuid.as_ref() }.map(|u| Uuid(u.b));
        from_result(|| T::match_token(dev, token.as_ref()).map(|()| 0))
    }

    extern "C" fn device_feature_callback(
        vdev: *mut bindings::vfio_device,
        flags: u32,
        arg: *mut c_void,
        argsz: usize,
    ) -> c_int {
        // SAFETY: The VFIO core calls this with an open, live device.
        let dev = unsafe { Registered::from_raw(vdev) };
        from_result(|| T::device_feature(dev, flags, UserPtr::from_ptr(arg), argsz).map(|()| 0))
    }
}

/// A new mapping of a device file, being set up by [`Driver::mmap`].
///
/// # Invariants
///
/// Wraps a `struct vm_area_struct` during `mmap()`: not yet visible to other threads.
#[repr(transparent)]
pub struct Mmap(Opaque<bindings::vm_area_struct>);

impl Mmap {
    fn as_raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// The offset in the device file where the mapping starts, in pages.
    pub fn pgoff(&self) -> u64 {
        // SAFETY: By the type invariant, the vma is valid.
        let pgoff = unsafe { (*self.as_raw()).vm_pgoff };
        // CAST: `unsigned long` fits in `u64`.
        pgoff as u64
    }

    /// The size of the mapping in bytes.
    pub fn size(&self) -> u64 {
        // SAFETY: By the type invariant, the vma is valid.
        let range = unsafe { &(*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1 };
        // CAST: `unsigned long` fits in `u64`.
        range.vm_end.saturating_sub(range.vm_start) as u64
    }

    /// Whether the mapping is shared (`MAP_SHARED`), as a mapping of device memory must be.
    pub fn is_shared(&self) -> bool {
        // SAFETY: By the type invariant, the vma is valid.
        let flags = unsafe { (*self.as_raw()).__bindgen_anon_2.vm_flags };
        flags & bindings::VM_SHARED != 0
    }

    /// Makes this a mapping of device I/O memory, uncached, populated on fault by
    /// [`Driver::mmap_fault`] of `dev`: `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`, so it
    /// is never copied, expanded or dumped, and can be invalidated with
    /// [`Device::zap_mappings`].
    pub fn set_io_fault<T: Driver>(&self, dev: &Registered<T>) {
        let vma = self.as_raw();
        // SAFETY: By the type invariant, the vma is being set up and not shared yet, so these
        // plain writes do not race. The flags make it a PFN mapping, which is what the fault
        // handler populates; `vm_private_data` is only read by `Device::<T>::fault_callback`,
        // installed together with it, and the device outlives the mapping, which holds a
        // reference to the device file.
        unsafe {
            (*vma).vm_private_data = dev.as_raw().cast();
            (*vma).vm_page_prot =
                bindings::pgprot_decrypted(bindings::pgprot_noncached((*vma).vm_page_prot));
            (*vma).__bindgen_anon_2.vm_flags |= bindings::VM_IO
                | bindings::VM_PFNMAP
                | bindings::VM_DONTEXPAND
                | bindings::VM_DONTDUMP;
            (*vma).vm_ops = const { &Device::<T>::VM_OPS };
        }
    }
}

/// A fault on a mapping set up with [`Mmap::set_io_fault`], passed to [`Driver::mmap_fault`].
pub struct MmapFault {
    vmf: *mut bindings::vm_fault,
}

impl MmapFault {
    /// The offset in the device file of the page that faulted, in pages.
    pub fn pgoff(&self) -> u64 {
        // SAFETY: `vmf` is the fault being handled, valid for the call.
        let pgoff = unsafe { (*self.vmf).__bindgen_anon_1.pgoff };
        // CAST: `unsigned long` fits in `u64`.
        pgoff as u64
    }

    /// Maps the page of I/O memory `pfn` at the faulting address.
    ///
    /// # Safety
    ///
    /// `pfn` must be a page of device memory that userspace may access through this mapping,
    /// and stay so until the mapping is invalidated ([`Device::zap_mappings`]).
    pub unsafe fn insert_pfn(&self, pfn: u64) -> VmFault {
        // SAFETY: `vmf` is the fault being handled; its vma is a `VM_PFNMAP` mapping (set up
        // by `Mmap::set_io_fault()`), which is what `vmf_insert_pfn()` requires; the caller
        // guarantees that `pfn` may be mapped.
        VmFault(unsafe {
            let f = &(*self.vmf).__bindgen_anon_1;
            // CAST: PFNs fit in `unsigned long`.
            bindings::vmf_insert_pfn(f.vma, f.address, pfn as c_ulong)
        })
    }
}

/// The result of a page fault, `vm_fault_t`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VmFault(bindings::vm_fault_t);

impl VmFault {
    /// The access gets `SIGBUS`.
    // CAST: `VM_FAULT_SIGBUS` is a small positive `vm_fault_reason`.
    pub const SIGBUS: Self =
        Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t);
}

/// The key of a VFIO device set shared by several devices (see [`Device::new_in_set`]).
///
/// Keys of sets of Rust drivers are odd, so never equal to a C driver's, which are addresses
/// of objects: a set never mixes devices of C and Rust drivers, so that a C driver only finds
/// its own `struct vfio_device` subclasses in its sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSetKey(usize);

impl DeviceSetKey {
    /// Returns the key of the set of the devices that share `id`, the address of an object
    /// (aligned to at least two bytes) that identifies them, such as the PCI slot or bus they
    /// are reset with.
    pub fn new(id: usize) -> Self {
        Self(id | 1)
    }
}

/// The lock of a VFIO device set, held (see [`Registered::lock_device_set`]).
pub struct DeviceSetGuard<'a> {
    set: *mut bindings::vfio_device_set,
    _dev: PhantomData<&'a ()>,
}

impl Drop for DeviceSetGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: The guard holds the lock, taken in `Registered::lock_device_set`; the set
        // outlives the borrow of the device it was taken for.
        unsafe { bindings::mutex_unlock(&raw mut (*self.set).lock) };
    }
}

/// A VFIO device of any driver, `struct vfio_device`, as another device's driver sees it: for
/// what the C core tells of any device (how it is open, which iommufd it is bound to), and to
/// invalidate its mappings.
///
/// Reference counted through its `struct device`, which keeps the structure, not the
/// registration, alive.
///
/// # Invariants
///
/// The wrapped `struct vfio_device` was allocated by `_vfio_alloc_device()` and is referenced.
#[repr(transparent)]
pub struct AnyDevice(Opaque<bindings::vfio_device>);

/// How a VFIO device relates to the iommufd that another device is bound to, as a PCI hot
/// reset decides ownership (`vfio_iommufd_get_dev_id()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IommufdOwnership {
    /// The device is bound to it, with this device ID.
    Bound(u32),
    /// The device is not bound to it, but a device of its IOMMU group is, so the device cannot
    /// be bound to another one.
    GroupBound,
    /// Neither: another user may own the device.
    NotOwned,
}

impl AnyDevice {
    /// Returns the raw `struct vfio_device`.
    pub fn as_raw(&self) -> *mut bindings::vfio_device {
        self.0.get()
    }

    /// Whether the device is open through its device file (`/dev/vfio/devices/vfioX`, bound to
    /// an iommufd) rather than through its group.
    pub fn cdev_opened(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `struct vfio_device`; the raw accessor reads the
        // bit without creating a reference to the structure.
        unsafe { bindings::vfio_device::cdev_opened_raw(self.as_raw()) != 0 }
    }

    /// Returns the ID of the device in the iommufd its device file is bound to
    /// (`vfio_iommufd_get_dev_id()`), `None` if it is not bound to one. For the device's own
    /// operations: the binding does not change while the file that an operation comes through
    /// is open.
    #[cfg(CONFIG_IOMMUFD)]
    pub fn iommufd_dev_id(&self) -> Option<u32> {
        // SAFETY: `self.as_raw()` is a valid `struct vfio_device`; its binding is stable while
        // one of its files is open, and its parent alive while it is registered.
        let id = unsafe {
            let ictx = bindings::vfio_iommufd_device_ictx(self.as_raw());
            if ictx.is_null() {
                return None;
            }
            bindings::vfio_iommufd_get_dev_id(self.as_raw(), ictx)
        };
        u32::try_from(id).ok().filter(|&id| id > 0)
    }

    /// Returns the ID of the device in the iommufd its device file is bound to: `None`
    /// without iommufd support.
    #[cfg(not(CONFIG_IOMMUFD))]
    pub fn iommufd_dev_id(&self) -> Option<u32> {
        None
    }

    /// Returns how the device relates to the iommufd that `caller`'s device file is bound to,
    /// as a hot reset requested through `caller` sees it: [`IommufdOwnership::NotOwned`] if
    /// `caller` is bound to none, or if the device is not in the device set that `set` locks
    /// (its binding could change meanwhile).
    ///
    /// # Safety
    ///
    /// The parent device of `self` is alive for the duration of the call: the VFIO core does
    /// not keep it alive once the device is unregistered.
    #[cfg(CONFIG_IOMMUFD)]
    pub unsafe fn iommufd_ownership<T: Driver>(
        &self,
        caller: &Registered<T>,
        set: &DeviceSetGuard<'_>,
    ) -> IommufdOwnership {
        // SAFETY: `self.as_raw()` is a valid `struct vfio_device`, referenced, so in its set
        // until it is released.
        if unsafe { (*self.as_raw()).dev_set } != set.set {
            return IommufdOwnership::NotOwned;
        }
        // SAFETY: `caller` is in an operation, during which its binding to `ictx` does not
        // change; the binding of `self` does not change while `set` holds the lock of its set,
        // and its parent, whose IOMMU group `vfio_iommufd_get_dev_id()` looks up, is alive
        // (safety requirements).
        let id = unsafe {
            let ictx = bindings::vfio_iommufd_device_ictx(caller.as_raw());
            if ictx.is_null() {
                return IommufdOwnership::NotOwned;
            }
            bindings::vfio_iommufd_get_dev_id(self.as_raw(), ictx)
        };
        match u32::try_from(id) {
            Ok(id) if id > 0 => IommufdOwnership::Bound(id),
            _ if id == ENOENT.to_errno() => IommufdOwnership::GroupBound,
            _ => IommufdOwnership::NotOwned,
        }
    }

    /// Returns how the device relates to the iommufd that `caller`'s device file is bound to:
    /// without iommufd support, never bound.
    ///
    /// # Safety
    ///
    /// None needed without iommufd support; the requirements are those of the iommufd version.
    #[cfg(not(CONFIG_IOMMUFD))]
    pub unsafe fn iommufd_ownership<T: Driver>(
        &self,
        _caller: &Registered<T>,
        _set: &DeviceSetGuard<'_>,
    ) -> IommufdOwnership {
        IommufdOwnership::NotOwned
    }

    /// Invalidates every userspace mapping of the device file, as `unmap_mapping_range()` on
    /// the device's address space: the next access faults, and the fault handler decides again.
    pub fn zap_mappings(&self) {
        // SAFETY: `self.as_raw()` is a valid `struct vfio_device`, whose `inode` was set up by
        // `_vfio_alloc_device()` and lives as long as the device.
        unsafe {
            let inode = (*self.as_raw()).inode;
            bindings::unmap_mapping_range((*inode).i_mapping, 0, 0, 1);
        }
    }
}

// SAFETY: Instances of `AnyDevice` are always reference counted, through the embedded
// `struct device`.
unsafe impl AlwaysRefCounted for AnyDevice {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference guarantees a non-zero refcount.
        unsafe { bindings::get_device(&raw mut (*self.as_raw()).device) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe {
            bindings::put_device(&raw mut (*obj.cast::<bindings::vfio_device>().as_ptr()).device)
        };
    }
}

// SAFETY: The VFIO core's state is protected by its own locks; every method takes `&self` and
// may be called from any thread, and the last reference may be dropped on any thread.
unsafe impl Send for AnyDevice {}

// SAFETY: See `Send`.
unsafe impl Sync for AnyDevice {}

/// A [`Device`] while it is registered with the VFIO core, as the [`Driver`] operations see it.
///
/// # Invariants
///
/// The device is registered with a [`Registration`], so its parent device is bound: the
/// registration is device-managed, and unregistration waits until every file of the device is
/// closed, which ends every operation.
#[repr(transparent)]
pub struct Registered<T: Driver>(Device<T>);

impl<T: Driver> Registered<T> {
    /// # Safety
    ///
    /// `vdev` must point to the `struct vfio_device` of a live, registered `Device<T>`, and the
    /// returned reference must not outlive the operation it is created for.
    unsafe fn from_raw<'a>(vdev: *mut bindings::vfio_device) -> &'a Self {
        // SAFETY: `vdev` is at offset 0 of `Device<T>` (`#[repr(C)]`, first field), which
        // `Self` wraps transparently; by the safety requirements it points to a live,
        // registered device.
        unsafe { &*vdev.cast::<Self>() }
    }

    /// Locks the device's VFIO device set, as the VFIO core does while it opens or closes any
    /// device of the set: until the guard drops, no device of the set is opened or closed, nor
    /// bound to or unbound from an iommufd.
    ///
    /// Not from [`Driver::open_device`] or [`Driver::close_device`], which the VFIO core calls
    /// with the lock held: that would deadlock.
    pub fn lock_device_set(&self) -> DeviceSetGuard<'_> {
        // SAFETY: `self.0.as_raw()` is a valid, registered `struct vfio_device`; registration
        // gave it a set, which lives as long as the device.
        let set = unsafe { (*self.0.as_raw()).dev_set };
        // SAFETY: `set` is valid, and its mutex initialized; it is unlocked when the guard
        // drops.
        unsafe { bindings::mutex_lock(&raw mut (*set).lock) };
        DeviceSetGuard {
            set,
            _dev: PhantomData,
        }
    }

    /// Returns the parent device, bound for the duration of the operation.
    pub fn parent(&self) -> &device::Device<device::Bound> {
        // SAFETY: `self.0.as_raw()` is a valid `struct vfio_device`; its `dev` is the device it
        // was allocated for, and by the type invariant that device is bound while `self` is
        // borrowed.
        unsafe { device::Device::from_raw((*self.0.as_raw()).dev) }
    }
}

impl<T: Driver> Deref for Registered<T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        &self.0
    }
}

impl<T: Driver> Deref for Device<T> {
    type Target = T::Data;

    fn deref(&self) -> &T::Data {
        &self.data
    }
}

// SAFETY: Instances of `Device` are always reference counted, through the embedded
// `struct device`.
unsafe impl<T: Driver> AlwaysRefCounted for Device<T> {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference guarantees a non-zero refcount.
        unsafe { bindings::get_device(&raw mut (*self.as_raw()).device) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe {
            bindings::put_device(&raw mut (*obj.cast::<bindings::vfio_device>().as_ptr()).device)
        };
    }
}

// SAFETY: The VFIO core's state is protected by its own locks, and `T::Data` is `Send + Sync`:
// a `Device` can be released and used from any thread.
unsafe impl<T: Driver> Send for Device<T> {}

// SAFETY: See `Send`; every method takes `&self` and is safe to call concurrently.
unsafe impl<T: Driver> Sync for Device<T> {}

/// A [`Device`] registered with the VFIO core as a device with an IOMMU group.
///
/// Userspace reaches it through its group, `/dev/vfio/N`, and (with `CONFIG_VFIO_DEVICE_CDEV`)
/// through `/dev/vfio/devices/vfioX`. Dropping the registration unregisters the device: that
/// waits until userspace has closed every file of the device, calling [`Driver::request`]
/// meanwhile.
///
/// A registration only exists inside a [`Devres`] of the parent device, so the device is
/// unregistered at the latest when the parent is unbound: the [`Driver`] operations can rely on
/// a bound parent (see [`Registered::parent`]).
pub struct Registration<T: Driver> {
    dev: ARef<Device<T>>,
}

impl<T: Driver> Registration<T> {
    /// Registers `dev` with the VFIO core as a device in the IOMMU group of `parent`, the bound
    /// device `dev` was allocated for (`EINVAL` otherwise).
    pub fn new_group(
        parent: &device::Device<device::Bound>,
        dev: ARef<Device<T>>,
    ) -> Result<Devres<Self>> {
        // SAFETY: `dev.as_raw()` is a valid `struct vfio_device`.
        if unsafe { (*dev.as_raw()).dev } != parent.as_raw() {
            return Err(EINVAL);
        }
        // One registration at a time: `EBUSY` for a device that is registered already.
        if dev.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: `dev` is a fully initialized VFIO device, not registered (checked above),
        // whose parent is bound.
        to_result(unsafe { bindings::vfio_register_group_dev(dev.as_raw()) })
            .inspect_err(|_| dev.registered.store(false, Ordering::Release))?;
        // If this fails, dropping the registration unregisters the device again.
        Devres::new(parent, Self { dev })
    }

    /// Returns the registered device.
    pub fn device(&self) -> &Device<T> {
        &self.dev
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The device was registered in `new_group`.
        unsafe { bindings::vfio_unregister_group_dev(self.dev.as_raw()) };
        self.dev.registered.store(false, Ordering::Release);
    }
}

/// The header of `VFIO_DEVICE_GET_REGION_INFO`, `struct vfio_region_info`.
#[repr(transparent)]
pub struct RegionInfo(bindings::vfio_region_info);

impl RegionInfo {
    /// The index of the region userspace asks about.
    pub fn index(&self) -> u32 {
        self.0.index
    }

    /// Sets the region's `VFIO_REGION_INFO_FLAG_*` flags.
    pub fn set_flags(&mut self, flags: u32) {
        self.0.flags = flags;
    }

    /// The region's `VFIO_REGION_INFO_FLAG_*` flags, as set so far.
    pub fn flags(&self) -> u32 {
        self.0.flags
    }

    /// Sets the region's size in bytes.
    pub fn set_size(&mut self, size: u64) {
        self.0.size = size;
    }

    /// Sets the region's offset within the device file.
    pub fn set_offset(&mut self, offset: u64) {
        self.0.offset = offset;
    }
}

/// A chain of VFIO info capabilities, `struct vfio_info_cap`, being built for userspace.
#[repr(transparent)]
pub struct InfoCaps(bindings::vfio_info_cap);

impl InfoCaps {
    /// Appends a capability that is only a header: identifier `id`, version `version`.
    pub fn add_header(&mut self, id: u16, version: u16) -> Result {
        let len = mem::size_of::<bindings::vfio_info_cap_header>();
        // SAFETY: `self.0` is the core's capability chain; `vfio_info_cap_add()` grows it by
        // `len` bytes and fills in the header.
        from_err_ptr(unsafe { bindings::vfio_info_cap_add(&mut self.0, len, id, version) })?;
        Ok(())
    }

    /// Appends a capability with identifier `id`, version `version` and the body `body`.
    ///
    /// `T` is the capability's uAPI structure without its `struct vfio_info_cap_header`.
    pub fn add<T: AsBytes>(&mut self, id: u16, version: u16, body: &T) -> Result {
        let hdr_len = mem::size_of::<bindings::vfio_info_cap_header>();
        let len = hdr_len + mem::size_of::<T>();
        // SAFETY: `self.0` is the core's capability chain; `vfio_info_cap_add()` grows it by
        // `len` bytes (rounded up) and returns the new, zeroed capability.
        let hdr =
            from_err_ptr(unsafe { bindings::vfio_info_cap_add(&mut self.0, len, id, version) })?;
        let bytes = body.as_bytes();
        // SAFETY: The new capability has room for `len` bytes: the header, then `bytes`.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), hdr.cast::<u8>().add(hdr_len), bytes.len())
        };
        Ok(())
    }

    /// Appends a `VFIO_REGION_INFO_CAP_SPARSE_MMAP` capability: the areas of a region that
    /// userspace may mmap, when it may not map all of it. `EINVAL` for more areas than the
    /// capability can list.
    pub fn add_sparse_mmap(&mut self, areas: &[SparseMmapArea]) -> Result {
        type Cap = bindings::vfio_region_info_cap_sparse_mmap;
        type Area = bindings::vfio_region_sparse_mmap_area;
        let nr_areas = u32::try_from(areas.len())?;
        let len = areas
            .len()
            .checked_mul(mem::size_of::<Area>())
            .and_then(|l| l.checked_add(mem::size_of::<Cap>()))
            .ok_or(EINVAL)?;
        // SAFETY: `self.0` is the core's capability chain; `vfio_info_cap_add()` grows it by
        // `len` bytes (rounded up to 8) and returns the new, zeroed capability, 8-byte aligned.
        let hdr = from_err_ptr(unsafe {
            bindings::vfio_info_cap_add(&mut self.0, len, uapi::REGION_INFO_CAP_SPARSE_MMAP, 1)
        })?;
        let cap = hdr.cast::<Cap>();
        // SAFETY: The new capability has room for `len` bytes, suitably aligned: the
        // sparse-mmap structure, then `areas.len()` areas.
        unsafe {
            (*cap).nr_areas = nr_areas;
            let first = ptr::addr_of_mut!((*cap).areas).cast::<Area>();
            for (i, area) in areas.iter().enumerate() {
                first.add(i).write(Area {
                    offset: area.offset,
                    size: area.size,
                });
            }
        }
        Ok(())
    }
}

/// An area of a region that userspace may mmap, for [`InfoCaps::add_sparse_mmap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SparseMmapArea {
    /// Where the area starts in the region, in bytes.
    pub offset: u64,
    /// The area's size in bytes.
    pub size: u64,
}

/// An eventfd userspace handed to the device to be signalled, `struct eventfd_ctx`.
///
/// # Invariants
///
/// `ctx` holds a reference taken with `eventfd_ctx_fdget()`, dropped on drop.
pub struct EventFd {
    ctx: NonNull<bindings::eventfd_ctx>,
}

impl EventFd {
    /// Takes the eventfd of the caller's file descriptor `fd` (`EBADF` if there is no such file,
    /// `EINVAL` if it is not an eventfd).
    pub fn from_fd(fd: i32) -> Result<Self> {
        // SAFETY: `eventfd_ctx_fdget()` takes any descriptor and checks it.
        let ctx = from_err_ptr(unsafe { bindings::eventfd_ctx_fdget(fd) })?;
        // INVARIANT: A successful `eventfd_ctx_fdget()` returns a new reference.
        NonNull::new(ctx).map(|ctx| Self { ctx }).ok_or(EINVAL)
    }

    /// Returns the raw `struct eventfd_ctx`, valid as long as `self` is.
    pub fn as_raw(&self) -> *mut bindings::eventfd_ctx {
        self.ctx.as_ptr()
    }

    /// Signals the eventfd, from any context, `eventfd_signal()`.
    pub fn signal(&self) {
        // SAFETY: By the type invariant, `ctx` is a live eventfd.
        unsafe { bindings::eventfd_signal_mask(self.ctx.as_ptr(), 0) };
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, the reference is ours.
        unsafe { bindings::eventfd_ctx_put(self.ctx.as_ptr()) };
    }
}

// SAFETY: An eventfd context is reference counted and may be signalled and released from any
// thread.
unsafe impl Send for EventFd {}

// SAFETY: `signal()`, the only method, may be called concurrently.
unsafe impl Sync for EventFd {}

/// VFIO uAPI constants, from `include/uapi/linux/vfio.h`.
pub mod uapi {
    use crate::bindings;

    use super::_IO;

    const fn vfio_ioctl(nr: u32) -> u32 {
        _IO(bindings::VFIO_TYPE as u32, bindings::VFIO_BASE + nr)
    }

    /// `VFIO_DEVICE_GET_INFO`.
    pub const DEVICE_GET_INFO: u32 = vfio_ioctl(7);
    /// `VFIO_DEVICE_GET_IRQ_INFO`.
    pub const DEVICE_GET_IRQ_INFO: u32 = vfio_ioctl(9);
    /// `VFIO_DEVICE_SET_IRQS`.
    pub const DEVICE_SET_IRQS: u32 = vfio_ioctl(10);
    /// `VFIO_DEVICE_RESET`.
    pub const DEVICE_RESET: u32 = vfio_ioctl(11);

    /// `VFIO_DEVICE_IOEVENTFD`.
    pub const DEVICE_IOEVENTFD: u32 = vfio_ioctl(16);
    /// `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO`.
    pub const DEVICE_GET_PCI_HOT_RESET_INFO: u32 = vfio_ioctl(12);
    /// `VFIO_DEVICE_PCI_HOT_RESET`.
    pub const DEVICE_PCI_HOT_RESET: u32 = vfio_ioctl(13);
    /// `VFIO_PCI_HOT_RESET_FLAG_DEV_ID`: the hot reset info reports iommufd device IDs.
    pub const PCI_HOT_RESET_FLAG_DEV_ID: u32 = bindings::VFIO_PCI_HOT_RESET_FLAG_DEV_ID;
    /// `VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED`: the caller owns every function a hot reset
    /// resets.
    pub const PCI_HOT_RESET_FLAG_DEV_ID_OWNED: u32 = bindings::VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
    /// `VFIO_PCI_DEVID_OWNED`: a function bound to VFIO that the caller owns but has not
    /// opened.
    pub const PCI_DEVID_OWNED: u32 = 0;
    /// `VFIO_PCI_DEVID_NOT_OWNED`: a function the caller does not own.
    pub const PCI_DEVID_NOT_OWNED: u32 = u32::MAX;

    /// The feature index of a `VFIO_DEVICE_FEATURE`'s flags.
    pub const DEVICE_FEATURE_MASK: u32 = bindings::VFIO_DEVICE_FEATURE_MASK;
    /// `VFIO_DEVICE_FEATURE_GET`: read the feature's data.
    pub const DEVICE_FEATURE_GET: u32 = bindings::VFIO_DEVICE_FEATURE_GET;
    /// `VFIO_DEVICE_FEATURE_SET`: write the feature's data.
    pub const DEVICE_FEATURE_SET: u32 = bindings::VFIO_DEVICE_FEATURE_SET;
    /// `VFIO_DEVICE_FEATURE_PROBE`: ask whether the feature and its operations are supported.
    pub const DEVICE_FEATURE_PROBE: u32 = bindings::VFIO_DEVICE_FEATURE_PROBE;
    /// `VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY`: let the device suspend while it is open.
    pub const DEVICE_FEATURE_LOW_POWER_ENTRY: u32 = bindings::VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
    /// `VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP`: the same, with an eventfd signalled
    /// when the device wakes up, which ends low power.
    pub const DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: u32 =
        bindings::VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
    /// `VFIO_DEVICE_FEATURE_LOW_POWER_EXIT`: end low power.
    pub const DEVICE_FEATURE_LOW_POWER_EXIT: u32 = bindings::VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
    /// `VFIO_DEVICE_FEATURE_PCI_VF_TOKEN`: set the VF token of an SR-IOV PF.
    pub const DEVICE_FEATURE_PCI_VF_TOKEN: u32 = bindings::VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;

    /// `VFIO_IRQ_SET_DATA_NONE`: no data, the action applies to the interrupts as such.
    pub const IRQ_SET_DATA_NONE: u32 = bindings::VFIO_IRQ_SET_DATA_NONE;
    /// `VFIO_IRQ_SET_DATA_BOOL`: one byte per interrupt says whether the action applies.
    pub const IRQ_SET_DATA_BOOL: u32 = bindings::VFIO_IRQ_SET_DATA_BOOL;
    /// `VFIO_IRQ_SET_DATA_EVENTFD`: one `__s32` eventfd per interrupt, -1 for none.
    pub const IRQ_SET_DATA_EVENTFD: u32 = bindings::VFIO_IRQ_SET_DATA_EVENTFD;
    /// `VFIO_IRQ_SET_DATA_TYPE_MASK`.
    pub const IRQ_SET_DATA_TYPE_MASK: u32 = bindings::VFIO_IRQ_SET_DATA_TYPE_MASK;
    /// `VFIO_IRQ_SET_ACTION_MASK`.
    pub const IRQ_SET_ACTION_MASK: u32 = bindings::VFIO_IRQ_SET_ACTION_MASK;
    /// `VFIO_IRQ_SET_ACTION_UNMASK`.
    pub const IRQ_SET_ACTION_UNMASK: u32 = bindings::VFIO_IRQ_SET_ACTION_UNMASK;
    /// `VFIO_IRQ_SET_ACTION_TRIGGER`.
    pub const IRQ_SET_ACTION_TRIGGER: u32 = bindings::VFIO_IRQ_SET_ACTION_TRIGGER;
    /// `VFIO_IRQ_SET_ACTION_TYPE_MASK`.
    pub const IRQ_SET_ACTION_TYPE_MASK: u32 = bindings::VFIO_IRQ_SET_ACTION_TYPE_MASK;

    /// `VFIO_IRQ_INFO_EVENTFD`: the interrupts can signal an eventfd.
    pub const IRQ_INFO_EVENTFD: u32 = bindings::VFIO_IRQ_INFO_EVENTFD;
    /// `VFIO_IRQ_INFO_MASKABLE`: the interrupts can be masked.
    pub const IRQ_INFO_MASKABLE: u32 = bindings::VFIO_IRQ_INFO_MASKABLE;
    /// `VFIO_IRQ_INFO_AUTOMASKED`: the interrupt is masked when it fires (INTx).
    pub const IRQ_INFO_AUTOMASKED: u32 = bindings::VFIO_IRQ_INFO_AUTOMASKED;
    /// `VFIO_IRQ_INFO_NORESIZE`: the number of enabled interrupts cannot change while enabled.
    pub const IRQ_INFO_NORESIZE: u32 = bindings::VFIO_IRQ_INFO_NORESIZE;

    /// The INTx interrupt index.
    pub const PCI_INTX_IRQ_INDEX: u32 = bindings::VFIO_PCI_INTX_IRQ_INDEX;
    /// The MSI interrupt index.
    pub const PCI_MSI_IRQ_INDEX: u32 = bindings::VFIO_PCI_MSI_IRQ_INDEX;
    /// The MSI-X interrupt index.
    pub const PCI_MSIX_IRQ_INDEX: u32 = bindings::VFIO_PCI_MSIX_IRQ_INDEX;
    /// The error (AER) interrupt index.
    pub const PCI_ERR_IRQ_INDEX: u32 = bindings::VFIO_PCI_ERR_IRQ_INDEX;
    /// The device request interrupt index.
    pub const PCI_REQ_IRQ_INDEX: u32 = bindings::VFIO_PCI_REQ_IRQ_INDEX;

    /// `VFIO_DEVICE_FLAGS_RESET`: the device supports `VFIO_DEVICE_RESET`.
    pub const DEVICE_FLAGS_RESET: u32 = bindings::VFIO_DEVICE_FLAGS_RESET;
    /// `VFIO_DEVICE_FLAGS_PCI`: a vfio-pci device.
    pub const DEVICE_FLAGS_PCI: u32 = bindings::VFIO_DEVICE_FLAGS_PCI;

    /// `VFIO_REGION_INFO_FLAG_READ`.
    pub const REGION_INFO_FLAG_READ: u32 = bindings::VFIO_REGION_INFO_FLAG_READ;
    /// `VFIO_REGION_INFO_FLAG_WRITE`.
    pub const REGION_INFO_FLAG_WRITE: u32 = bindings::VFIO_REGION_INFO_FLAG_WRITE;
    /// `VFIO_REGION_INFO_FLAG_MMAP`.
    pub const REGION_INFO_FLAG_MMAP: u32 = bindings::VFIO_REGION_INFO_FLAG_MMAP;

    /// `VFIO_REGION_INFO_CAP_MSIX_MAPPABLE`: the BAR holding the MSI-X table may be mmapped
    /// whole.
    // CAST: a small capability ID.
    pub const REGION_INFO_CAP_MSIX_MAPPABLE: u16 =
        bindings::VFIO_REGION_INFO_CAP_MSIX_MAPPABLE as u16;

    /// `VFIO_REGION_INFO_CAP_SPARSE_MMAP`: the areas of a region that userspace may mmap.
    // CAST: a small capability ID.
    pub const REGION_INFO_CAP_SPARSE_MMAP: u16 = bindings::VFIO_REGION_INFO_CAP_SPARSE_MMAP as u16;

    /// `VFIO_REGION_INFO_CAP_TYPE`: the type and subtype of a device-specific region.
    // CAST: a small capability ID.
    pub const REGION_INFO_CAP_TYPE: u16 = bindings::VFIO_REGION_INFO_CAP_TYPE as u16;

    /// `VFIO_REGION_TYPE_PCI_VENDOR_TYPE`: a device-specific region type of a PCI vendor, whose
    /// ID is in the low 16 bits.
    pub const REGION_TYPE_PCI_VENDOR_TYPE: u32 = bindings::VFIO_REGION_TYPE_PCI_VENDOR_TYPE;

    /// Region index of BAR 0; BARs 1 to 5 follow.
    pub const PCI_BAR0_REGION_INDEX: u32 = bindings::VFIO_PCI_BAR0_REGION_INDEX;
    /// Region index of BAR 5.
    pub const PCI_BAR5_REGION_INDEX: u32 = bindings::VFIO_PCI_BAR5_REGION_INDEX;
    /// Region index of the expansion ROM.
    pub const PCI_ROM_REGION_INDEX: u32 = bindings::VFIO_PCI_ROM_REGION_INDEX;
    /// Region index of the configuration space.
    pub const PCI_CONFIG_REGION_INDEX: u32 = bindings::VFIO_PCI_CONFIG_REGION_INDEX;
    /// Region index of the VGA ranges.
    pub const PCI_VGA_REGION_INDEX: u32 = bindings::VFIO_PCI_VGA_REGION_INDEX;
    /// Number of fixed vfio-pci regions.
    pub const PCI_NUM_REGIONS: u32 = bindings::VFIO_PCI_NUM_REGIONS;
    /// Number of vfio-pci interrupt indexes (INTx, MSI, MSI-X, ERR, REQ).
    pub const PCI_NUM_IRQS: u32 = bindings::VFIO_PCI_NUM_IRQS;
}

/// A function that a PCI hot reset of a device resets too, as
/// `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO` reports it, `struct vfio_pci_dependent_device`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DependentDevice {
    /// The function's IOMMU group ID for a device opened through its group; with
    /// `uapi::PCI_HOT_RESET_FLAG_DEV_ID`, its iommufd device ID, or `uapi::PCI_DEVID_OWNED`,
    /// or `uapi::PCI_DEVID_NOT_OWNED`.
    pub id: u32,
    /// The PCI segment.
    pub segment: u16,
    /// The bus number.
    pub bus: u8,
    /// The device and function numbers.
    pub devfn: u8,
}

// SAFETY: A `#[repr(C)]` structure of integers of 4, 2, 1 and 1 bytes: no padding.
unsafe impl AsBytes for DependentDevice {}

/// The header of `struct vfio_pci_hot_reset_info` and of `struct vfio_pci_hot_reset`, which
/// are followed by their arrays.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct HotResetHeader {
    argsz: u32,
    flags: u32,
    count: u32,
}

// SAFETY: A `#[repr(C)]` structure of `u32`s: no padding, and any bytes are a valid value.
unsafe impl FromBytes for HotResetHeader {}
// SAFETY: See `FromBytes` above.
unsafe impl AsBytes for HotResetHeader {}

/// Answers `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO` at the user address `arg`, as C vfio-pci does:
/// `EINVAL` if `argsz` is below the header; `count` then gives the number of functions the hot
/// reset would reset, or an error; if they do not fit in `argsz`, only the header is written,
/// with their number and no flags, and the answer is `ENOSPC`; otherwise `devices` gives the
/// flags and the functions, or an error (`EAGAIN` if there are more than counted).
pub fn hot_reset_info(
    arg: usize,
    count: impl FnOnce() -> Result<usize>,
    devices: impl FnOnce() -> Result<(u32, KVec<DependentDevice>)>,
) -> Result<isize> {
    let minsz = mem::size_of::<HotResetHeader>();
    let mut hdr: HotResetHeader = read_argsz(arg, minsz)?;
    let n = count()?;
    // CAST: `argsz` is a `u32`, which fits in `usize`.
    if (hdr.argsz as usize) < minsz + n * mem::size_of::<DependentDevice>() {
        hdr.count = u32::try_from(n).map_err(|_| EINVAL)?;
        hdr.flags = 0;
        write_back(arg, &hdr, minsz)?;
        return Err(ENOSPC);
    }
    let (flags, devices) = devices()?;
    if devices.len() > n {
        // The bus changed since the count.
        return Err(EAGAIN);
    }
    let len = devices.len() * mem::size_of::<DependentDevice>();
    hdr.count = u32::try_from(devices.len()).map_err(|_| EINVAL)?;
    let mut out = UserSlice::new(UserPtr::from_addr(arg + minsz), len).writer();
    for dev in devices.iter() {
        out.write(dev)?;
    }
    hdr.flags = flags;
    write_back(arg, &hdr, minsz)?;
    Ok(0)
}

/// A `VFIO_DEVICE_PCI_HOT_RESET` request, `struct vfio_pci_hot_reset`: the header, and the
/// group files that prove the caller owns the functions a hot reset resets.
pub struct HotResetRequest {
    arg: usize,
    count: u32,
}

impl HotResetRequest {
    /// Reads the header at the user address `arg`: `EINVAL` if `argsz` is below it or flags
    /// are set.
    pub fn from_user(arg: usize) -> Result<Self> {
        let hdr: HotResetHeader = read_argsz(arg, mem::size_of::<HotResetHeader>())?;
        if hdr.flags != 0 {
            return Err(EINVAL);
        }
        Ok(Self {
            arg,
            count: hdr.count,
        })
    }

    /// The number of group file descriptors; none for a device opened through its device
    /// file.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Takes a reference to each group file the request names, for the duration of the reset:
    /// `EBADF` for a descriptor that is not open, `EINVAL` for a file that is not a VFIO
    /// group.
    pub fn group_files(&self) -> Result<KVec<GroupFile>> {
        let count = self.count as usize;
        let mut fds = KVec::<i32>::with_capacity(count, GFP_KERNEL)?;
        let mut reader = UserSlice::new(
            UserPtr::from_addr(self.arg + mem::size_of::<HotResetHeader>()),
            count * mem::size_of::<i32>(),
        )
        .reader();
        for _ in 0..count {
            fds.push(reader.read::<i32>()?, GFP_KERNEL)?;
        }
        let mut files = KVec::with_capacity(count, GFP_KERNEL)?;
        for fd in fds {
            let fd = u32::try_from(fd).map_err(|_| EBADF)?;
            let file = crate::fs::LocalFile::fget(fd)?;
            // SAFETY: `file` is a valid file, referenced for the call.
            if !unsafe { bindings::vfio_file_is_group(file.as_ptr()) } {
                return Err(EINVAL);
            }
            files.push(GroupFile(file), GFP_KERNEL)?;
        }
        Ok(files)
    }
}

/// A VFIO group file (`/dev/vfio/N`) that userspace passed in, referenced.
pub struct GroupFile(ARef<crate::fs::LocalFile>);

impl GroupFile {
    /// Whether `dev` is in the group of this file, `vfio_file_has_dev()`.
    pub fn has_device(&self, dev: &AnyDevice) -> bool {
        // SAFETY: The file is a VFIO group file, referenced; `dev.as_raw()` is a valid
        // `struct vfio_device`.
        unsafe { bindings::vfio_file_has_dev(self.0.as_ptr(), dev.as_raw()) }
    }
}

/// A `VFIO_DEVICE_IOEVENTFD` request, `struct vfio_device_ioeventfd`: write `data`, `count`
/// bytes wide, at `offset` of the device file whenever the eventfd `fd` is signalled (`fd` -1
/// removes the ioeventfd of the same offset, data and width).
pub struct IoEventFdRequest {
    /// The offset of the write in the device file: a region and an offset in it.
    pub offset: u64,
    /// The value written.
    pub data: u64,
    /// The width of the write: 1, 2, 4 or 8 bytes.
    pub count: usize,
    /// The eventfd, or -1.
    pub fd: i32,
}

impl IoEventFdRequest {
    /// Reads the request at the user address `arg`, checked as C vfio-pci checks it: `EINVAL`
    /// if `argsz` is below the structure up to `fd`, for flags other than exactly one width,
    /// and for an `fd` below -1.
    pub fn from_user(arg: usize) -> Result<Self> {
        let minsz = mem::offset_of!(bindings::vfio_device_ioeventfd, fd) + mem::size_of::<i32>();
        let req: bindings::vfio_device_ioeventfd = read_argsz(arg, minsz)?;
        let size_mask = bindings::VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
        let count = req.flags & size_mask;
        if req.flags & !size_mask != 0 || count.count_ones() != 1 || req.fd < -1 {
            return Err(EINVAL);
        }
        Ok(Self {
            offset: req.offset,
            data: req.data,
            // CAST: the width flags are the widths in bytes: 1, 2, 4 or 8.
            count: count as usize,
            fd: req.fd,
        })
    }
}

// SAFETY: `vfio_device_ioeventfd` is a `#[repr(C)]` structure of two `u32`s, two `u64`s, an
// `i32` and a `u32`: no padding, and any bytes are a valid value.
unsafe impl FromBytes for bindings::vfio_device_ioeventfd {}
// SAFETY: See `FromBytes` above.
unsafe impl AsBytes for bindings::vfio_device_ioeventfd {}

/// The answer to `VFIO_DEVICE_GET_INFO`.
pub struct DeviceInfo {
    /// `VFIO_DEVICE_FLAGS_*`.
    pub flags: u32,
    /// Number of regions.
    pub num_regions: u32,
    /// Number of interrupt indexes.
    pub num_irqs: u32,
}

impl DeviceInfo {
    /// Answers `VFIO_DEVICE_GET_INFO` at the user address `arg`, with C vfio-pci's `argsz`
    /// handshake: the header up to `num_irqs` is required (`EINVAL` if `argsz` is smaller), and
    /// at most `argsz` bytes of the structure are written back.
    pub fn write_to_user(&self, arg: usize) -> Result<isize> {
        let minsz = mem::offset_of!(bindings::vfio_device_info, num_irqs) + mem::size_of::<u32>();
        let mut info: bindings::vfio_device_info = read_argsz(arg, minsz)?;
        // CAST: `argsz` is a `u32`, which fits in `usize`.
        let len = (info.argsz as usize).min(mem::size_of_val(&info));
        info.flags = self.flags;
        info.num_regions = self.num_regions;
        info.num_irqs = self.num_irqs;
        info.cap_offset = 0;
        write_back(arg, &info, len)?;
        Ok(0)
    }
}

/// The answer to `VFIO_DEVICE_GET_IRQ_INFO` for one interrupt index.
pub struct IrqInfo {
    /// `VFIO_IRQ_INFO_*`.
    pub flags: u32,
    /// Number of interrupts of the index.
    pub count: u32,
}

impl IrqInfo {
    /// Answers `VFIO_DEVICE_GET_IRQ_INFO` at the user address `arg`, with C vfio-pci's `argsz`
    /// handshake (`EINVAL` if `argsz` does not cover `count`): `info` is called with the index
    /// userspace asks about.
    pub fn ioctl(arg: usize, info: impl FnOnce(u32) -> Result<IrqInfo>) -> Result<isize> {
        let minsz = mem::size_of::<bindings::vfio_irq_info>();
        let mut irq: bindings::vfio_irq_info = read_argsz(arg, minsz)?;
        let answer = info(irq.index)?;
        irq.flags = answer.flags;
        irq.count = answer.count;
        write_back(arg, &irq, minsz)?;
        Ok(0)
    }
}

/// Checks a `VFIO_DEVICE_SET_IRQS` header as the C VFIO core does
/// (`vfio_set_irqs_validate_and_prepare()`), for a device with `max_irq_type` interrupt
/// indexes, of which index `index` has `irqs` interrupts; returns the size of the data that
/// follows the header. `EINVAL` for an `argsz` below the header or the data, an index out of
/// range, unknown flags, a data type that is not exactly one of none, bool or eventfd, or
/// interrupts past those of the index.
pub fn validate_irq_set(
    argsz: u32,
    flags: u32,
    index: u32,
    start: u32,
    count: u32,
    irqs: u32,
    max_irq_type: u32,
) -> Result<usize> {
    // CAST: the header size is a small constant.
    let minsz = mem::size_of::<bindings::vfio_irq_set>() as u32;
    let known = uapi::IRQ_SET_DATA_TYPE_MASK | uapi::IRQ_SET_ACTION_TYPE_MASK;
    if argsz < minsz || index >= max_irq_type || count >= u32::MAX - start || flags & !known != 0 {
        return Err(EINVAL);
    }
    if start >= irqs || start + count > irqs {
        return Err(EINVAL);
    }
    let size: u32 = match flags & uapi::IRQ_SET_DATA_TYPE_MASK {
        uapi::IRQ_SET_DATA_NONE => 0,
        uapi::IRQ_SET_DATA_BOOL => 1,
        uapi::IRQ_SET_DATA_EVENTFD => 4,
        _ => return Err(EINVAL),
    };
    // `count` is below `u32::MAX - start`, so the product fits in `u64`.
    let data = u64::from(count) * u64::from(size);
    if data > u64::from(argsz - minsz) {
        return Err(EINVAL);
    }
    // CAST: bounded by `argsz`, a `u32`.
    Ok(data as usize)
}

/// A `VFIO_DEVICE_SET_IRQS` request, read from userspace and checked with
/// [`validate_irq_set`].
pub struct IrqSet {
    /// `VFIO_IRQ_SET_*`: one data type and an action.
    pub flags: u32,
    /// The interrupt index.
    pub index: u32,
    /// The first interrupt of the index the request is about.
    pub start: u32,
    /// The number of interrupts the request is about.
    pub count: u32,
    data: KVec<u8>,
}

impl IrqSet {
    /// Reads the request at the user address `arg`, for a device with `max_irq_type` interrupt
    /// indexes; `irqs` gives the number of interrupts of an index.
    pub fn from_user(arg: usize, max_irq_type: u32, irqs: impl FnOnce(u32) -> u32) -> Result<Self> {
        let minsz = mem::size_of::<bindings::vfio_irq_set>();
        let hdr: bindings::vfio_irq_set = read_argsz(arg, minsz)?;
        let len = validate_irq_set(
            hdr.argsz,
            hdr.flags,
            hdr.index,
            hdr.start,
            hdr.count,
            irqs(hdr.index),
            max_irq_type,
        )?;
        let mut data = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        UserSlice::new(UserPtr::from_addr(arg + minsz), len)
            .reader()
            .read_slice(&mut data)?;
        Ok(Self {
            flags: hdr.flags,
            index: hdr.index,
            start: hdr.start,
            count: hdr.count,
            data,
        })
    }

    /// The data type, `VFIO_IRQ_SET_DATA_*`.
    pub fn data_type(&self) -> u32 {
        self.flags & uapi::IRQ_SET_DATA_TYPE_MASK
    }

    /// The action, `VFIO_IRQ_SET_ACTION_*` (not necessarily a single one).
    pub fn action(&self) -> u32 {
        self.flags & uapi::IRQ_SET_ACTION_TYPE_MASK
    }

    /// With `VFIO_IRQ_SET_DATA_BOOL`, the byte of the `i`th interrupt of the request.
    pub fn bool_at(&self, i: usize) -> Option<bool> {
        (self.data_type() == uapi::IRQ_SET_DATA_BOOL)
            .then(|| self.data.get(i).map(|b| *b != 0))
            .flatten()
    }

    /// With `VFIO_IRQ_SET_DATA_EVENTFD`, the descriptor of the `i`th interrupt of the request.
    pub fn fd_at(&self, i: usize) -> Option<i32> {
        if self.data_type() != uapi::IRQ_SET_DATA_EVENTFD {
            return None;
        }
        let b = self.data.get(4 * i..4 * i + 4)?;
        Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
}

// SAFETY: `vfio_irq_set` is a `#[repr(C)]` structure of `u32`s followed by a flexible array,
// which takes no room: no padding, and any bytes are a valid value.
unsafe impl FromBytes for bindings::vfio_irq_set {}
// SAFETY: See `FromBytes` above.
unsafe impl AsBytes for bindings::vfio_irq_set {}

// SAFETY: `vfio_device_info` is a `#[repr(C)]` structure of `u32`s: no padding, and any bytes
// are a valid value.
unsafe impl FromBytes for bindings::vfio_device_info {}
// SAFETY: See `FromBytes` above.
unsafe impl AsBytes for bindings::vfio_device_info {}
// SAFETY: `vfio_irq_info` is a `#[repr(C)]` structure of `u32`s: no padding, and any bytes are
// a valid value.
unsafe impl FromBytes for bindings::vfio_irq_info {}
// SAFETY: See `FromBytes` above.
unsafe impl AsBytes for bindings::vfio_irq_info {}

/// Reads the first `minsz` bytes of the ioctl structure `T` at the user address `arg`, the rest
/// zeroed. Its first field is `argsz`, the size userspace says the structure has: `EINVAL` if
/// that is below `minsz`, as the C VFIO drivers answer.
fn read_argsz<T: FromBytes + AsBytes + Default>(arg: usize, minsz: usize) -> Result<T> {
    let mut val = T::default();
    let bytes = val.as_bytes_mut();
    if minsz < mem::size_of::<u32>() || minsz > bytes.len() {
        return Err(EINVAL);
    }
    UserSlice::new(UserPtr::from_addr(arg), minsz)
        .reader()
        .read_slice(&mut bytes[..minsz])?;
    let argsz = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    // CAST: `u32` fits in `usize`.
    if (argsz as usize) < minsz {
        return Err(EINVAL);
    }
    Ok(val)
}

/// Writes the first `len` bytes of `val` back to the user address `arg`.
fn write_back<T: AsBytes>(arg: usize, val: &T, len: usize) -> Result {
    let bytes = val.as_bytes();
    let bytes = bytes.get(..len).ok_or(EINVAL)?;
    UserSlice::new(UserPtr::from_addr(arg), len)
        .writer()
        .write_slice(bytes)
}
