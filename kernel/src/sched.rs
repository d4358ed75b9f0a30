//! The scheduler: 256 priorities, a run queue per priority with a two-level bitmap for an
//! O(1) pick of the highest, round-robin within a priority on timer-driven time slices,
//! and switching the CPU between threads (address space, FP/SIMD registers, user
//! registers). Follows seL4's non-MCS scheduler: the running thread is off the queues;
//! `action` says whether to resume it, switch to a woken thread or choose anew.
//!
//! FP/SIMD registers switch lazily: they keep the state of the last thread that used
//! them (`fpu_owner`), and any other thread runs with user FP/SIMD access trapped; its
//! first FP/SIMD instruction traps to [`take_fpu`], which saves the owner's state and
//! loads the thread's. Threads that never touch FP/SIMD (servers, fault handlers,
//! most IPC partners) thus cost nothing to switch to.
//!
//! When no thread is runnable the kernel idles in [`schedule`], waiting for interrupts
//! (seL4's idle thread, run in the kernel: it needs no registers of its own).

use crate::arch::user_context::UserRegisters;
use crate::arch::{cpu, fpu, mmu};
use crate::object::tcb::{thread, ThreadState};
use core::cell::UnsafeCell;

/// Priorities 0..=255.
const PRIORITIES: usize = 256;
/// Ticks in a time slice (seL4's default `CONFIG_TIME_SLICE`, 5 ticks of 2 ms).
const TIME_SLICE_TICKS: u64 = 5;

/// What [`schedule`] does next (seL4's `ksSchedulerAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    ResumeCurrent,
    ChooseNew,
    SwitchTo(u64),
}

#[derive(Clone, Copy)]
struct Queue {
    head: u64,
    tail: u64,
}

struct SchedulerState {
    /// The TCB object that runs or last ran (0: idle).
    current: u64,
    action: Action,
    /// The TTBR0 value installed (VSpace address | ASID << 48; 0: none yet).
    installed_root: u64,
    /// The thread whose FP/SIMD state is in the CPU registers (0: nobody's).
    fpu_owner: u64,
    /// What CPACR_EL1 allows EL0 now (mirrored so it is written only on change).
    user_fp_access: cpu::UserFpAccess,
    queues: [Queue; PRIORITIES],
    /// Bit `p % 64` of `bitmap[p / 64]`: queue `p` is non-empty; bit `i` of `top`:
    /// `bitmap[i]` is non-zero.
    top: u64,
    bitmap: [u64; PRIORITIES / 64],
}

struct SchedulerCell(UnsafeCell<SchedulerState>);
// SAFETY: the kernel runs on one CPU with interrupts masked; no two accesses overlap.
unsafe impl Sync for SchedulerCell {}

static SCHEDULER: SchedulerCell = SchedulerCell(UnsafeCell::new(SchedulerState {
    current: 0,
    action: Action::ResumeCurrent,
    installed_root: 0,
    fpu_owner: 0,
    user_fp_access: cpu::UserFpAccess::Trapped,
    queues: [Queue { head: 0, tail: 0 }; PRIORITIES],
    top: 0,
    bitmap: [0; PRIORITIES / 64],
}));

fn state() -> &'static mut SchedulerState {
    // SAFETY: single-threaded kernel; callers do not hold the reference across calls
    // that take it again.
    unsafe { &mut *SCHEDULER.0.get() }
}

/// The TCB object of the thread that entered the kernel.
pub fn current_thread() -> u64 {
    let current = state().current;
    if current == 0 {
        crate::kernel_panic!("no current thread");
    }
    current
}

/// The current thread's [`Tcb`](crate::object::tcb::Tcb).
pub fn current_tcb() -> &'static mut crate::object::tcb::Tcb {
    thread(current_thread())
}

/// Runs the root task for the first time.
pub fn start(root: u64) -> ! {
    crate::object::tcb::setup_reply_master(root);
    state().current = root;
    state().action = Action::ResumeCurrent;
    let registers = schedule();
    // SAFETY: `schedule` installed the thread's address space; its registers live in its
    // TCB, which is never freed while it runs.
    unsafe { crate::arch::vectors::resume_user(registers) }
}

/// Picks the thread to run after a kernel entry, makes it current and puts its address
/// space and FP/SIMD state on the CPU; idles until one is runnable. Returns the
/// registers to resume.
#[inline(always)]
pub fn schedule() -> *mut UserRegisters {
    // Most kernel entries resume the thread that made them (an invocation, a signal, a
    // non-blocking receive): the first round of the loop below, for that case, without
    // its frame.
    let current = state().current;
    if state().action == Action::ResumeCurrent
        && current != 0
        && thread(current).state == ThreadState::Running
    {
        if let Some(root) = crate::fastpath::vspace_root(current) {
            install_root(root);
            switch_fpu(current);
            return &raw mut thread(current).registers;
        }
    }
    schedule_loop()
}

