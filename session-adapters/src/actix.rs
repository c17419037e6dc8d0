//! Actix-web 4 binding: [`SessionMiddleware`] loads the session before the handler and commits it
//! after; the [`Session`], [`SessionData`] and [`RequireSession`] extractors read it.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use session_adapters::actix::{Session, SessionMiddleware};
//! use session_adapters::{Error, MemoryStore, Secret, SessionManager};
//!
//! async fn count(session: Session) -> Result<String, Error> {
//!     let n: u64 = session.get("visits")?.unwrap_or(0);
//!     session.insert("visits", n + 1)?;
//!     Ok((n + 1).to_string())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let secret = Secret::from_env("SESSION_SECRET")?;
//!     let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(SessionMiddleware::new(manager.clone()))
//!             .route("/", web::get().to(count))
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! The middleware decodes the `Cookie` header once per request, whatever the number of
//! extractors, and keeps the [`session_core::Session`] in the request extensions. It holds no
//! session logic: [`SessionManager`] decides everything.
//!
//! The client IP recorded in new sessions is the peer address
//! ([`ServiceRequest::peer_addr`]); behind a reverse proxy that is the proxy's address.
//!
//! Failures answer with [`SessionError::status_code`](session_core::SessionError::status_code): a
//! store that cannot load the session answers 503 without calling the handler, and a commit that
//! fails (a conflict, 409, or the store, 503) replaces the handler's response. Neither sends a
//! `Set-Cookie`, so a store outage never logs anyone out.

use std::borrow::Cow;
use std::fmt;
use std::future::{ready, Future, Ready};
use std::ops::Deref;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use session_core::Validate;
use session_core::{Denial, RequestContext, SessionManager, SignedIn};

/// Middleware that loads the session of every request and commits it after the handler.
///
/// ```
/// use actix_web::App;
/// use session_adapters::actix::SessionMiddleware;
/// use session_adapters::{JwtCodec, Secret, SessionManager};
///
/// let secret = Secret::from_bytes(vec![7u8; 32])?;
/// let manager = SessionManager::stateless(JwtCodec::hs256(&secret)?).build();
/// let app = App::new().wrap(SessionMiddleware::new(manager));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionMiddleware {
    manager: SessionManager,
}

impl SessionMiddleware {
    /// Middleware that loads and commits sessions with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        SessionMiddleware { manager }
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            manager: self.manager.clone(),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around the app; not used directly.
pub struct SessionService<S> {
    service: Rc<S>,
    manager: SessionManager,
}

impl<S> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let manager = self.manager.clone();
        Box::pin(async move {
            if req.extensions().contains::<session_core::Session>() {
                // Wrapped twice (e.g. on the App and a scope): the outer one owns the session.
                return Ok(service.call(req).await?.map_into_left_body());
            }
            let ctx = RequestContext::new(
                req.peer_addr().map(|addr| addr.ip().to_string()),
                header_str(req.headers(), header::USER_AGENT),
            );
            let loaded = manager
                .load_from_header(cookie_header(req.headers()).as_deref(), ctx)
                .await;
            let session = match loaded {
                Ok(session) => session,
                Err(e) => {
                    tracing::warn!(error = %e, "session could not be loaded");
                    let response = status_response(e.status_code());
                    return Ok(req.into_response(response).map_into_right_body());
                }
            };
            req.extensions_mut().insert(session.clone());
            let mut res = service.call(req).await?;
            let status = res.status().as_u16();
            let update = match manager.commit_for_status(&session, status).await {
                Ok(update) => update,
                Err(e) => {
                    tracing::warn!(error = %e, "session could not be committed");
                    return Ok(replace(res, status_response(e.status_code())));
                }
            };
            if let Some(value) = update.header_value() {
                match HeaderValue::from_str(value) {
                    Ok(value) => res.headers_mut().append(header::SET_COOKIE, value),
                    Err(_) => {
                        tracing::error!("session cookie is not a valid header value");
                        return Ok(replace(res, status_response(500)));
                    }
                }
            }
            Ok(res.map_into_left_body())
        })
    }
}

/// The request's `Cookie` header; several headers (as HTTP/2 sends them) are joined.
fn cookie_header(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let mut values = headers
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok());
    let first = values.next()?;
    match values.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut joined = format!("{first}; {second}");
            for more in values {
                joined.push_str("; ");
                joined.push_str(more);
            }
            Some(Cow::Owned(joined))
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A plain-text response with `status` and its reason phrase, for session failures.
fn status_response(status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(status.canonical_reason().unwrap_or("session error"))
}

fn replace<B>(res: ServiceResponse<B>, with: HttpResponse) -> ServiceResponse<EitherBody<B>> {
    let (req, _discarded) = res.into_parts();
    ServiceResponse::new(req, with).map_into_right_body()
}

