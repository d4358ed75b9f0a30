//! Debug syscalls: DebugCapIdentify's tag for each kind of capability and
//! DebugNameThread.

use crate::context::*;
use crate::{tests, Test};
use alloc::string::String;
use sel4::{CapTag, ObjectType};

pub const TESTS: &[Test] = tests![debug_cap_identify_each_kind, debug_name_thread];

fn debug_cap_identify_each_kind(ctx: &mut Ctx) -> Result<(), String> {
    let fixed = [
        (0, CapTag::Null, "slot 0"),
        (ROOT_TCB, CapTag::Thread, "root TCB"),
        (ROOT_CNODE, CapTag::CNode, "root CNode"),
        (ROOT_VSPACE, CapTag::VSpace, "root VSpace"),
        (IRQ_CONTROL, CapTag::IrqControl, "IRQControl"),
        (ASID_CONTROL, CapTag::AsidControl, "ASIDControl"),
        (ASID_POOL, CapTag::AsidPool, "initial ASID pool"),
        (DOMAIN, CapTag::Domain, "Domain"),
        (ctx.untyped, CapTag::Untyped, "untyped"),
    ];
    for (cptr, tag, what) in fixed {
        expect_tag(cptr, tag, what)?;
    }
    let made = [
        (ObjectType::Endpoint, CapTag::Endpoint),
        (ObjectType::Notification, CapTag::Notification),
        (ObjectType::SmallPage, CapTag::Frame),
        (ObjectType::PageTable, CapTag::PageTable),
    ];
    for (object_type, tag) in made {
        let slot = ctx.retype(object_type, 0)?;
        expect_tag(slot, tag, &alloc::format!("new {object_type:?}"))?;
    }
    let empty = ctx.alloc_slot()?;
    expect_tag(empty, CapTag::Null, "empty slot")
}

fn debug_name_thread(ctx: &mut Ctx) -> Result<(), String> {
    let tcb = ctx.retype(ObjectType::Tcb, 0)?;
    let name = b"kernel-tests-child\0";
    sel4::with_ipc_buffer(|buffer| {
        let mut words = [0u64; 3];
        for (index, byte) in name.iter().enumerate() {
            words[index / 8] |= u64::from(*byte) << ((index % 8) * 8);
        }
        buffer.msg[..3].copy_from_slice(&words);
    });
    sel4::syscall::debug_name_thread_raw(tcb);
    // The kernel carried on (seL4 halts on a bad DebugNameThread).
    expect_tag(tcb, CapTag::Thread, "named thread")
}
