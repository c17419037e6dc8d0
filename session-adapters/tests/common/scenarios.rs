//! The scenarios of the behaviour suite: one `pub async fn` per contract, generic over the
//! framework's [`Driver`], named after the contract it proves (see DESIGN.md).
//!
//! Cookies are passed by hand as `name=value` pairs, the way a browser sends them back; the
//! suite never relies on a framework's cookie jar.

use std::time::Duration;

use session_core::testing::{FaultKind, LogCapture, StoreOp};
use session_core::{
    JweCodec, JwtCodec, MemoryStore, Policy, RequestContext, Secret, SessionManager,
};

use super::{
    fixture, fixture_with, fixture_with_middleware_twice, Backend, Driver, Fixture, SetCookie,
    TestApp, TestRequest,
};

pub use super::credentials::{
    s03_a_signed_but_unknown_id_is_never_adopted, s28_the_session_comes_from_the_cookie_only,
};
pub use super::csrf::{
    s24_a_logged_out_cookie_replayed_is_no_session,
    s27_a_cross_site_post_with_the_cookie_is_refused_before_the_handler,
    s27_form_tokens_are_bound_to_the_session,
    s27_strict_mode_refuses_a_post_without_origin_headers,
};

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);
/// The default lifetime in seconds.
const DAY_SECS: i64 = 24 * 3600;

/// C1, C10: the first write creates a session whose cookie carries the secure defaults.
pub async fn c1_new_session_sets_cookie_with_secure_defaults<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let response = fx.post("/write", None).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "1"),
        "{fx}"
    );
    let cookie = response.only_cookie(&fx);
    assert_eq!(cookie.name, "session", "{fx}: {}", cookie.raw);
    assert!(!cookie.value.is_empty(), "{fx}: {}", cookie.raw);
    assert!(
        cookie.has("HttpOnly"),
        "{fx}: no HttpOnly in {}",
        cookie.raw
    );
    assert!(cookie.has("Secure"), "{fx}: no Secure in {}", cookie.raw);
    assert_eq!(cookie.attr("SameSite"), Some("Lax"), "{fx}: {}", cookie.raw);
    assert_eq!(cookie.attr("Path"), Some("/"), "{fx}: {}", cookie.raw);
    assert!(
        !cookie.has("Domain"),
        "{fx}: host-only by default: {}",
        cookie.raw
    );
    assert_eq!(cookie.max_age(), DAY_SECS, "{fx}: {}", cookie.raw);

    let response = fx.get("/read", Some(&cookie.pair())).await;
    assert_eq!(response.body, "1", "{fx}: the cookie carries the session");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
}

/// C1: no cookie and no write: no Set-Cookie and no store call at all.
pub async fn c1_no_cookie_and_no_write_sends_nothing<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    for path in ["/read", "/", "/status"] {
        let response = fx.get(path, None).await;
        assert_eq!(response.status, 200, "{fx}: GET {path}");
        assert!(
            response.set_cookies().is_empty(),
            "{fx}: GET {path}: {response:?}"
        );
    }
    assert_eq!(fx.get("/read", None).await.body, "none", "{fx}");
    assert_eq!(fx.calls.get(StoreOp::Load), 0, "{fx}: store loads");
    assert_eq!(fx.calls.writes(), 0, "{fx}: store writes");
}

