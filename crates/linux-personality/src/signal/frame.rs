//! The aarch64 `rt_sigframe` exactly as Linux lays it out: building it to enter a
//! handler and parsing it back for `rt_sigreturn`.
//!
//! Layout (offsets from the frame base, which is the handler's `sp`):
//!
//! ```text
//!    0  siginfo (128 bytes)
//!  128  ucontext: uc_flags 128, uc_link 136, uc_stack 144 (ss_sp, ss_flags, ss_size),
//!       uc_sigmask 168 (8 bytes, then padding to a 128-byte sigset area)
//!  304  uc_mcontext = sigcontext: fault_address 304, regs[31] 312, sp 560, pc 568,
//!       pstate 576, __reserved[4096] at 592 (16-byte aligned) holding records:
//!  592    fpsimd_context: magic 0x46508001, size 528, fpsr, fpcr, vregs[32]
//! 1120    esr_context (magic 0x45535201, size 16) when the signal comes from a fault
//!         a null record (magic 0, size 0) ends the list
//! 4688  end of the frame; the frame record {x29, x30} follows at 4688
//! ```
//!
//! Placement (Linux's `get_sigframe`): start from `sp`, or the alternate stack's top
//! for an `SA_ONSTACK` action when it is enabled and not in use; the frame record goes
//! at `round_down(top - 16, 16)` and the frame right below it.

use super::info::SigInfo;
use super::numbers::SignalSet;
use super::state::{
    read_u64, AlternateStack, SigAction, StackDescription, SA_RESTORER, SA_SIGINFO,
};
use crate::errno::Errno;
use alloc::vec;
use alloc::vec::Vec;

/// Offset of the `ucontext`.
pub const UCONTEXT_OFFSET: usize = 128;
/// Offset of `uc_flags`.
pub const UC_FLAGS_OFFSET: usize = UCONTEXT_OFFSET;
/// Offset of `uc_link`.
pub const UC_LINK_OFFSET: usize = UCONTEXT_OFFSET + 8;
/// Offset of `uc_stack`.
pub const UC_STACK_OFFSET: usize = UCONTEXT_OFFSET + 16;
/// Offset of `uc_sigmask`.
pub const UC_SIGMASK_OFFSET: usize = UCONTEXT_OFFSET + 40;
/// Offset of `uc_mcontext` (the `sigcontext`, 16-byte aligned).
pub const MCONTEXT_OFFSET: usize = UCONTEXT_OFFSET + 176;
/// Offset of `sigcontext.fault_address`.
pub const FAULT_ADDRESS_OFFSET: usize = MCONTEXT_OFFSET;
/// Offset of `sigcontext.regs[0]`.
pub const REGS_OFFSET: usize = MCONTEXT_OFFSET + 8;
/// Offset of `sigcontext.sp`.
pub const SP_OFFSET: usize = REGS_OFFSET + 31 * 8;
/// Offset of `sigcontext.pc`.
pub const PC_OFFSET: usize = SP_OFFSET + 8;
/// Offset of `sigcontext.pstate`.
pub const PSTATE_OFFSET: usize = PC_OFFSET + 8;
/// Offset of `sigcontext.__reserved`.
pub const RESERVED_OFFSET: usize = MCONTEXT_OFFSET + 288;
/// Size of `sigcontext.__reserved`.
pub const RESERVED_SIZE: usize = 4096;
/// `sizeof(struct rt_sigframe)`.
pub const FRAME_SIZE: usize = RESERVED_OFFSET + RESERVED_SIZE;
/// `sizeof(struct frame_record)`: saved `x29` and `x30`.
pub const FRAME_RECORD_SIZE: usize = 16;
/// Bytes [`build_signal_frame`] produces: the frame plus the frame record above it.
pub const FRAME_BYTES: usize = FRAME_SIZE + FRAME_RECORD_SIZE;

/// `fpsimd_context` magic.
pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
/// `sizeof(struct fpsimd_context)`.
pub const FPSIMD_CONTEXT_SIZE: u32 = 528;
/// `esr_context` magic.
pub const ESR_MAGIC: u32 = 0x4553_5201;
/// `sizeof(struct esr_context)`.
pub const ESR_CONTEXT_SIZE: u32 = 16;
/// `extra_context` magic (only written by Linux for frames larger than `__reserved`,
/// which never happens without SVE/SME; refused here).
pub const EXTRA_MAGIC: u32 = 0x4558_5401;
/// Size of a record header (`struct _aarch64_ctx`).
const RECORD_HEADER_SIZE: usize = 8;

