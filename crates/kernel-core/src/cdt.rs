//! The capability derivation tree (seL4's "mapping database"): every non-empty slot is on
//! one doubly linked list, in depth-first order of derivation, through its [`MdbNode`].
//!
//! A slot's children are the run of slots right after it for which
//! [`is_mdb_parent_of`] holds; there is no explicit parent pointer. The flags make this
//! work: `revocable` marks caps whose copies are their children (original caps from
//! retype, newly badged endpoint/notification caps, IRQ handlers from IrqControl), and
//! `first_badged` marks the first cap carrying a badge so that badged caps minted one
//! after another from the same unbadged cap are siblings, not each other's children.
//!
//! Every operation here only relinks slots and writes caps. Object teardown (what seL4's
//! `finaliseCap` does) is the caller's: call [`is_final_capability`] before [`empty_slot`]
//! to learn whether the object dies with the cap.

use crate::cap::Cap;
use crate::error::SyscallError;
use crate::slot::{MdbNode, Slot, SlotAddr};

/// Physical memory holding slots, as the derivation tree sees it. The kernel implements
/// it over its physical window; tests over a map.
pub trait SlotMemory {
    fn read(&self, slot: SlotAddr) -> Slot;
    fn write(&mut self, slot: SlotAddr, value: Slot);
}

/// Puts `cap`, derived from the cap in `parent` (Copy, Mint, Mutate of a derived cap,
/// IrqControl Get), into the empty slot `child`, linked right after `parent` (seL4's
/// `cteInsert`). The new cap is revocable (and first-badged) when seL4's
/// `isCapRevocable` says so: a badge differing from the parent's, an IRQ handler made by
/// IrqControl, or an untyped. Inserting an untyped covering the parent's whole untyped
/// marks the parent full, so it cannot hand out the same memory again.
///
/// # Invariants
/// `child` holds the null cap and no links (the decoder checked it with
/// [`ensure_empty_slot`]); `parent != child`.
pub fn insert_child(memory: &mut impl SlotMemory, parent: SlotAddr, child: SlotAddr, cap: &Cap) {
    let mut parent_slot = memory.read(parent);
    let parent_cap = parent_slot.cap();
    let revocable = is_cap_revocable(cap, &parent_cap);
    let next = parent_slot.mdb.next();
    let mdb = parent_slot
        .mdb
        .with_prev(Some(parent))
        .with_revocable(revocable)
        .with_first_badged(revocable);
    if let Some(full) = untyped_marked_full(&parent_cap, cap) {
        parent_slot.set_cap(&full);
    }
    memory.write(child, Slot::new(cap, mdb));
    parent_slot.mdb = parent_slot.mdb.with_next(Some(child));
    memory.write(parent, parent_slot);
    if let Some(next) = next {
        set_prev(memory, next, Some(child));
    }
}

/// Puts the cap to a newly retyped object into the empty slot `child`, as a revocable,
/// first-badged child of the untyped in `parent` (seL4's `insertNewCap`).
///
/// # Invariants
/// As for [`insert_child`].
pub fn insert_new_object(
    memory: &mut impl SlotMemory,
    parent: SlotAddr,
    child: SlotAddr,
    cap: &Cap,
) {
    let mut parent_slot = memory.read(parent);
    let next = parent_slot.mdb.next();
    let mdb = MdbNode::EMPTY
        .with_prev(Some(parent))
        .with_next(next)
        .with_revocable(true)
        .with_first_badged(true);
    memory.write(child, Slot::new(cap, mdb));
    parent_slot.mdb = parent_slot.mdb.with_next(Some(child));
    memory.write(parent, parent_slot);
    if let Some(next) = next {
        set_prev(memory, next, Some(child));
    }
}

/// Moves the cap in `source` to the empty slot `destination` as `cap` (the same cap, or a
/// mutated one for Mutate/Rotate), taking over the source's place in the tree and its
/// flags; `source` is left empty (seL4's `cteMove`). Moving a slot onto itself only
/// replaces the cap.
pub fn move_cap(memory: &mut impl SlotMemory, source: SlotAddr, destination: SlotAddr, cap: &Cap) {
    let source_slot = memory.read(source);
    if source == destination {
        memory.write(source, Slot::new(cap, source_slot.mdb));
        return;
    }
    let mdb = source_slot.mdb;
    memory.write(destination, Slot::new(cap, mdb));
    memory.write(source, Slot::EMPTY);
    if let Some(prev) = mdb.prev() {
        set_next(memory, prev, Some(destination));
    }
    if let Some(next) = mdb.next() {
        set_prev(memory, next, Some(destination));
    }
}

