//! Unit tests of the file system calls: every error path the syscalls rely on.

use super::*;
use crate::fs::flags::{
    AT_EMPTY_PATH, F_OK, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, R_OK, W_OK, X_OK,
};
use crate::fs::inode::{dirent_type, RandomSource, S_IFDIR, S_IFLNK, S_IFREG};
use crate::fs::tree::MountKind;
use alloc::vec;

const T0: Timespec = Timespec::new(1_000, 0);
const T1: Timespec = Timespec::new(2_000, 500);
const T2: Timespec = Timespec::new(3_000, 7);
const ROOT: Identity = Identity::ROOT;
const USER: Identity = Identity {
    uid: 1000,
    gid: 1000,
};
const OTHER: Identity = Identity {
    uid: 2000,
    gid: 2000,
};
const UMASK: u32 = 0o022;

struct Counting(u8);

impl RandomSource for Counting {
    fn fill(&mut self, buffer: &mut [u8]) {
        for byte in buffer {
            self.0 = self.0.wrapping_add(1);
            *byte = self.0;
        }
    }
}

fn setup() -> Fs {
    let mut fs = Fs::new(T0);
    fs.add_standard_nodes(T0).unwrap();
    fs
}

fn open_as(
    fs: &mut Fs,
    who: &Identity,
    path: &str,
    flags: u32,
    mode: u32,
) -> Result<OpenFile, Errno> {
    let root = fs.root();
    open(
        fs,
        who,
        root,
        path.as_bytes(),
        OpenRequest {
            flags,
            mode,
            umask: UMASK,
        },
        T1,
    )
}

fn open_path(fs: &mut Fs, path: &str, flags: u32) -> Result<OpenFile, Errno> {
    open_as(fs, &ROOT, path, flags, 0o666)
}

fn create(fs: &mut Fs, path: &str, contents: &[u8]) -> InodeId {
    let mut file = open_path(fs, path, O_CREAT | O_WRONLY | O_TRUNC).unwrap();
    assert_eq!(
        write(fs, &mut file, contents, T1),
        Ok(Transfer::Done(contents.len()))
    );
    close(fs, &file);
    file.inode
}

fn lookup(fs: &Fs, path: &str) -> Result<InodeId, Errno> {
    path::resolve(
        fs,
        &ROOT,
        fs.root(),
        path.as_bytes(),
        Follow::NoFollow,
        EmptyPath::Refuse,
    )
}

fn contents(fs: &Fs, path: &str) -> Vec<u8> {
    match fs.inode(lookup(fs, path).unwrap()).unwrap().content() {
        Content::Regular(bytes) => bytes.clone(),
        other => panic!("{path} is {other:?}"),
    }
}

fn mkdir_as(fs: &mut Fs, who: &Identity, path: &str, mode: u32) -> Result<InodeId, Errno> {
    let root = fs.root();
    mkdir(fs, who, root, path.as_bytes(), mode, UMASK, T1)
}

fn md(fs: &mut Fs, path: &str) -> InodeId {
    mkdir_as(fs, &ROOT, path, 0o777).unwrap()
}

fn ln_s(fs: &mut Fs, target: &str, path: &str) -> Result<InodeId, Errno> {
    let root = fs.root();
    symlink(fs, &ROOT, target.as_bytes(), root, path.as_bytes(), T1)
}

fn mv(fs: &mut Fs, who: &Identity, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
    let root = fs.root();
    rename(
        fs,
        who,
        root,
        old.as_bytes(),
        root,
        new.as_bytes(),
        flags,
        T2,
    )
}

fn rm(fs: &mut Fs, who: &Identity, path: &str) -> Result<(), Errno> {
    let root = fs.root();
    unlink(fs, who, root, path.as_bytes(), T2)
}

fn rd(fs: &mut Fs, who: &Identity, path: &str) -> Result<(), Errno> {
    let root = fs.root();
    rmdir(fs, who, root, path.as_bytes(), T2)
}

fn nlink(fs: &Fs, path: &str) -> u32 {
    fs.inode(lookup(fs, path).unwrap()).unwrap().nlink()
}

fn read_all(fs: &mut Fs, file: &mut OpenFile) -> Vec<u8> {
    let mut buffer = vec![0_u8; 1 << 16];
    match read(fs, file, &mut buffer, &mut Counting(0), T2) {
        Ok(Transfer::Done(count)) => buffer[..count].to_vec(),
        other => panic!("read gave {other:?}"),
    }
}

// ---- open ----

#[test]
fn open_creates_with_umask_and_owner() {
    let mut fs = setup();
    md(&mut fs, "/home");
    fs.inode_mut(lookup(&fs, "/home").unwrap()).unwrap().uid = 1000;
    let file = open_as(&mut fs, &USER, "/home/new", O_CREAT | O_WRONLY, 0o777).unwrap();
    let inode = fs.inode(file.inode).unwrap();
    assert_eq!(inode.mode(), S_IFREG | 0o755);
    assert_eq!((inode.uid(), inode.gid()), (1000, 1000));
    assert_eq!(inode.nlink(), 1);
    assert_eq!(inode.open_references(), 1);
    assert_eq!(inode.btime(), T1);
    let home = fs.inode(lookup(&fs, "/home").unwrap()).unwrap();
    assert_eq!(home.mtime(), T1);
    // A new file opens even when its own mode forbids the access asked for.
    let readonly = open_as(&mut fs, &USER, "/home/ro", O_CREAT | O_RDWR, 0o444).unwrap();
    assert_eq!(fs.inode(readonly.inode).unwrap().permission_bits(), 0o444);
    // Reopening it for writing is refused.
    assert_eq!(
        open_as(&mut fs, &USER, "/home/ro", O_RDWR, 0).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(
        open_as(&mut fs, &USER, "/home/ro", O_CREAT | O_WRONLY, 0).map(|_| ()),
        Err(Errno::EACCES)
    );
    // Creating in a directory without write permission.
    assert_eq!(
        open_as(&mut fs, &USER, "/new", O_CREAT | O_WRONLY, 0o644).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(file.file_status(), O_WRONLY | O_LARGEFILE);
}

#[test]
fn open_error_paths() {
    let mut fs = setup();
    create(&mut fs, "/file", b"data");
    md(&mut fs, "/dir");
    ln_s(&mut fs, "/file", "/link").unwrap();
    ln_s(&mut fs, "/dir", "/dirlink").unwrap();
    ln_s(&mut fs, "/target", "/dangling").unwrap();
    let e = |fs: &mut Fs, path: &str, flags: u32| open_path(fs, path, flags).map(|_| ());
    assert_eq!(e(&mut fs, "/missing", O_RDONLY), Err(Errno::ENOENT));
    assert_eq!(e(&mut fs, "/missing/x", O_CREAT), Err(Errno::ENOENT));
    assert_eq!(e(&mut fs, "/file", O_CREAT | O_EXCL), Err(Errno::EEXIST));
    assert_eq!(
        e(&mut fs, "/dangling", O_CREAT | O_EXCL),
        Err(Errno::EEXIST)
    );
    assert_eq!(e(&mut fs, "/dir", O_CREAT | O_EXCL), Err(Errno::EEXIST));
    assert_eq!(
        e(&mut fs, "/new", O_CREAT | O_DIRECTORY),
        Err(Errno::EINVAL)
    );
    assert_eq!(e(&mut fs, "/file", O_DIRECTORY), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, "/file/", O_RDONLY), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, "/file/x", O_RDONLY), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, "/dir", O_WRONLY), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/dir", O_RDWR), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/dir", O_RDONLY | O_TRUNC), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/dir", O_CREAT), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/dir/.", O_CREAT), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/", O_CREAT), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/newdir/", O_CREAT), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/file/", O_CREAT), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/link", O_NOFOLLOW), Err(Errno::ELOOP));
    assert_eq!(e(&mut fs, "/link", O_NOFOLLOW | O_CREAT), Err(Errno::ELOOP));
    assert_eq!(
        e(&mut fs, "/x", O_TMPFILE_BIT | O_DIRECTORY | O_RDWR),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        e(&mut fs, &"n".repeat(256), O_CREAT),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        e(&mut fs, "/proc/x", O_CREAT | O_WRONLY),
        Err(Errno::EACCES)
    );
    assert_eq!(e(&mut fs, "", O_RDONLY), Err(Errno::ENOENT));
    // Directories open read-only, also through a link and with O_DIRECTORY.
    assert!(e(&mut fs, "/dirlink", O_RDONLY | O_DIRECTORY).is_ok());
    assert!(e(&mut fs, "/dir/", O_RDONLY).is_ok());
    // O_PATH | O_NOFOLLOW names the link itself.
    let link = open_path(&mut fs, "/link", O_PATH | O_NOFOLLOW).unwrap();
    assert_eq!(link.inode, lookup(&fs, "/link").unwrap());
    assert_eq!(link.access, AccessMode::PathOnly);
    assert_eq!(link.file_status() & O_PATH, O_PATH);
    // O_ACCMODE 3 opens for neither reading nor writing.
    let mut neither = open_path(&mut fs, "/file", 3).unwrap();
    assert_eq!(neither.access, AccessMode::Neither);
    assert_eq!(
        read(&mut fs, &mut neither, &mut [0; 4], &mut Counting(0), T1),
        Err(Errno::EBADF)
    );
}

