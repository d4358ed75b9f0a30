//! Signal bookkeeping as Linux keeps it: per-process dispositions (`rt_sigaction`),
//! per-thread blocked masks, pending sets (thread-directed and process-directed),
//! `rt_sigprocmask`, `rt_sigpending`, the choice of the next signal to deliver and what
//! delivering it means, `sigaltstack`, and the `execve` and `fork` rules.
//!
//! Sharing follows Linux's split: [`SignalActions`] is the handler table (shared by
//! `CLONE_SIGHAND`), one [`PendingSignals`] per process holds process-directed signals
//! (shared by `CLONE_THREAD`), and each thread has its own [`ThreadSignals`]. The caller
//! owns the sharing; every function here works on the pieces it is given.

use super::info::{SigInfo, SI_USER};
use super::numbers::{DefaultAction, Signal, SignalSet};
use crate::errno::Errno;
use alloc::vec::Vec;

/// `SIG_DFL`: the default action.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`: ignore the signal.
pub const SIG_IGN: u64 = 1;

/// Do not send `SIGCHLD` when a child stops or continues.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
/// Do not turn exiting children into zombies.
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
/// The handler takes `(signo, siginfo *, ucontext *)`.
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// Keep tag bits in `si_addr` (arm64 MTE/TBI); accepted and kept, no effect here.
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
/// `sa_restorer` holds the return trampoline (arm64 value).
pub const SA_RESTORER: u64 = 0x0400_0000;
/// Run the handler on the alternate signal stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// Restart interrupted system calls.
pub const SA_RESTART: u64 = 0x1000_0000;
/// Do not block the signal while its handler runs.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// Reset the handler to `SIG_DFL` on delivery.
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The flags Linux keeps (`UAPI_SA_FLAGS`); others are cleared so programs can probe
/// for support, as Linux does since 5.11.
pub const SA_KNOWN_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND;

/// The only `sigsetsize` the kernel accepts: its `sigset_t` is 8 bytes.
pub const SIGSET_SIZE: u64 = 8;
/// Size of `struct sigaction` as `rt_sigaction` reads it on arm64:
/// `sa_handler` 0, `sa_flags` 8, `sa_restorer` 16, `sa_mask` 24.
pub const SIGACTION_SIZE: usize = 32;

/// `rt_sigprocmask`: add to the mask.
pub const SIG_BLOCK: u64 = 0;
/// `rt_sigprocmask`: remove from the mask.
pub const SIG_UNBLOCK: u64 = 1;
/// `rt_sigprocmask`: replace the mask.
pub const SIG_SETMASK: u64 = 2;

/// `ss_flags`: the thread is running on the alternate stack.
pub const SS_ONSTACK: u32 = 1;
/// `ss_flags`: the alternate stack is disabled.
pub const SS_DISABLE: u32 = 2;
/// `ss_flags`: disable the alternate stack while a handler runs on it.
pub const SS_AUTODISARM: u32 = 1 << 31;
/// arm64's smallest alternate stack (`ENOMEM` below it).
pub const MINSIGSTKSZ: u64 = 5120;
/// arm64's suggested alternate stack size.
pub const SIGSTKSZ: u64 = 16384;
/// Size of `stack_t`: `ss_sp` 0, `ss_flags` 8 (`int`), `ss_size` 16.
pub const STACK_T_SIZE: usize = 24;

/// Bound on queued signal instances per pending set, standing in for Linux's
/// `RLIMIT_SIGPENDING` so a program cannot grow the server's memory without limit.
pub const MAX_QUEUED_SIGNALS: usize = 1024;

/// Rejects any `sigsetsize` but 8, as every `rt_sig*` call does first.
///
/// # Errors
/// `EINVAL` if `size != 8`.
pub const fn check_sigset_size(size: u64) -> Result<(), Errno> {
    if size == SIGSET_SIZE {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// What a handler value means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// `SIG_DFL`.
    Default,
    /// `SIG_IGN`.
    Ignore,
    /// A handler at this address.
    Handler(u64),
}

/// One signal's `struct sigaction` (the kernel's `k_sigaction` as arm64 passes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigAction {
    /// `sa_handler`/`sa_sigaction`: `SIG_DFL`, `SIG_IGN` or a handler address.
    pub handler: u64,
    /// `sa_flags`.
    pub flags: u64,
    /// `sa_restorer`: the return trampoline when `SA_RESTORER` is set.
    pub restorer: u64,
    /// `sa_mask`: blocked while the handler runs.
    pub mask: SignalSet,
}

impl SigAction {
    /// `SIG_DFL` with no flags, restorer or mask.
    pub const DEFAULT: SigAction = SigAction {
        handler: SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: SignalSet::EMPTY,
    };

    /// Parses the 32 bytes `rt_sigaction` reads.
    ///
    /// # Errors
    /// `EFAULT` if `bytes` is shorter than [`SIGACTION_SIZE`].
    pub fn parse(bytes: &[u8]) -> Result<SigAction, Errno> {
        let bytes = bytes.get(..SIGACTION_SIZE).ok_or(Errno::EFAULT)?;
        Ok(SigAction {
            handler: read_u64(bytes, 0).ok_or(Errno::EFAULT)?,
            flags: read_u64(bytes, 8).ok_or(Errno::EFAULT)?,
            restorer: read_u64(bytes, 16).ok_or(Errno::EFAULT)?,
            mask: SignalSet::from_bits(read_u64(bytes, 24).ok_or(Errno::EFAULT)?),
        })
    }

    /// The 32 bytes `rt_sigaction` writes back for the old action.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; SIGACTION_SIZE] {
        let mut bytes = [0u8; SIGACTION_SIZE];
        for (index, word) in [self.handler, self.flags, self.restorer, self.mask.bits()]
            .into_iter()
            .enumerate()
        {
            if let Some(target) = bytes.get_mut(index * 8..index * 8 + 8) {
                target.copy_from_slice(&word.to_le_bytes());
            }
        }
        bytes
    }

    /// What the handler value means.
    #[must_use]
    pub const fn disposition(&self) -> Disposition {
        match self.handler {
            SIG_DFL => Disposition::Default,
            SIG_IGN => Disposition::Ignore,
            address => Disposition::Handler(address),
        }
    }

    /// True if every bit of `flag` is set.
    #[must_use]
    pub const fn has_flag(&self, flag: u64) -> bool {
        self.flags & flag == flag
    }
}

/// The outcome of a successful `rt_sigaction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigActionChange {
    /// The previous action, for `oldact`.
    pub old: SigAction,
    /// Set when the new action ignores the signal: Linux then discards it from every
    /// pending set of the process. The table does not own those sets, so the caller
    /// calls [`PendingSignals::discard`] on the process's shared set and each thread's.
    pub discard_pending: Option<Signal>,
}

/// A process's signal dispositions (the handler table `CLONE_SIGHAND` shares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalActions {
    actions: [SigAction; 64],
}

impl Default for SignalActions {
    fn default() -> Self {
        SignalActions::new()
    }
}

impl SignalActions {
    /// Every signal at `SIG_DFL`.
    #[must_use]
    pub const fn new() -> SignalActions {
        SignalActions {
            actions: [SigAction::DEFAULT; 64],
        }
    }

    /// The current action for `signal`.
    #[must_use]
    pub fn action(&self, signal: Signal) -> SigAction {
        self.actions
            .get(usize::from(signal.number() - 1))
            .copied()
            .unwrap_or(SigAction::DEFAULT)
    }

    fn action_mut(&mut self, signal: Signal) -> Option<&mut SigAction> {
        self.actions.get_mut(usize::from(signal.number() - 1))
    }

