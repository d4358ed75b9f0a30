//! `/proc`: the names below the `/proc` mount point, generated from the server's state
//! when opened. `path::locate` hands every path below `/proc` here (symlinks such as
//! `/dev/stdin` → `/proc/self/fd/0` included).
//!
//! Files: `/proc/meminfo`, and for `self` or a pid: `maps` (Linux's format through
//! linux-personality's `proc_maps`), `stat`, `status`, `cmdline`. Links: `self`, `exe`,
//! `fd/N` (opening one opens that file again, as Linux does). Directories are not
//! listable yet.
//!
//! `status` shows `State: T (stopped)` for a process held by a stop signal, as Linux
//! does, and after Linux's fields one `Sel4Thread:` line per thread (tid, then `running
//! pc X`, `held pc X` while stopped, or `parked WAIT at X` with the `svc` address), so a
//! process that makes no progress shows why.
//!
//! `/proc/meminfo` has Linux's `MemTotal`, `MemFree` (untyped RAM not yet retyped plus
//! retyped frames on the free list) and `MemAvailable`, then the process server's own
//! counters, so a leak shows as a number that does not come back (counts unless marked kB):
//! - `Sel4UntypedFree` (kB): untyped RAM not yet retyped into any object.
//! - `Sel4HeapFree` (kB): free bytes in the root task's heap (its Rust allocations:
//!   process, file, pipe and page bookkeeping).
//! - `Sel4CapSlotsFree`, `Sel4CapSlotsUsed`: slots of the root task's CSpace made
//!   available so far (free list plus the unused rest of the current leaf), and the others.
//! - `Sel4CapSlotsLive`: used slots less those holding objects on the free lists (each
//!   holds one): the caps of live objects, mappings and saved replies.
//! - `Sel4CSpaceLeaves`: leaf CNodes of that CSpace (4096 slots each).
//! - `Sel4Tcbs`, `Sel4VSpaces`, `Sel4PageTables`, `Sel4ProcessCNodes`: objects retyped and
//!   not on the server's free list (page tables of every level; process CNodes are the
//!   two-slot CSpaces of Linux threads).
//! - `Sel4TcbsFree`, `Sel4VSpacesFree`, `Sel4PageTablesFree`, `Sel4ProcessCNodesFree`:
//!   objects on the server's free lists (retyped, kept for reuse).
//! - `Sel4WindowPageTables`: page tables mapping the root task's frame window, which grow
//!   with the frames ever retyped and are never freed (so not part of a leak check).
//! - `Sel4Endpoints`, `Sel4Notifications`: retyped endpoints and notifications (never freed).
//! - `Sel4Frames`, `Sel4FramesFree`: 4 KiB frames mapped or held somewhere, and retyped
//!   frames on the free list.
//! - `Sel4Processes`, `Sel4Threads`: live processes and threads (a zombie is only an
//!   entry of the process table, holding no kernel object).
//!
//! A leak check (tests/programs/soak.c, the soak benchmark) compares the lines before and
//! after: the in-use counts and `Sel4CapSlotsLive` must be equal. A free list may grow
//! legitimately (a randomized stack that straddles one more page table than before raises
//! the page-table free list's high-water mark); then, and only then, the memory and slot
//! lines that follow from it (`MemFree`, `MemAvailable`, `Sel4UntypedFree`,
//! `Sel4CapSlotsFree`/`Used`, `Sel4CSpaceLeaves`, `Sel4WindowPageTables`, the `*Free`
//! lines) may differ too.

use super::pipe::{self, Side};
use super::Context;
use crate::process::{Description, Pid, ThreadState};
use crate::server::Server;
use alloc::format;
use alloc::vec::Vec;
use linux_personality::fs::flags::{O_ACCMODE, O_CLOEXEC, O_DIRECTORY, O_LARGEFILE, SETFL_MASK};
use linux_personality::fs::inode::DeviceNumber;
use linux_personality::fs::{
    ops, CloseOnExec, Identity, InodeId, MapsRecord, OpenRequest, Stat, Timespec,
};
use linux_personality::process::LifeState;
use linux_personality::vma::{Sharing, VmaKind};
use linux_personality::{Errno, FileId};

