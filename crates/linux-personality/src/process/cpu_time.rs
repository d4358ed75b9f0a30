//! CPU-time accounting without kernel help: a fair-share virtual clock driven by the
//! transitions the process server sees, the `struct rusage` figures built from it, and
//! the CPU-time clock ids of `clock_gettime`.
//!
//! The server sees every transition of a user thread: it stops when its fault or system
//! call message arrives, and runs again when the server replies (or resumes, restarts or
//! creates it). While the server waits for messages, the runnable threads share the one
//! CPU; the counter time of such a span divided by their number is added to a virtual
//! clock ([`FairShareClock`]), and a thread that ran throughout the span is owed exactly
//! that share. A thread records the virtual clock when it is resumed and is charged the
//! difference as user time when it next stops. Time from a message's arrival to the
//! server going back to wait is system time of the thread served. Nothing here needs a
//! kernel feature, so it works the same on a real seL4 kernel.
//!
//! All times are in ticks of the counter whose frequency the caller converts with.

use crate::Errno;

/// The virtual clock shared by every user thread.
///
/// # Invariants
/// `runnable` counts the [`ThreadTimes`] resumed and not stopped since; `carry` is less
/// than the divisor it was left by, so no counter tick is lost to rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FairShareClock {
    virtual_ticks: u64,
    carry: u64,
    runnable: u64,
    idle_since: Option<u64>,
}

impl FairShareClock {
    /// A clock at 0 with no thread running.
    #[must_use]
    pub const fn new() -> FairShareClock {
        FairShareClock {
            virtual_ticks: 0,
            carry: 0,
            runnable: 0,
            idle_since: None,
        }
    }

    /// The server goes back to waiting for messages at counter `now`: the runnable
    /// threads run from here.
    pub fn server_idle(&mut self, now: u64) {
        self.idle_since = Some(now);
    }

    /// The server woke at counter `now`: the span since [`Self::server_idle`] is shared
    /// among the threads that were runnable during it.
    pub fn server_woken(&mut self, now: u64) {
        let Some(since) = self.idle_since.take() else {
            return;
        };
        if self.runnable == 0 {
            return;
        }
        let elapsed = now.saturating_sub(since).saturating_add(self.carry);
        self.virtual_ticks = self.virtual_ticks.saturating_add(elapsed / self.runnable);
        self.carry = elapsed % self.runnable;
    }

    /// The virtual clock: counter ticks a thread running since boot would have had.
    #[must_use]
    pub const fn virtual_ticks(&self) -> u64 {
        self.virtual_ticks
    }

    /// How many threads run in user mode.
    #[must_use]
    pub const fn runnable(&self) -> u64 {
        self.runnable
    }

    /// `thread` runs from now on (a reply, a restart, a new thread). Resuming a running
    /// thread changes nothing.
    pub fn resume(&mut self, thread: &mut ThreadTimes) {
        if thread.running_since.is_none() {
            thread.running_since = Some(self.virtual_ticks);
            self.runnable = self.runnable.saturating_add(1);
        }
    }

    /// `thread` stopped (its message arrived, it was suspended or removed): it is
    /// charged its share since it was resumed. Stopping a stopped thread changes nothing.
    pub fn stop(&mut self, thread: &mut ThreadTimes) {
        if let Some(since) = thread.running_since.take() {
            thread.user_ticks = thread
                .user_ticks
                .saturating_add(self.virtual_ticks.saturating_sub(since));
            self.runnable = self.runnable.saturating_sub(1);
        }
    }
}

/// One thread's account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadTimes {
    /// User time charged so far (not counting a span still running).
    pub user_ticks: u64,
    /// Time the server spent on this thread's messages.
    pub system_ticks: u64,
    /// Page faults served without I/O (all of ours: files are in memory).
    pub minor_faults: u64,
    /// Times the thread blocked in a system call (a voluntary context switch).
    pub voluntary_switches: u64,
    /// The most pages its process had resident after one of its page faults.
    pub max_resident_pages: u64,
    running_since: Option<u64>,
}

