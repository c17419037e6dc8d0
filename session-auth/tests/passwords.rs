//! `session_auth::password`: bcrypt hashes made at test time by the npm `bcryptjs` package (what
//! the Node apps stored) verify here and are upgraded to Argon2id; hashes the `bcrypt` crate
//! makes verify in bcryptjs (an independent implementation, both directions); the length limit
//! comes before any hashing; malformed hashes are typed errors, never panics.
//!
//! Needs `node` and the `bcryptjs` npm package in `<workspace>/.tools/node` (`cargo xtask test`
//! installs both): a missing piece fails the test, it is never skipped.

use std::path::PathBuf;
use std::process::Command;

use proptest::prelude::*;
use session_auth::password::{
    hash, verify_and_upgrade, verify_user, PasswordError, Verification, MAX_PASSWORD_LEN,
};

/// Hashes and compares with bcryptjs, as the Node apps did.
const BCRYPTJS: &str = r#"
const bcrypt = require('bcryptjs');
const [mode, input] = process.argv.slice(1);
const items = JSON.parse(input);
const out = items.map((item) => {
  switch (mode) {
    // [password, cost]: cost null is the apps' `hashSync(password, genSaltSync(10))`.
    case 'hash': return item[1] === null
      ? bcrypt.hashSync(item[0], bcrypt.genSaltSync(10))
      : bcrypt.hashSync(item[0], item[1]);
    // [password, hash]
    case 'compare': return bcrypt.compareSync(item[0], item[1]);
    // password
    case 'truncates': return bcrypt.truncates(item);
    default: throw new Error('unknown mode ' + mode);
  }
});
console.log(JSON.stringify(out));
"#;

fn node_modules() -> PathBuf {
    std::env::var_os("SESSION_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/node"))
        .join("node_modules")
}

fn bcryptjs<T: serde::de::DeserializeOwned>(mode: &str, input: serde_json::Value) -> Vec<T> {
    let modules = node_modules();
    assert!(
        modules.join("bcryptjs/package.json").exists(),
        "the bcryptjs npm package is missing in {}: run `cargo xtask test` (it installs it) or \
         `npm install --prefix .tools/node bcryptjs@3` in the workspace",
        modules.display()
    );
    let output = Command::new("node")
        .args(["-e", BCRYPTJS, mode, &input.to_string()])
        .env("NODE_PATH", &modules)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "node is required for the bcryptjs interop test (`cargo xtask test` installs it, \
                 or `apt-get install nodejs npm`): {e}"
            )
        });
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node prints a JSON array")
}

/// bcryptjs hashes of `(password, cost)` pairs (`None`: the apps' `genSaltSync(10)`).
fn bcryptjs_hash(items: &[(&str, Option<u32>)]) -> Vec<String> {
    let input: Vec<serde_json::Value> = items
        .iter()
        .map(|(p, c)| serde_json::json!([p, c]))
        .collect();
    bcryptjs("hash", input.into())
}

/// bcryptjs's `compareSync` for `(password, hash)` pairs.
fn bcryptjs_compare(items: &[(&str, &str)]) -> Vec<bool> {
    let input: Vec<serde_json::Value> = items
        .iter()
        .map(|(p, h)| serde_json::json!([p, h]))
        .collect();
    bcryptjs("compare", input.into())
}

const DEFAULT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Verifies, expects an upgrade to a default Argon2id hash that then verifies as current, and
/// returns that hash.
fn expect_upgrade(password: &str, stored: &str) -> String {
    let verification = verify_and_upgrade(password, stored).expect("a well-formed hash");
    let Verification::ValidUpgrade { new_hash } = verification else {
        panic!("expected an upgrade for {stored:.7}..., got {verification:?}");
    };
    assert!(new_hash.starts_with(DEFAULT_PREFIX), "{new_hash:.40}");
    assert_eq!(
        verify_and_upgrade(password, &new_hash).unwrap(),
        Verification::Valid,
        "the new hash is current: no second upgrade"
    );
    new_hash
}

