//! Strict base64url (RFC 4648 §5, no padding) used for every value that travels in a cookie.
//!
//! "Strict" means: padding, `+` and `/` are rejected, and so are non-zero unused bits in the last
//! character. Without the last rule two different strings decode to the same bytes, and a
//! single-bit flip in the final character of a cookie would go unnoticed.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

const STRICT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STRICT_URL_SAFE.encode(bytes)
}

/// Appends the unpadded base64url form of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    STRICT_URL_SAFE.encode_string(bytes, out);
}

/// Decodes unpadded base64url strictly; `None` for anything non-canonical.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STRICT_URL_SAFE.decode(text).ok()
}

/// Decodes strictly into a fixed-size array; `None` unless exactly `N` bytes come out.
pub(crate) fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    // The encoded length of N bytes is fixed; checking it first bounds the work.
    if text.len() != encoded_len(N) {
        return None;
    }
    let mut out = [0u8; N];
    match STRICT_URL_SAFE.decode_slice(text, &mut out) {
        Ok(n) if n == N => Some(out),
        _ => None,
    }
}

/// Length of the unpadded encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_canonical_trailing_bits() {
        // 32 bytes -> 43 chars with 2 unused bits in the last char.
        let good = encode(&[0u8; 32]);
        assert_eq!(good.len(), 43);
        assert!(decode_array::<32>(&good).is_some());
        let mut bad = good.clone();
        bad.pop();
        bad.push('B'); // 'A' = 0b000000, 'B' = 0b000001: only unused bits differ
        assert!(decode_array::<32>(&bad).is_none());
        assert!(decode(&bad).is_none());
    }

    #[test]
    fn rejects_padding_and_standard_alphabet() {
        assert!(decode("AA==").is_none());
        assert!(decode("a+b/").is_none());
        assert_eq!(decode("AA").as_deref(), Some(&[0u8][..]));
    }
}
