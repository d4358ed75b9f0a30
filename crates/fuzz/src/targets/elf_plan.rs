//! Target `elf_plan`: `linux_personality::elf_plan::plan_load` on arbitrary files.
//!
//! Invariants: never a panic; a plan's segments are non-empty, sorted, on disjoint pages,
//! inside the file and the user address range, congruent with their file offsets modulo
//! the page size and never writable and executable; the entry point is in an executable
//! segment; the program headers and the TLS image are in file-backed memory; `brk` starts
//! at the page after the highest segment. Planning is deterministic, an `ET_EXEC` plan does
//! not depend on the static-pie bias, and a static-pie plan moves exactly with it.

use std::path::Path;

use linux_personality::elf_plan::{
    plan_load, ElfError, ExecutableKind, LoadPlan, MAX_PROGRAM_HEADER_BYTES, MINIMUM_USER_ADDRESS,
    PAGE_SIZE, PROGRAM_HEADER_SIZE, USER_ADDRESS_LIMIT,
};
use linux_personality::Errno;

use super::Target;
use crate::rng::Rng;

pub const TARGET: Target = Target {
    name: "elf_plan",
    run,
    seeds,
    generate,
    max_length: 64 * 1024,
};

/// Two page-aligned static-pie biases, and a misaligned one.
const BIASES: [u64; 2] = [0x1_0000, 0x5555_5555_4000];
const MISALIGNED_BIAS: u64 = 0x1234;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

fn run(file: &[u8]) {
    let first = plan_load(file, BIASES[0]);
    let second = plan_load(file, BIASES[1]);
    for (bias, result) in BIASES.iter().zip([&first, &second]) {
        match result {
            Ok(plan) => check_plan(file, *bias, plan),
            Err(error) => check_error(error),
        }
    }
    assert_eq!(
        plan_load(file, BIASES[0]),
        first,
        "planning is not deterministic"
    );
    let file_type = file
        .get(16..18)
        .map(|bytes| u16::from_le_bytes([bytes[0], bytes[1]]));
    match (&first, &second) {
        (Ok(low), Ok(high)) if low.kind == ExecutableKind::StaticPie => {
            check_moved(low, high, BIASES[1] - BIASES[0]);
        }
        (Ok(low), high) if low.kind == ExecutableKind::Static => {
            assert_eq!(
                high.as_ref(),
                Ok(low),
                "an ET_EXEC plan depends on the bias"
            );
        }
        (low, Ok(high)) if high.kind == ExecutableKind::Static => {
            assert_eq!(
                low.as_ref(),
                Ok(high),
                "an ET_EXEC plan depends on the bias"
            );
        }
        (Err(low), Err(high)) if file_type == Some(ET_EXEC) => {
            assert_eq!(low, high, "an ET_EXEC error depends on the bias");
        }
        _ => {}
    }
    if let Ok(plan) = &first {
        let misaligned = plan_load(file, MISALIGNED_BIAS);
        match plan.kind {
            ExecutableKind::Static => {
                assert_eq!(misaligned.as_ref(), Ok(plan), "ET_EXEC ignores the bias");
            }
            ExecutableKind::StaticPie => assert_eq!(
                misaligned,
                Err(ElfError::LoadBiasMisaligned {
                    bias: MISALIGNED_BIAS
                }),
                "a misaligned bias is refused"
            ),
        }
    }
}

fn check_error(error: &ElfError) {
    assert!(!error.to_string().is_empty());
    assert!(matches!(error.errno(), Errno::ENOEXEC | Errno::EINVAL));
}

