//! PSCI power control (QEMU virt's conduit at EL1 is HVC).

/// PSCI 0.2 SYSTEM_OFF.
const SYSTEM_OFF: u64 = 0x8400_0008;

/// Powers the machine off (QEMU exits with status 0). Parks the CPU if PSCI returns.
pub fn system_off() -> ! {
    // SAFETY: SYSTEM_OFF does not return when PSCI is present; the SMC calling convention
    // may clobber the caller-saved registers, which the clobber list declares.
    unsafe {
        core::arch::asm!("hvc #0", inout("x0") SYSTEM_OFF => _, clobber_abi("C"),
            options(nostack));
    }
    crate::arch::cpu::park()
}
