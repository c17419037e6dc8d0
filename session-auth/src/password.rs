//! Password sign-in with a migration path: new hashes are always Argon2id (through
//! [`session_core::password`]: 19 MiB, 2 passes, 1 lane, the OWASP Password Storage Cheat Sheet's
//! first choice); bcrypt hashes imported from a Node app (the npm `bcryptjs` package's
//! `$2a$`/`$2b$`/`$2y$` strings, any cost) still verify, and the first successful sign-in hands
//! back an Argon2id hash to store in their place.
//!
//! ```
//! use session_auth::password::{self, Verification};
//!
//! // A user imported from the Node app: bcryptjs's `hashSync(password, 4)`.
//! let imported = "$2b$04$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUea";
//! let Verification::ValidUpgrade { new_hash } =
//!     password::verify_and_upgrade("correct horse battery staple", imported)?
//! else {
//!     unreachable!("a matching bcrypt hash is always upgraded");
//! };
//! // Store `new_hash` in place of the bcrypt hash; from now on the user is on Argon2id.
//! assert!(new_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//! assert_eq!(
//!     password::verify_and_upgrade("correct horse battery staple", &new_hash)?,
//!     Verification::Valid
//! );
//! assert_eq!(
//!     password::verify_and_upgrade("Tr0ub4dor&3", &new_hash)?,
//!     Verification::Invalid
//! );
//!
//! // New users: Argon2id from the start.
//! let stored = password::hash("a new user's password")?;
//! assert!(password::verify_and_upgrade("a new user's password", &stored)?.is_valid());
//!
//! // An unknown user name costs one Argon2id verification, like a known user, and fails.
//! assert_eq!(
//!     password::verify_user("any password", None)?,
//!     Verification::Invalid
//! );
//!
//! // Limits and bad hashes are typed errors.
//! let huge = "x".repeat(password::MAX_PASSWORD_LEN + 1);
//! assert!(matches!(
//!     password::verify_and_upgrade(&huge, &stored),
//!     Err(password::PasswordError::TooLong)
//! ));
//! assert!(matches!(
//!     password::verify_and_upgrade("pw", "plain text"),
//!     Err(password::PasswordError::MalformedHash)
//! ));
//! # Ok::<(), password::PasswordError>(())
//! ```
//!
//! # Stored hashes it accepts
//!
//! | stored hash | verified by | on success |
//! |---|---|---|
//! | `$2a$`, `$2b$`, `$2y$`, `$2x$` + 2-digit cost 04..31 + 53 characters (60 in all) | the `bcrypt` crate | [`Verification::ValidUpgrade`] |
//! | `$argon2id$` PHC string with this crate's parameters or stronger | [`session_core::password`] | [`Verification::Valid`] |
//! | `$argon2id$` PHC string with weaker parameters (`needs_rehash`) | [`session_core::password`] | [`Verification::ValidUpgrade`] |
//! | anything else (`$argon2i$`, `$scrypt$`, plain text, empty, a bcrypt or Argon2id string cut short) | — | [`PasswordError::MalformedHash`] |
//!
//! Every bcrypt hash is upgraded, whatever its cost: bcrypt is here only to bring old users
//! across. `$2a$`, `$2b$` and `$2y$` compute the same thing for the passwords bcrypt reads (at
//! most 72 bytes); `$2x$` (old PHP's marker for hashes made by the buggy pre-2011
//! `crypt_blowfish`) is verified like `$2a$`, so a password with non-ASCII bytes hashed by that
//! bug does not match (it fails closed: [`Verification::Invalid`], never a false match).
//!
//! # Lengths
//!
//! - **Longest password**: [`MAX_PASSWORD_LEN`] (1024) bytes of UTF-8. A longer one is
//!   [`PasswordError::TooLong`] from every function here, checked before the stored hash is even
//!   parsed: a 1 MB password costs a length comparison, not a hash.
//! - **bcrypt reads only the first 72 bytes.** When verifying an imported bcrypt hash, bytes past
//!   the 72nd are ignored, exactly as `bcryptjs` ignored them when it made the hash (the hash
//!   simply does not depend on them), so a 100-byte password and its first 72 bytes both match.
//!   This applies only to old bcrypt hashes: the Argon2id hash that replaces one is made from the
//!   password exactly as typed at that sign-in, and every byte of it counts from then on.
//!   (So the user's password becomes what they typed at the upgrading sign-in; anyone who knew
//!   those 72 bytes could already sign in before the upgrade.)
//! - **Empty passwords are accepted** by [`hash`] and verification: this module stores and
//!   checks secrets, it does not set password rules. Enforce a minimum length (NIST SP 800-63B:
//!   at least 8 characters; 15 without a second factor) where users choose passwords.
//!
//! # Unknown users and timing
//!
//! [`verify_user`] with `None` verifies the password against a dummy Argon2id hash with the
//! current default parameters (made once per process) and answers [`Verification::Invalid`], so
//! an unknown user name costs the same as a known Argon2id user and answers the same. Users not
//! yet migrated still cost bcrypt's time (on the benchmark machine about 75 ms of CPU at cost 10,
//! against 25-30 ms for Argon2id: `cargo xtask bench passwords`), which tells them apart by
//! timing until their first sign-in upgrades them: an attacker can learn which accounts still
//! have an old hash. A successful upgrading sign-in also pays for the new Argon2id hash.
//!
//! # Errors
//!
//! [`PasswordError`] is core's: `TooLong`, `MalformedHash`, `Hashing` (no randomness, out of
//! memory). No error, `Display` or `Debug` output here contains a password or a stored hash;
//! [`Verification`]'s `Debug` shows a new hash's algorithm and parameters only.

