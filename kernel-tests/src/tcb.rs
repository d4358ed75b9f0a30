//! TCBs: Configure, SetSpace, SetIPCBuffer, priorities and MCPs, Read/WriteRegisters,
//! Suspend/Resume, SetTLSBase, notification binding, FP/SIMD state, and SetFlags with the
//! project's Linux-syscall extension bit.

use crate::child::{asm, bump_shared, park, set_shared, shared, signal};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::Tcb;
use sel4::syscall::yield_now;
use sel4::{tcb_flag, Cap, CapRights, Error, FaultType, InvocationLabel, ObjectType, UserContext};

pub const TESTS: &[Test] = tests![
    tcb_configure_resume_runs_child,
    tcb_set_space_and_ipc_buffer_then_run,
    tcb_write_registers_self_illegal_operation,
    tcb_read_registers_self_illegal_operation,
    tcb_read_registers_count_range_error,
    tcb_write_read_registers_round_trip,
    tcb_suspend_stops_and_resume_restarts,
    tcb_set_priority_above_mcp_range_error,
    tcb_set_priority_above_max_range_error,
    tcb_set_mc_priority_limits_authority,
    tcb_set_sched_params_checks_both,
    tcb_configure_misaligned_ipc_buffer_alignment_error,
    tcb_configure_ipc_buffer_not_frame_illegal_operation,
    tcb_configure_cspace_not_cnode_illegal_operation,
    tcb_configure_truncated_message,
    tcb_set_tls_base_visible_to_thread,
    tcb_bind_unbind_notification_errors,
    tcb_fpu_registers_preserved_across_switches,
    tcb_bad_label_illegal_operation,
    tcb_set_flags_linux_syscall,
];

extern "C" fn child_store_arg(
    value: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    set_shared(0, value);
    signal(done);
    park(park_ep)
}

extern "C" fn child_count_forever(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    loop {
        bump_shared(0);
        yield_now();
    }
}

extern "C" fn child_read_tls(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let tls: u64;
    // SAFETY: reading TPIDR_EL0 has no side effects; EL0 may read it.
    unsafe { core::arch::asm!("mrs {0}, tpidr_el0", out(reg) tls, options(nomem, nostack)) };
    set_shared(0, tls);
    signal(done);
    park(park_ep)
}

/// Loads `value` into d16, yields 20 times, and records in SHARED[`index`] 1 if d16 still
/// holds it, 2 if not.
extern "C" fn child_fpu(
    value: u64,
    index: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let after: u64;
    // SAFETY: the block uses only the registers it declares; Yield (x7 = -7) preserves
    // every user register, so d16 must survive it unless the kernel loses FP state.
    unsafe {
        core::arch::asm!(
            "fmov d16, {value}",
            "mov {count}, #20",
            "1:",
            "mov x7, #-7",
            "svc #0",
            "subs {count}, {count}, #1",
            "b.ne 1b",
            "fmov {after}, d16",
            value = in(reg) value,
            count = out(reg) _,
            after = out(reg) after,
            out("x7") _,
            out("v16") _,
            options(nostack),
        );
    }
    set_shared(index as usize, if after == value { 1 } else { 2 });
    signal(done);
    park(park_ep)
}

