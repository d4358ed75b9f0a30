//! The terminal's settings as Linux's tty ioctls exchange them on aarch64: the kernel's
//! asm-generic `struct termios` and `struct winsize`, their flag and control-character
//! constants, the ioctl request numbers, and a Linux console's default settings.

/// Number of control characters in the kernel's asm-generic `struct termios` (`NCCS`).
///
/// C libraries declare a larger `c_cc` in their own `struct termios`, but `TCGETS` and
/// `TCSETS` copy only the kernel's layout.
pub const NCCS: usize = 19;
/// Size of the kernel's `struct termios` in bytes: four `u32` flag words, `c_line` and
/// `c_cc[19]`, which already ends on a 4-byte boundary.
pub const TERMIOS_SIZE: usize = 36;
/// Size of `struct winsize` in bytes: four `u16` fields.
pub const WINSIZE_SIZE: usize = 8;

/// `c_iflag` bits (asm-generic values).
pub mod input_flags {
    /// Ignore a break condition.
    pub const IGNBRK: u32 = 0x001;
    /// A break raises `SIGINT` and flushes the queues.
    pub const BRKINT: u32 = 0x002;
    /// Ignore characters with parity errors.
    pub const IGNPAR: u32 = 0x004;
    /// Mark parity errors and breaks with `\377 \0` in the input.
    pub const PARMRK: u32 = 0x008;
    /// Enable input parity checking.
    pub const INPCK: u32 = 0x010;
    /// Strip the eighth bit of every input byte.
    pub const ISTRIP: u32 = 0x020;
    /// Map NL to CR on input.
    pub const INLCR: u32 = 0x040;
    /// Ignore CR on input.
    pub const IGNCR: u32 = 0x080;
    /// Map CR to NL on input (unless `IGNCR`).
    pub const ICRNL: u32 = 0x100;
    /// Map upper case to lower case on input (with `IEXTEN`).
    pub const IUCLC: u32 = 0x200;
    /// `VSTOP` and `VSTART` stop and restart output.
    pub const IXON: u32 = 0x400;
    /// Any input character restarts stopped output.
    pub const IXANY: u32 = 0x800;
    /// Send `VSTOP`/`VSTART` to throttle the sender.
    pub const IXOFF: u32 = 0x1000;
    /// Ring the bell when a line is full.
    pub const IMAXBEL: u32 = 0x2000;
    /// Input is UTF-8: erasing removes whole multibyte characters.
    pub const IUTF8: u32 = 0x4000;
}

/// `c_oflag` bits (asm-generic values).
pub mod output_flags {
    /// Perform output processing.
    pub const OPOST: u32 = 0x01;
    /// Map lower case to upper case on output.
    pub const OLCUC: u32 = 0x02;
    /// Map NL to CR-NL on output.
    pub const ONLCR: u32 = 0x04;
    /// Map CR to NL on output.
    pub const OCRNL: u32 = 0x08;
    /// Do not output CR at column 0.
    pub const ONOCR: u32 = 0x10;
    /// NL performs the CR function.
    pub const ONLRET: u32 = 0x20;
    /// Use fill characters for delays.
    pub const OFILL: u32 = 0x40;
    /// The fill character is DEL.
    pub const OFDEL: u32 = 0x80;
    /// Mask of the horizontal-tab delay field.
    pub const TABDLY: u32 = 0x1800;
    /// `TABDLY` value: expand tabs to spaces.
    pub const XTABS: u32 = 0x1800;
}

