//! A tiny library preloaded (`LD_PRELOAD`) into collectd-view's `rrdtool -` workers to
//! make their PNG encoding cheaper without changing a pixel.
//!
//! rrdtool draws with cairo, and cairo writes PNGs with libpng's defaults: every row is
//! tried with all five row filters, then deflated at zlib level 6. For graphs (large
//! flat areas, thin lines) the filter search costs about a third of a warm render and
//! saves almost nothing, and neither rrdtool nor cairo has a setting for it. This library
//! defines `png_write_info`, which cairo calls once per image before any row: it sets
//! "no filter" and the zlib level from `COLLECTD_VIEW_PNG_LEVEL` (one digit, default 6),
//! then calls libpng's own `png_write_info`. Image content is unchanged; only the
//! compression of the file differs.
//!
//! Built by `build.rs` with the same rustc as the crate, `no_std`, linked to the C
//! library and libdl for `dlsym`, `dlvsym` and `getenv` (libdl is where glibc kept
//! `dlsym` before 2.34). If a libpng setter is missing, that setting is skipped.

#![no_std]

use core::ffi::{c_char, c_int, c_void};

unsafe extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlvsym(handle: *mut c_void, symbol: *const c_char, version: *const c_char) -> *mut c_void;
    fn getenv(name: *const c_char) -> *const c_char;
}

/// `RTLD_NEXT` (glibc): the next definition after this library, i.e. libpng's.
const RTLD_NEXT: *mut c_void = -1isize as *mut c_void;
/// libpng's `PNG_FILTER_NONE` (a filter mask bit).
const PNG_FILTER_NONE: c_int = 0x08;
/// libpng's `PNG_FILTER_TYPE_BASE`.
const PNG_FILTER_TYPE_BASE: c_int = 0;
/// The zlib level when the environment does not say: libpng's own default.
const DEFAULT_LEVEL: c_int = 6;

type WriteInfo = unsafe extern "C" fn(png: *mut c_void, info: *const c_void);
type SetFilter = unsafe extern "C" fn(png: *mut c_void, method: c_int, filters: c_int);
type SetCompressionLevel = unsafe extern "C" fn(png: *mut c_void, level: c_int);

/// The zlib level asked for in `COLLECTD_VIEW_PNG_LEVEL`: a single digit 0-9.
unsafe fn level_from_environment() -> c_int {
    // SAFETY: getenv returns NULL or a NUL-terminated string that stays valid while the
    // environment is not modified; rrdtool does not modify it.
    let value = unsafe { getenv(c"COLLECTD_VIEW_PNG_LEVEL".as_ptr()) };
    if value.is_null() {
        return DEFAULT_LEVEL;
    }
    // SAFETY: a non-NULL result points to at least its NUL terminator.
    let (first, second) = unsafe { (*value as u8, if *value == 0 { 0 } else { *value.add(1) as u8 }) };
    match (first, second) {
        (b'0'..=b'9', 0) => c_int::from(first - b'0'),
        _ => DEFAULT_LEVEL,
    }
}

/// libpng 1.6's definition of `name` after this library: its versioned symbol first, so
/// that a process with two libpngs loaded still gets 1.6's; any definition otherwise.
///
/// # Safety
///
/// `name` must be NUL-terminated.
unsafe fn libpng(name: &core::ffi::CStr) -> *mut c_void {
    // SAFETY: both take NUL-terminated strings and only look symbols up.
    unsafe {
        let versioned = dlvsym(RTLD_NEXT, name.as_ptr(), c"PNG16_0".as_ptr());
        if versioned.is_null() { dlsym(RTLD_NEXT, name.as_ptr()) } else { versioned }
    }
}

/// libpng's `png_write_info`, preceded by the filter and level settings.
///
/// # Safety
///
/// Called by cairo with libpng's own `png_structp` and `png_infop`, which are passed on
/// unchanged to libpng's functions of the same contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn png_write_info(png: *mut c_void, info: *const c_void) {
    // SAFETY: each non-NULL result is libpng's function of the signature declared above
    // (libpng's API, unchanged since 1.0), called with the pointers cairo gave us.
    unsafe {
        let set_filter = libpng(c"png_set_filter");
        if !set_filter.is_null() {
            core::mem::transmute::<*mut c_void, SetFilter>(set_filter)(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
        }
        let set_level = libpng(c"png_set_compression_level");
        if !set_level.is_null() {
            core::mem::transmute::<*mut c_void, SetCompressionLevel>(set_level)(png, level_from_environment());
        }
        // Without libpng's own png_write_info there is nothing to forward to: the caller
        // then gets libpng's error that the header was never written. Only a caller
        // linked to libpng calls this function, so libpng is always there.
        let write_info = libpng(c"png_write_info");
        if !write_info.is_null() {
            core::mem::transmute::<*mut c_void, WriteInfo>(write_info)(png, info);
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Nothing above can panic; a no_std library must still say what a panic does.
    loop {}
}
