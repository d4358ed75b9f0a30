//! Making one cap from another: rights masking, badge/guard updates and derivation, with
//! seL4's rules (`maskCapRights`, `updateCapData`, `deriveCap`).

use sel4::CapRights;

use crate::cap::Cap;
use crate::cdt::{ensure_no_children, SlotMemory};
use crate::error::SyscallError;
use crate::slot::SlotAddr;

/// Whether a cap update may set a badge (Mint, `Preserve::No`) or must keep the cap's
/// identity (Mutate and Rotate, `Preserve::Yes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preserve {
    No,
    Yes,
}

/// seL4's `maskCapRights`: `cap` with only the rights `mask` allows.
pub fn mask_cap_rights(mask: CapRights, cap: &Cap) -> Cap {
    match *cap {
        Cap::Endpoint {
            ptr,
            badge,
            can_send,
            can_receive,
            can_grant,
            can_grant_reply,
        } => Cap::Endpoint {
            ptr,
            badge,
            can_send: can_send && mask.can_write(),
            can_receive: can_receive && mask.can_read(),
            can_grant: can_grant && mask.can_grant(),
            can_grant_reply: can_grant_reply && mask.can_grant_reply(),
        },
        Cap::Notification {
            ptr,
            badge,
            can_send,
            can_receive,
        } => Cap::Notification {
            ptr,
            badge,
            can_send: can_send && mask.can_write(),
            can_receive: can_receive && mask.can_read(),
        },
        Cap::Reply {
            tcb,
            is_master,
            can_grant,
        } => Cap::Reply {
            tcb,
            is_master,
            can_grant: can_grant && mask.can_grant(),
        },
        Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            mapping,
        } => Cap::Frame {
            paddr,
            size,
            rights: rights.masked(mask),
            is_device,
            mapping,
        },
        other => other,
    }
}

/// seL4's `updateCapData`: applies a Mint/Mutate data word. For an endpoint or
/// notification it is a badge, settable only once and only when not preserving; for a
/// CNode it is `guard << 6 | guard_size` (guard_size + radix at most 64). Other caps are
/// unchanged. Returns [`Cap::Null`] when the update is not allowed.
pub fn update_cap_data(preserve: Preserve, data: u64, cap: &Cap) -> Cap {
    match *cap {
        Cap::Endpoint { badge: 0, .. } | Cap::Notification { badge: 0, .. }
            if preserve == Preserve::No =>
        {
            with_badge(cap, data)
        }
        Cap::Endpoint { .. } | Cap::Notification { .. } => Cap::Null,
        Cap::CNode { ptr, radix, .. } => {
            let guard_size = (data & 0x3f) as u8;
            if u32::from(guard_size) + u32::from(radix) > u64::BITS {
                return Cap::Null;
            }
            let guard = (data >> 6) & crate::bits::mask(guard_size.into());
            Cap::CNode {
                ptr,
                radix,
                guard_size,
                guard,
            }
        }
        other => other,
    }
}

fn with_badge(cap: &Cap, new_badge: u64) -> Cap {
    match *cap {
        Cap::Endpoint {
            ptr,
            can_send,
            can_receive,
            can_grant,
            can_grant_reply,
            ..
        } => Cap::Endpoint {
            ptr,
            badge: new_badge,
            can_send,
            can_receive,
            can_grant,
            can_grant_reply,
        },
        Cap::Notification {
            ptr,
            can_send,
            can_receive,
            ..
        } => Cap::Notification {
            ptr,
            badge: new_badge,
            can_send,
            can_receive,
        },
        other => other,
    }
}

/// seL4's `deriveCap`: the cap a copy of `cap` (from `slot`) should hold. Zombies,
/// IrqControl and reply caps cannot be copied (Null); frames lose their mapping; an
/// untyped can be copied only while it has no children.
///
/// # Errors
/// - RevokeFirst: an untyped with children.
/// - IllegalOperation: a page table that is not mapped, or a VSpace with no ASID.
pub fn derive_cap(
    memory: &impl SlotMemory,
    slot: SlotAddr,
    cap: &Cap,
) -> Result<Cap, SyscallError> {
    match *cap {
        Cap::Zombie { .. } | Cap::IrqControl | Cap::Reply { .. } => Ok(Cap::Null),
        Cap::Untyped { .. } => ensure_no_children(memory, slot).map(|()| *cap),
        Cap::PageTable { mapping: None, .. } | Cap::VSpace { asid: None, .. } => {
            Err(SyscallError::illegal_operation())
        }
        Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            ..
        } => Ok(Cap::Frame {
            paddr,
            size,
            rights,
            is_device,
            mapping: None,
        }),
        other => Ok(other),
    }
}

