//! The kernel's internal capability representation and its two-word encoding in a slot.
//!
//! A [`Cap`] names one kernel object (or a piece of authority without an object, such as
//! IrqControl) and the rights held over it. Slots store caps as two words, produced by
//! [`Cap::encode`] and read back by [`Cap::decode`].
//!
//! # Encoding
//!
//! Word 0 bits 63..59 always hold the [`CapTag`] value (so an all-zero slot is Null and
//! the tag matches what DebugCapIdentify reports). The remaining bits, per variant
//! (`[hi:lo]` are bit ranges; "addr" fields store physical addresses, which are below
//! 2^48 on this platform, so only bits 47..0 are kept):
//!
//! | variant | word 0 | word 1 |
//! |---|---|---|
//! | Untyped | `[58]` is_device, `[57:52]` size_bits, `[43:0]` free_index / 16 | paddr |
//! | Endpoint | `[58]` grant_reply, `[57]` grant, `[56]` receive, `[55]` send, `[47:0]` ptr | badge |
//! | Notification | `[56]` receive, `[55]` send, `[47:0]` ptr | badge |
//! | Reply | `[58]` is_master, `[57]` can_grant, `[47:0]` tcb | 0 |
//! | CNode | `[58:53]` radix, `[52:46]` guard_size, `[42:0]` ptr / 32 | guard |
//! | Thread | `[47:0]` ptr | 0 |
//! | IrqControl, Domain, AsidControl | — | 0 |
//! | IrqHandler | — | irq |
//! | Zombie | `[58:52]` 64 for a TCB or the CNode radix, `[47:0]` ptr | remaining |
//! | Frame | `[58:57]` size, `[56:55]` rights, `[54]` is_device, `[53]` mapped, `[51:36]` asid, `[35:0]` paddr / 4096 | vaddr |
//! | PageTable | `[53]` mapped, `[51:36]` asid, `[35:0]` ptr / 4096 | vaddr |
//! | VSpace | `[53]` has asid, `[51:36]` asid, `[35:0]` ptr / 4096 | 0 |
//! | AsidPool | `[51:36]` asid_base, `[35:0]` ptr / 4096 | 0 |
//!
//! Fields are truncated to their widths on encode; the low bits dropped from aligned
//! addresses are zero for every cap the kernel builds (objects are naturally aligned).
//! An untyped's `free_index` is kept in 16-byte units, rounded *up* and clamped to the
//! untyped's size on encode, so a malformed watermark can only make less memory
//! available, never hand out used memory.
//!
//! [`Cap::decode`] is total: an unknown tag, or a field combination the kernel never
//! builds (an untyped outside 4..=47 bits or misaligned, a watermark past the end, an
//! undefined frame size or VM rights value, a guard wider than 64 bits, a CNode at
//! address 0), decodes to [`Cap::Null`].

use sel4::CapTag;

use crate::bits::{field, is_aligned, mask, place, shift_left};

/// Bits of a physical address kept in a cap (physical addresses are below 2^48).
pub const PADDR_BITS: u32 = 48;

/// The kernel's view of one capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Cap {
    /// An empty slot.
    #[default]
    Null,
    /// A block of untyped memory `[paddr, paddr + 2^size_bits)`, naturally aligned.
    Untyped {
        paddr: u64,
        /// `sel4::MIN_UNTYPED_BITS..=sel4::MAX_UNTYPED_BITS`.
        size_bits: u8,
        /// Device memory: retypes only into frames and untyped, and is never zeroed.
        is_device: bool,
        /// The watermark: bytes from `paddr` already handed out, a multiple of 16,
        /// at most `2^size_bits`.
        free_index: u64,
    },
    Endpoint {
        ptr: u64,
        badge: u64,
        can_send: bool,
        can_receive: bool,
        can_grant: bool,
        can_grant_reply: bool,
    },
    Notification {
        ptr: u64,
        badge: u64,
        can_send: bool,
        can_receive: bool,
    },
    /// A reply cap (non-MCS): the master reply cap lives in the TCB's reply slot, the
    /// caller cap in the caller slot of the thread it lets reply.
    Reply {
        tcb: u64,
        is_master: bool,
        can_grant: bool,
    },
    /// A CNode of `2^radix` slots at `ptr`, entered by matching `guard_size` bits against
    /// `guard`.
    CNode {
        ptr: u64,
        /// 0..=63.
        radix: u8,
        /// 0..=64.
        guard_size: u8,
        guard: u64,
    },
    Thread {
        ptr: u64,
    },
    IrqControl,
    IrqHandler {
        irq: u64,
    },
    /// A TCB or CNode part-way through deletion: `remaining` slots still to clear.
    Zombie {
        ptr: u64,
        zombie_type: ZombieType,
        remaining: u64,
    },
    Domain,
    Frame {
        paddr: u64,
        size: FrameSize,
        rights: VmRights,
        is_device: bool,
        mapping: Option<Mapping>,
    },
    PageTable {
        ptr: u64,
        mapping: Option<Mapping>,
    },
    VSpace {
        ptr: u64,
        asid: Option<u16>,
    },
    AsidControl,
    AsidPool {
        ptr: u64,
        asid_base: u16,
    },
}

