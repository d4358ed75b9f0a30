//! Pure kernel logic, host-testable: the capability representation and its slot encoding
//! (with single-variant readers for hot paths), the capability derivation tree, CSpace
//! lookup, untyped retype arithmetic, boot untyped planning, invocation decoding, the
//! aarch64 user page-table format and the scheduler's ready queues, for the seL4 16.0.0
//! object model (aarch64, non-MCS).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod bits;
pub mod boot_untyped;
pub mod cap;
pub mod cdt;
pub mod cspace;
pub mod decode;
pub mod derive;
pub mod error;
pub mod page_table;
pub mod raw_cap;
pub mod retype;
pub mod scheduler;
pub mod slot;

pub use boot_untyped::{for_each_free_range, for_each_untyped_block, PhysRange, UntypedBlock};
pub use cap::{Cap, FrameSize, Mapping, ObjectRegion, VmRights, ZombieType, PADDR_BITS};
pub use cdt::SlotMemory;
pub use cspace::ResolvedSlot;
pub use decode::CapRef;
pub use derive::Preserve;
pub use error::{LookupFault, LookupRole, SyscallError, MAX_ERROR_MRS};
pub use page_table::PhysMemory;
pub use retype::{ObjectSpec, RetypePlan, UntypedChildren, RETYPE_FAN_OUT_LIMIT};
pub use slot::{MdbNode, Slot, SlotAddr};