/// `c_cflag` bits (asm-generic values).
pub mod control_flags {
    /// Mask of the baud-rate field.
    pub const CBAUD: u32 = 0x0000_100f;
    /// 38400 baud, the console's nominal rate.
    pub const B38400: u32 = 0x0000_000f;
    /// Mask of the character-size field.
    pub const CSIZE: u32 = 0x0000_0030;
    /// Eight data bits.
    pub const CS8: u32 = 0x0000_0030;
    /// Two stop bits.
    pub const CSTOPB: u32 = 0x0000_0040;
    /// Enable the receiver.
    pub const CREAD: u32 = 0x0000_0080;
    /// Enable parity.
    pub const PARENB: u32 = 0x0000_0100;
    /// Odd parity.
    pub const PARODD: u32 = 0x0000_0200;
    /// Hang up on last close.
    pub const HUPCL: u32 = 0x0000_0400;
    /// Ignore modem control lines.
    pub const CLOCAL: u32 = 0x0000_0800;
}

/// `c_lflag` bits (asm-generic values).
pub mod local_flags {
    /// `VINTR`, `VQUIT` and `VSUSP` raise signals.
    pub const ISIG: u32 = 0x00001;
    /// Canonical (line-by-line) input.
    pub const ICANON: u32 = 0x00002;
    /// Obsolete upper-case-only terminal support.
    pub const XCASE: u32 = 0x00004;
    /// Echo input.
    pub const ECHO: u32 = 0x00008;
    /// `VERASE` and `VWERASE` erase visually with backspace-space-backspace.
    pub const ECHOE: u32 = 0x00010;
    /// `VKILL` erases the line (with `ECHOKE`) or echoes a newline after it.
    pub const ECHOK: u32 = 0x00020;
    /// Echo NL even without `ECHO` (canonical mode).
    pub const ECHONL: u32 = 0x00040;
    /// Do not flush the queues when a signal character arrives.
    pub const NOFLSH: u32 = 0x00080;
    /// Background writers get `SIGTTOU`.
    pub const TOSTOP: u32 = 0x00100;
    /// Echo control characters as `^X`.
    pub const ECHOCTL: u32 = 0x00200;
    /// Echo erased characters between `\` and `/`.
    pub const ECHOPRT: u32 = 0x00400;
    /// `VKILL` erases each character of the line visually.
    pub const ECHOKE: u32 = 0x00800;
    /// Output is being discarded.
    pub const FLUSHO: u32 = 0x01000;
    /// Reprint pending input at the next read or input character.
    pub const PENDIN: u32 = 0x04000;
    /// Extended input processing: `VWERASE`, `VLNEXT`, `VREPRINT`, `VEOL2`, `IUCLC`.
    pub const IEXTEN: u32 = 0x08000;
    /// External processing (packet-mode pseudo-terminals).
    pub const EXTPROC: u32 = 0x10000;
}

/// Indices into `c_cc` (asm-generic values).
pub mod control_characters {
    /// Interrupt: `SIGINT`.
    pub const VINTR: usize = 0;
    /// Quit: `SIGQUIT`.
    pub const VQUIT: usize = 1;
    /// Erase one character.
    pub const VERASE: usize = 2;
    /// Erase the line.
    pub const VKILL: usize = 3;
    /// End of file: push the line, or end of file at the start of a line.
    pub const VEOF: usize = 4;
    /// Non-canonical read timeout in tenths of a second.
    pub const VTIME: usize = 5;
    /// Non-canonical read minimum byte count.
    pub const VMIN: usize = 6;
    /// Switch character (unused by Linux).
    pub const VSWTC: usize = 7;
    /// Restart output.
    pub const VSTART: usize = 8;
    /// Stop output.
    pub const VSTOP: usize = 9;
    /// Suspend: `SIGTSTP`.
    pub const VSUSP: usize = 10;
    /// Additional end of line.
    pub const VEOL: usize = 11;
    /// Reprint the pending line.
    pub const VREPRINT: usize = 12;
    /// Discard output (not acted on by Linux's line discipline).
    pub const VDISCARD: usize = 13;
    /// Erase one word.
    pub const VWERASE: usize = 14;
    /// Take the next character literally.
    pub const VLNEXT: usize = 15;
    /// Second additional end of line.
    pub const VEOL2: usize = 16;
}

