//! Signals for the process server: numbers and default actions, `siginfo_t`, per-process
//! and per-thread signal state, and the aarch64 signal frame.

pub mod frame;
pub mod info;
pub mod numbers;
pub mod state;

pub use frame::{
    build_signal_frame, parse_for_sigreturn, FloatingPointRegisters, FrameRequest, RestoredContext,
    SignalFrame, UserRegisters,
};
pub use info::{SigInfo, SigInfoDetail};
pub use numbers::{DefaultAction, Signal, SignalSet};
pub use state::{
    check_sigset_size, force_signal, force_sigsegv, send_effects, send_signal, AlternateStack,
    AlternateStackInheritance, CoreDump, Delivery, Disposition, PendingSignals, QueueOutcome,
    SendEffects, SigAction, SigActionChange, SignalActions, StackDescription, ThreadSignals,
};