/// C2, S-29: a garbage, tampered, badly signed, foreign, wrongly signed (stateless: another
/// algorithm, an unknown `kid`), logged-out-everywhere or expired cookie is no session; it is
/// cleared, and exactly one event names its exact reason without ever containing the value.
/// (Schema errors: `a_payload_that_fails_validation_is_no_session`. A corrupt stored record
/// cannot be made here: the fixture gives no raw access to its stores; see the store
/// conformance contract `a_corrupt_record_is_a_typed_error`.)
pub async fn c2_invalid_cookie_is_no_session_and_is_cleared<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let valid = fx.post("/write", None).await.only_cookie(&fx).value;
    let stateless = !backend.is_stateful();
    // (case, cookie value, the exact `reason` of its one event) (S-29).
    let mut cases = vec![
        ("garbage", "not-a-session-cookie".to_owned(), "malformed"),
        (
            "tampered",
            tamper(&valid),
            if stateless {
                "malformed"
            } else {
                "bad_signature"
            },
        ),
        ("bad signature", tamper_signature(&valid), "bad_signature"),
        (
            "another secret",
            foreign_cookie(&fx).await,
            // The `kid` is the fingerprint of the key: another secret is another kid.
            if stateless {
                "unknown_kid"
            } else {
                "bad_signature"
            },
        ),
    ];
    if backend == Backend::Stateless {
        cases.push(("wrong alg", hs512_cookie(&fx).await, "wrong_alg"));
        cases.push(("unknown kid", foreign_kid_cookie(&fx).await, "unknown_kid"));
    }
    // Revoked (stateless) or deleted (stateful): signed in, then "log out everywhere" from
    // another session of the same user.
    let revoked = fx.login("carol").await;
    let other = fx.login("carol").await;
    let response = fx.post("/logout-everywhere", Some(&other)).await;
    assert_eq!(response.status, 200, "{fx}: {response:?}");
    let revoked = revoked.strip_prefix("session=").expect("a pair").to_owned();
    cases.push((
        "logged out everywhere",
        revoked,
        if stateless { "revoked" } else { "unknown_id" },
    ));
    for (case, value, reason) in &cases {
        expect_rejected(&fx, case, value, reason).await;
    }
    // Expired: the first cookie, a second past its lifetime.
    fx.clock.advance(Duration::from_secs(DAY_SECS as u64 + 1));
    // A store hides a record past its own expiry (`load` is `None`), so a stateful session
    // that ran out is logged as `unknown_id`; a token carries its `exp` and says `expired`.
    let expired = if stateless { "expired" } else { "unknown_id" };
    expect_rejected(&fx, "expired", &valid, expired).await;
}

/// `GET /read` with `session=<value>` is 200 "none", clears the cookie, and logs exactly one
/// event whose `reason` is `reason`, without the value.
async fn expect_rejected<A: TestApp>(fx: &Fixture<A>, case: &str, value: &str, reason: &str) {
    let capture = LogCapture::new();
    let response = {
        let _guard = capture.install();
        fx.get("/read", Some(&format!("session={value}"))).await
    };
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "none"),
        "{fx}: {case}"
    );
    let removal = response.only_cookie(format!("{fx}: {case}"));
    assert!(removal.is_removal(), "{fx}: {case}: {}", removal.raw);
    assert_eq!(removal.name, "session", "{fx}: {case}");
    assert_eq!(removal.attr("Path"), Some("/"), "{fx}: {case}");
    let reasons: Vec<String> = capture
        .events()
        .iter()
        .filter_map(|e| e.field("reason").map(str::to_owned))
        .collect();
    assert_eq!(reasons, [reason], "{fx}: {case}: {:?}", capture.events());
    capture.assert_never_contains(value);
}

/// S-29 (stateful backends): a record the store cannot read is that session's problem only: no
/// session, the cookie cleared, one event with reason `corrupt_record`, and the record deleted,
/// so the next request with the cookie is simply an unknown id; other sessions are untouched.
pub async fn s29_a_corrupt_record_is_no_session_and_is_deleted<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let other = fx.post("/write", None).await.only_cookie(&fx).pair();
    let damaged = fx.post("/write", None).await.only_cookie(&fx).pair();
    let value = damaged.strip_prefix("session=").expect("a pair").to_owned();
    let deletes = fx.calls.get(StoreOp::Delete);
    fx.faults.fail_with(StoreOp::Load, FaultKind::Corrupt);
    expect_rejected(&fx, "corrupt record", &value, "corrupt_record").await;
    fx.faults.heal();
    assert_eq!(
        fx.calls.get(StoreOp::Delete),
        deletes + 1,
        "{fx}: the record is deleted"
    );
    expect_rejected(&fx, "after the delete", &value, "unknown_id").await;

    // The session written before the damage is still there, and writable.
    assert_eq!(fx.get("/read", Some(&other)).await.body, "1", "{fx}");
    assert_eq!(fx.post("/write", Some(&other)).await.body, "2", "{fx}");
}

