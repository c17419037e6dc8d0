//! The seed app's API tokens, made by Node's own `crypto` exactly as the seed app makes them
//! (32 random bytes as hex; the table keeps the unsalted SHA-256 hex and the first 8
//! characters), import and keep authenticating their clients, and nothing stored here can be
//! checked offline.
//!
//! Needs `node` on the PATH (`cargo xtask test` installs it when missing): a missing node fails
//! the test, it is never skipped.

use std::process::Command;

use session_auth::api_tokens::{
    ApiTokenError, ApiTokens, BearerError, LegacyApiToken, MalformedToken, MemoryApiTokenStore,
};
use session_core::{Secret, UnixTime, UserId};

/// The seed app's token creation: the token, and the row it stores.
const SEED_CREATE: &str = r#"
const crypto = require('crypto');
const rows = [];
for (let i = 0; i < Number(process.argv[1]); i++) {
  const token = crypto.randomBytes(32).toString('hex');
  const hash = crypto.createHash('sha256').update(token).digest('hex');
  rows.push({ token, hash, prefix: token.slice(0, 8) });
}
console.log(JSON.stringify(rows));
"#;

#[derive(serde::Deserialize)]
struct SeedRow {
    token: String,
    hash: String,
    prefix: String,
}

fn seed_rows(n: usize) -> Vec<SeedRow> {
    let output = Command::new("node")
        .args(["-e", SEED_CREATE, &n.to_string()])
        .output()
        .unwrap_or_else(|e| {
            panic!("node is required for the seed-token test (cargo xtask test installs it): {e}")
        });
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node prints a JSON array")
}

fn tokens(accept: bool) -> ApiTokens {
    let secret = Secret::from_bytes(vec![0x24; 32]).expect("32 bytes");
    ApiTokens::builder(&secret, MemoryApiTokenStore::new())
        .accept_seed_tokens(accept)
        .build()
}

fn legacy(row: &SeedRow, owner: &str) -> LegacyApiToken {
    LegacyApiToken {
        owner: UserId::new(owner),
        name: format!("seed token {}", row.prefix),
        token_hash: row.hash.clone(),
        token_prefix: row.prefix.clone(),
        scopes: vec!["read".into()],
        created_at: UnixTime::from_secs(1_700_000_000),
        last_used_at: None,
        expires_at: None,
    }
}

#[tokio::test]
async fn imported_seed_tokens_authenticate_their_clients() {
    let rows = seed_rows(3);
    let tokens = tokens(true);
    for (i, row) in rows.iter().enumerate() {
        let info = tokens
            .import_legacy(&legacy(row, &format!("user{i}")))
            .await
            .expect("import");
        assert_eq!(info.display_prefix, row.prefix);
    }
    for (i, row) in rows.iter().enumerate() {
        let bearer = tokens.authenticate(&row.token).await.expect("a seed token");
        assert_eq!(bearer.owner, UserId::new(format!("user{i}")));
        assert!(bearer.allows("read"));
    }
    // What the store keeps is neither the seed's digest nor anything derived without the key.
    let stored = tokens
        .store()
        .list(&UserId::new("user0"))
        .await
        .expect("list");
    assert_ne!(stored[0].hash.to_hex(), rows[0].hash);
}

#[tokio::test]
async fn a_leaked_seed_row_is_not_a_token_and_upper_case_is_another_token() {
    let rows = seed_rows(1);
    let row = &rows[0];
    let tokens = tokens(true);
    tokens
        .import_legacy(&legacy(row, "alice"))
        .await
        .expect("import");
    for presented in [
        row.hash.clone(),
        row.prefix.clone(),
        row.token.to_uppercase(),
    ] {
        let refused = tokens
            .authenticate(&presented)
            .await
            .expect_err(&presented[..8]);
        assert!(
            matches!(
                refused,
                BearerError::Unknown | BearerError::Malformed(MalformedToken::WrongPrefix)
            ),
            "{refused:?}"
        );
    }
    let other = seed_rows(1).remove(0);
    assert!(matches!(
        tokens.authenticate(&other.token).await,
        Err(BearerError::Unknown)
    ));
}

#[tokio::test]
async fn seed_tokens_are_refused_unless_accepted() {
    let rows = seed_rows(1);
    let tokens = tokens(false);
    tokens
        .import_legacy(&legacy(&rows[0], "alice"))
        .await
        .expect("import");
    assert!(matches!(
        tokens.authenticate(&rows[0].token).await,
        Err(BearerError::Malformed(MalformedToken::WrongPrefix))
    ));
}

#[tokio::test]
async fn revoking_an_imported_token_works_like_any_other() {
    let rows = seed_rows(1);
    let tokens = tokens(true);
    let info = tokens
        .import_legacy(&legacy(&rows[0], "alice"))
        .await
        .expect("import");
    assert!(tokens
        .revoke(&UserId::new("alice"), &info.id)
        .await
        .expect("revoke"));
    assert!(matches!(
        tokens.authenticate(&rows[0].token).await,
        Err(BearerError::Revoked)
    ));
}

#[tokio::test]
async fn malformed_seed_rows_are_typed_errors_and_a_row_imports_once() {
    let rows = seed_rows(1);
    let tokens = tokens(true);
    let good = legacy(&rows[0], "alice");
    for bad in [
        LegacyApiToken {
            token_hash: "abc".into(),
            ..good.clone()
        },
        LegacyApiToken {
            token_hash: "z".repeat(64),
            ..good.clone()
        },
        LegacyApiToken {
            token_prefix: "ABCDEF12".into(),
            ..good.clone()
        },
        LegacyApiToken {
            token_prefix: "1234".into(),
            ..good.clone()
        },
    ] {
        assert!(matches!(
            tokens.import_legacy(&bad).await,
            Err(ApiTokenError::InvalidSeedRow)
        ));
    }
    tokens.import_legacy(&good).await.expect("import");
    assert!(
        tokens.import_legacy(&good).await.is_err(),
        "a second import collides"
    );
    assert!(
        !format!("{good:?}").contains(&rows[0].hash),
        "Debug hides the seed's digest"
    );
}