fn tcb_configure_resume_runs_child(ctx: &mut Ctx) -> Result<(), String> {
    let child = ctx.rust_child(child_store_arg, [0xc0ffee, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    wait_done(&child)?;
    ensure!(shared(0) == 0xc0ffee, "child stored {:#x}", shared(0));
    Ok(())
}

fn tcb_set_space_and_ipc_buffer_then_run(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let done = ctx.notification()?;
    let done_send = ctx.mint(done, CapRights::all(), 1)?;
    let park_ep = ctx.endpoint()?;
    let (frame, buffer) = ctx.scratch_page()?;
    let tcb_cap = Cap::<Tcb>::from_bits(tcb);
    sel(
        tcb_cap.tcb_set_space(
            0,
            sel4::Cap::from_bits(ROOT_CNODE),
            0,
            sel4::Cap::from_bits(ROOT_VSPACE),
        ),
        "TCBSetSpace",
    )?;
    sel(
        tcb_cap.tcb_set_ipc_buffer(buffer, sel4::Cap::from_bits(frame)),
        "TCBSetIPCBuffer",
    )?;
    sel(
        tcb_cap.tcb_set_priority(sel4::Cap::from_bits(ROOT_TCB), ROOT_PRIORITY),
        "SetPriority",
    )?;
    let context = UserContext {
        pc: child_store_arg as *const () as u64,
        sp: ctx.stack_top()?,
        x0: 0x5ace,
        x6: done_send,
        x7: park_ep,
        ..UserContext::default()
    };
    sel(
        tcb_cap.tcb_write_registers(true, &context),
        "WriteRegisters + resume",
    )?;
    poll(done, "the child to signal")?;
    ensure!(shared(0) == 0x5ace, "child stored {:#x}", shared(0));
    Ok(())
}

fn tcb_write_registers_self_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let _ = ctx;
    let reply = call(
        ROOT_TCB,
        InvocationLabel::TCBWriteRegisters,
        &[0, 1, 0x400000],
        &[],
    );
    expect_error(reply, Error::IllegalOperation, &[], "write own registers")
}

fn tcb_read_registers_self_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let _ = ctx;
    let reply = call(ROOT_TCB, InvocationLabel::TCBReadRegisters, &[0, 1], &[]);
    expect_error(reply, Error::IllegalOperation, &[], "read own registers")
}

fn tcb_read_registers_count_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    for count in [0u64, 37] {
        let reply = call(tcb, InvocationLabel::TCBReadRegisters, &[0, count], &[]);
        expect_error(
            reply,
            Error::RangeError,
            &[1, 36],
            &alloc::format!("read {count} registers"),
        )?;
    }
    Ok(())
}

fn tcb_write_read_registers_round_trip(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let mut words = sel4::user_context_words(&UserContext::default());
    for (index, word) in words.iter_mut().enumerate() {
        *word = 0x1000 + index as u64 * 0x10;
    }
    words[0] = 0x40_1000; // pc
    words[1] = 0x7f_0000; // sp
    words[2] = 0; // spsr: EL0t
    let context = sel4::user_context_from_words(&words);
    let tcb_cap = Cap::<Tcb>::from_bits(tcb);
    sel(
        tcb_cap.tcb_write_registers(false, &context),
        "WriteRegisters",
    )?;
    let read = sel(tcb_cap.tcb_read_registers(false), "ReadRegisters")?;
    let read_words = sel4::user_context_words(&read);
    // pc, sp and every general-purpose register come back as written.
    for (index, (written, got)) in words.iter().zip(read_words.iter()).enumerate() {
        if index == 2 || index >= 34 {
            continue;
        }
        ensure!(
            written == got,
            "register word {index}: wrote {written:#x}, read {got:#x}"
        );
    }
    Ok(())
}

fn tcb_suspend_stops_and_resume_restarts(ctx: &mut Ctx) -> Result<(), String> {
    let thread = Thread::new(child_count_forever as *const () as u64);
    let spawned = ctx.spawn(&thread)?;
    let mut started = false;
    for _ in 0..POLL_LIMIT {
        if shared(0) > 2 {
            started = true;
            break;
        }
        yield_now();
    }
    ensure!(started, "child never ran");
    let tcb = Cap::<Tcb>::from_bits(spawned.tcb);
    sel(tcb.tcb_suspend(), "Suspend")?;
    let frozen = shared(0);
    for _ in 0..100 {
        yield_now();
    }
    ensure!(
        shared(0) == frozen,
        "suspended child kept counting ({frozen} -> {})",
        shared(0)
    );
    sel(tcb.tcb_resume(), "Resume")?;
    for _ in 0..POLL_LIMIT {
        if shared(0) > frozen {
            return Ok(());
        }
        yield_now();
    }
    Err(String::from("resumed child did not run again"))
}

