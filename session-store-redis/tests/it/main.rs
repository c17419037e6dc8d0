//! The integration tests of `session-store-redis`, as one test binary (one link instead of one
//! per file): the conformance suite with raw access to each test's keys, then the engine's own
//! tests (and with the feature `auth` the token stores', `tokens` and `api_tokens`), on the
//! shared server (`REDIS_URL`, default `redis://127.0.0.1:6379`) under a random key prefix per
//! test, or on private `redis-server` processes for faults and command counts.

#[cfg(feature = "auth")]
mod api_tokens;
mod at_rest;
mod clock_restart;
#[cfg(feature = "cluster")]
mod cluster;
#[cfg(feature = "cluster")]
mod cluster_common;
#[cfg(feature = "cluster")]
mod cluster_faults;
mod common;
mod conformance;
mod corruption;
mod expiry;
mod outage;
mod renew;
mod round_trips;
mod tidy;
#[cfg(feature = "auth")]
mod tokens;
