//! Secret keys: loading (environment or bytes), the 32-byte minimum, and per-purpose derivation.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;

/// The shortest secret accepted, in bytes (the output size of SHA-256; RFC 7518 §3.2).
pub const MIN_SECRET_LEN: usize = 32;

/// The environment variable [`Secret::from_default_env`] reads.
pub const DEFAULT_SECRET_ENV: &str = "SESSION_SECRET";

/// Secret key material. `Debug` never shows the bytes.
///
/// ```
/// use session_core::{config::KeyError, Secret};
/// let secret = Secret::from_bytes(vec![7u8; 32])?;
/// assert_eq!(format!("{secret:?}"), "Secret(<32 bytes redacted>)");
/// assert!(matches!(Secret::from_bytes(b"short".to_vec()), Err(KeyError::TooShort { min: 32, got: 5 })));
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A new random secret of 32 bytes from the operating system's generator: for tests and
    /// first runs (store it, e.g. in a file readable by its owner only, or every restart logs
    /// everyone out).
    ///
    /// ```
    /// use session_core::Secret;
    /// let (a, b) = (Secret::generate(), Secret::generate());
    /// assert_eq!(a.len(), 32);
    /// assert_ne!(a.expose(), b.expose());
    /// ```
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; MIN_SECRET_LEN];
        // Invariant: getrandom only fails when the OS has no entropy source; we refuse to run then.
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Secret(bytes)
    }

    /// A secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        Self::with_min_len(bytes.into(), MIN_SECRET_LEN)
    }

    /// A secret of at least `min` bytes (HS384 needs 48, HS512 64).
    pub fn with_min_len(bytes: Vec<u8>, min: usize) -> Result<Self, KeyError> {
        let min = min.max(MIN_SECRET_LEN);
        if bytes.len() < min {
            return Err(KeyError::TooShort {
                min,
                got: bytes.len(),
            });
        }
        Ok(Secret(bytes))
    }

    /// The secret in environment variable `var`, taken as its UTF-8 bytes (the same bytes the
    /// `jose` npm library signs with after `new TextEncoder().encode(secret)`, so tokens
    /// interoperate). It is not base64- or hex-decoded: generate it with
    /// `openssl rand -base64 48` and use the text as it is.
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        match std::env::var(var) {
            Ok(text) => Self::from_bytes(text.into_bytes()).map_err(|e| match e {
                KeyError::TooShort { min, got } => KeyError::EnvTooShort {
                    var: var.to_owned(),
                    min,
                    got,
                },
                other => other,
            }),
            Err(std::env::VarError::NotPresent) => Err(KeyError::MissingEnv {
                var: var.to_owned(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::NotUnicode {
                var: var.to_owned(),
            }),
        }
    }

    /// [`Secret::from_env`] on `SESSION_SECRET`.
    pub fn from_default_env() -> Result<Self, KeyError> {
        Self::from_env(DEFAULT_SECRET_ENV)
    }

    /// A key for one purpose, derived with HKDF-SHA256 ([S-12]: one key, one purpose). Different
    /// purposes give unrelated keys; the same secret and purpose always give the same key.
    ///
    /// ```
    /// use session_core::{config::KeyPurpose, Secret};
    /// let master = Secret::from_bytes(vec![1u8; 32]).unwrap();
    /// let a = master.derive(KeyPurpose::SignedId);
    /// let b = master.derive(KeyPurpose::Jwt);
    /// assert_ne!(a.expose(), b.expose());
    /// ```
    ///
    /// [S-12]: crate::manual::contracts#s-12
    pub fn derive(&self, purpose: KeyPurpose) -> Secret {
        self.derive_with_info(&[purpose.label().as_bytes()])
    }

    /// The key of application tokens for `purpose` (see [`TokenCodec`](crate::codec::TokenCodec)):
    /// HKDF info `app token\0<purpose>`. The NUL byte keeps it apart from every built-in label
    /// (none contains one), so it never equals the session-JWT or signed-id key.
    pub(crate) fn derive_app_token(&self, purpose: &str) -> Secret {
        self.derive_with_info(&[APP_TOKEN_LABEL, purpose.as_bytes()])
    }

    /// A codec key's secret material (an HMAC or AES key, a private key's PEM), kept only to
    /// derive keys from ([`SessionCodec::derive_keys`](crate::codec::SessionCodec::derive_keys)).
    pub(crate) fn key_material(material: &[u8]) -> Secret {
        Secret(material.to_vec())
    }

    pub(crate) fn derive_with_info(&self, info: &[&[u8]]) -> Secret {
        let hk = Hkdf::<Sha256>::new(Some(b"session-core/v1"), &self.0);
        let mut okm = vec![0u8; 32];
        // Invariant: 32 bytes is far below HKDF-SHA256's limit of 255 * 32 bytes.
        hk.expand_multi_info(info, &mut okm)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Secret(okm)
    }

    /// The secret that the base64url `text` (padding optional) encodes: how `jose` apps keep
    /// a `JWE_SECRET`. At least [`MIN_SECRET_LEN`] bytes.
    ///
    /// ```
    /// use session_core::{config::KeyError, Secret};
    /// let secret = Secret::from_base64url("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")?;
    /// assert_eq!(secret.len(), 32);
    /// assert_eq!(Secret::from_base64url("not base64!").unwrap_err(), KeyError::NotBase64url);
    /// # Ok::<(), KeyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyError::NotBase64url`] for other text, [`KeyError::TooShort`] under 32 bytes.
    pub fn from_base64url(text: &str) -> Result<Self, KeyError> {
        let bytes =
            crate::b64::decode(text.trim().trim_end_matches('=')).ok_or(KeyError::NotBase64url)?;
        Self::from_bytes(bytes)
    }

    /// The bytes. Handle with care.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty (never true for a constructed secret).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// HKDF info prefix of application-token keys ([`Secret::derive_app_token`]).
const APP_TOKEN_LABEL: &[u8] = b"app token\0";

/// What a derived key is for; each purpose gets its own HKDF label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// HMAC tags of signed-id cookies (stateful mode).
    SignedId,
    /// Signing session JWTs (stateless mode).
    Jwt,
    /// The session-bound CSRF tokens of forms ([`Session::csrf_token`](crate::Session::csrf_token)).
    CsrfToken,
    /// Keys for anything else the application derives, by label. Labels containing a NUL byte
    /// are reserved for this crate (application-token keys of
    /// [`TokenCodec`](crate::codec::TokenCodec) use one), and the built-in labels
    /// (`"signed-id cookie tag"`, `"session jwt"`, `"csrf form token"`) must not be reused.
    Custom(&'static str),
}

impl KeyPurpose {
    fn label(self) -> &'static str {
        match self {
            KeyPurpose::SignedId => "signed-id cookie tag",
            KeyPurpose::Jwt => "session jwt",
            KeyPurpose::CsrfToken => "csrf form token",
            KeyPurpose::Custom(label) => label,
        }
    }
}

