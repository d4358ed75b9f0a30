//! Kernel entry from user level: the Rust side of the exception vectors.

use crate::arch::user_context::UserRegisters;
use crate::arch::vectors::{current_user_exception, UserException};
use crate::fault::{self, Fault, MemoryAccess};
use crate::object::tcb::thread;

/// Bytes in an A64 instruction (`svc` included).
const INSTRUCTION_BYTES: u64 = 4;

/// A synchronous exception from EL0: a system call or a fault. Returns the registers of
/// the thread to resume. The system-call fastpaths are tried here, inline, so that their
/// common cases pay for nothing else; faults go to [`fault_exception`], everything else
/// to [`general_user_exception`].
#[no_mangle]
extern "C" fn handle_user_exception() -> *mut UserRegisters {
    let exception = current_user_exception();
    let current = crate::sched::current_thread();
    let tcb = thread(current);
    // seL4's FaultIP: the `svc` itself for a syscall (ELR is past it), the faulting
    // instruction otherwise. A thread restarted later re-executes it.
    if exception != UserException::SystemCall {
        tcb.fault_ip = tcb.registers.pc;
        return fault_exception(exception, current);
    }
    tcb.fault_ip = tcb.registers.pc.wrapping_sub(INSTRUCTION_BYTES);
    if let Some(next) = crate::fastpath::system_call(current) {
        return next;
    }
    general_user_exception(exception, current)
}

/// An exception from EL0 other than a system call: a VM fault tries its fastpath first.
/// Out of line, so that the system-call fastpaths do not pay for its registers.
#[inline(never)]
fn fault_exception(exception: UserException, current: u64) -> *mut UserRegisters {
    let fast = match exception {
        UserException::DataAbort { address, status } => {
            crate::fastpath::vm_fault(current, address, status, MemoryAccess::Data)
        }
        UserException::InstructionAbort { address, status } => {
            crate::fastpath::vm_fault(current, address, status, MemoryAccess::InstructionFetch)
        }
        UserException::SystemCall
        | UserException::FpAccessTrapped
        | UserException::Other { .. } => None,
    };
    match fast {
        Some(next) => next,
        None => general_user_exception(exception, current),
    }
}

/// The general path for an exception from EL0 (the fastpath declined or does not
/// apply): handles it, then lets the scheduler choose.
#[inline(never)]
fn general_user_exception(exception: UserException, current: u64) -> *mut UserRegisters {
    match exception {
        UserException::SystemCall => crate::syscall::handle(),
        UserException::FpAccessTrapped => crate::sched::take_fpu(current),
        UserException::InstructionAbort { address, status } => {
            fault::handle(Fault::VirtualMemory {
                address,
                status,
                access: MemoryAccess::InstructionFetch,
            })
        }
        UserException::DataAbort { address, status } => fault::handle(Fault::VirtualMemory {
            address,
            status,
            access: MemoryAccess::Data,
        }),
        UserException::Other { syndrome } => fault::handle(Fault::UserException { syndrome }),
    }
    crate::sched::schedule()
}

/// An interrupt while a user thread ran.
#[no_mangle]
extern "C" fn handle_user_interrupt() -> *mut UserRegisters {
    let tcb = crate::sched::current_tcb();
    tcb.fault_ip = tcb.registers.pc;
    crate::interrupt::handle_pending();
    crate::sched::schedule()
}
