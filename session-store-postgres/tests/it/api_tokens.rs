//! [`PostgresApiTokenStore`] (feature `auth`): session-auth's API-token-store conformance suite
//! on a schema of its own, then damaged rows, the limit across two pools (two app nodes), and a
//! raw check that no token is at rest.

use std::sync::Arc;

use session_auth::api_tokens::{ApiTokenStore, ApiTokens, Inserted, NewApiToken};
use session_auth::testing::api_token_conformance::{every_field_record, record as token, NOW};
use session_core::store::StoreError;
use session_core::{Secret, UserId};
use session_store_postgres::PostgresApiTokenStore;

use crate::common::{error_chain, raw, schema_values, TestSchema};

mod conformance {
    use session_auth::testing::ApiTokenFixture;
    use session_store_postgres::PostgresApiTokenStore;

    use crate::common::TestSchema;

    session_auth::api_token_store_conformance!(|| async {
        let schema = TestSchema::new();
        let sessions = schema.store().await;
        let store = PostgresApiTokenStore::from_store(&sessions)
            .await
            .expect("api token store");
        ApiTokenFixture::new(store).keep(sessions).keep(schema)
    });
}

fn alice() -> UserId {
    UserId::new("alice")
}

/// A hash that is not 64 hex digits, scopes that are not a JSON array of strings or a negative
/// time: `Corrupt`, quoting nothing stored, left in place.
#[tokio::test]
async fn a_damaged_row_is_corrupt_and_left_in_place() {
    let damages = [
        ("UPDATE {t} SET scopes = 'secret-scope-text'", true),
        ("UPDATE {t} SET scopes = '[1, 2]'", true),
        ("UPDATE {t} SET created_at = -1", true),
        ("UPDATE {t} SET revoked_at = -5", true),
        ("UPDATE {t} SET hash = substr(hash, 2)", false),
    ];
    for (damage, found_by_hash) in damages {
        let schema = TestSchema::new();
        let store = PostgresApiTokenStore::connect(schema.config())
            .await
            .unwrap();
        let full = every_field_record("alice");
        assert_eq!(store.insert(&full, 5, NOW).await.unwrap(), Inserted::Stored);
        let damage = damage.replace("{t}", &schema.table("api_tokens"));
        raw(&schema.url).await.batch_execute(&damage).await.unwrap();
        let mut results = vec![("list", store.list(&alice()).await.map(|_| ()))];
        let found = store.find(&full.hash).await;
        if found_by_hash {
            results.push(("find", found.map(|_| ())));
        } else {
            assert_eq!(found.unwrap(), None, "{damage}");
        }
        for (what, res) in results {
            let err = res.expect_err(&damage);
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{damage}: {what} gave {err:?}"
            );
            let shown = error_chain(&err);
            for stored in ["secret", &full.id, &full.display_prefix] {
                assert!(
                    !shown.contains(stored),
                    "{damage}: {what} quotes {stored:?}: {shown}"
                );
            }
        }
    }
}

/// Two stores with pools of their own (two application nodes): 32 concurrent inserts for one
/// owner with a limit of 5, exactly 5 land (the owner's advisory lock serialises them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_stop_at_the_limit_together() {
    let schema = TestSchema::new();
    let a: Arc<dyn ApiTokenStore> = Arc::new(
        PostgresApiTokenStore::connect(schema.config())
            .await
            .unwrap(),
    );
    let b: Arc<dyn ApiTokenStore> = Arc::new(
        PostgresApiTokenStore::connect(schema.config())
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..32u8)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.insert(&token("alice", n), 5, NOW).await })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Inserted::Stored) => stored += 1,
            Ok(Inserted::LimitReached) => {}
            Err(err) => panic!("unexpected error {err:?}"),
        }
    }
    assert_eq!(stored, 5);
    assert_eq!(b.list(&alice()).await.unwrap().len(), 5);
}

/// The table holds the keyed hash and the display prefix, and the token itself is in no column
/// of any table of the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_holds_no_token() {
    let schema = TestSchema::new();
    let sessions = schema.store().await;
    let store = PostgresApiTokenStore::from_store(&sessions).await.unwrap();
    let secret = Secret::from_bytes(vec![7; 32]).unwrap();
    let tokens = ApiTokens::builder(&secret, store).build();
    let created = tokens
        .create(&alice(), NewApiToken::named("CI deploy"))
        .await
        .unwrap();
    let row = raw(&schema.url)
        .await
        .query_one(
            &format!(
                "SELECT hash, display_prefix FROM {}",
                schema.table("api_tokens")
            ),
            &[],
        )
        .await
        .unwrap();
    let (hash, prefix): (String, String) = (row.get(0), row.get(1));
    assert_eq!(hash.len(), 64);
    assert_eq!(prefix, created.token.display_prefix);
    let body = &created.secret.expose()["sat_".len()..];
    let values = schema_values(&schema.url, &schema.name).await.unwrap();
    assert!(
        values.iter().any(|v| v == hash.as_bytes()),
        "the scan sees the row"
    );
    for value in values {
        assert!(
            !value.windows(body.len()).any(|w| w == body.as_bytes()),
            "the token is stored"
        );
    }
}
