//! Unit and property tests of the line discipline against Linux's `n_tty` behaviour.

use super::*;
use crate::tty::termios::{control_characters as cc, NCCS};
use alloc::vec;
use proptest::prelude::*;

/// Feeds `bytes`, returning the echo and every signal raised.
fn feed(discipline: &mut LineDiscipline, bytes: &[u8]) -> (Vec<u8>, Vec<SignalRequest>) {
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    for &byte in bytes {
        if let Some(request) = discipline.receive_byte(byte, &mut echo) {
            signals.push(request);
        }
    }
    (echo, signals)
}

fn data(bytes: &[u8]) -> ReadResult {
    ReadResult::Data(bytes.to_vec())
}

/// What `cfmakeraw` sets.
fn raw_termios() -> Termios {
    let mut termios = Termios::console_default();
    termios.input_flags &= !(iflag::IGNBRK
        | iflag::BRKINT
        | iflag::PARMRK
        | iflag::ISTRIP
        | iflag::INLCR
        | iflag::IGNCR
        | iflag::ICRNL
        | iflag::IXON);
    termios.output_flags &= !oflag::OPOST;
    termios.local_flags &=
        !(lflag::ECHO | lflag::ECHONL | lflag::ICANON | lflag::ISIG | lflag::IEXTEN);
    termios.control_characters[cc::VMIN] = 1;
    termios.control_characters[cc::VTIME] = 0;
    termios
}

fn with_local(change: impl FnOnce(&mut u32)) -> LineDiscipline {
    let mut termios = Termios::console_default();
    change(&mut termios.local_flags);
    LineDiscipline::new(termios)
}

#[test]
fn typed_line_is_echoed_and_readable() {
    let mut discipline = LineDiscipline::default();
    let (echo, signals) = feed(&mut discipline, b"ls -l\r");
    assert_eq!(echo, b"ls -l\r\n");
    assert!(signals.is_empty());
    assert!(discipline.is_readable());
    assert_eq!(discipline.read(100), data(b"ls -l\n"));
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
    assert!(!discipline.is_readable());
}

#[test]
fn partial_line_is_not_readable() {
    let mut discipline = LineDiscipline::default();
    feed(&mut discipline, b"abc");
    assert!(!discipline.is_readable());
    assert_eq!(discipline.readable_bytes(), 0);
    assert_eq!(discipline.read(10), ReadResult::WouldBlock);
    assert_eq!(discipline.read_nonblocking(10), ReadResult::WouldBlock);
}

#[test]
fn one_line_per_read_and_short_buffers_keep_the_rest() {
    let mut discipline = LineDiscipline::default();
    feed(&mut discipline, b"first\rsecond\r");
    assert_eq!(discipline.read(3), data(b"fir"));
    assert_eq!(discipline.read(100), data(b"st\n"));
    assert_eq!(discipline.read(100), data(b"second\n"));
    assert_eq!(discipline.read(0), data(b""));
}

#[test]
fn erase_removes_one_character_visually() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"lx\x7fs\r");
    assert_eq!(echo, b"lx\x08 \x08s\r\n");
    assert_eq!(discipline.read(100), data(b"ls\n"));
    // Erasing an empty line does nothing.
    let (echo, _) = feed(&mut discipline, b"\x7f\x7fa\r");
    assert_eq!(echo, b"a\r\n");
    assert_eq!(discipline.read(100), data(b"a\n"));
}

#[test]
fn erase_without_echoe_echoes_the_erase_character() {
    let mut discipline = with_local(|flags| *flags &= !lflag::ECHOE);
    let (echo, _) = feed(&mut discipline, b"ab\x7f\r");
    assert_eq!(echo, b"ab^?\r\n");
    assert_eq!(discipline.read(100), data(b"a\n"));
}

#[test]
fn erase_of_a_control_character_takes_two_columns() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"\x01\x7f");
    assert_eq!(echo, b"^A\x08 \x08\x08 \x08");
}

