//! The aarch64 stage-1 translation table format of user VSpaces, as seL4 uses it: 4 KiB
//! granule, 48-bit virtual addresses, four levels of 512-entry tables, the VSpace object
//! being the level-0 table. Entry encoding and decoding, seL4's user PTE for a frame
//! mapping, and walks over physical memory ([`PhysMemory`]).
//!
//! Levels follow the Arm numbering: level 0 is the root (the VSpace), level 3 holds 4 KiB
//! pages. One entry at level 0, 1, 2 and 3 maps 2^39, 2^30, 2^21 and 2^12 bytes; level 1
//! and 2 entries can be blocks (1 GiB and 2 MiB frames), level 3 entries are pages.
//!
//! # Memory attributes
//! `AttrIndx` selects a byte of `MAIR_EL1`; the kernel programs [`MAIR_EL1_VALUE`]:
//!
//! | index | constant | MAIR byte | memory |
//! |---|---|---|---|
//! | 0 | [`MAIR_DEVICE_NGNRNE`] | 0x00 | Device-nGnRnE |
//! | 1 | [`MAIR_NORMAL_WRITE_BACK`] | 0xff | Normal, inner/outer write-back, read/write-allocate |
//! | 2 | [`MAIR_NORMAL_NON_CACHEABLE`] | 0x44 | Normal, inner/outer non-cacheable |
//!
//! User mappings use only indices 0 and 1, as seL4 does: a frame mapped with
//! `PageCacheable` is normal write-back memory (inner shareable), one mapped without it
//! is Device-nGnRnE (so uncached device registers behave). Index 2 is for the kernel's
//! own use.
//!
//! # User leaf entries ([`make_user_page_pte`])
//! AF set (no access-flag faults), nG set (entries are tagged with the ASID), PXN set
//! (the kernel never executes user memory; seL4 leaves it clear), UXN from
//! `ExecuteNever`, AP from the VM rights: KernelOnly 0b00 (EL1 RW, EL0 none), ReadWrite
//! 0b01 (EL1 RW, EL0 RW), ReadOnly 0b11 (EL1 RO, EL0 RO).

use sel4::VmAttributes;

use crate::bits::{field, mask, place};
use crate::cap::{FrameSize, VmRights, PADDR_BITS};

/// `MAIR_EL1` index of Device-nGnRnE memory (uncached user mappings, MMIO).
pub const MAIR_DEVICE_NGNRNE: u64 = 0;
/// `MAIR_EL1` index of normal write-back cacheable memory (cacheable user mappings).
pub const MAIR_NORMAL_WRITE_BACK: u64 = 1;
/// `MAIR_EL1` index of normal non-cacheable memory (kernel use only).
pub const MAIR_NORMAL_NON_CACHEABLE: u64 = 2;
/// The `MAIR_EL1` value giving the indices above their meaning.
pub const MAIR_EL1_VALUE: u64 = 0x00 << (8 * MAIR_DEVICE_NGNRNE)
    | 0xff << (8 * MAIR_NORMAL_WRITE_BACK)
    | 0x44 << (8 * MAIR_NORMAL_NON_CACHEABLE);

/// Entries in one table at every level.
pub const ENTRIES_PER_TABLE: u64 = 1 << sel4::PAGE_TABLE_INDEX_BITS;
/// Bytes of one entry.
pub const ENTRY_BYTES: u64 = 8;

// Descriptor bit positions (Arm ARM D8.3).
const VALID_BIT: u32 = 0;
const TYPE_BIT: u32 = 1;
const ATTR_INDEX_SHIFT: u32 = 2;
const ACCESS_PERMISSIONS_SHIFT: u32 = 6;
const SHAREABILITY_SHIFT: u32 = 8;
const ACCESS_FLAG_BIT: u32 = 10;
const NOT_GLOBAL_BIT: u32 = 11;
const PRIVILEGED_EXECUTE_NEVER_BIT: u32 = 53;
const USER_EXECUTE_NEVER_BIT: u32 = 54;

/// Output-address bits of a page or table descriptor: `[47:12]`.
const TABLE_ADDRESS_MASK: u64 = mask(PADDR_BITS) & !mask(sel4::PAGE_BITS);

