//! The timer service: one deadline queue (linux-personality's `TimerQueue`) on the EL1
//! physical timer (PPI 30, level-triggered), programmed from the root task through
//! CNTP_CVAL_EL0/CNTP_CTL_EL0 for the earliest deadline. Its interrupt signals the
//! server's bound notification ([`crate::events::TIMER`]); the server then expires every
//! due deadline, reprograms the timer and acknowledges the interrupt.
//!
//! Users: sleeping threads ([`crate::process::Wait::Sleep`]), per-process `ITIMER_REAL`,
//! and any parked wait with a timeout ([`arm_timeout`] / [`cancel_timeout`]: futex, poll).

use crate::process::{Pid, ThreadState, Tid, Wait};
use crate::server::Server;
use alloc::collections::BTreeMap;
use linux_personality::signal::Signal;
use linux_personality::timer_queue::{
    nanoseconds_to_ticks, split_nanoseconds, ticks_to_nanoseconds, TimerQueue,
};
use linux_personality::Errno;
use sel4::cap_type::IrqHandler;
use sel4::Cap;

/// The EL1 physical timer's interrupt (a PPI).
pub const PHYSICAL_TIMER_IRQ: u64 = 30;

/// A point in time: a value of the physical counter (CNTPCT_EL0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(pub u64);

/// What a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKey {
    /// A parked thread's sleep or wait timeout.
    Thread(Tid),
    /// A process's `ITIMER_REAL`.
    RealTimer(Pid),
}

/// The timer service state.
#[derive(Debug)]
pub struct Timers {
    queue: TimerQueue<TimerKey>,
    frequency: u64,
    handler: Option<Cap<IrqHandler>>,
    /// `ITIMER_REAL` reload intervals (nanoseconds, 0 for one-shot) of armed timers.
    intervals: BTreeMap<Pid, u64>,
    /// What CNTP_CVAL_EL0 holds while the timer is enabled.
    programmed: Option<u64>,
}

impl Timers {
    /// The service over `handler` (none: deadlines are kept but never fire, which the
    /// boot log reports).
    pub fn new(frequency: u64, handler: Option<Cap<IrqHandler>>) -> Timers {
        crate::arch::stop_physical_timer();
        Timers {
            queue: TimerQueue::new(),
            frequency,
            handler,
            intervals: BTreeMap::new(),
            programmed: None,
        }
    }

    /// Now, as a deadline.
    pub fn now() -> Deadline {
        Deadline(crate::arch::physical_counter())
    }

    /// The deadline `nanoseconds` from now (rounded up to a whole tick).
    pub fn after(&self, nanoseconds: u64) -> Deadline {
        let ticks = nanoseconds_to_ticks(nanoseconds, self.frequency);
        Deadline(Timers::now().0.saturating_add(ticks))
    }

    /// Nanoseconds from now until `deadline` (0 if it has passed).
    pub fn until(&self, deadline: Deadline) -> u64 {
        ticks_to_nanoseconds(deadline.0.saturating_sub(Timers::now().0), self.frequency)
    }

    /// When `key` expires, if armed.
    pub fn deadline_of(&self, key: TimerKey) -> Option<Deadline> {
        self.queue.deadline_of(key).map(Deadline)
    }

    fn arm(&mut self, key: TimerKey, deadline: Deadline) {
        self.queue.arm(key, deadline.0);
        self.reprogram();
    }

    fn cancel(&mut self, key: TimerKey) -> Option<Deadline> {
        let deadline = self.queue.cancel(key).map(Deadline);
        if deadline.is_some() {
            self.reprogram();
        }
        deadline
    }

    /// Points the hardware timer at the earliest deadline, or stops it.
    fn reprogram(&mut self) {
        let earliest = self.queue.earliest();
        if earliest == self.programmed {
            return;
        }
        match earliest {
            Some(deadline) => crate::arch::arm_physical_timer(deadline),
            None => crate::arch::stop_physical_timer(),
        }
        self.programmed = earliest;
    }

    /// `ITIMER_REAL` of `pid`: (nanoseconds until it fires, reload interval), zeros when
    /// disarmed.
    pub fn real_timer(&self, pid: Pid) -> (u64, u64) {
        match self.deadline_of(TimerKey::RealTimer(pid)) {
            Some(deadline) => (
                self.until(deadline).max(1),
                self.intervals.get(&pid).copied().unwrap_or(0),
            ),
            None => (0, 0),
        }
    }

    /// Sets `ITIMER_REAL` of `pid` (value 0 disarms it); returns the old setting as
    /// [`Timers::real_timer`] reports it.
    pub fn set_real_timer(&mut self, pid: Pid, value: u64, interval: u64) -> (u64, u64) {
        let old = self.real_timer(pid);
        if value == 0 {
            self.intervals.remove(&pid);
            self.cancel(TimerKey::RealTimer(pid));
        } else {
            self.intervals.insert(pid, interval);
            let deadline = self.after(value);
            self.arm(TimerKey::RealTimer(pid), deadline);
        }
        old
    }

    /// Forgets everything of an exiting process's (its threads go through
    /// [`cancel_timeout`] as they are removed).
    pub fn process_exited(&mut self, pid: Pid) {
        self.intervals.remove(&pid);
        self.cancel(TimerKey::RealTimer(pid));
    }
}

/// Arms a timeout for parked thread `tid`: at `deadline` the server calls
/// [`timeout_expired`] for it unless [`cancel_timeout`] ran first. Arming again replaces
/// the deadline.
pub fn arm_timeout(server: &mut Server, tid: Tid, deadline: Deadline) {
    server.timers.arm(TimerKey::Thread(tid), deadline);
}

