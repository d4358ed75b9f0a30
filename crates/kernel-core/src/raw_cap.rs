//! Single-variant cap readers over a slot's two words, for the kernel's hot paths: each
//! reads one variant's fields straight from the encoding (see [`crate::cap`]) instead of
//! through [`Cap::decode`](crate::Cap::decode), a 16-way match that also builds every
//! other variant's fields and costs 25-40 instructions per cap.
//!
//! Each reader answers `Some` exactly when `Cap::decode` gives its variant, with the same
//! fields, and `None` for everything else, including words `Cap::decode` turns into Null.
//! A caller that gets `None` can therefore fall back to the general path, which decodes
//! and reports properly. The property tests below check that agreement on arbitrary
//! words and on the encoding of arbitrary caps.

use sel4::CapTag;

use crate::cap::{FrameSize, Mapping, VmRights, PADDR_BITS};

/// Word 0 bits 63..59: the cap's tag.
const TAG_SHIFT: u32 = 59;
/// Bits 47..0: a physical address.
const PADDR_MASK: u64 = (1 << PADDR_BITS) - 1;
/// Bits 35..0 of frame, page-table and VSpace caps: the address in 4 KiB units.
const PAGE_FRAME_MASK: u64 = (1 << (PADDR_BITS - sel4::PAGE_BITS)) - 1;
/// Bits 42..0 of CNode caps: the address in 32-byte (slot) units.
const CNODE_FRAME_MASK: u64 = (1 << (PADDR_BITS - sel4::SLOT_BITS)) - 1;
/// Bits 43..0 of untyped caps: the watermark in 16-byte units.
const UNTYPED_UNITS_MASK: u64 = (1 << 44) - 1;
/// Bits 51..36: an ASID.
const ASID_SHIFT: u32 = 36;

/// The tag bits of word 0 (a [`CapTag`] value, or an unknown one).
#[inline(always)]
pub const fn tag(words: [u64; 2]) -> u64 {
    words[0] >> TAG_SHIFT
}

#[inline(always)]
const fn has_tag(words: [u64; 2], expected: CapTag) -> bool {
    tag(words) == expected as u64
}

#[inline(always)]
const fn bit(word: u64, index: u32) -> bool {
    (word >> index) & 1 != 0
}

/// Whether the words hold the null cap (an empty slot). Words with an unknown tag, which
/// decode to Null too, are not "null" here: the kernel never writes them.
#[inline(always)]
pub const fn is_null(words: [u64; 2]) -> bool {
    has_tag(words, CapTag::Null)
}

/// An endpoint cap's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointCap {
    pub ptr: u64,
    pub badge: u64,
    pub can_send: bool,
    pub can_receive: bool,
    pub can_grant: bool,
    pub can_grant_reply: bool,
}

/// The endpoint cap in `words`, if it is one.
#[inline(always)]
pub const fn endpoint(words: [u64; 2]) -> Option<EndpointCap> {
    if !has_tag(words, CapTag::Endpoint) {
        return None;
    }
    Some(EndpointCap {
        ptr: words[0] & PADDR_MASK,
        badge: words[1],
        can_send: bit(words[0], 55),
        can_receive: bit(words[0], 56),
        can_grant: bit(words[0], 57),
        can_grant_reply: bit(words[0], 58),
    })
}

/// A reply cap's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyCap {
    pub tcb: u64,
    pub is_master: bool,
    pub can_grant: bool,
}

/// The reply cap in `words`, if it is one.
#[inline(always)]
pub const fn reply(words: [u64; 2]) -> Option<ReplyCap> {
    if !has_tag(words, CapTag::Reply) {
        return None;
    }
    Some(ReplyCap {
        tcb: words[0] & PADDR_MASK,
        is_master: bit(words[0], 58),
        can_grant: bit(words[0], 57),
    })
}

/// The words of a (non-master) reply cap to `tcb`: what `Cap::encode` gives for
/// `Cap::Reply { tcb, is_master: false, can_grant }`.
#[inline(always)]
pub const fn reply_words(tcb: u64, can_grant: bool) -> [u64; 2] {
    [
        (CapTag::Reply as u64) << TAG_SHIFT | (can_grant as u64) << 57 | (tcb & PADDR_MASK),
        0,
    ]
}

