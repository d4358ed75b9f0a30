//! The only machine-specific pieces: the data page's address, the virtual counter, the
//! fallback syscall and the signal-return trampoline (whose bytes unwinders match).

use core::arch::{asm, global_asm};

use vdso_data::VvarPage;

/// The data page, which the linker script places one page below the text (`__vvar_page`).
#[inline(always)]
pub fn vvar() -> &'static VvarPage {
    let address: *const VvarPage;
    // SAFETY: `adrp`/`add` only compute an address, PC-relatively, so no GOT entry and no
    // dynamic relocation is needed; the symbol is local to the image (version script
    // `local: *`, -Bsymbolic).
    unsafe {
        asm!(
            "adrp {address}, __vvar_page",
            "add {address}, {address}, :lo12:__vvar_page",
            address = out(reg) address,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    // SAFETY: the root task maps the data frame read-only at exactly this address (one page
    // below the vDSO's ELF header) in every process before the process runs, for the
    // process's lifetime, and VvarPage is page-aligned-compatible (alignment 8), fits in
    // the page and consists of atomics only, so every bit pattern is a valid value and loads
    // from read-only memory are sound.
    unsafe { &*address }
}

/// CNTVCT_EL0, the virtual counter. The `isb` keeps the read from being performed ahead of
/// the preceding sequence-counter load; the asm is not `nomem`, so the compiler cannot move
/// it across that load either.
#[inline(always)]
pub fn read_counter() -> u64 {
    let counter: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects; the kernel enables EL0 access to it
    // (CNTKCTL_EL1.EL0VCTEN).
    unsafe {
        asm!(
            "isb",
            "mrs {counter}, cntvct_el0",
            counter = out(reg) counter,
            options(nostack, preserves_flags),
        );
    }
    counter
}

/// The Linux system call `number` with two arguments, through the process's own `svc #0`,
/// exactly as libc would make it; returns x0 (a result or -errno).
///
/// # Safety
/// The arguments must be what the syscall accepts (the kernel validates user pointers, so
/// passing the caller's pointers through unchanged is sound).
#[inline(always)]
pub unsafe fn syscall2(number: u64, first: u64, second: u64) -> i64 {
    let result: i64;
    // SAFETY: the caller upholds the syscall's contract; the kernel preserves every register
    // but x0 and uses no user stack.
    unsafe {
        asm!(
            "svc #0",
            in("x8") number,
            inlateout("x0") first => result,
            in("x1") second,
            options(nostack),
        );
    }
    result
}

// __kernel_rt_sigreturn: `nop` before the symbol, then `mov x8, #139` (rt_sigreturn) and
// `svc #0` at it, byte for byte as Linux has them. libgcc, glibc and gdb recognise a signal
// frame by these instructions; the leading nop lets an unwinder that looks up `pc - 1` land
// inside the trampoline. No CFI: unwinders use the byte match when no FDE covers the pc.
global_asm!(
    ".pushsection .text.__kernel_rt_sigreturn, \"ax\", %progbits",
    ".balign 4",
    "nop",
    ".globl __kernel_rt_sigreturn",
    ".type __kernel_rt_sigreturn, %function",
    "__kernel_rt_sigreturn:",
    "mov x8, #139",
    "svc #0",
    ".size __kernel_rt_sigreturn, . - __kernel_rt_sigreturn",
    ".popsection",
);
