//! Creates the root task exactly as seL4 16.0.0 does: its CNode, TCB, VSpace, page
//! tables, ASID pool, IPC buffer and BootInfo frames, the initial capabilities in their
//! fixed slots, and untyped capabilities for all remaining memory.

use super::plan::{self, BootPlan, ImageLayout};
use crate::arch::mmu;
use crate::arch::user_context::UserRegisters;
use crate::object::cspace::cnode_slot_pointer;
use crate::object::tcb::{tcb_at, tcb_slot, ThreadState};
use crate::object::vspace::{self, Execute};
use crate::object::{asid, object_pointer};
use crate::plat::{DEVICE_SPACE_END, KERNEL_DEVICE_REGIONS};
use boot_handoff::{BootHandoff, PhysRegion, MAX_RAM_REGIONS};
use kernel_core::page_table::Level;
use kernel_core::{
    for_each_free_range, for_each_untyped_block, Cap, FrameSize, Mapping, MdbNode, PhysRange, Slot,
    SlotAddr, VmRights,
};
use sel4::{
    bootinfo_header_id, init_cap, BootInfo, BootInfoHeader, SlotRegion, UntypedDesc,
    MAX_BOOTINFO_UNTYPED_CAPS, PAGE_BITS, ROOT_CNODE_SIZE_BITS,
};

/// The root task's ASID (seL4's `IT_ASID`).
const ROOT_ASID: u16 = 1;
const PAGE_SIZE: u64 = 1 << PAGE_BITS;
/// The root task's priority and maximum controlled priority.
const ROOT_PRIORITY: u8 = sel4::MAX_PRIO as u8;
const FDT_MAGIC: u32 = 0xd00d_feed;

