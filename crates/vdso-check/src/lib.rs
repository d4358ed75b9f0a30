//! Checks a vdso.so image against every property in shared/VDSO.md "The image": the
//! project's equivalent of Linux's vdsomunge and its dynamic-relocation check. `cargo xtask`
//! runs it on the vDSO it builds (and fails the build on any violation), `cargo xtask
//! vdso-check FILE` runs it on any file (e.g. bytes dumped from a process's `[vdso]`), and the
//! root task runs it on `/vdso.so` at boot, hence `no_std` + `alloc`.
//!
//! The checker reads the image the way its consumers do: through the program headers and
//! the dynamic segment (musl by file offset, glibc and Go by address, so both must agree),
//! walking DT_HASH like musl and glibc, DT_GNU_HASH like glibc and Go, and the verdef chain
//! like Go. Section headers are optional; when present they are checked too. Any input,
//! however malformed, yields violations, never a panic.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod check;
mod dynamic;
mod hash;
mod image;
mod sections;
mod symbols;
mod versions;
mod violation;

pub use check::{check, Export, VdsoInfo};
pub use violation::{Property, Violation};

/// DT_SONAME and the base version's name.
pub const SONAME: &str = "linux-vdso.so.1";
/// The version every export carries.
pub const VERSION_NAME: &str = "LINUX_2.6.39";
/// ELF hash of [`VERSION_NAME`], which Go compares against `vd_hash`.
pub const VERSION_HASH: u32 = 0x075f_cb89;
/// The most pointer-type dynamic tags the image may have.
pub const MAX_POINTER_TAGS: usize = 8;
/// `nop`, then at `__kernel_rt_sigreturn`: `mov x8, #139` and `svc #0`.
pub const SIGRETURN_INSTRUCTIONS: [u32; 3] = [0xd503_201f, 0xd280_1168, 0xd400_0001];
