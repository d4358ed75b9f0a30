//! Untyped memory: UntypedRetype of every object type, its argument checks and error
//! replies, watermark and alignment, device untyped, and reuse after revoke.

use crate::child::{read_word, write_word};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::{CNode, Untyped};
use sel4::{Cap, CapRights, CapTag, Error, InvocationLabel, ObjectType, VmAttributes};

pub const TESTS: &[Test] = tests![
    untyped_retype_each_object_type,
    untyped_retype_many_objects,
    untyped_retype_bad_type_invalid_argument,
    untyped_retype_size_too_big_range_error,
    untyped_retype_cnode_size_zero_invalid_argument,
    untyped_retype_untyped_too_small_invalid_argument,
    untyped_retype_zero_objects_range_error,
    untyped_retype_too_many_objects_range_error,
    untyped_retype_offset_out_of_node_range_error,
    untyped_retype_window_overruns_node_range_error,
    untyped_retype_dest_not_cnode_failed_lookup,
    untyped_retype_occupied_slot_delete_first,
    untyped_retype_not_enough_memory,
    untyped_retype_alignment_and_watermark,
    untyped_retype_device_kernel_object_invalid_argument,
    untyped_retype_device_frame,
    untyped_revoke_reuses_zeroed_memory,
    untyped_copy_with_children_revoke_first,
    untyped_truncated_message,
    untyped_bad_label_illegal_operation,
];

/// Retype with raw arguments into the root CNode (depth 0 = the root cap itself).
fn retype_raw(
    untyped: u64,
    object_type: u64,
    size_bits: u64,
    offset: u64,
    count: u64,
) -> sel4::Reply {
    call(
        untyped,
        InvocationLabel::UntypedRetype,
        &[object_type, size_bits, 0, 0, offset, count],
        &[ROOT_CNODE],
    )
}

fn untyped_retype_each_object_type(ctx: &mut Ctx) -> Result<(), String> {
    let cases = [
        (ObjectType::Untyped, 12, CapTag::Untyped),
        (ObjectType::Tcb, 0, CapTag::Thread),
        (ObjectType::Endpoint, 0, CapTag::Endpoint),
        (ObjectType::Notification, 0, CapTag::Notification),
        (ObjectType::CNode, 4, CapTag::CNode),
        (ObjectType::VSpace, 0, CapTag::VSpace),
        (ObjectType::SmallPage, 0, CapTag::Frame),
        (ObjectType::PageTable, 0, CapTag::PageTable),
        // Last: it aligns up to the 2 MiB boundary and fills the test's 4 MiB untyped.
        (ObjectType::LargePage, 0, CapTag::Frame),
    ];
    for (object_type, size_bits, tag) in cases {
        let slot = ctx.retype(object_type, size_bits)?;
        expect_tag(slot, tag, &alloc::format!("{object_type:?}"))?;
    }
    Ok(())
}

fn untyped_retype_many_objects(ctx: &mut Ctx) -> Result<(), String> {
    let first = ctx.alloc_slot()?;
    for _ in 1..4 {
        ctx.alloc_slot()?;
    }
    expect_ok(
        retype_raw(ctx.untyped, ObjectType::Endpoint as u64, 0, first, 4),
        "retype 4 endpoints",
    )?;
    for slot in first..first + 4 {
        expect_tag(slot, CapTag::Endpoint, "each of 4 endpoints")?;
    }
    Ok(())
}

fn untyped_retype_bad_type_invalid_argument(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(ctx.untyped, 10, 0, slot, 1),
        Error::InvalidArgument,
        &[0],
        "object type 10",
    )?;
    expect_tag(slot, CapTag::Null, "destination after a failed retype")
}

fn untyped_retype_size_too_big_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(ctx.untyped, ObjectType::Untyped as u64, 48, slot, 1),
        Error::RangeError,
        &[0, u64::from(sel4::MAX_UNTYPED_BITS)],
        "untyped of 2^48",
    )
}

