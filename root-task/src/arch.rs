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

/// CNTPCT_EL0: the physical counter the EL1 physical timer compares against, after an
/// `isb` so it is not read early.
pub fn physical_counter() -> u64 {
    let value: u64;
    // SAFETY: `isb` and reading CNTPCT_EL0 have no side effects; EL0 access is enabled by
    // the kernel (CNTKCTL_EL1.EL0PCTEN).
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) value, options(nomem, nostack))
    };
    value
}

/// Arms the EL1 physical timer (PPI 30) to assert its interrupt once CNTPCT_EL0 reaches
/// `deadline`: CNTP_CVAL_EL0 = deadline, CNTP_CTL_EL0 = ENABLE (not masked).
pub fn arm_physical_timer(deadline: u64) {
    // SAFETY: the kernel gives EL0 the EL1 physical timer (CNTKCTL_EL1.EL0PTEN) and leaves
    // it to user level; only the root task programs it.
    unsafe {
        core::arch::asm!(
            "msr cntp_cval_el0, {deadline}",
            "msr cntp_ctl_el0, {enable}",
            "isb",
            deadline = in(reg) deadline,
            enable = in(reg) 1u64,
            options(nomem, nostack),
        )
    };
}

/// Stops the EL1 physical timer (CNTP_CTL_EL0 = 0), which deasserts its interrupt.
pub fn stop_physical_timer() {
    // SAFETY: as for `arm_physical_timer`.
    unsafe {
        core::arch::asm!("msr cntp_ctl_el0, {off}", "isb", off = in(reg) 0u64, options(nomem, nostack))
    };
}