/// The size of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameSize {
    /// 4 KiB.
    Small,
    /// 2 MiB.
    Large,
    /// 1 GiB.
    Huge,
}

impl FrameSize {
    /// log2 of the size in bytes.
    pub const fn bits(self) -> u32 {
        match self {
            FrameSize::Small => sel4::PAGE_BITS,
            FrameSize::Large => sel4::LARGE_PAGE_BITS,
            FrameSize::Huge => sel4::HUGE_PAGE_BITS,
        }
    }

    /// The frame size a retype of `object_type` creates, if it is a frame type.
    pub const fn from_object_type(object_type: sel4::ObjectType) -> Option<Self> {
        match object_type {
            sel4::ObjectType::SmallPage => Some(FrameSize::Small),
            sel4::ObjectType::LargePage => Some(FrameSize::Large),
            sel4::ObjectType::HugePage => Some(FrameSize::Huge),
            _ => None,
        }
    }

    const fn code(self) -> u64 {
        match self {
            FrameSize::Small => 0,
            FrameSize::Large => 1,
            FrameSize::Huge => 2,
        }
    }

    const fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(FrameSize::Small),
            1 => Some(FrameSize::Large),
            2 => Some(FrameSize::Huge),
            _ => None,
        }
    }
}

/// A frame cap's rights, as seL4's `vm_rights` (values as in seL4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum VmRights {
    KernelOnly = 1,
    ReadOnly = 2,
    ReadWrite = 3,
}

impl VmRights {
    /// seL4's `maskVMRights`: the rights left after applying a user rights mask. Write
    /// without read is not expressible and becomes KernelOnly.
    pub const fn masked(self, mask: sel4::CapRights) -> Self {
        match self {
            VmRights::ReadOnly if mask.can_read() => VmRights::ReadOnly,
            VmRights::ReadWrite if mask.can_read() && mask.can_write() => VmRights::ReadWrite,
            VmRights::ReadWrite if mask.can_read() => VmRights::ReadOnly,
            _ => VmRights::KernelOnly,
        }
    }

    /// Whether user mappings may read (ReadOnly, ReadWrite).
    pub const fn user_can_read(self) -> bool {
        matches!(self, VmRights::ReadOnly | VmRights::ReadWrite)
    }

    /// Whether user mappings may write (ReadWrite).
    pub const fn user_can_write(self) -> bool {
        matches!(self, VmRights::ReadWrite)
    }

    const fn from_code(code: u64) -> Option<Self> {
        match code {
            1 => Some(VmRights::KernelOnly),
            2 => Some(VmRights::ReadOnly),
            3 => Some(VmRights::ReadWrite),
            _ => None,
        }
    }
}

/// Where a frame or page table is mapped: the address space and virtual address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub asid: u16,
    pub vaddr: u64,
}

/// What a Zombie cap is destroying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZombieType {
    Tcb,
    CNode { radix: u8 },
}

// Word 0 layout constants (see the module documentation).
const TAG_SHIFT: u32 = 59;
const TAG_BITS: u32 = 5;
const UNTYPED_FREE_INDEX_UNIT_BITS: u32 = sel4::MIN_UNTYPED_BITS;
const CNODE_PTR_SHIFT: u32 = sel4::SLOT_BITS;
const PAGE_SHIFT: u32 = sel4::PAGE_BITS;
const ZOMBIE_TCB_CODE: u64 = 64;

