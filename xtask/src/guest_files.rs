//! Files a system test's boot archive carries in place of the standard ones (see
//! `harness::TEST_FILES`): made on the host when the test is built, written next to its
//! archive under `target/rootfs/`, and packed over the file of the same name.

use std::path::{Path, PathBuf};

/// What to put at one path of the guest's file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFile {
    /// The built `vdso.so`, damaged so its checks fail.
    DamagedVdso(VdsoDamage),
}

/// How a damaged vDSO is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VdsoDamage {
    /// PF_W added to the PT_LOAD: a writable mapping every process would share.
    WritableLoad,
}

/// Makes each of `files` ((guest path, what)) for test `test_name`; returns (guest path,
/// host file) pairs for the archive.
///
/// # Errors
/// The vDSO does not build, the damage cannot be applied or leaves an image the checker
/// still accepts (the test would then prove nothing), or a file cannot be written.
pub fn prepare(
    workspace_root: &Path,
    test_name: &str,
    files: &[(&str, GuestFile)],
) -> Result<Vec<(String, PathBuf)>, String> {
    let mut prepared = Vec::new();
    for (guest_path, file) in files {
        let bytes = match file {
            GuestFile::DamagedVdso(damage) => {
                let built = crate::vdso::build(workspace_root)?;
                let mut image = std::fs::read(&built)
                    .map_err(|error| format!("reading {}: {error}", built.display()))?;
                apply(&mut image, *damage)?;
                if vdso_check::check(&image).is_ok() {
                    return Err(format!(
                        "{guest_path}: the vDSO damaged by {damage:?} still passes its checks"
                    ));
                }
                image
            }
        };
        let file_name = guest_path.trim_start_matches('/').replace('/', "_");
        let host_path = workspace_root
            .join("target")
            .join("rootfs")
            .join(format!("{test_name}-{file_name}"));
        crate::harness::write_file(&host_path, &bytes).map_err(|error| error.to_string())?;
        prepared.push((guest_path.trim_start_matches('/').to_owned(), host_path));
    }
    Ok(prepared)
}

/// ELF64 offsets used below.
const PROGRAM_HEADERS_OFFSET: usize = 0x20;
const PROGRAM_HEADER_SIZE: usize = 0x36;
const PROGRAM_HEADER_COUNT: usize = 0x38;
const PT_LOAD: u32 = 1;
const PF_W: u32 = 2;

/// Applies `damage` to an ELF64 little-endian image.
///
/// # Errors
/// The image is too short, or has no PT_LOAD.
pub fn apply(image: &mut [u8], damage: VdsoDamage) -> Result<(), String> {
    match damage {
        VdsoDamage::WritableLoad => {
            let table = read_u64(image, PROGRAM_HEADERS_OFFSET)?;
            let entry_size = read_u16(image, PROGRAM_HEADER_SIZE)?;
            let count = read_u16(image, PROGRAM_HEADER_COUNT)?;
            let table = usize::try_from(table).map_err(|_| "program headers out of range")?;
            for index in 0..usize::from(count) {
                let entry = table
                    .checked_add(index * usize::from(entry_size))
                    .ok_or("program headers out of range")?;
                if read_u32(image, entry)? == PT_LOAD {
                    let flags = read_u32(image, entry + 4)?;
                    image[entry + 4..entry + 8].copy_from_slice(&(flags | PF_W).to_le_bytes());
                    return Ok(());
                }
            }
            Err("no PT_LOAD to make writable".into())
        }
    }
}

fn field<const N: usize>(image: &[u8], offset: usize) -> Result<[u8; N], String> {
    offset
        .checked_add(N)
        .and_then(|end| image.get(offset..end))
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("image too short for {N} bytes at {offset:#x}"))
}

fn read_u16(image: &[u8], offset: usize) -> Result<u16, String> {
    field(image, offset).map(u16::from_le_bytes)
}

fn read_u32(image: &[u8], offset: usize) -> Result<u32, String> {
    field(image, offset).map(u32::from_le_bytes)
}

fn read_u64(image: &[u8], offset: usize) -> Result<u64, String> {
    field(image, offset).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF header followed by `types` program headers (flags R|X each).
    fn image_with_segments(types: &[u32]) -> Vec<u8> {
        let mut image = vec![0u8; 64 + 56 * types.len()];
        image[..4].copy_from_slice(b"\x7fELF");
        image[PROGRAM_HEADERS_OFFSET..PROGRAM_HEADERS_OFFSET + 8]
            .copy_from_slice(&64u64.to_le_bytes());
        image[PROGRAM_HEADER_SIZE..PROGRAM_HEADER_SIZE + 2].copy_from_slice(&56u16.to_le_bytes());
        image[PROGRAM_HEADER_COUNT..PROGRAM_HEADER_COUNT + 2]
            .copy_from_slice(&(types.len() as u16).to_le_bytes());
        for (index, kind) in types.iter().enumerate() {
            let entry = 64 + 56 * index;
            image[entry..entry + 4].copy_from_slice(&kind.to_le_bytes());
            image[entry + 4..entry + 8].copy_from_slice(&5u32.to_le_bytes());
        }
        image
    }

    #[test]
    fn writable_load_sets_pf_w_on_the_load_segment_only() {
        const PT_DYNAMIC: u32 = 2;
        let mut image = image_with_segments(&[PT_DYNAMIC, PT_LOAD]);
        let original = image.clone();
        apply(&mut image, VdsoDamage::WritableLoad).unwrap();
        assert_eq!(read_u32(&image, 64 + 4), Ok(5));
        assert_eq!(read_u32(&image, 64 + 56 + 4), Ok(7));
        let changed: Vec<usize> = (0..image.len())
            .filter(|&index| image[index] != original[index])
            .collect();
        assert_eq!(changed, [64 + 56 + 4]);
    }

    #[test]
    fn images_it_cannot_damage_are_errors_not_panics() {
        assert!(apply(&mut [0u8; 10], VdsoDamage::WritableLoad).is_err());
        assert!(apply(&mut image_with_segments(&[2]), VdsoDamage::WritableLoad).is_err());
        let mut truncated = image_with_segments(&[PT_LOAD]);
        truncated.truncate(64 + 6);
        assert!(apply(&mut truncated, VdsoDamage::WritableLoad).is_err());
        let mut far = image_with_segments(&[PT_LOAD]);
        far[PROGRAM_HEADERS_OFFSET..PROGRAM_HEADERS_OFFSET + 8]
            .copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(apply(&mut far, VdsoDamage::WritableLoad).is_err());
    }
}
