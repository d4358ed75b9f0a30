//! `stress_delete_while_blocked`: rounds of threads blocked in Send, Call and Recv on an
//! endpoint and in Wait on a notification, each with a CNode of its own (some with a
//! VSpace of their own), then the endpoint, the notification, the threads' TCBs,
//! CNodes and VSpaces deleted in a random order, with random signals in between. A
//! model of seL4's semantics predicts exactly which fault or marker each survivor sends
//! to the monitor endpoint after each step (a thread whose object is deleted restarts
//! its syscall: Recv on the now-empty slot is a cap fault, Call gets InvalidCapability,
//! Send returns; without a VSpace the restart is a fetch fault; without a CSpace it dies
//! silently). Each round ends by revoking its untyped, which must leave every slot empty
//! and the memory reusable by the next round's retypes.

use super::*;
use crate::child::write_bytes;
use alloc::vec::Vec;
use sel4::cap_type::{AsidPool, Granule, Notification, PageTable};
use sel4::{Error, FaultType, VmAttributes};

const SEED: u64 = 0x5eed_0004_de1e_7e00;
const ROUNDS: u64 = 100;
const THREADS: usize = 5;
/// Threads from this index on run in a VSpace of their own.
const OWN_VSPACE_FROM: usize = 3;
const OWN_VSPACES: usize = THREADS - OWN_VSPACE_FROM;
const ROUND_UNTYPED_BITS: u64 = 18;
const THREAD_CNODE_RADIX: u64 = 2;
/// Slots of each thread's CNode.
const ENDPOINT_CPTR: u64 = 0;
const NOTIFICATION_CPTR: u64 = 1;
const MONITOR_CPTR: u64 = 2;
/// Where the blocker's code sits in a thread's own VSpace.
const OWN_CODE: u64 = 0x1_0000;
const MARK_NUMBER: u64 = 0x5b5b;

core::arch::global_asm!(
    ".section .text.kt_stress_blocker, \"ax\"",
    ".balign 4",
    // Position-independent: x19 = the CPtr, x20 = the syscall number. After the
    // syscall returns, an UnknownSyscall (x7 = 0x5b5b) reports it.
    ".global kt_stress_blocker",
    "kt_stress_blocker:",
    "    mov x0, x19",
    "    mov x1, xzr",
    "    mov x7, x20",
    "    svc #0",
    "    movz x7, #0x5b5b",
    "    svc #0",
    "    b kt_stress_blocker",
    ".global kt_stress_blocker_end",
    "kt_stress_blocker_end:",
    ".text",
);

extern "C" {
    fn kt_stress_blocker();
    fn kt_stress_blocker_end();
}

/// Offsets in the blocker of the blocking `svc`, the instruction after it, and the
/// marker's `svc`.
const BLOCKING_SVC: u64 = 12;
const AFTER_SVC: u64 = 16;
const MARK_SVC: u64 = 20;

fn blocker_code() -> &'static [u8] {
    let start = kt_stress_blocker as *const () as u64;
    let length = (kt_stress_blocker_end as *const () as u64).saturating_sub(start);
    // SAFETY: [kt_stress_blocker, kt_stress_blocker_end) is this image's text, in one
    // section in that order, mapped readable for the task's life.
    unsafe { core::slice::from_raw_parts(start as *const u8, length as usize) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Endpoint,
    Notification,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Send,
    Call,
    Receive,
    Wait,
}

impl Kind {
    fn object(self) -> Object {
        match self {
            Kind::Wait => Object::Notification,
            _ => Object::Endpoint,
        }
    }

    fn cptr(self) -> u64 {
        match self.object() {
            Object::Endpoint => ENDPOINT_CPTR,
            Object::Notification => NOTIFICATION_CPTR,
        }
    }