fn check_plan(file: &[u8], bias: u64, plan: &LoadPlan) {
    let header_type = u16::from_le_bytes([file[16], file[17]]);
    match plan.kind {
        ExecutableKind::Static => {
            assert_eq!(header_type, ET_EXEC);
            assert_eq!(plan.load_bias, 0);
        }
        ExecutableKind::StaticPie => {
            assert_eq!(header_type, ET_DYN);
            assert_eq!(plan.load_bias, bias);
        }
    }
    assert!(!plan.segments.is_empty(), "a plan without segments");
    for segment in &plan.segments {
        assert!(segment.mem_size > 0, "empty segment planned: {segment:?}");
        assert!(segment.file_size <= segment.mem_size, "{segment:?}");
        let bytes = segment
            .file_bytes(file)
            .unwrap_or_else(|| panic!("segment outside the file: {segment:?}"));
        assert_eq!(bytes.len() as u64, segment.file_size);
        assert!(
            segment.vaddr >= MINIMUM_USER_ADDRESS,
            "page zero mapped: {segment:?}"
        );
        let last = segment
            .vaddr
            .checked_add(segment.mem_size - 1)
            .unwrap_or_else(|| panic!("segment wraps: {segment:?}"));
        assert!(
            last <= USER_ADDRESS_LIMIT,
            "above the user limit: {segment:?}"
        );
        assert_eq!(
            segment.vaddr % PAGE_SIZE,
            segment.file_offset % PAGE_SIZE,
            "misaligned segment: {segment:?}"
        );
        assert!(
            !(segment.permissions.write && segment.permissions.execute),
            "W+X segment: {segment:?}"
        );
    }
    for pair in plan.segments.windows(2) {
        assert!(
            pair[0].vaddr < pair[1].vaddr && pair[0].page_end() <= pair[1].page_start(),
            "segments share a page or are unsorted: {:?} {:?}",
            pair[0],
            pair[1]
        );
    }
    assert!(
        plan.segments
            .iter()
            .any(|segment| segment.permissions.execute
                && plan.entry >= segment.vaddr
                && plan.entry < segment.end()),
        "entry {:#x} is not in executable memory",
        plan.entry
    );
    assert_eq!(plan.phent, PROGRAM_HEADER_SIZE);
    assert_eq!(
        plan.phnum,
        u64::from(u16::from_le_bytes([file[56], file[57]]))
    );
    let table = plan.phnum * plan.phent;
    assert!(table > 0 && table <= MAX_PROGRAM_HEADER_BYTES);
    assert!(
        file_backed(plan, plan.phdr_vaddr, table),
        "program headers at {:#x} are not in file-backed memory",
        plan.phdr_vaddr
    );
    if let Some(tls) = &plan.tls {
        assert!(tls.file_size <= tls.mem_size, "{tls:?}");
        assert!(tls.align <= 1 || tls.align.is_power_of_two(), "{tls:?}");
        assert!(tls.align <= PAGE_SIZE, "{tls:?}");
        assert!(tls.mem_size <= USER_ADDRESS_LIMIT, "{tls:?}");
        assert!(
            tls.file_size == 0 || file_backed(plan, tls.vaddr, tls.file_size),
            "TLS image outside file-backed memory: {tls:?}"
        );
    }
    let highest = plan.segments.iter().map(|segment| segment.page_end()).max();
    assert_eq!(Some(plan.brk_start), highest);
    assert_eq!(plan.brk_start % PAGE_SIZE, 0);
}

/// Whether `[start, start + length)` lies in one segment's file-backed bytes.
fn file_backed(plan: &LoadPlan, start: u64, length: u64) -> bool {
    let Some(end) = start.checked_add(length) else {
        return false;
    };
    plan.segments
        .iter()
        .any(|segment| start >= segment.vaddr && end <= segment.vaddr + segment.file_size)
}

/// Plans of one static-pie at two biases differ by exactly `delta` in every address.
fn check_moved(low: &LoadPlan, high: &LoadPlan, delta: u64) {
    assert_eq!(low.segments.len(), high.segments.len());
    for (a, b) in low.segments.iter().zip(&high.segments) {
        assert_eq!(a.vaddr + delta, b.vaddr);
        assert_eq!(
            (a.mem_size, a.file_offset, a.file_size, a.permissions),
            (b.mem_size, b.file_offset, b.file_size, b.permissions)
        );
    }
    assert_eq!(low.entry + delta, high.entry);
    assert_eq!(low.phdr_vaddr + delta, high.phdr_vaddr);
    assert_eq!(low.brk_start + delta, high.brk_start);
    assert_eq!(
        low.tls.map(|tls| (tls.vaddr + delta, tls.mem_size)),
        high.tls.map(|tls| (tls.vaddr, tls.mem_size))
    );
}

/// The real static test program and a few synthetic executables of each shape.
fn seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let real = root.join("crates/linux-personality/testdata/exit_static");
    if let Ok(bytes) = std::fs::read(&real) {
        assert!(
            plan_load(&bytes, BIASES[0]).is_ok(),
            "the real test program {} must plan",
            real.display()
        );
        seeds.push(bytes);
    }
    let mut rng = Rng::new(0xe1f);
    for _ in 0..16 {
        seeds.push(generate(&mut rng));
    }
    seeds
}

/// One program header of a synthetic executable.
#[derive(Clone, Copy, Debug)]
struct Header {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    file_size: u64,
    mem_size: u64,
    align: u64,
}

