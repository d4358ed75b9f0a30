//! The entry point: runs every check in the order a consumer would meet the structures and
//! collects what is wrong.

use alloc::format;
use alloc::vec::Vec;

use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

use crate::dynamic::{self, Dynamic};
use crate::image::{Image, LoadSegment};
use crate::violation::{Property, Report, Violation};
use crate::{hash, sections, symbols, versions};

/// The vDSO's exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    ClockGettime,
    Gettimeofday,
    ClockGetres,
    RtSigreturn,
}

impl Export {
    pub const ALL: [Export; 4] = [
        Export::ClockGettime,
        Export::Gettimeofday,
        Export::ClockGetres,
        Export::RtSigreturn,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Export::ClockGettime => "__kernel_clock_gettime",
            Export::Gettimeofday => "__kernel_gettimeofday",
            Export::ClockGetres => "__kernel_clock_getres",
            Export::RtSigreturn => "__kernel_rt_sigreturn",
        }
    }
}

/// What a valid image tells its mapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VdsoInfo {
    /// Bytes of the PT_LOAD, from offset 0 (map `ceil(image_size / 4096)` pages r-x; the
    /// data page goes directly below them).
    pub image_size: u64,
    /// Length of the file; anything past `image_size` is section headers and symbols for
    /// debuggers.
    pub file_size: u64,
    /// Total size of the executable sections, when the image has section headers.
    pub text_size: Option<u64>,
    offsets: [u64; 4],
}

impl VdsoInfo {
    /// Offset of `export` from the start of the image (its address once linked at 0).
    pub fn offset(&self, export: Export) -> u64 {
        match export {
            Export::ClockGettime => self.offsets[0],
            Export::Gettimeofday => self.offsets[1],
            Export::ClockGetres => self.offsets[2],
            Export::RtSigreturn => self.offsets[3],
        }
    }
}

/// Checks `image` against every property of a vDSO image.
///
/// # Errors
/// Every violation found, each naming the broken property. A structure too broken to read
/// further stops the checks that depend on it, so fixing the first violations may reveal
/// more.
pub fn check(image: &[u8]) -> Result<VdsoInfo, Vec<Violation>> {
    let mut report = Report::default();
    let info = inspect(image, &mut report);
    match info {
        Some(info) if report.is_empty() => Ok(info),
        _ => {
            if report.is_empty() {
                report.add(
                    Property::Malformed,
                    "image could not be read completely".into(),
                );
            }
            Err(report.into_violations())
        }
    }
}

fn inspect(bytes: &[u8], report: &mut Report) -> Option<VdsoInfo> {
    let header = elf_header(bytes, report)?;
    let endian = LittleEndian;
    let load = segments(header, bytes, report)?;
    let image = Image {
        bytes,
        load: load.load,
    };
    let dynamic = Dynamic::parse(&image, load.dynamic_offset, load.dynamic_size, report)?;
    let strings = dynamic::strings(&image, &dynamic, report)?;
    dynamic::check_soname(&dynamic, strings, report);
    let table = symbols::SymbolTable::read(&image, &dynamic, strings, report)?;
    hash::check_sysv(&image, &dynamic, &table, report);
    hash::check_gnu(&image, &dynamic, &table, report);
    versions::check(&image, &dynamic, strings, &table, report);
    let offsets = symbols::check_exports(&image, &table, report);
    let text_size = sections::check(header, endian, &image, report);
    Some(VdsoInfo {
        image_size: load.load.size,
        file_size: u64::try_from(bytes.len()).ok()?,
        text_size,
        offsets: offsets?,
    })
}

/// Item 1, plus what later steps need to read the rest.
fn elf_header<'a>(bytes: &'a [u8], report: &mut Report) -> Option<&'a FileHeader64<LittleEndian>> {
    if bytes.len() < 64 {
        report.add(
            Property::Malformed,
            format!(
                "image is {} bytes, shorter than an ELF64 header",
                bytes.len()
            ),
        );
        return None;
    }
    if bytes.get(..4) != Some(&elf::ELFMAG[..]) {
        report.add(Property::ElfHeader, "not an ELF file (bad magic)".into());
        return None;
    }
    let class = bytes.get(4).copied().unwrap_or_default();
    if class != elf::ELFCLASS64 {
        report.add(
            Property::ElfHeader,
            format!("ELF class is {class}, want ELFCLASS64"),
        );
        return None;
    }
    let data = bytes.get(5).copied().unwrap_or_default();
    if data != elf::ELFDATA2LSB {
        report.add(
            Property::ElfHeader,
            format!("ELF data encoding is {data}, want little-endian"),
        );
        return None;
    }
    let header = match FileHeader64::<LittleEndian>::parse(bytes) {
        Ok(header) => header,
        Err(error) => {
            report.add(Property::ElfHeader, format!("ELF header: {error}"));
            return None;
        }
    };
    let endian = LittleEndian;
    let kind = header.e_type(endian);
    if kind != elf::ET_DYN {
        report.add(
            Property::ElfHeader,
            format!("e_type is {kind}, want ET_DYN (3)"),
        );
    }
    let machine = header.e_machine(endian);
    if machine != elf::EM_AARCH64 {
        report.add(
            Property::ElfHeader,
            format!("e_machine is {machine}, want EM_AARCH64 (183)"),
        );
    }
    let version = header.e_version(endian);
    if version != u32::from(elf::EV_CURRENT) {
        report.add(
            Property::ElfHeader,
            format!("e_version is {version}, want 1"),
        );
    }
    let header_size = header.e_ehsize(endian);
    if header_size != 64 {
        report.add(
            Property::ElfHeader,
            format!("e_ehsize is {header_size}, want 64"),
        );
    }
    Some(header)
}

