//! Faults delivered to a fault endpoint: UnknownSyscall, UserException, VMFault and
//! CapFault messages (labels, lengths, register words) and reply-to-resume, including a
//! Linux-syscall fault taken by a handler already waiting in Recv and answered by
//! ReplyRecv (the kernel's fault fastpath) with all twelve restorable registers.

use crate::child::{asm, park, set_shared, shared, signal, write_buffer_mr, write_word};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::Tcb;
use sel4::syscall::{self, Blocking};
use sel4::{tcb_flag, Cap, CapRights, FaultType, MessageInfo, VmAttributes};

pub const TESTS: &[Test] = tests![
    faults_unknown_syscall_message,
    faults_unknown_syscall_reply_restores_registers,
    faults_user_exception_message_and_resume,
    faults_vm_fault_on_unmapped_load,
    faults_vm_fault_reply_after_map_resumes,
    faults_cap_fault_recv_on_empty_slot,
    faults_cap_fault_recv_without_read_right,
    faults_cap_fault_call_unresolvable_cptr,
    faults_linux_syscall_waiting_handler_reply_recv_restores_registers,
];

const FAULT_BADGE: u64 = 0xfa;
const LINK: u64 = 0x1e1e_1e1e;

/// A fault endpoint, a report endpoint (each with a badged send cap) and a park endpoint.
struct Endpoints {
    fault: u64,
    fault_send: u64,
    report: u64,
    report_send: u64,
    park: u64,
}

fn endpoints(ctx: &mut Ctx) -> Result<Endpoints, String> {
    let fault = ctx.endpoint()?;
    let fault_send = ctx.mint(fault, CapRights::all(), FAULT_BADGE)?;
    let report = ctx.endpoint()?;
    let report_send = ctx.mint(report, CapRights::all(), 0x4e)?;
    let park = ctx.park_endpoint()?;
    Ok(Endpoints {
        fault,
        fault_send,
        report,
        report_send,
        park,
    })
}

/// Starts assembly child `entry` with x19 = `parameter` and x22 = `value`.
fn start(
    ctx: &mut Ctx,
    entry: u64,
    parameter: u64,
    value: u64,
    endpoints: &Endpoints,
) -> Result<Spawned, String> {
    let mut thread = Thread::new(entry);
    thread.fault_ep = endpoints.fault_send;
    thread.saved = [parameter, endpoints.report_send, endpoints.park, value];
    thread.link = LINK;
    ctx.spawn(&thread)
}

/// Polls the fault endpoint and checks the fault's label, length and badge.
fn expect_fault(
    endpoints: &Endpoints,
    fault: FaultType,
    length: usize,
) -> Result<Received, String> {
    let message = poll(endpoints.fault, "the fault message")?;
    ensure!(
        message.badge == FAULT_BADGE,
        "fault badge {:#x}",
        message.badge
    );
    ensure!(
        message.info.label() == fault as u64,
        "fault label {} ({:?}), expected {fault:?}",
        message.info.label(),
        FaultType::from_label(message.info.label())
    );
    ensure!(
        message.info.length() == length,
        "{fault:?} length {}, expected {length}",
        message.info.length()
    );
    Ok(message)
}

fn faults_unknown_syscall_message(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let spawned = start(ctx, asm::unknown_syscall_child(), 0, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::UnknownSyscall, 13)?;
    for index in 0..7 {
        let expected = 0x10 + index as u64;
        ensure!(
            message.mr(index) == expected,
            "x{index} = {:#x}, expected {expected:#x}",
            message.mr(index)
        );
    }
    ensure!(message.mr(7) == 0x4242, "x7 = {:#x}", message.mr(7));
    ensure!(
        message.mr(8) == asm::unknown_syscall_svc(),
        "FaultIP {:#x}, svc at {:#x}",
        message.mr(8),
        asm::unknown_syscall_svc()
    );
    ensure!(
        message.mr(9) == spawned.sp,
        "SP {:#x}, expected {:#x}",
        message.mr(9),
        spawned.sp
    );
    ensure!(message.mr(10) == LINK, "LR {:#x}", message.mr(10));
    ensure!(
        message.mr(11) & 0x1f == 0,
        "SPSR {:#x} is not EL0t",
        message.mr(11)
    );
    ensure!(
        message.mr(12) == 0x4242,
        "Syscall word {:#x}",
        message.mr(12)
    );
    Ok(())
}

