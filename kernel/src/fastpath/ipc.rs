//! The fastpaths: Call to a waiting receiver, ReplyRecv that answers a caller (a normal
//! reply, or an UnknownSyscall or VMFault fault reply that restarts it) and waits again,
//! and an UnknownSyscall or VMFault fault delivered to a handler waiting on its endpoint.
//!
//! Each mirrors the general path step by step (`syscall::handle_invocation` with
//! `endpoint::send` and `reply::setup_caller_cap`; `reply::do_reply_transfer` with
//! `fault::handle_reply` and `endpoint::receive`; `fault::send_fault_ipc` with
//! `fault::write_message`); the comments name what each check stands for there.

use super::{copy_buffer_mrs, ipc_buffer, lookup_slot};
use crate::arch::user_context::UserRegisters;
use crate::fault::{sanitise_spsr, MemoryAccess};
use crate::ipc::{endpoint, message, notification};
use crate::object::cspace::{cap_words, slot_memory};
use crate::object::tcb::{
    tcb_slot, tcb_slot_address, thread, BufferAccess, PendingFault, ThreadState,
};
use crate::sched;
use kernel_core::raw_cap::{self, EndpointCap};
use kernel_core::{Slot, SlotAddr, SlotMemory};
use sel4::{vm_fault, FaultType, MessageInfo, MSG_REGISTER_COUNT};

/// The register holding MR0.
const FIRST_MR_REGISTER: usize = 2;
/// Registers an UnknownSyscall reply may set: x0..x7, FaultIP, SP, LR, SPSR.
const SYSCALL_REPLY_REGISTERS: usize = 12;

/// seL4's Call on an endpoint cap, when a receiver waits and will run next.
pub fn call(current: u64) -> Option<*mut UserRegisters> {
    let sender = thread(current);
    let info = MessageInfo(sender.registers.x[1]);
    if info.extra_caps() != 0 || sender.queued || !sched::resumes_current() {
        return None;
    }
    let cap = raw_cap::endpoint(cap_words(lookup_slot(current, sender.registers.x[0])?))?;
    // A Call through a cap with neither grant right leaves the caller Inactive.
    if !cap.can_send || !(cap.can_grant || cap.can_grant_reply) {
        return None;
    }
    let receiver = endpoint::first_receiver(cap.ptr)?;
    let vspace_root = next_to_run(receiver)?;
    let reply_slots = reply_slots(current, receiver)?;
    let length = info.clamped_length();
    let buffers = message_buffers(current, receiver, length);

    endpoint::remove_waiter(cap.ptr, receiver);
    let transferred = transfer_message(current, receiver, length, buffers);
    let receiver_ref = thread(receiver);
    receiver_ref.registers.x[0] = cap.badge;
    receiver_ref.registers.x[1] = MessageInfo::new(info.label(), 0, 0, transferred as u64).word();
    receiver_ref.state = ThreadState::Running;
    let can_grant = receiver_ref.blocking_can_grant;
    thread(current).state = ThreadState::BlockedOnReply;
    insert_caller_cap(current, can_grant, reply_slots);
    Some(sched::switch_to_partner(receiver, vspace_root))
}

/// What a reply does to the caller, by the fault it waits on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReplyKind {
    /// No fault: the reply is a message.
    Message,
    /// An UnknownSyscall fault answered with label 0: set the registers, restart.
    SyscallRestart,
    /// A VMFault answered with label 0: restart at the faulting instruction (the message
    /// is ignored). seL4 restarts after any VMFault reply; other labels, and replies to
    /// other faults, take the slowpath.
    Restart,
}

