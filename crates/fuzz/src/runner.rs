//! The fuzzing loop: loads a target's corpus, runs every seed, then mutates and generates
//! inputs until the time budget is spent, catching panics and saving the input that
//! caused one.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::mutate::mutate;
use crate::rng::Rng;
use crate::targets::Target;

/// How long and from which seed to fuzz.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Time budget, after the seeds have run.
    pub duration: Duration,
    /// Seed of the mutation generator.
    pub seed: u64,
    /// The workspace root (seeds, corpus and crash directories are found from it).
    pub root: PathBuf,
    /// Whether to go on after a crash, collecting one input per panic location.
    pub keep_going: KeepGoing,
}

/// What the runner does after the first crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepGoing {
    /// Stop and report it (the default: a test run).
    No,
    /// Save one input per distinct panic location and carry on (`FUZZ_KEEP_GOING=1`,
    /// for long runs hunting several bugs).
    Yes,
}

impl RunOptions {
    /// Options from the environment: `FUZZ_SECONDS` (default 2, fractions allowed),
    /// `FUZZ_SEED` (decimal or `0x` hex; default taken from the clock) and
    /// `FUZZ_KEEP_GOING` (`1` to collect every distinct crash).
    ///
    /// # Panics
    /// If either variable is set but unreadable: a typo should not silently fuzz for the
    /// default time.
    #[must_use]
    pub fn from_environment(root: PathBuf) -> RunOptions {
        let seconds = match std::env::var("FUZZ_SECONDS") {
            Ok(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .unwrap_or_else(|| panic!("FUZZ_SECONDS={text:?} is not a number of seconds")),
            Err(_) => 2.0,
        };
        let seed = match std::env::var("FUZZ_SEED") {
            Ok(text) => parse_seed(&text)
                .unwrap_or_else(|| panic!("FUZZ_SEED={text:?} is not a decimal or 0x number")),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(0x5eed),
        };
        let keep_going = match std::env::var("FUZZ_KEEP_GOING").as_deref() {
            Ok("1") => KeepGoing::Yes,
            _ => KeepGoing::No,
        };
        RunOptions {
            duration: Duration::from_secs_f64(seconds),
            seed,
            root,
            keep_going,
        }
    }
}

fn parse_seed(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Statistics {
    pub target: &'static str,
    /// Inputs executed, seeds included.
    pub executions: u64,
    pub elapsed: Duration,
    /// Seed inputs the run started from.
    pub corpus: usize,
    pub seed: u64,
}

impl Statistics {
    /// Executions per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Statistics {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "fuzz {}: {} executions in {:.1} s ({:.0}/s), {} seeds, FUZZ_SEED={:#x}",
            self.target,
            self.executions,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.corpus,
            self.seed
        )
    }
}

/// An input that broke an invariant.
#[derive(Clone, Debug)]
pub struct Crash {
    pub target: &'static str,
    /// The panic message.
    pub message: String,
    /// Where it panicked (`file:line:column`), if known.
    pub location: Option<String>,
    /// Where the input was saved (`None` if saving failed; the message says why).
    pub saved: Option<PathBuf>,
    pub input_length: usize,
}

impl fmt::Display for Crash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "fuzz target {} failed on a {}-byte input at {}: {}",
            self.target,
            self.input_length,
            self.location.as_deref().unwrap_or("an unknown location"),
            self.message
        )?;
        match &self.saved {
            Some(path) => write!(
                formatter,
                "input saved to {path}\nreproduce: FUZZ_INPUT={path} cargo test -p fuzz --test fuzz -- fuzz_{target} --exact --nocapture\n\
                 once fixed (or reported), keep it: cp {path} crates/fuzz/regressions/{target}/",
                path = path.display(),
                target = self.target
            ),
            None => write!(formatter, "the input could not be saved"),
        }
    }
}

/// The workspace root, from this crate's manifest directory.
#[must_use]
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `target/fuzz/crashes/<target>` (under `CARGO_TARGET_DIR` if that is set).
#[must_use]
pub fn crash_directory(root: &Path, target: &str) -> PathBuf {
    let target_directory = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|directory| {
            if directory.is_absolute() {
                directory
            } else {
                root.join(directory)
            }
        })
        .unwrap_or_else(|| root.join("target"));
    target_directory.join("fuzz").join("crashes").join(target)
}