    /// `rt_sigaction(signal_number, act, oldact)` after the caller has checked
    /// `sigsetsize` ([`check_sigset_size`]) and read `act` ([`SigAction::parse`]).
    /// Unknown flag bits are dropped and `SIGKILL`/`SIGSTOP` removed from the mask.
    ///
    /// # Errors
    /// `EINVAL` for a number outside 1..=64, or for a new action on `SIGKILL` or
    /// `SIGSTOP` (querying them is allowed).
    pub fn rt_sigaction(
        &mut self,
        signal_number: u64,
        new: Option<SigAction>,
    ) -> Result<SigActionChange, Errno> {
        let signal = Signal::new(signal_number).ok_or(Errno::EINVAL)?;
        if new.is_some() && !signal.is_catchable() {
            return Err(Errno::EINVAL);
        }
        let slot = self.action_mut(signal).ok_or(Errno::EINVAL)?;
        let old = *slot;
        let mut discard_pending = None;
        if let Some(mut action) = new {
            action.flags &= SA_KNOWN_FLAGS;
            action.mask = action.mask.blockable();
            *slot = action;
            if handler_ignores(action.handler, signal) {
                discard_pending = Some(signal);
            }
        }
        Ok(SigActionChange {
            old,
            discard_pending,
        })
    }

    /// True if a signal sent now would be discarded: `SIG_IGN`, or `SIG_DFL` for a
    /// signal whose default is to ignore (CHLD, URG, WINCH, and CONT, whose continuing
    /// happens when it is sent). `SIGKILL` and `SIGSTOP` are never ignored.
    #[must_use]
    pub fn ignores(&self, signal: Signal) -> bool {
        signal.is_catchable() && handler_ignores(self.action(signal).handler, signal)
    }

    /// `execve`: handlers become `SIG_DFL`, ignored signals stay ignored, and every
    /// action loses its flags, restorer and mask (Linux's `flush_signal_handlers`).
    pub fn reset_for_exec(&mut self) {
        for action in &mut self.actions {
            let handler = if action.handler == SIG_IGN {
                SIG_IGN
            } else {
                SIG_DFL
            };
            *action = SigAction {
                handler,
                ..SigAction::DEFAULT
            };
        }
    }

    /// Sets `signal` back to `SIG_DFL`, keeping flags and mask (`SA_RESETHAND`).
    fn reset_handler(&mut self, signal: Signal) {
        if let Some(action) = self.action_mut(signal) {
            action.handler = SIG_DFL;
        }
    }
}

/// Linux's `sig_handler_ignored`.
fn handler_ignores(handler: u64, signal: Signal) -> bool {
    match handler {
        SIG_IGN => true,
        SIG_DFL => matches!(
            signal.default_action(),
            DefaultAction::Ignore | DefaultAction::Continue
        ),
        _ => false,
    }
}

/// Whether a sent signal was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    /// Queued with its information.
    Queued,
    /// Marked pending without its information (the queue was full); it arrives with
    /// `SI_USER` and zero sender fields, as in Linux.
    QueuedWithoutInfo,
    /// A standard signal already pending: instances do not accumulate.
    AlreadyPending,
    /// Discarded because the target ignores it.
    Ignored,
}

/// A set of pending signals with the queued information of each instance.
///
/// # Invariants
/// Every queued entry's signal is in `set`; a standard signal has at most one entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingSignals {
    set: SignalSet,
    queue: Vec<SigInfo>,
}

impl PendingSignals {
    /// Nothing pending.
    #[must_use]
    pub const fn new() -> PendingSignals {
        PendingSignals {
            set: SignalSet::EMPTY,
            queue: Vec::new(),
        }
    }

    /// The pending signals.
    #[must_use]
    pub const fn set(&self) -> SignalSet {
        self.set
    }

    /// Number of queued instances with information.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queues `info`. Standard signals (1..=31) already pending are dropped; real-time
    /// signals queue each instance. When [`MAX_QUEUED_SIGNALS`] entries are queued the
    /// signal is still marked pending without its information, except for `sigqueue`-
    /// style real-time signals (`si_code` other than `SI_USER`), which fail with `EAGAIN`.
    ///
    /// # Errors
    /// `EAGAIN` as described.
    pub fn enqueue(&mut self, info: SigInfo) -> Result<QueueOutcome, Errno> {
        let signal = info.signal;
        if !signal.is_realtime() && self.set.contains(signal) {
            return Ok(QueueOutcome::AlreadyPending);
        }
        if self.queue.len() >= MAX_QUEUED_SIGNALS {
            if signal.is_realtime() && info.code != SI_USER {
                return Err(Errno::EAGAIN);
            }
            self.set = self.set.with(signal);
            return Ok(QueueOutcome::QueuedWithoutInfo);
        }
        self.queue.push(info);
        self.set = self.set.with(signal);
        Ok(QueueOutcome::Queued)
    }

    /// Removes the oldest instance of `signal`, returning its information (or the
    /// information Linux synthesises when none was kept), or `None` if not pending.
    pub fn take(&mut self, signal: Signal) -> Option<SigInfo> {
        if !self.set.contains(signal) {
            return None;
        }
        let position = self.queue.iter().position(|info| info.signal == signal);
        let info = match position {
            Some(index) => self.queue.remove(index),
            None => SigInfo::lost(signal),
        };
        if !self.queue.iter().any(|queued| queued.signal == signal) {
            self.set = self.set.without(signal);
        }
        Some(info)
    }

    /// Removes the first queued kernel-generated fault signal not in `blocked`
    /// (Linux's `dequeue_synchronous_signal`).
    fn take_synchronous(&mut self, blocked: SignalSet) -> Option<SigInfo> {
        let deliverable = self
            .set
            .difference(blocked)
            .intersection(SignalSet::SYNCHRONOUS);
        if deliverable.is_empty() {
            return None;
        }
        let index = self
            .queue
            .iter()
            .position(|info| deliverable.contains(info.signal) && info.is_from_kernel())?;
        let info = self.queue.remove(index);
        if !self.queue.iter().any(|queued| queued.signal == info.signal) {
            self.set = self.set.without(info.signal);
        }
        Some(info)
    }

    /// Discards every pending instance of the signals in `signals`.
    pub fn discard(&mut self, signals: SignalSet) {
        self.queue.retain(|info| !signals.contains(info.signal));
        self.set = self.set.difference(signals);
    }
}

/// What sending a signal does before it is queued (Linux's `prepare_signal`). The
/// caller applies `discard` to every pending set of the target process and, when
/// `resumes_stopped`, resumes a stopped process — even if the signal itself is then
/// ignored or blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendEffects {
    /// Signals to discard from every pending set of the process.
    pub discard: SignalSet,
    /// The process must be resumed if stopped (`SIGCONT`, and `SIGKILL` so it can die).
    pub resumes_stopped: bool,
}

/// The side effects of sending `signal` (see [`SendEffects`]).
#[must_use]
pub fn send_effects(signal: Signal) -> SendEffects {
    if SignalSet::STOP.contains(signal) {
        SendEffects {
            discard: SignalSet::of(Signal::SIGCONT),
            resumes_stopped: false,
        }
    } else if signal == Signal::SIGCONT {
        SendEffects {
            discard: SignalSet::STOP,
            resumes_stopped: true,
        }
    } else {
        SendEffects {
            discard: SignalSet::EMPTY,
            resumes_stopped: signal == Signal::SIGKILL,
        }
    }
}

