//! QEMU: reads the machine configuration (`qemu/virt.args`), builds command lines for
//! interactive and captured boots, and runs a captured boot with a timeout, always killing
//! QEMU before returning.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::workspace::Workspace;

pub const QEMU_PROGRAM: &str = "qemu-system-aarch64";
/// The machine configuration, relative to the workspace root.
pub const CONFIG_FILE: &str = "qemu/virt.args";

/// Where the guest's serial console goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// The terminal, multiplexed with the monitor (Ctrl-A X quits, Ctrl-A C monitor).
    Interactive,
    /// QEMU's stdout, read by xtask; no monitor, and xtask closes QEMU's stdin.
    Captured,
}

/// Whether QEMU waits for a debugger before the first instruction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Debugger {
    #[default]
    None,
    /// `-s -S`: gdb server on TCP port 1234, CPU halted until gdb continues.
    WaitForGdb,
}

/// How guest time relates to host time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Guest timers follow the host clock.
    HostClock,
    /// One nanosecond of guest time per instruction: repeatable measurements (benchmarks).
    #[allow(
        dead_code,
        reason = "selected by `cargo xtask bench`, which comes later"
    )]
    InstructionCount,
}

/// The gdb server port `-s` opens.
pub const GDB_PORT: u16 = 1234;

/// A problem in the configuration file.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

/// Parses the configuration text: one option per line, its value after whitespace,
/// `#` comments and blank lines ignored.
///
/// # Errors
/// A line that does not start with `-` (a stray value or a typo), or a line with more
/// than an option and one value.
pub fn parse_config(text: &str) -> Result<Vec<String>, ConfigError> {
    let mut arguments = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let error = |message: &str| ConfigError {
            line: index + 1,
            message: format!("{message}: {line:?}"),
        };
        match words.as_slice() {
            [option] | [option, _] if !option.starts_with('-') => {
                return Err(error("expected an option starting with '-'"))
            }
            [option] => arguments.push((*option).to_owned()),
            [option, value] => {
                arguments.push((*option).to_owned());
                arguments.push((*value).to_owned());
            }
            _ => return Err(error("expected an option and at most one value")),
        }
    }
    Ok(arguments)
}

/// Reads and parses `qemu/virt.args`.
///
/// # Errors
/// The file is missing or malformed.
pub fn load_config(workspace: &Workspace) -> Result<Vec<String>> {
    let path = workspace.root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| Error::io(format!("reading {}", path.display()), error))?;
    parse_config(&text)
        .map_err(|error| Error::failed(format!("{CONFIG_FILE}:{}: {}", error.line, error.message)))
}

/// The arguments after the machine configuration for one boot.
pub fn boot_arguments(
    console: Console,
    debugger: Debugger,
    timing: Timing,
    image: &Path,
) -> Vec<String> {
    let mut arguments: Vec<String> = Vec::new();
    match console {
        Console::Interactive => arguments.extend(["-serial".into(), "mon:stdio".into()]),
        Console::Captured => arguments.extend([
            "-serial".into(),
            "stdio".into(),
            "-monitor".into(),
            "none".into(),
        ]),
    }
    if debugger == Debugger::WaitForGdb {
        arguments.extend(["-s".into(), "-S".into()]);
    }
    arguments.extend(timing_arguments(timing));
    arguments.push("-kernel".into());
    arguments.push(image.display().to_string());
    arguments
}

/// The arguments that select guest timing (benchmarks use [`Timing::InstructionCount`]).
pub fn timing_arguments(timing: Timing) -> Vec<String> {
    match timing {
        Timing::HostClock => Vec::new(),
        Timing::InstructionCount => vec!["-icount".into(), "shift=0,sleep=off".into()],
    }
}

/// Replaces xtask with QEMU on the terminal; returns only if QEMU could not be started.
pub fn exec_interactive(configuration: &[String], boot: &[String]) -> Error {
    use std::os::unix::process::CommandExt;
    let error = Command::new(QEMU_PROGRAM)
        .args(configuration)
        .args(boot)
        .exec();
    Error::io(format!("starting {QEMU_PROGRAM}"), error)
}

