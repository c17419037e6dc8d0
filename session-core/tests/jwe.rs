//! `JweCodec`: encrypted session cookies (compact JWE, `dir`), checked against hostile input and
//! against the `jose` npm library both ways, for every supported content encryption.
//!
//! The interop tests need `node` and `jose` in `<workspace>/.tools/node`, as `jose_interop.rs`
//! does (`cargo xtask test` installs them); a missing piece fails with a message saying so.

use std::time::Duration;

mod common;

use proptest::prelude::*;
use serde_json::{json, Value};
use session_core::testing::LogCapture;
use session_core::{
    codec::{JweAlgorithm, JweEncryption, JweKey, RejectReason, SessionCodec},
    config::KeyError,
    store::{SessionId, SessionRecord},
    JweCodec, RequestContext, Secret, SessionManager, UnixTime, UserId,
};

const ENCRYPTIONS: [JweEncryption; 2] = [JweEncryption::A256Gcm, JweEncryption::A256CbcHs512];

fn key_bytes(enc: JweEncryption, fill: u8) -> Vec<u8> {
    (0..enc.key_len() as u8).map(|i| i ^ fill).collect()
}

fn key(enc: JweEncryption, fill: u8) -> JweKey {
    JweKey::dir(enc, &Secret::from_bytes(key_bytes(enc, fill)).unwrap()).unwrap()
}

fn codec(enc: JweEncryption) -> JweCodec {
    JweCodec::builder(JweAlgorithm::Dir, enc)
        .key(key(enc, 0))
        .build()
        .unwrap()
}

const EC_PRIVATE: &str = include_str!("fixtures/es256-private.pem");
const EC_PUBLIC: &str = include_str!("fixtures/es256-public.pem");
const KEK: [u8; 32] = [0x6b; 32];

/// One codec per supported (alg, enc) pair.
fn every_codec() -> Vec<(String, JweCodec)> {
    let mut codecs = Vec::new();
    for enc in ENCRYPTIONS {
        codecs.push((format!("dir+{}", enc.name()), codec(enc)));
        let kek = JweKey::a256gcmkw(&Secret::from_bytes(KEK.to_vec()).unwrap()).unwrap();
        let gcmkw = JweCodec::builder(JweAlgorithm::A256GcmKw, enc)
            .key(kek)
            .build()
            .unwrap();
        codecs.push((format!("A256GCMKW+{}", enc.name()), gcmkw));
        let ecdh = JweCodec::builder(JweAlgorithm::EcdhEsA256Kw, enc)
            .key(JweKey::ecdh_es_p256(EC_PRIVATE).unwrap())
            .build()
            .unwrap();
        codecs.push((format!("ECDH-ES+A256KW+{}", enc.name()), ecdh));
    }
    codecs
}

fn record(now: UnixTime) -> SessionRecord {
    let mut r = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + Duration::from_secs(3600),
    );
    r.user_id = Some(UserId::new("ada"));
    r.data.insert("theme".into(), json!("dark"));
    r.data.insert("cart".into(), json!([1, 2, 3]));
    r
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// `token` with its protected header replaced by `header` (the tag then no longer matches the
/// associated data, but every header check comes first).
fn with_header(token: &str, header: Value) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64(header.to_string().as_bytes()))
}

#[test]
fn a_session_round_trips_with_every_encryption() {
    let now = UnixTime::now();
    for enc in ENCRYPTIONS {
        let codec = codec(enc);
        let r = record(now);
        let token = codec.encode(&r, now).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 5, "{enc:?}");
        assert_eq!(parts[1], "", "{enc:?}: dir has no encrypted key");
        assert!(!token.contains("dark"), "{enc:?}: the data is not readable");
        let header: Value = serde_json::from_slice(&unb64(parts[0])).unwrap();
        assert_eq!(header["alg"], "dir");
        assert_eq!(header["enc"], enc.name());
        assert_eq!(header["typ"], "session+jwt");
        let back = codec.decode(&token, now).unwrap();
        assert!(!back.stale_key);
        assert_eq!(back.payload.key, r.key);
        assert_eq!(back.payload.user_id, r.user_id);
        assert_eq!(back.payload.data, r.data);
        assert_eq!(back.payload.expires_at, r.expires_at);
    }
}

