//! `stress_random_invocations`: a child whose CSpace is a sandbox holding one cap of
//! every kind the case made invokes random caps with random labels, lengths, extra caps
//! and message words, by Call, Send and NBSend. Every Call's reply must carry success or
//! an seL4 error; the kernel must serve all of it and stay sane.

use super::*;
use crate::child::{buffer_offset, bump_shared, write_buffer_mr, write_buffer_word};
use sel4::cap_type::{AsidControl, AsidPool, IrqControl, PageTable};
use sel4::syscall::Blocking;
use sel4::{Error, IrqTrigger, VmAttributes};

const SEED: u64 = 0x5eed_0001_c0ff_ee01;
const ITERATIONS: u64 = 20_000;
const POOL_RADIX: u64 = 6;
const POOL_SLOTS: u64 = 1 << POOL_RADIX;
const FAULT_BADGE: u64 = 0xfa;
/// An SPI with nothing behind it on QEMU virt (the last virtio-mmio transport's line).
const QUIET_IRQ: u64 = 79;
/// Shared words 5..=15 count the Call replies by label (0 = success, then the errors).
const REPLY_HISTOGRAM: usize = 5;

/// Sandbox slots and the labels that belong to what they start with.
mod slot {
    pub const FAULT: u64 = 1;
    pub const SELF_GUARDED: u64 = 2;
    pub const SELF_PLAIN: u64 = 3;
    pub const UNTYPED: u64 = 4;
    pub const VICTIM_CONFIGURED: u64 = 5;
    pub const VICTIM_FRESH: u64 = 6;
    pub const ENDPOINT_A: u64 = 7;
    pub const ENDPOINT_B: u64 = 8;
    pub const ENDPOINT_RECEIVE_ONLY: u64 = 9;
    pub const NOTIFICATION: u64 = 10;
    pub const NOTIFICATION_PLAIN: u64 = 11;
    pub const FRAME_A: u64 = 12;
    pub const FRAME_B: u64 = 13;
    pub const PAGE_TABLE: u64 = 14;
    pub const VSPACE: u64 = 15;
    pub const ASID_POOL: u64 = 16;
    pub const IRQ_HANDLER: u64 = 17;
    pub const SMALL_CNODE: u64 = 18;
    /// Slots below this start filled; the rest start empty.
    pub const FILLED: u64 = 19;
}

/// The labels that are methods of the cap first placed in `slot` (empty when none).
fn labels_for(slot: u64) -> core::ops::RangeInclusive<u64> {
    match slot {
        slot::UNTYPED => 1..=1,
        slot::VICTIM_CONFIGURED | slot::VICTIM_FRESH => 2..=16,
        slot::SELF_GUARDED | slot::SELF_PLAIN | slot::SMALL_CNODE => 17..=25,
        slot::IRQ_HANDLER => 27..=29,
        slot::VSPACE => 33..=36,
        slot::PAGE_TABLE => 38..=39,
        slot::FRAME_A | slot::FRAME_B => 40..=46,
        slot::ASID_POOL => 48..=48,
        _ => 0..=60,
    }
}

fn random_cptr(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0..=3 => rng.below(slot::FILLED),
        4 | 5 => rng.below(POOL_SLOTS),
        _ => rng.interesting(),
    }
}

/// A message word: slot indices, depths and small enumerations often enough for the
/// decoders to get past their first checks, and edge values otherwise.
fn random_argument(rng: &mut Rng) -> u64 {
    match rng.below(20) {
        0..=5 => rng.below(POOL_SLOTS),
        6..=8 => rng.pick(&[0, 1, 2, 6, 7, 8, 12, 58, 62, 63, 64, 65], 64),
        9 | 10 => rng.below(16),
        _ => rng.interesting(),
    }
}

