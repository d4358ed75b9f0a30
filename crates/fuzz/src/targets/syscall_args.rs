//! Target `syscall_args`: the Linux personality's pure decoders of system-call arguments
//! and user structures, and the file-system calls on a small tree with arbitrary paths,
//! flags, modes and offsets.
//!
//! The first input byte picks a decoder; the rest is read through [`Source`], so inputs
//! are well-formed-ish calls. Invariants, per decoder:
//! - `sigaction`: parses exactly when 32 bytes are there, round-trips through `to_bytes`;
//!   `rt_sigaction` accepts only catchable signals 1..=64 and stores known flags and a
//!   blockable mask.
//! - `stack_t`: parses exactly when 24 bytes are there, round-trips; `sigaltstack` keeps
//!   an enabled stack only when it is large enough and the mode valid.
//! - signal frames: a frame built for any request parses back by `rt_sigreturn` to the
//!   same registers (pstate sanitised), FP state, mask (blockable part) and `uc_stack`;
//!   an arbitrary frame that parses has a sanitised pstate and a blockable mask.
//! - `clone`: the request mirrors the flags, only the low 32 bits count, and Linux's
//!   forbidden combinations are refused.
//! - `futex`: accepted operations have aligned addresses, nonzero bitsets, at least one
//!   wake and non-negative counts; timespecs convert exactly.
//! - paths: resolution never panics, resolved inodes exist, a trailing slash yields a
//!   directory, over-long paths fail with `ENAMETOOLONG`, `locate` agrees with `resolve`,
//!   and `getcwd` of a resolved directory resolves back to it.
//! - file-system calls: a failed call leaves the tree unchanged, and after every call the
//!   tree stays consistent ([`super::fs_check::check_tree`]).
//! - tty: `termios` and `winsize` round-trip byte for byte; only known ioctls decode.

use std::path::Path;
use std::sync::OnceLock;

use linux_personality::fs::flags::{
    AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, O_APPEND, O_CREAT,
    O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDWR, O_TRUNC, O_WRONLY, RENAME_EXCHANGE,
    RENAME_NOREPLACE, RENAME_WHITEOUT, SEEK_CUR, SEEK_END, SEEK_SET, UTIME_NOW, UTIME_OMIT,
};
use linux_personality::fs::ops::{self, AccessMode, OpenFile, OpenRequest, TimeUpdate};
use linux_personality::fs::path::{
    locate, resolve, resolve_parent, EmptyPath, Follow, Identity, LastComponent, Location,
    NAME_MAX, PATH_MAX,
};
use linux_personality::fs::{Fs, InodeId, RandomSource, Timespec};
use linux_personality::process::clone_flags::{
    CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_FILES, CLONE_FS, CLONE_NEWNS, CLONE_NEWUSER,
    CLONE_PARENT, CLONE_PARENT_SETTID, CLONE_PIDFD, CLONE_SETTLS, CLONE_SIGHAND, CLONE_THREAD,
    CLONE_UNSUPPORTED, CLONE_VFORK, CLONE_VM, FORK_FLAGS, MUSL_THREAD_FLAGS, VFORK_FLAGS,
};
use linux_personality::process::futex::{
    FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE, FUTEX_LOCK_PI, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE,
    FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP,
};
use linux_personality::process::{
    decode_clone, decode_futex, parse_timespec, CallerRole, CloneError, FutexArguments,
    FutexCommand, FutexScope, FutexTimeout, Inheritance, ThreadGroup, VforkWait,
};
use linux_personality::signal::frame::{FRAME_BYTES, FRAME_SIZE, PSTATE_NZCV_MASK};
use linux_personality::signal::frame::{
    PSTATE_OFFSET, RESERVED_OFFSET, UC_SIGMASK_OFFSET, UC_STACK_OFFSET,
};
use linux_personality::signal::state::{
    MINSIGSTKSZ, SA_KNOWN_FLAGS, SA_ONSTACK, SA_RESTORER, SA_SIGINFO, SIGACTION_SIZE,
    SS_AUTODISARM, SS_DISABLE, SS_ONSTACK, STACK_T_SIZE,
};
use linux_personality::signal::{
    build_signal_frame, parse_for_sigreturn, AlternateStack, FloatingPointRegisters, FrameRequest,
    SigAction, SigInfo, Signal, SignalActions, SignalSet, StackDescription, UserRegisters,
};
use linux_personality::tty::termios::ioctl;
use linux_personality::tty::{TerminalIoctl, Termios, Winsize, TERMIOS_SIZE, WINSIZE_SIZE};
use linux_personality::Errno;

use super::fs_check::{check_tree, fingerprint};
use super::Target;
use crate::rng::Rng;
use crate::source::Source;

pub const TARGET: Target = Target {
    name: "syscall_args",
    run,
    seeds,
    generate,
    max_length: 8 * 1024,
};

const NOW: Timespec = Timespec::new(1_700_000_000, 0);
const DECODERS: usize = 10;

fn run(input: &[u8]) {
    let mut source = Source::new(input);
    match source.below(DECODERS) {
        0 => sigaction(&mut source),
        1 => stack(&mut source),
        2 => frame_round_trip(&mut source),
        3 => sigreturn(&mut source),
        4 => clone(&mut source),
        5 => futex(&mut source),
        6 => paths(&mut source),
        7 | 8 => {
            // The counts only matter to the generator's test below.
            let _ = file_calls(&mut source);
        }
        _ => tty(&mut source),
    }
}

