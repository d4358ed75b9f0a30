//! The dynamic segment (item 3 and part of item 4): required tags, forbidden tags, at most
//! eight pointer-type tags, and every pointer inside the mapping.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use object::elf;

use crate::image::{string_at, u64_at, Image};
use crate::violation::{Property, Report};
use crate::{MAX_POINTER_TAGS, SONAME};

/// Not in `object` 0.36.
const DT_RELRSZ: u64 = 35;
const DT_RELR: u64 = 36;

/// Tags the image must have.
const REQUIRED: [u32; 10] = [
    elf::DT_HASH,
    elf::DT_GNU_HASH,
    elf::DT_STRTAB,
    elf::DT_SYMTAB,
    elf::DT_STRSZ,
    elf::DT_SYMENT,
    elf::DT_SONAME,
    elf::DT_VERSYM,
    elf::DT_VERDEF,
    elf::DT_VERDEFNUM,
];

/// The dynamic entries up to DT_NULL.
pub(crate) struct Dynamic {
    entries: Vec<(u64, u64)>,
}

impl Dynamic {
    /// Reads the entries and checks the tag set.
    pub(crate) fn parse(
        image: &Image<'_>,
        offset: u64,
        size: u64,
        report: &mut Report,
    ) -> Option<Self> {
        let Some(bytes) = image.at_offset(offset, size) else {
            report.add(
                Property::DynamicSegment,
                "PT_DYNAMIC lies outside the file".into(),
            );
            return None;
        };
        let mut entries = Vec::new();
        let mut terminated = false;
        for index in 0..bytes.len() / 16 {
            let (Some(tag), Some(value)) = (u64_at(bytes, index * 2), u64_at(bytes, index * 2 + 1))
            else {
                break;
            };
            if tag == u64::from(elf::DT_NULL) {
                terminated = true;
                break;
            }
            entries.push((tag, value));
        }
        if !terminated {
            report.add(
                Property::DynamicSegment,
                "dynamic section has no DT_NULL terminator".into(),
            );
        }
        let dynamic = Self { entries };
        dynamic.check_tags(image, report);
        Some(dynamic)
    }

    /// The value of `tag`, if present (the first, if repeated; repeats are reported).
    pub(crate) fn get(&self, tag: u32) -> Option<u64> {
        self.entries
            .iter()
            .find(|(entry, _)| *entry == u64::from(tag))
            .map(|&(_, value)| value)
    }

    fn check_tags(&self, image: &Image<'_>, report: &mut Report) {
        for tag in REQUIRED {
            if self.get(tag).is_none() {
                report.add(
                    Property::DynamicSegment,
                    format!("missing {}", tag_name(u64::from(tag))),
                );
            }
        }
        let mut seen: Vec<u64> = Vec::new();
        let mut pointer_tags: Vec<u64> = Vec::new();
        for &(tag, value) in &self.entries {
            let name = tag_name(tag);
            if tag != u64::from(elf::DT_NEEDED) && seen.contains(&tag) {
                report.add(
                    Property::DynamicSegment,
                    format!("{name} appears more than once"),
                );
            }
            seen.push(tag);
            if let Some((property, why)) = forbidden(tag, value) {
                report.add(property, format!("{name} present: {why}"));
            }
            if is_pointer(tag) {
                pointer_tags.push(tag);
                // DT_DEBUG is filled in at run time; it is reported as forbidden above.
                if tag != u64::from(elf::DT_DEBUG) && !image.contains(value, 1) {
                    report.add(
                        Property::DynamicSegment,
                        format!("{name} points at {value:#x}, outside the PT_LOAD"),
                    );
                }
            }
        }
        if pointer_tags.len() > MAX_POINTER_TAGS {
            let names: Vec<String> = pointer_tags.iter().map(|&tag| tag_name(tag)).collect();
            report.add(
                Property::DynamicSegment,
                format!(
                    "{} pointer-type dynamic tags ({}), at most {MAX_POINTER_TAGS}",
                    pointer_tags.len(),
                    names.join(", ")
                ),
            );
        }
        if let Some(size) = self.get(elf::DT_SYMENT) {
            if size != 24 {
                report.add(
                    Property::DynamicSegment,
                    format!("DT_SYMENT is {size}, want 24"),
                );
            }
        }
    }
}

/// DT_STRTAB/DT_STRSZ, if inside the mapping.
pub(crate) fn strings<'a>(
    image: &Image<'a>,
    dynamic: &Dynamic,
    report: &mut Report,
) -> Option<&'a [u8]> {
    let address = dynamic.get(elf::DT_STRTAB)?;
    let size = dynamic.get(elf::DT_STRSZ)?;
    let table = image.at_address(address, size);
    if table.is_none() {
        report.add(
            Property::DynamicSegment,
            format!("DT_STRTAB ({size:#x} bytes at {address:#x}) extends outside the PT_LOAD"),
        );
    }
    table
}

