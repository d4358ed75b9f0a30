//! Bytes a guest program writes out through the serial console, as hex lines between
//! markers, decoded on the host (the guest has no other way out: no network, no shared
//! disk). `tests/programs/vdso.c` dumps its `[vdso]` mapping this way so the harness can
//! run the image checker on what a process really maps.
//!
//! ```text
//! VDSO_DUMP_BEGIN 4096            the prefix, `_BEGIN`, the size in decimal
//! VDSO_DUMP 0000 7f454c46...      the prefix, the offset in hex, up to 64 bytes in hex
//! VDSO_DUMP 0040 ...              offsets follow on without gaps or overlaps
//! VDSO_DUMP_END
//! ```
//!
//! Lines not starting with the prefix (a log line from the root task, the program's own
//! test lines) are ignored, even between the markers; a malformed or out-of-order data
//! line, a second dump, or a size that does not match makes the whole dump malformed.

/// The most bytes a dump may declare (a vDSO is a few pages).
pub const MAX_DUMP_SIZE: usize = 1 << 20;

/// Collects one dump from console lines.
#[derive(Debug)]
pub struct DumpDecoder {
    prefix: &'static str,
    state: State,
}

#[derive(Debug)]
enum State {
    /// No begin marker yet.
    Waiting,
    /// Between the markers: the declared size and the bytes so far.
    Reading {
        size: usize,
        bytes: Vec<u8>,
    },
    Complete(Vec<u8>),
    Malformed(String),
}

impl DumpDecoder {
    /// A decoder for dumps whose lines start with `prefix` (e.g. `VDSO_DUMP`).
    pub fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            state: State::Waiting,
        }
    }

    /// Reads one console line (without its line ending).
    pub fn observe(&mut self, line: &str) {
        let line = line.trim();
        let Some(rest) = line.strip_prefix(self.prefix) else {
            return;
        };
        let next = match std::mem::replace(&mut self.state, State::Waiting) {
            State::Malformed(why) => State::Malformed(why),
            state => self.step(state, rest),
        };
        self.state = next;
    }

    /// The dumped bytes.
    ///
    /// # Errors
    /// Why there are none: no dump seen, a dump without its end marker, or a malformed one.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        match self.state {
            State::Complete(bytes) => Ok(bytes),
            State::Waiting => Err(format!("no {}_BEGIN line on the console", self.prefix)),
            State::Reading { size, bytes } => Err(format!(
                "no {}_END line: {} of {size} bytes seen",
                self.prefix,
                bytes.len()
            )),
            State::Malformed(why) => Err(why),
        }
    }

    /// One line with the prefix stripped, in `state`.
    fn step(&self, state: State, rest: &str) -> State {
        let prefix = self.prefix;
        let malformed = |why: String| State::Malformed(format!("{prefix}: {why}"));
        if let Some(size) = rest.strip_prefix("_BEGIN") {
            if !matches!(state, State::Waiting) {
                return malformed("a second begin marker".into());
            }
            return match size.trim().parse::<usize>() {
                Ok(size) if size <= MAX_DUMP_SIZE => State::Reading {
                    size,
                    bytes: Vec::with_capacity(size),
                },
                _ => malformed(format!("bad size in the begin marker {:?}", size.trim())),
            };
        }
        if rest == "_END" {
            return match state {
                State::Reading { size, bytes } if bytes.len() == size => State::Complete(bytes),
                State::Reading { size, bytes } => {
                    malformed(format!("ended after {} of {size} bytes", bytes.len()))
                }
                _ => malformed("an end marker outside a dump".into()),
            };
        }
        let Some(data) = rest.strip_prefix(' ') else {
            // Another marker that merely shares the prefix (`VDSO_DUMPED`): not ours.
            return state;
        };
        let State::Reading { size, mut bytes } = state else {
            return malformed(format!("a data line outside a dump: {data:?}"));
        };
        let Some((offset, hex)) = data.split_once(' ') else {
            return malformed(format!("a data line without an offset: {data:?}"));
        };
        match usize::from_str_radix(offset, 16) {
            Ok(offset) if offset == bytes.len() => {}
            _ => {
                return malformed(format!(
                    "data at offset {offset:?}, expected {:#x} (a line lost or repeated)",
                    bytes.len()
                ))
            }
        }
        match decode_hex(hex.trim()) {
            Some(decoded) if bytes.len() + decoded.len() <= size => {
                bytes.extend_from_slice(&decoded);
                State::Reading { size, bytes }
            }
            Some(_) => malformed(format!("more than the {size} bytes declared")),
            None => malformed(format!("bad hex at offset {offset}: {hex:?}")),
        }
    }
}

