//! Time system calls on the syscall path, computed from the same clock state the vDSO
//! reads from the vvar page.

use super::{int_argument, Context};
use linux_personality::timer_queue::{duration_nanoseconds, split_nanoseconds};
use linux_personality::Errno;

pub fn sys_clock_gettime(
    context: &mut Context<'_>,
    clock: u64,
    address: u64,
) -> Result<usize, Errno> {
    let time = match super::usage::cpu_clock_now(context, clock) {
        Some(reading) => reading?,
        None => context
            .server
            .clocks
            .now(int_argument(clock))
            .ok_or(Errno::EINVAL)?,
    };
    context.write_words(address, &[time.seconds as u64, time.nanoseconds as u64])?;
    Ok(0)
}

pub fn sys_clock_getres(
    context: &mut Context<'_>,
    clock: u64,
    address: u64,
) -> Result<usize, Errno> {
    let resolution = match super::usage::cpu_clock_resolution(context, clock) {
        Some(resolution) => resolution?,
        None => context
            .server
            .clocks
            .resolution(int_argument(clock))
            .ok_or(Errno::EINVAL)?,
    };
    if address != 0 {
        context.write_words(
            address,
            &[resolution.seconds as u64, resolution.nanoseconds as u64],
        )?;
    }
    Ok(0)
}

pub fn sys_gettimeofday(
    context: &mut Context<'_>,
    timeval: u64,
    timezone: u64,
) -> Result<usize, Errno> {
    if timeval != 0 {
        let time = context.server.clocks.now(0).ok_or(Errno::EINVAL)?;
        context.write_words(
            timeval,
            &[time.seconds as u64, (time.nanoseconds / 1000) as u64],
        )?;
    }
    if timezone != 0 {
        context.write_user(timezone, &[0u8; 8])?;
    }
    Ok(0)
}

/// `TIMER_ABSTIME`.
const TIMER_ABSTIME: u64 = 1;
/// `ITIMER_REAL`.
const ITIMER_REAL: u64 = 0;

/// Parks the caller until `deadline`; `remaining` receives the time left if a signal
/// interrupts the sleep (0: nowhere).
fn sleep_until(
    context: &mut Context<'_>,
    deadline: crate::timer::Deadline,
    remaining: u64,
) -> Result<usize, Errno> {
    context
        .server
        .park(
            context.tid,
            crate::process::Wait::Sleep { remaining },
            context.registers,
        )
        .map_err(|_| Errno::ENOMEM)?;
    crate::timer::arm_timeout(context.server, context.tid, deadline);
    context.after = super::After::NoReply;
    Ok(0)
}

pub fn sys_nanosleep(
    context: &mut Context<'_>,
    request: u64,
    remaining: u64,
) -> Result<usize, Errno> {
    let (seconds, nanoseconds) = context.read_pair(request)?;
    let duration = duration_nanoseconds(seconds, nanoseconds).ok_or(Errno::EINVAL)?;
    let deadline = context.server.timers.after(duration);
    sleep_until(context, deadline, remaining)
}

pub fn sys_clock_nanosleep(
    context: &mut Context<'_>,
    clock: u64,
    flags: u64,
    request: u64,
    remaining: u64,
) -> Result<usize, Errno> {
    const CLOCK_REALTIME: i32 = 0;
    const CLOCK_MONOTONIC: i32 = 1;
    const CLOCK_BOOTTIME: i32 = 7;
    const CLOCK_TAI: i32 = 11;
    if let Some(result) =
        super::usage::cpu_clock_nanosleep(context, clock, flags, request, remaining)
    {
        return result;
    }
    let clock = int_argument(clock);
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_TAI => {}
        // Known clocks without a sleep (raw, coarse), as Linux answers them.
        _ if context.server.clocks.now(clock).is_some() => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    let (seconds, nanoseconds) = context.read_pair(request)?;
    let duration = duration_nanoseconds(seconds, nanoseconds).ok_or(Errno::EINVAL)?;
    if flags & TIMER_ABSTIME == 0 {
        let deadline = context.server.timers.after(duration);
        return sleep_until(context, deadline, remaining);
    }
    let now = context.server.clocks.now(clock).ok_or(Errno::EINVAL)?;
    let now = duration_nanoseconds(now.seconds, now.nanoseconds).unwrap_or(0);
    if duration <= now {
        return Ok(0);
    }
    let deadline = context.server.timers.after(duration - now);
    // An absolute sleep leaves `remaining` alone.
    sleep_until(context, deadline, 0)
}

/// Reads a `struct itimerval` as (interval, value) in nanoseconds.
fn read_itimerval(context: &mut Context<'_>, address: u64) -> Result<(u64, u64), Errno> {
    let mut bytes = [0u8; 32];
    context.read_user(address, &mut bytes)?;
    let word = |index: usize| {
        let mut value = [0u8; 8];
        value.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
        i64::from_le_bytes(value)
    };
    let timeval = |seconds: i64, microseconds: i64| {
        if !(0..1_000_000).contains(&microseconds) {
            return None;
        }
        duration_nanoseconds(seconds, microseconds * 1000)
    };
    let interval = timeval(word(0), word(1)).ok_or(Errno::EINVAL)?;
    let value = timeval(word(2), word(3)).ok_or(Errno::EINVAL)?;
    Ok((interval, value))
}

/// Writes (value, interval) nanoseconds as a `struct itimerval`; an armed timer never
/// reads as 0 (Linux reports at least 1 µs).
fn write_itimerval(
    context: &mut Context<'_>,
    address: u64,
    value: u64,
    interval: u64,
) -> Result<(), Errno> {
    let microseconds = |nanoseconds: u64| {
        let (seconds, rest) = split_nanoseconds(nanoseconds);
        (seconds, rest / 1000)
    };
    let (interval_seconds, interval_microseconds) = microseconds(interval);
    let (value_seconds, mut value_microseconds) = microseconds(value);
    if value != 0 && value_seconds == 0 && value_microseconds == 0 {
        value_microseconds = 1;
    }
    context.write_words(
        address,
        &[
            interval_seconds,
            interval_microseconds,
            value_seconds,
            value_microseconds,
        ],
    )
}

pub fn sys_setitimer(
    context: &mut Context<'_>,
    which: u64,
    new: u64,
    old: u64,
) -> Result<usize, Errno> {
    if which != ITIMER_REAL {
        // ITIMER_VIRTUAL and ITIMER_PROF need CPU-time accounting.
        return Err(Errno::EINVAL);
    }
    let (interval, value) = if new == 0 {
        (0, 0)
    } else {
        read_itimerval(context, new)?
    };
    let pid = context.pid;
    let (old_value, old_interval) = context.server.timers.set_real_timer(pid, value, interval);
    if old != 0 {
        write_itimerval(context, old, old_value, old_interval)?;
    }
    Ok(0)
}

pub fn sys_getitimer(context: &mut Context<'_>, which: u64, address: u64) -> Result<usize, Errno> {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = context.server.timers.real_timer(context.pid);
    write_itimerval(context, address, value, interval)?;
    Ok(0)
}

/// `ITIMER_REAL` of `pid` fired: SIGALRM.
pub fn raise_alarm(server: &mut crate::server::Server, pid: crate::process::Pid) {
    crate::timer::signal_process(server, pid, linux_personality::signal::Signal::SIGALRM);
}
