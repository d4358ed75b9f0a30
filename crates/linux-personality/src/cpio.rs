//! Reader and writer for "newc" cpio archives (the format of Linux's initramfs), which
//! carry the root task's boot files.
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit hex fields), the
//! NUL-terminated name padded so the data starts on a 4-byte boundary, and the data padded
//! to 4 bytes. The archive ends with an entry named `TRAILER!!!`. The crc variant
//! (`070702`) is read too, and its checksum (the byte sum of the data) is verified.

use alloc::vec::Vec;

/// The magic of a newc entry header.
pub const NEWC_MAGIC: &[u8; 6] = b"070701";
/// The magic of a newc entry header with a data checksum.
pub const NEWC_CRC_MAGIC: &[u8; 6] = b"070702";
/// The name of the entry that ends an archive.
pub const TRAILER_NAME: &str = "TRAILER!!!";
/// Length of a newc header, magic included.
pub const HEADER_LENGTH: usize = 110;

/// Bits of `mode` that give the file type (`S_IFMT`).
const FILE_TYPE_MASK: u32 = 0o170_000;

/// The header's numeric fields, in on-disk order after the magic.
const FIELD_NAMES: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

/// Iterates over the entries of a newc archive, ending at the `TRAILER!!!` entry.
///
/// Yields `Err` at most once, for the first malformed entry, and then ends. Bytes after
/// the trailer (archives are often padded to 512 bytes) are ignored.
#[must_use]
pub fn entries(archive: &[u8]) -> CpioEntries<'_> {
    CpioEntries {
        archive,
        offset: 0,
        finished: false,
    }
}

/// One file, directory, symlink or device node in an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpioEntry<'a> {
    /// Path as stored, without the terminating NUL (often without a leading `/`, and
    /// sometimes with a leading `./`; the consumer normalises it).
    pub name: &'a str,
    /// Inode number; entries with the same number and `nlink > 1` are hard links.
    pub ino: u32,
    /// File type and permission bits, as in `st_mode`.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Number of links.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Major number of the device holding the file.
    pub dev_major: u32,
    /// Minor number of the device holding the file.
    pub dev_minor: u32,
    /// Major number of a device node.
    pub rdev_major: u32,
    /// Minor number of a device node.
    pub rdev_minor: u32,
    /// File contents; for a symlink, its target.
    pub data: &'a [u8],
}

/// The type of an entry, from the `S_IFMT` bits of its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// `S_IFREG`.
    Regular,
    /// `S_IFDIR`.
    Directory,
    /// `S_IFLNK`.
    Symlink,
    /// `S_IFCHR`.
    CharacterDevice,
    /// `S_IFBLK`.
    BlockDevice,
    /// `S_IFIFO`.
    Fifo,
    /// `S_IFSOCK`.
    Socket,
    /// Any other value of the type bits.
    Unknown(u32),
}

impl FileType {
    /// The type named by the `S_IFMT` bits of `mode`.
    #[must_use]
    pub const fn from_mode(mode: u32) -> FileType {
        match mode & FILE_TYPE_MASK {
            0o100_000 => FileType::Regular,
            0o040_000 => FileType::Directory,
            0o120_000 => FileType::Symlink,
            0o020_000 => FileType::CharacterDevice,
            0o060_000 => FileType::BlockDevice,
            0o010_000 => FileType::Fifo,
            0o140_000 => FileType::Socket,
            other => FileType::Unknown(other),
        }
    }

    /// The `S_IFMT` bits of this type.
    #[must_use]
    pub const fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => 0o100_000,
            FileType::Directory => 0o040_000,
            FileType::Symlink => 0o120_000,
            FileType::CharacterDevice => 0o020_000,
            FileType::BlockDevice => 0o060_000,
            FileType::Fifo => 0o010_000,
            FileType::Socket => 0o140_000,
            FileType::Unknown(bits) => bits & FILE_TYPE_MASK,
        }
    }
}

