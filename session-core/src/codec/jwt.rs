//! [`JwtCodec`]: stateless sessions in a signed JWT (JWS compact form), interoperable with the
//! `jose` npm library; [`TokenCodec`]: signed tokens for other application purposes, which can
//! never be taken for sessions (or for each other).
//!
//! The framing (segments, strict base64url, header and claim checks) is done here so every byte is
//! checked the same way whatever the algorithm. The algorithm is fixed by configuration and never
//! read from the token to choose how to verify ([C12], [S-13]).
//!
//! Cryptography: HMAC (HS256/384/512) uses the RustCrypto `hmac` and `sha2` crates directly with
//! a key prepared once; RS256, ES256 and EdDSA go through `jsonwebtoken`'s RustCrypto provider
//! (`jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER`), named explicitly. Nothing here calls
//! `jsonwebtoken`'s process-wide default provider, so another crate that installs a different
//! default, or enables `jsonwebtoken`'s `aws_lc_rs` feature next to `rust_crypto` (which leaves
//! a default that panics on every call), changes nothing for these codecs.
//!
//! [C12]: crate::manual::contracts#c12
//! [S-13]: crate::manual::contracts#s-13

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER as RUST_CRYPTO;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::claims::{record_from_claims, ClaimRules, Claims};
use super::{Decoded, EncodeError, RejectReason, SessionCodec, MAX_COOKIE_VALUE_LEN};
use crate::b64;
use crate::record::SessionRecord;
use crate::secret::{KeyError, KeyPurpose, Secret};
use crate::time::UnixTime;

/// Claim names the session token uses itself; session data may not use them.
pub const RESERVED_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "ses"];

/// The `typ` header session tokens carry (RFC 8725 §3.11), so no other kind of token signed with
/// the same key is accepted as a session.
pub(crate) const SESSION_TOKEN_TYPE: &str = "session+jwt";

/// The longest key id (`kid`) accepted, in bytes ([S-11]: a bounded, untrusted map key). Room for
/// an RFC 7638 SHA-512 thumbprint (86 characters), which Auth.js uses.
///
/// [S-11]: crate::manual::contracts#s-11
pub const MAX_KID_LEN: usize = 128;

/// The longest [`TokenCodec`] purpose name, in bytes.
pub const MAX_PURPOSE_LEN: usize = 32;

/// The claims [`TokenCodec::encode`] sets itself; application claims may not use them.
const APP_TOKEN_TIME_CLAIMS: &[&str] = &["iat", "nbf", "exp"];

/// The signature algorithms a [`JwtCodec`] can be configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 (the default).
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl JwtAlgorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::HS384 => "HS384",
            JwtAlgorithm::HS512 => "HS512",
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::ES256 => "ES256",
            JwtAlgorithm::EdDSA => "EdDSA",
        }
    }

    fn backend(self) -> Algorithm {
        match self {
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::HS384 => Algorithm::HS384,
            JwtAlgorithm::HS512 => Algorithm::HS512,
            JwtAlgorithm::RS256 => Algorithm::RS256,
            JwtAlgorithm::ES256 => Algorithm::ES256,
            JwtAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }

    /// The minimum HMAC key length (the hash output size), or `None` for asymmetric algorithms.
    pub fn min_secret_len(self) -> Option<usize> {
        match self {
            JwtAlgorithm::HS256 => Some(32),
            JwtAlgorithm::HS384 => Some(48),
            JwtAlgorithm::HS512 => Some(64),
            _ => None,
        }
    }
}

/// One key of a [`JwtCodec`]'s ring: an algorithm, a key id (`kid`) and the key itself.
///
/// ```
/// use session_core::{codec::{JwtAlgorithm, JwtKey}, Secret};
/// let key = JwtKey::hmac(JwtAlgorithm::HS256, &Secret::from_bytes(vec![5u8; 32])?)?;
/// assert_eq!(key.algorithm(), JwtAlgorithm::HS256);
/// assert_eq!(key.kid().len(), 12); // a fingerprint of the key
/// # Ok::<(), session_core::config::KeyError>(())
/// ```
#[derive(Clone)]
pub struct JwtKey {
    alg: JwtAlgorithm,
    kid: String,
    material: KeyMaterial,
    /// What keys are derived from ([`SessionCodec::derive_keys`]); `None` for a verify-only key.
    lent: Option<Secret>,
}

