//! `cargo test -p fuzz`: replays each target's seeds and regressions, then fuzzes each
//! target for `FUZZ_SECONDS` (default 2). `FUZZ_INPUT=FILE` replays one file instead
//! (the reproduction command a crash prints); `FUZZ_MINIMIZE=FILE` shrinks a crashing file
//! to `FILE.min`; `FUZZ_SEED` fixes the mutation sequence; `FUZZ_KEEP_GOING=1` collects
//! every distinct crash instead of stopping at the first.

use std::path::{Path, PathBuf};

use fuzz::{
    find, load_directory, minimize, replay, replay_file, run_target, workspace_root, RunOptions,
};

/// Fuzzes `name` for the configured time, or replays `FUZZ_INPUT`, or shrinks
/// `FUZZ_MINIMIZE`.
fn fuzz_target(name: &str) {
    let target = find(name).expect("a registered target");
    if let Some(input) = std::env::var_os("FUZZ_INPUT") {
        replay_file(target, Path::new(&input));
        return;
    }
    if let Some(input) = std::env::var_os("FUZZ_MINIMIZE") {
        let path = PathBuf::from(input);
        let bytes = std::fs::read(&path).expect("reading the input to minimize");
        let minimal = minimize(target, &bytes).expect("the input does not crash");
        let mut output = path.into_os_string();
        output.push(".min");
        std::fs::write(&output, &minimal).expect("writing the minimized input");
        println!(
            "{} bytes -> {} bytes: {}",
            bytes.len(),
            minimal.len(),
            Path::new(&output).display()
        );
        return;
    }
    let options = RunOptions::from_environment(workspace_root());
    let outcome = run_target(target, &options);
    println!("{}", outcome.statistics);
    if !outcome.crashes.is_empty() {
        let reports: Vec<String> = outcome.crashes.iter().map(ToString::to_string).collect();
        panic!("{}", reports.join("\n\n"));
    }
}

/// Replays every file in `regressions/<name>/` and `corpus/<name>/`.
fn regressions(name: &str) {
    let target = find(name).expect("a registered target");
    let root = workspace_root().join("crates/fuzz");
    let mut inputs = load_directory(&root.join("regressions").join(name));
    inputs.extend(load_directory(&root.join("corpus").join(name)));
    let failures = replay(target, &inputs);
    assert!(
        failures.is_empty(),
        "{} of {} saved inputs fail:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
}

#[test]
fn fuzz_elf_plan() {
    fuzz_target("elf_plan");
}

#[test]
fn fuzz_cpio() {
    fuzz_target("cpio");
}

#[test]
fn fuzz_vdso_check() {
    fuzz_target("vdso_check");
}

#[test]
fn fuzz_syscall_args() {
    fuzz_target("syscall_args");
}

#[test]
fn fuzz_kernel_decoders() {
    fuzz_target("kernel_decoders");
}

#[test]
fn regressions_elf_plan() {
    regressions("elf_plan");
}

#[test]
fn regressions_cpio() {
    regressions("cpio");
}

#[test]
fn regressions_vdso_check() {
    regressions("vdso_check");
}

#[test]
fn regressions_syscall_args() {
    regressions("syscall_args");
}

#[test]
fn regressions_kernel_decoders() {
    regressions("kernel_decoders");
}

/// xtask's fuzz module, compiled here so its target list is checked against the
/// registered targets (it depends on std only).
#[path = "../../../xtask/src/fuzz.rs"]
#[allow(dead_code)]
mod xtask_fuzz;

#[test]
fn xtask_lists_exactly_the_registered_targets() {
    let registered: Vec<&str> = fuzz::TARGETS.iter().map(|target| target.name).collect();
    assert_eq!(xtask_fuzz::list(), registered.as_slice());
    let unknown = xtask_fuzz::run(&PathBuf::from("/nonexistent"), "no_such_target", 1);
    assert!(unknown.is_err_and(|message| message.contains("elf_plan")));
}

#[test]
fn every_target_has_a_corpus_and_regression_directory() {
    let root = workspace_root().join("crates/fuzz");
    for target in &fuzz::TARGETS {
        for kind in ["corpus", "regressions"] {
            let directory = root.join(kind).join(target.name);
            assert!(directory.is_dir(), "{} is missing", directory.display());
        }
    }
}

#[test]
fn the_elf_seeds_are_what_their_names_say() {
    use linux_personality::elf_plan::{plan_load, ElfError, ExecutableKind};
    let directory = workspace_root().join("crates/fuzz/corpus/elf_plan");
    let read = |name: &str| std::fs::read(directory.join(name)).expect("a checked-in seed");
    let static_plan = plan_load(&read("static-one-segment.elf"), 0x10000).expect("plans");
    assert_eq!(static_plan.kind, ExecutableKind::Static);
    let pie_plan = plan_load(&read("static-pie-tls.elf"), 0x10000).expect("plans");
    assert_eq!(pie_plan.kind, ExecutableKind::StaticPie);
    assert!(pie_plan.tls.is_some() && pie_plan.segments.len() == 2);
    assert!(matches!(
        plan_load(&read("dynamic-interp.elf"), 0x10000),
        Err(ElfError::Interpreter { .. })
    ));
}
