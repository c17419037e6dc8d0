//! Part 1, `codec`: `JwtCodec::hs256`, `JweCodec::a256gcm` and `SignedIdCodec` per operation,
//! against raw floors measured in the same run (serde_json + base64url + HMAC-SHA256, or +
//! AES-256-GCM with a fresh OS nonce, of the same payload), plus the
//! sub-steps that explain where the time goes and the in-process cost of a whole request's
//! session work (load + write + commit through `SessionManager`, no HTTP).
//!
//! Also home of the typical record every part uses.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use session_core::{
    codec::{SessionCodec, SignedIdCodec},
    config::ConflictPolicy,
    store::{SessionData, SessionId, SessionRecord},
    CookieUpdate, JweCodec, JwtCodec, MemoryStore, Policy, RequestContext, Secret, SessionManager,
    UnixTime, UserId,
};
use sha2::Sha256;

use crate::timing::{per_op, per_op_batched, CpuTimer, Spread};
use crate::{context, fail, BoxError, Options, Report, Section, Table, Target};

/// The HS256 encode+decode target, as a multiple of the hand-rolled floor.
const TARGET_JWT_X_FLOOR: f64 = 1.3;

/// The signed-id decode target, as a multiple of its floor.
const TARGET_SIGNED_ID_X_FLOOR: f64 = 1.2;

/// The JWE encode+decode target, as a multiple of the AEAD floor.
const TARGET_JWE_X_FLOOR: f64 = 1.3;

/// The bench's secret (48 bytes; any 32+ bytes would do).
const SECRET: &[u8] = b"session-bench: not a real secret, 48 bytes long!";

pub(crate) fn secret() -> Result<Secret, BoxError> {
    Secret::from_bytes(SECRET.to_vec()).map_err(context("bench secret"))
}

/// The user id of the typical record.
pub(crate) const TYPICAL_USER: &str = "user-12345";

/// About 200 bytes of typical session data: a user, a theme and a CSRF token.
pub(crate) fn typical_data() -> SessionData {
    let value = json!({
        "user": {
            "id": 12345,
            "email": "ada.lovelace@example.com",
            "name": "Ada Lovelace",
            "roles": ["admin", "editor", "billing"]
        },
        "theme": "dark",
        "csrf": "Wq3v9XJk0c4m1pZ8sT2bYfH7uN6eR5aL0gD3iK9oQwE"
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A signed-in session holding [`typical_data`], valid for a day.
pub(crate) fn typical_record(now: UnixTime) -> SessionRecord {
    let mut record = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + Duration::from_secs(24 * 3600),
    );
    record.data = typical_data();
    record.user_id = Some(UserId::new(TYPICAL_USER));
    record
}

/// The policy every stateful/stateless manager of the bench uses: defaults, except that a save
/// that lost a race overwrites (the HTTP load generator replays one cookie on 32 connections).
pub(crate) fn bench_policy() -> Result<Policy, BoxError> {
    Policy::builder()
        .on_conflict(ConflictPolicy::LastWriteWins)
        .build()
        .map_err(context("bench policy"))
}

type HmacSha256 = Hmac<Sha256>;

/// The raw floor: what any signed-JSON cookie must do at least.
struct Floor {
    mac: HmacSha256,
}

impl Floor {
    /// serialize JSON, base64url it, HMAC the text, append the base64url tag.
    fn encode(&self, claims: &Map<String, Value>) -> Result<String, BoxError> {
        let json = serde_json::to_vec(claims)?;
        let mut out = String::with_capacity(json.len() * 4 / 3 + 48);
        URL_SAFE_NO_PAD.encode_string(&json, &mut out);
        let mut mac = self.mac.clone();
        mac.update(out.as_bytes());
        let tag = mac.finalize().into_bytes();
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut out);
        Ok(out)
    }

    /// base64url-decode the tag, verify the HMAC (constant time), decode and parse the JSON.
    fn decode(&self, value: &str) -> Result<Map<String, Value>, BoxError> {
        let (payload, tag_text) = value.rsplit_once('.').ok_or_else(|| fail("no tag"))?;
        let mut tag = [0u8; 32];
        let n = URL_SAFE_NO_PAD.decode_slice(tag_text, &mut tag)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag[..n]).map_err(|_| fail("bad tag"))?;
        let json = URL_SAFE_NO_PAD.decode(payload)?;
        Ok(serde_json::from_slice(&json)?)
    }

    /// The signed-id floor: HMAC of the 32 id bytes, `<id text>.<tag>`.
    fn encode_id(&self, id: &SessionId) -> String {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::with_capacity(87);
        out.push_str(id.expose());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut out);
        out
    }

    fn decode_id(&self, value: &str) -> Result<[u8; 32], BoxError> {
        let (id_text, tag_text) = value.split_once('.').ok_or_else(|| fail("no tag"))?;
        let mut id = [0u8; 33];
        let mut tag = [0u8; 33];
        let n = URL_SAFE_NO_PAD.decode_slice(id_text, &mut id)?;
        let t = URL_SAFE_NO_PAD.decode_slice(tag_text, &mut tag)?;
        if n != 32 {
            return Err(fail("the id is not 32 bytes"));
        }
        let mut mac = self.mac.clone();
        mac.update(&id[..n]);
        mac.verify_slice(&tag[..t]).map_err(|_| fail("bad tag"))?;
        let mut out = [0u8; 32];
        out.copy_from_slice(&id[..32]);
        Ok(out)
    }
}

