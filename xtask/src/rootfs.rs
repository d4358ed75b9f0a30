//! The boot archive the root task embeds: a directory tree (the project's `rootfs/` or
//! `--root DIR`), the vDSO at `/vdso.so`, the C test programs under `/bin`, a program
//! from the host, and `/etc/sel4-linux/init` (the first process's argv, environment and
//! server options), packed as a newc cpio.

use std::fs;
use std::path::{Path, PathBuf};

/// Where the root task reads its boot configuration (see linux-personality's
/// `boot_config`).
pub const BOOT_CONFIG: &str = "etc/sel4-linux/init";

/// Files to add: (path in the archive, host file).
pub type ExtraFiles = Vec<(String, PathBuf)>;

/// What goes into one archive.
#[derive(Debug, Clone, Default)]
pub struct ArchiveSpec {
    /// A host directory whose tree becomes `/` (files keep their permission bits).
    pub tree: Option<PathBuf>,
    /// Extra files: (path in the archive, host file), added after the tree.
    pub files: Vec<(String, PathBuf)>,
    /// argv of the first process; empty: no configuration (the root task runs `/init`).
    pub arguments: Vec<String>,
    /// Its environment (empty: the root task's default).
    pub environment: Vec<String>,
    /// Server options (`svc-rewrite`, `log=debug`).
    pub options: Vec<String>,
}

/// Packs `spec` into `output`.
///
/// # Errors
/// An unreadable tree or file, or a name the format cannot carry.
pub fn pack(spec: &ArchiveSpec, output: &Path) -> Result<(), String> {
    let mut writer = NewcWriter::default();
    let mut directories = std::collections::BTreeSet::new();
    if let Some(tree) = &spec.tree {
        add_tree(&mut writer, tree, tree, &mut directories)?;
    }
    for (name, host) in &spec.files {
        let name = name.trim_start_matches('/');
        add_parents(&mut writer, name, &mut directories);
        let data =
            fs::read(host).map_err(|error| format!("reading {}: {error}", host.display()))?;
        writer.add(name, 0o100_755, &data);
    }
    if !spec.arguments.is_empty() {
        let mut text = String::from("# written by cargo xtask: argv, environment, options\n");
        for argument in &spec.arguments {
            text.push_str(&format!("arg {argument}\n"));
        }
        for entry in &spec.environment {
            text.push_str(&format!("env {entry}\n"));
        }
        for option in &spec.options {
            text.push_str(&format!("option {option}\n"));
        }
        add_parents(&mut writer, BOOT_CONFIG, &mut directories);
        writer.add(BOOT_CONFIG, 0o100_644, text.as_bytes());
    }
    if let Some(directory) = output.parent() {
        fs::create_dir_all(directory)
            .map_err(|error| format!("creating {}: {error}", directory.display()))?;
    }
    fs::write(output, writer.finish())
        .map_err(|error| format!("writing {}: {error}", output.display()))
}

