//! The one checked path between a process's memory and the server: every user pointer
//! is an allegation, checked page by page against the process's areas (with the access
//! the call needs), paged in if the area allows it, and copied through the server's
//! window mapping of the frame. Anything else is EFAULT.

use crate::address_space::{Access, AddressSpace, FileContents};
use crate::frames::FRAME_SIZE;
use crate::objects::Objects;
use alloc::vec::Vec;
use linux_personality::Errno;

/// The largest buffer one call copies in one piece (callers loop for more).
pub const MAX_COPY: usize = 1 << 20;

/// A process's memory as the server sees it during one system call.
pub struct UserMemory<'a> {
    pub space: &'a mut AddressSpace,
    pub objects: &'a mut Objects,
    pub files: &'a dyn FileContents,
}

impl UserMemory<'_> {
    /// Copies `out.len()` bytes from `address`.
    ///
    /// # Errors
    /// `EFAULT` if any byte is not readable.
    pub fn read(&mut self, address: u64, out: &mut [u8]) -> Result<(), Errno> {
        self.walk(
            address,
            out.len(),
            Access::Read,
            |frames, frame, offset, range| {
                frames.read(frame, offset, &mut out[range]);
            },
        )
    }

    /// Copies `data` to `address`.
    ///
    /// # Errors
    /// `EFAULT` if any byte is not writable.
    pub fn write(&mut self, address: u64, data: &[u8]) -> Result<(), Errno> {
        self.walk(
            address,
            data.len(),
            Access::Write,
            |frames, frame, offset, range| {
                frames.write(frame, offset, &data[range]);
            },
        )
    }

    /// Reads `length` bytes (at most [`MAX_COPY`]) into a new vector.
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn read_vec(&mut self, address: u64, length: usize) -> Result<Vec<u8>, Errno> {
        let mut buffer = alloc::vec![0u8; length.min(MAX_COPY)];
        self.read(address, &mut buffer)?;
        Ok(buffer)
    }

    /// A little-endian u64 at `address`.
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn read_u64(&mut self, address: u64) -> Result<u64, Errno> {
        let mut bytes = [0u8; 8];
        self.read(address, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// A NUL-terminated string of at most `limit` bytes (NUL excluded).
    ///
    /// # Errors
    /// `EFAULT`; `ENAMETOOLONG` if no NUL comes within `limit` bytes.
    pub fn read_string(&mut self, address: u64, limit: usize) -> Result<Vec<u8>, Errno> {
        let mut result = Vec::new();
        let mut cursor = address;
        loop {
            let in_page = FRAME_SIZE - (cursor as usize % FRAME_SIZE);
            let mut chunk = alloc::vec![0u8; in_page];
            self.read(cursor, &mut chunk)?;
            if let Some(end) = chunk.iter().position(|byte| *byte == 0) {
                result.extend_from_slice(&chunk[..end]);
                break;
            }
            result.extend_from_slice(&chunk);
            if result.len() > limit {
                return Err(Errno::ENAMETOOLONG);
            }
            cursor = cursor.checked_add(in_page as u64).ok_or(Errno::EFAULT)?;
        }
        if result.len() > limit {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(result)
    }

    /// A NULL-terminated array of string pointers (argv, envp): at most `count_limit`
    /// strings, `total_limit` bytes in all. A NULL array is empty.
    ///
    /// # Errors
    /// `EFAULT`; `E2BIG` past the limits.
    pub fn read_string_array(
        &mut self,
        address: u64,
        count_limit: usize,
        total_limit: usize,
    ) -> Result<Vec<Vec<u8>>, Errno> {
        let mut strings = Vec::new();
        if address == 0 {
            return Ok(strings);
        }
        let mut total = 0usize;
        for index in 0.. {
            if index >= count_limit {
                return Err(Errno::E2BIG);
            }
            let slot = address.checked_add(index as u64 * 8).ok_or(Errno::EFAULT)?;
            let pointer = self.read_u64(slot)?;
            if pointer == 0 {
                break;
            }
            let string = self.read_string(pointer, total_limit).map_err(|error| {
                if error == Errno::ENAMETOOLONG {
                    Errno::E2BIG
                } else {
                    error
                }
            })?;
            total = total.saturating_add(string.len() + 1);
            if total > total_limit {
                return Err(Errno::E2BIG);
            }
            strings.push(string);
        }
        Ok(strings)
    }

    /// Runs `copy` on each page piece of `[address, address + length)` after checking and
    /// paging it in for `access`: (frames, frame, offset in frame, range in the buffer).
    fn walk(
        &mut self,
        address: u64,
        length: usize,
        access: Access,
        mut copy: impl FnMut(
            &crate::frames::FrameTable,
            crate::frames::FrameId,
            usize,
            core::ops::Range<usize>,
        ),
    ) -> Result<(), Errno> {
        if length == 0 {
            return Ok(());
        }
        address
            .checked_add(length as u64)
            .filter(|end| *end <= crate::address_space::ADDRESS_LIMIT)
            .ok_or(Errno::EFAULT)?;
        let mut done = 0usize;
        while done < length {
            let cursor = address + done as u64;
            let offset = cursor as usize % FRAME_SIZE;
            let piece = (FRAME_SIZE - offset).min(length - done);
            let frame = self
                .space
                .resolve(self.objects, self.files, cursor, access)
                .map_err(|_| Errno::EFAULT)?;
            copy(&self.objects.frames, frame, offset, done..done + piece);
            done += piece;
        }
        Ok(())
    }
}