/// Builds the root task and returns its TCB object's physical address.
pub fn create(handoff: &BootHandoff) -> u64 {
    let mut ram = [PhysRange::default(); MAX_RAM_REGIONS];
    for (range, region) in ram.iter_mut().zip(handoff.ram_regions()) {
        *range = range_of(*region);
    }
    let ram = &ram[..handoff.ram_regions().len()];
    let kernel = range_of(handoff.kernel);
    let image = handoff.root_task;
    let image_phys = range_of(image.phys_region());
    let device_tree = checked_device_tree(handoff);

    let layout = ImageLayout {
        phys_start: image.phys_start,
        virt_start: image.virt_start,
        virt_end: image.virt_end,
    };
    let plan = match plan::plan(ram, kernel, layout, device_tree) {
        Ok(plan) => plan,
        Err(problem) => crate::kernel_panic!("root task layout: {problem}"),
    };
    crate::log!(
        Debug,
        "root server objects at [{:#x}, {:#x}), {} page tables",
        plan.root_server_memory.start,
        plan.root_server_memory.end,
        plan.paging_count
    );
    zero(
        plan.root_server_memory.start,
        plan.root_server_memory.size(),
    );

    let objects = plan.objects;
    let mut cspace = RootCSpace {
        cnode: objects.cnode,
        next_free: init_cap::NUM_INITIAL_CAPS,
    };
    let cnode_cap = Cap::CNode {
        ptr: objects.cnode,
        radix: ROOT_CNODE_SIZE_BITS as u8,
        guard_size: (sel4::WORD_BITS as u64 - ROOT_CNODE_SIZE_BITS) as u8,
        guard: 0,
    };
    cspace.write(init_cap::INIT_THREAD_CNODE, &cnode_cap);
    cspace.write(init_cap::DOMAIN, &Cap::Domain);
    cspace.write(init_cap::IRQ_CONTROL, &Cap::IrqControl);

    let boot_info = object_pointer::<BootInfo>(objects.boot_info);
    // SAFETY: the BootInfo frame is a zeroed page in the root server block, which this
    // function owns; BootInfo (3848 bytes) fits in it and any bit pattern is valid.
    let boot_info = unsafe { &mut *boot_info };
    boot_info.extra_len = plan.extra_boot_info_size;
    boot_info.node_id = 0;
    boot_info.num_nodes = 1;
    boot_info.num_io_pt_levels = 0;
    boot_info.ipc_buffer = plan.ipc_buffer_vaddr;
    boot_info.init_thread_cnode_size_bits = ROOT_CNODE_SIZE_BITS;
    boot_info.init_thread_domain = 0;
    copy_device_tree(&plan, device_tree);

    // The address space: VSpace, then page tables level by level in address order.
    cspace.write(
        init_cap::INIT_THREAD_VSPACE,
        &Cap::VSpace {
            ptr: objects.vspace,
            asid: Some(ROOT_ASID),
        },
    );
    let paging_start = cspace.next_free;
    let mut table = objects.paging;
    for level in [Level::One, Level::Two, Level::Three] {
        // Each table covers what one entry of the level above maps.
        let span_bits = level.entry_bits() + sel4::PAGE_TABLE_INDEX_BITS;
        let mut vaddr = plan.initial_region.start & !((1u64 << span_bits) - 1);
        while vaddr < plan.initial_region.end {
            expect_mapped(vspace::install_table(objects.vspace, level, vaddr, table));
            cspace.provide(&Cap::PageTable {
                ptr: table,
                mapping: Some(Mapping {
                    asid: ROOT_ASID,
                    vaddr,
                }),
            });
            table += PAGE_SIZE;
            vaddr += 1 << span_bits;
        }
    }
    boot_info.user_image_paging = SlotRegion {
        start: paging_start,
        end: cspace.next_free,
    };

    let boot_info_cap = map_frame(
        objects.vspace,
        objects.boot_info,
        plan.boot_info_vaddr,
        Execute::Never,
    );
    cspace.write(init_cap::BOOT_INFO_FRAME, &boot_info_cap);

    if let Some(extra) = objects.extra_boot_info {
        let start = cspace.next_free;
        let pages = plan.extra_boot_info_size.div_ceil(PAGE_SIZE);
        for page in 0..pages {
            let cap = map_frame(
                objects.vspace,
                extra + page * PAGE_SIZE,
                plan.extra_boot_info_vaddr + page * PAGE_SIZE,
                Execute::Allowed,
            );
            cspace.provide(&cap);
        }
        boot_info.extra_bi_pages = SlotRegion {
            start,
            end: cspace.next_free,
        };
    }

    let ipc_buffer_cap = map_frame(
        objects.vspace,
        objects.ipc_buffer,
        plan.ipc_buffer_vaddr,
        Execute::Never,
    );
    cspace.write(init_cap::INIT_THREAD_IPC_BUFFER, &ipc_buffer_cap);

    let frames_start = cspace.next_free;
    let mut vaddr = image.virt_start;
    while vaddr < image.virt_end {
        let frame = image.phys_start + (vaddr - image.virt_start);
        let cap = map_frame(objects.vspace, frame, vaddr, Execute::Allowed);
        cspace.provide(&cap);
        vaddr += PAGE_SIZE;
    }
    boot_info.user_image_frames = SlotRegion {
        start: frames_start,
        end: cspace.next_free,
    };

    let asid_base = ROOT_ASID & !((1 << sel4::ASID_POOL_INDEX_BITS) - 1);
    cspace.write(
        init_cap::INIT_THREAD_ASID_POOL,
        &Cap::AsidPool {
            ptr: objects.asid_pool,
            asid_base,
        },
    );
    cspace.write(init_cap::ASID_CONTROL, &Cap::AsidControl);
    asid::install_pool(asid_base, objects.asid_pool);
    asid::assign(objects.asid_pool, ROOT_ASID, objects.vspace);

    create_initial_thread(&plan, image.entry, &cspace);

    create_untypeds(
        &mut cspace,
        boot_info,
        ram,
        kernel,
        image_phys,
        plan.root_server_memory,
    );

    boot_info.shared_frames = SlotRegion::default();
    boot_info.io_space_caps = SlotRegion::default();
    boot_info.empty = SlotRegion {
        start: cspace.next_free,
        end: 1 << ROOT_CNODE_SIZE_BITS,
    };
    mmu::sync_after_boot_writes();
    objects.tcb
}

/// The root task's CNode while boot fills it.
struct RootCSpace {
    cnode: u64,
    /// The next slot [`RootCSpace::provide`] fills.
    next_free: u64,
}

impl RootCSpace {
    /// Writes an original cap (as seL4's `write_slot`: revocable, first badged).
    fn write(&self, index: u64, cap: &Cap) {
        let slot = Slot::new(
            cap,
            MdbNode::EMPTY.with_revocable(true).with_first_badged(true),
        );
        // SAFETY: `index` < 2^ROOT_CNODE_SIZE_BITS (fixed slots, or checked by
        // `provide`), so the slot is inside the zeroed root CNode, which boot owns.
        unsafe { cnode_slot_pointer(self.cnode, index).write(slot) };
    }

    /// Puts `cap` in the next free slot; halts if the CNode is full (as seL4's
    /// `provide_cap` fails boot).
    fn provide(&mut self, cap: &Cap) {
        if self.next_free >= 1 << ROOT_CNODE_SIZE_BITS {
            crate::kernel_panic!("root CNode full");
        }
        self.write(self.next_free, cap);
        self.next_free += 1;
    }

