//! `/proc/<pid>/maps` lines exactly as Linux prints them:
//! `start-end perms offset major:minor inode` (`%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu `)
//! and, when the area has a name, spaces up to column 73 before it.

use super::inode::DeviceNumber;
use crate::vma::{Sharing, Vma, VmaKind};
use alloc::format;
use alloc::vec::Vec;

/// Linux pads the fields to `25 + 6 * sizeof(void *) - 1` characters (72 on 64-bit)
/// and adds one space before a name.
const NAME_PAD_WIDTH: usize = 72;

/// One area to print, with what the file system knows about its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapsRecord<'a> {
    /// The area.
    pub vma: Vma,
    /// For a file mapping: the device holding the file (else ignored, printed 00:00).
    pub device: DeviceNumber,
    /// For a file mapping: its inode number (else ignored, printed 0).
    pub inode: u64,
    /// The path column: the file's path (with `" (deleted)"` if unlinked) or a name
    /// overriding the kind's default.
    pub path: Option<&'a [u8]>,
}

/// The name Linux shows for areas without a file.
#[must_use]
pub const fn default_name(kind: VmaKind) -> Option<&'static str> {
    match kind {
        VmaKind::Heap => Some("[heap]"),
        VmaKind::Stack => Some("[stack]"),
        VmaKind::Vdso => Some("[vdso]"),
        VmaKind::Vvar => Some("[vvar]"),
        VmaKind::Anonymous | VmaKind::File { .. } | VmaKind::SharedAnonymous { .. } => None,
    }
}

/// All lines, in the order given (the caller passes areas in address order).
#[must_use]
pub fn format_maps(records: &[MapsRecord<'_>]) -> Vec<u8> {
    let mut text = Vec::new();
    for record in records {
        format_maps_line(record, &mut text);
    }
    text
}

/// Appends one line, newline included. A newline inside a path is printed as `\012`,
/// as Linux escapes it.
pub fn format_maps_line(record: &MapsRecord<'_>, out: &mut Vec<u8>) {
    let vma = &record.vma;
    let (offset, device, inode) = match vma.kind {
        VmaKind::File { offset, .. } => (offset, record.device, record.inode),
        _ => (0, DeviceNumber::new(0, 0), 0),
    };
    let letter = |allowed: bool, letter: u8| if allowed { letter } else { b'-' };
    let line_start = out.len();
    out.extend_from_slice(format!("{:08x}-{:08x} ", vma.start, vma.end).as_bytes());
    out.push(letter(vma.permissions.read, b'r'));
    out.push(letter(vma.permissions.write, b'w'));
    out.push(letter(vma.permissions.execute, b'x'));
    out.push(match vma.sharing {
        Sharing::Shared => b's',
        Sharing::Private => b'p',
    });
    out.extend_from_slice(
        format!(
            " {:08x} {:02x}:{:02x} {} ",
            offset, device.major, device.minor, inode
        )
        .as_bytes(),
    );
    let name = record
        .path
        .or_else(|| default_name(vma.kind).map(str::as_bytes));
    if let Some(name) = name {
        let written = out.len() - line_start;
        if written < NAME_PAD_WIDTH {
            out.resize(line_start + NAME_PAD_WIDTH, b' ');
        }
        out.push(b' ');
        for byte in name {
            if *byte == b'\n' {
                out.extend_from_slice(b"\\012");
            } else {
                out.push(*byte);
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permissions;
    use crate::vma::FileId;

    fn vma(start: u64, end: u64, permissions: Permissions, kind: VmaKind) -> Vma {
        Vma {
            start,
            end,
            permissions,
            kind,
            sharing: Sharing::Private,
        }
    }

    fn line(record: &MapsRecord<'_>) -> alloc::string::String {
        let mut out = Vec::new();
        format_maps_line(record, &mut out);
        alloc::string::String::from_utf8(out).unwrap()
    }

    #[test]
    fn file_line_matches_linux_byte_for_byte() {
        // Copied from a Linux 6.x /proc/self/maps of cat.
        let expected = "5639fc378000-5639fc37d000 r-xp 00002000 fe:00 247030                     /usr/bin/cat\n";
        let record = MapsRecord {
            vma: vma(
                0x5639_fc37_8000,
                0x5639_fc37_d000,
                Permissions::READ_EXECUTE,
                VmaKind::File {
                    file: FileId(247_030),
                    offset: 0x2000,
                    write_access: crate::vma::WriteAccess::Allowed,
                },
            ),
            device: DeviceNumber::new(0xfe, 0),
            inode: 247_030,
            path: Some(b"/usr/bin/cat"),
        };
        assert_eq!(line(&record), expected);
        assert_eq!(expected.find('/'), Some(73));
    }

    #[test]
    fn anonymous_and_named_areas() {
        let anonymous = MapsRecord {
            vma: vma(
                0x7f96_226c_a000,
                0x7f96_226e_c000,
                Permissions::READ_WRITE,
                VmaKind::Anonymous,
            ),
            device: DeviceNumber::new(8, 1),
            inode: 99,
            path: None,
        };
        // No name: the line ends with the space after the inode, as Linux's does.
        assert_eq!(
            line(&anonymous),
            "7f96226ca000-7f96226ec000 rw-p 00000000 00:00 0 \n"
        );
        let heap = MapsRecord {
            vma: vma(
                0x563a_0974_b000,
                0x563a_0976_c000,
                Permissions::READ_WRITE,
                VmaKind::Heap,
            ),
            path: None,
            ..anonymous
        };
        assert_eq!(
            line(&heap),
            "563a0974b000-563a0976c000 rw-p 00000000 00:00 0                          [heap]\n"
        );
        let short = MapsRecord {
            vma: Vma {
                sharing: Sharing::Shared,
                ..vma(0x1000, 0x2000, Permissions::NONE, VmaKind::Vvar)
            },
            ..anonymous
        };
        let text = line(&short);
        assert!(text.starts_with("00001000-00002000 ---s 00000000 00:00 0 "));
        assert_eq!(text.find('['), Some(73));
        assert!(text.ends_with("[vvar]\n"));
        for (kind, name) in [(VmaKind::Stack, "[stack]"), (VmaKind::Vdso, "[vdso]")] {
            let record = MapsRecord {
                vma: vma(0x1000, 0x2000, Permissions::READ, kind),
                ..anonymous
            };
            assert!(line(&record).ends_with(&alloc::format!(" {name}\n")));
        }
    }

    #[test]
    fn long_fields_get_one_space_and_newlines_are_escaped() {
        let record = MapsRecord {
            vma: vma(
                0xffff_ffff_ffff_0000,
                0xffff_ffff_ffff_f000,
                Permissions::READ,
                VmaKind::File {
                    file: FileId(1),
                    offset: 0xffff_ffff_ffff_f000,
                    write_access: crate::vma::WriteAccess::Allowed,
                },
            ),
            device: DeviceNumber::new(0xfff, 0xfffff),
            inode: u64::MAX,
            path: Some(b"/odd\nname (deleted)"),
        };
        let text = line(&record);
        assert_eq!(
            text,
            "ffffffffffff0000-fffffffffffff000 r--p fffffffffffff000 fff:fffff 18446744073709551615  /odd\\012name (deleted)\n"
        );
        let all = format_maps(&[record, record]);
        assert_eq!(all.len(), 2 * text.len());
    }
}
