//! Content encryption (`enc`): AES-256-GCM, and AES-256-CBC with HMAC-SHA-512 (RFC 7518 §5.2.5).

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hmac::{Hmac, Mac};
use sha2::Sha512;
use subtle::ConstantTimeEq;

use crate::codec::EncodeError;

/// The content encryption (`enc`) of a [`JweCodec`](crate::JweCodec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JweEncryption {
    /// AES-256 in Galois/Counter Mode: a 32-byte key, a random 96-bit IV, a 128-bit tag.
    A256Gcm,
    /// AES-256-CBC with HMAC-SHA-512 truncated to 256 bits (RFC 7518 §5.2.5): a 64-byte key
    /// (the first half authenticates, the second encrypts), a random 128-bit IV. What Auth.js
    /// session cookies use.
    A256CbcHs512,
}

impl JweEncryption {
    /// The `enc` header value.
    ///
    /// ```
    /// use session_core::codec::JweEncryption;
    /// assert_eq!(JweEncryption::A256Gcm.name(), "A256GCM");
    /// assert_eq!(JweEncryption::A256CbcHs512.name(), "A256CBC-HS512");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            JweEncryption::A256Gcm => "A256GCM",
            JweEncryption::A256CbcHs512 => "A256CBC-HS512",
        }
    }

    /// The content key's length in bytes (`dir` keys must have exactly this length).
    pub fn key_len(self) -> usize {
        match self {
            JweEncryption::A256Gcm => 32,
            JweEncryption::A256CbcHs512 => 64,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            JweEncryption::A256Gcm => 12,
            JweEncryption::A256CbcHs512 => 16,
        }
    }

    fn tag_len(self) -> usize {
        match self {
            JweEncryption::A256Gcm => 16,
            JweEncryption::A256CbcHs512 => 32,
        }
    }
}

/// A content key, prepared for its encryption.
#[derive(Clone)]
pub(super) enum ContentCipher {
    Gcm(Box<Aes256Gcm>),
    CbcHs512 {
        mac: Box<Hmac<Sha512>>,
        aes: Box<aes::Aes256>,
    },
}

/// One encryption's output.
pub(super) struct Sealed {
    pub(super) iv: Vec<u8>,
    pub(super) ciphertext: Vec<u8>,
    pub(super) tag: Vec<u8>,
}

impl ContentCipher {
    /// The cipher for `key`, which must be exactly `enc.key_len()` bytes.
    pub(super) fn new(enc: JweEncryption, key: &[u8]) -> Option<Self> {
        if key.len() != enc.key_len() {
            return None;
        }
        Some(match enc {
            JweEncryption::A256Gcm => {
                ContentCipher::Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?))
            }
            JweEncryption::A256CbcHs512 => {
                let (mac_key, enc_key) = key.split_at(32);
                ContentCipher::CbcHs512 {
                    mac: Box::new(<Hmac<Sha512> as Mac>::new_from_slice(mac_key).ok()?),
                    aes: Box::new(aes::Aes256::new_from_slice(enc_key).ok()?),
                }
            }
        })
    }

    fn enc(&self) -> JweEncryption {
        match self {
            ContentCipher::Gcm(_) => JweEncryption::A256Gcm,
            ContentCipher::CbcHs512 { .. } => JweEncryption::A256CbcHs512,
        }
    }

    /// Encrypts `plaintext` with a fresh random IV from the operating system.
    pub(super) fn seal(&self, aad: &[u8], plaintext: Vec<u8>) -> Result<Sealed, EncodeError> {
        let mut iv = [0u8; 16];
        let iv = &mut iv[..self.enc().iv_len()];
        getrandom::fill(iv).map_err(|_| EncodeError::Encrypt)?;
        self.seal_with_iv(aad, iv, plaintext)
    }

    pub(super) fn seal_with_iv(
        &self,
        aad: &[u8],
        iv: &[u8],
        plaintext: Vec<u8>,
    ) -> Result<Sealed, EncodeError> {
        match self {
            ContentCipher::Gcm(cipher) => {
                let mut buffer = plaintext;
                let nonce: [u8; 12] = iv.try_into().map_err(|_| EncodeError::Encrypt)?;
                let tag = cipher
                    .encrypt_in_place_detached(&Nonce::from(nonce), aad, &mut buffer)
                    .map_err(|_| EncodeError::Encrypt)?;
                Ok(Sealed {
                    iv: iv.to_vec(),
                    ciphertext: buffer,
                    tag: tag.to_vec(),
                })
            }
            ContentCipher::CbcHs512 { mac, aes } => {
                let encryptor =
                    cbc::Encryptor::<aes::Aes256>::inner_iv_slice_init((**aes).clone(), iv)
                        .map_err(|_| EncodeError::Encrypt)?;
                let ciphertext = encryptor.encrypt_padded_vec_mut::<Pkcs7>(&plaintext);
                let tag = cbc_hs512_tag(mac, aad, iv, &ciphertext);
                Ok(Sealed {
                    iv: iv.to_vec(),
                    ciphertext,
                    tag: tag.to_vec(),
                })
            }
        }
    }

    /// The plaintext, or `None` whatever went wrong (one answer: no padding or tag oracle).
    pub(super) fn open(
        &self,
        aad: &[u8],
        iv: &[u8],
        ciphertext: Vec<u8>,
        tag: &[u8],
    ) -> Option<Vec<u8>> {
        let enc = self.enc();
        if iv.len() != enc.iv_len() || tag.len() != enc.tag_len() {
            return None;
        }
        match self {
            ContentCipher::Gcm(cipher) => {
                let mut buffer = ciphertext;
                let nonce: [u8; 12] = iv.try_into().ok()?;
                let tag: [u8; 16] = tag.try_into().ok()?;
                cipher
                    .decrypt_in_place_detached(
                        &Nonce::from(nonce),
                        aad,
                        &mut buffer,
                        &Tag::from(tag),
                    )
                    .ok()?;
                Some(buffer)
            }
            ContentCipher::CbcHs512 { mac, aes } => {
                // Authenticate first: the padding is only looked at under a valid tag.
                let expected = cbc_hs512_tag(mac, aad, iv, &ciphertext);
                if !bool::from(expected[..].ct_eq(tag)) {
                    return None;
                }
                let decryptor =
                    cbc::Decryptor::<aes::Aes256>::inner_iv_slice_init((**aes).clone(), iv).ok()?;
                decryptor.decrypt_padded_vec_mut::<Pkcs7>(&ciphertext).ok()
            }
        }
    }
}