#[test]
fn open_creat_follows_a_dangling_link_to_create_its_target() {
    let mut fs = setup();
    md(&mut fs, "/dir");
    ln_s(&mut fs, "dir/made", "/dangling").unwrap();
    let file = open_path(&mut fs, "/dangling", O_CREAT | O_WRONLY).unwrap();
    assert_eq!(lookup(&fs, "/dir/made"), Ok(file.inode));
    // A second O_CREAT opens the existing target.
    let again = open_path(&mut fs, "/dangling", O_CREAT | O_RDONLY).unwrap();
    assert_eq!(again.inode, file.inode);
    // A link loop is still ELOOP.
    ln_s(&mut fs, "/loop", "/loop").unwrap();
    assert_eq!(
        open_path(&mut fs, "/loop", O_CREAT).map(|_| ()),
        Err(Errno::ELOOP)
    );
}

#[test]
fn open_trunc_and_append() {
    let mut fs = setup();
    create(&mut fs, "/f", b"0123456789");
    let mut file = open_path(&mut fs, "/f", O_WRONLY | O_APPEND).unwrap();
    write(&mut fs, &mut file, b"ab", T1).unwrap();
    // O_APPEND writes at the end whatever the offset says.
    file.offset = 0;
    write(&mut fs, &mut file, b"cd", T1).unwrap();
    assert_eq!(file.offset, 14);
    assert_eq!(contents(&fs, "/f"), b"0123456789abcd");
    assert_eq!(pwrite(&mut fs, &file, b"!", 0, T1), Ok(Transfer::Done(1)));
    assert_eq!(contents(&fs, "/f"), b"0123456789abcd!");
    let truncated = open_path(&mut fs, "/f", O_RDONLY | O_TRUNC).unwrap();
    assert_eq!(contents(&fs, "/f"), b"");
    assert_eq!(fs.inode(truncated.inode).unwrap().mtime(), T1);
    assert_eq!(fs.used_bytes(), 0);
    // F_SETFL changes only the status flags Linux lets it change.
    file.set_file_status(O_NONBLOCK | O_RDWR | O_TRUNC);
    assert_eq!(file.file_status(), O_WRONLY | O_NONBLOCK | O_LARGEFILE);
}

// ---- read, write, seek ----

#[test]
fn sparse_writes_zero_fill_and_reads_stop_at_the_end() {
    let mut fs = setup();
    let mut file = open_path(&mut fs, "/f", O_CREAT | O_RDWR).unwrap();
    file.offset = 10;
    assert_eq!(write(&mut fs, &mut file, b"xy", T2), Ok(Transfer::Done(2)));
    assert_eq!(contents(&fs, "/f"), b"\0\0\0\0\0\0\0\0\0\0xy");
    assert_eq!(fs.inode(file.inode).unwrap().mtime(), T2);
    file.offset = 0;
    assert_eq!(read_all(&mut fs, &mut file).len(), 12);
    assert_eq!(file.offset, 12);
    assert_eq!(read_all(&mut fs, &mut file), b"");
    file.offset = 1000;
    assert_eq!(read_all(&mut fs, &mut file), b"");
    let mut buffer = [0_u8; 3];
    assert_eq!(
        pread(&mut fs, &file, &mut buffer, 9, &mut Counting(0), T2),
        Ok(Transfer::Done(3))
    );
    assert_eq!(&buffer, b"\0xy");
    assert_eq!(file.offset, 1000);
    assert_eq!(
        pread(&mut fs, &file, &mut buffer, -1, &mut Counting(0), T2),
        Err(Errno::EINVAL)
    );
    assert_eq!(pwrite(&mut fs, &file, b"z", -1, T2), Err(Errno::EINVAL));
    assert_eq!(write(&mut fs, &mut file, b"", T2), Ok(Transfer::Done(0)));
    assert_eq!(fs.inode(file.inode).unwrap().size(), 12);
}

#[test]
fn reads_and_writes_need_the_right_access_mode() {
    let mut fs = setup();
    create(&mut fs, "/f", b"abc");
    let mut reader = open_path(&mut fs, "/f", O_RDONLY).unwrap();
    assert_eq!(write(&mut fs, &mut reader, b"x", T1), Err(Errno::EBADF));
    let mut writer = open_path(&mut fs, "/f", O_WRONLY).unwrap();
    assert_eq!(
        read(&mut fs, &mut writer, &mut [0; 1], &mut Counting(0), T1),
        Err(Errno::EBADF)
    );
    let mut directory = open_path(&mut fs, "/dev", O_RDONLY).unwrap();
    assert_eq!(
        read(&mut fs, &mut directory, &mut [0; 1], &mut Counting(0), T1),
        Err(Errno::EISDIR)
    );
    let mut path_only = open_path(&mut fs, "/f", O_PATH).unwrap();
    assert_eq!(
        read(&mut fs, &mut path_only, &mut [0; 1], &mut Counting(0), T1),
        Err(Errno::EBADF)
    );
    assert_eq!(lseek(&fs, &mut path_only, 0, SEEK_SET), Err(Errno::EBADF));
    assert_eq!(ftruncate(&mut fs, &path_only, 0, T1), Err(Errno::EBADF));
}

