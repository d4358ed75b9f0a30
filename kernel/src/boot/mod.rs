//! The kernel's boot path: from the loader's handoff to the root task's first instruction.

mod plan;
mod root_task;

use crate::arch;
use boot_handoff::BootHandoff;

/// Called by `_start` on the kernel stack, MMU on (the loader's tables), interrupts
/// masked.
#[no_mangle]
extern "C" fn kernel_boot(handoff_phys: u64) -> ! {
    arch::vectors::install();
    let handoff = copy_handoff(handoff_phys);
    arch::mmu::init_kernel_window(handoff.ram_regions());
    arch::cpu::init();
    crate::plat::init();
    let root = root_task::create(&handoff);
    crate::log!(Info, "booted; entering the root task");
    crate::sched::start(root)
}

/// Copies and checks the loader's handoff record; loader memory is not read again.
fn copy_handoff(handoff_phys: u64) -> BootHandoff {
    let size = core::mem::size_of::<BootHandoff>() as u64;
    // The loader's window maps at least the first 4 GiB of physical space.
    let mapped_end = 4u64 << 30;
    if !handoff_phys.is_multiple_of(8)
        || handoff_phys
            .checked_add(size)
            .is_none_or(|end| end > mapped_end)
    {
        crate::kernel_panic!("bad handoff address {handoff_phys:#x}");
    }
    let pointer = crate::object::object_pointer::<BootHandoff>(handoff_phys);
    // SAFETY: the address is aligned and inside the loader's window mapping (checked
    // above); the loader wrote a BootHandoff there, and every bit pattern is a valid
    // BootHandoff (plain integers), which `validate` then checks.
    let handoff = unsafe { pointer.read_volatile() };
    if let Err(problem) = handoff.validate() {
        crate::kernel_panic!("bad handoff: {problem}");
    }
    if handoff
        .ram_regions()
        .iter()
        .any(|region| region.end > arch::mmu::WINDOW_SIZE)
    {
        crate::kernel_panic!("RAM beyond the kernel window");
    }
    handoff
}
