//! The shared `SessionStore` conformance suite, run against a real sled database in a fresh
//! temporary directory per test, with raw access to its trees and files (what is at rest,
//! damaged records).

use session_core::testing::Fixture;
use session_store_sled::{SledStore, SledStoreConfig};

use crate::common::{open_raw, SledRaw};

session_core::store_conformance!(
    || async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        // The store `SledStore::open` would make, over a handle the raw access shares.
        let db = open_raw(&path);
        let store = SledStore::from_db_with_config(db.clone(), &SledStoreConfig::new(&path))
            .expect("store over db");
        Fixture::new(store)
            .raw_access(SledRaw::new(&db, &path))
            .keep(dir)
    },
    raw_access
);
