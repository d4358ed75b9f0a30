//! Decoding CNode invocations (Revoke, Delete, CancelBadgedSends, Copy, Mint, Move,
//! Mutate, Rotate, SaveCaller), with seL4's checks in seL4's order.

use sel4::{CapRights, InvocationLabel};

use crate::cap::Cap;
use crate::cdt::{ensure_empty_slot, SlotMemory};
use crate::cspace::lookup_slot_for_cnode_op;
use crate::derive::{
    derive_cap, has_cancel_send_rights, mask_cap_rights, update_cap_data, Preserve,
};
use crate::error::{LookupFault, LookupRole, SyscallError};
use crate::slot::SlotAddr;

/// A validated CNode invocation. Performing it:
/// - `Insert`: [`crate::cdt::insert_child`]`(source, destination, cap)`.
/// - `Move`: [`crate::cdt::move_cap`]`(source, destination, cap)`.
/// - `Rotate`: [`crate::cdt::rotate`] with the same arguments.
/// - `Revoke`: delete [`crate::cdt::first_child`] of `slot` until there is none.
/// - `Delete`: delete the cap in `slot` (finalising the object if it is the last cap).
/// - `SaveCaller`: move the current thread's caller reply cap into `slot` (nothing
///   happens if there is none).
/// - `CancelBadgedSends`: cancel sends with `badge` queued on the endpoint at `endpoint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CNodeInvocation {
    /// Copy and Mint: a derived cap, a child of the source in the derivation tree.
    Insert {
        cap: Cap,
        source: SlotAddr,
        destination: SlotAddr,
    },
    /// Move and Mutate: the source's cap moves, keeping its place in the tree.
    Move {
        cap: Cap,
        source: SlotAddr,
        destination: SlotAddr,
    },
    Rotate {
        source_cap: Cap,
        source: SlotAddr,
        pivot_cap: Cap,
        pivot: SlotAddr,
        destination: SlotAddr,
    },
    Revoke {
        slot: SlotAddr,
    },
    Delete {
        slot: SlotAddr,
    },
    SaveCaller {
        slot: SlotAddr,
    },
    CancelBadgedSends {
        endpoint: u64,
        badge: u64,
    },
}

/// Decodes an invocation of the CNode cap `cnode`. `mrs` are the caller's message words
/// (its message length of them); `extra_caps` the caps its extra-cap cptrs named.
///
/// Message layouts (libsel4): every method starts with (dest_index, dest_depth).
/// Copy: + src_index, src_depth, rights; caps [src_root]. Mint: + badge.
/// Move: src_index, src_depth. Mutate: + badge. Rotate: dest_badge, pivot_index,
/// pivot_depth, pivot_badge, src_index, src_depth; caps [pivot_root, src_root].
///
/// # Errors
/// In seL4's order: IllegalOperation for labels outside CNodeRevoke..=CNodeSaveCaller;
/// TruncatedMessage; the destination lookup's FailedLookup/RangeError; DeleteFirst for
/// an occupied destination; the source lookup's errors; FailedLookup(source,
/// MissingCapability(src_depth)) for an empty source; RevokeFirst or IllegalOperation
/// from derivation; IllegalOperation when the resulting cap would be null (badging a
/// badged cap, an oversized guard, copying IrqControl/reply/zombie caps), for
/// CancelBadgedSends without full rights, and for a Rotate pivot equal to the source or
/// destination.
pub fn decode_cnode_invocation(
    memory: &impl SlotMemory,
    cnode: &Cap,
    label: u64,
    mrs: &[u64],
    extra_caps: &[Cap],
) -> Result<CNodeInvocation, SyscallError> {
    let Some(label) = InvocationLabel::from_label(label).filter(|label| {
        (InvocationLabel::CNodeRevoke as u64..=InvocationLabel::CNodeSaveCaller as u64)
            .contains(&(*label as u64))
    }) else {
        return Err(SyscallError::illegal_operation());
    };
    let arg = |index: usize| {
        mrs.get(index)
            .copied()
            .ok_or_else(SyscallError::truncated_message)
    };
    let (dest_index, dest_depth) = (arg(0)?, arg(1)?);
    let destination = lookup_slot_for_cnode_op(
        memory,
        cnode,
        dest_index,
        dest_depth,
        LookupRole::Destination,
    )?;
    match label {
        InvocationLabel::CNodeCopy
        | InvocationLabel::CNodeMint
        | InvocationLabel::CNodeMove
        | InvocationLabel::CNodeMutate => {
            decode_copy_family(memory, label, mrs, extra_caps, destination)
        }
        InvocationLabel::CNodeRevoke => Ok(CNodeInvocation::Revoke { slot: destination }),
        InvocationLabel::CNodeDelete => Ok(CNodeInvocation::Delete { slot: destination }),
        InvocationLabel::CNodeSaveCaller => {
            ensure_empty_slot(memory, destination)?;
            Ok(CNodeInvocation::SaveCaller { slot: destination })
        }
        InvocationLabel::CNodeCancelBadgedSends => match memory.read(destination).cap() {
            cap @ Cap::Endpoint { ptr, badge, .. } if has_cancel_send_rights(&cap) => {
                Ok(CNodeInvocation::CancelBadgedSends {
                    endpoint: ptr,
                    badge,
                })
            }
            _ => Err(SyscallError::illegal_operation()),
        },
        InvocationLabel::CNodeRotate => decode_rotate(memory, mrs, extra_caps, destination),
        _ => Err(SyscallError::illegal_operation()),
    }
}

