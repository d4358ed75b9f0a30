//! `cargo xtask fuzz TARGET --seconds N` and `cargo xtask fuzz --list`: runs one host fuzz
//! target of `crates/fuzz` for a time budget, optimised (`--release`, with overflow checks
//! and debug assertions turned back on so arithmetic bugs still panic).
//!
//! Depends on std only, so `crates/fuzz/tests/fuzz.rs` compiles it to check the target
//! list against the registered targets.

use std::path::Path;
use std::process::Command;

/// The fuzz targets, as `crates/fuzz` registers them.
const TARGETS: [&str; 5] = [
    "elf_plan",
    "cpio",
    "vdso_check",
    "syscall_args",
    "kernel_decoders",
];

/// The names `cargo xtask fuzz` accepts.
pub fn list() -> &'static [&'static str] {
    &TARGETS
}

/// Fuzzes `target` for `seconds` seconds: `cargo test -p fuzz --release --test fuzz --
/// fuzz_<target> --exact --nocapture` with `FUZZ_SECONDS` set. A crash fails the run; the
/// output names the saved input (`target/fuzz/crashes/<target>/`) and the command that
/// replays it. `FUZZ_SEED` in the environment is passed through.
///
/// # Errors
/// An unknown target (the message lists the known ones), cargo not starting, or a failed
/// run (a crash, or a build error).
pub fn run(workspace_root: &Path, target: &str, seconds: u64) -> Result<(), String> {
    if !TARGETS.contains(&target) {
        return Err(format!(
            "unknown fuzz target {target:?}; the targets are: {}",
            TARGETS.join(", ")
        ));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let test_name = format!("fuzz_{target}");
    let status = Command::new(cargo)
        .current_dir(workspace_root)
        .args(["test", "--package", "fuzz", "--release", "--test", "fuzz"])
        // Keep the checks the test profile has: release would turn overflow into silent
        // wrapping, hiding exactly the bugs fuzzing is for.
        .args(["--config", "profile.release.overflow-checks=true"])
        .args(["--config", "profile.release.debug-assertions=true"])
        .args(["--", &test_name, "--exact", "--nocapture"])
        .env("FUZZ_SECONDS", seconds.to_string())
        .status()
        .map_err(|error| format!("running cargo test for fuzz target {target}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "fuzz target {target} failed ({status}); see the output above for the saved input and how to replay it"
        ))
    }
}
