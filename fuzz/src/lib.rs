//! What the fuzz targets share: fixed keys and codecs (the seed corpus is made with the same
//! ones, by `examples/seed_corpus.rs`, so its valid inputs really are valid), a fixed clock,
//! a tokio runtime for the async entry points, encoders that let the fuzzer choose what is
//! *inside* a signature or an encryption, and the roundtrip checks.
//!
//! Nothing here is secret: these keys exist only to fuzz with.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

use std::sync::OnceLock;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use session_core::codec::{
    JweAlgorithm, JweEncryption, JweKey, SessionCodec, SignedIdCodec, TokenCodec,
    MAX_COOKIE_VALUE_LEN,
};
use session_core::config::Clock;
use session_core::store::{SessionId, SessionMetadata, SessionRecord};
use session_core::{JweCodec, JwtCodec, Secret, UnixTime, UserId};
use sha2::Sha256;

/// The instant every target decodes at (2023-11-14), so a run does not depend on the date.
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// The 32-byte master secret of every codec here.
pub const SECRET: &[u8; 32] = b"fuzzing key 0123456789abcdefghij";
/// An older secret: still verifies for the codecs with a key ring (the stale-key paths).
pub const OLD_SECRET: &[u8; 32] = b"old fuzzing key 0123456789abcdef";
/// The 64-byte key of the `dir` + `A256CBC-HS512` codec.
pub const SECRET_64: &[u8; 64] =
    b"fuzzing key for A256CBC-HS512, exactly sixty-four bytes long...!";

/// The `ECDH-ES+A256KW` codec's P-256 key (PKCS#8), made once with `openssl genpkey`.
pub const P256_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgW4DWMfnGWCi0pdZS
u1TJhuFRSADA6DEjc3g6G1/zyyGhRANCAAQnK7+bRhBxRyx4ghMl6TbqaC3DcLwJ
KngVwRXRhKmHLMkBml59mIDA3+U7QWDXsgbNSyajM7JfLbEexHTE3OC9
-----END PRIVATE KEY-----
";

/// The cookie name of the Auth.js codec.
pub const AUTHJS_COOKIE: &str = "authjs.session-token";

/// The purpose of the [`TokenCodec`] target.
pub const TOKEN_PURPOSE: &str = "invite";

/// `bytes` as a [`Secret`].
pub fn secret(bytes: &[u8]) -> Secret {
    // Invariant: every key above is at least the minimum length.
    Secret::from_bytes(bytes.to_vec()).expect("the fixed fuzzing keys are long enough")
}

/// A clock stopped at [`NOW`].
#[derive(Debug, Clone, Copy)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        NOW
    }
}

/// The session JWT codec: HS256 with [`SECRET`] as it is, default settings, and
/// [`OLD_SECRET`] as an older key of the ring.
pub fn jwt_codec() -> JwtCodec {
    use session_core::codec::{JwtAlgorithm, JwtKey};
    let key =
        |s: &[u8]| JwtKey::hmac(JwtAlgorithm::HS256, &secret(s)).expect("32 bytes is an HS256 key");
    JwtCodec::builder(JwtAlgorithm::HS256)
        .key(key(SECRET))
        .key(key(OLD_SECRET))
        .build()
        .expect("a valid ring")
}

/// A session JWT codec configured for `jose` cookies: no `typ`, `nbf` optional.
pub fn jose_jwt_codec() -> JwtCodec {
    use session_core::codec::{JwtAlgorithm, JwtKey};
    JwtCodec::builder(JwtAlgorithm::HS256)
        .key(JwtKey::hmac(JwtAlgorithm::HS256, &secret(SECRET)).expect("an HS256 key"))
        .typ(None)
        .require_nbf(false)
        .build()
        .expect("a valid ring")
}

/// The application-token codec (purpose [`TOKEN_PURPOSE`]).
pub fn token_codec() -> TokenCodec {
    TokenCodec::new(&secret(SECRET), TOKEN_PURPOSE)
        .and_then(|c| c.with_previous(&secret(OLD_SECRET)))
        .expect("a valid purpose")
}