#[derive(Clone)]
enum KeyMaterial {
    /// Prepared once: signing and verifying clone the keyed state (boxed: HMAC-SHA512 state is
    /// several hundred bytes).
    Hmac(Box<HmacKey>),
    /// Signed and verified through `jsonwebtoken`'s RustCrypto provider, named explicitly.
    Asymmetric {
        signing: Option<EncodingKey>,
        verifying: DecodingKey,
    },
}

#[derive(Clone)]
enum HmacKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl HmacKey {
    fn new(alg: JwtAlgorithm, secret: &[u8]) -> Option<Self> {
        // `new_from_slice` only fails for fixed-size-key MACs; HMAC takes keys of any length.
        Some(match alg {
            JwtAlgorithm::HS256 => HmacKey::Hs256(Mac::new_from_slice(secret).ok()?),
            JwtAlgorithm::HS384 => HmacKey::Hs384(Mac::new_from_slice(secret).ok()?),
            JwtAlgorithm::HS512 => HmacKey::Hs512(Mac::new_from_slice(secret).ok()?),
            _ => return None,
        })
    }

    /// Appends `.` and the base64url tag of everything in `token` so far (the signing input).
    fn sign_appending(&self, token: &mut String) {
        fn append(tag: &[u8], token: &mut String) {
            token.push('.');
            b64::encode_into(tag, token);
        }
        let message = token.as_bytes();
        match self {
            HmacKey::Hs256(k) => append(
                &k.clone().chain_update(message).finalize().into_bytes(),
                token,
            ),
            HmacKey::Hs384(k) => append(
                &k.clone().chain_update(message).finalize().into_bytes(),
                token,
            ),
            HmacKey::Hs512(k) => append(
                &k.clone().chain_update(message).finalize().into_bytes(),
                token,
            ),
        }
    }

    /// Constant-time check of `tag` (RFC 7518 §3.2, [S-05]).
    ///
    /// [S-05]: crate::manual::contracts#s-05
    fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        match self {
            HmacKey::Hs256(k) => k.clone().chain_update(message).verify_slice(tag).is_ok(),
            HmacKey::Hs384(k) => k.clone().chain_update(message).verify_slice(tag).is_ok(),
            HmacKey::Hs512(k) => k.clone().chain_update(message).verify_slice(tag).is_ok(),
        }
    }
}

impl JwtKey {
    /// An HMAC key (HS256/384/512), at least as long as the hash output ([S-09]). The `kid` is a
    /// fingerprint of the key.
    ///
    /// ```
    /// use session_core::{codec::{JwtAlgorithm, JwtKey}, config::KeyError, Secret};
    /// let secret = Secret::from_bytes(vec![5u8; 32])?;
    /// assert!(JwtKey::hmac(JwtAlgorithm::HS256, &secret).is_ok());
    /// assert_eq!(
    ///     JwtKey::hmac(JwtAlgorithm::HS384, &secret).unwrap_err(),
    ///     KeyError::TooShort { min: 48, got: 32 }
    /// );
    /// # Ok::<(), KeyError>(())
    /// ```
    ///
    /// [S-09]: crate::manual::contracts#s-09
    pub fn hmac(alg: JwtAlgorithm, secret: &Secret) -> Result<Self, KeyError> {
        let invalid = KeyError::InvalidKey {
            what: "signing",
            algorithm: alg.name(),
        };
        let Some(min) = alg.min_secret_len() else {
            return Err(invalid);
        };
        if secret.len() < min {
            return Err(KeyError::TooShort {
                min,
                got: secret.len(),
            });
        }
        let key = HmacKey::new(alg, secret.expose()).ok_or(invalid)?;
        Ok(JwtKey {
            alg,
            kid: fingerprint(secret.expose()),
            material: KeyMaterial::Hmac(Box::new(key)),
            lent: Some(Secret::key_material(secret.expose())),
        })
    }