/// One input per decoder, then random ones.
fn seeds(_root: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = (0..DECODERS as u8)
        .map(|decoder| {
            let mut input = vec![decoder];
            input.extend((0..64_u8).map(|byte| byte.wrapping_mul(37)));
            input
        })
        .collect();
    let mut rng = Rng::new(0x5c);
    seeds.extend((0..32).map(|_| generate(&mut rng)));
    seeds
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let length = rng.pick(&[8, 32, 128, 512, 2048]);
    let mut input = rng.bytes(length);
    input[0] = rng.below(DECODERS) as u8;
    input
}

// ---------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------

const SIGNAL_NUMBERS: [u64; 10] = [0, 1, 9, 11, 17, 19, 32, 64, 65, u64::MAX];
const SA_FLAGS: [u64; 6] = [
    0,
    SA_SIGINFO,
    SA_SIGINFO | SA_RESTORER,
    SA_ONSTACK | SA_SIGINFO | SA_RESTORER,
    SA_KNOWN_FLAGS,
    u64::MAX,
];

fn sigaction(source: &mut Source<'_>) {
    let bytes = source.take_below(48);
    match SigAction::parse(bytes) {
        Ok(action) => {
            assert!(bytes.len() >= SIGACTION_SIZE);
            assert_eq!(&action.to_bytes()[..], &bytes[..SIGACTION_SIZE]);
            let number = source.word(&SIGNAL_NUMBERS);
            let mut actions = SignalActions::new();
            match actions.rt_sigaction(number, Some(action)) {
                Ok(change) => {
                    let signal = Signal::new(number).expect("accepted numbers are signals");
                    assert!(signal.is_catchable(), "a new action for {number}");
                    assert_eq!(change.old, SigAction::DEFAULT);
                    let stored = actions.action(signal);
                    assert_eq!(stored.flags, action.flags & SA_KNOWN_FLAGS);
                    assert_eq!(stored.mask, action.mask.blockable());
                    assert_eq!(
                        (stored.handler, stored.restorer),
                        (action.handler, action.restorer)
                    );
                }
                Err(error) => {
                    assert_eq!(error, Errno::EINVAL);
                    assert!(Signal::new(number).is_none_or(|signal| !signal.is_catchable()));
                }
            }
        }
        Err(error) => {
            assert_eq!(error, Errno::EFAULT);
            assert!(bytes.len() < SIGACTION_SIZE);
        }
    }
}

const STACK_FLAGS: [u64; 6] = [
    0,
    SS_ONSTACK as u64,
    SS_DISABLE as u64,
    SS_AUTODISARM as u64,
    (SS_AUTODISARM | SS_ONSTACK) as u64,
    3,
];
const STACK_SIZES: [u64; 5] = [0, MINSIGSTKSZ - 1, MINSIGSTKSZ, 0x10_0000, u64::MAX];

fn stack(source: &mut Source<'_>) {
    let bytes = source.take_below(32);
    match StackDescription::parse(bytes) {
        Ok(description) => {
            assert!(bytes.len() >= STACK_T_SIZE);
            let mut expected = [0_u8; STACK_T_SIZE];
            expected.copy_from_slice(&bytes[..STACK_T_SIZE]);
            expected[12..16].fill(0);
            assert_eq!(description.to_bytes(), expected);
            assert_eq!(
                StackDescription::parse(&description.to_bytes()),
                Ok(description)
            );
        }
        Err(error) => {
            assert_eq!(error, Errno::EFAULT);
            assert!(bytes.len() < STACK_T_SIZE);
        }
    }
    let request = StackDescription {
        base: source.word(&[0x7000_0000, 0x7fff_ffff_0000]),
        flags: source.word(&STACK_FLAGS) as u32,
        size: source.word(&STACK_SIZES),
    };
    let sp = source.word(&[0x7000_1000, 0x7fff_fff0_0000]);
    let mut alternate = AlternateStack::DISABLED;
    let mode = request.flags & !SS_AUTODISARM;
    match alternate.sigaltstack(Some(request), sp) {
        Ok(old) => {
            assert_eq!(old.flags, SS_DISABLE);
            if mode != SS_DISABLE {
                assert!(mode == 0 || mode == SS_ONSTACK, "mode {mode:#x} accepted");
                assert!(
                    request.size >= MINSIGSTKSZ,
                    "a {}-byte stack accepted",
                    request.size
                );
                assert_eq!(alternate.saved(), request);
            }
        }
        Err(error) => {
            assert!(
                matches!(error, Errno::EINVAL | Errno::ENOMEM),
                "{error:?} from a disabled stack"
            );
            assert_eq!(
                alternate,
                AlternateStack::DISABLED,
                "a refused change took effect"
            );
        }
    }
}

/// A frame request read from the input.
struct FrameInput {
    info: SigInfo,
    action: SigAction,
    registers: UserRegisters,
    floating_point: FloatingPointRegisters,
    saved_mask: SignalSet,
    alternate_stack: AlternateStack,
    fault_address: u64,
    exception_syndrome: Option<u64>,
}

