//! The kernel's scheduling tick: the EL1 virtual timer (PPI 27). The EL1 physical timer
//! (PPI 30) is left for user level.

use crate::arch::registers::{cntfrq_el0, cntv_ctl_el0, cntv_tval_el0, isb};

/// The virtual timer's interrupt id.
pub const KERNEL_TIMER_IRQ: u32 = 27;
/// Tick period (seL4's default `CONFIG_TIMER_TICK_MS`).
const TICK_MILLISECONDS: u64 = 2;

const CONTROL_ENABLE: u64 = 1 << 0;

/// Starts the periodic tick.
pub fn init() {
    super::gic::enable(KERNEL_TIMER_IRQ);
    program_next_tick();
}

/// Handles a tick (the interrupt path calls this for [`KERNEL_TIMER_IRQ`]): schedules
/// the next one and charges the running thread's time slice.
pub fn rearm() {
    program_next_tick();
    crate::sched::timer_tick();
}

/// Schedules the next tick one period from now.
fn program_next_tick() {
    let ticks = cntfrq_el0::read() * TICK_MILLISECONDS / 1000;
    // SAFETY: programming the virtual timer affects only its interrupt, which the kernel
    // owns.
    unsafe {
        cntv_tval_el0::write(ticks.max(1));
        cntv_ctl_el0::write(CONTROL_ENABLE);
    }
    isb();
}
