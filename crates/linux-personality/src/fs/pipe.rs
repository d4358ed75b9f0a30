//! A pipe's buffer with Linux's semantics: 64 KiB capacity, writes of up to
//! `PIPE_BUF` bytes atomic, partial larger writes, end of file once every writer is
//! gone, `EPIPE` once every reader is gone, and "would block" as a result the caller
//! turns into `EAGAIN` or a parked process.

use crate::errno::Errno;
use alloc::collections::VecDeque;

/// Linux's default pipe capacity (16 pages).
pub const PIPE_CAPACITY: usize = 65_536;
/// `PIPE_BUF`: writes up to this size are never interleaved with others.
pub const PIPE_BUF: usize = 4096;
/// Linux's default `fs/pipe-max-size`: the largest `F_SETPIPE_SZ` an ordinary user may ask.
pub const PIPE_MAX_SIZE: usize = 1 << 20;

/// The outcome of reading a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeRead {
    /// This many bytes were read (0 only for an empty buffer argument).
    Data(usize),
    /// The pipe is empty and has no writers: end of file.
    EndOfFile,
    /// The pipe is empty but writers remain: `EAGAIN`, or park the reader.
    WouldBlock,
}

/// The outcome of writing a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeWrite {
    /// This many bytes were written; fewer than asked means the pipe filled (a blocking
    /// writer parks and continues with the rest).
    Written(usize),
    /// Nothing fits yet (a write of up to `PIPE_BUF` needs room for all of it).
    WouldBlock,
    /// No reader remains: `EPIPE` and `SIGPIPE` (or the count already written by a
    /// blocking writer, if any).
    BrokenPipe,
}

/// One pipe: its bytes and how many open descriptions each end has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipe {
    buffer: VecDeque<u8>,
    capacity: usize,
    readers: u32,
    writers: u32,
}

impl Default for Pipe {
    fn default() -> Self {
        Pipe::new()
    }
}

impl Pipe {
    /// An empty pipe with one reader and one writer, as `pipe2` creates.
    #[must_use]
    pub const fn new() -> Pipe {
        Pipe {
            buffer: VecDeque::new(),
            capacity: PIPE_CAPACITY,
            readers: 1,
            writers: 1,
        }
    }

    /// Reads up to `buffer.len()` bytes.
    pub fn read(&mut self, buffer: &mut [u8]) -> PipeRead {
        if buffer.is_empty() {
            return PipeRead::Data(0);
        }
        if self.buffer.is_empty() {
            return if self.writers == 0 {
                PipeRead::EndOfFile
            } else {
                PipeRead::WouldBlock
            };
        }
        let count = buffer.len().min(self.buffer.len());
        for (target, source) in buffer.iter_mut().zip(self.buffer.drain(..count)) {
            *target = source;
        }
        PipeRead::Data(count)
    }

    /// Writes `data`, all of it at once if it is at most `PIPE_BUF` bytes.
    pub fn write(&mut self, data: &[u8]) -> PipeWrite {
        if data.is_empty() {
            return PipeWrite::Written(0);
        }
        if self.readers == 0 {
            return PipeWrite::BrokenPipe;
        }
        let free = self.free_space();
        let count = if data.len() <= PIPE_BUF {
            if free < data.len() {
                return PipeWrite::WouldBlock;
            }
            data.len()
        } else {
            if free == 0 {
                return PipeWrite::WouldBlock;
            }
            free.min(data.len())
        };
        self.buffer.extend(data.iter().take(count));
        PipeWrite::Written(count)
    }

    /// Bytes waiting to be read (`FIONREAD`).
    #[must_use]
    pub fn available(&self) -> usize {
        self.buffer.len()
    }

    /// Bytes that fit before the pipe is full.
    #[must_use]
    pub fn free_space(&self) -> usize {
        self.capacity.saturating_sub(self.buffer.len())
    }

    /// The capacity (`F_GETPIPE_SZ`).
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// `F_SETPIPE_SZ`: rounds `size` up to a power-of-two number of pages (at least
    /// one) and returns the new capacity.
    ///
    /// # Errors
    /// `EPERM` above 1 MiB (`pipe-max-size` for unprivileged callers), `EBUSY` if the
    /// bytes already queued would not fit, `EINVAL` for sizes that cannot be rounded.
    pub fn set_capacity(&mut self, size: u64) -> Result<usize, Errno> {
        let size = usize::try_from(size).map_err(|_| Errno::EINVAL)?;
        let rounded = size
            .max(PIPE_BUF)
            .checked_next_power_of_two()
            .ok_or(Errno::EINVAL)?;
        if rounded > PIPE_MAX_SIZE {
            return Err(Errno::EPERM);
        }
        if self.buffer.len() > rounded {
            return Err(Errno::EBUSY);
        }
        self.capacity = rounded;
        Ok(rounded)
    }

    /// Open descriptions of the read end.
    #[must_use]
    pub const fn readers(&self) -> u32 {
        self.readers
    }

    /// Open descriptions of the write end.
    #[must_use]
    pub const fn writers(&self) -> u32 {
        self.writers
    }

    /// A new description of the read end (a FIFO opened for reading).
    pub fn add_reader(&mut self) {
        self.readers = self.readers.saturating_add(1);
    }