const STACK_POINTERS: [u64; 6] = [
    0x7fff_ffff_f000,
    0x7fff_0000_0010,
    0x8000,
    FRAME_BYTES as u64,
    FRAME_BYTES as u64 + 16,
    0x7000_4000,
];

fn frame_input(source: &mut Source<'_>) -> FrameInput {
    let signal = Signal::new(1 + source.below(64) as u64).expect("1..=64 are signals");
    let info = if source.flag() {
        SigInfo::user(signal, source.raw_u64() as i32, source.raw_u64() as u32)
    } else {
        SigInfo::fault(signal, source.byte().into(), source.word(&[0, 0x1000]))
    };
    let action = SigAction {
        handler: source.word(&[0x40_1000]),
        flags: source.word(&SA_FLAGS),
        restorer: source.word(&[0x40_2000]),
        mask: SignalSet::from_bits(source.raw_u64()),
    };
    let mut registers = UserRegisters::default();
    for register in &mut registers.x {
        *register = source.word(&[]);
    }
    registers.sp = source.word(&STACK_POINTERS);
    registers.pc = source.word(&[0x40_1234]);
    registers.pstate = if source.one_in(4) {
        source.raw_u64()
    } else {
        source.raw_u64() & PSTATE_NZCV_MASK
    };
    let mut floating_point = FloatingPointRegisters {
        fpsr: source.raw_u64() as u32,
        fpcr: source.raw_u64() as u32,
        ..FloatingPointRegisters::default()
    };
    for register in floating_point.v.iter_mut().take(source.below(33)) {
        *register = u128::from(source.raw_u64()) << 64 | u128::from(source.raw_u64());
    }
    let mut alternate_stack = AlternateStack::DISABLED;
    if source.flag() {
        let request = StackDescription {
            base: source.word(&[0x7000_0000, u64::MAX - 0x1000]),
            flags: source.word(&STACK_FLAGS) as u32,
            size: source.word(&STACK_SIZES),
        };
        // Refused settings leave the stack disabled, which is as good a test.
        let _ = alternate_stack.sigaltstack(Some(request), registers.sp);
    }
    FrameInput {
        info,
        action,
        registers,
        floating_point,
        saved_mask: SignalSet::from_bits(source.raw_u64()),
        alternate_stack,
        fault_address: source.word(&[]),
        exception_syndrome: source.flag().then(|| source.raw_u64()),
    }
}

fn frame_round_trip(source: &mut Source<'_>) {
    let input = frame_input(source);
    let request = FrameRequest {
        info: &input.info,
        action: &input.action,
        registers: &input.registers,
        floating_point: &input.floating_point,
        saved_mask: input.saved_mask,
        alternate_stack: &input.alternate_stack,
        fault_address: input.fault_address,
        exception_syndrome: input.exception_syndrome,
        vdso_sigreturn: 0xffff_0000,
    };
    let top = input
        .alternate_stack
        .handler_stack_top(input.registers.sp, &input.action);
    let frame = match build_signal_frame(&request) {
        Ok(frame) => frame,
        Err(error) => {
            assert_eq!(error, Errno::EFAULT);
            assert!(
                top.is_err() || top.is_ok_and(|top| top < FRAME_BYTES as u64 + 16),
                "EFAULT for a stack top of {top:?}"
            );
            return;
        }
    };
    let top = top.expect("a frame was built below this top");
    assert_eq!(frame.address % 16, 0);
    assert_eq!(frame.bytes.len(), FRAME_BYTES);
    assert!(
        frame.address + FRAME_BYTES as u64 <= top,
        "the frame at {:#x} overlaps the stack top {top:#x}",
        frame.address
    );
    assert_eq!(frame.handler.sp, frame.address);
    assert_eq!(frame.handler.pc, input.action.handler);
    assert_eq!(frame.handler.x[0], u64::from(input.info.signal.number()));
    match parse_for_sigreturn(frame.address, &frame.bytes) {
        Ok(restored) => {
            let mut expected = input.registers;
            expected.pstate &= PSTATE_NZCV_MASK;
            assert_eq!(restored.registers, expected, "registers survive the frame");
            assert_eq!(restored.floating_point, input.floating_point);
            assert_eq!(restored.blocked, input.saved_mask.blockable());
            assert_eq!(restored.alternate_stack, input.alternate_stack.saved());
        }
        Err(error) => {
            assert_eq!(error, Errno::EINVAL);
            assert_ne!(
                input.registers.pstate & !PSTATE_NZCV_MASK,
                0,
                "a frame with a valid pstate is refused"
            );
        }
    }
}

/// Offsets in a frame where a wrong word matters most.
const FRAME_OFFSETS: [usize; 10] = [
    UC_SIGMASK_OFFSET,
    UC_STACK_OFFSET,
    UC_STACK_OFFSET + 8,
    PSTATE_OFFSET,
    RESERVED_OFFSET,
    RESERVED_OFFSET + 4,
    RESERVED_OFFSET + 528,
    RESERVED_OFFSET + 532,
    RESERVED_OFFSET + 544,
    FRAME_SIZE - 16,
];

