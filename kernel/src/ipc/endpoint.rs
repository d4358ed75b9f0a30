//! Synchronous endpoints: the 16-byte object, send and receive with seL4's rendezvous
//! rules, and cancelling (queue teardown on deletion, badged-send cancellation).
//!
//! # Layout
//! Word 0: queue tail (a 2 KiB-aligned TCB address) | state in bits 1..0 (0 idle,
//! 1 senders queued, 2 receivers queued). Word 1: queue head. All zero = idle.

use super::message::{self, ExtraCaps};
use super::{reply, Blocking, SendKind, ThreadQueue};
use crate::object::object_pointer;
use crate::object::tcb::{thread, BufferAccess, ThreadState};
use crate::sched::{self, End};

/// The endpoint object as it sits in memory.
#[repr(C)]
pub struct Endpoint {
    tail_and_state: u64,
    head: u64,
}

const _: () = assert!(core::mem::size_of::<Endpoint>() == 1 << sel4::ENDPOINT_BITS);

/// What the endpoint's queue holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Send,
    Receive,
}

const STATE_MASK: u64 = 0b11;

impl Endpoint {
    fn state(&self) -> State {
        match self.tail_and_state & STATE_MASK {
            1 => State::Send,
            2 => State::Receive,
            _ => State::Idle,
        }
    }

    fn queue(&self) -> ThreadQueue {
        ThreadQueue {
            head: self.head,
            tail: self.tail_and_state & !STATE_MASK,
        }
    }

    /// Stores the queue; an empty queue makes the endpoint idle.
    fn set(&mut self, queue: ThreadQueue, state: State) {
        let state = if queue.is_empty() { State::Idle } else { state };
        let code = match state {
            State::Idle => 0,
            State::Send => 1,
            State::Receive => 2,
        };
        self.head = queue.head;
        self.tail_and_state = queue.tail | code;
    }
}

fn endpoint_at(endpoint: u64) -> &'static mut Endpoint {
    // SAFETY: `endpoint` comes from an Endpoint cap or a thread's blocking object, both
    // of which name a live 16-byte endpoint object; the kernel holds one reference to it
    // at a time.
    unsafe { &mut *object_pointer::<Endpoint>(endpoint) }
}

/// The badge and rights a sender's endpoint cap carries.
#[derive(Clone, Copy, Debug)]
pub struct SendRights {
    pub badge: u64,
    pub can_grant: bool,
    pub can_grant_reply: bool,
}

/// seL4's `sendIPC`: delivers the sender's message to a waiting receiver, or queues the
/// sender (or drops the message, non-blocking). A Call leaves the sender waiting for the
/// reply (or Inactive if the cap had neither grant right).
pub fn send(sender: u64, endpoint: u64, rights: SendRights, blocking: Blocking, kind: SendKind) {
    let object = endpoint_at(endpoint);
    match object.state() {
        State::Idle | State::Send => {
            if blocking == Blocking::NonBlocking {
                return;
            }
            let tcb = thread(sender);
            tcb.blocking_object = endpoint;
            tcb.blocking_badge = rights.badge;
            tcb.blocking_can_grant = rights.can_grant;
            tcb.blocking_can_grant_reply = rights.can_grant_reply;
            tcb.blocking_is_call = kind == SendKind::Call;
            sched::set_thread_state(sender, ThreadState::BlockedOnSend);
            let mut queue = object.queue();
            queue.append(sender);
            endpoint_at(endpoint).set(queue, State::Send);
        }
        State::Receive => {
            let mut queue = object.queue();
            let receiver = queue.head;
            queue.remove(receiver);
            endpoint_at(endpoint).set(queue, State::Receive);
            transfer(sender, endpoint, rights.badge, rights.can_grant, receiver);
            let reply_can_grant = thread(receiver).blocking_can_grant;
            sched::set_thread_state(receiver, ThreadState::Running);
            sched::possible_switch_to(receiver);
            if kind == SendKind::Call {
                if rights.can_grant || rights.can_grant_reply {
                    reply::setup_caller_cap(sender, receiver, reply_can_grant);
                } else {
                    sched::set_thread_state(sender, ThreadState::Inactive);
                }
            }
        }
    }
}

