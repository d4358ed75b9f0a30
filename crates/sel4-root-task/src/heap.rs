//! The root task's heap: a first-fit allocator over a static region in .bss.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;

/// Bytes of heap available to `alloc`.
pub const HEAP_SIZE: usize = 4 * 1024 * 1024;

#[repr(C, align(4096))]
struct HeapMemory([u8; HEAP_SIZE]);

static mut HEAP_MEMORY: HeapMemory = HeapMemory([0; HEAP_SIZE]);

struct RootTaskAllocator(Mutex<Heap>);

#[global_allocator]
static ALLOCATOR: RootTaskAllocator = RootTaskAllocator(Mutex::new(Heap::empty()));

/// Hands the static region to the allocator (once, before `main`).
pub(crate) fn init() {
    let start = core::ptr::addr_of_mut!(HEAP_MEMORY).cast::<u8>();
    // SAFETY: HEAP_MEMORY is used by nothing but the allocator, `init` runs once before any
    // allocation, and the region is HEAP_SIZE bytes of writable memory for the task's life.
    unsafe { ALLOCATOR.0.lock().init(start, HEAP_SIZE) };
}

// SAFETY: allocations come from a region only this allocator manages, under a lock; the
// underlying first-fit heap returns blocks of at least the requested size and alignment.
unsafe impl GlobalAlloc for RootTaskAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(core::ptr::null_mut(), |block| block.as_ptr())
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if let Some(block) = NonNull::new(pointer) {
            // SAFETY: the caller guarantees `pointer` came from `alloc` with this layout.
            unsafe { self.0.lock().deallocate(block, layout) };
        }
    }
}
