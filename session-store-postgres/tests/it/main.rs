//! The integration tests of `session-store-postgres`, as one test binary, against a real
//! PostgreSQL: the machine's server (`POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`) with a random schema per test, so tests run in
//! parallel without seeing each other; and, for the faults that need a server of their own
//! (restart, a full disk on a small tmpfs tablespace), a private server each test starts
//! (`private_server`).

#[cfg(feature = "auth")]
mod api_tokens;
mod common;
mod concurrency;
mod conformance;
mod disk_full;
mod faults;
mod open;
mod private_server;
mod purge;
mod redaction;
mod restart;
#[cfg(feature = "auth")]
mod tokens;