/// RFC 7518 §5.2.2.1: HMAC over AAD || IV || ciphertext || AL (the AAD's length in bits, 64-bit
/// big-endian), truncated to its first half.
fn cbc_hs512_tag(mac: &Hmac<Sha512>, aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> [u8; 32] {
    let mut mac = mac.clone();
    mac.update(aad);
    mac.update(iv);
    mac.update(ciphertext);
    mac.update(&(aad.len() as u64 * 8).to_be_bytes());
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&full[..32]);
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|b| (b as char).to_digit(16).expect("hex digit") as u8)
            .collect();
        digits
            .chunks(2)
            .map(|pair| pair[0] << 4 | pair[1])
            .collect()
    }

    /// RFC 7518 Appendix B.3, the AES_256_CBC_HMAC_SHA_512 test case.
    #[test]
    fn a256cbc_hs512_matches_rfc_7518_appendix_b3() {
        let key: Vec<u8> = (0u8..64).collect();
        let cipher = ContentCipher::new(JweEncryption::A256CbcHs512, &key).expect("64 bytes");
        let plaintext = b"A cipher system must not be required to be secret, and it must be able \
to fall into the hands of the enemy without inconvenience";
        let iv = hex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04");
        let aad = b"The second principle of Auguste Kerckhoffs";
        let sealed = cipher
            .seal_with_iv(aad, &iv, plaintext.to_vec())
            .expect("seal");
        let expected_ciphertext = hex(
            "4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd 3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd
             82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2 e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b
             36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1 1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3
             a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e 31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b
             be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6",
        );
        let expected_tag = hex(
            "4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf 2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5",
        );
        assert_eq!(sealed.ciphertext, expected_ciphertext);
        assert_eq!(sealed.tag, expected_tag);
        let opened = cipher.open(aad, &iv, sealed.ciphertext, &sealed.tag);
        assert_eq!(opened.as_deref(), Some(&plaintext[..]));
    }

    #[test]
    fn keys_of_another_length_make_no_cipher() {
        assert!(ContentCipher::new(JweEncryption::A256Gcm, &[1; 33]).is_none());
        assert!(ContentCipher::new(JweEncryption::A256CbcHs512, &[1; 32]).is_none());
        assert!(ContentCipher::new(JweEncryption::A256CbcHs512, &[1; 64]).is_some());
    }
}
