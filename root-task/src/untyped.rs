//! The untyped memory pool: RAM untyped capabilities from BootInfo and a watermark for
//! each, mirroring where the kernel's retype will place the next object.

use crate::cspace::{LeafSource, SlotError, RADIX_BITS};
use alloc::vec::Vec;
use sel4::cap_type::{CNode, Untyped};
use sel4::{BootInfo, CPtr, Cap, ObjectType};

/// One RAM untyped.
#[derive(Clone, Copy, Debug)]
struct Region {
    cap: Cap<Untyped>,
    size_bits: u8,
    /// Bytes from the start already handed out (the kernel's free index).
    used: u64,
}

/// A device untyped (MMIO), kept for drivers.
#[derive(Clone, Copy, Debug)]
pub struct DeviceRegion {
    pub cap: Cap<Untyped>,
    pub paddr: u64,
    pub size_bits: u8,
    /// Bytes from the start already retyped (see [`crate::device`]).
    pub used: u64,
}

/// The RAM untypeds and the device untypeds.
#[derive(Debug)]
pub struct UntypedPool {
    regions: Vec<Region>,
    devices: Vec<DeviceRegion>,
    /// All RAM in the pool (fixed at boot), bytes.
    total: u64,
}

/// RAM in the untyped pool, bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamBytes {
    pub total: u64,
    /// Not yet retyped into any object.
    pub free: u64,
}

impl UntypedPool {
    /// How much RAM the pool has, and how much of it is not retyped yet (`/proc/meminfo`,
    /// `sysinfo`).
    pub fn ram_bytes(&self) -> RamBytes {
        self.regions
            .iter()
            .fold(RamBytes { total: 0, free: 0 }, |sum, region| {
                let size = 1u64.checked_shl(u32::from(region.size_bits)).unwrap_or(0);
                RamBytes {
                    total: sum.total.saturating_add(size),
                    free: sum.free.saturating_add(size.saturating_sub(region.used)),
                }
            })
    }

    /// All RAM in the pool, bytes (what `ram_bytes().total` says, without the sum).
    pub const fn total_bytes(&self) -> u64 {
        self.total
    }

    /// The untypeds BootInfo lists, smallest RAM regions first (so small objects use up
    /// the small regions and the large ones stay whole for long).
    pub fn from_bootinfo(bootinfo: &BootInfo) -> UntypedPool {
        let mut regions = Vec::new();
        let mut devices = Vec::new();
        for (index, description) in bootinfo.untyped_descs().iter().enumerate() {
            let cap = Cap::from_bits(bootinfo.untyped.start + index as u64);
            if description.is_device != 0 {
                devices.push(DeviceRegion {
                    cap,
                    paddr: description.paddr,
                    size_bits: description.size_bits,
                    used: 0,
                });
            } else {
                regions.push(Region {
                    cap,
                    size_bits: description.size_bits,
                    used: 0,
                });
            }
        }
        regions.sort_by_key(|region| region.size_bits);
        let total = regions.iter().fold(0u64, |sum, region| {
            sum.saturating_add(1u64.checked_shl(u32::from(region.size_bits)).unwrap_or(0))
        });
        UntypedPool {
            regions,
            devices,
            total,
        }
    }

    /// The device untyped containing physical address `paddr`.
    pub fn device_containing(&self, paddr: u64) -> Option<DeviceRegion> {
        self.devices.iter().copied().find(|device| {
            paddr >= device.paddr
                && 1u64
                    .checked_shl(u32::from(device.size_bits))
                    .is_some_and(|size| paddr - device.paddr < size)
        })
    }

    /// Records that device untyped `cap` is retyped up to `used` bytes from its start.
    pub fn note_device_use(&mut self, cap: Cap<Untyped>, used: u64) {
        if let Some(device) = self.devices.iter_mut().find(|device| device.cap == cap) {
            device.used = device.used.max(used);
        }
    }

    /// Records `bytes` retyped from `cap` outside the pool (the CSpace's top level).
    pub fn note_external_use(&mut self, cap: Cap<Untyped>, bytes: u64) {
        if let Some(region) = self.regions.iter_mut().find(|region| region.cap == cap) {
            region.used = region.used.saturating_add(bytes);
        }
    }

    /// Retypes `count` objects of `object_type` (`size_bits` as UntypedRetype takes it:
    /// the radix for a CNode, ignored for fixed-size objects) into the consecutive slots
    /// from `first_slot`, all in one leaf, from the first untyped with room.
    ///
    /// # Errors
    /// `NotEnoughMemory` if no untyped has room, or the kernel's error.
    pub fn retype(
        &mut self,
        root: Cap<CNode>,
        object_type: ObjectType,
        size_bits: u64,
        first_slot: CPtr,
        count: u64,
    ) -> sel4::Result<()> {
        let object_bits = object_type
            .object_size_bits(size_bits)
            .ok_or(sel4::Error::InvalidArgument)?;
        let object_bytes = 1u64 << object_bits;
        let total = object_bytes
            .checked_mul(count)
            .ok_or(sel4::Error::InvalidArgument)?;
        let (node_index, node_depth, offset) = crate::cspace::CSpace::leaf_of(first_slot);
        for region in &mut self.regions {
            let start = region.used.next_multiple_of(object_bytes);
            let Some(end) = start.checked_add(total) else {
                continue;
            };
            if end > 1u64 << region.size_bits {
                continue;
            }
            region.cap.untyped_retype(
                object_type,
                size_bits,
                root,
                node_index,
                node_depth,
                offset,
                count,
            )?;
            region.used = end;
            return Ok(());
        }
        Err(sel4::Error::NotEnoughMemory)
    }
}

impl LeafSource for UntypedPool {
    fn make_leaf(&mut self, root: Cap<CNode>, top_slot: u64) -> Result<(), SlotError> {
        // The leaf's cap goes into the top-level CNode itself: (root, depth 0) names it.
        let object_bytes = 1u64 << (RADIX_BITS + u64::from(sel4::SLOT_BITS));
        for region in &mut self.regions {
            let start = region.used.next_multiple_of(object_bytes);
            if start + object_bytes > 1u64 << region.size_bits {
                continue;
            }
            region
                .cap
                .untyped_retype(ObjectType::CNode, RADIX_BITS, root, 0, 0, top_slot, 1)
                .map_err(|_| SlotError::Exhausted)?;
            region.used = start + object_bytes;
            return Ok(());
        }
        Err(SlotError::Exhausted)
    }
}
