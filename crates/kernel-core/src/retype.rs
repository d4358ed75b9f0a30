//! Untyped retype arithmetic: which object sizes are allowed, whether the destination
//! window fits its CNode, and where in the untyped the new objects go.
//!
//! The checks and their error replies follow seL4's `decodeUntypedInvocation`, in the same
//! order, so a program sees the same error for the same bad request:
//! [`check_object_spec`], then the destination lookup (the decoder's), then
//! [`check_destination_window`], then the empty-slot checks (the decoder's), then
//! [`plan_retype`].

use sel4::ObjectType;

use crate::bits::{mask, shift_left, shift_right};
use crate::cap::{Cap, FrameSize, VmRights};
use crate::error::SyscallError;

/// Most objects one retype may create (`CONFIG_RETYPE_FAN_OUT_LIMIT`).
pub const RETYPE_FAN_OUT_LIMIT: u64 = 256;

/// A validated (type, size) request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectSpec {
    pub object_type: ObjectType,
    /// The caller's size argument: an untyped's size in bits, a CNode's radix, ignored
    /// (but range checked) for other types.
    pub user_size_bits: u32,
    /// log2 of one object's size in bytes.
    pub object_size_bits: u32,
}

/// Checks a retype's type and size arguments (MR0 and MR1).
///
/// # Errors
/// - InvalidArgument(0): unknown type.
/// - RangeError(0, MAX_UNTYPED_BITS): size argument of 64 or more, or an object larger
///   than 2^47 bytes.
/// - InvalidArgument(1): a CNode of radix 0, or an untyped below 2^4 bytes.
pub fn check_object_spec(type_word: u64, size_bits: u64) -> Result<ObjectSpec, SyscallError> {
    let object_type =
        ObjectType::from_word(type_word).ok_or_else(|| SyscallError::invalid_argument(0))?;
    let range_error = SyscallError::range_error(0, sel4::MAX_UNTYPED_BITS.into());
    let object_size_bits = object_type
        .object_size_bits(size_bits)
        .filter(|&bits| size_bits < u64::from(u64::BITS) && bits <= sel4::MAX_UNTYPED_BITS)
        .ok_or(range_error)?;
    let user_size_bits = u32::try_from(size_bits).map_err(|_| range_error)?;
    let too_small = match object_type {
        ObjectType::CNode => user_size_bits == 0,
        ObjectType::Untyped => user_size_bits < sel4::MIN_UNTYPED_BITS,
        _ => false,
    };
    if too_small {
        return Err(SyscallError::invalid_argument(1));
    }
    Ok(ObjectSpec {
        object_type,
        user_size_bits,
        object_size_bits,
    })
}

/// Checks the destination window `[offset, offset + count)` against a CNode of
/// `2^radix` slots.
///
/// # Errors
/// - RangeError(0, slots - 1): offset past the CNode.
/// - RangeError(1, 256): count 0 or above the fan-out limit.
/// - RangeError(1, slots - offset): window runs past the CNode.
pub fn check_destination_window(radix: u8, offset: u64, count: u64) -> Result<(), SyscallError> {
    let slots = shift_left(1, radix.into());
    let last_slot = slots.wrapping_sub(1);
    if offset > last_slot {
        return Err(SyscallError::range_error(0, last_slot));
    }
    if !(1..=RETYPE_FAN_OUT_LIMIT).contains(&count) {
        return Err(SyscallError::range_error(1, RETYPE_FAN_OUT_LIMIT));
    }
    let room = slots - offset;
    if count > room {
        return Err(SyscallError::range_error(1, room));
    }
    Ok(())
}

/// Whether the untyped being retyped has children in the derivation tree. Without
/// children its watermark is reset: everything it ever handed out is free again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UntypedChildren {
    None,
    Some,
}

/// Where a retype puts its objects and what it does to the untyped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetypePlan {
    /// Bytes from the untyped's base the kernel must zero before creating the objects
    /// (the old watermark of a RAM untyped being reset; 0 when keeping the watermark or
    /// for device memory, which seL4 never clears).
    pub clear_bytes: u64,
    /// Physical address of the first object, aligned to the object size.
    pub first_object: u64,
    pub object_size_bits: u32,
    pub count: u64,
    /// The untyped's watermark afterwards (bytes from its base).
    pub new_free_index: u64,
}

impl RetypePlan {
    /// The physical address of object `index` (`None` past the last).
    pub fn object_paddr(&self, index: u64) -> Option<u64> {
        if index >= self.count {
            return None;
        }
        self.first_object
            .checked_add(index.checked_mul(shift_left(1, self.object_size_bits))?)
    }

