//! Signal delivery: sending (kill, tgkill, faults, SIGCHLD), taking the next deliverable
//! signal when a thread leaves the server, writing the aarch64 `rt_sigframe` and
//! restarting the thread at its handler, stopping and continuing processes.
//!
//! A thread is resumed after delivery by TCBWriteRegisters with resume set, whatever
//! brought it to the server (a system call, a fault, a parked call, or a suspension of
//! a thread running in user mode): the kernel drops the pending fault reply and restarts
//! the thread at the written registers, so every path delivers the same way.
//!
//! FP/SIMD registers: the kernel's TCB interface cannot read or write them, so the
//! thread moves them itself through two code sequences the server places in the vDSO
//! pages ([`crate::vdso::Trampolines`]): a handler is entered through one that stores
//! FPSR, FPCR and q0..q31 into the frame's `fpsimd_context` (it clobbers x3..x5, which
//! the frame holds), and `rt_sigreturn` first sends the thread through one that loads
//! them from the frame and calls `rt_sigreturn` again, which then restores the general
//! registers. Without a vDSO the record holds zeros and FP/SIMD registers are left as
//! the handler leaves them.

use crate::process::{Pid, ThreadState, Tid, Wait};
use crate::server::{FsFiles, Server};
use alloc::vec::Vec;
use linux_personality::process::WaitStatus;
use linux_personality::signal::frame::{
    build_signal_frame, FloatingPointRegisters, FrameRequest, UserRegisters,
};
use linux_personality::signal::info::{CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED};
use linux_personality::signal::state::{
    force_signal, force_sigsegv, send_effects, send_signal, SA_NOCLDSTOP, SA_RESTART,
};
use linux_personality::signal::{
    CoreDump, Delivery, SigAction, SigInfo, SigInfoDetail, Signal, SignalSet,
};
use linux_personality::Errno;
use sel4::cap_type::Tcb;
use sel4::{unknown_syscall, Cap, UserContext};

/// Offset of the `fpsimd_context`'s `fpsr` in a frame this server builds (the record
/// comes first in `__reserved`, after its 8-byte header).
pub const FPSIMD_FPSR_OFFSET: u64 = linux_personality::signal::frame::RESERVED_OFFSET as u64 + 8;

/// Whether Linux restarts an interrupted call after a handler (`-ERESTARTSYS`) or only
/// when no handler runs (`-ERESTARTNOHAND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restarted after a handler with `SA_RESTART` (wait4, read, ...).
    WithSaRestart,
    /// `EINTR` whenever a handler runs (rt_sigsuspend, rt_sigtimedwait, poll).
    OnlyWithoutHandler,
}

/// Whether the thread leaves a system call that a signal interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// No: resume with the registers as given.
    No,
    /// Yes: the given registers return `-EINTR` past the `svc`; a restart re-executes
    /// the `svc` at `svc` with the original `x0`.
    Call {
        svc: u64,
        original_x0: u64,
        policy: RestartPolicy,
    },
}

impl Interrupted {
    fn restart(self, context: &mut UserContext) {
        if let Interrupted::Call {
            svc, original_x0, ..
        } = self
        {
            context.pc = svc;
            context.x0 = original_x0;
        }
    }

    fn before_handler(self, context: &mut UserContext, action: &SigAction) {
        if let Interrupted::Call { policy, .. } = self {
            if policy == RestartPolicy::WithSaRestart && action.has_flag(SA_RESTART) {
                self.restart(context);
            }
        }
    }
}

/// What to do after one round of [`Server::deliver_and_resume`].
enum Step {
    Resume(UserContext),
    Hold(UserContext),
    Exit(Pid, WaitStatus),
    Stop(Pid, Signal),
    Retry,
    Gone,
}

