//! Shift and mask helpers that are total for every shift amount (Rust's `<<`/`>>` are not
//! defined for shifts of 64 or more, and seL4's arithmetic routinely needs them).

/// The low `bits` bits set; all ones for 64 or more.
pub(crate) const fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// `value >> amount`, 0 when `amount` is 64 or more.
pub(crate) const fn shift_right(value: u64, amount: u32) -> u64 {
    if amount >= 64 {
        0
    } else {
        value >> amount
    }
}

/// `value << amount`, 0 when `amount` is 64 or more.
pub(crate) const fn shift_left(value: u64, amount: u32) -> u64 {
    if amount >= 64 {
        0
    } else {
        value << amount
    }
}

/// The `width`-bit field of `word` starting at bit `shift`.
pub(crate) const fn field(word: u64, shift: u32, width: u32) -> u64 {
    shift_right(word, shift) & mask(width)
}

/// `value` truncated to `width` bits and placed at bit `shift`.
pub(crate) const fn place(value: u64, shift: u32, width: u32) -> u64 {
    shift_left(value & mask(width), shift)
}

/// Whether `value` is a multiple of `2^bits`.
pub(crate) const fn is_aligned(value: u64, bits: u32) -> bool {
    value & mask(bits) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_handle_full_word_shifts() {
        assert_eq!(mask(0), 0);
        assert_eq!(mask(5), 0x1f);
        assert_eq!(mask(64), u64::MAX);
        assert_eq!(shift_right(u64::MAX, 64), 0);
        assert_eq!(shift_left(1, 63), 1 << 63);
        assert_eq!(shift_left(1, 64), 0);
        assert_eq!(field(0xabcd, 4, 8), 0xbc);
        assert_eq!(place(0x1ff, 4, 8), 0xff0);
        assert!(is_aligned(0x1000, 12));
        assert!(!is_aligned(0x1010, 12));
        assert!(is_aligned(0, 64));
    }
}
