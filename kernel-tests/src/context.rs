//! The test environment (resources found in BootInfo) and the per-test context: slot and
//! untyped allocation, object creation, scratch mappings, polling, and assertion helpers.

use crate::child;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sel4::cap_type::{AsidPool, CNode, Granule, PageTable, Tcb, Untyped, VSpace};
use sel4::syscall::{self, Blocking};
use sel4::{
    BootInfo, CPtr, Cap, CapRights, Error, InvocationLabel, MessageInfo, ObjectType, Reply,
    UserContext, VmAttributes, MSG_REGISTER_COUNT,
};

pub const ROOT_TCB: CPtr = sel4::init_cap::INIT_THREAD_TCB;
pub const ROOT_CNODE: CPtr = sel4::init_cap::INIT_THREAD_CNODE;
pub const ROOT_VSPACE: CPtr = sel4::init_cap::INIT_THREAD_VSPACE;
pub const IRQ_CONTROL: CPtr = sel4::init_cap::IRQ_CONTROL;
pub const ASID_CONTROL: CPtr = sel4::init_cap::ASID_CONTROL;
pub const ASID_POOL: CPtr = sel4::init_cap::INIT_THREAD_ASID_POOL;
pub const DOMAIN: CPtr = sel4::init_cap::DOMAIN;
/// Depth that addresses a root-CNode slot by its CPtr (radix 12 + guard 52).
pub const WORD_DEPTH: u64 = 64;
/// The root task runs below the maximum so that tests can place threads above it.
pub const ROOT_PRIORITY: u64 = 200;
/// Virtual addresses the runner maps page tables for once, for per-test 4 KiB mappings in
/// the root task's own VSpace (64 GiB: PUD entry 64, which the image never uses).
pub const SCRATCH_BASE: u64 = 0x10_0000_0000;
/// How many times the root task polls (NBRecv, then Yield) before giving up on a peer.
pub const POLL_LIMIT: u32 = 20_000;

const SLOTS_PER_TEST: u64 = 32;
const RESERVED_SLOTS: u64 = 8;
const TEST_UNTYPED_BITS: u64 = 22;
const SCRATCH_PAGES: u64 = 512;
const SCRATCH_PAGES_PER_TEST: u64 = 8;

/// What the runner found at boot and set up once for all tests.
pub struct Env {
    pub bootinfo: &'static BootInfo,
    pool: CPtr,
    /// A device untyped of at least 4 KiB (its CPtr and size bits), if BootInfo lists one.
    pub device_untyped: Option<(CPtr, u8)>,
    window_base: u64,
    window_count: u64,
    scratch: Result<(), String>,
}

impl Env {
    /// Finds the untyped pool and slot windows and maps the scratch page tables.
    ///
    /// # Errors
    /// When BootInfo offers no usable untyped memory or too few empty slots.
    pub fn new(bootinfo: &'static BootInfo) -> Result<Self, String> {
        // Run below the maximum priority; if the kernel refuses, tests that depend on it
        // fail on their own.
        let _ = Cap::<Tcb>::from_bits(ROOT_TCB)
            .tcb_set_priority(Cap::from_bits(ROOT_TCB), ROOT_PRIORITY);
        let descs = bootinfo.untyped_descs();
        let cptr_of = |index: usize| bootinfo.untyped.start + index as u64;
        let mut ram: Vec<(usize, u8)> = descs
            .iter()
            .enumerate()
            .filter(|(_, desc)| desc.is_device == 0)
            .map(|(index, desc)| (index, desc.size_bits))
            .collect();
        ram.sort_by_key(|entry| core::cmp::Reverse(entry.1));
        let (pool_index, pool_bits) = *ram.first().ok_or("no RAM untyped in BootInfo")?;
        if u64::from(pool_bits) < TEST_UNTYPED_BITS {
            return Err(format!("largest RAM untyped is only 2^{pool_bits} bytes"));
        }
        let aux = ram
            .iter()
            .skip(1)
            .find(|(_, bits)| *bits >= 14)
            .map(|(i, _)| cptr_of(*i));
        let device_untyped = descs
            .iter()
            .enumerate()
            .filter(|(_, desc)| desc.is_device != 0 && desc.size_bits >= 12)
            .min_by_key(|(_, desc)| desc.size_bits)
            .map(|(index, desc)| (cptr_of(index), desc.size_bits));
        let window_base = bootinfo.empty.start + RESERVED_SLOTS;
        let window_count = bootinfo.empty.end.saturating_sub(window_base) / SLOTS_PER_TEST;
        if window_count < 4 {
            return Err(format!("only {} empty slots", bootinfo.empty.len()));
        }
        let scratch = match aux {
            Some(aux) => map_scratch_tables(aux, bootinfo.empty.start),
            None => Err(String::from(
                "no second RAM untyped for scratch page tables",
            )),
        };
        Ok(Self {
            bootinfo,
            pool: cptr_of(pool_index),
            device_untyped,
            window_base,
            window_count,
            scratch,
        })
    }
}

