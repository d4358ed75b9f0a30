//! The root task's own CSpace: two levels, so it can hold a capability per frame.
//!
//! The kernel hands over a root CNode of 2^12 slots, far too few once every page of every
//! process has a frame capability. At boot [`CSpace::build`] makes a new top-level CNode of
//! 2^12 slots whose slot 0 holds the initial CNode (re-minted without a guard) and whose
//! other slots receive 2^12-slot leaf CNodes as they are needed, then makes it the root
//! task's CSpace root with a 40-bit zero guard (TCBSetSpace on itself):
//!
//! ```text
//! cptr bits  63..24 (40)  23..12 (12)        11..0 (12)
//!            guard = 0    top slot = leaf    slot in leaf
//! ```
//!
//! Top slot 0 is the initial CNode, so every cptr the kernel gave out (< 4096) still names
//! the same capability, and the root task needs no translation for them. In all, 2^24 slots.
//! Any slot is addressed for an invocation as (root = [`CSpace::root`], index = cptr, depth
//! 64), a leaf CNode as (root, index = top slot, depth 52).

use crate::free_list::FreeList;
use sel4::cap_type::{CNode, Tcb, Untyped, VSpace};
use sel4::{init_cap, BootInfo, CPtr, Cap, CapRights, ObjectType};

/// log2 of the slots in the top-level CNode and in each leaf.
pub const RADIX_BITS: u64 = 12;
/// Slots per leaf.
const LEAF_SLOTS: u64 = 1 << RADIX_BITS;
/// Bits of the guard on the top-level CNode cap: 64 - 12 - 12.
const TOP_GUARD_BITS: u64 = 64 - 2 * RADIX_BITS;
/// Depth at which a leaf CNode cap is found (guard + top radix).
pub const LEAF_DEPTH: u64 = TOP_GUARD_BITS + RADIX_BITS;
/// Depth of a full cptr.
pub const SLOT_DEPTH: u64 = 64;

/// A CNode's guard data word for Mint/Mutate/SetSpace: `guard << 6 | guard_size`.
const fn guard_data(guard_size: u64) -> u64 {
    guard_size
}

/// Why a slot could not be provided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotError {
    /// All 2^24 slots are in use, or no memory is left for another leaf.
    Exhausted,
}

/// Something that can make a leaf CNode: the untyped allocator, without the slot
/// allocator depending on it.
pub trait LeafSource {
    /// Retypes a CNode of 2^[`RADIX_BITS`] slots into top-level slot `top_slot`.
    ///
    /// # Errors
    /// When no untyped has room.
    fn make_leaf(&mut self, root: Cap<CNode>, top_slot: u64) -> Result<(), SlotError>;
}

/// The two-level CSpace and its slot allocator.
#[derive(Debug)]
pub struct CSpace {
    root: Cap<CNode>,
    /// Freed slots, reused first; room for every slot made is reserved, so freeing a
    /// slot never allocates.
    free: FreeList<CPtr>,
    /// The next never-used slot, and the end of the leaf it is in.
    fresh: CPtr,
    fresh_end: CPtr,
    /// The next top-level slot to receive a leaf.
    next_leaf: u64,
    /// Slots ever made available for allocation (the initial CNode's empty range plus
    /// every leaf), for [`CSpace::slot_counts`].
    capacity: u64,
}

/// How many slots the root task's CSpace has made available, and how many are free
/// (`/proc/meminfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotCounts {
    pub free: u64,
    pub used: u64,
}

impl CSpace {
    /// Builds the two-level CSpace from the initial one and switches the root task to it.
    /// `untyped` is a RAM untyped with room for one 2^12-slot CNode (128 KiB).
    ///
    /// # Errors
    /// The seL4 error of the first invocation that failed (a kernel that does not behave
    /// like seL4 16.0.0); the root task cannot continue without its CSpace.
    pub fn build(bootinfo: &BootInfo, untyped: Cap<Untyped>) -> sel4::Result<CSpace> {
        let initial: Cap<CNode> = Cap::from_bits(init_cap::INIT_THREAD_CNODE);
        let empty = bootinfo.empty;
        if empty.len() < 8 {
            return Err(sel4::Error::NotEnoughMemory);
        }
        let top_slot = empty.start;
        let guarded_slot = empty.start + 1;
        untyped.untyped_retype(ObjectType::CNode, RADIX_BITS, initial, 0, 0, top_slot, 1)?;
        let top: Cap<CNode> = Cap::from_bits(top_slot);
        // Slot 0 of the new top level: the initial CNode, guard removed so that it
        // resolves exactly 12 bits.
        top.cnode_mint(
            0,
            RADIX_BITS,
            initial,
            init_cap::INIT_THREAD_CNODE,
            SLOT_DEPTH,
            CapRights::all(),
            guard_data(0),
        )?;
        // The cap the root task's TCB will use: the top level with the 40-bit guard.
        initial.cnode_mint(
            guarded_slot,
            SLOT_DEPTH,
            initial,
            top_slot,
            SLOT_DEPTH,
            CapRights::all(),
            guard_data(TOP_GUARD_BITS),
        )?;
        let root: Cap<CNode> = Cap::from_bits(guarded_slot);
        let tcb: Cap<Tcb> = Cap::from_bits(init_cap::INIT_THREAD_TCB);
        let vspace: Cap<VSpace> = Cap::from_bits(init_cap::INIT_THREAD_VSPACE);
        tcb.tcb_set_space(0, root, 0, vspace)?;
        let fresh = empty.start + 2;
        let fresh_end = empty.end.min(LEAF_SLOTS);
        let mut free = FreeList::new();
        free.reserve_total(usize::try_from(fresh_end.saturating_sub(fresh)).unwrap_or(0))
            .map_err(|_| sel4::Error::NotEnoughMemory)?;
        Ok(CSpace {
            root,
            free,
            fresh,
            fresh_end,
            next_leaf: 1,
            capacity: fresh_end.saturating_sub(fresh),
        })
    }

