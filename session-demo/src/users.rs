//! The demo's users: usernames and password hashes. The seed file (`users.json`) holds bcrypt
//! hashes made by the npm `bcryptjs` package at cost 10, as the Next.js app this replaces made
//! them; the first successful sign-in replaces a user's bcrypt hash with an Argon2id one, kept in
//! the data directory's `users.json` (the seed file is never written).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use session_adapters::auth::password::{self, Verification};

#[derive(Deserialize, Serialize)]
struct StoredUser {
    username: String,
    password_hash: String,
}

/// Usernames and their password hashes, and where upgrades are written.
pub(crate) struct Users {
    hashes: Mutex<HashMap<String, String>>,
    path: PathBuf,
}

/// What a sign-in attempt gave.
pub(crate) enum SignIn {
    /// Unknown user or wrong password (the two are not told apart).
    Refused,
    /// Signed in; the stored hash was current.
    Ok,
    /// Signed in, and the old hash (bcrypt, or weak Argon2id) was replaced by Argon2id.
    Upgraded,
}

impl Users {
    /// The users of `data_dir/users.json`, or of `seed` the first time (a JSON array of
    /// `{username, password_hash}`).
    pub(crate) fn load(
        seed: &Path,
        data_dir: &Path,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let path = data_dir.join("users.json");
        let source = if path.exists() { path.as_path() } else { seed };
        let stored: Vec<StoredUser> = serde_json::from_slice(&std::fs::read(source)?)?;
        Ok(Users {
            hashes: Mutex::new(
                stored
                    .into_iter()
                    .map(|u| (u.username, u.password_hash))
                    .collect(),
            ),
            path,
        })
    }

    fn hashes(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.hashes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `username`'s hash scheme as the dashboard shows it: `bcrypt (cost 10)`, `argon2id`.
    pub(crate) fn scheme(&self, username: &str) -> Option<String> {
        let hashes = self.hashes();
        let hash = hashes.get(username)?;
        Some(match hash.split('$').collect::<Vec<_>>().as_slice() {
            ["", "2a" | "2b" | "2y", cost, ..] => format!("bcrypt (cost {cost})"),
            ["", "argon2id", _, params, ..] => format!("argon2id ({params})"),
            _ => "unknown".to_owned(),
        })
    }

    /// Checks `password`, upgrading an old hash on success. Unknown users cost the same as
    /// known ones with a current hash, so response times do not reveal which usernames exist.
    pub(crate) fn sign_in(&self, username: &str, password: &str) -> SignIn {
        let stored = self.hashes().get(username).cloned();
        match password::verify_user(password, stored.as_deref()) {
            Ok(Verification::Valid) => SignIn::Ok,
            Ok(Verification::ValidUpgrade { new_hash }) => {
                self.hashes().insert(username.to_owned(), new_hash);
                if let Err(e) = self.save() {
                    tracing::warn!(error = %e, "could not keep the upgraded password hash");
                }
                tracing::info!(user = username, "password hash upgraded to Argon2id");
                SignIn::Upgraded
            }
            Ok(Verification::Invalid) => SignIn::Refused,
            Err(e) => {
                tracing::info!(error = %e, "password refused");
                SignIn::Refused
            }
        }
    }

    fn save(&self) -> std::io::Result<()> {
        let mut users: Vec<StoredUser> = self
            .hashes()
            .iter()
            .map(|(username, hash)| StoredUser {
                username: username.clone(),
                password_hash: hash.clone(),
            })
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        let json = serde_json::to_vec_pretty(&users).map_err(std::io::Error::other)?;
        let temp = self.path.with_extension("json.tmp");
        std::fs::write(&temp, json)?;
        std::fs::rename(temp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_bcrypt_user_is_upgraded_once_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/users.json"));
        let users = Users::load(seed, dir.path()).expect("seed");
        assert_eq!(users.scheme("alice").as_deref(), Some("bcrypt (cost 10)"));
        assert!(matches!(users.sign_in("alice", "wrong"), SignIn::Refused));
        assert!(matches!(
            users.sign_in("nobody", "wonderland"),
            SignIn::Refused
        ));
        assert!(matches!(
            users.sign_in("alice", "wonderland"),
            SignIn::Upgraded
        ));
        assert!(matches!(users.sign_in("alice", "wonderland"), SignIn::Ok));
        assert!(users
            .scheme("alice")
            .expect("alice")
            .starts_with("argon2id"));

        let reloaded = Users::load(seed, dir.path()).expect("kept");
        assert!(reloaded
            .scheme("alice")
            .expect("alice")
            .starts_with("argon2id"));
        assert_eq!(reloaded.scheme("bob").as_deref(), Some("bcrypt (cost 10)"));
    }
}
