//! The fuzz targets: each a `fn(&[u8])` that feeds the bytes to the code under test and
//! panics when one of its invariants breaks, with the seeds and generator it starts from.

use std::path::Path;

use crate::rng::Rng;

mod cpio;
mod elf_plan;
mod fs_check;
mod kernel_decoders;
mod syscall_args;
mod vdso_check;

/// One fuzz target.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Its name on the command line (`cargo xtask fuzz NAME`) and in test names
    /// (`fuzz_NAME`, `regressions_NAME`).
    pub name: &'static str,
    /// Runs one input; panics if an invariant breaks.
    pub run: fn(&[u8]),
    /// Seeds built at run time from the workspace at the given root (real artefacts and
    /// synthetic well-formed inputs), in addition to `corpus/<name>/`.
    pub seeds: fn(&Path) -> Vec<Vec<u8>>,
    /// Builds a fresh well-formed-ish input.
    pub generate: fn(&mut Rng) -> Vec<u8>,
    /// Mutations keep inputs at most this long.
    pub max_length: usize,
}

/// Every target, in the order `cargo xtask fuzz --list` shows them.
pub static TARGETS: [Target; 5] = [
    elf_plan::TARGET,
    cpio::TARGET,
    vdso_check::TARGET,
    syscall_args::TARGET,
    kernel_decoders::TARGET,
];

/// The target called `name`.
#[must_use]
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}
