//! The loader-to-kernel contract: where things sit in physical and virtual memory, and the
//! record the loader hands the kernel in x0.
//!
//! Boot flow: QEMU loads the loader ELF at [`LOADER_PHYS_BASE`] and enters it at EL1 with
//! the MMU off. The loader copies the kernel's PT_LOAD segments to [`KERNEL_PHYS_BASE`]
//! (the kernel is linked at `KERNEL_PHYS_BASE + PHYS_WINDOW_OFFSET`), places the root
//! task's segments in one page-aligned physical run after the kernel, fills a
//! [`BootHandoff`], turns the MMU on with TTBR0 identity-mapping RAM and TTBR1 mapping the
//! kernel window (`virt = phys + PHYS_WINDOW_OFFSET`, first 4 GiB of physical space,
//! 1 GiB blocks: device memory below RAM, normal memory for RAM), and jumps to the kernel's
//! entry with x0 = the handoff's physical address. The kernel copies what it needs from
//! the handoff and the device tree, builds its own translation tables and never touches
//! loader memory again: everything outside the kernel and root-task images becomes
//! untyped memory.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

/// Added to a physical address to get its address in the kernel's window (TTBR1).
pub const PHYS_WINDOW_OFFSET: u64 = 0xffff_ff80_0000_0000;
/// Where the kernel image starts in physical memory (2 MiB aligned, below the loader).
pub const KERNEL_PHYS_BASE: u64 = 0x4020_0000;
/// The kernel's link address.
pub const KERNEL_VIRT_BASE: u64 = KERNEL_PHYS_BASE + PHYS_WINDOW_OFFSET;
/// Where QEMU loads the loader (its link address). RAM below it holds the device tree
/// (at the start of RAM), the kernel and the root task.
pub const LOADER_PHYS_BASE: u64 = 0x6000_0000;
/// QEMU virt's RAM base.
pub const RAM_BASE: u64 = 0x4000_0000;

// The kernel and root task are placed below the loader.
const _: () = assert!(KERNEL_PHYS_BASE < LOADER_PHYS_BASE);

/// `BootHandoff::magic`.
pub const HANDOFF_MAGIC: u64 = 0x5345_4c34_4844_4f46; // "SEL4HDOF"
/// `BootHandoff::version`; bump on any layout change.
pub const HANDOFF_VERSION: u64 = 1;
/// Most RAM regions the handoff carries.
pub const MAX_RAM_REGIONS: usize = 8;

/// A physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct PhysRegion {
    pub start: u64,
    pub end: u64,
}

impl PhysRegion {
    /// Bytes in the region.
    pub const fn size(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Whether the two regions share a byte.
    pub const fn overlaps(&self, other: &PhysRegion) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The root task's image as the loader placed it: the page-aligned virtual span
/// `[virt_start, virt_end)` occupies physical memory from `phys_start` contiguously,
/// segments copied and bss zeroed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UserImage {
    pub phys_start: u64,
    pub virt_start: u64,
    pub virt_end: u64,
    pub entry: u64,
}

impl UserImage {
    /// Physical range occupied by the image.
    pub const fn phys_region(&self) -> PhysRegion {
        PhysRegion {
            start: self.phys_start,
            end: self.phys_start + (self.virt_end - self.virt_start),
        }
    }
}

/// What the loader tells the kernel. Lives in loader memory; the kernel copies it before
/// anything can overwrite it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BootHandoff {
    pub magic: u64,
    pub version: u64,
    /// RAM, from the device tree's /memory nodes (or QEMU virt's default if absent).
    pub ram: [PhysRegion; MAX_RAM_REGIONS],
    pub ram_count: u64,
    /// Physical range of the kernel image including its bss (page aligned).
    pub kernel: PhysRegion,
    /// The root task's image.
    pub root_task: UserImage,
    /// The device tree blob QEMU passed, or an empty region if there was none.
    pub device_tree: PhysRegion,
}

impl BootHandoff {
    /// The RAM regions in use.
    pub fn ram_regions(&self) -> &[PhysRegion] {
        let count = (self.ram_count as usize).min(MAX_RAM_REGIONS);
        &self.ram[..count]
    }

    /// Checks what the kernel relies on: magic, version, at least one RAM region, the
    /// kernel and root-task images inside RAM and apart from each other.
    ///
    /// # Errors
    /// A short description of the first problem found.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.magic != HANDOFF_MAGIC {
            return Err("bad handoff magic");
        }
        if self.version != HANDOFF_VERSION {
            return Err("handoff version mismatch");
        }
        if self.ram_count == 0 || self.ram_count as usize > MAX_RAM_REGIONS {
            return Err("no RAM regions");
        }
        let image = &self.root_task;
        if image.virt_end <= image.virt_start
            || !image.virt_start.is_multiple_of(4096)
            || !image.virt_end.is_multiple_of(4096)
            || !image.phys_start.is_multiple_of(4096)
        {
            return Err("root task image span is empty or unaligned");
        }
        let in_ram = |region: &PhysRegion| {
            self.ram_regions()
                .iter()
                .any(|ram| ram.start <= region.start && region.end <= ram.end)
        };
        if !in_ram(&self.kernel) {
            return Err("kernel image outside RAM");
        }
        if !in_ram(&image.phys_region()) {
            return Err("root task image outside RAM");
        }
        if self.kernel.overlaps(&image.phys_region()) {
            return Err("kernel and root task images overlap");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BootHandoff {
        let mut handoff = BootHandoff {
            magic: HANDOFF_MAGIC,
            version: HANDOFF_VERSION,
            ram_count: 1,
            kernel: PhysRegion {
                start: KERNEL_PHYS_BASE,
                end: KERNEL_PHYS_BASE + 0x10_0000,
            },
            root_task: UserImage {
                phys_start: 0x4040_0000,
                virt_start: 0x40_0000,
                virt_end: 0x48_0000,
                entry: 0x40_1000,
            },
            ..Default::default()
        };
        handoff.ram[0] = PhysRegion {
            start: RAM_BASE,
            end: RAM_BASE + (1 << 30),
        };
        handoff
    }

    #[test]
    fn a_sound_handoff_validates() {
        assert_eq!(sample().validate(), Ok(()));
    }

    #[test]
    fn overlapping_images_are_rejected() {
        let mut handoff = sample();
        handoff.root_task.phys_start = KERNEL_PHYS_BASE;
        assert_eq!(
            handoff.validate(),
            Err("kernel and root task images overlap")
        );
    }

    #[test]
    fn bad_magic_and_unaligned_images_are_rejected() {
        let mut handoff = sample();
        handoff.magic = 0;
        assert!(handoff.validate().is_err());
        let mut handoff = sample();
        handoff.root_task.virt_start = 0x40_0010;
        assert!(handoff.validate().is_err());
        let mut handoff = sample();
        handoff.root_task.phys_start = 0x9000_0000;
        assert_eq!(handoff.validate(), Err("root task image outside RAM"));
    }

    #[test]
    fn kernel_window_arithmetic() {
        assert_eq!(KERNEL_VIRT_BASE, 0xffff_ff80_4020_0000);
    }
}
