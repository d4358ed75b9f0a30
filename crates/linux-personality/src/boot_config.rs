//! The first process's command line, environment and server options, as `cargo xtask`
//! writes them into the boot archive (`/etc/sel4-linux/init`), one item per line:
//!
//! ```text
//! # comment
//! arg /bin/basic        argv[0], then one line per further argument
//! env HOME=/            one environment string
//! option svc-rewrite    a process-server option (see [`BootOptions`])
//! ```
//!
//! Blank lines and `#` comments are ignored; an argument may contain spaces (everything
//! after the first space is taken as is).

use alloc::string::String;
use alloc::vec::Vec;

/// Where the root task looks for the boot configuration.
pub const BOOT_CONFIG_PATH: &str = "/etc/sel4-linux/init";

/// The program the server starts when the archive has no configuration.
pub const DEFAULT_INIT: &str = "/init";

/// How the server catches a process's system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallTrap {
    /// Use the kernel's Linux-syscall TCB flag when it has one, else rewrite `svc`.
    Automatic,
    /// Rewrite each `svc #0` to an undefined instruction at load time even if the kernel
    /// has the flag (what the real seL4 kernel needs), to test that path.
    Rewrite,
}

/// Where each process's vDSO pages come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VdsoLoading {
    /// Read and checked once at boot; every exec maps the same frames (the default).
    Preloaded,
    /// `option vdso-reload-per-exec`: every exec reads `/vdso.so` from the file system,
    /// checks it and copies it into fresh frames, to measure what the preload saves.
    ReloadPerExec,
}

/// Whether the server prints its own `BENCH` figures (the vDSO mapping step's mean cost,
/// when init exits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchReport {
    /// No figures (the default).
    Silent,
    /// `option bench-report`: what `cargo xtask bench` passes.
    Print,
}

/// Options for the process server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// `option svc-rewrite`.
    pub syscall_trap: SyscallTrap,
    /// `option log=<level>`: the server's log level (0 error .. 4 trace; default 2 info).
    pub log_level: u8,
    /// `option vdso-reload-per-exec`.
    pub vdso_loading: VdsoLoading,
    /// `option bench-report`.
    pub bench_report: BenchReport,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            syscall_trap: SyscallTrap::Automatic,
            log_level: 2,
            vdso_loading: VdsoLoading::Preloaded,
            bench_report: BenchReport::Silent,
        }
    }
}

/// The parsed configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootConfig {
    /// argv of the first process (argv[0] is also its path).
    pub arguments: Vec<Vec<u8>>,
    /// Its environment.
    pub environment: Vec<Vec<u8>>,
    /// Server options.
    pub options: BootOptions,
}

/// What is wrong with a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootConfigError {
    /// A line starts with an unknown keyword.
    UnknownKeyword {
        /// 1-based line number.
        line: usize,
    },
    /// An `option` line names an unknown option.
    UnknownOption {
        /// 1-based line number.
        line: usize,
        /// The option as written.
        option: String,
    },
    /// No `arg` line: nothing to run.
    NoProgram,
}

impl core::fmt::Display for BootConfigError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BootConfigError::UnknownKeyword { line } => {
                write!(formatter, "line {line}: expected `arg`, `env` or `option`")
            }
            BootConfigError::UnknownOption { line, option } => {
                write!(formatter, "line {line}: unknown option {option:?}")
            }
            BootConfigError::NoProgram => formatter.write_str("no `arg` line names a program"),
        }
    }
}

impl BootConfig {
    /// The configuration when the archive has none: run [`DEFAULT_INIT`].
    #[must_use]
    pub fn default_init() -> BootConfig {
        BootConfig {
            arguments: alloc::vec![DEFAULT_INIT.as_bytes().to_vec()],
            environment: default_environment(),
            options: BootOptions::default(),
        }
    }

