//! The in-memory file system: the inode table, the link/unlink primitives that keep
//! link counts right, building the tree from the boot cpio archive, and the standard
//! additions (`/dev` nodes, `/tmp`, the `/proc` mount point).

use super::inode::{
    CharacterDevice, Content, DeviceNumber, Directory, Inode, InodeId, Timespec, S_ISVTX,
};
use super::path::{self, Follow, Identity, NAME_MAX};
use crate::cpio::{self, CpioEntry, CpioError, FileType};
use crate::errno::Errno;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// The default and largest limit on a regular file's size (1 GiB); writes and
/// truncations beyond the limit fail with `EFBIG`.
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// The device number `st_dev` reports for every inode (an anonymous device, as tmpfs).
pub const DEFAULT_DEVICE: DeviceNumber = DeviceNumber::new(0, 1);

/// A file system mounted on a directory, whose contents the caller generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MountKind {
    /// `/proc`.
    Proc,
}

/// An in-memory file system.
///
/// # Invariants
/// Every inode reachable from the root has `nlink` equal to the number of directory
/// entries naming it (directories add their `.` and their subdirectories' `..`); the
/// directory graph is a tree; `data_bytes` is the sum of regular-file lengths. Inodes
/// with `nlink == 0` stay only while [`Fs::retain`] references hold them.
#[derive(Clone, Debug)]
pub struct Fs {
    inodes: BTreeMap<InodeId, Inode>,
    root: InodeId,
    next_id: u64,
    device: DeviceNumber,
    mounts: BTreeMap<InodeId, MountKind>,
    data_bytes: u64,
    capacity: u64,
    max_file_size: u64,
}

/// Why [`Fs::from_cpio`] rejected an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveError {
    /// The archive itself is malformed; `after` names the last entry read correctly.
    Malformed {
        /// The last good entry, if any.
        after: Option<String>,
        /// What the cpio reader found.
        error: CpioError,
    },
    /// An entry is well-formed but cannot be placed in the tree.
    Entry {
        /// The entry's name as stored.
        name: String,
        /// Why.
        problem: EntryProblem,
    },
}

/// Why one archive entry could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryProblem {
    /// The name has a `..` component or a component longer than 255 bytes.
    BadName,
    /// A parent component exists and is not a directory (or a link to one).
    ParentNotDirectory,
    /// A non-directory entry would replace a directory.
    ReplacesDirectory,
    /// A symlink with an empty target.
    EmptySymlink,
    /// The mode's file-type bits name no file type.
    UnknownType(u32),
    /// Adding the entry failed as a file-system operation would.
    Failed(Errno),
}

impl core::fmt::Display for ArchiveError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ArchiveError::Malformed {
                after: Some(name),
                error,
            } => write!(formatter, "{error} (the entry after {name:?})"),
            ArchiveError::Malformed { after: None, error } => {
                write!(formatter, "{error} (the first entry)")
            }
            ArchiveError::Entry { name, problem } => {
                write!(formatter, "cpio entry {name:?}: ")?;
                match problem {
                    EntryProblem::BadName => {
                        formatter.write_str("name has '..' or a component over 255 bytes")
                    }
                    EntryProblem::ParentNotDirectory => {
                        formatter.write_str("a parent is not a directory")
                    }
                    EntryProblem::ReplacesDirectory => {
                        formatter.write_str("would replace a directory")
                    }
                    EntryProblem::EmptySymlink => formatter.write_str("symlink target is empty"),
                    EntryProblem::UnknownType(bits) => {
                        write!(formatter, "unknown file type {bits:#o}")
                    }
                    EntryProblem::Failed(errno) => write!(formatter, "{errno}"),
                }
            }
        }
    }
}

impl Fs {
    /// A file system holding only an empty root directory (mode 0755, owned by root).
    #[must_use]
    pub fn new(now: Timespec) -> Fs {
        let root = InodeId(1);
        let mut inode = Inode::new(
            root,
            0o755,
            (0, 0),
            Content::Directory(Directory::new(root)),
            now,
        );
        // The root's `.` and its own `..`.
        inode.nlink = 2;
        let mut inodes = BTreeMap::new();
        inodes.insert(root, inode);
        Fs {
            inodes,
            root,
            next_id: 2,
            device: DEFAULT_DEVICE,
            mounts: BTreeMap::new(),
            data_bytes: 0,
            capacity: u64::MAX,
            max_file_size: MAX_FILE_SIZE,
        }
    }

