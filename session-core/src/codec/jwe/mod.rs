//! [`JweCodec`]: stateless sessions in an encrypted JWT (JWE compact serialisation, RFC 7516),
//! interoperable with the `jose` npm library's `EncryptJWT` / `jwtDecrypt` and with Auth.js.
//!
//! The session travels encrypted: the client can neither read nor change it. The key management
//! (`dir`, `A256GCMKW`, `ECDH-ES+A256KW` on P-256) and the content encryption (`A256GCM`, the
//! default, or `A256CBC-HS512`, what Auth.js uses) are pinned by configuration and never read
//! from the token to choose.
//!
//! The framing is ours and small (no maintained crate does compact JWE on RustCrypto): five
//! base64url segments `header.encrypted_key.iv.ciphertext.tag`, the header's base64url text as
//! the associated data. The ciphers are RustCrypto's: `aes-gcm`; `aes` + `cbc` + `hmac` + `sha2`
//! for the composite AES-CBC-HMAC (RFC 7518 §5.2); `aes-kw`; `p256` for ECDH. Claims are checked
//! by the same code as [`JwtCodec`](crate::JwtCodec)'s.

mod content;
mod keys;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

pub use content::JweEncryption;
pub use keys::{JweAlgorithm, JweKey};

use super::claims::{record_from_claims, ClaimRules, Claims, ForeignClaims};
use super::jwt::{typ_matches, SESSION_TOKEN_TYPE};
use super::{Decoded, EncodeError, RejectReason, SessionCodec, MAX_COOKIE_VALUE_LEN, MAX_KID_LEN};
use crate::b64;
use crate::record::SessionRecord;
use crate::secret::{KeyError, KeyPurpose, Secret};
use crate::time::UnixTime;

/// A key of the ring with its pre-encoded protected header (`dir` headers never change; the
/// key-wrapping algorithms add per-token fields to this one).
#[derive(Clone)]
struct RingKey {
    key: JweKey,
    header: Map<String, Value>,
    header_b64: String,
}

/// Builds a [`JweCodec`]. See [`JweCodec::builder`].
#[derive(Debug, Clone)]
pub struct JweCodecBuilder {
    alg: JweAlgorithm,
    enc: JweEncryption,
    keys: Vec<JweKey>,
    typ: Option<String>,
    write_kid: bool,
    rules: ClaimRules,
}

impl JweCodecBuilder {
    /// The key that encrypts (first call) or an older key that only decrypts (later calls).
    pub fn key(mut self, key: JweKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 15 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.rules.leeway = leeway.as_secs();
        self
    }

    /// The `typ` header to issue and require (default `session+jwt`). `None` issues none and
    /// accepts tokens with no `typ` or `typ: JWT`, the shape `jose`'s `EncryptJWT` makes.
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(str::to_owned);
        self
    }

    /// Whether issued tokens name their key in a `kid` header (default `true`). Tokens without
    /// one are tried against every key of the ring on decode.
    pub fn write_kid(mut self, write: bool) -> Self {
        self.write_kid = write;
        self
    }

    /// Issue and require this `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.rules.issuer = Some(issuer.into());
        self
    }

    /// Issue and require this `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.rules.audience = Some(audience.into());
        self
    }

    /// Whether `nbf` must be present (default `true`; tokens this codec issues always carry it).
    pub fn require_nbf(mut self, require: bool) -> Self {
        self.rules.require_nbf = require;
        self
    }

    /// Whether `iat` must be present (default `true`; tokens this codec issues always carry it).
    /// Turn off to read cookies of apps that never set it.
    pub fn require_iat(mut self, require: bool) -> Self {
        self.rules.require_iat = require;
        self
    }

    /// Where another application's tokens keep the creation time, sign-in provider and user
    /// (see [`ForeignClaims`]); by default only this framework's own claims count.
    pub fn foreign_claims(mut self, claims: ForeignClaims) -> Self {
        self.rules.foreign = claims;
        self
    }

    /// Whether a `jti` that is not one of this framework's session keys (another issuer's UUID)
    /// is accepted, the session key then being derived from it (default `false`: a schema
    /// error). Turn on to read cookies another library issued.
    pub fn accept_foreign_jti(mut self, accept: bool) -> Self {
        self.rules.foreign_jti = accept;
        self
    }

    /// The codec.
    ///
    /// # Errors
    ///
    /// [`KeyError::EmptyRing`] without a key; [`KeyError::InvalidKey`] when a key is for another
    /// key management than the codec's, or a `dir` key for another content encryption.
    pub fn build(self) -> Result<JweCodec, KeyError> {
        if self.keys.is_empty() {
            return Err(KeyError::EmptyRing);
        }
        let mut ring = Vec::with_capacity(self.keys.len());
        for key in self.keys {
            let fits = key.algorithm() == self.alg
                && key.dir_encryption().is_none_or(|enc| enc == self.enc);
            if !fits {
                return Err(KeyError::InvalidKey {
                    what: "decryption",
                    algorithm: self.alg.name(),
                });
            }
            let header = base_header(
                self.alg,
                self.enc,
                self.typ.as_deref(),
                self.write_kid.then_some(key.kid()),
            );
            let header_b64 = b64::encode(Value::Object(header.clone()).to_string().as_bytes());
            ring.push(RingKey {
                key,
                header,
                header_b64,
            });
        }
        Ok(JweCodec {
            alg: self.alg,
            enc: self.enc,
            ring,
            typ: self.typ,
            rules: self.rules,
        })
    }
}

