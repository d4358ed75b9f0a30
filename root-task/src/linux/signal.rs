//! Signal system calls: dispositions, masks, pending sets, sending (kill, tkill, tgkill,
//! rt_sigqueueinfo), waiting (rt_sigsuspend, rt_sigtimedwait), the alternate stack and
//! rt_sigreturn. Delivery itself is in [`crate::signals`].

use super::{int_argument, After, Context};
use crate::process::Wait;
use crate::signals::Interrupted;
use linux_personality::signal::frame::{parse_for_sigreturn, FRAME_SIZE};
use linux_personality::signal::info::{SIGINFO_SIZE, SI_TKILL};
use linux_personality::signal::state::{
    check_sigset_size, StackDescription, SIGACTION_SIZE, STACK_T_SIZE,
};
use linux_personality::signal::{
    force_signal, SigAction, SigInfo, SigInfoDetail, Signal, SignalSet,
};
use linux_personality::Errno;
use sel4::cap_type::Tcb;
use sel4::{unknown_syscall, Cap};

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
    if new_action.is_some() {
        // A signal now ignored is discarded from every pending set (Linux's
        // do_sigaction); the call's return delivers the rest.
        let pid = context.pid;
        let server = &mut *context.server;
        if let Some(process) = server.processes.get_mut(&pid) {
            let ignored = SignalSet::from_bits(u64::MAX)
                .iter()
                .filter(|signal| process.actions.ignores(*signal))
                .fold(SignalSet::EMPTY, SignalSet::with);
            process.pending.discard(ignored);
            for tid in &process.threads {
                if let Some(thread) = server.threads.get_mut(tid) {
                    thread.signals.pending.discard(ignored);
                }
            }
        }
    }
    Ok(0)
}

fn read_set(context: &mut Context<'_>, address: u64) -> Result<SignalSet, Errno> {
    let mut bytes = [0u8; 8];
    context.read_user(address, &mut bytes)?;
    Ok(SignalSet::from_bits(u64::from_le_bytes(bytes)))
}

pub fn sys_rt_sigprocmask(
    context: &mut Context<'_>,
    how: u64,
    new: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    check_sigset_size(size)?;
    let new_set = if new != 0 {
        Some(read_set(context, new)?)
    } else {
        None
    };
    let thread = context
        .server
        .threads
        .get_mut(&context.tid)
        .ok_or(Errno::ESRCH)?;
    let mut trial = thread.signals.clone();
    let previous = trial.rt_sigprocmask(how, new_set)?;
    if old != 0 {
        context.write_user(old, &previous.bits().to_le_bytes())?;
    }
    if let Some(thread) = context.server.threads.get_mut(&context.tid) {
        let _ = thread.signals.rt_sigprocmask(how, new_set);
    }
    Ok(0)
}

pub fn sys_rt_sigpending(context: &mut Context<'_>, set: u64, size: u64) -> Result<usize, Errno> {
    check_sigset_size(size)?;
    let process = context
        .server
        .processes
        .get(&context.pid)
        .ok_or(Errno::ESRCH)?;
    let thread = context
        .server
        .threads
        .get(&context.tid)
        .ok_or(Errno::ESRCH)?;
    let pending = thread.signals.rt_sigpending(&process.pending);
    context.write_user(set, &pending.bits().to_le_bytes())?;
    Ok(0)
}

/// The signal argument of kill and friends: 0 checks the target only.
fn signal_argument(signal: u64) -> Result<Option<Signal>, Errno> {
    match signal {
        0 => Ok(None),
        _ => Signal::new(signal).map(Some).ok_or(Errno::EINVAL),
    }
}

pub fn sys_kill(context: &mut Context<'_>, pid: u64, signal: u64) -> Result<usize, Errno> {
    let signal = signal_argument(signal)?;
    let pid = int_argument(pid);
    let caller = context.pid;
    let server = &mut *context.server;
    let targets: alloc::vec::Vec<u32> = match pid {
        0 => {
            let pgid = server
                .table
                .get(caller)
                .map_or(caller, |process| process.pgid);
            server.table.group_members(pgid)
        }
        -1 => server
            .table
            .live_pids()
            .filter(|target| *target != caller && *target != server.init_pid)
            .collect(),
        i32::MIN => return Err(Errno::ESRCH),
        negative if negative < 0 => server.table.group_members(negative.unsigned_abs()),
        positive => alloc::vec![positive as u32],
    };
    let targets: alloc::vec::Vec<u32> = targets
        .into_iter()
        .filter(|target| server.processes.contains_key(target))
        .collect();
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    if let Some(signal) = signal {
        for target in targets {
            server.send_to_process(target, SigInfo::user(signal, caller as i32, 0))?;
        }
    }
    Ok(0)
}

