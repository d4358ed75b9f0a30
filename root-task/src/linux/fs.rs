//! File system calls: descriptors over the in-memory file system (linux-personality's
//! `fs`), and the console, which is the kernel's debug output for now (stdin reads end of
//! file) until the PL011 driver serves it.

use super::pipe::{self, IoWait, PipeEnd, Progress, Vectored};
use super::procfs;
use super::{int_argument, Context};
use crate::process::Description;
use alloc::vec::Vec;
use linux_personality::fs::flags::{
    AT_FDCWD, AT_SYMLINK_NOFOLLOW, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL,
    O_CLOEXEC, O_NOFOLLOW, O_TRUNC,
};
use linux_personality::fs::inode::{CharacterDevice, Content};
use linux_personality::fs::path::{self, EmptyPath, Location};
use linux_personality::fs::{
    ops, CloseOnExec, Follow, Identity, InodeId, MountKind, OpenFile, OpenFileId, OpenRequest,
    SpecialFile, Transfer,
};
use linux_personality::Errno;

/// The most bytes one read or write moves (Linux's MAX_RW_COUNT is larger; programs loop).
const MAX_TRANSFER: usize = 1 << 20;
/// `IOV_MAX`.
const IOV_MAX: u64 = 1024;

/// `FIONREAD`, answered on pipes (the console answers its own ioctls).
const FIONREAD: u64 = 0x541b;
/// `fcntl` pipe-capacity commands (F_LINUX_SPECIFIC_BASE + 7, + 8).
const F_SETPIPE_SZ: u32 = 1031;
const F_GETPIPE_SZ: u32 = 1032;

/// The identity file permission checks use (every process runs as root for now).
const WHO: Identity = Identity::ROOT;

/// The description behind `fd`.
fn description(context: &mut Context<'_>, fd: u64) -> Result<OpenFileId, Errno> {
    let fd = u32::try_from(int_argument(fd)).map_err(|_| Errno::EBADF)?;
    Ok(context.process()?.files.get(fd)?.file)
}

pub fn now(context: &Context<'_>) -> linux_personality::fs::Timespec {
    let time = context.server.clocks.now(0).unwrap_or_default();
    linux_personality::fs::Timespec::new(time.seconds, time.nanoseconds as u32)
}

/// Where a `*at` call's path starts: the cwd, or the directory `dirfd` names.
/// The path at user address `path` and the directory it is relative to (`dirfd` or the
/// working directory), read in that order as Linux does for the *at() calls.
fn path_at(context: &mut Context<'_>, dirfd: u64, path: u64) -> Result<(Vec<u8>, InodeId), Errno> {
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
    Ok((path, start))
}

fn start_directory(context: &mut Context<'_>, dirfd: u64) -> Result<InodeId, Errno> {
    let dirfd = int_argument(dirfd);
    if dirfd == AT_FDCWD {
        return Ok(context.process()?.cwd);
    }
    let id = description(context, dirfd as u32 as u64)?;
    match context.server.open_files.get(id)? {
        Description::File(file) => Ok(file.inode),
        Description::Pipe(_) | Description::Proc(_) => Err(Errno::ENOTDIR),
    }
}

/// `Some(nonblocking)` if `id` is the console (`/dev/console`, `/dev/tty`, fds 0..2).
fn console_file(context: &mut Context<'_>, id: OpenFileId) -> Result<Option<bool>, Errno> {
    let Description::File(file) = context.server.open_files.get(id)? else {
        return Ok(None);
    };
    let nonblocking = file.file_status() & linux_personality::fs::flags::O_NONBLOCK != 0;
    Ok(match context.server.fs.inode(file.inode)?.content() {
        Content::CharacterDevice(device) if is_console(*device) => Some(nonblocking),
        _ => None,
    })
}

pub fn sys_read(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
) -> Result<usize, Errno> {
    let progress = read_call(context, fd, buffer, count, Vectored::Plain);
    pipe::finish(context, progress)
}

