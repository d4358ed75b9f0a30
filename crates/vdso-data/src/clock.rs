//! Linux clock ids, the time structures of the aarch64 ABI, and which clocks the vDSO serves.

/// `EINVAL`, as the vDSO returns it (negated) for an invalid clock id.
pub const EINVAL: i64 = 22;
/// `EFAULT`, as the vDSO returns it (negated) for a null `timespec` in `clock_gettime`.
pub const EFAULT: i64 = 14;

/// Linux clock ids (`include/uapi/linux/time.h`).
pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
/// Id 10 was CLOCK_SGI_CYCLE; Linux rejects it.
pub const CLOCK_SGI_CYCLE: i32 = 10;
pub const CLOCK_TAI: i32 = 11;

/// Resolution reported for the coarse clocks, which are the fine clocks truncated to a
/// multiple of it. 4 ms is Linux's tick at HZ=250. It divides one second exactly, so the
/// truncation never crosses a second boundary.
pub const COARSE_RESOLUTION_NANOSECONDS: u64 = 4_000_000;

/// `struct timespec` on aarch64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub seconds: i64,
    /// In `0..1_000_000_000` for every value this crate produces.
    pub nanoseconds: i64,
}

/// `struct timeval` on aarch64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    pub seconds: i64,
    pub microseconds: i64,
}

/// `struct timezone` (what `settimeofday` stored; gettimeofday hands it back).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timezone {
    pub minutes_west: i32,
    pub dst_time: i32,
}

impl Timespec {
    /// The `timeval` gettimeofday reports for this time (microseconds truncated).
    pub const fn to_timeval(self) -> Timeval {
        Timeval {
            seconds: self.seconds,
            microseconds: self.nanoseconds / 1000,
        }
    }
}

/// The clocks the vDSO serves without a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastClock {
    Realtime,
    Monotonic,
    MonotonicRaw,
    RealtimeCoarse,
    MonotonicCoarse,
    Boottime,
    Tai,
}

/// The time bases stored in the data page; several clocks share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockBase {
    /// Wall-clock time (UTC), from the RTC at boot or clock_settime.
    Realtime,
    /// Time since boot, rate-adjustable, not counting suspend.
    Monotonic,
    /// Time since boot at the counter's nominal rate, never adjusted.
    MonotonicRaw,
    /// Monotonic plus time spent suspended.
    Boottime,
    /// International atomic time: realtime plus the TAI offset.
    Tai,
}

/// Whether a clock reports full resolution or truncates to [`COARSE_RESOLUTION_NANOSECONDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    Fine,
    Coarse,
}

/// What the vDSO does with a clock id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockClass {
    /// Served from the data page.
    Fast(FastClock),
    /// A clock the kernel may know (CPU-time clocks, alarm clocks, the negative ids that
    /// encode per-process and per-thread CPU clocks): make the syscall and return its result.
    Syscall,
    /// Rejected by Linux for every process: `-EINVAL` without a syscall.
    Invalid,
}

impl ClockClass {
    /// Classifies a clock id as passed to clock_gettime or clock_getres.
    pub const fn of(clock_id: i32) -> Self {
        match clock_id {
            CLOCK_REALTIME => Self::Fast(FastClock::Realtime),
            CLOCK_MONOTONIC => Self::Fast(FastClock::Monotonic),
            CLOCK_MONOTONIC_RAW => Self::Fast(FastClock::MonotonicRaw),
            CLOCK_REALTIME_COARSE => Self::Fast(FastClock::RealtimeCoarse),
            CLOCK_MONOTONIC_COARSE => Self::Fast(FastClock::MonotonicCoarse),
            CLOCK_BOOTTIME => Self::Fast(FastClock::Boottime),
            CLOCK_TAI => Self::Fast(FastClock::Tai),
            CLOCK_PROCESS_CPUTIME_ID
            | CLOCK_THREAD_CPUTIME_ID
            | CLOCK_REALTIME_ALARM
            | CLOCK_BOOTTIME_ALARM => Self::Syscall,
            id if id < 0 => Self::Syscall,
            _ => Self::Invalid,
        }
    }
}

