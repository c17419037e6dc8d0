//! Rocket 0.5 binding: [`SessionFairing`] loads the session when a request arrives and commits it
//! when the response leaves; the [`Session`], [`SessionData`] and [`RequireSession`] request
//! guards read it.
//!
//! ```no_run
//! use rocket::{get, routes};
//! use session_adapters::rocket::{Session, SessionFairing};
//! use session_adapters::{Error, MemoryStore, Secret, SessionManager};
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
//! The fairing decodes the `Cookie` header once per request, whatever the number of guards, and
//! keeps the [`session_core::Session`] in the request's local cache. It holds no session logic:
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
//! - **The session cannot be loaded** (the store is down: 503). A fairing cannot stop Rocket from
//!   routing the request, so the handler is still *selected*: session guards fail with the load
//!   error's status (the handler does not run), and handlers without a session guard run as
//!   usual. Either way the fairing then replaces the whole response with the error status, so
//!   the client sees the same answer as from the Axum and Actix-web adapters. Keep handlers that
//!   have side effects behind a session guard if they must not run during an outage.
//! - **The commit fails** (a conflict, 409, or the store, 503): the response is replaced.
//!
//! A replaced response is a fresh plain-text response: headers set by the handler or by fairings
//! that ran before this one (such as Rocket's `Shield`) are not carried over.
//!
//! # Redirects
//!
//! A request guard can only fail with a status, which Rocket hands to its catcher: a guard that
//! redirects signed-out page requests to the login page fails with 303 and records the redirect;
//! the fairing then gives the catcher's 303 (which has no `Location`) the login page's
//! `Location` and an empty body, keeping the other headers. A handler that took the guard as an
//! `Option` and answers by itself (a 401, say) keeps its own answer.
//! Handlers that want to answer themselves can take `Result<RequireSession, SessionRejection>`
//! and return the [`SessionRejection`], which is a responder giving the same answers.

use std::fmt;
use std::io::Cursor;
use std::ops::Deref;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::Data;
use serde::de::DeserializeOwned;
use session_core::Validate;
use session_core::{Denial, RequestContext, SessionManager, SignedIn};

/// The fairing that loads the session of every request and commits it with the response.
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

/// What the fairing left in the request's local cache.
enum Loaded {
    Ready(session_core::Session),
    Failed(Status),
    /// Only ever cached by a guard that ran without the fairing.
    Missing,
}

/// The local-cache slot for the loaded session.
struct LoadSlot(Loaded);

/// The local-cache slot for a guard's redirect, which the fairing applies to the catcher's 303.
struct RedirectSlot(Option<String>);

fn loaded<'r>(req: &'r Request<'_>) -> &'r Loaded {
    &req.local_cache(|| LoadSlot(Loaded::Missing)).0
}

/// The request's `Cookie` headers, joined as one header value.
fn cookie_header(req: &Request<'_>) -> Option<String> {
    let mut values = req.headers().get("Cookie");
    let first = values.next()?;
    Some(values.fold(first.to_owned(), |mut joined, more| {
        joined.push_str("; ");
        joined.push_str(more);
        joined
    }))
}

#[rocket::async_trait]
impl Fairing for SessionFairing {
    fn info(&self) -> Info {
        Info {
            name: "Sessions",
            // Attached twice, a session would be loaded and committed twice.
            kind: Kind::Request | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        let ctx = RequestContext::new(
            req.client_ip().map(|ip| ip.to_string()),
            req.headers().get_one("User-Agent"),
        );
        let result = match cookie_header(req) {
            Some(header) => self.manager.load_from_header(Some(&header), ctx).await,
            None => {
                // Local test clients can carry cookies in the jar rather than as a header.
                let name = self.manager.policy().cookie().name();
                let value = req.cookies().get(name).map(|c| c.value().to_owned());
                self.manager.load(value.as_deref(), ctx).await
            }
        };
        let loaded = match result {
            Ok(session) => Loaded::Ready(session),
            Err(e) => {
                tracing::warn!(error = %e, "session could not be loaded");
                Loaded::Failed(status(e.status_code()))
            }
        };
        req.local_cache(|| LoadSlot(loaded));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let session = match loaded(req) {
            Loaded::Ready(session) => session,
            Loaded::Failed(status) => {
                *res = status_response(*status);
                return;
            }
            Loaded::Missing => return,
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
        match self
            .manager
            .commit_for_status(session, res.status().code)
            .await
        {
            Ok(update) => {
                if let Some(value) = update.header_value() {
                    res.adjoin_header(Header::new("Set-Cookie", value.to_owned()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "session could not be committed");
                *res = status_response(status(e.status_code()));
            }
        }
    }
}

fn status(code: u16) -> Status {
    Status::from_code(code).unwrap_or(Status::InternalServerError)
}

fn text_response(status: Status, body: String) -> Response<'static> {
    Response::build()
        .status(status)
        .header(ContentType::Plain)
        .sized_body(body.len(), Cursor::new(body))
        .finalize()
}

/// A plain-text response with `status` and its reason phrase, for session failures.
fn status_response(status: Status) -> Response<'static> {
    text_response(status, status.reason_lossy().to_owned())
}

/// The response for a [`Denial`]: 303 See Other to the login page, or 401 Unauthorized.
///
/// ```
/// use rocket::http::Status;
/// use session_adapters::rocket::denial_response;
/// use session_adapters::Denial;
///
/// let res = denial_response(&Denial::Redirect("/login".into()));
/// assert_eq!(res.status(), Status::SeeOther);
/// assert_eq!(res.headers().get_one("Location"), Some("/login"));
/// assert_eq!(denial_response(&Denial::Unauthorized).status(), Status::Unauthorized);
/// ```
pub fn denial_response(denial: &Denial) -> Response<'static> {
    let status = Status::from_code(denial.status_code()).unwrap_or(Status::InternalServerError);
    match denial.location() {
        Some(location) => Response::build()
            .status(status)
            .header(Header::new("Location", location.to_owned()))
            .finalize(),
        None => text_response(status, status.reason_lossy().to_owned()),
    }
}

/// Why a session guard failed. It is also a responder giving the same answer the fairing gives,
/// for handlers that take `Result<Guard, SessionRejection>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRejection {
    /// [`SessionFairing`] is not attached: 500, naming the fix.
    MissingFairing,
    /// The session could not be loaded (e.g. 503 while the store is down).
    LoadFailed(Status),
    /// The route requires a session (or session data of a given shape) and the request has none:
    /// the guard's answer (see [`denial_response`]).
    Denied(Denial),
}

