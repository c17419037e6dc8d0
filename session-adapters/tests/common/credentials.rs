//! Where the session credential is read from (S-28): the session cookie, and nowhere else. A
//! valid session value copied into the URL query string (or a form field) is not a session.
//! Run on every backend through every framework, like the rest of the suite.
//!
//! The suite's requests carry no body, so the form-field case is sent as its
//! `application/x-www-form-urlencoded` content type with the field in the query of a `POST`;
//! no route of the suite reads a body, so a framework that took the session from a form body
//! would need a body-reading extractor the session layer does not have.

use super::{fixture, Backend, Driver, TestRequest};

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

        // A write through the query is a write to a fresh session, never to alice's.
        let request = TestRequest::post(&format!("/write?{query}"))
            .header("content-type", "application/x-www-form-urlencoded");
        let response = fx.send(request).await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "1"),
            "{ctx}: POST /write (form-encoded)"
        );
        let fresh = response.only_cookie(&ctx);
        assert_ne!(fresh.value, value, "{ctx}: the query value was adopted");
        assert_eq!(
            fx.get("/api/me", Some(&fresh.pair())).await.status,
            401,
            "{ctx}: the fresh session is not alice's"
        );
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