#[test]
fn every_pair_round_trips_and_names_itself_in_the_header() {
    let now = UnixTime::now();
    for (name, codec) in every_codec() {
        let r = record(now);
        let token = codec.encode(&r, now).unwrap();
        let header: Value =
            serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
        assert_eq!(
            format!(
                "{}+{}",
                header["alg"].as_str().unwrap(),
                header["enc"].as_str().unwrap()
            ),
            name
        );
        let wrapped = unb64(token.split('.').nth(1).unwrap());
        match codec.algorithm() {
            JweAlgorithm::Dir => assert!(wrapped.is_empty(), "{name}"),
            _ => assert_eq!(
                wrapped.len(),
                codec.encryption().key_len()
                    + 8 * usize::from(codec.algorithm() == JweAlgorithm::EcdhEsA256Kw),
                "{name}"
            ),
        }
        let back = codec.decode(&token, now).unwrap().payload;
        assert_eq!((back.key, back.data), (r.key, r.data), "{name}");
    }
}

#[test]
fn a_token_of_one_key_management_is_refused_by_the_others() {
    let now = UnixTime::now();
    let codecs = every_codec();
    for (made_by, maker) in &codecs {
        let token = maker.encode(&record(now), now).unwrap();
        for (name, codec) in &codecs {
            if name == made_by {
                continue;
            }
            assert_eq!(
                codec.decode(&token, now).unwrap_err(),
                RejectReason::WrongAlg,
                "{made_by} token given to {name}"
            );
        }
    }
}

#[test]
fn an_epk_off_the_curve_is_malformed() {
    let now = UnixTime::now();
    let (_, ecdh) = every_codec().remove(2);
    let token = ecdh.encode(&record(now), now).unwrap();
    let header: Value = serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
    let mut bad_point = header.clone();
    // (1, 1) is not on P-256.
    let mut one = [0u8; 32];
    one[31] = 1;
    bad_point["epk"]["x"] = b64(&one).into();
    bad_point["epk"]["y"] = b64(&one).into();
    let mut other_curve = header.clone();
    other_curve["epk"]["crv"] = "P-384".into();
    let mut short = header.clone();
    short["epk"]["x"] = b64(&one[..31]).into();
    let mut missing = header.clone();
    missing.as_object_mut().unwrap().remove("epk");
    for bad in [bad_point, other_curve, short, missing] {
        assert_eq!(
            ecdh.decode(&with_header(&token, bad.clone()), now)
                .unwrap_err(),
            RejectReason::Malformed,
            "{bad}"
        );
    }
}

#[test]
fn a_public_key_only_ring_encrypts_but_cannot_decrypt() {
    let now = UnixTime::now();
    let sender = JweCodec::builder(JweAlgorithm::EcdhEsA256Kw, JweEncryption::A256Gcm)
        .key(JweKey::ecdh_es_p256_public(EC_PUBLIC).unwrap())
        .build()
        .unwrap();
    let receiver = JweCodec::builder(JweAlgorithm::EcdhEsA256Kw, JweEncryption::A256Gcm)
        .key(JweKey::ecdh_es_p256(EC_PRIVATE).unwrap())
        .build()
        .unwrap();
    let token = sender.encode(&record(now), now).unwrap();
    assert!(receiver.decode(&token, now).is_ok());
    assert_eq!(
        sender.decode(&token, now).unwrap_err(),
        RejectReason::BadSignature
    );
}

