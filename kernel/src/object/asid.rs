//! ASIDs: the global table of ASID pools (seL4's `armKSASIDTable`) and the pools'
//! entries (which VSpace holds each ASID).

use super::object_pointer;
use crate::arch::mmu;
use core::cell::UnsafeCell;
use kernel_core::decode::{find_vspace_for_asid, ASID_POOL_COUNT, ASID_POOL_ENTRIES};

/// Number of ASID pools (2^7), each with 2^9 entries.
const POOL_COUNT: usize = ASID_POOL_COUNT as usize;
const POOL_ENTRIES: usize = ASID_POOL_ENTRIES as usize;

/// One ASID pool object: for each ASID in its range, the VSpace's physical address (0:
/// free). A zeroed pool is an empty pool.
#[repr(C, align(4096))]
pub struct AsidPool {
    pub vspaces: [u64; POOL_ENTRIES],
}

const _: () = assert!(core::mem::size_of::<AsidPool>() == 1 << sel4::ASID_POOL_BITS);

struct AsidTable(UnsafeCell<[u64; POOL_COUNT]>);
// SAFETY: the kernel runs on one CPU with interrupts masked.
unsafe impl Sync for AsidTable {}

/// For each pool index (ASID >> 9), the pool's physical address (0: none).
static ASID_TABLE: AsidTable = AsidTable(UnsafeCell::new([0; POOL_COUNT]));

fn table() -> &'static mut [u64; POOL_COUNT] {
    // SAFETY: single-threaded kernel; no caller keeps the reference across another call.
    unsafe { &mut *ASID_TABLE.0.get() }
}

fn pool_index(asid: u16) -> usize {
    (usize::from(asid) >> sel4::ASID_POOL_INDEX_BITS) & (POOL_COUNT - 1)
}

fn entry_index(asid: u16) -> usize {
    usize::from(asid) & (POOL_ENTRIES - 1)
}

fn pool_entries(pool: u64) -> &'static mut [u64; POOL_ENTRIES] {
    // SAFETY: callers pass the address of a live ASID pool object (from the table or an
    // ASID pool cap), in kernel memory; the reference is not kept.
    unsafe { &mut (*object_pointer::<AsidPool>(pool)).vspaces }
}

/// Records `pool` as the pool for ASIDs starting at `asid_base`.
pub fn install_pool(asid_base: u16, pool: u64) {
    table()[pool_index(asid_base)] = pool;
}

/// Assigns `asid` in `pool` to the VSpace at `vspace`.
pub fn assign(pool: u64, asid: u16, vspace: u64) {
    pool_entries(pool)[entry_index(asid)] = vspace;
}

/// seL4's `findVSpaceForASID`: the VSpace that `asid` is assigned to.
pub fn find_vspace(asid: u16) -> Option<u64> {
    find_vspace_for_asid(&AsidTables, asid)
}

/// The kernel's ASID table and pools as kernel-core's decoders and walks read them.
#[derive(Clone, Copy, Debug)]
pub struct AsidTables;

impl kernel_core::decode::AsidTable for AsidTables {
    fn pool(&self, pool_index: u64) -> Option<u64> {
        let pool = *table().get(usize::try_from(pool_index).ok()?)?;
        (pool != 0).then_some(pool)
    }

    fn pool_entry(&self, pool: u64, index: u64) -> Option<u64> {
        let vspace = *pool_entries(pool).get(usize::try_from(index).ok()?)?;
        (vspace != 0).then_some(vspace)
    }
}

/// seL4's `deleteASID`: frees `asid` if it still names `vspace`, dropping its TLB
/// entries and leaving the address space if it is the active one.
pub fn delete_asid(asid: u16, vspace: u64) {
    let pool = table()[pool_index(asid)];
    if pool == 0 || pool_entries(pool)[entry_index(asid)] != vspace {
        return;
    }
    pool_entries(pool)[entry_index(asid)] = 0;
    forget_address_space(asid, vspace);
}

/// seL4's `deleteASIDPool`: removes the pool at `pool` for `asid_base`, freeing every
/// ASID it held.
pub fn delete_pool(asid_base: u16, pool: u64) {
    let index = pool_index(asid_base);
    if table()[index] != pool {
        return;
    }
    for entry in 0..POOL_ENTRIES {
        let vspace = pool_entries(pool)[entry];
        if vspace != 0 {
            let asid = asid_base.wrapping_add(entry as u16);
            forget_address_space(asid, vspace);
        }
    }
    table()[index] = 0;
}

fn forget_address_space(asid: u16, vspace: u64) {
    if mmu::active_user_space() == Some(vspace) {
        mmu::deactivate_user_space();
    }
    mmu::invalidate_tlb_asid(asid);
}
