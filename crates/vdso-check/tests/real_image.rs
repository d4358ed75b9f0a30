//! The checker against the real artefact: builds `target/vdso/vdso.so` exactly as
//! `cargo xtask` does (the xtask module is included below, so there is one build recipe),
//! requires it to pass, then breaks it one property at a time and requires the matching
//! violation, and finally feeds it thousands of truncated and bit-flipped variants to show
//! that malformed input yields violations, never a panic.
//!
//! Why build here rather than check in a binary fixture: a checked-in image would go stale
//! the moment the vDSO or the linker script changes, and the test would then prove nothing
//! about what ships. The build needs only the pinned toolchain (rust-toolchain.toml installs
//! the aarch64-unknown-none target and llvm-tools; rust-lld ships with rustc), which every
//! developer and CI machine has. It runs in its own target directory, so it does not
//! disturb the outer `cargo test`.

#[path = "../../../xtask/src/vdso.rs"]
#[allow(dead_code)]
mod vdso_build;

use std::path::Path;
use std::sync::OnceLock;

use vdso_check::{check, Export, Property, Violation, SIGRETURN_INSTRUCTIONS};

/// Builds the vDSO once per test binary.
fn real_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = root.canonicalize().expect("workspace root");
        let path =
            vdso_build::build(&root).unwrap_or_else(|error| panic!("building the vDSO: {error}"));
        std::fs::read(path).expect("reading vdso.so")
    })
}

fn violations_of(image: &[u8]) -> Vec<Violation> {
    match check(image) {
        Ok(info) => panic!("mutated image passed: {info:?}"),
        Err(violations) => violations,
    }
}

/// Requires a violation of `property` whose message contains `text`.
fn assert_violation(image: &[u8], property: Property, text: &str) {
    let violations = violations_of(image);
    assert!(
        violations
            .iter()
            .any(|violation| violation.property == property && violation.message.contains(text)),
        "want a {property:?} violation containing {text:?}, got {violations:#?}"
    );
}

fn read_u16(image: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(image[offset..offset + 2].try_into().expect("2 bytes"))
}

fn read_u32(image: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(image[offset..offset + 4].try_into().expect("4 bytes"))
}

fn read_u64(image: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(image[offset..offset + 8].try_into().expect("8 bytes"))
}

