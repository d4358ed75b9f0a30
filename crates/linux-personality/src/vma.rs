//! Per-process virtual memory areas: which page-aligned ranges are mapped, with what
//! permissions and backing, kept sorted and disjoint, as `mmap`, `munmap`, `mprotect`,
//! `brk` and `/proc/self/maps` need them.

use crate::elf_plan::PAGE_SIZE;
use crate::errno::Errno;
use crate::permissions::Permissions;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// One mapped range.
///
/// # Invariants
/// Inside a [`VmaSet`]: `start < end`, both page-aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Access allowed.
    pub permissions: Permissions,
    /// What backs the memory.
    pub kind: VmaKind,
    /// Whether a fork shares the pages or copies them.
    pub sharing: Sharing,
}

impl Vma {
    /// Number of bytes covered.
    #[must_use]
    pub const fn length(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True if `address` is inside the area.
    #[must_use]
    pub const fn contains(&self, address: u64) -> bool {
        address >= self.start && address < self.end
    }

    /// The part of this area from `address` up, with the file offset advanced to match.
    fn upper_part(&self, address: u64) -> Vma {
        Vma {
            start: address,
            kind: self.kind.advanced(address.saturating_sub(self.start)),
            ..*self
        }
    }

    /// The backing offset of `address` (inside the area) for file and shared-memory
    /// areas: which byte of the file or object it shows.
    #[must_use]
    pub fn backing_offset(&self, address: u64) -> Option<u64> {
        let delta = address.checked_sub(self.start)?;
        match self.kind {
            VmaKind::File { offset, .. } | VmaKind::SharedAnonymous { offset, .. } => {
                offset.checked_add(delta)
            }
            _ => None,
        }
    }
}

/// An opaque name for a file, chosen by the file system (for example an inode number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u64);

/// What backs an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    /// Zero-filled memory.
    Anonymous,
    /// A file's pages starting at byte `offset` (ELF segments, file `mmap`).
    File {
        /// Which file.
        file: FileId,
        /// File offset of the area's first byte.
        offset: u64,
        /// Whether `mprotect` may make the area writable.
        write_access: WriteAccess,
    },
    /// The main thread's stack.
    Stack,
    /// The `brk` heap.
    Heap,
    /// The vDSO's code.
    Vdso,
    /// The vDSO's data page.
    Vvar,
    /// `MAP_SHARED | MAP_ANONYMOUS` memory: pages of a shared memory object, which every
    /// address space that maps it (after `fork`, say) sees, starting at byte `offset`.
    SharedAnonymous {
        /// Which object (chosen by the caller, unique while it lives).
        object: u64,
        /// Object offset of the area's first byte.
        offset: u64,
    },
}

impl VmaKind {
    /// The same backing seen `delta` bytes further on (file and object offsets advance).
    #[must_use]
    pub const fn advanced(self, delta: u64) -> VmaKind {
        match self {
            VmaKind::File {
                file,
                offset,
                write_access,
            } => VmaKind::File {
                file,
                offset: offset.saturating_add(delta),
                write_access,
            },
            VmaKind::SharedAnonymous { object, offset } => VmaKind::SharedAnonymous {
                object,
                offset: offset.saturating_add(delta),
            },
            other => other,
        }
    }
}

/// Whether a file area may become writable (Linux's `VM_MAYWRITE`), fixed at `mmap`:
/// a shared mapping of a file not open for writing never may; any other may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteAccess {
    /// `mprotect(PROT_WRITE)` is allowed.
    Allowed,
    /// `mprotect(PROT_WRITE)` fails with `EACCES`.
    Refused,
}

/// What `fork` does with an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// Copied (on write) into the child: `MAP_PRIVATE`.
    Private,
    /// The same pages in parent and child: `MAP_SHARED`.
    Shared,
}

/// What [`VmaSet::insert`] does with areas already in the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Fail with [`VmaError::Overlap`] (`MAP_FIXED_NOREPLACE`, and every kernel-chosen address).
    Exclusive,
    /// Unmap whatever is in the way first (`MAP_FIXED`).
    Replace,
}

/// What [`VmaSet::move_range`] does with the range it moves from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OldRange {
    /// Removed (plain `mremap`).
    Unmap,
    /// Left mapped, its pages gone (`MREMAP_DONTUNMAP`).
    Keep,
}

/// Why a VMA operation was refused. Nothing changes when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaError {
    /// An address is not page-aligned.
    Misaligned,
    /// The range is empty.
    EmptyRange,
    /// The range overflows or leaves the set's address bounds.
    OutOfRange,
    /// The range overlaps the area starting at `existing_start`.
    Overlap {
        /// Start of the area in the way.
        existing_start: u64,
    },
    /// Part of the range is not mapped (`mprotect` of a hole).
    NotMapped {
        /// The first unmapped address.
        address: u64,
    },
}

