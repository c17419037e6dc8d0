//! [`SignedIdCodec`]: the stateful cookie, `<id>.<tag>`, where the tag is an HMAC-SHA256 of the id.
//!
//! A forged or altered id fails the tag check in the codec and never reaches the store.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Decoded, EncodeError, RejectReason, SessionCodec, MAX_COOKIE_VALUE_LEN};
use crate::b64;
use crate::id::{SessionId, SESSION_ID_BYTES};
use crate::secret::{KeyPurpose, Secret};
use crate::time::UnixTime;

const TAG_BYTES: usize = 32;
const ID_TEXT_LEN: usize = b64::encoded_len(SESSION_ID_BYTES);
const TAG_TEXT_LEN: usize = b64::encoded_len(TAG_BYTES);
/// Length of every value this codec issues: 43 + 1 + 43.
const VALUE_LEN: usize = ID_TEXT_LEN + 1 + TAG_TEXT_LEN;
/// Domain separation: a tag for this format can never be a valid MAC of anything else (the key
/// is derived for this purpose too). Short enough that context + id + SHA-256 padding fit one
/// 64-byte block: one compression per tag instead of two.
const TAG_CONTEXT: &[u8] = b"sid v2\0";
// 64 bytes per SHA-256 block, 9 of them for the padding's 0x80 byte and the length.
const _: () = assert!(TAG_CONTEXT.len() + SESSION_ID_BYTES + 9 <= 64);
/// The context of the first format's tags, still verified (as a stale key, so the cookie is
/// re-issued with a current tag) so an upgrade logs nobody out.
const TAG_CONTEXT_V1: &[u8] = b"session-core signed id v1\0";

/// An HMAC tag. Equality is constant-time ([S-05]); there is no way to compare raw tag bytes with
/// `==`:
///
/// ```compile_fail
/// use session_core::codec::Tag;
/// fn leaks(a: &Tag, b: &[u8; 32]) -> bool { a == b }
/// ```
///
/// [S-05]: crate::manual::contracts#s-05
#[derive(Clone, Copy)]
pub struct Tag([u8; TAG_BYTES]);

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for Tag {}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(<redacted>)")
    }
}

/// Signs session ids for stateful sessions. Holds a key ring: the first key signs, every key
/// verifies, so keys rotate without logging anyone out ([C11], [S-10]).
///
/// ```
/// use session_core::{codec::{SessionCodec, SignedIdCodec}, store::SessionId, Secret, UnixTime};
/// let codec = SignedIdCodec::new(&Secret::from_bytes(vec![3u8; 32])?);
/// let id = SessionId::generate();
/// let now = UnixTime::now();
/// let cookie = codec.encode(&id, now)?;
/// assert_eq!(codec.decode(&cookie, now)?.payload, id);
/// assert!(codec.decode(&cookie.replace('.', "x"), now).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [C11]: crate::manual::contracts#c11
/// [S-10]: crate::manual::contracts#s-10
#[derive(Clone)]
pub struct SignedIdCodec {
    keys: Vec<Hmac<Sha256>>,
    /// The master secrets, newest first, for [`SessionCodec::derive_keys`].
    masters: Vec<Secret>,
}

impl SignedIdCodec {
    /// A codec whose tag key is derived from `master` for this purpose only ([S-12]).
    ///
    /// [S-12]: crate::manual::contracts#s-12
    pub fn new(master: &Secret) -> Self {
        SignedIdCodec {
            keys: vec![Self::mac(master)],
            masters: vec![master.clone()],
        }
    }

    /// Adds an older master secret that still verifies but no longer signs.
    pub fn with_previous(mut self, old_master: &Secret) -> Self {
        self.keys.push(Self::mac(old_master));
        self.masters.push(old_master.clone());
        self
    }

    fn mac(master: &Secret) -> Hmac<Sha256> {
        let key = master.derive(KeyPurpose::SignedId);
        // Invariant: HMAC accepts keys of any length.
        Hmac::new_from_slice(key.expose()).expect("HMAC takes keys of any length")
    }

    fn tag(key: &Hmac<Sha256>, id: &[u8; SESSION_ID_BYTES]) -> Tag {
        Self::tag_in(TAG_CONTEXT, key, id)
    }

