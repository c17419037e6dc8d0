//! Fuzz target: encrypted stateless sessions, [`JweCodec`] through [`SessionCodec::decode`],
//! for every key management and content encryption the builder offers (`dir`, `A256GCMKW`,
//! `ECDH-ES+A256KW`, each with `A256GCM` and `A256CBC-HS512`) and the Auth.js preset.
//!
//! The first byte picks what the rest is (modulo 3, so `0`, `1` and `2` in the seed files):
//! 0. a token as a cookie would carry it, tried on every codec;
//! 1. `<protected header JSON>\n<plaintext>`, encrypted here under the `dir` + `A256GCM` key, so
//!    the fuzzer reaches the claims checks behind the decryption;
//! 2. `<content key length><protected header JSON>\n<plaintext>`, a token whose content key of
//!    that length (modulo 97 bytes) is wrapped correctly under the `A256GCMKW` key, tried on both
//!    `A256GCMKW` codecs: past the key wrap's tag to the content key's checks, and with a 32-byte
//!    key past the content's tag to the claims.
//!
//! A session that decodes must be issued again and decode to an equal record.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use session_core::codec::SessionCodec;
use session_core::JweCodec;
use session_fuzz::{
    assert_reissue_roundtrip, encrypt_a256gcmkw, encrypt_dir_a256gcm, jwe_codecs, NOW,
};

fn decode_all(codecs: &[(&'static str, JweCodec)], token: &str) {
    for (name, codec) in codecs {
        if let Ok(decoded) = codec.decode(token, NOW) {
            assert_reissue_roundtrip(name, codec, &decoded.payload);
        }
    }
}

/// `<first line>\n<rest>`, or all of it as the first part.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &[][..]),
    }
}

fuzz_target!(|bytes: &[u8]| {
    static CODECS: OnceLock<Vec<(&'static str, JweCodec)>> = OnceLock::new();
    let codecs = CODECS.get_or_init(jwe_codecs);
    let Some((&mode, rest)) = bytes.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                decode_all(codecs, token);
            }
        }
        1 => {
            let (header, plaintext) = split_line(rest);
            decode_all(&codecs[..1], &encrypt_dir_a256gcm(header, plaintext));
        }
        _ => {
            let Some((&cek_len, rest)) = rest.split_first() else {
                return;
            };
            let (header, plaintext) = split_line(rest);
            let token = encrypt_a256gcmkw(usize::from(cek_len) % 97, header, plaintext);
            let gcmkw: Vec<_> = codecs
                .iter()
                .filter(|(name, _)| name.starts_with("A256GCMKW"))
                .cloned()
                .collect();
            decode_all(&gcmkw, &token);
        }
    }
});