/// Every key management and content encryption [`JweCodec::builder`] offers, plus the Auth.js
/// preset, each with a name for messages.
pub fn jwe_codecs() -> Vec<(&'static str, JweCodec)> {
    let build = |alg, enc, key: JweKey| {
        JweCodec::builder(alg, enc)
            .key(key)
            .build()
            .expect("a valid ring")
    };
    let gcmkw = || JweKey::a256gcmkw(&secret(SECRET)).expect("a 32-byte key");
    let ecdh = || JweKey::ecdh_es_p256(P256_PRIVATE_PEM).expect("a P-256 key");
    use JweAlgorithm::{A256GcmKw, Dir, EcdhEsA256Kw};
    use JweEncryption::{A256CbcHs512, A256Gcm};
    vec![
        (
            "dir+A256GCM",
            JweCodec::builder(Dir, A256Gcm)
                .key(JweKey::dir(A256Gcm, &secret(SECRET)).expect("a 32-byte key"))
                .key(JweKey::dir(A256Gcm, &secret(OLD_SECRET)).expect("a 32-byte key"))
                .build()
                .expect("a valid ring"),
        ),
        (
            "dir+A256CBC-HS512",
            build(
                Dir,
                A256CbcHs512,
                JweKey::dir(A256CbcHs512, &secret(SECRET_64)).expect("a 64-byte key"),
            ),
        ),
        (
            "authjs",
            JweCodec::authjs(&secret(SECRET), AUTHJS_COOKIE).expect("the Auth.js key"),
        ),
        ("A256GCMKW+A256GCM", build(A256GcmKw, A256Gcm, gcmkw())),
        (
            "A256GCMKW+A256CBC-HS512",
            build(A256GcmKw, A256CbcHs512, gcmkw()),
        ),
        (
            "ECDH-ES+A256KW+A256GCM",
            build(EcdhEsA256Kw, A256Gcm, ecdh()),
        ),
        (
            "ECDH-ES+A256KW+A256CBC-HS512",
            build(EcdhEsA256Kw, A256CbcHs512, ecdh()),
        ),
    ]
}

/// The signed-id codec: [`SECRET`] signs, [`OLD_SECRET`] still verifies.
pub fn signed_id_codec() -> SignedIdCodec {
    SignedIdCodec::new(&secret(SECRET)).with_previous(&secret(OLD_SECRET))
}

/// A fixed session id (for valid seeds).
pub fn sample_id() -> SessionId {
    SessionId::from_bytes(*b"a fixed session id, for fuzzing!")
}

/// A record with every field set, valid at [`NOW`].
pub fn sample_record() -> SessionRecord {
    let mut record = SessionRecord::new(
        sample_id().key(),
        UnixTime::from_secs(NOW.as_secs() - 60),
        UnixTime::from_secs(NOW.as_secs() + 3600),
    );
    record.data.insert("theme".into(), "dark".into());
    record.data.insert(
        "cart".into(),
        serde_json::json!({"items": [1, 2.5, null, true]}),
    );
    record.user_id = Some(UserId::new("user-42"));
    record.absolute_expires_at = Some(UnixTime::from_secs(NOW.as_secs() + 86_400));
    record.version = 7;
    record.metadata = SessionMetadata {
        auth_provider: Some("github".into()),
        user_agent: Some("fuzz/1.0".into()),
        ip: Some("192.0.2.1".into()),
        max_age_secs: Some(7200),
    };
    record
}

/// A current-thread runtime with I/O and timers, for the async entry points.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A compact JWS over the fuzzer's own header and claims bytes, signed HS256 with [`SECRET`]
/// (the key [`jwt_codec`] signs with), so the fuzzer reaches the header and claims checks behind
/// the signature.
pub fn sign_hs256(header: &[u8], claims: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).expect("HMAC takes any key");
    mac.update(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    token
}

