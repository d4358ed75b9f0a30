//! The dynamic symbol table (its size comes from DT_HASH's nchain, as musl and glibc take
//! it), the exports (item 7) and the signal trampoline's bytes.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use object::elf;

use crate::check::Export;
use crate::dynamic::Dynamic;
use crate::image::{string_at, u16_at, u32_at, u64_at, Image};
use crate::violation::{Property, Report};
use crate::{SIGRETURN_INSTRUCTIONS, VERSION_NAME};

/// One dynamic symbol.
pub(crate) struct Symbol<'a> {
    /// `None` if st_name is outside the string table.
    pub(crate) name: Option<&'a [u8]>,
    pub(crate) info: u8,
    pub(crate) other: u8,
    pub(crate) section: u16,
    pub(crate) value: u64,
}

impl Symbol<'_> {
    pub(crate) fn kind(&self) -> u8 {
        self.info & 0xf
    }

    pub(crate) fn binding(&self) -> u8 {
        self.info >> 4
    }

    pub(crate) fn is_defined(&self) -> bool {
        self.section != elf::SHN_UNDEF
    }

    /// The name for messages.
    pub(crate) fn display_name(&self, index: usize) -> String {
        match self.name {
            Some(name) => String::from_utf8_lossy(name).into_owned(),
            None => format!("<symbol {index} with a bad name>"),
        }
    }
}

pub(crate) struct SymbolTable<'a> {
    pub(crate) symbols: Vec<Symbol<'a>>,
}

impl<'a> SymbolTable<'a> {
    /// Reads DT_HASH's header for the count, then that many symbols at DT_SYMTAB.
    pub(crate) fn read(
        image: &Image<'a>,
        dynamic: &Dynamic,
        strings: &'a [u8],
        report: &mut Report,
    ) -> Option<Self> {
        let hash = dynamic.get(elf::DT_HASH)?;
        let Some(count) = image
            .at_address(hash, 8)
            .and_then(|header| u32_at(header, 1))
        else {
            report.add(
                Property::SysvHash,
                format!("DT_HASH header at {hash:#x} is outside the PT_LOAD"),
            );
            return None;
        };
        let symtab = dynamic.get(elf::DT_SYMTAB)?;
        let count = usize::try_from(count).ok()?;
        let Some(bytes) = count
            .checked_mul(24)
            .and_then(|size| image.at_address(symtab, u64::try_from(size).ok()?))
        else {
            report.add(
                Property::DynamicSegment,
                format!("DT_SYMTAB at {symtab:#x} with {count} symbols (DT_HASH nchain) extends outside the PT_LOAD"),
            );
            return None;
        };
        if count == 0 {
            report.add(Property::SysvHash, "DT_HASH nchain is 0: no symbols".into());
            return None;
        }
        let mut symbols = Vec::with_capacity(count);
        for index in 0..count {
            let entry = bytes.get(index * 24..index * 24 + 24)?;
            let name_offset = u32_at(entry, 0)?;
            let symbol = Symbol {
                name: string_at(strings, u64::from(name_offset)),
                info: *entry.get(4)?,
                other: *entry.get(5)?,
                section: u16_at(entry, 3)?,
                value: u64_at(entry, 1)?,
            };
            if symbol.name.is_none() {
                report.add(
                    Property::Exports,
                    format!("dynamic symbol {index}'s name offset {name_offset:#x} is outside DT_STRTAB"),
                );
            }
            if index == 0
                && (name_offset != 0
                    || symbol.info != 0
                    || symbol.section != 0
                    || symbol.value != 0)
            {
                report.add(
                    Property::Exports,
                    "dynamic symbol 0 is not the null symbol".into(),
                );
            }
            symbols.push(symbol);
        }
        Some(Self { symbols })
    }

    /// Indices of the symbols named `name`.
    pub(crate) fn find(&self, name: &str) -> Vec<usize> {
        (1..self.symbols.len())
            .filter(|&index| {
                self.symbols.get(index).and_then(|symbol| symbol.name) == Some(name.as_bytes())
            })
            .collect()
    }
}