/// Disarms `tid`'s timeout (call it whenever a parked thread is woken by anything else);
/// returns the deadline it had.
pub fn cancel_timeout(server: &mut Server, tid: Tid) -> Option<Deadline> {
    server.timers.cancel(TimerKey::Thread(tid))
}

/// The timer interrupt: expire every due deadline, reprogram, acknowledge.
pub fn serve_interrupt(server: &mut Server) {
    loop {
        let now = Timers::now();
        let Some((key, deadline)) = server.timers.queue.pop_expired(now.0) else {
            break;
        };
        match key {
            TimerKey::Thread(tid) => timeout_expired(server, tid),
            TimerKey::RealTimer(pid) => real_timer_expired(server, pid, Deadline(deadline)),
        }
    }
    server.timers.programmed = None;
    server.timers.reprogram();
    if server.timers.programmed.is_none() {
        crate::arch::stop_physical_timer();
    }
    if let Some(handler) = server.timers.handler {
        if let Err(error) = handler.irq_handler_ack() {
            log::warn!("timer interrupt not acknowledged: {error:?}");
        }
    }
}

/// A parked thread's deadline passed: a sleep ends with 0, a console read with `VTIME`
/// returns what it has, any other wait ends with `ETIMEDOUT` (poll/select answer 0:
/// add their arm here).
pub fn timeout_expired(server: &mut Server, tid: Tid) {
    let Some(ThreadState::Parked { wait, .. }) =
        server.threads.get(&tid).map(|thread| thread.state)
    else {
        return;
    };
    match wait {
        Wait::Sleep { .. } => server.unpark(tid, 0),
        Wait::CpuSleep {
            whose,
            kind,
            target,
            ..
        } => crate::linux::usage::cpu_sleep_expired(server, tid, whose, kind, target),
        Wait::Futex => crate::linux::futex::futex_timed_out(server, tid),
        // rt_sigtimedwait: no signal came in time.
        Wait::QueuedSignal { .. } => server.unpark(tid, Errno::EAGAIN.as_negative_return()),
        // ppoll/pselect6: re-evaluated; past its deadline the poll answers itself.
        Wait::Io(_) => crate::linux::pipe::wake_io_waiters(server),
        Wait::ConsoleRead { .. } => crate::console::read_timed_out(server, tid),
        _ => server.unpark(tid, Errno::ETIMEDOUT.as_negative_return()),
    }
}

/// Sends `signal` to process `pid` (SIGALRM from `ITIMER_REAL`, terminal signals from
/// the console), through signal delivery.
pub fn signal_process(server: &mut Server, pid: Pid, signal: Signal) {
    if let Err(errno) =
        server.send_to_process(pid, linux_personality::signal::SigInfo::kernel(signal))
    {
        log::debug!("pid {pid}: {signal:?} not sent: {errno:?}");
    }
}

/// A parked thread is about to be interrupted by a signal (the caller ends its call with
/// `EINTR` or restarts it): its timeout is disarmed, a sleeper's time left is stored where
/// `nanosleep`/relative `clock_nanosleep` asked (a `ppoll`/`pselect6`'s in its timeout),
/// and it leaves the futex and console queues it waited in.
///
/// # Errors
/// `EFAULT` if the time left could not be stored.
pub fn leave_wait(server: &mut Server, tid: Tid, wait: &Wait) -> Result<(), Errno> {
    let mut left = cancel_timeout(server, tid).map_or(0, |deadline| server.timers.until(deadline));
    if let Wait::CpuSleep {
        whose,
        kind,
        target,
        ..
    } = *wait
    {
        left = crate::linux::usage::cpu_sleep_left(server, whose, kind, target);
    }
    match *wait {
        Wait::Sleep { remaining } | Wait::CpuSleep { remaining, .. } if remaining != 0 => {
            let pid = server
                .threads
                .get(&tid)
                .map(|thread| thread.pid)
                .unwrap_or(0);
            let (seconds, nanoseconds) = split_nanoseconds(left);
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&seconds.to_le_bytes());
            bytes[8..].copy_from_slice(&nanoseconds.to_le_bytes());
            server
                .with_process_memory(pid, |memory| memory.write(remaining, &bytes))
                .map_err(|_| Errno::EFAULT)
        }
        Wait::Futex => {
            server
                .futexes
                .cancel(linux_personality::process::WaiterId(u64::from(tid)));
            Ok(())
        }
        Wait::ConsoleRead { .. } => {
            server.console.forget_reader(tid);
            Ok(())
        }
        Wait::Io(crate::linux::pipe::IoWait::Poll(poll)) => {
            let registers = match server.threads.get(&tid).map(|thread| &thread.state) {
                Some(ThreadState::Parked { registers, .. }) => *registers,
                _ => return Ok(()),
            };
            crate::linux::poll::store_time_left(server, tid, &registers, poll)
        }
        _ => Ok(()),
    }
}

/// `ITIMER_REAL` fired: reload it if it has an interval, and send SIGALRM.
fn real_timer_expired(server: &mut Server, pid: Pid, deadline: Deadline) {
    let interval = server.timers.intervals.get(&pid).copied().unwrap_or(0);
    if interval == 0 {
        server.timers.intervals.remove(&pid);
    } else {
        // The next period after the one that fired; periods missed while the server was
        // busy are skipped (Linux counts them as overruns; SIGALRM is not queued twice).
        let period = nanoseconds_to_ticks(interval, server.timers.frequency).max(1);
        let now = Timers::now().0;
        let mut next = deadline.0.saturating_add(period);
        if next <= now {
            let missed = (now - next) / period + 1;
            next = next.saturating_add(missed.saturating_mul(period));
        }
        server.timers.queue.arm(TimerKey::RealTimer(pid), next);
    }
    crate::linux::time::raise_alarm(server, pid);
}
