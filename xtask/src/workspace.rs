//! Where things are: the workspace root, the cargo target directory and the files xtask
//! writes under it (images, test logs, the JUnit report).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// Paths and the cargo binary every command uses.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    cargo: OsString,
}

impl Workspace {
    /// Finds the workspace from xtask's own manifest directory, so `cargo xtask` works from
    /// any directory inside the tree.
    ///
    /// # Errors
    /// Fails if the current directory cannot be read while resolving a relative
    /// `CARGO_TARGET_DIR`.
    pub fn locate() -> Result<Self> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .ok_or_else(|| Error::failed("xtask's manifest directory has no parent"))?
            .to_path_buf();
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
            // Cargo resolves a relative CARGO_TARGET_DIR against its working directory,
            // which is ours; child cargos run from the root, so hand them an absolute path.
            Some(dir) => std::env::current_dir()
                .map_err(|error| Error::io("reading the current directory", error))?
                .join(dir),
            None => root.join("target"),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        Ok(Self {
            root,
            target_dir,
            cargo,
        })
    }

    /// A `cargo` command run from the workspace root with the resolved target directory.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir);
        command
    }

    /// Bootable images: `target/images/<name>.elf`.
    pub fn image_path(&self, name: &str) -> PathBuf {
        self.target_dir.join("images").join(format!("{name}.elf"))
    }

    /// Full console logs of system tests and the host test output.
    pub fn test_log_path(&self, name: &str) -> PathBuf {
        self.target_dir
            .join("test-logs")
            .join(format!("{name}.log"))
    }

    pub fn test_report_path(&self) -> PathBuf {
        self.target_dir.join("test-report.xml")
    }

    /// `path` relative to the workspace root when it is inside it, for short messages.
    pub fn display<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}
