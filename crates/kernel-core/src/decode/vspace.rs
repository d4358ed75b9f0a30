//! Decoding the aarch64 VSpace invocations (PageTable, Page, VSpace cache maintenance,
//! ASIDControl, ASIDPool), with seL4's checks in seL4's order.
//!
//! A VSpace cap is usable once ASIDPool Assign has given it an ASID; every mapping
//! operation then checks that the ASID still names that VSpace (through [`AsidTable`]).
//! ASID 0 is never assigned, as in seL4.

use sel4::{CapRights, InvocationLabel, VmAttributes};

use crate::bits::{is_aligned, mask, shift_left};
use crate::cap::{Cap, FrameSize, Mapping, VmRights};
use crate::cdt::{ensure_empty_slot, ensure_no_children, is_final_capability, SlotMemory};
use crate::cspace::lookup_slot_for_cnode_op;
use crate::error::{LookupFault, LookupRole, SyscallError};
use crate::page_table::{
    find_page_slot, find_page_table_slot, lookup_pt_slot, make_user_page_pte, PhysMemory, Pte,
};
use crate::raw_cap::{self, FrameCap, VSpaceCap};
use crate::slot::SlotAddr;

use super::CapRef;

/// Number of ASID pools (seL4's `nASIDPools`): the ASID table has this many entries.
pub const ASID_POOL_COUNT: u64 = 1 << sel4::NUM_ASID_POOLS_BITS;
/// ASIDs per pool.
pub const ASID_POOL_ENTRIES: u64 = 1 << sel4::ASID_POOL_INDEX_BITS;

/// The kernel's ASID table and pools, read-only (seL4's `armKSASIDTable` and the
/// `asid_pool_t` objects).
pub trait AsidTable {
    /// The physical address of the ASID pool installed for ASIDs
    /// `pool_index << 9 ..= pool_index << 9 | 511`, if one is installed.
    fn pool(&self, pool_index: u64) -> Option<u64>;
    /// The VSpace root that entry `index` (0..512) of the pool at `pool` is assigned to,
    /// if any.
    fn pool_entry(&self, pool: u64, index: u64) -> Option<u64>;
}

/// seL4's `findVSpaceForASID`: the VSpace root `asid` is assigned to, if any.
pub fn find_vspace_for_asid(asids: &impl AsidTable, asid: u16) -> Option<u64> {
    let asid = u64::from(asid);
    let pool = asids.pool(asid >> sel4::ASID_POOL_INDEX_BITS)?;
    asids.pool_entry(pool, asid & mask(sel4::ASID_POOL_INDEX_BITS))
}

/// A cache maintenance operation on a virtual range (by VA, in the VSpace's ASID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOperation {
    /// Clean data cache lines to the point of coherency (`dc cvac`).
    CleanData,
    /// Invalidate data cache lines to the point of coherency (`dc ivac`).
    InvalidateData,
    /// Clean and invalidate to the point of coherency (`dc civac`).
    CleanInvalidateData,
    /// Clean data to the point of unification, then invalidate the instruction cache
    /// (`dc cvau`, `dsb`, `ic ivau`, `isb`).
    UnifyInstruction,
}

/// A frame or page table entry in a VSpace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedEntry {
    /// Physical address of the translation table entry.
    pub entry: u64,
    pub asid: u16,
    /// The virtual address the entry maps (for TLB maintenance).
    pub vaddr: u64,
}

/// A validated VSpace invocation. Performing it (the kernel's part; none can fail):
/// - `PageTableMap`: write `pte` at `entry` (then clean it to the point of
///   unification), store `cap` (now mapped) in `cap_slot`.
/// - `PageTableUnmap`: if `link` is set, write [`Pte::INVALID`] at `link.entry` and
///   invalidate the TLB for `link.asid`; if `clear_table`, zero the table's 512 entries;
///   store `cap` (now unmapped) in `cap_slot`.
/// - `PageMap`: write `pte` at `entry`, store `cap` in `cap_slot`; if `replaces_valid`
///   invalidate the TLB entry for (`asid`, `vaddr`).
/// - `PageUnmap`: if `mapping` is set, write [`Pte::INVALID`] there and invalidate the
///   TLB entry; store `cap` (now unmapped) in `cap_slot`.
/// - `CacheMaintenance`: apply `operation` to the virtual range `[start, end)` of
///   `vspace` (running on `asid`), whose first byte is at physical `paddr`.
/// - `PageGetAddress`: reply with MR0 = `paddr` (length 1).
/// - `NoOp`: reply success (a VSpace flush of an unmapped address).
/// - `MakePool`: store `untyped` (now full) in `untyped_slot`, zero the 4 KiB at `pool`,
///   insert `cap` into `destination` as a child of `untyped_slot`
///   ([`crate::cdt::insert_child`]), install `pool` as the pool for `asid_base`.
/// - `AssignAsid`: set entry `asid` of the pool at `pool` to `vspace`, store `cap` (now
///   with its ASID) in `vspace_slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VSpaceInvocation {
    PageTableMap {
        cap_slot: SlotAddr,
        cap: Cap,
        entry: u64,
        pte: Pte,
    },
    PageTableUnmap {
        cap_slot: SlotAddr,
        cap: Cap,
        table: u64,
        link: Option<MappedEntry>,
        clear_table: bool,
    },
    PageMap {
        cap_slot: SlotAddr,
        cap: Cap,
        entry: u64,
        pte: Pte,
        asid: u16,
        vaddr: u64,
        replaces_valid: bool,
    },
    PageUnmap {
        cap_slot: SlotAddr,
        cap: Cap,
        mapping: Option<MappedEntry>,
    },
    CacheMaintenance {
        operation: CacheOperation,
        vspace: u64,
        asid: u16,
        start: u64,
        end: u64,
        paddr: u64,
    },
    PageGetAddress {
        paddr: u64,
    },
    NoOp,
    MakePool {
        untyped_slot: SlotAddr,
        untyped: Cap,
        pool: u64,
        asid_base: u16,
        destination: SlotAddr,
        cap: Cap,
    },
    AssignAsid {
        vspace_slot: SlotAddr,
        cap: Cap,
        pool: u64,
        asid: u16,
        vspace: u64,
    },
}

