//! Decoding IRQControl (IssueIRQHandler, ARMIRQIssueIRQHandlerTrigger) and IRQHandler
//! (Ack, SetNotification, Clear) invocations, with seL4's checks in seL4's order.

use sel4::InvocationLabel;

use crate::cap::Cap;
use crate::cdt::{ensure_empty_slot, SlotMemory};
use crate::cspace::lookup_slot_for_cnode_op;
use crate::error::{LookupRole, SyscallError};
use crate::slot::SlotAddr;

use super::CapRef;

/// The largest IRQ number a handler can be issued for: seL4's `maxIRQ` for qemu-arm-virt
/// (GICv2, `MAX_IRQ 159`: 32 private interrupts and 128 shared ones).
pub const MAX_IRQ: u64 = 159;

/// Which IRQs are taken (seL4's `isIRQActive`: any state but inactive, including the
/// IRQs the kernel reserves for itself, such as its own timer).
pub trait IrqState {
    fn is_active(&self, irq: u64) -> bool;
}

/// How the interrupt controller should treat the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqTrigger {
    Level,
    Edge,
}

/// A validated IRQ invocation. Performing it:
/// - `IssueHandler`: mark `irq` active (configuring `trigger` when given, otherwise the
///   controller's default), insert `cap` into `destination` as a child of
///   `control_slot` ([`crate::cdt::insert_child`]; it becomes revocable).
/// - `Ack`: unmask `irq` at the controller.
/// - `SetNotification`: delete the cap in the IRQ's handler slot, then insert
///   `notification.cap` there as a child of `notification.slot`.
/// - `Clear`: delete the cap in the IRQ's handler slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqInvocation {
    IssueHandler {
        irq: u64,
        trigger: Option<IrqTrigger>,
        control_slot: SlotAddr,
        destination: SlotAddr,
        cap: Cap,
    },
    Ack {
        irq: u64,
    },
    SetNotification {
        irq: u64,
        notification: CapRef,
    },
    Clear {
        irq: u64,
    },
}

/// Decodes an invocation of the IRQControl cap in `control_slot`. MRs: IssueIRQHandler
/// `irq, index, depth`; IssueIRQHandlerTrigger `irq, trigger, index, depth`; extra cap 0
/// is the destination CNode root.
///
/// # Errors
/// In seL4's order: IllegalOperation (another label); TruncatedMessage (too few words,
/// no root cap); RangeError(0, [`MAX_IRQ`]); RevokeFirst (IRQ already active); the
/// destination lookup's errors; DeleteFirst (destination occupied).
pub fn decode_irq_control_invocation(
    slots: &impl SlotMemory,
    irqs: &impl IrqState,
    control_slot: SlotAddr,
    label: u64,
    mrs: &[u64],
    extra_caps: &[CapRef],
) -> Result<IrqInvocation, SyscallError> {
    let words = match InvocationLabel::from_label(label) {
        Some(InvocationLabel::IRQIssueIRQHandler) => 3,
        Some(InvocationLabel::ARMIRQIssueIRQHandlerTrigger) => 4,
        _ => return Err(SyscallError::illegal_operation()),
    };
    let (Some(arguments), Some(root)) = (mrs.get(..words), extra_caps.first()) else {
        return Err(SyscallError::truncated_message());
    };
    let (irq, trigger, index, depth) = match *arguments {
        [irq, index, depth] => (irq, None, index, depth),
        [irq, trigger, index, depth] => {
            let trigger = if trigger != 0 {
                IrqTrigger::Edge
            } else {
                IrqTrigger::Level
            };
            (irq, Some(trigger), index, depth)
        }
        _ => return Err(SyscallError::truncated_message()),
    };
    if irq > MAX_IRQ {
        return Err(SyscallError::range_error(0, MAX_IRQ));
    }
    if irqs.is_active(irq) {
        return Err(SyscallError::revoke_first());
    }
    let destination =
        lookup_slot_for_cnode_op(slots, &root.cap, index, depth, LookupRole::Destination)?;
    ensure_empty_slot(slots, destination)?;
    Ok(IrqInvocation::IssueHandler {
        irq,
        trigger,
        control_slot,
        destination,
        cap: Cap::IrqHandler { irq },
    })
}

