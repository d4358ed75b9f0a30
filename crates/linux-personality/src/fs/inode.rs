//! Inodes of the in-memory file system: regular files, directories with stable
//! `getdents64` cookies, symbolic links and device nodes, with Linux's metadata.

use crate::errno::Errno;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// An inode number, unique within one [`Fs`](super::tree::Fs); it is also `st_ino`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InodeId(pub u64);

/// A point in time as `struct timespec` holds it. The clock is the caller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timespec {
    /// Seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nanoseconds: u32,
}

impl Timespec {
    /// A time from its two fields.
    #[must_use]
    pub const fn new(seconds: i64, nanoseconds: u32) -> Timespec {
        Timespec {
            seconds,
            nanoseconds,
        }
    }
}

/// A device number (`dev_t`) as major and minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DeviceNumber {
    /// Major number (the driver).
    pub major: u32,
    /// Minor number (the instance).
    pub minor: u32,
}

impl DeviceNumber {
    /// A device number from major and minor.
    #[must_use]
    pub const fn new(major: u32, minor: u32) -> DeviceNumber {
        DeviceNumber { major, minor }
    }

    /// The 64-bit `dev_t` encoding glibc and musl use (`makedev`), which equals Linux's
    /// `new_encode_dev` for majors below 4096.
    #[must_use]
    pub const fn encode(self) -> u64 {
        let major = self.major as u64;
        let minor = self.minor as u64;
        ((major & 0xffff_f000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff)
    }
}

/// `S_IFMT`: the file-type bits of a mode.
pub const S_IFMT: u32 = 0o170_000;
/// `S_IFSOCK`.
pub const S_IFSOCK: u32 = 0o140_000;
/// `S_IFLNK`.
pub const S_IFLNK: u32 = 0o120_000;
/// `S_IFREG`.
pub const S_IFREG: u32 = 0o100_000;
/// `S_IFBLK`.
pub const S_IFBLK: u32 = 0o060_000;
/// `S_IFDIR`.
pub const S_IFDIR: u32 = 0o040_000;
/// `S_IFCHR`.
pub const S_IFCHR: u32 = 0o020_000;
/// `S_IFIFO`.
pub const S_IFIFO: u32 = 0o010_000;
/// `S_ISUID`.
pub const S_ISUID: u32 = 0o4000;
/// `S_ISGID`.
pub const S_ISGID: u32 = 0o2000;
/// `S_ISVTX`, the sticky bit.
pub const S_ISVTX: u32 = 0o1000;
/// Every permission bit a mode can carry.
pub const PERMISSION_BITS: u32 = 0o7777;

/// `d_type` values of `struct linux_dirent64`.
pub mod dirent_type {
    /// `DT_UNKNOWN`.
    pub const UNKNOWN: u8 = 0;
    /// `DT_FIFO`.
    pub const FIFO: u8 = 1;
    /// `DT_CHR`.
    pub const CHARACTER_DEVICE: u8 = 2;
    /// `DT_DIR`.
    pub const DIRECTORY: u8 = 4;
    /// `DT_BLK`.
    pub const BLOCK_DEVICE: u8 = 6;
    /// `DT_REG`.
    pub const REGULAR: u8 = 8;
    /// `DT_LNK`.
    pub const SYMLINK: u8 = 10;
    /// `DT_SOCK`.
    pub const SOCKET: u8 = 12;
}

/// The character devices the process server knows, by their Linux device numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CharacterDevice {
    /// `/dev/null` (1:3): reads end at once, writes vanish.
    Null,
    /// `/dev/zero` (1:5): reads give zeros, writes vanish.
    Zero,
    /// `/dev/random` (1:8): reads give random bytes (never blocks, as since Linux 5.6).
    Random,
    /// `/dev/urandom` (1:9): reads give random bytes.
    Urandom,
    /// `/dev/tty` (5:0): the caller's controlling terminal; I/O is the caller's.
    Tty,
    /// `/dev/console` (5:1): the system console; I/O is the caller's.
    Console,
    /// Any other character device (from an archive); I/O is the caller's.
    Other(DeviceNumber),
}

