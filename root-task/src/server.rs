//! The process server: its state and the event loop.
//!
//! One endpoint receives every fault of every Linux thread, badged with the thread id.
//! An UnknownSyscall fault is a system call (x8 = number, x0..x5 = arguments) and goes to
//! [`crate::linux::dispatch`]; a VMFault is demand paging or a SIGSEGV/SIGBUS; a
//! UserException is SIGILL/SIGTRAP (or, where `svc` was rewritten, a system call). The
//! server answers with ReplyRecv, or saves the reply cap (CNodeSaveCaller) of a thread
//! whose call must wait and answers later: it never blocks on one process.

use crate::address_space::{Access, FileContents, MemoryFault};
use crate::clock::Clocks;
use crate::objects::{AllocError, Objects};
use crate::process::{Description, Pid, Process, Thread, ThreadState, Tid};
use crate::random::Random;
use crate::vdso::Vdso;
use alloc::collections::{BTreeMap, BTreeSet};
use linux_personality::boot_config::SyscallTrap;
use linux_personality::fs::inode::Content;
use linux_personality::fs::{Fs, InodeId, OpenFileTable};
use linux_personality::process::{ProcessTable, WaitStatus};
use linux_personality::signal::{CoreDump, Signal};
use linux_personality::FileId;
use sel4::cap_type::{CNode, Tcb};
use sel4::{
    init_cap, tcb_flag, unknown_syscall, user_exception, vm_fault, CPtr, Cap, CapRights, FaultType,
    MessageInfo, ObjectType, UserContext,
};

/// Priority of Linux threads (the server runs at 255, so it preempts them).
const PROCESS_PRIORITY: u64 = 100;
/// The fault endpoint's slot in a thread's CNode.
const FAULT_ENDPOINT_SLOT: u64 = 1;
/// ESR exception classes of a UserException.
const EC_UNKNOWN: u64 = 0x00;
const EC_BRK: u64 = 0x3c;

/// How system calls reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapMode {
    /// The kernel's LINUX_SYSCALL flag: every `svc` is an UnknownSyscall fault.
    Flag,
    /// `svc #0` rewritten to `udf` at load time: a UserException per system call.
    Rewrite,
}

/// The whole server state.
pub struct Server {
    pub objects: Objects,
    pub fs: Fs,
    pub open_files: OpenFileTable<Description>,
    pub clocks: Clocks,
    pub vdso: Option<Vdso>,
    pub random: Random,
    pub endpoint: CPtr,
    pub processes: BTreeMap<Pid, Process>,
    pub threads: BTreeMap<Tid, Thread>,
    pub table: ProcessTable,
    pub trap: TrapMode,
    pub init_pid: Pid,
    /// Syscall numbers already reported as unimplemented.
    pub warned: BTreeSet<u64>,
    /// The thread whose message is being handled (its reply is the server's to send).
    pub serving: Option<Tid>,
    /// Threads parked in `futex` waits, keyed by [`crate::linux::futex::key`].
    pub futexes: linux_personality::process::FutexQueues,
    /// Deadlines on the EL1 physical timer.
    pub timers: crate::timer::Timers,
    /// The PL011 console and its line discipline.
    pub console: crate::console::Console,
    /// Pipe buffers, and the bookkeeping that wakes threads waiting on them.
    pub pipes: crate::linux::pipe::Pipes,
    /// CPU-time accounting (`crate::accounting`).
    pub accounting: crate::accounting::Accounting,
}

/// The file system as file-backed pages read it.
pub struct FsFiles<'a>(pub &'a Fs);

impl FileContents for FsFiles<'_> {
    fn contents(&self, file: FileId) -> Option<&[u8]> {
        match self.0.inode(InodeId(file.0)).ok()?.content() {
            Content::Regular(bytes) => Some(bytes),
            _ => None,
        }
    }
}

/// What the handler decided for the thread that sent the message.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// Reply with these fault-reply words (label 0).
    Reply { length: usize, words: [u64; 12] },
    /// Do not reply: the thread is parked (its reply cap saved) or gone.
    None,
}

