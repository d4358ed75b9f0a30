//! File system calls: descriptors over the in-memory file system (linux-personality's
//! `fs`), and the console (`/dev/console`, `/dev/tty`), which `crate::console` serves.

use super::{int_argument, Context};
use crate::process::Description;
use alloc::vec::Vec;
use linux_personality::fs::flags::{
    AT_FDCWD, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_CLOEXEC,
};
use linux_personality::fs::inode::{CharacterDevice, Content};
use linux_personality::fs::{
    ops, CloseOnExec, Identity, InodeId, OpenFile, OpenFileId, OpenRequest, SpecialFile, Transfer,
};
use linux_personality::Errno;

/// The most bytes one read or write moves (Linux's MAX_RW_COUNT is larger; programs loop).
const MAX_TRANSFER: usize = 1 << 20;
/// `IOV_MAX`.
const IOV_MAX: u64 = 1024;

/// The identity file permission checks use (every process runs as root for now).
const WHO: Identity = Identity::ROOT;

/// The description behind `fd`.
fn description(context: &mut Context<'_>, fd: u64) -> Result<OpenFileId, Errno> {
    let fd = u32::try_from(int_argument(fd)).map_err(|_| Errno::EBADF)?;
    Ok(context.process()?.files.get(fd)?.file)
}

fn now(context: &Context<'_>) -> linux_personality::fs::Timespec {
    let time = context.server.clocks.now(0).unwrap_or_default();
    linux_personality::fs::Timespec::new(time.seconds, time.nanoseconds as u32)
}

/// Where a `*at` call's path starts: the cwd, or the directory `dirfd` names.
fn start_directory(context: &mut Context<'_>, dirfd: u64) -> Result<InodeId, Errno> {
    let dirfd = int_argument(dirfd);
    if dirfd == AT_FDCWD {
        return Ok(context.process()?.cwd);
    }
    let id = description(context, dirfd as u32 as u64)?;
    match context.server.open_files.get(id)? {
        Description::File(file) => Ok(file.inode),
    }
}

pub fn sys_read(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
) -> Result<usize, Errno> {
    read_into(context, fd, buffer, count as usize, None)
}

pub fn sys_pread64(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
    offset: u64,
) -> Result<usize, Errno> {
    read_into(context, fd, buffer, count as usize, Some(offset as i64))
}

pub fn sys_write(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
) -> Result<usize, Errno> {
    write_from(context, fd, buffer, count as usize, None)
}

pub fn sys_pwrite64(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: u64,
    offset: u64,
) -> Result<usize, Errno> {
    write_from(context, fd, buffer, count as usize, Some(offset as i64))
}

