//! Pipes: `pipe2`, pipe ends as open file descriptions over linux-personality's
//! [`Pipe`], and the parking of threads whose read, write or poll has to wait.
//!
//! A thread that must wait is parked with [`Wait::Io`] saying what it was doing. Every
//! change to a pipe (data in or out, an end closed) calls [`wake_io_waiters`], which
//! runs each such call again with the registers it was parked with: a call that can
//! finish now is answered, one that still cannot stays parked (a write keeps the count
//! it has already moved). Nothing spins: a waiter is retried only when a pipe changed
//! (or, once the timer service is merged, when its poll deadline passes).

use super::{After, Context};
use crate::process::{Description, ThreadState, Tid, Wait};
use crate::server::Server;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_personality::fs::flags::{O_CLOEXEC, O_DIRECT, O_NONBLOCK, SETFL_MASK};
use linux_personality::fs::pipe::PIPE_BUF;
use linux_personality::fs::{CloseOnExec, Pipe, PipeRead, PipeWrite, Stat, Timespec};
use linux_personality::Errno;

/// `struct stat` `st_dev` of pipes (Linux's pipefs is an anonymous device, 0:12 here).
const PIPEFS_DEVICE: (u32, u32) = (0, 12);
/// `S_IFIFO`.
const S_IFIFO: u32 = 0o010_000;

/// Which pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PipeId(pub u64);

/// Which end of a pipe a description is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Read,
    Write,
}

/// One end of a pipe as an open file description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipeEnd {
    pub pipe: PipeId,
    pub side: Side,
    /// `O_NONBLOCK`, `O_DIRECT` and the other `F_SETFL` flags.
    pub status_flags: u32,
}

impl PipeEnd {
    /// What `F_GETFL` returns.
    pub fn file_status(&self) -> u32 {
        let access = match self.side {
            Side::Read => 0,
            Side::Write => 1,
        };
        access | self.status_flags
    }

    /// `F_SETFL`.
    pub fn set_file_status(&mut self, flags: u32) {
        self.status_flags = (self.status_flags & !SETFL_MASK) | (flags & SETFL_MASK);
    }

    fn blocking(&self) -> Blocking {
        if self.status_flags & O_NONBLOCK != 0 {
            Blocking::NonBlocking
        } else {
            Blocking::Blocking
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocking {
    Blocking,
    NonBlocking,
}

/// Every pipe, and the state of the wake-up pass.
#[derive(Debug, Default)]
pub struct Pipes {
    table: BTreeMap<PipeId, Pipe>,
    next: u64,
    /// A wake-up pass is running (a retried call changed a pipe again).
    waking: bool,
    /// Something changed during the pass: run it once more.
    again: bool,
}

impl Pipes {
    /// The pipe `id`.
    ///
    /// # Errors
    /// `EBADF` if it is gone (a server bug: descriptions keep their pipe).
    pub fn get(&self, id: PipeId) -> Result<&Pipe, Errno> {
        self.table.get(&id).ok_or(Errno::EBADF)
    }

    fn get_mut(&mut self, id: PipeId) -> Result<&mut Pipe, Errno> {
        self.table.get_mut(&id).ok_or(Errno::EBADF)
    }

    fn create(&mut self) -> PipeId {
        self.next = self.next.wrapping_add(1);
        while self.table.contains_key(&PipeId(self.next)) {
            self.next = self.next.wrapping_add(1);
        }
        let id = PipeId(self.next);
        self.table.insert(id, Pipe::new());
        id
    }
}

/// What a read, write or poll does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Finished with this result.
    Done(usize),
    /// Must wait; park (or stay parked) with this.
    Block(IoWait),
}

/// Whether a read or write took an iovec array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vectored {
    /// `read`/`write`: x1 is the buffer, x2 its length.
    Plain,
    /// `readv`/`writev`: x1 is the iovec array, x2 its length.
    Vectored,
}

/// What a parked I/O call was doing; its arguments are in the saved registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoWait {
    /// `read`/`readv` on an empty pipe.
    Read { vectored: Vectored },
    /// `write`/`writev` on a full pipe, `done` bytes already written.
    Write { vectored: Vectored, done: usize },
    /// `ppoll`/`pselect6` with nothing ready.
    Poll(super::poll::PollWait),
}

