//! Links the kernel at its upper-half address and rebuilds it when the log level changes.

fn main() {
    let manifest_dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let script = manifest_dir.join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SEL4_KERNEL_LOG");
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
}
