//! Finds the device tree QEMU placed at the start of RAM and reads RAM from its /memory
//! nodes.

use boot_handoff::{PhysRegion, MAX_RAM_REGIONS, RAM_BASE};

/// QEMU virt's RAM when there is no device tree to say otherwise: 1 GiB at [`RAM_BASE`].
const DEFAULT_RAM: PhysRegion = PhysRegion {
    start: RAM_BASE,
    end: RAM_BASE + (1 << 30),
};

const FDT_MAGIC: u32 = 0xd00d_feed;
const PAGE_SIZE: u64 = 4096;

/// What the loader learns from the device tree.
pub struct Memory {
    ram: [PhysRegion; MAX_RAM_REGIONS],
    ram_count: usize,
    /// The device tree blob, or an empty region if there is none.
    pub device_tree: PhysRegion,
}

impl Memory {
    /// RAM regions, page aligned, in address order.
    pub fn ram_regions(&self) -> &[PhysRegion] {
        &self.ram[..self.ram_count]
    }

    fn push(&mut self, start: u64, size: u64) {
        let Some(end) = start.checked_add(size) else {
            crate::console::fail(format_args!(
                "device tree: RAM region at {start:#x} overflows"
            ));
        };
        let region = PhysRegion {
            start: start.next_multiple_of(PAGE_SIZE),
            end: end & !(PAGE_SIZE - 1),
        };
        if region.start >= region.end {
            return;
        }
        if self.ram_count == MAX_RAM_REGIONS {
            crate::console::fail(format_args!(
                "device tree: more than {MAX_RAM_REGIONS} RAM regions"
            ));
        }
        self.ram[self.ram_count] = region;
        self.ram_count += 1;
    }
}

/// Reads the device tree at the start of RAM, if there is one.
pub fn probe() -> Memory {
    let mut memory = Memory {
        ram: [PhysRegion::default(); MAX_RAM_REGIONS],
        ram_count: 0,
        device_tree: PhysRegion::default(),
    };
    let header = RAM_BASE as *const u32;
    // SAFETY: RAM_BASE is RAM on QEMU virt, readable with the MMU off; QEMU put either a
    // device tree or whatever the guest image holds there, and any value is acceptable.
    let magic = u32::from_be(unsafe { header.read_volatile() });
    if magic != FDT_MAGIC {
        memory.push(DEFAULT_RAM.start, DEFAULT_RAM.size());
        return memory;
    }
    // SAFETY: a device tree header is at RAM_BASE (its magic matched) and QEMU keeps the
    // blob intact for as long as the loader runs; the parser checks the header's sizes.
    let tree = match unsafe { fdt::Fdt::from_ptr(RAM_BASE as *const u8) } {
        Ok(tree) => tree,
        Err(error) => crate::console::fail(format_args!("device tree: {error:?}")),
    };
    memory.device_tree = PhysRegion {
        start: RAM_BASE,
        end: RAM_BASE + tree.total_size() as u64,
    };
    for node in tree.all_nodes() {
        let is_memory = node
            .property("device_type")
            .and_then(|property| property.as_str())
            == Some("memory");
        if !is_memory {
            continue;
        }
        for region in node.reg().into_iter().flatten() {
            let size = region.size.unwrap_or(0) as u64;
            memory.push(region.starting_address as u64, size);
        }
    }
    if memory.ram_count == 0 {
        memory.push(DEFAULT_RAM.start, DEFAULT_RAM.size());
    }
    memory.ram[..memory.ram_count].sort_unstable_by_key(|region| region.start);
    memory
}
