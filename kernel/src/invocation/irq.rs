//! IRQControl and IRQHandler invocations: kernel-core's decoders check them in seL4's
//! order against the kernel's interrupt table ([`KernelIrqs`]); this file performs what
//! they decoded.

use crate::object::cspace::slot_memory;
use crate::object::finalise::delete_slot;
use crate::object::irq::{self, IrqState};
use crate::plat::gic::{self, Trigger};
use kernel_core::cdt::insert_child;
use kernel_core::decode::{
    decode_irq_control_invocation, decode_irq_handler_invocation, IrqInvocation, IrqTrigger,
};
use kernel_core::{CapRef, SlotAddr, SyscallError};

/// Decodes and performs an invocation of the IRQControl cap in `control_slot`.
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order.
pub fn invoke_control(
    control_slot: SlotAddr,
    label: u64,
    words: &[u64],
    extra_caps: &[CapRef],
) -> Result<(), SyscallError> {
    let invocation = decode_irq_control_invocation(
        &slot_memory(),
        &KernelIrqs,
        control_slot,
        label,
        words,
        extra_caps,
    )?;
    perform(invocation);
    Ok(())
}

/// Decodes and performs an invocation of the handler cap for `irq`.
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order.
pub fn invoke_handler(irq: u64, label: u64, extra_caps: &[CapRef]) -> Result<(), SyscallError> {
    perform(decode_irq_handler_invocation(irq, label, extra_caps)?);
    Ok(())
}

/// The kernel's interrupt table as kernel-core's IRQControl decoder reads it.
#[derive(Clone, Copy, Debug)]
pub struct KernelIrqs;

impl kernel_core::decode::IrqState for KernelIrqs {
    fn is_active(&self, irq: u64) -> bool {
        irq::state(irq) != IrqState::Inactive
    }
}

fn perform(invocation: IrqInvocation) {
    match invocation {
        IrqInvocation::IssueHandler {
            irq,
            trigger,
            control_slot,
            destination,
            cap,
        } => {
            // The decoder checked irq <= MAX_IRQ (159).
            let line = irq as u32;
            match trigger {
                Some(IrqTrigger::Level) => gic::set_trigger(line, Trigger::Level),
                Some(IrqTrigger::Edge) => gic::set_trigger(line, Trigger::Edge),
                None => {}
            }
            irq::set_state(irq, IrqState::Signal);
            insert_child(&mut slot_memory(), control_slot, destination, &cap);
        }
        IrqInvocation::Ack { irq } => gic::enable(irq as u32),
        IrqInvocation::SetNotification { irq, notification } => {
            if let Some(node) = irq::node_slot(irq) {
                delete_slot(node);
                insert_child(
                    &mut slot_memory(),
                    notification.slot,
                    node,
                    &notification.cap,
                );
            }
        }
        IrqInvocation::Clear { irq } => {
            if let Some(node) = irq::node_slot(irq) {
                delete_slot(node);
            }
        }
    }
}
