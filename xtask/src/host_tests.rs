//! Host unit tests: runs `cargo test` over the workspace's default members (the
//! host-testable crates) and turns libtest's output into one result per test, named
//! `host::<crate>::<test>`; a crate that fails to compile is a failed result too.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::error::{Error, Result};
use crate::results::{Case, Outcome, Suite};
use crate::workspace::Workspace;

/// The suite prefix of every host result.
pub const PREFIX: &str = "host";

/// Results of the host tests plus cargo's full output (saved to the host log).
#[derive(Debug)]
pub struct HostRun {
    pub suites: Vec<Suite>,
    pub output: String,
    /// Whether a crate failed to compile; the caller then shows the whole output.
    pub compile_failed: bool,
}

/// Runs `cargo test --no-fail-fast` with cargo's and libtest's output merged into one pipe
/// (so each test line follows the `Running`/`Doc-tests` line of its binary), printing each
/// binary's results as its summary arrives. `filter`, if given, keeps only tests whose full
/// name contains it; build and crash failures are always kept.
///
/// # Errors
/// Cargo cannot be started.
pub fn run(workspace: &Workspace, filter: Option<&str>) -> Result<HostRun> {
    let (reader, writer) =
        std::io::pipe().map_err(|error| Error::io("creating a pipe for cargo test", error))?;
    let error_writer = writer
        .try_clone()
        .map_err(|error| Error::io("duplicating the cargo test pipe", error))?;
    let mut child = {
        let mut command = workspace.cargo();
        command
            .args(["test", "--no-fail-fast", "--color", "never"])
            .args(["--", "--color", "never"])
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(error_writer);
        // The command holds our copies of the pipe's write end; dropping it with this
        // block lets the reader see end of file when cargo exits.
        command
            .spawn()
            .map_err(|error| Error::io("running cargo test", error))?
    };
    let mut parser = LibtestParser::new(filter);
    let mut output = String::new();
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        for suite in parser.feed(&line) {
            crate::results::print_suite(&suite);
        }
        output.push_str(&line);
        output.push('\n');
    }
    let status = child
        .wait()
        .map_err(|error| Error::io("waiting for cargo test", error))?;
    for suite in parser.finish(status.success(), &status.to_string()) {
        crate::results::print_suite(&suite);
    }
    Ok(HostRun {
        compile_failed: parser.compile_failed,
        suites: parser.suites,
        output,
    })
}

/// Turns libtest and cargo output, line by line, into suites of results.
#[derive(Debug)]
pub struct LibtestParser {
    filter: Option<String>,
    /// Crate of the test binary whose output is being read.
    current_crate: Option<String>,
    /// A `running N tests` line was seen and its `test result:` line not yet.
    binary_running: bool,
    pending: Vec<(String, Status)>,
    /// `---- <test> stdout ----` section being read and the lines read so far.
    failure_section: Option<(String, Vec<String>)>,
    failure_reasons: Vec<(String, String)>,
    /// Suites in order of first result.
    pub suites: Vec<Suite>,
    pub compile_failed: bool,
    /// A failure was seen, whether or not the filter kept it.
    saw_failure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Ok,
    Failed,
    Ignored(String),
}

impl LibtestParser {
    pub fn new(filter: Option<&str>) -> Self {
        Self {
            filter: filter.map(str::to_owned),
            current_crate: None,
            binary_running: false,
            pending: Vec::new(),
            failure_section: None,
            failure_reasons: Vec::new(),
            suites: Vec::new(),
            compile_failed: false,
            saw_failure: false,
        }
    }

    /// Reads one line; returns suites whose results became final with it (each suite
    /// is returned with only the cases new since it was last returned).
    pub fn feed(&mut self, line: &str) -> Vec<Suite> {
        let before = self.snapshot();
        self.read_line(line);
        self.new_since(before)
    }

    /// Ends the output; `cargo_succeeded` and `cargo_status` describe cargo's exit.
    pub fn finish(&mut self, cargo_succeeded: bool, cargo_status: &str) -> Vec<Suite> {
        let before = self.snapshot();
        self.end_binary();
        if !cargo_succeeded && !self.saw_failure {
            self.add(
                "cargo",
                Case::fail("test", format!("cargo test failed ({cargo_status})")),
            );
        }
        self.new_since(before)
    }

