//! Capability invocations as methods on [`Cap`], named after seL4's (aarch64 only).
//!
//! An invocation is a Call on the capability with an invocation label; the reply's label
//! is 0 on success or an [`Error`] code. Extra capabilities travel in the IPC buffer's
//! `caps_or_badges`, message registers beyond MR3 in its `msg`.

use crate::cap_type::*;
use crate::syscall::{self, RegisterMrs};
use crate::{
    CPtr, Cap, CapRights, Error, InvocationLabel, IpcBuffer, MessageInfo, ObjectType, Result,
    UserContext, VmAttributes, MSG_REGISTER_COUNT, USER_CONTEXT_WORDS,
};
use core::sync::atomic::{AtomicPtr, Ordering};

/// The calling thread's IPC buffer. The root-task runtime sets it from BootInfo before
/// `main`; the root task is single-threaded, so one global serves.
static IPC_BUFFER: AtomicPtr<IpcBuffer> = AtomicPtr::new(core::ptr::null_mut());

/// Records the calling thread's IPC buffer for every later invocation.
pub fn set_ipc_buffer(buffer: &'static mut IpcBuffer) {
    IPC_BUFFER.store(buffer, Ordering::Relaxed);
}

/// Runs `f` on the IPC buffer.
///
/// # Panics
/// If no IPC buffer was set: a runtime bug, not something input reaches.
pub fn with_ipc_buffer<R>(f: impl FnOnce(&mut IpcBuffer) -> R) -> R {
    let pointer = IPC_BUFFER.load(Ordering::Relaxed);
    assert!(!pointer.is_null(), "sel4: IPC buffer not set");
    // SAFETY: the pointer came from a `&'static mut IpcBuffer` given to `set_ipc_buffer`,
    // and the (single) thread using it never holds two references at once: each use is
    // confined to this closure.
    f(unsafe { &mut *pointer })
}

/// The outcome of an invocation: its reply's info and message registers.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    pub info: MessageInfo,
    pub mrs: RegisterMrs,
}

impl Reply {
    /// Message register `index` of the reply (MR4 and up read from the IPC buffer).
    pub fn mr(&self, index: usize) -> u64 {
        if index < MSG_REGISTER_COUNT {
            self.mrs[index]
        } else {
            with_ipc_buffer(|buffer| buffer.msg.get(index).copied().unwrap_or(0))
        }
    }
}

/// Invokes `cap` with `label`, message registers `mrs` and extra capabilities `caps`.
///
/// # Errors
/// The seL4 error code the kernel replied with.
pub fn invoke(cap: CPtr, label: InvocationLabel, mrs: &[u64], caps: &[CPtr]) -> Result<Reply> {
    let reply = invoke_raw(cap, label as u64, mrs, caps);
    match reply.error() {
        None => Ok(reply),
        Some(error) => Err(error),
    }
}

/// Invokes `cap` with any `label` (known or not) and returns the reply whatever it says,
/// so a caller can inspect an error reply's label, length and message registers (the
/// error details seL4 defines: argument index, range bounds, lookup failure, bytes left).
pub fn invoke_raw(cap: CPtr, label: u64, mrs: &[u64], caps: &[CPtr]) -> Reply {
    let length = mrs.len().min(crate::MSG_MAX_LENGTH);
    let extra_caps = caps.len().min(crate::MSG_MAX_EXTRA_CAPS);
    let mut registers = [0u64; MSG_REGISTER_COUNT];
    for (index, value) in mrs.iter().take(length).enumerate() {
        if index < MSG_REGISTER_COUNT {
            registers[index] = *value;
        }
    }
    with_ipc_buffer(|buffer| {
        for (index, value) in mrs.iter().enumerate().take(length).skip(MSG_REGISTER_COUNT) {
            buffer.msg[index] = *value;
        }
        for (index, cap) in caps.iter().take(extra_caps).enumerate() {
            buffer.caps_or_badges[index] = *cap;
        }
    });
    let info = MessageInfo::new(label, 0, extra_caps as u64, length as u64);
    let (reply_info, reply_mrs) = syscall::call(cap, info, registers);
    Reply {
        info: reply_info,
        mrs: reply_mrs,
    }
}

