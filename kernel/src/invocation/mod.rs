//! Invocations of caps that are not IPC objects.
//!
//! STAND-IN: the kernel-invocations branch provides the real one. This minimal version
//! exists only so the threads-and-IPC branch can be tested on its own: it performs
//! Thread invocations (through `tcb::invoke`), UntypedRetype into TCB, Endpoint and
//! Notification objects only, and the CNode operations other than Revoke and Rotate;
//! everything else answers IllegalOperation.

pub mod tcb;

use crate::ipc::message::{self, get_mr, lookup_extra_caps, reply_error};
use crate::object::cspace::slot_memory;
use crate::object::tcb::{thread, BufferAccess, ThreadState};
use crate::sched;
use kernel_core::decode::{
    commit_retype, decode_cnode_invocation, decode_untyped_invocation, CNodeInvocation,
};
use kernel_core::{Cap, SlotAddr, SlotMemory, SyscallError};
use sel4::{MessageInfo, ObjectType, MSG_MAX_LENGTH, MSG_REGISTER_COUNT};

/// Whether the invoker waits for a reply (Call) or not (Send, NBSend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    Reply,
    NoReply,
}

// STAND-IN: the kernel-invocations branch provides the real one.
/// Performs an invocation of `cap` (in `slot`) by `thread` with message `info`.
pub fn perform(thread_object: u64, cap: Cap, slot: SlotAddr, info: MessageInfo, reply: ReplyMode) {
    let buffer = message::buffer(thread_object, BufferAccess::Read);
    let mut length = info.length().min(MSG_MAX_LENGTH);
    if buffer.is_none() {
        length = length.min(MSG_REGISTER_COUNT);
    }
    let mut words = [0u64; MSG_MAX_LENGTH];
    for (index, word) in words.iter_mut().enumerate().take(length) {
        *word = get_mr(thread_object, buffer, index);
    }
    let words = &words[..length];
    let mut extra = [(Cap::Null, slot); 3];
    let count = match lookup_extra_caps(thread_object, buffer, info) {
        Ok(caps) => {
            let memory = slot_memory();
            let mut count = 0;
            for (entry, found) in extra.iter_mut().zip(caps.slots.iter()) {
                let Some(found) = *found else { break };
                *entry = (memory.read(found).cap(), found);
                count += 1;
            }
            count
        }
        Err(_) => 0,
    };
    let extra = &extra[..count];
    sched::set_thread_state(thread_object, ThreadState::Restart);
    let result = match cap {
        Cap::Thread { ptr } => tcb::invoke(thread_object, ptr, slot, info, words, extra)
            .map(|reply| (reply.length, reply.words)),
        Cap::Untyped { .. } => retype(slot, &cap, info, words, extra).map(|()| (0, [0; 40])),
        Cap::CNode { .. } => cnode(thread_object, &cap, info, words, extra).map(|()| (0, [0; 40])),
        Cap::Null | Cap::Zombie { .. } => Err(SyscallError::invalid_capability(0)),
        _ => Err(SyscallError::illegal_operation()),
    };
    match result {
        Err(error) => {
            if reply == ReplyMode::Reply {
                reply_error(thread_object, &error);
            }
            sched::set_thread_state(thread_object, ThreadState::Running);
        }
        Ok((length, reply_words)) => {
            if thread(thread_object).state != ThreadState::Restart {
                return;
            }
            if reply == ReplyMode::Reply {
                let buffer = message::buffer(thread_object, BufferAccess::Write);
                let mut sent = 0;
                for (index, word) in reply_words.iter().take(length).enumerate() {
                    sent = message::set_mr(thread_object, buffer, index, *word);
                }
                message::set_received(thread_object, MessageInfo::new(0, 0, 0, sent as u64), 0);
            }
            sched::set_thread_state(thread_object, ThreadState::Running);
        }
    }
}

// STAND-IN: the kernel-invocations branch provides the real Untyped invocations.
/// UntypedRetype into TCB, Endpoint or Notification objects: zeroed memory, caps as
/// children of the untyped.
fn retype(
    slot: SlotAddr,
    cap: &Cap,
    info: MessageInfo,
    words: &[u64],
    extra: &[(Cap, SlotAddr)],
) -> Result<(), SyscallError> {
    let mut memory = slot_memory();
    let mut extra_caps = [Cap::Null; 3];
    for (target, (cap, _)) in extra_caps.iter_mut().zip(extra) {
        *target = *cap;
    }
    let retype = decode_untyped_invocation(
        &memory,
        slot,
        cap,
        info.label(),
        words,
        &extra_caps[..extra.len()],
    )?;
    if !matches!(
        retype.spec.object_type,
        ObjectType::Tcb | ObjectType::Endpoint | ObjectType::Notification
    ) {
        return Err(SyscallError::illegal_operation());
    }
    if let Cap::Untyped { paddr, .. } = cap {
        zero(*paddr, retype.plan.clear_bytes);
    }
    for paddr in retype.plan.object_paddrs() {
        zero(paddr, 1 << retype.plan.object_size_bits);
    }
    commit_retype(&mut memory, &retype);
    Ok(())
}

fn zero(start: u64, bytes: u64) {
    // SAFETY: the range is inside an untyped the invoker holds (checked by the decoder),
    // mapped by the kernel window, and no live object is there (the retype plan only
    // hands out memory past the watermark or of an untyped with no children).
    unsafe {
        core::ptr::write_bytes(
            crate::object::object_pointer::<u8>(start),
            0,
            bytes as usize,
        )
    }
}

// STAND-IN: the kernel-invocations branch provides the real CNode invocations.
/// CNode Copy, Mint, Move, Mutate, Delete, SaveCaller and CancelBadgedSends.
fn cnode(
    thread_object: u64,
    cap: &Cap,
    info: MessageInfo,
    words: &[u64],
    extra: &[(Cap, SlotAddr)],
) -> Result<(), SyscallError> {
    let mut memory = slot_memory();
    let mut extra_caps = [Cap::Null; 3];
    for (target, (cap, _)) in extra_caps.iter_mut().zip(extra) {
        *target = *cap;
    }
    let invocation = decode_cnode_invocation(
        &memory,
        cap,
        info.label(),
        words,
        &extra_caps[..extra.len()],
    )?;
    match invocation {
        CNodeInvocation::Insert {
            cap,
            source,
            destination,
        } => kernel_core::cdt::insert_child(&mut memory, source, destination, &cap),
        CNodeInvocation::Move {
            cap,
            source,
            destination,
        } => kernel_core::cdt::move_cap(&mut memory, source, destination, &cap),
        CNodeInvocation::Delete { slot } => crate::object::finalise::delete_slot(slot),
        CNodeInvocation::SaveCaller { slot } => {
            let caller = crate::object::tcb::tcb_slot_address(
                thread_object,
                crate::object::tcb::tcb_slot::CALLER,
            );
            let caller_cap = memory.read(caller).cap();
            if !caller_cap.is_null() {
                kernel_core::cdt::move_cap(&mut memory, caller, slot, &caller_cap);
            }
        }
        CNodeInvocation::CancelBadgedSends { endpoint, badge } => {
            crate::ipc::endpoint::cancel_badged_sends(endpoint, badge)
        }
        CNodeInvocation::Revoke { .. } | CNodeInvocation::Rotate { .. } => {
            return Err(SyscallError::illegal_operation())
        }
    }
    Ok(())
}