/// Queues `info` on `pending` (a thread's set for `tkill`/`tgkill`/faults, the process
/// set for `kill`) unless the target ignores it. A blocked signal is never ignored at
/// send time, since the handler may change before it is unblocked; `blocked` is the
/// mask of the thread that would take it (for a process-directed signal, Linux uses the
/// thread it was sent to, normally the leader).
///
/// # Errors
/// `EAGAIN` from [`PendingSignals::enqueue`].
pub fn send_signal(
    actions: &SignalActions,
    blocked: SignalSet,
    pending: &mut PendingSignals,
    info: SigInfo,
) -> Result<QueueOutcome, Errno> {
    if !blocked.contains(info.signal) && actions.ignores(info.signal) {
        return Ok(QueueOutcome::Ignored);
    }
    pending.enqueue(info)
}

/// Queues a fault signal that must not be lost (Linux's `force_sig_info`): if the thread
/// blocks or ignores it, its action becomes `SIG_DFL` and it is unblocked, so a fault
/// with `SIGSEGV` blocked or ignored kills the process.
///
/// # Errors
/// `EAGAIN` from [`PendingSignals::enqueue`] (not for standard fault signals).
pub fn force_signal(
    actions: &mut SignalActions,
    thread: &mut ThreadSignals,
    info: SigInfo,
) -> Result<QueueOutcome, Errno> {
    let signal = info.signal;
    let ignored = actions.action(signal).handler == SIG_IGN;
    let blocked = thread.blocked.contains(signal);
    if ignored || blocked {
        actions.reset_handler(signal);
        thread.blocked = thread.blocked.without(signal);
    }
    thread.pending.enqueue(info)
}

/// The `SIGSEGV` Linux raises when it cannot build a signal frame (Linux's
/// `force_sigsegv`): if the failed signal was `SIGSEGV` itself its handler is reset so
/// the process dies instead of faulting forever.
///
/// # Errors
/// Never in practice (`SIGSEGV` is a standard signal); see [`force_signal`].
pub fn force_sigsegv(
    actions: &mut SignalActions,
    thread: &mut ThreadSignals,
    failed: Signal,
) -> Result<QueueOutcome, Errno> {
    if failed == Signal::SIGSEGV {
        actions.reset_handler(Signal::SIGSEGV);
    }
    force_signal(actions, thread, SigInfo::kernel(Signal::SIGSEGV))
}

/// Whether a core dump accompanies termination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreDump {
    /// The default action dumps core (the wait status gets `0x80`).
    Dumped,
    /// Plain termination.
    NotDumped,
}

/// What the server does with the next deliverable signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Run a handler: build a frame ([`crate::signal::frame::build_signal_frame`]) with
    /// [`ThreadSignals::mask_to_save`], then call [`ThreadSignals::enter_handler`].
    /// `SA_RESETHAND` has already reset the table; `action` is the action to run.
    Handler {
        /// The signal's information.
        info: SigInfo,
        /// The action as it was when the signal was taken.
        action: SigAction,
    },
    /// Terminate the whole process with this signal.
    Terminate {
        /// The signal's information.
        info: SigInfo,
        /// Whether the wait status reports a core dump.
        core: CoreDump,
    },
    /// Stop the whole process (`SIGSTOP`, or `SIGTSTP`/`SIGTTIN`/`SIGTTOU` at `SIG_DFL`;
    /// Linux discards the latter three in an orphaned process group, which the caller
    /// knows).
    Stop {
        /// The signal's information.
        info: SigInfo,
    },
}

/// A thread's signal state: blocked mask, thread-directed pending signals, alternate
/// stack and the mask `rt_sigsuspend`/`ppoll`/`pselect6` replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadSignals {
    blocked: SignalSet,
    saved_mask: Option<SignalSet>,
    /// Signals sent to this thread (`tkill`, `tgkill`, faults).
    pub pending: PendingSignals,
    /// The `sigaltstack` settings.
    pub alternate_stack: AlternateStack,
}

/// Which kind of `clone` made a thread, for what it inherits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlternateStackInheritance {
    /// `fork`, `vfork`, or `clone` without `CLONE_VM` or with `CLONE_VFORK`: copied.
    Copy,
    /// `clone` with `CLONE_VM` and without `CLONE_VFORK` (threads): disabled, since the
    /// two would share one stack.
    Disable,
}

impl ThreadSignals {
    /// The first thread's state: nothing blocked or pending, no alternate stack.
    #[must_use]
    pub const fn new() -> ThreadSignals {
        ThreadSignals {
            blocked: SignalSet::EMPTY,
            saved_mask: None,
            pending: PendingSignals::new(),
            alternate_stack: AlternateStack::DISABLED,
        }
    }

    /// The blocked mask.
    #[must_use]
    pub const fn blocked(&self) -> SignalSet {
        self.blocked
    }

    /// Replaces the blocked mask (for `rt_sigreturn`); `SIGKILL`/`SIGSTOP` are dropped.
    pub fn set_blocked(&mut self, mask: SignalSet) {
        self.blocked = mask.blockable();
    }

    /// `rt_sigprocmask(how, set, oldset)` after [`check_sigset_size`]; `new` is `None`
    /// when `set` is NULL, in which case `how` is not examined (as in Linux). Returns
    /// the old mask.
    ///
    /// # Errors
    /// `EINVAL` if `new` is given and `how` is not `SIG_BLOCK`, `SIG_UNBLOCK` or
    /// `SIG_SETMASK`.
    pub fn rt_sigprocmask(&mut self, how: u64, new: Option<SignalSet>) -> Result<SignalSet, Errno> {
        let old = self.blocked;
        if let Some(set) = new {
            let mask = match how {
                SIG_BLOCK => old.union(set),
                SIG_UNBLOCK => old.difference(set),
                SIG_SETMASK => set,
                _ => return Err(Errno::EINVAL),
            };
            self.blocked = mask.blockable();
        }
        Ok(old)
    }

    /// `rt_sigpending`: signals pending for this thread or its process that are blocked.
    #[must_use]
    pub fn rt_sigpending(&self, process_pending: &PendingSignals) -> SignalSet {
        self.pending
            .set()
            .union(process_pending.set())
            .intersection(self.blocked)
    }

    /// Temporarily replaces the mask for `rt_sigsuspend`, `ppoll` or `pselect6`; the
    /// old mask is what a handler frame saves and what [`Self::restore_saved_mask`]
    /// brings back.
    pub fn replace_mask_temporarily(&mut self, mask: SignalSet) {
        if self.saved_mask.is_none() {
            self.saved_mask = Some(self.blocked);
        }
        self.blocked = mask.blockable();
    }

    /// Restores the mask [`Self::replace_mask_temporarily`] saved, when the call
    /// returns without running a handler.
    pub fn restore_saved_mask(&mut self) {
        if let Some(mask) = self.saved_mask.take() {
            self.blocked = mask;
        }
    }

    /// The mask a signal frame records: the one saved by a temporary replacement, else
    /// the current mask (Linux's `sigmask_to_save`).
    #[must_use]
    pub fn mask_to_save(&self) -> SignalSet {
        self.saved_mask.unwrap_or(self.blocked)
    }

    /// True if a signal is pending for this thread or its process and not blocked:
    /// a blocked system call must be interrupted.
    #[must_use]
    pub fn has_deliverable(&self, process_pending: &PendingSignals) -> bool {
        !self
            .pending
            .set()
            .union(process_pending.set())
            .difference(self.blocked)
            .is_empty()
    }

    /// The next signal delivery would take, without taking it: a kernel-raised fault
    /// first, then this thread's lowest (faults first), then the process's.
    #[must_use]
    pub fn peek_next(&self, process_pending: &PendingSignals) -> Option<Signal> {
        let own = self.pending.set().difference(self.blocked);
        if let Some(info) = self.pending.queue.iter().find(|info| {
            own.contains(info.signal) && info.signal.is_synchronous() && info.is_from_kernel()
        }) {
            return Some(info.signal);
        }
        own.next_to_deliver().or_else(|| {
            process_pending
                .set()
                .difference(self.blocked)
                .next_to_deliver()
        })
    }

