//! The console's line discipline, behaving as Linux's `n_tty`: input bytes from the UART
//! become echo output, signals for the foreground process group and input for `read`,
//! with canonical line editing or non-canonical `VMIN`/`VTIME` reads; program output is
//! post-processed (`OPOST`, `ONLCR`, ...) before it reaches the UART.
//!
//! Deliberate differences from `n_tty`: a control character set to 0 is disabled
//! everywhere (Linux lets NUL act as `VEOL` when `VEOL` is 0); `ECHOCTL` treats only
//! ASCII control bytes as control characters, so UTF-8 bytes 0x80..=0x9f echo as they
//! are; a newline typed in non-canonical mode echoes as a newline, not `^J`; a
//! `^D`-terminated line's marker is dropped, not read as a NUL byte, when `ICANON` is
//! turned off.

use super::termios::{
    control_characters as cc, control_flags, input_flags as iflag, local_flags as lflag,
    output_flags as oflag, FlushQueue, SetTermiosAction, Termios,
};
use crate::signal::Signal;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Linux's `N_TTY_BUF_SIZE`: how much unread input one terminal holds.
pub const INPUT_BUFFER_SIZE: usize = 4096;
/// The most data bytes unread input may hold; the last slot of the buffer is kept for
/// a line terminator, so a full canonical line can still be ended.
pub const MAX_INPUT_BYTES: usize = INPUT_BUFFER_SIZE - 1;

/// A signal the terminal raises for its foreground process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalSignal {
    /// `VINTR` (or a break with `BRKINT`): `SIGINT`.
    Interrupt,
    /// `VQUIT`: `SIGQUIT`.
    Quit,
    /// `VSUSP`: `SIGTSTP`.
    Suspend,
}

impl TerminalSignal {
    /// The signal number to deliver.
    #[must_use]
    pub const fn signal(self) -> Signal {
        match self {
            TerminalSignal::Interrupt => Signal::SIGINT,
            TerminalSignal::Quit => Signal::SIGQUIT,
            TerminalSignal::Suspend => Signal::SIGTSTP,
        }
    }
}

/// What to do with output already handed to the UART driver but not yet transmitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingOutput {
    /// Keep sending it.
    Keep,
    /// Discard it (Linux flushes the driver's queue on a signal character without
    /// `NOFLSH`, and on `TCFLSH` with `TCOFLUSH`/`TCIOFLUSH`).
    Discard,
}

/// A signal character arrived: deliver `signal` to the foreground process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalRequest {
    /// Which signal.
    pub signal: TerminalSignal,
    /// Whether output queued before this input's echo is discarded; unread input has
    /// already been discarded when this is [`PendingOutput::Discard`].
    pub pending_output: PendingOutput,
}

/// The outcome of a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadResult {
    /// These bytes were read, never more than asked (empty: `read` returns 0, as for a
    /// zero-length buffer or a non-canonical read with `VMIN` 0 and nothing typed).
    Data(Vec<u8>),
    /// End of file: `VEOF` at the start of a line; `read` returns 0.
    EndOfFile,
    /// Nothing may be returned yet: park the reader (or `EAGAIN` for `O_NONBLOCK`) and
    /// retry after more input arrives or the [`ReadTimer`] expires.
    WouldBlock,
}

/// The `VTIME` timer a parked non-canonical reader needs; the caller runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadTimer {
    /// No timer: wait for input alone.
    None,
    /// `VMIN` 0, `VTIME` > 0: started when the read parks; on expiry call
    /// [`LineDiscipline::read_after_timeout`].
    Overall {
        /// Tenths of a second.
        deciseconds: u8,
    },
    /// `VMIN` > 0, `VTIME` > 0: (re)started each time a byte arrives while the reader is
    /// parked with some input available; on expiry call
    /// [`LineDiscipline::read_after_timeout`].
    InterByte {
        /// Tenths of a second.
        deciseconds: u8,
    },
}

/// Whether output may be transmitted (`IXON` flow control).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFlow {
    /// Transmit normally.
    Running,
    /// `VSTOP` was typed: hold all output, echo included, until `VSTART` (or any byte
    /// with `IXANY`).
    Stopped,
}

