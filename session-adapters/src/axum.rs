//! The Axum 0.8 binding: [`SessionLayer`] loads the session before the handler and commits it
//! after. The extractors are the crate's [`Session`], [`SessionData`] and [`SignedIn`], also as
//! `Option<SignedIn>` and `Option<SessionData<T>>`.
//!
//! ```
//! use axum::{routing::get, Router};
//! use session_adapters::axum::SessionLayer;
//! use session_adapters::{Error, MemoryStore, Secret, Session, SessionManager};
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
//! A failing store answers
//! [`SessionError::status_code`](session_core::SessionError::status_code) (503 while the store is
//! down, 409 for a concurrent update) with no `Set-Cookie`, so an outage never logs anyone out.
//!
//! The client IP comes from [`ConnectInfo<SocketAddr>`](ConnectInfo), which Axum only provides
//! when the app is served with
//! [`into_make_service_with_connect_info::<SocketAddr>()`](axum::Router::into_make_service_with_connect_info);
//! without it sessions simply record no IP.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use serde::de::DeserializeOwned;
use session_core::{RequestContext, SessionManager, Validate};

use crate::answer::Answer;
use crate::extract::{RequestView, SessionRejection};
use crate::{Error, Session, SessionData, SignedIn};
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
                Err(error) => return Ok(respond(Answer::session_error(&error))),
            };
            request.extensions_mut().insert(session.clone());
            let response = inner.call(request).await?.into_response();
            let status = response.status().as_u16();
            Ok(match manager.commit_for_status(&session, status).await {
                Ok(update) => with_set_cookie(response, update.header_value()),
                Err(error) => respond(Answer::session_error(&error)),
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

/// The Axum response for an [`Answer`].
fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (answer.location, answer.message) {
        (Some(location), _) => match HeaderValue::try_from(location) {
            Ok(location) => (status, [(LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        (None, Some(message)) => (status, message).into_response(),
        (None, None) => (status, status.canonical_reason().unwrap_or("")).into_response(),
    }
}

/// The request as the shared extractors see it: the session the layer loaded, the path as the
/// client sent it (before any `Router::nest` stripped a prefix) and the `Accept` header.
fn view(parts: &Parts) -> RequestView<'_> {
    let path = match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path(),
        None => parts.uri.path(),
    };
    RequestView {
        loaded: parts
            .extensions
            .get::<session_core::Session>()
            .cloned()
            .ok_or(SessionRejection::MissingMiddleware),
        path,
        accept: header_str(&parts.headers, ACCEPT),
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        respond(Answer::from(&self))
    }
}

/// A handler's [`Error`] (from `?` on a session call): 503, 409 or 500, logged once.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        respond(Answer::from(&self))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        view(parts).session()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        view(parts).signed_in()
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedIn {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        view(parts).optional_signed_in()
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequestParts<S> for SessionData<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        view(parts).data()
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Validate> OptionalFromRequestParts<S>
    for SessionData<T>
{
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        view(parts).optional_data()
    }
}