/// The encrypted floor: what any AES-256-GCM JSON cookie must do at least.
struct AeadFloor {
    cipher: Aes256Gcm,
}

impl AeadFloor {
    /// serialize JSON, a fresh nonce from the OS, AES-256-GCM, base64url of nonce and sealed
    /// bytes.
    fn encode(&self, claims: &Map<String, Value>) -> Result<String, BoxError> {
        let json = serde_json::to_vec(claims)?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| fail(format!("getrandom: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &json,
                    aad: b"",
                },
            )
            .map_err(|_| fail("AES-GCM encrypt"))?;
        let mut out = String::with_capacity(sealed.len() * 4 / 3 + 20);
        URL_SAFE_NO_PAD.encode_string(nonce, &mut out);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&sealed, &mut out);
        Ok(out)
    }

    /// base64url-decode, AES-256-GCM open, parse the JSON.
    fn decode(&self, value: &str) -> Result<Map<String, Value>, BoxError> {
        let (nonce_text, sealed_text) = value.split_once('.').ok_or_else(|| fail("no nonce"))?;
        let mut nonce = [0u8; 12];
        if URL_SAFE_NO_PAD.decode_slice(nonce_text, &mut nonce)? != 12 {
            return Err(fail("the nonce is not 12 bytes"));
        }
        let sealed = URL_SAFE_NO_PAD.decode(sealed_text)?;
        let json = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed,
                    aad: b"",
                },
            )
            .map_err(|_| fail("AES-GCM decrypt"))?;
        Ok(serde_json::from_slice(&json)?)
    }
}

/// Formats nanoseconds per op.
fn ns(s: &Spread) -> String {
    s.show(0)
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}x")
    } else {
        "n/a".to_owned()
    }
}