    /// An asymmetric key pair from PEM (RS256: PKCS#1 or PKCS#8 RSA; ES256: PKCS#8 P-256;
    /// EdDSA: PKCS#8 Ed25519). The `kid` is a fingerprint of the public key.
    ///
    /// ```
    /// use session_core::{codec::{JwtAlgorithm, JwtKey}, config::KeyError};
    /// assert!(matches!(
    ///     JwtKey::from_pem(JwtAlgorithm::ES256, b"not a key", b"not a key"),
    ///     Err(KeyError::InvalidKey { .. })
    /// ));
    /// ```
    pub fn from_pem(
        alg: JwtAlgorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> Result<Self, KeyError> {
        let mut key = Self::verify_only_pem(alg, public_pem)?;
        let invalid = KeyError::InvalidKey {
            what: "signing",
            algorithm: alg.name(),
        };
        let signing = match alg {
            JwtAlgorithm::RS256 => EncodingKey::from_rsa_pem(private_pem),
            JwtAlgorithm::ES256 => EncodingKey::from_ec_pem(private_pem),
            JwtAlgorithm::EdDSA => EncodingKey::from_ed_pem(private_pem),
            _ => return Err(invalid),
        }
        .map_err(|_| invalid)?;
        if let KeyMaterial::Asymmetric { signing: slot, .. } = &mut key.material {
            *slot = Some(signing);
        }
        key.lent = Some(Secret::key_material(private_pem));
        Ok(key)
    }

    /// A public key that only verifies (an old key kept during rotation, or a verify-only
    /// service).
    ///
    /// ```
    /// use session_core::{codec::{JwtAlgorithm, JwtKey}, config::KeyError};
    /// assert!(matches!(
    ///     JwtKey::verify_only_pem(JwtAlgorithm::HS256, b"-----BEGIN PUBLIC KEY-----"),
    ///     Err(KeyError::InvalidKey { what: "verifying", .. })
    /// ));
    /// ```
    pub fn verify_only_pem(alg: JwtAlgorithm, public_pem: &[u8]) -> Result<Self, KeyError> {
        let invalid = KeyError::InvalidKey {
            what: "verifying",
            algorithm: alg.name(),
        };
        let verifying = match alg {
            JwtAlgorithm::RS256 => DecodingKey::from_rsa_pem(public_pem),
            JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(public_pem),
            JwtAlgorithm::EdDSA => DecodingKey::from_ed_pem(public_pem),
            _ => return Err(invalid),
        }
        .map_err(|_| invalid)?;
        Ok(JwtKey {
            alg,
            kid: fingerprint(public_pem),
            material: KeyMaterial::Asymmetric {
                signing: None,
                verifying,
            },
            lent: None,
        })
    }

    /// Replaces the fingerprint `kid` with one of your choosing.
    ///
    /// The `kid` travels in the token's JSON header and is matched as an exact string against
    /// the ring, so the rule is strict: 1 to [`MAX_KID_LEN`] (128) bytes, each a visible ASCII
    /// character (`!` to `~`, 0x21..=0x7E: no spaces, no control characters, nothing outside
    /// ASCII). Anything else is [`KeyError::InvalidKid`], never truncated or altered.
    ///
    /// ```
    /// use session_core::{codec::{JwtAlgorithm, JwtKey}, config::KeyError, Secret};
    /// let key = JwtKey::hmac(JwtAlgorithm::HS256, &Secret::from_bytes(vec![5u8; 32])?)?;
    /// assert_eq!(key.clone().with_kid("2025-06")?.kid(), "2025-06");
    /// assert!(matches!(key.clone().with_kid("clé"), Err(KeyError::InvalidKid { .. })));
    /// assert!(matches!(key.with_kid("k".repeat(129)), Err(KeyError::InvalidKid { .. })));
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, KeyError> {
        let kid = kid.into();
        check_kid(&kid)?;
        self.kid = kid;
        Ok(self)
    }

    /// The key id written in the token header.
    ///
    /// ```
    /// use session_core::{codec::{JwtAlgorithm, JwtKey}, Secret};
    /// let key = JwtKey::hmac(JwtAlgorithm::HS256, &Secret::from_bytes(vec![5u8; 32])?)?;
    /// assert!(key.kid().bytes().all(|b| b.is_ascii_graphic()));
    /// # Ok::<(), session_core::config::KeyError>(())
    /// ```
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm.
    ///
    /// ```
    /// use session_core::{codec::{JwtAlgorithm, JwtKey}, Secret};
    /// let key = JwtKey::hmac(JwtAlgorithm::HS512, &Secret::from_bytes(vec![5u8; 64])?)?;
    /// assert_eq!(key.algorithm(), JwtAlgorithm::HS512);
    /// # Ok::<(), session_core::config::KeyError>(())
    /// ```
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }

    fn can_sign(&self) -> bool {
        match &self.material {
            KeyMaterial::Hmac(_) => true,
            KeyMaterial::Asymmetric { signing, .. } => signing.is_some(),
        }
    }

