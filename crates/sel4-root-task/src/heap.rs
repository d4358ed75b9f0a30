//! The root task's heap: a first-fit allocator over a static region in .bss, plus one
//! growable region the root task extends with memory it maps itself ([`grow`]).
//!
//! The static region serves everything until the root task has an object allocator; a
//! root task that needs more maps frames at a virtual range of its choosing and hands them
//! over page run by page run, contiguously, so the second heap only ever grows at its top.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;

/// Bytes of the static heap available to `alloc` before any growth.
pub const HEAP_SIZE: usize = 4 * 1024 * 1024;

#[repr(C, align(4096))]
struct HeapMemory([u8; HEAP_SIZE]);

static mut HEAP_MEMORY: HeapMemory = HeapMemory([0; HEAP_SIZE]);

/// The static heap and the growable one (empty until the first [`grow`]).
struct Heaps {
    fixed: Heap,
    growable: Heap,
}

struct RootTaskAllocator(Mutex<Heaps>);

#[global_allocator]
static ALLOCATOR: RootTaskAllocator = RootTaskAllocator(Mutex::new(Heaps {
    fixed: Heap::empty(),
    growable: Heap::empty(),
}));

/// Hands the static region to the allocator (once, before `main`).
pub(crate) fn init() {
    let start = core::ptr::addr_of_mut!(HEAP_MEMORY).cast::<u8>();
    // SAFETY: HEAP_MEMORY is used by nothing but the allocator, `init` runs once before any
    // allocation, and the region is HEAP_SIZE bytes of writable memory for the task's life.
    unsafe { ALLOCATOR.0.lock().fixed.init(start, HEAP_SIZE) };
}

/// The smallest region [`grow`] accepts (one page; far above the allocator's bookkeeping).
pub const MIN_GROWTH: usize = 4096;

/// Why [`grow`] refused a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowError {
    /// The region does not start where the growable heap ends.
    NotContiguous,
    /// The region is empty or too small for the allocator's bookkeeping.
    TooSmall,
}

/// Adds `bytes` bytes at `start` to the growable heap. The first call starts it; every
/// later call must continue exactly where the previous region ended.
///
/// # Errors
/// [`GrowError`] if the region is not contiguous with the heap or too small.
///
/// # Safety
/// `start..start + bytes` must be mapped, writable memory that nothing else uses, for the
/// rest of the task's life.
pub unsafe fn grow(start: *mut u8, bytes: usize) -> Result<(), GrowError> {
    if bytes < MIN_GROWTH {
        return Err(GrowError::TooSmall);
    }
    let mut heaps = ALLOCATOR.0.lock();
    if heaps.growable.size() == 0 {
        // SAFETY: the caller guarantees the region is mapped, writable and unused.
        unsafe { heaps.growable.init(start, bytes) };
        return Ok(());
    }
    if heaps.growable.top() != start {
        return Err(GrowError::NotContiguous);
    }
    // SAFETY: the region starts at the heap's top (checked) and the caller guarantees it
    // is mapped, writable and unused.
    unsafe { heaps.growable.extend(bytes) };
    Ok(())
}

/// Bytes still free in both heaps together (fragmentation aside).
pub fn free_bytes() -> usize {
    let heaps = ALLOCATOR.0.lock();
    heaps.fixed.free() + heaps.growable.free()
}

// SAFETY: allocations come from regions only this allocator manages, under a lock; the
// underlying first-fit heaps return blocks of at least the requested size and alignment,
// and a block is given back to the heap whose range contains it.
unsafe impl GlobalAlloc for RootTaskAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heaps = self.0.lock();
        if let Ok(block) = heaps.fixed.allocate_first_fit(layout) {
            return block.as_ptr();
        }
        heaps
            .growable
            .allocate_first_fit(layout)
            .map_or(core::ptr::null_mut(), |block| block.as_ptr())
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let Some(block) = NonNull::new(pointer) else {
            return;
        };
        let mut heaps = self.0.lock();
        let in_fixed = heaps.fixed.bottom() <= pointer && pointer < heaps.fixed.top();
        let heap = if in_fixed {
            &mut heaps.fixed
        } else {
            &mut heaps.growable
        };
        // SAFETY: the caller guarantees `pointer` came from `alloc` with this layout, and
        // it lies in the heap chosen by address range, which is the one that handed it out.
        unsafe { heap.deallocate(block, layout) };
    }
}