fn faults_unknown_syscall_reply_restores_registers(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    start(ctx, asm::unknown_syscall_child(), 0, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::UnknownSyscall, 13)?;
    let mut words = [0u64; 12];
    for (index, word) in words.iter_mut().enumerate() {
        *word = message.mr(index);
    }
    words[..4].copy_from_slice(&[0xa0, 0xa1, 0xa2, 0xa3]);
    words[8] += 4;
    reply_with(0, &words);
    let report = poll(endpoints.report, "the resumed thread's report")?;
    ensure!(
        report.mrs == [0xa0, 0xa1, 0xa2, 0xa3],
        "thread resumed with x0..x3 = {:x?}",
        report.mrs
    );
    Ok(())
}

fn faults_user_exception_message_and_resume(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let spawned = start(ctx, asm::udf_child(), 0, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::UserException, 5)?;
    ensure!(
        message.mr(0) == asm::udf_insn(),
        "FaultIP {:#x}, udf at {:#x}",
        message.mr(0),
        asm::udf_insn()
    );
    ensure!(message.mr(1) == spawned.sp, "SP {:#x}", message.mr(1));
    ensure!(message.mr(2) & 0x1f == 0, "SPSR {:#x}", message.mr(2));
    // Number is the ESR: exception class 0 (unknown reason) for an undefined instruction.
    ensure!(
        message.mr(3) >> 26 == 0,
        "ESR {:#x} has class {:#x}",
        message.mr(3),
        message.mr(3) >> 26
    );
    ensure!(message.mr(4) == 0, "Code {:#x}", message.mr(4));
    reply_with(0, &[message.mr(0) + 4, message.mr(1), message.mr(2)]);
    let report = poll(endpoints.report, "the resumed thread's report")?;
    ensure!(
        report.mrs[0] == 0x77,
        "resumed thread reported {:#x}",
        report.mrs[0]
    );
    Ok(())
}

fn faults_vm_fault_on_unmapped_load(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let address = ctx.scratch_address()? + 0x18;
    start(ctx, asm::load_child(), address, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::VmFault, 4)?;
    ensure!(
        message.mr(0) == asm::load_insn(),
        "IP {:#x}, load at {:#x}",
        message.mr(0),
        asm::load_insn()
    );
    ensure!(
        message.mr(1) == address,
        "Addr {:#x}, expected {address:#x}",
        message.mr(1)
    );
    ensure!(message.mr(2) == 0, "PrefetchFault {}", message.mr(2));
    let fsr = message.mr(3);
    ensure!(
        fsr >> 26 == 0x24,
        "FSR {fsr:#x}: class is not a data abort from EL0"
    );
    ensure!(fsr & 0x3c == 0x04, "FSR {fsr:#x}: not a translation fault");
    ensure!(
        fsr & (1 << 6) == 0,
        "FSR {fsr:#x}: a load reported as a write"
    );
    Ok(())
}

fn faults_vm_fault_reply_after_map_resumes(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let page = ctx.scratch_address()?;
    start(ctx, asm::load_child(), page + 0x40, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::VmFault, 4)?;
    ensure!(message.mr(1) == page + 0x40, "Addr {:#x}", message.mr(1));
    let frame = ctx.frame()?;
    sel(
        sel4::Cap::<sel4::cap_type::Granule>::from_bits(frame).frame_map(
            sel4::Cap::from_bits(ROOT_VSPACE),
            page,
            CapRights::read_write(),
            VmAttributes::default(),
        ),
        "map the faulting page",
    )?;
    write_word(page + 0x40, 0x5a5a_5a5a);
    reply_with(0, &[]);
    let report = poll(endpoints.report, "the resumed thread's report")?;
    ensure!(
        report.mrs[0] == 0x5a5a_5a5a,
        "resumed load read {:#x}",
        report.mrs[0]
    );
    Ok(())
}