/// What a console observer wants after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineVerdict {
    Continue,
    /// Stop QEMU after the grace period (more lines of a panic epitaph may follow).
    StopAfter(Duration),
}

/// How a captured boot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// QEMU exited by itself; `None` if a signal killed it.
    Exited { code: Option<i32> },
    /// The timeout passed; xtask killed QEMU.
    TimedOut { after: Duration },
    /// An observer asked to stop (e.g. after a panic); xtask killed QEMU.
    Stopped,
    /// QEMU closed its console but did not exit; xtask killed it.
    DidNotExit,
}

/// Everything a captured boot produced.
#[derive(Debug)]
pub struct CapturedBoot {
    pub ending: Ending,
    /// Raw console bytes, as QEMU wrote them (the start and the end of a very long one).
    pub console: Vec<u8>,
    pub qemu_stderr: String,
    pub elapsed: Duration,
}

/// How long QEMU may take to exit once it has closed its stdout.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Boots with the console captured, passing each line (without the line ending) to
/// `observe` as it arrives. QEMU is killed on timeout, on an observer's request, and on
/// any early return (the child is owned by a guard that kills it when dropped).
///
/// # Errors
/// QEMU cannot be started.
pub fn run_captured(
    configuration: &[String],
    boot: &[String],
    timeout: Duration,
    observe: impl FnMut(&str) -> LineVerdict,
) -> Result<CapturedBoot> {
    run_captured_with_input(configuration, boot, timeout, &[], observe)
}

/// One line typed into the guest's serial console: `send` (a newline is added) once a
/// console line containing `after` has appeared, after the steps before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputStep {
    pub after: &'static str,
    pub send: &'static str,
}

/// The input steps due after `line`, from step `next` on: each step's trigger must
/// appear in a line of its own (a line may release several steps only if it contains
/// each trigger). Returns the bytes to type and the index of the next pending step.
pub fn input_due(steps: &[InputStep], mut next: usize, line: &str) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    while let Some(step) = steps.get(next) {
        if !line.contains(step.after) {
            break;
        }
        bytes.extend_from_slice(step.send.as_bytes());
        bytes.push(b'\n');
        next += 1;
    }
    (bytes, next)
}

/// A question the guest may print (as a console line containing `request`) any number of
/// times; each time, the harness types the answer as it is at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    pub request: &'static str,
    pub answer: Answer,
}

/// A value only the host knows, computed when the guest asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The host's CLOCK_REALTIME as `<seconds>.<nanoseconds, 9 digits>`.
    HostRealtime,
}

impl Answer {
    /// The text typed for this answer when the host's clock reads `now`.
    pub fn text(self, now: std::time::SystemTime) -> String {
        match self {
            Answer::HostRealtime => {
                let since_epoch = now
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                format!(
                    "{}.{:09}",
                    since_epoch.as_secs(),
                    since_epoch.subsec_nanos()
                )
            }
        }
    }
}

/// The answers due after `line` (a newline after each), computed at `now`.
pub fn answers_due(prompts: &[Prompt], line: &str, now: std::time::SystemTime) -> Vec<u8> {
    let mut bytes = Vec::new();
    for prompt in prompts {
        if line.contains(prompt.request) {
            bytes.extend_from_slice(prompt.answer.text(now).as_bytes());
            bytes.push(b'\n');
        }
    }
    bytes
}

/// What a captured boot types into the serial console: scripted steps, in order, and
/// answers to the guest's prompts, whenever asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleInput<'a> {
    pub steps: &'a [InputStep],
    pub prompts: &'a [Prompt],
}

/// [`run_captured`], typing `input` into the serial console as its triggers appear
/// (QEMU's stdin stays open until every step is sent; with no steps it is closed).
///
/// # Errors
/// QEMU cannot be started.
pub fn run_captured_with_input(
    configuration: &[String],
    boot: &[String],
    timeout: Duration,
    input: &[InputStep],
    observe: impl FnMut(&str) -> LineVerdict,
) -> Result<CapturedBoot> {
    run_captured_with_console(
        configuration,
        boot,
        timeout,
        ConsoleInput {
            steps: input,
            prompts: &[],
        },
        observe,
    )
}