impl CpioEntry<'_> {
    /// The entry's file type.
    #[must_use]
    pub const fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// Permission bits, including set-user-id, set-group-id and sticky.
    #[must_use]
    pub const fn permission_bits(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// Why an archive could not be read. Offsets are from the start of the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// Fewer than 110 bytes remain for the header of the entry at `offset`.
    TruncatedHeader {
        /// Start of the entry.
        offset: usize,
    },
    /// The entry at `offset` starts with neither `070701` nor `070702`.
    BadMagic {
        /// Start of the entry.
        offset: usize,
    },
    /// A header field is not eight hexadecimal digits.
    BadHexField {
        /// Start of the entry.
        offset: usize,
        /// The field's name in the newc format.
        field: &'static str,
    },
    /// The name size is zero, so there is not even a terminating NUL.
    EmptyName {
        /// Start of the entry.
        offset: usize,
    },
    /// The name runs past the end of the archive.
    NamePastEnd {
        /// Start of the entry.
        offset: usize,
    },
    /// The name's last byte is not NUL.
    NameMissingNul {
        /// Start of the entry.
        offset: usize,
    },
    /// The name has a NUL before its end.
    NameContainsNul {
        /// Start of the entry.
        offset: usize,
    },
    /// The name is not UTF-8.
    NameNotUtf8 {
        /// Start of the entry.
        offset: usize,
    },
    /// The file data runs past the end of the archive.
    DataPastEnd {
        /// Start of the entry.
        offset: usize,
        /// The header's file size.
        size: u32,
    },
    /// A `070702` entry's data does not sum to its checksum.
    ChecksumMismatch {
        /// Start of the entry.
        offset: usize,
        /// The header's checksum.
        expected: u32,
        /// The byte sum of the data.
        actual: u32,
    },
    /// The archive ends without a `TRAILER!!!` entry.
    MissingTrailer {
        /// Where the next entry should have started.
        offset: usize,
    },
}

impl core::fmt::Display for CpioError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CpioError::TruncatedHeader { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: header truncated")
            }
            CpioError::BadMagic { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: bad magic (not newc 070701/070702)")
            }
            CpioError::BadHexField { offset, field } => {
                write!(formatter, "cpio entry at {offset:#x}: field {field} is not 8 hex digits")
            }
            CpioError::EmptyName { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: name size is zero")
            }
            CpioError::NamePastEnd { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: name runs past the end of the archive")
            }
            CpioError::NameMissingNul { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: name is not NUL-terminated")
            }
            CpioError::NameContainsNul { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: name contains a NUL byte")
            }
            CpioError::NameNotUtf8 { offset } => {
                write!(formatter, "cpio entry at {offset:#x}: name is not UTF-8")
            }
            CpioError::DataPastEnd { offset, size } => write!(
                formatter,
                "cpio entry at {offset:#x}: {size} bytes of data run past the end of the archive"
            ),
            CpioError::ChecksumMismatch { offset, expected, actual } => write!(
                formatter,
                "cpio entry at {offset:#x}: checksum {actual:#x} does not match header {expected:#x}"
            ),
            CpioError::MissingTrailer { offset } => {
                write!(formatter, "cpio archive ends at {offset:#x} without a TRAILER!!! entry")
            }
        }
    }
}

/// Iterator over an archive's entries; see [`entries`].
#[derive(Clone, Debug)]
pub struct CpioEntries<'a> {
    archive: &'a [u8],
    offset: usize,
    finished: bool,
}

impl<'a> Iterator for CpioEntries<'a> {
    type Item = Result<CpioEntry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.read_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

impl core::iter::FusedIterator for CpioEntries<'_> {}

impl<'a> CpioEntries<'a> {
    /// Reads the entry at `self.offset` and advances past it; `Ok(None)` at the trailer.
    fn read_entry(&mut self) -> Result<Option<CpioEntry<'a>>, CpioError> {
        let offset = self.offset;
        if offset >= self.archive.len() {
            return Err(CpioError::MissingTrailer { offset });
        }
        let header = self
            .archive
            .get(offset..)
            .and_then(|rest| rest.get(..HEADER_LENGTH))
            .ok_or(CpioError::TruncatedHeader { offset })?;
        let (magic, fields_text) = header.split_at(NEWC_MAGIC.len());
        let has_checksum = match magic {
            _ if magic == NEWC_MAGIC => false,
            _ if magic == NEWC_CRC_MAGIC => true,
            _ => return Err(CpioError::BadMagic { offset }),
        };
        let mut fields = [0_u32; 13];
        for (index, (field, text)) in fields
            .iter_mut()
            .zip(fields_text.chunks_exact(8))
            .enumerate()
        {
            *field = parse_hex(text).ok_or(CpioError::BadHexField {
                offset,
                field: FIELD_NAMES.get(index).copied().unwrap_or("?"),
            })?;
        }
        let [ino, mode, uid, gid, nlink, mtime, file_size, dev_major, dev_minor, rdev_major, rdev_minor, name_size, check] =
            fields;

