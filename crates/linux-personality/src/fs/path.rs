//! Path resolution as Linux performs it for the `*at()` system calls: relative to a
//! directory (the working directory or a `dirfd`) or the root, with `.`, `..`, trailing
//! slashes, symbolic links (40 at most per lookup), name and path length limits,
//! search permission on every directory walked, and a hook that hands names below a
//! mount point (`/proc`) to the caller.

use super::inode::{Inode, InodeId};
use super::tree::{Fs, MountKind};
use crate::errno::Errno;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// `PATH_MAX`: a path, its terminating NUL included, fits in 4096 bytes.
pub const PATH_MAX: usize = 4096;
/// `NAME_MAX`: the longest file name.
pub const NAME_MAX: usize = 255;
/// Linux's `MAXSYMLINKS`: symbolic links one lookup may follow before `ELOOP`.
pub const MAX_SYMLINK_FOLLOWS: u32 = 40;

/// Whose permissions a lookup or operation uses (the file-system user and group ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// User id (`fsuid`; `access` without `AT_EACCESS` passes the real id).
    pub uid: u32,
    /// Group id (`fsgid`).
    pub gid: u32,
}

impl Identity {
    /// The superuser, who bypasses read, write and search checks as Linux's
    /// `CAP_DAC_OVERRIDE` does.
    pub const ROOT: Identity = Identity { uid: 0, gid: 0 };

    /// True for uid 0.
    #[must_use]
    pub const fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Whether a symbolic link in the last component is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Follow it (the default of most calls, `AT_SYMLINK_FOLLOW`).
    Follow,
    /// Return the link itself (`AT_SYMLINK_NOFOLLOW`, `O_NOFOLLOW`, `lstat`).
    NoFollow,
}

/// Whether an empty path names the starting directory or file (`AT_EMPTY_PATH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmptyPath {
    /// An empty path fails with `ENOENT`.
    Refuse,
    /// An empty path names the start itself.
    Allow,
}

/// Whether the path ended in `/`, which requires the result to be a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrailingSlash {
    /// No trailing slash.
    Absent,
    /// A trailing slash.
    Present,
}

/// The last component of a path, as the creating and removing calls see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastComponent {
    /// An ordinary name.
    Normal(Vec<u8>),
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path was only slashes (`/`).
    Root,
}

/// A path resolved up to its last component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The directory holding the last component (searchable by the caller).
    pub directory: InodeId,
    /// The last component.
    pub last: LastComponent,
    /// Whether the path ended in `/`.
    pub trailing_slash: TrailingSlash,
}

/// What [`locate`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An inode of this file system.
    Inode(InodeId),
    /// A name below a mount point: the caller's file system resolves `remainder`
    /// (relative, without a leading slash; ends in `/` if the path did).
    Mounted {
        /// Which file system.
        mount: MountKind,
        /// The mount-point directory.
        directory: InodeId,
        /// The rest of the path below it.
        remainder: Vec<u8>,
    },
}

/// Permission bits asked for, as `R_OK` (4), `W_OK` (2) and `X_OK` (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessMask(pub u32);

impl AccessMask {
    /// Read.
    pub const READ: AccessMask = AccessMask(4);
    /// Write.
    pub const WRITE: AccessMask = AccessMask(2);
    /// Execute, or search for a directory.
    pub const EXECUTE: AccessMask = AccessMask(1);
    /// Write and search: what creating or removing a name needs on its directory.
    pub const WRITE_EXECUTE: AccessMask = AccessMask(3);

    /// Both masks' bits.
    #[must_use]
    pub const fn union(self, other: AccessMask) -> AccessMask {
        AccessMask(self.0 | other.0)
    }

    /// True if no bit is asked for.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 & 7 == 0
    }
}