/// Maps the two page tables (a PD then a PT) that cover the scratch region.
fn map_scratch_tables(aux: CPtr, first_slot: CPtr) -> Result<(), String> {
    let untyped = Cap::<Untyped>::from_bits(aux);
    for (offset, what) in [(0u64, "scratch PD"), (1, "scratch PT")] {
        sel(
            untyped.untyped_retype(
                ObjectType::PageTable,
                0,
                Cap::from_bits(ROOT_CNODE),
                0,
                0,
                first_slot + offset,
                1,
            ),
            what,
        )?;
        sel(
            Cap::<PageTable>::from_bits(first_slot + offset).page_table_map(
                Cap::from_bits(ROOT_VSPACE),
                SCRATCH_BASE,
                VmAttributes::default(),
            ),
            what,
        )?;
    }
    Ok(())
}

/// One test's resources; everything it allocates is reclaimed by [`Ctx::cleanup`].
pub struct Ctx<'a> {
    pub env: &'a Env,
    pub index: usize,
    window_start: u64,
    slot_next: u64,
    /// The test's own untyped (2^22 bytes), a child of the pool.
    pub untyped: CPtr,
    stacks_used: usize,
    scratch_used: u64,
    revoke_after: Vec<CPtr>,
}

impl<'a> Ctx<'a> {
    /// A context for test number `index`.
    pub fn new(env: &'a Env, index: usize) -> Self {
        let window = index as u64 % env.window_count;
        let window_start = env.window_base + window * SLOTS_PER_TEST;
        Self {
            env,
            index,
            window_start,
            slot_next: window_start,
            untyped: 0,
            stacks_used: 0,
            scratch_used: 0,
            revoke_after: Vec::new(),
        }
    }

    /// Clears shared results and carves the test's untyped from the pool.
    ///
    /// # Errors
    /// When the kernel cannot retype the pool.
    pub fn setup(&mut self) -> Result<(), String> {
        child::reset_shared();
        self.untyped = self.alloc_slot()?;
        sel(
            Cap::<Untyped>::from_bits(self.env.pool).untyped_retype(
                ObjectType::Untyped,
                TEST_UNTYPED_BITS,
                Cap::from_bits(ROOT_CNODE),
                0,
                0,
                self.untyped,
                1,
            ),
            "retype the test's untyped from the pool",
        )
    }

    /// Destroys everything the test made: revoking its untyped deletes every object and
    /// every capability derived from them (threads stop, mappings go).
    pub fn cleanup(&mut self) {
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        if self.untyped != 0 {
            let _ = root.cnode_revoke(self.untyped, WORD_DEPTH);
        }
        for slot in self.window_start..self.slot_next {
            let _ = root.cnode_delete(slot, WORD_DEPTH);
        }
        for cptr in self.revoke_after.drain(..) {
            let _ = root.cnode_revoke(cptr, WORD_DEPTH);
        }
    }

    /// Revokes `cptr` (a cap outside the test's untyped, e.g. a device untyped) at cleanup.
    pub fn revoke_at_cleanup(&mut self, cptr: CPtr) {
        self.revoke_after.push(cptr);
    }

