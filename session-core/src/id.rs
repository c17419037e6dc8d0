//! Branded identifiers: [`SessionId`] (the secret in the cookie), [`SessionKey`] (its SHA-256, the
//! only form a store ever sees) and [`UserId`].

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::b64;

/// Number of random bytes in a session id (256 bits).
pub const SESSION_ID_BYTES: usize = 32;

/// A session id: 256 bits from the operating system's CSPRNG, written as 43 base64url characters.
///
/// The id is a bearer secret. `Debug` and `Display` never show it; [`SessionId::expose`] is the one
/// explicit way to read it (to put it in a cookie). Stores never receive it: they get the
/// [`SessionKey`] from [`SessionId::key`].
///
/// ```
/// use session_core::store::SessionId;
/// let id = SessionId::generate();
/// assert_eq!(id.expose().len(), 43);
/// assert_eq!(format!("{id:?}"), "SessionId(<redacted>)");
/// assert_ne!(id.key(), SessionId::generate().key());
/// ```
#[derive(Clone)]
pub struct SessionId([u8; SESSION_ID_BYTES], String);

impl SessionId {
    /// A fresh id from the OS CSPRNG.
    ///
    /// # Panics
    /// Never in practice: only if the operating system cannot provide randomness at all, in which
    /// case no secure session can be made and continuing would be worse.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        // Invariant: getrandom only fails when the OS has no entropy source; we refuse to run then.
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self::from_bytes(bytes)
    }

    /// The id made of exactly these bytes (tests and codecs).
    pub fn from_bytes(bytes: [u8; SESSION_ID_BYTES]) -> Self {
        let text = b64::encode(&bytes);
        SessionId(bytes, text)
    }

    /// Parses the 43-character base64url form strictly; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        b64::decode_array::<SESSION_ID_BYTES>(text).map(|bytes| SessionId(bytes, text.to_owned()))
    }

    /// The id's text, for the cookie. Handle with care: this is the bearer secret.
    pub fn expose(&self) -> &str {
        &self.1
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; SESSION_ID_BYTES] {
        &self.0
    }

    /// The SHA-256 of the id: what stores use as the record's key.
    pub fn key(&self) -> SessionKey {
        SessionKey(Sha256::digest(self.0).into())
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for SessionId {}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// The SHA-256 of a [`SessionId`]: how stores key records ([C13], [S-04]).
///
/// A leaked database holds only keys, and a key presented as a cookie is hashed again and finds
/// nothing. `Debug` shows an 8-hex-digit fingerprint for log correlation, never the whole key.
///
/// [C13]: crate::manual::contracts#c13
/// [S-04]: crate::manual::contracts#s-04
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// A key from its 32 bytes (as read back from storage).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        SessionKey(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters: the form text-keyed stores use.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        s
    }

    /// Parses the 64-character lower-case hex form.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(SessionKey(out))
    }

    /// A short, non-secret fingerprint for logs: the first 8 hex digits.
    pub fn fingerprint(&self) -> String {
        self.to_hex()[..8].to_owned()
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({}…)", self.fingerprint())
    }
}

impl Serialize for SessionKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SessionKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SessionKey::from_hex(&text).ok_or_else(|| serde::de::Error::custom("invalid session key"))
    }
}

/// The application's identifier for a user ("branded", so it cannot be confused with a session id).
///
/// ```
/// use session_core::UserId;
/// let user = UserId::new("alice");
/// assert_eq!(user.as_str(), "alice");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Wraps the application's user id.
    pub fn new(id: impl Into<String>) -> Self {
        UserId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_43_base64url_chars_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = SessionId::generate();
            let text = id.expose();
            assert_eq!(text.len(), 43);
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            let parsed = SessionId::parse(text).expect("round trip");
            assert_eq!(parsed, id);
            assert!(seen.insert(text.to_owned()), "duplicate id");
        }
    }

    #[test]
    fn bit_frequency_is_balanced() {
        // A sanity check of the generator (S-01), not a proof of randomness.
        const N: usize = 20_000;
        let mut ones = [0u32; SESSION_ID_BYTES * 8];
        for _ in 0..N {
            let id = SessionId::generate();
            for (i, byte) in id.as_bytes().iter().enumerate() {
                for bit in 0..8 {
                    ones[i * 8 + bit] += u32::from((byte >> bit) & 1);
                }
            }
        }
        for count in ones {
            let freq = f64::from(count) / N as f64;
            assert!((0.47..=0.53).contains(&freq), "bit frequency {freq}");
        }
    }

    #[test]
    fn debug_never_shows_the_id_or_the_key() {
        let id = SessionId::generate();
        let key = id.key();
        assert!(!format!("{id:?}").contains(id.expose()));
        assert!(!format!("{key:?}").contains(&key.to_hex()));
        assert_eq!(SessionKey::from_hex(&key.to_hex()), Some(key));
    }

    #[test]
    fn parse_rejects_everything_but_canonical_ids() {
        assert!(SessionId::parse("").is_none());
        assert!(SessionId::parse(&"A".repeat(44)).is_none());
        assert!(SessionId::parse(&format!("{}=", "A".repeat(43))).is_none());
        let key_hex = SessionId::generate().key().to_hex();
        assert!(SessionId::parse(&key_hex).is_none());
    }
}
