//! Interrupt handling: the kernel's timer tick (other interrupts go to user-level handlers
//! once IRQ handler caps exist).

use crate::plat::{gic, timer};

/// Handles every pending interrupt.
pub fn handle_pending() {
    while let Some(interrupt) = gic::acknowledge() {
        match interrupt.irq() {
            timer::KERNEL_TIMER_IRQ => timer::rearm(),
            other => crate::log!(Warn, "unexpected interrupt {other}"),
        }
        gic::end_of_interrupt(interrupt);
    }
}
