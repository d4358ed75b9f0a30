//! The thread control block: the TCB's own capability slots (its first KiB, as in seL4)
//! followed by the kernel's thread state, and the thread-lifetime operations built on it
//! (finalisation, the master reply cap, IPC buffer lookup).
//!
//! # Invariants
//! A zero-filled TCB object is a valid fresh thread: Inactive, priority and MCP 0, no
//! fault handler, no IPC buffer, no queue links, no pending fault, no bound notification.

use super::cspace::cap_words;
use super::object_pointer;
use crate::arch::fpu::FpState;
use crate::arch::user_context::UserRegisters;
use kernel_core::raw_cap::{self, CNodeCap};
use kernel_core::{Cap, MdbNode, Slot, SlotAddr, VmRights};

/// Byte offset of [`Tcb`] inside the 2^11-byte TCB object; the slots come first.
pub const TCB_OFFSET: u64 = 1 << (sel4::TCB_BITS - 1);

/// The TCB's capability slots (seL4's `tcb_cnode_index`).
pub mod tcb_slot {
    pub const CSPACE_ROOT: u64 = 0;
    pub const VSPACE_ROOT: u64 = 1;
    pub const REPLY: u64 = 2;
    pub const CALLER: u64 = 3;
    pub const IPC_BUFFER_FRAME: u64 = 4;
    /// Number of slots.
    pub const COUNT: u64 = 5;
}

/// Bytes of thread name kept (including the terminating NUL).
pub const NAME_LENGTH: usize = 32;

/// Scheduling state, numbered as seL4's `_thread_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadState {
    /// Not runnable until resumed (the all-zero state of a new TCB).
    Inactive = 0,
    /// Runnable.
    Running = 1,
    /// Runnable; re-executes the instruction at its FaultIP (the interrupted syscall)
    /// when it next runs.
    Restart = 2,
    BlockedOnReceive = 3,
    BlockedOnSend = 4,
    BlockedOnReply = 5,
    BlockedOnNotification = 6,
    /// Only the idle loop is in this state; no TCB ever is.
    #[allow(dead_code)] // kept so the numbering matches seL4's
    Idle = 7,
}

impl ThreadState {
    /// seL4's `isRunnable`.
    pub const fn is_runnable(self) -> bool {
        matches!(self, ThreadState::Running | ThreadState::Restart)
    }

    /// seL4's `isStopped`: Inactive or waiting for a reply (what Resume restarts).
    pub const fn is_stopped(self) -> bool {
        matches!(self, ThreadState::Inactive | ThreadState::BlockedOnReply)
    }
}

/// A fault the thread raised and has not yet had answered (seL4's `tcbFault` plus
/// `tcbLookupFailure`). `kind` is the [`sel4::FaultType`] value, 0 for none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct PendingFault {
    pub kind: u64,
    /// Per kind: UnknownSyscall [number]; UserException [number, code]; VMFault [address,
    /// prefetch, status]; CapFault [address, in_receive_phase, lookup failure words x4].
    pub words: [u64; 6],
}

