//! The seed app's encrypted token rows, made by Node's own `crypto` exactly as the seed app's
//! `encrypt()` does, decrypt here and re-seal into the vault; and the reverse, so both sides of
//! the format are checked against an independent implementation.
//!
//! Needs `node` on the PATH (`cargo xtask test` installs it when missing): a missing node fails
//! the test, it is never skipped.

use std::process::Command;

use session_auth::legacy::{import, ImportError, LegacyError, LegacyKey, LegacyRow};
use session_auth::tokens::MemoryTokenStore;
use session_auth::TokenVault;
use session_core::codec::Sealer;
use session_core::{Secret, UnixTime, UserId};

const KEY_HEX: &str = "3f1c9a0b7e5d2c4a6b8e0f1d3c5a7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c";

/// The seed app's `lib/crypto.ts`, as it encrypted tokens (random IV, hex, `iv:ct`).
const SEED_ENCRYPT: &str = r#"
const crypto = require('crypto');
const key = Buffer.from(process.env.ENCRYPTION_KEY, 'hex');
function encrypt(text) {
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
  let encrypted = cipher.update(text, 'utf8', 'hex');
  encrypted += cipher.final('hex');
  return iv.toString('hex') + ':' + encrypted;
}
function decrypt(value) {
  const [ivHex, ct] = value.split(':');
  const decipher = crypto.createDecipheriv('aes-256-cbc', key, Buffer.from(ivHex, 'hex'));
  let text = decipher.update(ct, 'hex', 'utf8');
  text += decipher.final('utf8');
  return text;
}
const [mode, ...values] = process.argv.slice(1);
const out = values.map((v) => (mode === 'encrypt' ? encrypt(v) : decrypt(v)));
console.log(JSON.stringify(out));
"#;

fn node(mode: &str, values: &[&str]) -> Vec<String> {
    let output = Command::new("node")
        .args(["-e", SEED_ENCRYPT, mode])
        .args(values)
        .env("ENCRYPTION_KEY", KEY_HEX)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "node is required for the legacy-format test (cargo xtask test installs it): {e}"
            )
        });
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node prints a JSON array")
}

const TOKENS: [&str; 4] = [
    "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "vercel-refresh-token-with-unicode-é-and-exactly-32b",
    "",
    "a token of exactly sixteen bytes and then more than one block of text",
];

#[test]
fn values_the_seed_app_encrypted_decrypt_here() {
    let key = LegacyKey::from_hex(KEY_HEX).unwrap();
    for (value, text) in node("encrypt", &TOKENS).iter().zip(TOKENS) {
        assert_eq!(key.decrypt(value).unwrap().as_str(), text);
    }
}

#[test]
fn values_written_here_decrypt_in_the_seed_app() {
    let key = LegacyKey::from_hex(KEY_HEX).unwrap();
    let values: Vec<String> = TOKENS
        .iter()
        .enumerate()
        .map(|(i, t)| key.encrypt_for_tests(t, [i as u8 * 17; 16]))
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    assert_eq!(node("decrypt", &refs), TOKENS);
}

#[tokio::test]
async fn an_imported_row_is_resealed_and_a_bad_one_stores_nothing() {
    let key = LegacyKey::from_hex(KEY_HEX).unwrap();
    let encrypted = node("encrypt", &["vercel-access", "vercel-refresh"]);
    let vault = TokenVault::new(
        MemoryTokenStore::new(),
        Sealer::new(&Secret::from_bytes(vec![3; 32]).unwrap()),
    );
    let owner = UserId::new("user-1");
    let row = LegacyRow {
        owner: owner.clone(),
        provider: "vercel",
        account: "vc_1",
        access_token: &encrypted[0],
        refresh_token: Some(&encrypted[1]),
        expires_at: None,
        obtained_at: UnixTime::from_secs(1_700_000_000),
        scope: Some("openid"),
    };
    assert_eq!(import(&vault, &key, &row).await.unwrap(), 1);
    let info = vault.info(&owner, "vercel").await.unwrap().unwrap();
    assert_eq!(
        info.expires_at,
        Some(UnixTime::from_secs(1_700_003_600)),
        "Vercel: obtained + 3600 s"
    );
    let sealed = vault
        .token_store()
        .get(&owner, "vercel")
        .await
        .unwrap()
        .unwrap();
    assert!(
        sealed.access_token.as_str().starts_with("v1."),
        "GCM-sealed now"
    );
    assert!(!sealed.access_token.as_str().contains(&encrypted[0]));
    let (access, refresh) = vault.take(&owner, "vercel").await.unwrap().unwrap();
    assert_eq!(access.secret(), "vercel-access");
    assert_eq!(refresh.unwrap().secret(), "vercel-refresh");

    // A damaged row stores nothing. (CBC has no MAC: only damage that breaks the padding or the
    // UTF-8 shows; a fixed IV keeps this case deterministic.)
    let mut damaged = key.encrypt_for_tests("vercel-access", [5; 16]);
    damaged.replace_range(damaged.len() - 2.., "00");
    let bad = LegacyRow {
        access_token: &damaged,
        ..row
    };
    let error = import(&vault, &key, &bad).await.unwrap_err();
    assert!(
        matches!(error, ImportError::Legacy(LegacyError::Undecryptable)),
        "{error:?}"
    );
    assert!(vault.info(&owner, "vercel").await.unwrap().is_none());
}