/// C3: the status reports the time left; past it the session is gone and its cookie cleared.
pub async fn c3_status_and_expiry<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    assert_eq!(fx.get("/status", None).await.body, "none", "{fx}");
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();
    assert_eq!(
        fx.get("/status", Some(&cookie)).await.body,
        DAY_SECS.to_string(),
        "{fx}"
    );
    fx.clock.advance(HOUR);
    let response = fx.get("/status", Some(&cookie)).await;
    assert_eq!(response.body, (DAY_SECS - 3600).to_string(), "{fx}");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");

    fx.clock.advance(23 * HOUR + Duration::from_secs(1));
    let response = fx.get("/read", Some(&cookie)).await;
    assert_eq!(response.body, "none", "{fx}: expired");
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");
}

/// C4: a request within the refresh threshold (30 min) re-issues the cookie; one just outside
/// it does not.
pub async fn c4_refresh_near_expiry_reissues_cookie<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();

    fx.clock.advance(24 * HOUR - 31 * MINUTE);
    let response = fx.get("/read", Some(&cookie)).await;
    assert_eq!(response.body, "1", "{fx}");
    assert!(
        response.set_cookies().is_empty(),
        "{fx}: 31 min left is outside the threshold: {response:?}"
    );

    fx.clock.advance(2 * MINUTE);
    let response = fx.get("/read", Some(&cookie)).await;
    assert_eq!(response.body, "1", "{fx}");
    let refreshed = response.only_cookie(format!("{fx}: 29 min left"));
    assert_eq!(refreshed.max_age(), DAY_SECS, "{fx}: {}", refreshed.raw);

    // Well past the first cookie's expiry, the refreshed one still works.
    fx.clock.advance(HOUR);
    assert_eq!(
        fx.get("/read", Some(&refreshed.pair())).await.body,
        "1",
        "{fx}"
    );
}

/// C5: a request that reads only makes no store write and sends no Set-Cookie.
pub async fn c5_unchanged_session_makes_no_write<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();
    fx.calls.reset();
    for path in ["/read", "/read", "/status", "/"] {
        let response = fx.get(path, Some(&cookie)).await;
        assert_eq!(response.status, 200, "{fx}: GET {path}");
        assert!(
            response.set_cookies().is_empty(),
            "{fx}: GET {path}: {response:?}"
        );
    }
    assert_eq!(fx.calls.writes(), 0, "{fx}: store writes");
}

/// C6: logging in (and `renew`) gives a new id with the same data; the old cookie is dead in
/// stateful mode and never carries the login in either mode.
pub async fn c6_renew_on_login_changes_the_id<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let anonymous = fx.post("/write", None).await.only_cookie(&fx);
    let response = fx.post("/login/alice", Some(&anonymous.pair())).await;
    assert_eq!(response.body, "ok", "{fx}");
    let signed_in = response.only_cookie(&fx);
    assert_ne!(signed_in.value, anonymous.value, "{fx}: login must renew");
    assert_eq!(
        fx.get("/read", Some(&signed_in.pair())).await.body,
        "1",
        "{fx}: data kept"
    );
    assert_eq!(
        fx.get("/api/me", Some(&signed_in.pair())).await.body,
        "alice",
        "{fx}"
    );
    assert_eq!(
        fx.get("/api/me", Some(&anonymous.pair())).await.status,
        401,
        "{fx}: the old cookie is not signed in"
    );
    if backend.is_stateful() {
        // Stateless tokens cannot be recalled: the old one stays a (signed-out) session.
        let response = fx.get("/read", Some(&anonymous.pair())).await;
        assert_eq!(response.body, "none", "{fx}: the old id is deleted");
    }

    let response = fx.post("/renew", Some(&signed_in.pair())).await;
    assert_eq!(response.body, "ok", "{fx}");
    let renewed = response.only_cookie(&fx);
    assert_ne!(renewed.value, signed_in.value, "{fx}: renew");
    assert_eq!(
        fx.get("/api/me", Some(&renewed.pair())).await.body,
        "alice",
        "{fx}"
    );
    if backend.is_stateful() {
        let response = fx.get("/api/me", Some(&signed_in.pair())).await;
        assert_eq!(response.status, 401, "{fx}: the renewed-away id is deleted");
    }
}

