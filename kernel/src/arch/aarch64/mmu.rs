//! Translation: the kernel window (TTBR1, 39-bit, 1 GiB blocks in a level-1 table in
//! kernel bss), user address spaces (TTBR0, 48-bit, four levels, tagged with the ASID),
//! TLB and cache maintenance. Descriptor formats and table walks are kernel-core's
//! (`kernel_core::page_table`).

use super::registers::{dsb_ish, id_aa64mmfr0_el1, isb, mair_el1, tcr_el1, ttbr0_el1, ttbr1_el1};
use boot_handoff::{PhysRegion, PHYS_WINDOW_OFFSET};
use core::cell::UnsafeCell;
use kernel_core::decode::CacheOperation;
use kernel_core::page_table::{
    AccessPermissions, Leaf, Level, Pte, Shareability, UserExecute, MAIR_DEVICE_NGNRNE,
    MAIR_EL1_VALUE, MAIR_NORMAL_WRITE_BACK,
};

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

/// The table address in TTBR0_EL1 (a 4 KiB aligned table; the ASID sits above it).
const TTBR_BASE_ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

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

/// The kernel window's level-1 table: 512 descriptors, page aligned.
#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

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
        let memory = if ram.iter().any(|region| region.overlaps(&block)) {
            Some(WindowMemory::Normal)
        } else if block.overlaps(&DEVICE_REGION) {
            Some(WindowMemory::Device)
        } else {
            None
        };
        let descriptor = memory.map_or(0, |memory| window_block(start, memory));
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
        mair_el1::write(MAIR_EL1_VALUE);
        tcr_el1::write(tcr);
        isb();
        ttbr1_el1::write(table_phys);
        isb();
        core::arch::asm!("tlbi vmalle1", "dsb nsh", "isb", options(nostack));
    }
}

/// What a GiB of the kernel window maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WindowMemory {
    /// RAM: normal write-back memory, never executed through the window.
    Normal,
    /// MMIO: Device-nGnRnE, never executed.
    Device,
}

/// The level-1 block descriptor mapping the GiB at `start` into the window (EL1 only:
/// not global, no EL0 access, never user-executable).
fn window_block(start: u64, memory: WindowMemory) -> u64 {
    let (attr_index, shareability, privileged_execute_never) = match memory {
        WindowMemory::Normal => (MAIR_NORMAL_WRITE_BACK, Shareability::InnerShareable, false),
        WindowMemory::Device => (MAIR_DEVICE_NGNRNE, Shareability::NonShareable, true),
    };
    let block = Leaf {
        address: start,
        attr_index,
        access: AccessPermissions::KernelReadWrite,
        shareability,
        access_flag: true,
        not_global: false,
        privileged_execute_never,
        user_execute: UserExecute::Never,
    };
    block.encode(Level::One).map_or(0, |pte| pte.0)
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

/// Whether `[phys, phys + length)` lies in RAM the kernel window maps as normal memory
/// (so the kernel may zero it or run cache maintenance on it).
pub fn window_maps_ram(phys: u64, length: u64) -> bool {
    let Some(end) = phys.checked_add(length) else {
        return false;
    };
    if length == 0 || end > WINDOW_SIZE {
        return false;
    }
    let table = KERNEL_LEVEL_1.0.get();
    let mut gib = phys / GIB;
    while gib * GIB < end {
        // SAFETY: the table was written once at boot and is only read afterwards; `gib`
        // < 512 because `end` <= WINDOW_SIZE.
        let descriptor = Pte(unsafe { (*table).0[gib as usize] });
        let normal = descriptor
            .leaf(Level::One)
            .is_some_and(|block| block.attr_index == MAIR_NORMAL_WRITE_BACK);
        if !normal {
            return false;
        }
        gib += 1;
    }
    true
}

/// Makes page-table writes visible to the table walker before they are relied on.
pub fn publish_table_writes() {
    // SAFETY: a barrier has no other effect.
    unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
}

/// Drops every TLB entry tagged with `asid` (after unmapping a table or freeing the
/// ASID).
pub fn invalidate_tlb_asid(asid: u16) {
    let operand = u64::from(asid) << 48;
    // SAFETY: TLB maintenance only drops cached translations.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "tlbi aside1is, {operand}",
            "dsb ish",
            "isb",
            operand = in(reg) operand,
            options(nostack, preserves_flags)
        );
    }
}

