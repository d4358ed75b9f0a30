//! The benchmarks, in the order they run. Each checks that every operation it timed did
//! what it should (replies carry the expected words, faults the expected registers), so a
//! broken path cannot look fast.

use crate::resources::{
    poll, poll_once, sel, Received, Resources, Scope, ROOT_CNODE, ROOT_VSPACE, SCRATCH_BASE,
    WORD_DEPTH,
};
use crate::threads::{self, Peer};
use crate::timer::counter;
use crate::{Benchmark, Measurement};
use alloc::format;
use alloc::string::String;
use sel4::cap_type::{CNode, Granule, Tcb, Untyped, VSpace};
use sel4::syscall;
use sel4::{
    tcb_flag, unknown_syscall, vm_fault, Cap, CapRights, FaultType, MessageInfo, ObjectType,
    VmAttributes,
};

pub const ALL: &[Benchmark] = &[
    Benchmark {
        name: "ipc_call_replyrecv_cross_vspace",
        run: ipc_cross_vspace,
    },
    Benchmark {
        name: "ipc_call_replyrecv_same_vspace",
        run: ipc_same_vspace,
    },
    Benchmark {
        name: "ipc_call_replyrecv_5_words",
        run: ipc_five_words,
    },
    Benchmark {
        name: "fault_unknown_syscall",
        run: fault_unknown_syscall,
    },
    Benchmark {
        name: "fault_linux_syscall",
        run: fault_linux_syscall,
    },
    Benchmark {
        name: "fault_vm_restart",
        run: fault_vm_restart,
    },
    Benchmark {
        name: "fault_vm_round_trip",
        run: fault_vm_round_trip,
    },
    Benchmark {
        name: "yield",
        run: yield_alone,
    },
    Benchmark {
        name: "page_map_unmap",
        run: page_map_unmap,
    },
    Benchmark {
        name: "untyped_retype_frame",
        run: untyped_retype_frame,
    },
];

/// Operations per benchmark: enough that the counter's 16-instruction tick is noise.
const ITERATIONS: u64 = 10_000;
/// Badges far above any CPtr (see `poll_once`).
const WATCH_BADGE: u64 = 0x5e_0001;
const FAULT_BADGE: u64 = 0xfa_0001;

/// Runs `body` in a fresh scope and destroys the scope afterwards.
fn with_scope(
    resources: &Resources,
    body: impl FnOnce(&mut Scope<'_>) -> Result<Measurement, String>,
) -> Result<Measurement, String> {
    let mut scope = resources.scope()?;
    let outcome = body(&mut scope);
    scope.cleanup();
    outcome
}

// ---------------------------------------------------------------------------------------
// IPC: the root task calls a server thread, which answers with ReplyRecv.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    /// The server has a VSpace of its own, mapping only its code and IPC buffer.
    Separate,
    /// The server runs in the root task's VSpace.
    Shared,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Words {
    One,
    Five,
}

fn ipc_cross_vspace(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        ipc_round_trip(scope, Space::Separate, Words::One)
    })
}

fn ipc_same_vspace(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        ipc_round_trip(scope, Space::Shared, Words::One)
    })
}

fn ipc_five_words(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        ipc_round_trip(scope, Space::Separate, Words::Five)
    })
}

/// The value the client puts in MR4 first; the words server adds one per round trip.
const MR4_START: u64 = 0x4d52_3400;
/// MR0 of the first (untimed) call.
const PROBE: u64 = 0x7072_6f62;