#[test]
fn erase_of_a_tab_returns_to_the_previous_column() {
    let mut discipline = LineDiscipline::default();
    // A prompt moves the cursor to column 2 before the line starts.
    assert_eq!(discipline.write_output(b"$ "), b"$ ");
    let (echo, _) = feed(&mut discipline, b"\t\x7f");
    assert_eq!(echo, b"\t\x08\x08\x08\x08\x08\x08");
    let (echo, _) = feed(&mut discipline, b"ab\t\x7f");
    // From column 4 the tab reached 8: four columns back.
    assert_eq!(echo, b"ab\t\x08\x08\x08\x08");
}

#[test]
fn erase_removes_whole_utf8_characters_with_iutf8() {
    let mut termios = Termios::console_default();
    termios.input_flags |= iflag::IUTF8;
    let mut discipline = LineDiscipline::new(termios);
    let (echo, _) = feed(&mut discipline, "aé".as_bytes());
    assert_eq!(echo, "aé".as_bytes());
    let (echo, _) = feed(&mut discipline, b"\x7f\r");
    assert_eq!(echo, b"\x08 \x08\r\n");
    assert_eq!(discipline.read(100), data(b"a\n"));
}

#[test]
fn kill_erases_the_whole_line() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"hello\x15bye\r");
    let mut expected = b"hello".to_vec();
    for _ in 0..5 {
        expected.extend_from_slice(b"\x08 \x08");
    }
    expected.extend_from_slice(b"bye\r\n");
    assert_eq!(echo, expected);
    assert_eq!(discipline.read(100), data(b"bye\n"));
}

#[test]
fn kill_without_echoke_echoes_the_character_and_a_newline() {
    let mut discipline = with_local(|flags| *flags &= !lflag::ECHOKE);
    let (echo, _) = feed(&mut discipline, b"junk\x15ok\r");
    assert_eq!(echo, b"junk^U\r\nok\r\n");
    assert_eq!(discipline.read(100), data(b"ok\n"));
}

#[test]
fn word_erase_removes_the_last_word_and_trailing_blanks() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"echo foo bar\x17");
    let mut expected = b"echo foo bar".to_vec();
    for _ in 0..3 {
        expected.extend_from_slice(b"\x08 \x08");
    }
    assert_eq!(echo, expected);
    feed(&mut discipline, b"a_1  \x17baz\r");
    assert_eq!(discipline.read(100), data(b"echo foo baz\n"));
}

#[test]
fn end_of_file_at_line_start_reads_as_end_of_file() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"\x04");
    assert!(echo.is_empty(), "^D is not echoed");
    assert!(discipline.is_readable());
    assert_eq!(discipline.readable_bytes(), 0);
    assert_eq!(discipline.read(100), ReadResult::EndOfFile);
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
}

#[test]
fn end_of_file_mid_line_pushes_the_line_without_it() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"abc\x04");
    assert_eq!(echo, b"abc");
    assert_eq!(discipline.readable_bytes(), 3);
    assert_eq!(discipline.read(100), data(b"abc"));
    // The marker went with the data: the next read waits rather than seeing end of file.
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
    // A pushed line read in pieces does not leave a spurious end of file behind.
    feed(&mut discipline, b"abcdef\x04");
    assert_eq!(discipline.read(2), data(b"ab"));
    assert_eq!(discipline.read(4), data(b"cdef"));
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
    feed(&mut discipline, b"\x04");
    assert_eq!(discipline.read(100), ReadResult::EndOfFile);
}

#[test]
fn interrupt_raises_sigint_and_discards_pending_input() {
    let mut discipline = LineDiscipline::default();
    feed(&mut discipline, b"done\r");
    let (echo, signals) = feed(&mut discipline, b"partial\x03");
    assert_eq!(echo, b"partial^C");
    assert_eq!(
        signals,
        vec![SignalRequest {
            signal: TerminalSignal::Interrupt,
            pending_output: PendingOutput::Discard,
        }]
    );
    assert_eq!(signals[0].signal.signal().number(), 2);
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
    assert_eq!(discipline.readable_bytes(), 0);
    feed(&mut discipline, b"x\r");
    assert_eq!(discipline.read(100), data(b"x\n"));
}