    fn tag_in(context: &[u8], key: &Hmac<Sha256>, id: &[u8; SESSION_ID_BYTES]) -> Tag {
        let mut mac = key.clone();
        mac.update(context);
        mac.update(id);
        Tag(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for SignedIdCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIdCodec")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl SessionCodec for SignedIdCodec {
    type Payload = SessionId;

    fn encode(&self, id: &SessionId, _now: UnixTime) -> Result<String, EncodeError> {
        let tag = Self::tag(&self.keys[0], id.as_bytes());
        let mut out = String::with_capacity(VALUE_LEN);
        out.push_str(id.expose());
        out.push('.');
        b64::encode_into(&tag.0, &mut out);
        Ok(out)
    }

    fn decode(&self, value: &str, _now: UnixTime) -> Result<Decoded<SessionId>, RejectReason> {
        if value.len() > MAX_COOKIE_VALUE_LEN {
            return Err(RejectReason::TooLarge);
        }
        if value.len() != VALUE_LEN || value.as_bytes()[ID_TEXT_LEN] != b'.' {
            return Err(RejectReason::Malformed);
        }
        let (id_text, tag_text) = (&value[..ID_TEXT_LEN], &value[ID_TEXT_LEN + 1..]);
        let id = SessionId::parse(id_text).ok_or(RejectReason::Malformed)?;
        let presented =
            Tag(b64::decode_array::<TAG_BYTES>(tag_text).ok_or(RejectReason::Malformed)?);
        for (index, key) in self.keys.iter().enumerate() {
            if Self::tag(key, id.as_bytes()) == presented {
                return Ok(Decoded {
                    payload: id,
                    stale_key: index > 0,
                });
            }
        }
        if self
            .keys
            .iter()
            .any(|key| Self::tag_in(TAG_CONTEXT_V1, key, id.as_bytes()) == presented)
        {
            return Ok(Decoded {
                payload: id,
                stale_key: true,
            });
        }
        Err(RejectReason::BadSignature)
    }

    /// From the master secrets, the signing one first.
    fn derive_keys(&self, purpose: KeyPurpose) -> Vec<Secret> {
        self.masters
            .iter()
            .map(|master| master.derive(purpose))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codec() -> SignedIdCodec {
        SignedIdCodec::new(&Secret::from_bytes(vec![42u8; 32]).unwrap())
    }

    const NOW: UnixTime = UnixTime::from_secs(1_000);

    #[test]
    fn every_bit_flip_and_truncation_is_rejected() {
        let codec = codec();
        let value = codec.encode(&SessionId::generate(), NOW).unwrap();
        let bytes = value.as_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.to_vec();
                flipped[i] ^= 1 << bit;
                if let Ok(text) = std::str::from_utf8(&flipped) {
                    assert!(codec.decode(text, NOW).is_err(), "flip {i}:{bit} accepted");
                }
            }
        }
        for len in 0..value.len() {
            assert!(codec.decode(&value[..len], NOW).is_err());
        }
    }

    #[test]
    fn rotation_verifies_old_keys_and_flags_them() {
        let old = Secret::from_bytes(vec![1u8; 32]).unwrap();
        let new = Secret::from_bytes(vec![2u8; 32]).unwrap();
        let id = SessionId::generate();
        let issued_before = SignedIdCodec::new(&old).encode(&id, NOW).unwrap();
        let rotated = SignedIdCodec::new(&new).with_previous(&old);
        let decoded = rotated.decode(&issued_before, NOW).unwrap();
        assert_eq!(decoded.payload, id);
        assert!(decoded.stale_key);
        let reissued = rotated.encode(&id, NOW).unwrap();
        assert!(!rotated.decode(&reissued, NOW).unwrap().stale_key);
        assert_eq!(
            SignedIdCodec::new(&new).decode(&issued_before, NOW),
            Err(RejectReason::BadSignature)
        );
    }

    #[test]
    fn a_first_format_tag_still_verifies_as_stale_so_it_is_reissued() {
        let codec = codec();
        let id = SessionId::generate();
        let v1 = SignedIdCodec::tag_in(TAG_CONTEXT_V1, &codec.keys[0], id.as_bytes());
        let issued_before = format!("{}.{}", id.expose(), b64::encode(&v1.0));
        let decoded = codec.decode(&issued_before, NOW).unwrap();
        assert_eq!(decoded.payload, id);
        assert!(decoded.stale_key, "re-issued under the current format");
        let reissued = codec.encode(&id, NOW).unwrap();
        assert_ne!(reissued, issued_before);
        assert!(!codec.decode(&reissued, NOW).unwrap().stale_key);
    }

    #[test]
    fn a_session_key_presented_as_a_cookie_is_rejected() {
        let id = SessionId::generate();
        let codec = codec();
        assert!(codec.decode(&id.key().to_hex(), NOW).is_err());
        let forged = format!("{}.{}", id.expose(), b64::encode(id.key().as_bytes()));
        assert_eq!(codec.decode(&forged, NOW), Err(RejectReason::BadSignature));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,200}") {
            let _ = codec().decode(&s, NOW);
        }

        #[test]
        fn round_trips(bytes in any::<[u8; 32]>()) {
            let id = SessionId::from_bytes(bytes);
            let c = codec();
            prop_assert_eq!(c.decode(&c.encode(&id, NOW).unwrap(), NOW).unwrap().payload, id);
        }

        #[test]
        fn prefixes_and_suffixes_are_rejected(prefix in "[A-Za-z0-9_.-]{0,5}", suffix in "[A-Za-z0-9_.-]{0,5}") {
            prop_assume!(!prefix.is_empty() || !suffix.is_empty());
            let c = codec();
            let value = c.encode(&SessionId::generate(), NOW).unwrap();
            let tampered = format!("{}{}{}", prefix, value, suffix);
            prop_assert!(c.decode(&tampered, NOW).is_err());
        }
    }
}
