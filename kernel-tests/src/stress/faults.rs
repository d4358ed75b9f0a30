//! `stress_random_faults`: a child in an address space of its own (code, a read-only
//! page, an execute-never page, a read-write page, nothing else) runs one faulting
//! instruction per iteration at a random address: loads, stores, exclusive and
//! load-acquire loads, pair loads, instruction fetches (unmapped, execute-never,
//! misaligned PC), undefined and privileged instructions, `brk`, `svc` with unknown
//! numbers, cache maintenance. The root task predicts each fault, checks the message,
//! skips the instruction (a reply for UnknownSyscall and UserException, WriteRegisters
//! for VM faults) and then sees the marker the gadget reaches next.

use super::*;
use crate::child::write_bytes;
use sel4::cap_type::{AsidPool, Granule, PageTable, VSpace};
use sel4::{FaultType, Syscall, VmAttributes};

const SEED: u64 = 0x5eed_0003_fa17_0bad;
const ITERATIONS: u64 = 6_000;
const FAULT_BADGE: u64 = 0xfa;
/// The child's address space: code, then a read-only (executable, zero-filled) page, an
/// execute-never read-write page, a read-write page.
const CODE: u64 = 0x1_0000;
const READ_ONLY: u64 = 0x1_1000;
const EXECUTE_NEVER: u64 = 0x1_2000;
const READ_WRITE: u64 = 0x1_3000;
const PAGE: u64 = 0x1000;

core::arch::global_asm!(
    ".section .text.kt_stress_gadgets, \"ax\"",
    ".balign 4",
    // Position-independent: copied into the child's code page. Gadget k is at 8k: one
    // instruction that may fault, then a branch to the marker (an UnknownSyscall with
    // x7 = 0x5a5a that the root task answers with the next iteration).
    ".global kt_stress_gadgets",
    "kt_stress_gadgets:",
    "    ldr x1, [x0]",
    "    b 1f",
    "    str x1, [x0]",
    "    b 1f",
    "    blr x0",
    "    b 1f",
    "    udf #0x5354",
    "    b 1f",
    "    brk #0x77",
    "    b 1f",
    "    svc #0",
    "    b 1f",
    "    svc #0xabcd",
    "    b 1f",
    "    ldxr x1, [x0]",
    "    b 1f",
    "    mrs x1, sctlr_el1",
    "    b 1f",
    "    dc zva, x0",
    "    b 1f",
    "    dc civac, x0",
    "    b 1f",
    "    hvc #0",
    "    b 1f",
    "    smc #0",
    "    b 1f",
    "    eret",
    "    b 1f",
    "    fmov d0, x0",
    "    b 1f",
    "    ldar x1, [x0]",
    "    b 1f",
    "    msr vbar_el1, x0",
    "    b 1f",
    "    ldp x1, x2, [x0]",
    "    b 1f",
    "1:",
    "    movz x7, #0x5a5a",
    ".global kt_stress_gadgets_mark",
    "kt_stress_gadgets_mark:",
    "    svc #0",
    "    b 1b",
    ".global kt_stress_gadgets_end",
    "kt_stress_gadgets_end:",
    ".text",
);

extern "C" {
    fn kt_stress_gadgets();
    fn kt_stress_gadgets_mark();
    fn kt_stress_gadgets_end();
}

/// The gadgets, in the order the assembly lays them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gadget {
    Load,
    Store,
    Fetch,
    Undefined,
    Breakpoint,
    Svc,
    SvcOddImmediate,
    LoadExclusive,
    ReadSystemRegister,
    ZeroCacheLine,
    CleanInvalidate,
    Hypervisor,
    SecureMonitor,
    ExceptionReturn,
    FloatMove,
    LoadAcquire,
    WriteSystemRegister,
    LoadPair,
}

