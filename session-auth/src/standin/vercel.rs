//! The stand-in Vercel ("Sign in with Vercel"): a strict OAuth 2.0 / OpenID Connect server.
//! PKCE is required, errors are proper 4xx JSON, and refresh tokens rotate.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use session_core::UnixTime;

use super::config::VercelUser;
use super::flow::{self, AuthorizeQuery, AuthorizeRules, Refused, TokenRequest};
use super::state::{Grant, Inner, Shared, TokenShape};
use super::wire::{self, json, no_store, Params};

const AUTHORIZE: AuthorizeRules = AuthorizeRules {
    pkce_required: true,
    response_type_required: true,
    code_len: 32,
};

/// The scope granted when the authorize request named none.
const DEFAULT_SCOPE: &str = "openid email profile offline_access";

const REFRESH_TOKEN: TokenShape = TokenShape {
    prefix: "",
    len: 48,
    lifetime: None,
};

/// The routes under `/vercel`.
pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/login/oauth/token", post(token))
        .route("/api/login/oauth/userinfo", get(userinfo).post(userinfo))
        .route("/api/login/oauth/token/revoke", post(revoke))
        .route_layer(from_fn_with_state(shared.clone(), wire::faults))
        // Added after the fault layer, which only wraps the routes above it: the authorize
        // step keeps working whatever the fault.
        .route("/oauth/authorize", get(authorize))
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let now = shared.now();
    flow::authorize(&mut shared.lock().vercel, query, AUTHORIZE, now)
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    // Strict: parameters come in the body only.
    let request = TokenRequest {
        headers: &headers,
        query: None,
        body: &body,
    };
    let now = shared.now();
    let mut inner = shared.lock();
    match flow::exchange(&mut inner.vercel, &request, true, now) {
        Ok(grant) => no_store(json(StatusCode::OK, tokens(&mut inner, &grant, now))),
        Err(refused) => token_error(refused),
    }
}

/// The token response: a new access token and a new (rotated) refresh token.
fn tokens(inner: &mut Inner, grant: &Grant<VercelUser>, now: UnixTime) -> Value {
    let lifetime = inner.vercel_access_lifetime;
    let access = TokenShape {
        prefix: "",
        len: 40,
        lifetime: Some(lifetime),
    };
    let issued = inner.vercel.issue(grant, access, Some(REFRESH_TOKEN), now);
    let scope = if grant.scope.is_empty() {
        DEFAULT_SCOPE
    } else {
        &grant.scope
    };
    let mut answer = json!({
        "access_token": issued.access,
        "token_type": "Bearer",
        "refresh_token": issued.refresh,
        "scope": scope,
    });
    if !inner.omit_expires_in {
        answer["expires_in"] = lifetime.as_secs().into();
    }
    answer
}

/// An RFC 6749 §5.2 error.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    no_store(json(status, body))
}

fn token_error(refused: Refused) -> Response {
    let invalid_grant =
        |description| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    match refused {
        Refused::Malformed => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter is missing or a parameter is repeated.",
        ),
        Refused::Client => client_error(),
        Refused::UnsupportedGrant => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token.",
        ),
        Refused::Code => {
            invalid_grant("The authorization code is invalid, expired or already used.")
        }
        Refused::RedirectMismatch => {
            invalid_grant("redirect_uri does not match the authorization request.")
        }
        Refused::Verifier => invalid_grant("code_verifier does not match the code_challenge."),
        Refused::RefreshToken => {
            invalid_grant("The refresh token is invalid, expired, revoked or already used.")
        }
    }
}

fn client_error() -> Response {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed.",
    );
    let challenge = HeaderValue::from_static("Basic realm=\"vercel\"");
    response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    response
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let now = shared.now();
    match flow::bearer_user(&mut shared.lock().vercel, &headers, &["Bearer"], now) {
        Ok(user) => json(StatusCode::OK, user),
        Err(_) => {
            let challenge = [(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")];
            let body = Json(json!({ "error": "invalid_token" }));
            (StatusCode::UNAUTHORIZED, challenge, body).into_response()
        }
    }
}

/// RFC 7009 revocation: `200 {}` even for an unknown token.
async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = shared.lock();
    let vercel = &mut inner.vercel;
    vercel.stats.revocations += 1;
    let answer = match Params::parse(None, &body) {
        None => Err(Refused::Malformed),
        Some(params) => flow::authenticate(vercel, &headers, &params).and_then(|()| {
            let token = params.get("token").ok_or(Refused::Malformed)?;
            vercel.revoke(token);
            Ok(())
        }),
    };
    match answer {
        Ok(()) => json(StatusCode::OK, json!({})),
        Err(refused) => {
            vercel.stats.rejected += 1;
            token_error(refused)
        }
    }
}
