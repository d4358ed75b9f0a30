//! aarch64 (ARMv8.0-A, EL1 kernel, EL0 user): entry, exception vectors, system registers,
//! translation tables, user context and FP/SIMD state.

pub mod cpu;
mod entry;
pub mod fpu;
pub mod mmu;
pub mod registers;
pub mod user_context;
pub mod vectors;
