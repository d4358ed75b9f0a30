//! User address spaces: the four-level tables under a VSpace object, written through the
//! kernel window (seL4's `lookupPTSlot`, `unmapPage`, `unmapPageTable`).

use super::object_pointer;
use crate::arch::mmu::{
    self, descriptor_address, descriptor_is_leaf, descriptor_is_valid, table_address,
    table_descriptor, table_index, user_page_descriptor, Execute, Table, UserAccess,
};
use kernel_core::{FrameSize, VmRights};

/// Why a boot-time table operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingError {
    /// A table on the way down is missing.
    MissingTable { level: u32 },
    /// The target entry is already in use.
    AlreadyMapped,
}

/// An entry of some table: the table's physical address, the entry's index and the
/// table's level (0 = the VSpace itself, 3 = the last level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntrySlot {
    pub table: u64,
    pub index: usize,
    pub level: u32,
}

impl EntrySlot {
    /// seL4's `ptBitsLeft`: the bits of address space one entry here spans (39, 30, 21,
    /// 12).
    pub const fn bits_left(&self) -> u32 {
        mmu::level_span_bits(self.level)
    }

    /// The descriptor in this entry.
    pub fn read(&self) -> u64 {
        // SAFETY: `table` is a page-table object (or VSpace) in kernel memory and
        // `index` < 512 (from `table_index`).
        unsafe { (*object_pointer::<Table>(self.table)).0[self.index] }
    }

    /// Replaces the descriptor (the caller handles TLB maintenance).
    pub fn write(&self, descriptor: u64) {
        // SAFETY: as for `read`; the kernel runs single-threaded.
        unsafe { (*object_pointer::<Table>(self.table)).0[self.index] = descriptor };
        mmu::publish_table_writes();
    }
}

/// seL4's `lookupPTSlot`: walks from the VSpace at `vspace` through present tables
/// towards `vaddr` and returns the first entry that is not a table (or the level-3
/// entry).
pub fn lookup_pt_slot(vspace: u64, vaddr: u64) -> EntrySlot {
    let mut slot = EntrySlot {
        table: vspace,
        index: table_index(vaddr, 0),
        level: 0,
    };
    while slot.level < 3 {
        let Some(next) = table_address(slot.read()) else {
            break;
        };
        slot = EntrySlot {
            table: next,
            index: table_index(vaddr, slot.level + 1),
            level: slot.level + 1,
        };
    }
    slot
}

/// The level a frame of `size` is mapped at.
pub const fn leaf_level(size: FrameSize) -> u32 {
    match size {
        FrameSize::Small => 3,
        FrameSize::Large => 2,
        FrameSize::Huge => 1,
    }
}

/// seL4's `unmapPage`: removes the mapping of the frame at `frame` of `size` at `vaddr`
/// in the address space of `asid`, if it is still there.
pub fn unmap_page(size: FrameSize, asid: u16, vaddr: u64, frame: u64) {
    let Some(vspace) = super::asid::find_vspace(asid) else {
        return;
    };
    let slot = lookup_pt_slot(vspace, vaddr);
    if slot.bits_left() != size.bits() {
        return;
    }
    let descriptor = slot.read();
    if !descriptor_is_leaf(descriptor, slot.level) || descriptor_address(descriptor) != frame {
        return;
    }
    slot.write(0);
    mmu::invalidate_tlb_page(asid, vaddr);
}

/// seL4's `unmapPageTable`: unlinks the page table at `table` from the address space of
/// `asid` at `vaddr`, if it is linked there.
pub fn unmap_page_table(asid: u16, vaddr: u64, table: u64) {
    let Some(vspace) = super::asid::find_vspace(asid) else {
        return;
    };
    let mut slot = EntrySlot {
        table: vspace,
        index: table_index(vaddr, 0),
        level: 0,
    };
    while slot.level < 3 {
        let Some(next) = table_address(slot.read()) else {
            return;
        };
        if next == table {
            slot.write(0);
            mmu::invalidate_tlb_asid(asid);
            return;
        }
        slot = EntrySlot {
            table: next,
            index: table_index(vaddr, slot.level + 1),
            level: slot.level + 1,
        };
    }
}

/// Whether an entry holds anything (a table or a leaf).
pub fn entry_in_use(slot: &EntrySlot) -> bool {
    descriptor_is_valid(slot.read())
}

/// Installs `table` (a zeroed page-table object) as the level-`level` table (1..=3)
/// covering `vaddr` in the address space rooted at `vspace` (boot only).
///
/// # Errors
/// A higher-level table is missing or the slot is taken.
pub fn install_table(vspace: u64, level: u32, vaddr: u64, table: u64) -> Result<(), MappingError> {
    let parent = walk(vspace, vaddr, level - 1)?;
    set_entry(
        parent,
        table_index(vaddr, level - 1),
        table_descriptor(table),
    )
}

/// Maps the 4 KiB frame at `frame` at `vaddr` with `rights` in the address space rooted
/// at `vspace` (boot only).
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
    let leaf_table = walk(vspace, vaddr, 3)?;
    set_entry(
        leaf_table,
        table_index(vaddr, 3),
        user_page_descriptor(frame, user_access(rights), execute),
    )
}

/// The page access a frame's VM rights give.
pub const fn user_access(rights: VmRights) -> UserAccess {
    match rights {
        VmRights::ReadWrite => UserAccess::ReadWrite,
        VmRights::ReadOnly => UserAccess::ReadOnly,
        VmRights::KernelOnly => UserAccess::KernelOnly,
    }
}

/// The physical address of the level-`level` table covering `vaddr`.
fn walk(vspace: u64, vaddr: u64, level: u32) -> Result<u64, MappingError> {
    let mut table = vspace;
    for current in 0..level {
        // SAFETY: `table` is the VSpace object or a table installed below it, both
        // page-table objects in kernel memory.
        let entry = unsafe { (*object_pointer::<Table>(table)).0[table_index(vaddr, current)] };
        table = table_address(entry).ok_or(MappingError::MissingTable { level: current + 1 })?;
    }
    Ok(table)
}

fn set_entry(table: u64, index: usize, descriptor: u64) -> Result<(), MappingError> {
    let table = object_pointer::<Table>(table);
    // SAFETY: `table` is a page-table object in kernel memory and `index` < 512 (from
    // `table_index`); the kernel runs single-threaded.
    unsafe {
        if (*table).0[index] != 0 {
            return Err(MappingError::AlreadyMapped);
        }
        (*table).0[index] = descriptor;
    }
    Ok(())
}
