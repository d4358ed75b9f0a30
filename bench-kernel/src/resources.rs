//! Kernel objects for the benchmarks: the untyped pool and CNode slots found in BootInfo,
//! and a per-benchmark [`Scope`] whose objects and capabilities are all destroyed after it.

use alloc::format;
use alloc::string::String;
use sel4::cap_type::{AsidPool, CNode, Granule, PageTable, Tcb, Untyped, VSpace};
use sel4::syscall::{self, Blocking};
use sel4::{BootInfo, CPtr, Cap, CapRights, Error, MessageInfo, ObjectType, VmAttributes};

pub const ROOT_TCB: CPtr = sel4::init_cap::INIT_THREAD_TCB;
pub const ROOT_CNODE: CPtr = sel4::init_cap::INIT_THREAD_CNODE;
pub const ROOT_VSPACE: CPtr = sel4::init_cap::INIT_THREAD_VSPACE;
pub const ASID_POOL: CPtr = sel4::init_cap::INIT_THREAD_ASID_POOL;
/// Depth that addresses a root-CNode slot by its CPtr (radix 12 + guard 52).
pub const WORD_DEPTH: u64 = 64;
/// The root task and its peer threads run at one priority, as seL4's fastpath requires for
/// both directions of a round trip; the root task yields to let a new peer run first. A
/// peer that spins (on a kernel whose IPC returns at once) only takes its time slices, so
/// the root task's next call still returns.
pub const ROOT_PRIORITY: u64 = 100;
pub const PEER_PRIORITY: u64 = ROOT_PRIORITY;
/// Virtual addresses for scratch mappings (64 GiB up: nothing of the image is there).
pub const SCRATCH_BASE: u64 = 0x10_0000_0000;
/// Bounded polling for a peer's first message: NBRecv, then Yield.
pub const POLL_LIMIT: u32 = 10_000;

/// Each benchmark's own untyped memory, carved from the pool and revoked afterwards.
const SCOPE_UNTYPED_BITS: u64 = 23;
const SLOTS_PER_SCOPE: u64 = 64;
/// Page tables a mapping may need (upper directory, directory, table).
const MAX_TABLE_LEVELS: usize = 3;

/// What BootInfo offers the benchmarks.
pub struct Resources {
    pub bootinfo: &'static BootInfo,
    /// The largest RAM untyped, or why there is none big enough.
    pool: Result<CPtr, String>,
    /// Whether the root task now runs at [`ROOT_PRIORITY`], or the kernel's refusal.
    pub priority: Result<(), String>,
    first_slot: CPtr,
}

impl Resources {
    /// Finds the untyped pool and the slot window, and sets the root task's priority to
    /// the one its peer threads get.
    pub fn new(bootinfo: &'static BootInfo) -> Self {
        let root = Cap::<Tcb>::from_bits(ROOT_TCB);
        let priority = sel(
            root.tcb_set_priority(root, ROOT_PRIORITY),
            "TCBSetPriority of the root task",
        );
        let largest = bootinfo
            .untyped_descs()
            .iter()
            .enumerate()
            .filter(|(_, desc)| desc.is_device == 0)
            .max_by_key(|(_, desc)| desc.size_bits);
        let pool = match largest {
            Some((index, desc)) if u64::from(desc.size_bits) > SCOPE_UNTYPED_BITS => {
                Ok(bootinfo.untyped.start + index as u64)
            }
            Some((_, desc)) => Err(format!(
                "the largest RAM untyped is 2^{} bytes; a benchmark needs 2^{}",
                desc.size_bits, SCOPE_UNTYPED_BITS
            )),
            None => Err(String::from("BootInfo lists no RAM untyped")),
        };
        Self {
            bootinfo,
            pool,
            priority,
            first_slot: bootinfo.empty.start,
        }
    }

