//! The raw seL4 system calls (`svc #0`, number in x7), aarch64 only.
//!
//! Register use follows libsel4: x0 = cptr in / badge out, x1 = MessageInfo in and out,
//! x2..x5 = MR0..MR3 in and out. MR4 and up are in the IPC buffer.

use crate::{CPtr, MessageInfo, Syscall};
use core::arch::asm;

/// Message registers carried in machine registers.
pub type RegisterMrs = [u64; 4];

/// `seL4_Call`: send `info` with MR0..MR3 in registers to `dest` and wait for the reply.
/// Returns the reply's MessageInfo and MR0..MR3 (the badge slot carries nothing useful).
#[inline(always)]
pub fn call(dest: CPtr, info: MessageInfo, mrs: RegisterMrs) -> (MessageInfo, RegisterMrs) {
    let (mut x0, mut x1, mut x2, mut x3, mut x4, mut x5) =
        (dest, info.word(), mrs[0], mrs[1], mrs[2], mrs[3]);
    // SAFETY: the seL4 Call syscall reads and writes only x0..x5 (declared) and memory the
    // kernel is entitled to touch (the IPC buffer, which the caller owns).
    unsafe {
        asm!("svc #0",
            inout("x0") x0, inout("x1") x1, inout("x2") x2, inout("x3") x3,
            inout("x4") x4, inout("x5") x5, in("x7") Syscall::Call.word(),
            options(nostack));
    }
    let _ = x0;
    (MessageInfo(x1), [x2, x3, x4, x5])
}

/// `seL4_Send` (or NBSend when `blocking` is false).
#[inline(always)]
pub fn send(dest: CPtr, info: MessageInfo, mrs: RegisterMrs, blocking: Blocking) {
    let number = match blocking {
        Blocking::Block => Syscall::Send,
        Blocking::NonBlocking => Syscall::NBSend,
    };
    // SAFETY: Send reads x0..x5 and the caller's IPC buffer; it writes no register.
    unsafe {
        asm!("svc #0",
            in("x0") dest, in("x1") info.word(), in("x2") mrs[0], in("x3") mrs[1],
            in("x4") mrs[2], in("x5") mrs[3], in("x7") number.word(),
            options(nostack));
    }
}

/// Whether a send or receive may block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocking {
    Block,
    NonBlocking,
}

/// `seL4_Recv` / `seL4_NBRecv` on `source`; returns (badge, MessageInfo, MR0..MR3).
#[inline(always)]
pub fn recv(source: CPtr, blocking: Blocking) -> (u64, MessageInfo, RegisterMrs) {
    let number = match blocking {
        Blocking::Block => Syscall::Recv,
        Blocking::NonBlocking => Syscall::NBRecv,
    };
    let (mut x0, x1, x2, x3, x4, x5);
    x0 = source;
    // SAFETY: Recv writes only x0..x5 (declared) and the caller's IPC buffer.
    unsafe {
        asm!("svc #0",
            inout("x0") x0, out("x1") x1, out("x2") x2, out("x3") x3,
            out("x4") x4, out("x5") x5, in("x7") number.word(),
            options(nostack));
    }
    (x0, MessageInfo(x1), [x2, x3, x4, x5])
}

/// `seL4_ReplyRecv`: reply to the last caller with `info`, then wait on `source`.
#[inline(always)]
pub fn reply_recv(
    source: CPtr,
    info: MessageInfo,
    mrs: RegisterMrs,
) -> (u64, MessageInfo, RegisterMrs) {
    let (mut x0, mut x1, mut x2, mut x3, mut x4, mut x5) =
        (source, info.word(), mrs[0], mrs[1], mrs[2], mrs[3]);
    // SAFETY: ReplyRecv reads and writes x0..x5 (declared) and the caller's IPC buffer.
    unsafe {
        asm!("svc #0",
            inout("x0") x0, inout("x1") x1, inout("x2") x2, inout("x3") x3,
            inout("x4") x4, inout("x5") x5, in("x7") Syscall::ReplyRecv.word(),
            options(nostack));
    }
    (x0, MessageInfo(x1), [x2, x3, x4, x5])
}

/// `seL4_Reply`: reply to the last caller.
#[inline(always)]
pub fn reply(info: MessageInfo, mrs: RegisterMrs) {
    // SAFETY: Reply reads x1..x5 and the caller's IPC buffer; it writes no register.
    unsafe {
        asm!("svc #0",
            in("x1") info.word(), in("x2") mrs[0], in("x3") mrs[1],
            in("x4") mrs[2], in("x5") mrs[3], in("x7") Syscall::Reply.word(),
            options(nostack));
    }
}

/// `seL4_Yield`.
#[inline(always)]
pub fn yield_now() {
    // SAFETY: Yield takes no argument and changes no user register.
    unsafe {
        asm!("svc #0", in("x7") Syscall::Yield.word(), options(nostack));
    }
}

/// `seL4_DebugPutChar`.
#[inline(always)]
pub fn debug_put_char(c: u8) {
    // SAFETY: DebugPutChar reads x0 and changes no user register.
    unsafe {
        asm!("svc #0", in("x0") c as u64, in("x7") Syscall::DebugPutChar.word(),
            options(nostack));
    }
}

/// `seL4_DebugHalt`: stops the machine.
#[inline(always)]
pub fn debug_halt() {
    // SAFETY: DebugHalt takes no argument; the kernel halts the system.
    unsafe {
        asm!("svc #0", in("x7") Syscall::DebugHalt.word(), options(nostack));
    }
}

/// `seL4_DebugCapIdentify`: the capability type tag in `cap`'s slot (see `CapTag`).
#[inline(always)]
pub fn debug_cap_identify(cap: CPtr) -> u64 {
    let mut x0 = cap;
    // SAFETY: DebugCapIdentify reads x0 and returns the tag in x0.
    unsafe {
        asm!("svc #0", inout("x0") x0, in("x7") Syscall::DebugCapIdentify.word(),
            options(nostack));
    }
    x0
}

/// `seL4_DebugNameThread`: names the thread `tcb`; the name (NUL-terminated) must already
/// be in the caller's IPC buffer message area.
#[inline(always)]
pub fn debug_name_thread_raw(tcb: CPtr) {
    // SAFETY: DebugNameThread reads x0 and the caller's IPC buffer.
    unsafe {
        asm!("svc #0", in("x0") tcb, in("x7") Syscall::DebugNameThread.word(),
            options(nostack));
    }
}
