//! The boot archive linked into the root task's image (the seL4 way: the same ELF carries
//! its files on any kernel), the file system built from it, and the boot configuration.

use linux_personality::boot_config::{BootConfig, BOOT_CONFIG_PATH};
use linux_personality::fs::inode::Content;
use linux_personality::fs::{path, EmptyPath, Follow, Fs, Identity, Timespec};

/// Bytes with an alignment the cpio parser does not need but a reader of the image may
/// appreciate (newc headers are 4-byte aligned within the archive).
#[repr(C, align(16))]
struct Aligned<Bytes: ?Sized>(Bytes);

static ARCHIVE: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/rootfs.cpio")));

/// The embedded archive (empty when the image was built without one).
pub fn archive() -> &'static [u8] {
    &ARCHIVE.0
}

/// Builds the file system: the archive's tree plus /dev, /tmp and /proc. A malformed
/// archive is reported and an empty tree used instead.
pub fn build(now: Timespec) -> Fs {
    let mut fs = match Fs::from_cpio(archive(), now) {
        // An image built without an archive (the kernel's boot test) has an empty one.
        _ if archive().is_empty() => Fs::new(now),
        Ok(fs) => fs,
        Err(error) => {
            log::error!("boot archive: {error}; starting with an empty file system");
            Fs::new(now)
        }
    };
    if let Err(error) = fs.add_standard_nodes(now) {
        log::error!("adding /dev, /tmp and /proc: {error}");
    }
    fs
}

/// A regular file's bytes, following symlinks.
pub fn file_bytes<'a>(fs: &'a Fs, path_bytes: &[u8]) -> Option<&'a [u8]> {
    let inode = path::resolve(
        fs,
        &Identity::ROOT,
        fs.root(),
        path_bytes,
        Follow::Follow,
        EmptyPath::Refuse,
    )
    .ok()?;
    match fs.inode(inode).ok()?.content() {
        Content::Regular(bytes) => Some(bytes),
        _ => None,
    }
}

/// The boot configuration from the archive, or the default (`/init`).
pub fn boot_config(fs: &Fs) -> BootConfig {
    match file_bytes(fs, BOOT_CONFIG_PATH.as_bytes()) {
        None => BootConfig::default_init(),
        Some(text) => BootConfig::parse(text).unwrap_or_else(|error| {
            log::error!("{BOOT_CONFIG_PATH}: {error}; running the default /init");
            BootConfig::default_init()
        }),
    }
}

/// Sizes for the boot report.
pub fn summary(fs: &Fs) -> (usize, u64) {
    let files = fs.inodes().count();
    let bytes: u64 = fs.inodes().map(|inode| inode.size()).sum();
    (files, bytes)
}