pub fn sys_pread64(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
    offset: u64,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let count = (count as usize).min(MAX_TRANSFER);
    match read_bytes(context, id, count, Some(offset as i64))? {
        ReadOutcome::Data(data) => {
            context.write_user(buffer, &data)?;
            Ok(data.len())
        }
        // Pipes refuse positional reads, so nothing else waits.
        ReadOutcome::WouldBlock => Err(Errno::ESPIPE),
    }
}

pub fn sys_write(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
) -> Result<usize, Errno> {
    let progress = write_call(context, fd, buffer, count, Vectored::Plain, 0);
    pipe::finish(context, progress)
}

pub fn sys_pwrite64(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
    offset: u64,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let data = context.read_user_vec(buffer, (count as usize).min(MAX_TRANSFER))?;
    write_bytes(context, id, &data, Some(offset as i64), 0, Vectored::Plain).and_then(|progress| {
        match progress {
            Progress::Done(done) => Ok(done),
            Progress::Block(_) => Err(Errno::ESPIPE),
        }
    })
}

pub fn sys_readv(context: &mut Context<'_>, fd: u64, iov: u64, count: u64) -> Result<usize, Errno> {
    let progress = read_call(context, fd, iov, count, Vectored::Vectored);
    pipe::finish(context, progress)
}

pub fn sys_writev(
    context: &mut Context<'_>,
    fd: u64,
    iov: u64,
    count: u64,
) -> Result<usize, Errno> {
    let progress = write_call(context, fd, iov, count, Vectored::Vectored, 0);
    pipe::finish(context, progress)
}

/// `read`/`readv` (as the arguments say): one transfer into the buffers, in order. Also
/// the retry of a parked read.
///
/// # Errors
/// As `read(2)`.
pub fn read_call(
    context: &mut Context<'_>,
    fd: u64,
    address: u64,
    count: u64,
    vectored: Vectored,
) -> Result<Progress, Errno> {
    let id = description(context, fd)?;
    if let Some(nonblocking) = console_file(context, id)? {
        // The console parks its own readers until the line discipline has data.
        let target = match vectored {
            Vectored::Plain => crate::console::ReadTarget::Buffer {
                address,
                length: count.min(MAX_TRANSFER as u64),
            },
            Vectored::Vectored => crate::console::ReadTarget::Vector { address, count },
        };
        return crate::console::read(context, target, nonblocking).map(Progress::Done);
    }
    let buffers = match vectored {
        Vectored::Plain => alloc::vec![(address, count as usize)],
        Vectored::Vectored => read_iovec(context, address, count)?,
    };
    let total = buffers
        .iter()
        .fold(0usize, |total, (_, length)| total.saturating_add(*length))
        .min(MAX_TRANSFER);
    match read_bytes(context, id, total, None)? {
        ReadOutcome::Data(data) => {
            let mut rest = &data[..];
            for (base, length) in buffers {
                if rest.is_empty() {
                    break;
                }
                let take = length.min(rest.len());
                context.write_user(base, &rest[..take])?;
                rest = &rest[take..];
            }
            Ok(Progress::Done(data.len()))
        }
        ReadOutcome::WouldBlock => Ok(Progress::Block(IoWait::Read { vectored })),
    }
}

/// `write`/`writev` (as the arguments say), `done` bytes of it already written: one
/// transfer from the buffers, in order. Also the retry of a parked write.
///
/// # Errors
/// As `write(2)`.
pub fn write_call(
    context: &mut Context<'_>,
    fd: u64,
    address: u64,
    count: u64,
    vectored: Vectored,
    done: usize,
) -> Result<Progress, Errno> {
    let id = description(context, fd)?;
    let buffers = match vectored {
        Vectored::Plain => alloc::vec![(address, count as usize)],
        Vectored::Vectored => read_iovec(context, address, count)?,
    };
    let total = buffers
        .iter()
        .fold(0usize, |total, (_, length)| total.saturating_add(*length))
        .min(MAX_TRANSFER);
    let mut data = Vec::new();
    let mut skip = done;
    let mut budget = total.saturating_sub(done);
    for (base, length) in buffers {
        if budget == 0 {
            break;
        }
        if skip >= length {
            skip -= length;
            continue;
        }
        let take = (length - skip).min(budget);
        let base = base.checked_add(skip as u64).ok_or(Errno::EFAULT)?;
        data.extend_from_slice(&context.read_user_vec(base, take)?);
        budget -= take;
        skip = 0;
    }
    write_bytes(context, id, &data, None, done, vectored)
}