/// [`run_captured_with_input`] that also answers `input.prompts` (with prompts, QEMU's
/// stdin stays open for the whole boot).
///
/// # Errors
/// QEMU cannot be started.
pub fn run_captured_with_console(
    configuration: &[String],
    boot: &[String],
    timeout: Duration,
    input: ConsoleInput<'_>,
    mut observe: impl FnMut(&str) -> LineVerdict,
) -> Result<CapturedBoot> {
    use std::io::Write;
    let started = Instant::now();
    let mut child = Command::new(QEMU_PROGRAM)
        .args(configuration)
        .args(boot)
        .stdin(if input.steps.is_empty() && input.prompts.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(KillOnDrop::new)
        .map_err(|error| Error::io(format!("starting {QEMU_PROGRAM}"), error))?;

    let stdout = child.take_stdout()?;
    let stderr = child.take_stderr()?;
    let mut stdin = child.child.stdin.take();
    let mut next_step = 0usize;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    let reader = thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        while let Ok(Some(line)) = read_line_bounded(&mut stdout, MAX_LINE) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_reader = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = BufReader::new(stderr).read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });

    let deadline = started + timeout;
    let mut stop_at: Option<Instant> = None;
    let mut console = BoundedLog::new(LOG_HEAD, LOG_TAIL);
    let mut take_line = |line: Vec<u8>, console: &mut BoundedLog| {
        let verdict = observe(line_text(&line).as_ref());
        console.push(&line);
        verdict
    };
    let ending = loop {
        let now = Instant::now();
        let wake = stop_at.map_or(deadline, |stop| stop.min(deadline));
        match receiver.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(line) => {
                let text = line_text(&line);
                let (mut typed, next) = input_due(input.steps, next_step, text.as_ref());
                typed.extend(answers_due(
                    input.prompts,
                    text.as_ref(),
                    std::time::SystemTime::now(),
                ));
                next_step = next;
                if let Some(pipe) = stdin.as_mut().filter(|_| !typed.is_empty()) {
                    if pipe.write_all(&typed).and_then(|()| pipe.flush()).is_err() {
                        stdin = None;
                    }
                }
                if let LineVerdict::StopAfter(grace) = take_line(line, &mut console) {
                    stop_at.get_or_insert(Instant::now() + grace);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill();
                break if stop_at.is_some_and(|stop| stop <= deadline) {
                    Ending::Stopped
                } else {
                    Ending::TimedOut { after: timeout }
                };
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break match child.wait_for_exit(EXIT_GRACE) {
                    Some(status) => Ending::Exited {
                        code: status.code(),
                    },
                    None => {
                        child.kill();
                        Ending::DidNotExit
                    }
                };
            }
        }
    };
    // After a kill the reader sees end of file; collect what it read meanwhile.
    let _ = reader.join();
    while let Ok(line) = receiver.try_recv() {
        take_line(line, &mut console);
    }
    let qemu_stderr = stderr_reader.join().unwrap_or_default();
    Ok(CapturedBoot {
        ending,
        console: console.into_bytes(),
        qemu_stderr,
        elapsed: started.elapsed(),
    })
}

/// Longest console line passed on in one piece; longer ones are split.
const MAX_LINE: usize = 4096;
/// A runaway guest (a reboot loop, a print loop) can write hundreds of megabytes before
/// the timeout; keep this much of the start and of the end of its console.
const LOG_HEAD: usize = 1 << 20;
const LOG_TAIL: usize = 1 << 20;

/// Reads up to and including the next `\n`, or `max` bytes, whichever comes first;
/// `None` at end of input.
fn read_line_bounded(reader: &mut impl BufRead, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    while line.len() < max {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let room = (max - line.len()).min(available.len());
        let (taken, complete) = match available[..room].iter().position(|&byte| byte == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (room, false),
        };
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if complete {
            break;
        }
    }
    Ok((!line.is_empty()).then_some(line))
}

/// Keeps the first `head_limit` and the last `tail_limit` bytes of a stream, noting how
/// many were dropped in between.
#[derive(Debug)]
pub struct BoundedLog {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_limit: usize,
    tail_limit: usize,
    dropped: u64,
}

