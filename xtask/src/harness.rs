//! System tests: the table of tests, and the harness that boots each one's image under
//! QEMU and judges its console: `TEST_PASS`/`TEST_FAIL` lines, panic lines, expected
//! output, a timeout, and whether the system halted by itself.

use std::time::Duration;

use crate::console_dump::DumpDecoder;
use crate::error::{Error, Result};
use crate::guest_files::{GuestFile, VdsoDamage};
use crate::images::{build_image_with_archive, ImageSpec, LogLevel};
use crate::qemu::{self, Console, Debugger, Ending, LineVerdict, Timing};
use crate::results::{Case, Suite};
use crate::workspace::Workspace;

/// One system test: an image with its own root task, and what its console must show.
#[derive(Debug, Clone, Copy)]
pub struct SystemTest {
    /// Also the suite name of its results, its image name and its log name.
    pub name: &'static str,
    pub root_task_package: &'static str,
    pub timeout: Duration,
    /// Each must appear within some console line.
    pub expected: &'static [&'static str],
    /// For the Linux process server: the first process to run (the image then embeds
    /// the standard boot archive, see `rootfs::standard_archive`).
    pub linux: Option<LinuxBoot>,
}

/// The first Linux process of a system test.
#[derive(Debug, Clone, Copy)]
pub struct LinuxBoot {
    /// argv (argv[0] is the path in the archive).
    pub arguments: &'static [&'static str],
    pub environment: &'static [&'static str],
    /// Process-server options (`svc-rewrite`, `log=debug`).
    pub options: &'static [&'static str],
}

/// The line the root task prints when the first process exits with status 0.
pub const INIT_EXITED_OK: &str = "sel4-linux: init exited with status 0";

