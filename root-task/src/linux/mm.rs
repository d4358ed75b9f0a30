//! Memory system calls: brk, mmap (anonymous and file-backed, private and shared),
//! munmap, mprotect, mremap, msync, madvise. Areas are linux-personality's `VmaSet`;
//! pages come on demand.
//!
//! Shared file mappings share one object of pages per file, kept coherent with
//! read()/write() by `shared_file`; msync and munmap write them back.

use super::{int_argument, Context};
use crate::loader::MMAP_CEILING;
use crate::process::Description;
use linux_personality::elf_plan::PAGE_SIZE;
use linux_personality::fs::inode::Content;
use linux_personality::remap::{plan_remap, RemapPlan, RemapRequest};
use linux_personality::{
    Errno, FileId, Permissions, Placement, Sharing, Vma, VmaKind, WriteAccess,
};

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_NORESERVE: u64 = 0x4000;
const MAP_POPULATE: u64 = 0x8000;
const MAP_NONBLOCK: u64 = 0x10000;
const MAP_STACK: u64 = 0x20000;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;
const MAP_GROWSDOWN: u64 = 0x0100;
const MAP_DENYWRITE: u64 = 0x0800;
const MAP_EXECUTABLE: u64 = 0x1000;
const MAP_LOCKED: u64 = 0x2000;
/// Flags accepted (and, beyond the type and placement bits, ignored as Linux may).
const MAP_KNOWN: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_FIXED_NOREPLACE
    | MAP_GROWSDOWN
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_LOCKED;

fn page_round_up(value: u64) -> Option<u64> {
    value
        .checked_add(PAGE_SIZE - 1)
        .map(|value| value & !(PAGE_SIZE - 1))
}

/// `brk`: grows or shrinks the heap area; returns the (possibly unchanged) break.
pub fn sys_brk(context: &mut Context<'_>, requested: u64) -> Result<usize, Errno> {
    let server = &mut *context.server;
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    let heap = process.heap;
    if requested < heap.start {
        return Ok(heap.end as usize);
    }
    let (Some(old_top), Some(new_top)) = (page_round_up(heap.end), page_round_up(requested)) else {
        return Ok(heap.end as usize);
    };
    if new_top > old_top {
        let fits = new_top <= MMAP_CEILING
            && new_top - heap.start <= server.objects.untyped.total_bytes()
            && process.space.areas.is_free(old_top, new_top - old_top);
        if !fits {
            return Ok(heap.end as usize);
        }
        let vma = Vma {
            start: old_top,
            end: new_top,
            permissions: Permissions::READ_WRITE,
            kind: VmaKind::Heap,
            sharing: Sharing::Private,
        };
        if process
            .space
            .add_area(&mut server.objects, vma, Placement::Exclusive)
            .is_err()
        {
            return Ok(heap.end as usize);
        }
    } else if new_top < old_top
        && process
            .space
            .remove_areas(&mut server.objects, new_top, old_top - new_top)
            .is_err()
    {
        return Ok(heap.end as usize);
    }
    process.heap.end = requested;
    Ok(requested as usize)
}

