//! VMFaults answered by a handler thread that maps the page and replies, the pattern of
//! every first touch of a lazily mapped page: the kernel's VMFault fastpaths (delivery to
//! a handler waiting in Recv or ReplyRecv, and a label-0 ReplyRecv that restarts the
//! faulting instruction) and the general path they stand in for, with FP/SIMD state
//! kept across the direct switches, restart semantics whatever the reply's label, and
//! priorities respected.

use crate::child::{bump_shared, park, read_word, set_shared, shared, signal, write_buffer_word};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::Tcb;
use sel4::syscall::{self, Blocking};
use sel4::{vm_fault, Cap, CapRights, FaultType, InvocationLabel, MessageInfo, VmAttributes};

pub const TESTS: &[Test] = tests![
    vm_fault_waiting_handler_maps_each_page_and_resumes,
    vm_fault_queued_before_the_handler_waits_takes_the_general_path,
    vm_fault_reply_restarts_at_the_faulting_instruction_whatever_its_label,
    vm_fault_handler_below_a_runnable_thread_runs_after_it,
];

const FAULT_BADGE: u64 = 0xfa;
const REPORT_BADGE: u64 = 0x4e;
/// Pages the toucher writes (one VMFault each).
const PAGES: u64 = 4;
/// d16 of the toucher and of the handler: each must keep its own across the switches.
const TOUCHER_FP: u64 = 0x4005_bf0a_8b14_5769;
const HANDLER_FP: u64 = 0x4009_21fb_5444_2d18;
/// Byte offset of `caps_or_badges[0]` in an IPC buffer.
const CAPS_OFFSET: u64 = 976;

// The toucher: x19 = first page, x20 = report endpoint (badged), x21 = park endpoint,
// x22 = its d16 value, x6 = page count. Stores i + 1 at page i for each page (each store
// faults once, and the handler maps the page), then sends MR0 = pages stored and
// MR1 = d16 to the report endpoint and parks. It uses no stack.
core::arch::global_asm!(
    ".section .text.kt_vm_toucher, \"ax\"",
    ".balign 4",
    ".global kt_vm_toucher",
    "kt_vm_toucher:",
    "    mov x23, x6",
    "    fmov d16, x22",
    "    mov x24, #0",
    "1:  add x25, x24, #1",
    "    lsl x26, x24, #12",
    "    add x26, x26, x19",
    ".global kt_vm_toucher_store",
    "kt_vm_toucher_store:",
    "    str x25, [x26]",
    "    add x24, x24, #1",
    "    cmp x24, x23",
    "    b.ne 1b",
    "    mov x2, x24",
    "    fmov x3, d16",
    "    mov x0, x20",
    "    mov x1, #2",
    "    mov x7, #-3",
    "    svc #0",
    "2:  mov x0, x21",
    "    mov x7, #-5",
    "    svc #0",
    "    b 2b",
    ".text",
);

extern "C" {
    fn kt_vm_toucher();
    fn kt_vm_toucher_store();
}

fn toucher_store() -> u64 {
    kt_vm_toucher_store as *const () as u64
}

/// How the handler answers.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
enum Mode {
    /// Waits in Recv; maps each faulting page and answers with ReplyRecv, label 0.
    MapEach = 1,
    /// The same with Reply then Recv, which the fastpath does not serve.
    ReplyThenRecv = 2,
    /// Answers the first fault twice without mapping (ReplyRecv label 0, then label 0x33
    /// with four words), expecting the same fault again each time, then as `MapEach`.
    RestartFirst = 3,
}

// SHARED words.
const TURN: usize = 0;
const MIDDLE_TURN: usize = 1;
const HANDLER_TURN: usize = 2;
const FAULTS: usize = 3;
const FAILURE: usize = 4;
const HANDLER_READY: usize = 5;
const FAILURE_VALUE: usize = 6;

/// Why the handler stopped (SHARED[FAILURE]); SHARED[FAILURE_VALUE] has the value seen.
const WRONG_BADGE: u64 = 1;
const WRONG_LABEL: u64 = 2;
const WRONG_LENGTH: u64 = 3;
const WRONG_IP: u64 = 4;
const WRONG_ADDRESS: u64 = 5;
const WRONG_PREFETCH: u64 = 6;
const WRONG_FSR: u64 = 7;
const MAP_FAILED: u64 = 8;

