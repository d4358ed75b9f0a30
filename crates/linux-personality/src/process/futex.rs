//! Futex operations: decoding `futex(2)` arguments as Linux does and keeping the wait
//! queues (FIFO per key) whose waiters the server parks and resumes. Reading and
//! comparing the futex word, and timers, are the caller's.

use crate::errno::Errno;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

/// Wait while `*uaddr == val` (relative timeout).
pub const FUTEX_WAIT: u32 = 0;
/// Wake up to `val` waiters.
pub const FUTEX_WAKE: u32 = 1;
/// Removed from Linux (2.6.26); `ENOSYS`.
pub const FUTEX_FD: u32 = 2;
/// Wake `val`, move up to `val2` to `uaddr2`.
pub const FUTEX_REQUEUE: u32 = 3;
/// As `FUTEX_REQUEUE` if `*uaddr == val3`.
pub const FUTEX_CMP_REQUEUE: u32 = 4;
/// Not supported here (`ENOSYS`).
pub const FUTEX_WAKE_OP: u32 = 5;
/// Not supported here (`ENOSYS`).
pub const FUTEX_LOCK_PI: u32 = 6;
/// Not supported here (`ENOSYS`).
pub const FUTEX_UNLOCK_PI: u32 = 7;
/// Not supported here (`ENOSYS`).
pub const FUTEX_TRYLOCK_PI: u32 = 8;
/// Wait with a bitset and an absolute timeout.
pub const FUTEX_WAIT_BITSET: u32 = 9;
/// Wake waiters whose bitset intersects `val3`.
pub const FUTEX_WAKE_BITSET: u32 = 10;
/// Not supported here (`ENOSYS`).
pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
/// Not supported here (`ENOSYS`).
pub const FUTEX_CMP_REQUEUE_PI: u32 = 12;
/// Not supported here (`ENOSYS`).
pub const FUTEX_LOCK_PI2: u32 = 13;
/// The futex is private to the address space.
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
/// Measure the timeout against `CLOCK_REALTIME`.
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// A bitset matching every waiter.
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// The raw `futex` arguments (`x0`..`x5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutexArguments {
    /// `uaddr`.
    pub address: u64,
    /// `futex_op`.
    pub operation: u64,
    /// `val`.
    pub value: u64,
    /// `timeout`, or `val2` for the requeue operations.
    pub timeout_or_value2: u64,
    /// `uaddr2`.
    pub address2: u64,
    /// `val3`.
    pub value3: u64,
}

/// Whether the futex is private to an address space or may be shared between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexScope {
    /// `FUTEX_PRIVATE_FLAG`: key by (address space, address).
    Private,
    /// Key by the backing object for shared mappings (the caller resolves it).
    Shared,
}

/// The clock a timeout is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexClock {
    /// `CLOCK_MONOTONIC`.
    Monotonic,
    /// `CLOCK_REALTIME` (`FUTEX_CLOCK_REALTIME`).
    Realtime,
}

/// A wait's timeout, still in user memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexTimeout {
    /// No timeout (NULL pointer).
    Never,
    /// A relative `struct timespec` at this address (`FUTEX_WAIT`).
    Relative {
        /// Address of the `timespec`.
        timespec_address: u64,
        /// Its clock.
        clock: FutexClock,
    },
    /// An absolute `struct timespec` at this address (`FUTEX_WAIT_BITSET`).
    Absolute {
        /// Address of the `timespec`.
        timespec_address: u64,
        /// Its clock.
        clock: FutexClock,
    },
}

