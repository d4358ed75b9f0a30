//! Reply caps (non-MCS): a Call leaves a reply cap to the caller in the receiver's caller
//! slot, as a child of the master reply cap in the caller's reply slot; Reply, ReplyRecv
//! and invoking a saved reply cap use it once and delete it.

use crate::object::cspace::slot_memory;
use crate::object::tcb::{setup_reply_master, tcb_slot, tcb_slot_address, thread, ThreadState};
use crate::sched;
use kernel_core::{Cap, SlotAddr, SlotMemory};

/// seL4's `setupCallerCap`: the sender waits for a reply, and the receiver's caller slot
/// gets a reply cap to it (granting if the receiver's endpoint cap could grant).
pub fn setup_caller_cap(sender: u64, receiver: u64, can_grant: bool) {
    sched::set_thread_state(sender, ThreadState::BlockedOnReply);
    setup_reply_master(sender);
    let master = tcb_slot_address(sender, tcb_slot::REPLY);
    let caller = tcb_slot_address(receiver, tcb_slot::CALLER);
    delete_caller_cap(receiver);
    let cap = Cap::Reply {
        tcb: sender,
        is_master: false,
        can_grant,
    };
    kernel_core::cdt::insert_child(&mut slot_memory(), master, caller, &cap);
}

/// Deletes the reply cap in the thread's caller slot, if any (seL4's `deleteCallerCap`).
pub fn delete_caller_cap(receiver: u64) {
    delete_reply_cap(tcb_slot_address(receiver, tcb_slot::CALLER));
}

/// Deletes the reply cap that would answer `caller` (wherever it was saved), if any.
pub fn delete_reply_to(caller: u64) {
    let master = tcb_slot_address(caller, tcb_slot::REPLY);
    let memory = slot_memory();
    if let Some(next) = memory.read(master).mdb.next() {
        if matches!(memory.read(next).cap(), Cap::Reply { tcb, is_master: false, .. } if tcb == caller)
        {
            delete_reply_cap(next);
        }
    }
}

/// Empties a slot holding a (non-master) reply cap; a reply cap owns no object, so
/// nothing else is destroyed.
fn delete_reply_cap(slot: SlotAddr) {
    let mut memory = slot_memory();
    if matches!(
        memory.read(slot).cap(),
        Cap::Reply {
            is_master: false,
            ..
        }
    ) {
        kernel_core::cdt::empty_slot(&mut memory, slot);
    }
}

/// `seL4_Reply` (and the reply half of ReplyRecv): answers the thread named by the cap in
/// the replier's caller slot; nothing happens if the slot holds no reply cap.
pub fn reply_from_caller_slot(replier: u64) {
    let slot = tcb_slot_address(replier, tcb_slot::CALLER);
    if let Cap::Reply {
        tcb,
        is_master: false,
        can_grant,
    } = slot_memory().read(slot).cap()
    {
        do_reply_transfer(replier, tcb, slot, can_grant);
    }
}

/// seL4's `doReplyTransfer`: delivers the replier's message to the caller (or, for a
/// fault, lets the fault's reply rules decide whether it restarts), deleting the reply
/// cap in `slot`.
pub fn do_reply_transfer(replier: u64, caller: u64, slot: SlotAddr, can_grant: bool) {
    if thread(caller).state != ThreadState::BlockedOnReply {
        delete_reply_cap(slot);
        return;
    }
    if !thread(caller).has_fault() {
        super::endpoint::transfer(replier, 0, 0, can_grant, caller);
        delete_reply_cap(slot);
        sched::set_thread_state(caller, ThreadState::Running);
        sched::possible_switch_to(caller);
        return;
    }
    delete_reply_cap(slot);
    let restart = crate::fault::handle_reply(caller, replier);
    thread(caller).fault = Default::default();
    if restart == crate::fault::AfterReply::Restart {
        sched::set_thread_state(caller, ThreadState::Restart);
        sched::possible_switch_to(caller);
    } else {
        sched::set_thread_state(caller, ThreadState::Inactive);
    }
}