impl Reply {
    /// The error the reply carries, if its label is an error code.
    pub fn error(&self) -> Option<Error> {
        Error::from_label(self.info.label())
    }

    /// The reply's message length (for an error reply, the number of error MRs).
    pub fn length(&self) -> usize {
        self.info.length()
    }
}

impl Cap<Untyped> {
    /// `seL4_Untyped_Retype`: make `num_objects` objects of `object_type` and place their
    /// caps in `dest_root`'s CNode at (`node_index`, `node_depth`) from slot `node_offset`.
    #[allow(clippy::too_many_arguments)]
    pub fn untyped_retype(
        self,
        object_type: ObjectType,
        size_bits: u64,
        dest_root: Cap<CNode>,
        node_index: u64,
        node_depth: u64,
        node_offset: u64,
        num_objects: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::UntypedRetype,
            &[
                object_type as u64,
                size_bits,
                node_index,
                node_depth,
                node_offset,
                num_objects,
            ],
            &[dest_root.bits()],
        )
        .map(drop)
    }
}

impl Cap<CNode> {
    /// `seL4_CNode_Copy`.
    pub fn cnode_copy(
        self,
        dest_index: u64,
        dest_depth: u64,
        src_root: Cap<CNode>,
        src_index: u64,
        src_depth: u64,
        rights: CapRights,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeCopy,
            &[dest_index, dest_depth, src_index, src_depth, rights.0],
            &[src_root.bits()],
        )
        .map(drop)
    }

    /// `seL4_CNode_Mint`.
    #[allow(clippy::too_many_arguments)]
    pub fn cnode_mint(
        self,
        dest_index: u64,
        dest_depth: u64,
        src_root: Cap<CNode>,
        src_index: u64,
        src_depth: u64,
        rights: CapRights,
        badge: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeMint,
            &[
                dest_index, dest_depth, src_index, src_depth, rights.0, badge,
            ],
            &[src_root.bits()],
        )
        .map(drop)
    }

    /// `seL4_CNode_Move`.
    pub fn cnode_move(
        self,
        dest_index: u64,
        dest_depth: u64,
        src_root: Cap<CNode>,
        src_index: u64,
        src_depth: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeMove,
            &[dest_index, dest_depth, src_index, src_depth],
            &[src_root.bits()],
        )
        .map(drop)
    }

    /// `seL4_CNode_Mutate`.
    pub fn cnode_mutate(
        self,
        dest_index: u64,
        dest_depth: u64,
        src_root: Cap<CNode>,
        src_index: u64,
        src_depth: u64,
        badge: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeMutate,
            &[dest_index, dest_depth, src_index, src_depth, badge],
            &[src_root.bits()],
        )
        .map(drop)
    }

    /// `seL4_CNode_Delete`.
    pub fn cnode_delete(self, index: u64, depth: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeDelete,
            &[index, depth],
            &[],
        )
        .map(drop)
    }

    /// `seL4_CNode_Revoke`.
    pub fn cnode_revoke(self, index: u64, depth: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeRevoke,
            &[index, depth],
            &[],
        )
        .map(drop)
    }

    /// `seL4_CNode_SaveCaller`.
    pub fn cnode_save_caller(self, index: u64, depth: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeSaveCaller,
            &[index, depth],
            &[],
        )
        .map(drop)
    }
}

