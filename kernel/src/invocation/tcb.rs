//! TCB invocations (seL4 16.0.0, non-MCS): decoded with seL4's checks in seL4's order,
//! then performed. `decode` reads and validates only; `perform` cannot fail.

use crate::fault::sanitise_spsr;
use crate::ipc::notification;
use crate::object::cspace::slot_memory;
use crate::object::tcb::{tcb_slot, tcb_slot_address, thread};
use crate::sched;
use kernel_core::derive::{derive_cap, update_cap_data};
use kernel_core::{Cap, Preserve, SlotAddr, SyscallError};
use sel4::{tcb_flag, InvocationLabel, MessageInfo, USER_CONTEXT_GPR, USER_CONTEXT_WORDS};

/// The words of a successful reply (ReadRegisters, SetFlags).
#[derive(Clone, Copy, Debug)]
pub struct TcbReply {
    pub length: usize,
    pub words: [u64; 40],
}

impl TcbReply {
    const EMPTY: TcbReply = TcbReply {
        length: 0,
        words: [0; 40],
    };
}

/// Registers in the "frame" group of `seL4_UserContext` (pc .. x30); the rest are the
/// "integer" group (seL4's `n_frameRegisters`, `n_gpRegisters`).
const FRAME_REGISTERS: usize = 17;
/// CopyRegisters flags (seL4's `CopyRegisters_*` bits).
const COPY_SUSPEND_SOURCE: u64 = 1 << 0;
const COPY_RESUME_TARGET: u64 = 1 << 1;
const COPY_TRANSFER_FRAME: u64 = 1 << 2;
const COPY_TRANSFER_INTEGER: u64 = 1 << 3;
/// ReadRegisters flag bit 0: suspend the source first.
const READ_SUSPEND_SOURCE: u64 = 1 << 0;

/// A validated TCB invocation.
#[derive(Clone, Copy, Debug)]
enum TcbInvocation {
    ReadRegisters { suspend: bool, count: usize },
    WriteRegisters { resume: bool, count: usize },
    CopyRegisters { source: u64, flags: u64 },
    ThreadControl(ThreadControl),
    SetPriority(u8),
    SetMcPriority(u8),
    SetSchedParams { mcp: u8, priority: u8 },
    Suspend,
    Resume,
    BindNotification(u64),
    UnbindNotification,
    SetTlsBase(u64),
    SetFlags { clear: u64, set: u64 },
}

/// The space and IPC-buffer half of seL4's `invokeTCB_ThreadControl`.
#[derive(Clone, Copy, Debug)]
struct ThreadControl {
    space: Option<SpaceUpdate>,
    buffer: Option<BufferUpdate>,
}

#[derive(Clone, Copy, Debug)]
struct SpaceUpdate {
    fault_handler: u64,
    cspace: (Cap, SlotAddr),
    vspace: (Cap, SlotAddr),
}

#[derive(Clone, Copy, Debug)]
struct BufferUpdate {
    address: u64,
    /// The derived frame cap and its source slot; `None` for address 0 (no buffer).
    frame: Option<(Cap, SlotAddr)>,
}

