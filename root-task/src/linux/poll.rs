//! `ppoll` and `pselect6` over every kind of descriptor: pipes (their real state),
//! regular files and `/dev` nodes (always ready, as Linux's default poll mask), and the
//! console ([`console_readiness`]).
//!
//! A call with nothing ready and a zero timeout answers at once; with no timeout it
//! parks ([`super::pipe::IoWait::Poll`]) and is evaluated again whenever a pipe changes.
//! A finite timeout needs a timer to end the wait: see [`arm_wait_timeout`].
//!
//! As on Linux (`poll_select_finish`), a call with a nonzero timeout that waited
//! stores the time it had left in its `struct timespec` when it returns, answered or
//! interrupted; a signal ends the wait as `-ERESTARTNOHAND` does: `EINTR` if a handler
//! runs, else (a stop and continue, say) the call restarts and waits only for the rest.

use super::pipe::{self, IoWait, Progress};
use super::{int_argument, Context};
use crate::process::{Description, Tid};
use crate::server::Server;
use crate::signals::{Interrupted, RestartPolicy};
use alloc::vec::Vec;
use linux_personality::fs::inode::{CharacterDevice, Content};
use linux_personality::fs::OpenFileId;
use linux_personality::signal::SignalSet;
use linux_personality::Errno;

pub const POLLIN: u16 = 0x001;
pub const POLLPRI: u16 = 0x002;
pub const POLLOUT: u16 = 0x004;
pub const POLLERR: u16 = 0x008;
pub const POLLHUP: u16 = 0x010;
pub const POLLNVAL: u16 = 0x020;
pub const POLLRDNORM: u16 = 0x040;
pub const POLLWRNORM: u16 = 0x100;

/// What `select` counts as readable, writable and exceptional (Linux's POLLIN_SET,
/// POLLOUT_SET, POLLEX_SET).
const SELECT_READ: u16 = POLLIN | POLLRDNORM | POLLHUP | POLLERR;
const SELECT_WRITE: u16 = POLLOUT | POLLWRNORM | POLLERR;
const SELECT_EXCEPT: u16 = POLLPRI;

/// Size of the kernel's `sigset_t`, which `ppoll`/`pselect6` require as `sigsetsize`.
const SIGSET_SIZE: u64 = 8;
/// `CLOCK_MONOTONIC`, which poll timeouts are measured on.
const CLOCK_MONOTONIC: i32 = 1;
const NANOSECONDS_PER_SECOND: u128 = 1_000_000_000;

/// Which call is waiting, and until when (monotonic nanoseconds; `None`: forever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollWait {
    pub call: PollCall,
    pub deadline: Option<u128>,
}

/// The waiting call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollCall {
    Ppoll,
    Pselect6,
}

/// Asks for the parked thread to be woken at `deadline` (monotonic nanoseconds): the
/// timer service's expiry calls [`pipe::wake_io_waiters`], which re-evaluates the poll,
/// sees the deadline passed and answers it (0, or what became ready).
pub fn arm_wait_timeout(context: &mut Context<'_>, deadline: u128) {
    let left = deadline.saturating_sub(monotonic_now(context));
    let at = context
        .server
        .timers
        .after(u64::try_from(left).unwrap_or(u64::MAX));
    crate::timer::arm_timeout(context.server, context.tid, at);
}

/// Poll readiness of the console (`/dev/console`, `/dev/tty`): writes never wait; reads
/// are ready when the line discipline has a line (or, with ICANON off, VMIN bytes). The
/// console calls [`pipe::wake_io_waiters`] when input arrives.
pub fn console_readiness(context: &Context<'_>) -> u16 {
    let readable = if context.server.console.is_readable() {
        POLLIN | POLLRDNORM
    } else {
        0
    };
    readable | POLLOUT | POLLWRNORM
}

/// The `POLL*` bits ready on a description.
fn readiness(context: &Context<'_>, id: OpenFileId) -> Result<u16, Errno> {
    match context.server.open_files.get(id)? {
        Description::Pipe(end) => Ok(pipe::poll_end(context.server, *end)),
        Description::File(file) => match context.server.fs.inode(file.inode)?.content() {
            Content::CharacterDevice(CharacterDevice::Console | CharacterDevice::Tty) => {
                Ok(console_readiness(context))
            }
            // Regular files, directories and the memory devices never wait.
            _ => Ok(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM),
        },
        Description::Proc(_) => Ok(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM),
    }
}

/// The description behind `fd`, or `None` if it is not open.
fn open_description(context: &mut Context<'_>, fd: u32) -> Result<Option<OpenFileId>, Errno> {
    Ok(context
        .process()?
        .files
        .get(fd)
        .ok()
        .map(|found| found.file))
}