/// Decodes an invocation of a Frame, PageTable, VSpace, ASIDControl or ASIDPool cap.
/// `phys` holds the translation tables, `slots` the CNodes, `asids` the ASID table;
/// `invoked` is the invoked cap and its slot, `mrs` the caller's message words (its
/// message length of them), `extra_caps` the caps its extra-cap cptrs named.
///
/// # Errors
/// Per cap type, in seL4's order:
/// - PageTable Map: IllegalOperation (label); TruncatedMessage (2 words, 1 cap);
///   InvalidCapability(0) (already mapped); InvalidCapability(1) (not a VSpace with an
///   ASID); InvalidArgument(0) (vaddr above `USER_TOP`); FailedLookup(InvalidRoot) (the
///   ASID names no VSpace); InvalidCapability(1) (names another); DeleteFirst (a table
///   or mapping already there, or no table level left). Unmap: RevokeFirst (not the
///   last cap to the table).
/// - Page Map: TruncatedMessage (3 words, 1 cap); InvalidCapability(1), FailedLookup,
///   InvalidCapability(1) (VSpace checks as above); AlignmentError; InvalidCapability(1)
///   (mapped in another ASID); InvalidArgument(0) (mapped at another vaddr, or the
///   frame would reach past `USER_TOP`); FailedLookup(MissingCapability(bits left))
///   (no page table at the frame's level).
/// - Page cache operations: TruncatedMessage; IllegalOperation (unmapped);
///   FailedLookup; InvalidArgument(1) (end <= start); InvalidArgument(0) (outside the
///   frame); InvalidCapability(0) (the cap's mapping is stale); IllegalOperation
///   (Invalidate on a mapping without write rights).
/// - VSpace cache operations: TruncatedMessage; InvalidArgument(1) (end <= start);
///   IllegalOperation (end above `USER_TOP`); InvalidCapability(0) (no ASID);
///   FailedLookup; InvalidCapability(0); RangeError(start, last byte of the page) (the
///   range crosses a page); IllegalOperation (Invalidate without write rights).
/// - ASIDControl MakePool: TruncatedMessage (2 words, 2 caps); DeleteFirst (every pool
///   in use); InvalidCapability(1) (not a 4 KiB RAM untyped); RevokeFirst (untyped has
///   children); the destination lookup's errors; DeleteFirst (destination occupied).
/// - ASIDPool Assign: TruncatedMessage (1 cap); InvalidCapability(1) (not an unassigned
///   VSpace); FailedLookup(InvalidRoot) (pool not installed); InvalidCapability(0)
///   (another pool holds its ASIDs); DeleteFirst (pool full).
/// - Any other label for the cap, or a cap of another type: IllegalOperation.
pub fn decode_vspace_invocation(
    phys: &impl PhysMemory,
    slots: &impl SlotMemory,
    asids: &impl AsidTable,
    invoked: &CapRef,
    label: u64,
    mrs: &[u64],
    extra_caps: &[CapRef],
) -> Result<VSpaceInvocation, SyscallError> {
    let label = InvocationLabel::from_label(label).ok_or_else(SyscallError::illegal_operation)?;
    match invoked.cap {
        Cap::PageTable { .. } => {
            decode_page_table(phys, slots, asids, invoked, label, mrs, extra_caps)
        }
        Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            mapping,
        } => decode_frame_invocation(
            phys,
            asids,
            FrameCap {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            },
            invoked.slot,
            label as u64,
            mrs,
            extra_caps.first().map(|extra| extra.cap.encode()),
        ),
        Cap::VSpace { .. } => decode_vspace_root(phys, asids, &invoked.cap, label, mrs),
        Cap::AsidControl => decode_asid_control(slots, asids, label, mrs, extra_caps),
        Cap::AsidPool { .. } => decode_asid_pool(asids, &invoked.cap, label, extra_caps),
        _ => Err(SyscallError::illegal_operation()),
    }
}

/// The VSpace root and ASID of a VSpace cap given as an argument (`None`: the cap is not
/// a VSpace cap), checked against the ASID table as every mapping operation does.
/// `cap_index` is the cap's number in InvalidCapability errors.
fn checked_vspace(
    asids: &impl AsidTable,
    vspace_cap: Option<VSpaceCap>,
    cap_index: u64,
) -> Result<(u64, u16), SyscallError> {
    let Some(VSpaceCap {
        ptr,
        asid: Some(asid),
    }) = vspace_cap
    else {
        return Err(SyscallError::invalid_capability(cap_index));
    };
    let found = find_vspace_for_asid(asids, asid).ok_or_else(|| {
        SyscallError::failed_lookup(LookupRole::Destination, LookupFault::InvalidRoot)
    })?;
    if found != ptr {
        return Err(SyscallError::invalid_capability(cap_index));
    }
    Ok((ptr, asid))
}

/// The fields of a VSpace cap, in [`raw_cap`]'s form.
fn vspace_fields(cap: &Cap) -> Option<VSpaceCap> {
    match *cap {
        Cap::VSpace { ptr, asid } => Some(VSpaceCap { ptr, asid }),
        _ => None,
    }
}

fn decode_page_table(
    phys: &impl PhysMemory,
    slots: &impl SlotMemory,
    asids: &impl AsidTable,
    invoked: &CapRef,
    label: InvocationLabel,
    mrs: &[u64],
    extra_caps: &[CapRef],
) -> Result<VSpaceInvocation, SyscallError> {
    let Cap::PageTable { ptr, mapping } = invoked.cap else {
        return Err(SyscallError::illegal_operation());
    };
    match label {
        InvocationLabel::ARMPageTableUnmap => {
            if !is_final_capability(slots, invoked.slot) {
                return Err(SyscallError::revoke_first());
            }
            let link = mapping.and_then(|Mapping { asid, vaddr }| {
                let vspace = find_vspace_for_asid(asids, asid)?;
                let slot = find_page_table_slot(phys, vspace, vaddr, ptr)?;
                Some(MappedEntry {
                    entry: slot.entry,
                    asid,
                    vaddr,
                })
            });
            Ok(VSpaceInvocation::PageTableUnmap {
                cap_slot: invoked.slot,
                cap: Cap::PageTable { ptr, mapping: None },
                table: ptr,
                link,
                clear_table: mapping.is_some(),
            })
        }
        InvocationLabel::ARMPageTableMap => {
            let (Some(&[vaddr, _attributes]), Some(vspace_arg)) =
                (mrs.get(..2), extra_caps.first())
            else {
                return Err(SyscallError::truncated_message());
            };
            if mapping.is_some() {
                return Err(SyscallError::invalid_capability(0));
            }
            if !matches!(vspace_arg.cap, Cap::VSpace { asid: Some(_), .. }) {
                return Err(SyscallError::invalid_capability(1));
            }
            if vaddr > sel4::USER_TOP {
                return Err(SyscallError::invalid_argument(0));
            }
            let (vspace, asid) = checked_vspace(asids, vspace_fields(&vspace_arg.cap), 1)?;
            let slot = lookup_pt_slot(phys, vspace, vaddr);
            if slot.bits_left() == sel4::PAGE_BITS || slot.read(phys).is_valid() {
                return Err(SyscallError::delete_first());
            }
            let mapped_at = vaddr & !mask(slot.bits_left());
            Ok(VSpaceInvocation::PageTableMap {
                cap_slot: invoked.slot,
                cap: Cap::PageTable {
                    ptr,
                    mapping: Some(Mapping {
                        asid,
                        vaddr: mapped_at,
                    }),
                },
                entry: slot.entry,
                pte: Pte::table(ptr),
            })
        }
        _ => Err(SyscallError::illegal_operation()),
    }
}

