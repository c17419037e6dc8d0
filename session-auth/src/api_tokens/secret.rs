//! What an API token is on the wire (`<prefix><43 base64url characters>`: 256 random bits) and
//! what is kept of it: a keyed hash and a short display prefix.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use session_core::config::{KeyPurpose, Secret};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Random bytes in a token: 256 bits from the operating system's generator.
pub(crate) const TOKEN_BYTES: usize = 32;
/// Length of the token's body: base64url of [`TOKEN_BYTES`] without padding.
pub(crate) const BODY_LEN: usize = 43;
/// Characters of the body kept in the display prefix: 6 of 43 (36 of 256 bits), enough to
/// tell a user's tokens apart and far too few to help guess one.
const DISPLAY_BODY_CHARS: usize = 6;
/// The longest `Authorization` credential looked at; anything longer is refused unread.
pub const MAX_PRESENTED_LEN: usize = 256;

/// The HKDF label of the token-hash key: its own key, so a leaked table of hashes cannot be
/// checked offline without the application's secret, and no other token kind shares it.
const HASH_KEY_LABEL: &str = "api token hash";

/// A new API token in clear: shown to its owner once, at creation, and never again (only its
/// [`TokenHash`] is stored).
///
/// `Debug` and `Display` show only the display prefix; [`expose`](Self::expose) is the one way
/// to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenSecret(Zeroizing<String>);

impl ApiTokenSecret {
    /// The token, to show the user once (and for them to send as `Authorization: Bearer ...`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiTokenSecret(redacted)")
    }
}

/// The keyed hash a store keeps of a token: HMAC-SHA256 of the whole token under a key derived
/// from the application's secret. Stores look tokens up by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Wraps 32 bytes read back from a store.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenHash(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters: how the SQL and Redis stores keep it.
    ///
    /// ```
    /// use session_auth::api_tokens::TokenHash;
    /// let hash = TokenHash::from_bytes([0xab; 32]);
    /// assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
    /// assert_eq!(TokenHash::from_hex("not hex"), None);
    /// ```
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads [`to_hex`](Self::to_hex)'s form back; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(TokenHash(bytes))
    }

    /// Compares in constant time.
    pub(crate) fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not secret, but long and useless in a log line.
        write!(f, "TokenHash({}..)", &self.to_hex()[..8])
    }
}

/// Why a presented credential is not a token of this application, before any store is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MalformedToken {
    /// Longer than [`MAX_PRESENTED_LEN`].
    TooLong,
    /// Does not start with this application's prefix.
    WrongPrefix,
    /// The body is not 43 characters of canonical base64url (32 bytes).
    Encoding,
}

impl MalformedToken {
    /// The reason as logged: `too_long`, `wrong_prefix` or `encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            MalformedToken::TooLong => "too_long",
            MalformedToken::WrongPrefix => "wrong_prefix",
            MalformedToken::Encoding => "encoding",
        }
    }
}

/// Makes and checks the tokens of one application: its prefix and its hash key.
#[derive(Clone)]
pub(crate) struct TokenFormat {
    prefix: String,
    key: Zeroizing<Vec<u8>>,
}

impl TokenFormat {
    pub(crate) fn new(secret: &Secret, prefix: String) -> Self {
        let key = secret.derive(KeyPurpose::Custom(HASH_KEY_LABEL));
        TokenFormat {
            prefix,
            key: Zeroizing::new(key.expose().to_vec()),
        }
    }

    pub(crate) fn with_prefix(self, prefix: String) -> Self {
        TokenFormat { prefix, ..self }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A new token from the OS generator, its hash and its display prefix.
    pub(crate) fn generate(&self) -> Result<(ApiTokenSecret, TokenHash, String), getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
        getrandom::fill(&mut *bytes)?;
        let mut text = Zeroizing::new(String::with_capacity(self.prefix.len() + BODY_LEN));
        text.push_str(&self.prefix);
        URL_SAFE_NO_PAD.encode_string(&bytes[..], &mut text);
        let hash = self.hash(&text);
        let display = text[..self.prefix.len() + DISPLAY_BODY_CHARS].to_owned();
        Ok((ApiTokenSecret(text), hash, display))
    }

    /// The hash of `presented` if it has this application's shape; never looks at a store.
    pub(crate) fn check(&self, presented: &str) -> Result<TokenHash, MalformedToken> {
        if presented.len() > MAX_PRESENTED_LEN {
            return Err(MalformedToken::TooLong);
        }
        let body = presented
            .strip_prefix(self.prefix.as_str())
            .ok_or(MalformedToken::WrongPrefix)?;
        if body.len() != BODY_LEN {
            return Err(MalformedToken::Encoding);
        }
        // The engine refuses padding and non-zero trailing bits, so one token has one spelling.
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES + 2]);
        match URL_SAFE_NO_PAD.decode_slice(body, &mut *bytes) {
            Ok(TOKEN_BYTES) => Ok(self.hash(presented)),
            _ => Err(MalformedToken::Encoding),
        }
    }

    fn hash(&self, token: &str) -> TokenHash {
        self.mac(&[token.as_bytes()])
    }

    /// The stored hash of a seed-app token whose SHA-256 is `sha256`: the HMAC of a label that
    /// no token of this format starts with (it has a NUL) and the digest, so the two kinds never
    /// share a hash.
    pub(crate) fn legacy_hash(&self, sha256: &[u8; 32]) -> TokenHash {
        self.mac(&[LEGACY_LABEL, sha256])
    }

    /// The hash of a presented seed-app token (64 lowercase hex characters), if it is one.
    pub(crate) fn check_legacy(&self, presented: &str) -> Option<TokenHash> {
        if presented.len() != LEGACY_TOKEN_LEN || !is_lower_hex(presented) {
            return None;
        }
        Some(self.legacy_hash(&Sha256::digest(presented.as_bytes()).into()))
    }

    fn mac(&self, parts: &[&[u8]]) -> TokenHash {
        // Invariant: HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key");
        for part in parts {
            mac.update(part);
        }
        TokenHash(mac.finalize().into_bytes().into())
    }
}