/// Exchanges two slots' places in the tree, leaving `cap_for_first` in `first` and
/// `cap_for_second` in `second` (seL4's `cteSwap`, used by Rotate when source and
/// destination are the same slot). Works when the slots are neighbours in the list.
pub fn swap_caps(
    memory: &mut impl SlotMemory,
    first: SlotAddr,
    cap_for_first: &Cap,
    second: SlotAddr,
    cap_for_second: &Cap,
) {
    if first == second {
        let slot = memory.read(first);
        memory.write(first, Slot::new(cap_for_first, slot.mdb));
        return;
    }
    // Repoint first's neighbours at second, then read second's (possibly just updated)
    // links, so adjacent slots end up pointing at each other correctly.
    let first_mdb = memory.read(first).mdb;
    if let Some(prev) = first_mdb.prev() {
        set_next(memory, prev, Some(second));
    }
    if let Some(next) = first_mdb.next() {
        set_prev(memory, next, Some(second));
    }
    let second_mdb = memory.read(second).mdb;
    memory.write(first, Slot::new(cap_for_first, second_mdb));
    memory.write(second, Slot::new(cap_for_second, first_mdb));
    if let Some(prev) = second_mdb.prev() {
        set_next(memory, prev, Some(first));
    }
    if let Some(next) = second_mdb.next() {
        set_prev(memory, next, Some(first));
    }
}

/// CNode Rotate's cap movement (seL4's `invokeCNodeRotate`): the pivot's cap moves to
/// `destination` as `pivot_cap`, and the source's cap moves to `pivot` as `source_cap`.
/// When `source == destination` the two swap.
///
/// # Invariants
/// `pivot` differs from both others; `destination` is empty unless it is `source`.
pub fn rotate(
    memory: &mut impl SlotMemory,
    source: SlotAddr,
    source_cap: &Cap,
    pivot: SlotAddr,
    pivot_cap: &Cap,
    destination: SlotAddr,
) {
    if source == destination {
        swap_caps(memory, source, pivot_cap, pivot, source_cap);
    } else {
        move_cap(memory, pivot, destination, pivot_cap);
        move_cap(memory, source, pivot, source_cap);
    }
}

/// Removes the cap in `slot` from the tree and empties the slot (the derivation-tree part
/// of seL4's `emptySlot`). Its children move up to its parent; a following cap inherits
/// its `first_badged` flag so badge runs stay delimited. Emptying an empty slot does
/// nothing.
pub fn empty_slot(memory: &mut impl SlotMemory, slot: SlotAddr) {
    let value = memory.read(slot);
    if value.cap().is_null() {
        return;
    }
    let prev = value.mdb.prev();
    let next = value.mdb.next();
    if let Some(prev) = prev {
        set_next(memory, prev, next);
    }
    if let Some(next) = next {
        let mut next_slot = memory.read(next);
        let first_badged = next_slot.mdb.first_badged() || value.mdb.first_badged();
        next_slot.mdb = next_slot
            .mdb
            .with_prev(prev)
            .with_first_badged(first_badged);
        memory.write(next, next_slot);
    }
    memory.write(slot, Slot::EMPTY);
}

/// Replaces the cap in `slot` keeping its place in the tree (an untyped's watermark, a
/// frame's mapping, a CNode's guard after Mutate in place).
pub fn update_cap(memory: &mut impl SlotMemory, slot: SlotAddr, cap: &Cap) {
    let mut value = memory.read(slot);
    value.set_cap(cap);
    memory.write(slot, value);
}

/// seL4's `isMDBParentOf`: whether `child` (some slot after `parent` in the list) is
/// derived from `parent`.
pub fn is_mdb_parent_of(parent: &Slot, child: &Slot) -> bool {
    if !parent.mdb.revocable() {
        return false;
    }
    let parent_cap = parent.cap();
    let child_cap = child.cap();
    if !same_region_as(&parent_cap, &child_cap) {
        return false;
    }
    let badge_rule = |parent_badge: u64, child_badge: u64| {
        parent_badge == 0 || (parent_badge == child_badge && !child.mdb.first_badged())
    };
    match (parent_cap, child_cap) {
        (
            Cap::Endpoint {
                badge: parent_badge,
                ..
            },
            Cap::Endpoint { badge, .. },
        )
        | (
            Cap::Notification {
                badge: parent_badge,
                ..
            },
            Cap::Notification { badge, .. },
        ) => badge_rule(parent_badge, badge),
        _ => true,
    }
}

