//! Per-process file descriptor tables and the shared open file descriptions they point
//! to: lowest-free allocation, `dup`/`dup2`/`dup3`/`F_DUPFD`, `FD_CLOEXEC`, the
//! close-on-exec sweep, fork, and the `RLIMIT_NOFILE` limit.

use super::flags::O_CLOEXEC;
use crate::errno::Errno;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Linux's default soft `RLIMIT_NOFILE`.
pub const DEFAULT_NOFILE_LIMIT: u32 = 1024;
/// Linux's `fs.nr_open` default: no descriptor limit may exceed it.
pub const NR_OPEN: u32 = 1 << 20;

/// Names an open file description in the caller's [`OpenFileTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpenFileId(pub u64);

/// The `FD_CLOEXEC` flag of one descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseOnExec {
    /// The descriptor survives `execve`.
    Keep,
    /// `execve` closes the descriptor.
    Close,
}

impl CloseOnExec {
    /// From `O_CLOEXEC` in open or `dup3` flags.
    #[must_use]
    pub const fn from_open_flags(flags: u32) -> CloseOnExec {
        if flags & O_CLOEXEC != 0 {
            CloseOnExec::Close
        } else {
            CloseOnExec::Keep
        }
    }

    /// The `F_GETFD` value.
    #[must_use]
    pub const fn descriptor_flags(self) -> u32 {
        match self {
            CloseOnExec::Keep => 0,
            CloseOnExec::Close => super::flags::FD_CLOEXEC,
        }
    }
}

/// One descriptor: which description it refers to and its own flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The shared open file description.
    pub file: OpenFileId,
    /// `FD_CLOEXEC`.
    pub close_on_exec: CloseOnExec,
}

/// A process's descriptor table.
///
/// # Invariants
/// Every descriptor number is below `limit` when installed (lowering the limit later
/// leaves existing descriptors alone, as Linux does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdTable {
    descriptors: BTreeMap<u32, Descriptor>,
    limit: u32,
}

impl FdTable {
    /// An empty table allowing descriptors below `limit` (capped at [`NR_OPEN`]).
    #[must_use]
    pub fn new(limit: u32) -> FdTable {
        FdTable {
            descriptors: BTreeMap::new(),
            limit: limit.min(NR_OPEN),
        }
    }

    /// The current `RLIMIT_NOFILE`.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// Sets `RLIMIT_NOFILE` (existing descriptors above it stay open).
    ///
    /// # Errors
    /// `EPERM` above [`NR_OPEN`], as `setrlimit` fails.
    pub fn set_limit(&mut self, limit: u64) -> Result<(), Errno> {
        self.limit = u32::try_from(limit)
            .ok()
            .filter(|limit| *limit <= NR_OPEN)
            .ok_or(Errno::EPERM)?;
        Ok(())
    }

    /// The descriptor `fd`.
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    pub fn get(&self, fd: u32) -> Result<Descriptor, Errno> {
        self.descriptors.get(&fd).copied().ok_or(Errno::EBADF)
    }

    /// Number of open descriptors.
    #[must_use]
    pub fn len(&self) -> usize {
        self.descriptors.len()
    }

