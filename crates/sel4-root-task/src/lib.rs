//! Root-task runtime: entry, stack, panic handler, heap and debug console (placeholder until written).
#![no_std]