pub(crate) fn run(options: Options) -> Result<Report, BoxError> {
    let (iters, reps) = if options.quick { (200, 2) } else { (30_000, 7) };
    let secret = secret()?;
    let jwt = JwtCodec::hs256(&secret).map_err(context("JwtCodec::hs256"))?;
    let signed = SignedIdCodec::new(&secret);
    let now = UnixTime::now();
    let record = typical_record(now);
    let data_len = serde_json::to_vec(&record.data)?.len();

    // The token and the exact claims it carries: the floor signs the same JSON object.
    let token = jwt.encode(&record, now).map_err(context("JWT encode"))?;
    let claims_segment = token
        .split('.')
        .nth(1)
        .ok_or_else(|| fail("the JWT has no payload segment"))?;
    let claims_json = URL_SAFE_NO_PAD.decode(claims_segment)?;
    let claims: Map<String, Value> = serde_json::from_slice(&claims_json)?;
    let floor = Floor {
        mac: HmacSha256::new_from_slice(SECRET).map_err(context("HMAC key"))?,
    };
    let floor_value = floor.encode(&claims)?;
    if floor.decode(&floor_value)? != claims {
        return Err(fail("the raw floor does not round-trip"));
    }
    if jwt
        .decode(&token, now)
        .map_err(context("JWT decode"))?
        .payload
        .data
        != record.data
    {
        return Err(fail("the JWT codec does not round-trip the typical record"));
    }
    let id = SessionId::generate();
    let id_cookie = signed
        .encode(&id, now)
        .map_err(context("signed id encode"))?;
    let floor_id = floor.encode_id(&id);
    if floor.decode_id(&floor_id)? != *id.as_bytes() {
        return Err(fail("the signed-id floor does not round-trip"));
    }

    // Codecs and their floors, interleaved so both see the same machine state.
    let jwt_enc = per_op(iters, reps, || jwt.encode(black_box(&record), now));
    let floor_enc = per_op(iters, reps, || floor.encode(black_box(&claims)));
    let jwt_dec = per_op(iters, reps, || jwt.decode(black_box(&token), now));
    let floor_dec = per_op(iters, reps, || floor.decode(black_box(&floor_value)));
    let jwt_both = per_op(iters, reps, || {
        jwt.encode(black_box(&record), now)
            .ok()
            .map(|t| jwt.decode(&t, now))
    });
    let floor_both = per_op(iters, reps, || {
        floor
            .encode(black_box(&claims))
            .ok()
            .map(|v| floor.decode(&v))
    });
    // JWE against the AEAD floor, on the same claims.
    let jwe_key = Secret::from_bytes(SECRET[..32].to_vec()).map_err(context("JWE key"))?;
    let jwe = JweCodec::a256gcm(&jwe_key).map_err(context("JweCodec::a256gcm"))?;
    let jwe_token = jwe.encode(&record, now).map_err(context("JWE encode"))?;
    if jwe
        .decode(&jwe_token, now)
        .map_err(context("JWE decode"))?
        .payload
        .data
        != record.data
    {
        return Err(fail("the JWE codec does not round-trip the typical record"));
    }
    let aead = AeadFloor {
        cipher: <Aes256Gcm as aes_gcm::KeyInit>::new_from_slice(&SECRET[..32])
            .map_err(|_| fail("AES key"))?,
    };
    let aead_value = aead.encode(&claims)?;
    if aead.decode(&aead_value)? != claims {
        return Err(fail("the AEAD floor does not round-trip"));
    }
    let jwe_enc = per_op(iters, reps, || jwe.encode(black_box(&record), now));
    let aead_enc = per_op(iters, reps, || aead.encode(black_box(&claims)));
    let jwe_dec = per_op(iters, reps, || jwe.decode(black_box(&jwe_token), now));
    let aead_dec = per_op(iters, reps, || aead.decode(black_box(&aead_value)));
    let jwe_both = per_op(iters, reps, || {
        jwe.encode(black_box(&record), now)
            .ok()
            .map(|t| jwe.decode(&t, now))
    });
    let aead_both = per_op(iters, reps, || {
        aead.encode(black_box(&claims))
            .ok()
            .map(|v| aead.decode(&v))
    });
    let sid_enc = per_op(iters, reps, || signed.encode(black_box(&id), now));
    let floor_id_enc = per_op(iters, reps, || floor.encode_id(black_box(&id)));
    let sid_dec = per_op(iters, reps, || signed.decode(black_box(&id_cookie), now));
    let floor_id_dec = per_op(iters, reps, || floor.decode_id(black_box(&floor_id)));

    let mut table = Table::new(&[
        "operation",
        "CPU ns/op median (min..max)",
        "raw floor CPU ns/op",
        "x floor",
    ]);
    for (name, s, f) in [
        ("JwtCodec::hs256 encode", &jwt_enc, &floor_enc),
        ("JwtCodec::hs256 decode + validate", &jwt_dec, &floor_dec),
        ("JwtCodec::hs256 encode + decode", &jwt_both, &floor_both),
        ("JweCodec::a256gcm encode", &jwe_enc, &aead_enc),
        ("JweCodec::a256gcm decode + validate", &jwe_dec, &aead_dec),
        ("JweCodec::a256gcm encode + decode", &jwe_both, &aead_both),
        ("SignedIdCodec encode", &sid_enc, &floor_id_enc),
        ("SignedIdCodec decode", &sid_dec, &floor_id_dec),
    ] {
        table.row(vec![
            name.into(),
            ns(s),
            ns(f),
            ratio(s.ratio_of_medians(f)),
        ]);
    }
    let codecs = Section {
        title: "Codecs against the raw floor".into(),
        intro: vec![format!(
            "Typical record: {data_len} bytes of data (user {{id, email, name, roles}}, theme, CSRF \
             token) plus a user id; the JWT is {} bytes, its claims JSON {} bytes. The JWT floor \
             signs the same claims object: serde_json, base64url, HMAC-SHA256 over the base64 text \
             (prepared key), base64url tag; decoding reverses it with a constant-time tag check. \
             The JWE floor encrypts the same claims: serde_json, a nonce from the OS generator, \
             AES-256-GCM, base64url ({} bytes against the JWE's {}). \
             The signed-id floor is HMAC-SHA256 of the 32 id bytes plus base64url. {iters} \
             iterations x {reps} repetitions per row, timed with the thread's CPU clock \
             (`CLOCK_THREAD_CPUTIME_ID`), so time spent preempted by other work on this shared \
             machine is not counted.",
            token.len(),
            claims_json.len(),
            aead_value.len(),
            jwe_token.len()
        )],
        table,
        notes: Vec::new(),
    };

    let steps = substeps(&claims, &claims_json, &token, &record, iters, reps)?;
    let requests = request_work(&secret, iters.min(10_000), reps)?;

    let mut detail = vec![format!(
        "encode {} ns + decode {} ns (medians, measured separately; {} and {} of their floors).",
        jwt_enc.median.round(),
        jwt_dec.median.round(),
        ratio(jwt_enc.ratio_of_medians(&floor_enc)),
        ratio(jwt_dec.ratio_of_medians(&floor_dec)),
    )];
    detail.extend(steps.1);
    let hs256_target = ratio_target(
        format!("HS256 encode + decode <= {TARGET_JWT_X_FLOOR:.1}x the hand-rolled floor"),
        TARGET_JWT_X_FLOOR,
        &jwt_both,
        &floor_both,
        detail,
    );
    let signed_id_target = ratio_target(
        format!("signed-id decode <= {TARGET_SIGNED_ID_X_FLOOR:.1}x its floor"),
        TARGET_SIGNED_ID_X_FLOOR,
        &sid_dec,
        &floor_id_dec,
        vec![
            "The codec's tag covers a 7-byte context before the 32 id bytes, which still fit \
             one SHA-256 block; the rest is parsing the id and the tag."
                .into(),
        ],
    );
    let jwe_target = ratio_target(
        format!("JWE encode + decode <= {TARGET_JWE_X_FLOOR:.1}x the AEAD floor"),
        TARGET_JWE_X_FLOOR,
        &jwe_both,
        &aead_both,
        Vec::new(),
    );
    let targets = vec![hs256_target, signed_id_target, jwe_target];
    Ok(Report {
        sections: vec![codecs, steps.0, requests],
        targets,
    })
}

