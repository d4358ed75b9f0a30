//! The in-tree C test programs (`tests/programs/*.c`): building them as static aarch64 musl
//! binaries, and running them under user-mode QEMU on the host to check them against Linux.
//!
//! Each program prints one line per case, `TEST_PASS <name>`, `TEST_FAIL <name>: <why>` or
//! `TEST_SKIP <name>: <why>`, and exits 0 when nothing failed (tests/programs/README.md).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Debian's aarch64 musl (`musl-dev:arm64`): start files and libc.a.
const MUSL_LIBRARIES: &str = "/usr/lib/aarch64-linux-musl";
/// Debian's aarch64 musl headers.
const MUSL_HEADERS: &str = "/usr/include/aarch64-linux-musl";
/// Debian's aarch64 glibc for cross builds (`libc6-dev-arm64-cross`): its static libc.
const GLIBC_STATIC_LIBRARY: &str = "/usr/aarch64-linux-gnu/lib/libc.a";
/// Programs built against glibc (statically, with the GNU cross compiler) instead of musl,
/// by file stem: they check that static glibc programs run too.
const GLIBC_PROGRAMS: &[&str] = &["glibc"];
/// The user-mode emulator from Debian's `qemu-user-static`.
const QEMU_USER: &str = "qemu-aarch64-static";
/// The CPU our system runs on; also keeps qemu-user from adding SVE records to signal frames.
const QEMU_USER_CPU: &str = "cortex-a57";
/// How long one program may run under qemu-user.
const QEMU_USER_TIMEOUT: Duration = Duration::from_secs(300);

/// Builds every `tests/programs/*.c` into `out_dir/<name>`, skipping programs whose binary is
/// newer than both its source and every header in `tests/programs`. Returns the binaries in
/// name order.
///
/// # Errors
/// A missing toolchain piece (clang, lld, musl-dev:arm64, gcc-aarch64-linux-gnu for libgcc),
/// an unreadable directory, or a compile failure (with clang's output).
pub fn build_all(workspace_root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    build_directory(&workspace_root.join("tests").join("programs"), out_dir)
}

/// Builds the demo userland, every `userland/*.c`, into `out_dir/<name>` the same way.
///
/// # Errors
/// As [`build_all`].
pub fn build_userland(workspace_root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    build_directory(&workspace_root.join("userland"), out_dir)
}

/// Builds every `*.c` of `source_dir` into `out_dir/<name>` (see [`build_all`]).
fn build_directory(source_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let source_dir = source_dir.to_path_buf();
    let sources = files_with_extension(&source_dir, "c")?;
    if sources.is_empty() {
        return Err(format!("no C programs in {}", source_dir.display()));
    }
    let newest_header = files_with_extension(&source_dir, "h")?
        .iter()
        .map(|header| modified(header))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .max();
    fs::create_dir_all(out_dir)
        .map_err(|error| format!("creating {}: {error}", out_dir.display()))?;

    let mut toolchain = None;
    let mut outputs = Vec::with_capacity(sources.len());
    for source in &sources {
        let stem = source
            .file_stem()
            .ok_or_else(|| format!("{} has no file name", source.display()))?;
        let output = out_dir.join(stem);
        let inputs_changed = newest_header
            .into_iter()
            .chain([modified(source)?])
            .max()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if needs_rebuild(output_time(&output), inputs_changed) {
            if toolchain.is_none() {
                toolchain = Some(Toolchain::find()?);
            }
            if let Some(toolchain) = &toolchain {
                toolchain.compile(source, &output, Libc::of(source))?;
            }
        }
        outputs.push(output);
    }
    Ok(outputs)
}

