//! futex (WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET), robust lists, and
//! what a thread's exit does to user memory (CLONE_CHILD_CLEARTID, robust futexes).
//!
//! A waiter is queued in [`Server::futexes`] under its thread id and parked with
//! [`Wait::Futex`]; a wake unparks it with 0. Keys are (address space, address): the
//! address space is the process whose memory the caller runs in (a vfork child meets
//! its parent). A shared (non-private) futex in `MAP_SHARED` anonymous memory is keyed by
//! the shared memory object and offset instead, so waiters in different processes meet.
//!
//! Finite timeouts go through one call site, [`arm_futex_timeout`]; see its comment.

use super::{After, Context};
use crate::process::{Pid, Tid, Wait};
use crate::server::{FsFiles, Server};
use crate::user_memory::UserMemory;
use linux_personality::process::futex::FUTEX_BITSET_MATCH_ANY;
use linux_personality::process::{
    decode_futex, parse_timespec, FutexArguments, FutexClock, FutexCommand, FutexKey, FutexScope,
    FutexSpace, FutexTimeout, WaiterId,
};
use linux_personality::{Errno, VmaKind};

/// `CLOCK_REALTIME` and `CLOCK_MONOTONIC` ids.
const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
/// Robust futex word bits (Linux's `FUTEX_WAITERS`, `FUTEX_OWNER_DIED`, `FUTEX_TID_MASK`).
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Linux's `ROBUST_LIST_LIMIT`: at most this many entries are walked.
const ROBUST_LIST_LIMIT: usize = 2048;
/// `sizeof(struct robust_list_head)` on 64-bit Linux.
pub const ROBUST_LIST_HEAD_SIZE: u64 = 24;

/// When a timed wait ends: nanoseconds on `clock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub clock: FutexClock,
    pub nanoseconds: u128,
}

/// The futex key of `address` for a thread of `pid`: a shared futex in a shared memory
/// object is keyed by the object and the offset in it, so every process mapping it meets
/// there; anything else by (address space, address).
pub fn key(server: &Server, pid: Pid, address: u64, scope: FutexScope) -> FutexKey {
    let owner = server.memory_owner(pid);
    if scope == FutexScope::Shared {
        let area = server
            .processes
            .get(&owner)
            .and_then(|process| process.space.areas.lookup(address));
        if let Some(area) = area {
            if let (VmaKind::SharedAnonymous { object, .. }, Some(offset)) =
                (area.kind, area.backing_offset(address))
            {
                return FutexKey {
                    space: FutexSpace::SharedObject(object),
                    offset,
                };
            }
        }
    }
    FutexKey {
        space: FutexSpace::AddressSpace(u64::from(owner)),
        offset: address,
    }
}