fn with_prefix(stored: &str, prefix: &str) -> String {
    format!("{prefix}{}", &stored[4..])
}

#[test]
fn the_apps_default_bcryptjs_hash_is_2b_cost_10_and_upgrades() {
    let password = "hunter2-but-longer";
    let [stored] = &bcryptjs_hash(&[(password, None)])[..] else {
        panic!("one hash")
    };
    assert!(
        stored.starts_with("$2b$10$") && stored.len() == 60,
        "{stored}"
    );
    expect_upgrade(password, stored);
    assert_eq!(
        verify_and_upgrade("hunter2-but-longeR", stored).unwrap(),
        Verification::Invalid
    );
}

#[test]
fn every_bcrypt_prefix_bcryptjs_accepts_verifies() {
    // bcryptjs 3 writes `$2b$`; `$2a$` (bcryptjs 2 and most older stores) and `$2y$` (PHP)
    // compute the same for passwords bcrypt reads, and bcryptjs accepts them: rewrite the prefix.
    let password = "pässwörd";
    let [stored] = &bcryptjs_hash(&[(password, Some(4))])[..] else {
        panic!("one hash")
    };
    let variants: Vec<String> = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .map(|p| with_prefix(stored, p))
        .collect();
    let pairs: Vec<(&str, &str)> = variants.iter().map(|v| (password, v.as_str())).collect();
    assert_eq!(
        bcryptjs_compare(&pairs),
        [true, true, true],
        "bcryptjs agrees"
    );
    for variant in &variants {
        expect_upgrade(password, variant);
        assert_eq!(
            verify_and_upgrade("passwörd", variant).unwrap(),
            Verification::Invalid
        );
    }
    // `$2x$` (crypt_blowfish's marker for its old 8-bit bug) is read as `$2a$`: an ASCII
    // password verifies.
    let [ascii] = &bcryptjs_hash(&[("plain ascii", Some(4))])[..] else {
        panic!("one hash")
    };
    expect_upgrade("plain ascii", &with_prefix(ascii, "$2x$"));
}

#[test]
fn costs_4_10_and_12_verify_and_wrong_passwords_fail() {
    let cases = [
        ("cost four", Some(4)),
        ("cost ten", Some(10)),
        ("cost twelve", Some(12)),
    ];
    let hashes = bcryptjs_hash(&cases);
    for ((password, cost), stored) in cases.iter().zip(&hashes) {
        let cost = cost.expect("explicit");
        assert!(stored.starts_with(&format!("$2b${cost:02}$")), "{stored}");
        expect_upgrade(password, stored);
        for wrong in ["", "cost", "Cost four", "cost four ", "cost fou"] {
            assert_eq!(
                verify_and_upgrade(wrong, stored).unwrap(),
                Verification::Invalid,
                "{wrong:?} against cost {cost}"
            );
        }
    }
}

#[test]
fn unicode_passwords_are_their_utf8_bytes_without_normalisation() {
    let composed = "caf\u{e9} \u{5bc6}\u{7801} \u{1f511}"; // é as one code point
    let decomposed = "cafe\u{301} \u{5bc6}\u{7801} \u{1f511}"; // e + combining acute
    let hashes = bcryptjs_hash(&[(composed, Some(4)), (decomposed, Some(4))]);
    expect_upgrade(composed, &hashes[0]);
    expect_upgrade(decomposed, &hashes[1]);
    // No Unicode normalisation, in bcryptjs or here: the two spellings are different passwords.
    assert_eq!(
        verify_and_upgrade(decomposed, &hashes[0]).unwrap(),
        Verification::Invalid
    );
    assert_eq!(
        bcryptjs_compare(&[(decomposed, &hashes[0])]),
        [false],
        "bcryptjs agrees"
    );
}