pub fn sys_tgkill(
    context: &mut Context<'_>,
    group: Option<u64>,
    tid: u64,
    signal: u64,
) -> Result<usize, Errno> {
    let tid = int_argument(tid);
    if tid <= 0 || group.is_some_and(|group| int_argument(group) <= 0) {
        return Err(Errno::EINVAL);
    }
    let signal = signal_argument(signal)?;
    let tid = tid as u32;
    let thread = context.server.threads.get(&tid).ok_or(Errno::ESRCH)?;
    if group.is_some_and(|group| group as u32 != thread.pid) {
        return Err(Errno::ESRCH);
    }
    if let Some(signal) = signal {
        let info = SigInfo::thread_kill(signal, context.pid as i32, 0);
        context.server.send_to_thread(tid, info)?;
    }
    Ok(0)
}

pub fn sys_rt_sigqueueinfo(
    context: &mut Context<'_>,
    pid: u64,
    signal: u64,
    info: u64,
) -> Result<usize, Errno> {
    let signal = signal_argument(signal)?;
    let mut bytes = [0u8; SIGINFO_SIZE];
    context.read_user(info, &mut bytes)?;
    let word = |offset: usize| -> i32 {
        let mut value = [0u8; 4];
        value.copy_from_slice(&bytes[offset..offset + 4]);
        i32::from_le_bytes(value)
    };
    let mut value = [0u8; 8];
    value.copy_from_slice(&bytes[24..32]);
    let code = word(8);
    let target = int_argument(pid);
    // Only the kernel may claim kernel codes or SI_TKILL, except towards oneself.
    if (code >= 0 || code == SI_TKILL) && target as u32 != context.pid {
        return Err(Errno::EPERM);
    }
    let Some(signal) = signal else {
        return if context.server.processes.contains_key(&(target as u32)) {
            Ok(0)
        } else {
            Err(Errno::ESRCH)
        };
    };
    let info = SigInfo {
        signal,
        errno: word(4),
        code,
        detail: SigInfoDetail::Queue {
            pid: word(16),
            uid: word(20) as u32,
            value: u64::from_le_bytes(value),
        },
    };
    if target <= 0 {
        return Err(Errno::ESRCH);
    }
    context.server.send_to_process(target as u32, info)?;
    Ok(0)
}

pub fn sys_sigaltstack(context: &mut Context<'_>, new: u64, old: u64) -> Result<usize, Errno> {
    let request = if new != 0 {
        let mut bytes = [0u8; STACK_T_SIZE];
        context.read_user(new, &mut bytes)?;
        Some(StackDescription::parse(&bytes)?)
    } else {
        None
    };
    let sp = context.registers[unknown_syscall::SP];
    let thread = context
        .server
        .threads
        .get_mut(&context.tid)
        .ok_or(Errno::ESRCH)?;
    let mut trial = thread.signals.alternate_stack;
    let previous = trial.sigaltstack(request, sp)?;
    if old != 0 {
        context.write_user(old, &previous.to_bytes())?;
    }
    if let Some(thread) = context.server.threads.get_mut(&context.tid) {
        thread.signals.alternate_stack = trial;
    }
    Ok(0)
}

pub fn sys_rt_sigsuspend(context: &mut Context<'_>, mask: u64, size: u64) -> Result<usize, Errno> {
    check_sigset_size(size)?;
    let mask = read_set(context, mask)?;
    let thread = context
        .server
        .threads
        .get_mut(&context.tid)
        .ok_or(Errno::ESRCH)?;
    thread.signals.replace_mask_temporarily(mask);
    if !context.server.signal_work(context.tid) {
        context
            .server
            .park(context.tid, Wait::Signal, context.registers)
            .map_err(|_| Errno::ENOMEM)?;
        context.after = After::NoReply;
    }
    // A signal already deliverable interrupts it at once (the return delivers it).
    Err(Errno::EINTR)
}

