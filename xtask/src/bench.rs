//! `cargo xtask bench`: the kernel benchmarks (the `bench-kernel` root task on this
//! system) and the static musl benchmark programs (`tests/bench/*.c`, on Debian's arm64
//! Linux kernel and on this system's process server, the same binaries and the same
//! `/init`), each booted under the same QEMU machine with `-icount shift=0,sleep=off`, so
//! every figure is guest instructions. A third boot of this system runs the exec benchmark
//! with `option vdso-reload-per-exec` (every exec reads, checks and copies `/vdso.so`) to
//! show what the vDSO preload saves; the process server reports its vDSO mapping step.
//! Each system boots twice; the two runs must agree within 1%. Prints one table and writes
//! `target/bench/results.json` and `target/bench/results.svg`.
//!
//! Guests report on the console, one line per result:
//! `BENCH <name> <instructions per operation> <iterations>`, `BENCH_FAIL <name>: <why>`,
//! `BENCH_BOOT <instructions from reset to the first user instruction>`,
//! `BENCH_PROGRAM_FAIL <program>: <why>` and finally `BENCH_DONE`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::images::{build_image, build_image_with_archive, ImageSpec, LogLevel};
use crate::qemu::{self, Console, Debugger, LineVerdict, Timing};
use crate::workspace::Workspace;

/// The root task that benchmarks the kernel.
pub const BENCH_KERNEL_PACKAGE: &str = "bench-kernel";
/// The benchmark programs' sources, relative to the workspace root.
pub const PROGRAMS_DIRECTORY: &str = "tests/bench";
/// How many times each system boots; the runs must agree within [`REPEATABILITY_LIMIT`].
pub const RUNS: usize = 2;
/// Largest relative difference between runs, in percent, that counts as the same figure.
pub const REPEATABILITY_LIMIT: f64 = 1.0;
/// The Linux command line: quiet, a panic (init dying) ends the run at once, and no address
/// space randomisation: with it, how many page-table pages a process needs changes from
/// boot to boot and fork + exit + wait varied by 7% between runs (with it off, 0.01%).
pub const LINUX_COMMAND_LINE: &str = "console=ttyAMA0 quiet panic=-1 nokaslr norandmaps";

const LINUX_TIMEOUT: Duration = Duration::from_secs(600);
const KERNEL_TIMEOUT: Duration = Duration::from_secs(180);
const PROGRAMS_HERE_TIMEOUT: Duration = Duration::from_secs(600);
/// The root task that runs the programs here.
const PROCESS_SERVER_PACKAGE: &str = "root-task";
/// The image (and archive) names of the two boots of the process server.
const PROGRAMS_IMAGE: &str = "bench-programs";
const VDSO_RELOAD_IMAGE: &str = "bench-programs-vdso-reload";
/// The process-server option of the second boot, and what that boot runs.
const VDSO_RELOAD_OPTION: &str = "vdso-reload-per-exec";
const VDSO_RELOAD_PROGRAMS: &str = "exec clock";
/// The process-server option every bench boot of it gets: print the server's own `BENCH`
/// figures (`vdso_map_at_exec_*`), which ordinary boots leave out.
const BENCH_REPORT_OPTION: &str = "bench-report";
/// The results of that boot that make rows (with [`VDSO_RELOAD_SUFFIX`]): the exec cycle,
/// and a clock read through the vDSO copy each exec made, which must cost what the
/// preloaded one does (the other clock figures would repeat the first boot's).
const VDSO_RELOAD_KEPT: &[&str] = &["fork_execve_exit_wait", "clock_gettime_monotonic_libc"];
/// Its results are renamed with this suffix (`fork_execve_exit_wait_vdso_reload`), except
/// the server's own `vdso_map_at_exec_*` lines, whose names already say the mode.
const VDSO_RELOAD_SUFFIX: &str = "_vdso_reload";
/// The process server's line when init exits: the run is over (QEMU powers off next).
const INIT_EXITED: &str = "sel4-linux: init exited with status";
/// How long to keep reading after `BENCH_DONE` or a panic line while QEMU shuts down.
const DONE_GRACE: Duration = Duration::from_secs(10);
/// Why program rows have no figure on this system (only when no run of it was made).
const NO_PROCESS_SERVER: &str = "the benchmark programs did not run on this system";
const NO_LINUX_COUNTERPART: &str = "an seL4 kernel primitive; Linux has no counterpart";
const SERVER_ONLY: &str = "measured in this system's process server; Linux has no counterpart";

/// Which part of the suite a benchmark belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Measured by the `bench-kernel` root task on this system's kernel.
    Kernel,
    /// A static musl program from `tests/bench`, run on Linux and on this system.
    Program,
    /// Instructions from reset to the first user instruction.
    Boot,
    /// Measured on this system's process server only (its vDSO options and internals).
    Server,
}

impl Group {
    fn as_str(self) -> &'static str {
        match self {
            Self::Kernel => "kernel",
            Self::Program => "program",
            Self::Boot => "boot",
            Self::Server => "server",
        }
    }
}

/// One row of the table, known in advance so a missing result shows as `n/a`.
#[derive(Debug, Clone, Copy)]
pub struct Benchmark {
    pub name: &'static str,
    pub group: Group,
    pub description: &'static str,
    /// Real seL4 16.0.0 (release, fastpath) under the same QEMU and icount, from
    /// ../shared/SEL4-ABI.md.
    pub sel4_reference: Option<f64>,
}

const fn kernel(name: &'static str, description: &'static str, sel4: Option<f64>) -> Benchmark {
    Benchmark {
        name,
        group: Group::Kernel,
        description,
        sel4_reference: sel4,
    }
}

const fn program(name: &'static str, description: &'static str) -> Benchmark {
    Benchmark {
        name,
        group: Group::Program,
        description,
        sel4_reference: None,
    }
}

const fn server(name: &'static str, description: &'static str) -> Benchmark {
    Benchmark {
        name,
        group: Group::Server,
        description,
        sel4_reference: None,
    }
}

/// The name of the boot row (from `BENCH_BOOT` lines).
pub const BOOT_ROW: &str = "boot_to_first_user_instruction";
/// The boot row of the bench-kernel root task (this system's first user instruction).
pub const ROOT_TASK_BOOT_ROW: &str = "boot_to_root_task";

/// Every benchmark in table order. A result whose name is not here still appears, after
/// these rows, so a new benchmark needs no change to xtask.
pub const CATALOGUE: &[Benchmark] = &[
    kernel(
        "ipc_call_replyrecv_cross_vspace",
        "Call + ReplyRecv round trip, 1 word, server in another VSpace",
        Some(540.0),
    ),
    kernel(
        "ipc_call_replyrecv_same_vspace",
        "Call + ReplyRecv round trip, 1 word, server in the same VSpace",
        Some(540.0),
    ),
    kernel(
        "ipc_call_replyrecv_5_words",
        "Call + ReplyRecv round trip, 5 words, server in another VSpace",
        Some(1528.0),
    ),
    kernel(
        "fault_unknown_syscall",
        "UnknownSyscall fault round trip, handler replies with ReplyRecv (13 words)",
        Some(1377.0),
    ),
    kernel(
        "fault_linux_syscall",
        "the same with the LINUX_SYSCALL TCB flag (number in x8)",
        None,
    ),
    kernel(
        "fault_vm_restart",
        "VMFault round trip: the handler answers with ReplyRecv (label 0) mapping nothing, \
         so the restarted store faults again",
        None,
    ),
    kernel(
        "fault_vm_round_trip",
        "first touch of a page: VMFault, the handler PageMaps a pre-retyped frame there \
         and ReplyRecv restarts the store (1,000 pages)",
        None,
    ),
    kernel("yield", "Yield with no other runnable thread", Some(311.0)),
    kernel(
        "page_map_unmap",
        "ARMPageMap + ARMPageUnmap of a 4 KiB frame",
        Some(1085.0),
    ),
    kernel(
        "untyped_retype_frame",
        "UntypedRetype of one 4 KiB frame",
        Some(1186.0),
    ),
    program("getpid", "getpid system call round trip"),
    program(
        "clock_gettime_monotonic_libc",
        "clock_gettime(CLOCK_MONOTONIC) through musl (vDSO when mapped)",
    ),
    program(
        "clock_gettime_monotonic_syscall",
        "clock_gettime(CLOCK_MONOTONIC) through the raw syscall",
    ),
    program(
        "clock_gettime_realtime_libc",
        "clock_gettime(CLOCK_REALTIME) through musl (vDSO when mapped)",
    ),
    program(
        "clock_gettime_realtime_syscall",
        "clock_gettime(CLOCK_REALTIME) through the raw syscall",
    ),
    program("gettimeofday", "gettimeofday through musl"),
    program("time", "time through musl"),
    program("fork_exit_wait", "fork, child exits, parent waits"),
    program(
        "fork_execve_exit_wait",
        "fork, child execs a tiny static program that exits, parent waits",
    ),
    program(
        "soak_fork_execve_exit_wait",
        "fork_execve_exit_wait 10,000 times; on this system fails if any /proc/meminfo \
         Sel4* counter or MemFree differs from its value after a warm-up cycle",
    ),
    program(
        "pipe_pingpong",
        "one-byte round trip between two processes over two pipes",
    ),
    program(
        "anonymous_page_first_touch",
        "first write to a fresh anonymous 4 KiB page (one page fault)",
    ),
    program("mmap_munmap", "mmap + munmap of 4 KiB of anonymous memory"),
    program("file_write_4k", "pwrite of 4 KiB to a file in /tmp"),
    program("file_read_4k", "pread of 4 KiB from a file in /tmp"),
    server(
        "fork_execve_exit_wait_vdso_reload",
        "fork_execve_exit_wait with option vdso-reload-per-exec (no preload)",
    ),
    server(
        "clock_gettime_monotonic_libc_vdso_reload",
        "clock_gettime_monotonic_libc through the vDSO copy an exec made",
    ),
    server(
        "vdso_map_at_exec_preloaded",
        "process server: map vvar + preloaded vDSO frames into a new image",
    ),
    server(
        "vdso_map_at_exec_reloaded",
        "process server: read, check, copy and map /vdso.so at exec",
    ),
    Benchmark {
        name: BOOT_ROW,
        group: Group::Boot,
        description: "reset to the first instruction of /init (the first Linux program)",
        sel4_reference: None,
    },
    Benchmark {
        name: ROOT_TASK_BOOT_ROW,
        group: Group::Boot,
        description: "reset to the first instruction of the root task (bench-kernel)",
        sel4_reference: None,
    },
];

