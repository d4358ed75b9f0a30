//! The clock state the root task keeps and publishes into the data page, and the one
//! function ([`ClockReading::at`]) that turns a counter reading into a time for both the
//! vDSO and the syscall path.

use crate::clock::{
    ClockBase, FastClock, Precision, Timespec, Timezone, COARSE_RESOLUTION_NANOSECONDS,
};
use crate::conversion::{Conversion, NANOSECONDS_PER_SECOND};

/// Everything needed to compute one clock from a counter value, as read from the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    pub counter_at_update: u64,
    pub conversion: Conversion,
    /// The clock's time when the counter read `counter_at_update`.
    pub base: Timespec,
    pub precision: Precision,
}

impl ClockReading {
    /// The clock's time at `counter`. A counter value older than the update (another CPU
    /// read the counter just before the writer did) counts as no time elapsed, so a clock
    /// never runs backwards. `None` when the page holds values no valid state produces or
    /// the result would overflow; the caller then takes the syscall.
    #[inline(always)]
    pub fn at(&self, counter: u64) -> Option<Timespec> {
        let base_nanoseconds = u64::try_from(self.base.nanoseconds).ok()?;
        if base_nanoseconds >= NANOSECONDS_PER_SECOND {
            return None;
        }
        let elapsed = self
            .conversion
            .nanoseconds(counter.saturating_sub(self.counter_at_update))?;
        // Division by a constant: the compiler emits a multiply, not a divide.
        let elapsed_seconds = i64::try_from(elapsed / NANOSECONDS_PER_SECOND).ok()?;
        let mut nanoseconds = base_nanoseconds + elapsed % NANOSECONDS_PER_SECOND;
        let mut seconds = self.base.seconds.checked_add(elapsed_seconds)?;
        if nanoseconds >= NANOSECONDS_PER_SECOND {
            nanoseconds -= NANOSECONDS_PER_SECOND;
            seconds = seconds.checked_add(1)?;
        }
        if self.precision == Precision::Coarse {
            nanoseconds -= nanoseconds % COARSE_RESOLUTION_NANOSECONDS;
        }
        Some(Timespec {
            seconds,
            nanoseconds: i64::try_from(nanoseconds).ok()?,
        })
    }
}

/// Why a clock update was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// Nanoseconds outside `0..10^9` or a negative time where Linux rejects one (EINVAL).
    InvalidTime,
    /// A zero counter frequency.
    InvalidFrequency,
    /// The arithmetic would overflow (times hundreds of years out).
    Overflow,
}

/// The writer's copy of the clocks, published with [`crate::VvarPage::publish`].
///
/// # Invariants
/// Every base has nanoseconds in `0..10^9`. `tai` is `realtime + tai_offset_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockState {
    /// CNTFRQ_EL0, for information; the conversions are what readers use.
    pub counter_frequency: u64,
    pub counter_at_update: u64,
    /// Used by every clock but MONOTONIC_RAW; rate adjustments change it.
    pub adjusted: Conversion,
    /// The counter's nominal rate, for MONOTONIC_RAW.
    pub raw: Conversion,
    pub realtime: Timespec,
    pub monotonic: Timespec,
    pub monotonic_raw: Timespec,
    pub boottime: Timespec,
    pub tai: Timespec,
    pub tai_offset_seconds: i64,
    pub timezone: Timezone,
}