fn base_header(
    alg: JweAlgorithm,
    enc: JweEncryption,
    typ: Option<&str>,
    kid: Option<&str>,
) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("alg".into(), alg.name().into());
    header.insert("enc".into(), enc.name().into());
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    if let Some(typ) = typ {
        header.insert("typ".into(), typ.into());
    }
    header
}

/// A token's protected header: the ring's own for a header this codec issued, else parsed.
type Header<'a> = Cow<'a, Map<String, Value>>;

/// Stateless sessions in an encrypted cookie (compact JWE, `dir`).
///
/// ```
/// use session_core::{JweCodec, Secret, SessionManager};
///
/// // 32 random bytes; in production from the environment, e.g. a base64url JWE_SECRET.
/// let secret = Secret::from_bytes(vec![7u8; 32])?;
/// let manager = SessionManager::stateless(JweCodec::a256gcm(&secret)?).build();
/// # let _ = manager;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Decoding refuses, before any decryption: values over 4096 bytes; anything but five
/// base64url segments; a header with another `alg` or `enc` than configured
/// ([`RejectReason::WrongAlg`]), with fields beyond `alg`, `enc`, `kid`, `typ` and `cty` (no
/// `zip`, `crit`, `jku`, `jwk`, `x5u`, `p2s`...), with the wrong `typ`, or naming a `kid` the
/// ring does not hold; a non-empty `encrypted_key`. Whatever goes wrong in the decryption itself
/// is one reason, [`RejectReason::BadSignature`]. The claims are then checked as
/// [`JwtCodec`](crate::JwtCodec) checks them.
#[derive(Clone)]
pub struct JweCodec {
    alg: JweAlgorithm,
    enc: JweEncryption,
    ring: Vec<RingKey>,
    typ: Option<String>,
    rules: ClaimRules,
}

impl fmt::Debug for JweCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.ring.iter().map(|k| k.key.kid()).collect();
        f.debug_struct("JweCodec")
            .field("alg", &self.alg)
            .field("enc", &self.enc)
            .field("kids", &kids)
            .field("typ", &self.typ)
            .field("rules", &self.rules)
            .finish()
    }
}

impl JweCodec {
    /// A builder for `alg` + `enc`; add keys with [`JweCodecBuilder::key`].
    ///
    /// ```
    /// use session_core::{codec::{JweAlgorithm, JweEncryption, JweKey}, JweCodec, Secret};
    /// let kek = Secret::from_bytes(vec![3u8; 32])?;
    /// let codec = JweCodec::builder(JweAlgorithm::A256GcmKw, JweEncryption::A256Gcm)
    ///     .key(JweKey::a256gcmkw(&kek)?.with_kid("2026-01")?)
    ///     .build()?;
    /// # let _ = codec;
    /// # Ok::<(), session_core::config::KeyError>(())
    /// ```
    pub fn builder(alg: JweAlgorithm, enc: JweEncryption) -> JweCodecBuilder {
        JweCodecBuilder {
            alg,
            enc,
            keys: Vec::new(),
            typ: Some(SESSION_TOKEN_TYPE.to_owned()),
            write_kid: true,
            rules: ClaimRules::default(),
        }
    }

