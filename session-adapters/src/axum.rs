//! The Axum 0.8 binding: [`SessionLayer`] loads the session before the handler and commits it
//! after; the extractors [`Session`], [`SessionData`] and [`RequireSession`] hand it to handlers.
//!
//! ```
//! use axum::{routing::get, Router};
//! use session_adapters::axum::{Session, SessionLayer};
//! use session_adapters::{Error, MemoryStore, Secret, SessionManager};
//!
//! async fn counter(session: Session) -> Result<String, Error> {
//!     let n: u64 = session.get("visits")?.unwrap_or(0);
//!     session.insert("visits", n + 1)?;
//!     Ok((n + 1).to_string())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = Secret::from_bytes(vec![7u8; 32])?; // use Secret::from_default_env() for real
//! let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
//! let app: Router = Router::new()
//!     .route("/", get(counter))
//!     .layer(SessionLayer::new(manager));
//! // axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
//! # Ok(()) }
//! ```
//!
//! The layer holds no session logic. Per request it:
//! 1. passes the `Cookie` header, the client IP and the `User-Agent` to
//!    [`SessionManager::load_from_header`] (one decode, shared by every extractor);
//! 2. runs the handler;
//! 3. calls [`SessionManager::commit_for_status`] (a 5xx commits nothing) and appends its
//!    `Set-Cookie`, if any.
//!
//! A failing store answers [`SessionError::status_code`] (503 while the store is down, 409 for a
//! concurrent update) with no `Set-Cookie`, so an outage never logs anyone out.
//!
//! The client IP comes from [`ConnectInfo<SocketAddr>`](ConnectInfo), which Axum only provides
//! when the app is served with
//! [`into_make_service_with_connect_info::<SocketAddr>()`](axum::Router::into_make_service_with_connect_info);
//! without it sessions simply record no IP.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use serde::de::DeserializeOwned;
use session_core::Validate;
use session_core::{Denial, RequestContext, SessionError, SessionManager, SignedIn};
use tower_layer::Layer;
use tower_service::Service;

/// A [`tower_layer::Layer`] that gives every request a session. Apply it with
/// [`Router::layer`](axum::Router::layer).
#[derive(Debug, Clone)]
pub struct SessionLayer {
    manager: SessionManager,
}

impl SessionLayer {
    /// A layer loading and committing sessions with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        SessionLayer { manager }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            manager: self.manager.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around the app's routes.
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    manager: SessionManager,
}

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready handles this request; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let manager = self.manager.clone();
        Box::pin(async move {
            if request
                .extensions()
                .get::<session_core::Session>()
                .is_some()
            {
                // An outer SessionLayer loaded the session and will commit it: one load and one
                // commit per request, however often the layer is attached.
                return Ok(inner.call(request).await?.into_response());
            }
            let cookie = cookie_header(request.headers());
            let ip = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip().to_string());
            let user_agent = header_str(request.headers(), USER_AGENT);
            let ctx = RequestContext::new(ip, user_agent);
            let session = match manager.load_from_header(cookie.as_deref(), ctx).await {
                Ok(session) => session,
                Err(error) => return Ok(error_response(&error)),
            };
            request.extensions_mut().insert(session.clone());
            let response = inner.call(request).await?.into_response();
            let status = response.status().as_u16();
            Ok(match manager.commit_for_status(&session, status).await {
                Ok(update) => with_set_cookie(response, update.header_value()),
                Err(error) => error_response(&error),
            })
        })
    }
}