/// Checks that `who` may access `inode` as `wanted` asks, as Linux's
/// `generic_permission`: the owner's, group's or others' bits; root passes read and
/// write always, and execute for directories or files with any execute bit.
///
/// # Errors
/// `EACCES` if a wanted bit is missing.
pub fn check_permission(inode: &Inode, who: &Identity, wanted: AccessMask) -> Result<(), Errno> {
    let wanted = wanted.0 & 7;
    let mode = inode.mode();
    if who.is_root() {
        let executable = inode.is_directory() || mode & 0o111 != 0;
        return if wanted & AccessMask::EXECUTE.0 != 0 && !executable {
            Err(Errno::EACCES)
        } else {
            Ok(())
        };
    }
    let granted = if who.uid == inode.uid() {
        mode >> 6
    } else if who.gid == inode.gid() {
        mode >> 3
    } else {
        mode
    } & 7;
    if wanted & !granted == 0 {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// Resolves `path` from `start` to an inode, treating mount points as the empty
/// directories they are in this file system.
///
/// # Errors
/// `ENOENT` (missing component, empty path without [`EmptyPath::Allow`], dangling link),
/// `ENOTDIR` (a non-directory used as one, or a trailing slash on one), `ENAMETOOLONG`,
/// `ELOOP` (over 40 links), `EACCES` (a directory without search permission).
pub fn resolve(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path: &[u8],
    follow: Follow,
    empty: EmptyPath,
) -> Result<InodeId, Errno> {
    match locate_with(fs, who, start, path, follow, empty, MountPolicy::Enter)? {
        Location::Inode(id) => Ok(id),
        // Unreachable with MountPolicy::Enter; treat it as a missing name regardless.
        Location::Mounted { .. } => Err(Errno::ENOENT),
    }
}

/// As [`resolve`], but a name looked up inside a mount point stops the walk and comes
/// back as [`Location::Mounted`], for the mounted file system to resolve. This is the
/// `/proc` hook: symlinks such as `/dev/stdin` → `/proc/self/fd/0` lead there too.
///
/// # Errors
/// As [`resolve`].
pub fn locate(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path: &[u8],
    follow: Follow,
    empty: EmptyPath,
) -> Result<Location, Errno> {
    locate_with(fs, who, start, path, follow, empty, MountPolicy::Stop)
}

/// Resolves all but the last component of `path`, as the calls that create, remove or
/// rename a name do. The returned directory is searchable by `who`.
///
/// # Errors
/// As [`resolve`]; an empty path gives `ENOENT`.
pub fn resolve_parent(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path: &[u8],
) -> Result<Parent, Errno> {
    let mut walker = Walker::new(fs, who, start, path, MountPolicy::Enter)?;
    match walker.walk_to_parent()? {
        ParentStep::Parent(parent) => Ok(parent),
        ParentStep::Mounted { .. } => Err(Errno::ENOENT),
    }
}

/// Whether a walk stops at mount points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MountPolicy {
    /// Return [`Location::Mounted`] for names below a mount point.
    Stop,
    /// Treat a mount point as an ordinary (empty) directory.
    Enter,
}

fn locate_with(
    fs: &Fs,
    who: &Identity,
    start: InodeId,
    path: &[u8],
    follow: Follow,
    empty: EmptyPath,
    mounts: MountPolicy,
) -> Result<Location, Errno> {
    if path.is_empty() {
        return match empty {
            EmptyPath::Allow => fs.inode(start).map(|_| Location::Inode(start)),
            EmptyPath::Refuse => Err(Errno::ENOENT),
        };
    }
    let mut walker = Walker::new(fs, who, start, path, mounts)?;
    loop {
        let parent = match walker.walk_to_parent()? {
            ParentStep::Parent(parent) => parent,
            ParentStep::Mounted {
                mount,
                directory,
                remainder,
            } => {
                return Ok(Location::Mounted {
                    mount,
                    directory,
                    remainder,
                })
            }
        };
        let child = match parent.last {
            LastComponent::Root | LastComponent::Dot => parent.directory,
            LastComponent::DotDot => walker.parent_of(parent.directory)?,
            LastComponent::Normal(name) => {
                if let Some(mount) = walker.mount_to_stop_at(parent.directory) {
                    let mut remainder = name;
                    if parent.trailing_slash == TrailingSlash::Present {
                        remainder.push(b'/');
                    }
                    return Ok(Location::Mounted {
                        mount,
                        directory: parent.directory,
                        remainder,
                    });
                }
                let child = fs.lookup(parent.directory, &name)?.ok_or(Errno::ENOENT)?;
                let follows =
                    follow == Follow::Follow || parent.trailing_slash == TrailingSlash::Present;
                if follows && fs.inode(child)?.is_symlink() {
                    walker.follow_link(parent.directory, child)?;
                    continue;
                }
                child
            }
        };
        if walker.trailing_slash() == TrailingSlash::Present && !fs.inode(child)?.is_directory() {
            return Err(Errno::ENOTDIR);
        }
        return Ok(Location::Inode(child));
    }
}

/// One pending step of a walk.
#[derive(Clone, Debug)]
enum Item {
    /// Restart at the root (an absolute path or link target).
    Root,
    /// Look up a name (or `.`/`..`).
    Name(Vec<u8>),
}

/// What [`Walker::walk_to_parent`] reached.
#[derive(Clone, Debug)]
pub(crate) enum ParentStep {
    /// The directory holding the last component.
    Parent(Parent),
    /// A name below a mount point (only with [`MountPolicy::Stop`]).
    Mounted {
        mount: MountKind,
        directory: InodeId,
        remainder: Vec<u8>,
    },
}

/// An iterative walk: pending components in a queue, symlink targets spliced in front,
/// with one link budget across the whole lookup (so `open(O_CREAT)` can follow a last
/// component link and keep walking).
pub(crate) struct Walker<'a> {
    fs: &'a Fs,
    who: &'a Identity,
    queue: VecDeque<Item>,
    current: InodeId,
    links_followed: u32,
    trailing: TrailingSlash,
    mounts: MountPolicy,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(
        fs: &'a Fs,
        who: &'a Identity,
        start: InodeId,
        path: &[u8],
        mounts: MountPolicy,
    ) -> Result<Walker<'a>, Errno> {
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if path.is_empty() || path.contains(&0) {
            return Err(Errno::ENOENT);
        }
        fs.inode(start)?;
        let mut walker = Walker {
            fs,
            who,
            queue: VecDeque::new(),
            current: start,
            links_followed: 0,
            trailing: TrailingSlash::Absent,
            mounts,
        };
        walker.splice(path);
        Ok(walker)
    }

    pub(crate) const fn trailing_slash(&self) -> TrailingSlash {
        self.trailing
    }

    /// Puts `path`'s components in front of the queue; a trailing slash counts only
    /// when nothing else is pending (the path or link is the last component).
    fn splice(&mut self, path: &[u8]) {
        if self.queue.is_empty() && path.last() == Some(&b'/') {
            self.trailing = TrailingSlash::Present;
        }
        let names = path
            .split(|byte| *byte == b'/')
            .filter(|name| !name.is_empty());
        for name in names.rev() {
            self.queue.push_front(Item::Name(name.to_vec()));
        }
        if path.first() == Some(&b'/') {
            self.queue.push_front(Item::Root);
        }
    }

    /// Walks to the directory holding the last pending component.
    pub(crate) fn walk_to_parent(&mut self) -> Result<ParentStep, Errno> {
        loop {
            let name = match self.queue.pop_front() {
                None => {
                    return Ok(ParentStep::Parent(Parent {
                        directory: self.current,
                        last: LastComponent::Root,
                        trailing_slash: self.trailing,
                    }))
                }
                Some(Item::Root) => {
                    self.current = self.fs.root();
                    continue;
                }
                Some(Item::Name(name)) => name,
            };
            let directory = self.fs.inode(self.current)?;
            if !directory.is_directory() {
                return Err(Errno::ENOTDIR);
            }
            check_permission(directory, self.who, AccessMask::EXECUTE)?;
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let component = classify(name);
            if self.queue.is_empty() {
                return Ok(ParentStep::Parent(Parent {
                    directory: self.current,
                    last: component,
                    trailing_slash: self.trailing,
                }));
            }
            match component {
                LastComponent::Dot | LastComponent::Root => {}
                LastComponent::DotDot => self.current = self.parent_of(self.current)?,
                LastComponent::Normal(name) => {
                    if let Some(mount) = self.mount_to_stop_at(self.current) {
                        let mut remainder = name;
                        for item in &self.queue {
                            remainder.push(b'/');
                            if let Item::Name(next) = item {
                                remainder.extend_from_slice(next);
                            }
                        }
                        if self.trailing == TrailingSlash::Present {
                            remainder.push(b'/');
                        }
                        return Ok(ParentStep::Mounted {
                            mount,
                            directory: self.current,
                            remainder,
                        });
                    }
                    let child = self.fs.lookup(self.current, &name)?.ok_or(Errno::ENOENT)?;
                    if self.fs.inode(child)?.is_symlink() {
                        let directory = self.current;
                        self.follow_link(directory, child)?;
                    } else {
                        self.current = child;
                    }
                }
            }
        }
    }

    /// Continues the walk through symlink `link`, found in `directory`.
    pub(crate) fn follow_link(&mut self, directory: InodeId, link: InodeId) -> Result<(), Errno> {
        self.links_followed += 1;
        if self.links_followed > MAX_SYMLINK_FOLLOWS {
            return Err(Errno::ELOOP);
        }
        let inode = self.fs.inode(link)?;
        let target = match inode.content() {
            super::inode::Content::Symlink(target) => target,
            _ => return Err(Errno::EINVAL),
        };
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        self.current = directory;
        self.splice(target);
        Ok(())
    }

    /// `..` of `directory`; the root is its own parent.
    pub(crate) fn parent_of(&self, directory: InodeId) -> Result<InodeId, Errno> {
        if directory == self.fs.root() {
            return Ok(directory);
        }
        let inode = self.fs.inode(directory)?;
        inode
            .as_directory()
            .map(super::inode::Directory::parent)
            .ok_or(Errno::ENOTDIR)
    }

    fn mount_to_stop_at(&self, directory: InodeId) -> Option<MountKind> {
        match self.mounts {
            MountPolicy::Stop => self.fs.mount_at(directory),
            MountPolicy::Enter => None,
        }
    }
}