/// The first child of `slot`, if it has any (what Revoke deletes next).
pub fn first_child(memory: &impl SlotMemory, slot: SlotAddr) -> Option<SlotAddr> {
    let parent = memory.read(slot);
    let next = parent.mdb.next()?;
    is_mdb_parent_of(&parent, &memory.read(next)).then_some(next)
}

/// Every descendant of `slot`, in list order: the run of slots after it that it is an
/// MDB parent of. Revoke deletes them; since deleting one changes the list, revoke
/// loops on [`first_child`] rather than holding this iterator across deletions.
pub fn descendants<M: SlotMemory>(memory: &M, slot: SlotAddr) -> Descendants<'_, M> {
    let parent = memory.read(slot);
    Descendants {
        memory,
        next: parent.mdb.next(),
        parent,
    }
}

/// Iterator returned by [`descendants`].
pub struct Descendants<'memory, M: SlotMemory> {
    memory: &'memory M,
    parent: Slot,
    next: Option<SlotAddr>,
}

impl<M: SlotMemory> Iterator for Descendants<'_, M> {
    type Item = SlotAddr;

    fn next(&mut self) -> Option<SlotAddr> {
        let current = self.next?;
        let value = self.memory.read(current);
        if is_mdb_parent_of(&self.parent, &value) {
            self.next = value.mdb.next();
            Some(current)
        } else {
            self.next = None;
            None
        }
    }
}

/// Whether `slot` has children (an untyped with children keeps its watermark on retype).
pub fn has_children(memory: &impl SlotMemory, slot: SlotAddr) -> bool {
    first_child(memory, slot).is_some()
}

/// seL4's `ensureNoChildren`.
///
/// # Errors
/// RevokeFirst when `slot` has children.
pub fn ensure_no_children(memory: &impl SlotMemory, slot: SlotAddr) -> Result<(), SyscallError> {
    if has_children(memory, slot) {
        Err(SyscallError::revoke_first())
    } else {
        Ok(())
    }
}

/// seL4's `ensureEmptySlot`.
///
/// # Errors
/// DeleteFirst when `slot` holds a cap.
pub fn ensure_empty_slot(memory: &impl SlotMemory, slot: SlotAddr) -> Result<(), SyscallError> {
    if memory.read(slot).cap().is_null() {
        Ok(())
    } else {
        Err(SyscallError::delete_first())
    }
}

/// seL4's `isFinalCapability`: whether no other cap names the same object, so deleting
/// this cap destroys it. Caps to one object are always neighbours in the list, so only
/// the two neighbours are checked.
pub fn is_final_capability(memory: &impl SlotMemory, slot: SlotAddr) -> bool {
    let value = memory.read(slot);
    let cap = value.cap();
    let same_as_prev = value
        .mdb
        .prev()
        .is_some_and(|prev| same_object_as(&memory.read(prev).cap(), &cap));
    let same_as_next = value
        .mdb
        .next()
        .is_some_and(|next| same_object_as(&cap, &memory.read(next).cap()));
    !same_as_prev && !same_as_next
}

/// seL4's `sameRegionAs`: whether `b` names `a`'s object or (for an untyped `a`)
/// something inside its memory.
pub fn same_region_as(a: &Cap, b: &Cap) -> bool {
    match (*a, *b) {
        (Cap::Untyped { .. }, _) => match (a.object_region(), b.object_region()) {
            (Some(outer), Some(inner)) => outer.contains(&inner),
            _ => false,
        },
        (Cap::Endpoint { ptr: x, .. }, Cap::Endpoint { ptr: y, .. })
        | (Cap::Notification { ptr: x, .. }, Cap::Notification { ptr: y, .. })
        | (Cap::Thread { ptr: x }, Cap::Thread { ptr: y })
        | (Cap::Reply { tcb: x, .. }, Cap::Reply { tcb: y, .. })
        | (Cap::PageTable { ptr: x, .. }, Cap::PageTable { ptr: y, .. })
        | (Cap::VSpace { ptr: x, .. }, Cap::VSpace { ptr: y, .. })
        | (Cap::AsidPool { ptr: x, .. }, Cap::AsidPool { ptr: y, .. }) => x == y,
        (
            Cap::CNode {
                ptr: x, radix: rx, ..
            },
            Cap::CNode {
                ptr: y, radix: ry, ..
            },
        ) => x == y && rx == ry,
        (Cap::IrqHandler { irq: x }, Cap::IrqHandler { irq: y }) => x == y,
        (Cap::Domain, Cap::Domain)
        | (Cap::AsidControl, Cap::AsidControl)
        | (Cap::IrqControl, Cap::IrqControl | Cap::IrqHandler { .. }) => true,
        (Cap::Frame { .. }, Cap::Frame { .. }) => match (a.object_region(), b.object_region()) {
            (Some(outer), Some(inner)) => outer.contains(&inner),
            _ => false,
        },
        _ => false,
    }
}