/// Whether `text` is lowercase hex digits only, as the seed app writes its tokens.
pub(crate) fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What the seed app's tokens are: 32 random bytes as lowercase hex.
pub(crate) const LEGACY_TOKEN_LEN: usize = 64;
/// Domain separation of [`TokenFormat::legacy_hash`].
const LEGACY_LABEL: &[u8] = b"seed sha256\0";

impl fmt::Debug for TokenFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFormat")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Whether `prefix` is a usable token prefix: 2 to 16 characters of lowercase ASCII letters and
/// digits starting with a letter, ending with `_` (like `ghp_`, so a scanner's pattern and a
/// human both see where it ends).
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    let Some(stem) = prefix.strip_suffix('_') else {
        return false;
    };
    (1..=15).contains(&stem.len())
        && stem.starts_with(|c: char| c.is_ascii_lowercase())
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn format() -> TokenFormat {
        TokenFormat::new(&Secret::from_bytes(vec![9; 32]).unwrap(), "sat_".into())
    }

    #[test]
    fn a_generated_token_checks_and_hashes_alike() {
        let format = format();
        let (secret, hash, display) = format.generate().unwrap();
        assert_eq!(secret.expose().len(), 4 + BODY_LEN);
        assert!(secret.expose().starts_with(&display));
        assert_eq!(display.len(), 10);
        assert_eq!(format.check(secret.expose()), Ok(hash));
        assert_eq!(format!("{secret:?}"), "ApiTokenSecret(redacted)");
    }

    #[test]
    fn another_secret_hashes_differently() {
        let (secret, hash, _) = format().generate().unwrap();
        let other = TokenFormat::new(&Secret::from_bytes(vec![8; 32]).unwrap(), "sat_".into());
        assert_ne!(other.check(secret.expose()).unwrap(), hash);
    }

    #[test]
    fn wrong_shapes_are_refused_by_kind() {
        let format = format();
        let (secret, _, _) = format.generate().unwrap();
        let body = &secret.expose()[4..];
        assert_eq!(format.check(body), Err(MalformedToken::WrongPrefix));
        assert_eq!(
            format.check(&format!("SAT_{body}")),
            Err(MalformedToken::WrongPrefix)
        );
        assert_eq!(
            format.check(&format!("sat_{body}A")),
            Err(MalformedToken::Encoding)
        );
        assert_eq!(
            format.check(&format!("sat_{}", &body[1..])),
            Err(MalformedToken::Encoding)
        );
        assert_eq!(
            format.check(&format!("sat_{}!", &body[1..])),
            Err(MalformedToken::Encoding)
        );
        assert_eq!(
            format.check(&format!("sat_{}=", &body[1..])),
            Err(MalformedToken::Encoding)
        );
        assert_eq!(format.check(&"a".repeat(300)), Err(MalformedToken::TooLong));
        // The last character carries 2 bits of padding: a non-zero one is another spelling.
        let mut bytes = body.as_bytes().to_vec();
        let last = bytes.last_mut().unwrap();
        *last = if *last == b'A' { b'B' } else { b'A' };
        let respelled = String::from_utf8(bytes).unwrap();
        if respelled.ends_with('B') {
            assert_eq!(
                format.check(&format!("sat_{respelled}")),
                Err(MalformedToken::Encoding)
            );
        }
    }

    #[test]
    fn seed_tokens_are_lowercase_hex_of_64_and_hash_apart() {
        let format = format();
        let token = "0123456789abcdef".repeat(4);
        let hash = format.check_legacy(&token).expect("a seed token");
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_eq!(hash, format.legacy_hash(&digest));
        assert_ne!(
            hash,
            format.hash(&token),
            "the two kinds never share a hash"
        );
        for bad in [
            token.to_uppercase(),
            token[1..].to_owned(),
            format!("{token}0"),
            "g".repeat(64),
        ] {
            assert_eq!(format.check_legacy(&bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes_are_checked() {
        for good in ["sat_", "ghp_", "a_", "myapp2_"] {
            assert!(valid_prefix(good), "{good}");
        }
        for bad in [
            "",
            "_",
            "sat",
            "Sat_",
            "2a_",
            "s-t_",
            "sat__",
            "abcdefghijklmnop_",
        ] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_checked_without_panic(text in ".{0,300}") {
            let _ = format().check(&text);
        }

        #[test]
        fn any_32_bytes_round_trip(bytes in proptest::array::uniform32(any::<u8>())) {
            let format = format();
            let token = format!("sat_{}", URL_SAFE_NO_PAD.encode(bytes));
            prop_assert!(format.check(&token).is_ok());
        }
    }
}
