//! The file system calls' semantics over [`Fs`]: open, read, write, seek, truncate,
//! mkdir, rmdir, unlink, rename(2), symlink, readlink, link, chmod, utimensat, stat,
//! access, getdents64, chdir and getcwd, each failing with the error Linux gives.
//!
//! Paths are resolved from `start`: the inode of the working directory or `dirfd`
//! (absolute paths ignore it). Callers first ask [`path::locate`](super::path::locate)
//! whether a path belongs to `/proc`; here a mount point is an empty directory nobody
//! may create in.

use super::flags::{
    AT_EACCESS, AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE,
    O_NOCTTY, O_NOFOLLOW, O_PATH, O_TMPFILE_BIT, O_TRUNC, RENAME_EXCHANGE, RENAME_NOREPLACE,
    RENAME_WHITEOUT, SEEK_CUR, SEEK_END, SEEK_SET, SETFL_MASK, UTIME_NOW, UTIME_OMIT,
};
use super::inode::{
    CharacterDevice, Content, DeviceNumber, Directory, InodeId, Timespec, PERMISSION_BITS, S_ISGID,
    S_ISVTX,
};
use super::path::{
    self, check_permission, AccessMask, EmptyPath, Follow, Identity, LastComponent, MountPolicy,
    Parent, ParentStep, TrailingSlash, Walker, PATH_MAX,
};
use super::stat::Stat;
use super::tree::Fs;
use crate::errno::Errno;
use alloc::vec::Vec;

/// `SEEK_DATA`.
const SEEK_DATA: u32 = 3;
/// `SEEK_HOLE`.
const SEEK_HOLE: u32 = 4;
/// Linux's relatime: atime is refreshed at least once a day.
const RELATIME_INTERVAL_SECONDS: i64 = 24 * 60 * 60;
/// Size of the fixed part of `struct linux_dirent64` (`d_ino`, `d_off`, `d_reclen`,
/// `d_type`).
pub const DIRENT64_HEADER_SIZE: usize = 19;

/// How an open file description may be used, from `O_ACCMODE` and `O_PATH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// `O_RDONLY`.
    ReadOnly,
    /// `O_WRONLY`.
    WriteOnly,
    /// `O_RDWR`.
    ReadWrite,
    /// `O_ACCMODE` (3): neither read nor write (Linux's ioctl-only mode).
    Neither,
    /// `O_PATH`: names the file, allows no I/O.
    PathOnly,
}

impl AccessMode {
    /// True if `read` is allowed.
    #[must_use]
    pub const fn readable(self) -> bool {
        matches!(self, AccessMode::ReadOnly | AccessMode::ReadWrite)
    }

    /// True if `write` is allowed.
    #[must_use]
    pub const fn writable(self) -> bool {
        matches!(self, AccessMode::WriteOnly | AccessMode::ReadWrite)
    }

    /// The `O_ACCMODE` bits (`O_PATH` reports as `O_RDONLY` plus `O_PATH`).
    #[must_use]
    pub const fn bits(self) -> u32 {
        match self {
            AccessMode::ReadOnly => 0,
            AccessMode::WriteOnly => 1,
            AccessMode::ReadWrite => 2,
            AccessMode::Neither => 3,
            AccessMode::PathOnly => O_PATH,
        }
    }
}

/// The arguments of `openat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// `O_*` flags.
    pub flags: u32,
    /// Permission bits for a created file (before the umask).
    pub mode: u32,
    /// The process's umask.
    pub umask: u32,
}

/// An open file description on an inode: what `dup` and `fork` share.
///
/// # Invariants
/// Holds one [`Fs::retain`] reference on `inode`; give it back with [`close`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenFile {
    /// The file.
    pub inode: InodeId,
    /// How it was opened.
    pub access: AccessMode,
    /// Status flags (`O_APPEND`, `O_NONBLOCK`, …) as `F_GETFL` reports them, without the
    /// access mode.
    pub status_flags: u32,
    /// The file offset; for a directory, the `getdents64` cursor.
    pub offset: u64,
}

impl OpenFile {
    /// The `F_GETFL` value: access mode, status flags and `O_LARGEFILE` (always set on
    /// 64-bit Linux).
    #[must_use]
    pub const fn file_status(&self) -> u32 {
        self.access.bits() | self.status_flags | O_LARGEFILE
    }

    /// `F_SETFL`: changes `O_APPEND`, `O_NONBLOCK`, `O_ASYNC`, `O_DIRECT` and
    /// `O_NOATIME`, ignoring every other bit, as Linux does.
    pub fn set_file_status(&mut self, flags: u32) {
        self.status_flags = (self.status_flags & !SETFL_MASK) | (flags & SETFL_MASK);
    }
}

/// A file whose I/O belongs to the caller rather than this file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialFile {
    /// The console, a tty or another character device.
    CharacterDevice(CharacterDevice),
    /// A block device node.
    BlockDevice(DeviceNumber),
    /// A named pipe.
    Fifo,
    /// A socket node.
    Socket,
}

/// The outcome of a read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// This many bytes were moved.
    Done(usize),
    /// The file is a device, pipe or socket; the caller performs the I/O.
    CallerHandles(SpecialFile),
}

/// A timestamp argument of `utimensat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUpdate {
    /// `UTIME_NOW`.
    Now,
    /// `UTIME_OMIT`.
    Omit,
    /// An explicit time.
    Set(Timespec),
}

impl TimeUpdate {
    /// Decodes one `struct timespec` of `utimensat`.
    ///
    /// # Errors
    /// `EINVAL` if `nanoseconds` is neither a special value nor in `0..1_000_000_000`.
    pub fn from_raw(seconds: i64, nanoseconds: i64) -> Result<TimeUpdate, Errno> {
        match nanoseconds {
            UTIME_NOW => Ok(TimeUpdate::Now),
            UTIME_OMIT => Ok(TimeUpdate::Omit),
            0..=999_999_999 => Ok(TimeUpdate::Set(Timespec::new(
                seconds,
                u32::try_from(nanoseconds).map_err(|_| Errno::EINVAL)?,
            ))),
            _ => Err(Errno::EINVAL),
        }
    }
}

// ---------------------------------------------------------------------------------
// open, close, read, write, seek, truncate
// ---------------------------------------------------------------------------------