/// `PSTATE.M[4:0]` (mode and execution state).
const PSTATE_MODE_MASK: u64 = 0x1f;
/// `PSTATE.{D,A,I,F}`.
const PSTATE_DAIF_MASK: u64 = 0xf << 6;
/// `PSTATE.{N,Z,C,V}`.
pub const PSTATE_NZCV_MASK: u64 = 0xf << 28;
/// `PSTATE.TCO` (MTE tag check override), which Linux clears for handlers.
const PSTATE_TCO: u64 = 1 << 25;

/// The general registers of a thread as the process server holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct UserRegisters {
    /// `x0`..`x30`.
    pub x: [u64; 31],
    /// Stack pointer (`SP_EL0`).
    pub sp: u64,
    /// Program counter.
    pub pc: u64,
    /// `PSTATE` (`SPSR_EL1` format).
    pub pstate: u64,
}

/// The FP/SIMD registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FloatingPointRegisters {
    /// `FPSR`.
    pub fpsr: u32,
    /// `FPCR`.
    pub fpcr: u32,
    /// `v0`..`v31`.
    pub v: [u128; 32],
}

/// Everything needed to enter a handler.
#[derive(Clone, Copy, Debug)]
pub struct FrameRequest<'a> {
    /// The signal's information (`x0` is its number; copied into the frame only with
    /// `SA_SIGINFO`, as Linux does).
    pub info: &'a SigInfo,
    /// The action being run.
    pub action: &'a SigAction,
    /// The interrupted registers (after any system-call restart adjustment).
    pub registers: &'a UserRegisters,
    /// The interrupted FP/SIMD registers.
    pub floating_point: &'a FloatingPointRegisters,
    /// The mask to restore on return ([`super::ThreadSignals::mask_to_save`]).
    pub saved_mask: SignalSet,
    /// The thread's alternate stack.
    pub alternate_stack: &'a AlternateStack,
    /// `sigcontext.fault_address`: the thread's last fault address (0 if none).
    pub fault_address: u64,
    /// The `ESR_EL1` value when the signal comes from a fault: adds an `esr_context`.
    pub exception_syndrome: Option<u64>,
    /// The vDSO's `__kernel_rt_sigreturn`, used as `x30` without `SA_RESTORER`.
    pub vdso_sigreturn: u64,
}

/// A built frame: write `bytes` at `address`, then resume the thread with `handler`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalFrame {
    /// The frame base: lowest byte written, and the handler's `sp` (16-byte aligned).
    pub address: u64,
    /// [`FRAME_BYTES`] bytes: the `rt_sigframe` then the frame record.
    pub bytes: Vec<u8>,
    /// Registers for handler entry: `x0` = signal, `x1` = `&info`, `x2` = `&uc` (with
    /// `SA_SIGINFO`), `x29` = the frame record, `x30` = the restorer, `sp` = `address`,
    /// `pc` = the handler; the rest as interrupted.
    pub handler: UserRegisters,
}