/// The restart policy Linux uses for a call parked in `wait`.
fn policy_of(wait: &Wait) -> RestartPolicy {
    match wait {
        // Linux ends these with EINTR whenever a handler runs, SA_RESTART or not.
        Wait::Signal
        | Wait::QueuedSignal { .. }
        | Wait::Sleep { .. }
        | Wait::CpuSleep { .. }
        | Wait::Io(crate::linux::pipe::IoWait::Poll(_)) => RestartPolicy::OnlyWithoutHandler,
        _ => RestartPolicy::WithSaRestart,
    }
}

fn to_registers(context: &UserContext) -> UserRegisters {
    let c = context;
    UserRegisters {
        x: [
            c.x0, c.x1, c.x2, c.x3, c.x4, c.x5, c.x6, c.x7, c.x8, c.x9, c.x10, c.x11, c.x12, c.x13,
            c.x14, c.x15, c.x16, c.x17, c.x18, c.x19, c.x20, c.x21, c.x22, c.x23, c.x24, c.x25,
            c.x26, c.x27, c.x28, c.x29, c.x30,
        ],
        sp: c.sp,
        pc: c.pc,
        // The kernel keeps A and F masked in a thread's SPSR; EL0 sees only the flags.
        pstate: c.spsr & linux_personality::signal::frame::PSTATE_NZCV_MASK,
    }
}

/// Copies `registers` into `context` (the TLS registers are kept).
pub fn apply_registers(context: &mut UserContext, registers: &UserRegisters) {
    let [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15, x16, x17, x18, x19, x20, x21, x22, x23, x24, x25, x26, x27, x28, x29, x30] =
        registers.x;
    *context = UserContext {
        pc: registers.pc,
        sp: registers.sp,
        spsr: registers.pstate,
        x0,
        x1,
        x2,
        x3,
        x4,
        x5,
        x6,
        x7,
        x8,
        x9,
        x10,
        x11,
        x12,
        x13,
        x14,
        x15,
        x16,
        x17,
        x18,
        x19,
        x20,
        x21,
        x22,
        x23,
        x24,
        x25,
        x26,
        x27,
        x28,
        x29,
        x30,
        tpidr_el0: context.tpidr_el0,
        tpidrro_el0: context.tpidrro_el0,
    };
}

/// The `si_code` and `si_status` of a `SIGCHLD` for `status`.
fn child_code(status: WaitStatus) -> (i32, i32) {
    match status {
        WaitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
        WaitStatus::Signaled {
            signal,
            core: CoreDump::Dumped,
        } => (CLD_DUMPED, i32::from(signal.number())),
        WaitStatus::Signaled { signal, .. } => (CLD_KILLED, i32::from(signal.number())),
        WaitStatus::Stopped(signal) => (
            linux_personality::signal::info::CLD_STOPPED,
            i32::from(signal.number()),
        ),
        WaitStatus::Continued => (CLD_CONTINUED, i32::from(Signal::SIGCONT.number())),
    }
}

impl Server {
    /// True if `tid` must not simply return to user mode: a signal is deliverable or
    /// its process is stopped.
    pub fn signal_work(&self, tid: Tid) -> bool {
        let Some(thread) = self.threads.get(&tid) else {
            return false;
        };
        let Some(process) = self.processes.get(&thread.pid) else {
            return false;
        };
        process.stopped.is_some() || thread.signals.has_deliverable(&process.pending)
    }

    /// The full registers of `tid`, stopped in a system call described by `registers`
    /// (x0..x7, FaultIP, SP, LR, SPSR), returning `x0` at `pc`.
    pub fn call_context(
        &self,
        tid: Tid,
        registers: &[u64; 12],
        x0: u64,
        pc: u64,
    ) -> Option<UserContext> {
        let tcb: Cap<Tcb> = Cap::from_bits(self.threads.get(&tid)?.tcb);
        let mut context = tcb.tcb_read_registers(false).ok()?;
        context.x0 = x0;
        context.x1 = registers[1];
        context.x2 = registers[2];
        context.x3 = registers[3];
        context.x4 = registers[4];
        context.x5 = registers[5];
        context.x6 = registers[6];
        context.x7 = registers[7];
        context.pc = pc;
        context.sp = registers[unknown_syscall::SP];
        context.x30 = registers[unknown_syscall::LR];
        context.spsr = registers[unknown_syscall::SPSR];
        Some(context)
    }