/// C7: destroy sends a removal cookie with the same name, path and domain; the old cookie is
/// dead in stateful mode.
pub async fn c7_destroy_sends_removal_cookie<D: Driver>(backend: Backend) {
    let policy = Policy::builder()
        .cookie_domain("example.com")
        .cookie_path("/app")
        .build()
        .expect("a valid policy");
    let fx = fixture_with::<D>(backend, policy).await;
    let cookie = fx.post("/write", None).await.only_cookie(&fx);
    assert_eq!(cookie.attr("Domain"), Some("example.com"), "{fx}");
    assert_eq!(cookie.attr("Path"), Some("/app"), "{fx}");

    let response = fx.post("/logout", Some(&cookie.pair())).await;
    assert_eq!(response.body, "ok", "{fx}");
    let removal = response.only_cookie(&fx);
    assert!(removal.is_removal(), "{fx}: {}", removal.raw);
    assert_eq!(removal.name, "session", "{fx}");
    assert_eq!(removal.attr("Path"), Some("/app"), "{fx}: {}", removal.raw);
    assert_eq!(
        removal.attr("Domain"),
        Some("example.com"),
        "{fx}: {}",
        removal.raw
    );
    if backend.is_stateful() {
        let response = fx.get("/read", Some(&cookie.pair())).await;
        assert_eq!(response.body, "none", "{fx}: the record is deleted");
    }

    let response = fx.post("/logout", None).await;
    assert!(
        response.set_cookies().is_empty(),
        "{fx}: nothing to remove: {response:?}"
    );
}

/// C8: a save that loses a race is 409, sends no cookie and changes nothing.
pub async fn c8_conflict_is_409<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();
    fx.faults.fail_with(StoreOp::Save, FaultKind::Conflict);
    let response = fx.post("/write", Some(&cookie)).await;
    assert_eq!(response.status, 409, "{fx}: {response:?}");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
    fx.faults.heal();
    assert_eq!(fx.get("/read", Some(&cookie)).await.body, "1", "{fx}");
    assert_eq!(fx.post("/write", Some(&cookie)).await.body, "2", "{fx}");
}

/// C18: a handler that answers 5xx commits none of its session changes: no session is made, an
/// existing one keeps its value, no cookie is sent.
pub async fn c18_a_server_error_commits_nothing<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let response = fx.post("/write-then-fail", None).await;
    assert_eq!(response.status, 500, "{fx}: {response:?}");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
    assert_eq!(fx.calls.writes(), 0, "{fx}: nothing stored");
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();
    let response = fx.post("/write-then-fail", Some(&cookie)).await;
    assert_eq!(response.status, 500, "{fx}: {response:?}");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
    assert_eq!(
        fx.get("/read", Some(&cookie)).await.body,
        "1",
        "{fx}: unchanged"
    );
}

