//! Interrupts: IRQControl issuing handler caps (with trigger), IRQHandler SetNotification
//! and Ack, and the EL1 physical timer (PPI 30), which seL4 leaves to user level, firing.

use crate::child::{park, set_shared, signal};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::{IrqControl, IrqHandler, Notification};
use sel4::syscall::{self, Blocking};
use sel4::{Cap, CapRights, CapTag, Error, InvocationLabel, IrqTrigger};

pub const TESTS: &[Test] = tests![
    irq_get_trigger_issues_handler,
    irq_issue_twice_revoke_first,
    irq_issue_kernel_timer_revoke_first,
    irq_issue_out_of_range_range_error,
    irq_set_notification_needs_notification,
    irq_physical_timer_signals_notification,
    irq_control_bad_label_illegal_operation,
];

/// The EL1 physical timer's PPI.
const PHYSICAL_TIMER_IRQ: u64 = 30;
/// The EL1 virtual timer's PPI, which seL4 (non-hypervisor) uses as its own timer.
const KERNEL_TIMER_IRQ: u64 = 27;

fn issue(ctx: &mut Ctx, irq: u64) -> Result<u64, String> {
    let slot = ctx.alloc_slot()?;
    sel(
        Cap::<IrqControl>::from_bits(IRQ_CONTROL).irq_control_get_trigger(
            irq,
            IrqTrigger::Level,
            Cap::from_bits(ROOT_CNODE),
            slot,
            WORD_DEPTH,
        ),
        "IRQControl GetTrigger",
    )?;
    Ok(slot)
}

fn issue_raw(slot: u64, irq: u64) -> sel4::Reply {
    call(
        IRQ_CONTROL,
        InvocationLabel::ARMIRQIssueIRQHandlerTrigger,
        &[irq, 0, slot, WORD_DEPTH],
        &[ROOT_CNODE],
    )
}

fn irq_get_trigger_issues_handler(ctx: &mut Ctx) -> Result<(), String> {
    let handler = issue(ctx, PHYSICAL_TIMER_IRQ)?;
    expect_tag(handler, CapTag::IrqHandler, "issued handler")
}

fn irq_issue_twice_revoke_first(ctx: &mut Ctx) -> Result<(), String> {
    issue(ctx, PHYSICAL_TIMER_IRQ)?;
    let slot = ctx.alloc_slot()?;
    expect_error(
        issue_raw(slot, PHYSICAL_TIMER_IRQ),
        Error::RevokeFirst,
        &[],
        "second handler for IRQ 30",
    )
}

fn irq_issue_kernel_timer_revoke_first(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    expect_error(
        issue_raw(slot, KERNEL_TIMER_IRQ),
        Error::RevokeFirst,
        &[],
        "handler for the kernel's timer IRQ",
    )
}

fn irq_issue_out_of_range_range_error(ctx: &mut Ctx) -> Result<(), String> {
    let slot = ctx.alloc_slot()?;
    let reply = issue_raw(slot, 0xffff);
    expect_error(reply, Error::RangeError, &[0], "IRQ 0xffff")?;
    ensure!(
        (PHYSICAL_TIMER_IRQ..0xffff).contains(&reply.mr(1)),
        "RangeError maximum {} is not a plausible largest IRQ",
        reply.mr(1)
    );
    Ok(())
}

fn irq_set_notification_needs_notification(ctx: &mut Ctx) -> Result<(), String> {
    let handler = issue(ctx, PHYSICAL_TIMER_IRQ)?;
    let endpoint = ctx.endpoint()?;
    let reply = call(handler, InvocationLabel::IRQSetIRQHandler, &[], &[endpoint]);
    expect_error(
        reply,
        Error::InvalidCapability,
        &[0],
        "endpoint as IRQ notification",
    )?;
    let notification = ctx.notification()?;
    let receive_only = ctx.copy(notification, CapRights::read_only())?;
    let reply = call(
        handler,
        InvocationLabel::IRQSetIRQHandler,
        &[],
        &[receive_only],
    );
    expect_error(
        reply,
        Error::InvalidCapability,
        &[0],
        "notification without send right",
    )?;
    sel(
        Cap::<IrqHandler>::from_bits(handler)
            .irq_handler_set_notification(Cap::from_bits(notification)),
        "SetNotification",
    )?;
    sel(
        Cap::<IrqHandler>::from_bits(handler).irq_handler_clear(),
        "Clear",
    )
}

/// Arms the EL1 physical timer to fire after `ticks`, signals `done`, waits on `go`,
/// disables the timer and marks SHARED[0].
extern "C" fn child_timer(
    ticks: u64,
    go: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    // SAFETY: writing CNTP_TVAL_EL0 and CNTP_CTL_EL0 only programs the physical timer,
    // which the kernel exports to user level and this test owns.
    unsafe {
        core::arch::asm!(
            "msr cntp_tval_el0, {ticks}",
            "msr cntp_ctl_el0, {enable}",
            "isb",
            ticks = in(reg) ticks,
            enable = in(reg) 1u64,
            options(nostack),
        );
    }
    signal(done);
    let _ = syscall::recv(go, Blocking::Block);
    // SAFETY: as above; 0 disables the timer.
    unsafe {
        core::arch::asm!("msr cntp_ctl_el0, {off}", "isb", off = in(reg) 0u64, options(nostack));
    }
    set_shared(0, 1);
    signal(done);
    park(park_ep)
}

fn irq_physical_timer_signals_notification(ctx: &mut Ctx) -> Result<(), String> {
    let handler = issue(ctx, PHYSICAL_TIMER_IRQ)?;
    let notification = ctx.notification()?;
    let badged = ctx.mint(notification, CapRights::all(), 0x100)?;
    sel(
        Cap::<IrqHandler>::from_bits(handler).irq_handler_set_notification(Cap::from_bits(badged)),
        "SetNotification",
    )?;
    let go = ctx.notification()?;
    let go_send = ctx.mint(go, CapRights::all(), 1)?;
    let fault = ctx.endpoint()?;
    let fault_send = ctx.mint(fault, CapRights::all(), 0xfc)?;
    // 62.5 MHz: 62500 ticks is 1 ms.
    let child = ctx.rust_child(
        child_timer,
        [62_500, go, 0, 0, 0],
        ROOT_PRIORITY,
        fault_send,
    )?;
    if let Err(why) = wait_done(&child) {
        if let Some(message) = poll_once(fault) {
            return Err(alloc::format!(
                "programming the physical timer from EL0 faulted (label {})",
                message.info.label()
            ));
        }
        return Err(why);
    }
    let signalled = poll(notification, "the timer interrupt's signal");
    Cap::<Notification>::from_bits(go_send).signal();
    let stopped = wait_done(&child);
    let acked = Cap::<IrqHandler>::from_bits(handler).irq_handler_ack();
    let message = signalled?;
    ensure!(
        message.badge == 0x100,
        "interrupt signalled badge {:#x}",
        message.badge
    );
    stopped?;
    sel(acked, "Ack")
}

fn irq_control_bad_label_illegal_operation(ctx: &mut Ctx) -> Result<(), String> {
    let _ = ctx;
    let reply = call(
        IRQ_CONTROL,
        InvocationLabel::CNodeCopy,
        &[0; 5],
        &[ROOT_CNODE],
    );
    expect_error(
        reply,
        Error::IllegalOperation,
        &[],
        "CNodeCopy label on IRQControl",
    )
}
