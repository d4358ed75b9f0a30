//! System call dispatch (x7 = the seL4 syscall number).

use crate::fault::{self, Fault};
use crate::invocation::ReplyMode;
use crate::object::cspace::lookup_cap;
use crate::object::object_pointer;
use crate::object::tcb::{tcb_at, tcb_slot, tcb_slot_pointer, Tcb, ThreadState};
use crate::sched::{current_tcb, current_thread};
use kernel_core::{Cap, SlotAddr, VmRights};
use sel4::{Error, MessageInfo, Syscall, MSG_MAX_LENGTH};

/// Handles a `svc` from the current thread.
pub fn handle() {
    let thread = current_thread();
    let tcb = current_tcb();
    let number = tcb.registers.x[7];
    let Some(syscall) = Syscall::from_word(number) else {
        fault::handle(Fault::UnknownSyscall { number });
        return;
    };
    match syscall {
        Syscall::DebugPutChar => crate::plat::pl011::put_byte(tcb.registers.x[0] as u8),
        Syscall::DebugHalt => {
            crate::log!(Info, "DebugHalt from thread \"{}\"", tcb.name());
            crate::plat::psci::system_off()
        }
        Syscall::DebugCapIdentify => {
            let (cap, _) = lookup_cap(cspace_root(thread), tcb.registers.x[0]);
            tcb.registers.x[0] = cap.tag() as u64;
        }
        Syscall::DebugNameThread => debug_name_thread(thread, tcb),
        Syscall::DebugSnapshot | Syscall::DebugDumpScheduler => {}
        Syscall::Yield => crate::sched::yield_current(),
        // STAND-IN: the threads-ipc branch provides the real dispatch. Call and Send
        // on a cap that is not an IPC object reach `invocation::perform`; a failed
        // lookup of the invoked cap stops the thread (seL4's cap fault with no handler).
        Syscall::Call | Syscall::Send | Syscall::NBSend => {
            let reply = if syscall == Syscall::Call {
                ReplyMode::Reply
            } else {
                ReplyMode::NoReply
            };
            let info = MessageInfo(tcb.registers.x[1]);
            let (cap, slot) = lookup_cap(cspace_root(thread), tcb.registers.x[0]);
            match slot.and_then(SlotAddr::new) {
                Some(slot) => crate::invocation::perform(thread, cap, slot, info, reply),
                None if reply == ReplyMode::Reply => tcb.state = ThreadState::Inactive,
                None => {}
            }
        }
        Syscall::ReplyRecv | Syscall::Recv | Syscall::NBRecv | Syscall::Reply => {
            // Invocations and IPC arrive with the object model; until then every one is
            // refused as seL4 refuses an invocation it cannot perform.
            tcb.registers.x[1] = MessageInfo::new(Error::IllegalOperation as u64, 0, 0, 0).word();
        }
    }
}

/// The cap in the thread's CSpace root slot.
fn cspace_root(thread: u64) -> Cap {
    // SAFETY: `thread` is a live TCB object, so its slots are initialised.
    unsafe { tcb_slot_pointer(thread, tcb_slot::CSPACE_ROOT).read() }.cap()
}

/// `seL4_DebugNameThread`: names the thread whose TCB cap is at x0; the NUL-terminated
/// name is in the caller's IPC buffer after the tag word. Any error halts the system, as
/// seL4 does for this debugging aid.
fn debug_name_thread(thread: u64, tcb: &mut Tcb) {
    let (cap, _) = lookup_cap(cspace_root(thread), tcb.registers.x[0]);
    let Cap::Thread { ptr: target } = cap else {
        crate::log!(Error, "DebugNameThread: cap is not a TCB, halting");
        crate::plat::psci::system_off()
    };
    let Some(buffer) = ipc_buffer_address(thread, tcb.ipc_buffer) else {
        crate::log!(Error, "DebugNameThread: no IPC buffer, halting");
        crate::plat::psci::system_off()
    };
    let limit = MSG_MAX_LENGTH * 8;
    let mut name = [0u8; MSG_MAX_LENGTH * 8];
    // SAFETY: `buffer` is the kernel-window address of the thread's IPC buffer, inside a
    // frame the thread holds a cap to (checked by `ipc_buffer_address`), and the message
    // area (8 + 960 bytes) fits in the buffer's 1 KiB.
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
    if target == thread {
        tcb.set_name(&name[..length]);
    } else {
        // SAFETY: a Thread cap names a live TCB object other than the caller's.
        unsafe { tcb_at(target) }.set_name(&name[..length]);
    }
}

/// Physical address of the thread's IPC buffer at `vaddr`, if its buffer frame cap allows
/// the kernel to write a message there.
fn ipc_buffer_address(thread: u64, vaddr: u64) -> Option<u64> {
    // SAFETY: `thread` is a live TCB object.
    let cap = unsafe { tcb_slot_pointer(thread, tcb_slot::IPC_BUFFER_FRAME).read() }.cap();
    // As seL4's lookupIPCBuffer for a receiver: a non-device frame mapped read/write.
    let Cap::Frame {
        paddr,
        size,
        rights: VmRights::ReadWrite,
        is_device: false,
        ..
    } = cap
    else {
        return None;
    };
    let offset = vaddr & ((1u64 << size.bits()) - 1);
    offset
        .is_multiple_of(1 << sel4::IPC_BUFFER_SIZE_BITS)
        .then_some(paddr + offset)
}
