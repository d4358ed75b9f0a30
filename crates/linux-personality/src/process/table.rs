//! The process table: pid allocation, parent/child links, reparenting to init, process
//! groups and sessions (`setpgid`, `setsid`, `getpgid`, `getsid`), `RLIMIT_NPROC`, and
//! zombies kept until reaped — Linux's rules, without its locking.

use super::wait_status::{ChildState, WaitStatus, WaitableChild};
use crate::errno::Errno;
use crate::signal::Signal;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Linux's default `pid_max`: ids are below it.
pub const PID_MAX: u32 = 32768;
/// Where allocation resumes after wrapping (Linux's `RESERVED_PIDS`).
pub const RESERVED_PIDS: u32 = 300;
/// The first process.
pub const INIT_PID: u32 = 1;
/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Whether a process has called `execve` since it was forked (`setpgid` on a child
/// that has is refused with `EACCES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecState {
    /// Still running the image it was forked with.
    Forked,
    /// Has executed a new image.
    Executed,
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifeState {
    /// Alive, running or stopped.
    Alive(JobState),
    /// Exited; kept until its parent reaps it.
    Zombie(WaitStatus),
}

/// Job-control state of a live process, with whether a waiter has seen it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Running (any stop or continue already reported).
    Running,
    /// Stopped; `WUNTRACED` has not reported it yet.
    StoppedUnreported(Signal),
    /// Stopped and reported.
    Stopped(Signal),
    /// Continued; `WCONTINUED` has not reported it yet.
    ContinuedUnreported,
}

/// One process (thread group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// Process id (the thread-group leader's thread id).
    pub pid: u32,
    /// Parent's pid; 0 for init.
    pub parent: u32,
    /// Process group.
    pub pgid: u32,
    /// Session.
    pub sid: u32,
    /// Real user id (counted against `RLIMIT_NPROC`).
    pub uid: u32,
    /// Signal sent to the parent at exit (0 for none).
    pub exit_signal: u8,
    /// Whether it has executed a new image.
    pub exec_state: ExecState,
    /// Life state.
    pub state: LifeState,
    /// Children, oldest first.
    pub children: Vec<u32>,
    /// Thread ids other than `pid`.
    pub threads: Vec<u32>,
}

impl Process {
    /// True while the process has not exited.
    #[must_use]
    pub const fn is_alive(&self) -> bool {
        matches!(self.state, LifeState::Alive(_))
    }
}

/// Which process becomes the parent of a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentChoice {
    /// The caller (fork, vfork, plain clone).
    Caller,
    /// The caller's parent (`CLONE_PARENT`); the child also takes the caller's exit
    /// signal, as in Linux.
    CallersParent,
}

/// What a new process needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForkRequest {
    /// Real user id of the new process.
    pub uid: u32,
    /// The caller's `RLIMIT_NPROC` soft limit.
    pub nproc_limit: u64,
    /// Signal for the parent when the child exits (the clone flags' low byte).
    pub exit_signal: u8,
    /// Who the parent is.
    pub parent: ParentChoice,
}

/// What an exit changed, for the caller to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitOutcome {
    /// The parent to notify, with the exit signal (0 means notify nobody by signal; the
    /// parent can still wait). `None` when the process has no parent (init, or an orphan
    /// after init exited): the caller releases it with [`ProcessTable::release`].
    pub notify: Option<(u32, u8)>,
    /// Children moved to init (their exit signal reset to `SIGCHLD`).
    pub reparented: Vec<u32>,
    /// Those already zombies: init must be told about each as if it had just exited.
    pub reparented_zombies: Vec<u32>,
    /// Thread ids released with the process.
    pub released_threads: Vec<u32>,
}

/// The table of processes.
#[derive(Clone, Debug)]
pub struct ProcessTable {
    processes: BTreeMap<u32, Process>,
    /// Thread id → process id, for threads other than leaders.
    threads: BTreeMap<u32, u32>,
    /// Process group id → number of processes (zombies included) in it.
    group_members: BTreeMap<u32, u64>,
    /// Session id → number of processes (zombies included) in it.
    session_members: BTreeMap<u32, u64>,
    /// User id → number of tasks (processes and threads, zombies included).
    tasks_per_user: BTreeMap<u32, u64>,
    next_pid: u32,
    pid_max: u32,
    first_after_wrap: u32,
}

impl Default for ProcessTable {
    fn default() -> Self {
        ProcessTable::new()
    }
}

impl ProcessTable {
    /// An empty table with Linux's defaults: ids 1..32767, wrapping to 300.
    #[must_use]
    pub const fn new() -> ProcessTable {
        ProcessTable::with_pid_range(RESERVED_PIDS, PID_MAX)
    }