/// Every system test, run in this order. Add a row to add a test.
pub const SYSTEM_TESTS: &[SystemTest] = &[
    SystemTest {
        name: "boot",
        root_task_package: "root-task",
        timeout: Duration::from_secs(60),
        expected: &["bootinfo check: ok"],
        linux: None,
    },
    // The seL4 16.0.0 object model, one TEST_PASS/TEST_FAIL line per case.
    SystemTest {
        name: "kernel",
        root_task_package: "kernel-tests",
        timeout: Duration::from_secs(180),
        expected: &["TEST_SUMMARY"],
        linux: None,
    },
    // The process server: basic.c checks argv/envp/auxv, memory, files, time, fork.
    SystemTest {
        name: "linux",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/basic", "alpha", "two words"],
            environment: &["BASIC_EXPECT_ARGS=1", "HOME=/"],
            options: &[],
        }),
    },
    // The same through the fallback for kernels without LINUX_SYSCALL (real seL4):
    // `svc #0` rewritten to `udf` at load time, served as UserException.
    SystemTest {
        name: "linux-svc-rewrite",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/basic", "alpha", "two words"],
            environment: &["BASIC_EXPECT_ARGS=1", "HOME=/"],
            options: &["svc-rewrite"],
        }),
    },
    // The demo: userland's init and interactive shell, typed into through the serial
    // console (TEST_INPUT); `exit 3` ends it, so init exits with status 3.
    SystemTest {
        name: "shell",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[
            "hello world",
            "vdsodump",
            "/tmp",
            "status=1",
            "pipeline-ok",
            "after=130",
            "sel4-linux: init exited with status 3",
        ],
        linux: Some(LinuxBoot {
            arguments: &["/init"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/files.c: every file-system call, /dev nodes, bad pointers.
    SystemTest {
        name: "linux-files",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/files"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/console.c: the PL011 console's terminal ioctls and writes.
    SystemTest {
        name: "console",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/console"],
            environment: &["HOME=/"],
            options: &[],
        }),
    },
    // tests/programs/vdso.c: the vDSO image, its mapping, /proc/self/maps, the clocks.
    // Its [vdso] dump is checked on the host (TEST_VDSO_DUMPS), and it asks for the host's
    // time (TEST_PROMPTS), which the environment says it must get.
    SystemTest {
        name: "linux-vdso",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/vdso"],
            environment: &["VDSO_HOST_REALTIME=required"],
            options: &[],
        }),
    },
    // The same program with a damaged /vdso.so (TEST_FILES): the root task refuses it with
    // the checker's message and runs programs without a vDSO, which still get the time.
    SystemTest {
        name: "linux-vdso-broken",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[
            "/vdso.so: 1 violation(s); running without a vDSO",
            "PT_LOAD flags are RWX, want R-X",
            INIT_EXITED_OK,
        ],
        linux: Some(LinuxBoot {
            arguments: &["/bin/vdso", "--without-vdso"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/signals.c: delivery, the rt_sigframe, fault signals, sigaltstack,
    // sigsuspend/sigtimedwait, EINTR and restart, the vDSO sigreturn trampoline.
    SystemTest {
        name: "linux-signals",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/signals"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/threads.c: pthreads, futex operations, TLS, robust lists.
    SystemTest {
        name: "linux-threads",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/threads"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/processes.c: fork/wait/exec, ids, groups, limits, sysinfo, and the
    // CPU-time accounting (getrusage, times).
    SystemTest {
        name: "linux-processes",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/processes"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/pipes.c: pipes across fork, EOF/EPIPE, ppoll/pselect6 and their
    // signal masks.
    SystemTest {
        name: "linux-pipes",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/pipes"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/time.c: every clock (CPU-time clocks included), sleeps, interval
    // timers. At /tests/time: the demo userland's `time` command is /bin/time.
    SystemTest {
        name: "linux-time",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/tests/time"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/glibc.c, built against static glibc: its startup (an emulated
    // `mrs MIDR_EL1`), ID register reads, the vDSO, threads, fork/exec, signals, files.
    SystemTest {
        name: "linux-glibc",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/glibc"],
            environment: &[],
            options: &[],
        }),
    },
    // The same through the `udf` trap for kernels without LINUX_SYSCALL (real seL4): the
    // rewritten `svc` and the emulated `mrs` both arrive as class-0x00 UserExceptions.
    SystemTest {
        name: "linux-glibc-svc-rewrite",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/glibc"],
            environment: &[],
            options: &["svc-rewrite"],
        }),
    },
    // tests/programs/memory.c: brk, mmap, munmap, mprotect, mremap, madvise, demand
    // paging, fault signals, shared memory and futexes across fork, the OOM kill.
    SystemTest {
        name: "linux-memory",
        root_task_package: "root-task",
        timeout: Duration::from_secs(300),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/memory"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/stress.c: 5,000 random system calls from workers forked again
    // whenever they die (seed fixed here; `stress SEED CALLS` by hand), then fork + exec
    // and a file round trip still work.
    SystemTest {
        name: "linux-stress",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/stress", "20261122", "5000"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/isolation.c: fork-private memory, no process_vm_*/ptrace/mem file,
    // the root task's and kernel's addresses fault, seL4 calls are Linux calls, the vDSO
    // cannot be written.
    SystemTest {
        name: "linux-isolation",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/isolation"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/exhaustion.c: RLIMIT_NPROC (set, enforced for a non-root user, root
    // exempt), a fork bomb stopped with EAGAIN by the system-wide task limit and reaped
    // back to the counters from before, EMFILE at RLIMIT_NOFILE.
    SystemTest {
        name: "linux-exhaustion",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/exhaustion"],
            environment: &[],
            options: &[],
        }),
    },
    // tests/programs/soak.c: 500 fork + execve + exit + wait cycles; the server's
    // /proc/meminfo counters after them equal those after a warm-up cycle.
    SystemTest {
        name: "linux-soak",
        root_task_package: "root-task",
        timeout: Duration::from_secs(180),
        expected: &[INIT_EXITED_OK],
        linux: Some(LinuxBoot {
            arguments: &["/bin/soak", "500"],
            environment: &[],
            options: &[],
        }),
    },
];

/// Lines typed into a system test's serial console, by test name (see
/// [`qemu::InputStep`]); tests not listed get no input (stdin closed).
pub const TEST_INPUT: &[(&str, &[qemu::InputStep])] = &[(
    "shell",
    &[
        qemu::InputStep {
            after: "init: starting /bin/sh",
            send: "echo hel''lo world",
        },
        qemu::InputStep {
            after: "hello world",
            send: "ls /bin",
        },
        qemu::InputStep {
            after: "vdsodump",
            send: "mkdir -p /t''mp; cd /t''mp; pwd",
        },
        qemu::InputStep {
            after: "/tmp",
            send: "false; echo status=$?",
        },
        // A pipeline into a file and a redirection back out of it.
        qemu::InputStep {
            after: "status=1",
            send: "echo pipe''line-ok | cat | cat > /tmp/p; cat < /tmp/p",
        },
        qemu::InputStep {
            after: "pipeline-ok",
            send: "sh -c 'echo sle''eping; exec sleep 30'",
        },
        // ^C: SIGINT for the foreground process group kills the sleeper (status 130).
        qemu::InputStep {
            after: "sleeping",
            send: "\u{3}",
        },
        qemu::InputStep {
            after: "^C",
            send: "echo after=$?",
        },
        qemu::InputStep {
            after: "after=130",
            send: "exit 3",
        },
    ],
)];

/// The input steps of test `name`.
pub fn test_input(name: &str) -> &'static [qemu::InputStep] {
    TEST_INPUT
        .iter()
        .find(|(test, _)| *test == name)
        .map_or(&[], |(_, steps)| *steps)
}

/// Questions a system test's programs print and the harness answers when asked, by test
/// name (see [`qemu::Prompt`]).
pub const TEST_PROMPTS: &[(&str, &[qemu::Prompt])] = &[(
    "linux-vdso",
    // vdso.c compares CLOCK_REALTIME with the host's clock.
    &[qemu::Prompt {
        request: "HOST_REALTIME?",
        answer: qemu::Answer::HostRealtime,
    }],
)];

/// The prompts of test `name`.
pub fn test_prompts(name: &str) -> &'static [qemu::Prompt] {
    TEST_PROMPTS
        .iter()
        .find(|(test, _)| *test == name)
        .map_or(&[], |(_, prompts)| *prompts)
}

/// Files a system test's archive carries in place of the standard ones, by test name
/// (guest path, what to put there).
pub const TEST_FILES: &[(&str, &[(&str, GuestFile)])] = &[(
    "linux-vdso-broken",
    &[("/vdso.so", GuestFile::DamagedVdso(VdsoDamage::WritableLoad))],
)];

/// The file overrides of test `name`.
pub fn test_files(name: &str) -> &'static [(&'static str, GuestFile)] {
    TEST_FILES
        .iter()
        .find(|(test, _)| *test == name)
        .map_or(&[], |(_, files)| *files)
}

/// Tests whose console carries a `[vdso]` dump (see [`crate::console_dump`]): the decoded
/// bytes must pass the vDSO image checker, as a result named [`VDSO_DUMP_RESULT`].
pub const TEST_VDSO_DUMPS: &[&str] = &["linux-vdso"];

/// The result that judges a dumped `[vdso]`.
pub const VDSO_DUMP_RESULT: &str = "dumped [vdso] passes vdso-check";

/// The prefix of the dump's console lines.
const VDSO_DUMP_PREFIX: &str = "VDSO_DUMP";

/// Console lines containing any of these mean a component died: the test fails.
pub const PANIC_MARKERS: &[&str] = &["KERNEL PANIC:", "ROOT TASK PANIC:", "LOADER PANIC:"];

/// How long to keep reading after a panic line, for the rest of the epitaph.
const PANIC_GRACE: Duration = Duration::from_secs(2);

/// What a console line means to the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleLine<'a> {
    /// `TEST_PASS <name>`
    Pass {
        name: &'a str,
    },
    /// `TEST_FAIL <name>: <why>`
    Fail {
        name: &'a str,
        why: &'a str,
    },
    /// `TEST_SKIP <name>: <why>`: the case could not run here, for the reason given.
    Skip {
        name: &'a str,
        why: &'a str,
    },
    /// A line with a panic marker.
    Panic,
    Other,
}

/// Classifies one console line. The markers may follow a prefix (a log tag or a program
/// name), since the line reaches the console through the root task.
pub fn classify(line: &str) -> ConsoleLine<'_> {
    if PANIC_MARKERS.iter().any(|marker| line.contains(marker)) {
        return ConsoleLine::Panic;
    }
    if let Some(rest) = after_marker(line, "TEST_PASS ") {
        let name = rest.split_whitespace().next().unwrap_or_default();
        if !name.is_empty() {
            return ConsoleLine::Pass { name };
        }
    }
    if let Some((name, why)) = after_marker(line, "TEST_FAIL ").and_then(name_and_reason) {
        return ConsoleLine::Fail { name, why };
    }
    if let Some((name, why)) = after_marker(line, "TEST_SKIP ").and_then(name_and_reason) {
        return ConsoleLine::Skip { name, why };
    }
    ConsoleLine::Other
}