#[test]
fn file_size_limit_gives_efbig_and_capacity_enospc() {
    let mut fs = setup();
    fs.set_max_file_size(16);
    let mut file = open_path(&mut fs, "/f", O_CREAT | O_RDWR).unwrap();
    file.offset = 14;
    // A write crossing the limit is cut short; one starting at it fails.
    assert_eq!(
        write(&mut fs, &mut file, b"abcd", T1),
        Ok(Transfer::Done(2))
    );
    assert_eq!(file.offset, 16);
    assert_eq!(write(&mut fs, &mut file, b"x", T1), Err(Errno::EFBIG));
    assert_eq!(ftruncate(&mut fs, &file, 17, T1), Err(Errno::EFBIG));
    assert_eq!(ftruncate(&mut fs, &file, 16, T1), Ok(()));
    // The real limit is 1 GiB: a write there fails before allocating anything.
    fs.set_max_file_size(u64::MAX);
    assert_eq!(fs.max_file_size(), 1 << 30);
    file.offset = 1 << 30;
    assert_eq!(write(&mut fs, &mut file, b"x", T1), Err(Errno::EFBIG));
    assert_eq!(
        ftruncate(&mut fs, &file, (1 << 30) + 1, T1),
        Err(Errno::EFBIG)
    );

    fs.set_capacity(20);
    file.offset = 0;
    assert_eq!(fs.used_bytes(), 16);
    assert_eq!(ftruncate(&mut fs, &file, 21, T1), Err(Errno::ENOSPC));
    file.offset = 16;
    assert_eq!(write(&mut fs, &mut file, b"12345", T1), Err(Errno::ENOSPC));
    assert_eq!(fs.inode(file.inode).unwrap().size(), 16);
    assert_eq!(
        write(&mut fs, &mut file, b"1234", T1),
        Ok(Transfer::Done(4))
    );
    assert_eq!(fs.used_bytes(), 20);
    // Removing the file gives the space back once it is closed.
    rm(&mut fs, &ROOT, "/f").unwrap();
    assert_eq!(fs.used_bytes(), 20);
    close(&mut fs, &file);
    assert_eq!(fs.used_bytes(), 0);
}