    /// Removes and returns the next deliverable signal's information (order as in
    /// [`Self::peek_next`]).
    pub fn dequeue(&mut self, process_pending: &mut PendingSignals) -> Option<SigInfo> {
        if let Some(info) = self.pending.take_synchronous(self.blocked) {
            return Some(info);
        }
        if let Some(signal) = self
            .pending
            .set()
            .difference(self.blocked)
            .next_to_deliver()
        {
            return self.pending.take(signal);
        }
        let signal = process_pending
            .set()
            .difference(self.blocked)
            .next_to_deliver()?;
        process_pending.take(signal)
    }

    /// Takes pending signals until one needs action (Linux's `get_signal`): ignored ones
    /// and `SIGCONT` at `SIG_DFL` are dropped, `SA_RESETHAND` resets the table.
    /// `None` when nothing deliverable is left; the caller then restores a temporarily
    /// replaced mask.
    pub fn next_delivery(
        &mut self,
        actions: &mut SignalActions,
        process_pending: &mut PendingSignals,
    ) -> Option<Delivery> {
        loop {
            let info = self.dequeue(process_pending)?;
            let signal = info.signal;
            let action = actions.action(signal);
            match action.disposition() {
                Disposition::Ignore if signal.is_catchable() => continue,
                Disposition::Handler(_) if signal.is_catchable() => {
                    if action.has_flag(SA_RESETHAND) {
                        actions.reset_handler(signal);
                    }
                    return Some(Delivery::Handler { info, action });
                }
                _ => {}
            }
            match signal.default_action() {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => return Some(Delivery::Stop { info }),
                DefaultAction::Terminate => {
                    return Some(Delivery::Terminate {
                        info,
                        core: CoreDump::NotDumped,
                    })
                }
                DefaultAction::CoreDump => {
                    return Some(Delivery::Terminate {
                        info,
                        core: CoreDump::Dumped,
                    })
                }
            }
        }
    }

    /// Records that a handler frame for `signal` was written (Linux's
    /// `signal_delivered`): the mask gains `action.mask` and, unless `SA_NODEFER`, the
    /// signal itself; a temporary mask is forgotten (the frame holds it); an
    /// `SS_AUTODISARM` alternate stack is disabled until `rt_sigreturn` restores it.
    pub fn enter_handler(&mut self, signal: Signal, action: &SigAction) {
        let mut mask = self.blocked.union(action.mask);
        if !action.has_flag(SA_NODEFER) {
            mask = mask.with(signal);
        }
        self.blocked = mask.blockable();
        self.saved_mask = None;
        if self.alternate_stack.flags & SS_AUTODISARM != 0 {
            self.alternate_stack = AlternateStack::DISABLED;
        }
    }

    /// The state a new thread or process starts with: the mask is copied, nothing is
    /// pending, the alternate stack per `inheritance`.
    #[must_use]
    pub fn for_child(&self, inheritance: AlternateStackInheritance) -> ThreadSignals {
        ThreadSignals {
            blocked: self.blocked,
            saved_mask: None,
            pending: PendingSignals::new(),
            alternate_stack: match inheritance {
                AlternateStackInheritance::Copy => self.alternate_stack,
                AlternateStackInheritance::Disable => AlternateStack::DISABLED,
            },
        }
    }

    /// `execve`: the mask and pending signals are kept; the alternate stack, which
    /// pointed into the old image, is cleared.
    pub fn reset_for_exec(&mut self) {
        self.alternate_stack = AlternateStack::DISABLED;
        self.saved_mask = None;
    }
}

/// A `stack_t` as `sigaltstack` and `uc_stack` carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StackDescription {
    /// `ss_sp`: lowest address.
    pub base: u64,
    /// `ss_flags` (an `int`, kept as its bits).
    pub flags: u32,
    /// `ss_size`.
    pub size: u64,
}

impl StackDescription {
    /// Parses a 24-byte `stack_t`.
    ///
    /// # Errors
    /// `EFAULT` if `bytes` is shorter than [`STACK_T_SIZE`].
    pub fn parse(bytes: &[u8]) -> Result<StackDescription, Errno> {
        let bytes = bytes.get(..STACK_T_SIZE).ok_or(Errno::EFAULT)?;
        let flags = bytes
            .get(8..12)
            .and_then(|slice| slice.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(Errno::EFAULT)?;
        Ok(StackDescription {
            base: read_u64(bytes, 0).ok_or(Errno::EFAULT)?,
            flags,
            size: read_u64(bytes, 16).ok_or(Errno::EFAULT)?,
        })
    }

    /// The 24-byte `stack_t` (padding after `ss_flags` zero).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; STACK_T_SIZE] {
        let mut bytes = [0u8; STACK_T_SIZE];
        bytes[0..8].copy_from_slice(&self.base.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.flags.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.size.to_le_bytes());
        bytes
    }
}

/// A thread's alternate signal stack (`sas_ss_sp`, `sas_ss_size`, `sas_ss_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlternateStack {
    base: u64,
    size: u64,
    flags: u32,
}

impl Default for AlternateStack {
    fn default() -> Self {
        AlternateStack::DISABLED
    }
}

impl AlternateStack {
    /// No alternate stack.
    pub const DISABLED: AlternateStack = AlternateStack {
        base: 0,
        size: 0,
        flags: SS_DISABLE,
    };

    /// True if `sp` is on the alternate stack (Linux's `on_sig_stack`; stacks grow
    /// down, so `base < sp <= base + size`). Never true with `SS_AUTODISARM`.
    #[must_use]
    pub const fn is_on(&self, sp: u64) -> bool {
        if self.flags & SS_AUTODISARM != 0 {
            return false;
        }
        sp > self.base && sp - self.base <= self.size
    }

    /// `SS_DISABLE` if none is set up, `SS_ONSTACK` if `sp` is on it, else 0 (Linux's
    /// `sas_ss_flags`).
    #[must_use]
    pub const fn status(&self, sp: u64) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.is_on(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// What the `uc_stack` of a signal frame records (the stored settings, flags as set).
    #[must_use]
    pub const fn saved(&self) -> StackDescription {
        StackDescription {
            base: self.base,
            flags: self.flags,
            size: self.size,
        }
    }

    /// The stack top a handler for an action with `SA_ONSTACK` runs from: the alternate
    /// stack's top if it is enabled and `sp` is not already on it, else `sp`.
    ///
    /// # Errors
    /// `EFAULT` if `base + size` overflows (the program set a nonsense stack; the
    /// caller delivers `SIGSEGV` as for any unusable frame).
    pub fn handler_stack_top(&self, sp: u64, action: &SigAction) -> Result<u64, Errno> {
        if action.has_flag(SA_ONSTACK) && self.status(sp) == 0 {
            self.base.checked_add(self.size).ok_or(Errno::EFAULT)
        } else {
            Ok(sp)
        }
    }

    /// `sigaltstack(ss, oss)` with the thread's current `sp`: returns the old settings
    /// (flags: [`Self::status`] plus `SS_AUTODISARM` if set) and applies `new` if given.
    ///
    /// # Errors
    /// `EPERM` if `new` is given while running on the alternate stack; `EINVAL` for a
    /// mode other than 0, `SS_ONSTACK` or `SS_DISABLE` (plus `SS_AUTODISARM`); `ENOMEM`
    /// for an enabled stack smaller than [`MINSIGSTKSZ`].
    pub fn sigaltstack(
        &mut self,
        new: Option<StackDescription>,
        sp: u64,
    ) -> Result<StackDescription, Errno> {
        let old = StackDescription {
            base: self.base,
            flags: self.status(sp) | (self.flags & SS_AUTODISARM),
            size: self.size,
        };
        if let Some(request) = new {
            self.change(request, sp)?;
        }
        Ok(old)
    }

    /// `rt_sigreturn`'s restoring of `uc_stack`: as `sigaltstack` with the restored
    /// `sp`, errors ignored (Linux squashes all but `EFAULT`, which the caller already
    /// ruled out by reading the frame).
    pub fn restore_from_frame(&mut self, saved: StackDescription, sp: u64) {
        // Linux ignores a refused change here, so a handler cannot fail its return.
        let _ = self.change(saved, sp);
    }

    fn change(&mut self, request: StackDescription, sp: u64) -> Result<(), Errno> {
        if self.is_on(sp) {
            return Err(Errno::EPERM);
        }
        let mode = request.flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            *self = AlternateStack {
                base: 0,
                size: 0,
                flags: request.flags,
            };
            return Ok(());
        }
        if request.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        *self = AlternateStack {
            base: request.base,
            size: request.size,
            flags: request.flags,
        };
        Ok(())
    }
}