pub fn sys_mmap(
    context: &mut Context<'_>,
    address: u64,
    length: u64,
    protection: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> Result<usize, Errno> {
    let permissions = Permissions::from_prot(protection).ok_or(Errno::EINVAL)?;
    if permissions.is_writable_and_executable() {
        // Never both writable and executable: Linux would allow it; this system refuses.
        return Err(Errno::EACCES);
    }
    if flags & !MAP_KNOWN != 0 && flags & MAP_SHARED_VALIDATE == MAP_SHARED_VALIDATE {
        return Err(Errno::EOPNOTSUPP);
    }
    let sharing = match flags & MAP_SHARED_VALIDATE {
        MAP_SHARED | MAP_SHARED_VALIDATE => Sharing::Shared,
        MAP_PRIVATE => Sharing::Private,
        _ => return Err(Errno::EINVAL),
    };
    if length == 0 || !offset.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let length = page_round_up(length).ok_or(Errno::ENOMEM)?;
    if length > context.server.objects.untyped.total_bytes()
        && (sharing == Sharing::Shared || permissions.write)
    {
        // Linux's overcommit heuristic: one mapping larger than all of RAM never fits.
        return Err(Errno::ENOMEM);
    }
    let kind = if flags & MAP_ANONYMOUS != 0 {
        if sharing == Sharing::Shared {
            // The object is made once everything else has been checked (below).
            VmaKind::SharedAnonymous {
                object: 0,
                offset: 0,
            }
        } else {
            VmaKind::Anonymous
        }
    } else {
        let fd = u32::try_from(int_argument(fd)).map_err(|_| Errno::EBADF)?;
        let file = context.process()?.files.get(fd)?.file;
        let Description::File(open) = context.server.open_files.get(file)? else {
            return Err(Errno::ENODEV);
        };
        if !open.access.readable() {
            return Err(Errno::EACCES);
        }
        if sharing == Sharing::Shared && permissions.write && !open.access.writable() {
            return Err(Errno::EACCES);
        }
        match context.server.fs.inode(open.inode)?.content() {
            Content::Regular(_) => {}
            _ => return Err(Errno::ENODEV),
        }
        if sharing == Sharing::Shared {
            // Every shared mapping of the file maps this object's pages (see shared_file).
            context
                .server
                .objects
                .shared
                .file_object(FileId(open.inode.0));
        }
        // Linux's VM_MAYWRITE: only a shared mapping cares how the file was opened.
        let write_access = if sharing == Sharing::Shared && !open.access.writable() {
            WriteAccess::Refused
        } else {
            WriteAccess::Allowed
        };
        VmaKind::File {
            file: FileId(open.inode.0),
            offset,
            write_access,
        }
    };
    let server = &mut *context.server;
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        if !address.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        address
    } else {
        let hint = (address != 0 && address.is_multiple_of(PAGE_SIZE)).then_some(address);
        process
            .space
            .areas
            .find_free(length, hint, MMAP_CEILING)
            .ok_or(Errno::ENOMEM)?
    };
    let end = start.checked_add(length).ok_or(Errno::ENOMEM)?;
    let placement = if flags & MAP_FIXED != 0 && flags & MAP_FIXED_NOREPLACE == 0 {
        Placement::Replace
    } else {
        Placement::Exclusive
    };
    let mut shared_object = None;
    let kind = match kind {
        VmaKind::SharedAnonymous { offset, .. } => {
            let object = server.objects.shared.create();
            shared_object = Some(object);
            VmaKind::SharedAnonymous { object, offset }
        }
        other => other,
    };
    let vma = Vma {
        start,
        end,
        permissions,
        kind,
        sharing,
    };
    if let Err(error) = process.space.add_area(&mut server.objects, vma, placement) {
        if let Some(object) = shared_object {
            // Never mapped, so it holds no frames yet.
            let _ = server.objects.shared.discard_unmapped(object);
        }
        return Err(error.errno());
    }
    Ok(start as usize)
}

/// `mremap`: shrinks, grows in place, or moves a mapping (see
/// linux-personality's `remap` for the rules); pages move without being copied.
pub fn sys_mremap(
    context: &mut Context<'_>,
    old_address: u64,
    old_length: u64,
    new_length: u64,
    flags: u64,
    new_address: u64,
) -> Result<usize, Errno> {
    let request = RemapRequest {
        old_address,
        old_length,
        new_length,
        flags,
        new_address,
    };
    let server = &mut *context.server;
    let total = server.objects.untyped.total_bytes();
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    let plan = plan_remap(&process.space.areas, &request, MMAP_CEILING)?;
    if let RemapPlan::InPlace {
        grow_to: Some(_), ..
    }
    | RemapPlan::Move { .. } = plan
    {
        if page_round_up(new_length).is_none_or(|length| length > total) {
            return Err(Errno::ENOMEM);
        }
    }
    let address = process
        .space
        .remap(&mut server.objects, &plan)
        .map_err(|error| error.errno())?;
    crate::shared_file::drain_unmapped(&mut server.objects, &mut server.fs);
    Ok(address as usize)
}

pub fn sys_munmap(context: &mut Context<'_>, address: u64, length: u64) -> Result<usize, Errno> {
    if !address.is_multiple_of(PAGE_SIZE) || length == 0 {
        return Err(Errno::EINVAL);
    }
    let server = &mut *context.server;
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    process
        .space
        .remove_areas(&mut server.objects, address, length)
        .map_err(|error| error.errno())?;
    crate::shared_file::drain_unmapped(&mut server.objects, &mut server.fs);
    Ok(0)
}