impl CharacterDevice {
    /// The device's number (`st_rdev`).
    #[must_use]
    pub const fn device_number(self) -> DeviceNumber {
        match self {
            CharacterDevice::Null => DeviceNumber::new(1, 3),
            CharacterDevice::Zero => DeviceNumber::new(1, 5),
            CharacterDevice::Random => DeviceNumber::new(1, 8),
            CharacterDevice::Urandom => DeviceNumber::new(1, 9),
            CharacterDevice::Tty => DeviceNumber::new(5, 0),
            CharacterDevice::Console => DeviceNumber::new(5, 1),
            CharacterDevice::Other(number) => number,
        }
    }

    /// The known device with this number, or [`CharacterDevice::Other`].
    #[must_use]
    pub const fn from_device_number(number: DeviceNumber) -> CharacterDevice {
        match (number.major, number.minor) {
            (1, 3) => CharacterDevice::Null,
            (1, 5) => CharacterDevice::Zero,
            (1, 8) => CharacterDevice::Random,
            (1, 9) => CharacterDevice::Urandom,
            (5, 0) => CharacterDevice::Tty,
            (5, 1) => CharacterDevice::Console,
            _ => CharacterDevice::Other(number),
        }
    }

    /// Reads from the device as Linux does for the memory devices: `Some(bytes read)`,
    /// or `None` when the device's I/O belongs to the caller (console, tty, others).
    pub fn read(self, buffer: &mut [u8], random: &mut dyn RandomSource) -> Option<usize> {
        match self {
            CharacterDevice::Null => Some(0),
            CharacterDevice::Zero => {
                buffer.fill(0);
                Some(buffer.len())
            }
            CharacterDevice::Random | CharacterDevice::Urandom => {
                random.fill(buffer);
                Some(buffer.len())
            }
            CharacterDevice::Tty | CharacterDevice::Console | CharacterDevice::Other(_) => None,
        }
    }

    /// Writes to the device: the memory devices accept and drop every byte (`Some(len)`);
    /// `None` when the device's I/O belongs to the caller.
    #[must_use]
    pub const fn write(self, length: usize) -> Option<usize> {
        match self {
            CharacterDevice::Null
            | CharacterDevice::Zero
            | CharacterDevice::Random
            | CharacterDevice::Urandom => Some(length),
            CharacterDevice::Tty | CharacterDevice::Console | CharacterDevice::Other(_) => None,
        }
    }
}

/// Where random bytes for `/dev/random` and `/dev/urandom` come from.
pub trait RandomSource {
    /// Fills `buffer` with random bytes.
    fn fill(&mut self, buffer: &mut [u8]);
}

/// What an inode holds, which also fixes its file type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A regular file's bytes.
    Regular(Vec<u8>),
    /// A directory's entries.
    Directory(Directory),
    /// A symbolic link's target.
    Symlink(Vec<u8>),
    /// A character device node.
    CharacterDevice(CharacterDevice),
    /// A block device node (no driver; opening it is the caller's business).
    BlockDevice(DeviceNumber),
    /// A named pipe (the caller attaches a pipe when it is opened).
    Fifo,
    /// A socket node.
    Socket,
}

impl Content {
    /// The `S_IFMT` bits for this content.
    #[must_use]
    pub const fn type_bits(&self) -> u32 {
        match self {
            Content::Regular(_) => S_IFREG,
            Content::Directory(_) => S_IFDIR,
            Content::Symlink(_) => S_IFLNK,
            Content::CharacterDevice(_) => S_IFCHR,
            Content::BlockDevice(_) => S_IFBLK,
            Content::Fifo => S_IFIFO,
            Content::Socket => S_IFSOCK,
        }
    }

    /// The `d_type` of a directory entry naming this content.
    #[must_use]
    pub const fn dirent_type(&self) -> u8 {
        match self {
            Content::Regular(_) => dirent_type::REGULAR,
            Content::Directory(_) => dirent_type::DIRECTORY,
            Content::Symlink(_) => dirent_type::SYMLINK,
            Content::CharacterDevice(_) => dirent_type::CHARACTER_DEVICE,
            Content::BlockDevice(_) => dirent_type::BLOCK_DEVICE,
            Content::Fifo => dirent_type::FIFO,
            Content::Socket => dirent_type::SOCKET,
        }
    }
}

