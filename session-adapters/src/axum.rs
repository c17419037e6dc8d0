//! The Axum 0.8 binding: [`SessionLayer`] gives every request its session, loaded by the first
//! extractor that asks for it, and commits it after the handler. The extractors are the
//! crate's [`Session`], [`SessionData`] and [`SignedIn`], also as `Option<SignedIn>` and
//! `Option<SessionData<T>>`, and with feature `auth` [`Auth`](crate::Auth) (bearer token or
//! session; the app's `ApiTokens` from `.layer(Extension(tokens))`).
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
//! 1. passes the `Cookie` headers, the client IP and the `User-Agent` to
//!    [`SessionManager::lazy_from_headers`], which decodes nothing yet: the first extractor loads
//!    the session (one decode and at most one store call, shared by every extractor), and a
//!    handler that takes none costs no decode and no store call;
//! 2. runs the handler;
//! 3. calls [`LazySession::commit_for_status`] (a 5xx commits nothing; a session nobody loaded
//!    is not committed) and appends its `Set-Cookie`, if any.
//!
//! A failing store answers
//! [`SessionError::status_code`](session_core::SessionError::status_code) (503 while the store is
//! down, 409 for a concurrent update) with no `Set-Cookie`, so an outage never logs anyone out:
//! the extractor that cannot load the session rejects the request, and a failing commit replaces
//! the handler's response.
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
use http::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE, USER_AGENT, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use serde::de::DeserializeOwned;
use session_core::adapter::{CsrfRequest, LazySession};
use session_core::{RequestContext, SessionManager, Validate};

use crate::answer::Answer;
use crate::extract::{RequestView, SessionRejection};
use crate::{Error, Session, SessionData, SignedIn};
use tower_layer::Layer;
use tower_service::Service;

#[cfg(feature = "auth")]
mod oauth;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use oauth::oauth_routes;

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
            if request.extensions().get::<LazySession>().is_some() {
                // An outer SessionLayer handed out the session and will commit it: one load and
                // one commit per request, however often the layer is attached.
                return Ok(inner.call(request).await?.into_response());
            }
            let ip = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip().to_string());
            let headers = request.headers();
            let ctx = RequestContext::new(ip, header_str(headers, USER_AGENT));
            let cookies = headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok());
            let session = manager.lazy_from_headers(cookies, ctx);
            let csrf = CsrfRequest::from_headers(request.method().as_str(), |name| {
                header_str(headers, http::HeaderName::from_static(name))
            });
            if session.check_csrf(&csrf).is_err() {
                // Refused before the handler: nothing runs, nothing is committed.
                return Ok(respond(Answer::status(403)));
            }
            request.extensions_mut().insert(session.clone());
            let response = inner.call(request).await?.into_response();
            let status = response.status().as_u16();
            Ok(match session.commit_for_status(status).await {
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

fn header_str(headers: &HeaderMap, name: http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The Axum response for an [`Answer`].
fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match (answer.location, answer.message) {
        (Some(location), _) => match HeaderValue::try_from(location) {
            Ok(location) => (status, [(LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        (None, Some(message)) => (status, message).into_response(),
        (None, None) => (status, status.canonical_reason().unwrap_or("")).into_response(),
    };
    if let Some(challenge) = answer.challenge {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

/// The request as the shared extractors see it: the session the layer loaded, the path as the
/// client sent it (before any `Router::nest` stripped a prefix) and the `Accept` header.
fn view(parts: &Parts) -> RequestView<'_> {
    let path = match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path(),
        None => parts.uri.path(),
    };
    RequestView {
        lazy: parts.extensions.get::<LazySession>().cloned(),
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
        view(parts).session().await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        view(parts).signed_in().await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedIn {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        view(parts).optional_signed_in().await
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequestParts<S> for SessionData<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        view(parts).data().await
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
        view(parts).optional_data().await
    }
}

/// The application's [`ApiTokens`](session_auth::api_tokens::ApiTokens), from
/// `.layer(Extension(tokens))`, and the request's `Authorization` values.
#[cfg(feature = "auth")]
fn bearer_parts(
    parts: &Parts,
) -> (
    Option<session_auth::api_tokens::ApiTokens>,
    impl Iterator<Item = &[u8]>,
) {
    let tokens = parts
        .extensions
        .get::<session_auth::api_tokens::ApiTokens>()
        .cloned();
    let values = parts
        .headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .map(HeaderValue::as_bytes);
    (tokens, values)
}

#[cfg(feature = "auth")]
impl<S: Send + Sync> FromRequestParts<S> for crate::Auth {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (tokens, values) = bearer_parts(parts);
        view(parts).auth(tokens.as_ref(), values).await
    }
}

#[cfg(feature = "auth")]
impl<S: Send + Sync> OptionalFromRequestParts<S> for crate::Auth {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let (tokens, values) = bearer_parts(parts);
        view(parts).optional_auth(tokens.as_ref(), values).await
    }
}