/// The files of `directory`, sorted by name, skipping dot-files (`.gitkeep`); nothing if
/// the directory does not exist.
///
/// # Panics
/// If a listed file cannot be read.
#[must_use]
pub fn load_directory(directory: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .filter(|path| {
            !path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            (path, bytes)
        })
        .collect()
}

/// Every starting input of `target`: its checked-in corpus, its regressions and the seeds
/// it builds (from artefacts or its generator).
fn starting_corpus(target: &Target, root: &Path) -> Vec<Vec<u8>> {
    let fuzz_directory = root.join("crates").join("fuzz");
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for kind in ["corpus", "regressions"] {
        corpus.extend(
            load_directory(&fuzz_directory.join(kind).join(target.name))
                .into_iter()
                .map(|(_, bytes)| bytes),
        );
    }
    corpus.extend((target.seeds)(root));
    corpus
}

/// A panic caught while running one input.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    message: String,
    location: Option<String>,
}

thread_local! {
    /// Set while the runner executes an input: its panics are reported by the runner,
    /// not printed by the default hook (a long run may hit one bug thousands of times).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic on this thread happened.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that records each panic's location and
/// stays quiet for panics inside [`execute`]; other panics print as usual.
fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location().map(|location| {
                format!(
                    "{}:{}:{}",
                    location.file(),
                    location.line(),
                    location.column()
                )
            });
            LAST_LOCATION.with(|last| *last.borrow_mut() = location);
            if !QUIET.with(Cell::get) {
                default_hook(info);
            }
        }));
    });
}

/// Runs `input` through `target`, turning a panic into its message and location.
fn execute(target: &Target, input: &[u8]) -> Result<(), Failure> {
    install_panic_hook();
    QUIET.with(|quiet| quiet.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    QUIET.with(|quiet| quiet.set(false));
    result.map_err(|payload| Failure {
        message: payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| String::from("a panic without a message")),
        location: LAST_LOCATION.with(|last| last.borrow_mut().take()),
    })
}

/// What a run found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub statistics: Statistics,
    /// One per distinct panic location (at most one unless [`KeepGoing::Yes`]).
    pub crashes: Vec<Crash>,
}

/// Fuzzes `target` for `options.duration`, saving each crashing input under
/// [`crash_directory`].
#[must_use]
pub fn run_target(target: &Target, options: &RunOptions) -> Outcome {
    let started = Instant::now();
    let corpus = starting_corpus(target, &options.root);
    let mut executions = 0_u64;
    let mut crashes = Vec::new();
    let mut locations = BTreeSet::new();
    let mut record = |input: &[u8], failure: Failure| {
        if locations.insert(failure.location.clone()) {
            crashes.push(save_crash(target, &options.root, input, failure));
        }
        options.keep_going == KeepGoing::No
    };
    let mut stopped = false;
    for input in &corpus {
        executions += 1;
        if let Err(failure) = execute(target, input) {
            if record(input, failure) {
                stopped = true;
                break;
            }
        }
    }
    let mut rng = Rng::new(options.seed);
    let deadline = Instant::now() + options.duration;
    let mut input = Vec::new();
    while !stopped && Instant::now() < deadline {
        // Generated inputs are well-formed-ish already: mutate only half of them.
        let generated = corpus.is_empty() || rng.one_in(4);
        if generated {
            input = (target.generate)(&mut rng);
        } else {
            input.clear();
            input.extend_from_slice(&corpus[rng.below(corpus.len())]);
        }
        if !generated || rng.one_in(2) {
            mutate(&mut rng, &mut input, &corpus, target.max_length);
        }
        executions += 1;
        if let Err(failure) = execute(target, &input) {
            stopped = record(&input, failure);
        }
    }
    Outcome {
        statistics: Statistics {
            target: target.name,
            executions,
            elapsed: started.elapsed(),
            corpus: corpus.len(),
            seed: options.seed,
        },
        crashes,
    }
}

