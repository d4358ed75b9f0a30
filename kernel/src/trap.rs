//! Kernel entry from user level: the Rust side of the exception vectors.

use crate::arch::user_context::UserRegisters;
use crate::arch::vectors::{current_user_exception, UserException};
use crate::fault::{self, Fault, MemoryAccess};
use crate::object::tcb::thread;

/// Bytes in an A64 instruction (`svc` included).
const INSTRUCTION_BYTES: u64 = 4;

/// A synchronous exception from EL0: a system call or a fault. Returns the registers of
/// the thread to resume. The fastpath is tried here, inline, so that its common cases
/// pay for nothing else; everything else goes to [`general_user_exception`].
#[no_mangle]
extern "C" fn handle_user_exception() -> *mut UserRegisters {
    let exception = current_user_exception();
    let current = crate::sched::current_thread();
    let tcb = thread(current);
    // seL4's FaultIP: the `svc` itself for a syscall (ELR is past it), the faulting
    // instruction otherwise. A thread restarted later re-executes it.
    tcb.fault_ip = match exception {
        UserException::SystemCall => tcb.registers.pc.wrapping_sub(INSTRUCTION_BYTES),
        _ => tcb.registers.pc,
    };
    if exception == UserException::SystemCall {
        if let Some(next) = crate::fastpath::system_call(current) {
            return next;
        }
    }
    general_user_exception(exception, current)
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