/// The (base, length) pairs of an iovec array.
fn read_iovec(context: &mut Context<'_>, iov: u64, count: u64) -> Result<Vec<(u64, usize)>, Errno> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let bytes = context.read_user_vec(iov, (count * 16) as usize)?;
    let mut vectors = Vec::new();
    let mut total = 0u64;
    for pair in bytes.chunks_exact(16) {
        let mut base = [0u8; 8];
        let mut length = [0u8; 8];
        base.copy_from_slice(&pair[..8]);
        length.copy_from_slice(&pair[8..]);
        let length = u64::from_le_bytes(length);
        total = total
            .checked_add(length)
            .filter(|total| *total <= isize::MAX as u64)
            .ok_or(Errno::EINVAL)?;
        vectors.push((u64::from_le_bytes(base), length as usize));
    }
    Ok(vectors)
}

/// What a read of a description gave.
enum ReadOutcome {
    Data(Vec<u8>),
    WouldBlock,
}

fn read_bytes(
    context: &mut Context<'_>,
    id: OpenFileId,
    count: usize,
    offset: Option<i64>,
) -> Result<ReadOutcome, Errno> {
    let time = now(context);
    let server = &mut *context.server;
    // The file's bytes take in what shared mappings wrote (see shared_file).
    let mapped_inode = if server.objects.shared.has_file_objects() {
        match server.open_files.get(id) {
            Ok(Description::File(file)) => Some(file.inode),
            _ => None,
        }
    } else {
        None
    };
    if let Some(inode) = mapped_inode {
        crate::shared_file::flush(&server.objects, &mut server.fs, inode);
    }
    let file = match server.open_files.get_mut(id)? {
        Description::File(file) => file,
        Description::Pipe(end) => {
            if offset.is_some() {
                return Err(Errno::ESPIPE);
            }
            let end = *end;
            return Ok(match pipe::read_end(server, end, count)? {
                pipe::PipeReadOutcome::Data(data) => ReadOutcome::Data(data),
                pipe::PipeReadOutcome::WouldBlock => ReadOutcome::WouldBlock,
            });
        }
        Description::Proc(file) => return Ok(ReadOutcome::Data(file.read(count, offset)?)),
    };
    let mut data = alloc::vec![0u8; count];
    let transfer = match offset {
        None => ops::read(&mut server.fs, file, &mut data, &mut server.random, time)?,
        Some(offset) => ops::pread(
            &mut server.fs,
            file,
            &mut data,
            offset,
            &mut server.random,
            time,
        )?,
    };
    let done = match transfer {
        Transfer::Done(done) => done,
        Transfer::CallerHandles(special) => special_read(special, &mut data, &mut server.random)?,
    };
    data.truncate(done);
    Ok(ReadOutcome::Data(data))
}

fn write_bytes(
    context: &mut Context<'_>,
    id: OpenFileId,
    data: &[u8],
    offset: Option<i64>,
    done: usize,
    vectored: Vectored,
) -> Result<Progress, Errno> {
    if offset.is_none() && console_file(context, id)?.is_some() {
        let written = context.server.console.write(data);
        return Ok(Progress::Done(done.saturating_add(written)));
    }
    let time = now(context);
    let tid = context.tid;
    let server = &mut *context.server;
    // Shared mappings' writes reach the bytes first, and see this write after.
    let mapped_inode = if server.objects.shared.has_file_objects() {
        match server.open_files.get(id) {
            Ok(Description::File(file)) => Some(file.inode),
            _ => None,
        }
    } else {
        None
    };
    if let Some(inode) = mapped_inode {
        crate::shared_file::flush(&server.objects, &mut server.fs, inode);
    }
    let file = match server.open_files.get_mut(id)? {
        Description::File(file) => file,
        Description::Pipe(end) => {
            if offset.is_some() {
                return Err(Errno::ESPIPE);
            }
            let end = *end;
            let result = pipe::write_end(server, end, data, done, vectored);
            if result == Err(Errno::EPIPE) {
                // Linux sends the writer SIGPIPE as well as failing the write.
                let info = linux_personality::signal::SigInfo::kernel(
                    linux_personality::signal::Signal::SIGPIPE,
                );
                let _ = server.send_to_thread(tid, info);
            }
            return result;
        }
        // Opened read-only.
        Description::Proc(_) => return Err(Errno::EBADF),
    };
    let transfer = match offset {
        None => ops::write(&mut server.fs, file, data, time)?,
        Some(offset) => ops::pwrite(&mut server.fs, file, data, offset, time)?,
    };
    let written = match transfer {
        Transfer::Done(written) => written,
        Transfer::CallerHandles(special) => special_write(special, data)?,
    };
    if let Some(inode) = mapped_inode {
        crate::shared_file::refresh(&server.objects, &server.fs, inode);
    }
    Ok(Progress::Done(done.saturating_add(written)))
}