/// Why a key could not be loaded. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is shorter than the algorithm needs.
    #[error("secret key too short: {got} bytes, at least {min} required")]
    TooShort {
        /// The minimum length in bytes.
        min: usize,
        /// The length given.
        got: usize,
    },
    /// The key in an environment variable is too short.
    #[error("secret in ${var} too short: {got} bytes, at least {min} required")]
    EnvTooShort {
        /// The variable's name.
        var: String,
        /// The minimum length in bytes.
        min: usize,
        /// The length found.
        got: usize,
    },
    /// The environment variable is not set.
    #[error("environment variable ${var} is not set (it must hold the session secret, at least 32 bytes)")]
    MissingEnv {
        /// The variable's name.
        var: String,
    },
    /// The environment variable is not valid UTF-8.
    #[error("environment variable ${var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: String,
    },
    /// A PEM or DER key could not be parsed for the algorithm.
    #[error("invalid {what} key for {algorithm}")]
    InvalidKey {
        /// "signing", "verifying", "encryption" or "decryption".
        what: &'static str,
        /// The algorithm's name.
        algorithm: &'static str,
    },
    /// A key ring needs a current key.
    #[error("the key ring is empty")]
    EmptyRing,
    /// A key id (`kid`) that is empty, longer than 128 bytes, or not visible ASCII
    /// (see [`JwtKey::with_kid`](crate::codec::JwtKey::with_kid)).
    #[error("invalid key id: {reason}")]
    InvalidKid {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Text that should be base64url and is not.
    #[error("the secret is not base64url text")]
    NotBase64url,
    /// An application-token purpose name that is not allowed
    /// (see [`TokenCodec::new`](crate::codec::TokenCodec::new)).
    #[error("invalid token purpose: {reason}")]
    InvalidPurpose {
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused_with_their_length() {
        for len in 0..MIN_SECRET_LEN {
            assert_eq!(
                Secret::from_bytes(vec![0u8; len]).unwrap_err(),
                KeyError::TooShort { min: 32, got: len }
            );
        }
        assert!(Secret::with_min_len(vec![0u8; 47], 48).is_err());
        assert!(Secret::with_min_len(vec![0u8; 48], 48).is_ok());
    }

    #[test]
    fn missing_env_names_the_variable() {
        let err = Secret::from_env("SESSION_CORE_TEST_SURELY_UNSET").unwrap_err();
        assert!(err.to_string().contains("SESSION_CORE_TEST_SURELY_UNSET"));
    }

    #[test]
    fn derived_keys_are_pairwise_different() {
        let master = Secret::from_bytes(vec![9u8; 40]).unwrap();
        let keys = [
            master.derive(KeyPurpose::SignedId),
            master.derive(KeyPurpose::Jwt),
            master.derive(KeyPurpose::Custom("csrf")),
            master.derive_app_token("password-reset"),
            master.derive_app_token("email-verify"),
            master.derive_app_token("signed-id cookie tag"),
            master.derive_app_token("session jwt"),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert_ne!(a.expose(), master.expose());
            for b in &keys[i + 1..] {
                assert_ne!(a.expose(), b.expose());
            }
        }
        assert_eq!(
            master.derive(KeyPurpose::Jwt).expose(),
            keys[1].expose(),
            "derivation is deterministic"
        );
    }
}
