//! Decoding TCB invocations (non-MCS seL4 16.0.0 plus this project's Linux-syscall flag),
//! with seL4's checks in seL4's order.

use sel4::{tcb_flag, InvocationLabel, USER_CONTEXT_WORDS};

use crate::bits::is_aligned;
use crate::cap::Cap;
use crate::cdt::{is_final_capability, SlotMemory};
use crate::derive::{derive_cap, update_cap_data, Preserve};
use crate::error::SyscallError;
use crate::slot::SlotAddr;

use super::CapRef;

/// What the TCB decoder needs to know about threads and notifications, read-only. The
/// kernel implements it over its TCB and notification objects.
pub trait TcbView {
    /// The TCB of the thread making the invocation.
    fn current_thread(&self) -> u64;
    /// The maximum controlled priority of the TCB at `tcb`.
    fn mcp(&self, tcb: u64) -> u64;
    /// The notification bound to the TCB at `tcb`, if any.
    fn bound_notification(&self, tcb: u64) -> Option<u64>;
    /// The TCB's flags (`sel4::tcb_flag`).
    fn flags(&self, tcb: u64) -> u64;
    /// The slot in the TCB at `tcb` holding its CSpace root cap (seL4's `tcbCTable`).
    fn cspace_root_slot(&self, tcb: u64) -> SlotAddr;
    /// The slot in the TCB at `tcb` holding its VSpace root cap (seL4's `tcbVTable`).
    fn vspace_root_slot(&self, tcb: u64) -> SlotAddr;
    /// Whether threads wait on the notification at `notification`.
    fn notification_has_waiters(&self, notification: u64) -> bool;
    /// The TCB the notification at `notification` is bound to, if any.
    fn notification_bound_tcb(&self, notification: u64) -> Option<u64>;
}

/// New CSpace and VSpace roots and fault endpoint (Configure, SetSpace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceUpdate {
    /// The fault endpoint cptr, looked up in the thread's CSpace when a fault happens.
    pub fault_endpoint: u64,
    /// The derived CNode cap to install, and the slot it derives from.
    pub cspace_root: CapRef,
    /// The derived VSpace cap to install, and the slot it derives from.
    pub vspace_root: CapRef,
}

/// A new IPC buffer (Configure, SetIPCBuffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcBufferUpdate {
    /// The buffer's user virtual address; 0 for none.
    pub address: u64,
    /// The derived frame cap to install and the slot it derives from; `None` when
    /// `address` is 0 (the buffer slot is only emptied).
    pub frame: Option<CapRef>,
}

/// seL4's `invokeTCB_ThreadControl` arguments: each field that is set is updated.
///
/// Performing it: set `mcp`, then `priority` (rescheduling as needed); for `space`, set
/// the fault endpoint, delete the caps in the TCB's CSpace and VSpace root slots, then,
/// if the source slot still holds the same object ([`crate::cdt::same_object_as`]) and
/// the TCB cap is still in `tcb_slot`, insert each new root as a child of its source;
/// for `ipc_buffer`, delete the TCB's buffer-frame slot, set the address, and insert
/// `frame` the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadControl {
    pub tcb: u64,
    /// The slot of the invoked thread cap.
    pub tcb_slot: SlotAddr,
    pub mcp: Option<u64>,
    pub priority: Option<u64>,
    pub space: Option<SpaceUpdate>,
    pub ipc_buffer: Option<IpcBufferUpdate>,
}

/// A validated TCB invocation. Performing it:
/// - `ReadRegisters`: optionally suspend `tcb`, reply with its first `count` registers
///   in [`sel4::UserContext`] order.
/// - `WriteRegisters`: write `values[..count]` to the first `count` registers of `tcb`
///   (sanitising SPSR as seL4 does), then restart it if `resume_target`.
/// - `CopyRegisters`: optionally suspend `source`, copy the frame registers (pc, sp,
///   spsr, x0-x8, x16-x18, x29, x30) and/or the integer registers (the rest, including
///   TLS) to `target`, optionally restart `target`.
/// - `Suspend`, `Resume`: stop or restart the thread.
/// - `ThreadControl`: see [`ThreadControl`].
/// - `BindNotification`, `UnbindNotification`: link or unlink TCB and notification.
/// - `SetTlsBase`: set `tpidr_el0`.
/// - `SetFlags`: store `flags` and reply with MR0 = `flags` (length 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcbInvocation {
    ReadRegisters {
        tcb: u64,
        suspend_source: bool,
        /// 1..=[`USER_CONTEXT_WORDS`].
        count: usize,
        arch_flags: u64,
    },
    WriteRegisters {
        tcb: u64,
        resume_target: bool,
        /// At most [`USER_CONTEXT_WORDS`]; the caller's count, clamped.
        count: usize,
        values: [u64; USER_CONTEXT_WORDS],
        arch_flags: u64,
    },
    CopyRegisters {
        target: u64,
        source: u64,
        suspend_source: bool,
        resume_target: bool,
        transfer_frame: bool,
        transfer_integer: bool,
        arch_flags: u64,
    },
    Suspend {
        tcb: u64,
    },
    Resume {
        tcb: u64,
    },
    ThreadControl(ThreadControl),
    BindNotification {
        tcb: u64,
        notification: u64,
    },
    UnbindNotification {
        tcb: u64,
        notification: u64,
    },
    SetTlsBase {
        tcb: u64,
        tls_base: u64,
    },
    SetFlags {
        tcb: u64,
        flags: u64,
    },
}

