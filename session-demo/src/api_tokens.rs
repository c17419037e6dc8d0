//! The API-token page (create with the secret shown once and its `curl` line, list, revoke)
//! and `GET /api/me`, which answers for a session or a bearer token alike.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use session_adapters::auth::api_tokens::{ApiTokenInfo, NewApiToken};
use session_adapters::{Auth, AuthVia, SignedIn};
use session_core::UnixTime;

use crate::pages::{escape, page, utc};
use crate::App;

/// `GET /api/me`: who is asking, and how.
pub(crate) async fn me(auth: Auth) -> Json<serde_json::Value> {
    let body = match auth.via() {
        AuthVia::Bearer(token) => serde_json::json!({
            "user": auth.user_id().as_str(),
            "via": "bearer",
            "token": token.name,
            "scopes": token.scopes,
        }),
        _ => serde_json::json!({"user": auth.user_id().as_str(), "via": "session"}),
    };
    Json(body)
}

/// `GET /tokens`.
pub(crate) async fn list(State(app): State<App>, user: SignedIn) -> Response {
    render(&app, &user, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct NewToken {
    name: String,
    #[serde(default)]
    scopes: String,
    /// Days until it expires; empty for never.
    #[serde(default)]
    days: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /tokens`: creates a token and shows it, once.
pub(crate) async fn create(
    State(app): State<App>,
    user: SignedIn,
    Form(form): Form<NewToken>,
) -> Response {
    if let Err(e) = user.verify_csrf_token(&form.csrf) {
        return session_adapters::Error::from(e).into_response();
    }
    let mut request = NewApiToken::named(form.name).scopes(form.scopes.split_whitespace());
    match form.days.trim() {
        "" => {}
        days => match days.parse::<u64>() {
            Ok(days) => request = request.expires_in(std::time::Duration::from_secs(days * 86_400)),
            Err(_) => return render(&app, &user, None, Some("Days must be a whole number.")).await,
        },
    }
    match app.api_tokens.create(user.user_id(), request).await {
        Ok(created) => {
            let shown = Shown {
                secret: created.secret.expose().to_owned(),
                name: created.token.name,
            };
            render(&app, &user, Some(shown), None).await
        }
        Err(error) => render(&app, &user, None, Some(&error.to_string())).await,
    }
}

/// `POST /tokens/{id}/revoke`.
pub(crate) async fn revoke(
    State(app): State<App>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<crate::CsrfField>,
) -> Response {
    if let Err(e) = user.verify_csrf_token(&form.csrf) {
        return session_adapters::Error::from(e).into_response();
    }
    match app.api_tokens.revoke(user.user_id(), &id).await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(error) => render(&app, &user, None, Some(&error.to_string())).await,
    }
}

/// A token just created, to show once.
struct Shown {
    secret: String,
    name: String,
}

async fn render(app: &App, user: &SignedIn, shown: Option<Shown>, error: Option<&str>) -> Response {
    let tokens = match app.api_tokens.list(user.user_id()).await {
        Ok(tokens) => tokens,
        Err(e) => {
            return (
                StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.to_string(),
            )
                .into_response()
        }
    };
    let now = UnixTime::now();
    let token = match user.csrf_token() {
        Ok(token) => token,
        Err(e) => return session_adapters::Error::from(e).into_response(),
    };
    let html = crate::pages::with_csrf(
        tokens_page(&app.base_url, &tokens, now, shown.as_ref(), error),
        &token,
    );
    // The page may carry a token: no cache keeps it.
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn tokens_page(
    base_url: &str,
    tokens: &[ApiTokenInfo],
    now: UnixTime,
    shown: Option<&Shown>,
    error: Option<&str>,
) -> String {
    let mut body =
        String::from("<h1>API tokens</h1><p><a href=\"/\">Back to the dashboard</a></p>");
    if let Some(error) = error {
        let _ = write!(
            body,
            "<p class=\"error\" id=\"token-error\">{}</p>",
            escape(error)
        );
    }
    if let Some(shown) = shown {
        let curl = format!(
            "curl -H \"Authorization: Bearer {}\" {}/api/me",
            shown.secret, base_url
        );
        let _ = write!(
            body,
            "<div id=\"new-token\"><p class=\"ok\">Token <strong>{name}</strong> created. Copy it now: it is \
             not stored and will not be shown again.</p><p><code id=\"token-secret\">{secret}</code></p>\
             <p>Try it:</p><pre id=\"token-curl\">{curl}</pre></div>",
            name = escape(&shown.name),
            secret = escape(&shown.secret),
            curl = escape(&curl),
        );
    }
    body.push_str(
        "<h2>New token</h2><form method=\"post\" action=\"/tokens\">\
         <label>Name<br><input name=\"name\" id=\"token-name\" required maxlength=\"100\"></label><br>\
         <label>Scopes (space-separated)<br><input name=\"scopes\" id=\"token-scopes\" placeholder=\"read deploy\"></label><br>\
         <label>Expires after (days, empty for never)<br><input name=\"days\" id=\"token-days\" inputmode=\"numeric\"></label><br>\
         <button type=\"submit\" id=\"token-create\">Create token</button></form>",
    );
    let _ = write!(body, "<h2>Your tokens ({})</h2>", tokens.len());
    if tokens.is_empty() {
        body.push_str("<p class=\"muted\">No tokens yet.</p>");
    } else {
        body.push_str("<table id=\"tokens\"><tr><th>name</th><th>token</th><th>scopes</th><th>created</th><th>last used</th><th>expires</th><th>status</th><th></th></tr>");
        for t in tokens {
            let status = if t.revoked_at.is_some() {
                "revoked"
            } else if t.is_active(now) {
                "active"
            } else {
                "expired"
            };
            let action = if status == "active" {
                format!(
                    "<form method=\"post\" action=\"/tokens/{id}/revoke\"><button class=\"revoke\" data-token=\"{name}\">Revoke</button></form>",
                    id = escape(&t.id),
                    name = escape(&t.name)
                )
            } else {
                String::new()
            };
            let _ = write!(
                body,
                "<tr data-token=\"{name}\"><td>{name}</td><td><code>{prefix}…</code></td><td>{scopes}</td><td>{created}</td>\
                 <td>{used}</td><td>{expires}</td><td class=\"token-state\">{status}</td><td>{action}</td></tr>",
                name = escape(&t.name),
                prefix = escape(&t.display_prefix),
                scopes = escape(&t.scopes.join(" ")),
                created = utc(t.created_at),
                used = t.last_used_at.map_or_else(|| "never".to_owned(), utc),
                expires = t.expires_at.map_or_else(|| "never".to_owned(), utc),
            );
        }
        body.push_str("</table>");
    }
    body.push_str(
        "<p class=\"muted\">Tokens are stored as a keyed hash and the first characters only. A request \
         with <code>Authorization: Bearer</code> is checked by its token alone: a bad token is a 401, \
         never a fall-back to the browser's session.</p>",
    );
    page("API tokens", &body)
}