impl Cap<Tcb> {
    /// `seL4_TCB_Configure`.
    pub fn tcb_configure(
        self,
        fault_ep: CPtr,
        cspace_root: Cap<CNode>,
        cspace_root_data: u64,
        vspace_root: Cap<VSpace>,
        ipc_buffer_addr: u64,
        ipc_buffer_frame: Cap<Granule>,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBConfigure,
            &[fault_ep, cspace_root_data, 0, ipc_buffer_addr],
            &[
                cspace_root.bits(),
                vspace_root.bits(),
                ipc_buffer_frame.bits(),
            ],
        )
        .map(drop)
    }

    /// `seL4_TCB_SetPriority`, checked against `authority`'s MCP.
    pub fn tcb_set_priority(self, authority: Cap<Tcb>, priority: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetPriority,
            &[priority],
            &[authority.bits()],
        )
        .map(drop)
    }

    /// `seL4_TCB_WriteRegisters`.
    pub fn tcb_write_registers(self, resume: bool, context: &UserContext) -> Result<()> {
        let mut words = [0u64; 2 + USER_CONTEXT_WORDS];
        words[0] = resume as u64;
        words[1] = USER_CONTEXT_WORDS as u64;
        words[2..].copy_from_slice(&user_context_words(context));
        invoke(self.bits(), InvocationLabel::TCBWriteRegisters, &words, &[]).map(drop)
    }

    /// `seL4_TCB_ReadRegisters`.
    pub fn tcb_read_registers(self, suspend: bool) -> Result<UserContext> {
        let reply = invoke(
            self.bits(),
            InvocationLabel::TCBReadRegisters,
            &[suspend as u64, USER_CONTEXT_WORDS as u64],
            &[],
        )?;
        let mut words = [0u64; USER_CONTEXT_WORDS];
        for (index, word) in words.iter_mut().enumerate() {
            *word = reply.mr(index);
        }
        Ok(user_context_from_words(&words))
    }

    /// `seL4_TCB_Resume`.
    pub fn tcb_resume(self) -> Result<()> {
        invoke(self.bits(), InvocationLabel::TCBResume, &[], &[]).map(drop)
    }

    /// `seL4_TCB_Suspend`.
    pub fn tcb_suspend(self) -> Result<()> {
        invoke(self.bits(), InvocationLabel::TCBSuspend, &[], &[]).map(drop)
    }

    /// `seL4_TCB_SetTLSBase`.
    pub fn tcb_set_tls_base(self, tls_base: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetTLSBase,
            &[tls_base],
            &[],
        )
        .map(drop)
    }

    /// `seL4_TCB_SetFlags`: clears then sets flags; returns the resulting flags.
    pub fn tcb_set_flags(self, clear: u64, set: u64) -> Result<u64> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetFlags,
            &[clear, set],
            &[],
        )
        .map(|reply| reply.mr(0))
    }

    /// `seL4_TCB_BindNotification`.
    pub fn tcb_bind_notification(self, notification: Cap<Notification>) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBBindNotification,
            &[],
            &[notification.bits()],
        )
        .map(drop)
    }
}

impl Cap<Granule> {
    /// `seL4_ARM_Page_Map`.
    pub fn frame_map(
        self,
        vspace: Cap<VSpace>,
        vaddr: u64,
        rights: CapRights,
        attributes: VmAttributes,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::ARMPageMap,
            &[vaddr, rights.0, attributes.0],
            &[vspace.bits()],
        )
        .map(drop)
    }

    /// `seL4_ARM_Page_Unmap`.
    pub fn frame_unmap(self) -> Result<()> {
        invoke(self.bits(), InvocationLabel::ARMPageUnmap, &[], &[]).map(drop)
    }

    /// `seL4_ARM_Page_GetAddress`: the frame's physical address.
    pub fn frame_get_address(self) -> Result<u64> {
        invoke(self.bits(), InvocationLabel::ARMPageGetAddress, &[], &[]).map(|r| r.mr(0))
    }
}

impl Cap<PageTable> {
    /// `seL4_ARM_PageTable_Map`.
    pub fn page_table_map(
        self,
        vspace: Cap<VSpace>,
        vaddr: u64,
        attributes: VmAttributes,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::ARMPageTableMap,
            &[vaddr, attributes.0],
            &[vspace.bits()],
        )
        .map(drop)
    }

    /// `seL4_ARM_PageTable_Unmap`.
    pub fn page_table_unmap(self) -> Result<()> {
        invoke(self.bits(), InvocationLabel::ARMPageTableUnmap, &[], &[]).map(drop)
    }
}

