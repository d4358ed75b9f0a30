//! The console terminal: `struct termios`/`struct winsize` and the tty ioctls as Linux
//! defines them on aarch64, and the `n_tty`-style line discipline between the UART and
//! the processes reading and writing the console.

pub mod line_discipline;
pub mod termios;

pub use line_discipline::{
    LineDiscipline, OutputFlow, PendingOutput, ReadResult, ReadTimer, SignalRequest,
    TerminalSignal, INPUT_BUFFER_SIZE, MAX_INPUT_BYTES,
};
pub use termios::{
    FlushQueue, SetTermiosAction, TerminalIoctl, Termios, Winsize, NCCS, TERMIOS_SIZE, WINSIZE_SIZE,
};
