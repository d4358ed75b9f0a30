//! Summarising and sanity-checking a BootInfo: what a root task can verify about the
//! kernel's hand-over without invoking anything.

use crate::{BootInfo, SlotRegion, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};

/// Totals over a BootInfo's untyped list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UntypedTotals {
    pub ram_bytes: u64,
    pub ram_caps: u64,
    pub largest_ram_bits: u8,
    pub device_bytes: u64,
    pub device_caps: u64,
}

/// Sums the untyped descriptors by kind. Sizes are capped at 2^63 so a hostile list
/// cannot overflow the totals.
pub fn untyped_totals(bootinfo: &BootInfo) -> UntypedTotals {
    let mut totals = UntypedTotals::default();
    for desc in bootinfo.untyped_descs() {
        let bytes = 1u64.checked_shl(desc.size_bits.into()).unwrap_or(1 << 63);
        if desc.is_device != 0 {
            totals.device_bytes = totals.device_bytes.saturating_add(bytes);
            totals.device_caps += 1;
        } else {
            totals.ram_bytes = totals.ram_bytes.saturating_add(bytes);
            totals.ram_caps += 1;
            totals.largest_ram_bits = totals.largest_ram_bits.max(desc.size_bits);
        }
    }
    totals
}

/// A way in which a BootInfo breaks what seL4 promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoProblem {
    /// The IPC buffer address is null or not 1 KiB aligned.
    IpcBufferMisaligned(u64),
    /// A slot region ends before it starts or lies outside the root CNode.
    RegionOutsideCNode(&'static str),
    /// Two slot regions share slots.
    RegionsOverlap(&'static str, &'static str),
    /// A region that seL4 always fills is empty.
    RegionEmpty(&'static str),
    /// The empty region does not run to the end of the root CNode.
    EmptyRegionShort { end: u64, cnode_slots: u64 },
    /// The untyped region holds more slots than the descriptor list can describe.
    UntypedCountMismatch(u64),
    /// An untyped's size is outside seL4's bounds or its address is not aligned to it.
    UntypedMalformed { index: usize },
    /// Two untypeds cover the same memory.
    UntypedsOverlap { first: usize, second: usize },
    /// No RAM untyped at all.
    NoRamUntyped,
}

impl core::fmt::Display for BootInfoProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::IpcBufferMisaligned(address) => {
                write!(
                    f,
                    "IPC buffer address {address:#x} is null or not 1 KiB aligned"
                )
            }
            Self::RegionOutsideCNode(name) => write!(f, "slot region {name} is malformed"),
            Self::RegionsOverlap(a, b) => write!(f, "slot regions {a} and {b} overlap"),
            Self::RegionEmpty(name) => write!(f, "slot region {name} is empty"),
            Self::EmptyRegionShort { end, cnode_slots } => {
                write!(
                    f,
                    "empty region ends at {end}, CNode has {cnode_slots} slots"
                )
            }
            Self::UntypedCountMismatch(count) => {
                write!(f, "untyped region holds {count} slots, more than the list")
            }
            Self::UntypedMalformed { index } => {
                write!(f, "untyped {index} has a bad size or misaligned address")
            }
            Self::UntypedsOverlap { first, second } => {
                write!(f, "untypeds {first} and {second} overlap")
            }
            Self::NoRamUntyped => write!(f, "no RAM untyped"),
        }
    }
}