    fn read_line(&mut self, line: &str) {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            self.end_binary();
            self.current_crate = binary_crate(rest);
            return;
        }
        if let Some(crate_name) = trimmed.strip_prefix("Doc-tests ") {
            self.end_binary();
            self.current_crate = Some(crate_name.trim().to_owned());
            return;
        }
        if let Some((crate_name, name)) = compile_failure(trimmed) {
            self.compile_failed = true;
            self.add(
                &crate_name,
                Case::fail(name, trimmed.trim_start_matches("error: ")),
            );
            return;
        }
        if line.starts_with("running ") && (line.ends_with(" tests") || line.ends_with(" test")) {
            self.binary_running = true;
            return;
        }
        if line.starts_with("test result: ") {
            self.flush_binary();
            return;
        }
        if let Some((name, status)) = test_line(line) {
            self.saw_failure |= status == Status::Failed;
            self.pending.push((name, status));
            return;
        }
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            self.close_failure_section();
            self.failure_section = Some((name.to_owned(), Vec::new()));
            return;
        }
        if line == "failures:" || line.starts_with("test result:") {
            self.close_failure_section();
            return;
        }
        if let Some((_, lines)) = &mut self.failure_section {
            lines.push(line.to_owned());
        }
    }

    /// A binary's output ended before its `test result:` line: it crashed.
    fn end_binary(&mut self) {
        if self.binary_running {
            let crate_name = self.crate_name();
            self.flush_binary();
            self.add(
                &crate_name,
                Case::fail(
                    "(test binary)",
                    "the test binary ended without a summary (it crashed or was killed)",
                ),
            );
        }
    }

    fn flush_binary(&mut self) {
        self.close_failure_section();
        self.binary_running = false;
        let crate_name = self.crate_name();
        let reasons = std::mem::take(&mut self.failure_reasons);
        for (name, status) in std::mem::take(&mut self.pending) {
            let full_name = format!("{PREFIX}::{crate_name}::{name}");
            if self
                .filter
                .as_deref()
                .is_some_and(|filter| !full_name.contains(filter))
            {
                continue;
            }
            let outcome = match status {
                Status::Ok => Outcome::Pass,
                Status::Ignored(reason) => Outcome::Skip(reason),
                Status::Failed => Outcome::Fail(
                    reasons
                        .iter()
                        .find(|(failed, _)| *failed == name)
                        .map_or_else(|| "failed".to_owned(), |(_, reason)| reason.clone()),
                ),
            };
            self.add(&crate_name, Case { name, outcome });
        }
    }

    fn close_failure_section(&mut self) {
        if let Some((name, lines)) = self.failure_section.take() {
            self.failure_reasons.push((name, failure_reason(&lines)));
        }
    }

    fn crate_name(&self) -> String {
        self.current_crate
            .clone()
            .unwrap_or_else(|| "unknown".to_owned())
    }

    fn add(&mut self, crate_name: &str, case: Case) {
        self.saw_failure |= matches!(case.outcome, Outcome::Fail(_));
        let suite_name = format!("{PREFIX}::{crate_name}");
        match self
            .suites
            .iter_mut()
            .find(|suite| suite.name == suite_name)
        {
            Some(suite) => suite.cases.push(case),
            None => {
                let mut suite = Suite::new(suite_name);
                suite.cases.push(case);
                self.suites.push(suite);
            }
        }
    }

    fn snapshot(&self) -> Vec<usize> {
        self.suites.iter().map(|suite| suite.cases.len()).collect()
    }

    fn new_since(&mut self, before: Vec<usize>) -> Vec<Suite> {
        self.suites
            .iter()
            .enumerate()
            .filter_map(|(index, suite)| {
                let seen = before.get(index).copied().unwrap_or(0);
                let cases = suite.cases.get(seen..).unwrap_or_default();
                (!cases.is_empty()).then(|| Suite {
                    name: suite.name.clone(),
                    cases: cases.to_vec(),
                    ..Suite::default()
                })
            })
            .collect()
    }
}

/// The crate of a `Running unittests src/lib.rs (target/debug/deps/sel4-0123abcd)` line:
/// the binary's file name without cargo's hash. For an integration test that is the test's
/// own crate, which is what Rust calls it.
fn binary_crate(running: &str) -> Option<String> {
    let inside = running.rsplit_once('(')?.1.strip_suffix(')')?;
    let file_name = inside.rsplit(['/', '\\']).next()?;
    let stem = file_name.strip_suffix(".exe").unwrap_or(file_name);
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => Some(name.to_owned()),
        _ => Some(stem.to_owned()),
    }
}