#[test]
fn devices_read_and_write_as_linux() {
    let mut fs = setup();
    let mut random = Counting(0);
    let mut null = open_path(&mut fs, "/dev/null", O_RDWR).unwrap();
    assert_eq!(
        read(&mut fs, &mut null, &mut [0; 8], &mut random, T1),
        Ok(Transfer::Done(0))
    );
    assert_eq!(
        write(&mut fs, &mut null, b"gone", T1),
        Ok(Transfer::Done(4))
    );
    assert_eq!(lseek(&fs, &mut null, 100, SEEK_SET), Ok(0));
    let mut zero = open_path(&mut fs, "/dev/zero", O_RDONLY).unwrap();
    let mut buffer = [7_u8; 5];
    assert_eq!(
        read(&mut fs, &mut zero, &mut buffer, &mut random, T1),
        Ok(Transfer::Done(5))
    );
    assert_eq!(buffer, [0; 5]);
    let mut urandom = open_path(&mut fs, "/dev/urandom", O_RDONLY).unwrap();
    assert_eq!(
        read(&mut fs, &mut urandom, &mut buffer, &mut random, T1),
        Ok(Transfer::Done(5))
    );
    assert_eq!(buffer, [1, 2, 3, 4, 5]);
    let mut console = open_path(&mut fs, "/dev/console", O_RDWR).unwrap();
    assert_eq!(
        write(&mut fs, &mut console, b"hi", T1),
        Ok(Transfer::CallerHandles(SpecialFile::CharacterDevice(
            CharacterDevice::Console
        )))
    );
    assert_eq!(
        read(&mut fs, &mut console, &mut buffer, &mut random, T1),
        Ok(Transfer::CallerHandles(SpecialFile::CharacterDevice(
            CharacterDevice::Console
        )))
    );
    assert_eq!(lseek(&fs, &mut console, 0, SEEK_SET), Err(Errno::ESPIPE));
    // /dev/console is 0600 root: other users may not open it.
    assert_eq!(
        open_as(&mut fs, &USER, "/dev/console", O_RDWR, 0).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert!(open_as(&mut fs, &USER, "/dev/tty", O_RDWR, 0).is_ok());
}

#[test]
fn lseek_follows_linux() {
    let mut fs = setup();
    create(&mut fs, "/f", b"0123456789");
    let mut file = open_path(&mut fs, "/f", O_RDONLY).unwrap();
    assert_eq!(lseek(&fs, &mut file, 4, SEEK_SET), Ok(4));
    assert_eq!(lseek(&fs, &mut file, 2, SEEK_CUR), Ok(6));
    assert_eq!(lseek(&fs, &mut file, -3, SEEK_END), Ok(7));
    assert_eq!(lseek(&fs, &mut file, 100, SEEK_END), Ok(110));
    assert_eq!(lseek(&fs, &mut file, -1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(lseek(&fs, &mut file, -200, SEEK_CUR), Err(Errno::EINVAL));
    assert_eq!(file.offset, 110, "a failed seek leaves the offset");
    assert_eq!(
        lseek(&fs, &mut file, i64::MAX, SEEK_END),
        Err(Errno::EOVERFLOW)
    );
    assert_eq!(lseek(&fs, &mut file, 0, 5), Err(Errno::EINVAL));
    assert_eq!(lseek(&fs, &mut file, 3, SEEK_DATA), Ok(3));
    assert_eq!(lseek(&fs, &mut file, 3, SEEK_HOLE), Ok(10));
    assert_eq!(lseek(&fs, &mut file, 10, SEEK_DATA), Err(Errno::ENXIO));
    assert_eq!(lseek(&fs, &mut file, -1, SEEK_HOLE), Err(Errno::ENXIO));
    let mut directory = open_path(&mut fs, "/", O_RDONLY).unwrap();
    assert_eq!(lseek(&fs, &mut directory, 0, SEEK_END), Err(Errno::EINVAL));
    assert_eq!(lseek(&fs, &mut directory, 2, SEEK_SET), Ok(2));
}

// ---- truncate ----

#[test]
fn truncate_grows_with_zeros_and_checks_everything() {
    let mut fs = setup();
    create(&mut fs, "/f", b"abcdef");
    let root = fs.root();
    truncate(&mut fs, &ROOT, root, b"/f", 3, T2).unwrap();
    assert_eq!(contents(&fs, "/f"), b"abc");
    assert_eq!(fs.inode(lookup(&fs, "/f").unwrap()).unwrap().mtime(), T2);
    truncate(&mut fs, &ROOT, root, b"/f", 5, T2).unwrap();
    assert_eq!(contents(&fs, "/f"), b"abc\0\0");
    assert_eq!(
        truncate(&mut fs, &ROOT, root, b"/f", -1, T2),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        truncate(&mut fs, &ROOT, root, b"/dev", 0, T2),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        truncate(&mut fs, &ROOT, root, b"/dev/null", 0, T2),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        truncate(&mut fs, &USER, root, b"/f", 0, T2),
        Err(Errno::EACCES)
    );
    assert_eq!(
        truncate(&mut fs, &ROOT, root, b"/nope", 0, T2),
        Err(Errno::ENOENT)
    );
    let reader = open_path(&mut fs, "/f", O_RDONLY).unwrap();
    assert_eq!(ftruncate(&mut fs, &reader, 0, T2), Err(Errno::EINVAL));
    let writer = open_path(&mut fs, "/f", O_WRONLY).unwrap();
    assert_eq!(ftruncate(&mut fs, &writer, -5, T2), Err(Errno::EINVAL));
    assert_eq!(ftruncate(&mut fs, &writer, 0, T2), Ok(()));
    assert_eq!(contents(&fs, "/f"), b"");
}

// ---- mkdir, rmdir, unlink ----

#[test]
fn mkdir_error_paths_and_links() {
    let mut fs = setup();
    create(&mut fs, "/file", b"");
    ln_s(&mut fs, "/nowhere", "/dangling").unwrap();
    let root_links = nlink(&fs, "/");
    let made = md(&mut fs, "/d");
    assert_eq!(fs.inode(made).unwrap().mode(), S_IFDIR | 0o755);
    assert_eq!(nlink(&fs, "/d"), 2);
    assert_eq!(nlink(&fs, "/"), root_links + 1);
    md(&mut fs, "/d/sub/");
    assert_eq!(nlink(&fs, "/d"), 3);
    let e = |fs: &mut Fs, path: &str| mkdir_as(fs, &ROOT, path, 0o755).map(|_| ());
    assert_eq!(e(&mut fs, "/d"), Err(Errno::EEXIST));
    assert_eq!(e(&mut fs, "/file"), Err(Errno::EEXIST));
    assert_eq!(e(&mut fs, "/dangling"), Err(Errno::EEXIST));
    assert_eq!(e(&mut fs, "/d/."), Err(Errno::EEXIST));
    assert_eq!(e(&mut fs, "/d/.."), Err(Errno::EEXIST));
    assert_eq!(e(&mut fs, "/"), Err(Errno::EEXIST));
    assert_eq!(e(&mut fs, "/missing/x"), Err(Errno::ENOENT));
    assert_eq!(e(&mut fs, "/file/x"), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, &"n".repeat(256)), Err(Errno::ENAMETOOLONG));
    assert_eq!(e(&mut fs, "/proc/x"), Err(Errno::EACCES));
    assert_eq!(mkdir_as(&mut fs, &USER, "/x", 0o755), Err(Errno::EACCES));
    // Set-group-id directories pass their group and the bit on.
    let shared = md(&mut fs, "/shared");
    let root = fs.root();
    chmod(&mut fs, &ROOT, shared, 0o2777, T1).unwrap();
    fs.inode_mut(shared).unwrap().gid = 50;
    let sub = mkdir_as(&mut fs, &USER, "/shared/sub", 0o777).unwrap();
    let sub = fs.inode(sub).unwrap();
    assert_eq!((sub.gid(), sub.mode()), (50, S_IFDIR | 0o2755));
    let file = open_as(&mut fs, &USER, "/shared/f", O_CREAT | O_WRONLY, 0o666).unwrap();
    let file = fs.inode(file.inode).unwrap();
    assert_eq!((file.gid(), file.mode()), (50, S_IFREG | 0o644));
    // The sticky bit survives mkdir's mode mask; other high bits do not.
    let sticky = mkdir(&mut fs, &ROOT, root, b"/sticky", 0o7777, 0, T1).unwrap();
    assert_eq!(fs.inode(sticky).unwrap().mode(), S_IFDIR | 0o1777);
}

#[test]
fn rmdir_error_paths() {
    let mut fs = setup();
    md(&mut fs, "/d");
    md(&mut fs, "/d/sub");
    create(&mut fs, "/d/sub/f", b"");
    create(&mut fs, "/file", b"");
    ln_s(&mut fs, "/d", "/dirlink").unwrap();
    assert_eq!(rd(&mut fs, &ROOT, "/d"), Err(Errno::ENOTEMPTY));
    assert_eq!(rd(&mut fs, &ROOT, "/"), Err(Errno::EBUSY));
    assert_eq!(rd(&mut fs, &ROOT, "/d/."), Err(Errno::EINVAL));
    assert_eq!(rd(&mut fs, &ROOT, "/d/sub/.."), Err(Errno::ENOTEMPTY));
    assert_eq!(rd(&mut fs, &ROOT, "/file"), Err(Errno::ENOTDIR));
    assert_eq!(rd(&mut fs, &ROOT, "/dirlink"), Err(Errno::ENOTDIR));
    assert_eq!(rd(&mut fs, &ROOT, "/missing"), Err(Errno::ENOENT));
    assert_eq!(rd(&mut fs, &ROOT, "/proc"), Err(Errno::EBUSY));
    assert_eq!(rd(&mut fs, &USER, "/d/sub"), Err(Errno::EACCES));
    rm(&mut fs, &ROOT, "/d/sub/f").unwrap();
    let links = nlink(&fs, "/d");
    rd(&mut fs, &ROOT, "/d/sub/").unwrap();
    assert_eq!(nlink(&fs, "/d"), links - 1);
    assert_eq!(lookup(&fs, "/d/sub"), Err(Errno::ENOENT));
}

#[test]
fn removed_directory_stays_usable_but_empty() {
    let mut fs = setup();
    let directory = md(&mut fs, "/d");
    // A working directory holds a reference, as an open descriptor does.
    fs.retain(directory).unwrap();
    rd(&mut fs, &ROOT, "/d").unwrap();
    let inode = fs.inode(directory).unwrap();
    assert_eq!(inode.nlink(), 0);
    assert!(inode.is_removed_directory());
    assert_eq!(
        mkdir(&mut fs, &ROOT, directory, b"x", 0o755, 0, T1).map(|_| ()),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        open(
            &mut fs,
            &ROOT,
            directory,
            b"f",
            OpenRequest {
                flags: O_CREAT,
                mode: 0o644,
                umask: 0
            },
            T1
        )
        .map(|_| ()),
        Err(Errno::ENOENT)
    );
    assert_eq!(getcwd(&fs, directory), Err(Errno::ENOENT));
    let mut file = OpenFile {
        inode: directory,
        access: AccessMode::ReadOnly,
        status_flags: 0,
        offset: 0,
    };
    assert_eq!(
        getdents64(&fs, &mut file, &mut [0; 256]),
        Err(Errno::ENOENT)
    );
    fs.release(directory);
    assert_eq!(fs.inode(directory).map(|_| ()), Err(Errno::ENOENT));
}

#[test]
fn unlink_error_paths_and_open_files_outlive_their_names() {
    let mut fs = setup();
    md(&mut fs, "/d");
    let file = create(&mut fs, "/f", b"kept");
    ln_s(&mut fs, "/f", "/link").unwrap();
    assert_eq!(rm(&mut fs, &ROOT, "/d"), Err(Errno::EISDIR));
    assert_eq!(rm(&mut fs, &ROOT, "/d/"), Err(Errno::EISDIR));
    assert_eq!(rm(&mut fs, &ROOT, "/f/"), Err(Errno::ENOTDIR));
    assert_eq!(rm(&mut fs, &ROOT, "/missing"), Err(Errno::ENOENT));
    assert_eq!(rm(&mut fs, &ROOT, "/missing/"), Err(Errno::ENOENT));
    assert_eq!(rm(&mut fs, &ROOT, "/d/.."), Err(Errno::EISDIR));
    assert_eq!(rm(&mut fs, &ROOT, "/"), Err(Errno::EISDIR));
    assert_eq!(rm(&mut fs, &USER, "/f"), Err(Errno::EACCES));
    let root = fs.root();
    assert_eq!(
        unlinkat(&mut fs, &ROOT, root, b"/f", 0x100, T2),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        unlinkat(&mut fs, &ROOT, root, b"/d", AT_REMOVEDIR, T2),
        Ok(())
    );
    // Unlinking a link leaves its target.
    rm(&mut fs, &ROOT, "/link").unwrap();
    assert_eq!(lookup(&fs, "/f"), Ok(file));
    // An open file survives its last name until closed.
    let mut open_file = open_path(&mut fs, "/f", O_RDWR).unwrap();
    rm(&mut fs, &ROOT, "/f").unwrap();
    assert_eq!(lookup(&fs, "/f"), Err(Errno::ENOENT));
    assert_eq!(fs.inode(file).unwrap().nlink(), 0);
    write(&mut fs, &mut open_file, b"!", T2).unwrap();
    open_file.offset = 0;
    assert_eq!(read_all(&mut fs, &mut open_file), b"!ept");
    assert_eq!(fstat(&fs, file).unwrap().nlink, 0);
    close(&mut fs, &open_file);
    assert_eq!(fs.inode(file).map(|_| ()), Err(Errno::ENOENT));
}

#[test]
fn sticky_directories_protect_other_users_files() {
    let mut fs = setup();
    let mine = open_as(&mut fs, &USER, "/tmp/mine", O_CREAT | O_WRONLY, 0o666).unwrap();
    close(&mut fs, &mine);
    mkdir_as(&mut fs, &USER, "/tmp/mydir", 0o777).unwrap();
    assert_eq!(rm(&mut fs, &OTHER, "/tmp/mine"), Err(Errno::EPERM));
    assert_eq!(rd(&mut fs, &OTHER, "/tmp/mydir"), Err(Errno::EPERM));
    assert_eq!(
        mv(&mut fs, &OTHER, "/tmp/mine", "/tmp/theirs", 0),
        Err(Errno::EPERM)
    );
    assert_eq!(rm(&mut fs, &USER, "/tmp/mine"), Ok(()));
    assert_eq!(rd(&mut fs, &ROOT, "/tmp/mydir"), Ok(()));
}

// ---- rename ----

#[test]
fn rename_moves_and_replaces() {
    let mut fs = setup();
    md(&mut fs, "/a");
    md(&mut fs, "/b");
    let file = create(&mut fs, "/a/f", b"one");
    let replaced = create(&mut fs, "/b/g", b"two");
    mv(&mut fs, &ROOT, "/a/f", "/b/g", 0).unwrap();
    assert_eq!(lookup(&fs, "/b/g"), Ok(file));
    assert_eq!(lookup(&fs, "/a/f"), Err(Errno::ENOENT));
    assert_eq!(fs.inode(replaced).map(|_| ()), Err(Errno::ENOENT));
    assert_eq!(fs.inode(file).unwrap().ctime(), T2);
    assert_eq!(fs.used_bytes(), 3);
    // A directory moves with its link counts.
    md(&mut fs, "/a/sub");
    let (a, b) = (nlink(&fs, "/a"), nlink(&fs, "/b"));
    mv(&mut fs, &ROOT, "/a/sub", "/b/sub", 0).unwrap();
    assert_eq!((nlink(&fs, "/a"), nlink(&fs, "/b")), (a - 1, b + 1));
    let sub = lookup(&fs, "/b/sub").unwrap();
    assert_eq!(
        path::resolve(&fs, &ROOT, sub, b"..", Follow::Follow, EmptyPath::Refuse),
        lookup(&fs, "/b")
    );
    // Over an empty directory.
    md(&mut fs, "/a/empty");
    let b_links = nlink(&fs, "/b");
    mv(&mut fs, &ROOT, "/b/sub", "/a/empty", 0).unwrap();
    assert_eq!(lookup(&fs, "/a/empty"), Ok(sub));
    assert_eq!(nlink(&fs, "/b"), b_links - 1);
    assert_eq!(nlink(&fs, "/a"), a);
    // Hard links to the same inode: nothing happens.
    let root = fs.root();
    link(&mut fs, &ROOT, root, b"/b/g", root, b"/b/h", 0, T1).unwrap();
    mv(&mut fs, &ROOT, "/b/g", "/b/h", 0).unwrap();
    assert_eq!(lookup(&fs, "/b/g"), Ok(file));
    assert_eq!(lookup(&fs, "/b/h"), Ok(file));
    // Renaming onto itself.
    mv(&mut fs, &ROOT, "/b/g", "/b/g", 0).unwrap();
    assert_eq!(nlink(&fs, "/b/g"), 2);
}

#[test]
fn rename_error_paths() {
    let mut fs = setup();
    md(&mut fs, "/a");
    md(&mut fs, "/a/b");
    md(&mut fs, "/full");
    create(&mut fs, "/full/x", b"");
    md(&mut fs, "/empty");
    create(&mut fs, "/f", b"");
    create(&mut fs, "/g", b"");
    let e = |fs: &mut Fs, old: &str, new: &str, flags: u32| mv(fs, &ROOT, old, new, flags);
    assert_eq!(e(&mut fs, "/missing", "/x", 0), Err(Errno::ENOENT));
    assert_eq!(e(&mut fs, "/f", "/missing/x", 0), Err(Errno::ENOENT));
    assert_eq!(e(&mut fs, "/f", "/g", RENAME_NOREPLACE), Err(Errno::EEXIST));
    assert_eq!(
        e(&mut fs, "/f", "/new", RENAME_EXCHANGE),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        e(&mut fs, "/f", "/g", RENAME_NOREPLACE | RENAME_EXCHANGE),
        Err(Errno::EINVAL)
    );
    assert_eq!(e(&mut fs, "/f", "/g", RENAME_WHITEOUT), Err(Errno::EINVAL));
    assert_eq!(e(&mut fs, "/f", "/g", 8), Err(Errno::EINVAL));
    assert_eq!(e(&mut fs, "/a", "/a/b/c", 0), Err(Errno::EINVAL));
    assert_eq!(e(&mut fs, "/a", "/a/c", 0), Err(Errno::EINVAL));
    assert_eq!(e(&mut fs, "/a/b", "/a", 0), Err(Errno::ENOTEMPTY));
    assert_eq!(
        e(&mut fs, "/a/b", "/a", RENAME_EXCHANGE),
        Err(Errno::EINVAL)
    );
    assert_eq!(e(&mut fs, "/a", "/full", 0), Err(Errno::ENOTEMPTY));
    assert_eq!(e(&mut fs, "/a", "/f", 0), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, "/f", "/empty", 0), Err(Errno::EISDIR));
    assert_eq!(e(&mut fs, "/f/", "/h", 0), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, "/f", "/h/", 0), Err(Errno::ENOTDIR));
    assert_eq!(e(&mut fs, "/a/.", "/h", 0), Err(Errno::EBUSY));
    assert_eq!(e(&mut fs, "/f", "/a/..", 0), Err(Errno::EBUSY));
    assert_eq!(
        e(&mut fs, "/f", "/a/..", RENAME_NOREPLACE),
        Err(Errno::EEXIST)
    );
    assert_eq!(e(&mut fs, "/", "/h", 0), Err(Errno::EBUSY));
    assert_eq!(e(&mut fs, "/proc", "/h", 0), Err(Errno::EBUSY));
    assert_eq!(e(&mut fs, "/f", "/proc/f", 0), Err(Errno::EXDEV));
    assert_eq!(mv(&mut fs, &USER, "/f", "/h", 0), Err(Errno::EACCES));
    // Trailing slashes are fine on directories.
    assert_eq!(e(&mut fs, "/empty/", "/empty2/", 0), Ok(()));
    // Nothing above changed the tree.
    assert!(lookup(&fs, "/f").is_ok() && lookup(&fs, "/a/b").is_ok());
}

