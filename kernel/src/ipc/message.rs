//! Message registers and capability transfer: MR0..MR3 in x2..x5, the rest in the IPC
//! buffer; extra caps named by the sender's buffer and received into the slot the
//! receiver's buffer names (seL4's `copyMRs`, `lookupExtraCaps`, `transferCaps`).

use crate::object::cspace::{lookup_slot_of, slot_memory};
use crate::object::object_pointer;
use crate::object::tcb::{cspace_root, thread, BufferAccess};
use kernel_core::cspace::{lookup_cap_and_slot, lookup_slot_for_cnode_op};
use kernel_core::derive::derive_cap;
use kernel_core::{Cap, LookupFault, LookupRole, SlotAddr, SlotMemory, SyscallError};
use sel4::{MessageInfo, MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH, MSG_REGISTER_COUNT};

/// The register holding MR0.
const FIRST_MR_REGISTER: usize = 2;
/// Byte offsets in the IPC buffer (seL4's layout).
const BUFFER_MSG: u64 = 8;
const BUFFER_CAPS_OR_BADGES: u64 = 976;
const BUFFER_RECEIVE_CNODE: u64 = 1000;
const BUFFER_RECEIVE_INDEX: u64 = 1008;
const BUFFER_RECEIVE_DEPTH: u64 = 1016;

/// A thread's IPC buffer, if it has a usable one (physical address).
pub fn buffer(tcb: u64, access: BufferAccess) -> Option<u64> {
    crate::object::tcb::ipc_buffer(tcb, access)
}

fn buffer_word(buffer: u64, offset: u64) -> u64 {
    // SAFETY: `buffer` is a 1 KiB-aligned IPC buffer inside a frame the thread holds a
    // cap to (checked by `ipc_buffer`) and `offset` < 1024 is 8-aligned; user memory
    // may hold any value.
    unsafe { object_pointer::<u64>(buffer + offset).read_volatile() }
}

fn set_buffer_word(buffer: u64, offset: u64, value: u64) {
    // SAFETY: as for `buffer_word`; the frame is writable (BufferAccess::Write).
    unsafe { object_pointer::<u64>(buffer + offset).write_volatile(value) }
}

/// Message register `index` (4..120) in the IPC buffer at `buffer` (0 past the end).
#[inline(always)]
pub fn buffer_mr(buffer: u64, index: usize) -> u64 {
    if index < MSG_MAX_LENGTH {
        buffer_word(buffer, BUFFER_MSG + 8 * index as u64)
    } else {
        0
    }
}

/// Sets message register `index` (4..120) in the IPC buffer at `buffer`, which must be
/// writable (nothing happens past the end).
#[inline(always)]
pub fn set_buffer_mr(buffer: u64, index: usize, value: u64) {
    if index < MSG_MAX_LENGTH {
        set_buffer_word(buffer, BUFFER_MSG + 8 * index as u64, value);
    }
}

/// The thread's MessageInfo (x1), its length clamped to 120 as seL4 does.
pub fn message_info(tcb: u64) -> MessageInfo {
    let info = MessageInfo(thread(tcb).registers.x[1]);
    MessageInfo::new(
        info.label(),
        info.caps_unwrapped(),
        info.extra_caps() as u64,
        info.clamped_length() as u64,
    )
}

/// Message register `index` of a thread (0 past the registers without a buffer).
pub fn get_mr(tcb: u64, buffer: Option<u64>, index: usize) -> u64 {
    if index < MSG_REGISTER_COUNT {
        return thread(tcb).registers.x[FIRST_MR_REGISTER + index];
    }
    match buffer {
        Some(buffer) if index < MSG_MAX_LENGTH => {
            buffer_word(buffer, BUFFER_MSG + 8 * index as u64)
        }
        _ => 0,
    }
}

/// Sets message register `index` of a thread; returns the message length that makes it
/// the last (seL4's `setMR`: without a buffer only the four registers exist).
pub fn set_mr(tcb: u64, buffer: Option<u64>, index: usize, value: u64) -> usize {
    if index < MSG_REGISTER_COUNT {
        thread(tcb).registers.x[FIRST_MR_REGISTER + index] = value;
        return index + 1;
    }
    match buffer {
        Some(buffer) if index < MSG_MAX_LENGTH => {
            set_buffer_word(buffer, BUFFER_MSG + 8 * index as u64, value);
            index + 1
        }
        _ => MSG_REGISTER_COUNT,
    }
}

/// Copies `length` message registers from sender to receiver; returns how many arrived
/// (only the register ones when either side lacks a buffer).
pub fn copy_mrs(
    sender: u64,
    send_buffer: Option<u64>,
    receiver: u64,
    receive_buffer: Option<u64>,
    length: usize,
) -> usize {
    let length = length.min(MSG_MAX_LENGTH);
    let in_registers = length.min(MSG_REGISTER_COUNT);
    for index in 0..in_registers {
        let value = thread(sender).registers.x[FIRST_MR_REGISTER + index];
        thread(receiver).registers.x[FIRST_MR_REGISTER + index] = value;
    }
    let (Some(send_buffer), Some(receive_buffer)) = (send_buffer, receive_buffer) else {
        return in_registers;
    };
    for index in in_registers..length {
        let offset = BUFFER_MSG + 8 * index as u64;
        set_buffer_word(receive_buffer, offset, buffer_word(send_buffer, offset));
    }
    length
}

