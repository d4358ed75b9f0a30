//! The Domain cap: DomainSetSet in a single-domain configuration
//! (`CONFIG_NUM_DOMAINS = 1`).

use kernel_core::{Cap, SyscallError};
use sel4::InvocationLabel;

/// Decodes and performs an invocation of the Domain cap.
///
/// # Errors
/// As seL4's `decodeDomainInvocation`: IllegalOperation for anything but DomainSetSet,
/// TruncatedMessage without a domain word, InvalidArgument(0) for a domain other than 0,
/// TruncatedMessage without a TCB cap, InvalidArgument(1) if it is not a TCB cap.
pub fn invoke(label: u64, words: &[u64], extra_caps: &[Cap]) -> Result<(), SyscallError> {
    if InvocationLabel::from_label(label) != Some(InvocationLabel::DomainSetSet) {
        return Err(SyscallError::illegal_operation());
    }
    let Some(&domain) = words.first() else {
        return Err(SyscallError::truncated_message());
    };
    if domain != 0 {
        return Err(SyscallError::invalid_argument(0));
    }
    let Some(target) = extra_caps.first() else {
        return Err(SyscallError::truncated_message());
    };
    if !matches!(target, Cap::Thread { .. }) {
        return Err(SyscallError::invalid_argument(1));
    }
    // Every thread is already in domain 0, the only one.
    Ok(())
}
