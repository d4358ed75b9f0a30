//! The seL4-compatible microkernel for aarch64 on QEMU virt.
//!
//! `arch/` holds everything that names an aarch64 register, `plat/` everything that names
//! a device; `boot/` turns the loader's handoff into a running root task; the remaining
//! modules are the kernel proper, wired to the pure logic in `kernel-core`.
#![no_std]
#![no_main]

mod arch;
mod boot;
mod fastpath;
mod fault;
mod interrupt;
mod invocation;
mod ipc;
#[macro_use]
mod log;
mod object;
mod plat;
mod sched;
mod syscall;
mod trap;