impl ThreadTimes {
    /// A thread that has not run.
    #[must_use]
    pub const fn new() -> ThreadTimes {
        ThreadTimes {
            user_ticks: 0,
            system_ticks: 0,
            minor_faults: 0,
            voluntary_switches: 0,
            max_resident_pages: 0,
            running_since: None,
        }
    }

    /// Whether the thread is counted as running.
    #[must_use]
    pub const fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// User time up to the clock's present, the running span included.
    #[must_use]
    pub fn user_at(&self, clock: &FairShareClock) -> u64 {
        let running = self
            .running_since
            .map_or(0, |since| clock.virtual_ticks().saturating_sub(since));
        self.user_ticks.saturating_add(running)
    }

    /// Charges `ticks` of server time to this thread.
    pub fn charge_system(&mut self, ticks: u64) {
        self.system_ticks = self.system_ticks.saturating_add(ticks);
    }

    /// A page fault of this thread was served, leaving its process `resident` pages.
    pub fn page_fault(&mut self, resident: u64) {
        self.minor_faults = self.minor_faults.saturating_add(1);
        self.max_resident_pages = self.max_resident_pages.max(resident);
    }

    /// This thread's figures as a [`Usage`] at the clock's present.
    #[must_use]
    pub fn usage_at(&self, clock: &FairShareClock) -> Usage {
        Usage {
            user_ticks: self.user_at(clock),
            system_ticks: self.system_ticks,
            minor_faults: self.minor_faults,
            major_faults: 0,
            voluntary_switches: self.voluntary_switches,
            involuntary_switches: 0,
            max_resident_pages: self.max_resident_pages,
        }
    }
}

/// Summed figures: a process's exited threads, its reaped children, or a whole
/// `struct rusage` before conversion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub user_ticks: u64,
    pub system_ticks: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// The high-water mark of resident pages (a maximum, not a sum).
    pub max_resident_pages: u64,
}

impl Usage {
    /// Adds `other`'s counts; the resident high-water mark is the larger of the two (as
    /// Linux's `ru_maxrss` for children is the largest child's).
    pub fn add(&mut self, other: &Usage) {
        self.user_ticks = self.user_ticks.saturating_add(other.user_ticks);
        self.system_ticks = self.system_ticks.saturating_add(other.system_ticks);
        self.minor_faults = self.minor_faults.saturating_add(other.minor_faults);
        self.major_faults = self.major_faults.saturating_add(other.major_faults);
        self.voluntary_switches = self
            .voluntary_switches
            .saturating_add(other.voluntary_switches);
        self.involuntary_switches = self
            .involuntary_switches
            .saturating_add(other.involuntary_switches);
        self.max_resident_pages = self.max_resident_pages.max(other.max_resident_pages);
    }

