//! Item 6: the verdef chain (a base definition named after the soname, and LINUX_2.6.39
//! with the right vd_hash, which Go compares), DT_VERDEFNUM agreeing with the chain, and
//! every export's versym naming LINUX_2.6.39.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use object::elf;

use crate::check::Export;
use crate::dynamic::Dynamic;
use crate::image::{string_at, u16_at, u32_at, Image};
use crate::symbols::SymbolTable;
use crate::violation::{Property, Report};
use crate::{SONAME, VERSION_HASH, VERSION_NAME};

struct Definition<'a> {
    index: u16,
    flags: u16,
    name: &'a [u8],
}

pub(crate) fn check(
    image: &Image<'_>,
    dynamic: &Dynamic,
    strings: &[u8],
    table: &SymbolTable<'_>,
    report: &mut Report,
) {
    let (Some(verdef), Some(count)) = (dynamic.get(elf::DT_VERDEF), dynamic.get(elf::DT_VERDEFNUM))
    else {
        return; // reported as missing tags
    };
    let definitions = read_definitions(image, verdef, count, strings, report);
    check_definitions(&definitions, report);
    let Some(versym) = dynamic.get(elf::DT_VERSYM) else {
        return;
    };
    let symbol_count = table.symbols.len();
    let Some(versions) = image.at_address(
        versym,
        u64::try_from(symbol_count)
            .unwrap_or(u64::MAX)
            .saturating_mul(2),
    ) else {
        report.add(
            Property::Versions,
            format!(
                "DT_VERSYM at {versym:#x} with {symbol_count} entries extends outside the PT_LOAD"
            ),
        );
        return;
    };
    if u16_at(versions, 0) != Some(elf::VER_NDX_LOCAL) {
        report.add(
            Property::Versions,
            "versym entry 0 is not VER_NDX_LOCAL".into(),
        );
    }
    for (index, symbol) in table.symbols.iter().enumerate().skip(1) {
        let version = u16_at(versions, index).unwrap_or(0) & elf::VERSYM_VERSION;
        let defined = version <= elf::VER_NDX_GLOBAL
            || definitions
                .iter()
                .any(|definition| definition.index == version);
        if !defined {
            report.add(
                Property::Versions,
                format!(
                    "{} has version index {version}, which no verdef defines",
                    symbol.display_name(index)
                ),
            );
        }
    }
    for export in Export::ALL {
        for index in table.find(export.name()) {
            let version = u16_at(versions, index).unwrap_or(0) & elf::VERSYM_VERSION;
            let name: String = match version {
                elf::VER_NDX_LOCAL => "local (0)".into(),
                elf::VER_NDX_GLOBAL => "global (1, unversioned)".into(),
                _ => match definitions
                    .iter()
                    .find(|definition| definition.index == version)
                {
                    Some(definition) => String::from_utf8_lossy(definition.name).into_owned(),
                    None => format!("index {version}"),
                },
            };
            let is_wanted = definitions.iter().any(|definition| {
                definition.index == version
                    && definition.flags & elf::VER_FLG_BASE == 0
                    && definition.name == VERSION_NAME.as_bytes()
            });
            if !is_wanted {
                report.add(
                    Property::Versions,
                    format!(
                        "export {} has version {name}, want {VERSION_NAME}",
                        export.name()
                    ),
                );
            }
        }
    }
}

