//! [`JwtCodec`]: stateless sessions in a signed JWT (JWS compact form), interoperable with the
//! `jose` npm library.
//!
//! The framing (segments, strict base64url, header and claim checks) is done here so every byte is
//! checked the same way whatever the algorithm; `jsonwebtoken` (>= 10.3, RustCrypto backend) does
//! the signing and verification. The algorithm is fixed by configuration and never read from the
//! token to choose how to verify (C12, S-13).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{crypto, Algorithm, DecodingKey, EncodingKey};
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Decoded, EncodeError, RejectReason, SessionCodec, MAX_COOKIE_VALUE_LEN};
use crate::b64;
use crate::id::{SessionId, SessionKey, UserId};
use crate::key::{KeyError, Secret};
use crate::record::{SessionMetadata, SessionRecord};
use crate::time::UnixTime;

/// Claim names the session token uses itself; session data may not use them.
pub const RESERVED_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "ses"];

/// The `typ` header session tokens carry (RFC 8725 §3.11), so no other kind of token signed with
/// the same key is accepted as a session.
pub(crate) const SESSION_TOKEN_TYPE: &str = "session+jwt";

const MAX_KID_LEN: usize = 64;

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
#[derive(Clone)]
pub struct JwtKey {
    alg: JwtAlgorithm,
    kid: String,
    signing: Option<EncodingKey>,
    verifying: DecodingKey,
}

impl JwtKey {
    /// An HMAC key (HS256/384/512), at least as long as the hash output (S-09). The `kid` is a
    /// fingerprint of the key.
    pub fn hmac(alg: JwtAlgorithm, secret: &Secret) -> Result<Self, KeyError> {
        let Some(min) = alg.min_secret_len() else {
            return Err(KeyError::InvalidKey {
                what: "signing",
                algorithm: alg.name(),
            });
        };
        if secret.len() < min {
            return Err(KeyError::TooShort {
                min,
                got: secret.len(),
            });
        }
        Ok(JwtKey {
            alg,
            kid: fingerprint(secret.expose()),
            signing: Some(EncodingKey::from_secret(secret.expose())),
            verifying: DecodingKey::from_secret(secret.expose()),
        })
    }

    /// An asymmetric key pair from PEM (RS256: PKCS#1 or PKCS#8 RSA; ES256: PKCS#8 P-256;
    /// EdDSA: PKCS#8 Ed25519). The `kid` is a fingerprint of the public key.
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
        key.signing = Some(signing);
        Ok(key)
    }

    /// A public key that only verifies (an old key kept during rotation, or a verify-only
    /// service).
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
            signing: None,
            verifying,
        })
    }

    /// Replaces the fingerprint `kid` with one of your choosing (at most 64 characters).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        let mut kid = kid.into();
        kid.truncate(MAX_KID_LEN);
        self.kid = kid;
        self
    }

    /// The key id written in the token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("can_sign", &self.signing.is_some())
            .finish()
    }
}