impl ClockState {
    /// The clocks at boot: monotonic, raw and boottime count from counter zero (the counter
    /// starts at power-on and is never reset); realtime is the RTC's seconds since the epoch
    /// (QEMU virt's PL031 holds the host's time), read when the counter showed `counter_now`.
    ///
    /// # Errors
    /// [`TimeError::InvalidFrequency`] for a zero frequency, [`TimeError::InvalidTime`] for
    /// a negative wall-clock time.
    pub fn at_boot(
        counter_frequency: u64,
        counter_now: u64,
        wall_clock_seconds: i64,
    ) -> Result<Self, TimeError> {
        let conversion =
            Conversion::from_frequency(counter_frequency).ok_or(TimeError::InvalidFrequency)?;
        if wall_clock_seconds < 0 {
            return Err(TimeError::InvalidTime);
        }
        let since_boot = ClockReading {
            counter_at_update: 0,
            conversion,
            base: Timespec::default(),
            precision: Precision::Fine,
        }
        .at(counter_now)
        .ok_or(TimeError::Overflow)?;
        let realtime = Timespec {
            seconds: wall_clock_seconds,
            nanoseconds: 0,
        };
        Ok(Self {
            counter_frequency,
            counter_at_update: counter_now,
            adjusted: conversion,
            raw: conversion,
            realtime,
            monotonic: since_boot,
            monotonic_raw: since_boot,
            boottime: since_boot,
            tai: realtime,
            tai_offset_seconds: 0,
            timezone: Timezone::default(),
        })
    }

    /// A base's time at `counter_at_update` and the conversion that advances it.
    pub fn base(&self, base: ClockBase) -> (Timespec, Conversion) {
        match base {
            ClockBase::Realtime => (self.realtime, self.adjusted),
            ClockBase::Monotonic => (self.monotonic, self.adjusted),
            ClockBase::MonotonicRaw => (self.monotonic_raw, self.raw),
            ClockBase::Boottime => (self.boottime, self.adjusted),
            ClockBase::Tai => (self.tai, self.adjusted),
        }
    }

    /// The reading for one clock, exactly as the page would give it.
    pub fn reading(&self, clock: FastClock) -> ClockReading {
        let (base, conversion) = self.base(clock.base());
        ClockReading {
            counter_at_update: self.counter_at_update,
            conversion,
            base,
            precision: clock.precision(),
        }
    }

    /// Moves every base forward to `counter_now` without changing any clock's value (to
    /// within the 1 ns truncation), so parameters can change from that point on.
    ///
    /// # Errors
    /// [`TimeError::Overflow`] if a clock cannot be computed at `counter_now`.
    pub fn rebase(&self, counter_now: u64) -> Result<Self, TimeError> {
        let at = |clock: FastClock| {
            self.reading(clock)
                .at(counter_now)
                .ok_or(TimeError::Overflow)
        };
        Ok(Self {
            counter_at_update: counter_now.max(self.counter_at_update),
            realtime: at(FastClock::Realtime)?,
            monotonic: at(FastClock::Monotonic)?,
            monotonic_raw: at(FastClock::MonotonicRaw)?,
            boottime: at(FastClock::Boottime)?,
            tai: at(FastClock::Tai)?,
            ..*self
        })
    }

    /// clock_settime(CLOCK_REALTIME) / settimeofday at `counter_now`: realtime (and TAI,
    /// which keeps its offset) jump; the monotonic clocks do not.
    ///
    /// # Errors
    /// [`TimeError::InvalidTime`] where Linux returns EINVAL: nanoseconds outside
    /// `0..10^9`, a negative time, seconds at or past [`SETTABLE_SECONDS_LIMIT`], or a time
    /// earlier than CLOCK_MONOTONIC (realtime may not start before boot);
    /// [`TimeError::Overflow`] past the representable range.
    pub fn set_realtime(&self, counter_now: u64, time: Timespec) -> Result<Self, TimeError> {
        if !settable(time) {
            return Err(TimeError::InvalidTime);
        }
        let rebased = self.rebase(counter_now)?;
        if time < rebased.monotonic {
            return Err(TimeError::InvalidTime);
        }
        Ok(Self {
            realtime: time,
            tai: Timespec {
                seconds: time
                    .seconds
                    .checked_add(self.tai_offset_seconds)
                    .ok_or(TimeError::Overflow)?,
                ..time
            },
            ..rebased
        })
    }