fn save_crash(target: &Target, root: &Path, input: &[u8], failure: Failure) -> Crash {
    let directory = crash_directory(root, target.name);
    let path = directory.join(format!("{:016x}", fnv1a(input)));
    let saved = std::fs::create_dir_all(&directory)
        .and_then(|()| std::fs::write(&path, input))
        .map(|()| path)
        .map_err(|error| eprintln!("fuzz: cannot save the crashing input: {error}"))
        .ok();
    Crash {
        target: target.name,
        message: failure.message,
        location: failure.location,
        saved,
        input_length: input.len(),
    }
}

/// Shrinks a crashing input: removes ever smaller chunks while the target still panics
/// at the same place. `None` if `input` does not crash.
#[must_use]
pub fn minimize(target: &Target, input: &[u8]) -> Option<Vec<u8>> {
    let location = execute(target, input).err()?.location;
    let still_fails = |candidate: &[u8]| {
        execute(target, candidate).is_err_and(|failure| failure.location == location)
    };
    let mut best = input.to_vec();
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < best.len() {
            let end = (start + chunk).min(best.len());
            let mut candidate = best.clone();
            candidate.drain(start..end);
            if still_fails(&candidate) {
                best = candidate;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    Some(best)
}

/// Runs every file in `inputs` through `target`, returning one line per failure.
#[must_use]
pub fn replay(target: &Target, inputs: &[(PathBuf, Vec<u8>)]) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|(path, bytes)| {
            execute(target, bytes).err().map(|failure| {
                format!(
                    "{}: {} (at {})",
                    path.display(),
                    failure.message,
                    failure.location.as_deref().unwrap_or("?")
                )
            })
        })
        .collect()
}

/// Runs one file through `target` without catching the panic, so the test fails with the
/// full message and backtrace.
///
/// # Panics
/// If the file cannot be read, or the target panics on it.
pub fn replay_file(target: &Target, path: &Path) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    (target.run)(&bytes);
    println!(
        "fuzz {}: {} ({} bytes) passes",
        target.name,
        path.display(),
        bytes.len()
    );
}

/// FNV-1a, naming crash files by content so one input is saved once.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panics_on_magic(input: &[u8]) {
        assert!(!input.starts_with(b"BAD"), "found the magic");
    }

    fn no_seeds(_root: &Path) -> Vec<Vec<u8>> {
        vec![b"BAC".to_vec()]
    }

    fn generate(rng: &mut Rng) -> Vec<u8> {
        vec![b'B', b'A', rng.byte()]
    }

    #[test]
    fn a_crash_is_caught_saved_and_explained() {
        let target = Target {
            name: "runner_self_test",
            run: panics_on_magic,
            seeds: no_seeds,
            generate,
            max_length: 8,
        };
        let root = std::env::temp_dir().join(format!("fuzz-runner-{}", std::process::id()));
        let options = RunOptions {
            duration: Duration::from_secs(20),
            seed: 1,
            root: root.clone(),
            keep_going: KeepGoing::No,
        };
        let outcome = run_target(&target, &options);
        let [crash] = outcome.crashes.as_slice() else {
            panic!("want one crash, got {:?}", outcome.crashes);
        };
        assert!(
            outcome.statistics.elapsed < Duration::from_secs(20),
            "the run stops at the crash"
        );
        assert!(crash.message.contains("found the magic"), "{crash}");
        assert!(
            crash
                .location
                .as_deref()
                .is_some_and(|at| at.contains("runner.rs")),
            "{crash}"
        );
        let minimal = minimize(&target, b"BADxyzzy").expect("BAD crashes");
        assert_eq!(minimal, b"BAD");
        assert_eq!(minimize(&target, b"fine"), None);
        let saved = crash.saved.clone().expect("saved");
        assert!(std::fs::read(&saved).expect("written").starts_with(b"BAD"));
        assert!(crash.to_string().contains("fuzz_runner_self_test --exact"));
        // The crash lands under CARGO_TARGET_DIR when that is set, so `root` may never
        // have been created: clean up what exists.
        let _ = std::fs::remove_file(&saved);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn seeds_parse_in_decimal_and_hex() {
        assert_eq!(parse_seed("42"), Some(42));
        assert_eq!(parse_seed("0x2a"), Some(42));
        assert_eq!(parse_seed("x"), None);
    }
}