#[test]
fn interrupt_with_noflsh_keeps_input() {
    let mut discipline = with_local(|flags| *flags |= lflag::NOFLSH);
    let (_, signals) = feed(&mut discipline, b"ab\x03c\r");
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].pending_output, PendingOutput::Keep);
    assert_eq!(discipline.read(100), data(b"abc\n"));
}

#[test]
fn quit_and_suspend_raise_their_signals() {
    let mut discipline = LineDiscipline::default();
    let (echo, signals) = feed(&mut discipline, b"\x1c\x1a");
    assert_eq!(echo, b"^\\^Z");
    let numbers: Vec<u8> = signals
        .iter()
        .map(|request| request.signal.signal().number())
        .collect();
    assert_eq!(numbers, vec![3, 20]);
    assert_eq!(signals[0].signal, TerminalSignal::Quit);
    assert_eq!(signals[1].signal, TerminalSignal::Suspend);
}

#[test]
fn without_isig_signal_characters_are_data() {
    let mut discipline = with_local(|flags| *flags &= !lflag::ISIG);
    let (echo, signals) = feed(&mut discipline, b"\x03\r");
    assert!(signals.is_empty());
    assert_eq!(echo, b"^C\r\n");
    assert_eq!(discipline.read(100), data(b"\x03\n"));
}

#[test]
fn literal_next_takes_a_special_character_as_data() {
    let mut discipline = LineDiscipline::default();
    let (echo, signals) = feed(&mut discipline, b"\x16\x03\x16\x7f\r");
    assert!(signals.is_empty());
    assert_eq!(echo, b"^\x08^C^\x08^?\r\n");
    assert_eq!(discipline.read(100), data(b"\x03\x7f\n"));
}

#[test]
fn reprint_echoes_the_pending_line_again() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"ab\x12");
    assert_eq!(echo, b"ab^R\r\nab");
    feed(&mut discipline, b"\r");
    assert_eq!(discipline.read(100), data(b"ab\n"));
}

#[test]
fn eol_character_ends_a_line() {
    let mut termios = Termios::console_default();
    termios.control_characters[cc::VEOL] = b';';
    let mut discipline = LineDiscipline::new(termios);
    let (echo, _) = feed(&mut discipline, b"a;b");
    assert_eq!(echo, b"a;b");
    assert_eq!(discipline.read(100), data(b"a;"));
    // A disabled (zero) VEOL2 does not make NUL a line end.
    feed(&mut discipline, b"\0");
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
}

#[test]
fn carriage_return_mapping_follows_icrnl_igncr_inlcr() {
    let mut termios = Termios::console_default();
    termios.input_flags = iflag::IGNCR;
    let mut discipline = LineDiscipline::new(termios);
    feed(&mut discipline, b"a\r\n");
    assert_eq!(discipline.read(100), data(b"a\n"));

    termios.input_flags = 0;
    let mut discipline = LineDiscipline::new(termios);
    feed(&mut discipline, b"a\r");
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
    feed(&mut discipline, b"\n");
    assert_eq!(discipline.read(100), data(b"a\r\n"));
}

#[test]
fn stop_and_start_control_output_flow() {
    let mut discipline = LineDiscipline::default();
    let (echo, _) = feed(&mut discipline, b"\x13");
    assert!(echo.is_empty());
    assert_eq!(discipline.output_flow(), OutputFlow::Stopped);
    feed(&mut discipline, b"a");
    assert_eq!(discipline.output_flow(), OutputFlow::Stopped);
    feed(&mut discipline, b"\x11\r");
    assert_eq!(discipline.output_flow(), OutputFlow::Running);
    assert_eq!(discipline.read(100), data(b"a\n"));
}

#[test]
fn raw_mode_passes_every_byte_through() {
    let mut discipline = LineDiscipline::new(raw_termios());
    let all: Vec<u8> = (0..=255).collect();
    let (echo, signals) = feed(&mut discipline, &all);
    assert!(echo.is_empty());
    assert!(signals.is_empty());
    assert_eq!(discipline.readable_bytes(), 256);
    assert_eq!(discipline.read(1000), ReadResult::Data(all));
    assert_eq!(discipline.write_output(b"a\nb"), b"a\nb");
}

