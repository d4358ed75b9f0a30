//! The `_start` entry point and the hand-over to the root task's `main`.

use sel4::{BootInfo, IpcBuffer};

/// Bytes of the initial stack (in .bss, so the kernel maps it with the image).
const STACK_SIZE: usize = 256 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

#[no_mangle]
static mut __sel4_root_task_stack: Stack = Stack([0; STACK_SIZE]);

// The kernel enters with x0 = BootInfo and every other register, including sp, zero. Point
// sp at the top of the static stack, clear the frame pointer and link register so
// backtraces end here, and call the declared main with x0 untouched.
core::arch::global_asm!(
    ".section .text._start, \"ax\"",
    ".global _start",
    "_start:",
    "    adrp x9, {stack}",
    "    add x9, x9, :lo12:{stack}",
    "    mov x10, #{stack_size}",
    "    add sp, x9, x10",
    "    mov x29, xzr",
    "    mov x30, xzr",
    "    bl __sel4_root_task_main",
    "0:  b 0b",
    stack = sym __sel4_root_task_stack,
    stack_size = const STACK_SIZE,
);

/// Sets up the runtime (IPC buffer, heap, logger) and runs `main`. Called by the code
/// [`crate::declare_root_task!`] generates; not for direct use.
///
/// # Safety
/// `bootinfo` must be the BootInfo address the kernel passed in x0, called once.
pub unsafe fn run_main(bootinfo: *const BootInfo, main: fn(&'static BootInfo) -> !) -> ! {
    // SAFETY: per this function's contract, the address is that of the BootInfo frame the
    // kernel mapped for the root task; it stays mapped and unchanged for the task's life,
    // and the runtime hands out only shared references to it.
    let bootinfo: &'static BootInfo = unsafe { &*bootinfo };
    let ipc_buffer = bootinfo.ipc_buffer as *mut IpcBuffer;
    // SAFETY: BootInfo's ipc_buffer is the root task's IPC buffer, mapped by the kernel,
    // 1024-byte aligned and used only through `sel4::with_ipc_buffer` from now on.
    sel4::set_ipc_buffer(unsafe { &mut *ipc_buffer });
    crate::heap::init();
    crate::console::init_logger();
    main(bootinfo)
}