#[test]
fn every_token_gets_a_fresh_iv() {
    let now = UnixTime::now();
    let codec = codec(JweEncryption::A256Gcm);
    let r = record(now);
    let ivs: std::collections::HashSet<String> = (0..2000)
        .map(|_| {
            codec
                .encode(&r, now)
                .unwrap()
                .split('.')
                .nth(2)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ivs.len(), 2000);
    assert!(ivs.iter().all(|iv| unb64(iv).len() == 12));
}

#[test]
fn an_older_key_decrypts_and_asks_for_reissue_and_an_unknown_key_does_not() {
    let now = UnixTime::now();
    for enc in ENCRYPTIONS {
        let old = JweCodec::builder(JweAlgorithm::Dir, enc)
            .key(key(enc, 1).with_kid("2025").unwrap())
            .build()
            .unwrap();
        let rotated = JweCodec::builder(JweAlgorithm::Dir, enc)
            .key(key(enc, 2).with_kid("2026").unwrap())
            .key(key(enc, 1).with_kid("2025").unwrap())
            .build()
            .unwrap();
        let token = old.encode(&record(now), now).unwrap();
        assert!(rotated.decode(&token, now).unwrap().stale_key, "{enc:?}");
        let fresh = rotated.encode(&record(now), now).unwrap();
        assert!(!rotated.decode(&fresh, now).unwrap().stale_key);
        assert_eq!(
            old.decode(&fresh, now).unwrap_err(),
            RejectReason::UnknownKid
        );
        // Without a `kid`, every key of the ring is tried.
        let no_kid = JweCodec::builder(JweAlgorithm::Dir, enc)
            .key(key(enc, 1))
            .write_kid(false)
            .build()
            .unwrap();
        let token = no_kid.encode(&record(now), now).unwrap();
        assert!(rotated.decode(&token, now).unwrap().stale_key, "{enc:?}");
    }
}

#[test]
fn another_key_of_the_right_shape_is_one_reason() {
    let now = UnixTime::now();
    for enc in ENCRYPTIONS {
        let ours = JweCodec::builder(JweAlgorithm::Dir, enc)
            .key(key(enc, 3))
            .write_kid(false)
            .build()
            .unwrap();
        let theirs = JweCodec::builder(JweAlgorithm::Dir, enc)
            .key(key(enc, 4))
            .write_kid(false)
            .build()
            .unwrap();
        let token = theirs.encode(&record(now), now).unwrap();
        assert_eq!(
            ours.decode(&token, now).unwrap_err(),
            RejectReason::BadSignature
        );
    }
}

#[test]
fn every_single_character_change_and_truncation_is_rejected() {
    let now = UnixTime::now();
    for (enc, codec) in every_codec() {
        let token = codec.encode(&record(now), now).unwrap();
        let bytes = token.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'A', b'B', b'_', b'-', b'.', b'0'] {
                if bytes[i] == replacement {
                    continue;
                }
                let mut tampered = bytes.to_vec();
                tampered[i] = replacement;
                let tampered = String::from_utf8(tampered).unwrap();
                assert!(
                    codec.decode(&tampered, now).is_err(),
                    "{enc:?}: changing byte {i} to {} was accepted",
                    replacement as char
                );
            }
        }
        for len in 0..token.len() {
            assert!(
                codec.decode(&token[..len], now).is_err(),
                "{enc:?}: truncated to {len}"
            );
        }
    }
}

#[test]
fn every_bit_flip_of_every_decoded_part_is_rejected() {
    let now = UnixTime::now();
    for (enc, codec) in every_codec() {
        let token = codec.encode(&record(now), now).unwrap();
        let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        for part in 0..5 {
            let raw = unb64(&parts[part]);
            for bit in 0..raw.len() * 8 {
                let mut flipped = raw.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let mut tampered = parts.clone();
                tampered[part] = b64(&flipped);
                assert!(
                    codec.decode(&tampered.join("."), now).is_err(),
                    "{enc:?}: bit {bit} of part {part}"
                );
            }
        }
    }
}

#[test]
fn the_header_is_pinned_by_configuration() {
    let now = UnixTime::now();
    let gcm = codec(JweEncryption::A256Gcm);
    let token = gcm.encode(&record(now), now).unwrap();
    let base = json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt"});
    let cases = [
        (
            json!({"alg": "dir", "enc": "A128GCM", "typ": "session+jwt"}),
            RejectReason::WrongAlg,
        ),
        (
            json!({"alg": "dir", "enc": "A256CBC-HS512", "typ": "session+jwt"}),
            RejectReason::WrongAlg,
        ),
        (
            json!({"alg": "A256GCMKW", "enc": "A256GCM", "typ": "session+jwt"}),
            RejectReason::WrongAlg,
        ),
        (
            json!({"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "p2s": "AAAA", "p2c": 1}),
            RejectReason::WrongAlg,
        ),
        (
            json!({"alg": "none", "enc": "A256GCM"}),
            RejectReason::WrongAlg,
        ),
        (
            json!({"enc": "A256GCM", "typ": "session+jwt"}),
            RejectReason::Malformed,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "zip": "DEF"}),
            RejectReason::Malformed,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "crit": ["exp"]}),
            RejectReason::Malformed,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "jku": "https://evil.example/k"}),
            RejectReason::Malformed,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "jwk": {"kty": "oct", "k": "AAAA"}}),
            RejectReason::Malformed,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "x5u": "https://evil.example"}),
            RejectReason::Malformed,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "JWT"}),
            RejectReason::WrongType,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM"}),
            RejectReason::WrongType,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "kid": "unknown"}),
            RejectReason::UnknownKid,
        ),
        (
            json!({"alg": "dir", "enc": "A256GCM", "typ": "session+jwt", "kid": "k".repeat(129)}),
            RejectReason::UnknownKid,
        ),
        // An acceptable header that is not the one encrypted under: the tag fails.
        (base, RejectReason::BadSignature),
    ];
    for (header, reason) in cases {
        let tampered = with_header(&token, header.clone());
        assert_eq!(gcm.decode(&tampered, now).unwrap_err(), reason, "{header}");
    }
}

