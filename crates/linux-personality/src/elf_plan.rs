//! ELF load planning: checks a static aarch64 executable and says what to map where,
//! without touching memory.
//!
//! Accepted are little-endian ELF64 `EM_AARCH64` files of type `ET_EXEC` (loaded at their
//! link addresses) or `ET_DYN` without `PT_INTERP` (static-pie, loaded at the caller's
//! page-aligned load bias; it relocates itself, so `AT_BASE` stays 0 for it as on Linux).
//! Anything with `PT_INTERP` is refused until a dynamic loader is supported.
//!
//! Beyond what Linux checks, the plan refuses what this system's loader cannot honour
//! safely: a segment both writable and executable, segments sharing a page (each page has
//! one set of permissions), a page-zero mapping, an entry point outside executable memory
//! and program headers that are not mapped (musl finds `PT_TLS` through `AT_PHDR`).

use crate::permissions::Permissions;
use alloc::string::String;
use alloc::vec::Vec;
use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader as _, ProgramHeader as _};
use object::LittleEndian;

/// The page size the plan aligns to.
pub const PAGE_SIZE: u64 = 4096;
/// Highest user virtual address (48-bit address space, lower half).
pub const USER_ADDRESS_LIMIT: u64 = 0x0000_7fff_ffff_ffff;
/// Lowest address a segment may occupy: page zero stays unmapped so NULL faults.
pub const MINIMUM_USER_ADDRESS: u64 = PAGE_SIZE;
/// Size of one ELF64 program header.
pub const PROGRAM_HEADER_SIZE: u64 = 56;
/// Linux's bound on the program header table: it must fit in one page.
pub const MAX_PROGRAM_HEADER_BYTES: u64 = 4096;
/// How much of a `PT_INTERP` path an error keeps.
const INTERPRETER_PATH_LIMIT: usize = 256;
/// Size of the ELF64 file header.
const FILE_HEADER_SIZE: usize = 64;
/// Offsets into `e_ident`, named as in the ELF specification.
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const EI_VERSION: usize = 6;

/// What to load for one program, with every address already biased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// Whether the file was `ET_EXEC` or static-pie.
    pub kind: ExecutableKind,
    /// Added to every link address: 0 for `ET_EXEC`, the caller's bias for static-pie.
    pub load_bias: u64,
    /// Entry point (`AT_ENTRY`, and the initial `pc`).
    pub entry: u64,
    /// Loadable segments, sorted by address, no two sharing a page.
    pub segments: Vec<Segment>,
    /// Where the program headers are mapped (`AT_PHDR`).
    pub phdr_vaddr: u64,
    /// Size of one program header (`AT_PHENT`).
    pub phent: u64,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u64,
    /// The thread-local storage template (`PT_TLS`), if any.
    pub tls: Option<TlsTemplate>,
    /// `PT_GNU_STACK` asks for an executable stack. Absent `PT_GNU_STACK` means a
    /// non-executable stack, as on arm64 Linux. The caller decides whether to refuse it.
    pub stack_executable: bool,
    /// Page-aligned end of the highest segment: where the heap (`brk`) starts.
    pub brk_start: u64,
}

/// The two kinds of executable the plan accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutableKind {
    /// `ET_EXEC`: fixed link addresses.
    Static,
    /// `ET_DYN` without `PT_INTERP`: position independent, loaded at a bias.
    StaticPie,
}

/// One `PT_LOAD` segment: `file_size` bytes from `file_offset` at `vaddr`, then zeros
/// up to `mem_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First address (not necessarily page-aligned).
    pub vaddr: u64,
    /// Bytes of memory, at least `file_size`.
    pub mem_size: u64,
    /// Where the initialised bytes start in the file.
    pub file_offset: u64,
    /// How many bytes come from the file.
    pub file_size: u64,
    /// Access the segment's pages allow.
    pub permissions: Permissions,
}

impl Segment {
    /// First address of the first page the segment touches.
    #[must_use]
    pub const fn page_start(&self) -> u64 {
        self.vaddr & !(PAGE_SIZE - 1)
    }

    /// End (exclusive) of the last page the segment touches.
    #[must_use]
    pub const fn page_end(&self) -> u64 {
        // Planned segments end at most at USER_ADDRESS_LIMIT + 1; saturation only
        // guards hand-made ones.
        self.end().saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
    }

    /// End (exclusive) of the segment's memory.
    #[must_use]
    pub const fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.mem_size)
    }

    /// The segment's bytes in `file`, the same file the plan was made from.
    #[must_use]
    pub fn file_bytes<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.file_offset).ok()?;
        let end = start.checked_add(usize::try_from(self.file_size).ok()?)?;
        file.get(start..end)
    }

    fn contains_file_backed(&self, start: u64, length: u64) -> bool {
        match start.checked_add(length) {
            Some(end) => start >= self.vaddr && end <= self.vaddr.saturating_add(self.file_size),
            None => false,
        }
    }
}

/// The `PT_TLS` template that each thread's TLS block is initialised from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsTemplate {
    /// Where the initialised part is mapped.
    pub vaddr: u64,
    /// Bytes copied from the template.
    pub file_size: u64,
    /// Total bytes, the rest zeroed.
    pub mem_size: u64,
    /// Required alignment of the block (0 or a power of two).
    pub align: u64,
}

