//! A CNode slot as it sits in memory: the encoded cap plus its derivation-tree links.

use core::num::NonZeroU64;

use crate::bits::{field, mask, place};
use crate::cap::{Cap, PADDR_BITS};

/// The physical address of a slot: non-zero, a multiple of 32 (`2^sel4::SLOT_BITS`) and
/// below 2^48. Non-zero by type, so an `Option<SlotAddr>` is one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotAddr(NonZeroU64);

impl SlotAddr {
    /// Checks `addr` is a possible slot address.
    pub const fn new(addr: u64) -> Option<Self> {
        if addr & ADDRESS_MASK != addr {
            return None;
        }
        match NonZeroU64::new(addr) {
            Some(addr) => Some(Self(addr)),
            None => None,
        }
    }

    /// The physical address.
    pub const fn addr(self) -> u64 {
        self.0.get()
    }

    /// The slot `index` slots after this one, if that is still a slot address.
    pub const fn offset(self, index: u64) -> Option<Self> {
        let Some(bytes) = index.checked_mul(1 << sel4::SLOT_BITS) else {
            return None;
        };
        match self.addr().checked_add(bytes) {
            Some(addr) => Self::new(addr),
            None => None,
        }
    }
}

/// Bits of a physical address that a slot address may have set.
const ADDRESS_MASK: u64 = mask(PADDR_BITS) & !mask(sel4::SLOT_BITS);

/// One CNode slot (seL4's `cte_t`): 32 bytes, `#[repr(C)]` so the kernel can place slots
/// directly in CNode and TCB memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Slot {
    /// The cap, as [`Cap::encode`] packs it.
    pub cap: [u64; 2],
    pub mdb: MdbNode,
}

const _: () = assert!(core::mem::size_of::<Slot>() == 1 << sel4::SLOT_BITS);

impl Slot {
    /// An empty slot: null cap, no links.
    pub const EMPTY: Slot = Slot {
        cap: [0, 0],
        mdb: MdbNode::EMPTY,
    };

    /// A slot holding `cap` with links `mdb`.
    pub fn new(cap: &Cap, mdb: MdbNode) -> Self {
        Self {
            cap: cap.encode(),
            mdb,
        }
    }

    /// The decoded cap.
    pub fn cap(&self) -> Cap {
        Cap::decode(self.cap)
    }

    /// Replaces the cap, keeping the links.
    pub fn set_cap(&mut self, cap: &Cap) {
        self.cap = cap.encode();
    }
}

/// A slot's place in the capability derivation tree (seL4's `mdb_node_t`): the previous
/// and next slots of the depth-first list, and two flags.
///
/// # Encoding
/// Word 0: previous slot address (bits 47..5; 0 = none). Word 1: next slot address
/// (bits 47..5; 0 = none), bit 1 `first_badged`, bit 0 `revocable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct MdbNode {
    words: [u64; 2],
}

impl MdbNode {
    /// No links, no flags.
    pub const EMPTY: MdbNode = MdbNode { words: [0, 0] };

    const REVOCABLE_BIT: u32 = 0;
    const FIRST_BADGED_BIT: u32 = 1;

    /// The raw words (for the kernel's fastpath or debugging).
    pub const fn words(&self) -> [u64; 2] {
        self.words
    }

    /// Rebuilds a node from raw words; stray bits are ignored.
    pub const fn from_words(words: [u64; 2]) -> Self {
        Self {
            words: [words[0] & ADDRESS_MASK, words[1] & (ADDRESS_MASK | 0b11)],
        }
    }

    pub const fn prev(&self) -> Option<SlotAddr> {
        SlotAddr::new(self.words[0] & ADDRESS_MASK)
    }

    pub const fn next(&self) -> Option<SlotAddr> {
        SlotAddr::new(self.words[1] & ADDRESS_MASK)
    }