fn add_tree(
    writer: &mut NewcWriter,
    root: &Path,
    directory: &Path,
    directories: &mut std::collections::BTreeSet<String>,
) -> Result<(), String> {
    let mut entries: Vec<_> = fs::read_dir(directory)
        .map_err(|error| format!("reading {}: {error}", directory.display()))?
        .collect::<Result<_, _>>()
        .map_err(|error| format!("reading {}: {error}", directory.display()))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .map_err(|_| format!("{} is outside {}", path.display(), root.display()))?;
        let name = relative
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", path.display()))?
            .to_owned();
        let metadata =
            fs::symlink_metadata(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        let permissions = permission_bits(&metadata);
        if metadata.file_type().is_symlink() {
            let target =
                fs::read_link(&path).map_err(|error| format!("{}: {error}", path.display()))?;
            let target = target
                .to_str()
                .ok_or_else(|| format!("{}: target is not UTF-8", path.display()))?;
            writer.add(&name, 0o120_777, target.as_bytes());
        } else if metadata.is_dir() {
            directories.insert(name.clone());
            writer.add(&name, 0o040_000 | permissions, &[]);
            add_tree(writer, root, &path, directories)?;
        } else if metadata.is_file() {
            let data =
                fs::read(&path).map_err(|error| format!("reading {}: {error}", path.display()))?;
            writer.add(&name, 0o100_000 | permissions, &data);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn permission_bits(metadata: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(metadata: &fs::Metadata) -> u32 {
    if metadata.is_dir() {
        0o755
    } else {
        0o644
    }
}

/// Adds the directories above `name` that are not in the archive yet.
fn add_parents(
    writer: &mut NewcWriter,
    name: &str,
    directories: &mut std::collections::BTreeSet<String>,
) {
    let mut prefix = String::new();
    let components: Vec<&str> = name.split('/').collect();
    for component in &components[..components.len().saturating_sub(1)] {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(component);
        if directories.insert(prefix.clone()) {
            writer.add(&prefix, 0o040_755, &[]);
        }
    }
}

/// A minimal newc (`070701`) writer: each entry a 110-byte header of 8-digit hex fields,
/// the NUL-terminated name and the data, each padded to 4 bytes; then `TRAILER!!!`.
#[derive(Debug, Default)]
struct NewcWriter {
    bytes: Vec<u8>,
    next_inode: u32,
}

impl NewcWriter {
    fn add(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.next_inode += 1;
        let links = if mode & 0o170_000 == 0o040_000 { 2 } else { 1 };
        let fields = [
            self.next_inode,
            mode,
            0,
            0,
            links,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.add("TRAILER!!!", 0, &[]);
        self.bytes
    }
}

/// The archive `run` and the Linux system tests boot: `tree` (default: the project's
/// `rootfs/`), `/vdso.so` (built and checked), every C test program as `/bin/<name>`,
/// `/init` (the `basic` test program, when the tree has none), `extra` files (each
/// replacing a file of the same name), and the boot configuration. Written to `target/rootfs/<name>.cpio`.
///
/// # Errors
/// A failed vDSO or program build, an unreadable tree.
pub fn standard_archive(
    workspace_root: &Path,
    name: &str,
    tree: Option<&Path>,
    extra: Vec<(String, PathBuf)>,
    arguments: Vec<String>,
    environment: Vec<String>,
    options: Vec<String>,
) -> Result<PathBuf, String> {
    let tree = tree.map_or_else(|| workspace_root.join("rootfs"), Path::to_path_buf);
    let mut files = Vec::new();
    let vdso = crate::vdso::build(workspace_root)?;
    files.push(("vdso.so".to_owned(), vdso));
    let programs = crate::programs::build_all(
        workspace_root,
        &workspace_root.join("target").join("programs"),
    )?;
    for program in programs {
        if let Some(stem) = program.file_name().and_then(|stem| stem.to_str()) {
            files.push((format!("bin/{stem}"), program.clone()));
            files.push((format!("tests/{stem}"), program.clone()));
        }
    }
    // The demo userland: /bin/<name> (replacing a test program of the same name, which
    // stays at /tests/<name>), and its init as /init unless the tree has one.
    let userland = crate::programs::build_userland(
        workspace_root,
        &workspace_root.join("target").join("userland"),
    )?;
    for program in userland {
        if let Some(stem) = program.file_name().and_then(|stem| stem.to_str()) {
            let guest = format!("bin/{stem}");
            files.retain(|(name, _)| *name != guest);
            if stem == "init" && !tree.join("init").exists() {
                files.push(("init".to_owned(), program.clone()));
            }
            files.push((guest, program.clone()));
        }
    }
    // An extra file replaces a standard one of the same name (a test's damaged /vdso.so).
    files.retain(|(name, _)| !extra.iter().any(|(replacement, _)| replacement == name));
    files.extend(extra);
    let output = workspace_root
        .join("target")
        .join("rootfs")
        .join(format!("{name}.cpio"));
    pack(
        &ArchiveSpec {
            tree: tree.is_dir().then_some(tree),
            files,
            arguments,
            environment,
            options,
        },
        &output,
    )?;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a newc archive back: (name, mode, data) per entry.
    fn entries(bytes: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut result = Vec::new();
        let mut offset = 0;
        loop {
            assert_eq!(&bytes[offset..offset + 6], b"070701");
            let field = |index: usize| {
                let start = offset + 6 + index * 8;
                u32::from_str_radix(std::str::from_utf8(&bytes[start..start + 8]).unwrap(), 16)
                    .unwrap()
            };
            let (mode, size, name_size) = (field(1), field(6) as usize, field(11) as usize);
            let name_start = offset + 110;
            let name =
                String::from_utf8(bytes[name_start..name_start + name_size - 1].to_vec()).unwrap();
            let data_start = (name_start + name_size).next_multiple_of(4);
            let data = bytes[data_start..data_start + size].to_vec();
            offset = (data_start + size).next_multiple_of(4);
            if name == "TRAILER!!!" {
                return result;
            }
            result.push((name, mode, data));
        }
    }

    #[test]
    fn packs_files_parents_and_the_boot_configuration() {
        let directory = std::env::temp_dir().join(format!("xtask-rootfs-{}", std::process::id()));
        let tree = directory.join("tree");
        fs::create_dir_all(tree.join("bin")).unwrap();
        fs::write(tree.join("bin/tool"), b"#!/bin/sh\n").unwrap();
        let extra = directory.join("prog");
        fs::write(&extra, b"\x7fELF").unwrap();
        let output = directory.join("out.cpio");
        let spec = ArchiveSpec {
            tree: Some(tree.clone()),
            files: vec![("/usr/bin/prog".into(), extra)],
            arguments: vec!["/usr/bin/prog".into(), "a b".into()],
            environment: vec!["HOME=/".into()],
            options: vec!["svc-rewrite".into()],
        };
        pack(&spec, &output).unwrap();
        let archive = entries(&fs::read(&output).unwrap());
        let names: Vec<&str> = archive.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "bin/tool",
                "usr",
                "usr/bin",
                "usr/bin/prog",
                "etc",
                "etc/sel4-linux",
                BOOT_CONFIG
            ]
        );
        assert_eq!(archive[0].1 & 0o170_000, 0o040_000);
        assert_eq!(archive[4].2, b"\x7fELF");
        assert_eq!(archive[4].1, 0o100_755);
        assert_eq!(
            String::from_utf8(archive[7].2.clone()).unwrap(),
            "# written by cargo xtask: argv, environment, options\narg /usr/bin/prog\narg a b\nenv HOME=/\noption svc-rewrite\n"
        );
        fs::remove_dir_all(&directory).unwrap();
    }
}
