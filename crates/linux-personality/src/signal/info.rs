//! `siginfo_t` as Linux lays it out on aarch64 (128 bytes) and the `si_code` values the
//! process server produces.
//!
//! Offsets (asm-generic `siginfo.h`, checked by arm64's `signal.c` static asserts):
//! `si_signo` 0, `si_errno` 4, `si_code` 8, then the union at 16 (8-byte aligned):
//! kill/rt `si_pid` 16, `si_uid` 20, rt `si_value` 24; timer `si_tid` 16,
//! `si_overrun` 20, `si_value` 24; child `si_pid` 16, `si_uid` 20, `si_status` 24,
//! `si_utime` 32, `si_stime` 40; fault `si_addr` 16.

use super::numbers::Signal;

/// Size of `siginfo_t`.
pub const SIGINFO_SIZE: usize = 128;

/// Sent by `kill`.
pub const SI_USER: i32 = 0;
/// Sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// Sent by `sigqueue`.
pub const SI_QUEUE: i32 = -1;
/// Sent by a POSIX timer expiring.
pub const SI_TIMER: i32 = -2;
/// Sent by a message queue.
pub const SI_MESGQ: i32 = -3;
/// Sent by asynchronous I/O completion.
pub const SI_ASYNCIO: i32 = -4;
/// Sent by queued `SIGIO`.
pub const SI_SIGIO: i32 = -5;
/// Sent by `tkill` or `tgkill`.
pub const SI_TKILL: i32 = -6;

/// `SIGILL`: illegal opcode.
pub const ILL_ILLOPC: i32 = 1;
/// `SIGILL`: illegal operand.
pub const ILL_ILLOPN: i32 = 2;
/// `SIGILL`: illegal addressing mode.
pub const ILL_ILLADR: i32 = 3;
/// `SIGILL`: illegal trap.
pub const ILL_ILLTRP: i32 = 4;
/// `SIGILL`: privileged opcode.
pub const ILL_PRVOPC: i32 = 5;
/// `SIGFPE`: integer divide by zero.
pub const FPE_INTDIV: i32 = 1;
/// `SIGFPE`: floating-point divide by zero.
pub const FPE_FLTDIV: i32 = 3;
/// `SIGSEGV`: address not mapped.
pub const SEGV_MAPERR: i32 = 1;
/// `SIGSEGV`: access not permitted by the mapping.
pub const SEGV_ACCERR: i32 = 2;
/// `SIGBUS`: misaligned address.
pub const BUS_ADRALN: i32 = 1;
/// `SIGBUS`: nonexistent physical address (past the end of a file mapping).
pub const BUS_ADRERR: i32 = 2;
/// `SIGBUS`: object-specific hardware error.
pub const BUS_OBJERR: i32 = 3;
/// `SIGTRAP`: breakpoint.
pub const TRAP_BRKPT: i32 = 1;
/// `SIGTRAP`: trace trap.
pub const TRAP_TRACE: i32 = 2;
/// `SIGCHLD`: child exited.
pub const CLD_EXITED: i32 = 1;
/// `SIGCHLD`: child killed by a signal.
pub const CLD_KILLED: i32 = 2;
/// `SIGCHLD`: child killed by a signal and dumped core.
pub const CLD_DUMPED: i32 = 3;
/// `SIGCHLD`: traced child trapped.
pub const CLD_TRAPPED: i32 = 4;
/// `SIGCHLD`: child stopped.
pub const CLD_STOPPED: i32 = 5;
/// `SIGCHLD`: stopped child continued.
pub const CLD_CONTINUED: i32 = 6;

/// The union part of a `siginfo_t`: which fields `si_code` and the signal give meaning to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigInfoDetail {
    /// No fields (the union stays zero).
    None,
    /// `kill`, `tkill`, `tgkill`: the sender.
    Kill {
        /// Sender's process id.
        pid: i32,
        /// Sender's real user id.
        uid: u32,
    },
    /// `sigqueue` or another sender passing a value.
    Queue {
        /// Sender's process id.
        pid: i32,
        /// Sender's real user id.
        uid: u32,
        /// `si_value` (`sival_int` in the low 32 bits, or `sival_ptr`).
        value: u64,
    },
    /// A POSIX timer.
    Timer {
        /// Timer id.
        timer_id: i32,
        /// Overrun count.
        overrun: i32,
        /// `si_value`.
        value: u64,
    },
    /// `SIGCHLD`: a child changed state.
    Child {
        /// The child's process id.
        pid: i32,
        /// The child's real user id.
        uid: u32,
        /// Exit code, or the signal that killed, stopped or continued it.
        status: i32,
        /// User CPU time, in clock ticks.
        user_time: i64,
        /// System CPU time, in clock ticks.
        system_time: i64,
    },
    /// A fault: `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`.
    Fault {
        /// The faulting data address, or the instruction address for `SIGILL`/`SIGTRAP`.
        address: u64,
    },
}

