//! Rocket 0.5 binding: [`SessionFairing`] gives every request its session, loaded by the first
//! guard that asks for it, and commits it when the response leaves. The request guards are the
//! crate's [`Session`], [`SessionData`] and [`SignedIn`], and with feature `auth`
//! [`Auth`](crate::Auth) (bearer token or session; the app's `ApiTokens` from
//! `.manage(tokens)`); as `Option<..>` they follow Rocket's own rule: any failure is `None`.
//!
//! ```no_run
//! use rocket::{get, routes};
//! use session_adapters::rocket::SessionFairing;
//! use session_adapters::{Error, MemoryStore, Secret, Session, SessionManager};
//!
//! #[get("/")]
//! fn count(session: Session) -> Result<String, Error> {
//!     let n: u64 = session.get("visits")?.unwrap_or(0);
//!     session.insert("visits", n + 1)?;
//!     Ok((n + 1).to_string())
//! }
//!
//! #[rocket::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let secret = Secret::from_env("SESSION_SECRET")?;
//!     let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
//!     rocket::build()
//!         .attach(SessionFairing::new(manager))
//!         .mount("/", routes![count])
//!         .launch()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! The fairing keeps a [`LazySession`] in the request's local cache: the first guard decodes the
//! cookie and loads the session, once per request whatever the number of guards, and a handler
//! that takes none costs no decode and no store call. It holds no session logic:
//! [`SessionManager`] decides everything.
//!
//! The client IP recorded in new sessions is [`Request::client_ip`]: the `X-Real-IP` header when
//! present (Rocket's default `ip_header`), else the peer address. Set `ip_header = false` in
//! Rocket's configuration unless a proxy you trust sets that header.
//!
//! # Failures
//!
//! Errors answer with [`SessionError::status_code`](session_core::SessionError::status_code)
//! and never send a `Set-Cookie`, so a store outage never logs anyone out.
//!
//! - **The session cannot be loaded** (the store is down: 503): the guard that loads it fails with
//!   that status, so the handler does not run and Rocket's catcher answers. Handlers without a
//!   session guard never load the session and run as usual.
//! - **The commit fails** (a conflict, 409, or the store, 503): the response is replaced by a
//!   fresh plain-text response; headers set by the handler or by fairings that ran before this one
//!   (such as Rocket's `Shield`) are not carried over.
//!
//! # Redirects
//!
//! A request guard can only fail with a status, which Rocket hands to its catcher: a guard that
//! redirects signed-out page requests to the login page fails with 303 and records the redirect;
//! the fairing then gives the catcher's 303 (which has no `Location`) the login page's
//! `Location` and an empty body, keeping the other headers. A handler that took the guard as an
//! `Option` and answers by itself (a 401, say) keeps its own answer.
//! Handlers that want to answer themselves can take `Result<SignedIn, SessionRejection>` and
//! return the [`SessionRejection`], which is a responder giving the same answers.

use std::io::Cursor;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Build, Data, Rocket};
use serde::de::DeserializeOwned;
use session_core::adapter::{CsrfRequest, Denial, LazySession};
use session_core::{RequestContext, SessionManager, Validate};

use crate::answer::Answer;
use crate::extract::{RequestView, SessionRejection};
use crate::{Error, Session, SessionData, SignedIn};

#[cfg(feature = "auth")]
mod oauth;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use oauth::{oauth_routes, with_oauth};

/// The fairing that gives every request its session (loaded on first use) and commits it with
/// the response.
///
/// ```
/// use session_adapters::rocket::SessionFairing;
/// use session_adapters::{JwtCodec, Secret, SessionManager};
///
/// let secret = Secret::from_bytes(vec![7u8; 32])?;
/// let manager = SessionManager::stateless(JwtCodec::hs256(&secret)?).build();
/// let rocket = rocket::build().attach(SessionFairing::new(manager));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionFairing {
    manager: SessionManager,
}

impl SessionFairing {
    /// A fairing that loads and commits sessions with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        SessionFairing { manager }
    }
}

/// The local-cache slot for the request's lazily loaded session; `None` when the fairing did not
/// run (a guard without the fairing).
struct LoadSlot(Option<LazySession>);

/// The local-cache slot for a guard's redirect, which the fairing applies to the catcher's 303.
struct RedirectSlot(Option<String>);