    /// True if no descriptor is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// Open descriptors in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Descriptor)> + '_ {
        self.descriptors
            .iter()
            .map(|(fd, descriptor)| (*fd, *descriptor))
    }

    /// Installs `file` at the lowest free descriptor (`open`, `pipe2`, `dup`). The
    /// caller has already counted the reference in its [`OpenFileTable`].
    ///
    /// # Errors
    /// `EMFILE` if every descriptor below the limit is taken.
    pub fn install(&mut self, file: OpenFileId, close_on_exec: CloseOnExec) -> Result<u32, Errno> {
        self.install_from(0, file, close_on_exec)
            .map_err(|_| Errno::EMFILE)
    }

    /// `F_DUPFD`/`F_DUPFD_CLOEXEC` allocation: the lowest free descriptor `>= minimum`.
    ///
    /// # Errors
    /// `EINVAL` if `minimum` is not below the limit; `EMFILE` if none is free.
    pub fn install_from(
        &mut self,
        minimum: u32,
        file: OpenFileId,
        close_on_exec: CloseOnExec,
    ) -> Result<u32, Errno> {
        if minimum >= self.limit {
            return Err(Errno::EINVAL);
        }
        let mut candidate = minimum;
        for fd in self.descriptors.range(minimum..).map(|(fd, _)| *fd) {
            if fd != candidate {
                break;
            }
            candidate = candidate.checked_add(1).ok_or(Errno::EMFILE)?;
        }
        if candidate >= self.limit {
            return Err(Errno::EMFILE);
        }
        self.descriptors.insert(
            candidate,
            Descriptor {
                file,
                close_on_exec,
            },
        );
        Ok(candidate)
    }

    /// `close`: removes `fd`, returning the description whose reference the caller
    /// must drop.
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    pub fn close(&mut self, fd: u32) -> Result<OpenFileId, Errno> {
        self.descriptors
            .remove(&fd)
            .map(|descriptor| descriptor.file)
            .ok_or(Errno::EBADF)
    }

    /// `dup`: a new descriptor (without `FD_CLOEXEC`) for the same description; the
    /// caller adds a reference to it.
    ///
    /// # Errors
    /// `EBADF` (`fd` not open), `EMFILE`.
    pub fn dup(&mut self, fd: u32) -> Result<u32, Errno> {
        let descriptor = self.get(fd)?;
        self.install(descriptor.file, CloseOnExec::Keep)
    }

    /// `fcntl(F_DUPFD / F_DUPFD_CLOEXEC)`.
    ///
    /// # Errors
    /// `EBADF` (`fd` not open), `EINVAL` (`minimum` at or above the limit), `EMFILE`.
    pub fn dup_from(
        &mut self,
        fd: u32,
        minimum: u32,
        close_on_exec: CloseOnExec,
    ) -> Result<u32, Errno> {
        let descriptor = self.get(fd)?;
        self.install_from(minimum, descriptor.file, close_on_exec)
    }

    /// `dup2`: like [`FdTable::dup3`] without flags, except that `old == new` returns
    /// `new` when it is open.
    ///
    /// # Errors
    /// `EBADF` (`old` not open, `new` at or above the limit).
    pub fn dup2(&mut self, old: u32, new: u32) -> Result<(u32, Option<OpenFileId>), Errno> {
        if old == new {
            self.get(old)?;
            return Ok((new, None));
        }
        self.dup3(old, new, 0)
    }

    /// `dup3`: makes `new` refer to `old`'s description, closing what `new` referred
    /// to (returned so the caller drops that reference; the caller adds one for
    /// `old`'s description).
    ///
    /// # Errors
    /// `EINVAL` (flags other than `O_CLOEXEC`, or `old == new`), `EBADF` (`new` at or
    /// above the limit, `old` not open).
    pub fn dup3(
        &mut self,
        old: u32,
        new: u32,
        flags: u32,
    ) -> Result<(u32, Option<OpenFileId>), Errno> {
        if flags & !O_CLOEXEC != 0 || old == new {
            return Err(Errno::EINVAL);
        }
        if new >= self.limit {
            return Err(Errno::EBADF);
        }
        let descriptor = self.get(old)?;
        let replaced = self.descriptors.insert(
            new,
            Descriptor {
                file: descriptor.file,
                close_on_exec: CloseOnExec::from_open_flags(flags),
            },
        );
        Ok((new, replaced.map(|descriptor| descriptor.file)))
    }

    /// `F_SETFD`.
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    pub fn set_close_on_exec(&mut self, fd: u32, close_on_exec: CloseOnExec) -> Result<(), Errno> {
        let descriptor = self.descriptors.get_mut(&fd).ok_or(Errno::EBADF)?;
        descriptor.close_on_exec = close_on_exec;
        Ok(())
    }

    /// `execve`'s sweep: closes every `FD_CLOEXEC` descriptor, returning their
    /// descriptions (one entry per descriptor closed) for the caller to release.
    pub fn close_on_exec_sweep(&mut self) -> Vec<OpenFileId> {
        let mut closed = Vec::new();
        self.descriptors.retain(|_, descriptor| {
            let close = descriptor.close_on_exec == CloseOnExec::Close;
            if close {
                closed.push(descriptor.file);
            }
            !close
        });
        closed
    }

    /// Closes every descriptor (exit), returning their descriptions to release.
    pub fn close_all(&mut self) -> Vec<OpenFileId> {
        let closed = self
            .descriptors
            .values()
            .map(|descriptor| descriptor.file)
            .collect();
        self.descriptors.clear();
        closed
    }

    /// `fork`: the child's copy of the table. Each descriptor's description gains a
    /// reference in `files`, so offsets and status flags stay shared.
    ///
    /// # Errors
    /// `ENFILE` if a reference count would overflow; nothing changes then.
    pub fn fork<T>(&self, files: &mut OpenFileTable<T>) -> Result<FdTable, Errno> {
        let mut added = Vec::new();
        for descriptor in self.descriptors.values() {
            if let Err(error) = files.retain(descriptor.file) {
                for file in added {
                    let _ = files.release(file);
                }
                return Err(error);
            }
            added.push(descriptor.file);
        }
        Ok(self.clone())
    }
}

