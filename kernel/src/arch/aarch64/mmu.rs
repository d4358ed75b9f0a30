//! Translation: the kernel window (TTBR1, 39-bit, 1 GiB blocks in a level-1 table in
//! kernel bss), user address spaces (TTBR0, 48-bit, four levels, tagged with the ASID)
//! and the descriptor formats both use.

use super::registers::{dsb_ish, id_aa64mmfr0_el1, isb, mair_el1, tcr_el1, ttbr0_el1, ttbr1_el1};
use boot_handoff::{PhysRegion, PHYS_WINDOW_OFFSET};
use core::cell::UnsafeCell;

/// The kernel's view of physical address `phys`, through the window.
pub const fn window(phys: u64) -> u64 {
    phys + PHYS_WINDOW_OFFSET
}

/// The physical address of a kernel-window address.
pub const fn window_to_phys(virt: u64) -> u64 {
    virt - PHYS_WINDOW_OFFSET
}

/// Bytes of physical address space the window covers (512 GiB: one level-1 table).
pub const WINDOW_SIZE: u64 = 1 << 39;

/// MAIR_EL1 indices. 0 and 1 are the loader's; the kernel keeps them so its table switch
/// does not change any live mapping's meaning.
const MAIR_DEVICE_NGNRNE: u64 = 0;
const MAIR_NORMAL_WRITE_BACK: u64 = 1;
const MAIR_NORMAL_NON_CACHEABLE: u64 = 2;
const MAIR_VALUE: u64 = 0x00 << (8 * MAIR_DEVICE_NGNRNE)
    | 0xff << (8 * MAIR_NORMAL_WRITE_BACK)
    | 0x44 << (8 * MAIR_NORMAL_NON_CACHEABLE);

// Descriptor bits (4 KiB granule).
const VALID: u64 = 1 << 0;
/// Table descriptor at levels 0-2, page descriptor at level 3.
const TABLE_OR_PAGE: u64 = 1 << 1;
const ATTR_INDEX_SHIFT: u64 = 2;
const AP_USER: u64 = 1 << 6;
const AP_READ_ONLY: u64 = 1 << 7;
const INNER_SHAREABLE: u64 = 0b11 << 8;
const ACCESS_FLAG: u64 = 1 << 10;
const NOT_GLOBAL: u64 = 1 << 11;
const PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
const UNPRIVILEGED_EXECUTE_NEVER: u64 = 1 << 54;
/// Output address bits of a descriptor.
const ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

// TCR_EL1 fields.
const TCR_T0SZ_48_BIT: u64 = 16;
const TCR_EPD0: u64 = 1 << 7;
const TCR_WALK_0: u64 = 0b01 << 8 | 0b01 << 10 | 0b11 << 12;
const TCR_T1SZ_39_BIT: u64 = 25 << 16;
const TCR_WALK_1: u64 = 0b01 << 24 | 0b01 << 26 | 0b11 << 28;
const TCR_TG1_4K: u64 = 0b10 << 30;
const TCR_IPS_SHIFT: u64 = 32;
const TCR_ASID_16_BIT: u64 = 1 << 36;

const ENTRIES: usize = 512;
const GIB: u64 = 1 << 30;

/// A translation table (any level): 512 descriptors, page aligned.
#[repr(C, align(4096))]
pub struct Table(pub [u64; ENTRIES]);

struct KernelTable(UnsafeCell<Table>);
// SAFETY: written once during single-threaded boot, before the MMU uses it.
unsafe impl Sync for KernelTable {}

static KERNEL_LEVEL_1: KernelTable = KernelTable(UnsafeCell::new(Table([0; ENTRIES])));

/// Device memory the kernel maps: the first GiB of physical space (QEMU virt's MMIO).
const DEVICE_REGION: PhysRegion = PhysRegion { start: 0, end: GIB };

