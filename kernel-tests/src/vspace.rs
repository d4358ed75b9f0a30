//! Address spaces: ASIDControl MakePool, ASIDPool Assign, PageTable Map/Unmap at each
//! level, Page Map/Unmap/GetAddress for 4 KiB and 2 MiB frames, their errors, and the MMU
//! enforcing read-only and execute-never, plus a thread in a VSpace of its own.

use crate::child::{asm, read_word, write_bytes, write_word};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::{AsidControl, AsidPool, Granule, PageTable};
use sel4::{Cap, CapRights, CapTag, Error, FaultType, InvocationLabel, ObjectType, VmAttributes};

pub const TESTS: &[Test] = tests![
    vspace_asid_make_pool_and_assign,
    vspace_asid_make_pool_wrong_size_invalid_capability,
    vspace_asid_assign_twice_invalid_capability,
    vspace_page_table_map_each_level_then_delete_first,
    vspace_map_levels_in_root_vspace_read_write,
    vspace_frame_map_without_page_table_failed_lookup,
    vspace_frame_map_misaligned_alignment_error,
    vspace_map_unassigned_vspace_invalid_capability,
    vspace_map_above_user_top_invalid_argument,
    vspace_frame_get_address_consecutive_frames,
    vspace_frame_remap_after_unmap_keeps_contents,
    vspace_frame_map_second_address_invalid_argument,
    vspace_frame_unmap_unmapped_is_harmless,
    vspace_page_table_map_twice_invalid_capability,
    vspace_page_table_unmap_then_map_elsewhere,
    vspace_large_page_map_read_write,
    vspace_read_only_mapping_write_faults,
    vspace_execute_never_fetch_faults,
    vspace_thread_in_its_own_vspace,
];

fn map_page_table(page_table: u64, vspace: u64, address: u64) -> sel4::Reply {
    call(
        page_table,
        InvocationLabel::ARMPageTableMap,
        &[address, VmAttributes::default().0],
        &[vspace],
    )
}

fn map_frame(
    frame: u64,
    vspace: u64,
    address: u64,
    rights: CapRights,
    attributes: u64,
) -> sel4::Reply {
    call(
        frame,
        InvocationLabel::ARMPageMap,
        &[address, rights.0, attributes],
        &[vspace],
    )
}

/// Maps page tables at `address` in `vspace` until every level exists (three of them:
/// the levels below the VSpace root).
fn map_all_levels(ctx: &mut Ctx, vspace: u64, address: u64) -> Result<(), String> {
    for level in 1..=3 {
        let page_table = ctx.retype(ObjectType::PageTable, 0)?;
        expect_ok(
            map_page_table(page_table, vspace, address),
            &alloc::format!("map a page table at level {level}"),
        )?;
    }
    Ok(())
}

/// A 1 GiB-aligned region of the root VSpace under its own top-level entry, distinct per
/// test slot window (top-level entries 2 and up; the image uses entry 0).
fn root_region(ctx: &Ctx) -> u64 {
    (2 + (ctx.index as u64 % 200)) << 39
}

fn vspace_asid_make_pool_and_assign(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 12)?;
    let pool = ctx.alloc_slot()?;
    sel(
        Cap::<AsidControl>::from_bits(ASID_CONTROL).asid_control_make_pool(
            Cap::from_bits(small),
            Cap::from_bits(ROOT_CNODE),
            pool,
            WORD_DEPTH,
        ),
        "MakePool",
    )?;
    expect_tag(pool, CapTag::AsidPool, "new pool")?;
    let vspace = ctx.retype(ObjectType::VSpace, 0)?;
    sel(
        Cap::<AsidPool>::from_bits(pool).asid_pool_assign(Cap::from_bits(vspace)),
        "Assign from the new pool",
    )?;
    let page_table = ctx.retype(ObjectType::PageTable, 0)?;
    expect_ok(
        map_page_table(page_table, vspace, 0x1000_0000),
        "map into the assigned VSpace",
    )?;
    // The untyped now backs the pool: it cannot make another.
    let again = ctx.alloc_slot()?;
    let reply = call(
        ASID_CONTROL,
        InvocationLabel::ARMASIDControlMakePool,
        &[again, WORD_DEPTH],
        &[small, ROOT_CNODE],
    );
    expect_error(
        reply,
        Error::RevokeFirst,
        &[],
        "MakePool from a used untyped",
    )
}

fn vspace_asid_make_pool_wrong_size_invalid_capability(ctx: &mut Ctx) -> Result<(), String> {
    let untyped = ctx.retype(ObjectType::Untyped, 13)?;
    let slot = ctx.alloc_slot()?;
    let reply = call(
        ASID_CONTROL,
        InvocationLabel::ARMASIDControlMakePool,
        &[slot, WORD_DEPTH],
        &[untyped, ROOT_CNODE],
    );
    expect_error(
        reply,
        Error::InvalidCapability,
        &[1],
        "MakePool from an 8 KiB untyped",
    )
}

