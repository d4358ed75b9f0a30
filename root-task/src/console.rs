//! The console: QEMU virt's PL011 UART driven by the root task (receive by interrupt,
//! SPI 1 = INTID 33, on the bound notification's [`crate::events::UART`] bit; transmit
//! by polling TXFF), with linux-personality's `n_tty`-style line discipline between it
//! and every process reading or writing `/dev/console` or `/dev/tty`.
//!
//! A read that finds no line parks its thread ([`Wait::ConsoleRead`]); each receive
//! interrupt feeds the discipline and answers the parked readers it can, oldest first.

use crate::linux::{After, Context};
use crate::process::{Pid, ThreadState, Tid, Wait};
use crate::server::Server;
use crate::user_memory::UserMemory;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_personality::tty::{
    LineDiscipline, ReadResult, ReadTimer, SignalRequest, TerminalIoctl, Termios, Winsize,
    TERMIOS_SIZE, WINSIZE_SIZE,
};
use linux_personality::Errno;
use sel4::cap_type::IrqHandler;
use sel4::Cap;

/// Physical address of the PL011.
pub const PL011_BASE: u64 = 0x0900_0000;
/// The PL011's interrupt: SPI 1.
pub const PL011_IRQ: u64 = 33;
/// Where the PL011's page is mapped in the root task.
const UART_WINDOW: u64 = 0x20_0000_1000;

/// PL011 registers (byte offsets) and bits.
const DR: usize = 0x000;
const FR: usize = 0x018;
const CR: usize = 0x030;
const IMSC: usize = 0x038;
const ICR: usize = 0x044;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
const CR_UARTEN: u32 = 1 << 0;
const CR_TXE: u32 = 1 << 8;
const CR_RXE: u32 = 1 << 9;
const INT_RX: u32 = 1 << 4;
const INT_RECEIVE_TIMEOUT: u32 = 1 << 6;
/// Every interrupt-clear bit.
const ICR_ALL: u32 = 0x7ff;

/// The mapped PL011.
#[derive(Debug, Clone, Copy)]
struct Uart {
    base: usize,
}

impl Uart {
    fn read(self, offset: usize) -> u32 {
        // SAFETY: `base` is the PL011's page, mapped uncached at UART_WINDOW for the root
        // task's whole life; `offset` is one of its 32-bit registers.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(self, offset: usize, value: u32) {
        // SAFETY: as for `read`.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn transmit(self, bytes: &[u8]) {
        for &byte in bytes {
            while self.read(FR) & FR_TXFF != 0 {
                core::hint::spin_loop();
            }
            self.write(DR, u32::from(byte));
        }
    }

    fn receive(self) -> Option<u8> {
        if self.read(FR) & FR_RXFE != 0 {
            return None;
        }
        Some(self.read(DR) as u8)
    }
}

/// The console's state.
#[derive(Debug)]
pub struct Console {
    uart: Option<Uart>,
    handler: Option<Cap<IrqHandler>>,
    discipline: LineDiscipline,
    window: Winsize,
    /// The foreground process group (`TIOCGPGRP`).
    foreground: Pid,
    /// Threads parked in a read, oldest first.
    readers: VecDeque<Tid>,
}

impl Console {
    /// Maps the PL011 and takes its receive interrupt through `events`; without them the
    /// console writes through the kernel's debug output and reads end of file.
    pub fn start(
        objects: &mut crate::objects::Objects,
        events: Option<&crate::events::Events>,
    ) -> Console {
        let uart = match crate::device::map_device_page(objects, PL011_BASE, UART_WINDOW) {
            Ok(()) => Some(Uart {
                base: UART_WINDOW as usize,
            }),
            Err(problem) => {
                log::warn!("no PL011 ({problem}): console output through the kernel");
                None
            }
        };
        let handler = match (uart, events) {
            (Some(_), Some(events)) => {
                match events.handler(objects, PL011_IRQ, crate::events::UART) {
                    Ok(handler) => Some(handler),
                    Err(error) => {
                        log::warn!("no PL011 interrupt ({error:?}): console input disabled");
                        None
                    }
                }
            }
            _ => None,
        };
        if let (Some(uart), Some(_)) = (uart, handler) {
            uart.write(CR, uart.read(CR) | CR_UARTEN | CR_TXE | CR_RXE);
            uart.write(ICR, ICR_ALL);
            uart.write(IMSC, INT_RX | INT_RECEIVE_TIMEOUT);
        }
        Console {
            uart,
            handler,
            discipline: LineDiscipline::new(Termios::console_default()),
            window: Winsize::console_default(),
            foreground: 1,
            readers: VecDeque::new(),
        }
    }

    /// Sets the foreground process group (init's, at boot).
    pub fn set_foreground(&mut self, group: Pid) {
        self.foreground = group;
    }