/// The sandboxed child: runs iterations until all are claimed. x0 = its IPC buffer.
extern "C" fn invoker(
    buffer: u64,
    seed: u64,
    count: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
) -> ! {
    while let Some(iteration) = claim_iteration(count) {
        let mut rng = Rng::new(seed, iteration);
        let cptr = random_cptr(&mut rng);
        let label = if rng.chance(50) {
            let labels = labels_for(cptr);
            labels.start() + rng.below(labels.end() - labels.start() + 1)
        } else {
            rng.below(61)
        };
        let length = if rng.chance(80) {
            rng.below(12)
        } else {
            rng.below(128)
        };
        let extra_caps = rng.below(4);
        let unwrapped = if rng.chance(10) { rng.below(8) } else { 0 };
        let info = MessageInfo(label << 12 | unwrapped << 9 | extra_caps << 7 | length);
        let mut registers = [0u64; 4];
        for index in 0..length.min(sel4::MSG_MAX_LENGTH as u64) as usize {
            let value = random_argument(&mut rng);
            match registers.get_mut(index) {
                Some(register) => *register = value,
                None => write_buffer_mr(buffer, index, value),
            }
        }
        for index in 0..3 {
            // Mostly caps that resolve, so that decoding goes past the extra caps.
            let cptr = if rng.chance(80) {
                rng.below(slot::FILLED)
            } else {
                random_cptr(&mut rng)
            };
            write_buffer_word(buffer, buffer_offset::CAPS_OR_BADGES + 8 * index, cptr);
        }
        match rng.below(10) {
            0 => syscall::send(cptr, info, registers, Blocking::Block),
            1 => syscall::send(cptr, info, registers, Blocking::NonBlocking),
            _ => {
                let (reply, _) = syscall::call(cptr, info, registers);
                if reply.label() != 0 && Error::from_label(reply.label()).is_none() {
                    record_anomaly(iteration, reply.word());
                } else {
                    bump_shared(REPLY_HISTOGRAM + reply.label() as usize);
                }
            }
        }
    }
    finished()
}

/// Root slots of the objects behind the sandbox.
struct Objects {
    untyped: u64,
    fault: u64,
    endpoints: [u64; 2],
}

/// Makes one object of each kind from `untyped` and fills the sandbox.
fn build(ctx: &mut Ctx, sandbox: &Sandbox, untyped: u64) -> Result<Objects, String> {
    let all = CapRights::all();
    let fault = ctx.retype_from(untyped, ObjectType::Endpoint, 0)?;
    sandbox.install(slot::FAULT, fault, all, FAULT_BADGE)?;
    sandbox.install(
        slot::SELF_GUARDED,
        sandbox.cnode,
        all,
        single_level_guard(POOL_RADIX),
    )?;
    sandbox.install(slot::SELF_PLAIN, sandbox.cnode, all, 0)?;
    let pool_untyped = ctx.retype_from(untyped, ObjectType::Untyped, 16)?;
    sandbox.install(slot::UNTYPED, pool_untyped, all, 0)?;
    let endpoint_a = ctx.retype_from(untyped, ObjectType::Endpoint, 0)?;
    let endpoint_b = ctx.retype_from(untyped, ObjectType::Endpoint, 0)?;
    sandbox.install(slot::ENDPOINT_A, endpoint_a, all, 0x11)?;
    sandbox.install(slot::ENDPOINT_B, endpoint_b, all, 0x12)?;
    sandbox.install(
        slot::ENDPOINT_RECEIVE_ONLY,
        endpoint_a,
        CapRights(CapRights::READ),
        0x13,
    )?;
    let notification = ctx.retype_from(untyped, ObjectType::Notification, 0)?;
    sandbox.install(slot::NOTIFICATION, notification, all, 0x21)?;
    sandbox.install(slot::NOTIFICATION_PLAIN, notification, all, 0)?;
    for index in [slot::FRAME_A, slot::FRAME_B] {
        let frame = ctx.retype_from(untyped, ObjectType::SmallPage, 0)?;
        sandbox.install(index, frame, all, 0)?;
    }
    let pool_memory = ctx.retype_from(untyped, ObjectType::Untyped, 12)?;
    let asid_pool = ctx.alloc_slot()?;
    sel(
        Cap::<AsidControl>::from_bits(ASID_CONTROL).asid_control_make_pool(
            Cap::from_bits(pool_memory),
            Cap::from_bits(ROOT_CNODE),
            asid_pool,
            WORD_DEPTH,
        ),
        "MakePool for the sandbox",
    )?;
    sandbox.install(slot::ASID_POOL, asid_pool, all, 0)?;
    let vspace = ctx.retype_from(untyped, ObjectType::VSpace, 0)?;
    sel(
        Cap::<AsidPool>::from_bits(asid_pool).asid_pool_assign(Cap::from_bits(vspace)),
        "assign the sandbox VSpace",
    )?;
    sandbox.install(slot::VSPACE, vspace, all, 0)?;
    // seL4 refuses to copy an unmapped page table's cap: map it first.
    let page_table = ctx.retype_from(untyped, ObjectType::PageTable, 0)?;
    sel(
        Cap::<PageTable>::from_bits(page_table).page_table_map(
            Cap::from_bits(vspace),
            0x4000_0000,
            VmAttributes::default(),
        ),
        "map the sandbox page table",
    )?;
    sandbox.install(slot::PAGE_TABLE, page_table, all, 0)?;
    let victim = ctx.retype_from(untyped, ObjectType::Tcb, 0)?;
    sel(
        Cap::<Tcb>::from_bits(victim).tcb_configure(
            slot::ENDPOINT_A,
            Cap::from_bits(sandbox.cnode),
            single_level_guard(POOL_RADIX),
            Cap::from_bits(vspace),
            0,
            Cap::from_bits(0),
        ),
        "configure the victim thread",
    )?;
    sandbox.install(slot::VICTIM_CONFIGURED, victim, all, 0)?;
    let fresh = ctx.retype_from(untyped, ObjectType::Tcb, 0)?;
    sandbox.install(slot::VICTIM_FRESH, fresh, all, 0)?;
    let handler = ctx.alloc_slot()?;
    sel(
        Cap::<IrqControl>::from_bits(IRQ_CONTROL).irq_control_get_trigger(
            QUIET_IRQ,
            IrqTrigger::Level,
            Cap::from_bits(ROOT_CNODE),
            handler,
            WORD_DEPTH,
        ),
        "issue the sandbox's IRQ handler",
    )?;
    sandbox.install(slot::IRQ_HANDLER, handler, all, 0)?;
    let small = ctx.retype_from(untyped, ObjectType::CNode, 2)?;
    sandbox.install(slot::SMALL_CNODE, small, all, 0)?;
    Ok(Objects {
        untyped,
        fault,
        endpoints: [endpoint_a, endpoint_b],
    })
}