/// Reads a little-endian `u64` at `offset`, or `None` past the end.
pub(crate) fn read_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    let end = offset.checked_add(8)?;
    let word: [u8; 8] = bytes.get(offset..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::info::{SEGV_MAPERR, SI_QUEUE, SI_TKILL};

    fn signal(number: u64) -> Signal {
        Signal::new(number).unwrap()
    }

    fn handler_action(handler: u64, flags: u64) -> SigAction {
        SigAction {
            handler,
            flags,
            restorer: 0x4000,
            mask: SignalSet::EMPTY,
        }
    }

    #[test]
    fn sigaction_layout_round_trips() {
        let mut bytes = [0u8; 32];
        bytes[0..8].copy_from_slice(&0x40_1000u64.to_le_bytes());
        bytes[8..16].copy_from_slice(&(SA_SIGINFO | SA_RESTORER).to_le_bytes());
        bytes[16..24].copy_from_slice(&0x40_2000u64.to_le_bytes());
        bytes[24..32].copy_from_slice(&(1u64 << 1).to_le_bytes());
        let action = SigAction::parse(&bytes).unwrap();
        assert_eq!(action.handler, 0x40_1000);
        assert_eq!(action.flags, 0x0400_0004);
        assert_eq!(action.restorer, 0x40_2000);
        assert_eq!(action.mask, SignalSet::of(Signal::SIGINT));
        assert_eq!(action.to_bytes(), bytes);
        assert_eq!(SigAction::parse(&bytes[..31]), Err(Errno::EFAULT));
    }

    #[test]
    fn flag_values_match_linux() {
        assert_eq!(SA_NOCLDSTOP, 1);
        assert_eq!(SA_NOCLDWAIT, 2);
        assert_eq!(SA_SIGINFO, 4);
        assert_eq!(SA_RESTORER, 0x0400_0000);
        assert_eq!(SA_ONSTACK, 0x0800_0000);
        assert_eq!(SA_RESTART, 0x1000_0000);
        assert_eq!(SA_NODEFER, 0x4000_0000);
        assert_eq!(SA_RESETHAND, 0x8000_0000);
        assert_eq!((SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK), (0, 1, 2));
        assert_eq!((SS_ONSTACK, SS_DISABLE), (1, 2));
    }

    #[test]
    fn sigset_size_must_be_eight() {
        assert_eq!(check_sigset_size(8), Ok(()));
        assert_eq!(check_sigset_size(16), Err(Errno::EINVAL));
        assert_eq!(check_sigset_size(0), Err(Errno::EINVAL));
        assert_eq!(check_sigset_size(128), Err(Errno::EINVAL));
    }

    #[test]
    fn rt_sigaction_validates_and_sanitises() {
        let mut actions = SignalActions::new();
        assert_eq!(
            actions.rt_sigaction(0, Some(SigAction::DEFAULT)),
            Err(Errno::EINVAL)
        );
        assert_eq!(actions.rt_sigaction(65, None), Err(Errno::EINVAL));
        assert_eq!(actions.rt_sigaction(u64::MAX, None), Err(Errno::EINVAL));
        assert_eq!(
            actions.rt_sigaction(9, Some(handler_action(0x1000, 0))),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            actions.rt_sigaction(19, Some(handler_action(SIG_IGN, 0))),
            Err(Errno::EINVAL)
        );
        // Querying SIGKILL is allowed.
        assert_eq!(
            actions.rt_sigaction(9, None).unwrap().old,
            SigAction::DEFAULT
        );

        let requested = SigAction {
            handler: 0x1000,
            flags: SA_SIGINFO | SA_RESTORER | 0x0000_0400 | 0x0200_0000,
            restorer: 0x2000,
            mask: SignalSet::FULL,
        };
        let change = actions.rt_sigaction(10, Some(requested)).unwrap();
        assert_eq!(change.old, SigAction::DEFAULT);
        assert_eq!(change.discard_pending, None);
        let stored = actions.action(Signal::SIGUSR1);
        assert_eq!(stored.flags, SA_SIGINFO | SA_RESTORER);
        assert_eq!(stored.mask, SignalSet::FULL.blockable());
        let change = actions.rt_sigaction(10, None).unwrap();
        assert_eq!(change.old, stored);
    }

    #[test]
    fn ignoring_asks_to_discard_pending() {
        let mut actions = SignalActions::new();
        let change = actions
            .rt_sigaction(15, Some(handler_action(SIG_IGN, 0)))
            .unwrap();
        assert_eq!(change.discard_pending, Some(Signal::SIGTERM));
        // SIG_DFL on a default-ignore signal also discards.
        let change = actions
            .rt_sigaction(17, Some(handler_action(SIG_DFL, 0)))
            .unwrap();
        assert_eq!(change.discard_pending, Some(Signal::SIGCHLD));
        // SIG_DFL on a terminating signal does not.
        let change = actions
            .rt_sigaction(15, Some(handler_action(SIG_DFL, 0)))
            .unwrap();
        assert_eq!(change.discard_pending, None);
    }

    #[test]
    fn exec_resets_handlers_keeps_ignored() {
        let mut actions = SignalActions::new();
        actions
            .rt_sigaction(10, Some(handler_action(0x1000, SA_RESTART | SA_SIGINFO)))
            .unwrap();
        let ignore = SigAction {
            handler: SIG_IGN,
            flags: SA_RESTART,
            restorer: 5,
            mask: SignalSet::of(Signal::SIGINT),
        };
        actions.rt_sigaction(13, Some(ignore)).unwrap();
        actions.reset_for_exec();
        assert_eq!(actions.action(Signal::SIGUSR1), SigAction::DEFAULT);
        assert_eq!(
            actions.action(Signal::SIGPIPE),
            SigAction {
                handler: SIG_IGN,
                ..SigAction::DEFAULT
            }
        );
        assert!(actions.ignores(Signal::SIGPIPE));
    }

    #[test]
    fn procmask_operations_never_block_kill_or_stop() {
        let mut thread = ThreadSignals::new();
        let set = SignalSet::of(Signal::SIGINT)
            .with(Signal::SIGKILL)
            .with(Signal::SIGSTOP);
        assert_eq!(
            thread.rt_sigprocmask(SIG_BLOCK, Some(set)),
            Ok(SignalSet::EMPTY)
        );
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGINT));
        thread
            .rt_sigprocmask(SIG_BLOCK, Some(SignalSet::of(Signal::SIGTERM)))
            .unwrap();
        let old = thread
            .rt_sigprocmask(SIG_UNBLOCK, Some(SignalSet::of(Signal::SIGINT)))
            .unwrap();
        assert_eq!(old, SignalSet::of(Signal::SIGINT).with(Signal::SIGTERM));
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGTERM));
        thread
            .rt_sigprocmask(SIG_SETMASK, Some(SignalSet::FULL))
            .unwrap();
        assert_eq!(thread.blocked(), SignalSet::FULL.blockable());
        assert_eq!(
            thread.rt_sigprocmask(3, Some(SignalSet::EMPTY)),
            Err(Errno::EINVAL)
        );
        // A NULL set ignores `how`.
        assert_eq!(
            thread.rt_sigprocmask(77, None),
            Ok(SignalSet::FULL.blockable())
        );
        assert_eq!(thread.blocked(), SignalSet::FULL.blockable());
    }

    #[test]
    fn standard_signals_coalesce_realtime_queue() {
        let mut pending = PendingSignals::new();
        let first = SigInfo::user(Signal::SIGUSR1, 1, 0);
        let second = SigInfo::user(Signal::SIGUSR1, 2, 0);
        assert_eq!(pending.enqueue(first), Ok(QueueOutcome::Queued));
        assert_eq!(pending.enqueue(second), Ok(QueueOutcome::AlreadyPending));
        assert_eq!(pending.take(Signal::SIGUSR1), Some(first));
        assert_eq!(pending.take(Signal::SIGUSR1), None);

        let realtime = signal(40);
        for pid in 1..=3 {
            assert_eq!(
                pending.enqueue(SigInfo::user(realtime, pid, 0)),
                Ok(QueueOutcome::Queued)
            );
        }
        for pid in 1..=3 {
            assert!(pending.set().contains(realtime));
            assert_eq!(
                pending.take(realtime).unwrap().detail,
                SigInfo::user(realtime, pid, 0).detail
            );
        }
        assert!(pending.set().is_empty());
    }

    #[test]
    fn full_queue_loses_info_or_refuses_sigqueue() {
        let mut pending = PendingSignals::new();
        let realtime = signal(50);
        for _ in 0..MAX_QUEUED_SIGNALS {
            pending.enqueue(SigInfo::user(realtime, 1, 0)).unwrap();
        }
        let queued = SigInfo {
            code: SI_QUEUE,
            ..SigInfo::user(signal(51), 1, 0)
        };
        assert_eq!(pending.enqueue(queued), Err(Errno::EAGAIN));
        assert_eq!(
            pending.enqueue(SigInfo::user(Signal::SIGTERM, 9, 9)),
            Ok(QueueOutcome::QueuedWithoutInfo)
        );
        assert_eq!(pending.queued(), MAX_QUEUED_SIGNALS);
        assert_eq!(
            pending.take(Signal::SIGTERM),
            Some(SigInfo::lost(Signal::SIGTERM))
        );
        assert!(!pending.set().contains(Signal::SIGTERM));
    }

    #[test]
    fn sending_ignored_signal_discards_unless_blocked() {
        let mut actions = SignalActions::new();
        let mut pending = PendingSignals::new();
        let chld = SigInfo::kernel(Signal::SIGCHLD);
        assert_eq!(
            send_signal(&actions, SignalSet::EMPTY, &mut pending, chld),
            Ok(QueueOutcome::Ignored)
        );
        assert_eq!(
            send_signal(&actions, SignalSet::of(Signal::SIGCHLD), &mut pending, chld),
            Ok(QueueOutcome::Queued)
        );
        actions.rt_sigaction(9, None).unwrap();
        // SIGKILL is never ignored.
        assert_eq!(
            send_signal(
                &actions,
                SignalSet::EMPTY,
                &mut pending,
                SigInfo::kernel(Signal::SIGKILL)
            ),
            Ok(QueueOutcome::Queued)
        );
    }

    #[test]
    fn stop_and_continue_side_effects() {
        let stop = send_effects(Signal::SIGTSTP);
        assert_eq!(stop.discard, SignalSet::of(Signal::SIGCONT));
        assert!(!stop.resumes_stopped);
        let cont = send_effects(Signal::SIGCONT);
        assert_eq!(cont.discard, SignalSet::STOP);
        assert!(cont.resumes_stopped);
        assert!(send_effects(Signal::SIGKILL).resumes_stopped);
        assert_eq!(send_effects(Signal::SIGTERM).discard, SignalSet::EMPTY);

        let mut pending = PendingSignals::new();
        pending
            .enqueue(SigInfo::user(Signal::SIGSTOP, 1, 0))
            .unwrap();
        pending
            .enqueue(SigInfo::user(Signal::SIGTTIN, 1, 0))
            .unwrap();
        pending
            .enqueue(SigInfo::user(Signal::SIGUSR1, 1, 0))
            .unwrap();
        pending.discard(cont.discard);
        assert_eq!(pending.set(), SignalSet::of(Signal::SIGUSR1));
        assert_eq!(pending.queued(), 1);
    }

    #[test]
    fn delivery_order_faults_then_thread_then_process() {
        let mut thread = ThreadSignals::new();
        let mut process = PendingSignals::new();
        process
            .enqueue(SigInfo::user(Signal::SIGHUP, 1, 0))
            .unwrap();
        thread
            .pending
            .enqueue(SigInfo::thread_kill(Signal::SIGTERM, 1, 0))
            .unwrap();
        thread
            .pending
            .enqueue(SigInfo::thread_kill(Signal::SIGUSR1, 1, 0))
            .unwrap();
        thread
            .pending
            .enqueue(SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, 0x10))
            .unwrap();
        assert_eq!(thread.peek_next(&process), Some(Signal::SIGSEGV));
        let order: Vec<Signal> = core::iter::from_fn(|| thread.dequeue(&mut process))
            .map(|info| info.signal)
            .collect();
        assert_eq!(
            order,
            [
                Signal::SIGSEGV,
                Signal::SIGUSR1,
                Signal::SIGTERM,
                Signal::SIGHUP
            ]
        );
    }

    #[test]
    fn kernel_fault_jumps_ahead_of_lower_user_fault() {
        let mut thread = ThreadSignals::new();
        let mut process = PendingSignals::new();
        // A SIGILL sent with tkill is not from the kernel; the SIGSEGV fault is.
        thread
            .pending
            .enqueue(SigInfo {
                code: SI_TKILL,
                ..SigInfo::thread_kill(Signal::SIGILL, 1, 0)
            })
            .unwrap();
        thread
            .pending
            .enqueue(SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, 0))
            .unwrap();
        assert_eq!(
            thread.dequeue(&mut process).unwrap().signal,
            Signal::SIGSEGV
        );
        assert_eq!(thread.dequeue(&mut process).unwrap().signal, Signal::SIGILL);
        assert_eq!(thread.dequeue(&mut process), None);
    }

    #[test]
    fn blocked_signals_wait_and_show_in_sigpending() {
        let mut thread = ThreadSignals::new();
        let mut process = PendingSignals::new();
        thread
            .rt_sigprocmask(SIG_BLOCK, Some(SignalSet::of(Signal::SIGUSR2)))
            .unwrap();
        process
            .enqueue(SigInfo::user(Signal::SIGUSR2, 3, 0))
            .unwrap();
        process
            .enqueue(SigInfo::user(Signal::SIGALRM, 3, 0))
            .unwrap();
        assert_eq!(
            thread.rt_sigpending(&process),
            SignalSet::of(Signal::SIGUSR2)
        );
        assert!(thread.has_deliverable(&process));
        assert_eq!(
            thread.dequeue(&mut process).unwrap().signal,
            Signal::SIGALRM
        );
        assert!(!thread.has_deliverable(&process));
        assert_eq!(thread.dequeue(&mut process), None);
        thread
            .rt_sigprocmask(SIG_UNBLOCK, Some(SignalSet::of(Signal::SIGUSR2)))
            .unwrap();
        assert_eq!(
            thread.dequeue(&mut process).unwrap().signal,
            Signal::SIGUSR2
        );
    }

    #[test]
    fn next_delivery_applies_dispositions() {
        let mut actions = SignalActions::new();
        let mut thread = ThreadSignals::new();
        let mut process = PendingSignals::new();
        actions
            .rt_sigaction(10, Some(handler_action(0x1000, SA_RESETHAND)))
            .unwrap();
        actions
            .rt_sigaction(2, Some(handler_action(SIG_IGN, 0)))
            .unwrap();
        // Queued while blocked, so not discarded at send time; dropped at delivery.
        thread.set_blocked(SignalSet::of(Signal::SIGINT));
        send_signal(
            &actions,
            thread.blocked(),
            &mut process,
            SigInfo::user(Signal::SIGINT, 1, 0),
        )
        .unwrap();
        thread.set_blocked(SignalSet::EMPTY);
        process
            .enqueue(SigInfo::user(Signal::SIGCONT, 1, 0))
            .unwrap();
        process
            .enqueue(SigInfo::user(Signal::SIGUSR1, 1, 0))
            .unwrap();
        process
            .enqueue(SigInfo::user(Signal::SIGTSTP, 1, 0))
            .unwrap();
        process
            .enqueue(SigInfo::user(Signal::SIGQUIT, 1, 0))
            .unwrap();
        process
            .enqueue(SigInfo::user(Signal::SIGTERM, 1, 0))
            .unwrap();

        let delivery = thread.next_delivery(&mut actions, &mut process).unwrap();
        assert!(matches!(
            delivery,
            Delivery::Terminate { info, core: CoreDump::Dumped } if info.signal == Signal::SIGQUIT
        ));
        let delivery = thread.next_delivery(&mut actions, &mut process).unwrap();
        match delivery {
            Delivery::Handler { info, action } => {
                assert_eq!(info.signal, Signal::SIGUSR1);
                assert_eq!(action.handler, 0x1000);
            }
            other => panic!("expected a handler, got {other:?}"),
        }
        // SA_RESETHAND already reset the table.
        assert_eq!(actions.action(Signal::SIGUSR1).handler, SIG_DFL);
        assert_eq!(actions.action(Signal::SIGUSR1).flags, SA_RESETHAND);
        let delivery = thread.next_delivery(&mut actions, &mut process).unwrap();
        assert!(
            matches!(delivery, Delivery::Terminate { info, core: CoreDump::NotDumped } if info.signal == Signal::SIGTERM)
        );
        // SIGCONT at SIG_DFL is dropped; SIGTSTP stops.
        let delivery = thread.next_delivery(&mut actions, &mut process).unwrap();
        assert!(matches!(delivery, Delivery::Stop { info } if info.signal == Signal::SIGTSTP));
        assert_eq!(thread.next_delivery(&mut actions, &mut process), None);
        assert!(process.set().is_empty());
    }

    #[test]
    fn kill_is_fatal_even_with_a_stale_handler_value() {
        let mut actions = SignalActions::new();
        // rt_sigaction refuses this; even if the table held it, delivery must kill.
        actions.actions[8].handler = 0x1000;
        actions.actions[18].handler = SIG_IGN;
        let mut thread = ThreadSignals::new();
        let mut process = PendingSignals::new();
        process.enqueue(SigInfo::kernel(Signal::SIGKILL)).unwrap();
        thread.set_blocked(SignalSet::FULL);
        assert!(matches!(
            thread.next_delivery(&mut actions, &mut process),
            Some(Delivery::Terminate { info, .. }) if info.signal == Signal::SIGKILL
        ));
        process.enqueue(SigInfo::kernel(Signal::SIGSTOP)).unwrap();
        assert!(matches!(
            thread.next_delivery(&mut actions, &mut process),
            Some(Delivery::Stop { info }) if info.signal == Signal::SIGSTOP
        ));
        assert!(!actions.ignores(Signal::SIGSTOP));
    }

    #[test]
    fn entering_a_handler_updates_the_mask() {
        let mut thread = ThreadSignals::new();
        let action = SigAction {
            handler: 0x1000,
            flags: 0,
            restorer: 0,
            mask: SignalSet::of(Signal::SIGTERM).with(Signal::SIGKILL),
        };
        thread.enter_handler(Signal::SIGUSR1, &action);
        assert_eq!(
            thread.blocked(),
            SignalSet::of(Signal::SIGTERM).with(Signal::SIGUSR1)
        );
        let mut thread = ThreadSignals::new();
        let nodefer = SigAction {
            flags: SA_NODEFER,
            ..action
        };
        thread.enter_handler(Signal::SIGUSR1, &nodefer);
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGTERM));
    }

    #[test]
    fn sigsuspend_mask_is_saved_then_restored_or_consumed() {
        let mut thread = ThreadSignals::new();
        thread.set_blocked(SignalSet::of(Signal::SIGUSR1));
        thread.replace_mask_temporarily(SignalSet::of(Signal::SIGKILL));
        assert_eq!(thread.blocked(), SignalSet::EMPTY);
        assert_eq!(thread.mask_to_save(), SignalSet::of(Signal::SIGUSR1));
        thread.restore_saved_mask();
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGUSR1));

        thread.replace_mask_temporarily(SignalSet::EMPTY);
        thread.enter_handler(Signal::SIGUSR2, &handler_action(0x1000, 0));
        // The frame holds the old mask; after the handler the mask is EMPTY + USR2.
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGUSR2));
        assert_eq!(thread.mask_to_save(), thread.blocked());
    }

    #[test]
    fn force_signal_unblocks_and_unignores() {
        let mut actions = SignalActions::new();
        actions
            .rt_sigaction(11, Some(handler_action(SIG_IGN, 0)))
            .unwrap();
        let mut thread = ThreadSignals::new();
        thread.set_blocked(SignalSet::of(Signal::SIGSEGV).with(Signal::SIGBUS));
        force_signal(
            &mut actions,
            &mut thread,
            SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, 0),
        )
        .unwrap();
        assert_eq!(actions.action(Signal::SIGSEGV).handler, SIG_DFL);
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGBUS));
        let mut process = PendingSignals::new();
        assert!(matches!(
            thread.next_delivery(&mut actions, &mut process),
            Some(Delivery::Terminate {
                core: CoreDump::Dumped,
                ..
            })
        ));
    }

    #[test]
    fn force_sigsegv_resets_a_segv_handler() {
        let mut actions = SignalActions::new();
        actions
            .rt_sigaction(11, Some(handler_action(0x1000, 0)))
            .unwrap();
        actions
            .rt_sigaction(10, Some(handler_action(0x2000, 0)))
            .unwrap();
        let mut thread = ThreadSignals::new();
        force_sigsegv(&mut actions, &mut thread, Signal::SIGUSR1).unwrap();
        assert_eq!(actions.action(Signal::SIGSEGV).handler, 0x1000);
        thread.pending.discard(SignalSet::FULL);
        force_sigsegv(&mut actions, &mut thread, Signal::SIGSEGV).unwrap();
        assert_eq!(actions.action(Signal::SIGSEGV).handler, SIG_DFL);
        assert_eq!(thread.pending.set(), SignalSet::of(Signal::SIGSEGV));
    }

    #[test]
    fn fork_and_exec_rules() {
        let mut thread = ThreadSignals::new();
        thread.set_blocked(SignalSet::of(Signal::SIGINT));
        thread
            .pending
            .enqueue(SigInfo::user(Signal::SIGUSR1, 1, 0))
            .unwrap();
        thread
            .alternate_stack
            .sigaltstack(
                Some(StackDescription {
                    base: 0x10_0000,
                    flags: 0,
                    size: SIGSTKSZ,
                }),
                0x7000_0000,
            )
            .unwrap();
        let child = thread.for_child(AlternateStackInheritance::Copy);
        assert_eq!(child.blocked(), SignalSet::of(Signal::SIGINT));
        assert!(child.pending.set().is_empty());
        assert_eq!(child.alternate_stack, thread.alternate_stack);
        let new_thread = thread.for_child(AlternateStackInheritance::Disable);
        assert_eq!(new_thread.alternate_stack, AlternateStack::DISABLED);

        thread.reset_for_exec();
        assert_eq!(thread.blocked(), SignalSet::of(Signal::SIGINT));
        assert_eq!(thread.pending.set(), SignalSet::of(Signal::SIGUSR1));
        assert_eq!(thread.alternate_stack, AlternateStack::DISABLED);
    }

    #[test]
    fn sigaltstack_rules() {
        let mut stack = AlternateStack::DISABLED;
        let sp = 0x7fff_0000;
        let old = stack.sigaltstack(None, sp).unwrap();
        assert_eq!(old.flags, SS_DISABLE);
        assert_eq!((old.base, old.size), (0, 0));
        let small = StackDescription {
            base: 0x1000,
            flags: 0,
            size: MINSIGSTKSZ - 1,
        };
        assert_eq!(stack.sigaltstack(Some(small), sp), Err(Errno::ENOMEM));
        let bad_mode = StackDescription {
            flags: 4,
            size: MINSIGSTKSZ,
            ..small
        };
        assert_eq!(stack.sigaltstack(Some(bad_mode), sp), Err(Errno::EINVAL));
        let good = StackDescription {
            base: 0x10_0000,
            flags: 0,
            size: MINSIGSTKSZ,
        };
        stack.sigaltstack(Some(good), sp).unwrap();
        let on_stack_sp = 0x10_0000 + 0x100;
        let old = stack.sigaltstack(None, on_stack_sp).unwrap();
        assert_eq!(old.flags, SS_ONSTACK);
        assert_eq!(stack.status(sp), 0);
        // The boundary: base is not on it, base + size is.
        assert!(!stack.is_on(0x10_0000));
        assert!(stack.is_on(0x10_0000 + MINSIGSTKSZ));
        assert!(!stack.is_on(0x10_0000 + MINSIGSTKSZ + 1));
        let disable = StackDescription {
            base: 0,
            flags: SS_DISABLE,
            size: 0,
        };
        assert_eq!(
            stack.sigaltstack(Some(disable), on_stack_sp),
            Err(Errno::EPERM)
        );
        // Disabling ignores size; a zero-size disable is fine.
        stack.sigaltstack(Some(disable), sp).unwrap();
        assert_eq!(stack.status(sp), SS_DISABLE);
        // SS_ONSTACK as a mode is accepted as "enable".
        let onstack_mode = StackDescription {
            flags: SS_ONSTACK,
            ..good
        };
        stack.sigaltstack(Some(onstack_mode), sp).unwrap();
        assert_eq!(stack.status(sp), 0);
    }

    #[test]
    fn autodisarm_stack() {
        let mut thread = ThreadSignals::new();
        let request = StackDescription {
            base: 0x10_0000,
            flags: SS_AUTODISARM,
            size: SIGSTKSZ,
        };
        thread
            .alternate_stack
            .sigaltstack(Some(request), 0x7000_0000)
            .unwrap();
        let old = thread.alternate_stack.sigaltstack(None, 0x10_0100).unwrap();
        // Never "on" an autodisarm stack; the flag is reported.
        assert_eq!(old.flags, SS_AUTODISARM);
        let saved = thread.alternate_stack.saved();
        thread.enter_handler(Signal::SIGUSR1, &handler_action(0x1000, SA_ONSTACK));
        assert_eq!(thread.alternate_stack, AlternateStack::DISABLED);
        thread
            .alternate_stack
            .restore_from_frame(saved, 0x7000_0000);
        assert_eq!(thread.alternate_stack.saved(), saved);
    }

    #[test]
    fn handler_stack_top_rules() {
        let mut stack = AlternateStack::DISABLED;
        let onstack = handler_action(0x1000, SA_ONSTACK);
        let plain = handler_action(0x1000, 0);
        assert_eq!(stack.handler_stack_top(0x7000, &onstack), Ok(0x7000));
        stack
            .sigaltstack(
                Some(StackDescription {
                    base: 0x10_0000,
                    flags: 0,
                    size: SIGSTKSZ,
                }),
                0x7000,
            )
            .unwrap();
        assert_eq!(
            stack.handler_stack_top(0x7000, &onstack),
            Ok(0x10_0000 + SIGSTKSZ)
        );
        assert_eq!(stack.handler_stack_top(0x7000, &plain), Ok(0x7000));
        // Already on it: stay where we are.
        assert_eq!(stack.handler_stack_top(0x10_0800, &onstack), Ok(0x10_0800));
        let mut hostile = AlternateStack::DISABLED;
        hostile
            .sigaltstack(
                Some(StackDescription {
                    base: u64::MAX - 100,
                    flags: 0,
                    size: SIGSTKSZ,
                }),
                0x7000,
            )
            .unwrap();
        assert_eq!(
            hostile.handler_stack_top(0x7000, &onstack),
            Err(Errno::EFAULT)
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn masks_never_hold_kill_or_stop(how in 0u64..4, set in any::<u64>(), start in any::<u64>()) {
                let mut thread = ThreadSignals::new();
                thread.set_blocked(SignalSet::from_bits(start));
                let _ = thread.rt_sigprocmask(how, Some(SignalSet::from_bits(set)));
                prop_assert!(!thread.blocked().contains(Signal::SIGKILL));
                prop_assert!(!thread.blocked().contains(Signal::SIGSTOP));
            }

            #[test]
            fn sigaction_parse_round_trips(bytes in proptest::array::uniform32(any::<u8>()), number in any::<u64>()) {
                let action = SigAction::parse(&bytes).unwrap();
                prop_assert_eq!(action.to_bytes(), bytes);
                let mut actions = SignalActions::new();
                if let Ok(change) = actions.rt_sigaction(number, Some(action)) {
                    let signal = Signal::new(number).unwrap();
                    prop_assert!(signal.is_catchable());
                    prop_assert_eq!(change.old, SigAction::DEFAULT);
                    let stored = actions.action(signal);
                    prop_assert_eq!(stored.flags & !SA_KNOWN_FLAGS, 0);
                    prop_assert!(stored.mask.intersection(SignalSet::UNBLOCKABLE).is_empty());
                }
            }

            #[test]
            fn sigaltstack_never_panics(base in any::<u64>(), size in any::<u64>(), flags in any::<u32>(), sp in any::<u64>()) {
                let mut stack = AlternateStack::DISABLED;
                let request = StackDescription { base, flags, size };
                let _ = stack.sigaltstack(Some(request), sp);
                let _ = stack.handler_stack_top(sp, &SigAction { flags: SA_ONSTACK, ..SigAction::DEFAULT });
                let _ = stack.status(sp);
            }
        }
    }

    #[test]
    fn stack_t_layout() {
        let description = StackDescription {
            base: 0x1122_3344_5566_7788,
            flags: SS_AUTODISARM | SS_ONSTACK,
            size: 0x99,
        };
        let bytes = description.to_bytes();
        assert_eq!(&bytes[0..8], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&bytes[8..12], &(0x8000_0001u32).to_le_bytes());
        assert_eq!(&bytes[12..16], &[0; 4]);
        assert_eq!(&bytes[16..24], &0x99u64.to_le_bytes());
        assert_eq!(StackDescription::parse(&bytes), Ok(description));
        assert_eq!(StackDescription::parse(&bytes[..23]), Err(Errno::EFAULT));
    }
}
