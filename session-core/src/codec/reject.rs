//! [`RejectReason`]: why a presented cookie (or token) gives no session, as a codec or the
//! manager decides it and as the `reason` field of the rejection event logs it.

use std::fmt;

/// Why a presented cookie (or token) gives no session ([C2]). Logged as the `reason` field.
///
/// [C2]: crate::manual::contracts#c2
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Not the expected shape (segments, base64url, JSON, UTF-8).
    Malformed,
    /// Longer than any valid value.
    TooLarge,
    /// The signature or tag does not verify.
    BadSignature,
    /// The token names another algorithm than the configured one (including `none`).
    WrongAlg,
    /// The token's `typ` is not the configured one.
    WrongType,
    /// The token names a key id the ring does not hold.
    UnknownKid,
    /// Past its expiry (beyond the leeway).
    Expired,
    /// Issued in the future or not valid yet (beyond the leeway).
    NotYetValid,
    /// A claim is missing or of the wrong type, or `aud`/`iss` do not match.
    Schema,
    /// A validly signed id that the store does not know.
    UnknownId,
    /// The stored record could not be read.
    CorruptRecord,
    /// Idle for longer than the idle timeout.
    IdleTimeout,
    /// Revoked by "log out everywhere".
    Revoked,
}

impl RejectReason {
    /// The snake_case name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::TooLarge => "too_large",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::WrongAlg => "wrong_alg",
            RejectReason::WrongType => "wrong_type",
            RejectReason::UnknownKid => "unknown_kid",
            RejectReason::Expired => "expired",
            RejectReason::NotYetValid => "not_yet_valid",
            RejectReason::Schema => "schema",
            RejectReason::UnknownId => "unknown_id",
            RejectReason::CorruptRecord => "corrupt_record",
            RejectReason::IdleTimeout => "idle_timeout",
            RejectReason::Revoked => "revoked",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for RejectReason {}
