//! The exported functions, at version LINUX_2.6.39 (see `vdso.ver`). Each serves the clocks
//! in `vdso_data::ClockClass::Fast` from the data page, returns -EINVAL for ids Linux
//! rejects, and otherwise (another clock, or a page being written) makes the syscall itself:
//! glibc does not fall back when the vDSO fails.
//!
//! Return type: C declares these `int`; returning the sign-extended 64-bit value in x0 is
//! correct both for callers that read w0 and for ones that read x0.

use vdso_data::{resolution, ClockClass, FastClock, Timespec, Timeval, Timezone, EFAULT, EINVAL};

use crate::aarch64::{read_counter, syscall2, vvar};

/// Linux aarch64 (asm-generic) syscall numbers.
const SYS_CLOCK_GETTIME: u64 = 113;
const SYS_CLOCK_GETRES: u64 = 114;
const SYS_GETTIMEOFDAY: u64 = 169;

/// clock_gettime(2).
///
/// # Safety
/// `timespec` is null or valid for writing a `struct timespec` (as for the syscall; an
/// invalid non-null pointer faults in the caller's context, as on Linux).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __kernel_clock_gettime(clock_id: i32, timespec: *mut Timespec) -> i64 {
    match ClockClass::of(clock_id) {
        ClockClass::Fast(clock) => {
            if timespec.is_null() {
                return -EFAULT;
            }
            match vvar().read_clock(clock, read_counter) {
                Some(time) => {
                    // SAFETY: non-null, and valid for writes per the caller's contract.
                    unsafe { timespec.write(time) };
                    0
                }
                // SAFETY: the caller's arguments, passed through to the kernel.
                None => unsafe { clock_gettime_syscall(clock_id, timespec) },
            }
        }
        // SAFETY: as above.
        ClockClass::Syscall => unsafe { clock_gettime_syscall(clock_id, timespec) },
        ClockClass::Invalid => -EINVAL,
    }
}

/// gettimeofday(2). Either pointer may be null.
///
/// # Safety
/// Each pointer is null or valid for writing its structure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __kernel_gettimeofday(
    timeval: *mut Timeval,
    timezone: *mut Timezone,
) -> i64 {
    if !timeval.is_null() {
        match vvar().read_clock(FastClock::Realtime, read_counter) {
            // SAFETY: non-null, and valid for writes per the caller's contract.
            Some(time) => unsafe { timeval.write(time.to_timeval()) },
            // SAFETY: the caller's arguments, passed through to the kernel.
            None => return unsafe { gettimeofday_syscall(timeval, timezone) },
        }
    }
    if !timezone.is_null() {
        match vvar().read_timezone() {
            // SAFETY: non-null, and valid for writes per the caller's contract.
            Some(zone) => unsafe { timezone.write(zone) },
            // SAFETY: as above.
            None => return unsafe { gettimeofday_syscall(timeval, timezone) },
        }
    }
    0
}

/// clock_getres(2). `resolution` may be null.
///
/// # Safety
/// `resolution` is null or valid for writing a `struct timespec`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __kernel_clock_getres(
    clock_id: i32,
    resolution_out: *mut Timespec,
) -> i64 {
    match ClockClass::of(clock_id) {
        ClockClass::Fast(clock) => {
            if !resolution_out.is_null() {
                // SAFETY: non-null, and valid for writes per the caller's contract.
                unsafe { resolution_out.write(resolution(clock)) };
            }
            0
        }
        // SAFETY: the caller's arguments, passed through to the kernel.
        ClockClass::Syscall => unsafe {
            syscall2(
                SYS_CLOCK_GETRES,
                clock_id as i64 as u64,
                resolution_out as u64,
            )
        },
        ClockClass::Invalid => -EINVAL,
    }
}

/// # Safety
/// The caller's clock_gettime arguments.
#[inline(always)]
unsafe fn clock_gettime_syscall(clock_id: i32, timespec: *mut Timespec) -> i64 {
    // SAFETY: passed through; the kernel validates the pointer.
    unsafe { syscall2(SYS_CLOCK_GETTIME, clock_id as i64 as u64, timespec as u64) }
}

/// # Safety
/// The caller's gettimeofday arguments.
#[inline(always)]
unsafe fn gettimeofday_syscall(timeval: *mut Timeval, timezone: *mut Timezone) -> i64 {
    // SAFETY: passed through; the kernel validates the pointers.
    unsafe { syscall2(SYS_GETTIMEOFDAY, timeval as u64, timezone as u64) }
}
