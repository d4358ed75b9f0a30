//! Wait statuses and child selection for `wait4` and `waitid`, as Linux encodes and
//! chooses them (`include/uapi/linux/wait.h`, `kernel/exit.c`'s `do_wait`).

use crate::errno::Errno;
use crate::signal::info::{CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED};
use crate::signal::{CoreDump, Signal};

/// Return at once if no child is ready.
pub const WNOHANG: u64 = 0x0000_0001;
/// Report stopped children (`wait4`).
pub const WUNTRACED: u64 = 0x0000_0002;
/// Report stopped children (`waitid`'s name for `WUNTRACED`).
pub const WSTOPPED: u64 = WUNTRACED;
/// Report exited children (`waitid`; implied by `wait4`).
pub const WEXITED: u64 = 0x0000_0004;
/// Report continued children.
pub const WCONTINUED: u64 = 0x0000_0008;
/// Leave the child waitable (`waitid`).
pub const WNOWAIT: u64 = 0x0100_0000;
/// Wait only for this thread's children (accepted; one waiter per process here).
pub const WNOTHREAD: u64 = 0x2000_0000;
/// Wait for every child whatever its exit signal.
pub const WALL: u64 = 0x4000_0000;
/// Wait only for "clone" children (exit signal other than `SIGCHLD`).
pub const WCLONE: u64 = 0x8000_0000;

/// `waitid` id type: any child.
pub const P_ALL: u64 = 0;
/// `waitid` id type: the child with this pid.
pub const P_PID: u64 = 1;
/// `waitid` id type: any child in this process group.
pub const P_PGID: u64 = 2;
/// `waitid` id type: the child a pidfd refers to (no pidfds here: `EINVAL`).
pub const P_PIDFD: u64 = 3;

/// How a child changed state, as `wait4` encodes it and `waitid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// Exited with this code (the low 8 bits of the `exit`/`exit_group` argument).
    Exited(u8),
    /// Killed by a signal.
    Signaled {
        /// The signal.
        signal: Signal,
        /// Whether a core dump is reported.
        core: CoreDump,
    },
    /// Stopped by a signal.
    Stopped(Signal),
    /// Continued by `SIGCONT`.
    Continued,
}

impl WaitStatus {
    /// The `int` `wait4` stores: `code << 8`, `signal | 0x80 if core`,
    /// `signal << 8 | 0x7f`, or `0xffff`.
    #[must_use]
    pub const fn encode(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => (code as i32) << 8,
            WaitStatus::Signaled { signal, core } => {
                let core_bit = match core {
                    CoreDump::Dumped => 0x80,
                    CoreDump::NotDumped => 0,
                };
                signal.number() as i32 | core_bit
            }
            WaitStatus::Stopped(signal) => ((signal.number() as i32) << 8) | 0x7f,
            WaitStatus::Continued => 0xffff,
        }
    }

    /// Decodes a status word as the `W*` macros do, or `None` if it is not one Linux
    /// produces.
    #[must_use]
    pub fn decode(status: i32) -> Option<WaitStatus> {
        if status == 0xffff {
            return Some(WaitStatus::Continued);
        }
        if !(0..=0xffff).contains(&status) {
            return None;
        }
        let low = status & 0x7f;
        let high = (status >> 8) & 0xff;
        if low == 0 {
            if status & 0x80 != 0 {
                return None;
            }
            return Some(WaitStatus::Exited(high as u8));
        }
        if low == 0x7f {
            if status & 0x80 != 0 {
                return None;
            }
            return Signal::new(high as u64).map(WaitStatus::Stopped);
        }
        if high != 0 {
            return None;
        }
        let core = if status & 0x80 != 0 {
            CoreDump::Dumped
        } else {
            CoreDump::NotDumped
        };
        Signal::new(low as u64).map(|signal| WaitStatus::Signaled { signal, core })
    }

    /// `waitid`'s `si_code`: `CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED`, `CLD_STOPPED` or
    /// `CLD_CONTINUED` (also the `si_code` of the `SIGCHLD` sent to the parent).
    #[must_use]
    pub const fn child_code(self) -> i32 {
        match self {
            WaitStatus::Exited(_) => CLD_EXITED,
            WaitStatus::Signaled {
                core: CoreDump::Dumped,
                ..
            } => CLD_DUMPED,
            WaitStatus::Signaled { .. } => CLD_KILLED,
            WaitStatus::Stopped(_) => CLD_STOPPED,
            WaitStatus::Continued => CLD_CONTINUED,
        }
    }

    /// `waitid`'s `si_status`: the exit code, or the signal that killed, stopped or
    /// continued the child.
    #[must_use]
    pub const fn child_status(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => code as i32,
            WaitStatus::Signaled { signal, .. } | WaitStatus::Stopped(signal) => {
                signal.number() as i32
            }
            WaitStatus::Continued => Signal::SIGCONT.number() as i32,
        }
    }

    /// The exit status a shell (and `cargo xtask run`) reports: the code, or
    /// 128 + signal.
    #[must_use]
    pub const fn shell_status(self) -> u8 {
        match self {
            WaitStatus::Exited(code) => code,
            WaitStatus::Signaled { signal, .. } | WaitStatus::Stopped(signal) => {
                128 + signal.number()
            }
            WaitStatus::Continued => 0,
        }
    }
}

