//! User faults as IPC. A fault goes to the thread's fault handler (the endpoint its
//! `fault_handler` CPtr names in its own CSpace, looked up at fault time) as a Call whose
//! message is the fault's registers; the handler's reply decides whether the thread
//! resumes. A thread without a usable handler becomes inactive (seL4's double fault),
//! with a line at debug log level.

use crate::ipc::endpoint::{self, SendRights};
use crate::ipc::message::{get_mr, message_info, set_mr};
use crate::ipc::{Blocking, SendKind};
use crate::object::cspace::{lookup_slot_of, read_cap};
use crate::object::tcb::{thread, BufferAccess, PendingFault, ThreadState};
use kernel_core::{Cap, LookupFault};
use sel4::{FaultType, MessageInfo};

/// A fault a thread raised.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// `svc` with x7 not an seL4 system call, or any `svc` of a Linux-syscall thread
    /// (`number` is then x8).
    UnknownSyscall { number: u64 },
    /// An exception other than a system call or memory fault (undefined instruction,
    /// alignment, breakpoint...); `syndrome` is the whole ESR.
    UserException { syndrome: u64 },
    /// A translation or permission fault; `status` is the ESR.
    VirtualMemory {
        address: u64,
        status: u64,
        access: MemoryAccess,
    },
    /// A capability the thread named could not be used.
    Capability {
        address: u64,
        phase: Phase,
        lookup: LookupFault,
    },
}

/// What a faulting access was doing (seL4's VMFault `PrefetchFault` word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryAccess {
    InstructionFetch,
    Data,
}

/// Whether a cap fault happened while receiving (seL4's `InRecvPhase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Send,
    Receive,
}

/// What a fault reply does to the faulting thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterReply {
    Restart,
    Stop,
}

/// Delivers `fault` for the current thread.
pub fn handle(fault: Fault) {
    raise(crate::sched::current_thread(), fault);
}

/// Delivers `fault` for `tcb` to its fault handler (seL4's `handleFault`); on failure
/// the thread becomes inactive.
pub fn raise(tcb: u64, fault: Fault) {
    if let Err(double) = send_fault_ipc(tcb, fault) {
        let tcb_ref = thread(tcb);
        crate::log!(
            Debug,
            "thread \"{}\" has no fault handler for {fault} at pc {:#x} ({double}); now inactive",
            tcb_ref.name(),
            tcb_ref.fault_ip
        );
        crate::sched::set_thread_state(tcb, ThreadState::Inactive);
    }
}

/// seL4's `sendFaultIPC`: the handler cap must be an endpoint cap with send right and
/// grant or grant-reply right.
fn send_fault_ipc(tcb: u64, fault: Fault) -> Result<(), Fault> {
    let handler = thread(tcb).fault_handler;
    let cap = match lookup_slot_of(tcb, handler) {
        Ok(slot) => read_cap(slot),
        Err(lookup) => {
            return Err(Fault::Capability {
                address: handler,
                phase: Phase::Send,
                lookup,
            })
        }
    };
    match cap {
        Cap::Endpoint {
            ptr,
            badge,
            can_send: true,
            can_grant,
            can_grant_reply,
            ..
        } if can_grant || can_grant_reply => {
            thread(tcb).fault = pending(fault);
            let rights = SendRights {
                badge,
                can_grant,
                can_grant_reply: true,
            };
            endpoint::send(tcb, ptr, rights, Blocking::Block, SendKind::Call);
            Ok(())
        }
        _ => Err(Fault::Capability {
            address: handler,
            phase: Phase::Send,
            lookup: LookupFault::MissingCapability { bits_left: 0 },
        }),
    }
}

/// The fault as the TCB keeps it until the reply.
fn pending(fault: Fault) -> PendingFault {
    match fault {
        Fault::UnknownSyscall { number } => PendingFault {
            kind: FaultType::UnknownSyscall as u64,
            words: [number, 0, 0, 0, 0, 0],
        },
        Fault::UserException { syndrome } => PendingFault {
            kind: FaultType::UserException as u64,
            words: [syndrome, 0, 0, 0, 0, 0],
        },
        Fault::VirtualMemory {
            address,
            status,
            access,
        } => PendingFault {
            kind: FaultType::VmFault as u64,
            words: [
                address,
                u64::from(access == MemoryAccess::InstructionFetch),
                status,
                0,
                0,
                0,
            ],
        },
        Fault::Capability {
            address,
            phase,
            lookup,
        } => {
            let (failure, _) = lookup.message();
            PendingFault {
                kind: FaultType::CapFault as u64,
                words: [
                    address,
                    u64::from(phase == Phase::Receive),
                    failure[0],
                    failure[1],
                    failure[2],
                    failure[3],
                ],
            }
        }
    }
}

