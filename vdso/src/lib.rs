//! The vDSO, linux-vdso.so.1: the time functions every process calls without trapping, and
//! the signal-return trampoline. `cargo xtask` builds this crate as a position-independent
//! staticlib for aarch64-unknown-none and links it with `vdso.lds` and `vdso.ver` into
//! `target/vdso/vdso.so`; see `xtask/src/vdso.rs` and shared/VDSO.md.
//!
//! The entry points are plain AAPCS64 functions returning 0 or -errno. All time arithmetic
//! lives in the host-tested `vdso-data` crate; this crate only reaches the data page, reads
//! the counter and makes the fallback syscall. On other architectures it builds empty, so
//! workspace-wide host commands still work.
#![no_std]

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
mod entry;

/// Nothing in the vDSO can panic (no indexing, no unwrap, overflow checks off in release,
/// all arithmetic checked); if a panic were ever linked in, the build's relocation check
/// would likely catch the formatting machinery it drags along. Should one still run, trap
/// rather than hang the calling thread.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `udf` raises an undefined-instruction exception; it touches no memory.
        unsafe {
            core::arch::asm!("udf #0", options(nomem, nostack));
        }
    }
}