/// Decodes an invocation of the frame cap `frame` (in `cap_slot`), read with
/// [`raw_cap::frame`], without a decoded [`Cap`]: the kernel's frame invocations come
/// here directly. `vspace_arg` holds the words of the first extra cap, if there is one.
///
/// # Errors
/// As [`decode_vspace_invocation`] for a frame cap.
pub fn decode_frame_invocation(
    phys: &impl PhysMemory,
    asids: &impl AsidTable,
    frame: FrameCap,
    cap_slot: SlotAddr,
    label: u64,
    mrs: &[u64],
    vspace_arg: Option<[u64; 2]>,
) -> Result<VSpaceInvocation, SyscallError> {
    let label = InvocationLabel::from_label(label).ok_or_else(SyscallError::illegal_operation)?;
    let FrameCap {
        paddr,
        size,
        rights,
        is_device,
        mapping,
    } = frame;
    let unmapped = Cap::Frame {
        paddr,
        size,
        rights,
        is_device,
        mapping: None,
    };
    match label {
        InvocationLabel::ARMPageMap => {
            let (Some(&[vaddr, rights_word, attributes]), Some(vspace_arg)) =
                (mrs.get(..3), vspace_arg)
            else {
                return Err(SyscallError::truncated_message());
            };
            let vm_rights = rights.masked(CapRights(rights_word));
            let (vspace, asid) = checked_vspace(asids, raw_cap::vspace(vspace_arg), 1)?;
            if !is_aligned(vaddr, size.bits()) {
                return Err(SyscallError::alignment_error());
            }
            match mapping {
                Some(existing) if existing.asid != asid => {
                    return Err(SyscallError::invalid_capability(1))
                }
                Some(existing) if existing.vaddr != vaddr => {
                    return Err(SyscallError::invalid_argument(0))
                }
                Some(_) => {}
                None => {
                    let last_byte = vaddr.checked_add(mask(size.bits()));
                    if last_byte.is_none_or(|last| last > sel4::USER_TOP) {
                        return Err(SyscallError::invalid_argument(0));
                    }
                }
            }
            let slot = lookup_pt_slot(phys, vspace, vaddr);
            if slot.bits_left() != size.bits() {
                return Err(SyscallError::failed_lookup(
                    LookupRole::Destination,
                    LookupFault::MissingCapability {
                        bits_left: slot.bits_left().into(),
                    },
                ));
            }
            Ok(VSpaceInvocation::PageMap {
                cap_slot,
                cap: Cap::Frame {
                    paddr,
                    size,
                    rights,
                    is_device,
                    mapping: Some(Mapping { asid, vaddr }),
                },
                entry: slot.entry,
                pte: make_user_page_pte(paddr, size, vm_rights, VmAttributes(attributes)),
                asid,
                vaddr,
                replaces_valid: slot.read(phys).is_valid(),
            })
        }
        InvocationLabel::ARMPageUnmap => {
            let mapped = mapping.and_then(|Mapping { asid, vaddr }| {
                let vspace = find_vspace_for_asid(asids, asid)?;
                let slot = find_page_slot(phys, vspace, vaddr, size, paddr)?;
                Some(MappedEntry {
                    entry: slot.entry,
                    asid,
                    vaddr,
                })
            });
            Ok(VSpaceInvocation::PageUnmap {
                cap_slot,
                cap: unmapped,
                mapping: mapped,
            })
        }
        InvocationLabel::ARMPageCleanData
        | InvocationLabel::ARMPageInvalidateData
        | InvocationLabel::ARMPageCleanInvalidateData
        | InvocationLabel::ARMPageUnifyInstruction => {
            decode_page_flush(phys, asids, label, mrs, paddr, size, mapping)
        }
        InvocationLabel::ARMPageGetAddress => Ok(VSpaceInvocation::PageGetAddress { paddr }),
        _ => Err(SyscallError::illegal_operation()),
    }
}

fn decode_page_flush(
    phys: &impl PhysMemory,
    asids: &impl AsidTable,
    label: InvocationLabel,
    mrs: &[u64],
    paddr: u64,
    size: FrameSize,
    mapping: Option<Mapping>,
) -> Result<VSpaceInvocation, SyscallError> {
    let Some(&[start_offset, end_offset]) = mrs.get(..2) else {
        return Err(SyscallError::truncated_message());
    };
    let Some(Mapping { asid, vaddr }) = mapping else {
        return Err(SyscallError::illegal_operation());
    };
    let vspace = find_vspace_for_asid(asids, asid).ok_or_else(|| {
        SyscallError::failed_lookup(LookupRole::Destination, LookupFault::InvalidRoot)
    })?;
    if end_offset <= start_offset {
        return Err(SyscallError::invalid_argument(1));
    }
    let frame_bytes = shift_left(1, size.bits());
    if start_offset >= frame_bytes || end_offset > frame_bytes {
        return Err(SyscallError::invalid_argument(0));
    }
    // The cap's mapping may be stale (another frame mapped over it): seL4 checks the
    // entry still maps this frame, since the flush goes through the user's tables.
    let stale = SyscallError::invalid_capability(0);
    let slot = find_page_slot(phys, vspace, vaddr, size, paddr).ok_or(stale)?;
    let leaf = slot.read(phys).leaf(slot.level).ok_or(stale)?;
    let operation = cache_operation(label);
    if operation == CacheOperation::InvalidateData && leaf.access.vm_rights() != VmRights::ReadWrite
    {
        return Err(SyscallError::illegal_operation());
    }
    // Offsets are below the frame size and the mapping lies below USER_TOP.
    let (Some(start), Some(end), Some(physical_start)) = (
        vaddr.checked_add(start_offset),
        vaddr.checked_add(end_offset),
        paddr.checked_add(start_offset),
    ) else {
        return Err(stale);
    };
    Ok(VSpaceInvocation::CacheMaintenance {
        operation,
        vspace,
        asid,
        start,
        end,
        paddr: physical_start,
    })
}

fn decode_vspace_root(
    phys: &impl PhysMemory,
    asids: &impl AsidTable,
    cap: &Cap,
    label: InvocationLabel,
    mrs: &[u64],
) -> Result<VSpaceInvocation, SyscallError> {
    if !matches!(
        label,
        InvocationLabel::ARMVSpaceCleanData
            | InvocationLabel::ARMVSpaceInvalidateData
            | InvocationLabel::ARMVSpaceCleanInvalidateData
            | InvocationLabel::ARMVSpaceUnifyInstruction
    ) {
        return Err(SyscallError::illegal_operation());
    }
    let Some(&[start, end]) = mrs.get(..2) else {
        return Err(SyscallError::truncated_message());
    };
    if end <= start {
        return Err(SyscallError::invalid_argument(1));
    }
    if end > sel4::USER_TOP {
        return Err(SyscallError::illegal_operation());
    }
    let (vspace, asid) = checked_vspace(asids, vspace_fields(cap), 0)?;
    let slot = lookup_pt_slot(phys, vspace, start);
    let Some(leaf) = slot.read(phys).leaf(slot.level) else {
        // Nothing mapped at start: nothing cached to maintain, and seL4 reports success.
        return Ok(VSpaceInvocation::NoOp);
    };
    let page_mask = mask(slot.bits_left());
    let page_base = start & !page_mask;
    // end > start, so end - 1 does not underflow.
    if (end - 1) & !page_mask != page_base {
        return Err(SyscallError::range_error(start, page_base | page_mask));
    }
    let operation = cache_operation(label);
    if operation == CacheOperation::InvalidateData && leaf.access.vm_rights() != VmRights::ReadWrite
    {
        return Err(SyscallError::illegal_operation());
    }
    Ok(VSpaceInvocation::CacheMaintenance {
        operation,
        vspace,
        asid,
        start,
        end,
        paddr: leaf.address | (start & page_mask),
    })
}

fn cache_operation(label: InvocationLabel) -> CacheOperation {
    match label {
        InvocationLabel::ARMPageCleanData | InvocationLabel::ARMVSpaceCleanData => {
            CacheOperation::CleanData
        }
        InvocationLabel::ARMPageInvalidateData | InvocationLabel::ARMVSpaceInvalidateData => {
            CacheOperation::InvalidateData
        }
        InvocationLabel::ARMPageCleanInvalidateData
        | InvocationLabel::ARMVSpaceCleanInvalidateData => CacheOperation::CleanInvalidateData,
        _ => CacheOperation::UnifyInstruction,
    }
}