/// seL4's ReplyRecv: answers the caller in the caller slot and waits on the endpoint,
/// when the caller will run next and nothing is there to receive at once.
pub fn reply_recv(current: u64) -> Option<*mut UserRegisters> {
    let replier = thread(current);
    let info = MessageInfo(replier.registers.x[1]);
    if info.extra_caps() != 0 || replier.queued || !sched::resumes_current() {
        return None;
    }
    // The receive half: an endpoint cap with the receive right, no sender queued and no
    // signal pending on the bound notification (either would be taken at once).
    let cap = raw_cap::endpoint(cap_words(lookup_slot(current, replier.registers.x[0])?))?;
    if !cap.can_receive || endpoint::has_senders(cap.ptr) {
        return None;
    }
    let bound = replier.bound_notification;
    if bound != 0 && notification::is_active(bound) {
        return None;
    }
    // The reply half: a reply cap to a thread waiting for it.
    let caller_slot = tcb_slot_address(current, tcb_slot::CALLER);
    let reply = raw_cap::reply(cap_words(caller_slot))?;
    if reply.is_master || thread(reply.tcb).state != ThreadState::BlockedOnReply {
        return None;
    }
    let caller = reply.tcb;
    let kind = match thread(caller).fault.kind {
        0 => ReplyKind::Message,
        kind if kind == FaultType::UnknownSyscall as u64 && info.label() == 0 => {
            ReplyKind::SyscallRestart
        }
        kind if kind == FaultType::VmFault as u64 && info.label() == 0 => ReplyKind::Restart,
        _ => return None,
    };
    let vspace_root = next_to_run(caller)?;
    let length = info.clamped_length();

    match kind {
        ReplyKind::Message => {
            let buffers = message_buffers(current, caller, length);
            let transferred = transfer_message(current, caller, length, buffers);
            let caller_ref = thread(caller);
            caller_ref.registers.x[0] = 0;
            caller_ref.registers.x[1] =
                MessageInfo::new(info.label(), 0, 0, transferred as u64).word();
        }
        ReplyKind::SyscallRestart => {
            restore_syscall_registers(current, caller, length);
            restart_after_fault(caller);
        }
        ReplyKind::Restart => restart_after_fault(caller),
    }
    thread(caller).state = ThreadState::Running;
    remove_reply_cap(caller_slot);

    let replier = thread(current);
    replier.blocking_object = cap.ptr;
    replier.blocking_can_grant = cap.can_grant;
    replier.state = ThreadState::BlockedOnReceive;
    endpoint::append_receiver(cap.ptr, current);
    Some(sched::switch_to_partner(caller, vspace_root))
}

/// seL4's UnknownSyscall fault (`number` is x7, or x8 for a LINUX_SYSCALL thread) sent
/// to a handler waiting on the thread's fault endpoint, with an IPC buffer for the
/// 13-word message.
pub fn unknown_syscall(current: u64, number: u64) -> Option<*mut UserRegisters> {
    let handler = fault_handler(current)?;
    let buffer = ipc_buffer(handler.receiver, BufferAccess::Write)?;
    let faulter = thread(current);
    faulter.fault = PendingFault {
        kind: FaultType::UnknownSyscall as u64,
        words: [number, 0, 0, 0, 0, 0],
    };
    let registers = &faulter.registers;
    let tail = [
        registers.x[4],
        registers.x[5],
        registers.x[6],
        registers.x[7],
        faulter.fault_ip,
        registers.sp,
        registers.x[30],
        registers.spsr,
        number,
    ];
    let head = [
        registers.x[0],
        registers.x[1],
        registers.x[2],
        registers.x[3],
    ];
    for (offset, word) in tail.iter().enumerate() {
        message::set_buffer_mr(buffer, MSG_REGISTER_COUNT + offset, *word);
    }
    let info = MessageInfo::new(
        FaultType::UnknownSyscall as u64,
        0,
        0,
        sel4::unknown_syscall::LENGTH as u64,
    );
    Some(deliver_fault(current, handler, head, info))
}

/// seL4's VMFault (a translation, permission or other abort on a user access at
/// `address`, `status` its ESR) sent to a handler waiting on the thread's fault
/// endpoint. The 4-word message travels in registers only, so the handler needs no IPC
/// buffer. Every first touch of a lazily mapped page takes this path.
pub fn vm_fault(
    current: u64,
    address: u64,
    status: u64,
    access: MemoryAccess,
) -> Option<*mut UserRegisters> {
    let handler = fault_handler(current)?;
    let faulter = thread(current);
    let prefetch = u64::from(access == MemoryAccess::InstructionFetch);
    faulter.fault = PendingFault {
        kind: FaultType::VmFault as u64,
        words: [address, prefetch, status, 0, 0, 0],
    };
    let words = [faulter.fault_ip, address, prefetch, status];
    let info = MessageInfo::new(FaultType::VmFault as u64, 0, 0, vm_fault::LENGTH as u64);
    Some(deliver_fault(current, handler, words, info))
}

/// A fault's destination: the handler endpoint of the faulting thread (the current one)
/// and the receiver waiting there, checked to run next and to take a reply cap.
#[derive(Clone, Copy)]
struct FaultHandler {
    cap: EndpointCap,
    receiver: u64,
    vspace_root: u64,
    reply_slots: ReplySlots,
}