fn ipc_round_trip(
    scope: &mut Scope<'_>,
    space: Space,
    words: Words,
) -> Result<Measurement, String> {
    let endpoint = scope.retype(ObjectType::Endpoint, 0)?;
    // The server's faults arrive here, so a server that cannot run is seen, not waited for.
    let watch = scope.retype(ObjectType::Endpoint, 0)?;
    let watch_badged = scope.mint(watch, WATCH_BADGE)?;
    let vspace = match space {
        Space::Separate => {
            let vspace = scope.vspace()?;
            map_server_code(scope, vspace)?;
            vspace
        }
        Space::Shared => ROOT_VSPACE,
    };
    let buffer_address = SCRATCH_BASE;
    let buffer_frame = scope.fresh_page(vspace, buffer_address)?;
    let (entry, length) = match words {
        Words::One => (threads::server_one_word(), 1),
        Words::Five => (threads::server_words(), 5),
    };
    let peer = Peer {
        entry,
        arguments: [endpoint, buffer_address, 0],
        vspace,
        ipc_buffer: (buffer_frame, buffer_address),
        fault_endpoint: watch_badged,
    };
    let server = threads::create(scope, &peer)?;
    threads::start(server, &peer)?;
    // Let the server reach its Recv (or fault) before the first call.
    syscall::yield_now();
    if let Some(fault) = poll_once(watch, WATCH_BADGE) {
        return Err(format!(
            "the server faulted instead of waiting: {}",
            describe(&fault)
        ));
    }

    let info = MessageInfo::new(0, 0, 0, length);
    if words == Words::Five {
        set_mr(4, MR4_START);
    }
    let (reply, mrs) = syscall::call(endpoint, info, [PROBE, 0, 0, 0]);
    if reply.label() != 0 || reply.length() as u64 != length || mrs[0] != PROBE + 1 {
        return Err(format!(
            "first Call: reply label {} ({:?}) length {} MR0 {:#x}; expected label 0, \
             length {length}, MR0 {:#x}",
            reply.label(),
            sel4::Error::from_label(reply.label()),
            reply.length(),
            mrs[0],
            PROBE + 1
        ));
    }
    check_mr4(words, MR4_START + 1, "first Call")?;

    let mut wrong = 0u64;
    let start = counter();
    for iteration in 0..ITERATIONS {
        let (_, mrs) = syscall::call(endpoint, info, [iteration, 0, 0, 0]);
        wrong += u64::from(mrs[0] != iteration + 1);
    }
    let ticks = counter().wrapping_sub(start);
    if wrong != 0 {
        return Err(format!(
            "{wrong} of {ITERATIONS} replies carried the wrong MR0"
        ));
    }
    check_mr4(words, MR4_START + 1 + ITERATIONS, "after the loop")?;
    let _ = Cap::<Tcb>::from_bits(server).tcb_suspend();
    Ok(Measurement {
        ticks,
        iterations: ITERATIONS,
    })
}

/// Maps copies of the image frames holding the servers' code into `vspace` at their own
/// addresses (read-only, executable).
fn map_server_code(scope: &mut Scope<'_>, vspace: u64) -> Result<(), String> {
    let (start, end) = threads::server_pages();
    let frames = scope.bootinfo().user_image_frames;
    let mut page = start;
    while page < end {
        let index = (page - threads::image_start()) / 4096;
        let frame = frames.start + index;
        if frame >= frames.end {
            return Err(format!(
                "server code page {page:#x} is not among BootInfo's {} image frames",
                frames.len()
            ));
        }
        let copy = scope.copy(frame)?;
        scope.map(copy, vspace, page, CapRights::read_only())?;
        page += 4096;
    }
    Ok(())
}

fn check_mr4(words: Words, expected: u64, when: &str) -> Result<(), String> {
    if words == Words::Five {
        let actual = mr(4);
        if actual != expected {
            return Err(format!(
                "{when}: MR4 is {actual:#x}, expected {expected:#x}"
            ));
        }
    }
    Ok(())
}

fn set_mr(index: usize, value: u64) {
    sel4::with_ipc_buffer(|buffer| {
        if let Some(word) = buffer.msg.get_mut(index) {
            *word = value;
        }
    });
}

/// Message register `index` (MR4 and up) of the root task's IPC buffer.
fn mr(index: usize) -> u64 {
    sel4::with_ipc_buffer(|buffer| buffer.msg.get(index).copied().unwrap_or(0))
}

