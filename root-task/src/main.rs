//! The root task: the system's Linux process server.
//!
//! Boot: check BootInfo → build the two-level CSpace → object allocator over the untypeds
//! → heap growth → file system from the embedded cpio → clocks and the vvar page → vDSO
//! preload → decide how system calls trap → start the first process → serve faults
//! forever (see `server`). Module map: `cspace`, `untyped`, `objects`, `frames` (kernel
//! objects); `address_space`, `user_memory`, `loader`, `vdso`, `clock` (memory and
//! images); `process`, `server` (processes and the event loop); `linux/` (one file per
//! system-call family).
#![no_std]
#![no_main]

extern crate alloc;

mod accounting;
mod address_space;
mod arch;
mod boot_report;
mod clock;
mod console;
mod cpu_id;
mod cspace;
mod device;
mod events;
mod frames;
mod free_list;
mod limits;
mod linux;
mod loader;
mod objects;
mod plat;
mod process;
mod random;
mod rootfs;
mod server;
mod shared_file;
mod signals;
mod timer;
mod untyped;
mod user_memory;
mod vdso;

use crate::objects::Objects;
use crate::process::Process;
use crate::server::{Server, TrapMode};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use linux_personality::fs::{ops, CloseOnExec, FdTable, Identity, OpenFileTable, OpenRequest};
use linux_personality::process::ProcessTable;
use linux_personality::signal::SignalActions;
use sel4::cap_type::Granule;
use sel4::{init_cap, BootInfo, Cap, CapRights, VmAttributes};
use sel4_root_task::debug_println;

sel4_root_task::declare_root_task!(main);

/// Where the growable heap lives in the root task's address space.
const HEAP_BASE: u64 = 0x40_0000_0000;
/// How much heap to add at boot (more on demand is future work).
const HEAP_GROWTH: u64 = 64 << 20;

fn main(bootinfo: &'static BootInfo) -> ! {
    boot_report::print_summary(bootinfo);
    match boot_report::check(bootinfo) {
        Ok(()) => debug_println!("bootinfo check: ok"),
        Err(problem) => {
            debug_println!("bootinfo check FAILED: {problem}");
            halt();
        }
    }
    let mut objects = match build_objects(bootinfo) {
        Some(objects) => objects,
        None => halt(),
    };
    grow_heap(&mut objects, HEAP_GROWTH);

    let events = match events::Events::bind(&mut objects) {
        Ok(events) => Some(events),
        Err(error) => {
            log::warn!("no bound notification ({error:?}): no timers, no console input");
            None
        }
    };
    // The PL011's page lies below the PL031's in their device untyped: it goes first.
    let console = console::Console::start(&mut objects, events.as_ref());
    let clocks = clock::Clocks::start(&mut objects);
    let timer_handler = events.as_ref().and_then(|events| {
        events
            .handler(&mut objects, timer::PHYSICAL_TIMER_IRQ, events::TIMER)
            .map_err(|error| log::warn!("no timer interrupt ({error:?}): sleeps never end"))
            .ok()
    });
    let timers = timer::Timers::new(clocks.frequency(), timer_handler);
    let boot_time = clocks.now(0).unwrap_or_default();
    let now = linux_personality::fs::Timespec::new(boot_time.seconds, boot_time.nanoseconds as u32);
    let fs = rootfs::build(now);
    let (files, bytes) = rootfs::summary(&fs);
    log::info!(
        "root file system: {files} inodes, {bytes} bytes from a {}-byte archive",
        rootfs::archive().len()
    );
    let config = rootfs::boot_config(&fs);
    log::set_max_level(match config.options.log_level {
        0 => log::LevelFilter::Error,
        1 => log::LevelFilter::Warn,
        2 => log::LevelFilter::Info,
        3 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    });

    let trap = Server::probe_trap(&mut objects, config.options.syscall_trap);
    log::info!(
        "system calls trap by {}",
        match trap {
            TrapMode::Flag => "the kernel's LINUX_SYSCALL flag",
            TrapMode::Rewrite => "svc rewritten to udf at load time",
        }
    );
    let vdso = match rootfs::file_bytes(&fs, vdso::VDSO_PATH) {
        Some(image) => vdso::Vdso::preload(
            &mut objects,
            image,
            trap == TrapMode::Rewrite,
            config.options.vdso_loading,
            config.options.bench_report,
        ),
        None => {
            log::info!("no /vdso.so: programs run without a vDSO");
            None
        }
    };
    let vdso = if clocks.published() { vdso } else { None };

    let endpoint = match Server::create_endpoint(&mut objects) {
        Ok(endpoint) => endpoint,
        Err(error) => {
            debug_println!("sel4-linux: no fault endpoint: {error:?}");
            halt();
        }
    };
    let mut server = Server {
        objects,
        fs,
        open_files: OpenFileTable::new(),
        clocks,
        vdso,
        random: random::Random::new(arch::counter()),
        endpoint,
        processes: BTreeMap::new(),
        threads: BTreeMap::new(),
        table: ProcessTable::default(),
        trap,
        init_pid: 0,
        warned: BTreeSet::new(),
        serving: None,
        futexes: linux_personality::process::FutexQueues::new(),
        timers,
        console,
        pipes: linux::pipe::Pipes::default(),
        accounting: accounting::Accounting::default(),
    };
    if let Err(status) = start_init(&mut server, &config.arguments, &config.environment) {
        debug_println!("sel4-linux: init exited with status {status}");
        halt();
    }
    server.console.set_foreground(server.init_pid);
    server.run()
}

