//! Kernel object types, their sizes, and the address-space constants of aarch64 seL4.

/// Object types for UntypedRetype (aarch64, non-hypervisor numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ObjectType {
    Untyped = 0,
    Tcb = 1,
    Endpoint = 2,
    Notification = 3,
    CNode = 4,
    HugePage = 5,
    VSpace = 6,
    SmallPage = 7,
    LargePage = 8,
    PageTable = 9,
}

impl ObjectType {
    /// Decodes a retype's type argument.
    pub fn from_word(word: u64) -> Option<Self> {
        use ObjectType::*;
        Some(match word {
            0 => Untyped,
            1 => Tcb,
            2 => Endpoint,
            3 => Notification,
            4 => CNode,
            5 => HugePage,
            6 => VSpace,
            7 => SmallPage,
            8 => LargePage,
            9 => PageTable,
            _ => return None,
        })
    }

    /// The size of one object in bits, for objects of fixed size; for Untyped and CNode the
    /// caller's `size_bits` argument decides (see [`ObjectType::object_size_bits`]).
    pub const fn fixed_size_bits(self) -> Option<u32> {
        match self {
            ObjectType::Untyped | ObjectType::CNode => None,
            ObjectType::Tcb => Some(TCB_BITS),
            ObjectType::Endpoint => Some(ENDPOINT_BITS),
            ObjectType::Notification => Some(NOTIFICATION_BITS),
            ObjectType::HugePage => Some(HUGE_PAGE_BITS),
            ObjectType::VSpace => Some(VSPACE_BITS),
            ObjectType::SmallPage => Some(PAGE_BITS),
            ObjectType::LargePage => Some(LARGE_PAGE_BITS),
            ObjectType::PageTable => Some(PAGE_TABLE_BITS),
        }
    }

    /// Size in bits of one object given the retype's `size_bits` argument (a CNode's
    /// argument is its radix, so its size is `size_bits + SLOT_BITS`). `None` when the
    /// argument overflows.
    pub const fn object_size_bits(self, size_bits: u64) -> Option<u32> {
        match self {
            ObjectType::Untyped => {
                if size_bits < 64 {
                    Some(size_bits as u32)
                } else {
                    None
                }
            }
            ObjectType::CNode => {
                if size_bits < 64 - SLOT_BITS as u64 {
                    Some(size_bits as u32 + SLOT_BITS)
                } else {
                    None
                }
            }
            other => other.fixed_size_bits(),
        }
    }

    /// Whether objects of this type are frames (the only type device untyped may become).
    pub const fn is_frame(self) -> bool {
        matches!(
            self,
            ObjectType::SmallPage | ObjectType::LargePage | ObjectType::HugePage
        )
    }
}

/// A 4 KiB page.
pub const PAGE_BITS: u32 = 12;
/// A 2 MiB page.
pub const LARGE_PAGE_BITS: u32 = 21;
/// A 1 GiB page.
pub const HUGE_PAGE_BITS: u32 = 30;
pub const PAGE_TABLE_BITS: u32 = 12;
pub const VSPACE_BITS: u32 = 12;
pub const ASID_POOL_BITS: u32 = 12;
pub const TCB_BITS: u32 = 11;
pub const ENDPOINT_BITS: u32 = 4;
pub const NOTIFICATION_BITS: u32 = 5;
/// One CNode slot.
pub const SLOT_BITS: u32 = 5;
pub const MIN_UNTYPED_BITS: u32 = 4;
pub const MAX_UNTYPED_BITS: u32 = 47;
/// Entries in one page table at every level.
pub const PAGE_TABLE_INDEX_BITS: u32 = 9;
/// Highest user virtual address on the EL1 kernel (`seL4_UserTop`).
pub const USER_TOP: u64 = 0x7fff_ffff_ffff;
/// ASIDs: 2^7 pools of 2^9 entries.
pub const NUM_ASID_POOLS_BITS: u32 = 7;
pub const ASID_POOL_INDEX_BITS: u32 = 9;
/// Largest priority (`seL4_MaxPrio`); 256 priorities.
pub const MAX_PRIO: u64 = 255;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_sizes() {
        assert_eq!(ObjectType::CNode.object_size_bits(12), Some(17));
        assert_eq!(ObjectType::Tcb.object_size_bits(0), Some(11));
        assert_eq!(ObjectType::Untyped.object_size_bits(64), None);
        assert_eq!(ObjectType::CNode.object_size_bits(60), None);
        assert_eq!(ObjectType::from_word(9), Some(ObjectType::PageTable));
        assert_eq!(ObjectType::from_word(10), None);
        assert!(ObjectType::LargePage.is_frame());
        assert!(!ObjectType::PageTable.is_frame());
    }
}