#[test]
fn a_key_wrapping_token_is_not_taken_for_dir() {
    let now = UnixTime::now();
    let gcm = codec(JweEncryption::A256Gcm);
    let token = gcm.encode(&record(now), now).unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64(&[7u8; 40]);
    assert_eq!(
        gcm.decode(&parts.join("."), now).unwrap_err(),
        RejectReason::WrongAlg
    );
}

#[test]
fn short_or_long_ivs_and_tags_are_rejected() {
    let now = UnixTime::now();
    for enc in ENCRYPTIONS {
        let codec = codec(enc);
        let token = codec.encode(&record(now), now).unwrap();
        let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        for (part, len) in [(2, 8), (2, 11), (2, 13), (2, 0), (4, 15), (4, 12), (4, 0)] {
            let mut tampered = parts.clone();
            let mut raw = unb64(&parts[part]);
            raw.resize(len, 0);
            tampered[part] = b64(&raw);
            assert!(
                codec.decode(&tampered.join("."), now).is_err(),
                "{enc:?}: part {part} of {len} bytes"
            );
        }
    }
}

#[test]
fn oversized_tokens_are_refused_before_decryption() {
    let now = UnixTime::now();
    let codec = codec(JweEncryption::A256Gcm);
    let mut r = record(now);
    r.data.insert("blob".into(), json!("x".repeat(4000)));
    let token = codec.encode(&r, now).unwrap();
    assert!(token.len() > 4096);
    assert_eq!(
        codec.decode(&token, now).unwrap_err(),
        RejectReason::TooLarge
    );
}

#[test]
fn the_claims_are_checked_like_a_jwt() {
    let now = UnixTime::now();
    let codec = JweCodec::builder(JweAlgorithm::Dir, JweEncryption::A256Gcm)
        .key(key(JweEncryption::A256Gcm, 0))
        .issuer("https://app.example")
        .audience("web")
        .build()
        .unwrap();
    let mut r = record(now);
    r.expires_at = now + Duration::from_secs(60);
    let token = codec.encode(&r, now).unwrap();
    assert!(codec.decode(&token, now).is_ok());
    assert_eq!(
        codec
            .decode(&token, now + Duration::from_secs(60 + 16))
            .unwrap_err(),
        RejectReason::Expired
    );
    assert_eq!(
        codec
            .decode(&token, now.saturating_sub(Duration::from_secs(16)))
            .unwrap_err(),
        RejectReason::NotYetValid
    );
    let other_audience = JweCodec::builder(JweAlgorithm::Dir, JweEncryption::A256Gcm)
        .key(key(JweEncryption::A256Gcm, 0))
        .issuer("https://app.example")
        .audience("api")
        .build()
        .unwrap();
    assert_eq!(
        other_audience.decode(&token, now).unwrap_err(),
        RejectReason::Schema
    );
}

#[test]
fn a_ring_of_another_encryption_is_refused_at_build() {
    let result = JweCodec::builder(JweAlgorithm::Dir, JweEncryption::A256Gcm)
        .key(key(JweEncryption::A256CbcHs512, 0))
        .build();
    assert!(matches!(result, Err(KeyError::InvalidKey { .. })));
    assert!(matches!(
        JweCodec::builder(JweAlgorithm::Dir, JweEncryption::A256Gcm).build(),
        Err(KeyError::EmptyRing)
    ));
}