/// `msync`: writes the pages of shared file mappings in the range back to their files
/// (all of each file's pages: there is no dirty tracking). MS_ASYNC does the same now.
pub fn sys_msync(
    context: &mut Context<'_>,
    address: u64,
    length: u64,
    flags: u64,
) -> Result<usize, Errno> {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
        || !address.is_multiple_of(PAGE_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let end = address
        .checked_add(page_round_up(length).ok_or(Errno::ENOMEM)?)
        .ok_or(Errno::ENOMEM)?;
    let server = &mut *context.server;
    let process = server.processes.get(&context.pid).ok_or(Errno::ESRCH)?;
    let mut files = alloc::vec::Vec::new();
    let mut covered_to = address;
    for area in process.space.areas.iter() {
        if area.end <= address || area.start >= end {
            continue;
        }
        if area.start > covered_to {
            return Err(Errno::ENOMEM);
        }
        covered_to = area.end;
        if let (VmaKind::File { file, .. }, Sharing::Shared) = (area.kind, area.sharing) {
            files.push(file);
        }
    }
    if covered_to < end {
        return Err(Errno::ENOMEM);
    }
    for file in files {
        crate::shared_file::flush(
            &server.objects,
            &mut server.fs,
            linux_personality::fs::inode::InodeId(file.0),
        );
    }
    Ok(0)
}

pub fn sys_mprotect(
    context: &mut Context<'_>,
    address: u64,
    length: u64,
    protection: u64,
) -> Result<usize, Errno> {
    let permissions = Permissions::from_prot(protection).ok_or(Errno::EINVAL)?;
    if permissions.is_writable_and_executable() {
        return Err(Errno::EACCES);
    }
    if !address.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if length == 0 {
        return Ok(0);
    }
    let end = address
        .checked_add(page_round_up(length).ok_or(Errno::ENOMEM)?)
        .ok_or(Errno::ENOMEM)?;
    let server = &mut *context.server;
    let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
    // The vDSO and vvar stay as they are: nothing about them may become writable.
    if process.space.areas.iter().any(|area| {
        matches!(area.kind, VmaKind::Vdso | VmaKind::Vvar) && area.start < end && address < area.end
    }) {
        return Err(Errno::EACCES);
    }
    // A shared mapping of a file that was not open for writing when mapped never
    // becomes writable (Linux's VM_MAYWRITE).
    if permissions.write
        && process.space.areas.iter().any(|area| {
            matches!(
                area.kind,
                VmaKind::File {
                    write_access: WriteAccess::Refused,
                    ..
                }
            ) && area.start < end
                && address < area.end
        })
    {
        return Err(Errno::EACCES);
    }
    process
        .space
        .areas
        .protect(address, length, permissions)
        .map_err(|error| error.errno())?;
    process
        .space
        .protect_range(&mut server.objects, address, end, permissions)
        .map_err(|_| Errno::ENOMEM)?;
    Ok(0)
}

/// `madvise`: advice is accepted; MADV_DONTNEED on private anonymous memory drops the
/// pages so they read back as zeros, as on Linux.
pub fn sys_madvise(
    context: &mut Context<'_>,
    address: u64,
    length: u64,
    advice: u64,
) -> Result<usize, Errno> {
    const MADV_DONTNEED: u64 = 4;
    if !address.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if advice == MADV_DONTNEED {
        let end = address
            .checked_add(page_round_up(length).ok_or(Errno::EINVAL)?)
            .ok_or(Errno::EINVAL)?;
        let server = &mut *context.server;
        let process = server.processes.get_mut(&context.pid).ok_or(Errno::ESRCH)?;
        // The vvar page is not anonymous memory (Linux: EINVAL, as for any VM_PFNMAP
        // area); the vDSO text would refault as its own image on Linux, so dropping it is
        // a no-op. Dropping either page here would refault it as a zero page.
        let mut special = alloc::vec::Vec::new();
        for area in process.space.areas.iter() {
            if area.start < end && address < area.end {
                match area.kind {
                    VmaKind::Vvar => return Err(Errno::EINVAL),
                    VmaKind::Vdso => special.push((area.start, area.end)),
                    _ => {}
                }
            }
        }
        let mut from = address;
        special.sort_unstable();
        for (start, stop) in special {
            if from < start {
                process.space.unmap_range(&mut server.objects, from, start);
            }
            from = from.max(stop);
        }
        if from < end {
            process.space.unmap_range(&mut server.objects, from, end);
        }
    }
    Ok(0)
}
