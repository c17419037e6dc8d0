//! C12: tokens interoperate with the `jose` npm library, which the Next.js apps this framework
//! grew from use to sign their session cookies (HS256, `{user, expiresAt}`, 7-day `exp`).
//!
//! Needs `node` and `jose` installed in `<workspace>/.tools/node` (`cargo xtask test` installs
//! it; by hand: `npm install --prefix .tools/node jose@6`). A missing piece fails the test with
//! a message saying so: it is never skipped.

mod common;

use serde::Deserialize;
use serde_json::Value;
use session_core::{
    codec::{JwtAlgorithm, JwtKey, SessionCodec},
    store::{SessionId, SessionRecord},
    JwtCodec, RequestContext, Secret, SessionManager, UnixTime, UserId,
};

const SECRET: &str = "jose-interop secret shared with the Next.js app, 32+ bytes";

/// Runs an ES module with `jose` and the shared secret in `SESSION_SECRET`.
fn node(script_name: &str, source: &str, args: &[&str]) -> String {
    common::run_node(
        "jose",
        script_name,
        source,
        &[("SESSION_SECRET", SECRET)],
        args,
    )
}

const SIGN_LIKE_NEXTJS: &str = r#"
import { SignJWT } from 'jose';
const key = new TextEncoder().encode(process.env.SESSION_SECRET);
const expiresAt = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000);
const payload = { user: { id: 42, email: 'ada@example.com', name: 'Ada' }, expiresAt };
const token = await new SignJWT(payload)
  .setProtectedHeader({ alg: 'HS256' })
  .setIssuedAt()
  .setExpirationTime('7d')
  .sign(key);
console.log(token);
"#;

const VERIFY: &str = r#"
import { jwtVerify } from 'jose';
const key = new TextEncoder().encode(process.env.SESSION_SECRET);
const { payload, protectedHeader } = await jwtVerify(process.argv[2], key, {
  algorithms: ['HS256'],
  typ: 'session+jwt',
});
console.log(JSON.stringify({ payload, protectedHeader }));
"#;

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    id: u64,
    email: String,
    name: String,
}

/// The codec an application migrating from the Next.js app configures: same secret, the token
/// shape `jose`'s `SignJWT` makes by default (no `typ`, no `nbf`).
fn legacy_codec() -> JwtCodec {
    let secret = Secret::from_bytes(SECRET.as_bytes().to_vec()).unwrap();
    JwtCodec::builder(JwtAlgorithm::HS256)
        .key(JwtKey::hmac(JwtAlgorithm::HS256, &secret).unwrap())
        .typ(None)
        .require_nbf(false)
        .build()
        .unwrap()
}

#[test]
fn a_jose_token_decodes_as_a_session_whose_data_is_its_payload() {
    let token = node("sign-like-nextjs.mjs", SIGN_LIKE_NEXTJS, &[]);
    let record = legacy_codec()
        .decode(&token, UnixTime::now())
        .expect("the jose token verifies")
        .payload;
    let user: User = serde_json::from_value(record.data["user"].clone()).unwrap();
    assert_eq!(
        user,
        User {
            id: 42,
            email: "ada@example.com".into(),
            name: "Ada".into()
        }
    );
    // `iat` becomes the creation time and `exp` the expiry.
    assert_eq!(
        record
            .expires_at
            .saturating_duration_since(record.created_at)
            .as_secs(),
        7 * 24 * 3600
    );
    assert!(record.data["expiresAt"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    // The default (strict) codec refuses it: no `typ`, no `nbf`.
    let strict = JwtCodec::hs256(&Secret::from_bytes(SECRET.as_bytes().to_vec()).unwrap()).unwrap();
    assert!(strict.decode(&token, UnixTime::now()).is_err());
}

#[tokio::test]
async fn a_jose_cookie_is_a_session_in_the_manager() {
    let token = node("sign-like-nextjs-2.mjs", SIGN_LIKE_NEXTJS, &[]);
    let manager = SessionManager::stateless(legacy_codec()).build();
    let session = manager
        .load_from_header(Some(&format!("session={token}")), RequestContext::default())
        .await
        .unwrap();
    assert_eq!(
        session.get::<User>("user").unwrap().unwrap().email,
        "ada@example.com"
    );
}

#[test]
fn our_token_verifies_in_jose() {
    let codec = JwtCodec::hs256(&Secret::from_bytes(SECRET.as_bytes().to_vec()).unwrap()).unwrap();
    let now = UnixTime::now();
    let mut record = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + std::time::Duration::from_secs(7 * 24 * 3600),
    );
    record.user_id = Some(UserId::new("42"));
    record
        .data
        .insert("user".into(), serde_json::json!({"id": 42, "name": "Ada"}));
    let token = codec.encode(&record, now).unwrap();
    let out: Value =
        serde_json::from_str(&node("verify.mjs", VERIFY, &[&token])).expect("json from node");
    assert_eq!(out["protectedHeader"]["alg"], "HS256");
    assert_eq!(out["protectedHeader"]["typ"], "session+jwt");
    assert_eq!(out["payload"]["user"]["name"], "Ada");
    assert_eq!(out["payload"]["sub"], "42");
    assert_eq!(out["payload"]["exp"], now.as_secs() + 7 * 24 * 3600);
}