/// Physical memory as the walker sees it. The kernel implements it over its physical
/// window; tests over a map.
pub trait PhysMemory {
    /// The 64-bit word at the 8-byte aligned physical address `paddr`.
    fn read_u64(&self, paddr: u64) -> u64;
    /// Stores `value` at the 8-byte aligned physical address `paddr`.
    fn write_u64(&mut self, paddr: u64, value: u64);
}

/// A translation table level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The root: the VSpace object.
    Zero,
    One,
    Two,
    /// Holds 4 KiB pages.
    Three,
}

impl Level {
    /// The level number, 0 (root) to 3.
    pub const fn number(self) -> u32 {
        match self {
            Level::Zero => 0,
            Level::One => 1,
            Level::Two => 2,
            Level::Three => 3,
        }
    }

    /// log2 of the bytes one entry at this level maps: 39, 30, 21, 12 (what seL4 calls
    /// `ptBitsLeft` for a slot at this level).
    pub const fn entry_bits(self) -> u32 {
        sel4::PAGE_BITS + sel4::PAGE_TABLE_INDEX_BITS * (3 - self.number())
    }

    /// The index of the entry for `vaddr` in a table at this level.
    pub const fn index(self, vaddr: u64) -> u64 {
        field(vaddr, self.entry_bits(), sel4::PAGE_TABLE_INDEX_BITS)
    }

    /// The level below, if any.
    pub const fn next(self) -> Option<Level> {
        match self {
            Level::Zero => Some(Level::One),
            Level::One => Some(Level::Two),
            Level::Two => Some(Level::Three),
            Level::Three => None,
        }
    }

    /// The level whose entries map `frame` sized frames.
    pub const fn for_frame(size: FrameSize) -> Level {
        match size {
            FrameSize::Small => Level::Three,
            FrameSize::Large => Level::Two,
            FrameSize::Huge => Level::One,
        }
    }

    /// Whether a leaf (page or block) entry is allowed at this level with a 4 KiB
    /// granule: levels 1, 2 (blocks) and 3 (pages).
    pub const fn allows_leaf(self) -> bool {
        !matches!(self, Level::Zero)
    }
}

/// Stage-1 access permissions (AP[2:1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AccessPermissions {
    /// EL1 read/write, EL0 none.
    KernelReadWrite = 0b00,
    /// EL1 and EL0 read/write.
    UserReadWrite = 0b01,
    /// EL1 read-only, EL0 none.
    KernelReadOnly = 0b10,
    /// EL1 and EL0 read-only.
    UserReadOnly = 0b11,
}

impl AccessPermissions {
    /// seL4's `APFromVMRights` (EL1 kernel).
    pub const fn from_vm_rights(rights: VmRights) -> Self {
        match rights {
            VmRights::KernelOnly => AccessPermissions::KernelReadWrite,
            VmRights::ReadWrite => AccessPermissions::UserReadWrite,
            VmRights::ReadOnly => AccessPermissions::UserReadOnly,
        }
    }

    /// seL4's `vmRightsFromPTE`: what a user holds through a mapping with these bits.
    pub const fn vm_rights(self) -> VmRights {
        match self {
            AccessPermissions::KernelReadWrite | AccessPermissions::KernelReadOnly => {
                VmRights::KernelOnly
            }
            AccessPermissions::UserReadWrite => VmRights::ReadWrite,
            AccessPermissions::UserReadOnly => VmRights::ReadOnly,
        }
    }

    const fn from_bits(bits: u64) -> Self {
        match bits & 0b11 {
            0b00 => AccessPermissions::KernelReadWrite,
            0b01 => AccessPermissions::UserReadWrite,
            0b10 => AccessPermissions::KernelReadOnly,
            _ => AccessPermissions::UserReadOnly,
        }
    }
}

/// Shareability (SH[1:0]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Shareability {
    NonShareable = 0b00,
    /// The architecturally reserved encoding; never written by the kernel.
    Reserved = 0b01,
    OuterShareable = 0b10,
    InnerShareable = 0b11,
}

impl Shareability {
    const fn from_bits(bits: u64) -> Self {
        match bits & 0b11 {
            0b00 => Shareability::NonShareable,
            0b01 => Shareability::Reserved,
            0b10 => Shareability::OuterShareable,
            _ => Shareability::InnerShareable,
        }
    }
}

/// Whether user code may execute from a mapping (the UXN bit, from `ExecuteNever`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserExecute {
    Allowed,
    Never,
}