/// The crate and the result name for cargo's "error: could not compile `<crate>` (<what>)
/// due to ..." line: `build (<what>)`, so a crate whose library and tests both fail gets
/// two distinct results.
fn compile_failure(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("error: could not compile `")?;
    let (crate_name, rest) = rest.split_once('`')?;
    let name = match rest
        .trim_start()
        .strip_prefix('(')
        .and_then(|what| what.split_once(')'))
    {
        Some((what, _)) => format!("build ({what})"),
        None => "build".to_owned(),
    };
    Some((crate_name.replace('-', "_"), name))
}

/// `test <name> ... ok|FAILED|ignored[, reason]`.
fn test_line(line: &str) -> Option<(String, Status)> {
    let rest = line.strip_prefix("test ")?;
    let (name, status) = rest.rsplit_once(" ... ")?;
    let status = match status.trim_end() {
        "ok" => Status::Ok,
        "FAILED" => Status::Failed,
        "ignored" => Status::Ignored(String::new()),
        other => Status::Ignored(other.strip_prefix("ignored, ")?.to_owned()),
    };
    Some((name.to_owned(), status))
}

/// The gist of a failed test's captured output: where it panicked and the message, on one
/// line; otherwise its first non-empty line.
fn failure_reason(lines: &[String]) -> String {
    let mut non_empty = lines
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty());
    let Some(first) = non_empty.clone().next() else {
        return "failed (no output)".to_owned();
    };
    let panic_line = non_empty
        .by_ref()
        .find(|line| line.starts_with("thread '") && line.contains("panicked at"));
    let Some(panic_line) = panic_line else {
        return first.to_owned();
    };
    let location = panic_line
        .split_once("panicked at ")
        .map_or(panic_line, |(_, location)| location);
    // Since Rust 1.73 the message follows the location on its own line(s).
    match location.strip_suffix(':') {
        Some(location) => {
            let message: Vec<&str> = non_empty
                .take_while(|line| !line.starts_with("note: ") && *line != "stack backtrace:")
                .collect();
            format!("panicked at {location}: {}", message.join(" "))
        }
        None => format!("panicked at {location}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(output: &str, cargo_succeeded: bool) -> Vec<Suite> {
        let mut parser = LibtestParser::new(None);
        for line in output.lines() {
            parser.feed(line);
        }
        parser.finish(cargo_succeeded, "exit status: 101");
        parser.suites
    }

    fn names(suites: &[Suite]) -> Vec<String> {
        suites
            .iter()
            .flat_map(|suite| {
                suite
                    .cases
                    .iter()
                    .map(move |case| format!("{}::{}", suite.name, case.name))
            })
            .collect()
    }

    const MIXED: &str = "\
   Compiling sel4 v0.1.0 (/work/main/crates/sel4)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 1.02s
     Running unittests src/lib.rs (target/debug/deps/sel4-9f0e1d2c3b4a5968)

running 3 tests
test cap::tests::derive ... ok
test cap::tests::mint ... FAILED
test cap::tests::slow ... ignored, takes a minute

failures:

---- cap::tests::mint stdout ----

thread 'cap::tests::mint' panicked at crates/sel4/src/cap.rs:40:9:
assertion `left == right` failed
  left: 1
 right: 2
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    cap::tests::mint

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `-p sel4 --lib`
     Running tests/layout.rs (target/debug/deps/layout-00112233aabbccdd)

running 1 test
test ipc_buffer_is_one_page ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests boot_handoff

running 1 test
test crates/boot-handoff/src/lib.rs - PhysRegion (line 40) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

error: 1 target failed:
    `-p sel4 --lib`
";

    #[test]
    fn results_are_named_by_crate_and_carry_the_panic_message() {
        let suites = parse(MIXED, false);
        assert_eq!(
            names(&suites),
            [
                "host::sel4::cap::tests::derive",
                "host::sel4::cap::tests::mint",
                "host::sel4::cap::tests::slow",
                "host::layout::ipc_buffer_is_one_page",
                "host::boot_handoff::crates/boot-handoff/src/lib.rs - PhysRegion (line 40)",
            ]
        );
        let sel4 = &suites[0].cases;
        assert_eq!(sel4[0].outcome, Outcome::Pass);
        assert_eq!(
            sel4[1].outcome,
            Outcome::Fail(
                "panicked at crates/sel4/src/cap.rs:40:9: assertion `left == right` failed \
                 left: 1 right: 2"
                    .into()
            )
        );
        assert_eq!(sel4[2].outcome, Outcome::Skip("takes a minute".into()));
    }

    #[test]
    fn compile_errors_are_failed_results() {
        let output = "\
   Compiling kernel-core v0.1.0 (/work/main/crates/kernel-core)
error[E0308]: mismatched types
 --> crates/kernel-core/src/lib.rs:3:5
error: could not compile `kernel-core` (lib test) due to 1 previous error
warning: build failed, waiting for other jobs to finish...
error: could not compile `kernel-core` (lib) due to 1 previous error
";
        let mut parser = LibtestParser::new(None);
        for line in output.lines() {
            parser.feed(line);
        }
        parser.finish(false, "exit status: 101");
        assert!(parser.compile_failed);
        assert_eq!(
            names(&parser.suites),
            [
                "host::kernel_core::build (lib test)",
                "host::kernel_core::build (lib)"
            ]
        );
        assert_eq!(
            parser.suites[0].cases[0].outcome,
            Outcome::Fail(
                "could not compile `kernel-core` (lib test) due to 1 previous error".into()
            )
        );
    }

    #[test]
    fn a_crashed_binary_and_an_unexplained_cargo_failure_are_failures() {
        let crashed = "\
     Running unittests src/lib.rs (target/debug/deps/kernel_core-0123456789abcdef)

running 2 tests
test a ... ok
error: test failed, to rerun pass `-p kernel-core --lib`
";
        let suites = parse(crashed, false);
        assert_eq!(
            names(&suites),
            ["host::kernel_core::a", "host::kernel_core::(test binary)"]
        );
        assert!(matches!(suites[0].cases[1].outcome, Outcome::Fail(_)));

        let suites = parse("error: some cargo problem\n", false);
        assert_eq!(names(&suites), ["host::cargo::test"]);
        assert!(parse("", true).is_empty());
    }

    #[test]
    fn feed_reports_each_binary_when_its_summary_arrives() {
        let mut parser = LibtestParser::new(None);
        let mut reported = Vec::new();
        for line in MIXED.lines() {
            let suites = parser.feed(line);
            if line.starts_with("test result:") {
                assert!(!suites.is_empty(), "results at {line:?}");
            } else {
                assert!(suites.is_empty(), "nothing reported at {line:?}");
            }
            reported.extend(suites);
        }
        assert_eq!(names(&reported).len(), 5);
    }

    #[test]
    fn the_filter_matches_full_names() {
        let mut parser = LibtestParser::new(Some("host::layout"));
        for line in MIXED.lines() {
            parser.feed(line);
        }
        parser.finish(true, "exit status: 0");
        assert_eq!(
            names(&parser.suites),
            ["host::layout::ipc_buffer_is_one_page"]
        );

        // A failure the filter hides is not reported again as an unexplained cargo failure.
        let mut parser = LibtestParser::new(Some("host::layout"));
        for line in MIXED.lines() {
            parser.feed(line);
        }
        let late = parser.finish(false, "exit status: 101");
        assert!(late.is_empty(), "{late:?}");
    }

    #[test]
    fn backtraces_are_left_out_of_reasons() {
        let lines: Vec<String> = [
            "thread 'x' panicked at src/lib.rs:2:5:",
            "boom",
            "stack backtrace:",
            "   0: __rustc::rust_begin_unwind",
        ]
        .iter()
        .map(|line| (*line).to_owned())
        .collect();
        assert_eq!(failure_reason(&lines), "panicked at src/lib.rs:2:5: boom");
    }

    #[test]
    fn compile_failure_lines() {
        assert_eq!(
            compile_failure("error: could not compile `vdso-check` (lib) due to 3 previous errors"),
            Some(("vdso_check".to_owned(), "build (lib)".to_owned()))
        );
        assert_eq!(
            compile_failure("error: could not compile `x`"),
            Some(("x".to_owned(), "build".to_owned()))
        );
        assert_eq!(
            compile_failure("error: test failed, to rerun pass `-p x --lib`"),
            None
        );
    }

    #[test]
    fn binary_crate_names_drop_the_hash() {
        assert_eq!(
            binary_crate("unittests src/lib.rs (target/debug/deps/boot_handoff-0a1b2c3d4e5f6789)")
                .as_deref(),
            Some("boot_handoff")
        );
        assert_eq!(
            binary_crate("tests/x.rs (target/debug/deps/my-test)").as_deref(),
            Some("my-test")
        );
        assert_eq!(binary_crate("no parentheses"), None);
    }

    #[test]
    fn old_style_panics_and_plain_output_give_reasons() {
        let old = ["thread 'a' panicked at 'boom', src/lib.rs:1:1".to_owned()];
        assert_eq!(failure_reason(&old), "panicked at 'boom', src/lib.rs:1:1");
        let plain = [String::new(), "Error: \"bad\"".to_owned()];
        assert_eq!(failure_reason(&plain), "Error: \"bad\"");
        assert_eq!(failure_reason(&[]), "failed (no output)");
    }
}
