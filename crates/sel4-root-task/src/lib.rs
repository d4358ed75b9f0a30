//! Root-task runtime in the shape of rust-sel4's `sel4-root-task`: the `_start` entry the
//! kernel jumps to, the initial stack, a heap, a panic handler and a console over
//! `seL4_DebugPutChar`.
//!
//! A root task declares its `main` with [`declare_root_task!`]:
//!
//! ```ignore
//! sel4_root_task::declare_root_task!(main);
//! fn main(bootinfo: &'static sel4::BootInfo) -> ! { ... }
//! ```
//!
//! The runtime works on any kernel that speaks the seL4 16.0.0 ABI: it relies only on the
//! boot register state (x0 = BootInfo, sp = 0) and on BootInfo's IPC buffer address.
#![no_std]

mod console;
mod entry;
pub mod heap;
mod panic;

pub use console::{debug_print_str, DebugConsole, DebugLogger};
pub use entry::run_main;
pub use heap::HEAP_SIZE;

/// Declares `$main` (a `fn(&'static sel4::BootInfo) -> !`) as the root task's entry point.
#[macro_export]
macro_rules! declare_root_task {
    ($main:path) => {
        #[no_mangle]
        extern "C" fn __sel4_root_task_main(bootinfo: *const $crate::_private::BootInfo) -> ! {
            // SAFETY: `_start` calls this exactly once with the BootInfo address the kernel
            // passed in x0.
            unsafe { $crate::run_main(bootinfo, $main) }
        }
    };
}

/// Prints to the debug console.
#[macro_export]
macro_rules! debug_print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::DebugConsole, $($arg)*);
    }};
}

/// Prints a line to the debug console.
#[macro_export]
macro_rules! debug_println {
    () => { $crate::debug_print!("\n") };
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::DebugConsole, $($arg)*);
    }};
}

#[doc(hidden)]
pub mod _private {
    pub use sel4::BootInfo;
}
