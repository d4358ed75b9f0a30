//! Invocation labels of seL4 16.0.0 on aarch64 (non-MCS, non-hypervisor, no SMMU).
//!
//! The labels are positional in seL4's interface files and shift between versions; these
//! are the 16.0.0 values.

macro_rules! labels {
    ($($name:ident = $value:literal,)*) => {
        /// An invocation's label: which method of a capability's object is called.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u64)]
        pub enum InvocationLabel {
            $($name = $value,)*
        }

        impl InvocationLabel {
            /// Decodes a MessageInfo label; unknown labels give `None`.
            pub fn from_label(label: u64) -> Option<Self> {
                match label {
                    $($value => Some(Self::$name),)*
                    _ => None,
                }
            }
        }
    };
}

labels! {
    UntypedRetype = 1,
    TCBReadRegisters = 2,
    TCBWriteRegisters = 3,
    TCBCopyRegisters = 4,
    TCBConfigure = 5,
    TCBSetPriority = 6,
    TCBSetMCPriority = 7,
    TCBSetSchedParams = 8,
    TCBSetIPCBuffer = 9,
    TCBSetSpace = 10,
    TCBSuspend = 11,
    TCBResume = 12,
    TCBBindNotification = 13,
    TCBUnbindNotification = 14,
    TCBSetTLSBase = 15,
    TCBSetFlags = 16,
    CNodeRevoke = 17,
    CNodeDelete = 18,
    CNodeCancelBadgedSends = 19,
    CNodeCopy = 20,
    CNodeMint = 21,
    CNodeMove = 22,
    CNodeMutate = 23,
    CNodeRotate = 24,
    CNodeSaveCaller = 25,
    IRQIssueIRQHandler = 26,
    IRQAckIRQ = 27,
    IRQSetIRQHandler = 28,
    IRQClearIRQHandler = 29,
    DomainSetSet = 30,
    DomainScheduleConfigure = 31,
    DomainScheduleSetStart = 32,
    ARMVSpaceCleanData = 33,
    ARMVSpaceInvalidateData = 34,
    ARMVSpaceCleanInvalidateData = 35,
    ARMVSpaceUnifyInstruction = 36,
    ARMSMCCall = 37,
    ARMPageTableMap = 38,
    ARMPageTableUnmap = 39,
    ARMPageMap = 40,
    ARMPageUnmap = 41,
    ARMPageCleanData = 42,
    ARMPageInvalidateData = 43,
    ARMPageCleanInvalidateData = 44,
    ARMPageUnifyInstruction = 45,
    ARMPageGetAddress = 46,
    ARMASIDControlMakePool = 47,
    ARMASIDPoolAssign = 48,
    ARMIRQIssueIRQHandlerTrigger = 49,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_sel4_16() {
        assert_eq!(InvocationLabel::from_label(0), None);
        assert_eq!(
            InvocationLabel::from_label(1),
            Some(InvocationLabel::UntypedRetype)
        );
        assert_eq!(
            InvocationLabel::from_label(16),
            Some(InvocationLabel::TCBSetFlags)
        );
        assert_eq!(
            InvocationLabel::from_label(40),
            Some(InvocationLabel::ARMPageMap)
        );
        assert_eq!(
            InvocationLabel::from_label(49),
            Some(InvocationLabel::ARMIRQIssueIRQHandlerTrigger)
        );
        assert_eq!(InvocationLabel::from_label(50), None);
    }
}
