//! The frame table: every 4 KiB frame the process server hands out, its original
//! capability, a reference count, and its permanent mapping in the root task's window.
//!
//! Each frame's original cap is mapped read/write into the root task at
//! `WINDOW_BASE + id * 4096` when it is retyped and stays mapped for good; processes get
//! copies of the cap. So the server reads and writes any process page (ELF loading, stack
//! building, user-pointer copies, fork) with plain memory accesses, no mapping per access.
//! This module holds the only code that touches the window, and it never forms a Rust
//! reference to it: every access is a bounds-checked raw copy.

use crate::free_list::{FreeList, OutOfHeap};
use alloc::vec::Vec;
use sel4::CPtr;

/// Where the window starts in the root task's address space (512 GiB, far from the image).
pub const WINDOW_BASE: u64 = 0x80_0000_0000;
/// Bytes in a frame.
pub const FRAME_SIZE: usize = 4096;
/// The most frames the window holds (4 GiB of RAM, more than QEMU's 1 GiB).
const MAX_FRAMES: usize = 1 << 20;

/// A frame, by its index in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameId(u32);

/// Every frame: its cap and how many mappings (or other holders) reference it.
#[derive(Debug)]
pub struct FrameTable {
    caps: Vec<CPtr>,
    references: Vec<u32>,
    free: FreeList<FrameId>,
}

impl FrameTable {
    /// An empty table.
    pub const fn new() -> FrameTable {
        FrameTable {
            caps: Vec::new(),
            references: Vec::new(),
            free: FreeList::new(),
        }
    }

    /// Makes room for `count` more frames in the table and on its free list; call it
    /// before retyping them, so that [`FrameTable::register`] and every later
    /// [`FrameTable::push_free`] of them never allocate.
    ///
    /// # Errors
    /// [`OutOfHeap`]: the frames should not be made.
    pub fn reserve(&mut self, count: usize) -> Result<(), OutOfHeap> {
        self.caps.try_reserve(count).map_err(|_| OutOfHeap)?;
        self.references.try_reserve(count).map_err(|_| OutOfHeap)?;
        self.free
            .reserve_total(self.caps.len().saturating_add(count))
    }

    /// Adds a newly retyped (hence zeroed) frame; its window mapping is the caller's job.
    /// The frame starts with no references.
    pub fn register(&mut self, cap: CPtr) -> FrameId {
        let id = FrameId(u32::try_from(self.caps.len()).unwrap_or(u32::MAX));
        self.caps.push(cap);
        self.references.push(0);
        id
    }

    /// Where frame `id` is mapped in the root task.
    pub const fn window_address(id: FrameId) -> u64 {
        WINDOW_BASE + (id.0 as u64) * FRAME_SIZE as u64
    }

    /// The frame's original cap (mapped in the window; copy it to map elsewhere).
    pub fn cap(&self, id: FrameId) -> CPtr {
        self.caps.get(id.0 as usize).copied().unwrap_or(0)
    }

    /// Takes a zeroed free frame with one reference.
    pub fn take_free(&mut self) -> Option<FrameId> {
        let id = self.free.pop()?;
        if let Some(count) = self.references.get_mut(id.0 as usize) {
            *count = 1;
        }
        Some(id)
    }

    /// Puts a zeroed frame on the free list.
    pub fn push_free(&mut self, id: FrameId) {
        if let Some(count) = self.references.get_mut(id.0 as usize) {
            *count = 0;
        }
        self.free.push(id);
    }

    /// Adds a reference (a second mapping: a shared or copy-on-write page).
    pub fn retain(&mut self, id: FrameId) {
        if let Some(count) = self.references.get_mut(id.0 as usize) {
            *count = count.saturating_add(1);
        }
    }

    /// Drops a reference; true if it was the last (the caller then frees the frame).
    pub fn release(&mut self, id: FrameId) -> bool {
        match self.references.get_mut(id.0 as usize) {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        }
    }

    /// How many mappings refer to frame `id`.
    pub fn references(&self, id: FrameId) -> u32 {
        self.references.get(id.0 as usize).copied().unwrap_or(0)
    }

    /// Frames retyped so far, and how many are free.
    pub fn counts(&self) -> (usize, usize) {
        (self.caps.len(), self.free.len())
    }

    /// True if `id` names a frame whose window mapping exists.
    fn valid(&self, id: FrameId) -> bool {
        (id.0 as usize) < self.caps.len() && (id.0 as usize) < MAX_FRAMES
    }

    /// Copies `out.len()` bytes from the frame at `offset`; false (nothing copied) if the
    /// range leaves the frame.
    pub fn read(&self, id: FrameId, offset: usize, out: &mut [u8]) -> bool {
        if !self.valid(id)
            || offset
                .checked_add(out.len())
                .is_none_or(|end| end > FRAME_SIZE)
        {
            return false;
        }
        let source = (Self::window_address(id) as usize + offset) as *const u8;
        // SAFETY: the frame is mapped read/write at its window address for the root task's
        // life (mapped when registered, never unmapped); offset + len stays inside it
        // (checked); `out` is a distinct Rust buffer, so the ranges cannot overlap.
        unsafe { core::ptr::copy_nonoverlapping(source, out.as_mut_ptr(), out.len()) };
        true
    }

    /// Copies `data` into the frame at `offset`; false (nothing copied) if the range
    /// leaves the frame.
    pub fn write(&self, id: FrameId, offset: usize, data: &[u8]) -> bool {
        if !self.valid(id)
            || offset
                .checked_add(data.len())
                .is_none_or(|end| end > FRAME_SIZE)
        {
            return false;
        }
        let target = (Self::window_address(id) as usize + offset) as *mut u8;
        // SAFETY: as in `read`; the window mapping is writable, and no Rust reference to
        // window memory exists that this write could invalidate.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), target, data.len()) };
        true
    }

    /// Fills the frame with zeros.
    pub fn zero(&self, id: FrameId) {
        if !self.valid(id) {
            return;
        }
        let target = Self::window_address(id) as usize as *mut u8;
        // SAFETY: the whole frame is mapped writable in the window (see `write`).
        unsafe { core::ptr::write_bytes(target, 0, FRAME_SIZE) };
    }

    /// Copies all of frame `from` into frame `to`.
    pub fn copy_frame(&self, from: FrameId, to: FrameId) {
        if !self.valid(from) || !self.valid(to) || from == to {
            return;
        }
        let source = Self::window_address(from) as usize as *const u8;
        let target = Self::window_address(to) as usize as *mut u8;
        // SAFETY: both frames are mapped in the window (see `write`) and distinct (checked),
        // so the two 4 KiB ranges do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(source, target, FRAME_SIZE) };
    }

    /// A shared reference to the frame viewed as `T`, for data the root task publishes to
    /// processes (the vvar page, made of atomics).
    ///
    /// # Safety
    /// `T` must be valid for any bit pattern, fit in a frame, need at most page alignment,
    /// and tolerate concurrent access (atomics only), and the frame must never be freed.
    pub unsafe fn view<T>(&self, id: FrameId) -> Option<&'static T> {
        if !self.valid(id) || core::mem::size_of::<T>() > FRAME_SIZE {
            return None;
        }
        let pointer = Self::window_address(id) as usize as *const T;
        // SAFETY: per this function's contract; the window mapping is permanent.
        Some(unsafe { &*pointer })
    }
}