fn describe(received: &Received) -> String {
    format!(
        "label {} length {} MR0..MR3 {:#x?}",
        received.info.label(),
        received.info.length(),
        received.mrs
    )
}

// ---------------------------------------------------------------------------------------
// Faults: a thread raises UnknownSyscall; the root task, its fault handler, replies with
// FaultIP + 4 and waits for the next one, with ReplyRecv.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// x7 holds a number that is not an seL4 system call.
    UnknownNumber,
    /// The thread has the LINUX_SYSCALL flag; the fault carries x8.
    LinuxFlag,
}

fn fault_unknown_syscall(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        fault_round_trip(scope, Flavour::UnknownNumber)
    })
}

fn fault_linux_syscall(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        fault_round_trip(scope, Flavour::LinuxFlag)
    })
}

/// x7 of the faulting thread: no seL4 system call.
const NOT_A_SYSCALL: u64 = 0x4242;
/// x8 of the faulting thread: Linux's getpid.
const LINUX_GETPID: u64 = 172;

fn fault_round_trip(scope: &mut Scope<'_>, flavour: Flavour) -> Result<Measurement, String> {
    let endpoint = scope.retype(ObjectType::Endpoint, 0)?;
    let badged = scope.mint(endpoint, FAULT_BADGE)?;
    let peer = Peer {
        entry: threads::fault_child(),
        arguments: [0, NOT_A_SYSCALL, LINUX_GETPID],
        vspace: ROOT_VSPACE,
        ipc_buffer: (0, 0),
        fault_endpoint: badged,
    };
    let thread = threads::create(scope, &peer)?;
    let expected_number = match flavour {
        Flavour::UnknownNumber => NOT_A_SYSCALL,
        Flavour::LinuxFlag => {
            let flags = sel(
                Cap::<Tcb>::from_bits(thread).tcb_set_flags(0, tcb_flag::LINUX_SYSCALL),
                "TCBSetFlags",
            )?;
            if flags & tcb_flag::LINUX_SYSCALL == 0 {
                return Err(format!(
                    "TCBSetFlags answered flags {flags:#x}: this kernel has no LINUX_SYSCALL \
                     flag (seL4 16.0.0 masks it off)"
                ));
            }
            LINUX_GETPID
        }
    };
    threads::start(thread, &peer)?;

    // The first fault and the first reply are checked with bounded polling, so a kernel
    // that does not deliver or resume ends this benchmark instead of blocking it.
    let first = poll(endpoint, FAULT_BADGE, "the faulting thread")?;
    check_fault(&first, 1, expected_number, "first fault")?;
    let reply_info = MessageInfo::new(0, 0, 0, unknown_syscall::LENGTH as u64);
    set_mr(unknown_syscall::FAULT_IP, threads::fault_svc() + 4);
    syscall::reply(reply_info, first.mrs);
    let second = poll(endpoint, FAULT_BADGE, "the thread after the first reply")?;
    check_fault(&second, 2, expected_number, "second fault")?;

    let mut mrs = second.mrs;
    let mut last = second;
    let start = counter();
    for _ in 0..ITERATIONS {
        set_mr(unknown_syscall::FAULT_IP, threads::fault_svc() + 4);
        let (badge, info, next) = syscall::reply_recv(endpoint, reply_info, mrs);
        mrs = next;
        last = Received { badge, info, mrs };
    }
    let ticks = counter().wrapping_sub(start);
    check_fault(&last, ITERATIONS + 2, expected_number, "last fault")?;
    let _ = Cap::<Tcb>::from_bits(thread).tcb_suspend();
    Ok(Measurement {
        ticks,
        iterations: ITERATIONS,
    })
}

