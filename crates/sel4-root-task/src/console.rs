//! A console over `seL4_DebugPutChar`, and a `log` logger that writes to it.

use core::fmt;

/// Writes through `seL4_DebugPutChar`, one byte a syscall.
#[derive(Clone, Copy, Debug, Default)]
pub struct DebugConsole;

impl fmt::Write for DebugConsole {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        debug_print_str(text);
        Ok(())
    }
}

/// Prints `text` on the debug console.
pub fn debug_print_str(text: &str) {
    for byte in text.bytes() {
        sel4::syscall::debug_put_char(byte);
    }
}

/// A `log` logger that prints `<level> <target>: <message>` lines on the debug console.
#[derive(Debug)]
pub struct DebugLogger;

static LOGGER: DebugLogger = DebugLogger;

impl log::Log for DebugLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::debug_println!("{} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger at `Info` level (a root task may change it with `log::set_max_level`).
pub(crate) fn init_logger() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}