/// The slots a message's extra caps name (seL4's `current_extra_caps`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ExtraCaps {
    pub slots: [Option<SlotAddr>; MSG_MAX_EXTRA_CAPS],
}

/// A failed extra-cap lookup: the CPtr and why (the cap fault the sender gets).
#[derive(Clone, Copy, Debug)]
pub struct ExtraCapFault {
    pub cptr: u64,
    pub fault: LookupFault,
}

/// Looks up the sender's extra caps in its CSpace (seL4's `lookupExtraCaps`) into
/// `caps` (which the caller passes empty); none without a buffer.
///
/// # Errors
/// A CPtr that does not resolve to a slot.
#[inline(always)]
pub fn lookup_extra_caps(
    tcb: u64,
    buffer: Option<u64>,
    info: MessageInfo,
    caps: &mut ExtraCaps,
) -> Result<(), ExtraCapFault> {
    match buffer {
        Some(buffer) if info.extra_caps() != 0 => lookup_each_extra_cap(tcb, buffer, info, caps),
        _ => Ok(()),
    }
}

/// [`lookup_extra_caps`] when there are some.
fn lookup_each_extra_cap(
    tcb: u64,
    buffer: u64,
    info: MessageInfo,
    caps: &mut ExtraCaps,
) -> Result<(), ExtraCapFault> {
    for (index, entry) in caps.slots.iter_mut().enumerate().take(info.extra_caps()) {
        let cptr = buffer_word(buffer, BUFFER_CAPS_OR_BADGES + 8 * index as u64);
        match lookup_slot_of(tcb, cptr) {
            Ok(slot) => *entry = Some(slot),
            Err(fault) => return Err(ExtraCapFault { cptr, fault }),
        }
    }
    Ok(())
}

/// The empty slot the receiver's buffer names for a received cap (seL4's
/// `getReceiveSlots`), if there is one.
fn receive_slot(receiver: u64, buffer: u64) -> Option<SlotAddr> {
    let memory = slot_memory();
    let root = cspace_root(receiver);
    let cnode_cptr = buffer_word(buffer, BUFFER_RECEIVE_CNODE);
    let (cnode, _) = lookup_cap_and_slot(&memory, &root, cnode_cptr).ok()?;
    let index = buffer_word(buffer, BUFFER_RECEIVE_INDEX);
    let depth = buffer_word(buffer, BUFFER_RECEIVE_DEPTH);
    let slot =
        lookup_slot_for_cnode_op(&memory, &cnode, index, depth, LookupRole::Destination).ok()?;
    memory.read(slot).cap().is_null().then_some(slot)
}

/// Transfers the extra caps to the receiver (seL4's `transferCaps`): a cap to
/// `endpoint` itself is unwrapped to its badge in the receiver's buffer; the first other
/// cap is derived into the receive slot; anything after a cap that cannot go stops the
/// transfer. Returns `info` with extraCaps and capsUnwrapped set for the receiver.
pub fn transfer_caps(
    info: MessageInfo,
    caps: &ExtraCaps,
    endpoint: u64,
    receiver: u64,
    receive_buffer: Option<u64>,
) -> MessageInfo {
    let length = info.length() as u64;
    let label = info.label();
    let (Some(buffer), Some(_)) = (receive_buffer, caps.slots[0]) else {
        return MessageInfo::new(label, 0, 0, length);
    };
    let mut destination = receive_slot(receiver, buffer);
    let mut memory = slot_memory();
    let mut unwrapped = 0u64;
    let mut count = 0u64;
    for (index, slot) in caps.slots.iter().enumerate() {
        let Some(slot) = *slot else { break };
        let cap = memory.read(slot).cap();
        if let Cap::Endpoint { ptr, badge, .. } = cap {
            if endpoint != 0 && ptr == endpoint {
                set_buffer_word(buffer, BUFFER_CAPS_OR_BADGES + 8 * index as u64, badge);
                unwrapped |= 1 << index;
                count += 1;
                continue;
            }
        }
        let Some(target) = destination else { break };
        let Ok(derived) = derive_cap(&memory, slot, &cap) else {
            break;
        };
        if derived.is_null() {
            break;
        }
        kernel_core::cdt::insert_child(&mut memory, slot, target, &derived);
        destination = None;
        count += 1;
    }
    MessageInfo::new(label, unwrapped, count, length)
}

/// The kernel's reply to a successful invocation from a Call: empty, label 0.
pub fn reply_success_empty(tcb: u64) {
    let registers = &mut thread(tcb).registers;
    registers.x[0] = 0;
    registers.x[1] = MessageInfo::new(0, 0, 0, 0).word();
}

/// The kernel's reply to a failed invocation from a Call: label = the error, MRs = its
/// details.
pub fn reply_error(tcb: u64, error: &SyscallError) {
    let buffer = buffer(tcb, BufferAccess::Write);
    let mut length = 0;
    for (index, word) in error.message().iter().enumerate() {
        length = set_mr(tcb, buffer, index, *word);
    }
    let registers = &mut thread(tcb).registers;
    registers.x[0] = 0;
    registers.x[1] = MessageInfo::new(error.label(), 0, 0, length as u64).word();
}

/// Sets the received message's MessageInfo (x1) and badge (x0).
pub fn set_received(tcb: u64, info: MessageInfo, badge: u64) {
    let registers = &mut thread(tcb).registers;
    registers.x[0] = badge;
    registers.x[1] = info.word();
}