fn faults_cap_fault_recv_on_empty_slot(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let empty = ctx.alloc_slot()?;
    start(ctx, asm::recv_empty_child(), empty, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::CapFault, 5)?;
    ensure!(
        message.mr(0) == asm::recv_empty_svc(),
        "IP {:#x}",
        message.mr(0)
    );
    ensure!(
        message.mr(1) == empty,
        "Addr {:#x}, expected {empty:#x}",
        message.mr(1)
    );
    ensure!(message.mr(2) == 1, "InRecvPhase {}", message.mr(2));
    ensure!(
        message.mr(3) == 2,
        "lookup failure type {}, expected MissingCapability",
        message.mr(3)
    );
    ensure!(message.mr(4) == 0, "bits left {}", message.mr(4));
    Ok(())
}

fn faults_cap_fault_recv_without_read_right(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let endpoint = ctx.endpoint()?;
    let write_only = ctx.copy(endpoint, CapRights(CapRights::WRITE))?;
    start(ctx, asm::recv_empty_child(), write_only, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::CapFault, 5)?;
    ensure!(message.mr(1) == write_only, "Addr {:#x}", message.mr(1));
    ensure!(message.mr(2) == 1, "InRecvPhase {}", message.mr(2));
    ensure!(message.mr(3) == 2, "lookup failure type {}", message.mr(3));
    Ok(())
}

fn faults_cap_fault_call_unresolvable_cptr(ctx: &mut Ctx) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    // Bit 20 lies in the root CNode's 52-bit zero guard: the lookup fails.
    let cptr = 1 << 20;
    start(ctx, asm::call_bad_child(), cptr, 0, &endpoints)?;
    let message = expect_fault(&endpoints, FaultType::CapFault, 7)?;
    ensure!(
        message.mr(0) == asm::call_bad_svc(),
        "IP {:#x}",
        message.mr(0)
    );
    ensure!(message.mr(1) == cptr, "Addr {:#x}", message.mr(1));
    ensure!(message.mr(2) == 0, "InRecvPhase {}", message.mr(2));
    ensure!(
        message.mr(3) == 4,
        "lookup failure type {}, expected GuardMismatch",
        message.mr(3)
    );
    Ok(())
}

// A Linux-syscall thread for the waiting-handler test: x0..x6 = 0x10..0x16, x7 = -1 (an
// seL4 Call number, which the flag must override) and x8 = 172 (getpid), then `svc`; the
// handler resumes it past that `svc`, at a second one, whose fault shows the registers it
// resumed with. It is never resumed again.
core::arch::global_asm!(
    ".section .text.kt_fast_fault_child, \"ax\"",
    ".balign 4",
    ".global kt_linux_twice_child",
    "kt_linux_twice_child:",
    "    mov x0, #0x10",
    "    mov x1, #0x11",
    "    mov x2, #0x12",
    "    mov x3, #0x13",
    "    mov x4, #0x14",
    "    mov x5, #0x15",
    "    mov x6, #0x16",
    "    mov x7, #-1",
    "    mov x8, #172",
    ".global kt_linux_twice_svc",
    "kt_linux_twice_svc:",
    "    svc #0",
    "    svc #0",
    "1:  b 1b",
    ".text",
);

extern "C" {
    fn kt_linux_twice_child();
    fn kt_linux_twice_svc();
}

/// The second fault's register values, as the handler's reply sets them.
const RESUME_SP: u64 = 0x7777_0000;
const RESUME_LR: u64 = 0x1e1e_0001;
/// N and Z set: the only SPSR bits a reply may change that the thread can observe.
const RESUME_FLAGS: u64 = 0b1100 << 28;
const LINUX_GETPID: u64 = 172;

/// Reads message register `index` of the IPC buffer at `buffer`.
fn read_buffer_mr(buffer: u64, index: usize) -> u64 {
    if buffer == 0 || index >= sel4::MSG_MAX_LENGTH {
        return 0;
    }
    let pointer = (buffer + 8 + 8 * index as u64) as *const u64;
    // SAFETY: `buffer` is the calling thread's own IPC buffer, a 1024-byte region mapped
    // for it; `index` < 120 keeps inside its message area.
    unsafe { pointer.read_volatile() }
}

