//! What can go wrong: talking to a provider ([`ProviderError`]), the sign-in flow
//! ([`AuthError`]) and getting a usable token ([`TokenError`]). Messages never hold a token, a
//! code, a verifier or a secret.

use session_core::store::StoreError;

/// A provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider could not be reached, or answered 5xx.
    #[error("the provider is unavailable")]
    Unavailable,
    /// The provider did not answer in time.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The provider answered something that is not what its API promises.
    #[error("the provider's answer could not be understood")]
    Garbage,
    /// The provider refused the request with an OAuth error code (`invalid_grant`,
    /// `bad_verification_code`, ...).
    #[error("the provider refused the request ({code})")]
    Refused {
        /// The provider's error code (never a token).
        code: String,
    },
    /// The provider refused the request with an HTTP status (401 from a user endpoint: the
    /// token does not work).
    #[error("the provider answered HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The provider refused this application's client credentials (`invalid_client`): a setup
    /// error, not the user's.
    #[error("the provider refused the client credentials")]
    Misconfigured,
}

impl ProviderError {
    /// The status to answer a browser with: 503, 504, 502, or 400 for a refused request (500
    /// for a client-credential error).
    pub fn status_code(&self) -> u16 {
        match self {
            ProviderError::Unavailable => 503,
            ProviderError::Timeout => 504,
            ProviderError::Garbage => 502,
            ProviderError::Refused { .. } | ProviderError::Status { .. } => 400,
            ProviderError::Misconfigured => 500,
        }
    }
}

/// Why a sign-in (start, callback or sign-out) failed. Each maps to a status and a message fit
/// for the user; [`reason`](Self::reason) is what the `tracing` event says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No provider with this name is configured.
    #[error("unknown sign-in provider")]
    UnknownProvider,
    /// The callback came without the flow cookie set by the sign-in start.
    #[error("the sign-in flow cookie is missing")]
    FlowMissing,
    /// The flow cookie does not open (forged or damaged), or the `state` does not match it.
    #[error("the sign-in state does not match")]
    StateMismatch,
    /// The flow cookie is past its lifetime.
    #[error("the sign-in flow expired")]
    FlowExpired,
    /// This flow's callback already ran once.
    #[error("the sign-in flow was already used")]
    FlowReplayed,
    /// The callback's query is not what a provider sends (missing `code`, repeated fields).
    #[error("the callback request is malformed")]
    BadCallback,
    /// The user declined at the provider, or the provider refused the authorization request.
    #[error("the provider did not authorize the sign-in ({code})")]
    Declined {
        /// The provider's `error` parameter.
        code: String,
    },
    /// A provider call failed (code exchange or user lookup).
    #[error("provider call failed: {0}")]
    Provider(#[from] ProviderError),
    /// The provider's user record lacks the account id.
    #[error("the provider's user record has no id")]
    NoAccountId,
    /// The application's sign-in hook refused this user.
    #[error("the application refused the sign-in")]
    Refused {
        /// What to tell the user.
        message: String,
    },
    /// The application's sign-in hook failed.
    #[error("the application's sign-in hook failed")]
    Hook(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Keeping the tokens failed.
    #[error("storing the provider tokens failed")]
    Tokens(#[from] TokenError),
}

impl AuthError {
    /// The HTTP status for this failure.
    ///
    /// ```
    /// use session_auth::{AuthError, ProviderError};
    /// assert_eq!(AuthError::StateMismatch.status_code(), 400);
    /// assert_eq!(AuthError::Provider(ProviderError::Timeout).status_code(), 504);
    /// ```
    pub fn status_code(&self) -> u16 {
        match self {
            AuthError::UnknownProvider => 404,
            AuthError::FlowMissing
            | AuthError::StateMismatch
            | AuthError::FlowExpired
            | AuthError::FlowReplayed
            | AuthError::BadCallback
            | AuthError::Declined { .. } => 400,
            AuthError::Provider(e) => e.status_code(),
            AuthError::NoAccountId => 502,
            AuthError::Refused { .. } => 403,
            AuthError::Hook(_) => 500,
            AuthError::Tokens(e) => e.status_code(),
        }
    }

    /// A short machine-readable reason for logs (`state_mismatch`, `provider_timeout`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::UnknownProvider => "unknown_provider",
            AuthError::FlowMissing => "flow_cookie_missing",
            AuthError::StateMismatch => "state_mismatch",
            AuthError::FlowExpired => "flow_expired",
            AuthError::FlowReplayed => "flow_replayed",
            AuthError::BadCallback => "bad_callback",
            AuthError::Declined { .. } => "declined_at_provider",
            AuthError::Provider(ProviderError::Unavailable) => "provider_unavailable",
            AuthError::Provider(ProviderError::Timeout) => "provider_timeout",
            AuthError::Provider(ProviderError::Garbage) => "provider_garbage",
            AuthError::Provider(ProviderError::Refused { .. }) => "provider_refused",
            AuthError::Provider(ProviderError::Status { .. }) => "provider_status",
            AuthError::Provider(ProviderError::Misconfigured) => "client_misconfigured",
            AuthError::NoAccountId => "no_account_id",
            AuthError::Refused { .. } => "refused_by_application",
            AuthError::Hook(_) => "hook_failed",
            AuthError::Tokens(_) => "token_store",
        }
    }

    /// What the error page tells the user.
    pub fn user_message(&self) -> String {
        match self {
            AuthError::UnknownProvider => "There is no such sign-in provider.".to_owned(),
            AuthError::FlowMissing
            | AuthError::StateMismatch
            | AuthError::FlowExpired
            | AuthError::FlowReplayed
            | AuthError::BadCallback => {
                "This sign-in link is no longer valid. Please start the sign-in again.".to_owned()
            }
            AuthError::Declined { .. } => "The sign-in was not authorized.".to_owned(),
            AuthError::Provider(ProviderError::Refused { .. } | ProviderError::Status { .. }) => {
                "The provider refused the sign-in. Please start again.".to_owned()
            }
            AuthError::Provider(ProviderError::Timeout) => {
                "The sign-in provider did not answer in time. Please try again.".to_owned()
            }
            AuthError::Provider(ProviderError::Unavailable) => {
                "The sign-in provider is unavailable. Please try again later.".to_owned()
            }
            AuthError::Provider(_) | AuthError::NoAccountId => {
                "The sign-in provider gave an answer we could not use.".to_owned()
            }
            AuthError::Refused { message } => message.clone(),
            AuthError::Hook(_) | AuthError::Tokens(_) => {
                "Signing in failed on our side. Please try again.".to_owned()
            }
        }
    }
}

