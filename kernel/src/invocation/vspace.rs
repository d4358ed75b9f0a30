//! Address-space invocations on aarch64 (seL4's `decodeARMMMUInvocation`): frames,
//! page tables, VSpaces, ASID control and ASID pools. Each `decode_*` checks everything
//! in seL4's order and changes nothing; `perform` cannot fail.

use crate::arch::mmu::{
    self, descriptor_address, descriptor_is_leaf, leaf_access, table_descriptor,
    user_leaf_descriptor, CacheOperation, Cacheability, Execute, UserAccess,
};
use crate::object::asid;
use crate::object::cspace::slot_memory;
use crate::object::untyped::zero;
use crate::object::vspace::{self, leaf_level, lookup_pt_slot, user_access, EntrySlot};
use kernel_core::cdt::{ensure_empty_slot, ensure_no_children, insert_child, update_cap};
use kernel_core::cspace::lookup_slot_for_cnode_op;
use kernel_core::{
    Cap, FrameSize, LookupFault, LookupRole, Mapping, SlotAddr, SyscallError, VmRights,
};
use sel4::{CapRights, InvocationLabel, VmAttributes, USER_TOP};

/// A decoded address-space invocation.
#[derive(Clone, Copy, Debug)]
enum Invocation {
    /// PageMap: write `descriptor` into `entry` and record the mapping in the cap.
    MapFrame {
        slot: SlotAddr,
        cap: Cap,
        entry: EntrySlot,
        descriptor: u64,
        asid: u16,
        vaddr: u64,
    },
    UnmapFrame {
        slot: SlotAddr,
        cap: Cap,
    },
    MapTable {
        slot: SlotAddr,
        cap: Cap,
        entry: EntrySlot,
        table: u64,
    },
    UnmapTable {
        slot: SlotAddr,
        cap: Cap,
    },
    /// A cache operation on physical memory (nothing when `length` is 0).
    Flush {
        operation: CacheOperation,
        phys: u64,
        length: u64,
    },
    /// GetAddress: reply with the frame's physical address.
    Address {
        paddr: u64,
    },
    MakePool {
        untyped_slot: SlotAddr,
        untyped: Cap,
        destination: SlotAddr,
        asid_base: u16,
    },
    AssignAsid {
        pool: u64,
        asid: u16,
        vspace_slot: SlotAddr,
        vspace: u64,
    },
}

/// Decodes and performs an invocation of the frame, page table, VSpace, ASIDControl or
/// ASIDPool cap `cap` in `slot`. Returns the number of reply words written to `reply`
/// (1 for GetAddress, else 0).
///
/// # Errors
/// The seL4 error the invocation gets (see each decoder).
pub fn invoke(
    cap: &Cap,
    slot: SlotAddr,
    label: u64,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
    reply: &mut [u64],
) -> Result<usize, SyscallError> {
    let label = InvocationLabel::from_label(label);
    let invocation = match *cap {
        Cap::Frame { .. } => decode_frame(cap, slot, label, words, extra_caps)?,
        Cap::PageTable { .. } => decode_page_table(cap, slot, label, words, extra_caps)?,
        Cap::VSpace { .. } => decode_vspace(cap, label, words)?,
        Cap::AsidControl => decode_asid_control(label, words, extra_caps)?,
        Cap::AsidPool { .. } => decode_asid_pool(cap, label, extra_caps)?,
        _ => return Err(SyscallError::invalid_capability(0)),
    };
    Ok(perform(invocation, reply))
}

