//! A user's sessions: listing them, "log out everywhere" (C9), and in stateless mode the
//! per-user "not before" markers that revoke tokens already issued.

use serde_json::json;

use crate::error::SessionError;
use crate::id::{SessionKey, UserId};
use crate::record::SessionRecord;
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

use super::{Mode, SessionManager, MAX_ATTEMPTS};

impl SessionManager {
    /// The live sessions of `user` (stateful mode; stateless sessions are not listed anywhere).
    pub async fn list_user_sessions(
        &self,
        user: &UserId,
    ) -> Result<Vec<SessionRecord>, SessionError> {
        match &self.0.mode {
            Mode::Stateful { store, .. } => Ok(store.list_for_user(user, self.now()).await?),
            Mode::Stateless { .. } => Ok(Vec::new()),
        }
    }

    /// Ends every session of `user` (C9): deletes them (stateful) or records a "not before" time
    /// that rejects every token issued earlier (stateless, needs a revocation store).
    pub async fn log_out_everywhere(&self, user: &UserId) -> Result<u64, SessionError> {
        let now = self.now();
        let ended = match &self.0.mode {
            Mode::Stateful { store, .. } => store.delete_for_user(user).await?,
            Mode::Stateless {
                revocations: None, ..
            } => return Err(SessionError::NoRevocationStore),
            Mode::Stateless {
                revocations: Some(store),
                ..
            } => {
                self.revoke_before(&**store, user, now).await?;
                0
            }
        };
        tracing::info!(ended, "user logged out everywhere");
        Ok(ended)
    }

    /// The key of a user's "not before" marker in the revocation store.
    fn marker_key(user: &UserId) -> SessionKey {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"session-core not-before\0")
            .chain_update(user.as_str().as_bytes())
            .finalize();
        SessionKey::from_bytes(digest.into())
    }

    /// The time of `user`'s last "log out everywhere", from the revocation store.
    pub(super) async fn not_before(
        &self,
        store: &dyn SessionStore,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, SessionError> {
        let marker = store.load(&Self::marker_key(user), now).await?;
        Ok(marker
            .and_then(|m| m.data.get("not_before").and_then(serde_json::Value::as_u64))
            .map(UnixTime::from_secs))
    }

    async fn revoke_before(
        &self,
        store: &dyn SessionStore,
        user: &UserId,
        now: UnixTime,
    ) -> Result<(), SessionError> {
        let key = Self::marker_key(user);
        // The marker must outlive every token issued before now: the longest such token expires
        // one lifetime from its last refresh, at most `now + longest_lifetime` (which covers
        // "remember me" lifetimes too).
        let lifetime = self.0.policy.longest_lifetime();
        let mut marker = SessionRecord::new(
            key,
            now,
            now + lifetime + std::time::Duration::from_secs(60),
        );
        marker
            .data
            .insert("not_before".into(), json!(now.as_secs()));
        for _ in 0..MAX_ATTEMPTS {
            match store.load(&key, now).await? {
                None => match store.create(&marker).await {
                    Ok(()) => return Ok(()),
                    Err(StoreError::Collision) => continue,
                    Err(e) => return Err(e.into()),
                },
                Some(current) => {
                    marker.version = current.version + 1;
                    match store.save(&marker, current.version).await {
                        Ok(()) => return Ok(()),
                        Err(StoreError::Conflict | StoreError::NotFound) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(SessionError::Conflict)
    }
}
