//! Links the root task with its linker script and stages the boot archive it embeds:
//! the newc cpio named by `ROOT_TASK_CPIO` (xtask packs it), or an empty one.

use std::path::{Path, PathBuf};

fn main() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());

    println!("cargo:rerun-if-env-changed=ROOT_TASK_CPIO");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let staged = out_dir.join("rootfs.cpio");
    match std::env::var_os("ROOT_TASK_CPIO").filter(|path| !path.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|error| panic!("ROOT_TASK_CPIO {}: {error}", path.display()));
            write_if_changed(&staged, &bytes);
        }
        None => write_if_changed(&staged, &[]),
    }
}

/// Keeps the staged file's timestamp when nothing changed, so the crate is not rebuilt.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return;
    }
    std::fs::write(path, bytes)
        .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
}