    /// An empty table allocating below `pid_max` and resuming at `first_after_wrap`
    /// (clamped to at least 2, so init's id is never reused) after wrapping.
    #[must_use]
    pub const fn with_pid_range(first_after_wrap: u32, pid_max: u32) -> ProcessTable {
        let first_after_wrap = if first_after_wrap < 2 {
            2
        } else {
            first_after_wrap
        };
        ProcessTable {
            processes: BTreeMap::new(),
            threads: BTreeMap::new(),
            group_members: BTreeMap::new(),
            session_members: BTreeMap::new(),
            tasks_per_user: BTreeMap::new(),
            next_pid: INIT_PID,
            pid_max,
            first_after_wrap,
        }
    }

    /// Creates init: pid 1, its own group and session, no parent.
    ///
    /// # Errors
    /// `EEXIST` if a process already exists; `EAGAIN` if `pid_max` leaves no ids.
    pub fn create_init(&mut self, uid: u32) -> Result<u32, Errno> {
        if !self.processes.is_empty() {
            return Err(Errno::EEXIST);
        }
        let pid = self.allocate_id()?;
        self.insert(Process {
            pid,
            parent: 0,
            pgid: pid,
            sid: pid,
            uid,
            exit_signal: 0,
            exec_state: ExecState::Forked,
            state: LifeState::Alive(JobState::Running),
            children: Vec::new(),
            threads: Vec::new(),
        });
        Ok(pid)
    }

    /// `fork`/`vfork`/`clone` without `CLONE_THREAD`: a new process in the caller's
    /// group and session.
    ///
    /// # Errors
    /// `ESRCH` if `caller` is not a live process; `EAGAIN` if the user is at
    /// `RLIMIT_NPROC` (uid 0 is exempt, standing in for `CAP_SYS_RESOURCE`) or no id is
    /// free.
    pub fn fork(&mut self, caller: u32, request: ForkRequest) -> Result<u32, Errno> {
        let caller_process = self.live(caller)?;
        let (parent, exit_signal) = match request.parent {
            ParentChoice::Caller => (caller, request.exit_signal),
            ParentChoice::CallersParent => (caller_process.parent, caller_process.exit_signal),
        };
        let (pgid, sid) = (caller_process.pgid, caller_process.sid);
        self.check_nproc(request.uid, request.nproc_limit)?;
        let pid = self.allocate_id()?;
        self.insert(Process {
            pid,
            parent,
            pgid,
            sid,
            uid: request.uid,
            exit_signal,
            exec_state: ExecState::Forked,
            state: LifeState::Alive(JobState::Running),
            children: Vec::new(),
            threads: Vec::new(),
        });
        if let Some(parent_process) = self.processes.get_mut(&parent) {
            parent_process.children.push(pid);
        }
        Ok(pid)
    }

    /// `clone` with `CLONE_THREAD`: a new thread id in `pid`'s group.
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process; `EAGAIN` as for [`Self::fork`].
    pub fn add_thread(&mut self, pid: u32, nproc_limit: u64) -> Result<u32, Errno> {
        let uid = self.live(pid)?.uid;
        self.check_nproc(uid, nproc_limit)?;
        let tid = self.allocate_id()?;
        self.threads.insert(tid, pid);
        if let Some(process) = self.processes.get_mut(&pid) {
            process.threads.push(tid);
        }
        *self.tasks_per_user.entry(uid).or_insert(0) += 1;
        Ok(tid)
    }

    /// A thread other than the leader exited: its id is free again.
    ///
    /// # Errors
    /// `ESRCH` if `tid` is not a non-leader thread.
    pub fn remove_thread(&mut self, tid: u32) -> Result<(), Errno> {
        let pid = self.threads.remove(&tid).ok_or(Errno::ESRCH)?;
        if let Some(process) = self.processes.get_mut(&pid) {
            process.threads.retain(|&thread| thread != tid);
            let uid = process.uid;
            decrement(&mut self.tasks_per_user, uid);
        }
        Ok(())
    }

    /// The process a thread id belongs to (a pid names its own process).
    #[must_use]
    pub fn thread_group_of(&self, tid: u32) -> Option<u32> {
        if self.processes.contains_key(&tid) {
            Some(tid)
        } else {
            self.threads.get(&tid).copied()
        }
    }

    /// Records a successful `execve`.
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process.
    pub fn mark_executed(&mut self, pid: u32) -> Result<(), Errno> {
        self.live(pid)?;
        if let Some(process) = self.processes.get_mut(&pid) {
            process.exec_state = ExecState::Executed;
        }
        Ok(())
    }

