//! Kernel objects for the process server: one allocator over the CSpace, the untyped pool
//! and the frame table, with free lists so that the objects and slots of exited processes
//! are reused rather than retyped again.
//!
//! Reuse rules: a frame goes back zeroed (its window mapping stays); a page table goes
//! back unmapped (the kernel zeroes it on unmap); a VSpace goes back empty but keeps its
//! ASID; a TCB goes back suspended; a process CNode goes back empty.

use crate::cspace::{CSpace, CopyError, SlotError, SLOT_DEPTH};
use crate::frames::{FrameId, FrameTable};
use crate::free_list::FreeList;
use crate::untyped::UntypedPool;
use alloc::vec::Vec;
use linux_personality::shared_memory::SharedMemory;
use sel4::cap_type::{AsidPool, CNode, Granule, PageTable, Tcb, VSpace};
use sel4::{init_cap, CPtr, Cap, CapRights, ObjectType, VmAttributes};

/// Why an object could not be allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// No slot or no untyped memory left.
    OutOfMemory,
    /// The kernel refused an invocation (a server bug or an unexpected kernel).
    Kernel(sel4::Error),
}

impl From<SlotError> for AllocError {
    fn from(_: SlotError) -> Self {
        AllocError::OutOfMemory
    }
}

impl From<CopyError> for AllocError {
    fn from(error: CopyError) -> Self {
        match error {
            CopyError::Slot(_) => AllocError::OutOfMemory,
            CopyError::Kernel(error) => AllocError::Kernel(error),
        }
    }
}

impl From<sel4::Error> for AllocError {
    fn from(error: sel4::Error) -> Self {
        match error {
            sel4::Error::NotEnoughMemory => AllocError::OutOfMemory,
            other => AllocError::Kernel(other),
        }
    }
}

/// radix of a process's CNode: two slots, the second holding its fault endpoint.
pub const PROCESS_CNODE_RADIX: u64 = 1;

/// Frames retyped at once when the free list is empty.
const FRAME_BATCH: u64 = 64;

/// Untyped memory that frames for processes never take: it stays for the root task's
/// own objects (page tables, CNode leaves for slots, TCBs, VSpaces), so a process that
/// eats all memory runs out first and the server can still kill it and go on.
pub const ROOT_TASK_RESERVE: u64 = 8 << 20;

/// Root-task heap that mapping pages for processes never takes (each mapped page is a
/// map entry on the heap): the rest of the server's work keeps this much.
pub const HEAP_RESERVE: u64 = 4 << 20;

/// Heap bytes one mapped page may cost (its entry in an address space's page map, with
/// the B-tree's slack), for estimates.
pub const HEAP_BYTES_PER_PAGE: u64 = 64;

/// Bytes of CNode one capability slot costs.
const SLOT_BYTES: u64 = 1 << sel4::SLOT_BITS;

/// The allocator.
#[derive(Debug)]
pub struct Objects {
    pub cspace: CSpace,
    pub untyped: UntypedPool,
    pub frames: FrameTable,
    /// Shared memory objects (`MAP_SHARED | MAP_ANONYMOUS`); each holds one reference on
    /// each of its frames.
    pub shared: SharedMemory<FrameId>,
    /// Page tables of the root task's own VSpace (window and heap); never freed.
    own_tables: Vec<CPtr>,
    free_page_tables: FreeList<CPtr>,
    free_vspaces: FreeList<CPtr>,
    free_tcbs: FreeList<CPtr>,
    free_cnodes: FreeList<CPtr>,
    /// Objects retyped by [`Objects::retype_one`], by kind.
    retyped: Retyped,
    /// The ASID pool new VSpaces are assigned from: the initial one, then each pool made
    /// when the previous one filled (512 ASIDs each).
    asid_pool: CPtr,
}

/// Objects retyped so far, by kind (frames are counted by the frame table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Retyped {
    tcbs: u64,
    endpoints: u64,
    notifications: u64,
    vspaces: u64,
    page_tables: u64,
    cnodes: u64,
}

/// The server's kernel objects in use (retyped and not on a free list), for
/// `/proc/meminfo`: with the free lists, a count that does not return to its value after
/// a process exits is a leak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    pub tcbs: u64,
    pub endpoints: u64,
    pub notifications: u64,
    pub vspaces: u64,
    /// Page tables of every level below a VSpace root, except those of the root task's
    /// frame window (`window_page_tables`).
    pub page_tables: u64,
    /// Page tables mapping the root task's frame window: they grow with the frames ever
    /// retyped and are never freed.
    pub window_page_tables: u64,
    /// Process CNodes (the CSpace's leaf CNodes are counted in `cspace_leaves`).
    pub cnodes: u64,
    pub cspace_leaves: u64,
    /// Frames in use, and retyped frames on the free list.
    pub frames: u64,
    pub free_frames: u64,
    /// Objects kept on the free lists for reuse (TCBs, VSpaces, page tables, CNodes).
    pub free_tcbs: u64,
    pub free_vspaces: u64,
    pub free_page_tables: u64,
    pub free_cnodes: u64,
}