/// Walks DT_VERDEFNUM entries from DT_VERDEF along vd_next, checking each entry's shape.
fn read_definitions<'a>(
    image: &Image<'_>,
    start: u64,
    count: u64,
    strings: &'a [u8],
    report: &mut Report,
) -> Vec<Definition<'a>> {
    let mut fail = |message: String| report.add(Property::Versions, message);
    let mut definitions = Vec::new();
    if count == 0 {
        fail("DT_VERDEFNUM is 0".into());
        return definitions;
    }
    // Each entry is 20 bytes, so a count larger than the mapping can hold is a lie.
    let limit = image.load.size / 20;
    if count > limit {
        fail(format!(
            "DT_VERDEFNUM is {count}, more entries than the PT_LOAD can hold"
        ));
        return definitions;
    }
    let mut address = start;
    for number in 0..count {
        let Some(entry) = image.at_address(address, 20) else {
            fail(format!(
                "verdef entry {number} at {address:#x} is outside the PT_LOAD"
            ));
            break;
        };
        let half = |index| u16_at(entry, index).unwrap_or(0);
        let word = |index| u32_at(entry, index).unwrap_or(0);
        let (version, flags, index, aux_count) = (half(0), half(1), half(2), half(3));
        let (hash, aux, next) = (word(2), word(3), word(4));
        let name = address
            .checked_add(u64::from(aux))
            .and_then(|aux_address| image.at_address(aux_address, 8))
            .and_then(|verdaux| u32_at(verdaux, 0))
            .and_then(|name| string_at(strings, u64::from(name)));
        let Some(name) = name else {
            fail(format!(
                "verdef entry {number}'s verdaux or name is outside the image"
            ));
            break;
        };
        let shown = String::from_utf8_lossy(name);
        if version != elf::VER_DEF_CURRENT {
            fail(format!("verdef {shown} has vd_version {version}, want 1"));
        }
        if aux_count == 0 {
            fail(format!("verdef {shown} has vd_cnt 0"));
        }
        let name_hash = elf::hash(name);
        if hash != name_hash {
            fail(format!("verdef {shown} has vd_hash {hash:#x}, but the ELF hash of its name is {name_hash:#x}"));
        }
        if name == VERSION_NAME.as_bytes() && hash != VERSION_HASH {
            fail(format!(
                "{VERSION_NAME}'s vd_hash is {hash:#x}, want {VERSION_HASH:#x}"
            ));
        }
        if definitions
            .iter()
            .any(|definition: &Definition<'_>| definition.index == index)
        {
            fail(format!("verdef {shown} reuses version index {index}"));
        }
        definitions.push(Definition { index, flags, name });
        let last = number + 1 == count;
        if next == 0 && !last {
            fail(format!(
                "the verdef chain ends after {} entries, but DT_VERDEFNUM is {count}",
                number + 1
            ));
            break;
        }
        if next != 0 && last {
            fail(format!(
                "the last verdef ({shown}) has vd_next {next:#x}, want 0"
            ));
        }
        match address.checked_add(u64::from(next)) {
            Some(following) => address = following,
            None => break,
        }
    }
    definitions
}

fn check_definitions(definitions: &[Definition<'_>], report: &mut Report) {
    let bases: Vec<_> = definitions
        .iter()
        .filter(|definition| definition.flags & elf::VER_FLG_BASE != 0)
        .collect();
    match bases.as_slice() {
        [] => report.add(
            Property::Versions,
            "no base version definition (VER_FLG_BASE)".into(),
        ),
        [base] => {
            if base.index != elf::VER_NDX_GLOBAL {
                report.add(
                    Property::Versions,
                    format!("the base verdef has index {}, want 1", base.index),
                );
            }
            if base.name != SONAME.as_bytes() {
                report.add(
                    Property::Versions,
                    format!(
                        "the base verdef is named \"{}\", want \"{SONAME}\"",
                        String::from_utf8_lossy(base.name)
                    ),
                );
            }
        }
        _ => report.add(
            Property::Versions,
            format!("{} base version definitions, want 1", bases.len()),
        ),
    }
    let wanted = definitions
        .iter()
        .find(|definition| definition.name == VERSION_NAME.as_bytes());
    match wanted {
        None => report.add(
            Property::Versions,
            format!("no {VERSION_NAME} version definition"),
        ),
        Some(definition) if definition.flags & elf::VER_FLG_BASE != 0 || definition.index <= 1 => {
            report.add(
                Property::Versions,
                format!("{VERSION_NAME} is the base version, not a definition of its own"),
            )
        }
        Some(_) => {}
    }
}
