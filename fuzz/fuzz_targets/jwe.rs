//! Fuzz target: encrypted stateless sessions, [`JweCodec`] through [`SessionCodec::decode`],
//! for every key management and content encryption the builder offers (`dir`, `A256GCMKW`,
//! `ECDH-ES+A256KW`, each with `A256GCM` and `A256CBC-HS512`) and the Auth.js preset.
//!
//! The first byte picks what the rest is (modulo 2, so `0` and `1` in the seed files):
//! 0. a token as a cookie would carry it, tried on every codec;
//! 1. `<protected header JSON>\n<plaintext>`, encrypted here under the `dir` + `A256GCM` key, so
//!    the fuzzer reaches the claims checks behind the decryption.
//!
//! A session that decodes must be issued again and decode to an equal record.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use session_core::codec::SessionCodec;
use session_core::JweCodec;
use session_fuzz::{assert_reissue_roundtrip, encrypt_dir_a256gcm, jwe_codecs, NOW};

fn decode_all(codecs: &[(&'static str, JweCodec)], token: &str) {
    for (name, codec) in codecs {
        if let Ok(decoded) = codec.decode(token, NOW) {
            assert_reissue_roundtrip(name, codec, &decoded.payload);
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    static CODECS: OnceLock<Vec<(&'static str, JweCodec)>> = OnceLock::new();
    let codecs = CODECS.get_or_init(jwe_codecs);
    let Some((&mode, rest)) = bytes.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(token) = std::str::from_utf8(rest) {
            decode_all(codecs, token);
        }
    } else {
        let (header, plaintext) = match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        decode_all(&codecs[..1], &encrypt_dir_a256gcm(header, plaintext));
    }
});