/// Linux's tmpfs reports a directory's size as 20 bytes per entry, `.` and `..` included.
const DIRECTORY_ENTRY_SIZE: u64 = 20;

/// The first cookie an entry can have: 0 and 1 are the positions of `.` and `..`.
pub const FIRST_ENTRY_COOKIE: u64 = 2;

/// A directory's entries in creation order.
///
/// Each entry gets a cookie (its `getdents64` position) from a counter that only grows,
/// so a reader resuming at a cookie sees every entry that existed throughout exactly once,
/// whatever is added or removed in between.
///
/// # Invariants
/// `by_name` and `by_cookie` describe the same entries; every cookie is below
/// `next_cookie`; names are non-empty, contain no `/` or NUL, and are not `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    parent: InodeId,
    by_name: BTreeMap<Vec<u8>, u64>,
    by_cookie: BTreeMap<u64, DirectoryEntry>,
    next_cookie: u64,
}

/// One name in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The entry's name.
    pub name: Vec<u8>,
    /// The inode it names.
    pub inode: InodeId,
}

impl Directory {
    /// An empty directory whose `..` is `parent`.
    #[must_use]
    pub fn new(parent: InodeId) -> Directory {
        Directory {
            parent,
            by_name: BTreeMap::new(),
            by_cookie: BTreeMap::new(),
            next_cookie: FIRST_ENTRY_COOKIE,
        }
    }

    /// The inode `..` names.
    #[must_use]
    pub const fn parent(&self) -> InodeId {
        self.parent
    }

    /// The inode `name` names here, if any.
    #[must_use]
    pub fn lookup(&self, name: &[u8]) -> Option<InodeId> {
        let cookie = self.by_name.get(name)?;
        self.by_cookie.get(cookie).map(|entry| entry.inode)
    }

    /// Number of entries, `.` and `..` not counted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_cookie.len()
    }

    /// True if the directory holds nothing but `.` and `..`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_cookie.is_empty()
    }

    /// Entries in cookie order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &DirectoryEntry)> + '_ {
        self.by_cookie
            .iter()
            .map(|(cookie, entry)| (*cookie, entry))
    }

    /// The first entry at or after `cookie`.
    #[must_use]
    pub fn entry_from(&self, cookie: u64) -> Option<(u64, &DirectoryEntry)> {
        self.by_cookie
            .range(cookie..)
            .next()
            .map(|(cookie, entry)| (*cookie, entry))
    }

    /// The size `st_size` reports.
    #[must_use]
    pub fn size(&self) -> u64 {
        (self.by_cookie.len() as u64)
            .saturating_add(2)
            .saturating_mul(DIRECTORY_ENTRY_SIZE)
    }

    pub(crate) fn set_parent(&mut self, parent: InodeId) {
        self.parent = parent;
    }

    /// Adds `name`, which must not exist yet.
    ///
    /// # Errors
    /// `EEXIST` if the name exists; `ENOSPC` if cookies ran out (after 2^63 insertions).
    pub(crate) fn insert(&mut self, name: &[u8], inode: InodeId) -> Result<(), Errno> {
        if self.by_name.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let cookie = self.next_cookie;
        // d_off is a signed 64-bit value, and the next cookie must stay representable.
        if cookie >= i64::MAX as u64 {
            return Err(Errno::ENOSPC);
        }
        self.next_cookie = cookie + 1;
        self.by_name.insert(name.to_vec(), cookie);
        self.by_cookie.insert(
            cookie,
            DirectoryEntry {
                name: name.to_vec(),
                inode,
            },
        );
        Ok(())
    }

    /// Removes `name`, returning the inode it named.
    pub(crate) fn remove(&mut self, name: &[u8]) -> Option<InodeId> {
        let cookie = self.by_name.remove(name)?;
        self.by_cookie.remove(&cookie).map(|entry| entry.inode)
    }

    /// Points an existing `name` at `inode` in place (keeping its cookie).
    pub(crate) fn replace(&mut self, name: &[u8], inode: InodeId) -> Option<InodeId> {
        let cookie = self.by_name.get(name)?;
        let entry = self.by_cookie.get_mut(cookie)?;
        Some(core::mem::replace(&mut entry.inode, inode))
    }
}

