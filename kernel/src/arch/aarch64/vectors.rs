//! Exception vectors and the user entry/return paths.
//!
//! While a user thread runs, SP_EL1 points at its [`UserRegisters`]; an exception from
//! EL0 stores the registers there, switches to the kernel stack (TPIDR_EL1) and calls the
//! Rust handler, which returns the `UserRegisters` of the thread to resume. Exceptions
//! taken from EL1 are kernel bugs.

use super::registers::{esr_el1, far_el1, isb, vbar_el1};
use super::user_context::UserRegisters;
use core::arch::global_asm;

global_asm!(
    r#"
    .macro SAVE_USER_REGISTERS
    stp     x0, x1, [sp, #16 * 0]
    stp     x2, x3, [sp, #16 * 1]
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    stp     x10, x11, [sp, #16 * 5]
    stp     x12, x13, [sp, #16 * 6]
    stp     x14, x15, [sp, #16 * 7]
    stp     x16, x17, [sp, #16 * 8]
    stp     x18, x19, [sp, #16 * 9]
    stp     x20, x21, [sp, #16 * 10]
    stp     x22, x23, [sp, #16 * 11]
    stp     x24, x25, [sp, #16 * 12]
    stp     x26, x27, [sp, #16 * 13]
    stp     x28, x29, [sp, #16 * 14]
    mrs     x21, sp_el0
    stp     x30, x21, [sp, #16 * 15]
    mrs     x22, elr_el1
    mrs     x23, spsr_el1
    stp     x22, x23, [sp, #16 * 16]
    mrs     x24, tpidr_el0
    str     x24, [sp, #16 * 17]
    mrs     x25, tpidr_el1
    mov     sp, x25
    .endm

    .macro KERNEL_FAULT kind
    .balign 128
    mov     x0, #\kind
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    b       kernel_exception
    .endm

    // From EL0, SP_EL1 points into a TCB: move to the kernel stack before reporting.
    .macro USER_FAULT kind
    .balign 128
    mrs     x0, tpidr_el1
    mov     sp, x0
    mov     x0, #\kind
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    b       kernel_exception
    .endm

    .section .text.vectors, "ax"
    .balign 2048
    .global exception_vectors
exception_vectors:
    // Current EL with SP_EL0: the kernel never runs on SP_EL0.
    KERNEL_FAULT 0
    KERNEL_FAULT 1
    KERNEL_FAULT 2
    KERNEL_FAULT 3
    // Current EL with SP_EL1: the kernel itself.
    KERNEL_FAULT 4
    KERNEL_FAULT 5
    KERNEL_FAULT 6
    KERNEL_FAULT 7
    // Lower EL, AArch64: user threads.
    .balign 128
    SAVE_USER_REGISTERS
    bl      handle_user_exception
    b       return_to_user
    .balign 128
    SAVE_USER_REGISTERS
    bl      handle_user_interrupt
    b       return_to_user
    USER_FAULT 10
    USER_FAULT 11
    // Lower EL, AArch32: never entered (threads always run AArch64).
    USER_FAULT 12
    USER_FAULT 13
    USER_FAULT 14
    USER_FAULT 15

    // x0 = the UserRegisters to resume.
    .section .text.return_to_user, "ax"
    .global return_to_user
return_to_user:
    mov     sp, x0
    ldp     x22, x23, [sp, #16 * 16]
    msr     elr_el1, x22
    msr     spsr_el1, x23
    ldp     x24, x25, [sp, #16 * 17]
    msr     tpidr_el0, x24
    msr     tpidrro_el0, x25
    ldp     x30, x21, [sp, #16 * 15]
    msr     sp_el0, x21
    ldp     x0, x1, [sp, #16 * 0]
    ldp     x2, x3, [sp, #16 * 1]
    ldp     x4, x5, [sp, #16 * 2]
    ldp     x6, x7, [sp, #16 * 3]
    ldp     x8, x9, [sp, #16 * 4]
    ldp     x10, x11, [sp, #16 * 5]
    ldp     x12, x13, [sp, #16 * 6]
    ldp     x14, x15, [sp, #16 * 7]
    ldp     x16, x17, [sp, #16 * 8]
    ldp     x18, x19, [sp, #16 * 9]
    ldp     x20, x21, [sp, #16 * 10]
    ldp     x22, x23, [sp, #16 * 11]
    ldp     x24, x25, [sp, #16 * 12]
    ldp     x26, x27, [sp, #16 * 13]
    ldp     x28, x29, [sp, #16 * 14]
    eret
"#
);

extern "C" {
    static exception_vectors: u8;
    fn return_to_user(registers: *mut UserRegisters) -> !;
}

/// Installs the kernel's exception vectors.
pub fn install() {
    // SAFETY: `exception_vectors` is the 2 KiB-aligned table above, in kernel text.
    unsafe { vbar_el1::write((&raw const exception_vectors) as u64) };
    isb();
}

/// Leaves the kernel and resumes a user thread.
///
/// # Safety
/// `registers` must be the register block of a thread whose address space is active, in
/// kernel memory that stays valid while the thread runs (SP_EL1 points at it then).
pub unsafe fn resume_user(registers: *mut UserRegisters) -> ! {
    // SAFETY: the caller guarantees `registers` is a valid, live register block.
    unsafe { return_to_user(registers) }
}

/// What the syndrome says about an exception from EL0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserException {
    /// `svc` (the immediate is ignored, as seL4 does).
    SystemCall,
    /// Instruction fetch abort (`status` is the whole ESR, as seL4 reports it).
    InstructionAbort { address: u64, status: u64 },
    /// Data abort (`status` is the whole ESR).
    DataAbort { address: u64, status: u64 },
    /// An FP/SIMD instruction while user access to those registers is trapped (the
    /// kernel's lazy FP/SIMD switching).
    FpAccessTrapped,
    /// Anything else: undefined instruction, alignment, breakpoint, ... (`syndrome` is
    /// the whole ESR).
    Other { syndrome: u64 },
}

const EC_SVC64: u64 = 0x15;
const EC_FP_ACCESS: u64 = 0x07;
/// The ESR of an instruction abort from EL0 on a level-0 translation fault: what a
/// thread without an address space takes on its first instruction.
pub const TRANSLATION_FAULT_LEVEL_0: u64 =
    (EC_INSTRUCTION_ABORT_LOWER << 26) | (1 << 25) | 0b00_0100;
const EC_INSTRUCTION_ABORT_LOWER: u64 = 0x20;
const EC_DATA_ABORT_LOWER: u64 = 0x24;

/// Decodes ESR_EL1/FAR_EL1 for the exception just taken from EL0.
#[inline(always)]
pub fn current_user_exception() -> UserException {
    let syndrome = esr_el1::read();
    let class = (syndrome >> 26) & 0x3f;
    match class {
        EC_SVC64 => UserException::SystemCall,
        EC_FP_ACCESS => UserException::FpAccessTrapped,
        EC_INSTRUCTION_ABORT_LOWER => UserException::InstructionAbort {
            address: far_el1::read(),
            status: syndrome,
        },
        EC_DATA_ABORT_LOWER => UserException::DataAbort {
            address: far_el1::read(),
            status: syndrome,
        },
        _ => UserException::Other { syndrome },
    }
}

/// Exceptions the kernel must never take.
#[no_mangle]
extern "C" fn kernel_exception(kind: u64, syndrome: u64, link: u64, fault_address: u64) -> ! {
    let what = match kind {
        4 => "synchronous exception",
        5 => "IRQ",
        6 => "FIQ",
        7 => "SError",
        10 => "FIQ from user",
        11 => "SError from user",
        12..=15 => "exception from AArch32",
        _ => "exception on SP_EL0",
    };
    crate::kernel_panic!("{what} in kernel: ESR={syndrome:#x} ELR={link:#x} FAR={fault_address:#x}")
}