    fn verifies(&self, alg: JwtAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            KeyMaterial::Hmac(key) => key.verify(message, signature),
            KeyMaterial::Asymmetric { verifying, .. } => {
                // A key the provider cannot use verifies nothing.
                let Ok(verifier) = (RUST_CRYPTO.verifier_factory)(&alg.backend(), verifying) else {
                    return false;
                };
                verifier.verify(message, &signature.to_vec()).is_ok()
            }
        }
    }
}

/// Whether a token's `typ` header is acceptable: the configured one (case-insensitively), or,
/// with none configured, none or `JWT` (what `jose` writes by default).
pub(crate) fn typ_matches(expected: Option<&str>, typ: Option<&str>) -> bool {
    match (expected, typ) {
        (Some(expected), Some(t)) => expected.eq_ignore_ascii_case(t),
        (Some(_), None) => false,
        (None, None) => true,
        (None, Some(t)) => t.eq_ignore_ascii_case("JWT"),
    }
}

pub(crate) fn check_kid(kid: &str) -> Result<(), KeyError> {
    let reason = if kid.is_empty() {
        "empty"
    } else if kid.len() > MAX_KID_LEN {
        "longer than 128 bytes"
    } else if !kid.bytes().all(|b| b.is_ascii_graphic()) {
        "not visible ASCII (0x21..=0x7E)"
    } else {
        return Ok(());
    };
    Err(KeyError::InvalidKid { reason })
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("can_sign", &self.can_sign())
            .finish()
    }
}

pub(crate) fn fingerprint(material: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"session-core kid\0")
        .chain_update(material)
        .finalize();
    b64::encode(&digest[..9])
}

/// A key of the ring with its pre-encoded header (the header never changes for a key, so it is
/// encoded once and compared as text on decode).
#[derive(Clone)]
struct RingKey {
    key: JwtKey,
    header_b64: String,
}

/// Builds a [`JwtCodec`]. See [`JwtCodec::builder`].
#[derive(Debug, Clone)]
pub struct JwtCodecBuilder {
    alg: JwtAlgorithm,
    keys: Vec<JwtKey>,
    leeway: Duration,
    typ: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    require_nbf: bool,
}

impl JwtCodecBuilder {
    /// The key that signs (first call) or an older key that only verifies (later calls).
    pub fn key(mut self, key: JwtKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 15 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The `typ` header to issue and require (default `session+jwt`). `None` issues none and
    /// accepts tokens with no `typ` or `typ: JWT`: the shape `jose`'s `SignJWT` makes by default,
    /// for reading cookies of an existing application.
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(str::to_owned);
        self
    }

    /// Issue and require this `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Issue and require this `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Whether `nbf` must be present (default `true`; tokens this codec issues always carry it).
    /// Turn off to read tokens from `jose` apps that never set it.
    pub fn require_nbf(mut self, require: bool) -> Self {
        self.require_nbf = require;
        self
    }

    /// The codec. Every key must use the configured algorithm, and the first must be able to sign.
    pub fn build(self) -> Result<JwtCodec, KeyError> {
        let first = self.keys.first().ok_or(KeyError::EmptyRing)?;
        if !first.can_sign() {
            return Err(KeyError::InvalidKey {
                what: "signing",
                algorithm: self.alg.name(),
            });
        }
        let mut ring = Vec::with_capacity(self.keys.len());
        for key in self.keys {
            if key.alg != self.alg {
                return Err(KeyError::InvalidKey {
                    what: "verifying",
                    algorithm: self.alg.name(),
                });
            }
            let header_b64 = encode_header(self.alg, self.typ.as_deref(), &key.kid);
            ring.push(RingKey { key, header_b64 });
        }
        Ok(JwtCodec {
            alg: self.alg,
            ring,
            typ: self.typ,
            rules: ClaimRules {
                leeway: self.leeway.as_secs(),
                issuer: self.issuer,
                audience: self.audience,
                require_nbf: self.require_nbf,
                require_iat: true,
                foreign_jti: false,
                foreign: Default::default(),
            },
        })
    }
}

fn encode_header(alg: JwtAlgorithm, typ: Option<&str>, kid: &str) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(alg.name()));
    if let Some(typ) = typ {
        header.insert("typ".into(), Value::from(typ));
    }
    header.insert("kid".into(), Value::from(kid));
    // Invariant: a map of strings always serialises.
    b64::encode(&serde_json::to_vec(&header).expect("a JSON object of strings serialises"))
}

