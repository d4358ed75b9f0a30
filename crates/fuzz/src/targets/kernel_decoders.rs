//! Target `kernel_decoders`: kernel-core's invocation decoders (untyped, CNode, TCB,
//! VSpace/ASID, IRQ control and handler) on arbitrary invocations of the caps in a small
//! in-memory system, and `Cap::decode` on arbitrary slot words.
//!
//! The input picks an invoked cap from the CSpace, a label (usually one meant for that
//! cap type), message words (usually cptrs, depths, object types, sizes, addresses and IRQ
//! numbers of the model) and extra caps, so most invocations are well-formed-ish.
//!
//! The decoders receive the memory by shared reference, so "decode mutates nothing" is
//! the type system's guarantee; what the target checks is what the kernel relies on when
//! it performs a decoded invocation without further checks:
//! - the decoders only read slots inside CNodes and TCBs, and translation-table words
//!   inside tables, of the model (anything else would be the kernel reading arbitrary
//!   physical memory);
//! - destinations are empty, sources hold caps, IRQs are in range and free, retyped
//!   objects lie inside the untyped above its watermark, mappings are aligned and below
//!   `USER_TOP` with their entry inside a translation table, ASIDs fall in their pool;
//! - performing the derivation-tree part of the result (`insert_child`, `move_cap`,
//!   `rotate`, `commit_retype`) leaves a consistent derivation list.
//!
//! `Cap::decode` must be total and canonical: re-encoding a decoded cap decodes to it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use kernel_core::cdt::{insert_child, insert_new_object, move_cap, rotate};
use kernel_core::decode::{
    commit_retype, decode_cnode_invocation, decode_irq_control_invocation,
    decode_irq_handler_invocation, decode_tcb_invocation, decode_untyped_invocation,
    decode_vspace_invocation, AsidTable, CNodeInvocation, IrqInvocation, IrqState, TcbInvocation,
    TcbView, VSpaceInvocation, ASID_POOL_ENTRIES, MAX_IRQ,
};
use kernel_core::page_table::{make_user_page_pte, Level, PtSlot, Pte};
use kernel_core::{
    Cap, CapRef, FrameSize, Mapping, MdbNode, PhysMemory, Slot, SlotAddr, SlotMemory, VmRights,
};
use sel4::{InvocationLabel, USER_CONTEXT_WORDS, USER_TOP};

use super::Target;
use crate::rng::Rng;
use crate::source::Source;

pub const TARGET: Target = Target {
    name: "kernel_decoders",
    run,
    seeds,
    generate,
    max_length: 1024,
};

const ROOT_CNODE: u64 = 0x4100_0000;
const ROOT_RADIX: u8 = 5;
const ROOT_GUARD_SIZE: u8 = 56;
const SECOND_CNODE: u64 = 0x4100_1000;
const SECOND_RADIX: u8 = 3;
/// Root slot holding the second CNode: its slots are `(10 << 3) | index` at depth 64.
const SECOND_SLOT: u64 = 10;
const CURRENT_TCB: u64 = 0x4200_0000;
const OTHER_TCB: u64 = 0x4200_0800;
/// Slots a TCB object holds (CTable, VTable, reply, caller, IPC buffer).
const TCB_SLOTS: u64 = 5;
const VSPACE: u64 = 0x4300_0000;
const L1_TABLE: u64 = 0x4300_1000;
const L2_TABLE: u64 = 0x4300_2000;
const L3_TABLE: u64 = 0x4300_3000;
const NEW_TABLE: u64 = 0x4300_4000;
const SPARE_VSPACE: u64 = 0x4300_8000;
const POOL: u64 = 0x4400_0000;
const ASID: u16 = 1;
const FRAME: u64 = 0x4500_0000;
const SPARE_FRAME: u64 = 0x4500_1000;
const LARGE_FRAME: u64 = 0x4560_0000;
const DEVICE_FRAME: u64 = 0x0a00_0000;
const VADDR: u64 = 0x40_0000;
const UNTYPED: u64 = 0x4800_0000;
const UNTYPED_BITS: u8 = 16;
const SMALL_UNTYPED: u64 = 0x4900_0000;
const DEVICE_UNTYPED: u64 = 0x0900_0000;
const ENDPOINT: u64 = 0x4a00_0000;
const NOTIFICATION: u64 = 0x4a00_0100;
const BOUND_NOTIFICATION: u64 = 0x4a00_0200;
const ACTIVE_IRQS: [u64; 3] = [27, 30, 33];

fn run(input: &[u8]) {
    let mut source = Source::new(input);
    if source.byte() % 16 == 15 {
        cap_words(&mut source);
    } else {
        // Which decoder ran only matters to the generator's test below.
        let _ = invocation(&mut source);
    }
}

/// `Cap::decode` is total and a decoded cap re-encodes to itself.
fn cap_words(source: &mut Source<'_>) {
    let words = [source.raw_u64(), source.raw_u64()];
    let cap = Cap::decode(words);
    assert_eq!(
        Cap::decode(cap.encode()),
        cap,
        "decode is not canonical for {words:#x?}"
    );
}

