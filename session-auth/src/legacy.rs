//! Importing the tokens of the Next.js app this crate replaces: it kept OAuth tokens as
//! `<iv hex>:<ciphertext hex>`, AES-256-CBC with PKCS#7 padding and no MAC, under the 64-hex-digit
//! `ENCRYPTION_KEY`. [`LegacyKey::decrypt`] reads such a value; [`import`] re-seals a row into the
//! [`TokenVault`] (AES-256-GCM, bound to its owner and provider), after which the legacy column
//! can be dropped.
//!
//! CBC without a MAC cannot tell a tampered value from a good one, so a row that decrypts to
//! garbage (bad padding, not UTF-8) is refused, and one that decrypts to other plausible text
//! cannot be detected: import from the database you trust, once.
//!
//! ```
//! use session_auth::legacy::LegacyKey;
//!
//! // What the seed app's `encrypt("gho_example")` wrote (Node's `crypto`, AES-256-CBC, this
//! // key and IV 00 01 .. 0f):
//! let key = LegacyKey::from_hex(&"00".repeat(32))?;
//! let row = "000102030405060708090a0b0c0d0e0f:343af5ad8ff0b315838530984c36d127";
//! assert_eq!(key.decrypt(row)?.as_str(), "gho_example");
//! # Ok::<(), session_auth::legacy::LegacyError>(())
//! ```

use std::fmt;

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use session_core::{UnixTime, UserId};
use zeroize::Zeroizing;

use crate::error::TokenError;
use crate::secret_text::{AccessToken, RefreshToken};
use crate::vault::{TokenSet, TokenVault};

type Decryptor = cbc::Decryptor<aes::Aes256>;
type Encryptor = cbc::Encryptor<aes::Aes256>;

/// Why a legacy key or value could not be read. Never holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyError {
    /// `ENCRYPTION_KEY` is not 64 hex digits.
    #[error("ENCRYPTION_KEY must be 64 hex digits (32 bytes)")]
    BadKey,
    /// Not `<32 hex digits>:<hex, a multiple of 16 bytes>`.
    #[error("not a legacy encrypted value (`ivhex:cthex`)")]
    Malformed,
    /// The padding or the text is wrong: another key, or a damaged value.
    #[error("the legacy value does not decrypt with this key")]
    Undecryptable,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A legacy value could not be read.
    #[error("legacy value: {0}")]
    Legacy(#[from] LegacyError),
    /// The vault could not store the re-sealed tokens.
    #[error("storing the imported tokens: {0}")]
    Vault(#[from] TokenError),
}

/// The seed app's `ENCRYPTION_KEY`.
#[derive(Clone)]
pub struct LegacyKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for LegacyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LegacyKey(redacted)")
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl LegacyKey {
    /// The key from its 64 hex digits (what `ENCRYPTION_KEY` holds).
    ///
    /// # Errors
    ///
    /// [`LegacyError::BadKey`] for anything but 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, LegacyError> {
        let bytes = Zeroizing::new(hex_decode(hex.trim()).ok_or(LegacyError::BadKey)?);
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| LegacyError::BadKey)?;
        Ok(LegacyKey(Zeroizing::new(key)))
    }

    /// The text of a legacy `ivhex:cthex` value.
    ///
    /// # Errors
    ///
    /// [`LegacyError::Malformed`] or [`LegacyError::Undecryptable`].
    pub fn decrypt(&self, value: &str) -> Result<Zeroizing<String>, LegacyError> {
        let (iv, ciphertext) = value.trim().split_once(':').ok_or(LegacyError::Malformed)?;
        let iv: [u8; 16] = hex_decode(iv)
            .and_then(|v| v.try_into().ok())
            .ok_or(LegacyError::Malformed)?;
        let mut buffer = Zeroizing::new(hex_decode(ciphertext).ok_or(LegacyError::Malformed)?);
        if buffer.is_empty() || !buffer.len().is_multiple_of(16) {
            return Err(LegacyError::Malformed);
        }
        let plain = Decryptor::new(self.0.as_ref().into(), &iv.into())
            .decrypt_padded_mut::<Pkcs7>(&mut buffer)
            .map_err(|_| LegacyError::Undecryptable)?;
        let text = std::str::from_utf8(plain).map_err(|_| LegacyError::Undecryptable)?;
        Ok(Zeroizing::new(text.to_owned()))
    }

    /// Encrypts like the seed app did, with a given IV. For tests of importers only: the
    /// format has no MAC, so nothing new should be written in it.
    #[doc(hidden)]
    pub fn encrypt_for_tests(&self, text: &str, iv: [u8; 16]) -> String {
        let ciphertext = Encryptor::new(self.0.as_ref().into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(text.as_bytes());
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        format!("{}:{}", hex(&iv), hex(&ciphertext))
    }
}