/// The named slot regions of a BootInfo, in the order seL4 lays them out.
pub fn slot_regions(bootinfo: &BootInfo) -> [(&'static str, SlotRegion); 7] {
    [
        ("sharedFrames", bootinfo.shared_frames),
        ("userImagePaging", bootinfo.user_image_paging),
        ("userImageFrames", bootinfo.user_image_frames),
        ("ioSpaceCaps", bootinfo.io_space_caps),
        ("extraBIPages", bootinfo.extra_bi_pages),
        ("untyped", bootinfo.untyped),
        ("empty", bootinfo.empty),
    ]
}

/// Checks the promises seL4 makes about BootInfo: slot regions inside the root CNode,
/// after the fixed initial slots and disjoint; the empty region running to the CNode's
/// end; untypeds of legal size, naturally aligned and disjoint; some RAM.
///
/// # Errors
/// The first problem found.
pub fn check_bootinfo(bootinfo: &BootInfo) -> Result<(), BootInfoProblem> {
    if bootinfo.ipc_buffer == 0 || !bootinfo.ipc_buffer.is_multiple_of(1024) {
        return Err(BootInfoProblem::IpcBufferMisaligned(bootinfo.ipc_buffer));
    }
    let cnode_slots = 1u64
        .checked_shl(bootinfo.init_thread_cnode_size_bits.min(64) as u32)
        .unwrap_or(0);
    let regions = slot_regions(bootinfo);
    for (name, region) in regions {
        if region.end < region.start
            || region.end > cnode_slots
            || (!region.is_empty() && region.start < crate::init_cap::NUM_INITIAL_CAPS)
        {
            return Err(BootInfoProblem::RegionOutsideCNode(name));
        }
    }
    for (index, (first_name, first)) in regions.iter().enumerate() {
        for (second_name, second) in regions.iter().skip(index + 1) {
            if !first.is_empty()
                && !second.is_empty()
                && first.start < second.end
                && second.start < first.end
            {
                return Err(BootInfoProblem::RegionsOverlap(first_name, second_name));
            }
        }
    }
    for (name, region) in [
        ("userImageFrames", bootinfo.user_image_frames),
        ("userImagePaging", bootinfo.user_image_paging),
        ("untyped", bootinfo.untyped),
        ("empty", bootinfo.empty),
    ] {
        if region.is_empty() {
            return Err(BootInfoProblem::RegionEmpty(name));
        }
    }
    if bootinfo.empty.end != cnode_slots {
        return Err(BootInfoProblem::EmptyRegionShort {
            end: bootinfo.empty.end,
            cnode_slots,
        });
    }
    if bootinfo.untyped.len() > crate::MAX_BOOTINFO_UNTYPED_CAPS as u64 {
        return Err(BootInfoProblem::UntypedCountMismatch(
            bootinfo.untyped.len(),
        ));
    }
    let descs = bootinfo.untyped_descs();
    let span = |index: usize| {
        let desc = descs[index];
        (desc.paddr, desc.paddr + (1u64 << desc.size_bits) - 1)
    };
    for (index, desc) in descs.iter().enumerate() {
        let bits = u32::from(desc.size_bits);
        if !(MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).contains(&bits)
            || desc.paddr & ((1u64 << bits) - 1) != 0
            || desc.paddr.checked_add(1u64 << bits).is_none()
        {
            return Err(BootInfoProblem::UntypedMalformed { index });
        }
    }
    for first in 0..descs.len() {
        for second in first + 1..descs.len() {
            let (a_start, a_last) = span(first);
            let (b_start, b_last) = span(second);
            if a_start <= b_last && b_start <= a_last {
                return Err(BootInfoProblem::UntypedsOverlap { first, second });
            }
        }
    }
    if untyped_totals(bootinfo).ram_caps == 0 {
        return Err(BootInfoProblem::NoRamUntyped);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{UntypedDesc, MAX_BOOTINFO_UNTYPED_CAPS};

    fn sound() -> BootInfo {
        let mut list = [UntypedDesc::default(); MAX_BOOTINFO_UNTYPED_CAPS];
        list[0] = UntypedDesc {
            paddr: 0x4100_0000,
            size_bits: 24,
            is_device: 0,
            padding: [0; 6],
        };
        list[1] = UntypedDesc {
            paddr: 0x4200_0000,
            size_bits: 25,
            is_device: 0,
            padding: [0; 6],
        };
        list[2] = UntypedDesc {
            paddr: 0x0900_0000,
            size_bits: 12,
            is_device: 1,
            padding: [0; 6],
        };
        BootInfo {
            extra_len: 0,
            node_id: 0,
            num_nodes: 1,
            num_io_pt_levels: 0,
            ipc_buffer: 0x48_0000,
            empty: SlotRegion {
                start: 40,
                end: 4096,
            },
            shared_frames: SlotRegion::default(),
            user_image_frames: SlotRegion { start: 20, end: 37 },
            user_image_paging: SlotRegion { start: 16, end: 20 },
            io_space_caps: SlotRegion::default(),
            extra_bi_pages: SlotRegion::default(),
            init_thread_cnode_size_bits: 12,
            init_thread_domain: 0,
            untyped: SlotRegion { start: 37, end: 40 },
            untyped_list: list,
        }
    }

    #[test]
    fn a_sound_bootinfo_passes_and_sums() {
        let bootinfo = sound();
        assert_eq!(check_bootinfo(&bootinfo), Ok(()));
        let totals = untyped_totals(&bootinfo);
        assert_eq!(totals.ram_bytes, (1 << 24) + (1 << 25));
        assert_eq!(totals.ram_caps, 2);
        assert_eq!(totals.largest_ram_bits, 25);
        assert_eq!(totals.device_bytes, 4096);
        assert_eq!(totals.device_caps, 1);
    }

    #[test]
    fn overlapping_regions_are_caught() {
        let mut bootinfo = sound();
        bootinfo.untyped = SlotRegion { start: 36, end: 39 };
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::RegionsOverlap(
                "userImageFrames",
                "untyped"
            ))
        );
    }

    #[test]
    fn misaligned_and_overlapping_untypeds_are_caught() {
        let mut bootinfo = sound();
        bootinfo.untyped_list[1].paddr = 0x4200_1000;
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::UntypedMalformed { index: 1 })
        );
        let mut bootinfo = sound();
        bootinfo.untyped_list[1].paddr = 0x4000_0000;
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::UntypedsOverlap {
                first: 0,
                second: 1
            })
        );
        let mut bootinfo = sound();
        bootinfo.untyped_list[0].size_bits = 3;
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::UntypedMalformed { index: 0 })
        );
    }

    #[test]
    fn short_empty_region_and_bad_ipc_buffer_are_caught() {
        let mut bootinfo = sound();
        bootinfo.empty.end = 4000;
        assert!(matches!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::EmptyRegionShort { .. })
        ));
        let mut bootinfo = sound();
        bootinfo.ipc_buffer = 0x48_0200;
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::IpcBufferMisaligned(0x48_0200))
        );
        let mut bootinfo = sound();
        bootinfo.untyped_list[2].is_device = 0;
        bootinfo.untyped_list[0].is_device = 1;
        bootinfo.untyped_list[1].is_device = 1;
        bootinfo.untyped_list[2].is_device = 1;
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::NoRamUntyped)
        );
    }

    #[test]
    fn regions_before_the_initial_caps_are_rejected() {
        let mut bootinfo = sound();
        bootinfo.user_image_paging = SlotRegion { start: 10, end: 20 };
        assert_eq!(
            check_bootinfo(&bootinfo),
            Err(BootInfoProblem::RegionOutsideCNode("userImagePaging"))
        );
    }
}