    /// The whole process exited with `status`: it becomes a zombie, its threads' ids are
    /// freed and its children move to init.
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process.
    pub fn exit(&mut self, pid: u32, status: WaitStatus) -> Result<ExitOutcome, Errno> {
        self.live(pid)?;
        let (parent, exit_signal, children, threads, uid) = {
            let process = self.processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
            process.state = LifeState::Zombie(status);
            (
                process.parent,
                process.exit_signal,
                core::mem::take(&mut process.children),
                core::mem::take(&mut process.threads),
                process.uid,
            )
        };
        for tid in &threads {
            self.threads.remove(tid);
            decrement(&mut self.tasks_per_user, uid);
        }
        let new_parent = if pid == INIT_PID || !self.processes.contains_key(&INIT_PID) {
            0
        } else {
            INIT_PID
        };
        let mut reparented_zombies = Vec::new();
        for &child in &children {
            if let Some(child_process) = self.processes.get_mut(&child) {
                child_process.parent = new_parent;
                child_process.exit_signal = Signal::SIGCHLD.number();
                if !child_process.is_alive() {
                    reparented_zombies.push(child);
                }
            }
        }
        if new_parent != 0 {
            if let Some(init) = self.processes.get_mut(&new_parent) {
                init.children.extend_from_slice(&children);
            }
        }
        let has_parent = parent != 0 && self.processes.contains_key(&parent);
        Ok(ExitOutcome {
            notify: has_parent.then_some((parent, exit_signal)),
            reparented: children,
            reparented_zombies,
            released_threads: threads,
        })
    }

    /// `wait4`/`waitid` reaping: removes `child`, a zombie child of `parent`, and frees
    /// its id (unless still used as a group or session id).
    ///
    /// # Errors
    /// `ECHILD` if `child` is not a zombie child of `parent`.
    pub fn reap(&mut self, parent: u32, child: u32) -> Result<WaitStatus, Errno> {
        match self.processes.get(&child) {
            Some(process) if process.parent == parent && !process.is_alive() => {}
            _ => return Err(Errno::ECHILD),
        }
        self.release(child)
    }

    /// Removes a zombie whatever its parent: auto-reaping when the parent ignores
    /// `SIGCHLD` or set `SA_NOCLDWAIT`, or when it has no parent.
    ///
    /// # Errors
    /// `ECHILD` if `pid` is not a zombie.
    pub fn release(&mut self, pid: u32) -> Result<WaitStatus, Errno> {
        let status = match self.processes.get(&pid).map(|process| process.state) {
            Some(LifeState::Zombie(status)) => status,
            _ => return Err(Errno::ECHILD),
        };
        let Some(process) = self.processes.remove(&pid) else {
            return Err(Errno::ECHILD);
        };
        decrement(&mut self.group_members, process.pgid);
        decrement(&mut self.session_members, process.sid);
        decrement(&mut self.tasks_per_user, process.uid);
        if let Some(parent) = self.processes.get_mut(&process.parent) {
            parent.children.retain(|&child| child != pid);
        }
        Ok(status)
    }

    /// A process stopped (group stop complete): `WUNTRACED` can report it.
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process.
    pub fn record_stop(&mut self, pid: u32, signal: Signal) -> Result<(), Errno> {
        self.set_job_state(pid, JobState::StoppedUnreported(signal))
    }

    /// A stopped process continued: `WCONTINUED` can report it.
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process.
    pub fn record_continue(&mut self, pid: u32) -> Result<(), Errno> {
        self.set_job_state(pid, JobState::ContinuedUnreported)
    }

    /// A waiter reported the stop or continue (`Consume::MarkReported`).
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process.
    pub fn mark_reported(&mut self, pid: u32) -> Result<(), Errno> {
        let state = match self.live(pid)?.state {
            LifeState::Alive(JobState::StoppedUnreported(signal)) => JobState::Stopped(signal),
            LifeState::Alive(JobState::ContinuedUnreported) => JobState::Running,
            LifeState::Alive(other) => other,
            LifeState::Zombie(_) => return Err(Errno::ESRCH),
        };
        self.set_job_state(pid, state)
    }

    fn set_job_state(&mut self, pid: u32, state: JobState) -> Result<(), Errno> {
        self.live(pid)?;
        if let Some(process) = self.processes.get_mut(&pid) {
            process.state = LifeState::Alive(state);
        }
        Ok(())
    }

