//! Fuzz target: the OAuth callback, [`OAuth::respond_callback`] (what the adapters call for
//! `GET <mount>/<provider>/callback`): the query string is parsed, the flow cookie found among
//! the `Cookie` headers, opened and checked against `state`, before any provider is called.
//!
//! Input: the query on the first line, one `Cookie` header per further line. `{state}` and
//! `{flow}` are replaced by the `state` and the flow cookie of a sign-in started just before
//! (with `next` from the input's `next=` parameter, through [`safe_next`]), so the fuzzer gets
//! past the sealed cookie too. A query with a `code` then reaches the token exchange, whose
//! endpoint is a loopback port that refuses (`127.0.0.1:9`): no request leaves the machine.
//!
//! Properties: the answer is a redirect (303) or an error page (4xx/5xx) that clears the flow
//! cookie; [`safe_next`] keeps only same-site paths.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use session_auth::{safe_next, OAuth, Provider};
use session_core::{MemoryStore, RequestContext, SessionManager};
use session_fuzz::{lines, runtime, secret, FixedClock, SECRET};

struct Setup {
    oauth: OAuth,
    sessions: SessionManager,
}

fn setup() -> Setup {
    let provider = Provider::github("fuzz-client", "fuzz-client-secret")
        .with_base_urls("http://127.0.0.1:9/github", "http://127.0.0.1:9/github/api")
        .expect("loopback URLs");
    let oauth = OAuth::builder(&secret(SECRET), "http://app.example")
        .expect("an http origin")
        .provider(provider)
        .provider_timeout(Duration::from_millis(200))
        .clock(Arc::new(FixedClock))
        .build();
    let sessions = SessionManager::stateful(&secret(SECRET), MemoryStore::new())
        .clock(FixedClock)
        .build();
    Setup { oauth, sessions }
}

/// The `state` and flow-cookie value of a new sign-in.
fn start_sign_in(oauth: &OAuth, query: &str) -> (String, String) {
    let next = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "next")
        .map(|(_, v)| v.into_owned());
    let response = oauth.respond_sign_in("github", &format!("next={}", next.unwrap_or_default()));
    assert_eq!(response.status, 303, "a sign-in starts");
    let location = url::Url::parse(response.location.as_deref().expect("a redirect"))
        .expect("an authorization URL");
    let state = location
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");
    let cookie = response.set_cookies[0]
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("a flow cookie");
    (state, cookie)
}

fuzz_target!(|bytes: &[u8]| {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    let setup = SETUP.get_or_init(setup);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut input = lines(text);
    let query = input.remove(0);
    if let Some(next) = safe_next(query) {
        assert!(next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'));
    }
    let filled: Vec<String>;
    let (query, headers): (String, Vec<&str>) =
        if text.contains("{state}") || text.contains("{flow}") {
            let (state, cookie) = start_sign_in(&setup.oauth, query);
            let fill = |s: &str| s.replace("{state}", &state).replace("{flow}", &cookie);
            filled = input.iter().map(|h| fill(h)).collect();
            (fill(query), filled.iter().map(String::as_str).collect())
        } else {
            (query.to_owned(), input)
        };
    runtime().block_on(async {
        let session = setup
            .sessions
            .load(None, RequestContext::default())
            .await
            .expect("an empty session");
        let response = setup
            .oauth
            .respond_callback("github", &query, headers.iter().copied(), &session)
            .await;
        match response.status {
            303 => assert!(response.location.is_some()),
            400..=599 => assert!(
                response.set_cookies.iter().any(|c| c.contains("Max-Age=0")),
                "an error page keeps the flow cookie"
            ),
            other => panic!("unexpected status {other}"),
        }
    });
});