/// Splits `<name>: <why>` (the reason optional); `None` unless the name is one word.
fn name_and_reason(rest: &str) -> Option<(&str, &str)> {
    let (name, why) = match rest.split_once(':') {
        Some((name, why)) => (name.trim(), why.trim()),
        None => (rest.trim(), ""),
    };
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((name, why))
}

/// The text after `marker` when it starts the line or follows whitespace or `]`.
fn after_marker<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let start = line.find(marker)?;
    let boundary = line[..start]
        .chars()
        .next_back()
        .is_none_or(|before| before.is_whitespace() || before == ']' || before == ':');
    boundary.then(|| &line[start + marker.len()..])
}

/// Collects one system test's results from its console, line by line; pure, so the
/// judging is unit-tested without QEMU.
#[derive(Debug)]
pub struct Judge {
    test: SystemTest,
    cases: Vec<Case>,
    expected_seen: Vec<bool>,
    panic_line: Option<String>,
    /// For tests in [`TEST_VDSO_DUMPS`].
    vdso_dump: Option<DumpDecoder>,
}

impl Judge {
    pub fn new(test: SystemTest) -> Self {
        Self {
            test,
            cases: Vec::new(),
            expected_seen: vec![false; test.expected.len()],
            panic_line: None,
            vdso_dump: TEST_VDSO_DUMPS
                .contains(&test.name)
                .then(|| DumpDecoder::new(VDSO_DUMP_PREFIX)),
        }
    }