struct Segments {
    load: LoadSegment,
    dynamic_offset: u64,
    dynamic_size: u64,
}

/// Items 2, 3 (segment flags) and 4 (PT_TLS, PT_INTERP).
fn segments(
    header: &FileHeader64<LittleEndian>,
    bytes: &[u8],
    report: &mut Report,
) -> Option<Segments> {
    let endian = LittleEndian;
    let headers: &[ProgramHeader64<LittleEndian>] = match header.program_headers(endian, bytes) {
        Ok(headers) => headers,
        Err(error) => {
            report.add(Property::Malformed, format!("program headers: {error}"));
            return None;
        }
    };
    let file_size = u64::try_from(bytes.len()).ok()?;
    let loads: Vec<_> = headers
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_LOAD)
        .collect();
    let dynamics: Vec<_> = headers
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_DYNAMIC)
        .collect();
    for segment in headers {
        match segment.p_type(endian) {
            elf::PT_TLS => report.add(
                Property::NeedsLoader,
                "PT_TLS present: the vDSO cannot have thread-local storage".into(),
            ),
            elf::PT_INTERP => report.add(
                Property::NeedsLoader,
                "PT_INTERP present: the vDSO has no interpreter".into(),
            ),
            _ => {}
        }
    }
    if loads.len() != 1 {
        report.add(
            Property::LoadSegment,
            format!("{} PT_LOAD segments, want exactly 1", loads.len()),
        );
    }
    let load = loads.first()?;
    let offset = load.p_offset(endian);
    let address = load.p_vaddr(endian);
    let file_bytes = load.p_filesz(endian);
    let memory_bytes = load.p_memsz(endian);
    let flags = load.p_flags(endian);
    if offset != 0 {
        report.add(
            Property::LoadSegment,
            format!("PT_LOAD starts at file offset {offset:#x}, want 0"),
        );
    }
    if address != 0 {
        report.add(
            Property::LoadSegment,
            format!("PT_LOAD is linked at {address:#x}, want 0"),
        );
    }
    if flags != elf::PF_R | elf::PF_X {
        report.add(
            Property::LoadSegment,
            format!("PT_LOAD flags are {}, want R-X", flag_letters(flags)),
        );
    }
    if file_bytes != memory_bytes {
        report.add(
            Property::LoadSegment,
            format!(
                "PT_LOAD p_filesz {file_bytes:#x} != p_memsz {memory_bytes:#x}: the file image is not the memory image"
            ),
        );
    }
    if offset
        .checked_add(file_bytes)
        .is_none_or(|end| end > file_size)
    {
        report.add(
            Property::LoadSegment,
            format!("PT_LOAD ({file_bytes:#x} bytes at {offset:#x}) extends past the end of the file ({file_size:#x})"),
        );
    }
    let headers_end = header.e_phoff(endian).checked_add(
        u64::from(header.e_phnum(endian)).saturating_mul(u64::from(header.e_phentsize(endian))),
    );
    if offset != 0 || headers_end.is_none_or(|end| end > file_bytes) {
        report.add(
            Property::LoadSegment,
            "PT_LOAD does not cover the ELF header and program headers".into(),
        );
    }
    let load_segment = LoadSegment {
        offset,
        address,
        size: file_bytes.min(file_size.saturating_sub(offset)),
    };

    if dynamics.len() != 1 {
        report.add(
            Property::DynamicSegment,
            format!("{} PT_DYNAMIC segments, want exactly 1", dynamics.len()),
        );
    }
    let dynamic = dynamics.first()?;
    let dynamic_flags = dynamic.p_flags(endian);
    if dynamic_flags & elf::PF_W != 0 {
        report.add(
            Property::DynamicSegment,
            "PT_DYNAMIC is writable: glibc 2.35+ would write relocated pointers into it and fault"
                .into(),
        );
    }
    let dynamic_offset = dynamic.p_offset(endian);
    let dynamic_address = dynamic.p_vaddr(endian);
    let dynamic_size = dynamic.p_filesz(endian);
    let image = Image {
        bytes,
        load: load_segment,
    };
    // musl finds the dynamic section by file offset, glibc and Go by address: both must name
    // the same bytes, inside the one mapping.
    let offset_matches = dynamic_offset
        .checked_sub(offset)
        .zip(dynamic_address.checked_sub(address))
        .is_some_and(|(from_offset, from_address)| from_offset == from_address);
    if !offset_matches || !image.contains(dynamic_address, dynamic_size) {
        report.add(
            Property::DynamicSegment,
            format!(
                "PT_DYNAMIC (offset {dynamic_offset:#x}, address {dynamic_address:#x}, {dynamic_size:#x} bytes) is not the same bytes by offset and by address inside the PT_LOAD"
            ),
        );
        return None;
    }
    if dynamic.p_memsz(endian) != dynamic_size {
        report.add(
            Property::DynamicSegment,
            "PT_DYNAMIC p_filesz != p_memsz".into(),
        );
    }
    Some(Segments {
        load: load_segment,
        dynamic_offset,
        dynamic_size,
    })
}

fn flag_letters(flags: u32) -> alloc::string::String {
    let letter = |bit: u32, name: char| if flags & bit != 0 { name } else { '-' };
    let mut letters: alloc::string::String = [
        letter(elf::PF_R, 'R'),
        letter(elf::PF_W, 'W'),
        letter(elf::PF_X, 'X'),
    ]
    .iter()
    .collect();
    let other = flags & !(elf::PF_R | elf::PF_W | elf::PF_X);
    if other != 0 {
        letters.push_str(&format!("+{other:#x}"));
    }
    letters
}
