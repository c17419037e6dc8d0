//! The handler-facing types, defined once for the three frameworks: [`Session`],
//! [`SessionData<T>`], [`SignedIn`] and the [`SessionRejection`] they fail with.
//!
//! Each framework module implements its own extractor or request-guard trait for these types
//! and nothing more: it describes the request as a [`RequestView`], and the decision (which
//! session, whether the user is signed in, whether the data fits) is made here and in
//! [`session_core`].

use std::fmt;
use std::ops::Deref;

use serde::de::DeserializeOwned;
use session_core::adapter::{Denial, LazySession};
use session_core::{UserId, Validate};

/// The request's session: read it and write to it; the middleware commits the changes.
///
/// Dereferences to [`session_core::Session`], whose methods do the work. Every `Session` of one
/// request is the same session, loaded once, by the first extractor that asks for it: a route
/// that takes no session extractor decodes nothing and calls no store. Without the middleware the
/// extractor fails with [`SessionRejection::MissingMiddleware`] (500).
///
/// ```
/// use session_adapters::{Error, Session};
///
/// // The same handler body in Axum, Actix-web and Rocket.
/// async fn counter(session: Session) -> Result<String, Error> {
///     let n: u64 = session.get("visits")?.unwrap_or(0);
///     session.insert("visits", n + 1)?;
///     Ok((n + 1).to_string())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Session(session_core::Session);

impl Session {
    /// The core handle, for code that works with [`session_core`] directly.
    pub fn into_inner(self) -> session_core::Session {
        self.0
    }

    #[cfg(feature = "auth")]
    pub(crate) fn from_signed_in(signed_in: SignedIn) -> Session {
        Session(signed_in.0.session().clone())
    }
}

impl Deref for Session {
    type Target = session_core::Session;

    fn deref(&self) -> &session_core::Session {
        &self.0
    }
}

/// The whole session data as `T`, checked by `T`'s [`Validate`] after deserialising.
///
/// No session is denied the guard's way (303 to the login page for pages, 401 for APIs). Data
/// that does not fit `T`, or fails its check, ends the session as an invalid cookie would: the
/// session is destroyed, a `tracing` event with reason `schema` is logged, and the request is
/// denied like one without a session, never a 500. As `Option<SessionData<T>>` the handler runs
/// either way and gets `None`.
///
/// ```
/// use session_adapters::{SessionData, Validate};
///
/// #[derive(serde::Deserialize)]
/// struct Profile {
///     name: String,
/// }
///
/// impl Validate for Profile {
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

/// The session of a signed-in user: routes that take it are for signed-in users only.
///
/// Signed-out requests get the guard's answer, as the manager's
/// [`AccessGuard`](session_core::adapter::AccessGuard) decides: 303 to the login page for pages,
/// 401 for APIs. As `Option<SignedIn>` the handler runs either way and gets `None` when nobody is
/// signed in. Dereferences to the [`session_core::Session`]; [`user_id`](SignedIn::user_id) is
/// the user, without an `Option`.
///
/// ```
/// use session_adapters::SignedIn;
///
/// async fn dashboard(user: SignedIn) -> String {
///     format!("hello {}", user.user_id())
/// }
///
/// async fn home(user: Option<SignedIn>) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.user_id()),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
///
/// It only comes from a signed-in request; code cannot make one up:
///
/// ```compile_fail
/// # use session_adapters::SignedIn;
/// fn forge(signed_in: session_adapters::core::handler::SignedIn) -> SignedIn {
///     SignedIn(signed_in)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SignedIn(session_core::handler::SignedIn);

impl SignedIn {
    /// The signed-in user.
    pub fn user_id(&self) -> &UserId {
        self.0.user_id()
    }
}

impl Deref for SignedIn {
    type Target = session_core::Session;

    fn deref(&self) -> &session_core::Session {
        self.0.session()
    }
}

/// Why a session extractor or guard refused a request; each framework answers it with
/// [`status_code`](SessionRejection::status_code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The route is not behind the session middleware (Axum's `SessionLayer`, Actix-web's
    /// `SessionMiddleware`, Rocket's `SessionFairing`): a setup error, 500, whose message names
    /// the fix.
    MissingMiddleware,
    /// The session could not be loaded (503 while the store is down): the first extractor of the
    /// request loads it, so only routes that use the session fail during a store outage.
    LoadFailed(u16),
    /// No session, no signed-in user, or data that does not fit: the guard's answer (303 to the
    /// login page for pages, 401 for APIs).
    Denied(Denial),
    /// [`Auth`](crate::Auth): a bearer request without the application's `ApiTokens` reachable
    /// (Axum `.layer(Extension(tokens))`, Actix-web `.app_data(tokens)`, Rocket
    /// `.manage(tokens)`): a setup error, 500, whose message names the fix.
    #[cfg(feature = "auth")]
    MissingApiTokens,
    /// [`Auth`](crate::Auth): a refused bearer token, or an API request with no credential at
    /// all: 401 with its `WWW-Authenticate` challenge (503 while the token store is down).
    #[cfg(feature = "auth")]
    Bearer(crate::auth_extractor::BearerChallenge),
}

