//! System call dispatch (x7 = the seL4 syscall number), seL4's `handleSyscall`: sends
//! and calls on endpoints, notifications and reply caps are IPC; on any other cap they
//! are invocations; receives, replies and Yield; everything else faults.

use crate::fault::{self, Fault, Phase};
use crate::invocation::ReplyMode;
use crate::ipc::endpoint::{self, SendRights};
use crate::ipc::message::{self, lookup_extra_caps, reply_error, reply_success_empty, ExtraCaps};
use crate::ipc::{notification, reply, Blocking, SendKind};
use crate::object::cspace::{cap_words, lookup_cap, lookup_slot_of, read_cap};
use crate::object::object_pointer;
use crate::object::tcb::{cspace_root, thread, BufferAccess, Tcb, ThreadState};
use crate::sched::{self, current_thread};
use kernel_core::{raw_cap, Cap, LookupFault, SyscallError};
use sel4::{tcb_flag, CapTag, Syscall, MSG_MAX_LENGTH};

/// Which of the three sending syscalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Invocation {
    Call,
    Send,
    NonBlockingSend,
}

/// Handles a `svc` from the current thread.
pub fn handle() {
    let current = current_thread();
    let tcb = thread(current);
    if tcb.flags & tcb_flag::LINUX_SYSCALL != 0 {
        let number = tcb.registers.x[8];
        fault::raise(current, Fault::UnknownSyscall { number });
        return;
    }
    let number = tcb.registers.x[7];
    let Some(syscall) = Syscall::from_word(number) else {
        fault::raise(current, Fault::UnknownSyscall { number });
        return;
    };
    match syscall {
        Syscall::Call => handle_invocation(current, Invocation::Call),
        Syscall::Send => handle_invocation(current, Invocation::Send),
        Syscall::NBSend => handle_invocation(current, Invocation::NonBlockingSend),
        Syscall::Recv => handle_receive(current, Blocking::Block),
        Syscall::NBRecv => handle_receive(current, Blocking::NonBlocking),
        Syscall::ReplyRecv => {
            reply::reply_from_caller_slot(current);
            handle_receive(current, Blocking::Block);
        }
        Syscall::Reply => reply::reply_from_caller_slot(current),
        Syscall::Yield => sched::yield_current(),
        Syscall::DebugPutChar => crate::plat::pl011::put_byte(tcb.registers.x[0] as u8),
        Syscall::DebugHalt => {
            crate::log!(Info, "DebugHalt from thread \"{}\"", tcb.name());
            crate::plat::psci::system_off()
        }
        Syscall::DebugCapIdentify => {
            let (cap, _) = lookup_cap(cspace_root(current), tcb.registers.x[0]);
            tcb.registers.x[0] = cap.tag() as u64;
        }
        Syscall::DebugNameThread => debug_name_thread(current, tcb),
        Syscall::DebugDumpScheduler => sched::dump(),
        Syscall::DebugSnapshot => {}
    }
}

/// seL4's `handleInvocation`: Call, Send or NBSend on the cap at x0.
fn handle_invocation(current: u64, kind: Invocation) {
    let blocking = kind != Invocation::NonBlockingSend;
    let info = message::message_info(current);
    let cptr = thread(current).registers.x[0];
    let slot = match lookup_slot_of(current, cptr) {
        Ok(slot) => slot,
        Err(lookup) => {
            if blocking {
                fault::raise(
                    current,
                    Fault::Capability {
                        address: cptr,
                        phase: Phase::Send,
                        lookup,
                    },
                );
            }
            return;
        }
    };
    let buffer = message::buffer(current, BufferAccess::Read);
    let mut extra = ExtraCaps::default();
    match lookup_extra_caps(current, buffer, info, &mut extra) {
        Ok(()) => {}
        Err(failure) => {
            if blocking {
                fault::raise(
                    current,
                    Fault::Capability {
                        address: failure.cptr,
                        phase: Phase::Send,
                        lookup: failure.fault,
                    },
                );
            }
            return;
        }
    }
    // Caps other than endpoint, notification and reply caps are invoked; the invocation
    // reads the cap itself (decoding only what it needs).
    let words = cap_words(slot);
    let tag = raw_cap::tag(words);
    let is_ipc = [CapTag::Endpoint, CapTag::Notification, CapTag::Reply]
        .iter()
        .any(|ipc| tag == *ipc as u64);
    if !is_ipc {
        let mode = if kind == Invocation::Call {
            ReplyMode::Reply
        } else {
            ReplyMode::NoReply
        };
        crate::invocation::perform(current, slot, words, info, mode, buffer, &extra);
        return;
    }
    let send_kind = if kind == Invocation::Call {
        SendKind::Call
    } else {
        SendKind::Send
    };
    match Cap::decode(words) {
        Cap::Endpoint {
            can_send: false, ..
        }
        | Cap::Notification {
            can_send: false, ..
        }
        | Cap::Reply {
            is_master: true, ..
        } => {
            if kind == Invocation::Call {
                reply_error(current, &SyscallError::invalid_capability(0));
            }
            return;
        }
        Cap::Endpoint {
            ptr,
            badge,
            can_grant,
            can_grant_reply,
            ..
        } => {
            sched::set_thread_state(current, ThreadState::Restart);
            let rights = SendRights {
                badge,
                can_grant,
                can_grant_reply,
            };
            let blocking = if blocking {
                Blocking::Block
            } else {
                Blocking::NonBlocking
            };
            endpoint::send(current, ptr, rights, blocking, send_kind);
        }
        Cap::Notification { ptr, badge, .. } => {
            sched::set_thread_state(current, ThreadState::Restart);
            notification::signal(ptr, badge);
        }
        Cap::Reply { tcb, can_grant, .. } => {
            sched::set_thread_state(current, ThreadState::Restart);
            reply::do_reply_transfer(current, tcb, slot, can_grant);
        }
        // Only IPC caps get here.
        _ => return,
    }
    if thread(current).state == ThreadState::Restart {
        if kind == Invocation::Call {
            reply_success_empty(current);
        }
        sched::set_thread_state(current, ThreadState::Running);
    }
}

