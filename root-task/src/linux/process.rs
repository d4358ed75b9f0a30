//! Process system calls: exit, ids, fork (clone without CLONE_VM; the address space is
//! copied eagerly, a measured first step before copy-on-write), execve, wait4, limits.

use super::{int_argument, After, Context};
use crate::loader::{self, Request};
use crate::process::{Pid, Process, Thread, ThreadState, Wait};
use crate::server::{FsFiles, Server};
use alloc::vec::Vec;
use linux_personality::fs::inode::Content;
use linux_personality::fs::{path, EmptyPath, Follow, Identity};
use linux_personality::process::wait_status::WNOHANG;
use linux_personality::process::{
    decode_clone, select_child, CallerRole, CloneError, Consume, ForkRequest, Inheritance,
    ThreadGroup, WaitOptions, WaitSelection, WaitStatus, WaitTarget,
};
use linux_personality::{Errno, FileId};
use sel4::cap_type::Tcb;
use sel4::{unknown_syscall, Cap};

/// The most argv + envp strings execve takes, and their bytes.
const EXEC_STRINGS: usize = 32 * 1024;
const EXEC_BYTES: usize = 256 * 1024;

pub fn sys_exit(context: &mut Context<'_>, code: u64) -> Result<usize, Errno> {
    // Single-threaded processes only for now: exit ends the process.
    sys_exit_group(context, code)
}

pub fn sys_exit_group(context: &mut Context<'_>, code: u64) -> Result<usize, Errno> {
    context.after = After::NoReply;
    context
        .server
        .exit_process(context.pid, WaitStatus::Exited(code as u8));
    Ok(0)
}

pub fn sys_getpid(context: &mut Context<'_>) -> Result<usize, Errno> {
    Ok(context.pid as usize)
}

pub fn sys_gettid(context: &mut Context<'_>) -> Result<usize, Errno> {
    Ok(context.tid as usize)
}

pub fn sys_getppid(context: &mut Context<'_>) -> Result<usize, Errno> {
    Ok(context
        .server
        .table
        .get(context.pid)
        .map_or(0, |process| process.parent) as usize)
}

/// getuid, geteuid, getgid, getegid: everything runs as root for now.
pub fn sys_getuid(_context: &mut Context<'_>) -> Result<usize, Errno> {
    Ok(0)
}

pub fn sys_set_tid_address(context: &mut Context<'_>, address: u64) -> Result<usize, Errno> {
    if let Some(thread) = context.server.threads.get_mut(&context.tid) {
        thread.clear_child_tid = address;
    }
    Ok(context.tid as usize)
}

pub fn sys_set_robust_list(
    context: &mut Context<'_>,
    head: u64,
    length: u64,
) -> Result<usize, Errno> {
    // sizeof(struct robust_list_head) on 64-bit Linux.
    if length != 24 {
        return Err(Errno::EINVAL);
    }
    if let Some(thread) = context.server.threads.get_mut(&context.tid) {
        thread.robust_list = head;
    }
    Ok(0)
}

pub fn sys_prlimit64(
    context: &mut Context<'_>,
    pid: u64,
    resource: u64,
    new: u64,
    old: u64,
) -> Result<usize, Errno> {
    const RLIMIT_STACK: u64 = 3;
    const RLIMIT_NOFILE: u64 = 7;
    const RLIM_INFINITY: u64 = u64::MAX;
    let pid = int_argument(pid);
    if pid != 0 && pid as u32 != context.pid {
        return Err(if pid < 0 { Errno::EINVAL } else { Errno::ESRCH });
    }
    if resource >= 16 {
        return Err(Errno::EINVAL);
    }
    let current = {
        let process = context.process()?;
        match resource {
            RLIMIT_STACK => (process.stack_limit, RLIM_INFINITY),
            RLIMIT_NOFILE => (
                u64::from(process.files.limit()),
                u64::from(linux_personality::fs::fd_table::NR_OPEN),
            ),
            _ => (RLIM_INFINITY, RLIM_INFINITY),
        }
    };
    if new != 0 {
        let mut limits = [0u8; 16];
        context.read_user(new, &mut limits)?;
        let mut soft = [0u8; 8];
        let mut hard = [0u8; 8];
        soft.copy_from_slice(&limits[..8]);
        hard.copy_from_slice(&limits[8..]);
        let (soft, hard) = (u64::from_le_bytes(soft), u64::from_le_bytes(hard));
        if soft > hard {
            return Err(Errno::EINVAL);
        }
        match resource {
            RLIMIT_STACK => context.process()?.stack_limit = soft,
            RLIMIT_NOFILE => context.process()?.files.set_limit(soft)?,
            // Other limits are not enforced; accept and forget them.
            _ => {}
        }
    }
    if old != 0 {
        context.write_words(old, &[current.0, current.1])?;
    }
    Ok(0)
}