/// Builds the frame for running `request.action` (Linux's `setup_rt_frame`).
///
/// # Errors
/// `EFAULT` when the stack arithmetic leaves the address space (a hostile `sp` or
/// alternate stack); the caller then delivers `SIGSEGV` with
/// [`super::force_sigsegv`], as Linux does when it cannot write the frame. The caller
/// also gets `EFAULT` writing `bytes` to unmapped memory, with the same consequence.
pub fn build_signal_frame(request: &FrameRequest<'_>) -> Result<SignalFrame, Errno> {
    let registers = request.registers;
    let stack_top = request
        .alternate_stack
        .handler_stack_top(registers.sp, request.action)?;
    let record_address = stack_top
        .checked_sub(FRAME_RECORD_SIZE as u64)
        .ok_or(Errno::EFAULT)?
        & !15;
    let frame_address = record_address
        .checked_sub(FRAME_SIZE as u64)
        .ok_or(Errno::EFAULT)?;

    let mut bytes = vec![0u8; FRAME_BYTES];
    let with_info = request.action.has_flag(SA_SIGINFO);
    if with_info {
        write(&mut bytes, 0, &request.info.to_bytes());
    }
    // uc_flags and uc_link stay 0.
    write(
        &mut bytes,
        UC_STACK_OFFSET,
        &request.alternate_stack.saved().to_bytes(),
    );
    write(
        &mut bytes,
        UC_SIGMASK_OFFSET,
        &request.saved_mask.to_bytes(),
    );
    write(
        &mut bytes,
        FAULT_ADDRESS_OFFSET,
        &request.fault_address.to_le_bytes(),
    );
    for (index, value) in registers.x.iter().enumerate() {
        write(&mut bytes, REGS_OFFSET + index * 8, &value.to_le_bytes());
    }
    write(&mut bytes, SP_OFFSET, &registers.sp.to_le_bytes());
    write(&mut bytes, PC_OFFSET, &registers.pc.to_le_bytes());
    write(&mut bytes, PSTATE_OFFSET, &registers.pstate.to_le_bytes());

    let mut record = RESERVED_OFFSET;
    write_fpsimd(&mut bytes, record, request.floating_point);
    record += FPSIMD_CONTEXT_SIZE as usize;
    if let Some(syndrome) = request.exception_syndrome {
        write(&mut bytes, record, &ESR_MAGIC.to_le_bytes());
        write(&mut bytes, record + 4, &ESR_CONTEXT_SIZE.to_le_bytes());
        write(&mut bytes, record + 8, &syndrome.to_le_bytes());
    }
    // The terminating null record is already zero wherever it lands.

    let [.., fp, lr] = registers.x;
    write(&mut bytes, FRAME_SIZE, &fp.to_le_bytes());
    write(&mut bytes, FRAME_SIZE + 8, &lr.to_le_bytes());

    let mut handler = *registers;
    handler.x[0] = u64::from(request.info.signal.number());
    if with_info {
        handler.x[1] = frame_address;
        handler.x[2] = frame_address + UCONTEXT_OFFSET as u64;
    }
    handler.x[29] = record_address;
    handler.x[30] = if request.action.has_flag(SA_RESTORER) {
        request.action.restorer
    } else {
        request.vdso_sigreturn
    };
    handler.sp = frame_address;
    handler.pc = request.action.handler;
    handler.pstate &= !PSTATE_TCO;

    Ok(SignalFrame {
        address: frame_address,
        bytes,
        handler,
    })
}

/// What `rt_sigreturn` restores from a valid frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoredContext {
    /// The registers to resume with; `pstate` keeps only `NZCV` and is EL0t AArch64.
    pub registers: UserRegisters,
    /// The FP/SIMD registers.
    pub floating_point: FloatingPointRegisters,
    /// The blocked mask (without `SIGKILL`/`SIGSTOP`), for
    /// [`super::ThreadSignals::set_blocked`].
    pub blocked: SignalSet,
    /// `uc_stack`, for [`AlternateStack::restore_from_frame`] with the restored `sp`.
    pub alternate_stack: StackDescription,
}

/// Parses the frame `rt_sigreturn` finds at `frame_address` (the thread's `sp`), from
/// the [`FRAME_SIZE`] bytes the caller read there (Linux's `restore_sigframe`).
/// `x0` of the result is what the call returns.
///
/// # Errors
/// Any error means a bad frame: the caller delivers `SIGSEGV` (Linux's
/// `arm64_notify_segfault`). `EFAULT` if `bytes` is short; `EINVAL` if `frame_address`
/// is not 16-byte aligned, the record list is malformed (misaligned, overrunning,
/// duplicate or unknown records, a nonzero-size terminator, no or a wrong-size
/// `fpsimd_context`), or `pstate` does not return to EL0 AArch64 with D, A, I and F
/// clear.
pub fn parse_for_sigreturn(frame_address: u64, bytes: &[u8]) -> Result<RestoredContext, Errno> {
    if frame_address & 15 != 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = bytes.get(..FRAME_SIZE).ok_or(Errno::EFAULT)?;
    let blocked = SignalSet::from_bytes(bytes.get(UC_SIGMASK_OFFSET..).ok_or(Errno::EFAULT)?)?;
    let mut registers = UserRegisters::default();
    for (index, value) in registers.x.iter_mut().enumerate() {
        *value = read_u64(bytes, REGS_OFFSET + index * 8).ok_or(Errno::EFAULT)?;
    }
    registers.sp = read_u64(bytes, SP_OFFSET).ok_or(Errno::EFAULT)?;
    registers.pc = read_u64(bytes, PC_OFFSET).ok_or(Errno::EFAULT)?;
    registers.pstate = sanitize_pstate(read_u64(bytes, PSTATE_OFFSET).ok_or(Errno::EFAULT)?)?;
    let reserved = bytes
        .get(RESERVED_OFFSET..RESERVED_OFFSET + RESERVED_SIZE)
        .ok_or(Errno::EFAULT)?;
    let floating_point = parse_records(reserved)?;
    let alternate_stack =
        StackDescription::parse(bytes.get(UC_STACK_OFFSET..).ok_or(Errno::EFAULT)?)?;
    Ok(RestoredContext {
        registers,
        floating_point,
        blocked: blocked.blockable(),
        alternate_stack,
    })
}

