//! Why a token could not be made, or a bearer request was refused.

use session_core::store::StoreError;

use super::header::MalformedHeader;
use super::secret::MalformedToken;

/// Why [`ApiTokens`](super::ApiTokens) could not create, list or revoke tokens. Never holds a
/// token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiTokenError {
    /// The name is empty, longer than [`MAX_NAME_LEN`](super::MAX_NAME_LEN) characters, or has
    /// control characters.
    #[error("an API token name is 1 to 100 characters without control characters")]
    InvalidName,
    /// A scope is empty, longer than [`MAX_SCOPE_LEN`](super::MAX_SCOPE_LEN) bytes, or not
    /// visible ASCII; or there are more than [`MAX_SCOPES`](super::MAX_SCOPES).
    #[error("API token scopes are at most 32 strings of 1 to 64 visible ASCII characters")]
    InvalidScope,
    /// A seed-app row whose hash is not 64 hex characters or whose prefix is not 8 lowercase
    /// hex characters ([`ApiTokens::import_legacy`](super::ApiTokens::import_legacy)).
    #[error("a seed-app API token row needs a 64-hex-character hash and an 8-character prefix")]
    InvalidSeedRow,
    /// A zero expiry.
    #[error("an API token's lifetime must be at least one second")]
    InvalidExpiry,
    /// The owner already has as many active tokens as the limit allows.
    #[error("the limit of {limit} active API tokens per user is reached")]
    LimitReached {
        /// The configured limit.
        limit: usize,
    },
    /// The operating system's random generator failed.
    #[error("no randomness for a new API token")]
    Randomness,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiTokenError {
    /// The HTTP status to answer: 400 for bad input, 409 at the limit, 503 while the store is
    /// down, 500 otherwise.
    ///
    /// ```
    /// use session_auth::api_tokens::ApiTokenError;
    /// assert_eq!(ApiTokenError::LimitReached { limit: 20 }.status_code(), 409);
    /// assert_eq!(ApiTokenError::InvalidName.status_code(), 400);
    /// ```
    pub fn status_code(&self) -> u16 {
        match self {
            ApiTokenError::InvalidName
            | ApiTokenError::InvalidScope
            | ApiTokenError::InvalidExpiry
            | ApiTokenError::InvalidSeedRow => 400,
            ApiTokenError::LimitReached { .. } => 409,
            ApiTokenError::Store(error) if error.is_transient() => 503,
            ApiTokenError::Randomness | ApiTokenError::Store(_) => 500,
        }
    }
}

/// Why a request presenting `Authorization` was refused. Every variant but
/// [`Unavailable`](Self::Unavailable) is a 401 with a `WWW-Authenticate: Bearer` challenge; none
/// falls back to the session cookie. Never holds the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// The `Authorization` header is not one well-formed bearer credential.
    #[error("malformed Authorization header ({})", .0.as_str())]
    Header(MalformedHeader),
    /// The credential is not shaped like this application's tokens.
    #[error("malformed API token ({})", .0.as_str())]
    Malformed(MalformedToken),
    /// No token has this hash (never issued, or issued under another secret).
    #[error("unknown API token")]
    Unknown,
    /// The token was revoked.
    #[error("revoked API token")]
    Revoked,
    /// The token's expiry has passed.
    #[error("expired API token")]
    Expired,
    /// The token store could not be asked: 503, the client may retry.
    #[error("the API token store is unavailable")]
    Unavailable(#[source] StoreError),
}

impl BearerError {
    /// The reason as logged and tested: the header's or token's malformation
    /// (`repeated_header`, `other_scheme`, `no_token`, `not_b64token`, `too_long`,
    /// `wrong_prefix`, `encoding`), or `unknown`, `revoked`, `expired`, `store_unavailable`.
    pub fn reason(&self) -> &'static str {
        match self {
            BearerError::Header(why) => why.as_str(),
            BearerError::Malformed(why) => why.as_str(),
            BearerError::Unknown => "unknown",
            BearerError::Revoked => "revoked",
            BearerError::Expired => "expired",
            BearerError::Unavailable(_) => "store_unavailable",
        }
    }

    /// 401, or 503 while the store is unavailable.
    pub fn status_code(&self) -> u16 {
        match self {
            BearerError::Unavailable(_) => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` value to answer with (RFC 6750 §3): `Bearer error="invalid_request"`
    /// for a malformed header, `Bearer error="invalid_token"` for a token that does not work;
    /// `None` for a 503.
    ///
    /// ```
    /// use session_auth::api_tokens::BearerError;
    /// assert_eq!(BearerError::Revoked.challenge(), Some(r#"Bearer error="invalid_token""#));
    /// ```
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            BearerError::Header(_) => Some(r#"Bearer error="invalid_request""#),
            BearerError::Unavailable(_) => None,
            _ => Some(r#"Bearer error="invalid_token""#),
        }
    }
}