/// A fault handler waiting in Recv on `fault_ep`: checks the first fault (SHARED[15] = 1
/// if it is right), answers it with ReplyRecv setting all twelve registers, and stores
/// the second fault's 13 words in SHARED[0..13], its label << 8 | length in SHARED[13]
/// and its badge in SHARED[14].
extern "C" fn child_linux_fault_handler(
    fault_ep: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    buffer: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let (badge, info, mrs) = syscall::recv(fault_ep, Blocking::Block);
    let first_ok = badge == FAULT_BADGE
        && info.label() == FaultType::UnknownSyscall as u64
        && info.length() == 13
        && mrs == [0x10, 0x11, 0x12, 0x13]
        && read_buffer_mr(buffer, 7) == (-1i64) as u64
        && read_buffer_mr(buffer, 12) == LINUX_GETPID;
    set_shared(15, if first_ok { 1 } else { 2 });
    let fault_ip = read_buffer_mr(buffer, 8);
    let spsr = read_buffer_mr(buffer, 11);
    for index in 4..8 {
        write_buffer_mr(buffer, index, 0xa0 + index as u64);
    }
    write_buffer_mr(buffer, 8, fault_ip + 4);
    write_buffer_mr(buffer, 9, RESUME_SP);
    write_buffer_mr(buffer, 10, RESUME_LR);
    write_buffer_mr(buffer, 11, spsr | RESUME_FLAGS);
    write_buffer_mr(buffer, 12, 0);
    let (badge, info, mrs) = syscall::reply_recv(
        fault_ep,
        MessageInfo::new(0, 0, 0, 13),
        [0xa0, 0xa1, 0xa2, 0xa3],
    );
    for (index, word) in mrs.iter().enumerate() {
        set_shared(index, *word);
    }
    for index in 4..13 {
        set_shared(index, read_buffer_mr(buffer, index));
    }
    set_shared(13, info.label() << 8 | info.length() as u64);
    set_shared(14, badge);
    signal(done);
    park(park_ep)
}

fn faults_linux_syscall_waiting_handler_reply_recv_restores_registers(
    ctx: &mut Ctx,
) -> Result<(), String> {
    let endpoints = endpoints(ctx)?;
    let handler = ctx.rust_child(
        child_linux_fault_handler,
        [endpoints.fault, 0, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    // Let the handler reach its Recv, so the fault finds it waiting.
    for _ in 0..5 {
        syscall::yield_now();
    }
    let mut thread = Thread::new(kt_linux_twice_child as *const () as u64);
    thread.fault_ep = endpoints.fault_send;
    thread.start = Start::Later;
    let spawned = ctx.spawn(&thread)?;
    let tcb = Cap::<Tcb>::from_bits(spawned.tcb);
    let flags = sel(tcb.tcb_set_flags(0, tcb_flag::LINUX_SYSCALL), "SetFlags")?;
    if flags & tcb_flag::LINUX_SYSCALL == 0 {
        // A kernel without this project's extension (seL4 16.0.0): nothing to check.
        return Ok(());
    }
    sel(tcb.tcb_resume(), "Resume")?;
    wait_done(&handler)?;
    ensure!(shared(15) == 1, "the first fault's message was wrong");
    for index in 0..8 {
        let expected = 0xa0 + index as u64;
        ensure!(
            shared(index) == expected,
            "resumed x{index} = {:#x}, expected {expected:#x}",
            shared(index)
        );
    }
    let second_svc = kt_linux_twice_svc as *const () as u64 + 4;
    ensure!(
        shared(8) == second_svc,
        "resumed at {:#x}, expected {second_svc:#x}",
        shared(8)
    );
    ensure!(shared(9) == RESUME_SP, "resumed SP {:#x}", shared(9));
    ensure!(shared(10) == RESUME_LR, "resumed LR {:#x}", shared(10));
    ensure!(
        shared(11) & 0xf000_001f == RESUME_FLAGS,
        "resumed SPSR {:#x}: flags or mode not as replied",
        shared(11)
    );
    ensure!(
        shared(12) == LINUX_GETPID,
        "second fault's Syscall word {:#x}",
        shared(12)
    );
    ensure!(
        shared(13) == (FaultType::UnknownSyscall as u64) << 8 | 13,
        "second fault label/length word {:#x}",
        shared(13)
    );
    ensure!(
        shared(14) == FAULT_BADGE,
        "second fault badge {:#x}",
        shared(14)
    );
    Ok(())
}