fn fingerprint(material: &[u8]) -> String {
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
        if first.signing.is_none() {
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
            leeway: self.leeway.as_secs(),
            typ: self.typ,
            issuer: self.issuer,
            audience: self.audience,
            require_nbf: self.require_nbf,
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
/// ```
/// use session_core::{JwtCodec, Secret, SessionCodec, SessionId, SessionRecord, UnixTime};
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
    leeway: u64,
    typ: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    require_nbf: bool,
}

impl fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.ring.iter().map(|k| k.key.kid.as_str()).collect();
        f.debug_struct("JwtCodec")
            .field("alg", &self.alg)
            .field("kids", &kids)
            .field("leeway_secs", &self.leeway)
            .field("typ", &self.typ)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
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

    /// Signs any claims (for tokens other than sessions, e.g. typed app claims). The caller puts
    /// `exp` (and `iat`, `nbf`) in the claims; [`JwtCodec::decode_claims`] requires them.
    pub fn encode_claims<T: Serialize>(&self, claims: &T) -> Result<String, EncodeError> {
        let json = serde_json::to_vec(claims).map_err(EncodeError::Serialize)?;
        self.sign(&json)
    }

    /// Verifies a token like a session cookie (algorithm, `typ`, key, signature, `exp`, `nbf`,
    /// `iat`, `iss`, `aud`), then reads its whole payload as `T`. A payload that does not fit `T`
    /// is [`RejectReason::Schema`].
    pub fn decode_claims<T: DeserializeOwned>(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Decoded<T>, RejectReason> {
        let verified = self.verify(token, now)?;
        let payload = serde_json::from_value(Value::Object(verified.claims))
            .map_err(|_| RejectReason::Schema)?;
        Ok(Decoded {
            payload,
            stale_key: verified.stale_key,
        })
    }

    fn sign(&self, claims_json: &[u8]) -> Result<String, EncodeError> {
        let current = &self.ring[0];
        // Invariant: the builder refuses a ring whose first key cannot sign.
        let key = current
            .key
            .signing
            .as_ref()
            .expect("the first key of the ring signs");
        let mut token = String::with_capacity(
            current.header_b64.len() + b64::encoded_len(claims_json.len()) + 90,
        );
        token.push_str(&current.header_b64);
        token.push('.');
        b64::encode_into(claims_json, &mut token);
        let signature =
            crypto::sign(token.as_bytes(), key, self.alg.backend()).map_err(EncodeError::Sign)?;
        token.push('.');
        token.push_str(&signature);
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
        // Strict decoding of the signature first: the backend's decoder might accept
        // non-canonical trailing bits, which would let a flipped bit pass (S-14).
        if signature.is_empty() || b64::decode(signature).is_none() {
            return Err(RejectReason::Malformed);
        }
        let message = &token.as_bytes()[..header.len() + 1 + payload.len()];
        let mut verified_with = None;
        for index in candidates {
            let key = &self.ring[index].key;
            if crypto::verify(signature, message, &key.verifying, self.alg.backend())
                .unwrap_or(false)
            {
                verified_with = Some(index);
                break;
            }
        }
        let index = verified_with.ok_or(RejectReason::BadSignature)?;
        let claims_bytes = b64::decode(payload).ok_or(RejectReason::Malformed)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&claims_bytes).map_err(|_| RejectReason::Malformed)?;
        self.check_claims(&claims, now)?;
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
        let typ_ok = match (&self.typ, typ) {
            (Some(expected), Some(t)) => expected.eq_ignore_ascii_case(t),
            (Some(_), None) => false,
            (None, None) => true,
            (None, Some(t)) => t.eq_ignore_ascii_case("JWT"),
        };
        if !typ_ok {
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

    fn check_claims(&self, claims: &Map<String, Value>, now: UnixTime) -> Result<(), RejectReason> {
        let now = now.as_secs();
        let exp = time_claim(claims, "exp")?.ok_or(RejectReason::Schema)?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(RejectReason::Expired);
        }
        let latest_valid_start = now.saturating_add(self.leeway);
        match time_claim(claims, "nbf")? {
            Some(nbf) if nbf > latest_valid_start => return Err(RejectReason::NotYetValid),
            None if self.require_nbf => return Err(RejectReason::Schema),
            _ => {}
        }
        match time_claim(claims, "iat")? {
            Some(iat) if iat > latest_valid_start => return Err(RejectReason::NotYetValid),
            None => return Err(RejectReason::Schema),
            _ => {}
        }
        if let Some(expected) = &self.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(expected.as_str()) {
                return Err(RejectReason::Schema);
            }
        }
        if let Some(expected) = &self.audience {
            let matches = match claims.get("aud") {
                Some(Value::String(aud)) => aud == expected,
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected)),
                _ => false,
            };
            if !matches {
                return Err(RejectReason::Schema);
            }
        }
        Ok(())
    }
}

struct Verified {
    claims: Map<String, Value>,
    stale_key: bool,
}

/// A NumericDate claim: absent, or a non-negative integer. Any other type (string, float, huge
/// number) is a schema error, never "absent" (CVE-2026-25537).
fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, RejectReason> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(RejectReason::Schema),
        Some(_) => Err(RejectReason::Schema),
    }
}