const GADGETS: [Gadget; 18] = [
    Gadget::Load,
    Gadget::Store,
    Gadget::Fetch,
    Gadget::Undefined,
    Gadget::Breakpoint,
    Gadget::Svc,
    Gadget::SvcOddImmediate,
    Gadget::LoadExclusive,
    Gadget::ReadSystemRegister,
    Gadget::ZeroCacheLine,
    Gadget::CleanInvalidate,
    Gadget::Hypervisor,
    Gadget::SecureMonitor,
    Gadget::ExceptionReturn,
    Gadget::FloatMove,
    Gadget::LoadAcquire,
    Gadget::WriteSystemRegister,
    Gadget::LoadPair,
];

/// What an iteration's first event must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Straight to the marker.
    NoFault,
    /// A data VMFault whose address lies in `[address, address + size)`.
    DataFault { size: u64 },
    /// Either of the above (cache maintenance to an unmapped page: hardware faults,
    /// an emulator may not).
    MaybeDataFault,
    /// An instruction-fetch VMFault at the address.
    FetchFault,
    /// A UserException at the gadget (undefined, privileged, breakpoint, trapped).
    Exception,
    /// A UserException at the (executable, zero-filled, so `udf`) target of a fetch.
    ExceptionAtTarget,
    /// A PC alignment UserException at the misaligned fetch target.
    PcAlignment,
    /// A misaligned fetch from a page that is not executable: the architecture ranks
    /// the PC alignment fault first, QEMU reports the instruction abort; either is right.
    PcAlignmentOrFetchFault,
    /// An UnknownSyscall at the gadget.
    UnknownSyscall,
}

fn page_of(address: u64) -> u64 {
    address & !(PAGE - 1)
}

fn pages_all_in(address: u64, size: u64, pages: &[u64]) -> bool {
    match address.checked_add(size - 1) {
        Some(last) => pages.contains(&page_of(address)) && pages.contains(&page_of(last)),
        None => false,
    }
}

fn expect(gadget: Gadget, address: u64) -> Expect {
    let readable = [CODE, READ_ONLY, EXECUTE_NEVER, READ_WRITE];
    let writable = [EXECUTE_NEVER, READ_WRITE];
    let data = |size: u64, pages: &[u64]| {
        if pages_all_in(address, size, pages) {
            Expect::NoFault
        } else {
            Expect::DataFault { size }
        }
    };
    match gadget {
        Gadget::Load => data(8, &readable),
        Gadget::LoadPair => data(16, &readable),
        Gadget::Store => data(8, &writable),
        Gadget::LoadExclusive | Gadget::LoadAcquire if !address.is_multiple_of(8) => {
            Expect::DataFault { size: 8 }
        }
        Gadget::LoadExclusive | Gadget::LoadAcquire => data(8, &readable),
        Gadget::Fetch if !address.is_multiple_of(4) && page_of(address) == READ_ONLY => {
            Expect::PcAlignment
        }
        Gadget::Fetch if !address.is_multiple_of(4) => Expect::PcAlignmentOrFetchFault,
        Gadget::Fetch if page_of(address) == READ_ONLY => Expect::ExceptionAtTarget,
        Gadget::Fetch => Expect::FetchFault,
        Gadget::CleanInvalidate if readable.contains(&page_of(address)) => Expect::NoFault,
        Gadget::CleanInvalidate => Expect::MaybeDataFault,
        Gadget::FloatMove => Expect::NoFault,
        Gadget::Svc | Gadget::SvcOddImmediate => Expect::UnknownSyscall,
        Gadget::Undefined
        | Gadget::Breakpoint
        | Gadget::ReadSystemRegister
        | Gadget::ZeroCacheLine
        | Gadget::Hypervisor
        | Gadget::SecureMonitor
        | Gadget::ExceptionReturn
        | Gadget::WriteSystemRegister => Expect::Exception,
    }
}

