//! The session-core store conformance suite, on a schema of its own per test, with raw access
//! to the schema's tables (what is at rest, damaged records).

use session_core::testing::Fixture;

use crate::common::{PgRaw, TestSchema};

session_core::store_conformance!(
    || async {
        let schema = TestSchema::new();
        let store = schema.store().await;
        let raw = PgRaw {
            url: schema.url.clone(),
            schema: schema.name.clone(),
        };
        Fixture::new(store).raw_access(raw).keep(schema)
    },
    raw_access
);
