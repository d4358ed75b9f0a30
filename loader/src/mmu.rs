//! The loader's translation table: one level-1 table of 1 GiB blocks serving both TTBR0
//! (identity, for the loader) and TTBR1 (the kernel window, `virt = phys +
//! PHYS_WINDOW_OFFSET`; with a 39-bit TTBR1 space the window starts at index 0), and the
//! cache maintenance that makes copied code executable.

use boot_handoff::PhysRegion;
use core::arch::asm;
use core::cell::UnsafeCell;

/// MAIR_EL1 attribute indices. The kernel keeps the same two indices when it installs its
/// own tables, so switching tables never changes the meaning of a live mapping.
const MAIR_DEVICE_NGNRNE: u64 = 0;
const MAIR_NORMAL_WRITE_BACK: u64 = 1;
const MAIR_VALUE: u64 = 0x00 << (8 * MAIR_DEVICE_NGNRNE) | 0xff << (8 * MAIR_NORMAL_WRITE_BACK);

/// Level-1 block descriptor bits (4 KiB granule).
const DESCRIPTOR_BLOCK: u64 = 0b01;
const DESCRIPTOR_ATTR_INDEX_SHIFT: u64 = 2;
const DESCRIPTOR_INNER_SHAREABLE: u64 = 0b11 << 8;
const DESCRIPTOR_ACCESS_FLAG: u64 = 1 << 10;
const DESCRIPTOR_PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
const DESCRIPTOR_UNPRIVILEGED_EXECUTE_NEVER: u64 = 1 << 54;

/// TCR_EL1: 39-bit spaces for both halves, 4 KiB granules, write-back walks.
const TCR_T0SZ: u64 = 25;
const TCR_T1SZ: u64 = 25 << 16;
const TCR_WALK_ATTRIBUTES_0: u64 = 0b01 << 8 | 0b01 << 10 | 0b11 << 12;
const TCR_WALK_ATTRIBUTES_1: u64 = 0b01 << 24 | 0b01 << 26 | 0b11 << 28;
const TCR_TG1_4K: u64 = 0b10 << 30;
const TCR_IPS_SHIFT: u64 = 32;

/// SCTLR_EL1: RES1 bits of ARMv8.0 plus MMU, data cache, stack alignment check, icache.
const SCTLR_RES1: u64 = (1 << 29) | (1 << 28) | (1 << 23) | (1 << 22) | (1 << 20) | (1 << 11);
const SCTLR_MMU: u64 = 1 << 0;
const SCTLR_DATA_CACHE: u64 = 1 << 2;
const SCTLR_STACK_ALIGNMENT: u64 = 1 << 3;
const SCTLR_INSTRUCTION_CACHE: u64 = 1 << 12;

const GIB: u64 = 1 << 30;
/// Device memory is mapped below this (QEMU virt's devices sit in the first GiB; the
/// contract maps the first 4 GiB).
const DEVICE_WINDOW_END: u64 = 4 * GIB;
const ENTRIES: usize = 512;

#[repr(C, align(4096))]
struct Table(UnsafeCell<[u64; ENTRIES]>);
// SAFETY: the loader runs on one CPU; the table is written once before the MMU reads it.
unsafe impl Sync for Table {}

static TABLE: Table = Table(UnsafeCell::new([0; ENTRIES]));

/// Builds the table for `ram` and turns the MMU and caches on.
pub fn enable(ram: &[PhysRegion]) {
    let table = TABLE.0.get();
    for index in 0..ENTRIES {
        let start = index as u64 * GIB;
        let block = PhysRegion {
            start,
            end: start + GIB,
        };
        let descriptor = if ram.iter().any(|region| region.overlaps(&block)) {
            start
                | DESCRIPTOR_BLOCK
                | MAIR_NORMAL_WRITE_BACK << DESCRIPTOR_ATTR_INDEX_SHIFT
                | DESCRIPTOR_INNER_SHAREABLE
                | DESCRIPTOR_ACCESS_FLAG
                | DESCRIPTOR_UNPRIVILEGED_EXECUTE_NEVER
        } else if block.end <= DEVICE_WINDOW_END {
            start
                | DESCRIPTOR_BLOCK
                | MAIR_DEVICE_NGNRNE << DESCRIPTOR_ATTR_INDEX_SHIFT
                | DESCRIPTOR_ACCESS_FLAG
                | DESCRIPTOR_PRIVILEGED_EXECUTE_NEVER
                | DESCRIPTOR_UNPRIVILEGED_EXECUTE_NEVER
        } else {
            0
        };
        // SAFETY: `index` is in bounds and nothing else refers to the table yet.
        unsafe { (*table)[index] = descriptor };
    }
    let table_address = table as u64;
    let physical_range: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe { asm!("mrs {}, id_aa64mmfr0_el1", out(reg) physical_range, options(nomem, nostack)) };
    let tcr = TCR_T0SZ
        | TCR_T1SZ
        | TCR_WALK_ATTRIBUTES_0
        | TCR_WALK_ATTRIBUTES_1
        | TCR_TG1_4K
        | (physical_range & 0b111) << TCR_IPS_SHIFT;
    let sctlr =
        SCTLR_RES1 | SCTLR_MMU | SCTLR_DATA_CACHE | SCTLR_STACK_ALIGNMENT | SCTLR_INSTRUCTION_CACHE;
    // SAFETY: the table identity-maps the RAM the loader runs from with the attributes
    // MAIR_VALUE gives, so execution continues seamlessly when the MMU comes on. The table
    // was written with the MMU off (straight to memory); invalidating its lines discards
    // any stale cached copy the walker could otherwise see once caches are on.
    unsafe {
        let mut line = table_address;
        while line < table_address + 4096 {
            asm!("dc ivac, {}", in(reg) line, options(nostack));
            line += 64;
        }
        asm!(
            "dsb sy",
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {table}",
            "msr ttbr1_el1, {table}",
            "isb",
            "tlbi vmalle1",
            "ic iallu",
            "dsb nsh",
            "isb",
            "msr sctlr_el1, {sctlr}",
            "isb",
            mair = in(reg) MAIR_VALUE,
            tcr = in(reg) tcr,
            table = in(reg) table_address,
            sctlr = in(reg) sctlr,
            options(nostack),
        );
    }
}

/// Makes freshly copied code in `region` visible to instruction fetch: cleans the data
/// cache to the point of unification and invalidates the instruction cache.
pub fn make_executable(region: PhysRegion) {
    let cache_type: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) cache_type, options(nomem, nostack)) };
    let line_size = 4u64 << ((cache_type >> 16) & 0xf);
    let mut line = region.start & !(line_size - 1);
    while line < region.end {
        // SAFETY: cleaning a mapped line by address only writes it back.
        unsafe { asm!("dc cvau, {}", in(reg) line, options(nostack)) };
        line += line_size;
    }
    // SAFETY: barriers and instruction-cache invalidation have no other effects.
    unsafe { asm!("dsb ish", "ic iallu", "dsb ish", "isb", options(nostack)) };
}
