//! Decoding `clone` as aarch64 Linux takes it (`clone(flags, newsp, parent_tid, tls,
//! child_tid)`): Linux's validity checks, then what this system supports. Invalid
//! combinations and unsupported features are distinct errors so the server can log the
//! latter.

use crate::errno::Errno;

/// Low byte: the signal sent to the parent when the child exits.
pub const CSIGNAL: u64 = 0x0000_00ff;
/// Share the address space.
pub const CLONE_VM: u64 = 0x0000_0100;
/// Share the working directory, root and umask.
pub const CLONE_FS: u64 = 0x0000_0200;
/// Share the file descriptor table.
pub const CLONE_FILES: u64 = 0x0000_0400;
/// Share signal handlers.
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
/// Return a pidfd (not supported: no pidfds here).
pub const CLONE_PIDFD: u64 = 0x0000_1000;
/// Trace the child if the parent is traced (no tracing here: ignored).
pub const CLONE_PTRACE: u64 = 0x0000_2000;
/// The parent waits until the child execs or exits.
pub const CLONE_VFORK: u64 = 0x0000_4000;
/// The child's parent is the caller's parent.
pub const CLONE_PARENT: u64 = 0x0000_8000;
/// Same thread group.
pub const CLONE_THREAD: u64 = 0x0001_0000;
/// New mount namespace (not supported).
pub const CLONE_NEWNS: u64 = 0x0002_0000;
/// Share System V semaphore undo lists (none exist here: accepted, no effect).
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
/// Set the child's TLS register (`TPIDR_EL0`) to `tls`.
pub const CLONE_SETTLS: u64 = 0x0008_0000;
/// Store the child's tid at `parent_tid` in the parent.
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
/// Clear (and futex-wake) `child_tid` in the child when it exits.
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
/// Ignored by Linux since 2.6.2 (musl still passes it for threads).
pub const CLONE_DETACHED: u64 = 0x0040_0000;
/// Not traceable (no tracing here: ignored).
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
/// Store the child's tid at `child_tid` in the child.
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
/// New cgroup namespace (not supported).
pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
/// New UTS namespace (not supported).
pub const CLONE_NEWUTS: u64 = 0x0400_0000;
/// New IPC namespace (not supported).
pub const CLONE_NEWIPC: u64 = 0x0800_0000;
/// New user namespace (not supported).
pub const CLONE_NEWUSER: u64 = 0x1000_0000;
/// New pid namespace (not supported).
pub const CLONE_NEWPID: u64 = 0x2000_0000;
/// New network namespace (not supported).
pub const CLONE_NEWNET: u64 = 0x4000_0000;
/// Share the I/O context (no I/O scheduler here: accepted, no effect).
pub const CLONE_IO: u64 = 0x8000_0000;

/// Flags accepted but meaningless on this system.
pub const CLONE_IGNORED: u64 =
    CLONE_PTRACE | CLONE_SYSVSEM | CLONE_DETACHED | CLONE_UNTRACED | CLONE_IO;
/// Flags whose feature this system does not provide.
pub const CLONE_UNSUPPORTED: u64 = CLONE_PIDFD
    | CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET;

/// `fork()` as libc issues it.
pub const FORK_FLAGS: u64 = 17;
/// `vfork()` / `posix_spawn` as libc issues it.
pub const VFORK_FLAGS: u64 = CLONE_VM | CLONE_VFORK | 17;
/// `pthread_create` as musl issues it.
pub const MUSL_THREAD_FLAGS: u64 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_DETACHED;

/// Share or copy a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inheritance {
    /// The child shares the caller's.
    Share,
    /// The child gets a copy.
    Copy,
}

/// Whether the child joins the caller's thread group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadGroup {
    /// A new thread in the caller's process (`CLONE_THREAD`).
    Same,
    /// A new process.
    New,
}

/// Whether the parent blocks until the child execs or exits (`CLONE_VFORK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VforkWait {
    /// The caller is parked until the child releases its memory.
    Wait,
    /// The caller continues at once.
    NoWait,
}

/// Whether the caller is init, which may not use `CLONE_PARENT` (it has no parent to
/// give the child).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerRole {
    /// The caller is pid 1.
    Init,
    /// Any other process.
    Ordinary,
}