pub fn sys_clone(
    context: &mut Context<'_>,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    tls: u64,
    child_tid: u64,
) -> Result<usize, Errno> {
    let role = if context.pid == context.server.init_pid {
        CallerRole::Init
    } else {
        CallerRole::Ordinary
    };
    let request = decode_clone(flags, stack, parent_tid, tls, child_tid, role).map_err(
        |error| match error {
            CloneError::Invalid(_) | CloneError::Unsupported(_) => Errno::EINVAL,
        },
    )?;
    if request.memory == Inheritance::Share || request.thread_group == ThreadGroup::Same {
        // Threads and vfork share memory: not yet.
        log::warn!("clone flags {flags:#x}: shared memory (threads, vfork) not implemented");
        return Err(Errno::ENOSYS);
    }
    fork(
        context,
        request.exit_signal,
        request.stack,
        request.tls,
        request.child_clear_tid,
    )
}

/// A new process with a copy of the caller's memory, descriptors and dispositions; the
/// child returns 0 from the same `svc`.
fn fork(
    context: &mut Context<'_>,
    exit_signal: u8,
    stack: Option<u64>,
    tls: Option<u64>,
    clear_tid: Option<u64>,
) -> Result<usize, Errno> {
    let server = &mut *context.server;
    let parent = server.processes.get(&context.pid).ok_or(Errno::ESRCH)?;
    let tcb = server.threads.get(&context.tid).ok_or(Errno::ESRCH)?.tcb;
    let started = crate::arch::counter();
    let space = parent
        .space
        .duplicate(&mut server.objects)
        .map_err(|_| Errno::ENOMEM)?;
    let copied_pages = space.resident_pages();
    let files = match parent.files.fork(&mut server.open_files) {
        Ok(files) => files,
        Err(error) => {
            space.destroy(&mut server.objects);
            return Err(error);
        }
    };
    let child_pid = match server.table.fork(
        context.pid,
        ForkRequest {
            uid: 0,
            nproc_limit: u64::MAX,
            exit_signal,
            parent: linux_personality::process::ParentChoice::Caller,
        },
    ) {
        Ok(pid) => pid,
        Err(error) => {
            space.destroy(&mut server.objects);
            let mut files = files;
            for file in files.close_all() {
                server.release_description(file);
            }
            return Err(error);
        }
    };
    let child = Process {
        pid: child_pid,
        space,
        heap: parent.heap,
        vdso_base: parent.vdso_base,
        files,
        cwd: parent.cwd,
        umask: parent.umask,
        credentials: parent.credentials,
        actions: parent.actions.clone(),
        threads: Vec::new(),
        executable: parent.executable.clone(),
        command_line: parent.command_line.clone(),
        stack_limit: parent.stack_limit,
    };
    server.processes.insert(child_pid, child);
    // The child's registers: the caller's, returning 0 from the instruction after svc.
    let caller: Cap<Tcb> = Cap::from_bits(tcb);
    let mut registers = match caller.tcb_read_registers(false) {
        Ok(registers) => registers,
        Err(_) => {
            server.exit_process(child_pid, WaitStatus::Exited(127));
            return Err(Errno::EAGAIN);
        }
    };
    registers.x0 = 0;
    registers.pc = context.registers[unknown_syscall::FAULT_IP].wrapping_add(4);
    if let Some(stack) = stack {
        registers.sp = stack;
    }
    if let Some(tls) = tls {
        registers.tpidr_el0 = tls;
    }
    if server
        .start_thread(child_pid, child_pid, &registers)
        .is_err()
    {
        server.exit_process(child_pid, WaitStatus::Exited(127));
        return Err(Errno::EAGAIN);
    }
    if let (Some(address), Some(thread)) = (clear_tid, server.threads.get_mut(&child_pid)) {
        thread.clear_child_tid = address;
    }
    log::debug!(
        "fork {} -> {child_pid}: {copied_pages} pages copied in {} counter ticks",
        context.pid,
        crate::arch::counter().saturating_sub(started)
    );
    Ok(child_pid as usize)
}

