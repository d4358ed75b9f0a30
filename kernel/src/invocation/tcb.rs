//! TCB invocations.
// STAND-IN: the threads-ipc branch provides the real one.

use kernel_core::{Cap, SlotAddr, SyscallError};
use sel4::MessageInfo;

/// A successful TCB invocation's reply words.
pub struct TcbReply {
    pub length: usize,
    pub words: [u64; 40],
}

/// Performs a TCB invocation on the TCB at `target_tcb`.
///
/// # Errors
/// Always IllegalOperation in this stand-in.
pub fn invoke(
    thread: u64,
    target_tcb: u64,
    target_slot: SlotAddr,
    info: MessageInfo,
    words: &[u64],
    extra_caps: &[(Cap, SlotAddr)],
) -> Result<TcbReply, SyscallError> {
    let _ = (thread, target_tcb, target_slot, info, words, extra_caps);
    Err(SyscallError::illegal_operation())
}