#[test]
fn non_canonical_input_is_available_at_once() {
    let mut discipline = with_local(|flags| *flags &= !lflag::ICANON);
    let (echo, _) = feed(&mut discipline, b"q\r");
    assert_eq!(echo, b"q\r\n");
    assert_eq!(discipline.read(1), data(b"q"));
    assert_eq!(discipline.read(10), data(b"\n"));
}

#[test]
fn vmin_and_vtime_decide_when_a_read_is_satisfied() {
    let mut termios = raw_termios();
    termios.control_characters[cc::VMIN] = 3;
    let mut discipline = LineDiscipline::new(termios);
    assert_eq!(discipline.read_timer(), ReadTimer::None);
    feed(&mut discipline, b"ab");
    assert!(!discipline.is_readable());
    assert_eq!(discipline.read(10), ReadResult::WouldBlock);
    // A buffer smaller than VMIN is satisfied once it can be filled.
    assert_eq!(discipline.read(1), data(b"a"));
    feed(&mut discipline, b"cd");
    assert!(discipline.is_readable());
    assert_eq!(discipline.read(10), data(b"bcd"));
    feed(&mut discipline, b"e");
    assert_eq!(discipline.read_nonblocking(10), data(b"e"));
    assert_eq!(discipline.read_nonblocking(10), ReadResult::WouldBlock);

    termios.control_characters[cc::VMIN] = 0;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.read(10), data(b""));
    assert_eq!(discipline.read_nonblocking(10), data(b""));

    termios.control_characters[cc::VTIME] = 5;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(
        discipline.read_timer(),
        ReadTimer::Overall { deciseconds: 5 }
    );
    assert_eq!(discipline.read(10), ReadResult::WouldBlock);
    assert_eq!(discipline.read_after_timeout(10), data(b""));

    termios.control_characters[cc::VMIN] = 2;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(
        discipline.read_timer(),
        ReadTimer::InterByte { deciseconds: 5 }
    );
    feed(&mut discipline, b"x");
    assert!(
        discipline.is_readable(),
        "poll needs one byte when VTIME is set"
    );
    assert_eq!(discipline.read(10), ReadResult::WouldBlock);
    assert_eq!(discipline.read_after_timeout(10), data(b"x"));
}

#[test]
fn output_processing_maps_newlines_and_tabs() {
    let mut discipline = LineDiscipline::default();
    assert_eq!(discipline.write_output(b"a\nb\n"), b"a\r\nb\r\n");
    let mut termios = Termios::console_default();
    termios.output_flags |= oflag::XTABS;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.write_output(b"ab\tc"), b"ab      c");
    termios.output_flags = oflag::OPOST | oflag::OCRNL | oflag::OLCUC;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.write_output(b"x\ry"), b"X\nY");
    termios.output_flags = oflag::OPOST | oflag::ONOCR;
    discipline.set_termios(termios, SetTermiosAction::Now);
    // The cursor is at column 2 after "XY": the first CR is sent, the second dropped.
    assert_eq!(discipline.write_output(b"\r\rz\r"), b"\rz\r");
    termios.output_flags = 0;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.write_output(b"a\n"), b"a\n");
}

#[test]
fn set_termios_flush_discards_input_and_now_keeps_it() {
    let mut discipline = LineDiscipline::default();
    feed(&mut discipline, b"keep\r");
    discipline.set_termios(Termios::console_default(), SetTermiosAction::Now);
    assert_eq!(discipline.read(100), data(b"keep\n"));
    feed(&mut discipline, b"drop\rpartial");
    discipline.set_termios(Termios::console_default(), SetTermiosAction::Flush);
    assert_eq!(discipline.readable_bytes(), 0);
    feed(&mut discipline, b"\r");
    assert_eq!(discipline.read(100), data(b"\n"));
    feed(&mut discipline, b"x\r");
    assert_eq!(discipline.flush(FlushQueue::Both), PendingOutput::Discard);
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
}

#[test]
fn switching_canonical_mode_keeps_typed_input() {
    let mut discipline = LineDiscipline::default();
    feed(&mut discipline, b"one\rtw");
    let mut termios = Termios::console_default();
    termios.local_flags &= !lflag::ICANON;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.readable_bytes(), 6);
    assert_eq!(discipline.read(100), data(b"one\ntw"));
    feed(&mut discipline, b"xy");
    discipline.set_termios(Termios::console_default(), SetTermiosAction::Now);
    assert_eq!(discipline.read(100), data(b"xy"));
}

