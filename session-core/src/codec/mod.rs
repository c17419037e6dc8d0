//! For codec authors and for choosing what travels in the cookie: the [`SessionCodec`] trait
//! (**API boundary**), why a cookie was rejected ([`RejectReason`]), the codecs
//! ([`JwtCodec`] signs the whole session, [`JweCodec`] encrypts it, [`SignedIdCodec`] carries a
//! stateful session's id, [`TokenCodec`] signs application tokens), and the [`Sealer`] for
//! values kept at rest.
//!
//! Codecs are pure and synchronous: they turn what travels in the cookie into a payload and back,
//! and never do I/O.

mod claims;
mod jwe;
mod jwt;
mod reject;
mod signed_id;

use std::fmt;

pub use claims::ForeignClaims;
pub use jwe::{JweAlgorithm, JweCodec, JweCodecBuilder, JweEncryption, JweKey};
pub(crate) use jwt::fingerprint;
pub use jwt::{
    JwtAlgorithm, JwtCodec, JwtCodecBuilder, JwtKey, TokenCodec, MAX_KID_LEN, MAX_PURPOSE_LEN,
    RESERVED_CLAIMS,
};
pub use reject::RejectReason;

// Sealing values at rest uses the same AEAD as the encrypted cookies.
pub use crate::seal::{SealError, Sealer};
pub use signed_id::{SignedIdCodec, Tag};

use crate::secret::{KeyPurpose, Secret};
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

    /// Keys for `purpose`, derived (HKDF) from the keys of this codec's ring that hold a
    /// secret, the key it issues values with first: the manager's own keyed features need no
    /// second secret. Form tokens ([`Session::csrf_token`](crate::Session::csrf_token)) are
    /// made with the first and checked against all, so a key rotation keeps the forms already
    /// rendered valid, as it keeps the cookies, unless
    /// [`csrf_token_secret`](crate::adapter::SessionManagerBuilder::csrf_token_secret) sets their
    /// key. A derived key reveals nothing of the codec's key.
    ///
    /// Empty, the default, for a codec that issues no values or has no secret to derive from (a
    /// verify-only ring, a public key).
    ///
    /// ```
    /// use session_core::{codec::SessionCodec, config::KeyPurpose, JwtCodec, Secret};
    /// let secret = Secret::from_bytes(vec![7u8; 32])?;
    /// let keys = JwtCodec::hs256(&secret)?.derive_keys(KeyPurpose::CsrfToken);
    /// assert_eq!(keys.len(), 1);
    /// assert_ne!(keys[0].expose(), secret.expose());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn derive_keys(&self, purpose: KeyPurpose) -> Vec<Secret> {
        let _ = purpose;
        Vec::new()
    }
}

/// A successfully decoded cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<P> {
    /// What the cookie carried.
    pub payload: P,
    /// The cookie was signed with an older key of the ring: re-issue it under the current key.
    pub stale_key: bool,
}

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
    /// The operating system's random generator failed, or the cipher refused the input.
    #[error("encrypting the session token failed")]
    Encrypt,
}