/// Validated wait options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions(u64);

impl WaitOptions {
    /// `wait4`'s options (`WEXITED` implied).
    ///
    /// # Errors
    /// `EINVAL` for bits other than `WNOHANG`, `WUNTRACED`, `WCONTINUED`, `__WNOTHREAD`,
    /// `__WCLONE`, `__WALL`.
    pub const fn for_wait4(options: u64) -> Result<WaitOptions, Errno> {
        if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(WaitOptions(options | WEXITED))
    }

    /// `waitid`'s options.
    ///
    /// # Errors
    /// `EINVAL` for unknown bits, or when none of `WEXITED`, `WSTOPPED`, `WCONTINUED`
    /// is given.
    pub const fn for_waitid(options: u64) -> Result<WaitOptions, Errno> {
        let known = WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD | WCLONE | WALL;
        if options & !known != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
            return Err(Errno::EINVAL);
        }
        Ok(WaitOptions(options))
    }

    /// True if every bit of `option` is set.
    #[must_use]
    pub const fn has(self, option: u64) -> bool {
        self.0 & option == option
    }
}

/// Which children a wait considers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitTarget {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(u32),
    /// Any child in this process group.
    ProcessGroup(u32),
}

impl WaitTarget {
    /// `wait4`'s `pid` argument (an `int` in the low 32 bits of the register): `> 0` one
    /// child, `0` the caller's process group, `-1` any, `< -1` that process group.
    ///
    /// # Errors
    /// `ESRCH` for `INT_MIN`, which has no positive process-group id.
    pub fn for_wait4(pid: u64, caller_pgid: u32) -> Result<WaitTarget, Errno> {
        let pid = pid as u32 as i32;
        match pid {
            i32::MIN => Err(Errno::ESRCH),
            -1 => Ok(WaitTarget::Any),
            0 => Ok(WaitTarget::ProcessGroup(caller_pgid)),
            negative if negative < 0 => Ok(WaitTarget::ProcessGroup(negative.unsigned_abs())),
            positive => Ok(WaitTarget::Pid(positive.unsigned_abs())),
        }
    }

