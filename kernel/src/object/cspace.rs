//! Capability lookup: resolving a CPtr through a thread's CNodes (seL4's
//! `resolveAddressBits`), and slot access.

use super::object_pointer;
use kernel_core::{Cap, Slot};

/// Pointer to slot `index` of the CNode at physical address `cnode`.
pub fn cnode_slot_pointer(cnode: u64, index: u64) -> *mut Slot {
    object_pointer::<Slot>(cnode + (index << sel4::SLOT_BITS))
}

/// Why a lookup failed (seL4's lookup faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFault {
    InvalidRoot,
    GuardMismatch,
    DepthMismatch,
}

/// Resolves `depth` bits of `cptr` starting at CNode cap `root`; returns the physical
/// address of the slot reached. As in seL4, resolution stops early at a slot that does
/// not hold a CNode cap.
///
/// # Errors
/// The root is not a CNode, a guard does not match, or the bits run out mid-level.
pub fn resolve_address_bits(root: Cap, cptr: u64, depth: u32) -> Result<u64, LookupFault> {
    let mut node = root;
    let mut remaining = depth.min(sel4::WORD_BITS);
    loop {
        let Cap::CNode {
            ptr,
            radix,
            guard_size,
            guard,
        } = node
        else {
            return Err(LookupFault::InvalidRoot);
        };
        let radix = u32::from(radix);
        let guard_size = u32::from(guard_size);
        let level_bits = radix + guard_size;
        if level_bits == 0 || level_bits > remaining {
            return Err(LookupFault::DepthMismatch);
        }
        let guard_found = bits(cptr, remaining - guard_size, guard_size);
        if guard_found != guard & mask(guard_size) {
            return Err(LookupFault::GuardMismatch);
        }
        let index = bits(cptr, remaining - level_bits, radix);
        let slot = ptr + (index << sel4::SLOT_BITS);
        remaining -= level_bits;
        if remaining == 0 {
            return Ok(slot);
        }
        // SAFETY: `slot` is inside a CNode named by a valid CNode cap, so it is an
        // initialised slot in kernel memory; it is read, not kept.
        let next = unsafe { object_pointer::<Slot>(slot).read() }.cap();
        if !matches!(next, Cap::CNode { .. }) {
            return Ok(slot);
        }
        node = next;
    }
}

/// The cap at `cptr` (full word depth) in the CSpace rooted at `root`; Null if the
/// lookup fails.
pub fn lookup_cap(root: Cap, cptr: u64) -> (Cap, Option<u64>) {
    match resolve_address_bits(root, cptr, sel4::WORD_BITS) {
        // SAFETY: a resolved slot address is a slot in a live CNode.
        Ok(slot) => (
            unsafe { object_pointer::<Slot>(slot).read() }.cap(),
            Some(slot),
        ),
        Err(_) => (Cap::Null, None),
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1 << width) - 1
    }
}

fn bits(value: u64, shift: u32, width: u32) -> u64 {
    if shift >= 64 {
        0
    } else {
        (value >> shift) & mask(width)
    }
}

// STAND-IN: the kernel-invocations branch provides the real one.
/// The kernel's slots, as kernel-core's derivation tree sees them: physical memory read
/// and written through the kernel window.
pub struct KernelSlotMemory;

// STAND-IN: the kernel-invocations branch provides the real one.
/// The kernel's [`kernel_core::SlotMemory`].
pub fn slot_memory() -> KernelSlotMemory {
    KernelSlotMemory
}

impl kernel_core::SlotMemory for KernelSlotMemory {
    fn read(&self, slot: kernel_core::SlotAddr) -> Slot {
        // SAFETY: a SlotAddr the kernel uses names a slot in a live CNode or TCB.
        unsafe { object_pointer::<Slot>(slot.addr()).read() }
    }

    fn write(&mut self, slot: kernel_core::SlotAddr, value: Slot) {
        // SAFETY: as for `read`; the kernel is single-threaded.
        unsafe { object_pointer::<Slot>(slot.addr()).write(value) }
    }
}