fn untyped_retype_cnode_size_zero_invalid_argument(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(ctx.untyped, ObjectType::CNode as u64, 0, slot, 1),
        Error::InvalidArgument,
        &[1],
        "CNode of radix 0",
    )
}

fn untyped_retype_untyped_too_small_invalid_argument(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(ctx.untyped, ObjectType::Untyped as u64, 3, slot, 1),
        Error::InvalidArgument,
        &[1],
        "untyped of 2^3",
    )
}

fn untyped_retype_zero_objects_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(ctx.untyped, ObjectType::Endpoint as u64, 0, slot, 0),
        Error::RangeError,
        &[1, 256],
        "zero objects",
    )
}

fn untyped_retype_too_many_objects_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(ctx.untyped, ObjectType::Endpoint as u64, 0, slot, 257),
        Error::RangeError,
        &[1, 256],
        "257 objects (fan-out limit 256)",
    )
}

/// A CNode of radix 2 (4 slots) reachable from the root CNode at the returned CPtr.
fn small_cnode(ctx: &mut Ctx) -> Result<u64, String> {
    ctx.retype(ObjectType::CNode, 2)
}

fn retype_into(untyped: u64, cnode: u64, offset: u64, count: u64) -> sel4::Reply {
    call(
        untyped,
        InvocationLabel::UntypedRetype,
        &[
            ObjectType::Endpoint as u64,
            0,
            cnode,
            WORD_DEPTH,
            offset,
            count,
        ],
        &[ROOT_CNODE],
    )
}

fn untyped_retype_offset_out_of_node_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let cnode = small_cnode(ctx)?;
    expect_error(
        retype_into(ctx.untyped, cnode, 4, 1),
        Error::RangeError,
        &[0, 3],
        "offset 4 in a 4-slot CNode",
    )
}

fn untyped_retype_window_overruns_node_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let cnode = small_cnode(ctx)?;
    expect_error(
        retype_into(ctx.untyped, cnode, 2, 3),
        Error::RangeError,
        &[1, 2],
        "3 objects from offset 2 of a 4-slot CNode",
    )?;
    expect_ok(
        retype_into(ctx.untyped, cnode, 2, 2),
        "2 objects from offset 2",
    )?;
    Ok(())
}

fn untyped_retype_dest_not_cnode_failed_lookup(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let reply = call(
        ctx.untyped,
        InvocationLabel::UntypedRetype,
        &[ObjectType::Endpoint as u64, 0, 0, 0, 0, 1],
        &[endpoint],
    );
    // Destination (depth 0: the root argument itself) is not a CNode: FailedLookup, not
    // the source, MissingCapability with 0 bits left.
    expect_error(
        reply,
        Error::FailedLookup,
        &[0, 2, 0],
        "destination root an endpoint",
    )
}

fn untyped_retype_occupied_slot_delete_first(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    expect_error(
        retype_raw(ctx.untyped, ObjectType::Notification as u64, 0, endpoint, 1),
        Error::DeleteFirst,
        &[],
        "retype into an occupied slot",
    )?;
    expect_tag(endpoint, CapTag::Endpoint, "occupied slot keeps its cap")
}

fn untyped_retype_not_enough_memory(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 12)?;
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(small, ObjectType::LargePage as u64, 0, slot, 1),
        Error::NotEnoughMemory,
        &[4096],
        "2 MiB frame from a 4 KiB untyped",
    )?;
    expect_error(
        retype_raw(small, ObjectType::Tcb as u64, 0, slot, 3),
        Error::NotEnoughMemory,
        &[4096],
        "three 2 KiB TCBs from a 4 KiB untyped",
    )
}