fn tcb_set_priority_above_mcp_range_error(ctx: &mut Ctx) -> Result<(), String> {
    // A new TCB has MCP 0, so as authority it allows only priority 0.
    let authority = ctx.retype(ObjectType::Tcb, 0)?;
    let target = ctx.retype(ObjectType::Tcb, 0)?;
    let reply = call(target, InvocationLabel::TCBSetPriority, &[1], &[authority]);
    expect_error(
        reply,
        Error::RangeError,
        &[0, 0],
        "priority 1 with an MCP-0 authority",
    )?;
    expect_ok(
        call(target, InvocationLabel::TCBSetPriority, &[0], &[authority]),
        "priority 0 with an MCP-0 authority",
    )?;
    Ok(())
}

fn tcb_set_priority_above_max_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let target = ctx.retype(ObjectType::Tcb, 0)?;
    let reply = call(target, InvocationLabel::TCBSetPriority, &[256], &[ROOT_TCB]);
    expect_error(reply, Error::RangeError, &[0, 255], "priority 256")?;
    let empty = ctx.alloc_slot()?;
    let reply = call(target, InvocationLabel::TCBSetPriority, &[5], &[empty]);
    // The authority slot is empty: not a TCB.
    expect_error(reply, Error::InvalidCapability, &[1], "authority not a TCB")
}

fn tcb_set_mc_priority_limits_authority(ctx: &mut Ctx) -> Result<(), String> {
    let authority = ctx.retype(ObjectType::Tcb, 0)?;
    let target = ctx.retype(ObjectType::Tcb, 0)?;
    sel(
        Cap::<Tcb>::from_bits(authority).tcb_set_mc_priority(Cap::from_bits(ROOT_TCB), 100),
        "SetMCPriority 100",
    )?;
    let reply = call(
        target,
        InvocationLabel::TCBSetPriority,
        &[101],
        &[authority],
    );
    expect_error(
        reply,
        Error::RangeError,
        &[0, 100],
        "priority 101 with MCP 100",
    )?;
    expect_ok(
        call(
            target,
            InvocationLabel::TCBSetPriority,
            &[100],
            &[authority],
        ),
        "priority 100 with MCP 100",
    )?;
    let reply = call(
        target,
        InvocationLabel::TCBSetMCPriority,
        &[101],
        &[authority],
    );
    expect_error(reply, Error::RangeError, &[0, 100], "MCP 101 with MCP 100")
}

fn tcb_set_sched_params_checks_both(ctx: &mut Ctx) -> Result<(), String> {
    let target = ctx.retype(ObjectType::Tcb, 0)?;
    sel(
        Cap::<Tcb>::from_bits(target).tcb_set_sched_params(Cap::from_bits(ROOT_TCB), 150, 120),
        "SetSchedParams 150/120",
    )?;
    let reply = call(
        target,
        InvocationLabel::TCBSetSchedParams,
        &[256, 10],
        &[ROOT_TCB],
    );
    expect_error(reply, Error::RangeError, &[0, 255], "MCP 256")?;
    let reply = call(
        target,
        InvocationLabel::TCBSetSchedParams,
        &[10, 256],
        &[ROOT_TCB],
    );
    expect_error(reply, Error::RangeError, &[0, 255], "priority 256")?;
    // The target's new MCP (150) now bounds what it authorises.
    let other = ctx.retype(ObjectType::Tcb, 0)?;
    let reply = call(other, InvocationLabel::TCBSetPriority, &[151], &[target]);
    expect_error(
        reply,
        Error::RangeError,
        &[0, 150],
        "priority 151 with MCP 150",
    )
}

fn configure_raw(
    tcb: u64,
    cspace: u64,
    vspace: u64,
    buffer_address: u64,
    buffer: u64,
) -> sel4::Reply {
    call(
        tcb,
        InvocationLabel::TCBConfigure,
        &[0, 0, 0, buffer_address],
        &[cspace, vspace, buffer],
    )
}

fn tcb_configure_misaligned_ipc_buffer_alignment_error(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let (frame, address) = ctx.scratch_page()?;
    let reply = configure_raw(tcb, ROOT_CNODE, ROOT_VSPACE, address + 8, frame);
    expect_error(reply, Error::AlignmentError, &[], "IPC buffer at +8")?;
    expect_ok(
        configure_raw(tcb, ROOT_CNODE, ROOT_VSPACE, address + 1024, frame),
        "IPC buffer at +1024",
    )?;
    Ok(())
}