impl Cap {
    /// Packs the cap into the two words a slot stores (see the module documentation).
    pub fn encode(&self) -> [u64; 2] {
        let tag = place(self.tag() as u64, TAG_SHIFT, TAG_BITS);
        match *self {
            Cap::Null => [0, 0],
            Cap::Untyped {
                paddr,
                size_bits,
                is_device,
                free_index,
            } => {
                // Clamped to the size so a bad watermark cannot make the cap undecodable.
                let units = free_index
                    .min(shift_left(1, size_bits.into()))
                    .div_ceil(1 << UNTYPED_FREE_INDEX_UNIT_BITS);
                [
                    tag | place(is_device as u64, 58, 1)
                        | place(size_bits as u64, 52, 6)
                        | place(units, 0, 44),
                    paddr & mask(PADDR_BITS),
                ]
            }
            Cap::Endpoint {
                ptr,
                badge,
                can_send,
                can_receive,
                can_grant,
                can_grant_reply,
            } => [
                tag | place(can_grant_reply as u64, 58, 1)
                    | place(can_grant as u64, 57, 1)
                    | place(can_receive as u64, 56, 1)
                    | place(can_send as u64, 55, 1)
                    | place(ptr, 0, PADDR_BITS),
                badge,
            ],
            Cap::Notification {
                ptr,
                badge,
                can_send,
                can_receive,
            } => [
                tag | place(can_receive as u64, 56, 1)
                    | place(can_send as u64, 55, 1)
                    | place(ptr, 0, PADDR_BITS),
                badge,
            ],
            Cap::Reply {
                tcb,
                is_master,
                can_grant,
            } => [
                tag | place(is_master as u64, 58, 1)
                    | place(can_grant as u64, 57, 1)
                    | place(tcb, 0, PADDR_BITS),
                0,
            ],
            Cap::CNode {
                ptr,
                radix,
                guard_size,
                guard,
            } => [
                tag | place(radix as u64, 53, 6)
                    | place(guard_size as u64, 46, 7)
                    | place(ptr >> CNODE_PTR_SHIFT, 0, PADDR_BITS - CNODE_PTR_SHIFT),
                guard,
            ],
            Cap::Thread { ptr } => [tag | place(ptr, 0, PADDR_BITS), 0],
            Cap::IrqControl | Cap::Domain | Cap::AsidControl => [tag, 0],
            Cap::IrqHandler { irq } => [tag, irq],
            Cap::Zombie {
                ptr,
                zombie_type,
                remaining,
            } => {
                let code = match zombie_type {
                    ZombieType::Tcb => ZOMBIE_TCB_CODE,
                    ZombieType::CNode { radix } => radix as u64 & mask(6),
                };
                [
                    tag | place(code, 52, 7) | place(ptr, 0, PADDR_BITS),
                    remaining,
                ]
            }
            Cap::Frame {
                paddr,
                size,
                rights,
                is_device,
                mapping,
            } => {
                let (mapped, asid, vaddr) = split_mapping(mapping);
                [
                    tag | place(size.code(), 57, 2)
                        | place(rights as u64, 55, 2)
                        | place(is_device as u64, 54, 1)
                        | place(mapped, 53, 1)
                        | place(asid, 36, 16)
                        | place(paddr >> PAGE_SHIFT, 0, PADDR_BITS - PAGE_SHIFT),
                    vaddr,
                ]
            }
            Cap::PageTable { ptr, mapping } => {
                let (mapped, asid, vaddr) = split_mapping(mapping);
                [
                    tag | place(mapped, 53, 1)
                        | place(asid, 36, 16)
                        | place(ptr >> PAGE_SHIFT, 0, PADDR_BITS - PAGE_SHIFT),
                    vaddr,
                ]
            }
            Cap::VSpace { ptr, asid } => [
                tag | place(asid.is_some() as u64, 53, 1)
                    | place(asid.unwrap_or(0) as u64, 36, 16)
                    | place(ptr >> PAGE_SHIFT, 0, PADDR_BITS - PAGE_SHIFT),
                0,
            ],
            Cap::AsidPool { ptr, asid_base } => [
                tag | place(asid_base as u64, 36, 16)
                    | place(ptr >> PAGE_SHIFT, 0, PADDR_BITS - PAGE_SHIFT),
                0,
            ],
        }
    }

