//! The shared `SessionStore` conformance suite, run against a real sled database in a fresh
//! temporary directory per test.

use session_store_sled::{SledStore, SledStoreConfig};

session_core::store_conformance!(|| async {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(SledStoreConfig::new(dir.path().join("db"))).expect("open");
    session_core::testing::Fixture::new(store).keep(dir)
});
