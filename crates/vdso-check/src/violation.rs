//! What the checker reports: one [`Violation`] per broken property, each naming the
//! property and saying exactly what is wrong.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The property of VDSO.md "The image" a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Property {
    /// The bytes cannot be read as the structure they claim to be.
    Malformed,
    /// Item 1: ELF64, EM_AARCH64, little-endian, ET_DYN.
    ElfHeader,
    /// Item 1: soname `linux-vdso.so.1`.
    Soname,
    /// Item 2: exactly one R|X PT_LOAD at offset and address 0, file image = memory image.
    LoadSegment,
    /// Item 3: read-only PT_DYNAMIC, at most 8 pointer tags, the required tags.
    DynamicSegment,
    /// Item 4: no relocations (besides R_*_NONE), no TEXTREL.
    Relocations,
    /// Item 4: nothing else needing a loader: PT_TLS, PT_INTERP, DT_NEEDED, DT_VERNEED,
    /// writable or .bss-like sections, undefined symbols.
    NeedsLoader,
    /// Item 5: DT_HASH present, well formed, every symbol reachable.
    SysvHash,
    /// Item 5: DT_GNU_HASH present, consistent with DT_HASH, every export reachable.
    GnuHash,
    /// Item 6: base verdef + LINUX_2.6.39, versym, every export at LINUX_2.6.39.
    Versions,
    /// Item 7: the four exports, STT_FUNC, GLOBAL, defined, non-zero; nothing else.
    Exports,
    /// Item 7: the exact bytes of `__kernel_rt_sigreturn`.
    Sigreturn,
}

/// One broken property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub property: Property,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// At most this many violations are listed; a malformed image could otherwise produce one
/// per symbol. The rest are counted in a final entry.
const MAX_LISTED: usize = 64;

/// Collects violations while the checks run.
#[derive(Default)]
pub(crate) struct Report {
    violations: Vec<Violation>,
    unlisted: usize,
}

impl Report {
    pub(crate) fn add(&mut self, property: Property, message: String) {
        if self.violations.len() < MAX_LISTED {
            self.violations.push(Violation { property, message });
        } else {
            self.unlisted += 1;
        }
    }

    /// Violations recorded so far, listed or not.
    pub(crate) fn len(&self) -> usize {
        self.violations.len() + self.unlisted
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    pub(crate) fn into_violations(mut self) -> Vec<Violation> {
        if self.unlisted > 0 {
            self.violations.push(Violation {
                property: Property::Malformed,
                message: format!("{} more violations not listed", self.unlisted),
            });
        }
        self.violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reports_are_capped_with_a_count_of_the_rest() {
        let mut report = Report::default();
        for index in 0..MAX_LISTED + 5 {
            report.add(Property::SysvHash, format!("violation {index}"));
        }
        assert_eq!(report.len(), MAX_LISTED + 5);
        let violations = report.into_violations();
        assert_eq!(violations.len(), MAX_LISTED + 1);
        assert_eq!(
            violations[MAX_LISTED - 1].to_string(),
            format!("violation {}", MAX_LISTED - 1)
        );
        assert_eq!(
            violations[MAX_LISTED].to_string(),
            "5 more violations not listed"
        );
    }
}