use std::fmt;
use std::sync::OnceLock;

use session_core::password as core;

pub use session_core::password::{PasswordError, MAX_PASSWORD_LEN};

/// The result of checking a password against a stored hash.
///
/// `Debug` never shows a hash's salt or digest: `ValidUpgrade { new_hash: "$argon2id$v=19$m=19456,t=2,p=1$…" }`.
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a successful verification may carry a new hash that must be stored"]
pub enum Verification {
    /// The password does not match the stored hash (or the user is unknown, for
    /// [`verify_user`]).
    Invalid,
    /// The password matches and the stored hash is current: nothing to store.
    Valid,
    /// The password matches, and the stored hash is bcrypt or Argon2id with weaker parameters
    /// than [`hash`] uses: store `new_hash` (a fresh Argon2id PHC string) in its place.
    ValidUpgrade {
        /// The Argon2id PHC string to store instead of the old hash.
        new_hash: String,
    },
}

impl Verification {
    /// Whether the password matched ([`Valid`](Self::Valid) or
    /// [`ValidUpgrade`](Self::ValidUpgrade)).
    pub fn is_valid(&self) -> bool {
        !matches!(self, Verification::Invalid)
    }

    /// The hash to store in place of the old one, if the password matched an outdated hash.
    pub fn new_hash(&self) -> Option<&str> {
        match self {
            Verification::ValidUpgrade { new_hash } => Some(new_hash),
            _ => None,
        }
    }
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::Invalid => f.write_str("Invalid"),
            Verification::Valid => f.write_str("Valid"),
            Verification::ValidUpgrade { new_hash } => f
                .debug_struct("ValidUpgrade")
                .field("new_hash", &ParamsOnly(new_hash))
                .finish(),
        }
    }
}

/// A PHC string shown as its algorithm, version and parameters, without salt and digest.
struct ParamsOnly<'a>(&'a str);

impl fmt::Debug for ParamsOnly<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>": keep the first four `$` fields.
        let shown: Vec<&str> = self.0.split('$').take(4).collect();
        write!(f, "\"{}$…\"", shown.join("$"))
    }
}