#[test]
fn rename_exchange_swaps_even_file_and_directory() {
    let mut fs = setup();
    md(&mut fs, "/a");
    md(&mut fs, "/b");
    let directory = md(&mut fs, "/a/d");
    let file = create(&mut fs, "/b/f", b"");
    let (a, b) = (nlink(&fs, "/a"), nlink(&fs, "/b"));
    mv(&mut fs, &ROOT, "/a/d", "/b/f", RENAME_EXCHANGE).unwrap();
    assert_eq!(lookup(&fs, "/a/d"), Ok(file));
    assert_eq!(lookup(&fs, "/b/f"), Ok(directory));
    assert_eq!((nlink(&fs, "/a"), nlink(&fs, "/b")), (a - 1, b + 1));
    assert_eq!(
        path::resolve(
            &fs,
            &ROOT,
            directory,
            b"..",
            Follow::Follow,
            EmptyPath::Refuse
        ),
        lookup(&fs, "/b")
    );
    // Trailing slash on a non-directory target of an exchange.
    assert_eq!(
        mv(&mut fs, &ROOT, "/b/f", "/a/d/", RENAME_EXCHANGE),
        Err(Errno::ENOTDIR)
    );
}

// ---- symlink, readlink, link ----

#[test]
fn symlink_and_readlink() {
    let mut fs = setup();
    create(&mut fs, "/f", b"");
    let link = ln_s(&mut fs, "relative/target", "/l").unwrap();
    let inode = fs.inode(link).unwrap();
    assert_eq!(inode.mode(), S_IFLNK | 0o777);
    assert_eq!(inode.size(), 15);
    let root = fs.root();
    assert_eq!(
        readlink(&fs, &ROOT, root, b"/l"),
        Ok(b"relative/target".to_vec())
    );
    assert_eq!(
        readlink(&fs, &ROOT, link, b""),
        Ok(b"relative/target".to_vec())
    );
    assert_eq!(readlink(&fs, &ROOT, root, b"/f"), Err(Errno::EINVAL));
    assert_eq!(readlink(&fs, &ROOT, root, b"/dev"), Err(Errno::EINVAL));
    assert_eq!(readlink(&fs, &ROOT, root, b"/none"), Err(Errno::ENOENT));
    assert_eq!(ln_s(&mut fs, "", "/empty").map(|_| ()), Err(Errno::ENOENT));
    assert_eq!(
        ln_s(&mut fs, &"t".repeat(4096), "/long").map(|_| ()),
        Err(Errno::ENAMETOOLONG)
    );
    assert!(ln_s(&mut fs, &"t".repeat(4095), "/long").is_ok());
    assert_eq!(ln_s(&mut fs, "x", "/f").map(|_| ()), Err(Errno::EEXIST));
    assert_eq!(ln_s(&mut fs, "x", "/l").map(|_| ()), Err(Errno::EEXIST));
    assert_eq!(ln_s(&mut fs, "x", "/new/").map(|_| ()), Err(Errno::ENOENT));
    assert_eq!(ln_s(&mut fs, "x", "/f/").map(|_| ()), Err(Errno::EEXIST));
    assert_eq!(
        ln_s(&mut fs, "x", "/none/x").map(|_| ()),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        symlink(&mut fs, &USER, b"x", root, b"/mine", T1).map(|_| ()),
        Err(Errno::EACCES)
    );
}