fn tcb_configure_ipc_buffer_not_frame_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let endpoint = ctx.endpoint()?;
    let reply = configure_raw(tcb, ROOT_CNODE, ROOT_VSPACE, 0x10_0000_0000, endpoint);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "endpoint as IPC buffer",
    )
}

fn tcb_configure_cspace_not_cnode_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let endpoint = ctx.endpoint()?;
    let reply = configure_raw(tcb, endpoint, ROOT_VSPACE, 0, 0);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "endpoint as CSpace root",
    )?;
    let reply = configure_raw(tcb, ROOT_CNODE, endpoint, 0, 0);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "endpoint as VSpace root",
    )?;
    // A VSpace that has no ASID is not a valid root either.
    let vspace = ctx.retype(ObjectType::VSpace, 0)?;
    let reply = configure_raw(tcb, ROOT_CNODE, vspace, 0, 0);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "unassigned VSpace as root",
    )
}

fn tcb_configure_truncated_message(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let reply = call(
        tcb,
        InvocationLabel::TCBConfigure,
        &[0, 0, 0, 0],
        &[ROOT_CNODE, ROOT_VSPACE],
    );
    expect_error(
        reply,
        Error::TruncatedMessage,
        &[],
        "Configure with two caps",
    )
}

fn tcb_set_tls_base_visible_to_thread(ctx: &mut Ctx) -> Result<(), String> {
    let done = ctx.notification()?;
    let done_send = ctx.mint(done, CapRights::all(), 1)?;
    let park_ep = ctx.endpoint()?;
    let mut thread = Thread::new(child_read_tls as *const () as u64);
    thread.args[6] = done_send;
    thread.args[7] = park_ep;
    thread.start = Start::Later;
    let spawned = ctx.spawn(&thread)?;
    let tcb = Cap::<Tcb>::from_bits(spawned.tcb);
    sel(tcb.tcb_set_tls_base(0x7e57_0000), "SetTLSBase")?;
    sel(tcb.tcb_resume(), "Resume")?;
    poll(done, "the child")?;
    ensure!(
        shared(0) == 0x7e57_0000,
        "child read TPIDR_EL0 = {:#x}",
        shared(0)
    );
    Ok(())
}

fn tcb_bind_unbind_notification_errors(ctx: &mut Ctx) -> Result<(), String> {
    let first = ctx.retype(ObjectType::Tcb, 0)?;
    let second = ctx.retype(ObjectType::Tcb, 0)?;
    let notification = ctx.notification()?;
    let other = ctx.notification()?;
    let first_cap = Cap::<Tcb>::from_bits(first);
    sel(
        first_cap.tcb_bind_notification(Cap::from_bits(notification)),
        "bind",
    )?;
    let reply = call(first, InvocationLabel::TCBBindNotification, &[], &[other]);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "bind a second notification",
    )?;
    let reply = call(
        second,
        InvocationLabel::TCBBindNotification,
        &[],
        &[notification],
    );
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "bind a notification bound elsewhere",
    )?;
    let endpoint = ctx.endpoint()?;
    let reply = call(
        second,
        InvocationLabel::TCBBindNotification,
        &[],
        &[endpoint],
    );
    expect_error(reply, Error::IllegalOperation, &[], "bind an endpoint")?;
    sel(first_cap.tcb_unbind_notification(), "unbind")?;
    let reply = call(first, InvocationLabel::TCBUnbindNotification, &[], &[]);
    expect_error(reply, Error::IllegalOperation, &[], "unbind when unbound")?;
    sel(
        Cap::<Tcb>::from_bits(second).tcb_bind_notification(Cap::from_bits(notification)),
        "bind the freed notification elsewhere",
    )
}

