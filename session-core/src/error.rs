//! The errors of the handle and the manager: [`SessionError`] (a failure of the system: the
//! store, a conflict, encoding) and [`DataError`] (a value that does not fit). Neither's
//! `Display`, `Debug` or source chain holds an id, a token, a key or a data value.

use crate::codec::EncodeError;
use crate::cookie::CookieTooLarge;
use crate::store::StoreError;

/// Why loading or committing a session failed. Invalid cookies are not errors (they give an empty
/// session, [C2]); these are failures of the system. `Display` never shows ids, tokens or keys.
///
/// [C2]: crate::manual::contracts#c2
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed; see [`StoreError::is_transient`].
    #[error(transparent)]
    Store(StoreError),
    /// Another request saved the session first and the policy rejects late writes ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    #[error("the session was changed by a concurrent request")]
    Conflict,
    /// The session no longer fits in a cookie (stateless mode, [C10]).
    ///
    /// [C10]: crate::manual::contracts#c10
    #[error(transparent)]
    CookieTooLarge(#[from] CookieTooLarge),
    /// The session could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// "Log out everywhere" in stateless mode needs a revocation store.
    #[error("log out everywhere needs a revocation store in stateless mode")]
    NoRevocationStore,
    /// A form's CSRF token did not match the session (403, [S-27]).
    ///
    /// [S-27]: crate::manual::security
    #[error(transparent)]
    Csrf(#[from] crate::csrf::CsrfRefusal),
    /// Form tokens need a key, and the manager has none: its codec holds no secret to derive
    /// one from (a stateless manager on a verify-only ring) and none was given with
    /// [`csrf_token_secret`](crate::adapter::SessionManagerBuilder::csrf_token_secret).
    #[error("CSRF form tokens need a secret: call csrf_token_secret on the manager's builder")]
    NoCsrfKey,
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => SessionError::Conflict,
            other => SessionError::Store(other),
        }
    }
}

impl SessionError {
    /// The HTTP status adapters answer with: 503 for a transient store failure ([C14]), 409 for a
    /// conflict ([C8]), 403 for a refused CSRF token, 500 otherwise.
    ///
    /// [C14]: crate::manual::contracts#c14
    /// [C8]: crate::manual::contracts#c8
    pub fn status_code(&self) -> u16 {
        match self {
            SessionError::Store(e) if e.is_transient() => 503,
            SessionError::Conflict => 409,
            SessionError::Csrf(refusal) => refusal.status_code(),
            _ => 500,
        }
    }
}

/// Why reading or writing session data failed ([C15]).
///
/// Neither `Display`, `Debug` nor the source chain quotes a stored value: serde's message is kept
/// with the offending value cut out ([`ShapeError`]).
///
/// [C15]: crate::manual::contracts#c15
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The stored value under `key` does not fit the requested type.
    #[error("session value {key:?} has an unexpected shape")]
    Deserialize {
        /// The data key.
        key: String,
        /// What serde said, without the value.
        #[source]
        source: ShapeError,
    },
    /// The session data as a whole does not fit the requested type.
    #[error("session data has an unexpected shape")]
    Schema(#[source] ShapeError),
    /// The value could not be serialised.
    #[error("value could not be serialised")]
    Serialize(#[source] ShapeError),
    /// A whole-session value must serialise to a JSON object.
    #[error("session data must be a JSON object")]
    NotAnObject,
    /// The key is reserved for the session token's own claims.
    #[error("{0:?} is a reserved session key")]
    ReservedKey(String),
}

/// What serde said about a value that did not fit, with every quoted part (the value itself, a
/// variant name taken from the data) cut out: `invalid type: string "hunter2", expected u32`
/// becomes `invalid type: string, expected u32`. Field names in `missing field` messages stay:
/// they come from the application's type, not from the data.
///
/// ```
/// # use session_core::testing::detached_session;
/// let session = detached_session();
/// session.insert("pin", "hunter2")?;
/// let err = session.get::<u32>("pin").unwrap_err();
/// let source = std::error::Error::source(&err).unwrap().to_string();
/// assert_eq!(source, "invalid type: string, expected u32");
/// assert!(!format!("{err:?}").contains("hunter2"));
/// # Ok::<(), session_core::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(String);

impl From<&serde_json::Error> for ShapeError {
    fn from(e: &serde_json::Error) -> Self {
        ShapeError(redact_quoted(&e.to_string()))
    }
}

/// `message` without its quoted (`"..."` or `` `...` ``) parts, except a missing field's name.
fn redact_quoted(message: &str) -> String {
    if message.starts_with("missing field") {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut quote = None;
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (None, '"' | '`') => {
                quote = Some(c);
                if out.ends_with(' ') {
                    out.pop();
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out
}