/// A decoded futex operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexCommand {
    /// Park the caller on `address` if the word there still equals `expected` (else
    /// `EAGAIN`), until woken, timed out (`ETIMEDOUT`) or interrupted (`EINTR`).
    Wait {
        /// `uaddr`.
        address: u64,
        /// `val`.
        expected: u32,
        /// The timeout.
        timeout: FutexTimeout,
        /// Nonzero bitset (`FUTEX_BITSET_MATCH_ANY` for `FUTEX_WAIT`).
        bitset: u32,
    },
    /// Wake up to `count` waiters whose bitset intersects `bitset`; returns the number
    /// woken.
    Wake {
        /// `uaddr`.
        address: u64,
        /// At least 1: Linux wakes one waiter for `val` 0 or above `INT_MAX`.
        count: u32,
        /// Nonzero bitset.
        bitset: u32,
    },
    /// Wake up to `wake`, then move up to `requeue` to `target`; returns the number
    /// woken plus moved. With `expected`, first compare `*address` (else `EAGAIN`).
    Requeue {
        /// `uaddr`.
        address: u64,
        /// `uaddr2`.
        target: u64,
        /// Waiters to wake.
        wake: u32,
        /// Waiters to move.
        requeue: u32,
        /// `val3` for `FUTEX_CMP_REQUEUE`.
        expected: Option<u32>,
    },
}

/// A decoded `futex` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutexRequest {
    /// What to do.
    pub command: FutexCommand,
    /// Private or shared keying.
    pub scope: FutexScope,
}

/// Decodes `futex` arguments (Linux's `do_futex` checks). Reading the timeout is the
/// caller's next step ([`parse_timespec`]).
///
/// # Errors
/// `ENOSYS` for an unknown or unsupported operation (PI, `WAKE_OP`, `FD`), or
/// `FUTEX_CLOCK_REALTIME` with anything but a wait; `EINVAL` for a misaligned address,
/// a zero bitset, or negative requeue counts.
pub fn decode_futex(arguments: &FutexArguments) -> Result<FutexRequest, Errno> {
    let operation = arguments.operation as u32;
    let command = operation & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let scope = if operation & FUTEX_PRIVATE_FLAG != 0 {
        FutexScope::Private
    } else {
        FutexScope::Shared
    };
    let clock = if operation & FUTEX_CLOCK_REALTIME != 0 {
        if command != FUTEX_WAIT && command != FUTEX_WAIT_BITSET {
            return Err(Errno::ENOSYS);
        }
        FutexClock::Realtime
    } else {
        FutexClock::Monotonic
    };
    let value = arguments.value as u32;
    let value3 = arguments.value3 as u32;
    let timeout_address = arguments.timeout_or_value2;
    let command = match command {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if command == FUTEX_WAIT {
                FUTEX_BITSET_MATCH_ANY
            } else {
                value3
            };
            check_bitset(bitset)?;
            check_alignment(arguments.address)?;
            let timeout = match (timeout_address, command) {
                (0, _) => FutexTimeout::Never,
                (address, FUTEX_WAIT) => FutexTimeout::Relative {
                    timespec_address: address,
                    clock,
                },
                (address, _) => FutexTimeout::Absolute {
                    timespec_address: address,
                    clock,
                },
            };
            FutexCommand::Wait {
                address: arguments.address,
                expected: value,
                timeout,
                bitset,
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if command == FUTEX_WAKE {
                FUTEX_BITSET_MATCH_ANY
            } else {
                value3
            };
            check_bitset(bitset)?;
            check_alignment(arguments.address)?;
            let count = if (value as i32) <= 0 { 1 } else { value };
            FutexCommand::Wake {
                address: arguments.address,
                count,
                bitset,
            }
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let wake = value as i32;
            let requeue = timeout_address as u32 as i32;
            if wake < 0 || requeue < 0 {
                return Err(Errno::EINVAL);
            }
            check_alignment(arguments.address)?;
            check_alignment(arguments.address2)?;
            FutexCommand::Requeue {
                address: arguments.address,
                target: arguments.address2,
                wake: wake.unsigned_abs(),
                requeue: requeue.unsigned_abs(),
                expected: (command == FUTEX_CMP_REQUEUE).then_some(value3),
            }
        }
        _ => return Err(Errno::ENOSYS),
    };
    Ok(FutexRequest { command, scope })
}