/// The local-cache slot for a refused bearer request's `WWW-Authenticate` challenge, which the
/// fairing applies to the catcher's 401.
#[cfg(feature = "auth")]
struct ChallengeSlot(Option<&'static str>);

fn lazy<'r>(req: &'r Request<'_>) -> Option<&'r LazySession> {
    req.local_cache(|| LoadSlot(None)).0.as_ref()
}

#[rocket::async_trait]
impl Fairing for SessionFairing {
    fn info(&self) -> Info {
        Info {
            name: "Sessions",
            // Attached twice, a session would be loaded and committed twice.
            kind: Kind::Ignite | Kind::Request | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        Ok(rocket.mount("/", rocket::routes![csrf_refused]))
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        let ctx = RequestContext::new(
            req.client_ip().map(|ip| ip.to_string()),
            req.headers().get_one("User-Agent"),
        );
        let session = if req.headers().contains("Cookie") {
            self.manager
                .lazy_from_headers(req.headers().get("Cookie"), ctx)
        } else {
            // Local test clients can carry cookies in the jar rather than as a header.
            let name = self.manager.policy().cookie().name();
            let value = req.cookies().get(name).map(|c| c.value().to_owned());
            self.manager.lazy(value.as_deref(), ctx)
        };
        let csrf =
            CsrfRequest::from_headers(req.method().as_str(), |name| req.headers().get_one(name));
        if session.check_csrf(&csrf).is_err() {
            // A fairing cannot answer by itself: the request goes to the route that answers
            // 403, so no handler of the app runs, and without a session slot nothing is
            // committed.
            req.set_method(Method::Get);
            // Invariant: CSRF_REFUSED_PATH is a constant absolute path, a valid origin URI.
            req.set_uri(Origin::parse(CSRF_REFUSED_PATH).expect("a valid static path"));
            return;
        }
        req.local_cache(|| LoadSlot(Some(session)));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        #[cfg(feature = "auth")]
        if res.status() == Status::Unauthorized && !res.headers().contains("WWW-Authenticate") {
            if let Some(challenge) = req.local_cache(|| ChallengeSlot(None)).0 {
                res.set_header(Header::new("WWW-Authenticate", challenge));
            }
        }
        let Some(session) = lazy(req) else {
            return;
        };
        // A guard that denied a page request failed with 303 and left its location here; the
        // catcher's 303 has none. A handler's own answers (a 401 after an `Option` guard, a
        // redirect with its own `Location`) are left alone.
        if res.status() == Status::SeeOther && res.headers().get_one("Location").is_none() {
            if let Some(location) = &req.local_cache(|| RedirectSlot(None)).0 {
                // In place, so headers from other fairings (e.g. `Shield`) stay.
                res.set_status(Status::SeeOther);
                res.remove_header("Content-Type");
                res.set_header(Header::new("Location", location.clone()));
                res.set_sized_body(0, Cursor::new(""));
            }
        }
        match session.commit_for_status(res.status().code).await {
            Ok(update) => {
                if let Some(value) = update.header_value() {
                    res.adjoin_header(Header::new("Set-Cookie", value.to_owned()));
                }
            }
            Err(e) => *res = respond(Answer::session_error(&e)),
        }
    }
}

/// Where [`SessionFairing`] sends a request refused as a cross-site request forgery.
const CSRF_REFUSED_PATH: &str = "/__session/csrf-refused";

/// The 403 of a request refused as a cross-site request forgery (core logged the reason).
#[rocket::get("/__session/csrf-refused")]
fn csrf_refused() -> CsrfRefused {
    CsrfRefused
}

/// The responder of [`csrf_refused`]: the same 403 the other frameworks answer.
struct CsrfRefused;

impl<'r> Responder<'r, 'static> for CsrfRefused {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(respond(Answer::status(403)))
    }
}

/// The Rocket response for an [`Answer`].
fn respond(answer: Answer) -> Response<'static> {
    let status = Status::from_code(answer.status).unwrap_or(Status::InternalServerError);
    let mut response = Response::build();
    response.status(status);
    match (answer.location, answer.message) {
        (Some(location), _) => response.header(Header::new("Location", location)),
        (None, message) => {
            if let Some(challenge) = answer.challenge {
                response.header(Header::new("WWW-Authenticate", challenge));
            }
            let body = message.unwrap_or_else(|| status.reason_lossy().to_owned());
            response
                .header(ContentType::Plain)
                .sized_body(body.len(), Cursor::new(body))
        }
    };
    response.finalize()
}

/// The request as the shared extractors see it.
fn view<'a>(req: &'a Request<'_>) -> RequestView<'a> {
    RequestView {
        lazy: lazy(req).cloned(),
        path: req.uri().path().as_str(),
        accept: req.headers().get_one("Accept"),
    }
}

/// A guard's outcome: a failure keeps the rejection's own status for Rocket's catcher, and a
/// redirect leaves its location for the fairing (see the [module docs](self#redirects)).
fn outcome<T>(
    req: &Request<'_>,
    result: Result<T, SessionRejection>,
) -> Outcome<T, SessionRejection> {
    match result {
        Ok(value) => Outcome::Success(value),
        Err(rejection) => {
            match &rejection {
                SessionRejection::MissingMiddleware => tracing::error!("{rejection}"),
                SessionRejection::Denied(Denial::Redirect(location)) => {
                    req.local_cache(|| RedirectSlot(Some(location.clone())));
                }
                #[cfg(feature = "auth")]
                SessionRejection::MissingApiTokens => tracing::error!("{rejection}"),
                #[cfg(feature = "auth")]
                SessionRejection::Bearer(refusal) => {
                    req.local_cache(|| ChallengeSlot(refusal.challenge));
                }
                _ => {}
            }
            let status =
                Status::from_code(rejection.status_code()).unwrap_or(Status::InternalServerError);
            Outcome::Error((status, rejection))
        }
    }
}

/// The same answer the fairing gives, for handlers that take `Result<Guard, SessionRejection>`.
impl<'r> Responder<'r, 'static> for SessionRejection {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(respond(Answer::from(&self)))
    }
}

/// A handler's [`Error`] (from `?` on a session call): 503, 409 or 500, logged once.
impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(respond(Answer::from(&self)))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        outcome(req, view(req).session().await)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SignedIn {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        outcome(req, view(req).signed_in().await)
    }
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Validate + Send> FromRequest<'r> for SessionData<T> {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        outcome(req, view(req).data().await)
    }
}

/// A bearer token (with the app's `ApiTokens` from `.manage(tokens)`) or the session. A refused
/// token fails with 401; the fairing gives the catcher's answer the `WWW-Authenticate`
/// challenge.
#[cfg(feature = "auth")]
#[rocket::async_trait]
impl<'r> FromRequest<'r> for crate::Auth {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let tokens = req.rocket().state::<session_auth::api_tokens::ApiTokens>();
        let values = req.headers().get("Authorization").map(str::as_bytes);
        outcome(req, view(req).auth(tokens, values).await)
    }
}
