//! Test results as every part of `cargo xtask test` reports them: suites of named cases,
//! each passed, failed (with a reason) or skipped, printed one line each.

use std::fmt;
use std::time::Duration;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    /// Not run (e.g. an `#[ignore]`d host test); counted neither as passed nor failed.
    Skip(String),
}

/// One named result; its full name is `<suite>::<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
}

impl Case {
    pub fn pass(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome: Outcome::Pass,
        }
    }

    pub fn fail(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome: Outcome::Fail(reason.into()),
        }
    }

    pub fn skip(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome: Outcome::Skip(reason.into()),
        }
    }
}

/// A group of cases: a host crate (`host::<crate>`) or one system test (`<test>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
    /// A system test's console, for the JUnit report.
    pub console_log: Option<String>,
    pub duration: Option<Duration>,
}

impl Suite {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Prints a case as one line: `PASS name`, `FAIL name: why` or `SKIP name: why`.
pub struct CaseLine<'a> {
    pub suite: &'a str,
    pub case: &'a Case,
}

impl fmt::Display for CaseLine<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (suite, case) = (self.suite, self.case);
        match &case.outcome {
            Outcome::Pass => write!(formatter, "PASS {suite}::{}", case.name),
            Outcome::Fail(reason) => write!(formatter, "FAIL {suite}::{}: {reason}", case.name),
            Outcome::Skip(reason) if reason.is_empty() => {
                write!(formatter, "SKIP {suite}::{}", case.name)
            }
            Outcome::Skip(reason) => write!(formatter, "SKIP {suite}::{}: {reason}", case.name),
        }
    }
}

/// Prints every case of a suite.
pub fn print_suite(suite: &Suite) {
    for case in &suite.cases {
        println!(
            "{}",
            CaseLine {
                suite: &suite.name,
                case
            }
        );
    }
}

/// Totals over all suites.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Totals {
    pub fn of(suites: &[Suite]) -> Self {
        let mut totals = Self::default();
        for case in suites.iter().flat_map(|suite| &suite.cases) {
            match case.outcome {
                Outcome::Pass => totals.passed += 1,
                Outcome::Fail(_) => totals.failed += 1,
                Outcome::Skip(_) => totals.skipped += 1,
            }
        }
        totals
    }
}

impl fmt::Display for Totals {
    /// The final line of `cargo xtask test`, exactly `N passed, N failed`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} passed, {} failed", self.passed, self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_lines() {
        let pass = Case::pass("halted");
        let fail = Case::fail("expect ok", "not seen");
        let skip = Case {
            name: "slow".into(),
            outcome: Outcome::Skip(String::new()),
        };
        let line = |case| {
            CaseLine {
                suite: "boot",
                case,
            }
            .to_string()
        };
        assert_eq!(line(&pass), "PASS boot::halted");
        assert_eq!(line(&fail), "FAIL boot::expect ok: not seen");
        assert_eq!(line(&skip), "SKIP boot::slow");
    }

    #[test]
    fn totals_count_each_outcome() {
        let mut host = Suite::new("host::sel4");
        host.cases = vec![Case::pass("a"), Case::fail("b", "x"), Case::pass("c")];
        let mut boot = Suite::new("boot");
        boot.cases = vec![
            Case::pass("halted"),
            Case {
                name: "d".into(),
                outcome: Outcome::Skip("ignored".into()),
            },
        ];
        let totals = Totals::of(&[host, boot]);
        assert_eq!(
            totals,
            Totals {
                passed: 3,
                failed: 1,
                skipped: 1
            }
        );
        assert_eq!(totals.to_string(), "3 passed, 1 failed");
    }
}
