//! Memory access permissions shared by ELF segments and virtual memory areas.

/// Which accesses a mapping allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Permissions {
    /// Loads are allowed.
    pub read: bool,
    /// Stores are allowed.
    pub write: bool,
    /// Instruction fetches are allowed.
    pub execute: bool,
}

impl Permissions {
    /// No access (`PROT_NONE`).
    pub const NONE: Permissions = Permissions {
        read: false,
        write: false,
        execute: false,
    };
    /// Read-only data.
    pub const READ: Permissions = Permissions {
        read: true,
        write: false,
        execute: false,
    };
    /// Writable data.
    pub const READ_WRITE: Permissions = Permissions {
        read: true,
        write: true,
        execute: false,
    };
    /// Code.
    pub const READ_EXECUTE: Permissions = Permissions {
        read: true,
        write: false,
        execute: true,
    };

    /// Decodes Linux `PROT_*` bits (`PROT_READ` 1, `PROT_WRITE` 2, `PROT_EXEC` 4); `None`
    /// if any other bit is set.
    #[must_use]
    pub const fn from_prot(prot: u64) -> Option<Permissions> {
        if prot & !0b111 != 0 {
            return None;
        }
        Some(Permissions {
            read: prot & 1 != 0,
            write: prot & 2 != 0,
            execute: prot & 4 != 0,
        })
    }

    /// The `PROT_*` bits for these permissions.
    #[must_use]
    pub const fn to_prot(self) -> u64 {
        (self.read as u64) | ((self.write as u64) << 1) | ((self.execute as u64) << 2)
    }

    /// True if the mapping would be both writable and executable, which this system
    /// never allows.
    #[must_use]
    pub const fn is_writable_and_executable(self) -> bool {
        self.write && self.execute
    }
}

impl core::fmt::Display for Permissions {
    /// The three-letter form `/proc/<pid>/maps` uses, such as `r-x`.
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let letter = |allowed: bool, letter: char| if allowed { letter } else { '-' };
        write!(
            formatter,
            "{}{}{}",
            letter(self.read, 'r'),
            letter(self.write, 'w'),
            letter(self.execute, 'x')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prot_bits_round_trip() {
        for prot in 0..8 {
            let permissions = Permissions::from_prot(prot).expect("valid PROT bits");
            assert_eq!(permissions.to_prot(), prot);
        }
        assert_eq!(Permissions::from_prot(8), None);
        assert_eq!(Permissions::from_prot(1 << 40), None);
        assert_eq!(Permissions::from_prot(5), Some(Permissions::READ_EXECUTE));
    }

    #[test]
    fn displays_like_proc_maps() {
        assert_eq!(alloc::format!("{}", Permissions::READ_EXECUTE), "r-x");
        assert_eq!(alloc::format!("{}", Permissions::READ_WRITE), "rw-");
        assert_eq!(alloc::format!("{}", Permissions::NONE), "---");
        assert!(Permissions::from_prot(7).is_some_and(Permissions::is_writable_and_executable));
    }
}
