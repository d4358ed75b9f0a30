//! IPC: endpoints (Send/Recv, Call/Reply, ReplyRecv, badges, message registers beyond the
//! machine registers, capability transfer with and without grant, unwrapping), reply
//! caps (SaveCaller), notifications (badge OR-ing, Wait, binding), endpoint deletion
//! with a blocked sender, and the cases the kernel's IPC fastpath must get right (the
//! partner already waiting: every message length, scheduling order when a higher
//! priority thread is runnable, FP/SIMD state across the direct switch).

use crate::child::{
    buffer_offset, bump_shared, park, set_shared, shared, signal, write_buffer_mr,
    write_buffer_word,
};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use sel4::cap_type::{CNode, Notification, Tcb};
use sel4::syscall::{self, Blocking};
use sel4::{Cap, CapRights, CapTag, MessageInfo};

pub const TESTS: &[Test] = tests![
    ipc_send_recv_six_message_registers,
    ipc_call_and_reply,
    ipc_call_reply_recv_between_threads,
    ipc_badges_distinguish_senders,
    ipc_nbsend_without_receiver_is_dropped,
    ipc_cap_transfer_with_grant,
    ipc_cap_transfer_without_grant_is_dropped,
    ipc_cap_transfer_unwraps_badge_of_same_endpoint,
    ipc_notification_badges_or_and_poll_clears,
    ipc_notification_wait_wakes_thread,
    ipc_bound_notification_delivered_on_endpoint_recv,
    ipc_delete_endpoint_unblocks_sender,
    ipc_save_caller_then_reply,
    ipc_reply_without_caller_is_harmless,
    ipc_call_waiting_server_every_length,
    ipc_call_lower_priority_server_runs_after_runnable_thread,
    ipc_reply_to_lower_priority_caller_runs_after_runnable_thread,
    ipc_direct_switch_preserves_fp_registers,
];

/// Sends label 0x42 with MR0..MR5 = 1..6 on `endpoint` (MR4, MR5 from the IPC buffer).
extern "C" fn child_send_six(
    endpoint: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    buffer: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    write_buffer_mr(buffer, 4, 5);
    write_buffer_mr(buffer, 5, 6);
    syscall::send(
        endpoint,
        MessageInfo::new(0x42, 0, 0, 6),
        [1, 2, 3, 4],
        Blocking::Block,
    );
    signal(done);
    park(park_ep)
}

/// Calls `endpoint` with label 7 and (a, b); stores the reply's label, length, MR0, MR1.
extern "C" fn child_call(
    endpoint: u64,
    a: u64,
    b: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let (info, mrs) = syscall::call(endpoint, MessageInfo::new(7, 0, 0, 2), [a, b, 0, 0]);
    set_shared(0, info.label());
    set_shared(1, info.length() as u64);
    set_shared(2, mrs[0]);
    set_shared(3, mrs[1]);
    signal(done);
    park(park_ep)
}

/// A server: receives on `endpoint` and answers every Call with MR0 * 2, recording the
/// badge it saw in SHARED[3].
extern "C" fn child_doubling_server(
    endpoint: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    let (mut badge, _, mut mrs) = syscall::recv(endpoint, Blocking::Block);
    loop {
        set_shared(3, badge);
        let answer = MessageInfo::new(0, 0, 0, 1);
        (badge, _, mrs) = syscall::reply_recv(endpoint, answer, [mrs[0].wrapping_mul(2), 0, 0, 0]);
    }
}

/// A client: calls `endpoint` with 21 then 50 and stores the answers in SHARED[0], [1].
extern "C" fn child_doubling_client(
    endpoint: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let (_, first) = syscall::call(endpoint, MessageInfo::new(0, 0, 0, 1), [21, 0, 0, 0]);
    set_shared(0, first[0]);
    let (_, second) = syscall::call(endpoint, MessageInfo::new(0, 0, 0, 1), [50, 0, 0, 0]);
    set_shared(1, second[0]);
    signal(done);
    park(park_ep)
}

/// Sends one word `value` on `endpoint`.
extern "C" fn child_send_word(
    endpoint: u64,
    value: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    syscall::send(
        endpoint,
        MessageInfo::new(0, 0, 0, 1),
        [value, 0, 0, 0],
        Blocking::Block,
    );
    signal(done);
    park(park_ep)
}

