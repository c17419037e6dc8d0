//! [`Error`]: what a handler returns when a session operation fails, so every handler in every
//! framework writes `?`:
//!
//! ```text
//! let n: u64 = session.get("visits")?.unwrap_or(0);
//! session.insert("visits", n + 1)?;
//! ```
//!
//! Each framework module turns it into that framework's response (Axum `IntoResponse`,
//! Actix-web `ResponseError`, Rocket `Responder`) with the status chosen here.

use std::fmt;

use session_core::{DataError, SessionError};

/// A failed session operation in a handler, answered with [`status_code`](Error::status_code):
/// a store outage 503 (the session cookie is kept: a 5xx commits nothing), a conflict 409, a data
/// error 500 (stored data that does not fit the type asked for is the server's problem, not the
/// client's). Logged once, at WARN, with the reason; neither error's text holds a token, an id,
/// a key or a data value.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Loading, saving or listing failed (store, conflict, encoding).
    Session(SessionError),
    /// A value did not fit its type, or could not be stored.
    Data(DataError),
}

impl Error {
    /// The HTTP status to answer: 503 for a transient store failure, 409 for a conflict, 500
    /// otherwise.
    ///
    /// ```
    /// use session_adapters::{DataError, Error};
    /// let error = Error::from(DataError::NotAnObject);
    /// assert_eq!(error.status_code(), 500);
    /// ```
    pub fn status_code(&self) -> u16 {
        match self {
            Error::Session(e) => e.status_code(),
            Error::Data(_) => 500,
        }
    }

    /// Logs the error (once, where it becomes a response) and returns the status to answer.
    #[allow(dead_code, reason = "used by whichever framework features are enabled")]
    pub(crate) fn report(&self) -> u16 {
        let status = self.status_code();
        tracing::warn!(error = %self, status, "session operation failed in a handler");
        status
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        Error::Session(e)
    }
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Self {
        Error::Data(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Session(e) => e.fmt(f),
            Error::Data(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Session(e) => Some(e),
            Error::Data(e) => Some(e),
        }
    }
}
