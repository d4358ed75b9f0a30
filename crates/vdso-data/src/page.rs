//! The data page itself and the sequence-counter protocol between its one writer (the root
//! task) and its readers (the vDSO in every process, and the root task's own syscalls).
//!
//! # Protocol
//! Every field is an atomic, so the page is valid for any bit pattern (a zeroed frame is an
//! unpublished page) and concurrent reads and writes are not data races.
//!
//! Writer ([`VvarPage::publish`]), single-threaded (one writer at a time is the caller's
//! responsibility; the root task is the only one that maps the page writable):
//! 1. `s = sequence` (even). Store `s | 1` (odd: "writing"), relaxed, then a release fence,
//!    so no reader can see a field store without also seeing the odd value when it rechecks.
//! 2. Store the fields, relaxed.
//! 3. Store the next even value, `(s | 1) + 1`, skipping 0, with release ordering, so a
//!    reader that acquires it sees every field store.
//!
//! Reader ([`VvarPage::read_clock`]):
//! 1. `s1 = sequence`, acquire. If `s1` is 0 (never published) or odd (being written),
//!    give up.
//! 2. Load the fields it needs, relaxed, and read the counter.
//! 3. Acquire fence, then `s2 = sequence`, relaxed. If `s2 != s1`, a write overlapped; give
//!    up. Otherwise the loaded fields are one consistent publication.
//!
//! "Give up" means: make the real syscall. The writer runs at user level and can be preempted
//! mid-update, so spinning could wait a whole timeslice. 0 is skipped on wrap so a published
//! page never looks unpublished; a reader would need to sleep through 2^31 updates between
//! its two sequence loads to be fooled by the wrap.

use core::sync::atomic::{fence, AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};

use crate::clock::{FastClock, Timespec, Timezone};
use crate::conversion::Conversion;
use crate::state::{ClockReading, ClockState};
use crate::ClockBase;

/// Size of the page the layout must fit in.
pub const PAGE_SIZE: usize = 4096;
/// `magic`: "vvar" in little-endian byte order, stored by every publish.
pub const MAGIC: u32 = u32::from_le_bytes(*b"vvar");
/// Bumped whenever the layout below changes.
pub const LAYOUT_VERSION: u32 = 1;

/// One clock base at the last update: its time and the conversion that advances it. Each
/// base carries its own conversion so a reader finds everything it needs in one 32-byte
/// slot, at an offset computed from the clock id.
#[repr(C)]
#[derive(Debug, Default)]
struct BaseTime {
    seconds: AtomicI64,
    nanoseconds: AtomicU64,
    multiplier: AtomicU64,
    shift: AtomicU32,
    reserved: AtomicU32,
}

/// The vvar page. The root task maps it read-only and non-executable directly below the
/// vDSO text in every process; the vDSO reaches it PC-relatively.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VvarPage {
    sequence: AtomicU32,
    magic: AtomicU32,
    layout_version: AtomicU32,
    timezone_minutes_west: AtomicI32,
    timezone_dst_time: AtomicI32,
    reserved: AtomicU32,
    /// CNTFRQ_EL0, for information.
    counter_frequency: AtomicU64,
    counter_at_update: AtomicU64,
    /// Indexed by [`ClockBase`] in declaration order.
    bases: [BaseTime; 5],
}

const _: () = assert!(core::mem::size_of::<VvarPage>() <= PAGE_SIZE);

impl VvarPage {
    /// Reads `clock` at the counter value `read_counter` returns, under the sequence counter.
    /// `read_counter` runs between the two sequence loads so the counter value is no older
    /// than the parameters it is combined with.
    ///
    /// `None` means "take the syscall": the page is unpublished, being written, was written
    /// during the read, or holds values that cannot be converted.
    #[inline(always)]
    pub fn read_clock(
        &self,
        clock: FastClock,
        read_counter: impl FnOnce() -> u64,
    ) -> Option<Timespec> {
        let sequence = self.sequence.load(Ordering::Acquire);
        if sequence == 0 || sequence & 1 != 0 {
            return None;
        }
        let base = self.bases.get(base_index(clock.base()))?;
        let reading = ClockReading {
            counter_at_update: self.counter_at_update.load(Ordering::Relaxed),
            conversion: Conversion {
                multiplier: base.multiplier.load(Ordering::Relaxed),
                shift: base.shift.load(Ordering::Relaxed),
            },
            base: Timespec {
                seconds: base.seconds.load(Ordering::Relaxed),
                // Out-of-range values (never published) are refused by `at`.
                nanoseconds: i64::try_from(base.nanoseconds.load(Ordering::Relaxed)).unwrap_or(-1),
            },
            precision: clock.precision(),
        };
        let counter = read_counter();
        fence(Ordering::Acquire);
        if self.sequence.load(Ordering::Relaxed) != sequence {
            return None;
        }
        reading.at(counter)
    }