/// Linux's name for a futex operation, for logging an unsupported one.
#[must_use]
pub const fn operation_name(operation: u64) -> &'static str {
    match (operation as u32) & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) {
        FUTEX_WAIT => "FUTEX_WAIT",
        FUTEX_WAKE => "FUTEX_WAKE",
        FUTEX_FD => "FUTEX_FD",
        FUTEX_REQUEUE => "FUTEX_REQUEUE",
        FUTEX_CMP_REQUEUE => "FUTEX_CMP_REQUEUE",
        FUTEX_WAKE_OP => "FUTEX_WAKE_OP",
        FUTEX_LOCK_PI => "FUTEX_LOCK_PI",
        FUTEX_UNLOCK_PI => "FUTEX_UNLOCK_PI",
        FUTEX_TRYLOCK_PI => "FUTEX_TRYLOCK_PI",
        FUTEX_WAIT_BITSET => "FUTEX_WAIT_BITSET",
        FUTEX_WAKE_BITSET => "FUTEX_WAKE_BITSET",
        FUTEX_WAIT_REQUEUE_PI => "FUTEX_WAIT_REQUEUE_PI",
        FUTEX_CMP_REQUEUE_PI => "FUTEX_CMP_REQUEUE_PI",
        FUTEX_LOCK_PI2 => "FUTEX_LOCK_PI2",
        _ => "unknown",
    }
}

/// A `struct timespec` (16 bytes: `tv_sec` then `tv_nsec`) as a timeout in nanoseconds.
///
/// # Errors
/// `EFAULT` if `bytes` is short; `EINVAL` for a negative `tv_sec` or a `tv_nsec`
/// outside 0..1e9 (Linux's `timespec64_valid`).
pub fn parse_timespec(bytes: &[u8]) -> Result<u128, Errno> {
    let seconds: [u8; 8] = bytes
        .get(0..8)
        .and_then(|slice| slice.try_into().ok())
        .ok_or(Errno::EFAULT)?;
    let nanoseconds: [u8; 8] = bytes
        .get(8..16)
        .and_then(|slice| slice.try_into().ok())
        .ok_or(Errno::EFAULT)?;
    let seconds = i64::from_le_bytes(seconds);
    let nanoseconds = i64::from_le_bytes(nanoseconds);
    if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    Ok(u128::from(seconds.unsigned_abs()) * 1_000_000_000 + u128::from(nanoseconds.unsigned_abs()))
}

fn check_bitset(bitset: u32) -> Result<(), Errno> {
    if bitset == 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

fn check_alignment(address: u64) -> Result<(), Errno> {
    if address.is_multiple_of(4) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// The namespace a futex key lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FutexSpace {
    /// A private futex, or a shared one in private memory: one address space.
    AddressSpace(u64),
    /// A shared futex in a shared mapping: the backing object (so processes that map it
    /// at different addresses meet).
    SharedObject(u64),
}

/// A futex's identity: the space and the address (or offset in the object).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FutexKey {
    /// Where the address is interpreted.
    pub space: FutexSpace,
    /// The user address, or the byte offset in a shared object.
    pub offset: u64,
}

/// A parked thread, named by the caller (for example its thread id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaiterId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiter {
    id: WaiterId,
    bitset: u32,
}

/// The result of a requeue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequeueOutcome {
    /// Waiters to resume (with return value 0), in queue order.
    pub woken: Vec<WaiterId>,
    /// Number moved to the target queue.
    pub requeued: u32,
}

impl RequeueOutcome {
    /// The call's return value: woken plus moved.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.woken.len() as u64 + u64::from(self.requeued)
    }
}

/// Every futex wait queue.
///
/// # Invariants
/// Each waiter is in at most one queue, and `waiting` names that queue.
#[derive(Clone, Debug, Default)]
pub struct FutexQueues {
    queues: BTreeMap<FutexKey, VecDeque<Waiter>>,
    waiting: BTreeMap<WaiterId, FutexKey>,
}

impl FutexQueues {
    /// No waiters.
    #[must_use]
    pub const fn new() -> FutexQueues {
        FutexQueues {
            queues: BTreeMap::new(),
            waiting: BTreeMap::new(),
        }
    }

