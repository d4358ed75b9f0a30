//! Faults delivered to a fault endpoint: UnknownSyscall, UserException, VMFault and
//! CapFault messages (labels, lengths, register words) and reply-to-resume.

use crate::child::{asm, write_word};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::{CapRights, FaultType, VmAttributes};

pub const TESTS: &[Test] = tests![
    faults_unknown_syscall_message,
    faults_unknown_syscall_reply_restores_registers,
    faults_user_exception_message_and_resume,
    faults_vm_fault_on_unmapped_load,
    faults_vm_fault_reply_after_map_resumes,
    faults_cap_fault_recv_on_empty_slot,
    faults_cap_fault_recv_without_read_right,
    faults_cap_fault_call_unresolvable_cptr,
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
