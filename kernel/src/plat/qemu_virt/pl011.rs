//! The PL011 UART, polled transmit only (kernel debug output).

use super::PL011_PHYS;
use crate::arch::mmu::window;

const DATA: u64 = 0x000;
const FLAGS: u64 = 0x018;
const FLAGS_TRANSMIT_FULL: u32 = 1 << 5;

/// Sends one byte, waiting while the transmit FIFO is full.
pub fn put_byte(byte: u8) {
    let flags = window(PL011_PHYS + FLAGS) as *const u32;
    let data = window(PL011_PHYS + DATA) as *mut u32;
    // SAFETY: the PL011 registers are mapped as device memory in the kernel window; the
    // kernel runs on one CPU with interrupts masked, so nothing interleaves with this.
    unsafe {
        while flags.read_volatile() & FLAGS_TRANSMIT_FULL != 0 {}
        data.write_volatile(u32::from(byte));
    }
}