    /// The timezone settimeofday stored, under the sequence counter; `None` as for
    /// [`VvarPage::read_clock`].
    #[inline(always)]
    pub fn read_timezone(&self) -> Option<Timezone> {
        let sequence = self.sequence.load(Ordering::Acquire);
        if sequence == 0 || sequence & 1 != 0 {
            return None;
        }
        let timezone = Timezone {
            minutes_west: self.timezone_minutes_west.load(Ordering::Relaxed),
            dst_time: self.timezone_dst_time.load(Ordering::Relaxed),
        };
        fence(Ordering::Acquire);
        (self.sequence.load(Ordering::Relaxed) == sequence).then_some(timezone)
    }

    /// Whether a publication is complete and carries this layout's magic and version
    /// (a diagnostic for the root task and debuggers; readers rely on the sequence alone).
    pub fn is_published(&self) -> bool {
        let sequence = self.sequence.load(Ordering::Acquire);
        sequence != 0
            && sequence & 1 == 0
            && self.magic.load(Ordering::Relaxed) == MAGIC
            && self.layout_version.load(Ordering::Relaxed) == LAYOUT_VERSION
    }

    /// The sequence counter's current value (odd while a publish is in progress).
    pub fn sequence(&self) -> u32 {
        self.sequence.load(Ordering::Acquire)
    }

    /// Publishes `state` with the writer protocol in the module documentation. Only one
    /// thread may publish at a time.
    pub fn publish(&self, state: &ClockState) {
        let writing = self.begin_update();
        self.magic.store(MAGIC, Ordering::Relaxed);
        self.layout_version.store(LAYOUT_VERSION, Ordering::Relaxed);
        self.timezone_minutes_west
            .store(state.timezone.minutes_west, Ordering::Relaxed);
        self.timezone_dst_time
            .store(state.timezone.dst_time, Ordering::Relaxed);
        self.counter_frequency
            .store(state.counter_frequency, Ordering::Relaxed);
        self.counter_at_update
            .store(state.counter_at_update, Ordering::Relaxed);
        for base in [
            ClockBase::Realtime,
            ClockBase::Monotonic,
            ClockBase::MonotonicRaw,
            ClockBase::Boottime,
            ClockBase::Tai,
        ] {
            let Some(slot) = self.bases.get(base_index(base)) else {
                continue;
            };
            let (time, conversion) = state.base(base);
            slot.seconds.store(time.seconds, Ordering::Relaxed);
            // ClockState keeps nanoseconds in 0..10^9; a negative value would be stored as a
            // huge one, which readers refuse.
            slot.nanoseconds
                .store(time.nanoseconds as u64, Ordering::Relaxed);
            slot.multiplier
                .store(conversion.multiplier, Ordering::Relaxed);
            slot.shift.store(conversion.shift, Ordering::Relaxed);
        }
        self.end_update(writing);
    }

    /// Step 1 of the writer protocol; returns the odd value stored.
    fn begin_update(&self) -> u32 {
        let writing = self.sequence.load(Ordering::Relaxed) | 1;
        self.sequence.store(writing, Ordering::Relaxed);
        fence(Ordering::Release);
        writing
    }

    /// Step 3 of the writer protocol.
    fn end_update(&self, writing: u32) {
        let published = match writing.wrapping_add(1) {
            0 => 2,
            next => next,
        };
        self.sequence.store(published, Ordering::Release);
    }
}

