//! Benchmarks behind `cargo xtask bench` (being written).
fn main() {}
