//! User faults. A fault goes to the thread's fault handler as an IPC message; a thread
//! without one becomes inactive (seL4's semantics), with a line at debug log level.

use crate::object::tcb::ThreadState;
use crate::sched::current_tcb;

/// A fault the current thread raised.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// `svc` with x7 not an seL4 system call.
    UnknownSyscall { number: u64 },
    /// An exception other than a system call or memory fault (undefined instruction,
    /// alignment, breakpoint...).
    UserException { syndrome: u64 },
    /// A translation or permission fault.
    VirtualMemory {
        address: u64,
        status: u64,
        access: MemoryAccess,
    },
}

/// What a faulting access was doing (seL4's VMFault `PrefetchFault` word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryAccess {
    InstructionFetch,
    Data,
}

/// Delivers `fault` for the current thread.
pub fn handle(fault: Fault) {
    let tcb = current_tcb();
    // Fault endpoints arrive with the IPC object model; until then no thread has a
    // fault handler, so every fault takes seL4's no-handler path.
    crate::log!(
        Debug,
        "thread \"{}\" has no fault handler for {fault} at pc {:#x}; now inactive",
        tcb.name(),
        tcb.registers.pc
    );
    tcb.state = ThreadState::Inactive;
}

impl core::fmt::Display for Fault {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Fault::UnknownSyscall { number } => {
                write!(formatter, "unknown syscall {}", number as i64)
            }
            Fault::UserException { syndrome } => {
                write!(formatter, "user exception (ESR {syndrome:#x})")
            }
            Fault::VirtualMemory {
                address,
                status,
                access,
            } => write!(
                formatter,
                "{} fault at {address:#x} (FSR {status:#x})",
                match access {
                    MemoryAccess::InstructionFetch => "instruction",
                    MemoryAccess::Data => "data",
                }
            ),
        }
    }
}