impl VmaError {
    /// The error Linux returns for this case.
    #[must_use]
    pub const fn errno(&self) -> Errno {
        match self {
            VmaError::Misaligned | VmaError::EmptyRange | VmaError::OutOfRange => Errno::EINVAL,
            VmaError::Overlap { .. } => Errno::EEXIST,
            VmaError::NotMapped { .. } => Errno::ENOMEM,
        }
    }
}

impl core::fmt::Display for VmaError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            VmaError::Misaligned => formatter.write_str("address is not page-aligned"),
            VmaError::EmptyRange => formatter.write_str("range is empty"),
            VmaError::OutOfRange => formatter.write_str("range is outside the user address space"),
            VmaError::Overlap { existing_start } => {
                write!(
                    formatter,
                    "range overlaps the mapping at {existing_start:#x}"
                )
            }
            VmaError::NotMapped { address } => write!(formatter, "{address:#x} is not mapped"),
        }
    }
}

/// A process's areas, sorted and disjoint, all inside `[lowest, limit)`.
///
/// # Invariants
/// Keys equal their area's `start`; areas are page-aligned, non-empty, do not overlap,
/// and lie inside the bounds. Adjacent areas are not merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaSet {
    areas: BTreeMap<u64, Vma>,
    lowest: u64,
    limit: u64,
}

impl VmaSet {
    /// An empty set for addresses in `[lowest, limit)`, both page-aligned (for example
    /// `[0x1000, 0x8000_0000_0000)`: page zero stays unmapped).
    ///
    /// # Errors
    /// [`VmaError::Misaligned`] or [`VmaError::EmptyRange`] for bad bounds.
    pub fn new(lowest: u64, limit: u64) -> Result<VmaSet, VmaError> {
        if !lowest.is_multiple_of(PAGE_SIZE) || !limit.is_multiple_of(PAGE_SIZE) {
            return Err(VmaError::Misaligned);
        }
        if lowest >= limit {
            return Err(VmaError::EmptyRange);
        }
        Ok(VmaSet {
            areas: BTreeMap::new(),
            lowest,
            limit,
        })
    }

    /// Adds `vma`. With [`Placement::Replace`], areas in the way are cut back first and
    /// the removed pieces returned (the caller frees their pages).
    ///
    /// # Errors
    /// [`VmaError`] for a misaligned, empty or out-of-bounds area, or (with
    /// [`Placement::Exclusive`]) an overlap.
    pub fn insert(&mut self, vma: Vma, placement: Placement) -> Result<Vec<Vma>, VmaError> {
        self.check_range(vma.start, vma.end)?;
        let replaced = match placement {
            Placement::Exclusive => {
                if let Some(existing) = self.first_overlap(vma.start, vma.end) {
                    return Err(VmaError::Overlap {
                        existing_start: existing.start,
                    });
                }
                Vec::new()
            }
            Placement::Replace => self.remove_checked(vma.start, vma.end),
        };
        self.areas.insert(vma.start, vma);
        Ok(replaced)
    }

    /// Unmaps `[start, start + length)`, `length` rounded up to whole pages, splitting
    /// areas at the edges. Returns the pieces removed, in address order; unmapping
    /// nothing is not an error (as in Linux's `munmap`).
    ///
    /// # Errors
    /// [`VmaError`] for a misaligned start, zero length, or a range outside the bounds.
    pub fn remove(&mut self, start: u64, length: u64) -> Result<Vec<Vma>, VmaError> {
        let end = self.range_end(start, length)?;
        Ok(self.remove_checked(start, end))
    }

    /// Sets the permissions of `[start, start + length)` (rounded up to whole pages),
    /// splitting areas at the edges.
    ///
    /// # Errors
    /// [`VmaError::NotMapped`] if any page of the range is unmapped (Linux's `ENOMEM`),
    /// in which case nothing changes; other [`VmaError`]s for a bad range.
    pub fn protect(
        &mut self,
        start: u64,
        length: u64,
        permissions: Permissions,
    ) -> Result<(), VmaError> {
        let end = self.range_end(start, length)?;
        let mut covered_to = start;
        for area in self.overlapping(start, end) {
            if area.start > covered_to {
                return Err(VmaError::NotMapped {
                    address: covered_to,
                });
            }
            covered_to = area.end;
        }
        if covered_to < end {
            return Err(VmaError::NotMapped {
                address: covered_to,
            });
        }
        self.split_at(start);
        self.split_at(end);
        for (_, area) in self.areas.range_mut(start..end) {
            area.permissions = permissions;
        }
        Ok(())
    }