/// seL4's `handleRecv`: Recv (or NBRecv) on the endpoint or notification at x0; a cap
/// that cannot be received on is a cap fault.
fn handle_receive(current: u64, blocking: Blocking) {
    let cptr = thread(current).registers.x[0];
    let cap = match lookup_slot_of(current, cptr) {
        Ok(slot) => read_cap(slot),
        Err(lookup) => {
            receive_fault(current, cptr, lookup);
            return;
        }
    };
    match cap {
        Cap::Endpoint {
            ptr,
            can_receive: true,
            can_grant,
            ..
        } => {
            reply::delete_caller_cap(current);
            endpoint::receive(current, ptr, can_grant, blocking);
        }
        Cap::Notification {
            ptr,
            can_receive: true,
            ..
        } if matches!(notification::bound_thread(ptr), 0)
            || notification::bound_thread(ptr) == current =>
        {
            notification::receive(current, ptr, blocking);
        }
        _ => receive_fault(
            current,
            cptr,
            LookupFault::MissingCapability { bits_left: 0 },
        ),
    }
}

fn receive_fault(current: u64, cptr: u64, lookup: LookupFault) {
    fault::raise(
        current,
        Fault::Capability {
            address: cptr,
            phase: Phase::Receive,
            lookup,
        },
    );
}

/// `seL4_DebugNameThread`: names the thread whose TCB cap is at x0; the NUL-terminated
/// name is in the caller's IPC buffer after the tag word. Any error halts the system, as
/// seL4 does for this debugging aid.
fn debug_name_thread(current: u64, tcb: &mut Tcb) {
    let (cap, _) = lookup_cap(cspace_root(current), tcb.registers.x[0]);
    let Cap::Thread { ptr: target } = cap else {
        crate::log!(Error, "DebugNameThread: cap is not a TCB, halting");
        crate::plat::psci::system_off()
    };
    let Some(buffer) = crate::object::tcb::ipc_buffer(current, BufferAccess::Read) else {
        crate::log!(Error, "DebugNameThread: no IPC buffer, halting");
        crate::plat::psci::system_off()
    };
    let limit = MSG_MAX_LENGTH * 8;
    let mut name = [0u8; MSG_MAX_LENGTH * 8];
    // SAFETY: `buffer` is the physical address of the thread's 1 KiB-aligned IPC buffer,
    // inside a frame the thread holds a cap to (checked by `ipc_buffer`), and the
    // message area (8 + 960 bytes) fits in the buffer's 1 KiB.
    unsafe {
        core::ptr::copy_nonoverlapping(
            object_pointer::<u8>(buffer).add(8),
            name.as_mut_ptr(),
            limit,
        );
    }
    let Some(length) = name.iter().position(|&byte| byte == 0) else {
        crate::log!(Error, "DebugNameThread: name too long, halting");
        crate::plat::psci::system_off()
    };
    if target == current {
        tcb.set_name(&name[..length]);
    } else {
        thread(target).set_name(&name[..length]);
    }
}
