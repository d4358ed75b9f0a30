//! Building a new program image (the first process and `execve`): the ELF's segments
//! with their own permissions, the bss, the stack with argv, envp and auxv, and the vDSO.
//!
//! Everything lands in a new address space, so a failure leaves the caller's old image
//! untouched (Linux's point of no return comes after this).

use crate::address_space::{AddressSpace, FileContents};
use crate::frames::FRAME_SIZE;
use crate::objects::{AllocError, Objects};
use crate::process::Break;
use crate::random::Random;
use crate::vdso::ExecVdso;
use alloc::vec::Vec;
use linux_personality::elf_plan::PAGE_SIZE;
use linux_personality::initial_stack::{
    build_initial_stack, static_program_auxv, AuxvParameters, StackLimits, StackRequest,
};
use linux_personality::{
    plan_load, Credentials, ElfError, Errno, FileId, LoadPlan, Permissions, Placement, Sharing,
    StackError, Vma, VmaKind,
};

/// Default RLIMIT_STACK: 8 MiB, the stack area's size.
pub const STACK_SIZE: u64 = 8 << 20;
/// Highest stack top; a random number of pages below it is the actual top.
const STACK_TOP_CEILING: u64 = 0x7fff_ff00_0000;
/// Pages of stack-top randomisation (2^16 pages: 28 bits of address entropy lost to
/// alignment, 16 kept).
const STACK_RANDOM_PAGES: u64 = 1 << 16;
/// The vDSO goes at a random page in [VDSO_REGION, VDSO_REGION + 2^24 pages): 24 bits.
const VDSO_REGION: u64 = 0x7f00_0000_0000;
const VDSO_RANDOM_PAGES: u64 = 1 << 24;
/// Static-pie programs load at a random page in [PIE_REGION, + 2^20 pages).
const PIE_REGION: u64 = 0x5500_0000_0000;
const PIE_RANDOM_PAGES: u64 = 1 << 20;
/// `mmap` without a hint searches below this address (under the vDSO region).
pub const MMAP_CEILING: u64 = VDSO_REGION;

/// Why an image could not be built.
#[derive(Debug)]
pub enum LoadError {
    /// The file is not a program this system runs (message for the console).
    Elf(ElfError),
    /// argv/envp do not fit.
    Stack(StackError),
    /// Out of memory or a kernel refusal.
    Memory(AllocError),
}

impl LoadError {
    /// The error `execve` returns.
    pub fn errno(&self) -> Errno {
        match self {
            LoadError::Elf(error) => error.errno(),
            LoadError::Stack(error) => error.errno(),
            LoadError::Memory(_) => Errno::ENOMEM,
        }
    }
}

impl From<AllocError> for LoadError {
    fn from(error: AllocError) -> Self {
        LoadError::Memory(error)
    }
}

/// A loaded image: its address space and where to start.
#[derive(Debug)]
pub struct Image {
    pub space: AddressSpace,
    pub entry: u64,
    pub stack_pointer: u64,
    pub heap: Break,
    pub vdso_base: Option<u64>,
}

/// What to load.
pub struct Request<'a> {
    /// The file's bytes and its id (for file-backed areas).
    pub file: &'a [u8],
    pub file_id: FileId,
    pub arguments: &'a [Vec<u8>],
    pub environment: &'a [Vec<u8>],
    /// AT_EXECFN: the path as given.
    pub execfn: &'a [u8],
    pub credentials: Credentials,
    /// Rewrite `svc #0` in executable segments (kernels without the Linux-syscall flag).
    pub rewrite_svc: bool,
}

/// Loads a program into a new address space.
///
/// # Errors
/// [`LoadError`]; nothing is left allocated.
pub fn load(
    objects: &mut Objects,
    files: &dyn FileContents,
    random: &mut Random,
    vdso: Option<ExecVdso<'_>>,
    request: &Request<'_>,
) -> Result<Image, LoadError> {
    let bias = PIE_REGION + random.below(PIE_RANDOM_PAGES) * PAGE_SIZE;
    let plan = plan_load(request.file, bias).map_err(LoadError::Elf)?;
    let mut space = AddressSpace::new(objects)?;
    match populate(objects, files, random, vdso, request, &plan, &mut space) {
        Ok((stack_pointer, vdso_base)) => Ok(Image {
            space,
            entry: plan.entry,
            stack_pointer,
            heap: Break {
                start: plan.brk_start,
                end: plan.brk_start,
            },
            vdso_base,
        }),
        Err(error) => {
            space.destroy(objects);
            Err(error)
        }
    }
}

