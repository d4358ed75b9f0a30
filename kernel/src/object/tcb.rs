//! The thread control block: the TCB's own capability slots (its first KiB, as in seL4)
//! followed by the kernel's thread state.

use super::object_pointer;
use crate::arch::fpu::FpState;
use crate::arch::user_context::UserRegisters;
use kernel_core::Slot;

/// Byte offset of [`Tcb`] inside the 2^11-byte TCB object; the slots come first.
pub const TCB_OFFSET: u64 = 1 << (sel4::TCB_BITS - 1);

/// The TCB's capability slots (seL4's `tcb_cnode_index`).
#[allow(dead_code)] // the reply slots are used once IPC exists; the layout is fixed now
pub mod tcb_slot {
    pub const CSPACE_ROOT: u64 = 0;
    pub const VSPACE_ROOT: u64 = 1;
    pub const REPLY: u64 = 2;
    pub const CALLER: u64 = 3;
    pub const IPC_BUFFER_FRAME: u64 = 4;
}

/// Bytes of thread name kept (including the terminating NUL).
pub const NAME_LENGTH: usize = 64;

/// Scheduling state (the subset used so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadState {
    /// Not runnable until resumed.
    Inactive,
    /// Runnable.
    Running,
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
    /// The fault handler's CPtr in the thread's CSpace (0: none).
    pub fault_handler: u64,
    /// The IPC buffer's user virtual address.
    pub ipc_buffer: u64,
    /// NUL-terminated name (DebugNameThread).
    pub name: [u8; NAME_LENGTH],
}

const _: () = assert!(TCB_OFFSET as usize + core::mem::size_of::<Tcb>() <= 1 << sel4::TCB_BITS);
const _: () = assert!(5 * core::mem::size_of::<Slot>() <= TCB_OFFSET as usize);

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

/// Slot `index` (a [`tcb_slot`] constant) of the TCB object at `tcb_object`.
pub fn tcb_slot_pointer(tcb_object: u64, index: u64) -> *mut Slot {
    object_pointer::<Slot>(tcb_object + (index << sel4::SLOT_BITS))
}

/// Stops the thread whose TCB object is at `tcb` for good: suspends it and cancels its
/// IPC, so its memory can be reused.
// STAND-IN: the threads-ipc branch provides the real one. With a single scheduled
// thread and no IPC, making the thread inactive is all there is to do.
pub fn finalise(tcb: u64) {
    // SAFETY: `tcb` is a live TCB object whose last cap is being deleted.
    unsafe { tcb_at(tcb) }.state = ThreadState::Inactive;
}
