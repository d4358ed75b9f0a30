//! Set-up: checks that the host tools the build and QEMU need are installed and, on a
//! Debian-like machine where xtask runs as root (CI), installs the missing ones with apt;
//! otherwise prints the exact commands to run.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A host requirement: how to detect it and the Debian package that provides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub check: Check,
    pub package: &'static str,
    pub purpose: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// An executable on `PATH`.
    Program(&'static str),
    /// A file at an absolute path.
    File(&'static str),
}

/// Needed to build and boot images and the C test programs.
pub const BUILD_AND_BOOT: &[Requirement] = &[
    Requirement {
        check: Check::Program("qemu-system-aarch64"),
        package: "qemu-system-arm",
        purpose: "boots the images",
    },
    Requirement {
        check: Check::Program("clang"),
        package: "clang",
        purpose: "compiles C test programs",
    },
    Requirement {
        check: Check::Program("ld.lld"),
        package: "lld",
        purpose: "links C test programs",
    },
    Requirement {
        check: Check::Program("aarch64-linux-gnu-gcc"),
        package: "gcc-aarch64-linux-gnu",
        purpose: "provides libgcc.a for aarch64",
    },
    // Only recommended by gcc-aarch64-linux-gnu, so not pulled in by
    // --no-install-recommends.
    Requirement {
        check: Check::File("/usr/aarch64-linux-gnu/lib/libc.a"),
        package: "libc6-dev-arm64-cross",
        purpose: "static glibc for the glibc test program",
    },
    Requirement {
        check: Check::File("/usr/lib/aarch64-linux-musl/libc.a"),
        package: "musl-dev:arm64",
        purpose: "the aarch64 musl C library",
    },
];

/// Needed only by `cargo xtask run --gdb`.
pub const DEBUGGER: &[Requirement] = &[Requirement {
    check: Check::Program("gdb-multiarch"),
    package: "gdb-multiarch",
    purpose: "attaches to QEMU's gdb server",
}];

/// Makes sure every requirement is met, installing what is missing when possible.
///
/// # Errors
/// Something is missing and cannot be installed here (not root, or no apt-get), or the
/// installation fails or leaves something missing.
pub fn ensure(requirements: &[Requirement]) -> Result<()> {
    let missing = missing(requirements);
    if missing.is_empty() {
        return Ok(());
    }
    for requirement in &missing {
        println!(
            "setup: missing {} ({}; Debian package {})",
            requirement.check, requirement.purpose, requirement.package
        );
    }
    let packages: Vec<&str> = missing
        .iter()
        .map(|requirement| requirement.package)
        .collect();
    let arm64_enabled = foreign_architectures().iter().any(|arch| arch == "arm64");
    let commands = install_commands(&packages, arm64_enabled);
    let can_install = running_as_root() && find_program("apt-get").is_some();
    if !can_install {
        let sudo = if running_as_root() { "" } else { "sudo " };
        println!("setup: run these commands, then try again:");
        for command in &commands {
            println!("  {sudo}{}", command.join(" "));
        }
        return Err(Error::failed("setup: required host tools are missing"));
    }
    for command in &commands {
        println!("setup: + {}", command.join(" "));
        let (program, arguments) = command
            .split_first()
            .ok_or_else(|| Error::failed("setup: empty install command"))?;
        let status = Command::new(program)
            .args(arguments)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_err(|error| Error::io(format!("setup: running {program}"), error))?;
        if !status.success() {
            return Err(Error::failed(format!(
                "setup: `{}` failed ({status})",
                command.join(" ")
            )));
        }
    }
    let still_missing = self::missing(requirements);
    if let Some(requirement) = still_missing.first() {
        return Err(Error::failed(format!(
            "setup: {} is still missing after installing {}",
            requirement.check, requirement.package
        )));
    }
    println!("setup: done");
    Ok(())
}

/// The requirements that are not met.
pub fn missing(requirements: &[Requirement]) -> Vec<Requirement> {
    requirements
        .iter()
        .copied()
        .filter(|requirement| match requirement.check {
            Check::Program(name) => find_program(name).is_none(),
            Check::File(path) => !Path::new(path).is_file(),
        })
        .collect()
}

/// The commands that install `packages`: enable arm64 packages first if any package is
/// an arm64 one and the architecture is not enabled yet.
pub fn install_commands(packages: &[&str], arm64_enabled: bool) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let needs_arm64 = packages.iter().any(|package| package.ends_with(":arm64"));
    if needs_arm64 && !arm64_enabled {
        commands.push(words(&["dpkg", "--add-architecture", "arm64"]));
    }
    commands.push(words(&["apt-get", "update"]));
    let mut install = words(&["apt-get", "install", "-y", "--no-install-recommends"]);
    install.extend(packages.iter().map(|package| (*package).to_owned()));
    commands.push(install);
    commands
}

fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

/// `dpkg --print-foreign-architectures`, empty if dpkg is not there.
fn foreign_architectures() -> Vec<String> {
    Command::new("dpkg")
        .arg("--print-foreign-architectures")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether this process's effective user is root (the owner of /proc/self is the
/// effective uid).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

/// Finds an executable on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|metadata| {
                metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
            })
        })
}

impl std::fmt::Display for Check {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Program(name) => write!(formatter, "{name}"),
            Self::File(path) => write!(formatter, "{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_commands_enable_arm64_only_when_needed() {
        assert_eq!(
            install_commands(&["clang", "musl-dev:arm64"], false),
            [
                words(&["dpkg", "--add-architecture", "arm64"]),
                words(&["apt-get", "update"]),
                words(&[
                    "apt-get",
                    "install",
                    "-y",
                    "--no-install-recommends",
                    "clang",
                    "musl-dev:arm64"
                ]),
            ]
        );
        assert_eq!(install_commands(&["musl-dev:arm64"], true).len(), 2);
        assert_eq!(install_commands(&["qemu-system-arm"], false).len(), 2);
    }

    #[test]
    fn programs_are_found_on_path_and_missing_ones_reported() {
        // `sh` exists on every machine this runs on; the odd name exists on none.
        assert!(find_program("sh").is_some());
        let absent = Requirement {
            check: Check::Program("surely-not-an-installed-program-xtask"),
            package: "none",
            purpose: "test",
        };
        let present = Requirement {
            check: Check::File("/"),
            package: "none",
            purpose: "test",
        };
        // A directory is not a file.
        assert_eq!(missing(&[absent, present]), [absent, present]);
        let shell = Requirement {
            check: Check::Program("sh"),
            package: "dash",
            purpose: "test",
        };
        assert!(missing(&[shell]).is_empty());
    }

    #[test]
    fn every_requirement_names_a_package() {
        for requirement in BUILD_AND_BOOT.iter().chain(DEBUGGER) {
            assert!(!requirement.package.is_empty());
            if let Check::File(path) = requirement.check {
                assert!(path.starts_with('/'));
            }
        }
    }
}