    /// Returns `tid` from a system call with `result`, delivering signals first.
    pub fn return_from_call(&mut self, tid: Tid, registers: &[u64; 12], result: u64) {
        let svc = registers[unknown_syscall::FAULT_IP];
        match self.call_context(tid, registers, result, svc.wrapping_add(4)) {
            Some(context) => self.deliver_and_resume(tid, context, Interrupted::No, None),
            None => self.kill_process_of(tid, Signal::SIGKILL),
        }
    }

    /// Takes `tid`'s deliverable signals and resumes it with `context`: at a handler
    /// (frame written), with its own registers, or not at all (the process ended or
    /// stopped). `syndrome` is the ESR of the fault that raised a pending fault signal.
    pub fn deliver_and_resume(
        &mut self,
        tid: Tid,
        mut context: UserContext,
        mut interrupted: Interrupted,
        syndrome: Option<u64>,
    ) {
        loop {
            let step = self.delivery_step(tid, &mut context, &mut interrupted, syndrome);
            let Some(tcb) = self.threads.get(&tid).map(|thread| thread.tcb) else {
                return;
            };
            let tcb: Cap<Tcb> = Cap::from_bits(tcb);
            match step {
                Step::Resume(context) => {
                    if let Err(error) = tcb.tcb_write_registers(true, &context) {
                        log::warn!("tid {tid}: not resumed: {error:?}");
                        self.kill_process_of(tid, Signal::SIGKILL);
                        return;
                    }
                    self.account_resumed(tid);
                    return;
                }
                Step::Hold(context) => {
                    self.account_stopped(tid);
                    if tcb.tcb_write_registers(false, &context).is_err()
                        || tcb.tcb_suspend().is_err()
                    {
                        log::warn!("tid {tid}: not held for the stop");
                    }
                    return;
                }
                Step::Exit(pid, status) => {
                    self.exit_process(pid, status);
                    return;
                }
                Step::Stop(pid, signal) => self.stop_process(pid, signal),
                Step::Retry => {}
                Step::Gone => return,
            }
        }
    }

    fn delivery_step(
        &mut self,
        tid: Tid,
        context: &mut UserContext,
        interrupted: &mut Interrupted,
        syndrome: Option<u64>,
    ) -> Step {
        let Server {
            threads,
            processes,
            objects,
            fs,
            vdso,
            ..
        } = self;
        let Some(thread) = threads.get_mut(&tid) else {
            return Step::Gone;
        };
        let Some(process) = processes.get_mut(&thread.pid) else {
            return Step::Gone;
        };
        if let Some(held) = process.stopped.as_mut() {
            // Held until SIGCONT; an interrupted call is restarted then.
            interrupted.restart(context);
            held.push(tid);
            return Step::Hold(*context);
        }
        let delivery = thread
            .signals
            .next_delivery(&mut process.actions, &mut process.pending);
        match delivery {
            None => {
                thread.signals.restore_saved_mask();
                interrupted.restart(context);
                Step::Resume(*context)
            }
            Some(Delivery::Terminate { info, core }) => Step::Exit(
                process.pid,
                WaitStatus::Signaled {
                    signal: info.signal,
                    core,
                },
            ),
            Some(Delivery::Stop { info }) => Step::Stop(process.pid, info.signal),
            Some(Delivery::Handler { info, action }) => {
                interrupted.before_handler(context, &action);
                *interrupted = Interrupted::No;
                let registers = to_registers(context);
                let vdso_sigreturn = match (process.vdso_base, vdso.as_ref()) {
                    (Some(base), Some(vdso)) => base.wrapping_add(vdso.sigreturn_offset),
                    _ => 0,
                };
                let from_fault = info.is_from_kernel() && info.signal.is_synchronous();
                let floating_point = FloatingPointRegisters::default();
                let request = FrameRequest {
                    info: &info,
                    action: &action,
                    registers: &registers,
                    floating_point: &floating_point,
                    saved_mask: thread.signals.mask_to_save(),
                    alternate_stack: &thread.signals.alternate_stack,
                    fault_address: thread.fault_address,
                    exception_syndrome: if from_fault { syndrome } else { None },
                    vdso_sigreturn,
                };
                let files = FsFiles(fs);
                let mut memory = crate::user_memory::UserMemory {
                    space: &mut process.space,
                    objects,
                    files: &files,
                };
                let written = build_signal_frame(&request)
                    .and_then(|frame| memory.write(frame.address, &frame.bytes).map(|()| frame));
                match written {
                    Ok(frame) => {
                        thread.signals.enter_handler(info.signal, &action);
                        let mut handler = frame.handler;
                        let trampolines = vdso.as_ref().and_then(|vdso| vdso.trampolines);
                        if let (Some(base), Some(trampolines)) = (process.vdso_base, trampolines) {
                            // The thread stores its FP/SIMD registers in the frame itself.
                            handler.x[3] = handler.pc;
                            handler.x[4] = frame.address + FPSIMD_FPSR_OFFSET;
                            handler.pc = base.wrapping_add(trampolines.save_offset);
                        }
                        apply_registers(context, &handler);
                        Step::Resume(*context)
                    }
                    Err(_) => {
                        log::debug!("tid {tid}: no room for a {} frame", info.signal);
                        let _ =
                            force_sigsegv(&mut process.actions, &mut thread.signals, info.signal);
                        Step::Retry
                    }
                }
            }
        }
    }

