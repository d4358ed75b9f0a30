//! The loader's only output: one `LOADER PANIC:` line on the PL011, then power off.

use core::arch::asm;
use core::fmt::{self, Write};

/// QEMU virt's PL011 UART; identity-mapped as device memory (or reached with the MMU off).
const PL011_BASE: usize = 0x0900_0000;
const PL011_DATA: usize = 0x000;
const PL011_FLAGS: usize = 0x018;
const PL011_FLAGS_TX_FULL: u32 = 1 << 5;

/// PSCI 0.2 SYSTEM_OFF (SMC32 function id); QEMU virt's conduit at EL1 is HVC.
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

struct Pl011;

impl Write for Pl011 {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            put_byte(byte);
        }
        Ok(())
    }
}

fn put_byte(byte: u8) {
    let flags = (PL011_BASE + PL011_FLAGS) as *const u32;
    let data = (PL011_BASE + PL011_DATA) as *mut u32;
    // SAFETY: the PL011 registers are device memory at these addresses on QEMU virt, and
    // the loader is the only thing driving the UART.
    unsafe {
        while flags.read_volatile() & PL011_FLAGS_TX_FULL != 0 {}
        data.write_volatile(u32::from(byte));
    }
}

/// Prints `LOADER PANIC: <reason>` and powers the machine off.
pub fn fail(reason: fmt::Arguments) -> ! {
    let _ = writeln!(Pl011, "LOADER PANIC: {reason}");
    power_off()
}

fn power_off() -> ! {
    // SAFETY: PSCI SYSTEM_OFF does not return when it works; if it does return (no PSCI),
    // the loop below parks the CPU.
    unsafe { asm!("hvc #0", inout("x0") PSCI_SYSTEM_OFF => _, clobber_abi("C"), options(nostack)) };
    loop {
        // SAFETY: waiting for an event has no side effects.
        unsafe { asm!("wfe", options(nomem, nostack)) };
    }
}