/// Sends the cap at `cap` (as an extra cap) on `endpoint`.
extern "C" fn child_send_cap(
    endpoint: u64,
    cap: u64,
    _: u64,
    _: u64,
    _: u64,
    buffer: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    write_buffer_word(buffer, buffer_offset::CAPS_OR_BADGES, cap);
    syscall::send(
        endpoint,
        MessageInfo::new(0, 0, 1, 1),
        [0x1234, 0, 0, 0],
        Blocking::Block,
    );
    signal(done);
    park(park_ep)
}

/// Waits on `notification` and stores the badge word.
extern "C" fn child_wait(
    notification: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let (badge, _, _) = syscall::recv(notification, Blocking::Block);
    set_shared(0, badge);
    signal(done);
    park(park_ep)
}

/// Marks SHARED[1], sends on `endpoint` (blocking), then marks SHARED[0].
extern "C" fn child_send_marked(
    endpoint: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    set_shared(1, 1);
    syscall::send(
        endpoint,
        MessageInfo::new(0, 0, 0, 1),
        [9, 0, 0, 0],
        Blocking::Block,
    );
    set_shared(0, 1);
    signal(done);
    park(park_ep)
}

fn ipc_send_recv_six_message_registers(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x61)?;
    let child = ctx.rust_child(child_send_six, [badged, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    let message = poll(endpoint, "the message")?;
    ensure!(message.badge == 0x61, "badge {:#x}", message.badge);
    ensure!(
        message.info.label() == 0x42,
        "label {:#x}",
        message.info.label()
    );
    ensure!(
        message.info.length() == 6,
        "length {}",
        message.info.length()
    );
    for index in 0..6 {
        let value = message.mr(index);
        ensure!(value == index as u64 + 1, "MR{index} = {value:#x}");
    }
    wait_done(&child)
}

fn ipc_call_and_reply(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x62)?;
    let child = ctx.rust_child(child_call, [badged, 30, 12, 0, 0], ROOT_PRIORITY, 0)?;
    let message = poll(endpoint, "the call")?;
    ensure!(message.info.label() == 7, "label {}", message.info.label());
    ensure!(
        message.info.length() == 2,
        "length {}",
        message.info.length()
    );
    reply_with(0, &[message.mrs[0] + message.mrs[1], 0x99]);
    wait_done(&child)?;
    ensure!(
        (shared(0), shared(1), shared(2), shared(3)) == (0, 2, 42, 0x99),
        "caller got label {} length {} MRs {:#x} {:#x}",
        shared(0),
        shared(1),
        shared(2),
        shared(3)
    );
    Ok(())
}