/// The flags TCBSetFlags leaves: `current` with `clear` cleared, then the known bits of
/// `set` set (this kernel knows [`tcb_flag::MASK`], which includes
/// [`tcb_flag::LINUX_SYSCALL`]).
pub const fn apply_tcb_flags(current: u64, clear: u64, set: u64) -> u64 {
    (current & !clear & tcb_flag::MASK) | (set & tcb_flag::MASK)
}

// Flag bits of the Read/Write/CopyRegisters first word (libsel4's parameter packing).
const SUSPEND_SOURCE_BIT: u64 = 1 << 0;
const RESUME_TARGET_BIT: u64 = 1 << 1;
const TRANSFER_FRAME_BIT: u64 = 1 << 2;
const TRANSFER_INTEGER_BIT: u64 = 1 << 3;
const ARCH_FLAGS_SHIFT: u32 = 8;

/// Decodes an invocation of the thread cap `invoked` (the TCB at its `ptr`). `mrs` are
/// the caller's message words (its message length of them; WriteRegisters needs them
/// all, including those in the IPC buffer), `extra_caps` the caps its extra-cap cptrs
/// named.
///
/// Message layouts (libsel4): ReadRegisters `suspend | arch << 8, count`;
/// WriteRegisters `resume | arch << 8, count, registers...`; CopyRegisters
/// `suspend | resume << 1 | frame << 2 | integer << 3 | arch << 8`, cap [source];
/// Configure `fault_ep, cspace_data, vspace_data, buffer`, caps [cspace, vspace,
/// buffer frame]; SetPriority / SetMCPriority `value`, cap [authority];
/// SetSchedParams `mcp, priority`, cap [authority]; SetIPCBuffer `buffer`, cap [frame];
/// SetSpace `fault_ep, cspace_data, vspace_data`, caps [cspace, vspace];
/// BindNotification cap [notification]; SetTLSBase `base`; SetFlags `clear, set`.
///
/// # Errors
/// IllegalOperation for labels that are not TCB methods; then per method, in seL4's
/// order: TruncatedMessage (too few words or caps; WriteRegisters fewer than `count`
/// values); RangeError(1, 36) (register count); IllegalOperation (reading or writing
/// the caller's own registers); InvalidCapability(1) (CopyRegisters source, or a
/// priority authority, not a thread cap); RangeError(0, authority's MCP) (priority or
/// MCP above the authority's MCP); IPC buffer: derivation errors, IllegalOperation (not
/// a RAM frame), AlignmentError (address not a multiple of 1024); IllegalOperation
/// (current CSpace/VSpace root being deleted, new CSpace root not a CNode, new VSpace
/// root not a VSpace with an ASID) and the roots' derivation errors; BindNotification:
/// IllegalOperation (TCB already bound, cap not a notification with receive rights,
/// notification bound or waited on); UnbindNotification: IllegalOperation (not bound).
pub fn decode_tcb_invocation(
    slots: &impl SlotMemory,
    tcbs: &impl TcbView,
    invoked: &CapRef,
    label: u64,
    mrs: &[u64],
    extra_caps: &[CapRef],
) -> Result<TcbInvocation, SyscallError> {
    let Cap::Thread { ptr: tcb } = invoked.cap else {
        return Err(SyscallError::illegal_operation());
    };
    let label = InvocationLabel::from_label(label).ok_or_else(SyscallError::illegal_operation)?;
    let thread_control = ThreadControl {
        tcb,
        tcb_slot: invoked.slot,
        mcp: None,
        priority: None,
        space: None,
        ipc_buffer: None,
    };
    match label {
        InvocationLabel::TCBReadRegisters => decode_read_registers(tcbs, tcb, mrs),
        InvocationLabel::TCBWriteRegisters => decode_write_registers(tcbs, tcb, mrs),
        InvocationLabel::TCBCopyRegisters => decode_copy_registers(tcb, mrs, extra_caps),
        InvocationLabel::TCBSuspend => Ok(TcbInvocation::Suspend { tcb }),
        InvocationLabel::TCBResume => Ok(TcbInvocation::Resume { tcb }),
        InvocationLabel::TCBConfigure => {
            let (
                Some(&[fault_endpoint, cspace_data, vspace_data, buffer]),
                Some(&[cspace, vspace, frame]),
            ) = (mrs.get(..4), extra_caps.get(..3))
            else {
                return Err(SyscallError::truncated_message());
            };
            let ipc_buffer = check_ipc_buffer(slots, buffer, &frame)?;
            let space = check_space(
                slots,
                tcbs,
                tcb,
                fault_endpoint,
                (cspace, cspace_data),
                (vspace, vspace_data),
            )?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: Some(space),
                ipc_buffer: Some(ipc_buffer),
                ..thread_control
            }))
        }
        InvocationLabel::TCBSetSpace => {
            let (Some(&[fault_endpoint, cspace_data, vspace_data]), Some(&[cspace, vspace])) =
                (mrs.get(..3), extra_caps.get(..2))
            else {
                return Err(SyscallError::truncated_message());
            };
            let space = check_space(
                slots,
                tcbs,
                tcb,
                fault_endpoint,
                (cspace, cspace_data),
                (vspace, vspace_data),
            )?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: Some(space),
                ..thread_control
            }))
        }
        InvocationLabel::TCBSetIPCBuffer => {
            let (Some(&buffer), Some(frame)) = (mrs.first(), extra_caps.first()) else {
                return Err(SyscallError::truncated_message());
            };
            let ipc_buffer = check_ipc_buffer(slots, buffer, frame)?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                ipc_buffer: Some(ipc_buffer),
                ..thread_control
            }))
        }
        InvocationLabel::TCBSetPriority | InvocationLabel::TCBSetMCPriority => {
            let (Some(&value), Some(authority)) = (mrs.first(), extra_caps.first()) else {
                return Err(SyscallError::truncated_message());
            };
            check_priority(tcbs, &authority.cap, value)?;
            let update = if label == InvocationLabel::TCBSetPriority {
                ThreadControl {
                    priority: Some(value),
                    ..thread_control
                }
            } else {
                ThreadControl {
                    mcp: Some(value),
                    ..thread_control
                }
            };
            Ok(TcbInvocation::ThreadControl(update))
        }
        InvocationLabel::TCBSetSchedParams => {
            let (Some(&[mcp, priority]), Some(authority)) = (mrs.get(..2), extra_caps.first())
            else {
                return Err(SyscallError::truncated_message());
            };
            check_priority(tcbs, &authority.cap, mcp)?;
            check_priority(tcbs, &authority.cap, priority)?;
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                mcp: Some(mcp),
                priority: Some(priority),
                ..thread_control
            }))
        }
        InvocationLabel::TCBBindNotification => decode_bind_notification(tcbs, tcb, extra_caps),
        InvocationLabel::TCBUnbindNotification => {
            let notification = tcbs
                .bound_notification(tcb)
                .ok_or_else(SyscallError::illegal_operation)?;
            Ok(TcbInvocation::UnbindNotification { tcb, notification })
        }
        InvocationLabel::TCBSetTLSBase => {
            let &tls_base = mrs.first().ok_or_else(SyscallError::truncated_message)?;
            Ok(TcbInvocation::SetTlsBase { tcb, tls_base })
        }
        InvocationLabel::TCBSetFlags => {
            let Some(&[clear, set]) = mrs.get(..2) else {
                return Err(SyscallError::truncated_message());
            };
            Ok(TcbInvocation::SetFlags {
                tcb,
                flags: apply_tcb_flags(tcbs.flags(tcb), clear, set),
            })
        }
        _ => Err(SyscallError::illegal_operation()),
    }
}

