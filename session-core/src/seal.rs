//! [`Sealer`]: authenticated encryption of small values kept at rest (OAuth access and refresh
//! tokens in a database), each bound to its owner so a sealed value copied to another row does
//! not open there.
//!
//! The format is versioned text, `v1.<kid>.<nonce>.<ciphertext and tag>` (base64url, no
//! padding): AES-256-GCM with a random 96-bit nonce from the operating system, the version, the
//! `kid` and the caller's associated data authenticated with it. The key is derived from a
//! master [`Secret`] with HKDF for this purpose only, so it is neither a cookie key nor a JWE key;
//! a ring of older secrets opens values sealed before a rotation.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use crate::b64;
use crate::codec::fingerprint;
use crate::secret::Secret;

const VERSION: &str = "v1";
const HKDF_INFO: &[u8] = b"session-core sealer v1";

/// Why a sealed value could not be opened or made. The message never holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Not a sealed value of a known version.
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under a key the ring does not hold.
    #[error("sealed under an unknown key")]
    UnknownKid,
    /// The value, the key or the associated data do not match (one reason whatever went wrong).
    #[error("the sealed value does not open with this key and associated data")]
    Undecryptable,
    /// The operating system's random generator failed.
    #[error("sealing failed")]
    Seal,
}

/// Seals and opens values at rest with AES-256-GCM.
///
/// ```
/// use session_core::{codec::{SealError, Sealer}, Secret};
///
/// let sealer = Sealer::new(&Secret::from_bytes(vec![9u8; 32])?);
/// // Bind the token to its owner and what it is.
/// let sealed = sealer.seal(b"gho_16C7e42F292c6912E7710c838347Ae178B4a", b"user-42/github/access")?;
/// assert!(sealed.starts_with("v1."));
/// assert_eq!(sealer.open(&sealed, b"user-42/github/access")?, b"gho_16C7e42F292c6912E7710c838347Ae178B4a");
/// // In another user's row it does not open.
/// assert_eq!(sealer.open(&sealed, b"user-7/github/access"), Err(SealError::Undecryptable));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Sealer {
    ring: Vec<SealKey>,
}

#[derive(Clone)]
struct SealKey {
    kid: String,
    cipher: Box<Aes256Gcm>,
}

impl SealKey {
    fn derive(master: &Secret) -> Self {
        let key = master.derive_with_info(&[HKDF_INFO]);
        // Invariant: HKDF output is 32 bytes, the AES-256 key length.
        let cipher = Aes256Gcm::new_from_slice(&key.expose()[..32]).expect("a 32-byte key");
        SealKey {
            kid: fingerprint(key.expose()),
            cipher: Box::new(cipher),
        }
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.ring.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("Sealer").field("kids", &kids).finish()
    }
}

impl Sealer {
    /// A sealer whose key is derived from `master`.
    pub fn new(master: &Secret) -> Self {
        Sealer {
            ring: vec![SealKey::derive(master)],
        }
    }

    /// Also opens values sealed under an older master secret (rotation); new values are
    /// sealed under the first.
    pub fn with_previous(mut self, old_master: &Secret) -> Self {
        self.ring.push(SealKey::derive(old_master));
        self
    }

    /// `plaintext` sealed, bound to `associated_data` (e.g. `owner/provider/kind`).
    ///
    /// # Errors
    ///
    /// [`SealError::Seal`] if the operating system's random generator fails.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<String, SealError> {
        let key = &self.ring[0];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Seal)?;
        let aad = full_aad(&key.kid, associated_data);
        let ciphertext = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = format!("{VERSION}.{}.", key.kid);
        b64::encode_into(&nonce, &mut out);
        out.push('.');
        b64::encode_into(&ciphertext, &mut out);
        Ok(out)
    }

    /// The plaintext of `sealed`, if it was sealed by this ring with this `associated_data`.
    ///
    /// # Errors
    ///
    /// [`SealError::Malformed`] for anything but a `v1` sealed value, [`SealError::UnknownKid`]
    /// for another key's, [`SealError::Undecryptable`] when it does not authenticate.
    pub fn open(&self, sealed: &str, associated_data: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(kid), Some(nonce), Some(ciphertext), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SealError::Malformed);
        };
        let key = self
            .ring
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(SealError::UnknownKid)?;
        let nonce: [u8; 12] = b64::decode_array(nonce).ok_or(SealError::Malformed)?;
        let ciphertext = b64::decode(ciphertext).ok_or(SealError::Malformed)?;
        let aad = full_aad(&key.kid, associated_data);
        key.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Undecryptable)
    }
}

/// The version and `kid` are authenticated too, with the caller's data after a separator.
fn full_aad(kid: &str, associated_data: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VERSION.len() + kid.len() + 2 + associated_data.len());
    aad.extend_from_slice(VERSION.as_bytes());
    aad.push(b'.');
    aad.extend_from_slice(kid.as_bytes());
    aad.push(0);
    aad.extend_from_slice(associated_data);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sealer(fill: u8) -> Sealer {
        Sealer::new(&Secret::from_bytes(vec![fill; 32]).unwrap())
    }

    #[test]
    fn every_changed_character_and_truncation_fails_to_open() {
        let sealer = sealer(1);
        let sealed = sealer.seal(b"refresh-token-value", b"u/p/refresh").unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone().into_bytes();
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(sealer.open(&tampered, b"u/p/refresh").is_err(), "byte {i}");
        }
        for len in 0..sealed.len() {
            assert!(
                sealer.open(&sealed[..len], b"u/p/refresh").is_err(),
                "length {len}"
            );
        }
    }

    #[test]
    fn a_rotated_ring_opens_old_values_and_seals_under_the_new_key() {
        let old = sealer(1);
        let sealed = old.seal(b"v", b"aad").unwrap();
        let rotated = sealer(2).with_previous(&Secret::from_bytes(vec![1; 32]).unwrap());
        assert_eq!(rotated.open(&sealed, b"aad").unwrap(), b"v");
        let fresh = rotated.seal(b"v", b"aad").unwrap();
        assert_eq!(old.open(&fresh, b"aad"), Err(SealError::UnknownKid));
    }

    #[test]
    fn nonces_are_fresh_and_the_output_hides_the_value() {
        let sealer = sealer(3);
        let a = sealer.seal(b"same secret", b"").unwrap();
        let b = sealer.seal(b"same secret", b"").unwrap();
        assert_ne!(a, b);
        assert!(!a.contains("same"));
        assert!(!format!("{sealer:?}").contains("3, 3"));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_opens_or_panics(input in ".{0,200}") {
            prop_assert!(sealer(4).open(&input, b"aad").is_err());
        }

        #[test]
        fn any_value_round_trips(value in proptest::collection::vec(any::<u8>(), 0..300), aad in proptest::collection::vec(any::<u8>(), 0..40)) {
            let sealer = sealer(5);
            let sealed = sealer.seal(&value, &aad).unwrap();
            prop_assert_eq!(sealer.open(&sealed, &aad).unwrap(), value);
        }
    }
}