/// Decodes and performs an invocation of the TCB `target_tcb` (its cap in
/// `target_slot`) by `thread_object`. `words` are the message words the invoker sent;
/// `extra_caps` the caps (and slots) its extra-cap CPtrs named.
///
/// # Errors
/// seL4's errors for the invocation (TruncatedMessage, InvalidCapability, RangeError,
/// IllegalOperation, AlignmentError, ...); nothing has changed then.
pub fn invoke(
    thread_object: u64,
    target_tcb: u64,
    target_slot: SlotAddr,
    info: MessageInfo,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<TcbReply, SyscallError> {
    let _ = target_slot;
    let invocation = decode(thread_object, target_tcb, info.label(), words, extra_caps)?;
    Ok(perform(thread_object, target_tcb, invocation, words))
}

fn word(words: &[u64], index: usize) -> Result<u64, SyscallError> {
    words
        .get(index)
        .copied()
        .ok_or(SyscallError::truncated_message())
}

fn extra(extra_caps: &[(Cap, SlotAddr)], index: usize) -> Result<(Cap, SlotAddr), SyscallError> {
    extra_caps
        .get(index)
        .copied()
        .ok_or(SyscallError::truncated_message())
}

/// seL4's `checkPrio`: a priority (or MCP) may not exceed the authority's MCP.
fn check_priority(value: u64, authority: &Cap) -> Result<u8, SyscallError> {
    let Cap::Thread { ptr } = *authority else {
        return Err(SyscallError::invalid_capability(1));
    };
    let mcp = thread(ptr).max_controlled_priority;
    if value > u64::from(mcp) {
        return Err(SyscallError::range_error(0, u64::from(mcp)));
    }
    Ok(value as u8)
}

fn decode(
    thread_object: u64,
    target: u64,
    label: u64,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<TcbInvocation, SyscallError> {
    let Some(label) = InvocationLabel::from_label(label) else {
        return Err(SyscallError::illegal_operation());
    };
    match label {
        InvocationLabel::TCBReadRegisters => {
            let flags = word(words, 0)?;
            let count = word(words, 1)?;
            if !(1..=USER_CONTEXT_WORDS as u64).contains(&count) {
                return Err(SyscallError::range_error(1, USER_CONTEXT_WORDS as u64));
            }
            if target == thread_object {
                return Err(SyscallError::illegal_operation());
            }
            Ok(TcbInvocation::ReadRegisters {
                suspend: flags & READ_SUSPEND_SOURCE != 0,
                count: count as usize,
            })
        }
        InvocationLabel::TCBWriteRegisters => {
            let flags = word(words, 0)?;
            let count = word(words, 1)?;
            if (words.len() as u64 - 2) < count {
                return Err(SyscallError::truncated_message());
            }
            if target == thread_object {
                return Err(SyscallError::illegal_operation());
            }
            Ok(TcbInvocation::WriteRegisters {
                resume: flags & sel4::WRITE_REGISTERS_RESUME != 0,
                count: (count as usize).min(USER_CONTEXT_WORDS),
            })
        }
        InvocationLabel::TCBCopyRegisters => {
            let flags = word(words, 0)?;
            let (source, _) = extra(extra_caps, 0)?;
            let Cap::Thread { ptr } = source else {
                return Err(SyscallError::invalid_capability(1));
            };
            Ok(TcbInvocation::CopyRegisters { source: ptr, flags })
        }
        InvocationLabel::TCBConfigure => {
            if words.len() < 4 || extra_caps.len() < 3 {
                return Err(SyscallError::truncated_message());
            }
            let buffer = decode_buffer(words[3], extra_caps[2])?;
            let space = decode_space(words[0], words[1], extra_caps[0], extra_caps[1])?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: Some(space),
                buffer: Some(buffer),
            }))
        }
        InvocationLabel::TCBSetSpace => {
            if words.len() < 3 || extra_caps.len() < 2 {
                return Err(SyscallError::truncated_message());
            }
            let space = decode_space(words[0], words[1], extra_caps[0], extra_caps[1])?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: Some(space),
                buffer: None,
            }))
        }
        InvocationLabel::TCBSetIPCBuffer => {
            if words.is_empty() || extra_caps.is_empty() {
                return Err(SyscallError::truncated_message());
            }
            let buffer = decode_buffer(words[0], extra_caps[0])?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: None,
                buffer: Some(buffer),
            }))
        }
        InvocationLabel::TCBSetPriority => {
            if words.is_empty() || extra_caps.is_empty() {
                return Err(SyscallError::truncated_message());
            }
            Ok(TcbInvocation::SetPriority(check_priority(
                words[0],
                &extra_caps[0].0,
            )?))
        }
        InvocationLabel::TCBSetMCPriority => {
            if words.is_empty() || extra_caps.is_empty() {
                return Err(SyscallError::truncated_message());
            }
            Ok(TcbInvocation::SetMcPriority(check_priority(
                words[0],
                &extra_caps[0].0,
            )?))
        }
        InvocationLabel::TCBSetSchedParams => {
            if words.len() < 2 || extra_caps.is_empty() {
                return Err(SyscallError::truncated_message());
            }
            let authority = extra_caps[0].0;
            let mcp = check_priority(words[0], &authority)?;
            let priority = check_priority(words[1], &authority)?;
            Ok(TcbInvocation::SetSchedParams { mcp, priority })
        }
        InvocationLabel::TCBSuspend => Ok(TcbInvocation::Suspend),
        InvocationLabel::TCBResume => Ok(TcbInvocation::Resume),
        InvocationLabel::TCBBindNotification => {
            let (cap, _) = extra(extra_caps, 0)?;
            if thread(target).bound_notification != 0 {
                return Err(SyscallError::illegal_operation());
            }
            let Cap::Notification {
                ptr, can_receive, ..
            } = cap
            else {
                // seL4 answers IllegalOperation (not InvalidCapability) for a cap that
                // is not a notification.
                return Err(SyscallError::illegal_operation());
            };
            if !can_receive || !notification::can_bind(ptr) {
                return Err(SyscallError::illegal_operation());
            }
            Ok(TcbInvocation::BindNotification(ptr))
        }
        InvocationLabel::TCBUnbindNotification => {
            if thread(target).bound_notification == 0 {
                return Err(SyscallError::illegal_operation());
            }
            Ok(TcbInvocation::UnbindNotification)
        }
        InvocationLabel::TCBSetTLSBase => Ok(TcbInvocation::SetTlsBase(word(words, 0)?)),
        InvocationLabel::TCBSetFlags => Ok(TcbInvocation::SetFlags {
            clear: word(words, 0)?,
            set: word(words, 1)?,
        }),
        _ => Err(SyscallError::illegal_operation()),
    }
}

