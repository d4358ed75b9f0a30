//! CPU-time accounting in the process server: the hooks the event loop and the thread
//! transitions call, and the figures getrusage, times and the CPU-time clocks read.
//!
//! The arithmetic is [`linux_personality::process::cpu_time`]'s fair-share virtual
//! clock; this file feeds it the counter (CNTVCT) at the server's two edges: waking for
//! a message and going back to wait. Nothing needs the kernel's help, so it works on
//! real seL4 too.
//!
//! The common trap (a call answered at once) costs two counter reads, a division and a
//! few stores, and no thread look-up: the virtual clock stands still while the server
//! works, so a thread served and answered at once is never taken off the running count
//! (stopping and resuming it would cancel out), and its system time waits in
//! `pending` until the next message, from the same thread in the common case, whose
//! look-up the server makes anyway. A thread stops counting as running only when it
//! parks, is held by a stop signal, or is removed.

use crate::process::{Pid, Tid};
use crate::server::Server;
use alloc::collections::BTreeMap;
use linux_personality::process::cpu_time::{FairShareClock, ThreadTimes, Usage};

/// The server's accounts.
#[derive(Debug, Default)]
pub struct Accounting {
    /// The fair-share virtual clock of user time.
    pub clock: FairShareClock,
    /// The counter when the server woke for what it handles now.
    woken_at: u64,
    /// The thread whose message the server handles now: charged system time until the
    /// server waits again.
    charging: Option<Tid>,
    /// System time of the last message, not yet added to its thread's account.
    pending: Option<(Tid, u64)>,
    /// Per live process: its exited threads' usage and its reaped children's.
    processes: BTreeMap<Pid, ProcessUsage>,
    /// Exited processes not yet reaped: their own usage (which their CPU clock reads
    /// until then) and their children's; the reaper adds both to its children's
    /// (Linux's `cutime`/`cstime`).
    zombies: BTreeMap<Pid, ProcessUsage>,
}

#[derive(Clone, Copy, Debug, Default)]
struct ProcessUsage {
    /// Threads gone.
    own: Usage,
    /// Children reaped by wait.
    children: Usage,
}

impl ProcessUsage {
    /// An exited process's own usage and its children's, as its reaper counts them.
    /// The peak carried is its own, not its children's: Linux's cmaxrss is the maximum
    /// over the children waited for.
    fn total(&self) -> Usage {
        let mut total = self.own;
        total.add(&self.children);
        total.max_resident_pages = self.own.max_resident_pages;
        total
    }
}

/// `RUSAGE_SELF`, `RUSAGE_CHILDREN`, `RUSAGE_THREAD`; also whose CPU clock a
/// `clock_nanosleep` waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    Process(Pid),
    Children(Pid),
    Thread(Tid),
}

impl Server {
    /// The server goes back to waiting at counter `now`: the thread it served is
    /// charged the time since the message arrived; user threads run from here.
    pub fn account_idle(&mut self, now: u64) {
        if let Some(tid) = self.accounting.charging.take() {
            self.settle_system_time();
            let spent = now.saturating_sub(self.accounting.woken_at);
            self.accounting.pending = Some((tid, spent));
        }
        self.accounting.clock.server_idle(now);
    }

    /// The server woke at counter `now`.
    pub fn account_woken(&mut self, now: u64) {
        self.accounting.woken_at = now;
        self.accounting.clock.server_woken(now);
    }

    /// Adds the last message's system time to its thread's account.
    fn settle_system_time(&mut self) {
        if let Some((tid, spent)) = self.accounting.pending.take() {
            if let Some(thread) = self.threads.get_mut(&tid) {
                thread.times.charge_system(spent);
            }
        }
    }

    /// `tid` runs in user mode from now on.
    pub fn account_resumed(&mut self, tid: Tid) {
        if let Some(thread) = self.threads.get_mut(&tid) {
            self.accounting.clock.resume(&mut thread.times);
        }
    }

    /// `tid` no longer runs (stopped, suspended, or about to be removed).
    pub fn account_stopped(&mut self, tid: Tid) {
        if let Some(thread) = self.threads.get_mut(&tid) {
            self.accounting.clock.stop(&mut thread.times);
        }
    }

    /// A page fault of `tid` was served, leaving its memory with `resident` pages.
    pub fn account_page_fault(&mut self, tid: Tid, resident: usize) {
        if let Some(thread) = self.threads.get_mut(&tid) {
            thread.times.page_fault(resident as u64);
        }
    }

