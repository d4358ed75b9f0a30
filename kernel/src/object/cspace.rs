//! Capability slots in kernel memory: kernel-core's [`SlotMemory`] over the physical
//! window, and CSpace lookups built on kernel-core's `resolveAddressBits`.

use super::object_pointer;
use super::tcb::cspace_root_cnode;
use kernel_core::cspace::{lookup_cap_and_slot, lookup_slot_from};
use kernel_core::{Cap, LookupFault, Slot, SlotAddr, SlotMemory};

/// Pointer to slot `index` of the CNode at physical address `cnode`.
pub fn cnode_slot_pointer(cnode: u64, index: u64) -> *mut Slot {
    object_pointer::<Slot>(cnode + (index << sel4::SLOT_BITS))
}

/// The kernel's slots: CNode, TCB and IRQ-node slots, all reached through the window.
///
/// # Invariants
/// Every [`SlotAddr`] the kernel holds (in caps, derivation-tree links, lookups) names a
/// slot inside a live CNode or TCB object, or the kernel's IRQ node, all in RAM that the
/// window maps; the kernel runs on one CPU with interrupts masked.
pub struct KernelSlots;

impl SlotMemory for KernelSlots {
    fn read(&self, slot: SlotAddr) -> Slot {
        // SAFETY: by the type's invariant `slot` is an initialised slot in kernel memory;
        // it is copied out, no reference is kept.
        unsafe { object_pointer::<Slot>(slot.addr()).read() }
    }

    fn write(&mut self, slot: SlotAddr, value: Slot) {
        // SAFETY: as for `read`; nothing else holds a reference to the slot.
        unsafe { object_pointer::<Slot>(slot.addr()).write(value) }
    }
}

/// The kernel's [`SlotMemory`].
pub fn slot_memory() -> KernelSlots {
    KernelSlots
}

/// The two words of the cap in `slot`, for `kernel_core::raw_cap`'s readers.
#[inline(always)]
pub fn cap_words(slot: SlotAddr) -> [u64; 2] {
    slot_memory().read(slot).cap
}

/// Replaces the cap in `slot` with the cap whose words are `words`, keeping the slot's
/// derivation-tree links (`cdt::update_cap` without a decoded cap).
#[inline(always)]
pub fn set_cap_words(slot: SlotAddr, words: [u64; 2]) {
    // SAFETY: by `KernelSlots`' invariant `slot` is an initialised slot in kernel memory;
    // only its cap field is written and no reference to it is kept.
    unsafe { core::ptr::addr_of_mut!((*object_pointer::<Slot>(slot.addr())).cap).write(words) }
}

/// The cap in `slot`.
pub fn read_cap(slot: SlotAddr) -> Cap {
    slot_memory().read(slot).cap()
}

/// The cap at `cptr` (full word depth) in the CSpace rooted at `root`, and its slot's
/// physical address; Null and `None` if the lookup fails.
pub fn lookup_cap(root: Cap, cptr: u64) -> (Cap, Option<u64>) {
    match lookup_cap_and_slot(&slot_memory(), &root, cptr) {
        Ok((cap, slot)) => (cap, Some(slot.addr())),
        Err(_) => (Cap::Null, None),
    }
}

/// seL4's `lookupSlot` in the CSpace of thread `tcb`: the slot `cptr` names (all 64
/// bits).
///
/// # Errors
/// The lookup fault, for the caller to turn into a cap fault.
#[inline(always)]
pub fn lookup_slot_of(tcb: u64, cptr: u64) -> Result<SlotAddr, LookupFault> {
    lookup_slot_from(&slot_memory(), cspace_root_cnode(tcb), cptr)
}
