//! Inter-process communication: synchronous endpoints, notifications, reply caps and the
//! message transfer they share. Thread queues of both object kinds are doubly linked
//! through the TCBs' `queue_next`/`queue_prev`, FIFO.

pub mod endpoint;
pub mod message;
pub mod notification;
pub mod reply;

use crate::object::tcb::{thread, ThreadState};
use crate::sched;

/// Whether a send or receive waits for its partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocking {
    Block,
    NonBlocking,
}

/// Whether a send is a Call (the sender then waits for a reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendKind {
    Send,
    Call,
}

/// A FIFO of blocked threads (TCB addresses, 0 = none), as stored in an endpoint or
/// notification object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadQueue {
    pub head: u64,
    pub tail: u64,
}

impl ThreadQueue {
    pub const fn is_empty(self) -> bool {
        self.head == 0
    }

    /// Adds `tcb` at the tail.
    pub fn append(&mut self, tcb: u64) {
        let tcb_ref = thread(tcb);
        tcb_ref.queue_prev = self.tail;
        tcb_ref.queue_next = 0;
        if self.tail == 0 {
            self.head = tcb;
        } else {
            thread(self.tail).queue_next = tcb;
        }
        self.tail = tcb;
    }

    /// Removes `tcb`, which is on this queue.
    pub fn remove(&mut self, tcb: u64) {
        let tcb_ref = thread(tcb);
        let (previous, next) = (tcb_ref.queue_prev, tcb_ref.queue_next);
        tcb_ref.queue_prev = 0;
        tcb_ref.queue_next = 0;
        if previous == 0 {
            self.head = next;
        } else {
            thread(previous).queue_next = next;
        }
        if next == 0 {
            self.tail = previous;
        } else {
            thread(next).queue_prev = previous;
        }
    }
}

/// seL4's `cancelIPC`: takes a blocked thread off the endpoint or notification queue it
/// waits on (it becomes Inactive), or, for a thread waiting for a reply, forgets its
/// fault and deletes the caller cap that would have answered it.
pub fn cancel_ipc(tcb: u64) {
    let tcb_ref = thread(tcb);
    match tcb_ref.state {
        ThreadState::BlockedOnSend | ThreadState::BlockedOnReceive => {
            endpoint::remove_waiter(tcb_ref.blocking_object, tcb);
            sched::set_thread_state(tcb, ThreadState::Inactive);
        }
        ThreadState::BlockedOnNotification => {
            notification::remove_waiter(tcb_ref.blocking_object, tcb);
            sched::set_thread_state(tcb, ThreadState::Inactive);
        }
        ThreadState::BlockedOnReply => {
            tcb_ref.fault = Default::default();
            reply::delete_reply_to(tcb);
        }
        _ => {}
    }
}