/// Sub-steps of the codecs and records, to show where the time goes.
fn substeps(
    claims: &Map<String, Value>,
    claims_json: &[u8],
    token: &str,
    record: &SessionRecord,
    iters: u64,
    reps: usize,
) -> Result<(Section, Vec<String>), BoxError> {
    use jsonwebtoken::{crypto, Algorithm, DecodingKey, EncodingKey};

    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| fail("the JWT has no signature"))?;
    let claims_b64 = URL_SAFE_NO_PAD.encode(claims_json);
    let prepared = HmacSha256::new_from_slice(SECRET).map_err(context("HMAC key"))?;
    let enc_key = EncodingKey::from_secret(SECRET);
    let dec_key = DecodingKey::from_secret(SECRET);
    if !crypto::verify(
        signature,
        signing_input.as_bytes(),
        &dec_key,
        Algorithm::HS256,
    )? {
        return Err(fail("jsonwebtoken does not verify our own token"));
    }
    let record_bytes = record.to_bytes();
    let id = SessionId::generate();

    let json_ser = per_op(iters, reps, || serde_json::to_vec(black_box(claims)));
    let json_de = per_op(iters, reps, || {
        serde_json::from_slice::<Map<String, Value>>(black_box(claims_json))
    });
    let json_scan = per_op(iters, reps, || {
        serde_json::from_slice::<serde::de::IgnoredAny>(black_box(claims_json))
    });
    let b64_enc = per_op(iters, reps, || {
        URL_SAFE_NO_PAD.encode(black_box(claims_json))
    });
    let b64_dec = per_op(iters, reps, || {
        URL_SAFE_NO_PAD.decode(black_box(&claims_b64))
    });
    let hmac_prepared = per_op(iters, reps, || {
        let mut mac = prepared.clone();
        mac.update(black_box(signing_input.as_bytes()));
        mac.finalize().into_bytes()
    });
    let hmac_keyed = per_op(iters, reps, || {
        HmacSha256::new_from_slice(black_box(SECRET)).map(|mut mac| {
            mac.update(black_box(signing_input.as_bytes()));
            mac.finalize().into_bytes()
        })
    });
    let jwt_sign = per_op(iters, reps, || {
        crypto::sign(
            black_box(signing_input.as_bytes()),
            &enc_key,
            Algorithm::HS256,
        )
    });
    let jwt_verify = per_op(iters, reps, || {
        crypto::verify(
            black_box(signature),
            signing_input.as_bytes(),
            &dec_key,
            Algorithm::HS256,
        )
    });
    let to_bytes = per_op(iters, reps, || black_box(record).to_bytes());
    let from_bytes = per_op(iters, reps, || {
        SessionRecord::from_bytes(black_box(&record_bytes))
    });
    let id_generate = per_op(iters, reps, SessionId::generate);
    let id_key = per_op(iters, reps, || black_box(&id).key());

    let mut table = Table::new(&["sub-step", "CPU ns/op median (min..max)"]);
    let rows = [
        ("serde_json::to_vec(claims)", &json_ser),
        ("serde_json::from_slice::<Map>(claims)", &json_de),
        (
            "serde_json scan of the claims, nothing built (IgnoredAny)",
            &json_scan,
        ),
        ("base64url encode claims", &b64_enc),
        ("base64url decode claims", &b64_dec),
        (
            "HMAC-SHA256 of the signing input, prepared key (clone)",
            &hmac_prepared,
        ),
        (
            "HMAC-SHA256 of the signing input, key set up per call",
            &hmac_keyed,
        ),
        (
            "jsonwebtoken::crypto::sign HS256 (the generic path)",
            &jwt_sign,
        ),
        (
            "jsonwebtoken::crypto::verify HS256 (the generic path)",
            &jwt_verify,
        ),
        ("SessionRecord::to_bytes (store format)", &to_bytes),
        ("SessionRecord::from_bytes (store format)", &from_bytes),
        ("SessionId::generate (CSPRNG + base64url)", &id_generate),
        ("SessionId::key (SHA-256)", &id_key),
    ];
    for (name, s) in rows {
        table.row(vec![name.into(), ns(s)]);
    }
    let lines = vec![
        format!(
            "JSON: serialising the claims takes {} ns and parsing them into a `Map<String, Value>` \
             {} ns, of which {} ns is building the map (allocation; a scan that builds nothing \
             takes {} ns); base64url {} + {} ns.",
            json_ser.median.round(),
            json_de.median.round(),
            (json_de.median - json_scan.median).round(),
            json_scan.median.round(),
            b64_enc.median.round(),
            b64_dec.median.round()
        ),
        format!(
            "HMAC: jsonwebtoken's sign takes {} ns and verify {} ns, against {} ns for an HMAC \
             with a prepared key ({} ns when the key is set up per call, which is what \
             `EncodingKey`/`DecodingKey` do); verify also re-encodes the tag.",
            jwt_sign.median.round(),
            jwt_verify.median.round(),
            hmac_prepared.median.round(),
            hmac_keyed.median.round()
        ),
    ];
    Ok((
        Section {
            title: "Where the time goes (sub-steps)".into(),
            intro: vec![format!(
                "The same claims, token and record as above; {} bytes in the store format.",
                record_bytes.len()
            )],
            table,
            notes: Vec::new(),
        },
        lines,
    ))
}