/// One file-system object and its metadata.
///
/// # Invariants
/// The type bits of `mode` match `content`; `nlink` counts the directory entries naming
/// the inode (plus, for a directory, its `.` and its subdirectories' `..`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub(crate) id: InodeId,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u32,
    pub(crate) atime: Timespec,
    pub(crate) mtime: Timespec,
    pub(crate) ctime: Timespec,
    pub(crate) btime: Timespec,
    pub(crate) content: Content,
    /// Open file descriptions and other holders that keep an unlinked inode alive.
    pub(crate) open_references: u32,
}

impl Inode {
    /// A fresh inode with `nlink` 0; the tree links it.
    pub(crate) fn new(
        id: InodeId,
        permission_bits: u32,
        owner: (u32, u32),
        content: Content,
        now: Timespec,
    ) -> Inode {
        Inode {
            id,
            mode: content.type_bits() | (permission_bits & PERMISSION_BITS),
            uid: owner.0,
            gid: owner.1,
            nlink: 0,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            content,
            open_references: 0,
        }
    }

    /// The inode number.
    #[must_use]
    pub const fn id(&self) -> InodeId {
        self.id
    }

    /// Type and permission bits, as `st_mode`.
    #[must_use]
    pub const fn mode(&self) -> u32 {
        self.mode
    }

    /// Permission bits only (including set-id and sticky).
    #[must_use]
    pub const fn permission_bits(&self) -> u32 {
        self.mode & PERMISSION_BITS
    }

    /// Owner user id.
    #[must_use]
    pub const fn uid(&self) -> u32 {
        self.uid
    }

    /// Owner group id.
    #[must_use]
    pub const fn gid(&self) -> u32 {
        self.gid
    }

    /// Number of links.
    #[must_use]
    pub const fn nlink(&self) -> u32 {
        self.nlink
    }

    /// Last access.
    #[must_use]
    pub const fn atime(&self) -> Timespec {
        self.atime
    }

    /// Last modification of the contents.
    #[must_use]
    pub const fn mtime(&self) -> Timespec {
        self.mtime
    }

    /// Last change of the inode.
    #[must_use]
    pub const fn ctime(&self) -> Timespec {
        self.ctime
    }

    /// Creation.
    #[must_use]
    pub const fn btime(&self) -> Timespec {
        self.btime
    }

    /// What the inode holds.
    #[must_use]
    pub const fn content(&self) -> &Content {
        &self.content
    }

    /// The directory, if this is one.
    #[must_use]
    pub const fn as_directory(&self) -> Option<&Directory> {
        match &self.content {
            Content::Directory(directory) => Some(directory),
            _ => None,
        }
    }

    /// True for a directory.
    #[must_use]
    pub const fn is_directory(&self) -> bool {
        matches!(self.content, Content::Directory(_))
    }

    /// True for a symbolic link.
    #[must_use]
    pub const fn is_symlink(&self) -> bool {
        matches!(self.content, Content::Symlink(_))
    }

    /// True for a directory that has been removed (`rmdir`) but is still open or a cwd.
    #[must_use]
    pub const fn is_removed_directory(&self) -> bool {
        self.is_directory() && self.nlink == 0
    }

    /// `st_size`: bytes for files, target length for links, Linux's tmpfs
    /// figure for directories, 0 for devices.
    #[must_use]
    pub fn size(&self) -> u64 {
        match &self.content {
            Content::Regular(bytes) | Content::Symlink(bytes) => bytes.len() as u64,
            Content::Directory(directory) => directory.size(),
            _ => 0,
        }
    }

    /// `st_rdev`: the device number of a device node, else 0:0.
    #[must_use]
    pub const fn rdev(&self) -> DeviceNumber {
        match &self.content {
            Content::CharacterDevice(device) => device.device_number(),
            Content::BlockDevice(number) => *number,
            _ => DeviceNumber::new(0, 0),
        }
    }

