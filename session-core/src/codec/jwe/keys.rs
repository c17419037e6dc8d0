//! Key management (`alg`): `dir`, `A256GCMKW` and `ECDH-ES+A256KW` on P-256, and the keys of a
//! [`JweCodec`](crate::JweCodec)'s ring.

use std::borrow::Cow;
use std::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use aes_kw::KekAes256;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
use p256::{EncodedPoint, PublicKey, SecretKey};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::content::{ContentCipher, JweEncryption};
use crate::b64;
use crate::codec::jwt::{check_kid, fingerprint};
use crate::codec::{EncodeError, RejectReason};
use crate::secret::{KeyError, Secret};

/// The key management (`alg`) of a [`JweCodec`](crate::JweCodec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JweAlgorithm {
    /// The key is the content key (`dir`): nothing travels but the ciphertext.
    Dir,
    /// A fresh content key per token, wrapped with AES-256-GCM under the key (`A256GCMKW`); the
    /// wrap's IV and tag travel in the header.
    A256GcmKw,
    /// A fresh content key per token, wrapped with AES-256 key wrap under a key agreed by
    /// ephemeral-static ECDH on P-256 (`ECDH-ES+A256KW`): for tokens encrypted to a service that
    /// holds the private key.
    EcdhEsA256Kw,
}

impl JweAlgorithm {
    /// The `alg` header value.
    ///
    /// ```
    /// use session_core::codec::JweAlgorithm;
    /// assert_eq!(JweAlgorithm::EcdhEsA256Kw.name(), "ECDH-ES+A256KW");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            JweAlgorithm::Dir => "dir",
            JweAlgorithm::A256GcmKw => "A256GCMKW",
            JweAlgorithm::EcdhEsA256Kw => "ECDH-ES+A256KW",
        }
    }

    /// The header fields this algorithm adds to `alg`, `enc`, `kid`, `typ` and `cty`.
    pub(super) fn header_fields(self) -> &'static [&'static str] {
        match self {
            JweAlgorithm::Dir => &[],
            JweAlgorithm::A256GcmKw => &["iv", "tag"],
            JweAlgorithm::EcdhEsA256Kw => &["epk", "apu", "apv"],
        }
    }
}

/// A key of a [`JweCodec`](crate::JweCodec)'s ring, with its key id.
#[derive(Clone)]
pub struct JweKey {
    kid: String,
    material: KeyMaterial,
    /// What keys are derived from
    /// ([`SessionCodec::derive_keys`](crate::codec::SessionCodec::derive_keys)); `None` for a
    /// public key.
    lent: Option<Secret>,
}

#[derive(Clone)]
enum KeyMaterial {
    Dir {
        enc: JweEncryption,
        cipher: ContentCipher,
    },
    A256GcmKw(Box<Aes256Gcm>),
    EcdhEs {
        public: Box<PublicKey>,
        /// `None`: this service encrypts to the key's holder and cannot decrypt.
        secret: Option<Box<SecretKey>>,
    },
}

impl JweKey {
    /// The `dir` key `secret`, which must be exactly [`JweEncryption::key_len`] bytes (32 for
    /// `A256GCM`, 64 for `A256CBC-HS512`): it is used as it is, so a `jose` app holding the same
    /// bytes interoperates. The `kid` is a fingerprint of the key.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] for a shorter secret, [`KeyError::InvalidKey`] for a longer one
    /// (derive a key of the right length instead of cutting one).
    ///
    /// ```
    /// use session_core::{codec::{JweEncryption, JweKey}, config::KeyError, Secret};
    /// let secret = Secret::from_bytes(vec![7u8; 32])?;
    /// assert!(JweKey::dir(JweEncryption::A256Gcm, &secret).is_ok());
    /// assert_eq!(
    ///     JweKey::dir(JweEncryption::A256CbcHs512, &secret).unwrap_err(),
    ///     KeyError::TooShort { min: 64, got: 32 }
    /// );
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn dir(enc: JweEncryption, secret: &Secret) -> Result<Self, KeyError> {
        let bytes = exact_len(secret, enc.key_len(), enc.name())?;
        let cipher = ContentCipher::new(enc, bytes).ok_or_else(|| invalid(enc.name()))?;
        Ok(JweKey {
            kid: fingerprint(bytes),
            material: KeyMaterial::Dir { enc, cipher },
            lent: Some(Secret::key_material(bytes)),
        })
    }

