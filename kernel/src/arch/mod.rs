//! The architecture boundary: everything that names an aarch64 register or instruction.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