pub fn sys_readv(context: &mut Context<'_>, fd: u64, iov: u64, count: u64) -> Result<usize, Errno> {
    let vectors = read_iovec(context, iov, count)?;
    let id = description(context, fd)?;
    if let Some(nonblocking) = console_file(context, id)? {
        let target = crate::console::ReadTarget::Vector {
            address: iov,
            count: vectors.len() as u64,
        };
        return crate::console::read(context, target, nonblocking);
    }
    let mut total = 0usize;
    for (base, length) in vectors {
        let done = read_into(context, fd, base, length, None);
        match done {
            Ok(done) => {
                total += done;
                if done < length {
                    break;
                }
            }
            Err(error) if total == 0 => return Err(error),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn sys_writev(
    context: &mut Context<'_>,
    fd: u64,
    iov: u64,
    count: u64,
) -> Result<usize, Errno> {
    let vectors = read_iovec(context, iov, count)?;
    let mut total = 0usize;
    for (base, length) in vectors {
        match write_from(context, fd, base, length, None) {
            Ok(done) => {
                total += done;
                if done < length {
                    break;
                }
            }
            Err(error) if total == 0 => return Err(error),
            Err(_) => break,
        }
    }
    Ok(total)
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

fn read_into(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: usize,
    offset: Option<i64>,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let count = count.min(MAX_TRANSFER);
    if let Some(nonblocking) = console_file(context, id)? {
        let target = crate::console::ReadTarget::Buffer {
            address: buffer,
            length: count as u64,
        };
        return crate::console::read(context, target, nonblocking);
    }
    let mut data = alloc::vec![0u8; count];
    let time = now(context);
    let server = &mut *context.server;
    let Description::File(file) = server.open_files.get_mut(id)?;
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
    context.write_user(buffer, &data[..done.min(data.len())])?;
    Ok(done)
}

fn write_from(
    context: &mut Context<'_>,
    fd: u64,
    buffer: u64,
    count: usize,
    offset: Option<i64>,
) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let count = count.min(MAX_TRANSFER);
    let data = context.read_user_vec(buffer, count)?;
    if console_file(context, id)?.is_some() {
        return Ok(context.server.console.write(&data));
    }
    let time = now(context);
    let server = &mut *context.server;
    let Description::File(file) = server.open_files.get_mut(id)?;
    let transfer = match offset {
        None => ops::write(&mut server.fs, file, &data, time)?,
        Some(offset) => ops::pwrite(&mut server.fs, file, &data, offset, time)?,
    };
    match transfer {
        Transfer::Done(done) => Ok(done),
        Transfer::CallerHandles(special) => special_write(special, &data),
    }
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

/// `Some(O_NONBLOCK is set)` if the description is the console, else `None`.
fn console_file(context: &mut Context<'_>, id: OpenFileId) -> Result<Option<bool>, Errno> {
    let Description::File(file) = context.server.open_files.get(id)?;
    let nonblocking = file.file_status() & linux_personality::fs::flags::O_NONBLOCK != 0;
    Ok(match context.server.fs.inode(file.inode)?.content() {
        Content::CharacterDevice(device) if is_console(*device) => Some(nonblocking),
        _ => None,
    })
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
    let umask = context.process()?.umask;
    let time = now(context);
    let flags = flags as u32;
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
    install(context, file, CloseOnExec::from_open_flags(flags))
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
    let Description::File(file) = server.open_files.get_mut(id)?;
    if let Content::CharacterDevice(_) = server.fs.inode(file.inode)?.content() {
        // Linux's console and memory devices accept any seek and report 0.
        return Ok(0);
    }
    Ok(ops::lseek(&server.fs, file, offset as i64, whence as u32)? as usize)
}

pub fn sys_fstat(context: &mut Context<'_>, fd: u64, buffer: u64) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let Description::File(file) = context.server.open_files.get(id)?;
    let stat = ops::fstat(&context.server.fs, file.inode)?;
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
    let stat = ops::stat_path(&context.server.fs, &WHO, start, &path, flags as u32)?;
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
    let Description::File(file) = server.open_files.get_mut(id)?;
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
    let Description::File(file) = context.server.open_files.get(id)?;
    let is_terminal = matches!(
        context.server.fs.inode(file.inode)?.content(),
        Content::CharacterDevice(device) if is_console(*device)
    );
    if !is_terminal {
        return Err(Errno::ENOTTY);
    }
    crate::console::ioctl(context, request, argument)
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
        F_GETFL => {
            let Description::File(file) = context.server.open_files.get(descriptor.file)?;
            Ok(file.file_status() as usize)
        }
        F_SETFL => {
            let Description::File(file) = context.server.open_files.get_mut(descriptor.file)?;
            file.set_file_status(argument as u32);
            Ok(0)
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
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
    let path = context.read_path(path)?;
    let target = if path == b"/proc/self/exe" {
        context.process()?.executable.clone()
    } else {
        let start = start_directory(context, dirfd)?;
        ops::readlink(&context.server.fs, &WHO, start, &path)?
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
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
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
    let flags = flags as u32 & !(linux_personality::fs::flags::AT_STATX_SYNC_TYPE);
    let stat = ops::stat_path(&context.server.fs, &WHO, start, &path, flags)?;
    context.write_user(buffer, &stat.to_statx_bytes())?;
    Ok(0)
}

pub fn sys_fchmodat(
    context: &mut Context<'_>,
    dirfd: u64,
    path: u64,
    mode: u64,
) -> Result<usize, Errno> {
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
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
    let Description::File(file) = context.server.open_files.get(id)?;
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
        let Description::File(file) = context.server.open_files.get(id)?;
        let inode = file.inode;
        ops::utimens(&mut context.server.fs, &WHO, inode, updates, time)?;
        return Ok(0);
    }
    let path = context.read_path(path)?;
    let start = start_directory(context, dirfd)?;
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
    let Description::File(file) = server.open_files.get(id)?;
    ops::ftruncate(&mut server.fs, file, length as i64, time)?;
    Ok(0)
}

pub fn sys_truncate(context: &mut Context<'_>, path: u64, length: u64) -> Result<usize, Errno> {
    let path = context.read_path(path)?;
    let cwd = context.process()?.cwd;
    let time = now(context);
    ops::truncate(
        &mut context.server.fs,
        &WHO,
        cwd,
        &path,
        length as i64,
        time,
    )?;
    Ok(0)
}

pub fn sys_fchdir(context: &mut Context<'_>, fd: u64) -> Result<usize, Errno> {
    let id = description(context, fd)?;
    let Description::File(file) = context.server.open_files.get(id)?;
    let inode = file.inode;
    if !context.server.fs.inode(inode)?.is_directory() {
        return Err(Errno::ENOTDIR);
    }
    context.process()?.cwd = inode;
    Ok(0)
}