fn sigreturn(source: &mut Source<'_>) {
    let input = frame_input(source);
    let request = FrameRequest {
        info: &input.info,
        action: &input.action,
        registers: &input.registers,
        floating_point: &input.floating_point,
        saved_mask: input.saved_mask,
        alternate_stack: &input.alternate_stack,
        fault_address: input.fault_address,
        exception_syndrome: input.exception_syndrome,
        vdso_sigreturn: 0,
    };
    let (address, mut bytes) = match build_signal_frame(&request) {
        Ok(frame) => (frame.address, frame.bytes),
        Err(_) => (0x7000_0000, vec![0; FRAME_BYTES]),
    };
    for _ in 0..source.below(6) {
        let offset = if source.flag() {
            source.pick(&FRAME_OFFSETS)
        } else {
            source.below(FRAME_SIZE / 4) * 4
        };
        let value = source.word(&[0x4650_8001, 0x4553_5201, 528, 16, 0]);
        let width = if source.flag() { 4 } else { 8 };
        if let Some(target) = bytes.get_mut(offset..offset + width) {
            target.copy_from_slice(&value.to_le_bytes()[..width]);
        }
    }
    if source.one_in(4) {
        let keep = source.below(FRAME_BYTES);
        bytes.truncate(keep);
    }
    let address = if source.one_in(8) {
        source.word(&[])
    } else {
        address
    };
    if let Ok(restored) = parse_for_sigreturn(address, &bytes) {
        assert_eq!(address % 16, 0);
        assert!(bytes.len() >= FRAME_SIZE);
        assert_eq!(
            restored.registers.pstate & !PSTATE_NZCV_MASK,
            0,
            "pstate not sanitised"
        );
        assert_eq!(
            restored.blocked,
            restored.blocked.blockable(),
            "SIGKILL/SIGSTOP blocked"
        );
    }
}

// ---------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------

const CLONE_WORDS: [u64; 16] = [
    FORK_FLAGS,
    VFORK_FLAGS,
    MUSL_THREAD_FLAGS,
    CLONE_THREAD,
    CLONE_SIGHAND | CLONE_VM,
    CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
    CLONE_PARENT,
    CLONE_PIDFD,
    CLONE_PIDFD | CLONE_PARENT_SETTID,
    CLONE_NEWNS | CLONE_FS,
    CLONE_NEWUSER,
    CLONE_SETTLS | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID,
    CLONE_FILES | CLONE_FS,
    CLONE_VFORK,
    0xff,
    1 << 32,
];

fn clone(source: &mut Source<'_>) {
    let mut flags = source.word(&CLONE_WORDS);
    for _ in 0..source.below(3) {
        flags |= source.word(&CLONE_WORDS);
    }
    let [stack, parent_tid, tls, child_tid] = [0; 4].map(|_: u64| source.word(&[0, 0x1000]));
    let caller = if source.flag() {
        CallerRole::Init
    } else {
        CallerRole::Ordinary
    };
    let result = decode_clone(flags, stack, parent_tid, tls, child_tid, caller);
    let low_flags = flags & 0xffff_ffff;
    assert_eq!(
        decode_clone(low_flags, stack, parent_tid, tls, child_tid, caller),
        result,
        "bits above 31 matter"
    );
    let has = |flag: u64| low_flags & flag != 0;
    let share = |flag: u64| {
        if has(flag) {
            Inheritance::Share
        } else {
            Inheritance::Copy
        }
    };
    match result {
        Ok(request) => {
            assert_eq!(request.memory, share(CLONE_VM));
            assert_eq!(request.files, share(CLONE_FILES));
            assert_eq!(request.filesystem, share(CLONE_FS));
            assert_eq!(request.signal_handlers, share(CLONE_SIGHAND));
            assert_eq!(request.thread_group == ThreadGroup::Same, has(CLONE_THREAD));
            assert_eq!(request.vfork == VforkWait::Wait, has(CLONE_VFORK));
            if request.thread_group == ThreadGroup::Same {
                assert_eq!(
                    request.signal_handlers,
                    Inheritance::Share,
                    "thread without SIGHAND"
                );
                assert_eq!(request.exit_signal, 0);
            } else {
                assert_eq!(u64::from(request.exit_signal), low_flags & 0xff);
            }
            assert_eq!(request.tls, has(CLONE_SETTLS).then_some(tls));
            assert_eq!(
                request.parent_tid,
                has(CLONE_PARENT_SETTID).then_some(parent_tid)
            );
            assert_eq!(
                request.child_set_tid,
                has(CLONE_CHILD_SETTID).then_some(child_tid)
            );
            assert_eq!(
                request.child_clear_tid,
                has(CLONE_CHILD_CLEARTID).then_some(child_tid)
            );
            assert_eq!(request.stack, (stack != 0).then_some(stack));
            assert_eq!(
                low_flags & CLONE_UNSUPPORTED,
                0,
                "unsupported flags accepted"
            );
            assert!(!(has(CLONE_PARENT) && caller == CallerRole::Init));
            assert!(!has(CLONE_SIGHAND) || has(CLONE_VM));
        }
        Err(error) => {
            assert_eq!(error.errno(), Errno::EINVAL);
            if let CloneError::Unsupported(bits) = error {
                assert!(bits != 0 && bits & !CLONE_UNSUPPORTED == 0 && bits & !low_flags == 0);
            }
        }
    }
}