/// Why a file cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than an ELF header.
    Truncated,
    /// No `\x7fELF` magic.
    NotElf,
    /// Not ELF64.
    NotElf64 {
        /// `e_ident[EI_CLASS]`.
        class: u8,
    },
    /// Not little-endian.
    NotLittleEndian,
    /// An ELF version other than 1.
    BadVersion,
    /// Built for another machine.
    NotAarch64 {
        /// `e_machine`.
        machine: u16,
    },
    /// Neither `ET_EXEC` nor `ET_DYN`.
    UnsupportedType {
        /// `e_type`.
        file_type: u16,
    },
    /// Dynamically linked: has `PT_INTERP`.
    Interpreter {
        /// The requested interpreter, lossily decoded and shortened.
        path: String,
    },
    /// `e_phentsize` is not 56.
    BadProgramHeaderSize {
        /// `e_phentsize`.
        size: u16,
    },
    /// The program header table is larger than a page.
    TooManyProgramHeaders {
        /// `e_phnum`.
        count: u16,
    },
    /// The program header table runs past the end of the file.
    ProgramHeadersOutOfFile,
    /// No `PT_LOAD` segment with memory.
    NoLoadableSegments,
    /// A segment is both writable and executable.
    WritableAndExecutable {
        /// The segment's (biased) address.
        vaddr: u64,
    },
    /// A segment has more file bytes than memory.
    FileSizeExceedsMemorySize {
        /// The segment's (biased) address.
        vaddr: u64,
    },
    /// A segment's file bytes run past the end of the file.
    SegmentOutOfFile {
        /// The segment's (biased) address.
        vaddr: u64,
    },
    /// A segment's address and file offset differ modulo the page size.
    MisalignedSegment {
        /// The segment's (biased) address.
        vaddr: u64,
    },
    /// An address computation overflows 64 bits.
    AddressOverflow {
        /// The segment's link address.
        vaddr: u64,
    },
    /// A segment ends above [`USER_ADDRESS_LIMIT`].
    AboveUserAddressLimit {
        /// The segment's (biased) address.
        vaddr: u64,
    },
    /// A segment starts in page zero.
    BelowMinimumAddress {
        /// The segment's (biased) address.
        vaddr: u64,
    },
    /// Two segments share a page.
    OverlappingSegments {
        /// The lower segment's address.
        first: u64,
        /// The higher segment's address.
        second: u64,
    },
    /// The program headers are not inside a segment's file bytes, so `AT_PHDR` would
    /// point at nothing.
    ProgramHeadersNotLoaded,
    /// The entry point is not in an executable segment.
    EntryNotExecutable {
        /// The (biased) entry point.
        entry: u64,
    },
    /// The `PT_TLS` header is inconsistent.
    InvalidTls {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The static-pie load bias is not page-aligned.
    LoadBiasMisaligned {
        /// The bias given.
        bias: u64,
    },
}

impl ElfError {
    /// The error `execve` reports for this refusal.
    #[must_use]
    pub const fn errno(&self) -> crate::errno::Errno {
        match self {
            ElfError::LoadBiasMisaligned { .. } => crate::errno::Errno::EINVAL,
            _ => crate::errno::Errno::ENOEXEC,
        }
    }
}

impl core::fmt::Display for ElfError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ElfError::Truncated => formatter.write_str("file is shorter than an ELF header"),
            ElfError::NotElf => formatter.write_str("not an ELF file (bad magic)"),
            ElfError::NotElf64 { class } => write!(formatter, "not ELF64 (class {class})"),
            ElfError::NotLittleEndian => formatter.write_str("not little-endian ELF"),
            ElfError::BadVersion => formatter.write_str("unsupported ELF version"),
            ElfError::NotAarch64 { machine } => {
                write!(formatter, "not an aarch64 program (e_machine {machine})")
            }
            ElfError::UnsupportedType { file_type } => {
                write!(
                    formatter,
                    "not an executable (e_type {file_type}); need ET_EXEC or static-pie ET_DYN"
                )
            }
            ElfError::Interpreter { path } => {
                write!(
                    formatter,
                    "dynamically linked programs are not supported yet: PT_INTERP {path}"
                )
            }
            ElfError::BadProgramHeaderSize { size } => {
                write!(
                    formatter,
                    "program header size {size}, expected {PROGRAM_HEADER_SIZE}"
                )
            }
            ElfError::TooManyProgramHeaders { count } => {
                write!(formatter, "{count} program headers do not fit in one page")
            }
            ElfError::ProgramHeadersOutOfFile => {
                formatter.write_str("program headers run past the end of the file")
            }
            ElfError::NoLoadableSegments => formatter.write_str("no PT_LOAD segment"),
            ElfError::WritableAndExecutable { vaddr } => {
                write!(
                    formatter,
                    "segment at {vaddr:#x} is both writable and executable"
                )
            }
            ElfError::FileSizeExceedsMemorySize { vaddr } => {
                write!(formatter, "segment at {vaddr:#x} has p_filesz > p_memsz")
            }
            ElfError::SegmentOutOfFile { vaddr } => {
                write!(
                    formatter,
                    "segment at {vaddr:#x} runs past the end of the file"
                )
            }
            ElfError::MisalignedSegment { vaddr } => {
                write!(
                    formatter,
                    "segment at {vaddr:#x}: p_vaddr and p_offset differ modulo the page size"
                )
            }
            ElfError::AddressOverflow { vaddr } => {
                write!(
                    formatter,
                    "segment at {vaddr:#x}: address arithmetic overflows"
                )
            }
            ElfError::AboveUserAddressLimit { vaddr } => {
                write!(formatter, "segment at {vaddr:#x} ends above the user address limit {USER_ADDRESS_LIMIT:#x}")
            }
            ElfError::BelowMinimumAddress { vaddr } => {
                write!(formatter, "segment at {vaddr:#x} would map page zero")
            }
            ElfError::OverlappingSegments { first, second } => {
                write!(
                    formatter,
                    "segments at {first:#x} and {second:#x} share a page"
                )
            }
            ElfError::ProgramHeadersNotLoaded => {
                formatter.write_str("program headers are not inside a loaded segment")
            }
            ElfError::EntryNotExecutable { entry } => {
                write!(
                    formatter,
                    "entry point {entry:#x} is not in an executable segment"
                )
            }
            ElfError::InvalidTls { reason } => write!(formatter, "bad PT_TLS: {reason}"),
            ElfError::LoadBiasMisaligned { bias } => {
                write!(formatter, "load bias {bias:#x} is not page-aligned")
            }
        }
    }
}

