//! The demo's users: a seed file of usernames and Argon2id password hashes.

use std::collections::HashMap;

use serde::Deserialize;

#[derive(Deserialize)]
struct SeedUser {
    username: String,
    password_hash: String,
}

/// Usernames and their password hashes.
pub(crate) struct Users(HashMap<String, String>);

impl Users {
    /// Reads the seed file (a JSON array of `{username, password_hash}`).
    pub(crate) fn load(path: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let seed: Vec<SeedUser> = serde_json::from_slice(&std::fs::read(path)?)?;
        Ok(Users(
            seed.into_iter()
                .map(|u| (u.username, u.password_hash))
                .collect(),
        ))
    }

    /// Whether `password` is this user's. Unknown users cost the same as known ones, so response
    /// times do not reveal which usernames exist.
    pub(crate) fn verify(&self, username: &str, password: &str) -> bool {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2Vzc2lvbi1kZW1vLWR1bW15$3nF3NQ1f1Vb3l2iJqE1r8x8a2B4wWbnR8oQv5jVbQ4k";
        match self.0.get(username) {
            Some(hash) => session_core::password::verify(password, hash).unwrap_or(false),
            None => {
                let _ = session_core::password::verify(password, DUMMY);
                false
            }
        }
    }
}