/// Drops the TLB entries for the page at `vaddr` in `asid` (after changing a leaf).
pub fn invalidate_tlb_page(asid: u16, vaddr: u64) {
    let operand = u64::from(asid) << 48 | (vaddr >> 12) & ((1 << 44) - 1);
    // SAFETY: TLB maintenance only drops cached translations.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "tlbi vae1is, {operand}",
            "dsb ish",
            "isb",
            operand = in(reg) operand,
            options(nostack, preserves_flags)
        );
    }
}

/// The top-level table TTBR0 walks, if user walks are enabled.
pub fn active_user_space() -> Option<u64> {
    if tcr_el1::read() & TCR_EPD0 != 0 {
        None
    } else {
        Some(ttbr0_el1::read() & TTBR_BASE_ADDRESS_MASK)
    }
}

/// Stops TTBR0 walks (the address space being installed is being destroyed): user
/// accesses fault until the scheduler installs another space.
pub fn deactivate_user_space() {
    // SAFETY: disabling TTBR0 walks only makes user addresses fault; the kernel runs
    // from TTBR1. The TLB is cleaned by the caller's ASID invalidation.
    unsafe { tcr_el1::write(tcr_el1::read() | TCR_EPD0) };
    isb();
}

/// Zeroes `[phys, phys + length)` through the window.
///
/// Whole zeroing blocks go through `DC ZVA` (one instruction per 64 bytes on the
/// Cortex-A57, against three per 8 bytes for a store loop); a range the block size does
/// not divide, or a CPU that prohibits `DC ZVA`, gets plain stores.
///
/// # Safety
/// The range must be RAM in the window ([`window_maps_ram`]) that nothing else
/// references (memory of an object being created or reset).
pub unsafe fn zero_ram(phys: u64, length: u64) {
    let start = window(phys);
    let dczid: u64;
    // SAFETY: reading DCZID_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, dczid_el0", out(reg) dczid, options(nomem, nostack)) };
    let prohibited = dczid & (1 << 4) != 0;
    let block = 4u64 << (dczid & 0xf);
    if prohibited || !start.is_multiple_of(block) || !length.is_multiple_of(block) {
        let Ok(length) = usize::try_from(length) else {
            return;
        };
        // SAFETY: the caller guarantees the range is unreferenced RAM in the window.
        unsafe { core::ptr::write_bytes(start as *mut u8, 0, length) };
        return;
    }
    for_each_line(start, start + length, block, |address| {
        // SAFETY: `address` is a block-aligned block inside the caller's unreferenced
        // RAM range, which the window maps as normal memory (DC ZVA needs that); it
        // writes zeroes to exactly that block.
        unsafe { core::arch::asm!("dc zva, {}", in(reg) address, options(nostack)) }
    });
}

/// Cleans the data cache lines of `[phys, phys + length)` to the point of coherency
/// (seL4's `cleanCacheRange_RAM`): what a new frame needs after zeroing, since its user
/// may map it uncached.
///
/// # Safety
/// The range must be RAM in the window ([`window_maps_ram`]); cleaning changes no data,
/// so no other condition applies. (Unlike [`cache_maintenance`], the range is not checked
/// again: the caller has just zeroed it.)
pub unsafe fn clean_ram(phys: u64, length: u64) {
    let start = window(phys);
    let data_line = data_line_size();
    for_each_line(
        start & !(data_line - 1),
        start + length,
        data_line,
        |line| {
            // SAFETY: `line` is inside RAM mapped by the window (the caller's range);
            // cleaning writes back data without changing it.
            unsafe { core::arch::asm!("dc cvac, {}", in(reg) line, options(nostack)) }
        },
    );
    dsb_ish();
}

