//! TCB invocations (seL4 16.0.0, non-MCS): kernel-core's `decode_tcb_invocation` checks
//! them in seL4's order against the kernel's threads ([`KernelThreads`]); this file
//! performs what it decoded.

use crate::fault::sanitise_spsr;
use crate::ipc::notification;
use crate::object::cspace::slot_memory;
use crate::object::finalise::delete_slot;
use crate::object::tcb::{tcb_slot, tcb_slot_address, thread};
use crate::sched;
use kernel_core::cdt::{insert_child, same_object_as};
use kernel_core::decode::{decode_tcb_invocation, TcbInvocation, TcbView, ThreadControl};
use kernel_core::{Cap, CapRef, SlotAddr, SlotMemory, SyscallError};
use sel4::{USER_CONTEXT_GPR, USER_CONTEXT_WORDS};

/// Registers in the "frame" group of `seL4_UserContext` (pc .. x30); the rest are the
/// "integer" group (seL4's `n_frameRegisters`, `n_gpRegisters`).
const FRAME_REGISTERS: usize = 17;

/// Decodes and performs an invocation of the thread cap `invoked` by `thread_object`.
/// `words` are the message words the invoker sent, `extra_caps` the caps (and slots) its
/// extra-cap cptrs named. Returns the number of reply words written to `reply`
/// (ReadRegisters, SetFlags).
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order; nothing has changed then.
pub fn invoke(
    thread_object: u64,
    invoked: &CapRef,
    label: u64,
    words: &[u64],
    extra_caps: &[CapRef],
    reply: &mut [u64],
) -> Result<usize, SyscallError> {
    let threads = KernelThreads {
        current: thread_object,
    };
    let invocation =
        decode_tcb_invocation(&slot_memory(), &threads, invoked, label, words, extra_caps)?;
    Ok(perform(thread_object, invocation, reply))
}

/// The kernel's threads and notifications as kernel-core's TCB decoder reads them.
#[derive(Clone, Copy, Debug)]
pub struct KernelThreads {
    /// The invoking thread.
    pub current: u64,
}

impl TcbView for KernelThreads {
    fn current_thread(&self) -> u64 {
        self.current
    }

    fn mcp(&self, tcb: u64) -> u64 {
        thread(tcb).max_controlled_priority.into()
    }

    fn bound_notification(&self, tcb: u64) -> Option<u64> {
        let notification = thread(tcb).bound_notification;
        (notification != 0).then_some(notification)
    }

    fn flags(&self, tcb: u64) -> u64 {
        thread(tcb).flags
    }

    fn cspace_root_slot(&self, tcb: u64) -> SlotAddr {
        tcb_slot_address(tcb, tcb_slot::CSPACE_ROOT)
    }

    fn vspace_root_slot(&self, tcb: u64) -> SlotAddr {
        tcb_slot_address(tcb, tcb_slot::VSPACE_ROOT)
    }

    fn notification_has_waiters(&self, notification: u64) -> bool {
        // `ipc::notification` exposes "unbound and nobody waits" (`can_bind`) and the
        // bound thread; for an unbound notification that answers this exactly. For a
        // bound one it answers false, which the decoder cannot tell apart: it refuses
        // a bound notification whether or not threads wait on it.
        notification::bound_thread(notification) == 0 && !notification::can_bind(notification)
    }

    fn notification_bound_tcb(&self, notification: u64) -> Option<u64> {
        let tcb = notification::bound_thread(notification);
        (tcb != 0).then_some(tcb)
    }
}