/// A CNode cap's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CNodeCap {
    pub ptr: u64,
    /// 0..=63.
    pub radix: u32,
    /// 0..=64.
    pub guard_size: u32,
    pub guard: u64,
}

/// The CNode cap in `words`, if it is one that decodes (guard at most 64 bits, non-zero
/// address).
#[inline(always)]
pub const fn cnode(words: [u64; 2]) -> Option<CNodeCap> {
    if !has_tag(words, CapTag::CNode) {
        return None;
    }
    let guard_size = ((words[0] >> 46) & 0x7f) as u32;
    let ptr = (words[0] & CNODE_FRAME_MASK) << sel4::SLOT_BITS;
    if guard_size > u64::BITS || ptr == 0 {
        return None;
    }
    Some(CNodeCap {
        ptr,
        radix: ((words[0] >> 53) & 0x3f) as u32,
        guard_size,
        guard: words[1],
    })
}

/// A VSpace cap's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VSpaceCap {
    pub ptr: u64,
    pub asid: Option<u16>,
}

/// The VSpace cap in `words`, if it is one.
#[inline(always)]
pub const fn vspace(words: [u64; 2]) -> Option<VSpaceCap> {
    if !has_tag(words, CapTag::VSpace) {
        return None;
    }
    Some(VSpaceCap {
        ptr: (words[0] & PAGE_FRAME_MASK) << sel4::PAGE_BITS,
        asid: if bit(words[0], 53) {
            Some(asid_field(words[0]))
        } else {
            None
        },
    })
}

/// The TTBR0 value (table address | ASID << 48) of the VSpace cap in `words`, if it is a
/// VSpace cap with an ASID: what the scheduler installs for a thread.
#[inline(always)]
pub const fn vspace_root(words: [u64; 2]) -> Option<u64> {
    if !has_tag(words, CapTag::VSpace) || !bit(words[0], 53) {
        return None;
    }
    let asid = (words[0] >> ASID_SHIFT) & 0xffff;
    Some((words[0] & PAGE_FRAME_MASK) << sel4::PAGE_BITS | asid << 48)
}

/// A frame cap's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameCap {
    pub paddr: u64,
    pub size: FrameSize,
    pub rights: VmRights,
    pub is_device: bool,
    pub mapping: Option<Mapping>,
}

/// The frame cap in `words`, if it is one that decodes (defined size and rights).
#[inline(always)]
pub const fn frame(words: [u64; 2]) -> Option<FrameCap> {
    if !has_tag(words, CapTag::Frame) {
        return None;
    }
    let size = match (words[0] >> 57) & 0b11 {
        0 => FrameSize::Small,
        1 => FrameSize::Large,
        2 => FrameSize::Huge,
        _ => return None,
    };
    let rights = match (words[0] >> 55) & 0b11 {
        1 => VmRights::KernelOnly,
        2 => VmRights::ReadOnly,
        3 => VmRights::ReadWrite,
        _ => return None,
    };
    Some(FrameCap {
        paddr: (words[0] & PAGE_FRAME_MASK) << sel4::PAGE_BITS,
        size,
        rights,
        is_device: bit(words[0], 54),
        mapping: if bit(words[0], 53) {
            Some(Mapping {
                asid: asid_field(words[0]),
                vaddr: words[1],
            })
        } else {
            None
        },
    })
}

/// The words of the frame cap `frame`: what `Cap::encode` gives for the same
/// `Cap::Frame` (an address's bits below 4 KiB and above 2^48 are dropped).
#[inline(always)]
pub const fn frame_words(frame: FrameCap) -> [u64; 2] {
    let size = match frame.size {
        FrameSize::Small => 0,
        FrameSize::Large => 1,
        FrameSize::Huge => 2,
    };
    let (mapped, asid, vaddr) = match frame.mapping {
        Some(Mapping { asid, vaddr }) => (1, asid as u64, vaddr),
        None => (0, 0, 0),
    };
    [
        (CapTag::Frame as u64) << TAG_SHIFT
            | size << 57
            | (frame.rights as u64) << 55
            | (frame.is_device as u64) << 54
            | mapped << 53
            | asid << ASID_SHIFT
            | (frame.paddr >> sel4::PAGE_BITS) & PAGE_FRAME_MASK,
        vaddr,
    ]
}