/// The kernel's per-thread state.
#[repr(C)]
pub struct Tcb {
    pub registers: UserRegisters,
    pub fp_state: FpState,
    pub state: ThreadState,
    pub priority: u8,
    pub max_controlled_priority: u8,
    pub domain: u8,
    /// Whether the thread is on a run queue (seL4's `tcbQueued`).
    pub queued: bool,
    /// IPC details of a blocked thread (seL4's `blockingIPC*` fields).
    pub blocking_can_grant: bool,
    pub blocking_can_grant_reply: bool,
    pub blocking_is_call: bool,
    /// The fault handler's CPtr in the thread's CSpace (0: none).
    pub fault_handler: u64,
    /// The IPC buffer's user virtual address.
    pub ipc_buffer: u64,
    /// TCBSetFlags flags (`sel4::tcb_flag`).
    pub flags: u64,
    /// Where the last kernel entry happened: the `svc` itself for a syscall, the faulting
    /// or interrupted instruction otherwise (seL4's FaultIP). A Restart thread resumes
    /// here.
    pub fault_ip: u64,
    /// Run-queue links (TCB object addresses, 0 = none).
    pub sched_next: u64,
    pub sched_prev: u64,
    /// Endpoint or notification queue links.
    pub queue_next: u64,
    pub queue_prev: u64,
    /// The endpoint or notification the thread is blocked on.
    pub blocking_object: u64,
    /// The badge of the endpoint cap a blocked sender used.
    pub blocking_badge: u64,
    /// The bound notification object (0: none).
    pub bound_notification: u64,
    /// Ticks of the current time slice used.
    pub ticks_used: u64,
    pub fault: PendingFault,
    /// NUL-terminated name (DebugNameThread).
    pub name: [u8; NAME_LENGTH],
}

const _: () = assert!(TCB_OFFSET as usize + core::mem::size_of::<Tcb>() <= 1 << sel4::TCB_BITS);
const _: () =
    assert!(tcb_slot::COUNT as usize * core::mem::size_of::<Slot>() <= TCB_OFFSET as usize);

impl Tcb {
    /// The name as text (up to the first NUL; invalid UTF-8 shows as `?`).
    pub fn name(&self) -> &str {
        let length = self
            .name
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(NAME_LENGTH);
        core::str::from_utf8(&self.name[..length]).unwrap_or("?")
    }

    /// Sets the name, truncated to fit.
    pub fn set_name(&mut self, name: &[u8]) {
        let length = name.len().min(NAME_LENGTH - 1);
        self.name = [0; NAME_LENGTH];
        self.name[..length].copy_from_slice(&name[..length]);
    }

    /// Whether a fault is waiting for its handler's reply.
    pub const fn has_fault(&self) -> bool {
        self.fault.kind != 0
    }
}

/// The [`Tcb`] of the TCB object at physical address `tcb_object`.
///
/// # Safety
/// A TCB object must live at `tcb_object` (2 KiB aligned, kernel memory), and no other
/// reference to its `Tcb` may be live.
pub unsafe fn tcb_at(tcb_object: u64) -> &'static mut Tcb {
    // SAFETY: the caller vouches that the object exists and is not aliased.
    unsafe { &mut *object_pointer::<Tcb>(tcb_object + TCB_OFFSET) }
}

/// The [`Tcb`] of a live thread, for the kernel's short-lived accesses.
///
/// Callers pass an address taken from a Thread cap, a reply cap, a queue link or the
/// scheduler, all of which name live TCB objects, and never keep the reference across a
/// call that may touch the same TCB (the kernel is single-threaded, so that is the only
/// way two references could overlap).
#[inline(always)]
pub fn thread(tcb_object: u64) -> &'static mut Tcb {
    if tcb_object == 0 || !tcb_object.is_multiple_of(1 << sel4::TCB_BITS) {
        bad_tcb_address(tcb_object);
    }
    // SAFETY: non-zero and aligned (checked); live by the callers' contract above, and
    // not aliased because no caller holds a reference across another access.
    unsafe { tcb_at(tcb_object) }
}

/// Halts on a TCB address that cannot be one (a kernel bug); kept out of line so the
/// check in the hot accessors stays two instructions.
#[cold]
#[inline(never)]
fn bad_tcb_address(tcb_object: u64) -> ! {
    crate::kernel_panic!("bad TCB address {tcb_object:#x}");
}

/// Slot `index` (a [`tcb_slot`] constant) of the TCB object at `tcb_object`.
pub fn tcb_slot_pointer(tcb_object: u64, index: u64) -> *mut Slot {
    object_pointer::<Slot>(tcb_object + (index << sel4::SLOT_BITS))
}