/// Checks `file` and plans its loading. `pie_load_bias` (page-aligned) is where a
/// static-pie's address 0 goes; it is ignored for `ET_EXEC`.
///
/// # Errors
/// [`ElfError`] saying what is wrong; nothing in the file can make this panic.
pub fn plan_load(file: &[u8], pie_load_bias: u64) -> Result<LoadPlan, ElfError> {
    check_identification(file)?;
    let endian = LittleEndian;
    let header = FileHeader64::<LittleEndian>::parse(file).map_err(|_| ElfError::Truncated)?;
    if header.e_version(endian) != u32::from(elf::EV_CURRENT) {
        return Err(ElfError::BadVersion);
    }
    let machine = header.e_machine(endian);
    if machine != elf::EM_AARCH64 {
        return Err(ElfError::NotAarch64 { machine });
    }
    let (kind, load_bias) = match header.e_type(endian) {
        elf::ET_EXEC => (ExecutableKind::Static, 0),
        elf::ET_DYN => {
            if !pie_load_bias.is_multiple_of(PAGE_SIZE) {
                return Err(ElfError::LoadBiasMisaligned {
                    bias: pie_load_bias,
                });
            }
            (ExecutableKind::StaticPie, pie_load_bias)
        }
        file_type => return Err(ElfError::UnsupportedType { file_type }),
    };

    let program_headers = read_program_headers(header, file)?;
    refuse_interpreter(program_headers, file)?;

    let mut segments = Vec::new();
    let mut phdr_segment = None;
    let mut tls_header = None;
    let mut stack_executable = false;
    for program_header in program_headers {
        match program_header.p_type(endian) {
            elf::PT_LOAD => {
                if let Some(segment) = plan_segment(program_header, file, load_bias)? {
                    segments.push(segment);
                }
            }
            elf::PT_PHDR => phdr_segment = Some(program_header),
            elf::PT_TLS => tls_header = Some(program_header),
            elf::PT_GNU_STACK => stack_executable = program_header.p_flags(endian) & elf::PF_X != 0,
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadableSegments);
    }
    segments.sort_unstable_by_key(|segment| segment.vaddr);
    for pair in segments.windows(2) {
        if let [lower, higher] = pair {
            if lower.page_end() > higher.page_start() {
                return Err(ElfError::OverlappingSegments {
                    first: lower.vaddr,
                    second: higher.vaddr,
                });
            }
        }
    }

    let phnum = program_headers.len() as u64;
    let table_size = phnum * PROGRAM_HEADER_SIZE;
    let phdr_vaddr = match phdr_segment {
        Some(program_header) => program_header
            .p_vaddr(endian)
            .checked_add(load_bias)
            .ok_or(ElfError::ProgramHeadersNotLoaded)?,
        None => {
            let phoff = header.e_phoff(endian);
            segments
                .iter()
                .find(|segment| {
                    phoff >= segment.file_offset
                        && phoff + table_size <= segment.file_offset + segment.file_size
                })
                .map(|segment| segment.vaddr + (phoff - segment.file_offset))
                .ok_or(ElfError::ProgramHeadersNotLoaded)?
        }
    };
    if !segments
        .iter()
        .any(|segment| segment.contains_file_backed(phdr_vaddr, table_size))
    {
        return Err(ElfError::ProgramHeadersNotLoaded);
    }

    let tls = match tls_header {
        Some(program_header) => Some(plan_tls(program_header, &segments, load_bias)?),
        None => None,
    };

    let entry =
        header
            .e_entry(endian)
            .checked_add(load_bias)
            .ok_or(ElfError::EntryNotExecutable {
                entry: header.e_entry(endian),
            })?;
    let entry_is_code = segments.iter().any(|segment| {
        segment.permissions.execute && entry >= segment.vaddr && entry < segment.end()
    });
    if !entry_is_code {
        return Err(ElfError::EntryNotExecutable { entry });
    }

    let brk_start = segments.iter().map(Segment::page_end).max().unwrap_or(0);
    Ok(LoadPlan {
        kind,
        load_bias,
        entry,
        segments,
        phdr_vaddr,
        phent: PROGRAM_HEADER_SIZE,
        phnum,
        tls,
        stack_executable,
        brk_start,
    })
}

/// Checks `e_ident` so each kind of foreign file gets its own error.
fn check_identification(file: &[u8]) -> Result<(), ElfError> {
    let ident = file.get(..16).ok_or(ElfError::Truncated)?;
    if ident[..4] != elf::ELFMAG {
        return Err(ElfError::NotElf);
    }
    if ident[EI_CLASS] != elf::ELFCLASS64 {
        return Err(ElfError::NotElf64 {
            class: ident[EI_CLASS],
        });
    }
    if ident[EI_DATA] != elf::ELFDATA2LSB {
        return Err(ElfError::NotLittleEndian);
    }
    if ident[EI_VERSION] != elf::EV_CURRENT {
        return Err(ElfError::BadVersion);
    }
    if file.len() < FILE_HEADER_SIZE {
        return Err(ElfError::Truncated);
    }
    Ok(())
}

