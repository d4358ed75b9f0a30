//! Resource limits and user ids: `prlimit64`'s rules for replacing a limit, the
//! system-wide task limit (Linux's `kernel.threads-max`) with the `RLIMIT_NPROC` default
//! derived from it, and `setuid`'s rules.

use crate::initial_stack::Credentials;
use crate::Errno;

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;
/// `RLIMIT_NPROC`: tasks (processes and threads, zombies included) per real user id.
pub const RLIMIT_NPROC: u64 = 6;

/// Tasks the whole system holds at most (processes, zombies included, and threads):
/// Linux's `kernel.threads-max`, which it sizes from RAM (1/8 of it for kernel stacks).
/// Here it is sized by the process server's own costs instead: each task takes kernel
/// objects (TCB, CNode, for a process a VSpace and page tables) and server heap, and a
/// fork bomb must hit this limit, with `EAGAIN`, long before memory runs out.
pub const MAX_TASKS: u64 = 512;

/// The default `RLIMIT_NPROC` (soft and hard): Linux gives init `threads-max / 2`.
pub const DEFAULT_NPROC: u64 = MAX_TASKS / 2;

/// A soft and a hard limit, as `struct rlimit64` holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

/// Whether the caller may raise a hard limit (`CAP_SYS_RESOURCE`; here: effective uid 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    Privileged,
    Unprivileged,
}

impl Privilege {
    /// The privilege of a process with `credentials`.
    #[must_use]
    pub const fn of(credentials: &Credentials) -> Privilege {
        if credentials.euid == 0 {
            Privilege::Privileged
        } else {
            Privilege::Unprivileged
        }
    }
}

impl Limit {
    /// The same value for both.
    #[must_use]
    pub const fn both(value: u64) -> Limit {
        Limit {
            soft: value,
            hard: value,
        }
    }

    /// A `struct rlimit64` as the caller's memory holds it (two little-endian words).
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 16]) -> Limit {
        let mut soft = [0u8; 8];
        let mut hard = [0u8; 8];
        soft.copy_from_slice(&bytes[..8]);
        hard.copy_from_slice(&bytes[8..]);
        Limit {
            soft: u64::from_le_bytes(soft),
            hard: u64::from_le_bytes(hard),
        }
    }

    /// Checks `new` as a replacement for `self`, as Linux's `do_prlimit` does.
    ///
    /// # Errors
    /// `EINVAL` if the soft limit exceeds the hard one; `EPERM` if the hard limit would
    /// rise without privilege.
    pub fn check_replacement(&self, new: Limit, privilege: Privilege) -> Result<Limit, Errno> {
        if new.soft > new.hard {
            return Err(Errno::EINVAL);
        }
        if new.hard > self.hard && privilege == Privilege::Unprivileged {
            return Err(Errno::EPERM);
        }
        Ok(new)
    }
}

/// Whether one more task fits in the system, holding `tasks` now.
///
/// # Errors
/// `EAGAIN` at [`MAX_TASKS`] (for every user, root included, as on Linux).
pub const fn check_system_tasks(tasks: u64) -> Result<(), Errno> {
    if tasks >= MAX_TASKS {
        Err(Errno::EAGAIN)
    } else {
        Ok(())
    }
}

/// `setuid(uid)`: with effective uid 0, sets the real and effective ids; otherwise only
/// the effective id, and only to the real one (no saved set-user-id is kept).
///
/// # Errors
/// `EINVAL` for -1 (not a valid id); `EPERM` if the caller may not take `uid`.
pub fn set_user_id(credentials: Credentials, uid: u32) -> Result<Credentials, Errno> {
    if uid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    match Privilege::of(&credentials) {
        Privilege::Privileged => Ok(Credentials {
            uid,
            euid: uid,
            ..credentials
        }),
        Privilege::Unprivileged if uid == credentials.uid => Ok(Credentials {
            euid: uid,
            ..credentials
        }),
        Privilege::Unprivileged => Err(Errno::EPERM),
    }
}

/// `setgid(gid)`: as [`set_user_id`], for the group ids (privilege is still euid 0).
///
/// # Errors
/// As [`set_user_id`].
pub fn set_group_id(credentials: Credentials, gid: u32) -> Result<Credentials, Errno> {
    if gid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    match Privilege::of(&credentials) {
        Privilege::Privileged => Ok(Credentials {
            gid,
            egid: gid,
            ..credentials
        }),
        Privilege::Unprivileged if gid == credentials.gid => Ok(Credentials {
            egid: gid,
            ..credentials
        }),
        Privilege::Unprivileged => Err(Errno::EPERM),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Credentials = Credentials {
        uid: 0,
        euid: 0,
        gid: 0,
        egid: 0,
    };

    #[test]
    fn replacement_rules() {
        let current = Limit::both(100);
        assert_eq!(
            current.check_replacement(Limit { soft: 10, hard: 5 }, Privilege::Privileged),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            current.check_replacement(Limit::both(200), Privilege::Unprivileged),
            Err(Errno::EPERM)
        );
        assert_eq!(
            current.check_replacement(Limit::both(200), Privilege::Privileged),
            Ok(Limit::both(200))
        );
        // Lowering needs no privilege, nor does raising the soft limit up to the hard.
        let lower = Limit { soft: 5, hard: 50 };
        assert_eq!(
            current.check_replacement(lower, Privilege::Unprivileged),
            Ok(lower)
        );
        assert_eq!(
            lower.check_replacement(Limit::both(50), Privilege::Unprivileged),
            Ok(Limit::both(50))
        );
    }

    #[test]
    fn limit_from_the_callers_bytes() {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&7u64.to_le_bytes());
        bytes[8..].copy_from_slice(&RLIM_INFINITY.to_le_bytes());
        assert_eq!(
            Limit::from_bytes(&bytes),
            Limit {
                soft: 7,
                hard: RLIM_INFINITY
            }
        );
    }

    #[test]
    fn system_task_limit() {
        assert_eq!(check_system_tasks(0), Ok(()));
        assert_eq!(check_system_tasks(MAX_TASKS - 1), Ok(()));
        assert_eq!(check_system_tasks(MAX_TASKS), Err(Errno::EAGAIN));
        assert_eq!(check_system_tasks(u64::MAX), Err(Errno::EAGAIN));
        const { assert!(DEFAULT_NPROC > 0 && DEFAULT_NPROC < MAX_TASKS) };
    }

    #[test]
    fn setuid_rules() {
        let user = set_user_id(ROOT, 1000).unwrap();
        assert_eq!((user.uid, user.euid), (1000, 1000));
        assert_eq!(set_user_id(user, 0), Err(Errno::EPERM));
        assert_eq!(set_user_id(user, 1000), Ok(user));
        assert_eq!(set_user_id(ROOT, u32::MAX), Err(Errno::EINVAL));
        assert_eq!(Privilege::of(&user), Privilege::Unprivileged);
        let group = set_group_id(ROOT, 100).unwrap();
        assert_eq!((group.gid, group.egid, group.uid), (100, 100, 0));
        assert_eq!(set_group_id(user, 5), Err(Errno::EPERM));
    }
}