fn seeds(_root: &Path) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x4e51);
    (0..64).map(|_| generate(&mut rng)).collect()
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let length = rng.pick(&[16, 64, 256, 512]);
    let mut input = rng.bytes(length);
    // Mostly invocations, not raw cap words.
    if input[0] % 16 == 15 && !rng.one_in(8) {
        input[0] = 0;
    }
    input
}

// ---------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------

/// Slots of the model's CNodes and TCBs; reading or writing anywhere else fails.
#[derive(Clone, Debug)]
struct Slots {
    /// (first slot address, slot count) of every object holding slots.
    regions: Vec<(u64, u64)>,
    slots: BTreeMap<u64, Slot>,
}

impl Slots {
    fn contains(&self, slot: SlotAddr) -> bool {
        self.regions
            .iter()
            .any(|&(base, count)| slot.addr() >= base && slot.addr() < base + count * 32)
    }
}

impl SlotMemory for Slots {
    fn read(&self, slot: SlotAddr) -> Slot {
        assert!(
            self.contains(slot),
            "read of {:#x}, which is no slot",
            slot.addr()
        );
        self.slots.get(&slot.addr()).copied().unwrap_or(Slot::EMPTY)
    }

    fn write(&mut self, slot: SlotAddr, value: Slot) {
        assert!(
            self.contains(slot),
            "write of {:#x}, which is no slot",
            slot.addr()
        );
        self.slots.insert(slot.addr(), value);
    }
}

/// Translation tables of the model; reading outside a table fails.
#[derive(Debug)]
struct Tables {
    tables: BTreeSet<u64>,
    words: BTreeMap<u64, u64>,
}

impl Tables {
    fn contains(&self, paddr: u64) -> bool {
        self.tables.contains(&(paddr & !0xfff))
    }
}

impl PhysMemory for Tables {
    fn read_u64(&self, paddr: u64) -> u64 {
        assert!(
            paddr.is_multiple_of(8) && self.contains(paddr),
            "table read at {paddr:#x}"
        );
        self.words.get(&paddr).copied().unwrap_or(0)
    }

    fn write_u64(&mut self, paddr: u64, value: u64) {
        assert!(
            paddr.is_multiple_of(8) && self.contains(paddr),
            "table write at {paddr:#x}"
        );
        self.words.insert(paddr, value);
    }
}

#[derive(Debug)]
struct Asids {
    pools: BTreeMap<u64, u64>,
    entries: BTreeMap<(u64, u64), u64>,
}

impl AsidTable for Asids {
    fn pool(&self, pool_index: u64) -> Option<u64> {
        self.pools.get(&pool_index).copied()
    }

    fn pool_entry(&self, pool: u64, index: u64) -> Option<u64> {
        assert!(
            self.pools.values().any(|known| *known == pool),
            "entry of {pool:#x}, which is no pool"
        );
        assert!(index < ASID_POOL_ENTRIES, "pool index {index}");
        self.entries.get(&(pool, index)).copied()
    }
}

#[derive(Debug)]
struct Threads;

impl Threads {
    fn known(tcb: u64) {
        assert!(tcb == CURRENT_TCB || tcb == OTHER_TCB, "{tcb:#x} is no TCB");
    }

    fn known_notification(notification: u64) {
        assert!(
            [NOTIFICATION, BOUND_NOTIFICATION].contains(&notification),
            "{notification:#x} is no notification"
        );
    }
}

impl TcbView for Threads {
    fn current_thread(&self) -> u64 {
        CURRENT_TCB
    }

    fn mcp(&self, tcb: u64) -> u64 {
        Threads::known(tcb);
        if tcb == CURRENT_TCB {
            255
        } else {
            100
        }
    }

    fn bound_notification(&self, tcb: u64) -> Option<u64> {
        Threads::known(tcb);
        (tcb == OTHER_TCB).then_some(BOUND_NOTIFICATION)
    }

    fn flags(&self, tcb: u64) -> u64 {
        Threads::known(tcb);
        0
    }

    fn cspace_root_slot(&self, tcb: u64) -> SlotAddr {
        Threads::known(tcb);
        SlotAddr::new(tcb).expect("TCBs are slot-aligned")
    }

    fn vspace_root_slot(&self, tcb: u64) -> SlotAddr {
        Threads::known(tcb);
        SlotAddr::new(tcb + 32).expect("TCBs are slot-aligned")
    }

    fn notification_has_waiters(&self, notification: u64) -> bool {
        Threads::known_notification(notification);
        false
    }

    fn notification_bound_tcb(&self, notification: u64) -> Option<u64> {
        Threads::known_notification(notification);
        (notification == BOUND_NOTIFICATION).then_some(OTHER_TCB)
    }
}

#[derive(Debug)]
struct Irqs;

impl IrqState for Irqs {
    fn is_active(&self, irq: u64) -> bool {
        assert!(irq <= MAX_IRQ, "IRQ state asked for IRQ {irq}");
        ACTIVE_IRQS.contains(&irq)
    }
}

struct World {
    slots: Slots,
    tables: Tables,
    asids: Asids,
    /// Every CSpace slot, in cptr order (root CNode, then the second CNode).
    cspace: Vec<SlotAddr>,
}

fn slot_at(address: u64) -> SlotAddr {
    SlotAddr::new(address).expect("model slot addresses are valid")
}

fn root_slot(index: u64) -> SlotAddr {
    slot_at(ROOT_CNODE + index * 32)
}