/// The session middleware attached twice behaves like once: one load and one commit per
/// request, no conflict, the same answers.
pub async fn the_middleware_attached_twice_behaves_like_once<D: Driver>(backend: Backend) {
    let fx = fixture_with_middleware_twice::<D>(backend).await;
    let response = fx.post("/write", None).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "1"),
        "{fx}"
    );
    let cookie = response.only_cookie(&fx).pair();
    fx.calls.reset();
    let response = fx.post("/write", Some(&cookie)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "2"),
        "{fx}: {response:?}"
    );
    assert!(
        response.set_cookies().len() <= 1,
        "{fx}: one commit: {response:?}"
    );
    let cookie = match response.set_cookies().as_slice() {
        [] => cookie,
        _ => response.only_cookie(&fx).pair(), // stateless: the new token
    };
    if backend.is_stateful() {
        assert_eq!(fx.calls.get(StoreOp::Load), 1, "{fx}: one load");
        assert_eq!(fx.calls.writes(), 1, "{fx}: one write");
    }
    assert_eq!(fx.get("/read", Some(&cookie)).await.body, "2", "{fx}");
}

/// C9: logging out everywhere ends every session of that user and no one else's.
pub async fn c9_log_out_everywhere<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let alice_1 = fx.login("alice").await;
    let alice_2 = fx.login("alice").await;
    let bob = fx.login("bob").await;
    // Stateless revocation is "not before <second>": tokens issued in the same second survive.
    fx.clock.advance(Duration::from_secs(1));

    let response = fx.post("/logout-everywhere", Some(&alice_1)).await;
    assert_eq!(response.status, 200, "{fx}: {response:?}");
    let expected = if backend.is_stateful() { "2" } else { "0" };
    assert_eq!(response.body, expected, "{fx}: sessions ended");
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");

    for (which, cookie) in [("first", &alice_1), ("second", &alice_2)] {
        let response = fx.get("/api/me", Some(cookie)).await;
        assert_eq!(response.status, 401, "{fx}: alice's {which} session");
    }
    assert_eq!(fx.get("/api/me", Some(&bob)).await.body, "bob", "{fx}");
    // Stateless revocation has one-second resolution and refuses everything issued up to and
    // including the log-out's second; a person signs in again later than that.
    fx.clock.advance(Duration::from_secs(1));
    let again = fx.login("alice").await;
    assert_eq!(
        fx.get("/api/me", Some(&again)).await.body,
        "alice",
        "{fx}: alice can sign in again"
    );
}

/// C14: while the store is down requests get 503 and no Set-Cookie; when it is back the same
/// cookie works and nothing was lost or half-written.
pub async fn c14_store_down_is_503_and_keeps_cookie<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let anonymous = fx.post("/write", None).await.only_cookie(&fx).pair();
    let response = fx.post("/login/alice", Some(&anonymous)).await;
    let cookie = response.only_cookie(&fx).pair();

    fx.faults.fail_all();
    for (method, path) in [("GET", "/api/me"), ("GET", "/read"), ("POST", "/write")] {
        let response = fx
            .send(TestRequest::new(method, path).cookie(Some(&cookie)))
            .await;
        assert_eq!(response.status, 503, "{fx}: {method} {path}: {response:?}");
        assert!(
            response.set_cookies().is_empty(),
            "{fx}: {method} {path} must keep the cookie: {response:?}"
        );
    }
    if backend.is_stateful() {
        let response = fx.post("/write", None).await;
        assert_eq!(response.status, 503, "{fx}: a new session cannot be stored");
        assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
    }

    fx.faults.heal();
    assert_eq!(fx.get("/api/me", Some(&cookie)).await.body, "alice", "{fx}");
    assert_eq!(
        fx.get("/read", Some(&cookie)).await.body,
        "1",
        "{fx}: the failed write changed nothing"
    );
}