/// The response for a [`Denial`]: 303 See Other to the login page, or 401 Unauthorized.
///
/// ```
/// use actix_web::http::{header, StatusCode};
/// use session_adapters::actix::denial_response;
/// use session_adapters::Denial;
///
/// let res = denial_response(&Denial::Redirect("/login".into()));
/// assert_eq!(res.status(), StatusCode::SEE_OTHER);
/// let location = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
/// assert_eq!(location, Some("/login"));
/// assert_eq!(denial_response(&Denial::Unauthorized).status(), StatusCode::UNAUTHORIZED);
/// ```
pub fn denial_response(denial: &Denial) -> HttpResponse {
    let status =
        StatusCode::from_u16(denial.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    match denial.location() {
        Some(location) => response
            .insert_header((header::LOCATION, location))
            .finish(),
        None => response
            .content_type("text/plain; charset=utf-8")
            .body(status.canonical_reason().unwrap_or("Unauthorized")),
    }
}

/// Why a session extractor refused a request. As a [`ResponseError`] it answers with the right
/// status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRejection {
    /// [`SessionMiddleware`] is not wrapped around the route: 500, naming the fix.
    MissingMiddleware,
    /// The route requires a session (or session data of a given shape) and the request has none:
    /// the guard's answer (see [`denial_response`]).
    Denied(Denial),
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionRejection::MissingMiddleware => f.write_str(
                "no session in this request: add `.wrap(session_adapters::actix::SessionMiddleware::new(manager))` to the App",
            ),
            SessionRejection::Denied(denial) => write!(f, "{denial}"),
        }
    }
}

impl std::error::Error for SessionRejection {}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            SessionRejection::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
            SessionRejection::Denied(denial) => StatusCode::from_u16(denial.status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            SessionRejection::MissingMiddleware => {
                tracing::error!("{self}");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body(self.to_string())
            }
            SessionRejection::Denied(denial) => denial_response(denial),
        }
    }
}

/// A handler's [`Error`](crate::Error) (from `?` on a session call): 503, 409 or 500, logged once.
impl ResponseError for crate::Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(crate::Error::status_code(self))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        status_response(self.report())
    }
}

/// The session that [`SessionMiddleware`] loaded for this request.
fn session_of(req: &HttpRequest) -> Result<session_core::Session, SessionRejection> {
    req.extensions()
        .get::<session_core::Session>()
        .cloned()
        .ok_or(SessionRejection::MissingMiddleware)
}

fn accept(req: &HttpRequest) -> Option<&str> {
    header_str(req.headers(), header::ACCEPT)
}

/// Extractor for the request's session; dereferences to [`session_core::Session`].
///
/// Fails with 500 (naming the fix) when [`SessionMiddleware`] is missing.
///
/// ```
/// use session_adapters::actix::Session;
///
/// async fn visits(session: Session) -> String {
///     match session.get::<u64>("visits") {
///         Ok(Some(n)) => n.to_string(),
///         _ => "none".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Session(pub session_core::Session);

impl Deref for Session {
    type Target = session_core::Session;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for Session {
    type Error = SessionRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(session_of(req).map(Session))
    }
}

/// Extractor for the whole session data as `T` (C15), on a route that requires it.
///
/// No session, or data that does not fit `T` (the session is then destroyed, C2), gets the
/// guard's answer: 303 to the login page for pages, 401 for APIs (see [`denial_response`]).
///
/// ```
/// use serde::Deserialize;
/// use session_adapters::actix::SessionData;
///
/// #[derive(Deserialize)]
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
/// async fn profile(profile: SessionData<Profile>) -> String {
///     profile.0.name
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SessionData<T>(pub T);

impl<T> SessionData<T> {
    /// The data.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for SessionData<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + Validate> FromRequest for SessionData<T> {
    type Error = SessionRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(session_of(req).and_then(|session| {
            session
                .typed_or_deny::<T>(req.path(), accept(req))
                .map(SessionData)
                .map_err(SessionRejection::Denied)
        }))
    }
}

/// Guard extractor: the request must come from a signed-in user.
///
/// Signed-out requests get the guard's answer: 303 to the login page for pages, 401 for APIs
/// (see [`denial_response`] and [`AccessGuard`](session_core::AccessGuard)).
///
/// ```
/// use session_adapters::actix::RequireSession;
///
/// async fn dashboard(auth: RequireSession) -> String {
///     format!("hello {}", auth.user_id())
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

impl FromRequest for RequireSession {
    type Error = SessionRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(session_of(req).and_then(|session| {
            session
                .require_user(req.path(), accept(req))
                .map(RequireSession)
                .map_err(SessionRejection::Denied)
        }))
    }
}