fn random_address(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0..=3 => {
            let base = rng.pick(
                &[
                    CODE - PAGE,
                    CODE,
                    READ_ONLY,
                    EXECUTE_NEVER,
                    READ_WRITE,
                    READ_WRITE + PAGE,
                ],
                CODE,
            );
            let offset = rng.pick(&[0, 1, 3, 4, 8, 0xff0, 0xff8, 0xffc, 0xfff], 0);
            base + if rng.chance(30) {
                rng.below(PAGE)
            } else {
                offset
            }
        }
        4..=7 => rng.interesting(),
        _ => rng.next(),
    }
}

/// One iteration's plan: the gadget, its registers, and where the marker must follow.
struct Plan {
    gadget: Gadget,
    gadget_address: u64,
    address: u64,
    sp: u64,
    number: u64,
}

impl Plan {
    fn new(seed: u64, iteration: u64) -> Self {
        let mut rng = Rng::new(seed, iteration);
        let index = rng.below(GADGETS.len() as u64);
        let gadget = GADGETS.get(index as usize).copied().unwrap_or(Gadget::Load);
        let mut address = random_address(&mut rng);
        if gadget == Gadget::Fetch && page_of(address) == CODE {
            // Running the gadgets from a random entry could loop without faulting.
            address += 0x10_0000;
        }
        let sp = rng.interesting() & !0xf;
        let number = loop {
            let number = rng.interesting();
            if Syscall::from_word(number).is_none() {
                break number;
            }
        };
        Self {
            gadget,
            gadget_address: CODE + 8 * index,
            address,
            sp,
            number,
        }
    }
}

struct Child {
    tcb: u64,
    fault: u64,
    mark: u64,
}

/// Starts iteration `plan` in the (stopped or reply-waiting) child.
fn launch(child: &Child, plan: &Plan, value: u64) -> Result<(), String> {
    let context = UserContext {
        pc: plan.gadget_address,
        sp: plan.sp,
        x0: plan.address,
        x1: value,
        x2: value ^ 0xffff,
        x7: plan.number,
        ..UserContext::default()
    };
    sel(
        Cap::<Tcb>::from_bits(child.tcb).tcb_write_registers(true, &context),
        "WriteRegisters to start an iteration",
    )
}

/// Resumes the child (waiting for a fault reply) at `pc` with its other registers kept.
fn resume_at(child: &Child, pc: u64) -> Result<(), String> {
    let tcb = Cap::<Tcb>::from_bits(child.tcb);
    let mut context = sel(
        tcb.tcb_read_registers(false),
        "ReadRegisters of the faulter",
    )?;
    context.pc = pc;
    sel(
        tcb.tcb_write_registers(true, &context),
        "WriteRegisters past the fault",
    )
}