/// One row of the seed app's `accounts` table, as read from its database.
#[derive(Debug, Clone)]
pub struct LegacyRow<'a> {
    /// The owner in this application.
    pub owner: UserId,
    /// `github` or `vercel`.
    pub provider: &'a str,
    /// The provider's account id.
    pub account: &'a str,
    /// The encrypted access token (`ivhex:cthex`).
    pub access_token: &'a str,
    /// The encrypted refresh token, if the row has one.
    pub refresh_token: Option<&'a str>,
    /// When the access token expires, if the row says.
    pub expires_at: Option<UnixTime>,
    /// When the tokens were obtained (the row's `updated_at`).
    pub obtained_at: UnixTime,
    /// The granted scopes.
    pub scope: Option<&'a str>,
}

/// Decrypts `row`'s tokens with `key` and stores them in `vault`, sealed; returns the new row's
/// version. A Vercel row without an expiry gets `obtained_at` + 3600 s (the rule the seed app
/// only documented).
///
/// # Errors
///
/// [`ImportError::Legacy`] for a value that does not decrypt (nothing stored),
/// [`ImportError::Vault`] when storing fails.
pub async fn import(
    vault: &TokenVault,
    key: &LegacyKey,
    row: &LegacyRow<'_>,
) -> Result<u64, ImportError> {
    let access = key.decrypt(row.access_token)?;
    let refresh = row.refresh_token.map(|r| key.decrypt(r)).transpose()?;
    let expires_at = row.expires_at.or_else(|| {
        (row.provider == "vercel").then(|| {
            row.obtained_at
                .saturating_add(std::time::Duration::from_secs(3600))
        })
    });
    let tokens = TokenSet {
        access_token: AccessToken::new(access.as_str()),
        refresh_token: refresh.map(|r| RefreshToken::new(r.as_str())),
        expires_at,
        obtained_at: row.obtained_at,
        scope: row.scope.map(str::to_owned),
    };
    Ok(vault
        .store(&row.owner, row.provider, row.account, &tokens)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> LegacyKey {
        LegacyKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn keys_must_be_64_hex_digits() {
        assert_eq!(LegacyKey::from_hex("ab").unwrap_err(), LegacyError::BadKey);
        assert_eq!(
            LegacyKey::from_hex(&"zz".repeat(32)).unwrap_err(),
            LegacyError::BadKey
        );
        assert!(!format!("{:?}", key()).contains("ab"));
    }

    #[test]
    fn a_value_under_another_key_or_damaged_does_not_decrypt() {
        let value = key().encrypt_for_tests("gho_token", [7; 16]);
        let other = LegacyKey::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.decrypt(&value).is_err());
        assert_eq!(
            key().decrypt("nocolon").unwrap_err(),
            LegacyError::Malformed
        );
        assert_eq!(key().decrypt("00:00").unwrap_err(), LegacyError::Malformed);
    }

    proptest! {
        #[test]
        fn anything_decrypts_to_a_typed_error_or_text(value in "[0-9a-f:]{0,120}") {
            let _ = key().decrypt(&value);
        }

        #[test]
        fn any_text_round_trips(text in ".{0,100}", iv in any::<[u8; 16]>()) {
            let value = key().encrypt_for_tests(&text, iv);
            let decrypted = key().decrypt(&value).unwrap();
            prop_assert_eq!(decrypted.as_str(), text.as_str());
        }
    }
}