fn classify(name: Vec<u8>) -> LastComponent {
    match name.as_slice() {
        b"." => LastComponent::Dot,
        b".." => LastComponent::DotDot,
        _ => LastComponent::Normal(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::{CpioMetadata, CpioWriter, FileType};
    use crate::fs::inode::Timespec;
    use alloc::string::String;

    const NOW: Timespec = Timespec::new(100, 0);
    const USER: Identity = Identity {
        uid: 1000,
        gid: 1000,
    };

    fn tree() -> Fs {
        let mut writer = CpioWriter::new();
        writer.add_directory("a/b/c", 0o755).unwrap();
        writer.add_file("a/b/c/file", 0o644, b"x").unwrap();
        writer.add_file("top", 0o644, b"").unwrap();
        writer.add_symlink("a/up", "..").unwrap();
        writer.add_symlink("a/abs", "/a/b").unwrap();
        writer.add_symlink("a/rel", "b/c/file").unwrap();
        writer.add_symlink("a/dir_link", "b/c").unwrap();
        writer.add_symlink("a/dangling", "nowhere").unwrap();
        writer.add_symlink("self_loop", "self_loop").unwrap();
        writer.add_symlink("slash_target", "a/b/").unwrap();
        writer
            .add_entry(
                "private",
                &CpioMetadata::new(FileType::Directory, 0o700),
                b"",
            )
            .unwrap();
        writer.add_file("private/secret", 0o644, b"").unwrap();
        writer
            .add_entry(
                "noexec",
                &CpioMetadata::new(FileType::Directory, 0o600),
                b"",
            )
            .unwrap();
        writer.add_file("noexec/inside", 0o644, b"").unwrap();
        // A chain of 40 links ending at /top, and one of 41.
        writer.add_symlink("chain/0", "/top").unwrap();
        for index in 1..=40 {
            writer
                .add_symlink(
                    &alloc::format!("chain/{index}"),
                    &alloc::format!("{}", index - 1),
                )
                .unwrap();
        }
        let mut fs = Fs::from_cpio(&writer.finish(), NOW).unwrap();
        fs.add_standard_nodes(NOW).unwrap();
        fs
    }

    fn get(fs: &Fs, who: &Identity, start: InodeId, path: &str) -> Result<InodeId, Errno> {
        resolve(
            fs,
            who,
            start,
            path.as_bytes(),
            Follow::Follow,
            EmptyPath::Refuse,
        )
    }

    fn at(fs: &Fs, path: &str) -> Result<InodeId, Errno> {
        get(fs, &Identity::ROOT, fs.root(), path)
    }

    fn lget(fs: &Fs, path: &str) -> Result<InodeId, Errno> {
        resolve(
            fs,
            &Identity::ROOT,
            fs.root(),
            path.as_bytes(),
            Follow::NoFollow,
            EmptyPath::Refuse,
        )
    }

    #[test]
    fn absolute_relative_dot_and_dotdot() {
        let fs = tree();
        let b = at(&fs, "/a/b").unwrap();
        let a = at(&fs, "a").unwrap();
        assert_eq!(get(&fs, &Identity::ROOT, a, "b"), Ok(b));
        assert_eq!(get(&fs, &Identity::ROOT, b, "/a/b"), Ok(b));
        assert_eq!(at(&fs, "/a/./b/c/.."), Ok(b));
        assert_eq!(at(&fs, "//a///b//"), Ok(b));
        assert_eq!(at(&fs, "/.."), Ok(fs.root()));
        assert_eq!(at(&fs, "/../../a/.."), Ok(fs.root()));
        assert_eq!(get(&fs, &Identity::ROOT, b, ".."), Ok(a));
        assert_eq!(get(&fs, &Identity::ROOT, b, "."), Ok(b));
        assert_eq!(at(&fs, "/"), Ok(fs.root()));
    }

    #[test]
    fn symlinks_are_followed_relative_to_their_directory() {
        let fs = tree();
        let file = at(&fs, "/a/b/c/file").unwrap();
        assert_eq!(at(&fs, "/a/rel"), Ok(file));
        assert_eq!(at(&fs, "/a/abs/c/file"), Ok(file));
        assert_eq!(at(&fs, "/a/up/a/rel"), Ok(file));
        assert_eq!(at(&fs, "/a/dir_link/file"), Ok(file));
        assert_eq!(at(&fs, "/a/dangling"), Err(Errno::ENOENT));
        let link = lget(&fs, "/a/rel").unwrap();
        assert_ne!(link, file);
        assert!(fs.inode(link).unwrap().is_symlink());
        // NoFollow applies to the last component only.
        assert_eq!(lget(&fs, "/a/abs/c/file"), Ok(file));
        // A trailing slash forces following even with NoFollow.
        assert_eq!(lget(&fs, "/a/dir_link/"), at(&fs, "/a/b/c"));
        assert!(fs
            .inode(lget(&fs, "/a/dangling").unwrap())
            .unwrap()
            .is_symlink());
        // A link target's trailing slash demands a directory.
        assert_eq!(at(&fs, "/slash_target"), at(&fs, "/a/b"));
    }

    #[test]
    fn symlink_limit_is_forty() {
        let fs = tree();
        assert_eq!(at(&fs, "/chain/39"), at(&fs, "/top"));
        // chain/39 follows 40 links (39 → … → 0 → /top).
        assert_eq!(at(&fs, "/chain/40"), Err(Errno::ELOOP));
        assert_eq!(at(&fs, "/self_loop"), Err(Errno::ELOOP));
        assert_eq!(at(&fs, "/self_loop/x"), Err(Errno::ELOOP));
        assert!(lget(&fs, "/self_loop").is_ok());
    }

    #[test]
    fn errors_match_linux() {
        let fs = tree();
        assert_eq!(at(&fs, "/missing"), Err(Errno::ENOENT));
        assert_eq!(at(&fs, "/missing/x"), Err(Errno::ENOENT));
        assert_eq!(at(&fs, "/top/x"), Err(Errno::ENOTDIR));
        assert_eq!(at(&fs, "/top/"), Err(Errno::ENOTDIR));
        assert_eq!(at(&fs, "/top/."), Err(Errno::ENOTDIR));
        assert_eq!(at(&fs, "/a/rel/"), Err(Errno::ENOTDIR));
        assert_eq!(at(&fs, ""), Err(Errno::ENOENT));
        let top = at(&fs, "/top").unwrap();
        // A relative path from a non-directory start fails; an absolute one does not.
        assert_eq!(get(&fs, &Identity::ROOT, top, "x"), Err(Errno::ENOTDIR));
        assert_eq!(get(&fs, &Identity::ROOT, top, "/top"), Ok(top));
        assert_eq!(
            resolve(
                &fs,
                &Identity::ROOT,
                top,
                b"",
                Follow::Follow,
                EmptyPath::Allow
            ),
            Ok(top)
        );
        assert_eq!(
            resolve(
                &fs,
                &Identity::ROOT,
                InodeId(9999),
                b"",
                Follow::Follow,
                EmptyPath::Allow
            ),
            Err(Errno::ENOENT)
        );
    }

    #[test]
    fn name_and_path_length_limits() {
        let fs = tree();
        let longest = "n".repeat(NAME_MAX);
        assert_eq!(at(&fs, &longest), Err(Errno::ENOENT));
        assert_eq!(
            at(&fs, &alloc::format!("{longest}n")),
            Err(Errno::ENAMETOOLONG)
        );
        assert_eq!(
            at(&fs, &alloc::format!("{longest}n/x")),
            Err(Errno::ENAMETOOLONG)
        );
        // 4095 bytes is the longest path; 4096 is too long.
        let mut path = String::new();
        while path.len() < PATH_MAX - 1 {
            path.push_str("./");
        }
        path.truncate(PATH_MAX - 1);
        assert_eq!(path.len(), 4095);
        assert_eq!(at(&fs, &path), Ok(fs.root()));
        path.push('.');
        assert_eq!(at(&fs, &path), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn search_permission_is_checked_and_root_bypasses_it() {
        let fs = tree();
        assert_eq!(
            get(&fs, &USER, fs.root(), "/private/secret"),
            Err(Errno::EACCES)
        );
        // The directory itself can be named: search is needed only to look inside.
        assert!(get(&fs, &USER, fs.root(), "/private").is_ok());
        assert!(at(&fs, "/private/secret").is_ok());
        // Root searches even a directory without any execute bit.
        assert!(at(&fs, "/noexec/inside").is_ok());
        assert_eq!(
            get(&fs, &USER, fs.root(), "/noexec/inside"),
            Err(Errno::EACCES)
        );
        let top = fs.inode(at(&fs, "/top").unwrap()).unwrap();
        assert_eq!(
            check_permission(top, &Identity::ROOT, AccessMask::EXECUTE),
            Err(Errno::EACCES)
        );
        assert_eq!(
            check_permission(
                top,
                &Identity::ROOT,
                AccessMask::READ.union(AccessMask::WRITE)
            ),
            Ok(())
        );
        assert_eq!(check_permission(top, &USER, AccessMask::READ), Ok(()));
        assert_eq!(
            check_permission(top, &USER, AccessMask::WRITE),
            Err(Errno::EACCES)
        );
        let group_member = Identity { uid: 5, gid: 0 };
        assert_eq!(
            check_permission(top, &group_member, AccessMask::READ),
            Ok(())
        );
    }

    #[test]
    fn parent_resolution_splits_the_last_component() {
        let fs = tree();
        let a = at(&fs, "/a").unwrap();
        let parent = resolve_parent(&fs, &Identity::ROOT, fs.root(), b"/a/new/").unwrap();
        assert_eq!(
            parent,
            Parent {
                directory: a,
                last: LastComponent::Normal(b"new".to_vec()),
                trailing_slash: TrailingSlash::Present
            }
        );
        let parent = resolve_parent(&fs, &Identity::ROOT, fs.root(), b"///").unwrap();
        assert_eq!(parent.last, LastComponent::Root);
        assert_eq!(parent.directory, fs.root());
        let parent = resolve_parent(&fs, &Identity::ROOT, fs.root(), b"a/..").unwrap();
        assert_eq!((parent.directory, parent.last), (a, LastComponent::DotDot));
        let parent = resolve_parent(&fs, &Identity::ROOT, a, b".").unwrap();
        assert_eq!((parent.directory, parent.last), (a, LastComponent::Dot));
        // Intermediate links are followed.
        let b = at(&fs, "/a/b").unwrap();
        let parent = resolve_parent(&fs, &Identity::ROOT, fs.root(), b"/a/abs/x").unwrap();
        assert_eq!(parent.directory, b);
        assert_eq!(
            resolve_parent(&fs, &Identity::ROOT, fs.root(), b""),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            resolve_parent(&fs, &USER, fs.root(), b"/private/x"),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn locate_hands_proc_names_to_the_caller() {
        let fs = tree();
        let proc_directory = at(&fs, "/proc").unwrap();
        let find = |path: &str| {
            locate(
                &fs,
                &Identity::ROOT,
                fs.root(),
                path.as_bytes(),
                Follow::Follow,
                EmptyPath::Refuse,
            )
        };
        let mounted = |remainder: &str| {
            Ok(Location::Mounted {
                mount: MountKind::Proc,
                directory: proc_directory,
                remainder: remainder.as_bytes().to_vec(),
            })
        };
        assert_eq!(find("/proc/self/maps"), mounted("self/maps"));
        assert_eq!(find("/proc/self"), mounted("self"));
        assert_eq!(find("/proc/1/"), mounted("1/"));
        assert_eq!(find("/dev/stdin"), mounted("self/fd/0"));
        assert_eq!(find("/dev/fd/3"), mounted("self/fd/3"));
        assert_eq!(find("/proc"), Ok(Location::Inode(proc_directory)));
        assert_eq!(find("/proc/."), Ok(Location::Inode(proc_directory)));
        assert_eq!(
            find("/proc/../a"),
            Ok(Location::Inode(at(&fs, "/a").unwrap()))
        );
        // Plain resolution sees /proc as an empty directory.
        assert_eq!(at(&fs, "/proc/self"), Err(Errno::ENOENT));
        assert_eq!(at(&fs, "/dev/stdin"), Err(Errno::ENOENT));
    }
}