/// A figure, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// Instructions per operation: the mean of the runs, and each run's figure.
    Measured {
        value: f64,
        runs: Vec<f64>,
    },
    Missing {
        reason: String,
    },
}

impl Figure {
    pub fn value(&self) -> Option<f64> {
        match self {
            Self::Measured { value, .. } => Some(*value),
            Self::Missing { .. } => None,
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub group: Group,
    pub description: String,
    pub here: Figure,
    pub linux: Figure,
    pub sel4_reference: Option<f64>,
}

impl Row {
    /// Instructions here per instruction on Linux.
    pub fn ratio(&self) -> Option<f64> {
        match (self.here.value(), self.linux.value()) {
            (Some(here), Some(linux)) if linux > 0.0 => Some(here / linux),
            _ => None,
        }
    }
}

/// Two runs of one figure that differ by more than the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub system: &'static str,
    pub name: String,
    pub percent: f64,
}

/// What `cargo xtask bench` measured and wrote.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub rows: Vec<Row>,
    /// The Debian package the Linux kernel came from (`name version`).
    pub linux_package: String,
    /// The largest difference between two runs of the same figure, in percent.
    pub largest_difference: f64,
    pub disagreements: Vec<Disagreement>,
    /// Boots that did not reach `BENCH_DONE`, with what happened.
    pub incomplete_boots: Vec<String>,
    pub json_path: PathBuf,
    pub svg_path: PathBuf,
    pub elapsed: Duration,
}

impl BenchReport {
    /// Every boot finished and every figure repeated within the limit.
    pub fn passed(&self) -> bool {
        self.disagreements.is_empty() && self.incomplete_boots.is_empty()
    }
}