fn monotonic_now(context: &Context<'_>) -> u128 {
    server_monotonic_now(context.server)
}

fn server_monotonic_now(server: &Server) -> u128 {
    server.clocks.now(CLOCK_MONOTONIC).map_or(0, |time| {
        u128::try_from(time.seconds).unwrap_or(0) * NANOSECONDS_PER_SECOND
            + u128::from(time.nanoseconds as u64)
    })
}

/// Where `call`'s `struct timespec` timeout is among its arguments.
fn timeout_argument(call: PollCall, registers: &[u64; 12]) -> u64 {
    match call {
        PollCall::Ppoll => registers[2],
        PollCall::Pselect6 => registers[4],
    }
}

/// The `struct timespec` of the time from `now` to `deadline` (zero if past).
fn time_left(deadline: u128, now: u128) -> [u8; 16] {
    let left = deadline.saturating_sub(now);
    let seconds = u64::try_from(left / NANOSECONDS_PER_SECOND).unwrap_or(i64::MAX as u64);
    let nanoseconds = (left % NANOSECONDS_PER_SECOND) as u64;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seconds.to_le_bytes());
    bytes[8..].copy_from_slice(&nanoseconds.to_le_bytes());
    bytes
}

/// A parked call with a deadline is being interrupted by a signal: stores its time left
/// in its timeout argument, so a restart waits only for the rest.
///
/// # Errors
/// `EFAULT` (or `ESRCH`) if it could not be stored.
pub fn store_time_left(
    server: &mut Server,
    tid: Tid,
    registers: &[u64; 12],
    wait: PollWait,
) -> Result<(), Errno> {
    let Some(deadline) = wait.deadline else {
        return Ok(());
    };
    let bytes = time_left(deadline, server_monotonic_now(server));
    let address = timeout_argument(wait.call, registers);
    let pid = server.threads.get(&tid).ok_or(Errno::ESRCH)?.pid;
    server.with_process_memory(pid, |memory| memory.write(address, &bytes))
}

/// A waited call answers: its time left goes to its timeout argument. A failed store
/// leaves the answer as it is, as on Linux.
fn answer_time_left(context: &mut Context<'_>, call: PollCall, existing: Option<PollWait>) {
    if let Some(PollWait {
        deadline: Some(deadline),
        ..
    }) = existing
    {
        let bytes = time_left(deadline, monotonic_now(context));
        let address = timeout_argument(call, context.registers);
        let _ = context.write_user(address, &bytes);
    }
}

/// Reads a `struct timespec` timeout: `None` for a null pointer (wait forever).
fn read_timeout(context: &mut Context<'_>, address: u64) -> Result<Option<u128>, Errno> {
    if address == 0 {
        return Ok(None);
    }
    let (seconds, nanoseconds) = context.read_pair(address)?;
    if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(
        seconds as u128 * NANOSECONDS_PER_SECOND + nanoseconds as u128,
    ))
}

/// Reads a signal-mask argument (`sigsetsize` must be the kernel's 8); `None` for a
/// null pointer.
fn read_signal_mask(
    context: &mut Context<'_>,
    mask: u64,
    size: u64,
) -> Result<Option<SignalSet>, Errno> {
    if mask == 0 {
        return Ok(None);
    }
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut bytes = [0u8; 8];
    context.read_user(mask, &mut bytes)?;
    Ok(Some(SignalSet::from_bits(u64::from_le_bytes(bytes))))
}

/// Reads `pselect6`'s sixth argument, `struct { const sigset_t *ss; size_t ss_len; }`.
fn read_pselect_mask(context: &mut Context<'_>, address: u64) -> Result<Option<SignalSet>, Errno> {
    if address == 0 {
        return Ok(None);
    }
    let (set, size) = context.read_pair(address)?;
    read_signal_mask(context, set as u64, size as u64)
}

