//! Capability rights words and VM attributes.

/// `seL4_CapRights_t`: bit 0 write, bit 1 read, bit 2 grant, bit 3 grantReply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapRights(pub u64);

impl CapRights {
    pub const WRITE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const GRANT: u64 = 1 << 2;
    pub const GRANT_REPLY: u64 = 1 << 3;

    /// All four rights (`seL4_AllRights`).
    pub const fn all() -> Self {
        Self(0xf)
    }

    /// Read and write (`seL4_ReadWrite`).
    pub const fn read_write() -> Self {
        Self(Self::READ | Self::WRITE)
    }

    /// Read only (`seL4_CanRead`).
    pub const fn read_only() -> Self {
        Self(Self::READ)
    }

    /// `seL4_CapRights_new(grant_reply, grant, read, write)`.
    pub const fn new(grant_reply: bool, grant: bool, read: bool, write: bool) -> Self {
        Self((grant_reply as u64) << 3 | (grant as u64) << 2 | (read as u64) << 1 | write as u64)
    }

    pub const fn can_write(self) -> bool {
        self.0 & Self::WRITE != 0
    }
    pub const fn can_read(self) -> bool {
        self.0 & Self::READ != 0
    }
    pub const fn can_grant(self) -> bool {
        self.0 & Self::GRANT != 0
    }
    pub const fn can_grant_reply(self) -> bool {
        self.0 & Self::GRANT_REPLY != 0
    }

    /// The rights both words allow (what Mint and Copy do with a rights mask).
    pub const fn intersect(self, mask: CapRights) -> Self {
        Self(self.0 & mask.0 & 0xf)
    }
}

/// `seL4_ARM_VMAttributes` for PageMap and PageTableMap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmAttributes(pub u64);

impl VmAttributes {
    pub const PAGE_CACHEABLE: u64 = 1;
    pub const PARITY_ENABLED: u64 = 2;
    pub const EXECUTE_NEVER: u64 = 4;

    /// `seL4_ARM_Default_VMAttributes`: cacheable, parity.
    pub const fn default_attributes() -> Self {
        Self(Self::PAGE_CACHEABLE | Self::PARITY_ENABLED)
    }

    pub const fn cacheable(self) -> bool {
        self.0 & Self::PAGE_CACHEABLE != 0
    }
    pub const fn execute_never(self) -> bool {
        self.0 & Self::EXECUTE_NEVER != 0
    }
}

impl Default for VmAttributes {
    fn default() -> Self {
        Self::default_attributes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_bits_match_sel4() {
        assert_eq!(CapRights::new(false, false, true, true).0, 3);
        assert_eq!(CapRights::new(true, false, false, false).0, 8);
        let r = CapRights::all().intersect(CapRights::read_only());
        assert!(r.can_read() && !r.can_write() && !r.can_grant());
        assert!(VmAttributes(5).execute_never());
    }
}