/// Stateless sessions: the whole record in a signed JWT.
///
/// It signs and accepts session tokens only (`typ: session+jwt` by default). For any other
/// signed token (password reset, email verification, ...) use a [`TokenCodec`]: it has its own
/// key and `typ`, so its tokens are never sessions.
///
/// ```
/// use session_core::{codec::SessionCodec, store::{SessionId, SessionRecord}, JwtCodec, Secret, UnixTime};
/// use std::time::Duration;
/// let codec = JwtCodec::hs256(&Secret::from_bytes(b"a very long secret of at least 32 bytes".to_vec())?)?;
/// let now = UnixTime::now();
/// let mut record = SessionRecord::new(SessionId::generate().key(), now, now + Duration::from_secs(3600));
/// record.data.insert("theme".into(), "dark".into());
/// let token = codec.encode(&record, now)?;
/// let back = codec.decode(&token, now)?.payload;
/// assert_eq!(back.data["theme"], "dark");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct JwtCodec {
    alg: JwtAlgorithm,
    ring: Vec<RingKey>,
    typ: Option<String>,
    rules: ClaimRules,
}

impl fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.ring.iter().map(|k| k.key.kid.as_str()).collect();
        f.debug_struct("JwtCodec")
            .field("alg", &self.alg)
            .field("kids", &kids)
            .field("typ", &self.typ)
            .field("rules", &self.rules)
            .finish()
    }
}

impl JwtCodec {
    /// A builder for `alg`; add keys with [`JwtCodecBuilder::key`].
    pub fn builder(alg: JwtAlgorithm) -> JwtCodecBuilder {
        JwtCodecBuilder {
            alg,
            keys: Vec::new(),
            leeway: Duration::from_secs(15),
            typ: Some(SESSION_TOKEN_TYPE.to_owned()),
            issuer: None,
            audience: None,
            require_nbf: true,
        }
    }

    /// HS256 with `secret` used as it is (so a `jose` app signing with the same secret
    /// interoperates) and the default settings.
    pub fn hs256(secret: &Secret) -> Result<Self, KeyError> {
        Self::builder(JwtAlgorithm::HS256)
            .key(JwtKey::hmac(JwtAlgorithm::HS256, secret)?)
            .build()
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }

    fn sign(&self, claims_json: &[u8]) -> Result<String, EncodeError> {
        let current = &self.ring[0];
        let mut token = String::with_capacity(
            current.header_b64.len() + b64::encoded_len(claims_json.len()) + 90,
        );
        token.push_str(&current.header_b64);
        token.push('.');
        b64::encode_into(claims_json, &mut token);
        match &current.key.material {
            KeyMaterial::Hmac(key) => key.sign_appending(&mut token),
            KeyMaterial::Asymmetric { signing, .. } => {
                // Invariant: the builder refuses a ring whose first key cannot sign.
                let key = signing.as_ref().expect("the first key of the ring signs");
                let signer = (RUST_CRYPTO.signer_factory)(&self.alg.backend(), key)
                    .map_err(EncodeError::Sign)?;
                let signature = signer
                    .try_sign(token.as_bytes())
                    .map_err(|e| EncodeError::Sign(e.into()))?;
                token.push('.');
                b64::encode_into(&signature, &mut token);
            }
        }
        Ok(token)
    }

