//! # Concurrency
//!
//! Every stored record has a `version`. A request remembers the version it loaded; its commit
//! is `save(record, expected_version)`, which every store implements as one atomic
//! compare-and-set (a sled transaction, `UPDATE ... WHERE version = ?`, a Lua script). Two
//! requests that load version *n* and both write: the first wins, the second gets
//! `SessionError::Conflict` (HTTP 409) instead of silently overwriting the first (C8). With
//! `ConflictPolicy::LastWriteWins` the second reloads the current version and overwrites it with
//! its whole record (never a field-level mix).
//!
//! A request that neither changes the session nor is due a refresh writes nothing, so read-heavy
//! traffic never conflicts. A save that finds the record deleted (destroyed or logged out
//! everywhere meanwhile) does not re-create it: the response clears the cookie.
//!
//! Renewal creates the new record before deleting the old one, so there is no moment when
//! neither id is valid.
//!
//! The conformance suite proves this for every store with 64 concurrent writers per version and
//! with N tasks × M increments that must lose no update.