fn decode_asid_control(
    slots: &impl SlotMemory,
    asids: &impl AsidTable,
    label: InvocationLabel,
    mrs: &[u64],
    extra_caps: &[CapRef],
) -> Result<VSpaceInvocation, SyscallError> {
    if label != InvocationLabel::ARMASIDControlMakePool {
        return Err(SyscallError::illegal_operation());
    }
    let (Some(&[index, depth]), Some(&[untyped_arg, root_arg])) =
        (mrs.get(..2), extra_caps.get(..2))
    else {
        return Err(SyscallError::truncated_message());
    };
    let pool_index = (0..ASID_POOL_COUNT)
        .find(|&pool_index| asids.pool(pool_index).is_none())
        .ok_or_else(SyscallError::delete_first)?;
    let Cap::Untyped {
        paddr,
        size_bits,
        is_device: false,
        ..
    } = untyped_arg.cap
    else {
        return Err(SyscallError::invalid_capability(1));
    };
    if u32::from(size_bits) != sel4::ASID_POOL_BITS {
        return Err(SyscallError::invalid_capability(1));
    }
    ensure_no_children(slots, untyped_arg.slot)?;
    let destination =
        lookup_slot_for_cnode_op(slots, &root_arg.cap, index, depth, LookupRole::Destination)?;
    ensure_empty_slot(slots, destination)?;
    // pool_index < 2^7, so the base fits the 16-bit ASID.
    let asid_base = (pool_index << sel4::ASID_POOL_INDEX_BITS) as u16;
    Ok(VSpaceInvocation::MakePool {
        untyped_slot: untyped_arg.slot,
        untyped: Cap::Untyped {
            paddr,
            size_bits,
            is_device: false,
            free_index: shift_left(1, sel4::ASID_POOL_BITS),
        },
        pool: paddr,
        asid_base,
        destination,
        cap: Cap::AsidPool {
            ptr: paddr,
            asid_base,
        },
    })
}

