//! Where the session credential is read from (S-28): the session cookie, and nowhere else. A
//! valid session value copied into the URL query string (or a form field) is not a session;
//! and which ids a cookie may name (S-03): only ones the server issued. Run through every
//! framework, like the rest of the suite.

use session_core::codec::{SessionCodec, SignedIdCodec};
use session_core::store::SessionId;
use session_core::UnixTime;

use super::{fixture, Backend, Driver, TestRequest};

/// S-03 (stateful backends): a cookie with a well-formed, validly signed id the server never
/// issued (a fixation attempt by someone who holds the secret's signature, or a session the
/// store lost) is no session, and cleared; the handler's write issues a fresh id, never the
/// planted one, which stays unknown afterwards.
pub async fn s03_a_signed_but_unknown_id_is_never_adopted<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let planted = SignedIdCodec::new(&super::secret())
        .encode(&SessionId::generate(), UnixTime::now())
        .expect("a signed id");
    let cookie = format!("session={planted}");

    let response = fx.get("/read", Some(&cookie)).await;
    assert_eq!(response.body, "none", "{fx}: {response:?}");
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");

    let response = fx.post("/write", Some(&cookie)).await;
    assert_eq!(response.body, "1", "{fx}: a fresh session: {response:?}");
    let fresh = response.only_cookie(&fx);
    assert!(!fresh.is_removal(), "{fx}: {response:?}");
    assert_ne!(fresh.value, planted, "{fx}: the planted id was adopted");

    assert_eq!(fx.get("/read", Some(&cookie)).await.body, "none", "{fx}");
    assert_eq!(fx.get("/read", Some(&fresh.pair())).await.body, "1", "{fx}");
}

/// S-28: a request carrying a valid session value as `?session=<value>` (also under the other
/// names apps commonly use, and as a form-encoded `POST`), and no cookie, is "no session": the
/// handler sees no data, a guard refuses it, a write starts a fresh session under a new value,
/// and the real session is untouched.
pub async fn s28_the_session_comes_from_the_cookie_only<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let cookie = fx.login("alice").await;
    let response = fx.post("/write", Some(&cookie)).await;
    assert_eq!(response.body, "1", "{fx}");
    // A stateless session is re-issued on every write.
    let cookie = match response.set_cookies().as_slice() {
        [one] => super::SetCookie::parse(one).pair(),
        _ => cookie,
    };
    let value = cookie
        .strip_prefix("session=")
        .expect("the session cookie pair")
        .to_owned();
    // The cookie itself works.
    assert_eq!(fx.get("/read", Some(&cookie)).await.body, "1", "{fx}");
    assert_eq!(fx.get("/api/me", Some(&cookie)).await.body, "alice", "{fx}");

    for name in ["session", "session_id", "sid"] {
        let query = format!("{name}={value}");
        let ctx = format!("{fx}: ?{name}=");

        let response = fx.get(&format!("/read?{query}"), None).await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "none"),
            "{ctx}: GET /read"
        );
        assert!(response.set_cookies().is_empty(), "{ctx}: {response:?}");

        let response = fx.get(&format!("/api/me?{query}"), None).await;
        assert_eq!(response.status, 401, "{ctx}: GET /api/me: {response:?}");

        let response = fx.get(&format!("/maybe-me?{query}"), None).await;
        assert_eq!(response.body, "anonymous", "{ctx}: GET /maybe-me");

        // A write with the value in the query, or in a form body, is a write to a fresh
        // session, never to alice's.
        let writes = [
            ("query", TestRequest::post(&format!("/write?{query}"))),
            ("form body", TestRequest::post("/write").form(&query)),
        ];
        for (place, request) in writes {
            let response = fx.send(request).await;
            assert_eq!(
                (response.status, response.body.as_str()),
                (200, "1"),
                "{ctx}: POST /write, the value in the {place}"
            );
            let fresh = response.only_cookie(&ctx);
            assert_ne!(fresh.value, value, "{ctx}: the {place} value was adopted");
            assert_eq!(
                fx.get("/api/me", Some(&fresh.pair())).await.status,
                401,
                "{ctx}: the fresh session is not alice's"
            );
        }
    }

    // The query never overrides the cookie either: with both, the cookie's session is used,
    // and a foreign value in the query does not displace it.
    let other = fx.login("mallory").await;
    let other_value = other.strip_prefix("session=").expect("a pair");
    let response = fx
        .get(&format!("/api/me?session={other_value}"), Some(&cookie))
        .await;
    assert_eq!(response.body, "alice", "{fx}: cookie and query");

    // Alice's session is untouched by all of this.
    assert_eq!(fx.get("/read", Some(&cookie)).await.body, "1", "{fx}");
    assert_eq!(fx.get("/api/me", Some(&cookie)).await.body, "alice", "{fx}");
}