    /// The children of `parent` as [`super::wait_status::select_child`] takes them.
    #[must_use]
    pub fn waitable_children(&self, parent: u32) -> Vec<WaitableChild> {
        let Some(process) = self.processes.get(&parent) else {
            return Vec::new();
        };
        process
            .children
            .iter()
            .filter_map(|child| self.processes.get(child))
            .map(|child| WaitableChild {
                pid: child.pid,
                pgid: child.pgid,
                uid: child.uid,
                exit_signal: child.exit_signal,
                state: match child.state {
                    LifeState::Zombie(status) => ChildState::Zombie(status),
                    LifeState::Alive(JobState::StoppedUnreported(signal)) => {
                        ChildState::StoppedUnreported(signal)
                    }
                    LifeState::Alive(JobState::ContinuedUnreported) => {
                        ChildState::ContinuedUnreported
                    }
                    LifeState::Alive(_) => ChildState::Running,
                },
            })
            .collect()
    }

    /// A process, zombie or alive.
    #[must_use]
    pub fn get(&self, pid: u32) -> Option<&Process> {
        self.processes.get(&pid)
    }

    /// Live processes in group `pgid` (`kill(-pgid, ...)`).
    #[must_use]
    pub fn group_members(&self, pgid: u32) -> Vec<u32> {
        self.processes
            .values()
            .filter(|process| process.pgid == pgid && process.is_alive())
            .map(|process| process.pid)
            .collect()
    }