fn vspace_asid_assign_twice_invalid_capability(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.assigned_vspace()?;
    let reply = call(
        ASID_POOL,
        InvocationLabel::ARMASIDPoolAssign,
        &[],
        &[vspace],
    );
    expect_error(
        reply,
        Error::InvalidCapability,
        &[1],
        "assign an assigned VSpace",
    )?;
    let endpoint = ctx.endpoint()?;
    let reply = call(
        ASID_POOL,
        InvocationLabel::ARMASIDPoolAssign,
        &[],
        &[endpoint],
    );
    expect_error(reply, Error::InvalidCapability, &[1], "assign an endpoint")
}

fn vspace_page_table_map_each_level_then_delete_first(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.assigned_vspace()?;
    let address = 0x40_0020_0000;
    map_all_levels(ctx, vspace, address)?;
    let extra = ctx.retype(ObjectType::PageTable, 0)?;
    expect_error(
        map_page_table(extra, vspace, address),
        Error::DeleteFirst,
        &[],
        "a fourth page table where every level exists",
    )?;
    let frame = ctx.frame()?;
    expect_ok(
        map_frame(
            frame,
            vspace,
            address,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        "map a frame below the three levels",
    )?;
    Ok(())
}

fn vspace_map_levels_in_root_vspace_read_write(ctx: &mut Ctx) -> Result<(), String> {
    let address = root_region(ctx) + 0x3000;
    map_all_levels(ctx, ROOT_VSPACE, address)?;
    let frame = ctx.frame()?;
    expect_ok(
        map_frame(
            frame,
            ROOT_VSPACE,
            address,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        "map a frame in the root VSpace",
    )?;
    ensure!(read_word(address + 8) == 0, "a fresh frame is not zeroed");
    write_word(address + 8, 0x1357);
    ensure!(read_word(address + 8) == 0x1357, "write did not stick");
    Ok(())
}

fn vspace_frame_map_without_page_table_failed_lookup(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.assigned_vspace()?;
    let frame = ctx.frame()?;
    // Nothing below the root: the walk stops at the top level with 39 bits left.
    expect_error(
        map_frame(
            frame,
            vspace,
            0x1000_0000,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        Error::FailedLookup,
        &[0, 2, 39],
        "map without page tables",
    )?;
    expect_tag(frame, CapTag::Frame, "frame after the failed map")
}

fn vspace_frame_map_misaligned_alignment_error(ctx: &mut Ctx) -> Result<(), String> {
    let large = ctx.retype(ObjectType::LargePage, 0)?;
    let vspace = ctx.assigned_vspace()?;
    let frame = ctx.frame()?;
    expect_error(
        map_frame(
            frame,
            vspace,
            0x1000_0800,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        Error::AlignmentError,
        &[],
        "4 KiB frame at +0x800",
    )?;
    expect_error(
        map_frame(
            large,
            vspace,
            0x1000_1000,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        Error::AlignmentError,
        &[],
        "2 MiB frame at a 4 KiB boundary",
    )
}

fn vspace_map_unassigned_vspace_invalid_capability(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.retype(ObjectType::VSpace, 0)?;
    let frame = ctx.frame()?;
    let page_table = ctx.retype(ObjectType::PageTable, 0)?;
    expect_error(
        map_frame(
            frame,
            vspace,
            0x1000_0000,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        Error::InvalidCapability,
        &[1],
        "map a frame into a VSpace without an ASID",
    )?;
    expect_error(
        map_page_table(page_table, vspace, 0x1000_0000),
        Error::InvalidCapability,
        &[1],
        "map a page table into a VSpace without an ASID",
    )
}

fn vspace_map_above_user_top_invalid_argument(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.assigned_vspace()?;
    let page_table = ctx.retype(ObjectType::PageTable, 0)?;
    expect_error(
        map_page_table(page_table, vspace, sel4::USER_TOP + 1),
        Error::InvalidArgument,
        &[0],
        "page table above the user top",
    )?;
    let frame = ctx.frame()?;
    expect_error(
        map_frame(
            frame,
            vspace,
            sel4::USER_TOP + 1,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        Error::InvalidArgument,
        &[0],
        "frame above the user top",
    )
}

fn vspace_frame_get_address_consecutive_frames(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 13)?;
    let first = ctx.retype_from(small, ObjectType::SmallPage, 0)?;
    let second = ctx.retype_from(small, ObjectType::SmallPage, 0)?;
    let one = sel(
        Cap::<Granule>::from_bits(first).frame_get_address(),
        "GetAddress",
    )?;
    let two = sel(
        Cap::<Granule>::from_bits(second).frame_get_address(),
        "GetAddress",
    )?;
    ensure!(
        one & 0xfff == 0,
        "frame address {one:#x} is not page aligned"
    );
    ensure!(
        (0x4000_0000..0x8000_0000).contains(&one),
        "frame address {one:#x} is not in RAM"
    );
    ensure!(
        two == one + 4096,
        "second frame at {two:#x}, first at {one:#x}"
    );
    Ok(())
}

fn vspace_frame_remap_after_unmap_keeps_contents(ctx: &mut Ctx) -> Result<(), String> {
    let (frame, first) = ctx.scratch_page()?;
    write_word(first + 0x100, 0xfeed);
    sel(Cap::<Granule>::from_bits(frame).frame_unmap(), "Unmap")?;
    let second = ctx.map_scratch(frame, CapRights::read_write(), VmAttributes::default())?;
    ensure!(
        read_word(second + 0x100) == 0xfeed,
        "contents lost across unmap/map"
    );
    Ok(())
}

fn vspace_frame_map_second_address_invalid_argument(ctx: &mut Ctx) -> Result<(), String> {
    let (frame, _) = ctx.scratch_page()?;
    let other = ctx.scratch_address()?;
    expect_error(
        map_frame(
            frame,
            ROOT_VSPACE,
            other,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        Error::InvalidArgument,
        &[0],
        "map a mapped frame cap at a second address",
    )
}

fn vspace_frame_unmap_unmapped_is_harmless(ctx: &mut Ctx) -> Result<(), String> {
    let frame = ctx.frame()?;
    sel(
        Cap::<Granule>::from_bits(frame).frame_unmap(),
        "unmap an unmapped frame",
    )
}

fn vspace_page_table_map_twice_invalid_capability(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.assigned_vspace()?;
    let page_table = ctx.retype(ObjectType::PageTable, 0)?;
    expect_ok(map_page_table(page_table, vspace, 0x1000_0000), "first map")?;
    expect_error(
        map_page_table(page_table, vspace, 0x80_0000_0000),
        Error::InvalidCapability,
        &[0],
        "map a mapped page table again",
    )
}

fn vspace_page_table_unmap_then_map_elsewhere(ctx: &mut Ctx) -> Result<(), String> {
    let vspace = ctx.assigned_vspace()?;
    let page_table = ctx.retype(ObjectType::PageTable, 0)?;
    expect_ok(map_page_table(page_table, vspace, 0x1000_0000), "map")?;
    sel(
        Cap::<PageTable>::from_bits(page_table).page_table_unmap(),
        "Unmap",
    )?;
    expect_ok(
        map_page_table(page_table, vspace, 0x80_0000_0000),
        "map elsewhere after unmap",
    )?;
    let copy = ctx.copy(page_table, CapRights::all())?;
    let reply = call(page_table, InvocationLabel::ARMPageTableUnmap, &[], &[]);
    let _ = copy;
    expect_error(
        reply,
        Error::RevokeFirst,
        &[],
        "unmap a page table that has a copy",
    )
}

fn vspace_large_page_map_read_write(ctx: &mut Ctx) -> Result<(), String> {
    // First object from the test's untyped, so it is 2 MiB aligned at its start.
    let large = ctx.retype(ObjectType::LargePage, 0)?;
    let base = root_region(ctx);
    for level in 1..=2 {
        let page_table = ctx.retype(ObjectType::PageTable, 0)?;
        expect_ok(
            map_page_table(page_table, ROOT_VSPACE, base),
            &alloc::format!("page table at level {level}"),
        )?;
    }
    expect_ok(
        map_frame(
            large,
            ROOT_VSPACE,
            base,
            CapRights::read_write(),
            VmAttributes::default().0,
        ),
        "map a 2 MiB frame",
    )?;
    let physical = sel(
        Cap::<Granule>::from_bits(large).frame_get_address(),
        "GetAddress",
    )?;
    ensure!(
        physical & 0x1f_ffff == 0,
        "2 MiB frame at {physical:#x} is not 2 MiB aligned"
    );
    write_word(base + 0x10_0008, 0x2468);
    write_word(base + 0x1f_fff8, 0x1357);
    ensure!(
        read_word(base + 0x10_0008) == 0x2468 && read_word(base + 0x1f_fff8) == 0x1357,
        "reads back through the 2 MiB mapping differ"
    );
    // A page table cannot go where the 2 MiB frame is mapped.
    let page_table = ctx.retype(ObjectType::PageTable, 0)?;
    expect_error(
        map_page_table(page_table, ROOT_VSPACE, base),
        Error::DeleteFirst,
        &[],
        "page table over a 2 MiB mapping",
    )
}

/// Fault and park endpoints for a thread whose fault the test reads.
fn fault_endpoints(ctx: &mut Ctx) -> Result<(u64, u64, u64), String> {
    let fault = ctx.endpoint()?;
    let fault_send = ctx.mint(fault, CapRights::all(), 0xfb)?;
    let park = ctx.park_endpoint()?;
    Ok((fault, fault_send, park))
}

fn vspace_read_only_mapping_write_faults(ctx: &mut Ctx) -> Result<(), String> {
    let frame = ctx.frame()?;
    let address = ctx.map_scratch(frame, CapRights::read_only(), VmAttributes::default())?;
    ensure!(read_word(address) == 0, "read-only page does not read zero");
    let (fault, fault_send, park) = fault_endpoints(ctx)?;
    let mut thread = Thread::new(asm::store_child());
    thread.fault_ep = fault_send;
    thread.saved = [address + 0x20, 0, park, 0xbad];
    ctx.spawn(&thread)?;
    let message = poll(fault, "the VMFault")?;
    ensure!(
        message.info.label() == FaultType::VmFault as u64,
        "fault label {}",
        message.info.label()
    );
    ensure!(
        message.mr(0) == asm::store_insn(),
        "IP {:#x}",
        message.mr(0)
    );
    ensure!(message.mr(1) == address + 0x20, "Addr {:#x}", message.mr(1));
    ensure!(message.mr(2) == 0, "PrefetchFault {}", message.mr(2));
    let fsr = message.mr(3);
    ensure!(fsr >> 26 == 0x24, "FSR {fsr:#x}: not a data abort from EL0");
    ensure!(fsr & (1 << 6) != 0, "FSR {fsr:#x}: write not flagged");
    ensure!(fsr & 0x3c == 0x0c, "FSR {fsr:#x}: not a permission fault");
    ensure!(
        read_word(address + 0x20) == 0,
        "the store went through a read-only mapping"
    );
    Ok(())
}

fn vspace_execute_never_fetch_faults(ctx: &mut Ctx) -> Result<(), String> {
    let frame = ctx.frame()?;
    let attributes = VmAttributes(VmAttributes::default().0 | VmAttributes::EXECUTE_NEVER);
    let address = ctx.map_scratch(frame, CapRights::read_write(), attributes)?;
    write_bytes(address, asm::pic_code());
    let (fault, fault_send, park) = fault_endpoints(ctx)?;
    let mut thread = Thread::new(address);
    thread.fault_ep = fault_send;
    thread.saved = [0, 0, park, 0];
    ctx.spawn(&thread)?;
    let message = poll(fault, "the instruction fetch fault")?;
    ensure!(
        message.info.label() == FaultType::VmFault as u64,
        "fault label {}",
        message.info.label()
    );
    ensure!(
        message.mr(0) == address,
        "IP {:#x}, expected {address:#x}",
        message.mr(0)
    );
    ensure!(message.mr(1) == address, "Addr {:#x}", message.mr(1));
    ensure!(message.mr(2) == 1, "PrefetchFault {}", message.mr(2));
    let fsr = message.mr(3);
    ensure!(
        fsr >> 26 == 0x20,
        "FSR {fsr:#x}: not an instruction abort from EL0"
    );
    Ok(())
}

fn vspace_thread_in_its_own_vspace(ctx: &mut Ctx) -> Result<(), String> {
    let code_address = 0x1000_0000;
    let vspace = ctx.assigned_vspace()?;
    map_all_levels(ctx, vspace, code_address)?;
    let (frame, staging) = ctx.scratch_page()?;
    let code = asm::pic_code();
    write_bytes(staging, code);
    sel(
        Cap::<Granule>::from_bits(frame).frame_unify_instruction(0, code.len() as u64),
        "Page_Unify_Instruction",
    )?;
    let copy = ctx.copy(frame, CapRights::all())?;
    expect_ok(
        map_frame(
            copy,
            vspace,
            code_address,
            CapRights::read_only(),
            VmAttributes::default().0,
        ),
        "map the code in the new VSpace",
    )?;
    let (fault, fault_send, park) = fault_endpoints(ctx)?;
    let mut thread = Thread::new(code_address);
    thread.fault_ep = fault_send;
    thread.vspace = vspace;
    thread.stack = StackChoice::None;
    thread.saved = [0, 0, park, 0];
    ctx.spawn(&thread)?;
    let message = poll(fault, "the thread's UnknownSyscall")?;
    ensure!(
        message.info.label() == FaultType::UnknownSyscall as u64,
        "fault label {} (a VMFault means the code was not mapped or executable)",
        message.info.label()
    );
    let svc = code_address + (asm::pic_svc() - asm::pic_start());
    ensure!(
        message.mr(8) == svc,
        "FaultIP {:#x}, expected {svc:#x}",
        message.mr(8)
    );
    ensure!(
        message.mr(12) == 0x4343,
        "Syscall word {:#x}",
        message.mr(12)
    );
    Ok(())
}
