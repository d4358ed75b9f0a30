//! Shared memory objects: the pages behind `MAP_SHARED | MAP_ANONYMOUS` areas, held once
//! for every address space that maps them, and freed when the last mapping goes.
//!
//! An object lives while some area maps part of it. Its liveness count is the number of
//! mapped *pages* over all areas of all address spaces that name it, not the number of
//! areas: splitting an area (mprotect, a partial munmap) keeps the count, so only adding
//! and removing areas touch it, and no caller has to track how areas were cut.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::elf_plan::PAGE_SIZE;
use crate::vma::{Vma, VmaKind};

/// An object's name, as stored in [`VmaKind::SharedAnonymous`].
pub type ObjectId = u64;

/// One object: its present pages (by page index) and how many pages are mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SharedObject<Frame> {
    pages: BTreeMap<u64, Frame>,
    mapped_pages: u64,
}

/// Every shared memory object, generic over what a page is (the root task's frame ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedMemory<Frame> {
    objects: BTreeMap<ObjectId, SharedObject<Frame>>,
    next: ObjectId,
}

impl<Frame: Copy> Default for SharedMemory<Frame> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Frame: Copy> SharedMemory<Frame> {
    /// No objects.
    #[must_use]
    pub const fn new() -> Self {
        SharedMemory {
            objects: BTreeMap::new(),
            next: 1,
        }
    }

