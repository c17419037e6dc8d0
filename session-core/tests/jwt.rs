//! The stateless JWT codec against the attacks in SECURITY-CHECKLIST.md (S-11 .. S-17) and the
//! algorithms of C12.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use serde_json::{json, Value};
use session_core::{
    codec::{
        EncodeError, JwtAlgorithm, JwtKey, RejectReason, SessionCodec, SignedIdCodec, TokenCodec,
    },
    config::{KeyError, KeyPurpose},
    store::{SessionId, SessionRecord},
    JwtCodec, Secret, UnixTime, UserId,
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

/// A payload that names a registered claim twice (`{"exp": <past>, "exp": <future>}`) is
/// refused: parsers disagree on which one counts, so no value of it is trusted.
#[test]
fn a_repeated_registered_claim_is_malformed() {
    let t = NOW.as_secs();
    let payload = format!(
        r#"{{"iat":{t},"nbf":{t},"exp":{},"exp":{}}}"#,
        t - 10,
        t + 3600
    );
    let signing_input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&session_header()).unwrap()),
        b64(payload.as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    let token = format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()));
    assert_eq!(reject(&token), RejectReason::Malformed);
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
fn app_tokens_decode_into_application_structs() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Reset {
        sub: String,
    }
    #[derive(serde::Deserialize, PartialEq, Debug)]
    struct WithTimes {
        sub: String,
        iat: u64,
        nbf: u64,
        exp: u64,
    }
    let resets = TokenCodec::new(&secret(), "password-reset").unwrap();
    let claims = Reset { sub: "ada".into() };
    let token = resets
        .encode(&claims, NOW, Duration::from_secs(900))
        .unwrap();
    let decoded = resets.decode::<Reset>(&token, NOW).unwrap();
    assert_eq!(decoded.payload, claims);
    assert!(!decoded.stale_key);
    let t = NOW.as_secs();
    assert_eq!(
        resets.decode::<WithTimes>(&token, NOW).unwrap().payload,
        WithTimes {
            sub: "ada".into(),
            iat: t,
            nbf: t,
            exp: t + 900
        }
    );
    #[derive(serde::Deserialize, Debug)]
    struct Other {
        #[allow(dead_code)]
        admin: bool,
    }
    assert_eq!(
        resets.decode::<Other>(&token, NOW).unwrap_err(),
        RejectReason::Schema
    );
    // The codec owns the time claims, and claims must be a JSON object.
    for name in ["iat", "nbf", "exp"] {
        assert!(matches!(
            resets.encode(&json!({ name: 1 }), NOW, Duration::from_secs(60)),
            Err(EncodeError::ReservedKey(n)) if n == name
        ));
    }
    assert!(matches!(
        resets.encode(&json!("alice"), NOW, Duration::from_secs(60)),
        Err(EncodeError::Serialize(_))
    ));
}

/// Every kind of token the crate makes, each with the decoder that owns it.
#[test]
fn no_kind_of_token_is_accepted_by_another_kinds_decoder() {
    let secret = secret();
    let reset_claims = json!({"sub": "alice"});
    let ttl = Duration::from_secs(900);
    let sessions = codec();
    // A session codec reading the cookies of an existing `jose` app (`typ: JWT` or none).
    let legacy_sessions = JwtCodec::builder(JwtAlgorithm::HS256)
        .key(JwtKey::hmac(JwtAlgorithm::HS256, &secret).unwrap())
        .typ(None)
        .require_nbf(false)
        .build()
        .unwrap();
    let resets = TokenCodec::new(&secret, "password-reset").unwrap();
    let verifies = TokenCodec::new(&secret, "email-verify").unwrap();
    let signed_ids = SignedIdCodec::new(&secret);

    let mut alice = record();
    alice.user_id = Some(UserId::new("alice"));
    let session_token = sessions.encode(&alice, NOW).unwrap();
    let legacy_token = legacy_sessions.encode(&alice, NOW).unwrap();
    let reset_token = resets.encode(&reset_claims, NOW, ttl).unwrap();
    let verify_token = verifies.encode(&reset_claims, NOW, ttl).unwrap();
    let signed_id = signed_ids.encode(&SessionId::generate(), NOW).unwrap();

    // Each decoder accepts its own kind.
    assert!(sessions.decode(&session_token, NOW).is_ok());
    assert!(legacy_sessions.decode(&legacy_token, NOW).is_ok());
    assert!(resets.decode::<Value>(&reset_token, NOW).is_ok());
    assert!(verifies.decode::<Value>(&verify_token, NOW).is_ok());
    assert!(signed_ids.decode(&signed_id, NOW).is_ok());

    use RejectReason::{Malformed, WrongType};
    let session_decoders: [(&str, &JwtCodec); 2] =
        [("session", &sessions), ("legacy session", &legacy_sessions)];
    for (name, decoder) in session_decoders {
        for (kind, token, expected) in [
            ("password-reset token", &reset_token, WrongType),
            ("email-verify token", &verify_token, WrongType),
            ("signed session id", &signed_id, Malformed),
        ] {
            assert_eq!(
                decoder.decode(token, NOW).map(|d| d.payload.user_id),
                Err(expected),
                "{name} decoder given a {kind}"
            );
        }
    }
    let app_decoders = [
        ("password-reset", &resets, &verify_token),
        ("email-verify", &verifies, &reset_token),
    ];
    for (name, decoder, other_purpose) in app_decoders {
        for (kind, token, expected) in [
            ("session token", &session_token, WrongType),
            ("legacy session token", &legacy_token, WrongType),
            ("other purpose's token", other_purpose, WrongType),
            ("signed session id", &signed_id, Malformed),
        ] {
            assert_eq!(
                decoder.decode::<Value>(token, NOW).map(|d| d.payload),
                Err(expected),
                "{name} decoder given a {kind}"
            );
        }
    }
    for (kind, token) in [
        ("session token", &session_token),
        ("legacy session token", &legacy_token),
        ("password-reset token", &reset_token),
        ("email-verify token", &verify_token),
    ] {
        assert_eq!(
            signed_ids.decode(token, NOW).map(|d| d.payload),
            Err(Malformed),
            "signed-id decoder given a {kind}"
        );
    }
}

