//! The generic timer's virtual count (CNTVCT_EL0, readable at EL0) and its conversion to
//! instructions under QEMU icount (one instruction per nanosecond).

use core::arch::asm;

/// The virtual count, read after an `isb` so that earlier instructions have completed.
#[inline(always)]
pub fn counter() -> u64 {
    let value: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects; the kernel enables EL0 access
    // (CNTKCTL_EL1.EL0VCTEN, as seL4's KernelArmExportVCNTUser does). `isb` only orders.
    unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) value, options(nostack)) };
    value
}

/// The counter's frequency in Hz.
pub fn frequency() -> u64 {
    let value: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects and is always allowed at EL0.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) value, options(nomem, nostack)) };
    value
}

/// Tenths of an instruction per iteration: `ticks` converted to nanoseconds (which are
/// instructions under icount) at the counter's frequency, divided by `iterations`.
pub fn instructions_tenths(ticks: u64, iterations: u64) -> u64 {
    let frequency = u128::from(frequency());
    if frequency == 0 || iterations == 0 {
        return 0;
    }
    let tenths = u128::from(ticks) * 10_000_000_000 / frequency / u128::from(iterations);
    u64::try_from(tenths).unwrap_or(u64::MAX)
}