pub fn sys_execve(
    context: &mut Context<'_>,
    path: u64,
    argv: u64,
    envp: u64,
) -> Result<usize, Errno> {
    let path = context.read_path(path)?;
    let (arguments, environment) = context.with_memory(|memory| {
        let arguments = memory.read_string_array(argv, EXEC_STRINGS, EXEC_BYTES)?;
        let environment = memory.read_string_array(envp, EXEC_STRINGS, EXEC_BYTES)?;
        Ok((arguments, environment))
    })?;
    let cwd = context.process()?.cwd;
    let server = &mut *context.server;
    let image =
        load_program(server, cwd, &path, &arguments, &environment).map_err(
            |error| match error {
                ProgramError::Path(errno) => errno,
                ProgramError::Load(error) => error.errno(),
            },
        )?;
    // The point of no return: the old image goes.
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    let old = core::mem::replace(&mut process.space, image.space);
    process.heap = image.heap;
    process.vdso_base = image.vdso_base;
    process.executable = path;
    process.command_line = crate::linux::procfs::command_line(&arguments);
    process.actions.reset_for_exec();
    let closed = process.files.close_on_exec_sweep();
    old.destroy(&mut server.objects);
    for file in closed {
        server.release_description(file);
    }
    let _ = server.table.mark_executed(context.pid);
    let tcb = server.threads.get(&context.tid).ok_or(Errno::ESRCH)?.tcb;
    if server.switch_vspace(context.tid).is_err() {
        server.kill_process_of(context.tid, linux_personality::signal::Signal::SIGKILL);
        context.after = After::NoReply;
        return Ok(0);
    }
    let fresh = sel4::UserContext {
        pc: image.entry,
        sp: image.stack_pointer,
        ..Default::default()
    };
    let tcb: Cap<Tcb> = Cap::from_bits(tcb);
    if tcb.tcb_write_registers(true, &fresh).is_err() {
        server.kill_process_of(context.tid, linux_personality::signal::Signal::SIGKILL);
    }
    // Resumed with its new registers: the pending fault reply is dropped with the
    // caller slot at the next receive.
    context.after = After::NoReply;
    Ok(0)
}

/// Why a program could not be started.
pub enum ProgramError {
    Path(Errno),
    Load(crate::loader::LoadError),
}

