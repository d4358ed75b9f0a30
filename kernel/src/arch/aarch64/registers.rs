//! Typed access to the system registers the kernel uses.

/// Defines a module with `read()` and `unsafe write()` for one system register.
macro_rules! system_register {
    ($(#[$doc:meta])* $module:ident, $name:literal) => {
        $(#[$doc])*
        #[allow(dead_code)] // a register's accessor pair is defined whole
        pub mod $module {
            /// Reads the register.
            #[inline(always)]
            pub fn read() -> u64 {
                let value: u64;
                // SAFETY: reading this register has no side effects.
                unsafe {
                    core::arch::asm!(concat!("mrs {}, ", $name), out(reg) value,
                        options(nomem, nostack, preserves_flags));
                }
                value
            }

            /// Writes the register (no barrier; callers add `isb` where the effect must
            /// be visible to following instructions).
            ///
            /// # Safety
            /// The value must keep the system in a state the kernel expects (the caller
            /// states why at the call site).
            #[inline(always)]
            pub unsafe fn write(value: u64) {
                // SAFETY: the caller vouches for the value.
                unsafe {
                    core::arch::asm!(concat!("msr ", $name, ", {}"), in(reg) value,
                        options(nostack, preserves_flags));
                }
            }
        }
    };
}

system_register!(
    /// Exception syndrome.
    esr_el1, "esr_el1");
system_register!(
    /// Exception return address.
    elr_el1, "elr_el1");
system_register!(
    /// Fault address.
    far_el1, "far_el1");
system_register!(
    /// Vector base.
    vbar_el1, "vbar_el1");
system_register!(
    /// System control.
    sctlr_el1, "sctlr_el1");
system_register!(
    /// Translation control.
    tcr_el1, "tcr_el1");
system_register!(
    /// Memory attribute indirection.
    mair_el1, "mair_el1");
system_register!(
    /// User translation table base (and ASID).
    ttbr0_el1, "ttbr0_el1");
system_register!(
    /// Kernel translation table base.
    ttbr1_el1, "ttbr1_el1");
system_register!(
    /// Architectural feature access control (FP/SIMD trapping).
    cpacr_el1, "cpacr_el1");
system_register!(
    /// Counter-timer kernel control (what EL0 may read of the timers).
    cntkctl_el1, "cntkctl_el1");
system_register!(
    /// The kernel stack top, read by the exception entry path.
    tpidr_el1, "tpidr_el1");
system_register!(
    /// Memory model feature register 0 (physical address range, ASID bits).
    id_aa64mmfr0_el1, "id_aa64mmfr0_el1");
system_register!(
    /// Counter frequency.
    cntfrq_el0, "cntfrq_el0");
system_register!(
    /// Virtual timer control.
    cntv_ctl_el0, "cntv_ctl_el0");
system_register!(
    /// Virtual timer countdown.
    cntv_tval_el0, "cntv_tval_el0");
system_register!(
    /// EL0 read-only thread pointer (set by the kernel).
    tpidrro_el0, "tpidrro_el0");

/// Instruction synchronisation barrier.
#[inline(always)]
pub fn isb() {
    // SAFETY: a barrier has no effect beyond ordering.
    unsafe { core::arch::asm!("isb", options(nostack, preserves_flags)) };
}

/// Data synchronisation barrier, inner shareable (before TLB maintenance completes).
#[inline(always)]
pub fn dsb_ish() {
    // SAFETY: a barrier has no effect beyond ordering.
    unsafe { core::arch::asm!("dsb ish", options(nostack, preserves_flags)) };
}
