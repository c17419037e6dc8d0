//! The stateless JWT codec against the attacks in SECURITY-CHECKLIST.md (S-11 .. S-17) and the
//! algorithms of C12.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use serde_json::{json, Value};
use session_core::{
    JwtAlgorithm, JwtCodec, JwtKey, RejectReason, Secret, SessionCodec, SessionId, SessionRecord,
    UnixTime, UserId,
};
use sha2::Sha256;

const NOW: UnixTime = UnixTime::from_secs(1_750_000_000);
const SECRET: &[u8] = b"test secret that is at least 32 bytes long!";

fn secret() -> Secret {
    Secret::from_bytes(SECRET.to_vec()).unwrap()
}

fn codec() -> JwtCodec {
    JwtCodec::hs256(&secret()).unwrap()
}

fn record() -> SessionRecord {
    let mut r = SessionRecord::new(
        SessionId::generate().key(),
        NOW,
        NOW + Duration::from_secs(3600),
    );
    r.user_id = Some(UserId::new("user-1"));
    r.data.insert(
        "user".into(),
        json!({"id": 1, "name": "Ada", "roles": ["admin"]}),
    );
    r.data.insert("theme".into(), json!("dark"));
    r
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header.claims` with HS256 under `key`, whatever the header says.
fn forge(header: &Value, claims: &Value, key: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

fn valid_claims() -> Value {
    let t = NOW.as_secs();
    json!({"iat": t, "nbf": t, "exp": t + 3600, "user": {"id": 1}})
}

fn session_header() -> Value {
    json!({"alg": "HS256", "typ": "session+jwt"})
}

fn reject(token: &str) -> RejectReason {
    codec()
        .decode(token, NOW)
        .expect_err("token must be rejected")
}

#[test]
fn c12_every_algorithm_round_trips() {
    // Also guards the crypto backend: without one, jsonwebtoken panics at first use.
    let fixture = |name: &str| {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let codecs = vec![
        JwtCodec::hs256(&secret()).unwrap(),
        JwtCodec::builder(JwtAlgorithm::HS384)
            .key(
                JwtKey::hmac(
                    JwtAlgorithm::HS384,
                    &Secret::from_bytes(vec![1u8; 48]).unwrap(),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
        JwtCodec::builder(JwtAlgorithm::HS512)
            .key(
                JwtKey::hmac(
                    JwtAlgorithm::HS512,
                    &Secret::from_bytes(vec![2u8; 64]).unwrap(),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
        JwtCodec::builder(JwtAlgorithm::RS256)
            .key(
                JwtKey::from_pem(
                    JwtAlgorithm::RS256,
                    &fixture("rs256-private.pem"),
                    &fixture("rs256-public.pem"),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
        JwtCodec::builder(JwtAlgorithm::ES256)
            .key(
                JwtKey::from_pem(
                    JwtAlgorithm::ES256,
                    &fixture("es256-private.pem"),
                    &fixture("es256-public.pem"),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
        JwtCodec::builder(JwtAlgorithm::EdDSA)
            .key(
                JwtKey::from_pem(
                    JwtAlgorithm::EdDSA,
                    &fixture("eddsa-private.pem"),
                    &fixture("eddsa-public.pem"),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
    ];
    let r = record();
    for codec in &codecs {
        let token = codec.encode(&r, NOW).unwrap();
        let back = codec.decode(&token, NOW).unwrap();
        assert_eq!(back.payload, r, "{:?}", codec.algorithm());
        assert!(!back.stale_key);
    }
    // A token of one algorithm never verifies under another.
    for (i, a) in codecs.iter().enumerate() {
        let token = a.encode(&r, NOW).unwrap();
        for (j, b) in codecs.iter().enumerate() {
            if i != j {
                assert!(b.decode(&token, NOW).is_err());
            }
        }
    }
}

#[test]
fn s09_hmac_keys_shorter_than_the_hash_are_refused() {
    for (alg, min) in [
        (JwtAlgorithm::HS256, 32),
        (JwtAlgorithm::HS384, 48),
        (JwtAlgorithm::HS512, 64),
    ] {
        let short = Secret::from_bytes(vec![0u8; 32.max(min - 1)]).unwrap();
        if short.len() < min {
            assert!(JwtKey::hmac(alg, &short).is_err(), "{alg:?}");
        }
        assert!(JwtKey::hmac(alg, &Secret::from_bytes(vec![0u8; min]).unwrap()).is_ok());
    }
}

#[test]
fn s13_the_algorithm_comes_from_configuration_only() {
    for alg in [
        "none", "None", "NONE", "", "HS384", "HS512", "RS256", "ES256",
    ] {
        let header = json!({"alg": alg, "typ": "session+jwt"});
        let token = forge(&header, &valid_claims(), SECRET);
        assert_eq!(reject(&token), RejectReason::WrongAlg, "alg {alg:?}");
        let unsigned = format!(
            "{}.{}.",
            b64(&serde_json::to_vec(&header).unwrap()),
            b64(&serde_json::to_vec(&valid_claims()).unwrap())
        );
        assert!(codec().decode(&unsigned, NOW).is_err(), "unsigned {alg:?}");
    }
}

#[test]
fn s13_hs256_signed_with_the_public_key_is_rejected_by_an_rs256_codec() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let public = std::fs::read(format!("{dir}/tests/fixtures/rs256-public.pem")).unwrap();
    let private = std::fs::read(format!("{dir}/tests/fixtures/rs256-private.pem")).unwrap();
    let rs = JwtCodec::builder(JwtAlgorithm::RS256)
        .key(JwtKey::from_pem(JwtAlgorithm::RS256, &private, &public).unwrap())
        .build()
        .unwrap();
    let token = forge(&session_header(), &valid_claims(), &public);
    assert_eq!(rs.decode(&token, NOW).unwrap_err(), RejectReason::WrongAlg);
}

#[test]
fn s11_kid_is_only_a_key_of_the_ring() {
    let kids = [
        json!("../../../../dev/null"),
        json!("' OR '1'='1"),
        json!("k".repeat(2_000)),
        json!(42),
        json!({"a": 1}),
    ];
    // A 10 kB kid makes the whole cookie too large: refused before any parsing.
    let huge = forge(
        &json!({"alg": "HS256", "typ": "session+jwt", "kid": "k".repeat(10_000)}),
        &valid_claims(),
        SECRET,
    );
    assert_eq!(reject(&huge), RejectReason::TooLarge);
    for kid in kids {
        let header = json!({"alg": "HS256", "typ": "session+jwt", "kid": kid});
        assert_eq!(
            reject(&forge(&header, &valid_claims(), SECRET)),
            RejectReason::UnknownKid
        );
    }
    for extra in ["jwk", "jku", "x5u", "crit", "zip"] {
        let mut header = session_header();
        header[extra] = json!("https://attacker.example/key");
        assert_eq!(
            reject(&forge(&header, &valid_claims(), SECRET)),
            RejectReason::Malformed,
            "{extra}"
        );
    }
}

#[test]
fn s15_time_claims_are_required_numbers() {
    let t = NOW.as_secs();
    let header = session_header();
    let cases = [
        json!({"iat": t, "nbf": t}),
        json!({"iat": t, "nbf": t, "exp": "never"}),
        json!({"iat": t, "nbf": t, "exp": 1e30}),
        json!({"iat": t, "nbf": t, "exp": -1}),
        json!({"iat": t, "nbf": "99999999999", "exp": t + 60}),
        json!({"iat": t, "exp": t + 60}),
        json!({"nbf": t, "exp": t + 60}),
    ];
    for claims in cases {
        assert_eq!(
            reject(&forge(&header, &claims, SECRET)),
            RejectReason::Schema,
            "{claims}"
        );
    }
}

#[test]
fn s15_leeway_is_small_and_exact() {
    let leeway = 15;
    let t = NOW.as_secs();
    let token = |exp: u64, nbf: u64, iat: u64| {
        forge(
            &session_header(),
            &json!({"iat": iat, "nbf": nbf, "exp": exp}),
            SECRET,
        )
    };
    assert_eq!(
        reject(&token(t - leeway - 1, t - 100, t - 100)),
        RejectReason::Expired
    );
    assert!(codec()
        .decode(&token(t - leeway + 1, t - 100, t - 100), NOW)
        .is_ok());
    assert_eq!(
        reject(&token(t + 60, t + leeway + 1, t)),
        RejectReason::NotYetValid
    );
    assert_eq!(
        reject(&token(t + 60, t, t + leeway + 1)),
        RejectReason::NotYetValid
    );
    assert!(codec()
        .decode(&token(t + 60, t + leeway, t + leeway), NOW)
        .is_ok());
}

#[test]
fn s16_type_audience_and_issuer_are_checked() {
    let jwt_typed = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &valid_claims(),
        SECRET,
    );
    assert_eq!(reject(&jwt_typed), RejectReason::WrongType);
    let untyped = forge(&json!({"alg": "HS256"}), &valid_claims(), SECRET);
    assert_eq!(reject(&untyped), RejectReason::WrongType);

    let strict = JwtCodec::builder(JwtAlgorithm::HS256)
        .key(JwtKey::hmac(JwtAlgorithm::HS256, &secret()).unwrap())
        .issuer("https://app.example")
        .audience("app")
        .build()
        .unwrap();
    let mut claims = valid_claims();
    claims["iss"] = json!("https://app.example");
    claims["aud"] = json!("other");
    assert_eq!(
        strict
            .decode(&forge(&session_header(), &claims, SECRET), NOW)
            .unwrap_err(),
        RejectReason::Schema
    );
    claims["aud"] = json!(["x", "app"]);
    assert!(strict
        .decode(&forge(&session_header(), &claims, SECRET), NOW)
        .is_ok());
    claims["iss"] = json!("https://evil.example");
    assert_eq!(
        strict
            .decode(&forge(&session_header(), &claims, SECRET), NOW)
            .unwrap_err(),
        RejectReason::Schema
    );
    // Our own tokens carry both and pass.
    let token = strict.encode(&record(), NOW).unwrap();
    assert!(strict.decode(&token, NOW).is_ok());
}

#[test]
fn s10_rotation_verifies_old_keys_and_flags_them_stale() {
    let old = JwtKey::hmac(
        JwtAlgorithm::HS256,
        &Secret::from_bytes(vec![1u8; 32]).unwrap(),
    )
    .unwrap();
    let new = JwtKey::hmac(
        JwtAlgorithm::HS256,
        &Secret::from_bytes(vec![2u8; 32]).unwrap(),
    )
    .unwrap();
    let before = JwtCodec::builder(JwtAlgorithm::HS256)
        .key(old.clone())
        .build()
        .unwrap();
    let token = before.encode(&record(), NOW).unwrap();
    let rotated = JwtCodec::builder(JwtAlgorithm::HS256)
        .key(new.clone())
        .key(old)
        .build()
        .unwrap();
    let decoded = rotated.decode(&token, NOW).unwrap();
    assert!(
        decoded.stale_key,
        "signed by the old key: re-issue under the new one"
    );
    let reissued = rotated.encode(&decoded.payload, NOW).unwrap();
    assert!(!rotated.decode(&reissued, NOW).unwrap().stale_key);
    let only_new = JwtCodec::builder(JwtAlgorithm::HS256)
        .key(new)
        .build()
        .unwrap();
    assert_eq!(
        only_new.decode(&token, NOW).unwrap_err(),
        RejectReason::UnknownKid
    );
}

#[test]
fn s14_every_bit_flip_and_truncation_is_rejected() {
    let codec = codec();
    let token = codec.encode(&record(), NOW).unwrap();
    assert!(token.len() > 300, "a realistic token");
    let bytes = token.as_bytes();
    let mut cases = 0;
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.to_vec();
            flipped[i] ^= 1 << bit;
            if let Ok(text) = std::str::from_utf8(&flipped) {
                assert!(
                    codec.decode(text, NOW).is_err(),
                    "flip of bit {bit} in byte {i} accepted"
                );
                cases += 1;
            }
        }
    }
    assert!(
        cases >= bytes.len() * 8 - bytes.len(),
        "nearly every flip stays ASCII"
    );
    for len in 0..token.len() {
        assert!(
            codec.decode(&token[..len], NOW).is_err(),
            "truncation to {len} accepted"
        );
    }
}

#[test]
fn s17_signed_payloads_of_the_wrong_shape_are_schema_errors() {
    let t = NOW.as_secs();
    let base = json!({"iat": t, "nbf": t, "exp": t + 60});
    for (name, value) in [
        ("jti", json!(5)),
        ("jti", json!("not-hex")),
        ("sub", json!({"id": 1})),
        ("ses", json!("x")),
        ("ses", json!({"c": "yesterday", "l": 1})),
    ] {
        let mut claims = base.clone();
        claims[name] = value;
        assert_eq!(
            reject(&forge(&session_header(), &claims, SECRET)),
            RejectReason::Schema,
            "{name}"
        );
    }
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let mut claims = base.clone();
    claims["deep"] = deep;
    // Nesting beyond serde_json's recursion limit is refused, not a stack overflow.
    assert!(codec()
        .decode(&forge(&session_header(), &claims, SECRET), NOW)
        .is_err());
}

#[test]
fn s31_oversized_tokens_are_rejected_before_decoding() {
    let huge = "a".repeat(1 << 20);
    assert_eq!(reject(&huge), RejectReason::TooLarge);
}

#[test]
fn reserved_claim_names_cannot_be_session_data() {
    let mut r = record();
    r.data.insert("exp".into(), json!(1));
    assert!(codec().encode(&r, NOW).is_err());
}

#[test]
fn typed_claims_decode_into_application_structs() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct AppClaims {
        user: String,
        iat: u64,
        nbf: u64,
        exp: u64,
    }
    let t = NOW.as_secs();
    let claims = AppClaims {
        user: "ada".into(),
        iat: t,
        nbf: t,
        exp: t + 60,
    };
    let codec = codec();
    let token = codec.encode_claims(&claims).unwrap();
    assert_eq!(
        codec
            .decode_claims::<AppClaims>(&token, NOW)
            .unwrap()
            .payload,
        claims
    );
    #[derive(serde::Deserialize, Debug)]
    struct Other {
        #[allow(dead_code)]
        admin: bool,
    }
    assert_eq!(
        codec.decode_claims::<Other>(&token, NOW).unwrap_err(),
        RejectReason::Schema
    );
}

fn data_strategy() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-z_]{1,10}", value, 0..8).prop_map(|m| {
        m.into_iter()
            .filter(|(k, _)| !session_core::RESERVED_CLAIMS.contains(&k.as_str()))
            .collect()
    })
}

proptest! {
    #[test]
    fn records_round_trip(data in data_strategy(), user in proptest::option::of("[a-zA-Z0-9@.]{1,20}")) {
        let mut r = record();
        r.data = data;
        r.user_id = user.map(UserId::new);
        let codec = codec();
        let token = codec.encode(&r, NOW).unwrap();
        prop_assert_eq!(codec.decode(&token, NOW).unwrap().payload, r);
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,400}") {
        let _ = codec().decode(&s, NOW);
    }

    #[test]
    fn structured_garbage_never_panics(header in "[A-Za-z0-9_-]{0,40}", payload in "[A-Za-z0-9_-]{0,200}", sig in "[A-Za-z0-9_-]{0,50}") {
        let _ = codec().decode(&format!("{header}.{payload}.{sig}"), NOW);
    }

    #[test]
    fn suffixes_and_prefixes_are_rejected(prefix in "[A-Za-z0-9_.=-]{0,4}", suffix in "[A-Za-z0-9_.=-]{0,4}") {
        prop_assume!(!prefix.is_empty() || !suffix.is_empty());
        let c = codec();
        let token = c.encode(&record(), NOW).unwrap();
        let tampered = format!("{prefix}{token}{suffix}");
        prop_assert!(c.decode(&tampered, NOW).is_err());
    }
}