fn special_read(
    special: SpecialFile,
    data: &mut [u8],
    random: &mut crate::random::Random,
) -> Result<usize, Errno> {
    match special {
        SpecialFile::CharacterDevice(device) => match device.read(data, random) {
            Some(done) => Ok(done),
            // The console has no input yet: end of file.
            None if is_console(device) => Ok(0),
            None => Err(Errno::ENXIO),
        },
        _ => Err(Errno::ENXIO),
    }
}

fn special_write(special: SpecialFile, data: &[u8]) -> Result<usize, Errno> {
    match special {
        SpecialFile::CharacterDevice(device) => match device.write(data.len()) {
            Some(done) => Ok(done),
            None if is_console(device) => {
                for byte in data {
                    sel4::syscall::debug_put_char(*byte);
                }
                Ok(data.len())
            }
            None => Err(Errno::ENXIO),
        },
        _ => Err(Errno::ENXIO),
    }
}

fn is_console(device: CharacterDevice) -> bool {
    matches!(device, CharacterDevice::Console | CharacterDevice::Tty)
}

pub fn sys_openat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    flags: u64,
    mode: u64,
) -> Result<usize, Errno> {
    let (path, start) = path_at(context, dirfd, path)?;
    let umask = context.process()?.umask;
    let time = now(context);
    let flags = flags as u32;
    if let Some(remainder) = proc_remainder(context, start, &path, follow_for_open(flags)) {
        return procfs::open(context, &remainder, flags);
    }
    let file = ops::open(
        &mut context.server.fs,
        &WHO,
        start,
        &path,
        OpenRequest {
            flags,
            mode: mode as u32,
            umask,
        },
        time,
    )?;
    if flags & O_TRUNC != 0 {
        crate::shared_file::truncated(context.server, file.inode);
    }
    install(context, file, CloseOnExec::from_open_flags(flags))
}

/// `O_NOFOLLOW` as path resolution takes it.
fn follow_for_open(flags: u32) -> Follow {
    if flags & O_NOFOLLOW != 0 {
        Follow::NoFollow
    } else {
        Follow::Follow
    }
}

/// `AT_SYMLINK_NOFOLLOW` as path resolution takes it.
fn follow_for_at(flags: u64) -> Follow {
    if flags & u64::from(AT_SYMLINK_NOFOLLOW) != 0 {
        Follow::NoFollow
    } else {
        Follow::Follow
    }
}

/// The part of `path` below `/proc` if it leads there (the `/proc` mount hook);
/// `None` for everything else, including paths that fail to resolve, whose error the
/// ordinary file-system call reports.
fn proc_remainder(
    context: &Context<'_>,
    start: InodeId,
    path: &[u8],
    follow: Follow,
) -> Option<Vec<u8>> {
    match path::locate(
        &context.server.fs,
        &WHO,
        start,
        path,
        follow,
        EmptyPath::Refuse,
    ) {
        Ok(Location::Mounted {
            mount: MountKind::Proc,
            remainder,
            ..
        }) => Some(remainder),
        _ => None,
    }
}

