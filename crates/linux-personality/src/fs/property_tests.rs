//! Property tests: random operation sequences keep the tree's invariants, and path
//! resolution over the random trees agrees with a small recursive reference resolver.

use super::flags::{O_CREAT, O_RDWR, RENAME_EXCHANGE, RENAME_NOREPLACE};
use super::inode::{Content, InodeId, Timespec};
use super::ops::{self, OpenRequest, Transfer};
use super::path::{self, EmptyPath, Follow, Identity, MAX_SYMLINK_FOLLOWS, NAME_MAX};
use super::stat::Stat;
use super::tree::Fs;
use crate::errno::Errno;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use proptest::prelude::*;

const NOW: Timespec = Timespec::new(10, 0);
const ROOT: Identity = Identity::ROOT;

#[derive(Clone, Debug)]
enum Operation {
    Mkdir(String),
    Create(String),
    Symlink(String, String),
    Unlink(String),
    Rmdir(String),
    Rename(String, String, u32),
    Link(String, String),
    Write(String, u16, u8),
    Truncate(String, u16),
}

fn component() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just("a"),
        4 => Just("b"),
        3 => Just("c"),
        1 => Just("."),
        1 => Just(".."),
    ]
}

fn path_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(component(), 1..4),
        prop_oneof![6 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(absolute, components, trailing)| {
            let mut text = String::new();
            if absolute {
                text.push('/');
            }
            text.push_str(&components.join("/"));
            if trailing {
                text.push('/');
            }
            text
        })
}

fn operation() -> impl Strategy<Value = Operation> {
    let flags = prop_oneof![Just(0), Just(RENAME_NOREPLACE), Just(RENAME_EXCHANGE)];
    prop_oneof![
        3 => path_text().prop_map(Operation::Mkdir),
        3 => path_text().prop_map(Operation::Create),
        2 => (path_text(), path_text()).prop_map(|(target, path)| Operation::Symlink(target, path)),
        2 => path_text().prop_map(Operation::Unlink),
        2 => path_text().prop_map(Operation::Rmdir),
        3 => (path_text(), path_text(), flags).prop_map(|(old, new, flags)| Operation::Rename(old, new, flags)),
        1 => (path_text(), path_text()).prop_map(|(old, new)| Operation::Link(old, new)),
        2 => (path_text(), any::<u16>(), any::<u8>()).prop_map(|(path, offset, length)| Operation::Write(path, offset, length)),
        1 => (path_text(), any::<u16>()).prop_map(|(path, length)| Operation::Truncate(path, length)),
    ]
}

/// Applies `operation` from the directory `start`; errors are expected and ignored,
/// but every file opened is closed again.
fn apply(fs: &mut Fs, start: InodeId, operation: &Operation) {
    match operation {
        Operation::Mkdir(path) => {
            let _ = ops::mkdir(fs, &ROOT, start, path.as_bytes(), 0o755, 0, NOW);
        }
        Operation::Create(path) => {
            let request = OpenRequest {
                flags: O_CREAT | O_RDWR,
                mode: 0o644,
                umask: 0,
            };
            if let Ok(file) = ops::open(fs, &ROOT, start, path.as_bytes(), request, NOW) {
                ops::close(fs, &file);
            }
        }
        Operation::Symlink(target, path) => {
            let _ = ops::symlink(fs, &ROOT, target.as_bytes(), start, path.as_bytes(), NOW);
        }
        Operation::Unlink(path) => {
            let _ = ops::unlink(fs, &ROOT, start, path.as_bytes(), NOW);
        }
        Operation::Rmdir(path) => {
            let _ = ops::rmdir(fs, &ROOT, start, path.as_bytes(), NOW);
        }
        Operation::Rename(old, new, flags) => {
            let _ = ops::rename(
                fs,
                &ROOT,
                start,
                old.as_bytes(),
                start,
                new.as_bytes(),
                *flags,
                NOW,
            );
        }
        Operation::Link(old, new) => {
            let _ = ops::link(
                fs,
                &ROOT,
                start,
                old.as_bytes(),
                start,
                new.as_bytes(),
                0,
                NOW,
            );
        }
        Operation::Write(path, offset, length) => {
            let request = OpenRequest {
                flags: O_RDWR,
                mode: 0,
                umask: 0,
            };
            if let Ok(mut file) = ops::open(fs, &ROOT, start, path.as_bytes(), request, NOW) {
                file.offset = u64::from(*offset);
                let data = alloc::vec![0x5a_u8; usize::from(*length)];
                let before = fs.inode(file.inode).map(|inode| inode.size()).unwrap_or(0);
                if let Ok(Transfer::Done(count)) = ops::write(fs, &mut file, &data, NOW) {
                    assert_eq!(count, data.len());
                    let after = fs.inode(file.inode).unwrap().size();
                    let end = u64::from(*offset) + u64::from(*length);
                    assert_eq!(
                        after,
                        if *length == 0 {
                            before
                        } else {
                            before.max(end)
                        }
                    );
                }
                ops::close(fs, &file);
            }
        }
        Operation::Truncate(path, length) => {
            let _ = ops::truncate(fs, &ROOT, start, path.as_bytes(), i64::from(*length), NOW);
        }
    }
}