impl SessionRejection {
    /// The HTTP status to answer.
    ///
    /// ```
    /// use session_adapters::{Denial, SessionRejection};
    /// assert_eq!(SessionRejection::Denied(Denial::Unauthorized).status_code(), 401);
    /// assert_eq!(SessionRejection::MissingMiddleware.status_code(), 500);
    /// ```
    pub fn status_code(&self) -> u16 {
        match self {
            SessionRejection::MissingMiddleware => 500,
            SessionRejection::LoadFailed(status) => *status,
            SessionRejection::Denied(denial) => denial.status_code(),
            #[cfg(feature = "auth")]
            SessionRejection::MissingApiTokens => 500,
            #[cfg(feature = "auth")]
            SessionRejection::Bearer(refusal) => refusal.status,
        }
    }

    /// Where to redirect, for a denied page request.
    pub fn location(&self) -> Option<&str> {
        match self {
            SessionRejection::Denied(denial) => denial.location(),
            _ => None,
        }
    }
}

impl From<Denial> for SessionRejection {
    fn from(denial: Denial) -> Self {
        SessionRejection::Denied(denial)
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionRejection::MissingMiddleware => f.write_str(
                "no session in this request: install the session middleware around this route \
                 (Axum: `.layer(SessionLayer::new(manager))`, Actix-web: \
                 `.wrap(SessionMiddleware::new(manager))`, Rocket: \
                 `.attach(SessionFairing::new(manager))`)",
            ),
            SessionRejection::LoadFailed(status) => {
                write!(f, "the session could not be loaded ({status})")
            }
            SessionRejection::Denied(denial) => denial.fmt(f),
            #[cfg(feature = "auth")]
            SessionRejection::MissingApiTokens => f.write_str(
                "a bearer token was presented but the application's ApiTokens are not \
                 reachable: Axum: `.layer(Extension(api_tokens))`, Actix-web: \
                 `.app_data(api_tokens)`, Rocket: `.manage(api_tokens)`",
            ),
            #[cfg(feature = "auth")]
            SessionRejection::Bearer(refusal) => {
                write!(f, "bearer authentication failed ({})", refusal.reason)
            }
        }
    }
}

impl std::error::Error for SessionRejection {}

/// What an extractor sees of a request, whatever the framework: the request's lazily loaded
/// session (or `None` without the middleware), and what the guard decides on.
#[allow(
    dead_code,
    reason = "built by whichever framework features are enabled"
)]
pub(crate) struct RequestView<'a> {
    pub(crate) lazy: Option<LazySession>,
    /// The path as the client sent it.
    pub(crate) path: &'a str,
    /// The `Accept` header.
    pub(crate) accept: Option<&'a str>,
}

#[allow(
    dead_code,
    reason = "called by whichever framework features are enabled"
)]
impl RequestView<'_> {
    /// The session, loaded now if this is the request's first extractor.
    async fn loaded(&self) -> Result<session_core::Session, SessionRejection> {
        let lazy = self
            .lazy
            .as_ref()
            .ok_or(SessionRejection::MissingMiddleware)?;
        lazy.session()
            .await
            .map_err(|error| SessionRejection::LoadFailed(error.status_code()))
    }

    pub(crate) async fn session(self) -> Result<Session, SessionRejection> {
        self.loaded().await.map(Session)
    }

    pub(crate) async fn signed_in(self) -> Result<SignedIn, SessionRejection> {
        let session = self.loaded().await?;
        session
            .require_user(self.path, self.accept)
            .map(SignedIn)
            .map_err(SessionRejection::Denied)
    }

    /// `None` when nobody is signed in; still an error without the middleware or when the
    /// session cannot be loaded.
    pub(crate) async fn optional_signed_in(self) -> Result<Option<SignedIn>, SessionRejection> {
        let session = self.loaded().await?;
        Ok(session
            .require_user(self.path, self.accept)
            .ok()
            .map(SignedIn))
    }

    pub(crate) async fn data<T: DeserializeOwned + Validate>(
        self,
    ) -> Result<SessionData<T>, SessionRejection> {
        let session = self.loaded().await?;
        session
            .typed_or_deny(self.path, self.accept)
            .map(SessionData)
            .map_err(SessionRejection::Denied)
    }

    /// `None` when there is no session or its data does not fit (the session then ends).
    pub(crate) async fn optional_data<T: DeserializeOwned + Validate>(
        self,
    ) -> Result<Option<SessionData<T>>, SessionRejection> {
        Ok(self.loaded().await?.typed_or_invalidate().map(SessionData))
    }
}