/// The smallest data cache line, in bytes (CTR_EL0.DminLine).
fn data_line_size() -> u64 {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    4u64 << ((ctr >> 16) & 0xf)
}

/// Runs `operation` (seL4's page and VSpace flush invocations; InvalidateData uses DC
/// CIVAC on partial lines at either end, so neighbouring data survives) over the
/// physical range `[phys, phys + length)` through the kernel window. The data cache and (on the Cortex-A57) the instruction cache are physically
/// indexed, so maintenance through the window reaches the lines user mappings use.
///
/// Does nothing unless the range is RAM in the window (device memory is uncached).
pub fn cache_maintenance(operation: CacheOperation, phys: u64, length: u64) {
    if !window_maps_ram(phys, length) {
        return;
    }
    let start = window(phys);
    let end = start + length;
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let data_line = 4u64 << ((ctr >> 16) & 0xf);
    let instruction_line = 4u64 << (ctr & 0xf);
    let first_data = start & !(data_line - 1);
    match operation {
        CacheOperation::CleanData => for_each_line(first_data, end, data_line, |line| {
            // SAFETY: `line` is inside RAM mapped by the window; cleaning writes back
            // data without changing it.
            unsafe { core::arch::asm!("dc cvac, {}", in(reg) line, options(nostack)) }
        }),
        CacheOperation::CleanInvalidateData => for_each_line(first_data, end, data_line, |line| {
            // SAFETY: as above; clean-and-invalidate preserves the memory's contents.
            unsafe { core::arch::asm!("dc civac, {}", in(reg) line, options(nostack)) }
        }),
        CacheOperation::InvalidateData => for_each_line(first_data, end, data_line, |line| {
            let partial = line < start || line + data_line > end;
            if partial {
                // SAFETY: as above; a line shared with memory outside the range is
                // cleaned first so its other bytes keep their values.
                unsafe { core::arch::asm!("dc civac, {}", in(reg) line, options(nostack)) }
            } else {
                // SAFETY: the whole line lies in the user's frame, which the invocation
                // lets the user discard; kernel data never shares those lines.
                unsafe { core::arch::asm!("dc ivac, {}", in(reg) line, options(nostack)) }
            }
        }),
        CacheOperation::UnifyInstruction => {
            for_each_line(first_data, end, data_line, |line| {
                // SAFETY: cleaning to the point of unification preserves contents.
                unsafe { core::arch::asm!("dc cvau, {}", in(reg) line, options(nostack)) }
            });
            dsb_ish();
            let first_instruction = start & !(instruction_line - 1);
            for_each_line(first_instruction, end, instruction_line, |line| {
                // SAFETY: invalidating instruction cache lines only forces refetches.
                unsafe { core::arch::asm!("ic ivau, {}", in(reg) line, options(nostack)) }
            });
        }
    }
    dsb_ish();
    isb();
}

/// Calls `operation` for each line (or block) `first`, `first + line_size`, ... below
/// `end`; four lines per round when they divide the range evenly (a 4 KiB frame: the
/// loop's own instructions then cost a quarter as much).
#[inline(always)]
fn for_each_line(first: u64, end: u64, line_size: u64, mut operation: impl FnMut(u64)) {
    let mut line = first;
    let round = 4 * line_size;
    if end.wrapping_sub(first).is_multiple_of(round) {
        while line < end {
            operation(line);
            operation(line + line_size);
            operation(line + 2 * line_size);
            operation(line + 3 * line_size);
            line += round;
        }
        return;
    }
    while line < end {
        operation(line);
        line += line_size;
    }
}