/// A decoded `clone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloneRequest {
    /// The address space (`CLONE_VM`).
    pub memory: Inheritance,
    /// The file descriptor table (`CLONE_FILES`).
    pub files: Inheritance,
    /// cwd, root and umask (`CLONE_FS`).
    pub filesystem: Inheritance,
    /// Signal handlers (`CLONE_SIGHAND`).
    pub signal_handlers: Inheritance,
    /// Thread or process.
    pub thread_group: ThreadGroup,
    /// Parent of the new process (`CLONE_PARENT`).
    pub parent: crate::process::table::ParentChoice,
    /// Whether the caller waits (`CLONE_VFORK`).
    pub vfork: VforkWait,
    /// Signal to the parent at exit (0 for none; always 0 for a thread, which Linux
    /// gives no exit signal). Values above 64 are kept as Linux keeps them: no signal
    /// is sent, but the child counts as a "clone" child for `wait`.
    pub exit_signal: u8,
    /// The child's stack pointer; `None` (0) keeps the caller's.
    pub stack: Option<u64>,
    /// `TPIDR_EL0` for the child (`CLONE_SETTLS`).
    pub tls: Option<u64>,
    /// Where to store the child's tid in the parent (`CLONE_PARENT_SETTID`).
    pub parent_tid: Option<u64>,
    /// Where to store the child's tid in the child (`CLONE_CHILD_SETTID`).
    pub child_set_tid: Option<u64>,
    /// Where to clear and wake at the child's exit (`CLONE_CHILD_CLEARTID`).
    pub child_clear_tid: Option<u64>,
    /// Accepted flags with no effect here (for the log).
    pub ignored: u64,
}

/// Why a `clone` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloneError {
    /// A combination Linux rejects (`EINVAL`), with the rule broken.
    Invalid(&'static str),
    /// A valid request for features this system lacks: these flags. The server logs it
    /// and returns `EINVAL`, what Linux returns when built without them.
    Unsupported(u64),
}

impl CloneError {
    /// The error number to return.
    #[must_use]
    pub const fn errno(self) -> Errno {
        Errno::EINVAL
    }
}

/// Decodes `clone(flags, newsp, parent_tid, tls, child_tid)`. Only the low 32 bits of
/// `flags` count, as in Linux's `clone` entry.
///
/// # Errors
/// [`CloneError::Invalid`] for Linux's checks, in Linux's order: `CLONE_NEWNS` with
/// `CLONE_FS`; `CLONE_NEWUSER` with `CLONE_FS`; `CLONE_THREAD` without `CLONE_SIGHAND`;
/// `CLONE_SIGHAND` without `CLONE_VM`; `CLONE_PARENT` from init; `CLONE_THREAD` with
/// `CLONE_NEWUSER` or `CLONE_NEWPID`; `CLONE_PIDFD` with `CLONE_DETACHED` or
/// `CLONE_THREAD`, or with `CLONE_PARENT_SETTID` at the same address.
/// [`CloneError::Unsupported`] for namespaces and pidfds.
pub fn decode_clone(
    flags: u64,
    stack: u64,
    parent_tid: u64,
    tls: u64,
    child_tid: u64,
    caller: CallerRole,
) -> Result<CloneRequest, CloneError> {
    let flags = flags & 0xffff_ffff;
    let exit_signal = (flags & CSIGNAL) as u8;
    let has = |flag: u64| flags & flag != 0;

    // The `clone` system call returns a pidfd through `parent_tid`, so the two always
    // share one address there, which Linux refuses.
    if has(CLONE_PIDFD) && has(CLONE_PARENT_SETTID) {
        return Err(CloneError::Invalid(
            "CLONE_PIDFD and CLONE_PARENT_SETTID share one address",
        ));
    }
    if has(CLONE_NEWNS) && has(CLONE_FS) {
        return Err(CloneError::Invalid("CLONE_NEWNS with CLONE_FS"));
    }
    if has(CLONE_NEWUSER) && has(CLONE_FS) {
        return Err(CloneError::Invalid("CLONE_NEWUSER with CLONE_FS"));
    }
    if has(CLONE_THREAD) && !has(CLONE_SIGHAND) {
        return Err(CloneError::Invalid("CLONE_THREAD without CLONE_SIGHAND"));
    }
    if has(CLONE_SIGHAND) && !has(CLONE_VM) {
        return Err(CloneError::Invalid("CLONE_SIGHAND without CLONE_VM"));
    }
    if has(CLONE_PARENT) && caller == CallerRole::Init {
        return Err(CloneError::Invalid("CLONE_PARENT from init"));
    }
    if has(CLONE_THREAD) && (has(CLONE_NEWUSER) || has(CLONE_NEWPID)) {
        return Err(CloneError::Invalid(
            "CLONE_THREAD with a new user or pid namespace",
        ));
    }
    if has(CLONE_PIDFD) && (has(CLONE_DETACHED) || has(CLONE_THREAD)) {
        return Err(CloneError::Invalid(
            "CLONE_PIDFD with CLONE_DETACHED or CLONE_THREAD",
        ));
    }
    let unsupported = flags & CLONE_UNSUPPORTED;
    if unsupported != 0 {
        return Err(CloneError::Unsupported(unsupported));
    }

    let inheritance = |flag: u64| {
        if has(flag) {
            Inheritance::Share
        } else {
            Inheritance::Copy
        }
    };
    let thread_group = if has(CLONE_THREAD) {
        ThreadGroup::Same
    } else {
        ThreadGroup::New
    };
    let when = |flag: u64, address: u64| has(flag).then_some(address);
    Ok(CloneRequest {
        memory: inheritance(CLONE_VM),
        files: inheritance(CLONE_FILES),
        filesystem: inheritance(CLONE_FS),
        signal_handlers: inheritance(CLONE_SIGHAND),
        thread_group,
        parent: if has(CLONE_PARENT) {
            crate::process::table::ParentChoice::CallersParent
        } else {
            crate::process::table::ParentChoice::Caller
        },
        vfork: if has(CLONE_VFORK) {
            VforkWait::Wait
        } else {
            VforkWait::NoWait
        },
        exit_signal: if thread_group == ThreadGroup::Same {
            0
        } else {
            exit_signal
        },
        stack: (stack != 0).then_some(stack),
        tls: when(CLONE_SETTLS, tls),
        parent_tid: when(CLONE_PARENT_SETTID, parent_tid),
        child_set_tid: when(CLONE_CHILD_SETTID, child_tid),
        child_clear_tid: when(CLONE_CHILD_CLEARTID, child_tid),
        ignored: flags & CLONE_IGNORED,
    })
}