impl Cap<AsidPool> {
    /// `seL4_ARM_ASIDPool_Assign`.
    pub fn asid_pool_assign(self, vspace: Cap<VSpace>) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::ARMASIDPoolAssign,
            &[],
            &[vspace.bits()],
        )
        .map(drop)
    }
}

impl Cap<Notification> {
    /// `seL4_Signal`.
    pub fn signal(self) {
        syscall::send(
            self.bits(),
            MessageInfo::new(0, 0, 0, 0),
            [0; 4],
            syscall::Blocking::NonBlocking,
        );
    }

    /// `seL4_Wait`: returns the notification word.
    pub fn wait(self) -> u64 {
        syscall::recv(self.bits(), syscall::Blocking::Block).0
    }
}

impl Cap<CNode> {
    /// `seL4_CNode_Rotate`: moves the pivot's cap to the destination and the source's cap
    /// to the pivot, updating each with its new data (badge or guard).
    #[allow(clippy::too_many_arguments)]
    pub fn cnode_rotate(
        self,
        dest_index: u64,
        dest_depth: u64,
        pivot_root: Cap<CNode>,
        pivot_index: u64,
        pivot_depth: u64,
        pivot_new_data: u64,
        src_root: Cap<CNode>,
        src_index: u64,
        src_depth: u64,
        src_new_data: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeRotate,
            &[
                dest_index,
                dest_depth,
                pivot_new_data,
                pivot_index,
                pivot_depth,
                src_new_data,
                src_index,
                src_depth,
            ],
            &[pivot_root.bits(), src_root.bits()],
        )
        .map(drop)
    }

    /// `seL4_CNode_CancelBadgedSends`.
    pub fn cnode_cancel_badged_sends(self, index: u64, depth: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::CNodeCancelBadgedSends,
            &[index, depth],
            &[],
        )
        .map(drop)
    }
}

impl Cap<Tcb> {
    /// `seL4_TCB_SetMCPriority`, checked against `authority`'s MCP.
    pub fn tcb_set_mc_priority(self, authority: Cap<Tcb>, mcp: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetMCPriority,
            &[mcp],
            &[authority.bits()],
        )
        .map(drop)
    }

    /// `seL4_TCB_SetSchedParams` (non-MCS): MCP and priority at once.
    pub fn tcb_set_sched_params(self, authority: Cap<Tcb>, mcp: u64, priority: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetSchedParams,
            &[mcp, priority],
            &[authority.bits()],
        )
        .map(drop)
    }

    /// `seL4_TCB_SetIPCBuffer`.
    pub fn tcb_set_ipc_buffer(self, buffer_addr: u64, buffer_frame: Cap<Granule>) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetIPCBuffer,
            &[buffer_addr],
            &[buffer_frame.bits()],
        )
        .map(drop)
    }

    /// `seL4_TCB_SetSpace` (non-MCS).
    pub fn tcb_set_space(
        self,
        fault_ep: CPtr,
        cspace_root: Cap<CNode>,
        cspace_root_data: u64,
        vspace_root: Cap<VSpace>,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBSetSpace,
            &[fault_ep, cspace_root_data, 0],
            &[cspace_root.bits(), vspace_root.bits()],
        )
        .map(drop)
    }

    /// `seL4_TCB_UnbindNotification`.
    pub fn tcb_unbind_notification(self) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::TCBUnbindNotification,
            &[],
            &[],
        )
        .map(drop)
    }
}

impl Cap<AsidControl> {
    /// `seL4_ARM_ASIDControl_MakePool`: turns a 4 KiB untyped into an ASID pool whose cap
    /// lands in `root` at (`index`, `depth`).
    pub fn asid_control_make_pool(
        self,
        untyped: Cap<Untyped>,
        root: Cap<CNode>,
        index: u64,
        depth: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::ARMASIDControlMakePool,
            &[index, depth],
            &[untyped.bits(), root.bits()],
        )
        .map(drop)
    }
}

