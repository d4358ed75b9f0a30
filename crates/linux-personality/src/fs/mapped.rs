//! The file system's side of shared file mappings: a mapped page's bytes go back into
//! the file (on msync, on munmap, before a read or write of the file), never past the
//! file's end, as Linux's write-back never grows a file.

use super::inode::{Content, InodeId};
use super::tree::Fs;
use crate::errno::Errno;

/// Copies `page`, which shows the file from byte `offset`, into regular file `inode`,
/// stopping at the file's end. Returns the bytes copied.
///
/// # Errors
/// `ENOENT` if the inode is gone, `EINVAL` if it is not a regular file.
pub fn write_back_page(
    fs: &mut Fs,
    inode: InodeId,
    offset: u64,
    page: &[u8],
) -> Result<usize, Errno> {
    let node = fs.inode_mut(inode)?;
    let Content::Regular(bytes) = &mut node.content else {
        return Err(Errno::EINVAL);
    };
    let Some(target) = usize::try_from(offset)
        .ok()
        .and_then(|start| bytes.get_mut(start..))
    else {
        return Ok(0);
    };
    let count = target.len().min(page.len());
    if let (Some(target), Some(source)) = (target.get_mut(..count), page.get(..count)) {
        target.copy_from_slice(source);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::inode::Timespec;

    #[test]
    fn write_back_stops_at_the_end_of_the_file() {
        let mut fs = Fs::new(Timespec::default());
        let file = fs
            .allocate(
                Content::Regular(b"0123456789".to_vec()),
                0o644,
                (0, 0),
                Timespec::default(),
            )
            .unwrap();
        assert_eq!(write_back_page(&mut fs, file, 4, b"abcdefghij"), Ok(6));
        assert_eq!(write_back_page(&mut fs, file, 10, b"z"), Ok(0));
        assert_eq!(write_back_page(&mut fs, file, u64::MAX, b"z"), Ok(0));
        let Content::Regular(bytes) = fs.inode(file).unwrap().content() else {
            panic!("not a regular file");
        };
        assert_eq!(bytes.as_slice(), b"0123abcdef");
        assert_eq!(
            write_back_page(&mut fs, InodeId(9999), 0, b"x"),
            Err(Errno::ENOENT)
        );
        let root = fs.root();
        assert_eq!(write_back_page(&mut fs, root, 0, b"x"), Err(Errno::EINVAL));
    }
}