/// The fields of a page or block descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The output address, aligned to the entry's size.
    pub address: u64,
    /// `MAIR_EL1` index (AttrIndx), 0..=7.
    pub attr_index: u64,
    pub access: AccessPermissions,
    pub shareability: Shareability,
    pub access_flag: bool,
    pub not_global: bool,
    pub privileged_execute_never: bool,
    pub user_execute: UserExecute,
}

impl Leaf {
    /// The entry for this leaf at `level`: a page at level 3, a block at levels 1 and 2,
    /// `None` at level 0 (no level-0 blocks with a 4 KiB granule). Address bits below the
    /// level's entry size are dropped.
    pub const fn encode(&self, level: Level) -> Option<Pte> {
        let type_bit = match level {
            Level::Zero => return None,
            Level::One | Level::Two => 0,
            Level::Three => 1,
        };
        let address = self.address & mask(PADDR_BITS) & !mask(level.entry_bits());
        let user_execute_never = matches!(self.user_execute, UserExecute::Never);
        Some(Pte(place(1, VALID_BIT, 1)
            | place(type_bit, TYPE_BIT, 1)
            | place(self.attr_index, ATTR_INDEX_SHIFT, 3)
            | place(self.access as u64, ACCESS_PERMISSIONS_SHIFT, 2)
            | place(self.shareability as u64, SHAREABILITY_SHIFT, 2)
            | place(self.access_flag as u64, ACCESS_FLAG_BIT, 1)
            | place(self.not_global as u64, NOT_GLOBAL_BIT, 1)
            | address
            | place(
                self.privileged_execute_never as u64,
                PRIVILEGED_EXECUTE_NEVER_BIT,
                1,
            )
            | place(
                user_execute_never as u64,
                USER_EXECUTE_NEVER_BIT,
                1,
            )))
    }
}

/// What an entry means at the level it sits at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descriptor {
    /// Translation faults here (including the encodings invalid at this level).
    Invalid,
    /// The next-level table at `table`.
    Table { table: u64 },
    /// A page (level 3) or block (levels 1, 2).
    Leaf(Leaf),
}

/// One translation table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pte(pub u64);

impl Pte {
    /// The invalid entry.
    pub const INVALID: Pte = Pte(0);

    /// A table descriptor pointing at the next-level table at `table` (4 KiB aligned).
    /// seL4 sets no hierarchical attributes, and neither does this.
    pub const fn table(table: u64) -> Pte {
        Pte(table & TABLE_ADDRESS_MASK | 0b11)
    }

    /// Whether the valid bit is set (seL4's `pte_ptr_get_valid`): something is mapped or
    /// a table is present, whatever the level.
    pub const fn is_valid(self) -> bool {
        field(self.0, VALID_BIT, 1) != 0
    }

    /// Decodes the entry as it would be read at `level`.
    pub const fn decode(self, level: Level) -> Descriptor {
        if !self.is_valid() {
            return Descriptor::Invalid;
        }
        let is_table_or_page = field(self.0, TYPE_BIT, 1) != 0;
        match (level, is_table_or_page) {
            (Level::Three, true) | (Level::One | Level::Two, false) => {
                Descriptor::Leaf(self.leaf_fields(level))
            }
            (Level::Zero | Level::One | Level::Two, true) => Descriptor::Table {
                table: self.0 & TABLE_ADDRESS_MASK,
            },
            // Level-3 0b01 is reserved, and level 0 has no blocks with a 4 KiB granule.
            (Level::Three | Level::Zero, false) => Descriptor::Invalid,
        }
    }

    /// The next-level table, if this entry is a table descriptor at `level` (what
    /// [`Pte::decode`] calls [`Descriptor::Table`], without decoding the rest: walks
    /// call this at every level).
    pub const fn table_address(self, level: Level) -> Option<u64> {
        let table_bits = place(1, VALID_BIT, 1) | place(1, TYPE_BIT, 1);
        if matches!(level, Level::Three) || self.0 & table_bits != table_bits {
            return None;
        }
        Some(self.0 & TABLE_ADDRESS_MASK)
    }

