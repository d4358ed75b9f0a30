//! Kernel objects as they sit in memory retyped from untyped (reached through the
//! kernel window): TCBs, CNode slots, address-space tables.
//!
//! This is the boot-time subset; the full object model (retype, invocations) builds on
//! kernel-core and comes next.

pub mod asid;
pub mod cspace;
pub mod finalise;
pub mod tcb;
pub mod vspace;

use crate::arch::mmu::window;

/// The kernel's pointer to the object of type `T` at physical address `phys`.
///
/// The result is only a pointer; dereferencing it needs the caller's knowledge that an
/// object of type `T` lives there.
pub fn object_pointer<T>(phys: u64) -> *mut T {
    window(phys) as *mut T
}