    /// The key Auth.js v5 derives from `AUTH_SECRET` for the cookie `cookie_name` (e.g.
    /// `authjs.session-token`, or `__Secure-authjs.session-token` on HTTPS): `dir` +
    /// `A256CBC-HS512`, HKDF-SHA-256 with the cookie name as salt and `Auth.js Generated
    /// Encryption Key (<cookie name>)` as info, and as `kid` the key's RFC 7638 JWK thumbprint
    /// (SHA-512), as Auth.js writes it. For a ring during an `AUTH_SECRET` rotation;
    /// [`JweCodec::authjs`](crate::JweCodec::authjs) is the codec.
    ///
    /// # Errors
    ///
    /// None in practice (HKDF gives 64 bytes); the `Result` is that of the key constructors.
    pub fn authjs(auth_secret: &Secret, cookie_name: &str) -> Result<Self, KeyError> {
        let enc = JweEncryption::A256CbcHs512;
        let info = format!("Auth.js Generated Encryption Key ({cookie_name})");
        let mut okm = vec![0u8; enc.key_len()];
        Hkdf::<Sha256>::new(Some(cookie_name.as_bytes()), auth_secret.expose())
            .expand(info.as_bytes(), &mut okm)
            .map_err(|_| invalid(enc.name()))?;
        let thumbprint_input = format!(r#"{{"k":"{}","kty":"oct"}}"#, b64::encode(&okm));
        let kid = b64::encode(&Sha512::digest(thumbprint_input.as_bytes()));
        JweKey::dir(enc, &Secret::from_bytes(okm)?)?.with_kid(kid)
    }

    /// An `A256GCMKW` key-encryption key: `secret` must be exactly 32 bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] or [`KeyError::InvalidKey`] for another length.
    pub fn a256gcmkw(secret: &Secret) -> Result<Self, KeyError> {
        let bytes = exact_len(secret, 32, JweAlgorithm::A256GcmKw.name())?;
        let cipher = Aes256Gcm::new_from_slice(bytes)
            .map_err(|_| invalid(JweAlgorithm::A256GcmKw.name()))?;
        Ok(JweKey {
            kid: fingerprint(bytes),
            material: KeyMaterial::A256GcmKw(Box::new(cipher)),
            lent: Some(Secret::key_material(bytes)),
        })
    }

    /// An `ECDH-ES+A256KW` key pair on P-256 from a PKCS#8 PEM private key: encrypts and
    /// decrypts. The `kid` is a fingerprint of the public key.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidKey`] if the PEM is not a P-256 private key.
    pub fn ecdh_es_p256(private_pem: &str) -> Result<Self, KeyError> {
        let secret = SecretKey::from_pkcs8_pem(private_pem)
            .map_err(|_| invalid(JweAlgorithm::EcdhEsA256Kw.name()))?;
        let public = secret.public_key();
        let lent = Secret::key_material(&secret.to_bytes());
        Ok(JweKey {
            kid: fingerprint(public.to_encoded_point(false).as_bytes()),
            material: KeyMaterial::EcdhEs {
                public: Box::new(public),
                secret: Some(Box::new(secret)),
            },
            lent: Some(lent),
        })
    }

    /// An `ECDH-ES+A256KW` public key on P-256 from SPKI PEM: tokens encrypted to the service
    /// that holds the private key. A ring of such keys encrypts and decrypts nothing.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidKey`] if the PEM is not a P-256 public key.
    pub fn ecdh_es_p256_public(public_pem: &str) -> Result<Self, KeyError> {
        let public = PublicKey::from_public_key_pem(public_pem)
            .map_err(|_| invalid(JweAlgorithm::EcdhEsA256Kw.name()))?;
        Ok(JweKey {
            kid: fingerprint(public.to_encoded_point(false).as_bytes()),
            material: KeyMaterial::EcdhEs {
                public: Box::new(public),
                secret: None,
            },
            lent: None,
        })
    }

    /// Replaces the fingerprint `kid` with one of your choosing: 1 to
    /// [`MAX_KID_LEN`](crate::codec::MAX_KID_LEN) (128) visible ASCII bytes, as for
    /// [`JwtKey::with_kid`](crate::codec::JwtKey::with_kid).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidKid`] for an empty, longer or non-visible-ASCII `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, KeyError> {
        let kid = kid.into();
        check_kid(&kid)?;
        self.kid = kid;
        Ok(self)
    }

    /// What keys are derived from, if this key holds a secret.
    pub(crate) fn lent(&self) -> Option<&Secret> {
        self.lent.as_ref()
    }