#[tokio::test]
async fn the_manager_takes_a_jwe_codec_and_logs_rejections_without_the_token() {
    let secret = Secret::from_bytes(key_bytes(JweEncryption::A256Gcm, 9)).unwrap();
    let manager = SessionManager::stateless(JweCodec::a256gcm(&secret).unwrap()).build();
    let session = manager
        .load_from_header(None, RequestContext::default())
        .await
        .unwrap();
    session.insert("n", 1u32).unwrap();
    let update = manager.commit(&session).await.unwrap();
    let set_cookie = update.header_value().expect("a cookie").to_owned();
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    let session = manager
        .load_from_header(Some(&pair), RequestContext::default())
        .await
        .unwrap();
    assert_eq!(session.get::<u32>("n").unwrap(), Some(1));

    let (name, value) = pair.split_once('=').unwrap();
    // The first character of the ciphertext: all six of its bits count.
    let mut parts: Vec<String> = value.split('.').map(str::to_owned).collect();
    let first = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(..1, first);
    let tampered = format!("{name}={}", parts.join("."));
    let capture = LogCapture::new();
    let session = {
        let _guard = capture.install();
        manager
            .load_from_header(Some(&tampered), RequestContext::default())
            .await
            .unwrap()
    };
    assert!(!session.exists(), "a tampered cookie is no session");
    assert_eq!(
        capture.with_reason("bad_signature").len(),
        1,
        "{:?}",
        capture.events()
    );
    capture.assert_never_contains(value);
}

proptest! {
    #[test]
    fn arbitrary_input_is_rejected_without_panicking(input in ".{0,600}") {
        let now = UnixTime::now();
        for enc in ENCRYPTIONS {
            prop_assert!(codec(enc).decode(&input, now).is_err());
        }
    }

    #[test]
    fn arbitrary_five_part_tokens_are_rejected_without_panicking(
        parts in proptest::collection::vec("[A-Za-z0-9_-]{0,80}", 5),
    ) {
        let now = UnixTime::now();
        prop_assert!(codec(JweEncryption::A256CbcHs512).decode(&parts.join("."), now).is_err());
    }

    #[test]
    fn any_data_round_trips(
        data in proptest::collection::btree_map("[a-z]{1,8}", any::<i64>(), 0..8),
    ) {
        let now = UnixTime::now();
        for enc in ENCRYPTIONS {
            let codec = codec(enc);
            let mut r = SessionRecord::new(SessionId::generate().key(), now, now + Duration::from_secs(60));
            for (k, v) in &data {
                if !session_core::codec::RESERVED_CLAIMS.contains(&k.as_str()) {
                    r.data.insert(k.clone(), json!(v));
                }
            }
            let back = codec.decode(&codec.encode(&r, now).unwrap(), now).unwrap().payload;
            prop_assert_eq!(back.data, r.data);
        }
    }
}

// ---- Interop with `jose` -------------------------------------------------------------------

/// Runs an ES module with `jose`, the key (base64url) in `JWE_SECRET` and the P-256 pair in
/// `EC_PRIVATE` / `EC_PUBLIC`.
fn node(script_name: &str, source: &str, key: &[u8], args: &[&str]) -> String {
    let key = b64(key);
    let env = [
        ("JWE_SECRET", key.as_str()),
        ("EC_PRIVATE", EC_PRIVATE),
        ("EC_PUBLIC", EC_PUBLIC),
    ];
    common::run_node("jose", script_name, source, &env, args)
}

/// What the Next.js app does: `EncryptJWT` with `dir`, no `iat`, no `kid`, a one-year expiry.
const ENCRYPT_LIKE_NEXTJS: &str = r#"
import { EncryptJWT, base64url } from 'jose';
const key = base64url.decode(process.env.JWE_SECRET);
const session = {
  created: Date.now(),
  authProvider: 'github',
  user: { id: 'u_1', username: 'ada', email: 'ada@example.com', avatar: 'https://x/a.png', name: 'Ada' },
};
const token = await new EncryptJWT(session)
  .setProtectedHeader({ alg: 'dir', enc: process.argv[2] })
  .setExpirationTime('1y')
  .encrypt(key);
console.log(token);
"#;

const DECRYPT: &str = r#"
import { jwtDecrypt, base64url } from 'jose';
const key = base64url.decode(process.env.JWE_SECRET);
const { payload, protectedHeader } = await jwtDecrypt(process.argv[2], key, {
  keyManagementAlgorithms: ['dir'],
  contentEncryptionAlgorithms: [process.argv[3]],
  typ: 'session+jwt',
});
console.log(JSON.stringify({ payload, protectedHeader }));
"#;

