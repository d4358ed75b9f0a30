//! The system clocks: the vvar data page the vDSO reads, its writer copy, the boot-time
//! wall clock from QEMU virt's PL031, and the syscall path's readings (computed from the
//! same state with the same arithmetic, so a vDSO and a syscall reading agree).

use crate::frames::FrameId;
use crate::objects::Objects;
use vdso_data::{ClockClass, ClockState, FastClock, Timespec, VvarPage};

/// Where the RTC's page is mapped in the root task (once, at boot).
const RTC_WINDOW: u64 = 0x20_0000_0000;

/// The clocks.
#[derive(Debug)]
pub struct Clocks {
    state: ClockState,
    page: Option<&'static VvarPage>,
    frame: Option<FrameId>,
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
        Clocks { state, page, frame }
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
            // CPU-time clocks: time since boot stands in until accounting exists.
            ClockClass::Syscall => FastClock::Monotonic,
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

    /// Whether the vvar page is published.
    pub fn published(&self) -> bool {
        self.page.is_some_and(VvarPage::is_published)
    }
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