    /// Every live process (`kill(-1, ...)` sends to all but init and the caller).
    pub fn live_pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.processes
            .values()
            .filter(|process| process.is_alive())
            .map(|process| process.pid)
    }

    /// `getpgid(pid)`; `pid` 0 is the caller, a thread id names its process.
    ///
    /// # Errors
    /// `ESRCH` if there is no such process.
    pub fn getpgid(&self, caller: u32, pid: u64) -> Result<u32, Errno> {
        Ok(self.lookup(caller, pid)?.pgid)
    }

    /// `getsid(pid)`; `pid` 0 is the caller.
    ///
    /// # Errors
    /// `ESRCH` if there is no such process.
    pub fn getsid(&self, caller: u32, pid: u64) -> Result<u32, Errno> {
        Ok(self.lookup(caller, pid)?.sid)
    }

    /// `setpgid(pid, pgid)` by `caller` with Linux's checks, in Linux's order.
    ///
    /// # Errors
    /// `EINVAL` for a negative `pgid` or a non-leader thread id; `ESRCH` if `pid` names
    /// neither the caller nor one of its children; `EPERM` if the child is in another
    /// session, the target leads a session, or group `pgid` does not exist in the
    /// caller's session; `EACCES` if the child has executed a new image.
    pub fn setpgid(&mut self, caller: u32, pid: u64, pgid: u64) -> Result<(), Errno> {
        let pid = pid as u32 as i32;
        let pgid = pgid as u32 as i32;
        let caller_process = self.processes.get(&caller).ok_or(Errno::ESRCH)?;
        let caller_sid = caller_process.sid;
        let pid = if pid == 0 { caller } else { positive(pid)? };
        if pgid < 0 {
            return Err(Errno::EINVAL);
        }
        let pgid = if pgid == 0 { pid } else { pgid.unsigned_abs() };
        let target = match self.processes.get(&pid) {
            Some(process) => process,
            None if self.threads.contains_key(&pid) => return Err(Errno::EINVAL),
            None => return Err(Errno::ESRCH),
        };
        if target.parent == caller && target.pid != caller {
            if target.sid != caller_sid {
                return Err(Errno::EPERM);
            }
            if target.exec_state == ExecState::Executed {
                return Err(Errno::EACCES);
            }
        } else if target.pid != caller {
            return Err(Errno::ESRCH);
        }
        if target.sid == target.pid {
            return Err(Errno::EPERM);
        }
        if pgid != pid
            && !self
                .processes
                .values()
                .any(|process| process.pgid == pgid && process.sid == caller_sid)
        {
            return Err(Errno::EPERM);
        }
        let old_pgid = target.pgid;
        if let Some(process) = self.processes.get_mut(&pid) {
            process.pgid = pgid;
        }
        decrement(&mut self.group_members, old_pgid);
        *self.group_members.entry(pgid).or_insert(0) += 1;
        Ok(())
    }

    /// `setsid()`: the caller leads a new session and group; returns the session id.
    ///
    /// # Errors
    /// `EPERM` if a process group with the caller's pid exists (it leads a group);
    /// `ESRCH` if `caller` is not a live process.
    pub fn setsid(&mut self, caller: u32) -> Result<u32, Errno> {
        let process = self.live(caller)?;
        let (old_pgid, old_sid) = (process.pgid, process.sid);
        if self.group_members.contains_key(&caller) {
            return Err(Errno::EPERM);
        }
        if let Some(process) = self.processes.get_mut(&caller) {
            process.pgid = caller;
            process.sid = caller;
        }
        decrement(&mut self.group_members, old_pgid);
        decrement(&mut self.session_members, old_sid);
        *self.group_members.entry(caller).or_insert(0) += 1;
        *self.session_members.entry(caller).or_insert(0) += 1;
        Ok(caller)
    }

    /// Number of tasks counted against `uid`'s `RLIMIT_NPROC`.
    #[must_use]
    pub fn tasks_of(&self, uid: u32) -> u64 {
        self.tasks_per_user.get(&uid).copied().unwrap_or(0)
    }

    /// Tasks in the system (processes, zombies included, and threads), for the
    /// system-wide limit ([`super::limits::MAX_TASKS`]).
    #[must_use]
    pub fn task_count(&self) -> u64 {
        self.tasks_per_user.values().sum()
    }

    /// `setuid`: process `pid` (with its threads) now counts against `uid`.
    ///
    /// # Errors
    /// `ESRCH` if `pid` is not a live process.
    pub fn set_uid(&mut self, pid: u32, uid: u32) -> Result<(), Errno> {
        let process = self.live(pid)?;
        let (old, tasks) = (process.uid, 1 + process.threads.len() as u64);
        if old == uid {
            return Ok(());
        }
        for _ in 0..tasks {
            decrement(&mut self.tasks_per_user, old);
        }
        *self.tasks_per_user.entry(uid).or_insert(0) += tasks;
        if let Some(process) = self.processes.get_mut(&pid) {
            process.uid = uid;
        }
        Ok(())
    }

    fn lookup(&self, caller: u32, pid: u64) -> Result<&Process, Errno> {
        let pid = pid as u32 as i32;
        let pid = if pid == 0 {
            caller
        } else {
            positive(pid).map_err(|_| Errno::ESRCH)?
        };
        let group = self.thread_group_of(pid).ok_or(Errno::ESRCH)?;
        self.processes.get(&group).ok_or(Errno::ESRCH)
    }

    fn live(&self, pid: u32) -> Result<&Process, Errno> {
        match self.processes.get(&pid) {
            Some(process) if process.is_alive() => Ok(process),
            _ => Err(Errno::ESRCH),
        }
    }

    fn check_nproc(&self, uid: u32, limit: u64) -> Result<(), Errno> {
        if uid != 0 && self.tasks_of(uid) >= limit {
            Err(Errno::EAGAIN)
        } else {
            Ok(())
        }
    }

    fn insert(&mut self, process: Process) {
        *self.group_members.entry(process.pgid).or_insert(0) += 1;
        *self.session_members.entry(process.sid).or_insert(0) += 1;
        *self.tasks_per_user.entry(process.uid).or_insert(0) += 1;
        self.processes.insert(process.pid, process);
    }

    /// True while an id names a process, thread, group or session.
    fn id_in_use(&self, id: u32) -> bool {
        self.processes.contains_key(&id)
            || self.threads.contains_key(&id)
            || self.group_members.contains_key(&id)
            || self.session_members.contains_key(&id)
    }

    /// The next free id at or after the cursor, wrapping to `first_after_wrap`.
    fn allocate_id(&mut self) -> Result<u32, Errno> {
        let range = self.pid_max.saturating_sub(self.first_after_wrap);
        let mut candidate = self.next_pid;
        // One pass over the cursor's tail plus one full lap of the wrapped range.
        let attempts = u64::from(self.pid_max) + u64::from(range) + 1;
        for _ in 0..attempts {
            if candidate >= self.pid_max {
                candidate = self.first_after_wrap;
                if candidate >= self.pid_max {
                    break;
                }
            }
            if !self.id_in_use(candidate) {
                self.next_pid = candidate + 1;
                return Ok(candidate);
            }
            candidate += 1;
        }
        Err(Errno::EAGAIN)
    }
}

fn positive(value: i32) -> Result<u32, Errno> {
    if value > 0 {
        Ok(value.unsigned_abs())
    } else {
        Err(Errno::ESRCH)
    }
}