/// Item 1's soname.
pub(crate) fn check_soname(dynamic: &Dynamic, strings: &[u8], report: &mut Report) {
    let Some(offset) = dynamic.get(elf::DT_SONAME) else {
        return; // reported as a missing tag
    };
    match string_at(strings, offset) {
        Some(name) if name == SONAME.as_bytes() => {}
        Some(name) => report.add(
            Property::Soname,
            format!(
                "soname is \"{}\", want \"{SONAME}\"",
                String::from_utf8_lossy(name)
            ),
        ),
        None => report.add(
            Property::Soname,
            format!("DT_SONAME offset {offset:#x} is outside DT_STRTAB"),
        ),
    }
}

/// Why a tag may not appear, and which property it breaks.
fn forbidden(tag: u64, value: u64) -> Option<(Property, &'static str)> {
    let tag32 = u32::try_from(tag).ok();
    let needs_relocation = (Property::Relocations, "the image would need relocation");
    match tag32 {
        Some(elf::DT_NEEDED) => Some((
            Property::NeedsLoader,
            "the vDSO cannot depend on another object",
        )),
        Some(elf::DT_VERNEED | elf::DT_VERNEEDNUM) => Some((
            Property::NeedsLoader,
            "the vDSO cannot need versions from another object",
        )),
        Some(elf::DT_TEXTREL) => Some((Property::Relocations, "the text would need relocation")),
        Some(elf::DT_FLAGS) if value & u64::from(elf::DF_TEXTREL) != 0 => {
            Some((Property::Relocations, "DF_TEXTREL is set"))
        }
        Some(elf::DT_RELA | elf::DT_REL | elf::DT_JMPREL | elf::DT_PLTGOT) => {
            Some(needs_relocation)
        }
        Some(
            elf::DT_RELASZ
            | elf::DT_RELSZ
            | elf::DT_PLTRELSZ
            | elf::DT_RELACOUNT
            | elf::DT_RELCOUNT,
        ) if value != 0 => Some(needs_relocation),
        _ if tag == DT_RELR || (tag == DT_RELRSZ && value != 0) => Some(needs_relocation),
        Some(
            elf::DT_INIT
            | elf::DT_FINI
            | elf::DT_INIT_ARRAY
            | elf::DT_FINI_ARRAY
            | elf::DT_PREINIT_ARRAY,
        ) => Some((
            Property::NeedsLoader,
            "nothing runs initialisers or finalisers in a vDSO",
        )),
        Some(elf::DT_AUXILIARY | elf::DT_FILTER) => {
            Some((Property::NeedsLoader, "the vDSO cannot be a filter"))
        }
        Some(elf::DT_DEBUG) => Some((
            Property::DynamicSegment,
            "ld.so writes DT_DEBUG, and the dynamic section is read-only",
        )),
        _ => None,
    }
}

/// Tags whose value is an address (d_ptr), which a loader with a writable `.dynamic` would
/// relocate in place.
fn is_pointer(tag: u64) -> bool {
    let Ok(tag) = u32::try_from(tag) else {
        return false;
    };
    matches!(
        tag,
        elf::DT_PLTGOT
            | elf::DT_HASH
            | elf::DT_STRTAB
            | elf::DT_SYMTAB
            | elf::DT_RELA
            | elf::DT_INIT
            | elf::DT_FINI
            | elf::DT_REL
            | elf::DT_DEBUG
            | elf::DT_JMPREL
            | elf::DT_INIT_ARRAY
            | elf::DT_FINI_ARRAY
            | elf::DT_PREINIT_ARRAY
            | elf::DT_VERSYM
            | elf::DT_VERDEF
            | elf::DT_VERNEED
    ) || u64::from(tag) == DT_RELR
        || (elf::DT_ADDRRNGLO..=elf::DT_ADDRRNGHI).contains(&tag)
}

/// The tag's name for messages.
pub(crate) fn tag_name(tag: u64) -> String {
    match u32::try_from(tag).ok().and_then(known_tag_name) {
        Some(name) => String::from(name),
        None => format!("dynamic tag {tag:#x}"),
    }
}

