//! Address-space invocations on aarch64 (frames, page tables, VSpaces, ASID control and
//! ASID pools): kernel-core's `decode_vspace_invocation` checks them against the live
//! tables and ASID pools; this file performs what it decoded.

use crate::arch::mmu;
use crate::object::asid::{self, AsidTables};
use crate::object::cspace::{set_cap_words, slot_memory};
use crate::object::untyped::zero;
use crate::object::vspace::{clear_entry, write_entry, Stale, TableMemory};
use kernel_core::cdt::{insert_child, update_cap};
use kernel_core::decode::{decode_frame_invocation, decode_vspace_invocation, VSpaceInvocation};
use kernel_core::raw_cap::{self, FrameCap};
use kernel_core::{Cap, CapRef, SlotAddr, SyscallError};

/// Decodes and performs an invocation of the frame, page table, VSpace, ASIDControl or
/// ASIDPool cap `invoked`. Returns the number of reply words written to `reply` (1 for
/// GetAddress, else 0).
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order.
pub fn invoke(
    invoked: &CapRef,
    label: u64,
    words: &[u64],
    extra_caps: &[CapRef],
    reply: &mut [u64],
) -> Result<usize, SyscallError> {
    match decode_vspace_invocation(
        &TableMemory,
        &slot_memory(),
        &AsidTables,
        invoked,
        label,
        words,
        extra_caps,
    ) {
        Ok(ref invocation) => Ok(perform(invocation, reply)),
        Err(error) => Err(error),
    }
}

/// Decodes and performs an invocation of the frame cap `frame` in `slot`; `vspace_arg`
/// is the words of the first extra cap, if any. Returns the number of reply words.
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order.
pub fn invoke_frame(
    frame: FrameCap,
    slot: SlotAddr,
    label: u64,
    words: &[u64],
    vspace_arg: Option<[u64; 2]>,
    reply: &mut [u64],
) -> Result<usize, SyscallError> {
    // Matched in place: moving the invocation (a cap and more) out costs memcpy calls.
    match decode_frame_invocation(
        &TableMemory,
        &AsidTables,
        frame,
        slot,
        label,
        words,
        vspace_arg,
    ) {
        Ok(ref invocation) => Ok(perform(invocation, reply)),
        Err(error) => Err(error),
    }
}

fn perform(invocation: &VSpaceInvocation, reply: &mut [u64]) -> usize {
    match *invocation {
        VSpaceInvocation::PageTableMap {
            cap_slot,
            ref cap,
            entry,
            pte,
        } => {
            update_cap(&mut slot_memory(), cap_slot, cap);
            // The entry was invalid, so no TLB entry can be stale.
            write_entry(entry, pte);
        }
        VSpaceInvocation::PageTableUnmap {
            cap_slot,
            ref cap,
            table,
            link,
            clear_table,
        } => {
            if let Some(link) = link {
                clear_entry(link, Stale::AddressSpace);
            }
            if clear_table {
                zero(table, 1 << sel4::PAGE_TABLE_BITS);
            }
            update_cap(&mut slot_memory(), cap_slot, cap);
        }
        VSpaceInvocation::PageMap {
            cap_slot,
            ref cap,
            entry,
            pte,
            asid,
            vaddr,
            replaces_valid,
        } => {
            store_frame_cap(cap_slot, cap);
            write_entry(entry, pte);
            if replaces_valid {
                mmu::invalidate_tlb_page(asid, vaddr);
            }
        }
        VSpaceInvocation::PageUnmap {
            cap_slot,
            ref cap,
            mapping,
        } => {
            if let Some(mapping) = mapping {
                clear_entry(mapping, Stale::Page);
            }
            store_frame_cap(cap_slot, cap);
        }
        VSpaceInvocation::CacheMaintenance {
            operation,
            start,
            end,
            paddr,
            ..
        } => {
            // The range lies in one frame, whose first byte is at `paddr`; maintenance
            // by physical address through the window reaches the lines the user's
            // mapping uses.
            mmu::cache_maintenance(operation, paddr, end.saturating_sub(start));
        }
        VSpaceInvocation::PageGetAddress { paddr } => {
            if let Some(word) = reply.first_mut() {
                *word = paddr;
                return 1;
            }
        }
        VSpaceInvocation::NoOp => {}
        VSpaceInvocation::MakePool {
            untyped_slot,
            ref untyped,
            pool,
            asid_base,
            destination,
            ref cap,
        } => {
            update_cap(&mut slot_memory(), untyped_slot, untyped);
            zero(pool, 1 << sel4::ASID_POOL_BITS);
            insert_child(&mut slot_memory(), untyped_slot, destination, cap);
            asid::install_pool(asid_base, pool);
        }
        VSpaceInvocation::AssignAsid {
            vspace_slot,
            ref cap,
            pool,
            asid,
            vspace,
        } => {
            asid::assign(pool, asid, vspace);
            update_cap(&mut slot_memory(), vspace_slot, cap);
        }
    }
    0
}

/// Stores the updated frame cap of a PageMap or PageUnmap in `slot`, keeping its links:
/// its two words only, built without the general encoder.
fn store_frame_cap(slot: SlotAddr, cap: &Cap) {
    match *cap {
        Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            mapping,
        } => set_cap_words(
            slot,
            raw_cap::frame_words(FrameCap {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            }),
        ),
        _ => update_cap(&mut slot_memory(), slot, cap),
    }
}