/// seL4's `hasCancelSendRights`: an endpoint cap with every right may cancel badged sends.
pub fn has_cancel_send_rights(cap: &Cap) -> bool {
    matches!(
        cap,
        Cap::Endpoint {
            can_send: true,
            can_receive: true,
            can_grant: true,
            can_grant_reply: true,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::{FrameSize, Mapping, VmRights};
    use crate::cdt::insert_new_object;
    use crate::cdt::test_memory::{slot, MapMemory};
    use crate::slot::{MdbNode, Slot};

    fn endpoint(badge: u64) -> Cap {
        Cap::Endpoint {
            ptr: 0x4000_0100,
            badge,
            can_send: true,
            can_receive: true,
            can_grant: true,
            can_grant_reply: true,
        }
    }

    #[test]
    fn masking_rights() {
        let masked = mask_cap_rights(CapRights::read_only(), &endpoint(3));
        assert_eq!(
            masked,
            Cap::Endpoint {
                ptr: 0x4000_0100,
                badge: 3,
                can_send: false,
                can_receive: true,
                can_grant: false,
                can_grant_reply: false,
            }
        );
        assert!(!has_cancel_send_rights(&masked));
        assert!(has_cancel_send_rights(&mask_cap_rights(
            CapRights::all(),
            &endpoint(3)
        )));
        let reply = Cap::Reply {
            tcb: 0x4000_0800,
            is_master: false,
            can_grant: true,
        };
        assert_eq!(
            mask_cap_rights(CapRights::read_write(), &reply),
            Cap::Reply {
                tcb: 0x4000_0800,
                is_master: false,
                can_grant: false
            }
        );
        let frame = Cap::Frame {
            paddr: 0x4000_1000,
            size: FrameSize::Small,
            rights: VmRights::ReadWrite,
            is_device: false,
            mapping: None,
        };
        let Cap::Frame { rights, .. } = mask_cap_rights(CapRights::read_only(), &frame) else {
            panic!("frame stays a frame");
        };
        assert_eq!(rights, VmRights::ReadOnly);
        assert_eq!(mask_cap_rights(CapRights(0), &Cap::Domain), Cap::Domain);
    }

    #[test]
    fn badges_are_set_once() {
        assert_eq!(
            update_cap_data(Preserve::No, 42, &endpoint(0)),
            endpoint(42)
        );
        assert_eq!(update_cap_data(Preserve::No, 42, &endpoint(1)), Cap::Null);
        assert_eq!(update_cap_data(Preserve::Yes, 42, &endpoint(0)), Cap::Null);
        let notification = Cap::Notification {
            ptr: 0x4000_0200,
            badge: 0,
            can_send: true,
            can_receive: false,
        };
        let Cap::Notification { badge, .. } = update_cap_data(Preserve::No, 7, &notification)
        else {
            panic!("notification stays a notification");
        };
        assert_eq!(badge, 7);
        assert_eq!(update_cap_data(Preserve::Yes, 7, &Cap::Domain), Cap::Domain);
    }

    #[test]
    fn cnode_guards() {
        let cnode = Cap::CNode {
            ptr: 0x4100_0000,
            radix: 12,
            guard_size: 0,
            guard: 0,
        };
        // guard 0b101 of size 52 -> data = guard << 6 | 52; bits above the size drop.
        let data = (0b101 | 1 << 57) << 6 | 52;
        assert_eq!(
            update_cap_data(Preserve::Yes, data, &cnode),
            Cap::CNode {
                ptr: 0x4100_0000,
                radix: 12,
                guard_size: 52,
                guard: 0b101
            }
        );
        assert_eq!(update_cap_data(Preserve::No, 53, &cnode), Cap::Null);
        assert!(!update_cap_data(Preserve::No, 52, &cnode).is_null());
    }

    #[test]
    fn derivation_rules() {
        let mut memory = MapMemory::default();
        let untyped = Cap::Untyped {
            paddr: 0x4000_0000,
            size_bits: 12,
            is_device: false,
            free_index: 0,
        };
        memory.write(
            slot(0),
            Slot::new(&untyped, MdbNode::EMPTY.with_revocable(true)),
        );
        assert_eq!(derive_cap(&memory, slot(0), &untyped), Ok(untyped));
        insert_new_object(&mut memory, slot(0), slot(1), &endpoint(0));
        assert_eq!(
            derive_cap(&memory, slot(0), &untyped),
            Err(SyscallError::revoke_first())
        );
        for no_copy in [
            Cap::IrqControl,
            Cap::Reply {
                tcb: 0x4000_0800,
                is_master: true,
                can_grant: true,
            },
            Cap::Zombie {
                ptr: 0x4000_0800,
                zombie_type: crate::cap::ZombieType::Tcb,
                remaining: 1,
            },
        ] {
            assert_eq!(derive_cap(&memory, slot(1), &no_copy), Ok(Cap::Null));
        }
        let mapped = Mapping {
            asid: 1,
            vaddr: 0x1000,
        };
        let frame = Cap::Frame {
            paddr: 0x4000_1000,
            size: FrameSize::Small,
            rights: VmRights::ReadWrite,
            is_device: false,
            mapping: Some(mapped),
        };
        let Ok(Cap::Frame { mapping, .. }) = derive_cap(&memory, slot(1), &frame) else {
            panic!("frames derive");
        };
        assert_eq!(mapping, None);
        let table = |mapping| Cap::PageTable {
            ptr: 0x4000_2000,
            mapping,
        };
        assert_eq!(
            derive_cap(&memory, slot(1), &table(None)),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            derive_cap(&memory, slot(1), &table(Some(mapped))),
            Ok(table(Some(mapped)))
        );
        let vspace = |asid| Cap::VSpace {
            ptr: 0x4000_3000,
            asid,
        };
        assert_eq!(
            derive_cap(&memory, slot(1), &vspace(None)),
            Err(SyscallError::illegal_operation())
        );
        assert_eq!(
            derive_cap(&memory, slot(1), &vspace(Some(1))),
            Ok(vspace(Some(1)))
        );
        assert_eq!(derive_cap(&memory, slot(1), &endpoint(4)), Ok(endpoint(4)));
    }
}