/// [`schedule`] in general.
#[inline(never)]
fn schedule_loop() -> *mut UserRegisters {
    loop {
        choose();
        let current = state().current;
        if current == 0 {
            idle();
            continue;
        }
        if thread(current).state == ThreadState::Restart {
            let tcb = thread(current);
            tcb.registers.pc = tcb.fault_ip;
            tcb.state = ThreadState::Running;
        }
        if !install_vspace(current) {
            // seL4 runs such a thread on an empty address space, where its first
            // instruction fetch faults; deliver that fault without running it.
            let pc = thread(current).registers.pc;
            // The fault happens at the instruction it was about to fetch: FaultIP is that
            // pc, not the address of the thread's last kernel entry.
            thread(current).fault_ip = pc;
            crate::fault::raise(
                current,
                crate::fault::Fault::VirtualMemory {
                    address: pc,
                    status: crate::arch::vectors::TRANSLATION_FAULT_LEVEL_0,
                    access: crate::fault::MemoryAccess::InstructionFetch,
                },
            );
            continue;
        }
        switch_fpu(current);
        return &raw mut thread(current).registers;
    }
}

/// seL4's `schedule`: acts on `action`, leaving `current` as the thread to run (0: idle).
fn choose() {
    let scheduler = state();
    let action = scheduler.action;
    if action == Action::ResumeCurrent {
        return;
    }
    let current = scheduler.current;
    let was_runnable = current != 0 && thread(current).state.is_runnable();
    if was_runnable {
        enqueue(current, End::Head);
    }
    match action {
        Action::ResumeCurrent => {}
        Action::ChooseNew => choose_new(),
        Action::SwitchTo(candidate) if !thread(candidate).state.is_runnable() => choose_new(),
        Action::SwitchTo(candidate) => {
            let candidate_priority = thread(candidate).priority;
            let fast_fail =
                current == 0 || candidate_priority < thread(current).priority || !was_runnable;
            if fast_fail && !is_highest_priority(candidate_priority) {
                enqueue(candidate, End::Head);
                choose_new();
            } else if was_runnable && candidate_priority == thread(current).priority {
                enqueue(candidate, End::Tail);
                choose_new();
            } else {
                switch_to_thread(candidate);
            }
        }
    }
    state().action = Action::ResumeCurrent;
}

/// Makes the highest-priority queued thread current (idle if none).
fn choose_new() {
    let scheduler = state();
    if scheduler.top == 0 {
        scheduler.current = 0;
        return;
    }
    let word = 63 - scheduler.top.leading_zeros() as usize;
    let bit = 63 - scheduler.bitmap[word].leading_zeros() as usize;
    let head = scheduler.queues[word * 64 + bit].head;
    switch_to_thread(head);
}

/// Whether no queued thread has a higher priority than `priority` (seL4's
/// `isHighestPrio`): a thread of that priority would be chosen over all of them.
#[inline(always)]
pub fn is_highest_priority(priority: u8) -> bool {
    let scheduler = state();
    if scheduler.top == 0 {
        return true;
    }
    let word = 63 - scheduler.top.leading_zeros() as usize;
    let bit = 63 - scheduler.bitmap[word].leading_zeros() as usize;
    usize::from(priority) >= word * 64 + bit
}

fn switch_to_thread(tcb: u64) {
    dequeue(tcb);
    state().current = tcb;
}

/// Waits for and handles interrupts while no thread is runnable.
fn idle() {
    cpu::wait_for_interrupt();
    crate::interrupt::handle_pending();
}

/// Installs the address space named by the thread's VSpace slot; false if it has none.
fn install_vspace(tcb: u64) -> bool {
    match crate::fastpath::vspace_root(tcb) {
        Some(root) => {
            install_root(root);
            true
        }
        None => false,
    }
}

/// Makes `root` (a VSpace address | ASID << 48) the user address space, unless it
/// already is: threads of one address space switch without touching TTBR0.
#[inline(always)]
fn install_root(root: u64) {
    let scheduler = state();
    if scheduler.installed_root != root {
        let asid = (root >> 48) as u16;
        mmu::activate_user_space(root & ((1 << 48) - 1), asid);
        scheduler.installed_root = root;
    }
}