const FUTEX_OPERATIONS: [u64; 12] = [
    FUTEX_WAIT as u64,
    FUTEX_WAKE as u64,
    FUTEX_REQUEUE as u64,
    FUTEX_CMP_REQUEUE as u64,
    FUTEX_WAKE_OP as u64,
    FUTEX_LOCK_PI as u64,
    FUTEX_WAIT_BITSET as u64,
    FUTEX_WAKE_BITSET as u64,
    (FUTEX_WAIT | FUTEX_PRIVATE_FLAG) as u64,
    (FUTEX_WAKE | FUTEX_PRIVATE_FLAG) as u64,
    (FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME | FUTEX_PRIVATE_FLAG) as u64,
    (FUTEX_WAKE | FUTEX_CLOCK_REALTIME) as u64,
];

fn futex(source: &mut Source<'_>) {
    let arguments = FutexArguments {
        address: source.word(&[0x7000_1000, 0x7000_1002]),
        operation: source.word(&FUTEX_OPERATIONS),
        value: source.word(&[0x7fff_ffff, 0x8000_0000, 0xffff_ffff]),
        timeout_or_value2: source.word(&[0, 0x7000_2000, 0x8000_0000]),
        address2: source.word(&[0x7000_3000, 0x7000_3001]),
        value3: source.word(&[0, 0xffff_ffff, 1]),
    };
    let operation = arguments.operation as u32;
    match decode_futex(&arguments) {
        Ok(request) => {
            assert_eq!(
                request.scope == FutexScope::Private,
                operation & FUTEX_PRIVATE_FLAG != 0
            );
            match request.command {
                FutexCommand::Wait {
                    address,
                    bitset,
                    timeout,
                    expected,
                } => {
                    assert_eq!(address % 4, 0);
                    assert_ne!(bitset, 0);
                    assert_eq!(expected, arguments.value as u32);
                    assert_eq!(
                        timeout == FutexTimeout::Never,
                        arguments.timeout_or_value2 == 0
                    );
                }
                FutexCommand::Wake {
                    address,
                    count,
                    bitset,
                } => {
                    assert_eq!(address % 4, 0);
                    assert!(count >= 1);
                    assert_ne!(bitset, 0);
                    assert_eq!(operation & FUTEX_CLOCK_REALTIME, 0);
                }
                FutexCommand::Requeue {
                    address,
                    target,
                    wake,
                    requeue,
                    ..
                } => {
                    assert_eq!(address % 4, 0);
                    assert_eq!(target % 4, 0);
                    assert!(wake <= i32::MAX as u32 && requeue <= i32::MAX as u32);
                    assert_eq!(operation & FUTEX_CLOCK_REALTIME, 0);
                }
            }
        }
        Err(error) => assert!(matches!(error, Errno::ENOSYS | Errno::EINVAL), "{error:?}"),
    }
    let timespec = source.take_below(20);
    if let Ok(nanoseconds) = parse_timespec(timespec) {
        let seconds = i64::from_le_bytes(timespec[..8].try_into().expect("8 bytes"));
        let fraction = i64::from_le_bytes(timespec[8..16].try_into().expect("8 bytes"));
        assert!(seconds >= 0 && (0..1_000_000_000).contains(&fraction));
        assert_eq!(
            nanoseconds,
            seconds as u128 * 1_000_000_000 + fraction as u128
        );
    }
}

// ---------------------------------------------------------------------------------
// Paths and file-system calls
// ---------------------------------------------------------------------------------

/// The tree the path and file targets run on, and the starting points they use.
struct SmallTree {
    fs: Fs,
    /// Root, `/dir/sub` and the regular file `/etc/passwd` (a `dirfd` that is no
    /// directory).
    starts: [InodeId; 3],
}

/// Limits of the small tree, low so writes and truncations reach them.
const CAPACITY: u64 = 1 << 20;
const MAX_FILE_SIZE: u64 = 64 * 1024;

const COMPONENTS: [&str; 26] = [
    "dir", "sub", "etc", "passwd", "bin", "sh", "loop", "up", "abs", "rel", "dangling", "chain",
    "back", ".", "..", "proc", "self", "fd", "0", "dev", "null", "tmp", "private", "missing",
    "new", "f",
];