/// Checks an UnknownSyscall message: label, length, badge, the counter in x0, FaultIP at
/// the `svc` and the Syscall word.
fn check_fault(received: &Received, count: u64, number: u64, what: &str) -> Result<(), String> {
    let ip = mr(unknown_syscall::FAULT_IP);
    let syscall_word = mr(unknown_syscall::SYSCALL);
    let x0 = received.mrs[unknown_syscall::X0];
    if received.badge != FAULT_BADGE
        || FaultType::from_label(received.info.label()) != Some(FaultType::UnknownSyscall)
        || received.info.length() != unknown_syscall::LENGTH
        || x0 != count
        || ip != threads::fault_svc()
        || syscall_word != number
    {
        return Err(format!(
            "{what}: badge {:#x} label {} length {} x0 {x0} FaultIP {ip:#x} Syscall {:#x}; \
             expected badge {FAULT_BADGE:#x} label 2 length 13 x0 {count} FaultIP {:#x} \
             Syscall {number:#x}",
            received.badge,
            received.info.label(),
            received.info.length(),
            syscall_word,
            threads::fault_svc()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// VM faults: a thread stores to unmapped pages; the root task, its fault handler, answers
// each VMFault with ReplyRecv (label 0), which restarts the store.
//
// `fault_vm_restart` maps nothing: the restarted store faults again at once, so each
// iteration is exactly one fault delivery and one restarting reply (the counterpart of
// `fault_unknown_syscall`). `fault_vm_round_trip` is what a first touch of an anonymous
// page costs a pager: the handler maps a fresh (already retyped) frame at the faulting
// address with PageMap before replying, and the thread goes on to the next page; each
// iteration is one fault, one PageMap and one restarting reply, over 1,000 distinct pages
// whose page tables exist. Neither includes allocating the frame.

/// Pages (and frames) of `fault_vm_round_trip`: 4 MiB of the scope's 8 MiB untyped.
const VM_PAGES: u64 = 1000;
/// Where the toucher writes: 2 MiB aligned, above the other benchmarks' scratch pages.
const VM_REGION: u64 = SCRATCH_BASE + 0x100_0000;
const LARGE_PAGE: u64 = 0x20_0000;

fn fault_vm_restart(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        let (endpoint, thread) = start_toucher(scope, 0)?;
        let first = poll(endpoint, FAULT_BADGE, "the touching thread")?;
        check_vm_fault(&first, VM_REGION, "first fault")?;
        let reply_info = MessageInfo::new(0, 0, 0, 0);
        let mut wrong = 0u64;
        let mut last = first;
        let start = counter();
        for _ in 0..ITERATIONS {
            let (badge, info, mrs) = syscall::reply_recv(endpoint, reply_info, [0; 4]);
            wrong += u64::from(mrs[vm_fault::ADDR] != VM_REGION);
            last = Received { badge, info, mrs };
        }
        let ticks = counter().wrapping_sub(start);
        let _ = Cap::<Tcb>::from_bits(thread).tcb_suspend();
        check_vm_fault(&last, VM_REGION, "last fault")?;
        if wrong != 0 {
            return Err(format!("{wrong} faults reported another address"));
        }
        Ok(Measurement {
            ticks,
            iterations: ITERATIONS,
        })
    })
}

fn fault_vm_round_trip(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        let first_frame = scope.bulk_slots(VM_PAGES)?;
        let untyped = Cap::<Untyped>::from_bits(scope.untyped);
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        let mut made = 0;
        while made < VM_PAGES {
            let count = (VM_PAGES - made).min(256);
            sel(
                untyped.untyped_retype(
                    ObjectType::SmallPage,
                    0,
                    root,
                    0,
                    0,
                    first_frame + made,
                    count,
                ),
                "retype the frames",
            )?;
            made += count;
        }
        // Make the page tables the region needs (mapping a frame there once per 2 MiB).
        let end = VM_REGION + VM_PAGES * 4096;
        let mut table_start = VM_REGION;
        while table_start < end {
            scope.map(
                first_frame,
                ROOT_VSPACE,
                table_start,
                CapRights::read_write(),
            )?;
            sel(
                Cap::<Granule>::from_bits(first_frame).frame_unmap(),
                "unmap after making page tables",
            )?;
            table_start += LARGE_PAGE;
        }
        let (endpoint, thread) = start_toucher(scope, 4096)?;
        let first = poll(endpoint, FAULT_BADGE, "the touching thread")?;
        check_vm_fault(&first, VM_REGION, "first fault")?;
        let vspace = Cap::<VSpace>::from_bits(ROOT_VSPACE);
        let rights = CapRights::read_write();
        let attributes = VmAttributes::default();
        let reply_info = MessageInfo::new(0, 0, 0, 0);
        let mut wrong = 0u64;
        let mut mrs = first.mrs;
        let mut last = first;
        let start = counter();
        for page in 0..VM_PAGES {
            let address = mrs[vm_fault::ADDR];
            wrong += u64::from(address != VM_REGION + page * 4096);
            let frame = Cap::<Granule>::from_bits(first_frame + page);
            if let Err(error) = frame.frame_map(vspace, address & !0xfff, rights, attributes) {
                let _ = Cap::<Tcb>::from_bits(thread).tcb_suspend();
                return Err(format!("PageMap of page {page} at {address:#x}: {error:?}"));
            }
            let (badge, info, next) = syscall::reply_recv(endpoint, reply_info, [0; 4]);
            mrs = next;
            last = Received { badge, info, mrs };
        }
        let ticks = counter().wrapping_sub(start);
        let _ = Cap::<Tcb>::from_bits(thread).tcb_suspend();
        check_vm_fault(&last, end, "the fault after the last page")?;
        if wrong != 0 {
            return Err(format!("{wrong} faults reported an unexpected address"));
        }
        for page in 0..VM_PAGES {
            // SAFETY: the page was mapped read-write in this VSpace above and the toucher,
            // now suspended, was its only other user.
            let value = unsafe { ((VM_REGION + page * 4096) as *const u64).read_volatile() };
            if value != page + 1 {
                return Err(format!(
                    "page {page} holds {value:#x}, expected {}",
                    page + 1
                ));
            }
        }
        Ok(Measurement {
            ticks,
            iterations: VM_PAGES,
        })
    })
}

