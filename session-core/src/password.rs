//! Password hashing with Argon2id (feature `password`), the OWASP Password Storage Cheat Sheet's
//! first choice: 19 MiB of memory, 2 passes, 1 lane, a random 16-byte salt per hash, stored in
//! the PHC string format.
//!
//! ```
//! use session_core::password;
//! let stored = password::hash("correct horse battery staple")?;
//! assert!(password::verify("correct horse battery staple", &stored)?);
//! assert!(!password::verify("Tr0ub4dor&3", &stored)?);
//! assert!(password::verify("x", "not a hash").is_err());
//! # Ok::<(), password::PasswordError>(())
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Longest password accepted, in bytes: bounds the work an attacker can ask for. Unlike bcrypt's
/// silent 72-byte truncation, every byte up to this limit counts.
pub const MAX_PASSWORD_LEN: usize = 1024;

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Why a password could not be hashed or checked. Never contains the password or the hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Longer than [`MAX_PASSWORD_LEN`].
    #[error("password longer than {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    /// The stored hash is not a PHC string this module can verify.
    #[error("stored password hash is malformed or uses an unsupported algorithm")]
    MalformedHash,
    /// Hashing failed (out of memory, no randomness).
    #[error("password hashing failed")]
    Hashing,
}

fn argon2() -> Argon2<'static> {
    // Invariant: these constants are within Argon2's documented parameter ranges.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh random salt; returns the PHC string to store.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| PasswordError::Hashing)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hashing)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Whether `password` matches the stored PHC string (compared in constant time by the argon2
/// crate). A wrong password is `Ok(false)`; a malformed hash is an error.
pub fn verify(password: &str, stored: &str) -> Result<bool, PasswordError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::MalformedHash);
    }
    match argon2().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err(PasswordError::MalformedHash),
    }
}

/// Whether a stored hash uses weaker parameters than this module's, so it should be replaced by
/// a fresh [`hash`] at the next successful login.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() < MEMORY_KIB
        || params.t_cost() < PASSES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_password_twice_gives_different_hashes() {
        let a = hash("pw").unwrap();
        let b = hash("pw").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!needs_rehash(&a));
    }

    #[test]
    fn every_byte_counts_past_72() {
        let base = "a".repeat(72);
        let stored = hash(&format!("{base}1")).unwrap();
        assert!(!verify(&format!("{base}2"), &stored).unwrap());
        assert!(verify(&format!("{base}1"), &stored).unwrap());
    }

    #[test]
    fn limits_and_bad_hashes_are_errors() {
        assert!(matches!(
            hash(&"x".repeat(MAX_PASSWORD_LEN + 1)),
            Err(PasswordError::TooLong)
        ));
        assert!(matches!(
            verify("x", "$2b$10$abcdefghijklmnopqrstuv"),
            Err(PasswordError::MalformedHash)
        ));
        let weak = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy";
        assert!(needs_rehash(weak));
    }
}