    /// The output address, if this entry is a page or block at `level` (the address of
    /// [`Pte::leaf`], without decoding the rest).
    pub const fn leaf_address(self, level: Level) -> Option<u64> {
        let is_table_or_page = field(self.0, TYPE_BIT, 1) != 0;
        let is_leaf = match level {
            Level::Zero => false,
            Level::One | Level::Two => !is_table_or_page,
            Level::Three => is_table_or_page,
        };
        if !self.is_valid() || !is_leaf {
            return None;
        }
        Some(self.0 & mask(PADDR_BITS) & !mask(level.entry_bits()))
    }

    /// The leaf fields, if this entry is a page or block at `level` (seL4's
    /// `pte_is_page_type`).
    pub const fn leaf(self, level: Level) -> Option<Leaf> {
        match self.decode(level) {
            Descriptor::Leaf(leaf) => Some(leaf),
            _ => None,
        }
    }

    const fn leaf_fields(self, level: Level) -> Leaf {
        let user_execute = if field(self.0, USER_EXECUTE_NEVER_BIT, 1) != 0 {
            UserExecute::Never
        } else {
            UserExecute::Allowed
        };
        Leaf {
            address: self.0 & mask(PADDR_BITS) & !mask(level.entry_bits()),
            attr_index: field(self.0, ATTR_INDEX_SHIFT, 3),
            access: AccessPermissions::from_bits(field(self.0, ACCESS_PERMISSIONS_SHIFT, 2)),
            shareability: Shareability::from_bits(field(self.0, SHAREABILITY_SHIFT, 2)),
            access_flag: field(self.0, ACCESS_FLAG_BIT, 1) != 0,
            not_global: field(self.0, NOT_GLOBAL_BIT, 1) != 0,
            privileged_execute_never: field(self.0, PRIVILEGED_EXECUTE_NEVER_BIT, 1) != 0,
            user_execute,
        }
    }
}

/// seL4's `makeUserPagePTE`: the entry mapping the frame at `paddr` of `size` for a user
/// with `rights` and `attributes` (see the module documentation for the bits).
pub const fn make_user_page_pte(
    paddr: u64,
    size: FrameSize,
    rights: VmRights,
    attributes: VmAttributes,
) -> Pte {
    let (attr_index, shareability) = if attributes.cacheable() {
        (MAIR_NORMAL_WRITE_BACK, Shareability::InnerShareable)
    } else {
        (MAIR_DEVICE_NGNRNE, Shareability::NonShareable)
    };
    let user_execute = if attributes.execute_never() {
        UserExecute::Never
    } else {
        UserExecute::Allowed
    };
    let leaf = Leaf {
        address: paddr,
        attr_index,
        access: AccessPermissions::from_vm_rights(rights),
        shareability,
        access_flag: true,
        not_global: true,
        privileged_execute_never: true,
        user_execute,
    };
    match leaf.encode(Level::for_frame(size)) {
        Some(pte) => pte,
        // Frames are never level-0 entries.
        None => Pte::INVALID,
    }
}

/// An entry in some table: its physical address and the level of its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtSlot {
    /// Physical address of the 8-byte entry.
    pub entry: u64,
    pub level: Level,
}

impl PtSlot {
    /// The entry for `vaddr` in the level-`level` table at `table`.
    pub const fn in_table(table: u64, level: Level, vaddr: u64) -> PtSlot {
        PtSlot {
            entry: (table & TABLE_ADDRESS_MASK) + level.index(vaddr) * ENTRY_BYTES,
            level,
        }
    }

    /// log2 of the bytes this entry maps (seL4's `ptBitsLeft`).
    pub const fn bits_left(&self) -> u32 {
        self.level.entry_bits()
    }

    /// The entry's current value.
    pub fn read(&self, memory: &impl PhysMemory) -> Pte {
        Pte(memory.read_u64(self.entry))
    }

    /// The entry, decoded at its level.
    pub fn descriptor(&self, memory: &impl PhysMemory) -> Descriptor {
        self.read(memory).decode(self.level)
    }
}

/// seL4's `lookupPTSlot`: walks down from the VSpace root at `vspace` through present
/// tables towards `vaddr` and returns the first entry that is not a table (or the
/// level-3 entry). Its level says what could be mapped there: a page table while it is
/// above level 3 and invalid, or a frame whose size is `bits_left`.
pub fn lookup_pt_slot(memory: &impl PhysMemory, vspace: u64, vaddr: u64) -> PtSlot {
    let mut slot = PtSlot::in_table(vspace, Level::Zero, vaddr);
    while let (Some(next), Some(table)) = (
        slot.level.next(),
        slot.read(memory).table_address(slot.level),
    ) {
        slot = PtSlot::in_table(table, next, vaddr);
    }
    slot
}

