//! Untyped invocations: Retype, decoded by kernel-core, performed here.

use crate::object::cspace::slot_memory;
use crate::object::untyped::initialise_object;
use kernel_core::decode::{commit_retype, decode_untyped_invocation, UntypedRetype};
use kernel_core::{Cap, SlotAddr, SyscallError};

/// Decodes and performs an invocation of the untyped cap `untyped` in `slot`.
///
/// # Errors
/// kernel-core's decoder errors, in seL4's order.
pub fn invoke(
    untyped: &Cap,
    slot: SlotAddr,
    label: u64,
    words: &[u64],
    extra_caps: &[Cap],
) -> Result<(), SyscallError> {
    // Matched in place: moving the decoded retype (caps and a plan) costs memcpy calls.
    match decode_untyped_invocation(&slot_memory(), slot, untyped, label, words, extra_caps) {
        Ok(ref retype) => {
            perform(retype);
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// Initialises the new objects' memory, then updates the derivation tree.
fn perform(retype: &UntypedRetype) {
    let is_device = matches!(
        retype.untyped,
        Cap::Untyped {
            is_device: true,
            ..
        }
    );
    for paddr in retype.plan.object_paddrs() {
        initialise_object(
            retype.spec.object_type,
            paddr,
            retype.plan.object_size_bits,
            is_device,
        );
    }
    commit_retype(&mut slot_memory(), retype);
}