/// seL4's `sameObjectAs`: whether `a` and `b` name the same object (an untyped never
/// counts, since retype children are other objects; frames must match exactly).
pub fn same_object_as(a: &Cap, b: &Cap) -> bool {
    match (*a, *b) {
        (Cap::Untyped { .. }, _) | (Cap::IrqControl, Cap::IrqHandler { .. }) => false,
        (
            Cap::Frame {
                paddr: x,
                size: size_x,
                is_device: device_x,
                ..
            },
            Cap::Frame {
                paddr: y,
                size: size_y,
                is_device: device_y,
                ..
            },
        ) => x == y && size_x == size_y && device_x == device_y,
        _ => same_region_as(a, b),
    }
}

/// seL4's `isCapRevocable`: whether `derived`, made from `source`, becomes the root of
/// its own revocable subtree.
pub fn is_cap_revocable(derived: &Cap, source: &Cap) -> bool {
    match (*derived, *source) {
        (
            Cap::Endpoint { badge, .. },
            Cap::Endpoint {
                badge: source_badge,
                ..
            },
        )
        | (
            Cap::Notification { badge, .. },
            Cap::Notification {
                badge: source_badge,
                ..
            },
        ) => badge != source_badge,
        (Cap::IrqHandler { .. }, source) => matches!(source, Cap::IrqControl),
        (Cap::Untyped { .. }, _) => true,
        _ => false,
    }
}

/// seL4's `setUntypedCapAsFull`: when an untyped is copied whole, the original is marked
/// full so only one of them can retype.
fn untyped_marked_full(parent: &Cap, derived: &Cap) -> Option<Cap> {
    match (*parent, *derived) {
        (
            Cap::Untyped {
                paddr,
                size_bits,
                is_device,
                ..
            },
            Cap::Untyped {
                paddr: derived_paddr,
                size_bits: derived_size_bits,
                ..
            },
        ) if paddr == derived_paddr && size_bits == derived_size_bits => Some(Cap::Untyped {
            paddr,
            size_bits,
            is_device,
            free_index: 1u64.checked_shl(size_bits.into()).unwrap_or(0),
        }),
        _ => None,
    }
}

fn set_next(memory: &mut impl SlotMemory, slot: SlotAddr, next: Option<SlotAddr>) {
    let mut value = memory.read(slot);
    value.mdb = value.mdb.with_next(next);
    memory.write(slot, value);
}

fn set_prev(memory: &mut impl SlotMemory, slot: SlotAddr, prev: Option<SlotAddr>) {
    let mut value = memory.read(slot);
    value.mdb = value.mdb.with_prev(prev);
    memory.write(slot, value);
}

/// A [`SlotMemory`] over a map, for tests here and in other modules.
#[cfg(test)]
pub(crate) mod test_memory {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    pub(crate) struct MapMemory {
        pub(crate) slots: HashMap<SlotAddr, Slot>,
    }

    impl SlotMemory for MapMemory {
        fn read(&self, slot: SlotAddr) -> Slot {
            self.slots.get(&slot).copied().unwrap_or_default()
        }
        fn write(&mut self, slot: SlotAddr, value: Slot) {
            self.slots.insert(slot, value);
        }
    }

    impl MapMemory {
        /// The list order starting from `head`, checking every back link on the way.
        pub(crate) fn list_from(&self, head: SlotAddr) -> Vec<SlotAddr> {
            let mut order = vec![head];
            let mut current = head;
            while let Some(next) = self.read(current).mdb.next() {
                assert_eq!(
                    self.read(next).mdb.prev(),
                    Some(current),
                    "broken back link"
                );
                assert!(order.len() < 1000, "cycle");
                order.push(next);
                current = next;
            }
            order
        }