/// Runs the whole benchmark: builds, boots Linux and this system twice each, prints the
/// table and writes the JSON and SVG files.
///
/// # Errors
/// A build, download or QEMU start fails, or a result file cannot be written. Failed or
/// missing benchmarks are not errors: they appear as `n/a` with their reason.
pub fn run(workspace_root: &Path) -> Result<BenchReport, String> {
    let started = Instant::now();
    let workspace = Workspace::locate().map_err(|error| error.to_string())?;
    let bench_directory = workspace.target_dir.join("bench");
    let configuration = qemu::load_config(&workspace).map_err(|error| error.to_string())?;

    println!("bench: build the benchmark programs ({PROGRAMS_DIRECTORY}/*.c)");
    let programs = build_programs(
        &workspace_root.join(PROGRAMS_DIRECTORY),
        &bench_directory.join("programs"),
    )?;

    let linux = obtain_linux_kernel(&bench_directory.join("linux"))?;
    println!(
        "bench: Linux kernel {} ({})",
        linux.package,
        linux.image.display()
    );
    let initramfs = bench_directory.join("linux").join("initramfs.cpio");
    write_initramfs(&programs, &initramfs)?;
    println!("bench: initramfs {}", initramfs.display());

    println!("bench: build the bench-kernel image");
    let image = build_image(
        &workspace,
        &ImageSpec {
            name: BENCH_KERNEL_PACKAGE,
            root_task_package: BENCH_KERNEL_PACKAGE,
            kernel_log: Some(LogLevel::Error),
        },
    )
    .map_err(|error| error.to_string())?;

    let vdso = crate::vdso::build(workspace_root)?;
    let mut server_images = Vec::new();
    for (name, options, environment) in [
        (PROGRAMS_IMAGE, Vec::new(), Vec::new()),
        (
            VDSO_RELOAD_IMAGE,
            vec![VDSO_RELOAD_OPTION.to_owned()],
            vec![format!("BENCH_PROGRAMS={VDSO_RELOAD_PROGRAMS}")],
        ),
    ] {
        let archive = bench_directory.join(format!("{name}.cpio"));
        write_server_archive(&programs, &vdso, options, environment, &archive)?;
        println!(
            "bench: build the {name} image (process server, {})",
            archive.display()
        );
        let image = build_image_with_archive(
            &workspace,
            &ImageSpec {
                name,
                root_task_package: PROCESS_SERVER_PACKAGE,
                kernel_log: Some(LogLevel::Error),
            },
            Some(&archive),
        )
        .map_err(|error| error.to_string())?;
        server_images.push((name, image));
    }

    let mut incomplete_boots = Vec::new();
    let mut linux_runs = Vec::new();
    let mut kernel_runs = Vec::new();
    let mut programs_here: Vec<RunResults> = Vec::new();
    for run_index in 1..=RUNS {
        let mut boot = qemu::boot_arguments(
            Console::Captured,
            Debugger::None,
            Timing::InstructionCount,
            &linux.image,
        );
        boot.extend([
            "-initrd".to_owned(),
            initramfs.display().to_string(),
            "-append".to_owned(),
            LINUX_COMMAND_LINE.to_owned(),
            "-no-reboot".to_owned(),
        ]);
        let log = bench_directory.join(format!("linux-run{run_index}.log"));
        let results = boot_and_collect(
            &format!("Linux run {run_index}"),
            &configuration,
            &boot,
            LINUX_TIMEOUT,
            &log,
        )?;
        if let Some(problem) = &results.incomplete {
            incomplete_boots.push(format!("Linux run {run_index}: {problem}"));
        }
        linux_runs.push(results);

        let boot = qemu::boot_arguments(
            Console::Captured,
            Debugger::None,
            Timing::InstructionCount,
            &image.path,
        );
        let log = bench_directory.join(format!("bench-kernel-run{run_index}.log"));
        let results = boot_and_collect(
            &format!("bench-kernel run {run_index}"),
            &configuration,
            &boot,
            KERNEL_TIMEOUT,
            &log,
        )?;
        if let Some(problem) = &results.incomplete {
            incomplete_boots.push(format!("bench-kernel run {run_index}: {problem}"));
        }
        kernel_runs.push(results);

        // The same /init and /bench programs on the process server, then the exec
        // benchmark again without the vDSO preload; one row set per run.
        let mut combined = RunResults::default();
        for (name, image) in &server_images {
            let boot = qemu::boot_arguments(
                Console::Captured,
                Debugger::None,
                Timing::InstructionCount,
                &image.path,
            );
            let log = bench_directory.join(format!("{name}-run{run_index}.log"));
            let results = boot_and_collect(
                &format!("{name} run {run_index}"),
                &configuration,
                &boot,
                PROGRAMS_HERE_TIMEOUT,
                &log,
            )?;
            if let Some(problem) = &results.incomplete {
                incomplete_boots.push(format!("{name} run {run_index}: {problem}"));
            }
            if *name == VDSO_RELOAD_IMAGE {
                let mut results = results;
                let kept = |name: &String| {
                    VDSO_RELOAD_KEPT.contains(&name.as_str())
                        || name.starts_with("vdso_map_at_exec_")
                };
                results.figures.retain(|name, _| kept(name));
                results.failures.retain(|name, _| kept(name));
                combined.absorb_renamed(results, VDSO_RELOAD_SUFFIX);
            } else {
                combined.absorb_renamed(results, "");
            }
        }
        programs_here.push(combined);
    }
    let rows = assemble_rows(&Runs {
        kernel: &kernel_runs,
        programs_here: &programs_here,
        linux: &linux_runs,
    });
    let mut disagreements = Vec::new();
    let mut largest_difference = 0.0f64;
    for (system, runs) in [
        ("here (kernel)", &kernel_runs),
        ("here (programs)", &programs_here),
        ("Linux", &linux_runs),
    ] {
        for (name, percent) in run_differences(runs) {
            largest_difference = largest_difference.max(percent);
            if percent > REPEATABILITY_LIMIT {
                disagreements.push(Disagreement {
                    system,
                    name,
                    percent,
                });
            }
        }
    }

    let json_path = bench_directory.join("results.json");
    let svg_path = bench_directory.join("results.svg");
    let report = BenchReport {
        rows,
        linux_package: linux.package,
        largest_difference,
        disagreements,
        incomplete_boots,
        json_path: json_path.clone(),
        svg_path: svg_path.clone(),
        elapsed: started.elapsed(),
    };
    write_file(&json_path, render_json(&report, &configuration).as_bytes())?;
    write_file(&svg_path, render_svg(&report.rows).as_bytes())?;
    print!("{}", render_table(&report));
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// The benchmark programs

/// Compiles every `*.c` in `source_directory` into a static aarch64 musl executable of the
/// same name in `output_directory`, as ../shared/TOOLCHAIN.md shows.
fn build_programs(
    source_directory: &Path,
    output_directory: &Path,
) -> Result<Vec<PathBuf>, String> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(source_directory)
        .map_err(|error| format!("reading {}: {error}", source_directory.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "c"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(format!("no *.c in {}", source_directory.display()));
    }
    std::fs::create_dir_all(output_directory)
        .map_err(|error| format!("creating {}: {error}", output_directory.display()))?;
    let resource_directory = tool_output("clang", &["-print-resource-dir"])?;
    let libgcc = tool_output("aarch64-linux-gnu-gcc", &["-print-libgcc-file-name"])?;
    let musl = Path::new(MUSL_LIBRARY_DIRECTORY);
    let mut outputs = Vec::new();
    for source in sources {
        let stem = source
            .file_stem()
            .and_then(|stem| stem.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", source.display()))?;
        let output = output_directory.join(stem);
        let result = Command::new("clang")
            .args(["--target=aarch64-linux-musl", "-nostdinc", "-isystem"])
            .arg(MUSL_INCLUDE_DIRECTORY)
            .arg("-isystem")
            .arg(Path::new(&resource_directory).join("include"))
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
            .arg(&source)
            .arg(musl.join("libc.a"))
            .arg(&libgcc)
            .arg(musl.join("crtn.o"))
            .arg("-o")
            .arg(&output)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("running clang: {error}"))?;
        if !result.status.success() {
            return Err(format!(
                "clang failed on {}:\n{}",
                source.display(),
                String::from_utf8_lossy(&result.stderr).trim_end()
            ));
        }
        outputs.push(output);
    }
    Ok(outputs)
}

const MUSL_LIBRARY_DIRECTORY: &str = "/usr/lib/aarch64-linux-musl";
const MUSL_INCLUDE_DIRECTORY: &str = "/usr/include/aarch64-linux-musl";

/// The trimmed standard output of a tool that prints one path.
fn tool_output(program: &str, arguments: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running {program}: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || text.is_empty() {
        return Err(format!(
            "{program} {} failed: {}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------
// Debian's arm64 kernel

/// The Linux kernel image booted for comparison.
#[derive(Debug, Clone)]
pub struct LinuxKernel {
    /// An uncompressed arm64 `Image`.
    pub image: PathBuf,
    /// `<package> <version>`.
    pub package: String,
}

/// Where the arm64 `Image` header keeps its magic number, and the magic ("ARM\x64").
const ARM64_IMAGE_MAGIC_OFFSET: usize = 0x38;
const ARM64_IMAGE_MAGIC: [u8; 4] = *b"ARM\x64";
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// How many of the newest kernel packages to try before giving up.
const PACKAGE_ATTEMPTS: usize = 3;

/// Returns the cached kernel in `cache`, or downloads Debian's newest
/// `linux-image-*-arm64-unsigned` package and extracts its `Image` there.
fn obtain_linux_kernel(cache: &Path) -> Result<LinuxKernel, String> {
    let image = cache.join("Image");
    let package_file = cache.join("package");
    if let (Ok(bytes), Ok(package)) = (
        std::fs::read(&image),
        std::fs::read_to_string(&package_file),
    ) {
        if is_arm64_image(&bytes) && !package.trim().is_empty() {
            return Ok(LinuxKernel {
                image,
                package: package.trim().to_owned(),
            });
        }
    }
    std::fs::create_dir_all(cache)
        .map_err(|error| format!("creating {}: {error}", cache.display()))?;
    let search = Command::new("apt-cache")
        .args([
            "search",
            "--names-only",
            r"^linux-image-[0-9.]+-[0-9]+-arm64-unsigned$",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running apt-cache: {error}"))?;
    let listing = String::from_utf8_lossy(&search.stdout);
    let candidates = newest_kernel_packages(&listing);
    if candidates.is_empty() {
        return Err(String::from(
            "apt-cache lists no linux-image-*-arm64-unsigned package: run `dpkg \
             --add-architecture arm64 && apt-get update` (cargo xtask setup does)",
        ));
    }
    let mut failures = Vec::new();
    for name in candidates.iter().take(PACKAGE_ATTEMPTS) {
        println!("bench: apt-get download {name}:arm64");
        match download_and_extract(cache, name) {
            Ok(package) => {
                write_file(&package_file, format!("{package}\n").as_bytes())?;
                return Ok(LinuxKernel { image, package });
            }
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    Err(format!(
        "could not obtain a Linux kernel:\n  {}",
        failures.join("\n  ")
    ))
}

/// Package names from `apt-cache search` output, newest kernel ABI first.
fn newest_kernel_packages(listing: &str) -> Vec<String> {
    let mut names: Vec<(Vec<u64>, String)> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|name| {
            let version = name
                .strip_prefix("linux-image-")?
                .strip_suffix("-arm64-unsigned")?;
            let numbers: Option<Vec<u64>> = version
                .split(['.', '-'])
                .map(|part| part.parse().ok())
                .collect();
            Some((numbers?, name.to_owned()))
        })
        .collect();
    names.sort();
    names.dedup();
    names.into_iter().rev().map(|(_, name)| name).collect()
}

/// Downloads `name` for arm64 into `cache`, extracts `boot/vmlinuz-*` as `cache/Image`
/// (decompressing it if it is gzip) and returns `<name> <version>`.
fn download_and_extract(cache: &Path, name: &str) -> Result<String, String> {
    for stale in deb_files(cache, name)? {
        let _ = std::fs::remove_file(stale);
    }
    let download = Command::new("apt-get")
        .args(["download", &format!("{name}:arm64")])
        .current_dir(cache)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running apt-get: {error}"))?;
    if !download.status.success() {
        return Err(format!(
            "apt-get download failed: {}",
            String::from_utf8_lossy(&download.stderr).trim()
        ));
    }
    let deb = deb_files(cache, name)?
        .into_iter()
        .next()
        .ok_or("apt-get download left no .deb")?;
    let version = Command::new("dpkg-deb")
        .args(["--field"])
        .arg(&deb)
        .arg("Version")
        .output()
        .map_err(|error| format!("running dpkg-deb: {error}"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();

    // Extract only boot/ (the package's modules are hundreds of megabytes).
    let extract = cache.join("extract");
    let _ = std::fs::remove_dir_all(&extract);
    std::fs::create_dir_all(&extract)
        .map_err(|error| format!("creating {}: {error}", extract.display()))?;
    let mut archive = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("running dpkg-deb: {error}"))?;
    let tar_input = archive
        .stdout
        .take()
        .ok_or("dpkg-deb's output was not captured")?;
    let tar = Command::new("tar")
        .args(["-x", "-f", "-", "-C"])
        .arg(&extract)
        .args(["--wildcards", "./boot/vmlinuz-*"])
        .stdin(Stdio::from(tar_input))
        .output()
        .map_err(|error| format!("running tar: {error}"))?;
    let archive_status = archive
        .wait()
        .map_err(|error| format!("waiting for dpkg-deb: {error}"))?;
    if !tar.status.success() || !archive_status.success() {
        return Err(format!(
            "extracting boot/vmlinuz-* from {} failed: {}",
            deb.display(),
            String::from_utf8_lossy(&tar.stderr).trim()
        ));
    }
    let boot = extract.join("boot");
    let vmlinuz = std::fs::read_dir(&boot)
        .map_err(|error| format!("reading {}: {error}", boot.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            path.file_name()
                .and_then(|file| file.to_str())
                .is_some_and(|file| file.starts_with("vmlinuz-"))
        })
        .ok_or("the package has no boot/vmlinuz-*")?;
    let mut bytes = std::fs::read(&vmlinuz)
        .map_err(|error| format!("reading {}: {error}", vmlinuz.display()))?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let gunzip = Command::new("gzip")
            .arg("-dc")
            .arg(&vmlinuz)
            .output()
            .map_err(|error| format!("running gzip: {error}"))?;
        if !gunzip.status.success() {
            return Err(format!(
                "{} is gzip but does not decompress",
                vmlinuz.display()
            ));
        }
        bytes = gunzip.stdout;
    }
    if !is_arm64_image(&bytes) {
        return Err(format!(
            "{} is not an arm64 Image (no ARM\\x64 magic at {ARM64_IMAGE_MAGIC_OFFSET:#x})",
            vmlinuz.display()
        ));
    }
    write_file(&cache.join("Image"), &bytes)?;
    let _ = std::fs::remove_dir_all(&extract);
    let _ = std::fs::remove_file(&deb);
    Ok(format!("{name} {version}"))
}

/// The `.deb` files of package `name` in `directory`.
fn deb_files(directory: &Path, name: &str) -> Result<Vec<PathBuf>, String> {
    let prefix = format!("{name}_");
    Ok(std::fs::read_dir(directory)
        .map_err(|error| format!("reading {}: {error}", directory.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|file| file.to_str())
                .is_some_and(|file| file.starts_with(&prefix) && file.ends_with(".deb"))
        })
        .collect())
}

/// Whether `bytes` start with an arm64 Linux `Image` header.
pub fn is_arm64_image(bytes: &[u8]) -> bool {
    bytes.get(ARM64_IMAGE_MAGIC_OFFSET..ARM64_IMAGE_MAGIC_OFFSET + 4)
        == Some(&ARM64_IMAGE_MAGIC[..])
}

// ---------------------------------------------------------------------------------------
// The initramfs

/// Writes a newc cpio archive with `/init` (the program named `init`), every other program
/// under `/bench`, a `/dev/console` node and an empty `/tmp`.
fn write_initramfs(programs: &[PathBuf], path: &Path) -> Result<(), String> {
    let mut archive = CpioWriter::new();
    archive.directory("dev", 0o755);
    archive.character_device("dev/console", 0o600, 5, 1);
    archive.directory("tmp", 0o1777);
    archive.directory("bench", 0o755);
    let mut has_init = false;
    for program in programs {
        let name = program
            .file_name()
            .and_then(|file| file.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", program.display()))?;
        let bytes = std::fs::read(program)
            .map_err(|error| format!("reading {}: {error}", program.display()))?;
        if name == "init" {
            has_init = true;
            archive.file("init", 0o755, &bytes);
        } else {
            archive.file(&format!("bench/{name}"), 0o755, &bytes);
        }
    }
    if !has_init {
        return Err(format!("{PROGRAMS_DIRECTORY} has no init.c"));
    }
    write_file(path, &archive.finish())
}

/// Writes the boot archive of the process server: the same `/init` and `/bench/*` as the
/// initramfs, `/vdso.so`, and a boot configuration running `/init` with `options` (and
/// [`BENCH_REPORT_OPTION`]) and `environment` (the server adds `/dev/console`, `/tmp` and
/// `/proc` itself).
fn write_server_archive(
    programs: &[PathBuf],
    vdso: &Path,
    mut options: Vec<String>,
    environment: Vec<String>,
    path: &Path,
) -> Result<(), String> {
    options.push(BENCH_REPORT_OPTION.to_owned());
    let mut files = vec![(String::from("vdso.so"), vdso.to_path_buf())];
    for program in programs {
        let name = program
            .file_name()
            .and_then(|file| file.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", program.display()))?;
        let in_archive = if name == "init" {
            String::from("init")
        } else {
            format!("bench/{name}")
        };
        files.push((in_archive, program.clone()));
    }
    let mut environment_with_home = vec![String::from("HOME=/")];
    environment_with_home.extend(environment);
    crate::rootfs::pack(
        &crate::rootfs::ArchiveSpec {
            tree: None,
            files,
            arguments: vec![String::from("/init")],
            environment: environment_with_home,
            options,
        },
        path,
    )
}

/// A newc (`070701`) cpio archive builder, as the Linux initramfs loader reads it.
/// Timestamps and owners are zero so the archive depends only on its contents.
#[derive(Debug, Default)]
pub struct CpioWriter {
    bytes: Vec<u8>,
    next_inode: u32,
}

const CPIO_MODE_DIRECTORY: u32 = 0o040_000;
const CPIO_MODE_FILE: u32 = 0o100_000;
const CPIO_MODE_CHARACTER_DEVICE: u32 = 0o020_000;

impl CpioWriter {
    pub fn new() -> Self {
        Self {
            bytes: Vec::new(),
            next_inode: 1,
        }
    }

    pub fn directory(&mut self, name: &str, permissions: u32) {
        self.entry(name, CPIO_MODE_DIRECTORY | permissions, 2, (0, 0), &[]);
    }

    pub fn file(&mut self, name: &str, permissions: u32, contents: &[u8]) {
        self.entry(name, CPIO_MODE_FILE | permissions, 1, (0, 0), contents);
    }

    pub fn character_device(&mut self, name: &str, permissions: u32, major: u32, minor: u32) {
        self.entry(
            name,
            CPIO_MODE_CHARACTER_DEVICE | permissions,
            1,
            (major, minor),
            &[],
        );
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.header("TRAILER!!!", 0, 0, 1, (0, 0), 0);
        self.bytes.extend_from_slice(b"TRAILER!!!\0");
        self.pad();
        self.bytes
    }

    fn entry(&mut self, name: &str, mode: u32, links: u32, device: (u32, u32), contents: &[u8]) {
        let inode = self.next_inode;
        self.next_inode += 1;
        // newc sizes are 32-bit; the programs archived here are far smaller.
        let size = u32::try_from(contents.len()).unwrap_or(u32::MAX);
        self.header(name, inode, mode, links, device, size);
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(contents);
        self.pad();
    }

    fn header(
        &mut self,
        name: &str,
        inode: u32,
        mode: u32,
        links: u32,
        device: (u32, u32),
        size: u32,
    ) {
        let name_size = u32::try_from(name.len() + 1).unwrap_or(u32::MAX);
        let fields = [
            inode, mode, 0, 0, links, 0, size, 0, 0, device.0, device.1, name_size, 0,
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
    }

    /// Pads to a multiple of four bytes (header plus name, and data, are each aligned).
    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Booting and reading results

/// What one boot reported.
#[derive(Debug, Default, Clone)]
pub struct RunResults {
    /// Instructions per operation by benchmark name.
    pub figures: BTreeMap<String, f64>,
    /// Why a benchmark failed, by name (`BENCH_FAIL`, or a program's failure).
    pub failures: BTreeMap<String, String>,
    /// Programs that did not exit 0, with why.
    pub program_failures: Vec<String>,
    /// `BENCH_BOOT`.
    pub boot: Option<f64>,
    /// Whether the run printed `BENCH_DONE`.
    pub done: bool,
    /// What went wrong when the run ended early (a panic line, a timeout).
    pub incomplete: Option<String>,
}

/// A console line as the guests print it.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultLine<'a> {
    Figure { name: &'a str, value: f64 },
    Failure { name: &'a str, why: &'a str },
    ProgramFailure { program: &'a str, why: &'a str },
    Boot { instructions: f64 },
    Done,
}

/// Parses one console line; the marker may follow other text (a log prefix, `\r`).
pub fn parse_line(line: &str) -> Option<ResultLine<'_>> {
    if let Some(rest) = after_marker(line, "BENCH_FAIL ") {
        let (name, why) = rest.split_once(':').unwrap_or((rest, ""));
        return Some(ResultLine::Failure {
            name: name.trim(),
            why: why.trim(),
        });
    }
    if let Some(rest) = after_marker(line, "BENCH_PROGRAM_FAIL ") {
        let (program, why) = rest.split_once(':').unwrap_or((rest, ""));
        return Some(ResultLine::ProgramFailure {
            program: program.trim(),
            why: why.trim(),
        });
    }
    if let Some(rest) = after_marker(line, "BENCH_BOOT ") {
        let instructions = rest.split_whitespace().next()?.parse::<f64>().ok()?;
        return instructions
            .is_finite()
            .then_some(ResultLine::Boot { instructions });
    }
    if after_marker(line, "BENCH_DONE").is_some() {
        return Some(ResultLine::Done);
    }
    let rest = after_marker(line, "BENCH ")?;
    let mut words = rest.split_whitespace();
    let name = words.next()?;
    let value = words.next()?.parse::<f64>().ok()?;
    let _iterations: u64 = words.next()?.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(ResultLine::Figure { name, value })
}

/// The text after `marker` where it starts the line or follows whitespace.
fn after_marker<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let mut search_from = 0;
    while let Some(offset) = line[search_from..].find(marker) {
        let start = search_from + offset;
        let boundary = line[..start]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        if boundary {
            return Some(&line[start + marker.len()..]);
        }
        search_from = start + marker.len();
    }
    None
}

/// Console lines that mean the guest died.
const PANIC_MARKERS: &[&str] = &[
    "Kernel panic",
    "KERNEL PANIC:",
    "ROOT TASK PANIC:",
    "LOADER PANIC:",
];

impl RunResults {
    /// Adds the results of another boot, each name (but the process server's own
    /// `vdso_map_at_exec_*`) with `suffix` appended; its boot figure is not taken.
    pub fn absorb_renamed(&mut self, other: RunResults, suffix: &str) {
        let rename = |name: String| {
            if name.starts_with("vdso_map_at_exec_") {
                name
            } else {
                name + suffix
            }
        };
        for (name, value) in other.figures {
            self.figures.insert(rename(name), value);
        }
        for (name, why) in other.failures {
            self.failures.insert(rename(name), why);
        }
        self.program_failures.extend(other.program_failures);
        if self.boot.is_none() {
            self.boot = other.boot;
        }
        self.done = self.done || other.done;
        if self.incomplete.is_none() {
            self.incomplete = other.incomplete;
        }
    }

    /// Takes one console line; says whether the boot is over.
    pub fn observe(&mut self, line: &str) -> LineVerdict {
        if PANIC_MARKERS.iter().any(|marker| line.contains(marker)) {
            self.incomplete
                .get_or_insert_with(|| line.trim().to_owned());
            return LineVerdict::StopAfter(DONE_GRACE);
        }
        match parse_line(line) {
            Some(ResultLine::Figure { name, value }) => {
                self.figures.insert(name.to_owned(), value);
            }
            Some(ResultLine::Failure { name, why }) => {
                self.failures.insert(name.to_owned(), why.to_owned());
            }
            Some(ResultLine::ProgramFailure { program, why }) => {
                self.program_failures.push(format!("{program}: {why}"));
            }
            Some(ResultLine::Boot { instructions }) => self.boot = Some(instructions),
            Some(ResultLine::Done) => {
                self.done = true;
                return LineVerdict::StopAfter(DONE_GRACE);
            }
            None if line.contains(INIT_EXITED) => {
                if !self.done {
                    self.incomplete
                        .get_or_insert_with(|| line.trim().to_owned());
                }
                return LineVerdict::StopAfter(DONE_GRACE);
            }
            None => {}
        }
        LineVerdict::Continue
    }
}

/// Boots once with the console captured, saves the console to `log` and returns what
/// the guest reported.
fn boot_and_collect(
    what: &str,
    configuration: &[String],
    boot: &[String],
    timeout: Duration,
    log: &Path,
) -> Result<RunResults, String> {
    println!("bench: boot {what}");
    let mut results = RunResults::default();
    let captured = qemu::run_captured(configuration, boot, timeout, |line| results.observe(line))
        .map_err(|error| error.to_string())?;
    write_file(log, &captured.console)?;
    if !results.done && results.incomplete.is_none() {
        let mut problem = format!("no BENCH_DONE ({:?})", captured.ending);
        let stderr = captured.qemu_stderr.trim();
        if !stderr.is_empty() {
            let _ = write!(problem, "; QEMU: {stderr}");
        }
        results.incomplete = Some(problem);
    }
    println!(
        "bench: {what}: {} results, {} failed, {:.1} s (console {})",
        results.figures.len(),
        results.failures.len(),
        captured.elapsed.as_secs_f64(),
        log.display()
    );
    Ok(results)
}

// ---------------------------------------------------------------------------------------
// Assembling the report

/// The figure for `name` across `runs`, or why there is none.
fn figure(runs: &[RunResults], name: &str, boot_row: bool, missing: &str) -> Figure {
    let values: Vec<f64> = runs
        .iter()
        .filter_map(|run| {
            if boot_row {
                run.boot
            } else {
                run.figures.get(name).copied()
            }
        })
        .collect();
    if !values.is_empty() && values.len() == runs.len() {
        let value = values.iter().sum::<f64>() / values.len() as f64;
        return Figure::Measured {
            value,
            runs: values,
        };
    }
    let reason = runs
        .iter()
        .find_map(|run| run.failures.get(name).cloned())
        .or_else(|| (!values.is_empty()).then(|| String::from("measured in only some of the runs")))
        .or_else(|| {
            runs.iter()
                .find_map(|run| run.program_failures.first().cloned())
                .map(|failure| format!("no result; a program failed ({failure})"))
        })
        .or_else(|| runs.iter().find_map(|run| run.incomplete.clone()))
        .unwrap_or_else(|| missing.to_owned());
    Figure::Missing { reason }
}

/// The runs of each system a row draws on. `programs_here` is empty until this system can
/// run the benchmark programs.
#[derive(Debug, Clone, Copy)]
pub struct Runs<'a> {
    pub kernel: &'a [RunResults],
    pub programs_here: &'a [RunResults],
    pub linux: &'a [RunResults],
}

fn program_figure_here(runs: &Runs<'_>, name: &str, boot: bool) -> Figure {
    if runs.programs_here.is_empty() {
        Figure::Missing {
            reason: NO_PROCESS_SERVER.to_owned(),
        }
    } else {
        figure(runs.programs_here, name, boot, "no result line")
    }
}

fn assemble_rows(runs: &Runs<'_>) -> Vec<Row> {
    let mut rows: Vec<Row> = CATALOGUE
        .iter()
        .map(|benchmark| {
            let (here, linux) = match benchmark.group {
                Group::Kernel => (
                    figure(
                        runs.kernel,
                        benchmark.name,
                        false,
                        "bench-kernel printed no result",
                    ),
                    Figure::Missing {
                        reason: NO_LINUX_COUNTERPART.to_owned(),
                    },
                ),
                Group::Program => (
                    program_figure_here(runs, benchmark.name, false),
                    figure(runs.linux, benchmark.name, false, "no result line"),
                ),
                Group::Server => (
                    program_figure_here(runs, benchmark.name, false),
                    Figure::Missing {
                        reason: SERVER_ONLY.to_owned(),
                    },
                ),
                // The root task's first instruction: the bench-kernel run.
                Group::Boot if benchmark.name == ROOT_TASK_BOOT_ROW => (
                    figure(runs.kernel, benchmark.name, true, "no BENCH_BOOT line"),
                    Figure::Missing {
                        reason: NO_LINUX_COUNTERPART.to_owned(),
                    },
                ),
                // The first user program: /init on both systems.
                Group::Boot => (
                    program_figure_here(runs, benchmark.name, true),
                    figure(runs.linux, benchmark.name, true, "no BENCH_BOOT line"),
                ),
            };
            Row {
                name: benchmark.name.to_owned(),
                group: benchmark.group,
                description: benchmark.description.to_owned(),
                here,
                linux,
                sel4_reference: benchmark.sel4_reference,
            }
        })
        .collect();
    // Results the catalogue does not know yet, so new benchmarks show up unasked.
    let known = |name: &str| CATALOGUE.iter().any(|benchmark| benchmark.name == name);
    let mut extra: Vec<(&str, Group)> = Vec::new();
    for (group_runs, group) in [
        (runs.kernel, Group::Kernel),
        (runs.programs_here, Group::Program),
        (runs.linux, Group::Program),
    ] {
        for run in group_runs {
            for name in run.figures.keys().chain(run.failures.keys()) {
                if !known(name) && !extra.iter().any(|(seen, _)| seen == name) {
                    extra.push((name, group));
                }
            }
        }
    }
    for (name, group) in extra {
        let (here, linux) = match group {
            Group::Kernel => (
                figure(runs.kernel, name, false, "no result line"),
                Figure::Missing {
                    reason: NO_LINUX_COUNTERPART.to_owned(),
                },
            ),
            _ => (
                program_figure_here(runs, name, false),
                figure(runs.linux, name, false, "no result line"),
            ),
        };
        rows.push(Row {
            name: name.to_owned(),
            group,
            description: String::from("(not in xtask's catalogue)"),
            here,
            linux,
            sel4_reference: None,
        });
    }
    rows
}

/// For each figure measured in more than one run, the largest relative difference between
/// runs, in percent of the smaller.
fn run_differences(runs: &[RunResults]) -> Vec<(String, f64)> {
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (name, value) in &run.figures {
            series.entry(name.clone()).or_default().push(*value);
        }
        if let Some(boot) = run.boot {
            series.entry(BOOT_ROW.to_owned()).or_default().push(boot);
        }
    }
    series
        .into_iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|(name, values)| (name, spread_percent(&values)))
        .collect()
}

/// `(max - min) / min` in percent; 0 for fewer than two values or a zero minimum.
pub fn spread_percent(values: &[f64]) -> f64 {
    let minimum = values.iter().copied().fold(f64::INFINITY, f64::min);
    let maximum = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.len() < 2 || minimum <= 0.0 {
        return 0.0;
    }
    (maximum - minimum) / minimum * 100.0
}

// ---------------------------------------------------------------------------------------
// Output: table, JSON, SVG

/// A figure for the table: whole instructions, `n/a[k]` with a footnote for a missing one.
fn table_cell(figure: &Figure, notes: &mut Vec<String>) -> String {
    match figure {
        Figure::Measured { value, .. } => format_instructions(*value),
        Figure::Missing { reason } => {
            let index = match notes.iter().position(|note| note == reason) {
                Some(index) => index,
                None => {
                    notes.push(reason.clone());
                    notes.len() - 1
                }
            };
            format!("n/a[{}]", index + 1)
        }
    }
}

/// An instruction count with thousands separators (`1,528`; `56.3` below 100).
pub fn format_instructions(value: f64) -> String {
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value);
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A ratio with about three significant digits (`2.13`, `0.0041`).
pub fn format_ratio(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.1}")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.4}")
    }
}

fn render_table(report: &BenchReport) -> String {
    let mut notes: Vec<String> = Vec::new();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\ninstructions per operation (QEMU -icount shift=0,sleep=off; mean of {RUNS} runs)"
    );
    let _ = writeln!(
        text,
        "{:<40} {:>12} {:>12} {:>9} {:>9}",
        "benchmark", "here", "Linux", "here/Lx", "seL4"
    );
    for row in &report.rows {
        let here = table_cell(&row.here, &mut notes);
        let linux = table_cell(&row.linux, &mut notes);
        let ratio = row.ratio().map_or_else(|| String::from("-"), format_ratio);
        let sel4 = row
            .sel4_reference
            .map_or_else(|| String::from("-"), format_instructions);
        let _ = writeln!(
            text,
            "{:<40} {here:>12} {linux:>12} {ratio:>9} {sel4:>9}",
            row.name
        );
    }
    for (index, note) in notes.iter().enumerate() {
        let _ = writeln!(text, "[{}] {note}", index + 1);
    }
    let _ = writeln!(
        text,
        "seL4: real seL4 16.0.0 (release, fastpath) under the same QEMU, from SEL4-ABI.md"
    );
    let _ = writeln!(text, "Linux: {}", report.linux_package);
    let _ = writeln!(
        text,
        "repeatability: largest difference between runs {:.3}% (limit {REPEATABILITY_LIMIT}%)",
        report.largest_difference
    );
    for disagreement in &report.disagreements {
        let _ = writeln!(
            text,
            "  NOT REPEATABLE: {} {} differs by {:.2}%",
            disagreement.system, disagreement.name, disagreement.percent
        );
    }
    for boot in &report.incomplete_boots {
        let _ = writeln!(text, "  INCOMPLETE BOOT: {boot}");
    }
    let _ = writeln!(
        text,
        "results {} and {} ({:.0} s)",
        report.json_path.display(),
        report.svg_path.display(),
        report.elapsed.as_secs_f64()
    );
    text
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                let _ = write!(quoted, "\\u{:04x}", control as u32);
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// A JSON number (finite; one decimal is all icount figures carry).
fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1}")
    } else {
        String::from("null")
    }
}