    /// `waitid`'s `idtype` and `id`.
    ///
    /// # Errors
    /// `EINVAL` for an unknown or unsupported (`P_PIDFD`) id type, `P_PID` with an id
    /// that is not positive, or `P_PGID` with a negative one; `P_PGID` 0 means the
    /// caller's group.
    pub fn for_waitid(id_type: u64, id: u64, caller_pgid: u32) -> Result<WaitTarget, Errno> {
        let id = id as u32 as i32;
        match id_type {
            P_ALL => Ok(WaitTarget::Any),
            P_PID if id > 0 => Ok(WaitTarget::Pid(id.unsigned_abs())),
            P_PGID if id == 0 => Ok(WaitTarget::ProcessGroup(caller_pgid)),
            P_PGID if id > 0 => Ok(WaitTarget::ProcessGroup(id.unsigned_abs())),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// What a child's state offers a waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildState {
    /// Running, or a stop/continue already reported.
    Running,
    /// A stop not yet reported.
    StoppedUnreported(Signal),
    /// A continue not yet reported.
    ContinuedUnreported,
    /// Exited and not yet reaped.
    Zombie(WaitStatus),
}

/// A child as a wait sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitableChild {
    /// Its pid.
    pub pid: u32,
    /// Its process group.
    pub pgid: u32,
    /// Its real user id (for `si_uid`).
    pub uid: u32,
    /// The signal its parent gets when it exits (0 for none); a child whose exit
    /// signal is not `SIGCHLD` is a "clone" child for `__WCLONE`/`__WALL`.
    pub exit_signal: u8,
    /// Its state.
    pub state: ChildState,
}

/// What to do to the chosen child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consume {
    /// Reap the zombie (release its pid).
    Reap,
    /// Mark the stop or continue as reported.
    MarkReported,
    /// Leave it (`WNOWAIT`).
    Keep,
}

/// A child ready to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitReport {
    /// The child's pid (`wait4`'s return value, `si_pid`).
    pub pid: u32,
    /// The child's user id (`si_uid`).
    pub uid: u32,
    /// What happened.
    pub status: WaitStatus,
    /// What to do to the child.
    pub consume: Consume,
}

/// The outcome of looking for a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitSelection {
    /// A child to report.
    Ready(WaitReport),
    /// Matching children exist but none is ready: return 0 with `WNOHANG`, else park
    /// the caller until a child changes state.
    NotReady,
}

/// Chooses the child a wait reports (Linux's `do_wait` over the children in list order,
/// oldest first): the first eligible child with something to report.
///
/// # Errors
/// `ECHILD` if no child matches `target` and the clone filter (a zombie counts only
/// when `WEXITED` is asked for, as in Linux).
pub fn select_child(
    children: &[WaitableChild],
    target: WaitTarget,
    options: WaitOptions,
) -> Result<WaitSelection, Errno> {
    let mut any_eligible = false;
    for child in children {
        if !matches_target(child, target) || !matches_clone_filter(child, options) {
            continue;
        }
        let consume_or_keep = |consume: Consume| {
            if options.has(WNOWAIT) {
                Consume::Keep
            } else {
                consume
            }
        };
        match child.state {
            ChildState::Zombie(status) => {
                if !options.has(WEXITED) {
                    continue;
                }
                return Ok(WaitSelection::Ready(WaitReport {
                    pid: child.pid,
                    uid: child.uid,
                    status,
                    consume: consume_or_keep(Consume::Reap),
                }));
            }
            ChildState::StoppedUnreported(signal) if options.has(WUNTRACED) => {
                return Ok(WaitSelection::Ready(WaitReport {
                    pid: child.pid,
                    uid: child.uid,
                    status: WaitStatus::Stopped(signal),
                    consume: consume_or_keep(Consume::MarkReported),
                }));
            }
            ChildState::ContinuedUnreported if options.has(WCONTINUED) => {
                return Ok(WaitSelection::Ready(WaitReport {
                    pid: child.pid,
                    uid: child.uid,
                    status: WaitStatus::Continued,
                    consume: consume_or_keep(Consume::MarkReported),
                }));
            }
            _ => any_eligible = true,
        }
    }
    if any_eligible {
        Ok(WaitSelection::NotReady)
    } else {
        Err(Errno::ECHILD)
    }
}

fn matches_target(child: &WaitableChild, target: WaitTarget) -> bool {
    match target {
        WaitTarget::Any => true,
        WaitTarget::Pid(pid) => child.pid == pid,
        WaitTarget::ProcessGroup(pgid) => child.pgid == pgid,
    }
}