/// The handler: args are the fault endpoint, the first of `PAGES` frame caps (in
/// consecutive slots), the first page, the [`Mode`] and the report endpoint; x5 is its
/// IPC buffer. Counts faults in SHARED[FAULTS] and records its turn at the first; on a
/// wrong message or a failed map it gives up (see [`give_up`]).
extern "C" fn child_vm_fault_handler(
    fault_ep: u64,
    first_frame: u64,
    first_page: u64,
    mode: u64,
    report_send: u64,
    buffer: u64,
    _: u64,
    park_ep: u64,
) -> ! {
    set_shared(HANDLER_READY, 1);
    let (mut badge, mut info, mut mrs) = syscall::recv(fault_ep, Blocking::Block);
    set_shared(HANDLER_TURN, bump_shared(TURN));
    let mut page = 0u64;
    let mut repeats = 0u64;
    loop {
        bump_shared(FAULTS);
        if let Err((why, value)) = check_fault(badge, info, mrs, first_page + page * 4096) {
            give_up(why, value, report_send, park_ep);
        }
        // Make the handler own the FP/SIMD registers, so the toucher's d16 must be saved
        // and restored around it.
        // SAFETY: only d16 (declared) changes.
        unsafe { core::arch::asm!("fmov d16, {}", in(reg) HANDLER_FP, out("v16") _) };
        if mode == Mode::RestartFirst as u64 && repeats < 2 {
            // Nothing mapped: the thread must fault again at the same instruction and
            // address, whatever the label and message.
            let (label, length) = if repeats == 0 { (0, 0) } else { (0x33, 4) };
            repeats += 1;
            (badge, info, mrs) = syscall::reply_recv(
                fault_ep,
                MessageInfo::new(label, 0, 0, length),
                [0xdead, 0xbeef, 0xf00d, 0xcafe],
            );
            continue;
        }
        let label = map_page(buffer, first_frame + page, first_page + page * 4096);
        if label != 0 {
            give_up(MAP_FAILED, label, report_send, park_ep);
        }
        page += 1;
        let answer = MessageInfo::new(0, 0, 0, 0);
        (badge, info, mrs) = if mode == Mode::ReplyThenRecv as u64 {
            syscall::reply(answer, [0; 4]);
            syscall::recv(fault_ep, Blocking::Block)
        } else {
            syscall::reply_recv(fault_ep, answer, [0; 4])
        };
    }
}

/// Records why the handler stops, wakes the root task (which may be blocked waiting for
/// the toucher's report) with an empty report, and parks.
fn give_up(why: u64, value: u64, report_send: u64, park_ep: u64) -> ! {
    set_shared(FAILURE_VALUE, value);
    set_shared(FAILURE, why);
    syscall::send(
        report_send,
        MessageInfo::new(0, 0, 0, 0),
        [0; 4],
        Blocking::Block,
    );
    park(park_ep)
}

/// ARMPageMap of `frame` at `page` in the root VSpace, read-write, from a child thread:
/// the extra cap goes in the child's own IPC buffer at `buffer` (the sel4 crate's
/// invocation stubs use the root task's). Returns the reply's label (0: mapped).
fn map_page(buffer: u64, frame: u64, page: u64) -> u64 {
    write_buffer_word(buffer, CAPS_OFFSET, ROOT_VSPACE);
    let info = MessageInfo::new(InvocationLabel::ARMPageMap as u64, 0, 1, 3);
    let words = [
        page,
        CapRights::read_write().0,
        VmAttributes::default().0,
        0,
    ];
    let (reply, _) = syscall::call(frame, info, words);
    reply.label()
}