impl Objects {
    /// The allocator over a built CSpace.
    pub fn new(cspace: CSpace, untyped: UntypedPool) -> Objects {
        Objects {
            cspace,
            untyped,
            frames: FrameTable::new(),
            shared: SharedMemory::new(),
            own_tables: Vec::new(),
            free_page_tables: FreeList::new(),
            free_vspaces: FreeList::new(),
            free_tcbs: FreeList::new(),
            free_cnodes: FreeList::new(),
            retyped: Retyped::default(),
            asid_pool: init_cap::INIT_THREAD_ASID_POOL,
        }
    }

    /// The kernel objects in use now.
    pub fn counts(&self) -> ObjectCounts {
        let in_use = |retyped: u64, free: usize| retyped.saturating_sub(free as u64);
        let (frames, free_frames) = self.frames.counts();
        ObjectCounts {
            tcbs: in_use(self.retyped.tcbs, self.free_tcbs.len()),
            endpoints: self.retyped.endpoints,
            notifications: self.retyped.notifications,
            vspaces: in_use(self.retyped.vspaces, self.free_vspaces.len()),
            page_tables: in_use(self.retyped.page_tables, self.free_page_tables.len())
                .saturating_sub(self.own_tables.len() as u64),
            window_page_tables: self.own_tables.len() as u64,
            cnodes: in_use(self.retyped.cnodes, self.free_cnodes.len()),
            cspace_leaves: self.cspace.leaves(),
            frames: in_use(frames as u64, free_frames),
            free_frames: free_frames as u64,
            free_tcbs: self.free_tcbs.len() as u64,
            free_vspaces: self.free_vspaces.len() as u64,
            free_page_tables: self.free_page_tables.len() as u64,
            free_cnodes: self.free_cnodes.len() as u64,
        }
    }

    /// The root CNode cap.
    pub fn root(&self) -> Cap<CNode> {
        self.cspace.root()
    }

