//! The `session-core` store conformance suite against the shared Redis server, each test under
//! its own random key prefix, with raw access to that prefix's keys (what is at rest, damaged
//! records).

use session_core::testing::Fixture;

use crate::common::{self, RedisRaw};

session_core::store_conformance!(
    || async {
        let (store, guard) = common::shared_store().await;
        Fixture::new(store)
            .raw_access(RedisRaw::of(&guard))
            .keep(guard)
    },
    raw_access
);