/// Checks the tree invariants: a tree (every directory reached once, its `..` its
/// parent), link counts equal to the names (and `.`/`..`) referring to each inode,
/// sizes equal to contents, the byte count equal to the sum of file sizes, and no
/// inode left alive without a name or a reference.
fn check_invariants(fs: &Fs) {
    let root = fs.root();
    let mut names: BTreeMap<InodeId, u32> = BTreeMap::new();
    let mut subdirectories: BTreeMap<InodeId, u32> = BTreeMap::new();
    let mut directories = BTreeSet::from([root]);
    let mut pending = alloc::vec![root];
    while let Some(directory) = pending.pop() {
        let inode = fs.inode(directory).expect("reachable directory exists");
        let entries = inode.as_directory().expect("a directory");
        for (_, entry) in entries.entries() {
            assert!(!entry.name.is_empty() && entry.name.len() <= NAME_MAX);
            assert!(!entry.name.contains(&b'/') && entry.name != b"." && entry.name != b"..");
            *names.entry(entry.inode).or_default() += 1;
            let child = fs.inode(entry.inode).expect("entries name live inodes");
            if let Some(child_directory) = child.as_directory() {
                assert!(
                    directories.insert(entry.inode),
                    "directory reached twice: a cycle or a hard link"
                );
                assert_eq!(child_directory.parent(), directory, "'..' is the parent");
                *subdirectories.entry(directory).or_default() += 1;
                pending.push(entry.inode);
            }
        }
    }
    let mut total = 0;
    for inode in fs.inodes() {
        let id = inode.id();
        let named = names.get(&id).copied().unwrap_or(0);
        let expected = if inode.is_directory() {
            if inode.nlink() == 0 {
                assert!(!directories.contains(&id));
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
            assert!(inode.open_references() > 0, "inode {} leaked", id.0);
        }
        if let Content::Regular(bytes) = inode.content() {
            assert_eq!(Stat::of(inode, fs.device()).size, bytes.len() as i64);
            total += bytes.len() as u64;
        }
        if let Content::Symlink(target) = inode.content() {
            assert_eq!(inode.size(), target.len() as u64);
        }
    }
    assert_eq!(fs.used_bytes(), total);
}

/// An independent, recursive statement of Linux path resolution, for comparison.
fn reference_resolve(
    fs: &Fs,
    start: InodeId,
    path_bytes: &[u8],
    follow_last: bool,
    budget: &mut u32,
) -> Result<InodeId, Errno> {
    if path_bytes.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut current = if path_bytes[0] == b'/' {
        fs.root()
    } else {
        start
    };
    let trailing = path_bytes.ends_with(b"/");
    let components: Vec<&[u8]> = path_bytes
        .split(|byte| *byte == b'/')
        .filter(|name| !name.is_empty())
        .collect();
    for (index, name) in components.iter().enumerate() {
        let last = index + 1 == components.len();
        let directory = fs.inode(current)?.as_directory().ok_or(Errno::ENOTDIR)?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        current = match *name {
            b"." => current,
            b".." if current == fs.root() => current,
            b".." => directory.parent(),
            name => {
                let child = directory.lookup(name).ok_or(Errno::ENOENT)?;
                match fs.inode(child)?.content() {
                    Content::Symlink(target) if !last || follow_last || trailing => {
                        if *budget == 0 {
                            return Err(Errno::ELOOP);
                        }
                        *budget -= 1;
                        reference_resolve(fs, current, target, true, budget)?
                    }
                    _ => child,
                }
            }
        };
    }
    if trailing && !fs.inode(current)?.is_directory() {
        return Err(Errno::ENOTDIR);
    }
    Ok(current)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_keep_the_invariants(
        operations in prop::collection::vec(operation(), 1..60),
    ) {
        let mut fs = Fs::new(NOW);
        let root = fs.root();
        // Start some operations inside a subdirectory, so relative paths and ".." matter.
        let start = ops::mkdir(&mut fs, &ROOT, root, b"/a", 0o755, 0, NOW).unwrap();
        for (index, operation) in operations.iter().enumerate() {
            let from = if index % 2 == 0 || fs.inode(start).is_err() { root } else { start };
            apply(&mut fs, from, operation);
            check_invariants(&fs);
        }
    }

    #[test]
    fn resolution_matches_the_reference(
        operations in prop::collection::vec(operation(), 1..60),
        paths in prop::collection::vec(path_text(), 1..30),
        follow in any::<bool>(),
    ) {
        let mut fs = Fs::new(NOW);
        let root = fs.root();
        for operation in &operations {
            apply(&mut fs, root, operation);
        }
        let follow_mode = if follow { Follow::Follow } else { Follow::NoFollow };
        let starts: Vec<InodeId> = fs
            .inodes()
            .filter(|inode| inode.is_directory())
            .map(|inode| inode.id())
            .collect();
        for (index, text) in paths.iter().enumerate() {
            let start = starts[index % starts.len()];
            let mut budget = MAX_SYMLINK_FOLLOWS;
            let expected = reference_resolve(&fs, start, text.as_bytes(), follow, &mut budget);
            let actual = path::resolve(&fs, &ROOT, start, text.as_bytes(), follow_mode, EmptyPath::Refuse);
            prop_assert_eq!(actual, expected, "path {:?} from inode {}", text, start.0);
        }
    }

    #[test]
    fn resolution_never_panics_on_arbitrary_bytes(
        operations in prop::collection::vec(operation(), 0..30),
        path_bytes in prop::collection::vec(
            prop_oneof![Just(b'/'), Just(b'.'), Just(b'a'), Just(b'b'), Just(0_u8), any::<u8>()],
            0..300,
        ),
    ) {
        let mut fs = Fs::new(NOW);
        fs.add_standard_nodes(NOW).unwrap();
        let root = fs.root();
        for operation in &operations {
            apply(&mut fs, root, operation);
        }
        for follow in [Follow::Follow, Follow::NoFollow] {
            let _ = path::resolve(&fs, &ROOT, root, &path_bytes, follow, EmptyPath::Allow);
            let _ = path::locate(&fs, &ROOT, root, &path_bytes, follow, EmptyPath::Refuse);
        }
        let _ = path::resolve_parent(&fs, &ROOT, root, &path_bytes);
        let _ = ops::mkdir(&mut fs, &ROOT, root, &path_bytes, 0o755, 0, NOW);
        let _ = ops::unlink(&mut fs, &ROOT, root, &path_bytes, NOW);
        check_invariants(&fs);
    }
}