impl BoundedLog {
    pub fn new(head_limit: usize, tail_limit: usize) -> Self {
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_limit,
            tail_limit,
            dropped: 0,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        let head_room = self.head_limit - self.head.len();
        if head_room > 0 {
            let taken = head_room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        self.tail.extend(bytes);
        let excess = self.tail.len().saturating_sub(self.tail_limit);
        self.tail.drain(..excess);
        self.dropped = self.dropped.saturating_add(excess as u64);
    }

    pub fn into_bytes(self) -> Vec<u8> {
        let mut bytes = self.head;
        if self.dropped > 0 {
            let note = format!(
                "\n[... xtask dropped {} bytes of console output ...]\n",
                self.dropped
            );
            bytes.extend_from_slice(note.as_bytes());
        }
        bytes.extend(self.tail);
        bytes
    }
}

/// A console line as text: lossy UTF-8, without `\n` or the `\r` serial output adds.
fn line_text(line: &[u8]) -> std::borrow::Cow<'_, str> {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    String::from_utf8_lossy(&line[..end])
}

/// Owns the QEMU process; kills and reaps it when dropped unless it was already reaped.
struct KillOnDrop {
    child: Child,
    reaped: bool,
}

impl KillOnDrop {
    fn new(child: Child) -> Self {
        Self {
            child,
            reaped: false,
        }
    }

    fn take_stdout(&mut self) -> Result<std::process::ChildStdout> {
        self.child
            .stdout
            .take()
            .ok_or_else(|| Error::failed("QEMU's stdout was not captured"))
    }

    fn take_stderr(&mut self) -> Result<std::process::ChildStderr> {
        self.child
            .stderr
            .take()
            .ok_or_else(|| Error::failed("QEMU's stderr was not captured"))
    }

    fn kill(&mut self) {
        if !self.reaped {
            // Fails only if it already exited, which the wait below also covers.
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reaped = true;
        }
    }

