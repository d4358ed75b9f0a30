//! Free lists whose pushes never allocate: room for every element is reserved when the
//! element is created, so giving an object back cannot fail for want of heap (a root-task
//! panic) at the moment memory is shortest (after an out-of-memory kill, say).

use alloc::vec::Vec;

/// The heap could not make room for another element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfHeap;

/// A stack of free objects with room reserved for every object that may come back.
#[derive(Debug)]
pub struct FreeList<T> {
    items: Vec<T>,
}

impl<T> FreeList<T> {
    pub const fn new() -> FreeList<T> {
        FreeList { items: Vec::new() }
    }

    /// Makes room for `total` objects on the list: call it with the number of objects
    /// there will be before creating more of them.
    ///
    /// # Errors
    /// [`OutOfHeap`]: nothing changes, and the objects should not be created.
    pub fn reserve_total(&mut self, total: usize) -> Result<(), OutOfHeap> {
        let additional = total.saturating_sub(self.items.len());
        self.items.try_reserve(additional).map_err(|_| OutOfHeap)
    }

    /// Puts `item` on the list. Allocates only if more objects come back than room was
    /// reserved for (a caller bug); if even that fails the object is leaked, with a log
    /// line, rather than the root task stopping.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.items.capacity() && self.items.try_reserve(1).is_err() {
            log::error!("free list full and the heap too: one object leaked");
            return;
        }
        self.items.push(item);
    }

    pub fn pop(&mut self) -> Option<T> {
        self.items.pop()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}

impl<T> Default for FreeList<T> {
    fn default() -> Self {
        FreeList::new()
    }
}