    /// The root CNode cap (with its guard), for every (root, index, depth) argument.
    pub const fn root(&self) -> Cap<CNode> {
        self.root
    }

    /// Slots available without making another leaf.
    pub fn spare_slots(&self) -> u64 {
        (self.free.len() as u64).saturating_add(self.fresh_end.saturating_sub(self.fresh))
    }

    /// One free slot.
    ///
    /// # Errors
    /// [`SlotError::Exhausted`].
    pub fn allocate(&mut self, leaves: &mut impl LeafSource) -> Result<CPtr, SlotError> {
        if let Some(slot) = self.free.pop() {
            return Ok(slot);
        }
        self.allocate_run(1, leaves)
    }

    /// `count` consecutive free slots in one leaf (for a batch retype); returns the first.
    ///
    /// # Errors
    /// [`SlotError::Exhausted`], also when `count` exceeds a leaf.
    pub fn allocate_run(
        &mut self,
        count: u64,
        leaves: &mut impl LeafSource,
    ) -> Result<CPtr, SlotError> {
        if count == 0 || count > LEAF_SLOTS {
            return Err(SlotError::Exhausted);
        }
        if self.fresh_end - self.fresh < count {
            // Leave the rest of this leaf to single allocations.
            while self.fresh < self.fresh_end {
                self.free.push(self.fresh);
                self.fresh += 1;
            }
            if self.next_leaf >= LEAF_SLOTS {
                return Err(SlotError::Exhausted);
            }
            let total = self.capacity.saturating_add(LEAF_SLOTS);
            self.free
                .reserve_total(usize::try_from(total).unwrap_or(usize::MAX))
                .map_err(|_| SlotError::Exhausted)?;
            leaves.make_leaf(self.root, self.next_leaf)?;
            self.fresh = self.next_leaf << RADIX_BITS;
            self.fresh_end = self.fresh + LEAF_SLOTS;
            self.next_leaf += 1;
            self.capacity += LEAF_SLOTS;
        }
        let first = self.fresh;
        self.fresh += count;
        Ok(first)
    }

    /// Free and used slots: free ones are on the free list or not yet handed out in the
    /// current leaf; every other slot made available holds a cap (or is about to).
    pub fn slot_counts(&self) -> SlotCounts {
        let free = (self.free.len() as u64).saturating_add(self.fresh_end - self.fresh);
        SlotCounts {
            free,
            used: self.capacity.saturating_sub(free),
        }
    }

    /// Leaf CNodes made so far (each 2^[`RADIX_BITS`] slots).
    pub const fn leaves(&self) -> u64 {
        self.next_leaf - 1
    }

    /// Returns an empty slot for reuse. The caller has deleted (or moved) its cap.
    pub fn free(&mut self, slot: CPtr) {
        self.free.push(slot);
    }

    /// Where a slot's leaf CNode is: (index, depth) for UntypedRetype's node arguments,
    /// and the slot's offset in it.
    pub const fn leaf_of(slot: CPtr) -> (u64, u64, u64) {
        (slot >> RADIX_BITS, LEAF_DEPTH, slot & (LEAF_SLOTS - 1))
    }

    /// Deletes the cap in `slot` and frees the slot.
    ///
    /// # Errors
    /// The kernel's error (the slot is then not freed).
    pub fn delete(&mut self, slot: CPtr) -> sel4::Result<()> {
        self.root.cnode_delete(slot, SLOT_DEPTH)?;
        self.free(slot);
        Ok(())
    }

    /// Copies the cap in `source` to a new slot with `rights`.
    ///
    /// # Errors
    /// No slot, or the kernel's error.
    pub fn copy(
        &mut self,
        source: CPtr,
        rights: CapRights,
        leaves: &mut impl LeafSource,
    ) -> Result<CPtr, CopyError> {
        let slot = self.allocate(leaves).map_err(CopyError::Slot)?;
        match self
            .root
            .cnode_copy(slot, SLOT_DEPTH, self.root, source, SLOT_DEPTH, rights)
        {
            Ok(()) => Ok(slot),
            Err(error) => {
                self.free(slot);
                Err(CopyError::Kernel(error))
            }
        }
    }
}

/// Why [`CSpace::copy`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyError {
    Slot(SlotError),
    Kernel(sel4::Error),
}