    fn number(self) -> u64 {
        match self {
            Kind::Send => sel4::Syscall::Send.word(),
            Kind::Call => sel4::Syscall::Call.word(),
            Kind::Receive | Kind::Wait => sel4::Syscall::Recv.word(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Blocked(Kind),
    /// Sent a fault or marker; waits for a reply that never comes.
    Reported,
    Dead,
    /// Restarted without a CSpace: faulted with no handler, now inactive.
    Silent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Delete(Object),
    Signal,
    DeleteTcb(usize),
    DeleteCnode(usize),
    DeleteVspace(usize),
}

/// A message the model predicts on the monitor endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    /// The restarted receive found its slot empty.
    CapFault { cptr: u64 },
    /// The syscall returned; for a restarted Call, with an InvalidCapability error.
    Marker { call_error: bool },
    /// The thread's next fetch (at this offset of the blocker) has no VSpace.
    FetchFault { offset: u64 },
}

/// Root slots reused every round (they are empty again after the round's revoke).
struct Slots {
    endpoint: u64,
    notification: u64,
    tcbs: [u64; THREADS],
    cnodes: [u64; THREADS],
    vspaces: [u64; OWN_VSPACES],
    tables: [[u64; 3]; OWN_VSPACES],
    code_copies: [u64; OWN_VSPACES],
}

impl Slots {
    fn new(ctx: &mut Ctx) -> Result<Self, String> {
        let mut take = || ctx.alloc_slot();
        Ok(Self {
            endpoint: take()?,
            notification: take()?,
            tcbs: [take()?, take()?, take()?, take()?, take()?],
            cnodes: [take()?, take()?, take()?, take()?, take()?],
            vspaces: [take()?, take()?],
            tables: [[take()?, take()?, take()?], [take()?, take()?, take()?]],
            code_copies: [take()?, take()?],
        })
    }

    fn all(&self) -> Vec<u64> {
        let mut all = alloc::vec![self.endpoint, self.notification];
        all.extend_from_slice(&self.tcbs);
        all.extend_from_slice(&self.cnodes);
        all.extend_from_slice(&self.vspaces);
        for tables in &self.tables {
            all.extend_from_slice(tables);
        }
        all.extend_from_slice(&self.code_copies);
        all
    }
}

/// What lives for the whole case.
struct Fixed {
    untyped: u64,
    monitor: u64,
    code: u64,
    slots: Slots,
}

fn retype_into(
    untyped: u64,
    object_type: ObjectType,
    size_bits: u64,
    slot: u64,
) -> Result<(), String> {
    sel(
        Cap::<sel4::cap_type::Untyped>::from_bits(untyped).untyped_retype(
            object_type,
            size_bits,
            Cap::from_bits(ROOT_CNODE),
            0,
            0,
            slot,
            1,
        ),
        &format!("retype {object_type:?} after the previous round's revoke"),
    )
}

fn revoke_and_delete(slot: u64, what: &str) -> Result<(), String> {
    let root = Cap::<CNode>::from_bits(ROOT_CNODE);
    sel(
        root.cnode_revoke(slot, WORD_DEPTH),
        &format!("revoke {what}"),
    )?;
    sel(
        root.cnode_delete(slot, WORD_DEPTH),
        &format!("delete {what}"),
    )
}

/// The model of one round.
struct Round {
    states: [State; THREADS],
    cnode_alive: [bool; THREADS],
    vspace_alive: [bool; THREADS],
    /// Threads waiting on the notification, in the order they blocked.
    waiters: Vec<usize>,
}

impl Round {
    /// Applies `action` to the model; returns the messages it makes survivors send.
    fn apply(&mut self, action: Action) -> Vec<(usize, Expected)> {
        let mut expected = Vec::new();
        match action {
            Action::Delete(object) => {
                for thread in 0..THREADS {
                    let State::Blocked(kind) = self.states[thread] else {
                        continue;
                    };
                    if kind.object() != object {
                        continue;
                    }
                    let message = match kind {
                        Kind::Receive | Kind::Wait => Expected::CapFault { cptr: kind.cptr() },
                        Kind::Send => Expected::Marker { call_error: false },
                        Kind::Call => Expected::Marker { call_error: true },
                    };
                    self.resume(thread, BLOCKING_SVC, message, &mut expected);
                }
                if object == Object::Notification {
                    self.waiters.clear();
                }
            }
            Action::Signal => {
                if !self.waiters.is_empty() {
                    let thread = self.waiters.remove(0);
                    self.resume(
                        thread,
                        AFTER_SVC,
                        Expected::Marker { call_error: false },
                        &mut expected,
                    );
                }
            }
            Action::DeleteTcb(thread) => {
                self.states[thread] = State::Dead;
                self.waiters.retain(|waiter| *waiter != thread);
            }
            Action::DeleteCnode(thread) => self.cnode_alive[thread] = false,
            Action::DeleteVspace(thread) => self.vspace_alive[thread] = false,
        }
        expected
    }

    /// `thread` runs again from blocker offset `offset`: without a CSpace its fault has
    /// no handler; without a VSpace the fetch faults; otherwise it sends `message`.
    fn resume(
        &mut self,
        thread: usize,
        offset: u64,
        message: Expected,
        expected: &mut Vec<(usize, Expected)>,
    ) {
        if !self.cnode_alive[thread] {
            self.states[thread] = State::Silent;
            return;
        }
        self.states[thread] = State::Reported;
        if self.vspace_alive[thread] {
            expected.push((thread, message));
        } else {
            expected.push((thread, Expected::FetchFault { offset }));
        }
    }
}

fn code_base(thread: usize) -> u64 {
    if thread >= OWN_VSPACE_FROM {
        OWN_CODE
    } else {
        kt_stress_blocker as *const () as u64
    }
}

/// Checks one monitor message against what the model expects of `thread`.
fn matches(message: &Received, thread: usize, expected: Expected) -> bool {
    let base = code_base(thread);
    let label = message.info.label();
    match expected {
        Expected::CapFault { cptr } => {
            label == FaultType::CapFault as u64
                && message.mr(sel4::cap_fault::IP) == base + BLOCKING_SVC
                && message.mr(sel4::cap_fault::ADDR) == cptr
                && message.mr(sel4::cap_fault::IN_RECV_PHASE) == 1
        }
        Expected::Marker { call_error } => {
            let x1 = MessageInfo(message.mr(1));
            label == FaultType::UnknownSyscall as u64
                && message.mr(sel4::unknown_syscall::FAULT_IP) == base + MARK_SVC
                && message.mr(sel4::unknown_syscall::SYSCALL) == MARK_NUMBER
                && (!call_error || x1.label() == Error::InvalidCapability as u64)
        }
        Expected::FetchFault { offset } => {
            label == FaultType::VmFault as u64
                && message.mr(sel4::vm_fault::IP) == base + offset
                && message.mr(sel4::vm_fault::PREFETCH_FAULT) == 1
        }
    }
}

/// Collects the messages `expected` predicts (any order), then makes sure no other
/// arrives within a few more scheduling rounds.
fn collect(fixed: &Fixed, mut expected: Vec<(usize, Expected)>) -> Result<(), String> {
    let mut quiet = 0;
    for _ in 0..POLL_LIMIT {
        match poll_once(fixed.monitor) {
            Some(message) => {
                let thread = (message.badge as usize).wrapping_sub(1);
                let position = expected
                    .iter()
                    .position(|(who, what)| *who == thread && matches(&message, thread, *what));
                match position {
                    Some(position) => {
                        expected.remove(position);
                    }
                    None => {
                        return Err(format!(
                            "unexpected message from thread {thread}: label {} MRs {:x?} \
                             (expected {expected:?})",
                            message.info.label(),
                            message.mrs
                        ))
                    }
                }
            }
            None if expected.is_empty() => {
                quiet += 1;
                if quiet > 8 {
                    return Ok(());
                }
                syscall::yield_now();
            }
            None => syscall::yield_now(),
        }
    }
    Err(format!("timed out waiting for {expected:?}"))
}

/// Creates the round's objects and threads and blocks each thread.
fn set_up_round(fixed: &Fixed, rng: &mut Rng, kinds: &[Kind; THREADS]) -> Result<(), String> {
    let slots = &fixed.slots;
    let untyped = fixed.untyped;
    retype_into(untyped, ObjectType::Endpoint, 0, slots.endpoint)?;
    retype_into(untyped, ObjectType::Notification, 0, slots.notification)?;
    for vspace in 0..OWN_VSPACES {
        let vspace_slot = slots.vspaces[vspace];
        retype_into(untyped, ObjectType::VSpace, 0, vspace_slot)?;
        sel(
            Cap::<AsidPool>::from_bits(ASID_POOL).asid_pool_assign(Cap::from_bits(vspace_slot)),
            "assign an ASID to a round's VSpace",
        )?;
        for table in slots.tables[vspace] {
            retype_into(untyped, ObjectType::PageTable, 0, table)?;
            sel(
                Cap::<PageTable>::from_bits(table).page_table_map(
                    Cap::from_bits(vspace_slot),
                    OWN_CODE,
                    VmAttributes::default(),
                ),
                "map a page table of a round's VSpace",
            )?;
        }
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        let copy = slots.code_copies[vspace];
        sel(
            root.cnode_copy(
                copy,
                WORD_DEPTH,
                root,
                fixed.code,
                WORD_DEPTH,
                CapRights::all(),
            ),
            "copy the blocker's code frame",
        )?;
        sel(
            Cap::<Granule>::from_bits(copy).frame_map(
                Cap::from_bits(vspace_slot),
                OWN_CODE,
                CapRights::read_only(),
                VmAttributes::default(),
            ),
            "map the blocker's code",
        )?;
    }
    for (thread, kind) in kinds.iter().enumerate() {
        let cnode = slots.cnodes[thread];
        retype_into(untyped, ObjectType::CNode, THREAD_CNODE_RADIX, cnode)?;
        let sandbox = Sandbox {
            cnode,
            radix: THREAD_CNODE_RADIX,
        };
        sandbox.install(ENDPOINT_CPTR, slots.endpoint, CapRights::all(), 0)?;
        sandbox.install(NOTIFICATION_CPTR, slots.notification, CapRights::all(), 0)?;
        sandbox.install(
            MONITOR_CPTR,
            fixed.monitor,
            CapRights::all(),
            thread as u64 + 1,
        )?;
        let tcb = slots.tcbs[thread];
        retype_into(untyped, ObjectType::Tcb, 0, tcb)?;
        let vspace = if thread >= OWN_VSPACE_FROM {
            slots.vspaces[thread - OWN_VSPACE_FROM]
        } else {
            ROOT_VSPACE
        };
        let tcb_cap = Cap::<Tcb>::from_bits(tcb);
        sel(
            tcb_cap.tcb_configure(
                MONITOR_CPTR,
                Cap::from_bits(cnode),
                single_level_guard(THREAD_CNODE_RADIX),
                Cap::from_bits(vspace),
                0,
                Cap::from_bits(0),
            ),
            "configure a blocker",
        )?;
        sel(
            tcb_cap.tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY),
            "set a blocker's priority",
        )?;
        let context = UserContext {
            pc: code_base(thread),
            sp: rng.interesting() & !0xf,
            x19: kind.cptr(),
            x20: kind.number(),
            ..UserContext::default()
        };
        sel(
            tcb_cap.tcb_write_registers(true, &context),
            "start a blocker",
        )?;
        // Let it run into its syscall before the next one starts (queue order).
        for _ in 0..3 {
            syscall::yield_now();
        }
    }
    Ok(())
}

fn random_kinds(rng: &mut Rng) -> [Kind; THREADS] {
    let senders = rng.chance(50);
    let mut kinds = [Kind::Wait; THREADS];
    for kind in &mut kinds {
        *kind = match (senders, rng.below(3)) {
            (_, 0) => Kind::Wait,
            (true, 1) => Kind::Send,
            (true, _) => Kind::Call,
            (false, _) => Kind::Receive,
        };
    }
    kinds
}

fn random_actions(rng: &mut Rng) -> Vec<Action> {
    let mut actions = alloc::vec![
        Action::Delete(Object::Endpoint),
        Action::Delete(Object::Notification)
    ];
    for thread in 0..THREADS {
        if rng.chance(40) {
            actions.push(Action::DeleteTcb(thread));
        }
        if rng.chance(40) {
            actions.push(Action::DeleteCnode(thread));
        }
        if thread >= OWN_VSPACE_FROM && rng.chance(50) {
            actions.push(Action::DeleteVspace(thread));
        }
    }
    for _ in 0..rng.below(3) {
        actions.push(Action::Signal);
    }
    for index in (1..actions.len()).rev() {
        let other = rng.below(index as u64 + 1) as usize;
        actions.swap(index, other);
    }
    actions
}

fn perform(fixed: &Fixed, action: Action) -> Result<(), String> {
    let slots = &fixed.slots;
    match action {
        Action::Delete(Object::Endpoint) => revoke_and_delete(slots.endpoint, "the endpoint"),
        Action::Delete(Object::Notification) => {
            revoke_and_delete(slots.notification, "the notification")
        }
        Action::Signal => {
            Cap::<Notification>::from_bits(slots.notification).signal();
            Ok(())
        }
        Action::DeleteTcb(thread) => revoke_and_delete(slots.tcbs[thread], "a blocker's TCB"),
        Action::DeleteCnode(thread) => revoke_and_delete(slots.cnodes[thread], "a blocker's CNode"),
        Action::DeleteVspace(thread) => revoke_and_delete(
            slots.vspaces[thread - OWN_VSPACE_FROM],
            "a blocker's VSpace",
        ),
    }
}

/// Runs one round; returns the actions performed and the predicted messages received
/// (cap faults, markers, fetch faults).
fn run_round(fixed: &Fixed, round: u64) -> Result<(usize, [usize; 3]), String> {
    let mut rng = Rng::new(SEED, round);
    let kinds = random_kinds(&mut rng);
    let actions = random_actions(&mut rng);
    play(fixed, &mut rng, &kinds, &actions)
}

/// Blocks threads of `kinds`, performs `actions`, checks every survivor's messages
/// against the model, then revokes the round; returns what [`run_round`] does.
fn play(
    fixed: &Fixed,
    rng: &mut Rng,
    kinds: &[Kind; THREADS],
    actions: &[Action],
) -> Result<(usize, [usize; 3]), String> {
    set_up_round(fixed, rng, kinds)?;
    collect(fixed, Vec::new()).map_err(|why| format!("after blocking {kinds:?}: {why}"))?;
    let mut model = Round {
        states: kinds.map(State::Blocked),
        cnode_alive: [true; THREADS],
        vspace_alive: [true; THREADS],
        waiters: (0..THREADS)
            .filter(|thread| kinds[*thread] == Kind::Wait)
            .collect(),
    };
    let mut received = [0usize; 3];
    for (step, action) in actions.iter().enumerate() {
        // A signal after the notification's deletion is an NBSend on an empty slot,
        // which does nothing; the model has no waiters left then either.
        perform(fixed, *action)?;
        let expected = model.apply(*action);
        for (_, message) in &expected {
            received[match message {
                Expected::CapFault { .. } => 0,
                Expected::Marker { .. } => 1,
                Expected::FetchFault { .. } => 2,
            }] += 1;
        }
        collect(fixed, expected).map_err(|why| {
            format!("kinds {kinds:?}, actions {actions:?}, step {step} ({action:?}): {why}")
        })?;
    }
    let root = Cap::<CNode>::from_bits(ROOT_CNODE);
    sel(
        root.cnode_revoke(fixed.untyped, WORD_DEPTH),
        "revoke the round's untyped",
    )?;
    sel(
        root.cnode_revoke(fixed.code, WORD_DEPTH),
        "revoke the code frame's copies",
    )?;
    sel(
        root.cnode_revoke(fixed.monitor, WORD_DEPTH),
        "revoke the monitor's copies",
    )?;
    for slot in fixed.slots.all() {
        let tag = identify(slot);
        ensure!(
            tag == CapTag::Null as u64,
            "slot {slot:#x} still holds tag {tag} after the round's revoke"
        );
    }
    Ok((actions.len(), received))
}

/// Makes what lives for the whole case: the rounds' untyped, the monitor endpoint, the
/// blocker's code frame, and the reused slots.
fn build(ctx: &mut Ctx) -> Result<Fixed, String> {
    let untyped = ctx.retype(ObjectType::Untyped, ROUND_UNTYPED_BITS)?;
    let monitor = ctx.endpoint()?;
    let (code, staging) = ctx.scratch_page()?;
    let bytes = blocker_code();
    write_bytes(staging, bytes);
    sel(
        Cap::<Granule>::from_bits(code).frame_unify_instruction(0, bytes.len() as u64),
        "Page_Unify_Instruction on the blocker",
    )?;
    let slots = Slots::new(ctx)?;
    Ok(Fixed {
        untyped,
        monitor,
        code,
        slots,
    })
}

pub fn stress_delete_while_blocked(ctx: &mut Ctx) -> Result<(), String> {
    announce("stress_delete_while_blocked", SEED, ROUNDS, "rounds");
    let fixed = build(ctx)?;
    let untyped = fixed.untyped;
    let (mut actions, mut received) = (0, [0usize; 3]);
    for round in 0..ROUNDS {
        let (performed, messages) = run_round(&fixed, round)
            .map_err(|why| format!("seed {SEED:#x} round {round}: {why}"))?;
        actions += performed;
        for (total, count) in received.iter_mut().zip(messages) {
            *total += count;
        }
    }
    sel4_root_task::debug_println!(
        "stress_delete_while_blocked: {ROUNDS} rounds, {actions} deletions and signals, \
         predicted survivor messages received: {} cap faults, {} markers, {} fetch faults",
        received[0],
        received[1],
        received[2]
    );
    let whole = ctx.alloc_slot()?;
    retype_into(untyped, ObjectType::Untyped, ROUND_UNTYPED_BITS, whole)?;
    sel(
        Cap::<CNode>::from_bits(ROOT_CNODE).cnode_revoke(untyped, WORD_DEPTH),
        "revoke the whole-untyped check",
    )?;
    check_kernel_sane(ctx)
}

/// The minimal reproduction of what `stress_delete_while_blocked` found (seed
/// 0x5eed0004de1e7e00, round 90): a thread in a VSpace of its own waits on a
/// notification; its VSpace is deleted; a signal wakes it. On seL4 it returns to user
/// level on an empty address space and its fetch of the instruction after the `svc`
/// faults: VMFault with IP = Addr = that instruction. A kernel that raises the fault
/// without running the thread must report the same IP (else a reply that restarts the
/// thread re-executes its last syscall).
pub fn stress_regression_fetch_fault_ip_without_vspace(ctx: &mut Ctx) -> Result<(), String> {
    let fixed = build(ctx)?;
    let kinds = [Kind::Send, Kind::Send, Kind::Send, Kind::Wait, Kind::Send];
    let actions = [
        Action::DeleteVspace(OWN_VSPACE_FROM),
        Action::Signal,
        Action::Delete(Object::Endpoint),
        Action::Delete(Object::Notification),
    ];
    let mut rng = Rng::new(SEED, u64::MAX);
    play(&fixed, &mut rng, &kinds, &actions).map(drop)
}
