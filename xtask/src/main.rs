//! Build, run and test driver (placeholder until written).
fn main() {}