    /// The key id written in the token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's key management.
    pub fn algorithm(&self) -> JweAlgorithm {
        match self.material {
            KeyMaterial::Dir { .. } => JweAlgorithm::Dir,
            KeyMaterial::A256GcmKw(_) => JweAlgorithm::A256GcmKw,
            KeyMaterial::EcdhEs { .. } => JweAlgorithm::EcdhEsA256Kw,
        }
    }

    /// For a `dir` key, the content encryption its length fixes.
    pub(super) fn dir_encryption(&self) -> Option<JweEncryption> {
        match self.material {
            KeyMaterial::Dir { enc, .. } => Some(enc),
            _ => None,
        }
    }

    /// The content key of a new token: its cipher, the `encrypted_key` segment and the header
    /// fields the algorithm adds.
    pub(super) fn new_content_key(
        &self,
        enc: JweEncryption,
    ) -> Result<NewContentKey<'_>, EncodeError> {
        let (cek, cipher) = match &self.material {
            KeyMaterial::Dir { cipher, .. } => {
                return Ok(NewContentKey {
                    cipher: Cow::Borrowed(cipher),
                    encrypted_key: Vec::new(),
                    header_fields: Map::new(),
                })
            }
            _ => {
                let mut cek = vec![0u8; enc.key_len()];
                getrandom::fill(&mut cek).map_err(|_| EncodeError::Encrypt)?;
                let cipher = ContentCipher::new(enc, &cek).ok_or(EncodeError::Encrypt)?;
                (cek, cipher)
            }
        };
        let mut fields = Map::new();
        let encrypted_key = match &self.material {
            KeyMaterial::Dir { .. } => unreachable!("returned above"),
            KeyMaterial::A256GcmKw(kek) => {
                let mut iv = [0u8; 12];
                getrandom::fill(&mut iv).map_err(|_| EncodeError::Encrypt)?;
                let mut wrapped = cek;
                let tag = kek
                    .encrypt_in_place_detached(&Nonce::from(iv), b"", &mut wrapped)
                    .map_err(|_| EncodeError::Encrypt)?;
                fields.insert("iv".into(), b64::encode(&iv).into());
                fields.insert("tag".into(), b64::encode(&tag).into());
                wrapped
            }
            KeyMaterial::EcdhEs { public, .. } => {
                let ephemeral = random_secret_key()?;
                let shared =
                    p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), public.as_affine());
                let kek = concat_kdf(shared.raw_secret_bytes(), b"", b"");
                fields.insert("epk".into(), epk_jwk(&ephemeral.public_key()));
                KekAes256::from(kek)
                    .wrap_vec(&cek)
                    .map_err(|_| EncodeError::Encrypt)?
            }
        };
        Ok(NewContentKey {
            cipher: Cow::Owned(cipher),
            encrypted_key,
            header_fields: fields,
        })
    }

    /// The content key of a presented token, from its header and `encrypted_key`.
    /// [`RejectReason::BadSignature`] whatever goes wrong in the unwrapping (one reason);
    /// [`RejectReason::Malformed`] for header fields of the wrong shape or an `epk` that is not
    /// a point on P-256.
    pub(super) fn content_key(
        &self,
        enc: JweEncryption,
        header: &Map<String, Value>,
        encrypted_key: &[u8],
    ) -> Result<Cow<'_, ContentCipher>, RejectReason> {
        let cek = match &self.material {
            KeyMaterial::Dir { cipher, .. } => {
                // `dir` has no encrypted key; a key-wrapping token is not for this codec.
                return if encrypted_key.is_empty() {
                    Ok(Cow::Borrowed(cipher))
                } else {
                    Err(RejectReason::WrongAlg)
                };
            }
            KeyMaterial::A256GcmKw(kek) => {
                let iv: [u8; 12] = header_bytes(header, "iv")?;
                let tag: [u8; 16] = header_bytes(header, "tag")?;
                let mut cek = encrypted_key.to_vec();
                kek.decrypt_in_place_detached(&Nonce::from(iv), b"", &mut cek, &Tag::from(tag))
                    .map_err(|_| RejectReason::BadSignature)?;
                cek
            }
            KeyMaterial::EcdhEs { secret, .. } => {
                let epk = parse_epk(header.get("epk"))?;
                let apu = optional_header_bytes(header, "apu")?;
                let apv = optional_header_bytes(header, "apv")?;
                let secret = secret.as_ref().ok_or(RejectReason::BadSignature)?;
                let shared =
                    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), epk.as_affine());
                let kek = concat_kdf(shared.raw_secret_bytes(), &apu, &apv);
                KekAes256::from(kek)
                    .unwrap_vec(encrypted_key)
                    .map_err(|_| RejectReason::BadSignature)?
            }
        };
        ContentCipher::new(enc, &cek)
            .map(Cow::Owned)
            .ok_or(RejectReason::BadSignature)
    }
}

