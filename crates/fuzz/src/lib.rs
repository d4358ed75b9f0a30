//! Host fuzzing on stable Rust, without coverage instrumentation: a blind mutation fuzzer
//! seeded by valid inputs, for the parsers and decoders that hostile programs and files
//! reach (ELF load planning, cpio, the vDSO checker, Linux syscall arguments and the
//! kernel's invocation decoders).
//!
//! Stable Rust has no sanitizer coverage, so nothing tells the engine which inputs reach new
//! code. It compensates in two ways. Each target starts from valid inputs (checked-in seeds
//! in `corpus/<target>/`, real artefacts such as `linux-personality/testdata/exit_static`
//! and `target/vdso/vdso.so`, and seeds its generator builds), and mutates them a few bytes
//! at a time, so most inputs stay close to well-formed and get deep into the code. And the
//! decoder targets are structure-aware: they read their input through [`Source`], which
//! turns bytes into choices among meaningful values (labels, slot addresses, flag
//! combinations, page-aligned addresses), so random bytes already make well-formed-ish
//! calls and byte mutations become structural ones.
//!
//! Every target is a `fn(&[u8])` that panics when an invariant breaks; the runner
//! ([`run_target`]) catches the panic, writes the input to
//! `target/fuzz/crashes/<target>/<hash>` and reports how to replay it. New interesting
//! inputs are not written back, keeping the tree clean; crashes that were fixed or reported
//! go into `regressions/<target>/`, which `cargo test -p fuzz` replays.

#![forbid(unsafe_code)]

mod mutate;
mod rng;
mod runner;
mod source;
pub mod targets;

pub use mutate::mutate;
pub use rng::Rng;
pub use runner::{
    crash_directory, load_directory, minimize, replay, replay_file, run_target, workspace_root,
    Crash, KeepGoing, Outcome, RunOptions, Statistics,
};
pub use source::Source;
pub use targets::{find, Target, TARGETS};