impl FastClock {
    /// Every clock the vDSO serves, for tests and for the syscall path's dispatch.
    pub const ALL: [FastClock; 7] = [
        FastClock::Realtime,
        FastClock::Monotonic,
        FastClock::MonotonicRaw,
        FastClock::RealtimeCoarse,
        FastClock::MonotonicCoarse,
        FastClock::Boottime,
        FastClock::Tai,
    ];

    /// The Linux clock id.
    pub const fn id(self) -> i32 {
        match self {
            FastClock::Realtime => CLOCK_REALTIME,
            FastClock::Monotonic => CLOCK_MONOTONIC,
            FastClock::MonotonicRaw => CLOCK_MONOTONIC_RAW,
            FastClock::RealtimeCoarse => CLOCK_REALTIME_COARSE,
            FastClock::MonotonicCoarse => CLOCK_MONOTONIC_COARSE,
            FastClock::Boottime => CLOCK_BOOTTIME,
            FastClock::Tai => CLOCK_TAI,
        }
    }

    /// The stored base this clock is computed from.
    pub const fn base(self) -> ClockBase {
        match self {
            FastClock::Realtime | FastClock::RealtimeCoarse => ClockBase::Realtime,
            FastClock::Monotonic | FastClock::MonotonicCoarse => ClockBase::Monotonic,
            FastClock::MonotonicRaw => ClockBase::MonotonicRaw,
            FastClock::Boottime => ClockBase::Boottime,
            FastClock::Tai => ClockBase::Tai,
        }
    }

    pub const fn precision(self) -> Precision {
        match self {
            FastClock::RealtimeCoarse | FastClock::MonotonicCoarse => Precision::Coarse,
            _ => Precision::Fine,
        }
    }
}

/// clock_getres for a served clock: 1 ns for the fine clocks (what Linux reports with
/// high-resolution timers, whatever the counter's period) and the coarse resolution for the
/// coarse ones. The syscall path must report the same.
pub const fn resolution(clock: FastClock) -> Timespec {
    match clock.precision() {
        Precision::Fine => Timespec {
            seconds: 0,
            nanoseconds: 1,
        },
        Precision::Coarse => Timespec {
            seconds: 0,
            nanoseconds: COARSE_RESOLUTION_NANOSECONDS as i64,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fast_clock_classifies_back_to_itself() {
        for clock in FastClock::ALL {
            assert_eq!(ClockClass::of(clock.id()), ClockClass::Fast(clock));
        }
    }

    #[test]
    fn ids_linux_rejects_are_invalid_and_kernel_clocks_go_to_the_syscall() {
        for id in [CLOCK_SGI_CYCLE, 12, 13, 15, 16, 1000, i32::MAX] {
            assert_eq!(ClockClass::of(id), ClockClass::Invalid, "id {id}");
        }
        for id in [
            CLOCK_PROCESS_CPUTIME_ID,
            CLOCK_THREAD_CPUTIME_ID,
            CLOCK_REALTIME_ALARM,
            CLOCK_BOOTTIME_ALARM,
            -1,
            -2,
            // clock_getcpuclockid(pid 1): ~(1 << 3) | 2 (CPUCLOCK_SCHED).
            !(1 << 3) | 2,
            i32::MIN,
        ] {
            assert_eq!(ClockClass::of(id), ClockClass::Syscall, "id {id}");
        }
    }

    #[test]
    fn resolutions_match_linux() {
        for clock in FastClock::ALL {
            let expected = match clock {
                FastClock::RealtimeCoarse | FastClock::MonotonicCoarse => 4_000_000,
                _ => 1,
            };
            assert_eq!(
                resolution(clock),
                Timespec {
                    seconds: 0,
                    nanoseconds: expected
                },
                "{clock:?}"
            );
        }
        assert_eq!(1_000_000_000 % COARSE_RESOLUTION_NANOSECONDS, 0);
    }

    #[test]
    fn timeval_truncates_to_microseconds() {
        let time = Timespec {
            seconds: 7,
            nanoseconds: 999_999_999,
        };
        assert_eq!(
            time.to_timeval(),
            Timeval {
                seconds: 7,
                microseconds: 999_999
            }
        );
    }
}