        pub(crate) fn cap(&self, slot: SlotAddr) -> Cap {
            self.read(slot).cap()
        }
    }

    pub(crate) fn slot(index: u64) -> SlotAddr {
        SlotAddr::new(0x4000_0000 + index * 32).expect("test slot address")
    }
}

#[cfg(test)]
mod tests {
    use super::test_memory::{slot, MapMemory};
    use super::*;

    const UNTYPED_BASE: u64 = 0x5000_0000;

    fn untyped(size_bits: u8, free_index: u64) -> Cap {
        Cap::Untyped {
            paddr: UNTYPED_BASE,
            size_bits,
            is_device: false,
            free_index,
        }
    }

    fn endpoint(badge: u64) -> Cap {
        Cap::Endpoint {
            ptr: UNTYPED_BASE + 0x100,
            badge,
            can_send: true,
            can_receive: true,
            can_grant: true,
            can_grant_reply: true,
        }
    }

    fn notification(badge: u64) -> Cap {
        Cap::Notification {
            ptr: UNTYPED_BASE + 0x200,
            badge,
            can_send: true,
            can_receive: true,
        }
    }

    /// Untyped in slot 0 (an original: revocable, first-badged), as boot creates them.
    fn memory_with_untyped() -> MapMemory {
        let mut memory = MapMemory::default();
        let root = MdbNode::EMPTY.with_revocable(true).with_first_badged(true);
        memory.write(slot(0), Slot::new(&untyped(12, 0), root));
        memory
    }

