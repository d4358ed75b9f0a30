//! Stress cases: hostile invocations, syscalls and faults in bulk, and objects deleted
//! under blocked threads. Each case is bounded, seeded (the seed is printed, and every
//! failure names the seed and iteration so it replays), and ends by checking that the
//! kernel still retypes, copies, identifies caps and runs an IPC round trip.
//!
//! Children run in sandbox CSpaces of caps made for the case, never holding the root
//! task's own TCB, CNode, VSpace or untyped pool, so whatever they invoke cannot destroy
//! the runner's environment; the root task supervises them (serves their IPC, handles
//! their faults, restarts them with WriteRegisters when they stall).

mod deletion;
mod faults;
mod invocations;
mod syscalls;

use crate::child::{park, set_shared, shared};
use crate::context::*;
use crate::{ensure, tests, Test};
use alloc::format;
use alloc::string::String;
use sel4::cap_type::{CNode, Tcb};
use sel4::syscall;
use sel4::{Cap, CapRights, CapTag, MessageInfo, ObjectType, UserContext};

pub const TESTS: &[Test] = tests![
    stress_random_invocations,
    stress_random_syscalls_child,
    stress_random_faults,
    stress_delete_while_blocked,
    stress_regression_fetch_fault_ip_without_vspace,
];

use deletion::{stress_delete_while_blocked, stress_regression_fetch_fault_ip_without_vspace};
use faults::stress_random_faults;
use invocations::stress_random_invocations;
use syscalls::stress_random_syscalls_child;

/// A small deterministic generator (xorshift64*): the same seed and stream give the same
/// sequence, so a failing iteration replays from the printed seed and iteration.
pub struct Rng(u64);

impl Rng {
    /// The generator for iteration `stream` of a run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mixed = seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = Self(if mixed == 0 { 0x5eed } else { mixed });
        rng.next();
        rng
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next() % bound
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (`fallback` if there are none).
    pub fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        let index = self.below(items.len() as u64) as usize;
        items.get(index).copied().unwrap_or(fallback)
    }

    /// A value that tends to find edge cases: 0, 1, all ones, powers of two and their
    /// neighbours, the user/kernel address boundaries, small and huge numbers.
    pub fn interesting(&mut self) -> u64 {
        let power = 1u64 << self.below(64);
        match self.below(12) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => power,
            4 => power.wrapping_sub(1),
            5 => power.wrapping_add(1),
            6 => sel4::USER_TOP.wrapping_add(self.below(3)).wrapping_sub(1),
            7 => 0xffff_ff80_0000_0000 | (self.next() & 0x7f_ffff_fff8),
            8 => self.below(130),
            9 => u64::MAX - self.below(16),
            10 => 1 << 63,
            _ => self.next(),
        }
    }
}

/// seL4 syscall numbers a random caller must not make: DebugPutChar and
/// DebugDumpScheduler print (and would garble the TEST_ lines), DebugHalt stops the
/// machine, and DebugNameThread halts it on any error, as seL4 documents for these
/// debugging aids. Everything else is fair game.
pub const FORBIDDEN_SYSCALLS: [i64; 4] = [-9, -10, -11, -14];

/// Prints a case's seed so that a failure can be replayed.
pub fn announce(name: &str, seed: u64, count: u64, unit: &str) {
    sel4_root_task::debug_println!("{name}: seed {seed:#x}, {count} {unit}");
}

/// Sets the root task's receive slot to none, so a child that sends caps with grant
/// cannot drop them into the root CNode.
pub fn refuse_received_caps() {
    sel4::with_ipc_buffer(|buffer| {
        buffer.receive_cnode = 0;
        buffer.receive_index = 0;
        buffer.receive_depth = 0;
    });
}

/// `seL4_CNode_CapData` for a CNode cap whose guard (value 0) makes a CPtr resolve in
/// one level: `64 - radix` zero bits, then the slot index.
pub const fn single_level_guard(radix: u64) -> u64 {
    64 - radix
}

/// A CNode of the case's making that children use as their CSpace root, filled by the
/// root task through its own (guardless) cap.
pub struct Sandbox {
    /// The root task's cap to it (no guard: address slots with depth `radix`).
    pub cnode: u64,
    pub radix: u64,
}

