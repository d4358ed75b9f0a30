//! CNodes: Copy, Mint, Move, Mutate, Rotate, Delete, Revoke, multi-level addressing with
//! guards and depths, and the errors each reports.

use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::CNode;
use sel4::{Cap, CapRights, CapTag, Error, InvocationLabel, ObjectType};

pub const TESTS: &[Test] = tests![
    cnode_copy_and_delete,
    cnode_copy_empty_source_failed_lookup,
    cnode_copy_occupied_dest_delete_first,
    cnode_copy_irq_control_illegal_operation,
    cnode_copy_read_only_endpoint_cannot_send,
    cnode_mint_badged_rebadge_illegal_operation,
    cnode_move_empties_source,
    cnode_mutate_endpoint_illegal_operation,
    cnode_rotate_three_slots,
    cnode_revoke_deletes_derived_caps,
    cnode_revoke_untyped_deletes_objects,
    cnode_delete_empty_slot_succeeds,
    cnode_two_level_guarded_addressing,
    cnode_guard_mismatch_failed_lookup,
    cnode_depth_mismatch_failed_lookup,
    cnode_depth_out_of_range_range_error,
    cnode_bad_label_illegal_operation,
];

fn root() -> Cap<CNode> {
    Cap::from_bits(ROOT_CNODE)
}

fn cnode_copy_and_delete(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let copy = ctx.copy(endpoint, CapRights::all())?;
    expect_tag(copy, CapTag::Endpoint, "copy")?;
    sel(root().cnode_delete(copy, WORD_DEPTH), "delete the copy")?;
    expect_tag(copy, CapTag::Null, "deleted copy")?;
    expect_tag(
        endpoint,
        CapTag::Endpoint,
        "original after deleting the copy",
    )
}

fn cnode_copy_empty_source_failed_lookup(ctx: &mut Ctx) -> Result<(), String> {
    // A guardless radix-4 CNode addressed directly with depth 4.
    let cnode = ctx.retype(ObjectType::CNode, 4)?;
    let reply = call(
        cnode,
        InvocationLabel::CNodeCopy,
        &[1, 4, 2, 4, CapRights::all().0],
        &[cnode],
    );
    // The source failed: MR0 = 1, MissingCapability (2) with the source depth (4) left.
    expect_error(
        reply,
        Error::FailedLookup,
        &[1, 2, 4],
        "copy from an empty slot",
    )
}

fn cnode_copy_occupied_dest_delete_first(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let notification = ctx.notification()?;
    let reply = call(
        ROOT_CNODE,
        InvocationLabel::CNodeCopy,
        &[
            notification,
            WORD_DEPTH,
            endpoint,
            WORD_DEPTH,
            CapRights::all().0,
        ],
        &[ROOT_CNODE],
    );
    expect_error(reply, Error::DeleteFirst, &[], "copy onto an occupied slot")?;
    expect_tag(
        notification,
        CapTag::Notification,
        "occupied destination untouched",
    )
}

fn cnode_copy_irq_control_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    let reply = call(
        ROOT_CNODE,
        InvocationLabel::CNodeCopy,
        &[
            slot,
            WORD_DEPTH,
            IRQ_CONTROL,
            WORD_DEPTH,
            CapRights::all().0,
        ],
        &[ROOT_CNODE],
    );
    // IRQControl cannot be derived.
    expect_error(reply, Error::IllegalOperation, &[], "copy IRQControl")?;
    expect_tag(slot, CapTag::Null, "destination after the failed copy")
}

fn cnode_copy_read_only_endpoint_cannot_send(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let read_only = ctx.copy(endpoint, CapRights::read_only())?;
    // Invoking an endpoint without send rights is an InvalidCapability error (for Call).
    let reply = call(read_only, InvocationLabel::UntypedRetype, &[], &[]);
    expect_error(
        reply,
        Error::InvalidCapability,
        &[0],
        "Call on a read-only endpoint",
    )
}