    fn verify(&self, token: &str, now: UnixTime) -> Result<Verified, RejectReason> {
        if token.len() > MAX_COOKIE_VALUE_LEN {
            return Err(RejectReason::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(RejectReason::Malformed);
        };
        let candidates = self.keys_for_header(header)?;
        // Strict decoding of the signature: a lenient decoder would accept non-canonical
        // trailing bits, which would let a flipped bit pass (S-14).
        let signature = match b64::decode(signature) {
            Some(bytes) if !bytes.is_empty() => bytes,
            _ => return Err(RejectReason::Malformed),
        };
        let message = &token.as_bytes()[..header.len() + 1 + payload.len()];
        let index = candidates
            .into_iter()
            .find(|&index| self.ring[index].key.verifies(self.alg, message, &signature))
            .ok_or(RejectReason::BadSignature)?;
        let claims_bytes = b64::decode(payload).ok_or(RejectReason::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&claims_bytes).map_err(|_| RejectReason::Malformed)?;
        self.rules.check(&claims, now)?;
        Ok(Verified {
            claims,
            stale_key: index > 0,
        })
    }

    /// Which keys of the ring may have signed a token with this header segment.
    fn keys_for_header(&self, header_b64: &str) -> Result<Vec<usize>, RejectReason> {
        // Fast path: a header this codec issued, compared as text (headers are not secret).
        if let Some(index) = self.ring.iter().position(|k| k.header_b64 == header_b64) {
            return Ok(vec![index]);
        }
        let bytes = b64::decode(header_b64).ok_or(RejectReason::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| RejectReason::Malformed)?;
        match header.get("alg") {
            Some(Value::String(alg)) if alg == self.alg.name() => {}
            Some(Value::String(_)) => return Err(RejectReason::WrongAlg),
            _ => return Err(RejectReason::Malformed),
        }
        // Only alg, typ and kid: no embedded keys or URLs to follow (jwk, jku, x5u), no `crit`
        // extensions and no compression (S-11).
        if header
            .keys()
            .any(|k| !matches!(k.as_str(), "alg" | "typ" | "kid"))
        {
            return Err(RejectReason::Malformed);
        }
        let typ = match header.get("typ") {
            None => None,
            Some(Value::String(t)) => Some(t.as_str()),
            Some(_) => return Err(RejectReason::Malformed),
        };
        if !typ_matches(self.typ.as_deref(), typ) {
            return Err(RejectReason::WrongType);
        }
        match header.get("kid") {
            None => Ok((0..self.ring.len()).collect()),
            Some(Value::String(kid)) if kid.len() <= MAX_KID_LEN => self
                .ring
                .iter()
                .position(|k| k.key.kid.as_str() == kid.as_str())
                .map(|i| vec![i])
                .ok_or(RejectReason::UnknownKid),
            Some(_) => Err(RejectReason::UnknownKid),
        }
    }
}

struct Verified {
    claims: Claims,
    stale_key: bool,
}

impl SessionCodec for JwtCodec {
    type Payload = SessionRecord;

    fn encode(&self, record: &SessionRecord, now: UnixTime) -> Result<String, EncodeError> {
        let json = self.rules.session_claims_json(record, now)?;
        self.sign(&json)
    }

    fn decode(&self, token: &str, now: UnixTime) -> Result<Decoded<SessionRecord>, RejectReason> {
        let Verified { claims, stale_key } = self.verify(token, now)?;
        Ok(Decoded {
            payload: record_from_claims(&self.rules, claims, now)?,
            stale_key,
        })
    }

    /// From every key that can sign, the signing key (the ring's first) first.
    fn derive_keys(&self, purpose: KeyPurpose) -> Vec<Secret> {
        let lent = self
            .ring
            .iter()
            .filter_map(|ring_key| ring_key.key.lent.as_ref());
        lent.map(|material| material.derive(purpose)).collect()
    }
}

/// Signed tokens for one application purpose other than sessions: password-reset links, email
/// verification, invitations, API tokens.
///
/// A token of one kind can never be used as another (RFC 8725 §3.11-3.12, [S-12], [S-16]):
///
/// - the key is derived from the master secret with HKDF for this purpose only (info
///   `app token\0<purpose>`), so it is neither the session key ([`JwtCodec::hs256`] signs with
///   the secret as it is, for `jose` interop), nor
///   [`KeyPurpose::Jwt`](crate::config::KeyPurpose::Jwt), nor the
///   [`SignedIdCodec`](crate::codec::SignedIdCodec) key, nor another purpose's key;
/// - the `typ` header is `<purpose>+jwt`, required on decode, and a [`JwtCodec`] requires
///   `session+jwt` (or, configured for `jose` cookies, `JWT` or none), so each decoder refuses
///   the others' tokens with [`RejectReason::WrongType`] before any signature check.
///
/// Tokens are HS256 and checked exactly like session tokens, by the same code: fixed algorithm,
/// no header fields beyond `alg`, `typ` and `kid`, strict base64url, `exp`, `nbf` and `iat`
/// required numbers with the leeway (default 15 s).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use session_core::{codec::{RejectReason, SessionCodec, TokenCodec}, JwtCodec, Secret, UnixTime};
/// use std::time::Duration;
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Reset {
///     sub: String,
/// }
///
/// let secret = Secret::from_bytes(b"a very long secret of at least 32 bytes".to_vec())?;
/// let resets = TokenCodec::new(&secret, "password-reset")?;
/// let now = UnixTime::now();
/// let token = resets.encode(&Reset { sub: "alice".into() }, now, Duration::from_secs(900))?;
/// assert_eq!(resets.decode::<Reset>(&token, now)?.payload.sub, "alice");
///
/// // Pasted into the session cookie, it signs nobody in.
/// let sessions = JwtCodec::hs256(&secret)?;
/// assert_eq!(sessions.decode(&token, now).unwrap_err(), RejectReason::WrongType);
/// // Nor is it an email-verification token.
/// let verify = TokenCodec::new(&secret, "email-verify")?;
/// assert_eq!(verify.decode::<Reset>(&token, now).unwrap_err(), RejectReason::WrongType);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [S-12]: crate::manual::contracts#s-12
/// [S-16]: crate::manual::contracts#s-16
#[derive(Clone)]
pub struct TokenCodec {
    purpose: String,
    jwt: JwtCodec,
}

impl fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCodec")
            .field("purpose", &self.purpose)
            .field("jwt", &self.jwt)
            .finish()
    }
}

