//! `cargo xtask`: the project's build, run and test driver. This file parses the command
//! line and dispatches; each command lives in its own module.

mod bench;
mod cargo;
mod error;
mod harness;
mod host_tests;
mod images;
mod junit;
mod lint;
mod programs;
mod qemu;
mod results;
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
        --root, PROGRAM   not supported yet
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

/// `cargo xtask run`: build the default image and hand the terminal to QEMU.
fn run(options: RunOptions) -> Result<ExitCode> {
    if let Some(directory) = &options.root_directory {
        return Err(Error::NotSupported(format!(
            "--root {} (a root file system for programs comes with a later issue)",
            directory.display()
        )));
    }
    if let Some(program) = options.program.first() {
        return Err(Error::NotSupported(format!(
            "running program {program:?} (running programs comes with a later issue)"
        )));
    }
    let debugger = options.debugger;
    setup::ensure(setup::BUILD_AND_BOOT)?;
    if debugger == Debugger::WaitForGdb {
        setup::ensure(setup::DEBUGGER)?;
    }
    let workspace = Workspace::locate()?;
    let image = images::build_image(
        &workspace,
        &ImageSpec {
            name: DEFAULT_ROOT_TASK,
            root_task_package: DEFAULT_ROOT_TASK,
            kernel_log: options.kernel_log,
        },
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
    Err(qemu::exec_interactive(&configuration, &boot))
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
