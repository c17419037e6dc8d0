//! Fuzz target: stateless session tokens, [`JwtCodec`] through [`SessionCodec::decode`], and
//! application tokens, [`TokenCodec::decode`].
//!
//! The first byte picks what the rest is (modulo 3, so `0`, `1`, `2` in the seed files):
//! 0. a token as a cookie would carry it;
//! 1. `<header JSON>\n<claims JSON>`, signed here with the codec's key, so the fuzzer reaches
//!    the header and claims checks that sit behind the signature;
//! 2. claims JSON for [`TokenCodec::encode`]: what it encodes must decode to the same claims.
//!
//! A session that decodes must be issued again and decode to an equal record.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use session_core::codec::{SessionCodec, TokenCodec};
use session_core::JwtCodec;
use session_fuzz::{
    assert_reissue_roundtrip, jose_jwt_codec, jwt_codec, sign_hs256, token_codec, NOW,
};

struct Codecs {
    session: JwtCodec,
    jose: JwtCodec,
    tokens: TokenCodec,
}

fn decode_all(codecs: &Codecs, token: &str) {
    for (name, codec) in [("jwt", &codecs.session), ("jose jwt", &codecs.jose)] {
        if let Ok(decoded) = codec.decode(token, NOW) {
            assert_reissue_roundtrip(name, codec, &decoded.payload);
        }
    }
    let _ = codecs.tokens.decode::<Value>(token, NOW);
}

fuzz_target!(|bytes: &[u8]| {
    static CODECS: OnceLock<Codecs> = OnceLock::new();
    let codecs = CODECS.get_or_init(|| Codecs {
        session: jwt_codec(),
        jose: jose_jwt_codec(),
        tokens: token_codec(),
    });
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
            let (header, claims) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            decode_all(codecs, &sign_hs256(header, claims));
        }
        _ => {
            let Ok(claims) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
            let Ok(token) = codecs.tokens.encode(&claims, NOW, Duration::from_secs(60)) else {
                return;
            };
            let decoded = match codecs.tokens.decode::<Value>(&token, NOW) {
                Ok(decoded) => decoded,
                Err(reason) if token.len() > 4096 => {
                    assert_eq!(reason, session_core::codec::RejectReason::TooLarge);
                    return;
                }
                Err(reason) => panic!("an application token it issued is rejected: {reason:?}"),
            };
            let Value::Object(mut map) = decoded.payload else {
                panic!("the claims of a token are not an object");
            };
            for time in ["iat", "nbf", "exp"] {
                assert!(map.remove(time).is_some(), "{time} missing");
            }
            assert_eq!(Value::Object(map), claims, "the claims changed on the way");
        }
    }
});