    /// How many open descriptions (or other holders) keep this inode alive.
    #[must_use]
    pub const fn open_references(&self) -> u32 {
        self.open_references
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(u8);

    impl RandomSource for Counting {
        fn fill(&mut self, buffer: &mut [u8]) {
            for byte in buffer {
                self.0 = self.0.wrapping_add(1);
                *byte = self.0;
            }
        }
    }

    #[test]
    fn device_numbers_match_linux() {
        assert_eq!(
            CharacterDevice::Null.device_number(),
            DeviceNumber::new(1, 3)
        );
        assert_eq!(CharacterDevice::Null.device_number().encode(), 0x103);
        assert_eq!(
            CharacterDevice::Console.device_number().encode(),
            0x501,
            "5:1"
        );
        // glibc's makedev(0x1234, 0x56789) spreads both numbers over 64 bits.
        assert_eq!(
            DeviceNumber::new(0x1234, 0x56789).encode(),
            (0x1000_u64 << 32) | (0x234 << 8) | (0x567 << 20) | 0x89
        );
        for device in [
            CharacterDevice::Null,
            CharacterDevice::Zero,
            CharacterDevice::Random,
            CharacterDevice::Urandom,
            CharacterDevice::Tty,
            CharacterDevice::Console,
        ] {
            assert_eq!(
                CharacterDevice::from_device_number(device.device_number()),
                device
            );
        }
        assert_eq!(
            CharacterDevice::from_device_number(DeviceNumber::new(4, 64)),
            CharacterDevice::Other(DeviceNumber::new(4, 64))
        );
    }

    #[test]
    fn memory_devices_read_and_write() {
        let mut random = Counting(0);
        let mut buffer = [0xaa_u8; 4];
        assert_eq!(
            CharacterDevice::Null.read(&mut buffer, &mut random),
            Some(0)
        );
        assert_eq!(buffer, [0xaa; 4]);
        assert_eq!(
            CharacterDevice::Zero.read(&mut buffer, &mut random),
            Some(4)
        );
        assert_eq!(buffer, [0; 4]);
        assert_eq!(
            CharacterDevice::Urandom.read(&mut buffer, &mut random),
            Some(4)
        );
        assert_eq!(buffer, [1, 2, 3, 4]);
        assert_eq!(
            CharacterDevice::Random.read(&mut buffer, &mut random),
            Some(4)
        );
        assert_eq!(buffer, [5, 6, 7, 8]);
        assert_eq!(
            CharacterDevice::Console.read(&mut buffer, &mut random),
            None
        );
        assert_eq!(CharacterDevice::Null.write(99), Some(99));
        assert_eq!(CharacterDevice::Tty.write(1), None);
    }

    #[test]
    fn directory_cookies_only_grow() {
        let mut directory = Directory::new(InodeId(1));
        directory.insert(b"a", InodeId(2)).unwrap();
        directory.insert(b"b", InodeId(3)).unwrap();
        assert_eq!(directory.insert(b"a", InodeId(9)), Err(Errno::EEXIST));
        assert_eq!(directory.remove(b"a"), Some(InodeId(2)));
        directory.insert(b"a", InodeId(4)).unwrap();
        let cookies: Vec<(u64, &[u8])> = directory
            .entries()
            .map(|(cookie, entry)| (cookie, entry.name.as_slice()))
            .collect();
        assert_eq!(cookies, [(3, &b"b"[..]), (4, &b"a"[..])]);
        assert_eq!(directory.lookup(b"a"), Some(InodeId(4)));
        assert_eq!(directory.entry_from(4).map(|(cookie, _)| cookie), Some(4));
        assert_eq!(directory.entry_from(5), None);
        assert_eq!(directory.size(), 4 * 20);
        assert_eq!(directory.replace(b"b", InodeId(7)), Some(InodeId(3)));
        assert_eq!(directory.lookup(b"b"), Some(InodeId(7)));
        assert_eq!(directory.replace(b"zz", InodeId(7)), None);
    }
}
