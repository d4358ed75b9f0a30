//! The MessageInfo word (`seL4_MessageInfo_t`) that travels in x1.

/// Most message registers a message can carry.
pub const MSG_MAX_LENGTH: usize = 120;
/// Most extra capabilities a message can carry.
pub const MSG_MAX_EXTRA_CAPS: usize = 3;
/// Message registers passed in machine registers (x2..x5) rather than the IPC buffer.
pub const MSG_REGISTER_COUNT: usize = 4;

/// `label << 12 | caps_unwrapped << 9 | extra_caps << 7 | length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MessageInfo(pub u64);

impl MessageInfo {
    /// Builds a MessageInfo; fields wider than their bit ranges are truncated as seL4 does.
    pub const fn new(label: u64, caps_unwrapped: u64, extra_caps: u64, length: u64) -> Self {
        Self(
            (label & 0xf_ffff_ffff_ffff) << 12
                | (caps_unwrapped & 0x7) << 9
                | (extra_caps & 0x3) << 7
                | (length & 0x7f),
        )
    }

    /// The label (52 bits): an invocation label, a fault type or an error code.
    pub const fn label(self) -> u64 {
        self.0 >> 12
    }

    /// Bitmap of extra caps that were unwrapped to their badges.
    pub const fn caps_unwrapped(self) -> u64 {
        (self.0 >> 9) & 0x7
    }

    /// Number of extra capabilities (0..=3).
    pub const fn extra_caps(self) -> usize {
        ((self.0 >> 7) & 0x3) as usize
    }

    /// Number of message registers as written by the sender (0..=127).
    pub const fn length(self) -> usize {
        (self.0 & 0x7f) as usize
    }

    /// The length the kernel honours: seL4 clamps a length over 120 to 120.
    pub const fn clamped_length(self) -> usize {
        let length = self.length();
        if length > MSG_MAX_LENGTH {
            MSG_MAX_LENGTH
        } else {
            length
        }
    }

    /// The raw word.
    pub const fn word(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_pack_at_sel4_bit_positions() {
        let info = MessageInfo::new(1, 0, 1, 6);
        assert_eq!(info.word(), (1 << 12) | (1 << 7) | 6);
        assert_eq!(info.label(), 1);
        assert_eq!(info.extra_caps(), 1);
        assert_eq!(info.length(), 6);
        let info = MessageInfo::new(0xabc, 5, 3, 127);
        assert_eq!(info.caps_unwrapped(), 5);
        assert_eq!(info.extra_caps(), 3);
        assert_eq!(info.length(), 127);
        assert_eq!(info.clamped_length(), 120);
    }
}