fn decode_read_registers(
    tcbs: &impl TcbView,
    tcb: u64,
    mrs: &[u64],
) -> Result<TcbInvocation, SyscallError> {
    let Some(&[flags, count]) = mrs.get(..2) else {
        return Err(SyscallError::truncated_message());
    };
    let register_count = USER_CONTEXT_WORDS as u64;
    if !(1..=register_count).contains(&count) {
        return Err(SyscallError::range_error(1, register_count));
    }
    if tcb == tcbs.current_thread() {
        return Err(SyscallError::illegal_operation());
    }
    Ok(TcbInvocation::ReadRegisters {
        tcb,
        suspend_source: flags & SUSPEND_SOURCE_BIT != 0,
        // count <= 36 was checked above.
        count: count as usize,
        arch_flags: flags >> ARCH_FLAGS_SHIFT,
    })
}

fn decode_write_registers(
    tcbs: &impl TcbView,
    tcb: u64,
    mrs: &[u64],
) -> Result<TcbInvocation, SyscallError> {
    let Some(&[flags, requested]) = mrs.get(..2) else {
        return Err(SyscallError::truncated_message());
    };
    let supplied = mrs.get(2..).unwrap_or(&[]);
    if (supplied.len() as u64) < requested {
        return Err(SyscallError::truncated_message());
    }
    if tcb == tcbs.current_thread() {
        return Err(SyscallError::illegal_operation());
    }
    // requested <= supplied.len(); seL4 writes at most a whole context.
    let count = requested.min(USER_CONTEXT_WORDS as u64) as usize;
    let mut values = [0; USER_CONTEXT_WORDS];
    for (value, supplied) in values.iter_mut().zip(supplied).take(count) {
        *value = *supplied;
    }
    Ok(TcbInvocation::WriteRegisters {
        tcb,
        resume_target: flags & sel4::WRITE_REGISTERS_RESUME != 0,
        count,
        values,
        arch_flags: flags >> ARCH_FLAGS_SHIFT,
    })
}

fn decode_copy_registers(
    target: u64,
    mrs: &[u64],
    extra_caps: &[CapRef],
) -> Result<TcbInvocation, SyscallError> {
    let (Some(&flags), Some(source)) = (mrs.first(), extra_caps.first()) else {
        return Err(SyscallError::truncated_message());
    };
    let Cap::Thread { ptr: source } = source.cap else {
        return Err(SyscallError::invalid_capability(1));
    };
    Ok(TcbInvocation::CopyRegisters {
        target,
        source,
        suspend_source: flags & SUSPEND_SOURCE_BIT != 0,
        resume_target: flags & RESUME_TARGET_BIT != 0,
        transfer_frame: flags & TRANSFER_FRAME_BIT != 0,
        transfer_integer: flags & TRANSFER_INTEGER_BIT != 0,
        arch_flags: flags >> ARCH_FLAGS_SHIFT,
    })
}