/// Runs `f` on the memory `pid` runs in (its vfork parent's while it has one).
///
/// # Errors
/// `ESRCH` if the process is gone, else what `f` returns.
pub fn with_memory_of<R>(
    server: &mut Server,
    pid: Pid,
    f: impl FnOnce(&mut UserMemory<'_>) -> Result<R, Errno>,
) -> Result<R, Errno> {
    let owner = server.memory_owner(pid);
    let Server {
        objects,
        processes,
        fs,
        ..
    } = server;
    let process = processes.get_mut(&owner).ok_or(Errno::ESRCH)?;
    let files = FsFiles(fs);
    let mut memory = UserMemory {
        space: &mut process.space,
        objects,
        files: &files,
    };
    f(&mut memory)
}

fn read_word(server: &mut Server, pid: Pid, address: u64) -> Result<u32, Errno> {
    let mut bytes = [0u8; 4];
    with_memory_of(server, pid, |memory| memory.read(address, &mut bytes))?;
    Ok(u32::from_le_bytes(bytes))
}

fn write_word(server: &mut Server, pid: Pid, address: u64, value: u32) -> Result<(), Errno> {
    with_memory_of(server, pid, |memory| {
        memory.write(address, &value.to_le_bytes())
    })
}

fn now(server: &Server, clock: FutexClock) -> u128 {
    let id = match clock {
        FutexClock::Monotonic => CLOCK_MONOTONIC,
        FutexClock::Realtime => CLOCK_REALTIME,
    };
    server.clocks.now(id).map_or(0, |time| {
        u128::from(time.seconds.max(0).unsigned_abs()) * 1_000_000_000
            + u128::from(time.nanoseconds.max(0).unsigned_abs())
    })
}

pub fn sys_futex(
    context: &mut Context<'_>,
    address: u64,
    operation: u64,
    value: u64,
    timeout_or_value2: u64,
    address2: u64,
    value3: u64,
) -> Result<usize, Errno> {
    let request = decode_futex(&FutexArguments {
        address,
        operation,
        value,
        timeout_or_value2,
        address2,
        value3,
    })
    .inspect_err(|error| {
        if *error == Errno::ENOSYS {
            log::debug!(
                "futex operation {} ({operation:#x}) not supported",
                linux_personality::process::futex::operation_name(operation)
            );
        }
    })?;
    match request.command {
        FutexCommand::Wait {
            address,
            expected,
            timeout,
            bitset,
        } => wait(context, address, expected, timeout, bitset, request.scope),
        FutexCommand::Wake {
            address,
            count,
            bitset,
        } => {
            let key = key(context.server, context.pid, address, request.scope);
            let woken = context.server.futexes.wake(key, count, bitset)?;
            let total = woken.len();
            for waiter in woken {
                context.server.unpark(waiter.0 as Tid, 0);
            }
            Ok(total)
        }
        FutexCommand::Requeue {
            address,
            target,
            wake,
            requeue,
            expected,
        } => {
            if let Some(expected) = expected {
                if read_word(context.server, context.pid, address)? != expected {
                    return Err(Errno::EAGAIN);
                }
            }
            let from = key(context.server, context.pid, address, request.scope);
            let to = key(context.server, context.pid, target, request.scope);
            let outcome = context.server.futexes.requeue(from, to, wake, requeue);
            let total = outcome.total() as usize;
            for waiter in outcome.woken {
                context.server.unpark(waiter.0 as Tid, 0);
            }
            Ok(total)
        }
    }
}

fn wait(
    context: &mut Context<'_>,
    address: u64,
    expected: u32,
    timeout: FutexTimeout,
    bitset: u32,
    scope: FutexScope,
) -> Result<usize, Errno> {
    let deadline = match timeout {
        FutexTimeout::Never => None,
        FutexTimeout::Relative {
            timespec_address, ..
        } => {
            let mut bytes = [0u8; 16];
            context.read_user(timespec_address, &mut bytes)?;
            let relative = parse_timespec(&bytes)?;
            // A relative wait is measured on CLOCK_MONOTONIC whatever the flag says.
            let start = now(context.server, FutexClock::Monotonic);
            Some(Deadline {
                clock: FutexClock::Monotonic,
                nanoseconds: start.saturating_add(relative),
            })
        }
        FutexTimeout::Absolute {
            timespec_address,
            clock,
        } => {
            let mut bytes = [0u8; 16];
            context.read_user(timespec_address, &mut bytes)?;
            Some(Deadline {
                clock,
                nanoseconds: parse_timespec(&bytes)?,
            })
        }
    };
    if read_word(context.server, context.pid, address)? != expected {
        return Err(Errno::EAGAIN);
    }
    if let Some(deadline) = deadline {
        if deadline.nanoseconds <= now(context.server, deadline.clock) {
            return Err(Errno::ETIMEDOUT);
        }
    }
    let key = key(context.server, context.pid, address, scope);
    let waiter = WaiterId(u64::from(context.tid));
    context.server.futexes.wait(key, waiter, bitset)?;
    if let Some(deadline) = deadline {
        if let Err(error) = arm_futex_timeout(context.server, context.tid, deadline) {
            context.server.futexes.cancel(waiter);
            return Err(error);
        }
    }
    if context
        .server
        .park(context.tid, Wait::Futex, context.registers)
        .is_err()
    {
        context.server.futexes.cancel(waiter);
        return Err(Errno::ENOMEM);
    }
    context.after = After::NoReply;
    Ok(0)
}

/// The single call site for finite futex timeouts: arms the timer service for `tid` at
/// `deadline` (converted from its clock to counter ticks now); on expiry
/// [`crate::timer::timeout_expired`] calls [`futex_timed_out`]. A wake disarms it
/// (`Server::unpark` cancels the thread's timeout).
fn arm_futex_timeout(server: &mut Server, tid: Tid, deadline: Deadline) -> Result<(), Errno> {
    let left = deadline
        .nanoseconds
        .saturating_sub(now(server, deadline.clock));
    let timer_deadline = server.timers.after(u64::try_from(left).unwrap_or(u64::MAX));
    crate::timer::arm_timeout(server, tid, timer_deadline);
    Ok(())
}

/// A futex wait's timer fired: if `tid` is still queued it returns `ETIMEDOUT`; if a wake
/// got there first nothing happens (the wake already answered 0). The timer service's
/// expiry callback calls this; a thread removed meanwhile is simply not found.
pub fn futex_timed_out(server: &mut Server, tid: Tid) {
    if server.futexes.cancel(WaiterId(u64::from(tid))) {
        server.unpark(tid, Errno::ETIMEDOUT.as_negative_return());
    }
}

/// Wakes up to `count` waiters on `address` in `pid`'s memory (a shared wake, as
/// Linux's for CLONE_CHILD_CLEARTID and robust futexes).
pub fn wake(server: &mut Server, pid: Pid, address: u64, count: u32) -> usize {
    let key = key(server, pid, address, FutexScope::Shared);
    let Ok(woken) = server.futexes.wake(key, count, FUTEX_BITSET_MATCH_ANY) else {
        return 0;
    };
    let total = woken.len();
    for waiter in woken {
        server.unpark(waiter.0 as Tid, 0);
    }
    total
}

/// What a thread's exit does to user memory, while that memory still exists: robust
/// futexes it holds are marked `FUTEX_OWNER_DIED` (one waiter woken each), and the
/// CLONE_CHILD_CLEARTID word is zeroed and woken. Faults are ignored, as on Linux.
pub fn thread_exiting(server: &mut Server, tid: Tid) {
    let Some((pid, clear_child_tid, robust_list)) = server
        .threads
        .get(&tid)
        .map(|thread| (thread.pid, thread.clear_child_tid, thread.robust_list))
    else {
        return;
    };
    if robust_list != 0 {
        release_robust_list(server, pid, tid, robust_list);
    }
    if clear_child_tid != 0 && write_word(server, pid, clear_child_tid, 0).is_ok() {
        wake(server, pid, clear_child_tid, 1);
    }
    if let Some(thread) = server.threads.get_mut(&tid) {
        thread.clear_child_tid = 0;
        thread.robust_list = 0;
    }
}

/// Walks `struct robust_list_head { next, futex_offset, list_op_pending }` at `head`.
fn release_robust_list(server: &mut Server, pid: Pid, tid: Tid, head: u64) {
    let read_u64 = |server: &mut Server, address: u64| {
        with_memory_of(server, pid, |memory| memory.read_u64(address)).ok()
    };
    let Some(first) = read_u64(server, head) else {
        return;
    };
    let Some(offset) = read_u64(server, head.wrapping_add(8)) else {
        return;
    };
    let Some(pending) = read_u64(server, head.wrapping_add(16)) else {
        return;
    };
    // The low bit of an entry flags a PI futex; the address is the rest.
    let mut entry = first & !1;
    let mut walked = 0;
    while entry != head && entry != 0 && walked < ROBUST_LIST_LIMIT {
        let next = read_u64(server, entry);
        if entry != pending & !1 {
            release_robust_futex(server, pid, tid, entry.wrapping_add(offset));
        }
        let Some(next) = next else {
            return;
        };
        entry = next & !1;
        walked += 1;
    }
    if pending & !1 != 0 {
        release_robust_futex(server, pid, tid, (pending & !1).wrapping_add(offset));
    }
}

fn release_robust_futex(server: &mut Server, pid: Pid, tid: Tid, address: u64) {
    if !address.is_multiple_of(4) {
        return;
    }
    let Ok(word) = read_word(server, pid, address) else {
        return;
    };
    if word & FUTEX_TID_MASK != tid {
        return;
    }
    let released = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if write_word(server, pid, address, released).is_ok() && word & FUTEX_WAITERS != 0 {
        wake(server, pid, address, 1);
    }
}

pub fn sys_get_robust_list(
    context: &mut Context<'_>,
    tid: u64,
    head_address: u64,
    length_address: u64,
) -> Result<usize, Errno> {
    let tid = super::int_argument(tid);
    let target = if tid == 0 {
        context.tid
    } else {
        u32::try_from(tid).map_err(|_| Errno::ESRCH)?
    };
    let head = context
        .server
        .threads
        .get(&target)
        .map(|thread| thread.robust_list)
        .ok_or(Errno::ESRCH)?;
    context.write_words(head_address, &[head])?;
    context.write_words(length_address, &[ROBUST_LIST_HEAD_SIZE])?;
    Ok(0)
}