/// An untyped cap's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UntypedCap {
    pub paddr: u64,
    /// `sel4::MIN_UNTYPED_BITS..=sel4::MAX_UNTYPED_BITS`.
    pub size_bits: u32,
    pub is_device: bool,
    /// Bytes from `paddr` already handed out, at most `2^size_bits`.
    pub free_index: u64,
}

/// The untyped cap in `words`, if it is one that decodes (size in range, aligned base,
/// watermark inside).
#[inline(always)]
pub const fn untyped(words: [u64; 2]) -> Option<UntypedCap> {
    if !has_tag(words, CapTag::Untyped) {
        return None;
    }
    let size_bits = ((words[0] >> 52) & 0x3f) as u32;
    if size_bits < sel4::MIN_UNTYPED_BITS || size_bits > sel4::MAX_UNTYPED_BITS {
        return None;
    }
    // size_bits <= 47 here, so the shifts below are in range.
    let free_index = (words[0] & UNTYPED_UNITS_MASK) << sel4::MIN_UNTYPED_BITS;
    let paddr = words[1] & PADDR_MASK;
    if free_index > 1 << size_bits || paddr & ((1 << size_bits) - 1) != 0 {
        return None;
    }
    Some(UntypedCap {
        paddr,
        size_bits,
        is_device: bit(words[0], 58),
        free_index,
    })
}

