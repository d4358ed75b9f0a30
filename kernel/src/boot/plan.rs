//! Where the root task's boot objects go, computed as seL4 16.0.0 computes it (pure
//! arithmetic over the handoff; no memory is touched).
//!
//! seL4 places the IPC buffer in the page after the image, BootInfo in the page after
//! that, and the extra BootInfo (a header and the device tree, rounded up to a power of
//! two) after BootInfo. The root server's objects are carved as one block from the top of
//! the highest free RAM region that fits, aligned to the largest object, and allocated
//! in decreasing size order so each is naturally aligned.
#![forbid(unsafe_code)]

use kernel_core::{for_each_free_range, PhysRange};
use sel4::{
    ASID_POOL_BITS, PAGE_BITS, PAGE_TABLE_BITS, ROOT_CNODE_SIZE_BITS, SLOT_BITS, TCB_BITS,
    USER_TOP, VSPACE_BITS,
};

/// The root task's image as the loader placed it.
#[derive(Clone, Copy, Debug)]
pub struct ImageLayout {
    pub phys_start: u64,
    pub virt_start: u64,
    pub virt_end: u64,
}

/// The root server objects' physical addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootServerObjects {
    pub cnode: u64,
    pub vspace: u64,
    pub asid_pool: u64,
    pub ipc_buffer: u64,
    pub boot_info: u64,
    /// The extra BootInfo block (absent without a device tree).
    pub extra_boot_info: Option<u64>,
    /// First of `paging_count` consecutive page tables.
    pub paging: u64,
    pub tcb: u64,
}

/// Everything boot needs to know about the root task's layout.
#[derive(Clone, Copy, Debug)]
pub struct BootPlan {
    pub ipc_buffer_vaddr: u64,
    pub boot_info_vaddr: u64,
    pub extra_boot_info_vaddr: u64,
    /// Bytes of extra BootInfo: the FDT header plus the device tree (0 without one).
    pub extra_boot_info_size: u64,
    /// The virtual range the initial page tables cover: image, IPC buffer, BootInfo and
    /// the extra BootInfo block.
    pub initial_region: PhysRange,
    /// Page tables (below the VSpace) needed to cover `initial_region`.
    pub paging_count: u64,
    pub objects: RootServerObjects,
    /// The physical block holding all root server objects.
    pub root_server_memory: PhysRange,
}

/// Most free RAM ranges considered when placing the root server objects.
const MAX_FREE_RANGES: usize = 32;

/// Size of the header in front of the device tree in the extra BootInfo.
const BOOT_INFO_HEADER_SIZE: u64 = core::mem::size_of::<sel4::BootInfoHeader>() as u64;

/// Computes the layout.
///
/// # Errors
/// The initial region would pass the top of user space, no free RAM region can hold the
/// root server objects, or arithmetic overflows.
pub fn plan(
    ram: &[PhysRange],
    kernel: PhysRange,
    image: ImageLayout,
    device_tree: PhysRange,
) -> Result<BootPlan, &'static str> {
    let page = 1u64 << PAGE_BITS;
    let ipc_buffer_vaddr = image.virt_end;
    let boot_info_vaddr = ipc_buffer_vaddr.checked_add(page).ok_or("image too high")?;
    let extra_boot_info_vaddr = boot_info_vaddr.checked_add(page).ok_or("image too high")?;
    let extra_boot_info_size = if device_tree.is_empty() {
        0
    } else {
        BOOT_INFO_HEADER_SIZE + device_tree.size()
    };
    let extra_bits = extra_boot_info_size_bits(extra_boot_info_size);
    let initial_region = PhysRange::new(
        image.virt_start,
        extra_boot_info_vaddr
            .checked_add(1 << extra_bits)
            .ok_or("image too high")?,
    );
    if initial_region.end >= USER_TOP {
        return Err("root task image and boot frames pass the top of user space");
    }
    let paging_count = paging_count(initial_region);

    let size = root_server_size(extra_bits, paging_count);
    let alignment_bits = max_object_bits(extra_bits);

    // Free RAM while the device tree is still needed (it is copied into the extra
    // BootInfo, so the root server objects must not land on it).
    let image_phys = PhysRange::new(
        image.phys_start,
        image.phys_start + (image.virt_end - image.virt_start),
    );
    let mut free = [PhysRange::default(); MAX_FREE_RANGES];
    let mut free_count = 0;
    for_each_free_range(ram, &[kernel, image_phys, device_tree], |range| {
        if free_count < MAX_FREE_RANGES {
            free[free_count] = range;
            free_count += 1;
        }
    });
    let start = free[..free_count]
        .iter()
        .rev()
        .find_map(|range| {
            let candidate = range.end.checked_sub(size)? & !((1u64 << alignment_bits) - 1);
            (candidate >= range.start).then_some(candidate)
        })
        .ok_or("no free RAM region can hold the root server objects")?;

    let objects = allocate_objects(start, extra_bits, paging_count);
    Ok(BootPlan {
        ipc_buffer_vaddr,
        boot_info_vaddr,
        extra_boot_info_vaddr,
        extra_boot_info_size,
        initial_region,
        paging_count,
        objects,
        root_server_memory: PhysRange::new(start, start + size),
    })
}