/// The separation does not rest on `typ` alone: a session decoder told to accept an app token's
/// `typ` and `kid` still fails its signature, whatever session key it holds.
#[test]
fn app_tokens_are_signed_with_their_own_derived_key() {
    let secret = secret();
    let resets = TokenCodec::new(&secret, "password-reset").unwrap();
    let token = resets
        .encode(&json!({"sub": "alice"}), NOW, Duration::from_secs(900))
        .unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "password-reset+jwt");
    let kid = header["kid"].as_str().unwrap();
    let session_keys = [
        secret.clone(),
        secret.derive(KeyPurpose::Jwt),
        secret.derive(KeyPurpose::SignedId),
        secret.derive(KeyPurpose::Custom("password-reset")),
    ];
    for key in &session_keys {
        let impostor = JwtCodec::builder(JwtAlgorithm::HS256)
            .key(
                JwtKey::hmac(JwtAlgorithm::HS256, key)
                    .unwrap()
                    .with_kid(kid)
                    .unwrap(),
            )
            .typ(Some("password-reset+jwt"))
            .build()
            .unwrap();
        assert_eq!(
            impostor.decode(&token, NOW).unwrap_err(),
            RejectReason::BadSignature
        );
    }
    // Another master secret gives another key: its kid is unknown here.
    let elsewhere = TokenCodec::new(
        &Secret::from_bytes(vec![3u8; 32]).unwrap(),
        "password-reset",
    )
    .unwrap();
    assert_eq!(
        elsewhere.decode::<Value>(&token, NOW).unwrap_err(),
        RejectReason::UnknownKid
    );
}

/// The app-token key, computed here independently: pins the derivation (a change would
/// invalidate every token already sent out) and lets the tests below forge tokens with it.
fn reset_key() -> Vec<u8> {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(b"session-core/v1"), SECRET);
    let mut key = vec![0u8; 32];
    hk.expand(b"app token\0password-reset", &mut key).unwrap();
    key
}

fn reset_header() -> Value {
    json!({"alg": "HS256", "typ": "password-reset+jwt"})
}

#[test]
fn app_tokens_get_the_same_header_and_claim_checks_as_sessions() {
    let resets = TokenCodec::new(&secret(), "password-reset").unwrap();
    let decode = |token: &str| resets.decode::<Value>(token, NOW).map(|d| d.payload);
    let key = reset_key();
    assert!(decode(&forge(&reset_header(), &valid_claims(), &key)).is_ok());
    for alg in ["none", "HS384", "RS256", ""] {
        let header = json!({"alg": alg, "typ": "password-reset+jwt"});
        assert_eq!(
            decode(&forge(&header, &valid_claims(), &key)),
            Err(RejectReason::WrongAlg),
            "{alg}"
        );
    }
    for (typ, expected) in [
        (json!("JWT"), RejectReason::WrongType),
        (json!("session+jwt"), RejectReason::WrongType),
        (json!("email-verify+jwt"), RejectReason::WrongType),
        (json!(null), RejectReason::Malformed),
    ] {
        let header = json!({"alg": "HS256", "typ": typ});
        assert_eq!(
            decode(&forge(&header, &valid_claims(), &key)),
            Err(expected),
            "{typ}"
        );
    }
    assert_eq!(
        decode(&forge(&json!({"alg": "HS256"}), &valid_claims(), &key)),
        Err(RejectReason::WrongType)
    );
    for extra in ["jwk", "jku", "crit"] {
        let mut header = reset_header();
        header[extra] = json!("https://attacker.example/key");
        assert_eq!(
            decode(&forge(&header, &valid_claims(), &key)),
            Err(RejectReason::Malformed),
            "{extra}"
        );
    }
    let t = NOW.as_secs();
    for claims in [
        json!({"iat": t, "nbf": t}),
        json!({"iat": t, "nbf": t, "exp": "never"}),
        json!({"iat": t, "exp": t + 60}),
        json!({"nbf": t, "exp": t + 60}),
    ] {
        assert_eq!(
            decode(&forge(&reset_header(), &claims, &key)),
            Err(RejectReason::Schema),
            "{claims}"
        );
    }
    assert_eq!(
        decode(&forge(
            &reset_header(),
            &json!({"iat": t - 100, "nbf": t - 100, "exp": t - 16}),
            &key
        )),
        Err(RejectReason::Expired)
    );
    assert_eq!(
        decode(&forge(
            &reset_header(),
            &json!({"iat": t, "nbf": t + 16, "exp": t + 60}),
            &key
        )),
        Err(RejectReason::NotYetValid)
    );
    // Signed with the session secret instead of the derived key.
    assert_eq!(
        decode(&forge(&reset_header(), &valid_claims(), SECRET)),
        Err(RejectReason::BadSignature)
    );
    let token = resets
        .encode(&json!({"sub": "ada"}), NOW, Duration::from_secs(60))
        .unwrap();
    for len in 0..token.len() {
        assert!(decode(&token[..len]).is_err(), "truncation to {len}");
    }
}

