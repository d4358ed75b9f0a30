//! The scheduler: which thread runs, and switching the CPU between threads (address
//! space, FP/SIMD registers, user registers).
//!
//! Boot creates one thread, the root task; the run queues of the full object model come
//! with TCB invocations.

use crate::arch::user_context::UserRegisters;
use crate::arch::{cpu, fpu, mmu, vectors};
use crate::object::tcb::{tcb_at, tcb_slot, tcb_slot_pointer, Tcb, ThreadState};
use core::cell::UnsafeCell;
use kernel_core::{Cap, Slot};

struct SchedulerState {
    /// The TCB object whose registers are live on the CPU (0: none yet).
    current: u64,
    /// The root task's TCB (the only thread so far).
    root: u64,
}

struct SchedulerCell(UnsafeCell<SchedulerState>);
// SAFETY: the kernel runs on one CPU with interrupts masked; no two accesses overlap.
unsafe impl Sync for SchedulerCell {}

static SCHEDULER: SchedulerCell = SchedulerCell(UnsafeCell::new(SchedulerState {
    current: 0,
    root: 0,
}));

fn state() -> &'static mut SchedulerState {
    // SAFETY: single-threaded kernel; callers do not hold the reference across calls
    // that take it again.
    unsafe { &mut *SCHEDULER.0.get() }
}

/// The TCB object of the thread that entered the kernel.
pub fn current_thread() -> u64 {
    state().current
}

/// The current thread's [`Tcb`].
pub fn current_tcb() -> &'static mut Tcb {
    let current = state().current;
    if current == 0 {
        crate::kernel_panic!("no current thread");
    }
    // SAFETY: `current` is a live TCB object (set by `switch_to`); the kernel holds one
    // reference to it at a time.
    unsafe { tcb_at(current) }
}

/// Runs the root task for the first time.
pub fn start(root: u64) -> ! {
    state().root = root;
    let registers = switch_to(root);
    // SAFETY: `switch_to` installed the thread's address space; its registers live in its
    // TCB, which is never freed while it runs.
    unsafe { vectors::resume_user(registers) }
}

/// Picks the thread to run after a kernel entry and makes it current; idles until one
/// is runnable. Returns the registers to resume.
pub fn schedule() -> *mut UserRegisters {
    loop {
        let root = state().root;
        // SAFETY: `root` is the root task's live TCB object.
        if unsafe { tcb_at(root) }.state == ThreadState::Running {
            return switch_to(root);
        }
        idle();
    }
}

/// Gives up the rest of the time slice (the only thread simply continues).
pub fn yield_current() {}

/// Waits for and handles interrupts while no thread is runnable.
fn idle() {
    cpu::wait_for_interrupt();
    crate::interrupt::handle_pending();
}

/// Makes `thread` current: its address space and FP/SIMD state go onto the CPU.
fn switch_to(thread: u64) -> *mut UserRegisters {
    let scheduler = state();
    if scheduler.current != thread {
        if scheduler.current != 0 {
            // SAFETY: the outgoing thread's TCB is live; only this reference is held.
            fpu::save(&mut unsafe { tcb_at(scheduler.current) }.fp_state);
        }
        // SAFETY: `thread` is a live TCB object.
        let tcb = unsafe { tcb_at(thread) };
        fpu::restore(&tcb.fp_state);
        activate_vspace(thread);
        scheduler.current = thread;
    }
    // SAFETY: as above; the pointer stays valid while the thread exists.
    unsafe { &raw mut tcb_at(thread).registers }
}

/// Installs the address space named by the thread's VSpace slot.
fn activate_vspace(thread: u64) {
    // SAFETY: the slot is inside a live TCB object.
    let slot: Slot = unsafe { tcb_slot_pointer(thread, tcb_slot::VSPACE_ROOT).read() };
    match slot.cap() {
        Cap::VSpace {
            ptr,
            asid: Some(asid),
        } => mmu::activate_user_space(ptr, asid),
        other => crate::kernel_panic!("thread {thread:#x} has no usable VSpace ({other:?})"),
    }
}