/// Item 7 and the trampoline bytes; returns each export's offset if all are valid.
pub(crate) fn check_exports(
    image: &Image<'_>,
    table: &SymbolTable<'_>,
    report: &mut Report,
) -> Option<[u64; 4]> {
    let mut offsets = [0u64; 4];
    let mut complete = true;
    for (slot, export) in offsets.iter_mut().zip(Export::ALL) {
        match export_offset(image, table, export, report) {
            Some(offset) => *slot = offset,
            None => complete = false,
        }
    }
    for (index, symbol) in table.symbols.iter().enumerate().skip(1) {
        let name = symbol.display_name(index);
        if !symbol.is_defined() {
            report.add(
                Property::NeedsLoader,
                format!("undefined dynamic symbol {name}: nothing would resolve it"),
            );
            continue;
        }
        let is_export = Export::ALL
            .iter()
            .any(|export| symbol.name == Some(export.name().as_bytes()));
        let is_local = symbol.binding() == elf::STB_LOCAL;
        // GNU ld adds an absolute symbol named after each version; harmless.
        let is_version_marker =
            symbol.section == elf::SHN_ABS && symbol.name == Some(VERSION_NAME.as_bytes());
        if is_export || is_local || is_version_marker {
            continue;
        }
        if symbol.name == Some(b"__kernel_getrandom".as_slice()) {
            report.add(
                Property::Exports,
                "exports __kernel_getrandom, which needs glibc 2.41's whole vgetrandom protocol"
                    .into(),
            );
        } else {
            report.add(Property::Exports, format!("unexpected export {name}"));
        }
    }
    if complete {
        Some(offsets)
    } else {
        None
    }
}

fn export_offset(
    image: &Image<'_>,
    table: &SymbolTable<'_>,
    export: Export,
    report: &mut Report,
) -> Option<u64> {
    let name = export.name();
    let indices = table.find(name);
    let index = match indices.as_slice() {
        [] => {
            report.add(Property::Exports, format!("missing export {name}"));
            return None;
        }
        [index] => *index,
        _ => {
            report.add(
                Property::Exports,
                format!("export {name} is defined {} times", indices.len()),
            );
            return None;
        }
    };
    let symbol = table.symbols.get(index)?;
    let before = report_count(report);
    let mut fail = |message: String| report.add(Property::Exports, message);
    if symbol.kind() != elf::STT_FUNC {
        fail(format!(
            "export {name} has type {}, want STT_FUNC",
            symbol.kind()
        ));
    }
    if symbol.binding() != elf::STB_GLOBAL {
        fail(format!(
            "export {name} has binding {}, want STB_GLOBAL",
            symbol.binding()
        ));
    }
    let visibility = symbol.other & 0x3;
    if visibility != elf::STV_DEFAULT && visibility != elf::STV_PROTECTED {
        fail(format!(
            "export {name} has visibility {visibility}, want default"
        ));
    }
    if !symbol.is_defined() {
        fail(format!("export {name} is undefined"));
    } else if symbol.section == elf::SHN_ABS {
        fail(format!(
            "export {name} is absolute, not relative to the image"
        ));
    }
    if symbol.value == 0 {
        fail(format!("export {name} has value 0"));
    } else if !image.contains(symbol.value, 4) {
        fail(format!(
            "export {name} at {:#x} is outside the PT_LOAD",
            symbol.value
        ));
    } else if !symbol.value.is_multiple_of(4) {
        fail(format!(
            "export {name} at {:#x} is not 4-byte aligned",
            symbol.value
        ));
    }
    if export == Export::RtSigreturn {
        check_sigreturn(image, symbol.value, report);
    }
    (report_count(report) == before).then_some(symbol.value)
}

fn report_count(report: &Report) -> usize {
    report.len()
}

/// The trampoline must be exactly `nop` before the symbol, then `mov x8, #139; svc #0`.
fn check_sigreturn(image: &Image<'_>, value: u64, report: &mut Report) {
    let found = value
        .checked_sub(4)
        .and_then(|start| image.at_address(start, 12))
        .and_then(|bytes| Some([u32_at(bytes, 0)?, u32_at(bytes, 1)?, u32_at(bytes, 2)?]));
    match found {
        Some(words) if words == SIGRETURN_INSTRUCTIONS => {}
        Some([before, first, second]) => report.add(
            Property::Sigreturn,
            format!(
                "__kernel_rt_sigreturn bytes are not nop / mov x8,#139 / svc #0 (found {before:#010x} / {first:#010x} / {second:#010x})"
            ),
        ),
        None => report.add(
            Property::Sigreturn,
            "__kernel_rt_sigreturn's instructions are not inside the PT_LOAD".into(),
        ),
    }
}