fn json_figure(figure: &Figure) -> String {
    match figure {
        Figure::Measured { value, runs } => {
            let runs: Vec<String> = runs.iter().map(|run| json_number(*run)).collect();
            format!(
                "{{\"value\": {}, \"runs\": [{}]}}",
                json_number(*value),
                runs.join(", ")
            )
        }
        Figure::Missing { reason } => {
            format!("{{\"value\": null, \"reason\": {}}}", json_string(reason))
        }
    }
}

fn render_json(report: &BenchReport, configuration: &[String]) -> String {
    let mut json = String::from("{\n");
    let _ = writeln!(json, "  \"command\": \"cargo xtask bench\",");
    let _ = writeln!(
        json,
        "  \"unit\": \"guest instructions per operation (QEMU -icount shift=0,sleep=off)\","
    );
    let arguments: Vec<String> = configuration.iter().map(|word| json_string(word)).collect();
    let _ = writeln!(json, "  \"qemu_machine\": [{}],", arguments.join(", "));
    let _ = writeln!(
        json,
        "  \"linux_kernel\": {},",
        json_string(&report.linux_package)
    );
    let _ = writeln!(
        json,
        "  \"linux_command_line\": {},",
        json_string(LINUX_COMMAND_LINE)
    );
    let _ = writeln!(json, "  \"runs\": {RUNS},");
    let _ = writeln!(json, "  \"repeatability\": {{");
    let _ = writeln!(json, "    \"limit_percent\": {REPEATABILITY_LIMIT:.1},");
    let _ = writeln!(
        json,
        "    \"largest_difference_percent\": {:.3},",
        report.largest_difference
    );
    let disagreements: Vec<String> = report
        .disagreements
        .iter()
        .map(|disagreement| {
            format!(
                "{{\"system\": {}, \"name\": {}, \"percent\": {:.3}}}",
                json_string(disagreement.system),
                json_string(&disagreement.name),
                disagreement.percent
            )
        })
        .collect();
    let _ = writeln!(
        json,
        "    \"disagreements\": [{}]",
        disagreements.join(", ")
    );
    let _ = writeln!(json, "  }},");
    let incomplete: Vec<String> = report
        .incomplete_boots
        .iter()
        .map(|boot| json_string(boot))
        .collect();
    let _ = writeln!(json, "  \"incomplete_boots\": [{}],", incomplete.join(", "));
    let _ = writeln!(json, "  \"benchmarks\": [");
    for (index, row) in report.rows.iter().enumerate() {
        let ratio = row
            .ratio()
            .map_or_else(|| String::from("null"), |ratio| format!("{ratio:.3}"));
        let sel4 = row
            .sel4_reference
            .map_or_else(|| String::from("null"), json_number);
        let separator = if index + 1 == report.rows.len() {
            ""
        } else {
            ","
        };
        let _ = writeln!(
            json,
            "    {{\"name\": {}, \"group\": {}, \"description\": {}, \"here\": {}, \
             \"linux\": {}, \"ratio_here_to_linux\": {ratio}, \"sel4_reference\": {sel4}}}{separator}",
            json_string(&row.name),
            json_string(row.group.as_str()),
            json_string(&row.description),
            json_figure(&row.here),
            json_figure(&row.linux),
        );
    }
    let _ = writeln!(json, "  ]");
    json.push_str("}\n");
    json
}

