//! HTTP helpers both providers use: form parameters, client credentials, bearer tokens, PKCE,
//! redirects and pages, and the fault layer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::{form_urlencoded, Url};

use super::state::Shared;
use super::Fault;

/// Form parameters, from the query string and the body together.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// `None` if a parameter is repeated (RFC 6749 §3.1: it must not be).
    pub(crate) fn parse(query: Option<&str>, body: &[u8]) -> Option<Params> {
        let query = form_urlencoded::parse(query.unwrap_or_default().as_bytes());
        let mut params = HashMap::new();
        for (name, value) in query.chain(form_urlencoded::parse(body)) {
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return None;
            }
        }
        Some(Params(params))
    }

    /// A parameter's value; an empty one counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// The client id and secret, from HTTP Basic if sent, else from the body (client_secret_post).
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> (Option<String>, Option<String>) {
    match basic_auth(headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => {
            let param = |name| params.get(name).map(str::to_owned);
            (param("client_id"), param("client_secret"))
        }
    }
}

/// `Authorization: Basic base64(id:secret)`, each part form-decoded (RFC 6749 §2.3.1).
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = credentials(headers, &["Basic"])?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

fn form_decode(text: &str) -> String {
    // As the value of a one-pair form: `=` may stay, `&` must not split it.
    let form = format!("={}", text.replace('&', "%26"));
    form_urlencoded::parse(form.as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// What follows one of `schemes` (compared case-insensitively) in the `Authorization` header.
pub(crate) fn credentials<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    let known = schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme));
    (known && !rest.is_empty()).then_some(rest)
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well-formed (43 to 128 unreserved characters) and hashes to `challenge`.
pub(crate) fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    let well_formed = (43..=128).contains(&verifier.len()) && verifier.chars().all(unreserved);
    well_formed && s256(verifier) == challenge
}

/// Whether `challenge` looks like an S256 challenge: 43 base64url characters.
pub(crate) fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `302 Found` to `to`, with the present `pairs` appended to whatever query it already has.
pub(crate) fn redirect(to: &Url, pairs: &[(&str, Option<&str>)]) -> Response {
    let mut location = to.clone();
    {
        let mut query = location.query_pairs_mut();
        for (name, value) in pairs {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    (StatusCode::FOUND, [(LOCATION, location.as_str())]).into_response()
}

/// A small HTML page, for what a browser would see (no redirect is possible).
pub(crate) fn page(status: StatusCode, title: &str) -> Response {
    let html = format!("<!doctype html><title>{title}</title><h1>{title}</h1>");
    (status, Html(html)).into_response()
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: impl Serialize) -> Response {
    (status, Json(body)).into_response()
}

/// Marks a token response uncacheable, as RFC 6749 §5.1 asks.
pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The layer over the API endpoints that plays the fault set with `StandIn::set_fault`.
pub(crate) async fn faults(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let fault = shared.lock().fault;
    match fault {
        Fault::None => next.run(request).await,
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Fault::Down => (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response(),
        Fault::Garbage => (StatusCode::OK, Html("<html>oops</html>")).into_response(),
    }
}
