//! `seL4_Error`: the error codes an invocation's reply carries as its label.

/// An invocation's failure, as the label of its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Error {
    InvalidArgument = 1,
    InvalidCapability = 2,
    IllegalOperation = 3,
    RangeError = 4,
    AlignmentError = 5,
    FailedLookup = 6,
    TruncatedMessage = 7,
    DeleteFirst = 8,
    RevokeFirst = 9,
    NotEnoughMemory = 10,
}

impl Error {
    /// Decodes a reply label; 0 (NoError) and unknown values give `None`.
    pub fn from_label(label: u64) -> Option<Self> {
        use Error::*;
        Some(match label {
            1 => InvalidArgument,
            2 => InvalidCapability,
            3 => IllegalOperation,
            4 => RangeError,
            5 => AlignmentError,
            6 => FailedLookup,
            7 => TruncatedMessage,
            8 => DeleteFirst,
            9 => RevokeFirst,
            10 => NotEnoughMemory,
            _ => return None,
        })
    }
}

/// `Result` of an invocation.
pub type Result<T> = core::result::Result<T, Error>;

/// Error-reply message layouts (MR indices after an error reply), from the seL4 manual.
pub mod error_mr {
    /// InvalidArgument / InvalidCapability: MR0 = index of the offending argument.
    pub const INVALID_ARGUMENT_NUMBER: usize = 0;
    /// RangeError: MR0 = minimum, MR1 = maximum allowed.
    pub const RANGE_MIN: usize = 0;
    pub const RANGE_MAX: usize = 1;
    /// FailedLookup: MR0 = 1 if the failure was in a source capability, then the lookup
    /// failure description (type, then its fields).
    pub const FAILED_LOOKUP_WAS_SOURCE: usize = 0;
    /// NotEnoughMemory: MR0 = bytes available.
    pub const MEMORY_LEFT: usize = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_match_sel4() {
        assert_eq!(Error::from_label(0), None);
        assert_eq!(Error::from_label(1), Some(Error::InvalidArgument));
        assert_eq!(Error::from_label(10), Some(Error::NotEnoughMemory));
        assert_eq!(Error::from_label(11), None);
        assert_eq!(Error::DeleteFirst as u64, 8);
    }
}