/// Answers the call with `progress`, or parks the caller on what it waits for.
///
/// # Errors
/// The call's error; `ENOMEM` if there is no slot to save the reply cap in.
pub fn finish(
    context: &mut Context<'_>,
    progress: Result<Progress, Errno>,
) -> Result<usize, Errno> {
    match progress? {
        Progress::Done(result) => Ok(result),
        Progress::Block(wait) => {
            context
                .server
                .park(context.tid, Wait::Io(wait), context.registers)
                .map_err(|_| Errno::ENOMEM)?;
            context.after = After::NoReply;
            Ok(0)
        }
    }
}

/// Retries every call parked in [`Wait::Io`], answering those that can finish. Call it
/// after anything that may make a parked call able to proceed: a pipe read, write or
/// close, and (for the timer service) a poll deadline passing.
pub fn wake_io_waiters(server: &mut Server) {
    if server.pipes.waking {
        server.pipes.again = true;
        return;
    }
    server.pipes.waking = true;
    loop {
        server.pipes.again = false;
        let waiting: Vec<(Tid, IoWait, [u64; 12])> = server
            .threads
            .values()
            .filter_map(|thread| match thread.state {
                ThreadState::Parked {
                    wait: Wait::Io(wait),
                    registers,
                    ..
                } => Some((thread.tid, wait, registers)),
                _ => None,
            })
            .collect();
        for (tid, wait, registers) in waiting {
            if !is_parked_on(server, tid, wait) {
                continue;
            }
            match retry(server, tid, wait, &registers) {
                Some(Ok(Progress::Done(result))) => server.unpark(tid, result as u64),
                Some(Err(errno)) => server.unpark(tid, errno.as_negative_return()),
                Some(Ok(Progress::Block(still))) => set_wait(server, tid, still),
                None => {}
            }
        }
        if !server.pipes.again {
            break;
        }
    }
    server.pipes.waking = false;
}

fn is_parked_on(server: &Server, tid: Tid, wait: IoWait) -> bool {
    server.threads.get(&tid).is_some_and(|thread| {
        matches!(thread.state, ThreadState::Parked { wait: Wait::Io(current), .. } if current == wait)
    })
}

fn set_wait(server: &mut Server, tid: Tid, still: IoWait) {
    if let Some(thread) = server.threads.get_mut(&tid) {
        if let ThreadState::Parked { wait, .. } = &mut thread.state {
            *wait = Wait::Io(still);
        }
    }
}

/// Runs a parked call again with its saved arguments; `None` if the thread is gone.
fn retry(
    server: &mut Server,
    tid: Tid,
    wait: IoWait,
    registers: &[u64; 12],
) -> Option<Result<Progress, Errno>> {
    let pid = server.threads.get(&tid)?.pid;
    let mut context = Context {
        server,
        tid,
        pid,
        registers,
        after: After::Reply,
    };
    let [fd, address, count, ..] = *registers;
    Some(match wait {
        IoWait::Read { vectored } => {
            super::fs::read_call(&mut context, fd, address, count, vectored)
        }
        IoWait::Write { vectored, done } => {
            super::fs::write_call(&mut context, fd, address, count, vectored, done)
        }
        IoWait::Poll(poll) => super::poll::retry(&mut context, poll),
    })
}

// -------------------------------------------------------------------------------------
// pipe2 and the ends
// -------------------------------------------------------------------------------------

