//! The seL4 16.0.0 aarch64 (non-MCS) ABI, defined once for the kernel's decoders and the
//! user-side invocation stubs.
//!
//! This crate is the project's stand-in for rust-sel4's `sel4` crate (which cannot be
//! fetched here). Everything except [`syscall`] and the invocation methods on [`Cap`] is pure
//! data and compiles and tests on the host; the syscall stubs exist only on aarch64.
//! Facts come from seL4's `libsel4` interface definitions and the seL4 manual.
#![cfg_attr(not(test), no_std)]

mod bootinfo;
mod bootinfo_check;
mod cap;
mod error;
mod fault;
mod invocation_label;
mod ipc_buffer;
mod message_info;
mod object;
mod rights;
mod syscall_number;
mod tcb;

#[cfg(all(target_arch = "aarch64", not(test)))]
mod invocations;
#[cfg(all(target_arch = "aarch64", not(test)))]
pub mod syscall;

pub use bootinfo::*;
pub use bootinfo_check::*;
pub use cap::*;
pub use error::*;
pub use fault::*;
pub use invocation_label::*;
pub use ipc_buffer::*;
pub use message_info::*;
pub use object::*;
pub use rights::*;
pub use syscall_number::*;
pub use tcb::*;

/// A machine word (`seL4_Word`).
pub type Word = u64;

/// Bits in a machine word.
pub const WORD_BITS: u32 = 64;

#[cfg(all(target_arch = "aarch64", not(test)))]
pub use invocations::*;