/// Decodes an invocation of an IRQHandler cap for `irq`.
///
/// # Errors
/// IllegalOperation (another label); for SetIRQHandler, TruncatedMessage (no cap) and
/// InvalidCapability(0) (not a notification cap with send rights; seL4 reports index 0
/// although it is the first extra cap).
pub fn decode_irq_handler_invocation(
    irq: u64,
    label: u64,
    extra_caps: &[CapRef],
) -> Result<IrqInvocation, SyscallError> {
    match InvocationLabel::from_label(label) {
        Some(InvocationLabel::IRQAckIRQ) => Ok(IrqInvocation::Ack { irq }),
        Some(InvocationLabel::IRQSetIRQHandler) => {
            let notification = *extra_caps
                .first()
                .ok_or_else(SyscallError::truncated_message)?;
            if !matches!(notification.cap, Cap::Notification { can_send: true, .. }) {
                return Err(SyscallError::invalid_capability(0));
            }
            Ok(IrqInvocation::SetNotification { irq, notification })
        }
        Some(InvocationLabel::IRQClearIRQHandler) => Ok(IrqInvocation::Clear { irq }),
        _ => Err(SyscallError::illegal_operation()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdt::test_memory::MapMemory;
    use crate::error::LookupFault;
    use crate::slot::{MdbNode, Slot};

    const ROOT_CNODE: u64 = 0x4100_0000;
    /// The kernel's own timer PPI on this platform, reserved and so active.
    const KERNEL_TIMER_IRQ: u64 = 27;

    struct ActiveIrqs(Vec<u64>);

    impl IrqState for ActiveIrqs {
        fn is_active(&self, irq: u64) -> bool {
            self.0.contains(&irq)
        }
    }

    fn slot(index: u64) -> SlotAddr {
        SlotAddr::new(ROOT_CNODE + index * 32).expect("slot")
    }

    fn root() -> CapRef {
        CapRef {
            cap: Cap::CNode {
                ptr: ROOT_CNODE,
                radix: 8,
                guard_size: 56,
                guard: 0,
            },
            slot: slot(2),
        }
    }

    fn setup() -> (MapMemory, ActiveIrqs) {
        let mut slots = MapMemory::default();
        let original = MdbNode::EMPTY.with_revocable(true).with_first_badged(true);
        slots.write(slot(4), Slot::new(&Cap::IrqControl, original));
        slots.write(slot(9), Slot::new(&Cap::Domain, original));
        (slots, ActiveIrqs(vec![KERNEL_TIMER_IRQ, 40]))
    }

    fn control(
        slots: &MapMemory,
        irqs: &ActiveIrqs,
        label: InvocationLabel,
        mrs: &[u64],
        caps: &[CapRef],
    ) -> Result<IrqInvocation, SyscallError> {
        decode_irq_control_invocation(slots, irqs, slot(4), label as u64, mrs, caps)
    }

    #[test]
    fn issue_handlers() {
        let (slots, irqs) = setup();
        assert_eq!(
            control(
                &slots,
                &irqs,
                InvocationLabel::IRQIssueIRQHandler,
                &[33, 10, 64],
                &[root()]
            ),
            Ok(IrqInvocation::IssueHandler {
                irq: 33,
                trigger: None,
                control_slot: slot(4),
                destination: slot(10),
                cap: Cap::IrqHandler { irq: 33 },
            })
        );
        for (word, trigger) in [
            (0, IrqTrigger::Level),
            (1, IrqTrigger::Edge),
            (7, IrqTrigger::Edge),
        ] {
            assert!(matches!(
                control(
                    &slots,
                    &irqs,
                    InvocationLabel::ARMIRQIssueIRQHandlerTrigger,
                    &[MAX_IRQ, word, 11, 64],
                    &[root()]
                ),
                Ok(IrqInvocation::IssueHandler {
                    irq: MAX_IRQ,
                    trigger: Some(found),
                    ..
                }) if found == trigger
            ));
        }
        // The non-secure physical timer PPI (30) is free for the root task.
        assert!(control(
            &slots,
            &irqs,
            InvocationLabel::IRQIssueIRQHandler,
            &[30, 10, 64],
            &[root()]
        )
        .is_ok());
    }

    #[test]
    fn control_errors_in_order() {
        let (slots, irqs) = setup();
        let issue = InvocationLabel::IRQIssueIRQHandler;
        let trigger = InvocationLabel::ARMIRQIssueIRQHandlerTrigger;
        assert_eq!(
            control(
                &slots,
                &irqs,
                InvocationLabel::IRQAckIRQ,
                &[33, 10, 64],
                &[root()]
            ),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode_irq_control_invocation(&slots, &irqs, slot(4), 0, &[33, 10, 64], &[root()]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            control(&slots, &irqs, issue, &[33, 10], &[root()]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            control(&slots, &irqs, issue, &[33, 10, 64], &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            control(&slots, &irqs, trigger, &[33, 1, 10], &[root()]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            control(&slots, &irqs, trigger, &[33, 1, 10, 64], &[]),
            Err(SyscallError::truncated_message())
        );
        for irq in [MAX_IRQ + 1, 1019, u64::MAX] {
            assert_eq!(
                control(&slots, &irqs, issue, &[irq, 10, 64], &[root()]),
                Err(SyscallError::range_error(0, 159))
            );
        }
        assert_eq!(
            control(
                &slots,
                &irqs,
                trigger,
                &[KERNEL_TIMER_IRQ, 0, 10, 64],
                &[root()]
            ),
            Err(SyscallError::revoke_first())
        );
        assert_eq!(
            control(&slots, &irqs, issue, &[40, 10, 64], &[root()]),
            Err(SyscallError::revoke_first())
        );
        assert_eq!(
            control(&slots, &irqs, issue, &[33, 10, 65], &[root()]),
            Err(SyscallError::range_error(1, 64))
        );
        let not_cnode = CapRef {
            cap: Cap::Domain,
            slot: slot(9),
        };
        assert_eq!(
            control(&slots, &irqs, issue, &[33, 10, 64], &[not_cnode]),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::InvalidRoot
            ))
        );
        assert_eq!(
            control(&slots, &irqs, issue, &[33, 9, 64], &[root()]),
            Err(SyscallError::delete_first())
        );
    }

    fn notification(can_send: bool) -> CapRef {
        CapRef {
            cap: Cap::Notification {
                ptr: 0x4400_0000,
                badge: 3,
                can_send,
                can_receive: false,
            },
            slot: slot(12),
        }
    }

    #[test]
    fn handler_invocations() {
        let ack = InvocationLabel::IRQAckIRQ as u64;
        let set = InvocationLabel::IRQSetIRQHandler as u64;
        let clear = InvocationLabel::IRQClearIRQHandler as u64;
        assert_eq!(
            decode_irq_handler_invocation(33, ack, &[]),
            Ok(IrqInvocation::Ack { irq: 33 })
        );
        assert_eq!(
            decode_irq_handler_invocation(33, clear, &[]),
            Ok(IrqInvocation::Clear { irq: 33 })
        );
        assert_eq!(
            decode_irq_handler_invocation(33, set, &[notification(true)]),
            Ok(IrqInvocation::SetNotification {
                irq: 33,
                notification: notification(true)
            })
        );
        assert_eq!(
            decode_irq_handler_invocation(33, set, &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode_irq_handler_invocation(33, set, &[notification(false)]),
            Err(SyscallError::invalid_capability(0))
        );
        let endpoint = CapRef {
            cap: Cap::Endpoint {
                ptr: 0x4400_0000,
                badge: 0,
                can_send: true,
                can_receive: true,
                can_grant: true,
                can_grant_reply: true,
            },
            slot: slot(12),
        };
        assert_eq!(
            decode_irq_handler_invocation(33, set, &[endpoint]),
            Err(SyscallError::invalid_capability(0))
        );
        assert_eq!(
            decode_irq_handler_invocation(33, InvocationLabel::IRQIssueIRQHandler as u64, &[]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode_irq_handler_invocation(33, 1000, &[]),
            Err(SyscallError::illegal_operation())
        );
    }
}