/// Hashes `password` for storage: always Argon2id with a fresh random salt (see
/// [`session_core::password::hash`]), every byte counted.
///
/// # Errors
///
/// [`PasswordError::TooLong`] past [`MAX_PASSWORD_LEN`] bytes (before any hashing work);
/// [`PasswordError::Hashing`] if no randomness or memory could be had.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_len(password)?;
    core::hash(password)
}

/// Checks `password` against a `stored` hash (bcrypt from an import, or Argon2id), and says
/// whether to replace the stored hash (see the [module docs](self) for which hashes are
/// accepted and what is upgraded).
///
/// A wrong password is `Ok(`[`Verification::Invalid`]`)`. A bcrypt match, or an Argon2id match
/// with weaker parameters than [`hash`]'s, is [`Verification::ValidUpgrade`] with a fresh
/// Argon2id hash of `password`; store it in place of `stored`. For bcrypt only the first 72
/// bytes of `password` are compared (the hash was made from those); the new hash covers all of
/// them.
///
/// # Errors
///
/// [`PasswordError::TooLong`] past [`MAX_PASSWORD_LEN`] bytes, checked first, before `stored`
/// is looked at; [`PasswordError::MalformedHash`] for a hash that is neither a well-formed
/// bcrypt string nor an Argon2id PHC string (never a panic); [`PasswordError::Hashing`] if the
/// password matched but the new hash could not be made.
pub fn verify_and_upgrade(password: &str, stored: &str) -> Result<Verification, PasswordError> {
    check_len(password)?;
    match scheme(stored)? {
        Scheme::Bcrypt => match bcrypt::verify(password, stored) {
            Ok(true) => upgrade(password),
            Ok(false) => Ok(Verification::Invalid),
            Err(_) => Err(PasswordError::MalformedHash),
        },
        Scheme::Argon2id => {
            if !core::verify(password, stored)? {
                Ok(Verification::Invalid)
            } else if core::needs_rehash(stored) {
                upgrade(password)
            } else {
                Ok(Verification::Valid)
            }
        }
    }
}

/// [`verify_and_upgrade`] for a sign-in by user name, where the user may not exist: `stored` is
/// the user's hash, or `None` for an unknown user.
///
/// For `None` the password is verified against a dummy Argon2id hash with the default parameters
/// (made once per process, on first use) and the answer is always [`Verification::Invalid`]:
/// an unknown user costs one Argon2id verification, the same as a known user with a current
/// hash, and looks the same. A user whose stored hash is still bcrypt costs bcrypt's time until
/// their first sign-in upgrades them (see the [module docs](self#unknown-users-and-timing)).
///
/// # Errors
///
/// As [`verify_and_upgrade`]: [`PasswordError::TooLong`] first, for known and unknown users
/// alike; for `None`, [`PasswordError::Hashing`] only if the dummy hash could not be made.
pub fn verify_user(password: &str, stored: Option<&str>) -> Result<Verification, PasswordError> {
    check_len(password)?;
    match stored {
        Some(stored) => verify_and_upgrade(password, stored),
        None => {
            // The answer is discarded: whatever matches the dummy, an unknown user is invalid.
            let _ = std::hint::black_box(core::verify(password, dummy_hash()?));
            Ok(Verification::Invalid)
        }
    }
}