impl CloneRequest {
    /// Which alternate-stack rule the new thread follows: disabled when it shares the
    /// address space without vfork semantics.
    #[must_use]
    pub const fn alternate_stack(&self) -> crate::signal::AlternateStackInheritance {
        match (self.memory, self.vfork) {
            (Inheritance::Share, VforkWait::NoWait) => {
                crate::signal::AlternateStackInheritance::Disable
            }
            _ => crate::signal::AlternateStackInheritance::Copy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::table::ParentChoice;
    use crate::signal::AlternateStackInheritance;

    fn decode(flags: u64) -> Result<CloneRequest, CloneError> {
        decode_clone(flags, 0, 0x100, 0x200, 0x300, CallerRole::Ordinary)
    }

    #[test]
    fn flag_values_match_linux() {
        assert_eq!(CLONE_VM, 0x100);
        assert_eq!(CLONE_VFORK, 0x4000);
        assert_eq!(CLONE_THREAD, 0x10000);
        assert_eq!(CLONE_SETTLS, 0x80000);
        assert_eq!(CLONE_CHILD_SETTID, 0x0100_0000);
        assert_eq!(MUSL_THREAD_FLAGS, 0x7d0f00);
        assert_eq!(VFORK_FLAGS, 0x4111);
    }

    #[test]
    fn fork() {
        let request = decode(FORK_FLAGS).unwrap();
        assert_eq!(request.memory, Inheritance::Copy);
        assert_eq!(request.files, Inheritance::Copy);
        assert_eq!(request.signal_handlers, Inheritance::Copy);
        assert_eq!(request.thread_group, ThreadGroup::New);
        assert_eq!(request.vfork, VforkWait::NoWait);
        assert_eq!(request.exit_signal, 17);
        assert_eq!(request.parent, ParentChoice::Caller);
        assert_eq!(request.stack, None);
        assert_eq!(request.tls, None);
        assert_eq!(request.parent_tid, None);
        assert_eq!(request.child_clear_tid, None);
        assert_eq!(request.alternate_stack(), AlternateStackInheritance::Copy);
        // glibc's fork adds CHILD_SETTID|CHILD_CLEARTID.
        let glibc = decode(FORK_FLAGS | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID).unwrap();
        assert_eq!(glibc.child_set_tid, Some(0x300));
        assert_eq!(glibc.child_clear_tid, Some(0x300));
    }

    #[test]
    fn vfork_and_posix_spawn() {
        let request = decode_clone(VFORK_FLAGS, 0x7000, 0, 0, 0, CallerRole::Init).unwrap();
        assert_eq!(request.memory, Inheritance::Share);
        assert_eq!(request.vfork, VforkWait::Wait);
        assert_eq!(request.thread_group, ThreadGroup::New);
        assert_eq!(request.exit_signal, 17);
        assert_eq!(request.stack, Some(0x7000));
        assert_eq!(request.alternate_stack(), AlternateStackInheritance::Copy);
        // vfork without CLONE_VM is valid too.
        assert_eq!(decode(CLONE_VFORK | 17).unwrap().memory, Inheritance::Copy);
    }

    #[test]
    fn musl_and_glibc_threads() {
        let request = decode_clone(
            MUSL_THREAD_FLAGS,
            0x7000,
            0x100,
            0x200,
            0x300,
            CallerRole::Init,
        )
        .unwrap();
        assert_eq!(request.thread_group, ThreadGroup::Same);
        assert_eq!(request.memory, Inheritance::Share);
        assert_eq!(request.files, Inheritance::Share);
        assert_eq!(request.filesystem, Inheritance::Share);
        assert_eq!(request.signal_handlers, Inheritance::Share);
        assert_eq!(request.exit_signal, 0);
        assert_eq!(request.tls, Some(0x200));
        assert_eq!(request.parent_tid, Some(0x100));
        assert_eq!(request.child_set_tid, None);
        assert_eq!(request.child_clear_tid, Some(0x300));
        assert_eq!(request.ignored, CLONE_SYSVSEM | CLONE_DETACHED);
        assert_eq!(
            request.alternate_stack(),
            AlternateStackInheritance::Disable
        );
        let glibc = MUSL_THREAD_FLAGS & !CLONE_DETACHED;
        assert_eq!(decode(glibc).unwrap().ignored, CLONE_SYSVSEM);
        // A stray exit signal on a thread is dropped.
        assert_eq!(decode(MUSL_THREAD_FLAGS | 17).unwrap().exit_signal, 0);
    }

    #[test]
    fn invalid_combinations() {
        let invalid = |flags: u64| matches!(decode(flags), Err(CloneError::Invalid(_)));
        assert!(invalid(CLONE_THREAD | CLONE_VM));
        assert!(invalid(CLONE_SIGHAND));
        assert!(invalid(CLONE_SIGHAND | CLONE_THREAD));
        assert!(invalid(CLONE_NEWNS | CLONE_FS));
        assert!(invalid(CLONE_NEWUSER | CLONE_FS));
        assert!(invalid(
            CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID
        ));
        assert!(invalid(
            CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUSER
        ));
        assert!(invalid(CLONE_PIDFD | CLONE_DETACHED));
        assert!(invalid(
            CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM
        ));
        assert!(invalid(CLONE_PIDFD | CLONE_PARENT_SETTID));
        assert_eq!(
            decode_clone(CLONE_PARENT | 17, 0, 0, 0, 0, CallerRole::Init),
            Err(CloneError::Invalid("CLONE_PARENT from init"))
        );
        assert_eq!(
            decode(CLONE_PARENT | 17).unwrap().parent,
            ParentChoice::CallersParent
        );
        assert_eq!(CloneError::Invalid("x").errno(), Errno::EINVAL);
    }

    #[test]
    fn unsupported_features_are_distinct() {
        for flag in [
            CLONE_NEWNS,
            CLONE_NEWUTS,
            CLONE_NEWIPC,
            CLONE_NEWUSER,
            CLONE_NEWPID,
            CLONE_NEWNET,
            CLONE_NEWCGROUP,
            CLONE_PIDFD,
        ] {
            assert_eq!(decode(flag | 17), Err(CloneError::Unsupported(flag)));
        }
        assert_eq!(
            decode(CLONE_NEWUTS | CLONE_NEWNET | 17),
            Err(CloneError::Unsupported(CLONE_NEWUTS | CLONE_NEWNET))
        );
        assert_eq!(CloneError::Unsupported(CLONE_NEWNET).errno(), Errno::EINVAL);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn accepted_requests_obey_linux_rules(flags in any::<u64>()) {
                if let Ok(request) = decode(flags) {
                    if request.thread_group == ThreadGroup::Same {
                        prop_assert_eq!(request.signal_handlers, Inheritance::Share);
                        prop_assert_eq!(request.exit_signal, 0);
                    }
                    if request.signal_handlers == Inheritance::Share {
                        prop_assert_eq!(request.memory, Inheritance::Share);
                    }
                    prop_assert_eq!(flags & 0xffff_ffff & CLONE_UNSUPPORTED, 0);
                }
            }
        }
    }

    #[test]
    fn upper_bits_and_odd_exit_signals() {
        // Linux's clone entry only looks at the low 32 bits.
        let request = decode((1 << 32) | FORK_FLAGS).unwrap();
        assert_eq!(request.exit_signal, 17);
        assert_eq!(decode(0).unwrap().exit_signal, 0);
        assert_eq!(decode(0xff).unwrap().exit_signal, 0xff);
        let ignored = decode(CLONE_PTRACE | CLONE_UNTRACED | CLONE_IO | 17).unwrap();
        assert_eq!(ignored.ignored, CLONE_PTRACE | CLONE_UNTRACED | CLONE_IO);
    }
}