    /// Thread `tid` is being removed: its time goes to its process's account.
    pub fn account_thread_removed(&mut self, tid: Tid) {
        self.account_stopped(tid);
        if self
            .accounting
            .pending
            .is_some_and(|(pending, _)| pending == tid)
        {
            self.settle_system_time();
        }
        let Some(thread) = self.threads.get(&tid) else {
            return;
        };
        let usage = thread.times.usage_at(&self.accounting.clock);
        let pid = thread.pid;
        if self.accounting.charging == Some(tid) {
            // Exiting in its own call: the rest of this message is not charged.
            self.accounting.charging = None;
        }
        self.accounting
            .processes
            .entry(pid)
            .or_default()
            .own
            .add(&usage);
    }

    /// Process `pid` exited (its threads already removed): its usage waits for the
    /// parent's wait.
    pub fn account_process_exited(&mut self, pid: Pid, resident_pages: u64) {
        let mut record = self.accounting.processes.remove(&pid).unwrap_or_default();
        record.own.max_resident_pages = record.own.max_resident_pages.max(resident_pages);
        self.accounting.zombies.insert(pid, record);
    }

    /// `parent` reaped `child` by wait: the child's usage joins the parent's children's.
    pub fn account_reaped(&mut self, parent: Pid, child: Pid) {
        if let Some(record) = self.accounting.zombies.remove(&child) {
            let usage = record.total();
            self.accounting
                .processes
                .entry(parent)
                .or_default()
                .children
                .add(&usage);
        }
    }

    /// What a wait reports for exited `child`: its usage and its children's.
    pub fn reported_usage(&self, child: Pid) -> Option<Usage> {
        self.accounting.zombies.get(&child).map(ProcessUsage::total)
    }

    /// `child` was released without a wait (auto-reaped): its usage is dropped, as Linux
    /// drops it.
    pub fn account_released(&mut self, child: Pid) {
        self.accounting.zombies.remove(&child);
    }

    /// The figures of `whose` now, in counter ticks; `None` if there is no such live
    /// process or thread, or unreaped zombie process (whose own usage is final).
    pub fn usage(&self, whose: Whose) -> Option<Usage> {
        let clock = &self.accounting.clock;
        match whose {
            Whose::Thread(tid) => {
                let thread = self.threads.get(&tid)?;
                let mut usage = thread.times.usage_at(clock);
                usage.system_ticks = usage.system_ticks.saturating_add(self.in_progress(tid));
                // ru_maxrss is the process's peak even for RUSAGE_THREAD, as on Linux.
                usage.max_resident_pages =
                    self.usage(Whose::Process(thread.pid))?.max_resident_pages;
                Some(usage)
            }
            Whose::Process(pid) => {
                let Some(process) = self.processes.get(&pid) else {
                    return self.accounting.zombies.get(&pid).map(|record| record.own);
                };
                let record = self
                    .accounting
                    .processes
                    .get(&pid)
                    .copied()
                    .unwrap_or_default();
                let mut usage = record.own;
                for tid in &process.threads {
                    if let Some(thread) = self.threads.get(tid) {
                        usage.add(&thread.times.usage_at(clock));
                        usage.system_ticks =
                            usage.system_ticks.saturating_add(self.in_progress(*tid));
                    }
                }
                usage.max_resident_pages = usage
                    .max_resident_pages
                    .max(process.space.resident_pages() as u64);
                Some(usage)
            }
            Whose::Children(pid) => {
                self.processes.get(&pid)?;
                Some(
                    self.accounting
                        .processes
                        .get(&pid)
                        .map(|record| record.children)
                        .unwrap_or_default(),
                )
            }
        }
    }

    /// The system time of `tid` not in its account yet: the message being handled for
    /// it so far, and the last one's.
    fn in_progress(&self, tid: Tid) -> u64 {
        let current = if self.accounting.charging == Some(tid) {
            crate::arch::counter().saturating_sub(self.accounting.woken_at)
        } else {
            0
        };
        let last = match self.accounting.pending {
            Some((pending, spent)) if pending == tid => spent,
            _ => 0,
        };
        current.saturating_add(last)
    }
}

impl Accounting {
    /// A message from `tid` arrived (`times` is its account, looked up by the caller):
    /// the server works for it from now on. The previous message's system time goes to
    /// `times` if it was this thread's; another thread's is left for
    /// [`Server::account_idle`].
    pub fn message_from(&mut self, tid: Tid, times: &mut ThreadTimes) {
        if let Some((pending, spent)) = self.pending {
            if pending == tid {
                times.charge_system(spent);
                self.pending = None;
            }
        }
        self.charging = Some(tid);
    }

    /// `times`'s thread blocks in its system call: it stops running (a voluntary
    /// context switch).
    pub fn blocked(&mut self, times: &mut ThreadTimes) {
        self.clock.stop(times);
        times.voluntary_switches = times.voluntary_switches.saturating_add(1);
    }
}
