//! The loader: QEMU enters it at EL1 with the MMU off. It finds RAM in the device tree,
//! turns the MMU on, places the embedded kernel and root task in physical memory, and
//! enters the kernel with the physical address of a [`BootHandoff`] in x0.
//!
//! It prints nothing when all goes well; any failure prints one `LOADER PANIC:` line on the
//! PL011 and powers the machine off.
#![no_std]
#![no_main]

mod console;
mod device_tree;
mod elf;
mod entry;
mod mmu;

use boot_handoff::{BootHandoff, PhysRegion, HANDOFF_MAGIC, HANDOFF_VERSION, MAX_RAM_REGIONS};
use core::cell::UnsafeCell;

/// An embedded file, aligned so the ELF parser may view its headers in place.
#[repr(C, align(4096))]
struct Aligned<Bytes: ?Sized>(Bytes);

static KERNEL_ELF: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/kernel.elf")));
static ROOT_TASK_ELF: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/root-task.elf")));

/// The handoff record; the kernel copies it before it reuses loader memory.
struct HandoffCell(UnsafeCell<BootHandoff>);
// SAFETY: the loader runs on one CPU with interrupts masked; nothing else touches the cell.
unsafe impl Sync for HandoffCell {}
static HANDOFF: HandoffCell = HandoffCell(UnsafeCell::new(BootHandoff {
    magic: 0,
    version: 0,
    ram: [PhysRegion { start: 0, end: 0 }; MAX_RAM_REGIONS],
    ram_count: 0,
    kernel: PhysRegion { start: 0, end: 0 },
    root_task: boot_handoff::UserImage {
        phys_start: 0,
        virt_start: 0,
        virt_end: 0,
        entry: 0,
    },
    device_tree: PhysRegion { start: 0, end: 0 },
}));

/// Called by `_start` once the stack is set and bss is zeroed.
#[no_mangle]
extern "C" fn loader_main() -> ! {
    if entry::current_el() != 1 {
        console::fail(format_args!(
            "entered at EL{}, expected EL1",
            entry::current_el()
        ));
    }
    let memory = device_tree::probe();
    let ram = memory.ram_regions();
    if ram.is_empty() {
        console::fail(format_args!("no usable RAM"));
    }

    mmu::enable(ram);

    // Memory the payloads must not land on: the loader itself and the device tree.
    let loader = entry::loader_region();
    let forbidden = [loader, memory.device_tree];

    let kernel = match elf::load_kernel(&KERNEL_ELF.0, ram, &forbidden) {
        Ok(kernel) => kernel,
        Err(error) => console::fail(format_args!("kernel image: {error}")),
    };
    let root_task = match elf::load_root_task(&ROOT_TASK_ELF.0, kernel.region.end, ram, &forbidden)
    {
        Ok(image) => image,
        Err(error) => console::fail(format_args!("root task image: {error}")),
    };

    let mut handoff = BootHandoff {
        magic: HANDOFF_MAGIC,
        version: HANDOFF_VERSION,
        ram_count: ram.len() as u64,
        kernel: kernel.region,
        root_task,
        device_tree: memory.device_tree,
        ..BootHandoff::default()
    };
    handoff.ram[..ram.len()].copy_from_slice(ram);
    if let Err(problem) = handoff.validate() {
        console::fail(format_args!("handoff: {problem}"));
    }

    let handoff_pointer = HANDOFF.0.get();
    // SAFETY: single-threaded; no reference to the cell's contents exists.
    unsafe { handoff_pointer.write(handoff) };

    mmu::make_executable(kernel.region);
    mmu::make_executable(root_task.phys_region());
    // SAFETY: the kernel's segments are in place at the physical addresses its window maps,
    // its entry point is inside them, and the handoff lives in loader memory, which stays
    // mapped until the kernel has copied it.
    unsafe { entry::enter_kernel(kernel.entry, handoff_pointer as u64) }
}

/// The `object` crate links `alloc`, though the parsing the loader uses never allocates.
/// This allocator refuses every request, so an allocation would end in a loader panic
/// rather than silently using memory the payloads occupy.
struct NoAllocator;

// SAFETY: returning null is always a correct answer from `alloc`; `dealloc` is never
// given a pointer because none is ever handed out.
unsafe impl core::alloc::GlobalAlloc for NoAllocator {
    unsafe fn alloc(&self, _layout: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: core::alloc::Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAllocator = NoAllocator;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(location) => console::fail(format_args!(
            "{} at {}:{}",
            info.message(),
            location.file(),
            location.line()
        )),
        None => console::fail(format_args!("{}", info.message())),
    }
}