#[test]
fn hard_links() {
    let mut fs = setup();
    let file = create(&mut fs, "/f", b"x");
    md(&mut fs, "/d");
    ln_s(&mut fs, "/f", "/l").unwrap();
    let root = fs.root();
    let ln = |fs: &mut Fs, old: &str, new: &str, flags: u32| {
        link(
            fs,
            &ROOT,
            root,
            old.as_bytes(),
            root,
            new.as_bytes(),
            flags,
            T2,
        )
    };
    assert_eq!(ln(&mut fs, "/f", "/g", 0), Ok(()));
    assert_eq!(nlink(&fs, "/f"), 2);
    assert_eq!(fs.inode(file).unwrap().ctime(), T2);
    assert_eq!(ln(&mut fs, "/d", "/e", 0), Err(Errno::EPERM));
    assert_eq!(ln(&mut fs, "/f", "/g", 0), Err(Errno::EEXIST));
    assert_eq!(ln(&mut fs, "/none", "/h", 0), Err(Errno::ENOENT));
    assert_eq!(ln(&mut fs, "/f", "/h/", 0), Err(Errno::ENOENT));
    assert_eq!(ln(&mut fs, "/f", "/proc/h", 0), Err(Errno::EXDEV));
    assert_eq!(ln(&mut fs, "/f", "/h", 0x1), Err(Errno::EINVAL));
    // Without AT_SYMLINK_FOLLOW the link itself is linked.
    ln(&mut fs, "/l", "/l2", 0).unwrap();
    assert_eq!(lookup(&fs, "/l2"), lookup(&fs, "/l"));
    ln(&mut fs, "/l", "/f3", AT_SYMLINK_FOLLOW).unwrap();
    assert_eq!(lookup(&fs, "/f3"), Ok(file));
    // AT_EMPTY_PATH links the start itself (root only).
    link(&mut fs, &ROOT, file, b"", root, b"/f4", AT_EMPTY_PATH, T2).unwrap();
    assert_eq!(nlink(&fs, "/f"), 4);
    assert_eq!(
        link(
            &mut fs,
            &USER,
            file,
            b"",
            root,
            b"/tmp/f5",
            AT_EMPTY_PATH,
            T2
        ),
        Err(Errno::ENOENT)
    );
    for name in ["/f", "/g", "/f3"] {
        rm(&mut fs, &ROOT, name).unwrap();
    }
    assert_eq!(contents(&fs, "/f4"), b"x");
    assert_eq!(nlink(&fs, "/f4"), 1);
}

// ---- chmod, utimens, stat, access ----

#[test]
fn chmod_rules() {
    let mut fs = setup();
    let file = open_as(&mut fs, &USER, "/tmp/f", O_CREAT | O_WRONLY, 0o644)
        .unwrap()
        .inode;
    assert_eq!(chmod(&mut fs, &OTHER, file, 0o777, T2), Err(Errno::EPERM));
    chmod(&mut fs, &USER, file, 0o104_755, T2).unwrap();
    assert_eq!(fs.inode(file).unwrap().mode(), S_IFREG | 0o4755);
    assert_eq!(fs.inode(file).unwrap().ctime(), T2);
    fs.inode_mut(file).unwrap().gid = 7;
    chmod(&mut fs, &USER, file, 0o2755, T2).unwrap();
    assert_eq!(
        fs.inode(file).unwrap().permission_bits(),
        0o755,
        "set-group-id dropped"
    );
    chmod(&mut fs, &ROOT, file, 0o2755, T2).unwrap();
    assert_eq!(fs.inode(file).unwrap().permission_bits(), 0o2755);
    ln_s(&mut fs, "/tmp/f", "/l").unwrap();
    let root = fs.root();
    assert_eq!(
        chmod_path(&mut fs, &ROOT, root, b"/l", 0o600, Follow::NoFollow, T2),
        Err(Errno::EOPNOTSUPP)
    );
    chmod_path(&mut fs, &ROOT, root, b"/l", 0o600, Follow::Follow, T2).unwrap();
    assert_eq!(fs.inode(file).unwrap().permission_bits(), 0o600);
}

