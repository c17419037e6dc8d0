//! Actix-web 4 binding: [`SessionMiddleware`] gives every request its session, loaded by the
//! first extractor that asks for it, and commits it after the handler. The extractors are the crate's [`Session`], [`SessionData`] and [`SignedIn`]; as
//! `Option<..>` they follow Actix-web's own rule: any rejection is `None`.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use session_adapters::actix::SessionMiddleware;
//! use session_adapters::{Error, MemoryStore, Secret, Session, SessionManager};
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
//! The middleware keeps a [`LazySession`] in the request extensions: the first extractor decodes
//! the cookie and loads the session, once per request whatever the number of extractors, and a
//! handler that takes none costs no decode and no store call. It holds no session logic:
//! [`SessionManager`] decides everything.
//!
//! The client IP recorded in new sessions is the peer address
//! ([`ServiceRequest::peer_addr`]); behind a reverse proxy that is the proxy's address.
//!
//! Failures answer with [`SessionError::status_code`](session_core::SessionError::status_code): a
//! store that cannot load the session fails the extractor with 503 (the handler does not run),
//! and a commit that fails (a conflict, 409, or the store, 503) replaces the handler's response. Neither sends a
//! `Set-Cookie`, so a store outage never logs anyone out.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use session_core::adapter::{CsrfRequest, LazySession};
use session_core::{RequestContext, SessionManager, Validate};

use crate::answer::Answer;
use crate::extract::{RequestView, SessionRejection};
use crate::{Session, SessionData, SignedIn};

#[cfg(feature = "auth")]
mod oauth;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use oauth::oauth_routes;

/// Middleware that gives every request its session (loaded on first use) and commits it after
/// the handler.
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
            if req.extensions().contains::<LazySession>() {
                // Wrapped twice (e.g. on the App and a scope): the outer one owns the session.
                return Ok(service.call(req).await?.map_into_left_body());
            }
            let headers = req.headers();
            let ctx = RequestContext::new(
                req.peer_addr().map(|addr| addr.ip().to_string()),
                header_str(headers, header::USER_AGENT),
            );
            let cookies = headers
                .get_all(header::COOKIE)
                .filter_map(|v| v.to_str().ok());
            let session = manager.lazy_from_headers(cookies, ctx);
            let csrf = CsrfRequest::from_headers(req.method().as_str(), |name| {
                header_str(headers, header::HeaderName::from_static(name))
            });
            let refused = session.check_csrf(&csrf).is_err();
            if refused {
                // Refused before the handler: nothing runs, nothing is committed.
                let (req, _payload) = req.into_parts();
                return Ok(
                    ServiceResponse::new(req, respond(Answer::status(403))).map_into_right_body()
                );
            }
            req.extensions_mut().insert(session.clone());
            let mut res = service.call(req).await?;
            let status = res.status().as_u16();
            let update = match session.commit_for_status(status).await {
                Ok(update) => update,
                Err(e) => return Ok(replace(res, respond(Answer::session_error(&e)))),
            };
            if let Some(value) = update.header_value() {
                match HeaderValue::from_str(value) {
                    Ok(value) => res.headers_mut().append(header::SET_COOKIE, value),
                    Err(_) => {
                        tracing::error!("session cookie is not a valid header value");
                        return Ok(replace(res, respond(Answer::status(500))));
                    }
                }
            }
            Ok(res.map_into_left_body())
        })
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn replace<B>(res: ServiceResponse<B>, with: HttpResponse) -> ServiceResponse<EitherBody<B>> {
    let (req, _discarded) = res.into_parts();
    ServiceResponse::new(req, with).map_into_right_body()
}

/// The Actix-web response for an [`Answer`].
fn respond(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(challenge) = answer.challenge {
        response.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    match (answer.location, answer.message) {
        (Some(location), _) => response
            .insert_header((header::LOCATION, location))
            .finish(),
        (None, message) => response
            .content_type("text/plain; charset=utf-8")
            .body(message.unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_owned())),
    }
}

/// The request as the shared extractors see it.
fn view(req: &HttpRequest) -> RequestView<'_> {
    RequestView {
        lazy: req.extensions().get::<LazySession>().cloned(),
        path: req.path(),
        accept: header_str(req.headers(), header::ACCEPT),
    }
}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(SessionRejection::status_code(self))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        respond(Answer::from(self))
    }
}

/// A handler's [`Error`](crate::Error) (from `?` on a session call): 503, 409 or 500, logged once.
impl ResponseError for crate::Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(crate::Error::status_code(self))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        respond(Answer::from(self))
    }
}

impl FromRequest for Session {
    type Error = SessionRejection;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { view(&req).session().await })
    }
}

impl FromRequest for SignedIn {
    type Error = SessionRejection;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { view(&req).signed_in().await })
    }
}

impl<T: DeserializeOwned + Validate> FromRequest for SessionData<T> {
    type Error = SessionRejection;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { view(&req).data().await })
    }
}

/// A bearer token (with the app's `ApiTokens` from `.app_data(tokens)`) or the session.
#[cfg(feature = "auth")]
impl FromRequest for crate::Auth {
    type Error = SessionRejection;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let tokens = req.app_data::<session_auth::api_tokens::ApiTokens>();
            let values = req
                .headers()
                .get_all(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            view(&req).auth(tokens, values).await
        })
    }
}
