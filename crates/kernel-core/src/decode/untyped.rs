//! Decoding and committing Untyped invocations (UntypedRetype), with seL4's checks in
//! seL4's order.

use sel4::InvocationLabel;

use crate::cap::Cap;
use crate::cdt::{ensure_empty_slot, has_children, insert_new_object, update_cap, SlotMemory};
use crate::cspace::lookup_slot_for_cnode_op;
use crate::error::{LookupFault, LookupRole, SyscallError};
use crate::raw_cap;
use crate::retype::{
    check_destination_window, check_object_spec, new_object_cap, plan_retype, ObjectSpec,
    RetypePlan, UntypedChildren,
};
use crate::slot::SlotAddr;

/// A validated UntypedRetype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UntypedRetype {
    /// The slot of the invoked untyped cap.
    pub untyped_slot: SlotAddr,
    /// The invoked untyped cap as it was at decode time.
    pub untyped: Cap,
    pub spec: ObjectSpec,
    pub plan: RetypePlan,
    /// The first destination slot; the others follow it.
    pub destination: SlotAddr,
}

impl UntypedRetype {
    /// Destination slot for object `index`.
    pub fn destination_slot(&self, index: u64) -> Option<SlotAddr> {
        if index >= self.plan.count {
            return None;
        }
        self.destination.offset(index)
    }

    /// The cap for object `index`.
    pub fn new_cap(&self, index: u64) -> Option<Cap> {
        let paddr = self.plan.object_paddr(index)?;
        let is_device = matches!(
            self.untyped,
            Cap::Untyped {
                is_device: true,
                ..
            }
        );
        Some(new_object_cap(&self.spec, paddr, is_device))
    }
}

/// Decodes an invocation of the untyped cap `untyped` in `untyped_slot`. `mrs` are the
/// message registers the caller sent (its message length of them) and `extra_caps` the
/// caps its extra-cap cptrs named.
///
/// # Errors
/// In seL4's order: IllegalOperation (not UntypedRetype); TruncatedMessage (fewer than 6
/// words or no root cap); InvalidArgument(0) (type); RangeError(0, 47) (size);
/// InvalidArgument(1) (CNode radix 0, untyped below 16 bytes); FailedLookup (destination
/// CNode lookup, or MissingCapability(depth) when it is not a CNode); RangeError
/// (offset, count, window); DeleteFirst (a destination slot in use); NotEnoughMemory;
/// InvalidArgument(1) (device memory into non-frames).
pub fn decode_untyped_invocation(
    memory: &impl SlotMemory,
    untyped_slot: SlotAddr,
    untyped: &Cap,
    label: u64,
    mrs: &[u64],
    extra_caps: &[Cap],
) -> Result<UntypedRetype, SyscallError> {
    if InvocationLabel::from_label(label) != Some(InvocationLabel::UntypedRetype) {
        return Err(SyscallError::illegal_operation());
    }
    let (Some(&[type_word, size_bits, node_index, node_depth, node_offset, count]), Some(root)) =
        (mrs.get(..6), extra_caps.first())
    else {
        return Err(SyscallError::truncated_message());
    };
    let spec = check_object_spec(type_word, size_bits)?;
    // The destination CNode's fields, read without decoding (or copying) whole caps.
    let node = if node_depth == 0 {
        match *root {
            Cap::CNode { ptr, radix, .. } => Some((ptr, radix)),
            _ => None,
        }
    } else {
        let slot = lookup_slot_for_cnode_op(
            memory,
            root,
            node_index,
            node_depth,
            LookupRole::Destination,
        )?;
        // radix is a 6-bit field.
        raw_cap::cnode(memory.read(slot).cap).map(|node| (node.ptr, node.radix as u8))
    };
    let Some((ptr, radix)) = node else {
        return Err(SyscallError::failed_lookup(
            LookupRole::Destination,
            LookupFault::MissingCapability {
                bits_left: node_depth,
            },
        ));
    };
    check_destination_window(radix, node_offset, count)?;
    let destination = SlotAddr::new(ptr)
        .and_then(|base| base.offset(node_offset))
        .ok_or_else(|| SyscallError::range_error(0, node_offset))?;
    for index in 0..count {
        let slot = destination
            .offset(index)
            .ok_or_else(|| SyscallError::range_error(1, index))?;
        ensure_empty_slot(memory, slot)?;
    }
    let children = if has_children(memory, untyped_slot) {
        UntypedChildren::Some
    } else {
        UntypedChildren::None
    };
    let plan = plan_retype(untyped, children, &spec, count)?;
    Ok(UntypedRetype {
        untyped_slot,
        untyped: *untyped,
        spec,
        plan,
        destination,
    })
}