    /// Builds the tree a newc archive describes. Missing parent directories are created
    /// (0755, root); modes, owners and modification times are kept; hard links (same
    /// inode number, `nlink > 1`) share one inode; a later entry replaces an earlier
    /// non-directory of the same name, and a directory entry updates an existing
    /// directory's metadata. Access and modification times are the entry's `mtime`;
    /// change and birth times are `now`.
    ///
    /// # Errors
    /// [`ArchiveError`] naming the entry that is malformed or cannot be placed.
    pub fn from_cpio(archive: &[u8], now: Timespec) -> Result<Fs, ArchiveError> {
        let mut fs = Fs::new(now);
        let mut hard_links = BTreeMap::new();
        let mut previous: Option<&str> = None;
        for entry in cpio::entries(archive) {
            let entry = entry.map_err(|error| ArchiveError::Malformed {
                after: previous.map(String::from),
                error,
            })?;
            fs.add_archive_entry(&entry, &mut hard_links, now)
                .map_err(|problem| ArchiveError::Entry {
                    name: String::from(entry.name),
                    problem,
                })?;
            previous = Some(entry.name);
        }
        Ok(fs)
    }

    /// Adds what every system expects, keeping anything already there: `/dev` with
    /// `null`, `zero`, `random`, `urandom` (0666), `tty` (0666), `console` (0600), the
    /// `fd`, `stdin`, `stdout` and `stderr` links into `/proc/self/fd`; `/tmp` (1777);
    /// `/proc` (0555) with the [`MountKind::Proc`] mount on it.
    ///
    /// # Errors
    /// `ENOTDIR` if `/dev`, `/tmp` or `/proc` exists and is not a directory.
    pub fn add_standard_nodes(&mut self, now: Timespec) -> Result<(), Errno> {
        let root = self.root;
        let dev = self.ensure_directory(root, b"dev", 0o755, now)?;
        let devices = [
            (&b"null"[..], CharacterDevice::Null, 0o666),
            (b"zero", CharacterDevice::Zero, 0o666),
            (b"random", CharacterDevice::Random, 0o666),
            (b"urandom", CharacterDevice::Urandom, 0o666),
            (b"tty", CharacterDevice::Tty, 0o666),
            (b"console", CharacterDevice::Console, 0o600),
        ];
        for (name, device, permissions) in devices {
            if self.lookup(dev, name)?.is_none() {
                let node =
                    self.allocate(Content::CharacterDevice(device), permissions, (0, 0), now)?;
                self.attach(dev, name, node, now)?;
            }
        }
        let links = [
            (&b"fd"[..], &b"/proc/self/fd"[..]),
            (b"stdin", b"/proc/self/fd/0"),
            (b"stdout", b"/proc/self/fd/1"),
            (b"stderr", b"/proc/self/fd/2"),
        ];
        for (name, target) in links {
            if self.lookup(dev, name)?.is_none() {
                let node = self.allocate(Content::Symlink(target.to_vec()), 0o777, (0, 0), now)?;
                self.attach(dev, name, node, now)?;
            }
        }
        self.ensure_directory(root, b"tmp", 0o777 | S_ISVTX, now)?;
        let proc_directory = self.ensure_directory(root, b"proc", 0o555, now)?;
        self.mounts.insert(proc_directory, MountKind::Proc);
        Ok(())
    }

    /// The root directory.
    #[must_use]
    pub const fn root(&self) -> InodeId {
        self.root
    }

    /// The device number every inode reports as `st_dev`.
    #[must_use]
    pub const fn device(&self) -> DeviceNumber {
        self.device
    }

    /// The inode `id`.
    ///
    /// # Errors
    /// `ENOENT` if no such inode exists (it was freed).
    pub fn inode(&self, id: InodeId) -> Result<&Inode, Errno> {
        self.inodes.get(&id).ok_or(Errno::ENOENT)
    }