    /// Waits up to `limit` for the process to exit by itself.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let give_up = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.reaped = true;
                    return Some(status);
                }
                Ok(None) if Instant::now() < give_up => {
                    thread::sleep(Duration::from_millis(20));
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Quotes a word for a POSIX shell when it needs it (for printed command lines).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_./=:,+@%".contains(character));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_become_arguments() {
        let text = "# comment\n\n-machine virt\n  -cpu   cortex-a57  \n-nographic\n# -m 2G\n";
        assert_eq!(
            parse_config(text),
            Ok(vec![
                "-machine".to_owned(),
                "virt".to_owned(),
                "-cpu".to_owned(),
                "cortex-a57".to_owned(),
                "-nographic".to_owned(),
            ])
        );
    }

    #[test]
    fn malformed_config_lines_are_reported_with_their_line_number() {
        let stray = parse_config("-machine virt\nvirt\n").unwrap_err();
        assert_eq!(stray.line, 2);
        let too_many = parse_config("# x\n-m 1G 2G\n").unwrap_err();
        assert_eq!(too_many.line, 2);
        assert!(parse_config("machine virt\n").is_err());
    }

    #[test]
    fn the_checked_in_config_is_the_required_machine() {
        let text = include_str!("../../qemu/virt.args");
        let arguments = parse_config(text).expect("qemu/virt.args parses");
        let pairs: Vec<(&str, &str)> = arguments
            .windows(2)
            .map(|pair| (pair[0].as_str(), pair[1].as_str()))
            .collect();
        for expected in [
            ("-machine", "virt"),
            ("-cpu", "cortex-a57"),
            ("-m", "1G"),
            ("-smp", "1"),
        ] {
            assert!(pairs.contains(&expected), "{expected:?} in {arguments:?}");
        }
        assert!(arguments.iter().any(|argument| argument == "-nographic"));
        // Console, debugger, timing and image are xtask's to add, per boot.
        for owned_by_xtask in ["-serial", "-monitor", "-kernel", "-s", "-S", "-icount"] {
            assert!(!arguments.iter().any(|argument| argument == owned_by_xtask));
        }
    }

    #[test]
    fn input_steps_are_typed_in_order_once_their_trigger_appears() {
        let steps = [
            InputStep {
                after: "ready",
                send: "one",
            },
            InputStep {
                after: "# one",
                send: "two",
            },
        ];
        assert_eq!(input_due(&steps, 0, "booting"), (Vec::new(), 0));
        assert_eq!(input_due(&steps, 0, "# one"), (Vec::new(), 0));
        assert_eq!(input_due(&steps, 0, "init: ready"), (b"one\n".to_vec(), 1));
        assert_eq!(input_due(&steps, 1, "# one"), (b"two\n".to_vec(), 2));
        assert_eq!(input_due(&steps, 2, "# one"), (Vec::new(), 2));
    }

    #[test]
    fn prompts_are_answered_each_time_with_the_value_at_that_moment() {
        let prompts = [Prompt {
            request: "HOST_REALTIME?",
            answer: Answer::HostRealtime,
        }];
        let at = |seconds, nanoseconds| std::time::UNIX_EPOCH + Duration::new(seconds, nanoseconds);
        assert_eq!(
            answers_due(&prompts, "HOST_REALTIME?", at(1_763_794_000, 5)),
            b"1763794000.000000005\n"
        );
        assert_eq!(
            answers_due(
                &prompts,
                "vdso: HOST_REALTIME?",
                at(1_763_794_001, 999_999_999)
            ),
            b"1763794001.999999999\n"
        );
        assert!(answers_due(&prompts, "HOST_REALTIME", at(1, 0)).is_empty());
        assert!(answers_due(&[], "HOST_REALTIME?", at(1, 0)).is_empty());
    }

    #[test]
    fn captured_boots_never_read_stdin_or_open_a_monitor() {
        let arguments = boot_arguments(
            Console::Captured,
            Debugger::None,
            Timing::HostClock,
            Path::new("/images/boot.elf"),
        );
        assert_eq!(
            arguments,
            [
                "-serial",
                "stdio",
                "-monitor",
                "none",
                "-kernel",
                "/images/boot.elf"
            ]
        );
    }

    #[test]
    fn interactive_gdb_and_icount_arguments() {
        let arguments = boot_arguments(
            Console::Interactive,
            Debugger::WaitForGdb,
            Timing::InstructionCount,
            Path::new("/i.elf"),
        );
        assert_eq!(
            arguments,
            [
                "-serial",
                "mon:stdio",
                "-s",
                "-S",
                "-icount",
                "shift=0,sleep=off",
                "-kernel",
                "/i.elf"
            ]
        );
    }

    #[test]
    fn line_text_strips_serial_line_endings_and_survives_bad_utf8() {
        assert_eq!(line_text(b"hello\r\n"), "hello");
        assert_eq!(line_text(b"partial"), "partial");
        assert_eq!(line_text(b"\xffok\n"), "\u{fffd}ok");
    }

    #[test]
    fn long_lines_are_split_and_the_last_line_may_lack_a_newline() {
        let mut input: &[u8] = b"ab\ncdefgh\n\nxyz";
        let mut lines = Vec::new();
        while let Some(line) = read_line_bounded(&mut input, 4).unwrap() {
            lines.push(line);
        }
        let expected: [&[u8]; 5] = [b"ab\n", b"cdef", b"gh\n", b"\n", b"xyz"];
        assert_eq!(lines, expected);
    }

    #[test]
    fn bounded_log_keeps_start_and_end() {
        let mut log = BoundedLog::new(4, 3);
        log.push(b"ab");
        log.push(b"cdefg");
        assert_eq!(log.into_bytes(), b"abcdefg");

        let mut log = BoundedLog::new(4, 3);
        for chunk in [&b"abc"[..], b"defgh", b"ijkl"] {
            log.push(chunk);
        }
        assert_eq!(
            String::from_utf8(log.into_bytes()).unwrap(),
            "abcd\n[... xtask dropped 5 bytes of console output ...]\njkl"
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/work/target/kernel"), "/work/target/kernel");
        assert_eq!(shell_quote("target remote :1234"), "'target remote :1234'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
