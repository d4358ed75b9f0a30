//! Bounds-checked access to the image: by file offset, and by address through the single
//! PT_LOAD (which is how every consumer reads it once mapped).

/// The loadable part of the image: `size` bytes at file `offset`, mapped at `address`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoadSegment {
    pub(crate) offset: u64,
    pub(crate) address: u64,
    /// `p_filesz`, clipped to the file's length so reads never pass the end.
    pub(crate) size: u64,
}

#[derive(Clone, Copy)]
pub(crate) struct Image<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) load: LoadSegment,
}

impl<'a> Image<'a> {
    /// `length` bytes at file `offset`, if all of them are in the file.
    pub(crate) fn at_offset(&self, offset: u64, length: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(length).ok()?)?;
        self.bytes.get(start..end)
    }

    /// `length` bytes at `address`, if all of them are inside the PT_LOAD.
    pub(crate) fn at_address(&self, address: u64, length: u64) -> Option<&'a [u8]> {
        let relative = address.checked_sub(self.load.address)?;
        if relative.checked_add(length)? > self.load.size {
            return None;
        }
        self.at_offset(self.load.offset.checked_add(relative)?, length)
    }

    /// Whether `address..address + length` is inside the PT_LOAD.
    pub(crate) fn contains(&self, address: u64, length: u64) -> bool {
        address
            .checked_sub(self.load.address)
            .and_then(|relative| relative.checked_add(length))
            .is_some_and(|end| end <= self.load.size)
    }
}

/// Little-endian `u16` number `index` of `bytes`.
pub(crate) fn u16_at(bytes: &[u8], index: usize) -> Option<u16> {
    let start = index.checked_mul(2)?;
    let chunk: [u8; 2] = bytes.get(start..start.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_le_bytes(chunk))
}

/// Little-endian `u32` number `index` of `bytes`.
pub(crate) fn u32_at(bytes: &[u8], index: usize) -> Option<u32> {
    let start = index.checked_mul(4)?;
    let chunk: [u8; 4] = bytes.get(start..start.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(chunk))
}

/// Little-endian `u64` number `index` of `bytes`.
pub(crate) fn u64_at(bytes: &[u8], index: usize) -> Option<u64> {
    let start = index.checked_mul(8)?;
    let chunk: [u8; 8] = bytes.get(start..start.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The NUL-terminated string at `offset` in a string table.
pub(crate) fn string_at(table: &[u8], offset: u64) -> Option<&[u8]> {
    let rest = table.get(usize::try_from(offset).ok()?..)?;
    let length = rest.iter().position(|&byte| byte == 0)?;
    rest.get(..length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(bytes: &[u8]) -> Image<'_> {
        Image {
            bytes,
            load: LoadSegment {
                offset: 0,
                address: 0,
                size: bytes.len() as u64,
            },
        }
    }

    #[test]
    fn reads_are_bounded_by_the_load_segment_and_never_overflow() {
        let bytes = [0u8; 32];
        let view = Image {
            load: LoadSegment {
                offset: 8,
                address: 0x1000,
                size: 16,
            },
            ..image(&bytes)
        };
        assert_eq!(view.at_address(0x1000, 16).map(<[u8]>::len), Some(16));
        assert_eq!(view.at_address(0x1001, 16), None);
        assert_eq!(view.at_address(0xfff, 1), None);
        assert_eq!(view.at_address(u64::MAX, 2), None);
        assert_eq!(view.at_address(0x1000, u64::MAX), None);
        assert!(view.contains(0x100f, 1));
        assert!(!view.contains(0x100f, 2));
        assert_eq!(view.at_offset(u64::MAX, 1), None);
    }

    #[test]
    fn integers_and_strings_read_little_endian_within_bounds() {
        let bytes = [1, 2, 3, 4, 5, 6, 7, 8, b'a', b'b', 0, b'c'];
        assert_eq!(u16_at(&bytes, 1), Some(0x0403));
        assert_eq!(u32_at(&bytes, 1), Some(0x0807_0605));
        assert_eq!(u64_at(&bytes, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(u32_at(&bytes, 3), None);
        assert_eq!(u64_at(&bytes, usize::MAX), None);
        assert_eq!(string_at(&bytes, 8), Some(&b"ab"[..]));
        assert_eq!(string_at(&bytes, 10), Some(&b""[..]));
        // No terminator before the end of the table.
        assert_eq!(string_at(&bytes, 11), None);
        assert_eq!(string_at(&bytes, 99), None);
    }
}