/// How a completed canonical line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineEnd {
    /// Newline, `VEOL` or `VEOL2`, which is part of the line's data.
    Delimiter,
    /// `VEOF`, which is not part of the data; an empty such line reads as end of file.
    EndOfFile,
    /// Input pending when `ICANON` was turned on.
    Pushed,
}

/// A completed canonical line, possibly partly read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Line {
    bytes: Vec<u8>,
    end: LineEnd,
}

/// How a read waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadMode {
    Blocking,
    NonBlocking,
    TimerExpired,
}

/// Where an ordinary input byte came from, which decides how a newline echoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Typed,
    Literal,
}

/// Which erase function an input byte performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EraseKind {
    Character,
    Word,
    Line,
}

/// One terminal's line discipline state.
///
/// # Invariants
/// Unread input never exceeds [`INPUT_BUFFER_SIZE`] slots (data bytes plus one slot
/// per `VEOF` marker); `line_slots` counts the slots held by `lines`.
#[derive(Clone, Debug)]
pub struct LineDiscipline {
    termios: Termios,
    /// Canonical mode: completed lines, oldest first.
    lines: VecDeque<Line>,
    line_slots: usize,
    /// Canonical mode: the line being edited.
    editing: Vec<u8>,
    /// Non-canonical mode: input bytes.
    raw: VecDeque<u8>,
    /// `VLNEXT` was typed: the next byte is taken literally.
    literal_next: bool,
    /// `ECHOPRT` is showing erased characters (after a `\`).
    erasing: bool,
    /// The terminal's cursor column as output processing tracks it.
    column: u32,
    /// The column where the line being edited started, for erasing tabs.
    canon_column: u32,
    output_flow: OutputFlow,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        LineDiscipline::new(Termios::console_default())
    }
}

impl LineDiscipline {
    /// A line discipline with no pending input and the given settings.
    #[must_use]
    pub fn new(termios: Termios) -> LineDiscipline {
        LineDiscipline {
            termios,
            lines: VecDeque::new(),
            line_slots: 0,
            editing: Vec::new(),
            raw: VecDeque::new(),
            literal_next: false,
            erasing: false,
            column: 0,
            canon_column: 0,
            output_flow: OutputFlow::Running,
        }
    }

    /// The current settings (`TCGETS`).
    #[must_use]
    pub const fn termios(&self) -> &Termios {
        &self.termios
    }

    /// Applies new settings (`TCSETS`, `TCSETSW`, `TCSETSF`). The caller waits for output
    /// to drain first for [`SetTermiosAction::Drain`] and [`SetTermiosAction::Flush`];
    /// `Flush` discards unread input here.
    ///
    /// Turning `ICANON` off makes everything typed so far readable; turning it on makes
    /// pending non-canonical input one readable line.
    pub fn set_termios(&mut self, termios: Termios, action: SetTermiosAction) {
        if action == SetTermiosAction::Flush {
            self.flush_input();
        }
        let was_canonical = self.termios.is_canonical();
        self.termios = termios;
        if was_canonical != termios.is_canonical() {
            self.erasing = false;
            self.literal_next = false;
            if termios.is_canonical() {
                if !self.raw.is_empty() {
                    let bytes: Vec<u8> = self.raw.drain(..).collect();
                    self.line_slots = self.line_slots.saturating_add(bytes.len());
                    self.lines.push_back(Line {
                        bytes,
                        end: LineEnd::Pushed,
                    });
                }
            } else {
                for line in self.lines.drain(..) {
                    self.raw.extend(line.bytes);
                }
                self.raw.extend(self.editing.drain(..));
                self.line_slots = 0;
            }
        }
        if !termios.input(iflag::IXON) {
            self.output_flow = OutputFlow::Running;
        }
    }

    /// Discards unread input, the line being edited included (`TCFLSH` with `TCIFLUSH`).
    pub fn flush_input(&mut self) {
        self.lines.clear();
        self.line_slots = 0;
        self.editing.clear();
        self.raw.clear();
        self.literal_next = false;
        self.erasing = false;
    }

