//! CPU-time accounting in the process server: the hooks the event loop and the thread
//! transitions call, and the figures getrusage, times and the CPU-time clocks read.
//!
//! The arithmetic is [`linux_personality::process::cpu_time`]'s fair-share virtual
//! clock; this file feeds it the counter (CNTVCT) at the server's two edges: waking for
//! a message and going back to wait. Per trap that is two counter reads, a division and
//! two thread look-ups. Nothing needs the kernel's help, so it works on real seL4 too.

use crate::process::{Pid, ThreadState, Tid};
use crate::server::Server;
use alloc::collections::BTreeMap;
use linux_personality::process::cpu_time::{FairShareClock, Usage};

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
    /// Per live process: its exited threads' usage and its reaped children's.
    processes: BTreeMap<Pid, ProcessUsage>,
    /// Exited processes not yet reaped: their own usage plus their children's, which the
    /// reaper adds to its children's (Linux's `cutime`/`cstime`).
    zombies: BTreeMap<Pid, Usage>,
}

#[derive(Clone, Copy, Debug, Default)]
struct ProcessUsage {
    /// Threads gone, and the resident high-water mark.
    own: Usage,
    /// Children reaped by wait.
    children: Usage,
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
            let spent = now.saturating_sub(self.accounting.woken_at);
            if let Some(thread) = self.threads.get_mut(&tid) {
                thread.times.charge_system(spent);
            }
        }
        self.accounting.clock.server_idle(now);
    }

    /// The server woke at counter `now`.
    pub fn account_woken(&mut self, now: u64) {
        self.accounting.woken_at = now;
        self.accounting.clock.server_woken(now);
    }

    /// `tid`'s message arrived: it stopped running, and the server now works for it.
    pub fn account_message(&mut self, tid: Tid) {
        self.account_stopped(tid);
        self.accounting.charging = Some(tid);
    }

    /// After the message of `tid` was handled without a direct reply: if it still runs
    /// (resumed at a signal handler, by sigreturn or exec) it is counted as running.
    pub fn account_after_message(&mut self, tid: Tid) {
        let Some(thread) = self.threads.get(&tid) else {
            return;
        };
        if thread.state != ThreadState::Running {
            return;
        }
        let held = self
            .processes
            .get(&thread.pid)
            .and_then(|process| process.stopped.as_ref())
            .is_some_and(|held| held.contains(&tid));
        if !held {
            self.account_resumed(tid);
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

    /// `tid` blocked in its system call (a voluntary context switch).
    pub fn account_blocked(&mut self, tid: Tid) {
        if let Some(thread) = self.threads.get_mut(&tid) {
            thread.times.voluntary_switches = thread.times.voluntary_switches.saturating_add(1);
        }
    }

    /// A page fault of `tid` was served: a minor fault, and maybe a new resident peak.
    pub fn account_page_fault(&mut self, tid: Tid, owner: Pid) {
        let Some(thread) = self.threads.get_mut(&tid) else {
            return;
        };
        thread.times.minor_faults = thread.times.minor_faults.saturating_add(1);
        let pid = thread.pid;
        let resident = self
            .processes
            .get(&owner)
            .map_or(0, |process| process.space.resident_pages() as u64);
        let entry = self.accounting.processes.entry(pid).or_default();
        entry.own.max_resident_pages = entry.own.max_resident_pages.max(resident);
    }

    /// Thread `tid` is being removed: its time goes to its process's account.
    pub fn account_thread_removed(&mut self, tid: Tid) {
        self.account_stopped(tid);
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
        let mut total = record.own;
        total.add(&record.children);
        // A parent's children figures carry the largest child's peak, not this one's
        // children's: Linux's cmaxrss is the maximum over the children it waited for.
        total.max_resident_pages = record.own.max_resident_pages;
        self.accounting.zombies.insert(pid, total);
    }

    /// `parent` reaped `child` by wait: the child's usage joins the parent's children's.
    pub fn account_reaped(&mut self, parent: Pid, child: Pid) {
        if let Some(usage) = self.accounting.zombies.remove(&child) {
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
        self.accounting.zombies.get(&child).copied()
    }

    /// `child` was released without a wait (auto-reaped): its usage is dropped, as Linux
    /// drops it.
    pub fn account_released(&mut self, child: Pid) {
        self.accounting.zombies.remove(&child);
    }

    /// The figures of `whose` now, in counter ticks; `None` if there is no such live
    /// process or thread.
    pub fn usage(&self, whose: Whose) -> Option<Usage> {
        let clock = &self.accounting.clock;
        match whose {
            Whose::Thread(tid) => {
                let thread = self.threads.get(&tid)?;
                let mut usage = thread.times.usage_at(clock);
                usage.system_ticks = usage.system_ticks.saturating_add(self.in_progress(tid));
                let process = self.processes.get(&thread.pid)?;
                usage.max_resident_pages = process.space.resident_pages() as u64;
                Some(usage)
            }
            Whose::Process(pid) => {
                let process = self.processes.get(&pid)?;
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

    /// The system time of the message being handled for `tid` so far.
    fn in_progress(&self, tid: Tid) -> u64 {
        if self.accounting.charging == Some(tid) {
            crate::arch::counter().saturating_sub(self.accounting.woken_at)
        } else {
            0
        }
    }
}