        // usize is at least 32 bits on every target this crate builds for, and all
        // arithmetic below is checked against the archive length.
        let name_size = name_size as usize;
        if name_size == 0 {
            return Err(CpioError::EmptyName { offset });
        }
        let name_start = offset + HEADER_LENGTH;
        let name_with_nul = name_start
            .checked_add(name_size)
            .and_then(|name_end| self.archive.get(name_start..name_end))
            .ok_or(CpioError::NamePastEnd { offset })?;
        let (name_bytes, nul) = name_with_nul.split_at(name_size - 1);
        if nul != [0] {
            return Err(CpioError::NameMissingNul { offset });
        }
        if name_bytes.contains(&0) {
            return Err(CpioError::NameContainsNul { offset });
        }
        let name =
            core::str::from_utf8(name_bytes).map_err(|_| CpioError::NameNotUtf8 { offset })?;

        let data_start =
            align_up_4(name_start + name_size).ok_or(CpioError::NamePastEnd { offset })?;
        let data = data_start
            .checked_add(file_size as usize)
            .and_then(|data_end| self.archive.get(data_start..data_end))
            .ok_or(CpioError::DataPastEnd {
                offset,
                size: file_size,
            })?;
        if has_checksum {
            let actual = data
                .iter()
                .fold(0_u32, |sum, byte| sum.wrapping_add(u32::from(*byte)));
            if actual != check {
                return Err(CpioError::ChecksumMismatch {
                    offset,
                    expected: check,
                    actual,
                });
            }
        }

        if name == TRAILER_NAME {
            return Ok(None);
        }
        // Padding after the last entry's data may be missing; the next read reports the
        // missing trailer in that case.
        self.offset = align_up_4(data_start + data.len()).unwrap_or(usize::MAX);
        Ok(Some(CpioEntry {
            name,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            dev_major,
            dev_minor,
            rdev_major,
            rdev_minor,
            data,
        }))
    }
}

/// Parses eight ASCII hex digits (either case).
fn parse_hex(text: &[u8]) -> Option<u32> {
    if text.len() != 8 {
        return None;
    }
    text.iter().try_fold(0_u32, |value, digit| {
        let nibble = char::from(*digit).to_digit(16)?;
        Some((value << 4) | nibble)
    })
}

/// Rounds `value` up to a multiple of 4, or `None` on overflow.
fn align_up_4(value: usize) -> Option<usize> {
    value.checked_add(3).map(|sum| sum & !3)
}

/// Metadata for an entry written by [`CpioWriter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpioMetadata {
    /// File type and permission bits, as in `st_mode`.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Number of links.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Major number of a device node.
    pub rdev_major: u32,
    /// Minor number of a device node.
    pub rdev_minor: u32,
}

impl CpioMetadata {
    /// A root-owned entry of `file_type` with `permission_bits` (masked to `0o7777`).
    #[must_use]
    pub const fn new(file_type: FileType, permission_bits: u32) -> CpioMetadata {
        let nlink = match file_type {
            FileType::Directory => 2,
            _ => 1,
        };
        CpioMetadata {
            mode: file_type.mode_bits() | (permission_bits & 0o7777),
            uid: 0,
            gid: 0,
            nlink,
            mtime: 0,
            rdev_major: 0,
            rdev_minor: 0,
        }
    }
}

/// Why [`CpioWriter`] refused an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioWriteError {
    /// Names must not be empty.
    EmptyName,
    /// Names must not contain NUL.
    NameContainsNul,
    /// `TRAILER!!!` would end the archive early.
    ReservedName,
    /// The name or data is longer than a newc size field can say (4 GiB - 1).
    TooLarge,
    /// Inode numbers ran out.
    TooManyEntries,
}

impl core::fmt::Display for CpioWriteError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let reason = match self {
            CpioWriteError::EmptyName => "entry name is empty",
            CpioWriteError::NameContainsNul => "entry name contains NUL",
            CpioWriteError::ReservedName => "entry name TRAILER!!! is reserved",
            CpioWriteError::TooLarge => "entry name or data exceeds 4 GiB",
            CpioWriteError::TooManyEntries => "more than 2^32 - 1 entries",
        };
        formatter.write_str(reason)
    }
}

