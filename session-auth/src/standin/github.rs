//! The stand-in GitHub, quirks included: token errors are `200 OK`, token responses are
//! form-encoded unless JSON is asked for, and the API refuses requests without a `User-Agent`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use session_core::UnixTime;
use url::form_urlencoded;

use super::config::GitHubUser;
use super::flow::{self, AuthorizeQuery, AuthorizeRules, Refused, TokenRequest, Unauthorized};
use super::state::{Grant, Inner, Shared, TokenShape};
use super::wire::{self, basic_auth, json, no_store};

const AUTHORIZE: AuthorizeRules = AuthorizeRules {
    pkce_required: false,
    response_type_required: false,
    code_len: 20,
};

/// An OAuth app's token: no expiry, no refresh token.
const OAUTH_APP_TOKEN: TokenShape = TokenShape {
    prefix: "gho_",
    len: 36,
    lifetime: None,
};
const APP_TOKEN_LIFETIME: Duration = Duration::from_secs(28_800);
const APP_REFRESH_LIFETIME: Duration = Duration::from_secs(15_897_600);
/// A GitHub App's user token: 8 hours.
const APP_TOKEN: TokenShape = TokenShape {
    prefix: "ghu_",
    len: 36,
    lifetime: Some(APP_TOKEN_LIFETIME),
};
/// A GitHub App's refresh token: about six months, single use.
const APP_REFRESH: TokenShape = TokenShape {
    prefix: "ghr_",
    len: 76,
    lifetime: Some(APP_REFRESH_LIFETIME),
};

const DOCS: &str = "https://docs.github.com/rest";
const NO_USER_AGENT: &str = "Request forbidden by administrative rules. \
                             Please make sure your request has a User-Agent header";

/// The routes under `/github`.
pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    let api = Router::new()
        .route("/api/user", get(user))
        .route("/api/user/emails", get(emails))
        .route("/api/applications/{client_id}/token", delete(revoke))
        .route_layer(from_fn(require_user_agent));
    Router::new()
        .route("/login/oauth/access_token", post(token))
        .merge(api)
        .route_layer(from_fn_with_state(shared.clone(), wire::faults))
        // Added after the fault layer, which only wraps the routes above it: the authorize
        // step keeps working whatever the fault.
        .route("/login/oauth/authorize", get(authorize))
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let now = shared.now();
    flow::authorize(&mut shared.lock().github, query, AUTHORIZE, now)
}

async fn token(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = TokenRequest {
        headers: &headers,
        query: uri.query(),
        body: &body,
    };
    let now = shared.now();
    let mut inner = shared.lock();
    let answer = match flow::exchange(&mut inner.github, &request, false, now) {
        Ok(grant) => tokens(&mut inner, &grant, now),
        Err(refused) => token_error(refused),
    };
    reply(wants_json(&headers), &answer)
}

/// The token response for a new or refreshed grant.
fn tokens(inner: &mut Inner, grant: &Grant<GitHubUser>, now: UnixTime) -> Value {
    if inner.github_app_tokens {
        let issued = inner.github.issue(grant, APP_TOKEN, Some(APP_REFRESH), now);
        // GitHub Apps have permissions, not scopes: the scope is always empty.
        json!({
            "access_token": issued.access,
            "token_type": "bearer",
            "scope": "",
            "expires_in": APP_TOKEN_LIFETIME.as_secs(),
            "refresh_token": issued.refresh,
            "refresh_token_expires_in": APP_REFRESH_LIFETIME.as_secs(),
        })
    } else {
        let issued = inner.github.issue(grant, OAUTH_APP_TOKEN, None, now);
        json!({
            "access_token": issued.access,
            "token_type": "bearer",
            "scope": grant.scope.split([' ', ',']).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(","),
        })
    }
}