#[test]
fn app_token_secrets_rotate_without_invalidating_issued_tokens() {
    let old = Secret::from_bytes(vec![1u8; 32]).unwrap();
    let new = Secret::from_bytes(vec![2u8; 32]).unwrap();
    let issued = TokenCodec::new(&old, "invite")
        .unwrap()
        .encode(&json!({"team": 7}), NOW, Duration::from_secs(60))
        .unwrap();
    let rotated = TokenCodec::new(&new, "invite")
        .unwrap()
        .with_previous(&old)
        .unwrap();
    let decoded = rotated.decode::<Value>(&issued, NOW).unwrap();
    assert!(decoded.stale_key);
    assert_eq!(decoded.payload["team"], 7);
    let fresh = rotated
        .encode(&json!({"team": 7}), NOW, Duration::from_secs(60))
        .unwrap();
    assert!(!rotated.decode::<Value>(&fresh, NOW).unwrap().stale_key);
    assert_eq!(
        TokenCodec::new(&new, "invite")
            .unwrap()
            .decode::<Value>(&issued, NOW)
            .unwrap_err(),
        RejectReason::UnknownKid
    );
}

#[test]
fn purpose_names_are_checked() {
    for good in ["password-reset", "email.verify", "v2", &"a".repeat(32)] {
        let codec = TokenCodec::new(&secret(), good).unwrap();
        assert_eq!(codec.token_type(), format!("{good}+jwt"));
    }
    for bad in [
        "",
        "session",
        "Session",
        "password reset",
        "-reset",
        ".reset",
        "reset+jwt",
        "réset",
        "a\0b",
        &"a".repeat(33),
    ] {
        assert!(
            matches!(
                TokenCodec::new(&secret(), bad),
                Err(KeyError::InvalidPurpose { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn kids_are_visible_ascii_of_at_most_128_bytes() {
    let key = || JwtKey::hmac(JwtAlgorithm::HS256, &secret()).unwrap();
    for good in ["1", "2025-06", "k/1:a=b", &"k".repeat(128), "!~"] {
        assert_eq!(key().with_kid(good).unwrap().kid(), good);
    }
    // A two-byte character straddling a length limit: the old truncation panicked on one.
    let straddling = format!("a{}", "é".repeat(64));
    for bad in [
        "",
        "two words",
        "tab\t",
        "nul\0",
        "clé",
        straddling.as_str(),
        &"k".repeat(129),
    ] {
        assert!(
            matches!(key().with_kid(bad), Err(KeyError::InvalidKid { .. })),
            "{bad:?}"
        );
    }
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
            .filter(|(k, _)| !session_core::codec::RESERVED_CLAIMS.contains(&k.as_str()))
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
        let _ = TokenCodec::new(&secret(), "password-reset").unwrap().decode::<Value>(&s, NOW);
    }

    #[test]
    fn any_kid_string_is_accepted_or_refused_without_panicking(kid in "\\PC{0,150}|[!-~]{0,140}") {
        let key = JwtKey::hmac(JwtAlgorithm::HS256, &secret()).unwrap();
        let valid = (1..=128).contains(&kid.len()) && kid.bytes().all(|b| (0x21..=0x7e).contains(&b));
        match key.with_kid(kid.clone()) {
            Ok(key) => {
                prop_assert!(valid, "accepted {:?}", kid);
                // An accepted kid round-trips through a token header.
                let codec = JwtCodec::builder(JwtAlgorithm::HS256).key(key).build().unwrap();
                let token = codec.encode(&record(), NOW).unwrap();
                prop_assert!(codec.decode(&token, NOW).is_ok());
            }
            Err(e) => {
                prop_assert!(!valid, "refused {:?}", kid);
                prop_assert!(matches!(e, KeyError::InvalidKid { .. }), "{:?}", e);
            }
        }
    }

    #[test]
    fn any_purpose_string_is_accepted_or_refused_without_panicking(purpose in "\\PC{0,40}|[a-z0-9.-]{0,40}") {
        let _ = TokenCodec::new(&secret(), &purpose);
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
