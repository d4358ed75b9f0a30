//! The BootInfo summary and the live checks of the initial CSpace against it.

use sel4::{init_cap, BootInfo, CapTag, SlotRegion};
use sel4_root_task::debug_println;

/// Prints what the kernel handed over: memory, slot regions, the IPC buffer.
pub fn print_summary(bootinfo: &BootInfo) {
    let totals = sel4::untyped_totals(bootinfo);
    debug_println!(
        "root-task: BootInfo: node {} of {}, IPC buffer {:#x}, root CNode 2^{} slots",
        bootinfo.node_id,
        bootinfo.num_nodes,
        bootinfo.ipc_buffer,
        bootinfo.init_thread_cnode_size_bits,
    );
    debug_println!(
        "root-task: untyped RAM {} KiB in {} caps (largest 2^{}), device {} MiB in {} caps",
        totals.ram_bytes >> 10,
        totals.ram_caps,
        totals.largest_ram_bits,
        totals.device_bytes >> 20,
        totals.device_caps,
    );
    for (name, region) in sel4::slot_regions(bootinfo) {
        if !region.is_empty() {
            debug_println!(
                "root-task: slots {:<15} [{}, {}) {} caps",
                name,
                region.start,
                region.end,
                region.len()
            );
        }
    }
    if bootinfo.extra_len > 0 {
        debug_println!("root-task: extra BootInfo {} bytes", bootinfo.extra_len);
    }
}

/// Checks BootInfo (pure checks in `sel4`) and then asks the kernel, slot by slot, whether
/// the initial CSpace holds what BootInfo says: the fixed caps, the image frames and page
/// tables, the untypeds, and nothing in the empty region.
///
/// # Errors
/// A description of the first mismatch.
pub fn check(bootinfo: &BootInfo) -> Result<(), alloc_free::Problem> {
    sel4::check_bootinfo(bootinfo).map_err(alloc_free::Problem::BootInfo)?;
    let fixed = [
        (init_cap::INIT_THREAD_TCB, CapTag::Thread),
        (init_cap::INIT_THREAD_CNODE, CapTag::CNode),
        (init_cap::INIT_THREAD_VSPACE, CapTag::VSpace),
        (init_cap::IRQ_CONTROL, CapTag::IrqControl),
        (init_cap::ASID_CONTROL, CapTag::AsidControl),
        (init_cap::INIT_THREAD_ASID_POOL, CapTag::AsidPool),
        (init_cap::BOOT_INFO_FRAME, CapTag::Frame),
        (init_cap::INIT_THREAD_IPC_BUFFER, CapTag::Frame),
        (init_cap::DOMAIN, CapTag::Domain),
        (init_cap::NULL, CapTag::Null),
    ];
    for (slot, want) in fixed {
        expect_tag(slot, want)?;
    }
    expect_region(bootinfo.user_image_frames, CapTag::Frame)?;
    expect_region(bootinfo.user_image_paging, CapTag::PageTable)?;
    expect_region(bootinfo.extra_bi_pages, CapTag::Frame)?;
    expect_region(bootinfo.untyped, CapTag::Untyped)?;
    expect_region(bootinfo.empty, CapTag::Null)?;
    Ok(())
}

fn expect_region(region: SlotRegion, want: CapTag) -> Result<(), alloc_free::Problem> {
    (region.start..region.end).try_for_each(|slot| expect_tag(slot, want))
}

fn expect_tag(slot: u64, want: CapTag) -> Result<(), alloc_free::Problem> {
    let found = sel4::syscall::debug_cap_identify(slot);
    if found == want as u64 {
        Ok(())
    } else {
        Err(alloc_free::Problem::WrongCap { slot, want, found })
    }
}

/// The check's error type (no allocation, so it works before anything else does).
pub mod alloc_free {
    use core::fmt;

    /// What the boot check found wrong.
    #[derive(Debug)]
    pub enum Problem {
        BootInfo(sel4::BootInfoProblem),
        WrongCap {
            slot: u64,
            want: sel4::CapTag,
            found: u64,
        },
    }

    impl fmt::Display for Problem {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Problem::BootInfo(problem) => write!(f, "{problem}"),
                Problem::WrongCap { slot, want, found } => {
                    write!(
                        f,
                        "slot {slot}: want a {want:?} cap, DebugCapIdentify says {found}"
                    )
                }
            }
        }
    }
}
