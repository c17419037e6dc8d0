//! Writes the checked-in seed corpus, `fuzz/corpus/<target>/`: a handful of small valid inputs
//! made with the crates' own encoders and the fixed keys of `session_fuzz` (the keys the targets
//! decode with), and a few invalid ones. Run it again after changing a format or a key:
//!
//! ```text
//! cd fuzz && cargo run --example seed_corpus
//! ```
//!
//! It replaces each target's folder, so the corpus stays exactly what this file says.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Duration;

use session_core::codec::{JweAlgorithm, JweEncryption, JweKey, SessionCodec};
use session_core::config::CookieOptions;
use session_core::JweCodec;
use session_fuzz::{
    encrypt_a256gcmkw, encrypt_dir_a256gcm, jwe_codecs, jwt_codec, sample_id, sample_record,
    sign_hs256, signed_id_codec, token_codec, NOW,
};

fn write(target: &str, seeds: &[(&str, Vec<u8>)]) -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes)?;
    }
    println!("{target}: {} seeds", seeds.len());
    Ok(())
}

/// `mode` followed by `rest`.
fn moded(mode: u8, rest: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(rest);
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let record = sample_record();
    let jwt = jwt_codec().encode(&record, NOW)?;
    let signed_id = signed_id_codec().encode(&sample_id(), NOW)?;
    let a256gcm = jwe_codecs()[0].1.encode(&record, NOW)?;
    let b = |s: &str| s.as_bytes().to_vec();

    write(
        "record",
        &[
            ("valid", record.to_bytes()),
            (
                "minimal",
                session_core::store::SessionRecord::new(sample_id().key(), NOW, NOW).to_bytes(),
            ),
            ("future_format", b(r#"{"fmt":2}"#)),
            ("not_json", b("fmt=1")),
            ("float", b(r#"{"fmt":1,"data":{"x":0.1}}"#)),
        ],
    )?;

    let mut stale = signed_id.clone();
    stale.replace_range(stale.len() - 2.., "AA");
    write(
        "signed_id",
        &[
            ("valid", b(&signed_id)),
            ("bad_tag", b(&stale)),
            ("no_dot", b(&signed_id.replace('.', ""))),
            ("short", b("abc.def")),
        ],
    )?;

    let tokens = token_codec();
    let invite = tokens.encode(
        &serde_json::json!({"team": 7}),
        NOW,
        Duration::from_secs(60),
    )?;
    let header = br#"{"alg":"HS256","typ":"session+jwt"}"#;
    let claims = format!(
        r#"{{"exp":{},"iat":{},"nbf":{},"theme":"dark","sub":"u1","ses":{{"c":1,"l":2}}}}"#,
        NOW.as_secs() + 60,
        NOW.as_secs(),
        NOW.as_secs()
    );
    let mut signed = header.to_vec();
    signed.push(b'\n');
    signed.extend_from_slice(claims.as_bytes());
    write(
        "jwt",
        &[
            ("session", moded(b'0', jwt.as_bytes())),
            ("app_token", moded(b'0', invite.as_bytes())),
            ("alg_none", moded(b'0', b"eyJhbGciOiJub25lIn0.e30.")),
            ("signed_claims", moded(b'1', &signed)),
            (
                "signed_jose",
                moded(b'1', format!("{{\"alg\":\"HS256\"}}\n{claims}").as_bytes()),
            ),
            ("app_claims", moded(b'2', br#"{"sub":"alice","n":[1,2.5]}"#)),
            // The crash the fuzzer found: serde_json read this number back one ULP off.
            ("float_drift", moded(b'2', br#"{"n":3.400000001e54}"#)),
        ],
    )?;
    // Sanity: the signed-claims seed is accepted (so the fuzzer starts past the signature).
    let (h, c) = signed.split_at(header.len());
    jwt_codec().decode(&sign_hs256(h, &c[1..]), NOW)?;

    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, codec) in jwe_codecs() {
        let token = codec.encode(&record, NOW)?;
        seeds.push((name.replace('+', "_"), moded(b'0', token.as_bytes())));
    }
    let kw_header = JweCodec::builder(JweAlgorithm::A256GcmKw, JweEncryption::A256Gcm)
        .key(JweKey::a256gcmkw(&session_fuzz::secret(
            session_fuzz::SECRET,
        ))?)
        .build()?
        .encode(&record, NOW)?;
    let dir_header = br#"{"alg":"dir","enc":"A256GCM","typ":"session+jwt"}"#;
    let mut inner = dir_header.to_vec();
    inner.push(b'\n');
    inner.extend_from_slice(claims.as_bytes());
    jwe_codecs()[0]
        .1
        .decode(&encrypt_dir_a256gcm(dir_header, claims.as_bytes()), NOW)?;
    seeds.push(("dir_plaintext".into(), moded(b'1', &inner)));
    // Mode 2: a 32-byte content key wrapped under the A256GCMKW key, then the header and claims.
    let kw_plain_header = br#"{"alg":"A256GCMKW","enc":"A256GCM","typ":"session+jwt"}"#;
    jwe_codecs()[3].1.decode(
        &encrypt_a256gcmkw(32, kw_plain_header, claims.as_bytes()),
        NOW,
    )?;
    let mut kw_inner = vec![32u8];
    kw_inner.extend_from_slice(kw_plain_header);
    kw_inner.push(b'\n');
    kw_inner.extend_from_slice(claims.as_bytes());
    seeds.push(("kw_plaintext".into(), moded(b'2', &kw_inner)));
    seeds.push((
        "zip_header".into(),
        moded(
            b'0',
            format!("{}x", &a256gcm[..a256gcm.len() / 2]).as_bytes(),
        ),
    ));
    seeds.push(("kw_again".into(), moded(b'0', kw_header.as_bytes())));
    let seeds: Vec<(&str, Vec<u8>)> = seeds.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    write("jwe", &seeds)?;

    let name = CookieOptions::default().name().to_owned();
    write(
        "cookie_header",
        &[
            (
                "signed_id",
                b(&format!("theme=dark; {name}={signed_id}; lang=en")),
            ),
            ("jwt", b(&format!("{name}={jwt}"))),
            (
                "two_headers",
                b(&format!("a=1\nb=2; {name}=forged.value\n{name}=x")),
            ),
            ("odd", b(" ; =; session ; session= ;;=x")),
        ],
    )?;

    write(
        "bearer",
        &[
            ("format", b(&format!("Bearer sat_{}", "A".repeat(43)))),
            ("seed_token", b(&format!("bearer   {}", "ab12".repeat(16)))),
            ("basic", b("Basic YWxpY2U6cHc=")),
            ("repeated", b("Bearer a\nBearer b")),
            ("padding", b("Bearer x==")),
        ],
    )?;

    write(
        "oauth_callback",
        &[
            ("valid", b("code=abc&state={state}\noauth-flow={flow}")),
            (
                "declined",
                b("error=access_denied&state={state}\na=1; oauth-flow={flow}"),
            ),
            ("wrong_state", b("code=abc&state=nope\noauth-flow={flow}")),
            (
                "forged_flow",
                b("code=abc&state=s\noauth-flow=v1.AAAA.BBBB"),
            ),
            ("repeated", b("state=a&state=b&code=%FF%00\n")),
            (
                "next",
                b("next=%2F%2Fevil.example&state={state}&error=x\noauth-flow={flow}"),
            ),
        ],
    )?;
    Ok(())
}