fn frame(paddr: u64, size: FrameSize, is_device: bool, mapping: Option<Mapping>) -> Cap {
    Cap::Frame {
        paddr,
        size,
        rights: VmRights::ReadWrite,
        is_device,
        mapping,
    }
}

fn root_cnode_cap() -> Cap {
    Cap::CNode {
        ptr: ROOT_CNODE,
        radix: ROOT_RADIX,
        guard_size: ROOT_GUARD_SIZE,
        guard: 0,
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build_world)
}

fn build_world() -> World {
    let mut slots = Slots {
        regions: vec![
            (ROOT_CNODE, 1 << ROOT_RADIX),
            (SECOND_CNODE, 1 << SECOND_RADIX),
            (CURRENT_TCB, TCB_SLOTS),
            (OTHER_TCB, TCB_SLOTS),
        ],
        slots: BTreeMap::new(),
    };
    let original = MdbNode::EMPTY.with_revocable(true).with_first_badged(true);
    let endpoint = Cap::Endpoint {
        ptr: ENDPOINT,
        badge: 0,
        can_send: true,
        can_receive: true,
        can_grant: true,
        can_grant_reply: true,
    };
    let vspace = Cap::VSpace {
        ptr: VSPACE,
        asid: Some(ASID),
    };
    let originals: [(u64, Cap); 24] = [
        (1, Cap::Thread { ptr: CURRENT_TCB }),
        (2, root_cnode_cap()),
        (3, vspace),
        (4, Cap::AsidControl),
        (
            5,
            Cap::AsidPool {
                ptr: POOL,
                asid_base: 0,
            },
        ),
        (6, Cap::IrqControl),
        (
            7,
            Cap::Untyped {
                paddr: UNTYPED,
                size_bits: UNTYPED_BITS,
                is_device: false,
                free_index: 0,
            },
        ),
        (
            8,
            Cap::Untyped {
                paddr: SMALL_UNTYPED,
                size_bits: 12,
                is_device: false,
                free_index: 0,
            },
        ),
        (
            9,
            frame(
                FRAME,
                FrameSize::Small,
                false,
                Some(Mapping {
                    asid: ASID,
                    vaddr: VADDR,
                }),
            ),
        ),
        (
            SECOND_SLOT,
            Cap::CNode {
                ptr: SECOND_CNODE,
                radix: SECOND_RADIX,
                guard_size: 0,
                guard: 0,
            },
        ),
        (11, Cap::Thread { ptr: OTHER_TCB }),
        (12, endpoint),
        (
            13,
            Cap::Notification {
                ptr: NOTIFICATION,
                badge: 0,
                can_send: true,
                can_receive: true,
            },
        ),
        (
            14,
            Cap::PageTable {
                ptr: NEW_TABLE,
                mapping: None,
            },
        ),
        (
            15,
            Cap::PageTable {
                ptr: L3_TABLE,
                mapping: Some(Mapping {
                    asid: ASID,
                    vaddr: VADDR,
                }),
            },
        ),
        (16, frame(SPARE_FRAME, FrameSize::Small, false, None)),
        (17, Cap::IrqHandler { irq: 33 }),
        (
            18,
            Cap::VSpace {
                ptr: SPARE_VSPACE,
                asid: None,
            },
        ),
        (
            19,
            Cap::Untyped {
                paddr: DEVICE_UNTYPED,
                size_bits: 12,
                is_device: true,
                free_index: 0,
            },
        ),
        (
            20,
            Cap::Reply {
                tcb: CURRENT_TCB,
                is_master: false,
                can_grant: true,
            },
        ),
        (22, Cap::Domain),
        (23, frame(LARGE_FRAME, FrameSize::Large, false, None)),
        (
            24,
            Cap::Notification {
                ptr: BOUND_NOTIFICATION,
                badge: 0,
                can_send: true,
                can_receive: true,
            },
        ),
        (25, frame(DEVICE_FRAME, FrameSize::Small, true, None)),
    ];
    for (index, cap) in originals {
        slots.write(root_slot(index), Slot::new(&cap, original));
    }
    // Derived caps, linked as the kernel links them.
    insert_new_object(
        &mut slots,
        root_slot(7),
        root_slot(21),
        &frame(UNTYPED, FrameSize::Small, false, None),
    );
    slots.write(
        root_slot(7),
        Slot::new(
            &Cap::Untyped {
                paddr: UNTYPED,
                size_bits: UNTYPED_BITS,
                is_device: false,
                free_index: 0x1000,
            },
            slots.read(root_slot(7)).mdb,
        ),
    );
    let badged = Cap::Endpoint {
        ptr: ENDPOINT,
        badge: 5,
        can_send: true,
        can_receive: true,
        can_grant: false,
        can_grant_reply: true,
    };
    insert_child(
        &mut slots,
        root_slot(12),
        slot_at(SECOND_CNODE + 32),
        &badged,
    );
    insert_child(
        &mut slots,
        root_slot(1),
        slot_at(SECOND_CNODE + 64),
        &Cap::Thread { ptr: CURRENT_TCB },
    );
    insert_child(
        &mut slots,
        root_slot(2),
        slot_at(CURRENT_TCB),
        &root_cnode_cap(),
    );
    insert_child(&mut slots, root_slot(3), slot_at(CURRENT_TCB + 32), &vspace);
    insert_child(
        &mut slots,
        root_slot(2),
        slot_at(OTHER_TCB),
        &root_cnode_cap(),
    );
    check_derivation_list(&slots);

    let mut tables = Tables {
        tables: BTreeSet::from([
            VSPACE,
            L1_TABLE,
            L2_TABLE,
            L3_TABLE,
            NEW_TABLE,
            SPARE_VSPACE,
        ]),
        words: BTreeMap::new(),
    };
    for (table, level, next) in [
        (VSPACE, Level::Zero, L1_TABLE),
        (L1_TABLE, Level::One, L2_TABLE),
        (L2_TABLE, Level::Two, L3_TABLE),
    ] {
        let entry = PtSlot::in_table(table, level, VADDR);
        tables.write_u64(entry.entry, Pte::table(next).0);
    }
    let leaf = PtSlot::in_table(L3_TABLE, Level::Three, VADDR);
    let pte = make_user_page_pte(
        FRAME,
        FrameSize::Small,
        VmRights::ReadWrite,
        sel4::VmAttributes(sel4::VmAttributes::PAGE_CACHEABLE),
    );
    tables.write_u64(leaf.entry, pte.0);

    let asids = Asids {
        pools: BTreeMap::from([(0, POOL)]),
        entries: BTreeMap::from([((POOL, u64::from(ASID)), VSPACE)]),
    };
    let cspace = (0..1 << ROOT_RADIX)
        .map(root_slot)
        .chain((0..1 << SECOND_RADIX).map(|index| slot_at(SECOND_CNODE + index * 32)))
        .collect();
    World {
        slots,
        tables,
        asids,
        cspace,
    }
}