/// Linux's `eligible_child` clone test: without `__WALL`, `__WCLONE` selects exactly the
/// children whose exit signal is not `SIGCHLD`.
fn matches_clone_filter(child: &WaitableChild, options: WaitOptions) -> bool {
    if options.has(WALL) {
        return true;
    }
    let is_clone_child = child.exit_signal != Signal::SIGCHLD.number();
    is_clone_child == options.has(WCLONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(pid: u32, pgid: u32, state: ChildState) -> WaitableChild {
        WaitableChild {
            pid,
            pgid,
            uid: 1000,
            exit_signal: 17,
            state,
        }
    }

    fn wait4_options(bits: u64) -> WaitOptions {
        WaitOptions::for_wait4(bits).unwrap()
    }

    #[test]
    fn status_encoding_matches_wait_macros() {
        assert_eq!(WaitStatus::Exited(0).encode(), 0);
        assert_eq!(WaitStatus::Exited(3).encode(), 0x300);
        assert_eq!(WaitStatus::Exited(255).encode(), 0xff00);
        assert_eq!(
            WaitStatus::Signaled {
                signal: Signal::SIGKILL,
                core: CoreDump::NotDumped
            }
            .encode(),
            9
        );
        assert_eq!(
            WaitStatus::Signaled {
                signal: Signal::SIGSEGV,
                core: CoreDump::Dumped
            }
            .encode(),
            0x8b
        );
        assert_eq!(WaitStatus::Stopped(Signal::SIGTSTP).encode(), 0x147f);
        assert_eq!(WaitStatus::Continued.encode(), 0xffff);
    }

    #[test]
    fn status_round_trips_and_rejects_garbage() {
        let mut statuses = alloc::vec![WaitStatus::Continued];
        for code in 0..=255u8 {
            statuses.push(WaitStatus::Exited(code));
        }
        for number in 1..=64 {
            let signal = Signal::new(number).unwrap();
            statuses.push(WaitStatus::Stopped(signal));
            statuses.push(WaitStatus::Signaled {
                signal,
                core: CoreDump::Dumped,
            });
            statuses.push(WaitStatus::Signaled {
                signal,
                core: CoreDump::NotDumped,
            });
        }
        for status in statuses {
            assert_eq!(
                WaitStatus::decode(status.encode()),
                Some(status),
                "{status:?}"
            );
        }
        assert_eq!(WaitStatus::decode(-1), None);
        assert_eq!(WaitStatus::decode(0x1_0000), None);
        assert_eq!(WaitStatus::decode(0x0180), None);
        assert_eq!(WaitStatus::decode(0x0105), None);
        assert_eq!(WaitStatus::decode(0x007f), None);
        assert_eq!(WaitStatus::decode(0x0080), None);
    }

    #[test]
    fn waitid_codes_and_shell_status() {
        let killed = WaitStatus::Signaled {
            signal: Signal::SIGTERM,
            core: CoreDump::NotDumped,
        };
        let dumped = WaitStatus::Signaled {
            signal: Signal::SIGABRT,
            core: CoreDump::Dumped,
        };
        assert_eq!(WaitStatus::Exited(4).child_code(), CLD_EXITED);
        assert_eq!(WaitStatus::Exited(4).child_status(), 4);
        assert_eq!(killed.child_code(), CLD_KILLED);
        assert_eq!(killed.child_status(), 15);
        assert_eq!(dumped.child_code(), CLD_DUMPED);
        assert_eq!(
            WaitStatus::Stopped(Signal::SIGSTOP).child_code(),
            CLD_STOPPED
        );
        assert_eq!(WaitStatus::Stopped(Signal::SIGSTOP).child_status(), 19);
        assert_eq!(WaitStatus::Continued.child_code(), CLD_CONTINUED);
        assert_eq!(WaitStatus::Continued.child_status(), 18);
        assert_eq!(killed.shell_status(), 143);
        assert_eq!(WaitStatus::Exited(7).shell_status(), 7);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn decode_then_encode_is_identity(status in any::<i32>()) {
                if let Some(decoded) = WaitStatus::decode(status) {
                    prop_assert_eq!(decoded.encode(), status);
                }
            }

            #[test]
            fn target_and_options_never_panic(pid in any::<u64>(), id_type in any::<u64>(), options in any::<u64>()) {
                let _ = WaitTarget::for_wait4(pid, 1);
                let _ = WaitTarget::for_waitid(id_type, pid, 1);
                let _ = WaitOptions::for_wait4(options);
                let _ = WaitOptions::for_waitid(options);
            }
        }
    }

    #[test]
    fn option_validation() {
        assert!(WaitOptions::for_wait4(WNOHANG | WUNTRACED | WCONTINUED | WALL).is_ok());
        assert!(WaitOptions::for_wait4(0).unwrap().has(WEXITED));
        assert_eq!(WaitOptions::for_wait4(WNOWAIT), Err(Errno::EINVAL));
        assert_eq!(WaitOptions::for_wait4(WEXITED), Err(Errno::EINVAL));
        assert_eq!(WaitOptions::for_wait4(0x10), Err(Errno::EINVAL));
        assert_eq!(WaitOptions::for_waitid(WNOHANG), Err(Errno::EINVAL));
        assert_eq!(WaitOptions::for_waitid(0), Err(Errno::EINVAL));
        assert!(WaitOptions::for_waitid(WSTOPPED).is_ok());
        assert!(WaitOptions::for_waitid(WEXITED | WNOWAIT).is_ok());
        assert_eq!(WaitOptions::for_waitid(WEXITED | 0x20), Err(Errno::EINVAL));
        assert_eq!(
            WaitOptions::for_waitid(WEXITED | (1 << 40)),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn target_decoding() {
        assert_eq!(WaitTarget::for_wait4(5, 1), Ok(WaitTarget::Pid(5)));
        assert_eq!(WaitTarget::for_wait4(0, 7), Ok(WaitTarget::ProcessGroup(7)));
        assert_eq!(
            WaitTarget::for_wait4((-1i64) as u64, 7),
            Ok(WaitTarget::Any)
        );
        assert_eq!(
            WaitTarget::for_wait4((-42i64) as u64, 7),
            Ok(WaitTarget::ProcessGroup(42))
        );
        // A 32-bit -1 in a 64-bit register still means "any".
        assert_eq!(WaitTarget::for_wait4(0xffff_ffff, 7), Ok(WaitTarget::Any));
        assert_eq!(
            WaitTarget::for_wait4(i32::MIN as u32 as u64, 7),
            Err(Errno::ESRCH)
        );
        assert_eq!(WaitTarget::for_waitid(P_ALL, 99, 7), Ok(WaitTarget::Any));
        assert_eq!(WaitTarget::for_waitid(P_PID, 3, 7), Ok(WaitTarget::Pid(3)));
        assert_eq!(WaitTarget::for_waitid(P_PID, 0, 7), Err(Errno::EINVAL));
        assert_eq!(
            WaitTarget::for_waitid(P_PID, (-3i64) as u64, 7),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            WaitTarget::for_waitid(P_PGID, 0, 7),
            Ok(WaitTarget::ProcessGroup(7))
        );
        assert_eq!(
            WaitTarget::for_waitid(P_PGID, 9, 7),
            Ok(WaitTarget::ProcessGroup(9))
        );
        assert_eq!(
            WaitTarget::for_waitid(P_PGID, (-9i64) as u64, 7),
            Err(Errno::EINVAL)
        );
        assert_eq!(WaitTarget::for_waitid(P_PIDFD, 3, 7), Err(Errno::EINVAL));
        assert_eq!(WaitTarget::for_waitid(4, 3, 7), Err(Errno::EINVAL));
    }

    #[test]
    fn no_children_or_no_match_is_echild() {
        let options = wait4_options(0);
        assert_eq!(
            select_child(&[], WaitTarget::Any, options),
            Err(Errno::ECHILD)
        );
        let children = [child(10, 10, ChildState::Running)];
        assert_eq!(
            select_child(&children, WaitTarget::Pid(11), options),
            Err(Errno::ECHILD)
        );
        assert_eq!(
            select_child(&children, WaitTarget::ProcessGroup(3), options),
            Err(Errno::ECHILD)
        );
        assert_eq!(
            select_child(&children, WaitTarget::Pid(10), options),
            Ok(WaitSelection::NotReady)
        );
    }

    #[test]
    fn first_ready_child_in_order_is_reported() {
        let children = [
            child(10, 1, ChildState::Running),
            child(11, 1, ChildState::Zombie(WaitStatus::Exited(1))),
            child(12, 2, ChildState::Zombie(WaitStatus::Exited(2))),
        ];
        let options = wait4_options(0);
        let Ok(WaitSelection::Ready(report)) = select_child(&children, WaitTarget::Any, options)
        else {
            panic!("expected a report");
        };
        assert_eq!(report.pid, 11);
        assert_eq!(report.status, WaitStatus::Exited(1));
        assert_eq!(report.consume, Consume::Reap);
        let Ok(WaitSelection::Ready(report)) =
            select_child(&children, WaitTarget::ProcessGroup(2), options)
        else {
            panic!("expected a report");
        };
        assert_eq!(report.pid, 12);
    }

    #[test]
    fn stops_and_continues_need_their_options() {
        let children = [
            child(10, 1, ChildState::StoppedUnreported(Signal::SIGTSTP)),
            child(11, 1, ChildState::ContinuedUnreported),
        ];
        assert_eq!(
            select_child(&children, WaitTarget::Any, wait4_options(WNOHANG)),
            Ok(WaitSelection::NotReady)
        );
        let Ok(WaitSelection::Ready(report)) =
            select_child(&children, WaitTarget::Any, wait4_options(WUNTRACED))
        else {
            panic!("expected a stop report");
        };
        assert_eq!(report.status, WaitStatus::Stopped(Signal::SIGTSTP));
        assert_eq!(report.consume, Consume::MarkReported);
        let Ok(WaitSelection::Ready(report)) =
            select_child(&children, WaitTarget::Any, wait4_options(WCONTINUED))
        else {
            panic!("expected a continue report");
        };
        assert_eq!(report.pid, 11);
        assert_eq!(report.status, WaitStatus::Continued);
    }

    #[test]
    fn waitid_without_wexited_ignores_zombies() {
        let zombie_only = [child(10, 1, ChildState::Zombie(WaitStatus::Exited(0)))];
        let options = WaitOptions::for_waitid(WSTOPPED).unwrap();
        assert_eq!(
            select_child(&zombie_only, WaitTarget::Any, options),
            Err(Errno::ECHILD)
        );
        let options = WaitOptions::for_waitid(WEXITED | WNOWAIT).unwrap();
        let Ok(WaitSelection::Ready(report)) = select_child(&zombie_only, WaitTarget::Any, options)
        else {
            panic!("expected a report");
        };
        assert_eq!(report.consume, Consume::Keep);
    }

    #[test]
    fn clone_children_need_wclone_or_wall() {
        let mut clone_child = child(10, 1, ChildState::Zombie(WaitStatus::Exited(0)));
        clone_child.exit_signal = 0;
        let children = [clone_child];
        assert_eq!(
            select_child(&children, WaitTarget::Any, wait4_options(0)),
            Err(Errno::ECHILD)
        );
        assert!(matches!(
            select_child(&children, WaitTarget::Any, wait4_options(WCLONE)),
            Ok(WaitSelection::Ready(_))
        ));
        assert!(matches!(
            select_child(&children, WaitTarget::Any, wait4_options(WALL)),
            Ok(WaitSelection::Ready(_))
        ));
        let normal = [child(11, 1, ChildState::Running)];
        assert_eq!(
            select_child(&normal, WaitTarget::Any, wait4_options(WCLONE)),
            Err(Errno::ECHILD)
        );
    }
}