/// A target met when `ours` takes at most `limit` times `floor` (medians, CPU ns per op).
fn ratio_target(
    name: String,
    limit: f64,
    ours: &Spread,
    floor: &Spread,
    detail: Vec<String>,
) -> Target {
    let x = ours.ratio_of_medians(floor);
    Target {
        name,
        met: x <= limit,
        figure: format!(
            "{} ({:.2} us against the floor's {:.2} us, medians; spread {:.2}..{:.2} us).",
            ratio(x),
            ours.median / 1_000.0,
            floor.median / 1_000.0,
            ours.min / 1_000.0,
            ours.max / 1_000.0
        ),
        detail,
    }
}

/// One request's session work in process (no HTTP): `lazy_from_headers`, the first extractor's
/// load, a counter read and write, `commit_for_status`. The HTTP part's ratios are best read next to these.
fn request_work(secret: &Secret, iters: u64, reps: usize) -> Result<Section, BoxError> {
    let rt = runtime()?;
    let policy = bench_policy()?;
    let managers = [
        (
            STATELESS,
            SessionManager::stateless(JwtCodec::hs256(secret).map_err(context("JwtCodec"))?)
                .policy(policy.clone())
                .build(),
        ),
        (
            "MemoryStore",
            SessionManager::stateful(secret, MemoryStore::new())
                .policy(policy)
                .build(),
        ),
    ];
    let mut table = Table::new(&["session mode", "path", "CPU ns/request median (min..max)"]);
    for (name, manager) in &managers {
        let (existing, new) = request_costs(&rt, manager, iters, reps)?;
        if *name == STATELESS {
            let _ = JWT_REQUEST_WORK.set((existing.median, new.median));
        }
        table.row(vec![
            (*name).into(),
            "existing session".into(),
            ns(&existing),
        ]);
        table.row(vec![(*name).into(), "new session".into(), ns(&new)]);
    }
    Ok(Section {
        title: "One request's session work, in process".into(),
        intro: vec![
            "`SessionManager::lazy_from_headers` + `LazySession::session` + `get::<u64>(\"n\")` + \
             `insert(\"n\", n + 1)` + `LazySession::commit_for_status`, as an adapter drives it, \
             without HTTP. Existing session: the typical record \
             (cookie replayed, so every request writes and re-issues or saves); new session: no \
             cookie, a fresh session holding only the counter."
                .into(),
        ],
        table,
        notes: Vec::new(),
    })
}