/// Checks one VMFault message: a data abort (translation fault, write) on the toucher's
/// store to `address`.
fn check_fault(
    badge: u64,
    info: MessageInfo,
    mrs: [u64; 4],
    address: u64,
) -> Result<(), (u64, u64)> {
    let fsr = mrs[vm_fault::FSR];
    let checks = [
        (badge == FAULT_BADGE, WRONG_BADGE, badge),
        (
            info.label() == FaultType::VmFault as u64,
            WRONG_LABEL,
            info.label(),
        ),
        (
            info.length() == vm_fault::LENGTH,
            WRONG_LENGTH,
            info.length() as u64,
        ),
        (
            mrs[vm_fault::IP] == toucher_store(),
            WRONG_IP,
            mrs[vm_fault::IP],
        ),
        (
            mrs[vm_fault::ADDR] == address,
            WRONG_ADDRESS,
            mrs[vm_fault::ADDR],
        ),
        (
            mrs[vm_fault::PREFETCH_FAULT] == 0,
            WRONG_PREFETCH,
            mrs[vm_fault::PREFETCH_FAULT],
        ),
        // A data abort from EL0, translation fault, on a write (WnR).
        (
            fsr >> 26 == 0x24 && fsr & 0x3c == 0x04 && fsr & (1 << 6) != 0,
            WRONG_FSR,
            fsr,
        ),
    ];
    match checks.iter().find(|(ok, _, _)| !ok) {
        Some(&(_, why, value)) => Err((why, value)),
        None => Ok(()),
    }
}

/// Records its turn in SHARED[MIDDLE_TURN] and signals done.
extern "C" fn child_middle(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    set_shared(MIDDLE_TURN, bump_shared(TURN));
    signal(done);
    park(park_ep)
}

/// A toucher's world: its fault and report endpoints, `PAGES` frames in consecutive
/// slots and as many consecutive unmapped scratch pages.
struct Setup {
    fault: u64,
    fault_send: u64,
    report: u64,
    report_send: u64,
    park: u64,
    first_frame: u64,
    first_page: u64,
}

fn setup(ctx: &mut Ctx) -> Result<Setup, String> {
    let fault = ctx.endpoint()?;
    let fault_send = ctx.mint(fault, CapRights::all(), FAULT_BADGE)?;
    let report = ctx.endpoint()?;
    let report_send = ctx.mint(report, CapRights::all(), REPORT_BADGE)?;
    let park = ctx.park_endpoint()?;
    let first_frame = ctx.frame()?;
    for index in 1..PAGES {
        let frame = ctx.frame()?;
        ensure!(
            frame == first_frame + index,
            "frame caps not in consecutive slots"
        );
    }
    let first_page = ctx.scratch_address()?;
    for index in 1..PAGES {
        let page = ctx.scratch_address()?;
        ensure!(
            page == first_page + index * 4096,
            "scratch pages not consecutive"
        );
    }
    Ok(Setup {
        fault,
        fault_send,
        report,
        report_send,
        park,
        first_frame,
        first_page,
    })
}

/// Starts the toucher at `priority` (it runs at once if that is above the root task's).
fn start_toucher(ctx: &mut Ctx, setup: &Setup, priority: u64) -> Result<u64, String> {
    let mut thread = Thread::new(kt_vm_toucher as *const () as u64);
    thread.fault_ep = setup.fault_send;
    thread.saved = [setup.first_page, setup.report_send, setup.park, TOUCHER_FP];
    thread.args[6] = PAGES;
    thread.priority = priority;
    thread.stack = StackChoice::None;
    Ok(ctx.spawn(&thread)?.tcb)
}

fn start_handler(ctx: &mut Ctx, setup: &Setup, mode: Mode) -> Result<RustChild, String> {
    ctx.rust_child(
        child_vm_fault_handler,
        [
            setup.fault,
            setup.first_frame,
            setup.first_page,
            mode as u64,
            setup.report_send,
        ],
        ROOT_PRIORITY,
        0,
    )
}

/// Yields until the handler has marked itself ready and a few times more, so it is
/// blocked in Recv (it blocks there before the root task runs again).
fn wait_for_handler() -> Result<(), String> {
    for _ in 0..POLL_LIMIT {
        if shared(HANDLER_READY) == 1 {
            for _ in 0..3 {
                syscall::yield_now();
            }
            return Ok(());
        }
        syscall::yield_now();
    }
    Err(String::from("the handler never started"))
}

/// Polls for the toucher's report; on a timeout says how far the handler got.
fn wait_report(setup: &Setup) -> Result<Received, String> {
    poll(setup.report, "the toucher's report").map_err(|error| {
        alloc::format!(
            "{error}: handler saw {} faults, failure {} ({:#x})",
            shared(FAULTS),
            shared(FAILURE),
            shared(FAILURE_VALUE)
        )
    })
}

