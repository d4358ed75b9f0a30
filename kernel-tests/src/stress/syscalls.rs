//! `stress_random_syscalls_child`: a child in a sandbox CSpace issues random system call
//! numbers with random registers. The root task answers its UnknownSyscall faults (reply
//! resumes past the `svc`), restarts it after cap faults and stalls, and keeps its
//! blocking receives and sends moving by sending, signalling and receiving each step.

use super::*;
use crate::child::{buffer_offset, write_buffer_mr, write_buffer_word};
use sel4::syscall::Blocking;
use sel4::{FaultType, Syscall};

const SEED: u64 = 0x5eed_0002_5ca1_ab1e;
const ITERATIONS: u64 = 20_000;
const SANDBOX_RADIX: u64 = 4;
const FAULT_BADGE: u64 = 0xfa;
/// The fault endpoint's slot: the child never names it, so every message that arrives
/// on the fault endpoint is a fault.
const FAULT_SLOT: u64 = 13;
const ENDPOINT_BADGE: u64 = 0x22;
const NOTIFICATION_BADGE: u64 = 0x23;

core::arch::global_asm!(
    ".section .text.kt_stress_svc, \"ax\"",
    ".balign 4",
    // x0..x7 are the caller's arguments; whatever the kernel leaves in x0 is returned.
    ".global kt_stress_svc",
    "kt_stress_svc:",
    "    svc #0",
    "    ret",
    ".text",
);

extern "C" {
    fn kt_stress_svc(x0: u64, x1: u64, x2: u64, x3: u64, x4: u64, x5: u64, x6: u64, x7: u64)
        -> u64;
}

fn svc_address() -> u64 {
    kt_stress_svc as *const () as u64
}

/// A register value that is never the fault endpoint's CPtr.
fn random_register(rng: &mut Rng) -> u64 {
    let value = if rng.chance(60) {
        rng.below(1 << SANDBOX_RADIX)
    } else {
        rng.interesting()
    };
    if value == FAULT_SLOT {
        value + 1
    } else {
        value
    }
}

fn random_number(rng: &mut Rng) -> u64 {
    loop {
        let number = if rng.chance(75) {
            rng.below(26) as i64 - 20
        } else {
            rng.interesting() as i64
        };
        if !FORBIDDEN_SYSCALLS.contains(&number) {
            return number as u64;
        }
    }
}

/// The sandboxed child. x0 = its IPC buffer.
extern "C" fn caller(
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
        let number = random_number(&mut rng);
        let x0 = random_register(&mut rng);
        let x1 = if rng.chance(50) {
            MessageInfo::new(rng.below(64), rng.below(8), rng.below(4), rng.below(128)).word()
        } else {
            rng.interesting()
        };
        let mut rest = [0u64; 5];
        for value in &mut rest {
            *value = random_register(&mut rng);
        }
        if rng.chance(10) {
            for index in 4..12 {
                write_buffer_mr(buffer, index, random_register(&mut rng));
            }
            for index in 0..3 {
                write_buffer_word(
                    buffer,
                    buffer_offset::CAPS_OR_BADGES + 8 * index,
                    random_register(&mut rng),
                );
            }
        }
        let [x2, x3, x4, x5, x6] = rest;
        // SAFETY: `kt_stress_svc` is an AAPCS64 function that executes `svc #0` and
        // returns; the kernel changes at most x0..x7 (a syscall's results, or the root
        // task's fault reply, which restores the registers it was sent and moves the PC
        // past the `svc`), all caller-saved, and writes only this thread's IPC buffer.
        unsafe { kt_stress_svc(x0, x1, x2, x3, x4, x5, x6, number) };
    }
    finished()
}

struct Syscalls<'a> {
    sandbox: &'a Sandbox,
    fault: u64,
    endpoint: u64,
    notification: u64,
    unknown: u64,
}

impl Syscalls<'_> {
    fn iteration() -> u64 {
        shared(word::NEXT).saturating_sub(1)
    }
}