    /// A fresh scope: its own untyped and an empty window of slots.
    ///
    /// # Errors
    /// No pool, too few empty slots, or the kernel refuses the retype.
    pub fn scope(&self) -> Result<Scope<'_>, String> {
        let pool = self.pool.clone()?;
        if self.bootinfo.empty.len() < SLOTS_PER_SCOPE {
            return Err(format!("only {} empty slots", self.bootinfo.empty.len()));
        }
        let mut scope = Scope {
            resources: self,
            next_slot: 0,
            untyped: 0,
        };
        let slot = scope.slot()?;
        sel(
            Cap::<Untyped>::from_bits(pool).untyped_retype(
                ObjectType::Untyped,
                SCOPE_UNTYPED_BITS,
                Cap::from_bits(ROOT_CNODE),
                0,
                0,
                slot,
                1,
            ),
            "carve the benchmark's untyped from the pool",
        )?;
        scope.untyped = slot;
        Ok(scope)
    }
}

/// One benchmark's objects; [`Scope::cleanup`] destroys them all.
pub struct Scope<'a> {
    pub resources: &'a Resources,
    next_slot: u64,
    /// This scope's untyped (2^23 bytes).
    pub untyped: CPtr,
}

impl Scope<'_> {
    pub fn bootinfo(&self) -> &'static BootInfo {
        self.resources.bootinfo
    }

    /// Revokes the scope's untyped (destroying every object made from it: threads stop,
    /// mappings go) and empties every slot the scope used (copies of image frames too).
    pub fn cleanup(&mut self) {
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        if self.untyped != 0 {
            let _ = root.cnode_revoke(self.untyped, WORD_DEPTH);
        }
        for offset in 0..self.next_slot {
            let _ = root.cnode_delete(self.resources.first_slot + offset, WORD_DEPTH);
        }
        self.next_slot = 0;
    }

    /// An empty root-CNode slot.
    ///
    /// # Errors
    /// When the scope used its window.
    pub fn slot(&mut self) -> Result<CPtr, String> {
        if self.next_slot >= SLOTS_PER_SCOPE {
            return Err(String::from("the benchmark used up its slots"));
        }
        let slot = self.resources.first_slot + self.next_slot;
        self.next_slot += 1;
        Ok(slot)
    }

    /// `count` empty root-CNode slots past the scope's window (the first is returned),
    /// for objects too many for it. Objects made there from the scope's untyped go when
    /// [`Scope::cleanup`] revokes it; nothing else may be put there.
    ///
    /// # Errors
    /// When BootInfo's empty region is too small.
    pub fn bulk_slots(&self, count: u64) -> Result<CPtr, String> {
        let needed = SLOTS_PER_SCOPE + count;
        let available = self.resources.bootinfo.empty.len();
        if available < needed {
            return Err(format!(
                "{count} slots past the scope's {SLOTS_PER_SCOPE}: BootInfo has only {available} empty"
            ));
        }
        Ok(self.resources.first_slot + SLOTS_PER_SCOPE)
    }

    /// One object of `object_type` made from `untyped`, in a fresh slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn retype_from(
        &mut self,
        untyped: CPtr,
        object_type: ObjectType,
        size_bits: u64,
    ) -> Result<CPtr, String> {
        let slot = self.slot()?;
        sel(
            Cap::<Untyped>::from_bits(untyped).untyped_retype(
                object_type,
                size_bits,
                Cap::from_bits(ROOT_CNODE),
                0,
                0,
                slot,
                1,
            ),
            &format!("retype {object_type:?}"),
        )?;
        Ok(slot)
    }

    /// One object of `object_type` from the scope's untyped.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn retype(&mut self, object_type: ObjectType, size_bits: u64) -> Result<CPtr, String> {
        let untyped = self.untyped;
        self.retype_from(untyped, object_type, size_bits)
    }

    /// A copy of `source` with `badge` in a fresh slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn mint(&mut self, source: CPtr, badge: u64) -> Result<CPtr, String> {
        let slot = self.slot()?;
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        sel(
            root.cnode_mint(
                slot,
                WORD_DEPTH,
                root,
                source,
                WORD_DEPTH,
                CapRights::all(),
                badge,
            ),
            "mint a badged cap",
        )?;
        Ok(slot)
    }

    /// A copy of `source` in a fresh slot (a frame can be mapped once per cap).
    ///
    /// # Errors
    /// The kernel's error.
    pub fn copy(&mut self, source: CPtr) -> Result<CPtr, String> {
        let slot = self.slot()?;
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        sel(
            root.cnode_copy(slot, WORD_DEPTH, root, source, WORD_DEPTH, CapRights::all()),
            "copy a cap",
        )?;
        Ok(slot)
    }

    /// A new VSpace with an ASID from the root task's pool.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn vspace(&mut self) -> Result<CPtr, String> {
        let vspace = self.retype(ObjectType::VSpace, 0)?;
        sel(
            Cap::<AsidPool>::from_bits(ASID_POOL).asid_pool_assign(Cap::from_bits(vspace)),
            "assign the new VSpace an ASID",
        )?;
        Ok(vspace)
    }

    /// Maps `frame` at `address` in `vspace`, making the page tables the kernel reports
    /// missing (FailedLookup) on the way.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn map(
        &mut self,
        frame: CPtr,
        vspace: CPtr,
        address: u64,
        rights: CapRights,
    ) -> Result<(), String> {
        let frame_cap = Cap::<Granule>::from_bits(frame);
        let vspace_cap = Cap::<VSpace>::from_bits(vspace);
        for _ in 0..=MAX_TABLE_LEVELS {
            match frame_cap.frame_map(vspace_cap, address, rights, VmAttributes::default()) {
                Ok(()) => return Ok(()),
                Err(Error::FailedLookup) => {
                    let table = self.retype(ObjectType::PageTable, 0)?;
                    sel(
                        Cap::<PageTable>::from_bits(table).page_table_map(
                            vspace_cap,
                            address,
                            VmAttributes::default(),
                        ),
                        &format!("map a page table for {address:#x}"),
                    )?;
                }
                Err(error) => return Err(format!("map a frame at {address:#x}: {error:?}")),
            }
        }
        Err(format!(
            "map a frame at {address:#x}: still FailedLookup after {MAX_TABLE_LEVELS} page tables"
        ))
    }

    /// A fresh frame mapped read-write at `address` of `vspace`.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn fresh_page(&mut self, vspace: CPtr, address: u64) -> Result<CPtr, String> {
        let frame = self.retype(ObjectType::SmallPage, 0)?;
        self.map(frame, vspace, address, CapRights::read_write())?;
        Ok(frame)
    }
}