fn populate(
    objects: &mut Objects,
    files: &dyn FileContents,
    random: &mut Random,
    vdso: Option<ExecVdso<'_>>,
    request: &Request<'_>,
    plan: &LoadPlan,
    space: &mut AddressSpace,
) -> Result<(u64, Option<u64>), LoadError> {
    for segment in &plan.segments {
        load_segment(objects, request, segment, space)?;
    }

    let vdso_base = match vdso {
        Some(exec_vdso) => {
            let base = VDSO_REGION + random.below(VDSO_RANDOM_PAGES) * PAGE_SIZE;
            exec_vdso.map_into(objects, space, base)?;
            log::trace!(
                "vDSO at {base:#x}, __kernel_rt_sigreturn at {:#x}",
                base + exec_vdso.vdso.sigreturn_offset
            );
            Some(base)
        }
        None => None,
    };

    let stack_top = STACK_TOP_CEILING - random.below(STACK_RANDOM_PAGES) * PAGE_SIZE;
    let stack = Vma {
        start: stack_top - STACK_SIZE,
        end: stack_top,
        permissions: Permissions::READ_WRITE,
        kind: VmaKind::Stack,
        sharing: Sharing::Private,
    };
    space
        .add_area(objects, stack, Placement::Exclusive)
        .map_err(|_| LoadError::Memory(AllocError::OutOfMemory))?;
    let arguments: Vec<&[u8]> = request.arguments.iter().map(Vec::as_slice).collect();
    let environment: Vec<&[u8]> = request.environment.iter().map(Vec::as_slice).collect();
    let auxv = static_program_auxv(
        plan,
        &AuxvParameters {
            hwcap: crate::arch::HWCAP,
            clock_ticks_per_second: 100,
            credentials: request.credentials,
            vdso_base,
        },
    );
    let mut random_bytes = [0u8; 16];
    random_bytes[..8].copy_from_slice(&random.next_u64().to_le_bytes());
    random_bytes[8..].copy_from_slice(&random.next_u64().to_le_bytes());
    let initial = build_initial_stack(&StackRequest {
        stack_top,
        arguments: &arguments,
        environment: &environment,
        execfn: request.execfn,
        random_bytes,
        auxv: &auxv,
        limits: StackLimits::default(),
    })
    .map_err(LoadError::Stack)?;
    let mut memory = crate::user_memory::UserMemory {
        space,
        objects,
        files,
    };
    memory
        .write(initial.sp, &initial.bytes)
        .map_err(|_| LoadError::Memory(AllocError::OutOfMemory))?;
    Ok((initial.sp, vdso_base))
}

/// Maps one PT_LOAD: the pages holding file bytes are filled now (and, for code, have
/// their `svc` rewritten if asked); the pages wholly past the file bytes are an anonymous
/// area filled on demand, as Linux maps a bss.
fn load_segment(
    objects: &mut Objects,
    request: &Request<'_>,
    segment: &linux_personality::Segment,
    space: &mut AddressSpace,
) -> Result<(), LoadError> {
    let page_start = segment.page_start();
    let page_end = segment.page_end();
    let file_end = segment.vaddr + segment.file_size;
    let file_page_end = file_end.next_multiple_of(PAGE_SIZE).min(page_end);
    let permissions = segment.permissions;
    let bytes =
        segment
            .file_bytes(request.file)
            .ok_or(LoadError::Elf(ElfError::SegmentOutOfFile {
                vaddr: segment.vaddr,
            }))?;
    if file_page_end > page_start {
        let vma = Vma {
            start: page_start,
            end: file_page_end,
            permissions,
            kind: VmaKind::File {
                file: request.file_id,
                offset: segment.file_offset - (segment.vaddr - page_start),
                write_access: linux_personality::WriteAccess::Allowed,
            },
            sharing: Sharing::Private,
        };
        space
            .add_area(objects, vma, Placement::Exclusive)
            .map_err(|_| LoadError::Memory(AllocError::OutOfMemory))?;
    }
    if page_end > file_page_end {
        let vma = Vma {
            start: file_page_end,
            end: page_end,
            permissions,
            kind: VmaKind::Anonymous,
            sharing: Sharing::Private,
        };
        space
            .add_area(objects, vma, Placement::Exclusive)
            .map_err(|_| LoadError::Memory(AllocError::OutOfMemory))?;
    }
    let mut page = [0u8; FRAME_SIZE];
    let mut address = page_start;
    while address < file_page_end {
        page.fill(0);
        // The part of this page the segment's file bytes cover.
        let from = address.max(segment.vaddr);
        let to = (address + PAGE_SIZE).min(file_end);
        if to > from {
            let source = (from - segment.vaddr) as usize;
            let target = (from - address) as usize;
            let length = (to - from) as usize;
            // Both ranges lie inside their buffers by construction; `get` keeps a
            // planner bug from becoming a panic.
            if let (Some(into), Some(from)) = (
                page.get_mut(target..target + length),
                bytes.get(source..source + length),
            ) {
                into.copy_from_slice(from);
            }
        }
        if permissions.execute && request.rewrite_svc {
            linux_personality::svc_rewrite::rewrite_svc(&mut page);
        }
        let frame = objects.allocate_frame()?;
        objects.frames.write(frame, 0, &page);
        space.map_frame(objects, address, frame, permissions)?;
        address += PAGE_SIZE;
    }
    Ok(())
}