    /// Queues `waiter` at the tail of `key`'s queue (after the caller found the word
    /// still equal to the expected value).
    ///
    /// # Errors
    /// `EINVAL` for a zero bitset, or if `waiter` is already waiting (a server bug).
    pub fn wait(&mut self, key: FutexKey, waiter: WaiterId, bitset: u32) -> Result<(), Errno> {
        check_bitset(bitset)?;
        if self.waiting.contains_key(&waiter) {
            return Err(Errno::EINVAL);
        }
        self.queues
            .entry(key)
            .or_default()
            .push_back(Waiter { id: waiter, bitset });
        self.waiting.insert(waiter, key);
        Ok(())
    }

    /// Removes and returns up to `count` waiters on `key` whose bitset intersects
    /// `bitset`, oldest first.
    ///
    /// # Errors
    /// `EINVAL` for a zero bitset.
    pub fn wake(&mut self, key: FutexKey, count: u32, bitset: u32) -> Result<Vec<WaiterId>, Errno> {
        check_bitset(bitset)?;
        let mut woken = Vec::new();
        let Some(queue) = self.queues.get_mut(&key) else {
            return Ok(woken);
        };
        queue.retain(|waiter| {
            if woken.len() < count as usize && waiter.bitset & bitset != 0 {
                woken.push(waiter.id);
                false
            } else {
                true
            }
        });
        if queue.is_empty() {
            self.queues.remove(&key);
        }
        for id in &woken {
            self.waiting.remove(id);
        }
        Ok(woken)
    }

    /// Wakes up to `wake` waiters on `from` and moves up to `requeue` of the rest to the
    /// tail of `to`, oldest first (Linux's `futex_requeue` without PI). Moving within
    /// one key leaves the order unchanged.
    pub fn requeue(
        &mut self,
        from: FutexKey,
        to: FutexKey,
        wake: u32,
        requeue: u32,
    ) -> RequeueOutcome {
        let mut outcome = RequeueOutcome {
            woken: Vec::new(),
            requeued: 0,
        };
        let Some(mut source) = self.queues.remove(&from) else {
            return outcome;
        };
        let mut moved = VecDeque::new();
        let mut kept = VecDeque::new();
        let mut task_count: u64 = 0;
        while let Some(waiter) = source.pop_front() {
            if task_count.saturating_sub(u64::from(wake)) >= u64::from(requeue)
                && task_count >= u64::from(wake)
            {
                kept.push_back(waiter);
                continue;
            }
            task_count += 1;
            if task_count <= u64::from(wake) {
                outcome.woken.push(waiter.id);
                self.waiting.remove(&waiter.id);
            } else {
                outcome.requeued += 1;
                moved.push_back(waiter);
            }
        }
        if from == to {
            // Requeued waiters stay where they were, ahead of those not reached.
            moved.append(&mut kept);
            if !moved.is_empty() {
                self.queues.insert(from, moved);
            }
            return outcome;
        }
        if !kept.is_empty() {
            self.queues.insert(from, kept);
        }
        for waiter in &moved {
            self.waiting.insert(waiter.id, to);
        }
        if !moved.is_empty() {
            self.queues.entry(to).or_default().append(&mut moved);
        }
        outcome
    }

    /// Removes `waiter` after a timeout or signal. `false` means it was already woken
    /// (the wait then returns 0, not `ETIMEDOUT`/`EINTR`).
    pub fn cancel(&mut self, waiter: WaiterId) -> bool {
        let Some(key) = self.waiting.remove(&waiter) else {
            return false;
        };
        if let Some(queue) = self.queues.get_mut(&key) {
            queue.retain(|queued| queued.id != waiter);
            if queue.is_empty() {
                self.queues.remove(&key);
            }
        }
        true
    }

    /// The key `waiter` is queued on (it may have been requeued).
    #[must_use]
    pub fn key_of(&self, waiter: WaiterId) -> Option<FutexKey> {
        self.waiting.get(&waiter).copied()
    }