#[test]
fn jose_encrypted_cookies_decode_for_every_encryption() {
    for enc in ENCRYPTIONS {
        let bytes = key_bytes(enc, 0x5a);
        let token = node(
            "jwe-encrypt-like-nextjs.mjs",
            ENCRYPT_LIKE_NEXTJS,
            &bytes,
            &[enc.name()],
        );
        let codec = JweCodec::builder(JweAlgorithm::Dir, enc)
            .key(JweKey::dir(enc, &Secret::from_bytes(bytes).unwrap()).unwrap())
            .typ(None)
            .require_nbf(false)
            .require_iat(false)
            .build()
            .unwrap();
        let now = UnixTime::now();
        let record = codec
            .decode(&token, now)
            .expect("jose's token decrypts")
            .payload;
        assert_eq!(record.data["user"]["username"], "ada", "{enc:?}");
        assert_eq!(record.data["authProvider"], "github");
        let year = record.expires_at.saturating_duration_since(now).as_secs();
        assert!((31_557_590..=31_557_600).contains(&year), "{enc:?}: {year}");
        // The default codec is stricter: it wants its own `typ`.
        assert_eq!(
            self::codec_with(enc, &key_bytes(enc, 0x5a))
                .decode(&token, now)
                .unwrap_err(),
            RejectReason::WrongType
        );
    }
}

/// Any pair, the way our default codec wants it (`typ`, `iat`, `nbf`).
const ENCRYPT_ANY: &str = r#"
import { EncryptJWT, base64url, importSPKI } from 'jose';
const [alg, enc] = process.argv.slice(2);
const key = alg.startsWith('ECDH')
  ? await importSPKI(process.env.EC_PUBLIC, alg)
  : base64url.decode(process.env.JWE_SECRET);
const now = Math.floor(Date.now() / 1000);
const token = await new EncryptJWT({ user: { id: 'u_1', name: 'Ada' }, theme: 'dark' })
  .setProtectedHeader({ alg, enc, typ: 'session+jwt' })
  .setIssuedAt(now)
  .setNotBefore(now)
  .setExpirationTime(now + 3600)
  .encrypt(key);
console.log(token);
"#;

const DECRYPT_ANY: &str = r#"
import { jwtDecrypt, base64url, importPKCS8 } from 'jose';
const [token, alg, enc] = process.argv.slice(2);
const key = alg.startsWith('ECDH')
  ? await importPKCS8(process.env.EC_PRIVATE, alg)
  : base64url.decode(process.env.JWE_SECRET);
const { payload, protectedHeader } = await jwtDecrypt(token, key, {
  keyManagementAlgorithms: [alg],
  contentEncryptionAlgorithms: [enc],
  typ: 'session+jwt',
});
console.log(JSON.stringify({ payload, protectedHeader }));
"#;

/// The interop matrix: every pair, both directions.
#[test]
fn every_pair_interoperates_with_jose_both_ways() {
    let now = UnixTime::now();
    for (name, codec) in every_codec() {
        let (alg, enc) = (codec.algorithm().name(), codec.encryption().name());
        // dir keys are `key_bytes(enc, 0)`; A256GCMKW's is KEK.
        let key = match codec.algorithm() {
            JweAlgorithm::Dir => key_bytes(codec.encryption(), 0),
            _ => KEK.to_vec(),
        };
        let theirs = node("jwe-encrypt-any.mjs", ENCRYPT_ANY, &key, &[alg, enc]);
        let record = codec
            .decode(&theirs, now)
            .unwrap_or_else(|e| panic!("{name}: jose's token: {e}"))
            .payload;
        assert_eq!(record.data["user"]["name"], "Ada", "{name}");

        let ours = codec.encode(&record_of("ada", now), now).unwrap();
        let out: Value = serde_json::from_str(&node(
            "jwe-decrypt-any.mjs",
            DECRYPT_ANY,
            &key,
            &[&ours, alg, enc],
        ))
        .unwrap();
        assert_eq!(out["protectedHeader"]["alg"], alg, "{name}");
        assert_eq!(out["payload"]["sub"], "ada", "{name}");
        assert_eq!(out["payload"]["theme"], "dark", "{name}");
    }
}

fn record_of(user: &str, now: UnixTime) -> SessionRecord {
    let mut r = record(now);
    r.user_id = Some(UserId::new(user));
    r
}