/// Trigger modes for [`Cap::irq_control_get_trigger`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqTrigger {
    Level = 0,
    Edge = 1,
}

impl Cap<IrqControl> {
    /// `seL4_IRQControl_GetTrigger` (ARMIRQIssueIRQHandlerTrigger): a handler cap for `irq`
    /// in `root` at (`index`, `depth`).
    pub fn irq_control_get_trigger(
        self,
        irq: u64,
        trigger: IrqTrigger,
        root: Cap<CNode>,
        index: u64,
        depth: u64,
    ) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::ARMIRQIssueIRQHandlerTrigger,
            &[irq, trigger as u64, index, depth],
            &[root.bits()],
        )
        .map(drop)
    }
}

impl Cap<IrqHandler> {
    /// `seL4_IRQHandler_SetNotification`.
    pub fn irq_handler_set_notification(self, notification: Cap<Notification>) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::IRQSetIRQHandler,
            &[],
            &[notification.bits()],
        )
        .map(drop)
    }

    /// `seL4_IRQHandler_Ack`.
    pub fn irq_handler_ack(self) -> Result<()> {
        invoke(self.bits(), InvocationLabel::IRQAckIRQ, &[], &[]).map(drop)
    }

    /// `seL4_IRQHandler_Clear`.
    pub fn irq_handler_clear(self) -> Result<()> {
        invoke(self.bits(), InvocationLabel::IRQClearIRQHandler, &[], &[]).map(drop)
    }
}

impl Cap<Granule> {
    /// `seL4_ARM_Page_Unify_Instruction` over [`start`, `end`) offsets within the frame.
    pub fn frame_unify_instruction(self, start: u64, end: u64) -> Result<()> {
        invoke(
            self.bits(),
            InvocationLabel::ARMPageUnifyInstruction,
            &[start, end],
            &[],
        )
        .map(drop)
    }
}

/// A [`UserContext`] as the words Read/WriteRegisters carry.
pub fn user_context_words(context: &UserContext) -> [u64; USER_CONTEXT_WORDS] {
    let c = context;
    [
        c.pc,
        c.sp,
        c.spsr,
        c.x0,
        c.x1,
        c.x2,
        c.x3,
        c.x4,
        c.x5,
        c.x6,
        c.x7,
        c.x8,
        c.x16,
        c.x17,
        c.x18,
        c.x29,
        c.x30,
        c.x9,
        c.x10,
        c.x11,
        c.x12,
        c.x13,
        c.x14,
        c.x15,
        c.x19,
        c.x20,
        c.x21,
        c.x22,
        c.x23,
        c.x24,
        c.x25,
        c.x26,
        c.x27,
        c.x28,
        c.tpidr_el0,
        c.tpidrro_el0,
    ]
}

/// The inverse of [`user_context_words`].
pub fn user_context_from_words(w: &[u64; USER_CONTEXT_WORDS]) -> UserContext {
    UserContext {
        pc: w[0],
        sp: w[1],
        spsr: w[2],
        x0: w[3],
        x1: w[4],
        x2: w[5],
        x3: w[6],
        x4: w[7],
        x5: w[8],
        x6: w[9],
        x7: w[10],
        x8: w[11],
        x16: w[12],
        x17: w[13],
        x18: w[14],
        x29: w[15],
        x30: w[16],
        x9: w[17],
        x10: w[18],
        x11: w[19],
        x12: w[20],
        x13: w[21],
        x14: w[22],
        x15: w[23],
        x19: w[24],
        x20: w[25],
        x21: w[26],
        x22: w[27],
        x23: w[28],
        x24: w[29],
        x25: w[30],
        x26: w[31],
        x27: w[32],
        x28: w[33],
        tpidr_el0: w[34],
        tpidrro_el0: w[35],
    }
}