/// The value that disables a control character (`_POSIX_VDISABLE` on Linux).
pub const DISABLED_CHARACTER: u8 = 0;

/// tty ioctl request numbers (asm-generic `ioctls.h`); the kernel compares the low 32
/// bits of the request argument.
pub mod ioctl {
    /// Get `struct termios`.
    pub const TCGETS: u32 = 0x5401;
    /// Set `struct termios` now.
    pub const TCSETS: u32 = 0x5402;
    /// Set `struct termios` once output has drained.
    pub const TCSETSW: u32 = 0x5403;
    /// Set `struct termios` once output has drained, discarding pending input.
    pub const TCSETSF: u32 = 0x5404;
    /// Flush queues (`tcflush`); the argument is `TCIFLUSH`, `TCOFLUSH` or `TCIOFLUSH`.
    pub const TCFLSH: u32 = 0x540B;
    /// Get the foreground process group.
    pub const TIOCGPGRP: u32 = 0x540F;
    /// Set the foreground process group.
    pub const TIOCSPGRP: u32 = 0x5410;
    /// Get `struct winsize`.
    pub const TIOCGWINSZ: u32 = 0x5413;
    /// Set `struct winsize`.
    pub const TIOCSWINSZ: u32 = 0x5414;
    /// Number of bytes a read could return now (`TIOCINQ`).
    pub const FIONREAD: u32 = 0x541B;
}

/// When `TCSETS*` applies new settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTermiosAction {
    /// `TCSETS` (`TCSANOW`): at once.
    Now,
    /// `TCSETSW` (`TCSADRAIN`): after queued output is sent; the caller waits for that.
    Drain,
    /// `TCSETSF` (`TCSAFLUSH`): after queued output is sent, discarding unread input.
    Flush,
}

/// Which queue `TCFLSH` discards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushQueue {
    /// `TCIFLUSH` (0): input received but not read.
    Input,
    /// `TCOFLUSH` (1): output written but not sent.
    Output,
    /// `TCIOFLUSH` (2): both.
    Both,
}

impl FlushQueue {
    /// Decodes the `TCFLSH` argument, or `None` (`EINVAL`) for any other value.
    #[must_use]
    pub const fn from_argument(argument: u64) -> Option<FlushQueue> {
        match argument {
            0 => Some(FlushQueue::Input),
            1 => Some(FlushQueue::Output),
            2 => Some(FlushQueue::Both),
            _ => None,
        }
    }
}

/// A terminal ioctl the console answers, decoded from its request number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalIoctl {
    /// `TCGETS`: copy out [`Termios::to_bytes`].
    GetAttributes,
    /// `TCSETS`, `TCSETSW`, `TCSETSF`: copy in [`Termios::from_bytes`].
    SetAttributes(SetTermiosAction),
    /// `TCFLSH`: the argument selects a [`FlushQueue`].
    Flush,
    /// `TIOCGPGRP`: copy out the foreground process group as an `i32`.
    GetForegroundGroup,
    /// `TIOCSPGRP`: copy in the new foreground process group as an `i32`.
    SetForegroundGroup,
    /// `TIOCGWINSZ`: copy out [`Winsize::to_bytes`].
    GetWindowSize,
    /// `TIOCSWINSZ`: copy in [`Winsize::from_bytes`].
    SetWindowSize,
    /// `FIONREAD`: copy out the readable byte count as an `i32`.
    BytesReadable,
}

