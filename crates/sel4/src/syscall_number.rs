//! seL4 system call numbers, passed (negative) in x7 with `svc #0`.

/// The seL4 system calls (non-MCS), numbered as 16.0.0 numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum Syscall {
    Call = -1,
    ReplyRecv = -2,
    Send = -3,
    NBSend = -4,
    Recv = -5,
    Reply = -6,
    Yield = -7,
    NBRecv = -8,
    DebugPutChar = -9,
    DebugDumpScheduler = -10,
    DebugHalt = -11,
    DebugCapIdentify = -12,
    DebugSnapshot = -13,
    DebugNameThread = -14,
}

impl Syscall {
    /// Decodes the value of x7 at a `svc`; `None` for anything that is not an seL4 syscall
    /// (the kernel then raises an UnknownSyscall fault).
    pub fn from_word(word: u64) -> Option<Self> {
        use Syscall::*;
        Some(match word as i64 {
            -1 => Call,
            -2 => ReplyRecv,
            -3 => Send,
            -4 => NBSend,
            -5 => Recv,
            -6 => Reply,
            -7 => Yield,
            -8 => NBRecv,
            -9 => DebugPutChar,
            -10 => DebugDumpScheduler,
            -11 => DebugHalt,
            -12 => DebugCapIdentify,
            -13 => DebugSnapshot,
            -14 => DebugNameThread,
            _ => return None,
        })
    }

    /// The value placed in x7.
    pub const fn word(self) -> u64 {
        self as i64 as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_numbers_round_trip_and_reject_others() {
        for n in -14i64..=-1 {
            let s = Syscall::from_word(n as u64).unwrap();
            assert_eq!(s.word(), n as u64);
        }
        assert_eq!(Syscall::from_word(0), None);
        assert_eq!(Syscall::from_word(-15i64 as u64), None);
        assert_eq!(Syscall::from_word(64), None);
    }
}