fn untyped_retype_alignment_and_watermark(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 12)?;
    // An endpoint at offset 0, then a TCB aligned up to 2048, which fills the untyped.
    ctx.retype_from(small, ObjectType::Endpoint, 0)?;
    ctx.retype_from(small, ObjectType::Tcb, 0)?;
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(small, ObjectType::Endpoint as u64, 0, slot, 1),
        Error::NotEnoughMemory,
        &[0],
        "endpoint after endpoint + aligned TCB",
    )
}

fn device_untyped(ctx: &mut Ctx) -> Result<u64, String> {
    let (device, _) = ctx
        .env
        .device_untyped
        .ok_or("BootInfo lists no device untyped of 4 KiB or more")?;
    ctx.revoke_at_cleanup(device);
    Ok(device)
}

fn untyped_retype_device_kernel_object_invalid_argument(ctx: &mut Ctx) -> Result<(), String> {
    let device = device_untyped(ctx)?;
    let slot = ctx.alloc_slot()?;
    expect_error(
        retype_raw(device, ObjectType::Tcb as u64, 0, slot, 1),
        Error::InvalidArgument,
        &[1],
        "TCB from device untyped",
    )?;
    expect_error(
        retype_raw(device, ObjectType::Endpoint as u64, 0, slot, 1),
        Error::InvalidArgument,
        &[1],
        "endpoint from device untyped",
    )
}

fn untyped_retype_device_frame(ctx: &mut Ctx) -> Result<(), String> {
    let device = device_untyped(ctx)?;
    let frame = ctx.retype_from(device, ObjectType::SmallPage, 0)?;
    expect_tag(frame, CapTag::Frame, "frame from device untyped")
}

fn untyped_revoke_reuses_zeroed_memory(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 12)?;
    let frame = ctx.retype_from(small, ObjectType::SmallPage, 0)?;
    let address = ctx.map_scratch(frame, CapRights::read_write(), VmAttributes::default())?;
    write_word(address + 64, 0xdead_beef);
    ensure!(
        read_word(address + 64) == 0xdead_beef,
        "write through the mapping did not stick"
    );
    let root = Cap::<CNode>::from_bits(ROOT_CNODE);
    sel(root.cnode_revoke(small, WORD_DEPTH), "revoke the untyped")?;
    expect_tag(frame, CapTag::Null, "frame cap after revoking its untyped")?;
    // The untyped has no children again, so the whole 4 KiB is available and is zeroed.
    sel(
        Cap::<Untyped>::from_bits(small).untyped_retype(
            ObjectType::SmallPage,
            0,
            root,
            0,
            0,
            frame,
            1,
        ),
        "retype the frame again",
    )?;
    let again = ctx.map_scratch(frame, CapRights::read_write(), VmAttributes::default())?;
    let value = read_word(again + 64);
    ensure!(value == 0, "reused memory reads {value:#x}, not zero");
    Ok(())
}

fn untyped_copy_with_children_revoke_first(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 12)?;
    ctx.retype_from(small, ObjectType::Endpoint, 0)?;
    let slot = ctx.alloc_slot()?;
    let reply = call(
        ROOT_CNODE,
        InvocationLabel::CNodeCopy,
        &[slot, WORD_DEPTH, small, WORD_DEPTH, CapRights::all().0],
        &[ROOT_CNODE],
    );
    expect_error(
        reply,
        Error::RevokeFirst,
        &[],
        "copy an untyped that has children",
    )
}

fn untyped_truncated_message(ctx: &mut Ctx) -> Result<(), String> {
    let reply = call(
        ctx.untyped,
        InvocationLabel::UntypedRetype,
        &[ObjectType::Endpoint as u64, 0, 0, 0, 0],
        &[ROOT_CNODE],
    );
    expect_error(reply, Error::TruncatedMessage, &[], "retype with 5 words")
}

fn untyped_bad_label_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let reply = call(
        ctx.untyped,
        InvocationLabel::CNodeCopy,
        &[0; 6],
        &[ROOT_CNODE],
    );
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "CNodeCopy label on an untyped",
    )
}
