//! IRQControl and IRQHandler invocations (seL4's `decodeIRQControlInvocation`,
//! `Arch_decodeIRQControlInvocation` and `decodeIRQHandlerInvocation`): decode checks
//! everything and changes nothing, then the invocation is performed.

use crate::object::cspace::slot_memory;
use crate::object::finalise::delete_slot;
use crate::object::irq::{self, IrqState};
use crate::plat::gic::{self, Trigger};
use kernel_core::cdt::{ensure_empty_slot, insert_child};
use kernel_core::cspace::lookup_slot_for_cnode_op;
use kernel_core::{Cap, LookupRole, SlotAddr, SyscallError};
use sel4::InvocationLabel;

/// A decoded IRQControl invocation: make a handler for `irq` in `destination`.
struct IssueHandler {
    irq: u64,
    trigger: Option<Trigger>,
    destination: SlotAddr,
}

/// Decodes and performs an invocation of the IRQControl cap in `control_slot`.
///
/// # Errors
/// TruncatedMessage, RangeError(0, maxIRQ), RevokeFirst (a handler exists or the kernel
/// owns the interrupt), the destination lookup's errors, DeleteFirst; IllegalOperation
/// for other labels.
pub fn invoke_control(
    control_slot: SlotAddr,
    label: u64,
    words: &[u64],
    extra_caps: &[Cap],
) -> Result<(), SyscallError> {
    let issue = decode_control(label, words, extra_caps)?;
    if let Some(trigger) = issue.trigger {
        gic::set_trigger(issue.irq as u32, trigger);
    }
    irq::set_state(issue.irq, IrqState::Signal);
    insert_child(
        &mut slot_memory(),
        control_slot,
        issue.destination,
        &Cap::IrqHandler { irq: issue.irq },
    );
    Ok(())
}

fn decode_control(
    label: u64,
    words: &[u64],
    extra_caps: &[Cap],
) -> Result<IssueHandler, SyscallError> {
    let (irq_word, trigger, index, depth) = match InvocationLabel::from_label(label) {
        Some(InvocationLabel::IRQIssueIRQHandler) => match (words.get(..3), extra_caps.first()) {
            (Some(&[irq_word, index, depth]), Some(_)) => (irq_word, None, index, depth),
            _ => return Err(SyscallError::truncated_message()),
        },
        Some(InvocationLabel::ARMIRQIssueIRQHandlerTrigger) => {
            match (words.get(..4), extra_caps.first()) {
                (Some(&[irq_word, trigger, index, depth]), Some(_)) => {
                    let trigger = if trigger != 0 {
                        Trigger::Edge
                    } else {
                        Trigger::Level
                    };
                    (irq_word, Some(trigger), index, depth)
                }
                _ => return Err(SyscallError::truncated_message()),
            }
        }
        _ => return Err(SyscallError::illegal_operation()),
    };
    let max_irq = irq::max_irq();
    if irq_word > max_irq {
        return Err(SyscallError::range_error(0, max_irq));
    }
    if irq::state(irq_word) != IrqState::Inactive {
        return Err(SyscallError::revoke_first());
    }
    let root = extra_caps
        .first()
        .ok_or(SyscallError::truncated_message())?;
    let memory = slot_memory();
    let destination =
        lookup_slot_for_cnode_op(&memory, root, index, depth, LookupRole::Destination)?;
    ensure_empty_slot(&memory, destination)?;
    Ok(IssueHandler {
        irq: irq_word,
        trigger,
        destination,
    })
}

/// A decoded IRQHandler invocation.
enum HandlerInvocation {
    Ack,
    SetNotification { cap: Cap, slot: SlotAddr },
    Clear,
}

/// Decodes and performs an invocation of the handler cap for `irq`.
///
/// # Errors
/// TruncatedMessage (SetNotification without a cap), InvalidCapability(0) (not a
/// notification cap with send rights), IllegalOperation for other labels.
pub fn invoke_handler(
    irq: u64,
    label: u64,
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<(), SyscallError> {
    let invocation = match InvocationLabel::from_label(label) {
        Some(InvocationLabel::IRQAckIRQ) => HandlerInvocation::Ack,
        Some(InvocationLabel::IRQClearIRQHandler) => HandlerInvocation::Clear,
        Some(InvocationLabel::IRQSetIRQHandler) => {
            let Some(&(cap, slot)) = extra_caps.first() else {
                return Err(SyscallError::truncated_message());
            };
            if !matches!(cap, Cap::Notification { can_send: true, .. }) {
                return Err(SyscallError::invalid_capability(0));
            }
            HandlerInvocation::SetNotification { cap, slot }
        }
        _ => return Err(SyscallError::illegal_operation()),
    };
    let Some(node) = irq::node_slot(irq) else {
        return Err(SyscallError::illegal_operation());
    };
    match invocation {
        HandlerInvocation::Ack => gic::enable(irq as u32),
        HandlerInvocation::Clear => delete_slot(node),
        HandlerInvocation::SetNotification { cap, slot } => {
            delete_slot(node);
            insert_child(&mut slot_memory(), slot, node, &cap);
        }
    }
    Ok(())
}