/// Installs an open file as a new descriptor of the caller.
pub fn install(
    context: &mut Context<'_>,
    file: OpenFile,
    close_on_exec: CloseOnExec,
) -> Result<usize, Errno> {
    let server = &mut *context.server;
    let id = match server.open_files.insert(Description::File(file.clone())) {
        Ok(id) => id,
        Err(error) => {
            ops::close(&mut server.fs, &file);
            return Err(error);
        }
    };
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    match process.files.install(id, close_on_exec) {
        Ok(fd) => Ok(fd as usize),
        Err(error) => {
            server.release_description(id);
            Err(error)
        }
    }
}

pub fn sys_close(context: &mut Context<'_>, fd: u64) -> Result<usize, Errno> {
    let fd = u32::try_from(int_argument(fd)).map_err(|_| Errno::EBADF)?;
    let id = context.process()?.files.close(fd)?;
    context.server.release_description(id);
    Ok(0)
}

pub fn sys_lseek(
    context: &mut Context<'_>,
    fd: u64,
    offset: u64,
    whence: u64,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let server = &mut *context.server;
    let file = match server.open_files.get_mut(id)? {
        Description::File(file) => file,
        Description::Pipe(_) => return Err(Errno::ESPIPE),
        Description::Proc(file) => return Ok(file.seek(offset as i64, whence as u32)? as usize),
    };
    if let Content::CharacterDevice(_) = server.fs.inode(file.inode)?.content() {
        // Linux's console and memory devices accept any seek and report 0.
        return Ok(0);
    }
    Ok(ops::lseek(&server.fs, file, offset as i64, whence as u32)? as usize)
}

pub fn sys_fstat(context: &mut Context<'_>, fd: u64, buffer: u64) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let stat = match context.server.open_files.get(id)? {
        Description::File(file) => ops::fstat(&context.server.fs, file.inode)?,
        Description::Pipe(end) => pipe::stat_end(*end, now(context)),
        Description::Proc(file) => file.stat(now(context)),
    };
    context.write_user(buffer, &stat.to_bytes())?;
    Ok(0)
}

pub fn sys_newfstatat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    buffer: u64,
    flags: u64,
) -> Result<usize, Errno> {
    let (path, start) = path_at(context, dirfd, path)?;
    let stat = match proc_remainder(context, start, &path, follow_for_at(flags)) {
        Some(remainder) => procfs::stat(context, &remainder, follow_for_at(flags))?,
        None => ops::stat_path(&context.server.fs, &WHO, start, &path, flags as u32)?,
    };
    context.write_user(buffer, &stat.to_bytes())?;
    Ok(0)
}

pub fn sys_getdents64(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let mut data = alloc::vec![0u8; (count as usize).min(MAX_TRANSFER)];
    let server = &mut *context.server;
    let Description::File(file) = server.open_files.get_mut(id)? else {
        return Err(Errno::ENOTDIR);
    };
    let done = ops::getdents64(&server.fs, file, &mut data)?;
    context.write_user(buffer, &data[..done.min(data.len())])?;
    Ok(done)
}

pub fn sys_ioctl(
    context: &mut Context<'_>,
    fd: u64,
    request: u64,
    argument: u64,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let file = match context.server.open_files.get(id)? {
        Description::File(file) => file,
        Description::Pipe(end) => {
            let end = *end;
            return pipe_ioctl(context, end, request, argument);
        }
        Description::Proc(_) => return Err(Errno::ENOTTY),
    };
    let is_terminal = matches!(
        context.server.fs.inode(file.inode)?.content(),
        Content::CharacterDevice(device) if is_console(*device)
    );
    if !is_terminal {
        return Err(Errno::ENOTTY);
    }
    crate::console::ioctl(context, request, argument)
}

