//! The OAuth sign-in routes for Axum: [`oauth_routes`]. Every decision is
//! [`OAuth`]'s; the handlers only hand it the request's parts and turn its [`AuthResponse`]
//! into an Axum response in [`respond`].

use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use session_auth::{AuthResponse, OAuth};

use crate::Session;

/// The sign-in routes of `oauth`, under [`oauth.mount()`](OAuth::mount) (`/auth` by default):
///
/// - `GET {mount}/{provider}/sign-in?next=/path` (and `POST`, for sign-in buttons in forms):
///   303 to the provider, with the flow cookie;
/// - `GET {mount}/{provider}/callback`: the provider's redirect back; signs the session in and
///   answers 303 to `next`;
/// - `POST {mount}/sign-out`: ends the session, 303 to the home page (`GET` is 405: signing out
///   is never a `GET`).
///
/// Merge them into the app inside the [`SessionLayer`](super::SessionLayer), which sets the
/// session cookie as for any other route.
///
/// ```
/// use axum::Router;
/// use session_adapters::axum::{oauth_routes, SessionLayer};
/// use session_adapters::{MemoryStore, OAuth, Provider, Secret, SessionManager};
///
/// let secret = Secret::from_bytes(vec![7u8; 32])?; // use Secret::from_default_env() for real
/// let oauth = OAuth::builder(&secret, "https://app.example")?
///     .provider(Provider::github("client-id", "client-secret"))
///     .build();
/// let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
/// let app: Router = Router::new()
///     .merge(oauth_routes(oauth))
///     .layer(SessionLayer::new(manager));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn oauth_routes<S>(oauth: OAuth) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // `/` as the mount is "" here, so that no route starts with `//`.
    let mount = oauth.mount().trim_end_matches('/').to_owned();
    Router::new()
        .route(
            &format!("{mount}/{{provider}}/sign-in"),
            get(sign_in).post(sign_in),
        )
        .route(&format!("{mount}/{{provider}}/callback"), get(callback))
        .route(&format!("{mount}/sign-out"), post(sign_out))
        .with_state(oauth)
}

async fn sign_in(
    State(oauth): State<OAuth>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    respond(oauth.respond_sign_in(&provider, query.as_deref().unwrap_or("")))
}

async fn callback(
    State(oauth): State<OAuth>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let cookies = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let query = query.as_deref().unwrap_or("");
    respond(
        oauth
            .respond_callback(&provider, query, cookies, &session)
            .await,
    )
}

async fn sign_out(State(oauth): State<OAuth>, session: Session) -> Response {
    respond(oauth.sign_out(&session).await)
}

/// The Axum response for an [`AuthResponse`]: its status, `Location`, every `Set-Cookie`, and
/// its body as `text/html; charset=utf-8`.
fn respond(response: AuthResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let location = response.location.iter().map(|l| (LOCATION, l));
    let cookies = response.set_cookies.iter().map(|c| (SET_COOKIE, c));
    let mut headers = HeaderMap::new();
    for (name, value) in location.chain(cookies) {
        match HeaderValue::try_from(value.as_str()) {
            Ok(value) => headers.append::<HeaderName>(name, value),
            // Core builds visible ASCII only; should that ever break, fail loudly rather than
            // drop a cookie.
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    (status, headers, Html(response.body)).into_response()
}