    /// Whether this cap may be revoked: it is the original cap of its object (from
    /// retype, or a newly badged endpoint/notification, or an IRQ handler from
    /// IrqControl), so copies of it are its children.
    pub const fn revocable(&self) -> bool {
        field(self.words[1], Self::REVOCABLE_BIT, 1) != 0
    }

    /// Whether this cap was the first with its badge: it ends the run of children of an
    /// unbadged endpoint/notification cap's badged siblings.
    pub const fn first_badged(&self) -> bool {
        field(self.words[1], Self::FIRST_BADGED_BIT, 1) != 0
    }

    pub const fn with_prev(self, prev: Option<SlotAddr>) -> Self {
        let addr = match prev {
            Some(slot) => slot.addr(),
            None => 0,
        };
        Self {
            words: [addr, self.words[1]],
        }
    }

    pub const fn with_next(self, next: Option<SlotAddr>) -> Self {
        let addr = match next {
            Some(slot) => slot.addr(),
            None => 0,
        };
        Self {
            words: [self.words[0], (self.words[1] & !ADDRESS_MASK) | addr],
        }
    }

    pub const fn with_revocable(self, revocable: bool) -> Self {
        self.with_flag(Self::REVOCABLE_BIT, revocable)
    }

    pub const fn with_first_badged(self, first_badged: bool) -> Self {
        self.with_flag(Self::FIRST_BADGED_BIT, first_badged)
    }

    const fn with_flag(self, bit: u32, value: bool) -> Self {
        Self {
            words: [
                self.words[0],
                (self.words[1] & !(1 << bit)) | place(value as u64, bit, 1),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(addr: u64) -> SlotAddr {
        SlotAddr::new(addr).expect("test slot address")
    }

    #[test]
    fn slot_is_32_bytes() {
        assert_eq!(core::mem::size_of::<Slot>(), 32);
        assert_eq!(core::mem::size_of::<Option<SlotAddr>>(), 8);
        assert_eq!(core::mem::size_of::<MdbNode>(), 16);
        assert_eq!(Slot::default(), Slot::EMPTY);
        assert_eq!(Slot::EMPTY.cap(), Cap::Null);
    }

    #[test]
    fn slot_addresses_are_checked() {
        assert_eq!(SlotAddr::new(0), None);
        assert_eq!(SlotAddr::new(0x4000_0010), None);
        assert_eq!(SlotAddr::new(1 << 48), None);
        assert_eq!(slot(0x4000_0020).addr(), 0x4000_0020);
        assert_eq!(slot(0x4000_0000).offset(3), Some(slot(0x4000_0060)));
        assert_eq!(slot(0x4000_0000).offset(u64::MAX), None);
        assert_eq!(slot(0xffff_ffff_ffe0).offset(1), None);
    }

    #[test]
    fn mdb_fields_are_independent() {
        let prev = Some(slot(0xffff_ffff_ffe0));
        let next = Some(slot(0x20));
        for revocable in [false, true] {
            for first_badged in [false, true] {
                let node = MdbNode::EMPTY
                    .with_revocable(revocable)
                    .with_next(next)
                    .with_first_badged(first_badged)
                    .with_prev(prev);
                assert_eq!(node.prev(), prev);
                assert_eq!(node.next(), next);
                assert_eq!(node.revocable(), revocable);
                assert_eq!(node.first_badged(), first_badged);
                assert_eq!(MdbNode::from_words(node.words()), node);
                let cleared = node.with_prev(None).with_next(None);
                assert_eq!(cleared.prev(), None);
                assert_eq!(cleared.next(), None);
                assert_eq!(cleared.revocable(), revocable);
                assert_eq!(cleared.first_badged(), first_badged);
            }
        }
    }

    #[test]
    fn slot_keeps_cap_and_links() {
        let cap = Cap::Thread { ptr: 0x4000_0800 };
        let mut value = Slot::new(&cap, MdbNode::EMPTY.with_revocable(true));
        assert_eq!(value.cap(), cap);
        value.set_cap(&Cap::Domain);
        assert_eq!(value.cap(), Cap::Domain);
        assert!(value.mdb.revocable());
    }
}
