//! User address spaces: the four-level tables under a VSpace object, written through the
//! kernel window.

use super::object_pointer;
use crate::arch::mmu::{
    table_address, table_descriptor, table_index, user_page_descriptor, Execute, Table, UserAccess,
};
use kernel_core::VmRights;

/// Why a table operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingError {
    /// A table on the way down is missing.
    MissingTable { level: u32 },
    /// The target entry is already in use.
    AlreadyMapped,
}

/// Installs `table` (a zeroed page-table object) as the level-`level` table (1..=3)
/// covering `vaddr` in the address space rooted at `vspace`.
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

/// Maps the 4 KiB frame at `frame` at `vaddr` with `rights` in the address space rooted at `vspace`.
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
    let access = match rights {
        VmRights::ReadWrite => UserAccess::ReadWrite,
        VmRights::ReadOnly => UserAccess::ReadOnly,
        VmRights::KernelOnly => UserAccess::KernelOnly,
    };
    let leaf_table = walk(vspace, vaddr, 3)?;
    set_entry(
        leaf_table,
        table_index(vaddr, 3),
        user_page_descriptor(frame, access, execute),
    )
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
