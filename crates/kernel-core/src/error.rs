//! Syscall errors as the invoker sees them (label plus error message registers) and
//! capability lookup faults, laid out as in the seL4 manual.

use sel4::{Error, LookupFailureType};

/// Why a capability lookup failed (seL4's `lookup_fault`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFault {
    /// The root of the lookup was not a CNode cap.
    InvalidRoot,
    /// The slot reached held no cap of the kind needed.
    MissingCapability { bits_left: u64 },
    /// The address ran out of bits part-way through a level, or had bits left over.
    DepthMismatch { bits_left: u64, bits_found: u64 },
    /// A CNode's guard did not match the address.
    GuardMismatch {
        bits_left: u64,
        /// The guard of the CNode that rejected the address.
        guard_found: u64,
        /// The size of that guard in bits.
        bits_found: u64,
    },
}

impl LookupFault {
    /// The failure type the message carries.
    pub const fn failure_type(&self) -> LookupFailureType {
        match self {
            LookupFault::InvalidRoot => LookupFailureType::InvalidRoot,
            LookupFault::MissingCapability { .. } => LookupFailureType::MissingCapability,
            LookupFault::DepthMismatch { .. } => LookupFailureType::DepthMismatch,
            LookupFault::GuardMismatch { .. } => LookupFailureType::GuardMismatch,
        }
    }

    /// The message words describing the fault: the failure type, then its fields
    /// (used at MR1 of a FailedLookup error and at `sel4::cap_fault::LOOKUP_FAILURE_TYPE`
    /// of a cap fault). Returns the words and how many are used.
    pub const fn message(&self) -> ([u64; 4], usize) {
        let kind = self.failure_type() as u64;
        match *self {
            LookupFault::InvalidRoot => ([kind, 0, 0, 0], 1),
            LookupFault::MissingCapability { bits_left } => ([kind, bits_left, 0, 0], 2),
            LookupFault::DepthMismatch {
                bits_left,
                bits_found,
            } => ([kind, bits_left, bits_found, 0], 3),
            LookupFault::GuardMismatch {
                bits_left,
                guard_found,
                bits_found,
            } => ([kind, bits_left, guard_found, bits_found], 4),
        }
    }
}

/// Which capability argument of a CNode operation a failed lookup was for; seL4 reports
/// it in MR0 of a FailedLookup error (1 for source and pivot, 0 for destination).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupRole {
    Source,
    Destination,
}

/// Most error message registers any error uses (FailedLookup with a guard mismatch).
pub const MAX_ERROR_MRS: usize = 5;

/// A failed invocation: the reply's label is `error`, its message `mrs[..mr_count]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallError {
    pub error: Error,
    pub mrs: [u64; MAX_ERROR_MRS],
    pub mr_count: usize,
}

impl SyscallError {
    const fn with(error: Error, words: &[u64]) -> Self {
        let mut mrs = [0; MAX_ERROR_MRS];
        let mut index = 0;
        while index < words.len() && index < MAX_ERROR_MRS {
            mrs[index] = words[index];
            index += 1;
        }
        Self {
            error,
            mrs,
            mr_count: index,
        }
    }

    /// InvalidArgument: MR0 = the index of the bad message register argument.
    pub const fn invalid_argument(index: u64) -> Self {
        Self::with(Error::InvalidArgument, &[index])
    }

    /// InvalidCapability: MR0 = the index of the bad capability (0 = the invoked cap,
    /// 1.. = extra caps).
    pub const fn invalid_capability(index: u64) -> Self {
        Self::with(Error::InvalidCapability, &[index])
    }

    pub const fn illegal_operation() -> Self {
        Self::with(Error::IllegalOperation, &[])
    }

    /// RangeError: MR0 = the smallest, MR1 = the largest allowed value.
    pub const fn range_error(min: u64, max: u64) -> Self {
        Self::with(Error::RangeError, &[min, max])
    }

    pub const fn alignment_error() -> Self {
        Self::with(Error::AlignmentError, &[])
    }