/// Ends a first `ppoll`/`pselect6` call. A call that waits does so with `signal_mask`
/// in place of the thread's mask, as Linux's `set_user_sigmask`: a signal it unblocks
/// (already pending, or sent during the wait) ends the wait with `EINTR` and its
/// handler runs with the old mask saved in the frame; a stop restarts the call after
/// the continue (the delivery path restores the mask if no handler runs). A call that
/// answers at once never changes the mask.
fn finish_with_mask(
    context: &mut Context<'_>,
    signal_mask: Option<SignalSet>,
    progress: Result<Progress, Errno>,
) -> Result<usize, Errno> {
    let Some(mask) = signal_mask else {
        return pipe::finish(context, progress);
    };
    let thread = context
        .server
        .threads
        .get_mut(&context.tid)
        .ok_or(Errno::ESRCH)?;
    if !matches!(progress, Ok(Progress::Block(_))) {
        // A call restarted after a stop still has the mask of its first wait in place.
        thread.signals.restore_saved_mask();
        return pipe::finish(context, progress);
    }
    thread.signals.replace_mask_temporarily(mask);
    if context.server.signal_work(context.tid) {
        // A signal the new mask lets through is already pending: Linux's
        // -ERESTARTNOHAND (EINTR if a handler runs; a stop restarts the call).
        crate::timer::cancel_timeout(context.server, context.tid);
        if let Ok(Progress::Block(IoWait::Poll(wait))) = progress {
            if store_time_left(context.server, context.tid, context.registers, wait).is_err() {
                // Linux cannot restart a call whose time left was not stored.
                return Err(Errno::EINTR);
            }
        }
        interrupt_now(context);
        return Ok(0);
    }
    let result = pipe::finish(context, progress);
    if result.is_err() {
        // Not parked after all (no slot for the reply cap): the mask goes back.
        if let Some(thread) = context.server.threads.get_mut(&context.tid) {
            thread.signals.restore_saved_mask();
        }
    }
    result
}

/// Ends the call being served as interrupted before it waited: signal delivery
/// answers it (`EINTR` past the `svc`, or the `svc` again for a restart).
fn interrupt_now(context: &mut Context<'_>) {
    let registers = *context.registers;
    let svc = registers[sel4::unknown_syscall::FAULT_IP];
    let eintr = Errno::EINTR.as_negative_return();
    let server = &mut *context.server;
    match server.call_context(context.tid, &registers, eintr, svc.wrapping_add(4)) {
        Some(user) => {
            let interrupted = Interrupted::Call {
                svc,
                original_x0: registers[0],
                policy: RestartPolicy::OnlyWithoutHandler,
            };
            server.deliver_and_resume(context.tid, user, interrupted, None);
        }
        None => server.kill_process_of(context.tid, linux_personality::signal::Signal::SIGKILL),
    }
    context.after = super::After::NoReply;
}

/// Decides what a call with nothing ready does: wait, or answer as timed out.
fn wait_or_time_out(
    context: &mut Context<'_>,
    call: PollCall,
    timeout: Option<u128>,
    existing: Option<PollWait>,
) -> Wait {
    if let Some(existing) = existing {
        return match existing.deadline {
            Some(deadline) if monotonic_now(context) >= deadline => Wait::TimedOut,
            _ => Wait::Park(existing),
        };
    }
    match timeout {
        None => Wait::Park(PollWait {
            call,
            deadline: None,
        }),
        Some(0) => Wait::TimedOut,
        Some(duration) => {
            let deadline = monotonic_now(context).saturating_add(duration);
            arm_wait_timeout(context, deadline);
            Wait::Park(PollWait {
                call,
                deadline: Some(deadline),
            })
        }
    }
}

enum Wait {
    Park(PollWait),
    TimedOut,
}

/// Re-evaluates a parked `ppoll`/`pselect6` (its arguments are in the saved registers).
///
/// # Errors
/// As the call.
pub fn retry(context: &mut Context<'_>, wait: PollWait) -> Result<Progress, Errno> {
    let a = *context.registers;
    let progress = match wait.call {
        PollCall::Ppoll => ppoll(context, a[0], a[1], a[2], Some(wait)),
        PollCall::Pselect6 => pselect6(context, a[0], a[1], a[2], a[3], a[4], Some(wait)),
    };
    if !matches!(progress, Ok(Progress::Block(_))) {
        // Answered without a signal: the mask the wait installed goes back.
        if let Some(thread) = context.server.threads.get_mut(&context.tid) {
            thread.signals.restore_saved_mask();
        }
    }
    progress
}

// -------------------------------------------------------------------------------------
// ppoll
// -------------------------------------------------------------------------------------

pub fn sys_ppoll(
    context: &mut Context<'_>,
    fds: u64,
    count: u64,
    timeout: u64,
    mask: u64,
    mask_size: u64,
) -> Result<usize, Errno> {
    let signal_mask = read_signal_mask(context, mask, mask_size)?;
    let progress = ppoll(context, fds, count, timeout, None);
    finish_with_mask(context, signal_mask, progress)
}