fn decode_asid_pool(
    asids: &impl AsidTable,
    cap: &Cap,
    label: InvocationLabel,
    extra_caps: &[CapRef],
) -> Result<VSpaceInvocation, SyscallError> {
    let Cap::AsidPool { ptr, asid_base } = *cap else {
        return Err(SyscallError::illegal_operation());
    };
    if label != InvocationLabel::ARMASIDPoolAssign {
        return Err(SyscallError::illegal_operation());
    }
    let Some(vspace_arg) = extra_caps.first() else {
        return Err(SyscallError::truncated_message());
    };
    let Cap::VSpace {
        ptr: vspace,
        asid: None,
    } = vspace_arg.cap
    else {
        return Err(SyscallError::invalid_capability(1));
    };
    let base = u64::from(asid_base);
    let pool = asids
        .pool(base >> sel4::ASID_POOL_INDEX_BITS)
        .ok_or_else(|| {
            SyscallError::failed_lookup(LookupRole::Destination, LookupFault::InvalidRoot)
        })?;
    if pool != ptr {
        return Err(SyscallError::invalid_capability(0));
    }
    let asid = (0..ASID_POOL_ENTRIES)
        .filter(|&index| base + index != 0)
        .find(|&index| asids.pool_entry(pool, index).is_none())
        .and_then(|index| u16::try_from(base + index).ok())
        .ok_or_else(SyscallError::delete_first)?;
    Ok(VSpaceInvocation::AssignAsid {
        vspace_slot: vspace_arg.slot,
        cap: Cap::VSpace {
            ptr: vspace,
            asid: Some(asid),
        },
        pool,
        asid,
        vspace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdt::insert_new_object;
    use crate::cdt::test_memory::MapMemory;
    use crate::page_table::test_memory::MapPhysMemory;
    use crate::page_table::{Level, PtSlot};
    use crate::slot::{MdbNode, Slot};
    use std::collections::HashMap;

    const VSPACE: u64 = 0x4010_0000;
    const OTHER_VSPACE: u64 = 0x4011_0000;
    const L1_TABLE: u64 = 0x4010_1000;
    const L2_TABLE: u64 = 0x4010_2000;
    const L3_TABLE: u64 = 0x4010_3000;
    const NEW_TABLE: u64 = 0x4010_4000;
    const POOL: u64 = 0x4020_0000;
    const FRAME: u64 = 0x4030_0000;
    const LARGE_FRAME: u64 = 0x4060_0000;
    const ROOT_CNODE: u64 = 0x4100_0000;
    const ASID: u16 = 1;
    const VADDR: u64 = 0x0040_0000;

    #[derive(Default)]
    struct FakeAsids {
        pools: HashMap<u64, u64>,
        entries: HashMap<(u64, u64), u64>,
    }

    impl AsidTable for FakeAsids {
        fn pool(&self, pool_index: u64) -> Option<u64> {
            self.pools.get(&pool_index).copied()
        }
        fn pool_entry(&self, pool: u64, index: u64) -> Option<u64> {
            self.entries.get(&(pool, index)).copied()
        }
    }

    struct World {
        phys: MapPhysMemory,
        slots: MapMemory,
        asids: FakeAsids,
    }

    fn slot(index: u64) -> SlotAddr {
        SlotAddr::new(ROOT_CNODE + index * 32).expect("slot")
    }

    fn root() -> Cap {
        Cap::CNode {
            ptr: ROOT_CNODE,
            radix: 8,
            guard_size: 56,
            guard: 0,
        }
    }

    fn vspace_cap() -> Cap {
        Cap::VSpace {
            ptr: VSPACE,
            asid: Some(ASID),
        }
    }

    fn frame(size: FrameSize, mapping: Option<Mapping>) -> Cap {
        Cap::Frame {
            paddr: if size == FrameSize::Small {
                FRAME
            } else {
                LARGE_FRAME
            },
            size,
            rights: VmRights::ReadWrite,
            is_device: false,
            mapping,
        }
    }

    fn page_table(mapping: Option<Mapping>) -> Cap {
        Cap::PageTable {
            ptr: NEW_TABLE,
            mapping,
        }
    }

    fn original(cap: &Cap) -> Slot {
        Slot::new(
            cap,
            MdbNode::EMPTY.with_revocable(true).with_first_badged(true),
        )
    }

    /// ASID pool 0 at POOL with ASID 1 -> VSPACE; VSPACE has tables down to level 3 for
    /// VADDR. Slot 1 holds the VSpace cap.
    fn world() -> World {
        let mut world = World {
            phys: MapPhysMemory::default(),
            slots: MapMemory::default(),
            asids: FakeAsids::default(),
        };
        world.asids.pools.insert(0, POOL);
        world.asids.entries.insert((POOL, 1), VSPACE);
        for (table, level, next) in [
            (VSPACE, Level::Zero, L1_TABLE),
            (L1_TABLE, Level::One, L2_TABLE),
            (L2_TABLE, Level::Two, L3_TABLE),
        ] {
            let entry = PtSlot::in_table(table, level, VADDR).entry;
            world.phys.write_u64(entry, Pte::table(next).0);
        }
        world.slots.write(slot(1), original(&vspace_cap()));
        world
    }

    fn vspace_ref() -> CapRef {
        CapRef {
            cap: vspace_cap(),
            slot: slot(1),
        }
    }

    fn decode(
        world: &World,
        cap: Cap,
        label: InvocationLabel,
        mrs: &[u64],
        extra_caps: &[CapRef],
    ) -> Result<VSpaceInvocation, SyscallError> {
        decode_vspace_invocation(
            &world.phys,
            &world.slots,
            &world.asids,
            &CapRef { cap, slot: slot(5) },
            label as u64,
            mrs,
            extra_caps,
        )
    }

    fn invalid_root() -> SyscallError {
        SyscallError::failed_lookup(LookupRole::Destination, LookupFault::InvalidRoot)
    }

    /// Performs the PTE half of an invocation on the fake memory.
    fn apply(world: &mut World, invocation: &VSpaceInvocation) {
        match *invocation {
            VSpaceInvocation::PageTableMap { entry, pte, .. }
            | VSpaceInvocation::PageMap { entry, pte, .. } => world.phys.write_u64(entry, pte.0),
            VSpaceInvocation::PageUnmap {
                mapping: Some(mapped),
                ..
            }
            | VSpaceInvocation::PageTableUnmap {
                link: Some(mapped), ..
            } => world.phys.write_u64(mapped.entry, 0),
            _ => {}
        }
    }

    #[test]
    fn asid_lookup() {
        let world = world();
        assert_eq!(find_vspace_for_asid(&world.asids, 1), Some(VSPACE));
        assert_eq!(find_vspace_for_asid(&world.asids, 2), None);
        assert_eq!(find_vspace_for_asid(&world.asids, 512), None);
        assert_eq!(ASID_POOL_COUNT, 128);
        assert_eq!(ASID_POOL_ENTRIES, 512);
    }

    #[test]
    fn page_table_map_at_each_level() {
        let mut world = world();
        // An address with no level-1 table: the new table goes in the level-0 entry.
        let far = 0x0000_4000_0000_0000u64 + 0x1234;
        let invocation = decode(
            &world,
            page_table(None),
            InvocationLabel::ARMPageTableMap,
            &[far, 0],
            &[vspace_ref()],
        )
        .expect("map");
        assert_eq!(
            invocation,
            VSpaceInvocation::PageTableMap {
                cap_slot: slot(5),
                cap: page_table(Some(Mapping {
                    asid: ASID,
                    vaddr: 0x0000_4000_0000_0000
                })),
                entry: PtSlot::in_table(VSPACE, Level::Zero, far).entry,
                pte: Pte::table(NEW_TABLE),
            }
        );
        apply(&mut world, &invocation);
        assert_eq!(
            lookup_pt_slot(&world.phys, VSPACE, far),
            PtSlot::in_table(NEW_TABLE, Level::One, far)
        );
        // Next to the existing tables, a new level-3 table's place is a level-2 entry.
        let beside = VADDR + (1 << 21);
        let Ok(VSpaceInvocation::PageTableMap { entry, cap, .. }) = decode(
            &world,
            page_table(None),
            InvocationLabel::ARMPageTableMap,
            &[beside, 0],
            &[vspace_ref()],
        ) else {
            panic!("map beside");
        };
        assert_eq!(entry, PtSlot::in_table(L2_TABLE, Level::Two, beside).entry);
        assert_eq!(
            cap,
            page_table(Some(Mapping {
                asid: ASID,
                vaddr: beside
            }))
        );
    }

    #[test]
    fn page_table_map_errors_in_order() {
        let mut world = world();
        let map = |world: &World, cap: Cap, mrs: &[u64], caps: &[CapRef]| {
            decode(world, cap, InvocationLabel::ARMPageTableMap, mrs, caps)
        };
        let unmapped = page_table(None);
        assert_eq!(
            map(&world, unmapped, &[VADDR], &[vspace_ref()]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            map(&world, unmapped, &[VADDR, 0], &[]),
            Err(SyscallError::truncated_message())
        );
        let mapped = page_table(Some(Mapping {
            asid: ASID,
            vaddr: 0,
        }));
        assert_eq!(
            map(&world, mapped, &[VADDR, 0], &[vspace_ref()]),
            Err(SyscallError::invalid_capability(0))
        );
        let unassigned = CapRef {
            cap: Cap::VSpace {
                ptr: VSPACE,
                asid: None,
            },
            slot: slot(1),
        };
        assert_eq!(
            map(&world, unmapped, &[VADDR, 0], &[unassigned]),
            Err(SyscallError::invalid_capability(1))
        );
        let not_vspace = CapRef {
            cap: unmapped,
            slot: slot(1),
        };
        assert_eq!(
            map(&world, unmapped, &[VADDR, 0], &[not_vspace]),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(
            map(&world, unmapped, &[sel4::USER_TOP + 1, 0], &[vspace_ref()]),
            Err(SyscallError::invalid_argument(0))
        );
        let stale_asid = CapRef {
            cap: Cap::VSpace {
                ptr: VSPACE,
                asid: Some(7),
            },
            slot: slot(1),
        };
        assert_eq!(
            map(&world, unmapped, &[VADDR, 0], &[stale_asid]),
            Err(invalid_root())
        );
        let wrong_root = CapRef {
            cap: Cap::VSpace {
                ptr: OTHER_VSPACE,
                asid: Some(ASID),
            },
            slot: slot(1),
        };
        assert_eq!(
            map(&world, unmapped, &[VADDR, 0], &[wrong_root]),
            Err(SyscallError::invalid_capability(1))
        );
        // All four levels present: nowhere left for a table.
        assert_eq!(
            map(&world, unmapped, &[VADDR, 0], &[vspace_ref()]),
            Err(SyscallError::delete_first())
        );
        // A 2 MiB block where the table would go.
        let beside = VADDR + (1 << 21);
        let block_entry = PtSlot::in_table(L2_TABLE, Level::Two, beside).entry;
        world.phys.write_u64(block_entry, 0x4060_0000 | 0x701);
        assert_eq!(
            map(&world, unmapped, &[beside, 0], &[vspace_ref()]),
            Err(SyscallError::delete_first())
        );
        assert_eq!(
            decode(
                &world,
                unmapped,
                InvocationLabel::ARMPageMap,
                &[VADDR, 0, 0],
                &[vspace_ref()]
            ),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode_vspace_invocation(
                &world.phys,
                &world.slots,
                &world.asids,
                &CapRef {
                    cap: unmapped,
                    slot: slot(5)
                },
                0,
                &[],
                &[]
            ),
            Err(SyscallError::illegal_operation())
        );
    }

    #[test]
    fn page_table_unmap() {
        let mut world = world();
        let cap = Cap::PageTable {
            ptr: L3_TABLE,
            mapping: Some(Mapping {
                asid: ASID,
                vaddr: VADDR,
            }),
        };
        world.slots.write(slot(5), original(&cap));
        let invocation =
            decode(&world, cap, InvocationLabel::ARMPageTableUnmap, &[], &[]).expect("unmap");
        let link_entry = PtSlot::in_table(L2_TABLE, Level::Two, VADDR).entry;
        assert_eq!(
            invocation,
            VSpaceInvocation::PageTableUnmap {
                cap_slot: slot(5),
                cap: Cap::PageTable {
                    ptr: L3_TABLE,
                    mapping: None
                },
                table: L3_TABLE,
                link: Some(MappedEntry {
                    entry: link_entry,
                    asid: ASID,
                    vaddr: VADDR
                }),
                clear_table: true,
            }
        );
        apply(&mut world, &invocation);
        assert_eq!(lookup_pt_slot(&world.phys, VSPACE, VADDR).level, Level::Two);
        // Unlinked already (or its ASID gone): still cleared, no entry to write.
        let Ok(VSpaceInvocation::PageTableUnmap {
            link, clear_table, ..
        }) = decode(&world, cap, InvocationLabel::ARMPageTableUnmap, &[], &[])
        else {
            panic!("unmap again");
        };
        assert_eq!((link, clear_table), (None, true));
        // An unmapped table: nothing to clear.
        let unmapped = page_table(None);
        world.slots.write(slot(5), original(&unmapped));
        assert!(matches!(
            decode(
                &world,
                unmapped,
                InvocationLabel::ARMPageTableUnmap,
                &[],
                &[]
            ),
            Ok(VSpaceInvocation::PageTableUnmap {
                link: None,
                clear_table: false,
                ..
            })
        ));
        // A copy elsewhere: not final.
        world.slots.write(slot(5), original(&cap));
        crate::cdt::insert_child(&mut world.slots, slot(5), slot(6), &cap);
        assert_eq!(
            decode(&world, cap, InvocationLabel::ARMPageTableUnmap, &[], &[]),
            Err(SyscallError::revoke_first())
        );
    }

    #[test]
    fn page_map_writes_the_leaf() {
        let mut world = world();
        let attributes = VmAttributes::default_attributes().0 | VmAttributes::EXECUTE_NEVER;
        let invocation = decode(
            &world,
            frame(FrameSize::Small, None),
            InvocationLabel::ARMPageMap,
            &[VADDR, CapRights::read_only().0, attributes],
            &[vspace_ref()],
        )
        .expect("map");
        let entry = PtSlot::in_table(L3_TABLE, Level::Three, VADDR).entry;
        assert_eq!(
            invocation,
            VSpaceInvocation::PageMap {
                cap_slot: slot(5),
                cap: frame(
                    FrameSize::Small,
                    Some(Mapping {
                        asid: ASID,
                        vaddr: VADDR
                    })
                ),
                entry,
                pte: make_user_page_pte(
                    FRAME,
                    FrameSize::Small,
                    VmRights::ReadOnly,
                    VmAttributes(attributes)
                ),
                asid: ASID,
                vaddr: VADDR,
                replaces_valid: false,
            }
        );
        apply(&mut world, &invocation);
        // Remapping at the same place (new rights) replaces the valid entry.
        let mapped = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: ASID,
                vaddr: VADDR,
            }),
        );
        let Ok(VSpaceInvocation::PageMap {
            pte,
            replaces_valid,
            ..
        }) = decode(
            &world,
            mapped,
            InvocationLabel::ARMPageMap,
            &[VADDR, CapRights::all().0, 0],
            &[vspace_ref()],
        )
        else {
            panic!("remap");
        };
        assert!(replaces_valid);
        let leaf = pte.leaf(Level::Three).expect("page");
        assert_eq!(leaf.access.vm_rights(), VmRights::ReadWrite);
        assert_eq!(leaf.attr_index, crate::page_table::MAIR_DEVICE_NGNRNE);
        // A read-only cap cannot map writable.
        let read_only = Cap::Frame {
            paddr: FRAME,
            size: FrameSize::Small,
            rights: VmRights::ReadOnly,
            is_device: false,
            mapping: None,
        };
        let Ok(VSpaceInvocation::PageMap { pte, .. }) = decode(
            &world,
            read_only,
            InvocationLabel::ARMPageMap,
            &[VADDR + 0x1000, CapRights::all().0, 1],
            &[vspace_ref()],
        ) else {
            panic!("map read-only");
        };
        assert_eq!(
            pte.leaf(Level::Three).map(|leaf| leaf.access.vm_rights()),
            Some(VmRights::ReadOnly)
        );
    }

    #[test]
    fn large_page_map_and_missing_tables() {
        let world = world();
        let large_vaddr = VADDR + (1 << 21);
        let invocation = decode(
            &world,
            frame(FrameSize::Large, None),
            InvocationLabel::ARMPageMap,
            &[large_vaddr, CapRights::all().0, 1],
            &[vspace_ref()],
        )
        .expect("large map");
        assert!(matches!(
            invocation,
            VSpaceInvocation::PageMap { entry, .. }
                if entry == PtSlot::in_table(L2_TABLE, Level::Two, large_vaddr).entry
        ));
        // A large page where a level-3 table already is: the walk goes one level too deep.
        assert_eq!(
            decode(
                &world,
                frame(FrameSize::Large, None),
                InvocationLabel::ARMPageMap,
                &[VADDR, CapRights::all().0, 1],
                &[vspace_ref()],
            ),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::MissingCapability { bits_left: 12 }
            ))
        );
        // A small page with no level-1 table: 39 bits left.
        assert_eq!(
            decode(
                &world,
                frame(FrameSize::Small, None),
                InvocationLabel::ARMPageMap,
                &[0x0000_4000_0000_0000, CapRights::all().0, 1],
                &[vspace_ref()],
            ),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::MissingCapability { bits_left: 39 }
            ))
        );
    }

    #[test]
    fn page_map_errors_in_order() {
        let world = world();
        let all = CapRights::all().0;
        let map = |cap: Cap, mrs: &[u64], caps: &[CapRef]| {
            decode(&world, cap, InvocationLabel::ARMPageMap, mrs, caps)
        };
        let small = frame(FrameSize::Small, None);
        assert_eq!(
            map(small, &[VADDR, all], &[vspace_ref()]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            map(small, &[VADDR, all, 0], &[]),
            Err(SyscallError::truncated_message())
        );
        let unassigned = CapRef {
            cap: Cap::VSpace {
                ptr: VSPACE,
                asid: None,
            },
            slot: slot(1),
        };
        assert_eq!(
            map(small, &[VADDR, all, 0], &[unassigned]),
            Err(SyscallError::invalid_capability(1))
        );
        let stale_asid = CapRef {
            cap: Cap::VSpace {
                ptr: VSPACE,
                asid: Some(2),
            },
            slot: slot(1),
        };
        assert_eq!(
            map(small, &[VADDR, all, 0], &[stale_asid]),
            Err(invalid_root())
        );
        let wrong_root = CapRef {
            cap: Cap::VSpace {
                ptr: OTHER_VSPACE,
                asid: Some(ASID),
            },
            slot: slot(1),
        };
        assert_eq!(
            map(small, &[VADDR, all, 0], &[wrong_root]),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(
            map(small, &[VADDR + 0x800, all, 0], &[vspace_ref()]),
            Err(SyscallError::alignment_error())
        );
        assert_eq!(
            map(
                frame(FrameSize::Large, None),
                &[VADDR + 0x1000, all, 0],
                &[vspace_ref()]
            ),
            Err(SyscallError::alignment_error())
        );
        let mapped_elsewhere = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: 9,
                vaddr: VADDR,
            }),
        );
        assert_eq!(
            map(mapped_elsewhere, &[VADDR, all, 0], &[vspace_ref()]),
            Err(SyscallError::invalid_capability(1))
        );
        let mapped_other_vaddr = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: ASID,
                vaddr: VADDR + 0x1000,
            }),
        );
        assert_eq!(
            map(mapped_other_vaddr, &[VADDR, all, 0], &[vspace_ref()]),
            Err(SyscallError::invalid_argument(0))
        );
        // The last page below USER_TOP fits; one reaching past it does not.
        let last_page = sel4::USER_TOP & !0xfff;
        assert!(!matches!(
            map(small, &[last_page, all, 0], &[vspace_ref()]),
            Err(SyscallError {
                error: sel4::Error::InvalidArgument,
                ..
            })
        ));
        assert_eq!(
            map(small, &[last_page + 0x1000, all, 0], &[vspace_ref()]),
            Err(SyscallError::invalid_argument(0))
        );
        assert_eq!(
            map(small, &[!0xfff, all, 0], &[vspace_ref()]),
            Err(SyscallError::invalid_argument(0))
        );
        assert_eq!(
            decode(
                &world,
                small,
                InvocationLabel::ARMPageTableMap,
                &[VADDR, 0],
                &[vspace_ref()]
            ),
            Err(SyscallError::illegal_operation())
        );
    }

    #[test]
    fn page_unmap_and_get_address() {
        let mut world = world();
        let map = decode(
            &world,
            frame(FrameSize::Small, None),
            InvocationLabel::ARMPageMap,
            &[VADDR, CapRights::all().0, 1],
            &[vspace_ref()],
        )
        .expect("map");
        apply(&mut world, &map);
        let mapped = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: ASID,
                vaddr: VADDR,
            }),
        );
        let unmap = decode(&world, mapped, InvocationLabel::ARMPageUnmap, &[], &[]).expect("unmap");
        assert_eq!(
            unmap,
            VSpaceInvocation::PageUnmap {
                cap_slot: slot(5),
                cap: frame(FrameSize::Small, None),
                mapping: Some(MappedEntry {
                    entry: PtSlot::in_table(L3_TABLE, Level::Three, VADDR).entry,
                    asid: ASID,
                    vaddr: VADDR
                }),
            }
        );
        apply(&mut world, &unmap);
        // Once the entry is gone (or never was), unmap only clears the cap.
        assert_eq!(
            decode(&world, mapped, InvocationLabel::ARMPageUnmap, &[], &[]),
            Ok(VSpaceInvocation::PageUnmap {
                cap_slot: slot(5),
                cap: frame(FrameSize::Small, None),
                mapping: None
            })
        );
        assert_eq!(
            decode(
                &world,
                frame(FrameSize::Large, None),
                InvocationLabel::ARMPageGetAddress,
                &[],
                &[]
            ),
            Ok(VSpaceInvocation::PageGetAddress { paddr: LARGE_FRAME })
        );
    }

    #[test]
    fn page_flush_checks() {
        let mut world = world();
        let map = decode(
            &world,
            frame(FrameSize::Small, None),
            InvocationLabel::ARMPageMap,
            &[VADDR, CapRights::read_only().0, 1],
            &[vspace_ref()],
        )
        .expect("map");
        apply(&mut world, &map);
        let mapped = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: ASID,
                vaddr: VADDR,
            }),
        );
        let flush = |world: &World, cap: Cap, label: InvocationLabel, mrs: &[u64]| {
            decode(world, cap, label, mrs, &[])
        };
        assert_eq!(
            flush(
                &world,
                mapped,
                InvocationLabel::ARMPageCleanData,
                &[0x10, 0x80]
            ),
            Ok(VSpaceInvocation::CacheMaintenance {
                operation: CacheOperation::CleanData,
                vspace: VSPACE,
                asid: ASID,
                start: VADDR + 0x10,
                end: VADDR + 0x80,
                paddr: FRAME + 0x10
            })
        );
        assert!(matches!(
            flush(
                &world,
                mapped,
                InvocationLabel::ARMPageUnifyInstruction,
                &[0, 0x1000]
            ),
            Ok(VSpaceInvocation::CacheMaintenance {
                operation: CacheOperation::UnifyInstruction,
                ..
            })
        ));
        assert_eq!(
            flush(&world, mapped, InvocationLabel::ARMPageCleanData, &[0]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            flush(
                &world,
                frame(FrameSize::Small, None),
                InvocationLabel::ARMPageCleanData,
                &[0, 8]
            ),
            Err(SyscallError::illegal_operation())
        );
        let lost_asid = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: 3,
                vaddr: VADDR,
            }),
        );
        assert_eq!(
            flush(
                &world,
                lost_asid,
                InvocationLabel::ARMPageCleanData,
                &[0, 8]
            ),
            Err(invalid_root())
        );
        assert_eq!(
            flush(&world, mapped, InvocationLabel::ARMPageCleanData, &[8, 8]),
            Err(SyscallError::invalid_argument(1))
        );
        assert_eq!(
            flush(
                &world,
                mapped,
                InvocationLabel::ARMPageCleanData,
                &[0, 0x1001]
            ),
            Err(SyscallError::invalid_argument(0))
        );
        assert_eq!(
            flush(
                &world,
                mapped,
                InvocationLabel::ARMPageCleanData,
                &[0x1000, 0x1008]
            ),
            Err(SyscallError::invalid_argument(0))
        );
        // The mapping is read-only, so Invalidate (which could discard writes) is refused.
        assert_eq!(
            flush(
                &world,
                mapped,
                InvocationLabel::ARMPageInvalidateData,
                &[0, 8]
            ),
            Err(SyscallError::illegal_operation())
        );
        assert!(flush(
            &world,
            mapped,
            InvocationLabel::ARMPageCleanInvalidateData,
            &[0, 8]
        )
        .is_ok());
        // Stale: the cap claims VADDR + 0x1000, where nothing is mapped.
        let stale = frame(
            FrameSize::Small,
            Some(Mapping {
                asid: ASID,
                vaddr: VADDR + 0x1000,
            }),
        );
        assert_eq!(
            flush(&world, stale, InvocationLabel::ARMPageCleanData, &[0, 8]),
            Err(SyscallError::invalid_capability(0))
        );
        // Writable mapping: Invalidate is allowed.
        let remap = decode(
            &world,
            mapped,
            InvocationLabel::ARMPageMap,
            &[VADDR, CapRights::all().0, 1],
            &[vspace_ref()],
        )
        .expect("remap");
        apply(&mut world, &remap);
        assert!(matches!(
            flush(
                &world,
                mapped,
                InvocationLabel::ARMPageInvalidateData,
                &[0, 8]
            ),
            Ok(VSpaceInvocation::CacheMaintenance {
                operation: CacheOperation::InvalidateData,
                ..
            })
        ));
    }

    #[test]
    fn vspace_flush_checks() {
        let mut world = world();
        let map = decode(
            &world,
            frame(FrameSize::Small, None),
            InvocationLabel::ARMPageMap,
            &[VADDR, CapRights::read_only().0, 1],
            &[vspace_ref()],
        )
        .expect("map");
        apply(&mut world, &map);
        let flush = |world: &World, cap: Cap, label: InvocationLabel, mrs: &[u64]| {
            decode(world, cap, label, mrs, &[])
        };
        let clean = InvocationLabel::ARMVSpaceCleanData;
        assert_eq!(
            flush(&world, vspace_cap(), clean, &[VADDR + 0x40, VADDR + 0x1000]),
            Ok(VSpaceInvocation::CacheMaintenance {
                operation: CacheOperation::CleanData,
                vspace: VSPACE,
                asid: ASID,
                start: VADDR + 0x40,
                end: VADDR + 0x1000,
                paddr: FRAME + 0x40
            })
        );
        // Nothing mapped at start: success, nothing to do.
        assert_eq!(
            flush(
                &world,
                vspace_cap(),
                clean,
                &[VADDR + 0x2000, VADDR + 0x2008]
            ),
            Ok(VSpaceInvocation::NoOp)
        );
        assert_eq!(
            flush(&world, vspace_cap(), clean, &[VADDR]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            flush(&world, vspace_cap(), clean, &[VADDR, VADDR]),
            Err(SyscallError::invalid_argument(1))
        );
        assert_eq!(
            flush(&world, vspace_cap(), clean, &[VADDR, sel4::USER_TOP + 1]),
            Err(SyscallError::illegal_operation())
        );
        let unassigned = Cap::VSpace {
            ptr: VSPACE,
            asid: None,
        };
        assert_eq!(
            flush(&world, unassigned, clean, &[VADDR, VADDR + 8]),
            Err(SyscallError::invalid_capability(0))
        );
        let stale_asid = Cap::VSpace {
            ptr: VSPACE,
            asid: Some(4),
        };
        assert_eq!(
            flush(&world, stale_asid, clean, &[VADDR, VADDR + 8]),
            Err(invalid_root())
        );
        let wrong_root = Cap::VSpace {
            ptr: OTHER_VSPACE,
            asid: Some(ASID),
        };
        assert_eq!(
            flush(&world, wrong_root, clean, &[VADDR, VADDR + 8]),
            Err(SyscallError::invalid_capability(0))
        );
        assert_eq!(
            flush(&world, vspace_cap(), clean, &[VADDR + 0x10, VADDR + 0x1001]),
            Err(SyscallError::range_error(VADDR + 0x10, VADDR + 0xfff))
        );
        assert_eq!(
            flush(
                &world,
                vspace_cap(),
                InvocationLabel::ARMVSpaceInvalidateData,
                &[VADDR, VADDR + 8]
            ),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            flush(&world, vspace_cap(), InvocationLabel::ARMPageMap, &[0, 8]),
            Err(SyscallError::illegal_operation())
        );
    }

    fn untyped(size_bits: u8, is_device: bool) -> Cap {
        Cap::Untyped {
            paddr: POOL + 0x1000,
            size_bits,
            is_device,
            free_index: 0,
        }
    }

    fn make_pool(
        world: &World,
        untyped_cap: Cap,
        mrs: &[u64],
    ) -> Result<VSpaceInvocation, SyscallError> {
        let caps = [
            CapRef {
                cap: untyped_cap,
                slot: slot(2),
            },
            CapRef {
                cap: root(),
                slot: slot(3),
            },
        ];
        decode(
            world,
            Cap::AsidControl,
            InvocationLabel::ARMASIDControlMakePool,
            mrs,
            &caps,
        )
    }

    #[test]
    fn make_pool_takes_the_first_free_pool() {
        let mut world = world();
        world.slots.write(slot(2), original(&untyped(12, false)));
        world.asids.pools.insert(1, 0x4021_0000);
        assert_eq!(
            make_pool(&world, untyped(12, false), &[10, 64]),
            Ok(VSpaceInvocation::MakePool {
                untyped_slot: slot(2),
                untyped: Cap::Untyped {
                    paddr: POOL + 0x1000,
                    size_bits: 12,
                    is_device: false,
                    free_index: 4096
                },
                pool: POOL + 0x1000,
                asid_base: 2 << 9,
                destination: slot(10),
                cap: Cap::AsidPool {
                    ptr: POOL + 0x1000,
                    asid_base: 1024
                },
            })
        );
    }

    #[test]
    fn make_pool_errors_in_order() {
        let mut world = world();
        world.slots.write(slot(2), original(&untyped(12, false)));
        let control = |world: &World, label: InvocationLabel, caps: &[CapRef]| {
            decode(world, Cap::AsidControl, label, &[10, 64], caps)
        };
        let both = [
            CapRef {
                cap: untyped(12, false),
                slot: slot(2),
            },
            CapRef {
                cap: root(),
                slot: slot(3),
            },
        ];
        assert_eq!(
            control(&world, InvocationLabel::ARMASIDPoolAssign, &both),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            control(&world, InvocationLabel::ARMASIDControlMakePool, &both[..1]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            make_pool(&world, untyped(12, false), &[10]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            make_pool(&world, untyped(13, false), &[10, 64]),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(
            make_pool(&world, untyped(12, true), &[10, 64]),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(
            make_pool(&world, vspace_cap(), &[10, 64]),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(
            make_pool(&world, untyped(12, false), &[10, 0]),
            Err(SyscallError::range_error(1, 64))
        );
        assert_eq!(
            make_pool(&world, untyped(12, false), &[1 << 60, 64]),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::GuardMismatch {
                    bits_left: 64,
                    guard_found: 0,
                    bits_found: 56
                }
            ))
        );
        assert_eq!(
            make_pool(&world, untyped(12, false), &[1, 64]),
            Err(SyscallError::delete_first())
        );
        insert_new_object(
            &mut world.slots,
            slot(2),
            slot(20),
            &Cap::Endpoint {
                ptr: POOL + 0x1000,
                badge: 0,
                can_send: true,
                can_receive: true,
                can_grant: true,
                can_grant_reply: true,
            },
        );
        assert_eq!(
            make_pool(&world, untyped(12, false), &[10, 64]),
            Err(SyscallError::revoke_first())
        );
        // Every pool in use is reported before anything about the untyped.
        for index in 0..ASID_POOL_COUNT {
            world.asids.pools.insert(index, POOL);
        }
        assert_eq!(
            make_pool(&world, untyped(13, true), &[10, 64]),
            Err(SyscallError::delete_first())
        );
    }

    fn pool_cap(asid_base: u16) -> Cap {
        Cap::AsidPool {
            ptr: POOL,
            asid_base,
        }
    }

    fn assign(world: &World, pool: Cap, vspace: Cap) -> Result<VSpaceInvocation, SyscallError> {
        decode(
            world,
            pool,
            InvocationLabel::ARMASIDPoolAssign,
            &[],
            &[CapRef {
                cap: vspace,
                slot: slot(7),
            }],
        )
    }

    #[test]
    fn assign_skips_asid_zero_and_used_entries() {
        let mut world = world();
        let fresh = Cap::VSpace {
            ptr: OTHER_VSPACE,
            asid: None,
        };
        // ASID 0 is never handed out and ASID 1 is taken.
        assert_eq!(
            assign(&world, pool_cap(0), fresh),
            Ok(VSpaceInvocation::AssignAsid {
                vspace_slot: slot(7),
                cap: Cap::VSpace {
                    ptr: OTHER_VSPACE,
                    asid: Some(2)
                },
                pool: POOL,
                asid: 2,
                vspace: OTHER_VSPACE,
            })
        );
        // In a pool whose base is not 0, entry 0 is usable.
        world.asids.pools.insert(127, POOL);
        assert!(matches!(
            assign(&world, pool_cap(127 << 9), fresh),
            Ok(VSpaceInvocation::AssignAsid { asid: 65024, .. })
        ));
        // The very last ASID.
        for index in 0..511 {
            world.asids.entries.insert((POOL, index), VSPACE);
        }
        assert!(matches!(
            assign(&world, pool_cap(127 << 9), fresh),
            Ok(VSpaceInvocation::AssignAsid { asid: u16::MAX, .. })
        ));
    }

    #[test]
    fn assign_errors_in_order() {
        let mut world = world();
        let fresh = Cap::VSpace {
            ptr: OTHER_VSPACE,
            asid: None,
        };
        assert_eq!(
            decode(
                &world,
                pool_cap(0),
                InvocationLabel::ARMASIDControlMakePool,
                &[],
                &[]
            ),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode(
                &world,
                pool_cap(0),
                InvocationLabel::ARMASIDPoolAssign,
                &[],
                &[]
            ),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            assign(&world, pool_cap(0), vspace_cap()),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(
            assign(&world, pool_cap(0), frame(FrameSize::Small, None)),
            Err(SyscallError::invalid_capability(1))
        );
        assert_eq!(assign(&world, pool_cap(5 << 9), fresh), Err(invalid_root()));
        let other_pool = Cap::AsidPool {
            ptr: 0x4021_0000,
            asid_base: 0,
        };
        assert_eq!(
            assign(&world, other_pool, fresh),
            Err(SyscallError::invalid_capability(0))
        );
        for index in 1..ASID_POOL_ENTRIES {
            world.asids.entries.insert((POOL, index), VSPACE);
        }
        assert_eq!(
            assign(&world, pool_cap(0), fresh),
            Err(SyscallError::delete_first())
        );
    }

    #[test]
    fn other_caps_are_not_vspace_objects() {
        let world = world();
        assert_eq!(
            decode(
                &world,
                Cap::Thread { ptr: 0x4000_0800 },
                InvocationLabel::ARMPageMap,
                &[],
                &[]
            ),
            Err(SyscallError::illegal_operation())
        );
    }
}