    /// Parses a configuration file.
    ///
    /// # Errors
    /// [`BootConfigError`] for an unknown keyword or option, or no program.
    pub fn parse(text: &[u8]) -> Result<BootConfig, BootConfigError> {
        let mut arguments = Vec::new();
        let mut environment = Vec::new();
        let mut options = BootOptions::default();
        let mut environment_given = false;
        for (index, raw) in text.split(|byte| *byte == b'\n').enumerate() {
            let line_number = index + 1;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            let trimmed = trim_start(line);
            if trimmed.is_empty() || trimmed.first() == Some(&b'#') {
                continue;
            }
            let (keyword, value) = match trimmed.iter().position(|byte| *byte == b' ') {
                Some(space) => (&trimmed[..space], &trimmed[space + 1..]),
                None => (trimmed, &b""[..]),
            };
            match keyword {
                b"arg" => arguments.push(value.to_vec()),
                b"env" => {
                    environment_given = true;
                    environment.push(value.to_vec());
                }
                b"option" => parse_option(value, line_number, &mut options)?,
                _ => return Err(BootConfigError::UnknownKeyword { line: line_number }),
            }
        }
        if arguments.is_empty() {
            return Err(BootConfigError::NoProgram);
        }
        if !environment_given {
            environment = default_environment();
        }
        Ok(BootConfig {
            arguments,
            environment,
            options,
        })
    }
}

fn parse_option(
    value: &[u8],
    line: usize,
    options: &mut BootOptions,
) -> Result<(), BootConfigError> {
    let unknown = || BootConfigError::UnknownOption {
        line,
        option: String::from_utf8_lossy(value).into_owned(),
    };
    match value {
        b"svc-rewrite" => options.syscall_trap = SyscallTrap::Rewrite,
        b"vdso-reload-per-exec" => options.vdso_loading = VdsoLoading::ReloadPerExec,
        b"bench-report" => options.bench_report = BenchReport::Print,
        _ => {
            let level = value.strip_prefix(b"log=").ok_or_else(unknown)?;
            options.log_level = match level {
                b"error" => 0,
                b"warn" => 1,
                b"info" => 2,
                b"debug" => 3,
                b"trace" => 4,
                _ => return Err(unknown()),
            };
        }
    }
    Ok(())
}

fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(line.len());
    &line[start..]
}

/// The environment of a first process started without one.
#[must_use]
pub fn default_environment() -> Vec<Vec<u8>> {
    [&b"HOME=/"[..], b"PATH=/bin:/usr/bin", b"TERM=linux"]
        .iter()
        .map(|entry| entry.to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments_environment_and_options() {
        let text = b"# init\narg /bin/basic\narg two words\n\nenv HOME=/\r\n  option svc-rewrite\noption log=debug\n";
        let config = BootConfig::parse(text).unwrap();
        assert_eq!(
            config.arguments,
            vec![b"/bin/basic".to_vec(), b"two words".to_vec()]
        );
        assert_eq!(config.environment, vec![b"HOME=/".to_vec()]);
        assert_eq!(config.options.syscall_trap, SyscallTrap::Rewrite);
        assert_eq!(config.options.log_level, 3);
        assert_eq!(config.options.vdso_loading, VdsoLoading::Preloaded);
        let reload = BootConfig::parse(b"arg /init\noption vdso-reload-per-exec\n").unwrap();
        assert_eq!(reload.options.vdso_loading, VdsoLoading::ReloadPerExec);
        assert_eq!(reload.options.syscall_trap, SyscallTrap::Automatic);
        assert_eq!(reload.options.bench_report, BenchReport::Silent);
        let bench = BootConfig::parse(b"arg /init\noption bench-report\n").unwrap();
        assert_eq!(bench.options.bench_report, BenchReport::Print);
    }

    #[test]
    fn empty_argument_and_default_environment() {
        let config = BootConfig::parse(b"arg /init\narg\n").unwrap();
        assert_eq!(config.arguments, vec![b"/init".to_vec(), Vec::new()]);
        assert_eq!(config.environment, default_environment());
        assert_eq!(config.options, BootOptions::default());
    }

    #[test]
    fn rejects_bad_lines() {
        assert_eq!(
            BootConfig::parse(b"arg /init\nrun /x\n"),
            Err(BootConfigError::UnknownKeyword { line: 2 })
        );
        assert_eq!(
            BootConfig::parse(b"arg /init\noption fast\n"),
            Err(BootConfigError::UnknownOption {
                line: 2,
                option: "fast".into()
            })
        );
        assert_eq!(
            BootConfig::parse(b"env A=1\n"),
            Err(BootConfigError::NoProgram)
        );
        assert_eq!(BootConfig::parse(b""), Err(BootConfigError::NoProgram));
    }

    #[test]
    fn default_runs_init() {
        assert_eq!(
            BootConfig::default_init().arguments,
            vec![b"/init".to_vec()]
        );
    }
}
