//! Resource usage system calls (getrusage, times) and the CPU-time clocks of
//! clock_gettime/clock_getres, read from the server's accounts (`crate::accounting`).

use super::{int_argument, Context};
use crate::accounting::Whose;
use crate::process::Pid;
use crate::server::Server;
use alloc::format;
use alloc::string::String;
use linux_personality::process::cpu_time::{
    decode_cpu_clock, encode_tms, ticks_to_clock_ticks, ticks_to_nanoseconds, CpuClock,
    CpuClockKind, CpuClockOwner, Usage,
};
use linux_personality::Errno;
use vdso_data::Timespec;

const PAGE_SIZE: u64 = 4096;
/// The tick of CPUCLOCK_PROF/CPUCLOCK_VIRT clocks as `clock_getres` reports it: Linux
/// says 1/HZ for them (arm64's default HZ is 250), 1 ns for scheduler clocks.
const SAMPLED_CLOCK_RESOLUTION: i64 = 4_000_000;

pub fn sys_getrusage(context: &mut Context<'_>, who: u64, address: u64) -> Result<usize, Errno> {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let whose = match int_argument(who) {
        RUSAGE_SELF => Whose::Process(context.pid),
        RUSAGE_CHILDREN => Whose::Children(context.pid),
        RUSAGE_THREAD => Whose::Thread(context.tid),
        _ => return Err(Errno::EINVAL),
    };
    let usage = context.server.usage(whose).ok_or(Errno::ESRCH)?;
    let frequency = context.server.clocks.frequency();
    context.write_user(address, &usage.encode_rusage(frequency, PAGE_SIZE))?;
    Ok(0)
}

/// `times`: the caller's and its waited-for children's CPU time in clock ticks of 100
/// Hz; returns the ticks since boot (Linux counts from an arbitrary point; ours is boot).
pub fn sys_times(context: &mut Context<'_>, address: u64) -> Result<usize, Errno> {
    const CLOCK_BOOTTIME: i32 = 7;
    let server = &*context.server;
    let own = server
        .usage(Whose::Process(context.pid))
        .ok_or(Errno::ESRCH)?;
    let children = server
        .usage(Whose::Children(context.pid))
        .ok_or(Errno::ESRCH)?;
    let frequency = server.clocks.frequency();
    if address != 0 {
        context.write_user(address, &encode_tms(&own, &children, frequency))?;
    }
    let boot = context
        .server
        .clocks
        .now(CLOCK_BOOTTIME)
        .ok_or(Errno::EINVAL)?;
    let nanoseconds = u64::try_from(boot.seconds)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(boot.nanoseconds).unwrap_or(0));
    Ok(ticks_to_clock_ticks(nanoseconds, 1_000_000_000) as usize)
}

/// `clock_gettime` of a CPU-time clock; `None` if `clock` is not one.
pub fn cpu_clock_now(context: &Context<'_>, clock: u64) -> Option<Result<Timespec, Errno>> {
    let clock = match decode_cpu_clock(int_argument(clock))? {
        Ok(clock) => clock,
        Err(errno) => return Some(Err(errno)),
    };
    Some(cpu_clock_reading(context, clock, Purpose::Read))
}

/// `clock_getres` of a CPU-time clock; `None` if `clock` is not one.
pub fn cpu_clock_resolution(context: &Context<'_>, clock: u64) -> Option<Result<Timespec, Errno>> {
    let clock = match decode_cpu_clock(int_argument(clock))? {
        Ok(clock) => clock,
        Err(errno) => return Some(Err(errno)),
    };
    Some(
        cpu_clock_reading(context, clock, Purpose::Validate).map(|_| Timespec {
            seconds: 0,
            nanoseconds: match clock.kind {
                CpuClockKind::Scheduler => 1,
                CpuClockKind::Profile | CpuClockKind::Virtual => SAMPLED_CLOCK_RESOLUTION,
            },
        }),
    )
}

/// What a CPU clock is looked up for: Linux lets `clock_gettime` (only) name a process
/// clock by the caller's own thread id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Read,
    Validate,
}

/// Reads `clock`.
///
/// # Errors
/// As [`resolve`].
fn cpu_clock_reading(
    context: &Context<'_>,
    clock: CpuClock,
    purpose: Purpose,
) -> Result<Timespec, Errno> {
    let whose = resolve(context, clock, purpose)?;
    let nanoseconds = reading(context.server, whose, clock.kind).ok_or(Errno::EINVAL)?;
    Ok(Timespec {
        seconds: (nanoseconds / 1_000_000_000) as i64,
        nanoseconds: (nanoseconds % 1_000_000_000) as i64,
    })
}

/// Whose time `clock` reads, for the caller.
///
/// # Errors
/// `EINVAL` if it names no thread of the caller's process, or no process (as Linux's
/// `lookup_task`).
fn resolve(context: &Context<'_>, clock: CpuClock, purpose: Purpose) -> Result<Whose, Errno> {
    let server = &*context.server;
    Ok(match clock.owner {
        CpuClockOwner::Thread(None) => Whose::Thread(context.tid),
        CpuClockOwner::Thread(Some(tid)) => {
            let thread = server.threads.get(&tid).ok_or(Errno::EINVAL)?;
            if thread.pid != context.pid {
                return Err(Errno::EINVAL);
            }
            Whose::Thread(tid)
        }
        CpuClockOwner::Process(None) => Whose::Process(context.pid),
        CpuClockOwner::Process(Some(id)) if purpose == Purpose::Read && id == context.tid => {
            Whose::Process(context.pid)
        }
        CpuClockOwner::Process(Some(pid)) => {
            // A zombie's clock reads (its final time) until it is reaped, as on Linux.
            if !server.processes.contains_key(&pid) && server.reported_usage(pid).is_none() {
                return Err(Errno::EINVAL);
            }
            Whose::Process(pid)
        }
    })
}

