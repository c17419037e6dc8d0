//! Nothing secret in `Debug` or errors: the password of the URL, session keys, record bytes and
//! user ids never show, even for a server error whose `detail` quotes the failing row.

use session_core::store::StoreError;
use session_core::{SessionStore, UserId};
use session_store_postgres::{PostgresStore, PostgresStoreConfig};

use crate::common::{error_chain, pg_url, raw, record, TestSchema};

#[tokio::test]
async fn debug_of_the_config_and_the_store_shows_no_password() {
    let schema = TestSchema::new();
    // The machine's server trusts every connection, so a password in the URL is ignored.
    let url = pg_url().replacen("postgres@", "postgres:Pa55w0rd-Secret@", 1);
    let config = PostgresStoreConfig::new(&url)
        .schema(&schema.name)
        .background_purge(None);
    let shown = format!("{config:?}");
    assert!(!shown.contains("Pa55w0rd"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    let store = PostgresStore::connect(config).await.expect("connect");
    let shown = format!("{store:?}");
    eprintln!("redaction: {shown}");
    assert!(!shown.contains("Pa55w0rd"), "{shown}");
    assert!(shown.contains(&schema.name), "{shown}");
}

/// A CHECK constraint added behind the store's back makes an insert fail with SQLSTATE 23514,
/// whose `detail` ("Failing row contains (...)") quotes the key, the user id and the record:
/// the store's error keeps only the SQLSTATE.
#[tokio::test]
async fn a_server_error_quoting_the_row_is_reported_without_its_values() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let user = "alice-secret-user";
    raw(&schema.url)
        .await
        .batch_execute(&format!(
            "ALTER TABLE {} ADD CONSTRAINT no_alice CHECK (user_id <> '{user}')",
            schema.table("sessions")
        ))
        .await
        .unwrap();
    let mut r = record();
    r.user_id = Some(UserId::new(user));
    let err = store.create(&r).await.expect_err("the check fails");
    let shown = error_chain(&err);
    eprintln!("redaction: {shown}");
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(shown.contains("23514"), "{shown}");
    assert!(!shown.contains(user), "the user id leaked: {shown}");
    let key_hex = r.key.to_hex();
    assert!(!shown.contains(&key_hex), "the key leaked: {shown}");
    assert!(!shown.contains("Failing row"), "the detail leaked: {shown}");
    assert!(!shown.contains("ünïcode"), "the record leaked: {shown}");
}
