//! The GICv2 interrupt controller: distributor and CPU interface.

use super::{GIC_CPU_INTERFACE_PHYS, GIC_DISTRIBUTOR_PHYS};
use crate::arch::mmu::window;

// Distributor registers.
const GICD_CTLR: u64 = 0x000;
const GICD_TYPER: u64 = 0x004;
const GICD_ISENABLER: u64 = 0x100;
const GICD_ICENABLER: u64 = 0x180;
const GICD_ICPENDR: u64 = 0x280;
const GICD_IPRIORITYR: u64 = 0x400;
const GICD_ITARGETSR: u64 = 0x800;
const GICD_ICFGR: u64 = 0xc00;

// CPU interface registers.
const GICC_CTLR: u64 = 0x000;
const GICC_PMR: u64 = 0x004;
const GICC_BPR: u64 = 0x008;
const GICC_IAR: u64 = 0x00c;
const GICC_EOIR: u64 = 0x010;

/// Interrupt ids at or above this are spurious (1020..1023).
const SPURIOUS_FIRST: u32 = 1020;
/// Every interrupt gets this priority; the mask admits anything more urgent than 0xf0.
const DEFAULT_PRIORITY: u8 = 0xa0;
const PRIORITY_MASK: u32 = 0xf0;

fn distributor(offset: u64) -> *mut u32 {
    window(GIC_DISTRIBUTOR_PHYS + offset) as *mut u32
}

fn cpu_interface(offset: u64) -> *mut u32 {
    window(GIC_CPU_INTERFACE_PHYS + offset) as *mut u32
}

fn write(register: *mut u32, value: u32) {
    // SAFETY: `register` is a GIC register in the kernel window's device mapping; the
    // kernel is the only user of the GIC (its frames are never given out as untyped).
    unsafe { register.write_volatile(value) }
}

fn read(register: *mut u32) -> u32 {
    // SAFETY: as for `write`.
    unsafe { register.read_volatile() }
}

/// Resets the distributor (all interrupts disabled, level-triggered, routed to CPU 0 at
/// one priority) and enables the CPU interface.
pub fn init() {
    write(distributor(GICD_CTLR), 0);
    let lines = 32 * ((read(distributor(GICD_TYPER)) & 0x1f) + 1);
    for word in 0..lines / 32 {
        write(distributor(GICD_ICENABLER + 4 * u64::from(word)), u32::MAX);
        write(distributor(GICD_ICPENDR + 4 * u64::from(word)), u32::MAX);
    }
    let priority_word = u32::from_ne_bytes([DEFAULT_PRIORITY; 4]);
    for word in 0..lines / 4 {
        write(
            distributor(GICD_IPRIORITYR + 4 * u64::from(word)),
            priority_word,
        );
    }
    // SPIs: target CPU 0, level-triggered. (SGI/PPI targets and configuration are fixed.)
    for word in 8..lines / 4 {
        write(
            distributor(GICD_ITARGETSR + 4 * u64::from(word)),
            0x0101_0101,
        );
    }
    for word in 2..lines / 16 {
        write(distributor(GICD_ICFGR + 4 * u64::from(word)), 0);
    }
    write(distributor(GICD_CTLR), 1);

    write(cpu_interface(GICC_PMR), PRIORITY_MASK);
    write(cpu_interface(GICC_BPR), 0);
    write(cpu_interface(GICC_CTLR), 1);
}

/// Interrupt lines the distributor implements (GICD_TYPER.ITLinesNumber).
pub fn line_count() -> u32 {
    32 * ((read(distributor(GICD_TYPER)) & 0x1f) + 1)
}

/// Stops interrupt `irq` reaching the CPU (seL4's `maskInterrupt(true, irq)`).
pub fn disable(irq: u32) {
    if irq >= line_count() {
        return;
    }
    write(
        distributor(GICD_ICENABLER + 4 * u64::from(irq / 32)),
        1 << (irq % 32),
    );
}

/// How an interrupt line signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Level,
    Edge,
}

/// Sets `irq`'s trigger mode in GICD_ICFGR (seL4's `setIRQTrigger`). SGIs have a fixed
/// configuration and are left alone, as are lines the distributor lacks.
pub fn set_trigger(irq: u32, trigger: Trigger) {
    if irq < 16 || irq >= line_count() {
        return;
    }
    let register = distributor(GICD_ICFGR + 4 * u64::from(irq / 16));
    let shift = (irq % 16) * 2;
    let value = read(register) & !(0b11 << shift);
    let value = match trigger {
        Trigger::Level => value,
        Trigger::Edge => value | 0b10 << shift,
    };
    write(register, value);
}

/// Lets interrupt `irq` reach the CPU.
pub fn enable(irq: u32) {
    if irq >= line_count() {
        return;
    }
    write(
        distributor(GICD_ISENABLER + 4 * u64::from(irq / 32)),
        1 << (irq % 32),
    );
}

/// An acknowledged interrupt; must be passed to [`end_of_interrupt`].
#[derive(Debug)]
pub struct Acknowledged {
    raw: u32,
}

impl Acknowledged {
    /// The interrupt id.
    pub fn irq(&self) -> u32 {
        self.raw & 0x3ff
    }
}

/// Takes the highest-priority pending interrupt, if any.
pub fn acknowledge() -> Option<Acknowledged> {
    let raw = read(cpu_interface(GICC_IAR));
    if raw & 0x3ff >= SPURIOUS_FIRST {
        None
    } else {
        Some(Acknowledged { raw })
    }
}

/// Signals that the kernel has finished with an interrupt.
pub fn end_of_interrupt(interrupt: Acknowledged) {
    write(cpu_interface(GICC_EOIR), interrupt.raw);
}
