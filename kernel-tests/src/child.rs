//! Child test threads: their static stacks, the memory they share with the root task, the
//! raw syscalls they may use (never the root task's IPC buffer), and the assembly bodies
//! whose exact instruction addresses and registers the fault tests check.

use core::sync::atomic::{AtomicU64, Ordering};
use sel4::syscall::{self, Blocking};
use sel4::{CPtr, MessageInfo};

const STACK_SIZE: usize = 16 * 1024;
const STACK_COUNT: usize = 6;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

static mut CHILD_STACKS: [Stack; STACK_COUNT] = [const { Stack([0; STACK_SIZE]) }; STACK_COUNT];

/// Words children write and the root task reads, cleared before each test.
pub static SHARED: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// Clears [`SHARED`].
pub fn reset_shared() {
    for word in &SHARED {
        word.store(0, Ordering::SeqCst);
    }
}

/// Reads shared word `index` (0 if out of range).
pub fn shared(index: usize) -> u64 {
    SHARED
        .get(index)
        .map_or(0, |word| word.load(Ordering::SeqCst))
}

/// Writes shared word `index` (ignored if out of range).
pub fn set_shared(index: usize, value: u64) {
    if let Some(word) = SHARED.get(index) {
        word.store(value, Ordering::SeqCst);
    }
}

/// Adds one to shared word `index` and returns the new value.
pub fn bump_shared(index: usize) -> u64 {
    SHARED
        .get(index)
        .map_or(0, |word| word.fetch_add(1, Ordering::SeqCst) + 1)
}

/// The (16-byte aligned) top of static stack `index`.
pub fn stack_top(index: usize) -> Option<u64> {
    if index >= STACK_COUNT {
        return None;
    }
    let base = core::ptr::addr_of!(CHILD_STACKS) as u64;
    Some(base + ((index + 1) * STACK_SIZE) as u64)
}

/// `seL4_Signal` on `notification`.
pub fn signal(notification: CPtr) {
    syscall::send(
        notification,
        MessageInfo::new(0, 0, 0, 0),
        [0; 4],
        Blocking::NonBlocking,
    );
}

/// Blocks forever: receives on `endpoint` (which nobody sends to) in a loop.
pub fn park(endpoint: CPtr) -> ! {
    loop {
        let _ = syscall::recv(endpoint, Blocking::Block);
    }
}

/// Writes word `index` of the message area of the IPC buffer at `buffer` (MR `index`).
pub fn write_buffer_mr(buffer: u64, index: usize, value: u64) {
    write_buffer_word(buffer, 8 + 8 * index as u64, value);
}

/// Writes the word at byte `offset` of the IPC buffer at `buffer`.
pub fn write_buffer_word(buffer: u64, offset: u64, value: u64) {
    if buffer == 0 || offset >= 1024 {
        return;
    }
    let pointer = (buffer + offset) as *mut u64;
    // SAFETY: `buffer` is the calling thread's own IPC buffer, a 1024-byte region the
    // runner mapped read-write for it alone; `offset` is below 1024 and 8-aligned.
    unsafe { pointer.write_volatile(value) };
}

/// Byte offsets in an IPC buffer (seL4's layout).
pub mod buffer_offset {
    pub const CAPS_OR_BADGES: u64 = 976;
}

/// Reads a word of ordinary memory the test mapped (scratch pages).
pub fn read_word(address: u64) -> u64 {
    // SAFETY: callers pass an 8-aligned address inside a page the test mapped readable in
    // the root VSpace and keeps mapped for the duration of the access.
    unsafe { (address as *const u64).read_volatile() }
}

/// Writes a word of ordinary memory the test mapped writable (scratch pages).
pub fn write_word(address: u64, value: u64) {
    // SAFETY: callers pass an 8-aligned address inside a page the test mapped read-write in
    // the root VSpace and keeps mapped for the duration of the access.
    unsafe { (address as *mut u64).write_volatile(value) };
}

/// Copies `bytes` into mapped memory at `address`.
pub fn write_bytes(address: u64, bytes: &[u8]) {
    for (offset, byte) in bytes.iter().enumerate() {
        let pointer = (address + offset as u64) as *mut u8;
        // SAFETY: callers pass a destination range inside a page the test mapped read-write
        // in the root VSpace.
        unsafe { pointer.write_volatile(*byte) };
    }
}