    /// Program output: output processing, then the UART.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let output = self.discipline.write_output(data);
        self.transmit(&output);
        data.len()
    }

    fn transmit(&self, bytes: &[u8]) {
        match self.uart {
            Some(uart) => uart.transmit(bytes),
            None => bytes
                .iter()
                .for_each(|byte| sel4::syscall::debug_put_char(*byte)),
        }
    }

    /// Whether a read would find data now (poll readiness).
    pub fn is_readable(&self) -> bool {
        self.discipline.is_readable()
    }

    /// Forgets a thread that is going away.
    pub fn forget_reader(&mut self, tid: Tid) {
        self.readers.retain(|reader| *reader != tid);
    }
}

/// The UART interrupt: feed every received byte to the line discipline, transmit the
/// echo, raise terminal signals, acknowledge, then answer the readers that can be.
pub fn serve_interrupt(server: &mut Server) {
    let mut signals: Vec<SignalRequest> = Vec::new();
    if let Some(uart) = server.console.uart {
        let mut echo = Vec::new();
        while let Some(byte) = uart.receive() {
            if let Some(request) = server.console.discipline.receive_byte(byte, &mut echo) {
                signals.push(request);
            }
        }
        uart.transmit(&echo);
    }
    if let Some(handler) = server.console.handler {
        if let Err(error) = handler.irq_handler_ack() {
            log::warn!("console interrupt not acknowledged: {error:?}");
        }
    }
    for request in signals {
        let group = server.console.foreground;
        for pid in server.table.group_members(group) {
            crate::timer::signal_process(server, pid, request.signal.signal());
        }
    }
    wake_readers(server);
    // ppoll/pselect6 waiting on the console re-check their readiness.
    crate::linux::pipe::wake_io_waiters(server);
}

/// Answers parked readers, oldest first, while the discipline has data for them; a
/// non-canonical reader still short of `VMIN` with some input (re)starts its `VTIME`
/// inter-byte timer.
pub fn wake_readers(server: &mut Server) {
    while let Some(&tid) = server.console.readers.front() {
        if !server.console.discipline.is_readable() {
            break;
        }
        server.console.readers.pop_front();
        if complete_read(server, tid, Attempt::Input) == Completion::StillWaiting {
            if let ReadTimer::InterByte { deciseconds } = server.console.discipline.read_timer() {
                let deadline = server.timers.after(u64::from(deciseconds) * 100_000_000);
                crate::timer::arm_timeout(server, tid, deadline);
            }
            break;
        }
    }
}

/// A parked non-canonical reader's `VTIME` expired.
pub fn read_timed_out(server: &mut Server, tid: Tid) {
    server.console.forget_reader(tid);
    let _ = complete_read(server, tid, Attempt::TimerExpired);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Completion {
    Answered,
    /// Put back at the head of the readers.
    StillWaiting,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Input,
    TimerExpired,
}

/// Where a read's bytes go: one buffer, or an iovec array in the reader's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadTarget {
    Buffer { address: u64, length: u64 },
    Vector { address: u64, count: u64 },
}

fn complete_read(server: &mut Server, tid: Tid, attempt: Attempt) -> Completion {
    let Some(thread) = server.threads.get(&tid) else {
        return Completion::Answered;
    };
    let pid = thread.pid;
    let ThreadState::Parked {
        wait: Wait::ConsoleRead { target },
        ..
    } = thread.state
    else {
        return Completion::Answered;
    };
    let Ok(pieces) = server.with_process_memory(pid, |memory| pieces_of(memory, target)) else {
        crate::timer::cancel_timeout(server, tid);
        server.unpark(tid, Errno::EFAULT.as_negative_return());
        return Completion::Answered;
    };
    let total = pieces.iter().map(|(_, length)| *length).sum::<usize>();
    let result = match attempt {
        Attempt::Input => server.console.discipline.read(total),
        Attempt::TimerExpired => server.console.discipline.read_after_timeout(total),
    };
    let answer = match result {
        ReadResult::WouldBlock => {
            server.console.readers.push_front(tid);
            return Completion::StillWaiting;
        }
        ReadResult::EndOfFile => 0,
        ReadResult::Data(bytes) => {
            match server.with_process_memory(pid, |memory| scatter(memory, &pieces, &bytes)) {
                Ok(()) => bytes.len() as u64,
                Err(errno) => errno.as_negative_return(),
            }
        }
    };
    crate::timer::cancel_timeout(server, tid);
    server.unpark(tid, answer);
    Completion::Answered
}

/// The (address, length) pieces of a read target, at most [`crate::user_memory::MAX_COPY`]
/// bytes in all.
fn pieces_of(memory: &mut UserMemory<'_>, target: ReadTarget) -> Result<Vec<(u64, usize)>, Errno> {
    let limit = crate::user_memory::MAX_COPY;
    match target {
        ReadTarget::Buffer { address, length } => {
            Ok(alloc::vec![(address, (length as usize).min(limit))])
        }
        ReadTarget::Vector { address, count } => {
            let mut pieces = Vec::new();
            let mut total = 0usize;
            for index in 0..count {
                let entry = address
                    .checked_add(index.checked_mul(16).ok_or(Errno::EFAULT)?)
                    .ok_or(Errno::EFAULT)?;
                let base = memory.read_u64(entry)?;
                let length = memory.read_u64(entry + 8)? as usize;
                let length = length.min(limit - total);
                total += length;
                pieces.push((base, length));
            }
            Ok(pieces)
        }
    }
}