    /// Grows the area containing `address` so that it ends at `new_end` (`mremap` growing
    /// in place). The area must end at or below `new_end` and nothing may lie between.
    ///
    /// # Errors
    /// [`VmaError::NotMapped`] if no area contains `address`, [`VmaError::Overlap`] if
    /// another area is in the way, other [`VmaError`]s for a bad end.
    pub fn extend(&mut self, address: u64, new_end: u64) -> Result<(), VmaError> {
        let area = *self
            .lookup(address)
            .ok_or(VmaError::NotMapped { address })?;
        self.check_range(area.start, new_end)?;
        if new_end <= area.end {
            return Err(VmaError::EmptyRange);
        }
        if let Some(existing) = self.first_overlap(area.end, new_end) {
            return Err(VmaError::Overlap {
                existing_start: existing.start,
            });
        }
        if let Some(grown) = self.areas.get_mut(&area.start) {
            grown.end = new_end;
        }
        Ok(())
    }

    /// Moves `[start, end)`, which must lie inside one area, to `destination` with
    /// `new_length` bytes (`mremap` moving): the area's permissions and backing go with
    /// it (offsets as they were at `start`). With [`OldRange::Unmap`] the old range is
    /// removed; with [`OldRange::Keep`] it stays mapped (`MREMAP_DONTUNMAP`). Whatever was
    /// at the destination is replaced. Returns the pieces removed from the set: the old
    /// range (if unmapped) first, then what the destination replaced.
    ///
    /// # Errors
    /// [`VmaError::NotMapped`] if `[start, end)` is not inside a single area; other
    /// [`VmaError`]s for a bad range or destination (the two may not overlap). Nothing
    /// changes on error.
    pub fn move_range(
        &mut self,
        start: u64,
        end: u64,
        destination: u64,
        new_length: u64,
        old_range: OldRange,
    ) -> Result<Vec<Vma>, VmaError> {
        self.check_range(start, end)?;
        let destination_end = self.range_end(destination, new_length)?;
        let area = *self
            .lookup(start)
            .ok_or(VmaError::NotMapped { address: start })?;
        if area.end < end {
            return Err(VmaError::NotMapped { address: area.end });
        }
        if destination < end && start < destination_end {
            return Err(VmaError::Overlap {
                existing_start: start,
            });
        }
        let moved = Vma {
            start: destination,
            end: destination_end,
            kind: area.kind.advanced(start - area.start),
            ..area
        };
        let mut removed = match old_range {
            OldRange::Unmap => self.remove_checked(start, end),
            OldRange::Keep => Vec::new(),
        };
        removed.extend(self.remove_checked(destination, destination_end));
        self.areas.insert(destination, moved);
        Ok(removed)
    }

    /// Chooses where `length` bytes (rounded up to pages) can go: `hint`, if page-aligned,
    /// in bounds and free; otherwise the highest free gap that ends at or below `below`.
    /// `None` if nothing fits.
    #[must_use]
    pub fn find_free(&self, length: u64, hint: Option<u64>, below: u64) -> Option<u64> {
        let length = round_up_to_page(length).filter(|length| *length > 0)?;
        if let Some(hint) = hint {
            if let Ok(end) = self.range_end(hint, length) {
                if self.first_overlap(hint, end).is_none() {
                    return Some(hint);
                }
            }
        }
        let mut gap_end = (below & !(PAGE_SIZE - 1)).min(self.limit);
        for area in self.areas.values().rev() {
            if area.end <= gap_end && gap_end - area.end >= length {
                return Some(gap_end - length);
            }
            gap_end = gap_end.min(area.start);
        }
        if gap_end >= self.lowest && gap_end - self.lowest >= length {
            return Some(gap_end - length);
        }
        None
    }

    /// The area containing `address`.
    #[must_use]
    pub fn lookup(&self, address: u64) -> Option<&Vma> {
        self.areas
            .range(..=address)
            .next_back()
            .map(|(_, area)| area)
            .filter(|area| area.contains(address))
    }

    /// True if no area overlaps `[start, start + length)`.
    #[must_use]
    pub fn is_free(&self, start: u64, length: u64) -> bool {
        match start.checked_add(length) {
            Some(end) => self.first_overlap(start, end).is_none(),
            None => false,
        }
    }