    /// An empty slot of the root CNode from the test's window.
    ///
    /// # Errors
    /// When the window is used up.
    pub fn alloc_slot(&mut self) -> Result<CPtr, String> {
        if self.slot_next >= self.window_start + SLOTS_PER_TEST {
            return Err(String::from("test used up its slot window"));
        }
        let slot = self.slot_next;
        self.slot_next += 1;
        Ok(slot)
    }

    /// One object of `object_type` from the test's untyped, in a fresh slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn retype(&mut self, object_type: ObjectType, size_bits: u64) -> Result<CPtr, String> {
        let untyped = self.untyped;
        self.retype_from(untyped, object_type, size_bits)
    }

    /// One object of `object_type` from `untyped`, in a fresh slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn retype_from(
        &mut self,
        untyped: CPtr,
        object_type: ObjectType,
        size_bits: u64,
    ) -> Result<CPtr, String> {
        let slot = self.alloc_slot()?;
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

    pub fn endpoint(&mut self) -> Result<CPtr, String> {
        self.retype(ObjectType::Endpoint, 0)
    }

    pub fn notification(&mut self) -> Result<CPtr, String> {
        self.retype(ObjectType::Notification, 0)
    }

    pub fn frame(&mut self) -> Result<CPtr, String> {
        self.retype(ObjectType::SmallPage, 0)
    }

    /// A fresh VSpace assigned an ASID from the root task's pool.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn assigned_vspace(&mut self) -> Result<CPtr, String> {
        let vspace = self.retype(ObjectType::VSpace, 0)?;
        sel(
            Cap::<AsidPool>::from_bits(ASID_POOL).asid_pool_assign(Cap::from_bits(vspace)),
            "assign the new VSpace an ASID",
        )?;
        Ok(vspace)
    }

    /// A copy of `source` with `rights` in a fresh slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn copy(&mut self, source: CPtr, rights: CapRights) -> Result<CPtr, String> {
        let slot = self.alloc_slot()?;
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        sel(
            root.cnode_copy(slot, WORD_DEPTH, root, source, WORD_DEPTH, rights),
            "copy a cap",
        )?;
        Ok(slot)
    }

    /// A copy of `source` with `rights` and `badge` in a fresh slot.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn mint(&mut self, source: CPtr, rights: CapRights, badge: u64) -> Result<CPtr, String> {
        let slot = self.alloc_slot()?;
        let root = Cap::<CNode>::from_bits(ROOT_CNODE);
        sel(
            root.cnode_mint(slot, WORD_DEPTH, root, source, WORD_DEPTH, rights, badge),
            "mint a cap",
        )?;
        Ok(slot)
    }

    /// A scratch virtual address of the root VSpace, distinct per test and per call; its
    /// page tables exist but nothing is mapped there yet.
    ///
    /// # Errors
    /// When the scratch region could not be set up or the test used its share.
    pub fn scratch_address(&mut self) -> Result<u64, String> {
        self.env.scratch.clone()?;
        if self.scratch_used >= SCRATCH_PAGES_PER_TEST {
            return Err(String::from("test used up its scratch pages"));
        }
        let page = (self.index as u64 * SCRATCH_PAGES_PER_TEST + self.scratch_used) % SCRATCH_PAGES;
        self.scratch_used += 1;
        Ok(SCRATCH_BASE + page * 4096)
    }

    /// Maps `frame` (4 KiB) into the root VSpace at a fresh scratch address.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn map_scratch(
        &mut self,
        frame: CPtr,
        rights: CapRights,
        attributes: VmAttributes,
    ) -> Result<u64, String> {
        let address = self.scratch_address()?;
        sel(
            Cap::<Granule>::from_bits(frame).frame_map(
                Cap::<VSpace>::from_bits(ROOT_VSPACE),
                address,
                rights,
                attributes,
            ),
            "map a frame at a scratch address",
        )?;
        Ok(address)
    }

    /// A fresh zeroed frame mapped read-write at a scratch address: (frame cap, address).
    ///
    /// # Errors
    /// The kernel's error.
    pub fn scratch_page(&mut self) -> Result<(CPtr, u64), String> {
        let frame = self.frame()?;
        let address = self.map_scratch(frame, CapRights::read_write(), VmAttributes::default())?;
        Ok((frame, address))
    }

    /// The top of a child stack no other thread of this test uses.
    ///
    /// # Errors
    /// When the test used every static stack.
    pub fn stack_top(&mut self) -> Result<u64, String> {
        let top = child::stack_top(self.stacks_used).ok_or("test used every child stack")?;
        self.stacks_used += 1;
        Ok(top)
    }

    /// Creates, configures and (if asked) starts a thread as `thread` describes.
    ///
    /// # Errors
    /// The kernel's error at any step.
    pub fn spawn(&mut self, thread: &Thread) -> Result<Spawned, String> {
        let tcb = self.retype(ObjectType::Tcb, 0)?;
        let (buffer_address, buffer_frame) = match thread.ipc_buffer {
            Buffer::None => (0, 0),
            Buffer::Fresh => {
                let (frame, address) = self.scratch_page()?;
                (address, frame)
            }
            Buffer::Given { frame, address } => (address, frame),
        };
        let tcb_cap = Cap::<Tcb>::from_bits(tcb);
        sel(
            tcb_cap.tcb_configure(
                thread.fault_ep,
                Cap::from_bits(ROOT_CNODE),
                0,
                Cap::from_bits(thread.vspace),
                buffer_address,
                Cap::from_bits(buffer_frame),
            ),
            "TCBConfigure",
        )?;
        sel(
            tcb_cap.tcb_set_priority(Cap::from_bits(ROOT_TCB), thread.priority),
            "TCBSetPriority",
        )?;
        let sp = match thread.stack {
            StackChoice::Static => self.stack_top()?,
            StackChoice::None => 0,
        };
        let context = UserContext {
            pc: thread.entry,
            sp,
            x0: thread.args[0],
            x1: thread.args[1],
            x2: thread.args[2],
            x3: thread.args[3],
            x4: thread.args[4],
            x5: thread.args[5],
            x6: thread.args[6],
            x7: thread.args[7],
            x19: thread.saved[0],
            x20: thread.saved[1],
            x21: thread.saved[2],
            x22: thread.saved[3],
            x30: thread.link,
            ..UserContext::default()
        };
        sel(
            tcb_cap.tcb_write_registers(thread.start == Start::Now, &context),
            "TCBWriteRegisters",
        )?;
        Ok(Spawned {
            tcb,
            ipc_buffer: buffer_address,
            sp,
        })
    }
}

