//! Linux signal numbers 1..=64 (asm-generic values, as aarch64 uses them), their names,
//! default actions from signal(7), and the 64-bit signal set the kernel ABI passes.

use crate::errno::Errno;

/// Number of signals (`_NSIG`): signals are 1..=64.
pub const SIGNAL_COUNT: u8 = 64;
/// The kernel's first real-time signal (musl reserves 32..=34 and shows `SIGRTMIN` as 35).
pub const SIGRTMIN: u8 = 32;
/// The last real-time signal.
pub const SIGRTMAX: u8 = 64;

/// What happens when a signal is delivered with `SIG_DFL` (signal(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// Terminate the process.
    Terminate,
    /// Terminate the process and dump core (the wait status carries the core flag).
    CoreDump,
    /// Discard the signal.
    Ignore,
    /// Stop the process.
    Stop,
    /// Continue the process if it is stopped.
    Continue,
}

/// A valid signal number, 1..=64.
///
/// # Invariants
/// `1 <= number <= 64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(u8);

/// Linux's names, index `number - 1`.
const NAMES: [&str; 64] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMIN+16",
    "SIGRTMIN+17",
    "SIGRTMIN+18",
    "SIGRTMIN+19",
    "SIGRTMIN+20",
    "SIGRTMIN+21",
    "SIGRTMIN+22",
    "SIGRTMIN+23",
    "SIGRTMIN+24",
    "SIGRTMIN+25",
    "SIGRTMIN+26",
    "SIGRTMIN+27",
    "SIGRTMIN+28",
    "SIGRTMIN+29",
    "SIGRTMIN+30",
    "SIGRTMIN+31",
    "SIGRTMAX",
];

// Linux's own names, so logs and man pages match.
#[allow(clippy::upper_case_acronyms)]
impl Signal {
    /// Hangup.
    pub const SIGHUP: Signal = Signal(1);
    /// Interrupt from the keyboard.
    pub const SIGINT: Signal = Signal(2);
    /// Quit from the keyboard.
    pub const SIGQUIT: Signal = Signal(3);
    /// Illegal instruction.
    pub const SIGILL: Signal = Signal(4);
    /// Trace or breakpoint trap.
    pub const SIGTRAP: Signal = Signal(5);
    /// Abort.
    pub const SIGABRT: Signal = Signal(6);
    /// Bus error (bad memory access).
    pub const SIGBUS: Signal = Signal(7);
    /// Floating-point exception.
    pub const SIGFPE: Signal = Signal(8);
    /// Kill (cannot be caught, blocked or ignored).
    pub const SIGKILL: Signal = Signal(9);
    /// User-defined signal 1.
    pub const SIGUSR1: Signal = Signal(10);
    /// Invalid memory reference.
    pub const SIGSEGV: Signal = Signal(11);
    /// User-defined signal 2.
    pub const SIGUSR2: Signal = Signal(12);
    /// Write to a pipe with no readers.
    pub const SIGPIPE: Signal = Signal(13);
    /// Timer signal from `alarm`/`ITIMER_REAL`.
    pub const SIGALRM: Signal = Signal(14);
    /// Termination request.
    pub const SIGTERM: Signal = Signal(15);
    /// Stack fault on a coprocessor (unused).
    pub const SIGSTKFLT: Signal = Signal(16);
    /// Child stopped, continued or terminated.
    pub const SIGCHLD: Signal = Signal(17);
    /// Continue if stopped.
    pub const SIGCONT: Signal = Signal(18);
    /// Stop (cannot be caught, blocked or ignored).
    pub const SIGSTOP: Signal = Signal(19);
    /// Stop typed at the terminal.
    pub const SIGTSTP: Signal = Signal(20);
    /// Terminal input for a background process.
    pub const SIGTTIN: Signal = Signal(21);
    /// Terminal output for a background process.
    pub const SIGTTOU: Signal = Signal(22);
    /// Urgent condition on a socket.
    pub const SIGURG: Signal = Signal(23);
    /// CPU time limit exceeded.
    pub const SIGXCPU: Signal = Signal(24);
    /// File size limit exceeded.
    pub const SIGXFSZ: Signal = Signal(25);
    /// Virtual alarm clock.
    pub const SIGVTALRM: Signal = Signal(26);
    /// Profiling timer expired.
    pub const SIGPROF: Signal = Signal(27);
    /// Window resize.
    pub const SIGWINCH: Signal = Signal(28);
    /// I/O now possible (`SIGPOLL`).
    pub const SIGIO: Signal = Signal(29);
    /// Power failure.
    pub const SIGPWR: Signal = Signal(30);
    /// Bad system call.
    pub const SIGSYS: Signal = Signal(31);