/// A handler's `?` on a failing session call answers through `session_adapters::Error`: a store
/// outage during the handler is 503 and keeps the cookie.
pub async fn handler_store_errors_are_503_and_keep_the_cookie<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let cookie = fx.login("alice").await;
    fx.faults
        .fail_with(StoreOp::ListForUser, FaultKind::Unavailable);
    let response = fx.get("/sessions", Some(&cookie)).await;
    assert_eq!(response.status, 503, "{fx}: {response:?}");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
    fx.faults.heal();
    assert_eq!(fx.get("/api/me", Some(&cookie)).await.body, "alice", "{fx}");
}

/// C15: the typed whole-session extractor; data that does not fit is denied and ends the
/// session.
pub async fn c15_typed_extractor<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let response = fx.get("/profile", None).await;
    assert_eq!(response.status, 303, "{fx}: no session: {response:?}");
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");

    let alice = fx.login("alice").await;
    assert_eq!(fx.get("/profile", Some(&alice)).await.body, "alice", "{fx}");

    let unfit = fx.post("/write", None).await.only_cookie(&fx).pair();
    let response = fx.get("/profile", Some(&unfit)).await;
    assert_eq!(response.status, 303, "{fx}: no name: {response:?}");
    assert_eq!(response.header("location"), Some("/login"), "{fx}");
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");
    if backend.is_stateful() {
        assert_eq!(fx.get("/read", Some(&unfit)).await.body, "none", "{fx}");
    }

    let response = fx
        .send(
            TestRequest::get("/profile")
                .cookie(Some(&fx.post("/write", None).await.only_cookie(&fx).pair()))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(response.status, 401, "{fx}: an API client: {response:?}");
}

/// Typed data that deserialises but fails its `Validate` check is no session: the guard's
/// answer, the cookie cleared, the reason `schema` logged with the check's message.
pub async fn a_payload_that_fails_validation_is_no_session<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let cookie = fx.login("a-name-longer-than-sixteen").await;
    let capture = LogCapture::new();
    let response = {
        let _guard = capture.install();
        fx.get("/profile", Some(&cookie)).await
    };
    assert_eq!(response.status, 303, "{fx}: {response:?}");
    assert_eq!(response.header("location"), Some("/login"), "{fx}");
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");
    let reasons: Vec<String> = capture
        .events()
        .iter()
        .filter_map(|e| {
            e.field("detail")
                .map(|d| format!("{}: {d}", e.field("reason").unwrap_or_default()))
        })
        .collect();
    assert_eq!(reasons, ["schema: name longer than 16 bytes"], "{fx}");
    if backend.is_stateful() {
        assert_eq!(
            fx.get("/api/me", Some(&cookie)).await.status,
            401,
            "{fx}: the session ended"
        );
    }
}

/// `Option<SignedIn>`: the handler runs signed out (`None`, no cookie made) and signed in.
pub async fn optional_signed_in_lets_everyone_in<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let response = fx.get("/maybe-me", None).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "anonymous"),
        "{fx}"
    );
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");

    let cookie = fx.login("alice").await;
    let response = fx.get("/maybe-me", Some(&cookie)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "alice"),
        "{fx}"
    );

    let anonymous = fx.post("/write", None).await.only_cookie(&fx).pair();
    let response = fx.get("/maybe-me", Some(&anonymous)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "anonymous"),
        "{fx}: a session without a user is not signed in"
    );
}

/// `Option<SessionData<T>>`: no session and data that fails its check are both `None` with a
/// 200; the invalid session still ends (removal cookie).
pub async fn optional_session_data_is_none_for_missing_or_invalid_data<D: Driver>(
    backend: Backend,
) {
    let fx = fixture::<D>(backend).await;
    let response = fx.get("/maybe-profile", None).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "none"),
        "{fx}"
    );
    assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");

    let cookie = fx.login("alice").await;
    let response = fx.get("/maybe-profile", Some(&cookie)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "alice"),
        "{fx}"
    );

    let cookie = fx.login("a-name-longer-than-sixteen").await;
    let response = fx.get("/maybe-profile", Some(&cookie)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "none"),
        "{fx}"
    );
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");
}