fn decode_bind_notification(
    tcbs: &impl TcbView,
    tcb: u64,
    extra_caps: &[CapRef],
) -> Result<TcbInvocation, SyscallError> {
    let Some(argument) = extra_caps.first() else {
        return Err(SyscallError::truncated_message());
    };
    if tcbs.bound_notification(tcb).is_some() {
        return Err(SyscallError::illegal_operation());
    }
    let Cap::Notification {
        ptr: notification,
        can_receive,
        ..
    } = argument.cap
    else {
        return Err(SyscallError::illegal_operation());
    };
    if !can_receive {
        return Err(SyscallError::illegal_operation());
    }
    if tcbs.notification_has_waiters(notification)
        || tcbs.notification_bound_tcb(notification).is_some()
    {
        return Err(SyscallError::illegal_operation());
    }
    Ok(TcbInvocation::BindNotification { tcb, notification })
}

/// seL4's `checkPrio`: a priority or MCP may not exceed the authority thread's MCP.
fn check_priority(tcbs: &impl TcbView, authority: &Cap, value: u64) -> Result<(), SyscallError> {
    let Cap::Thread { ptr } = *authority else {
        return Err(SyscallError::invalid_capability(1));
    };
    let mcp = tcbs.mcp(ptr);
    if value > mcp {
        // seL4_MinPrio is 0.
        return Err(SyscallError::range_error(0, mcp));
    }
    Ok(())
}

/// The IPC buffer argument: no frame for address 0, otherwise a derived RAM frame cap
/// and a 1024-byte aligned address (seL4's `checkValidIPCBuffer`).
fn check_ipc_buffer(
    slots: &impl SlotMemory,
    address: u64,
    frame: &CapRef,
) -> Result<IpcBufferUpdate, SyscallError> {
    if address == 0 {
        return Ok(IpcBufferUpdate {
            address,
            frame: None,
        });
    }
    let derived = derive_cap(slots, frame.slot, &frame.cap)?;
    if !matches!(
        derived,
        Cap::Frame {
            is_device: false,
            ..
        }
    ) {
        return Err(SyscallError::illegal_operation());
    }
    if !is_aligned(address, sel4::IPC_BUFFER_SIZE_BITS) {
        return Err(SyscallError::alignment_error());
    }
    Ok(IpcBufferUpdate {
        address,
        frame: Some(CapRef {
            cap: derived,
            slot: frame.slot,
        }),
    })
}

/// The CSpace and VSpace root arguments of Configure and SetSpace, each with its
/// Mint-style data word (a CNode guard; ignored for a VSpace), derived and checked.
fn check_space(
    slots: &impl SlotMemory,
    tcbs: &impl TcbView,
    tcb: u64,
    fault_endpoint: u64,
    (cspace, cspace_data): (CapRef, u64),
    (vspace, vspace_data): (CapRef, u64),
) -> Result<SpaceUpdate, SyscallError> {
    if slot_cap_long_running_delete(slots, tcbs.cspace_root_slot(tcb))
        || slot_cap_long_running_delete(slots, tcbs.vspace_root_slot(tcb))
    {
        return Err(SyscallError::illegal_operation());
    }
    let cspace_root = derive_root(slots, cspace, cspace_data)?;
    if !matches!(cspace_root, Cap::CNode { .. }) {
        return Err(SyscallError::illegal_operation());
    }
    let vspace_root = derive_root(slots, vspace, vspace_data)?;
    if !matches!(vspace_root, Cap::VSpace { asid: Some(_), .. }) {
        return Err(SyscallError::illegal_operation());
    }
    Ok(SpaceUpdate {
        fault_endpoint,
        cspace_root: CapRef {
            cap: cspace_root,
            slot: cspace.slot,
        },
        vspace_root: CapRef {
            cap: vspace_root,
            slot: vspace.slot,
        },
    })
}

fn derive_root(slots: &impl SlotMemory, root: CapRef, data: u64) -> Result<Cap, SyscallError> {
    let updated = if data != 0 {
        update_cap_data(Preserve::No, data, &root.cap)
    } else {
        root.cap
    };
    derive_cap(slots, root.slot, &updated)
}