fn perform(invocation: Invocation, reply: &mut [u64]) -> usize {
    match invocation {
        Invocation::MapFrame {
            slot,
            cap,
            entry,
            descriptor,
            asid,
            vaddr,
        } => {
            let was_valid = mmu::descriptor_is_valid(entry.read());
            update_cap(&mut slot_memory(), slot, &cap);
            entry.write(descriptor);
            if was_valid {
                mmu::invalidate_tlb_page(asid, vaddr);
            }
        }
        Invocation::UnmapFrame { slot, cap } => {
            if let Cap::Frame {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            } = cap
            {
                if let Some(mapping) = mapping {
                    vspace::unmap_page(size, mapping.asid, mapping.vaddr, paddr);
                }
                let unmapped = Cap::Frame {
                    paddr,
                    size,
                    rights,
                    is_device,
                    mapping: None,
                };
                update_cap(&mut slot_memory(), slot, &unmapped);
            }
        }
        Invocation::MapTable {
            slot,
            cap,
            entry,
            table,
        } => {
            update_cap(&mut slot_memory(), slot, &cap);
            entry.write(table_descriptor(table));
        }
        Invocation::UnmapTable { slot, cap } => {
            if let Cap::PageTable { ptr, mapping } = cap {
                if let Some(mapping) = mapping {
                    vspace::unmap_page_table(mapping.asid, mapping.vaddr, ptr);
                    zero(ptr, 1 << sel4::PAGE_TABLE_BITS);
                }
                let unmapped = Cap::PageTable { ptr, mapping: None };
                update_cap(&mut slot_memory(), slot, &unmapped);
            }
        }
        Invocation::Flush {
            operation,
            phys,
            length,
        } => {
            if length > 0 {
                mmu::cache_maintenance(operation, phys, length);
            }
        }
        Invocation::Address { paddr } => {
            if let Some(word) = reply.first_mut() {
                *word = paddr;
                return 1;
            }
        }
        Invocation::MakePool {
            untyped_slot,
            untyped,
            destination,
            asid_base,
        } => {
            if let Cap::Untyped {
                paddr,
                size_bits,
                is_device,
                ..
            } = untyped
            {
                let full = Cap::Untyped {
                    paddr,
                    size_bits,
                    is_device,
                    free_index: 1 << size_bits,
                };
                update_cap(&mut slot_memory(), untyped_slot, &full);
                zero(paddr, 1 << sel4::ASID_POOL_BITS);
                let pool = Cap::AsidPool {
                    ptr: paddr,
                    asid_base,
                };
                insert_child(&mut slot_memory(), untyped_slot, destination, &pool);
                asid::install_pool(asid_base, paddr);
            }
        }
        Invocation::AssignAsid {
            pool,
            asid,
            vspace_slot,
            vspace,
        } => {
            asid::assign(pool, asid, vspace);
            let mapped = Cap::VSpace {
                ptr: vspace,
                asid: Some(asid),
            };
            update_cap(&mut slot_memory(), vspace_slot, &mapped);
        }
    }
    0
}

/// The VSpace a valid native root cap names and its ASID, checked against the ASID
/// table (seL4's `isValidNativeRoot` + `findVSpaceForASID`). `cap_index` is the
/// position reported by InvalidCapability.
fn checked_vspace(vspace_cap: &Cap, cap_index: u64) -> Result<(u64, u16), SyscallError> {
    let Cap::VSpace {
        ptr,
        asid: Some(asid),
    } = *vspace_cap
    else {
        return Err(SyscallError::invalid_capability(cap_index));
    };
    let found = find_vspace(asid)?;
    if found != ptr {
        return Err(SyscallError::invalid_capability(cap_index));
    }
    Ok((ptr, asid))
}

/// `findVSpaceForASID` as an invocation error.
fn find_vspace(asid: u16) -> Result<u64, SyscallError> {
    asid::find_vspace(asid).ok_or(SyscallError::failed_lookup(
        LookupRole::Destination,
        LookupFault::InvalidRoot,
    ))
}

fn decode_frame(
    cap: &Cap,
    slot: SlotAddr,
    label: Option<InvocationLabel>,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<Invocation, SyscallError> {
    let Cap::Frame {
        paddr,
        size,
        rights,
        is_device,
        mapping,
    } = *cap
    else {
        return Err(SyscallError::invalid_capability(0));
    };
    match label {
        Some(InvocationLabel::ARMPageMap) => {
            let (Some(&[vaddr, rights_mask, attributes]), Some(&(vspace_cap, _))) =
                (words.get(..3), extra_caps.first())
            else {
                return Err(SyscallError::truncated_message());
            };
            let attributes = VmAttributes(attributes);
            let map_rights = rights.masked(CapRights(rights_mask));
            let (vspace, asid) = checked_vspace(&vspace_cap, 1)?;
            if vaddr & ((1 << size.bits()) - 1) != 0 {
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
                    let last = vaddr.checked_add((1 << size.bits()) - 1);
                    if last.is_none_or(|last| last > USER_TOP) {
                        return Err(SyscallError::invalid_argument(0));
                    }
                }
            }
            let entry = lookup_pt_slot(vspace, vaddr);
            if entry.bits_left() != size.bits() {
                return Err(SyscallError::failed_lookup(
                    LookupRole::Destination,
                    LookupFault::MissingCapability {
                        bits_left: entry.bits_left().into(),
                    },
                ));
            }
            let descriptor = frame_descriptor(paddr, size, map_rights, attributes);
            let mapped = Cap::Frame {
                paddr,
                size,
                rights,
                is_device,
                mapping: Some(Mapping { asid, vaddr }),
            };
            Ok(Invocation::MapFrame {
                slot,
                cap: mapped,
                entry,
                descriptor,
                asid,
                vaddr,
            })
        }
        Some(InvocationLabel::ARMPageUnmap) => Ok(Invocation::UnmapFrame { slot, cap: *cap }),
        Some(
            label @ (InvocationLabel::ARMPageCleanData
            | InvocationLabel::ARMPageInvalidateData
            | InvocationLabel::ARMPageCleanInvalidateData
            | InvocationLabel::ARMPageUnifyInstruction),
        ) => {
            let Some(&[start, end]) = words.get(..2) else {
                return Err(SyscallError::truncated_message());
            };
            let Some(mapping) = mapping else {
                return Err(SyscallError::illegal_operation());
            };
            let vspace = find_vspace(mapping.asid)?;
            let (start, end) = page_flush_range(start, end, size)?;
            let entry = lookup_pt_slot(vspace, mapping.vaddr);
            let descriptor = entry.read();
            if entry.bits_left() != size.bits()
                || !descriptor_is_leaf(descriptor, entry.level)
                || descriptor_address(descriptor) != paddr
            {
                return Err(SyscallError::invalid_capability(0));
            }
            let operation = cache_operation(label);
            if operation == CacheOperation::Invalidate
                && leaf_access(descriptor) != UserAccess::ReadWrite
            {
                return Err(SyscallError::illegal_operation());
            }
            Ok(Invocation::Flush {
                operation,
                phys: paddr + start,
                length: end - start,
            })
        }
        Some(InvocationLabel::ARMPageGetAddress) => Ok(Invocation::Address { paddr }),
        _ => Err(SyscallError::illegal_operation()),
    }
}

