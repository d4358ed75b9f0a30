//! FP/SIMD register state: saved and restored when the CPU switches between threads.
//! The kernel is built soft-float, so it never disturbs these registers itself.

use core::arch::global_asm;

/// The FP/SIMD registers of one thread: v0..v31, FPSR, FPCR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct FpState {
    pub vector: [u128; 32],
    pub status: u64,
    pub control: u64,
}

const _: () = assert!(core::mem::offset_of!(FpState, status) == 512);
const _: () = assert!(core::mem::size_of::<FpState>() == 528);

global_asm!(
    r#"
    .arch_extension fp
    .arch_extension simd
    .section .text.fp_state, "ax"
    .global fp_state_save
fp_state_save:
    stp     q0, q1, [x0, #32 * 0]
    stp     q2, q3, [x0, #32 * 1]
    stp     q4, q5, [x0, #32 * 2]
    stp     q6, q7, [x0, #32 * 3]
    stp     q8, q9, [x0, #32 * 4]
    stp     q10, q11, [x0, #32 * 5]
    stp     q12, q13, [x0, #32 * 6]
    stp     q14, q15, [x0, #32 * 7]
    stp     q16, q17, [x0, #32 * 8]
    stp     q18, q19, [x0, #32 * 9]
    stp     q20, q21, [x0, #32 * 10]
    stp     q22, q23, [x0, #32 * 11]
    stp     q24, q25, [x0, #32 * 12]
    stp     q26, q27, [x0, #32 * 13]
    stp     q28, q29, [x0, #32 * 14]
    stp     q30, q31, [x0, #32 * 15]
    mrs     x1, fpsr
    mrs     x2, fpcr
    add     x0, x0, #512
    stp     x1, x2, [x0]
    ret

    .global fp_state_restore
fp_state_restore:
    ldp     q0, q1, [x0, #32 * 0]
    ldp     q2, q3, [x0, #32 * 1]
    ldp     q4, q5, [x0, #32 * 2]
    ldp     q6, q7, [x0, #32 * 3]
    ldp     q8, q9, [x0, #32 * 4]
    ldp     q10, q11, [x0, #32 * 5]
    ldp     q12, q13, [x0, #32 * 6]
    ldp     q14, q15, [x0, #32 * 7]
    ldp     q16, q17, [x0, #32 * 8]
    ldp     q18, q19, [x0, #32 * 9]
    ldp     q20, q21, [x0, #32 * 10]
    ldp     q22, q23, [x0, #32 * 11]
    ldp     q24, q25, [x0, #32 * 12]
    ldp     q26, q27, [x0, #32 * 13]
    ldp     q28, q29, [x0, #32 * 14]
    ldp     q30, q31, [x0, #32 * 15]
    add     x0, x0, #512
    ldp     x1, x2, [x0]
    msr     fpsr, x1
    msr     fpcr, x2
    ret
"#
);

extern "C" {
    fn fp_state_save(state: *mut FpState);
    fn fp_state_restore(state: *const FpState);
}

/// Stores the CPU's FP/SIMD registers in `state`.
pub fn save(state: &mut FpState) {
    // SAFETY: `state` is a valid, exclusive 528-byte block; the routine writes only it
    // and x1/x2 (caller-saved in the C ABI).
    unsafe { fp_state_save(state) }
}

/// Loads the CPU's FP/SIMD registers from `state`.
pub fn restore(state: &FpState) {
    // SAFETY: `state` is a valid block; the routine changes only FP/SIMD registers (which
    // the soft-float kernel never uses) and x1/x2.
    unsafe { fp_state_restore(state) }
}