/// A fault endpoint and a started toucher (in the root task's VSpace, at its priority)
/// storing at `VM_REGION`, then every `stride` bytes on.
fn start_toucher(scope: &mut Scope<'_>, stride: u64) -> Result<(u64, u64), String> {
    let endpoint = scope.retype(ObjectType::Endpoint, 0)?;
    let badged = scope.mint(endpoint, FAULT_BADGE)?;
    let peer = Peer {
        entry: threads::vm_toucher(),
        arguments: [VM_REGION, stride, 0],
        vspace: ROOT_VSPACE,
        ipc_buffer: (0, 0),
        fault_endpoint: badged,
    };
    let thread = threads::create(scope, &peer)?;
    threads::start(thread, &peer)?;
    Ok((endpoint, thread))
}

/// Checks a VMFault message: badge, label, length, FaultIP at the toucher's store, and
/// the address.
fn check_vm_fault(received: &Received, address: u64, what: &str) -> Result<(), String> {
    let mrs = received.mrs;
    if received.badge != FAULT_BADGE
        || FaultType::from_label(received.info.label()) != Some(FaultType::VmFault)
        || received.info.length() != vm_fault::LENGTH
        || mrs[vm_fault::IP] != threads::vm_touch()
        || mrs[vm_fault::ADDR] != address
    {
        return Err(format!(
            "{what}: badge {:#x} label {} length {} IP {:#x} address {:#x}; expected badge \
             {FAULT_BADGE:#x} label {} length 4 IP {:#x} address {address:#x}",
            received.badge,
            received.info.label(),
            received.info.length(),
            mrs[vm_fault::IP],
            mrs[vm_fault::ADDR],
            FaultType::VmFault as u64,
            threads::vm_touch()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Scheduler, mapping and retype.

/// Yield with no other thread at the root task's priority: into the kernel and back.
fn yield_alone(_: &Resources) -> Result<Measurement, String> {
    let start = counter();
    for _ in 0..ITERATIONS {
        syscall::yield_now();
    }
    Ok(Measurement {
        ticks: counter().wrapping_sub(start),
        iterations: ITERATIONS,
    })
}

/// Maps and unmaps one 4 KiB frame at an address whose page tables exist.
fn page_map_unmap(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        let frame = scope.retype(ObjectType::SmallPage, 0)?;
        let address = SCRATCH_BASE + 0x1000;
        // The first mapping makes the page tables; check it maps real memory.
        scope.map(frame, ROOT_VSPACE, address, CapRights::read_write())?;
        let pointer = address as *mut u64;
        // SAFETY: the frame was just mapped read-write at `address` in this VSpace, and
        // nothing else refers to it.
        let readback = unsafe {
            pointer.write_volatile(0x6d61_7070_6564);
            pointer.read_volatile()
        };
        if readback != 0x6d61_7070_6564 {
            return Err(format!("the mapped page read back {readback:#x}"));
        }
        let frame_cap = Cap::<Granule>::from_bits(frame);
        sel(frame_cap.frame_unmap(), "first PageUnmap")?;
        let vspace = Cap::<VSpace>::from_bits(ROOT_VSPACE);
        let rights = CapRights::read_write();
        let attributes = VmAttributes::default();
        let start = counter();
        for iteration in 0..ITERATIONS {
            if let Err(error) = frame_cap.frame_map(vspace, address, rights, attributes) {
                return Err(format!("PageMap {iteration}: {error:?}"));
            }
            if let Err(error) = frame_cap.frame_unmap() {
                return Err(format!("PageUnmap {iteration}: {error:?}"));
            }
        }
        Ok(Measurement {
            ticks: counter().wrapping_sub(start),
            iterations: ITERATIONS,
        })
    })
}

/// Frames per timed batch, and batches: a 4 MiB untyped holds one untimed frame and a
/// batch; revoking it between batches frees the memory and the destination slots.
const RETYPE_BATCH: u64 = 1000;
const RETYPE_BATCHES: u64 = 10;
const RETYPE_UNTYPED_BITS: u64 = 22;
/// The destination CNode's radix: 1024 slots.
const RETYPE_CNODE_RADIX: u64 = 10;

/// UntypedRetype of one 4 KiB frame into a slot of a separate CNode.
fn untyped_retype_frame(resources: &Resources) -> Result<Measurement, String> {
    with_scope(resources, |scope| {
        let destination = scope.retype(ObjectType::CNode, RETYPE_CNODE_RADIX)?;
        let untyped = scope.retype(ObjectType::Untyped, RETYPE_UNTYPED_BITS)?;
        let untyped_cap = Cap::<Untyped>::from_bits(untyped);
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        let retype = |slot: u64| {
            untyped_cap.untyped_retype(
                ObjectType::SmallPage,
                0,
                root,
                destination,
                WORD_DEPTH,
                slot,
                1,
            )
        };
        let mut ticks = 0u64;
        for batch in 0..RETYPE_BATCHES {
            if batch > 0 {
                sel(
                    root.cnode_revoke(untyped, WORD_DEPTH),
                    "revoke the untyped between batches",
                )?;
            }
            // After a revoke the next retype resets the untyped (seL4 zeroes it then);
            // that one stays out of the timing.
            sel(retype(0), "untimed retype")?;
            let start = counter();
            for slot in 1..=RETYPE_BATCH {
                if let Err(error) = retype(slot) {
                    return Err(format!(
                        "retype into slot {slot} of batch {batch}: {error:?}"
                    ));
                }
            }
            ticks = ticks.wrapping_add(counter().wrapping_sub(start));
        }
        Ok(Measurement {
            ticks,
            iterations: RETYPE_BATCH * RETYPE_BATCHES,
        })
    })
}