fn known_tag_name(tag: u32) -> Option<&'static str> {
    Some(match tag {
        elf::DT_NEEDED => "DT_NEEDED",
        elf::DT_PLTRELSZ => "DT_PLTRELSZ",
        elf::DT_PLTGOT => "DT_PLTGOT",
        elf::DT_HASH => "DT_HASH",
        elf::DT_STRTAB => "DT_STRTAB",
        elf::DT_SYMTAB => "DT_SYMTAB",
        elf::DT_RELA => "DT_RELA",
        elf::DT_RELASZ => "DT_RELASZ",
        elf::DT_RELAENT => "DT_RELAENT",
        elf::DT_STRSZ => "DT_STRSZ",
        elf::DT_SYMENT => "DT_SYMENT",
        elf::DT_INIT => "DT_INIT",
        elf::DT_FINI => "DT_FINI",
        elf::DT_SONAME => "DT_SONAME",
        elf::DT_RPATH => "DT_RPATH",
        elf::DT_SYMBOLIC => "DT_SYMBOLIC",
        elf::DT_REL => "DT_REL",
        elf::DT_RELSZ => "DT_RELSZ",
        elf::DT_RELENT => "DT_RELENT",
        elf::DT_PLTREL => "DT_PLTREL",
        elf::DT_DEBUG => "DT_DEBUG",
        elf::DT_TEXTREL => "DT_TEXTREL",
        elf::DT_JMPREL => "DT_JMPREL",
        elf::DT_BIND_NOW => "DT_BIND_NOW",
        elf::DT_INIT_ARRAY => "DT_INIT_ARRAY",
        elf::DT_FINI_ARRAY => "DT_FINI_ARRAY",
        elf::DT_RUNPATH => "DT_RUNPATH",
        elf::DT_FLAGS => "DT_FLAGS",
        elf::DT_PREINIT_ARRAY => "DT_PREINIT_ARRAY",
        35 => "DT_RELRSZ",
        36 => "DT_RELR",
        elf::DT_GNU_HASH => "DT_GNU_HASH",
        elf::DT_VERSYM => "DT_VERSYM",
        elf::DT_RELACOUNT => "DT_RELACOUNT",
        elf::DT_RELCOUNT => "DT_RELCOUNT",
        elf::DT_FLAGS_1 => "DT_FLAGS_1",
        elf::DT_VERDEF => "DT_VERDEF",
        elf::DT_VERDEFNUM => "DT_VERDEFNUM",
        elf::DT_VERNEED => "DT_VERNEED",
        elf::DT_VERNEEDNUM => "DT_VERNEEDNUM",
        elf::DT_AUXILIARY => "DT_AUXILIARY",
        elf::DT_FILTER => "DT_FILTER",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_hash_constant_is_the_elf_hash_of_the_version_name() {
        assert_eq!(
            elf::hash(crate::VERSION_NAME.as_bytes()),
            crate::VERSION_HASH
        );
        assert_eq!(crate::VERSION_HASH, 0x75f_cb89);
    }

    #[test]
    fn pointer_tags_are_the_address_valued_ones() {
        for tag in [
            elf::DT_HASH,
            elf::DT_GNU_HASH,
            elf::DT_STRTAB,
            elf::DT_SYMTAB,
            elf::DT_VERSYM,
            elf::DT_VERDEF,
            elf::DT_DEBUG,
        ] {
            assert!(is_pointer(u64::from(tag)), "{}", tag_name(u64::from(tag)));
        }
        for tag in [
            elf::DT_STRSZ,
            elf::DT_SYMENT,
            elf::DT_SONAME,
            elf::DT_VERDEFNUM,
            elf::DT_FLAGS,
        ] {
            assert!(!is_pointer(u64::from(tag)), "{}", tag_name(u64::from(tag)));
        }
        assert!(is_pointer(DT_RELR));
        assert!(!is_pointer(u64::MAX));
    }

    #[test]
    fn loader_tags_are_forbidden_and_empty_relocation_sizes_are_not() {
        assert_eq!(
            forbidden(u64::from(elf::DT_NEEDED), 1).map(|(property, _)| property),
            Some(Property::NeedsLoader)
        );
        assert_eq!(
            forbidden(u64::from(elf::DT_RELA), 0x100).map(|(property, _)| property),
            Some(Property::Relocations)
        );
        assert_eq!(forbidden(u64::from(elf::DT_RELASZ), 0), None);
        assert_eq!(
            forbidden(u64::from(elf::DT_RELASZ), 24).map(|(property, _)| property),
            Some(Property::Relocations)
        );
        assert_eq!(
            forbidden(u64::from(elf::DT_FLAGS), u64::from(elf::DF_SYMBOLIC)),
            None
        );
        assert_eq!(
            forbidden(u64::from(elf::DT_FLAGS), u64::from(elf::DF_TEXTREL))
                .map(|(property, _)| property),
            Some(Property::Relocations)
        );
        assert_eq!(tag_name(0x1234_5678), "dynamic tag 0x12345678");
    }
}