/// The guard: signed-out page requests are redirected to /login, API requests get 401.
pub async fn guard_redirects_pages_and_401s_apis<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let response = fx.get("/dashboard", None).await;
    assert_eq!(response.status, 303, "{fx}: {response:?}");
    assert_eq!(response.header("location"), Some("/login"), "{fx}");
    assert_eq!(fx.get("/api/me", None).await.status, 401, "{fx}");
    let response = fx
        .send(TestRequest::get("/dashboard").header("accept", "application/json"))
        .await;
    assert_eq!(response.status, 401, "{fx}: Accept: application/json");

    let anonymous = fx.post("/write", None).await.only_cookie(&fx).pair();
    let response = fx.get("/dashboard", Some(&anonymous)).await;
    assert_eq!(response.status, 303, "{fx}: a session without a user");

    let alice = fx.login("alice").await;
    for path in ["/dashboard", "/api/me"] {
        let response = fx.get(path, Some(&alice)).await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "alice"),
            "{fx}: {path}"
        );
    }
}

/// The store loads one signed-in request's decode makes: the record (stateful), or the
/// revocation store's entries for the token and for its user (stateless).
fn loads_per_decode(backend: Backend) -> u64 {
    if backend.is_stateful() {
        1
    } else {
        2
    }
}

/// Three extractors in one handler share one decode: exactly one decode's store loads (stateful:
/// the record; stateless: the token's and the user's revocation entries).
pub async fn decoded_once_per_request<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let alice = fx.login("alice").await;
    fx.calls.reset();
    let response = fx.get("/twice", Some(&alice)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "alice"),
        "{fx}"
    );
    assert_eq!(
        fx.calls.get(StoreOp::Load),
        loads_per_decode(backend),
        "{fx}: store loads"
    );
}

/// Lazy loading: a request whose handler takes no session extractor decodes nothing and calls no
/// store, whatever cookie it carries, and still answers while the store is down.
pub async fn a_handler_that_never_asks_for_the_session_costs_nothing<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let alice = fx.login("alice").await;
    let invalid = format!("session={}", tamper(alice.trim_start_matches("session=")));
    fx.calls.reset();
    for (case, cookie) in [("signed in", alice.as_str()), ("invalid", invalid.as_str())] {
        let response = fx.get("/", Some(cookie)).await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "ok"),
            "{fx}: {case}"
        );
        assert!(
            response.set_cookies().is_empty(),
            "{fx}: {case}: nothing decoded, so nothing to clear: {response:?}"
        );
    }
    fx.faults.fail_all();
    let response = fx.get("/", Some(&alice)).await;
    assert_eq!(response.status, 200, "{fx}: store down: {response:?}");
    fx.faults.heal();
    assert_eq!(
        fx.calls.get(StoreOp::Load),
        0,
        "{fx}: store (or revocation) loads"
    );
    assert_eq!(fx.calls.writes(), 0, "{fx}: store writes");

    // The same cookie on a route that asks: loaded once.
    assert_eq!(fx.get("/api/me", Some(&alice)).await.body, "alice", "{fx}");
    assert_eq!(
        fx.calls.get(StoreOp::Load),
        loads_per_decode(backend),
        "{fx}: one decode when asked"
    );
}