pub fn sys_rt_sigtimedwait(
    context: &mut Context<'_>,
    set: u64,
    info: u64,
    timeout: u64,
    size: u64,
) -> Result<usize, Errno> {
    check_sigset_size(size)?;
    let set = read_set(context, set)?.blockable();
    let mut wait_nanoseconds: Option<u64> = None;
    let zero_timeout = if timeout != 0 {
        let (seconds, nanoseconds) = context.read_pair(timeout)?;
        if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
            return Err(Errno::EINVAL);
        }
        wait_nanoseconds = Some(
            (seconds as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(nanoseconds as u64),
        );
        seconds == 0 && nanoseconds == 0
    } else {
        false
    };
    if let Some(result) = context.server.take_waited(context.tid, set, info) {
        return Ok(result as usize);
    }
    if zero_timeout {
        return Err(Errno::EAGAIN);
    }
    // A finite timeout ends the wait with EAGAIN at its deadline (see
    // `timer::timeout_expired`); without one the wait lasts until a signal comes.
    context
        .server
        .park(
            context.tid,
            Wait::QueuedSignal {
                set,
                info_address: info,
            },
            context.registers,
        )
        .map_err(|_| Errno::ENOMEM)?;
    if let Some(nanoseconds) = wait_nanoseconds {
        let deadline = context.server.timers.after(nanoseconds);
        crate::timer::arm_timeout(context.server, context.tid, deadline);
    }
    context.after = After::NoReply;
    Ok(0)
}

pub fn sys_rt_sigreturn(context: &mut Context<'_>) -> Result<usize, Errno> {
    context.after = After::NoReply;
    let sp = context.registers[unknown_syscall::SP];
    let mut frame = alloc::vec![0u8; FRAME_SIZE];
    let parsed = context
        .read_user(sp, &mut frame)
        .and_then(|()| parse_for_sigreturn(sp, &frame));
    let tid = context.tid;
    let server = &mut *context.server;
    let tcb = server.threads.get(&tid).ok_or(Errno::ESRCH)?.tcb;
    let tcb: Cap<Tcb> = Cap::from_bits(tcb);
    let Ok(mut registers) = tcb.tcb_read_registers(false) else {
        server.kill_process_of(tid, Signal::SIGKILL);
        return Ok(0);
    };
    let svc = context.registers[unknown_syscall::FAULT_IP];
    let trampolines = context.process()?.vdso_base.zip(
        context
            .server
            .vdso
            .as_ref()
            .and_then(|vdso| vdso.trampolines),
    );
    let server = &mut *context.server;
    if let (Ok(_), Some((base, trampolines))) = (&parsed, trampolines) {
        let record = linux_personality::signal::frame::RESERVED_OFFSET;
        let has_fpsimd = frame.get(record..record + 4)
            == Some(&linux_personality::signal::frame::FPSIMD_MAGIC.to_le_bytes()[..]);
        if has_fpsimd && svc != base.wrapping_add(trampolines.restore_svc_offset) {
            // First stage: the thread loads its FP/SIMD registers from the frame, then
            // returns here from the trampoline's svc with the same sp.
            registers.x0 = sp.wrapping_add(crate::signals::FPSIMD_FPSR_OFFSET);
            registers.pc = base.wrapping_add(trampolines.restore_offset);
            registers.sp = sp;
            if tcb.tcb_write_registers(true, &registers).is_err() {
                server.kill_process_of(tid, Signal::SIGKILL);
            }
            return Ok(0);
        }
    }
    match parsed {
        Ok(restored) => {
            if let Some(thread) = server.threads.get_mut(&tid) {
                thread.signals.set_blocked(restored.blocked);
                thread
                    .signals
                    .alternate_stack
                    .restore_from_frame(restored.alternate_stack, restored.registers.sp);
            }
            crate::signals::apply_registers(&mut registers, &restored.registers);
        }
        Err(error) => {
            log::debug!("tid {tid}: rt_sigreturn: bad frame at {sp:#x}: {error:?}");
            // A bad frame: SIGSEGV, as Linux's arm64_notify_segfault.
            let pid = context.pid;
            let server = &mut *context.server;
            if let (Some(thread), Some(process)) =
                (server.threads.get_mut(&tid), server.processes.get_mut(&pid))
            {
                let _ = force_signal(
                    &mut process.actions,
                    &mut thread.signals,
                    SigInfo::kernel(Signal::SIGSEGV),
                );
            }
            registers.pc = context.registers[unknown_syscall::FAULT_IP].wrapping_add(4);
            registers.sp = sp;
        }
    }
    context
        .server
        .deliver_and_resume(tid, registers, Interrupted::No, None);
    Ok(0)
}
