//! Signal system calls. For now dispositions and masks are recorded (linux-personality's
//! `SignalActions` and the thread's mask) but no signal is delivered to a handler: a
//! fault kills the process with its signal's wait status.

use super::Context;
use linux_personality::signal::state::{check_sigset_size, SIGACTION_SIZE};
use linux_personality::signal::{SigAction, SignalSet};
use linux_personality::Errno;

pub fn sys_rt_sigaction(
    context: &mut Context<'_>,
    signal: u64,
    new: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    check_sigset_size(size)?;
    let new_action = if new != 0 {
        let mut bytes = [0u8; SIGACTION_SIZE];
        context.read_user(new, &mut bytes)?;
        Some(SigAction::parse(&bytes)?)
    } else {
        None
    };
    let change = context
        .process()?
        .actions
        .rt_sigaction(signal, new_action)?;
    if old != 0 {
        context.write_user(old, &change.old.to_bytes())?;
    }
    Ok(0)
}

pub fn sys_rt_sigprocmask(
    context: &mut Context<'_>,
    how: u64,
    new: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    check_sigset_size(size)?;
    let current = context
        .server
        .threads
        .get(&context.tid)
        .ok_or(Errno::ESRCH)?
        .signal_mask;
    let new_set = if new != 0 {
        let mut bytes = [0u8; 8];
        context.read_user(new, &mut bytes)?;
        Some(SignalSet::from_bits(u64::from_le_bytes(bytes)))
    } else {
        None
    };
    let updated = match (how, new_set) {
        (_, None) => current,
        (SIG_BLOCK, Some(set)) => current.union(set),
        (SIG_UNBLOCK, Some(set)) => current.difference(set),
        (SIG_SETMASK, Some(set)) => set,
        _ => return Err(Errno::EINVAL),
    }
    .blockable();
    if old != 0 {
        context.write_user(old, &current.bits().to_le_bytes())?;
    }
    if let Some(thread) = context.server.threads.get_mut(&context.tid) {
        thread.signal_mask = updated;
    }
    Ok(0)
}
