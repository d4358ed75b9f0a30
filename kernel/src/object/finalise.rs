//! Deleting caps.
//!
//! STAND-IN: the kernel-invocations branch provides the real one (full object
//! finalisation and the derivation tree). This one finalises only what the
//! threads-and-IPC branch owns (TCBs, endpoints, notifications) and unlinks the slot.

use super::cspace::slot_memory;
use kernel_core::{Cap, SlotAddr, SlotMemory};

// STAND-IN: the kernel-invocations branch provides the real one.
/// Deletes the cap in `slot`, finalising a TCB, endpoint or notification when it was
/// the last cap to it.
pub fn delete_slot(slot: SlotAddr) {
    let mut memory = slot_memory();
    let cap = memory.read(slot).cap();
    if kernel_core::cdt::is_final_capability(&memory, slot) {
        match cap {
            Cap::Thread { ptr } => super::tcb::finalise(ptr),
            Cap::Endpoint { ptr, .. } => crate::ipc::endpoint::finalise(ptr),
            Cap::Notification { ptr, .. } => crate::ipc::notification::finalise(ptr),
            _ => {}
        }
    }
    kernel_core::cdt::empty_slot(&mut memory, slot);
}