/// seL4's IPC-buffer checks: address 0 means no buffer; otherwise a derivable,
/// non-device frame cap and a 1 KiB-aligned address.
fn decode_buffer(address: u64, (cap, slot): (Cap, SlotAddr)) -> Result<BufferUpdate, SyscallError> {
    if address == 0 {
        return Ok(BufferUpdate {
            address,
            frame: None,
        });
    }
    let derived = derive_cap(&slot_memory(), slot, &cap)?;
    let Cap::Frame {
        is_device: false, ..
    } = derived
    else {
        return Err(SyscallError::illegal_operation());
    };
    if !address.is_multiple_of(1 << sel4::IPC_BUFFER_SIZE_BITS) {
        return Err(SyscallError::alignment_error());
    }
    Ok(BufferUpdate {
        address,
        frame: Some((derived, slot)),
    })
}

/// seL4's CSpace/VSpace checks for Configure and SetSpace: the CNode cap (with the guard
/// the data word sets) must derive to a CNode, the VSpace cap to a VSpace with an ASID.
fn decode_space(
    fault_handler: u64,
    cspace_data: u64,
    (cspace_cap, cspace_slot): (Cap, SlotAddr),
    (vspace_cap, vspace_slot): (Cap, SlotAddr),
) -> Result<SpaceUpdate, SyscallError> {
    let memory = slot_memory();
    let cspace_cap = if cspace_data != 0 {
        update_cap_data(Preserve::No, cspace_data, &cspace_cap)
    } else {
        cspace_cap
    };
    let cspace = derive_cap(&memory, cspace_slot, &cspace_cap)?;
    if !matches!(cspace, Cap::CNode { .. }) {
        return Err(SyscallError::illegal_operation());
    }
    let vspace = derive_cap(&memory, vspace_slot, &vspace_cap)?;
    if !matches!(vspace, Cap::VSpace { asid: Some(_), .. }) {
        return Err(SyscallError::illegal_operation());
    }
    Ok(SpaceUpdate {
        fault_handler,
        cspace: (cspace, cspace_slot),
        vspace: (vspace, vspace_slot),
    })
}

fn perform(thread_object: u64, target: u64, invocation: TcbInvocation, words: &[u64]) -> TcbReply {
    match invocation {
        TcbInvocation::ReadRegisters { suspend, count } => {
            if suspend {
                sched::suspend(target);
            }
            let context = read_context(target);
            let mut reply = TcbReply::EMPTY;
            reply.words[..count].copy_from_slice(&context[..count]);
            reply.length = count;
            reply
        }
        TcbInvocation::WriteRegisters { resume, count } => {
            let mut context = read_context(target);
            for (index, value) in context.iter_mut().enumerate().take(count) {
                *value = words.get(index + 2).copied().unwrap_or(0);
            }
            write_context(target, &context);
            continue_at_fault_ip(target);
            if resume {
                sched::restart(target);
            }
            if target == thread_object {
                sched::reschedule_required();
            }
            TcbReply::EMPTY
        }
        TcbInvocation::CopyRegisters { source, flags } => {
            if flags & COPY_SUSPEND_SOURCE != 0 {
                sched::suspend(source);
            }
            if flags & COPY_RESUME_TARGET != 0 {
                sched::restart(target);
            }
            let from = read_context(source);
            let mut to = read_context(target);
            if flags & COPY_TRANSFER_FRAME != 0 {
                to[..FRAME_REGISTERS].copy_from_slice(&from[..FRAME_REGISTERS]);
            }
            if flags & COPY_TRANSFER_INTEGER != 0 {
                to[FRAME_REGISTERS..].copy_from_slice(&from[FRAME_REGISTERS..]);
            }
            write_context(target, &to);
            if flags & COPY_TRANSFER_FRAME != 0 {
                continue_at_fault_ip(target);
            }
            if target == thread_object {
                sched::reschedule_required();
            }
            TcbReply::EMPTY
        }
        TcbInvocation::ThreadControl(control) => {
            thread_control(thread_object, target, control);
            TcbReply::EMPTY
        }
        TcbInvocation::SetPriority(priority) => {
            sched::set_priority(target, priority);
            TcbReply::EMPTY
        }
        TcbInvocation::SetMcPriority(mcp) => {
            thread(target).max_controlled_priority = mcp;
            TcbReply::EMPTY
        }
        TcbInvocation::SetSchedParams { mcp, priority } => {
            thread(target).max_controlled_priority = mcp;
            sched::set_priority(target, priority);
            TcbReply::EMPTY
        }
        TcbInvocation::Suspend => {
            sched::suspend(target);
            TcbReply::EMPTY
        }
        TcbInvocation::Resume => {
            sched::restart(target);
            TcbReply::EMPTY
        }
        TcbInvocation::BindNotification(notification_object) => {
            notification::bind(target, notification_object);
            TcbReply::EMPTY
        }
        TcbInvocation::UnbindNotification => {
            notification::unbind_thread(target);
            TcbReply::EMPTY
        }
        TcbInvocation::SetTlsBase(base) => {
            thread(target).registers.tpidr_el0 = base;
            if target == thread_object {
                sched::reschedule_required();
            }
            TcbReply::EMPTY
        }
        TcbInvocation::SetFlags { clear, set } => {
            let tcb = thread(target);
            tcb.flags = (tcb.flags & !clear) | (set & tcb_flag::MASK);
            let mut reply = TcbReply::EMPTY;
            reply.words[0] = tcb.flags;
            reply.length = 1;
            reply
        }
    }
}