    /// A new empty object, not yet mapped: the caller adds the area that maps it and
    /// then calls [`SharedMemory::attach`].
    pub fn create(&mut self) -> ObjectId {
        while self.objects.contains_key(&self.next) || self.next == 0 {
            self.next = self.next.wrapping_add(1);
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.objects.insert(
            id,
            SharedObject {
                pages: BTreeMap::new(),
                mapped_pages: 0,
            },
        );
        id
    }

    /// Records that `area` (now in some address space) maps its object, if it names one.
    pub fn attach(&mut self, area: &Vma) {
        if let Some(object) = object_of(area).and_then(|id| self.objects.get_mut(&id)) {
            object.mapped_pages = object
                .mapped_pages
                .saturating_add(area.length() / PAGE_SIZE);
        }
    }

    /// Records that `area` no longer maps its object. If that was the object's last
    /// mapping the object is gone, and its pages are returned for the caller to release.
    #[must_use]
    pub fn detach(&mut self, area: &Vma) -> Vec<Frame> {
        let Some(id) = object_of(area) else {
            return Vec::new();
        };
        let Some(object) = self.objects.get_mut(&id) else {
            return Vec::new();
        };
        object.mapped_pages = object
            .mapped_pages
            .saturating_sub(area.length() / PAGE_SIZE);
        if object.mapped_pages > 0 {
            return Vec::new();
        }
        self.objects
            .remove(&id)
            .map(|object| object.pages.into_values().collect())
            .unwrap_or_default()
    }

    /// Drops an object nothing maps (a failed `mmap`), returning its pages.
    #[must_use]
    pub fn discard_unmapped(&mut self, id: ObjectId) -> Vec<Frame> {
        match self.objects.get(&id) {
            Some(object) if object.mapped_pages == 0 => self
                .objects
                .remove(&id)
                .map(|object| object.pages.into_values().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The page at byte `offset` of object `id`, if present.
    #[must_use]
    pub fn page(&self, id: ObjectId, offset: u64) -> Option<Frame> {
        self.objects
            .get(&id)?
            .pages
            .get(&(offset / PAGE_SIZE))
            .copied()
    }

    /// Makes `frame` the page at byte `offset` of object `id`. False (nothing stored)
    /// if the object does not exist or already has that page.
    pub fn insert_page(&mut self, id: ObjectId, offset: u64, frame: Frame) -> bool {
        let Some(object) = self.objects.get_mut(&id) else {
            return false;
        };
        let index = offset / PAGE_SIZE;
        if object.pages.contains_key(&index) {
            return false;
        }
        object.pages.insert(index, frame);
        true
    }

    /// Number of live objects.
    #[must_use]
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True if no object lives.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// The object an area maps, if any.
#[must_use]
pub const fn object_of(area: &Vma) -> Option<ObjectId> {
    match area.kind {
        VmaKind::SharedAnonymous { object, .. } => Some(object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permissions;
    use crate::vma::{Placement, Sharing, VmaSet};

    const PAGE: u64 = PAGE_SIZE;

    fn shared(object: ObjectId, start: u64, pages: u64) -> Vma {
        Vma {
            start,
            end: start + pages * PAGE,
            permissions: Permissions::READ_WRITE,
            kind: VmaKind::SharedAnonymous { object, offset: 0 },
            sharing: Sharing::Shared,
        }
    }

    #[test]
    fn an_object_lives_until_its_last_page_is_unmapped() {
        let mut memory: SharedMemory<u32> = SharedMemory::new();
        let id = memory.create();
        let parent = shared(id, 0x10_000, 4);
        memory.attach(&parent);
        // fork: the child maps the same area.
        memory.attach(&parent);
        assert!(memory.insert_page(id, 0, 100));
        assert!(memory.insert_page(id, 3 * PAGE + 5, 103));
        assert!(!memory.insert_page(id, 5, 999), "page 0 is already present");
        assert_eq!(memory.page(id, 3 * PAGE), Some(103));
        assert_eq!(memory.page(id, PAGE), None);

        // The parent unmaps everything, in two pieces (as a split area would go).
        let mut areas = VmaSet::new(PAGE, 0x100_0000).unwrap();
        areas.insert(parent, Placement::Exclusive).unwrap();
        for piece in areas.remove(0x11_000, PAGE).unwrap() {
            assert!(memory.detach(&piece).is_empty());
        }
        for piece in areas.remove(0x10_000, 4 * PAGE).unwrap() {
            assert!(memory.detach(&piece).is_empty(), "the child still maps it");
        }
        assert_eq!(memory.page(id, 0), Some(100), "pages survive for the child");
        // The child exits: the object goes and its pages come back.
        let mut freed = memory.detach(&parent);
        freed.sort_unstable();
        assert_eq!(freed, [100, 103]);
        assert!(memory.is_empty());
        assert_eq!(memory.page(id, 0), None);
        assert!(!memory.insert_page(id, 0, 1));
    }

    #[test]
    fn split_areas_keep_the_count_and_ids_are_unique() {
        let mut memory: SharedMemory<u32> = SharedMemory::new();
        let first = memory.create();
        let second = memory.create();
        assert_ne!(first, second);
        let area = shared(first, 0x10_000, 8);
        memory.attach(&area);
        let mut areas = VmaSet::new(PAGE, 0x100_0000).unwrap();
        areas.insert(area, Placement::Exclusive).unwrap();
        areas
            .protect(0x12_000, 2 * PAGE, Permissions::READ)
            .unwrap();
        // Offsets follow the split.
        let upper = *areas.lookup(0x12_000).unwrap();
        assert_eq!(upper.backing_offset(0x13_000), Some(3 * PAGE));
        assert!(memory.insert_page(first, 0, 7));
        let pieces: Vec<Vma> = areas.iter().copied().collect();
        assert_eq!(pieces.len(), 3);
        for (index, piece) in pieces.iter().enumerate() {
            let freed = memory.detach(piece);
            assert_eq!(freed.is_empty(), index + 1 < pieces.len());
        }
        // An object never mapped is dropped by discard_unmapped, a mapped one is not.
        assert_eq!(memory.len(), 1);
        let mapped = shared(second, 0x40_000, 1);
        memory.attach(&mapped);
        assert!(memory.discard_unmapped(second).is_empty());
        assert_eq!(memory.len(), 1);
        assert_eq!(memory.detach(&mapped), Vec::<u32>::new());
        assert!(memory.is_empty());
        let third = memory.create();
        assert!(memory.insert_page(third, 0, 5));
        assert_eq!(memory.discard_unmapped(third), [5]);
    }
}