fn scatter(
    memory: &mut UserMemory<'_>,
    pieces: &[(u64, usize)],
    bytes: &[u8],
) -> Result<(), Errno> {
    let mut rest = bytes;
    for &(address, length) in pieces {
        if rest.is_empty() {
            break;
        }
        let take = length.min(rest.len());
        memory.write(address, &rest[..take])?;
        rest = &rest[take..];
    }
    Ok(())
}

/// `read`/`readv` on the console: data now, end of file, `EAGAIN` for `O_NONBLOCK`, or
/// the caller parks until the discipline has what it needs.
pub fn read(
    context: &mut Context<'_>,
    target: ReadTarget,
    nonblocking: bool,
) -> Result<usize, Errno> {
    let pieces = context.with_memory(|memory| pieces_of(memory, target))?;
    let total = pieces.iter().map(|(_, length)| *length).sum::<usize>();
    let discipline = &mut context.server.console.discipline;
    let result = if nonblocking {
        discipline.read_nonblocking(total)
    } else {
        discipline.read(total)
    };
    match result {
        ReadResult::Data(bytes) => {
            context.with_memory(|memory| scatter(memory, &pieces, &bytes))?;
            Ok(bytes.len())
        }
        ReadResult::EndOfFile => Ok(0),
        ReadResult::WouldBlock if nonblocking => Err(Errno::EAGAIN),
        ReadResult::WouldBlock => {
            let timer = context.server.console.discipline.read_timer();
            context
                .server
                .park(context.tid, Wait::ConsoleRead { target }, context.registers)
                .map_err(|_| Errno::ENOMEM)?;
            context.server.console.readers.push_back(context.tid);
            let pending = context.server.console.discipline.readable_bytes() > 0;
            let deciseconds = match timer {
                ReadTimer::Overall { deciseconds } => Some(deciseconds),
                ReadTimer::InterByte { deciseconds } if pending => Some(deciseconds),
                _ => None,
            };
            if let Some(deciseconds) = deciseconds {
                let deadline = context
                    .server
                    .timers
                    .after(u64::from(deciseconds) * 100_000_000);
                crate::timer::arm_timeout(context.server, context.tid, deadline);
            }
            context.after = After::NoReply;
            Ok(0)
        }
    }
}

/// The console's ioctls, as Linux answers them on a serial console.
pub fn ioctl(context: &mut Context<'_>, request: u64, argument: u64) -> Result<usize, Errno> {
    let Some(request) = TerminalIoctl::from_request(request as u32) else {
        return Err(Errno::ENOTTY);
    };
    match request {
        TerminalIoctl::GetAttributes => {
            let bytes = context.server.console.discipline.termios().to_bytes();
            context.write_user(argument, &bytes)?;
        }
        TerminalIoctl::SetAttributes(action) => {
            let mut bytes = [0u8; TERMIOS_SIZE];
            context.read_user(argument, &mut bytes)?;
            // Output is transmitted synchronously, so it has always drained.
            context
                .server
                .console
                .discipline
                .set_termios(Termios::from_bytes(&bytes), action);
            wake_readers(context.server);
        }
        TerminalIoctl::Flush => {
            let queue =
                linux_personality::tty::FlushQueue::from_argument(argument).ok_or(Errno::EINVAL)?;
            // Nothing waits untransmitted, so only the input side has an effect.
            let _ = context.server.console.discipline.flush(queue);
        }
        TerminalIoctl::GetForegroundGroup => {
            let group = context.server.console.foreground;
            context.write_user(argument, &group.to_le_bytes())?;
        }
        TerminalIoctl::SetForegroundGroup => {
            let mut bytes = [0u8; 4];
            context.read_user(argument, &mut bytes)?;
            let group = i32::from_le_bytes(bytes);
            let group = Pid::try_from(group)
                .ok()
                .filter(|group| *group > 0)
                .ok_or(Errno::EINVAL)?;
            context.server.console.foreground = group;
        }
        TerminalIoctl::GetWindowSize => {
            let bytes = context.server.console.window.to_bytes();
            context.write_user(argument, &bytes)?;
        }
        TerminalIoctl::SetWindowSize => {
            let mut bytes = [0u8; WINSIZE_SIZE];
            context.read_user(argument, &mut bytes)?;
            context.server.console.window = Winsize::from_bytes(&bytes);
        }
        TerminalIoctl::BytesReadable => {
            let count = context.server.console.discipline.readable_bytes() as u32;
            context.write_user(argument, &count.to_le_bytes())?;
        }
    }
    Ok(0)
}