/// Installs the new CSpace/VSpace roots and fault handler, and the IPC buffer (seL4's
/// `invokeTCB_ThreadControl` for the space and buffer updates).
fn thread_control(thread_object: u64, target: u64, control: ThreadControl) {
    let mut memory = slot_memory();
    if let Some(space) = control.space {
        thread(target).fault_handler = space.fault_handler;
        for ((cap, source), index) in [
            (space.cspace, tcb_slot::CSPACE_ROOT),
            (space.vspace, tcb_slot::VSPACE_ROOT),
        ] {
            let destination = tcb_slot_address(target, index);
            crate::object::finalise::delete_slot(destination);
            if kernel_core::cdt::same_object_as(
                &cap,
                &kernel_core::SlotMemory::read(&memory, source).cap(),
            ) {
                kernel_core::cdt::insert_child(&mut memory, source, destination, &cap);
            }
        }
    }
    if let Some(buffer) = control.buffer {
        let destination = tcb_slot_address(target, tcb_slot::IPC_BUFFER_FRAME);
        crate::object::finalise::delete_slot(destination);
        thread(target).ipc_buffer = buffer.address;
        if let Some((cap, source)) = buffer.frame {
            if kernel_core::cdt::same_object_as(
                &cap,
                &kernel_core::SlotMemory::read(&memory, source).cap(),
            ) {
                kernel_core::cdt::insert_child(&mut memory, source, destination, &cap);
            }
        }
    }
    if target == thread_object {
        sched::reschedule_required();
    }
}

/// The thread's registers in `seL4_UserContext` order; "pc" is its FaultIP (where a
/// restart resumes), as seL4's `frameRegisters` start with FaultIP.
fn read_context(tcb: u64) -> [u64; USER_CONTEXT_WORDS] {
    let tcb_ref = thread(tcb);
    let registers = &tcb_ref.registers;
    let mut context = [0; USER_CONTEXT_WORDS];
    for (index, slot) in context.iter_mut().enumerate() {
        *slot = match (index, USER_CONTEXT_GPR[index]) {
            (_, Some(register)) => registers.x[usize::from(register)],
            (0, None) => tcb_ref.fault_ip,
            (1, None) => registers.sp,
            (2, None) => registers.spsr,
            (34, None) => registers.tpidr_el0,
            _ => registers.tpidrro_el0,
        };
    }
    context
}

/// Sets the thread's registers from `seL4_UserContext` order, SPSR sanitised ("pc" is
/// the FaultIP).
fn write_context(tcb: u64, context: &[u64; USER_CONTEXT_WORDS]) {
    let tcb_ref = thread(tcb);
    for (index, value) in context.iter().enumerate() {
        match (index, USER_CONTEXT_GPR[index]) {
            (_, Some(register)) => tcb_ref.registers.x[usize::from(register)] = *value,
            (0, None) => tcb_ref.fault_ip = *value,
            (1, None) => tcb_ref.registers.sp = *value,
            (2, None) => tcb_ref.registers.spsr = sanitise_spsr(*value),
            (34, None) => tcb_ref.registers.tpidr_el0 = *value,
            _ => tcb_ref.registers.tpidrro_el0 = *value,
        }
    }
}

/// The thread continues at its FaultIP (after "pc" was written).
fn continue_at_fault_ip(tcb: u64) {
    let tcb_ref = thread(tcb);
    tcb_ref.registers.pc = tcb_ref.fault_ip;
}