    fn slot_address(&self, index: u64) -> u64 {
        self.cnode + (index << sel4::SLOT_BITS)
    }
}

/// Maps the 4 KiB frame `frame` at `vaddr` read/write for the root task and returns its
/// (mapped) frame cap.
fn map_frame(vspace_root: u64, frame: u64, vaddr: u64, execute: Execute) -> Cap {
    expect_mapped(vspace::map_page(
        vspace_root,
        vaddr,
        frame,
        VmRights::ReadWrite,
        execute,
    ));
    Cap::Frame {
        paddr: frame,
        size: FrameSize::Small,
        rights: VmRights::ReadWrite,
        is_device: false,
        mapping: Some(Mapping {
            asid: ROOT_ASID,
            vaddr,
        }),
    }
}

fn expect_mapped(result: Result<(), vspace::MappingError>) {
    if let Err(error) = result {
        crate::kernel_panic!("root task mapping failed: {error:?}");
    }
}

/// Sets up the root TCB: registers (entry point, x0 = BootInfo), priority, IPC buffer,
/// and derived copies of its CNode, VSpace and IPC buffer caps in its own slots.
fn create_initial_thread(plan: &BootPlan, entry: u64, cspace: &RootCSpace) {
    let tcb_object = plan.objects.tcb;
    // SAFETY: the TCB object is zeroed memory in the root server block, not referenced
    // anywhere else yet.
    let tcb = unsafe { tcb_at(tcb_object) };
    tcb.registers = UserRegisters::new_thread(entry, plan.boot_info_vaddr);
    tcb.state = ThreadState::Running;
    tcb.priority = ROOT_PRIORITY;
    tcb.max_controlled_priority = ROOT_PRIORITY;
    tcb.domain = 0;
    tcb.fault_handler = 0;
    tcb.ipc_buffer = plan.ipc_buffer_vaddr;
    tcb.set_name(b"rootserver");

    insert_copy(
        cspace.slot_address(init_cap::INIT_THREAD_CNODE),
        tcb_object + (tcb_slot::CSPACE_ROOT << sel4::SLOT_BITS),
        None,
    );
    insert_copy(
        cspace.slot_address(init_cap::INIT_THREAD_VSPACE),
        tcb_object + (tcb_slot::VSPACE_ROOT << sel4::SLOT_BITS),
        None,
    );
    // A derived frame cap is unmapped (seL4's Arch_deriveCap).
    let ipc_buffer_slot = cspace.slot_address(init_cap::INIT_THREAD_IPC_BUFFER);
    // SAFETY: a slot of the root CNode written above.
    let ipc_buffer_cap = unsafe { object_pointer::<Slot>(ipc_buffer_slot).read() }.cap();
    let derived = match ipc_buffer_cap {
        Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            ..
        } => Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            mapping: None,
        },
        other => other,
    };
    insert_copy(
        ipc_buffer_slot,
        tcb_object + (tcb_slot::IPC_BUFFER_FRAME << sel4::SLOT_BITS),
        Some(derived),
    );
    let thread_cap = Cap::Thread { ptr: tcb_object };
    cspace.write(init_cap::INIT_THREAD_TCB, &thread_cap);
}

/// seL4's `cteInsert` for boot: copies the cap in `source` (or `cap`, a derived form of
/// it) into the empty slot `destination` as its child in the derivation tree.
fn insert_copy(source: u64, destination: u64, cap: Option<Cap>) {
    let (Some(source_address), Some(destination_address)) =
        (SlotAddr::new(source), SlotAddr::new(destination))
    else {
        crate::kernel_panic!("bad slot address in boot cap insert");
    };
    let source_pointer = object_pointer::<Slot>(source);
    // SAFETY: both are slots in boot-owned, initialised objects (root CNode, root TCB);
    // the kernel is single-threaded and no references to them are live.
    unsafe {
        let source_slot = source_pointer.read();
        let next = source_slot.mdb.next();
        let new_cap = cap.unwrap_or(source_slot.cap());
        let node = MdbNode::EMPTY
            .with_prev(Some(source_address))
            .with_next(next);
        object_pointer::<Slot>(destination).write(Slot::new(&new_cap, node));
        (*source_pointer).mdb = source_slot.mdb.with_next(Some(destination_address));
        if let Some(next) = next {
            let next_pointer = object_pointer::<Slot>(next.addr());
            (*next_pointer).mdb = (*next_pointer).mdb.with_prev(Some(destination_address));
        }
    }
}