/// A synthetic executable laid out as a linker would (text with the headers, read-only
/// data, data with TLS and bss), with a few random departures from the norm.
fn generate(rng: &mut Rng) -> Vec<u8> {
    let file_type = match rng.below(8) {
        0..=4 => ET_EXEC,
        5 | 6 => ET_DYN,
        _ => rng.next_u64() as u16,
    };
    let base: u64 = if file_type == ET_EXEC {
        rng.pick(&[0x40_0000, 0x1_0000, 0x1000, 0x7fff_ffff_0000])
    } else {
        0
    };
    let pages = 1 + rng.below(3) as u64;
    let text_size = pages * PAGE_SIZE - rng.below(256) as u64;
    let data_offset = pages * PAGE_SIZE + rng.below(2) as u64 * PAGE_SIZE;
    let data_file_size = 16 + rng.below(512) as u64;
    let bss = rng.pick(&[0, 8, 0x1000, 0x10_0000]);
    let data_vaddr = base + data_offset + PAGE_SIZE * rng.below(3) as u64;
    let mut headers = Vec::new();
    let with_phdr = rng.one_in(2);
    let with_tls = rng.one_in(3);
    let with_stack = rng.one_in(2);
    let header_count = 2 + usize::from(with_phdr) + usize::from(with_tls) + usize::from(with_stack);
    let table_size = header_count as u64 * PROGRAM_HEADER_SIZE;
    if with_phdr {
        headers.push(Header {
            kind: PT_PHDR,
            flags: PF_R,
            offset: 64,
            vaddr: base + 64,
            file_size: table_size,
            mem_size: table_size,
            align: 8,
        });
    }
    headers.push(Header {
        kind: PT_LOAD,
        flags: PF_R | PF_X,
        offset: 0,
        vaddr: base,
        file_size: text_size,
        mem_size: text_size,
        align: PAGE_SIZE,
    });
    headers.push(Header {
        kind: PT_LOAD,
        flags: PF_R | PF_W,
        offset: data_offset,
        vaddr: data_vaddr,
        file_size: data_file_size,
        mem_size: data_file_size + bss,
        align: PAGE_SIZE,
    });
    if with_tls {
        headers.push(Header {
            kind: PT_TLS,
            flags: PF_R,
            offset: data_offset,
            vaddr: data_vaddr,
            file_size: 8,
            mem_size: 8 + rng.pick(&[0, 8, 64]),
            align: rng.pick(&[0, 1, 8, 16, 24, 0x2000]),
        });
    }
    if with_stack {
        headers.push(Header {
            kind: PT_GNU_STACK,
            flags: PF_R | PF_W | if rng.one_in(4) { PF_X } else { 0 },
            offset: 0,
            vaddr: 0,
            file_size: 0,
            mem_size: 0,
            align: 16,
        });
    }
    // Occasional departures a mutation would take long to find.
    match rng.below(8) {
        0 => headers.push(Header {
            kind: rng.pick(&[PT_INTERP, PT_NOTE, PT_LOAD]),
            flags: rng.below(8) as u32,
            offset: 0x100,
            vaddr: base + 0x100,
            file_size: 16,
            mem_size: rng.pick(&[0, 16, 0x2000]),
            align: 1,
        }),
        1 => headers.swap(0, 1),
        _ => {}
    }
    let file_length = (data_offset + data_file_size) as usize;
    let mut file = vec![0_u8; file_length];
    file[..4].copy_from_slice(b"\x7fELF");
    file[4] = 2; // ELFCLASS64
    file[5] = 1; // ELFDATA2LSB
    file[6] = 1; // EV_CURRENT
    put(&mut file, 16, &file_type.to_le_bytes());
    put(&mut file, 18, &183_u16.to_le_bytes()); // EM_AARCH64
    put(&mut file, 20, &1_u32.to_le_bytes());
    let entry = base + 64 + table_size + rng.below(64) as u64 * 4;
    put(&mut file, 24, &entry.to_le_bytes());
    put(&mut file, 32, &64_u64.to_le_bytes()); // e_phoff
    put(&mut file, 52, &64_u16.to_le_bytes()); // e_ehsize
    put(&mut file, 54, &(PROGRAM_HEADER_SIZE as u16).to_le_bytes());
    put(&mut file, 56, &(headers.len() as u16).to_le_bytes());
    for (index, header) in headers.iter().enumerate() {
        let at = 64 + index * PROGRAM_HEADER_SIZE as usize;
        put(&mut file, at, &header.kind.to_le_bytes());
        put(&mut file, at + 4, &header.flags.to_le_bytes());
        put(&mut file, at + 8, &header.offset.to_le_bytes());
        put(&mut file, at + 16, &header.vaddr.to_le_bytes());
        put(&mut file, at + 24, &header.vaddr.to_le_bytes());
        put(&mut file, at + 32, &header.file_size.to_le_bytes());
        put(&mut file, at + 40, &header.mem_size.to_le_bytes());
        put(&mut file, at + 48, &header.align.to_le_bytes());
    }
    file
}

/// Copies `bytes` to `offset` if they fit.
fn put(file: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(target) = file.get_mut(offset..offset + bytes.len()) {
        target.copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator's executables must mostly plan, or the mutations start from noise.
    #[test]
    fn generated_executables_usually_plan() {
        let mut rng = Rng::new(5);
        let planned = (0..1000)
            .filter(|_| plan_load(&generate(&mut rng), BIASES[0]).is_ok())
            .count();
        println!("{planned} of 1000 generated executables plan");
        assert!(
            planned > 300,
            "only {planned} of 1000 generated executables plan"
        );
    }
}