/// Checks the toucher's report (every page stored, d16 kept), the handler's record
/// (`faults` faults, no wrong message) and each page's contents.
fn check_outcome(setup: &Setup, report: &Received, faults: u64) -> Result<(), String> {
    ensure!(
        shared(FAILURE) == 0,
        "handler stopped: reason {} (value {:#x})",
        shared(FAILURE),
        shared(FAILURE_VALUE)
    );
    ensure!(
        report.badge == REPORT_BADGE && report.mrs[0] == PAGES,
        "report badge {:#x}, pages {}",
        report.badge,
        report.mrs[0]
    );
    ensure!(
        report.mrs[1] == TOUCHER_FP,
        "the toucher's d16 became {:#x} across its faults",
        report.mrs[1]
    );
    ensure!(
        shared(FAULTS) == faults,
        "handler saw {} faults, expected {faults}",
        shared(FAULTS)
    );
    for page in 0..PAGES {
        let value = read_word(setup.first_page + page * 4096);
        ensure!(value == page + 1, "page {page} holds {value:#x}");
    }
    Ok(())
}

fn vm_fault_waiting_handler_maps_each_page_and_resumes(ctx: &mut Ctx) -> Result<(), String> {
    let setup = setup(ctx)?;
    start_handler(ctx, &setup, Mode::MapEach)?;
    wait_for_handler()?;
    // Same priority as the handler: each fault finds it waiting and next to run, and each
    // ReplyRecv finds the toucher next to run (both fastpaths).
    start_toucher(ctx, &setup, ROOT_PRIORITY)?;
    let report = wait_report(&setup)?;
    check_outcome(&setup, &report, PAGES)
}

fn vm_fault_queued_before_the_handler_waits_takes_the_general_path(
    ctx: &mut Ctx,
) -> Result<(), String> {
    let setup = setup(ctx)?;
    // Above the root task, the toucher runs at once and faults with no handler waiting:
    // the fault is queued on the endpoint.
    start_toucher(ctx, &setup, ROOT_PRIORITY + 1)?;
    // The handler takes it from the queue, and answers with Reply then Recv; the
    // toucher, of higher priority, runs at the Reply and faults again before the handler
    // waits, so every fault is queued first.
    start_handler(ctx, &setup, Mode::ReplyThenRecv)?;
    let report = wait_report(&setup)?;
    check_outcome(&setup, &report, PAGES)
}

fn vm_fault_reply_restarts_at_the_faulting_instruction_whatever_its_label(
    ctx: &mut Ctx,
) -> Result<(), String> {
    let setup = setup(ctx)?;
    start_handler(ctx, &setup, Mode::RestartFirst)?;
    wait_for_handler()?;
    start_toucher(ctx, &setup, ROOT_PRIORITY)?;
    let report = wait_report(&setup)?;
    // seL4 restarts a thread after any reply to its VMFault (the label and message are
    // ignored), so the unanswered first fault comes back twice.
    check_outcome(&setup, &report, PAGES + 2)
}

fn vm_fault_handler_below_a_runnable_thread_runs_after_it(ctx: &mut Ctx) -> Result<(), String> {
    let setup = setup(ctx)?;
    let handler = start_handler(ctx, &setup, Mode::MapEach)?;
    wait_for_handler()?;
    // Now waiting in Recv, the handler drops below a thread that is ready to run.
    sel(
        Cap::<Tcb>::from_bits(handler.tcb)
            .tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY - 2),
        "lower the handler's priority",
    )?;
    let middle = ctx.rust_child(child_middle, [0; 5], ROOT_PRIORITY - 1, 0)?;
    ensure!(shared(TURN) == 0, "a lower-priority thread ran too soon");
    // The toucher outranks everyone and faults at once; the handler must not run before
    // the middle thread, which must not run before the root task blocks.
    start_toucher(ctx, &setup, ROOT_PRIORITY + 1)?;
    ensure!(
        shared(TURN) == 0,
        "the handler or the middle thread ran before the root task blocked"
    );
    let (badge, info, mrs) = syscall::recv(setup.report, Blocking::Block);
    let report = Received { badge, info, mrs };
    ensure!(
        shared(MIDDLE_TURN) == 1 && shared(HANDLER_TURN) == 2,
        "turns: middle thread {}, handler {} (the runnable thread of higher priority must \
         run before the handler the fault woke)",
        shared(MIDDLE_TURN),
        shared(HANDLER_TURN)
    );
    wait_done(&middle)?;
    check_outcome(&setup, &report, PAGES)
}
