//! The error type every xtask command returns, and the process exit code it maps to.

use std::fmt;
use std::process::ExitCode;

/// Why a command stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The command line was wrong; the message says how.
    Usage(String),
    /// A feature that is accepted on the command line but not implemented yet.
    NotSupported(String),
    /// Something failed (a build, a tool, a test); the message says what.
    Failed(String),
}

impl Error {
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    /// Wraps an I/O error with what was being attempted.
    pub fn io(context: impl fmt::Display, error: std::io::Error) -> Self {
        Self::Failed(format!("{context}: {error}"))
    }

    /// Usage mistakes and unsupported features exit 2, failures exit 1.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) | Self::NotSupported(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) => write!(formatter, "usage error: {message}"),
            Self::NotSupported(message) => write!(formatter, "not supported yet: {message}"),
            Self::Failed(message) => write!(formatter, "{message}"),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
