//! Limits on what processes may create: the system-wide task limit checked before every
//! fork, vfork and thread, `RLIMIT_NPROC` kept per process, and the ids `setuid` changes
//! (which decide whose `RLIMIT_NPROC` count a task is in). The rules themselves are in
//! `linux_personality::process::limits`.

use crate::process::Process;
use crate::server::Server;
use linux_personality::process::limits::{self, Limit, Privilege};
use linux_personality::{Credentials, Errno};

/// Whether one more task (process or thread) fits in the system.
///
/// # Errors
/// `EAGAIN` at [`limits::MAX_TASKS`] tasks, zombies included, for root too.
pub fn check_new_task(server: &Server) -> Result<(), Errno> {
    let tasks = server.table.task_count();
    let result = limits::check_system_tasks(tasks);
    if result.is_err() {
        log::debug!("fork refused: {tasks} tasks, the system-wide limit");
    }
    result
}

/// `setrlimit(RLIMIT_NPROC)` for `process`.
///
/// # Errors
/// `EINVAL`, `EPERM` as [`Limit::check_replacement`] says.
pub fn set_process_limit(process: &mut Process, new: Limit) -> Result<(), Errno> {
    let privilege = Privilege::of(&process.credentials);
    process.process_limit = process.process_limit.check_replacement(new, privilege)?;
    Ok(())
}

/// Which id a `get*id` call asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Id {
    RealUser,
    EffectiveUser,
    RealGroup,
    EffectiveGroup,
}

/// One of the process's ids.
pub const fn id_of(credentials: &Credentials, which: Id) -> u32 {
    match which {
        Id::RealUser => credentials.uid,
        Id::EffectiveUser => credentials.euid,
        Id::RealGroup => credentials.gid,
        Id::EffectiveGroup => credentials.egid,
    }
}
