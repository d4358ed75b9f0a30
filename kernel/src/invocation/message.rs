//! A thread's message as an invocation sees it: message registers (x2..x5, then the IPC
//! buffer), and the kernel's reply.

use crate::object::object_pointer;
use crate::object::tcb::{ipc_buffer, tcb_at, BufferAccess};
use kernel_core::SlotAddr;
use sel4::{MessageInfo, MSG_REGISTER_COUNT};

/// Message registers start at x2.
const FIRST_MESSAGE_REGISTER: usize = 2;
/// Byte offset of `msg[0]` in the IPC buffer.
const MESSAGE_OFFSET: u64 = 8;

/// Copies the message registers `thread` sent with `info` into `out`; returns how many
/// there are. `buffer` is the thread's IPC buffer as `object::tcb::ipc_buffer` finds it
/// for reading. As seL4 does, a thread without a readable IPC buffer sends at most the four
/// register MRs.
pub fn read_message_words(
    thread: u64,
    info: MessageInfo,
    buffer: Option<u64>,
    out: &mut [u64],
) -> usize {
    let mut length = info.clamped_length().min(out.len());
    if buffer.is_none() {
        length = length.min(MSG_REGISTER_COUNT);
    }
    // SAFETY: `thread` is a live TCB object; only its saved registers are read.
    let registers = unsafe { tcb_at(thread) }.registers.x;
    for (index, word) in out.iter_mut().enumerate().take(length) {
        *word = if index < MSG_REGISTER_COUNT {
            registers[FIRST_MESSAGE_REGISTER + index]
        } else {
            buffer.map_or(0, |buffer| {
                read_buffer_word(buffer, MESSAGE_OFFSET + 8 * index as u64)
            })
        };
    }
    length
}

/// Writes a reply from the kernel into `thread`'s registers: x0 (badge) 0, x1 the
/// MessageInfo with `label` and the number of words actually written, `words` into
/// x2..x5 and then the IPC buffer (dropped past x5 if the thread has no writable
/// buffer, as seL4's `setMR` does).
pub fn write_reply(thread: u64, label: u64, words: &[u64]) {
    let mut length = words.len().min(sel4::MSG_MAX_LENGTH);
    // Most replies fit in the registers and need no buffer.
    let buffer = if length > MSG_REGISTER_COUNT {
        ipc_buffer(thread, BufferAccess::Write)
    } else {
        None
    };
    if buffer.is_none() {
        length = length.min(MSG_REGISTER_COUNT);
    }
    // SAFETY: `thread` is a live TCB object and no other reference to it is held.
    let tcb = unsafe { tcb_at(thread) };
    for (index, &word) in words.iter().enumerate().take(length) {
        if index < MSG_REGISTER_COUNT {
            tcb.registers.x[FIRST_MESSAGE_REGISTER + index] = word;
        } else if let Some(buffer) = buffer {
            write_buffer_word(buffer, MESSAGE_OFFSET + 8 * index as u64, word);
        }
    }
    tcb.registers.x[0] = 0;
    tcb.registers.x[1] = MessageInfo::new(label, 0, 0, length as u64).word();
}

/// The slot address of `thread`'s TCB slot `index` (a `tcb_slot` constant).
pub fn tcb_slot_address(thread: u64, index: u64) -> Option<SlotAddr> {
    SlotAddr::new(thread.checked_add(index << sel4::SLOT_BITS)?)
}

fn read_buffer_word(buffer: u64, offset: u64) -> u64 {
    // SAFETY: `buffer` is a 1 KiB IPC buffer in RAM (checked by `ipc_buffer`) and
    // `offset` is a word offset below 1024.
    unsafe { object_pointer::<u64>(buffer + offset).read_volatile() }
}

fn write_buffer_word(buffer: u64, offset: u64, word: u64) {
    // SAFETY: as for `read_buffer_word`; the frame is the thread's read-write buffer.
    unsafe { object_pointer::<u64>(buffer + offset).write_volatile(word) }
}