impl TerminalIoctl {
    /// Decodes a request number (the low 32 bits of the syscall argument, as the kernel
    /// takes it), or `None` for a request the console does not know (`ENOTTY`).
    #[must_use]
    pub const fn from_request(request: u32) -> Option<TerminalIoctl> {
        match request {
            ioctl::TCGETS => Some(TerminalIoctl::GetAttributes),
            ioctl::TCSETS => Some(TerminalIoctl::SetAttributes(SetTermiosAction::Now)),
            ioctl::TCSETSW => Some(TerminalIoctl::SetAttributes(SetTermiosAction::Drain)),
            ioctl::TCSETSF => Some(TerminalIoctl::SetAttributes(SetTermiosAction::Flush)),
            ioctl::TCFLSH => Some(TerminalIoctl::Flush),
            ioctl::TIOCGPGRP => Some(TerminalIoctl::GetForegroundGroup),
            ioctl::TIOCSPGRP => Some(TerminalIoctl::SetForegroundGroup),
            ioctl::TIOCGWINSZ => Some(TerminalIoctl::GetWindowSize),
            ioctl::TIOCSWINSZ => Some(TerminalIoctl::SetWindowSize),
            ioctl::FIONREAD => Some(TerminalIoctl::BytesReadable),
            _ => None,
        }
    }
}

/// The kernel's asm-generic `struct termios`, as `TCGETS` and `TCSETS` copy it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Termios {
    /// `c_iflag`: see [`input_flags`].
    pub input_flags: u32,
    /// `c_oflag`: see [`output_flags`].
    pub output_flags: u32,
    /// `c_cflag`: see [`control_flags`].
    pub control_flags: u32,
    /// `c_lflag`: see [`local_flags`].
    pub local_flags: u32,
    /// `c_line`: the line discipline number (0, `N_TTY`).
    pub line: u8,
    /// `c_cc`: indexed by [`control_characters`].
    pub control_characters: [u8; NCCS],
}

impl Default for Termios {
    fn default() -> Self {
        Termios::console_default()
    }
}

impl Termios {
    /// The settings a Linux console starts with (the kernel's `tty_std_termios` with its
    /// `INIT_C_CC`): `ICRNL|IXON`, `OPOST|ONLCR`, `B38400|CS8|CREAD|HUPCL`,
    /// `ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN`, `^C ^\ DEL ^U ^D`, `VMIN` 1.
    #[must_use]
    pub const fn console_default() -> Termios {
        use control_characters as cc;
        let mut control_characters = [DISABLED_CHARACTER; NCCS];
        control_characters[cc::VINTR] = 0x03;
        control_characters[cc::VQUIT] = 0x1c;
        control_characters[cc::VERASE] = 0x7f;
        control_characters[cc::VKILL] = 0x15;
        control_characters[cc::VEOF] = 0x04;
        control_characters[cc::VTIME] = 0;
        control_characters[cc::VMIN] = 1;
        control_characters[cc::VSTART] = 0x11;
        control_characters[cc::VSTOP] = 0x13;
        control_characters[cc::VSUSP] = 0x1a;
        control_characters[cc::VREPRINT] = 0x12;
        control_characters[cc::VDISCARD] = 0x0f;
        control_characters[cc::VWERASE] = 0x17;
        control_characters[cc::VLNEXT] = 0x16;
        Termios {
            input_flags: input_flags::ICRNL | input_flags::IXON,
            output_flags: output_flags::OPOST | output_flags::ONLCR,
            control_flags: control_flags::B38400
                | control_flags::CS8
                | control_flags::CREAD
                | control_flags::HUPCL,
            local_flags: local_flags::ISIG
                | local_flags::ICANON
                | local_flags::ECHO
                | local_flags::ECHOE
                | local_flags::ECHOK
                | local_flags::ECHOCTL
                | local_flags::ECHOKE
                | local_flags::IEXTEN,
            line: 0,
            control_characters,
        }
    }

