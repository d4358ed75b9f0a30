//! The process server's deadline queue: one pending deadline per key (a sleeping thread, a
//! process's `ITIMER_REAL`, a wait's timeout), the earliest first, in ticks of the
//! generic timer's counter; and the tick/nanosecond conversions the callers need.

use alloc::collections::{BTreeMap, BTreeSet};

/// Nanoseconds in a second.
pub const NANOSECONDS_PER_SECOND: u64 = 1_000_000_000;

/// Deadlines by key: arming a key again replaces its deadline.
#[derive(Clone, Debug, Default)]
pub struct TimerQueue<K: Ord + Copy> {
    /// (deadline, key), earliest first; keys break ties.
    by_deadline: BTreeSet<(u64, K)>,
    by_key: BTreeMap<K, u64>,
}

impl<K: Ord + Copy> TimerQueue<K> {
    /// An empty queue.
    #[must_use]
    pub fn new() -> TimerQueue<K> {
        TimerQueue {
            by_deadline: BTreeSet::new(),
            by_key: BTreeMap::new(),
        }
    }

    /// Arms `key` to expire at `deadline`, replacing its earlier deadline if it had one.
    pub fn arm(&mut self, key: K, deadline: u64) {
        if let Some(old) = self.by_key.insert(key, deadline) {
            self.by_deadline.remove(&(old, key));
        }
        self.by_deadline.insert((deadline, key));
    }

    /// Disarms `key`; its deadline if it was armed.
    pub fn cancel(&mut self, key: K) -> Option<u64> {
        let deadline = self.by_key.remove(&key)?;
        self.by_deadline.remove(&(deadline, key));
        Some(deadline)
    }

    /// The deadline `key` is armed for.
    #[must_use]
    pub fn deadline_of(&self, key: K) -> Option<u64> {
        self.by_key.get(&key).copied()
    }

    /// The earliest deadline, to program the hardware timer with.
    #[must_use]
    pub fn earliest(&self) -> Option<u64> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// Removes and returns the earliest key whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: u64) -> Option<(K, u64)> {
        let &(deadline, key) = self.by_deadline.first()?;
        if deadline > now {
            return None;
        }
        self.by_deadline.remove(&(deadline, key));
        self.by_key.remove(&key);
        Some((key, deadline))
    }

    /// How many keys are armed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether nothing is armed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Counter ticks covering at least `nanoseconds` at `frequency` Hz (rounded up, so a
/// sleep never ends early); saturates at `u64::MAX`.
#[must_use]
pub fn nanoseconds_to_ticks(nanoseconds: u64, frequency: u64) -> u64 {
    let product = u128::from(nanoseconds) * u128::from(frequency);
    let ticks = product.div_ceil(u128::from(NANOSECONDS_PER_SECOND));
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// Nanoseconds in `ticks` at `frequency` Hz (rounded down); 0 for a zero frequency,
/// saturating at `u64::MAX`.
#[must_use]
pub fn ticks_to_nanoseconds(ticks: u64, frequency: u64) -> u64 {
    if frequency == 0 {
        return 0;
    }
    let nanoseconds =
        u128::from(ticks) * u128::from(NANOSECONDS_PER_SECOND) / u128::from(frequency);
    u64::try_from(nanoseconds).unwrap_or(u64::MAX)
}

/// A `struct timespec` a sleep or timer accepts as a duration: seconds not negative and
/// nanoseconds in `0..1e9`. Returns the total nanoseconds (saturating), or `None`
/// (`EINVAL`).
#[must_use]
pub fn duration_nanoseconds(seconds: i64, nanoseconds: i64) -> Option<u64> {
    if seconds < 0 || !(0..NANOSECONDS_PER_SECOND as i64).contains(&nanoseconds) {
        return None;
    }
    Some(
        (seconds as u64)
            .saturating_mul(NANOSECONDS_PER_SECOND)
            .saturating_add(nanoseconds as u64),
    )
}

/// Splits nanoseconds into (seconds, nanoseconds).
#[must_use]
pub const fn split_nanoseconds(nanoseconds: u64) -> (u64, u64) {
    (
        nanoseconds / NANOSECONDS_PER_SECOND,
        nanoseconds % NANOSECONDS_PER_SECOND,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_rearm_replaces() {
        let mut queue = TimerQueue::new();
        queue.arm(1u32, 300);
        queue.arm(2, 100);
        queue.arm(3, 200);
        assert_eq!(queue.earliest(), Some(100));
        queue.arm(2, 400);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.earliest(), Some(200));
        assert_eq!(queue.deadline_of(2), Some(400));
        assert_eq!(queue.pop_expired(250), Some((3, 200)));
        assert_eq!(queue.pop_expired(250), None);
        assert_eq!(queue.pop_expired(1000), Some((1, 300)));
        assert_eq!(queue.pop_expired(1000), Some((2, 400)));
        assert!(queue.is_empty());
        assert_eq!(queue.earliest(), None);
    }

    #[test]
    fn equal_deadlines_all_expire() {
        let mut queue = TimerQueue::new();
        queue.arm(5u32, 10);
        queue.arm(4, 10);
        assert_eq!(queue.pop_expired(10), Some((4, 10)));
        assert_eq!(queue.pop_expired(10), Some((5, 10)));
        assert_eq!(queue.pop_expired(10), None);
    }

    #[test]
    fn cancel_removes_only_that_key() {
        let mut queue = TimerQueue::new();
        queue.arm(1u32, 10);
        queue.arm(2, 20);
        assert_eq!(queue.cancel(1), Some(10));
        assert_eq!(queue.cancel(1), None);
        assert_eq!(queue.earliest(), Some(20));
        assert_eq!(queue.pop_expired(15), None);
        assert_eq!(queue.pop_expired(20), Some((2, 20)));
    }

    #[test]
    fn conversions_round_so_sleeps_never_end_early() {
        // 62.5 MHz: 16 ns per tick.
        assert_eq!(nanoseconds_to_ticks(16, 62_500_000), 1);
        assert_eq!(nanoseconds_to_ticks(17, 62_500_000), 2);
        assert_eq!(nanoseconds_to_ticks(1_000_000, 62_500_000), 62_500);
        assert_eq!(ticks_to_nanoseconds(62_500, 62_500_000), 1_000_000);
        assert_eq!(ticks_to_nanoseconds(1, 0), 0);
        assert_eq!(nanoseconds_to_ticks(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(ticks_to_nanoseconds(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn durations_validated_as_linux_does() {
        assert_eq!(duration_nanoseconds(0, 0), Some(0));
        assert_eq!(duration_nanoseconds(1, 5), Some(1_000_000_005));
        assert_eq!(duration_nanoseconds(0, 1_000_000_000), None);
        assert_eq!(duration_nanoseconds(0, -1), None);
        assert_eq!(duration_nanoseconds(-1, 0), None);
        assert_eq!(duration_nanoseconds(i64::MAX, 999_999_999), Some(u64::MAX));
        assert_eq!(split_nanoseconds(2_500_000_000), (2, 500_000_000));
    }
}
