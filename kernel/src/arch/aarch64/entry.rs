//! The kernel's first instructions: the loader jumps here (a kernel-window address) with
//! the MMU on and x0 = the BootHandoff's physical address.

use core::arch::global_asm;

/// Bytes of the kernel stack (one CPU; the kernel runs with interrupts masked and every
/// entry starts on an empty stack).
pub const KERNEL_STACK_SIZE: usize = 16 * 1024;

global_asm!(
    r#"
    .section .text.entry, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    mov     x19, x0
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:  ldr     x1, =kernel_stack_top
    mov     sp, x1
    msr     tpidr_el1, x1
    mov     x0, x19
    bl      kernel_boot
3:  wfe
    b       3b

    .section .bss.kernel_stack, "aw", %nobits
    .balign 4096
    .space {stack_size}
    .global kernel_stack_top
kernel_stack_top:
"#,
    stack_size = const KERNEL_STACK_SIZE,
);