/// GitHub's words for a refused token request (always sent with `200 OK`).
fn token_error(refused: Refused) -> Value {
    let (error, description) = match refused {
        Refused::Malformed => ("invalid_request", "The request is malformed."),
        Refused::Client => (
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        ),
        Refused::UnsupportedGrant => ("unsupported_grant_type", "The grant type is not supported."),
        Refused::Code => ("bad_verification_code", "The code passed is incorrect or expired."),
        Refused::RedirectMismatch => (
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        ),
        Refused::Verifier => (
            "invalid_grant",
            "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
        ),
        Refused::RefreshToken => ("bad_refresh_token", "The refresh token passed is incorrect or expired."),
    };
    json!({
        "error": error,
        "error_description": description,
        "error_uri": format!(
            "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{}",
            error.replace('_', "-")
        ),
    })
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("application/json"))
}

/// `200 OK` with `answer` as JSON if the client asked for it, else form-encoded, as GitHub does.
fn reply(json_wanted: bool, answer: &Value) -> Response {
    let response = if json_wanted {
        json(StatusCode::OK, answer)
    } else {
        let content_type = [(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        (StatusCode::OK, content_type, form_encode(answer)).into_response()
    };
    no_store(response)
}

fn form_encode(answer: &Value) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in answer.as_object().into_iter().flatten() {
        match value {
            Value::Null => {}
            Value::String(text) => {
                form.append_pair(name, text);
            }
            other => {
                form.append_pair(name, &other.to_string());
            }
        }
    }
    form.finish()
}

/// The API's answer to a request without a `User-Agent`.
async fn require_user_agent(request: Request, next: Next) -> Response {
    let has_agent = request
        .headers()
        .get(USER_AGENT)
        .is_some_and(|agent| !agent.is_empty());
    if has_agent {
        next.run(request).await
    } else {
        json(StatusCode::FORBIDDEN, json!({ "message": NO_USER_AGENT }))
    }
}

/// A REST API error: `{"message", "documentation_url"}`.
fn api_error(status: StatusCode, message: &str) -> Response {
    json(
        status,
        json!({ "message": message, "documentation_url": DOCS }),
    )
}

/// Answers with `render(user)` for the user behind the request's token.
fn with_user(
    shared: &Shared,
    headers: &HeaderMap,
    render: impl FnOnce(&GitHubUser) -> Value,
) -> Response {
    let now = shared.now();
    let user = flow::bearer_user(
        &mut shared.lock().github,
        headers,
        &["Bearer", "token"],
        now,
    );
    match user {
        Ok(user) => json(StatusCode::OK, render(&user)),
        Err(Unauthorized::Missing) => {
            api_error(StatusCode::UNAUTHORIZED, "Requires authentication")
        }
        Err(Unauthorized::Invalid) => api_error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}

async fn user(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    with_user(&shared, &headers, |user| {
        json!({
            "login": user.login,
            "id": user.id,
            "avatar_url": user.avatar_url,
            "html_url": format!("https://github.com/{}", user.login),
            "type": "User",
            "name": user.name,
            "email": user.email,
        })
    })
}

async fn emails(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    with_user(&shared, &headers, |user| json!(user.emails))
}

#[derive(Deserialize)]
struct RevokeBody {
    access_token: String,
}

/// `DELETE /applications/{client_id}/token`: the app revokes one of its tokens.
async fn revoke(
    State(shared): State<Arc<Shared>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = shared.lock();
    let github = &mut inner.github;
    github.stats.revocations += 1;
    let authenticated = basic_auth(&headers).is_some_and(|(id, secret)| {
        id == client_id && github.authenticates(Some(&id), Some(&secret))
    });
    let answer = if !authenticated {
        api_error(StatusCode::UNAUTHORIZED, "Bad credentials")
    } else {
        match serde_json::from_slice::<RevokeBody>(&body) {
            Err(_) => api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request: access_token is required.",
            ),
            Ok(body) if github.revoke(&body.access_token) => StatusCode::NO_CONTENT.into_response(),
            Ok(_) => api_error(StatusCode::NOT_FOUND, "Not Found"),
        }
    };
    if answer.status() != StatusCode::NO_CONTENT {
        github.stats.rejected += 1;
    }
    answer
}