/// The CSpace and allocator; `None` (after saying why) if the kernel handed over too
/// little.
fn build_objects(bootinfo: &BootInfo) -> Option<Objects> {
    let pool = untyped::UntypedPool::from_bootinfo(bootinfo);
    // The first RAM untyped big enough for the 128 KiB top-level CNode.
    let cnode_bytes_bits = cspace::RADIX_BITS as u8 + sel4::SLOT_BITS as u8;
    let candidate = bootinfo
        .untyped_descs()
        .iter()
        .enumerate()
        .filter(|(_, description)| {
            description.is_device == 0 && description.size_bits >= cnode_bytes_bits
        })
        .max_by_key(|(_, description)| description.size_bits)
        .map(|(index, _)| Cap::from_bits(bootinfo.untyped.start + index as u64));
    let Some(untyped) = candidate else {
        debug_println!("sel4-linux: no untyped can hold the CSpace");
        return None;
    };
    let mut pool = pool;
    // The retype inside `build` uses `untyped` directly; account for it in the pool.
    let cspace = match cspace::CSpace::build(bootinfo, untyped) {
        Ok(cspace) => cspace,
        Err(error) => {
            debug_println!("sel4-linux: building the CSpace failed: {error:?}");
            return None;
        }
    };
    pool.note_external_use(untyped, 1u64 << cnode_bytes_bits);
    Some(Objects::new(cspace, pool))
}

/// Maps `bytes` of fresh frames at the heap region and gives them to the allocator.
fn grow_heap(objects: &mut Objects, bytes: u64) {
    let mut added = 0u64;
    let mut tables = Vec::new();
    while added < bytes {
        let slot = match objects.allocate_slot() {
            Ok(slot) => slot,
            Err(_) => break,
        };
        let root = objects.root();
        if objects
            .untyped
            .retype(root, sel4::ObjectType::SmallPage, 0, slot, 1)
            .is_err()
        {
            break;
        }
        let address = HEAP_BASE + added;
        if objects
            .map(
                Cap::<Granule>::from_bits(slot),
                Cap::from_bits(init_cap::INIT_THREAD_VSPACE),
                address,
                CapRights::read_write(),
                VmAttributes(VmAttributes::PAGE_CACHEABLE | VmAttributes::EXECUTE_NEVER),
                &mut tables,
            )
            .is_err()
        {
            break;
        }
        // SAFETY: the page at `address` was just mapped read/write for the root task and
        // nothing else uses it; pages are added in address order, contiguously.
        if unsafe { sel4_root_task::heap::grow(address as *mut u8, 4096) }.is_err() {
            break;
        }
        added += 4096;
    }
    log::info!("heap: {} MiB added", added >> 20);
}

/// Starts the first process; `Err(exit status)` if it cannot run.
fn start_init(
    server: &mut Server,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
) -> Result<(), u8> {
    let Some(path) = arguments.first().cloned() else {
        return Err(127);
    };
    let root = server.fs.root();
    let credentials = linux_personality::Credentials::default();
    let image = match linux::process::load_program(
        server,
        root,
        &path,
        arguments,
        environment,
        credentials,
    ) {
        Ok(image) => image,
        Err(linux::process::ProgramError::Path(errno)) => {
            let name = core::str::from_utf8(&path).unwrap_or("(non-UTF-8 path)");
            debug_println!("sel4-linux: {name}: {errno}");
            return Err(if errno == linux_personality::Errno::ENOENT {
                127
            } else {
                126
            });
        }
        Err(linux::process::ProgramError::Load(error)) => {
            return Err(Server::report_exec_failure(&path, &error));
        }
        Err(linux::process::ProgramError::Script { .. }) => {
            let name = core::str::from_utf8(&path).unwrap_or("(non-UTF-8 path)");
            debug_println!("sel4-linux: {name}: a #! script cannot be the first process");
            return Err(126);
        }
    };
    let pid = match server.table.create_init(0) {
        Ok(pid) => pid,
        Err(_) => return Err(127),
    };
    server.init_pid = pid;
    let mut files = FdTable::new(linux_personality::fs::fd_table::DEFAULT_NOFILE_LIMIT);
    match ops::open(
        &mut server.fs,
        &Identity::ROOT,
        root,
        b"/dev/console",
        OpenRequest {
            flags: linux_personality::fs::flags::O_RDWR,
            mode: 0,
            umask: 0o022,
        },
        linux_personality::fs::Timespec::new(0, 0),
    ) {
        Ok(console) => {
            if let Ok(id) = server
                .open_files
                .insert(process::Description::File(console))
            {
                for fd in 0..3 {
                    if fd > 0 && server.open_files.retain(id).is_err() {
                        break;
                    }
                    let _ = files.install(id, CloseOnExec::Keep);
                }
            }
        }
        Err(error) => log::warn!("no /dev/console for init: {error}"),
    }
    server.processes.insert(
        pid,
        Process {
            pid,
            space: image.space,
            heap: image.heap,
            vdso_base: image.vdso_base,
            files,
            cwd: root,
            umask: 0o022,
            credentials,
            actions: SignalActions::new(),
            pending: linux_personality::signal::PendingSignals::new(),
            stopped: None,
            threads: Vec::new(),
            executable: path,
            command_line: linux::procfs::command_line(arguments),
            stack_limit: loader::STACK_SIZE,
            vfork_parent: None,
            process_limit: linux_personality::process::limits::Limit::both(
                linux_personality::process::limits::DEFAULT_NPROC,
            ),
        },
    );
    let context = sel4::UserContext {
        pc: image.entry,
        sp: image.stack_pointer,
        ..Default::default()
    };
    if let Err(error) = server.start_thread(pid, pid, &context) {
        debug_println!("sel4-linux: starting init failed: {error:?}");
        return Err(127);
    }
    Ok(())
}

fn halt() -> ! {
    loop {
        sel4::syscall::debug_halt();
    }
}