fn cnode_mint_badged_rebadge_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x55)?;
    expect_tag(badged, CapTag::Endpoint, "badged endpoint")?;
    let slot = ctx.alloc_slot()?;
    let reply = call(
        ROOT_CNODE,
        InvocationLabel::CNodeMint,
        &[
            slot,
            WORD_DEPTH,
            badged,
            WORD_DEPTH,
            CapRights::all().0,
            0x66,
        ],
        &[ROOT_CNODE],
    );
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "mint a badge onto a badged cap",
    )
}

fn cnode_move_empties_source(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let destination = ctx.alloc_slot()?;
    sel(
        root().cnode_move(destination, WORD_DEPTH, root(), endpoint, WORD_DEPTH),
        "move",
    )?;
    expect_tag(endpoint, CapTag::Null, "source after move")?;
    expect_tag(destination, CapTag::Endpoint, "destination after move")
}

fn cnode_mutate_endpoint_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    // Mutate keeps a cap's badge: updating an endpoint's data that way yields no cap.
    let endpoint = ctx.endpoint()?;
    let destination = ctx.alloc_slot()?;
    let reply = call(
        ROOT_CNODE,
        InvocationLabel::CNodeMutate,
        &[destination, WORD_DEPTH, endpoint, WORD_DEPTH, 0x5],
        &[ROOT_CNODE],
    );
    expect_error(reply, Error::IllegalOperation, &[], "mutate an endpoint")?;
    expect_tag(endpoint, CapTag::Endpoint, "source after failed mutate")
}

fn cnode_rotate_three_slots(ctx: &mut Ctx) -> Result<(), String> {
    let source = ctx.retype(ObjectType::Tcb, 0)?;
    let pivot = ctx.retype(ObjectType::Untyped, 12)?;
    let destination = ctx.alloc_slot()?;
    sel(
        root().cnode_rotate(
            destination,
            WORD_DEPTH,
            root(),
            pivot,
            WORD_DEPTH,
            0,
            root(),
            source,
            WORD_DEPTH,
            0,
        ),
        "rotate",
    )?;
    expect_tag(
        destination,
        CapTag::Untyped,
        "destination gets the pivot's cap",
    )?;
    expect_tag(pivot, CapTag::Thread, "pivot gets the source's cap")?;
    expect_tag(source, CapTag::Null, "source emptied")
}

fn cnode_revoke_deletes_derived_caps(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let copy = ctx.copy(endpoint, CapRights::all())?;
    let badged = ctx.mint(endpoint, CapRights::all(), 7)?;
    let copy_of_badged = ctx.copy(badged, CapRights::all())?;
    sel(root().cnode_revoke(endpoint, WORD_DEPTH), "revoke")?;
    expect_tag(endpoint, CapTag::Endpoint, "revoked cap itself stays")?;
    for (slot, what) in [
        (copy, "copy"),
        (badged, "badged child"),
        (copy_of_badged, "grandchild"),
    ] {
        expect_tag(slot, CapTag::Null, what)?;
    }
    Ok(())
}

fn cnode_revoke_untyped_deletes_objects(ctx: &mut Ctx) -> Result<(), String> {
    let small = ctx.retype(ObjectType::Untyped, 14)?;
    let tcb = ctx.retype_from(small, ObjectType::Tcb, 0)?;
    let endpoint = ctx.retype_from(small, ObjectType::Endpoint, 0)?;
    let copy = ctx.copy(endpoint, CapRights::all())?;
    sel(root().cnode_revoke(small, WORD_DEPTH), "revoke the untyped")?;
    for (slot, what) in [
        (tcb, "TCB"),
        (endpoint, "endpoint"),
        (copy, "copy of endpoint"),
    ] {
        expect_tag(slot, CapTag::Null, what)?;
    }
    expect_tag(small, CapTag::Untyped, "untyped itself")?;
    // All of its memory is free again.
    ctx.retype_from(small, ObjectType::CNode, 9)?;
    Ok(())
}

fn cnode_delete_empty_slot_succeeds(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    sel(
        root().cnode_delete(slot, WORD_DEPTH),
        "delete an empty slot",
    )
}