    /// A new description of the write end.
    pub fn add_writer(&mut self) {
        self.writers = self.writers.saturating_add(1);
    }

    /// The last descriptor of a read-end description closed; parked writers must be
    /// woken (they will see `BrokenPipe` if this was the last reader).
    pub fn remove_reader(&mut self) {
        self.readers = self.readers.saturating_sub(1);
    }

    /// The last descriptor of a write-end description closed; parked readers must be
    /// woken (they will see end of file if this was the last writer).
    pub fn remove_writer(&mut self) {
        self.writers = self.writers.saturating_sub(1);
    }

    /// `POLLIN`: data to read, or end of file to report.
    #[must_use]
    pub fn is_readable(&self) -> bool {
        !self.buffer.is_empty() || self.writers == 0
    }

    /// `POLLOUT`: an atomic write fits, or the write would fail at once with `EPIPE`.
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.free_space() >= PIPE_BUF || self.readers == 0
    }

    /// True once both ends are closed and the pipe can be freed.
    #[must_use]
    pub const fn is_abandoned(&self) -> bool {
        self.readers == 0 && self.writers == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn bytes_come_out_in_order() {
        let mut pipe = Pipe::new();
        assert_eq!(pipe.write(b"hello "), PipeWrite::Written(6));
        assert_eq!(pipe.write(b"world"), PipeWrite::Written(5));
        assert_eq!(pipe.available(), 11);
        let mut buffer = [0_u8; 4];
        assert_eq!(pipe.read(&mut buffer), PipeRead::Data(4));
        assert_eq!(&buffer, b"hell");
        let mut rest = [0_u8; 64];
        assert_eq!(pipe.read(&mut rest), PipeRead::Data(7));
        assert_eq!(&rest[..7], b"o world");
        assert_eq!(pipe.read(&mut rest), PipeRead::WouldBlock);
        assert_eq!(pipe.read(&mut []), PipeRead::Data(0));
    }

    #[test]
    fn end_of_file_after_last_writer_once_drained() {
        let mut pipe = Pipe::new();
        pipe.write(b"xy");
        pipe.remove_writer();
        assert!(pipe.is_readable());
        let mut buffer = [0_u8; 1];
        assert_eq!(pipe.read(&mut buffer), PipeRead::Data(1));
        assert_eq!(pipe.read(&mut buffer), PipeRead::Data(1));
        assert_eq!(pipe.read(&mut buffer), PipeRead::EndOfFile);
        assert!(pipe.is_readable());
    }

    #[test]
    fn broken_pipe_without_readers() {
        let mut pipe = Pipe::new();
        pipe.remove_reader();
        assert_eq!(pipe.write(b"x"), PipeWrite::BrokenPipe);
        assert_eq!(pipe.write(b""), PipeWrite::Written(0));
        assert!(pipe.is_writable());
        pipe.remove_writer();
        assert!(pipe.is_abandoned());
    }

    #[test]
    fn small_writes_are_atomic_and_large_ones_partial() {
        let mut pipe = Pipe::new();
        let filler = vec![1_u8; PIPE_CAPACITY - 100];
        assert_eq!(pipe.write(&filler), PipeWrite::Written(PIPE_CAPACITY - 100));
        assert!(!pipe.is_writable());
        // 200 bytes (≤ PIPE_BUF) do not fit in 100: nothing is written.
        assert_eq!(pipe.write(&[2; 200]), PipeWrite::WouldBlock);
        assert_eq!(pipe.available(), PIPE_CAPACITY - 100);
        // A large write takes what fits.
        assert_eq!(pipe.write(&[3; PIPE_BUF + 1]), PipeWrite::Written(100));
        assert_eq!(pipe.write(&[3; PIPE_BUF + 1]), PipeWrite::WouldBlock);
        assert_eq!(pipe.free_space(), 0);
        let mut drained = vec![0_u8; PIPE_CAPACITY];
        assert_eq!(pipe.read(&mut drained), PipeRead::Data(PIPE_CAPACITY));
        assert!(drained[..PIPE_CAPACITY - 100].iter().all(|byte| *byte == 1));
        assert!(drained[PIPE_CAPACITY - 100..].iter().all(|byte| *byte == 3));
        // Exactly PIPE_BUF is still atomic.
        let mut pipe = Pipe::new();
        pipe.write(&vec![0; PIPE_CAPACITY - PIPE_BUF + 1]);
        assert_eq!(pipe.write(&[9; PIPE_BUF]), PipeWrite::WouldBlock);
    }

    #[test]
    fn capacity_changes_follow_f_setpipe_sz() {
        let mut pipe = Pipe::new();
        assert_eq!(pipe.capacity(), 65_536);
        assert_eq!(pipe.set_capacity(1), Ok(4096));
        assert_eq!(pipe.set_capacity(5000), Ok(8192));
        assert_eq!(pipe.set_capacity(2 << 20), Err(Errno::EPERM));
        pipe.write(&[0; 8192]);
        assert_eq!(pipe.set_capacity(4096), Err(Errno::EBUSY));
        assert_eq!(pipe.write(&[0; 1]), PipeWrite::WouldBlock);
        let mut sink: Vec<u8> = vec![0; 10];
        assert_eq!(pipe.read(&mut sink), PipeRead::Data(10));
    }
}
