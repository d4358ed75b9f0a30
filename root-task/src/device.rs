//! Device pages for the root task's drivers: a frame retyped at a device's physical page
//! from the device untyped that covers it, mapped uncached into the root task.

use crate::objects::{AllocError, Objects};
use sel4::cap_type::Granule;
use sel4::{init_cap, Cap, CapRights, ObjectType, VmAttributes};

/// Maps the 4 KiB device page at physical `paddr` at `window` in the root task.
///
/// The kernel retypes an untyped from its watermark upwards, so the bytes between the
/// watermark and the page are first taken by untyped children, each the largest
/// naturally aligned power of two that fits. Pages of one device untyped must therefore
/// be mapped in ascending address order.
///
/// # Errors
/// Why not, for the boot log.
pub fn map_device_page(objects: &mut Objects, paddr: u64, window: u64) -> Result<(), &'static str> {
    let device = objects
        .untyped
        .device_containing(paddr)
        .ok_or("no device untyped covers it")?;
    let target = paddr - device.paddr;
    if target < device.used {
        return Err("its device untyped is already retyped past it");
    }
    let root = objects.root();
    let mut cursor = device.used;
    while cursor < target {
        let mut bit = 12u32;
        while bit < 63 {
            let next = 1u64 << (bit + 1);
            if cursor % next != 0 || cursor + next > target {
                break;
            }
            bit += 1;
        }
        let slot = objects.allocate_slot().map_err(|_| "no slot")?;
        let (index, depth, offset) = crate::cspace::CSpace::leaf_of(slot);
        device
            .cap
            .untyped_retype(
                ObjectType::Untyped,
                u64::from(bit),
                root,
                index,
                depth,
                offset,
                1,
            )
            .map_err(|_| "cannot skip to its page")?;
        cursor += 1u64 << bit;
    }
    let slot = objects.allocate_slot().map_err(|_| "no slot")?;
    let (index, depth, offset) = crate::cspace::CSpace::leaf_of(slot);
    device
        .cap
        .untyped_retype(ObjectType::SmallPage, 0, root, index, depth, offset, 1)
        .map_err(|_| "cannot retype its frame")?;
    objects.untyped.note_device_use(device.cap, target + 4096);
    let mut tables = alloc::vec::Vec::new();
    let frame: Cap<Granule> = Cap::from_bits(slot);
    objects
        .map(
            frame,
            Cap::from_bits(init_cap::INIT_THREAD_VSPACE),
            window,
            CapRights::read_write(),
            VmAttributes(VmAttributes::EXECUTE_NEVER),
            &mut tables,
        )
        .map_err(|error: AllocError| match error {
            AllocError::OutOfMemory => "out of memory mapping it",
            AllocError::Kernel(_) => "the kernel refused to map it",
        })
}