    /// Sets the TAI-UTC offset (adjtimex ADJ_TAI) at `counter_now`.
    ///
    /// # Errors
    /// [`TimeError::InvalidTime`] for a negative offset (Linux rejects it),
    /// [`TimeError::Overflow`] past the representable range.
    pub fn set_tai_offset(&self, counter_now: u64, offset_seconds: i64) -> Result<Self, TimeError> {
        if offset_seconds < 0 {
            return Err(TimeError::InvalidTime);
        }
        let rebased = self.rebase(counter_now)?;
        Ok(Self {
            tai: Timespec {
                seconds: rebased
                    .realtime
                    .seconds
                    .checked_add(offset_seconds)
                    .ok_or(TimeError::Overflow)?,
                ..rebased.realtime
            },
            tai_offset_seconds: offset_seconds,
            ..rebased
        })
    }

    /// Runs every clock but MONOTONIC_RAW as if the counter ran at `frequency_hz` from
    /// `counter_now` on (a rate adjustment).
    ///
    /// # Errors
    /// [`TimeError::InvalidFrequency`] for zero, [`TimeError::Overflow`] from the rebase.
    pub fn set_adjusted_frequency(
        &self,
        counter_now: u64,
        frequency_hz: u64,
    ) -> Result<Self, TimeError> {
        let adjusted =
            Conversion::from_frequency(frequency_hz).ok_or(TimeError::InvalidFrequency)?;
        Ok(Self {
            adjusted,
            ..self.rebase(counter_now)?
        })
    }

    /// settimeofday's timezone argument.
    pub fn with_timezone(&self, timezone: Timezone) -> Self {
        Self { timezone, ..*self }
    }

    /// settimeofday's timezone at `counter_now`, by Linux's rules: the zone is stored for
    /// gettimeofday, and with [`TimezoneWarp::Warp`] (the first zone since boot, given
    /// without a time) realtime also moves by `minutes_west` minutes, because Linux then
    /// takes the RTC to have kept local time. A warp that would leave the settable range is
    /// skipped, as Linux skips it.
    ///
    /// # Errors
    /// [`TimeError::InvalidTime`] for a zone more than 15 hours from UTC (Linux's EINVAL).
    pub fn set_timezone(
        &self,
        counter_now: u64,
        timezone: Timezone,
        warp: TimezoneWarp,
    ) -> Result<Self, TimeError> {
        if timezone.minutes_west.unsigned_abs() > MAX_TIMEZONE_MINUTES {
            return Err(TimeError::InvalidTime);
        }
        let with_zone = self.with_timezone(timezone);
        if warp == TimezoneWarp::Keep || timezone.minutes_west == 0 {
            return Ok(with_zone);
        }
        let Ok(rebased) = with_zone.rebase(counter_now) else {
            return Ok(with_zone);
        };
        let warped = rebased
            .realtime
            .seconds
            .checked_add(i64::from(timezone.minutes_west) * 60)
            .map(|seconds| Timespec {
                seconds,
                ..rebased.realtime
            });
        match warped.map(|time| rebased.set_realtime(counter_now, time)) {
            Some(Ok(state)) => Ok(state),
            _ => Ok(with_zone),
        }
    }
}

/// Linux's bound on a time being set (`TIME_SETTOD_SEC_MAX`): `KTIME_SEC_MAX` less 30
/// years of uptime, so the monotonic clocks cannot overflow afterwards.
pub const SETTABLE_SECONDS_LIMIT: i64 = 9_223_372_036 - 30 * 365 * 86_400;

/// The furthest a settimeofday timezone may be from UTC, in minutes (Linux: 15 hours).
pub const MAX_TIMEZONE_MINUTES: u32 = 15 * 60;

/// Whether setting a timezone also moves realtime (see [`ClockState::set_timezone`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimezoneWarp {
    /// The first timezone since boot, set without a time: the RTC kept local time.
    Warp,
    Keep,
}

