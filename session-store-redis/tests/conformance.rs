//! The `session-core` store conformance suite against the shared Redis server, each test under
//! its own random key prefix.

mod common;

session_core::store_conformance!(|| async {
    let (store, prefix) = common::shared_store().await;
    session_core::testing::Fixture::new(store).keep(prefix)
});
