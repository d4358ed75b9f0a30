//! Kernel entry from user level: the Rust side of the exception vectors.

use crate::arch::user_context::UserRegisters;
use crate::arch::vectors::{current_user_exception, UserException};
use crate::fault::{self, Fault, MemoryAccess};

/// A synchronous exception from EL0: a system call or a fault. Returns the registers of
/// the thread to resume.
#[no_mangle]
extern "C" fn handle_user_exception() -> *mut UserRegisters {
    match current_user_exception() {
        UserException::SystemCall => crate::syscall::handle(),
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
    crate::interrupt::handle_pending();
    crate::sched::schedule()
}
