//! The integration tests of `session-store-sqlite`, as one test binary (one link instead of one
//! per file): the conformance suite on a file (with raw access) and in memory, then the engine's
//! own tests, and with the feature `auth` the token stores' (`tokens`, `api_tokens`).
//!
//! A test that needs a process of its own (counting the process's purge threads) re-runs this
//! binary on itself: see [`session_core::testing::in_own_process`].

#[cfg(feature = "auth")]
mod api_tokens;
mod common;
mod conformance;
mod crash;
mod engine_corruption;
mod faults;
mod open;
mod persistence;
mod purge;
mod purge_drop;
#[cfg(feature = "auth")]
mod tokens;
