//! Target `cpio`: `linux_personality::cpio::entries` and `fs::Fs::from_cpio` on arbitrary
//! archives.
//!
//! Invariants: never a panic; every entry's name and data are slices of the archive, the
//! data 4-byte aligned, the name without NUL; at most one error, last; the iterator is
//! fused; an archive the reader accepts survives a rewrite by `CpioWriter` unchanged in
//! every field the writer keeps; the tree `Fs::from_cpio` builds is consistent
//! ([`super::fs_check::check_tree`]), holds the last file where its name says, and keeps
//! consistent after `add_standard_nodes`; a malformed archive never becomes a tree.

use std::path::Path;

use linux_personality::cpio::{self, CpioEntry, CpioMetadata, CpioWriter, HEADER_LENGTH};
use linux_personality::fs::path::{resolve, EmptyPath, Follow, Identity};
use linux_personality::fs::{Content, Fs, Timespec};
use linux_personality::FileType;

use super::fs_check::check_tree;
use super::Target;
use crate::rng::Rng;

pub const TARGET: Target = Target {
    name: "cpio",
    run,
    seeds,
    generate,
    max_length: 16 * 1024,
};

const NOW: Timespec = Timespec::new(1_700_000_000, 0);

fn run(archive: &[u8]) {
    let mut entries = Vec::new();
    let mut failed = false;
    let mut iterator = cpio::entries(archive);
    for item in iterator.by_ref() {
        assert!(!failed, "an item after an error");
        match item {
            Ok(entry) => {
                check_entry(archive, &entry);
                entries.push(entry);
            }
            Err(error) => {
                assert!(!error.to_string().is_empty());
                failed = true;
            }
        }
        assert!(
            entries.len() <= archive.len() / HEADER_LENGTH,
            "more entries than headers fit"
        );
    }
    assert!(iterator.next().is_none(), "the iterator is not fused");

    if !failed {
        check_rewrite(&entries);
    }

    match Fs::from_cpio(archive, NOW) {
        Ok(mut fs) => {
            assert!(!failed, "a malformed archive became a tree");
            check_tree(&fs);
            check_last_file(&fs, &entries);
            if fs.add_standard_nodes(NOW).is_ok() {
                check_tree(&fs);
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// Name and data lie inside the archive where the format puts them.
fn check_entry(archive: &[u8], entry: &CpioEntry<'_>) {
    let base = archive.as_ptr() as usize;
    let end = base + archive.len();
    let name_start = entry.name.as_ptr() as usize;
    let data_start = entry.data.as_ptr() as usize;
    assert!(
        name_start >= base + HEADER_LENGTH && name_start + entry.name.len() < end,
        "name of {:?} is outside the archive",
        entry.name
    );
    assert!(
        data_start > name_start + entry.name.len() && data_start + entry.data.len() <= end,
        "data of {:?} is outside the archive",
        entry.name
    );
    assert_eq!(
        (data_start - base) % 4,
        0,
        "data of {:?} is misaligned",
        entry.name
    );
    assert!(!entry.name.contains('\0'));
    assert_eq!(
        entry.file_type().mode_bits() | entry.permission_bits(),
        entry.mode & 0o177_777,
        "the mode does not split into type and permissions"
    );
}

/// Rewriting the accepted entries gives an archive that reads back the same.
fn check_rewrite(entries: &[CpioEntry<'_>]) {
    let mut writer = CpioWriter::new();
    let mut kept = Vec::new();
    for entry in entries {
        let metadata = CpioMetadata {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            nlink: entry.nlink,
            mtime: entry.mtime,
            rdev_major: entry.rdev_major,
            rdev_minor: entry.rdev_minor,
        };
        if writer.add_entry(entry.name, &metadata, entry.data).is_ok() {
            kept.push(entry);
        } else {
            assert!(entry.name.is_empty(), "the writer refused {:?}", entry.name);
        }
    }
    let rewritten = writer.finish();
    let reread: Vec<CpioEntry<'_>> = cpio::entries(&rewritten)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("a rewritten archive fails to read: {error}"));
    assert_eq!(reread.len(), kept.len());
    for (original, copy) in kept.iter().zip(&reread) {
        assert_eq!(
            (
                original.name,
                original.mode,
                original.uid,
                original.gid,
                original.nlink
            ),
            (copy.name, copy.mode, copy.uid, copy.gid, copy.nlink)
        );
        assert_eq!(
            (
                original.mtime,
                original.rdev_major,
                original.rdev_minor,
                original.data
            ),
            (copy.mtime, copy.rdev_major, copy.rdev_minor, copy.data)
        );
    }
}

/// In archives without links, the last entry, a regular file, is found by its name with
/// its data.
fn check_last_file(fs: &Fs, entries: &[CpioEntry<'_>]) {
    let simple =
        |entry: &CpioEntry<'_>| entry.nlink <= 1 && !matches!(entry.file_type(), FileType::Symlink);
    let Some(last) = entries.last() else {
        return;
    };
    if !entries.iter().all(simple) || last.file_type() != FileType::Regular {
        return;
    }
    let path = format!("/{}", last.name.trim_end_matches('/'));
    let id = resolve(
        fs,
        &Identity::ROOT,
        fs.root(),
        path.as_bytes(),
        Follow::NoFollow,
        EmptyPath::Refuse,
    )
    .unwrap_or_else(|error| panic!("the last file {path:?} is missing: {error:?}"));
    let inode = fs.inode(id).expect("resolved inodes exist");
    match inode.content() {
        Content::Regular(bytes) => assert_eq!(bytes.as_slice(), last.data, "content of {path:?}"),
        other => panic!("{path:?} is not a regular file: {other:?}"),
    }
}

/// Archives written by `CpioWriter`, and generated ones.
fn seeds(_root: &Path) -> Vec<Vec<u8>> {
    let mut writer = CpioWriter::new();
    let steps = [
        writer.add_directory("bin", 0o755),
        writer.add_file("bin/true", 0o755, b"\x7fELF not really"),
        writer.add_directory("etc", 0o755),
        writer.add_file("etc/passwd", 0o644, b"root:x:0:0::/:/bin/sh\n"),
        writer.add_symlink("bin/sh", "true"),
        writer.add_file("./tmp/empty", 0o600, b""),
        writer.add_entry(
            "dev/console",
            &CpioMetadata {
                rdev_major: 5,
                rdev_minor: 1,
                ..CpioMetadata::new(FileType::CharacterDevice, 0o600)
            },
            b"",
        ),
    ];
    assert!(steps.iter().all(Result::is_ok), "the seed archive is valid");
    let mut seeds = vec![writer.finish(), CpioWriter::new().finish()];
    let mut rng = Rng::new(0xc910);
    for _ in 0..16 {
        seeds.push(generate(&mut rng));
    }
    seeds
}

/// Names that exercise normalisation, nesting, `..` and length limits.
const NAMES: [&str; 14] = [
    "a",
    "a/b",
    "a/b/c",
    "./a",
    "/abs",
    ".",
    "..",
    "a/../b",
    "dir/",
    "x//y",
    "TRAILER!!!",
    "a/b/c/d/e",
    "lnk/f",
    "",
];

/// A random newc archive written field by field, so it can express what `CpioWriter`
/// refuses: hard links, checksummed entries, odd modes and names, missing trailers.
fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut archive = Vec::new();
    let count = rng.below(8);
    for _ in 0..count {
        let name = if rng.one_in(16) {
            "n".repeat(250 + rng.below(10))
        } else {
            rng.pick(&NAMES).to_owned()
        };
        let file_type = rng.pick(&[
            0o100_000_u32,
            0o100_000,
            0o040_000,
            0o040_000,
            0o120_000,
            0o020_000,
            0o060_000,
            0o010_000,
            0o140_000,
            0o170_000,
            0,
        ]);
        let mode = file_type | rng.pick(&[0o644, 0o755, 0o777, 0o4755, 0o1777, 0]);
        let data: Vec<u8> = match file_type {
            0o120_000 => rng
                .pick(&["a", "/a/b", "..", "", "lnk", "/"])
                .as_bytes()
                .to_vec(),
            0o040_000 => Vec::new(),
            _ => {
                let length = rng.pick(&[0, 1, 3, 4, 5, 64]);
                rng.bytes(length)
            }
        };
        let ino = rng.pick(&[1_u32, 2, 3, 77]);
        let nlink = rng.pick(&[1_u32, 1, 2, 3, 0]);
        let checksum = rng.one_in(4);
        write_header(&mut archive, checksum, ino, mode, nlink, &name, &data);
    }
    if !rng.one_in(8) {
        write_header(&mut archive, false, 0, 0, 1, "TRAILER!!!", &[]);
    }
    if rng.one_in(4) {
        let padded = archive.len().next_multiple_of(512);
        archive.resize(padded, 0);
    }
    archive
}

fn write_header(
    archive: &mut Vec<u8>,
    checksum: bool,
    ino: u32,
    mode: u32,
    nlink: u32,
    name: &str,
    data: &[u8],
) {
    let sum = data
        .iter()
        .fold(0_u32, |sum, byte| sum.wrapping_add(u32::from(*byte)));
    archive.extend_from_slice(if checksum { b"070702" } else { b"070701" });
    let fields = [
        ino,
        mode,
        0,
        0,
        nlink,
        0,
        data.len() as u32,
        0,
        0,
        5,
        1,
        name.len() as u32 + 1,
        if checksum { sum } else { 0 },
    ];
    for field in fields {
        archive.extend_from_slice(format!("{field:08x}").as_bytes());
    }
    archive.extend_from_slice(name.as_bytes());
    archive.push(0);
    archive.resize(archive.len().next_multiple_of(4), 0);
    archive.extend_from_slice(data);
    archive.resize(archive.len().next_multiple_of(4), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated archives must mostly read, and some must build a tree.
    #[test]
    fn generated_archives_usually_read_and_sometimes_build() {
        let mut rng = Rng::new(9);
        let (mut read, mut built) = (0, 0);
        for _ in 0..1000 {
            let archive = generate(&mut rng);
            read += usize::from(cpio::entries(&archive).all(|entry| entry.is_ok()));
            built += usize::from(Fs::from_cpio(&archive, NOW).is_ok());
        }
        println!("{read} of 1000 read, {built} built a tree");
        assert!(read > 500 && built > 100, "{read} read, {built} built");
    }
}