/// Reads the program header table after bounding its size as Linux does.
fn read_program_headers<'a>(
    header: &FileHeader64<LittleEndian>,
    file: &'a [u8],
) -> Result<&'a [ProgramHeader64<LittleEndian>], ElfError> {
    let endian = LittleEndian;
    let size = header.e_phentsize(endian);
    if u64::from(size) != PROGRAM_HEADER_SIZE {
        return Err(ElfError::BadProgramHeaderSize { size });
    }
    // Read e_phnum directly: PN_XNUM (0xffff) would send `object` to section 0 for the
    // real count, and no executable this loader accepts needs that many headers.
    let count = header.e_phnum(endian);
    if u64::from(count) * PROGRAM_HEADER_SIZE > MAX_PROGRAM_HEADER_BYTES {
        return Err(ElfError::TooManyProgramHeaders { count });
    }
    if count == 0 || header.e_phoff(endian) == 0 {
        return Err(ElfError::NoLoadableSegments);
    }
    header
        .program_headers(endian, file)
        .map_err(|_| ElfError::ProgramHeadersOutOfFile)
}

fn refuse_interpreter(
    program_headers: &[ProgramHeader64<LittleEndian>],
    file: &[u8],
) -> Result<(), ElfError> {
    let endian = LittleEndian;
    for program_header in program_headers {
        if program_header.p_type(endian) != elf::PT_INTERP {
            continue;
        }
        let path = match program_header.interpreter(endian, file) {
            Ok(Some(path)) => {
                let shown = path.get(..INTERPRETER_PATH_LIMIT).unwrap_or(path);
                String::from_utf8_lossy(shown).into_owned()
            }
            _ => String::from("<unreadable>"),
        };
        return Err(ElfError::Interpreter { path });
    }
    Ok(())
}

/// Checks one `PT_LOAD`; `Ok(None)` for an empty one, which maps nothing.
fn plan_segment(
    program_header: &ProgramHeader64<LittleEndian>,
    file: &[u8],
    load_bias: u64,
) -> Result<Option<Segment>, ElfError> {
    let endian = LittleEndian;
    let link_vaddr = program_header.p_vaddr(endian);
    let vaddr = link_vaddr
        .checked_add(load_bias)
        .ok_or(ElfError::AddressOverflow { vaddr: link_vaddr })?;
    let mem_size = program_header.p_memsz(endian);
    let file_size = program_header.p_filesz(endian);
    let file_offset = program_header.p_offset(endian);
    if file_size > mem_size {
        return Err(ElfError::FileSizeExceedsMemorySize { vaddr });
    }
    if mem_size == 0 {
        return Ok(None);
    }
    let file_end = file_offset
        .checked_add(file_size)
        .ok_or(ElfError::SegmentOutOfFile { vaddr })?;
    if file_end > file.len() as u64 {
        return Err(ElfError::SegmentOutOfFile { vaddr });
    }
    let end = vaddr
        .checked_add(mem_size)
        .ok_or(ElfError::AddressOverflow { vaddr: link_vaddr })?;
    if end - 1 > USER_ADDRESS_LIMIT {
        return Err(ElfError::AboveUserAddressLimit { vaddr });
    }
    if vaddr < MINIMUM_USER_ADDRESS {
        return Err(ElfError::BelowMinimumAddress { vaddr });
    }
    if vaddr % PAGE_SIZE != file_offset % PAGE_SIZE {
        return Err(ElfError::MisalignedSegment { vaddr });
    }
    let flags = program_header.p_flags(endian);
    let permissions = Permissions {
        read: flags & elf::PF_R != 0,
        write: flags & elf::PF_W != 0,
        execute: flags & elf::PF_X != 0,
    };
    if permissions.is_writable_and_executable() {
        return Err(ElfError::WritableAndExecutable { vaddr });
    }
    Ok(Some(Segment {
        vaddr,
        mem_size,
        file_offset,
        file_size,
        permissions,
    }))
}

