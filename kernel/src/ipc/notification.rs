//! Notifications: the 32-byte object, Signal (badge OR-ing), Wait and Poll, binding to a
//! TCB, and cancelling waiters on deletion.
//!
//! # Layout
//! Word 0: waiter queue tail | state in bits 1..0 (0 idle, 1 waiting, 2 active). Word 1:
//! queue head. Word 2: the notification word (badges OR-ed while active). Word 3: the
//! bound TCB (0: none). All zero = idle, unbound.

use super::{Blocking, ThreadQueue};
use crate::object::object_pointer;
use crate::object::tcb::{thread, ThreadState};
use crate::sched::{self, End};

/// The notification object as it sits in memory.
#[repr(C)]
pub struct Notification {
    tail_and_state: u64,
    head: u64,
    word: u64,
    bound_tcb: u64,
}

const _: () = assert!(core::mem::size_of::<Notification>() == 1 << sel4::NOTIFICATION_BITS);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Waiting,
    Active,
}

const STATE_MASK: u64 = 0b11;

impl Notification {
    fn state(&self) -> State {
        match self.tail_and_state & STATE_MASK {
            1 => State::Waiting,
            2 => State::Active,
            _ => State::Idle,
        }
    }

    fn queue(&self) -> ThreadQueue {
        ThreadQueue {
            head: self.head,
            tail: self.tail_and_state & !STATE_MASK,
        }
    }

    fn set(&mut self, queue: ThreadQueue, state: State) {
        let code = match state {
            State::Idle => 0,
            State::Waiting => 1,
            State::Active => 2,
        };
        self.head = queue.head;
        self.tail_and_state = queue.tail | code;
    }
}

fn notification_at(notification: u64) -> &'static mut Notification {
    // SAFETY: `notification` comes from a Notification cap, an IRQ handler's binding or a
    // thread's blocking/bound object, all of which name a live 32-byte notification; the
    // kernel holds one reference to it at a time.
    unsafe { &mut *object_pointer::<Notification>(notification) }
}

/// seL4's `sendSignal`: wakes the first waiter with `badge` in x0; or, if nobody waits,
/// wakes the bound thread blocked in Recv on an endpoint; otherwise ORs `badge` into the
/// word.
pub fn signal(notification: u64, badge: u64) {
    let object = notification_at(notification);
    match object.state() {
        State::Idle => {
            let bound = object.bound_tcb;
            if bound != 0 && thread(bound).state == ThreadState::BlockedOnReceive {
                super::cancel_ipc(bound);
                sched::set_thread_state(bound, ThreadState::Running);
                thread(bound).registers.x[0] = badge;
                sched::possible_switch_to(bound);
            } else {
                object.word = badge;
                let queue = object.queue();
                notification_at(notification).set(queue, State::Active);
            }
        }
        State::Waiting => {
            let mut queue = object.queue();
            let waiter = queue.head;
            queue.remove(waiter);
            let state = if queue.is_empty() {
                State::Idle
            } else {
                State::Waiting
            };
            notification_at(notification).set(queue, state);
            sched::set_thread_state(waiter, ThreadState::Running);
            thread(waiter).registers.x[0] = badge;
            sched::possible_switch_to(waiter);
        }
        State::Active => object.word |= badge,
    }
}

/// seL4's `receiveSignal` (Wait, or Poll when non-blocking): takes the word if active,
/// else waits (Poll returns 0).
pub fn receive(receiver: u64, notification: u64, blocking: Blocking) {
    let object = notification_at(notification);
    match object.state() {
        State::Active => complete_signal(notification, receiver),
        State::Idle | State::Waiting => {
            if blocking == Blocking::NonBlocking {
                thread(receiver).registers.x[0] = 0;
                return;
            }
            thread(receiver).blocking_object = notification;
            sched::set_thread_state(receiver, ThreadState::BlockedOnNotification);
            let mut queue = object.queue();
            queue.append(receiver);
            notification_at(notification).set(queue, State::Waiting);
        }
    }
}

/// Whether the notification has a word waiting to be taken.
pub fn is_active(notification: u64) -> bool {
    notification_at(notification).state() == State::Active
}

/// seL4's `completeSignal`: hands the active word to `receiver` (x0) and goes idle.
pub fn complete_signal(notification: u64, receiver: u64) {
    let object = notification_at(notification);
    thread(receiver).registers.x[0] = object.word;
    object.word = 0;
    object.set(ThreadQueue::default(), State::Idle);
}

/// The thread bound to the notification (0: none).
pub fn bound_thread(notification: u64) -> u64 {
    notification_at(notification).bound_tcb
}

/// Whether a thread may be bound to the notification: none is, and nobody waits on it.
pub fn can_bind(notification: u64) -> bool {
    let object = notification_at(notification);
    object.bound_tcb == 0 && object.queue().is_empty()
}

/// Binds `tcb` and the notification to each other (checked by the decoder).
pub fn bind(tcb: u64, notification: u64) {
    notification_at(notification).bound_tcb = tcb;
    thread(tcb).bound_notification = notification;
}

/// Unbinds the thread's notification, if it has one (seL4's `unbindNotification`).
pub fn unbind_thread(tcb: u64) {
    let notification = thread(tcb).bound_notification;
    if notification != 0 {
        notification_at(notification).bound_tcb = 0;
        thread(tcb).bound_notification = 0;
    }
}

/// Takes a waiter off the queue (part of `cancel_ipc`).
pub fn remove_waiter(notification: u64, tcb: u64) {
    let object = notification_at(notification);
    let mut queue = object.queue();
    queue.remove(tcb);
    let state = if queue.is_empty() {
        State::Idle
    } else {
        State::Waiting
    };
    notification_at(notification).set(queue, state);
}

/// Prepares a notification for destruction (the last cap went): unbinds its TCB, and
/// every waiter re-executes its Wait when next run (seL4's `unbindMaybeNotification`
/// and `cancelAllSignals`).
pub fn finalise(notification: u64) {
    let bound = notification_at(notification).bound_tcb;
    if bound != 0 {
        unbind_thread(bound);
    }
    let object = notification_at(notification);
    if object.state() != State::Waiting {
        return;
    }
    let mut next = object.queue().head;
    object.set(ThreadQueue::default(), State::Idle);
    while next != 0 {
        let tcb = next;
        next = thread(tcb).queue_next;
        let tcb_ref = thread(tcb);
        tcb_ref.queue_next = 0;
        tcb_ref.queue_prev = 0;
        sched::set_thread_state(tcb, ThreadState::Restart);
        sched::enqueue(tcb, End::Head);
    }
    sched::reschedule_required();
}