#[test]
fn fionread_counts_completed_lines_only() {
    let mut discipline = LineDiscipline::default();
    feed(&mut discipline, b"one\rtwo\rthr");
    assert_eq!(discipline.readable_bytes(), 8);
    feed(&mut discipline, b"\x04\x04");
    // "thr" is pushed by the first ^D; the second is an end-of-file marker of no bytes.
    assert_eq!(discipline.readable_bytes(), 11);
    assert_eq!(discipline.read(2), data(b"on"));
    assert_eq!(discipline.readable_bytes(), 9);
}

#[test]
fn a_ten_thousand_byte_line_is_truncated_to_the_buffer() {
    let mut discipline = LineDiscipline::default();
    let mut input = vec![b'a'; 10_000];
    input.push(b'\r');
    let (echo, signals) = feed(&mut discipline, &input);
    assert!(signals.is_empty());
    assert_eq!(echo.len(), MAX_INPUT_BYTES + 2);
    assert!(echo.ends_with(b"a\r\n"));
    let mut expected = vec![b'a'; MAX_INPUT_BYTES];
    expected.push(b'\n');
    assert_eq!(discipline.readable_bytes(), INPUT_BUFFER_SIZE);
    // The buffer is full: more input is dropped until the line is read.
    let (echo, _) = feed(&mut discipline, b"b\r");
    assert!(echo.is_empty());
    assert_eq!(discipline.read(100_000), ReadResult::Data(expected));
    assert_eq!(discipline.read(100), ReadResult::WouldBlock);
    feed(&mut discipline, b"c\r");
    assert_eq!(discipline.read(100), data(b"c\n"));
}

#[test]
fn break_follows_ignbrk_brkint_and_parmrk() {
    let mut termios = raw_termios();
    let mut discipline = LineDiscipline::new(termios);
    assert_eq!(discipline.receive_break(), None);
    assert_eq!(discipline.read(10), data(b"\0"));
    termios.input_flags |= iflag::PARMRK;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.receive_break(), None);
    assert_eq!(discipline.read(10), data(b"\xff\0\0"));
    termios.input_flags |= iflag::BRKINT;
    discipline.set_termios(termios, SetTermiosAction::Now);
    let request = discipline.receive_break().map(|request| request.signal);
    assert_eq!(request, Some(TerminalSignal::Interrupt));
    termios.input_flags |= iflag::IGNBRK;
    discipline.set_termios(termios, SetTermiosAction::Now);
    assert_eq!(discipline.receive_break(), None);
}

#[test]
fn echo_off_still_edits_and_echonl_echoes_newlines() {
    let mut discipline = with_local(|flags| *flags &= !lflag::ECHO);
    let (echo, _) = feed(&mut discipline, b"secrex\x7ft\r");
    assert!(echo.is_empty());
    assert_eq!(discipline.read(100), data(b"secret\n"));
    let mut discipline = with_local(|flags| *flags = (*flags & !lflag::ECHO) | lflag::ECHONL);
    let (echo, _) = feed(&mut discipline, b"pw\r");
    assert_eq!(echo, b"\r\n");
}

/// One step of a random terminal session.
#[derive(Clone, Debug)]
enum Step {
    Receive(Vec<u8>),
    Read(usize),
    ReadNonblocking(usize),
    ReadAfterTimeout(usize),
    Break,
    SetTermios(u32, u32, u32, [u8; NCCS], bool),
    Flush(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Step::Receive),
        1 => proptest::collection::vec(any::<u8>(), 0..6000).prop_map(Step::Receive),
        2 => (0usize..5000).prop_map(Step::Read),
        1 => (0usize..5000).prop_map(Step::ReadNonblocking),
        1 => (0usize..5000).prop_map(Step::ReadAfterTimeout),
        1 => Just(Step::Break),
        1 => (any::<u32>(), any::<u32>(), any::<u32>(), any::<[u8; NCCS]>(), any::<bool>())
            .prop_map(|(i, o, l, c, f)| Step::SetTermios(i, o, l, c, f)),
        1 => (0u8..3).prop_map(Step::Flush),
    ]
}

