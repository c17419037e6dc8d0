//! The session-core store conformance suite, on a database file in a temp dir (with raw access
//! to its tables and files: what is at rest, damaged records) and on the in-memory variant
//! (which no second connection can see, so without raw access).

mod file {
    use session_core::testing::Fixture;
    use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

    use crate::common::SqliteRaw;

    session_core::store_conformance!(
        || async {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("sessions.db");
            let store = SqliteStore::open(SqliteStoreConfig::new(&path)).expect("open");
            Fixture::new(store)
                .raw_access(SqliteRaw::new(&path))
                .keep(dir)
        },
        raw_access
    );
}

mod memory {
    use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

    session_core::store_conformance!(|| async {
        SqliteStore::open(SqliteStoreConfig::in_memory()).expect("open")
    });
}