/// Pairs of hex digits to bytes; `None` for an odd length or a non-hex character.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) || digits.is_empty() {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(lines: &[&str]) -> Result<Vec<u8>, String> {
        let mut decoder = DumpDecoder::new("VDSO_DUMP");
        for line in lines {
            decoder.observe(line);
        }
        decoder.finish()
    }

    #[test]
    fn decodes_lines_between_the_markers_ignoring_other_output() {
        assert_eq!(
            decode(&[
                "TEST_PASS earlier",
                "VDSO_DUMP_BEGIN 5",
                "VDSO_DUMP 0 7f454c",
                "INFO root_task: a log line in between",
                "VDSO_DUMP 3 46ff\r",
                "VDSO_DUMP_END",
                "TEST_PASS vdso_dump",
            ]),
            Ok(vec![0x7f, b'E', b'L', b'F', 0xff])
        );
        assert_eq!(
            decode(&["VDSO_DUMP_BEGIN 0", "VDSO_DUMP_END"]),
            Ok(Vec::new())
        );
    }

    #[test]
    fn missing_or_unfinished_dumps_are_errors() {
        assert_eq!(
            decode(&["TEST_PASS x"]),
            Err("no VDSO_DUMP_BEGIN line on the console".into())
        );
        assert_eq!(
            decode(&["VDSO_DUMP_BEGIN 4", "VDSO_DUMP 0 0102"]),
            Err("no VDSO_DUMP_END line: 2 of 4 bytes seen".into())
        );
    }

    #[test]
    fn malformed_dumps_say_why() {
        let cases: &[(&[&str], &str)] = &[
            (&["VDSO_DUMP_BEGIN x"], "bad size"),
            (&["VDSO_DUMP_BEGIN 99999999999"], "bad size"),
            (&["VDSO_DUMP 0 00"], "outside a dump"),
            (&["VDSO_DUMP_END"], "outside a dump"),
            (&["VDSO_DUMP_BEGIN 2", "VDSO_DUMP 0 0g"], "bad hex"),
            (&["VDSO_DUMP_BEGIN 2", "VDSO_DUMP 0 012"], "bad hex"),
            (&["VDSO_DUMP_BEGIN 2", "VDSO_DUMP 0 "], "without an offset"),
            (
                &["VDSO_DUMP_BEGIN 2", "VDSO_DUMP 0102"],
                "without an offset",
            ),
            (&["VDSO_DUMP_BEGIN 4", "VDSO_DUMP 2 0102"], "a line lost"),
            (
                &["VDSO_DUMP_BEGIN 4", "VDSO_DUMP 0 0102", "VDSO_DUMP 0 0102"],
                "a line lost or repeated",
            ),
            (
                &["VDSO_DUMP_BEGIN 1", "VDSO_DUMP 0 0102"],
                "more than the 1",
            ),
            (
                &["VDSO_DUMP_BEGIN 3", "VDSO_DUMP 0 0102", "VDSO_DUMP_END"],
                "ended after 2 of 3",
            ),
            (
                &["VDSO_DUMP_BEGIN 0", "VDSO_DUMP_BEGIN 0"],
                "a second begin",
            ),
            (
                &[
                    "VDSO_DUMP_BEGIN 0",
                    "VDSO_DUMP_END",
                    "VDSO_DUMP_BEGIN 0",
                    "VDSO_DUMP_END",
                ],
                "a second begin",
            ),
        ];
        for (lines, why) in cases {
            let error = decode(lines).expect_err("malformed");
            assert!(error.contains(why), "{lines:?}: {error}");
        }
        // Once malformed, later good lines do not revive it.
        let error = decode(&[
            "VDSO_DUMP_BEGIN 1",
            "VDSO_DUMP 0 zz",
            "VDSO_DUMP 0 01",
            "VDSO_DUMP_END",
        ])
        .expect_err("malformed");
        assert!(error.contains("bad hex"), "{error}");
    }

    #[test]
    fn lines_that_only_share_the_prefix_are_not_dump_lines() {
        assert_eq!(
            decode(&[
                "VDSO_DUMP_BEGIN 1",
                "VDSO_DUMPED elsewhere",
                "VDSO_DUMP 0 2a",
                "VDSO_DUMP_END"
            ]),
            Ok(vec![42])
        );
    }

    #[test]
    fn round_trips_arbitrary_bytes_in_64_byte_lines() {
        let bytes: Vec<u8> = (0..4096u32).map(|index| (index * 7 + 3) as u8).collect();
        let mut lines = vec![format!("VDSO_DUMP_BEGIN {}", bytes.len())];
        for (index, chunk) in bytes.chunks(64).enumerate() {
            let hex: String = chunk.iter().map(|byte| format!("{byte:02x}")).collect();
            lines.push(format!("VDSO_DUMP {:x} {hex}", index * 64));
        }
        lines.push("VDSO_DUMP_END".into());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(decode(&lines), Ok(bytes));
    }
}
