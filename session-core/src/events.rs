//! The tracing events every mode and adapter shares, so each reason is logged once and the same
//! way (see ARCHITECTURE.md, Observability).

use crate::codec::RejectReason;

/// A presented cookie gives no session: INFO with the `reason`, never the value (C2).
pub(crate) fn log_rejection(reason: RejectReason) {
    tracing::info!(reason = reason.as_str(), "session cookie rejected");
}

/// Typed session data failed its shape or [`Validate`](crate::Validate) check: INFO with reason
/// `schema` and the check's message, never the data (C2).
pub(crate) fn log_invalid_data(why: &'static str) {
    tracing::info!(
        reason = RejectReason::Schema.as_str(),
        detail = why,
        "session cookie rejected"
    );
}
