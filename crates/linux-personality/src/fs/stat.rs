//! File status as `fstat`/`newfstatat` (aarch64's asm-generic `struct stat`, 128 bytes)
//! and `statx` (`struct statx`, 256 bytes) return it, byte for byte.

use super::flags::{AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW};
use super::inode::{Content, DeviceNumber, Inode, Timespec};
use crate::errno::Errno;

/// Size of aarch64's `struct stat`.
pub const STAT_SIZE: usize = 128;
/// Size of `struct statx`.
pub const STATX_SIZE: usize = 256;
/// The block size reported in `st_blksize` (a page, as tmpfs).
pub const BLOCK_SIZE: u32 = 4096;

/// `STATX_BASIC_STATS`: everything `struct stat` has.
pub const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX_BTIME`.
pub const STATX_BTIME: u32 = 0x800;
/// `STATX__RESERVED`: a request with this bit fails with `EINVAL`.
pub const STATX_RESERVED: u32 = 0x8000_0000;

/// The status of one inode, in Linux's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Device holding the file.
    pub dev: DeviceNumber,
    /// Inode number.
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Number of links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number of a device node.
    pub rdev: DeviceNumber,
    /// Size in bytes.
    pub size: i64,
    /// Preferred I/O size.
    pub blksize: u32,
    /// 512-byte blocks allocated.
    pub blocks: i64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Creation (statx only).
    pub btime: Timespec,
}

impl Stat {
    /// The status of `inode` on device `dev`. Regular files occupy whole pages, as tmpfs
    /// allocates them; other inodes report no blocks.
    #[must_use]
    pub fn of(inode: &Inode, dev: DeviceNumber) -> Stat {
        let size = inode.size();
        let blocks = match inode.content() {
            Content::Regular(_) => {
                size.div_ceil(u64::from(BLOCK_SIZE)) * (u64::from(BLOCK_SIZE) / 512)
            }
            _ => 0,
        };
        Stat {
            dev,
            ino: inode.id().0,
            mode: inode.mode(),
            nlink: inode.nlink(),
            uid: inode.uid(),
            gid: inode.gid(),
            rdev: inode.rdev(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            blksize: BLOCK_SIZE,
            blocks: i64::try_from(blocks).unwrap_or(i64::MAX),
            atime: inode.atime(),
            mtime: inode.mtime(),
            ctime: inode.ctime(),
            btime: inode.btime(),
        }
    }

    /// aarch64's `struct stat` (asm-generic): `st_dev` 0, `st_ino` 8, `st_mode` 16,
    /// `st_nlink` 20, `st_uid` 24, `st_gid` 28, `st_rdev` 32, `st_size` 48,
    /// `st_blksize` 56, `st_blocks` 64, `st_atime` 72 (+ nsec 80), `st_mtime` 88
    /// (+ nsec 96), `st_ctime` 104 (+ nsec 112); padding zero. Little-endian.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; STAT_SIZE] {
        let mut bytes = [0_u8; STAT_SIZE];
        let mut writer = Writer(&mut bytes);
        writer.put(0, &self.dev.encode().to_le_bytes());
        writer.put(8, &self.ino.to_le_bytes());
        writer.put(16, &self.mode.to_le_bytes());
        writer.put(20, &self.nlink.to_le_bytes());
        writer.put(24, &self.uid.to_le_bytes());
        writer.put(28, &self.gid.to_le_bytes());
        writer.put(32, &self.rdev.encode().to_le_bytes());
        writer.put(48, &self.size.to_le_bytes());
        writer.put(56, &self.blksize.to_le_bytes());
        writer.put(64, &self.blocks.to_le_bytes());
        for (offset, time) in [(72, self.atime), (88, self.mtime), (104, self.ctime)] {
            writer.put(offset, &time.seconds.to_le_bytes());
            writer.put(offset + 8, &u64::from(time.nanoseconds).to_le_bytes());
        }
        bytes
    }

    /// `struct statx`: `stx_mask` 0, `stx_blksize` 4, `stx_attributes` 8, `stx_nlink`
    /// 16, `stx_uid` 20, `stx_gid` 24, `stx_mode` 28 (16 bits), `stx_ino` 32,
    /// `stx_size` 40, `stx_blocks` 48, `stx_attributes_mask` 56, timestamps (64-bit
    /// seconds, 32-bit nanoseconds, 32 reserved) `stx_atime` 64, `stx_btime` 80,
    /// `stx_ctime` 96, `stx_mtime` 112, `stx_rdev_major`/`minor` 128/132,
    /// `stx_dev_major`/`minor` 136/140; the rest zero.
    ///
    /// Every basic field and the birth time are filled whatever was requested, and
    /// `stx_mask` says so, as Linux does.
    #[must_use]
    pub fn to_statx_bytes(&self) -> [u8; STATX_SIZE] {
        let mut bytes = [0_u8; STATX_SIZE];
        let mut writer = Writer(&mut bytes);
        writer.put(0, &(STATX_BASIC_STATS | STATX_BTIME).to_le_bytes());
        writer.put(4, &self.blksize.to_le_bytes());
        writer.put(16, &self.nlink.to_le_bytes());
        writer.put(20, &self.uid.to_le_bytes());
        writer.put(24, &self.gid.to_le_bytes());
        // stx_mode is 16 bits; every Linux mode fits.
        writer.put(28, &((self.mode & 0xffff) as u16).to_le_bytes());
        writer.put(32, &self.ino.to_le_bytes());
        writer.put(40, &self.size.to_le_bytes());
        writer.put(48, &self.blocks.to_le_bytes());
        for (offset, time) in [
            (64, self.atime),
            (80, self.btime),
            (96, self.ctime),
            (112, self.mtime),
        ] {
            writer.put(offset, &time.seconds.to_le_bytes());
            writer.put(offset + 8, &time.nanoseconds.to_le_bytes());
        }
        writer.put(128, &self.rdev.major.to_le_bytes());
        writer.put(132, &self.rdev.minor.to_le_bytes());
        writer.put(136, &self.dev.major.to_le_bytes());
        writer.put(140, &self.dev.minor.to_le_bytes());
        bytes
    }
}

/// Checks `statx`'s `flags` and `mask` as Linux does before any lookup.
///
/// # Errors
/// `EINVAL` for an unknown flag, both synchronisation bits at once, or the reserved
/// mask bit.
pub fn check_statx_arguments(flags: u32, mask: u32) -> Result<(), Errno> {
    let known = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE;
    if flags & !known != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    if mask & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Writes fields at fixed offsets of a fixed-size buffer; the offsets are constants
/// within the buffer, and out-of-range writes are dropped rather than panicking.
struct Writer<'a>(&'a mut [u8]);

impl Writer<'_> {
    fn put(&mut self, offset: usize, value: &[u8]) {
        if let Some(slot) = offset
            .checked_add(value.len())
            .and_then(|end| self.0.get_mut(offset..end))
        {
            slot.copy_from_slice(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::inode::{InodeId, S_IFREG};

    fn sample() -> Stat {
        Stat {
            dev: DeviceNumber::new(0, 0x1a),
            ino: 0x1122_3344_5566_7788,
            mode: S_IFREG | 0o644,
            nlink: 3,
            uid: 1000,
            gid: 100,
            rdev: DeviceNumber::new(1, 3),
            size: 5000,
            blksize: 4096,
            blocks: 16,
            atime: Timespec::new(1, 2),
            mtime: Timespec::new(0x0102_0304_0506_0708, 999_999_999),
            ctime: Timespec::new(-5, 6),
            btime: Timespec::new(7, 8),
        }
    }

    fn u64_at(bytes: &[u8], offset: usize) -> u64 {
        u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
    }

    fn u32_at(bytes: &[u8], offset: usize) -> u32 {
        u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
    }

    #[test]
    fn stat_layout_matches_asm_generic() {
        // Offsets from include/uapi/asm-generic/stat.h (unsigned long/long are 8 bytes).
        let bytes = sample().to_bytes();
        assert_eq!(u64_at(&bytes, 0), 0x1a);
        assert_eq!(u64_at(&bytes, 8), 0x1122_3344_5566_7788);
        assert_eq!(u32_at(&bytes, 16), S_IFREG | 0o644);
        assert_eq!(u32_at(&bytes, 20), 3);
        assert_eq!(u32_at(&bytes, 24), 1000);
        assert_eq!(u32_at(&bytes, 28), 100);
        assert_eq!(u64_at(&bytes, 32), 0x103);
        assert_eq!(u64_at(&bytes, 40), 0, "__pad1");
        assert_eq!(u64_at(&bytes, 48), 5000);
        assert_eq!(u32_at(&bytes, 56), 4096);
        assert_eq!(u32_at(&bytes, 60), 0, "__pad2");
        assert_eq!(u64_at(&bytes, 64), 16);
        assert_eq!(u64_at(&bytes, 72), 1);
        assert_eq!(u64_at(&bytes, 80), 2);
        assert_eq!(u64_at(&bytes, 88), 0x0102_0304_0506_0708);
        assert_eq!(u64_at(&bytes, 96), 999_999_999);
        assert_eq!(u64_at(&bytes, 104) as i64, -5);
        assert_eq!(u64_at(&bytes, 112), 6);
        assert_eq!(u64_at(&bytes, 120), 0, "__unused4/5");
    }

    #[test]
    fn statx_layout_matches_uapi() {
        let bytes = sample().to_statx_bytes();
        assert_eq!(u32_at(&bytes, 0), 0xfff);
        assert_eq!(u32_at(&bytes, 4), 4096);
        assert_eq!(u64_at(&bytes, 8), 0);
        assert_eq!(u32_at(&bytes, 16), 3);
        assert_eq!(u32_at(&bytes, 20), 1000);
        assert_eq!(u32_at(&bytes, 24), 100);
        assert_eq!(
            u16::from_le_bytes([bytes[28], bytes[29]]),
            (S_IFREG | 0o644) as u16
        );
        assert_eq!(u64_at(&bytes, 32), 0x1122_3344_5566_7788);
        assert_eq!(u64_at(&bytes, 40), 5000);
        assert_eq!(u64_at(&bytes, 48), 16);
        assert_eq!((u64_at(&bytes, 64), u32_at(&bytes, 72)), (1, 2));
        assert_eq!((u64_at(&bytes, 80), u32_at(&bytes, 88)), (7, 8));
        assert_eq!((u64_at(&bytes, 96) as i64, u32_at(&bytes, 104)), (-5, 6));
        assert_eq!(
            (u64_at(&bytes, 112), u32_at(&bytes, 120)),
            (0x0102_0304_0506_0708, 999_999_999)
        );
        assert_eq!((u32_at(&bytes, 128), u32_at(&bytes, 132)), (1, 3));
        assert_eq!((u32_at(&bytes, 136), u32_at(&bytes, 140)), (0, 0x1a));
        assert!(bytes[144..].iter().all(|byte| *byte == 0));
    }

    #[test]
    fn blocks_count_whole_pages_of_regular_files() {
        let mut inode = Inode::new(
            InodeId(5),
            0o600,
            (1, 2),
            Content::Regular(alloc::vec![0; 4097]),
            Timespec::new(3, 4),
        );
        inode.nlink = 1;
        let stat = Stat::of(&inode, DeviceNumber::new(0, 1));
        assert_eq!(stat.size, 4097);
        assert_eq!(stat.blocks, 16);
        assert_eq!(stat.ino, 5);
        assert_eq!((stat.uid, stat.gid, stat.nlink), (1, 2, 1));
        assert_eq!(stat.mode, S_IFREG | 0o600);
    }

    #[test]
    fn statx_arguments_are_checked() {
        assert_eq!(check_statx_arguments(0, STATX_BASIC_STATS), Ok(()));
        assert_eq!(check_statx_arguments(AT_EMPTY_PATH | 0x2000, 0), Ok(()));
        assert_eq!(check_statx_arguments(0x6000, 0), Err(Errno::EINVAL));
        assert_eq!(check_statx_arguments(0x1, 0), Err(Errno::EINVAL));
        assert_eq!(check_statx_arguments(0, STATX_RESERVED), Err(Errno::EINVAL));
    }
}