    /// Unpacks two slot words. Total: anything the kernel would never have encoded
    /// decodes to [`Cap::Null`] (see the module documentation).
    pub fn decode(words: [u64; 2]) -> Cap {
        let [word0, word1] = words;
        let flag = |bit: u32| field(word0, bit, 1) != 0;
        let Some(tag) = CapTag::from_word(field(word0, TAG_SHIFT, TAG_BITS)) else {
            return Cap::Null;
        };
        let low_paddr = field(word0, 0, PADDR_BITS);
        let page_paddr = shift_left(field(word0, 0, PADDR_BITS - PAGE_SHIFT), PAGE_SHIFT);
        let asid = field(word0, 36, 16) as u16;
        match tag {
            CapTag::Null | CapTag::Smc => Cap::Null,
            CapTag::Untyped => {
                let size_bits = field(word0, 52, 6) as u32;
                let free_index = shift_left(field(word0, 0, 44), UNTYPED_FREE_INDEX_UNIT_BITS);
                let paddr = word1 & mask(PADDR_BITS);
                let valid = (sel4::MIN_UNTYPED_BITS..=sel4::MAX_UNTYPED_BITS).contains(&size_bits)
                    && free_index <= shift_left(1, size_bits)
                    && is_aligned(paddr, size_bits);
                if !valid {
                    return Cap::Null;
                }
                Cap::Untyped {
                    paddr,
                    size_bits: size_bits as u8,
                    is_device: flag(58),
                    free_index,
                }
            }
            CapTag::Endpoint => Cap::Endpoint {
                ptr: low_paddr,
                badge: word1,
                can_send: flag(55),
                can_receive: flag(56),
                can_grant: flag(57),
                can_grant_reply: flag(58),
            },
            CapTag::Notification => Cap::Notification {
                ptr: low_paddr,
                badge: word1,
                can_send: flag(55),
                can_receive: flag(56),
            },
            CapTag::Reply => Cap::Reply {
                tcb: low_paddr,
                is_master: flag(58),
                can_grant: flag(57),
            },
            CapTag::CNode => {
                let guard_size = field(word0, 46, 7);
                let ptr = shift_left(
                    field(word0, 0, PADDR_BITS - CNODE_PTR_SHIFT),
                    CNODE_PTR_SHIFT,
                );
                if guard_size > 64 || ptr == 0 {
                    return Cap::Null;
                }
                Cap::CNode {
                    ptr,
                    radix: field(word0, 53, 6) as u8,
                    guard_size: guard_size as u8,
                    guard: word1,
                }
            }
            CapTag::Thread => Cap::Thread { ptr: low_paddr },
            CapTag::IrqControl => Cap::IrqControl,
            CapTag::IrqHandler => Cap::IrqHandler { irq: word1 },
            CapTag::Zombie => {
                let zombie_type = match field(word0, 52, 7) {
                    ZOMBIE_TCB_CODE => ZombieType::Tcb,
                    radix @ 0..=63 => ZombieType::CNode { radix: radix as u8 },
                    _ => return Cap::Null,
                };
                Cap::Zombie {
                    ptr: low_paddr,
                    zombie_type,
                    remaining: word1,
                }
            }
            CapTag::Domain => Cap::Domain,
            CapTag::Frame => {
                let (Some(size), Some(rights)) = (
                    FrameSize::from_code(field(word0, 57, 2)),
                    VmRights::from_code(field(word0, 55, 2)),
                ) else {
                    return Cap::Null;
                };
                Cap::Frame {
                    paddr: page_paddr,
                    size,
                    rights,
                    is_device: flag(54),
                    mapping: join_mapping(flag(53), asid, word1),
                }
            }
            CapTag::PageTable => Cap::PageTable {
                ptr: page_paddr,
                mapping: join_mapping(flag(53), asid, word1),
            },
            CapTag::VSpace => Cap::VSpace {
                ptr: page_paddr,
                asid: flag(53).then_some(asid),
            },
            CapTag::AsidControl => Cap::AsidControl,
            CapTag::AsidPool => Cap::AsidPool {
                ptr: page_paddr,
                asid_base: asid,
            },
        }
    }

    /// The tag DebugCapIdentify reports for this cap.
    pub const fn tag(&self) -> CapTag {
        match self {
            Cap::Null => CapTag::Null,
            Cap::Untyped { .. } => CapTag::Untyped,
            Cap::Endpoint { .. } => CapTag::Endpoint,
            Cap::Notification { .. } => CapTag::Notification,
            Cap::Reply { .. } => CapTag::Reply,
            Cap::CNode { .. } => CapTag::CNode,
            Cap::Thread { .. } => CapTag::Thread,
            Cap::IrqControl => CapTag::IrqControl,
            Cap::IrqHandler { .. } => CapTag::IrqHandler,
            Cap::Zombie { .. } => CapTag::Zombie,
            Cap::Domain => CapTag::Domain,
            Cap::Frame { .. } => CapTag::Frame,
            Cap::PageTable { .. } => CapTag::PageTable,
            Cap::VSpace { .. } => CapTag::VSpace,
            Cap::AsidControl => CapTag::AsidControl,
            Cap::AsidPool { .. } => CapTag::AsidPool,
        }
    }

