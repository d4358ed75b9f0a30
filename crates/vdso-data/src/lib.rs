//! The vDSO data page ("vvar"): the layout shared by the vDSO (reader) and the root task
//! (writer), the sequence-counter protocol between them, and the pure arithmetic that turns
//! a CNTVCT_EL0 reading into the time of each clock.
//!
//! Model: the generic-timer counter runs freely from boot and is never reset. The page holds,
//! for the last update, the counter value and each clock base's time at that value, plus the
//! multiplier and shift that turn counter ticks into nanoseconds. A reader computes
//! `base + ((counter - counter_at_update) * multiplier) >> shift`. Because the product is
//! taken in 128 bits the page never has to be refreshed to avoid overflow: it changes only
//! when the time is set or the rate is adjusted (see [`conversion`] for the bounds).
//!
//! Both the vDSO fast path and the root task's `clock_gettime` syscall read the time through
//! [`VvarPage::read_clock`], so the two agree by construction.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod conversion;
pub mod page;
pub mod state;

pub use clock::{
    resolution, ClockBase, ClockClass, FastClock, Precision, Timespec, Timeval, Timezone,
    COARSE_RESOLUTION_NANOSECONDS, EFAULT, EINVAL,
};
pub use conversion::{Conversion, NANOSECONDS_PER_SECOND};
pub use page::{VvarPage, LAYOUT_VERSION, MAGIC, PAGE_SIZE};
pub use state::{
    settable, ClockReading, ClockState, TimeError, TimezoneWarp, MAX_TIMEZONE_MINUTES,
    SETTABLE_SECONDS_LIMIT,
};
