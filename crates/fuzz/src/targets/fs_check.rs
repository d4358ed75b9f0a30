//! Consistency of a linux-personality file-system tree, shared by the cpio and syscall
//! targets: a tree rooted at `/` whose link counts, sizes and byte count agree with its
//! directory entries.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use linux_personality::fs::path::NAME_MAX;
use linux_personality::fs::{Content, Fs, InodeId, Stat};

/// Panics unless `fs` is a well-formed tree: every directory entry names a live inode
/// with a valid name; each directory is reached once and its `..` is the directory
/// holding it; link counts equal the names (plus `.`, `..` and subdirectories) referring
/// to each inode; an inode without names is still open; sizes match contents and the
/// used-byte count matches the sum of regular file sizes.
pub fn check_tree(fs: &Fs) {
    let root = fs.root();
    let mut names: BTreeMap<InodeId, u32> = BTreeMap::new();
    let mut subdirectories: BTreeMap<InodeId, u32> = BTreeMap::new();
    let mut reached = BTreeSet::from([root]);
    let mut pending = vec![root];
    while let Some(directory) = pending.pop() {
        let inode = fs.inode(directory).unwrap_or_else(|error| {
            panic!("directory {} is listed but gone: {error:?}", directory.0)
        });
        let listing = inode
            .as_directory()
            .unwrap_or_else(|| panic!("inode {} was reached as a directory", directory.0));
        for (_, entry) in listing.entries() {
            assert!(
                !entry.name.is_empty() && entry.name.len() <= NAME_MAX,
                "bad name length {} in directory {}",
                entry.name.len(),
                directory.0
            );
            assert!(
                !entry.name.contains(&b'/')
                    && !entry.name.contains(&0)
                    && entry.name != b"."
                    && entry.name != b"..",
                "bad name {:?} in directory {}",
                String::from_utf8_lossy(&entry.name),
                directory.0
            );
            *names.entry(entry.inode).or_default() += 1;
            let child = fs.inode(entry.inode).unwrap_or_else(|error| {
                panic!(
                    "entry {:?} names a dead inode: {error:?}",
                    String::from_utf8_lossy(&entry.name)
                )
            });
            if let Some(child_directory) = child.as_directory() {
                assert!(
                    reached.insert(entry.inode),
                    "directory {} reached twice (a cycle or a directory hard link)",
                    entry.inode.0
                );
                assert_eq!(
                    child_directory.parent(),
                    directory,
                    "'..' of directory {} is not the directory holding it",
                    entry.inode.0
                );
                *subdirectories.entry(directory).or_default() += 1;
                pending.push(entry.inode);
            }
        }
    }
    let mut total = 0_u64;
    for inode in fs.inodes() {
        let id = inode.id();
        let named = names.get(&id).copied().unwrap_or(0);
        let expected = if inode.is_directory() {
            if inode.nlink() == 0 {
                assert!(
                    !reached.contains(&id),
                    "removed directory {} still named",
                    id.0
                );
                0
            } else {
                let own = if id == root { 2 } else { 1 + named };
                own + subdirectories.get(&id).copied().unwrap_or(0)
            }
        } else {
            named
        };
        assert_eq!(inode.nlink(), expected, "nlink of inode {}", id.0);
        if expected == 0 {
            assert!(
                inode.open_references() > 0,
                "inode {} leaked: no names, not open",
                id.0
            );
        }
        match inode.content() {
            Content::Regular(bytes) => {
                assert_eq!(
                    Stat::of(inode, fs.device()).size,
                    bytes.len() as i64,
                    "size of inode {}",
                    id.0
                );
                total += bytes.len() as u64;
            }
            Content::Symlink(target) => {
                assert_eq!(inode.size(), target.len() as u64, "size of link {}", id.0);
            }
            _ => {}
        }
    }
    assert_eq!(fs.used_bytes(), total, "used bytes against file sizes");
}

/// A hash of everything a program can observe about `fs`: each inode's metadata, times,
/// link and open counts and content (directory entries with their cookies), the mounts
/// and the byte count. Internal bookkeeping such as the next inode number is left out,
/// so a failed call that only consumed a number still counts as changing nothing.
pub fn fingerprint(fs: &Fs) -> u64 {
    let mut hasher = DefaultHasher::new();
    fs.used_bytes().hash(&mut hasher);
    for inode in fs.inodes() {
        let id = inode.id();
        (id, inode.mode(), inode.uid(), inode.gid(), inode.nlink()).hash(&mut hasher);
        (inode.atime(), inode.mtime(), inode.ctime(), inode.btime()).hash(&mut hasher);
        (inode.open_references(), inode.size(), inode.rdev()).hash(&mut hasher);
        fs.mount_at(id).hash(&mut hasher);
        match inode.content() {
            Content::Regular(bytes) | Content::Symlink(bytes) => bytes.hash(&mut hasher),
            Content::Directory(directory) => {
                directory.parent().hash(&mut hasher);
                for (cookie, entry) in directory.entries() {
                    (cookie, &entry.name, entry.inode).hash(&mut hasher);
                }
            }
            other => other.type_bits().hash(&mut hasher),
        }
    }
    hasher.finish()
}
