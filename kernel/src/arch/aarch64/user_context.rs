//! A user thread's saved registers, laid out for the exception entry and return paths.

use core::mem::offset_of;

/// What a user thread's execution state is while it is not on the CPU. The entry path
/// stores straight into this (SP_EL1 points at it while the thread runs at EL0) and the
/// return path loads from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct UserRegisters {
    /// x0..x30.
    pub x: [u64; 31],
    /// SP_EL0.
    pub sp: u64,
    /// Where the thread resumes (ELR_EL1).
    pub pc: u64,
    /// Saved program status (SPSR_EL1).
    pub spsr: u64,
    pub tpidr_el0: u64,
    pub tpidrro_el0: u64,
}

/// SPSR for a new user thread, as seL4 sets it: EL0t, IRQs unmasked, FIQ and SError
/// masked.
pub const USER_SPSR: u64 = (1 << 6) | (1 << 8);

// The assembly in `vectors` depends on these offsets.
const _: () = assert!(offset_of!(UserRegisters, sp) == 248);
const _: () = assert!(offset_of!(UserRegisters, pc) == 256);
const _: () = assert!(offset_of!(UserRegisters, spsr) == 264);
const _: () = assert!(offset_of!(UserRegisters, tpidr_el0) == 272);
const _: () = assert!(offset_of!(UserRegisters, tpidrro_el0) == 280);
const _: () = assert!(core::mem::size_of::<UserRegisters>() == 288);

impl UserRegisters {
    /// Registers for a thread that starts at `entry` with `x0 = argument`, everything
    /// else zero (seL4's initial thread state).
    pub const fn new_thread(entry: u64, argument: u64) -> Self {
        let mut x = [0; 31];
        x[0] = argument;
        Self {
            x,
            sp: 0,
            pc: entry,
            spsr: USER_SPSR,
            tpidr_el0: 0,
            tpidrro_el0: 0,
        }
    }
}