    /// The signal with this number, or `None` outside 1..=64 (a raw syscall argument,
    /// so a negative `int` sign-extended to 64 bits is rejected too).
    #[must_use]
    pub const fn new(number: u64) -> Option<Signal> {
        if number >= 1 && number <= SIGNAL_COUNT as u64 {
            Some(Signal(number as u8))
        } else {
            None
        }
    }

    /// The signal number, 1..=64.
    #[must_use]
    pub const fn number(self) -> u8 {
        self.0
    }

    /// The bit for this signal in a [`SignalSet`]: bit `number - 1`.
    #[must_use]
    pub const fn bit(self) -> u64 {
        1u64 << (self.0 - 1)
    }

    /// Linux's name, such as `"SIGSEGV"` or `"SIGRTMIN+3"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        NAMES[(self.0 - 1) as usize]
    }

    /// True for the real-time signals 32..=64, which queue every instance.
    #[must_use]
    pub const fn is_realtime(self) -> bool {
        self.0 >= SIGRTMIN
    }

    /// False for `SIGKILL` and `SIGSTOP`, which can be neither caught, blocked nor ignored.
    #[must_use]
    pub const fn is_catchable(self) -> bool {
        self.0 != Signal::SIGKILL.0 && self.0 != Signal::SIGSTOP.0
    }

    /// True for the signals a fault raises (Linux's `SYNCHRONOUS_MASK`), which are
    /// delivered before any other pending signal.
    #[must_use]
    pub const fn is_synchronous(self) -> bool {
        SignalSet::SYNCHRONOUS.contains(self)
    }

    /// The action `SIG_DFL` takes (signal(7)); every real-time signal terminates.
    #[must_use]
    pub const fn default_action(self) -> DefaultAction {
        match self.0 {
            3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => DefaultAction::CoreDump,
            17 | 23 | 28 => DefaultAction::Ignore,
            19..=22 => DefaultAction::Stop,
            18 => DefaultAction::Continue,
            _ => DefaultAction::Terminate,
        }
    }
}

