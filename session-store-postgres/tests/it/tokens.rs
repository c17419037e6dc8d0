//! [`PostgresTokenStore`] (feature `auth`): session-auth's token-store conformance suite on a
//! schema of its own, sharing the session store's pool, then a read-only database, damaged
//! rows and the table's own schema version.

use session_auth::testing::token_conformance::every_field_grant;
use session_auth::tokens::TokenStore;
use session_core::store::StoreError;
use session_core::UserId;
use session_store_postgres::{PostgresOpenError, PostgresStore, PostgresTokenStore};

use crate::common::{error_chain, raw, TestSchema};

mod conformance {
    use session_auth::testing::TokenFixture;
    use session_store_postgres::PostgresTokenStore;

    use crate::common::TestSchema;

    session_auth::token_store_conformance!(|| async {
        let schema = TestSchema::new();
        let sessions = schema.store().await;
        let store = PostgresTokenStore::from_store(&sessions)
            .await
            .expect("token store");
        TokenFixture::new(store).keep(sessions).keep(schema)
    });
}

mod conformance_own_pool {
    use session_auth::testing::TokenFixture;
    use session_store_postgres::PostgresTokenStore;

    use crate::common::TestSchema;

    session_auth::token_store_conformance!(|| async {
        let schema = TestSchema::new();
        let store = PostgresTokenStore::connect(schema.config())
            .await
            .expect("token store");
        TokenFixture::new(store).keep(schema)
    });
}

fn alice() -> UserId {
    UserId::new("alice")
}

/// A row whose `state` this build does not know, or with a negative time, is `Corrupt` from
/// `get` and `list`, names no token, and is left in place.
#[tokio::test]
async fn a_damaged_row_is_corrupt_and_left_in_place() {
    for damage in [
        "UPDATE {t} SET state = 'revoked'",
        "UPDATE {t} SET obtained_at = -1",
        "UPDATE {t} SET expires_at = -5",
    ] {
        let schema = TestSchema::new();
        let store = PostgresTokenStore::connect(schema.config()).await.unwrap();
        let full = every_field_grant("583231");
        store.put(&alice(), "github", &full).await.unwrap();
        let damage = damage.replace("{t}", &schema.table("oauth_tokens"));
        raw(&schema.url).await.batch_execute(&damage).await.unwrap();
        for (what, res) in [
            ("get", store.get(&alice(), "github").await.map(|_| ())),
            ("list", store.list(&alice()).await.map(|_| ())),
        ] {
            let err = res.expect_err(&damage);
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{damage}: {what} gave {err:?}"
            );
            let shown = error_chain(&err);
            assert!(!shown.contains(full.access_token.as_str()), "{shown}");
        }
        let left: i64 = raw(&schema.url)
            .await
            .query_one(
                &format!("SELECT count(*) FROM {}", schema.table("oauth_tokens")),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 1, "{damage}: left in place");
    }
}

/// The token table keeps its own version row beside the sessions'; a newer one is refused.
#[tokio::test]
async fn the_token_table_has_its_own_schema_version() {
    let schema = TestSchema::new();
    let sessions: PostgresStore = schema.store().await;
    PostgresTokenStore::from_store(&sessions).await.unwrap();
    let client = raw(&schema.url).await;
    let rows = client
        .query(
            &format!(
                "SELECT name, version FROM {} ORDER BY name",
                schema.table("schema_versions")
            ),
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        rows,
        [("oauth_tokens".to_owned(), 1), ("sessions".to_owned(), 1)]
    );
    client
        .batch_execute(&format!(
            "UPDATE {} SET version = 7 WHERE name = 'oauth_tokens'",
            schema.table("schema_versions")
        ))
        .await
        .unwrap();
    let err = PostgresTokenStore::from_store(&sessions)
        .await
        .expect_err("newer");
    assert!(
        matches!(
            err,
            PostgresOpenError::NewerSchema {
                table: "oauth_tokens",
                found: 7,
                supported: 1
            }
        ),
        "{err:?}"
    );
}
