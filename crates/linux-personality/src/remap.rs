//! `mremap` planning: decodes the arguments, checks them against a process's areas with
//! Linux's rules and errors, and says what to do (shrink, grow in place, or move), so the
//! root task only carries the plan out on pages and frames.

use crate::elf_plan::PAGE_SIZE;
use crate::errno::Errno;
use crate::vma::{OldRange, Placement, Sharing, Vma, VmaKind, VmaSet};

/// `MREMAP_MAYMOVE`: the kernel may move the mapping.
pub const MREMAP_MAYMOVE: u64 = 1;
/// `MREMAP_FIXED`: move it to exactly `new_address` (needs `MREMAP_MAYMOVE`).
pub const MREMAP_FIXED: u64 = 2;
/// `MREMAP_DONTUNMAP`: move the pages but leave the old range mapped (needs
/// `MREMAP_MAYMOVE`, equal sizes, private anonymous memory).
pub const MREMAP_DONTUNMAP: u64 = 4;

/// The arguments of `mremap`, as the caller passed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemapRequest {
    pub old_address: u64,
    pub old_length: u64,
    pub new_length: u64,
    pub flags: u64,
    pub new_address: u64,
}

/// What `mremap` does, every address page-aligned and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemapPlan {
    /// The mapping stays at `start`: `[unmap_from, unmap_to)` (maybe empty) is unmapped
    /// (shrinking) or the area is extended to `grow_to` (growing in place, if `Some`).
    InPlace {
        start: u64,
        unmap_from: u64,
        unmap_to: u64,
        grow_to: Option<u64>,
    },
    /// First unmap `[unmap_from, unmap_to)` (the tail a shrinking move drops; maybe
    /// empty), then move `[source, source_end)` to `destination` as `new_length` bytes,
    /// replacing whatever is there, with the old range unmapped or kept.
    Move {
        source: u64,
        source_end: u64,
        unmap_from: u64,
        unmap_to: u64,
        destination: u64,
        new_length: u64,
        old_range: OldRange,
    },
    /// A zero old length on a shared mapping: add `mapping`, a second view of the same
    /// pages (replacing what is in the way only for `MREMAP_FIXED`).
    Duplicate { mapping: Vma, placement: Placement },
}

impl RemapPlan {
    /// The address `mremap` returns.
    #[must_use]
    pub const fn result(&self) -> u64 {
        match self {
            RemapPlan::InPlace { start, .. } => *start,
            RemapPlan::Move { destination, .. } => *destination,
            RemapPlan::Duplicate { mapping, .. } => mapping.start,
        }
    }
}

/// Plans `request` on `areas`; a kernel-chosen destination is the highest free gap
/// below `ceiling`.
///
/// # Errors
/// As Linux: `EINVAL` for unknown flags, `MREMAP_FIXED`/`MREMAP_DONTUNMAP` without
/// `MREMAP_MAYMOVE`, a misaligned address, a zero new length, overlapping old and new
/// ranges, `MREMAP_DONTUNMAP` with different sizes or on memory other than private
/// anonymous, or a zero old length on a private mapping; `EFAULT` if the old range is
/// not inside a single mapping; `ENOMEM` if the mapping cannot grow in place and may not
/// move, or no free range is big enough.
pub fn plan_remap(
    areas: &VmaSet,
    request: &RemapRequest,
    ceiling: u64,
) -> Result<RemapPlan, Errno> {
    let flags = request.flags;
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    let may_move = flags & MREMAP_MAYMOVE != 0;
    let fixed = flags & MREMAP_FIXED != 0;
    let keep_old = flags & MREMAP_DONTUNMAP != 0;
    if (fixed || keep_old) && !may_move {
        return Err(Errno::EINVAL);
    }
    let start = request.old_address;
    if !start.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let old_length = round_up(request.old_length).ok_or(Errno::EINVAL)?;
    let new_length = round_up(request.new_length).ok_or(Errno::EINVAL)?;
    if new_length == 0 {
        return Err(Errno::EINVAL);
    }
    if keep_old && old_length != new_length {
        return Err(Errno::EINVAL);
    }
    let old_end = start.checked_add(old_length).ok_or(Errno::EINVAL)?;
    let (lowest, limit) = areas.bounds();
    if fixed {
        let destination = request.new_address;
        if !destination.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let destination_end = destination.checked_add(new_length).ok_or(Errno::EINVAL)?;
        if destination < lowest || destination_end > limit {
            return Err(Errno::EINVAL);
        }
        if destination < old_end && start < destination_end {
            return Err(Errno::EINVAL);
        }
    }
    let area = *areas.lookup(start).ok_or(Errno::EFAULT)?;
    if old_length == 0 {
        return plan_duplicate(areas, &area, request, new_length, ceiling);
    }
    if old_end > area.end {
        return Err(Errno::EFAULT);
    }
    if matches!(area.kind, VmaKind::Vdso | VmaKind::Vvar) {
        return Err(Errno::EINVAL);
    }
    if keep_old
        && !matches!(
            area.kind,
            VmaKind::Anonymous | VmaKind::Heap | VmaKind::Stack
        )
    {
        return Err(Errno::EINVAL);
    }
    let kept = old_length.min(new_length);
    // `start + kept` cannot overflow: it is at most `old_end`.
    let source_end = start + kept;
    let (unmap_from, unmap_to) = if new_length < old_length {
        (source_end, old_end)
    } else {
        (old_end, old_end)
    };
    let old_range = if keep_old {
        OldRange::Keep
    } else {
        OldRange::Unmap
    };
    if fixed {
        return Ok(RemapPlan::Move {
            source: start,
            source_end,
            unmap_from,
            unmap_to,
            destination: request.new_address,
            new_length,
            old_range,
        });
    }
    if new_length <= old_length && !keep_old {
        return Ok(RemapPlan::InPlace {
            start,
            unmap_from,
            unmap_to,
            grow_to: None,
        });
    }
    let new_end = start.checked_add(new_length).filter(|end| *end <= limit);
    if !keep_old {
        if let Some(new_end) = new_end {
            // Growing in place needs the range to reach the area's end and room after it.
            if old_end == area.end && areas.is_free(old_end, new_end - old_end) {
                return Ok(RemapPlan::InPlace {
                    start,
                    unmap_from,
                    unmap_to,
                    grow_to: Some(new_end),
                });
            }
        }
    }
    if !may_move {
        return Err(Errno::ENOMEM);
    }
    let destination = areas
        .find_free(new_length, None, ceiling)
        .ok_or(Errno::ENOMEM)?;
    Ok(RemapPlan::Move {
        source: start,
        source_end,
        unmap_from,
        unmap_to,
        destination,
        new_length,
        old_range,
    })
}