/// The leaf descriptor seL4's `makeUserPagePTE` builds.
fn frame_descriptor(
    paddr: u64,
    size: FrameSize,
    rights: VmRights,
    attributes: VmAttributes,
) -> u64 {
    let execute = if attributes.execute_never() {
        Execute::Never
    } else {
        Execute::Allowed
    };
    let cacheability = if attributes.cacheable() {
        Cacheability::Cacheable
    } else {
        Cacheability::Uncached
    };
    user_leaf_descriptor(
        paddr,
        leaf_level(size),
        user_access(rights),
        execute,
        cacheability,
    )
}

/// A page flush's `[start, end)` offsets inside a frame of `size`, checked as seL4
/// checks them.
///
/// # Errors
/// InvalidArgument(1) for an empty or reversed range, InvalidArgument(0) for one that
/// leaves the frame.
fn page_flush_range(start: u64, end: u64, size: FrameSize) -> Result<(u64, u64), SyscallError> {
    if end <= start {
        return Err(SyscallError::invalid_argument(1));
    }
    let page_size = 1u64 << size.bits();
    if start >= page_size || end > page_size {
        return Err(SyscallError::invalid_argument(0));
    }
    Ok((start, end))
}

fn cache_operation(label: InvocationLabel) -> CacheOperation {
    match label {
        InvocationLabel::ARMPageCleanData | InvocationLabel::ARMVSpaceCleanData => {
            CacheOperation::Clean
        }
        InvocationLabel::ARMPageInvalidateData | InvocationLabel::ARMVSpaceInvalidateData => {
            CacheOperation::Invalidate
        }
        InvocationLabel::ARMPageCleanInvalidateData
        | InvocationLabel::ARMVSpaceCleanInvalidateData => CacheOperation::CleanInvalidate,
        _ => CacheOperation::Unify,
    }
}