/// Builds a newc archive in memory; [`CpioWriter::finish`] adds the trailer.
///
/// Inode numbers are assigned from 1 in the order entries are added.
#[derive(Clone, Debug)]
pub struct CpioWriter {
    bytes: Vec<u8>,
    next_inode: u32,
}

impl Default for CpioWriter {
    fn default() -> Self {
        CpioWriter::new()
    }
}

impl CpioWriter {
    /// An empty archive.
    #[must_use]
    pub fn new() -> CpioWriter {
        CpioWriter {
            bytes: Vec::new(),
            next_inode: 1,
        }
    }

    /// Appends a regular file.
    ///
    /// # Errors
    /// As [`CpioWriter::add_entry`].
    pub fn add_file(
        &mut self,
        name: &str,
        permission_bits: u32,
        data: &[u8],
    ) -> Result<(), CpioWriteError> {
        self.add_entry(
            name,
            &CpioMetadata::new(FileType::Regular, permission_bits),
            data,
        )
    }

    /// Appends a directory.
    ///
    /// # Errors
    /// As [`CpioWriter::add_entry`].
    pub fn add_directory(
        &mut self,
        name: &str,
        permission_bits: u32,
    ) -> Result<(), CpioWriteError> {
        self.add_entry(
            name,
            &CpioMetadata::new(FileType::Directory, permission_bits),
            &[],
        )
    }

    /// Appends a symbolic link to `target` (mode `0o777`, as Linux reports symlinks).
    ///
    /// # Errors
    /// As [`CpioWriter::add_entry`].
    pub fn add_symlink(&mut self, name: &str, target: &str) -> Result<(), CpioWriteError> {
        self.add_entry(
            name,
            &CpioMetadata::new(FileType::Symlink, 0o777),
            target.as_bytes(),
        )
    }

    /// Appends an entry with explicit metadata.
    ///
    /// # Errors
    /// [`CpioWriteError`] if the name is empty, contains NUL or is `TRAILER!!!`, or a
    /// size does not fit the header; the archive is unchanged then.
    pub fn add_entry(
        &mut self,
        name: &str,
        metadata: &CpioMetadata,
        data: &[u8],
    ) -> Result<(), CpioWriteError> {
        if name.is_empty() {
            return Err(CpioWriteError::EmptyName);
        }
        if name.as_bytes().contains(&0) {
            return Err(CpioWriteError::NameContainsNul);
        }
        if name == TRAILER_NAME {
            return Err(CpioWriteError::ReservedName);
        }
        let inode = self.next_inode;
        let next_inode = inode.checked_add(1).ok_or(CpioWriteError::TooManyEntries)?;
        self.write_entry(NEWC_MAGIC, inode, name, metadata, data)?;
        self.next_inode = next_inode;
        Ok(())
    }

    /// Appends the trailer and returns the archive.
    #[must_use]
    pub fn finish(mut self) -> Vec<u8> {
        let trailer = CpioMetadata {
            nlink: 1,
            ..CpioMetadata::new(FileType::Unknown(0), 0)
        };
        // The trailer's name and empty data always fit the header's fields.
        let written = self.write_entry(NEWC_MAGIC, 0, TRAILER_NAME, &trailer, &[]);
        debug_assert!(written.is_ok());
        self.bytes
    }

