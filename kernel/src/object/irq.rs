//! Interrupt state (seL4's `intStateIRQTable`) and the IRQ node: one kernel slot per
//! interrupt holding the notification cap a user handler bound to it.

use crate::arch::mmu::window_to_phys;
use crate::plat::{gic, timer};
use core::cell::UnsafeCell;
use kernel_core::{Cap, Slot, SlotAddr, SlotMemory};

/// Interrupt ids the kernel tracks (GICv2 ids 0..1019; the rest are special).
pub const IRQ_LIMIT: usize = 1020;

/// What an interrupt is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IrqState {
    /// No handler: masked.
    Inactive = 0,
    /// A user IRQ handler cap exists; the interrupt signals its notification.
    Signal = 1,
    /// The kernel's own timer.
    Timer = 2,
}

#[repr(C, align(32))]
struct IrqNode([Slot; IRQ_LIMIT]);

struct IrqTables {
    states: UnsafeCell<[IrqState; IRQ_LIMIT]>,
    node: UnsafeCell<IrqNode>,
}

// SAFETY: the kernel runs on one CPU with interrupts masked.
unsafe impl Sync for IrqTables {}

static TABLES: IrqTables = IrqTables {
    states: UnsafeCell::new([IrqState::Inactive; IRQ_LIMIT]),
    node: UnsafeCell::new(IrqNode([Slot::EMPTY; IRQ_LIMIT])),
};

/// The state of `irq` (ids past the table read as the last entry's; handlers exist only
/// up to `kernel_core::decode::MAX_IRQ`).
pub fn state(irq: u64) -> IrqState {
    if irq == u64::from(timer::KERNEL_TIMER_IRQ) {
        return IrqState::Timer;
    }
    let index = (irq as usize).min(IRQ_LIMIT - 1);
    // SAFETY: single-threaded kernel; the index is clamped into the table.
    unsafe { (*TABLES.states.get())[index] }
}

/// seL4's `setIRQState`: records the state and masks the interrupt unless a handler
/// now exists.
pub fn set_state(irq: u64, state: IrqState) {
    let Some(index) = usize::try_from(irq).ok().filter(|&index| index < IRQ_LIMIT) else {
        return;
    };
    // SAFETY: single-threaded kernel; `index` is inside the table.
    unsafe { (*TABLES.states.get())[index] = state };
    let line = index as u32;
    match state {
        IrqState::Inactive => gic::disable(line),
        IrqState::Signal => gic::enable(line),
        IrqState::Timer => {}
    }
}

/// The IRQ-node slot of `irq`, as a slot address for the derivation tree.
pub fn node_slot(irq: u64) -> Option<SlotAddr> {
    let index = usize::try_from(irq)
        .ok()
        .filter(|&index| index < IRQ_LIMIT)?;
    // SAFETY: only the address of an element is taken, no reference is created.
    let slot = unsafe { (&raw mut (*TABLES.node.get()).0[index]) as u64 };
    SlotAddr::new(window_to_phys(slot))
}

/// The notification cap bound to `irq` (Null if none).
pub fn bound_notification(irq: u64) -> Cap {
    node_slot(irq)
        .map(|slot| crate::object::cspace::slot_memory().read(slot).cap())
        .unwrap_or(Cap::Null)
}