/// What one program did under qemu-user.
#[derive(Debug)]
pub struct QemuUserRun {
    /// The exit code, or `None` if the program was killed (by a signal or the timeout).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs one aarch64 program under qemu-user with `arguments`, from `working_directory`.
///
/// Where the host allows unprivileged user namespaces, the program runs in a private user
/// and mount namespace with its own binfmt_misc instance that hands aarch64 ELF files to
/// qemu, so the program can execve itself and `#!` scripts naming it, as the process tests
/// do. Nothing on the host is changed. Otherwise it runs under qemu directly and such
/// execs fail with ENOEXEC.
///
/// # Errors
/// qemu-aarch64-static is missing or the program cannot be started.
pub fn run_under_qemu_user(
    program: &Path,
    arguments: &[&str],
    working_directory: &Path,
) -> Result<QemuUserRun, String> {
    let program = program
        .canonicalize()
        .map_err(|error| format!("{}: {error}", program.display()))?;
    let qemu = find_in_path(QEMU_USER).ok_or_else(|| {
        format!("{QEMU_USER} not found: apt-get install qemu-user-static (or cargo xtask setup)")
    })?;
    let mut command = if private_binfmt_available() {
        let mut command = Command::new("unshare");
        command
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg(binfmt_script(&qemu))
            .arg("sh")
            .arg(&program);
        command
    } else {
        let mut command = Command::new(&qemu);
        command.arg(&program);
        command
    };
    command
        .args(arguments)
        .env("QEMU_CPU", QEMU_USER_CPU)
        .current_dir(working_directory)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout kills the program's children too.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|error| format!("starting {}: {error}", program.display()))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let (status, timed_out) = wait_with_timeout(&mut child, QEMU_USER_TIMEOUT)?;
    Ok(QemuUserRun {
        exit_code: status.and_then(|status| status.code()),
        timed_out,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Builds every program and runs each under qemu-user: the host-side check that the tests
/// themselves are right. Returns one summary line per program and whether all were clean
/// (exit 0, every line of the protocol, no failures).
///
/// # Errors
/// The build failed or a program could not be started.
pub fn check_on_host(workspace_root: &Path, out_dir: &Path) -> Result<(Vec<String>, bool), String> {
    let binaries = build_all(workspace_root, out_dir)?;
    let scratch = out_dir.join("qemu-user-scratch");
    fs::create_dir_all(&scratch)
        .map_err(|error| format!("creating {}: {error}", scratch.display()))?;
    let mut lines = Vec::new();
    let mut all_clean = true;
    for binary in &binaries {
        let run = run_under_qemu_user(binary, &[], &scratch)?;
        let summary = summarize(&run.stdout);
        let name = binary.file_name().map_or_else(
            || binary.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let clean = run.exit_code == Some(0)
            && !run.timed_out
            && summary.failed.is_empty()
            && summary.stray_lines == 0;
        all_clean &= clean;
        lines.push(format!(
            "{name}: {} passed, {} failed, {} skipped, exit {}{}",
            summary.passed,
            summary.failed.len(),
            summary.skipped.len(),
            run.exit_code
                .map_or_else(|| "by signal".to_string(), |code| code.to_string()),
            if run.timed_out { " (timed out)" } else { "" },
        ));
        lines.extend(summary.failed.iter().map(|line| format!("  {line}")));
        lines.extend(summary.skipped.iter().map(|line| format!("  {line}")));
        if !clean {
            // qemu's own complaints (a crash, an unsupported syscall) explain most of these.
            lines.extend(run.stderr.lines().map(|line| format!("  stderr: {line}")));
        }
    }
    Ok((lines, all_clean))
}

/// The protocol lines of one program's output, counted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    /// Each `TEST_FAIL` line, whole.
    pub failed: Vec<String>,
    /// Each `TEST_SKIP` line, whole.
    pub skipped: Vec<String>,
    /// Lines that are not part of the protocol (a program may print some, e.g. console.c).
    pub stray_lines: usize,
}

/// Counts the `TEST_PASS`/`TEST_FAIL`/`TEST_SKIP` lines in `output`.
pub fn summarize(output: &str) -> Summary {
    let mut summary = Summary::default();
    for line in output.lines() {
        if line.strip_prefix("TEST_PASS ").is_some_and(is_case_name) {
            summary.passed += 1;
        } else if line.starts_with("TEST_FAIL ") {
            summary.failed.push(line.to_string());
        } else if line.starts_with("TEST_SKIP ") {
            summary.skipped.push(line.to_string());
        } else if !line.starts_with("console: ") && !is_host_protocol_line(line) {
            summary.stray_lines += 1;
        }
    }
    summary
}

/// Lines a program writes for the test harness rather than as results: `vdso.c`'s
/// `HOST_REALTIME?` request and its `VDSO_DUMP` lines (see tests/programs/README.md).
fn is_host_protocol_line(line: &str) -> bool {
    line == "HOST_REALTIME?" || line.starts_with("VDSO_DUMP")
}

fn is_case_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

/// Rebuild when there is no output or any input changed after it was written.
fn needs_rebuild(output: Option<SystemTime>, inputs_changed: SystemTime) -> bool {
    output.is_none_or(|built| built < inputs_changed)
}

/// The C library a program links against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Libc {
    /// musl, the default: clang with Debian's aarch64 musl.
    Musl,
    /// glibc, for the programs named in [`GLIBC_PROGRAMS`]: `aarch64-linux-gnu-gcc -static`.
    Glibc,
}

impl Libc {
    fn of(source: &Path) -> Self {
        let stem = source.file_stem().and_then(|stem| stem.to_str());
        if stem.is_some_and(|stem| GLIBC_PROGRAMS.contains(&stem)) {
            Self::Glibc
        } else {
            Self::Musl
        }
    }
}

/// The compiler, start files and libraries for a static aarch64 musl program.
struct Toolchain {
    clang_resource_dir: PathBuf,
    libgcc: PathBuf,
}

impl Toolchain {
    fn find() -> Result<Self, String> {
        for file in ["crt1.o", "crti.o", "crtn.o", "libc.a"] {
            let path = Path::new(MUSL_LIBRARIES).join(file);
            if !path.is_file() {
                return Err(format!(
                    "{} missing: dpkg --add-architecture arm64 && apt-get install musl-dev:arm64",
                    path.display()
                ));
            }
        }
        let clang_resource_dir = PathBuf::from(capture("clang", &["-print-resource-dir"])?);
        let libgcc = PathBuf::from(capture(
            "aarch64-linux-gnu-gcc",
            &["-print-libgcc-file-name"],
        )?);
        if !libgcc.is_file() {
            return Err(format!(
                "libgcc {} missing: apt-get install gcc-aarch64-linux-gnu",
                libgcc.display()
            ));
        }
        Ok(Self {
            clang_resource_dir,
            libgcc,
        })
    }

    /// Compiles one program, writing a temporary file first so an interrupted build never
    /// leaves an up-to-date-looking binary.
    fn compile(&self, source: &Path, output: &Path, libc: Libc) -> Result<(), String> {
        let musl = Path::new(MUSL_LIBRARIES);
        let temporary = output.with_extension("partial");
        let result = match libc {
            Libc::Musl => self.musl_command(source, musl, &temporary),
            Libc::Glibc => glibc_command(source, &temporary)?,
        }
        .output()
        .map_err(|error| format!("running the compiler: {error}"))?;
        if !result.status.success() {
            let _ = fs::remove_file(&temporary);
            return Err(format!(
                "compiling {}:\n{}{}",
                source.display(),
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            ));
        }
        fs::rename(&temporary, output).map_err(|error| {
            format!(
                "renaming {} to {}: {error}",
                temporary.display(),
                output.display()
            )
        })
    }

    fn musl_command(&self, source: &Path, musl: &Path, temporary: &Path) -> Command {
        let mut command = Command::new("clang");
        command
            .arg("--target=aarch64-linux-musl")
            .arg("-nostdinc")
            .arg("-isystem")
            .arg(MUSL_HEADERS)
            .arg("-isystem")
            .arg(self.clang_resource_dir.join("include"))
            .args([
                "-static",
                "-nostdlib",
                "-fuse-ld=lld",
                "-O2",
                "-Wall",
                "-Werror",
            ])
            .arg(musl.join("crt1.o"))
            .arg(musl.join("crti.o"))
            .arg(source)
            .arg(musl.join("libc.a"))
            .arg(&self.libgcc)
            .arg(musl.join("crtn.o"))
            .arg("-o")
            .arg(temporary);
        command
    }
}

/// A static glibc build with the GNU cross compiler, its own headers and libraries.
fn glibc_command(source: &Path, temporary: &Path) -> Result<Command, String> {
    if !Path::new(GLIBC_STATIC_LIBRARY).is_file() {
        return Err(format!(
            "{GLIBC_STATIC_LIBRARY} missing: apt-get install libc6-dev-arm64-cross \
             (or cargo xtask setup)"
        ));
    }
    let mut command = Command::new("aarch64-linux-gnu-gcc");
    command
        .args(["-static", "-pthread", "-O2", "-Wall", "-Werror"])
        .arg(source)
        .arg("-o")
        .arg(temporary);
    Ok(command)
}

/// Runs a tool and returns its trimmed standard output.
fn capture(tool: &str, arguments: &[&str]) -> Result<String, String> {
    let output = Command::new(tool)
        .args(arguments)
        .output()
        .map_err(|error| format!("running {tool}: {error} (cargo xtask setup installs it)"))?;
    if !output.status.success() {
        return Err(format!(
            "{tool} {} failed: {}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The files in `directory` ending in `.extension`, sorted by name.
fn files_with_extension(directory: &Path, extension: &str) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(directory)
        .map_err(|error| format!("reading {}: {error}", directory.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| format!("reading {}: {error}", directory.display()))?
            .path();
        if path.extension().is_some_and(|found| found == extension) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn modified(path: &Path) -> Result<SystemTime, String> {
    fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .map_err(|error| format!("{}: {error}", path.display()))
}

fn output_time(path: &Path) -> Option<SystemTime> {
    fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join(tool))
            .find(|candidate| candidate.is_file())
    })
}

/// Whether `unshare` can give us a user and mount namespace with its own binfmt_misc
/// (Linux 6.7+ with unprivileged user namespaces).
fn private_binfmt_available() -> bool {
    Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A shell script for `sh -c SCRIPT sh PROGRAM ARGS...`: registers qemu for aarch64 ELF
/// executables in a fresh binfmt_misc instance ('F': qemu is opened now, so it is found
/// whatever the program's mounts), then execs the program.
fn binfmt_script(qemu: &Path) -> String {
    // The ELF header: 64-bit, little-endian, version 1, ET_EXEC or ET_DYN, EM_AARCH64.
    let magic = r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00";
    let mask = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";
    format!(
        "set -e\n\
         mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc\n\
         printf '%s' ':qemu-aarch64:M::{magic}:{mask}:{qemu}:F' \
         > /proc/sys/fs/binfmt_misc/register\n\
         exec \"$@\"\n",
        qemu = qemu.display()
    )
}

/// Reads a pipe to the end on its own thread, so a chatty program cannot fill it and stall.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Waits for `child`, killing its process group after `timeout`.
/// Returns the status (None if it could not be collected) and whether it timed out.
fn wait_with_timeout(
    child: &mut Child,
    timeout: Duration,
) -> Result<(Option<ExitStatus>, bool), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok((Some(status), false)),
            Ok(None) if Instant::now() >= deadline => {
                // The group id is the child's pid (process_group(0) above).
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                return Ok((child.wait().ok(), true));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(error) => return Err(format!("waiting for the program: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_choose_their_libc_musl_by_default() {
        assert_eq!(Libc::of(Path::new("tests/programs/glibc.c")), Libc::Glibc);
        assert_eq!(Libc::of(Path::new("tests/programs/files.c")), Libc::Musl);
        assert_eq!(Libc::of(Path::new("userland/init.c")), Libc::Musl);
    }

    #[test]
    fn summarize_counts_each_kind_and_stray_lines() {
        let output = "TEST_PASS files_open\n\
                      TEST_FAIL files_lseek: line 3: lseek == -1\n\
                      TEST_SKIP vdso_musl_walk: no vDSO\n\
                      console: a line through /dev/console\n\
                      TEST_PASS files_dup3\n\
                      garbage\n\
                      TEST_PASS Bad-Name\n\
                      HOST_REALTIME?\n\
                      VDSO_DUMP_BEGIN 1\n\
                      VDSO_DUMP 0 7f\n\
                      VDSO_DUMP_END\n";
        let summary = summarize(output);
        assert_eq!(summary.passed, 2);
        assert_eq!(
            summary.failed,
            vec!["TEST_FAIL files_lseek: line 3: lseek == -1"]
        );
        assert_eq!(summary.skipped, vec!["TEST_SKIP vdso_musl_walk: no vDSO"]);
        assert_eq!(summary.stray_lines, 2);
    }

    #[test]
    fn rebuild_only_when_missing_or_older_than_an_input() {
        let earlier = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let later = SystemTime::UNIX_EPOCH + Duration::from_secs(200);
        assert!(needs_rebuild(None, earlier));
        assert!(needs_rebuild(Some(earlier), later));
        assert!(!needs_rebuild(Some(later), earlier));
        assert!(!needs_rebuild(Some(later), later));
    }

    #[test]
    fn binfmt_script_registers_with_fix_binary_flag() {
        let script = binfmt_script(Path::new("/usr/bin/qemu-aarch64-static"));
        assert!(script.contains(":/usr/bin/qemu-aarch64-static:F'"));
        assert!(script.contains(r"\xb7\x00:"));
        assert!(script.ends_with("exec \"$@\"\n"));
    }
}
