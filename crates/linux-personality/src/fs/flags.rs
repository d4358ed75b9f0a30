//! The flag and constant values of the file system calls on aarch64 (asm-generic,
//! with arm64's own `O_DIRECTORY`, `O_NOFOLLOW`, `O_DIRECT` and `O_LARGEFILE`).

/// `O_ACCMODE`: the access-mode bits of `open` flags.
pub const O_ACCMODE: u32 = 0o3;
/// `O_RDONLY`.
pub const O_RDONLY: u32 = 0o0;
/// `O_WRONLY`.
pub const O_WRONLY: u32 = 0o1;
/// `O_RDWR`.
pub const O_RDWR: u32 = 0o2;
/// `O_CREAT`.
pub const O_CREAT: u32 = 0o100;
/// `O_EXCL`.
pub const O_EXCL: u32 = 0o200;
/// `O_NOCTTY`.
pub const O_NOCTTY: u32 = 0o400;
/// `O_TRUNC`.
pub const O_TRUNC: u32 = 0o1000;
/// `O_APPEND`.
pub const O_APPEND: u32 = 0o2000;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0o4000;
/// `O_DSYNC`.
pub const O_DSYNC: u32 = 0o10000;
/// `O_ASYNC` (`FASYNC`).
pub const O_ASYNC: u32 = 0o20000;
/// `O_DIRECTORY` (arm64 value).
pub const O_DIRECTORY: u32 = 0o40000;
/// `O_NOFOLLOW` (arm64 value).
pub const O_NOFOLLOW: u32 = 0o100000;
/// `O_DIRECT` (arm64 value).
pub const O_DIRECT: u32 = 0o200000;
/// `O_LARGEFILE` (arm64 value; always implied on 64-bit).
pub const O_LARGEFILE: u32 = 0o400000;
/// `O_NOATIME`.
pub const O_NOATIME: u32 = 0o1000000;
/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o2000000;
/// `__O_SYNC` (`O_SYNC` is this plus `O_DSYNC`).
pub const O_SYNC_BIT: u32 = 0o4000000;
/// `O_PATH`.
pub const O_PATH: u32 = 0o10000000;
/// `__O_TMPFILE` (`O_TMPFILE` is this plus `O_DIRECTORY`).
pub const O_TMPFILE_BIT: u32 = 0o20000000;

/// The status flags `fcntl(F_SETFL)` may change.
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

/// `AT_FDCWD`: the `dirfd` meaning "the working directory".
pub const AT_FDCWD: i32 = -100;
/// `AT_SYMLINK_NOFOLLOW`.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `AT_REMOVEDIR` (`unlinkat`).
pub const AT_REMOVEDIR: u32 = 0x200;
/// `AT_EACCESS` (`faccessat`).
pub const AT_EACCESS: u32 = 0x200;
/// `AT_SYMLINK_FOLLOW` (`linkat`).
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// `AT_NO_AUTOMOUNT`.
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
/// `AT_EMPTY_PATH`.
pub const AT_EMPTY_PATH: u32 = 0x1000;
/// `AT_STATX_SYNC_TYPE`: the two statx synchronisation bits.
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;

/// `RENAME_NOREPLACE`.
pub const RENAME_NOREPLACE: u32 = 1;
/// `RENAME_EXCHANGE`.
pub const RENAME_EXCHANGE: u32 = 2;
/// `RENAME_WHITEOUT`.
pub const RENAME_WHITEOUT: u32 = 4;

/// `UTIME_NOW` in a `tv_nsec` field.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `UTIME_OMIT` in a `tv_nsec` field.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// `F_OK`.
pub const F_OK: u32 = 0;
/// `X_OK`.
pub const X_OK: u32 = 1;
/// `W_OK`.
pub const W_OK: u32 = 2;
/// `R_OK`.
pub const R_OK: u32 = 4;

/// `F_DUPFD`.
pub const F_DUPFD: u32 = 0;
/// `F_GETFD`.
pub const F_GETFD: u32 = 1;
/// `F_SETFD`.
pub const F_SETFD: u32 = 2;
/// `F_GETFL`.
pub const F_GETFL: u32 = 3;
/// `F_SETFL`.
pub const F_SETFL: u32 = 4;
/// `F_DUPFD_CLOEXEC` (`F_LINUX_SPECIFIC_BASE + 6`).
pub const F_DUPFD_CLOEXEC: u32 = 1030;
/// `FD_CLOEXEC`, the one descriptor flag.
pub const FD_CLOEXEC: u32 = 1;

/// `SEEK_SET`.
pub const SEEK_SET: u32 = 0;
/// `SEEK_CUR`.
pub const SEEK_CUR: u32 = 1;
/// `SEEK_END`.
pub const SEEK_END: u32 = 2;