/// The content key of a new token and what travels with it.
pub(super) struct NewContentKey<'a> {
    pub(super) cipher: Cow<'a, ContentCipher>,
    /// The `encrypted_key` segment (empty for `dir`).
    pub(super) encrypted_key: Vec<u8>,
    /// What the algorithm adds to the protected header (`iv` and `tag`, or `epk`).
    pub(super) header_fields: Map<String, Value>,
}

impl fmt::Debug for JweKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JweKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn invalid(algorithm: &'static str) -> KeyError {
    KeyError::InvalidKey {
        what: "encryption",
        algorithm,
    }
}

/// The secret's bytes if it has exactly `len` of them.
fn exact_len<'a>(
    secret: &'a Secret,
    len: usize,
    algorithm: &'static str,
) -> Result<&'a [u8], KeyError> {
    let bytes = secret.expose();
    if bytes.len() < len {
        return Err(KeyError::TooShort {
            min: len,
            got: bytes.len(),
        });
    }
    if bytes.len() != len {
        return Err(invalid(algorithm));
    }
    Ok(bytes)
}

/// An ephemeral P-256 key from the operating system's generator.
fn random_secret_key() -> Result<SecretKey, EncodeError> {
    // A random 32-byte string is a valid scalar except with probability ~2^-32; draw again then.
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| EncodeError::Encrypt)?;
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err(EncodeError::Encrypt)
}

/// The ephemeral public key as the JWK the `epk` header carries.
fn epk_jwk(public: &PublicKey) -> Value {
    let point = public.to_encoded_point(false);
    // Invariant: an uncompressed point of a valid public key has both coordinates.
    let (x, y) = (point.x().expect("x"), point.y().expect("y"));
    json!({"kty": "EC", "crv": "P-256", "x": b64::encode(x), "y": b64::encode(y)})
}

/// The `epk` header: a P-256 public key, checked to be a point on the curve.
fn parse_epk(epk: Option<&Value>) -> Result<PublicKey, RejectReason> {
    let Some(Value::Object(jwk)) = epk else {
        return Err(RejectReason::Malformed);
    };
    if jwk.get("kty").and_then(Value::as_str) != Some("EC")
        || jwk.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err(RejectReason::Malformed);
    }
    let coordinate = |name: &str| -> Result<[u8; 32], RejectReason> {
        match jwk.get(name) {
            Some(Value::String(text)) => b64::decode_array(text).ok_or(RejectReason::Malformed),
            _ => Err(RejectReason::Malformed),
        }
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    Option::from(PublicKey::from_encoded_point(&point)).ok_or(RejectReason::Malformed)
}

fn header_bytes<const N: usize>(
    header: &Map<String, Value>,
    name: &str,
) -> Result<[u8; N], RejectReason> {
    match header.get(name) {
        Some(Value::String(text)) => b64::decode_array(text).ok_or(RejectReason::Malformed),
        _ => Err(RejectReason::Malformed),
    }
}

fn optional_header_bytes(header: &Map<String, Value>, name: &str) -> Result<Vec<u8>, RejectReason> {
    match header.get(name) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) if text.len() <= 512 => {
            b64::decode(text).ok_or(RejectReason::Malformed)
        }
        Some(_) => Err(RejectReason::Malformed),
    }
}

/// The Concat KDF of NIST SP 800-56A as RFC 7518 §4.6.2 uses it, for a 256-bit key: one
/// SHA-256 round over the counter, the shared secret and the algorithm id, party infos and key
/// length, each length-prefixed.
fn concat_kdf(shared: &[u8], apu: &[u8], apv: &[u8]) -> [u8; 32] {
    let alg = JweAlgorithm::EcdhEsA256Kw.name().as_bytes();
    let mut digest = Sha256::new();
    digest.update(1u32.to_be_bytes());
    digest.update(shared);
    for part in [alg, apu, apv] {
        digest.update((part.len() as u32).to_be_bytes());
        digest.update(part);
    }
    digest.update(256u32.to_be_bytes());
    digest.finalize().into()
}
