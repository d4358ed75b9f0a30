//! Process system calls: exit, ids, clone (fork with a copy-on-write address space,
//! threads, vfork), execve (ELF and `#!` scripts), wait4/waitid, groups and sessions,
//! limits, sysinfo.

use super::{int_argument, After, Context};
use crate::loader::{self, Request};
use crate::process::{Pid, Process, Thread, ThreadState, Wait};
use crate::server::{FsFiles, Server};
use alloc::vec::Vec;
use linux_personality::fs::inode::Content;
use linux_personality::fs::{path, EmptyPath, Follow, Identity};
use linux_personality::process::wait_status::WNOHANG;
use linux_personality::process::{
    decode_clone, select_child, CallerRole, CloneError, CloneRequest, Consume, ForkRequest,
    Inheritance, ThreadGroup, VforkWait, WaitOptions, WaitSelection, WaitStatus, WaitTarget,
};
use linux_personality::{Errno, FileId};
use sel4::cap_type::Tcb;
use sel4::{unknown_syscall, Cap};

/// The most argv + envp strings execve takes, and their bytes.
const EXEC_STRINGS: usize = 32 * 1024;
const EXEC_BYTES: usize = 256 * 1024;

/// `exit`: ends the calling thread; the last thread's exit ends the process.
pub fn sys_exit(context: &mut Context<'_>, code: u64) -> Result<usize, Errno> {
    let caller = context.tid;
    let others = context.process()?.threads.iter().any(|&tid| tid != caller);
    if !others {
        return sys_exit_group(context, code);
    }
    context.after = After::NoReply;
    let server = &mut *context.server;
    super::futex::thread_exiting(server, context.tid);
    if context.tid != context.pid {
        let _ = server.table.remove_thread(context.tid);
    }
    server.remove_thread(context.tid);
    Ok(0)
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

/// getuid, geteuid, getgid, getegid from the process's credentials (`setuid` and
/// `setgid` change them; see `crate::limits`).
pub fn sys_get_id(context: &mut Context<'_>, which: crate::limits::Id) -> Result<usize, Errno> {
    let credentials = context.process()?.credentials;
    Ok(crate::limits::id_of(&credentials, which) as usize)
}

/// `setuid`: see [`linux_personality::process::limits::set_user_id`]; the process's
/// tasks then count against the new real user's `RLIMIT_NPROC`.
pub fn sys_setuid(context: &mut Context<'_>, uid: u64) -> Result<usize, Errno> {
    let credentials = context.process()?.credentials;
    let changed = linux_personality::process::limits::set_user_id(credentials, uid as u32)?;
    context.server.table.set_uid(context.pid, changed.uid)?;
    context.process()?.credentials = changed;
    Ok(0)
}

/// `setgid`: see [`linux_personality::process::limits::set_group_id`].
pub fn sys_setgid(context: &mut Context<'_>, gid: u64) -> Result<usize, Errno> {
    let credentials = context.process()?.credentials;
    context.process()?.credentials =
        linux_personality::process::limits::set_group_id(credentials, gid as u32)?;
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
            linux_personality::process::limits::RLIMIT_NPROC => {
                (process.process_limit.soft, process.process_limit.hard)
            }
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
            linux_personality::process::limits::RLIMIT_NPROC => {
                crate::limits::set_process_limit(
                    context.process()?,
                    linux_personality::process::limits::Limit { soft, hard },
                )?;
            }
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
    match (request.thread_group, request.memory, request.vfork) {
        (ThreadGroup::Same, Inheritance::Share, _)
            if request.files == Inheritance::Share && request.filesystem == Inheritance::Share =>
        {
            clone_thread(context, &request)
        }
        (ThreadGroup::New, Inheritance::Share, VforkWait::Wait) => vfork(context, &request),
        (ThreadGroup::New, Inheritance::Copy, _) => {
            let child = fork(
                context,
                request.exit_signal,
                request.stack,
                request.tls,
                request.child_clear_tid,
            )?;
            if let Some(address) = request.parent_tid {
                let _ = context.write_user(address, &(child as u32).to_le_bytes());
            }
            Ok(child)
        }
        _ => {
            log::warn!("clone flags {flags:#x}: this sharing combination is not implemented");
            Err(Errno::EINVAL)
        }
    }
}

/// The caller's registers for a new thread or process: returning 0 from its `svc`, on
/// `stack` and with `tls` when given.
fn child_registers(
    context: &Context<'_>,
    stack: Option<u64>,
    tls: Option<u64>,
) -> Result<sel4::UserContext, Errno> {
    let tcb = context
        .server
        .threads
        .get(&context.tid)
        .ok_or(Errno::ESRCH)?
        .tcb;
    let caller: Cap<Tcb> = Cap::from_bits(tcb);
    let mut registers = caller
        .tcb_read_registers(false)
        .map_err(|_| Errno::EAGAIN)?;
    registers.x0 = 0;
    registers.pc = context.registers[unknown_syscall::FAULT_IP].wrapping_add(4);
    if let Some(stack) = stack {
        registers.sp = stack;
    }
    if let Some(tls) = tls {
        registers.tpidr_el0 = tls;
    }
    Ok(registers)
}

/// `clone(CLONE_VM | CLONE_THREAD | ...)`: a new thread in the caller's process.
fn clone_thread(context: &mut Context<'_>, request: &CloneRequest) -> Result<usize, Errno> {
    let registers = child_registers(context, request.stack, request.tls)?;
    let server = &mut *context.server;
    let process_limit = server
        .processes
        .get(&context.pid)
        .map_or(u64::MAX, |process| process.process_limit.soft);
    crate::limits::check_new_task(server)?;
    let tid = server.table.add_thread(context.pid, process_limit)?;
    if server.start_thread(context.pid, tid, &registers).is_err() {
        let _ = server.table.remove_thread(tid);
        return Err(Errno::EAGAIN);
    }
    // A new thread inherits the caller's mask; its alternate stack starts disabled, as
    // Linux does for CLONE_VM threads.
    let signals = server.threads.get(&context.tid).map(|thread| {
        thread
            .signals
            .for_child(linux_personality::signal::AlternateStackInheritance::Disable)
    });
    if let Some(thread) = server.threads.get_mut(&tid) {
        if let Some(signals) = signals {
            thread.signals = signals;
        }
        thread.clear_child_tid = request.child_clear_tid.unwrap_or(0);
    }
    // The new thread cannot run before the server waits again (it has the lower
    // priority), so these stores land before its first instruction.
    let bytes = tid.to_le_bytes();
    for address in [request.parent_tid, request.child_set_tid]
        .into_iter()
        .flatten()
    {
        let _ = context.write_user(address, &bytes);
    }
    log::trace!("pid {}: thread {tid} created", context.pid);
    Ok(tid as usize)
}

/// `clone(CLONE_VM | CLONE_VFORK)` (vfork, posix_spawn): a new process running in the
/// caller's memory; the caller is parked until the child execs or exits.
fn vfork(context: &mut Context<'_>, request: &CloneRequest) -> Result<usize, Errno> {
    let registers = child_registers(context, request.stack, request.tls)?;
    let server = &mut *context.server;
    crate::limits::check_new_task(server)?;
    let parent = server.processes.get(&context.pid).ok_or(Errno::ESRCH)?;
    // The child's own space is an empty placeholder until it execs.
    let placeholder =
        crate::address_space::AddressSpace::new(&mut server.objects).map_err(|_| Errno::ENOMEM)?;
    let files = if request.files == Inheritance::Share {
        log::debug!("vfork with CLONE_FILES: the descriptor table is copied");
        parent.files.fork(&mut server.open_files)
    } else {
        parent.files.fork(&mut server.open_files)
    };
    let files = match files {
        Ok(files) => files,
        Err(error) => {
            placeholder.destroy(&mut server.objects);
            return Err(error);
        }
    };
    let child_pid = match server.table.fork(
        context.pid,
        ForkRequest {
            uid: parent.credentials.uid,
            nproc_limit: parent.process_limit.soft,
            exit_signal: request.exit_signal,
            parent: request.parent,
        },
    ) {
        Ok(pid) => pid,
        Err(error) => {
            placeholder.destroy(&mut server.objects);
            let mut files = files;
            for file in files.close_all() {
                server.release_description(file);
            }
            return Err(error);
        }
    };
    let child = Process {
        pid: child_pid,
        space: placeholder,
        heap: parent.heap,
        vdso_base: parent.vdso_base,
        files,
        cwd: parent.cwd,
        umask: parent.umask,
        credentials: parent.credentials,
        actions: parent.actions.clone(),
        threads: Vec::new(),
        executable: parent.executable.clone(),
        stack_limit: parent.stack_limit,
        vfork_parent: Some(server.memory_owner(context.pid)),
        process_limit: parent.process_limit,
        pending: linux_personality::signal::PendingSignals::new(),
        stopped: None,
        command_line: parent.command_line.clone(),
    };
    server.processes.insert(child_pid, child);
    if server
        .start_thread(child_pid, child_pid, &registers)
        .is_err()
    {
        server.exit_process(child_pid, WaitStatus::Exited(127));
        return Err(Errno::EAGAIN);
    }
    if let Some(address) = request.parent_tid {
        let _ = context.write_user(address, &child_pid.to_le_bytes());
    }
    if let (Some(address), Some(thread)) = (
        request.child_clear_tid,
        context.server.threads.get_mut(&child_pid),
    ) {
        thread.clear_child_tid = address;
    }
    // Parked with the child's pid as the answer it will get.
    let mut registers = *context.registers;
    registers[0] = u64::from(child_pid);
    context
        .server
        .park(context.tid, Wait::Vfork { child: child_pid }, &registers)
        .map_err(|_| Errno::ENOMEM)?;
    context.after = After::NoReply;
    Ok(0)
}

/// A vfork child leaves its parent's memory (exec or exit): the parent resumes.
pub fn release_vfork_parent(server: &mut Server, child: &mut Process) {
    if child.vfork_parent.take().is_some() {
        wake_vfork_parent(server, child.pid);
    }
}

/// Answers the thread parked in vfork for `child` with the child's pid.
fn wake_vfork_parent(server: &mut Server, child: Pid) {
    let waiting: Vec<u32> = server
        .threads
        .values()
        .filter(|thread| {
            matches!(
                thread.state,
                ThreadState::Parked {
                    wait: Wait::Vfork { child: waited },
                    ..
                } if waited == child
            )
        })
        .map(|thread| thread.tid)
        .collect();
    for tid in waiting {
        server.unpark(tid, u64::from(child));
    }
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
    let tcb = server.threads.get(&context.tid).ok_or(Errno::ESRCH)?.tcb;
    // Before any object is made for the child.
    crate::limits::check_new_task(server)?;
    let started = crate::arch::counter();
    let space = server
        .processes
        .get_mut(&context.pid)
        .ok_or(Errno::ESRCH)?
        .space
        .duplicate(&mut server.objects)
        .map_err(|_| Errno::ENOMEM)?;
    let parent = server.processes.get(&context.pid).ok_or(Errno::ESRCH)?;
    let shared_pages = space.resident_pages();
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
            uid: parent.credentials.uid,
            nproc_limit: parent.process_limit.soft,
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
        pending: linux_personality::signal::PendingSignals::new(),
        stopped: None,
        threads: Vec::new(),
        executable: parent.executable.clone(),
        command_line: parent.command_line.clone(),
        stack_limit: parent.stack_limit,
        vfork_parent: None,
        process_limit: parent.process_limit,
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
    let signals = server.threads.get(&context.tid).map(|thread| {
        thread
            .signals
            .for_child(linux_personality::signal::AlternateStackInheritance::Copy)
    });
    if let (Some(signals), Some(thread)) = (signals, server.threads.get_mut(&child_pid)) {
        thread.signals = signals;
    }
    log::debug!(
        "fork {} -> {child_pid}: {shared_pages} pages shared copy-on-write in {} counter ticks",
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
    let mut path = context.read_path(path)?;
    let (mut arguments, environment) = context.with_memory(|memory| {
        let arguments = memory.read_string_array(argv, EXEC_STRINGS, EXEC_BYTES)?;
        let environment = memory.read_string_array(envp, EXEC_STRINGS, EXEC_BYTES)?;
        Ok((arguments, environment))
    })?;
    let cwd = context.process()?.cwd;
    let credentials = context.process()?.credentials;
    let server = &mut *context.server;
    // `#!` scripts: the interpreter runs with the script's path as an argument; Linux
    // follows at most four levels of interpreters that are scripts themselves.
    let mut levels = 0;
    let image = loop {
        match load_program(server, cwd, &path, &arguments, &environment, credentials) {
            Ok(image) => break image,
            Err(ProgramError::Script {
                interpreter,
                argument,
            }) => {
                levels += 1;
                if levels > SCRIPT_LEVELS {
                    return Err(Errno::ELOOP);
                }
                let mut rewritten = Vec::with_capacity(arguments.len() + 2);
                rewritten.push(interpreter.clone());
                rewritten.extend(argument);
                rewritten.push(core::mem::replace(&mut path, interpreter));
                rewritten.extend(arguments.into_iter().skip(1));
                arguments = rewritten;
            }
            Err(ProgramError::Path(errno)) => return Err(errno),
            Err(ProgramError::Load(error)) => return Err(error.errno()),
        }
    };
    // The point of no return: the other threads and the old image go.
    let others: Vec<u32> = server
        .processes
        .get(&context.pid)
        .map(|process| process.threads.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|&tid| tid != context.tid)
        .collect();
    for tid in others {
        if tid != context.pid {
            let _ = server.table.remove_thread(tid);
        }
        server.remove_thread(tid);
    }
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    let old = core::mem::replace(&mut process.space, image.space);
    process.heap = image.heap;
    process.vdso_base = image.vdso_base;
    process.executable = path;
    process.command_line = crate::linux::procfs::command_line(&arguments);
    process.actions.reset_for_exec();
    let closed = process.files.close_on_exec_sweep();
    let vforked = process.vfork_parent.take().is_some();
    old.destroy(&mut server.objects);
    if vforked {
        wake_vfork_parent(server, context.pid);
    }
    for file in closed {
        server.release_description(file);
    }
    let _ = server.table.mark_executed(context.pid);
    if let Some(thread) = server.threads.get_mut(&context.tid) {
        thread.signals.reset_for_exec();
    }
    let tcb = server.threads.get(&context.tid).ok_or(Errno::ESRCH)?.tcb;
    // The thread runs in the new image's VSpace (the old one is gone).
    if let Err(error) = server.set_thread_vspace(context.tid) {
        log::warn!(
            "pid {}: exec could not switch VSpace: {error:?}",
            context.pid
        );
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

/// Levels of `#!` interpreters followed before `ELOOP` (Linux: 4 rewrites).
const SCRIPT_LEVELS: usize = 4;
/// How much of a script's first line Linux reads (`BINPRM_BUF_SIZE`).
const SCRIPT_HEADER: usize = 256;

/// Parses a `#!` line: the interpreter and its optional single argument (the rest of
/// the line, trimmed). `None` if `file` is not a script.
///
/// # Errors
/// `ENOEXEC` for a line with no interpreter.
/// A `#!` line's interpreter and its optional single argument.
struct Interpreter {
    path: Vec<u8>,
    argument: Option<Vec<u8>>,
}

fn parse_script(file: &[u8]) -> Option<Result<Interpreter, Errno>> {
    let rest = file.strip_prefix(b"#!")?;
    let limit = rest.len().min(SCRIPT_HEADER - 2);
    let line = rest.get(..limit).unwrap_or(rest);
    let line = match line.iter().position(|&byte| byte == b'\n') {
        Some(end) => line.get(..end).unwrap_or(line),
        None => line,
    };
    let is_blank = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = line.iter().position(|byte| !is_blank(byte));
    let Some(start) = start else {
        return Some(Err(Errno::ENOEXEC));
    };
    let line = line.get(start..).unwrap_or_default();
    let end = line
        .iter()
        .rposition(|byte| !is_blank(byte))
        .map_or(0, |end| end + 1);
    let line = line.get(..end).unwrap_or_default();
    let split = line.iter().position(is_blank).unwrap_or(line.len());
    let (interpreter, argument) = line.split_at(split);
    let argument = argument
        .iter()
        .position(|byte| !is_blank(byte))
        .and_then(|skip| argument.get(skip..))
        .filter(|argument| !argument.is_empty())
        .map(<[u8]>::to_vec);
    Some(Ok(Interpreter {
        path: interpreter.to_vec(),
        argument,
    }))
}

/// Why a program could not be started.
pub enum ProgramError {
    Path(Errno),
    Load(crate::loader::LoadError),
    /// A `#!` script: run `interpreter` (with `argument`) on it instead.
    Script {
        interpreter: Vec<u8>,
        argument: Option<Vec<u8>>,
    },
}

/// Resolves `path` from `cwd` and loads it with `arguments` and `environment`; the
/// auxiliary vector reports `credentials` (AT_UID, AT_EUID, AT_GID, AT_EGID).
///
/// # Errors
/// [`ProgramError`].
pub fn load_program(
    server: &mut Server,
    cwd: linux_personality::fs::InodeId,
    path_bytes: &[u8],
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
    credentials: linux_personality::Credentials,
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
    let fs: &linux_personality::fs::Fs = fs;
    let vdso = match (vdso.as_ref(), clocks.vvar_frame()) {
        (Some(vdso), Some(vvar)) => Some(crate::vdso::ExecVdso { vdso, vvar, fs }),
        _ => None,
    };
    let Content::Regular(bytes) = fs.inode(inode).map_err(ProgramError::Path)?.content() else {
        return Err(ProgramError::Path(Errno::EACCES));
    };
    match parse_script(bytes) {
        Some(Ok(Interpreter { path, argument })) => {
            return Err(ProgramError::Script {
                interpreter: path,
                argument,
            })
        }
        Some(Err(errno)) => return Err(ProgramError::Path(errno)),
        None => {}
    }
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
            credentials,
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

/// Where a wait's report goes.
#[derive(Clone, Copy)]
enum ReportTo {
    /// wait4: the status word at this address (0: none); returns the pid.
    Status(u64),
    /// waitid: a `siginfo_t` at this address (0: none); returns 0.
    Info(u64),
}

/// Looks for a child matching `wait`; reports and reaps it. `Ok(None)` if none is ready
/// (or `wait` is not a wait for children).
///
/// # Errors
/// `ECHILD`, or `EFAULT` writing the status (after which the child is still reaped, as
/// on Linux).
fn try_wait(server: &mut Server, pid: Pid, wait: &Wait) -> Result<Option<usize>, Errno> {
    let (target, options, rusage_address, report_to) = match *wait {
        Wait::Child {
            target,
            options,
            status_address,
            rusage_address,
        } => (
            target,
            options,
            rusage_address,
            ReportTo::Status(status_address),
        ),
        Wait::ChildInfo {
            target,
            options,
            info_address,
            rusage_address,
        } => (
            target,
            options,
            rusage_address,
            ReportTo::Info(info_address),
        ),
        _ => return Ok(None),
    };
    let children = server.table.waitable_children(pid);
    let report = match select_child(&children, target, options)? {
        WaitSelection::Ready(report) => report,
        WaitSelection::NotReady => return Ok(None),
    };
    let usage = super::usage::child_rusage(server, report.pid);
    match report.consume {
        Consume::Reap => {
            let _ = server.table.reap(pid, report.pid);
            server.account_reaped(pid, report.pid);
        }
        Consume::MarkReported => {
            let _ = server.table.mark_reported(report.pid);
        }
        Consume::Keep => {}
    }
    super::futex::with_memory_of(server, pid, |memory| {
        if rusage_address != 0 {
            memory.write(rusage_address, &usage)?;
        }
        match report_to {
            ReportTo::Status(address) => {
                if address != 0 {
                    memory.write(address, &report.status.encode().to_le_bytes())?;
                }
                Ok(Some(report.pid as usize))
            }
            ReportTo::Info(address) => {
                if address != 0 {
                    memory.write(
                        address,
                        &child_siginfo(report.pid, report.uid, report.status),
                    )?;
                }
                Ok(Some(0))
            }
        }
    })
}

/// The first 32 bytes of the `siginfo_t` waitid fills: si_signo SIGCHLD, si_errno,
/// si_code (CLD_*), si_pid, si_uid, si_status.
fn child_siginfo(pid: Pid, uid: u32, status: WaitStatus) -> [u8; 32] {
    const SIGCHLD: i32 = 17;
    const SIGCONT: i32 = 18;
    const CLD_EXITED: i32 = 1;
    const CLD_KILLED: i32 = 2;
    const CLD_DUMPED: i32 = 3;
    const CLD_STOPPED: i32 = 5;
    const CLD_CONTINUED: i32 = 6;
    let (code, value) = match status {
        WaitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
        WaitStatus::Signaled { signal, core } => (
            if core == linux_personality::signal::CoreDump::Dumped {
                CLD_DUMPED
            } else {
                CLD_KILLED
            },
            signal.number() as i32,
        ),
        WaitStatus::Stopped(signal) => (CLD_STOPPED, signal.number() as i32),
        WaitStatus::Continued => (CLD_CONTINUED, SIGCONT),
    };
    let mut info = [0u8; 32];
    let fields: [(usize, [u8; 4]); 5] = [
        (0, SIGCHLD.to_le_bytes()),
        (8, code.to_le_bytes()),
        (16, pid.to_le_bytes()),
        (20, uid.to_le_bytes()),
        (24, value.to_le_bytes()),
    ];
    for (offset, bytes) in fields {
        if let Some(slot) = info.get_mut(offset..offset + 4) {
            slot.copy_from_slice(&bytes);
        }
    }
    info
}

pub fn sys_waitid(
    context: &mut Context<'_>,
    id_type: u64,
    id: u64,
    info: u64,
    options: u64,
    rusage: u64,
) -> Result<usize, Errno> {
    let options = WaitOptions::for_waitid(options)?;
    let pgid = context
        .server
        .table
        .get(context.pid)
        .map_or(context.pid, |process| process.pgid);
    let target = WaitTarget::for_waitid(id_type, id, pgid)?;
    let wait = Wait::ChildInfo {
        target,
        options,
        info_address: info,
        rusage_address: rusage,
    };
    match try_wait(context.server, context.pid, &wait)? {
        Some(result) => Ok(result),
        None if options.has(WNOHANG) => {
            // Nothing to report: Linux clears the fields it would have set.
            if info != 0 {
                context.write_user(info, &[0u8; 32])?;
            }
            Ok(0)
        }
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

pub fn sys_setpgid(context: &mut Context<'_>, pid: u64, pgid: u64) -> Result<usize, Errno> {
    context.server.table.setpgid(context.pid, pid, pgid)?;
    Ok(0)
}

pub fn sys_getpgid(context: &mut Context<'_>, pid: u64) -> Result<usize, Errno> {
    Ok(context.server.table.getpgid(context.pid, pid)? as usize)
}

pub fn sys_getsid(context: &mut Context<'_>, pid: u64) -> Result<usize, Errno> {
    Ok(context.server.table.getsid(context.pid, pid)? as usize)
}

pub fn sys_setsid(context: &mut Context<'_>) -> Result<usize, Errno> {
    Ok(context.server.table.setsid(context.pid)? as usize)
}

pub fn sys_sysinfo(context: &mut Context<'_>, address: u64) -> Result<usize, Errno> {
    const CLOCK_BOOTTIME: i32 = 7;
    const PAGE: u64 = 4096;
    // Whole seconds rounded up, as Linux's do_sysinfo.
    let uptime = context.server.clocks.now(CLOCK_BOOTTIME).map_or(0, |time| {
        time.seconds.max(0) + i64::from(time.nanoseconds > 0)
    });
    let memory = context.server.objects.untyped.ram_bytes();
    let (untyped_total, untyped_free) = (memory.total, memory.free);
    let (_, free_frames) = context.server.objects.frames.counts();
    let free = untyped_free.saturating_add((free_frames as u64).saturating_mul(PAGE));
    let processes = context.server.threads.len().min(usize::from(u16::MAX)) as u64;
    // struct sysinfo on 64-bit Linux: 112 bytes.
    let mut words = [0u64; 14];
    words[0] = uptime as u64;
    words[4] = untyped_total; // totalram
    words[5] = free.min(untyped_total); // freeram
    words[10] = processes; // procs (u16) and padding
    words[13] = 1; // mem_unit (u32) and padding
    context.write_words(address, &words)?;
    Ok(0)
}

/// Whether `parent` has SIGCHLD ignored or SA_NOCLDWAIT set: its children are reaped
/// by the system at exit and never become waitable zombies.
pub fn parent_discards_children(server: &Server, parent: Pid) -> bool {
    const SIG_IGN: u64 = 1;
    server.processes.get(&parent).is_some_and(|process| {
        let action = process
            .actions
            .action(linux_personality::signal::Signal::SIGCHLD);
        action.handler == SIG_IGN
            || action.flags & linux_personality::signal::state::SA_NOCLDWAIT != 0
    })
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
                state:
                    ThreadState::Parked {
                        wait: wait @ (Wait::Child { .. } | Wait::ChildInfo { .. }),
                        ..
                    },
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