/// `response` with the commit's `Set-Cookie` appended, if there is one.
fn with_set_cookie(mut response: Response, set_cookie: Option<&str>) -> Response {
    let Some(set_cookie) = set_cookie else {
        return response;
    };
    match HeaderValue::try_from(set_cookie) {
        Ok(value) => {
            response.headers_mut().append(SET_COOKIE, value);
            response
        }
        // Core builds cookies of visible ASCII only; should that ever break, fail loudly rather
        // than silently drop the cookie.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The `Cookie` header, with repeated headers (as HTTP/2 sends them) joined by `; `.
fn cookie_header(headers: &HeaderMap) -> Option<String> {
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let first = values.next()?.to_owned();
    Some(values.fold(first, |joined, v| joined + "; " + v))
}

fn header_str(headers: &HeaderMap, name: http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The response for a failed load or commit: the status core chooses and its reason phrase.
fn error_response(error: &SessionError) -> Response {
    tracing::warn!(%error, status = error.status_code(), "session load or commit failed");
    status_response(error.status_code())
}

/// A plain-text response with `status` and its reason phrase.
fn status_response(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("session error");
    (status, reason).into_response()
}

/// The guard's answer to a request that needs a session: 303 to the login page, or 401.
fn denial_response(denial: Denial) -> Response {
    let status =
        StatusCode::from_u16(denial.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match denial.location().map(HeaderValue::try_from) {
        Some(Ok(location)) => (status, [(LOCATION, location)]).into_response(),
        Some(Err(_)) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        None => status.into_response(),
    }
}

/// Why a session extractor refused a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The route is not behind [`SessionLayer`] (a setup error): 500.
    MissingLayer,
    /// There is no session, or no signed-in user, or the data does not fit: the guard's answer
    /// (303 to the login page for pages, 401 for APIs).
    Denied(Denial),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            SessionRejection::MissingLayer => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "session extractors need SessionLayer: add \
                 `.layer(SessionLayer::new(manager))` to the router",
            )
                .into_response(),
            SessionRejection::Denied(denial) => denial_response(denial),
        }
    }
}

/// A handler's [`Error`](crate::Error) (from `?` on a session call): 503, 409 or 500, logged once.
impl IntoResponse for crate::Error {
    fn into_response(self) -> Response {
        status_response(self.report())
    }
}

/// The request's path as the client sent it (before any `Router::nest` stripped a prefix) and
/// its `Accept` header: what the guard decides on.
fn path_and_accept(parts: &Parts) -> (&str, Option<&str>) {
    let path = match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path(),
        None => parts.uri.path(),
    };
    (path, header_str(&parts.headers, ACCEPT))
}

/// The request's session: read it and write to it; the layer commits the changes.
///
/// Dereferences to [`session_core::Session`]. Every `Session` extractor of one request is the
/// same session, decoded once by the layer.
#[derive(Debug, Clone)]
pub struct Session(pub session_core::Session);

impl Deref for Session {
    type Target = session_core::Session;

    fn deref(&self) -> &session_core::Session {
        &self.0
    }
}

impl Session {
    fn from_parts(parts: &Parts) -> Result<Self, SessionRejection> {
        parts
            .extensions
            .get::<session_core::Session>()
            .cloned()
            .map(Session)
            .ok_or(SessionRejection::MissingLayer)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Session::from_parts(parts)
    }
}

/// The whole session data as `T` (C15). No session, or data that does not fit `T`, is denied the
/// guard's way; data that does not fit also ends the session, as an invalid cookie would (C2).
///
/// ```
/// # use session_adapters::axum::SessionData;
/// #[derive(serde::Deserialize)]
/// struct Profile {
///     name: String,
/// }
///
/// // Checked after deserialising; data that fails is "no session" (reason `schema`).
/// impl session_adapters::Validate for Profile {
///     fn validate(&self) -> Result<(), &'static str> {
///         if self.name.is_empty() { Err("empty name") } else { Ok(()) }
///     }
/// }
///
/// async fn profile(SessionData(profile): SessionData<Profile>) -> String {
///     profile.name
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SessionData<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequestParts<S> for SessionData<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_parts(parts)?;
        let (path, accept) = path_and_accept(parts);
        session
            .typed_or_deny(path, accept)
            .map(SessionData)
            .map_err(SessionRejection::Denied)
    }
}

/// A guard for routes that need a signed-in user: without one, page requests are redirected to
/// the login page (303) and API requests get 401, as the manager's
/// [`AccessGuard`](session_core::AccessGuard) decides.
///
/// ```
/// # use session_adapters::axum::RequireSession;
/// async fn dashboard(auth: RequireSession) -> String {
///     format!("hello {}", auth.user_id())
/// }
/// ```
///
/// It only comes from a signed-in request; code cannot make one up:
///
/// ```compile_fail
/// # use session_adapters::{axum::RequireSession, core::SignedIn};
/// fn forge(signed_in: SignedIn) -> RequireSession {
///     RequireSession(signed_in)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RequireSession(SignedIn);

impl Deref for RequireSession {
    type Target = SignedIn;

    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequireSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_parts(parts)?;
        let (path, accept) = path_and_accept(parts);
        session
            .require_user(path, accept)
            .map(RequireSession)
            .map_err(SessionRejection::Denied)
    }
}
