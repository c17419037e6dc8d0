//! The tracing events every mode and adapter shares, so each reason is logged once and the same
//! way (see ARCHITECTURE.md, Observability): a rejected cookie (INFO, with its `reason`), and a
//! failed load or commit (WARN, with the operation, the status and the error).

use crate::codec::RejectReason;
use crate::error::SessionError;

/// A presented cookie gives no session: INFO with the `reason`, never the value ([C2]).
///
/// [C2]: crate::manual::contracts#c2
pub(crate) fn log_rejection(reason: RejectReason) {
    tracing::info!(reason = reason.as_str(), "session cookie rejected");
}

/// Typed session data failed its shape or [`Validate`](crate::Validate) check: INFO with reason
/// `schema` and the check's message, never the data ([C2]).
///
/// [C2]: crate::manual::contracts#c2
pub(crate) fn log_invalid_data(why: &'static str) {
    tracing::info!(
        reason = RejectReason::Schema.as_str(),
        detail = why,
        "session cookie rejected"
    );
}

/// An unsafe request carrying the session cookie was refused as a forgery (S-27): WARN with the
/// `reason` and the method, never a header's value.
pub(crate) fn log_csrf_refusal(refusal: crate::csrf::CsrfRefusal, method: &str) {
    tracing::warn!(
        reason = refusal.reason(),
        method,
        "request refused as a cross-site request forgery"
    );
}

/// A manager operation whose failure is logged by [`log_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `SessionManager::load` (and `load_from_header`, which calls it).
    Load,
    /// `SessionManager::commit` (and `commit_for_status`, which calls it).
    Commit,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Load => "load",
            Operation::Commit => "commit",
        }
    }
}

/// A load or commit failed: one WARN event, emitted by the manager where the operation returns,
/// with the outcome as fields: `operation` (`load`, `commit`), `status` (what
/// [`SessionError::status_code`] tells adapters to answer) and `error` (its `Display`, which never
/// holds an id, a token, a key or a data value). Adapters log nothing more about it.
pub(crate) fn log_failure(operation: Operation, error: &SessionError) {
    tracing::warn!(
        operation = operation.as_str(),
        status = error.status_code(),
        error = %error,
        "session operation failed"
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{CapturedEvent, FaultyStore, LogCapture, StoreOp};
    use crate::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};

    fn failures(capture: &LogCapture) -> Vec<CapturedEvent> {
        capture
            .events()
            .into_iter()
            .filter(|e| e.field("message") == Some("session operation failed"))
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_load_and_a_failed_commit_each_log_one_warning() {
        let capture = LogCapture::new();
        let _guard = capture.install();
        let store = FaultyStore::new(MemoryStore::new());
        let switch = store.switch();
        let secret = Secret::from_bytes(vec![3; 32]).unwrap();
        let manager = SessionManager::stateful(&secret, store).build();
        let ctx = RequestContext::default;

        let session = manager.load(None, ctx()).await.unwrap();
        session.insert("n", 1).unwrap();
        let CookieUpdate::Set(set_cookie) = manager.commit(&session).await.unwrap() else {
            panic!("the first write sets a cookie");
        };
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        assert!(failures(&capture).is_empty());

        switch.fail(StoreOp::Load);
        let err = manager
            .load_from_header(Some(&cookie), ctx())
            .await
            .unwrap_err();
        let logged = failures(&capture);
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert_eq!(logged[0].level, tracing::Level::WARN);
        assert_eq!(logged[0].field("operation"), Some("load"));
        assert_eq!(logged[0].field("status"), Some("503"));
        assert_eq!(logged[0].field("error"), Some(err.to_string().as_str()));

        switch.heal();
        let session = manager
            .load_from_header(Some(&cookie), ctx())
            .await
            .unwrap();
        session.insert("n", 2).unwrap();
        switch.fail(StoreOp::Save);
        let err = manager.commit_for_status(&session, 200).await.unwrap_err();
        let logged = failures(&capture);
        assert_eq!(logged.len(), 2, "{logged:?}");
        assert_eq!(logged[1].level, tracing::Level::WARN);
        assert_eq!(logged[1].field("operation"), Some("commit"));
        assert_eq!(logged[1].field("status"), Some("503"));
        assert_eq!(logged[1].field("error"), Some(err.to_string().as_str()));

        let value = cookie.split_once('=').unwrap().1;
        for part in value.split('.') {
            capture.assert_never_contains(part);
        }
    }
}
