//! Deleting caps and destroying objects (seL4's `cteDelete`, `finaliseCap`, `cteRevoke`).
//!
//! Deleting a cap that is the last one to its object destroys the object: mappings are
//! removed, ASIDs freed, threads stopped and IPC cancelled, so that once an untyped has
//! no children its memory can be handed out again. A CNode or TCB holds slots of its
//! own; destroying one empties those first. That nests (a CNode whose last cap sits in
//! another CNode being destroyed), and the kernel stack is small, so nesting is walked
//! iteratively: a container being emptied is marked by turning its cap into a Zombie
//! whose `remaining` counts the slots not yet known to be empty, and the walk restarts
//! from the outermost container after each inner one is finished.

use super::cspace::{read_cap, slot_memory};
use super::tcb::tcb_slot;
use super::{asid, irq, vspace};
use kernel_core::cdt::{empty_slot, first_child, is_final_capability, update_cap};
use kernel_core::{Cap, SlotAddr, ZombieType};

/// Whether the cap being deleted is the last one to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finality {
    Final,
    NotFinal,
}

/// Slots a TCB object holds (seL4's `tcbCNodeEntries`).
const TCB_SLOT_COUNT: u64 = tcb_slot::IPC_BUFFER_FRAME + 1;

/// Deletes the cap in `slot`: if it is the final cap to its object, the object is
/// finalised (frames and page tables unmapped, ASIDs and pools freed, threads stopped,
/// IPC cancelled, an IRQ handler's notification unbound and its interrupt masked,
/// CNode and TCB slots emptied); then the slot leaves the derivation tree. An empty
/// slot is left alone.
pub fn delete_slot(slot: SlotAddr) {
    let cap = read_cap(slot);
    if cap.is_null() {
        return;
    }
    let finality = finality_of(slot);
    finalise(&cap, finality);
    empty_slot(&mut slot_memory(), slot);
    if let Some(container) = container_of(&cap, finality) {
        destroy_container(container);
    }
    after_deletion(&cap, finality);
}

/// Deletes every cap derived from the one in `slot` (seL4's `cteRevoke`).
pub fn revoke_slot(slot: SlotAddr) {
    while let Some(child) = first_child(&slot_memory(), slot) {
        delete_slot(child);
    }
}

/// A CNode or TCB object being emptied: its first slot and how many slots it has.
#[derive(Clone, Copy, Debug)]
struct Container {
    first_slot: u64,
    slot_count: u64,
    zombie_type: ZombieType,
}

fn container_of(cap: &Cap, finality: Finality) -> Option<Container> {
    if finality != Finality::Final {
        return None;
    }
    match *cap {
        Cap::CNode { ptr, radix, .. } => Some(Container {
            first_slot: ptr,
            slot_count: 1u64.checked_shl(radix.into())?,
            zombie_type: ZombieType::CNode { radix },
        }),
        Cap::Thread { ptr } => Some(Container {
            first_slot: ptr,
            slot_count: TCB_SLOT_COUNT,
            zombie_type: ZombieType::Tcb,
        }),
        _ => None,
    }
}

fn finality_of(slot: SlotAddr) -> Finality {
    if is_final_capability(&slot_memory(), slot) {
        Finality::Final
    } else {
        Finality::NotFinal
    }
}