/// The derivation-tree half of performing a retype: sets the untyped's new watermark and
/// inserts a cap to each new object as its child. The kernel first zeroes
/// `plan.clear_bytes` from the untyped's base and initialises each object's memory.
pub fn commit_retype(memory: &mut impl SlotMemory, retype: &UntypedRetype) {
    if let Cap::Untyped {
        paddr,
        size_bits,
        is_device,
        ..
    } = retype.untyped
    {
        let updated = Cap::Untyped {
            paddr,
            size_bits,
            is_device,
            free_index: retype.plan.new_free_index,
        };
        update_cap(memory, retype.untyped_slot, &updated);
    }
    for index in 0..retype.plan.count {
        if let (Some(slot), Some(cap)) = (retype.destination_slot(index), retype.new_cap(index)) {
            insert_new_object(memory, retype.untyped_slot, slot, &cap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdt::descendants;
    use crate::cdt::test_memory::MapMemory;
    use crate::slot::{MdbNode, Slot};
    use sel4::ObjectType;

    const ROOT_CNODE: u64 = 0x4100_0000;
    const UNTYPED_BASE: u64 = 0x4800_0000;
    const LABEL: u64 = InvocationLabel::UntypedRetype as u64;

    fn root() -> Cap {
        Cap::CNode {
            ptr: ROOT_CNODE,
            radix: 8,
            guard_size: 56,
            guard: 0,
        }
    }

    fn root_slot(index: u64) -> SlotAddr {
        SlotAddr::new(ROOT_CNODE + index * 32).expect("slot")
    }

    fn untyped(size_bits: u8, is_device: bool) -> Cap {
        Cap::Untyped {
            paddr: UNTYPED_BASE,
            size_bits,
            is_device,
            free_index: 0,
        }
    }

    /// Untyped in root slot 1; root CNode cap in slot 2; a second-level CNode (radix 4)
    /// at slot 3; slot 4 holds a TCB cap.
    fn setup(untyped_cap: Cap) -> MapMemory {
        let mut memory = MapMemory::default();
        let original = MdbNode::EMPTY.with_revocable(true).with_first_badged(true);
        memory.write(root_slot(1), Slot::new(&untyped_cap, original));
        memory.write(root_slot(2), Slot::new(&root(), original));
        let second = Cap::CNode {
            ptr: 0x4200_0000,
            radix: 4,
            guard_size: 0,
            guard: 0,
        };
        memory.write(root_slot(3), Slot::new(&second, original));
        memory.write(
            root_slot(4),
            Slot::new(&Cap::Thread { ptr: 0x4300_0000 }, original),
        );
        memory
    }

    fn decode(memory: &MapMemory, mrs: &[u64]) -> Result<UntypedRetype, SyscallError> {
        let untyped_cap = memory.read(root_slot(1)).cap();
        decode_untyped_invocation(memory, root_slot(1), &untyped_cap, LABEL, mrs, &[root()])
    }

    #[test]
    fn retype_into_the_root_cnode_and_commit() {
        let mut memory = setup(untyped(16, false));
        let retype =
            decode(&memory, &[ObjectType::Endpoint as u64, 0, 0, 0, 10, 3]).expect("valid retype");
        assert_eq!(retype.destination, root_slot(10));
        assert_eq!(retype.plan.first_object, UNTYPED_BASE);
        commit_retype(&mut memory, &retype);
        let Cap::Untyped { free_index, .. } = memory.read(root_slot(1)).cap() else {
            panic!("untyped stays untyped");
        };
        assert_eq!(free_index, 48);
        for index in 0..3 {
            assert_eq!(
                memory.read(root_slot(10 + index)).cap(),
                Cap::Endpoint {
                    ptr: UNTYPED_BASE + 16 * index,
                    badge: 0,
                    can_send: true,
                    can_receive: true,
                    can_grant: true,
                    can_grant_reply: true,
                }
            );
        }
        assert_eq!(descendants(&memory, root_slot(1)).count(), 3);
        // With children, the next retype continues from the watermark, aligned up.
        let retype = decode(&memory, &[ObjectType::Tcb as u64, 0, 0, 0, 20, 1]).expect("valid");
        assert_eq!(retype.plan.first_object, UNTYPED_BASE + 0x800);
        assert_eq!(retype.plan.clear_bytes, 0);
    }

    #[test]
    fn retype_into_a_second_level_cnode() {
        let memory = setup(untyped(16, false));
        // Root slot 3 at depth 64 names the second-level CNode.
        let retype = decode(&memory, &[ObjectType::CNode as u64, 2, 3, 64, 15, 1]).expect("valid");
        assert_eq!(
            retype.destination,
            SlotAddr::new(0x4200_0000 + 15 * 32).expect("slot")
        );
        assert_eq!(retype.spec.object_size_bits, 7);
        assert_eq!(
            retype.new_cap(0),
            Some(Cap::CNode {
                ptr: UNTYPED_BASE,
                radix: 2,
                guard_size: 0,
                guard: 0
            })
        );
        assert_eq!(retype.new_cap(1), None);
        assert_eq!(retype.destination_slot(1), None);
    }

    #[test]
    fn label_and_length_errors() {
        let memory = setup(untyped(16, false));
        let untyped_cap = untyped(16, false);
        let mrs = [ObjectType::Endpoint as u64, 0, 0, 0, 10, 1];
        assert_eq!(
            decode_untyped_invocation(&memory, root_slot(1), &untyped_cap, 20, &mrs, &[root()]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode_untyped_invocation(
                &memory,
                root_slot(1),
                &untyped_cap,
                LABEL,
                &mrs[..5],
                &[root()]
            ),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode_untyped_invocation(&memory, root_slot(1), &untyped_cap, LABEL, &mrs, &[]),
            Err(SyscallError::truncated_message())
        );
    }

    #[test]
    fn argument_errors_in_order() {
        let memory = setup(untyped(16, false));
        assert_eq!(
            decode(&memory, &[10, 0, 0, 0, 10, 1]),
            Err(SyscallError::invalid_argument(0))
        );
        assert_eq!(
            decode(&memory, &[ObjectType::Untyped as u64, 48, 0, 0, 10, 1]),
            Err(SyscallError::range_error(0, 47))
        );
        assert_eq!(
            decode(&memory, &[ObjectType::CNode as u64, 0, 0, 0, 10, 1]),
            Err(SyscallError::invalid_argument(1))
        );
        // Destination lookup fails before the window is checked.
        assert_eq!(
            decode(&memory, &[ObjectType::Tcb as u64, 0, 1 << 20, 64, 1000, 0]),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::GuardMismatch {
                    bits_left: 64,
                    guard_found: 0,
                    bits_found: 56
                }
            ))
        );
        // Root slot 4 holds a TCB, not a CNode.
        assert_eq!(
            decode(&memory, &[ObjectType::Tcb as u64, 0, 4, 64, 0, 1]),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::MissingCapability { bits_left: 64 }
            ))
        );
        assert_eq!(
            decode(&memory, &[ObjectType::Tcb as u64, 0, 0, 0, 256, 1]),
            Err(SyscallError::range_error(0, 255))
        );
        assert_eq!(
            decode(&memory, &[ObjectType::Tcb as u64, 0, 0, 0, 0, 0]),
            Err(SyscallError::range_error(1, 256))
        );
        assert_eq!(
            decode(&memory, &[ObjectType::Tcb as u64, 0, 0, 0, 250, 7]),
            Err(SyscallError::range_error(1, 6))
        );
        // Slots 1..=4 are occupied.
        assert_eq!(
            decode(&memory, &[ObjectType::Endpoint as u64, 0, 0, 0, 0, 3]),
            Err(SyscallError::delete_first())
        );
        assert_eq!(
            decode(&memory, &[ObjectType::HugePage as u64, 0, 0, 0, 10, 1]),
            Err(SyscallError::not_enough_memory(1 << 16))
        );
    }

    #[test]
    fn device_untyped_rules() {
        let memory = setup(untyped(16, true));
        assert_eq!(
            decode(&memory, &[ObjectType::Tcb as u64, 0, 0, 0, 10, 1]),
            Err(SyscallError::invalid_argument(1))
        );
        let retype =
            decode(&memory, &[ObjectType::SmallPage as u64, 0, 0, 0, 10, 2]).expect("frames");
        assert!(
            matches!(retype.new_cap(1), Some(Cap::Frame { is_device: true, paddr, .. }) if paddr == UNTYPED_BASE + 0x1000)
        );
    }
}