impl TokenCodec {
    /// Tokens for `purpose`, signed with a key derived from `master` for that purpose only.
    ///
    /// `purpose` names the kind of token and becomes its `typ` (`<purpose>+jwt`): 1 to
    /// [`MAX_PURPOSE_LEN`] (32) bytes of `a-z`, `0-9`, `-` and `.`, starting with a letter or
    /// digit. `session` is refused: its `typ` would be the session token's.
    ///
    /// ```
    /// use session_core::{codec::TokenCodec, config::KeyError, Secret};
    /// let secret = Secret::from_bytes(vec![8u8; 32])?;
    /// assert_eq!(TokenCodec::new(&secret, "invite")?.token_type(), "invite+jwt");
    /// for bad in ["", "session", "Password Reset", "-x", "a+jwt"] {
    ///     assert!(matches!(TokenCodec::new(&secret, bad), Err(KeyError::InvalidPurpose { .. })));
    /// }
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn new(master: &Secret, purpose: &str) -> Result<Self, KeyError> {
        check_purpose(purpose)?;
        let typ = format!("{purpose}+jwt");
        let jwt = JwtCodec::builder(JwtAlgorithm::HS256)
            .key(Self::key(master, purpose)?)
            .typ(Some(&typ))
            .build()?;
        Ok(TokenCodec {
            purpose: purpose.to_owned(),
            jwt,
        })
    }

