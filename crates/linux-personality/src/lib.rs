//! Pure Linux-personality logic for the root task's process server, host-testable:
//! error numbers, system-call numbers, cpio archives, ELF load planning, the initial
//! process stack and per-process virtual memory areas.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod boot_config;
pub mod cpio;
pub mod elf_plan;
pub mod errno;
pub mod fs;
pub mod id_registers;
pub mod initial_stack;
pub mod permissions;
pub mod process;
pub mod remap;
pub mod shared_memory;
pub mod signal;
pub mod svc_rewrite;
pub mod syscall_number;
pub mod timer_queue;
pub mod tty;
pub mod vma;

pub use cpio::{
    CpioEntries, CpioEntry, CpioError, CpioMetadata, CpioWriteError, CpioWriter, FileType,
};
pub use elf_plan::{plan_load, ElfError, ExecutableKind, LoadPlan, Segment, TlsTemplate};
pub use errno::Errno;
pub use initial_stack::{
    build_initial_stack, static_program_auxv, AuxEntry, AuxvParameters, Credentials, InitialStack,
    StackError, StackLimits, StackRequest,
};
pub use permissions::Permissions;
pub use syscall_number::Syscall;
pub use vma::{FileId, OldRange, Placement, Sharing, Vma, VmaError, VmaKind, VmaSet, WriteAccess};