/// A Rust child's entry: x0..x4 are its arguments, x5 its IPC buffer's address, x6 the
/// (badged) notification it signals when done, x7 an endpoint it parks on.
pub type ChildFn = extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> !;

/// A Rust child thread and the notification it signals when done.
pub struct RustChild {
    pub tcb: CPtr,
    /// Badged (badge 1) send cap the child signals; poll `done_receive` for it.
    pub done_receive: CPtr,
    pub ipc_buffer: u64,
}

impl Ctx<'_> {
    /// Starts `entry` with `args` at `priority`, with an IPC buffer, a done notification
    /// and a park endpoint; `fault_ep` may be 0.
    ///
    /// # Errors
    /// The kernel's error at any step.
    pub fn rust_child(
        &mut self,
        entry: ChildFn,
        args: [u64; 5],
        priority: u64,
        fault_ep: CPtr,
    ) -> Result<RustChild, String> {
        let done = self.notification()?;
        let done_send = self.mint(done, CapRights::all(), 1)?;
        let park = self.endpoint()?;
        let mut thread = Thread::new(entry as usize as u64);
        let (frame, address) = self.scratch_page()?;
        thread.args = [
            args[0], args[1], args[2], args[3], args[4], address, done_send, park,
        ];
        thread.priority = priority;
        thread.fault_ep = fault_ep;
        thread.ipc_buffer = Buffer::Given { frame, address };
        let spawned = self.spawn(&thread)?;
        Ok(RustChild {
            tcb: spawned.tcb,
            done_receive: done,
            ipc_buffer: spawned.ipc_buffer,
        })
    }

    /// An endpoint nobody sends to, for assembly children to park on.
    ///
    /// # Errors
    /// The kernel's error.
    pub fn park_endpoint(&mut self) -> Result<CPtr, String> {
        self.endpoint()
    }
}