/// Runs one iteration; returns whether it faulted before the marker.
fn iterate(child: &Child, plan: &Plan, iteration: u64) -> Result<bool, String> {
    let fail = |why: String| {
        format!(
            "seed {SEED:#x} iteration {iteration}: {:?} at {:#x}: {why}",
            plan.gadget, plan.address
        )
    };
    launch(child, plan, iteration)?;
    let expected = expect(plan.gadget, plan.address);
    let first = poll(child.fault, "the child's first event").map_err(fail)?;
    let label = first.info.label();
    let is_marker = |message: &Received| {
        message.info.label() == FaultType::UnknownSyscall as u64
            && message.mr(sel4::unknown_syscall::FAULT_IP) == child.mark
    };
    let faulted = !is_marker(&first);
    let resume = plan.gadget_address + 4;
    let expected = match expected {
        Expect::PcAlignmentOrFetchFault if label == FaultType::VmFault as u64 => Expect::FetchFault,
        Expect::PcAlignmentOrFetchFault => Expect::PcAlignment,
        other => other,
    };
    match expected {
        Expect::NoFault if faulted => {
            return Err(fail(format!(
                "expected no fault, got label {label} MRs {:x?}",
                first.mrs
            )))
        }
        Expect::NoFault => {}
        Expect::MaybeDataFault if !faulted => {}
        Expect::DataFault { .. } | Expect::MaybeDataFault => {
            let size = match expected {
                Expect::DataFault { size } => size,
                _ => 1,
            };
            let offset = first.mr(sel4::vm_fault::ADDR).wrapping_sub(plan.address);
            if label != FaultType::VmFault as u64
                || first.mr(sel4::vm_fault::IP) != plan.gadget_address
                || first.mr(sel4::vm_fault::PREFETCH_FAULT) != 0
                || offset >= size
            {
                return Err(fail(format!(
                    "expected a data VMFault, got label {label} MRs {:x?}",
                    first.mrs
                )));
            }
            resume_at(child, resume)?;
        }
        Expect::FetchFault => {
            if label != FaultType::VmFault as u64
                || first.mr(sel4::vm_fault::IP) != plan.address
                || first.mr(sel4::vm_fault::ADDR) != plan.address
                || first.mr(sel4::vm_fault::PREFETCH_FAULT) != 1
            {
                return Err(fail(format!(
                    "expected a fetch VMFault, got label {label} MRs {:x?}",
                    first.mrs
                )));
            }
            resume_at(child, resume)?;
        }
        Expect::Exception
        | Expect::ExceptionAtTarget
        | Expect::PcAlignment
        | Expect::PcAlignmentOrFetchFault => {
            let at = if expected == Expect::Exception {
                plan.gadget_address
            } else {
                plan.address
            };
            let class = first.mr(sel4::user_exception::NUMBER) >> 26;
            if label != FaultType::UserException as u64
                || first.info.length() != sel4::user_exception::LENGTH
                || first.mr(sel4::user_exception::FAULT_IP) != at
                || first.mr(sel4::user_exception::SP) != plan.sp
                || (expected == Expect::PcAlignment && class != 0x22)
            {
                return Err(fail(format!(
                    "expected a UserException at {at:#x}, got label {label} MRs {:x?} \
                     (ESR class {class:#x})",
                    first.mrs
                )));
            }
            reply_with(
                0,
                &[
                    resume,
                    first.mr(sel4::user_exception::SP),
                    first.mr(sel4::user_exception::SPSR),
                ],
            );
        }
        Expect::UnknownSyscall => {
            if !faulted
                || label != FaultType::UnknownSyscall as u64
                || first.mr(sel4::unknown_syscall::FAULT_IP) != plan.gadget_address
                || first.mr(sel4::unknown_syscall::SYSCALL) != plan.number
            {
                return Err(fail(format!(
                    "expected an UnknownSyscall, got label {label} MRs {:x?}",
                    first.mrs
                )));
            }
            let mut words = [0u64; 12];
            for (index, value) in words.iter_mut().enumerate() {
                *value = first.mr(index);
            }
            words[sel4::unknown_syscall::FAULT_IP] = resume;
            reply_with(0, &words);
        }
    }
    if faulted {
        let marker = poll(child.fault, "the marker after the skipped fault").map_err(fail)?;
        if !is_marker(&marker) {
            return Err(fail(format!(
                "after the fault, expected the marker, got label {} MRs {:x?}",
                marker.info.label(),
                marker.mrs
            )));
        }
        let x0 = marker.mr(sel4::unknown_syscall::X0);
        if x0 != plan.address {
            return Err(fail(format!("x0 changed across the fault to {x0:#x}")));
        }
    }
    Ok(faulted)
}