/// Why no usable access token could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The user has no tokens for this provider: sign in with it first.
    #[error("no tokens are stored for this user and provider")]
    NotLinked,
    /// The user must sign in with the provider again.
    #[error("sign in with the provider again: {0}")]
    SignInAgain(SignInAgain),
    /// A stored token does not open: the row was changed outside the vault, or sealed with a
    /// key this vault does not hold. Nothing is sent to the provider.
    #[error("a stored token cannot be opened")]
    Unreadable,
    /// Refreshing failed for a reason that may pass (provider down, slow or confused).
    #[error("refreshing the token failed: {0}")]
    Provider(ProviderError),
    /// The token store failed.
    #[error("token store: {0}")]
    Store(#[from] StoreError),
    /// Sealing failed (the operating system's random generator).
    #[error("sealing the token failed")]
    Seal,
}

/// Why the user has to sign in with the provider again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignInAgain {
    /// The access token expired and the provider gives no refresh tokens (a GitHub OAuth app).
    #[error("the access token expired and cannot be refreshed")]
    NoRefreshToken,
    /// The provider refused the refresh token (`invalid_grant`): revoked, expired or rotated
    /// away. The account is marked disconnected.
    #[error("the provider refused the refresh token")]
    RefreshRefused,
    /// The account was marked disconnected earlier.
    #[error("the account is disconnected")]
    Disconnected,
}

impl TokenError {
    /// The HTTP status for this failure: 401 when the user has to sign in again, 503/504/502
    /// for the provider, 503 or 500 for the store.
    pub fn status_code(&self) -> u16 {
        match self {
            TokenError::NotLinked | TokenError::SignInAgain(_) => 401,
            TokenError::Provider(e) => match e.status_code() {
                400 => 401,
                other => other,
            },
            TokenError::Store(e) if e.is_transient() => 503,
            TokenError::Store(_) | TokenError::Unreadable | TokenError::Seal => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_request_names_the_code_and_nothing_else() {
        let error = AuthError::Provider(ProviderError::Refused {
            code: "bad_verification_code".into(),
        });
        assert_eq!(
            error.to_string(),
            "provider call failed: the provider refused the request (bad_verification_code)"
        );
        assert_eq!(error.status_code(), 400);
    }
}