/// The derivation list is doubly linked both ways, empty slots carry no links, and every
/// link leads to a slot holding a cap.
fn check_derivation_list(slots: &Slots) {
    for (address, slot) in &slots.slots {
        if slot.cap().is_null() {
            assert_eq!(
                slot.mdb,
                MdbNode::EMPTY,
                "empty slot {address:#x} has links"
            );
            continue;
        }
        if let Some(next) = slot.mdb.next() {
            let following = slots.read(next);
            assert!(
                !following.cap().is_null(),
                "{address:#x} links to empty {:#x}",
                next.addr()
            );
            assert_eq!(
                following.mdb.prev().map(SlotAddr::addr),
                Some(*address),
                "next/prev of {address:#x}"
            );
        }
        if let Some(prev) = slot.mdb.prev() {
            let preceding = slots.read(prev);
            assert!(
                !preceding.cap().is_null(),
                "{address:#x} links back to empty {:#x}",
                prev.addr()
            );
            assert_eq!(
                preceding.mdb.next().map(SlotAddr::addr),
                Some(*address),
                "prev/next of {address:#x}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Invocations
// ---------------------------------------------------------------------------------

/// Words that mean something in this model.
fn dictionary() -> &'static [u64] {
    static WORDS: OnceLock<Vec<u64>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words: Vec<u64> = (0..1 << ROOT_RADIX).collect();
        words.extend((0..1 << SECOND_RADIX).map(|index| SECOND_SLOT << SECOND_RADIX | index));
        words.extend([0, 1, 5, 8, 56, 61, 64, 65]); // depths
        words.extend(0..=13); // object types, rights, counts
        words.extend([4, 10, 12, 16, 17, 21, 47, 48, 64]); // size bits
        words.extend([256, 257, 1 << 20]);
        words.extend([
            VADDR,
            VADDR + 0x1000,
            0x20_0000,
            0x4000_0000,
            USER_TOP,
            USER_TOP + 1,
        ]);
        words.extend([VADDR + 0x800, 0x1000]);
        words.extend([27, 33, 34, MAX_IRQ, MAX_IRQ + 1]);
        words.extend([USER_CONTEXT_WORDS as u64, USER_CONTEXT_WORDS as u64 + 1]);
        words.extend([ROOT_GUARD_SIZE as u64, 1 << 6 | 4, 0xffff_ffff_ffff_ffc0]); // guard data
        words.extend([0x400, 0x7000_0400, 1 << 8, 0b1111]); // IPC buffers, flags
        words
    })
}

/// Labels that fit each kind of cap.
fn labels_for(cap: &Cap) -> &'static [InvocationLabel] {
    use InvocationLabel::*;
    match cap {
        Cap::Untyped { .. } => &[UntypedRetype],
        Cap::CNode { .. } => &[
            CNodeRevoke,
            CNodeDelete,
            CNodeCancelBadgedSends,
            CNodeCopy,
            CNodeMint,
            CNodeMove,
            CNodeMutate,
            CNodeRotate,
            CNodeSaveCaller,
        ],
        Cap::Thread { .. } => &[
            TCBReadRegisters,
            TCBWriteRegisters,
            TCBCopyRegisters,
            TCBConfigure,
            TCBSetPriority,
            TCBSetMCPriority,
            TCBSetSchedParams,
            TCBSetIPCBuffer,
            TCBSetSpace,
            TCBSuspend,
            TCBResume,
            TCBBindNotification,
            TCBUnbindNotification,
            TCBSetTLSBase,
            TCBSetFlags,
        ],
        Cap::Frame { .. } => &[
            ARMPageMap,
            ARMPageUnmap,
            ARMPageCleanData,
            ARMPageInvalidateData,
            ARMPageCleanInvalidateData,
            ARMPageUnifyInstruction,
            ARMPageGetAddress,
        ],
        Cap::PageTable { .. } => &[ARMPageTableMap, ARMPageTableUnmap],
        Cap::VSpace { .. } => &[
            ARMVSpaceCleanData,
            ARMVSpaceInvalidateData,
            ARMVSpaceCleanInvalidateData,
            ARMVSpaceUnifyInstruction,
        ],
        Cap::AsidControl => &[ARMASIDControlMakePool],
        Cap::AsidPool { .. } => &[ARMASIDPoolAssign],
        Cap::IrqControl => &[IRQIssueIRQHandler, ARMIRQIssueIRQHandlerTrigger],
        Cap::IrqHandler { .. } => &[IRQAckIRQ, IRQSetIRQHandler, IRQClearIRQHandler],
        _ => &[],
    }
}