fn decode_page_table(
    cap: &Cap,
    slot: SlotAddr,
    label: Option<InvocationLabel>,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<Invocation, SyscallError> {
    let Cap::PageTable { ptr, mapping } = *cap else {
        return Err(SyscallError::invalid_capability(0));
    };
    match label {
        Some(InvocationLabel::ARMPageTableUnmap) => {
            if !kernel_core::cdt::is_final_capability(&slot_memory(), slot) {
                return Err(SyscallError::revoke_first());
            }
            Ok(Invocation::UnmapTable { slot, cap: *cap })
        }
        Some(InvocationLabel::ARMPageTableMap) => {
            let (Some(&[vaddr, _attributes]), Some(&(vspace_cap, _))) =
                (words.get(..2), extra_caps.first())
            else {
                return Err(SyscallError::truncated_message());
            };
            if mapping.is_some() {
                return Err(SyscallError::invalid_capability(0));
            }
            let Cap::VSpace {
                ptr: vspace_ptr,
                asid: Some(asid),
            } = vspace_cap
            else {
                return Err(SyscallError::invalid_capability(1));
            };
            if vaddr > USER_TOP {
                return Err(SyscallError::invalid_argument(0));
            }
            if find_vspace(asid)? != vspace_ptr {
                return Err(SyscallError::invalid_capability(1));
            }
            let entry = lookup_pt_slot(vspace_ptr, vaddr);
            if entry.bits_left() == sel4::PAGE_BITS || vspace::entry_in_use(&entry) {
                return Err(SyscallError::delete_first());
            }
            let base = vaddr & !((1u64 << entry.bits_left()) - 1);
            let mapped = Cap::PageTable {
                ptr,
                mapping: Some(Mapping { asid, vaddr: base }),
            };
            Ok(Invocation::MapTable {
                slot,
                cap: mapped,
                entry,
                table: ptr,
            })
        }
        _ => Err(SyscallError::illegal_operation()),
    }
}

fn decode_vspace(
    cap: &Cap,
    label: Option<InvocationLabel>,
    words: &[u64],
) -> Result<Invocation, SyscallError> {
    let label = match label {
        Some(
            label @ (InvocationLabel::ARMVSpaceCleanData
            | InvocationLabel::ARMVSpaceInvalidateData
            | InvocationLabel::ARMVSpaceCleanInvalidateData
            | InvocationLabel::ARMVSpaceUnifyInstruction),
        ) => label,
        _ => return Err(SyscallError::illegal_operation()),
    };
    let Some(&[start, end]) = words.get(..2) else {
        return Err(SyscallError::truncated_message());
    };
    if end <= start {
        return Err(SyscallError::invalid_argument(1));
    }
    if end > USER_TOP {
        return Err(SyscallError::illegal_operation());
    }
    let (vspace, _) = checked_vspace(cap, 0)?;
    let entry = lookup_pt_slot(vspace, start);
    let descriptor = entry.read();
    if !descriptor_is_leaf(descriptor, entry.level) {
        // Nothing mapped, so nothing cached for this address space: succeed silently.
        return Ok(Invocation::Flush {
            operation: CacheOperation::Clean,
            phys: 0,
            length: 0,
        });
    }
    let page_mask = (1u64 << entry.bits_left()) - 1;
    let page_base = start & !page_mask;
    if page_base != (end - 1) & !page_mask {
        return Err(SyscallError::range_error(start, page_base + page_mask));
    }
    let operation = cache_operation(label);
    if operation == CacheOperation::Invalidate && leaf_access(descriptor) != UserAccess::ReadWrite {
        return Err(SyscallError::illegal_operation());
    }
    Ok(Invocation::Flush {
        operation,
        phys: descriptor_address(descriptor) + (start & page_mask),
        length: end - start,
    })
}

fn decode_asid_control(
    label: Option<InvocationLabel>,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<Invocation, SyscallError> {
    if label != Some(InvocationLabel::ARMASIDControlMakePool) {
        return Err(SyscallError::illegal_operation());
    }
    let (Some(&[index, depth]), Some(&[(untyped, untyped_slot), (root, _)])) =
        (words.get(..2), extra_caps.get(..2))
    else {
        return Err(SyscallError::truncated_message());
    };
    let Some(asid_base) = asid::first_free_pool_base() else {
        return Err(SyscallError::delete_first());
    };
    if !matches!(
        untyped,
        Cap::Untyped {
            size_bits,
            is_device: false,
            ..
        } if u32::from(size_bits) == sel4::ASID_POOL_BITS
    ) {
        return Err(SyscallError::invalid_capability(1));
    }
    let memory = slot_memory();
    ensure_no_children(&memory, untyped_slot)?;
    let destination =
        lookup_slot_for_cnode_op(&memory, &root, index, depth, LookupRole::Destination)?;
    ensure_empty_slot(&memory, destination)?;
    Ok(Invocation::MakePool {
        untyped_slot,
        untyped,
        destination,
        asid_base,
    })
}

fn decode_asid_pool(
    cap: &Cap,
    label: Option<InvocationLabel>,
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<Invocation, SyscallError> {
    let Cap::AsidPool { ptr, asid_base } = *cap else {
        return Err(SyscallError::invalid_capability(0));
    };
    if label != Some(InvocationLabel::ARMASIDPoolAssign) {
        return Err(SyscallError::illegal_operation());
    }
    let Some(&(vspace_cap, vspace_slot)) = extra_caps.first() else {
        return Err(SyscallError::truncated_message());
    };
    let Cap::VSpace {
        ptr: vspace,
        asid: None,
    } = vspace_cap
    else {
        return Err(SyscallError::invalid_capability(1));
    };
    let pool = asid::pool_for(asid_base);
    if pool == 0 {
        return Err(SyscallError::failed_lookup(
            LookupRole::Destination,
            LookupFault::InvalidRoot,
        ));
    }
    if pool != ptr {
        return Err(SyscallError::invalid_capability(0));
    }
    let Some(asid) = asid::first_free_asid(pool, asid_base) else {
        return Err(SyscallError::delete_first());
    };
    Ok(Invocation::AssignAsid {
        pool,
        asid,
        vspace_slot,
        vspace,
    })
}
