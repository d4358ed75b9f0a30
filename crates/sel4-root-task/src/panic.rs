//! The panic handler: one `ROOT TASK PANIC:` line on the debug console, then halt.

use core::fmt::Write as _;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut console = crate::DebugConsole;
    let _ = write!(console, "ROOT TASK PANIC: {}", info.message());
    if let Some(location) = info.location() {
        let _ = write!(console, " at {}:{}", location.file(), location.line());
    }
    let _ = writeln!(console);
    loop {
        sel4::syscall::debug_halt();
    }
}