// Plausible values for each message word and extra cap of each method: cptrs resolve at
// the depths given, object types and sizes are valid, addresses aligned. Extra caps are
// CSpace indices (32.. are the second CNode's slots).
const ROOT_DEPTH: u64 = (ROOT_GUARD_SIZE + ROOT_RADIX) as u64;
const CPTRS: &[u64] = &[
    0, 1, 2, 3, 7, 9, 12, 13, 16, 21, 25, 26, 30, 31, 32, 81, 82, 83,
];
const FREE_CPTRS: &[u64] = &[26, 27, 28, 29, 30, 31, 84, 85, 0];
const DEPTHS: &[u64] = &[ROOT_DEPTH, ROOT_DEPTH, 64, 3, 0, 65];
const BADGES: &[u64] = &[0, 5, 0x100, 1 << 63];
const CNODE_ROOTS: &[usize] = &[2, 10, 2, 1];
const THREADS: &[usize] = &[1, 11, 34, 12];
const VSPACES: &[usize] = &[3, 18, 3, 9];
const FRAMES: &[usize] = &[9, 16, 21, 23, 25, 14];
const NOTIFICATIONS: &[usize] = &[13, 24, 12];
const ADDRESSES: &[u64] = &[
    VADDR,
    VADDR + 0x1000,
    VADDR + 0x10_0000,
    0x20_0000,
    0x4000_0000,
    USER_TOP & !0xfff,
    USER_TOP & !0x1f_ffff,
    VADDR + 0x800,
];

/// The message words and extra caps `label` takes, each position's likely values.
fn invocation_shape(
    label: InvocationLabel,
) -> (&'static [&'static [u64]], &'static [&'static [usize]]) {
    use InvocationLabel::*;
    const TYPES: &[u64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13];
    const SIZES: &[u64] = &[0, 4, 5, 10, 12, 16, 17, 64];
    const OFFSETS: &[u64] = &[0, 3, 26, 29, 31, 32];
    const COUNTS: &[u64] = &[1, 2, 3, 6, 0, 257];
    const RIGHTS: &[u64] = &[0, 1, 2, 3, 7, 15];
    const FLAGS: &[u64] = &[0, 1, 2, 3, 15, 0x100];
    const REGISTER_COUNTS: &[u64] = &[0, 1, 2, 36, 37];
    const PRIORITIES: &[u64] = &[0, 100, 101, 255, 256];
    const BUFFERS: &[u64] = &[0, 0x400, 0x7000_0400, 0x401];
    const DATA: &[u64] = &[0, 1 << 6 | 4, ROOT_GUARD_SIZE as u64, 64];
    const IRQS: &[u64] = &[27, 33, 34, 40, MAX_IRQ, MAX_IRQ + 1];
    const ATTRIBUTES: &[u64] = &[0, 1, 3, 4, 7];
    match label {
        UntypedRetype => (
            &[
                TYPES,
                SIZES,
                CPTRS,
                &[0, 0, ROOT_DEPTH, 64],
                OFFSETS,
                COUNTS,
            ],
            &[CNODE_ROOTS],
        ),
        CNodeCopy => (&[FREE_CPTRS, DEPTHS, CPTRS, DEPTHS, RIGHTS], &[CNODE_ROOTS]),
        CNodeMint => (
            &[FREE_CPTRS, DEPTHS, CPTRS, DEPTHS, RIGHTS, BADGES],
            &[CNODE_ROOTS],
        ),
        CNodeMove => (&[FREE_CPTRS, DEPTHS, CPTRS, DEPTHS], &[CNODE_ROOTS]),
        CNodeMutate => (&[FREE_CPTRS, DEPTHS, CPTRS, DEPTHS, DATA], &[CNODE_ROOTS]),
        CNodeRotate => (
            &[
                FREE_CPTRS, DEPTHS, BADGES, CPTRS, DEPTHS, BADGES, CPTRS, DEPTHS,
            ],
            &[CNODE_ROOTS, CNODE_ROOTS],
        ),
        CNodeRevoke | CNodeDelete | CNodeCancelBadgedSends => (&[CPTRS, DEPTHS], &[]),
        CNodeSaveCaller => (&[FREE_CPTRS, DEPTHS], &[]),
        TCBReadRegisters => (&[FLAGS, REGISTER_COUNTS], &[]),
        TCBWriteRegisters => (&[FLAGS, REGISTER_COUNTS, ADDRESSES, ADDRESSES], &[]),
        TCBCopyRegisters => (&[FLAGS], &[THREADS]),
        TCBConfigure => (
            &[CPTRS, DATA, DATA, BUFFERS],
            &[CNODE_ROOTS, VSPACES, FRAMES],
        ),
        TCBSetPriority | TCBSetMCPriority => (&[PRIORITIES], &[THREADS]),
        TCBSetSchedParams => (&[PRIORITIES, PRIORITIES], &[THREADS]),
        TCBSetIPCBuffer => (&[BUFFERS], &[FRAMES]),
        TCBSetSpace => (&[CPTRS, DATA, DATA], &[CNODE_ROOTS, VSPACES]),
        TCBBindNotification => (&[], &[NOTIFICATIONS]),
        TCBSetTLSBase => (&[ADDRESSES], &[]),
        TCBSetFlags => (&[FLAGS, FLAGS], &[]),
        ARMPageMap => (&[ADDRESSES, RIGHTS, ATTRIBUTES], &[VSPACES]),
        ARMPageTableMap => (&[ADDRESSES, ATTRIBUTES], &[VSPACES]),
        ARMPageCleanData
        | ARMPageInvalidateData
        | ARMPageCleanInvalidateData
        | ARMPageUnifyInstruction
        | ARMVSpaceCleanData
        | ARMVSpaceInvalidateData
        | ARMVSpaceCleanInvalidateData
        | ARMVSpaceUnifyInstruction => (&[ADDRESSES, ADDRESSES], &[]),
        ARMASIDControlMakePool => (&[FREE_CPTRS, DEPTHS], &[&[8, 19, 7, 16], CNODE_ROOTS]),
        ARMASIDPoolAssign => (&[], &[VSPACES]),
        IRQIssueIRQHandler => (&[IRQS, FREE_CPTRS, DEPTHS], &[CNODE_ROOTS]),
        ARMIRQIssueIRQHandlerTrigger => (&[IRQS, &[0, 1], FREE_CPTRS, DEPTHS], &[CNODE_ROOTS]),
        IRQSetIRQHandler => (&[], &[NOTIFICATIONS]),
        _ => (&[], &[]),
    }
}

