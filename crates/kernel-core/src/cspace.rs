//! CSpace addressing: turning a capability pointer into a slot by walking guarded CNodes
//! (seL4's `resolveAddressBits` and the lookups built on it).
//!
//! An address is read from its most significant used bit down. Each CNode on the way
//! first matches `guard_size` bits against its guard, then uses `radix` bits to pick a
//! slot; if bits remain and that slot holds a CNode, the walk continues there.

use crate::bits::{mask, shift_right};
use crate::cap::Cap;
use crate::cdt::SlotMemory;
use crate::error::{LookupFault, LookupRole, SyscallError};
use crate::raw_cap::{self, CNodeCap};
use crate::slot::SlotAddr;

/// Where an address led: the slot, and how many low bits of the address were not used
/// (non-zero when the walk stopped at a slot not holding a CNode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedSlot {
    pub slot: SlotAddr,
    pub bits_remaining: u32,
}

/// Resolves the low `depth` bits of `cptr` starting from the CNode cap `root`.
///
/// # Errors
/// - `InvalidRoot`: `root` is not a CNode cap.
/// - `GuardMismatch`: a guard is longer than the bits left or differs from them.
/// - `DepthMismatch`: a level needs more bits than are left.
///
/// Depths above 64 are treated as 64 bits that cannot be resolved (DepthMismatch with
/// no bits found); callers validate depth first. A CNode cap with zero radix and zero
/// guard, or whose slots would lie outside physical address space, is never created by
/// the kernel; meeting one gives `InvalidRoot` rather than looping or overflowing.
pub fn resolve_address_bits(
    memory: &impl SlotMemory,
    root: &Cap,
    cptr: u64,
    depth: u32,
) -> Result<ResolvedSlot, LookupFault> {
    resolve_address_bits_from(memory, cnode_fields(root), cptr, depth)
}

/// [`resolve_address_bits`] from a root read with [`raw_cap::cnode`] (`None`: the root
/// is not a CNode cap). The walk reads each level's cap the same way, never decoding a
/// whole cap: the kernel's lookups, fastpath included, all come here.
///
/// # Errors
/// As [`resolve_address_bits`].
pub fn resolve_address_bits_from(
    memory: &impl SlotMemory,
    root: Option<CNodeCap>,
    cptr: u64,
    depth: u32,
) -> Result<ResolvedSlot, LookupFault> {
    if depth > u64::BITS {
        return Err(LookupFault::DepthMismatch {
            bits_left: depth.into(),
            bits_found: 0,
        });
    }
    let Some(mut node) = root else {
        return Err(LookupFault::InvalidRoot);
    };
    let mut bits_left = depth;
    loop {
        let CNodeCap {
            ptr,
            radix,
            guard_size,
            guard,
        } = node;
        let level_bits = radix + guard_size;
        if level_bits == 0 {
            return Err(LookupFault::InvalidRoot);
        }
        // guard_size <= bits_left is checked before the guard bits are used.
        let guard_bits_seen =
            shift_right(cptr, bits_left.saturating_sub(guard_size)) & mask(guard_size);
        if guard_size > bits_left || guard_bits_seen != guard {
            return Err(LookupFault::GuardMismatch {
                bits_left: bits_left.into(),
                guard_found: guard,
                bits_found: guard_size.into(),
            });
        }
        if level_bits > bits_left {
            return Err(LookupFault::DepthMismatch {
                bits_left: bits_left.into(),
                bits_found: level_bits.into(),
            });
        }
        let index = shift_right(cptr, bits_left - level_bits) & mask(radix);
        let slot = SlotAddr::new(ptr)
            .and_then(|base| base.offset(index))
            .ok_or(LookupFault::InvalidRoot)?;
        bits_left -= level_bits;
        if bits_left == 0 {
            return Ok(ResolvedSlot {
                slot,
                bits_remaining: 0,
            });
        }
        // A CNode cap that `Cap::decode` would reject is not a CNode here either.
        match raw_cap::cnode(memory.read(slot).cap) {
            Some(next) => node = next,
            None => {
                return Ok(ResolvedSlot {
                    slot,
                    bits_remaining: bits_left,
                })
            }
        }
    }
}