/// Linux's `timespec64_valid_settod`: nanoseconds in range, seconds in
/// `0..SETTABLE_SECONDS_LIMIT`.
pub fn settable(time: Timespec) -> bool {
    (0..SETTABLE_SECONDS_LIMIT).contains(&time.seconds)
        && (0..NANOSECONDS_PER_SECOND as i64).contains(&time.nanoseconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_FREQUENCY: u64 = 62_500_000;
    /// 2024-01-01T00:00:00Z.
    const WALL_CLOCK: i64 = 1_704_067_200;

    fn exact(seconds: i64, nanoseconds: u128) -> Timespec {
        let total = u128::try_from(seconds).expect("non-negative") * 1_000_000_000 + nanoseconds;
        Timespec {
            seconds: i64::try_from(total / 1_000_000_000).expect("fits"),
            nanoseconds: i64::try_from(total % 1_000_000_000).expect("fits"),
        }
    }

    #[test]
    fn boot_state_reads_rtc_time_and_time_since_counter_zero() {
        let boot_counter = 3 * QEMU_FREQUENCY + 12_345;
        let state = ClockState::at_boot(QEMU_FREQUENCY, boot_counter, WALL_CLOCK).expect("valid");
        let later = boot_counter + 5 * QEMU_FREQUENCY + 7;
        let since_update = 5 * 1_000_000_000 + 7 * 16;
        let since_zero = u128::from(later) * 16;
        let expect = |clock: FastClock| match clock {
            FastClock::Realtime | FastClock::Tai => exact(WALL_CLOCK, since_update),
            FastClock::RealtimeCoarse => {
                let fine = exact(WALL_CLOCK, since_update);
                Timespec {
                    nanoseconds: fine.nanoseconds - fine.nanoseconds % 4_000_000,
                    ..fine
                }
            }
            FastClock::Monotonic | FastClock::MonotonicRaw | FastClock::Boottime => {
                exact(0, since_zero)
            }
            FastClock::MonotonicCoarse => {
                let fine = exact(0, since_zero);
                Timespec {
                    nanoseconds: fine.nanoseconds - fine.nanoseconds % 4_000_000,
                    ..fine
                }
            }
        };
        for clock in FastClock::ALL {
            assert_eq!(
                state.reading(clock).at(later),
                Some(expect(clock)),
                "{clock:?}"
            );
        }
    }

    #[test]
    fn conversion_matches_exact_arithmetic_across_ranges() {
        for frequency in [19_200_000, 24_000_000, QEMU_FREQUENCY, 33_333_333] {
            let state = ClockState::at_boot(frequency, 0, WALL_CLOCK).expect("valid");
            // One tick, one second, one hour, one day, one year, a century.
            for seconds in [0u64, 1, 3600, 86_400, 31_536_000, 3_153_600_000] {
                for extra in [0u64, 1, frequency - 1] {
                    let ticks = seconds * frequency + extra;
                    let nanoseconds = u128::from(ticks) * 1_000_000_000 / u128::from(frequency);
                    let expected = exact(0, nanoseconds);
                    let got = state
                        .reading(FastClock::Monotonic)
                        .at(ticks)
                        .expect("in range");
                    let difference = (i128::from(got.seconds) * 1_000_000_000
                        + i128::from(got.nanoseconds))
                    .abs_diff(
                        i128::from(expected.seconds) * 1_000_000_000
                            + i128::from(expected.nanoseconds),
                    );
                    assert!(
                        difference <= 1,
                        "{frequency} Hz, {ticks} ticks: {got:?} vs {expected:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn counter_before_the_update_does_not_run_backwards() {
        let state = ClockState::at_boot(QEMU_FREQUENCY, 1000, WALL_CLOCK).expect("valid");
        let at_update = state.reading(FastClock::Monotonic).at(1000);
        assert_eq!(state.reading(FastClock::Monotonic).at(10), at_update);
    }

    #[test]
    fn coarse_clocks_never_exceed_fine_and_have_the_coarse_resolution() {
        let state = ClockState::at_boot(QEMU_FREQUENCY, 77, WALL_CLOCK).expect("valid");
        for counter in (0..2_000_000_000u64).step_by(7_777_777) {
            for (fine, coarse) in [
                (FastClock::Realtime, FastClock::RealtimeCoarse),
                (FastClock::Monotonic, FastClock::MonotonicCoarse),
            ] {
                let fine = state.reading(fine).at(counter).expect("in range");
                let coarse = state.reading(coarse).at(counter).expect("in range");
                assert!(coarse <= fine);
                assert_eq!(coarse.seconds, fine.seconds);
                assert!(fine.nanoseconds - coarse.nanoseconds < 4_000_000);
                assert_eq!(coarse.nanoseconds % 4_000_000, 0);
            }
        }
    }

    #[test]
    fn setting_realtime_moves_realtime_and_tai_only() {
        let state = ClockState::at_boot(QEMU_FREQUENCY, 0, WALL_CLOCK)
            .and_then(|state| state.set_tai_offset(100, 37))
            .expect("valid");
        let now = 10 * QEMU_FREQUENCY;
        let before: Vec<_> = FastClock::ALL
            .iter()
            .map(|&clock| state.reading(clock).at(now))
            .collect();
        let new_time = Timespec {
            seconds: 2_000_000_000,
            nanoseconds: 500,
        };
        let set = state.set_realtime(now, new_time).expect("valid");
        assert_eq!(set.reading(FastClock::Realtime).at(now), Some(new_time));
        assert_eq!(
            set.reading(FastClock::Tai).at(now),
            Some(Timespec {
                seconds: 2_000_000_037,
                nanoseconds: 500
            })
        );
        for (index, clock) in FastClock::ALL.iter().enumerate() {
            if matches!(
                clock.base(),
                ClockBase::Monotonic | ClockBase::MonotonicRaw | ClockBase::Boottime
            ) {
                assert_eq!(set.reading(*clock).at(now), before[index], "{clock:?}");
            }
        }
        // One second later everything has advanced by one second.
        assert_eq!(
            set.reading(FastClock::Realtime).at(now + QEMU_FREQUENCY),
            Some(Timespec {
                seconds: 2_000_000_001,
                nanoseconds: 500
            })
        );
    }

    #[test]
    fn invalid_settings_are_refused() {
        let state = ClockState::at_boot(QEMU_FREQUENCY, 0, WALL_CLOCK).expect("valid");
        for time in [
            Timespec {
                seconds: -1,
                nanoseconds: 0,
            },
            Timespec {
                seconds: 0,
                nanoseconds: -1,
            },
            Timespec {
                seconds: 0,
                nanoseconds: 1_000_000_000,
            },
        ] {
            assert_eq!(state.set_realtime(5, time), Err(TimeError::InvalidTime));
        }
        assert_eq!(state.set_tai_offset(5, -1), Err(TimeError::InvalidTime));
        assert_eq!(
            state.set_adjusted_frequency(5, 0),
            Err(TimeError::InvalidFrequency)
        );
        assert_eq!(
            ClockState::at_boot(0, 0, 0),
            Err(TimeError::InvalidFrequency)
        );
        assert_eq!(ClockState::at_boot(1, 0, -5), Err(TimeError::InvalidTime));
    }

    #[test]
    fn rate_adjustment_leaves_monotonic_raw_alone() {
        let state = ClockState::at_boot(QEMU_FREQUENCY, 0, WALL_CLOCK).expect("valid");
        // Pretend the counter runs 0.1% fast: the adjusted clocks slow down by as much.
        let adjusted = state
            .set_adjusted_frequency(QEMU_FREQUENCY, QEMU_FREQUENCY + 62_500)
            .expect("valid");
        let later = QEMU_FREQUENCY + QEMU_FREQUENCY + 62_500;
        let monotonic = adjusted
            .reading(FastClock::Monotonic)
            .at(later)
            .expect("in range");
        let raw = adjusted
            .reading(FastClock::MonotonicRaw)
            .at(later)
            .expect("in range");
        let total = |time: Timespec| {
            i128::from(time.seconds) * 1_000_000_000 + i128::from(time.nanoseconds)
        };
        // 62_562_500 ticks at the adjusted 62.5625 MHz are one second (to within 1 ns)...
        assert!(
            total(monotonic).abs_diff(2_000_000_000) <= 1,
            "{monotonic:?}"
        );
        // ...and 1.001 s at the nominal 16 ns per tick.
        assert_eq!(
            raw,
            Timespec {
                seconds: 2,
                nanoseconds: 1_000_000
            }
        );
    }

    #[test]
    fn corrupt_readings_are_refused() {
        let state = ClockState::at_boot(QEMU_FREQUENCY, 0, WALL_CLOCK).expect("valid");
        let mut reading = state.reading(FastClock::Realtime);
        reading.base.nanoseconds = 1_000_000_000;
        assert_eq!(reading.at(5), None);
        reading.base.nanoseconds = -1;
        assert_eq!(reading.at(5), None);
        reading.base = Timespec {
            seconds: i64::MAX,
            nanoseconds: 999_999_999,
        };
        assert_eq!(reading.at(QEMU_FREQUENCY), None);
    }

    #[test]
    fn linux_settod_bounds_and_the_monotonic_floor() {
        // Ten seconds after boot: realtime may be set to anything from the monotonic time on.
        let now = 10 * QEMU_FREQUENCY;
        let state = ClockState::at_boot(QEMU_FREQUENCY, 0, WALL_CLOCK).expect("valid");
        let at = |seconds, nanoseconds| Timespec {
            seconds,
            nanoseconds,
        };
        assert_eq!(
            state.set_realtime(now, at(9, 999_999_999)),
            Err(TimeError::InvalidTime)
        );
        let floor = state
            .set_realtime(now, at(10, 0))
            .expect("monotonic itself");
        assert_eq!(floor.reading(FastClock::Realtime).at(now), Some(at(10, 0)));
        assert!(state
            .set_realtime(now, at(SETTABLE_SECONDS_LIMIT - 1, 999_999_999))
            .is_ok());
        assert_eq!(
            state.set_realtime(now, at(SETTABLE_SECONDS_LIMIT, 0)),
            Err(TimeError::InvalidTime)
        );
        assert_eq!(SETTABLE_SECONDS_LIMIT, 8_277_292_036);
        assert!(!settable(at(i64::MIN, 0)));
        assert!(settable(at(0, 0)));
    }

    #[test]
    fn timezones_are_stored_and_the_first_one_alone_warps_realtime() {
        let now = 10 * QEMU_FREQUENCY;
        let state = ClockState::at_boot(QEMU_FREQUENCY, 0, WALL_CLOCK).expect("valid");
        let zone = |minutes_west| Timezone {
            minutes_west,
            dst_time: 0,
        };
        let realtime = |state: &ClockState| state.reading(FastClock::Realtime).at(now);
        let kept = state
            .set_timezone(now, zone(-60), TimezoneWarp::Keep)
            .expect("in range");
        assert_eq!(kept.timezone, zone(-60));
        assert_eq!(realtime(&kept), realtime(&state));
        // An RTC in local time one hour east of UTC ran an hour ahead: go back an hour.
        let warped = state
            .set_timezone(now, zone(-60), TimezoneWarp::Warp)
            .expect("in range");
        assert_eq!(warped.timezone, zone(-60));
        assert_eq!(
            realtime(&warped),
            Some(Timespec {
                seconds: WALL_CLOCK + 10 - 3600,
                nanoseconds: 0
            })
        );
        assert_eq!(
            warped.reading(FastClock::Monotonic).at(now),
            state.reading(FastClock::Monotonic).at(now)
        );
        for minutes_west in [15 * 60 + 1, -15 * 60 - 1, i32::MIN, i32::MAX] {
            assert_eq!(
                state.set_timezone(now, zone(minutes_west), TimezoneWarp::Keep),
                Err(TimeError::InvalidTime)
            );
        }
        assert!(state
            .set_timezone(now, zone(-15 * 60), TimezoneWarp::Keep)
            .is_ok());
        // A warp that would take realtime below the monotonic clock is skipped.
        let early = ClockState::at_boot(QEMU_FREQUENCY, 0, 100).expect("valid");
        let unwarped = early
            .set_timezone(now, zone(-600), TimezoneWarp::Warp)
            .expect("zone still stored");
        assert_eq!(unwarped.timezone, zone(-600));
        assert_eq!(realtime(&unwarped), realtime(&early));
    }
}