/// `fault::send_fault_ipc` up to the send, changing nothing: the fault handler cap
/// resolves to an endpoint cap it may use, a receiver waits there and would be the next
/// to run, and the reply cap's slots are ready.
#[inline(always)]
fn fault_handler(current: u64) -> Option<FaultHandler> {
    let faulter = thread(current);
    if faulter.queued || !sched::resumes_current() {
        return None;
    }
    let cap = raw_cap::endpoint(cap_words(lookup_slot(current, faulter.fault_handler)?))?;
    if !fault_handler_usable(cap) {
        return None;
    }
    let receiver = endpoint::first_receiver(cap.ptr)?;
    let vspace_root = next_to_run(receiver)?;
    let reply_slots = reply_slots(current, receiver)?;
    Some(FaultHandler {
        cap,
        receiver,
        vspace_root,
        reply_slots,
    })
}

/// The rest of `fault::send_fault_ipc` (`endpoint::send` as a Call, the message from
/// `fault::write_message`), once the fault is recorded and any words beyond the
/// registers are in the handler's buffer: `registers` become MR0..MR3.
#[inline(always)]
fn deliver_fault(
    current: u64,
    handler: FaultHandler,
    registers: [u64; MSG_REGISTER_COUNT],
    info: MessageInfo,
) -> *mut UserRegisters {
    endpoint::remove_waiter(handler.cap.ptr, handler.receiver);
    thread(current).state = ThreadState::BlockedOnReply;
    let receiver_ref = thread(handler.receiver);
    receiver_ref.registers.x[FIRST_MR_REGISTER..FIRST_MR_REGISTER + MSG_REGISTER_COUNT]
        .copy_from_slice(&registers);
    receiver_ref.registers.x[0] = handler.cap.badge;
    receiver_ref.registers.x[1] = info.word();
    receiver_ref.state = ThreadState::Running;
    let can_grant = receiver_ref.blocking_can_grant;
    insert_caller_cap(current, can_grant, handler.reply_slots);
    sched::switch_to_partner(handler.receiver, handler.vspace_root)
}

/// `fault::send_fault_ipc`'s test of the handler cap: it may send, and grant or
/// grant-reply (so the faulting thread gets a reply cap).
fn fault_handler_usable(cap: EndpointCap) -> bool {
    cap.can_send && (cap.can_grant || cap.can_grant_reply)
}

/// The address space of `partner` if the scheduler, once the current thread blocks,
/// would pick it: it is off the run queues, no queued thread has a higher priority
/// (`choose`'s rule for a woken thread when the current one is not runnable), and it has
/// an address space to run in (else the scheduler delivers a VM fault instead).
#[inline(always)]
fn next_to_run(partner: u64) -> Option<u64> {
    let partner_ref = thread(partner);
    if partner_ref.queued || !sched::is_highest_priority(partner_ref.priority) {
        return None;
    }
    super::vspace_root(partner)
}

/// The slots a Call's reply cap links: the caller's master reply cap (which
/// `setup_reply_master` would otherwise create) and the receiver's caller slot, which a
/// waiting receiver has emptied (`handle_receive` deletes the old caller cap).
#[derive(Clone, Copy)]
struct ReplySlots {
    master: SlotAddr,
    caller: SlotAddr,
}

#[inline(always)]
fn reply_slots(sender: u64, receiver: u64) -> Option<ReplySlots> {
    let master = tcb_slot_address(sender, tcb_slot::REPLY);
    let caller = tcb_slot_address(receiver, tcb_slot::CALLER);
    let master_cap = raw_cap::reply(cap_words(master))?;
    if !master_cap.is_master || master_cap.tcb != sender || !raw_cap::is_null(cap_words(caller)) {
        return None;
    }
    Some(ReplySlots { master, caller })
}

/// Puts a reply cap to `sender` in the receiver's caller slot as the child of the
/// sender's master reply cap: `cdt::insert_child` for this case (a reply cap is never
/// revocable nor first-badged, and its parent is no untyped).
#[inline(always)]
fn insert_caller_cap(sender: u64, can_grant: bool, slots: ReplySlots) {
    let mut memory = slot_memory();
    let mut master = memory.read(slots.master);
    let next = master.mdb.next();
    let mdb = master
        .mdb
        .with_prev(Some(slots.master))
        .with_revocable(false)
        .with_first_badged(false);
    memory.write(
        slots.caller,
        Slot {
            cap: raw_cap::reply_words(sender, can_grant),
            mdb,
        },
    );
    master.mdb = master.mdb.with_next(Some(slots.caller));
    memory.write(slots.master, master);
    if let Some(next) = next {
        let mut next_slot = memory.read(next);
        next_slot.mdb = next_slot.mdb.with_prev(Some(slots.caller));
        memory.write(next, next_slot);
    }
}

