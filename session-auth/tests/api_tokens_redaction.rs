//! No API token text reaches a `Debug` output, an error message or a log line: not the new
//! token's, not a refused token's.

use std::time::Duration;

use session_auth::api_tokens::{ApiTokens, MemoryApiTokenStore, NewApiToken};
use session_core::testing::LogCapture;
use session_core::{Secret, UserId};

#[tokio::test]
async fn tokens_never_appear_in_debug_errors_or_logs() {
    let secret = Secret::from_bytes(vec![0x33; 32]).expect("32 bytes");
    let tokens = ApiTokens::builder(&secret, MemoryApiTokenStore::new()).build();
    let alice = UserId::new("alice");
    let capture = LogCapture::new();
    let _guard = capture.install();

    let created = tokens
        .create(
            &alice,
            NewApiToken::named("ci").expires_in(Duration::from_secs(3600)),
        )
        .await
        .expect("create");
    let token = created.secret.expose().to_owned();
    let body = &token["sat_".len()..];
    let revoked = tokens
        .create(&alice, NewApiToken::named("old"))
        .await
        .expect("create");
    tokens
        .revoke(&alice, &revoked.token.id)
        .await
        .expect("revoke");
    let revoked_text = revoked.secret.expose().to_owned();

    let mut shown = vec![
        format!("{created:?}"),
        format!("{:?}", created.secret),
        format!("{tokens:?}"),
        format!("{:?}", tokens.authenticate(&token).await.expect("valid")),
        format!("{:?}", tokens.list(&alice).await.expect("list")),
    ];
    let refused = [
        revoked_text.clone(),
        format!("{token}x"),
        token[..token.len() - 1].to_owned(),
        format!("ghp_{body}"),
    ];
    for presented in &refused {
        let error = tokens.authenticate(presented).await.expect_err("refused");
        shown.push(format!("{error:?}"));
        shown.push(error.to_string());
    }
    let header = format!("Bearer {token} {token}");
    let error = tokens
        .authenticate_headers([header.as_bytes()])
        .await
        .expect_err("malformed header");
    shown.push(format!("{error:?} {error}"));

    for text in &shown {
        for secret in [
            &token[..],
            body,
            &revoked_text[..],
            &revoked_text["sat_".len()..],
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    for secret in [
        &token[..],
        body,
        &revoked_text[..],
        &revoked_text["sat_".len()..],
    ] {
        capture.assert_never_contains(secret);
    }
    assert!(
        capture.with_reason("revoked").len() == 1 && capture.with_reason("not_b64token").len() == 1,
        "{:?}",
        capture.events()
    );
}