/// Lets `tcb` use FP/SIMD without trapping if the registers hold its state, and traps
/// its first use otherwise (see the module documentation).
#[inline(always)]
fn switch_fpu(tcb: u64) {
    let scheduler = state();
    let access = if scheduler.fpu_owner == tcb {
        cpu::UserFpAccess::Enabled
    } else {
        cpu::UserFpAccess::Trapped
    };
    if scheduler.user_fp_access != access {
        cpu::set_user_fp_access(access);
        scheduler.user_fp_access = access;
    }
}

/// The current thread `tcb` used FP/SIMD while trapped: saves the registers for their
/// owner, loads `tcb`'s state and lets it continue (it re-executes the instruction).
pub fn take_fpu(tcb: u64) {
    let scheduler = state();
    if scheduler.fpu_owner != tcb {
        if scheduler.fpu_owner != 0 {
            fpu::save(&mut thread(scheduler.fpu_owner).fp_state);
        }
        fpu::restore(&thread(tcb).fp_state);
        scheduler.fpu_owner = tcb;
    }
    switch_fpu(tcb);
}

/// Whether the scheduler will resume the current thread unless told otherwise: the
/// state at every kernel entry, which the fastpath checks before acting for it.
#[inline(always)]
pub fn resumes_current() -> bool {
    state().action == Action::ResumeCurrent
}

/// The fastpath's switch: `tcb`, runnable and not queued, whose priority the fastpath
/// found to be the highest runnable while the current thread has just blocked, becomes
/// current on address space `vspace_root` (from its VSpace slot). The scheduler's own
/// choice would be the same thread (see `choose`), so the queues are left alone. Returns
/// its registers.
#[inline(always)]
pub fn switch_to_partner(tcb: u64, vspace_root: u64) -> *mut UserRegisters {
    state().current = tcb;
    install_root(vspace_root);
    switch_fpu(tcb);
    &raw mut thread(tcb).registers
}

/// Forgets the scheduler's references to a suspended TCB about to be destroyed: its
/// FP/SIMD registers are not saved, and if it is the current thread a new one is chosen
/// at kernel exit (it is Inactive, so it is not picked again).
pub fn forget(tcb: u64) {
    let scheduler = state();
    if scheduler.fpu_owner == tcb {
        scheduler.fpu_owner = 0;
    }
    if scheduler.current == tcb || scheduler.action == Action::SwitchTo(tcb) {
        scheduler.action = Action::ChooseNew;
    }
}

/// Which end of a run queue a thread joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// seL4's `tcbSchedEnqueue`: runs next among its priority.
    Head,
    /// seL4's `tcbSchedAppend`: runs after the others of its priority.
    Tail,
}

/// Puts a runnable thread on its priority's run queue (nothing if already queued).
pub fn enqueue(tcb: u64, end: End) {
    let tcb_ref = thread(tcb);
    if tcb_ref.queued {
        return;
    }
    let priority = usize::from(tcb_ref.priority);
    let scheduler = state();
    let queue = scheduler.queues[priority];
    match end {
        End::Head => {
            tcb_ref.sched_prev = 0;
            tcb_ref.sched_next = queue.head;
            tcb_ref.queued = true;
            if queue.head == 0 {
                scheduler.queues[priority].tail = tcb;
            } else {
                thread(queue.head).sched_prev = tcb;
            }
            scheduler.queues[priority].head = tcb;
        }
        End::Tail => {
            tcb_ref.sched_next = 0;
            tcb_ref.sched_prev = queue.tail;
            tcb_ref.queued = true;
            if queue.tail == 0 {
                scheduler.queues[priority].head = tcb;
            } else {
                thread(queue.tail).sched_next = tcb;
            }
            scheduler.queues[priority].tail = tcb;
        }
    }
    scheduler.bitmap[priority / 64] |= 1 << (priority % 64);
    scheduler.top |= 1 << (priority / 64);
}

/// Takes a thread off its run queue (nothing if not queued).
pub fn dequeue(tcb: u64) {
    let tcb_ref = thread(tcb);
    if !tcb_ref.queued {
        return;
    }
    let priority = usize::from(tcb_ref.priority);
    let (previous, next) = (tcb_ref.sched_prev, tcb_ref.sched_next);
    tcb_ref.queued = false;
    tcb_ref.sched_prev = 0;
    tcb_ref.sched_next = 0;
    let scheduler = state();
    if previous == 0 {
        scheduler.queues[priority].head = next;
    } else {
        thread(previous).sched_next = next;
    }
    if next == 0 {
        scheduler.queues[priority].tail = previous;
    } else {
        thread(next).sched_prev = previous;
    }
    if scheduler.queues[priority].head == 0 {
        scheduler.bitmap[priority / 64] &= !(1 << (priority % 64));
        if scheduler.bitmap[priority / 64] == 0 {
            scheduler.top &= !(1 << (priority / 64));
        }
    }
}