/// Empties the slot of a used reply cap: `cdt::empty_slot` (a reply cap needs no
/// other cleanup).
#[inline(always)]
fn remove_reply_cap(slot: SlotAddr) {
    let mut memory = slot_memory();
    let value = memory.read(slot);
    let (previous, next) = (value.mdb.prev(), value.mdb.next());
    if let Some(previous) = previous {
        let mut previous_slot = memory.read(previous);
        previous_slot.mdb = previous_slot.mdb.with_next(next);
        memory.write(previous, previous_slot);
    }
    if let Some(next) = next {
        let mut next_slot = memory.read(next);
        let first_badged = next_slot.mdb.first_badged() || value.mdb.first_badged();
        next_slot.mdb = next_slot
            .mdb
            .with_prev(previous)
            .with_first_badged(first_badged);
        memory.write(next, next_slot);
    }
    memory.write(slot, Slot::EMPTY);
}

/// The IPC buffers a message of `length` words needs beyond the registers (sender's
/// read, receiver's written), as `endpoint::transfer` looks them up.
#[derive(Clone, Copy)]
struct Buffers {
    send: Option<u64>,
    receive: Option<u64>,
}

#[inline(always)]
fn message_buffers(sender: u64, receiver: u64, length: usize) -> Buffers {
    if length <= MSG_REGISTER_COUNT {
        return Buffers {
            send: None,
            receive: None,
        };
    }
    Buffers {
        send: ipc_buffer(sender, BufferAccess::Read),
        receive: ipc_buffer(receiver, BufferAccess::Write),
    }
}

/// `message::copy_mrs`: the register words, then the buffer words if both threads have
/// buffers; returns how many arrived.
#[inline(always)]
fn transfer_message(sender: u64, receiver: u64, length: usize, buffers: Buffers) -> usize {
    let in_registers = length.min(MSG_REGISTER_COUNT);
    let from = &thread(sender).registers.x;
    let to = &mut thread(receiver).registers.x;
    // A word at a time: at most four, where `copy_from_slice` would call memcpy.
    let words = FIRST_MR_REGISTER..FIRST_MR_REGISTER + in_registers;
    for (target, source) in to[words.clone()].iter_mut().zip(&from[words]) {
        *target = *source;
    }
    if length <= MSG_REGISTER_COUNT {
        return length;
    }
    match (buffers.send, buffers.receive) {
        (Some(send), Some(receive)) => {
            copy_buffer_mrs(send, receive, length);
            length
        }
        _ => in_registers,
    }
}

/// `fault::handle_reply` for UnknownSyscall: the reply's first `length` words (at most
/// 12) become x0..x7, FaultIP, SP, LR and SPSR; words past the registers come from the
/// replier's IPC buffer, or are 0 without one (`message::get_mr`).
#[inline(always)]
fn restore_syscall_registers(replier: u64, caller: u64, length: usize) {
    let count = length.min(SYSCALL_REPLY_REGISTERS);
    let buffer = if count > MSG_REGISTER_COUNT {
        ipc_buffer(replier, BufferAccess::Read)
    } else {
        None
    };
    let source = &thread(replier).registers.x;
    let word = |index: usize| match (index, buffer) {
        (0..MSG_REGISTER_COUNT, _) => source[FIRST_MR_REGISTER + index],
        (_, Some(buffer)) => message::buffer_mr(buffer, index),
        (_, None) => 0,
    };
    let caller_ref = thread(caller);
    for index in 0..count.min(8) {
        caller_ref.registers.x[index] = word(index);
    }
    if count > 8 {
        caller_ref.fault_ip = word(8);
    }
    if count > 9 {
        caller_ref.registers.sp = word(9);
    }
    if count > 10 {
        caller_ref.registers.x[30] = word(10);
    }
    if count > 11 {
        caller_ref.registers.spsr = sanitise_spsr(word(11));
    }
}

/// The end of `reply::do_reply_transfer` for a restarting fault: the fault is answered
/// and the thread resumes at its FaultIP (what `schedule` does for a Restart thread).
#[inline(always)]
fn restart_after_fault(caller: u64) {
    let caller_ref = thread(caller);
    caller_ref.fault = PendingFault::default();
    caller_ref.registers.pc = caller_ref.fault_ip;
}