const STATELESS: &str = "stateless JWT";

fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))
}

/// ns per request for the existing-session and new-session paths of `manager`.
fn request_costs(
    rt: &tokio::runtime::Runtime,
    manager: &SessionManager,
    iters: u64,
    reps: usize,
) -> Result<(Spread, Spread), BoxError> {
    let cookie = rt.block_on(seed_cookie(manager))?;
    // Both paths must work before they are timed; in the timed loop a failure would only be
    // faster, so the loop cannot hide one either: every result is checked below.
    rt.block_on(counter_request(manager, Some(&cookie)))?;
    rt.block_on(counter_request(manager, None))?;
    let cost = |cookie: Option<&str>| {
        per_op_batched(iters, reps, |n| {
            rt.block_on(async {
                let start = CpuTimer::start();
                let mut failed = 0u64;
                for _ in 0..n {
                    failed += u64::from(black_box(counter_request(manager, cookie).await).is_err());
                }
                let elapsed = start.elapsed();
                assert_eq!(failed, 0, "counter requests failed while timed");
                elapsed
            })
        })
    };
    let existing = cost(Some(&cookie));
    let new = cost(None);
    Ok((existing, new))
}

/// The stateless JWT request work (existing, new) in CPU ns, as measured by this run's codec part.
static JWT_REQUEST_WORK: OnceLock<(f64, f64)> = OnceLock::new();

/// The stateless JWT request work (existing, new) in CPU ns, for the HTTP part's explanation:
/// the codec part's figure when it ran in this process, else measured now.
pub(crate) fn jwt_request_work_ns(quick: bool) -> Result<(f64, f64), BoxError> {
    if let Some(&figures) = JWT_REQUEST_WORK.get() {
        return Ok(figures);
    }
    let (iters, reps) = if quick { (200, 1) } else { (10_000, 5) };
    let manager =
        SessionManager::stateless(JwtCodec::hs256(&secret()?).map_err(context("JwtCodec"))?)
            .policy(bench_policy()?)
            .build();
    let (existing, new) = request_costs(&runtime()?, &manager, iters, reps)?;
    Ok((existing.median, new.median))
}

/// A cookie (`session=...`) for a session holding the typical data and a counter.
pub(crate) async fn seed_cookie(manager: &SessionManager) -> Result<String, BoxError> {
    let session = manager
        .load(None, RequestContext::default())
        .await
        .map_err(context("load"))?;
    session.login(UserId::new(TYPICAL_USER));
    for (k, v) in typical_data() {
        session.insert(k, v).map_err(context("insert"))?;
    }
    session.insert("n", 0u64).map_err(context("insert"))?;
    match manager.commit(&session).await.map_err(context("commit"))? {
        CookieUpdate::Set(set_cookie) => {
            Ok(set_cookie.split(';').next().unwrap_or_default().to_owned())
        }
        other => Err(fail(format!("seeding a session gave {other:?}"))),
    }
}

/// The counter handler's session work for one request.
async fn counter_request(
    manager: &SessionManager,
    cookie: Option<&str>,
) -> Result<CookieUpdate, BoxError> {
    let lazy = manager.lazy_from_headers(cookie, RequestContext::default());
    let session = lazy.session().await?;
    let n: u64 = session.get("n")?.unwrap_or(0);
    session.insert("n", n + 1)?;
    Ok(lazy.commit_for_status(200).await?)
}