/// The `kind` time of `whose` in nanoseconds; `None` if it is gone.
fn reading(server: &Server, whose: Whose, kind: CpuClockKind) -> Option<u64> {
    let usage = server.usage(whose)?;
    Some(ticks_to_nanoseconds(
        kind.ticks(&usage),
        server.clocks.frequency(),
    ))
}

/// `clock_nanosleep` on a CPU-time clock; `None` if `clock` is not one.
///
/// The sleeper parks with a wall-clock timeout of the CPU time still to go: one CPU
/// cannot give a process or thread more CPU time than the wall time that passes, so
/// the clock is not yet at the target before then; at the timeout it is read again and
/// either ends the sleep or arms the timeout for the rest ([`cpu_sleep_expired`]).
pub fn cpu_clock_nanosleep(
    context: &mut Context<'_>,
    clock: u64,
    flags: u64,
    request: u64,
    remaining: u64,
) -> Option<Result<usize, Errno>> {
    let clock = match decode_cpu_clock(int_argument(clock))? {
        Ok(clock) => clock,
        Err(errno) => return Some(Err(errno)),
    };
    Some(cpu_nanosleep(context, clock, flags, request, remaining))
}

fn cpu_nanosleep(
    context: &mut Context<'_>,
    clock: CpuClock,
    flags: u64,
    request: u64,
    remaining: u64,
) -> Result<usize, Errno> {
    const TIMER_ABSTIME: u64 = 1;
    // Linux refuses to sleep on the caller's own thread clock (it could never advance).
    match clock.owner {
        CpuClockOwner::Thread(None) => return Err(Errno::EINVAL),
        CpuClockOwner::Thread(Some(tid)) if tid == context.tid => return Err(Errno::EINVAL),
        _ => {}
    }
    let whose = resolve(context, clock, Purpose::Validate)?;
    let (seconds, nanoseconds) = context.read_pair(request)?;
    let duration = linux_personality::timer_queue::duration_nanoseconds(seconds, nanoseconds)
        .ok_or(Errno::EINVAL)?;
    let now = reading(context.server, whose, clock.kind).ok_or(Errno::EINVAL)?;
    let (target, remaining) = if flags & TIMER_ABSTIME != 0 {
        // An absolute sleep leaves `remaining` alone.
        (duration, 0)
    } else {
        (now.saturating_add(duration), remaining)
    };
    if target <= now {
        return Ok(0);
    }
    let wait = crate::process::Wait::CpuSleep {
        whose,
        kind: clock.kind,
        target,
        remaining,
    };
    context
        .server
        .park(context.tid, wait, context.registers)
        .map_err(|_| Errno::ENOMEM)?;
    let deadline = context.server.timers.after(target - now);
    crate::timer::arm_timeout(context.server, context.tid, deadline);
    context.after = super::After::NoReply;
    Ok(0)
}

/// A CPU-clock sleeper's wall timeout passed: done if the clock reached `target` (or
/// its owner is gone), else wait for the rest.
pub fn cpu_sleep_expired(
    server: &mut Server,
    tid: crate::process::Tid,
    whose: Whose,
    kind: CpuClockKind,
    target: u64,
) {
    // A process that exited (a zombie's clock still reads) never gets more time.
    let gone = matches!(whose, Whose::Process(pid) if !server.processes.contains_key(&pid));
    match reading(server, whose, kind) {
        Some(now) if now < target && !gone => {
            let deadline = server.timers.after(target - now);
            crate::timer::arm_timeout(server, tid, deadline);
        }
        _ => server.unpark(tid, 0),
    }
}

/// Nanoseconds of CPU time a sleeper interrupted now still had to wait.
pub fn cpu_sleep_left(server: &Server, whose: Whose, kind: CpuClockKind, target: u64) -> u64 {
    reading(server, whose, kind).map_or(0, |now| target.saturating_sub(now))
}

/// The `struct rusage` wait4/waitid report for `child`: an exited child's own and
/// waited-for children's usage, else (stopped, continued) its current figures.
pub fn child_rusage(
    server: &Server,
    child: Pid,
) -> [u8; linux_personality::process::cpu_time::RUSAGE_SIZE] {
    let usage = server.reported_usage(child).unwrap_or_else(|| {
        let mut usage = server.usage(Whose::Process(child)).unwrap_or_default();
        usage.add(&server.usage(Whose::Children(child)).unwrap_or_default());
        usage
    });
    usage_bytes(server, &usage)
}

fn usage_bytes(
    server: &Server,
    usage: &Usage,
) -> [u8; linux_personality::process::cpu_time::RUSAGE_SIZE] {
    usage.encode_rusage(server.clocks.frequency(), PAGE_SIZE)
}

/// Fields 10..13 (minflt cminflt majflt cmajflt) and 14..17 (utime stime cutime cstime,
/// in clock ticks) of `/proc/<pid>/stat`, each group space-separated; an unreaped
/// zombie's own figures are its final ones, its children's read zero.
pub fn stat_fields(server: &Server, pid: Pid) -> (String, String) {
    let own = server.usage(Whose::Process(pid)).unwrap_or_default();
    let children = server.usage(Whose::Children(pid)).unwrap_or_default();
    let frequency = server.clocks.frequency();
    let ticks = |value: u64| ticks_to_clock_ticks(value, frequency);
    (
        format!(
            "{} {} {} {}",
            own.minor_faults, children.minor_faults, own.major_faults, children.major_faults
        ),
        format!(
            "{} {} {} {}",
            ticks(own.user_ticks),
            ticks(own.system_ticks),
            ticks(children.user_ticks),
            ticks(children.system_ticks)
        ),
    )
}
