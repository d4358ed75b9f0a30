//! The benchmarks' peer threads: assembly bodies (an IPC server on pages of its own, a
//! thread that raises UnknownSyscall faults in a loop, one that touches page after page)
//! and creating and starting them.

use crate::resources::{sel, Scope, PEER_PRIORITY, ROOT_CNODE, ROOT_TCB};
use alloc::string::String;
use sel4::cap_type::Tcb;
use sel4::{CPtr, Cap, ObjectType, UserContext};

// The IPC servers live in `.text.bench_server`, which the linker script places on pages of
// their own, so that a separate VSpace can map exactly those image frames. They use no
// stack and no memory except (words server) their IPC buffer.
core::arch::global_asm!(
    ".section .text.bench_server, \"ax\"",
    ".balign 4",
    // x19 = endpoint. Receives, then answers every message with MR0 + 1 and the rest as
    // received, by ReplyRecv with the received MessageInfo.
    ".global bench_server_one_word",
    "bench_server_one_word:",
    "    mov x0, x19",
    "    mov x7, #-5",
    "    svc #0",
    "1:  add x2, x2, #1",
    "    mov x0, x19",
    "    mov x7, #-2",
    "    svc #0",
    "    b 1b",
    // The same, and MR4 + 1 too (MR4 is in the IPC buffer at x20 + 8 + 4 * 8), so the
    // client can tell that words beyond the registers travelled both ways.
    ".global bench_server_words",
    "bench_server_words:",
    "    mov x0, x19",
    "    mov x7, #-5",
    "    svc #0",
    "2:  add x2, x2, #1",
    "    ldr x9, [x20, #40]",
    "    add x9, x9, #1",
    "    str x9, [x20, #40]",
    "    mov x0, x19",
    "    mov x7, #-2",
    "    svc #0",
    "    b 2b",
    ".text",
);

// The faulting thread: counts in x0 and executes `svc #0` with x7 = x20 and x8 = x21 (not
// an seL4 system call), forever. A handler that replies with FaultIP + 4 resumes it at the
// branch back, so x0 in each fault message is one more than in the previous one.
core::arch::global_asm!(
    ".section .text.bench_fault_child, \"ax\"",
    ".balign 4",
    ".global bench_fault_child",
    "bench_fault_child:",
    "    mov x0, #0",
    "3:  add x0, x0, #1",
    "    mov x7, x20",
    "    mov x8, x21",
    ".global bench_fault_svc",
    "bench_fault_svc:",
    "    svc #0",
    "    b 3b",
    ".text",
);

// The page toucher: stores x0 = 1, 2, 3, ... at x19, x19 + x20, x19 + 2 * x20, ...
// forever. Each store to an unmapped page is a VMFault, restarted (the store re-executed)
// by the handler's reply; with x20 = 0 it keeps touching the same page.
core::arch::global_asm!(
    ".section .text.bench_vm_toucher, \"ax\"",
    ".balign 4",
    ".global bench_vm_toucher",
    "bench_vm_toucher:",
    "    mov x0, #0",
    "5:  add x0, x0, #1",
    ".global bench_vm_touch",
    "bench_vm_touch:",
    "    str x0, [x19]",
    "    add x19, x19, x20",
    "    b 5b",
    ".text",
);

extern "C" {
    fn bench_vm_toucher();
    fn bench_vm_touch();
    fn bench_server_one_word();
    fn bench_server_words();
    fn bench_fault_child();
    fn bench_fault_svc();
    static __bench_image_start: u8;
    static __bench_server_start: u8;
    static __bench_server_end: u8;
}

pub fn server_one_word() -> u64 {
    bench_server_one_word as *const () as u64
}

pub fn server_words() -> u64 {
    bench_server_words as *const () as u64
}

pub fn fault_child() -> u64 {
    bench_fault_child as *const () as u64
}

/// The address of the faulting thread's `svc`, the FaultIP of its faults.
pub fn fault_svc() -> u64 {
    bench_fault_svc as *const () as u64
}

pub fn vm_toucher() -> u64 {
    bench_vm_toucher as *const () as u64
}

/// The address of the toucher's store, the FaultIP of its VMFaults.
pub fn vm_touch() -> u64 {
    bench_vm_touch as *const () as u64
}

/// The lowest address of the root task's image (the first of BootInfo's image frames).
pub fn image_start() -> u64 {
    core::ptr::addr_of!(__bench_image_start) as u64
}

/// The page-aligned range of the servers' code.
pub fn server_pages() -> (u64, u64) {
    (
        core::ptr::addr_of!(__bench_server_start) as u64,
        core::ptr::addr_of!(__bench_server_end) as u64,
    )
}

/// How to make a peer thread. It runs in the root task's CSpace at [`PEER_PRIORITY`].
pub struct Peer {
    pub entry: u64,
    /// x19, x20, x21 at entry.
    pub arguments: [u64; 3],
    pub vspace: CPtr,
    /// The IPC buffer's frame cap and address (frame 0, address 0 for none).
    pub ipc_buffer: (CPtr, u64),
    /// Where its faults go (0 for nowhere).
    pub fault_endpoint: CPtr,
}

/// Creates and configures the thread `peer` describes, without starting it.
///
/// # Errors
/// The root task's priority could not be set (a peer would not share it), or the kernel's
/// error at any step.
pub fn create(scope: &mut Scope<'_>, peer: &Peer) -> Result<CPtr, String> {
    scope.resources.priority.clone()?;
    let tcb = scope.retype(ObjectType::Tcb, 0)?;
    let tcb_cap = Cap::<Tcb>::from_bits(tcb);
    sel(
        tcb_cap.tcb_configure(
            peer.fault_endpoint,
            Cap::from_bits(ROOT_CNODE),
            0,
            Cap::from_bits(peer.vspace),
            peer.ipc_buffer.1,
            Cap::from_bits(peer.ipc_buffer.0),
        ),
        "TCBConfigure",
    )?;
    sel(
        tcb_cap.tcb_set_priority(Cap::from_bits(ROOT_TCB), PEER_PRIORITY),
        "TCBSetPriority",
    )?;
    Ok(tcb)
}

/// Sets the registers of `tcb` as `peer` describes and resumes it. It shares the root
/// task's priority, so it first runs when the root task yields or blocks.
///
/// # Errors
/// The kernel's error.
pub fn start(tcb: CPtr, peer: &Peer) -> Result<(), String> {
    let context = UserContext {
        pc: peer.entry,
        x19: peer.arguments[0],
        x20: peer.arguments[1],
        x21: peer.arguments[2],
        ..UserContext::default()
    };
    sel(
        Cap::<Tcb>::from_bits(tcb).tcb_write_registers(true, &context),
        "TCBWriteRegisters (resume)",
    )
}