    /// Reads one console line (without its line ending).
    pub fn observe(&mut self, line: &str) -> LineVerdict {
        for (expected, seen) in self.test.expected.iter().zip(&mut self.expected_seen) {
            *seen |= line.contains(expected);
        }
        if let Some(decoder) = &mut self.vdso_dump {
            decoder.observe(line);
        }
        match classify(line) {
            ConsoleLine::Pass { name } => self.cases.push(Case::pass(name)),
            ConsoleLine::Fail { name, why } => {
                let why = if why.is_empty() { "TEST_FAIL" } else { why };
                self.cases.push(Case::fail(name, why));
            }
            ConsoleLine::Skip { name, why } => self.cases.push(Case::skip(name, why)),
            ConsoleLine::Panic => {
                if self.panic_line.is_none() {
                    self.panic_line = Some(line.trim().to_owned());
                }
                return LineVerdict::StopAfter(PANIC_GRACE);
            }
            ConsoleLine::Other => {}
        }
        LineVerdict::Continue
    }

    /// All results, given how QEMU ended and what it wrote to stderr.
    pub fn finish(mut self, ending: Ending, qemu_stderr: &str) -> Vec<Case> {
        if let Some(line) = self.panic_line.take() {
            self.cases.push(Case::fail("panic", line));
        }
        if let Some(decoder) = self.vdso_dump.take() {
            self.cases.push(judge_vdso_dump(decoder.finish()));
        }
        for (expected, seen) in self.test.expected.iter().zip(&self.expected_seen) {
            let name = format!("expect {expected}");
            self.cases.push(if *seen {
                Case::pass(name)
            } else {
                Case::fail(name, "not seen")
            });
        }
        let stderr_hint = match qemu_stderr.trim().lines().last() {
            Some(last) => format!(" (qemu: {last})"),
            None => String::new(),
        };
        self.cases.push(match ending {
            Ending::Exited { code: Some(0) } => Case::pass("halted"),
            Ending::Exited { code: Some(code) } => Case::fail(
                "halted",
                format!("qemu exited with status {code}{stderr_hint}"),
            ),
            Ending::Exited { code: None } => Case::fail(
                "halted",
                format!("qemu was killed by a signal{stderr_hint}"),
            ),
            Ending::TimedOut { after } => {
                Case::fail("halted", format!("timed out after {} s", after.as_secs()))
            }
            Ending::Stopped => Case::fail("halted", "stopped by the harness after a panic"),
            Ending::DidNotExit => Case::fail("halted", "qemu closed its console but did not exit"),
        });
        self.cases
    }
}