/// One queued signal's information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// `si_signo`.
    pub signal: Signal,
    /// `si_errno` (always 0 for what this system sends).
    pub errno: i32,
    /// `si_code`.
    pub code: i32,
    /// The union.
    pub detail: SigInfoDetail,
}

impl SigInfo {
    /// What `kill` queues.
    #[must_use]
    pub const fn user(signal: Signal, pid: i32, uid: u32) -> SigInfo {
        SigInfo {
            signal,
            errno: 0,
            code: SI_USER,
            detail: SigInfoDetail::Kill { pid, uid },
        }
    }

    /// What `tkill` and `tgkill` queue.
    #[must_use]
    pub const fn thread_kill(signal: Signal, pid: i32, uid: u32) -> SigInfo {
        SigInfo {
            signal,
            errno: 0,
            code: SI_TKILL,
            detail: SigInfoDetail::Kill { pid, uid },
        }
    }

    /// A signal the kernel raises on its own (`SI_KERNEL`, no fields), such as the
    /// `SIGSEGV` for a bad signal frame or `SIGKILL` at group exit.
    #[must_use]
    pub const fn kernel(signal: Signal) -> SigInfo {
        SigInfo {
            signal,
            errno: 0,
            code: SI_KERNEL,
            detail: SigInfoDetail::None,
        }
    }

    /// A fault signal with its `si_code` (such as [`SEGV_MAPERR`]) and address.
    #[must_use]
    pub const fn fault(signal: Signal, code: i32, address: u64) -> SigInfo {
        SigInfo {
            signal,
            errno: 0,
            code,
            detail: SigInfoDetail::Fault { address },
        }
    }

    /// What Linux reports when an instance was queued without its information (the
    /// queue was full): `SI_USER` with zero sender fields.
    #[must_use]
    pub const fn lost(signal: Signal) -> SigInfo {
        SigInfo::user(signal, 0, 0)
    }

    /// True if the kernel generated it (`si_code > 0`, Linux's `SI_FROMKERNEL`): only
    /// such fault signals jump the queue.
    #[must_use]
    pub const fn is_from_kernel(&self) -> bool {
        self.code > 0
    }

    /// The 128-byte `siginfo_t`, unused bytes zero.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let mut bytes = [0u8; SIGINFO_SIZE];
        put(
            &mut bytes,
            0,
            &i32::from(self.signal.number()).to_le_bytes(),
        );
        put(&mut bytes, 4, &self.errno.to_le_bytes());
        put(&mut bytes, 8, &self.code.to_le_bytes());
        match self.detail {
            SigInfoDetail::None => {}
            SigInfoDetail::Kill { pid, uid } => {
                put(&mut bytes, 16, &pid.to_le_bytes());
                put(&mut bytes, 20, &uid.to_le_bytes());
            }
            SigInfoDetail::Queue { pid, uid, value } => {
                put(&mut bytes, 16, &pid.to_le_bytes());
                put(&mut bytes, 20, &uid.to_le_bytes());
                put(&mut bytes, 24, &value.to_le_bytes());
            }
            SigInfoDetail::Timer {
                timer_id,
                overrun,
                value,
            } => {
                put(&mut bytes, 16, &timer_id.to_le_bytes());
                put(&mut bytes, 20, &overrun.to_le_bytes());
                put(&mut bytes, 24, &value.to_le_bytes());
            }
            SigInfoDetail::Child {
                pid,
                uid,
                status,
                user_time,
                system_time,
            } => {
                put(&mut bytes, 16, &pid.to_le_bytes());
                put(&mut bytes, 20, &uid.to_le_bytes());
                put(&mut bytes, 24, &status.to_le_bytes());
                put(&mut bytes, 32, &user_time.to_le_bytes());
                put(&mut bytes, 40, &system_time.to_le_bytes());
            }
            SigInfoDetail::Fault { address } => put(&mut bytes, 16, &address.to_le_bytes()),
        }
        bytes
    }
}