/// A two-level CSpace: a guardless radix-4 CNode `top` whose slot 3 holds a radix-4 CNode
/// with a 4-bit guard 0xa. Returns (top's CPtr, the lower CNode's own CPtr).
fn two_level(ctx: &mut Ctx) -> Result<(u64, u64), String> {
    let top = ctx.retype(ObjectType::CNode, 4)?;
    let lower = ctx.retype(ObjectType::CNode, 4)?;
    // guard 0xa, guard size 4: seL4_CNode_CapData = guard << 6 | guardSize.
    let guard_data = (0xa << 6) | 4;
    sel(
        Cap::<CNode>::from_bits(top).cnode_mint(
            3,
            4,
            root(),
            lower,
            WORD_DEPTH,
            CapRights::all(),
            guard_data,
        ),
        "mint the guarded lower CNode into top[3]",
    )?;
    Ok((top, lower))
}

fn cnode_two_level_guarded_addressing(ctx: &mut Ctx) -> Result<(), String> {
    let (top, lower) = two_level(ctx)?;
    let endpoint = ctx.endpoint()?;
    // top radix 4 (index 3), then guard 0xa (4 bits), then lower radix 4 (index 5).
    let index = (3 << 8) | (0xa << 4) | 5;
    sel(
        Cap::<CNode>::from_bits(top).cnode_copy(
            index,
            12,
            root(),
            endpoint,
            WORD_DEPTH,
            CapRights::all(),
        ),
        "copy through two levels",
    )?;
    // Read it back through the lower CNode directly (radix 4, no guard on its own cap).
    let back = ctx.alloc_slot()?;
    sel(
        root().cnode_copy(
            back,
            WORD_DEPTH,
            Cap::from_bits(lower),
            5,
            4,
            CapRights::all(),
        ),
        "copy back out of the lower CNode",
    )?;
    expect_tag(
        back,
        CapTag::Endpoint,
        "cap placed through the guarded path",
    )
}

fn cnode_guard_mismatch_failed_lookup(ctx: &mut Ctx) -> Result<(), String> {
    let (top, _) = two_level(ctx)?;
    let endpoint = ctx.endpoint()?;
    let index = (3 << 8) | (0xb << 4) | 5;
    let reply = call(
        top,
        InvocationLabel::CNodeCopy,
        &[index, 12, endpoint, WORD_DEPTH, CapRights::all().0],
        &[ROOT_CNODE],
    );
    expect_error(reply, Error::FailedLookup, &[0, 4], "wrong guard")
}

fn cnode_depth_mismatch_failed_lookup(ctx: &mut Ctx) -> Result<(), String> {
    let (top, _) = two_level(ctx)?;
    let endpoint = ctx.endpoint()?;
    // 6 bits: 4 resolve in top, the remaining 2 cannot cover the lower level's 8.
    let reply = call(
        top,
        InvocationLabel::CNodeCopy,
        &[3 << 2, 6, endpoint, WORD_DEPTH, CapRights::all().0],
        &[ROOT_CNODE],
    );
    let error = reply.error();
    ensure!(
        error == Some(Error::FailedLookup),
        "expected FailedLookup, got {error:?}"
    );
    let failure = reply.mr(1);
    ensure!(
        failure == 3 || failure == 4,
        "lookup failure type {failure}, expected DepthMismatch (3) or GuardMismatch (4)"
    );
    ensure!(
        reply.mr(0) == 0,
        "MR0 (failed in source) is {}",
        reply.mr(0)
    );
    Ok(())
}

fn cnode_depth_out_of_range_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let slot = ctx.alloc_slot()?;
    let reply = call(
        ROOT_CNODE,
        InvocationLabel::CNodeCopy,
        &[slot, 65, endpoint, WORD_DEPTH, CapRights::all().0],
        &[ROOT_CNODE],
    );
    expect_error(reply, Error::RangeError, &[1, 64], "destination depth 65")
}

fn cnode_bad_label_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let _ = ctx;
    let reply = call(ROOT_CNODE, InvocationLabel::UntypedRetype, &[0, 0], &[]);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "UntypedRetype label on a CNode",
    )
}