    /// Adds an older master secret whose tokens still verify (flagged
    /// [`Decoded::stale_key`]) but which no longer signs, so the secret rotates without
    /// invalidating tokens already sent out ([S-10]).
    ///
    /// ```
    /// use session_core::{codec::TokenCodec, Secret, UnixTime};
    /// use std::time::Duration;
    /// let old = Secret::from_bytes(vec![1u8; 32])?;
    /// let new = Secret::from_bytes(vec![2u8; 32])?;
    /// let now = UnixTime::now();
    /// let token = TokenCodec::new(&old, "invite")?
    ///     .encode(&serde_json::json!({"team": 7}), now, Duration::from_secs(60))?;
    /// let rotated = TokenCodec::new(&new, "invite")?.with_previous(&old)?;
    /// assert!(rotated.decode::<serde_json::Value>(&token, now)?.stale_key);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [S-10]: crate::manual::contracts#s-10
    pub fn with_previous(mut self, old_master: &Secret) -> Result<Self, KeyError> {
        let key = Self::key(old_master, &self.purpose)?;
        let header_b64 = encode_header(JwtAlgorithm::HS256, self.jwt.typ.as_deref(), &key.kid);
        self.jwt.ring.push(RingKey { key, header_b64 });
        Ok(self)
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 15 s).
    ///
    /// ```
    /// use session_core::{codec::TokenCodec, Secret};
    /// use std::time::Duration;
    /// let codec = TokenCodec::new(&Secret::from_bytes(vec![8u8; 32])?, "invite")?
    ///     .leeway(Duration::from_secs(5));
    /// # Ok::<(), session_core::config::KeyError>(())
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.jwt.rules.leeway = leeway.as_secs();
        self
    }

    /// The purpose name given to [`TokenCodec::new`].
    ///
    /// ```
    /// use session_core::{codec::TokenCodec, Secret};
    /// let codec = TokenCodec::new(&Secret::from_bytes(vec![8u8; 32])?, "email-verify")?;
    /// assert_eq!(codec.purpose(), "email-verify");
    /// # Ok::<(), session_core::config::KeyError>(())
    /// ```
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The `typ` header these tokens carry and decoding requires: `<purpose>+jwt`.
    ///
    /// ```
    /// use session_core::{codec::TokenCodec, Secret};
    /// let codec = TokenCodec::new(&Secret::from_bytes(vec![8u8; 32])?, "email-verify")?;
    /// assert_eq!(codec.token_type(), "email-verify+jwt");
    /// # Ok::<(), session_core::config::KeyError>(())
    /// ```
    pub fn token_type(&self) -> &str {
        // Invariant: `new` always configures a `typ`.
        self.jwt
            .typ
            .as_deref()
            .expect("a TokenCodec always has a typ")
    }

    /// Signs `claims` (any value serialising to a JSON object) as a token valid from `now` for
    /// `ttl`: the codec adds `iat` and `nbf` (`now`) and `exp` (`now + ttl`). Claims named `iat`,
    /// `nbf` or `exp` are [`EncodeError::ReservedKey`]; a value that is not a JSON object is
    /// [`EncodeError::Serialize`].
    ///
    /// ```
    /// use session_core::{codec::{EncodeError, TokenCodec}, Secret, UnixTime};
    /// use std::time::Duration;
    /// let codec = TokenCodec::new(&Secret::from_bytes(vec![8u8; 32])?, "invite")?;
    /// let now = UnixTime::now();
    /// let token = codec.encode(&serde_json::json!({"team": 7}), now, Duration::from_secs(60))?;
    /// assert_eq!(token.split('.').count(), 3);
    /// assert!(matches!(
    ///     codec.encode(&serde_json::json!({"exp": 1}), now, Duration::from_secs(60)),
    ///     Err(EncodeError::ReservedKey(_))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode<T: Serialize>(
        &self,
        claims: &T,
        now: UnixTime,
        ttl: Duration,
    ) -> Result<String, EncodeError> {
        let Value::Object(mut map) =
            serde_json::to_value(claims).map_err(EncodeError::Serialize)?
        else {
            return Err(EncodeError::Serialize(serde::ser::Error::custom(
                "application token claims must serialise to a JSON object",
            )));
        };
        if let Some(reserved) = APP_TOKEN_TIME_CLAIMS
            .iter()
            .find(|name| map.contains_key(**name))
        {
            return Err(EncodeError::ReservedKey((*reserved).to_owned()));
        }
        map.insert("iat".into(), Value::from(now.as_secs()));
        map.insert("nbf".into(), Value::from(now.as_secs()));
        map.insert("exp".into(), Value::from((now + ttl).as_secs()));
        let json = serde_json::to_vec(&map).map_err(EncodeError::Serialize)?;
        self.jwt.sign(&json)
    }

    /// Verifies a token of this purpose at `now` (`typ`, algorithm, key, signature, `exp`,
    /// `nbf`, `iat`), then reads its whole payload, `iat`, `nbf` and `exp` included, as `T`. A
    /// payload that does not fit `T` is [`RejectReason::Schema`]; a session token, a signed
    /// session id or another purpose's token is rejected, never read.
    ///
    /// ```
    /// use session_core::{codec::{RejectReason, TokenCodec}, Secret, UnixTime};
    /// use std::time::Duration;
    /// let codec = TokenCodec::new(&Secret::from_bytes(vec![8u8; 32])?, "invite")?;
    /// let now = UnixTime::now();
    /// let token = codec.encode(&serde_json::json!({"team": 7}), now, Duration::from_secs(60))?;
    /// let later = now + Duration::from_secs(3600);
    /// assert_eq!(codec.decode::<serde_json::Value>(&token, later).unwrap_err(), RejectReason::Expired);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode<T: DeserializeOwned>(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Decoded<T>, RejectReason> {
        let verified = self.jwt.verify(token, now)?;
        let payload = serde_json::from_value(Value::Object(verified.claims.into_map()))
            .map_err(|_| RejectReason::Schema)?;
        Ok(Decoded {
            payload,
            stale_key: verified.stale_key,
        })
    }

    fn key(master: &Secret, purpose: &str) -> Result<JwtKey, KeyError> {
        JwtKey::hmac(JwtAlgorithm::HS256, &master.derive_app_token(purpose))
    }
}

fn check_purpose(purpose: &str) -> Result<(), KeyError> {
    let bytes = purpose.as_bytes();
    let reason = if bytes.is_empty() {
        "empty"
    } else if bytes.len() > MAX_PURPOSE_LEN {
        "longer than 32 bytes"
    } else if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
    {
        "only a-z, 0-9, '-' and '.' are allowed"
    } else if !bytes[0].is_ascii_alphanumeric() {
        "must start with a letter or digit"
    } else if purpose == "session" {
        "\"session\" would give the session token's typ"
    } else {
        return Ok(());
    };
    Err(KeyError::InvalidPurpose { reason })
}