/// A zero old length: a second mapping of a shared mapping's pages (`MREMAP_MAYMOVE`
/// required, as there is nothing to grow in place).
fn plan_duplicate(
    areas: &VmaSet,
    area: &Vma,
    request: &RemapRequest,
    new_length: u64,
    ceiling: u64,
) -> Result<RemapPlan, Errno> {
    if area.sharing != Sharing::Shared || matches!(area.kind, VmaKind::Vdso | VmaKind::Vvar) {
        return Err(Errno::EINVAL);
    }
    if request.flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let (destination, placement) = if request.flags & MREMAP_FIXED != 0 {
        (request.new_address, Placement::Replace)
    } else {
        let destination = areas
            .find_free(new_length, None, ceiling)
            .ok_or(Errno::ENOMEM)?;
        (destination, Placement::Exclusive)
    };
    let end = destination.checked_add(new_length).ok_or(Errno::ENOMEM)?;
    Ok(RemapPlan::Duplicate {
        mapping: Vma {
            start: destination,
            end,
            kind: area.kind.advanced(request.old_address - area.start),
            ..*area
        },
        placement,
    })
}

fn round_up(length: u64) -> Option<u64> {
    length
        .checked_add(PAGE_SIZE - 1)
        .map(|sum| sum & !(PAGE_SIZE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permissions;
    use crate::vma::FileId;

    const PAGE: u64 = PAGE_SIZE;
    const CEILING: u64 = 0x7000_0000;

    fn areas_with(list: &[(u64, u64, Permissions)]) -> VmaSet {
        let mut areas = VmaSet::new(PAGE, 0x8000_0000).unwrap();
        for (start, end, permissions) in list {
            areas
                .insert(
                    Vma {
                        start: *start,
                        end: *end,
                        permissions: *permissions,
                        kind: VmaKind::Anonymous,
                        sharing: Sharing::Private,
                    },
                    Placement::Exclusive,
                )
                .unwrap();
        }
        areas
    }

    fn request(old_address: u64, old_length: u64, new_length: u64, flags: u64) -> RemapRequest {
        RemapRequest {
            old_address,
            old_length,
            new_length,
            flags,
            new_address: 0,
        }
    }

    #[test]
    fn bad_arguments_are_einval() {
        let areas = areas_with(&[(0x10_000, 0x14_000, Permissions::READ_WRITE)]);
        let plan = |request: RemapRequest| plan_remap(&areas, &request, CEILING);
        assert_eq!(plan(request(0x10_000, PAGE, PAGE, 8)), Err(Errno::EINVAL));
        assert_eq!(
            plan(request(0x10_001, PAGE, 2 * PAGE, MREMAP_MAYMOVE)),
            Err(Errno::EINVAL)
        );
        assert_eq!(plan(request(0x10_000, PAGE, 0, 0)), Err(Errno::EINVAL));
        assert_eq!(
            plan(request(0x10_000, PAGE, PAGE, MREMAP_FIXED)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            plan(request(0x10_000, PAGE, PAGE, MREMAP_DONTUNMAP)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            plan(request(
                0x10_000,
                PAGE,
                2 * PAGE,
                MREMAP_MAYMOVE | MREMAP_DONTUNMAP
            )),
            Err(Errno::EINVAL)
        );
        // A fixed destination overlapping the old range, or misaligned.
        let overlapping = RemapRequest {
            new_address: 0x11_000,
            ..request(0x10_000, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED)
        };
        assert_eq!(plan(overlapping), Err(Errno::EINVAL));
        let misaligned = RemapRequest {
            new_address: 0x20_800,
            ..overlapping
        };
        assert_eq!(plan(misaligned), Err(Errno::EINVAL));
        assert_eq!(
            plan(request(0x10_000, u64::MAX, PAGE, 0)),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn the_old_range_must_be_one_mapping() {
        let areas = areas_with(&[
            (0x10_000, 0x12_000, Permissions::READ_WRITE),
            (0x12_000, 0x13_000, Permissions::READ),
        ]);
        let plan = |request: RemapRequest| plan_remap(&areas, &request, CEILING);
        assert_eq!(plan(request(0x20_000, PAGE, PAGE, 0)), Err(Errno::EFAULT));
        // Spans two areas (adjacent, different permissions).
        assert_eq!(
            plan(request(0x11_000, 2 * PAGE, PAGE, MREMAP_MAYMOVE)),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn shrinking_unmaps_the_tail_in_place() {
        let areas = areas_with(&[(0x10_000, 0x18_000, Permissions::READ_WRITE)]);
        assert_eq!(
            plan_remap(
                &areas,
                &request(0x10_000, 8 * PAGE, 3 * PAGE + 1, 0),
                CEILING
            ),
            Ok(RemapPlan::InPlace {
                start: 0x10_000,
                unmap_from: 0x14_000,
                unmap_to: 0x18_000,
                grow_to: None
            })
        );
        let same = plan_remap(&areas, &request(0x12_000, PAGE, PAGE, 0), CEILING).unwrap();
        assert_eq!(same.result(), 0x12_000);
    }

    #[test]
    fn growing_stays_in_place_when_free_else_moves_or_fails() {
        let areas = areas_with(&[
            (0x10_000, 0x12_000, Permissions::READ_WRITE),
            (0x12_000, 0x13_000, Permissions::READ),
            (0x20_000, 0x21_000, Permissions::READ_WRITE),
        ]);
        let plan = |request: RemapRequest| plan_remap(&areas, &request, CEILING);
        // Blocked by the area right above: ENOMEM without MAYMOVE, a move with it.
        assert_eq!(
            plan(request(0x10_000, 2 * PAGE, 8 * PAGE, 0)),
            Err(Errno::ENOMEM)
        );
        let moved = plan(request(0x10_000, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE)).unwrap();
        assert_eq!(
            moved,
            RemapPlan::Move {
                source: 0x10_000,
                source_end: 0x12_000,
                unmap_from: 0x12_000,
                unmap_to: 0x12_000,
                destination: CEILING - 8 * PAGE,
                new_length: 8 * PAGE,
                old_range: OldRange::Unmap,
            }
        );
        // Room above: grows in place.
        assert_eq!(
            plan(request(0x20_000, PAGE, 4 * PAGE, 0)),
            Ok(RemapPlan::InPlace {
                start: 0x20_000,
                unmap_from: 0x21_000,
                unmap_to: 0x21_000,
                grow_to: Some(0x24_000)
            })
        );
        // Not reaching the area's end: it must move.
        assert_eq!(
            plan(request(0x10_000, PAGE, 2 * PAGE, 0)),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn fixed_moves_to_the_given_address_and_drops_the_tail() {
        let areas = areas_with(&[
            (0x10_000, 0x14_000, Permissions::READ_WRITE),
            (0x30_000, 0x34_000, Permissions::READ_WRITE),
        ]);
        let request = RemapRequest {
            new_address: 0x30_000,
            ..request(0x10_000, 4 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED)
        };
        assert_eq!(
            plan_remap(&areas, &request, CEILING),
            Ok(RemapPlan::Move {
                source: 0x10_000,
                source_end: 0x12_000,
                unmap_from: 0x12_000,
                unmap_to: 0x14_000,
                destination: 0x30_000,
                new_length: 2 * PAGE,
                old_range: OldRange::Unmap,
            })
        );
    }

    #[test]
    fn dontunmap_keeps_the_old_range_of_private_anonymous_memory_only() {
        let mut areas = areas_with(&[(0x10_000, 0x12_000, Permissions::READ_WRITE)]);
        let flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
        let plan = plan_remap(
            &areas,
            &request(0x10_000, 2 * PAGE, 2 * PAGE, flags),
            CEILING,
        );
        assert!(matches!(
            plan,
            Ok(RemapPlan::Move {
                old_range: OldRange::Keep,
                ..
            })
        ));
        areas
            .insert(
                Vma {
                    start: 0x40_000,
                    end: 0x41_000,
                    permissions: Permissions::READ,
                    kind: VmaKind::File {
                        file: FileId(3),
                        offset: 0,
                        write_access: crate::vma::WriteAccess::Allowed,
                    },
                    sharing: Sharing::Private,
                },
                Placement::Exclusive,
            )
            .unwrap();
        assert_eq!(
            plan_remap(&areas, &request(0x40_000, PAGE, PAGE, flags), CEILING),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn a_zero_old_length_duplicates_a_shared_mapping_only() {
        let mut areas = areas_with(&[(0x10_000, 0x12_000, Permissions::READ_WRITE)]);
        assert_eq!(
            plan_remap(&areas, &request(0x10_000, 0, PAGE, MREMAP_MAYMOVE), CEILING),
            Err(Errno::EINVAL),
            "private"
        );
        let shared = Vma {
            start: 0x40_000,
            end: 0x44_000,
            permissions: Permissions::READ_WRITE,
            kind: VmaKind::SharedAnonymous {
                object: 5,
                offset: 0,
            },
            sharing: Sharing::Shared,
        };
        areas.insert(shared, Placement::Exclusive).unwrap();
        assert_eq!(
            plan_remap(&areas, &request(0x41_000, 0, 2 * PAGE, 0), CEILING),
            Err(Errno::ENOMEM),
            "nothing to grow in place without MREMAP_MAYMOVE"
        );
        let plan = plan_remap(
            &areas,
            &request(0x41_000, 0, 8 * PAGE, MREMAP_MAYMOVE),
            CEILING,
        )
        .unwrap();
        assert_eq!(
            plan,
            RemapPlan::Duplicate {
                mapping: Vma {
                    start: CEILING - 8 * PAGE,
                    end: CEILING,
                    kind: VmaKind::SharedAnonymous {
                        object: 5,
                        offset: PAGE
                    },
                    ..shared
                },
                placement: Placement::Exclusive,
            }
        );
        let fixed = RemapRequest {
            new_address: 0x10_000,
            ..request(0x40_000, 0, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED)
        };
        assert!(matches!(
            plan_remap(&areas, &fixed, CEILING),
            Ok(RemapPlan::Duplicate {
                placement: Placement::Replace,
                ..
            })
        ));
    }

    #[test]
    fn applying_a_move_carries_permissions_and_offsets() {
        let mut areas = VmaSet::new(PAGE, 0x8000_0000).unwrap();
        areas
            .insert(
                Vma {
                    start: 0x10_000,
                    end: 0x14_000,
                    permissions: Permissions::READ,
                    kind: VmaKind::File {
                        file: FileId(9),
                        offset: 0x2000,
                        write_access: crate::vma::WriteAccess::Allowed,
                    },
                    sharing: Sharing::Private,
                },
                Placement::Exclusive,
            )
            .unwrap();
        let removed = areas
            .move_range(0x11_000, 0x13_000, 0x50_000, 3 * PAGE, OldRange::Unmap)
            .unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!((removed[0].start, removed[0].end), (0x11_000, 0x13_000));
        let moved = *areas.lookup(0x50_000).unwrap();
        assert_eq!((moved.start, moved.end), (0x50_000, 0x53_000));
        assert_eq!(moved.permissions, Permissions::READ);
        assert_eq!(
            moved.kind,
            VmaKind::File {
                file: FileId(9),
                offset: 0x3000,
                write_access: crate::vma::WriteAccess::Allowed,
            }
        );
        assert!(areas.lookup(0x11_000).is_none());
        assert!(areas.lookup(0x10_000).is_some() && areas.lookup(0x13_000).is_some());
        // Spanning a hole, or overlapping its own destination, is refused unchanged.
        let before = areas.clone();
        assert!(areas
            .move_range(0x10_000, 0x12_000, 0x60_000, PAGE, OldRange::Unmap)
            .is_err());
        assert!(areas
            .move_range(0x50_000, 0x52_000, 0x51_000, 2 * PAGE, OldRange::Unmap)
            .is_err());
        assert_eq!(areas, before);
        // Growing in place.
        areas.extend(0x50_000, 0x58_000).unwrap();
        assert_eq!(
            areas.lookup(0x57_fff).map(|area| area.start),
            Some(0x50_000)
        );
        assert!(
            areas.extend(0x10_000, 0x14_000).is_err(),
            "0x13_000 is in the way"
        );
    }
}