    /// `TCFLSH`: discards unread input if `queue` includes it, and says whether the
    /// caller discards untransmitted output.
    pub fn flush(&mut self, queue: FlushQueue) -> PendingOutput {
        match queue {
            FlushQueue::Input => {
                self.flush_input();
                PendingOutput::Keep
            }
            FlushQueue::Output => PendingOutput::Discard,
            FlushQueue::Both => {
                self.flush_input();
                PendingOutput::Discard
            }
        }
    }

    /// Whether output may be transmitted now (`IXON` flow control).
    #[must_use]
    pub const fn output_flow(&self) -> OutputFlow {
        self.output_flow
    }

    /// Processes one byte received by the UART, appending what to echo to `echo` (already
    /// output-processed; transmit it after any program output queued before it).
    ///
    /// Returns the signal to raise for the foreground process group, if the byte is a
    /// signal character.
    pub fn receive_byte(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<SignalRequest> {
        if !self.termios_control(control_flags::CREAD) {
            return None;
        }
        if self.literal_next {
            self.literal_next = false;
            let byte = self.transform_input(byte);
            self.receive_ordinary(byte, Origin::Literal, echo);
            return None;
        }
        let mut byte = self.transform_input(byte);
        if self.termios.input(iflag::IXON) {
            if self.is_character(cc::VSTART, byte) {
                self.output_flow = OutputFlow::Running;
                return None;
            }
            if self.is_character(cc::VSTOP, byte) {
                self.output_flow = OutputFlow::Stopped;
                return None;
            }
        }
        if self.termios.local(lflag::ISIG) {
            let signals = [
                (cc::VINTR, TerminalSignal::Interrupt),
                (cc::VQUIT, TerminalSignal::Quit),
                (cc::VSUSP, TerminalSignal::Suspend),
            ];
            for (index, signal) in signals {
                if self.is_character(index, byte) {
                    let request = self.raise(signal);
                    if self.termios.local(lflag::ECHO) {
                        self.echo_character(byte, echo);
                    }
                    return Some(request);
                }
            }
        }
        if self.output_flow == OutputFlow::Stopped
            && self.termios.input(iflag::IXON)
            && self.termios.input(iflag::IXANY)
        {
            self.output_flow = OutputFlow::Running;
        }
        if byte == b'\r' {
            if self.termios.input(iflag::IGNCR) {
                return None;
            }
            if self.termios.input(iflag::ICRNL) {
                byte = b'\n';
            }
        } else if byte == b'\n' && self.termios.input(iflag::INLCR) {
            byte = b'\r';
        }
        if self.termios.is_canonical() && self.receive_canonical_special(byte, echo) {
            return None;
        }
        self.receive_ordinary(byte, Origin::Typed, echo);
        None
    }

    /// Processes a break condition the UART reported: ignored with `IGNBRK`, `SIGINT`
    /// with `BRKINT`, otherwise a NUL byte of input (`\377 \0 \0` with `PARMRK`).
    pub fn receive_break(&mut self) -> Option<SignalRequest> {
        if !self.termios_control(control_flags::CREAD) || self.termios.input(iflag::IGNBRK) {
            return None;
        }
        if self.termios.input(iflag::BRKINT) {
            return Some(self.raise(TerminalSignal::Interrupt));
        }
        let marked: &[u8] = if self.termios.input(iflag::PARMRK) {
            &[0xff, 0, 0]
        } else {
            &[0]
        };
        if self.free_input_slots() >= marked.len() {
            self.queue_input(marked);
        }
        None
    }

    /// Output processing for bytes a program writes (`OPOST`: `ONLCR`, `OCRNL`, `ONOCR`,
    /// `ONLRET`, `OLCUC`, `XTABS`); the result goes to the UART.
    pub fn write_output(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut output = Vec::with_capacity(bytes.len());
        if self.termios.output(oflag::OPOST) {
            for &byte in bytes {
                self.process_output_byte(byte, &mut output);
            }
        } else {
            output.extend_from_slice(bytes);
        }
        output
    }

    /// A read with the caller prepared to park: in canonical mode one line (or its
    /// first `buffer_length` bytes; the rest stays for the next read), in non-canonical
    /// mode data once `VMIN` bytes (or `buffer_length`, if fewer) are available.
    pub fn read(&mut self, buffer_length: usize) -> ReadResult {
        self.read_with(buffer_length, ReadMode::Blocking)
    }

    /// A read on an `O_NONBLOCK` description: whatever is available without waiting for
    /// `VMIN`; [`ReadResult::WouldBlock`] becomes `EAGAIN`.
    pub fn read_nonblocking(&mut self, buffer_length: usize) -> ReadResult {
        self.read_with(buffer_length, ReadMode::NonBlocking)
    }

    /// A parked non-canonical reader's [`ReadTimer`] expired: whatever is available, even
    /// nothing. In canonical mode this is the same as [`LineDiscipline::read`].
    pub fn read_after_timeout(&mut self, buffer_length: usize) -> ReadResult {
        self.read_with(buffer_length, ReadMode::TimerExpired)
    }

    /// The `VTIME` timer a parked reader needs.
    #[must_use]
    pub fn read_timer(&self) -> ReadTimer {
        if self.termios.is_canonical() {
            return ReadTimer::None;
        }
        let deciseconds = self.termios.control_character(cc::VTIME);
        match (self.termios.control_character(cc::VMIN), deciseconds) {
            (_, 0) => ReadTimer::None,
            (0, _) => ReadTimer::Overall { deciseconds },
            _ => ReadTimer::InterByte { deciseconds },
        }
    }

    /// `FIONREAD`: bytes a read could return now (completed lines in canonical mode,
    /// not counting `VEOF` markers; all input in non-canonical mode).
    #[must_use]
    pub fn readable_bytes(&self) -> usize {
        if self.termios.is_canonical() {
            self.lines.iter().map(|line| line.bytes.len()).sum()
        } else {
            self.raw.len()
        }
    }

    /// Whether `poll` reports the terminal readable: a completed line (or end of file) in
    /// canonical mode; in non-canonical mode `VMIN` bytes when `VTIME` is 0 and `VMIN`
    /// is not, otherwise one byte.
    #[must_use]
    pub fn is_readable(&self) -> bool {
        if self.termios.is_canonical() {
            return !self.lines.is_empty();
        }
        let minimum = self.termios.control_character(cc::VMIN);
        let needed = if self.termios.control_character(cc::VTIME) == 0 && minimum > 0 {
            usize::from(minimum)
        } else {
            1
        };
        self.raw.len() >= needed
    }

    fn read_with(&mut self, buffer_length: usize, mode: ReadMode) -> ReadResult {
        if buffer_length == 0 {
            return ReadResult::Data(Vec::new());
        }
        if self.termios.is_canonical() {
            return self.read_line(buffer_length);
        }
        let available = self.raw.len();
        let minimum = usize::from(self.termios.control_character(cc::VMIN));
        let timed = self.termios.control_character(cc::VTIME) != 0;
        let ready = match mode {
            ReadMode::Blocking if minimum == 0 => available > 0 || !timed,
            ReadMode::Blocking => available >= minimum.min(buffer_length),
            ReadMode::NonBlocking => available > 0 || (minimum == 0 && !timed),
            ReadMode::TimerExpired => true,
        };
        if !ready {
            return ReadResult::WouldBlock;
        }
        let count = available.min(buffer_length);
        ReadResult::Data(self.raw.drain(..count).collect())
    }

    fn read_line(&mut self, buffer_length: usize) -> ReadResult {
        while let Some(line) = self.lines.front_mut() {
            if line.bytes.is_empty() {
                let end = line.end;
                self.lines.pop_front();
                if end == LineEnd::EndOfFile {
                    self.line_slots = self.line_slots.saturating_sub(1);
                    return ReadResult::EndOfFile;
                }
                continue;
            }
            let count = buffer_length.min(line.bytes.len());
            let data: Vec<u8> = line.bytes.drain(..count).collect();
            self.line_slots = self.line_slots.saturating_sub(count);
            if line.bytes.is_empty() {
                let end = line.end;
                self.lines.pop_front();
                if end == LineEnd::EndOfFile {
                    // The marker only means end of file when nothing precedes it.
                    self.line_slots = self.line_slots.saturating_sub(1);
                }
            }
            return ReadResult::Data(data);
        }
        ReadResult::WouldBlock
    }

    /// Handles the canonical-mode special characters; false if `byte` is ordinary.
    fn receive_canonical_special(&mut self, byte: u8, echo: &mut Vec<u8>) -> bool {
        let extended = self.termios.local(lflag::IEXTEN);
        let echoing = self.termios.local(lflag::ECHO);
        if self.is_character(cc::VERASE, byte) {
            self.erase(EraseKind::Character, echo);
        } else if extended && self.is_character(cc::VWERASE, byte) {
            self.erase(EraseKind::Word, echo);
        } else if self.is_character(cc::VKILL, byte) {
            self.erase(EraseKind::Line, echo);
        } else if extended && self.is_character(cc::VLNEXT, byte) {
            self.literal_next = true;
            if echoing {
                self.finish_erasing(echo);
                if self.termios.local(lflag::ECHOCTL) {
                    // A caret the literal character then overwrites.
                    self.echo_raw(b'^', echo);
                    self.echo_raw(b'\x08', echo);
                }
            }
        } else if extended && echoing && self.is_character(cc::VREPRINT, byte) {
            self.finish_erasing(echo);
            self.echo_character(byte, echo);
            self.echo_raw(b'\n', echo);
            for index in 0..self.editing.len() {
                if let Some(&pending) = self.editing.get(index) {
                    self.echo_character(pending, echo);
                }
            }
        } else if byte == b'\n' {
            if self.line_can_end() {
                if echoing || self.termios.local(lflag::ECHONL) {
                    self.finish_erasing(echo);
                    self.echo_raw(b'\n', echo);
                }
                self.complete_line(Some(byte), LineEnd::Delimiter);
            }
        } else if self.is_character(cc::VEOF, byte) {
            if self.line_can_end() {
                self.complete_line(None, LineEnd::EndOfFile);
            }
        } else if self.is_character(cc::VEOL, byte)
            || (extended && self.is_character(cc::VEOL2, byte))
        {
            if self.line_can_end() {
                if echoing {
                    self.finish_erasing(echo);
                    if self.editing.is_empty() {
                        self.canon_column = self.column;
                    }
                    self.echo_character(byte, echo);
                }
                self.complete_line(Some(byte), LineEnd::Delimiter);
            }
        } else {
            return false;
        }
        true
    }

    fn receive_ordinary(&mut self, byte: u8, origin: Origin, echo: &mut Vec<u8>) {
        let doubled = byte == 0xff && self.termios.input(iflag::PARMRK);
        let needed = if doubled { 2 } else { 1 };
        if self.free_input_slots() < needed {
            if self.termios.local(lflag::ECHO) && self.termios.input(iflag::IMAXBEL) {
                self.echo_raw(b'\x07', echo);
            }
            return;
        }
        if self.termios.local(lflag::ECHO) {
            self.finish_erasing(echo);
            if byte == b'\n' && origin == Origin::Typed {
                self.echo_raw(b'\n', echo);
            } else {
                if self.termios.is_canonical() && self.editing.is_empty() {
                    self.canon_column = self.column;
                }
                self.echo_character(byte, echo);
            }
        }
        if doubled {
            self.queue_input(&[0xff, 0xff]);
        } else {
            self.queue_input(&[byte]);
        }
    }

    /// `VERASE`, `VWERASE` and `VKILL` on the line being edited, with their echo.
    fn erase(&mut self, kind: EraseKind, echo: &mut Vec<u8>) {
        if self.editing.is_empty() {
            return;
        }
        let echoing = self.termios.local(lflag::ECHO);
        if kind == EraseKind::Line {
            if !echoing {
                self.editing.clear();
                return;
            }
            let visual = lflag::ECHOK | lflag::ECHOKE | lflag::ECHOE;
            if self.termios.local_flags & visual != visual {
                self.editing.clear();
                self.finish_erasing(echo);
                self.echo_character(self.termios.control_character(cc::VKILL), echo);
                if self.termios.local(lflag::ECHOK) {
                    self.echo_raw(b'\n', echo);
                }
                return;
            }
        }
        let mut seen_word_characters = false;
        while !self.editing.is_empty() {
            // The last character starts at its last non-continuation byte; a line that
            // is all continuation bytes is not partly erased.
            let Some(start) = self
                .editing
                .iter()
                .rposition(|&byte| !self.is_continuation(byte))
            else {
                break;
            };
            let Some(&first) = self.editing.get(start) else {
                break;
            };
            if kind == EraseKind::Word {
                if is_word_character(first) {
                    seen_word_characters = true;
                } else if seen_word_characters {
                    break;
                }
            }
            let erased = self.editing.split_off(start);
            if echoing {
                self.echo_erased(kind, first, &erased, echo);
            }
            if kind == EraseKind::Character {
                break;
            }
        }
        if self.editing.is_empty() && echoing {
            self.finish_erasing(echo);
        }
    }

    /// Echoes the erasure of one character whose bytes were `erased`.
    fn echo_erased(&mut self, kind: EraseKind, first: u8, erased: &[u8], echo: &mut Vec<u8>) {
        let echo_control = self.termios.local(lflag::ECHOCTL);
        if self.termios.local(lflag::ECHOPRT) {
            if !self.erasing {
                self.echo_raw(b'\\', echo);
                self.erasing = true;
            }
            self.echo_character(first, echo);
            for &byte in erased.iter().skip(1) {
                self.echo_raw(byte, echo);
                self.column = self.column.saturating_sub(1);
            }
        } else if kind == EraseKind::Character && !self.termios.local(lflag::ECHOE) {
            self.echo_character(self.termios.control_character(cc::VERASE), echo);
        } else if first == b'\t' {
            self.echo_erase_tab(echo);
        } else {
            let columns = match (is_control(first), echo_control) {
                (true, true) => 2,
                (true, false) => 0,
                (false, _) => 1,
            };
            for _ in 0..columns {
                self.echo_raw(b'\x08', echo);
                self.echo_raw(b' ', echo);
                self.echo_raw(b'\x08', echo);
            }
        }
    }

    /// Moves back over an erased tab: to the tab stop before it, counting the columns
    /// the characters since the previous tab (or the start of the line) took.
    fn echo_erase_tab(&mut self, echo: &mut Vec<u8>) {
        let echo_control = self.termios.local(lflag::ECHOCTL);
        let mut columns: u32 = 0;
        let mut after_tab = false;
        for &byte in self.editing.iter().rev() {
            if byte == b'\t' {
                after_tab = true;
                break;
            } else if is_control(byte) {
                if echo_control {
                    columns = columns.wrapping_add(2);
                }
            } else if !self.is_continuation(byte) {
                columns = columns.wrapping_add(1);
            }
        }
        if !after_tab {
            columns = columns.wrapping_add(self.canon_column);
        }
        for _ in 0..8 - (columns & 7) {
            echo.push(b'\x08');
            self.column = self.column.saturating_sub(1);
        }
    }

    fn finish_erasing(&mut self, echo: &mut Vec<u8>) {
        if self.erasing {
            self.echo_raw(b'/', echo);
            self.erasing = false;
        }
    }

    /// Raises `signal`, flushing unread input unless `NOFLSH`, and restarting output.
    fn raise(&mut self, signal: TerminalSignal) -> SignalRequest {
        let pending_output = if self.termios.local(lflag::NOFLSH) {
            PendingOutput::Keep
        } else {
            self.flush_input();
            PendingOutput::Discard
        };
        if self.termios.input(iflag::IXON) {
            self.output_flow = OutputFlow::Running;
        }
        SignalRequest {
            signal,
            pending_output,
        }
    }

    fn complete_line(&mut self, terminator: Option<u8>, end: LineEnd) {
        let mut bytes = core::mem::take(&mut self.editing);
        bytes.extend(terminator);
        let marker = usize::from(end == LineEnd::EndOfFile);
        self.line_slots = self
            .line_slots
            .saturating_add(bytes.len())
            .saturating_add(marker);
        self.lines.push_back(Line { bytes, end });
    }

    /// Whether a line terminator fits: it may take the buffer's last slot.
    fn line_can_end(&self) -> bool {
        self.line_slots.saturating_add(self.editing.len()) < INPUT_BUFFER_SIZE
    }

    /// Slots left for data bytes, keeping the last for a line terminator.
    fn free_input_slots(&self) -> usize {
        let used = if self.termios.is_canonical() {
            self.line_slots.saturating_add(self.editing.len())
        } else {
            self.raw.len()
        };
        MAX_INPUT_BYTES.saturating_sub(used)
    }

    fn queue_input(&mut self, bytes: &[u8]) {
        if self.termios.is_canonical() {
            self.editing.extend_from_slice(bytes);
        } else {
            self.raw.extend(bytes.iter().copied());
        }
    }

    /// `ISTRIP` and `IUCLC`, applied to every input byte before anything else.
    fn transform_input(&self, byte: u8) -> u8 {
        let mut byte = byte;
        if self.termios.input(iflag::ISTRIP) {
            byte &= 0x7f;
        }
        if self.termios.input(iflag::IUCLC) && self.termios.local(lflag::IEXTEN) {
            byte = byte.to_ascii_lowercase();
        }
        byte
    }

    /// Echoes an input byte, as `^X` if it is a control character (other than tab)
    /// under `ECHOCTL`.
    fn echo_character(&mut self, byte: u8, echo: &mut Vec<u8>) {
        if self.termios.local(lflag::ECHOCTL) && is_control(byte) && byte != b'\t' {
            echo.push(b'^');
            echo.push(byte ^ 0x40);
            self.column = self.column.saturating_add(2);
        } else {
            self.echo_raw(byte, echo);
        }
    }

    /// Echoes a byte through output processing, as program output would be.
    fn echo_raw(&mut self, byte: u8, echo: &mut Vec<u8>) {
        if self.termios.output(oflag::OPOST) {
            self.process_output_byte(byte, echo);
        } else {
            echo.push(byte);
        }
    }

    /// Output processing of one byte under `OPOST`, tracking the cursor column.
    fn process_output_byte(&mut self, byte: u8, output: &mut Vec<u8>) {
        let termios = self.termios;
        match byte {
            b'\n' => {
                if termios.output(oflag::ONLRET) {
                    self.column = 0;
                }
                if termios.output(oflag::ONLCR) {
                    self.column = 0;
                    self.canon_column = 0;
                    output.extend_from_slice(b"\r\n");
                    return;
                }
                self.canon_column = self.column;
                output.push(b'\n');
            }
            b'\r' => {
                if termios.output(oflag::ONOCR) && self.column == 0 {
                    return;
                }
                if termios.output(oflag::OCRNL) {
                    if termios.output(oflag::ONLRET) {
                        self.column = 0;
                        self.canon_column = 0;
                    }
                    output.push(b'\n');
                    return;
                }
                self.column = 0;
                self.canon_column = 0;
                output.push(b'\r');
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                self.column = self.column.saturating_add(spaces);
                if termios.output_flags & oflag::TABDLY == oflag::XTABS {
                    output.extend(core::iter::repeat_n(b' ', spaces as usize));
                } else {
                    output.push(b'\t');
                }
            }
            b'\x08' => {
                self.column = self.column.saturating_sub(1);
                output.push(byte);
            }
            _ => {
                let mut byte = byte;
                if !is_control(byte) {
                    if termios.output(oflag::OLCUC) {
                        byte = byte.to_ascii_uppercase();
                    }
                    if !self.is_continuation(byte) {
                        self.column = self.column.saturating_add(1);
                    }
                }
                output.push(byte);
            }
        }
    }

    fn is_character(&self, index: usize, byte: u8) -> bool {
        self.termios.is_control_character(index, byte)
    }

    fn termios_control(&self, flags: u32) -> bool {
        self.termios.control_flags & flags != 0
    }

    /// A UTF-8 continuation byte, when `IUTF8` says input is UTF-8.
    fn is_continuation(&self, byte: u8) -> bool {
        self.termios.input(iflag::IUTF8) && byte & 0xc0 == 0x80
    }
}

/// An ASCII control character (`iscntrl` in the C locale).
const fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7f
}

/// A byte `VWERASE` treats as part of a word: letters, digits, `_`, and any non-ASCII
/// byte (so UTF-8 letters count).
const fn is_word_character(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

#[cfg(test)]
mod tests;