/// Resolves `path` from `cwd` and loads it with `arguments` and `environment`.
///
/// # Errors
/// [`ProgramError`].
pub fn load_program(
    server: &mut Server,
    cwd: linux_personality::fs::InodeId,
    path_bytes: &[u8],
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
) -> Result<loader::Image, ProgramError> {
    let inode = path::resolve(
        &server.fs,
        &Identity::ROOT,
        cwd,
        path_bytes,
        Follow::Follow,
        EmptyPath::Refuse,
    )
    .map_err(ProgramError::Path)?;
    let node = server.fs.inode(inode).map_err(ProgramError::Path)?;
    if !matches!(node.content(), Content::Regular(_)) || node.permission_bits() & 0o111 == 0 {
        return Err(ProgramError::Path(Errno::EACCES));
    }
    let Server {
        objects,
        fs,
        random,
        vdso,
        clocks,
        trap,
        ..
    } = server;
    let vdso = match (vdso.as_ref(), clocks.vvar_frame()) {
        (Some(vdso), Some(vvar)) => Some((vdso, vvar)),
        _ => None,
    };
    let fs: &linux_personality::fs::Fs = fs;
    let Content::Regular(bytes) = fs.inode(inode).map_err(ProgramError::Path)?.content() else {
        return Err(ProgramError::Path(Errno::EACCES));
    };
    loader::load(
        objects,
        &FsFiles(fs),
        random,
        vdso,
        &Request {
            file: bytes,
            file_id: FileId(inode.0),
            arguments,
            environment,
            execfn: path_bytes,
            credentials: linux_personality::Credentials::default(),
            rewrite_svc: *trap == crate::server::TrapMode::Rewrite,
        },
    )
    .map_err(ProgramError::Load)
}

pub fn sys_wait4(
    context: &mut Context<'_>,
    pid: u64,
    status: u64,
    options: u64,
    rusage: u64,
) -> Result<usize, Errno> {
    let options = WaitOptions::for_wait4(options)?;
    let pgid = context
        .server
        .table
        .get(context.pid)
        .map_or(context.pid, |process| process.pgid);
    let target = WaitTarget::for_wait4(pid, pgid)?;
    let wait = Wait::Child {
        target,
        options,
        status_address: status,
        rusage_address: rusage,
    };
    match try_wait(context.server, context.pid, &wait)? {
        Some(result) => Ok(result),
        None if options.has(WNOHANG) => Ok(0),
        None => {
            context
                .server
                .park(context.tid, wait, context.registers)
                .map_err(|_| Errno::ENOMEM)?;
            context.after = After::NoReply;
            Ok(0)
        }
    }
}

/// Looks for a child matching `wait`; reports and reaps it. `Ok(None)` if none is ready.
///
/// # Errors
/// `ECHILD`, or `EFAULT` writing the status (after which the child is still reaped, as
/// on Linux).
fn try_wait(server: &mut Server, pid: Pid, wait: &Wait) -> Result<Option<usize>, Errno> {
    let Wait::Child {
        target,
        options,
        status_address,
        rusage_address,
    } = *wait
    else {
        return Ok(None);
    };
    let children = server.table.waitable_children(pid);
    let report = match select_child(&children, target, options)? {
        WaitSelection::Ready(report) => report,
        WaitSelection::NotReady => return Ok(None),
    };
    match report.consume {
        Consume::Reap => {
            let _ = server.table.reap(pid, report.pid);
        }
        Consume::MarkReported => {
            let _ = server.table.mark_reported(report.pid);
        }
        Consume::Keep => {}
    }
    let Server {
        objects,
        processes,
        fs,
        ..
    } = server;
    let process = processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
    let mut memory = crate::user_memory::UserMemory {
        space: &mut process.space,
        objects,
        files: &FsFiles(fs),
    };
    if status_address != 0 {
        memory.write(status_address, &report.status.encode().to_le_bytes())?;
    }
    if rusage_address != 0 {
        // struct rusage: no accounting yet, all zero.
        memory.write(rusage_address, &[0u8; 144])?;
    }
    Ok(Some(report.pid as usize))
}

/// A child of `parent` changed state: answer its threads parked in wait4 that can now
/// report something.
pub fn child_changed(server: &mut Server, parent: Pid) {
    let parked: Vec<(u32, Wait)> = server
        .processes
        .get(&parent)
        .map(|process| process.threads.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|tid| match server.threads.get(&tid) {
            Some(Thread {
                state: ThreadState::Parked { wait, .. },
                ..
            }) => Some((tid, *wait)),
            _ => None,
        })
        .collect();
    for (tid, wait) in parked {
        match try_wait(server, parent, &wait) {
            Ok(Some(result)) => server.unpark(tid, result as u64),
            Ok(None) => {}
            Err(error) => server.unpark(tid, error.as_negative_return()),
        }
    }
}