/// Waits (polling) until `child` signals done.
///
/// # Errors
/// When it does not within the poll limit.
pub fn wait_done(child: &RustChild) -> Result<(), String> {
    poll(child.done_receive, "the child to signal done").map(drop)
}

/// Whether a spawned thread gets one of the static stacks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StackChoice {
    Static,
    None,
}

/// A spawned thread's IPC buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    None,
    /// A fresh frame mapped at a scratch address.
    Fresh,
    /// This frame, already mapped at `address`.
    Given {
        frame: CPtr,
        address: u64,
    },
}

/// Whether a spawned thread starts at once.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Now,
    Later,
}

/// How to create a test thread: it runs in the root CSpace, by default in the root VSpace.
pub struct Thread {
    pub entry: u64,
    /// x0..x7 at entry.
    pub args: [u64; 8],
    /// x19..x22 at entry (for the assembly children).
    pub saved: [u64; 4],
    pub link: u64,
    pub priority: u64,
    pub fault_ep: CPtr,
    pub vspace: CPtr,
    pub ipc_buffer: Buffer,
    pub stack: StackChoice,
    pub start: Start,
}

impl Thread {
    /// A thread entering at `entry` at the root task's priority, with a stack, no IPC
    /// buffer and no fault handler.
    pub fn new(entry: u64) -> Self {
        Self {
            entry,
            args: [0; 8],
            saved: [0; 4],
            link: 0,
            priority: ROOT_PRIORITY,
            fault_ep: 0,
            vspace: ROOT_VSPACE,
            ipc_buffer: Buffer::None,
            stack: StackChoice::Static,
            start: Start::Now,
        }
    }
}

/// A thread [`Ctx::spawn`] made.
pub struct Spawned {
    pub tcb: CPtr,
    /// Its IPC buffer address (0 without one).
    pub ipc_buffer: u64,
    pub sp: u64,
}

/// A message the root task received.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub badge: u64,
    pub info: MessageInfo,
    pub mrs: [u64; MSG_REGISTER_COUNT],
}

impl Received {
    /// Message register `index` (MR4 and up from the root task's IPC buffer).
    pub fn mr(&self, index: usize) -> u64 {
        if index < MSG_REGISTER_COUNT {
            self.mrs[index]
        } else {
            sel4::with_ipc_buffer(|buffer| buffer.msg.get(index).copied().unwrap_or(0))
        }
    }
}

/// Polls `source` (an endpoint or notification reached through a badged cap, so that a
/// real message has a nonzero badge) with NBRecv, yielding between tries.
///
/// # Errors
/// When nothing arrives within [`POLL_LIMIT`] tries.
pub fn poll(source: CPtr, what: &str) -> Result<Received, String> {
    for _ in 0..POLL_LIMIT {
        let (badge, info, mrs) = syscall::recv(source, Blocking::NonBlocking);
        if badge != 0 {
            return Ok(Received { badge, info, mrs });
        }
        syscall::yield_now();
    }
    Err(format!("timed out waiting for {what}"))
}

/// One NBRecv on `source`: `Some` if something with a nonzero badge was there.
pub fn poll_once(source: CPtr) -> Option<Received> {
    let (badge, info, mrs) = syscall::recv(source, Blocking::NonBlocking);
    (badge != 0).then_some(Received { badge, info, mrs })
}

