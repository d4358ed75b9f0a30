//! The IPC and fault fastpaths: the common cases of Call, ReplyRecv, the UnknownSyscall
//! fault (every Linux syscall of a LINUX_SYSCALL thread is one) and the VMFault (every
//! first touch of a lazily mapped page is one), done in one straight pass from the
//! trapping thread to the thread that runs next, in the manner of seL4's fastpath.
//!
//! Each path first checks, without changing anything, that the case is one whose outcome
//! it knows: the partner is already waiting, the caps are plain, no caps travel, the
//! scheduler would pick the partner, and so on. If any check fails it returns `None` and
//! the kernel takes the general path (`syscall::handle`, `fault::handle`), which then sees the untouched
//! state. When all checks pass, the result is exactly what the general path would leave:
//! the same message, badge, MessageInfo, thread states, endpoint queues, reply cap and
//! derivation-tree links, and the same thread chosen to run. The kernel-tests cases in
//! `ipc.rs` and `faults.rs` exercise both the taken and the refused cases.

mod ipc;

use crate::arch::user_context::UserRegisters;
use crate::fault::MemoryAccess;
use crate::ipc::message;
use crate::object::cspace::{cap_words, lookup_slot_of};
use crate::object::tcb::{ipc_buffer, tcb_slot, tcb_slot_address, thread};
use kernel_core::{raw_cap, SlotAddr};
use sel4::{tcb_flag, Syscall};

/// Tries the fastpath for a `svc` of `current` (its FaultIP already set). Returns the
/// registers of the thread to resume, or `None` to take the general path.
#[inline(always)]
pub fn system_call(current: u64) -> Option<*mut UserRegisters> {
    let tcb = thread(current);
    if tcb.flags & tcb_flag::LINUX_SYSCALL != 0 {
        let number = tcb.registers.x[8];
        return ipc::unknown_syscall(current, number);
    }
    let number = tcb.registers.x[7];
    if number == Syscall::Call as i64 as u64 {
        ipc::call(current)
    } else if number == Syscall::ReplyRecv as i64 as u64 {
        ipc::reply_recv(current)
    } else if Syscall::from_word(number).is_none() {
        ipc::unknown_syscall(current, number)
    } else {
        None
    }
}

/// Tries the fastpath for a VM fault of `current` (its FaultIP already set) at `address`
/// with ESR `status`. Returns the registers of the thread to resume, or `None` to take
/// the general path.
#[inline(always)]
pub fn vm_fault(
    current: u64,
    address: u64,
    status: u64,
    access: MemoryAccess,
) -> Option<*mut UserRegisters> {
    ipc::vm_fault(current, address, status, access)
}

/// seL4's `lookupSlot` over the thread's CSpace, for the fastpath: the slot `cptr` names
/// (all 64 bits), or `None` on a lookup fault, leaving the slowpath to report it.
#[inline(always)]
fn lookup_slot(tcb: u64, cptr: u64) -> Option<SlotAddr> {
    lookup_slot_of(tcb, cptr).ok()
}

/// The address space the thread runs in: its VSpace's TTBR0 value (table address |
/// ASID << 48), if its VSpace slot holds a VSpace cap with an ASID.
#[inline(always)]
pub fn vspace_root(tcb: u64) -> Option<u64> {
    raw_cap::vspace_root(tcb_cap(tcb, tcb_slot::VSPACE_ROOT))
}

/// The cap in slot `index` of a TCB.
#[inline(always)]
fn tcb_cap(tcb: u64, index: u64) -> [u64; 2] {
    cap_words(tcb_slot_address(tcb, index))
}

/// Copies message registers 4..`length` between IPC buffers (the first four travel in
/// registers); `length` is at most 120.
#[inline(always)]
fn copy_buffer_mrs(from: u64, to: u64, length: usize) {
    for index in sel4::MSG_REGISTER_COUNT..length {
        message::set_buffer_mr(to, index, message::buffer_mr(from, index));
    }
}
