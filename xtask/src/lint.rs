//! `cargo xtask clippy` and `cargo xtask fmt`: clippy with warnings denied over the host
//! crates (all targets) and over each aarch64 crate with its own target.

use std::process::Stdio;

use crate::error::{Error, Result};
use crate::images::{KERNEL_TARGET, ROOT_TASK_TARGET};
use crate::workspace::Workspace;

/// One clippy invocation.
#[derive(Debug, Clone, Copy)]
pub struct LintSet {
    /// Packages to lint; empty means the workspace's default members (the host crates).
    pub packages: &'static [&'static str],
    /// `None` lints for the host, with all targets (tests, examples).
    pub target: Option<&'static str>,
}

/// Every clippy run of `cargo xtask clippy`. Add aarch64 crates here.
pub const LINT_SETS: &[LintSet] = &[
    LintSet {
        packages: &[],
        target: None,
    },
    LintSet {
        packages: &[
            "sel4",
            "sel4-root-task",
            "root-task",
            "kernel-tests",
            "bench-kernel",
        ],
        target: Some(ROOT_TASK_TARGET),
    },
    // The vDSO is linked by `cargo xtask vdso` with its own flags; linting needs none.
    LintSet {
        packages: &["vdso"],
        target: Some(ROOT_TASK_TARGET),
    },
    // The loader's build script embeds empty payloads when SEL4_KERNEL_ELF and
    // SEL4_ROOT_TASK_ELF are unset, which is enough to lint it.
    LintSet {
        packages: &["kernel", "loader"],
        target: Some(KERNEL_TARGET),
    },
];

/// Runs every lint set, then fails if any failed (showing clippy's output for those).
///
/// # Errors
/// Some lint set reported a warning or error, or cargo could not run.
pub fn clippy(workspace: &Workspace) -> Result<()> {
    let mut failed = Vec::new();
    for set in LINT_SETS {
        let description = describe(set);
        println!("clippy {description}");
        let mut command = workspace.cargo();
        command.args(["clippy", "--color", "never"]);
        for package in set.packages {
            command.args(["-p", package]);
        }
        match set.target {
            Some(target) => command.args(["--target", target]),
            None => command.arg("--all-targets"),
        };
        command.args(["--", "-D", "warnings"]).stdin(Stdio::null());
        let output = command
            .output()
            .map_err(|error| Error::io("running cargo clippy", error))?;
        if !output.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr).trim_end());
            failed.push(description);
        }
    }
    if failed.is_empty() {
        println!("clippy: no warnings");
        Ok(())
    } else {
        Err(Error::failed(format!(
            "clippy failed for: {}",
            failed.join("; ")
        )))
    }
}

fn describe(set: &LintSet) -> String {
    let packages = if set.packages.is_empty() {
        "host crates".to_owned()
    } else {
        set.packages.join(", ")
    };
    match set.target {
        Some(target) => format!("{packages} ({target})"),
        None => format!("{packages} (all targets)"),
    }
}

/// How `cargo xtask fmt` treats files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatMode {
    Rewrite,
    Check,
}

/// `cargo fmt --all [--check]`, output on the terminal.
///
/// # Errors
/// Formatting differs (in check mode) or rustfmt fails.
pub fn fmt(workspace: &Workspace, mode: FormatMode) -> Result<()> {
    let mut command = workspace.cargo();
    command.args(["fmt", "--all"]);
    if mode == FormatMode::Check {
        command.arg("--check");
    }
    let status = command
        .status()
        .map_err(|error| Error::io("running cargo fmt", error))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::failed(format!("cargo fmt failed ({status})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aarch64_crate_is_linted_with_its_target() {
        let target_of = |package: &str| {
            LINT_SETS
                .iter()
                .find(|set| set.packages.contains(&package))
                .and_then(|set| set.target)
        };
        assert_eq!(target_of("kernel"), Some(KERNEL_TARGET));
        assert_eq!(target_of("loader"), Some(KERNEL_TARGET));
        for package in ["root-task", "sel4-root-task", "sel4"] {
            assert_eq!(target_of(package), Some(ROOT_TASK_TARGET), "{package}");
        }
        assert!(LINT_SETS
            .iter()
            .any(|set| set.packages.is_empty() && set.target.is_none()));
    }
}