/// Untyped caps: device memory (all physical space below [`DEVICE_SPACE_END`] outside
/// RAM and the kernel's devices) first, then every byte of RAM not holding the kernel,
/// the root task's image or its boot objects; each region cut into aligned blocks.
fn create_untypeds(
    cspace: &mut RootCSpace,
    boot_info: &mut BootInfo,
    ram: &[PhysRange],
    kernel: PhysRange,
    image: PhysRange,
    root_server: PhysRange,
) {
    let start = cspace.next_free;
    let mut count = 0usize;
    let mut dropped = 0usize;
    let mut provide = |cspace: &mut RootCSpace, range: PhysRange, is_device: bool| {
        for_each_untyped_block(range, |block| {
            if count >= MAX_BOOTINFO_UNTYPED_CAPS {
                dropped += 1;
                return;
            }
            cspace.provide(&Cap::Untyped {
                paddr: block.paddr,
                size_bits: block.size_bits as u8,
                is_device,
                free_index: 0,
            });
            boot_info.untyped_list[count] = UntypedDesc {
                paddr: block.paddr,
                size_bits: block.size_bits as u8,
                is_device: u8::from(is_device),
                padding: [0; 6],
            };
            count += 1;
        });
    };

    let mut not_device = [PhysRange::default(); MAX_RAM_REGIONS + KERNEL_DEVICE_REGIONS.len()];
    for (range, region) in not_device.iter_mut().zip(ram) {
        *range = *region;
    }
    for (range, region) in not_device[ram.len()..]
        .iter_mut()
        .zip(KERNEL_DEVICE_REGIONS.iter())
    {
        *range = range_of(*region);
    }
    for_each_free_range(
        &[PhysRange::new(0, DEVICE_SPACE_END)],
        &not_device,
        |range| provide(cspace, range, true),
    );
    for_each_free_range(ram, &[kernel, image, root_server], |range| {
        provide(cspace, range, false)
    });
    if dropped > 0 {
        crate::log!(Warn, "{dropped} untyped regions did not fit in BootInfo");
    }
    boot_info.untyped = SlotRegion {
        start,
        end: cspace.next_free,
    };
}

/// The device tree region from the handoff, checked: inside RAM, starting with the FDT
/// magic, and exactly its header's total size. Empty if there is none.
fn checked_device_tree(handoff: &BootHandoff) -> PhysRange {
    let region = handoff.device_tree;
    if region.size() == 0 {
        return PhysRange::default();
    }
    let in_ram = handoff
        .ram_regions()
        .iter()
        .any(|ram| ram.start <= region.start && region.end <= ram.end);
    if !in_ram || !region.start.is_multiple_of(8) || region.size() < 40 {
        crate::kernel_panic!(
            "device tree region {:#x}..{:#x} invalid",
            region.start,
            region.end
        );
    }
    let header = object_pointer::<u32>(region.start);
    // SAFETY: the region is RAM in the kernel window (checked above), at least 40 bytes
    // long and 8-byte aligned, so the first two words are readable.
    let (magic, total_size) = unsafe {
        (
            u32::from_be(header.read()),
            u32::from_be(header.add(1).read()),
        )
    };
    if magic != FDT_MAGIC || u64::from(total_size) != region.size() {
        crate::kernel_panic!("device tree at {:#x} has a bad header", region.start);
    }
    range_of(region)
}

/// Writes the extra BootInfo: an FDT header followed by the device tree.
fn copy_device_tree(plan: &BootPlan, device_tree: PhysRange) {
    let Some(extra) = plan.objects.extra_boot_info else {
        return;
    };
    let header = BootInfoHeader {
        id: bootinfo_header_id::FDT,
        len: plan.extra_boot_info_size,
    };
    let header_size = core::mem::size_of::<BootInfoHeader>();
    // SAFETY: the extra BootInfo block (2^n bytes >= header + device tree) lies in the
    // root server memory, disjoint from the device tree (the plan keeps them apart);
    // both are RAM in the kernel window.
    unsafe {
        object_pointer::<BootInfoHeader>(extra).write(header);
        core::ptr::copy_nonoverlapping(
            object_pointer::<u8>(device_tree.start),
            object_pointer::<u8>(extra).add(header_size),
            device_tree.size() as usize,
        );
    }
}

fn zero(start: u64, size: u64) {
    // SAFETY: the caller passes the root server block, RAM in the kernel window that no
    // one else uses.
    unsafe { core::ptr::write_bytes(object_pointer::<u8>(start), 0, size as usize) };
}

fn range_of(region: PhysRegion) -> PhysRange {
    PhysRange::new(region.start, region.end)
}