/// The fields of a CNode cap, in [`raw_cap`]'s form.
fn cnode_fields(cap: &Cap) -> Option<CNodeCap> {
    match *cap {
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

/// Looks up the slot a thread means by `cptr` (all 64 bits) in its CSpace `root`
/// (seL4's `lookupSlot`). The walk may stop early at a slot that holds no CNode.
///
/// # Errors
/// As [`resolve_address_bits`]; the kernel turns them into a cap fault.
pub fn lookup_slot(
    memory: &impl SlotMemory,
    root: &Cap,
    cptr: u64,
) -> Result<SlotAddr, LookupFault> {
    resolve_address_bits(memory, root, cptr, u64::BITS).map(|resolved| resolved.slot)
}

/// [`lookup_slot`] from a root read with [`raw_cap::cnode`]. The usual CSpace, one CNode
/// whose guard and radix take all 64 bits (the root task's is 52 + 12), is resolved
/// inline (this is the first level of [`resolve_address_bits_from`] with the checks its
/// shape makes redundant); any other shape, and every fault, takes the general walk.
///
/// # Errors
/// As [`resolve_address_bits`].
#[inline(always)]
pub fn lookup_slot_from(
    memory: &impl SlotMemory,
    root: Option<CNodeCap>,
    cptr: u64,
) -> Result<SlotAddr, LookupFault> {
    if let Some(node) = root {
        // radix < 64 keeps both shifts in range.
        let single_level = node.radix + node.guard_size == u64::BITS && node.radix < u64::BITS;
        if single_level && cptr >> node.radix == node.guard {
            let index = cptr & ((1 << node.radix) - 1);
            if let Some(slot) = SlotAddr::new(node.ptr).and_then(|base| base.offset(index)) {
                return Ok(slot);
            }
        }
    }
    resolve_address_bits_from(memory, root, cptr, u64::BITS).map(|resolved| resolved.slot)
}

/// Looks up the cap `cptr` names, with its slot (seL4's `lookupCapAndSlot`).
///
/// # Errors
/// As [`resolve_address_bits`].
pub fn lookup_cap_and_slot(
    memory: &impl SlotMemory,
    root: &Cap,
    cptr: u64,
) -> Result<(Cap, SlotAddr), LookupFault> {
    let slot = lookup_slot(memory, root, cptr)?;
    Ok((memory.read(slot).cap(), slot))
}

/// Looks up the slot a CNode invocation names by (`cptr`, `depth`) below `root`, where the
/// whole depth must be consumed exactly (seL4's `lookupSlotForCNodeOp`, used for source,
/// destination and pivot slots and retype's destination CNode).
///
/// # Errors
/// - FailedLookup (InvalidRoot) when `root` is not a CNode cap.
/// - RangeError(1, 64) when `depth` is 0 or over 64.
/// - FailedLookup with the resolution's fault, or DepthMismatch(bits_left = remaining,
///   bits_found = 0) when the walk stopped at a non-CNode slot with bits left.
pub fn lookup_slot_for_cnode_op(
    memory: &impl SlotMemory,
    root: &Cap,
    cptr: u64,
    depth: u64,
    role: LookupRole,
) -> Result<SlotAddr, SyscallError> {
    if !matches!(root, Cap::CNode { .. }) {
        return Err(SyscallError::failed_lookup(role, LookupFault::InvalidRoot));
    }
    let depth = match u32::try_from(depth) {
        Ok(depth @ 1..=64) => depth,
        _ => return Err(SyscallError::range_error(1, u64::BITS.into())),
    };
    let resolved = resolve_address_bits(memory, root, cptr, depth)
        .map_err(|fault| SyscallError::failed_lookup(role, fault))?;
    if resolved.bits_remaining != 0 {
        return Err(SyscallError::failed_lookup(
            role,
            LookupFault::DepthMismatch {
                bits_left: resolved.bits_remaining.into(),
                bits_found: 0,
            },
        ));
    }
    Ok(resolved.slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdt::test_memory::MapMemory;
    use crate::slot::{MdbNode, Slot};

    const ROOT: u64 = 0x4100_0000;
    const SECOND: u64 = 0x4200_0000;

    fn cnode(ptr: u64, radix: u8, guard_size: u8, guard: u64) -> Cap {
        Cap::CNode {
            ptr,
            radix,
            guard_size,
            guard,
        }
    }

    fn slot_at(ptr: u64, index: u64) -> SlotAddr {
        SlotAddr::new(ptr + index * 32).expect("test slot")
    }

    fn put(memory: &mut MapMemory, slot: SlotAddr, cap: &Cap) {
        memory.write(slot, Slot::new(cap, MdbNode::EMPTY));
    }

    /// The usual root-task layout: a 12-bit root with a 52-bit zero guard, so a cptr is a
    /// plain slot index at depth 64.
    fn single_level() -> (MapMemory, Cap) {
        let mut memory = MapMemory::default();
        let root = cnode(ROOT, 12, 52, 0);
        put(
            &mut memory,
            slot_at(ROOT, 7),
            &Cap::Thread { ptr: 0x4300_0000 },
        );
        (memory, root)
    }

    /// Root radix 4, guard 0 of size 4; slot 3 holds a CNode radix 8 with guard 0b101
    /// (3 bits), whose slot 0x2a holds an endpoint. Address (8 + 3 + 8 = 19 bits):
    /// guard 0000, index 0011, guard 101, index 0x2a.
    fn two_level() -> (MapMemory, Cap, u64) {
        let mut memory = MapMemory::default();
        let root = cnode(ROOT, 4, 4, 0);
        put(&mut memory, slot_at(ROOT, 3), &cnode(SECOND, 8, 3, 0b101));
        let endpoint = Cap::Endpoint {
            ptr: 0x4400_0000,
            badge: 0,
            can_send: true,
            can_receive: true,
            can_grant: false,
            can_grant_reply: false,
        };
        put(&mut memory, slot_at(SECOND, 0x2a), &endpoint);
        let cptr = (0b0011 << 11) | (0b101 << 8) | 0x2a;
        (memory, root, cptr)
    }

    #[test]
    fn single_level_full_depth() {
        let (memory, root) = single_level();
        assert_eq!(
            resolve_address_bits(&memory, &root, 7, 64),
            Ok(ResolvedSlot {
                slot: slot_at(ROOT, 7),
                bits_remaining: 0
            })
        );
        assert_eq!(lookup_slot(&memory, &root, 4095), Ok(slot_at(ROOT, 4095)));
        assert_eq!(
            lookup_cap_and_slot(&memory, &root, 7),
            Ok((Cap::Thread { ptr: 0x4300_0000 }, slot_at(ROOT, 7)))
        );
        assert_eq!(
            lookup_cap_and_slot(&memory, &root, 8),
            Ok((Cap::Null, slot_at(ROOT, 8)))
        );
    }

    #[test]
    fn guard_mismatch_reports_the_cnode_guard() {
        let (memory, root) = single_level();
        // A set bit inside the 52-bit zero guard.
        assert_eq!(
            lookup_slot(&memory, &root, 1 << 40),
            Err(LookupFault::GuardMismatch {
                bits_left: 64,
                guard_found: 0,
                bits_found: 52
            })
        );
        // Fewer bits than the guard.
        assert_eq!(
            resolve_address_bits(&memory, &root, 7, 40),
            Err(LookupFault::GuardMismatch {
                bits_left: 40,
                guard_found: 0,
                bits_found: 52
            })
        );
    }

    #[test]
    fn depth_mismatch_when_a_level_needs_more_bits() {
        let (memory, root) = single_level();
        assert_eq!(
            resolve_address_bits(&memory, &root, 7, 60),
            Err(LookupFault::DepthMismatch {
                bits_left: 60,
                bits_found: 64
            })
        );
        assert_eq!(
            resolve_address_bits(&memory, &root, 7, 65),
            Err(LookupFault::DepthMismatch {
                bits_left: 65,
                bits_found: 0
            })
        );
    }

    #[test]
    fn invalid_root() {
        let (memory, _) = single_level();
        assert_eq!(
            lookup_slot(&memory, &Cap::Thread { ptr: ROOT }, 0),
            Err(LookupFault::InvalidRoot)
        );
        assert_eq!(
            lookup_slot(&memory, &Cap::Null, 0),
            Err(LookupFault::InvalidRoot)
        );
        // Malformed: a level that consumes no bits.
        assert_eq!(
            lookup_slot(&memory, &cnode(ROOT, 0, 0, 0), 0),
            Err(LookupFault::InvalidRoot)
        );
    }

    #[test]
    fn two_level_walks() {
        let (memory, root, cptr) = two_level();
        assert_eq!(
            resolve_address_bits(&memory, &root, cptr, 19),
            Ok(ResolvedSlot {
                slot: slot_at(SECOND, 0x2a),
                bits_remaining: 0
            })
        );
        // Depth 8 stops at the root slot holding the second CNode.
        assert_eq!(
            resolve_address_bits(&memory, &root, cptr >> 11, 8),
            Ok(ResolvedSlot {
                slot: slot_at(ROOT, 3),
                bits_remaining: 0
            })
        );
        // The second level's guard must match.
        let bad_guard = (0b0011 << 11) | (0b100 << 8) | 0x2a;
        assert_eq!(
            resolve_address_bits(&memory, &root, bad_guard, 19),
            Err(LookupFault::GuardMismatch {
                bits_left: 11,
                guard_found: 0b101,
                bits_found: 3
            })
        );
        // Too few bits for the second level's radix.
        assert_eq!(
            resolve_address_bits(&memory, &root, cptr >> 2, 17),
            Err(LookupFault::DepthMismatch {
                bits_left: 9,
                bits_found: 11
            })
        );
        // A leaf that is not a CNode ends the walk with bits left over.
        let through_empty = (0b0100 << 11) | 0x7ff;
        assert_eq!(
            resolve_address_bits(&memory, &root, through_empty, 19),
            Ok(ResolvedSlot {
                slot: slot_at(ROOT, 4),
                bits_remaining: 11
            })
        );
    }

    #[test]
    fn cnode_op_lookups_need_exact_depth() {
        let (memory, root, cptr) = two_level();
        assert_eq!(
            lookup_slot_for_cnode_op(&memory, &root, cptr, 19, LookupRole::Source),
            Ok(slot_at(SECOND, 0x2a))
        );
        for depth in [0, 65, u64::MAX] {
            assert_eq!(
                lookup_slot_for_cnode_op(&memory, &root, cptr, depth, LookupRole::Source),
                Err(SyscallError::range_error(1, 64))
            );
        }
        assert_eq!(
            lookup_slot_for_cnode_op(&memory, &Cap::Null, 0, 64, LookupRole::Destination),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::InvalidRoot
            ))
        );
        let through_empty = (0b0100 << 11) | 0x7ff;
        assert_eq!(
            lookup_slot_for_cnode_op(&memory, &root, through_empty, 19, LookupRole::Destination),
            Err(SyscallError::failed_lookup(
                LookupRole::Destination,
                LookupFault::DepthMismatch {
                    bits_left: 11,
                    bits_found: 0
                }
            ))
        );
        let bad_guard = 1 << 7;
        assert_eq!(
            lookup_slot_for_cnode_op(&memory, &root, bad_guard, 8, LookupRole::Source),
            Err(SyscallError::failed_lookup(
                LookupRole::Source,
                LookupFault::GuardMismatch {
                    bits_left: 8,
                    guard_found: 0,
                    bits_found: 4
                }
            ))
        );
    }

    #[test]
    fn depth_zero_and_full_width_guards() {
        let (memory, root) = single_level();
        // Depth 0 cannot match any guard or radix.
        assert_eq!(
            resolve_address_bits(&memory, &root, 0, 0),
            Err(LookupFault::GuardMismatch {
                bits_left: 0,
                guard_found: 0,
                bits_found: 52
            })
        );
        let unguarded = cnode(ROOT, 3, 0, 0);
        assert_eq!(
            resolve_address_bits(&memory, &unguarded, 0, 0),
            Err(LookupFault::DepthMismatch {
                bits_left: 0,
                bits_found: 3
            })
        );
        // A 63-bit guard of all ones plus radix 1 consumes exactly 64 bits.
        let wide = cnode(ROOT, 1, 63, mask(63));
        assert_eq!(lookup_slot(&memory, &wide, u64::MAX), Ok(slot_at(ROOT, 1)));
        assert_eq!(
            lookup_slot(&memory, &wide, u64::MAX >> 1),
            Err(LookupFault::GuardMismatch {
                bits_left: 64,
                guard_found: mask(63),
                bits_found: 63
            })
        );
        // The top radix bits of a full 64-bit address select the slot.
        let top = cnode(ROOT, 8, 56, 0);
        assert_eq!(lookup_slot(&memory, &top, 0xff), Ok(slot_at(ROOT, 0xff)));
    }
}