    /// `struct rusage` (144 bytes on 64-bit Linux): utime and stime as timevals,
    /// maxrss in KiB, then the counters; the fields Linux leaves 0 stay 0.
    #[must_use]
    pub fn encode_rusage(&self, frequency: u64, page_size: u64) -> [u8; RUSAGE_SIZE] {
        let (user_seconds, user_microseconds) = split_microseconds(self.user_ticks, frequency);
        let (system_seconds, system_microseconds) =
            split_microseconds(self.system_ticks, frequency);
        let mut words = [0u64; RUSAGE_SIZE / 8];
        words[0] = user_seconds;
        words[1] = user_microseconds;
        words[2] = system_seconds;
        words[3] = system_microseconds;
        words[4] = self.max_resident_pages.saturating_mul(page_size) / 1024;
        // ixrss, idrss, isrss stay 0 as on Linux.
        words[8] = self.minor_faults;
        words[9] = self.major_faults;
        // nswap, inblock, oublock, msgsnd, msgrcv, nsignals stay 0.
        words[14] = self.voluntary_switches;
        words[15] = self.involuntary_switches;
        let mut bytes = [0u8; RUSAGE_SIZE];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}

/// `sizeof(struct rusage)` on 64-bit Linux.
pub const RUSAGE_SIZE: usize = 144;

/// Clock ticks per second of `times()` and `sysconf(_SC_CLK_TCK)` (Linux's USER_HZ).
pub const USER_HZ: u64 = 100;

/// `ticks` of a counter at `frequency` Hz in nanoseconds (saturating; 0 if the
/// frequency is 0).
#[must_use]
pub fn ticks_to_nanoseconds(ticks: u64, frequency: u64) -> u64 {
    scale(ticks, 1_000_000_000, frequency)
}

/// `ticks` in `USER_HZ` clock ticks (`clock_t` of `times()`).
#[must_use]
pub fn ticks_to_clock_ticks(ticks: u64, frequency: u64) -> u64 {
    scale(ticks, USER_HZ, frequency)
}

/// `ticks` as (seconds, microseconds).
#[must_use]
pub fn split_microseconds(ticks: u64, frequency: u64) -> (u64, u64) {
    let microseconds = scale(ticks, 1_000_000, frequency);
    (microseconds / 1_000_000, microseconds % 1_000_000)
}

fn scale(ticks: u64, unit: u64, frequency: u64) -> u64 {
    if frequency == 0 {
        return 0;
    }
    let value = u128::from(ticks) * u128::from(unit) / u128::from(frequency);
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// `struct tms` (four `clock_t`): the caller's user and system time, and its waited-for
/// children's, in `USER_HZ` ticks.
#[must_use]
pub fn encode_tms(own: &Usage, children: &Usage, frequency: u64) -> [u8; 32] {
    let fields = [
        ticks_to_clock_ticks(own.user_ticks, frequency),
        ticks_to_clock_ticks(own.system_ticks, frequency),
        ticks_to_clock_ticks(children.user_ticks, frequency),
        ticks_to_clock_ticks(children.system_ticks, frequency),
    ];
    let mut bytes = [0u8; 32];
    for (chunk, field) in bytes.chunks_exact_mut(8).zip(fields) {
        chunk.copy_from_slice(&field.to_le_bytes());
    }
    bytes
}

// -------------------------------------------------------------------------------------
// CPU-time clock ids
// -------------------------------------------------------------------------------------

/// `CLOCK_PROCESS_CPUTIME_ID`.
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
/// `CLOCK_THREAD_CPUTIME_ID`.
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
/// Bit 2 of a dynamic CPU clock id: the clock is a thread's (Linux's
/// `CPUCLOCK_PERTHREAD_MASK`).
const PER_THREAD: i32 = 4;
/// The low two bits: which time (`CPUCLOCK_PROF`, `_VIRT`, `_SCHED`; 3 is invalid).
const KIND_MASK: i32 = 3;

/// Which time a CPU clock reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuClockKind {
    /// `CPUCLOCK_PROF`: user + system.
    Profile,
    /// `CPUCLOCK_VIRT`: user only.
    Virtual,
    /// `CPUCLOCK_SCHED`: time on the CPU (for us, user + system too).
    Scheduler,
}

impl CpuClockKind {
    /// The clock's reading for `usage`, in counter ticks.
    #[must_use]
    pub fn ticks(self, usage: &Usage) -> u64 {
        match self {
            CpuClockKind::Virtual => usage.user_ticks,
            CpuClockKind::Profile | CpuClockKind::Scheduler => {
                usage.user_ticks.saturating_add(usage.system_ticks)
            }
        }
    }
}

/// Whose CPU time: `None` is the caller's own (pid or tid 0 in the encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuClockOwner {
    Process(Option<u32>),
    Thread(Option<u32>),
}

/// A decoded CPU-time clock id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuClock {
    pub owner: CpuClockOwner,
    pub kind: CpuClockKind,
}