fn decode_copy_family(
    memory: &impl SlotMemory,
    label: InvocationLabel,
    mrs: &[u64],
    extra_caps: &[Cap],
    destination: SlotAddr,
) -> Result<CNodeInvocation, SyscallError> {
    let (Some(&[_, _, source_index, source_depth]), Some(source_root)) =
        (mrs.get(..4), extra_caps.first())
    else {
        return Err(SyscallError::truncated_message());
    };
    ensure_empty_slot(memory, destination)?;
    let source = lookup_slot_for_cnode_op(
        memory,
        source_root,
        source_index,
        source_depth,
        LookupRole::Source,
    )?;
    let source_cap = memory.read(source).cap();
    if source_cap.is_null() {
        return Err(SyscallError::failed_lookup(
            LookupRole::Source,
            LookupFault::MissingCapability {
                bits_left: source_depth,
            },
        ));
    }
    let arg = |index: usize| {
        mrs.get(index)
            .copied()
            .ok_or_else(SyscallError::truncated_message)
    };
    let non_null = |cap: Cap| {
        if cap.is_null() {
            Err(SyscallError::illegal_operation())
        } else {
            Ok(cap)
        }
    };
    match label {
        InvocationLabel::CNodeCopy => {
            let rights = CapRights(arg(4)?);
            let masked = mask_cap_rights(rights, &source_cap);
            let cap = non_null(derive_cap(memory, source, &masked)?)?;
            Ok(CNodeInvocation::Insert {
                cap,
                source,
                destination,
            })
        }
        InvocationLabel::CNodeMint => {
            let (rights, badge) = (CapRights(arg(4)?), arg(5)?);
            let masked = mask_cap_rights(rights, &source_cap);
            let badged = update_cap_data(Preserve::No, badge, &masked);
            let cap = non_null(derive_cap(memory, source, &badged)?)?;
            Ok(CNodeInvocation::Insert {
                cap,
                source,
                destination,
            })
        }
        InvocationLabel::CNodeMove => Ok(CNodeInvocation::Move {
            cap: source_cap,
            source,
            destination,
        }),
        _ => {
            let data = arg(4)?;
            let cap = non_null(update_cap_data(Preserve::Yes, data, &source_cap))?;
            Ok(CNodeInvocation::Move {
                cap,
                source,
                destination,
            })
        }
    }
}