/// Replies to the root task's current caller with `label` and `mrs`.
pub fn reply_with(label: u64, mrs: &[u64]) {
    let mut registers = [0u64; MSG_REGISTER_COUNT];
    for (index, value) in mrs.iter().enumerate() {
        if index < MSG_REGISTER_COUNT {
            registers[index] = *value;
        } else {
            sel4::with_ipc_buffer(|buffer| {
                if let Some(slot) = buffer.msg.get_mut(index) {
                    *slot = *value;
                }
            });
        }
    }
    syscall::reply(MessageInfo::new(label, 0, 0, mrs.len() as u64), registers);
}

/// Invokes `cap` and returns the reply whatever it says.
pub fn call(cap: CPtr, label: InvocationLabel, mrs: &[u64], caps: &[CPtr]) -> Reply {
    sel4::invoke_raw(cap, label as u64, mrs, caps)
}

/// Converts an invocation result into the test's error type.
///
/// # Errors
/// The kernel's error, described with `what`.
pub fn sel<T>(result: sel4::Result<T>, what: &str) -> Result<T, String> {
    result.map_err(|error| format!("{what}: {error:?}"))
}

/// Checks that `reply` is a success.
///
/// # Errors
/// The error it carries instead.
pub fn expect_ok(reply: Reply, what: &str) -> Result<Reply, String> {
    match reply.error() {
        None if reply.info.label() == 0 => Ok(reply),
        _ => Err(format!(
            "{what}: expected success, got label {} ({:?}) length {} mrs {:?}",
            reply.info.label(),
            reply.error(),
            reply.length(),
            reply.mrs
        )),
    }
}

/// Checks that `reply` is `error` with exactly seL4's number of error MRs and that its
/// first MRs equal `mrs`.
///
/// # Errors
/// A description of the difference.
pub fn expect_error(reply: Reply, error: Error, mrs: &[u64], what: &str) -> Result<(), String> {
    if reply.error() != Some(error) {
        return Err(format!(
            "{what}: expected {error:?}, got label {} ({:?}) mrs {:?}",
            reply.info.label(),
            reply.error(),
            reply.mrs
        ));
    }
    let expected_length = match error {
        Error::InvalidArgument | Error::InvalidCapability | Error::NotEnoughMemory => 1,
        Error::RangeError => 2,
        // MR0 says whether the source failed, then the lookup failure: its type, then 0,
        // 1, 2 or 3 words for InvalidRoot, MissingCapability, DepthMismatch, GuardMismatch.
        Error::FailedLookup => match reply.mr(1) {
            1 => 2,
            2 => 3,
            3 => 4,
            4 => 5,
            other => return Err(format!("{what}: lookup failure type {other} is not seL4's")),
        },
        _ => 0,
    };
    if reply.length() != expected_length {
        return Err(format!(
            "{what}: {error:?} reply has {} MRs, seL4 sends {expected_length}",
            reply.length()
        ));
    }
    for (index, expected) in mrs.iter().enumerate() {
        let actual = reply.mr(index);
        if actual != *expected {
            return Err(format!(
                "{what}: {error:?} MR{index} is {actual:#x}, expected {expected:#x}"
            ));
        }
    }
    Ok(())
}

/// Returns `Err(message)` unless `condition` holds.
#[macro_export]
macro_rules! ensure {
    ($condition:expr, $($message:tt)*) => {
        if !$condition {
            return Err(alloc::format!($($message)*));
        }
    };
}

/// The capability tag DebugCapIdentify reports for `cptr`.
pub fn identify(cptr: CPtr) -> u64 {
    syscall::debug_cap_identify(cptr)
}

/// Checks that `cptr` holds a cap of kind `tag`.
///
/// # Errors
/// A description of what is there instead.
pub fn expect_tag(cptr: CPtr, tag: sel4::CapTag, what: &str) -> Result<(), String> {
    let actual = identify(cptr);
    if actual != tag as u64 {
        return Err(format!(
            "{what}: slot {cptr:#x} holds tag {actual} ({:?}), expected {tag:?}",
            sel4::CapTag::from_word(actual)
        ));
    }
    Ok(())
}