/// Our own session fields, under the `ses` claim.
#[derive(Serialize, Deserialize)]
struct SesClaim {
    /// created_at
    c: UnixTime,
    /// last_seen_at
    l: UnixTime,
    /// absolute_expires_at
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<UnixTime>,
    /// metadata
    #[serde(default, skip_serializing_if = "is_default_metadata")]
    m: SessionMetadata,
}

fn is_default_metadata(m: &SessionMetadata) -> bool {
    *m == SessionMetadata::default()
}

/// Serialises a record as session claims: registered claims, `ses`, then the data at top level
/// (so tokens look like the `{user, expiresAt}` payloads `jose` apps make).
struct SessionClaims<'a> {
    codec: &'a JwtCodec,
    record: &'a SessionRecord,
    now: UnixTime,
}

impl Serialize for SessionClaims<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jti", &r.key.to_hex())?;
        if let Some(user) = &r.user_id {
            map.serialize_entry("sub", user.as_str())?;
        }
        if let Some(iss) = &self.codec.issuer {
            map.serialize_entry("iss", iss)?;
        }
        if let Some(aud) = &self.codec.audience {
            map.serialize_entry("aud", aud)?;
        }
        map.serialize_entry("iat", &self.now)?;
        map.serialize_entry("nbf", &self.now)?;
        map.serialize_entry("exp", &r.effective_expiry())?;
        let ses = SesClaim {
            c: r.created_at,
            l: r.last_seen_at,
            a: r.absolute_expires_at,
            m: r.metadata.clone(),
        };
        map.serialize_entry("ses", &ses)?;
        for (k, v) in &r.data {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl SessionCodec for JwtCodec {
    type Payload = SessionRecord;

    fn encode(&self, record: &SessionRecord, now: UnixTime) -> Result<String, EncodeError> {
        if let Some(reserved) = record
            .data
            .keys()
            .find(|k| RESERVED_CLAIMS.contains(&k.as_str()))
        {
            return Err(EncodeError::ReservedKey(reserved.clone()));
        }
        let claims = SessionClaims {
            codec: self,
            record,
            now,
        };
        let json = serde_json::to_vec(&claims).map_err(EncodeError::Serialize)?;
        self.sign(&json)
    }

    fn decode(&self, token: &str, now: UnixTime) -> Result<Decoded<SessionRecord>, RejectReason> {
        let Verified {
            mut claims,
            stale_key,
        } = self.verify(token, now)?;
        let key = match claims.remove("jti") {
            Some(Value::String(jti)) => SessionKey::from_hex(&jti).ok_or(RejectReason::Schema)?,
            // Tokens from other issuers (e.g. an existing `jose` app) may carry no `jti`.
            None => SessionId::generate().key(),
            Some(_) => return Err(RejectReason::Schema),
        };
        let user_id = match claims.remove("sub") {
            None => None,
            Some(Value::String(sub)) => Some(UserId::new(sub)),
            Some(_) => return Err(RejectReason::Schema),
        };
        let exp = time_claim(&claims, "exp")?.ok_or(RejectReason::Schema)?;
        let iat = time_claim(&claims, "iat")?.ok_or(RejectReason::Schema)?;
        let ses = match claims.remove("ses") {
            Some(value) => serde_json::from_value(value).map_err(|_| RejectReason::Schema)?,
            None => SesClaim {
                c: UnixTime::from_secs(iat),
                l: UnixTime::from_secs(iat),
                a: None,
                m: SessionMetadata::default(),
            },
        };
        for name in RESERVED_CLAIMS {
            claims.remove(*name);
        }
        let record = SessionRecord {
            key,
            data: claims,
            user_id,
            created_at: ses.c,
            last_seen_at: ses.l,
            expires_at: UnixTime::from_secs(exp),
            absolute_expires_at: ses.a,
            version: 1,
            metadata: ses.m,
        };
        Ok(Decoded {
            payload: record,
            stale_key,
        })
    }
}
