//! Shared memory objects: the pages behind `MAP_SHARED | MAP_ANONYMOUS` areas and
//! `MAP_SHARED` file areas, held once for every address space that maps them.
//!
//! An anonymous object is freed when its last mapping goes. A file's object (one per
//! file, so every shared mapping of the file sees the same pages) is kept when unmapped
//! until the caller writes its pages back to the file and frees them
//! ([`SharedMemory::take_unmapped_files`]).
//!
//! An object lives while some area maps part of it. Its liveness count is the number of
//! mapped *pages* over all areas of all address spaces that name it, not the number of
//! areas: splitting an area (mprotect, a partial munmap) keeps the count, so only adding
//! and removing areas touch it, and no caller has to track how areas were cut.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::elf_plan::PAGE_SIZE;
use crate::vma::{FileId, Sharing, Vma, VmaKind};

/// An object's name, as stored in [`VmaKind::SharedAnonymous`].
pub type ObjectId = u64;

/// One object: its present pages (by page index) and how many pages are mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SharedObject<Frame> {
    pages: BTreeMap<u64, Frame>,
    mapped_pages: u64,
    /// The file whose pages these are (`None`: anonymous memory).
    file: Option<FileId>,
}

/// An unmapped file object's pages, for writing back: (byte offset in the file, page).
pub type FilePages<Frame> = (FileId, Vec<(u64, Frame)>);