/// `pipe2(fds, flags)`.
///
/// # Errors
/// `EINVAL` for flags other than `O_CLOEXEC`, `O_NONBLOCK`, `O_DIRECT`; `EMFILE`,
/// `ENFILE`; `EFAULT` (nothing stays open).
pub fn sys_pipe2(context: &mut Context<'_>, fds: u64, flags: u64) -> Result<usize, Errno> {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let close_on_exec = CloseOnExec::from_open_flags(flags);
    let status_flags = flags & (O_NONBLOCK | O_DIRECT);
    let pipe = context.server.pipes.create();
    let read_end = PipeEnd {
        pipe,
        side: Side::Read,
        status_flags,
    };
    let write_end = PipeEnd {
        side: Side::Write,
        ..read_end
    };
    let read_fd = match install_end(context, read_end, close_on_exec) {
        Ok(fd) => fd,
        Err(error) => {
            // The write end was never installed.
            close_end(context.server, write_end);
            return Err(error);
        }
    };
    let write_fd = match install_end(context, write_end, close_on_exec) {
        Ok(fd) => fd,
        Err(error) => {
            close_descriptor(context, read_fd);
            return Err(error);
        }
    };
    let mut pair = [0u8; 8];
    pair[..4].copy_from_slice(&read_fd.to_le_bytes());
    pair[4..].copy_from_slice(&write_fd.to_le_bytes());
    if let Err(error) = context.write_user(fds, &pair) {
        close_descriptor(context, read_fd);
        close_descriptor(context, write_fd);
        return Err(error);
    }
    Ok(0)
}

/// Installs a pipe end as a new descriptor; on failure the end is closed.
///
/// # Errors
/// `ENFILE`, `EMFILE`.
pub fn install_end(
    context: &mut Context<'_>,
    end: PipeEnd,
    close_on_exec: CloseOnExec,
) -> Result<u32, Errno> {
    let server = &mut *context.server;
    let id = match server.open_files.insert(Description::Pipe(end)) {
        Ok(id) => id,
        Err(error) => {
            close_end(server, end);
            return Err(error);
        }
    };
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    match process.files.install(id, close_on_exec) {
        Ok(fd) => Ok(fd),
        Err(error) => {
            server.release_description(id);
            Err(error)
        }
    }
}

fn close_descriptor(context: &mut Context<'_>, fd: u32) {
    if let Ok(process) = context.process() {
        if let Ok(id) = process.files.close(fd) {
            context.server.release_description(id);
        }
    }
}

/// A new description of an existing pipe's end (opening `/proc/<pid>/fd/N` of a pipe).
///
/// # Errors
/// `ENXIO` if the pipe is gone.
pub fn reopen_end(server: &mut Server, end: PipeEnd, status_flags: u32) -> Result<PipeEnd, Errno> {
    let pipe = server.pipes.get_mut(end.pipe).map_err(|_| Errno::ENXIO)?;
    match end.side {
        Side::Read => pipe.add_reader(),
        Side::Write => pipe.add_writer(),
    }
    Ok(PipeEnd {
        status_flags: status_flags & SETFL_MASK,
        ..end
    })
}

/// The last reference to a pipe end's description went away.
pub fn close_end(server: &mut Server, end: PipeEnd) {
    let Ok(pipe) = server.pipes.get_mut(end.pipe) else {
        return;
    };
    match end.side {
        Side::Read => pipe.remove_reader(),
        Side::Write => pipe.remove_writer(),
    }
    if pipe.is_abandoned() {
        server.pipes.table.remove(&end.pipe);
    }
    wake_io_waiters(server);
}

/// What a read of a pipe gave.
#[derive(Debug)]
pub enum PipeReadOutcome {
    /// These bytes (empty at end of file or for a zero-length read).
    Data(Vec<u8>),
    /// Nothing yet, and the end blocks.
    WouldBlock,
}

/// Reads up to `count` bytes from a pipe end.
///
/// # Errors
/// `EBADF` on a write end; `EAGAIN` if empty and non-blocking.
pub fn read_end(server: &mut Server, end: PipeEnd, count: usize) -> Result<PipeReadOutcome, Errno> {
    if end.side != Side::Read {
        return Err(Errno::EBADF);
    }
    let pipe = server.pipes.get_mut(end.pipe)?;
    let mut data = alloc::vec![0u8; count.min(pipe.available().max(1))];
    if count == 0 {
        data.clear();
    }
    match pipe.read(&mut data) {
        PipeRead::Data(done) => {
            data.truncate(done);
            if done > 0 {
                wake_io_waiters(server);
            }
            Ok(PipeReadOutcome::Data(data))
        }
        PipeRead::EndOfFile => Ok(PipeReadOutcome::Data(Vec::new())),
        PipeRead::WouldBlock => match end.blocking() {
            Blocking::Blocking => Ok(PipeReadOutcome::WouldBlock),
            Blocking::NonBlocking => Err(Errno::EAGAIN),
        },
    }
}