/// The result for a dumped `[vdso]`: the checker's verdict on the decoded bytes, with
/// every violation it reports, or why there were no bytes to check.
fn judge_vdso_dump(dump: std::result::Result<Vec<u8>, String>) -> Case {
    let bytes = match dump {
        Ok(bytes) => bytes,
        Err(why) => return Case::fail(VDSO_DUMP_RESULT, why),
    };
    match vdso_check::check(&bytes) {
        Ok(_) => Case::pass(VDSO_DUMP_RESULT),
        Err(violations) => {
            let messages: Vec<String> = violations.iter().map(ToString::to_string).collect();
            Case::fail(
                VDSO_DUMP_RESULT,
                format!(
                    "{} bytes, {} violation(s): {}",
                    bytes.len(),
                    violations.len(),
                    messages.join("; ")
                ),
            )
        }
    }
}

/// Whether to copy each console line to the terminal while a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Quiet,
    Console,
}

/// Builds and boots one system test; a build failure is a failed `build` result. Writes
/// the console (and QEMU's stderr, if any) to `target/test-logs/<test>.log`.
///
/// # Errors
/// The QEMU configuration cannot be read, QEMU cannot be started or the log not written.
pub fn run_system_test(
    workspace: &Workspace,
    test: SystemTest,
    kernel_log: Option<LogLevel>,
    echo: Echo,
) -> Result<Suite> {
    let mut suite = Suite::new(test.name);
    let archive = match test.linux {
        None => None,
        Some(boot) => {
            let owned = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
            match crate::guest_files::prepare(&workspace.root, test.name, test_files(test.name))
                .and_then(|extra| {
                    crate::rootfs::standard_archive(
                        &workspace.root,
                        test.name,
                        None,
                        extra,
                        owned(boot.arguments),
                        owned(boot.environment),
                        owned(boot.options),
                    )
                }) {
                Ok(path) => Some(path),
                Err(error) => {
                    eprintln!("{error}");
                    suite.cases.push(Case::fail(
                        "build",
                        error.lines().next().unwrap_or_default(),
                    ));
                    return Ok(suite);
                }
            }
        }
    };
    let image = match build_image_with_archive(
        workspace,
        &ImageSpec {
            name: test.name,
            root_task_package: test.root_task_package,
            kernel_log,
        },
        archive.as_deref(),
    ) {
        Ok(image) => image,
        Err(error) => {
            eprintln!("{error}");
            let first_line = error
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            suite.cases.push(Case::fail("build", first_line));
            return Ok(suite);
        }
    };
    let configuration = qemu::load_config(workspace)?;
    let boot = qemu::boot_arguments(
        Console::Captured,
        Debugger::None,
        Timing::HostClock,
        &image.path,
    );
    println!(
        "boot {} (timeout {} s)",
        workspace.display(&image.path),
        test.timeout.as_secs()
    );
    let mut judge = Judge::new(test);
    let input = qemu::ConsoleInput {
        steps: test_input(test.name),
        prompts: test_prompts(test.name),
    };
    let captured =
        qemu::run_captured_with_console(&configuration, &boot, test.timeout, input, |line| {
            if echo == Echo::Console {
                println!("  | {line}");
            }
            judge.observe(line)
        })?;
    let mut log = captured.console;
    if !captured.qemu_stderr.is_empty() {
        log.extend_from_slice(b"\n--- qemu stderr ---\n");
        log.extend_from_slice(captured.qemu_stderr.as_bytes());
    }
    let log_path = workspace.test_log_path(test.name);
    write_file(&log_path, &log)?;
    suite.cases = judge.finish(captured.ending, &captured.qemu_stderr);
    suite.console_log = Some(report_excerpt(&String::from_utf8_lossy(&log), &log_path));
    suite.duration = Some(captured.elapsed);
    println!("log {}", workspace.display(&log_path));
    Ok(suite)
}

/// The most of a console the JUnit report carries; the log file has all of it.
const REPORT_CONSOLE_LIMIT: usize = 64 * 1024;

/// The end of a console for the JUnit report, pointing at the full log when cut.
fn report_excerpt(console: &str, log_path: &std::path::Path) -> String {
    if console.len() <= REPORT_CONSOLE_LIMIT {
        return console.to_owned();
    }
    let mut start = console.len() - REPORT_CONSOLE_LIMIT;
    while !console.is_char_boundary(start) {
        start += 1;
    }
    format!(
        "[... start cut; full console in {} ...]\n{}",
        log_path.display(),
        &console[start..]
    )
}

