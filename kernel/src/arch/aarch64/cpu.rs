//! Per-CPU control: system control bits, FP/SIMD access, timer access for EL0, waiting.

use super::registers::{cntkctl_el1, cpacr_el1, isb, sctlr_el1};

/// SCTLR_EL1 as seL4 runs native EL1 kernels: the ARMv8.0 RES1 bits, CP15 barriers, WFI
/// and WFE untrapped, caches on, and EL0 allowed cache maintenance by address (UCI) and
/// CTR_EL0 reads (UCT). No alignment or stack-alignment checks.
const SCTLR_RES1: u64 = 0x30d0_0800;
const SCTLR_MMU: u64 = 1 << 0;
const SCTLR_DATA_CACHE: u64 = 1 << 2;
const SCTLR_CP15_BARRIERS: u64 = 1 << 5;
const SCTLR_INSTRUCTION_CACHE: u64 = 1 << 12;
const SCTLR_USER_CACHE_TYPE: u64 = 1 << 15;
const SCTLR_WFI_UNTRAPPED: u64 = 1 << 16;
const SCTLR_WFE_UNTRAPPED: u64 = 1 << 18;
const SCTLR_USER_CACHE_MAINTENANCE: u64 = 1 << 26;

/// CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap at EL0 or EL1.
const CPACR_FP_ENABLED: u64 = 0b11 << 20;
/// CPACR_EL1.FPEN = 0b01: FP/SIMD traps at EL0 only (exception class 0x07), so the
/// kernel can still save and load the registers.
const CPACR_FP_TRAP_USER: u64 = 0b01 << 20;

/// Whether user threads may use the FP/SIMD registers without trapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFpAccess {
    /// The registers hold the running thread's FP/SIMD state.
    Enabled,
    /// The first FP/SIMD instruction traps, so the kernel can load the thread's state.
    Trapped,
}

/// CNTKCTL_EL1: EL0 may read the physical counter (EL0PCTEN) and the virtual counter
/// (EL0VCTEN) and use the EL1 physical timer (EL0PTEN), as seL4 configured with
/// KernelArmExportPCNTUser/VCNTUser/PTMRUser allows.
const CNTKCTL_EL0PCTEN: u64 = 1 << 0;
const CNTKCTL_EL0VCTEN: u64 = 1 << 1;
const CNTKCTL_EL0PTEN: u64 = 1 << 9;

/// Sets the CPU's control registers for running the kernel and its users. Called once,
/// after the kernel's translation tables are live.
pub fn init() {
    let sctlr = SCTLR_RES1
        | SCTLR_MMU
        | SCTLR_DATA_CACHE
        | SCTLR_CP15_BARRIERS
        | SCTLR_INSTRUCTION_CACHE
        | SCTLR_USER_CACHE_TYPE
        | SCTLR_WFI_UNTRAPPED
        | SCTLR_WFE_UNTRAPPED
        | SCTLR_USER_CACHE_MAINTENANCE;
    // SAFETY: the MMU and caches stay on (as the loader left them); the other bits only
    // change what EL0 may do. User FP/SIMD starts trapped (the scheduler loads a
    // thread's state on its first use); EL1 access stays open, and the kernel, built for
    // soft-float, touches those registers only to switch them. The timer bits only
    // expose counters and the EL1 physical timer to EL0.
    unsafe {
        sctlr_el1::write(sctlr);
        cpacr_el1::write(CPACR_FP_TRAP_USER);
        cntkctl_el1::write(CNTKCTL_EL0PCTEN | CNTKCTL_EL0VCTEN | CNTKCTL_EL0PTEN);
    }
    isb();
}

/// Sets whether EL0 FP/SIMD instructions trap. Takes effect for user code at the next
/// exception return (`eret` synchronises the context); EL1 access is never trapped.
#[inline(always)]
pub fn set_user_fp_access(access: UserFpAccess) {
    let value = match access {
        UserFpAccess::Enabled => CPACR_FP_ENABLED,
        UserFpAccess::Trapped => CPACR_FP_TRAP_USER,
    };
    // SAFETY: FPEN only decides whether FP/SIMD instructions trap at EL0 (both values
    // leave EL1 untrapped, so the kernel's save and restore keep working); the other
    // CPACR_EL1 fields are RES0 or trace controls the kernel leaves at 0.
    unsafe { cpacr_el1::write(value) };
}

/// Waits for an interrupt with interrupts masked: the CPU wakes when one is pending,
/// and the caller polls the interrupt controller.
pub fn wait_for_interrupt() {
    // SAFETY: WFI only suspends execution until an event; DAIF stays as it is.
    unsafe { core::arch::asm!("dsb sy", "wfi", options(nostack, preserves_flags)) };
}

/// Parks the CPU forever (after a failed power-off).
pub fn park() -> ! {
    loop {
        // SAFETY: waiting for an event has no side effects.
        unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
    }
}