/// seL4's `rescheduleRequired`: choose anew at the next kernel exit.
pub fn reschedule_required() {
    let scheduler = state();
    if let Action::SwitchTo(candidate) = scheduler.action {
        enqueue(candidate, End::Head);
    }
    state().action = Action::ChooseNew;
}

/// seL4's `possibleSwitchTo`: a thread became runnable; run it next if the scheduler
/// agrees at kernel exit.
pub fn possible_switch_to(tcb: u64) {
    let scheduler = state();
    if scheduler.action != Action::ResumeCurrent {
        reschedule_required();
        enqueue(tcb, End::Head);
    } else {
        scheduler.action = Action::SwitchTo(tcb);
    }
}

/// seL4's `setThreadState`: also asks for a new choice if the current thread stopped
/// being runnable.
pub fn set_thread_state(tcb: u64, new_state: ThreadState) {
    thread(tcb).state = new_state;
    let scheduler = state();
    if scheduler.action == Action::SwitchTo(tcb) && !new_state.is_runnable() {
        scheduler.action = Action::ChooseNew;
    }
    if tcb == scheduler.current
        && scheduler.action == Action::ResumeCurrent
        && !new_state.is_runnable()
    {
        reschedule_required();
    }
}

/// `seL4_Yield`: the current thread goes behind the others of its priority.
pub fn yield_current() {
    let current = current_thread();
    dequeue(current);
    enqueue(current, End::Tail);
    reschedule_required();
}

/// The kernel tick: charges the running thread; at the end of its time slice it goes
/// behind the others of its priority.
pub fn timer_tick() {
    let current = state().current;
    if current == 0 || thread(current).state != ThreadState::Running {
        return;
    }
    let tcb = thread(current);
    tcb.ticks_used += 1;
    if tcb.ticks_used >= TIME_SLICE_TICKS {
        tcb.ticks_used = 0;
        enqueue(current, End::Tail);
        reschedule_required();
    }
}

/// seL4's `suspend`: cancels the thread's IPC and makes it Inactive, off the run queue.
/// A thread suspended while running resumes after the instruction it was at.
pub fn suspend(tcb: u64) {
    crate::ipc::cancel_ipc(tcb);
    let tcb_ref = thread(tcb);
    if tcb_ref.state == ThreadState::Running {
        tcb_ref.fault_ip = tcb_ref.registers.pc;
    }
    set_thread_state(tcb, ThreadState::Inactive);
    dequeue(tcb);
}

/// seL4's `restart`: a stopped thread (Inactive or waiting for a reply) re-executes the
/// instruction at its FaultIP; others are left alone.
pub fn restart(tcb: u64) {
    if !thread(tcb).state.is_stopped() {
        return;
    }
    crate::ipc::cancel_ipc(tcb);
    crate::object::tcb::setup_reply_master(tcb);
    set_thread_state(tcb, ThreadState::Restart);
    enqueue(tcb, End::Head);
    possible_switch_to(tcb);
}

/// seL4's `setPriority`: a queued thread moves to its new priority's queue; the
/// scheduler re-decides at kernel exit.
pub fn set_priority(tcb: u64, priority: u8) {
    let tcb_ref = thread(tcb);
    if !tcb_ref.state.is_runnable() {
        tcb_ref.priority = priority;
        return;
    }
    if tcb_ref.queued {
        dequeue(tcb);
        thread(tcb).priority = priority;
        enqueue(tcb, End::Head);
    } else {
        tcb_ref.priority = priority;
    }
    if tcb == state().current {
        reschedule_required();
    } else {
        possible_switch_to(tcb);
    }
}

/// Prints the run queues (DebugDumpScheduler), at info level.
pub fn dump() {
    let scheduler = state();
    crate::log!(Info, "scheduler: current {:#x}", scheduler.current);
    for (priority, queue) in scheduler.queues.iter().enumerate() {
        let mut tcb = queue.head;
        while tcb != 0 {
            let tcb_ref = thread(tcb);
            crate::log!(
                Info,
                "  prio {priority} {:#x} \"{}\" {:?}",
                tcb,
                tcb_ref.name(),
                tcb_ref.state
            );
            tcb = tcb_ref.sched_next;
        }
    }
}