    /// `dir` + `A256GCM` with the 32-byte `secret` as the key, and the default settings.
    ///
    /// # Errors
    ///
    /// As [`JweKey::dir`]: the secret must be exactly 32 bytes.
    pub fn a256gcm(secret: &Secret) -> Result<Self, KeyError> {
        Self::builder(JweAlgorithm::Dir, JweEncryption::A256Gcm)
            .key(JweKey::dir(JweEncryption::A256Gcm, secret)?)
            .build()
    }

    /// Reads and writes Auth.js v5 session cookies: `dir` + `A256CBC-HS512` under the key
    /// [`JweKey::authjs`] derives from `AUTH_SECRET` for `cookie_name`, no `typ`, `iat` required
    /// and `nbf` not, Auth.js's UUID `jti` accepted, 15 s of clock skew, as `@auth/core`'s
    /// `decode` does. Auth.js's `decode` reads the cookies this codec writes.
    ///
    /// ```
    /// use session_core::{JweCodec, Secret, SessionManager};
    /// // In production: Secret::from_env("AUTH_SECRET")?, the app's own secret.
    /// let auth_secret = Secret::from_bytes(b"a test secret of at least thirty-two bytes".to_vec())?;
    /// let codec = JweCodec::authjs(&auth_secret, "authjs.session-token")?;
    /// let manager = SessionManager::stateless(codec)
    ///     .policy(session_core::Policy::builder().cookie_name("authjs.session-token").build()?)
    ///     .build();
    /// # let _ = manager;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`JweKey::authjs`].
    pub fn authjs(auth_secret: &Secret, cookie_name: &str) -> Result<Self, KeyError> {
        Self::builder(JweAlgorithm::Dir, JweEncryption::A256CbcHs512)
            .key(JweKey::authjs(auth_secret, cookie_name)?)
            .typ(None)
            .require_nbf(false)
            .accept_foreign_jti(true)
            .build()
    }

    /// The configured content encryption.
    pub fn encryption(&self) -> JweEncryption {
        self.enc
    }

    /// The configured key management.
    pub fn algorithm(&self) -> JweAlgorithm {
        self.alg
    }

    /// Encrypts `claims_json` under the current key.
    fn encrypt(&self, claims_json: Vec<u8>) -> Result<String, EncodeError> {
        let current = &self.ring[0];
        let keys::NewContentKey {
            cipher,
            encrypted_key,
            header_fields,
        } = current.key.new_content_key(self.enc)?;
        let header_b64 = if header_fields.is_empty() {
            Cow::Borrowed(current.header_b64.as_str())
        } else {
            let mut header = current.header.clone();
            header.extend(header_fields);
            Cow::Owned(b64::encode(Value::Object(header).to_string().as_bytes()))
        };
        let sealed = cipher.seal(header_b64.as_bytes(), claims_json)?;
        let mut token = String::with_capacity(
            header_b64.len()
                + b64::encoded_len(encrypted_key.len())
                + b64::encoded_len(sealed.ciphertext.len())
                + 70,
        );
        token.push_str(&header_b64);
        token.push('.');
        b64::encode_into(&encrypted_key, &mut token);
        token.push('.');
        b64::encode_into(&sealed.iv, &mut token);
        token.push('.');
        b64::encode_into(&sealed.ciphertext, &mut token);
        token.push('.');
        b64::encode_into(&sealed.tag, &mut token);
        Ok(token)
    }