/// Builds the kernel window (normal memory for every GiB that holds RAM, device memory
/// for the first GiB), switches TTBR1 to it and disables TTBR0 walks until a user address
/// space is installed. The loader's tables are not used afterwards.
pub fn init_kernel_window(ram: &[PhysRegion]) {
    let table = KERNEL_LEVEL_1.0.get();
    for index in 0..ENTRIES {
        let start = index as u64 * GIB;
        let block = PhysRegion {
            start,
            end: start + GIB,
        };
        let descriptor = if ram.iter().any(|region| region.overlaps(&block)) {
            start
                | VALID
                | MAIR_NORMAL_WRITE_BACK << ATTR_INDEX_SHIFT
                | INNER_SHAREABLE
                | ACCESS_FLAG
                | UNPRIVILEGED_EXECUTE_NEVER
        } else if block.overlaps(&DEVICE_REGION) {
            start
                | VALID
                | MAIR_DEVICE_NGNRNE << ATTR_INDEX_SHIFT
                | ACCESS_FLAG
                | PRIVILEGED_EXECUTE_NEVER
                | UNPRIVILEGED_EXECUTE_NEVER
        } else {
            0
        };
        // SAFETY: boot is single-threaded and the table is not live yet.
        unsafe { (*table).0[index] = descriptor };
    }
    let features = id_aa64mmfr0_el1::read();
    let physical_range = features & 0b111;
    let asid_16_bit = (features >> 4) & 0xf == 0b0010;
    let tcr = TCR_T0SZ_48_BIT
        | TCR_EPD0
        | TCR_WALK_0
        | TCR_T1SZ_39_BIT
        | TCR_WALK_1
        | TCR_TG1_4K
        | physical_range << TCR_IPS_SHIFT
        | if asid_16_bit { TCR_ASID_16_BIT } else { 0 };
    let table_phys = window_to_phys(table as u64);
    // SAFETY: the new table maps the window exactly as the loader's did for the RAM and
    // device memory the kernel uses (same MAIR indices), so the running code, stack and
    // data stay mapped across the switch; TTBR0 walks are disabled and nothing at EL1
    // uses TTBR0 addresses. The TLB is invalidated after the switch.
    unsafe {
        dsb_ish();
        mair_el1::write(MAIR_VALUE);
        tcr_el1::write(tcr);
        isb();
        ttbr1_el1::write(table_phys);
        isb();
        core::arch::asm!("tlbi vmalle1", "dsb nsh", "isb", options(nostack));
    }
}

/// Installs a user address space: its top-level table and ASID go in TTBR0, and TTBR0
/// walks are enabled.
pub fn activate_user_space(vspace_phys: u64, asid: u16) {
    // SAFETY: `vspace_phys` is a zeroed-or-populated top-level table in kernel-owned
    // memory (the caller holds its VSpace cap), so walks through it find only valid or
    // invalid descriptors; ASID tagging keeps other spaces' TLB entries apart.
    unsafe {
        ttbr0_el1::write(vspace_phys | u64::from(asid) << 48);
        let tcr = tcr_el1::read();
        if tcr & TCR_EPD0 != 0 {
            tcr_el1::write(tcr & !TCR_EPD0);
        }
    }
    isb();
}

/// How a user page may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserAccess {
    ReadWrite,
    ReadOnly,
    /// Mapped in the user's address space but accessible only to the kernel.
    KernelOnly,
}

/// Whether user code may run from a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Execute {
    Allowed,
    Never,
}

/// The level-3 descriptor of a cacheable user page.
pub const fn user_page_descriptor(phys: u64, access: UserAccess, execute: Execute) -> u64 {
    let mut descriptor = (phys & ADDRESS_MASK)
        | VALID
        | TABLE_OR_PAGE
        | MAIR_NORMAL_WRITE_BACK << ATTR_INDEX_SHIFT
        | INNER_SHAREABLE
        | ACCESS_FLAG
        | NOT_GLOBAL
        | PRIVILEGED_EXECUTE_NEVER;
    descriptor |= match access {
        UserAccess::ReadWrite => AP_USER,
        UserAccess::ReadOnly => AP_USER | AP_READ_ONLY,
        UserAccess::KernelOnly => 0,
    };
    if let Execute::Never = execute {
        descriptor |= UNPRIVILEGED_EXECUTE_NEVER;
    }
    descriptor
}

/// A table descriptor pointing at the next-level table at `phys`.
pub const fn table_descriptor(phys: u64) -> u64 {
    (phys & ADDRESS_MASK) | VALID | TABLE_OR_PAGE
}

/// The next-level table a descriptor points at, if it is a valid table descriptor.
pub const fn table_address(descriptor: u64) -> Option<u64> {
    if descriptor & (VALID | TABLE_OR_PAGE) == VALID | TABLE_OR_PAGE {
        Some(descriptor & ADDRESS_MASK)
    } else {
        None
    }
}

/// Index into the table at `level` (0 = top) for user virtual address `vaddr`.
pub const fn table_index(vaddr: u64, level: u32) -> usize {
    ((vaddr >> (39 - 9 * level)) & 0x1ff) as usize
}

/// Bits of address space one entry at `level` spans (39, 30, 21, 12).
pub const fn level_span_bits(level: u32) -> u32 {
    39 - 9 * level
}

/// Makes everything the kernel wrote to memory (page tables, user frames) visible to the
/// table walker and to user instruction fetch, and drops stale translations.
pub fn sync_after_boot_writes() {
    // SAFETY: barriers, instruction cache and TLB invalidation have no other effects.
    unsafe {
        core::arch::asm!(
            "dsb ish",
            "ic iallu",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            options(nostack)
        );
    }
}
