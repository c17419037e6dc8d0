//! A user's sessions: listing them, "log out everywhere" ([C9]), and in stateless mode the
//! per-user "not before" markers that revoke tokens already issued.
//!
//! [C9]: crate::manual::contracts#c9

use serde_json::json;

use crate::error::SessionError;
use crate::id::{SessionKey, UserId};
use crate::record::SessionRecord;
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

use super::{Mode, SessionManager, MAX_ATTEMPTS};

impl SessionManager {
    /// The live sessions of `user` (stateful mode; stateless sessions are not listed anywhere, so
    /// this is empty there).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager, UserId};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::new(None, Some("Firefox"))).await?;
    /// session.login(UserId::new("alice"));
    /// manager.commit(&session).await?;
    /// let records = manager.list_user_sessions(&UserId::new("alice")).await?;
    /// assert_eq!(records.len(), 1);
    /// assert_eq!(records[0].metadata.user_agent.as_deref(), Some("Firefox"));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to list them (transient failures map to 503).
    pub async fn list_user_sessions(
        &self,
        user: &UserId,
    ) -> Result<Vec<SessionRecord>, SessionError> {
        match &self.0.mode {
            Mode::Stateful { store, .. } => Ok(store.list_for_user(user, self.now()).await?),
            Mode::Stateless { .. } => Ok(Vec::new()),
        }
    }

    /// Ends every session of `user` ([C9]): deletes them (stateful) or records a "not before" time
    /// that rejects every token issued earlier (stateless, needs a revocation store). Returns how
    /// many stored sessions were deleted (0 in stateless mode).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager, UserId};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.login(UserId::new("alice"));
    /// let CookieUpdate::Set(cookie) = manager.commit(&session).await? else { panic!() };
    /// let cookie = cookie.split(';').next().unwrap();
    ///
    /// assert_eq!(manager.log_out_everywhere(&UserId::new("alice")).await?, 1);
    /// let session = manager.load_from_header(Some(cookie), RequestContext::default()).await?;
    /// assert!(!session.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// - [`SessionError::Store`] when the store (stateful) or the revocation store (stateless)
    ///   fails.
    /// - [`SessionError::NoRevocationStore`] in stateless mode without a
    ///   [`revocation_store`](crate::adapter::SessionManagerBuilder::revocation_store).
    /// - [`SessionError::Conflict`] when writing the stateless "not before" marker kept losing
    ///   races to other writers of the same marker.
    ///
    /// [C9]: crate::manual::contracts#c9
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

    /// The key under which the revocation store remembers one destroyed stateless token.
    fn revoked_token_key(key: &SessionKey) -> SessionKey {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"session-core revoked token\0")
            .chain_update(key.as_bytes())
            .finalize();
        SessionKey::from_bytes(digest.into())
    }

    /// Revokes the stateless token whose `jti` is `key`: an entry in the revocation store that
    /// outlives every token with that `jti` (the longest one expires one lifetime after its
    /// last refresh, at most `now + longest_lifetime`).
    pub(super) async fn revoke_token(
        &self,
        store: &dyn SessionStore,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<(), SessionError> {
        let lifetime = self.0.policy.longest_lifetime();
        let entry = SessionRecord::new(
            Self::revoked_token_key(key),
            now,
            now + lifetime + std::time::Duration::from_secs(60),
        );
        match store.create(&entry).await {
            Ok(()) | Err(StoreError::Collision) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the stateless token whose `jti` is `key` was revoked by a logout.
    pub(super) async fn is_token_revoked(
        &self,
        store: &dyn SessionStore,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<bool, SessionError> {
        Ok(store
            .load(&Self::revoked_token_key(key), now)
            .await?
            .is_some())
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