/// seL4's `slotCapLongRunningDelete`: whether deleting the cap in `slot` could take a
/// long (preemptible) time, because it is the last cap to a thread or CNode.
fn slot_cap_long_running_delete(slots: &impl SlotMemory, slot: SlotAddr) -> bool {
    let cap = slots.read(slot).cap();
    matches!(
        cap,
        Cap::Thread { .. } | Cap::Zombie { .. } | Cap::CNode { .. }
    ) && is_final_capability(slots, slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::{FrameSize, Mapping, VmRights};
    use crate::cdt::insert_new_object;
    use crate::cdt::test_memory::MapMemory;
    use crate::slot::{MdbNode, Slot};
    use std::collections::HashMap;

    const ROOT_CNODE: u64 = 0x4100_0000;
    const TARGET: u64 = 0x4200_0000;
    const CALLER: u64 = 0x4200_0800;
    const AUTHORITY: u64 = 0x4200_1000;
    const NOTIFICATION: u64 = 0x4300_0000;
    /// The target TCB's own cap slots (CTable, VTable), as the kernel lays them out.
    const TARGET_CTABLE: u64 = 0x4400_0000;
    const TARGET_VTABLE: u64 = 0x4400_0020;

    #[derive(Default)]
    struct FakeTcbs {
        mcp: HashMap<u64, u64>,
        bound: HashMap<u64, u64>,
        flags: u64,
        waiters: bool,
        notification_bound_to: Option<u64>,
    }

    impl TcbView for FakeTcbs {
        fn current_thread(&self) -> u64 {
            CALLER
        }
        fn mcp(&self, tcb: u64) -> u64 {
            self.mcp.get(&tcb).copied().unwrap_or(0)
        }
        fn bound_notification(&self, tcb: u64) -> Option<u64> {
            self.bound.get(&tcb).copied()
        }
        fn flags(&self, _tcb: u64) -> u64 {
            self.flags
        }
        fn cspace_root_slot(&self, _tcb: u64) -> SlotAddr {
            SlotAddr::new(TARGET_CTABLE).expect("slot")
        }
        fn vspace_root_slot(&self, _tcb: u64) -> SlotAddr {
            SlotAddr::new(TARGET_VTABLE).expect("slot")
        }
        fn notification_has_waiters(&self, _notification: u64) -> bool {
            self.waiters
        }
        fn notification_bound_tcb(&self, _notification: u64) -> Option<u64> {
            self.notification_bound_to
        }
    }

    fn slot(index: u64) -> SlotAddr {
        SlotAddr::new(ROOT_CNODE + index * 32).expect("slot")
    }

    fn cnode() -> Cap {
        Cap::CNode {
            ptr: ROOT_CNODE,
            radix: 8,
            guard_size: 56,
            guard: 0,
        }
    }

    fn vspace(asid: Option<u16>) -> Cap {
        Cap::VSpace {
            ptr: 0x4500_0000,
            asid,
        }
    }

    fn frame(is_device: bool) -> Cap {
        Cap::Frame {
            paddr: 0x4600_0000,
            size: FrameSize::Small,
            rights: VmRights::ReadWrite,
            is_device,
            mapping: Some(Mapping {
                asid: 1,
                vaddr: 0x1000,
            }),
        }
    }

    fn at(cap: Cap, index: u64) -> CapRef {
        CapRef {
            cap,
            slot: slot(index),
        }
    }

    fn original() -> MdbNode {
        MdbNode::EMPTY.with_revocable(true).with_first_badged(true)
    }

    /// Slot 1 the target's thread cap, 2 the CNode, 3 an assigned VSpace, 4 a frame,
    /// 5 an untyped, 6 the authority's thread cap.
    fn setup() -> (MapMemory, FakeTcbs) {
        let mut slots = MapMemory::default();
        for (index, cap) in [
            (1, Cap::Thread { ptr: TARGET }),
            (2, cnode()),
            (3, vspace(Some(1))),
            (4, frame(false)),
            (
                5,
                Cap::Untyped {
                    paddr: 0x4700_0000,
                    size_bits: 12,
                    is_device: false,
                    free_index: 0,
                },
            ),
            (6, Cap::Thread { ptr: AUTHORITY }),
        ] {
            slots.write(slot(index), Slot::new(&cap, original()));
        }
        let mut tcbs = FakeTcbs::default();
        tcbs.mcp.insert(AUTHORITY, 100);
        (slots, tcbs)
    }

    fn decode_on(
        slots: &MapMemory,
        tcbs: &FakeTcbs,
        tcb: u64,
        label: InvocationLabel,
        mrs: &[u64],
        caps: &[CapRef],
    ) -> Result<TcbInvocation, SyscallError> {
        decode_tcb_invocation(
            slots,
            tcbs,
            &at(Cap::Thread { ptr: tcb }, 1),
            label as u64,
            mrs,
            caps,
        )
    }

    fn decode(
        slots: &MapMemory,
        tcbs: &FakeTcbs,
        label: InvocationLabel,
        mrs: &[u64],
        caps: &[CapRef],
    ) -> Result<TcbInvocation, SyscallError> {
        decode_on(slots, tcbs, TARGET, label, mrs, caps)
    }

    fn base_control() -> ThreadControl {
        ThreadControl {
            tcb: TARGET,
            tcb_slot: slot(1),
            mcp: None,
            priority: None,
            space: None,
            ipc_buffer: None,
        }
    }

    fn configure_caps() -> [CapRef; 3] {
        [at(cnode(), 2), at(vspace(Some(1)), 3), at(frame(false), 4)]
    }

    #[test]
    fn configure_derives_every_cap() {
        let (slots, tcbs) = setup();
        let guard_data = 4 << 6 | 52;
        let result = decode(
            &slots,
            &tcbs,
            InvocationLabel::TCBConfigure,
            &[7, guard_data, 0, 0x2000],
            &configure_caps(),
        );
        let derived_frame = Cap::Frame {
            paddr: 0x4600_0000,
            size: FrameSize::Small,
            rights: VmRights::ReadWrite,
            is_device: false,
            mapping: None,
        };
        assert_eq!(
            result,
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: Some(SpaceUpdate {
                    fault_endpoint: 7,
                    cspace_root: at(
                        Cap::CNode {
                            ptr: ROOT_CNODE,
                            radix: 8,
                            guard_size: 52,
                            guard: 4
                        },
                        2
                    ),
                    vspace_root: at(vspace(Some(1)), 3),
                }),
                ipc_buffer: Some(IpcBufferUpdate {
                    address: 0x2000,
                    frame: Some(at(derived_frame, 4)),
                }),
                ..base_control()
            }))
        );
        // Buffer address 0: no frame is needed, whatever the third cap is.
        let caps = [
            at(cnode(), 2),
            at(vspace(Some(1)), 3),
            at(Cap::IrqControl, 7),
        ];
        assert!(matches!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBConfigure,
                &[0, 0, 0, 0],
                &caps
            ),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                ipc_buffer: Some(IpcBufferUpdate {
                    address: 0,
                    frame: None
                }),
                ..
            }))
        ));
    }

    #[test]
    fn configure_errors_in_order() {
        let (mut slots, tcbs) = setup();
        let configure = |slots: &MapMemory, mrs: &[u64], caps: &[CapRef]| {
            decode(slots, &tcbs, InvocationLabel::TCBConfigure, mrs, caps)
        };
        let caps = configure_caps();
        assert_eq!(
            configure(&slots, &[0, 0, 0], &caps),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &caps[..2]),
            Err(SyscallError::truncated_message())
        );
        // IPC buffer checks come first.
        let device = [caps[0], caps[1], at(frame(true), 4)];
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &device),
            Err(SyscallError::illegal_operation())
        );
        let not_frame = [caps[0], caps[1], at(cnode(), 2)];
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &not_frame),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2200], &caps),
            Err(SyscallError::alignment_error())
        );
        // An untyped with children cannot be derived (RevokeFirst), even as a buffer.
        insert_new_object(
            &mut slots,
            slot(5),
            slot(20),
            &Cap::Thread { ptr: 0x4700_0000 },
        );
        let untyped = slots.read(slot(5)).cap();
        let untyped_buffer = [caps[0], caps[1], at(untyped, 5)];
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &untyped_buffer),
            Err(SyscallError::revoke_first())
        );
        // Bad CSpace root: not a CNode, or a guard that does not fit.
        let vspace_as_cspace = [at(vspace(Some(1)), 3), caps[1], caps[2]];
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &vspace_as_cspace),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            configure(&slots, &[0, 57, 0, 0x2000], &caps),
            Err(SyscallError::illegal_operation())
        );
        // Bad VSpace root: not a VSpace, or one without an ASID (derivation refuses it).
        let cnode_as_vspace = [caps[0], at(cnode(), 2), caps[2]];
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &cnode_as_vspace),
            Err(SyscallError::illegal_operation())
        );
        let unassigned = [caps[0], at(vspace(None), 3), caps[2]];
        assert_eq!(
            configure(&slots, &[0, 0, 0, 0x2000], &unassigned),
            Err(SyscallError::illegal_operation())
        );
        // VSpace data is ignored.
        assert!(configure(&slots, &[0, 0, 99, 0x2000], &caps).is_ok());
    }

    #[test]
    fn space_being_deleted_blocks_configure_and_set_space() {
        let (mut slots, tcbs) = setup();
        // The target's current CSpace root is the last cap to its CNode.
        let ctable = SlotAddr::new(TARGET_CTABLE).expect("slot");
        let other_cnode = Cap::CNode {
            ptr: 0x4800_0000,
            radix: 4,
            guard_size: 0,
            guard: 0,
        };
        slots.write(ctable, Slot::new(&other_cnode, original()));
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBConfigure,
                &[0, 0, 0, 0x2000],
                &configure_caps()
            ),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetSpace,
                &[0, 0, 0],
                &configure_caps()[..2]
            ),
            Err(SyscallError::illegal_operation())
        );
        // Not the last cap: replacing it is quick, so it is allowed.
        crate::cdt::insert_child(&mut slots, ctable, slot(30), &other_cnode);
        assert!(decode(
            &slots,
            &tcbs,
            InvocationLabel::TCBSetSpace,
            &[0, 0, 0],
            &configure_caps()[..2]
        )
        .is_ok());
        // The VTable slot holding a frame (never long-running) does not block either.
        let vtable = SlotAddr::new(TARGET_VTABLE).expect("slot");
        slots.write(vtable, Slot::new(&frame(false), original()));
        assert!(decode(
            &slots,
            &tcbs,
            InvocationLabel::TCBSetSpace,
            &[0, 0, 0],
            &configure_caps()[..2]
        )
        .is_ok());
    }

    #[test]
    fn set_space_and_ipc_buffer() {
        let (slots, tcbs) = setup();
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetSpace,
                &[3, 0, 0],
                &configure_caps()[..2]
            ),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                space: Some(SpaceUpdate {
                    fault_endpoint: 3,
                    cspace_root: at(cnode(), 2),
                    vspace_root: at(vspace(Some(1)), 3),
                }),
                ..base_control()
            }))
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetSpace,
                &[3, 0],
                &configure_caps()[..2]
            ),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetSpace,
                &[3, 0, 0],
                &configure_caps()[..1]
            ),
            Err(SyscallError::truncated_message())
        );
        let set_buffer = |mrs: &[u64], caps: &[CapRef]| {
            decode(&slots, &tcbs, InvocationLabel::TCBSetIPCBuffer, mrs, caps)
        };
        assert!(matches!(
            set_buffer(&[0x7000_0400], &[at(frame(false), 4)]),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                ipc_buffer: Some(IpcBufferUpdate {
                    address: 0x7000_0400,
                    frame: Some(_)
                }),
                space: None,
                ..
            }))
        ));
        assert!(matches!(
            set_buffer(&[0], &[at(Cap::Domain, 9)]),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                ipc_buffer: Some(IpcBufferUpdate { frame: None, .. }),
                ..
            }))
        ));
        assert_eq!(
            set_buffer(&[], &[at(frame(false), 4)]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            set_buffer(&[0x1000], &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            set_buffer(&[0x1001], &[at(frame(false), 4)]),
            Err(SyscallError::alignment_error())
        );
        assert_eq!(
            set_buffer(&[0x1000], &[at(frame(true), 4)]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            set_buffer(&[0x1000], &[at(Cap::Domain, 9)]),
            Err(SyscallError::illegal_operation())
        );
    }

    #[test]
    fn priorities_are_bounded_by_the_authority_mcp() {
        let (slots, tcbs) = setup();
        let authority = [at(Cap::Thread { ptr: AUTHORITY }, 6)];
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetPriority,
                &[100],
                &authority
            ),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                priority: Some(100),
                ..base_control()
            }))
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetMCPriority,
                &[0],
                &authority
            ),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                mcp: Some(0),
                ..base_control()
            }))
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetSchedParams,
                &[50, 100],
                &authority
            ),
            Ok(TcbInvocation::ThreadControl(ThreadControl {
                mcp: Some(50),
                priority: Some(100),
                ..base_control()
            }))
        );
        for label in [
            InvocationLabel::TCBSetPriority,
            InvocationLabel::TCBSetMCPriority,
        ] {
            assert_eq!(
                decode(&slots, &tcbs, label, &[101], &authority),
                Err(SyscallError::range_error(0, 100))
            );
            assert_eq!(
                decode(&slots, &tcbs, label, &[u64::MAX], &authority),
                Err(SyscallError::range_error(0, 100))
            );
            assert_eq!(
                decode(&slots, &tcbs, label, &[], &authority),
                Err(SyscallError::truncated_message())
            );
            assert_eq!(
                decode(&slots, &tcbs, label, &[1], &[]),
                Err(SyscallError::truncated_message())
            );
            assert_eq!(
                decode(&slots, &tcbs, label, &[1], &[at(cnode(), 2)]),
                Err(SyscallError::invalid_capability(1))
            );
        }
        let sched = |mrs: &[u64], caps: &[CapRef]| {
            decode(&slots, &tcbs, InvocationLabel::TCBSetSchedParams, mrs, caps)
        };
        assert_eq!(
            sched(&[101, 0], &authority),
            Err(SyscallError::range_error(0, 100))
        );
        assert_eq!(
            sched(&[0, 101], &authority),
            Err(SyscallError::range_error(0, 100))
        );
        assert_eq!(
            sched(&[0], &authority),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(sched(&[0, 0], &[]), Err(SyscallError::truncated_message()));
        assert_eq!(
            sched(&[0, 0], &[at(Cap::Domain, 9)]),
            Err(SyscallError::invalid_capability(1))
        );
        // An authority whose MCP is 0 can only grant priority 0.
        let weak = [at(Cap::Thread { ptr: CALLER }, 8)];
        assert_eq!(
            decode(&slots, &tcbs, InvocationLabel::TCBSetPriority, &[1], &weak),
            Err(SyscallError::range_error(0, 0))
        );
    }

    #[test]
    fn read_and_write_registers() {
        let (slots, tcbs) = setup();
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBReadRegisters,
                &[1 | 5 << 8, 36],
                &[]
            ),
            Ok(TcbInvocation::ReadRegisters {
                tcb: TARGET,
                suspend_source: true,
                count: 36,
                arch_flags: 5
            })
        );
        for count in [0, 37, u64::MAX] {
            assert_eq!(
                decode(
                    &slots,
                    &tcbs,
                    InvocationLabel::TCBReadRegisters,
                    &[0, count],
                    &[]
                ),
                Err(SyscallError::range_error(1, 36))
            );
        }
        assert_eq!(
            decode(&slots, &tcbs, InvocationLabel::TCBReadRegisters, &[0], &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode_on(
                &slots,
                &tcbs,
                CALLER,
                InvocationLabel::TCBReadRegisters,
                &[0, 1],
                &[]
            ),
            Err(SyscallError::illegal_operation())
        );

        let mut mrs = vec![1, 3, 0x40_1000, 0x7fff_0000, 0];
        let Ok(TcbInvocation::WriteRegisters {
            count,
            values,
            resume_target,
            ..
        }) = decode(&slots, &tcbs, InvocationLabel::TCBWriteRegisters, &mrs, &[])
        else {
            panic!("write registers");
        };
        assert_eq!((count, resume_target), (3, true));
        assert_eq!(&values[..4], &[0x40_1000, 0x7fff_0000, 0, 0]);
        // More values than registers: clamped to 36.
        mrs = vec![0, 40];
        mrs.extend(1..=40);
        let Ok(TcbInvocation::WriteRegisters { count, values, .. }) =
            decode(&slots, &tcbs, InvocationLabel::TCBWriteRegisters, &mrs, &[])
        else {
            panic!("write many registers");
        };
        assert_eq!(count, 36);
        assert_eq!(values[35], 36);
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBWriteRegisters,
                &[0, 4, 1, 2, 3],
                &[]
            ),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBWriteRegisters,
                &[0, u64::MAX, 1],
                &[]
            ),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(&slots, &tcbs, InvocationLabel::TCBWriteRegisters, &[0], &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode_on(
                &slots,
                &tcbs,
                CALLER,
                InvocationLabel::TCBWriteRegisters,
                &[0, 0],
                &[]
            ),
            Err(SyscallError::illegal_operation())
        );
    }

    #[test]
    fn copy_registers() {
        let (slots, tcbs) = setup();
        let source = [at(Cap::Thread { ptr: AUTHORITY }, 6)];
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBCopyRegisters,
                &[0b1010 | 2 << 8],
                &source
            ),
            Ok(TcbInvocation::CopyRegisters {
                target: TARGET,
                source: AUTHORITY,
                suspend_source: false,
                resume_target: true,
                transfer_frame: false,
                transfer_integer: true,
                arch_flags: 2
            })
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBCopyRegisters,
                &[],
                &source
            ),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(&slots, &tcbs, InvocationLabel::TCBCopyRegisters, &[0], &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBCopyRegisters,
                &[0],
                &[at(cnode(), 2)]
            ),
            Err(SyscallError::invalid_capability(1))
        );
    }

    fn notification_cap(can_receive: bool) -> CapRef {
        at(
            Cap::Notification {
                ptr: NOTIFICATION,
                badge: 0,
                can_send: true,
                can_receive,
            },
            10,
        )
    }

    #[test]
    fn binding_notifications() {
        let (slots, mut tcbs) = setup();
        let bind = |tcbs: &FakeTcbs, caps: &[CapRef]| {
            decode(
                &slots,
                tcbs,
                InvocationLabel::TCBBindNotification,
                &[],
                caps,
            )
        };
        assert_eq!(
            bind(&tcbs, &[notification_cap(true)]),
            Ok(TcbInvocation::BindNotification {
                tcb: TARGET,
                notification: NOTIFICATION
            })
        );
        assert_eq!(bind(&tcbs, &[]), Err(SyscallError::truncated_message()));
        assert_eq!(
            bind(&tcbs, &[notification_cap(false)]),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            bind(&tcbs, &[at(cnode(), 2)]),
            Err(SyscallError::illegal_operation())
        );
        tcbs.waiters = true;
        assert_eq!(
            bind(&tcbs, &[notification_cap(true)]),
            Err(SyscallError::illegal_operation())
        );
        tcbs.waiters = false;
        tcbs.notification_bound_to = Some(AUTHORITY);
        assert_eq!(
            bind(&tcbs, &[notification_cap(true)]),
            Err(SyscallError::illegal_operation())
        );
        tcbs.notification_bound_to = None;
        let unbind = |tcbs: &FakeTcbs| {
            decode(
                &slots,
                tcbs,
                InvocationLabel::TCBUnbindNotification,
                &[],
                &[],
            )
        };
        assert_eq!(unbind(&tcbs), Err(SyscallError::illegal_operation()));
        tcbs.bound.insert(TARGET, 0x4300_0100);
        assert_eq!(
            unbind(&tcbs),
            Ok(TcbInvocation::UnbindNotification {
                tcb: TARGET,
                notification: 0x4300_0100
            })
        );
        // Already bound: refused before the cap is even looked at.
        assert_eq!(
            bind(&tcbs, &[at(cnode(), 2)]),
            Err(SyscallError::illegal_operation())
        );
    }

    #[test]
    fn flags_tls_suspend_resume() {
        let (slots, mut tcbs) = setup();
        tcbs.flags = tcb_flag::FPU_DISABLED;
        let set_flags = |tcbs: &FakeTcbs, mrs: &[u64]| {
            decode(&slots, tcbs, InvocationLabel::TCBSetFlags, mrs, &[])
        };
        assert_eq!(
            set_flags(&tcbs, &[0, tcb_flag::LINUX_SYSCALL]),
            Ok(TcbInvocation::SetFlags {
                tcb: TARGET,
                flags: tcb_flag::FPU_DISABLED | tcb_flag::LINUX_SYSCALL
            })
        );
        // Clear first, then set; unknown bits never stick.
        assert_eq!(
            set_flags(&tcbs, &[u64::MAX, 1 << 40 | tcb_flag::LINUX_SYSCALL]),
            Ok(TcbInvocation::SetFlags {
                tcb: TARGET,
                flags: tcb_flag::LINUX_SYSCALL
            })
        );
        assert_eq!(
            set_flags(&tcbs, &[tcb_flag::FPU_DISABLED, tcb_flag::FPU_DISABLED]),
            Ok(TcbInvocation::SetFlags {
                tcb: TARGET,
                flags: tcb_flag::FPU_DISABLED
            })
        );
        assert_eq!(
            set_flags(&tcbs, &[0]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(apply_tcb_flags(u64::MAX, 0, 0), tcb_flag::MASK);
        assert_eq!(
            decode(
                &slots,
                &tcbs,
                InvocationLabel::TCBSetTLSBase,
                &[0xdead_b000],
                &[]
            ),
            Ok(TcbInvocation::SetTlsBase {
                tcb: TARGET,
                tls_base: 0xdead_b000
            })
        );
        assert_eq!(
            decode(&slots, &tcbs, InvocationLabel::TCBSetTLSBase, &[], &[]),
            Err(SyscallError::truncated_message())
        );
        assert_eq!(
            decode(&slots, &tcbs, InvocationLabel::TCBSuspend, &[], &[]),
            Ok(TcbInvocation::Suspend { tcb: TARGET })
        );
        assert_eq!(
            decode_on(&slots, &tcbs, CALLER, InvocationLabel::TCBResume, &[], &[]),
            Ok(TcbInvocation::Resume { tcb: CALLER })
        );
    }

    #[test]
    fn other_labels_are_illegal() {
        let (slots, tcbs) = setup();
        for label in [0, InvocationLabel::CNodeCopy as u64, 1000] {
            assert_eq!(
                decode_tcb_invocation(
                    &slots,
                    &tcbs,
                    &at(Cap::Thread { ptr: TARGET }, 1),
                    label,
                    &[0; 8],
                    &[]
                ),
                Err(SyscallError::illegal_operation())
            );
        }
        assert_eq!(
            decode_tcb_invocation(
                &slots,
                &tcbs,
                &at(cnode(), 2),
                InvocationLabel::TCBSuspend as u64,
                &[],
                &[]
            ),
            Err(SyscallError::illegal_operation())
        );
    }
}