/// The address of slot `index` of the TCB object at `tcb_object`.
#[inline(always)]
pub fn tcb_slot_address(tcb_object: u64, index: u64) -> SlotAddr {
    match SlotAddr::new(tcb_object + (index << sel4::SLOT_BITS)) {
        Some(slot) => slot,
        None => bad_tcb_address(tcb_object),
    }
}

/// The cap in slot `index` of the thread's TCB.
pub fn tcb_slot_cap(tcb_object: u64, index: u64) -> Cap {
    // SAFETY: the slot lies inside a live TCB object's slot area and is initialised
    // (zero = null cap); it is read, not kept.
    unsafe { tcb_slot_pointer(tcb_object, index).read() }.cap()
}

/// The thread's CSpace root cap.
pub fn cspace_root(tcb_object: u64) -> Cap {
    tcb_slot_cap(tcb_object, tcb_slot::CSPACE_ROOT)
}

/// The thread's CSpace root, if it is a CNode cap, as lookups take it.
#[inline(always)]
pub fn cspace_root_cnode(tcb_object: u64) -> Option<CNodeCap> {
    raw_cap::cnode(cap_words(tcb_slot_address(
        tcb_object,
        tcb_slot::CSPACE_ROOT,
    )))
}

/// Whether the IPC buffer is read by the kernel (a sender's) or written (a receiver's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferAccess {
    Read,
    Write,
}

/// The physical address of the thread's IPC buffer (seL4's `lookupIPCBuffer`): the
/// cap in its buffer slot must be a non-device frame, writable when the kernel writes a
/// message there; `None` otherwise. Every IPC buffer access (fastpath, IPC, invocations)
/// finds the buffer here, reading the frame cap without decoding it whole.
#[inline(always)]
pub fn ipc_buffer(tcb_object: u64, access: BufferAccess) -> Option<u64> {
    let frame = raw_cap::frame(cap_words(tcb_slot_address(
        tcb_object,
        tcb_slot::IPC_BUFFER_FRAME,
    )))?;
    let allowed = match access {
        BufferAccess::Write => frame.rights == VmRights::ReadWrite,
        BufferAccess::Read => matches!(frame.rights, VmRights::ReadWrite | VmRights::ReadOnly),
    };
    if frame.is_device || !allowed {
        return None;
    }
    let offset = thread(tcb_object).ipc_buffer & ((1u64 << frame.size.bits()) - 1);
    // The buffer is 1 KiB aligned (TCBConfigure and SetIPCBuffer check), so it cannot
    // run past the end of its frame.
    let offset = offset & !((1 << sel4::IPC_BUFFER_SIZE_BITS) - 1);
    Some(frame.paddr + offset)
}

/// Puts the master reply cap in the thread's reply slot if it is empty (seL4's
/// `setupReplyMaster`): the parent of every caller cap that lets a server reply to it.
pub fn setup_reply_master(tcb_object: u64) {
    let pointer = tcb_slot_pointer(tcb_object, tcb_slot::REPLY);
    // SAFETY: the reply slot of a live TCB; nothing else references it during this call.
    let slot = unsafe { &mut *pointer };
    if slot.cap().is_null() {
        let master = Cap::Reply {
            tcb: tcb_object,
            is_master: true,
            can_grant: true,
        };
        *slot = Slot::new(
            &master,
            MdbNode::EMPTY.with_revocable(true).with_first_badged(true),
        );
    }
}

/// Stops a thread whose TCB is being destroyed (seL4's `finaliseCap` for the last
/// Thread cap): unbinds its notification, cancels its IPC, takes it off every queue and
/// forgets its FP/SIMD state. Afterwards no kernel structure refers to the TCB except
/// its own slots, which the caller clears, and its memory may be reused.
pub fn finalise(tcb_object: u64) {
    crate::ipc::notification::unbind_thread(tcb_object);
    crate::sched::suspend(tcb_object);
    crate::sched::forget(tcb_object);
}