fn decrement(counts: &mut BTreeMap<u32, u64>, key: u32) {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::CoreDump;

    fn fork_request(uid: u32) -> ForkRequest {
        ForkRequest {
            uid,
            nproc_limit: RLIM_INFINITY,
            exit_signal: 17,
            parent: ParentChoice::Caller,
        }
    }

    fn table_with_init() -> ProcessTable {
        let mut table = ProcessTable::new();
        assert_eq!(table.create_init(0), Ok(1));
        table
    }

    #[test]
    fn pids_start_at_one_and_count_up() {
        let mut table = table_with_init();
        assert_eq!(table.create_init(0), Err(Errno::EEXIST));
        assert_eq!(table.fork(1, fork_request(0)), Ok(2));
        assert_eq!(table.fork(1, fork_request(0)), Ok(3));
        assert_eq!(table.add_thread(3, RLIM_INFINITY), Ok(4));
        assert_eq!(table.thread_group_of(4), Some(3));
        assert_eq!(table.thread_group_of(3), Some(3));
        assert_eq!(table.get(1).unwrap().children, [2, 3]);
        assert_eq!(table.get(2).unwrap().pgid, 1);
        assert_eq!(table.get(2).unwrap().sid, 1);
        assert_eq!(table.fork(99, fork_request(0)), Err(Errno::ESRCH));
    }

    #[test]
    fn wrap_skips_live_pids_groups_and_sessions() {
        let mut table = ProcessTable::with_pid_range(2, 8);
        table.create_init(0).unwrap();
        let mut pids = Vec::new();
        for _ in 0..6 {
            pids.push(table.fork(1, fork_request(0)).unwrap());
        }
        assert_eq!(pids, [2, 3, 4, 5, 6, 7]);
        assert_eq!(table.fork(1, fork_request(0)), Err(Errno::EAGAIN));
        // 3 leads a session (and so a group); 5 exits but is not reaped.
        table.setsid(3).unwrap();
        assert_eq!(table.fork(3, fork_request(0)), Err(Errno::EAGAIN));
        table.exit(5, WaitStatus::Exited(0)).unwrap();
        table.exit(3, WaitStatus::Exited(0)).unwrap();
        table.reap(1, 3).unwrap();
        table.exit(2, WaitStatus::Exited(0)).unwrap();
        table.reap(1, 2).unwrap();
        // Free: 2 and 3 (3 has no members left). 5 is a zombie.
        assert_eq!(table.fork(1, fork_request(0)), Ok(2));
        assert_eq!(table.fork(1, fork_request(0)), Ok(3));
        assert_eq!(table.fork(1, fork_request(0)), Err(Errno::EAGAIN));
        table.reap(1, 5).unwrap();
        assert_eq!(table.fork(1, fork_request(0)), Ok(5));
    }

    #[test]
    fn group_id_in_use_is_not_reused() {
        let mut table = ProcessTable::with_pid_range(2, 6);
        table.create_init(0).unwrap();
        let leader = table.fork(1, fork_request(0)).unwrap();
        table.setpgid(leader, 0, 0).unwrap();
        let member = table.fork(leader, fork_request(0)).unwrap();
        assert_eq!(table.get(member).unwrap().pgid, leader);
        table.exit(leader, WaitStatus::Exited(0)).unwrap();
        table.reap(1, leader).unwrap();
        // The member (now init's child) still uses `leader` as its group id.
        let mut fresh = Vec::new();
        while let Ok(pid) = table.fork(1, fork_request(0)) {
            fresh.push(pid);
        }
        assert!(!fresh.contains(&leader), "{fresh:?}");
    }

    #[test]
    fn default_wrap_goes_to_reserved_pids() {
        let mut table = ProcessTable::new();
        table.create_init(0).unwrap();
        table.next_pid = PID_MAX - 1;
        assert_eq!(table.fork(1, fork_request(0)), Ok(PID_MAX - 1));
        assert_eq!(table.fork(1, fork_request(0)), Ok(RESERVED_PIDS));
    }

    #[test]
    fn exit_reparents_to_init_and_keeps_zombie() {
        let mut table = table_with_init();
        let parent = table.fork(1, fork_request(0)).unwrap();
        let child = table.fork(parent, fork_request(0)).unwrap();
        let zombie = table
            .fork(
                parent,
                ForkRequest {
                    exit_signal: 0,
                    ..fork_request(0)
                },
            )
            .unwrap();
        let thread = table.add_thread(parent, RLIM_INFINITY).unwrap();
        table.exit(zombie, WaitStatus::Exited(3)).unwrap();
        let outcome = table.exit(parent, WaitStatus::Exited(1)).unwrap();
        assert_eq!(outcome.notify, Some((1, 17)));
        assert_eq!(outcome.reparented, [child, zombie]);
        assert_eq!(outcome.reparented_zombies, [zombie]);
        assert_eq!(outcome.released_threads, [thread]);
        assert_eq!(table.thread_group_of(thread), None);
        assert_eq!(table.get(child).unwrap().parent, 1);
        assert_eq!(table.get(zombie).unwrap().exit_signal, 17);
        assert_eq!(table.get(1).unwrap().children, [parent, child, zombie]);
        // The zombie stays until its (new) parent reaps it.
        assert!(table.get(parent).is_some());
        assert_eq!(table.reap(99, parent), Err(Errno::ECHILD));
        assert_eq!(table.reap(1, child), Err(Errno::ECHILD), "still alive");
        assert_eq!(table.reap(1, parent), Ok(WaitStatus::Exited(1)));
        assert_eq!(table.reap(1, parent), Err(Errno::ECHILD));
        assert_eq!(table.reap(1, zombie), Ok(WaitStatus::Exited(3)));
        assert_eq!(table.get(1).unwrap().children, [child]);
        assert_eq!(table.exit(parent, WaitStatus::Exited(0)), Err(Errno::ESRCH));
    }

    #[test]
    fn init_exit_orphans_without_parent() {
        let mut table = table_with_init();
        let child = table.fork(1, fork_request(0)).unwrap();
        let outcome = table.exit(1, WaitStatus::Exited(0)).unwrap();
        assert_eq!(outcome.notify, None);
        assert_eq!(table.get(child).unwrap().parent, 0);
        let outcome = table.exit(child, WaitStatus::Exited(0)).unwrap();
        assert_eq!(outcome.notify, None);
        assert_eq!(table.release(child), Ok(WaitStatus::Exited(0)));
        assert_eq!(table.release(1), Ok(WaitStatus::Exited(0)));
        assert_eq!(table.release(1), Err(Errno::ECHILD));
    }

    #[test]
    fn clone_parent_makes_a_sibling() {
        let mut table = table_with_init();
        let caller = table
            .fork(
                1,
                ForkRequest {
                    exit_signal: 10,
                    ..fork_request(0)
                },
            )
            .unwrap();
        let sibling = table
            .fork(
                caller,
                ForkRequest {
                    parent: ParentChoice::CallersParent,
                    ..fork_request(0)
                },
            )
            .unwrap();
        assert_eq!(table.get(sibling).unwrap().parent, 1);
        assert_eq!(table.get(sibling).unwrap().exit_signal, 10);
        assert!(table.get(1).unwrap().children.contains(&sibling));
    }

    #[test]
    fn nproc_limit() {
        let mut table = table_with_init();
        let user = table.fork(1, fork_request(1000)).unwrap();
        let limited = ForkRequest {
            nproc_limit: 3,
            ..fork_request(1000)
        };
        table.fork(user, limited).unwrap();
        table.add_thread(user, 3).unwrap();
        assert_eq!(table.tasks_of(1000), 3);
        assert_eq!(table.fork(user, limited), Err(Errno::EAGAIN));
        assert_eq!(table.add_thread(user, 3), Err(Errno::EAGAIN));
        // Root is exempt.
        assert!(table
            .fork(
                1,
                ForkRequest {
                    nproc_limit: 0,
                    ..fork_request(0)
                }
            )
            .is_ok());
        // Zombies still count until reaped.
        let child = table.get(user).unwrap().children[0];
        table.exit(child, WaitStatus::Exited(0)).unwrap();
        assert_eq!(table.fork(user, limited), Err(Errno::EAGAIN));
        table.reap(user, child).unwrap();
        assert!(table.fork(user, limited).is_ok());
        let thread = table.get(user).unwrap().threads[0];
        table.remove_thread(thread).unwrap();
        assert_eq!(table.remove_thread(thread), Err(Errno::ESRCH));
        assert_eq!(table.tasks_of(1000), 2);
    }

    #[test]
    fn task_count_and_set_uid() {
        let mut table = table_with_init();
        let child = table.fork(1, fork_request(0)).unwrap();
        table.add_thread(child, RLIM_INFINITY).unwrap();
        assert_eq!(table.task_count(), 3);
        table.set_uid(child, 1000).unwrap();
        assert_eq!(table.tasks_of(1000), 2);
        assert_eq!(table.tasks_of(0), 1);
        assert_eq!(table.task_count(), 3);
        // Its next fork counts against user 1000's limit.
        let limited = ForkRequest {
            nproc_limit: 2,
            ..fork_request(1000)
        };
        assert_eq!(table.fork(child, limited), Err(Errno::EAGAIN));
        table.exit(child, WaitStatus::Exited(0)).unwrap();
        assert_eq!(table.set_uid(child, 0), Err(Errno::ESRCH));
        table.reap(1, child).unwrap();
        assert_eq!(table.tasks_of(1000), 0);
        assert_eq!(table.task_count(), 1);
    }

    #[test]
    fn setpgid_rules() {
        let mut table = table_with_init();
        let shell = table.fork(1, fork_request(0)).unwrap();
        table.setsid(shell).unwrap();
        let job = table.fork(shell, fork_request(0)).unwrap();
        let other = table.fork(shell, fork_request(0)).unwrap();
        let grandchild = table.fork(job, fork_request(0)).unwrap();

        // Own child into its own new group.
        assert_eq!(table.setpgid(shell, u64::from(job), 0), Ok(()));
        assert_eq!(table.get(job).unwrap().pgid, job);
        // Another child into that group (same session).
        assert_eq!(
            table.setpgid(shell, u64::from(other), u64::from(job)),
            Ok(())
        );
        assert_eq!(table.getpgid(shell, u64::from(other)), Ok(job));
        // Self with pid 0.
        assert_eq!(table.setpgid(other, 0, 0), Ok(()));
        assert_eq!(table.getpgid(other, 0), Ok(other));
        // Negative pgid.
        assert_eq!(
            table.setpgid(shell, u64::from(job), (-1i64) as u64),
            Err(Errno::EINVAL)
        );
        // Not the caller nor its child.
        assert_eq!(
            table.setpgid(shell, u64::from(grandchild), 0),
            Err(Errno::ESRCH)
        );
        assert_eq!(table.setpgid(shell, 4000, 0), Err(Errno::ESRCH));
        assert_eq!(table.setpgid(shell, (-5i64) as u64, 0), Err(Errno::ESRCH));
        // A session leader cannot move.
        assert_eq!(table.setpgid(shell, 0, u64::from(job)), Err(Errno::EPERM));
        // Group that does not exist in the caller's session.
        assert_eq!(
            table.setpgid(shell, u64::from(job), 4000),
            Err(Errno::EPERM)
        );
        assert_eq!(table.setpgid(shell, u64::from(job), 1), Err(Errno::EPERM));
        // After exec.
        table.mark_executed(job).unwrap();
        assert_eq!(table.setpgid(shell, u64::from(job), 0), Err(Errno::EACCES));
        // Child in a different session.
        table.setsid(grandchild).unwrap();
        assert_eq!(
            table.setpgid(job, u64::from(grandchild), 0),
            Err(Errno::EPERM)
        );
        // A thread id that is not a leader.
        let thread = table.add_thread(other, RLIM_INFINITY).unwrap();
        assert_eq!(
            table.setpgid(shell, u64::from(thread), 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(table.getpgid(shell, u64::from(thread)), Ok(other));
    }

    #[test]
    fn setsid_and_getsid() {
        let mut table = table_with_init();
        // Init leads its group: EPERM.
        assert_eq!(table.setsid(1), Err(Errno::EPERM));
        let child = table.fork(1, fork_request(0)).unwrap();
        assert_eq!(table.getsid(child, 0), Ok(1));
        assert_eq!(table.setsid(child), Ok(child));
        assert_eq!(table.getsid(1, u64::from(child)), Ok(child));
        assert_eq!(table.getpgid(1, u64::from(child)), Ok(child));
        assert_eq!(table.setsid(child), Err(Errno::EPERM));
        assert_eq!(table.getsid(1, 4000), Err(Errno::ESRCH));
        assert_eq!(table.getsid(1, (-1i64) as u64), Err(Errno::ESRCH));
        assert_eq!(table.setsid(4000), Err(Errno::ESRCH));
        assert_eq!(table.group_members(child), [child]);
    }

    #[test]
    fn wait_view_tracks_stops_and_exits() {
        use super::super::wait_status::{
            select_child, Consume, WaitOptions, WaitSelection, WaitTarget, WUNTRACED,
        };
        let mut table = table_with_init();
        let child = table.fork(1, fork_request(0)).unwrap();
        table.record_stop(child, Signal::SIGTSTP).unwrap();
        let options = WaitOptions::for_wait4(WUNTRACED).unwrap();
        let Ok(WaitSelection::Ready(report)) =
            select_child(&table.waitable_children(1), WaitTarget::Any, options)
        else {
            panic!("stop not reported");
        };
        assert_eq!(report.consume, Consume::MarkReported);
        table.mark_reported(child).unwrap();
        assert_eq!(
            select_child(&table.waitable_children(1), WaitTarget::Any, options),
            Ok(WaitSelection::NotReady)
        );
        let killed = WaitStatus::Signaled {
            signal: Signal::SIGKILL,
            core: CoreDump::NotDumped,
        };
        table.exit(child, killed).unwrap();
        let Ok(WaitSelection::Ready(report)) =
            select_child(&table.waitable_children(1), WaitTarget::Any, options)
        else {
            panic!("exit not reported");
        };
        assert_eq!(report.status, killed);
        assert_eq!(table.reap(1, report.pid), Ok(killed));
        assert_eq!(table.record_stop(child, Signal::SIGSTOP), Err(Errno::ESRCH));
        assert!(table.waitable_children(1).is_empty());
    }
}