    /// A fault raised `info` in `tid` (stopped at `pc` with `sp`): force it and deliver.
    pub fn fault_signal(&mut self, tid: Tid, info: SigInfo, syndrome: u64, pc: u64, sp: u64) {
        let Some(thread) = self.threads.get_mut(&tid) else {
            return;
        };
        let Some(process) = self.processes.get_mut(&thread.pid) else {
            return;
        };
        if let SigInfoDetail::Fault { address } = info.detail {
            thread.fault_address = address;
        }
        if force_signal(&mut process.actions, &mut thread.signals, info).is_err() {
            self.kill_process_of(tid, info.signal);
            return;
        }
        let tcb: Cap<Tcb> = Cap::from_bits(thread.tcb);
        match tcb.tcb_read_registers(false) {
            Ok(mut context) => {
                context.pc = pc;
                context.sp = sp;
                self.deliver_and_resume(tid, context, Interrupted::No, Some(syndrome));
            }
            Err(_) => self.kill_process_of(tid, info.signal),
        }
    }

    /// Sends `info` to process `pid` (`kill`).
    ///
    /// # Errors
    /// `ESRCH` if there is no such process; `EAGAIN` if the queue is full.
    pub fn send_to_process(&mut self, pid: Pid, info: SigInfo) -> Result<(), Errno> {
        let leader = {
            let process = self.processes.get(&pid).ok_or(Errno::ESRCH)?;
            process.threads.first().copied()
        };
        if !self.prepare_send(pid, info.signal) {
            return Ok(());
        }
        let blocked = leader
            .and_then(|tid| self.threads.get(&tid))
            .map_or(SignalSet::EMPTY, |thread| thread.signals.blocked());
        let process = self.processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
        send_signal(&process.actions, blocked, &mut process.pending, info)?;
        let threads = process.threads.clone();
        for tid in threads {
            self.notify_thread(tid);
        }
        Ok(())
    }

    /// Sends `info` to thread `tid` (`tkill`, `tgkill`).
    ///
    /// # Errors
    /// `ESRCH` if there is no such thread; `EAGAIN` if the queue is full.
    pub fn send_to_thread(&mut self, tid: Tid, info: SigInfo) -> Result<(), Errno> {
        let pid = self.threads.get(&tid).ok_or(Errno::ESRCH)?.pid;
        if !self.prepare_send(pid, info.signal) {
            return Ok(());
        }
        let process = self.processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let thread = self.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
        let blocked = thread.signals.blocked();
        send_signal(&process.actions, blocked, &mut thread.signals.pending, info)?;
        self.notify_thread(tid);
        Ok(())
    }