struct Invocations<'a> {
    sandbox: &'a Sandbox,
    objects: &'a Objects,
}

impl Supervision for Invocations<'_> {
    fn step(&mut self, counts: &mut Supervised) -> Result<bool, String> {
        for endpoint in self.objects.endpoints {
            for _ in 0..4 {
                if poll_once(endpoint).is_none() {
                    break;
                }
                reply_with(0, &[]);
                counts.served += 1;
            }
        }
        let Some(message) = poll_once(self.objects.fault) else {
            return Ok(false);
        };
        let label = message.info.label();
        let length = message.info.length();
        if label == sel4::FaultType::CapFault as u64 && (4..=7).contains(&length) {
            counts.faults += 1;
            return Ok(true);
        }
        // The child Called or sent to its own fault endpoint: that is IPC, not a fault.
        reply_with(0, &[]);
        counts.served += 1;
        Ok(false)
    }

    fn repair(&mut self) -> Result<(), String> {
        self.sandbox.install(
            slot::FAULT,
            self.objects.fault,
            CapRights::all(),
            FAULT_BADGE,
        )
    }
}

pub fn stress_random_invocations(ctx: &mut Ctx) -> Result<(), String> {
    announce("stress_random_invocations", SEED, ITERATIONS, "iterations");
    refuse_received_caps();
    let untyped = ctx.retype(ObjectType::Untyped, 20)?;
    let sandbox = Sandbox::new(ctx, untyped, POOL_RADIX)?;
    let objects = build(ctx, &sandbox, untyped)?;
    let (frame, buffer) = ctx.scratch_page()?;
    let start = Start {
        entry: invoker as *const () as u64,
        sp: ctx.stack_top()?,
        args: [buffer, SEED, ITERATIONS, 0, 0, 0, 0, 0],
    };
    let tcb = spawn_in_sandbox(ctx, &sandbox, slot::FAULT, (frame, buffer), &start)?;
    let mut supervision = Invocations {
        sandbox: &sandbox,
        objects: &objects,
    };
    let outcome = supervise(tcb, &start, &mut supervision, ITERATIONS * 3 + 1000);
    let _ = Cap::<Tcb>::from_bits(tcb).tcb_suspend();
    let counts = outcome.map_err(|why| format!("seed {SEED:#x}: {why}"))?;
    sel4_root_task::debug_println!(
        "stress_random_invocations: {ITERATIONS} invocations, {} cap faults, {} restarts, {} messages served",
        counts.faults,
        counts.restarts,
        counts.served
    );
    let histogram: alloc::vec::Vec<u64> = (0..=10)
        .map(|label| shared(REPLY_HISTOGRAM + label))
        .collect();
    sel4_root_task::debug_println!(
        "stress_random_invocations: Call replies by label (success, then seL4 errors 1..=10): {histogram:?}"
    );
    ensure!(
        histogram.first().is_some_and(|successes| *successes > 100),
        "too few successful invocations to mean anything: {histogram:?}"
    );
    check_anomalies(
        SEED,
        "a Call's reply had a label that is no seL4 error, MessageInfo",
    )?;
    sel(
        Cap::<CNode>::from_bits(ROOT_CNODE).cnode_revoke(objects.untyped, WORD_DEPTH),
        "revoke everything the sandbox held",
    )?;
    let again = ctx.retype_from(objects.untyped, ObjectType::Untyped, 20)?;
    expect_tag(
        again,
        CapTag::Untyped,
        "the whole untyped retyped again after revoke",
    )?;
    check_kernel_sane(ctx)
}