    /// The structure in the kernel's layout (little-endian, as aarch64 Linux runs).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut bytes = [0u8; TERMIOS_SIZE];
        let words = [
            self.input_flags,
            self.output_flags,
            self.control_flags,
            self.local_flags,
        ];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let (_, tail) = bytes.split_at_mut(16);
        if let Some((line, characters)) = tail.split_first_mut() {
            *line = self.line;
            characters.copy_from_slice(&self.control_characters);
        }
        bytes
    }

    /// Reads the kernel's layout. Every bit pattern is accepted, as Linux accepts it.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; TERMIOS_SIZE]) -> Termios {
        let word = |index: usize| {
            let mut value = [0u8; 4];
            if let Some(source) = bytes.get(index * 4..index * 4 + 4) {
                value.copy_from_slice(source);
            }
            u32::from_le_bytes(value)
        };
        let mut control_characters = [0u8; NCCS];
        if let Some(source) = bytes.get(17..TERMIOS_SIZE) {
            control_characters.copy_from_slice(source);
        }
        Termios {
            input_flags: word(0),
            output_flags: word(1),
            control_flags: word(2),
            local_flags: word(3),
            line: bytes.get(16).copied().unwrap_or(0),
            control_characters,
        }
    }

    /// Whether any of `flags` is set in `c_iflag`.
    #[must_use]
    pub const fn input(&self, flags: u32) -> bool {
        self.input_flags & flags != 0
    }

    /// Whether any of `flags` is set in `c_oflag`.
    #[must_use]
    pub const fn output(&self, flags: u32) -> bool {
        self.output_flags & flags != 0
    }

    /// Whether any of `flags` is set in `c_lflag`.
    #[must_use]
    pub const fn local(&self, flags: u32) -> bool {
        self.local_flags & flags != 0
    }

    /// Whether input is canonical (`ICANON`).
    #[must_use]
    pub const fn is_canonical(&self) -> bool {
        self.local(local_flags::ICANON)
    }

    /// The control character at `index` (see [`control_characters`]), or
    /// [`DISABLED_CHARACTER`] for an index past `NCCS`.
    #[must_use]
    pub fn control_character(&self, index: usize) -> u8 {
        self.control_characters
            .get(index)
            .copied()
            .unwrap_or(DISABLED_CHARACTER)
    }

    /// Whether `byte` is the enabled control character at `index`; a control character
    /// set to [`DISABLED_CHARACTER`] matches nothing.
    #[must_use]
    pub fn is_control_character(&self, index: usize, byte: u8) -> bool {
        let value = self.control_character(index);
        value != DISABLED_CHARACTER && value == byte
    }
}

/// `struct winsize`, as `TIOCGWINSZ` and `TIOCSWINSZ` copy it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Winsize {
    /// `ws_row`: rows of text.
    pub rows: u16,
    /// `ws_col`: columns of text.
    pub columns: u16,
    /// `ws_xpixel`: width in pixels (0: unknown).
    pub x_pixels: u16,
    /// `ws_ypixel`: height in pixels (0: unknown).
    pub y_pixels: u16,
}

impl Default for Winsize {
    fn default() -> Self {
        Winsize::console_default()
    }
}

impl Winsize {
    /// 24 rows of 80 columns, pixel size unknown: what a serial console reports until a
    /// program sets a size.
    #[must_use]
    pub const fn console_default() -> Winsize {
        Winsize {
            rows: 24,
            columns: 80,
            x_pixels: 0,
            y_pixels: 0,
        }
    }