    /// The checked claims of `token`, and whether an older key of the ring encrypted it.
    fn decrypt(&self, token: &str, now: UnixTime) -> Result<(Claims, bool), RejectReason> {
        if token.len() > MAX_COOKIE_VALUE_LEN {
            return Err(RejectReason::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(RejectReason::Malformed);
        };
        let (header, candidates) = self.keys_for_header(header_b64)?;
        let (Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag)) = (
            b64::decode(encrypted_key),
            b64::decode(iv),
            b64::decode(ciphertext),
            b64::decode(tag),
        ) else {
            return Err(RejectReason::Malformed);
        };
        let mut outcome = Err(RejectReason::BadSignature);
        for index in candidates {
            let key = &self.ring[index].key;
            let cipher = match key.content_key(self.enc, &header, &encrypted_key) {
                Ok(cipher) => cipher,
                // A malformed header or a `dir`/key-wrapping mix-up is the same for every key.
                Err(reason @ (RejectReason::Malformed | RejectReason::WrongAlg)) => {
                    return Err(reason)
                }
                Err(reason) => {
                    outcome = Err(reason);
                    continue;
                }
            };
            if let Some(plaintext) =
                cipher.open(header_b64.as_bytes(), &iv, ciphertext.clone(), &tag)
            {
                outcome = Ok((index, plaintext));
                break;
            }
            outcome = Err(RejectReason::BadSignature);
        }
        let (index, plaintext) = outcome?;
        let claims: Claims =
            serde_json::from_slice(&plaintext).map_err(|_| RejectReason::Malformed)?;
        self.rules.check(&claims, now)?;
        Ok((claims, index > 0))
    }

    /// The parsed header and which keys of the ring may have encrypted a token with it.
    fn keys_for_header(&self, header_b64: &str) -> Result<(Header<'_>, Vec<usize>), RejectReason> {
        // Fast path: a `dir` header this codec issued, compared as text (headers are not secret).
        if let Some(index) = self.ring.iter().position(|k| k.header_b64 == header_b64) {
            return Ok((Cow::Borrowed(&self.ring[index].header), vec![index]));
        }
        let bytes = b64::decode(header_b64).ok_or(RejectReason::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| RejectReason::Malformed)?;
        for (name, expected) in [("alg", self.alg.name()), ("enc", self.enc.name())] {
            match header.get(name) {
                Some(Value::String(v)) if v == expected => {}
                Some(Value::String(_)) => return Err(RejectReason::WrongAlg),
                _ => return Err(RejectReason::Malformed),
            }
        }
        // No compression (`zip`), no `crit` extensions, no embedded keys or URLs to follow
        // (`jwk`, `jku`, `x5u`, `x5c`), no PBES2 parameters: only what the algorithm needs.
        let allowed = |k: &str| {
            matches!(k, "alg" | "enc" | "kid" | "typ" | "cty")
                || self.alg.header_fields().contains(&k)
        };
        if !header.keys().all(|k| allowed(k)) {
            return Err(RejectReason::Malformed);
        }
        if header.get("cty").is_some_and(|cty| !cty.is_string()) {
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
        let candidates = match header.get("kid") {
            None => (0..self.ring.len()).collect(),
            Some(Value::String(kid)) if kid.len() <= MAX_KID_LEN => vec![self
                .ring
                .iter()
                .position(|k| k.key.kid() == kid)
                .ok_or(RejectReason::UnknownKid)?],
            Some(_) => return Err(RejectReason::UnknownKid),
        };
        Ok((Cow::Owned(header), candidates))
    }
}

impl SessionCodec for JweCodec {
    type Payload = SessionRecord;

    fn encode(&self, record: &SessionRecord, now: UnixTime) -> Result<String, EncodeError> {
        let json = self.rules.session_claims_json(record, now)?;
        self.encrypt(json)
    }

    fn decode(&self, token: &str, now: UnixTime) -> Result<Decoded<SessionRecord>, RejectReason> {
        let (claims, stale_key) = self.decrypt(token, now)?;
        Ok(Decoded {
            payload: record_from_claims(&self.rules, claims, now)?,
            stale_key,
        })
    }

    /// From every key that holds a secret, when the encrypting key (the ring's first) does;
    /// the encrypting key first.
    fn derive_keys(&self, purpose: KeyPurpose) -> Vec<Secret> {
        if self
            .ring
            .first()
            .and_then(|first| first.key.lent())
            .is_none()
        {
            return Vec::new();
        }
        let lent = self.ring.iter().filter_map(|ring_key| ring_key.key.lent());
        lent.map(|material| material.derive(purpose)).collect()
    }
}
