//! [`Answer`]: a response described without a framework. Every failure a binding answers (a
//! rejection, a handler's [`Error`](crate::Error), a failed load or commit) becomes an `Answer`
//! here, and each framework module turns it into its own response type in one function.

use session_core::{adapter::Denial, SessionError};

use crate::extract::SessionRejection;

/// Status, optional `Location`, and a plain-text body (the status's reason phrase unless a
/// message is given; empty for a redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code, reason = "read by whichever framework features are enabled")]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) message: Option<String>,
    /// A `WWW-Authenticate` header value (a refused or missing bearer credential).
    pub(crate) challenge: Option<&'static str>,
}

#[allow(
    dead_code,
    reason = "called by whichever framework features are enabled"
)]
impl Answer {
    /// A plain response with `status` and its reason phrase.
    pub(crate) fn status(status: u16) -> Answer {
        Answer {
            status,
            location: None,
            message: None,
            challenge: None,
        }
    }

    /// The answer to a failed load or commit: its status, no `Set-Cookie` (core has logged it).
    pub(crate) fn session_error(error: &SessionError) -> Answer {
        Answer::status(error.status_code())
    }
}

impl From<&Denial> for Answer {
    fn from(denial: &Denial) -> Answer {
        Answer {
            status: denial.status_code(),
            location: denial.location().map(str::to_owned),
            message: None,
            challenge: None,
        }
    }
}

impl From<&SessionRejection> for Answer {
    fn from(rejection: &SessionRejection) -> Answer {
        match rejection {
            SessionRejection::MissingMiddleware => {
                tracing::error!("{rejection}");
                Answer {
                    message: Some(rejection.to_string()),
                    ..Answer::status(500)
                }
            }
            SessionRejection::LoadFailed(status) => Answer::status(*status),
            SessionRejection::Denied(denial) => denial.into(),
            #[cfg(feature = "auth")]
            SessionRejection::MissingApiTokens => {
                tracing::error!("{rejection}");
                Answer {
                    message: Some(rejection.to_string()),
                    ..Answer::status(500)
                }
            }
            #[cfg(feature = "auth")]
            SessionRejection::Bearer(refusal) => Answer {
                challenge: refusal.challenge,
                ..Answer::status(refusal.status)
            },
        }
    }
}

impl From<&crate::Error> for Answer {
    /// Logs the error once, where it becomes a response.
    fn from(error: &crate::Error) -> Answer {
        Answer::status(error.report())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denied_page_request_is_a_bare_redirect() {
        let answer = Answer::from(&SessionRejection::Denied(Denial::Redirect("/login".into())));
        assert_eq!(answer.status, 303);
        assert_eq!(answer.location.as_deref(), Some("/login"));
    }

    #[test]
    fn a_missing_middleware_names_the_fix() {
        let answer = Answer::from(&SessionRejection::MissingMiddleware);
        assert_eq!(answer.status, 500);
        assert!(answer
            .message
            .unwrap()
            .contains("SessionLayer::new(manager)"));
    }
}