    /// Every live inode, in number order.
    pub fn inodes(&self) -> impl Iterator<Item = &Inode> + '_ {
        self.inodes.values()
    }

    /// The mount on directory `id`, if any.
    #[must_use]
    pub fn mount_at(&self, id: InodeId) -> Option<MountKind> {
        self.mounts.get(&id).copied()
    }

    /// The directory `kind` is mounted on, if it is.
    #[must_use]
    pub fn mount_point(&self, kind: MountKind) -> Option<InodeId> {
        self.mounts
            .iter()
            .find(|(_, mounted)| **mounted == kind)
            .map(|(id, _)| *id)
    }

    /// Marks directory `id` as the mount point of `kind`: path resolution hands every
    /// name below it to the caller (see [`path::locate`]), and the directory cannot be
    /// removed, renamed or created in.
    ///
    /// # Errors
    /// `ENOTDIR` if `id` is not a directory; `EBUSY` if something is mounted there.
    pub fn mount(&mut self, id: InodeId, kind: MountKind) -> Result<(), Errno> {
        if !self.inode(id)?.is_directory() {
            return Err(Errno::ENOTDIR);
        }
        if self.mounts.contains_key(&id) {
            return Err(Errno::EBUSY);
        }
        self.mounts.insert(id, kind);
        Ok(())
    }

    /// Limits the bytes regular files may hold in total (`ENOSPC` beyond it).
    pub fn set_capacity(&mut self, bytes: u64) {
        self.capacity = bytes;
    }

    /// The largest regular file; writes and truncations beyond it fail with `EFBIG`.
    #[must_use]
    pub const fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Sets the largest regular file (at most [`MAX_FILE_SIZE`]).
    pub fn set_max_file_size(&mut self, bytes: u64) {
        self.max_file_size = bytes.min(MAX_FILE_SIZE);
    }

    /// Bytes regular files hold in total.
    #[must_use]
    pub const fn used_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Takes a reference that keeps inode `id` alive after its last link goes: an open
    /// file description, a working directory, a running executable.
    ///
    /// # Errors
    /// `ENOENT` if the inode is gone; `ENFILE` if its reference count would overflow.
    pub fn retain(&mut self, id: InodeId) -> Result<(), Errno> {
        let inode = self.inodes.get_mut(&id).ok_or(Errno::ENOENT)?;
        inode.open_references = inode.open_references.checked_add(1).ok_or(Errno::ENFILE)?;
        Ok(())
    }

    /// Drops a reference taken by [`Fs::retain`]; an unlinked inode is freed with its
    /// last reference. Releasing an unknown or unreferenced inode does nothing.
    pub fn release(&mut self, id: InodeId) {
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.open_references = inode.open_references.saturating_sub(1);
            self.free_if_unused(id);
        }
    }

    /// The inode `name` names in directory `directory`.
    ///
    /// # Errors
    /// `ENOENT` if `directory` is gone; `ENOTDIR` if it is not a directory.
    pub fn lookup(&self, directory: InodeId, name: &[u8]) -> Result<Option<InodeId>, Errno> {
        let inode = self.inode(directory)?;
        let directory = inode.as_directory().ok_or(Errno::ENOTDIR)?;
        Ok(directory.lookup(name))
    }

    // ---- Primitives for `ops`; each keeps the link-count invariant. ----

    pub(crate) fn inode_mut(&mut self, id: InodeId) -> Result<&mut Inode, Errno> {
        self.inodes.get_mut(&id).ok_or(Errno::ENOENT)
    }

    /// Creates an unlinked inode (directories start with `nlink` 1, their `.`).
    pub(crate) fn allocate(
        &mut self,
        content: Content,
        permission_bits: u32,
        owner: (u32, u32),
        now: Timespec,
    ) -> Result<InodeId, Errno> {
        let id = InodeId(self.next_id);
        self.next_id = self.next_id.checked_add(1).ok_or(Errno::ENOSPC)?;
        let added_bytes = match &content {
            Content::Regular(bytes) => bytes.len() as u64,
            _ => 0,
        };
        self.charge(0, added_bytes)?;
        let is_directory = matches!(content, Content::Directory(_));
        let mut inode = Inode::new(id, permission_bits, owner, content, now);
        if is_directory {
            inode.nlink = 1;
        }
        self.inodes.insert(id, inode);
        Ok(id)
    }

    /// Adds entry `name` → `child` in `directory`; bumps the link counts (the child's,
    /// and the directory's for a subdirectory's `..`) and the directory's times.
    pub(crate) fn attach(
        &mut self,
        directory: InodeId,
        name: &[u8],
        child: InodeId,
        now: Timespec,
    ) -> Result<(), Errno> {
        let child_is_directory = self.inode(child)?.is_directory();
        let child_nlink = self
            .inode(child)?
            .nlink
            .checked_add(1)
            .ok_or(Errno::EMLINK)?;
        let parent_nlink = if child_is_directory {
            self.inode(directory)?
                .nlink
                .checked_add(1)
                .ok_or(Errno::EMLINK)?
        } else {
            self.inode(directory)?.nlink
        };
        let parent = self.inode_mut(directory)?;
        let Content::Directory(entries) = &mut parent.content else {
            return Err(Errno::ENOTDIR);
        };
        entries.insert(name, child)?;
        parent.nlink = parent_nlink;
        parent.mtime = now;
        parent.ctime = now;
        let inode = self.inode_mut(child)?;
        inode.nlink = child_nlink;
        inode.ctime = now;
        if let Content::Directory(entries) = &mut inode.content {
            entries.set_parent(directory);
        }
        Ok(())
    }

    /// Removes entry `name` from `directory` and drops the link counts `attach` added.
    /// The child is not freed here; call [`Fs::free_if_unused`] when done with it.
    pub(crate) fn detach(
        &mut self,
        directory: InodeId,
        name: &[u8],
        now: Timespec,
    ) -> Result<InodeId, Errno> {
        let parent = self.inode_mut(directory)?;
        let Content::Directory(entries) = &mut parent.content else {
            return Err(Errno::ENOTDIR);
        };
        let child = entries.remove(name).ok_or(Errno::ENOENT)?;
        parent.mtime = now;
        parent.ctime = now;
        let child_is_directory = self.inode(child)?.is_directory();
        if child_is_directory {
            let parent = self.inode_mut(directory)?;
            parent.nlink = parent.nlink.saturating_sub(1);
        }
        let inode = self.inode_mut(child)?;
        inode.nlink = inode.nlink.saturating_sub(1);
        inode.ctime = now;
        Ok(child)
    }

    /// Frees `id` if nothing names or references it any more.
    pub(crate) fn free_if_unused(&mut self, id: InodeId) {
        let unused = self.inodes.get(&id).is_some_and(|inode| {
            inode.open_references == 0 && (inode.nlink == 0 || inode.is_removed_directory())
        });
        if unused && id != self.root {
            if let Some(inode) = self.inodes.remove(&id) {
                if let Content::Regular(bytes) = &inode.content {
                    self.data_bytes = self.data_bytes.saturating_sub(bytes.len() as u64);
                }
            }
            self.mounts.remove(&id);
        }
    }

    /// Accounts a regular file growing from `old_length` to `new_length` bytes.
    pub(crate) fn charge(&mut self, old_length: u64, new_length: u64) -> Result<(), Errno> {
        let total = self
            .data_bytes
            .saturating_sub(old_length)
            .checked_add(new_length)
            .ok_or(Errno::ENOSPC)?;
        if new_length > old_length && total > self.capacity {
            return Err(Errno::ENOSPC);
        }
        self.data_bytes = total;
        Ok(())
    }

    /// True if `ancestor` is `descendant` or one of its parents.
    pub(crate) fn is_ancestor(&self, ancestor: InodeId, descendant: InodeId) -> bool {
        let mut current = descendant;
        // The tree invariant bounds the walk; the counter guards against a broken one.
        for _ in 0..=self.inodes.len() {
            if current == ancestor {
                return true;
            }
            let Some(directory) = self.inodes.get(&current).and_then(Inode::as_directory) else {
                return false;
            };
            if current == self.root || directory.parent() == current {
                return false;
            }
            current = directory.parent();
        }
        false
    }

    fn ensure_directory(
        &mut self,
        parent: InodeId,
        name: &[u8],
        permission_bits: u32,
        now: Timespec,
    ) -> Result<InodeId, Errno> {
        if let Some(existing) = self.lookup(parent, name)? {
            return if self.inode(existing)?.is_directory() {
                Ok(existing)
            } else {
                Err(Errno::ENOTDIR)
            };
        }
        let directory = self.allocate(
            Content::Directory(Directory::new(parent)),
            permission_bits,
            (0, 0),
            now,
        )?;
        self.attach(parent, name, directory, now)?;
        Ok(directory)
    }

    fn add_archive_entry(
        &mut self,
        entry: &CpioEntry<'_>,
        hard_links: &mut BTreeMap<(u32, u32, u32), InodeId>,
        now: Timespec,
    ) -> Result<(), EntryProblem> {
        let failed = EntryProblem::Failed;
        let mut components = Vec::new();
        for component in entry.name.as_bytes().split(|byte| *byte == b'/') {
            match component {
                b"" | b"." => {}
                b".." => return Err(EntryProblem::BadName),
                name if name.len() > NAME_MAX => return Err(EntryProblem::BadName),
                name => components.push(name),
            }
        }
        let file_type = entry.file_type();
        let modified = Timespec::new(i64::from(entry.mtime), 0);
        let Some((last, parents)) = components.split_last() else {
            // The archive's "." describes the root itself.
            if file_type != FileType::Directory {
                return Err(EntryProblem::ReplacesDirectory);
            }
            let root = self.root;
            self.apply_archive_metadata(root, entry, modified)
                .map_err(failed)?;
            return Ok(());
        };

        let mut directory = self.root;
        for name in parents {
            directory = match self.lookup(directory, name).map_err(failed)? {
                None => self
                    .ensure_directory(directory, name, 0o755, now)
                    .map_err(failed)?,
                Some(_) => {
                    let root_identity = Identity::ROOT;
                    let target = path::resolve(
                        self,
                        &root_identity,
                        directory,
                        name,
                        Follow::Follow,
                        path::EmptyPath::Refuse,
                    )
                    .map_err(|_| EntryProblem::ParentNotDirectory)?;
                    if !self.inode(target).map_err(failed)?.is_directory() {
                        return Err(EntryProblem::ParentNotDirectory);
                    }
                    target
                }
            };
        }

        let existing = self.lookup(directory, last).map_err(failed)?;
        if let Some(existing) = existing {
            let existing_is_directory = self.inode(existing).map_err(failed)?.is_directory();
            if existing_is_directory {
                if file_type == FileType::Directory {
                    return self
                        .apply_archive_metadata(existing, entry, modified)
                        .map_err(failed);
                }
                return Err(EntryProblem::ReplacesDirectory);
            }
        }

        let link_key = (entry.dev_major, entry.dev_minor, entry.ino);
        let shared = if entry.nlink > 1 && file_type != FileType::Directory {
            hard_links.get(&link_key).copied()
        } else {
            None
        };
        let node = match shared {
            Some(node) => {
                // newc stores a hard-linked file's data with its last name only. Only a
                // regular file takes it: a device or symlink sharing the inode number
                // keeps its content, and nothing is charged for bytes it does not store.
                let inode = self.inode(node).map_err(failed)?;
                if !entry.data.is_empty() && matches!(inode.content, Content::Regular(_)) {
                    let old_length = inode.size();
                    self.charge(old_length, entry.data.len() as u64)
                        .map_err(failed)?;
                    let inode = self.inode_mut(node).map_err(failed)?;
                    if let Content::Regular(bytes) = &mut inode.content {
                        *bytes = entry.data.to_vec();
                    }
                }
                node
            }
            None => {
                let content = match file_type {
                    FileType::Regular => Content::Regular(entry.data.to_vec()),
                    FileType::Directory => Content::Directory(Directory::new(directory)),
                    FileType::Symlink if entry.data.is_empty() => {
                        return Err(EntryProblem::EmptySymlink)
                    }
                    FileType::Symlink => Content::Symlink(entry.data.to_vec()),
                    FileType::CharacterDevice => {
                        Content::CharacterDevice(CharacterDevice::from_device_number(
                            DeviceNumber::new(entry.rdev_major, entry.rdev_minor),
                        ))
                    }
                    FileType::BlockDevice => {
                        Content::BlockDevice(DeviceNumber::new(entry.rdev_major, entry.rdev_minor))
                    }
                    FileType::Fifo => Content::Fifo,
                    FileType::Socket => Content::Socket,
                    FileType::Unknown(bits) => return Err(EntryProblem::UnknownType(bits)),
                };
                let node = self
                    .allocate(
                        content,
                        entry.permission_bits(),
                        (entry.uid, entry.gid),
                        now,
                    )
                    .map_err(failed)?;
                if entry.nlink > 1 && file_type != FileType::Directory {
                    hard_links.insert(link_key, node);
                }
                node
            }
        };
        if existing == Some(node) {
            return self
                .apply_archive_metadata(node, entry, modified)
                .map_err(failed);
        }
        if existing.is_some() {
            let replaced = self.detach(directory, last, now).map_err(failed)?;
            self.free_if_unused(replaced);
        }
        self.attach(directory, last, node, now).map_err(failed)?;
        self.apply_archive_metadata(node, entry, modified)
            .map_err(failed)
    }

    fn apply_archive_metadata(
        &mut self,
        id: InodeId,
        entry: &CpioEntry<'_>,
        modified: Timespec,
    ) -> Result<(), Errno> {
        let inode = self.inode_mut(id)?;
        inode.mode = inode.content.type_bits() | entry.permission_bits();
        inode.uid = entry.uid;
        inode.gid = entry.gid;
        inode.atime = modified;
        inode.mtime = modified;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Found by the `cpio` fuzz target: an archive that hard-links a device (or a
    /// symlink) and gives the second name data must not charge bytes nobody stores.
    #[test]
    fn hard_linked_non_regular_inodes_are_not_charged_for_data() {
        for archive in [
            &include_bytes!("../../../fuzz/regressions/cpio/hard-linked-device-with-data.cpio")[..],
            &include_bytes!("../../../fuzz/regressions/cpio/hard-linked-symlink-with-data.cpio")[..],
        ] {
            let fs = super::Fs::from_cpio(archive, super::Timespec::default()).unwrap();
            let stored: u64 = fs
                .inodes()
                .filter(|inode| matches!(inode.content, super::Content::Regular(_)))
                .map(|inode| inode.size())
                .sum();
            assert_eq!(fs.used_bytes(), stored);
        }
    }

    use super::*;
    use crate::cpio::{CpioMetadata, CpioWriter};
    use crate::fs::inode::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG};

    const NOW: Timespec = Timespec::new(1_700_000_000, 5);

    fn resolve(fs: &Fs, text: &str) -> Result<InodeId, Errno> {
        path::resolve(
            fs,
            &Identity::ROOT,
            fs.root(),
            text.as_bytes(),
            Follow::Follow,
            path::EmptyPath::Refuse,
        )
    }

    fn sample_archive() -> Vec<u8> {
        let mut writer = CpioWriter::new();
        writer.add_directory(".", 0o755).unwrap();
        writer.add_directory("bin", 0o755).unwrap();
        writer
            .add_entry(
                "bin/hello",
                &CpioMetadata {
                    mtime: 1234,
                    uid: 7,
                    gid: 8,
                    ..CpioMetadata::new(FileType::Regular, 0o4755)
                },
                b"\x7fELF",
            )
            .unwrap();
        writer
            .add_file("usr/share/doc/readme", 0o644, b"hi")
            .unwrap();
        writer.add_symlink("lib", "usr/lib").unwrap();
        writer.add_directory("usr/lib", 0o700).unwrap();
        writer.add_file("lib/libc.so", 0o644, b"so").unwrap();
        writer.finish()
    }

    #[test]
    fn builds_the_tree_an_archive_describes() {
        let fs = Fs::from_cpio(&sample_archive(), NOW).unwrap();
        let hello = fs.inode(resolve(&fs, "/bin/hello").unwrap()).unwrap();
        assert_eq!(hello.mode(), S_IFREG | 0o4755);
        assert_eq!((hello.uid(), hello.gid()), (7, 8));
        assert_eq!(hello.mtime(), Timespec::new(1234, 0));
        assert_eq!(hello.ctime(), NOW);
        assert_eq!(hello.content(), &Content::Regular(b"\x7fELF".to_vec()));
        // Implicit parents are 0755 directories.
        let doc = fs.inode(resolve(&fs, "/usr/share/doc").unwrap()).unwrap();
        assert_eq!(doc.mode(), S_IFDIR | 0o755);
        // The explicit entry for an implicitly created directory updates it.
        let usr_lib = fs.inode(resolve(&fs, "usr/lib").unwrap()).unwrap();
        assert_eq!(usr_lib.mode(), S_IFDIR | 0o700);
        // A file placed through a symlinked parent lands in the target directory.
        assert!(fs.lookup(usr_lib.id(), b"libc.so").unwrap().is_some());
        let lib = path::resolve(
            &fs,
            &Identity::ROOT,
            fs.root(),
            b"/lib",
            Follow::NoFollow,
            path::EmptyPath::Refuse,
        )
        .unwrap();
        assert_eq!(fs.inode(lib).unwrap().mode(), S_IFLNK | 0o777);
        assert_eq!(fs.inode(lib).unwrap().size(), 7);
        // root, bin, usr, share, doc, lib(usr/lib): links consistent.
        assert_eq!(fs.inode(fs.root()).unwrap().nlink(), 2 + 2);
        assert_eq!(
            fs.inode(resolve(&fs, "/usr").unwrap()).unwrap().nlink(),
            2 + 2
        );
        assert_eq!(fs.used_bytes(), 4 + 2 + 2);
    }

    #[test]
    fn hard_links_share_an_inode() {
        let mut writer = CpioWriter::new();
        let metadata = CpioMetadata {
            nlink: 2,
            ..CpioMetadata::new(FileType::Regular, 0o644)
        };
        // CpioWriter numbers inodes itself, so build two entries with the same number by
        // writing the same metadata twice and patching the second header's ino field.
        writer.add_entry("a", &metadata, b"").unwrap();
        writer.add_entry("b", &metadata, b"data").unwrap();
        let mut archive = writer.finish();
        let second = archive
            .windows(6)
            .enumerate()
            .filter(|(_, window)| window == b"070701")
            .nth(1)
            .map(|(index, _)| index)
            .unwrap();
        archive[second + 6..second + 14].copy_from_slice(b"00000001");
        let fs = Fs::from_cpio(&archive, NOW).unwrap();
        let a = resolve(&fs, "a").unwrap();
        assert_eq!(resolve(&fs, "b"), Ok(a));
        let inode = fs.inode(a).unwrap();
        assert_eq!(inode.nlink(), 2);
        assert_eq!(inode.content(), &Content::Regular(b"data".to_vec()));
    }

    #[test]
    fn malformed_archives_name_the_entry() {
        let mut archive = sample_archive();
        // Break the third header's magic: the error names the entry before it.
        let third = archive
            .windows(6)
            .enumerate()
            .filter(|(_, window)| window == b"070701")
            .nth(2)
            .map(|(index, _)| index)
            .unwrap();
        archive[third] = b'X';
        let error = Fs::from_cpio(&archive, NOW).unwrap_err();
        assert_eq!(
            error,
            ArchiveError::Malformed {
                after: Some(String::from("bin")),
                error: CpioError::BadMagic { offset: third }
            }
        );
        assert!(alloc::format!("{error}").contains("\"bin\""));

        let mut writer = CpioWriter::new();
        writer.add_file("etc", 0o644, b"").unwrap();
        writer.add_file("etc/passwd", 0o644, b"").unwrap();
        let error = Fs::from_cpio(&writer.finish(), NOW).unwrap_err();
        assert_eq!(
            error,
            ArchiveError::Entry {
                name: String::from("etc/passwd"),
                problem: EntryProblem::ParentNotDirectory
            }
        );

        let mut writer = CpioWriter::new();
        writer.add_file("../escape", 0o644, b"").unwrap();
        assert!(matches!(
            Fs::from_cpio(&writer.finish(), NOW),
            Err(ArchiveError::Entry {
                problem: EntryProblem::BadName,
                ..
            })
        ));

        let mut writer = CpioWriter::new();
        writer.add_directory("d", 0o755).unwrap();
        writer.add_file("d", 0o644, b"").unwrap();
        assert!(matches!(
            Fs::from_cpio(&writer.finish(), NOW),
            Err(ArchiveError::Entry {
                problem: EntryProblem::ReplacesDirectory,
                ..
            })
        ));

        let mut writer = CpioWriter::new();
        writer
            .add_entry(
                "weird",
                &CpioMetadata::new(FileType::Unknown(0o070_000), 0),
                b"",
            )
            .unwrap();
        assert!(matches!(
            Fs::from_cpio(&writer.finish(), NOW),
            Err(ArchiveError::Entry {
                problem: EntryProblem::UnknownType(0o070_000),
                ..
            })
        ));
        let mut writer = CpioWriter::new();
        writer
            .add_entry("empty", &CpioMetadata::new(FileType::Symlink, 0o777), b"")
            .unwrap();
        assert!(matches!(
            Fs::from_cpio(&writer.finish(), NOW),
            Err(ArchiveError::Entry {
                problem: EntryProblem::EmptySymlink,
                ..
            })
        ));
        assert!(matches!(
            Fs::from_cpio(b"", NOW),
            Err(ArchiveError::Malformed { after: None, .. })
        ));
    }

    #[test]
    fn later_entries_replace_files() {
        let mut writer = CpioWriter::new();
        writer.add_file("f", 0o644, b"old contents").unwrap();
        writer.add_file("f", 0o600, b"new").unwrap();
        let fs = Fs::from_cpio(&writer.finish(), NOW).unwrap();
        let f = fs.inode(resolve(&fs, "f").unwrap()).unwrap();
        assert_eq!(f.content(), &Content::Regular(b"new".to_vec()));
        assert_eq!(f.permission_bits(), 0o600);
        assert_eq!(fs.used_bytes(), 3);
        assert_eq!(fs.inodes().count(), 2);
    }

    #[test]
    fn standard_nodes_are_added() {
        let mut fs = Fs::from_cpio(&sample_archive(), NOW).unwrap();
        fs.add_standard_nodes(NOW).unwrap();
        let null = fs.inode(resolve(&fs, "/dev/null").unwrap()).unwrap();
        assert_eq!(null.mode(), S_IFCHR | 0o666);
        assert_eq!(null.rdev(), DeviceNumber::new(1, 3));
        let console = fs.inode(resolve(&fs, "/dev/console").unwrap()).unwrap();
        assert_eq!(
            console.content(),
            &Content::CharacterDevice(CharacterDevice::Console)
        );
        let tmp = fs.inode(resolve(&fs, "/tmp").unwrap()).unwrap();
        assert_eq!(tmp.mode(), S_IFDIR | 0o1777);
        let proc_directory = resolve(&fs, "/proc").unwrap();
        assert_eq!(fs.mount_at(proc_directory), Some(MountKind::Proc));
        assert_eq!(fs.mount_point(MountKind::Proc), Some(proc_directory));
        assert_eq!(fs.mount(proc_directory, MountKind::Proc), Err(Errno::EBUSY));
        // Idempotent.
        let count = fs.inodes().count();
        fs.add_standard_nodes(NOW).unwrap();
        assert_eq!(fs.inodes().count(), count);

        let mut writer = CpioWriter::new();
        writer.add_file("tmp", 0o644, b"").unwrap();
        let mut fs = Fs::from_cpio(&writer.finish(), NOW).unwrap();
        assert_eq!(fs.add_standard_nodes(NOW), Err(Errno::ENOTDIR));
    }
}