/// Which decoder an invocation went to, and whether it accepted it (`None` for caps
/// without a decoder here).
fn invocation(source: &mut Source<'_>) -> Option<(&'static str, bool)> {
    let world = world();
    let invoked_slot = source.pick(&world.cspace);
    let invoked = CapRef {
        cap: world.slots.read(invoked_slot).cap(),
        slot: invoked_slot,
    };
    let labels = labels_for(&invoked.cap);
    if labels.is_empty() {
        return None;
    }
    let label = if source.one_in(4) {
        source.word(&[0, 49, 50]) % 64
    } else {
        source.pick(labels) as u64
    };
    let (arguments, cap_choices) =
        InvocationLabel::from_label(label).map_or((&[][..], &[][..]), invocation_shape);
    let word_count = match source.byte() % 8 {
        0 => source.below(USER_CONTEXT_WORDS + 4),
        1 => source.below(8),
        _ => arguments.len(),
    };
    let words: Vec<u64> = (0..word_count)
        .map(|index| match arguments.get(index) {
            Some(choices) if !source.one_in(8) => source.pick(choices),
            _ => source.word(dictionary()),
        })
        .collect();
    let cap_count = if source.one_in(4) {
        source.below(4)
    } else {
        cap_choices.len()
    };
    let extra_caps: Vec<CapRef> = (0..cap_count)
        .map(|index| {
            let slot = match cap_choices.get(index) {
                Some(choices) if !source.one_in(4) => world.cspace[source.pick(choices)],
                _ => source.pick(&world.cspace),
            };
            CapRef {
                cap: world.slots.read(slot).cap(),
                slot,
            }
        })
        .collect();
    let caps: Vec<Cap> = extra_caps.iter().map(|reference| reference.cap).collect();
    let slots = &world.slots;
    let outcome = match invoked.cap {
        Cap::Untyped { .. } => (
            "untyped",
            decode_untyped_invocation(slots, invoked.slot, &invoked.cap, label, &words, &caps)
                .map(|retype| check_retype(slots, &retype))
                .is_ok(),
        ),
        Cap::CNode { .. } => (
            "cnode",
            decode_cnode_invocation(slots, &invoked.cap, label, &words, &caps)
                .map(|decoded| check_cnode(slots, &decoded))
                .is_ok(),
        ),
        Cap::Thread { .. } => (
            "tcb",
            decode_tcb_invocation(slots, &Threads, &invoked, label, &words, &extra_caps)
                .map(|decoded| check_tcb(&decoded, words.len()))
                .is_ok(),
        ),
        Cap::IrqControl => (
            "irq_control",
            decode_irq_control_invocation(slots, &Irqs, invoked.slot, label, &words, &extra_caps)
                .map(|decoded| check_irq(slots, &decoded))
                .is_ok(),
        ),
        Cap::IrqHandler { irq } => (
            "irq_handler",
            decode_irq_handler_invocation(irq, label, &extra_caps)
                .map(|decoded| check_irq(slots, &decoded))
                .is_ok(),
        ),
        _ => (
            "vspace",
            decode_vspace_invocation(
                &world.tables,
                slots,
                &world.asids,
                &invoked,
                label,
                &words,
                &extra_caps,
            )
            .map(|decoded| check_vspace(world, &invoked, &decoded))
            .is_ok(),
        ),
    };
    Some(outcome)
}

