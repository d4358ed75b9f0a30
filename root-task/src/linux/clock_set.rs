//! Setting the wall clock: clock_settime and settimeofday, with Linux's checks and errors,
//! and gettimeofday's timezone (what settimeofday stored). Each change is published to the
//! vvar page under its sequence counter, so the vDSO and the syscall path see it together.
//!
//! Every process runs with root's credentials, so the CAP_SYS_TIME check Linux makes
//! always passes.

use super::{int_argument, Context};
use crate::clock::TimeFollows;
use linux_personality::Errno;
use vdso_data::{TimeError, Timespec, Timezone};

const CLOCK_REALTIME: i32 = 0;

/// Negative clock ids encode a CPU-time clock (Linux's `CPUCLOCK_*`): the low two bits say
/// which, bit 2 marks a per-thread clock, and `!(id >> 3)` is the pid or tid (0: the
/// caller). Low bits 3 name no CPU clock: with bit 2 clear a dynamic (PTP-style) clock, of
/// which there are none here, with it set nothing at all.
const CPU_CLOCK_WHICH_MASK: i32 = 3;
const CPU_CLOCK_NOT_CPU: i32 = 3;
const CPU_CLOCK_PER_THREAD: i32 = 4;

/// clock_settime(2). Only CLOCK_REALTIME can be set.
///
/// # Errors
/// In Linux's order: `EINVAL` for a clock without a setter (before the pointer is read);
/// `EFAULT`; then `EPERM` for a negative id naming an existing CPU-time clock (its setter
/// always refuses), `EINVAL` for one naming none, or for a time Linux refuses.
pub fn sys_clock_settime(
    context: &mut Context<'_>,
    clock: u64,
    address: u64,
) -> Result<usize, Errno> {
    let clock = int_argument(clock);
    // Linux's clocks named by negative ids (another process's or thread's CPU time, the
    // dynamic clocks) have a setter that reads the time before refusing; the other clocks,
    // the caller's own CPU-time clocks 2 and 3 included, have none.
    let has_setter = clock == CLOCK_REALTIME || clock < 0;
    if !has_setter {
        return Err(Errno::EINVAL);
    }
    let (seconds, nanoseconds) = context.read_pair(address)?;
    if clock != CLOCK_REALTIME {
        return Err(not_settable(context, clock));
    }
    set_realtime(
        context,
        Timespec {
            seconds,
            nanoseconds,
        },
    )?;
    Ok(0)
}

/// settimeofday(2). Either pointer may be null; with both null it does nothing. The first
/// timezone set since boot without a time moves realtime by the zone's offset (Linux's
/// "the RTC kept local time" warp, which systemd seals by first setting a zero zone).
///
/// # Errors
/// `EFAULT`; `EINVAL` for microseconds outside `0..10^6`, a time Linux refuses, or a zone
/// more than 15 hours from UTC. As on Linux, a valid zone is stored even when the time
/// that follows it is refused.
pub fn sys_settimeofday(
    context: &mut Context<'_>,
    timeval: u64,
    timezone: u64,
) -> Result<usize, Errno> {
    let time = match timeval {
        0 => None,
        address => {
            let (seconds, microseconds) = context.read_pair(address)?;
            // Linux lets 10^6 through here; the nanosecond check below refuses it.
            if !(0..=1_000_000).contains(&microseconds) {
                return Err(Errno::EINVAL);
            }
            Some(Timespec {
                seconds,
                nanoseconds: microseconds * 1000,
            })
        }
    };
    let zone = match timezone {
        0 => None,
        address => {
            let mut bytes = [0u8; 8];
            context.read_user(address, &mut bytes)?;
            let (minutes_west, dst_time) = bytes.split_at(4);
            Some(Timezone {
                minutes_west: i32::from_le_bytes(
                    minutes_west.try_into().map_err(|_| Errno::EFAULT)?,
                ),
                dst_time: i32::from_le_bytes(dst_time.try_into().map_err(|_| Errno::EFAULT)?),
            })
        }
    };
    if time.is_some_and(|time| !vdso_data::settable(time)) {
        return Err(Errno::EINVAL);
    }
    if let Some(zone) = zone {
        let follows = if time.is_some() {
            TimeFollows::Yes
        } else {
            TimeFollows::No
        };
        context
            .server
            .clocks
            .set_timezone(zone, follows)
            .map_err(errno)?;
    }
    if let Some(time) = time {
        set_realtime(context, time)?;
    }
    Ok(0)
}

/// gettimeofday(2): the time as the time family computes it, then the timezone
/// settimeofday stored (the vDSO reads the same zone from the vvar page).
///
/// # Errors
/// `EFAULT`.
pub fn sys_gettimeofday(
    context: &mut Context<'_>,
    timeval: u64,
    timezone: u64,
) -> Result<usize, Errno> {
    super::time::sys_gettimeofday(context, timeval, 0)?;
    if timezone != 0 {
        let zone = context.server.clocks.timezone();
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&zone.minutes_west.to_le_bytes());
        bytes[4..].copy_from_slice(&zone.dst_time.to_le_bytes());
        context.write_user(timezone, &bytes)?;
    }
    Ok(0)
}

/// Sets CLOCK_REALTIME.
fn set_realtime(context: &mut Context<'_>, time: Timespec) -> Result<(), Errno> {
    context.server.clocks.set_realtime(time).map_err(errno)?;
    log::debug!(
        "pid {}: CLOCK_REALTIME set to {}.{:09}",
        context.pid,
        time.seconds,
        time.nanoseconds
    );
    Ok(())
}

/// Linux answers every refused time with EINVAL.
fn errno(_: TimeError) -> Errno {
    Errno::EINVAL
}

/// The error for setting a clock named by a negative id: `EPERM` for a CPU-time clock
/// that exists (Linux checks the target, then refuses), `EINVAL` otherwise.
fn not_settable(context: &Context<'_>, clock: i32) -> Errno {
    if cpu_clock_target_exists(context, clock) {
        Errno::EPERM
    } else {
        Errno::EINVAL
    }
}

/// Whether a negative clock id names the CPU clock of an existing process, or of a thread
/// in the caller's process.
fn cpu_clock_target_exists(context: &Context<'_>, clock: i32) -> bool {
    if clock & CPU_CLOCK_WHICH_MASK == CPU_CLOCK_NOT_CPU {
        return false;
    }
    let Ok(id) = u32::try_from(!(clock >> 3)) else {
        return false;
    };
    if id == 0 {
        return true;
    }
    if clock & CPU_CLOCK_PER_THREAD != 0 {
        context
            .server
            .threads
            .get(&id)
            .is_some_and(|thread| thread.pid == context.pid)
    } else {
        context.server.processes.contains_key(&id)
    }
}