/// seL4's `receiveIPC` (the caller has deleted the receiver's old caller cap): takes a
/// pending signal of the bound notification first, then a queued sender, or waits (or
/// returns badge 0, non-blocking).
pub fn receive(receiver: u64, endpoint: u64, can_grant: bool, blocking: Blocking) {
    let bound = thread(receiver).bound_notification;
    if bound != 0 && super::notification::is_active(bound) {
        super::notification::complete_signal(bound, receiver);
        return;
    }
    let object = endpoint_at(endpoint);
    match object.state() {
        State::Idle | State::Receive => {
            if blocking == Blocking::NonBlocking {
                thread(receiver).registers.x[0] = 0;
                return;
            }
            let tcb = thread(receiver);
            tcb.blocking_object = endpoint;
            tcb.blocking_can_grant = can_grant;
            sched::set_thread_state(receiver, ThreadState::BlockedOnReceive);
            let mut queue = object.queue();
            queue.append(receiver);
            endpoint_at(endpoint).set(queue, State::Receive);
        }
        State::Send => {
            let mut queue = object.queue();
            let sender = queue.head;
            queue.remove(sender);
            endpoint_at(endpoint).set(queue, State::Send);
            let sender_ref = thread(sender);
            let badge = sender_ref.blocking_badge;
            let sender_can_grant = sender_ref.blocking_can_grant;
            let sender_can_grant_reply = sender_ref.blocking_can_grant_reply;
            let is_call = sender_ref.blocking_is_call || sender_ref.has_fault();
            transfer(sender, endpoint, badge, sender_can_grant, receiver);
            if is_call {
                if sender_can_grant || sender_can_grant_reply {
                    reply::setup_caller_cap(sender, receiver, can_grant);
                } else {
                    sched::set_thread_state(sender, ThreadState::Inactive);
                }
            } else {
                sched::set_thread_state(sender, ThreadState::Running);
                sched::possible_switch_to(sender);
            }
        }
    }
}

/// seL4's `doIPCTransfer`: a normal message, or the sender's fault message.
pub fn transfer(sender: u64, endpoint: u64, badge: u64, can_grant: bool, receiver: u64) {
    let receive_buffer = message::buffer(receiver, BufferAccess::Write);
    if thread(sender).has_fault() {
        let info = crate::fault::write_message(sender, receiver, receive_buffer);
        message::set_received(receiver, info, badge);
        return;
    }
    let send_buffer = message::buffer(sender, BufferAccess::Read);
    let info = message::message_info(sender);
    let caps = if can_grant {
        let mut caps = ExtraCaps::default();
        if message::lookup_extra_caps(sender, send_buffer, info, &mut caps).is_err() {
            caps = ExtraCaps::default();
        }
        caps
    } else {
        ExtraCaps::default()
    };
    let transferred =
        message::copy_mrs(sender, send_buffer, receiver, receive_buffer, info.length());
    let info = message::transfer_caps(info, &caps, endpoint, receiver, receive_buffer);
    let info = sel4::MessageInfo::new(
        info.label(),
        info.caps_unwrapped(),
        info.extra_caps() as u64,
        transferred as u64,
    );
    message::set_received(receiver, info, badge);
}

/// The first queued receiver, if receivers are waiting (for the fastpath).
#[inline(always)]
pub fn first_receiver(endpoint: u64) -> Option<u64> {
    let object = endpoint_at(endpoint);
    (object.state() == State::Receive).then_some(object.head)
}

/// Whether senders are queued (a Recv would take one at once).
#[inline(always)]
pub fn has_senders(endpoint: u64) -> bool {
    endpoint_at(endpoint).state() == State::Send
}

/// Queues `receiver` as `receive` does when no sender waits (for the fastpath, which has
/// checked that no sender is queued and set the thread's blocking state itself).
#[inline(always)]
pub fn append_receiver(endpoint: u64, receiver: u64) {
    let mut queue = endpoint_at(endpoint).queue();
    queue.append(receiver);
    endpoint_at(endpoint).set(queue, State::Receive);
}

/// Takes a blocked thread off the endpoint's queue (part of `cancel_ipc`).
#[inline(always)]
pub fn remove_waiter(endpoint: u64, tcb: u64) {
    let object = endpoint_at(endpoint);
    let state = object.state();
    let mut queue = object.queue();
    queue.remove(tcb);
    endpoint_at(endpoint).set(queue, state);
}

/// Cancels all IPC on an endpoint being destroyed (seL4's `cancelAllIPC`): every queued
/// thread restarts its syscall when next run, except a faulting one, which becomes
/// Inactive.
pub fn finalise(endpoint: u64) {
    let object = endpoint_at(endpoint);
    let mut next = object.queue().head;
    object.set(ThreadQueue::default(), State::Idle);
    while next != 0 {
        let tcb = next;
        next = thread(tcb).queue_next;
        restart_cancelled(tcb);
    }
    sched::reschedule_required();
}

/// Cancels the queued sends that used `badge` (seL4's `cancelBadgedSends`).
pub fn cancel_badged_sends(endpoint: u64, badge: u64) {
    let object = endpoint_at(endpoint);
    if object.state() != State::Send {
        return;
    }
    let mut queue = object.queue();
    let mut next = queue.head;
    while next != 0 {
        let tcb = next;
        next = thread(tcb).queue_next;
        if thread(tcb).blocking_badge == badge {
            queue.remove(tcb);
            restart_cancelled(tcb);
        }
    }
    endpoint_at(endpoint).set(queue, State::Send);
    sched::reschedule_required();
}

/// A thread whose blocked IPC was cancelled: it re-executes its syscall, unless it was
/// sending a fault, which is dropped with it (Inactive).
fn restart_cancelled(tcb: u64) {
    let tcb_ref = thread(tcb);
    tcb_ref.queue_next = 0;
    tcb_ref.queue_prev = 0;
    if tcb_ref.has_fault() {
        sched::set_thread_state(tcb, ThreadState::Inactive);
    } else {
        sched::set_thread_state(tcb, ThreadState::Restart);
        sched::enqueue(tcb, End::Head);
    }
}