fn tcb_fpu_registers_preserved_across_switches(ctx: &mut Ctx) -> Result<(), String> {
    let first = ctx.rust_child(
        child_fpu,
        [0x4009_21fb_5444_2d18, 1, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    let second = ctx.rust_child(
        child_fpu,
        [0x4005_bf0a_8b14_5769, 2, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    wait_done(&first)?;
    wait_done(&second)?;
    ensure!(
        shared(1) == 1 && shared(2) == 1,
        "d16 preserved: first {} second {} (1 = kept, 2 = lost)",
        shared(1),
        shared(2)
    );
    Ok(())
}

fn tcb_bad_label_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let reply = sel4::invoke_raw(tcb, 200, &[], &[]);
    expect_error(reply, Error::IllegalOperation, &[], "label 200 on a TCB")?;
    let reply = call(tcb, InvocationLabel::UntypedRetype, &[0; 6], &[ROOT_CNODE]);
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "UntypedRetype label on a TCB",
    )
}

/// TCBSetFlags replies with the resulting flags. seL4 16.0.0 masks every unknown bit off,
/// so only a kernel with this project's extension keeps LINUX_SYSCALL; when it does, a
/// thread with it raises UnknownSyscall on every svc (even x7 = DebugPutChar) and the
/// fault's Syscall word is x8.
fn tcb_set_flags_linux_syscall(ctx: &mut Ctx) -> Result<(), String> {
    let fault = ctx.endpoint()?;
    let fault_badged = ctx.mint(fault, CapRights::all(), 0xfa)?;
    let report = ctx.endpoint()?;
    let report_badged = ctx.mint(report, CapRights::all(), 0x4e)?;
    let park_ep = ctx.park_endpoint()?;
    let mut thread = Thread::new(asm::linux_svc_child());
    thread.fault_ep = fault_badged;
    thread.saved = [64, report_badged, park_ep, 0];
    thread.start = Start::Later;
    let spawned = ctx.spawn(&thread)?;
    let tcb = Cap::<Tcb>::from_bits(spawned.tcb);
    let flags = sel(tcb.tcb_set_flags(0, tcb_flag::LINUX_SYSCALL), "SetFlags")?;
    ensure!(
        flags & !(tcb_flag::LINUX_SYSCALL | tcb_flag::FPU_DISABLED) == 0,
        "SetFlags returned unknown bits {flags:#x}"
    );
    let cleared = sel(tcb.tcb_set_flags(0, 0), "SetFlags(0, 0)")?;
    ensure!(
        cleared == flags,
        "flags read back {cleared:#x}, set returned {flags:#x}"
    );
    if flags & tcb_flag::LINUX_SYSCALL == 0 {
        // The kernel does not have the extension (as seL4 16.0.0): nothing more to check.
        return Ok(());
    }
    sel(tcb.tcb_resume(), "Resume")?;
    let message = poll(fault, "the UnknownSyscall fault")?;
    ensure!(
        message.info.label() == FaultType::UnknownSyscall as u64,
        "fault label {} is not UnknownSyscall",
        message.info.label()
    );
    ensure!(
        message.info.length() == 13,
        "fault length {}",
        message.info.length()
    );
    ensure!(
        message.mr(12) == 64,
        "Syscall word {:#x}, expected x8 = 64",
        message.mr(12)
    );
    ensure!(
        message.mr(7) == (-9i64) as u64,
        "x7 in the message is {:#x}",
        message.mr(7)
    );
    ensure!(
        message.mr(0) == 0x4b,
        "x0 in the message is {:#x}",
        message.mr(0)
    );
    ensure!(
        message.mr(8) == asm::linux_svc(),
        "FaultIP {:#x}",
        message.mr(8)
    );
    // The child reports with an seL4 Send, which faults too while the flag is set: clear
    // it before resuming the child (the reply and the clearing both have to work).
    let after_clear = sel(
        tcb.tcb_set_flags(tcb_flag::LINUX_SYSCALL, 0),
        "SetFlags(clear LINUX_SYSCALL)",
    )?;
    ensure!(
        after_clear & tcb_flag::LINUX_SYSCALL == 0,
        "LINUX_SYSCALL still set after clearing: {after_clear:#x}"
    );
    // Emulate: x0 = 1 (bytes written), resume after the svc.
    let mut words = [0u64; 12];
    for (index, word) in words.iter_mut().enumerate() {
        *word = message.mr(index);
    }
    words[0] = 1;
    words[8] += 4;
    reply_with(0, &words);
    let report_message = poll(report, "the resumed child's report")?;
    ensure!(
        report_message.mrs[0] == 1,
        "child resumed with x0 = {:#x}",
        report_message.mrs[0]
    );
    Ok(())
}
