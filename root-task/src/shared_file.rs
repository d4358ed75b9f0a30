//! Shared file mappings kept coherent with read() and write(): every `MAP_SHARED` mapping
//! of a file maps the pages of the file's one shared memory object, and the in-memory
//! file system's bytes are brought up to date from those pages before the file is read
//! or written ([`flush`]), and the pages from the bytes after it is written
//! ([`refresh`]). Unmapped objects are written back and freed by [`drain_unmapped`].
//!
//! Known gaps: other readers of a file's bytes (exec, private file mappings' faults)
//! see the mapping's writes only after a flush (msync, munmap, a read or write of the
//! file).
//!
//! A file truncated while mapped loses the mapped pages wholly past its new end
//! ([`truncated`]): the next access there faults past the end of the file (SIGBUS), as
//! on Linux.

use crate::objects::Objects;
use crate::server::Server;
use alloc::vec;
use linux_personality::fs::inode::{Content, InodeId};
use linux_personality::fs::mapped::write_back_page;
use linux_personality::fs::Fs;
use linux_personality::FileId;

/// Bytes in a page.
const PAGE_BYTES: usize = crate::frames::FRAME_SIZE;

/// Copies the present pages of `inode`'s shared mappings into the file (up to its end).
pub fn flush(objects: &Objects, fs: &mut Fs, inode: InodeId) {
    let pages = objects.shared.file_pages(FileId(inode.0));
    if pages.is_empty() {
        return;
    }
    let mut buffer = vec![0u8; PAGE_BYTES];
    for (offset, frame) in pages {
        if objects.frames.read(frame, 0, &mut buffer) {
            // A file gone or no longer regular has nothing to keep coherent.
            let _ = write_back_page(fs, inode, offset, &buffer);
        }
    }
}

/// Copies the file's bytes into the present pages of its shared mappings (zeros past
/// the end), after a write changed them.
pub fn refresh(objects: &Objects, fs: &Fs, inode: InodeId) {
    let pages = objects.shared.file_pages(FileId(inode.0));
    if pages.is_empty() {
        return;
    }
    let Ok(Content::Regular(bytes)) = fs.inode(inode).map(|node| node.content()) else {
        return;
    };
    for (offset, frame) in pages {
        let shown = usize::try_from(offset)
            .ok()
            .and_then(|start| bytes.get(start..))
            .unwrap_or(&[]);
        let shown = shown.get(..PAGE_BYTES).unwrap_or(shown);
        objects.frames.zero(frame);
        objects.frames.write(frame, 0, shown);
    }
}

/// `inode`'s size was set (ftruncate, truncate, an `O_TRUNC` open): the pages of its
/// mappings wholly past the new end go (see `AddressSpace::drop_file_pages`) and the
/// shared pages left show the file's bytes, zeros past the end. A caller that truncates
/// with [`flush`] first keeps what shared mappings wrote below the new end.
pub fn truncated(server: &mut Server, inode: InodeId) {
    let Ok(Content::Regular(bytes)) = server.fs.inode(inode).map(|node| node.content()) else {
        return;
    };
    let Some(kept) = (bytes.len() as u64).checked_next_multiple_of(PAGE_BYTES as u64) else {
        return;
    };
    let file = FileId(inode.0);
    for process in server.processes.values_mut() {
        process
            .space
            .drop_file_pages(&mut server.objects, file, kept);
    }
    // The object's own references, once no address space maps the pages.
    for frame in server.objects.shared.take_file_pages_from(file, kept) {
        if server.objects.frames.release(frame) {
            server.objects.free_frame(frame);
        }
    }
    refresh(&server.objects, &server.fs, inode);
}

/// Writes back and frees the pages of every file object no mapping uses any more
/// (after munmap, mremap, msync, a process's exit).
pub fn drain_unmapped(objects: &mut Objects, fs: &mut Fs) {
    if objects.shared.is_empty() {
        return;
    }
    let mut buffer = vec![0u8; PAGE_BYTES];
    for (file, pages) in objects.shared.take_unmapped_files() {
        for (offset, frame) in pages {
            if objects.frames.read(frame, 0, &mut buffer) {
                let _ = write_back_page(fs, InodeId(file.0), offset, &buffer);
            }
            if objects.frames.release(frame) {
                objects.free_frame(frame);
            }
        }
    }
}
