//! The root task: the system's process server. Today it checks the kernel's hand-over
//! (BootInfo and the initial CSpace), prints a summary and halts.
#![no_std]
#![no_main]

mod boot_report;

sel4_root_task::declare_root_task!(main);

fn main(bootinfo: &'static sel4::BootInfo) -> ! {
    boot_report::print_summary(bootinfo);
    match boot_report::check(bootinfo) {
        Ok(()) => sel4_root_task::debug_println!("bootinfo check: ok"),
        Err(problem) => sel4_root_task::debug_println!("bootinfo check FAILED: {problem}"),
    }
    loop {
        sel4::syscall::debug_halt();
    }
}