/// Builds the child's address space and thread (stopped).
fn build(ctx: &mut Ctx) -> Result<Child, String> {
    let fault = ctx.endpoint()?;
    let cnode = ctx.retype(ObjectType::CNode, 2)?;
    let sandbox = Sandbox { cnode, radix: 2 };
    sandbox.install(1, fault, CapRights::all(), FAULT_BADGE)?;
    let vspace = ctx.retype(ObjectType::VSpace, 0)?;
    sel(
        Cap::<AsidPool>::from_bits(ASID_POOL).asid_pool_assign(Cap::from_bits(vspace)),
        "assign the child's VSpace",
    )?;
    for _ in 0..3 {
        let table = ctx.retype(ObjectType::PageTable, 0)?;
        sel(
            Cap::<PageTable>::from_bits(table).page_table_map(
                Cap::from_bits(vspace),
                CODE,
                VmAttributes::default(),
            ),
            "map a page table of the child's VSpace",
        )?;
    }
    let code = ctx.frame()?;
    let staging = ctx.map_scratch(code, CapRights::read_write(), VmAttributes::default())?;
    let start = kt_stress_gadgets as *const () as u64;
    let length = (kt_stress_gadgets_end as *const () as u64).saturating_sub(start);
    // SAFETY: [kt_stress_gadgets, kt_stress_gadgets_end) is this image's text, in one
    // section in that order, mapped readable for the task's life.
    let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, length as usize) };
    write_bytes(staging, bytes);
    sel(
        Cap::<Granule>::from_bits(code).frame_unify_instruction(0, length),
        "Page_Unify_Instruction on the gadgets",
    )?;
    let code_copy = ctx.copy(code, CapRights::all())?;
    let execute_never = VmAttributes(VmAttributes::default().0 | VmAttributes::EXECUTE_NEVER);
    for (frame, address, rights, attributes) in [
        (
            code_copy,
            CODE,
            CapRights::read_only(),
            VmAttributes::default(),
        ),
        (
            ctx.frame()?,
            READ_ONLY,
            CapRights::read_only(),
            VmAttributes::default(),
        ),
        (
            ctx.frame()?,
            EXECUTE_NEVER,
            CapRights::read_write(),
            execute_never,
        ),
        (
            ctx.frame()?,
            READ_WRITE,
            CapRights::read_write(),
            execute_never,
        ),
    ] {
        sel(
            Cap::<Granule>::from_bits(frame).frame_map(
                Cap::<VSpace>::from_bits(vspace),
                address,
                rights,
                attributes,
            ),
            &format!("map the child's page at {address:#x}"),
        )?;
    }
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let tcb_cap = Cap::<Tcb>::from_bits(tcb);
    sel(
        tcb_cap.tcb_configure(
            1,
            Cap::from_bits(cnode),
            single_level_guard(2),
            Cap::from_bits(vspace),
            0,
            Cap::from_bits(0),
        ),
        "configure the faulting child",
    )?;
    sel(
        tcb_cap.tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY),
        "set the faulting child's priority",
    )?;
    let mark = CODE + (kt_stress_gadgets_mark as *const () as u64 - start);
    Ok(Child { tcb, fault, mark })
}

pub fn stress_random_faults(ctx: &mut Ctx) -> Result<(), String> {
    announce("stress_random_faults", SEED, ITERATIONS, "iterations");
    let child = build(ctx)?;
    let mut faults = 0u64;
    let mut per_gadget = [0u64; GADGETS.len()];
    for iteration in 0..ITERATIONS {
        let plan = Plan::new(SEED, iteration);
        let outcome = iterate(&child, &plan, iteration);
        match outcome {
            Ok(faulted) => {
                if faulted {
                    faults += 1;
                    if let Some(count) =
                        per_gadget.get_mut(((plan.gadget_address - CODE) / 8) as usize)
                    {
                        *count += 1;
                    }
                }
            }
            Err(why) => {
                let _ = Cap::<Tcb>::from_bits(child.tcb).tcb_suspend();
                return Err(why);
            }
        }
    }
    sel(
        Cap::<Tcb>::from_bits(child.tcb).tcb_suspend(),
        "suspend the faulting child",
    )?;
    sel4_root_task::debug_println!(
        "stress_random_faults: {ITERATIONS} iterations, {faults} faults handled and skipped \
         (+{ITERATIONS} markers); per gadget {per_gadget:?}"
    );
    ensure!(
        faults > ITERATIONS / 2,
        "only {faults} of {ITERATIONS} iterations faulted"
    );
    check_kernel_sane(ctx)
}
