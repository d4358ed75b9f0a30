//! TCB register order for Read/WriteRegisters, and TCB flags including this project's
//! Linux-syscall extension.

/// `seL4_UserContext` on aarch64: the order Read/WriteRegisters use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UserContext {
    pub pc: u64,
    pub sp: u64,
    pub spsr: u64,
    pub x0: u64,
    pub x1: u64,
    pub x2: u64,
    pub x3: u64,
    pub x4: u64,
    pub x5: u64,
    pub x6: u64,
    pub x7: u64,
    pub x8: u64,
    pub x16: u64,
    pub x17: u64,
    pub x18: u64,
    pub x29: u64,
    pub x30: u64,
    pub x9: u64,
    pub x10: u64,
    pub x11: u64,
    pub x12: u64,
    pub x13: u64,
    pub x14: u64,
    pub x15: u64,
    pub x19: u64,
    pub x20: u64,
    pub x21: u64,
    pub x22: u64,
    pub x23: u64,
    pub x24: u64,
    pub x25: u64,
    pub x26: u64,
    pub x27: u64,
    pub x28: u64,
    pub tpidr_el0: u64,
    pub tpidrro_el0: u64,
}

/// Words in a [`UserContext`].
pub const USER_CONTEXT_WORDS: usize = 36;

/// For each position of [`UserContext`], the general-purpose register number it holds
/// (0..=30), or `None` for pc, sp, spsr and the two TLS registers.
pub const USER_CONTEXT_GPR: [Option<u8>; USER_CONTEXT_WORDS] = [
    None,
    None,
    None,
    Some(0),
    Some(1),
    Some(2),
    Some(3),
    Some(4),
    Some(5),
    Some(6),
    Some(7),
    Some(8),
    Some(16),
    Some(17),
    Some(18),
    Some(29),
    Some(30),
    Some(9),
    Some(10),
    Some(11),
    Some(12),
    Some(13),
    Some(14),
    Some(15),
    Some(19),
    Some(20),
    Some(21),
    Some(22),
    Some(23),
    Some(24),
    Some(25),
    Some(26),
    Some(27),
    Some(28),
    None,
    None,
];

/// TCBWriteRegisters' first word: bit 0 resumes the target.
pub const WRITE_REGISTERS_RESUME: u64 = 1;

/// TCB flags for TCBSetFlags (`seL4_TCBFlag`).
pub mod tcb_flag {
    /// seL4 16.0.0: the thread may not use FP/SIMD.
    pub const FPU_DISABLED: u64 = 1;
    /// The flags seL4 16.0.0 itself knows; it masks every other bit off.
    pub const SEL4_MASK: u64 = FPU_DISABLED;
    /// This project's extension (not in seL4): every `svc` of the thread raises an
    /// UnknownSyscall fault whatever x7 holds, and the fault's Syscall word carries x8, the
    /// Linux syscall number. It removes the collision of seL4 issue #477, where a Linux
    /// program's x7 happens to equal an seL4 syscall number. TCBSetFlags replies with the
    /// resulting flags, so a root task sees whether its kernel has the bit: seL4 16.0.0
    /// clears it.
    pub const LINUX_SYSCALL: u64 = 1 << 62;
    /// Every flag this project's kernel accepts.
    pub const MASK: u64 = SEL4_MASK | LINUX_SYSCALL;
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn user_context_has_36_words_and_each_gpr_once() {
        assert_eq!(size_of::<UserContext>(), USER_CONTEXT_WORDS * 8);
        let mut seen = [false; 31];
        for register in USER_CONTEXT_GPR.iter().flatten() {
            assert!(!seen[*register as usize]);
            seen[*register as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
