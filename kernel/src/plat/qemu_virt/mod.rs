//! QEMU `virt` (cortex-a57, GICv2): device addresses, the console, the interrupt
//! controller, the kernel's timer and power control.

pub mod gic;
pub mod pl011;
pub mod psci;
pub mod timer;

use boot_handoff::PhysRegion;

/// PL011 UART (SPI 1, INTID 33). Left to user level as device untyped; the kernel only
/// writes to it for debug output.
pub const PL011_PHYS: u64 = 0x0900_0000;
/// GICv2 distributor and CPU interface (64 KiB each).
pub const GIC_DISTRIBUTOR_PHYS: u64 = 0x0800_0000;
pub const GIC_CPU_INTERFACE_PHYS: u64 = 0x0801_0000;

/// Physical memory the kernel keeps for itself outside RAM: the GIC frames. Every other
/// device address below [`DEVICE_SPACE_END`] becomes device untyped.
pub const KERNEL_DEVICE_REGIONS: [PhysRegion; 2] = [
    PhysRegion {
        start: GIC_DISTRIBUTOR_PHYS,
        end: GIC_DISTRIBUTOR_PHYS + 0x1_0000,
    },
    PhysRegion {
        start: GIC_CPU_INTERFACE_PHYS,
        end: GIC_CPU_INTERFACE_PHYS + 0x1_0000,
    },
];

/// Top of the physical address space handed out as device untyped
/// (seL4's `CONFIG_PADDR_USER_DEVICE_TOP` for a 40-bit physical address space).
pub const DEVICE_SPACE_END: u64 = 1 << 40;

/// Initialises the board's devices the kernel drives: the interrupt controller and the
/// kernel's scheduling timer.
pub fn init() {
    gic::init();
    timer::init();
}
