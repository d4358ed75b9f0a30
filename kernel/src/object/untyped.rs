//! Creating objects in untyped memory: each new object starts as zeroed memory, which
//! is a valid fresh object of every type (empty CNode slots, an inactive TCB, idle
//! endpoint and notification, an empty page table or VSpace, a zero-filled frame).
//!
//! seL4 zeroes an untyped's used memory when it is reset (retyped again with no
//! children) and relies on never-used memory being zero. Here every object is zeroed
//! when it is created instead, so no assumption about memory the kernel has not handed
//! out is needed (boot untypeds cover memory the loader used), and each byte is still
//! cleared once per object lifetime. Device memory is never cleared, as in seL4.

use crate::arch::mmu;
use sel4::ObjectType;

/// Prepares the memory of a new object of `object_type`, `2^size_bits` bytes at
/// `paddr` from an untyped with the given device flag.
pub fn initialise_object(object_type: ObjectType, paddr: u64, size_bits: u32, is_device: bool) {
    if is_device || object_type == ObjectType::Untyped {
        // Device frames keep their contents; a new untyped's objects are cleared when
        // they are created.
        return;
    }
    let size = 1u64 << size_bits;
    zero(paddr, size);
    if object_type.is_frame() {
        // The user may map the frame uncached: push the zeroes out to memory.
        // SAFETY: `zero` has checked that the range is RAM in the window.
        unsafe { mmu::clean_ram(paddr, size) };
    }
}

/// Zeroes `[paddr, paddr + size)`, which must be RAM in the kernel window.
pub fn zero(paddr: u64, size: u64) {
    if !mmu::window_maps_ram(paddr, size) {
        crate::kernel_panic!("object memory {paddr:#x}+{size:#x} is not RAM");
    }
    // SAFETY: the range is RAM in the window (checked above) that belongs to an object
    // being created or reset; nothing else references it.
    unsafe { mmu::zero_ram(paddr, size) };
}
