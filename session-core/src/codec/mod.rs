//! The [`SessionCodec`] trait (**API boundary**) and why a cookie was rejected ([`RejectReason`]).
//!
//! Codecs are pure and synchronous: they turn what travels in the cookie into a payload and back,
//! and never do I/O.

mod jwt;
mod signed_id;

use std::fmt;

pub use jwt::{
    JwtAlgorithm, JwtCodec, JwtCodecBuilder, JwtKey, TokenCodec, MAX_KID_LEN, MAX_PURPOSE_LEN,
    RESERVED_CLAIMS,
};
pub use signed_id::{SignedIdCodec, Tag};

use crate::time::UnixTime;

/// The longest cookie value a codec looks at; longer values are rejected before any decoding
/// (browsers drop cookies over 4096 bytes anyway).
pub const MAX_COOKIE_VALUE_LEN: usize = 4096;

/// Turns a payload into a cookie value and back.
///
/// Stateless codecs carry the whole record ([`JwtCodec`], `Payload = SessionRecord`); stateful ones
/// carry only the session id ([`SignedIdCodec`], `Payload = SessionId`), signed so forged ids never
/// reach the store. Object safe for a given payload type.
pub trait SessionCodec: Send + Sync + fmt::Debug + 'static {
    /// What the cookie carries.
    type Payload;

    /// The cookie value for `payload`, issued at `now`.
    fn encode(&self, payload: &Self::Payload, now: UnixTime) -> Result<String, EncodeError>;

    /// The payload in `value`, checked at `now`. Any failure is a [`RejectReason`], never a panic.
    fn decode(&self, value: &str, now: UnixTime) -> Result<Decoded<Self::Payload>, RejectReason>;
}

/// A successfully decoded cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<P> {
    /// What the cookie carried.
    pub payload: P,
    /// The cookie was signed with an older key of the ring: re-issue it under the current key.
    pub stale_key: bool,
}

/// Why a presented cookie (or token) gives no session (C2). Logged as the `reason` field.
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

/// Why a payload could not be turned into a cookie value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The data could not be serialised.
    #[error("session data could not be serialised")]
    Serialize(#[source] serde_json::Error),
    /// The signing backend failed.
    #[error("signing the session token failed")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The data uses a claim name the codec reserves.
    #[error("session data may not use the reserved key {0:?}")]
    ReservedKey(String),
}