    /// All areas in address order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Vma> + '_ {
        self.areas.values()
    }

    /// Number of areas.
    #[must_use]
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// True if nothing is mapped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The bounds given to [`VmaSet::new`].
    #[must_use]
    pub const fn bounds(&self) -> (u64, u64) {
        (self.lowest, self.limit)
    }

    fn range_end(&self, start: u64, length: u64) -> Result<u64, VmaError> {
        if length == 0 {
            return Err(VmaError::EmptyRange);
        }
        let length = round_up_to_page(length).ok_or(VmaError::OutOfRange)?;
        let end = start.checked_add(length).ok_or(VmaError::OutOfRange)?;
        self.check_range(start, end)?;
        Ok(end)
    }

    fn check_range(&self, start: u64, end: u64) -> Result<(), VmaError> {
        if !start.is_multiple_of(PAGE_SIZE) || !end.is_multiple_of(PAGE_SIZE) {
            return Err(VmaError::Misaligned);
        }
        if start >= end {
            return Err(VmaError::EmptyRange);
        }
        if start < self.lowest || end > self.limit {
            return Err(VmaError::OutOfRange);
        }
        Ok(())
    }

    fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> + '_ {
        // The area starting below `start` may reach into the range; later ones start in it.
        let below = self
            .areas
            .range(..start)
            .next_back()
            .map(|(_, area)| area)
            .filter(|area| area.end > start);
        below
            .into_iter()
            .chain(self.areas.range(start..end).map(|(_, area)| area))
    }

    fn first_overlap(&self, start: u64, end: u64) -> Option<&Vma> {
        self.overlapping(start, end).next()
    }

    /// Splits the area strictly containing `address` in two at `address`.
    fn split_at(&mut self, address: u64) {
        let Some(area) = self.lookup(address).copied() else {
            return;
        };
        if area.start == address {
            return;
        }
        let upper = area.upper_part(address);
        if let Some(lower) = self.areas.get_mut(&area.start) {
            lower.end = address;
        }
        self.areas.insert(address, upper);
    }

    /// Removes `[start, end)`, already checked, returning the removed pieces.
    fn remove_checked(&mut self, start: u64, end: u64) -> Vec<Vma> {
        self.split_at(start);
        self.split_at(end);
        let starts: Vec<u64> = self.areas.range(start..end).map(|(key, _)| *key).collect();
        starts
            .into_iter()
            .filter_map(|key| self.areas.remove(&key))
            .collect()
    }
}

