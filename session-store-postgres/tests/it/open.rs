//! `connect`: concurrent migrations of a fresh schema, a newer schema version refused and left
//! untouched, an unrelated `sessions` table not adopted, invalid schema names and URLs.

use session_core::SessionStore;
use session_store_postgres::{PostgresOpenError, PostgresStore, PostgresStoreConfig};

use crate::common::{now, pg_url, raw, record, TestSchema};

/// Eight application nodes start at once on a fresh schema: every connect succeeds (the
/// migration runs once, under the advisory lock) and all see the same table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_on_a_fresh_schema_all_succeed() {
    let schema = TestSchema::new();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let config = schema.config();
            tokio::spawn(async move { PostgresStore::connect(config).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(
            task.await
                .unwrap()
                .expect("every concurrent connect succeeds"),
        );
    }
    let r = record();
    stores[0].create(&r).await.unwrap();
    for store in &stores {
        assert_eq!(store.load(&r.key, now()).await.unwrap(), Some(r.clone()));
    }
    let version: i64 = raw(&schema.url)
        .await
        .query_one(
            &format!(
                "SELECT version FROM {} WHERE name = 'sessions'",
                schema.table("schema_versions")
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 1);
}

/// A schema whose version row is newer than this build knows: `NewerSchema`, and nothing is
/// changed (the row, the data).
#[tokio::test]
async fn a_newer_schema_version_is_refused_and_left_untouched() {
    let schema = TestSchema::new();
    let r = record();
    schema.store().await.create(&r).await.unwrap();
    let client = raw(&schema.url).await;
    client
        .batch_execute(&format!(
            "UPDATE {} SET version = 99 WHERE name = 'sessions'",
            schema.table("schema_versions")
        ))
        .await
        .unwrap();
    let err = PostgresStore::connect(schema.config())
        .await
        .expect_err("newer");
    assert!(
        matches!(
            err,
            PostgresOpenError::NewerSchema {
                table: "sessions",
                found: 99,
                supported: 1
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    let version: i64 = client
        .query_one(
            &format!(
                "SELECT version FROM {} WHERE name = 'sessions'",
                schema.table("schema_versions")
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 99, "the version row is left as it was");
    let rows: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {}", schema.table("sessions")),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "the data is left as it was");
}

/// A `sessions` table this crate did not create (no version row) fails the connect, and the
/// failed migration leaves nothing behind.
#[tokio::test]
async fn an_unrelated_sessions_table_is_not_adopted() {
    let schema = TestSchema::new();
    let client = raw(&schema.url).await;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{0}\"; CREATE TABLE \"{0}\".sessions (id text); \
             INSERT INTO \"{0}\".sessions VALUES ('theirs');",
            schema.name
        ))
        .await
        .unwrap();
    let err = PostgresStore::connect(schema.config())
        .await
        .expect_err("not ours");
    assert!(matches!(err, PostgresOpenError::Setup { .. }), "{err:?}");
    let versions: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_versions')",
            &[&schema.name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!versions, "the failed migration rolled back");
    let id: String = client
        .query_one(&format!("SELECT id FROM {}", schema.table("sessions")), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, "theirs");
}

#[tokio::test]
async fn invalid_schema_names_and_urls_are_typed_errors() {
    for name in ["Bad", "a;drop", "x\"y", "pg_catalog", ""] {
        let err = PostgresStore::connect(PostgresStoreConfig::new(pg_url()).schema(name))
            .await
            .expect_err(name);
        assert!(
            matches!(err, PostgresOpenError::InvalidSchemaName { .. }),
            "{name}: {err:?}"
        );
    }
    let err = PostgresStore::connect(PostgresStoreConfig::new(
        "postgres://u:Pa55w0rd@h:notaport/db",
    ))
    .await
    .expect_err("bad url");
    assert!(
        matches!(err, PostgresOpenError::InvalidUrl { .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("Pa55w0rd"));
}