fn assert_empty(slots: &Slots, slot: SlotAddr, what: &str) {
    assert!(
        slots.read(slot).cap().is_null(),
        "{what} {:#x} is not empty",
        slot.addr()
    );
}

fn check_retype(slots: &Slots, retype: &kernel_core::decode::UntypedRetype) {
    let Cap::Untyped {
        paddr,
        size_bits,
        free_index,
        ..
    } = retype.untyped
    else {
        panic!("a retype of a non-untyped cap");
    };
    let end = paddr + (1 << size_bits);
    let has_children = kernel_core::cdt::has_children(slots, retype.untyped_slot);
    let floor = if has_children {
        paddr + free_index
    } else {
        paddr
    };
    let size = 1_u64 << retype.plan.object_size_bits;
    let mut objects = 0;
    for (index, object) in retype.plan.object_paddrs().enumerate() {
        objects += 1;
        assert_eq!(object % size, 0, "object {index} misaligned");
        assert!(
            object >= floor && object + size <= end,
            "object {index} at {object:#x} outside the free part [{floor:#x}, {end:#x})"
        );
        let destination = retype
            .destination_slot(index as u64)
            .expect("a destination per object");
        assert_empty(slots, destination, "retype destination");
    }
    assert_eq!(objects, retype.plan.count);
    assert!(retype.plan.new_free_index <= 1 << size_bits);
    let mut after = slots.clone();
    commit_retype(&mut after, retype);
    check_derivation_list(&after);
}

fn check_cnode(slots: &Slots, decoded: &CNodeInvocation) {
    let mut after = slots.clone();
    match *decoded {
        CNodeInvocation::Insert {
            cap,
            source,
            destination,
        } => {
            assert!(!cap.is_null(), "inserting a null cap");
            assert!(
                !slots.read(source).cap().is_null(),
                "copy from an empty slot"
            );
            assert_empty(slots, destination, "copy destination");
            insert_child(&mut after, source, destination, &cap);
        }
        CNodeInvocation::Move {
            cap,
            source,
            destination,
        } => {
            assert!(!cap.is_null(), "moving a null cap");
            assert!(
                !slots.read(source).cap().is_null(),
                "move from an empty slot"
            );
            assert_empty(slots, destination, "move destination");
            move_cap(&mut after, source, destination, &cap);
        }
        CNodeInvocation::Rotate {
            source_cap,
            source,
            pivot_cap,
            pivot,
            destination,
        } => {
            assert!(
                pivot != source && pivot != destination,
                "rotate pivot aliases"
            );
            assert!(
                !source_cap.is_null() && !pivot_cap.is_null(),
                "rotating a null cap"
            );
            if destination != source {
                assert_empty(slots, destination, "rotate destination");
            }
            rotate(
                &mut after,
                source,
                &source_cap,
                pivot,
                &pivot_cap,
                destination,
            );
        }
        CNodeInvocation::SaveCaller { slot } => assert_empty(slots, slot, "SaveCaller slot"),
        CNodeInvocation::CancelBadgedSends { endpoint, .. } => assert_eq!(endpoint, ENDPOINT),
        CNodeInvocation::Revoke { .. } | CNodeInvocation::Delete { .. } => {}
    }
    check_derivation_list(&after);
}

fn check_tcb(decoded: &TcbInvocation, word_count: usize) {
    match *decoded {
        TcbInvocation::ReadRegisters { tcb, count, .. } => {
            assert!((1..=USER_CONTEXT_WORDS).contains(&count));
            assert_ne!(tcb, CURRENT_TCB, "reading the caller's registers");
        }
        TcbInvocation::WriteRegisters { tcb, count, .. } => {
            assert!(count <= USER_CONTEXT_WORDS && count + 2 <= word_count);
            assert_ne!(tcb, CURRENT_TCB, "writing the caller's registers");
        }
        TcbInvocation::ThreadControl(control) => {
            if let Some(space) = control.space {
                assert!(matches!(space.cspace_root.cap, Cap::CNode { .. }));
                assert!(matches!(
                    space.vspace_root.cap,
                    Cap::VSpace { asid: Some(_), .. }
                ));
            }
            if let Some(buffer) = control.ipc_buffer {
                match buffer.frame {
                    Some(frame) => {
                        assert!(matches!(
                            frame.cap,
                            Cap::Frame {
                                is_device: false,
                                ..
                            }
                        ));
                        assert_eq!(buffer.address % 1024, 0, "misaligned IPC buffer");
                    }
                    None => assert_eq!(buffer.address, 0),
                }
            }
        }
        TcbInvocation::BindNotification { tcb, notification } => {
            assert_ne!(tcb, OTHER_TCB, "binding a bound thread");
            assert_eq!(notification, NOTIFICATION, "binding a bound notification");
        }
        _ => {}
    }
}