fn codec_with(enc: JweEncryption, bytes: &[u8]) -> JweCodec {
    JweCodec::builder(JweAlgorithm::Dir, enc)
        .key(JweKey::dir(enc, &Secret::from_bytes(bytes.to_vec()).unwrap()).unwrap())
        .build()
        .unwrap()
}

#[test]
fn our_tokens_decrypt_in_jose_for_every_encryption() {
    for enc in ENCRYPTIONS {
        let bytes = key_bytes(enc, 0x33);
        let now = UnixTime::now();
        let token = codec_with(enc, &bytes).encode(&record(now), now).unwrap();
        let out: Value = serde_json::from_str(&node(
            "jwe-decrypt.mjs",
            DECRYPT,
            &bytes,
            &[&token, enc.name()],
        ))
        .unwrap();
        assert_eq!(out["protectedHeader"]["alg"], "dir", "{enc:?}");
        assert_eq!(out["protectedHeader"]["enc"], enc.name());
        assert_eq!(out["payload"]["sub"], "ada");
        assert_eq!(out["payload"]["theme"], "dark");
        assert_eq!(out["payload"]["exp"], now.as_secs() + 3600);
    }
}

// ---- Auth.js v5 ------------------------------------------------------------------------------

const AUTHJS_SECRET: &str = "an AUTH_SECRET shared with the Next.js app, 32+ bytes";
const AUTHJS_COOKIE: &str = "authjs.session-token";

/// Runs a script with `@auth/core` (installed next to `jose` by `cargo xtask test`).
fn node_authjs(script_name: &str, source: &str, args: &[&str]) -> String {
    let env = [
        ("AUTH_SECRET", AUTHJS_SECRET),
        ("AUTH_COOKIE", AUTHJS_COOKIE),
    ];
    common::run_node("@auth/core", script_name, source, &env, args)
}

const AUTHJS_ENCODE: &str = r#"
import { encode } from '@auth/core/jwt';
const token = await encode({
  token: { name: 'Ada', email: 'ada@example.com', picture: null, sub: 'user-42' },
  secret: process.env.AUTH_SECRET,
  salt: process.env.AUTH_COOKIE,
});
console.log(token);
"#;

const AUTHJS_DECODE: &str = r#"
import { decode } from '@auth/core/jwt';
const payload = await decode({
  token: process.argv[2],
  secret: process.env.AUTH_SECRET,
  salt: process.env.AUTH_COOKIE,
});
console.log(JSON.stringify(payload));
"#;

fn authjs_codec() -> JweCodec {
    let secret = Secret::from_bytes(AUTHJS_SECRET.as_bytes().to_vec()).unwrap();
    JweCodec::authjs(&secret, AUTHJS_COOKIE).unwrap()
}

#[test]
fn an_authjs_session_cookie_decodes() {
    let token = node_authjs("authjs-encode.mjs", AUTHJS_ENCODE, &[]);
    let header: Value = serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
    assert_eq!(header["enc"], "A256CBC-HS512");
    let codec = authjs_codec();
    let now = UnixTime::now();
    let decoded = codec
        .decode(&token, now)
        .expect("the Auth.js cookie decrypts");
    assert!(!decoded.stale_key);
    let record = decoded.payload;
    assert_eq!(record.user_id, Some(UserId::new("user-42")));
    assert_eq!(record.data["email"], "ada@example.com");
    let left = record.expires_at.saturating_duration_since(now).as_secs();
    assert!(
        (30 * 86_400 - 5..=30 * 86_400).contains(&left),
        "Auth.js's 30 days: {left}"
    );
    // Its UUID `jti` always gives the same session key.
    assert_eq!(codec.decode(&token, now).unwrap().payload.key, record.key);
    // Under another cookie name the key differs: no session.
    let other = JweCodec::authjs(
        &Secret::from_bytes(AUTHJS_SECRET.as_bytes().to_vec()).unwrap(),
        "__Secure-authjs.session-token",
    )
    .unwrap();
    assert_eq!(
        other.decode(&token, now).unwrap_err(),
        RejectReason::UnknownKid
    );
}

#[test]
fn our_cookie_decodes_in_authjs() {
    let now = UnixTime::now();
    let token = authjs_codec().encode(&record(now), now).unwrap();
    let payload: Value =
        serde_json::from_str(&node_authjs("authjs-decode.mjs", AUTHJS_DECODE, &[&token])).unwrap();
    assert_eq!(payload["sub"], "ada");
    assert_eq!(payload["theme"], "dark");
    assert_eq!(payload["exp"], now.as_secs() + 3600);
}