/// Every shared memory object, generic over what a page is (the root task's frame ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedMemory<Frame> {
    objects: BTreeMap<ObjectId, SharedObject<Frame>>,
    /// Each file's object.
    files: BTreeMap<FileId, ObjectId>,
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
            files: BTreeMap::new(),
            next: 1,
        }
    }

    /// A new empty anonymous object, not yet mapped: the caller adds the area that maps
    /// it and then calls [`SharedMemory::attach`].
    pub fn create(&mut self) -> ObjectId {
        self.create_object(None)
    }

    /// The object of `file`'s shared mappings, made (empty) if it has none.
    pub fn file_object(&mut self, file: FileId) -> ObjectId {
        if let Some(id) = self.files.get(&file) {
            return *id;
        }
        let id = self.create_object(Some(file));
        self.files.insert(file, id);
        id
    }

    /// True if some file has an object (a cheap test before looking one up).
    #[must_use]
    pub fn has_file_objects(&self) -> bool {
        !self.files.is_empty()
    }

    /// `file`'s object, if it has one.
    #[must_use]
    pub fn existing_file_object(&self, file: FileId) -> Option<ObjectId> {
        self.files.get(&file).copied()
    }

    /// The present pages of `file`'s object: (byte offset in the file, page).
    #[must_use]
    pub fn file_pages(&self, file: FileId) -> Vec<(u64, Frame)> {
        self.files
            .get(&file)
            .and_then(|id| self.objects.get(id))
            .map(|object| {
                object
                    .pages
                    .iter()
                    .map(|(index, frame)| (index.saturating_mul(PAGE_SIZE), *frame))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes the pages of `file`'s object from byte `from` on (the file was truncated)
    /// and returns them for the caller to release once no address space maps them.
    #[must_use]
    pub fn take_file_pages_from(&mut self, file: FileId, from: u64) -> Vec<Frame> {
        let Some(object) = self
            .files
            .get(&file)
            .and_then(|id| self.objects.get_mut(id))
        else {
            return Vec::new();
        };
        let first = from.div_ceil(PAGE_SIZE);
        object.pages.split_off(&first).into_values().collect()
    }

    /// Removes every file object that nothing maps any more and returns its pages, for
    /// the caller to write back and release.
    #[must_use]
    pub fn take_unmapped_files(&mut self) -> Vec<FilePages<Frame>> {
        let unmapped: Vec<(FileId, ObjectId)> = self
            .files
            .iter()
            .filter(|(_, id)| {
                self.objects
                    .get(id)
                    .is_none_or(|object| object.mapped_pages == 0)
            })
            .map(|(file, id)| (*file, *id))
            .collect();
        let mut taken = Vec::new();
        for (file, id) in unmapped {
            self.files.remove(&file);
            if let Some(object) = self.objects.remove(&id) {
                let pages = object
                    .pages
                    .into_iter()
                    .map(|(index, frame)| (index.saturating_mul(PAGE_SIZE), frame))
                    .collect();
                taken.push((file, pages));
            }
        }
        taken
    }

    /// The object `area` maps, if any: its shared anonymous object, or its file's object
    /// for a shared file area.
    #[must_use]
    pub fn object_of(&self, area: &Vma) -> Option<ObjectId> {
        match (area.kind, area.sharing) {
            (VmaKind::SharedAnonymous { object, .. }, _) => Some(object),
            (VmaKind::File { file, .. }, Sharing::Shared) => self.files.get(&file).copied(),
            _ => None,
        }
    }

    fn create_object(&mut self, file: Option<FileId>) -> ObjectId {
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
                file,
            },
        );
        id
    }

    /// Records that `area` (now in some address space) maps its object, if it names one.
    pub fn attach(&mut self, area: &Vma) {
        if let Some(object) = self
            .object_of(area)
            .and_then(|id| self.objects.get_mut(&id))
        {
            object.mapped_pages = object
                .mapped_pages
                .saturating_add(area.length() / PAGE_SIZE);
        }
    }

    /// Records that `area` no longer maps its object. If that was an anonymous object's
    /// last mapping the object is gone, and its pages are returned for the caller to
    /// release (a file's object stays, see [`SharedMemory::take_unmapped_files`]).
    #[must_use]
    pub fn detach(&mut self, area: &Vma) -> Vec<Frame> {
        let Some(id) = self.object_of(area) else {
            return Vec::new();
        };
        let Some(object) = self.objects.get_mut(&id) else {
            return Vec::new();
        };
        object.mapped_pages = object
            .mapped_pages
            .saturating_sub(area.length() / PAGE_SIZE);
        if object.mapped_pages > 0 || object.file.is_some() {
            return Vec::new();
        }
        self.objects
            .remove(&id)
            .map(|object| object.pages.into_values().collect())
            .unwrap_or_default()
    }

    /// Drops an anonymous object nothing maps (a failed `mmap`), returning its pages.
    #[must_use]
    pub fn discard_unmapped(&mut self, id: ObjectId) -> Vec<Frame> {
        match self.objects.get(&id) {
            Some(object) if object.mapped_pages == 0 && object.file.is_none() => self
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permissions;
    use crate::vma::{Placement, Sharing, VmaSet, WriteAccess};

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
    fn truncation_takes_the_pages_from_the_new_end() {
        let mut shared: SharedMemory<u32> = SharedMemory::new();
        let file = FileId(5);
        let id = shared.file_object(file);
        for index in 0..4 {
            assert!(shared.insert_page(id, index * PAGE_SIZE, 10 + index as u32));
        }
        assert!(shared.take_file_pages_from(FileId(6), 0).is_empty());
        // A partial page stays: only pages wholly past the end go.
        assert_eq!(shared.take_file_pages_from(file, PAGE_SIZE + 1), [12, 13]);
        assert_eq!(shared.page(id, PAGE_SIZE), Some(11));
        assert_eq!(shared.page(id, 2 * PAGE_SIZE), None);
        assert_eq!(shared.take_file_pages_from(file, 0), [10, 11]);
        assert!(shared.file_pages(file).is_empty());
    }

    #[test]
    fn file_objects_are_one_per_file_and_kept_until_taken() {
        let mut memory: SharedMemory<u32> = SharedMemory::new();
        let file = FileId(42);
        let id = memory.file_object(file);
        assert_eq!(memory.file_object(file), id, "one object per file");
        assert_eq!(memory.existing_file_object(FileId(43)), None);
        let area = Vma {
            start: 0x10_000,
            end: 0x12_000,
            permissions: Permissions::READ_WRITE,
            kind: VmaKind::File {
                file,
                offset: 0,
                write_access: WriteAccess::Allowed,
            },
            sharing: Sharing::Shared,
        };
        let private = Vma {
            sharing: Sharing::Private,
            ..area
        };
        assert_eq!(memory.object_of(&area), Some(id));
        assert_eq!(memory.object_of(&private), None, "private file areas copy");
        memory.attach(&area);
        assert!(memory.insert_page(id, PAGE, 8));
        assert!(memory.take_unmapped_files().is_empty(), "still mapped");
        assert_eq!(memory.file_pages(file), [(PAGE, 8)]);
        assert!(memory.detach(&area).is_empty(), "kept for write-back");
        assert!(memory.discard_unmapped(id).is_empty());
        assert_eq!(memory.file_pages(file), [(PAGE, 8)]);
        // A new mapping before the write-back finds the same pages.
        assert_eq!(memory.file_object(file), id);
        assert_eq!(
            memory.take_unmapped_files(),
            [(file, alloc::vec![(PAGE, 8)])]
        );
        assert!(memory.is_empty());
        assert_ne!(
            memory.file_object(file),
            id,
            "a fresh object after the write-back"
        );
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
