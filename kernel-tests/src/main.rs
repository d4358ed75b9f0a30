//! A root task that tests the kernel's seL4 16.0.0 object model, one case at a time.
//!
//! Every case prints exactly one line, `TEST_PASS <name>` or `TEST_FAIL <name>: <why>`, and
//! the run ends with `TEST_SUMMARY <passed> passed, <failed> failed` and DebugHalt. Each
//! expectation is seL4 16.0.0's documented behaviour (manual, libsel4 interface files), so
//! the binary passes on real seL4 (aarch64, qemu-arm-virt, non-MCS, debug build).
//!
//! Cases are isolated: each gets its own sub-untyped, its own window of CNode slots and its
//! own scratch virtual addresses, and everything it made is revoked afterwards. Nothing the
//! root task does blocks on a peer that might never come: it polls with NBRecv and Yield
//! up to a bound, so a kernel that refuses everything still reaches the summary.
#![no_std]
#![no_main]

extern crate alloc;

mod child;
mod cnode;
mod context;
mod debug;
mod faults;
mod ipc;
mod irq;
mod sched;
mod stress;
mod tcb;
mod untyped;
mod vm_fault;
mod vspace;

use alloc::string::String;
use context::{Ctx, Env};
use sel4_root_task::debug_println;

sel4_root_task::declare_root_task!(main);

/// One test case: its name (snake_case, prefixed by area) and its body.
pub struct Test {
    pub name: &'static str,
    pub run: fn(&mut Ctx) -> Result<(), String>,
}

/// Declares a table of tests from `module::function` paths, named after the function.
#[macro_export]
macro_rules! tests {
    ($($function:ident),* $(,)?) => {
        &[$($crate::Test { name: stringify!($function), run: $function },)*]
    };
}

fn main(bootinfo: &'static sel4::BootInfo) -> ! {
    debug_println!("kernel-tests: seL4 object model tests starting");
    let areas: &[&[Test]] = &[
        untyped::TESTS,
        cnode::TESTS,
        tcb::TESTS,
        ipc::TESTS,
        faults::TESTS,
        vm_fault::TESTS,
        vspace::TESTS,
        irq::TESTS,
        sched::TESTS,
        debug::TESTS,
        stress::TESTS,
    ];
    let (mut passed, mut failed) = (0u32, 0u32);
    match Env::new(bootinfo) {
        Ok(env) => {
            for (index, test) in areas.iter().flat_map(|area| area.iter()).enumerate() {
                let mut ctx = Ctx::new(&env, index);
                let outcome = match ctx.setup() {
                    Ok(()) => (test.run)(&mut ctx),
                    Err(why) => Err(alloc::format!("test setup: {why}")),
                };
                ctx.cleanup();
                match outcome {
                    Ok(()) => {
                        passed += 1;
                        debug_println!("TEST_PASS {}", test.name);
                    }
                    Err(why) => {
                        failed += 1;
                        debug_println!("TEST_FAIL {}: {}", test.name, why);
                    }
                }
            }
        }
        Err(why) => {
            for test in areas.iter().flat_map(|area| area.iter()) {
                failed += 1;
                debug_println!("TEST_FAIL {}: environment setup: {}", test.name, why);
            }
        }
    }
    debug_println!("TEST_SUMMARY {passed} passed, {failed} failed");
    loop {
        sel4::syscall::debug_halt();
    }
}