/// Copies `value` into `bytes` at `offset`; every call site uses fixed in-bounds offsets,
/// and an out-of-bounds one writes nothing rather than panicking.
fn put(bytes: &mut [u8], offset: usize, value: &[u8]) {
    if let Some(target) = offset
        .checked_add(value.len())
        .and_then(|end| bytes.get_mut(offset..end))
    {
        target.copy_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word32(bytes: &[u8], offset: usize) -> i32 {
        i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
    }

    fn word64(bytes: &[u8], offset: usize) -> u64 {
        u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
    }

    #[test]
    fn header_and_kill_fields_at_linux_offsets() {
        let bytes = SigInfo::user(Signal::SIGTERM, 42, 1000).to_bytes();
        assert_eq!(word32(&bytes, 0), 15);
        assert_eq!(word32(&bytes, 4), 0);
        assert_eq!(word32(&bytes, 8), SI_USER);
        assert_eq!(word32(&bytes, 16), 42);
        assert_eq!(word32(&bytes, 20), 1000);
        assert!(bytes[24..].iter().all(|&byte| byte == 0));
        let tkill = SigInfo::thread_kill(Signal::SIGUSR1, 7, 0).to_bytes();
        assert_eq!(word32(&tkill, 8), -6);
    }

    #[test]
    fn fault_address_at_offset_16() {
        let bytes = SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, 0xdead_beef_0000).to_bytes();
        assert_eq!(word32(&bytes, 0), 11);
        assert_eq!(word32(&bytes, 8), 1);
        assert_eq!(word64(&bytes, 16), 0xdead_beef_0000);
        assert!(bytes[24..].iter().all(|&byte| byte == 0));
    }

    #[test]
    fn child_fields_at_linux_offsets() {
        let info = SigInfo {
            signal: Signal::SIGCHLD,
            errno: 0,
            code: CLD_EXITED,
            detail: SigInfoDetail::Child {
                pid: 99,
                uid: 5,
                status: 3,
                user_time: 11,
                system_time: -2,
            },
        };
        let bytes = info.to_bytes();
        assert_eq!(word32(&bytes, 0), 17);
        assert_eq!(word32(&bytes, 8), 1);
        assert_eq!(word32(&bytes, 16), 99);
        assert_eq!(word32(&bytes, 20), 5);
        assert_eq!(word32(&bytes, 24), 3);
        assert_eq!(word64(&bytes, 32), 11);
        assert_eq!(word64(&bytes, 40) as i64, -2);
    }

    #[test]
    fn timer_and_queue_value_at_offset_24() {
        let timer = SigInfo {
            signal: Signal::SIGALRM,
            errno: 0,
            code: SI_TIMER,
            detail: SigInfoDetail::Timer {
                timer_id: 3,
                overrun: 4,
                value: 0x1122_3344_5566_7788,
            },
        }
        .to_bytes();
        assert_eq!(word32(&timer, 16), 3);
        assert_eq!(word32(&timer, 20), 4);
        assert_eq!(word64(&timer, 24), 0x1122_3344_5566_7788);
        let queue = SigInfo {
            signal: Signal::new(40).unwrap(),
            errno: 0,
            code: SI_QUEUE,
            detail: SigInfoDetail::Queue {
                pid: 8,
                uid: 9,
                value: 77,
            },
        }
        .to_bytes();
        assert_eq!(word32(&queue, 8), -1);
        assert_eq!(word64(&queue, 24), 77);
    }

    #[test]
    fn kernel_origin() {
        assert!(SigInfo::kernel(Signal::SIGSEGV).is_from_kernel());
        assert!(SigInfo::fault(Signal::SIGBUS, BUS_ADRERR, 0).is_from_kernel());
        assert!(!SigInfo::user(Signal::SIGSEGV, 1, 0).is_from_kernel());
        assert!(!SigInfo::thread_kill(Signal::SIGSEGV, 1, 0).is_from_kernel());
    }
}