fn ipc_call_reply_recv_between_threads(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x31)?;
    let _server = ctx.rust_child(
        child_doubling_server,
        [endpoint, 0, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    let client = ctx.rust_child(
        child_doubling_client,
        [badged, 0, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    wait_done(&client)?;
    ensure!(
        shared(0) == 42 && shared(1) == 100,
        "answers {} and {}",
        shared(0),
        shared(1)
    );
    ensure!(shared(3) == 0x31, "server saw badge {:#x}", shared(3));
    Ok(())
}

fn ipc_badges_distinguish_senders(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let first = ctx.mint(endpoint, CapRights::all(), 0x11)?;
    let second = ctx.mint(endpoint, CapRights::all(), 0x22)?;
    ctx.rust_child(child_send_word, [first, 0xa, 0, 0, 0], ROOT_PRIORITY, 0)?;
    ctx.rust_child(child_send_word, [second, 0xb, 0, 0, 0], ROOT_PRIORITY, 0)?;
    let one = poll(endpoint, "the first message")?;
    let two = poll(endpoint, "the second message")?;
    let mut seen = [(one.badge, one.mrs[0]), (two.badge, two.mrs[0])];
    seen.sort();
    ensure!(
        seen == [(0x11, 0xa), (0x22, 0xb)],
        "received (badge, MR0) pairs {seen:x?}"
    );
    Ok(())
}

fn ipc_nbsend_without_receiver_is_dropped(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x33)?;
    syscall::send(
        badged,
        MessageInfo::new(0, 0, 0, 1),
        [5, 0, 0, 0],
        Blocking::NonBlocking,
    );
    ensure!(
        poll_once(endpoint).is_none(),
        "a message sent with NBSend and no receiver was queued"
    );
    Ok(())
}

/// Prepares the root task's IPC buffer to receive one cap into `slot`.
fn receive_into(slot: u64) {
    sel4::with_ipc_buffer(|buffer| {
        buffer.receive_cnode = ROOT_CNODE;
        buffer.receive_index = slot;
        buffer.receive_depth = WORD_DEPTH;
    });
}

fn ipc_cap_transfer_with_grant(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let granting = ctx.mint(endpoint, CapRights::all(), 0x71)?;
    let notification = ctx.notification()?;
    let slot = ctx.alloc_slot()?;
    receive_into(slot);
    let child = ctx.rust_child(
        child_send_cap,
        [granting, notification, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    let message = poll(endpoint, "the message with a cap")?;
    ensure!(
        message.info.extra_caps() == 1,
        "extraCaps {}",
        message.info.extra_caps()
    );
    ensure!(
        message.info.caps_unwrapped() == 0,
        "capsUnwrapped {}",
        message.info.caps_unwrapped()
    );
    ensure!(message.mrs[0] == 0x1234, "MR0 {:#x}", message.mrs[0]);
    expect_tag(slot, CapTag::Notification, "transferred cap")?;
    wait_done(&child)
}

fn ipc_cap_transfer_without_grant_is_dropped(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let no_grant = ctx.mint(endpoint, CapRights::read_write(), 0x72)?;
    let notification = ctx.notification()?;
    let slot = ctx.alloc_slot()?;
    receive_into(slot);
    ctx.rust_child(
        child_send_cap,
        [no_grant, notification, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    let message = poll(endpoint, "the message")?;
    ensure!(
        message.info.extra_caps() == 0,
        "extraCaps {} without grant",
        message.info.extra_caps()
    );
    ensure!(message.mrs[0] == 0x1234, "MR0 {:#x}", message.mrs[0]);
    expect_tag(slot, CapTag::Null, "receive slot without grant")
}

fn ipc_cap_transfer_unwraps_badge_of_same_endpoint(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let granting = ctx.mint(endpoint, CapRights::all(), 0x73)?;
    let slot = ctx.alloc_slot()?;
    receive_into(slot);
    // The child sends its badged cap to the endpoint being received on.
    ctx.rust_child(
        child_send_cap,
        [granting, granting, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    let message = poll(endpoint, "the message")?;
    ensure!(
        message.info.extra_caps() == 1,
        "extraCaps {}",
        message.info.extra_caps()
    );
    ensure!(
        message.info.caps_unwrapped() == 1,
        "capsUnwrapped {:#b}",
        message.info.caps_unwrapped()
    );
    let badge = sel4::with_ipc_buffer(|buffer| buffer.caps_or_badges[0]);
    ensure!(badge == 0x73, "unwrapped badge {badge:#x}");
    expect_tag(slot, CapTag::Null, "receive slot after unwrapping")
}

fn ipc_notification_badges_or_and_poll_clears(ctx: &mut Ctx) -> Result<(), String> {
    let notification = ctx.notification()?;
    let one = ctx.mint(notification, CapRights::all(), 0b001)?;
    let four = ctx.mint(notification, CapRights::all(), 0b100)?;
    Cap::<Notification>::from_bits(one).signal();
    Cap::<Notification>::from_bits(four).signal();
    Cap::<Notification>::from_bits(one).signal();
    let (word, _, _) = syscall::recv(notification, Blocking::NonBlocking);
    ensure!(word == 0b101, "polled word {word:#b}, expected 0b101");
    let (again, _, _) = syscall::recv(notification, Blocking::NonBlocking);
    ensure!(again == 0, "second poll got {again:#x}, expected 0");
    Ok(())
}

fn ipc_notification_wait_wakes_thread(ctx: &mut Ctx) -> Result<(), String> {
    let notification = ctx.notification()?;
    let eight = ctx.mint(notification, CapRights::all(), 8)?;
    let child = ctx.rust_child(child_wait, [notification, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    for _ in 0..10 {
        syscall::yield_now();
    }
    ensure!(shared(0) == 0, "child returned from Wait before any signal");
    Cap::<Notification>::from_bits(eight).signal();
    wait_done(&child)?;
    ensure!(shared(0) == 8, "child woke with {:#x}", shared(0));
    Ok(())
}

fn ipc_bound_notification_delivered_on_endpoint_recv(ctx: &mut Ctx) -> Result<(), String> {
    let notification = ctx.notification()?;
    let badged = ctx.mint(notification, CapRights::all(), 0x20)?;
    let endpoint = ctx.endpoint()?;
    let root_tcb = Cap::<Tcb>::from_bits(ROOT_TCB);
    sel(
        root_tcb.tcb_bind_notification(Cap::from_bits(notification)),
        "bind to the root TCB",
    )?;
    Cap::<Notification>::from_bits(badged).signal();
    let (badge, _, _) = syscall::recv(endpoint, Blocking::NonBlocking);
    let unbound = root_tcb.tcb_unbind_notification();
    ensure!(
        badge == 0x20,
        "NBRecv on the endpoint returned badge {badge:#x}, expected the signal 0x20"
    );
    sel(unbound, "unbind")
}

fn ipc_delete_endpoint_unblocks_sender(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x44)?;
    let child = ctx.rust_child(child_send_marked, [badged, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    for _ in 0..POLL_LIMIT {
        if shared(1) == 1 {
            break;
        }
        syscall::yield_now();
    }
    ensure!(shared(1) == 1, "child never ran");
    for _ in 0..5 {
        syscall::yield_now();
    }
    ensure!(shared(0) == 0, "Send returned with no receiver");
    let root = Cap::<CNode>::from_bits(ROOT_CNODE);
    sel(
        root.cnode_delete(badged, WORD_DEPTH),
        "delete the badged cap",
    )?;
    sel(
        root.cnode_delete(endpoint, WORD_DEPTH),
        "delete the last cap",
    )?;
    // The endpoint is gone: the sender restarts its Send on an empty slot, which fails
    // without a fault, and carries on.
    wait_done(&child)?;
    ensure!(shared(0) == 1, "sender did not continue");
    Ok(())
}

fn ipc_save_caller_then_reply(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x45)?;
    let child = ctx.rust_child(child_call, [badged, 1, 2, 0, 0], ROOT_PRIORITY, 0)?;
    poll(endpoint, "the call")?;
    let saved = ctx.alloc_slot()?;
    let root = Cap::<CNode>::from_bits(ROOT_CNODE);
    sel(root.cnode_save_caller(saved, WORD_DEPTH), "SaveCaller")?;
    expect_tag(saved, CapTag::Reply, "saved caller")?;
    // Other invocations in between do not disturb the saved reply.
    let _ = identify(endpoint);
    let _ = ctx.notification()?;
    syscall::send(
        saved,
        MessageInfo::new(0, 0, 0, 2),
        [0xabc, 0xdef, 0, 0],
        Blocking::Block,
    );
    wait_done(&child)?;
    ensure!(
        shared(2) == 0xabc && shared(3) == 0xdef,
        "caller got {:#x} {:#x}",
        shared(2),
        shared(3)
    );
    expect_tag(saved, CapTag::Null, "used reply cap")
}

fn ipc_reply_without_caller_is_harmless(ctx: &mut Ctx) -> Result<(), String> {
    syscall::reply(MessageInfo::new(0, 0, 0, 1), [1, 0, 0, 0]);
    // The root task is still alive and its CSpace intact.
    let endpoint = ctx.endpoint()?;
    expect_tag(endpoint, CapTag::Endpoint, "after a stray Reply")
}

/// Reads message register `index` (4 and up) of the IPC buffer at `buffer`.
fn read_buffer_mr(buffer: u64, index: usize) -> u64 {
    if buffer == 0 || index >= sel4::MSG_MAX_LENGTH {
        return 0;
    }
    let pointer = (buffer + 8 + 8 * index as u64) as *const u64;
    // SAFETY: `buffer` is the calling thread's own IPC buffer, a 1024-byte region mapped
    // for it; the message area ends at byte 968, and `index` < 120 keeps inside it.
    unsafe { pointer.read_volatile() }
}

/// Marks SHARED[5], then serves `endpoint` forever: each message is answered with
/// label + 1, the same length and every word + 1 (MR4 and up in the IPC buffer), and the
/// badge is kept in SHARED[3].
extern "C" fn child_echo_server(
    endpoint: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    buffer: u64,
    _: u64,
    _: u64,
) -> ! {
    set_shared(5, 1);
    let (mut badge, mut info, mut mrs) = syscall::recv(endpoint, Blocking::Block);
    loop {
        set_shared(3, badge);
        for index in sel4::MSG_REGISTER_COUNT..info.length() {
            write_buffer_mr(buffer, index, read_buffer_mr(buffer, index) + 1);
        }
        let answer = MessageInfo::new(info.label() + 1, 0, 0, info.length() as u64);
        (badge, info, mrs) = syscall::reply_recv(endpoint, answer, mrs.map(|mr| mr + 1));
    }
}

/// Serves `endpoint`: for each message records its turn (SHARED[0] counts turns) in
/// SHARED[2] and answers MR0 + 1.
extern "C" fn child_turn_server(
    endpoint: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    set_shared(5, 1);
    let (_, _, mut mrs) = syscall::recv(endpoint, Blocking::Block);
    loop {
        set_shared(2, bump_shared(0));
        let answer = MessageInfo::new(0, 0, 0, 1);
        (_, _, mrs) = syscall::reply_recv(endpoint, answer, [mrs[0] + 1, 0, 0, 0]);
    }
}

/// Serves `endpoint` like [`child_turn_server`], but first signals `wake` (which wakes
/// a thread of the server's priority) before answering.
extern "C" fn child_waking_server(
    endpoint: u64,
    wake: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    set_shared(5, 1);
    let (_, _, mut mrs) = syscall::recv(endpoint, Blocking::Block);
    loop {
        signal(wake);
        set_shared(2, bump_shared(0));
        let answer = MessageInfo::new(0, 0, 0, 1);
        (_, _, mrs) = syscall::reply_recv(endpoint, answer, [mrs[0] + 1, 0, 0, 0]);
    }
}

/// Records its turn in SHARED[1] (waiting on `notification` first if it is not 0).
extern "C" fn child_take_turn(
    notification: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    if notification != 0 {
        let _ = syscall::recv(notification, Blocking::Block);
    }
    set_shared(1, bump_shared(0));
    signal(done);
    park(park_ep)
}

/// Yields until the server child has marked SHARED[5] and then a few times more, so it
/// is waiting in Recv (it blocks there before the root task runs again).
fn wait_for_server() -> Result<(), String> {
    for _ in 0..POLL_LIMIT {
        if shared(5) == 1 {
            for _ in 0..3 {
                syscall::yield_now();
            }
            return Ok(());
        }
        syscall::yield_now();
    }
    Err(String::from("the server never started"))
}

fn ipc_call_waiting_server_every_length(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x5e)?;
    ctx.rust_child(child_echo_server, [endpoint, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    wait_for_server()?;
    // Register-only messages (the fastpath), buffer words too, and the longest message.
    for length in [0usize, 1, 2, 3, 4, 5, 6, 13, 120] {
        let base = 0x1000 * (length as u64 + 1);
        for index in sel4::MSG_REGISTER_COUNT..length {
            sel4::with_ipc_buffer(|buffer| buffer.msg[index] = base + index as u64);
        }
        let label = 0x30 + length as u64;
        let info = MessageInfo::new(label, 0, 0, length as u64);
        let (reply, mrs) = syscall::call(badged, info, [base, base + 1, base + 2, base + 3]);
        ensure!(
            reply.label() == label + 1 && reply.length() == length,
            "length {length}: reply label {:#x} length {}",
            reply.label(),
            reply.length()
        );
        for (index, value) in mrs.iter().enumerate().take(length) {
            ensure!(
                *value == base + index as u64 + 1,
                "length {length}: reply MR{index} = {value:#x}"
            );
        }
        for index in sel4::MSG_REGISTER_COUNT..length {
            let value = sel4::with_ipc_buffer(|buffer| buffer.msg[index]);
            ensure!(
                value == base + index as u64 + 1,
                "length {length}: reply MR{index} = {value:#x}"
            );
        }
        ensure!(shared(3) == 0x5e, "server saw badge {:#x}", shared(3));
    }
    Ok(())
}

fn ipc_call_lower_priority_server_runs_after_runnable_thread(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let server = ctx.rust_child(child_turn_server, [endpoint, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    wait_for_server()?;
    // Now waiting in Recv, the server drops below a thread that is ready to run.
    sel(
        Cap::<Tcb>::from_bits(server.tcb)
            .tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY - 2),
        "lower the server's priority",
    )?;
    let middle = ctx.rust_child(child_take_turn, [0, 0, 0, 0, 0], ROOT_PRIORITY - 1, 0)?;
    ensure!(
        shared(0) == 0,
        "a lower-priority thread ran before the call"
    );
    let (_, mrs) = syscall::call(endpoint, MessageInfo::new(0, 0, 0, 1), [7, 0, 0, 0]);
    ensure!(mrs[0] == 8, "reply MR0 {}", mrs[0]);
    ensure!(
        shared(1) == 1 && shared(2) == 2,
        "turns: runnable thread {}, server {} (the runnable thread of higher priority \
         must run before the server the call woke)",
        shared(1),
        shared(2)
    );
    wait_done(&middle)
}

fn ipc_reply_to_lower_priority_caller_runs_after_runnable_thread(
    ctx: &mut Ctx,
) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let notification = ctx.notification()?;
    let wake = ctx.mint(notification, CapRights::all(), 1)?;
    // Both run at once (above the root task) and block: one waiting for the signal, the
    // other for a call.
    let sleeper = ctx.rust_child(
        child_take_turn,
        [notification, 0, 0, 0, 0],
        ROOT_PRIORITY + 1,
        0,
    )?;
    ctx.rust_child(
        child_waking_server,
        [endpoint, wake, 0, 0, 0],
        ROOT_PRIORITY + 1,
        0,
    )?;
    ensure!(
        shared(5) == 1 && shared(0) == 0,
        "the higher-priority children did not start and block"
    );
    let (_, mrs) = syscall::call(endpoint, MessageInfo::new(0, 0, 0, 1), [41, 0, 0, 0]);
    ensure!(mrs[0] == 42, "reply MR0 {}", mrs[0]);
    ensure!(
        shared(2) == 1 && shared(1) == 2,
        "turns: server {}, woken thread {} (the woken thread outranks the caller, so it \
         must run before the reply resumes the caller)",
        shared(2),
        shared(1)
    );
    wait_done(&sleeper)
}

/// Calls `endpoint` 20 times with d16 = `value`; records in SHARED[0] 1 if d16 kept its
/// value and every reply said the server's FP register kept its own, else 2.
extern "C" fn child_fp_client(
    endpoint: u64,
    value: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    let outcome: u64;
    // SAFETY: the block uses only the registers it declares. Call (x7 = -1) writes only
    // x0..x5 (declared), so d16 must survive it unless the kernel loses FP state.
    unsafe {
        core::arch::asm!(
            "fmov d16, {value}",
            "mov {count}, #20",
            "1:",
            "mov x0, {endpoint}",
            "mov x1, #1",
            "mov x2, {count}",
            "mov x7, #-1",
            "svc #0",
            "mov {outcome}, #2",
            "cmp x3, #1",
            "b.ne 2f",
            "fmov {scratch}, d16",
            "cmp {scratch}, {value}",
            "b.ne 2f",
            "subs {count}, {count}, #1",
            "b.ne 1b",
            "mov {outcome}, #1",
            "2:",
            value = in(reg) value,
            endpoint = in(reg) endpoint,
            count = out(reg) _,
            scratch = out(reg) _,
            outcome = out(reg) outcome,
            out("x0") _, out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x5") _,
            out("x7") _, out("v16") _,
            options(nostack),
        );
    }
    set_shared(0, outcome);
    signal(done);
    park(park_ep)
}

/// Serves `endpoint` forever with d16 = `value`, answering MR1 = 1 while d16 still holds
/// it (2 once it does not).
extern "C" fn child_fp_server(
    endpoint: u64,
    value: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    set_shared(5, 1);
    // SAFETY: the block never returns, so the registers it overwrites (x0..x10, d16)
    // hold nothing the compiler needs; its inputs sit in x21 and x22, which neither it
    // nor Recv and ReplyRecv (they write only x0..x5) change.
    unsafe {
        core::arch::asm!(
            "fmov d16, x21",
            "mov x0, x22",
            "mov x7, #-5",
            "svc #0",
            "1:",
            "fmov x9, d16",
            "cmp x9, x21",
            "mov x3, #1",
            "mov x10, #2",
            "csel x3, x3, x10, eq",
            "mov x1, #2",
            "mov x0, x22",
            "mov x7, #-2",
            "svc #0",
            "b 1b",
            in("x21") value,
            in("x22") endpoint,
            options(nostack, noreturn),
        );
    }
}

fn ipc_direct_switch_preserves_fp_registers(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    ctx.rust_child(
        child_fp_server,
        [endpoint, 0x4005_bf0a_8b14_5769, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    wait_for_server()?;
    let client = ctx.rust_child(
        child_fp_client,
        [endpoint, 0x4009_21fb_5444_2d18, 0, 0, 0],
        ROOT_PRIORITY,
        0,
    )?;
    wait_done(&client)?;
    ensure!(
        shared(0) == 1,
        "FP registers lost across Call/ReplyRecv switches (outcome {})",
        shared(0)
    );
    Ok(())
}
