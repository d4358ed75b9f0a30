//! Pure kernel logic, host-testable (placeholder until written).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