fn plan_tls(
    program_header: &ProgramHeader64<LittleEndian>,
    segments: &[Segment],
    load_bias: u64,
) -> Result<TlsTemplate, ElfError> {
    let endian = LittleEndian;
    let vaddr = program_header
        .p_vaddr(endian)
        .checked_add(load_bias)
        .ok_or(ElfError::InvalidTls {
            reason: "address overflows",
        })?;
    let file_size = program_header.p_filesz(endian);
    let mem_size = program_header.p_memsz(endian);
    let align = program_header.p_align(endian);
    if file_size > mem_size {
        return Err(ElfError::InvalidTls {
            reason: "p_filesz > p_memsz",
        });
    }
    if align > 1 && !align.is_power_of_two() {
        return Err(ElfError::InvalidTls {
            reason: "alignment is not a power of two",
        });
    }
    if align > PAGE_SIZE {
        return Err(ElfError::InvalidTls {
            reason: "alignment is larger than a page",
        });
    }
    if mem_size > USER_ADDRESS_LIMIT {
        return Err(ElfError::InvalidTls {
            reason: "size is larger than the address space",
        });
    }
    if file_size > 0
        && !segments
            .iter()
            .any(|segment| segment.contains_file_backed(vaddr, file_size))
    {
        return Err(ElfError::InvalidTls {
            reason: "initialised data is not inside a loaded segment",
        });
    }
    Ok(TlsTemplate {
        vaddr,
        file_size,
        mem_size,
        align,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One program header for [`TestElf`].
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

    const R: u32 = elf::PF_R;
    const RW: u32 = elf::PF_R | elf::PF_W;
    const RX: u32 = elf::PF_R | elf::PF_X;

    /// Builds ELF images byte by byte, independently of `object`, so the tests check the
    /// planner against the format rather than against the library.
    #[derive(Clone, Debug)]
    struct TestElf {
        class: u8,
        data: u8,
        file_type: u16,
        machine: u16,
        entry: u64,
        phentsize: u16,
        phnum_override: Option<u16>,
        headers: Vec<Header>,
        file_length: usize,
        contents: Vec<(usize, Vec<u8>)>,
    }

    impl TestElf {
        /// A static executable laid out as LLD lays one out for `-z max-page-size=4096`:
        /// text (with the headers) at 0x400000, data+bss at 0x411000, TLS in data.
        fn static_executable() -> TestElf {
            let headers = vec![
                Header {
                    kind: elf::PT_PHDR,
                    flags: R,
                    offset: 64,
                    vaddr: 0x40_0040,
                    file_size: 5 * 56,
                    mem_size: 5 * 56,
                    align: 8,
                },
                Header {
                    kind: elf::PT_LOAD,
                    flags: RX,
                    offset: 0,
                    vaddr: 0x40_0000,
                    file_size: 0x1000,
                    mem_size: 0x1000,
                    align: 0x1000,
                },
                Header {
                    kind: elf::PT_LOAD,
                    flags: RW,
                    offset: 0x1000,
                    vaddr: 0x41_1000,
                    file_size: 0x100,
                    mem_size: 0x2345,
                    align: 0x1000,
                },
                Header {
                    kind: elf::PT_TLS,
                    flags: R,
                    offset: 0x1000,
                    vaddr: 0x41_1000,
                    file_size: 0x10,
                    mem_size: 0x30,
                    align: 8,
                },
                Header {
                    kind: elf::PT_GNU_STACK,
                    flags: RW,
                    offset: 0,
                    vaddr: 0,
                    file_size: 0,
                    mem_size: 0,
                    align: 16,
                },
            ];
            TestElf {
                class: elf::ELFCLASS64,
                data: elf::ELFDATA2LSB,
                file_type: elf::ET_EXEC,
                machine: elf::EM_AARCH64,
                entry: 0x40_0200,
                phentsize: 56,
                phnum_override: None,
                headers,
                file_length: 0x1100,
                contents: Vec::new(),
            }
        }

        fn build(&self) -> Vec<u8> {
            let table_end = 64 + self.headers.len() * 56;
            let mut bytes = vec![0_u8; self.file_length.max(table_end)];
            bytes[..4].copy_from_slice(&elf::ELFMAG);
            bytes[4] = self.class;
            bytes[5] = self.data;
            bytes[6] = 1;
            bytes[16..18].copy_from_slice(&self.file_type.to_le_bytes());
            bytes[18..20].copy_from_slice(&self.machine.to_le_bytes());
            bytes[20..24].copy_from_slice(&1_u32.to_le_bytes());
            bytes[24..32].copy_from_slice(&self.entry.to_le_bytes());
            bytes[32..40].copy_from_slice(&64_u64.to_le_bytes());
            bytes[52..54].copy_from_slice(&64_u16.to_le_bytes());
            bytes[54..56].copy_from_slice(&self.phentsize.to_le_bytes());
            let phnum = self.phnum_override.unwrap_or(self.headers.len() as u16);
            bytes[56..58].copy_from_slice(&phnum.to_le_bytes());
            for (index, header) in self.headers.iter().enumerate() {
                let at = 64 + index * 56;
                bytes[at..at + 4].copy_from_slice(&header.kind.to_le_bytes());
                bytes[at + 4..at + 8].copy_from_slice(&header.flags.to_le_bytes());
                for (field, value) in [
                    header.offset,
                    header.vaddr,
                    header.vaddr,
                    header.file_size,
                    header.mem_size,
                    header.align,
                ]
                .into_iter()
                .enumerate()
                {
                    let start = at + 8 + field * 8;
                    bytes[start..start + 8].copy_from_slice(&value.to_le_bytes());
                }
            }
            for (offset, content) in &self.contents {
                bytes[*offset..*offset + content.len()].copy_from_slice(content);
            }
            bytes
        }

        fn plan(&self) -> Result<LoadPlan, ElfError> {
            plan_load(&self.build(), 0)
        }

        fn header_mut(&mut self, kind: u32, nth: usize) -> &mut Header {
            self.headers
                .iter_mut()
                .filter(|header| header.kind == kind)
                .nth(nth)
                .expect("header exists")
        }
    }

    #[test]
    fn plans_a_static_executable() {
        let image = TestElf::static_executable();
        let file = image.build();
        let plan = plan_load(&file, 0x1234_5000).unwrap();
        assert_eq!(plan.kind, ExecutableKind::Static);
        assert_eq!(plan.load_bias, 0, "ET_EXEC ignores the bias");
        assert_eq!(plan.entry, 0x40_0200);
        assert_eq!(
            plan.segments,
            vec![
                Segment {
                    vaddr: 0x40_0000,
                    mem_size: 0x1000,
                    file_offset: 0,
                    file_size: 0x1000,
                    permissions: Permissions::READ_EXECUTE
                },
                Segment {
                    vaddr: 0x41_1000,
                    mem_size: 0x2345,
                    file_offset: 0x1000,
                    file_size: 0x100,
                    permissions: Permissions::READ_WRITE
                },
            ]
        );
        assert_eq!(plan.phdr_vaddr, 0x40_0040);
        assert_eq!((plan.phent, plan.phnum), (56, 5));
        assert_eq!(
            plan.tls,
            Some(TlsTemplate {
                vaddr: 0x41_1000,
                file_size: 0x10,
                mem_size: 0x30,
                align: 8
            })
        );
        assert!(!plan.stack_executable);
        assert_eq!(plan.brk_start, 0x41_4000);
        assert_eq!(
            plan.segments[1].file_bytes(&file).map(<[u8]>::len),
            Some(0x100)
        );
    }

    #[test]
    fn computes_phdr_from_the_segment_holding_the_table() {
        let mut image = TestElf::static_executable();
        image.headers.remove(0);
        let plan = image.plan().unwrap();
        assert_eq!(plan.phdr_vaddr, 0x40_0040);
        assert_eq!(plan.phnum, 4);
    }

    #[test]
    fn unmapped_program_headers_are_refused() {
        let mut image = TestElf::static_executable();
        image.headers.remove(0);
        // Text no longer starts at file offset 0, so the table at 64 is not loaded.
        let text = image.header_mut(elf::PT_LOAD, 0);
        text.offset = 0x1000;
        text.vaddr = 0x40_1000;
        text.file_size = 0x100;
        text.mem_size = 0x100;
        image.entry = 0x40_1000;
        image.header_mut(elf::PT_LOAD, 1).offset = 0x2000;
        image.header_mut(elf::PT_TLS, 0).offset = 0x2000;
        image.file_length = 0x2100;
        assert_eq!(image.plan(), Err(ElfError::ProgramHeadersNotLoaded));

        // A PT_PHDR naming memory that holds no file bytes is refused too.
        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_PHDR, 0).vaddr = 0x41_2000;
        assert_eq!(image.plan(), Err(ElfError::ProgramHeadersNotLoaded));
    }

    #[test]
    fn executable_stack_is_reported() {
        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_GNU_STACK, 0).flags = RW | elf::PF_X;
        assert!(image.plan().unwrap().stack_executable);
        image
            .headers
            .retain(|header| header.kind != elf::PT_GNU_STACK);
        assert!(!image.plan().unwrap().stack_executable);
    }

    #[test]
    fn static_pie_is_loaded_at_the_bias() {
        let mut image = TestElf::static_executable();
        image.file_type = elf::ET_DYN;
        for header in &mut image.headers {
            if header.vaddr != 0 {
                header.vaddr -= 0x40_0000;
            }
        }
        image.entry = 0x200;
        let plan = plan_load(&image.build(), 0x5555_0000_0000).unwrap();
        assert_eq!(plan.kind, ExecutableKind::StaticPie);
        assert_eq!(plan.load_bias, 0x5555_0000_0000);
        assert_eq!(plan.entry, 0x5555_0000_0200);
        assert_eq!(plan.segments[0].vaddr, 0x5555_0000_0000);
        assert_eq!(plan.segments[1].vaddr, 0x5555_0001_1000);
        assert_eq!(plan.phdr_vaddr, 0x5555_0000_0040);
        assert_eq!(plan.tls.map(|tls| tls.vaddr), Some(0x5555_0001_1000));
        assert_eq!(plan.brk_start, 0x5555_0001_4000);

        assert_eq!(
            plan_load(&image.build(), 0x123),
            Err(ElfError::LoadBiasMisaligned { bias: 0x123 })
        );
        // Without a bias the first page would be page zero.
        assert_eq!(
            plan_load(&image.build(), 0),
            Err(ElfError::BelowMinimumAddress { vaddr: 0 })
        );
        // Text fits exactly below the limit; data, 0x11000 higher, does not.
        assert_eq!(
            plan_load(&image.build(), 0x7fff_ffff_f000),
            Err(ElfError::AboveUserAddressLimit {
                vaddr: 0x8000_0001_0000
            })
        );
    }

    #[test]
    fn refuses_dynamically_linked_programs() {
        let mut image = TestElf::static_executable();
        let interpreter = b"/lib/ld-musl-aarch64.so.1\0";
        image.headers.insert(
            1,
            Header {
                kind: elf::PT_INTERP,
                flags: R,
                offset: 0x400,
                vaddr: 0x40_0400,
                file_size: interpreter.len() as u64,
                mem_size: interpreter.len() as u64,
                align: 1,
            },
        );
        image.contents.push((0x400, interpreter.to_vec()));
        let error = image.plan().unwrap_err();
        assert_eq!(
            error,
            ElfError::Interpreter {
                path: String::from("/lib/ld-musl-aarch64.so.1")
            }
        );
        assert_eq!(
            alloc::format!("{error}"),
            "dynamically linked programs are not supported yet: PT_INTERP /lib/ld-musl-aarch64.so.1"
        );
        assert_eq!(error.errno(), crate::errno::Errno::ENOEXEC);

        // An unterminated or out-of-file PT_INTERP is still a dynamic program.
        image.header_mut(elf::PT_INTERP, 0).offset = 0x10_0000;
        assert_eq!(
            image.plan(),
            Err(ElfError::Interpreter {
                path: String::from("<unreadable>")
            })
        );
    }

    #[test]
    fn identification_errors() {
        let good = TestElf::static_executable().build();
        assert_eq!(plan_load(&good[..10], 0), Err(ElfError::Truncated));
        assert_eq!(plan_load(&good[..40], 0), Err(ElfError::Truncated));
        assert_eq!(
            plan_load(b"#!/bin/sh\necho hello world\n", 0),
            Err(ElfError::NotElf)
        );

        let mut image = TestElf::static_executable();
        image.class = elf::ELFCLASS32;
        assert_eq!(image.plan(), Err(ElfError::NotElf64 { class: 1 }));
        let mut image = TestElf::static_executable();
        image.data = elf::ELFDATA2MSB;
        assert_eq!(image.plan(), Err(ElfError::NotLittleEndian));
        let mut image = TestElf::static_executable();
        image.machine = elf::EM_X86_64;
        assert_eq!(image.plan(), Err(ElfError::NotAarch64 { machine: 62 }));
        let mut image = TestElf::static_executable();
        image.file_type = elf::ET_REL;
        assert_eq!(
            image.plan(),
            Err(ElfError::UnsupportedType { file_type: 1 })
        );
        let mut file = TestElf::static_executable().build();
        file[20] = 2;
        assert_eq!(plan_load(&file, 0), Err(ElfError::BadVersion));
    }

    #[test]
    fn program_header_table_errors() {
        let mut image = TestElf::static_executable();
        image.phentsize = 64;
        assert_eq!(
            image.plan(),
            Err(ElfError::BadProgramHeaderSize { size: 64 })
        );
        let mut image = TestElf::static_executable();
        image.phnum_override = Some(74);
        assert_eq!(
            image.plan(),
            Err(ElfError::TooManyProgramHeaders { count: 74 })
        );
        let mut image = TestElf::static_executable();
        image.phnum_override = Some(0xffff);
        assert_eq!(
            image.plan(),
            Err(ElfError::TooManyProgramHeaders { count: 0xffff })
        );
        let mut image = TestElf::static_executable();
        image.phnum_override = Some(0);
        assert_eq!(image.plan(), Err(ElfError::NoLoadableSegments));
        let image = TestElf::static_executable();
        let file = image.build();
        assert_eq!(
            plan_load(&file[..200], 0),
            Err(ElfError::ProgramHeadersOutOfFile)
        );
    }

    #[test]
    fn needs_a_load_segment_with_memory() {
        let mut image = TestElf::static_executable();
        image.headers.retain(|header| header.kind != elf::PT_LOAD);
        assert_eq!(image.plan(), Err(ElfError::NoLoadableSegments));
        let mut image = TestElf::static_executable();
        for header in &mut image.headers {
            if header.kind == elf::PT_LOAD {
                header.file_size = 0;
                header.mem_size = 0;
            }
        }
        assert_eq!(image.plan(), Err(ElfError::NoLoadableSegments));
    }

    #[test]
    fn segment_errors() {
        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).flags = RW | elf::PF_X;
        assert_eq!(
            image.plan(),
            Err(ElfError::WritableAndExecutable { vaddr: 0x41_1000 })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).file_size = 0x3000;
        assert_eq!(
            image.plan(),
            Err(ElfError::FileSizeExceedsMemorySize { vaddr: 0x41_1000 })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).file_size = 0x101;
        assert_eq!(
            image.plan(),
            Err(ElfError::SegmentOutOfFile { vaddr: 0x41_1000 })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).offset = u64::MAX - 8;
        assert_eq!(
            image.plan(),
            Err(ElfError::SegmentOutOfFile { vaddr: 0x41_1000 })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).vaddr = 0x41_1800;
        assert_eq!(
            image.plan(),
            Err(ElfError::MisalignedSegment { vaddr: 0x41_1800 })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).vaddr = u64::MAX - 0xfff;
        assert_eq!(
            image.plan(),
            Err(ElfError::AddressOverflow {
                vaddr: u64::MAX - 0xfff
            })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).vaddr = 0x7fff_ffff_f000;
        assert_eq!(
            image.plan(),
            Err(ElfError::AboveUserAddressLimit {
                vaddr: 0x7fff_ffff_f000
            })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).vaddr = 0xffff_8000_0000_0000;
        assert_eq!(
            image.plan(),
            Err(ElfError::AboveUserAddressLimit {
                vaddr: 0xffff_8000_0000_0000
            })
        );

        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_LOAD, 1).vaddr = 0;
        image.header_mut(elf::PT_LOAD, 1).offset = 0;
        assert_eq!(
            image.plan(),
            Err(ElfError::BelowMinimumAddress { vaddr: 0 })
        );
    }

    #[test]
    fn the_highest_user_page_is_allowed() {
        let mut image = TestElf::static_executable();
        let data = image.header_mut(elf::PT_LOAD, 1);
        data.vaddr = 0x7fff_ffff_e000;
        data.mem_size = 0x2000;
        image.header_mut(elf::PT_TLS, 0).vaddr = 0x7fff_ffff_e000;
        let plan = image.plan().unwrap();
        assert_eq!(plan.brk_start, 0x8000_0000_0000);
    }

    #[test]
    fn overlapping_segments_are_refused() {
        let mut image = TestElf::static_executable();
        // Data starting in text's last page: both would need that page.
        image.header_mut(elf::PT_LOAD, 1).vaddr = 0x40_0800;
        image.header_mut(elf::PT_LOAD, 1).offset = 0x800;
        image.header_mut(elf::PT_TLS, 0).vaddr = 0x40_0800;
        assert_eq!(
            image.plan(),
            Err(ElfError::OverlappingSegments {
                first: 0x40_0000,
                second: 0x40_0800
            })
        );

        // Out-of-order headers are sorted before the check, and still overlap.
        let mut image = TestElf::static_executable();
        image.headers.swap(1, 2);
        image.header_mut(elf::PT_LOAD, 0).vaddr = 0x3f_f000;
        assert_eq!(
            image.plan(),
            Err(ElfError::OverlappingSegments {
                first: 0x3f_f000,
                second: 0x40_0000
            })
        );
    }

    #[test]
    fn adjacent_segments_are_allowed_and_sorted() {
        let mut image = TestElf::static_executable();
        image.headers.swap(1, 2);
        image.header_mut(elf::PT_LOAD, 0).vaddr = 0x40_1000;
        image.header_mut(elf::PT_TLS, 0).vaddr = 0x40_1000;
        let plan = image.plan().unwrap();
        assert_eq!(plan.segments[0].vaddr, 0x40_0000);
        assert_eq!(plan.segments[1].vaddr, 0x40_1000);
        assert_eq!(plan.brk_start, 0x40_4000);
    }

    #[test]
    fn entry_must_be_in_code() {
        let mut image = TestElf::static_executable();
        image.entry = 0x41_1000;
        assert_eq!(
            image.plan(),
            Err(ElfError::EntryNotExecutable { entry: 0x41_1000 })
        );
        image.entry = 0x40_1000;
        assert_eq!(
            image.plan(),
            Err(ElfError::EntryNotExecutable { entry: 0x40_1000 })
        );
        image.entry = 0x40_0fff;
        assert!(image.plan().is_ok());
    }

    #[test]
    fn tls_errors() {
        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_TLS, 0).file_size = 0x40;
        assert_eq!(
            image.plan(),
            Err(ElfError::InvalidTls {
                reason: "p_filesz > p_memsz"
            })
        );
        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_TLS, 0).align = 24;
        assert_eq!(
            image.plan(),
            Err(ElfError::InvalidTls {
                reason: "alignment is not a power of two"
            })
        );
        let mut image = TestElf::static_executable();
        image.header_mut(elf::PT_TLS, 0).vaddr = 0x41_2000;
        assert_eq!(
            image.plan(),
            Err(ElfError::InvalidTls {
                reason: "initialised data is not inside a loaded segment"
            })
        );
        // A TLS block with no initialised data needs no file bytes.
        let mut image = TestElf::static_executable();
        let tls = image.header_mut(elf::PT_TLS, 0);
        tls.vaddr = 0x41_2000;
        tls.file_size = 0;
        assert_eq!(
            image.plan().unwrap().tls.map(|tls| tls.mem_size),
            Some(0x30)
        );
    }

    #[test]
    fn parses_from_an_unaligned_buffer() {
        // cpio places file data on 4-byte boundaries only.
        let file = TestElf::static_executable().build();
        let mut shifted = vec![0_u8; 1];
        shifted.extend_from_slice(&file);
        assert_eq!(plan_load(&shifted[1..], 0), plan_load(&file, 0));
        assert!(plan_load(&shifted[1..], 0).is_ok());
    }

    #[test]
    fn errors_describe_themselves() {
        assert_eq!(
            alloc::format!("{}", ElfError::WritableAndExecutable { vaddr: 0x41_1000 }),
            "segment at 0x411000 is both writable and executable"
        );
    }

    /// `testdata/exit_static`: a real static musl program (see testdata/README.md).
    #[test]
    fn plans_a_real_static_musl_program() {
        let file = include_bytes!("../testdata/exit_static");
        let plan = plan_load(file, 0).unwrap();
        assert_eq!(plan.kind, ExecutableKind::Static);
        assert!(plan
            .segments
            .iter()
            .any(|segment| segment.permissions == Permissions::READ_EXECUTE));
        assert!(plan
            .segments
            .iter()
            .any(|segment| segment.permissions.write));
        assert!(plan
            .segments
            .iter()
            .all(|segment| !segment.permissions.is_writable_and_executable()));
        assert!(!plan.stack_executable);
        assert_eq!(plan.phent, 56);
        assert_eq!(plan.segments.len(), 4);
        let tls = plan.tls.unwrap();
        assert_eq!((tls.file_size, tls.mem_size, tls.align), (4, 4, 4));
        assert!(plan
            .segments
            .iter()
            .any(|segment| segment.contains_file_backed(tls.vaddr, 4)));
        assert_eq!(plan.brk_start % PAGE_SIZE, 0);
        // AT_PHDR must point at a copy of the file's own program header table.
        let phoff = u64::from_le_bytes(file[32..40].try_into().unwrap());
        let holder = plan
            .segments
            .iter()
            .find(|segment| {
                plan.phdr_vaddr >= segment.vaddr
                    && plan.phdr_vaddr < segment.vaddr + segment.file_size
            })
            .unwrap();
        assert_eq!(holder.file_offset + (plan.phdr_vaddr - holder.vaddr), phoff);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = plan_load(&bytes, 0x1000);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_ident_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let mut bytes = TestElf::static_executable().build()[..20].to_vec();
            bytes.extend(tail);
            let _ = plan_load(&bytes, 0x1000);
        }

        #[test]
        fn corrupted_headers_never_panic(
            changes in proptest::collection::vec((0_usize..64 + 5 * 56, any::<u8>()), 1..8),
            bias in any::<u64>(),
        ) {
            let mut bytes = TestElf::static_executable().build();
            for (position, value) in changes {
                bytes[position] = value;
            }
            if let Ok(plan) = plan_load(&bytes, bias & !(PAGE_SIZE - 1)) {
                // Whatever got through still satisfies the plan's promises.
                for segment in &plan.segments {
                    prop_assert!(!segment.permissions.is_writable_and_executable());
                    prop_assert!(segment.file_size <= segment.mem_size);
                    prop_assert!(segment.vaddr >= MINIMUM_USER_ADDRESS);
                    prop_assert!(segment.end() - 1 <= USER_ADDRESS_LIMIT);
                    prop_assert!(segment.file_bytes(&bytes).is_some());
                }
                for pair in plan.segments.windows(2) {
                    prop_assert!(pair[0].page_end() <= pair[1].page_start());
                }
                prop_assert!(plan.brk_start.is_multiple_of(PAGE_SIZE));
            }
        }

        #[test]
        fn random_segment_fields_never_panic(
            offset in any::<u64>(), vaddr in any::<u64>(), file_size in any::<u64>(),
            mem_size in any::<u64>(), flags in 0_u32..8,
        ) {
            let mut image = TestElf::static_executable();
            let data = image.header_mut(elf::PT_LOAD, 1);
            *data = Header { kind: elf::PT_LOAD, flags, offset, vaddr, file_size, mem_size, align: 0x1000 };
            let _ = image.plan();
        }
    }
}