// Assembly children. Conventions: x19..x22 carry their parameters; a child that reports
// does `Send` on the badged endpoint in x20 with its results in MR0..MR3 (x2..x5); every
// child ends parked in `Recv` on the endpoint in x21, which nobody sends to.
core::arch::global_asm!(
    ".section .text.kt_children, \"ax\"",
    ".balign 4",
    // UnknownSyscall: x0..x6 = 0x10..0x16, x7 = 0x4242 (no seL4 syscall), svc. After the
    // handler's reply it reports the x0..x3 it resumed with.
    ".global kt_unknown_syscall_child",
    "kt_unknown_syscall_child:",
    "    mov x0, #0x10",
    "    mov x1, #0x11",
    "    mov x2, #0x12",
    "    mov x3, #0x13",
    "    mov x4, #0x14",
    "    mov x5, #0x15",
    "    mov x6, #0x16",
    "    mov x7, #0x4242",
    ".global kt_unknown_syscall_svc",
    "kt_unknown_syscall_svc:",
    "    svc #0",
    "    mov x5, x3",
    "    mov x4, x2",
    "    mov x3, x1",
    "    mov x2, x0",
    "    b kt_report4",
    // UserException: an undefined instruction; resumed past it, reports 0x77.
    ".global kt_udf_child",
    "kt_udf_child:",
    ".global kt_udf_insn",
    "kt_udf_insn:",
    "    udf #0",
    "    mov x2, #0x77",
    "    b kt_report1",
    // VMFault on a load from the address in x19; reports the loaded word.
    ".global kt_load_child",
    "kt_load_child:",
    ".global kt_load_insn",
    "kt_load_insn:",
    "    ldr x2, [x19]",
    "    b kt_report1",
    // VMFault on a store of x22 to the address in x19; reports 1 if it completes.
    ".global kt_store_child",
    "kt_store_child:",
    ".global kt_store_insn",
    "kt_store_insn:",
    "    str x22, [x19]",
    "    mov x2, #1",
    "    b kt_report1",
    // CapFault in the receive phase: Recv on the (empty) slot in x19.
    ".global kt_recv_empty_child",
    "kt_recv_empty_child:",
    "    mov x0, x19",
    "    mov x7, #-5",
    ".global kt_recv_empty_svc",
    "kt_recv_empty_svc:",
    "    svc #0",
    "    b kt_park",
    // CapFault in the send phase: Call on the CPtr in x19 (which does not resolve).
    ".global kt_call_bad_child",
    "kt_call_bad_child:",
    "    mov x0, x19",
    "    mov x1, #0",
    "    mov x7, #-1",
    ".global kt_call_bad_svc",
    "kt_call_bad_svc:",
    "    svc #0",
    "    b kt_park",
    // The Linux-syscall flag: svc with x7 = -9 (DebugPutChar) and x8 = x19; after the
    // reply it reports x0.
    ".global kt_linux_svc_child",
    "kt_linux_svc_child:",
    "    mov x0, #0x4b",
    "    mov x8, x19",
    "    mov x7, #-9",
    ".global kt_linux_svc",
    "kt_linux_svc:",
    "    svc #0",
    "    mov x2, x0",
    "    b kt_report1",
    "kt_report4:",
    "    mov x0, x20",
    "    mov x1, #4",
    "    mov x7, #-3",
    "    svc #0",
    "    b kt_park",
    "kt_report1:",
    "    mov x0, x20",
    "    mov x1, #1",
    "    mov x7, #-3",
    "    svc #0",
    "kt_park:",
    "    mov x0, x21",
    "    mov x7, #-5",
    "    svc #0",
    "    b kt_park",
    // Position-independent code the VSpace tests copy into fresh frames: an UnknownSyscall
    // with x7 = 0x4343, then a loop (it is never resumed).
    ".global kt_pic_start",
    "kt_pic_start:",
    "    mov x7, #0x4343",
    ".global kt_pic_svc",
    "kt_pic_svc:",
    "    svc #0",
    "    b kt_pic_svc",
    ".global kt_pic_end",
    "kt_pic_end:",
    ".text",
);

extern "C" {
    fn kt_unknown_syscall_child();
    fn kt_unknown_syscall_svc();
    fn kt_udf_child();
    fn kt_udf_insn();
    fn kt_load_child();
    fn kt_load_insn();
    fn kt_store_child();
    fn kt_store_insn();
    fn kt_recv_empty_child();
    fn kt_recv_empty_svc();
    fn kt_call_bad_child();
    fn kt_call_bad_svc();
    fn kt_linux_svc_child();
    fn kt_linux_svc();
    fn kt_pic_start();
    fn kt_pic_svc();
    fn kt_pic_end();
}

/// Addresses of the assembly children and of their faulting instructions.
pub mod asm {
    macro_rules! addresses {
        ($($name:ident => $symbol:ident,)*) => {
            $(
                pub fn $name() -> u64 {
                    super::$symbol as *const () as u64
                }
            )*
        };
    }
    addresses! {
        unknown_syscall_child => kt_unknown_syscall_child,
        unknown_syscall_svc => kt_unknown_syscall_svc,
        udf_child => kt_udf_child,
        udf_insn => kt_udf_insn,
        load_child => kt_load_child,
        load_insn => kt_load_insn,
        store_child => kt_store_child,
        store_insn => kt_store_insn,
        recv_empty_child => kt_recv_empty_child,
        recv_empty_svc => kt_recv_empty_svc,
        call_bad_child => kt_call_bad_child,
        call_bad_svc => kt_call_bad_svc,
        linux_svc_child => kt_linux_svc_child,
        linux_svc => kt_linux_svc,
        pic_start => kt_pic_start,
        pic_svc => kt_pic_svc,
        pic_end => kt_pic_end,
    }

    /// The bytes of the position-independent chunk.
    pub fn pic_code() -> &'static [u8] {
        let start = pic_start();
        let length = pic_end().saturating_sub(start) as usize;
        // SAFETY: [kt_pic_start, kt_pic_end) is part of this image's text, mapped readable
        // for the task's life; the labels are in one section, in that order.
        unsafe { core::slice::from_raw_parts(start as *const u8, length) }
    }
}
