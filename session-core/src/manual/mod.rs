//! The rationale behind the defaults, shipped with the docs.
//!
//! - [`defaults`]: every default and the reference it follows.
//! - [`security`]: what an attacker can and cannot do, and which test proves it.
//! - [`concurrency`]: versioned saves, conflicts and renewals.
//! - [`deployment`]: several app nodes, rotating the secret across them, and picking a store.
//! - [`contracts`]: every guarantee the rustdoc cites by its code, with the tests that prove it.

pub mod concurrency;
pub mod contracts;
pub mod defaults;
pub mod deployment;
pub mod security;