fn check_irq(slots: &Slots, decoded: &IrqInvocation) {
    match *decoded {
        IrqInvocation::IssueHandler {
            irq,
            control_slot,
            destination,
            cap,
            ..
        } => {
            assert!(
                irq <= MAX_IRQ && !ACTIVE_IRQS.contains(&irq),
                "IRQ {irq} issued"
            );
            assert_empty(slots, destination, "IRQ handler destination");
            assert_eq!(cap, Cap::IrqHandler { irq });
            let mut after = slots.clone();
            insert_child(&mut after, control_slot, destination, &cap);
            check_derivation_list(&after);
        }
        IrqInvocation::SetNotification { notification, .. } => {
            assert!(matches!(
                notification.cap,
                Cap::Notification { can_send: true, .. }
            ));
        }
        IrqInvocation::Ack { .. } | IrqInvocation::Clear { .. } => {}
    }
}

fn check_vspace(world: &World, invoked: &CapRef, decoded: &VSpaceInvocation) {
    match *decoded {
        VSpaceInvocation::PageMap {
            entry,
            asid,
            vaddr,
            cap,
            ..
        } => {
            let Cap::Frame { size, .. } = cap else {
                panic!("PageMap stores {cap:?}");
            };
            let bytes = 1_u64 << size.bits();
            assert_eq!(vaddr % bytes, 0, "misaligned mapping at {vaddr:#x}");
            assert!(
                vaddr + bytes - 1 <= USER_TOP,
                "mapping at {vaddr:#x} reaches past USER_TOP"
            );
            assert!(
                entry % 8 == 0 && world.tables.contains(entry),
                "entry {entry:#x}"
            );
            assert_eq!(asid, ASID);
        }
        VSpaceInvocation::PageTableMap {
            entry, pte, cap, ..
        } => {
            assert!(
                entry % 8 == 0 && world.tables.contains(entry),
                "entry {entry:#x}"
            );
            let Cap::PageTable { ptr, mapping } = cap else {
                panic!("PageTableMap stores {cap:?}");
            };
            assert_eq!(pte, Pte::table(ptr));
            let mapping = mapping.expect("a mapped table cap");
            assert!(mapping.vaddr <= USER_TOP);
        }
        VSpaceInvocation::PageGetAddress { paddr } => {
            assert!(matches!(invoked.cap, Cap::Frame { paddr: frame, .. } if frame == paddr));
        }
        VSpaceInvocation::CacheMaintenance { start, end, .. } => {
            assert!(start < end, "empty cache range {start:#x}..{end:#x}");
        }
        VSpaceInvocation::MakePool {
            untyped,
            asid_base,
            destination,
            untyped_slot,
            cap,
            ..
        } => {
            assert!(matches!(
                untyped,
                Cap::Untyped {
                    size_bits: 12,
                    is_device: false,
                    ..
                }
            ));
            assert_eq!(u64::from(asid_base) % ASID_POOL_ENTRIES, 0);
            assert!(world
                .asids
                .pool(u64::from(asid_base) / ASID_POOL_ENTRIES)
                .is_none());
            assert_empty(&world.slots, destination, "pool destination");
            let mut after = world.slots.clone();
            insert_child(&mut after, untyped_slot, destination, &cap);
            check_derivation_list(&after);
        }
        VSpaceInvocation::AssignAsid { asid, pool, .. } => {
            assert_ne!(asid, 0, "ASID 0 assigned");
            assert_eq!(pool, POOL);
            assert!(u64::from(asid) < ASID_POOL_ENTRIES);
            assert!(
                world.asids.pool_entry(pool, u64::from(asid)).is_none(),
                "ASID {asid} reused"
            );
        }
        VSpaceInvocation::PageTableUnmap { .. }
        | VSpaceInvocation::PageUnmap { .. }
        | VSpaceInvocation::NoOp => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in seed is the retype its name says, accepted.
    #[test]
    fn the_retype_seed_is_accepted() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/kernel_decoders/untyped-retype-endpoint.bin");
        let input = std::fs::read(path).expect("the seed is checked in");
        assert_eq!(
            invocation(&mut Source::new(&input[1..])),
            Some(("untyped", true))
        );
    }

    /// The generator must reach every decoder and get past its checks often enough for
    /// the accepted-invocation invariants to be exercised.
    #[test]
    fn generated_invocations_reach_and_pass_every_decoder() {
        let mut rng = Rng::new(11);
        let mut counts: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for _ in 0..20_000 {
            let input = generate(&mut rng);
            let mut source = Source::new(&input[1..]);
            if let Some((decoder, accepted)) = invocation(&mut source) {
                let entry = counts.entry(decoder).or_default();
                entry.0 += 1;
                entry.1 += u32::from(accepted);
            }
        }
        for decoder in [
            "untyped",
            "cnode",
            "tcb",
            "irq_control",
            "irq_handler",
            "vspace",
        ] {
            let (runs, accepted) = counts.get(decoder).copied().unwrap_or_default();
            println!("{decoder}: {accepted} of {runs} accepted");
            assert!(
                runs > 100 && accepted > 0,
                "{decoder}: {accepted} of {runs} accepted"
            );
        }
    }
}
