//! ASIDs: the global table of ASID pools and the pools' entries (which VSpace holds each
//! ASID).

use super::object_pointer;
use core::cell::UnsafeCell;

/// Number of ASID pools (2^7), each with 2^9 entries.
const POOL_COUNT: usize = 1 << sel4::NUM_ASID_POOLS_BITS;
const POOL_ENTRIES: usize = 1 << sel4::ASID_POOL_INDEX_BITS;

/// One ASID pool object: for each ASID in its range, the VSpace's physical address (0:
/// free).
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

/// Records `pool` as the pool for ASIDs starting at `asid_base`.
pub fn install_pool(asid_base: u16, pool: u64) {
    let index = usize::from(asid_base) >> sel4::ASID_POOL_INDEX_BITS;
    // SAFETY: single-threaded kernel; `index` < POOL_COUNT because ASIDs have 16 bits.
    unsafe { (*ASID_TABLE.0.get())[index] = pool };
}

/// Assigns `asid` in `pool` to the VSpace at `vspace`.
pub fn assign(pool: u64, asid: u16, vspace: u64) {
    let pool = object_pointer::<AsidPool>(pool);
    // SAFETY: `pool` is an ASID pool object in kernel memory; the index is masked to
    // the pool's size.
    unsafe { (*pool).vspaces[usize::from(asid) & (POOL_ENTRIES - 1)] = vspace };
}