/// Registers of the UnknownSyscall message and reply (seL4's `MessageID_Syscall`): x0..x7,
/// FaultIP, SP, LR, SPSR.
const SYSCALL_MESSAGE_REGISTERS: usize = 12;

/// Writes the faulting `sender`'s pending fault as a message to `receiver` (seL4's
/// `setMRs_fault`); returns the MessageInfo (label = fault type, length as written).
pub fn write_message(sender: u64, receiver: u64, buffer: Option<u64>) -> MessageInfo {
    let fault = thread(sender).fault;
    let registers = thread(sender).registers;
    let fault_ip = thread(sender).fault_ip;
    let mut words = [0u64; sel4::unknown_syscall::LENGTH];
    let count = match FaultType::from_label(fault.kind) {
        Some(FaultType::UnknownSyscall) => {
            words[..8].copy_from_slice(&registers.x[..8]);
            words[8] = fault_ip;
            words[9] = registers.sp;
            words[10] = registers.x[30];
            words[11] = registers.spsr;
            words[12] = fault.words[0];
            sel4::unknown_syscall::LENGTH
        }
        Some(FaultType::UserException) => {
            words[..5].copy_from_slice(&[
                fault_ip,
                registers.sp,
                registers.spsr,
                fault.words[0],
                0,
            ]);
            sel4::user_exception::LENGTH
        }
        Some(FaultType::VmFault) => {
            words[..4].copy_from_slice(&[fault_ip, fault.words[0], fault.words[1], fault.words[2]]);
            sel4::vm_fault::LENGTH
        }
        Some(FaultType::CapFault) => {
            let failure_words = match fault.words[2] {
                1 => 1,
                2 => 2,
                3 => 3,
                _ => 4,
            };
            words[..3].copy_from_slice(&[fault_ip, fault.words[0], fault.words[1]]);
            words[3..3 + failure_words].copy_from_slice(&fault.words[2..2 + failure_words]);
            3 + failure_words
        }
        _ => 0,
    };
    let mut length = 0;
    for (index, word) in words.iter().take(count).enumerate() {
        length = set_mr(receiver, buffer, index, *word);
    }
    MessageInfo::new(fault.kind, 0, 0, length as u64)
}

/// seL4's `handleFaultReply`: a reply to an UnknownSyscall or UserException fault sets
/// the registers it carries and restarts the thread if its label is 0; a reply to a cap
/// or VM fault always restarts it.
pub fn handle_reply(faulter: u64, replier: u64) -> AfterReply {
    let info = message_info(replier);
    let buffer = crate::ipc::message::buffer(replier, BufferAccess::Read);
    let restart_if_zero = if info.label() == 0 {
        AfterReply::Restart
    } else {
        AfterReply::Stop
    };
    match FaultType::from_label(thread(faulter).fault.kind) {
        Some(FaultType::UnknownSyscall) => {
            let count = info.length().min(SYSCALL_MESSAGE_REGISTERS);
            for index in 0..count {
                let value = get_mr(replier, buffer, index);
                let tcb = thread(faulter);
                match index {
                    0..=7 => tcb.registers.x[index] = value,
                    8 => tcb.fault_ip = value,
                    9 => tcb.registers.sp = value,
                    10 => tcb.registers.x[30] = value,
                    _ => tcb.registers.spsr = sanitise_spsr(value),
                }
            }
            restart_if_zero
        }
        Some(FaultType::UserException) => {
            let count = info.length().min(sel4::user_exception::REPLY_LENGTH);
            for index in 0..count {
                let value = get_mr(replier, buffer, index);
                let tcb = thread(faulter);
                match index {
                    0 => tcb.fault_ip = value,
                    1 => tcb.registers.sp = value,
                    _ => tcb.registers.spsr = sanitise_spsr(value),
                }
            }
            restart_if_zero
        }
        _ => AfterReply::Restart,
    }
}

/// seL4's `sanitiseRegister` for SPSR: user code may set only the condition flags; the
/// thread always returns to EL0 with FIQ and SError masked.
pub fn sanitise_spsr(value: u64) -> u64 {
    (value & 0xf000_0000) | crate::arch::user_context::USER_SPSR
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
                "{} fault at {address:#x} (ESR {status:#x})",
                match access {
                    MemoryAccess::InstructionFetch => "instruction",
                    MemoryAccess::Data => "data",
                }
            ),
            Fault::Capability {
                address, lookup, ..
            } => write!(formatter, "cap fault on cptr {address:#x} ({lookup:?})"),
        }
    }
}