    /// A new object of `object_type` in a fresh slot.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn retype_one(
        &mut self,
        object_type: ObjectType,
        size_bits: u64,
    ) -> Result<CPtr, AllocError> {
        // Room on the free list it may come back to, before it exists.
        let free_list = match object_type {
            ObjectType::Tcb => Some((&mut self.free_tcbs, self.retyped.tcbs)),
            ObjectType::VSpace => Some((&mut self.free_vspaces, self.retyped.vspaces)),
            ObjectType::PageTable => Some((&mut self.free_page_tables, self.retyped.page_tables)),
            ObjectType::CNode => Some((&mut self.free_cnodes, self.retyped.cnodes)),
            _ => None,
        };
        if let Some((free_list, made)) = free_list {
            let total = usize::try_from(made)
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            free_list
                .reserve_total(total)
                .map_err(|_| AllocError::OutOfMemory)?;
        }
        let slot = self.cspace.allocate(&mut self.untyped)?;
        let root = self.cspace.root();
        if let Err(error) = self.untyped.retype(root, object_type, size_bits, slot, 1) {
            self.cspace.free(slot);
            return Err(error.into());
        }
        let counter = match object_type {
            ObjectType::Tcb => Some(&mut self.retyped.tcbs),
            ObjectType::Endpoint => Some(&mut self.retyped.endpoints),
            ObjectType::Notification => Some(&mut self.retyped.notifications),
            ObjectType::VSpace => Some(&mut self.retyped.vspaces),
            ObjectType::PageTable => Some(&mut self.retyped.page_tables),
            ObjectType::CNode => Some(&mut self.retyped.cnodes),
            _ => None,
        };
        if let Some(counter) = counter {
            *counter += 1;
        }
        Ok(slot)
    }

    /// A zeroed frame, mapped in the root task's window.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn allocate_frame(&mut self) -> Result<FrameId, AllocError> {
        if let Some(frame) = self.frames.take_free() {
            return Ok(frame);
        }
        let free = self.untyped.ram_bytes().free;
        let frame_bytes = crate::frames::FRAME_SIZE as u64;
        if free < ROOT_TASK_RESERVE.saturating_add(frame_bytes) {
            return Err(AllocError::OutOfMemory);
        }
        let batch_fits = free >= ROOT_TASK_RESERVE.saturating_add(FRAME_BATCH * frame_bytes);
        self.frames
            .reserve(FRAME_BATCH as usize)
            .map_err(|_| AllocError::OutOfMemory)?;
        let first = self.cspace.allocate_run(FRAME_BATCH, &mut self.untyped)?;
        let root = self.cspace.root();
        let batch = if batch_fits {
            self.untyped
                .retype(root, ObjectType::SmallPage, 0, first, FRAME_BATCH)
        } else {
            Err(sel4::Error::NotEnoughMemory)
        };
        let count = match batch {
            Ok(()) => FRAME_BATCH,
            Err(_) => {
                // Memory is short: try a single frame.
                self.untyped
                    .retype(root, ObjectType::SmallPage, 0, first, 1)?;
                for slot in first + 1..first + FRAME_BATCH {
                    self.cspace.free(slot);
                }
                1
            }
        };
        for slot in first..first + count {
            let id = self.frames.register(slot);
            let address = FrameTable::window_address(id);
            let mut tables = core::mem::take(&mut self.own_tables);
            let mapped = self.map(
                Cap::from_bits(slot),
                Cap::from_bits(init_cap::INIT_THREAD_VSPACE),
                address,
                CapRights::read_write(),
                VmAttributes(VmAttributes::PAGE_CACHEABLE | VmAttributes::EXECUTE_NEVER),
                &mut tables,
            );
            self.own_tables = tables;
            mapped?;
            self.frames.push_free(id);
        }
        self.frames.take_free().ok_or(AllocError::OutOfMemory)
    }

    /// Whether `pages` more page mappings (a slot and a heap entry each) fit while leaving
    /// the root task its reserves of heap and untyped memory.
    pub fn mappings_fit(&self, pages: u64) -> bool {
        let heap_needed = pages
            .saturating_mul(HEAP_BYTES_PER_PAGE)
            .saturating_add(HEAP_RESERVE);
        if (sel4_root_task::heap::free_bytes() as u64) < heap_needed {
            return false;
        }
        let new_slots = pages.saturating_sub(self.cspace.spare_slots());
        let untyped_needed = new_slots
            .saturating_mul(SLOT_BYTES)
            .saturating_add(ROOT_TASK_RESERVE / 2);
        new_slots == 0 || self.untyped.ram_bytes().free >= untyped_needed
    }

    /// Gives a frame back once nothing maps it (the caller dropped its last reference).
    pub fn free_frame(&mut self, frame: FrameId) {
        self.frames.zero(frame);
        self.frames.push_free(frame);
    }

    /// Maps `frame_cap` into `vspace` at `vaddr`, creating page tables as needed (their
    /// caps are appended to `tables`).
    ///
    /// # Errors
    /// [`AllocError`]; `Kernel(DeleteFirst)` if something is already mapped there.
    pub fn map(
        &mut self,
        frame_cap: Cap<Granule>,
        vspace: Cap<VSpace>,
        vaddr: u64,
        rights: CapRights,
        attributes: VmAttributes,
        tables: &mut Vec<CPtr>,
    ) -> Result<(), AllocError> {
        // At most three missing levels below the VSpace root.
        for _ in 0..4 {
            match frame_cap.frame_map(vspace, vaddr, rights, attributes) {
                Ok(()) => return Ok(()),
                Err(sel4::Error::FailedLookup) => {
                    let table = self.allocate_page_table()?;
                    let page_table: Cap<PageTable> = Cap::from_bits(table);
                    if let Err(error) = page_table.page_table_map(
                        vspace,
                        vaddr,
                        VmAttributes(VmAttributes::PAGE_CACHEABLE),
                    ) {
                        self.free_page_tables.push(table);
                        return Err(error.into());
                    }
                    tables.push(table);
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(AllocError::Kernel(sel4::Error::FailedLookup))
    }

    fn allocate_page_table(&mut self) -> Result<CPtr, AllocError> {
        match self.free_page_tables.pop() {
            Some(table) => Ok(table),
            None => self.retype_one(ObjectType::PageTable, 0),
        }
    }

    /// Unmaps page tables (leaves first, as they were created parents first) for reuse.
    pub fn free_page_tables(&mut self, tables: Vec<CPtr>) {
        for table in tables.into_iter().rev() {
            let page_table: Cap<PageTable> = Cap::from_bits(table);
            match page_table.page_table_unmap() {
                Ok(()) => self.free_page_tables.push(table),
                Err(error) => log::warn!("page table {table:#x} not unmapped: {error:?}"),
            }
        }
    }

    /// An empty VSpace with an ASID.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn allocate_vspace(&mut self) -> Result<CPtr, AllocError> {
        if let Some(vspace) = self.free_vspaces.pop() {
            return Ok(vspace);
        }
        let vspace = self.retype_one(ObjectType::VSpace, 0)?;
        let mut pool: Cap<AsidPool> = Cap::from_bits(self.asid_pool);
        let mut assigned = pool.asid_pool_assign(Cap::from_bits(vspace));
        if assigned == Err(sel4::Error::DeleteFirst) {
            // The pool is full (seL4 answers DeleteFirst; the initial pool holds 511
            // VSpaces, ASID 0 being invalid): make another.
            match self.make_asid_pool() {
                Ok(new_pool) => {
                    self.asid_pool = new_pool;
                    pool = Cap::from_bits(new_pool);
                    assigned = pool.asid_pool_assign(Cap::from_bits(vspace));
                }
                Err(error) => log::warn!("no new ASID pool: {error:?}"),
            }
        }
        if let Err(error) = assigned {
            // Keep the slot's object out of use; it has no ASID.
            let _ = self.cspace.delete(vspace);
            self.retyped.vspaces = self.retyped.vspaces.saturating_sub(1);
            return Err(error.into());
        }
        Ok(vspace)
    }

    /// A new ASID pool (`ASIDControl` MakePool over a fresh 4 KiB untyped).
    fn make_asid_pool(&mut self) -> Result<CPtr, AllocError> {
        let untyped = self.retype_one(ObjectType::Untyped, u64::from(sel4::ASID_POOL_BITS))?;
        let pool = match self.allocate_slot() {
            Ok(slot) => slot,
            Err(error) => {
                let _ = self.cspace.delete(untyped);
                return Err(error);
            }
        };
        let control: Cap<sel4::cap_type::AsidControl> = Cap::from_bits(init_cap::ASID_CONTROL);
        let root = self.cspace.root();
        if let Err(error) =
            control.asid_control_make_pool(Cap::from_bits(untyped), root, pool, SLOT_DEPTH)
        {
            self.cspace.free(pool);
            let _ = self.cspace.delete(untyped);
            return Err(error.into());
        }
        log::debug!("ASID pool {pool:#x} made");
        Ok(pool)
    }

    /// Returns an emptied VSpace (every frame and page table already unmapped).
    pub fn free_vspace(&mut self, vspace: CPtr) {
        self.free_vspaces.push(vspace);
    }

    /// A TCB (suspended, unconfigured or left from a previous thread).
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn allocate_tcb(&mut self) -> Result<CPtr, AllocError> {
        match self.free_tcbs.pop() {
            Some(tcb) => Ok(tcb),
            None => self.retype_one(ObjectType::Tcb, 0),
        }
    }

    /// Suspends a TCB and keeps it for reuse.
    pub fn free_tcb(&mut self, tcb: CPtr) {
        let cap: Cap<Tcb> = Cap::from_bits(tcb);
        match cap.tcb_suspend() {
            Ok(()) => self.free_tcbs.push(tcb),
            Err(error) => log::warn!("TCB {tcb:#x} not suspended: {error:?}"),
        }
    }

    /// An empty two-slot CNode for a process's CSpace.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn allocate_cnode(&mut self) -> Result<CPtr, AllocError> {
        match self.free_cnodes.pop() {
            Some(cnode) => Ok(cnode),
            None => self.retype_one(ObjectType::CNode, PROCESS_CNODE_RADIX),
        }
    }

    /// Empties a process CNode and keeps it for reuse.
    pub fn free_cnode(&mut self, cnode: CPtr) {
        let cap: Cap<CNode> = Cap::from_bits(cnode);
        let mut emptied = true;
        for slot in 0..1u64 << PROCESS_CNODE_RADIX {
            if let Err(error) = cap.cnode_delete(slot, PROCESS_CNODE_RADIX) {
                log::warn!("process CNode slot not emptied: {error:?}");
                emptied = false;
            }
        }
        if emptied {
            self.free_cnodes.push(cnode);
        }
    }

    /// Copies a cap into a new slot of the root task's CSpace.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn copy_cap(&mut self, source: CPtr, rights: CapRights) -> Result<CPtr, AllocError> {
        Ok(self.cspace.copy(source, rights, &mut self.untyped)?)
    }

    /// Deletes a cap and frees its slot (logging a kernel refusal, which would be a bug).
    pub fn delete_cap(&mut self, slot: CPtr) {
        if let Err(error) = self.cspace.delete(slot) {
            log::warn!("cap {slot:#x} not deleted: {error:?}");
        }
    }

    /// One free slot.
    ///
    /// # Errors
    /// [`AllocError::OutOfMemory`].
    pub fn allocate_slot(&mut self) -> Result<CPtr, AllocError> {
        Ok(self.cspace.allocate(&mut self.untyped)?)
    }

    /// Depth for a full cptr in (root, index, depth) arguments.
    pub const fn slot_depth() -> u64 {
        SLOT_DEPTH
    }
}
