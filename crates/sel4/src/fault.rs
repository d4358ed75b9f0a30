//! Fault messages: what a thread's fault handler receives, and their register layouts.

/// Fault types, sent as the message label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum FaultType {
    NullFault = 0,
    CapFault = 1,
    UnknownSyscall = 2,
    UserException = 3,
    VmFault = 5,
}

impl FaultType {
    /// Decodes a fault message's label.
    pub fn from_label(label: u64) -> Option<Self> {
        Some(match label {
            0 => FaultType::NullFault,
            1 => FaultType::CapFault,
            2 => FaultType::UnknownSyscall,
            3 => FaultType::UserException,
            5 => FaultType::VmFault,
            _ => return None,
        })
    }
}

/// UnknownSyscall message: x0..x7, FaultIP, SP, LR, SPSR, Syscall.
pub mod unknown_syscall {
    pub const X0: usize = 0;
    pub const X7: usize = 7;
    pub const FAULT_IP: usize = 8;
    pub const SP: usize = 9;
    pub const LR: usize = 10;
    pub const SPSR: usize = 11;
    pub const SYSCALL: usize = 12;
    pub const LENGTH: usize = 13;
}

/// UserException message: FaultIP, SP, SPSR, Number, Code.
pub mod user_exception {
    pub const FAULT_IP: usize = 0;
    pub const SP: usize = 1;
    pub const SPSR: usize = 2;
    pub const NUMBER: usize = 3;
    pub const CODE: usize = 4;
    pub const LENGTH: usize = 5;
    /// Registers a reply may set: FaultIP, SP, SPSR.
    pub const REPLY_LENGTH: usize = 3;
}

/// VMFault message: IP, Addr, PrefetchFault, FSR.
pub mod vm_fault {
    pub const IP: usize = 0;
    pub const ADDR: usize = 1;
    pub const PREFETCH_FAULT: usize = 2;
    pub const FSR: usize = 3;
    pub const LENGTH: usize = 4;
}

/// CapFault message: IP, Addr, InRecvPhase, then the lookup failure.
pub mod cap_fault {
    pub const IP: usize = 0;
    pub const ADDR: usize = 1;
    pub const IN_RECV_PHASE: usize = 2;
    pub const LOOKUP_FAILURE_TYPE: usize = 3;
    pub const BITS_LEFT: usize = 4;
    pub const DEPTH_MISMATCH_BITS_FOUND: usize = 5;
    pub const GUARD_MISMATCH_GUARD_FOUND: usize = 5;
    pub const GUARD_MISMATCH_BITS_FOUND: usize = 6;
}

/// Kinds of capability lookup failure (`seL4_LookupFailureType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum LookupFailureType {
    NoFailure = 0,
    InvalidRoot = 1,
    MissingCapability = 2,
    DepthMismatch = 3,
    GuardMismatch = 4,
}