/// `openat`: opens (and with `O_CREAT` creates) a file, taking a reference on it.
///
/// # Errors
/// `EINVAL` (`O_CREAT | O_DIRECTORY`), `EOPNOTSUPP` (`O_TMPFILE`), `EEXIST`
/// (`O_CREAT | O_EXCL` and the name exists, even as a link), `EISDIR` (a directory
/// with write access, `O_TRUNC` or `O_CREAT`; `O_CREAT` with a trailing slash),
/// `ENOTDIR` (`O_DIRECTORY` on a non-directory), `ELOOP` (`O_NOFOLLOW` on a link),
/// `EACCES`, `ENOENT`, `ENAMETOOLONG`, `ENOSPC`.
pub fn open(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    request: OpenRequest,
    now: Timespec,
) -> Result<OpenFile, Errno> {
    let mut flags = request.flags;
    if flags & O_TMPFILE_BIT != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let access = if flags & O_PATH != 0 {
        flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        AccessMode::PathOnly
    } else {
        match flags & O_ACCMODE {
            0 => AccessMode::ReadOnly,
            1 => AccessMode::WriteOnly,
            2 => AccessMode::ReadWrite,
            _ => AccessMode::Neither,
        }
    };
    if flags & O_CREAT != 0 && flags & O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if flags & O_NOFOLLOW != 0 {
        Follow::NoFollow
    } else {
        Follow::Follow
    };

    let (inode, created) = if flags & O_CREAT != 0 {
        open_creating(fs, who, start, path_bytes, request, flags, now)?
    } else {
        let inode = path::resolve(fs, who, start, path_bytes, follow, EmptyPath::Refuse)?;
        (inode, false)
    };

    let node = fs.inode(inode)?;
    if node.is_symlink() && access != AccessMode::PathOnly {
        return Err(Errno::ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !node.is_directory() {
        return Err(Errno::ENOTDIR);
    }
    let truncate = flags & O_TRUNC != 0;
    if access != AccessMode::PathOnly && !created {
        let mut wanted = match access {
            AccessMode::ReadOnly => AccessMask::READ,
            AccessMode::WriteOnly => AccessMask::WRITE,
            _ => AccessMask::READ.union(AccessMask::WRITE),
        };
        if truncate {
            wanted = wanted.union(AccessMask::WRITE);
        }
        if node.is_directory() && wanted.0 & AccessMask::WRITE.0 != 0 {
            return Err(Errno::EISDIR);
        }
        check_permission(node, who, wanted)?;
        if truncate && matches!(node.content(), Content::Regular(_)) {
            set_length(fs, inode, 0, now)?;
            let node = fs.inode_mut(inode)?;
            node.mtime = now;
            node.ctime = now;
        }
    }
    fs.retain(inode)?;
    let kept = !(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC | O_LARGEFILE);
    Ok(OpenFile {
        inode,
        access,
        status_flags: if access == AccessMode::PathOnly {
            flags & (O_DIRECTORY | O_NOFOLLOW)
        } else {
            flags & kept
        },
        offset: 0,
    })
}

fn open_creating(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    request: OpenRequest,
    flags: u32,
    now: Timespec,
) -> Result<(InodeId, bool), Errno> {
    let (directory, name) = {
        let mut walker = Walker::new(fs, who, start, path_bytes, MountPolicy::Enter)?;
        loop {
            let parent = match walker.walk_to_parent()? {
                ParentStep::Parent(parent) => parent,
                ParentStep::Mounted { .. } => return Err(Errno::ENOENT),
            };
            if parent.trailing_slash == TrailingSlash::Present {
                return Err(Errno::EISDIR);
            }
            let name = match parent.last {
                LastComponent::Normal(name) => name,
                // ".", ".." and "/" are directories, which O_CREAT cannot open.
                _ => return Err(Errno::EISDIR),
            };
            let Some(existing) = fs.lookup(parent.directory, &name)? else {
                break (parent.directory, name);
            };
            if flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let node = fs.inode(existing)?;
            if node.is_symlink() {
                if flags & O_NOFOLLOW != 0 {
                    return Err(Errno::ELOOP);
                }
                walker.follow_link(parent.directory, existing)?;
                continue;
            }
            if node.is_directory() {
                return Err(Errno::EISDIR);
            }
            return Ok((existing, false));
        }
    };
    check_creatable(fs, who, directory)?;
    let (owner, inherited) = new_owner(fs, who, directory)?;
    let permissions =
        (request.mode & !request.umask & PERMISSION_BITS) | inherited_setgid(inherited, false);
    let inode = fs.allocate(Content::Regular(Vec::new()), permissions, owner, now)?;
    if let Err(error) = fs.attach(directory, &name, inode, now) {
        fs.free_if_unused(inode);
        return Err(error);
    }
    Ok((inode, true))
}

/// Gives back the reference an [`OpenFile`] holds (the last `close` of a description);
/// an unlinked file is freed here.
pub fn close(fs: &mut Fs, file: &OpenFile) {
    fs.release(file.inode);
}

/// `read`: reads at the description's offset and advances it.
///
/// # Errors
/// `EBADF` (not open for reading), `EISDIR` (a directory).
pub fn read(
    fs: &mut Fs,
    file: &mut OpenFile,
    buffer: &mut [u8],
    random: &mut dyn super::inode::RandomSource,
    now: Timespec,
) -> Result<Transfer, Errno> {
    let transfer = read_at(fs, file, buffer, file.offset, random, now)?;
    if let Transfer::Done(count) = transfer {
        if matches!(fs.inode(file.inode)?.content(), Content::Regular(_)) {
            file.offset = file.offset.saturating_add(count as u64);
        }
    }
    Ok(transfer)
}

/// `pread64`: reads at `offset` without moving the description's offset.
///
/// # Errors
/// As [`read`]; `EINVAL` for a negative offset; `ESPIPE` for a pipe or socket.
pub fn pread(
    fs: &mut Fs,
    file: &OpenFile,
    buffer: &mut [u8],
    offset: i64,
    random: &mut dyn super::inode::RandomSource,
    now: Timespec,
) -> Result<Transfer, Errno> {
    let offset = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
    if matches!(
        fs.inode(file.inode)?.content(),
        Content::Fifo | Content::Socket
    ) {
        return Err(Errno::ESPIPE);
    }
    read_at(fs, file, buffer, offset, random, now)
}

fn read_at(
    fs: &mut Fs,
    file: &OpenFile,
    buffer: &mut [u8],
    offset: u64,
    random: &mut dyn super::inode::RandomSource,
    now: Timespec,
) -> Result<Transfer, Errno> {
    if !file.access.readable() {
        return Err(Errno::EBADF);
    }
    let inode = fs.inode_mut(file.inode)?;
    let count = match &inode.content {
        Content::Regular(bytes) => {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let available = bytes.get(start..).unwrap_or(&[]);
            let count = available.len().min(buffer.len());
            if let (Some(target), Some(source)) = (buffer.get_mut(..count), available.get(..count))
            {
                target.copy_from_slice(source);
            }
            count
        }
        Content::Directory(_) => return Err(Errno::EISDIR),
        Content::CharacterDevice(device) => {
            return Ok(match device.read(buffer, random) {
                Some(count) => Transfer::Done(count),
                None => Transfer::CallerHandles(SpecialFile::CharacterDevice(*device)),
            })
        }
        other => return special(other),
    };
    if inode.atime <= inode.mtime
        || inode.atime <= inode.ctime
        || now.seconds.saturating_sub(inode.atime.seconds) >= RELATIME_INTERVAL_SECONDS
    {
        inode.atime = now;
    }
    Ok(Transfer::Done(count))
}

/// `write`: writes at the description's offset (at the end with `O_APPEND`) and
/// advances it. A write starting below the 1 GiB limit is cut short there.
///
/// # Errors
/// `EBADF` (not open for writing), `EFBIG` (starts at or beyond 1 GiB), `ENOSPC`.
pub fn write(
    fs: &mut Fs,
    file: &mut OpenFile,
    data: &[u8],
    now: Timespec,
) -> Result<Transfer, Errno> {
    let append = file.status_flags & O_APPEND != 0;
    let offset = file.offset;
    let (transfer, end) = write_at(fs, file, data, offset, append, now)?;
    if let Some(end) = end {
        file.offset = end;
    }
    Ok(transfer)
}

/// `pwrite64`: writes at `offset` without moving the description's offset (with
/// `O_APPEND`, Linux appends regardless, and so does this).
///
/// # Errors
/// As [`write`]; `EINVAL` for a negative offset; `ESPIPE` for a pipe or socket.
pub fn pwrite(
    fs: &mut Fs,
    file: &OpenFile,
    data: &[u8],
    offset: i64,
    now: Timespec,
) -> Result<Transfer, Errno> {
    let offset = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
    if matches!(
        fs.inode(file.inode)?.content(),
        Content::Fifo | Content::Socket
    ) {
        return Err(Errno::ESPIPE);
    }
    let append = file.status_flags & O_APPEND != 0;
    write_at(fs, file, data, offset, append, now).map(|(transfer, _)| transfer)
}

/// Writes `data` at `offset` (or the end); returns the transfer and, for a regular
/// file, the offset after the written bytes.
fn write_at(
    fs: &mut Fs,
    file: &OpenFile,
    data: &[u8],
    offset: u64,
    append: bool,
    now: Timespec,
) -> Result<(Transfer, Option<u64>), Errno> {
    if !file.access.writable() {
        return Err(Errno::EBADF);
    }
    let inode = fs.inode(file.inode)?;
    let old_length = match inode.content() {
        Content::Regular(bytes) => bytes.len() as u64,
        Content::Directory(_) => return Err(Errno::EISDIR),
        Content::CharacterDevice(device) => {
            return Ok((
                match device.write(data.len()) {
                    Some(count) => Transfer::Done(count),
                    None => Transfer::CallerHandles(SpecialFile::CharacterDevice(*device)),
                },
                None,
            ))
        }
        other => return special(other).map(|transfer| (transfer, None)),
    };
    let offset = if append { old_length } else { offset };
    if data.is_empty() {
        return Ok((Transfer::Done(0), Some(offset)));
    }
    let limit = fs.max_file_size();
    if offset >= limit {
        return Err(Errno::EFBIG);
    }
    let count = (data.len() as u64).min(limit - offset);
    let end = offset + count;
    if end > old_length {
        set_length(fs, file.inode, end, now)?;
    }
    let inode = fs.inode_mut(file.inode)?;
    if let Content::Regular(bytes) = &mut inode.content {
        // offset and end are below MAX_FILE_SIZE and within the resized contents.
        let range = usize::try_from(offset).map_err(|_| Errno::EFBIG)?
            ..usize::try_from(end).map_err(|_| Errno::EFBIG)?;
        let count = range.len();
        if let (Some(target), Some(source)) = (bytes.get_mut(range), data.get(..count)) {
            target.copy_from_slice(source);
        }
    }
    inode.mtime = now;
    inode.ctime = now;
    Ok((
        Transfer::Done(usize::try_from(count).map_err(|_| Errno::EFBIG)?),
        Some(end),
    ))
}

fn special(content: &Content) -> Result<Transfer, Errno> {
    let file = match content {
        Content::BlockDevice(number) => SpecialFile::BlockDevice(*number),
        Content::Fifo => SpecialFile::Fifo,
        Content::Socket => SpecialFile::Socket,
        Content::CharacterDevice(device) => SpecialFile::CharacterDevice(*device),
        // Symlinks and directories are never opened for I/O.
        _ => return Err(Errno::EBADF),
    };
    Ok(Transfer::CallerHandles(file))
}

/// `lseek`.
///
/// # Errors
/// `EINVAL` (unknown `whence`, negative result, `SEEK_END` on a directory), `ENXIO`
/// (`SEEK_DATA`/`SEEK_HOLE` at or past the end), `ESPIPE` (pipes, sockets, terminals),
/// `EBADF` (`O_PATH`), `EOVERFLOW` (the result does not fit).
pub fn lseek(fs: &Fs, file: &mut OpenFile, offset: i64, whence: u32) -> Result<u64, Errno> {
    if file.access == AccessMode::PathOnly {
        return Err(Errno::EBADF);
    }
    let inode = fs.inode(file.inode)?;
    let size = match inode.content() {
        Content::Regular(bytes) => bytes.len() as u64,
        Content::Directory(_) => {
            if !matches!(whence, SEEK_SET | SEEK_CUR) {
                return Err(Errno::EINVAL);
            }
            0
        }
        Content::CharacterDevice(
            CharacterDevice::Null
            | CharacterDevice::Zero
            | CharacterDevice::Random
            | CharacterDevice::Urandom,
        ) => {
            // Linux's memory devices accept any seek and stay at 0.
            file.offset = 0;
            return Ok(0);
        }
        _ => return Err(Errno::ESPIPE),
    };
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => file.offset,
        SEEK_END => size,
        SEEK_DATA | SEEK_HOLE if inode.is_directory() => return Err(Errno::EINVAL),
        SEEK_DATA | SEEK_HOLE => {
            let position = u64::try_from(offset).map_err(|_| Errno::ENXIO)?;
            if position >= size {
                return Err(Errno::ENXIO);
            }
            let result = if whence == SEEK_DATA { position } else { size };
            file.offset = result;
            return Ok(result);
        }
        _ => return Err(Errno::EINVAL),
    };
    let base = i64::try_from(base).map_err(|_| Errno::EOVERFLOW)?;
    let result = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
    let result = u64::try_from(result).map_err(|_| Errno::EINVAL)?;
    file.offset = result;
    Ok(result)
}

/// `ftruncate`.
///
/// # Errors
/// `EBADF` (`O_PATH`), `EINVAL` (not open for writing, not a regular file, negative
/// length), `EFBIG` (over 1 GiB), `ENOSPC`.
pub fn ftruncate(fs: &mut Fs, file: &OpenFile, length: i64, now: Timespec) -> Result<(), Errno> {
    if file.access == AccessMode::PathOnly {
        return Err(Errno::EBADF);
    }
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let inode = fs.inode(file.inode)?;
    if !matches!(inode.content(), Content::Regular(_)) || !file.access.writable() {
        return Err(Errno::EINVAL);
    }
    truncate_inode(fs, file.inode, length, now)
}

/// `truncate`: by path, following links; needs write permission.
///
/// # Errors
/// `EINVAL` (negative length, not a regular file), `EISDIR`, `EACCES`, `EFBIG`,
/// `ENOSPC`, and the path errors.
pub fn truncate(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    length: i64,
    now: Timespec,
) -> Result<(), Errno> {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let id = path::resolve(
        fs,
        who,
        start,
        path_bytes,
        Follow::Follow,
        EmptyPath::Refuse,
    )?;
    let inode = fs.inode(id)?;
    match inode.content() {
        Content::Directory(_) => return Err(Errno::EISDIR),
        Content::Regular(_) => {}
        _ => return Err(Errno::EINVAL),
    }
    check_permission(inode, who, AccessMask::WRITE)?;
    truncate_inode(fs, id, length, now)
}

fn truncate_inode(fs: &mut Fs, id: InodeId, length: i64, now: Timespec) -> Result<(), Errno> {
    let length = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
    if length > fs.max_file_size() {
        return Err(Errno::EFBIG);
    }
    if fs.inode(id)?.size() != length {
        set_length(fs, id, length, now)?;
        let inode = fs.inode_mut(id)?;
        inode.mtime = now;
        inode.ctime = now;
    }
    Ok(())
}

/// Resizes a regular file, zero-filling growth, with the capacity charged first and
/// the allocation tried before anything changes.
fn set_length(fs: &mut Fs, id: InodeId, length: u64, _now: Timespec) -> Result<(), Errno> {
    let new_length = usize::try_from(length).map_err(|_| Errno::EFBIG)?;
    let old_length = fs.inode(id)?.size();
    {
        let inode = fs.inode_mut(id)?;
        let Content::Regular(bytes) = &mut inode.content else {
            return Err(Errno::EINVAL);
        };
        if new_length > bytes.len() {
            bytes
                .try_reserve(new_length - bytes.len())
                .map_err(|_| Errno::ENOSPC)?;
        }
    }
    fs.charge(old_length, length)?;
    let inode = fs.inode_mut(id)?;
    if let Content::Regular(bytes) = &mut inode.content {
        bytes.resize(new_length, 0);
        if new_length < bytes.capacity() / 2 {
            bytes.shrink_to_fit();
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Names: mkdir, rmdir, unlink, rename, symlink, readlink, link
// ---------------------------------------------------------------------------------

/// `mkdirat`: creates a directory with `mode & 01777 & !umask` (set-group-id inherited
/// from the parent).
///
/// # Errors
/// `EEXIST` (the name exists, even as a dangling link; `.`, `..`, `/`), `ENOENT`
/// (missing parent, or the parent was removed), `EACCES`, `ENOTDIR`, `ENAMETOOLONG`.
pub fn mkdir(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    mode: u32,
    umask: u32,
    now: Timespec,
) -> Result<InodeId, Errno> {
    let parent = path::resolve_parent(fs, who, start, path_bytes)?;
    let directory = parent.directory;
    let name = creation_name(fs, who, parent, NewNode::Directory)?;
    let (owner, inherited) = new_owner(fs, who, directory)?;
    let permissions = (mode & !umask & (0o777 | S_ISVTX)) | inherited_setgid(inherited, true);
    let inode = fs.allocate(
        Content::Directory(Directory::new(directory)),
        permissions,
        owner,
        now,
    )?;
    if let Err(error) = fs.attach(directory, &name, inode, now) {
        fs.free_if_unused(inode);
        return Err(error);
    }
    Ok(inode)
}

/// `unlinkat`: `AT_REMOVEDIR` selects [`rmdir`], no flag [`unlink`].
///
/// # Errors
/// `EINVAL` for any other flag; otherwise as the chosen call.
pub fn unlinkat(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    flags: u32,
    now: Timespec,
) -> Result<(), Errno> {
    match flags {
        0 => unlink(fs, who, start, path_bytes, now),
        AT_REMOVEDIR => rmdir(fs, who, start, path_bytes, now),
        _ => Err(Errno::EINVAL),
    }
}

/// `rmdir`.
///
/// # Errors
/// `EINVAL` (`.`), `ENOTEMPTY` (`..`, or entries remain), `EBUSY` (`/` or a mount
/// point), `ENOTDIR` (not a directory, links not followed), `ENOENT`, `EACCES`,
/// `EPERM` (sticky directory, not the owner).
pub fn rmdir(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    now: Timespec,
) -> Result<(), Errno> {
    let parent = path::resolve_parent(fs, who, start, path_bytes)?;
    let name = match parent.last {
        LastComponent::Normal(name) => name,
        LastComponent::Dot => return Err(Errno::EINVAL),
        LastComponent::DotDot => return Err(Errno::ENOTEMPTY),
        LastComponent::Root => return Err(Errno::EBUSY),
    };
    let victim = fs.lookup(parent.directory, &name)?.ok_or(Errno::ENOENT)?;
    may_delete(fs, who, parent.directory, victim, Victim::Directory)?;
    if fs.mount_at(victim).is_some() {
        return Err(Errno::EBUSY);
    }
    if fs
        .inode(victim)?
        .as_directory()
        .is_some_and(|directory| !directory.is_empty())
    {
        return Err(Errno::ENOTEMPTY);
    }
    fs.detach(parent.directory, &name, now)?;
    fs.inode_mut(victim)?.nlink = 0;
    fs.free_if_unused(victim);
    Ok(())
}

/// `unlink`.
///
/// # Errors
/// `EISDIR` (a directory, `.`, `..`, `/`, or `dir/`), `ENOTDIR` (`file/`), `ENOENT`,
/// `EACCES`, `EPERM` (sticky directory, not the owner).
pub fn unlink(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    now: Timespec,
) -> Result<(), Errno> {
    let parent = path::resolve_parent(fs, who, start, path_bytes)?;
    let LastComponent::Normal(name) = parent.last else {
        return Err(Errno::EISDIR);
    };
    let victim = fs.lookup(parent.directory, &name)?.ok_or(Errno::ENOENT)?;
    if parent.trailing_slash == TrailingSlash::Present {
        return Err(if fs.inode(victim)?.is_directory() {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    may_delete(fs, who, parent.directory, victim, Victim::NonDirectory)?;
    fs.detach(parent.directory, &name, now)?;
    fs.free_if_unused(victim);
    Ok(())
}

/// `renameat2`, with `RENAME_NOREPLACE` and `RENAME_EXCHANGE` (flags 0 is `renameat`).
///
/// # Errors
/// `EINVAL` (unknown or conflicting flags, `RENAME_WHITEOUT`, moving a directory into
/// itself), `EBUSY` (`.`, `..`, `/`, mount points), `EEXIST` (`RENAME_NOREPLACE` and
/// the target exists), `ENOENT` (missing source; missing target with
/// `RENAME_EXCHANGE`), `ENOTDIR`/`EISDIR` (type mismatch with the replaced target,
/// trailing slash on a non-directory), `ENOTEMPTY` (replacing a non-empty directory, or
/// an ancestor of the source), `EXDEV` (into a mount point), `EACCES`, `EPERM`.
#[allow(clippy::too_many_arguments)]
pub fn rename(
    fs: &mut Fs,
    who: &Identity,
    old_start: InodeId,
    old_path: &[u8],
    new_start: InodeId,
    new_path: &[u8],
    flags: u32,
    now: Timespec,
) -> Result<(), Errno> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || flags & RENAME_WHITEOUT != 0
        || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
    {
        return Err(Errno::EINVAL);
    }
    let exchange = flags & RENAME_EXCHANGE != 0;
    let old_parent = path::resolve_parent(fs, who, old_start, old_path)?;
    let new_parent = path::resolve_parent(fs, who, new_start, new_path)?;
    let LastComponent::Normal(old_name) = old_parent.last else {
        return Err(Errno::EBUSY);
    };
    let LastComponent::Normal(new_name) = new_parent.last else {
        return Err(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    };
    let (old_directory, new_directory) = (old_parent.directory, new_parent.directory);
    if fs.mount_at(new_directory).is_some() || fs.mount_at(old_directory).is_some() {
        return Err(Errno::EXDEV);
    }
    let source = fs.lookup(old_directory, &old_name)?.ok_or(Errno::ENOENT)?;
    let target = fs.lookup(new_directory, &new_name)?;
    if exchange && target.is_none() {
        return Err(Errno::ENOENT);
    }
    if flags & RENAME_NOREPLACE != 0 && target.is_some() {
        return Err(Errno::EEXIST);
    }
    let source_is_directory = fs.inode(source)?.is_directory();
    let target_is_directory = match target {
        Some(target) => fs.inode(target)?.is_directory(),
        None => false,
    };
    if !source_is_directory
        && (old_parent.trailing_slash == TrailingSlash::Present
            || (!exchange && new_parent.trailing_slash == TrailingSlash::Present))
    {
        return Err(Errno::ENOTDIR);
    }
    if exchange && !target_is_directory && new_parent.trailing_slash == TrailingSlash::Present {
        return Err(Errno::ENOTDIR);
    }
    // A directory cannot move below itself; a target cannot be an ancestor of the source.
    if fs.is_ancestor(source, new_directory) {
        return Err(Errno::EINVAL);
    }
    if let Some(target) = target {
        if fs.is_ancestor(target, old_directory) {
            return Err(if exchange {
                Errno::EINVAL
            } else {
                Errno::ENOTEMPTY
            });
        }
    }
    if target == Some(source) {
        return Ok(());
    }
    let source_kind = if source_is_directory {
        Victim::Directory
    } else {
        Victim::NonDirectory
    };
    may_delete(fs, who, old_directory, source, Victim::Any)?;
    match target {
        Some(target) => {
            let expected = if exchange { Victim::Any } else { source_kind };
            may_delete(fs, who, new_directory, target, expected)?;
        }
        None => check_creatable(fs, who, new_directory)?,
    }
    if fs.mount_at(source).is_some() || target.is_some_and(|target| fs.mount_at(target).is_some()) {
        return Err(Errno::EBUSY);
    }
    if old_directory != new_directory {
        // A moved directory's ".." changes, which needs write permission on it.
        if source_is_directory {
            check_permission(fs.inode(source)?, who, AccessMask::WRITE)?;
        }
        if exchange && target_is_directory {
            if let Some(target) = target {
                check_permission(fs.inode(target)?, who, AccessMask::WRITE)?;
            }
        }
    }
    if let Some(target) = target {
        if !exchange
            && target_is_directory
            && fs
                .inode(target)?
                .as_directory()
                .is_some_and(|directory| !directory.is_empty())
        {
            return Err(Errno::ENOTEMPTY);
        }
    }

    match target {
        Some(target) if exchange => exchange_entries(
            fs,
            (old_directory, &old_name, source),
            (new_directory, &new_name, target),
            now,
        ),
        Some(target) => {
            fs.detach(new_directory, &new_name, now)?;
            if target_is_directory {
                fs.inode_mut(target)?.nlink = 0;
            }
            move_entry(fs, old_directory, &old_name, new_directory, &new_name, now)?;
            fs.free_if_unused(target);
            Ok(())
        }
        None => move_entry(fs, old_directory, &old_name, new_directory, &new_name, now),
    }
}

fn move_entry(
    fs: &mut Fs,
    old_directory: InodeId,
    old_name: &[u8],
    new_directory: InodeId,
    new_name: &[u8],
    now: Timespec,
) -> Result<(), Errno> {
    let source = fs.detach(old_directory, old_name, now)?;
    if let Err(error) = fs.attach(new_directory, new_name, source, now) {
        // Put it back where it was; the name was just free there.
        fs.attach(old_directory, old_name, source, now)?;
        return Err(error);
    }
    Ok(())
}

fn exchange_entries(
    fs: &mut Fs,
    first: (InodeId, &[u8], InodeId),
    second: (InodeId, &[u8], InodeId),
    now: Timespec,
) -> Result<(), Errno> {
    let (first_directory, first_name, first_inode) = first;
    let (second_directory, second_name, second_inode) = second;
    let first_is_directory = fs.inode(first_inode)?.is_directory();
    let second_is_directory = fs.inode(second_inode)?.is_directory();
    for (directory, name, inode) in [
        (first_directory, first_name, second_inode),
        (second_directory, second_name, first_inode),
    ] {
        let parent = fs.inode_mut(directory)?;
        if let Content::Directory(entries) = &mut parent.content {
            entries.replace(name, inode);
        }
        parent.mtime = now;
        parent.ctime = now;
        let child = fs.inode_mut(inode)?;
        child.ctime = now;
        if let Content::Directory(entries) = &mut child.content {
            entries.set_parent(directory);
        }
    }
    if first_directory != second_directory && first_is_directory != second_is_directory {
        // One subdirectory's ".." moved from one parent to the other.
        let (gains, loses) = if first_is_directory {
            (second_directory, first_directory)
        } else {
            (first_directory, second_directory)
        };
        let gaining = fs.inode_mut(gains)?;
        gaining.nlink = gaining.nlink.saturating_add(1);
        let losing = fs.inode_mut(loses)?;
        losing.nlink = losing.nlink.saturating_sub(1);
    }
    Ok(())
}

/// `symlinkat`: creates a link holding `target` (not resolved).
///
/// # Errors
/// `ENOENT` (empty target, missing parent, trailing slash), `ENAMETOOLONG` (target of
/// 4096 bytes or more), `EEXIST`, `EACCES`, `ENOTDIR`.
pub fn symlink(
    fs: &mut Fs,
    who: &Identity,
    target: &[u8],
    start: InodeId,
    path_bytes: &[u8],
    now: Timespec,
) -> Result<InodeId, Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    if target.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let parent = path::resolve_parent(fs, who, start, path_bytes)?;
    let directory = parent.directory;
    let name = creation_name(fs, who, parent, NewNode::Other)?;
    let (owner, _) = new_owner(fs, who, directory)?;
    let inode = fs.allocate(Content::Symlink(target.to_vec()), 0o777, owner, now)?;
    if let Err(error) = fs.attach(directory, &name, inode, now) {
        fs.free_if_unused(inode);
        return Err(error);
    }
    Ok(inode)
}

/// `readlinkat`: the target of the link at `path` (not followed); an empty path reads
/// the link `start` itself names (an `O_PATH | O_NOFOLLOW` descriptor).
///
/// # Errors
/// `EINVAL` if it is not a symbolic link (`ENOENT` for an empty path naming something
/// else, as Linux answers); the path errors.
pub fn readlink(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
) -> Result<Vec<u8>, Errno> {
    let id = path::resolve(
        fs,
        who,
        start,
        path_bytes,
        Follow::NoFollow,
        EmptyPath::Allow,
    )?;
    match fs.inode(id)?.content() {
        Content::Symlink(target) => Ok(target.clone()),
        _ if path_bytes.is_empty() => Err(Errno::ENOENT),
        _ => Err(Errno::EINVAL),
    }
}

/// `linkat`: a new name for an existing non-directory.
///
/// # Errors
/// `EINVAL` (unknown flags), `EPERM` (a directory), `EEXIST`, `ENOENT` (missing source;
/// an unlinked source; trailing slash on the new name; `AT_EMPTY_PATH` without root),
/// `EXDEV` (into a mount point), `EACCES`, `EMLINK`.
#[allow(clippy::too_many_arguments)]
pub fn link(
    fs: &mut Fs,
    who: &Identity,
    old_start: InodeId,
    old_path: &[u8],
    new_start: InodeId,
    new_path: &[u8],
    flags: u32,
    now: Timespec,
) -> Result<(), Errno> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 {
        Follow::Follow
    } else {
        Follow::NoFollow
    };
    // Linux allows AT_EMPTY_PATH here only with CAP_DAC_READ_SEARCH.
    let empty = if flags & AT_EMPTY_PATH != 0 && who.is_root() {
        EmptyPath::Allow
    } else {
        EmptyPath::Refuse
    };
    let source = path::resolve(fs, who, old_start, old_path, follow, empty)?;
    let source_inode = fs.inode(source)?;
    if source_inode.is_directory() {
        return Err(Errno::EPERM);
    }
    if source_inode.nlink() == 0 {
        return Err(Errno::ENOENT);
    }
    let parent = path::resolve_parent(fs, who, new_start, new_path)?;
    let directory = parent.directory;
    if fs.mount_at(directory).is_some() {
        return Err(Errno::EXDEV);
    }
    let name = creation_name(fs, who, parent, NewNode::Other)?;
    fs.attach(directory, &name, source, now)
}

// ---------------------------------------------------------------------------------
// Attributes: chmod, utimens, stat, access
// ---------------------------------------------------------------------------------

/// `fchmod`: sets the permission bits of `id` (the type is kept). A caller outside
/// the file's group loses set-group-id, as Linux does.
///
/// # Errors
/// `EPERM` unless the caller owns the file or is root.
pub fn chmod(
    fs: &mut Fs,
    who: &Identity,
    id: InodeId,
    mode: u32,
    now: Timespec,
) -> Result<(), Errno> {
    let inode = fs.inode_mut(id)?;
    if !who.is_root() && who.uid != inode.uid {
        return Err(Errno::EPERM);
    }
    let mut permissions = mode & PERMISSION_BITS;
    if !who.is_root() && who.gid != inode.gid {
        permissions &= !S_ISGID;
    }
    inode.mode = inode.content.type_bits() | permissions;
    inode.ctime = now;
    Ok(())
}

/// `fchmodat`: [`chmod`] by path. With [`Follow::NoFollow`] a symlink cannot change
/// mode.
///
/// # Errors
/// `EOPNOTSUPP` for a link not followed; otherwise as [`chmod`] and the path errors.
pub fn chmod_path(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    mode: u32,
    follow: Follow,
    now: Timespec,
) -> Result<(), Errno> {
    let id = path::resolve(fs, who, start, path_bytes, follow, EmptyPath::Refuse)?;
    if fs.inode(id)?.is_symlink() {
        return Err(Errno::EOPNOTSUPP);
    }
    chmod(fs, who, id, mode, now)
}

/// `utimensat`/`futimens` on an inode: `None` means "both now" (a null `times`).
///
/// # Errors
/// `EPERM` (an explicit time and the caller neither owns the file nor is root),
/// `EACCES` (only "now" times and the caller neither owns, may write, nor is root).
pub fn utimens(
    fs: &mut Fs,
    who: &Identity,
    id: InodeId,
    times: Option<[TimeUpdate; 2]>,
    now: Timespec,
) -> Result<(), Errno> {
    let [access, modification] = times.unwrap_or([TimeUpdate::Now, TimeUpdate::Now]);
    if access == TimeUpdate::Omit && modification == TimeUpdate::Omit {
        return Ok(());
    }
    let inode = fs.inode(id)?;
    let owner = who.is_root() || who.uid == inode.uid();
    let explicit =
        matches!(access, TimeUpdate::Set(_)) || matches!(modification, TimeUpdate::Set(_));
    if explicit && !owner {
        return Err(Errno::EPERM);
    }
    if !owner && check_permission(inode, who, AccessMask::WRITE).is_err() {
        return Err(Errno::EACCES);
    }
    let inode = fs.inode_mut(id)?;
    for (update, field) in [(access, &mut inode.atime), (modification, &mut inode.mtime)] {
        match update {
            TimeUpdate::Now => *field = now,
            TimeUpdate::Set(time) => *field = time,
            TimeUpdate::Omit => {}
        }
    }
    inode.ctime = now;
    Ok(())
}

/// `utimensat` with a path and its flags (`AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH`).
///
/// # Errors
/// `EINVAL` for other flags; otherwise as [`utimens`] and the path errors.
#[allow(clippy::too_many_arguments)]
pub fn utimens_path(
    fs: &mut Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    times: Option<[TimeUpdate; 2]>,
    flags: u32,
    now: Timespec,
) -> Result<(), Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (follow, empty) = decode_at_flags(flags);
    let id = path::resolve(fs, who, start, path_bytes, follow, empty)?;
    utimens(fs, who, id, times, now)
}

/// `fstat`.
///
/// # Errors
/// `ENOENT` if the inode is gone.
pub fn fstat(fs: &Fs, id: InodeId) -> Result<Stat, Errno> {
    Ok(Stat::of(fs.inode(id)?, fs.device()))
}

/// `newfstatat`/`statx` lookups: `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH` and
/// `AT_NO_AUTOMOUNT` (ignored) are allowed (statx's sync bits are checked by
/// [`super::stat::check_statx_arguments`] and must be masked off first).
///
/// # Errors
/// `EINVAL` for other flags; the path errors.
pub fn stat_path(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    flags: u32,
) -> Result<Stat, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (follow, empty) = decode_at_flags(flags);
    let id = path::resolve(fs, who, start, path_bytes, follow, empty)?;
    fstat(fs, id)
}

/// `faccessat2`: `mode` is `F_OK` or a mix of `R_OK`, `W_OK`, `X_OK`. The caller picks
/// `who`: the real ids, or the effective ones with `AT_EACCESS`.
///
/// # Errors
/// `EINVAL` (unknown mode bits or flags), `EACCES`, the path errors.
pub fn access(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path_bytes: &[u8],
    mode: u32,
    flags: u32,
) -> Result<(), Errno> {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (follow, empty) = decode_at_flags(flags);
    let id = path::resolve(fs, who, start, path_bytes, follow, empty)?;
    let wanted = AccessMask(mode);
    if wanted.is_empty() {
        return Ok(());
    }
    check_permission(fs.inode(id)?, who, wanted)
}

// ---------------------------------------------------------------------------------
// Directories: getdents64, chdir, getcwd
// ---------------------------------------------------------------------------------

/// `getdents64`: fills `buffer` with `struct linux_dirent64` records (`d_ino` u64 at 0,
/// `d_off` i64 at 8, `d_reclen` u16 at 16, `d_type` u8 at 18, the NUL-terminated name
/// at 19, each record padded with zeros to a multiple of 8) starting at the
/// description's offset, and advances it. `.` and `..` come first; `d_off` is the
/// offset that resumes after the record. Returns 0 at the end.
///
/// Offsets are entry cookies that only grow, so entries added or removed between
/// calls never make a reader see an entry twice or miss one present throughout.
///
/// # Errors
/// `EBADF` (`O_PATH`), `ENOTDIR`, `ENOENT` (the directory was removed), `EINVAL`
/// (the buffer is too small for the next record).
pub fn getdents64(fs: &Fs, file: &mut OpenFile, buffer: &mut [u8]) -> Result<usize, Errno> {
    if file.access == AccessMode::PathOnly {
        return Err(Errno::EBADF);
    }
    let inode = fs.inode(file.inode)?;
    let directory = inode.as_directory().ok_or(Errno::ENOTDIR)?;
    if inode.is_removed_directory() {
        return Err(Errno::ENOENT);
    }
    let mut written = 0;
    let mut cursor = file.offset;
    loop {
        let (name, ino, kind, next): (&[u8], InodeId, u8, u64) = match cursor {
            0 => (b".", inode.id(), super::inode::dirent_type::DIRECTORY, 1),
            1 => (
                b"..",
                if inode.id() == fs.root() {
                    inode.id()
                } else {
                    directory.parent()
                },
                super::inode::dirent_type::DIRECTORY,
                super::inode::FIRST_ENTRY_COOKIE,
            ),
            _ => match directory.entry_from(cursor) {
                None => break,
                Some((cookie, entry)) => {
                    let kind = fs
                        .inode(entry.inode)
                        .map_or(super::inode::dirent_type::UNKNOWN, |child| {
                            child.content().dirent_type()
                        });
                    (
                        entry.name.as_slice(),
                        entry.inode,
                        kind,
                        cookie.saturating_add(1),
                    )
                }
            },
        };
        let length = (DIRENT64_HEADER_SIZE + name.len() + 1 + 7) & !7;
        let Some(record) = buffer.get_mut(written..written + length) else {
            if written == 0 {
                return Err(Errno::EINVAL);
            }
            break;
        };
        record.fill(0);
        record[0..8].copy_from_slice(&ino.0.to_le_bytes());
        record[8..16].copy_from_slice(&next.to_le_bytes());
        // A record is at most 19 + 255 + 1 rounded up: 280 bytes.
        record[16..18].copy_from_slice(&(length as u16).to_le_bytes());
        record[18] = kind;
        record[DIRENT64_HEADER_SIZE..DIRENT64_HEADER_SIZE + name.len()].copy_from_slice(name);
        written += length;
        cursor = next;
    }
    file.offset = cursor;
    Ok(written)
}

/// `chdir`/`fchdir` check: the directory `path` names, which the caller makes the
/// working directory (and [`Fs::retain`]s).
///
/// # Errors
/// `ENOTDIR`, `EACCES` (no search permission), the path errors.
pub fn chdir(fs: &Fs, who: &Identity, start: InodeId, path_bytes: &[u8]) -> Result<InodeId, Errno> {
    let id = path::resolve(fs, who, start, path_bytes, Follow::Follow, EmptyPath::Allow)?;
    let inode = fs.inode(id)?;
    if !inode.is_directory() {
        return Err(Errno::ENOTDIR);
    }
    check_permission(inode, who, AccessMask::EXECUTE)?;
    Ok(id)
}

/// `getcwd`: the absolute path of directory `id`.
///
/// # Errors
/// `ENOENT` if the directory was removed; `ENAMETOOLONG` if the path would not fit
/// `PATH_MAX`.
pub fn getcwd(fs: &Fs, id: InodeId) -> Result<Vec<u8>, Errno> {
    let mut names: Vec<&[u8]> = Vec::new();
    let mut current = id;
    let mut length = 1;
    while current != fs.root() {
        let inode = fs.inode(current)?;
        if inode.is_removed_directory() {
            return Err(Errno::ENOENT);
        }
        let parent = inode.as_directory().ok_or(Errno::ENOTDIR)?.parent();
        let name = fs
            .inode(parent)?
            .as_directory()
            .and_then(|directory| {
                directory
                    .entries()
                    .find(|(_, entry)| entry.inode == current)
                    .map(|(_, entry)| entry.name.as_slice())
            })
            .ok_or(Errno::ENOENT)?;
        length += name.len() + 1;
        if length >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        names.push(name);
        current = parent;
    }
    let mut path = Vec::with_capacity(length);
    for name in names.iter().rev() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    Ok(path)
}

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

fn decode_at_flags(flags: u32) -> (Follow, EmptyPath) {
    let follow = if flags & AT_SYMLINK_NOFOLLOW != 0 {
        Follow::NoFollow
    } else {
        Follow::Follow
    };
    let empty = if flags & AT_EMPTY_PATH != 0 {
        EmptyPath::Allow
    } else {
        EmptyPath::Refuse
    };
    (follow, empty)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NewNode {
    Directory,
    Other,
}

/// The name a creating call may use: Linux's `filename_create` checks in its order.
fn creation_name(fs: &Fs, who: &Identity, parent: Parent, node: NewNode) -> Result<Vec<u8>, Errno> {
    let LastComponent::Normal(name) = parent.last else {
        return Err(Errno::EEXIST);
    };
    if fs.lookup(parent.directory, &name)?.is_some() {
        return Err(Errno::EEXIST);
    }
    if parent.trailing_slash == TrailingSlash::Present && node == NewNode::Other {
        return Err(Errno::ENOENT);
    }
    check_creatable(fs, who, parent.directory)?;
    Ok(name)
}

/// Linux's `may_create`: the directory is alive, writable and searchable; here also
/// not a mount point.
fn check_creatable(fs: &Fs, who: &Identity, directory: InodeId) -> Result<(), Errno> {
    let inode = fs.inode(directory)?;
    if inode.is_removed_directory() {
        return Err(Errno::ENOENT);
    }
    check_permission(inode, who, AccessMask::WRITE_EXECUTE)?;
    if fs.mount_at(directory).is_some() {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// Owner of a new inode in `directory`, and whether the directory is set-group-id
/// (new inodes then take its group, and new directories its set-group-id bit).
fn new_owner(fs: &Fs, who: &Identity, directory: InodeId) -> Result<((u32, u32), bool), Errno> {
    let parent = fs.inode(directory)?;
    if parent.mode() & S_ISGID != 0 {
        Ok(((who.uid, parent.gid()), true))
    } else {
        Ok(((who.uid, who.gid), false))
    }
}

fn inherited_setgid(inherited: bool, directory: bool) -> u32 {
    if inherited && directory {
        S_ISGID
    } else {
        0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Victim {
    Directory,
    NonDirectory,
    Any,
}

/// Linux's `may_delete`: write and search on the directory, the sticky-bit rule, then
/// the victim's type.
fn may_delete(
    fs: &Fs,
    who: &Identity,
    directory: InodeId,
    victim: InodeId,
    expected: Victim,
) -> Result<(), Errno> {
    let parent = fs.inode(directory)?;
    let inode = fs.inode(victim)?;
    check_permission(parent, who, AccessMask::WRITE_EXECUTE)?;
    if parent.mode() & S_ISVTX != 0
        && !who.is_root()
        && who.uid != inode.uid()
        && who.uid != parent.uid()
    {
        return Err(Errno::EPERM);
    }
    match expected {
        Victim::Directory if !inode.is_directory() => Err(Errno::ENOTDIR),
        Victim::NonDirectory if inode.is_directory() => Err(Errno::EISDIR),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