/// A message the root task received.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub badge: u64,
    pub info: MessageInfo,
    pub mrs: [u64; 4],
}

/// Polls `source` with NBRecv, yielding between tries, until a message sent through a cap
/// with `badge` arrives.
///
/// # Errors
/// When none arrives within [`POLL_LIMIT`] tries.
pub fn poll(source: CPtr, badge: u64, what: &str) -> Result<Received, String> {
    for _ in 0..POLL_LIMIT {
        if let Some(received) = poll_once(source, badge) {
            return Ok(received);
        }
        syscall::yield_now();
    }
    Err(format!(
        "nothing arrived from {what} (polled {POLL_LIMIT} times)"
    ))
}

/// One NBRecv on `source`: `Some` if a message sent through a cap with `badge` was
/// waiting. Badges are chosen far above any CPtr, because a kernel that refuses the call
/// leaves x0 (the source CPtr) unchanged where the badge would be.
pub fn poll_once(source: CPtr, badge: u64) -> Option<Received> {
    let (received_badge, info, mrs) = syscall::recv(source, Blocking::NonBlocking);
    (received_badge == badge).then_some(Received {
        badge: received_badge,
        info,
        mrs,
    })
}

/// Converts an invocation result into the benchmark's error type.
///
/// # Errors
/// The kernel's error, described with `what`.
pub fn sel<T>(result: sel4::Result<T>, what: &str) -> Result<T, String> {
    result.map_err(|error| format!("{what}: {error:?}"))
}