impl Server {
    /// Creates the fault endpoint.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn create_endpoint(objects: &mut Objects) -> Result<CPtr, AllocError> {
        objects.retype_one(ObjectType::Endpoint, 0)
    }

    /// Serves forever.
    pub fn run(&mut self) -> ! {
        let mut answer = Answer::None;
        loop {
            self.account_idle(crate::arch::counter());
            let (badge, info, registers) = match answer {
                Answer::Reply { length, words } => reply_recv(self.endpoint, length, &words),
                Answer::None => sel4::syscall::recv(self.endpoint, sel4::syscall::Blocking::Block),
            };
            self.account_woken(crate::arch::counter());
            if crate::events::is_notification(badge) {
                self.notified(badge);
                answer = Answer::None;
                continue;
            }
            let words = received_words(registers);
            answer = self.handle(badge as Tid, info, &words);
        }
    }

    /// Interrupts, signalled on the bound notification.
    fn notified(&mut self, word: u64) {
        if word & crate::events::TIMER != 0 {
            crate::timer::serve_interrupt(self);
        }
        if word & crate::events::UART != 0 {
            crate::console::serve_interrupt(self);
        }
    }

    fn handle(&mut self, tid: Tid, info: MessageInfo, words: &[u64; 13]) -> Answer {
        let Some(thread) = self.threads.get_mut(&tid) else {
            log::warn!("message from unknown badge {tid}; ignored");
            return Answer::None;
        };
        self.accounting.message_from(tid, &mut thread.times);
        self.serving = Some(tid);
        let answer = self.handle_fault(tid, info, words);
        self.serving = None;
        answer
    }

    fn handle_fault(&mut self, tid: Tid, info: MessageInfo, words: &[u64; 13]) -> Answer {
        match FaultType::from_label(info.label()) {
            Some(FaultType::UnknownSyscall) => self.system_call(tid, words),
            Some(FaultType::VmFault) => self.memory_fault(tid, words),
            Some(FaultType::UserException) => self.user_exception(tid, words),
            _ => {
                log::warn!(
                    "thread {tid}: unexpected fault label {}; killed",
                    info.label()
                );
                self.kill_process_of(tid, Signal::SIGKILL);
                Answer::None
            }
        }
    }

    fn system_call(&mut self, tid: Tid, words: &[u64; 13]) -> Answer {
        let mut registers = [0u64; 12];
        registers.copy_from_slice(&words[..12]);
        let number = words[unknown_syscall::SYSCALL];
        match crate::linux::dispatch(self, tid, number, &registers) {
            Some(result) if self.signal_work(tid) => {
                self.return_from_call(tid, &registers, result);
                Answer::None
            }
            Some(result) => {
                registers[0] = result;
                registers[unknown_syscall::FAULT_IP] =
                    registers[unknown_syscall::FAULT_IP].wrapping_add(4);
                Answer::Reply {
                    length: 12,
                    words: registers,
                }
            }
            None => Answer::None,
        }
    }

    fn memory_fault(&mut self, tid: Tid, words: &[u64; 13]) -> Answer {
        let address = words[vm_fault::ADDR];
        let instruction = words[vm_fault::PREFETCH_FAULT] != 0;
        let status = words[vm_fault::FSR];
        // ESR ISS bit 6 (WnR) for data aborts.
        let access = if instruction {
            Access::Execute
        } else if status & (1 << 6) != 0 {
            Access::Write
        } else {
            Access::Read
        };
        let Some(pid) = self.threads.get(&tid).map(|thread| thread.pid) else {
            return Answer::None;
        };
        let owner = self.memory_owner(pid);
        let Server {
            objects,
            processes,
            fs,
            ..
        } = self;
        let Some(process) = processes.get_mut(&owner) else {
            return Answer::None;
        };
        match process
            .space
            .resolve(objects, &FsFiles(fs), address, access)
            .map(|_| process.space.resident_pages())
        {
            Ok(resident) if self.signal_work(tid) => {
                self.account_page_fault(tid, resident);
                self.fault_return(tid, words[vm_fault::IP]);
                Answer::None
            }
            Ok(resident) => {
                self.account_page_fault(tid, resident);
                Answer::Reply {
                    length: 0,
                    words: [0; 12],
                }
            }
            Err(MemoryFault::OutOfMemory) => {
                // No frame for a demand-paged page: as Linux's OOM killer would, the
                // process dies with SIGKILL and its memory goes back to the pool.
                log::warn!("out of memory: pid {pid} killed (fault at {address:#x})");
                self.kill_process_of(tid, Signal::SIGKILL);
                Answer::None
            }
            Err(fault) => {
                use linux_personality::signal::info::{BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR};
                let (signal, code) = match fault {
                    MemoryFault::Segmentation { mapped: true } => (Signal::SIGSEGV, SEGV_ACCERR),
                    MemoryFault::Segmentation { mapped: false } | MemoryFault::OutOfMemory => {
                        (Signal::SIGSEGV, SEGV_MAPERR)
                    }
                    MemoryFault::Bus => (Signal::SIGBUS, BUS_ADRERR),
                };
                log::debug!(
                    "pid {pid} tid {tid}: {access:?} at {address:#x} (pc {:#x}): {fault:?}",
                    words[vm_fault::IP]
                );
                let info = linux_personality::signal::SigInfo::fault(signal, code, address);
                // The data/instruction abort syndrome, as Linux's esr_context reports it.
                let class: u64 = if instruction { 0x20 } else { 0x24 };
                let syndrome = (class << 26) | (1 << 25) | (status & 0x1ff_ffff);
                let sp = self.fault_stack_pointer(tid);
                self.fault_signal(tid, info, syndrome, words[vm_fault::IP], sp);
                Answer::None
            }
        }
    }

    fn user_exception(&mut self, tid: Tid, words: &[u64; 13]) -> Answer {
        let fault_ip = words[user_exception::FAULT_IP];
        let syndrome = words[user_exception::NUMBER];
        let class = (syndrome >> 26) & 0x3f;
        if class == EC_UNKNOWN
            && self.trap == TrapMode::Rewrite
            && self.is_rewritten_svc(tid, fault_ip)
        {
            return self.rewritten_system_call(tid, words);
        }
        if class == EC_UNKNOWN || class == crate::cpu_id::EC_SYSTEM_REGISTER {
            if let Some(answer) = self.emulate_id_register_read(tid, words) {
                return answer;
            }
        }
        use linux_personality::signal::info::{ILL_ILLOPC, TRAP_BRKPT};
        let (signal, code) = if class == EC_BRK {
            (Signal::SIGTRAP, TRAP_BRKPT)
        } else {
            (Signal::SIGILL, ILL_ILLOPC)
        };
        log::debug!("tid {tid}: user exception ESR {syndrome:#x} at {fault_ip:#x}");
        let info = linux_personality::signal::SigInfo::fault(signal, code, fault_ip);
        self.fault_signal(tid, info, syndrome, fault_ip, words[user_exception::SP]);
        Answer::None
    }

    fn is_rewritten_svc(&mut self, tid: Tid, address: u64) -> bool {
        self.fetch_instruction(tid, address)
            .is_some_and(linux_personality::svc_rewrite::is_rewritten_svc)
    }

    /// A system call through the `udf` trap: the registers come from ReadRegisters, the
    /// result goes back with WriteRegisters (a UserException reply sets only pc, sp and
    /// spsr).
    fn rewritten_system_call(&mut self, tid: Tid, words: &[u64; 13]) -> Answer {
        let Some(tcb) = self.threads.get(&tid).map(|thread| thread.tcb) else {
            return Answer::None;
        };
        let tcb: Cap<Tcb> = Cap::from_bits(tcb);
        let Ok(mut context) = tcb.tcb_read_registers(false) else {
            self.kill_process_of(tid, Signal::SIGKILL);
            return Answer::None;
        };
        let registers = [
            context.x0,
            context.x1,
            context.x2,
            context.x3,
            context.x4,
            context.x5,
            context.x6,
            context.x7,
            words[user_exception::FAULT_IP],
            words[user_exception::SP],
            context.x30,
            words[user_exception::SPSR],
        ];
        match crate::linux::dispatch(self, tid, context.x8, &registers) {
            Some(result) if self.signal_work(tid) => {
                context.x0 = result;
                context.pc = words[user_exception::FAULT_IP].wrapping_add(4);
                context.sp = words[user_exception::SP];
                context.spsr = words[user_exception::SPSR];
                self.deliver_and_resume(tid, context, crate::signals::Interrupted::No, None);
                Answer::None
            }
            Some(result) => {
                context.x0 = result;
                context.pc = words[user_exception::FAULT_IP].wrapping_add(4);
                if tcb.tcb_write_registers(false, &context).is_err() {
                    self.kill_process_of(tid, Signal::SIGKILL);
                    return Answer::None;
                }
                let mut reply = [0u64; 12];
                reply[0] = context.pc;
                reply[1] = words[user_exception::SP];
                reply[2] = words[user_exception::SPSR];
                Answer::Reply {
                    length: user_exception::REPLY_LENGTH,
                    words: reply,
                }
            }
            None => Answer::None,
        }
    }

    // ---------------------------------------------------------------------------------
    // Threads
    // ---------------------------------------------------------------------------------

    /// Creates a thread of `pid` with id `tid`, starting with `context` (resumed).
    ///
    /// # Errors
    /// [`AllocError`]; nothing is left allocated.
    pub fn start_thread(
        &mut self,
        pid: Pid,
        tid: Tid,
        context: &UserContext,
    ) -> Result<(), AllocError> {
        let Some(vspace) = self
            .processes
            .get(&self.memory_owner(pid))
            .map(|process| process.space.vspace())
        else {
            return Err(AllocError::OutOfMemory);
        };
        let cnode = self.objects.allocate_cnode()?;
        let tcb = match self.objects.allocate_tcb() {
            Ok(tcb) => tcb,
            Err(error) => {
                self.objects.free_cnode(cnode);
                return Err(error);
            }
        };
        if let Err(error) = self.configure_thread(tcb, cnode, vspace, tid, context) {
            self.objects.free_tcb(tcb);
            self.objects.free_cnode(cnode);
            return Err(error);
        }
        self.threads.insert(
            tid,
            Thread {
                tid,
                pid,
                tcb,
                cnode,
                state: ThreadState::Running,
                clear_child_tid: 0,
                robust_list: 0,
                signals: linux_personality::signal::ThreadSignals::new(),
                fault_address: 0,
                times: linux_personality::process::cpu_time::ThreadTimes::new(),
            },
        );
        if let Some(process) = self.processes.get_mut(&pid) {
            process.threads.push(tid);
        }
        let tcb: Cap<Tcb> = Cap::from_bits(tcb);
        tcb.tcb_write_registers(true, context)?;
        self.account_resumed(tid);
        Ok(())
    }

    fn configure_thread(
        &mut self,
        tcb: CPtr,
        cnode: CPtr,
        vspace: CPtr,
        tid: Tid,
        context: &UserContext,
    ) -> Result<(), AllocError> {
        let _ = context;
        let cnode_cap: Cap<CNode> = Cap::from_bits(cnode);
        // Send + GrantReply: what seL4 requires of a fault endpoint cap.
        let rights = CapRights::new(true, false, false, true);
        cnode_cap.cnode_mint(
            FAULT_ENDPOINT_SLOT,
            crate::objects::PROCESS_CNODE_RADIX,
            self.objects.root(),
            self.endpoint,
            Objects::slot_depth(),
            rights,
            u64::from(tid),
        )?;
        let tcb_cap: Cap<Tcb> = Cap::from_bits(tcb);
        // The CNode resolves one bit; a 63-bit zero guard makes every cptr a full word.
        let guard = 64 - crate::objects::PROCESS_CNODE_RADIX;
        tcb_cap.tcb_set_space(
            FAULT_ENDPOINT_SLOT,
            cnode_cap,
            guard,
            Cap::from_bits(vspace),
        )?;
        let authority: Cap<Tcb> = Cap::from_bits(init_cap::INIT_THREAD_TCB);
        tcb_cap.tcb_set_sched_params(authority, 0, PROCESS_PRIORITY)?;
        let wanted = match self.trap {
            TrapMode::Flag => tcb_flag::LINUX_SYSCALL,
            TrapMode::Rewrite => 0,
        };
        let flags = tcb_cap.tcb_set_flags(tcb_flag::LINUX_SYSCALL, wanted)?;
        if self.trap == TrapMode::Flag && flags & tcb_flag::LINUX_SYSCALL == 0 {
            // Decided at boot by probing; a kernel that changes its mind is a bug.
            log::error!("the kernel dropped the LINUX_SYSCALL flag");
        }
        Ok(())
    }

    /// Runs `f` on process `pid`'s memory (for answering a parked thread).
    ///
    /// # Errors
    /// `ESRCH` if the process is gone, else what `f` returns.
    pub fn with_process_memory<R>(
        &mut self,
        pid: Pid,
        f: impl FnOnce(&mut crate::user_memory::UserMemory<'_>) -> Result<R, linux_personality::Errno>,
    ) -> Result<R, linux_personality::Errno> {
        let Server {
            objects,
            processes,
            fs,
            ..
        } = self;
        let process = processes
            .get_mut(&pid)
            .ok_or(linux_personality::Errno::ESRCH)?;
        let files = FsFiles(fs);
        let mut memory = crate::user_memory::UserMemory {
            space: &mut process.space,
            objects,
            files: &files,
        };
        f(&mut memory)
    }

    /// Points thread `tid`'s TCB at its process's current VSpace (after execve replaced
    /// the address space), keeping its CNode and fault endpoint.
    ///
    /// # Errors
    /// [`AllocError::Kernel`] if the kernel refuses.
    pub fn set_thread_vspace(&mut self, tid: Tid) -> Result<(), AllocError> {
        let Some(thread) = self.threads.get(&tid) else {
            return Ok(());
        };
        let Some(vspace) = self
            .processes
            .get(&thread.pid)
            .map(|process| process.space.vspace())
        else {
            return Ok(());
        };
        let tcb: Cap<Tcb> = Cap::from_bits(thread.tcb);
        let guard = 64 - crate::objects::PROCESS_CNODE_RADIX;
        tcb.tcb_set_space(
            FAULT_ENDPOINT_SLOT,
            Cap::from_bits(thread.cnode),
            guard,
            Cap::from_bits(vspace),
        )?;
        Ok(())
    }

    /// Removes a thread: its TCB stops and is recycled, a saved reply cap is dropped.
    pub fn remove_thread(&mut self, tid: Tid) {
        self.account_thread_removed(tid);
        let Some(thread) = self.threads.remove(&tid) else {
            return;
        };
        log::trace!("thread {} of pid {} removed", thread.tid, thread.pid);
        crate::timer::cancel_timeout(self, tid);
        self.console.forget_reader(tid);
        if let ThreadState::Parked { reply, .. } = thread.state {
            self.objects.delete_cap(reply);
        }
        self.futexes
            .cancel(linux_personality::process::WaiterId(u64::from(tid)));
        self.objects.free_tcb(thread.tcb);
        self.objects.free_cnode(thread.cnode);
        if let Some(process) = self.processes.get_mut(&thread.pid) {
            process.threads.retain(|other| *other != tid);
        }
    }

    /// The process whose address space `pid` runs in: its vfork parent while it has
    /// one, else itself.
    pub fn memory_owner(&self, pid: Pid) -> Pid {
        self.processes
            .get(&pid)
            .and_then(|process| process.vfork_parent)
            .unwrap_or(pid)
    }

    /// Saves the current caller's reply cap so the thread can be answered later.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn park(
        &mut self,
        tid: Tid,
        wait: crate::process::Wait,
        registers: &[u64; 12],
    ) -> Result<(), AllocError> {
        let slot = self.objects.allocate_slot()?;
        let root = self.objects.root();
        if let Err(error) = root.cnode_save_caller(slot, Objects::slot_depth()) {
            self.objects.cspace.free(slot);
            return Err(error.into());
        }
        if let Some(thread) = self.threads.get_mut(&tid) {
            thread.state = ThreadState::Parked {
                reply: slot,
                wait,
                registers: *registers,
            };
            self.accounting.blocked(&mut thread.times);
        }
        Ok(())
    }

    /// Answers a parked thread's system call with `result` (x0), restoring the registers
    /// saved when it was parked.
    pub fn unpark(&mut self, tid: Tid, result: u64) {
        // Whatever woke it, a timeout armed for this wait must not fire into a later one.
        crate::timer::cancel_timeout(self, tid);
        let Some(thread) = self.threads.get_mut(&tid) else {
            return;
        };
        let ThreadState::Parked {
            reply, registers, ..
        } = thread.state
        else {
            return;
        };
        thread.state = ThreadState::Running;
        // Answered now, or resumed by signal delivery (which stops it again if it holds
        // or ends it): counted as running from here.
        self.accounting.clock.resume(&mut thread.times);
        let tcb: Cap<Tcb> = Cap::from_bits(thread.tcb);
        let next = registers[unknown_syscall::FAULT_IP].wrapping_add(4);
        if self.signal_work(tid) {
            self.objects.delete_cap(reply);
            match self.call_context(tid, &registers, result, next) {
                Some(context) => {
                    self.deliver_and_resume(tid, context, crate::signals::Interrupted::No, None);
                }
                None => self.kill_process_of(tid, Signal::SIGKILL),
            }
            return;
        }
        let (length, words) = match self.trap {
            TrapMode::Flag => {
                let mut words = registers;
                words[0] = result;
                words[unknown_syscall::FAULT_IP] = next;
                (12, words)
            }
            TrapMode::Rewrite => {
                // A UserException reply sets only pc, sp and spsr: x0 goes in first.
                match tcb.tcb_read_registers(false) {
                    Ok(mut context) => {
                        context.x0 = result;
                        context.pc = next;
                        if let Err(error) = tcb.tcb_write_registers(false, &context) {
                            log::warn!("tid {tid}: registers not written at wake-up: {error:?}");
                        }
                    }
                    Err(error) => log::warn!("tid {tid}: registers unreadable: {error:?}"),
                }
                let mut words = [0u64; 12];
                words[0] = next;
                words[1] = registers[unknown_syscall::SP];
                words[2] = registers[unknown_syscall::SPSR];
                (user_exception::REPLY_LENGTH, words)
            }
        };
        send_reply(reply, length, &words);
        self.objects.cspace.free(reply);
    }

    // ---------------------------------------------------------------------------------
    // Process exit
    // ---------------------------------------------------------------------------------

    /// Kills the process of `tid` by `signal` (default action: terminate).
    pub fn kill_process_of(&mut self, tid: Tid, signal: Signal) {
        let Some(pid) = self.threads.get(&tid).map(|thread| thread.pid) else {
            return;
        };
        self.exit_process(
            pid,
            WaitStatus::Signaled {
                signal,
                core: CoreDump::NotDumped,
            },
        );
    }

    /// Ends process `pid` with `status`: threads, descriptors and memory go back to the
    /// pools, the parent learns of it, and init's exit ends the system.
    pub fn exit_process(&mut self, pid: Pid, status: WaitStatus) {
        // Robust futexes and clear-tid words live in memory that may outlive the
        // process (shared mappings, a vfork parent's memory): released before it goes.
        for tid in self
            .processes
            .get(&pid)
            .map(|process| process.threads.clone())
            .unwrap_or_default()
        {
            crate::linux::futex::thread_exiting(self, tid);
        }
        let Some(mut process) = self.processes.remove(&pid) else {
            return;
        };
        log::debug!("pid {}: exit with {status:?}", process.pid);
        crate::linux::process::release_vfork_parent(self, &mut process);
        for tid in core::mem::take(&mut process.threads) {
            self.remove_thread(tid);
        }
        for file in process.files.close_all() {
            self.release_description(file);
        }
        let resident = process.space.resident_pages() as u64;
        process.space.destroy(&mut self.objects);
        self.account_process_exited(pid, resident);
        crate::shared_file::drain_unmapped(&mut self.objects, &mut self.fs);
        self.timers.process_exited(pid);
        if pid == self.init_pid {
            let code = status.shell_status();
            sel4_root_task::debug_println!("sel4-linux: init exited with status {code}");
            if let Some(vdso) = &self.vdso {
                vdso.report();
            }
            let (frames, free) = self.objects.frames.counts();
            log::info!("frames: {frames} retyped, {free} free at exit");
            loop {
                sel4::syscall::debug_halt();
            }
        }
        match self.table.exit(pid, status) {
            Ok(outcome) => {
                if outcome.notify.is_none() {
                    let _ = self.table.release(pid);
                    self.account_released(pid);
                }
                if let Some((parent, _)) = outcome.notify {
                    if crate::linux::process::parent_discards_children(self, parent) {
                        let _ = self.table.reap(parent, pid);
                        self.account_released(pid);
                    }
                }
                if let Some((parent, signal)) = outcome.notify {
                    crate::linux::process::child_changed(self, parent);
                    if let Some(signal) = Signal::new(u64::from(signal)).filter(|_| signal != 0) {
                        self.send_child_signal(parent, signal, pid, status);
                    }
                }
                for zombie in outcome.reparented_zombies {
                    let _ = zombie;
                    crate::linux::process::child_changed(self, self.init_pid);
                }
            }
            Err(error) => log::warn!("pid {pid}: process table exit: {error}"),
        }
    }

    /// A resolved page fault of `tid` at `pc` with signals to deliver first.
    fn fault_return(&mut self, tid: Tid, pc: u64) {
        let Some(tcb) = self.threads.get(&tid).map(|thread| thread.tcb) else {
            return;
        };
        let tcb: Cap<Tcb> = Cap::from_bits(tcb);
        match tcb.tcb_read_registers(false) {
            Ok(mut context) => {
                context.pc = pc;
                self.deliver_and_resume(tid, context, crate::signals::Interrupted::No, None);
            }
            Err(_) => self.kill_process_of(tid, Signal::SIGKILL),
        }
    }

    /// The stack pointer of `tid` stopped in a fault.
    fn fault_stack_pointer(&self, tid: Tid) -> u64 {
        self.threads
            .get(&tid)
            .map(|thread| Cap::<Tcb>::from_bits(thread.tcb))
            .and_then(|tcb| tcb.tcb_read_registers(false).ok())
            .map_or(0, |context| context.sp)
    }

    /// Drops one reference to an open file description, closing it at the last.
    pub fn release_description(&mut self, file: linux_personality::fs::OpenFileId) {
        if let Some(description) = self.open_files.release(file) {
            match description {
                Description::File(open) => linux_personality::fs::ops::close(&mut self.fs, &open),
                Description::Pipe(end) => crate::linux::pipe::close_end(self, end),
                Description::Proc(_) => {}
            }
        }
    }

    /// Reports a failure to start a program on the console (the first process has no
    /// other way to say why it died) and returns the exit status Linux shells use.
    pub fn report_exec_failure(path: &[u8], error: &crate::loader::LoadError) -> u8 {
        let path = core::str::from_utf8(path).unwrap_or("(non-UTF-8 path)");
        match error {
            crate::loader::LoadError::Elf(elf) => {
                sel4_root_task::debug_println!("sel4-linux: {path}: {elf}");
            }
            crate::loader::LoadError::Stack(stack) => {
                sel4_root_task::debug_println!("sel4-linux: {path}: {stack}");
            }
            crate::loader::LoadError::Memory(memory) => {
                sel4_root_task::debug_println!("sel4-linux: {path}: out of memory ({memory:?})");
            }
        }
        126
    }

    /// Whether the kernel has the LINUX_SYSCALL flag: set it on a scratch TCB and see.
    pub fn probe_trap(objects: &mut Objects, requested: SyscallTrap) -> TrapMode {
        if requested == SyscallTrap::Rewrite {
            return TrapMode::Rewrite;
        }
        let Ok(tcb) = objects.allocate_tcb() else {
            return TrapMode::Rewrite;
        };
        let cap: Cap<Tcb> = Cap::from_bits(tcb);
        let mode = match cap.tcb_set_flags(0, tcb_flag::LINUX_SYSCALL) {
            Ok(flags) if flags & tcb_flag::LINUX_SYSCALL != 0 => TrapMode::Flag,
            _ => TrapMode::Rewrite,
        };
        let _ = cap.tcb_set_flags(tcb_flag::LINUX_SYSCALL, 0);
        objects.free_tcb(tcb);
        mode
    }
}

