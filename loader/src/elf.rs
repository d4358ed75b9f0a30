//! Places the kernel's and the root task's loadable segments in physical memory.

use boot_handoff::{PhysRegion, UserImage, PHYS_WINDOW_OFFSET};
use object::elf::{FileHeader64, EM_AARCH64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

const PAGE_SIZE: u64 = 4096;

/// Where the kernel landed.
pub struct LoadedKernel {
    /// Physical range of the image including bss, page aligned.
    pub region: PhysRegion,
    /// Entry point (a kernel-window virtual address).
    pub entry: u64,
}

/// One loadable segment, checked against the file.
struct Segment<'a> {
    virt: u64,
    phys: u64,
    memory_size: u64,
    file_data: &'a [u8],
}

/// Why a payload could not be placed.
pub type LoadError = &'static str;

/// Copies the kernel's segments to their physical addresses and zeroes their bss.
///
/// # Errors
/// The ELF is malformed, not aarch64, or a segment would land outside RAM or on `forbidden`.
pub fn load_kernel(
    file: &[u8],
    ram: &[PhysRegion],
    forbidden: &[PhysRegion],
) -> Result<LoadedKernel, LoadError> {
    let (entry, segments) = parse(file)?;
    let mut region: Option<PhysRegion> = None;
    for_each_segment(file, segments, |segment| {
        let target = segment_region(segment.phys, segment.memory_size)?;
        check_placement(target, ram, forbidden)?;
        // SAFETY: `target` is RAM that neither the loader nor the device tree uses (checked
        // above), identity-mapped as normal memory; `file_data` is within the embedded file.
        unsafe { copy_and_zero(target.start, segment.file_data, segment.memory_size) };
        region = Some(match region {
            None => target,
            Some(so_far) => PhysRegion {
                start: so_far.start.min(target.start),
                end: so_far.end.max(target.end),
            },
        });
        Ok(())
    })?;
    let region = region.ok_or("no loadable segment")?;
    let region = PhysRegion {
        start: region.start & !(PAGE_SIZE - 1),
        end: region
            .end
            .checked_next_multiple_of(PAGE_SIZE)
            .ok_or("segment overflows")?,
    };
    Ok(LoadedKernel { region, entry })
}

/// Places the root task's segments in one contiguous page-aligned physical run starting at
/// `phys_start` (rounded up to a page): the run mirrors the image's page-rounded virtual
/// span, with bss and gaps zeroed.
///
/// # Errors
/// The ELF is malformed, not aarch64, or the run would leave RAM or hit `forbidden`.
pub fn load_root_task(
    file: &[u8],
    phys_start: u64,
    ram: &[PhysRegion],
    forbidden: &[PhysRegion],
) -> Result<UserImage, LoadError> {
    let (entry, segments) = parse(file)?;
    let mut span: Option<(u64, u64)> = None;
    for_each_segment(file, segments, |segment| {
        let end = segment
            .virt
            .checked_add(segment.memory_size)
            .ok_or("segment overflows")?;
        span = Some(match span {
            None => (segment.virt, end),
            Some((start, so_far)) => (start.min(segment.virt), so_far.max(end)),
        });
        Ok(())
    })?;
    let (start, end) = span.ok_or("no loadable segment")?;
    let virt_start = start & !(PAGE_SIZE - 1);
    let virt_end = end
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or("segment overflows")?;
    if entry < virt_start || entry >= virt_end {
        return Err("entry point outside the image");
    }
    let phys_start = phys_start
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or("image overflows")?;
    let image = UserImage {
        phys_start,
        virt_start,
        virt_end,
        entry,
    };
    let run = segment_region(phys_start, virt_end - virt_start)?;
    check_placement(run, ram, forbidden)?;
    // SAFETY: `run` is RAM that neither the loader nor the device tree uses (checked above).
    unsafe { copy_and_zero(run.start, &[], run.size()) };
    for_each_segment(file, segments, |segment| {
        let phys = phys_start + (segment.virt - virt_start);
        // SAFETY: the segment lies inside `run` (the span covers every segment).
        unsafe { copy_and_zero(phys, segment.file_data, 0) };
        Ok(())
    })?;
    Ok(image)
}

type Headers<'a> = &'a [object::elf::ProgramHeader64<Endianness>];

fn parse(file: &[u8]) -> Result<(u64, Headers<'_>), LoadError> {
    if file.is_empty() {
        return Err(
            "image is empty (build the loader with SEL4_KERNEL_ELF and SEL4_ROOT_TASK_ELF)",
        );
    }
    let header = FileHeader64::<Endianness>::parse(file).map_err(|_| "not a 64-bit ELF file")?;
    let endian = header.endian().map_err(|_| "bad ELF byte order")?;
    if endian != Endianness::Little {
        return Err("not a little-endian ELF file");
    }
    if header.e_machine(endian) != EM_AARCH64 {
        return Err("not an aarch64 ELF file");
    }
    let segments = header
        .program_headers(endian, file)
        .map_err(|_| "bad program headers")?;
    Ok((header.e_entry(endian), segments))
}

fn for_each_segment<'a>(
    file: &'a [u8],
    segments: Headers<'a>,
    mut visit: impl FnMut(Segment<'a>) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let endian = Endianness::Little;
    for header in segments {
        if header.p_type(endian) != PT_LOAD || header.p_memsz(endian) == 0 {
            continue;
        }
        let file_data = header
            .data(endian, file)
            .map_err(|_| "segment outside the file")?;
        let memory_size = header.p_memsz(endian);
        if (file_data.len() as u64) > memory_size {
            return Err("segment file size exceeds its memory size");
        }
        let virt = header.p_vaddr(endian);
        let paddr = header.p_paddr(endian);
        // A kernel linked without AT() has paddr == vaddr; its physical home is then the
        // window address less the window offset.
        let phys = if paddr != virt {
            paddr
        } else {
            virt.checked_sub(PHYS_WINDOW_OFFSET).unwrap_or(virt)
        };
        visit(Segment {
            virt,
            phys,
            memory_size,
            file_data,
        })?;
    }
    Ok(())
}

fn segment_region(start: u64, size: u64) -> Result<PhysRegion, LoadError> {
    let end = start.checked_add(size).ok_or("segment overflows")?;
    Ok(PhysRegion { start, end })
}

fn check_placement(
    target: PhysRegion,
    ram: &[PhysRegion],
    forbidden: &[PhysRegion],
) -> Result<(), LoadError> {
    if !ram
        .iter()
        .any(|region| region.start <= target.start && target.end <= region.end)
    {
        return Err("segment outside RAM");
    }
    if forbidden.iter().any(|region| region.overlaps(&target)) {
        return Err("segment overlaps the loader or the device tree");
    }
    Ok(())
}

/// Copies `data` to physical `destination` and zeroes the rest of `memory_size` bytes
/// (nothing more when `memory_size` is not larger than the data).
///
/// # Safety
/// `[destination, destination + max(len, memory_size))` must be identity-mapped RAM that
/// nothing else uses.
unsafe fn copy_and_zero(destination: u64, data: &[u8], memory_size: u64) {
    let target = destination as *mut u8;
    // SAFETY: the caller vouches for the destination range; `data` is a separate buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(data.as_ptr(), target, data.len());
        if memory_size > data.len() as u64 {
            core::ptr::write_bytes(
                target.add(data.len()),
                0,
                (memory_size - data.len() as u64) as usize,
            );
        }
    }
}
