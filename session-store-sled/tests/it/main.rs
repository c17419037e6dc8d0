//! The integration tests of `session-store-sled`, as one test binary (one link instead of one
//! per file): the conformance suite with raw access to the trees, then the engine's own tests.
//!
//! Tests that need a process of their own (a crash, counting the process's purge threads)
//! re-run this binary on themselves: see [`session_core::testing::in_own_process`] and `crash.rs`.

mod at_rest;
mod blocking;
mod common;
mod conformance;
mod corruption;
mod crash;
mod disk_full;
mod engine_corruption;
mod faults;
mod indexes;
mod purge;
mod purge_drop;
mod reopen;
mod sweeper;
