//! BootInfo (`seL4_BootInfo`) and the root task's initial CSpace layout.

/// A range of CNode slots `[start, end)` (`seL4_SlotRegion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct SlotRegion {
    pub start: u64,
    pub end: u64,
}

impl SlotRegion {
    /// Number of slots in the region.
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Whether the region is empty.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One untyped capability's description (`seL4_UntypedDesc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct UntypedDesc {
    pub paddr: u64,
    pub size_bits: u8,
    pub is_device: u8,
    pub padding: [u8; 6],
}

/// Most untyped descriptors BootInfo holds (`CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS`).
pub const MAX_BOOTINFO_UNTYPED_CAPS: usize = 230;

/// What the kernel tells the root task at boot; its address arrives in x0.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct BootInfo {
    /// Bytes of extra BootInfo (headers such as the device tree) after this page.
    pub extra_len: u64,
    pub node_id: u64,
    pub num_nodes: u64,
    pub num_io_pt_levels: u64,
    /// The root task's IPC buffer (a user virtual address).
    pub ipc_buffer: u64,
    pub empty: SlotRegion,
    pub shared_frames: SlotRegion,
    pub user_image_frames: SlotRegion,
    pub user_image_paging: SlotRegion,
    pub io_space_caps: SlotRegion,
    pub extra_bi_pages: SlotRegion,
    pub init_thread_cnode_size_bits: u64,
    pub init_thread_domain: u64,
    pub untyped: SlotRegion,
    pub untyped_list: [UntypedDesc; MAX_BOOTINFO_UNTYPED_CAPS],
}

impl BootInfo {
    /// The untyped descriptors in use, in the order of the caps in [`BootInfo::untyped`].
    pub fn untyped_descs(&self) -> &[UntypedDesc] {
        let count = (self.untyped.len() as usize).min(MAX_BOOTINFO_UNTYPED_CAPS);
        &self.untyped_list[..count]
    }
}

/// Header of one extra BootInfo chunk (`seL4_BootInfoHeader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct BootInfoHeader {
    pub id: u64,
    /// Length of the chunk including this header.
    pub len: u64,
}

/// Extra BootInfo chunk ids.
pub mod bootinfo_header_id {
    pub const PADDING: u64 = 0;
    /// A flattened device tree follows the header.
    pub const FDT: u64 = 6;
}

/// The root task's initial CNode slots (`seL4_RootCNodeCapSlots`).
pub mod init_cap {
    pub const NULL: u64 = 0;
    pub const INIT_THREAD_TCB: u64 = 1;
    pub const INIT_THREAD_CNODE: u64 = 2;
    pub const INIT_THREAD_VSPACE: u64 = 3;
    pub const IRQ_CONTROL: u64 = 4;
    pub const ASID_CONTROL: u64 = 5;
    pub const INIT_THREAD_ASID_POOL: u64 = 6;
    pub const IO_PORT_CONTROL: u64 = 7;
    pub const IO_SPACE: u64 = 8;
    pub const BOOT_INFO_FRAME: u64 = 9;
    pub const INIT_THREAD_IPC_BUFFER: u64 = 10;
    pub const DOMAIN: u64 = 11;
    pub const SMMU_SID_CONTROL: u64 = 12;
    pub const SMMU_CB_CONTROL: u64 = 13;
    pub const INIT_THREAD_SC: u64 = 14;
    pub const SMC: u64 = 15;
    /// First slot after the fixed ones; page tables, image frames and untypeds follow.
    pub const NUM_INITIAL_CAPS: u64 = 16;
}

/// The root CNode's radix (`CONFIG_ROOT_CNODE_SIZE_BITS` as the qemu-arm-virt build sets it).
pub const ROOT_CNODE_SIZE_BITS: u64 = 12;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_sel4() {
        assert_eq!(size_of::<UntypedDesc>(), 16);
        assert_eq!(size_of::<BootInfo>(), 3848);
        assert_eq!(offset_of!(BootInfo, ipc_buffer), 32);
        assert_eq!(offset_of!(BootInfo, empty), 40);
        assert_eq!(offset_of!(BootInfo, shared_frames), 56);
        assert_eq!(offset_of!(BootInfo, user_image_frames), 72);
        assert_eq!(offset_of!(BootInfo, user_image_paging), 88);
        assert_eq!(offset_of!(BootInfo, io_space_caps), 104);
        assert_eq!(offset_of!(BootInfo, extra_bi_pages), 120);
        assert_eq!(offset_of!(BootInfo, init_thread_cnode_size_bits), 136);
        assert_eq!(offset_of!(BootInfo, init_thread_domain), 144);
        assert_eq!(offset_of!(BootInfo, untyped), 152);
        assert_eq!(offset_of!(BootInfo, untyped_list), 168);
    }
}