/// Writes a file, creating its directory.
///
/// # Errors
/// The directory or file cannot be written.
pub fn write_file(path: &std::path::Path, contents: &[u8]) -> Result<()> {
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory)
            .map_err(|error| Error::io(format!("creating {}", directory.display()), error))?;
    }
    std::fs::write(path, contents)
        .map_err(|error| Error::io(format!("writing {}", path.display()), error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Outcome;

    const TEST: SystemTest = SystemTest {
        name: "boot",
        root_task_package: "root-task",
        timeout: Duration::from_secs(60),
        expected: &["bootinfo check: ok", "untyped: "],
        linux: None,
    };

    #[test]
    fn classifies_test_and_panic_lines() {
        assert_eq!(
            classify("TEST_PASS hello"),
            ConsoleLine::Pass { name: "hello" }
        );
        assert_eq!(
            classify("[app] TEST_PASS hello trailing"),
            ConsoleLine::Pass { name: "hello" }
        );
        assert_eq!(
            classify("TEST_FAIL mmap: returned -12 (ENOMEM)"),
            ConsoleLine::Fail {
                name: "mmap",
                why: "returned -12 (ENOMEM)"
            }
        );
        assert_eq!(
            classify("TEST_SKIP vdso_walk: no AT_SYSINFO_EHDR"),
            ConsoleLine::Skip {
                name: "vdso_walk",
                why: "no AT_SYSINFO_EHDR"
            }
        );
        assert_eq!(
            classify("TEST_FAIL bare"),
            ConsoleLine::Fail {
                name: "bare",
                why: ""
            }
        );
        for line in [
            "KERNEL PANIC: unexpected exception",
            "[0.1] ROOT TASK PANIC: at main.rs:3",
            "LOADER PANIC: no memory",
        ] {
            assert_eq!(classify(line), ConsoleLine::Panic, "{line}");
        }
        for line in [
            "",
            "booting",
            "TEST_PASS",
            "TEST_PASS ",
            "NOTTEST_PASS x",
            "TEST_FAIL two words: why",
            "kernel panic: lower case is not a marker",
        ] {
            assert_eq!(classify(line), ConsoleLine::Other, "{line:?}");
        }
    }

    fn judge(lines: &[&str], ending: Ending) -> Vec<Case> {
        let mut judge = Judge::new(TEST);
        for line in lines {
            judge.observe(line);
        }
        judge.finish(ending, "")
    }

    #[test]
    fn a_clean_run_passes_every_result() {
        let cases = judge(
            &[
                "loader: starting",
                "bootinfo check: ok",
                "untyped: 42 regions",
                "TEST_PASS hello",
            ],
            Ending::Exited { code: Some(0) },
        );
        assert_eq!(
            cases,
            [
                Case::pass("hello"),
                Case::pass("expect bootinfo check: ok"),
                Case::pass("expect untyped: "),
                Case::pass("halted"),
            ]
        );
    }

    #[test]
    fn failures_missing_output_panics_and_timeouts_fail() {
        let mut judge = Judge::new(TEST);
        assert_eq!(judge.observe("TEST_FAIL mmap: bad"), LineVerdict::Continue);
        assert_eq!(
            judge.observe("KERNEL PANIC: data abort at 0x0"),
            LineVerdict::StopAfter(PANIC_GRACE)
        );
        judge.observe("ROOT TASK PANIC: second");
        let cases = judge.finish(Ending::Stopped, "");
        assert_eq!(
            cases,
            [
                Case::fail("mmap", "bad"),
                Case::fail("panic", "KERNEL PANIC: data abort at 0x0"),
                Case::fail("expect bootinfo check: ok", "not seen"),
                Case::fail("expect untyped: ", "not seen"),
                Case::fail("halted", "stopped by the harness after a panic"),
            ]
        );

        let timed_out = judge_outcome(Ending::TimedOut {
            after: Duration::from_secs(60),
        });
        assert_eq!(timed_out, Outcome::Fail("timed out after 60 s".into()));
        let crashed = judge_outcome(Ending::Exited { code: Some(1) });
        assert_eq!(
            crashed,
            Outcome::Fail("qemu exited with status 1 (qemu: could not load kernel)".into())
        );
    }

    fn judge_outcome(ending: Ending) -> Outcome {
        let mut judge = Judge::new(TEST);
        judge.observe("bootinfo check: ok");
        let cases = judge.finish(
            ending,
            "qemu-system-aarch64: warning\ncould not load kernel\n",
        );
        cases
            .last()
            .map(|case| case.outcome.clone())
            .unwrap_or(Outcome::Pass)
    }

    #[test]
    fn long_consoles_are_cut_at_the_start_for_the_report() {
        let path = std::path::Path::new("/t/boot.log");
        assert_eq!(report_excerpt("short", path), "short");
        let long = format!("é{}", "x".repeat(REPORT_CONSOLE_LIMIT));
        let excerpt = report_excerpt(&long, path);
        assert!(excerpt.starts_with("[... start cut; full console in /t/boot.log ...]\n"));
        assert!(excerpt.ends_with(&"x".repeat(REPORT_CONSOLE_LIMIT)));
        assert!(!excerpt.contains('é'));
    }

    fn linux_vdso() -> SystemTest {
        *SYSTEM_TESTS
            .iter()
            .find(|test| test.name == "linux-vdso")
            .expect("a linux-vdso test")
    }

    #[test]
    fn a_vdso_dump_is_judged_only_where_asked_for() {
        // Other tests get no dump result.
        let cases = judge(&["bootinfo check: ok"], Ending::Exited { code: Some(0) });
        assert!(!cases.iter().any(|case| case.name == VDSO_DUMP_RESULT));
        // linux-vdso without a dump fails that result.
        let judge = Judge::new(linux_vdso());
        let cases = judge.finish(Ending::Exited { code: Some(0) }, "");
        assert!(cases.contains(&Case::fail(
            VDSO_DUMP_RESULT,
            "no VDSO_DUMP_BEGIN line on the console"
        )));
    }

    #[test]
    fn a_dump_the_checker_rejects_fails_with_the_checkers_messages() {
        let mut judge = Judge::new(linux_vdso());
        for line in [
            "VDSO_DUMP_BEGIN 64",
            "VDSO_DUMP 0 00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "VDSO_DUMP_END",
        ] {
            judge.observe(line);
        }
        let cases = judge.finish(Ending::Exited { code: Some(0) }, "");
        let dump = cases
            .iter()
            .find(|case| case.name == VDSO_DUMP_RESULT)
            .expect("a dump result");
        assert_eq!(
            dump.outcome,
            Outcome::Fail("64 bytes, 1 violation(s): not an ELF file (bad magic)".into())
        );
        // A truncated dump says what was missing.
        let mut judge = Judge::new(linux_vdso());
        judge.observe("VDSO_DUMP_BEGIN 64");
        judge.observe("VDSO_DUMP 0 7f454c46");
        let cases = judge.finish(
            Ending::TimedOut {
                after: Duration::from_secs(1),
            },
            "",
        );
        assert!(cases.contains(&Case::fail(
            VDSO_DUMP_RESULT,
            "no VDSO_DUMP_END line: 4 of 64 bytes seen"
        )));
    }

    #[test]
    fn per_test_tables_name_existing_tests() {
        let exists = |name: &str| SYSTEM_TESTS.iter().any(|test| test.name == name);
        for name in TEST_VDSO_DUMPS {
            assert!(exists(name), "{name}");
        }
        for (name, prompts) in TEST_PROMPTS {
            assert!(exists(name) && !prompts.is_empty(), "{name}");
        }
        for (name, files) in TEST_FILES {
            assert!(exists(name) && !files.is_empty(), "{name}");
        }
        for (name, _) in TEST_INPUT {
            assert!(exists(name), "{name}");
        }
        assert_eq!(test_prompts("shell"), &[]);
        assert_eq!(test_files("linux-vdso"), &[]);
        assert_eq!(
            test_files("linux-vdso-broken"),
            &[("/vdso.so", GuestFile::DamagedVdso(VdsoDamage::WritableLoad))]
        );
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut names: Vec<&str> = SYSTEM_TESTS.iter().map(|test| test.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "system test names are unique");
        for test in SYSTEM_TESTS {
            assert!(!test.name.is_empty() && !test.name.contains(['/', ' ', ':']));
            assert!(test.timeout > Duration::ZERO);
        }
        let boot = SYSTEM_TESTS.iter().find(|test| test.name == "boot");
        assert!(boot.is_some_and(|boot| boot.expected.contains(&"bootinfo check: ok")));
    }
}
