//! Interrupt handling: the kernel's timer tick, and user interrupts delivered to the
//! notification bound to their IRQ handler (seL4's `handleInterrupt`).

use crate::object::irq::{self, IrqState};
use crate::plat::{gic, timer};
use kernel_core::Cap;

/// Handles every pending interrupt.
pub fn handle_pending() {
    while let Some(interrupt) = gic::acknowledge() {
        let line = interrupt.irq();
        if line == timer::KERNEL_TIMER_IRQ {
            timer::rearm();
        } else {
            handle_user_interrupt(line);
        }
        gic::end_of_interrupt(interrupt);
    }
}

/// A user interrupt is masked until its handler acknowledges it (IRQAckIRQ), and
/// signals the bound notification if there is one that may be signalled.
fn handle_user_interrupt(line: u32) {
    let irq = u64::from(line);
    match irq::state(irq) {
        IrqState::Signal => {
            if let Cap::Notification {
                ptr,
                badge,
                can_send: true,
                ..
            } = irq::bound_notification(irq)
            {
                crate::ipc::notification::signal(ptr, badge);
            } else {
                crate::log!(Debug, "undelivered IRQ {line}");
            }
            gic::disable(line);
        }
        IrqState::Inactive | IrqState::Timer => {
            crate::log!(Warn, "spurious interrupt {line}; masked");
            gic::disable(line);
        }
    }
}