/// The open file descriptions of the whole system, reference-counted by the
/// descriptors (in any process) that refer to them.
#[derive(Clone, Debug)]
pub struct OpenFileTable<T> {
    files: BTreeMap<OpenFileId, (T, u32)>,
    next_id: u64,
}

impl<T> Default for OpenFileTable<T> {
    fn default() -> Self {
        OpenFileTable::new()
    }
}

impl<T> OpenFileTable<T> {
    /// An empty table.
    #[must_use]
    pub const fn new() -> OpenFileTable<T> {
        OpenFileTable {
            files: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// Adds a description with one reference.
    ///
    /// # Errors
    /// `ENFILE` if identifiers ran out.
    pub fn insert(&mut self, file: T) -> Result<OpenFileId, Errno> {
        let id = OpenFileId(self.next_id);
        self.next_id = self.next_id.checked_add(1).ok_or(Errno::ENFILE)?;
        self.files.insert(id, (file, 1));
        Ok(id)
    }

    /// The description `id`.
    ///
    /// # Errors
    /// `EBADF` if it does not exist.
    pub fn get(&self, id: OpenFileId) -> Result<&T, Errno> {
        self.files
            .get(&id)
            .map(|(file, _)| file)
            .ok_or(Errno::EBADF)
    }

    /// The description `id`, to change its offset or flags.
    ///
    /// # Errors
    /// `EBADF` if it does not exist.
    pub fn get_mut(&mut self, id: OpenFileId) -> Result<&mut T, Errno> {
        self.files
            .get_mut(&id)
            .map(|(file, _)| file)
            .ok_or(Errno::EBADF)
    }

    /// Number of descriptors referring to `id` (0 if it does not exist).
    #[must_use]
    pub fn references(&self, id: OpenFileId) -> u32 {
        self.files.get(&id).map_or(0, |(_, count)| *count)
    }

    /// Number of descriptions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True if there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Adds a reference (`dup`, `fork`).
    ///
    /// # Errors
    /// `EBADF` if it does not exist; `ENFILE` on overflow.
    pub fn retain(&mut self, id: OpenFileId) -> Result<(), Errno> {
        let (_, count) = self.files.get_mut(&id).ok_or(Errno::EBADF)?;
        *count = count.checked_add(1).ok_or(Errno::ENFILE)?;
        Ok(())
    }

    /// Drops a reference; the last one removes the description and returns it, for the
    /// caller to close the file behind it.
    pub fn release(&mut self, id: OpenFileId) -> Option<T> {
        let (_, count) = self.files.get_mut(&id)?;
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.files.remove(&id).map(|(file, _)| file)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Description {
        offset: u64,
    }

    fn table_with(count: usize) -> (FdTable, OpenFileTable<Description>) {
        let mut files = OpenFileTable::new();
        let mut table = FdTable::new(DEFAULT_NOFILE_LIMIT);
        for _ in 0..count {
            let id = files.insert(Description { offset: 0 }).unwrap();
            table.install(id, CloseOnExec::Keep).unwrap();
        }
        (table, files)
    }

    #[test]
    fn lowest_free_descriptor_is_used() {
        let (mut table, _) = table_with(4);
        assert_eq!(table.close(1), Ok(OpenFileId(2)));
        assert_eq!(table.close(1), Err(Errno::EBADF));
        assert_eq!(table.install(OpenFileId(9), CloseOnExec::Keep), Ok(1));
        assert_eq!(table.install(OpenFileId(9), CloseOnExec::Keep), Ok(4));
        assert_eq!(table.get(4).map(|d| d.file), Ok(OpenFileId(9)));
        assert_eq!(table.get(99), Err(Errno::EBADF));
    }

    #[test]
    fn dup_family_semantics() {
        let (mut table, _) = table_with(3);
        table.set_close_on_exec(0, CloseOnExec::Close).unwrap();
        // dup never copies FD_CLOEXEC.
        assert_eq!(table.dup(0), Ok(3));
        assert_eq!(table.get(3).unwrap().close_on_exec, CloseOnExec::Keep);
        assert_eq!(table.get(3).unwrap().file, OpenFileId(1));
        // dup2 onto an open descriptor returns what it replaced.
        assert_eq!(table.dup2(0, 2), Ok((2, Some(OpenFileId(3)))));
        assert_eq!(table.dup2(1, 1), Ok((1, None)));
        assert_eq!(table.dup2(7, 7), Err(Errno::EBADF));
        assert_eq!(table.dup2(7, 8), Err(Errno::EBADF));
        assert_eq!(table.dup2(0, DEFAULT_NOFILE_LIMIT), Err(Errno::EBADF));
        // dup3 refuses the same descriptor and unknown flags, and sets FD_CLOEXEC.
        assert_eq!(table.dup3(1, 1, 0), Err(Errno::EINVAL));
        assert_eq!(table.dup3(1, 5, 1), Err(Errno::EINVAL));
        assert_eq!(table.dup3(1, 10, O_CLOEXEC), Ok((10, None)));
        assert_eq!(table.get(10).unwrap().close_on_exec, CloseOnExec::Close);
        assert_eq!(table.get(10).unwrap().close_on_exec.descriptor_flags(), 1);
        // F_DUPFD takes the lowest free descriptor at or above the minimum.
        assert_eq!(table.dup_from(1, 10, CloseOnExec::Keep), Ok(11));
        assert_eq!(table.dup_from(1, 4, CloseOnExec::Close), Ok(4));
        assert_eq!(
            table.dup_from(1, DEFAULT_NOFILE_LIMIT, CloseOnExec::Keep),
            Err(Errno::EINVAL)
        );
        assert_eq!(table.dup_from(99, 0, CloseOnExec::Keep), Err(Errno::EBADF));
    }

    #[test]
    fn descriptor_limit_gives_emfile() {
        let mut table = FdTable::new(3);
        for fd in 0..3 {
            assert_eq!(table.install(OpenFileId(1), CloseOnExec::Keep), Ok(fd));
        }
        assert_eq!(
            table.install(OpenFileId(1), CloseOnExec::Keep),
            Err(Errno::EMFILE)
        );
        assert_eq!(table.dup(0), Err(Errno::EMFILE));
        assert_eq!(table.dup_from(0, 2, CloseOnExec::Keep), Err(Errno::EMFILE));
        // Lowering the limit keeps open descriptors; raising it allows more.
        table.set_limit(1).unwrap();
        assert_eq!(table.get(2).map(|d| d.file), Ok(OpenFileId(1)));
        table.set_limit(5).unwrap();
        assert_eq!(table.dup(0), Ok(3));
        assert_eq!(table.set_limit(u64::from(NR_OPEN) + 1), Err(Errno::EPERM));
        assert_eq!(FdTable::new(u32::MAX).limit(), NR_OPEN);
    }

    #[test]
    fn close_on_exec_sweep_closes_only_marked_descriptors() {
        let (mut table, _) = table_with(4);
        table.set_close_on_exec(1, CloseOnExec::Close).unwrap();
        table.set_close_on_exec(3, CloseOnExec::Close).unwrap();
        assert_eq!(
            table.set_close_on_exec(9, CloseOnExec::Close),
            Err(Errno::EBADF)
        );
        assert_eq!(
            table.close_on_exec_sweep(),
            vec![OpenFileId(2), OpenFileId(4)]
        );
        let left: Vec<u32> = table.iter().map(|(fd, _)| fd).collect();
        assert_eq!(left, [0, 2]);
        assert_eq!(table.close_all(), vec![OpenFileId(1), OpenFileId(3)]);
        assert!(table.is_empty());
    }

    #[test]
    fn descriptions_are_shared_across_dup_and_fork() {
        let (mut parent, mut files) = table_with(1);
        let id = parent.get(0).unwrap().file;
        let fd = parent.dup(0).unwrap();
        files.retain(id).unwrap();
        let mut child = parent.fork(&mut files).unwrap();
        assert_eq!(files.references(id), 4);
        // An offset moved through the child's descriptor is seen by the parent's.
        let child_id = child.get(fd).unwrap().file;
        files.get_mut(child_id).unwrap().offset = 42;
        assert_eq!(files.get(parent.get(0).unwrap().file).unwrap().offset, 42);
        // The description lives until its last descriptor closes.
        for fd in [0, fd] {
            assert_eq!(files.release(child.close(fd).unwrap()), None);
        }
        assert_eq!(files.release(parent.close(0).unwrap()), None);
        assert_eq!(
            files.release(parent.close(fd).unwrap()),
            Some(Description { offset: 42 })
        );
        assert!(files.is_empty());
        assert_eq!(files.get(id), Err(Errno::EBADF));
        assert_eq!(files.retain(id), Err(Errno::EBADF));
        assert_eq!(files.release(id), None);
    }
}
