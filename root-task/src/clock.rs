//! The system clocks: the vvar data page the vDSO reads, its writer copy, the boot-time
//! wall clock from QEMU virt's PL031, and the syscall path's readings (computed from the
//! same state with the same arithmetic, so a vDSO and a syscall reading agree).

use crate::frames::FrameId;
use crate::objects::Objects;
use vdso_data::{
    ClockClass, ClockState, FastClock, TimeError, Timespec, Timezone, TimezoneWarp, VvarPage,
};

/// Where the RTC's page is mapped in the root task (once, at boot).
const RTC_WINDOW: u64 = 0x20_0000_0000;

/// The clocks.
#[derive(Debug)]
pub struct Clocks {
    state: ClockState,
    page: Option<&'static VvarPage>,
    frame: Option<FrameId>,
    /// Whether settimeofday has stored a timezone since boot (only the first may warp).
    timezone_history: TimezoneHistory,
}

/// Whether a timezone has been set since boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimezoneHistory {
    NeverSet,
    Set,
}

impl Clocks {
    /// Reads CNTFRQ, the counter and the RTC, allocates and publishes the vvar page. A
    /// failure to get the page leaves the clocks working for the syscall path only.
    pub fn start(objects: &mut Objects) -> Clocks {
        let frequency = crate::arch::counter_frequency();
        let wall_seconds = match read_rtc(objects) {
            Ok(seconds) => i64::from(seconds),
            Err(problem) => {
                log::warn!("no wall clock ({problem}); CLOCK_REALTIME starts at 0");
                0
            }
        };
        let counter = crate::arch::counter();
        let state = ClockState::at_boot(frequency, counter, wall_seconds).unwrap_or_else(|error| {
            log::warn!("clock state at boot: {error:?}; using 62.5 MHz");
            ClockState::at_boot(62_500_000, counter, 0).unwrap_or_else(|_| fallback_state())
        });
        let (frame, page) = match objects.allocate_frame() {
            // SAFETY: VvarPage is made of atomics (valid for any bit pattern, safe to share),
            // fits in a page with 8-byte alignment, and this frame is never freed.
            Ok(frame) => (Some(frame), unsafe {
                objects.frames.view::<VvarPage>(frame)
            }),
            Err(error) => {
                log::warn!("no vvar page: {error:?}");
                (None, None)
            }
        };
        if let Some(page) = page {
            page.publish(&state);
        }
        Clocks {
            state,
            page,
            frame,
            timezone_history: TimezoneHistory::NeverSet,
        }
    }

    /// The counter frequency in Hz (CNTFRQ_EL0).
    pub fn frequency(&self) -> u64 {
        self.state.counter_frequency
    }

    /// The vvar frame, to map read-only into processes.
    pub fn vvar_frame(&self) -> Option<FrameId> {
        self.frame
    }

    /// `clock_gettime` on the syscall path; `None` for an id Linux rejects (EINVAL).
    pub fn now(&self, clock_id: i32) -> Option<Timespec> {
        let clock = match ClockClass::of(clock_id) {
            ClockClass::Fast(clock) => clock,
            // The alarm clocks read as the clocks they wake on; the CPU-time clocks are
            // served by the accounting (linux::usage) before this is asked.
            ClockClass::Syscall => match clock_id {
                vdso_data::clock::CLOCK_REALTIME_ALARM => FastClock::Realtime,
                vdso_data::clock::CLOCK_BOOTTIME_ALARM => FastClock::Boottime,
                _ => return None,
            },
            ClockClass::Invalid => return None,
        };
        self.state.reading(clock).at(crate::arch::counter())
    }

    /// `clock_getres`; `None` for an id Linux rejects.
    pub fn resolution(&self, clock_id: i32) -> Option<Timespec> {
        match ClockClass::of(clock_id) {
            ClockClass::Fast(clock) => Some(vdso_data::resolution(clock)),
            ClockClass::Syscall => Some(Timespec {
                seconds: 0,
                nanoseconds: 1,
            }),
            ClockClass::Invalid => None,
        }
    }

    /// clock_settime(CLOCK_REALTIME): realtime and TAI jump to `time` (TAI keeping its
    /// offset), published under the page's sequence counter so the vDSO and the syscall
    /// path see the new time together.
    ///
    /// # Errors
    /// [`TimeError::InvalidTime`] where Linux returns EINVAL (see
    /// [`ClockState::set_realtime`]), [`TimeError::Overflow`].
    pub fn set_realtime(&mut self, time: Timespec) -> Result<(), TimeError> {
        let state = self.state.set_realtime(crate::arch::counter(), time)?;
        self.publish(state);
        Ok(())
    }

    /// settimeofday's timezone; `time_follows` says whether the same call also sets the
    /// time (then the first zone does not warp realtime, see [`ClockState::set_timezone`]).
    ///
    /// # Errors
    /// [`TimeError::InvalidTime`] for a zone more than 15 hours from UTC.
    pub fn set_timezone(
        &mut self,
        timezone: Timezone,
        time_follows: TimeFollows,
    ) -> Result<(), TimeError> {
        let warp = match (self.timezone_history, time_follows) {
            (TimezoneHistory::NeverSet, TimeFollows::No) => TimezoneWarp::Warp,
            _ => TimezoneWarp::Keep,
        };
        let state = self
            .state
            .set_timezone(crate::arch::counter(), timezone, warp)?;
        self.timezone_history = TimezoneHistory::Set;
        self.publish(state);
        Ok(())
    }

    /// The timezone gettimeofday reports (what settimeofday stored; zero until then).
    pub fn timezone(&self) -> Timezone {
        self.state.timezone
    }

    /// Makes `state` current, for the syscall path and (under the sequence counter) the
    /// vDSO.
    fn publish(&mut self, state: ClockState) {
        self.state = state;
        if let Some(page) = self.page {
            page.publish(&self.state);
        }
    }

    /// Whether the vvar page is published.
    pub fn published(&self) -> bool {
        self.page.is_some_and(VvarPage::is_published)
    }
}

/// Whether a settimeofday call sets the time as well as the timezone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFollows {
    Yes,
    No,
}

fn fallback_state() -> ClockState {
    let conversion = vdso_data::Conversion {
        multiplier: 0,
        shift: 0,
    };
    ClockState {
        counter_frequency: 0,
        counter_at_update: 0,
        adjusted: conversion,
        raw: conversion,
        realtime: Timespec::default(),
        monotonic: Timespec::default(),
        monotonic_raw: Timespec::default(),
        boottime: Timespec::default(),
        tai: Timespec::default(),
        tai_offset_seconds: 0,
        timezone: vdso_data::Timezone::default(),
    }
}

/// Reads the PL031's seconds: maps its page uncached into the root task (see
/// [`crate::device::map_device_page`]) and reads the data register.
fn read_rtc(objects: &mut Objects) -> Result<u32, &'static str> {
    crate::device::map_device_page(objects, crate::plat::PL031_BASE, RTC_WINDOW)?;
    let register = (RTC_WINDOW as usize + crate::plat::PL031_DATA_OFFSET) as *const u32;
    // SAFETY: the PL031's page is mapped (uncached device memory) at RTC_WINDOW just above;
    // RTCDR is a 32-bit read-only register with no read side effects.
    Ok(unsafe { core::ptr::read_volatile(register) })
}