/// seL4's `unmapPageTable` walk: the entry that links the page table at `table` into the
/// VSpace at `vspace` for `vaddr`, if it is linked there. `None` when a table on the way
/// is missing or the walk reaches some other table.
pub fn find_page_table_slot(
    memory: &impl PhysMemory,
    vspace: u64,
    vaddr: u64,
    table: u64,
) -> Option<PtSlot> {
    let mut current = vspace;
    let mut level = Level::Zero;
    let mut parent = None;
    while current != table {
        // Level-3 entries are never tables, so the walk ends there.
        let next = level.next()?;
        let slot = PtSlot::in_table(current, level, vaddr);
        current = slot.read(memory).table_address(level)?;
        parent = Some(slot);
        level = next;
    }
    parent
}

/// seL4's `unmapPage` checks: the entry mapping the frame at `frame` of `size` at `vaddr`
/// in the VSpace at `vspace`, if it still maps exactly that frame there.
pub fn find_page_slot(
    memory: &impl PhysMemory,
    vspace: u64,
    vaddr: u64,
    size: FrameSize,
    frame: u64,
) -> Option<PtSlot> {
    let slot = lookup_pt_slot(memory, vspace, vaddr);
    let address = slot.read(memory).leaf_address(slot.level)?;
    (slot.bits_left() == size.bits() && address == frame).then_some(slot)
}

/// A [`PhysMemory`] over a map, for tests here and in the decoders.
#[cfg(test)]
pub(crate) mod test_memory {
    use super::PhysMemory;
    use std::collections::HashMap;

    #[derive(Default)]
    pub(crate) struct MapPhysMemory {
        pub(crate) words: HashMap<u64, u64>,
    }