impl Sandbox {
    /// A new CNode of `2^radix` slots from `untyped`, its cap in a fresh root slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn new(ctx: &mut Ctx, untyped: u64, radix: u64) -> Result<Self, String> {
        let cnode = ctx.retype_from(untyped, ObjectType::CNode, radix)?;
        Ok(Self { cnode, radix })
    }

    fn cap(&self) -> Cap<CNode> {
        Cap::from_bits(self.cnode)
    }

    /// Puts a copy of root slot `source` with `rights` and `badge` in slot `index`,
    /// replacing whatever was there.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn install(
        &self,
        index: u64,
        source: u64,
        rights: CapRights,
        badge: u64,
    ) -> Result<(), String> {
        let _ = self.cap().cnode_delete(index, self.radix);
        sel(
            self.cap().cnode_mint(
                index,
                self.radix,
                Cap::from_bits(ROOT_CNODE),
                source,
                WORD_DEPTH,
                rights,
                badge,
            ),
            &format!("put a cap in sandbox slot {index}"),
        )
    }
}

/// Where a supervised child starts: entry, stack and arguments (x0..x7).
#[derive(Clone, Copy)]
pub struct Start {
    pub entry: u64,
    pub sp: u64,
    pub args: [u64; 8],
}

/// Creates a thread whose CSpace root is `sandbox` (single-level guard) with fault
/// handler CPtr `fault_cptr` in it, in the root VSpace with IPC buffer (`frame`,
/// `buffer`), at the root task's priority, and starts it.
///
/// # Errors
/// The kernel's error at any step.
pub fn spawn_in_sandbox(
    ctx: &mut Ctx,
    sandbox: &Sandbox,
    fault_cptr: u64,
    (frame, buffer): (u64, u64),
    start: &Start,
) -> Result<u64, String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let tcb_cap = Cap::<Tcb>::from_bits(tcb);
    sel(
        tcb_cap.tcb_configure(
            fault_cptr,
            Cap::from_bits(sandbox.cnode),
            single_level_guard(sandbox.radix),
            Cap::from_bits(ROOT_VSPACE),
            buffer,
            Cap::from_bits(frame),
        ),
        "TCBConfigure the sandboxed child",
    )?;
    sel(
        tcb_cap.tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY),
        "TCBSetPriority the sandboxed child",
    )?;
    restart_at(tcb, start)?;
    Ok(tcb)
}

/// Stops `tcb` (whatever it is blocked on) and restarts it at `start`.
///
/// # Errors
/// The kernel's error.
pub fn restart_at(tcb: u64, start: &Start) -> Result<(), String> {
    let tcb_cap = Cap::<Tcb>::from_bits(tcb);
    sel(tcb_cap.tcb_suspend(), "suspend the child")?;
    let [x0, x1, x2, x3, x4, x5, x6, x7] = start.args;
    let context = UserContext {
        pc: start.entry,
        sp: start.sp,
        x0,
        x1,
        x2,
        x3,
        x4,
        x5,
        x6,
        x7,
        ..UserContext::default()
    };
    sel(
        tcb_cap.tcb_write_registers(true, &context),
        "restart the child with WriteRegisters",
    )
}

/// Shared words a supervised child and the root task use.
pub mod word {
    /// The next iteration the child will run.
    pub const NEXT: usize = 0;
    /// Set by the child when it has run every iteration.
    pub const DONE: usize = 1;
    /// Count of anomalies the child saw, and the first one's iteration and value.
    pub const ANOMALIES: usize = 2;
    pub const ANOMALY_ITERATION: usize = 3;
    pub const ANOMALY_VALUE: usize = 4;
}

/// The child's claim of its next iteration: records it as started (so a fault in it
/// moves the child on after a restart) and returns it, or `None` when all are done.
pub fn claim_iteration(count: u64) -> Option<u64> {
    let iteration = shared(word::NEXT);
    if iteration >= count {
        set_shared(word::DONE, 1);
        return None;
    }
    set_shared(word::NEXT, iteration + 1);
    Some(iteration)
}

/// Records an anomaly the child saw (the first one's details are kept).
pub fn record_anomaly(iteration: u64, value: u64) {
    if crate::child::bump_shared(word::ANOMALIES) == 1 {
        set_shared(word::ANOMALY_ITERATION, iteration);
        set_shared(word::ANOMALY_VALUE, value);
    }
}

/// Parks a child that has finished; it spins on Yield so it never needs a cap.
pub fn finished() -> ! {
    loop {
        syscall::yield_now();
    }
}

/// How the supervisor saw a child's run end.
pub struct Supervised {
    pub faults: u64,
    pub restarts: u64,
    pub served: u64,
}