    /// The objects' physical addresses, in order.
    pub fn object_paddrs(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.count).map_while(|index| self.object_paddr(index))
    }
}

/// Plans creating `count` objects of `spec` from the untyped cap `untyped`.
///
/// # Errors
/// - InvalidCapability(0): `untyped` is not an untyped cap.
/// - NotEnoughMemory(bytes free): fewer than `count` objects fit above the watermark
///   (the whole untyped when it has no children).
/// - InvalidArgument(1): device memory asked for something other than frames or untyped.
pub fn plan_retype(
    untyped: &Cap,
    children: UntypedChildren,
    spec: &ObjectSpec,
    count: u64,
) -> Result<RetypePlan, SyscallError> {
    let Cap::Untyped {
        paddr,
        size_bits,
        is_device,
        free_index,
    } = *untyped
    else {
        return Err(SyscallError::invalid_capability(0));
    };
    let start_index = match children {
        UntypedChildren::Some => free_index,
        UntypedChildren::None => 0,
    };
    let free_bytes = shift_left(1, size_bits.into()).saturating_sub(start_index);
    if shift_right(free_bytes, spec.object_size_bits) < count {
        return Err(SyscallError::not_enough_memory(free_bytes));
    }
    let allowed_on_device = spec.object_type.is_frame() || spec.object_type == ObjectType::Untyped;
    if is_device && !allowed_on_device {
        return Err(SyscallError::invalid_argument(1));
    }
    // free_bytes >= count << object_size_bits and the untyped ends aligned to the object
    // size, so the aligned run still ends inside the untyped; checked all the same.
    let overflow = SyscallError::not_enough_memory(free_bytes);
    let object_mask = mask(spec.object_size_bits);
    let first_object = paddr
        .checked_add(start_index)
        .and_then(|free| free.checked_add(object_mask))
        .ok_or(overflow)?
        & !object_mask;
    let total = count
        .checked_mul(shift_left(1, spec.object_size_bits))
        .ok_or(overflow)?;
    let new_free_index = (first_object - paddr).checked_add(total).ok_or(overflow)?;
    let clear_bytes = match (children, is_device) {
        (UntypedChildren::None, false) => free_index,
        _ => 0,
    };
    Ok(RetypePlan {
        clear_bytes,
        first_object,
        object_size_bits: spec.object_size_bits,
        count,
        new_free_index,
    })
}