    /// Whether this is the null cap (an empty slot).
    pub const fn is_null(&self) -> bool {
        matches!(self, Cap::Null)
    }

    /// The physical memory the cap's object occupies, for caps that name memory
    /// (seL4's `cap_get_capIsPhysical` caps). Reply, IRQ, Domain and control caps name
    /// no memory and give `None`.
    pub const fn object_region(&self) -> Option<ObjectRegion> {
        let (base, size_bits) = match *self {
            Cap::Untyped {
                paddr, size_bits, ..
            } => (paddr, size_bits as u32),
            Cap::Endpoint { ptr, .. } => (ptr, sel4::ENDPOINT_BITS),
            Cap::Notification { ptr, .. } => (ptr, sel4::NOTIFICATION_BITS),
            Cap::CNode { ptr, radix, .. } => (ptr, radix as u32 + sel4::SLOT_BITS),
            Cap::Thread { ptr } => (ptr, sel4::TCB_BITS),
            Cap::Zombie {
                ptr, zombie_type, ..
            } => match zombie_type {
                ZombieType::Tcb => (ptr, sel4::TCB_BITS),
                ZombieType::CNode { radix } => (ptr, radix as u32 + sel4::SLOT_BITS),
            },
            Cap::Frame { paddr, size, .. } => (paddr, size.bits()),
            Cap::PageTable { ptr, .. } => (ptr, sel4::PAGE_TABLE_BITS),
            Cap::VSpace { ptr, .. } => (ptr, sel4::VSPACE_BITS),
            Cap::AsidPool { ptr, .. } => (ptr, sel4::ASID_POOL_BITS),
            Cap::Null
            | Cap::Reply { .. }
            | Cap::IrqControl
            | Cap::IrqHandler { .. }
            | Cap::Domain
            | Cap::AsidControl => return None,
        };
        Some(ObjectRegion { base, size_bits })
    }
}

/// The physical range `[base, base + 2^size_bits)` an object occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectRegion {
    pub base: u64,
    pub size_bits: u32,
}

impl ObjectRegion {
    /// The last byte of the region (saturating for malformed regions).
    pub const fn last_byte(&self) -> u64 {
        self.base.saturating_add(mask(self.size_bits))
    }

    /// Whether `other` lies entirely inside this region.
    pub const fn contains(&self, other: &ObjectRegion) -> bool {
        self.base <= other.base && other.last_byte() <= self.last_byte()
    }
}

fn split_mapping(mapping: Option<Mapping>) -> (u64, u64, u64) {
    match mapping {
        Some(Mapping { asid, vaddr }) => (1, asid as u64, vaddr),
        None => (0, 0, 0),
    }
}