/// Decodes a clock id if it names a CPU-time clock: `CLOCK_PROCESS_CPUTIME_ID`,
/// `CLOCK_THREAD_CPUTIME_ID`, or a negative id from `clock_getcpuclockid` /
/// `pthread_getcpuclockid`, which Linux encodes as `(~pid << 3) | per_thread << 2 |
/// kind`. `None` for any other id.
///
/// # Errors
/// `EINVAL` for a negative id with kind 3 (`CPUCLOCK_MAX`).
#[must_use]
pub fn decode_cpu_clock(id: i32) -> Option<Result<CpuClock, Errno>> {
    let scheduler = |owner| {
        Some(Ok(CpuClock {
            owner,
            kind: CpuClockKind::Scheduler,
        }))
    };
    match id {
        CLOCK_PROCESS_CPUTIME_ID => scheduler(CpuClockOwner::Process(None)),
        CLOCK_THREAD_CPUTIME_ID => scheduler(CpuClockOwner::Thread(None)),
        id if id < 0 => {
            let kind = match id & KIND_MASK {
                0 => CpuClockKind::Profile,
                1 => CpuClockKind::Virtual,
                2 => CpuClockKind::Scheduler,
                _ => return Some(Err(Errno::EINVAL)),
            };
            // An arithmetic shift keeps the sign, so the complement is the id again.
            let number = !(id >> 3) as u32;
            let who = (number != 0).then_some(number);
            let owner = if id & PER_THREAD != 0 {
                CpuClockOwner::Thread(who)
            } else {
                CpuClockOwner::Process(who)
            };
            Some(Ok(CpuClock { owner, kind }))
        }
        _ => None,
    }
}

/// The id `clock_getcpuclockid(pid)` makes (scheduler time of process `pid`).
#[must_use]
pub fn process_clock_id(pid: u32) -> i32 {
    (!(pid as i32) << 3) | 2
}