/// `st_dev` of `/proc` files (Linux's procfs is an anonymous device).
const PROC_DEVICE: (u32, u32) = (0, 22);
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFDIR: u32 = 0o040_000;
/// How deep the search for a file's path goes.
const PATH_SEARCH_DEPTH: usize = 32;
/// Pages, for `meminfo`.
const PAGE_SIZE: u64 = 4096;

/// A generated `/proc` file, open.
#[derive(Clone, Debug)]
pub struct ProcFile {
    pub content: Vec<u8>,
    pub offset: u64,
    pub status_flags: u32,
    /// A made-up inode number, stable for the name within a process.
    pub inode: u64,
}

impl ProcFile {
    /// Reads at `offset` (the file's own when `None`, advancing it).
    pub fn read(&mut self, count: usize, offset: Option<i64>) -> Result<Vec<u8>, Errno> {
        let start = match offset {
            Some(offset) => u64::try_from(offset).map_err(|_| Errno::EINVAL)?,
            None => self.offset,
        };
        let start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.content.len());
        let end = start.saturating_add(count).min(self.content.len());
        let data = self.content.get(start..end).unwrap_or_default().to_vec();
        if offset.is_none() {
            self.offset = end as u64;
        }
        Ok(data)
    }

    /// `lseek`.
    ///
    /// # Errors
    /// `EINVAL` for a bad whence or a negative result.
    pub fn seek(&mut self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let base = match whence {
            0 => 0,
            1 => i64::try_from(self.offset).map_err(|_| Errno::EINVAL)?,
            2 => i64::try_from(self.content.len()).map_err(|_| Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        let target = base.checked_add(offset).ok_or(Errno::EINVAL)?;
        self.offset = u64::try_from(target).map_err(|_| Errno::EINVAL)?;
        Ok(self.offset)
    }

    /// `F_GETFL`.
    pub fn file_status(&self) -> u32 {
        self.status_flags | O_LARGEFILE
    }

    /// `F_SETFL`.
    pub fn set_file_status(&mut self, flags: u32) {
        self.status_flags = (self.status_flags & !SETFL_MASK) | (flags & SETFL_MASK);
    }

    /// `fstat`: a read-only regular file of size 0, as procfs reports.
    pub fn stat(&self, now: Timespec) -> Stat {
        proc_stat(self.inode, S_IFREG | 0o444, now)
    }
}

/// The `cmdline` bytes of an argv.
pub fn command_line(arguments: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for argument in arguments {
        bytes.extend_from_slice(argument);
        bytes.push(0);
    }
    bytes
}

/// What a name below `/proc` is.
enum Node {
    /// `/proc/<pid>` (or `self` followed).
    ProcessDirectory(Pid),
    /// `/proc/self`.
    SelfLink,
    /// `/proc/<pid>/fd`.
    FdDirectory(Pid),
    /// `/proc/<pid>/exe`.
    Executable(Pid),
    /// `/proc/<pid>/fd/N`.
    Descriptor(Pid, u32),
    /// A generated file.
    File(Generated),
}

#[derive(Clone, Copy)]
enum Generated {
    Maps(Pid),
    Stat(Pid),
    Status(Pid),
    CommandLine(Pid),
    MemoryInformation,
}

impl Generated {
    fn inode(self) -> u64 {
        let (pid, kind) = match self {
            Generated::Maps(pid) => (pid, 1),
            Generated::Stat(pid) => (pid, 2),
            Generated::Status(pid) => (pid, 3),
            Generated::CommandLine(pid) => (pid, 4),
            Generated::MemoryInformation => (0, 5),
        };
        (u64::from(pid) << 8) | kind
    }
}

/// Parses a path below `/proc` (relative, no leading slash).
fn parse(context: &Context<'_>, remainder: &[u8]) -> Result<Node, Errno> {
    let mut parts = remainder
        .split(|byte| *byte == b'/')
        .filter(|part| !part.is_empty() && *part != b".");
    let Some(first) = parts.next() else {
        return Err(Errno::ENOENT);
    };
    let pid = match first {
        b"meminfo" => {
            return match parts.next() {
                None => Ok(Node::File(Generated::MemoryInformation)),
                Some(_) => Err(Errno::ENOTDIR),
            }
        }
        b"self" => context.pid,
        digits => parse_pid(digits).ok_or(Errno::ENOENT)?,
    };
    if !context.server.processes.contains_key(&pid)
        && context
            .server
            .table
            .get(pid)
            .is_none_or(|process| process.pid != pid)
    {
        return Err(Errno::ENOENT);
    }
    let Some(second) = parts.next() else {
        return Ok(if first == b"self" {
            Node::SelfLink
        } else {
            Node::ProcessDirectory(pid)
        });
    };
    let node = match second {
        b"maps" => Node::File(Generated::Maps(pid)),
        b"stat" => Node::File(Generated::Stat(pid)),
        b"status" => Node::File(Generated::Status(pid)),
        b"cmdline" => Node::File(Generated::CommandLine(pid)),
        b"exe" => Node::Executable(pid),
        b"fd" => match parts.next() {
            None => Node::FdDirectory(pid),
            Some(number) => {
                let fd = parse_pid(number).ok_or(Errno::ENOENT)?;
                let process = context.server.processes.get(&pid).ok_or(Errno::ENOENT)?;
                process.files.get(fd).map_err(|_| Errno::ENOENT)?;
                Node::Descriptor(pid, fd)
            }
        },
        _ => return Err(Errno::ENOENT),
    };
    match parts.next() {
        None => Ok(node),
        Some(_) => Err(Errno::ENOTDIR),
    }
}

fn parse_pid(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    core::str::from_utf8(digits).ok()?.parse().ok()
}

/// Opens a name below `/proc`; returns the new descriptor.
///
/// # Errors
/// `ENOENT`, `ENOTDIR`; `EACCES` for writing a generated file; `EISDIR`/`ENOTSUP`
/// for directories (not listable yet).
pub fn open(context: &mut Context<'_>, remainder: &[u8], flags: u32) -> Result<usize, Errno> {
    let close_on_exec = CloseOnExec::from_open_flags(flags);
    match parse(context, remainder)? {
        Node::File(generated) => {
            if flags & O_ACCMODE != 0 {
                return Err(Errno::EACCES);
            }
            if flags & O_DIRECTORY != 0 {
                return Err(Errno::ENOTDIR);
            }
            let content = generate(context.server, generated)?;
            let file = ProcFile {
                content,
                offset: 0,
                status_flags: flags & SETFL_MASK,
                inode: generated.inode(),
            };
            install(context, Description::Proc(file), close_on_exec)
        }
        Node::Executable(pid) => {
            let path = context
                .server
                .processes
                .get(&pid)
                .ok_or(Errno::ENOENT)?
                .executable
                .clone();
            let cwd = context.process()?.cwd;
            let umask = context.process()?.umask;
            let time = super::fs::now(context);
            let file = ops::open(
                &mut context.server.fs,
                &Identity::ROOT,
                cwd,
                &path,
                OpenRequest {
                    flags,
                    mode: 0,
                    umask,
                },
                time,
            )?;
            super::fs::install(context, file, close_on_exec)
        }
        Node::Descriptor(pid, fd) => reopen(context, pid, fd, flags),
        // Directory listings of /proc are not generated yet.
        Node::ProcessDirectory(_) | Node::SelfLink | Node::FdDirectory(_) => Err(Errno::ENOTSUP),
    }
}

fn install(
    context: &mut Context<'_>,
    description: Description,
    close_on_exec: CloseOnExec,
) -> Result<usize, Errno> {
    let server = &mut *context.server;
    let id = server.open_files.insert(description)?;
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    match process.files.install(id, close_on_exec) {
        Ok(fd) => Ok(fd as usize),
        Err(error) => {
            server.release_description(id);
            Err(error)
        }
    }
}

/// Opening `/proc/<pid>/fd/N`: a new description of the same file (a pipe: the end the
/// access mode asks for).
fn reopen(context: &mut Context<'_>, pid: Pid, fd: u32, flags: u32) -> Result<usize, Errno> {
    let close_on_exec = CloseOnExec::from_open_flags(flags);
    let id = context
        .server
        .processes
        .get(&pid)
        .ok_or(Errno::ENOENT)?
        .files
        .get(fd)
        .map_err(|_| Errno::ENOENT)?
        .file;
    match context.server.open_files.get(id)?.clone() {
        Description::File(file) => {
            let path = path_of_inode(&context.server.fs, file.inode).ok_or(Errno::ENOENT)?;
            let root = context.server.fs.root();
            let umask = context.process()?.umask;
            let time = super::fs::now(context);
            let reopened = ops::open(
                &mut context.server.fs,
                &Identity::ROOT,
                root,
                &path,
                OpenRequest {
                    flags: flags & !O_CLOEXEC,
                    mode: 0,
                    umask,
                },
                time,
            )?;
            super::fs::install(context, reopened, close_on_exec)
        }
        Description::Pipe(end) => {
            let side = match flags & O_ACCMODE {
                0 => Side::Read,
                1 => Side::Write,
                // One description is one end here; Linux's read-write FIFO open is not.
                _ => return Err(Errno::EINVAL),
            };
            let end = pipe::reopen_end(context.server, pipe::PipeEnd { side, ..end }, flags)?;
            pipe::install_end(context, end, close_on_exec).map(|fd| fd as usize)
        }
        Description::Proc(file) => {
            let file = ProcFile { offset: 0, ..file };
            install(context, Description::Proc(file), close_on_exec)
        }
    }
}

/// `readlink` of a name below `/proc`.
///
/// # Errors
/// `ENOENT`; `EINVAL` if it is not a link.
pub fn readlink(context: &mut Context<'_>, remainder: &[u8]) -> Result<Vec<u8>, Errno> {
    match parse(context, remainder)? {
        Node::SelfLink => Ok(format!("{}", context.pid).into_bytes()),
        Node::Executable(pid) => Ok(context
            .server
            .processes
            .get(&pid)
            .ok_or(Errno::ENOENT)?
            .executable
            .clone()),
        Node::Descriptor(pid, fd) => {
            let process = context.server.processes.get(&pid).ok_or(Errno::ENOENT)?;
            let id = process.files.get(fd).map_err(|_| Errno::ENOENT)?.file;
            Ok(match context.server.open_files.get(id)? {
                Description::File(file) => {
                    path_of_inode(&context.server.fs, file.inode).ok_or(Errno::ENOENT)?
                }
                Description::Pipe(end) => format!("pipe:[{}]", end.pipe.0).into_bytes(),
                Description::Proc(file) => format!("/proc/[{}]", file.inode).into_bytes(),
            })
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `stat` of a name below `/proc` (links followed unless `follow` is `NoFollow`).
///
/// # Errors
/// `ENOENT`, `ENOTDIR`.
pub fn stat(
    context: &mut Context<'_>,
    remainder: &[u8],
    follow: linux_personality::fs::Follow,
) -> Result<Stat, Errno> {
    let now = super::fs::now(context);
    let node = parse(context, remainder)?;
    let link_inode = |pid: Pid, kind: u64| (u64::from(pid) << 8) | kind;
    Ok(match node {
        Node::File(generated) => proc_stat(generated.inode(), S_IFREG | 0o444, now),
        Node::ProcessDirectory(pid) => proc_stat(link_inode(pid, 6), S_IFDIR | 0o555, now),
        Node::FdDirectory(pid) => proc_stat(link_inode(pid, 7), S_IFDIR | 0o500, now),
        Node::SelfLink if follow == linux_personality::fs::Follow::Follow => {
            proc_stat(link_inode(context.pid, 6), S_IFDIR | 0o555, now)
        }
        Node::SelfLink => proc_stat(8, S_IFLNK | 0o777, now),
        Node::Executable(pid) | Node::Descriptor(pid, _)
            if follow == linux_personality::fs::Follow::NoFollow =>
        {
            proc_stat(link_inode(pid, 9), S_IFLNK | 0o777, now)
        }
        Node::Executable(pid) => {
            let path = context
                .server
                .processes
                .get(&pid)
                .ok_or(Errno::ENOENT)?
                .executable
                .clone();
            let cwd = context.process()?.cwd;
            ops::stat_path(&context.server.fs, &Identity::ROOT, cwd, &path, 0)?
        }
        Node::Descriptor(pid, fd) => {
            let process = context.server.processes.get(&pid).ok_or(Errno::ENOENT)?;
            let id = process.files.get(fd).map_err(|_| Errno::ENOENT)?.file;
            match context.server.open_files.get(id)? {
                Description::File(file) => ops::fstat(&context.server.fs, file.inode)?,
                Description::Pipe(end) => pipe::stat_end(*end, now),
                Description::Proc(file) => file.stat(now),
            }
        }
    })
}

fn proc_stat(inode: u64, mode: u32, now: Timespec) -> Stat {
    Stat {
        dev: DeviceNumber::new(PROC_DEVICE.0, PROC_DEVICE.1),
        ino: inode,
        mode,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: DeviceNumber::new(0, 0),
        size: 0,
        blksize: 1024,
        blocks: 0,
        atime: now,
        mtime: now,
        ctime: now,
        btime: now,
    }
}

/// The absolute path of an inode, found by searching the tree from the root (the
/// first name found for a file with several links); `None` if it has no name.
pub fn path_of_inode(fs: &linux_personality::fs::Fs, target: InodeId) -> Option<Vec<u8>> {
    if target == fs.root() {
        return Some(b"/".to_vec());
    }
    let mut path = Vec::new();
    if search(fs, fs.root(), target, &mut path, PATH_SEARCH_DEPTH) {
        Some(path)
    } else {
        None
    }
}

fn search(
    fs: &linux_personality::fs::Fs,
    directory: InodeId,
    target: InodeId,
    path: &mut Vec<u8>,
    depth: usize,
) -> bool {
    let Some(entries) = fs
        .inode(directory)
        .ok()
        .and_then(|inode| inode.as_directory())
    else {
        return false;
    };
    let length = path.len();
    for (_, entry) in entries.entries() {
        if entry.name == b"." || entry.name == b".." {
            continue;
        }
        path.push(b'/');
        path.extend_from_slice(&entry.name);
        if entry.inode == target {
            return true;
        }
        if depth > 0 && search(fs, entry.inode, target, path, depth - 1) {
            return true;
        }
        path.truncate(length);
    }
    false
}

// -------------------------------------------------------------------------------------
// Generated contents
// -------------------------------------------------------------------------------------

fn generate(server: &Server, generated: Generated) -> Result<Vec<u8>, Errno> {
    match generated {
        Generated::Maps(pid) => maps(server, pid),
        Generated::Stat(pid) => process_stat(server, pid),
        Generated::Status(pid) => status(server, pid),
        Generated::CommandLine(pid) => Ok(server
            .processes
            .get(&pid)
            .map(|process| process.command_line.clone())
            .unwrap_or_default()),
        Generated::MemoryInformation => Ok(memory_information(server)),
    }
}

fn maps(server: &Server, pid: Pid) -> Result<Vec<u8>, Errno> {
    // A zombie has no memory: an empty file, as Linux gives.
    let Some(process) = server.processes.get(&pid) else {
        return Ok(Vec::new());
    };
    let device = server.fs.device();
    let mut text = Vec::new();
    for vma in process.space.areas.iter() {
        let path = match vma.kind {
            VmaKind::File {
                file: FileId(inode),
                ..
            } => path_of_inode(&server.fs, InodeId(inode)),
            _ => None,
        };
        let inode = match vma.kind {
            VmaKind::File { file, .. } => file.0,
            _ => 0,
        };
        let mut vma = *vma;
        if matches!(vma.kind, VmaKind::Vdso | VmaKind::Vvar) {
            // Shared here so fork keeps the frames, but private as Linux shows them.
            vma.sharing = Sharing::Private;
        }
        let record = MapsRecord {
            vma,
            device,
            inode,
            path: path.as_deref(),
        };
        linux_personality::fs::format_maps_line(&record, &mut text);
    }
    Ok(text)
}

/// The one-letter state `stat` and `status` show.
fn state_letter(server: &Server, pid: Pid) -> (u8, &'static str) {
    if let Some(LifeState::Zombie(_)) = server.table.get(pid).map(|process| process.state) {
        return (b'Z', "zombie");
    }
    let Some(process) = server.processes.get(&pid) else {
        return (b'X', "dead");
    };
    if process.stopped.is_some() {
        return (b'T', "stopped");
    }
    let running = process.threads.iter().any(|tid| {
        server
            .threads
            .get(tid)
            .is_some_and(|thread| thread.state == ThreadState::Running)
    });
    if running {
        (b'R', "running")
    } else {
        (b'S', "sleeping")
    }
}

/// The command name: the executable's last component, at most 15 bytes (TASK_COMM_LEN).
fn command_name(server: &Server, pid: Pid) -> Vec<u8> {
    let path = server
        .processes
        .get(&pid)
        .map(|process| process.executable.as_slice())
        .unwrap_or_default();
    let name = path.rsplit(|byte| *byte == b'/').next().unwrap_or_default();
    name.get(..name.len().min(15)).unwrap_or_default().to_vec()
}

fn process_stat(server: &Server, pid: Pid) -> Result<Vec<u8>, Errno> {
    let entry = server.table.get(pid).ok_or(Errno::ENOENT)?;
    let (state, _) = state_letter(server, pid);
    let process = server.processes.get(&pid);
    let threads = process.map_or(0, |process| process.threads.len()).max(1);
    let virtual_size: u64 = process.map_or(0, |process| {
        process
            .space
            .areas
            .iter()
            .map(|vma| vma.end.saturating_sub(vma.start))
            .sum()
    });
    let resident = process.map_or(0, |process| process.space.resident_pages());
    let heap_start = process.map_or(0, |process| process.heap.start);
    let stack_start = process
        .and_then(|process| {
            process
                .space
                .areas
                .iter()
                .find(|vma| vma.kind == VmaKind::Stack)
                .map(|vma| vma.end)
        })
        .unwrap_or(0);
    let (faults, times) = crate::linux::usage::stat_fields(server, pid);
    let mut text = Vec::new();
    text.extend_from_slice(format!("{pid} (").as_bytes());
    text.extend_from_slice(&command_name(server, pid));
    // Fields 3..52 of proc(5): state ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
    // starttime vsize rss rsslim startcode endcode startstack kstkesp kstkeip signal
    // blocked sigignore sigcatch wchan nswap cnswap exit_signal processor rt_priority
    // policy delayacct_blkio_ticks guest_time cguest_time start_data end_data start_brk
    // arg_start arg_end env_start env_end exit_code.
    text.extend_from_slice(
        format!(
            ") {} {} {} {} 0 -1 4194304 {faults} {times} 20 0 {threads} 0 0 {virtual_size} \
             {resident} 18446744073709551615 0 0 {stack_start} 0 0 0 0 0 0 0 0 0 {} 0 0 0 0 0 \
             0 0 0 {heap_start} 0 0 0 0 0\n",
            state as char, entry.parent, entry.pgid, entry.sid, entry.exit_signal
        )
        .as_bytes(),
    );
    Ok(text)
}

fn status(server: &Server, pid: Pid) -> Result<Vec<u8>, Errno> {
    let entry = server.table.get(pid).ok_or(Errno::ENOENT)?;
    let (letter, word) = state_letter(server, pid);
    let threads = server
        .processes
        .get(&pid)
        .map_or(0, |process| process.threads.len())
        .max(1);
    let mut text = b"Name:\t".to_vec();
    text.extend_from_slice(&command_name(server, pid));
    text.extend_from_slice(
        format!(
            "\nState:\t{} ({word})\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n\
             Threads:\t{threads}\n",
            letter as char,
            entry.parent,
            uid = entry.uid,
        )
        .as_bytes(),
    );
    thread_states(server, pid, &mut text);
    Ok(text)
}

/// One `Sel4Thread:` line per thread of `pid` (not a Linux field): its id and where the
/// server has it, so a process that makes no progress can be told apart (a call parked
/// on a wait, held by a stop, or running user code at the pc shown).
fn thread_states(server: &Server, pid: Pid, text: &mut Vec<u8>) {
    let Some(process) = server.processes.get(&pid) else {
        return;
    };
    for tid in &process.threads {
        let Some(thread) = server.threads.get(tid) else {
            continue;
        };
        let held = process
            .stopped
            .as_ref()
            .is_some_and(|held| held.contains(tid));
        let line = match thread.state {
            ThreadState::Running => {
                let tcb: sel4::Cap<sel4::cap_type::Tcb> = sel4::Cap::from_bits(thread.tcb);
                let pc = tcb
                    .tcb_read_registers(false)
                    .map_or(0, |context| context.pc);
                let how = if held { "held" } else { "running" };
                format!("Sel4Thread:\t{tid} {how} pc {pc:#x}\n")
            }
            ThreadState::Parked {
                wait, registers, ..
            } => format!(
                "Sel4Thread:\t{tid} parked {} at {:#x}\n",
                wait_name(&wait),
                registers[sel4::unknown_syscall::FAULT_IP]
            ),
        };
        text.extend_from_slice(line.as_bytes());
    }
}

/// The short name of a parked thread's wait.
fn wait_name(wait: &crate::process::Wait) -> &'static str {
    use crate::process::Wait;
    match wait {
        Wait::Child { .. } => "wait4",
        Wait::Signal => "sigsuspend",
        Wait::QueuedSignal { .. } => "sigtimedwait",
        Wait::ChildInfo { .. } => "waitid",
        Wait::Futex => "futex",
        Wait::Vfork { .. } => "vfork",
        Wait::Sleep { .. } => "sleep",
        Wait::CpuSleep { .. } => "cpu-sleep",
        Wait::ConsoleRead { .. } => "console-read",
        Wait::Io(_) => "io",
    }
}

fn memory_information(server: &Server) -> Vec<u8> {
    let memory = server.objects.untyped.ram_bytes();
    let (frames, free_frames) = server.objects.frames.counts();
    let free_kib = (memory.free + free_frames as u64 * PAGE_SIZE) / 1024;
    let _ = frames;
    let mut text = format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\n",
        memory.total / 1024,
        free_kib,
        free_kib
    );
    text.push_str(&server_counters(server));
    text.into_bytes()
}

/// The process server's own bookkeeping, one `Name: count` line each (counts, not kB):
/// what [`memory_information`] appends after Linux's lines.
fn server_counters(server: &Server) -> alloc::string::String {
    let slots = server.objects.cspace.slot_counts();
    let objects = server.objects.counts();
    // Every object on a free list holds one slot (its cap); the rest hold live objects.
    let free_listed = objects.free_frames
        + objects.free_tcbs
        + objects.free_vspaces
        + objects.free_page_tables
        + objects.free_cnodes;
    let rows: [(&str, u64); 21] = [
        (
            "UntypedFree",
            server.objects.untyped.ram_bytes().free / 1024,
        ),
        ("HeapFree", sel4_root_task::heap::free_bytes() as u64 / 1024),
        ("CapSlotsFree", slots.free),
        ("CapSlotsUsed", slots.used),
        ("CapSlotsLive", slots.used.saturating_sub(free_listed)),
        ("CSpaceLeaves", objects.cspace_leaves),
        ("Tcbs", objects.tcbs),
        ("Endpoints", objects.endpoints),
        ("Notifications", objects.notifications),
        ("VSpaces", objects.vspaces),
        ("PageTables", objects.page_tables),
        ("WindowPageTables", objects.window_page_tables),
        ("ProcessCNodes", objects.cnodes),
        ("Frames", objects.frames),
        ("FramesFree", objects.free_frames),
        ("TcbsFree", objects.free_tcbs),
        ("VSpacesFree", objects.free_vspaces),
        ("PageTablesFree", objects.free_page_tables),
        ("ProcessCNodesFree", objects.free_cnodes),
        ("Processes", server.processes.len() as u64),
        ("Threads", server.threads.len() as u64),
    ];
    let mut text = alloc::string::String::new();
    for (name, value) in rows {
        let unit = if name == "UntypedFree" || name == "HeapFree" {
            " kB"
        } else {
            ""
        };
        let label = format!("Sel4{name}:");
        text.push_str(&format!("{label:<16}{value:>8}{unit}\n"));
    }
    text
}