/// `ioctl` on a pipe: `FIONREAD` (bytes waiting, as an `int`).
fn pipe_ioctl(
    context: &mut Context<'_>,
    end: PipeEnd,
    request: u64,
    argument: u64,
) -> Result<usize, Errno> {
    match request & 0xffff_ffff {
        FIONREAD => {
            let available = pipe::bytes_available(context.server, end)?;
            let available = i32::try_from(available).unwrap_or(i32::MAX);
            context.write_user(argument, &available.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

pub fn sys_fcntl(
    context: &mut Context<'_>,
    fd: u64,
    command: u64,
    argument: u64,
) -> Result<usize, Errno> {
    let descriptor_number = u32::try_from(int_argument(fd)).map_err(|_| Errno::EBADF)?;
    let descriptor = context.process()?.files.get(descriptor_number)?;
    match command as u32 {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let close_on_exec = if command as u32 == F_DUPFD_CLOEXEC {
                CloseOnExec::Close
            } else {
                CloseOnExec::Keep
            };
            let minimum = u32::try_from(int_argument(argument)).map_err(|_| Errno::EINVAL)?;
            context.server.open_files.retain(descriptor.file)?;
            let installed =
                context
                    .process()?
                    .files
                    .install_from(minimum, descriptor.file, close_on_exec);
            match installed {
                Ok(fd) => Ok(fd as usize),
                Err(error) => {
                    context.server.release_description(descriptor.file);
                    Err(error)
                }
            }
        }
        F_GETFD => Ok(descriptor.close_on_exec.descriptor_flags() as usize),
        F_SETFD => {
            let close_on_exec = if argument & 1 != 0 {
                CloseOnExec::Close
            } else {
                CloseOnExec::Keep
            };
            context
                .process()?
                .files
                .set_close_on_exec(descriptor_number, close_on_exec)?;
            Ok(0)
        }
        F_GETFL => match context.server.open_files.get(descriptor.file)? {
            Description::File(file) => Ok(file.file_status() as usize),
            Description::Pipe(end) => Ok(end.file_status() as usize),
            Description::Proc(file) => Ok(file.file_status() as usize),
        },
        F_SETFL => {
            match context.server.open_files.get_mut(descriptor.file)? {
                Description::File(file) => file.set_file_status(argument as u32),
                Description::Pipe(end) => end.set_file_status(argument as u32),
                Description::Proc(file) => file.set_file_status(argument as u32),
            }
            Ok(0)
        }
        F_GETPIPE_SZ | F_SETPIPE_SZ => {
            let Description::Pipe(end) = context.server.open_files.get(descriptor.file)? else {
                return Err(Errno::EBADF);
            };
            let end = *end;
            if command as u32 == F_GETPIPE_SZ {
                pipe::capacity(context.server, end)
            } else {
                pipe::set_capacity(context.server, end, u64::from(argument as u32))
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_dup(context: &mut Context<'_>, fd: u64) -> Result<usize, Errno> {
    let fd = u32::try_from(int_argument(fd)).map_err(|_| Errno::EBADF)?;
    let file = context.process()?.files.get(fd)?.file;
    context.server.open_files.retain(file)?;
    match context.process()?.files.install(file, CloseOnExec::Keep) {
        Ok(new) => Ok(new as usize),
        Err(error) => {
            context.server.release_description(file);
            Err(error)
        }
    }
}

pub fn sys_dup3(context: &mut Context<'_>, old: u64, new: u64, flags: u64) -> Result<usize, Errno> {
    let old = u32::try_from(int_argument(old)).map_err(|_| Errno::EBADF)?;
    let new = u32::try_from(int_argument(new)).map_err(|_| Errno::EBADF)?;
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if old == new {
        return Err(Errno::EINVAL);
    }
    let file = context.process()?.files.get(old)?.file;
    context.server.open_files.retain(file)?;
    let result = context.process()?.files.dup3(old, new, flags as u32);
    match result {
        Ok((fd, replaced)) => {
            // The new descriptor holds the reference taken above.
            if let Some(replaced) = replaced {
                context.server.release_description(replaced);
            }
            Ok(fd as usize)
        }
        Err(error) => {
            context.server.release_description(file);
            Err(error)
        }
    }
}

pub fn sys_getcwd(context: &mut Context<'_>, buffer: u64, size: u64) -> Result<usize, Errno> {
    let cwd = context.process()?.cwd;
    let mut path = ops::getcwd(&context.server.fs, cwd)?;
    path.push(0);
    if path.len() as u64 > size {
        return Err(Errno::ERANGE);
    }
    context.write_user(buffer, &path)?;
    Ok(path.len())
}

pub fn sys_chdir(context: &mut Context<'_>, path: u64) -> Result<usize, Errno> {
    let path = context.read_path(path)?;
    let cwd = context.process()?.cwd;
    let target = ops::chdir(&context.server.fs, &WHO, cwd, &path)?;
    context.process()?.cwd = target;
    Ok(0)
}

pub fn sys_faccessat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    mode: u64,
    flags: u64,
) -> Result<usize, Errno> {
    let (path, start) = path_at(context, dirfd, path)?;
    ops::access(
        &context.server.fs,
        &WHO,
        start,
        &path,
        mode as u32,
        flags as u32,
    )?;
    Ok(0)
}

pub fn sys_readlinkat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    buffer: u64,
    size: u64,
) -> Result<usize, Errno> {
    if int_argument(size) <= 0 {
        return Err(Errno::EINVAL);
    }
    let (path, start) = path_at(context, dirfd, path)?;
    let target = match proc_remainder(context, start, &path, Follow::NoFollow) {
        Some(remainder) => procfs::readlink(context, &remainder)?,
        None => ops::readlink(&context.server.fs, &WHO, start, &path)?,
    };
    let length = target.len().min(size as usize);
    context.write_user(buffer, &target[..length])?;
    Ok(length)
}

pub fn sys_mkdirat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    mode: u64,
) -> Result<usize, Errno> {
    let (path, start) = path_at(context, dirfd, path)?;
    let umask = context.process()?.umask;
    let time = now(context);
    ops::mkdir(
        &mut context.server.fs,
        &WHO,
        start,
        &path,
        mode as u32,
        umask,
        time,
    )?;
    Ok(0)
}

pub fn sys_unlinkat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    flags: u64,
) -> Result<usize, Errno> {
    let (path, start) = path_at(context, dirfd, path)?;
    let time = now(context);
    ops::unlinkat(
        &mut context.server.fs,
        &WHO,
        start,
        &path,
        flags as u32,
        time,
    )?;
    Ok(0)
}

pub fn sys_umask(context: &mut Context<'_>, mask: u64) -> Result<usize, Errno> {
    let process = context.process()?;
    let old = process.umask;
    process.umask = (mask as u32) & 0o777;
    Ok(old as usize)
}

pub fn sys_symlinkat(
    context: &mut Context<'_>,
    target: u64,
    dirfd: u64,
    path: u64,
) -> Result<usize, Errno> {
    let target = context.read_path(target)?;
    let (path, start) = path_at(context, dirfd, path)?;
    let time = now(context);
    ops::symlink(&mut context.server.fs, &WHO, &target, start, &path, time)?;
    Ok(0)
}

pub fn sys_linkat(
    context: &mut Context<'_>,
    old_dirfd: u64,
    old_path: u64,
    new_dirfd: u64,
    new_path: u64,
    flags: u64,
) -> Result<usize, Errno> {
    let old_path = context.read_path(old_path)?;
    let new_path = context.read_path(new_path)?;
    let old_start = start_directory(context, old_dirfd)?;
    let new_start = start_directory(context, new_dirfd)?;
    let time = now(context);
    ops::link(
        &mut context.server.fs,
        &WHO,
        old_start,
        &old_path,
        new_start,
        &new_path,
        flags as u32,
        time,
    )?;
    Ok(0)
}

pub fn sys_renameat2(
    context: &mut Context<'_>,
    old_dirfd: u64,
    old_path: u64,
    new_dirfd: u64,
    new_path: u64,
    flags: u64,
) -> Result<usize, Errno> {
    let old_path = context.read_path(old_path)?;
    let new_path = context.read_path(new_path)?;
    let old_start = start_directory(context, old_dirfd)?;
    let new_start = start_directory(context, new_dirfd)?;
    let time = now(context);
    ops::rename(
        &mut context.server.fs,
        &WHO,
        old_start,
        &old_path,
        new_start,
        &new_path,
        flags as u32,
        time,
    )?;
    Ok(0)
}

pub fn sys_statx(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    flags: u64,
    mask: u64,
    buffer: u64,
) -> Result<usize, Errno> {
    linux_personality::fs::stat::check_statx_arguments(flags as u32, mask as u32)?;
    let (path, start) = path_at(context, dirfd, path)?;
    let flags = flags as u32 & !(linux_personality::fs::flags::AT_STATX_SYNC_TYPE);
    let stat = match proc_remainder(context, start, &path, follow_for_at(u64::from(flags))) {
        Some(remainder) => procfs::stat(context, &remainder, follow_for_at(u64::from(flags)))?,
        None => ops::stat_path(&context.server.fs, &WHO, start, &path, flags)?,
    };
    context.write_user(buffer, &stat.to_statx_bytes())?;
    Ok(0)
}

pub fn sys_fchmodat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    mode: u64,
) -> Result<usize, Errno> {
    let (path, start) = path_at(context, dirfd, path)?;
    let time = now(context);
    ops::chmod_path(
        &mut context.server.fs,
        &WHO,
        start,
        &path,
        mode as u32,
        linux_personality::fs::Follow::Follow,
        time,
    )?;
    Ok(0)
}

pub fn sys_fchmod(context: &mut Context<'_>, fd: u64, mode: u64) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let Description::File(file) = context.server.open_files.get(id)? else {
        return Err(Errno::EINVAL);
    };
    let inode = file.inode;
    let time = now(context);
    ops::chmod(&mut context.server.fs, &WHO, inode, mode as u32, time)?;
    Ok(0)
}

pub fn sys_utimensat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    times: u64,
    flags: u64,
) -> Result<usize, Errno> {
    let updates = if times == 0 {
        None
    } else {
        let mut bytes = [0u8; 32];
        context.read_user(times, &mut bytes)?;
        let word = |index: usize| {
            let mut value = [0u8; 8];
            value.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
            i64::from_le_bytes(value)
        };
        Some([
            linux_personality::fs::TimeUpdate::from_raw(word(0), word(1))?,
            linux_personality::fs::TimeUpdate::from_raw(word(2), word(3))?,
        ])
    };
    let time = now(context);
    if path == 0 {
        // utimensat(fd, NULL, ...): the file `dirfd` names (futimens).
        let id = description(context, dirfd)?;
        let Description::File(file) = context.server.open_files.get(id)? else {
            return Err(Errno::EINVAL);
        };
        let inode = file.inode;
        ops::utimens(&mut context.server.fs, &WHO, inode, updates, time)?;
        return Ok(0);
    }
    let (path, start) = path_at(context, dirfd, path)?;
    ops::utimens_path(
        &mut context.server.fs,
        &WHO,
        start,
        &path,
        updates,
        flags as u32,
        time,
    )?;
    Ok(0)
}