impl Supervision for Syscalls<'_> {
    fn step(&mut self, counts: &mut Supervised) -> Result<bool, String> {
        // Whatever the child blocks in, one of these ends it: a message for a receive,
        // a signal for a wait, a receive for a send or call.
        syscall::send(
            self.endpoint,
            MessageInfo::new(0x77, 0, 0, 1),
            [0x5e, 0, 0, 0],
            Blocking::NonBlocking,
        );
        Cap::<sel4::cap_type::Notification>::from_bits(self.notification).signal();
        for _ in 0..2 {
            let Some(message) = poll_once(self.endpoint) else {
                break;
            };
            ensure!(
                message.badge & ENDPOINT_BADGE != 0,
                "seed {SEED:#x} iteration {}: message with badge {:#x}",
                Self::iteration(),
                message.badge
            );
            reply_with(0, &[]);
            counts.served += 1;
        }
        let Some(message) = poll_once(self.fault) else {
            return Ok(false);
        };
        counts.faults += 1;
        let iteration = Self::iteration();
        ensure!(
            message.badge == FAULT_BADGE,
            "seed {SEED:#x} iteration {iteration}: fault badge {:#x}",
            message.badge
        );
        let label = message.info.label();
        match FaultType::from_label(label) {
            Some(FaultType::UnknownSyscall) => {
                ensure!(
                    message.info.length() == sel4::unknown_syscall::LENGTH,
                    "seed {SEED:#x} iteration {iteration}: UnknownSyscall length {}",
                    message.info.length()
                );
                let number = message.mr(sel4::unknown_syscall::SYSCALL);
                ensure!(
                    number == message.mr(sel4::unknown_syscall::X7)
                        && Syscall::from_word(number).is_none(),
                    "seed {SEED:#x} iteration {iteration}: UnknownSyscall for number {} (x7 {:#x})",
                    number as i64,
                    message.mr(sel4::unknown_syscall::X7)
                );
                let fault_ip = message.mr(sel4::unknown_syscall::FAULT_IP);
                ensure!(
                    fault_ip == svc_address(),
                    "seed {SEED:#x} iteration {iteration}: FaultIP {fault_ip:#x}, svc at {:#x}",
                    svc_address()
                );
                let mut words = [0u64; 12];
                for (index, value) in words.iter_mut().enumerate() {
                    *value = message.mr(index);
                }
                words[sel4::unknown_syscall::FAULT_IP] = fault_ip + 4;
                reply_with(0, &words);
                self.unknown += 1;
                Ok(false)
            }
            Some(FaultType::CapFault) => {
                let fault_ip = message.mr(sel4::cap_fault::IP);
                ensure!(
                    fault_ip == svc_address(),
                    "seed {SEED:#x} iteration {iteration}: cap fault at {fault_ip:#x}, svc at {:#x}",
                    svc_address()
                );
                Ok(true)
            }
            _ => Err(format!(
                "seed {SEED:#x} iteration {iteration}: a syscall raised fault label {label} \
                 length {} MRs {:x?}",
                message.info.length(),
                message.mrs
            )),
        }
    }

    fn repair(&mut self) -> Result<(), String> {
        self.sandbox
            .install(FAULT_SLOT, self.fault, CapRights::all(), FAULT_BADGE)
    }
}

pub fn stress_random_syscalls_child(ctx: &mut Ctx) -> Result<(), String> {
    announce(
        "stress_random_syscalls_child",
        SEED,
        ITERATIONS,
        "iterations",
    );
    refuse_received_caps();
    let untyped = ctx.retype(ObjectType::Untyped, 16)?;
    let sandbox = Sandbox::new(ctx, untyped, SANDBOX_RADIX)?;
    let fault = ctx.retype_from(untyped, ObjectType::Endpoint, 0)?;
    let endpoint = ctx.retype_from(untyped, ObjectType::Endpoint, 0)?;
    let notification = ctx.retype_from(untyped, ObjectType::Notification, 0)?;
    let all = CapRights::all();
    sandbox.install(FAULT_SLOT, fault, all, FAULT_BADGE)?;
    sandbox.install(1, endpoint, all, ENDPOINT_BADGE)?;
    sandbox.install(2, notification, all, NOTIFICATION_BADGE)?;
    sandbox.install(
        3,
        endpoint,
        CapRights(CapRights::READ),
        ENDPOINT_BADGE | 0x100,
    )?;
    sandbox.install(4, notification, all, 0)?;
    sandbox.install(
        5,
        endpoint,
        CapRights(CapRights::WRITE),
        ENDPOINT_BADGE | 0x200,
    )?;
    sandbox.install(
        6,
        endpoint,
        CapRights(CapRights::WRITE | CapRights::GRANT),
        ENDPOINT_BADGE | 0x400,
    )?;
    let (frame, buffer) = ctx.scratch_page()?;
    let start = Start {
        entry: caller as *const () as u64,
        sp: ctx.stack_top()?,
        args: [buffer, SEED, ITERATIONS, 0, 0, 0, 0, 0],
    };
    let tcb = spawn_in_sandbox(ctx, &sandbox, FAULT_SLOT, (frame, buffer), &start)?;
    let mut supervision = Syscalls {
        sandbox: &sandbox,
        fault,
        endpoint,
        notification,
        unknown: 0,
    };
    let outcome = supervise(tcb, &start, &mut supervision, ITERATIONS * 4 + 1000);
    let _ = Cap::<Tcb>::from_bits(tcb).tcb_suspend();
    let counts = outcome?;
    sel4_root_task::debug_println!(
        "stress_random_syscalls_child: {ITERATIONS} syscalls, {} faults ({} UnknownSyscall \
         resumed), {} restarts, {} messages served",
        counts.faults,
        supervision.unknown,
        counts.restarts,
        counts.served
    );
    ensure!(
        supervision.unknown > ITERATIONS / 10,
        "only {} UnknownSyscall faults in {ITERATIONS} random syscalls",
        supervision.unknown
    );
    let root = Cap::<CNode>::from_bits(ROOT_CNODE);
    sel(root.cnode_delete(tcb, WORD_DEPTH), "delete the child's TCB")?;
    sel(
        root.cnode_revoke(untyped, WORD_DEPTH),
        "revoke the child's sandbox",
    )?;
    check_kernel_sane(ctx)
}