fn ppoll(
    context: &mut Context<'_>,
    fds: u64,
    count: u64,
    timeout: u64,
    existing: Option<PollWait>,
) -> Result<Progress, Errno> {
    if count > u64::from(context.process()?.files.limit()) {
        return Err(Errno::EINVAL);
    }
    let timeout = read_timeout(context, timeout)?;
    // struct pollfd { int fd; short events; short revents; }
    let mut entries = context.read_user_vec(fds, count as usize * 8)?;
    let mut ready = 0usize;
    for entry in entries.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let events = u16::from_le_bytes([entry[4], entry[5]]);
        let revents = match u32::try_from(fd) {
            Err(_) => 0,
            Ok(fd) => match open_description(context, fd)? {
                None => POLLNVAL,
                Some(id) => readiness(context, id)? & (events | POLLERR | POLLHUP),
            },
        };
        entry[6..8].copy_from_slice(&revents.to_le_bytes());
        if revents != 0 {
            ready += 1;
        }
    }
    if ready == 0 {
        match wait_or_time_out(context, PollCall::Ppoll, timeout, existing) {
            Wait::Park(wait) => return Ok(Progress::Block(IoWait::Poll(wait))),
            Wait::TimedOut => {}
        }
    }
    context.write_user(fds, &entries)?;
    answer_time_left(context, PollCall::Ppoll, existing);
    Ok(Progress::Done(ready))
}

// -------------------------------------------------------------------------------------
// pselect6
// -------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
pub fn sys_pselect6(
    context: &mut Context<'_>,
    count: u64,
    read_set: u64,
    write_set: u64,
    except_set: u64,
    timeout: u64,
    mask: u64,
) -> Result<usize, Errno> {
    let signal_mask = read_pselect_mask(context, mask)?;
    let progress = pselect6(
        context, count, read_set, write_set, except_set, timeout, None,
    );
    finish_with_mask(context, signal_mask, progress)
}

fn pselect6(
    context: &mut Context<'_>,
    count: u64,
    read_set: u64,
    write_set: u64,
    except_set: u64,
    timeout: u64,
    existing: Option<PollWait>,
) -> Result<Progress, Errno> {
    let count = int_argument(count);
    if count < 0 {
        return Err(Errno::EINVAL);
    }
    // Bits past the descriptor table's size are ignored, as Linux ignores those past
    // its fdtable (at least 64 slots, grown in powers of two).
    let table_size = context
        .process()?
        .files
        .iter()
        .map(|(fd, _)| fd.saturating_add(1))
        .max()
        .unwrap_or(0)
        .next_power_of_two()
        .max(64);
    let count = (count as u32).min(table_size) as usize;
    let timeout = read_timeout(context, timeout)?;
    // fd_set arrays are read and written in whole longs.
    let length = count.div_ceil(64) * 8;
    let mut sets: [(u64, u16, Vec<u8>); 3] = [
        (read_set, SELECT_READ, Vec::new()),
        (write_set, SELECT_WRITE, Vec::new()),
        (except_set, SELECT_EXCEPT, Vec::new()),
    ];
    for (address, _, bits) in sets.iter_mut() {
        if *address != 0 {
            *bits = context.read_user_vec(*address, length)?;
        }
    }
    let mut results: [Vec<u8>; 3] = [
        alloc::vec![0u8; length],
        alloc::vec![0u8; length],
        alloc::vec![0u8; length],
    ];
    let mut ready = 0usize;
    for fd in 0..count {
        let (byte, bit) = (fd / 8, 1u8 << (fd % 8));
        let wanted = sets
            .iter()
            .any(|(_, _, bits)| bits.get(byte).is_some_and(|value| value & bit != 0));
        if !wanted {
            continue;
        }
        let Some(id) = open_description(context, fd as u32)? else {
            return Err(Errno::EBADF);
        };
        let state = readiness(context, id)?;
        for ((_, mask, bits), result) in sets.iter().zip(results.iter_mut()) {
            let asked = bits.get(byte).is_some_and(|value| value & bit != 0);
            if asked && state & mask != 0 {
                if let Some(value) = result.get_mut(byte) {
                    *value |= bit;
                }
                ready += 1;
            }
        }
    }
    if ready == 0 {
        match wait_or_time_out(context, PollCall::Pselect6, timeout, existing) {
            Wait::Park(wait) => return Ok(Progress::Block(IoWait::Poll(wait))),
            Wait::TimedOut => {}
        }
    }
    for ((address, _, _), result) in sets.iter().zip(results.iter()) {
        if *address != 0 {
            context.write_user(*address, result)?;
        }
    }
    answer_time_left(context, PollCall::Pselect6, existing);
    Ok(Progress::Done(ready))
}