// ---- The Next.js app's `_user_session_` cookie ---------------------------------------------

#[derive(Debug, PartialEq, serde::Deserialize)]
struct SeedUser {
    id: String,
    username: String,
    email: Option<String>,
    avatar: String,
    name: Option<String>,
}

/// What a Rust service sharing the Next.js app's cookie configures.
fn seed_app_codec(key: &[u8]) -> JweCodec {
    JweCodec::builder(JweAlgorithm::Dir, JweEncryption::A256Gcm)
        .key(
            JweKey::dir(
                JweEncryption::A256Gcm,
                &Secret::from_bytes(key.to_vec()).unwrap(),
            )
            .unwrap(),
        )
        .typ(None)
        .write_kid(false)
        .require_nbf(false)
        .require_iat(false)
        .foreign_claims(
            session_core::codec::ForeignClaims::new()
                .created_ms("created")
                .auth_provider("authProvider")
                .user_id_at("/user/id"),
        )
        .build()
        .unwrap()
}

const DECRYPT_LIKE_NEXTJS: &str = r#"
import { jwtDecrypt, base64url } from 'jose';
const { payload, protectedHeader } = await jwtDecrypt(process.argv[2], base64url.decode(process.env.JWE_SECRET));
console.log(JSON.stringify({ payload, protectedHeader }));
"#;

#[tokio::test]
async fn the_seed_apps_cookie_is_a_signed_in_session_with_typed_data_and_back() {
    let key = key_bytes(JweEncryption::A256Gcm, 0x77);
    let token = node(
        "jwe-seed-encrypt.mjs",
        ENCRYPT_LIKE_NEXTJS,
        &key,
        &["A256GCM"],
    );
    let policy = session_core::Policy::builder()
        .cookie_name("_user_session_")
        .max_age(Duration::from_secs(31_557_600))
        .build()
        .unwrap();
    let manager = SessionManager::stateless(seed_app_codec(&key))
        .policy(policy)
        .build();
    let session = manager
        .load_from_header(
            Some(&format!("_user_session_={token}")),
            RequestContext::default(),
        )
        .await
        .unwrap();
    assert_eq!(session.user_id(), Some(UserId::new("u_1")));
    let user: SeedUser = session.get("user").unwrap().expect("the user object");
    assert_eq!(user.username, "ada");
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    let status = session.status().expect("a session");
    let age = UnixTime::now()
        .saturating_duration_since(status.created_at)
        .as_secs();
    assert!(
        age <= 5,
        "created from the `created` milliseconds: {age} s ago"
    );

    // Written back, the Next.js app reads the same shape.
    session.insert("theme", "dark").unwrap();
    let update = manager.commit(&session).await.unwrap();
    let cookie = update.header_value().expect("a new cookie").to_owned();
    assert!(cookie.starts_with("_user_session_="));
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("_user_session_=");
    let out: Value = serde_json::from_str(&node(
        "jwe-seed-decrypt.mjs",
        DECRYPT_LIKE_NEXTJS,
        &key,
        &[value],
    ))
    .unwrap();
    assert_eq!(
        out["protectedHeader"],
        json!({"alg": "dir", "enc": "A256GCM"})
    );
    assert_eq!(out["payload"]["user"]["id"], "u_1");
    assert_eq!(out["payload"]["authProvider"], "github");
    assert!(out["payload"]["created"]
        .as_u64()
        .is_some_and(|ms| ms > 1_700_000_000_000));
    assert_eq!(out["payload"]["theme"], "dark");
}

#[test]
fn a_session_made_here_carries_created_and_auth_provider_for_the_seed_app() {
    let now = UnixTime::now();
    let key = key_bytes(JweEncryption::A256Gcm, 0x78);
    let mut r = record(now);
    r.metadata.auth_provider = Some("vercel".into());
    let token = seed_app_codec(&key).encode(&r, now).unwrap();
    let out: Value = serde_json::from_str(&node(
        "jwe-seed-decrypt-2.mjs",
        DECRYPT_LIKE_NEXTJS,
        &key,
        &[&token],
    ))
    .unwrap();
    assert_eq!(out["payload"]["created"], now.as_secs() * 1000);
    assert_eq!(out["payload"]["authProvider"], "vercel");
}