fn buffered_slots(discipline: &LineDiscipline) -> usize {
    let lines: usize = discipline
        .lines
        .iter()
        .map(|line| line.bytes.len() + usize::from(line.end == LineEnd::EndOfFile))
        .sum();
    lines + discipline.editing.len() + discipline.raw.len()
}

proptest! {
    #[test]
    fn arbitrary_sessions_never_panic_or_overread(steps in proptest::collection::vec(step(), 0..40)) {
        let mut discipline = LineDiscipline::default();
        for step in steps {
            let echoing = discipline.termios().local(lflag::ECHO | lflag::ECHONL);
            match step {
                Step::Receive(bytes) => {
                    let (echo, _) = feed(&mut discipline, &bytes);
                    if !echoing {
                        prop_assert!(echo.is_empty());
                    }
                }
                Step::Read(length) | Step::ReadNonblocking(length) | Step::ReadAfterTimeout(length) => {
                    let before = discipline.readable_bytes();
                    let result = match step {
                        Step::Read(_) => discipline.read(length),
                        Step::ReadNonblocking(_) => discipline.read_nonblocking(length),
                        _ => discipline.read_after_timeout(length),
                    };
                    if let ReadResult::Data(bytes) = result {
                        prop_assert!(bytes.len() <= length);
                        prop_assert_eq!(discipline.readable_bytes(), before - bytes.len());
                    }
                }
                Step::Break => {
                    discipline.receive_break();
                }
                Step::SetTermios(input, output, local, characters, flush) => {
                    let mut termios = Termios::console_default();
                    termios.input_flags = input;
                    termios.output_flags = output;
                    termios.local_flags = local;
                    termios.control_characters = characters;
                    let action = if flush { SetTermiosAction::Flush } else { SetTermiosAction::Now };
                    discipline.set_termios(termios, action);
                }
                Step::Flush(queue) => {
                    if let Some(queue) = FlushQueue::from_argument(u64::from(queue)) {
                        discipline.flush(queue);
                    }
                }
            }
            prop_assert!(buffered_slots(&discipline) <= INPUT_BUFFER_SIZE);
            if discipline.termios().is_canonical() {
                prop_assert_eq!(discipline.line_slots + discipline.editing.len(), buffered_slots(&discipline));
            }
        }
        // Everything FIONREAD reports can be read.
        let reported = discipline.readable_bytes();
        let mut read = 0;
        loop {
            match discipline.read_after_timeout(usize::MAX) {
                ReadResult::Data(bytes) if !bytes.is_empty() => read += bytes.len(),
                ReadResult::EndOfFile => {}
                _ => break,
            }
        }
        prop_assert_eq!(read, reported);
    }

    #[test]
    fn raw_mode_delivers_input_unchanged(bytes in proptest::collection::vec(any::<u8>(), 0..MAX_INPUT_BYTES)) {
        let mut discipline = LineDiscipline::new(raw_termios());
        let (echo, signals) = feed(&mut discipline, &bytes);
        prop_assert!(echo.is_empty());
        prop_assert!(signals.is_empty());
        let expected = if bytes.is_empty() { ReadResult::WouldBlock } else { ReadResult::Data(bytes.clone()) };
        prop_assert_eq!(discipline.read(MAX_INPUT_BYTES), expected);
    }

    #[test]
    fn printable_lines_read_back_as_typed(text in "[ -~]{0,300}") {
        let mut discipline = LineDiscipline::default();
        let mut input = text.as_bytes().to_vec();
        input.push(b'\r');
        let (echo, _) = feed(&mut discipline, &input);
        let mut expected_echo = text.as_bytes().to_vec();
        expected_echo.extend_from_slice(b"\r\n");
        prop_assert_eq!(echo, expected_echo);
        let mut expected = text.as_bytes().to_vec();
        expected.push(b'\n');
        prop_assert_eq!(discipline.read(usize::MAX), ReadResult::Data(expected));
    }
}