/// The message words of a fault: MR0..MR3 from the registers, the rest from the IPC
/// buffer.
fn received_words(registers: [u64; 4]) -> [u64; 13] {
    let mut words = [0u64; 13];
    words[..4].copy_from_slice(&registers);
    sel4::with_ipc_buffer(|buffer| {
        for (index, word) in words.iter_mut().enumerate().skip(4) {
            *word = buffer.msg.get(index).copied().unwrap_or(0);
        }
    });
    words
}

/// ReplyRecv with a fault reply of `length` words (label 0).
fn reply_recv(endpoint: CPtr, length: usize, words: &[u64; 12]) -> (u64, MessageInfo, [u64; 4]) {
    let length = length.min(words.len());
    sel4::with_ipc_buffer(|buffer| {
        if length > 4 {
            buffer.msg[4..length].copy_from_slice(&words[4..length]);
        }
    });
    let info = MessageInfo::new(0, 0, 0, length as u64);
    sel4::syscall::reply_recv(endpoint, info, [words[0], words[1], words[2], words[3]])
}

/// Answers through a saved reply cap (Send on it), with a fault reply of `length` words.
fn send_reply(reply: CPtr, length: usize, words: &[u64; 12]) {
    let length = length.min(words.len());
    sel4::with_ipc_buffer(|buffer| {
        if length > 4 {
            buffer.msg[4..length].copy_from_slice(&words[4..length]);
        }
    });
    sel4::syscall::send(
        reply,
        MessageInfo::new(0, 0, 0, length as u64),
        [words[0], words[1], words[2], words[3]],
        sel4::syscall::Blocking::NonBlocking,
    );
}