#[test]
fn utimens_rules() {
    let mut fs = setup();
    let file = open_as(&mut fs, &USER, "/tmp/f", O_CREAT | O_WRONLY, 0o646)
        .unwrap()
        .inode;
    chmod(&mut fs, &USER, file, 0o646, T1).unwrap();
    let set = TimeUpdate::Set(Timespec::new(5, 6));
    utimens(&mut fs, &USER, file, Some([set, TimeUpdate::Omit]), T2).unwrap();
    let inode = fs.inode(file).unwrap();
    assert_eq!((inode.atime(), inode.ctime()), (Timespec::new(5, 6), T2));
    assert_eq!(inode.mtime(), T1, "UTIME_OMIT keeps mtime");
    // Both omitted: nothing changes, not even ctime.
    utimens(
        &mut fs,
        &OTHER,
        file,
        Some([TimeUpdate::Omit; 2]),
        Timespec::new(9, 9),
    )
    .unwrap();
    assert_eq!(fs.inode(file).unwrap().ctime(), T2);
    // Explicit times need ownership; "now" needs ownership or write permission.
    assert_eq!(
        utimens(&mut fs, &OTHER, file, Some([set, set]), T2),
        Err(Errno::EPERM)
    );
    assert_eq!(
        utimens(&mut fs, &OTHER, file, None, T2),
        Ok(()),
        "0o646: others may write"
    );
    chmod(&mut fs, &USER, file, 0o644, T2).unwrap();
    assert_eq!(utimens(&mut fs, &OTHER, file, None, T2), Err(Errno::EACCES));
    utimens(
        &mut fs,
        &ROOT,
        file,
        Some([TimeUpdate::Now, set]),
        Timespec::new(77, 0),
    )
    .unwrap();
    let inode = fs.inode(file).unwrap();
    assert_eq!(
        (inode.atime(), inode.mtime()),
        (Timespec::new(77, 0), Timespec::new(5, 6))
    );
    assert_eq!(TimeUpdate::from_raw(1, UTIME_NOW), Ok(TimeUpdate::Now));
    assert_eq!(TimeUpdate::from_raw(1, UTIME_OMIT), Ok(TimeUpdate::Omit));
    assert_eq!(
        TimeUpdate::from_raw(1, 999_999_999),
        Ok(TimeUpdate::Set(Timespec::new(1, 999_999_999)))
    );
    assert_eq!(TimeUpdate::from_raw(1, 1_000_000_000), Err(Errno::EINVAL));
    assert_eq!(TimeUpdate::from_raw(1, -1), Err(Errno::EINVAL));
    let root = fs.root();
    assert_eq!(
        utimens_path(&mut fs, &ROOT, root, b"/tmp/f", None, 0x400, T2),
        Err(Errno::EINVAL)
    );
    ln_s(&mut fs, "/tmp/f", "/l").unwrap();
    utimens_path(
        &mut fs,
        &ROOT,
        root,
        b"/l",
        Some([set, set]),
        AT_SYMLINK_NOFOLLOW,
        T2,
    )
    .unwrap();
    assert_eq!(
        fs.inode(lookup(&fs, "/l").unwrap()).unwrap().mtime(),
        Timespec::new(5, 6)
    );
}