#[test]
fn bcrypt_reads_only_the_first_72_bytes_and_the_upgrade_reads_them_all() {
    let password: String = ('a'..='z').cycle().take(100).collect();
    let prefix = &password[..72];
    let other_tail = format!("{prefix}{}", "Z".repeat(28));
    assert_eq!(
        bcryptjs::<bool>("truncates", serde_json::json!([password])),
        [true],
        "bcryptjs says it truncates a 100-byte password"
    );
    let [stored] = &bcryptjs_hash(&[(&password, Some(4))])[..] else {
        panic!("one hash")
    };
    // bcryptjs made the hash from the first 72 bytes only, so both sides accept the prefix and
    // any tail after it: right for an imported hash, whose other 28 bytes were never stored.
    assert_eq!(
        bcryptjs_compare(&[(prefix, stored), (&other_tail, stored)]),
        [true, true]
    );
    let upgraded = expect_upgrade(&password, stored);
    expect_upgrade(prefix, stored);
    expect_upgrade(&other_tail, stored);
    assert_eq!(
        verify_and_upgrade(&password[..71], stored).unwrap(),
        Verification::Invalid,
        "71 bytes are not enough"
    );
    // The Argon2id hash that replaces it counts every byte: the prefix and the other tail fail.
    for wrong in [prefix, other_tail.as_str()] {
        assert_eq!(
            verify_and_upgrade(wrong, &upgraded).unwrap(),
            Verification::Invalid
        );
    }
    // The same for a cut through a multi-byte character (36 x 'é' = 72 bytes, then more).
    let accents = "\u{e9}".repeat(50);
    let [stored] = &bcryptjs_hash(&[(&accents, Some(4))])[..] else {
        panic!("one hash")
    };
    expect_upgrade(&accents, stored);
    expect_upgrade(&"\u{e9}".repeat(36), stored);
    assert_eq!(
        verify_and_upgrade(&"\u{e9}".repeat(35), stored).unwrap(),
        Verification::Invalid
    );
}

#[test]
fn hashes_made_by_the_bcrypt_crate_verify_in_bcryptjs() {
    let long: String = "0123456789".repeat(10);
    let passwords = [
        "rust made this",
        "p\u{e4}ssw\u{f6}rd \u{1f511}",
        "",
        long.as_str(),
    ];
    let hashes: Vec<String> = passwords
        .iter()
        .map(|p| bcrypt::hash(p, 4).expect("bcrypt hash"))
        .collect();
    let mut pairs: Vec<(&str, &str)> = passwords
        .iter()
        .zip(&hashes)
        .map(|(p, h)| (*p, h.as_str()))
        .collect();
    pairs.push(("wrong", &hashes[0]));
    pairs.push((&long[..72], &hashes[3]));
    pairs.push((&long[..71], &hashes[3]));
    assert_eq!(
        bcryptjs_compare(&pairs),
        [true, true, true, true, false, true, false]
    );
    for (password, stored) in passwords.iter().zip(&hashes) {
        assert!(stored.starts_with("$2b$04$"), "{stored}");
        expect_upgrade(password, stored);
    }
}

#[test]
fn a_one_megabyte_password_is_too_long_before_any_hashing() {
    let huge = "x".repeat(1 << 20);
    let argon2id = hash("short").unwrap();
    let bcrypt_hash = bcrypt::hash("short", 4).unwrap();
    assert!(matches!(hash(&huge), Err(PasswordError::TooLong)));
    for stored in [argon2id.as_str(), bcrypt_hash.as_str()] {
        assert!(matches!(
            verify_and_upgrade(&huge, stored),
            Err(PasswordError::TooLong)
        ));
        assert!(matches!(
            verify_user(&huge, Some(stored)),
            Err(PasswordError::TooLong)
        ));
    }
    assert!(matches!(
        verify_user(&huge, None),
        Err(PasswordError::TooLong)
    ));
    // The length is checked before the stored hash is even parsed.
    for stored in ["", "plain", "$2b$99$x"] {
        assert!(matches!(
            verify_and_upgrade(&huge, stored),
            Err(PasswordError::TooLong)
        ));
    }
}

