//! `cargo xtask`: the project's build, run and test driver. This file parses the command
//! line and dispatches; each command lives in its own module.

mod bench;
mod cargo;
mod console_dump;
mod error;
mod fuzz;
mod guest_files;
mod harness;
mod host_tests;
mod images;
mod junit;
mod lint;
mod programs;
mod qemu;
mod results;
mod rootfs;
mod setup;
mod vdso;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use error::{Error, Result};
use images::{ImageSpec, LogLevel, DEFAULT_ROOT_TASK};
use lint::FormatMode;
use qemu::{Console, Debugger, Timing};
use results::{Suite, Totals};
use workspace::Workspace;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [--gdb] [--kernel-log LEVEL] [--root DIR] [-- PROGRAM [ARGS...]]
        build the default image and boot it on this terminal (Ctrl-A X quits QEMU)
        --gdb             QEMU waits for gdb on :1234; prints the gdb-multiarch command
        --kernel-log L    kernel log level: off, error, warn, info, debug, trace
        --root DIR        DIR's tree becomes the file system (default: rootfs/)
        PROGRAM [ARGS]    run PROGRAM as the first process: a host file (copied in as
                          /bin/<name>) or a path in the tree; exits with its status
                          (128+signal if killed). Without it, the tree's /init runs.
  test [--host-only | --system-only] [--kernel-log LEVEL] [--verbose] [FILTER]
        host unit tests and QEMU system tests; ends with `N passed, N failed`
        FILTER            host results whose full name contains it; system tests whose
                          name contains it (or that FILTER names as `<test>::...`)
        --verbose         copy each system test's console to the terminal
  clippy                clippy with warnings denied, host and aarch64 crates
  fmt [--check]         cargo fmt --all
  setup                 check (and as root, install) the host tools run and test need
  bench                 benchmarks here and on Linux under QEMU icount (instructions per
                        operation); writes target/bench/results.json and results.svg
  fuzz TARGET [--seconds N]
                        fuzz one host target (default 60 s); crashes go to target/fuzz/crashes/
  fuzz --list           list the fuzz targets
  programs-check        build the C test programs and run them under qemu-aarch64-static
                        (Linux semantics), to validate the tests themselves
  vdso                  build target/vdso/vdso.so and check it (fails on any violation)
  vdso-check FILE       check a vDSO image against every property the libcs rely on
";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&arguments).and_then(dispatch);
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, Error::Usage(_)) {
                eprint!("\n{USAGE}");
            }
            error.exit_code()
        }
    }
}

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(RunOptions),
    Test(TestOptions),
    Clippy,
    Fmt(FormatMode),
    Setup,
    ProgramsCheck,
    Bench,
    Fuzz { target: String, seconds: u64 },
    FuzzList,
    Vdso,
    VdsoCheck(PathBuf),
    Help,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct RunOptions {
    debugger: Debugger,
    kernel_log: Option<LogLevel>,
    /// A directory to serve as the root file system (a later feature).
    root_directory: Option<PathBuf>,
    /// A program and its arguments to run at boot (a later feature).
    program: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
struct TestOptions {
    selection: Selection,
    kernel_log: Option<LogLevel>,
    echo: harness::Echo,
    filter: Option<String>,
}

/// Which kinds of tests `cargo xtask test` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    All,
    HostOnly,
    SystemOnly,
}

impl Selection {
    fn host(self) -> bool {
        self != Self::SystemOnly
    }

    fn system(self) -> bool {
        self != Self::HostOnly
    }
}

