//! The session-core store conformance suite, on a database file in a temp dir and on the
//! in-memory variant.

mod file {
    use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

    session_core::store_conformance!(|| async {
        let dir = tempfile::tempdir().unwrap();
        let config = SqliteStoreConfig::new(dir.path().join("sessions.db"));
        let store = SqliteStore::open(config).unwrap();
        session_core::testing::Fixture::new(store).keep(dir)
    });
}

mod memory {
    use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

    session_core::store_conformance!(|| async {
        SqliteStore::open(SqliteStoreConfig::in_memory()).unwrap()
    });
}
