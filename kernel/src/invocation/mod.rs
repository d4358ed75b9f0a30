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

use crate::ipc::message::ExtraCaps;
use crate::object::cspace::{cap_words, read_cap};
use crate::object::tcb::{tcb_at, ThreadState};
use core::cell::UnsafeCell;
use kernel_core::{raw_cap, Cap, CapRef, SlotAddr, SyscallError};
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

/// Performs the invocation `info` of the cap in `slot` (whose words are `cap`) by
/// `thread`, and replies to a Call if the thread is still running afterwards. `buffer` is
/// the thread's IPC buffer (for reading) and `extra` the slots its extra caps were found
/// in, both as `syscall::handle_invocation` looked them up. Endpoint, notification and
/// reply caps are the IPC path's; given one, this replies InvalidCapability.
pub fn perform(
    thread: u64,
    slot: SlotAddr,
    cap: [u64; 2],
    info: MessageInfo,
    reply: ReplyMode,
    buffer: Option<u64>,
    extra: &ExtraCaps,
) {
    // SAFETY: `perform` is not re-entered (see `MessageBuffers`), so this is the only
    // reference to the buffers until it returns.
    let MessageBuffers {
        words,
        reply: reply_words,
    } = unsafe { &mut *BUFFERS.0.get() };
    let length = message::read_message_words(thread, info, buffer, words);
    let words = &words[..length];
    let label = info.label();
    let result = match raw_cap::frame(cap) {
        // Frames (mapped and unmapped by the thousand) skip decoding whole caps.
        Some(frame) => {
            let vspace_arg = extra.slots[0].map(cap_words);
            vspace::invoke_frame(frame, slot, label, words, vspace_arg, reply_words)
        }
        None => perform_decoded(
            thread,
            &CapRef {
                cap: Cap::decode(cap),
                slot,
            },
            label,
            words,
            extra,
            reply_words,
        ),
    };
    if reply != ReplyMode::Reply || !still_running(thread) {
        return;
    }
    match result {
        Ok(length) => message::write_reply(thread, 0, &reply_words[..length]),
        Err(error) => message::write_reply(thread, error.label(), error.message()),
    }
}

/// [`perform`] for every cap but frames: the invoked and extra caps decoded.
fn perform_decoded(
    thread: u64,
    invoked: &CapRef,
    label: u64,
    words: &[u64],
    extra: &ExtraCaps,
    reply_words: &mut [u64],
) -> Result<usize, SyscallError> {
    let slot = invoked.slot;
    // Each extra cap is decoded once, here, in place; unused entries stay Null (cheap to
    // write, where a copy of a cap costs a memcpy call).
    let mut extra_refs = [CapRef {
        cap: Cap::Null,
        slot,
    }; MSG_MAX_EXTRA_CAPS];
    let mut extra_count = 0;
    for (entry, found) in extra_refs.iter_mut().zip(extra.slots.iter().flatten()) {
        entry.slot = *found;
        entry.cap = read_cap(*found);
        extra_count += 1;
    }
    let extra_refs = &extra_refs[..extra_count];
    let cap = &invoked.cap;
    match *cap {
        Cap::Untyped { .. } => {
            // Retype uses only its first extra cap (the destination root).
            let root = extra_refs
                .first()
                .map_or(&[][..], |extra| core::slice::from_ref(&extra.cap));
            untyped::invoke(cap, slot, label, words, root).map(|()| 0)
        }
        Cap::CNode { .. } => {
            cnode::invoke(thread, cap, label, words, &extra_caps(extra_refs)).map(|()| 0)
        }
        Cap::Thread { .. } => tcb::invoke(thread, invoked, label, words, extra_refs, reply_words),
        Cap::Frame { .. }
        | Cap::PageTable { .. }
        | Cap::VSpace { .. }
        | Cap::AsidControl
        | Cap::AsidPool { .. } => vspace::invoke(invoked, label, words, extra_refs, reply_words),
        Cap::IrqControl => irq::invoke_control(slot, label, words, extra_refs).map(|()| 0),
        Cap::IrqHandler { irq } => irq::invoke_handler(irq, label, extra_refs).map(|()| 0),
        Cap::Domain => domain::invoke(label, words, &extra_caps(extra_refs)).map(|()| 0),
        Cap::Null
        | Cap::Zombie { .. }
        | Cap::Endpoint { .. }
        | Cap::Notification { .. }
        | Cap::Reply { .. } => Err(SyscallError::invalid_capability(0)),
    }
}

/// The caps of `extra`, for the decoders that take caps without their slots.
fn extra_caps(extra: &[CapRef]) -> ExtraCapList {
    let mut list = ExtraCapList {
        caps: [Cap::Null; MSG_MAX_EXTRA_CAPS],
        count: 0,
    };
    for (cap, found) in list.caps.iter_mut().zip(extra) {
        *cap = found.cap;
        list.count += 1;
    }
    list
}

/// Up to three extra caps (see [`extra_caps`]).
struct ExtraCapList {
    caps: [Cap; MSG_MAX_EXTRA_CAPS],
    count: usize,
}

impl core::ops::Deref for ExtraCapList {
    type Target = [Cap];

    fn deref(&self) -> &[Cap] {
        &self.caps[..self.count]
    }
}

/// Whether `thread` is still running (an invocation may have suspended or destroyed
/// its own caller, which then gets no reply).
fn still_running(thread: u64) -> bool {
    // SAFETY: `thread` is a TCB object; even a finalised one keeps its memory until the
    // next retype, which cannot happen within this invocation.
    unsafe { tcb_at(thread) }.state == ThreadState::Running
}