/// The id `pthread_getcpuclockid` makes for thread `tid`.
#[must_use]
pub fn thread_clock_id(tid: u32) -> i32 {
    (!(tid as i32) << 3) | PER_THREAD | 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runnable_thread_is_charged_the_whole_idle_span() {
        let mut clock = FairShareClock::new();
        let mut thread = ThreadTimes::new();
        clock.resume(&mut thread);
        clock.server_idle(1000);
        clock.server_woken(1600);
        clock.stop(&mut thread);
        assert_eq!(thread.user_ticks, 600);
        assert_eq!(clock.runnable(), 0);
    }

    #[test]
    fn server_time_is_not_user_time() {
        let mut clock = FairShareClock::new();
        let mut thread = ThreadTimes::new();
        clock.resume(&mut thread);
        clock.server_idle(0);
        clock.server_woken(100);
        // The server works from 100 to 400 on someone else's message.
        clock.server_idle(400);
        clock.server_woken(450);
        clock.stop(&mut thread);
        assert_eq!(thread.user_ticks, 150);
    }

    #[test]
    fn runnable_threads_share_the_span_without_losing_ticks() {
        let mut clock = FairShareClock::new();
        let mut threads = [ThreadTimes::new(); 3];
        for thread in &mut threads {
            clock.resume(thread);
        }
        clock.server_idle(0);
        clock.server_woken(10);
        clock.server_idle(10);
        clock.server_woken(20);
        for thread in &mut threads {
            clock.stop(thread);
        }
        // 10 ticks among 3: 3 each, 1 carried; then (10 + 1) / 3: 3 each, 2 carried.
        let total: u64 = threads.iter().map(|thread| thread.user_ticks).sum();
        assert_eq!(total, 18);
        assert!(threads
            .iter()
            .all(|thread| thread.user_ticks == threads[0].user_ticks));
        assert_eq!(clock.virtual_ticks(), 6);
    }

    #[test]
    fn a_thread_resumed_later_gets_only_its_part() {
        let mut clock = FairShareClock::new();
        let (mut first, mut second) = (ThreadTimes::new(), ThreadTimes::new());
        clock.resume(&mut first);
        clock.server_idle(0);
        clock.server_woken(100); // first alone: 100
        clock.resume(&mut second);
        clock.server_idle(100);
        clock.server_woken(300); // both: 100 each
        clock.stop(&mut first);
        clock.server_idle(300);
        clock.server_woken(350); // second alone: 50
        clock.stop(&mut second);
        assert_eq!(first.user_ticks, 200);
        assert_eq!(second.user_ticks, 150);
    }

    #[test]
    fn parked_threads_and_idle_time_are_not_charged() {
        let mut clock = FairShareClock::new();
        let mut thread = ThreadTimes::new();
        clock.server_idle(0);
        clock.server_woken(1000);
        assert_eq!(clock.virtual_ticks(), 0);
        clock.resume(&mut thread);
        clock.resume(&mut thread); // idempotent
        assert_eq!(clock.runnable(), 1);
        clock.server_idle(1000);
        clock.server_woken(1010);
        clock.stop(&mut thread);
        clock.stop(&mut thread); // idempotent
        clock.server_idle(1010);
        clock.server_woken(5000);
        assert_eq!(thread.user_ticks, 10);
        assert_eq!(thread.user_at(&clock), 10);
        assert!(!thread.is_running());
    }

    #[test]
    fn page_faults_count_and_keep_the_resident_peak() {
        let mut thread = ThreadTimes::new();
        thread.page_fault(12);
        thread.page_fault(5);
        let usage = thread.usage_at(&FairShareClock::new());
        assert_eq!(usage.minor_faults, 2);
        assert_eq!(usage.max_resident_pages, 12);
    }

    #[test]
    fn a_running_thread_reads_its_partial_span() {
        let mut clock = FairShareClock::new();
        let mut thread = ThreadTimes::new();
        clock.resume(&mut thread);
        clock.server_idle(0);
        clock.server_woken(70);
        assert_eq!(thread.user_ticks, 0);
        assert_eq!(thread.user_at(&clock), 70);
    }

    #[test]
    fn a_counter_going_back_charges_nothing() {
        let mut clock = FairShareClock::new();
        let mut thread = ThreadTimes::new();
        clock.resume(&mut thread);
        clock.server_idle(500);
        clock.server_woken(400);
        clock.stop(&mut thread);
        assert_eq!(thread.user_ticks, 0);
    }

    #[test]
    fn conversions() {
        assert_eq!(ticks_to_nanoseconds(62_500_000, 62_500_000), 1_000_000_000);
        assert_eq!(ticks_to_nanoseconds(1, 62_500_000), 16);
        assert_eq!(ticks_to_nanoseconds(5, 0), 0);
        assert_eq!(ticks_to_clock_ticks(62_500_000 / 2, 62_500_000), 50);
        assert_eq!(split_microseconds(93_750_000, 62_500_000), (1, 500_000));
        assert_eq!(ticks_to_nanoseconds(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn rusage_layout() {
        let usage = Usage {
            user_ticks: 93_750_000,
            system_ticks: 625,
            minor_faults: 7,
            major_faults: 0,
            voluntary_switches: 3,
            involuntary_switches: 0,
            max_resident_pages: 10,
        };
        let bytes = usage.encode_rusage(62_500_000, 4096);
        let word = |index: usize| {
            let mut value = [0u8; 8];
            value.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
            u64::from_le_bytes(value)
        };
        assert_eq!((word(0), word(1)), (1, 500_000));
        assert_eq!((word(2), word(3)), (0, 10));
        assert_eq!(word(4), 40); // KiB
        assert_eq!(word(8), 7);
        assert_eq!(word(14), 3);
        assert_eq!(word(17), 0);
    }

    #[test]
    fn adding_usage_sums_counts_and_keeps_the_largest_resident_set() {
        let mut total = Usage {
            user_ticks: 5,
            max_resident_pages: 9,
            ..Usage::default()
        };
        total.add(&Usage {
            user_ticks: 6,
            system_ticks: 2,
            max_resident_pages: 4,
            ..Usage::default()
        });
        assert_eq!(total.user_ticks, 11);
        assert_eq!(total.system_ticks, 2);
        assert_eq!(total.max_resident_pages, 9);
    }

    #[test]
    fn tms_layout() {
        let own = Usage {
            user_ticks: 62_500_000,
            system_ticks: 625_000,
            ..Usage::default()
        };
        let children = Usage {
            user_ticks: 6_250_000,
            ..Usage::default()
        };
        let bytes = encode_tms(&own, &children, 62_500_000);
        assert_eq!(&bytes[0..8], &100u64.to_le_bytes());
        assert_eq!(&bytes[8..16], &1u64.to_le_bytes());
        assert_eq!(&bytes[16..24], &10u64.to_le_bytes());
        assert_eq!(&bytes[24..32], &0u64.to_le_bytes());
    }

    #[test]
    fn clock_ids_as_musl_makes_them() {
        // musl: clock_getcpuclockid gives (-pid-1)*8 + 2, pthread_getcpuclockid
        // (-tid-1)*8 + 6.
        for id in [1u32, 2, 42, 4_194_304] {
            let musl_process = ((-(id as i64) - 1) * 8 + 2) as i32;
            let musl_thread = ((-(id as i64) - 1) * 8 + 6) as i32;
            assert_eq!(process_clock_id(id), musl_process);
            assert_eq!(thread_clock_id(id), musl_thread);
            assert_eq!(
                decode_cpu_clock(musl_process),
                Some(Ok(CpuClock {
                    owner: CpuClockOwner::Process(Some(id)),
                    kind: CpuClockKind::Scheduler
                }))
            );
            assert_eq!(
                decode_cpu_clock(musl_thread),
                Some(Ok(CpuClock {
                    owner: CpuClockOwner::Thread(Some(id)),
                    kind: CpuClockKind::Scheduler
                }))
            );
        }
    }

    #[test]
    fn clock_id_edge_cases() {
        assert_eq!(
            decode_cpu_clock(CLOCK_PROCESS_CPUTIME_ID),
            Some(Ok(CpuClock {
                owner: CpuClockOwner::Process(None),
                kind: CpuClockKind::Scheduler
            }))
        );
        assert_eq!(
            decode_cpu_clock(CLOCK_THREAD_CPUTIME_ID).map(|clock| clock.map(|c| c.owner)),
            Some(Ok(CpuClockOwner::Thread(None)))
        );
        // ~0 << 3 = -8: pid 0 means the caller.
        assert_eq!(
            decode_cpu_clock(-8).map(|clock| clock.map(|c| (c.owner, c.kind))),
            Some(Ok((CpuClockOwner::Process(None), CpuClockKind::Profile)))
        );
        assert_eq!(
            decode_cpu_clock(-8 | 1).map(|clock| clock.map(|c| c.kind)),
            Some(Ok(CpuClockKind::Virtual))
        );
        assert_eq!(decode_cpu_clock(-8 | 3), Some(Err(Errno::EINVAL)));
        assert_eq!(decode_cpu_clock(i32::MIN).map(|c| c.is_ok()), Some(true));
        for id in [0, 1, 4, 7, 11, 1000] {
            assert_eq!(decode_cpu_clock(id), None);
        }
    }

    #[test]
    fn clock_kinds_read_their_times() {
        let usage = Usage {
            user_ticks: 3,
            system_ticks: 4,
            ..Usage::default()
        };
        assert_eq!(CpuClockKind::Virtual.ticks(&usage), 3);
        assert_eq!(CpuClockKind::Profile.ticks(&usage), 7);
        assert_eq!(CpuClockKind::Scheduler.ticks(&usage), 7);
    }
}