#[inline(always)]
const fn asid_field(word: u64) -> u16 {
    ((word >> ASID_SHIFT) & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::{Cap, ZombieType};
    use proptest::prelude::*;

    /// What each reader should answer, computed from `Cap::decode`.
    fn expected_endpoint(cap: Cap) -> Option<EndpointCap> {
        match cap {
            Cap::Endpoint {
                ptr,
                badge,
                can_send,
                can_receive,
                can_grant,
                can_grant_reply,
            } => Some(EndpointCap {
                ptr,
                badge,
                can_send,
                can_receive,
                can_grant,
                can_grant_reply,
            }),
            _ => None,
        }
    }

    fn expected_reply(cap: Cap) -> Option<ReplyCap> {
        match cap {
            Cap::Reply {
                tcb,
                is_master,
                can_grant,
            } => Some(ReplyCap {
                tcb,
                is_master,
                can_grant,
            }),
            _ => None,
        }
    }

    fn expected_cnode(cap: Cap) -> Option<CNodeCap> {
        match cap {
            Cap::CNode {
                ptr,
                radix,
                guard_size,
                guard,
            } => Some(CNodeCap {
                ptr,
                radix: radix.into(),
                guard_size: guard_size.into(),
                guard,
            }),
            _ => None,
        }
    }

    fn expected_vspace(cap: Cap) -> Option<VSpaceCap> {
        match cap {
            Cap::VSpace { ptr, asid } => Some(VSpaceCap { ptr, asid }),
            _ => None,
        }
    }

    fn expected_vspace_root(cap: Cap) -> Option<u64> {
        match cap {
            Cap::VSpace {
                ptr,
                asid: Some(asid),
            } => Some(ptr | u64::from(asid) << 48),
            _ => None,
        }
    }

    fn expected_frame(cap: Cap) -> Option<FrameCap> {
        match cap {
            Cap::Frame {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            } => Some(FrameCap {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            }),
            _ => None,
        }
    }

    fn expected_untyped(cap: Cap) -> Option<UntypedCap> {
        match cap {
            Cap::Untyped {
                paddr,
                size_bits,
                is_device,
                free_index,
            } => Some(UntypedCap {
                paddr,
                size_bits: size_bits.into(),
                is_device,
                free_index,
            }),
            _ => None,
        }
    }

    /// Every reader agrees with `Cap::decode` on `words`.
    fn check_agreement(words: [u64; 2]) {
        let cap = Cap::decode(words);
        assert_eq!(endpoint(words), expected_endpoint(cap), "{words:#x?}");
        assert_eq!(reply(words), expected_reply(cap), "{words:#x?}");
        assert_eq!(cnode(words), expected_cnode(cap), "{words:#x?}");
        assert_eq!(vspace(words), expected_vspace(cap), "{words:#x?}");
        assert_eq!(vspace_root(words), expected_vspace_root(cap), "{words:#x?}");
        assert_eq!(frame(words), expected_frame(cap), "{words:#x?}");
        assert_eq!(untyped(words), expected_untyped(cap), "{words:#x?}");
        // Only a Null tag is "null"; unknown tags also decode to Null but are never
        // written by the kernel, and the readers above reject them all the same.
        assert_eq!(is_null(words), tag(words) == CapTag::Null as u64);
        if is_null(words) {
            assert_eq!(cap, Cap::Null);
        }
        if !cap.is_null() {
            assert_eq!(tag(words), cap.tag() as u64);
        }
    }

    fn address() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            any::<u64>(),
            (0u64..1 << PADDR_BITS),
            Just((1 << PADDR_BITS) - 1)
        ]
    }

    fn mapping() -> impl Strategy<Value = Option<Mapping>> {
        proptest::option::of(
            (any::<u16>(), any::<u64>()).prop_map(|(asid, vaddr)| Mapping { asid, vaddr }),
        )
    }

    fn frame_size() -> impl Strategy<Value = FrameSize> {
        prop_oneof![
            Just(FrameSize::Small),
            Just(FrameSize::Large),
            Just(FrameSize::Huge)
        ]
    }

    fn vm_rights() -> impl Strategy<Value = VmRights> {
        prop_oneof![
            Just(VmRights::KernelOnly),
            Just(VmRights::ReadOnly),
            Just(VmRights::ReadWrite)
        ]
    }

    /// Frame caps with arbitrary fields.
    fn any_frame() -> impl Strategy<Value = FrameCap> {
        (
            address(),
            frame_size(),
            vm_rights(),
            any::<bool>(),
            mapping(),
        )
            .prop_map(|(paddr, size, rights, is_device, mapping)| FrameCap {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            })
    }

    /// Caps of every variant with arbitrary fields (not only well-formed ones: `encode`
    /// truncates fields to their widths, which the agreement check must survive too).
    fn any_cap() -> impl Strategy<Value = Cap> {
        prop_oneof![
            Just(Cap::Null),
            (address(), 0u8..64, any::<bool>(), any::<u64>()).prop_map(
                |(paddr, size_bits, is_device, free_index)| Cap::Untyped {
                    paddr,
                    size_bits,
                    is_device,
                    free_index,
                }
            ),
            (address(), any::<u64>(), any::<[bool; 4]>()).prop_map(|(ptr, badge, rights)| {
                Cap::Endpoint {
                    ptr,
                    badge,
                    can_send: rights[0],
                    can_receive: rights[1],
                    can_grant: rights[2],
                    can_grant_reply: rights[3],
                }
            }),
            (address(), any::<u64>(), any::<[bool; 2]>()).prop_map(|(ptr, badge, rights)| {
                Cap::Notification {
                    ptr,
                    badge,
                    can_send: rights[0],
                    can_receive: rights[1],
                }
            }),
            (address(), any::<bool>(), any::<bool>()).prop_map(|(tcb, is_master, can_grant)| {
                Cap::Reply {
                    tcb,
                    is_master,
                    can_grant,
                }
            }),
            (address(), 0u8..64, 0u8..=64, any::<u64>()).prop_map(
                |(ptr, radix, guard_size, guard)| Cap::CNode {
                    ptr,
                    radix,
                    guard_size,
                    guard,
                }
            ),
            address().prop_map(|ptr| Cap::Thread { ptr }),
            Just(Cap::IrqControl),
            any::<u64>().prop_map(|irq| Cap::IrqHandler { irq }),
            (address(), proptest::option::of(0u8..64), any::<u64>()).prop_map(
                |(ptr, radix, remaining)| Cap::Zombie {
                    ptr,
                    zombie_type: radix.map_or(ZombieType::Tcb, |radix| ZombieType::CNode { radix }),
                    remaining,
                }
            ),
            Just(Cap::Domain),
            any_frame().prop_map(|frame| Cap::Frame {
                paddr: frame.paddr,
                size: frame.size,
                rights: frame.rights,
                is_device: frame.is_device,
                mapping: frame.mapping,
            }),
            (address(), mapping()).prop_map(|(ptr, mapping)| Cap::PageTable { ptr, mapping }),
            (address(), proptest::option::of(any::<u16>()))
                .prop_map(|(ptr, asid)| Cap::VSpace { ptr, asid }),
            Just(Cap::AsidControl),
            (address(), any::<u16>()).prop_map(|(ptr, asid_base)| Cap::AsidPool { ptr, asid_base }),
        ]
    }

    /// Words with a tag drawn mostly from the defined ones, and everything else random.
    fn any_words() -> impl Strategy<Value = [u64; 2]> {
        (0u64..32, any::<u64>(), any::<u64>())
            .prop_map(|(tag, low, word1)| [tag << TAG_SHIFT | (low >> 5), word1])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn readers_agree_with_decode_on_encoded_caps(cap in any_cap()) {
            check_agreement(cap.encode());
        }

        #[test]
        fn readers_agree_with_decode_on_arbitrary_words(words in any_words()) {
            check_agreement(words);
        }

        #[test]
        fn frame_words_match_encode(frame in any_frame()) {
            let FrameCap { paddr, size, rights, is_device, mapping } = frame;
            let cap = Cap::Frame { paddr, size, rights, is_device, mapping };
            prop_assert_eq!(frame_words(frame), cap.encode());
        }

        #[test]
        fn reply_words_match_encode(tcb in address(), can_grant in any::<bool>()) {
            let cap = Cap::Reply { tcb, is_master: false, can_grant };
            prop_assert_eq!(reply_words(tcb, can_grant), cap.encode());
        }
    }

    #[test]
    fn edge_encodings_agree() {
        // The boundaries the readers check by hand: CNode guards of 64 and 65 bits and a
        // zero CNode address; undefined frame size and rights codes; untyped sizes just
        // inside and outside the range, a full watermark and one unit past it.
        let tag_word = |tag: CapTag| (tag as u64) << TAG_SHIFT;
        let cases = [
            [tag_word(CapTag::CNode) | 64 << 46 | 1, 0],
            [tag_word(CapTag::CNode) | 65 << 46 | 1, 0],
            [tag_word(CapTag::CNode) | 12 << 53, 0],
            [tag_word(CapTag::Frame) | 3 << 57 | 3 << 55, 0],
            [tag_word(CapTag::Frame), 0],
            [tag_word(CapTag::Untyped) | 4 << 52 | 1, 0x10],
            [tag_word(CapTag::Untyped) | 3 << 52, 0],
            [tag_word(CapTag::Untyped) | 47 << 52, 1 << 47],
            [tag_word(CapTag::Untyped) | 48 << 52, 0],
            [tag_word(CapTag::Untyped) | 12 << 52 | 256, 0x4000_0000],
            [tag_word(CapTag::Untyped) | 12 << 52 | 257, 0x4000_0000],
            [tag_word(CapTag::Untyped) | 12 << 52, 0x4000_0800],
            [
                tag_word(CapTag::VSpace) | 1 << 53 | 0xffff << 36 | 0x4_0000,
                0,
            ],
            [u64::MAX, u64::MAX],
            [0, u64::MAX],
        ];
        for words in cases {
            check_agreement(words);
        }
        assert!(cnode(cases[0]).is_some());
        assert!(untyped(cases[9]).is_some());
        assert!(untyped(cases[10]).is_none());
    }
}
