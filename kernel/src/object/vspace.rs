//! User address spaces: kernel-core's translation-table walks run over the kernel window
//! ([`TableMemory`]); this file adds what only the kernel can do with their results
//! (clearing an entry and dropping its TLB entries, seL4's `unmapPage` and
//! `unmapPageTable` for finalised caps) and the root task's boot-time mappings.

use super::asid;
use super::object_pointer;
use crate::arch::mmu;
use kernel_core::decode::MappedEntry;
use kernel_core::page_table::{
    find_page_slot, find_page_table_slot, lookup_pt_slot, make_user_page_pte, Level, Pte,
};
use kernel_core::{FrameSize, PhysMemory, VmRights};
use sel4::VmAttributes;

/// Translation tables as the kernel reaches them: through the kernel window.
///
/// # Invariants
/// kernel-core's walks only read entries of the VSpace they are given and of tables
/// linked below it, and the kernel only writes entries those walks returned. Every such
/// table is a VSpace or PageTable object: 4 KiB of RAM in the window, owned by the
/// kernel. Callers pass VSpace roots from VSpace caps or the ASID table.
#[derive(Clone, Copy, Debug)]
pub struct TableMemory;

impl PhysMemory for TableMemory {
    fn read_u64(&self, paddr: u64) -> u64 {
        // SAFETY: `paddr` is an 8-byte aligned entry of a translation table in RAM (see
        // the type's invariants); the kernel runs single-threaded.
        unsafe { object_pointer::<u64>(paddr).read() }
    }

    fn write_u64(&mut self, paddr: u64, value: u64) {
        // SAFETY: as for `read_u64`; the table walker sees the write after the caller's
        // barrier (`mmu::publish_table_writes`).
        unsafe { object_pointer::<u64>(paddr).write(value) }
    }
}

/// Which TLB entries clearing an entry makes stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    /// A leaf: the one page at the entry's virtual address.
    Page,
    /// A table link: anything under it, so the whole ASID (as seL4 does).
    AddressSpace,
}

/// Stores `pte` in the translation-table entry at `entry` and makes it visible to the
/// table walker (the caller handles TLB maintenance).
pub fn write_entry(entry: u64, pte: Pte) {
    TableMemory.write_u64(entry, pte.0);
    mmu::publish_table_writes();
}

/// Invalidates the entry `mapped` and drops the TLB entries it leaves stale.
pub fn clear_entry(mapped: MappedEntry, stale: Stale) {
    write_entry(mapped.entry, Pte::INVALID);
    match stale {
        Stale::Page => mmu::invalidate_tlb_page(mapped.asid, mapped.vaddr),
        Stale::AddressSpace => mmu::invalidate_tlb_asid(mapped.asid),
    }
}

/// seL4's `unmapPage`: removes the mapping of the frame at `frame` of `size` at `vaddr`
/// in the address space of `asid`, if it is still there.
pub fn unmap_page(size: FrameSize, asid: u16, vaddr: u64, frame: u64) {
    let Some(vspace) = asid::find_vspace(asid) else {
        return;
    };
    if let Some(slot) = find_page_slot(&TableMemory, vspace, vaddr, size, frame) {
        let entry = slot.entry;
        clear_entry(MappedEntry { entry, asid, vaddr }, Stale::Page);
    }
}

/// seL4's `unmapPageTable`: unlinks the page table at `table` from the address space of
/// `asid` at `vaddr`, if it is linked there.
pub fn unmap_page_table(asid: u16, vaddr: u64, table: u64) {
    let Some(vspace) = asid::find_vspace(asid) else {
        return;
    };
    if let Some(slot) = find_page_table_slot(&TableMemory, vspace, vaddr, table) {
        let entry = slot.entry;
        clear_entry(MappedEntry { entry, asid, vaddr }, Stale::AddressSpace);
    }
}

/// Why a boot-time table operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingError {
    /// The walk stopped at a missing table at this level.
    MissingTable { level: Level },
    /// The target entry is already in use.
    AlreadyMapped,
}

/// Whether user code may run from a boot-time mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Execute {
    Allowed,
    Never,
}

/// Links `table` (a zeroed page-table object) into the address space rooted at `vspace`
/// as its level-`level` table covering `vaddr` (boot only; tables are installed top
/// down).
///
/// # Errors
/// A higher-level table is missing, or the entry is taken.
pub fn install_table(
    vspace: u64,
    level: Level,
    vaddr: u64,
    table: u64,
) -> Result<(), MappingError> {
    let slot = lookup_pt_slot(&TableMemory, vspace, vaddr);
    if slot.level.next() != Some(level) {
        return Err(if slot.level < level {
            MappingError::MissingTable { level: slot.level }
        } else {
            MappingError::AlreadyMapped
        });
    }
    if slot.read(&TableMemory).is_valid() {
        return Err(MappingError::AlreadyMapped);
    }
    write_entry(slot.entry, Pte::table(table));
    Ok(())
}

/// Maps the 4 KiB frame at `frame` at `vaddr`, cacheable, with `rights`, in the address
/// space rooted at `vspace` (boot only).
///
/// # Errors
/// A table on the way is missing or the page is already mapped.
pub fn map_page(
    vspace: u64,
    vaddr: u64,
    frame: u64,
    rights: VmRights,
    execute: Execute,
) -> Result<(), MappingError> {
    let slot = lookup_pt_slot(&TableMemory, vspace, vaddr);
    if slot.level != Level::Three {
        return Err(MappingError::MissingTable { level: slot.level });
    }
    if slot.read(&TableMemory).is_valid() {
        return Err(MappingError::AlreadyMapped);
    }
    let attributes = match execute {
        Execute::Allowed => VmAttributes(VmAttributes::PAGE_CACHEABLE),
        Execute::Never => VmAttributes(VmAttributes::PAGE_CACHEABLE | VmAttributes::EXECUTE_NEVER),
    };
    let pte = make_user_page_pte(frame, FrameSize::Small, rights, attributes);
    write_entry(slot.entry, pte);
    Ok(())
}