fn write_u32(image: &mut [u8], offset: usize, value: u32) {
    image[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

fn write_u64(image: &mut [u8], offset: usize, value: u64) {
    image[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// File offset of the program header of type `kind` (the image is linked at 0, offset 0).
fn program_header(image: &[u8], kind: u32) -> usize {
    let table = read_u64(image, 0x20) as usize;
    let count = read_u16(image, 0x38) as usize;
    (0..count)
        .map(|index| table + index * 56)
        .find(|&header| read_u32(image, header) == kind)
        .expect("program header present")
}

/// File offset of the dynamic entry with `tag`.
fn dynamic_entry(image: &[u8], tag: u64) -> usize {
    let dynamic = read_u64(image, program_header(image, 2) + 8) as usize;
    (0..)
        .map(|index| dynamic + index * 16)
        .take_while(|&entry| read_u64(image, entry) != 0)
        .find(|&entry| read_u64(image, entry) == tag)
        .expect("dynamic tag present")
}

fn dynamic_value(image: &[u8], tag: u64) -> usize {
    read_u64(image, dynamic_entry(image, tag) + 8) as usize
}

/// Dynamic symbol index of `name`.
fn symbol_index(image: &[u8], name: &str) -> usize {
    let symbols = dynamic_value(image, 6);
    let strings = dynamic_value(image, 5);
    let count = read_u32(image, dynamic_value(image, 4) + 4) as usize;
    (1..count)
        .find(|&index| {
            let name_offset = strings + read_u32(image, symbols + index * 24) as usize;
            image[name_offset..].starts_with(name.as_bytes())
                && image[name_offset + name.len()] == 0
        })
        .expect("symbol present")
}

const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SONAME: u64 = 14;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;

#[test]
fn the_built_image_passes() {
    let image = real_image();
    let info = check(image).unwrap_or_else(|violations| panic!("{violations:#?}"));
    assert!(info.image_size > 0 && info.image_size <= info.file_size);
    assert!(info
        .text_size
        .is_some_and(|size| size > 0 && size < info.image_size));
    for export in Export::ALL {
        let offset = info.offset(export);
        assert!(
            offset > 0 && offset < info.image_size && offset.is_multiple_of(4),
            "{export:?} at {offset:#x}"
        );
    }
    let sigreturn = info.offset(Export::RtSigreturn) as usize;
    assert_eq!(read_u32(image, sigreturn - 4), SIGRETURN_INSTRUCTIONS[0]);
    assert_eq!(read_u32(image, sigreturn), SIGRETURN_INSTRUCTIONS[1]);
    assert_eq!(read_u32(image, sigreturn + 4), SIGRETURN_INSTRUCTIONS[2]);
}

#[test]
fn writable_dynamic_segment_is_reported() {
    let mut image = real_image().to_vec();
    let flags = program_header(&image, PT_DYNAMIC) + 4;
    let value = read_u32(&image, flags) | 2;
    write_u32(&mut image, flags, value);
    assert_violation(&image, Property::DynamicSegment, "PT_DYNAMIC is writable");
}

#[test]
fn writable_or_offset_load_segment_is_reported() {
    let mut image = real_image().to_vec();
    let load = program_header(&image, PT_LOAD);
    write_u32(&mut image, load + 4, 7);
    assert_violation(
        &image,
        Property::LoadSegment,
        "PT_LOAD flags are RWX, want R-X",
    );
    let mut image = real_image().to_vec();
    let memory_size = read_u64(&image, load + 40);
    write_u64(&mut image, load + 40, memory_size + 4096);
    assert_violation(
        &image,
        Property::LoadSegment,
        "the file image is not the memory image",
    );
}

#[test]
fn missing_hash_table_is_reported() {
    let mut image = real_image().to_vec();
    // Retag DT_HASH as DT_SYMBOLIC (16), which carries no pointer.
    let entry = dynamic_entry(&image, DT_HASH);
    write_u64(&mut image, entry, 16);
    assert_violation(&image, Property::DynamicSegment, "missing DT_HASH");
}

#[test]
fn relocation_tags_are_reported() {
    let mut image = real_image().to_vec();
    let entry = dynamic_entry(&image, DT_SONAME);
    write_u64(&mut image, entry, 22); // DT_TEXTREL
    assert_violation(&image, Property::Relocations, "DT_TEXTREL present");
}

#[test]
fn relocation_section_entries_are_reported() {
    // Turn the .gnu.version_d section header into SHT_RELA: its bytes are not
    // R_AARCH64_NONE relocations.
    let mut image = real_image().to_vec();
    let section_table = read_u64(&image, 0x28) as usize;
    let count = read_u16(&image, 0x3c) as usize;
    let verdef = dynamic_value(&image, DT_VERDEF) as u64;
    let header = (0..count)
        .map(|index| section_table + index * 64)
        .find(|&header| read_u64(&image, header + 16) == verdef)
        .expect(".gnu.version_d section");
    write_u32(&mut image, header + 4, 4); // SHT_RELA
    let entries = read_u64(&image, header + 32) / 24;
    assert!(entries > 0);
    assert_violation(
        &image,
        Property::Relocations,
        &format!("relocation section .gnu.version_d has {entries} entries"),
    );
}

#[test]
fn wrong_version_hash_is_reported() {
    let mut image = real_image().to_vec();
    // The second verdef (after the base) is LINUX_2.6.39.
    let base = dynamic_value(&image, DT_VERDEF);
    let second = base + read_u32(&image, base + 16) as usize;
    write_u32(&mut image, second + 8, 0x1234);
    assert_violation(
        &image,
        Property::Versions,
        "LINUX_2.6.39's vd_hash is 0x1234, want 0x75fcb89",
    );
}

#[test]
fn export_with_the_wrong_version_is_reported() {
    let mut image = real_image().to_vec();
    let index = symbol_index(&image, "__kernel_clock_gettime");
    let versym = dynamic_value(&image, DT_VERSYM) + index * 2;
    image[versym..versym + 2].copy_from_slice(&1u16.to_le_bytes());
    assert_violation(
        &image,
        Property::Versions,
        "export __kernel_clock_gettime has version global (1, unversioned), want LINUX_2.6.39",
    );
}

#[test]
fn broken_sigreturn_bytes_are_reported() {
    let image = real_image();
    let offset = check(image).expect("valid").offset(Export::RtSigreturn) as usize;
    for word in [-4isize, 0, 4] {
        let mut broken = image.to_vec();
        let at = (offset as isize + word) as usize;
        write_u32(&mut broken, at, 0xd503_201f ^ 0x20); // a different hint
        assert_violation(
            &broken,
            Property::Sigreturn,
            "bytes are not nop / mov x8,#139 / svc #0",
        );
    }
}

#[test]
fn wrong_soname_is_reported() {
    let mut image = real_image().to_vec();
    let name = dynamic_value(&image, DT_STRTAB) + dynamic_value(&image, DT_SONAME);
    image[name] = b'L';
    assert_violation(&image, Property::Soname, "soname is \"Linux-vdso.so.1\"");
    // The base verdef shares the string, so it is reported too.
    assert_violation(
        &image,
        Property::Versions,
        "the base verdef is named \"Linux-vdso.so.1\"",
    );
}

#[test]
fn corrupt_gnu_hash_chain_is_reported() {
    let mut image = real_image().to_vec();
    let table = dynamic_value(&image, DT_GNU_HASH);
    let (buckets, symbol_offset, bloom) = (
        read_u32(&image, table) as usize,
        read_u32(&image, table + 4) as usize,
        read_u32(&image, table + 8) as usize,
    );
    let index = symbol_index(&image, "__kernel_gettimeofday");
    let chain = table + 16 + bloom * 8 + buckets * 4 + (index - symbol_offset) * 4;
    let value = read_u32(&image, chain);
    write_u32(&mut image, chain, value ^ 0x100);
    assert_violation(
        &image,
        Property::GnuHash,
        "DT_GNU_HASH chain entry for __kernel_gettimeofday",
    );
}

#[test]
fn corrupt_sysv_hash_bucket_is_reported() {
    let mut image = real_image().to_vec();
    let table = dynamic_value(&image, DT_HASH);
    let buckets = read_u32(&image, table) as usize;
    // Empty every bucket: no symbol is reachable.
    for bucket in 0..buckets {
        write_u32(&mut image, table + 8 + bucket * 4, 0);
    }
    assert_violation(&image, Property::SysvHash, "__kernel_clock_getres (index");
    assert_violation(
        &image,
        Property::SysvHash,
        "export __kernel_clock_getres is not found through DT_HASH",
    );
}

#[test]
fn renamed_export_is_reported_as_missing_and_unexpected() {
    let mut image = real_image().to_vec();
    let symbols = dynamic_value(&image, 6);
    let index = symbol_index(&image, "__kernel_clock_getres");
    let name = dynamic_value(&image, DT_STRTAB) + read_u32(&image, symbols + index * 24) as usize;
    image[name + 2] = b'K';
    assert_violation(
        &image,
        Property::Exports,
        "missing export __kernel_clock_getres",
    );
    assert_violation(
        &image,
        Property::Exports,
        "unexpected export __Kernel_clock_getres",
    );
}

#[test]
fn non_aarch64_and_non_dyn_headers_are_reported() {
    let mut image = real_image().to_vec();
    image[0x12] = 62; // EM_X86_64
    assert_violation(
        &image,
        Property::ElfHeader,
        "e_machine is 62, want EM_AARCH64",
    );
    let mut image = real_image().to_vec();
    image[0x10] = 2; // ET_EXEC
    assert_violation(&image, Property::ElfHeader, "e_type is 2, want ET_DYN");
}

/// Deterministic xorshift, so a failure names a reproducible case.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn every_truncation_is_rejected_without_panicking() {
    let image = real_image();
    let load_size = check(image).expect("valid").image_size as usize;
    for length in 0..image.len() {
        let result = check(&image[..length]);
        // Cutting into the loaded part always breaks something; past it only the section
        // headers and symbols are lost, which may or may not matter.
        if length < load_size {
            assert!(result.is_err(), "image cut to {length} bytes passed");
        }
    }
}

#[test]
fn random_corruption_never_panics() {
    let image = real_image();
    let mut state = 0x2545_f491_4f6c_dd1d;
    let mut rejected = 0;
    for round in 0..4000 {
        let mut mutated = image.to_vec();
        let flips = 1 + next(&mut state) % 8;
        for _ in 0..flips {
            // Favour the headers and dynamic tables at the front, where parsing happens.
            let limit = if round % 2 == 0 {
                1024.min(mutated.len())
            } else {
                mutated.len()
            };
            let position = (next(&mut state) % limit as u64) as usize;
            mutated[position] ^= 1 << (next(&mut state) % 8);
        }
        if check(&mutated).is_err() {
            rejected += 1;
        }
    }
    // Most flips near the front hit a checked structure; nearly all must be caught.
    assert!(
        rejected > 1000,
        "only {rejected} of 4000 corrupted images were rejected"
    );
}

#[test]
fn garbage_is_rejected() {
    let mut state = 7;
    for length in [0usize, 1, 63, 64, 65, 4096] {
        let garbage: Vec<u8> = (0..length).map(|_| next(&mut state) as u8).collect();
        assert!(check(&garbage).is_err());
        let mut elf_like = garbage.clone();
        if length >= 64 {
            elf_like[..6].copy_from_slice(b"\x7fELF\x02\x01");
            elf_like[6] = 1;
            assert!(check(&elf_like).is_err());
        }
    }
}