fn small_tree() -> &'static SmallTree {
    static TREE: OnceLock<SmallTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut fs = Fs::new(NOW);
        fs.add_standard_nodes(NOW).expect("standard nodes");
        fs.set_capacity(CAPACITY);
        fs.set_max_file_size(MAX_FILE_SIZE);
        let root = fs.root();
        let who = Identity::ROOT;
        for (path, mode) in [
            ("/dir", 0o755),
            ("/dir/sub", 0o755),
            ("/etc", 0o755),
            ("/bin", 0o755),
            ("/private", 0o700),
            ("/sticky", 0o1777),
        ] {
            ops::mkdir(&mut fs, &who, root, path.as_bytes(), mode, 0, NOW).expect("mkdir");
        }
        for (path, mode, content) in [
            ("/etc/passwd", 0o644, &b"root:x:0:0::/:/bin/sh\n"[..]),
            ("/bin/sh", 0o755, b"\x7fELF"),
            ("/private/secret", 0o600, b"s"),
        ] {
            let request = OpenRequest {
                flags: O_CREAT | O_WRONLY,
                mode,
                umask: 0,
            };
            let mut file =
                ops::open(&mut fs, &who, root, path.as_bytes(), request, NOW).expect("create");
            ops::write(&mut fs, &mut file, content, NOW).expect("write");
            ops::close(&mut fs, &file);
        }
        for (target, path) in [
            ("/loop", "/loop"),
            ("..", "/up"),
            ("/etc", "/abs"),
            ("dir/sub", "/rel"),
            ("/nowhere", "/dangling"),
            ("/rel", "/chain"),
            ("../..", "/dir/sub/back"),
            ("/proc/self/fd/0", "/dir/fd0"),
        ] {
            ops::symlink(&mut fs, &who, target.as_bytes(), root, path.as_bytes(), NOW)
                .expect("symlink");
        }
        let sub = resolve(
            &fs,
            &who,
            root,
            b"/dir/sub",
            Follow::Follow,
            EmptyPath::Refuse,
        )
        .expect("/dir/sub");
        let passwd = resolve(
            &fs,
            &who,
            root,
            b"/etc/passwd",
            Follow::Follow,
            EmptyPath::Refuse,
        )
        .expect("/etc/passwd");
        check_tree(&fs);
        SmallTree {
            fs,
            starts: [root, sub, passwd],
        }
    })
}

/// A path: raw bytes, or components joined with slashes, sometimes padded to the edges
/// of `PATH_MAX` or carrying over-long names.
fn path_bytes(source: &mut Source<'_>) -> Vec<u8> {
    match source.byte() % 16 {
        0 | 1 => return source.take_below(24).to_vec(),
        2 => {
            let mut path = vec![b'/'; PATH_MAX - 2 + source.below(4)];
            path.extend_from_slice(b"etc");
            return path;
        }
        3 => return vec![b'n'; NAME_MAX + source.below(2)],
        _ => {}
    }
    let mut path = Vec::new();
    if source.flag() {
        path.push(b'/');
    }
    let count = 1 + source.below(6);
    for index in 0..count {
        path.extend_from_slice(source.pick(&COMPONENTS).as_bytes());
        if index + 1 < count {
            path.push(b'/');
            if source.one_in(8) {
                path.push(b'/');
            }
        }
    }
    if source.one_in(6) {
        path.push(b'/');
    }
    path
}

fn identity(source: &mut Source<'_>) -> Identity {
    if source.one_in(4) {
        Identity {
            uid: 1000,
            gid: 1000,
        }
    } else {
        Identity::ROOT
    }
}

fn paths(source: &mut Source<'_>) {
    let tree = small_tree();
    let fs = &tree.fs;
    let who = identity(source);
    let start = source.pick(&tree.starts);
    let path = path_bytes(source);
    let follow = if source.flag() {
        Follow::Follow
    } else {
        Follow::NoFollow
    };
    let empty = if source.flag() {
        EmptyPath::Allow
    } else {
        EmptyPath::Refuse
    };
    let resolved = resolve(fs, &who, start, &path, follow, empty);
    let located = locate(fs, &who, start, &path, follow, empty);
    let parent = resolve_parent(fs, &who, start, &path);
    if path.len() >= PATH_MAX {
        assert_eq!(resolved, Err(Errno::ENAMETOOLONG));
        assert_eq!(located, Err(Errno::ENAMETOOLONG));
        assert_eq!(parent, Err(Errno::ENAMETOOLONG));
    }
    if let Ok(id) = resolved {
        let inode = fs.inode(id).expect("resolved inodes exist");
        if path.last() == Some(&b'/') {
            assert!(
                inode.is_directory(),
                "a trailing slash resolved to a non-directory"
            );
        }
        if inode.is_directory() && !inode.is_removed_directory() {
            let cwd = ops::getcwd(fs, id).expect("getcwd of a live directory");
            let back = resolve(
                fs,
                &Identity::ROOT,
                fs.root(),
                &cwd,
                Follow::NoFollow,
                EmptyPath::Refuse,
            );
            assert_eq!(
                back,
                Ok(id),
                "getcwd gave {:?}",
                String::from_utf8_lossy(&cwd)
            );
        }
    }
    if let Ok(Location::Inode(id)) = located {
        assert_eq!(resolved, Ok(id), "locate and resolve disagree");
    }
    if let Ok(parent) = parent {
        assert!(fs
            .inode(parent.directory)
            .expect("parent exists")
            .is_directory());
        if let LastComponent::Normal(name) = parent.last {
            assert!(!name.is_empty() && name.len() <= NAME_MAX && !name.contains(&b'/'));
            assert!(name != b"." && name != b"..");
        }
    }
}

const OPEN_FLAGS: [u64; 12] = [
    0,
    O_WRONLY as u64,
    O_RDWR as u64,
    3,
    (O_CREAT | O_RDWR) as u64,
    (O_CREAT | O_EXCL | O_WRONLY) as u64,
    (O_TRUNC | O_WRONLY) as u64,
    (O_APPEND | O_WRONLY) as u64,
    O_DIRECTORY as u64,
    (O_CREAT | O_DIRECTORY) as u64,
    (O_NOFOLLOW | O_PATH) as u64,
    O_PATH as u64,
];
const AT_FLAGS: [u64; 6] = [
    0,
    AT_SYMLINK_NOFOLLOW as u64,
    AT_REMOVEDIR as u64,
    AT_SYMLINK_FOLLOW as u64,
    AT_EMPTY_PATH as u64,
    (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) as u64,
];
const MODES: [u64; 5] = [0o644, 0o755, 0o7777, 0o170_777, 0];
const OFFSETS: [u64; 6] = [0, 1, 4096, 64 * 1024, (-1_i64) as u64, i64::MAX as u64];

