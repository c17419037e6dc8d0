//! [`Auth`]: who a request is, by API bearer token or by session cookie, decided once here for
//! the three frameworks (feature `auth`).

use std::ops::Deref;

use session_auth::api_tokens::{ApiTokens, BearerToken};
use session_core::adapter::Denial;
use session_core::UserId;

use crate::extract::{RequestView, SessionRejection};
use crate::Session;

/// The signed-in user of a request, by `Authorization: Bearer` API token or by session cookie,
/// for routes that serve both browsers and API clients.
///
/// | request | `Auth` | `Option<Auth>` |
/// |---|---|---|
/// | no `Authorization`, signed-in session cookie | the session's user | `Some` |
/// | no `Authorization`, no or invalid session | the guard's answer: 303 to the login page for pages, 401 with `WWW-Authenticate: Bearer` for APIs | `None` |
/// | valid bearer token (any cookie) | the token's owner | `Some` |
/// | malformed, unknown, revoked or expired token, a second `Authorization` header, another scheme (any cookie) | 401 with `WWW-Authenticate: Bearer error="..."` | `None` |
/// | token store down | 503 | 503 in Axum, `None` in Actix-web and Rocket |
///
/// A present `Authorization` header is always the credential: when it fails, the session
/// cookie is not consulted. A bearer request, accepted or refused, never reads or writes the
/// session cookie: a `Session` the handler also takes is a new one that is not saved, and no
/// `Set-Cookie` is sent ([`LazySession::detach`](session_core::adapter::LazySession::detach)).
/// The scheme is matched without regard to case (`bearer` is `Bearer`, RFC 9110 §11.1).
///
/// The application's [`ApiTokens`] must be reachable from the request: Axum
/// `.layer(Extension(tokens))`, Actix-web `.app_data(tokens)`, Rocket `.manage(tokens)`;
/// without them a bearer request is a 500 whose message names the fix
/// ([`SessionRejection::MissingApiTokens`]).
///
/// ```
/// use session_adapters::Auth;
///
/// async fn me(auth: Auth) -> String {
///     match auth.bearer() {
///         Some(token) => format!("{} (token {})", auth.user_id(), token.name),
///         None => format!("{} (session)", auth.user_id()),
///     }
/// }
///
/// async fn export(auth: Auth) -> Result<String, (u16, &'static str)> {
///     if !auth.allows("reports:read") {
///         return Err((403, "this token lacks the reports:read scope"));
///     }
///     Ok("...".into())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth {
    user: UserId,
    via: AuthVia,
}

/// How a request was authenticated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthVia {
    /// By its session cookie: the session, to read and write.
    Session(Session),
    /// By an API token in `Authorization: Bearer`.
    Bearer(BearerToken),
}

impl Auth {
    /// The user, by whichever credential.
    pub fn user_id(&self) -> &UserId {
        &self.user
    }

    /// How the request was authenticated.
    pub fn via(&self) -> &AuthVia {
        &self.via
    }

    /// The API token, for a bearer request.
    pub fn bearer(&self) -> Option<&BearerToken> {
        match &self.via {
            AuthVia::Bearer(token) => Some(token),
            AuthVia::Session(_) => None,
        }
    }

    /// The session, for a request authenticated by its cookie.
    pub fn session(&self) -> Option<&Session> {
        match &self.via {
            AuthVia::Session(session) => Some(session),
            AuthVia::Bearer(_) => None,
        }
    }

    /// Whether the request may do what `scope` names: a session (the user at their browser)
    /// may do anything its user may; a token only what its scopes list.
    pub fn allows(&self, scope: &str) -> bool {
        match &self.via {
            AuthVia::Session(_) => true,
            AuthVia::Bearer(token) => token.allows(scope),
        }
    }
}

/// A refused bearer request, or an API request with no credential: what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    /// 401, or 503 while the token store is down.
    pub status: u16,
    /// What was wrong, as logged (`unknown`, `revoked`, `expired`, `wrong_prefix`, ...;
    /// `no_credentials` for an API request without any).
    pub reason: &'static str,
    /// The `WWW-Authenticate` value (`None` for a 503).
    pub challenge: Option<&'static str>,
}

impl Deref for Auth {
    type Target = UserId;

    fn deref(&self) -> &UserId {
        &self.user
    }
}

#[allow(
    dead_code,
    reason = "called by whichever framework features are enabled"
)]
impl RequestView<'_> {
    /// The request's user by its `Authorization` header values (all of them) or, without one,
    /// by its session.
    pub(crate) async fn auth<'h>(
        self,
        tokens: Option<&ApiTokens>,
        authorization: impl IntoIterator<Item = &'h [u8]>,
    ) -> Result<Auth, SessionRejection> {
        let values: Vec<&[u8]> = authorization.into_iter().collect();
        if values.is_empty() {
            return self.auth_by_session().await;
        }
        if let Some(lazy) = &self.lazy {
            lazy.detach();
        }
        let tokens = tokens.ok_or(SessionRejection::MissingApiTokens)?;
        match tokens.authenticate_headers(values).await {
            Ok(Some(token)) => Ok(Auth {
                user: token.owner.clone(),
                via: AuthVia::Bearer(token),
            }),
            // Unreachable: the values are not empty. Answered as no credential.
            Ok(None) => Err(no_credentials()),
            Err(error) => Err(SessionRejection::Bearer(BearerChallenge {
                status: error.status_code(),
                reason: error.reason(),
                challenge: error.challenge(),
            })),
        }
    }

    async fn auth_by_session(self) -> Result<Auth, SessionRejection> {
        let user = self
            .signed_in()
            .await
            .map_err(|rejection| match rejection {
                SessionRejection::Denied(Denial::Unauthorized) => no_credentials(),
                other => other,
            })?;
        Ok(Auth {
            user: user.user_id().clone(),
            via: AuthVia::Session(Session::from_signed_in(user)),
        })
    }

    /// `None` when nobody is signed in and when a bearer token is refused; still an error for a
    /// setup mistake or a store that cannot answer.
    pub(crate) async fn optional_auth<'h>(
        self,
        tokens: Option<&ApiTokens>,
        authorization: impl IntoIterator<Item = &'h [u8]>,
    ) -> Result<Option<Auth>, SessionRejection> {
        match self.auth(tokens, authorization).await {
            Ok(auth) => Ok(Some(auth)),
            Err(SessionRejection::Denied(_)) => Ok(None),
            Err(SessionRejection::Bearer(refusal)) if refusal.status == 401 => Ok(None),
            Err(other) => Err(other),
        }
    }
}

fn no_credentials() -> SessionRejection {
    SessionRejection::Bearer(BearerChallenge {
        status: 401,
        reason: "no_credentials",
        challenge: Some("Bearer"),
    })
}