/// Escapes text for SVG.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const SVG_HERE_COLOUR: &str = "#1f77b4";
const SVG_LINUX_COLOUR: &str = "#ff7f0e";

/// A horizontal grouped bar chart on a log scale: per benchmark, a bar for this system and
/// one for Linux; a missing figure is written as `n/a`. The boot row is left out (its
/// scale is millions of times the others).
pub fn render_svg(rows: &[Row]) -> String {
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|row| row.group != Group::Boot)
        .filter(|row| row.here.value().is_some() || row.linux.value().is_some())
        .collect();
    let values: Vec<f64> = rows
        .iter()
        .flat_map(|row| [row.here.value(), row.linux.value()])
        .flatten()
        .filter(|value| *value > 0.0)
        .collect();
    let low_decade = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor()
        .min(1.0);
    let high_decade = values
        .iter()
        .copied()
        .fold(1.0f64, f64::max)
        .log10()
        .ceil()
        .max(low_decade + 1.0);
    let (label_width, plot_width, bar_height, group_gap, top) = (270.0, 560.0, 11.0, 8.0, 50.0);
    let row_height = 2.0 * bar_height + group_gap;
    let height = top + rows.len() as f64 * row_height + 40.0;
    let width = label_width + plot_width + 90.0;
    let x_of = |value: f64| {
        label_width + (value.log10() - low_decade) / (high_decade - low_decade) * plot_width
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(
        svg,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"18\" \
         font-size=\"14\">Instructions per operation (QEMU icount, log scale)</text>"
    );
    let _ = writeln!(
        svg,
        "<rect x=\"{label_width}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{SVG_HERE_COLOUR}\"/>\
         <text x=\"{:.0}\" y=\"37\">this system</text>\
         <rect x=\"{:.0}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{SVG_LINUX_COLOUR}\"/>\
         <text x=\"{:.0}\" y=\"37\">Linux</text>",
        label_width + 14.0,
        label_width + 100.0,
        label_width + 114.0
    );
    let mut decade = low_decade;
    while decade <= high_decade {
        let x = label_width + (decade - low_decade) / (high_decade - low_decade) * plot_width;
        let bottom = height - 30.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 14.0,
            axis_label(10f64.powf(decade))
        );
        decade += 1.0;
    }
    for (index, row) in rows.iter().enumerate() {
        let y = top + index as f64 * row_height;
        let _ = writeln!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_width - 6.0,
            y + bar_height + 4.0,
            xml_text(&row.name)
        );
        for (offset, figure, colour) in [
            (0.0, &row.here, SVG_HERE_COLOUR),
            (bar_height, &row.linux, SVG_LINUX_COLOUR),
        ] {
            let bar_y = y + offset;
            match figure.value().filter(|value| *value > 0.0) {
                Some(value) => {
                    let end = x_of(value).max(label_width + 1.0);
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{label_width}\" y=\"{bar_y:.1}\" width=\"{:.1}\" \
                         height=\"{:.1}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                        end - label_width,
                        bar_height - 1.0,
                        end + 3.0,
                        bar_y + bar_height - 2.0,
                        format_instructions(value)
                    );
                }
                None => {
                    let _ = writeln!(
                        svg,
                        "<text x=\"{:.0}\" y=\"{:.1}\" fill=\"{colour}\">n/a</text>",
                        label_width + 3.0,
                        bar_y + bar_height - 2.0
                    );
                }
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// A decade on the chart's axis: whole numbers with thousands separators.
fn axis_label(value: f64) -> String {
    if value < 100.0 {
        format!("{value:.0}")
    } else {
        format_instructions(value)
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("creating {}: {error}", directory.display()))?;
    }
    std::fs::write(path, bytes).map_err(|error| format!("writing {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_parse_with_and_without_prefixes() {
        assert_eq!(
            parse_line("BENCH getpid 725.3 10000"),
            Some(ResultLine::Figure {
                name: "getpid",
                value: 725.3
            })
        );
        assert_eq!(
            parse_line("[   1.0] x BENCH yield 311 10000\r"),
            Some(ResultLine::Figure {
                name: "yield",
                value: 311.0
            })
        );
        assert_eq!(
            parse_line("BENCH_FAIL ipc_call_replyrecv_5_words: retype: IllegalOperation"),
            Some(ResultLine::Failure {
                name: "ipc_call_replyrecv_5_words",
                why: "retype: IllegalOperation"
            })
        );
        assert_eq!(
            parse_line("BENCH_PROGRAM_FAIL exec: exit status 1"),
            Some(ResultLine::ProgramFailure {
                program: "exec",
                why: "exit status 1"
            })
        );
        assert_eq!(
            parse_line("BENCH_BOOT 1234567"),
            Some(ResultLine::Boot {
                instructions: 1_234_567.0
            })
        );
        assert_eq!(parse_line("BENCH_DONE"), Some(ResultLine::Done));
        // Malformed or embedded markers are not results.
        for line in [
            "BENCH getpid",
            "BENCH getpid fast 10",
            "BENCH getpid 12 many",
            "BENCH getpid -3 10",
            "XBENCH getpid 1 1",
            "BENCH_BOOT soon",
            "booting",
        ] {
            assert_eq!(parse_line(line), None, "{line}");
        }
    }

    #[test]
    fn a_run_stops_after_done_or_a_panic() {
        let mut run = RunResults::default();
        assert_eq!(
            run.observe("BENCH yield 300.5 10000"),
            LineVerdict::Continue
        );
        assert_eq!(
            run.observe("BENCH_FAIL page_map_unmap: no"),
            LineVerdict::Continue
        );
        assert_eq!(
            run.observe("BENCH_DONE"),
            LineVerdict::StopAfter(DONE_GRACE)
        );
        assert!(run.done);
        assert_eq!(run.figures.get("yield"), Some(&300.5));
        assert_eq!(
            run.failures.get("page_map_unmap").map(String::as_str),
            Some("no")
        );
        let mut run = RunResults::default();
        assert_eq!(
            run.observe("Kernel panic - not syncing: Attempted to kill init!"),
            LineVerdict::StopAfter(DONE_GRACE)
        );
        assert!(run.incomplete.is_some());
        // The process server's init exiting ends a run; before BENCH_DONE it is a failure.
        let mut run = RunResults::default();
        assert_eq!(
            run.observe("sel4-linux: init exited with status 139"),
            LineVerdict::StopAfter(DONE_GRACE)
        );
        assert_eq!(
            run.incomplete.as_deref(),
            Some("sel4-linux: init exited with status 139")
        );
        let mut run = RunResults::default();
        run.observe("BENCH_DONE");
        run.observe("sel4-linux: init exited with status 0");
        assert_eq!(
            run.observe("INFO  vDSO: BENCH vdso_map_at_exec_preloaded 2210.4 102"),
            LineVerdict::Continue
        );
        assert!(run.incomplete.is_none());
        assert_eq!(run.figures.get("vdso_map_at_exec_preloaded"), Some(&2210.4));
    }

    #[test]
    fn a_second_boot_adds_renamed_results() {
        let mut combined = run_with(&[("fork_execve_exit_wait", 200.0)], Some(10.0));
        let mut reload = run_with(
            &[
                ("fork_execve_exit_wait", 300.0),
                ("vdso_map_at_exec_reloaded", 50.0),
            ],
            Some(20.0),
        );
        reload.failures.insert("other".into(), "ENOSYS".into());
        combined.absorb_renamed(reload, VDSO_RELOAD_SUFFIX);
        assert_eq!(combined.figures.get("fork_execve_exit_wait"), Some(&200.0));
        assert_eq!(
            combined.figures.get("fork_execve_exit_wait_vdso_reload"),
            Some(&300.0)
        );
        assert_eq!(
            combined.figures.get("vdso_map_at_exec_reloaded"),
            Some(&50.0)
        );
        assert_eq!(
            combined
                .failures
                .get("other_vdso_reload")
                .map(String::as_str),
            Some("ENOSYS")
        );
        assert_eq!(combined.boot, Some(10.0));
        let rows = assemble_rows(&Runs {
            kernel: &[],
            programs_here: &[combined],
            linux: &[],
        });
        let row = rows
            .iter()
            .find(|row| row.name == "fork_execve_exit_wait_vdso_reload")
            .unwrap();
        assert_eq!(row.group, Group::Server);
        assert_eq!(row.here.value(), Some(300.0));
        assert_eq!(
            row.linux,
            Figure::Missing {
                reason: SERVER_ONLY.into()
            }
        );
    }

    fn run_with(figures: &[(&str, f64)], boot: Option<f64>) -> RunResults {
        RunResults {
            figures: figures
                .iter()
                .map(|(name, value)| ((*name).to_owned(), *value))
                .collect(),
            boot,
            done: true,
            ..RunResults::default()
        }
    }

    #[test]
    fn rows_average_runs_and_explain_what_is_missing() {
        let mut failing = run_with(&[("yield", 300.0)], Some(1000.0));
        failing.failures.insert(
            "ipc_call_replyrecv_cross_vspace".into(),
            "retype: IllegalOperation".into(),
        );
        let kernel_runs = vec![failing.clone(), {
            let mut second = failing;
            second.figures.insert("yield".into(), 302.0);
            second
        }];
        let linux_runs = vec![
            run_with(&[("getpid", 700.0), ("brand_new", 5.0)], Some(9e8)),
            run_with(&[("getpid", 710.0), ("brand_new", 5.0)], Some(9e8)),
        ];
        let rows = assemble_rows(&Runs {
            kernel: &kernel_runs,
            programs_here: &[],
            linux: &linux_runs,
        });
        let row = |name: &str| rows.iter().find(|row| row.name == name).unwrap();
        assert_eq!(
            row("yield").here,
            Figure::Measured {
                value: 301.0,
                runs: vec![300.0, 302.0]
            }
        );
        assert_eq!(row("yield").sel4_reference, Some(311.0));
        assert_eq!(
            row("ipc_call_replyrecv_cross_vspace").here,
            Figure::Missing {
                reason: "retype: IllegalOperation".into()
            }
        );
        assert_eq!(row("getpid").linux.value(), Some(705.0));
        assert_eq!(
            row("getpid").here,
            Figure::Missing {
                reason: NO_PROCESS_SERVER.into()
            }
        );
        assert_eq!(row("getpid").ratio(), None);
        assert_eq!(row("mmap_munmap").linux.value(), None);
        assert_eq!(row(BOOT_ROW).linux.value(), Some(9e8));
        // Without program runs here, /init's boot has no figure; the root task's has.
        assert_eq!(row(BOOT_ROW).here.value(), None);
        assert_eq!(row(ROOT_TASK_BOOT_ROW).here.value(), Some(1000.0));
        assert_eq!(row(ROOT_TASK_BOOT_ROW).linux.value(), None);
        assert_eq!(row("brand_new").linux.value(), Some(5.0));
        let differences = run_differences(&linux_runs);
        let getpid = differences
            .iter()
            .find(|(name, _)| name == "getpid")
            .unwrap();
        assert!((getpid.1 - 10.0 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn program_runs_here_fill_the_program_and_boot_rows() {
        let programs_here = vec![run_with(&[("getpid", 1400.0)], Some(5e6))];
        let linux = vec![run_with(&[("getpid", 700.0)], Some(9e8))];
        let kernel = vec![run_with(&[("yield", 300.0)], Some(1000.0))];
        let rows = assemble_rows(&Runs {
            kernel: &kernel,
            programs_here: &programs_here,
            linux: &linux,
        });
        let row = |name: &str| rows.iter().find(|row| row.name == name).unwrap();
        assert_eq!(row("getpid").ratio(), Some(2.0));
        assert_eq!(row(BOOT_ROW).here.value(), Some(5e6));
        assert_eq!(
            row("mmap_munmap").here,
            Figure::Missing {
                reason: "no result line".into()
            }
        );
        assert_eq!(axis_label(10.0), "10");
        assert_eq!(axis_label(10_000.0), "10,000");
    }

    #[test]
    fn a_ratio_needs_both_figures() {
        let row = Row {
            name: "getpid".into(),
            group: Group::Program,
            description: String::new(),
            here: Figure::Measured {
                value: 1450.0,
                runs: vec![1450.0],
            },
            linux: Figure::Measured {
                value: 725.0,
                runs: vec![725.0],
            },
            sel4_reference: None,
        };
        assert_eq!(row.ratio(), Some(2.0));
    }

    #[test]
    fn spreads_and_numbers_format() {
        assert_eq!(spread_percent(&[100.0, 101.0]), 1.0);
        assert_eq!(spread_percent(&[100.0]), 0.0);
        assert_eq!(format_instructions(1528.4), "1,528");
        assert_eq!(format_instructions(1_234_567.0), "1,234,567");
        assert_eq!(format_instructions(540.0), "540");
        assert_eq!(format_instructions(56.25), "56.2");
        assert_eq!(format_ratio(2.126), "2.13");
        assert_eq!(format_ratio(0.004_098), "0.0041");
        assert_eq!(format_ratio(12.34), "12.3");
        assert_eq!(json_string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn newest_kernel_package_comes_first() {
        let listing = "\
linux-image-6.1.0-9-arm64-unsigned - Linux 6.1 for 64-bit ARMv8 machines
linux-image-6.1.0-56-arm64-unsigned - Linux 6.1 for 64-bit ARMv8 machines
linux-image-6.1.0-10-arm64-unsigned - Linux 6.1 for 64-bit ARMv8 machines
linux-image-arm64-unsigned - not a versioned package
";
        assert_eq!(
            newest_kernel_packages(listing),
            vec![
                "linux-image-6.1.0-56-arm64-unsigned",
                "linux-image-6.1.0-10-arm64-unsigned",
                "linux-image-6.1.0-9-arm64-unsigned",
            ]
        );
    }

    #[test]
    fn arm64_images_are_recognised_by_their_magic() {
        let mut image = vec![0u8; 64];
        assert!(!is_arm64_image(&image));
        image[0x38..0x3c].copy_from_slice(b"ARM\x64");
        assert!(is_arm64_image(&image));
        assert!(!is_arm64_image(&image[..0x3a]));
    }

    #[test]
    fn cpio_entries_are_newc_and_four_byte_aligned() {
        let mut archive = CpioWriter::new();
        archive.directory("dev", 0o755);
        archive.character_device("dev/console", 0o600, 5, 1);
        archive.file("init", 0o755, b"hello");
        let bytes = archive.finish();
        assert!(bytes.len().is_multiple_of(4));
        // First header: inode 1, directory mode, nlink 2, name "dev" (size 4).
        let header = std::str::from_utf8(&bytes[..110]).unwrap();
        assert_eq!(&header[..6], "070701");
        let field = |header: &str, index: usize| {
            u32::from_str_radix(&header[6 + index * 8..14 + index * 8], 16).unwrap()
        };
        assert_eq!(field(header, 0), 1);
        assert_eq!(field(header, 1), 0o040_755);
        assert_eq!(field(header, 4), 2);
        assert_eq!(field(header, 11), 4);
        assert_eq!(&bytes[110..114], b"dev\0");
        // 110 + 4 = 114, padded to 116: the console's header follows.
        let console = std::str::from_utf8(&bytes[116..226]).unwrap();
        assert_eq!(&console[..6], "070701");
        assert_eq!(field(console, 1), 0o020_600);
        assert_eq!((field(console, 9), field(console, 10)), (5, 1));
        // The file's data follows its padded name, and the archive ends with the trailer.
        let init = bytes
            .windows(6)
            .position(|window| window == b"hello\0")
            .unwrap();
        assert!(init.is_multiple_of(4));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("init\0"));
        assert!(text.trim_end_matches('\0').ends_with("TRAILER!!!"));
    }

    #[test]
    fn server_archives_ask_for_the_servers_bench_figures() {
        let directory =
            std::env::temp_dir().join(format!("xtask-bench-archive-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let (init, vdso, archive) = (
            directory.join("init"),
            directory.join("vdso.so"),
            directory.join("server.cpio"),
        );
        std::fs::write(&init, b"init").unwrap();
        std::fs::write(&vdso, b"vdso").unwrap();
        write_server_archive(
            &[init],
            &vdso,
            vec![VDSO_RELOAD_OPTION.to_owned()],
            Vec::new(),
            &archive,
        )
        .unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(&archive).unwrap()).into_owned();
        std::fs::remove_dir_all(&directory).unwrap();
        assert!(text.contains("option vdso-reload-per-exec\noption bench-report\n"));
    }

    #[test]
    fn the_chart_labels_every_plotted_benchmark() {
        let rows = vec![
            Row {
                name: "getpid".into(),
                group: Group::Program,
                description: String::new(),
                here: Figure::Missing {
                    reason: "later".into(),
                },
                linux: Figure::Measured {
                    value: 725.0,
                    runs: vec![725.0],
                },
                sel4_reference: None,
            },
            Row {
                name: "yield<x>".into(),
                group: Group::Kernel,
                description: String::new(),
                here: Figure::Measured {
                    value: 311.0,
                    runs: vec![311.0],
                },
                linux: Figure::Missing {
                    reason: "none".into(),
                },
                sel4_reference: Some(311.0),
            },
        ];
        let svg = render_svg(&rows);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(">getpid<"));
        assert!(svg.contains("yield&lt;x&gt;"));
        assert!(svg.contains(">725<"));
        assert_eq!(svg.matches(">n/a<").count(), 2);
    }
}
