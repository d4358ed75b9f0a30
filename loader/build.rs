//! Embeds the kernel and root-task ELF files named by `SEL4_KERNEL_ELF` and
//! `SEL4_ROOT_TASK_ELF` and links the loader at its physical load address.
//!
//! Without the variables the payloads are empty files, so `cargo clippy` and `cargo check`
//! work on their own; such a loader stops with `LOADER PANIC: ... image is empty`.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    embed("SEL4_KERNEL_ELF", &out_dir.join("kernel.elf"));
    embed("SEL4_ROOT_TASK_ELF", &out_dir.join("root-task.elf"));

    let script = manifest_dir.join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
}

/// Copies the file named by `variable` to `destination`, or writes an empty file.
fn embed(variable: &str, destination: &Path) {
    println!("cargo:rerun-if-env-changed={variable}");
    match std::env::var_os(variable) {
        Some(source) if !source.is_empty() => {
            let source = PathBuf::from(source);
            println!("cargo:rerun-if-changed={}", source.display());
            if let Err(error) = std::fs::copy(&source, destination) {
                panic!("{variable}={}: {error}", source.display());
            }
        }
        _ => {
            if let Err(error) = std::fs::write(destination, []) {
                panic!("{}: {error}", destination.display());
            }
        }
    }
}
