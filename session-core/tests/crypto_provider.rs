//! The JWT codecs never use jsonwebtoken's process-wide default crypto provider.
//!
//! This file is its own test binary, so the provider it installs is the default of this process
//! only. It stands in for any other crate of an application's dependency tree that installs
//! another default, or enables jsonwebtoken's `aws_lc_rs` feature next to `rust_crypto` (then the
//! automatic default is a provider whose every function panics).

use std::time::Duration;

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use session_core::{
    codec::{JwtAlgorithm, JwtKey, SessionCodec, TokenCodec},
    store::{SessionId, SessionRecord},
    JwtCodec, Secret, UnixTime,
};

fn failing_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Err(ErrorKind::Provider("the process default must not be used".into()).into())
}

fn failing_verifier(_: &Algorithm, _: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    Err(ErrorKind::Provider("the process default must not be used".into()).into())
}

/// A process default whose every signer and verifier fails.
static FAILING: CryptoProvider = CryptoProvider {
    signer_factory: failing_signer,
    verifier_factory: failing_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn tokens_sign_and_verify_whatever_default_provider_the_process_installed() {
    FAILING
        .install_default()
        .expect("nothing in this binary chose a default before");
    // The failing provider is now what jsonwebtoken's own functions use.
    assert!(jsonwebtoken::crypto::sign(
        b"m",
        &EncodingKey::from_secret(&[0; 32]),
        Algorithm::HS256
    )
    .is_err());

    let now = UnixTime::from_secs(1_750_000_000);
    let record = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + Duration::from_secs(60),
    );
    let hmac = |alg, len| {
        JwtCodec::builder(alg)
            .key(JwtKey::hmac(alg, &Secret::from_bytes(vec![7u8; len]).unwrap()).unwrap())
            .build()
            .unwrap()
    };
    let pem = |alg, name: &str| {
        JwtCodec::builder(alg)
            .key(
                JwtKey::from_pem(
                    alg,
                    &fixture(&format!("{name}-private.pem")),
                    &fixture(&format!("{name}-public.pem")),
                )
                .unwrap(),
            )
            .build()
            .unwrap()
    };
    let codecs = [
        hmac(JwtAlgorithm::HS256, 32),
        hmac(JwtAlgorithm::HS384, 48),
        hmac(JwtAlgorithm::HS512, 64),
        pem(JwtAlgorithm::RS256, "rs256"),
        pem(JwtAlgorithm::ES256, "es256"),
        pem(JwtAlgorithm::EdDSA, "eddsa"),
    ];
    for codec in &codecs {
        let token = codec
            .encode(&record, now)
            .unwrap_or_else(|e| panic!("{:?} signs: {e}", codec.algorithm()));
        let back = codec
            .decode(&token, now)
            .unwrap_or_else(|e| panic!("{:?} verifies: {e}", codec.algorithm()));
        assert_eq!(back.payload, record);
    }
    let invites = TokenCodec::new(&Secret::from_bytes(vec![7u8; 32]).unwrap(), "invite").unwrap();
    let token = invites
        .encode(
            &serde_json::json!({"team": 7}),
            now,
            Duration::from_secs(60),
        )
        .expect("app tokens sign");
    let back = invites
        .decode::<serde_json::Value>(&token, now)
        .expect("app tokens verify");
    assert_eq!(back.payload["team"], 7);
}