fn check_len(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_LEN {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

fn upgrade(password: &str) -> Result<Verification, PasswordError> {
    Ok(Verification::ValidUpgrade {
        new_hash: core::hash(password)?,
    })
}

/// The hash families a stored string may belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bcrypt,
    Argon2id,
}

/// Which family `stored` belongs to, checking bcrypt's shape strictly here (the `bcrypt` crate
/// tolerates empty `$` fields and other cost spellings; bcryptjs writes none of them).
fn scheme(stored: &str) -> Result<Scheme, PasswordError> {
    if is_argon2id(stored) {
        return Ok(Scheme::Argon2id);
    }
    if is_bcrypt(stored) {
        return Ok(Scheme::Bcrypt);
    }
    Err(PasswordError::MalformedHash)
}

/// `$argon2id$`, an optional `v=` field, the `m=...` parameters, then a non-empty salt and a
/// non-empty digest, and nothing after. The fields themselves are core's (the argon2 crate's) to
/// parse; this only makes a string cut after its salt (a too-short column, say) an error, where
/// the argon2 crate would report every password as wrong.
fn is_argon2id(stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix("$argon2id$") else {
        return false;
    };
    let fields: Vec<&str> = rest.split('$').collect();
    let tail = match fields.first() {
        Some(v) if v.starts_with("v=") => &fields[1..],
        _ => &fields[..],
    };
    matches!(tail, [params, salt, digest]
        if params.starts_with("m=") && !salt.is_empty() && !digest.is_empty())
}

/// `$2a$`/`$2b$`/`$2x$`/`$2y$`, a two-digit cost in 04..=31, `$`, then 53 characters of
/// bcrypt's base64 alphabet (22 of salt, 31 of digest): 60 bytes in all.
fn is_bcrypt(stored: &str) -> bool {
    let b = stored.as_bytes();
    if b.len() != 60 || !b.starts_with(b"$2") || b[3] != b'$' || b[6] != b'$' {
        return false;
    }
    if !matches!(b[2], b'a' | b'b' | b'x' | b'y') {
        return false;
    }
    let (tens, ones) = (b[4], b[5]);
    if !(tens.is_ascii_digit() && ones.is_ascii_digit()) {
        return false;
    }
    let cost = (tens - b'0') * 10 + (ones - b'0');
    (4..=31).contains(&cost)
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
}

/// The dummy hash [`verify_user`] checks unknown users against: a real Argon2id hash with the
/// current default parameters, made on first use and kept for the process.
fn dummy_hash() -> Result<&'static str, PasswordError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(dummy) = DUMMY.get() {
        return Ok(dummy);
    }
    let made = core::hash("session-auth: the dummy password of unknown users")?;
    Ok(DUMMY.get_or_init(|| made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_shape_is_strict() {
        let good = "$2b$04$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUea";
        assert_eq!(scheme(good).unwrap(), Scheme::Bcrypt);
        for prefix in ["$2a$", "$2x$", "$2y$"] {
            let other = format!("{prefix}{}", &good[4..]);
            assert_eq!(scheme(&other).unwrap(), Scheme::Bcrypt);
        }
        for bad in [
            "$2c$04$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUea",
            "$2b$03$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUea",
            "$2b$32$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUea",
            "$2b$4$$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUea",
            "$2b$04$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUe$",
            "$2b$04$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUe",
            "$2$04$MZcszlinRNE16dVNmmRW2ee0qLw53njWmp.aMJOuq1T2xFM5qmUeaa",
        ] {
            assert!(scheme(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn argon2id_shape_needs_salt_and_digest() {
        for good in [
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZGlnZXN0",
            "$argon2id$m=19456,t=2,p=1$c2FsdHNhbHQ$ZGlnZXN0",
        ] {
            assert_eq!(scheme(good).unwrap(), Scheme::Argon2id, "{good}");
        }
        for bad in [
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
            "$argon2id$v=19$m=19456,t=2,p=1$$ZGlnZXN0",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZGlnZXN0$",
            "$argon2id$v=19$t=2$c2FsdHNhbHQ$ZGlnZXN0",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZGlnZXN0",
        ] {
            assert!(scheme(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_parameters_only() {
        let v = Verification::ValidUpgrade {
            new_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0".into(),
        };
        assert_eq!(
            format!("{v:?}"),
            "ValidUpgrade { new_hash: \"$argon2id$v=19$m=19456,t=2,p=1$…\" }"
        );
        assert_eq!(format!("{:?}", Verification::Invalid), "Invalid");
    }
}