/// seL4's `calculate_extra_bi_size_bits`: the page-rounded size rounded up to a power of
/// two (0 for no extra BootInfo).
pub fn extra_boot_info_size_bits(size: u64) -> u32 {
    if size == 0 {
        return 0;
    }
    let rounded = size.next_multiple_of(1 << PAGE_BITS);
    let mut bits = u64::BITS - 1 - rounded.leading_zeros();
    if size > 1 << bits {
        bits += 1;
    }
    bits
}

/// Page tables below the top level needed to map `region`: one per 512 GiB (level 1),
/// per GiB (level 2) and per 2 MiB (level 3) the region touches.
pub fn paging_count(region: PhysRange) -> u64 {
    [39u32, 30, 21]
        .iter()
        .map(|&bits| {
            let start = region.start >> bits;
            let end = (region.end + (1 << bits) - 1) >> bits;
            end - start
        })
        .sum()
}

const CNODE_BITS: u32 = ROOT_CNODE_SIZE_BITS as u32 + SLOT_BITS;

fn max_object_bits(extra_bits: u32) -> u32 {
    CNODE_BITS.max(VSPACE_BITS).max(extra_bits)
}

fn root_server_size(extra_bits: u32, paging_count: u64) -> u64 {
    let extra = if extra_bits > 0 { 1 << extra_bits } else { 0 };
    (1 << CNODE_BITS)
        + (1 << TCB_BITS)
        + (1 << PAGE_BITS) // IPC buffer
        + (1 << PAGE_BITS) // BootInfo
        + (1 << ASID_POOL_BITS)
        + extra
        + (1 << VSPACE_BITS)
        + paging_count * (1 << PAGE_TABLE_BITS)
}

/// seL4's `create_rootserver_objects` order: the extra BootInfo as soon as it is the
/// largest remaining object, then CNode, VSpace, ASID pool, IPC buffer, BootInfo, page
/// tables, TCB.
fn allocate_objects(start: u64, extra_bits: u32, paging_count: u64) -> RootServerObjects {
    let mut cursor = start;
    let mut allocate = |bits: u32, count: u64| {
        let address = cursor;
        cursor += count << bits;
        address
    };
    let mut extra_boot_info = None;
    let mut maybe_extra = |threshold: u32, allocate: &mut dyn FnMut(u32, u64) -> u64| {
        if extra_bits > 0 && extra_bits >= threshold && extra_boot_info.is_none() {
            extra_boot_info = Some(allocate(extra_bits, 1));
        }
    };
    maybe_extra(max_object_bits(extra_bits), &mut allocate);
    let cnode = allocate(CNODE_BITS, 1);
    maybe_extra(VSPACE_BITS, &mut allocate);
    let vspace = allocate(VSPACE_BITS, 1);
    maybe_extra(PAGE_BITS, &mut allocate);
    let asid_pool = allocate(ASID_POOL_BITS, 1);
    let ipc_buffer = allocate(PAGE_BITS, 1);
    let boot_info = allocate(PAGE_BITS, 1);
    let paging = allocate(PAGE_TABLE_BITS, paging_count);
    let tcb = allocate(TCB_BITS, 1);
    RootServerObjects {
        cnode,
        vspace,
        asid_pool,
        ipc_buffer,
        boot_info,
        extra_boot_info,
        paging,
        tcb,
    }
}
