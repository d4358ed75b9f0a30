//! Target `vdso_check`: `vdso_check::check` on arbitrary images.
//!
//! Invariants: never a panic; the verdict is deterministic; a rejection lists at least one
//! violation, each with a message; an accepted image reports its own length, a loadable
//! size within it, every export inside the loadable part, and `__kernel_rt_sigreturn`
//! preceded by the `nop` and made of the `mov x8, #139; svc #0` that unwinders match.
//! The real image, when built, must pass ("a clean image passes").

use std::path::Path;

use vdso_check::{check, Export, SIGRETURN_INSTRUCTIONS};

use super::Target;
use crate::rng::Rng;

pub const TARGET: Target = Target {
    name: "vdso_check",
    run,
    seeds,
    generate,
    max_length: 16 * 1024,
};

fn run(image: &[u8]) {
    let verdict = check(image);
    assert_eq!(check(image), verdict, "the verdict is not deterministic");
    match verdict {
        Ok(info) => {
            assert_eq!(info.file_size, image.len() as u64);
            assert!(info.image_size > 0 && info.image_size <= info.file_size);
            for export in Export::ALL {
                let offset = info.offset(export);
                assert!(
                    offset < info.image_size,
                    "{} at {offset:#x} is outside the image",
                    export.name()
                );
            }
            let sigreturn = usize::try_from(info.offset(Export::RtSigreturn)).expect("small");
            let code = sigreturn
                .checked_sub(4)
                .and_then(|start| image.get(start..sigreturn + 8))
                .expect("the sigreturn code is inside the image");
            let words: Vec<u32> = code
                .chunks_exact(4)
                .map(|word| u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
                .collect();
            assert_eq!(words, SIGRETURN_INSTRUCTIONS, "sigreturn code");
        }
        Err(violations) => {
            assert!(!violations.is_empty(), "rejected without a violation");
            assert!(violations
                .iter()
                .all(|violation| !violation.message.is_empty()));
        }
    }
}

/// The real `target/vdso/vdso.so` when it has been built (`cargo xtask vdso`), which must
/// pass, and hand-made fragments of ELF images.
fn seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let real = root.join("target/vdso/vdso.so");
    match std::fs::read(&real) {
        Ok(image) => {
            if let Err(violations) = check(&image) {
                panic!(
                    "the built vDSO {} fails its check: {violations:#?}",
                    real.display()
                );
            }
            seeds.push(image);
        }
        Err(_) => eprintln!(
            "fuzz vdso_check: {} is not built (cargo xtask vdso); using synthetic seeds only",
            real.display()
        ),
    }
    let mut rng = Rng::new(0x7d50);
    for _ in 0..8 {
        seeds.push(generate(&mut rng));
    }
    seeds
}

/// A small shared object shell: ELF header, a `PT_LOAD` from offset 0 and a `PT_DYNAMIC`
/// whose table holds a random selection of the tags the checker reads, pointing at
/// plausible offsets inside the file. Wrong in detail, so the checker's deeper paths see
/// near-valid structures rather than garbage.
fn generate(rng: &mut Rng) -> Vec<u8> {
    const LENGTH: usize = 0x800;
    const DYNAMIC: usize = 0x200;
    let mut image = vec![0_u8; LENGTH];
    image[..4].copy_from_slice(b"\x7fELF");
    image[4] = 2;
    image[5] = 1;
    image[6] = 1;
    put(&mut image, 16, &3_u16.to_le_bytes()); // ET_DYN
    put(&mut image, 18, &183_u16.to_le_bytes());
    put(&mut image, 20, &1_u32.to_le_bytes());
    put(&mut image, 32, &64_u64.to_le_bytes());
    put(&mut image, 52, &64_u16.to_le_bytes());
    put(&mut image, 54, &56_u16.to_le_bytes());
    put(&mut image, 56, &2_u16.to_le_bytes());
    // PT_LOAD r-x covering the whole file.
    put(&mut image, 64, &1_u32.to_le_bytes());
    put(&mut image, 68, &5_u32.to_le_bytes());
    put(&mut image, 64 + 32, &(LENGTH as u64).to_le_bytes());
    put(&mut image, 64 + 40, &(LENGTH as u64).to_le_bytes());
    put(&mut image, 64 + 48, &0x1000_u64.to_le_bytes());
    // PT_DYNAMIC.
    let dynamic_header = 64 + 56;
    put(&mut image, dynamic_header, &2_u32.to_le_bytes());
    put(&mut image, dynamic_header + 4, &4_u32.to_le_bytes());
    for field in [8, 16, 24] {
        put(
            &mut image,
            dynamic_header + field,
            &(DYNAMIC as u64).to_le_bytes(),
        );
    }
    let tags: [u64; 10] = [
        4,           // DT_HASH
        5,           // DT_STRTAB
        6,           // DT_SYMTAB
        10,          // DT_STRSZ
        11,          // DT_SYMENT
        14,          // DT_SONAME
        0x6fff_fef5, // DT_GNU_HASH
        0x6fff_fff0, // DT_VERSYM
        0x6fff_fffc, // DT_VERDEF
        0x6fff_fffd, // DT_VERDEFNUM
    ];
    let mut at = DYNAMIC;
    for tag in tags {
        if rng.one_in(4) {
            continue;
        }
        let value = match tag {
            10 => 0x40,
            11 => 24,
            14 => 1,
            0x6fff_fffd => 2,
            _ => 0x300 + 0x80 * rng.below(8) as u64,
        };
        put(&mut image, at, &tag.to_le_bytes());
        put(&mut image, at + 8, &value.to_le_bytes());
        at += 16;
    }
    let dynamic_size = (at - DYNAMIC + 16) as u64;
    put(&mut image, dynamic_header + 32, &dynamic_size.to_le_bytes());
    put(&mut image, dynamic_header + 40, &dynamic_size.to_le_bytes());
    image.truncate(LENGTH - rng.below(2) * rng.below(LENGTH));
    image
}

fn put(image: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(target) = image.get_mut(offset..offset + bytes.len()) {
        target.copy_from_slice(bytes);
    }
}
