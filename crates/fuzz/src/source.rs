//! Structured reading of fuzz input: turns bytes into choices, so random or mutated bytes
//! become well-formed-ish calls (the stable-Rust stand-in for `arbitrary`).
//!
//! Exhausted input reads as zeros, so every input, however short, is a complete call.

/// Values at integer-width boundaries and the page-size edges parsers mishandle most often.
pub const BOUNDARY_VALUES: [u64; 34] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    15,
    16,
    31,
    32,
    63,
    64,
    127,
    128,
    255,
    256,
    0xfff,
    0x1000,
    0x1001,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_f000,
    0x7fff_ffff_ffff,
    0x8000_0000_0000,
    0xffff_8000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

/// A cursor over fuzz input that hands out choices and numbers.
#[derive(Clone, Debug)]
pub struct Source<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Source<'a> {
    /// Reads `bytes` from the start.
    #[must_use]
    pub const fn new(bytes: &'a [u8]) -> Source<'a> {
        Source { bytes, position: 0 }
    }

    /// True once every byte has been read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.position >= self.bytes.len()
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        let value = self.bytes.get(self.position).copied().unwrap_or(0);
        self.position = self.position.saturating_add(1);
        value
    }

    /// A choice in `0..count` (0 when `count` is 0); one byte, two for larger counts.
    pub fn below(&mut self, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        let raw = if count <= 256 {
            usize::from(self.byte())
        } else {
            usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
        };
        raw % count
    }

    /// True for one byte value in `odds` (`odds` > 0).
    pub fn one_in(&mut self, odds: u8) -> bool {
        self.byte().is_multiple_of(odds)
    }

    /// A coin toss.
    pub fn flag(&mut self) -> bool {
        self.byte() & 1 != 0
    }

    /// One of `choices`.
    ///
    /// # Panics
    /// If `choices` is empty (a harness bug, never input-driven).
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())]
    }

    /// Eight raw little-endian bytes.
    pub fn raw_u64(&mut self) -> u64 {
        let mut word = [0_u8; 8];
        for byte in &mut word {
            *byte = self.byte();
        }
        u64::from_le_bytes(word)
    }

    /// A 64-bit number biased towards meaningful values: raw bits, a small number, an
    /// integer-width boundary, or an entry of `dictionary` (possibly nudged by a little).
    pub fn word(&mut self, dictionary: &[u64]) -> u64 {
        match self.byte() % 8 {
            0 | 1 => self.raw_u64(),
            2 => u64::from(self.byte()),
            3 => self.pick(&BOUNDARY_VALUES),
            4 | 5 if !dictionary.is_empty() => self.pick(dictionary),
            6 if !dictionary.is_empty() => {
                let base = self.pick(dictionary);
                let delta = u64::from(self.byte() % 16);
                if self.flag() {
                    base.wrapping_add(delta)
                } else {
                    base.wrapping_sub(delta)
                }
            }
            _ => self.pick(&BOUNDARY_VALUES) ^ u64::from(self.byte()),
        }
    }

    /// Up to `limit` of the next bytes (fewer at the end of the input).
    pub fn take(&mut self, limit: usize) -> &'a [u8] {
        let start = self.position.min(self.bytes.len());
        let end = start.saturating_add(limit).min(self.bytes.len());
        self.position = self.position.saturating_add(limit);
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// A length below `limit` chosen by the input, then that many bytes (fewer at the
    /// end of the input).
    pub fn take_below(&mut self, limit: usize) -> &'a [u8] {
        let length = self.below(limit);
        self.take(length)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let start = self.position.min(self.bytes.len());
        self.position = self.bytes.len();
        self.bytes.get(start..).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn reads_zeros_past_the_end_and_bounds_choices() {
        let mut source = Source::new(&[5, 1, 2]);
        assert_eq!(source.below(3), 2);
        assert_eq!(source.take(8), &[1, 2]);
        assert!(source.is_empty());
        assert_eq!(source.byte(), 0);
        assert_eq!(source.raw_u64(), 0);
        assert_eq!(source.rest(), &[] as &[u8]);
        let mut source = Source::new(&[5, 0xaa]);
        // Tag 5 picks from the dictionary: index 0xaa % 2.
        assert_eq!(source.word(&[10, 20]), 10);
    }
}