    #[test]
    fn retype_children_follow_the_untyped() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        insert_new_object(&mut memory, slot(0), slot(2), &notification(0));
        // Each new object goes right after the untyped.
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(2), slot(1)]);
        assert!(memory.read(slot(1)).mdb.revocable());
        assert_eq!(first_child(&memory, slot(0)), Some(slot(2)));
        assert_eq!(
            descendants(&memory, slot(0)).collect::<Vec<_>>(),
            vec![slot(2), slot(1)]
        );
        assert_eq!(
            ensure_no_children(&memory, slot(0)),
            Err(SyscallError::revoke_first())
        );
        assert_eq!(ensure_no_children(&memory, slot(1)), Ok(()));
        assert_eq!(
            ensure_empty_slot(&memory, slot(1)),
            Err(SyscallError::delete_first())
        );
        assert_eq!(ensure_empty_slot(&memory, slot(3)), Ok(()));
    }

    #[test]
    fn copies_are_children_and_not_final() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        assert!(is_final_capability(&memory, slot(1)));
        insert_child(&mut memory, slot(1), slot(2), &endpoint(0));
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(1), slot(2)]);
        assert!(!memory.read(slot(2)).mdb.revocable());
        assert!(!is_final_capability(&memory, slot(1)));
        assert!(!is_final_capability(&memory, slot(2)));
        assert_eq!(first_child(&memory, slot(1)), Some(slot(2)));
        // A copy is not revocable, so it has no children even with caps after it.
        insert_child(&mut memory, slot(2), slot(3), &endpoint(0));
        assert_eq!(first_child(&memory, slot(2)), None);
        assert_eq!(
            descendants(&memory, slot(1)).collect::<Vec<_>>(),
            vec![slot(2), slot(3)]
        );
        // The untyped is never "the same object" as what it holds.
        assert!(!same_object_as(&untyped(12, 0), &endpoint(0)));
        assert!(same_region_as(&untyped(12, 0), &endpoint(0)));
    }

    #[test]
    fn badged_caps_are_siblings_under_the_original() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        // Mint badge 5, then copy it, then mint badge 5 again from the original.
        insert_child(&mut memory, slot(1), slot(2), &endpoint(5));
        insert_child(&mut memory, slot(2), slot(3), &endpoint(5));
        insert_child(&mut memory, slot(1), slot(4), &endpoint(5));
        assert_eq!(
            memory.list_from(slot(0)),
            vec![slot(0), slot(1), slot(4), slot(2), slot(3)]
        );
        assert!(memory.read(slot(2)).mdb.revocable() && memory.read(slot(2)).mdb.first_badged());
        assert!(!memory.read(slot(3)).mdb.revocable());
        // The unbadged original owns everything; each badged mint owns only its copies.
        assert_eq!(descendants(&memory, slot(1)).count(), 3);
        assert_eq!(
            first_child(&memory, slot(4)),
            None,
            "slot 2 is a sibling, not a child"
        );
        assert_eq!(
            descendants(&memory, slot(2)).collect::<Vec<_>>(),
            vec![slot(3)]
        );
        // A badge mismatch is never a child.
        insert_child(&mut memory, slot(1), slot(5), &endpoint(6));
        assert_eq!(first_child(&memory, slot(5)), None);
    }

    #[test]
    fn deleting_keeps_badge_runs_delimited() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(1), &notification(0));
        insert_child(&mut memory, slot(1), slot(2), &notification(7));
        insert_child(&mut memory, slot(2), slot(3), &notification(7));
        insert_child(&mut memory, slot(1), slot(4), &notification(7));
        // List: 0, 1, 4(first badged), 2(first badged), 3(copy of 2).
        empty_slot(&mut memory, slot(2));
        assert_eq!(memory.cap(slot(2)), Cap::Null);
        assert_eq!(memory.read(slot(2)).mdb, MdbNode::EMPTY);
        assert_eq!(
            memory.list_from(slot(0)),
            vec![slot(0), slot(1), slot(4), slot(3)]
        );
        // Slot 3 inherited first_badged, so it did not become a child of slot 4.
        assert!(memory.read(slot(3)).mdb.first_badged());
        assert_eq!(first_child(&memory, slot(4)), None);
        // Emptying an empty slot changes nothing.
        empty_slot(&mut memory, slot(2));
        assert_eq!(memory.list_from(slot(0)).len(), 4);
    }

    #[test]
    fn revoke_by_repeated_first_child() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        insert_child(&mut memory, slot(1), slot(2), &endpoint(3));
        insert_child(&mut memory, slot(2), slot(3), &endpoint(3));
        insert_new_object(&mut memory, slot(0), slot(4), &notification(0));
        let mut deleted = Vec::new();
        while let Some(child) = first_child(&memory, slot(1)) {
            deleted.push(child);
            empty_slot(&mut memory, child);
        }
        assert_eq!(deleted, vec![slot(2), slot(3)]);
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(4), slot(1)]);
        assert!(is_final_capability(&memory, slot(1)));
        while let Some(child) = first_child(&memory, slot(0)) {
            empty_slot(&mut memory, child);
        }
        assert_eq!(memory.list_from(slot(0)), vec![slot(0)]);
        assert_eq!(ensure_no_children(&memory, slot(0)), Ok(()));
    }

    #[test]
    fn moving_keeps_position_and_flags() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        insert_child(&mut memory, slot(1), slot(2), &endpoint(0));
        move_cap(&mut memory, slot(1), slot(9), &endpoint(0));
        assert_eq!(memory.cap(slot(1)), Cap::Null);
        assert_eq!(memory.read(slot(1)).mdb, MdbNode::EMPTY);
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(9), slot(2)]);
        assert!(memory.read(slot(9)).mdb.revocable());
        assert_eq!(first_child(&memory, slot(9)), Some(slot(2)));
        // Moving onto itself only replaces the cap.
        move_cap(&mut memory, slot(9), slot(9), &endpoint(0));
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(9), slot(2)]);
        update_cap(&mut memory, slot(0), &untyped(12, 64));
        assert_eq!(memory.cap(slot(0)), untyped(12, 64));
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(9), slot(2)]);
    }

    #[test]
    fn swapping_distant_and_adjacent_slots() {
        for (a, b) in [(1, 3), (1, 2), (2, 1)] {
            let mut memory = memory_with_untyped();
            insert_new_object(&mut memory, slot(0), slot(3), &notification(0));
            insert_new_object(&mut memory, slot(0), slot(2), &endpoint(0));
            insert_new_object(
                &mut memory,
                slot(0),
                slot(1),
                &Cap::Thread {
                    ptr: UNTYPED_BASE + 0x800,
                },
            );
            // List: 0, 1, 2, 3.
            let cap_a = memory.cap(slot(a));
            let cap_b = memory.cap(slot(b));
            swap_caps(&mut memory, slot(a), &cap_b, slot(b), &cap_a);
            let mut expected = vec![slot(0), slot(1), slot(2), slot(3)];
            expected.swap(a as usize, b as usize);
            assert_eq!(memory.list_from(slot(0)), expected, "swap {a} {b}");
            assert_eq!(memory.cap(slot(a)), cap_b);
            assert_eq!(memory.cap(slot(b)), cap_a);
        }
    }

    #[test]
    fn rotate_moves_two_caps() {
        let mut memory = memory_with_untyped();
        insert_new_object(&mut memory, slot(0), slot(2), &notification(0));
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        // source 1 -> pivot 2 -> destination 5.
        rotate(
            &mut memory,
            slot(1),
            &endpoint(9),
            slot(2),
            &notification(4),
            slot(5),
        );
        assert_eq!(memory.cap(slot(1)), Cap::Null);
        assert_eq!(memory.cap(slot(2)), endpoint(9));
        assert_eq!(memory.cap(slot(5)), notification(4));
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(2), slot(5)]);
        // source == destination swaps.
        rotate(
            &mut memory,
            slot(2),
            &endpoint(1),
            slot(5),
            &notification(2),
            slot(2),
        );
        assert_eq!(memory.cap(slot(2)), notification(2));
        assert_eq!(memory.cap(slot(5)), endpoint(1));
        assert_eq!(memory.list_from(slot(0)), vec![slot(0), slot(5), slot(2)]);
    }

    #[test]
    fn copying_a_whole_untyped_marks_the_original_full() {
        let mut memory = memory_with_untyped();
        insert_child(&mut memory, slot(0), slot(1), &untyped(12, 0));
        assert_eq!(memory.cap(slot(0)), untyped(12, 1 << 12));
        assert!(memory.read(slot(1)).mdb.revocable());
        assert_eq!(first_child(&memory, slot(0)), Some(slot(1)));
    }

    #[test]
    fn region_and_object_rules() {
        let frame = |paddr: u64, size: crate::cap::FrameSize, is_device: bool| Cap::Frame {
            paddr,
            size,
            rights: crate::cap::VmRights::ReadWrite,
            is_device,
            mapping: None,
        };
        let large = frame(0x4020_0000, crate::cap::FrameSize::Large, false);
        let small = frame(0x4020_1000, crate::cap::FrameSize::Small, false);
        assert!(same_region_as(&large, &small));
        assert!(!same_region_as(&small, &large));
        assert!(!same_object_as(&large, &small));
        assert!(same_object_as(&small, &small));
        assert!(!same_object_as(
            &small,
            &frame(0x4020_1000, crate::cap::FrameSize::Small, true)
        ));
        assert!(same_region_as(
            &Cap::IrqControl,
            &Cap::IrqHandler { irq: 3 }
        ));
        assert!(!same_object_as(
            &Cap::IrqControl,
            &Cap::IrqHandler { irq: 3 }
        ));
        assert!(!same_region_as(
            &Cap::IrqHandler { irq: 3 },
            &Cap::IrqHandler { irq: 4 }
        ));
        let cnode = |radix: u8| Cap::CNode {
            ptr: 0x4100_0000,
            radix,
            guard_size: 0,
            guard: 0,
        };
        assert!(same_region_as(
            &cnode(4),
            &Cap::CNode {
                ptr: 0x4100_0000,
                radix: 4,
                guard_size: 3,
                guard: 1,
            }
        ));
        assert!(!same_region_as(&cnode(4), &cnode(5)));
        assert!(!same_region_as(&Cap::Null, &Cap::Null));
        // Untyped contains only what lies wholly inside it.
        let small_untyped = untyped(9, 0);
        assert!(same_region_as(&small_untyped, &endpoint(0)));
        assert!(!same_region_as(&small_untyped, &notification(0)));
        assert!(!same_region_as(
            &small_untyped,
            &Cap::Reply {
                tcb: UNTYPED_BASE,
                is_master: true,
                can_grant: false
            }
        ));
        // Revocability.
        assert!(is_cap_revocable(&endpoint(1), &endpoint(0)));
        assert!(!is_cap_revocable(&endpoint(1), &endpoint(1)));
        assert!(is_cap_revocable(
            &Cap::IrqHandler { irq: 1 },
            &Cap::IrqControl
        ));
        assert!(!is_cap_revocable(
            &Cap::IrqHandler { irq: 1 },
            &Cap::IrqHandler { irq: 1 }
        ));
        assert!(is_cap_revocable(&untyped(4, 0), &untyped(12, 0)));
        assert!(!is_cap_revocable(&cnode(4), &cnode(4)));
    }
}
