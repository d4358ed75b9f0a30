//! A root task that benchmarks the kernel: IPC round trips, fault round trips, Yield,
//! page mapping and untyped retype, each timed with the generic timer's virtual count.
//!
//! Under QEMU's `-icount shift=0,sleep=off` one instruction is one nanosecond of guest
//! time, so `ticks * 1e9 / CNTFRQ` is a number of instructions; each benchmark repeats its
//! operation thousands of times so that the counter's granularity (16 instructions at
//! 62.5 MHz) does not matter. Output, one line per benchmark, then `BENCH_DONE` and
//! DebugHalt:
//!
//! ```text
//! BENCH_BOOT <instructions from reset to the root task's first instruction>
//! BENCH <name> <instructions per operation> <iterations>
//! BENCH_FAIL <name>: <why>
//! ```
//!
//! Nothing blocks on a kernel feature that might be missing: every invocation's error
//! ends its benchmark with `BENCH_FAIL`, a peer thread's start is checked by polling before
//! the first blocking call, and each loop is bounded. On a kernel that refuses IPC (every
//! invocation answers IllegalOperation) each benchmark fails at its first invocation.
#![no_std]
#![no_main]

extern crate alloc;

mod benchmarks;
mod resources;
mod threads;
mod timer;

use alloc::string::String;
use resources::Resources;
use sel4_root_task::debug_println;

sel4_root_task::declare_root_task!(main);

/// What a benchmark measured: `iterations` operations in `ticks` counter ticks.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    pub ticks: u64,
    pub iterations: u64,
}

/// One benchmark: its name (as `cargo xtask bench` knows it) and its body.
pub struct Benchmark {
    pub name: &'static str,
    pub run: fn(&Resources) -> Result<Measurement, String>,
}

fn main(bootinfo: &'static sel4::BootInfo) -> ! {
    let boot_ticks = timer::counter();
    debug_println!(
        "BENCH_BOOT {}",
        timer::instructions_tenths(boot_ticks, 1) / 10
    );
    let resources = Resources::new(bootinfo);
    for benchmark in benchmarks::ALL {
        match (benchmark.run)(&resources) {
            Ok(measurement) => report(benchmark.name, measurement),
            Err(why) => debug_println!("BENCH_FAIL {}: {}", benchmark.name, why),
        }
    }
    debug_println!("BENCH_DONE");
    loop {
        sel4::syscall::debug_halt();
    }
}

/// Prints `BENCH <name> <instructions per operation, one decimal> <iterations>`.
fn report(name: &str, measurement: Measurement) {
    let tenths = timer::instructions_tenths(measurement.ticks, measurement.iterations);
    debug_println!(
        "BENCH {name} {}.{} {}",
        tenths / 10,
        tenths % 10,
        measurement.iterations
    );
}