#[test]
fn the_limit_is_max_password_len_bytes_not_characters() {
    assert_eq!(MAX_PASSWORD_LEN, 1024);
    let at_limit = "\u{e9}".repeat(MAX_PASSWORD_LEN / 2); // 512 characters, 1024 bytes
    let stored = hash(&at_limit).unwrap();
    assert_eq!(
        verify_and_upgrade(&at_limit, &stored).unwrap(),
        Verification::Valid
    );
    let over = format!("{at_limit}x"); // 1025 bytes
    assert!(matches!(hash(&over), Err(PasswordError::TooLong)));
    assert!(matches!(
        verify_and_upgrade(&over, &stored),
        Err(PasswordError::TooLong)
    ));
    // 1025 bytes against an imported bcrypt hash: refused too, though bcrypt would read only 72.
    let bcrypt_hash = bcrypt::hash(&at_limit, 4).unwrap();
    assert!(matches!(
        verify_and_upgrade(&over, &bcrypt_hash),
        Err(PasswordError::TooLong)
    ));
}

#[test]
fn malformed_and_unsupported_hashes_are_typed_errors() {
    let good = bcrypt::hash("pw", 4).unwrap();
    let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy";
    let cost_99 = format!("$2b$99${}", &good[7..]);
    let cost_3 = format!("$2b$03${}", &good[7..]);
    let bad_alphabet = format!("{}!", &good[..59]);
    let no_digest = &good[..29];
    let argon2id_garbage = "$argon2id$v=19$m=19456,t=2,p=1$not base64!$at all";
    let argon2id_cut = &hash("pw").unwrap()[..40];
    for stored in [
        "$2b$10$short",
        argon2i,
        "$argon2d$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$Zm9vYmFy",
        "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA",
        "plain",
        "",
        " ",
        cost_99.as_str(),
        cost_3.as_str(),
        bad_alphabet.as_str(),
        no_digest,
        argon2id_garbage,
        argon2id_cut,
        "$2b$",
        "$argon2id$",
        "5f4dcc3b5aa765d61d8327deb882cf99",
    ] {
        assert!(
            matches!(
                verify_and_upgrade("pw", stored),
                Err(PasswordError::MalformedHash)
            ),
            "{stored:?}"
        );
        assert!(matches!(
            verify_user("pw", Some(stored)),
            Err(PasswordError::MalformedHash)
        ));
    }
}

#[test]
fn weak_argon2id_parameters_verify_and_upgrade() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};

    let with = |m: u32, t: u32| {
        let params = Params::new(m, t, 1, None).unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"old password", &SaltString::encode_b64(&[9; 16]).unwrap())
            .unwrap()
            .to_string()
    };
    let weak = with(1024, 1);
    assert!(weak.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{weak}");
    expect_upgrade("old password", &weak);
    assert_eq!(
        verify_and_upgrade("wrong password", &weak).unwrap(),
        Verification::Invalid,
        "no upgrade without the right password"
    );
    // One pass at the default memory is weaker too; more memory than the default is not.
    expect_upgrade("old password", &with(19 * 1024, 1));
    assert_eq!(
        verify_and_upgrade("old password", &with(32 * 1024, 2)).unwrap(),
        Verification::Valid
    );
}

#[test]
fn unknown_users_are_invalid_whatever_the_password() {
    for password in [
        "",
        "anything",
        // The dummy hash's own password (in the source): still invalid.
        "session-auth: the dummy password of unknown users",
    ] {
        assert_eq!(verify_user(password, None).unwrap(), Verification::Invalid);
    }
    let stored = hash("known").unwrap();
    assert_eq!(
        verify_user("known", Some(&stored)).unwrap(),
        Verification::Valid
    );
    assert_eq!(
        verify_user("unknown", Some(&stored)).unwrap(),
        Verification::Invalid
    );
}