/// Writes to a pipe end, `done` bytes of this call already written before. Blocking
/// writes finish only when everything is written (or the readers are gone).
///
/// # Errors
/// `EBADF` on a read end; `EAGAIN` if full and non-blocking with nothing written;
/// `EPIPE` with no readers and nothing written.
pub fn write_end(
    server: &mut Server,
    end: PipeEnd,
    data: &[u8],
    done: usize,
    vectored: Vectored,
) -> Result<Progress, Errno> {
    if end.side != Side::Write {
        return Err(Errno::EBADF);
    }
    let pipe = server.pipes.get_mut(end.pipe)?;
    let waiting = IoWait::Write { vectored, done };
    match pipe.write(data) {
        PipeWrite::Written(count) => {
            let total = done.saturating_add(count);
            if count > 0 {
                wake_io_waiters(server);
            }
            if count < data.len() && end.blocking() == Blocking::Blocking {
                Ok(Progress::Block(IoWait::Write {
                    vectored,
                    done: total,
                }))
            } else {
                Ok(Progress::Done(total))
            }
        }
        PipeWrite::WouldBlock => match end.blocking() {
            Blocking::Blocking => Ok(Progress::Block(waiting)),
            Blocking::NonBlocking if done > 0 => Ok(Progress::Done(done)),
            Blocking::NonBlocking => Err(Errno::EAGAIN),
        },
        // The caller (`fs::write_bytes`) also sends the writer SIGPIPE.
        PipeWrite::BrokenPipe if done > 0 => Ok(Progress::Done(done)),
        PipeWrite::BrokenPipe => Err(Errno::EPIPE),
    }
}

/// Poll readiness of a pipe end (Linux's `pipe_poll`), as `POLL*` bits.
pub fn poll_end(server: &Server, end: PipeEnd) -> u16 {
    use super::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
    let Ok(pipe) = server.pipes.get(end.pipe) else {
        return POLLERR;
    };
    match end.side {
        Side::Read => {
            let mut ready = 0;
            if pipe.available() > 0 {
                ready |= POLLIN | POLLRDNORM;
            }
            if pipe.writers() == 0 {
                ready |= POLLHUP;
            }
            ready
        }
        Side::Write => {
            let mut ready = 0;
            if pipe.free_space() >= PIPE_BUF.min(pipe.capacity()) {
                ready |= POLLOUT | POLLWRNORM;
            }
            if pipe.readers() == 0 {
                ready |= POLLERR;
            }
            ready
        }
    }
}

/// `fstat` of a pipe end: a FIFO on pipefs, owner read and write.
pub fn stat_end(end: PipeEnd, now: Timespec) -> Stat {
    let device = linux_personality::fs::DeviceNumber::new(PIPEFS_DEVICE.0, PIPEFS_DEVICE.1);
    Stat {
        dev: device,
        ino: end.pipe.0,
        mode: S_IFIFO | 0o600,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: linux_personality::fs::DeviceNumber::new(0, 0),
        size: 0,
        blksize: linux_personality::fs::stat::BLOCK_SIZE,
        blocks: 0,
        atime: now,
        mtime: now,
        ctime: now,
        btime: now,
    }
}

/// `FIONREAD`: bytes waiting in the pipe.
///
/// # Errors
/// `EBADF` if the pipe is gone.
pub fn bytes_available(server: &Server, end: PipeEnd) -> Result<usize, Errno> {
    Ok(server.pipes.get(end.pipe)?.available())
}

/// `F_GETPIPE_SZ`.
///
/// # Errors
/// `EBADF` if the pipe is gone.
pub fn capacity(server: &Server, end: PipeEnd) -> Result<usize, Errno> {
    Ok(server.pipes.get(end.pipe)?.capacity())
}

/// `F_SETPIPE_SZ`: the new capacity.
///
/// # Errors
/// `EINVAL`, `EPERM` (over 1 MiB), `EBUSY` (more data than would fit).
pub fn set_capacity(server: &mut Server, end: PipeEnd, size: u64) -> Result<usize, Errno> {
    let size = server.pipes.get_mut(end.pipe)?.set_capacity(size)?;
    wake_io_waiters(server);
    Ok(size)
}