fn parse(arguments: &[String]) -> Result<Command> {
    let Some((command, rest)) = arguments.split_first() else {
        return Ok(Command::Help);
    };
    match command.as_str() {
        "run" => parse_run(rest).map(Command::Run),
        "test" => parse_test(rest).map(Command::Test),
        "clippy" => no_options("clippy", rest).map(|()| Command::Clippy),
        "setup" => no_options("setup", rest).map(|()| Command::Setup),
        "bench" => no_options("bench", rest).map(|()| Command::Bench),
        "fuzz" => parse_fuzz(rest),
        "programs-check" => no_options("programs-check", rest).map(|()| Command::ProgramsCheck),
        "vdso" => no_options("vdso", rest).map(|()| Command::Vdso),
        "vdso-check" => match rest {
            [file] => Ok(Command::VdsoCheck(PathBuf::from(file))),
            _ => Err(Error::Usage("vdso-check takes one FILE".into())),
        },
        "fmt" => match rest {
            [] => Ok(Command::Fmt(FormatMode::Rewrite)),
            [check] if check == "--check" => Ok(Command::Fmt(FormatMode::Check)),
            _ => Err(Error::Usage(format!(
                "fmt takes only --check, got {rest:?}"
            ))),
        },
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(Error::Usage(format!("unknown command {other:?}"))),
    }
}

fn parse_fuzz(rest: &[String]) -> Result<Command> {
    match rest {
        [list] if list == "--list" => Ok(Command::FuzzList),
        [target] => Ok(Command::Fuzz {
            target: target.clone(),
            seconds: 60,
        }),
        [target, flag, seconds] if flag == "--seconds" => Ok(Command::Fuzz {
            target: target.clone(),
            seconds: seconds.parse().map_err(|_| {
                Error::Usage(format!("--seconds takes a whole number, got {seconds:?}"))
            })?,
        }),
        _ => Err(Error::Usage(
            "fuzz takes TARGET [--seconds N] or --list".into(),
        )),
    }
}

fn no_options(command: &str, rest: &[String]) -> Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(argument) => Err(Error::Usage(format!(
            "{command} takes no arguments, got {argument:?}"
        ))),
    }
}

/// Splits `--name=value` or takes the value from the next argument.
fn option_value<'a>(
    name: &str,
    argument: &'a str,
    rest: &mut impl Iterator<Item = &'a String>,
) -> Result<Option<&'a str>> {
    if argument == name {
        return rest
            .next()
            .map(|value| Some(value.as_str()))
            .ok_or_else(|| Error::Usage(format!("{name} needs a value")));
    }
    Ok(argument
        .strip_prefix(name)
        .and_then(|tail| tail.strip_prefix('=')))
}

fn parse_log_level(text: &str) -> Result<LogLevel> {
    LogLevel::parse(text).ok_or_else(|| {
        Error::Usage(format!(
            "unknown kernel log level {text:?} (expected one of {})",
            LogLevel::NAMES
        ))
    })
}

fn parse_run(arguments: &[String]) -> Result<RunOptions> {
    let mut options = RunOptions::default();
    let mut rest = arguments.iter();
    while let Some(argument) = rest.next() {
        if argument == "--" {
            options.program = rest.by_ref().cloned().collect();
            if options.program.is_empty() {
                return Err(Error::Usage("`--` must be followed by a program".into()));
            }
        } else if argument == "--gdb" {
            options.debugger = Debugger::WaitForGdb;
        } else if let Some(level) = option_value("--kernel-log", argument, &mut rest)? {
            options.kernel_log = Some(parse_log_level(level)?);
        } else if let Some(directory) = option_value("--root", argument, &mut rest)? {
            options.root_directory = Some(PathBuf::from(directory));
        } else {
            return Err(Error::Usage(format!(
                "run: unexpected argument {argument:?}"
            )));
        }
    }
    Ok(options)
}