impl SessionRejection {
    /// The status the guard fails with: the denial's own (303 for a page, 401 for an API). Rocket's
    /// catcher for a 303 has no `Location`; the fairing adds it (see the
    /// [module docs](self#redirects)).
    pub fn status(&self) -> Status {
        match self {
            SessionRejection::MissingFairing => Status::InternalServerError,
            SessionRejection::LoadFailed(status) => *status,
            SessionRejection::Denied(denial) => status(denial.status_code()),
        }
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionRejection::MissingFairing => f.write_str(
                "no session in this request: add `.attach(session_adapters::rocket::SessionFairing::new(manager))` to the Rocket",
            ),
            SessionRejection::LoadFailed(status) => {
                write!(f, "the session could not be loaded ({status})")
            }
            SessionRejection::Denied(denial) => write!(f, "{denial}"),
        }
    }
}

impl std::error::Error for SessionRejection {}

impl<'r> Responder<'r, 'static> for SessionRejection {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(match &self {
            SessionRejection::MissingFairing => {
                text_response(Status::InternalServerError, self.to_string())
            }
            SessionRejection::LoadFailed(status) => status_response(*status),
            SessionRejection::Denied(denial) => denial_response(denial),
        })
    }
}

/// A handler's [`Error`](crate::Error) (from `?` on a session call): 503, 409 or 500, logged once.
impl<'r> Responder<'r, 'static> for crate::Error {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(status_response(status(self.report())))
    }
}

fn fail<T>(req: &Request<'_>, rejection: SessionRejection) -> Outcome<T, SessionRejection> {
    match &rejection {
        SessionRejection::MissingFairing => tracing::error!("{rejection}"),
        SessionRejection::Denied(Denial::Redirect(location)) => {
            req.local_cache(|| RedirectSlot(Some(location.clone())));
        }
        _ => {}
    }
    Outcome::Error((rejection.status(), rejection))
}

/// The session that [`SessionFairing`] loaded for this request.
fn session_of(req: &Request<'_>) -> Result<session_core::Session, SessionRejection> {
    match loaded(req) {
        Loaded::Ready(session) => Ok(session.clone()),
        Loaded::Failed(status) => Err(SessionRejection::LoadFailed(*status)),
        Loaded::Missing => Err(SessionRejection::MissingFairing),
    }
}

fn path_and_accept<'a>(req: &'a Request<'_>) -> (&'a str, Option<&'a str>) {
    (req.uri().path().as_str(), req.headers().get_one("Accept"))
}

/// Request guard for the request's session; dereferences to [`session_core::Session`].
///
/// Fails with 500 (naming the fix, in the log and the [`SessionRejection`]) when
/// [`SessionFairing`] is not attached.
///
/// ```
/// use rocket::get;
/// use session_adapters::rocket::Session;
///
/// #[get("/read")]
/// fn read(session: Session) -> String {
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

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match session_of(req) {
            Ok(session) => Outcome::Success(Session(session)),
            Err(rejection) => fail(req, rejection),
        }
    }
}

/// Request guard for the whole session data as `T` (C15), on a route that requires it.
///
/// No session, or data that does not fit `T` (the session is then destroyed, C2), gets the
/// guard's answer: 303 to the login page for pages, 401 for APIs.
///
/// ```
/// use rocket::get;
/// use serde::Deserialize;
/// use session_adapters::rocket::SessionData;
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
/// #[get("/profile")]
/// fn profile(profile: SessionData<Profile>) -> String {
///     profile.into_inner().name
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

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Validate + Send> FromRequest<'r> for SessionData<T> {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let session = match session_of(req) {
            Ok(session) => session,
            Err(rejection) => return fail(req, rejection),
        };
        let (path, accept) = path_and_accept(req);
        match session.typed_or_deny::<T>(path, accept) {
            Ok(data) => Outcome::Success(SessionData(data)),
            Err(denial) => fail(req, SessionRejection::Denied(denial)),
        }
    }
}

/// Guard: the request must come from a signed-in user.
///
/// Signed-out requests get the guard's answer: 303 to the login page for pages, 401 for APIs
/// (see [`AccessGuard`](session_core::AccessGuard)).
///
/// ```
/// use rocket::get;
/// use session_adapters::rocket::RequireSession;
///
/// #[get("/dashboard")]
/// fn dashboard(auth: RequireSession) -> String {
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

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequireSession {
    type Error = SessionRejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let session = match session_of(req) {
            Ok(session) => session,
            Err(rejection) => return fail(req, rejection),
        };
        let (path, accept) = path_and_accept(req);
        match session.require_user(path, accept) {
            Ok(signed_in) => Outcome::Success(RequireSession(signed_in)),
            Err(denial) => fail(req, SessionRejection::Denied(denial)),
        }
    }
}