#[test]
fn stat_follows_or_not() {
    let mut fs = setup();
    create(&mut fs, "/f", b"12345");
    ln_s(&mut fs, "/f", "/l").unwrap();
    let root = fs.root();
    let followed = stat_path(&fs, &ROOT, root, b"/l", 0).unwrap();
    assert_eq!(
        (followed.mode, followed.size, followed.nlink),
        (S_IFREG | 0o644, 5, 1)
    );
    assert_eq!(followed.ino, lookup(&fs, "/f").unwrap().0);
    assert_eq!(followed.blocks, 8);
    let link = stat_path(&fs, &ROOT, root, b"/l", AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!((link.mode, link.size), (S_IFLNK | 0o777, 2));
    let directory = stat_path(&fs, &ROOT, root, b"/dev", 0).unwrap();
    assert_eq!(directory.mode, S_IFDIR | 0o755);
    assert_eq!(directory.nlink, 2);
    let null = stat_path(&fs, &ROOT, root, b"/dev/null", 0).unwrap();
    assert_eq!(null.rdev, DeviceNumber::new(1, 3));
    assert_eq!(null.dev, fs.device());
    let file = lookup(&fs, "/f").unwrap();
    assert_eq!(
        stat_path(&fs, &ROOT, file, b"", AT_EMPTY_PATH),
        fstat(&fs, file)
    );
    assert_eq!(
        stat_path(&fs, &ROOT, file, b"", 0).map(|_| ()),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        stat_path(&fs, &ROOT, root, b"/f", 0x200).map(|_| ()),
        Err(Errno::EINVAL)
    );
}

#[test]
fn access_checks() {
    let mut fs = setup();
    create(&mut fs, "/f", b"");
    let root = fs.root();
    assert_eq!(access(&fs, &USER, root, b"/f", F_OK, 0), Ok(()));
    assert_eq!(access(&fs, &USER, root, b"/f", R_OK, 0), Ok(()));
    assert_eq!(access(&fs, &USER, root, b"/f", W_OK, 0), Err(Errno::EACCES));
    assert_eq!(
        access(&fs, &USER, root, b"/f", R_OK | X_OK, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(access(&fs, &ROOT, root, b"/f", R_OK | W_OK, 0), Ok(()));
    assert_eq!(access(&fs, &ROOT, root, b"/f", X_OK, 0), Err(Errno::EACCES));
    assert_eq!(access(&fs, &ROOT, root, b"/dev", X_OK, 0), Ok(()));
    assert_eq!(access(&fs, &ROOT, root, b"/f", 8, 0), Err(Errno::EINVAL));
    assert_eq!(
        access(&fs, &ROOT, root, b"/f", F_OK, 0x1),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        access(&fs, &ROOT, root, b"/none", F_OK, 0),
        Err(Errno::ENOENT)
    );
    ln_s(&mut fs, "/none", "/dangling").unwrap();
    assert_eq!(
        access(&fs, &ROOT, root, b"/dangling", F_OK, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        access(&fs, &ROOT, root, b"/dangling", F_OK, AT_SYMLINK_NOFOLLOW),
        Ok(())
    );
}

// ---- getdents64, chdir, getcwd ----

/// Parses getdents64 records into (d_ino, d_off, d_type, name), checking the layout.
fn parse_dirents(bytes: &[u8]) -> Vec<(u64, i64, u8, Vec<u8>)> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let record = &bytes[offset..];
        let ino = u64::from_le_bytes(record[0..8].try_into().unwrap());
        let next = i64::from_le_bytes(record[8..16].try_into().unwrap());
        let length = usize::from(u16::from_le_bytes(record[16..18].try_into().unwrap()));
        assert_eq!(length % 8, 0, "records are 8-byte aligned");
        let name_end = 19
            + record[19..length]
                .iter()
                .position(|byte| *byte == 0)
                .unwrap();
        assert_eq!(
            length,
            (name_end + 1).next_multiple_of(8),
            "minimal record length"
        );
        assert!(
            record[name_end..length].iter().all(|byte| *byte == 0),
            "zero padding"
        );
        records.push((ino, next, record[18], record[19..name_end].to_vec()));
        offset += length;
    }
    records
}

#[test]
fn getdents64_layout_is_exact() {
    let mut fs = setup();
    let directory = md(&mut fs, "/d");
    let file = create(&mut fs, "/d/file.txt", b"");
    let mut handle = open_path(&mut fs, "/d", O_RDONLY | O_DIRECTORY).unwrap();
    let mut buffer = [0xff_u8; 256];
    let written = getdents64(&fs, &mut handle, &mut buffer).unwrap();
    // ".": 19 + 2 → 24; "..": 19 + 3 → 24; "file.txt": 19 + 9 → 32.
    assert_eq!(written, 24 + 24 + 32);
    let mut expected = Vec::new();
    expected.extend_from_slice(&directory.0.to_le_bytes());
    expected.extend_from_slice(&1_i64.to_le_bytes());
    expected.extend_from_slice(&24_u16.to_le_bytes());
    expected.extend_from_slice(&[dirent_type::DIRECTORY, b'.', 0, 0, 0, 0]);
    expected.extend_from_slice(&fs.root().0.to_le_bytes());
    expected.extend_from_slice(&2_i64.to_le_bytes());
    expected.extend_from_slice(&24_u16.to_le_bytes());
    expected.extend_from_slice(&[dirent_type::DIRECTORY, b'.', b'.', 0, 0, 0]);
    expected.extend_from_slice(&file.0.to_le_bytes());
    expected.extend_from_slice(&3_i64.to_le_bytes());
    expected.extend_from_slice(&32_u16.to_le_bytes());
    expected.push(dirent_type::REGULAR);
    expected.extend_from_slice(b"file.txt\0\0\0\0\0");
    assert_eq!(&buffer[..written], expected.as_slice());
    assert_eq!(buffer[written], 0xff, "nothing written past the records");
    assert_eq!(handle.offset, 3);
    assert_eq!(getdents64(&fs, &mut handle, &mut buffer), Ok(0));
    // The root's ".." is itself.
    let mut root = open_path(&mut fs, "/", O_RDONLY).unwrap();
    let written = getdents64(&fs, &mut root, &mut buffer).unwrap();
    let records = parse_dirents(&buffer[..written]);
    assert_eq!(records[1].0, fs.root().0);
    let names: Vec<&[u8]> = records.iter().map(|record| record.3.as_slice()).collect();
    assert_eq!(names, [&b"."[..], b"..", b"dev", b"tmp", b"proc", b"d"]);
    let types: Vec<u8> = records.iter().map(|record| record.2).collect();
    assert!(types.iter().all(|kind| *kind == dirent_type::DIRECTORY));
}

#[test]
fn getdents64_small_buffers_and_errors() {
    let mut fs = setup();
    let mut handle = open_path(&mut fs, "/dev", O_RDONLY).unwrap();
    assert_eq!(
        getdents64(&fs, &mut handle, &mut [0; 23]),
        Err(Errno::EINVAL)
    );
    assert_eq!(handle.offset, 0);
    // One record at a time, resuming where the previous call stopped.
    let mut names = Vec::new();
    let stopped_at = loop {
        let mut buffer = [0_u8; 24];
        let before = handle.offset;
        match getdents64(&fs, &mut handle, &mut buffer) {
            Ok(0) => panic!("a 32-byte record should not fit"),
            Ok(written) => {
                let records = parse_dirents(&buffer[..written]);
                assert_eq!(records.len(), 1);
                assert_eq!(handle.offset, records[0].1 as u64);
                names.push(records[0].3.clone());
            }
            Err(error) => {
                assert_eq!(handle.offset, before, "a failed call leaves the cursor");
                break error;
            }
        }
    };
    // "random" needs 19 + 7 bytes, rounded to 32: one 24-byte buffer cannot take it.
    assert_eq!(stopped_at, Errno::EINVAL);
    let expected: Vec<&[u8]> = vec![b".", b"..", b"null", b"zero"];
    assert_eq!(names, expected);
    let mut buffer = [0_u8; 32];
    let written = getdents64(&fs, &mut handle, &mut buffer).unwrap();
    assert_eq!(parse_dirents(&buffer[..written])[0].3, b"random");
    let mut file = open_path(&mut fs, "/dev/null", O_RDONLY).unwrap();
    assert_eq!(
        getdents64(&fs, &mut file, &mut [0; 64]),
        Err(Errno::ENOTDIR)
    );
    let mut path_only = open_path(&mut fs, "/dev", O_PATH).unwrap();
    assert_eq!(
        getdents64(&fs, &mut path_only, &mut [0; 64]),
        Err(Errno::EBADF)
    );
}

#[test]
fn getdents64_is_stable_while_entries_change() {
    let mut fs = setup();
    md(&mut fs, "/d");
    for index in 0..20 {
        create(&mut fs, &alloc::format!("/d/f{index:02}"), b"");
    }
    let mut handle = open_path(&mut fs, "/d", O_RDONLY).unwrap();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut buffer = [0_u8; 100];
    let mut round = 0;
    loop {
        let written = getdents64(&fs, &mut handle, &mut buffer).unwrap();
        if written == 0 {
            break;
        }
        seen.extend(
            parse_dirents(&buffer[..written])
                .into_iter()
                .map(|record| record.3),
        );
        // Between calls: remove an entry not yet seen and one already seen; add one
        // (for a while: a reader that keeps finding new entries never ends).
        round += 1;
        let _ = rm(&mut fs, &ROOT, &alloc::format!("/d/f{:02}", 19 - round));
        let _ = rm(&mut fs, &ROOT, &alloc::format!("/d/f{:02}", round - 1));
        if round <= 5 {
            create(&mut fs, &alloc::format!("/d/new{round}"), b"");
        }
        assert!(round < 100, "the listing does not end");
    }
    // Entries added behind the cursor appear.
    assert!(seen.contains(&b"new5".to_vec()));
    // No name twice.
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len());
    // Every entry present from start to end was seen.
    let Content::Directory(directory) = fs.inode(lookup(&fs, "/d").unwrap()).unwrap().content()
    else {
        panic!("not a directory")
    };
    for (_, entry) in directory.entries() {
        if entry.name.starts_with(b"f") {
            assert!(seen.contains(&entry.name), "{:?} missed", entry.name);
        }
    }
    // Seeking back to a returned d_off resumes after that record.
    handle.offset = 0;
    let written = getdents64(&fs, &mut handle, &mut buffer).unwrap();
    let first = parse_dirents(&buffer[..written]);
    handle.offset = first[2].1 as u64;
    let written = getdents64(&fs, &mut handle, &mut buffer).unwrap();
    assert_eq!(parse_dirents(&buffer[..written])[0].3, first[3].3);
}

#[test]
fn chdir_and_getcwd() {
    let mut fs = setup();
    md(&mut fs, "/a");
    md(&mut fs, "/a/b");
    create(&mut fs, "/f", b"");
    let root = fs.root();
    let b = chdir(&fs, &ROOT, root, b"/a/b").unwrap();
    assert_eq!(getcwd(&fs, b), Ok(b"/a/b".to_vec()));
    assert_eq!(getcwd(&fs, root), Ok(b"/".to_vec()));
    assert_eq!(
        chdir(&fs, &ROOT, b, b"..").and_then(|a| getcwd(&fs, a)),
        Ok(b"/a".to_vec())
    );
    assert_eq!(chdir(&fs, &ROOT, root, b"/f"), Err(Errno::ENOTDIR));
    assert_eq!(chdir(&fs, &ROOT, root, b"/none"), Err(Errno::ENOENT));
    chmod(&mut fs, &ROOT, b, 0o700, T1).unwrap();
    assert_eq!(chdir(&fs, &USER, root, b"/a/b"), Err(Errno::EACCES));
    // fchdir: an empty path names the descriptor's directory.
    assert_eq!(chdir(&fs, &ROOT, b, b""), Ok(b));
    let proc_directory = fs.mount_point(MountKind::Proc).unwrap();
    assert_eq!(getcwd(&fs, proc_directory), Ok(b"/proc".to_vec()));
}
