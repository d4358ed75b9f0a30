//! Section headers, when present: no relocation entries besides R_AARCH64_NONE (item 4),
//! no writable or .bss-like sections, every allocated section inside the PT_LOAD. Returns
//! the executable size for the build's report.

use alloc::format;
use alloc::string::String;

use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader};
use object::LittleEndian;

use crate::image::{u32_at, Image};
use crate::violation::{Property, Report};

/// Sections that exist only to be written or zero-filled at load time.
const LOADER_SECTIONS: [&[u8]; 8] = [
    b".data",
    b".bss",
    b".got",
    b".got.plt",
    b".plt",
    b".tdata",
    b".tbss",
    b".data.rel.ro",
];

pub(crate) fn check(
    header: &FileHeader64<LittleEndian>,
    endian: LittleEndian,
    image: &Image<'_>,
    report: &mut Report,
) -> Option<u64> {
    if header.e_shoff(endian) == 0 {
        return None;
    }
    let table = match header.sections(endian, image.bytes) {
        Ok(table) => table,
        Err(error) => {
            report.add(Property::Malformed, format!("section headers: {error}"));
            return None;
        }
    };
    let mut text_size = 0u64;
    for (position, section) in table.iter().enumerate() {
        let name: String = match table.section_name(endian, section) {
            Ok(name) => String::from_utf8_lossy(name).into_owned(),
            Err(_) => format!("<section {position}>"),
        };
        let kind = section.sh_type(endian);
        let flags = section.sh_flags(endian);
        let size = section.sh_size(endian);
        let address = section.sh_addr(endian);
        let offset = section.sh_offset(endian);
        if matches!(kind, elf::SHT_RELA | elf::SHT_REL | elf::SHT_RELR) && size > 0 {
            let entries = relocation_entries(image, kind, offset, size);
            if entries != 0 {
                report.add(
                    Property::Relocations,
                    format!("relocation section {name} has {entries} entries"),
                );
            }
        }
        let allocated = flags & u64::from(elf::SHF_ALLOC) != 0;
        if !allocated || size == 0 {
            continue;
        }
        if LOADER_SECTIONS.contains(&name.as_bytes()) {
            report.add(
                Property::NeedsLoader,
                format!("section {name} present: the vDSO has no writable data"),
            );
        } else if flags & u64::from(elf::SHF_WRITE) != 0 {
            report.add(
                Property::NeedsLoader,
                format!("section {name} is writable, but the image is mapped read-only"),
            );
        } else if kind == elf::SHT_NOBITS {
            report.add(Property::NeedsLoader, format!("section {name} takes no file space: the file image would not be the memory image"));
        }
        let same_bytes = offset
            .checked_sub(image.load.offset)
            .zip(address.checked_sub(image.load.address))
            .is_some_and(|(from_offset, from_address)| from_offset == from_address);
        if kind != elf::SHT_NOBITS && (!same_bytes || !image.contains(address, size)) {
            report.add(
                Property::LoadSegment,
                format!("allocated section {name} lies outside the PT_LOAD"),
            );
        }
        if flags & u64::from(elf::SHF_EXECINSTR) != 0 {
            text_size = text_size.saturating_add(size);
        }
    }
    Some(text_size)
}

/// Entries other than R_AARCH64_NONE (every RELR entry counts).
fn relocation_entries(image: &Image<'_>, kind: u32, offset: u64, size: u64) -> u64 {
    let entry_size = match kind {
        elf::SHT_RELA => 24,
        elf::SHT_REL => 16,
        _ => return size / 8,
    };
    let count = size / entry_size;
    let Some(bytes) = image.at_offset(offset, count.saturating_mul(entry_size)) else {
        return count; // unreadable: count every entry
    };
    let words_per_entry = usize::try_from(entry_size / 4).unwrap_or(usize::MAX);
    (0..usize::try_from(count).unwrap_or(0))
        .filter(|&entry| {
            // r_info is the second 64-bit word; its low half is the type.
            let kind = u32_at(bytes, entry.saturating_mul(words_per_entry) + 2).unwrap_or(u32::MAX);
            kind != elf::R_AARCH64_NONE
        })
        .count() as u64
}