    /// Number of waiters on `key`.
    #[must_use]
    pub fn waiters(&self, key: FutexKey) -> usize {
        self.queues.get(&key).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(operation: u32, value: u64, value2: u64, value3: u64) -> FutexArguments {
        FutexArguments {
            address: 0x1000,
            operation: u64::from(operation),
            value,
            timeout_or_value2: value2,
            address2: 0x2000,
            value3,
        }
    }

    fn key(offset: u64) -> FutexKey {
        FutexKey {
            space: FutexSpace::AddressSpace(1),
            offset,
        }
    }

    #[test]
    fn constants_match_linux() {
        assert_eq!(
            (FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE),
            (0, 1, 3, 4)
        );
        assert_eq!((FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET), (9, 10));
        assert_eq!((FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME), (128, 256));
    }

    #[test]
    fn decode_wait_variants() {
        let request =
            decode_futex(&arguments(FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 7, 0x3000, 0)).unwrap();
        assert_eq!(request.scope, FutexScope::Private);
        assert_eq!(
            request.command,
            FutexCommand::Wait {
                address: 0x1000,
                expected: 7,
                timeout: FutexTimeout::Relative {
                    timespec_address: 0x3000,
                    clock: FutexClock::Monotonic
                },
                bitset: FUTEX_BITSET_MATCH_ANY,
            }
        );
        let request = decode_futex(&arguments(
            FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME,
            7,
            0x3000,
            0b10,
        ))
        .unwrap();
        assert_eq!(request.scope, FutexScope::Shared);
        assert_eq!(
            request.command,
            FutexCommand::Wait {
                address: 0x1000,
                expected: 7,
                timeout: FutexTimeout::Absolute {
                    timespec_address: 0x3000,
                    clock: FutexClock::Realtime
                },
                bitset: 0b10,
            }
        );
        let request = decode_futex(&arguments(FUTEX_WAIT, 7, 0, 0)).unwrap();
        assert!(matches!(
            request.command,
            FutexCommand::Wait {
                timeout: FutexTimeout::Never,
                ..
            }
        ));
    }

    #[test]
    fn decode_errors() {
        assert_eq!(
            decode_futex(&arguments(FUTEX_WAIT_BITSET, 0, 0, 0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            decode_futex(&arguments(FUTEX_WAKE_BITSET, 1, 0, 0)),
            Err(Errno::EINVAL)
        );
        let mut misaligned = arguments(FUTEX_WAKE, 1, 0, 0);
        misaligned.address = 0x1002;
        assert_eq!(decode_futex(&misaligned), Err(Errno::EINVAL));
        let mut misaligned_target = arguments(FUTEX_REQUEUE, 1, 1, 0);
        misaligned_target.address2 = 0x2001;
        assert_eq!(decode_futex(&misaligned_target), Err(Errno::EINVAL));
        assert_eq!(
            decode_futex(&arguments(FUTEX_REQUEUE, u64::from(u32::MAX), 1, 0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            decode_futex(&arguments(FUTEX_CMP_REQUEUE, 1, 0x8000_0000, 0)),
            Err(Errno::EINVAL)
        );
        for unsupported in [
            FUTEX_FD,
            FUTEX_WAKE_OP,
            FUTEX_LOCK_PI,
            FUTEX_UNLOCK_PI,
            FUTEX_TRYLOCK_PI,
            FUTEX_WAIT_REQUEUE_PI,
            FUTEX_CMP_REQUEUE_PI,
            FUTEX_LOCK_PI2,
            14,
            127,
        ] {
            assert_eq!(
                decode_futex(&arguments(unsupported, 1, 0, 1)),
                Err(Errno::ENOSYS),
                "{}",
                operation_name(u64::from(unsupported))
            );
        }
        assert_eq!(
            decode_futex(&arguments(FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, 0, 0)),
            Err(Errno::ENOSYS)
        );
        assert_eq!(
            operation_name(u64::from(FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)),
            "FUTEX_LOCK_PI"
        );
    }

    #[test]
    fn decode_wake_counts_like_linux() {
        let count = |value: u64| match decode_futex(&arguments(FUTEX_WAKE, value, 0, 0))
            .unwrap()
            .command
        {
            FutexCommand::Wake { count, .. } => count,
            other => panic!("{other:?}"),
        };
        assert_eq!(count(0), 1);
        assert_eq!(count(5), 5);
        assert_eq!(count(i32::MAX as u64), i32::MAX as u32);
        assert_eq!(count(u64::from(u32::MAX)), 1);
        let request = decode_futex(&arguments(FUTEX_CMP_REQUEUE, 1, 3, 42)).unwrap();
        assert_eq!(
            request.command,
            FutexCommand::Requeue {
                address: 0x1000,
                target: 0x2000,
                wake: 1,
                requeue: 3,
                expected: Some(42)
            }
        );
    }

    #[test]
    fn timespec_validation() {
        let encode = |seconds: i64, nanoseconds: i64| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&seconds.to_le_bytes());
            bytes[8..].copy_from_slice(&nanoseconds.to_le_bytes());
            bytes
        };
        assert_eq!(parse_timespec(&encode(2, 500)), Ok(2_000_000_500));
        assert_eq!(parse_timespec(&encode(0, 999_999_999)), Ok(999_999_999));
        assert_eq!(parse_timespec(&encode(-1, 0)), Err(Errno::EINVAL));
        assert_eq!(
            parse_timespec(&encode(0, 1_000_000_000)),
            Err(Errno::EINVAL)
        );
        assert_eq!(parse_timespec(&encode(0, -1)), Err(Errno::EINVAL));
        assert_eq!(parse_timespec(&encode(1, 0)[..15]), Err(Errno::EFAULT));
        assert!(parse_timespec(&encode(i64::MAX, 999_999_999)).is_ok());
    }

    #[test]
    fn wake_is_fifo_and_respects_bitsets() {
        let mut queues = FutexQueues::new();
        for id in 1..=4 {
            let bitset = if id == 2 { 0b01 } else { 0b10 };
            queues.wait(key(0x1000), WaiterId(id), bitset).unwrap();
        }
        assert_eq!(queues.wait(key(0x1000), WaiterId(1), 1), Err(Errno::EINVAL));
        assert_eq!(queues.wait(key(0x1000), WaiterId(9), 0), Err(Errno::EINVAL));
        assert_eq!(queues.wake(key(0x1000), 1, 0), Err(Errno::EINVAL));
        assert_eq!(
            queues.wake(key(0x1000), 2, 0b10),
            Ok(alloc::vec![WaiterId(1), WaiterId(3)])
        );
        assert_eq!(
            queues.wake(key(0x1000), 5, 0b01),
            Ok(alloc::vec![WaiterId(2)])
        );
        assert_eq!(
            queues.wake(key(0x1004), 5, FUTEX_BITSET_MATCH_ANY),
            Ok(alloc::vec![])
        );
        assert_eq!(queues.waiters(key(0x1000)), 1);
        assert_eq!(queues.key_of(WaiterId(4)), Some(key(0x1000)));
        assert_eq!(queues.key_of(WaiterId(1)), None);
        // Different spaces do not meet.
        let other_space = FutexKey {
            space: FutexSpace::AddressSpace(2),
            offset: 0x1000,
        };
        assert_eq!(
            queues.wake(other_space, 5, FUTEX_BITSET_MATCH_ANY),
            Ok(alloc::vec![])
        );
    }

    #[test]
    fn cancel_on_timeout_or_signal() {
        let mut queues = FutexQueues::new();
        queues.wait(key(0x10), WaiterId(1), 1).unwrap();
        queues.wait(key(0x10), WaiterId(2), 1).unwrap();
        assert!(queues.cancel(WaiterId(1)));
        assert!(!queues.cancel(WaiterId(1)));
        assert_eq!(queues.wake(key(0x10), 1, 1), Ok(alloc::vec![WaiterId(2)]));
        // Woken before its timer fired: the timeout finds nothing to cancel.
        assert!(!queues.cancel(WaiterId(2)));
        assert_eq!(queues.waiters(key(0x10)), 0);
        // The waiter can wait again.
        queues.wait(key(0x10), WaiterId(2), 1).unwrap();
    }

    #[test]
    fn requeue_wakes_then_moves() {
        let mut queues = FutexQueues::new();
        for id in 1..=5 {
            queues.wait(key(0x10), WaiterId(id), 1).unwrap();
        }
        queues.wait(key(0x20), WaiterId(9), 1).unwrap();
        let outcome = queues.requeue(key(0x10), key(0x20), 1, 2);
        assert_eq!(outcome.woken, [WaiterId(1)]);
        assert_eq!(outcome.requeued, 2);
        assert_eq!(outcome.total(), 3);
        assert_eq!(queues.waiters(key(0x10)), 2);
        assert_eq!(queues.key_of(WaiterId(2)), Some(key(0x20)));
        assert_eq!(queues.key_of(WaiterId(4)), Some(key(0x10)));
        // Target order: existing waiter first, then the moved ones.
        assert_eq!(
            queues.wake(key(0x20), 10, 1),
            Ok(alloc::vec![WaiterId(9), WaiterId(2), WaiterId(3)])
        );
        // Nothing to wake, nothing to move.
        let outcome = queues.requeue(key(0x10), key(0x20), 0, 0);
        assert_eq!(outcome.total(), 0);
        assert_eq!(queues.waiters(key(0x10)), 2);
        // Move everything (the glibc condition-variable pattern: wake 1, move INT_MAX).
        let outcome = queues.requeue(key(0x10), key(0x20), 0, i32::MAX as u32);
        assert_eq!(outcome.requeued, 2);
        assert_eq!(queues.waiters(key(0x10)), 0);
        assert_eq!(queues.waiters(key(0x20)), 2);
        // Empty source.
        assert_eq!(queues.requeue(key(0x30), key(0x20), 5, 5).total(), 0);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn decode_never_panics(
                address in any::<u64>(),
                operation in any::<u64>(),
                value in any::<u64>(),
                value2 in any::<u64>(),
                address2 in any::<u64>(),
                value3 in any::<u64>(),
            ) {
                let _ = decode_futex(&FutexArguments {
                    address,
                    operation,
                    value,
                    timeout_or_value2: value2,
                    address2,
                    value3,
                });
            }

            #[test]
            fn requeue_conserves_waiters(count in 0u64..20, wake in 0u32..25, requeue in 0u32..25) {
                let mut queues = FutexQueues::new();
                for id in 0..count {
                    queues.wait(key(0x10), WaiterId(id), 1).unwrap();
                }
                let outcome = queues.requeue(key(0x10), key(0x20), wake, requeue);
                prop_assert_eq!(outcome.woken.len() as u64, count.min(u64::from(wake)));
                prop_assert_eq!(
                    u64::from(outcome.requeued),
                    (count - outcome.woken.len() as u64).min(u64::from(requeue))
                );
                prop_assert_eq!(
                    (queues.waiters(key(0x10)) + queues.waiters(key(0x20))) as u64 + outcome.woken.len() as u64,
                    count
                );
                for id in outcome.woken {
                    prop_assert_eq!(queues.key_of(id), None);
                }
            }
        }
    }

    #[test]
    fn requeue_onto_the_same_key_keeps_order() {
        let mut queues = FutexQueues::new();
        for id in 1..=4 {
            queues.wait(key(0x10), WaiterId(id), 1).unwrap();
        }
        let outcome = queues.requeue(key(0x10), key(0x10), 1, 1);
        assert_eq!(outcome.woken, [WaiterId(1)]);
        assert_eq!(outcome.requeued, 1);
        assert_eq!(
            queues.wake(key(0x10), 10, 1),
            Ok(alloc::vec![WaiterId(2), WaiterId(3), WaiterId(4)])
        );
    }
}