    impl PhysMemory for MapPhysMemory {
        fn read_u64(&self, paddr: u64) -> u64 {
            assert_eq!(paddr % 8, 0, "unaligned read at {paddr:#x}");
            self.words.get(&paddr).copied().unwrap_or(0)
        }
        fn write_u64(&mut self, paddr: u64, value: u64) {
            assert_eq!(paddr % 8, 0, "unaligned write at {paddr:#x}");
            self.words.insert(paddr, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_memory::MapPhysMemory;
    use super::*;

    const VSPACE: u64 = 0x4010_0000;
    const L1_TABLE: u64 = 0x4010_1000;
    const L2_TABLE: u64 = 0x4010_2000;
    const L3_TABLE: u64 = 0x4010_3000;

    fn leaf(address: u64) -> Leaf {
        Leaf {
            address,
            attr_index: MAIR_NORMAL_WRITE_BACK,
            access: AccessPermissions::UserReadOnly,
            shareability: Shareability::InnerShareable,
            access_flag: true,
            not_global: true,
            privileged_execute_never: true,
            user_execute: UserExecute::Never,
        }
    }

    /// VSpace -> L1 -> L2 -> L3 tables covering `vaddr`.
    fn tables_for(memory: &mut MapPhysMemory, vaddr: u64) {
        for (table, level, next) in [
            (VSPACE, Level::Zero, L1_TABLE),
            (L1_TABLE, Level::One, L2_TABLE),
            (L2_TABLE, Level::Two, L3_TABLE),
        ] {
            let slot = PtSlot::in_table(table, level, vaddr);
            memory.write_u64(slot.entry, Pte::table(next).0);
        }
    }

    #[test]
    fn level_geometry() {
        let bits: Vec<u32> = [Level::Zero, Level::One, Level::Two, Level::Three]
            .iter()
            .map(|level| level.entry_bits())
            .collect();
        assert_eq!(bits, vec![39, 30, 21, 12]);
        // 0x0000_7f80_4060_3000 = L0 255, L1 1, L2 3, L3 3, offset 0.
        let vaddr = 255 << 39 | 1 << 30 | 3 << 21 | 3 << 12 | 0x123;
        assert_eq!(Level::Zero.index(vaddr), 255);
        assert_eq!(Level::One.index(vaddr), 1);
        assert_eq!(Level::Two.index(vaddr), 3);
        assert_eq!(Level::Three.index(vaddr), 3);
        assert_eq!(Level::Three.index(sel4::USER_TOP), 511);
        assert_eq!(Level::Zero.index(sel4::USER_TOP), 255);
        assert_eq!(Level::Zero.next(), Some(Level::One));
        assert_eq!(Level::Three.next(), None);
        assert_eq!(Level::for_frame(FrameSize::Large), Level::Two);
        assert_eq!(Level::for_frame(FrameSize::Huge).entry_bits(), 30);
        assert!(!Level::Zero.allows_leaf() && Level::One.allows_leaf());
    }

    #[test]
    fn mair_value_matches_the_indices() {
        assert_eq!(MAIR_EL1_VALUE, 0x0044_ff00);
        assert_eq!((MAIR_EL1_VALUE >> (8 * MAIR_DEVICE_NGNRNE)) & 0xff, 0x00);
        assert_eq!(
            (MAIR_EL1_VALUE >> (8 * MAIR_NORMAL_WRITE_BACK)) & 0xff,
            0xff
        );
        assert_eq!(
            (MAIR_EL1_VALUE >> (8 * MAIR_NORMAL_NON_CACHEABLE)) & 0xff,
            0x44
        );
    }

    #[test]
    fn table_descriptors() {
        let pte = Pte::table(0x4010_1000);
        assert_eq!(pte.0, 0x4010_1003);
        assert_eq!(
            pte.decode(Level::Zero),
            Descriptor::Table { table: 0x4010_1000 }
        );
        assert_eq!(pte.table_address(Level::Two), Some(0x4010_1000));
        // The same bits at level 3 are a page.
        assert!(pte.leaf(Level::Three).is_some());
        assert_eq!(pte.table_address(Level::Three), None);
        // Stray low bits of the table address are dropped.
        assert_eq!(Pte::table(0x4010_1fff).0, 0x4010_1003);
    }

    #[test]
    fn invalid_encodings() {
        for level in [Level::Zero, Level::One, Level::Two, Level::Three] {
            assert_eq!(Pte::INVALID.decode(level), Descriptor::Invalid);
            // Valid bit clear: nothing, whatever else is set.
            assert_eq!(Pte(u64::MAX - 1).decode(level), Descriptor::Invalid);
        }
        // 0b01 is a block at levels 1 and 2 only.
        let block = Pte(0x4020_0000 | 0b01);
        assert_eq!(block.decode(Level::Zero), Descriptor::Invalid);
        assert_eq!(block.decode(Level::Three), Descriptor::Invalid);
        assert!(block.leaf(Level::One).is_some());
        assert!(block.leaf(Level::Two).is_some());
        assert!(!Pte::INVALID.is_valid() && block.is_valid());
    }

    #[test]
    fn leaf_round_trips_at_each_level() {
        for (level, address) in [
            (Level::Three, 0x4000_1000u64),
            (Level::Two, 0x4020_0000),
            (Level::One, 0x4000_0000),
        ] {
            for access in [
                AccessPermissions::KernelReadWrite,
                AccessPermissions::UserReadWrite,
                AccessPermissions::KernelReadOnly,
                AccessPermissions::UserReadOnly,
            ] {
                for shareability in [
                    Shareability::NonShareable,
                    Shareability::OuterShareable,
                    Shareability::InnerShareable,
                ] {
                    for user_execute in [UserExecute::Allowed, UserExecute::Never] {
                        let value = Leaf {
                            access,
                            shareability,
                            user_execute,
                            attr_index: 7,
                            access_flag: false,
                            not_global: false,
                            privileged_execute_never: false,
                            ..leaf(address)
                        };
                        let pte = value.encode(level).expect("leaf level");
                        assert_eq!(pte.decode(level), Descriptor::Leaf(value));
                    }
                }
            }
        }
        assert_eq!(leaf(0).encode(Level::Zero), None);
        // Address bits below the block size are dropped.
        let pte = leaf(0x4020_1000).encode(Level::Two).expect("block");
        assert_eq!(pte.leaf(Level::Two).map(|l| l.address), Some(0x4020_0000));
    }

    /// Entries with every combination of the bits that decide what an entry is, over
    /// a few addresses and attribute patterns.
    fn sample_entries() -> Vec<Pte> {
        let mut entries = Vec::new();
        for address in [
            0u64,
            0x4000_1000,
            0x4020_0000,
            0x4000_0000,
            0x0000_ffff_ffff_f000,
        ] {
            for attributes in [0u64, 0x0060_0000_0000_0f1c, !mask(PADDR_BITS)] {
                for low in 0..4u64 {
                    entries.push(Pte(address | attributes | low));
                }
            }
        }
        entries
    }

    #[test]
    fn quick_accessors_agree_with_decode() {
        for pte in sample_entries() {
            for level in [Level::Zero, Level::One, Level::Two, Level::Three] {
                let (table, leaf) = match pte.decode(level) {
                    Descriptor::Table { table } => (Some(table), None),
                    Descriptor::Leaf(leaf) => (None, Some(leaf.address)),
                    Descriptor::Invalid => (None, None),
                };
                assert_eq!(pte.table_address(level), table, "{pte:x?} at {level:?}");
                assert_eq!(pte.leaf_address(level), leaf, "{pte:x?} at {level:?}");
            }
        }
        // Spot checks of the agreed meaning.
        assert_eq!(
            Pte(0x4000_1003).table_address(Level::Two),
            Some(0x4000_1000)
        );
        assert_eq!(Pte(0x4000_1003).table_address(Level::Three), None);
        assert_eq!(
            Pte(0x4000_1003).leaf_address(Level::Three),
            Some(0x4000_1000)
        );
        assert_eq!(Pte(0x4020_1001).leaf_address(Level::Two), Some(0x4020_0000));
        assert_eq!(Pte(0x4020_1001).leaf_address(Level::Zero), None);
        assert_eq!(Pte(0x4020_1002).leaf_address(Level::Three), None);
    }

    #[test]
    fn user_page_bits() {
        let rw_cached = make_user_page_pte(
            0x4000_5000,
            FrameSize::Small,
            VmRights::ReadWrite,
            VmAttributes::default_attributes(),
        );
        // valid|page, AttrIndx 1, AP 01, SH 11, AF, nG, PXN; UXN clear.
        assert_eq!(
            rw_cached.0,
            0x4000_5000 | 0b11 | 1 << 2 | 0b01 << 6 | 0b11 << 8 | 1 << 10 | 1 << 11 | 1 << 53
        );
        let ro_device_xn = make_user_page_pte(
            0x0900_0000,
            FrameSize::Small,
            VmRights::ReadOnly,
            VmAttributes(VmAttributes::EXECUTE_NEVER),
        );
        let fields = ro_device_xn.leaf(Level::Three).expect("page");
        assert_eq!(fields.attr_index, MAIR_DEVICE_NGNRNE);
        assert_eq!(fields.shareability, Shareability::NonShareable);
        assert_eq!(fields.access, AccessPermissions::UserReadOnly);
        assert_eq!(fields.user_execute, UserExecute::Never);
        assert!(fields.privileged_execute_never && fields.not_global && fields.access_flag);
        let kernel_only = make_user_page_pte(
            0x4000_0000,
            FrameSize::Huge,
            VmRights::KernelOnly,
            VmAttributes::default_attributes(),
        );
        // A level-1 block: type bit clear.
        assert_eq!(kernel_only.0 & 0b11, 0b01);
        let fields = kernel_only.leaf(Level::One).expect("block");
        assert_eq!(fields.access, AccessPermissions::KernelReadWrite);
        assert_eq!(fields.access.vm_rights(), VmRights::KernelOnly);
        let large = make_user_page_pte(
            0x4020_0000,
            FrameSize::Large,
            VmRights::ReadWrite,
            VmAttributes::default_attributes(),
        );
        assert_eq!(large.leaf(Level::Two).map(|l| l.address), Some(0x4020_0000));
        assert_eq!(large.leaf(Level::Three), None);
    }

    #[test]
    fn rights_conversions_match_sel4() {
        for rights in [
            VmRights::KernelOnly,
            VmRights::ReadOnly,
            VmRights::ReadWrite,
        ] {
            assert_eq!(
                AccessPermissions::from_vm_rights(rights).vm_rights(),
                rights
            );
        }
        assert_eq!(
            AccessPermissions::KernelReadOnly.vm_rights(),
            VmRights::KernelOnly
        );
        assert_eq!(
            AccessPermissions::from_vm_rights(VmRights::ReadOnly) as u8,
            3
        );
        assert_eq!(
            AccessPermissions::from_vm_rights(VmRights::ReadWrite) as u8,
            1
        );
    }

    #[test]
    fn lookup_stops_at_the_first_missing_table() {
        let mut memory = MapPhysMemory::default();
        let vaddr = 0x0000_0040_1234_5000;
        // Empty VSpace: the level-0 entry, 39 bits left.
        let slot = lookup_pt_slot(&memory, VSPACE, vaddr);
        assert_eq!(slot.level, Level::Zero);
        assert_eq!(slot.bits_left(), 39);
        assert_eq!(slot.entry, VSPACE + Level::Zero.index(vaddr) * 8);
        tables_for(&mut memory, vaddr);
        let slot = lookup_pt_slot(&memory, VSPACE, vaddr);
        assert_eq!(
            slot,
            PtSlot {
                entry: L3_TABLE + Level::Three.index(vaddr) * 8,
                level: Level::Three
            }
        );
        // A neighbouring 1 GiB region has only the level-0 table in common.
        let other = vaddr ^ (1 << 30);
        assert_eq!(lookup_pt_slot(&memory, VSPACE, other).level, Level::One);
        // A block at level 2 ends the walk there.
        let block_vaddr = vaddr ^ (1 << 21);
        let slot = lookup_pt_slot(&memory, VSPACE, block_vaddr);
        assert_eq!(slot.level, Level::Two);
        let block = make_user_page_pte(
            0x4040_0000,
            FrameSize::Large,
            VmRights::ReadWrite,
            VmAttributes::default_attributes(),
        );
        memory.write_u64(slot.entry, block.0);
        assert_eq!(lookup_pt_slot(&memory, VSPACE, block_vaddr), slot);
        assert_eq!(
            find_page_slot(&memory, VSPACE, block_vaddr, FrameSize::Large, 0x4040_0000),
            Some(slot)
        );
    }

    #[test]
    fn finding_mapped_pages() {
        let mut memory = MapPhysMemory::default();
        let vaddr = 0x1000_0000;
        tables_for(&mut memory, vaddr);
        let slot = lookup_pt_slot(&memory, VSPACE, vaddr);
        assert_eq!(
            find_page_slot(&memory, VSPACE, vaddr, FrameSize::Small, 0x4000_7000),
            None,
            "nothing mapped yet"
        );
        let pte = make_user_page_pte(
            0x4000_7000,
            FrameSize::Small,
            VmRights::ReadWrite,
            VmAttributes::default_attributes(),
        );
        memory.write_u64(slot.entry, pte.0);
        assert_eq!(
            find_page_slot(&memory, VSPACE, vaddr, FrameSize::Small, 0x4000_7000),
            Some(slot)
        );
        // Another frame, or the same frame asked for at another size, is not found.
        assert_eq!(
            find_page_slot(&memory, VSPACE, vaddr, FrameSize::Small, 0x4000_8000),
            None
        );
        assert_eq!(
            find_page_slot(&memory, VSPACE, vaddr, FrameSize::Large, 0x4000_7000),
            None
        );
    }

    #[test]
    fn finding_page_table_links() {
        let mut memory = MapPhysMemory::default();
        let vaddr = 0x2000_0000;
        tables_for(&mut memory, vaddr);
        for (table, level) in [
            (L1_TABLE, Level::Zero),
            (L2_TABLE, Level::One),
            (L3_TABLE, Level::Two),
        ] {
            assert_eq!(
                find_page_table_slot(&memory, VSPACE, vaddr, table),
                Some(PtSlot::in_table(
                    match level {
                        Level::Zero => VSPACE,
                        Level::One => L1_TABLE,
                        _ => L2_TABLE,
                    },
                    level,
                    vaddr
                ))
            );
        }
        // Not linked at this address, not linked anywhere, or the VSpace itself.
        assert_eq!(
            find_page_table_slot(&memory, VSPACE, vaddr ^ (1 << 30), L2_TABLE),
            None
        );
        assert_eq!(
            find_page_table_slot(&memory, VSPACE, vaddr, 0x4050_0000),
            None
        );
        assert_eq!(find_page_table_slot(&memory, VSPACE, vaddr, VSPACE), None);
    }
}