fn parse_test(arguments: &[String]) -> Result<TestOptions> {
    let mut options = TestOptions {
        selection: Selection::All,
        kernel_log: None,
        echo: harness::Echo::Quiet,
        filter: None,
    };
    let mut rest = arguments.iter();
    while let Some(argument) = rest.next() {
        let choose = |options: &mut TestOptions, selection| {
            if options.selection != Selection::All && options.selection != selection {
                return Err(Error::Usage(
                    "--host-only and --system-only exclude each other".into(),
                ));
            }
            options.selection = selection;
            Ok(())
        };
        match argument.as_str() {
            "--host-only" => choose(&mut options, Selection::HostOnly)?,
            "--system-only" => choose(&mut options, Selection::SystemOnly)?,
            "--verbose" | "-v" => options.echo = harness::Echo::Console,
            _ => {
                if let Some(level) = option_value("--kernel-log", argument, &mut rest)? {
                    options.kernel_log = Some(parse_log_level(level)?);
                } else if argument.starts_with('-') {
                    return Err(Error::Usage(format!("test: unknown option {argument:?}")));
                } else if let Some(previous) = &options.filter {
                    return Err(Error::Usage(format!(
                        "test takes one filter, got {previous:?} and {argument:?}"
                    )));
                } else {
                    options.filter = Some(argument.clone());
                }
            }
        }
    }
    Ok(options)
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Setup => {
            setup::ensure(setup::BUILD_AND_BOOT)?;
            println!("setup: all host tools present");
            Ok(ExitCode::SUCCESS)
        }
        Command::Clippy => lint::clippy(&Workspace::locate()?).map(|()| ExitCode::SUCCESS),
        Command::Fmt(mode) => lint::fmt(&Workspace::locate()?, mode).map(|()| ExitCode::SUCCESS),
        Command::Run(options) => run(options),
        Command::Test(options) => test(options),
        Command::FuzzList => {
            for name in fuzz::list() {
                println!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fuzz { target, seconds } => {
            let root = Workspace::locate()?.root;
            if target == "vdso_check" {
                // The real image is the best seed.
                vdso::build(&root).map_err(Error::Failed)?;
            }
            fuzz::run(&root, &target, seconds).map_err(Error::Failed)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench => {
            setup::ensure(setup::BUILD_AND_BOOT)?;
            let report = bench::run(&Workspace::locate()?.root).map_err(Error::Failed)?;
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::ProgramsCheck => {
            let workspace = Workspace::locate()?;
            let out_dir = workspace.root.join("target").join("programs");
            let (lines, clean) =
                programs::check_on_host(&workspace.root, &out_dir).map_err(Error::Failed)?;
            for line in &lines {
                println!("{line}");
            }
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Vdso => {
            let image = vdso::build(&Workspace::locate()?.root).map_err(Error::Failed)?;
            println!("vdso {}", image.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::VdsoCheck(file) => Ok(ExitCode::from(
            u8::try_from(vdso::check_command(&file)).unwrap_or(1),
        )),
    }
}

/// `cargo xtask run`: build the default image with the boot archive (the tree, the
/// vDSO, the test programs, PROGRAM) and boot it on this terminal; exits with the first
/// process's status, read from the root task's `init exited` line.
fn run(options: RunOptions) -> Result<ExitCode> {
    let debugger = options.debugger;
    setup::ensure(setup::BUILD_AND_BOOT)?;
    if debugger == Debugger::WaitForGdb {
        setup::ensure(setup::DEBUGGER)?;
    }
    let workspace = Workspace::locate()?;
    if let Some(directory) = &options.root_directory {
        if !directory.is_dir() {
            return Err(Error::Usage(format!(
                "--root {}: not a directory",
                directory.display()
            )));
        }
    }
    let tree = options
        .root_directory
        .clone()
        .unwrap_or_else(|| workspace.root.join("rootfs"));
    let programs = workspace.root.join("target").join("programs");
    let userland = workspace.root.join("userland");
    let in_tree = |path: &str| {
        let relative = path.trim_start_matches('/');
        path.starts_with('/')
            && (tree.join(relative).exists()
                || matches!(relative, "init" | "vdso.so")
                || relative.strip_prefix("bin/").is_some_and(|name| {
                    programs.join(name).is_file() || userland.join(format!("{name}.c")).is_file()
                }))
    };
    let (extra, arguments) = run_program(&options.program, in_tree)?;
    let archive = rootfs::standard_archive(
        &workspace.root,
        DEFAULT_ROOT_TASK,
        options.root_directory.as_deref(),
        extra,
        arguments,
        Vec::new(),
        Vec::new(),
    )
    .map_err(Error::Failed)?;
    let image = images::build_image_with_archive(
        &workspace,
        &ImageSpec {
            name: DEFAULT_ROOT_TASK,
            root_task_package: DEFAULT_ROOT_TASK,
            kernel_log: options.kernel_log,
        },
        Some(&archive),
    )?;
    let configuration = qemu::load_config(&workspace)?;
    let boot = qemu::boot_arguments(
        Console::Interactive,
        debugger,
        Timing::HostClock,
        &image.path,
    );
    if debugger == Debugger::WaitForGdb {
        println!(
            "QEMU waits for gdb on :{}; in another terminal run:",
            qemu::GDB_PORT
        );
        println!("  {}", gdb_command(&image));
    }
    println!("qemu (Ctrl-A X quits)");
    if debugger == Debugger::WaitForGdb {
        // Under a debugger QEMU owns the terminal outright; no status is collected.
        return Err(qemu::exec_interactive(&configuration, &boot));
    }
    run_and_report(&configuration, &boot)
}

/// The files and argv for `run -- PROGRAM ARGS`: an absolute path the archive will hold
/// (`in_tree`) names that file; otherwise a host file is copied in as `/bin/<name>`.
fn run_program(
    program: &[String],
    in_tree: impl Fn(&str) -> bool,
) -> Result<(rootfs::ExtraFiles, Vec<String>)> {
    let Some((first, rest)) = program.split_first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let host = PathBuf::from(first);
    let mut arguments = Vec::with_capacity(program.len());
    let mut extra = Vec::new();
    if !in_tree(first) && host.is_file() {
        let name = host
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| Error::Usage(format!("{first}: no usable file name")))?;
        let guest = format!("/bin/{name}");
        extra.push((guest.clone(), host.clone()));
        arguments.push(guest);
    } else {
        if !first.starts_with('/') {
            return Err(Error::NotSupported(format!(
                "{first}: no such host file, and relative paths in the tree are not resolved (give /path)"
            )));
        }
        arguments.push(first.clone());
    }
    arguments.extend(rest.iter().cloned());
    Ok((extra, arguments))
}

/// Runs QEMU with the terminal as its console, copying its output through and exiting
/// with the status in the root task's `sel4-linux: init exited with status N` line (1 if
/// QEMU ends without one).
fn run_and_report(configuration: &[String], boot: &[String]) -> Result<ExitCode> {
    use std::io::{Read, Write};
    let mut child = std::process::Command::new(qemu::QEMU_PROGRAM)
        .args(configuration)
        .args(boot)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| Error::io(format!("starting {}", qemu::QEMU_PROGRAM), error))?;
    let mut status = None;
    if let Some(mut output) = child.stdout.take() {
        let mut terminal = std::io::stdout();
        let mut line = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let count = match output.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(count) => count,
            };
            let _ = terminal.write_all(&buffer[..count]);
            let _ = terminal.flush();
            for byte in &buffer[..count] {
                if *byte == b'\n' {
                    if let Some(code) = init_exit_status(&String::from_utf8_lossy(&line)) {
                        status = Some(code);
                    }
                    line.clear();
                } else if line.len() < 4096 {
                    line.push(*byte);
                }
            }
        }
    }
    let _ = child.wait();
    Ok(ExitCode::from(status.unwrap_or(1)))
}

/// The status in a `sel4-linux: init exited with status N` line.
fn init_exit_status(line: &str) -> Option<u8> {
    let rest = line.split("sel4-linux: init exited with status ").nth(1)?;
    rest.trim().parse().ok()
}

/// The gdb-multiarch command line that attaches with every component's symbols.
fn gdb_command(image: &images::Image) -> String {
    let commands = [
        format!("target remote :{}", qemu::GDB_PORT),
        format!("symbol-file {}", image.kernel_elf.display()),
        format!("add-symbol-file {}", image.root_task_elf.display()),
        format!("add-symbol-file {}", image.path.display()),
    ];
    let mut line = String::from("gdb-multiarch");
    for command in commands {
        line.push_str(" -ex ");
        line.push_str(&qemu::shell_quote(&command));
    }
    line
}

/// `cargo xtask test`.
fn test(options: TestOptions) -> Result<ExitCode> {
    let filter = options.filter.as_deref();
    let system_tests: Vec<harness::SystemTest> = if options.selection.system() {
        harness::SYSTEM_TESTS
            .iter()
            .copied()
            .filter(|test| filter.is_none_or(|filter| system_test_matches(test.name, filter)))
            .collect()
    } else {
        Vec::new()
    };
    if !system_tests.is_empty() {
        setup::ensure(setup::BUILD_AND_BOOT)?;
    }
    let workspace = Workspace::locate()?;
    let mut suites: Vec<Suite> = Vec::new();

    if options.selection.host() {
        println!("host tests: cargo test (default members)");
        let host = host_tests::run(&workspace, filter)?;
        let log_path = workspace.test_log_path("host");
        harness::write_file(&log_path, host.output.as_bytes())?;
        if host.compile_failed {
            eprintln!("{}", host.output.trim_end());
        }
        println!("log {}", workspace.display(&log_path));
        suites.extend(host.suites);
    }

    for test in system_tests {
        println!("system test {}", test.name);
        let suite = harness::run_system_test(&workspace, test, options.kernel_log, options.echo)?;
        results::print_suite(&suite);
        suites.push(suite);
    }

    let totals = Totals::of(&suites);
    if let Some(filter) = filter {
        if totals.passed + totals.failed + totals.skipped == 0 {
            return Err(Error::failed(format!("no test matches {filter:?}")));
        }
    }
    let report_path = workspace.test_report_path();
    harness::write_file(&report_path, junit::render(&suites).as_bytes())?;
    println!("report {}", workspace.display(&report_path));
    if totals.skipped > 0 {
        println!("{} skipped", totals.skipped);
    }
    println!("{totals}");
    Ok(if totals.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A system test runs when its name contains the filter or the filter names one of its
/// results (`boot::halted`).
fn system_test_matches(name: &str, filter: &str) -> bool {
    name.contains(filter)
        || filter
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with("::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn run_options() {
        assert_eq!(
            parse(&arguments("run")),
            Ok(Command::Run(RunOptions::default()))
        );
        assert_eq!(
            parse(&arguments(
                "run --gdb --kernel-log=DEBUG --root /srv/root -- /bin/sh -c x"
            )),
            Ok(Command::Run(RunOptions {
                debugger: Debugger::WaitForGdb,
                kernel_log: Some(LogLevel::Debug),
                root_directory: Some(PathBuf::from("/srv/root")),
                program: arguments("/bin/sh -c x"),
            }))
        );
        assert_eq!(
            parse(&arguments("run --kernel-log trace")),
            Ok(Command::Run(RunOptions {
                kernel_log: Some(LogLevel::Trace),
                ..RunOptions::default()
            }))
        );
        for bad in [
            "run --kernel-log",
            "run --kernel-log loud",
            "run --root",
            "run --",
            "run --frobnicate",
            "run stray",
        ] {
            assert!(
                matches!(parse(&arguments(bad)), Err(Error::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn test_options() {
        assert_eq!(
            parse(&arguments("test")),
            Ok(Command::Test(TestOptions {
                selection: Selection::All,
                kernel_log: None,
                echo: harness::Echo::Quiet,
                filter: None,
            }))
        );
        assert_eq!(
            parse(&arguments("test --system-only -v --kernel-log info boot")),
            Ok(Command::Test(TestOptions {
                selection: Selection::SystemOnly,
                kernel_log: Some(LogLevel::Info),
                echo: harness::Echo::Console,
                filter: Some("boot".into()),
            }))
        );
        for bad in [
            "test --host-only --system-only",
            "test a b",
            "test --unknown",
        ] {
            assert!(
                matches!(parse(&arguments(bad)), Err(Error::Usage(_))),
                "{bad}"
            );
        }
        assert!(parse(&arguments("test --host-only --host-only")).is_ok());
    }

    #[test]
    fn other_commands() {
        assert_eq!(parse(&[]), Ok(Command::Help));
        assert_eq!(parse(&arguments("clippy")), Ok(Command::Clippy));
        assert_eq!(
            parse(&arguments("fmt --check")),
            Ok(Command::Fmt(FormatMode::Check))
        );
        assert!(parse(&arguments("clippy --fix")).is_err());
        assert_eq!(parse(&arguments("bench")), Ok(Command::Bench));
    }

    #[test]
    fn the_init_exit_line_gives_the_status() {
        assert_eq!(
            init_exit_status("sel4-linux: init exited with status 0\r"),
            Some(0)
        );
        assert_eq!(
            init_exit_status("x sel4-linux: init exited with status 139"),
            Some(139)
        );
        assert_eq!(
            init_exit_status("sel4-linux: init exited with status 300"),
            None
        );
        assert_eq!(init_exit_status("init exited"), None);
    }

    #[test]
    fn run_programs_from_the_host_or_the_tree() {
        let nothing_in_tree = |_: &str| false;
        let (extra, argv) = run_program(&arguments("/bin/basic x y"), nothing_in_tree).unwrap();
        assert!(extra.is_empty());
        assert_eq!(argv, ["/bin/basic", "x", "y"]);
        let host = std::env::current_exe().unwrap();
        let name = host.file_name().unwrap().to_str().unwrap().to_owned();
        let (extra, argv) = run_program(&[host.display().to_string()], nothing_in_tree).unwrap();
        assert_eq!(extra, [(format!("/bin/{name}"), host.clone())]);
        assert_eq!(argv, [format!("/bin/{name}")]);
        // A path the archive holds wins over a host file of the same name.
        let host_path = host.display().to_string();
        let (extra, argv) =
            run_program(std::slice::from_ref(&host_path), |path| path == host_path).unwrap();
        assert!(extra.is_empty());
        assert_eq!(argv, [host_path]);
        assert!(run_program(&arguments("relative/path"), nothing_in_tree).is_err());
        assert_eq!(
            run_program(&[], nothing_in_tree).unwrap(),
            (Vec::new(), Vec::new())
        );
    }

    #[test]
    fn filters_select_system_tests() {
        assert!(system_test_matches("boot", "boot"));
        assert!(system_test_matches("boot", "oo"));
        assert!(system_test_matches("boot", "boot::halted"));
        assert!(!system_test_matches("boot", "host::sel4"));
        assert!(!system_test_matches("boot", "bootstrap"));
    }

    #[test]
    fn the_gdb_command_loads_every_component() {
        let image = images::Image {
            path: PathBuf::from("/w/target/images/root-task.elf"),
            kernel_elf: PathBuf::from("/w/target/k/kernel"),
            root_task_elf: PathBuf::from("/w/target/r/root-task"),
        };
        assert_eq!(
            gdb_command(&image),
            "gdb-multiarch -ex 'target remote :1234' -ex 'symbol-file /w/target/k/kernel' \
             -ex 'add-symbol-file /w/target/r/root-task' \
             -ex 'add-symbol-file /w/target/images/root-task.elf'"
        );
    }
}
