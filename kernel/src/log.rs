//! Kernel console output: compile-time log levels and the panic epitaph.
//!
//! A normal boot prints nothing. `SEL4_KERNEL_LOG=error|warn|info|debug|trace` at build
//! time enables messages up to that level (default `error`). A kernel bug prints exactly
//! one line, `KERNEL PANIC: <reason>`, and powers the machine off.

use core::fmt::{self, Write};

/// Message levels, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// The level this kernel was built with.
pub const MAX_LEVEL: Level = parse_level(option_env!("SEL4_KERNEL_LOG"));

const fn parse_level(setting: Option<&str>) -> Level {
    let Some(setting) = setting else {
        return Level::Error;
    };
    match setting.as_bytes() {
        b"warn" => Level::Warn,
        b"info" => Level::Info,
        b"debug" => Level::Debug,
        b"trace" => Level::Trace,
        _ => Level::Error,
    }
}

/// The kernel console.
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            if byte == b'\n' {
                crate::plat::pl011::put_byte(b'\r');
            }
            crate::plat::pl011::put_byte(byte);
        }
        Ok(())
    }
}

/// Prints one log line if `level` is enabled.
pub fn log(level: Level, message: fmt::Arguments) {
    if level <= MAX_LEVEL {
        let _ = writeln!(Console, "kernel: {message}");
    }
}

/// Prints the panic line and powers off.
pub fn panic_with(message: fmt::Arguments) -> ! {
    let _ = writeln!(Console, "KERNEL PANIC: {message}");
    crate::plat::psci::system_off()
}

/// Logs at a level: `log!(Debug, "format", args...)`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($argument:tt)*) => {
        if $crate::log::Level::$level <= $crate::log::MAX_LEVEL {
            $crate::log::log($crate::log::Level::$level, format_args!($($argument)*))
        }
    };
}

/// Halts the system with `KERNEL PANIC: <message>` (kernel bugs only).
#[macro_export]
macro_rules! kernel_panic {
    ($($argument:tt)*) => {
        $crate::log::panic_with(format_args!($($argument)*))
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(location) => panic_with(format_args!(
            "{} at {}:{}",
            info.message(),
            location.file(),
            location.line()
        )),
        None => panic_with(format_args!("{}", info.message())),
    }
}