fn perform(thread_object: u64, invocation: TcbInvocation, reply: &mut [u64]) -> usize {
    match invocation {
        TcbInvocation::ReadRegisters {
            tcb,
            suspend_source,
            count,
            ..
        } => {
            if suspend_source {
                sched::suspend(tcb);
            }
            let context = read_context(tcb);
            let count = count.min(reply.len()).min(USER_CONTEXT_WORDS);
            reply[..count].copy_from_slice(&context[..count]);
            return count;
        }
        TcbInvocation::WriteRegisters {
            tcb,
            resume_target,
            count,
            values,
            ..
        } => {
            let mut context = read_context(tcb);
            let count = count.min(USER_CONTEXT_WORDS);
            context[..count].copy_from_slice(&values[..count]);
            write_context(tcb, &context);
            continue_at_fault_ip(tcb);
            if resume_target {
                sched::restart(tcb);
            }
            if tcb == thread_object {
                sched::reschedule_required();
            }
        }
        TcbInvocation::CopyRegisters {
            target,
            source,
            suspend_source,
            resume_target,
            transfer_frame,
            transfer_integer,
            ..
        } => {
            if suspend_source {
                sched::suspend(source);
            }
            if resume_target {
                sched::restart(target);
            }
            let from = read_context(source);
            let mut to = read_context(target);
            if transfer_frame {
                to[..FRAME_REGISTERS].copy_from_slice(&from[..FRAME_REGISTERS]);
            }
            if transfer_integer {
                to[FRAME_REGISTERS..].copy_from_slice(&from[FRAME_REGISTERS..]);
            }
            write_context(target, &to);
            if transfer_frame {
                continue_at_fault_ip(target);
            }
            if target == thread_object {
                sched::reschedule_required();
            }
        }
        TcbInvocation::Suspend { tcb } => sched::suspend(tcb),
        TcbInvocation::Resume { tcb } => sched::restart(tcb),
        TcbInvocation::ThreadControl(control) => thread_control(thread_object, &control),
        TcbInvocation::BindNotification { tcb, notification } => {
            notification::bind(tcb, notification);
        }
        TcbInvocation::UnbindNotification { tcb, .. } => notification::unbind_thread(tcb),
        TcbInvocation::SetTlsBase { tcb, tls_base } => {
            thread(tcb).registers.tpidr_el0 = tls_base;
            if tcb == thread_object {
                sched::reschedule_required();
            }
        }
        TcbInvocation::SetFlags { tcb, flags } => {
            thread(tcb).flags = flags;
            if let Some(word) = reply.first_mut() {
                *word = flags;
                return 1;
            }
        }
    }
    0
}

/// seL4's `invokeTCB_ThreadControl`, in its order: fault endpoint, MCP, CSpace root,
/// VSpace root, IPC buffer, priority. Each new cap goes in only if its source slot still
/// holds the object and the invoked thread cap is still in its slot (deleting an old
/// root may have deleted either).
fn thread_control(thread_object: u64, control: &ThreadControl) {
    let tcb = control.tcb;
    if let Some(space) = control.space {
        thread(tcb).fault_handler = space.fault_endpoint;
    }
    if let Some(mcp) = control.mcp {
        thread(tcb).max_controlled_priority = priority_value(mcp);
    }
    if let Some(space) = control.space {
        replace_tcb_cap(control, tcb_slot::CSPACE_ROOT, Some(space.cspace_root));
        replace_tcb_cap(control, tcb_slot::VSPACE_ROOT, Some(space.vspace_root));
    }
    if let Some(buffer) = control.ipc_buffer {
        let destination = tcb_slot_address(tcb, tcb_slot::IPC_BUFFER_FRAME);
        delete_slot(destination);
        thread(tcb).ipc_buffer = buffer.address;
        insert_if_still_there(control, destination, buffer.frame);
        if tcb == thread_object {
            sched::reschedule_required();
        }
    }
    if let Some(priority) = control.priority {
        sched::set_priority(tcb, priority_value(priority));
    }
}

/// Deletes the cap in the TCB's slot `index` and installs `new` there.
fn replace_tcb_cap(control: &ThreadControl, index: u64, new: Option<CapRef>) {
    let destination = tcb_slot_address(control.tcb, index);
    delete_slot(destination);
    insert_if_still_there(control, destination, new);
}

/// Inserts `new.cap` into `destination` as a child of `new.slot`, if that slot still
/// holds the same object and the invoked thread cap is still in place (seL4's
/// `sameObjectAs` checks after `cteDelete`).
fn insert_if_still_there(control: &ThreadControl, destination: SlotAddr, new: Option<CapRef>) {
    let Some(new) = new else {
        return;
    };
    let mut memory = slot_memory();
    let thread_cap = Cap::Thread { ptr: control.tcb };
    if same_object_as(&new.cap, &memory.read(new.slot).cap())
        && same_object_as(&thread_cap, &memory.read(control.tcb_slot).cap())
    {
        insert_child(&mut memory, new.slot, destination, &new.cap);
    }
}

/// A priority or MCP the decoder checked against an MCP (at most 255).
fn priority_value(value: u64) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
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