/// Deterministic bytes for `/dev/urandom`-style reads.
struct CountingRandom(u8);

impl RandomSource for CountingRandom {
    fn fill(&mut self, buffer: &mut [u8]) {
        for byte in buffer {
            self.0 = self.0.wrapping_add(1);
            *byte = self.0;
        }
    }
}

/// Runs a sequence of calls; returns how many there were and how many succeeded.
fn file_calls(source: &mut Source<'_>) -> (usize, usize) {
    let tree = small_tree();
    let mut fs = tree.fs.clone();
    let mut files: Vec<OpenFile> = Vec::new();
    let mut cwd = tree.starts[0];
    let mut random = CountingRandom(0);
    let calls = 1 + source.below(8);
    let mut succeeded = 0;
    for _ in 0..calls {
        let who = identity(source);
        let before = fingerprint(&fs);
        let call = source.below(20);
        let outcome = file_call(
            source,
            &mut fs,
            &who,
            &mut files,
            &mut cwd,
            call,
            &mut random,
        );
        match outcome {
            Ok(()) => succeeded += 1,
            Err(error) => assert_eq!(
                fingerprint(&fs),
                before,
                "call {call} failed with {error:?} but changed the tree"
            ),
        }
        check_tree(&fs);
    }
    for file in &files {
        ops::close(&mut fs, file);
    }
    check_tree(&fs);
    (calls, succeeded)
}

