//! The few caps the fastpath reads, taken straight from a slot's two words instead of
//! through `Cap::decode` (a 16-way match that costs 25-40 instructions per cap, where
//! the fastpath's whole budget is a few hundred), and the reply cap's words it writes.
//!
//! Every reader mirrors kernel-core's encoding (see `kernel_core::cap`) for one variant
//! and answers `None` for anything else, including encodings `Cap::decode` would turn
//! into Null; the fastpath then falls back to the slowpath, which decodes properly.
//! [`self_check`] compares these readers with `Cap::encode` at boot, so a change to the
//! encoding stops the kernel at once instead of misreading caps.

use kernel_core::{Cap, FrameSize, Mapping, Slot, SlotAddr, SlotMemory, VmRights};
use sel4::CapTag;

use crate::object::cspace::slot_memory;

/// Word 0 bits 63..59: the cap's tag.
const TAG_SHIFT: u32 = 59;
/// Bits 47..0: a physical address.
const PADDR_MASK: u64 = (1 << 48) - 1;
/// Bits 35..0 of VSpace and frame caps: the address in 4 KiB units.
const PAGE_FRAME_MASK: u64 = (1 << 36) - 1;
const PAGE_SHIFT: u32 = 12;

/// The two words of the cap in `slot`.
#[inline(always)]
pub fn read(slot: SlotAddr) -> [u64; 2] {
    slot_memory().read(slot).cap
}

#[inline(always)]
fn tag(words: [u64; 2]) -> u64 {
    words[0] >> TAG_SHIFT
}

#[inline(always)]
fn bit(word: u64, index: u32) -> bool {
    (word >> index) & 1 != 0
}