/// Position of a base in `VvarPage::bases`.
const fn base_index(base: ClockBase) -> usize {
    match base {
        ClockBase::Realtime => 0,
        ClockBase::Monotonic => 1,
        ClockBase::MonotonicRaw => 2,
        ClockBase::Boottime => 3,
        ClockBase::Tai => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    const QEMU_FREQUENCY: u64 = 62_500_000;

    fn published_page() -> (VvarPage, ClockState) {
        let page = VvarPage::default();
        let state = ClockState::at_boot(QEMU_FREQUENCY, 1_000, 1_700_000_000)
            .and_then(|state| state.set_tai_offset(2_000, 37))
            .map(|state| {
                state.with_timezone(Timezone {
                    minutes_west: -60,
                    dst_time: 1,
                })
            })
            .expect("valid");
        page.publish(&state);
        (page, state)
    }

    #[test]
    fn page_reads_agree_with_the_state_for_every_clock() {
        let (page, state) = published_page();
        assert!(page.is_published());
        for counter in [0, 2_000, 2_001, QEMU_FREQUENCY * 3600 + 5, u64::MAX / 1024] {
            for clock in FastClock::ALL {
                assert_eq!(
                    page.read_clock(clock, || counter),
                    state.reading(clock).at(counter),
                    "{clock:?} at {counter}"
                );
                assert!(page.read_clock(clock, || counter).is_some());
            }
        }
        assert_eq!(
            page.read_timezone(),
            Some(Timezone {
                minutes_west: -60,
                dst_time: 1
            })
        );
    }

    #[test]
    fn unpublished_page_sends_readers_to_the_syscall() {
        let page = VvarPage::default();
        assert!(!page.is_published());
        assert_eq!(page.read_clock(FastClock::Realtime, || 5), None);
        assert_eq!(page.read_timezone(), None);
    }

    #[test]
    fn odd_sequence_sends_readers_to_the_syscall() {
        let (page, _) = published_page();
        let writing = page.begin_update();
        assert_eq!(writing & 1, 1);
        assert_eq!(page.read_clock(FastClock::Monotonic, || 5), None);
        assert_eq!(page.read_timezone(), None);
        page.end_update(writing);
        assert!(page.read_clock(FastClock::Monotonic, || 5).is_some());
    }

    #[test]
    fn a_write_during_the_read_sends_the_reader_to_the_syscall() {
        let (page, state) = published_page();
        // The counter read happens between the two sequence loads: publish from inside it.
        let newer = state
            .set_realtime(
                3_000,
                Timespec {
                    seconds: 5,
                    nanoseconds: 0,
                },
            )
            .expect("valid");
        assert_eq!(
            page.read_clock(FastClock::Realtime, || {
                page.publish(&newer);
                3_000
            }),
            None
        );
        assert_eq!(
            page.read_clock(FastClock::Realtime, || 3_000),
            Some(Timespec {
                seconds: 5,
                nanoseconds: 0
            })
        );
    }

    #[test]
    fn sequence_stays_even_nonzero_and_changes_across_wrap() {
        let (page, state) = published_page();
        page.sequence.store(u32::MAX - 1, Ordering::Relaxed);
        page.publish(&state);
        assert_eq!(page.sequence(), 2);
        page.publish(&state);
        assert_eq!(page.sequence(), 4);
        // A writer that died mid-update left an odd value; the next publish recovers.
        page.sequence.store(7, Ordering::Relaxed);
        page.publish(&state);
        assert_eq!(page.sequence(), 8);
        assert!(page.read_clock(FastClock::Tai, || 1).is_some());
    }

    #[test]
    fn corrupt_page_values_are_refused_not_trusted() {
        let (page, _) = published_page();
        page.bases[1].nanoseconds.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(page.read_clock(FastClock::Monotonic, || 5), None);
        page.bases[0].shift.store(500, Ordering::Relaxed);
        assert_eq!(page.read_clock(FastClock::Realtime, || 5), None);
        // Other bases have their own conversion and time.
        assert!(page.read_clock(FastClock::MonotonicRaw, || 5).is_some());
    }

    /// The layout is an ABI between separately built images (the vDSO and the root task);
    /// pin it so a change is deliberate and bumps LAYOUT_VERSION.
    #[test]
    fn layout_is_stable() {
        assert_eq!(offset_of!(VvarPage, sequence), 0);
        assert_eq!(offset_of!(VvarPage, magic), 4);
        assert_eq!(offset_of!(VvarPage, counter_frequency), 24);
        assert_eq!(offset_of!(VvarPage, counter_at_update), 32);
        assert_eq!(offset_of!(VvarPage, bases), 40);
        assert_eq!(core::mem::size_of::<BaseTime>(), 32);
        assert_eq!(offset_of!(BaseTime, multiplier), 16);
        assert_eq!(offset_of!(BaseTime, shift), 24);
        assert_eq!(core::mem::size_of::<VvarPage>(), 200);
        assert_eq!(LAYOUT_VERSION, 1);
        assert_eq!(&MAGIC.to_le_bytes(), b"vvar");
    }
}