#[test]
fn new_hashes_are_salted_argon2id_and_empty_passwords_are_allowed() {
    let a = hash("same").unwrap();
    let b = hash("same").unwrap();
    assert_ne!(a, b, "a fresh salt each time");
    for stored in [&a, &b] {
        assert!(stored.starts_with(DEFAULT_PREFIX));
        assert_eq!(
            verify_and_upgrade("same", stored).unwrap(),
            Verification::Valid
        );
    }
    let empty = hash("").unwrap();
    assert_eq!(verify_and_upgrade("", &empty).unwrap(), Verification::Valid);
    assert_eq!(verify_and_upgrade("", &a).unwrap(), Verification::Invalid);
    assert_eq!(
        verify_and_upgrade("x", &empty).unwrap(),
        Verification::Invalid
    );
    // Two passwords equal in their first 72 bytes are different passwords for new hashes.
    let base = "k".repeat(72);
    let stored = hash(&format!("{base}1")).unwrap();
    assert_eq!(
        verify_and_upgrade(&format!("{base}2"), &stored).unwrap(),
        Verification::Invalid
    );
}

#[test]
fn no_password_or_hash_text_in_errors_or_debug() {
    let password = "SECRET-password-text";
    let stored = bcrypt::hash(password, 4).unwrap();
    let verification = verify_and_upgrade(password, &stored).unwrap();
    let new_hash = verification.new_hash().expect("an upgrade").to_owned();
    assert!(verification.is_valid());
    let debug = format!("{verification:?}");
    assert!(debug.starts_with("ValidUpgrade"), "{debug}");
    let salt_and_digest = new_hash.splitn(5, '$').nth(4).expect("salt$digest");
    assert!(!debug.contains(salt_and_digest), "{debug}");
    assert!(!debug.contains(password));
    let huge = password.repeat(100);
    let malformed = format!("$2b$10${password}");
    for error in [
        verify_and_upgrade(&huge, &stored).unwrap_err(),
        verify_and_upgrade(password, &malformed).unwrap_err(),
    ] {
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(
                !text.contains("SECRET") && !text.contains(&stored[7..]),
                "{text}"
            );
        }
    }
    assert!(!Verification::Invalid.is_valid() && Verification::Valid.new_hash().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any string as the stored hash: a typed answer, never a panic.
    #[test]
    fn arbitrary_stored_hashes_never_panic(stored in any::<String>()) {
        let result = verify_and_upgrade("pw", &stored);
        prop_assert!(matches!(result, Ok(Verification::Invalid) | Err(PasswordError::MalformedHash)));
    }

    /// Strings shaped like bcrypt (cheap costs only) or Argon2id (small parameters) with random
    /// contents: the parsers and base64 decoders below answer, they do not panic.
    #[test]
    fn hash_shaped_strings_never_panic(
        stored in prop_oneof![
            "\\$2[abxy]\\$0[4-5]\\$[./A-Za-z0-9]{53}",
            "\\$2[abxy]\\$[0-9]{2}\\$[./A-Za-z0-9$]{0,52}",
            "\\$argon2id\\$v=[0-9]{1,2}\\$m=[0-9]{1,3},t=[1-2],p=[1-2]\\$[A-Za-z0-9+/]{0,30}\\$[A-Za-z0-9+/]{0,50}",
            "\\$argon2id\\$[ -~]{0,80}",
        ],
        password in "\\PC{0,80}",
    ) {
        // Only well-formed bcrypt strings are verified, and only the first pattern makes them
        // (cost 04 or 05): the second's tail is never the 53 characters of a real hash, so its
        // costs up to 99 are never run.
        let result = verify_and_upgrade(&password, &stored);
        prop_assert!(matches!(result, Ok(Verification::Invalid) | Err(PasswordError::MalformedHash)));
    }
}
