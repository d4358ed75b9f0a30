//! Invocations: a Call or Send on a cap that is not an endpoint, notification or reply
//! cap performs a method of the cap's object (seL4's `handleInvocation` and
//! `decodeInvocation`). The message is read from the invoking thread, the invocation is
//! decoded (checked, nothing changed) and performed, and a Call gets the kernel's reply.

pub mod cnode;
pub mod domain;
pub mod irq;
pub mod message;
pub mod tcb;
pub mod untyped;
pub mod vspace;

use crate::object::tcb::{tcb_at, ThreadState};
use core::cell::UnsafeCell;
use kernel_core::{Cap, CapRef, LookupFault, SlotAddr, SyscallError};
use sel4::{MessageInfo, MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH};

/// Whether the invoker waits for the kernel's reply (Call) or not (Send, NBSend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    Reply,
    NoReply,
}

/// Most words a successful invocation replies with (TCB ReadRegisters).
const MAX_REPLY_WORDS: usize = 40;

/// The invoker's message words and the kernel's reply words. Invocations run one at a
/// time on one CPU with interrupts masked, and nothing an invocation performs starts
/// another, so one buffer serves them all. It is never cleared: only the words just
/// read from the invoker, or just written by the invocation, are used (clearing 1,280
/// bytes cost about 500 instructions per invocation).
struct MessageBuffers {
    words: [u64; MSG_MAX_LENGTH],
    reply: [u64; MAX_REPLY_WORDS],
}

struct InvocationBuffers(UnsafeCell<MessageBuffers>);

// SAFETY: the kernel runs on one CPU with interrupts masked; see `MessageBuffers`.
unsafe impl Sync for InvocationBuffers {}

static BUFFERS: InvocationBuffers = InvocationBuffers(UnsafeCell::new(MessageBuffers {
    words: [0; MSG_MAX_LENGTH],
    reply: [0; MAX_REPLY_WORDS],
}));

/// Performs the invocation `info` of `cap` (found in `slot`) by `thread`, and replies
/// to a Call if the thread is still running afterwards. Endpoint, notification and
/// reply caps are the IPC path's; given one, this replies InvalidCapability.
pub fn perform(thread: u64, cap: Cap, slot: SlotAddr, info: MessageInfo, reply: ReplyMode) {
    // SAFETY: `perform` is not re-entered (see `MessageBuffers`), so this is the only
    // reference to the buffers until it returns.
    let MessageBuffers {
        words,
        reply: reply_words,
    } = unsafe { &mut *BUFFERS.0.get() };
    let buffer = message::ipc_buffer(thread, message::BufferAccess::Read);
    let length = message::read_message_words(thread, info, buffer, words);
    let words = &words[..length];
    let invoked = CapRef { cap, slot };
    let mut extra = [invoked; MSG_MAX_EXTRA_CAPS];
    let extra_count = match message::lookup_extra_caps(thread, info, buffer, &mut extra) {
        Ok(count) => count,
        Err(fault) => {
            extra_cap_fault(thread, fault, reply);
            return;
        }
    };
    let extra = &extra[..extra_count];
    let mut extra_caps = [Cap::Null; MSG_MAX_EXTRA_CAPS];
    for (cap, extra_cap) in extra_caps.iter_mut().zip(extra) {
        *cap = extra_cap.cap;
    }
    let extra_caps = &extra_caps[..extra_count];
    let label = info.label();
    let result: Result<usize, SyscallError> = match cap {
        Cap::Untyped { .. } => untyped::invoke(&cap, slot, label, words, extra_caps).map(|()| 0),
        Cap::CNode { .. } => cnode::invoke(thread, &cap, label, words, extra_caps).map(|()| 0),
        Cap::Thread { .. } => tcb::invoke(thread, &invoked, label, words, extra, reply_words),
        Cap::Frame { .. }
        | Cap::PageTable { .. }
        | Cap::VSpace { .. }
        | Cap::AsidControl
        | Cap::AsidPool { .. } => vspace::invoke(&invoked, label, words, extra, reply_words),
        Cap::IrqControl => irq::invoke_control(slot, label, words, extra).map(|()| 0),
        Cap::IrqHandler { irq } => irq::invoke_handler(irq, label, extra).map(|()| 0),
        Cap::Domain => domain::invoke(label, words, extra_caps).map(|()| 0),
        Cap::Null
        | Cap::Zombie { .. }
        | Cap::Endpoint { .. }
        | Cap::Notification { .. }
        | Cap::Reply { .. } => Err(SyscallError::invalid_capability(0)),
    };
    if reply != ReplyMode::Reply || !still_running(thread) {
        return;
    }
    match result {
        Ok(length) => message::write_reply(thread, 0, &reply_words[..length]),
        Err(error) => message::write_reply(thread, error.label(), error.message()),
    }
}

/// Whether `thread` is still running (an invocation may have suspended or destroyed
/// its own caller, which then gets no reply).
fn still_running(thread: u64) -> bool {
    // SAFETY: `thread` is a TCB object; even a finalised one keeps its memory until the
    // next retype, which cannot happen within this invocation.
    unsafe { tcb_at(thread) }.state == ThreadState::Running
}

/// An extra cap's cptr did not resolve. `syscall::handle_invocation` has already looked
/// the same cptrs up and raised seL4's CapFault before calling [`perform`], and nothing
/// changes the CSpace in between, so this is defence only: a Call's thread stops rather
/// than receive a reply for an invocation that was not performed.
fn extra_cap_fault(thread: u64, fault: LookupFault, reply: ReplyMode) {
    if reply == ReplyMode::Reply {
        crate::log!(Debug, "extra cap lookup failed ({fault:?}); thread stops");
        // SAFETY: `thread` is a live TCB object.
        unsafe { tcb_at(thread) }.state = ThreadState::Inactive;
    }
}