    /// FailedLookup: MR0 = 1 if the lookup was of a source (or pivot) cap, then the
    /// lookup fault (type, then its fields).
    pub const fn failed_lookup(role: LookupRole, fault: LookupFault) -> Self {
        let (words, count) = fault.message();
        let was_source = match role {
            LookupRole::Source => 1,
            LookupRole::Destination => 0,
        };
        let mut error = Self::with(
            Error::FailedLookup,
            &[was_source, words[0], words[1], words[2], words[3]],
        );
        error.mr_count = 1 + count;
        error
    }

    pub const fn truncated_message() -> Self {
        Self::with(Error::TruncatedMessage, &[])
    }

    pub const fn delete_first() -> Self {
        Self::with(Error::DeleteFirst, &[])
    }

    pub const fn revoke_first() -> Self {
        Self::with(Error::RevokeFirst, &[])
    }

    /// NotEnoughMemory: MR0 = bytes available.
    pub const fn not_enough_memory(available: u64) -> Self {
        Self::with(Error::NotEnoughMemory, &[available])
    }

    /// The reply's label.
    pub const fn label(&self) -> u64 {
        self.error as u64
    }

    /// The reply's message registers.
    pub fn message(&self) -> &[u64] {
        self.mrs.get(..self.mr_count).unwrap_or(&self.mrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sel4::error_mr;

    #[test]
    fn simple_errors_carry_no_registers() {
        for (error, code) in [
            (SyscallError::illegal_operation(), 3),
            (SyscallError::alignment_error(), 5),
            (SyscallError::truncated_message(), 7),
            (SyscallError::delete_first(), 8),
            (SyscallError::revoke_first(), 9),
        ] {
            assert_eq!(error.label(), code);
            assert_eq!(error.message(), &[] as &[u64]);
        }
    }

    #[test]
    fn argument_errors_name_the_argument() {
        let error = SyscallError::invalid_argument(3);
        assert_eq!(error.error, Error::InvalidArgument);
        assert_eq!(error.message()[error_mr::INVALID_ARGUMENT_NUMBER], 3);
        assert_eq!(error.message().len(), 1);
        let error = SyscallError::invalid_capability(1);
        assert_eq!(error.label(), 2);
        assert_eq!(error.message(), &[1]);
    }

    #[test]
    fn range_and_memory_errors() {
        let error = SyscallError::range_error(1, 256);
        assert_eq!(error.label(), 4);
        assert_eq!(error.message()[error_mr::RANGE_MIN], 1);
        assert_eq!(error.message()[error_mr::RANGE_MAX], 256);
        let error = SyscallError::not_enough_memory(4080);
        assert_eq!(error.label(), 10);
        assert_eq!(error.message()[error_mr::MEMORY_LEFT], 4080);
        assert_eq!(error.message().len(), 1);
    }

    #[test]
    fn failed_lookup_layouts() {
        let invalid_root =
            SyscallError::failed_lookup(LookupRole::Source, LookupFault::InvalidRoot);
        assert_eq!(invalid_root.label(), 6);
        assert_eq!(invalid_root.message(), &[1, 1]);
        let missing = SyscallError::failed_lookup(
            LookupRole::Destination,
            LookupFault::MissingCapability { bits_left: 7 },
        );
        assert_eq!(missing.message(), &[0, 2, 7]);
        let depth = SyscallError::failed_lookup(
            LookupRole::Source,
            LookupFault::DepthMismatch {
                bits_left: 52,
                bits_found: 12,
            },
        );
        assert_eq!(depth.message(), &[1, 3, 52, 12]);
        let guard = SyscallError::failed_lookup(
            LookupRole::Destination,
            LookupFault::GuardMismatch {
                bits_left: 64,
                guard_found: 0x5,
                bits_found: 3,
            },
        );
        assert_eq!(guard.message(), &[0, 4, 64, 5, 3]);
        assert_eq!(guard.message()[error_mr::FAILED_LOOKUP_WAS_SOURCE], 0);
    }
}