/// Sessions record the client's IP and User-Agent, shown in the user's session list.
pub async fn metadata_records_ip_and_user_agent<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let login = |agent: &str, ip: [u8; 4]| {
        let request = TestRequest::post("/login/alice")
            .header("user-agent", agent)
            .peer((ip, 40000));
        fx.send(request)
    };
    let laptop = login("suite-laptop/1.0", [203, 0, 113, 7]).await;
    let laptop = laptop.only_cookie(&fx).pair();
    let phone = login("suite-phone/2.0", [198, 51, 100, 9]).await;
    assert_eq!(phone.status, 200, "{fx}: {phone:?}");

    let response = fx.get("/sessions", Some(&laptop)).await;
    assert_eq!(response.status, 200, "{fx}: {response:?}");
    let sessions: serde_json::Value =
        serde_json::from_str(&response.body).expect("/sessions answers JSON");
    let mut sessions = sessions.as_array().expect("a JSON array").clone();
    sessions.sort_by_key(|s| s["user_agent"].as_str().map(str::to_owned));
    assert_eq!(
        sessions,
        [
            serde_json::json!({"ip": "203.0.113.7", "user_agent": "suite-laptop/1.0", "current": true}),
            serde_json::json!({"ip": "198.51.100.9", "user_agent": "suite-phone/2.0", "current": false}),
        ],
        "{fx}"
    );
}

/// `value` with its first character changed.
fn tamper(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// `value` with one character in the middle of its last segment (the signature, the tag)
/// changed: every other part is intact.
fn tamper_signature(value: &str) -> String {
    let start = value.rfind('.').map_or(0, |dot| dot + 1);
    let at = start + (value.len() - start) / 2;
    let mut bytes = value.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("base64url stays ASCII")
}

/// A stateless session cookie made by `codec` on the fixture's clock.
async fn cookie_from<A: TestApp>(fx: &Fixture<A>, codec: JwtCodec) -> String {
    let manager = SessionManager::stateless(codec)
        .clock(fx.clock.clone())
        .build();
    let session = manager
        .load(None, RequestContext::default())
        .await
        .expect("no cookie, no store call");
    session.insert("n", 1).expect("a number serialises");
    let update = manager.commit(&session).await.expect("no store");
    SetCookie::parse(update.header_value().expect("a new session sets a cookie")).value
}

/// A session token signed with HS512 (the suite's codec is HS256) under the suite's secret.
async fn hs512_cookie<A: TestApp>(fx: &Fixture<A>) -> String {
    use session_core::codec::{JwtAlgorithm, JwtKey};
    let secret = Secret::from_bytes(vec![0x42; 64]).expect("64 bytes");
    let key = JwtKey::hmac(JwtAlgorithm::HS512, &secret).expect("an HS512 key");
    let codec = JwtCodec::builder(JwtAlgorithm::HS512)
        .key(key)
        .build()
        .expect("an HS512 codec");
    cookie_from(fx, codec).await
}

/// A session token signed with the suite's own key, under a `kid` the ring does not hold.
async fn foreign_kid_cookie<A: TestApp>(fx: &Fixture<A>) -> String {
    use session_core::codec::{JwtAlgorithm, JwtKey};
    let key = JwtKey::hmac(JwtAlgorithm::HS256, &super::secret())
        .expect("an HS256 key")
        .with_kid("not-in-the-ring")
        .expect("a valid kid");
    let codec = JwtCodec::builder(JwtAlgorithm::HS256)
        .key(key)
        .build()
        .expect("an HS256 codec");
    cookie_from(fx, codec).await
}

/// A valid cookie value of the same mode, made with another secret.
async fn foreign_cookie<A: TestApp>(fx: &Fixture<A>) -> String {
    let secret = Secret::from_bytes(vec![0x24; 32]).expect("32 bytes");
    let builder = match fx.backend {
        Backend::Stateless => SessionManager::stateless(JwtCodec::hs256(&secret).expect("key")),
        Backend::StatelessJwe => {
            SessionManager::stateless(JweCodec::a256gcm(&secret).expect("key"))
        }
        _ => SessionManager::stateful(&secret, MemoryStore::new()),
    };
    let manager = builder.clock(fx.clock.clone()).build();
    let session = manager
        .load(None, RequestContext::default())
        .await
        .expect("no cookie, no store call");
    session.insert("n", 1).expect("a number serialises");
    let update = manager
        .commit(&session)
        .await
        .expect("a memory store works");
    SetCookie::parse(update.header_value().expect("a new session sets a cookie")).value
}