/// Linux's `valid_native_regs`, stricter: the mode must be EL0t in AArch64 with D, A, I
/// and F clear, and only `NZCV` survive. (Linux also keeps DIT, TCO, SSBS, BTYPE and SS
/// for the features that use them; the Cortex-A57 this runs on has none of those
/// features and the server offers no single-step.)
fn sanitize_pstate(pstate: u64) -> Result<u64, Errno> {
    if pstate & PSTATE_MODE_MASK != 0 || pstate & PSTATE_DAIF_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(pstate & PSTATE_NZCV_MASK)
}

/// Walks the `__reserved` records (Linux's `parse_user_sigframe`) and returns the
/// FP/SIMD state.
fn parse_records(reserved: &[u8]) -> Result<FloatingPointRegisters, Errno> {
    let limit = reserved.len();
    let mut offset = 0usize;
    let mut floating_point = None;
    loop {
        if limit - offset < RECORD_HEADER_SIZE || !offset.is_multiple_of(16) {
            return Err(Errno::EINVAL);
        }
        let magic = read_u32(reserved, offset).ok_or(Errno::EINVAL)?;
        let size = read_u32(reserved, offset + 4).ok_or(Errno::EINVAL)? as usize;
        if size > limit - offset {
            return Err(Errno::EINVAL);
        }
        match magic {
            0 => {
                if size != 0 {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            FPSIMD_MAGIC => {
                if floating_point.is_some() || size != FPSIMD_CONTEXT_SIZE as usize {
                    return Err(Errno::EINVAL);
                }
                floating_point = Some(read_fpsimd(reserved, offset)?);
            }
            ESR_MAGIC => {}
            _ => return Err(Errno::EINVAL),
        }
        if size < RECORD_HEADER_SIZE {
            return Err(Errno::EINVAL);
        }
        offset += size;
    }
    floating_point.ok_or(Errno::EINVAL)
}

fn write_fpsimd(bytes: &mut [u8], offset: usize, floating_point: &FloatingPointRegisters) {
    write(bytes, offset, &FPSIMD_MAGIC.to_le_bytes());
    write(bytes, offset + 4, &FPSIMD_CONTEXT_SIZE.to_le_bytes());
    write(bytes, offset + 8, &floating_point.fpsr.to_le_bytes());
    write(bytes, offset + 12, &floating_point.fpcr.to_le_bytes());
    for (index, value) in floating_point.v.iter().enumerate() {
        write(bytes, offset + 16 + index * 16, &value.to_le_bytes());
    }
}

fn read_fpsimd(bytes: &[u8], offset: usize) -> Result<FloatingPointRegisters, Errno> {
    let mut floating_point = FloatingPointRegisters {
        fpsr: read_u32(bytes, offset + 8).ok_or(Errno::EINVAL)?,
        fpcr: read_u32(bytes, offset + 12).ok_or(Errno::EINVAL)?,
        v: [0; 32],
    };
    for (index, value) in floating_point.v.iter_mut().enumerate() {
        let start = offset + 16 + index * 16;
        let word: [u8; 16] = bytes
            .get(start..start + 16)
            .and_then(|slice| slice.try_into().ok())
            .ok_or(Errno::EINVAL)?;
        *value = u128::from_le_bytes(word);
    }
    Ok(floating_point)
}

fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    let word: [u8; 4] = bytes.get(offset..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(word))
}

/// Copies `value` at `offset`; offsets here are constants inside the buffer, and an
/// out-of-range one writes nothing rather than panicking.
fn write(bytes: &mut [u8], offset: usize, value: &[u8]) {
    if let Some(target) = offset
        .checked_add(value.len())
        .and_then(|end| bytes.get_mut(offset..end))
    {
        target.copy_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::info::{SEGV_MAPERR, SIGINFO_SIZE};
    use crate::signal::numbers::Signal;
    use crate::signal::state::{SA_ONSTACK, SS_AUTODISARM, SS_DISABLE};

    fn sample_registers() -> UserRegisters {
        let mut x = [0u64; 31];
        for (index, value) in x.iter_mut().enumerate() {
            *value = 0x1000 + index as u64;
        }
        UserRegisters {
            x,
            sp: 0x7fff_f000_0008,
            pc: 0x40_1234,
            pstate: 0x6000_0000,
        }
    }

    fn sample_fp() -> FloatingPointRegisters {
        let mut v = [0u128; 32];
        for (index, value) in v.iter_mut().enumerate() {
            *value = (index as u128) << 64 | 0xabcd_0000 | index as u128;
        }
        FloatingPointRegisters {
            fpsr: 0x0800_0010,
            fpcr: 0x0040_0000,
            v,
        }
    }

    fn u32_at(bytes: &[u8], offset: usize) -> u32 {
        u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
    }

    fn u64_at(bytes: &[u8], offset: usize) -> u64 {
        u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
    }

    #[test]
    fn layout_offsets_match_linux_headers() {
        // struct ucontext: uc_flags, uc_link, stack_t (24), sigset_t + 120 unused, then
        // sigcontext aligned to 16.
        assert_eq!(UC_STACK_OFFSET - UCONTEXT_OFFSET, 16);
        assert_eq!(UC_SIGMASK_OFFSET - UCONTEXT_OFFSET, 40);
        assert_eq!(UC_SIGMASK_OFFSET + 128, 296);
        assert_eq!(MCONTEXT_OFFSET, 304);
        assert_eq!(MCONTEXT_OFFSET % 16, 0);
        // struct sigcontext: fault_address, regs[31], sp, pc, pstate, __reserved @ 288.
        assert_eq!(SP_OFFSET - MCONTEXT_OFFSET, 8 + 31 * 8);
        assert_eq!(PSTATE_OFFSET - MCONTEXT_OFFSET, 272);
        assert_eq!(RESERVED_OFFSET, 592);
        assert_eq!(RESERVED_OFFSET % 16, 0);
        // sizeof(struct rt_sigframe) = 128 + sizeof(struct ucontext) (4560).
        assert_eq!(FRAME_SIZE, 4688);
        assert_eq!(FRAME_SIZE - UCONTEXT_OFFSET, 4560);
        assert_eq!(FRAME_SIZE % 16, 0);
        // struct fpsimd_context: 8 header + fpsr + fpcr + 32 * 16.
        assert_eq!(FPSIMD_CONTEXT_SIZE, 8 + 4 + 4 + 32 * 16);
        assert_eq!(UCONTEXT_OFFSET, SIGINFO_SIZE);
    }

    fn request<'a>(
        info: &'a SigInfo,
        action: &'a SigAction,
        registers: &'a UserRegisters,
        floating_point: &'a FloatingPointRegisters,
        stack: &'a AlternateStack,
    ) -> FrameRequest<'a> {
        FrameRequest {
            info,
            action,
            registers,
            floating_point,
            saved_mask: SignalSet::of(Signal::SIGUSR2),
            alternate_stack: stack,
            fault_address: 0xdead_0000,
            exception_syndrome: Some(0x9200_0046),
            vdso_sigreturn: 0xffff_0000_1000,
        }
    }

    #[test]
    fn build_places_and_fills_the_frame() {
        let info = SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, 0xdead_0000);
        let action = SigAction {
            handler: 0x40_8000,
            flags: SA_SIGINFO | SA_RESTORER,
            restorer: 0x40_9000,
            mask: SignalSet::EMPTY,
        };
        let registers = sample_registers();
        let floating_point = sample_fp();
        let stack = AlternateStack::DISABLED;
        let frame = build_signal_frame(&request(
            &info,
            &action,
            &registers,
            &floating_point,
            &stack,
        ))
        .unwrap();

        // sp 0x...0008: record at round_down(sp - 16, 16), frame 4688 below.
        let record = (registers.sp - 16) & !15;
        assert_eq!(frame.address, record - 4688);
        assert_eq!(frame.address % 16, 0);
        assert_eq!(frame.bytes.len(), FRAME_BYTES);
        let bytes = &frame.bytes;
        assert_eq!(&bytes[..128], &info.to_bytes());
        assert_eq!(u64_at(bytes, UC_FLAGS_OFFSET), 0);
        assert_eq!(u64_at(bytes, UC_LINK_OFFSET), 0);
        assert_eq!(u64_at(bytes, UC_STACK_OFFSET), 0);
        assert_eq!(u32_at(bytes, UC_STACK_OFFSET + 8), SS_DISABLE);
        assert_eq!(u64_at(bytes, UC_SIGMASK_OFFSET), 1 << 11);
        assert_eq!(u64_at(bytes, FAULT_ADDRESS_OFFSET), 0xdead_0000);
        assert_eq!(u64_at(bytes, REGS_OFFSET), 0x1000);
        assert_eq!(u64_at(bytes, REGS_OFFSET + 30 * 8), 0x1000 + 30);
        assert_eq!(u64_at(bytes, SP_OFFSET), registers.sp);
        assert_eq!(u64_at(bytes, PC_OFFSET), registers.pc);
        assert_eq!(u64_at(bytes, PSTATE_OFFSET), registers.pstate);
        assert_eq!(u32_at(bytes, 592), FPSIMD_MAGIC);
        assert_eq!(u32_at(bytes, 596), 528);
        assert_eq!(u32_at(bytes, 600), floating_point.fpsr);
        assert_eq!(u32_at(bytes, 604), floating_point.fpcr);
        assert_eq!(
            u128::from_le_bytes(bytes[608 + 16 * 31..608 + 16 * 32].try_into().unwrap()),
            floating_point.v[31]
        );
        assert_eq!(u32_at(bytes, 1120), ESR_MAGIC);
        assert_eq!(u32_at(bytes, 1124), 16);
        assert_eq!(u64_at(bytes, 1128), 0x9200_0046);
        assert_eq!(u64_at(bytes, 1136), 0, "null terminator");
        // Frame record above the frame: x29, x30.
        assert_eq!(u64_at(bytes, FRAME_SIZE), 0x1000 + 29);
        assert_eq!(u64_at(bytes, FRAME_SIZE + 8), 0x1000 + 30);

        let handler = frame.handler;
        assert_eq!(handler.x[0], 11);
        assert_eq!(handler.x[1], frame.address);
        assert_eq!(handler.x[2], frame.address + 128);
        assert_eq!(handler.x[3], registers.x[3]);
        assert_eq!(handler.x[29], record);
        assert_eq!(handler.x[30], 0x40_9000);
        assert_eq!(handler.sp, frame.address);
        assert_eq!(handler.pc, 0x40_8000);
    }

    #[test]
    fn without_siginfo_or_restorer() {
        let info = SigInfo::user(Signal::SIGUSR1, 5, 0);
        let action = SigAction {
            handler: 0x40_8000,
            flags: 0,
            restorer: 0x40_9000,
            mask: SignalSet::EMPTY,
        };
        let registers = sample_registers();
        let floating_point = sample_fp();
        let stack = AlternateStack::DISABLED;
        let mut frame_request = request(&info, &action, &registers, &floating_point, &stack);
        frame_request.exception_syndrome = None;
        let frame = build_signal_frame(&frame_request).unwrap();
        assert!(frame.bytes[..128].iter().all(|&byte| byte == 0));
        assert_eq!(frame.handler.x[0], 10);
        assert_eq!(frame.handler.x[1], registers.x[1]);
        assert_eq!(frame.handler.x[2], registers.x[2]);
        assert_eq!(frame.handler.x[30], 0xffff_0000_1000);
        // No esr record: the terminator follows fpsimd directly.
        assert_eq!(u64_at(&frame.bytes, 1120), 0);
    }

    #[test]
    fn handler_entry_clears_tco() {
        let info = SigInfo::user(Signal::SIGUSR1, 5, 0);
        let action = SigAction {
            handler: 0x40_8000,
            ..SigAction::DEFAULT
        };
        let mut registers = sample_registers();
        registers.pstate = PSTATE_TCO | 0x2000_0000;
        let floating_point = sample_fp();
        let stack = AlternateStack::DISABLED;
        let frame = build_signal_frame(&request(
            &info,
            &action,
            &registers,
            &floating_point,
            &stack,
        ))
        .unwrap();
        assert_eq!(frame.handler.pstate, 0x2000_0000);
        assert_eq!(u64_at(&frame.bytes, PSTATE_OFFSET), registers.pstate);
    }

    #[test]
    fn alternate_stack_placement() {
        let info = SigInfo::user(Signal::SIGUSR1, 5, 0);
        let action = SigAction {
            handler: 0x40_8000,
            flags: SA_ONSTACK,
            ..SigAction::DEFAULT
        };
        let registers = sample_registers();
        let floating_point = sample_fp();
        let mut stack = AlternateStack::DISABLED;
        stack
            .sigaltstack(
                Some(StackDescription {
                    base: 0x20_0000,
                    flags: SS_AUTODISARM,
                    size: 0x4001,
                }),
                registers.sp,
            )
            .unwrap();
        let frame = build_signal_frame(&request(
            &info,
            &action,
            &registers,
            &floating_point,
            &stack,
        ))
        .unwrap();
        let top = 0x20_0000 + 0x4001u64;
        assert_eq!(frame.handler.x[29], (top - 16) & !15);
        assert_eq!(frame.address, ((top - 16) & !15) - 4688);
        assert_eq!(u64_at(&frame.bytes, UC_STACK_OFFSET), 0x20_0000);
        assert_eq!(u32_at(&frame.bytes, UC_STACK_OFFSET + 8), SS_AUTODISARM);
        assert_eq!(u64_at(&frame.bytes, UC_STACK_OFFSET + 16), 0x4001);
    }

    #[test]
    fn hostile_stack_pointer_is_refused() {
        let info = SigInfo::user(Signal::SIGUSR1, 5, 0);
        let action = SigAction {
            handler: 0x40_8000,
            ..SigAction::DEFAULT
        };
        let floating_point = sample_fp();
        let stack = AlternateStack::DISABLED;
        for sp in [0, 8, 15, 4700] {
            let registers = UserRegisters {
                sp,
                ..sample_registers()
            };
            assert_eq!(
                build_signal_frame(&request(
                    &info,
                    &action,
                    &registers,
                    &floating_point,
                    &stack
                )),
                Err(Errno::EFAULT),
                "sp {sp:#x}"
            );
        }
    }

    fn built_frame() -> (SignalFrame, UserRegisters, FloatingPointRegisters) {
        let info = SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, 0);
        let action = SigAction {
            handler: 0x40_8000,
            flags: SA_SIGINFO,
            ..SigAction::DEFAULT
        };
        let registers = sample_registers();
        let floating_point = sample_fp();
        let stack = AlternateStack::DISABLED;
        let frame = build_signal_frame(&request(
            &info,
            &action,
            &registers,
            &floating_point,
            &stack,
        ))
        .unwrap();
        (frame, registers, floating_point)
    }

    #[test]
    fn round_trip_build_then_parse() {
        let (frame, registers, floating_point) = built_frame();
        let restored = parse_for_sigreturn(frame.address, &frame.bytes).unwrap();
        assert_eq!(restored.registers, registers);
        assert_eq!(restored.floating_point, floating_point);
        assert_eq!(restored.blocked, SignalSet::of(Signal::SIGUSR2));
        assert_eq!(restored.alternate_stack, AlternateStack::DISABLED.saved());
        // Exactly FRAME_SIZE bytes suffice.
        assert!(parse_for_sigreturn(frame.address, &frame.bytes[..FRAME_SIZE]).is_ok());
    }

    #[test]
    fn sigreturn_rejects_bad_frames() {
        let (frame, _, _) = built_frame();
        assert_eq!(
            parse_for_sigreturn(frame.address + 8, &frame.bytes),
            Err(Errno::EINVAL),
            "misaligned sp"
        );
        assert_eq!(
            parse_for_sigreturn(frame.address, &frame.bytes[..FRAME_SIZE - 1]),
            Err(Errno::EFAULT)
        );
        let corrupt = |offset: usize, value: &[u8]| {
            let mut bytes = frame.bytes.clone();
            bytes[offset..offset + value.len()].copy_from_slice(value);
            parse_for_sigreturn(frame.address, &bytes)
        };
        // Mode bits: EL1h, AArch32 EL0, EL1t.
        for mode in [0x5u64, 0x10, 0x4] {
            assert_eq!(
                corrupt(PSTATE_OFFSET, &mode.to_le_bytes()),
                Err(Errno::EINVAL)
            );
        }
        // Any of D, A, I, F.
        for bit in 6..10 {
            assert_eq!(
                corrupt(PSTATE_OFFSET, &(1u64 << bit).to_le_bytes()),
                Err(Errno::EINVAL)
            );
        }
        // Wrong fpsimd magic, wrong fpsimd size.
        assert_eq!(corrupt(592, &0x1234u32.to_le_bytes()), Err(Errno::EINVAL));
        assert_eq!(corrupt(596, &512u32.to_le_bytes()), Err(Errno::EINVAL));
        // Record size overrunning __reserved.
        assert_eq!(corrupt(596, &8192u32.to_le_bytes()), Err(Errno::EINVAL));
        // Esr record with size < 8 (would loop forever), misaligned size.
        let mut esr = Vec::new();
        esr.extend_from_slice(&ESR_MAGIC.to_le_bytes());
        esr.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(corrupt(1120, &esr), Err(Errno::EINVAL));
        esr[4..8].copy_from_slice(&24u32.to_le_bytes());
        assert_eq!(corrupt(1120, &esr), Err(Errno::EINVAL));
        // Terminator with a nonzero size.
        assert_eq!(corrupt(1136 + 4, &16u32.to_le_bytes()), Err(Errno::EINVAL));
        // Duplicate fpsimd record in place of the esr.
        let mut duplicate = Vec::new();
        duplicate.extend_from_slice(&FPSIMD_MAGIC.to_le_bytes());
        duplicate.extend_from_slice(&FPSIMD_CONTEXT_SIZE.to_le_bytes());
        assert_eq!(corrupt(1120, &duplicate), Err(Errno::EINVAL));
        // Unknown and extra_context records.
        let mut unknown = Vec::new();
        unknown.extend_from_slice(&EXTRA_MAGIC.to_le_bytes());
        unknown.extend_from_slice(&32u32.to_le_bytes());
        assert_eq!(corrupt(1120, &unknown), Err(Errno::EINVAL));
        // No fpsimd record at all: terminator first.
        assert_eq!(corrupt(592, &[0u8; 8]), Err(Errno::EINVAL));
        // No terminator anywhere: every record an ESR of 16 bytes to the end.
        let mut bytes = frame.bytes.clone();
        let mut offset = 1120;
        while offset + 16 <= RESERVED_OFFSET + RESERVED_SIZE {
            bytes[offset..offset + 4].copy_from_slice(&ESR_MAGIC.to_le_bytes());
            bytes[offset + 4..offset + 8].copy_from_slice(&16u32.to_le_bytes());
            offset += 16;
        }
        assert_eq!(
            parse_for_sigreturn(frame.address, &bytes),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn sigreturn_sanitizes_pstate_and_mask() {
        let (frame, _, _) = built_frame();
        let mut bytes = frame.bytes.clone();
        // NZCV + SS + IL + TCO + BTYPE + high garbage; mode EL0t, DAIF clear.
        let pstate: u64 = 0xf000_0000 | (1 << 21) | (1 << 20) | (1 << 25) | (3 << 10) | (1 << 40);
        bytes[PSTATE_OFFSET..PSTATE_OFFSET + 8].copy_from_slice(&pstate.to_le_bytes());
        bytes[UC_SIGMASK_OFFSET..UC_SIGMASK_OFFSET + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let restored = parse_for_sigreturn(frame.address, &bytes).unwrap();
        assert_eq!(restored.registers.pstate, 0xf000_0000);
        assert_eq!(restored.blocked, SignalSet::FULL.blockable());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(
                bytes in proptest::collection::vec(any::<u8>(), 0..FRAME_BYTES),
                address in any::<u64>(),
            ) {
                let _ = parse_for_sigreturn(address, &bytes);
            }

            #[test]
            fn any_registers_round_trip(
                x in proptest::array::uniform31(any::<u64>()),
                sp in 4704u64..u64::MAX,
                pc in any::<u64>(),
                nzcv in 0u64..16,
                v in proptest::array::uniform32(any::<u128>()),
                fpsr in any::<u32>(),
                fpcr in any::<u32>(),
                mask in any::<u64>(),
                syndrome in proptest::option::of(any::<u64>()),
            ) {
                let registers = UserRegisters { x, sp, pc, pstate: nzcv << 28 };
                let floating_point = FloatingPointRegisters { fpsr, fpcr, v };
                let info = SigInfo::user(Signal::SIGUSR1, 1, 0);
                let action = SigAction { handler: 0x1000, flags: SA_SIGINFO, ..SigAction::DEFAULT };
                let stack = AlternateStack::DISABLED;
                let frame = build_signal_frame(&FrameRequest {
                    info: &info,
                    action: &action,
                    registers: &registers,
                    floating_point: &floating_point,
                    saved_mask: SignalSet::from_bits(mask),
                    alternate_stack: &stack,
                    fault_address: 0,
                    exception_syndrome: syndrome,
                    vdso_sigreturn: 0,
                }).unwrap();
                prop_assert_eq!(frame.address % 16, 0);
                prop_assert!(frame.address + FRAME_BYTES as u64 <= sp);
                prop_assert!(sp - (frame.address + FRAME_BYTES as u64) < 16);
                let restored = parse_for_sigreturn(frame.address, &frame.bytes).unwrap();
                prop_assert_eq!(restored.registers, registers);
                prop_assert_eq!(restored.floating_point, floating_point);
                prop_assert_eq!(restored.blocked, SignalSet::from_bits(mask).blockable());
            }
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes() {
        // A cheap deterministic fuzz: flip words through the whole frame.
        let (frame, _, _) = built_frame();
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = frame.bytes.clone();
            let offset = (state as usize % (FRAME_SIZE / 4)) * 4;
            bytes[offset..offset + 4].copy_from_slice(&(state >> 32).to_le_bytes()[..4]);
            let _ = parse_for_sigreturn(frame.address, &bytes);
        }
    }
}
