//! The few aarch64 registers the process server reads at EL0: the generic timer's
//! frequency and virtual counter (the kernel enables EL0 access, as seL4 does with
//! `KernelArmExportVCNTUser`).

/// CNTFRQ_EL0: the counter frequency in Hz.
pub fn counter_frequency() -> u64 {
    let value: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects and is allowed at EL0.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) value, options(nomem, nostack)) };
    value
}

/// CNTVCT_EL0: the virtual counter, after an `isb` so it is not read early.
pub fn counter() -> u64 {
    let value: u64;
    // SAFETY: `isb` and reading CNTVCT_EL0 have no side effects; EL0 access is enabled by
    // the kernel (CNTKCTL_EL1.EL0VCTEN).
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) value, options(nomem, nostack))
    };
    value
}

/// Bits of AT_HWCAP for a Cortex-A57 (as Linux reports them): fp, asimd, evtstrm, aes,
/// pmull, sha1, sha2, crc32, cpuid.
pub const HWCAP: u64 = (1 << 0)
    | (1 << 1)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 7)
    | (1 << 11);
