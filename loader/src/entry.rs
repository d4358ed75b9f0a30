//! The loader's first instructions, its exception vectors and the jump into the kernel.

use boot_handoff::PhysRegion;
use core::arch::{asm, global_asm};

/// Bytes of stack the loader runs on.
const STACK_SIZE: usize = 64 * 1024;

global_asm!(
    r#"
    .section .text._start, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  ldr     x1, =__loader_stack_top
    mov     sp, x1
    ldr     x1, =loader_vectors
    msr     vbar_el1, x1
    isb
    bl      loader_main
3:  wfe
    b       3b

    .section .text.loader_vectors, "ax"
    .balign 2048
loader_vectors:
    .rept 16
    .balign 128
    mrs     x0, esr_el1
    mrs     x1, elr_el1
    mrs     x2, far_el1
    bl      loader_exception
    .endr

    .section .bss.loader_stack, "aw", %nobits
    .balign 16
    .space {stack_size}
__loader_stack_top:
"#,
    stack_size = const STACK_SIZE,
);

/// Any exception while the loader runs is a loader bug or a broken payload.
#[no_mangle]
extern "C" fn loader_exception(esr: u64, elr: u64, far: u64) -> ! {
    crate::console::fail(format_args!(
        "exception ESR={esr:#x} ELR={elr:#x} FAR={far:#x}"
    ))
}

/// The exception level the loader runs at.
pub fn current_el() -> u64 {
    let current_el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) current_el, options(nomem, nostack)) };
    (current_el >> 2) & 3
}

/// Physical memory the loader image (code, data, bss, stack) occupies.
pub fn loader_region() -> PhysRegion {
    extern "C" {
        static __loader_start: u8;
        static __loader_end: u8;
    }
    PhysRegion {
        start: (&raw const __loader_start) as u64,
        end: (&raw const __loader_end) as u64,
    }
}

/// Jumps to the kernel's entry point (a kernel-window address) with x0 = `handoff`.
///
/// # Safety
/// The MMU must map the kernel window, the kernel image must be in place with its
/// instruction-cache view up to date, and `handoff` must be the physical address of a
/// valid [`boot_handoff::BootHandoff`].
pub unsafe fn enter_kernel(entry: u64, handoff: u64) -> ! {
    // SAFETY: the caller guarantees the kernel is ready to run; it never returns.
    unsafe {
        asm!(
            "br {entry}",
            entry = in(reg) entry,
            in("x0") handoff,
            options(noreturn, nostack),
        )
    }
}
