//! Invocation decoders: each validates an invocation completely and changes nothing,
//! returning a value the kernel then performs (which cannot fail) or the syscall error
//! to reply with.

mod cnode;
mod irq;
mod tcb;
mod untyped;
mod vspace;

pub use cnode::{decode_cnode_invocation, CNodeInvocation};
pub use irq::{
    decode_irq_control_invocation, decode_irq_handler_invocation, IrqInvocation, IrqState,
    IrqTrigger, MAX_IRQ,
};
pub use tcb::{
    apply_tcb_flags, decode_tcb_invocation, IpcBufferUpdate, SpaceUpdate, TcbInvocation, TcbView,
    ThreadControl,
};
pub use untyped::{commit_retype, decode_untyped_invocation, UntypedRetype};
pub use vspace::{
    decode_frame_invocation, decode_vspace_invocation, find_vspace_for_asid, AsidTable,
    CacheOperation, MappedEntry, VSpaceInvocation, ASID_POOL_COUNT, ASID_POOL_ENTRIES,
};

use crate::cap::Cap;
use crate::slot::SlotAddr;

/// A capability an invocation names (the invoked cap, or one of its extra caps) together
/// with the slot it was found in: decoders that derive a cap from it, make a child of it
/// or update it in place need the slot (seL4's `excaprefs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapRef {
    pub cap: Cap,
    pub slot: SlotAddr,
}