fn decode_rotate(
    memory: &impl SlotMemory,
    mrs: &[u64],
    extra_caps: &[Cap],
    destination: SlotAddr,
) -> Result<CNodeInvocation, SyscallError> {
    let (
        Some(
            &[_, _, pivot_data, pivot_index, pivot_depth, source_data, source_index, source_depth],
        ),
        Some(&[pivot_root, source_root]),
    ) = (mrs.get(..8), extra_caps.get(..2))
    else {
        return Err(SyscallError::truncated_message());
    };
    let source = lookup_slot_for_cnode_op(
        memory,
        &source_root,
        source_index,
        source_depth,
        LookupRole::Source,
    )?;
    let pivot = lookup_slot_for_cnode_op(
        memory,
        &pivot_root,
        pivot_index,
        pivot_depth,
        LookupRole::Source,
    )?;
    if pivot == source || pivot == destination {
        return Err(SyscallError::illegal_operation());
    }
    if source != destination {
        ensure_empty_slot(memory, destination)?;
    }
    let source_cap = memory.read(source).cap();
    if source_cap.is_null() {
        return Err(SyscallError::failed_lookup(
            LookupRole::Source,
            LookupFault::MissingCapability {
                bits_left: source_depth,
            },
        ));
    }
    let pivot_cap = memory.read(pivot).cap();
    if pivot_cap.is_null() {
        return Err(SyscallError::failed_lookup(
            LookupRole::Destination,
            LookupFault::MissingCapability {
                bits_left: pivot_depth,
            },
        ));
    }
    let new_source_cap = update_cap_data(Preserve::Yes, source_data, &source_cap);
    let new_pivot_cap = update_cap_data(Preserve::Yes, pivot_data, &pivot_cap);
    if new_source_cap.is_null() || new_pivot_cap.is_null() {
        return Err(SyscallError::illegal_operation());
    }
    Ok(CNodeInvocation::Rotate {
        source_cap: new_source_cap,
        source,
        pivot_cap: new_pivot_cap,
        pivot,
        destination,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdt::test_memory::MapMemory;
    use crate::cdt::{insert_child, move_cap, rotate};
    use crate::slot::{MdbNode, Slot};

    const ROOT_CNODE: u64 = 0x4100_0000;

    fn root() -> Cap {
        Cap::CNode {
            ptr: ROOT_CNODE,
            radix: 8,
            guard_size: 56,
            guard: 0,
        }
    }

    fn slot(index: u64) -> SlotAddr {
        SlotAddr::new(ROOT_CNODE + index * 32).expect("slot")
    }

    fn endpoint(badge: u64) -> Cap {
        Cap::Endpoint {
            ptr: 0x4400_0000,
            badge,
            can_send: true,
            can_receive: true,
            can_grant: true,
            can_grant_reply: true,
        }
    }

    /// Slot 1: unbadged endpoint (original); slot 2: endpoint badged 9; slot 3: the
    /// root CNode; slot 4: IrqControl; slot 5: an untyped.
    fn setup() -> MapMemory {
        let mut memory = MapMemory::default();
        let original = MdbNode::EMPTY.with_revocable(true).with_first_badged(true);
        memory.write(slot(1), Slot::new(&endpoint(0), original));
        insert_child(&mut memory, slot(1), slot(2), &endpoint(9));
        memory.write(slot(3), Slot::new(&root(), original));
        memory.write(slot(4), Slot::new(&Cap::IrqControl, original));
        let untyped = Cap::Untyped {
            paddr: 0x4800_0000,
            size_bits: 12,
            is_device: false,
            free_index: 0,
        };
        memory.write(slot(5), Slot::new(&untyped, original));
        memory
    }

    fn decode(
        memory: &MapMemory,
        label: InvocationLabel,
        mrs: &[u64],
    ) -> Result<CNodeInvocation, SyscallError> {
        decode_cnode_invocation(memory, &root(), label as u64, mrs, &[root(), root()])
    }

    #[test]
    fn copy_masks_rights_and_inserts() {
        let mut memory = setup();
        let invocation = decode(
            &memory,
            InvocationLabel::CNodeCopy,
            &[10, 64, 1, 64, CapRights::READ],
        )
        .expect("valid copy");
        let CNodeInvocation::Insert {
            cap,
            source,
            destination,
        } = invocation
        else {
            panic!("copy inserts");
        };
        assert_eq!((source, destination), (slot(1), slot(10)));
        assert!(matches!(
            cap,
            Cap::Endpoint {
                can_send: false,
                can_receive: true,
                can_grant: false,
                ..
            }
        ));
        insert_child(&mut memory, source, destination, &cap);
        assert_eq!(memory.read(slot(10)).cap(), cap);
    }

    #[test]
    fn mint_badges_once() {
        let memory = setup();
        let all = CapRights::all().0;
        assert_eq!(
            decode(
                &memory,
                InvocationLabel::CNodeMint,
                &[10, 64, 1, 64, all, 77]
            ),
            Ok(CNodeInvocation::Insert {
                cap: endpoint(77),
                source: slot(1),
                destination: slot(10)
            })
        );
        assert_eq!(
            decode(
                &memory,
                InvocationLabel::CNodeMint,
                &[10, 64, 2, 64, all, 77]
            ),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeMint, &[10, 64, 1, 64, all]),
            Err(SyscallError::truncated_message())
        );
        // Minting a CNode sets its guard.
        let Ok(CNodeInvocation::Insert { cap, .. }) = decode(
            &memory,
            InvocationLabel::CNodeMint,
            &[10, 64, 3, 64, all, 3 << 6 | 4],
        ) else {
            panic!("cnode mint");
        };
        assert!(matches!(
            cap,
            Cap::CNode {
                guard_size: 4,
                guard: 3,
                ..
            }
        ));
    }

    #[test]
    fn copy_errors_in_order() {
        let memory = setup();
        let all = CapRights::all().0;
        // Occupied destination before anything about the source.
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCopy, &[2, 64, 99, 64, all]),
            Err(SyscallError::delete_first())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCopy, &[10, 64, 99, 64, all]),
            Err(SyscallError::failed_lookup(
                LookupRole::Source,
                LookupFault::MissingCapability { bits_left: 64 }
            ))
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCopy, &[10, 64, 1, 0, all]),
            Err(SyscallError::range_error(1, 64))
        );
        // Missing rights word only matters once the source is found.
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCopy, &[10, 64, 1, 64]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCopy, &[10, 64, 4, 64, all]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode_cnode_invocation(
                &memory,
                &root(),
                InvocationLabel::CNodeCopy as u64,
                &[10, 64, 1, 64, all],
                &[]
            ),
            Err(SyscallError::truncated_message())
        );
    }

    #[test]
    fn copying_an_untyped_with_children_needs_revoke() {
        let mut memory = setup();
        let all = CapRights::all().0;
        assert!(decode(&memory, InvocationLabel::CNodeCopy, &[10, 64, 5, 64, all]).is_ok());
        crate::cdt::insert_new_object(
            &mut memory,
            slot(5),
            slot(20),
            &Cap::Thread { ptr: 0x4800_0000 },
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCopy, &[10, 64, 5, 64, all]),
            Err(SyscallError::revoke_first())
        );
    }

    #[test]
    fn move_and_mutate() {
        let mut memory = setup();
        let invocation =
            decode(&memory, InvocationLabel::CNodeMove, &[10, 64, 2, 64]).expect("valid move");
        assert_eq!(
            invocation,
            CNodeInvocation::Move {
                cap: endpoint(9),
                source: slot(2),
                destination: slot(10)
            }
        );
        if let CNodeInvocation::Move {
            cap,
            source,
            destination,
        } = invocation
        {
            move_cap(&mut memory, source, destination, &cap);
        }
        assert_eq!(memory.read(slot(10)).cap(), endpoint(9));
        assert!(memory.read(slot(2)).cap().is_null());
        // Mutate cannot badge an endpoint but can set a CNode guard.
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeMutate, &[11, 64, 1, 64, 5]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeMutate, &[11, 64, 1, 64]),
            Err(SyscallError::truncated_message())
        );
        assert!(matches!(
            decode(
                &memory,
                InvocationLabel::CNodeMutate,
                &[11, 64, 3, 64, 2 << 6 | 3]
            ),
            Ok(CNodeInvocation::Move {
                cap: Cap::CNode {
                    guard_size: 3,
                    guard: 2,
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn revoke_delete_save_caller_cancel() {
        let memory = setup();
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeRevoke, &[1, 64]),
            Ok(CNodeInvocation::Revoke { slot: slot(1) })
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeDelete, &[7, 64]),
            Ok(CNodeInvocation::Delete { slot: slot(7) })
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeSaveCaller, &[7, 64]),
            Ok(CNodeInvocation::SaveCaller { slot: slot(7) })
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeSaveCaller, &[1, 64]),
            Err(SyscallError::delete_first())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCancelBadgedSends, &[2, 64]),
            Ok(CNodeInvocation::CancelBadgedSends {
                endpoint: 0x4400_0000,
                badge: 9
            })
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeCancelBadgedSends, &[3, 64]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeDelete, &[7]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(&memory, InvocationLabel::CNodeDelete, &[1 << 62, 64]),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::GuardMismatch {
                    bits_left: 64,
                    guard_found: 0,
                    bits_found: 56
                }
            ))
        );
        assert_eq!(
            decode(&memory, InvocationLabel::UntypedRetype, &[1, 64]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode_cnode_invocation(&memory, &root(), 9999, &[1, 64], &[]),
            Err(SyscallError::illegal_operation())
        );
    }

    #[test]
    fn rotate_checks_and_moves() {
        let mut memory = setup();
        // dest 10 <- pivot 5 (untyped) <- source 4 (IrqControl).
        let mrs = [10, 64, 0, 5, 64, 0, 4, 64];
        let invocation = decode(&memory, InvocationLabel::CNodeRotate, &mrs).expect("valid rotate");
        let CNodeInvocation::Rotate {
            source_cap,
            source,
            pivot_cap,
            pivot,
            destination,
        } = invocation
        else {
            panic!("rotate");
        };
        assert_eq!((source, pivot, destination), (slot(4), slot(5), slot(10)));
        let untyped = memory.read(slot(5)).cap();
        rotate(
            &mut memory,
            source,
            &source_cap,
            pivot,
            &pivot_cap,
            destination,
        );
        assert_eq!(memory.read(slot(10)).cap(), untyped);
        assert_eq!(memory.read(slot(5)).cap(), Cap::IrqControl);
        assert!(memory.read(slot(4)).cap().is_null());

        let memory = setup();
        let rotate_with = |mrs: &[u64]| decode(&memory, InvocationLabel::CNodeRotate, mrs);
        assert_eq!(
            rotate_with(&mrs[..7]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode_cnode_invocation(
                &memory,
                &root(),
                InvocationLabel::CNodeRotate as u64,
                &mrs,
                &[root()]
            ),
            Err(SyscallError::truncated_message())
        );
        // Pivot equal to source or destination.
        assert_eq!(
            rotate_with(&[10, 64, 0, 4, 64, 0, 4, 64]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            rotate_with(&[5, 64, 0, 5, 64, 0, 4, 64]),
            Err(SyscallError::illegal_operation())
        );
        // Occupied destination that is not the source.
        assert_eq!(
            rotate_with(&[3, 64, 0, 5, 64, 0, 4, 64]),
            Err(SyscallError::delete_first())
        );
        // Source == destination is a swap and needs no empty slot.
        assert!(rotate_with(&[4, 64, 0, 5, 64, 0, 4, 64]).is_ok());
        // Empty source (reported as source), empty pivot (reported as not source).
        assert_eq!(
            rotate_with(&[10, 64, 0, 5, 64, 0, 11, 64]),
            Err(SyscallError::failed_lookup(
                LookupRole::Source,
                LookupFault::MissingCapability { bits_left: 64 }
            ))
        );
        assert_eq!(
            rotate_with(&[10, 64, 0, 12, 64, 0, 4, 64]),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::MissingCapability { bits_left: 64 }
            ))
        );
        // Endpoint caps cannot be updated with preserve set, so they cannot rotate.
        assert_eq!(
            rotate_with(&[10, 64, 0, 5, 64, 0, 1, 64]),
            Err(SyscallError::illegal_operation())
        );
        // A CNode's guard can be set while rotating.
        assert!(matches!(
            rotate_with(&[10, 64, 0, 5, 64, 2 << 6 | 3, 3, 64]),
            Ok(CNodeInvocation::Rotate {
                source_cap: Cap::CNode {
                    guard_size: 3,
                    guard: 2,
                    ..
                },
                ..
            })
        ));
    }
}