    /// Linux's `prepare_signal`: discards, continues, and SIGKILL ends the process at
    /// once. False if nothing is left to queue.
    fn prepare_send(&mut self, pid: Pid, signal: Signal) -> bool {
        let effects = send_effects(signal);
        if !effects.discard.is_empty() {
            if let Some(process) = self.processes.get_mut(&pid) {
                process.pending.discard(effects.discard);
                for tid in &process.threads {
                    if let Some(thread) = self.threads.get_mut(tid) {
                        thread.signals.pending.discard(effects.discard);
                    }
                }
            }
        }
        if signal == Signal::SIGKILL {
            self.exit_process(
                pid,
                WaitStatus::Signaled {
                    signal,
                    core: CoreDump::NotDumped,
                },
            );
            return false;
        }
        if effects.resumes_stopped {
            self.continue_process(pid);
        }
        true
    }

    /// A signal was queued for `tid` or its process: wake it if it waits, or bring it
    /// into the server if it runs in user mode. The thread being served now takes its
    /// signals when its call returns.
    pub fn notify_thread(&mut self, tid: Tid) {
        if self.serving == Some(tid) {
            return;
        }
        let Some(thread) = self.threads.get(&tid) else {
            return;
        };
        let held = self
            .processes
            .get(&thread.pid)
            .and_then(|process| process.stopped.as_ref())
            .is_some_and(|held| held.contains(&tid));
        match thread.state {
            ThreadState::Parked {
                reply,
                wait,
                registers,
            } => {
                if let Wait::QueuedSignal { set, info_address } = wait {
                    if let Some(result) = self.take_waited(tid, set, info_address) {
                        self.unpark(tid, result);
                        return;
                    }
                }
                if !self.signal_work(tid) {
                    return;
                }
                if crate::timer::leave_wait(self, tid, &wait).is_err() {
                    log::debug!("tid {tid}: time left not stored (bad pointer)");
                }
                self.objects.delete_cap(reply);
                if let Some(thread) = self.threads.get_mut(&tid) {
                    thread.state = ThreadState::Running;
                }
                let svc = registers[unknown_syscall::FAULT_IP];
                let eintr = Errno::EINTR.as_negative_return();
                match self.call_context(tid, &registers, eintr, svc.wrapping_add(4)) {
                    Some(context) => {
                        let interrupted = Interrupted::Call {
                            svc,
                            original_x0: registers[0],
                            policy: policy_of(&wait),
                        };
                        self.deliver_and_resume(tid, context, interrupted, None);
                    }
                    None => self.kill_process_of(tid, Signal::SIGKILL),
                }
            }
            ThreadState::Running => {
                if held || !self.signal_work(tid) {
                    return;
                }
                // Running in user mode (or queued to fault): stop it where it is.
                let tcb: Cap<Tcb> = Cap::from_bits(thread.tcb);
                match tcb.tcb_read_registers(true) {
                    Ok(context) => self.deliver_and_resume(tid, context, Interrupted::No, None),
                    Err(error) => log::warn!("tid {tid}: not interrupted: {error:?}"),
                }
            }
        }
    }