/// Empties every slot of `root` (whose cap has already left the derivation tree),
/// destroying whatever they held the last caps to.
fn destroy_container(root: Container) {
    let mut root_remaining = root.slot_count;
    loop {
        // Walk down from the root through Zombies to the innermost unfinished container.
        let mut container = root;
        let mut remaining = root_remaining;
        let mut zombie_slot: Option<SlotAddr> = None;
        loop {
            let found = last_occupied_slot(&container, &mut remaining);
            match zombie_slot {
                None => root_remaining = remaining,
                Some(zombie) => set_zombie_remaining(zombie, &container, remaining),
            }
            let Some(inner) = found else {
                match zombie_slot {
                    None => return,
                    Some(zombie) => {
                        empty_slot(&mut slot_memory(), zombie);
                        break;
                    }
                }
            };
            let cap = read_cap(inner);
            if let Cap::Zombie {
                ptr,
                zombie_type,
                remaining: zombie_remaining,
            } = cap
            {
                container = zombie_container(ptr, zombie_type);
                remaining = zombie_remaining;
                zombie_slot = Some(inner);
                continue;
            }
            let finality = finality_of(inner);
            finalise(&cap, finality);
            if let Some(inner_container) = container_of(&cap, finality) {
                let zombie = Cap::Zombie {
                    ptr: inner_container.first_slot,
                    zombie_type: inner_container.zombie_type,
                    remaining: inner_container.slot_count,
                };
                update_cap(&mut slot_memory(), inner, &zombie);
                container = inner_container;
                remaining = inner_container.slot_count;
                zombie_slot = Some(inner);
                continue;
            }
            empty_slot(&mut slot_memory(), inner);
            after_deletion(&cap, finality);
        }
    }
}

fn zombie_container(ptr: u64, zombie_type: ZombieType) -> Container {
    let slot_count = match zombie_type {
        ZombieType::Tcb => TCB_SLOT_COUNT,
        ZombieType::CNode { radix } => 1u64.checked_shl(radix.into()).unwrap_or(0),
    };
    Container {
        first_slot: ptr,
        slot_count,
        zombie_type,
    }
}

/// Finds the highest occupied slot below index `remaining`, lowering `remaining` past
/// the empty slots above it.
fn last_occupied_slot(container: &Container, remaining: &mut u64) -> Option<SlotAddr> {
    while *remaining > 0 {
        let index = *remaining - 1;
        let slot = SlotAddr::new(container.first_slot)?.offset(index)?;
        if !read_cap(slot).is_null() {
            return Some(slot);
        }
        *remaining = index;
    }
    None
}

fn set_zombie_remaining(zombie: SlotAddr, container: &Container, remaining: u64) {
    let cap = Cap::Zombie {
        ptr: container.first_slot,
        zombie_type: container.zombie_type,
        remaining,
    };
    update_cap(&mut slot_memory(), zombie, &cap);
}

/// seL4's `finaliseCap` for everything but the slots a CNode or TCB holds.
fn finalise(cap: &Cap, finality: Finality) {
    match (*cap, finality) {
        // Each frame cap has its own mapping, so it goes with the cap, final or not.
        (
            Cap::Frame {
                paddr,
                size,
                mapping: Some(mapping),
                ..
            },
            _,
        ) => vspace::unmap_page(size, mapping.asid, mapping.vaddr, paddr),
        (
            Cap::PageTable {
                ptr,
                mapping: Some(mapping),
            },
            Finality::Final,
        ) => vspace::unmap_page_table(mapping.asid, mapping.vaddr, ptr),
        (
            Cap::VSpace {
                ptr,
                asid: Some(asid),
            },
            Finality::Final,
        ) => asid::delete_asid(asid, ptr),
        (Cap::AsidPool { ptr, asid_base }, Finality::Final) => asid::delete_pool(asid_base, ptr),
        (Cap::Endpoint { ptr, .. }, Finality::Final) => crate::ipc::endpoint::finalise(ptr),
        (Cap::Notification { ptr, .. }, Finality::Final) => crate::ipc::notification::finalise(ptr),
        (Cap::Thread { ptr }, Finality::Final) => super::tcb::finalise(ptr),
        (Cap::IrqHandler { irq }, Finality::Final) => {
            if let Some(node) = irq::node_slot(irq) {
                delete_slot(node);
            }
        }
        _ => {}
    }
}

/// seL4's `postCapDeletion`: a deleted IRQ handler leaves its interrupt inactive.
fn after_deletion(cap: &Cap, finality: Finality) {
    if let (Cap::IrqHandler { irq }, Finality::Final) = (*cap, finality) {
        irq::set_state(irq, irq::IrqState::Inactive);
    }
}