fn join_mapping(mapped: bool, asid: u16, vaddr: u64) -> Option<Mapping> {
    mapped.then_some(Mapping { asid, vaddr })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP_PADDR: u64 = (1 << PADDR_BITS) - 1;

    fn round_trip(cap: Cap) {
        let words = cap.encode();
        assert_eq!(Cap::decode(words), cap, "words {:#x?}", words);
        assert_eq!(
            CapTag::from_word(words[0] >> 59),
            Some(cap.tag()),
            "tag bits of {cap:?}"
        );
    }

    fn every_bool_combination() -> impl Iterator<Item = [bool; 4]> {
        (0u8..16).map(|bits| [0, 1, 2, 3].map(|bit| bits & (1 << bit) != 0))
    }

    #[test]
    fn null_is_all_zero() {
        assert_eq!(Cap::Null.encode(), [0, 0]);
        assert_eq!(Cap::decode([0, 0]), Cap::Null);
        assert_eq!(Cap::decode([0, u64::MAX]), Cap::Null);
        assert_eq!(Cap::decode([mask(59), 0]), Cap::Null);
    }

    #[test]
    fn untyped_round_trips_at_extremes() {
        for (paddr, size_bits) in [
            (0u64, 4u8),
            (0x10, 4),
            (0x4000_0000, 30),
            (0, 47),
            (1 << 47, 47),
            (TOP_PADDR & !0xf, 4),
        ] {
            for is_device in [false, true] {
                for free_index in [0, 16, 1u64 << size_bits] {
                    round_trip(Cap::Untyped {
                        paddr,
                        size_bits,
                        is_device,
                        free_index,
                    });
                }
            }
        }
    }

    #[test]
    fn untyped_watermark_rounds_up_never_down() {
        let cap = Cap::Untyped {
            paddr: 0x4000_0000,
            size_bits: 12,
            is_device: false,
            free_index: 17,
        };
        let Cap::Untyped { free_index, .. } = Cap::decode(cap.encode()) else {
            panic!("untyped decoded as something else");
        };
        assert_eq!(free_index, 32);
        let overfull = Cap::Untyped {
            paddr: 0x4000_0000,
            size_bits: 12,
            is_device: false,
            free_index: 1 << 20,
        };
        let Cap::Untyped { free_index, .. } = Cap::decode(overfull.encode()) else {
            panic!("an over-full untyped still decodes");
        };
        assert_eq!(free_index, 1 << 12);
    }

    #[test]
    fn endpoint_and_notification_round_trip() {
        for [send, receive, grant, grant_reply] in every_bool_combination() {
            for (ptr, badge) in [(0, 0), (TOP_PADDR & !0xf, u64::MAX), (0x4000_1230, 1)] {
                round_trip(Cap::Endpoint {
                    ptr,
                    badge,
                    can_send: send,
                    can_receive: receive,
                    can_grant: grant,
                    can_grant_reply: grant_reply,
                });
                round_trip(Cap::Notification {
                    ptr: ptr & !0x1f,
                    badge,
                    can_send: send,
                    can_receive: receive,
                });
            }
        }
    }

    #[test]
    fn reply_thread_and_unit_caps_round_trip() {
        for [is_master, can_grant, _, _] in every_bool_combination() {
            round_trip(Cap::Reply {
                tcb: TOP_PADDR & !0x7ff,
                is_master,
                can_grant,
            });
        }
        round_trip(Cap::Thread { ptr: 0x4000_0800 });
        round_trip(Cap::Thread {
            ptr: TOP_PADDR & !0x7ff,
        });
        round_trip(Cap::IrqControl);
        round_trip(Cap::Domain);
        round_trip(Cap::AsidControl);
        round_trip(Cap::IrqHandler { irq: 0 });
        round_trip(Cap::IrqHandler { irq: u64::MAX });
    }

    #[test]
    fn cnode_round_trips() {
        for radix in [0u8, 1, 12, 42, 63] {
            for (guard_size, guard) in [(0u8, 0u64), (1, 1), (52, 0xabc), (64, u64::MAX)] {
                round_trip(Cap::CNode {
                    ptr: 0x4000_0000,
                    radix,
                    guard_size,
                    guard,
                });
                round_trip(Cap::CNode {
                    ptr: TOP_PADDR & !0x1f,
                    radix,
                    guard_size,
                    guard,
                });
            }
        }
    }

    #[test]
    fn zombie_round_trips() {
        for zombie_type in [
            ZombieType::Tcb,
            ZombieType::CNode { radix: 0 },
            ZombieType::CNode { radix: 63 },
        ] {
            for remaining in [0, 1, u64::MAX] {
                round_trip(Cap::Zombie {
                    ptr: 0x4000_0800,
                    zombie_type,
                    remaining,
                });
            }
        }
    }

    #[test]
    fn frame_round_trips() {
        let sizes = [FrameSize::Small, FrameSize::Large, FrameSize::Huge];
        let rights = [
            VmRights::KernelOnly,
            VmRights::ReadOnly,
            VmRights::ReadWrite,
        ];
        let mappings = [
            None,
            Some(Mapping { asid: 0, vaddr: 0 }),
            Some(Mapping {
                asid: u16::MAX,
                vaddr: sel4::USER_TOP & !0xfff,
            }),
            Some(Mapping {
                asid: 1,
                vaddr: u64::MAX,
            }),
        ];
        for size in sizes {
            for rights in rights {
                for mapping in mappings {
                    for is_device in [false, true] {
                        for paddr in [0, 0x4000_0000, TOP_PADDR & !mask(size.bits())] {
                            round_trip(Cap::Frame {
                                paddr,
                                size,
                                rights,
                                is_device,
                                mapping,
                            });
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn paging_caps_round_trip() {
        for ptr in [0, 0x4000_1000, TOP_PADDR & !0xfff] {
            for mapping in [
                None,
                Some(Mapping {
                    asid: u16::MAX,
                    vaddr: 0x7f_ffe0_0000,
                }),
            ] {
                round_trip(Cap::PageTable { ptr, mapping });
            }
            for asid in [None, Some(0), Some(1), Some(u16::MAX)] {
                round_trip(Cap::VSpace { ptr, asid });
            }
            for asid_base in [0, 512, u16::MAX] {
                round_trip(Cap::AsidPool { ptr, asid_base });
            }
        }
    }

    #[test]
    fn malformed_words_decode_to_null() {
        let tag = |tag: CapTag| (tag as u64) << 59;
        // Unknown tags.
        for unknown in [5u64, 7, 31] {
            assert_eq!(Cap::decode([unknown << 59, 0]), Cap::Null);
        }
        // Untyped below the minimum, above the maximum, misaligned, over-full.
        let untyped = |size_bits: u64, units: u64, paddr: u64| {
            Cap::decode([tag(CapTag::Untyped) | size_bits << 52 | units, paddr])
        };
        assert_eq!(untyped(3, 0, 0), Cap::Null);
        assert_eq!(untyped(48, 0, 0), Cap::Null);
        assert_eq!(untyped(12, 0, 0x4000_0800), Cap::Null);
        assert_eq!(untyped(12, 257, 0x4000_0000), Cap::Null);
        assert!(!untyped(12, 256, 0x4000_0000).is_null());
        // Frame with the undefined size code 3, or VM rights 0.
        assert_eq!(
            Cap::decode([tag(CapTag::Frame) | 3 << 57 | 3 << 55, 0]),
            Cap::Null
        );
        assert_eq!(Cap::decode([tag(CapTag::Frame), 0]), Cap::Null);
        // CNode with a 65-bit guard, or at address 0.
        assert_eq!(
            Cap::decode([tag(CapTag::CNode) | 65 << 46 | 1, 0]),
            Cap::Null
        );
        assert_eq!(Cap::decode([tag(CapTag::CNode), 0]), Cap::Null);
        // Zombie with a type code past 64.
        assert_eq!(Cap::decode([tag(CapTag::Zombie) | 65 << 52, 0]), Cap::Null);
    }

    #[test]
    fn decode_is_total_on_arbitrary_words() {
        // A cheap deterministic scramble over the whole word space: every result must
        // re-encode to words that decode to the same cap (decode output is well formed).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word0 = state;
            let word1 = state.rotate_left(29) ^ 0x5555_5555_5555_5555;
            let cap = Cap::decode([word0, word1]);
            assert_eq!(Cap::decode(cap.encode()), cap);
        }
    }

    #[test]
    fn object_regions() {
        let cnode = Cap::CNode {
            ptr: 0x4000_0000,
            radix: 12,
            guard_size: 0,
            guard: 0,
        };
        assert_eq!(
            cnode.object_region(),
            Some(ObjectRegion {
                base: 0x4000_0000,
                size_bits: 17
            })
        );
        assert_eq!(Cap::IrqControl.object_region(), None);
        let untyped = ObjectRegion {
            base: 0x4000_0000,
            size_bits: 20,
        };
        assert!(untyped.contains(&cnode.object_region().unwrap_or(untyped)));
        assert!(!cnode.object_region().is_some_and(|r| r.contains(&untyped)));
    }

    #[test]
    fn vm_rights_masking_matches_sel4() {
        let read_only = sel4::CapRights::read_only();
        let write_only = sel4::CapRights(sel4::CapRights::WRITE);
        assert_eq!(
            VmRights::ReadWrite.masked(sel4::CapRights::all()),
            VmRights::ReadWrite
        );
        assert_eq!(VmRights::ReadWrite.masked(read_only), VmRights::ReadOnly);
        assert_eq!(VmRights::ReadWrite.masked(write_only), VmRights::KernelOnly);
        assert_eq!(
            VmRights::ReadOnly.masked(sel4::CapRights::all()),
            VmRights::ReadOnly
        );
        assert_eq!(VmRights::ReadOnly.masked(write_only), VmRights::KernelOnly);
        assert_eq!(
            VmRights::KernelOnly.masked(sel4::CapRights::all()),
            VmRights::KernelOnly
        );
    }
}