fn file_call(
    source: &mut Source<'_>,
    fs: &mut Fs,
    who: &Identity,
    files: &mut Vec<OpenFile>,
    cwd: &mut InodeId,
    call: usize,
    random: &mut CountingRandom,
) -> Result<(), Errno> {
    let start = *cwd;
    let chosen = if files.is_empty() {
        None
    } else {
        Some(source.below(files.len()))
    };
    match call {
        0 | 1 => {
            let flags = source.word(&OPEN_FLAGS) as u32;
            let request = OpenRequest {
                flags,
                mode: source.word(&MODES) as u32,
                umask: source.word(&[0o022, 0o777]) as u32,
            };
            let path = path_bytes(source);
            let file = ops::open(fs, who, start, &path, request, NOW)?;
            if flags & O_PATH != 0 {
                assert_eq!(file.access, AccessMode::PathOnly);
            } else {
                assert_eq!(
                    file.access.bits(),
                    flags & 3,
                    "access mode of flags {flags:#o}"
                );
            }
            files.push(file);
        }
        2 => {
            let Some(index) = chosen else { return Ok(()) };
            let mut buffer = vec![0_u8; source.below(300)];
            ops::read(fs, &mut files[index], &mut buffer, random, NOW)?;
        }
        3 => {
            let Some(index) = chosen else { return Ok(()) };
            let data = source.take_below(80).to_vec();
            let append = files[index].status_flags & O_APPEND != 0;
            if let ops::Transfer::Done(count) = ops::write(fs, &mut files[index], &data, NOW)? {
                // Linux writes what fits below the file-size limit and reports the rest
                // only by the short count.
                let end = files[index].offset;
                assert!(
                    count == data.len() || (count < data.len() && end == MAX_FILE_SIZE),
                    "wrote {count} of {} bytes, ending at {end} (append: {append})",
                    data.len()
                );
            }
        }
        4 => {
            let Some(index) = chosen else { return Ok(()) };
            let offset = source.word(&OFFSETS) as i64;
            if source.flag() {
                let data = source.take_below(40).to_vec();
                ops::pwrite(fs, &files[index], &data, offset, NOW)?;
            } else {
                let mut buffer = vec![0_u8; source.below(64)];
                ops::pread(fs, &files[index], &mut buffer, offset, random, NOW)?;
            }
        }
        5 => {
            let Some(index) = chosen else { return Ok(()) };
            let offset = source.word(&OFFSETS) as i64;
            let whence = source.word(&[SEEK_SET as u64, SEEK_CUR as u64, SEEK_END as u64, 3, 4]);
            let position = ops::lseek(fs, &mut files[index], offset, whence as u32)?;
            assert_eq!(
                position, files[index].offset,
                "lseek result and offset differ"
            );
        }
        6 => {
            let length = source.word(&OFFSETS) as i64;
            match chosen {
                Some(index) if source.flag() => ops::ftruncate(fs, &files[index], length, NOW)?,
                _ => {
                    let path = path_bytes(source);
                    ops::truncate(fs, who, start, &path, length, NOW)?;
                }
            }
        }
        7 => {
            let path = path_bytes(source);
            let mode = source.word(&MODES) as u32;
            ops::mkdir(fs, who, start, &path, mode, 0o022, NOW)?;
        }
        8 => {
            let path = path_bytes(source);
            let flags = source.word(&AT_FLAGS) as u32;
            ops::unlinkat(fs, who, start, &path, flags, NOW)?;
        }
        9 => {
            let old = path_bytes(source);
            let new = path_bytes(source);
            let flags = source.word(&[
                0,
                RENAME_NOREPLACE as u64,
                RENAME_EXCHANGE as u64,
                RENAME_WHITEOUT as u64,
                7,
            ]) as u32;
            ops::rename(fs, who, start, &old, start, &new, flags, NOW)?;
        }
        10 => {
            let old = path_bytes(source);
            let new = path_bytes(source);
            let flags = source.word(&AT_FLAGS) as u32;
            ops::link(fs, who, start, &old, start, &new, flags, NOW)?;
        }
        11 => {
            let target = path_bytes(source);
            let path = path_bytes(source);
            ops::symlink(fs, who, &target, start, &path, NOW)?;
        }
        12 => {
            let path = path_bytes(source);
            let mode = source.word(&MODES) as u32;
            let follow = if source.flag() {
                Follow::Follow
            } else {
                Follow::NoFollow
            };
            ops::chmod_path(fs, who, start, &path, mode, follow, NOW)?;
        }
        13 => {
            let path = path_bytes(source);
            let nanoseconds = [UTIME_NOW as u64, UTIME_OMIT as u64, 5, 1_000_000_000];
            let times = if source.flag() {
                None
            } else {
                let access = TimeUpdate::from_raw(
                    source.word(&[]) as i64,
                    source.word(&nanoseconds) as i64,
                )?;
                let modification = TimeUpdate::from_raw(
                    source.word(&[]) as i64,
                    source.word(&nanoseconds) as i64,
                )?;
                Some([access, modification])
            };
            let flags = source.word(&AT_FLAGS) as u32;
            ops::utimens_path(fs, who, start, &path, times, flags, NOW)?;
        }
        14 => {
            let path = path_bytes(source);
            let flags = source.word(&AT_FLAGS) as u32;
            let stat = ops::stat_path(fs, who, start, &path, flags)?;
            assert!(stat.size >= 0);
        }
        15 => {
            let path = path_bytes(source);
            let mode = source.word(&[0, 1, 2, 4, 7, 8]) as u32;
            let flags = source.word(&AT_FLAGS) as u32;
            ops::access(fs, who, start, &path, mode, flags)?;
        }
        16 => {
            let Some(index) = chosen else { return Ok(()) };
            let mut buffer = vec![0_u8; source.word(&[0, 18, 19, 24, 4096]) as usize % 8192];
            let written = ops::getdents64(fs, &mut files[index], &mut buffer)?;
            assert!(written <= buffer.len());
        }
        17 => {
            let path = path_bytes(source);
            let directory = ops::chdir(fs, who, start, &path)?;
            let name = ops::getcwd(fs, directory)?;
            let back = resolve(
                fs,
                &Identity::ROOT,
                fs.root(),
                &name,
                Follow::NoFollow,
                EmptyPath::Refuse,
            );
            assert_eq!(
                back,
                Ok(directory),
                "getcwd gave {:?}",
                String::from_utf8_lossy(&name)
            );
            *cwd = directory;
        }
        18 => {
            let path = path_bytes(source);
            let target = ops::readlink(fs, who, start, &path)?;
            assert!(!target.is_empty(), "an empty link target");
        }
        _ => {
            if let Some(index) = chosen {
                let file = files.swap_remove(index);
                ops::close(fs, &file);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Terminal
// ---------------------------------------------------------------------------------

const KNOWN_IOCTLS: [u32; 10] = [
    ioctl::TCGETS,
    ioctl::TCSETS,
    ioctl::TCSETSW,
    ioctl::TCSETSF,
    ioctl::TCFLSH,
    ioctl::TIOCGPGRP,
    ioctl::TIOCSPGRP,
    ioctl::TIOCGWINSZ,
    ioctl::TIOCSWINSZ,
    ioctl::FIONREAD,
];

fn tty(source: &mut Source<'_>) {
    let mut termios = [0_u8; TERMIOS_SIZE];
    for byte in &mut termios {
        *byte = source.byte();
    }
    assert_eq!(
        Termios::from_bytes(&termios).to_bytes(),
        termios,
        "termios round trip"
    );
    let mut winsize = [0_u8; WINSIZE_SIZE];
    for byte in &mut winsize {
        *byte = source.byte();
    }
    assert_eq!(
        Winsize::from_bytes(&winsize).to_bytes(),
        winsize,
        "winsize round trip"
    );
    let known: Vec<u64> = KNOWN_IOCTLS
        .iter()
        .map(|request| u64::from(*request))
        .collect();
    let request = source.word(&known) as u32;
    assert_eq!(
        TerminalIoctl::from_request(request).is_some(),
        KNOWN_IOCTLS.contains(&request),
        "ioctl {request:#x}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random call sequences must succeed often enough to change the tree.
    #[test]
    fn generated_file_calls_often_succeed() {
        let mut rng = Rng::new(21);
        let (mut calls, mut succeeded) = (0, 0);
        for _ in 0..2000 {
            let input = generate(&mut rng);
            let (made, passed) = file_calls(&mut Source::new(&input[1..]));
            calls += made;
            succeeded += passed;
        }
        println!("{succeeded} of {calls} file calls succeeded");
        assert!(succeeded * 10 > calls, "{succeeded} of {calls} succeeded");
    }
}