/// Rounds `length` up to a whole number of pages, or `None` on overflow.
fn round_up_to_page(length: u64) -> Option<u64> {
    length
        .checked_add(PAGE_SIZE - 1)
        .map(|sum| sum & !(PAGE_SIZE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LOWEST: u64 = 0x1000;
    const LIMIT: u64 = 0x8000_0000_0000;
    const PAGE: u64 = PAGE_SIZE;

    fn anonymous(start: u64, end: u64, permissions: Permissions) -> Vma {
        Vma {
            start,
            end,
            permissions,
            kind: VmaKind::Anonymous,
            sharing: Sharing::Private,
        }
    }

    fn file(start: u64, end: u64, offset: u64) -> Vma {
        Vma {
            start,
            end,
            permissions: Permissions::READ_EXECUTE,
            kind: VmaKind::File {
                file: FileId(7),
                offset,
                write_access: WriteAccess::Allowed,
            },
            sharing: Sharing::Private,
        }
    }

    fn set() -> VmaSet {
        VmaSet::new(LOWEST, LIMIT).unwrap()
    }

    fn ranges(set: &VmaSet) -> Vec<(u64, u64)> {
        set.iter().map(|area| (area.start, area.end)).collect()
    }

    #[test]
    fn bounds_are_checked() {
        assert_eq!(VmaSet::new(0x1001, LIMIT), Err(VmaError::Misaligned));
        assert_eq!(VmaSet::new(LIMIT, LIMIT), Err(VmaError::EmptyRange));
        let mut areas = set();
        let read_write = Permissions::READ_WRITE;
        assert_eq!(
            areas.insert(anonymous(0, PAGE, read_write), Placement::Exclusive),
            Err(VmaError::OutOfRange)
        );
        assert_eq!(
            areas.insert(
                anonymous(LIMIT - PAGE, LIMIT + PAGE, read_write),
                Placement::Exclusive
            ),
            Err(VmaError::OutOfRange)
        );
        assert_eq!(
            areas.insert(anonymous(0x2000, 0x2800, read_write), Placement::Exclusive),
            Err(VmaError::Misaligned)
        );
        assert_eq!(
            areas.insert(anonymous(0x2000, 0x2000, read_write), Placement::Exclusive),
            Err(VmaError::EmptyRange)
        );
        assert_eq!(
            areas.insert(anonymous(0x3000, 0x2000, read_write), Placement::Exclusive),
            Err(VmaError::EmptyRange)
        );
        assert!(areas.is_empty());
        assert!(areas
            .insert(
                anonymous(LIMIT - PAGE, LIMIT, read_write),
                Placement::Exclusive
            )
            .is_ok());
        assert!(areas
            .insert(
                anonymous(LOWEST, LOWEST + PAGE, read_write),
                Placement::Exclusive
            )
            .is_ok());
        assert_eq!(
            areas.remove(!(PAGE - 1), 2 * PAGE),
            Err(VmaError::OutOfRange)
        );
        assert_eq!(areas.remove(0x2000, u64::MAX), Err(VmaError::OutOfRange));
        assert_eq!(areas.remove(0x2000, 0), Err(VmaError::EmptyRange));
        assert_eq!(areas.remove(0x2001, 1), Err(VmaError::Misaligned));
    }

    #[test]
    fn exclusive_insert_refuses_overlap() {
        let mut areas = set();
        areas
            .insert(
                anonymous(0x10_000, 0x20_000, Permissions::READ_WRITE),
                Placement::Exclusive,
            )
            .unwrap();
        for (start, end) in [
            (0xf_000, 0x11_000),
            (0x1f_000, 0x21_000),
            (0x12_000, 0x13_000),
            (0x8_000, 0x30_000),
        ] {
            assert_eq!(
                areas.insert(
                    anonymous(start, end, Permissions::READ),
                    Placement::Exclusive
                ),
                Err(VmaError::Overlap {
                    existing_start: 0x10_000
                })
            );
        }
        assert_eq!(
            VmaError::Overlap { existing_start: 0 }.errno(),
            Errno::EEXIST
        );
        // Touching is not overlapping.
        areas
            .insert(
                anonymous(0x20_000, 0x21_000, Permissions::READ),
                Placement::Exclusive,
            )
            .unwrap();
        areas
            .insert(
                anonymous(0xf_000, 0x10_000, Permissions::READ),
                Placement::Exclusive,
            )
            .unwrap();
        assert_eq!(
            ranges(&areas),
            [
                (0xf_000, 0x10_000),
                (0x10_000, 0x20_000),
                (0x20_000, 0x21_000)
            ]
        );
    }

    #[test]
    fn replace_cuts_what_is_in_the_way() {
        let mut areas = set();
        areas
            .insert(file(0x10_000, 0x20_000, 0x5000), Placement::Exclusive)
            .unwrap();
        let replaced = areas
            .insert(
                anonymous(0x14_000, 0x16_000, Permissions::READ_WRITE),
                Placement::Replace,
            )
            .unwrap();
        assert_eq!(replaced, [file(0x14_000, 0x16_000, 0x9000)]);
        assert_eq!(
            ranges(&areas),
            [
                (0x10_000, 0x14_000),
                (0x14_000, 0x16_000),
                (0x16_000, 0x20_000)
            ]
        );
        // The upper remainder keeps mapping the same file bytes it did before the split.
        assert_eq!(
            areas.lookup(0x16_000).unwrap().kind,
            VmaKind::File {
                file: FileId(7),
                offset: 0xb000,
                write_access: WriteAccess::Allowed
            }
        );
        assert_eq!(
            areas.lookup(0x10_000).unwrap().kind,
            VmaKind::File {
                file: FileId(7),
                offset: 0x5000,
                write_access: WriteAccess::Allowed
            }
        );
        assert_eq!(areas.lookup(0x15_fff).unwrap().kind, VmaKind::Anonymous);
    }

    #[test]
    fn remove_splits_and_reports_pieces() {
        let mut areas = set();
        areas
            .insert(
                anonymous(0x10_000, 0x20_000, Permissions::READ_WRITE),
                Placement::Exclusive,
            )
            .unwrap();
        areas
            .insert(
                anonymous(0x30_000, 0x40_000, Permissions::READ),
                Placement::Exclusive,
            )
            .unwrap();
        let removed = areas.remove(0x1c_000, 0x18_000).unwrap();
        assert_eq!(
            removed,
            [
                anonymous(0x1c_000, 0x20_000, Permissions::READ_WRITE),
                anonymous(0x30_000, 0x34_000, Permissions::READ)
            ]
        );
        assert_eq!(ranges(&areas), [(0x10_000, 0x1c_000), (0x34_000, 0x40_000)]);
        assert_eq!(areas.lookup(0x1c_000), None);
        assert_eq!(areas.lookup(0x33_fff), None);
        // A hole in the middle of one area leaves two.
        areas.remove(0x12_000, 1).unwrap();
        assert_eq!(
            ranges(&areas),
            [
                (0x10_000, 0x12_000),
                (0x13_000, 0x1c_000),
                (0x34_000, 0x40_000)
            ]
        );
        // Unmapping nothing succeeds with nothing removed.
        assert_eq!(areas.remove(0x50_000, PAGE), Ok(Vec::new()));
    }

    #[test]
    fn protect_splits_and_refuses_holes() {
        let mut areas = set();
        areas
            .insert(
                anonymous(0x10_000, 0x20_000, Permissions::READ_WRITE),
                Placement::Exclusive,
            )
            .unwrap();
        areas
            .insert(
                anonymous(0x20_000, 0x30_000, Permissions::READ_WRITE),
                Placement::Exclusive,
            )
            .unwrap();
        areas.protect(0x1f_000, 0x2000, Permissions::READ).unwrap();
        assert_eq!(
            ranges(&areas),
            [
                (0x10_000, 0x1f_000),
                (0x1f_000, 0x20_000),
                (0x20_000, 0x21_000),
                (0x21_000, 0x30_000)
            ]
        );
        assert_eq!(
            areas.lookup(0x1f_000).unwrap().permissions,
            Permissions::READ
        );
        assert_eq!(
            areas.lookup(0x20_fff).unwrap().permissions,
            Permissions::READ
        );
        assert_eq!(
            areas.lookup(0x21_000).unwrap().permissions,
            Permissions::READ_WRITE
        );
        assert_eq!(
            areas.lookup(0x1e_fff).unwrap().permissions,
            Permissions::READ_WRITE
        );

        let before = areas.clone();
        let error = areas
            .protect(0x2f_000, 0x2000, Permissions::NONE)
            .unwrap_err();
        assert_eq!(error, VmaError::NotMapped { address: 0x30_000 });
        assert_eq!(error.errno(), Errno::ENOMEM);
        assert_eq!(
            areas.protect(0xf_000, 0x2000, Permissions::NONE),
            Err(VmaError::NotMapped { address: 0xf_000 })
        );
        areas.remove(0x25_000, PAGE).unwrap();
        let with_hole = areas.clone();
        assert_eq!(
            areas.protect(0x20_000, 0x10_000, Permissions::NONE),
            Err(VmaError::NotMapped { address: 0x25_000 })
        );
        assert_eq!(areas, with_hole, "a refused mprotect changes nothing");
        assert_ne!(before, with_hole);
    }

    #[test]
    fn find_free_goes_top_down_and_honours_hints() {
        let mut areas = set();
        let stack_bottom = 0x7fff_ff00_0000;
        areas
            .insert(
                Vma {
                    kind: VmaKind::Stack,
                    ..anonymous(stack_bottom, LIMIT, Permissions::READ_WRITE)
                },
                Placement::Exclusive,
            )
            .unwrap();
        let first = areas.find_free(3 * PAGE, None, stack_bottom).unwrap();
        assert_eq!(first, stack_bottom - 3 * PAGE);
        areas
            .insert(
                anonymous(first, first + 3 * PAGE, Permissions::READ_WRITE),
                Placement::Exclusive,
            )
            .unwrap();
        // Lengths round up to pages.
        assert_eq!(areas.find_free(1, None, stack_bottom), Some(first - PAGE));
        // A free hint is used as is; a taken, misaligned or out-of-bounds one is not.
        assert_eq!(
            areas.find_free(PAGE, Some(0x40_0000), stack_bottom),
            Some(0x40_0000)
        );
        assert_eq!(
            areas.find_free(PAGE, Some(first), stack_bottom),
            Some(first - PAGE)
        );
        assert_eq!(
            areas.find_free(PAGE, Some(0x40_0800), stack_bottom),
            Some(first - PAGE)
        );
        assert_eq!(
            areas.find_free(PAGE, Some(0), stack_bottom),
            Some(first - PAGE)
        );
        assert_eq!(
            areas.find_free(2 * PAGE, Some(LIMIT - PAGE), stack_bottom),
            Some(first - 2 * PAGE)
        );
        // A gap between areas is found when it is the highest that fits.
        areas
            .insert(
                anonymous(0x10_000, 0x11_000, Permissions::READ),
                Placement::Exclusive,
            )
            .unwrap();
        areas
            .insert(
                anonymous(0x13_000, 0x14_000, Permissions::READ),
                Placement::Exclusive,
            )
            .unwrap();
        assert_eq!(areas.find_free(2 * PAGE, None, 0x14_000), Some(0x11_000));
        assert_eq!(areas.find_free(3 * PAGE, None, 0x14_000), Some(0xd_000));
        assert_eq!(areas.find_free(0x10_000, None, 0x14_000), None);
        assert_eq!(areas.find_free(0, None, stack_bottom), None);
        assert_eq!(areas.find_free(u64::MAX, None, stack_bottom), None);
    }

    #[test]
    fn lookup_finds_the_containing_area() {
        let mut areas = set();
        areas
            .insert(
                anonymous(0x10_000, 0x12_000, Permissions::READ),
                Placement::Exclusive,
            )
            .unwrap();
        assert_eq!(areas.lookup(0xffff), None);
        assert_eq!(
            areas.lookup(0x10_000).map(|area| area.start),
            Some(0x10_000)
        );
        assert_eq!(
            areas.lookup(0x11_fff).map(|area| area.start),
            Some(0x10_000)
        );
        assert_eq!(areas.lookup(0x12_000), None);
        assert_eq!(areas.lookup(u64::MAX), None);
        assert!(areas.is_free(0x12_000, PAGE));
        assert!(!areas.is_free(0x11_000, 2 * PAGE));
        assert!(!areas.is_free(u64::MAX, 2));
    }

    /// Operations for the model-based property test, in pages within a 64-page window.
    #[derive(Clone, Debug)]
    enum Operation {
        Insert {
            start: u64,
            pages: u64,
            permissions: u64,
            file: bool,
            placement: Placement,
        },
        Remove {
            start: u64,
            pages: u64,
        },
        Protect {
            start: u64,
            pages: u64,
            permissions: u64,
        },
    }

    const WINDOW_PAGES: u64 = 64;

    fn operation() -> impl Strategy<Value = Operation> {
        let placement = prop_oneof![Just(Placement::Exclusive), Just(Placement::Replace)];
        prop_oneof![
            (
                0..WINDOW_PAGES + 2,
                0..10_u64,
                0..8_u64,
                any::<bool>(),
                placement
            )
                .prop_map(|(start, pages, permissions, file, placement)| {
                    Operation::Insert {
                        start,
                        pages,
                        permissions,
                        file,
                        placement,
                    }
                }),
            (0..WINDOW_PAGES + 2, 0..20_u64)
                .prop_map(|(start, pages)| Operation::Remove { start, pages }),
            (0..WINDOW_PAGES + 2, 0..10_u64, 0..8_u64).prop_map(|(start, pages, permissions)| {
                Operation::Protect {
                    start,
                    pages,
                    permissions,
                }
            }),
        ]
    }

    /// The state of one page in the reference model: permissions and backing as seen at
    /// that page (a file area's offset advanced to the page).
    type PageState = Option<(Permissions, VmaKind)>;

    fn kind_at(area: &Vma, address: u64) -> VmaKind {
        match area.kind {
            VmaKind::File {
                file,
                offset,
                write_access,
            } => VmaKind::File {
                file,
                offset: offset + (address - area.start),
                write_access,
            },
            VmaKind::SharedAnonymous { object, offset } => VmaKind::SharedAnonymous {
                object,
                offset: offset + (address - area.start),
            },
            other => other,
        }
    }

    fn check_invariants(areas: &VmaSet) -> Result<(), TestCaseError> {
        let (lowest, limit) = areas.bounds();
        let mut previous_end = lowest;
        for (key, area) in &areas.areas {
            prop_assert_eq!(*key, area.start);
            prop_assert!(area.start < area.end);
            prop_assert_eq!(area.start % PAGE, 0);
            prop_assert_eq!(area.end % PAGE, 0);
            prop_assert!(area.start >= previous_end, "areas overlap or are unsorted");
            previous_end = area.end;
        }
        prop_assert!(previous_end <= limit);
        Ok(())
    }

    proptest! {
        #[test]
        fn random_operations_match_a_page_model(operations in proptest::collection::vec(operation(), 1..40)) {
            let window_start = 0x10_000;
            let mut areas = VmaSet::new(window_start, window_start + WINDOW_PAGES * PAGE).unwrap();
            let mut model: Vec<PageState> = vec![None; WINDOW_PAGES as usize];
            let page_address = |page: u64| window_start + page * PAGE;
            for operation in operations {
                match operation {
                    Operation::Insert { start, pages, permissions, file, placement } => {
                        let kind = if file {
                            VmaKind::File { file: FileId(start), offset: 0x10_0000, write_access: WriteAccess::Allowed }
                        } else {
                            VmaKind::Anonymous
                        };
                        let vma = Vma {
                            start: page_address(start),
                            end: page_address(start + pages),
                            permissions: Permissions::from_prot(permissions).unwrap(),
                            kind,
                            sharing: Sharing::Private,
                        };
                        let in_bounds = pages > 0 && start + pages <= WINDOW_PAGES;
                        let taken = in_bounds && (start..start + pages).any(|page| model[page as usize].is_some());
                        let result = areas.insert(vma, placement);
                        let expect_ok = in_bounds && (placement == Placement::Replace || !taken);
                        prop_assert_eq!(result.is_ok(), expect_ok, "{:?}", result);
                        if let Ok(replaced) = result {
                            let replaced_pages: u64 = replaced.iter().map(|area| area.length() / PAGE).sum();
                            let taken_pages = (start..start + pages)
                                .filter(|page| model[*page as usize].is_some())
                                .count() as u64;
                            prop_assert_eq!(replaced_pages, taken_pages);
                            for page in start..start + pages {
                                model[page as usize] = Some((vma.permissions, kind_at(&vma, page_address(page))));
                            }
                        }
                    }
                    Operation::Remove { start, pages } => {
                        let result = areas.remove(page_address(start), pages * PAGE);
                        let in_bounds = pages > 0 && start + pages <= WINDOW_PAGES;
                        prop_assert_eq!(result.is_ok(), in_bounds);
                        if in_bounds {
                            for page in start..start + pages {
                                model[page as usize] = None;
                                prop_assert!(areas.lookup(page_address(page)).is_none());
                            }
                        }
                    }
                    Operation::Protect { start, pages, permissions } => {
                        let permissions = Permissions::from_prot(permissions).unwrap();
                        let result = areas.protect(page_address(start), pages * PAGE, permissions);
                        let in_bounds = pages > 0 && start + pages <= WINDOW_PAGES;
                        let fully_mapped = in_bounds && (start..start + pages).all(|page| model[page as usize].is_some());
                        prop_assert_eq!(result.is_ok(), fully_mapped);
                        if fully_mapped {
                            for page in start..start + pages {
                                if let Some((old, _)) = model[page as usize].as_mut() {
                                    *old = permissions;
                                }
                            }
                        }
                    }
                }
                check_invariants(&areas)?;
                for page in 0..WINDOW_PAGES {
                    let address = page_address(page) + 0x123;
                    let actual = areas.lookup(address).map(|area| (area.permissions, kind_at(area, page_address(page))));
                    prop_assert_eq!(actual, model[page as usize], "page {}", page);
                }
            }
        }

        #[test]
        fn move_range_matches_a_page_model(
            inserts in proptest::collection::vec((0..WINDOW_PAGES, 1..8_u64, 0..8_u64, any::<bool>()), 1..12),
            source in 0..WINDOW_PAGES,
            pages in 1..6_u64,
            destination in 0..WINDOW_PAGES,
            new_pages in 1..8_u64,
            keep in any::<bool>(),
        ) {
            let window_start = 0x10_000;
            let page_address = |page: u64| window_start + page * PAGE;
            let mut areas = VmaSet::new(window_start, window_start + WINDOW_PAGES * PAGE).unwrap();
            for (start, length, permissions, file) in inserts {
                let kind = if file {
                    VmaKind::File { file: FileId(start), offset: 0x4000, write_access: WriteAccess::Allowed }
                } else {
                    VmaKind::SharedAnonymous { object: start, offset: 0 }
                };
                let vma = Vma {
                    start: page_address(start),
                    end: page_address((start + length).min(WINDOW_PAGES)),
                    permissions: Permissions::from_prot(permissions).unwrap(),
                    kind,
                    sharing: Sharing::Shared,
                };
                if vma.start < vma.end {
                    areas.insert(vma, Placement::Replace).unwrap();
                }
            }
            let model: Vec<PageState> = (0..WINDOW_PAGES)
                .map(|page| areas.lookup(page_address(page)).map(|area| (area.permissions, kind_at(area, page_address(page)))))
                .collect();
            let before = areas.clone();
            let old_range = if keep { OldRange::Keep } else { OldRange::Unmap };
            let result = areas.move_range(page_address(source), page_address(source + pages), page_address(destination), new_pages * PAGE, old_range);
            let in_bounds = source + pages <= WINDOW_PAGES && destination + new_pages <= WINDOW_PAGES;
            let one_area = in_bounds && before
                .lookup(page_address(source))
                .is_some_and(|area| area.end >= page_address(source + pages));
            let disjoint = destination >= source + pages || source >= destination + new_pages;
            prop_assert_eq!(result.is_ok(), one_area && disjoint, "{:?}", result);
            if result.is_err() {
                prop_assert_eq!(&areas, &before, "a refused move changes nothing");
                return Ok(());
            }
            check_invariants(&areas)?;
            let (permissions, first_kind) = model[source as usize].unwrap();
            for page in 0..WINDOW_PAGES {
                let actual = areas.lookup(page_address(page)).map(|area| (area.permissions, kind_at(area, page_address(page))));
                let expected = if (destination..destination + new_pages).contains(&page) {
                    Some((permissions, first_kind.advanced((page - destination) * PAGE)))
                } else if (source..source + pages).contains(&page) && !keep {
                    None
                } else {
                    model[page as usize]
                };
                prop_assert_eq!(actual, expected, "page {}", page);
            }
        }

        #[test]
        fn find_free_picks_the_highest_fitting_gap(
            occupied in proptest::collection::vec(any::<bool>(), WINDOW_PAGES as usize),
            pages in 1..8_u64,
            ceiling_page in 0..=WINDOW_PAGES,
            hint in proptest::option::of(0..WINDOW_PAGES),
        ) {
            let window_start = 0x10_000;
            let page_address = |page: u64| window_start + page * PAGE;
            let mut areas = VmaSet::new(window_start, window_start + WINDOW_PAGES * PAGE).unwrap();
            for (page, taken) in occupied.iter().enumerate() {
                if *taken {
                    let page = page as u64;
                    let area = anonymous(page_address(page), page_address(page + 1), Permissions::READ);
                    areas.insert(area, Placement::Exclusive).unwrap();
                }
            }
            let fits = |start: u64| {
                start + pages <= WINDOW_PAGES && (start..start + pages).all(|page| !occupied[page as usize])
            };
            let expected = match hint {
                Some(hint) if fits(hint) => Some(page_address(hint)),
                _ => (0..=ceiling_page.saturating_sub(pages))
                    .rev()
                    .find(|start| start + pages <= ceiling_page && fits(*start))
                    .map(page_address),
            };
            let found = areas.find_free(pages * PAGE, hint.map(page_address), page_address(ceiling_page));
            prop_assert_eq!(found, expected);
        }
    }
}