    /// The structure in the kernel's layout (little-endian).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; WINSIZE_SIZE] {
        let mut bytes = [0u8; WINSIZE_SIZE];
        let fields = [self.rows, self.columns, self.x_pixels, self.y_pixels];
        for (chunk, field) in bytes.chunks_exact_mut(2).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        bytes
    }

    /// Reads the kernel's layout.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; WINSIZE_SIZE]) -> Winsize {
        let mut fields = [0u16; 4];
        for (field, chunk) in fields.iter_mut().zip(bytes.chunks_exact(2)) {
            let mut value = [0u8; 2];
            value.copy_from_slice(chunk);
            *field = u16::from_le_bytes(value);
        }
        let [rows, columns, x_pixels, y_pixels] = fields;
        Winsize {
            rows,
            columns,
            x_pixels,
            y_pixels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termios_layout_matches_the_kernel_struct() {
        let mut termios = Termios::console_default();
        termios.input_flags = 0x0102_0304;
        termios.output_flags = 0x0506_0708;
        termios.control_flags = 0x090a_0b0c;
        termios.local_flags = 0x0d0e_0f10;
        termios.line = 0x11;
        for (index, character) in termios.control_characters.iter_mut().enumerate() {
            *character = 0x20 + u8::try_from(index).unwrap();
        }
        let bytes = termios.to_bytes();
        assert_eq!(&bytes[0..4], &[0x04, 0x03, 0x02, 0x01]);
        assert_eq!(&bytes[4..8], &[0x08, 0x07, 0x06, 0x05]);
        assert_eq!(&bytes[8..12], &[0x0c, 0x0b, 0x0a, 0x09]);
        assert_eq!(&bytes[12..16], &[0x10, 0x0f, 0x0e, 0x0d]);
        assert_eq!(bytes[16], 0x11);
        assert_eq!(bytes[17], 0x20);
        assert_eq!(bytes[35], 0x20 + 18);
        assert_eq!(Termios::from_bytes(&bytes), termios);
    }

    #[test]
    fn console_default_matches_linux() {
        let bytes = Termios::console_default().to_bytes();
        // The kernel's tty_std_termios: c_iflag ICRNL|IXON = 0x500, c_oflag OPOST|ONLCR
        // = 5, c_cflag B38400|CS8|CREAD|HUPCL = 0x4bf, c_lflag = 0x8a3b.
        assert_eq!(&bytes[0..4], &0x500u32.to_le_bytes());
        assert_eq!(&bytes[4..8], &5u32.to_le_bytes());
        assert_eq!(&bytes[8..12], &0x4bfu32.to_le_bytes());
        assert_eq!(&bytes[12..16], &0x8a3bu32.to_le_bytes());
        assert_eq!(bytes[16], 0);
        // INIT_C_CC: intr quit erase kill eof time min swtc start stop susp eol
        // reprint discard werase lnext eol2.
        assert_eq!(
            &bytes[17..34],
            &[3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0]
        );
        assert_eq!(&bytes[34..36], &[0, 0]);
    }

    #[test]
    fn disabled_control_characters_match_nothing() {
        let termios = Termios::console_default();
        assert!(termios.is_control_character(control_characters::VINTR, 3));
        assert!(!termios.is_control_character(control_characters::VEOL, 0));
        assert!(!termios.is_control_character(NCCS, 0));
        assert!(!termios.is_control_character(usize::MAX, 3));
    }

    #[test]
    fn winsize_layout_and_default() {
        let size = Winsize {
            rows: 0x0102,
            columns: 0x0304,
            x_pixels: 0x0506,
            y_pixels: 0x0708,
        };
        let bytes = size.to_bytes();
        assert_eq!(bytes, [2, 1, 4, 3, 6, 5, 8, 7]);
        assert_eq!(Winsize::from_bytes(&bytes), size);
        assert_eq!(Winsize::default().to_bytes(), [24, 0, 80, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn ioctl_requests_decode() {
        assert_eq!(
            TerminalIoctl::from_request(0x5401),
            Some(TerminalIoctl::GetAttributes)
        );
        assert_eq!(
            TerminalIoctl::from_request(0x5404),
            Some(TerminalIoctl::SetAttributes(SetTermiosAction::Flush))
        );
        assert_eq!(
            TerminalIoctl::from_request(0x5413),
            Some(TerminalIoctl::GetWindowSize)
        );
        assert_eq!(
            TerminalIoctl::from_request(0x541B),
            Some(TerminalIoctl::BytesReadable)
        );
        assert_eq!(TerminalIoctl::from_request(0x5412), None);
        assert_eq!(FlushQueue::from_argument(2), Some(FlushQueue::Both));
        assert_eq!(FlushQueue::from_argument(3), None);
    }
}
