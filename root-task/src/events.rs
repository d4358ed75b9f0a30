//! Interrupts reach the server through one notification bound to its TCB: a signal wakes
//! the server's Recv on the fault endpoint with the notification word as the badge. Thread
//! badges are thread ids (32 bits), so a badge with [`NOTIFICATION`] set is a word of
//! interrupt bits, never a thread.

use crate::objects::{AllocError, Objects};
use sel4::cap_type::{IrqControl, IrqHandler, Notification, Tcb};
use sel4::{init_cap, CPtr, Cap, CapRights, IrqTrigger};

/// Set in every interrupt badge.
pub const NOTIFICATION: u64 = 1 << 63;
/// The EL1 physical timer fired.
pub const TIMER: u64 = 1 << 0;
/// The PL011 UART interrupted.
pub const UART: u64 = 1 << 1;

/// The bound notification.
#[derive(Debug)]
pub struct Events {
    notification: CPtr,
}

impl Events {
    /// Creates the notification and binds it to the root task's TCB.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn bind(objects: &mut Objects) -> Result<Events, AllocError> {
        let notification = objects.retype_one(sel4::ObjectType::Notification, 0)?;
        let tcb: Cap<Tcb> = Cap::from_bits(init_cap::INIT_THREAD_TCB);
        tcb.tcb_bind_notification(Cap::from_bits(notification))?;
        Ok(Events { notification })
    }

    /// A handler for level-triggered `irq` that signals the notification with
    /// `NOTIFICATION | bit`.
    ///
    /// # Errors
    /// [`AllocError`] (the kernel refuses an IRQ already issued or out of range).
    pub fn handler(
        &self,
        objects: &mut Objects,
        irq: u64,
        bit: u64,
    ) -> Result<Cap<IrqHandler>, AllocError> {
        let badged = objects.allocate_slot()?;
        let root = objects.root();
        root.cnode_mint(
            badged,
            Objects::slot_depth(),
            root,
            self.notification,
            Objects::slot_depth(),
            CapRights::new(false, false, false, true),
            NOTIFICATION | bit,
        )?;
        let slot = objects.allocate_slot()?;
        let control: Cap<IrqControl> = Cap::from_bits(init_cap::IRQ_CONTROL);
        control.irq_control_get_trigger(
            irq,
            IrqTrigger::Level,
            root,
            slot,
            Objects::slot_depth(),
        )?;
        let handler: Cap<IrqHandler> = Cap::from_bits(slot);
        let notification: Cap<Notification> = Cap::from_bits(badged);
        handler.irq_handler_set_notification(notification)?;
        Ok(handler)
    }
}

/// Whether a badge the server received is an interrupt word rather than a thread.
pub const fn is_notification(badge: u64) -> bool {
    badge & NOTIFICATION != 0
}