/// The cap a retype puts in the destination slot for the object at `paddr`: full
/// rights, no badge, no guard, unmapped (seL4's `createObject`).
pub fn new_object_cap(spec: &ObjectSpec, paddr: u64, is_device: bool) -> Cap {
    let frame = |size| Cap::Frame {
        paddr,
        size,
        rights: VmRights::ReadWrite,
        is_device,
        mapping: None,
    };
    match spec.object_type {
        ObjectType::Untyped => Cap::Untyped {
            paddr,
            size_bits: spec.object_size_bits as u8,
            is_device,
            free_index: 0,
        },
        ObjectType::Tcb => Cap::Thread { ptr: paddr },
        ObjectType::Endpoint => Cap::Endpoint {
            ptr: paddr,
            badge: 0,
            can_send: true,
            can_receive: true,
            can_grant: true,
            can_grant_reply: true,
        },
        ObjectType::Notification => Cap::Notification {
            ptr: paddr,
            badge: 0,
            can_send: true,
            can_receive: true,
        },
        ObjectType::CNode => Cap::CNode {
            ptr: paddr,
            radix: spec.user_size_bits as u8,
            guard_size: 0,
            guard: 0,
        },
        ObjectType::SmallPage => frame(FrameSize::Small),
        ObjectType::LargePage => frame(FrameSize::Large),
        ObjectType::HugePage => frame(FrameSize::Huge),
        ObjectType::PageTable => Cap::PageTable {
            ptr: paddr,
            mapping: None,
        },
        ObjectType::VSpace => Cap::VSpace {
            ptr: paddr,
            asid: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x4000_0000;

    fn untyped(size_bits: u8, free_index: u64, is_device: bool) -> Cap {
        Cap::Untyped {
            paddr: BASE,
            size_bits,
            is_device,
            free_index,
        }
    }

    fn spec(object_type: ObjectType, size_bits: u64) -> ObjectSpec {
        check_object_spec(object_type as u64, size_bits).expect("valid spec")
    }

    #[test]
    fn object_sizes_per_type() {
        assert_eq!(spec(ObjectType::Tcb, 0).object_size_bits, 11);
        assert_eq!(spec(ObjectType::Endpoint, 63).object_size_bits, 4);
        assert_eq!(spec(ObjectType::CNode, 12).object_size_bits, 17);
        assert_eq!(spec(ObjectType::CNode, 42).object_size_bits, 47);
        assert_eq!(spec(ObjectType::Untyped, 4).object_size_bits, 4);
        assert_eq!(spec(ObjectType::Untyped, 47).object_size_bits, 47);
        assert_eq!(spec(ObjectType::HugePage, 0).object_size_bits, 30);
        assert_eq!(spec(ObjectType::CNode, 12).user_size_bits, 12);
    }

    #[test]
    fn bad_types_and_sizes() {
        assert_eq!(
            check_object_spec(10, 0),
            Err(SyscallError::invalid_argument(0))
        );
        assert_eq!(
            check_object_spec(u64::MAX, 0),
            Err(SyscallError::invalid_argument(0))
        );
        let range = SyscallError::range_error(0, 47);
        assert_eq!(
            check_object_spec(ObjectType::Untyped as u64, 48),
            Err(range)
        );
        assert_eq!(check_object_spec(ObjectType::CNode as u64, 43), Err(range));
        assert_eq!(check_object_spec(ObjectType::CNode as u64, 59), Err(range));
        assert_eq!(
            check_object_spec(ObjectType::CNode as u64, u64::MAX),
            Err(range)
        );
        // Fixed-size types still reject a size argument of 64 or more.
        assert_eq!(check_object_spec(ObjectType::Tcb as u64, 64), Err(range));
        assert_eq!(
            check_object_spec(ObjectType::CNode as u64, 0),
            Err(SyscallError::invalid_argument(1))
        );
        assert_eq!(
            check_object_spec(ObjectType::Untyped as u64, 3),
            Err(SyscallError::invalid_argument(1))
        );
    }

    #[test]
    fn destination_windows() {
        assert_eq!(check_destination_window(12, 0, 256), Ok(()));
        assert_eq!(check_destination_window(12, 4095, 1), Ok(()));
        assert_eq!(
            check_destination_window(12, 4096, 1),
            Err(SyscallError::range_error(0, 4095))
        );
        assert_eq!(
            check_destination_window(12, 0, 0),
            Err(SyscallError::range_error(1, 256))
        );
        assert_eq!(
            check_destination_window(12, 0, 257),
            Err(SyscallError::range_error(1, 256))
        );
        assert_eq!(
            check_destination_window(12, 4090, 7),
            Err(SyscallError::range_error(1, 6))
        );
        assert_eq!(
            check_destination_window(1, 1, 2),
            Err(SyscallError::range_error(1, 1))
        );
        assert_eq!(check_destination_window(63, u64::MAX >> 1, 1), Ok(()));
    }

    #[test]
    fn first_retype_resets_and_aligns() {
        // No children: the stale watermark is cleared and allocation starts at the base.
        let plan = plan_retype(
            &untyped(16, 0x3000, false),
            UntypedChildren::None,
            &spec(ObjectType::SmallPage, 0),
            3,
        )
        .expect("fits");
        assert_eq!(plan.clear_bytes, 0x3000);
        assert_eq!(plan.first_object, BASE);
        assert_eq!(plan.new_free_index, 0x3000);
        assert_eq!(
            plan.object_paddrs().collect::<Vec<_>>(),
            vec![BASE, BASE + 0x1000, BASE + 0x2000]
        );
        assert_eq!(plan.object_paddr(3), None);
    }

    #[test]
    fn later_retypes_align_the_watermark_up() {
        let plan = plan_retype(
            &untyped(16, 0x10, false),
            UntypedChildren::Some,
            &spec(ObjectType::Tcb, 0),
            2,
        )
        .expect("fits");
        assert_eq!(plan.clear_bytes, 0);
        assert_eq!(plan.first_object, BASE + 0x800);
        assert_eq!(plan.new_free_index, 0x1800);
        assert_eq!(plan.object_paddr(1), Some(BASE + 0x1000));
    }

    #[test]
    fn exact_fit_and_not_enough_memory() {
        let cnode = spec(ObjectType::CNode, 7); // 4 KiB
        let plan = plan_retype(
            &untyped(14, 0x1000, false),
            UntypedChildren::Some,
            &cnode,
            3,
        )
        .expect("exactly fits");
        assert_eq!(plan.new_free_index, 0x4000);
        assert_eq!(
            plan_retype(
                &untyped(14, 0x1000, false),
                UntypedChildren::Some,
                &cnode,
                4
            ),
            Err(SyscallError::not_enough_memory(0x3000))
        );
        // 0x3ff0 bytes free above 0x10 hold three aligned 4 KiB objects, not four.
        assert_eq!(
            plan_retype(&untyped(14, 0x10, false), UntypedChildren::Some, &cnode, 4),
            Err(SyscallError::not_enough_memory(0x3ff0))
        );
        // Full untyped.
        assert_eq!(
            plan_retype(
                &untyped(4, 16, false),
                UntypedChildren::Some,
                &spec(ObjectType::Endpoint, 0),
                1
            ),
            Err(SyscallError::not_enough_memory(0))
        );
        // An object larger than the untyped.
        assert_eq!(
            plan_retype(
                &untyped(12, 0, false),
                UntypedChildren::None,
                &spec(ObjectType::LargePage, 0),
                1
            ),
            Err(SyscallError::not_enough_memory(0x1000))
        );
    }

    #[test]
    fn device_untyped_only_makes_frames_and_untyped() {
        let device = untyped(21, 0, true);
        let frame = plan_retype(
            &device,
            UntypedChildren::None,
            &spec(ObjectType::LargePage, 0),
            1,
        )
        .expect("frames allowed");
        assert_eq!(frame.clear_bytes, 0);
        assert!(plan_retype(
            &device,
            UntypedChildren::None,
            &spec(ObjectType::Untyped, 12),
            2
        )
        .is_ok());
        for object_type in [ObjectType::Tcb, ObjectType::CNode, ObjectType::PageTable] {
            assert_eq!(
                plan_retype(&device, UntypedChildren::None, &spec(object_type, 4), 1),
                Err(SyscallError::invalid_argument(1))
            );
        }
        // A reset device untyped is not cleared.
        let used_device = untyped(21, 0x2000, true);
        let plan = plan_retype(
            &used_device,
            UntypedChildren::None,
            &spec(ObjectType::SmallPage, 0),
            1,
        )
        .expect("fits");
        assert_eq!(plan.clear_bytes, 0);
        // Memory is checked before the device rule, as in seL4.
        assert_eq!(
            plan_retype(
                &untyped(4, 16, true),
                UntypedChildren::Some,
                &spec(ObjectType::Tcb, 0),
                1
            ),
            Err(SyscallError::not_enough_memory(0))
        );
    }

    #[test]
    fn only_untyped_caps_retype() {
        assert_eq!(
            plan_retype(
                &Cap::Domain,
                UntypedChildren::None,
                &spec(ObjectType::Tcb, 0),
                1
            ),
            Err(SyscallError::invalid_capability(0))
        );
    }

    #[test]
    fn largest_untyped_at_the_top_of_physical_memory() {
        let top = Cap::Untyped {
            paddr: 1 << 47,
            size_bits: 47,
            is_device: false,
            free_index: 0,
        };
        let plan = plan_retype(
            &top,
            UntypedChildren::None,
            &spec(ObjectType::Untyped, 46),
            2,
        )
        .expect("fits");
        assert_eq!(
            plan.object_paddrs().collect::<Vec<_>>(),
            vec![1 << 47, 3 << 46]
        );
        assert_eq!(plan.new_free_index, 1 << 47);
    }

    #[test]
    fn new_object_caps() {
        let cnode = new_object_cap(&spec(ObjectType::CNode, 9), 0x4100_0000, false);
        assert_eq!(
            cnode,
            Cap::CNode {
                ptr: 0x4100_0000,
                radix: 9,
                guard_size: 0,
                guard: 0
            }
        );
        assert_eq!(
            new_object_cap(&spec(ObjectType::Untyped, 20), 0x4100_0000, true),
            Cap::Untyped {
                paddr: 0x4100_0000,
                size_bits: 20,
                is_device: true,
                free_index: 0
            }
        );
        assert_eq!(
            new_object_cap(&spec(ObjectType::LargePage, 0), 0x4020_0000, true),
            Cap::Frame {
                paddr: 0x4020_0000,
                size: FrameSize::Large,
                rights: VmRights::ReadWrite,
                is_device: true,
                mapping: None
            }
        );
        assert_eq!(
            new_object_cap(&spec(ObjectType::VSpace, 0), 0x4000_1000, false),
            Cap::VSpace {
                ptr: 0x4000_1000,
                asid: None
            }
        );
        let Cap::Endpoint {
            badge,
            can_grant_reply,
            ..
        } = new_object_cap(&spec(ObjectType::Endpoint, 0), 0x4000_0010, false)
        else {
            panic!("endpoint");
        };
        assert_eq!((badge, can_grant_reply), (0, true));
    }
}
