//! The build pipeline: kernel, a root task, then the loader that embeds both, copied to
//! `target/images/<name>.elf` so each image keeps its own file.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::cargo::{build_binary, BinaryBuild};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// Target of the kernel and the loader (no FP/SIMD registers touched at EL1).
pub const KERNEL_TARGET: &str = "aarch64-unknown-none-softfloat";
/// Target of root tasks (user level, FP allowed).
pub const ROOT_TASK_TARGET: &str = "aarch64-unknown-none";
/// The root task `cargo xtask run` boots.
pub const DEFAULT_ROOT_TASK: &str = "root-task";

/// The kernel's compile-time log level, passed as `SEL4_KERNEL_LOG=<level>` (lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const NAMES: &'static str = "off, error, warn, info, debug, trace";

    /// Parses a level name, ignoring case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "error" => Some(Self::Error),
            "warn" => Some(Self::Warn),
            "info" => Some(Self::Info),
            "debug" => Some(Self::Debug),
            "trace" => Some(Self::Trace),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct ImageSpec<'a> {
    /// File name under `target/images/` (without `.elf`).
    pub name: &'a str,
    pub root_task_package: &'a str,
    /// `None` leaves `SEL4_KERNEL_LOG` as the environment has it.
    pub kernel_log: Option<LogLevel>,
}

/// A built image and the ELFs it was made from (for debuggers).
#[derive(Debug, Clone)]
pub struct Image {
    /// The loader ELF with kernel and root task inside; QEMU's `-kernel` argument.
    pub path: PathBuf,
    pub kernel_elf: PathBuf,
    pub root_task_elf: PathBuf,
}

/// Builds kernel, root task and loader, printing one line per step.
///
/// # Errors
/// Fails with cargo's diagnostics if any build fails, or if the image cannot be copied.
pub fn build_image(workspace: &Workspace, spec: &ImageSpec<'_>) -> Result<Image> {
    build_image_with_archive(workspace, spec, None)
}

/// [`build_image`], with the root task embedding the boot archive at `archive` (a newc
/// cpio, see `rootfs.rs`) through `ROOT_TASK_CPIO`; `None` embeds an empty one.
///
/// # Errors
/// As [`build_image`].
pub fn build_image_with_archive(
    workspace: &Workspace,
    spec: &ImageSpec<'_>,
    archive: Option<&std::path::Path>,
) -> Result<Image> {
    let mut kernel_environment = Vec::new();
    if let Some(level) = spec.kernel_log {
        kernel_environment.push(("SEL4_KERNEL_LOG", OsString::from(level.as_str())));
    }
    match spec.kernel_log {
        Some(level) => println!("build kernel (log level {level})"),
        None => println!("build kernel"),
    }
    let kernel_elf = build_binary(
        workspace,
        &BinaryBuild {
            package: "kernel",
            target: KERNEL_TARGET,
            environment: kernel_environment,
        },
    )?;

    println!("build root task {}", spec.root_task_package);
    let root_task_elf = build_binary(
        workspace,
        &BinaryBuild {
            package: spec.root_task_package,
            target: ROOT_TASK_TARGET,
            environment: vec![(
                "ROOT_TASK_CPIO",
                archive.map_or_else(OsString::new, |path| path.as_os_str().to_owned()),
            )],
        },
    )?;

    println!("build loader");
    let loader_elf = build_binary(
        workspace,
        &BinaryBuild {
            package: "loader",
            target: KERNEL_TARGET,
            environment: payload_environment(&kernel_elf, &root_task_elf),
        },
    )?;

    let path = workspace.image_path(spec.name);
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory)
            .map_err(|error| Error::io(format!("creating {}", directory.display()), error))?;
    }
    std::fs::copy(&loader_elf, &path).map_err(|error| {
        Error::io(
            format!("copying {} to {}", loader_elf.display(), path.display()),
            error,
        )
    })?;
    println!("image {}", workspace.display(&path));
    Ok(Image {
        path,
        kernel_elf,
        root_task_elf,
    })
}

/// The environment through which the loader's build finds what it embeds (absolute
/// paths, as cargo reports them).
fn payload_environment(
    kernel_elf: &std::path::Path,
    root_task_elf: &std::path::Path,
) -> Vec<(&'static str, OsString)> {
    vec![
        ("SEL4_KERNEL_ELF", kernel_elf.as_os_str().to_owned()),
        ("SEL4_ROOT_TASK_ELF", root_task_elf.as_os_str().to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_parse_case_insensitively_and_round_trip() {
        for level in [
            LogLevel::Off,
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ] {
            assert_eq!(LogLevel::parse(level.as_str()), Some(level));
            assert_eq!(
                LogLevel::parse(&level.as_str().to_ascii_uppercase()),
                Some(level)
            );
        }
        assert_eq!(LogLevel::parse("verbose"), None);
        assert_eq!(LogLevel::parse(""), None);
    }
}