    /// For `rt_sigtimedwait`: takes the lowest pending signal of `set` for `tid` and
    /// writes its `siginfo_t` to `info_address` (if not 0); its number, or `-EFAULT`.
    pub fn take_waited(&mut self, tid: Tid, set: SignalSet, info_address: u64) -> Option<u64> {
        let Server {
            threads,
            processes,
            objects,
            fs,
            ..
        } = self;
        let thread = threads.get_mut(&tid)?;
        let process = processes.get_mut(&thread.pid)?;
        let info = match thread
            .signals
            .pending
            .set()
            .intersection(set)
            .next_to_deliver()
        {
            Some(signal) => thread.signals.pending.take(signal),
            None => {
                let signal = process.pending.set().intersection(set).next_to_deliver()?;
                process.pending.take(signal)
            }
        }?;
        if info_address != 0 {
            let files = FsFiles(fs);
            let mut memory = crate::user_memory::UserMemory {
                space: &mut process.space,
                objects,
                files: &files,
            };
            if let Err(errno) = memory.write(info_address, &info.to_bytes()) {
                return Some(errno.as_negative_return());
            }
        }
        Some(u64::from(info.signal.number()))
    }

    /// Stops process `pid` by `signal`: its running threads are suspended, its parent
    /// told (wait4 WUNTRACED, SIGCHLD unless SA_NOCLDSTOP).
    pub fn stop_process(&mut self, pid: Pid, signal: Signal) {
        let Some(process) = self.processes.get_mut(&pid) else {
            return;
        };
        if process.stopped.is_some() {
            return;
        }
        let mut held = Vec::new();
        for tid in &process.threads {
            let Some(thread) = self.threads.get(tid) else {
                continue;
            };
            if self.serving == Some(*tid) || thread.state != ThreadState::Running {
                continue;
            }
            let tcb: Cap<Tcb> = Cap::from_bits(thread.tcb);
            // Suspend, then write back what was read so the restart resumes there.
            if let Ok(context) = tcb.tcb_read_registers(true) {
                let _ = tcb.tcb_write_registers(false, &context);
                held.push(*tid);
            }
        }
        for tid in &held {
            if let Some(thread) = self.threads.get_mut(tid) {
                self.accounting.clock.stop(&mut thread.times);
            }
        }
        process.stopped = Some(held);
        let _ = self.table.record_stop(pid, signal);
        self.tell_parent(pid, WaitStatus::Stopped(signal));
    }

    /// Continues a stopped process `pid` (SIGCONT).
    pub fn continue_process(&mut self, pid: Pid) {
        let Some(held) = self
            .processes
            .get_mut(&pid)
            .and_then(|process| process.stopped.take())
        else {
            return;
        };
        for tid in held {
            if let Some(thread) = self.threads.get(&tid) {
                let tcb: Cap<Tcb> = Cap::from_bits(thread.tcb);
                if let Err(error) = tcb.tcb_resume() {
                    log::warn!("tid {tid}: not continued: {error:?}");
                } else {
                    self.account_resumed(tid);
                }
            }
        }
        let _ = self.table.record_continue(pid);
        self.tell_parent(pid, WaitStatus::Continued);
    }

    /// A stop or continue of `pid`: wake the parent's waiters and send it SIGCHLD.
    fn tell_parent(&mut self, pid: Pid, status: WaitStatus) {
        let Some(parent) = self.table.get(pid).map(|process| process.parent) else {
            return;
        };
        crate::linux::process::child_changed(self, parent);
        let quiet = self.processes.get(&parent).is_none_or(|process| {
            process
                .actions
                .action(Signal::SIGCHLD)
                .has_flag(SA_NOCLDSTOP)
        });
        if !quiet {
            self.send_child_signal(parent, Signal::SIGCHLD, pid, status);
        }
    }

    /// Sends `signal` (normally SIGCHLD) about child `child` with `status` to `parent`.
    pub fn send_child_signal(
        &mut self,
        parent: Pid,
        signal: Signal,
        child: Pid,
        status: WaitStatus,
    ) {
        let (code, value) = child_code(status);
        let info = SigInfo {
            signal,
            errno: 0,
            code,
            detail: SigInfoDetail::Child {
                pid: child as i32,
                uid: 0,
                status: value,
                user_time: 0,
                system_time: 0,
            },
        };
        if let Err(error) = self.send_to_process(parent, info) {
            log::debug!("pid {parent}: {signal} about {child} not sent: {error}");
        }
    }
}
