//! CNode invocations: decoded by kernel-core, performed here on the derivation tree.

use super::message::tcb_slot_address;
use crate::object::cspace::{read_cap, slot_memory};
use crate::object::finalise::{delete_slot, revoke_slot};
use crate::object::tcb::tcb_slot;
use kernel_core::cdt::{insert_child, move_cap, rotate};
use kernel_core::decode::{decode_cnode_invocation, CNodeInvocation};
use kernel_core::{Cap, SyscallError};

/// Decodes and performs an invocation of the CNode cap `cnode` by `thread`.
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order.
pub fn invoke(
    thread: u64,
    cnode: &Cap,
    label: u64,
    words: &[u64],
    extra_caps: &[Cap],
) -> Result<(), SyscallError> {
    let invocation = decode_cnode_invocation(&slot_memory(), cnode, label, words, extra_caps)?;
    match invocation {
        CNodeInvocation::Insert {
            cap,
            source,
            destination,
        } => insert_child(&mut slot_memory(), source, destination, &cap),
        CNodeInvocation::Move {
            cap,
            source,
            destination,
        } => move_cap(&mut slot_memory(), source, destination, &cap),
        CNodeInvocation::Rotate {
            source_cap,
            source,
            pivot_cap,
            pivot,
            destination,
        } => rotate(
            &mut slot_memory(),
            source,
            &source_cap,
            pivot,
            &pivot_cap,
            destination,
        ),
        CNodeInvocation::Revoke { slot } => revoke_slot(slot),
        CNodeInvocation::Delete { slot } => delete_slot(slot),
        CNodeInvocation::SaveCaller { slot } => save_caller(thread, slot),
        CNodeInvocation::CancelBadgedSends { endpoint, badge } => {
            crate::ipc::endpoint::cancel_badged_sends(endpoint, badge)
        }
    }
    Ok(())
}

/// seL4's `invokeCNodeSaveCaller`: moves the caller's reply cap (if any) from its TCB's
/// caller slot into `destination`.
fn save_caller(thread: u64, destination: kernel_core::SlotAddr) {
    let Some(caller_slot) = tcb_slot_address(thread, tcb_slot::CALLER) else {
        return;
    };
    let cap = read_cap(caller_slot);
    if let Cap::Reply {
        is_master: false, ..
    } = cap
    {
        move_cap(&mut slot_memory(), caller_slot, destination, &cap);
    }
}