/// What the supervisor does on each step besides watching progress; returns whether the
/// child must be restarted.
pub trait Supervision {
    /// Serves the child's IPC and faults once; `Ok(true)` asks for a restart.
    ///
    /// # Errors
    /// A broken expectation about what the kernel delivered.
    fn step(&mut self, counts: &mut Supervised) -> Result<bool, String>;
    /// Puts back whatever the child may have destroyed in its sandbox before a restart.
    ///
    /// # Errors
    /// The kernel's error.
    fn repair(&mut self) -> Result<(), String>;
}

/// Runs a supervised child to completion: yields to it, serves it, and restarts it when
/// it faults or makes no progress for a few rounds. Fails when the run exceeds
/// `step_limit` steps (a hang).
///
/// # Errors
/// A hang, or what `supervision` reports.
pub fn supervise(
    tcb: u64,
    start: &Start,
    supervision: &mut dyn Supervision,
    step_limit: u64,
) -> Result<Supervised, String> {
    let mut counts = Supervised {
        faults: 0,
        restarts: 0,
        served: 0,
    };
    let mut last_progress = u64::MAX;
    let mut stale = 0u32;
    for _ in 0..step_limit {
        syscall::yield_now();
        let mut restart = supervision.step(&mut counts)?;
        if shared(word::DONE) != 0 {
            return Ok(counts);
        }
        let progress = shared(word::NEXT);
        if progress == last_progress {
            stale += 1;
            restart |= stale >= 3;
        } else {
            last_progress = progress;
            stale = 0;
        }
        if restart {
            supervision.repair()?;
            restart_at(tcb, start)?;
            counts.restarts += 1;
            stale = 0;
        }
    }
    Err(format!(
        "the child did not finish within {step_limit} supervisor steps (stuck at iteration {})",
        shared(word::NEXT)
    ))
}

/// Fails with the child's first anomaly, if it saw any.
///
/// # Errors
/// The anomaly, with the seed and iteration that replay it.
pub fn check_anomalies(seed: u64, what: &str) -> Result<(), String> {
    let count = shared(word::ANOMALIES);
    ensure!(
        count == 0,
        "{count} anomalies; first at seed {seed:#x} iteration {}: {what} {:#x}",
        shared(word::ANOMALY_ITERATION),
        shared(word::ANOMALY_VALUE)
    );
    Ok(())
}

/// Calls `endpoint` with (label 0x33, MR0 = `value`) and stores the reply's MR0 in
/// shared word 15, then parks on `endpoint`.
extern "C" fn echo_client(
    endpoint: u64,
    value: u64,
    park_on: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    let (info, mrs) = syscall::call(endpoint, MessageInfo::new(0x33, 0, 0, 1), [value, 0, 0, 0]);
    set_shared(14, info.label() + 1);
    set_shared(15, mrs[0]);
    park(park_on)
}

/// After a stress run: the kernel still retypes fresh objects, copies caps, identifies
/// them, and runs a Call/Reply round trip with a new thread.
///
/// # Errors
/// What no longer works.
pub fn check_kernel_sane(ctx: &mut Ctx) -> Result<(), String> {
    let endpoint = ctx.endpoint()?;
    let badged = ctx.mint(endpoint, CapRights::all(), 0x5a)?;
    expect_tag(endpoint, CapTag::Endpoint, "fresh endpoint")?;
    expect_tag(badged, CapTag::Endpoint, "minted endpoint")?;
    expect_tag(ROOT_CNODE, CapTag::CNode, "root CNode")?;
    expect_tag(ROOT_TCB, CapTag::Thread, "root TCB")?;
    set_shared(14, 0);
    set_shared(15, 0);
    let value = 0x600d_0000 + ctx.index as u64;
    let mut thread = Thread::new(echo_client as *const () as u64);
    thread.args[0] = badged;
    thread.args[1] = value;
    thread.args[2] = endpoint;
    ctx.spawn(&thread)?;
    let message = poll(endpoint, "a fresh thread's Call after the stress run")?;
    ensure!(
        message.badge == 0x5a && message.info.label() == 0x33 && message.mrs[0] == value,
        "fresh Call arrived as badge {:#x} label {:#x} MR0 {:#x}",
        message.badge,
        message.info.label(),
        message.mrs[0]
    );
    reply_with(0, &[value + 1]);
    for _ in 0..POLL_LIMIT {
        if shared(14) != 0 {
            break;
        }
        syscall::yield_now();
    }
    ensure!(
        shared(14) == 1 && shared(15) == value + 1,
        "fresh thread got reply label {} MR0 {:#x}",
        shared(14).wrapping_sub(1),
        shared(15)
    );
    Ok(())
}