/// Whether the slot words hold the null cap (an empty slot).
#[inline(always)]
pub fn is_null(words: [u64; 2]) -> bool {
    tag(words) == CapTag::Null as u64
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
pub fn endpoint(words: [u64; 2]) -> Option<EndpointCap> {
    if tag(words) != CapTag::Endpoint as u64 {
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
pub fn reply(words: [u64; 2]) -> Option<ReplyCap> {
    if tag(words) != CapTag::Reply as u64 {
        return None;
    }
    Some(ReplyCap {
        tcb: words[0] & PADDR_MASK,
        is_master: bit(words[0], 58),
        can_grant: bit(words[0], 57),
    })
}

/// The slot words of a (non-master) reply cap to `tcb`: what `Cap::encode` gives for
/// `Cap::Reply { tcb, is_master: false, can_grant }`.
#[inline(always)]
pub fn reply_words(tcb: u64, can_grant: bool) -> [u64; 2] {
    [
        (CapTag::Reply as u64) << TAG_SHIFT | u64::from(can_grant) << 57 | (tcb & PADDR_MASK),
        0,
    ]
}

/// A CNode cap's fields (only ones `Cap::decode` accepts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CNodeCap {
    pub ptr: u64,
    pub radix: u32,
    pub guard_size: u32,
    pub guard: u64,
}

/// The CNode cap in `words`, if it is one that decodes (guard at most 64 bits, non-zero
/// address).
#[inline(always)]
pub fn cnode(words: [u64; 2]) -> Option<CNodeCap> {
    if tag(words) != CapTag::CNode as u64 {
        return None;
    }
    let guard_size = ((words[0] >> 46) & 0x7f) as u32;
    let ptr = (words[0] & ((1 << 43) - 1)) << sel4::SLOT_BITS;
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

/// The TTBR0 value (table address | ASID << 48) of the VSpace cap in `words`, if it is a
/// VSpace cap with an ASID: what the scheduler installs for a thread.
#[inline(always)]
pub fn vspace_root(words: [u64; 2]) -> Option<u64> {
    if tag(words) != CapTag::VSpace as u64 || !bit(words[0], 53) {
        return None;
    }
    let asid = (words[0] >> 36) & 0xffff;
    Some((words[0] & PAGE_FRAME_MASK) << PAGE_SHIFT | asid << 48)
}

/// A frame cap's fields that decide whether it can hold an IPC buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameCap {
    pub paddr: u64,
    pub size_bits: u32,
    pub rights: VmRights,
    pub is_device: bool,
}

/// The frame cap in `words`, if it is one that decodes (defined size and rights).
#[inline(always)]
pub fn frame(words: [u64; 2]) -> Option<FrameCap> {
    if tag(words) != CapTag::Frame as u64 {
        return None;
    }
    let size_bits = match (words[0] >> 57) & 0b11 {
        0 => FrameSize::Small.bits(),
        1 => FrameSize::Large.bits(),
        2 => FrameSize::Huge.bits(),
        _ => return None,
    };
    let rights = match (words[0] >> 55) & 0b11 {
        1 => VmRights::KernelOnly,
        2 => VmRights::ReadOnly,
        3 => VmRights::ReadWrite,
        _ => return None,
    };
    Some(FrameCap {
        paddr: (words[0] & PAGE_FRAME_MASK) << PAGE_SHIFT,
        size_bits,
        rights,
        is_device: bit(words[0], 54),
    })
}

/// Checks every reader against `Cap::encode` on representative caps; false if any
/// disagrees (the kernel then refuses to boot).
pub fn self_check() -> bool {
    let endpoint_ok = [
        (true, false, true, false),
        (false, true, false, true),
        (true, true, true, true),
    ]
    .iter()
    .all(|&(can_send, can_receive, can_grant, can_grant_reply)| {
        let cap = Cap::Endpoint {
            ptr: 0x4123_4560,
            badge: 0xfeed_0000_0000_0001,
            can_send,
            can_receive,
            can_grant,
            can_grant_reply,
        };
        endpoint(cap.encode())
            == Some(EndpointCap {
                ptr: 0x4123_4560,
                badge: 0xfeed_0000_0000_0001,
                can_send,
                can_receive,
                can_grant,
                can_grant_reply,
            })
    });
    let reply_ok =
        [(false, false), (false, true), (true, true)]
            .iter()
            .all(|&(is_master, can_grant)| {
                let cap = Cap::Reply {
                    tcb: 0x4567_8800,
                    is_master,
                    can_grant,
                };
                let words = cap.encode();
                reply(words)
                    == Some(ReplyCap {
                        tcb: 0x4567_8800,
                        is_master,
                        can_grant,
                    })
                    && (is_master || reply_words(0x4567_8800, can_grant) == words)
            });
    let cnode_cap = Cap::CNode {
        ptr: 0x4400_0000,
        radix: 12,
        guard_size: 52,
        guard: 0,
    };
    let cnode_ok = cnode(cnode_cap.encode())
        == Some(CNodeCap {
            ptr: 0x4400_0000,
            radix: 12,
            guard_size: 52,
            guard: 0,
        })
        && cnode(
            Cap::CNode {
                ptr: 0x4400_1000,
                radix: 3,
                guard_size: 7,
                guard: 0x55,
            }
            .encode(),
        ) == Some(CNodeCap {
            ptr: 0x4400_1000,
            radix: 3,
            guard_size: 7,
            guard: 0x55,
        });
    let vspace_ok = vspace_root(
        Cap::VSpace {
            ptr: 0x4789_a000,
            asid: Some(0x1234),
        }
        .encode(),
    ) == Some(0x4789_a000 | 0x1234 << 48)
        && vspace_root(
            Cap::VSpace {
                ptr: 0x4789_a000,
                asid: None,
            }
            .encode(),
        )
        .is_none();
    let frame_ok = [
        (FrameSize::Small, VmRights::ReadWrite, false),
        (FrameSize::Large, VmRights::ReadOnly, true),
        (FrameSize::Huge, VmRights::KernelOnly, false),
    ]
    .iter()
    .all(|&(size, rights, is_device)| {
        let cap = Cap::Frame {
            paddr: 0x4000_0000,
            size,
            rights,
            is_device,
            mapping: Some(Mapping {
                asid: 7,
                vaddr: 0x40_0000,
            }),
        };
        frame(cap.encode())
            == Some(FrameCap {
                paddr: 0x4000_0000,
                size_bits: size.bits(),
                rights,
                is_device,
            })
    });
    let others_rejected = [
        Cap::Null,
        Cap::Thread { ptr: 0x4000_0800 },
        Cap::Notification {
            ptr: 0x4000_0020,
            badge: 1,
            can_send: true,
            can_receive: true,
        },
    ]
    .iter()
    .all(|cap| {
        let words = cap.encode();
        endpoint(words).is_none()
            && reply(words).is_none()
            && cnode(words).is_none()
            && vspace_root(words).is_none()
            && frame(words).is_none()
    });
    let null_ok = is_null(Slot::EMPTY.cap) && !is_null(cnode_cap.encode());
    endpoint_ok && reply_ok && cnode_ok && vspace_ok && frame_ok && others_rejected && null_ok
}