pub fn sys_ftruncate(context: &mut Context<'_>, fd: u64, length: u64) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let time = now(context);
    let server = &mut *context.server;
    let Description::File(file) = server.open_files.get(id)? else {
        return Err(Errno::EINVAL);
    };
    let inode = file.inode;
    // Shared mappings' writes below the new end survive it.
    crate::shared_file::flush(&server.objects, &mut server.fs, inode);
    ops::ftruncate(&mut server.fs, file, length as i64, time)?;
    crate::shared_file::truncated(server, inode);
    Ok(0)
}

pub fn sys_truncate(context: &mut Context<'_>, path: u64, length: u64) -> Result<usize, Errno> {
    let path = context.read_path(path)?;
    let cwd = context.process()?.cwd;
    let time = now(context);
    let server = &mut *context.server;
    // Shared mappings' writes below the new end survive it.
    let inode = path::resolve(
        &server.fs,
        &WHO,
        cwd,
        &path,
        Follow::Follow,
        EmptyPath::Refuse,
    );
    if let Ok(inode) = inode {
        crate::shared_file::flush(&server.objects, &mut server.fs, inode);
    }
    ops::truncate(&mut server.fs, &WHO, cwd, &path, length as i64, time)?;
    if let Ok(inode) = inode {
        crate::shared_file::truncated(server, inode);
    }
    Ok(0)
}

pub fn sys_fchdir(context: &mut Context<'_>, fd: u64) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let Description::File(file) = context.server.open_files.get(id)? else {
        return Err(Errno::ENOTDIR);
    };
    let inode = file.inode;
    if !context.server.fs.inode(inode)?.is_directory() {
        return Err(Errno::ENOTDIR);
    }
    context.process()?.cwd = inode;
    Ok(0)
}
