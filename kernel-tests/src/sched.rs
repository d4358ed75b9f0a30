//! Scheduling: priorities decide who runs, Yield rotates threads of one priority, raising
//! a thread's priority takes effect at once, and the timer preempts a spinning thread.

use crate::child::{bump_shared, park, set_shared, shared, signal};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::string::String;
use alloc::vec::Vec;
use sel4::cap_type::Tcb;
use sel4::syscall::yield_now;
use sel4::Cap;

pub const TESTS: &[Test] = tests![
    sched_yield_round_robin,
    sched_higher_priority_preempts_on_resume,
    sched_lower_priority_runs_only_when_raised,
    sched_timer_preempts_spinning_thread,
];

/// Appends `id` to the log in SHARED[1..] five times, yielding after each.
extern "C" fn child_log(
    id: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    for _ in 0..5 {
        let position = bump_shared(0);
        set_shared(position as usize, id);
        yield_now();
    }
    signal(done);
    park(park_ep)
}

extern "C" fn child_mark(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    set_shared(0, 1);
    signal(done);
    park(park_ep)
}

/// Counts in SHARED[0] for `iterations` without yielding, then sets SHARED[1].
extern "C" fn child_spin(
    iterations: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    done: u64,
    park_ep: u64,
) -> ! {
    for _ in 0..iterations {
        bump_shared(0);
    }
    set_shared(1, 1);
    signal(done);
    park(park_ep)
}

fn sched_yield_round_robin(ctx: &mut Ctx) -> Result<(), String> {
    let first = ctx.rust_child(child_log, [0xa, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    let second = ctx.rust_child(child_log, [0xb, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    wait_done(&first)?;
    wait_done(&second)?;
    let log: Vec<u64> = (1..=10).map(shared).collect();
    ensure!(shared(0) == 10, "log has {} entries", shared(0));
    let alternates = log.windows(2).all(|pair| pair[0] != pair[1]);
    ensure!(
        alternates,
        "threads of one priority did not alternate: {log:x?}"
    );
    Ok(())
}

fn sched_higher_priority_preempts_on_resume(ctx: &mut Ctx) -> Result<(), String> {
    ctx.rust_child(child_mark, [0; 5], ROOT_PRIORITY + 1, 0)?;
    // No yield: the higher-priority thread ran as soon as it was resumed.
    ensure!(
        shared(0) == 1,
        "a higher-priority thread did not preempt its creator"
    );
    Ok(())
}

fn sched_lower_priority_runs_only_when_raised(ctx: &mut Ctx) -> Result<(), String> {
    let child = ctx.rust_child(child_mark, [0; 5], ROOT_PRIORITY - 1, 0)?;
    for _ in 0..50 {
        yield_now();
    }
    ensure!(
        shared(0) == 0,
        "a lower-priority thread ran while the root task was runnable"
    );
    sel(
        Cap::<Tcb>::from_bits(child.tcb)
            .tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY + 1),
        "raise the thread's priority",
    )?;
    ensure!(
        shared(0) == 1,
        "raising the priority above the caller did not switch to it"
    );
    Ok(())
}

fn sched_timer_preempts_spinning_thread(ctx: &mut Ctx) -> Result<(), String> {
    ctx.rust_child(child_spin, [1 << 28, 0, 0, 0, 0], ROOT_PRIORITY, 0)?;
    // The spinner never yields: the root task runs again only if the timer preempts it.
    yield_now();
    ensure!(shared(0) > 0, "the spinning thread never ran");
    ensure!(
        shared(1) == 0,
        "the spinning thread ran to completion before the root task ran again"
    );
    Ok(())
}