    fn write_entry(
        &mut self,
        magic: &[u8; 6],
        inode: u32,
        name: &str,
        metadata: &CpioMetadata,
        data: &[u8],
    ) -> Result<(), CpioWriteError> {
        let name_size = name
            .len()
            .checked_add(1)
            .and_then(|size| u32::try_from(size).ok());
        let name_size = name_size.ok_or(CpioWriteError::TooLarge)?;
        let file_size = u32::try_from(data.len()).map_err(|_| CpioWriteError::TooLarge)?;
        self.bytes.extend_from_slice(magic);
        let fields = [
            inode,
            metadata.mode,
            metadata.uid,
            metadata.gid,
            metadata.nlink,
            metadata.mtime,
            file_size,
            0,
            0,
            metadata.rdev_major,
            metadata.rdev_minor,
            name_size,
            0,
        ];
        for field in fields {
            push_hex(&mut self.bytes, field);
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad_to_4();
        self.bytes.extend_from_slice(data);
        self.pad_to_4();
        Ok(())
    }

    fn pad_to_4(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

/// Appends `value` as eight lower-case hex digits.
fn push_hex(bytes: &mut Vec<u8>, value: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..8).rev() {
        bytes.push(DIGITS[((value >> (shift * 4)) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use proptest::prelude::*;

    fn sample_archive() -> Vec<u8> {
        let mut writer = CpioWriter::new();
        writer.add_directory("bin", 0o755).unwrap();
        writer
            .add_file("bin/hello", 0o755, b"hello, world\n")
            .unwrap();
        writer.add_symlink("bin/hi", "hello").unwrap();
        writer.add_file("empty", 0o644, b"").unwrap();
        writer.finish()
    }

    fn collect(archive: &[u8]) -> Result<Vec<CpioEntry<'_>>, CpioError> {
        entries(archive).collect()
    }

    /// A hand-written header, independent of the writer, with the layout from the newc
    /// specification.
    fn handmade_entry(magic: &str, name: &str, data: &[u8], check: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let header = alloc::format!(
            "{magic}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            7,
            0o100_640,
            1000,
            100,
            1,
            0x6000_0000_u32,
            data.len(),
            8,
            1,
            0,
            0,
            name.len() + 1,
            check
        );
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        while !bytes.len().is_multiple_of(4) {
            bytes.push(0);
        }
        bytes.extend_from_slice(data);
        while !bytes.len().is_multiple_of(4) {
            bytes.push(0);
        }
        bytes
    }

    #[test]
    fn reads_a_handmade_entry_with_upper_case_hex() {
        let mut archive = handmade_entry("070701", "etc/motd", b"hi!\n", 0);
        archive.extend(handmade_entry("070701", TRAILER_NAME, b"", 0));
        let read = collect(&archive).unwrap();
        assert_eq!(read.len(), 1);
        let entry = &read[0];
        assert_eq!(entry.name, "etc/motd");
        assert_eq!(entry.ino, 7);
        assert_eq!(entry.file_type(), FileType::Regular);
        assert_eq!(entry.permission_bits(), 0o640);
        assert_eq!((entry.uid, entry.gid, entry.nlink), (1000, 100, 1));
        assert_eq!(entry.mtime, 0x6000_0000);
        assert_eq!((entry.dev_major, entry.dev_minor), (8, 1));
        assert_eq!(entry.data, b"hi!\n");
    }

    #[test]
    fn writer_output_reads_back() {
        let archive = sample_archive();
        assert_eq!(archive.len() % 4, 0);
        let read = collect(&archive).unwrap();
        let names: Vec<&str> = read.iter().map(|entry| entry.name).collect();
        assert_eq!(names, ["bin", "bin/hello", "bin/hi", "empty"]);
        assert_eq!(read[0].file_type(), FileType::Directory);
        assert_eq!(read[0].nlink, 2);
        assert_eq!(read[1].data, b"hello, world\n");
        assert_eq!(read[1].mode, 0o100_755);
        assert_eq!(read[2].file_type(), FileType::Symlink);
        assert_eq!(read[2].data, b"hello");
        assert_eq!(read[3].data, b"");
        let inodes: Vec<u32> = read.iter().map(|entry| entry.ino).collect();
        assert_eq!(inodes, [1, 2, 3, 4]);
        // Each entry starts on a 4-byte boundary, as newc requires.
        assert_eq!(&archive[..6], NEWC_MAGIC);
    }

    #[test]
    fn ignores_padding_after_the_trailer() {
        let mut archive = sample_archive();
        archive.resize(archive.len().next_multiple_of(512), 0);
        assert_eq!(collect(&archive).unwrap().len(), 4);
    }

    #[test]
    fn empty_archive_is_just_a_trailer() {
        let archive = CpioWriter::new().finish();
        assert_eq!(archive.len(), 124);
        assert!(collect(&archive).unwrap().is_empty());
        assert_eq!(collect(&[]), Err(CpioError::MissingTrailer { offset: 0 }));
    }

    #[test]
    fn missing_trailer_is_an_error() {
        let archive = sample_archive();
        let trailer_start = archive.len() - 124;
        let result = collect(&archive[..trailer_start]);
        assert_eq!(
            result,
            Err(CpioError::MissingTrailer {
                offset: trailer_start
            })
        );
    }

    #[test]
    fn truncated_header_is_an_error() {
        let archive = sample_archive();
        assert_eq!(
            collect(&archive[..50]),
            Err(CpioError::TruncatedHeader { offset: 0 })
        );
    }

    #[test]
    fn bad_magic_is_an_error() {
        let mut archive = sample_archive();
        archive[5] = b'7';
        assert_eq!(collect(&archive), Err(CpioError::BadMagic { offset: 0 }));
        // The old binary and odc formats are not newc.
        archive[..6].copy_from_slice(b"070707");
        assert_eq!(collect(&archive), Err(CpioError::BadMagic { offset: 0 }));
    }

    #[test]
    fn bad_hex_names_the_field() {
        let mut archive = sample_archive();
        // The mode field is bytes 14..22.
        archive[15] = b'g';
        assert_eq!(
            collect(&archive),
            Err(CpioError::BadHexField {
                offset: 0,
                field: "mode"
            })
        );
        let mut archive = sample_archive();
        archive[6] = b' ';
        assert_eq!(
            collect(&archive),
            Err(CpioError::BadHexField {
                offset: 0,
                field: "ino"
            })
        );
        let mut archive = sample_archive();
        archive[6 + 12 * 8 + 7] = b'+';
        assert_eq!(
            collect(&archive),
            Err(CpioError::BadHexField {
                offset: 0,
                field: "check"
            })
        );
    }

    /// Overwrites the header field `index` of the entry at `offset`.
    fn set_field(archive: &mut [u8], offset: usize, index: usize, value: u32) {
        let mut text = Vec::new();
        push_hex(&mut text, value);
        let start = offset + 6 + index * 8;
        archive[start..start + 8].copy_from_slice(&text);
    }

    #[test]
    fn name_errors() {
        let mut archive = sample_archive();
        set_field(&mut archive, 0, 11, 0);
        assert_eq!(collect(&archive), Err(CpioError::EmptyName { offset: 0 }));

        let mut archive = sample_archive();
        set_field(&mut archive, 0, 11, 0xffff_fff0);
        assert_eq!(collect(&archive), Err(CpioError::NamePastEnd { offset: 0 }));

        let mut archive = sample_archive();
        // "bin" plus NUL: claim 3 bytes, so the last name byte is 'n'.
        set_field(&mut archive, 0, 11, 3);
        assert_eq!(
            collect(&archive),
            Err(CpioError::NameMissingNul { offset: 0 })
        );

        let mut archive = sample_archive();
        archive[HEADER_LENGTH + 1] = 0;
        assert_eq!(
            collect(&archive),
            Err(CpioError::NameContainsNul { offset: 0 })
        );

        let mut archive = sample_archive();
        archive[HEADER_LENGTH] = 0xff;
        assert_eq!(collect(&archive), Err(CpioError::NameNotUtf8 { offset: 0 }));
    }

    #[test]
    fn data_past_end_is_an_error() {
        let mut archive = sample_archive();
        let second = 112 + 4; // "bin\0" after the 110-byte header, padded to 116.
        assert_eq!(&archive[second..second + 6], NEWC_MAGIC);
        set_field(&mut archive, second, 6, 0xffff_ffff);
        assert_eq!(
            collect(&archive),
            Err(CpioError::DataPastEnd {
                offset: second,
                size: 0xffff_ffff
            })
        );
        let mut iterator = entries(&archive);
        assert_eq!(
            iterator.next().map(|entry| entry.map(|entry| entry.name)),
            Some(Ok("bin"))
        );
        assert!(matches!(
            iterator.next(),
            Some(Err(CpioError::DataPastEnd { .. }))
        ));
        assert_eq!(iterator.next(), None, "the iterator ends after an error");
    }

    #[test]
    fn crc_variant_checks_the_sum() {
        let data = b"abc";
        let sum = u32::from(b'a') + u32::from(b'b') + u32::from(b'c');
        let mut archive = handmade_entry("070702", "f", data, sum);
        archive.extend(handmade_entry("070702", TRAILER_NAME, b"", 0));
        assert_eq!(collect(&archive).unwrap()[0].data, data);

        let mut archive = handmade_entry("070702", "f", data, sum + 1);
        archive.extend(handmade_entry("070702", TRAILER_NAME, b"", 0));
        assert_eq!(
            collect(&archive),
            Err(CpioError::ChecksumMismatch {
                offset: 0,
                expected: sum + 1,
                actual: sum
            })
        );
    }

    #[test]
    fn writer_rejects_bad_names() {
        let mut writer = CpioWriter::new();
        assert_eq!(
            writer.add_file("", 0o644, b""),
            Err(CpioWriteError::EmptyName)
        );
        assert_eq!(
            writer.add_file("a\0b", 0o644, b""),
            Err(CpioWriteError::NameContainsNul)
        );
        assert_eq!(
            writer.add_file(TRAILER_NAME, 0o644, b""),
            Err(CpioWriteError::ReservedName)
        );
        assert!(collect(&writer.finish()).unwrap().is_empty());
    }

    #[test]
    fn errors_describe_themselves() {
        let message = alloc::format!(
            "{}",
            CpioError::DataPastEnd {
                offset: 16,
                size: 9
            }
        );
        assert_eq!(
            message,
            "cpio entry at 0x10: 9 bytes of data run past the end of the archive"
        );
    }

    fn entry_strategy() -> impl Strategy<Value = (String, u32, Vec<u8>)> {
        (
            "[a-z0-9/._-]{1,40}",
            0_u32..0o10_000,
            proptest::collection::vec(any::<u8>(), 0..300),
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            for entry in entries(&bytes) {
                let _ = entry;
            }
        }

        #[test]
        fn arbitrary_bytes_after_magic_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = NEWC_MAGIC.to_vec();
            bytes.extend(tail);
            prop_assert!(collect(&bytes).is_err());
        }

        #[test]
        fn hex_digit_headers_never_panic(
            digits in proptest::collection::vec(proptest::sample::select(b"0123456789abcdefF".to_vec()), 104),
            tail in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = NEWC_MAGIC.to_vec();
            bytes.extend(digits);
            bytes.extend(tail);
            for entry in entries(&bytes) {
                let _ = entry;
            }
        }

        #[test]
        fn written_entries_read_back(files in proptest::collection::vec(entry_strategy(), 0..8)) {
            let mut writer = CpioWriter::new();
            for (name, permission_bits, data) in &files {
                writer.add_file(name, *permission_bits, data).unwrap();
            }
            let archive = writer.finish();
            let read = collect(&archive).unwrap();
            prop_assert_eq!(read.len(), files.len());
            for (entry, (name, permission_bits, data)) in read.iter().zip(&files) {
                prop_assert_eq!(entry.name, name.as_str());
                prop_assert_eq!(entry.permission_bits(), *permission_bits);
                prop_assert_eq!(entry.file_type(), FileType::Regular);
                prop_assert_eq!(entry.data, data.as_slice());
            }
        }

        #[test]
        fn truncated_archives_fail_cleanly(
            files in proptest::collection::vec(entry_strategy(), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut writer = CpioWriter::new();
            for (name, permission_bits, data) in &files {
                writer.add_file(name, *permission_bits, data).unwrap();
            }
            let archive = writer.finish();
            let cut = cut.index(archive.len());
            prop_assert!(collect(&archive[..cut]).is_err());
        }

        #[test]
        fn corrupted_archives_never_panic(position in any::<prop::sample::Index>(), value in any::<u8>()) {
            let mut archive = sample_archive();
            let position = position.index(archive.len());
            archive[position] = value;
            let _ = collect(&archive);
        }
    }

    #[test]
    fn handmade_and_written_headers_agree() {
        let mut writer = CpioWriter::new();
        let metadata = CpioMetadata {
            uid: 1000,
            gid: 100,
            mtime: 0x6000_0000,
            ..CpioMetadata::new(FileType::Regular, 0o640)
        };
        writer.add_entry("x", &metadata, b"data").unwrap();
        let archive = writer.finish();
        let mut expected = handmade_entry("070701", "x", b"data", 0);
        // The handmade entry uses inode 7 and device 8:1; the writer inode 1 and device 0:0.
        set_field(&mut expected, 0, 0, 1);
        set_field(&mut expected, 0, 7, 0);
        set_field(&mut expected, 0, 8, 0);
        assert_eq!(
            archive[..expected.len()].to_ascii_lowercase(),
            expected.to_ascii_lowercase()
        );
    }
}