/// A compact JWE (`dir`, AES-256-GCM under [`SECRET`], the first codec of [`jwe_codecs`]) of the
/// fuzzer's own protected header and plaintext, so the fuzzer reaches the claims checks behind
/// the decryption.
pub fn encrypt_dir_a256gcm(header: &[u8], plaintext: &[u8]) -> String {
    compact_a256gcm(header, b"", SECRET, plaintext)
}

/// A compact JWE (`A256GCMKW` under [`SECRET`], the key of the `A256GCMKW` codecs of
/// [`jwe_codecs`]) of the fuzzer's protected header, with a content key of `cek_len` bytes
/// wrapped correctly, so the fuzzer gets past the key wrap's tag: to content keys of every
/// length (only 32 bytes is `A256GCM`'s, 64 `A256CBC-HS512`'s), and with a 32-byte key past the
/// content's tag too, to the claims checks. The wrap's `iv` and `tag` are added to `header`
/// when it is a JSON object (replacing any the fuzzer wrote); any other header is sent as it is.
pub fn encrypt_a256gcmkw(cek_len: usize, header: &[u8], plaintext: &[u8]) -> String {
    let cek = vec![9u8; cek_len];
    let wrap_iv = [5u8; 12];
    let kek = Aes256Gcm::new_from_slice(SECRET).expect("a 32-byte key");
    let mut wrapped = cek.clone();
    let wrap_tag = kek
        .encrypt_in_place_detached(Nonce::from_slice(&wrap_iv), b"", &mut wrapped)
        .expect("AES-GCM encrypts any short message");
    let header = match serde_json::from_slice::<serde_json::Value>(header) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("iv".into(), URL_SAFE_NO_PAD.encode(wrap_iv).into());
            fields.insert("tag".into(), URL_SAFE_NO_PAD.encode(wrap_tag).into());
            serde_json::to_vec(&fields).expect("a JSON object serialises")
        }
        _ => header.to_vec(),
    };
    compact_a256gcm(&header, &wrapped, &cek, plaintext)
}

/// `<header>.<encrypted_key>.<iv>.<ciphertext>.<tag>`, the plaintext under AES-256-GCM with
/// `cek` and the encoded header as AAD. A `cek` that is no AES-256 key gets the plaintext as
/// it is and a zero tag: the codec must refuse such a key before it decrypts anything.
fn compact_a256gcm(header: &[u8], encrypted_key: &[u8], cek: &[u8], plaintext: &[u8]) -> String {
    let header_b64 = URL_SAFE_NO_PAD.encode(header);
    let iv = [7u8; 12];
    let mut content = plaintext.to_vec();
    let tag = match Aes256Gcm::new_from_slice(cek) {
        Ok(cipher) => cipher
            .encrypt_in_place_detached(Nonce::from_slice(&iv), header_b64.as_bytes(), &mut content)
            .expect("AES-GCM encrypts any short message")
            .to_vec(),
        Err(_) => vec![0u8; 16],
    };
    format!(
        "{header_b64}.{}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(encrypted_key),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(&content),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// For a record a stateless codec decoded: issuing it again must work, and the new token must
/// decode to the same record (what a commit that refreshes the cookie relies on).
pub fn assert_reissue_roundtrip(
    name: &str,
    codec: &dyn SessionCodec<Payload = SessionRecord>,
    record: &SessionRecord,
) {
    let token = match codec.encode(record, NOW) {
        Ok(token) => token,
        Err(error) => panic!("{name}: a decoded session cannot be issued again: {error}"),
    };
    if token.len() > MAX_COOKIE_VALUE_LEN {
        // The manager refuses such a cookie at commit (`CookieTooLarge`), by design.
        return;
    }
    match codec.decode(&token, NOW) {
        Ok(again) => assert!(
            again.payload == *record,
            "{name}: the re-issued token decodes to another record:\n{:?}\n{:?}",
            record,
            again.payload
        ),
        Err(reason) => panic!("{name}: the re-issued token is rejected: {reason:?}"),
    }
}

/// The lines of `text` (`\n`-separated; a trailing `\r` stays, as a header value would keep it).
pub fn lines(text: &str) -> Vec<&str> {
    text.split('\n').collect()
}