impl core::fmt::Display for Signal {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A set of signals as the kernel ABI passes it: 8 bytes, bit `n - 1` for signal `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SignalSet(u64);

impl SignalSet {
    /// No signals.
    pub const EMPTY: SignalSet = SignalSet(0);
    /// Every signal.
    pub const FULL: SignalSet = SignalSet(u64::MAX);
    /// `SIGKILL` and `SIGSTOP`, which no mask may contain.
    pub const UNBLOCKABLE: SignalSet = SignalSet((1 << 8) | (1 << 18));
    /// Signals raised by faults (Linux's `SYNCHRONOUS_MASK`): SEGV, BUS, ILL, TRAP, FPE, SYS.
    pub const SYNCHRONOUS: SignalSet =
        SignalSet((1 << 10) | (1 << 6) | (1 << 3) | (1 << 4) | (1 << 7) | (1 << 30));
    /// The stop signals: STOP, TSTP, TTIN, TTOU.
    pub const STOP: SignalSet = SignalSet((1 << 18) | (1 << 19) | (1 << 20) | (1 << 21));

    /// The set with these bits.
    #[must_use]
    pub const fn from_bits(bits: u64) -> SignalSet {
        SignalSet(bits)
    }

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// A set of one signal.
    #[must_use]
    pub const fn of(signal: Signal) -> SignalSet {
        SignalSet(signal.bit())
    }

    /// Parses the 8-byte little-endian `sigset_t` a program passes.
    ///
    /// # Errors
    /// `EFAULT` if `bytes` is shorter than 8 (the caller could not read it all).
    pub fn from_bytes(bytes: &[u8]) -> Result<SignalSet, Errno> {
        let word: [u8; 8] = bytes
            .get(..8)
            .and_then(|slice| slice.try_into().ok())
            .ok_or(Errno::EFAULT)?;
        Ok(SignalSet(u64::from_le_bytes(word)))
    }

    /// The 8-byte little-endian `sigset_t`.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }

    /// True if `signal` is in the set.
    #[must_use]
    pub const fn contains(self, signal: Signal) -> bool {
        self.0 & signal.bit() != 0
    }

    /// True if the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with `signal` added.
    #[must_use]
    pub const fn with(self, signal: Signal) -> SignalSet {
        SignalSet(self.0 | signal.bit())
    }

    /// The set with `signal` removed.
    #[must_use]
    pub const fn without(self, signal: Signal) -> SignalSet {
        SignalSet(self.0 & !signal.bit())
    }

    /// Signals in either set.
    #[must_use]
    pub const fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }

    /// Signals in both sets.
    #[must_use]
    pub const fn intersection(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & other.0)
    }

    /// Signals in `self` but not in `other`.
    #[must_use]
    pub const fn difference(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & !other.0)
    }

    /// The set as a mask may hold it: without `SIGKILL` and `SIGSTOP`.
    #[must_use]
    pub const fn blockable(self) -> SignalSet {
        self.difference(SignalSet::UNBLOCKABLE)
    }

    /// The lowest-numbered signal in the set.
    #[must_use]
    pub const fn lowest(self) -> Option<Signal> {
        if self.0 == 0 {
            None
        } else {
            Some(Signal(self.0.trailing_zeros() as u8 + 1))
        }
    }

    /// The signal Linux delivers first from this set: the lowest synchronous (fault)
    /// signal if there is one, otherwise the lowest-numbered.
    #[must_use]
    pub const fn next_to_deliver(self) -> Option<Signal> {
        let synchronous = self.intersection(SignalSet::SYNCHRONOUS);
        if synchronous.is_empty() {
            self.lowest()
        } else {
            synchronous.lowest()
        }
    }

    /// The signals in ascending order.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        let mut remaining = self;
        core::iter::from_fn(move || {
            let signal = remaining.lowest()?;
            remaining = remaining.without(signal);
            Some(signal)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn numbers_match_asm_generic() {
        let expected = [
            (Signal::SIGHUP, 1),
            (Signal::SIGINT, 2),
            (Signal::SIGQUIT, 3),
            (Signal::SIGILL, 4),
            (Signal::SIGTRAP, 5),
            (Signal::SIGABRT, 6),
            (Signal::SIGBUS, 7),
            (Signal::SIGFPE, 8),
            (Signal::SIGKILL, 9),
            (Signal::SIGUSR1, 10),
            (Signal::SIGSEGV, 11),
            (Signal::SIGUSR2, 12),
            (Signal::SIGPIPE, 13),
            (Signal::SIGALRM, 14),
            (Signal::SIGTERM, 15),
            (Signal::SIGSTKFLT, 16),
            (Signal::SIGCHLD, 17),
            (Signal::SIGCONT, 18),
            (Signal::SIGSTOP, 19),
            (Signal::SIGTSTP, 20),
            (Signal::SIGTTIN, 21),
            (Signal::SIGTTOU, 22),
            (Signal::SIGURG, 23),
            (Signal::SIGXCPU, 24),
            (Signal::SIGXFSZ, 25),
            (Signal::SIGVTALRM, 26),
            (Signal::SIGPROF, 27),
            (Signal::SIGWINCH, 28),
            (Signal::SIGIO, 29),
            (Signal::SIGPWR, 30),
            (Signal::SIGSYS, 31),
        ];
        for (signal, number) in expected {
            assert_eq!(signal.number(), number);
            assert_eq!(Signal::new(u64::from(number)), Some(signal));
            // The constant's name matches the table entry.
            assert!(signal.name().starts_with("SIG"));
        }
        assert_eq!(Signal::SIGSEGV.name(), "SIGSEGV");
        assert_eq!(Signal::SIGSYS.name(), "SIGSYS");
        assert_eq!(Signal::new(32).map(Signal::name), Some("SIGRTMIN"));
        assert_eq!(Signal::new(35).map(Signal::name), Some("SIGRTMIN+3"));
        assert_eq!(Signal::new(64).map(Signal::name), Some("SIGRTMAX"));
        assert_eq!(Signal::new(63).map(Signal::name), Some("SIGRTMIN+31"));
    }

    #[test]
    fn out_of_range_numbers_are_rejected() {
        assert_eq!(Signal::new(0), None);
        assert_eq!(Signal::new(65), None);
        assert_eq!(Signal::new(u64::MAX), None);
        assert_eq!(Signal::new((-9_i64) as u64), None);
        assert_eq!(Signal::new(9 + (1 << 32)), None);
    }

    #[test]
    fn default_actions_follow_signal_7() {
        use DefaultAction::*;
        let table: [(u8, DefaultAction); 31] = [
            (1, Terminate),
            (2, Terminate),
            (3, CoreDump),
            (4, CoreDump),
            (5, CoreDump),
            (6, CoreDump),
            (7, CoreDump),
            (8, CoreDump),
            (9, Terminate),
            (10, Terminate),
            (11, CoreDump),
            (12, Terminate),
            (13, Terminate),
            (14, Terminate),
            (15, Terminate),
            (16, Terminate),
            (17, Ignore),
            (18, Continue),
            (19, Stop),
            (20, Stop),
            (21, Stop),
            (22, Stop),
            (23, Ignore),
            (24, CoreDump),
            (25, CoreDump),
            (26, Terminate),
            (27, Terminate),
            (28, Ignore),
            (29, Terminate),
            (30, Terminate),
            (31, CoreDump),
        ];
        for (number, action) in table {
            let signal = Signal::new(u64::from(number)).unwrap();
            assert_eq!(signal.default_action(), action, "{signal}");
        }
        for number in 32..=64 {
            assert_eq!(Signal::new(number).unwrap().default_action(), Terminate);
        }
    }

    #[test]
    fn kill_and_stop_are_uncatchable() {
        let uncatchable: Vec<Signal> = (1..=64)
            .filter_map(Signal::new)
            .filter(|signal| !signal.is_catchable())
            .collect();
        assert_eq!(uncatchable, [Signal::SIGKILL, Signal::SIGSTOP]);
        assert_eq!(
            SignalSet::UNBLOCKABLE.iter().collect::<Vec<_>>(),
            [Signal::SIGKILL, Signal::SIGSTOP]
        );
    }

    #[test]
    fn synchronous_set_is_the_fault_signals() {
        let expected = [
            Signal::SIGILL,
            Signal::SIGTRAP,
            Signal::SIGBUS,
            Signal::SIGFPE,
            Signal::SIGSEGV,
            Signal::SIGSYS,
        ];
        assert_eq!(SignalSet::SYNCHRONOUS.iter().collect::<Vec<_>>(), expected);
        assert_eq!(
            SignalSet::STOP.iter().collect::<Vec<_>>(),
            [
                Signal::SIGSTOP,
                Signal::SIGTSTP,
                Signal::SIGTTIN,
                Signal::SIGTTOU
            ]
        );
    }

    #[test]
    fn set_operations_and_bytes() {
        let set = SignalSet::EMPTY
            .with(Signal::SIGINT)
            .with(Signal::new(64).unwrap());
        assert_eq!(set.bits(), (1 << 1) | (1 << 63));
        assert_eq!(SignalSet::from_bytes(&set.to_bytes()), Ok(set));
        assert_eq!(SignalSet::from_bytes(&[0; 7]), Err(Errno::EFAULT));
        assert_eq!(set.lowest(), Some(Signal::SIGINT));
        assert!(SignalSet::FULL.blockable().contains(Signal::SIGTERM));
        assert!(!SignalSet::FULL.blockable().contains(Signal::SIGKILL));
        assert!(!SignalSet::FULL.blockable().contains(Signal::SIGSTOP));
        assert_eq!(SignalSet::EMPTY.lowest(), None);
    }

    #[test]
    fn next_to_deliver_prefers_faults_then_lowest() {
        let pending = SignalSet::EMPTY
            .with(Signal::SIGHUP)
            .with(Signal::SIGSEGV)
            .with(Signal::SIGBUS);
        assert_eq!(pending.next_to_deliver(), Some(Signal::SIGBUS));
        let pending = SignalSet::EMPTY.with(Signal::SIGTERM).with(Signal::SIGINT);
        assert_eq!(pending.next_to_deliver(), Some(Signal::SIGINT));
    }
}
