//! Committing: the handle's changes to the store and the `Set-Cookie` ([C5]-[C8], [C18]), with the
//! conflict model that merges a save which lost a race (see the concurrency page of the manual).
//!
//! [C5]: crate::manual::contracts#c5
//! [C8]: crate::manual::contracts#c8
//! [C18]: crate::manual::contracts#c18

use std::fmt;

use crate::codec::{RejectReason, SessionCodec};
use crate::error::SessionError;
use crate::events::{log_failure, log_rejection, Operation};
use crate::id::{SessionId, SessionKey};
use crate::merge::Access;
use crate::policy::ConflictPolicy;
use crate::record::SessionRecord;
use crate::session::Session;
use crate::state::{CommitPlan, Loaded, Origin, Source};
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

use super::{Mode, SessionManager, MAX_ATTEMPTS, MAX_MERGE_ATTEMPTS};

/// What the response must do with the session cookie.
///
/// `Debug` shows the cookie's attributes but never its value (the token or signed id).
#[derive(Clone, PartialEq, Eq)]
pub enum CookieUpdate {
    /// Leave it alone ([C5]).
    ///
    /// [C5]: crate::manual::contracts#c5
    Unchanged,
    /// Send this `Set-Cookie` value (new, refreshed or renewed session).
    Set(String),
    /// Send this removal `Set-Cookie` (destroyed or invalid session).
    Remove(String),
}

impl fmt::Debug for CookieUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `name=value; attributes`: keep the name and the attributes, never the value.
        let redacted = |header: &str| match header.split_once('=') {
            Some((name, rest)) => {
                let attributes = rest.split_once(';').map_or("", |(_, a)| a);
                format!("{name}=<redacted>;{attributes}")
            }
            None => "<redacted>".to_owned(),
        };
        match self {
            CookieUpdate::Unchanged => f.write_str("Unchanged"),
            CookieUpdate::Set(v) => f.debug_tuple("Set").field(&redacted(v)).finish(),
            CookieUpdate::Remove(v) => f.debug_tuple("Remove").field(&redacted(v)).finish(),
        }
    }
}

impl CookieUpdate {
    /// The `Set-Cookie` header value to send, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// assert_eq!(manager.commit(&session).await?.header_value(), None, "nothing to send");
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("theme", "dark")?;
    /// let update = manager.commit(&session).await?;
    /// assert!(update.header_value().is_some_and(|h| h.starts_with("session=")));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn header_value(&self) -> Option<&str> {
        match self {
            CookieUpdate::Unchanged => None,
            CookieUpdate::Set(v) | CookieUpdate::Remove(v) => Some(v),
        }
    }
}

impl SessionManager {
    /// Writes what the handler changed and says what to do with the cookie ([C5]-[C8]).
    ///
    /// Nothing changed and no refresh due: no store call and [`CookieUpdate::Unchanged`] ([C5]). A
    /// session made during the request is created; a loaded one is saved, renewed or deleted, all
    /// conditionally on the version it was loaded at. A save that lost a race to another request is
    /// merged when the two did not touch the same keys, and refused with [`SessionError::Conflict`]
    /// when they did (unless the policy says [`ConflictPolicy::LastWriteWins`]); a commit that only
    /// refreshes the session never fails for a race (see the concurrency page of the manual).
    ///
    /// A handle is committed once: committing it again (e.g. a middleware attached twice) returns
    /// [`CookieUpdate::Unchanged`] and touches no store.
    ///
    /// A failure is logged once, here: one `tracing` event at WARN, message `session operation
    /// failed`, with the fields `operation = "commit"`, `status` (the error's
    /// [`status_code`](SessionError::status_code)) and `error` (its `Display`: never an id, a token
    /// or a key). Adapters need not log it again.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{testing::{FaultyStore, StoreOp}, CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
    /// let store = FaultyStore::new(MemoryStore::new());
    /// let switch = store.switch();
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, store).build();
    ///
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("theme", "dark")?;
    /// assert!(matches!(manager.commit(&session).await?, CookieUpdate::Set(_)));
    /// assert_eq!(manager.commit(&session).await?, CookieUpdate::Unchanged, "committed once");
    ///
    /// switch.fail(StoreOp::Create); // the engine is gone
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("theme", "dark")?;
    /// assert_eq!(manager.commit(&session).await.unwrap_err().status_code(), 503);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// - [`SessionError::Store`] when the store fails to create, save, renew or delete the record,
    ///   or to reload it after a lost race (transient failures map to 503, the rest to 500);
    ///   also when a new id collided with a stored one three times in a row.
    /// - [`SessionError::Conflict`] (409) when another request changed a key this one read or wrote
    ///   and the policy is [`ConflictPolicy::Reject`], or when a save or renew kept losing races.
    /// - [`SessionError::CookieTooLarge`] when the cookie would exceed 4096 bytes (a stateless
    ///   session with too much data, [C10]).
    /// - [`SessionError::Encode`] when the codec cannot encode the session (serialising or signing
    ///   failed).
    ///
    /// After an error the client's cookie is left alone, and what the store held before stays.
    ///
    /// [C5]: crate::manual::contracts#c5
    /// [C8]: crate::manual::contracts#c8
    /// [C10]: crate::manual::contracts#c10
    pub async fn commit(&self, session: &Session) -> Result<CookieUpdate, SessionError> {
        let Some(plan) = session.take_for_commit() else {
            return Ok(CookieUpdate::Unchanged);
        };
        let committed = self.carry_out(plan).await;
        if let Err(error) = &committed {
            log_failure(Operation::Commit, error);
        }
        committed
    }

    /// Carries out a handle's [`CommitPlan`]: one arm per plan.
    async fn carry_out(&self, plan: CommitPlan) -> Result<CookieUpdate, SessionError> {
        let now = self.now();
        match plan {
            CommitPlan::Nothing => Ok(CookieUpdate::Unchanged),
            CommitPlan::RemoveCookie { delete } => {
                if let Some(key) = delete {
                    self.delete_destroyed(&key).await?;
                }
                Ok(self.removal())
            }
            CommitPlan::Create { delete, id, record } => {
                if let Some(key) = delete {
                    self.delete_destroyed(&key).await?;
                }
                self.create(id, record, now).await
            }
            CommitPlan::Renew { loaded, changed } => {
                let old_key = loaded.record.key;
                let update = self.renew(loaded, changed, now).await?;
                tracing::debug!(session = %old_key.fingerprint(), "session renewed");
                Ok(update)
            }
            CommitPlan::Save { loaded, extend } => self.update(loaded, true, extend, now).await,
            CommitPlan::Refresh { loaded, extend } => self.update(loaded, false, extend, now).await,
        }
    }

    /// [`commit`](Self::commit) after a response with HTTP `status`: a server error (5xx)
    /// discards the request's session changes, so a sign-in that failed half-way leaves no
    /// session behind, unless the policy's
    /// [`commit_on_server_error`](crate::config::SessionPolicy::commit_on_server_error) says otherwise
    /// ([C18]). Adapters call this one.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("cart", 3)?;
    /// // The handler failed after writing: nothing is stored, no cookie is sent.
    /// assert_eq!(manager.commit_for_status(&session, 500).await?, CookieUpdate::Unchanged);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`commit`](Self::commit) (which also logs the failure) for any status but a discarded
    /// 5xx; discarding never fails.
    ///
    /// [C18]: crate::manual::contracts#c18
    pub async fn commit_for_status(
        &self,
        session: &Session,
        status: u16,
    ) -> Result<CookieUpdate, SessionError> {
        if (500..600).contains(&status) && !self.0.policy.commit_on_server_error() {
            if session.take_for_commit().is_some() {
                tracing::debug!(status, "session changes discarded after a server error");
            }
            return Ok(CookieUpdate::Unchanged);
        }
        self.commit(session).await
    }

    /// The removal `Set-Cookie` ([C7]).
    ///
    /// [C7]: crate::manual::contracts#c7
    fn removal(&self) -> CookieUpdate {
        CookieUpdate::Remove(self.0.policy.cookie().removal_cookie())
    }

    /// Ends a session the request destroyed: deletes its record (stateful), or, in stateless
    /// mode with a revocation store, revokes its token (its `jti`) until the token would have
    /// expired anyway, so the logged-out cookie replayed is no session ([S-24]). Without a
    /// revocation store a stateless token stays valid until it expires: only the browser's copy
    /// is removed.
    ///
    /// [S-24]: crate::manual::security
    async fn delete_destroyed(&self, key: &SessionKey) -> Result<(), SessionError> {
        match &self.0.mode {
            Mode::Stateful { store, .. } => store.delete(key).await?,
            Mode::Stateless {
                revocations: Some(store),
                ..
            } => self.revoke_token(&**store, key, self.now()).await?,
            Mode::Stateless {
                revocations: None, ..
            } => {}
        }
        tracing::debug!(session = %key.fingerprint(), "session destroyed");
        Ok(())
    }

    /// A save (`changed`) or a bookkeeping-only refresh of a loaded session: `last_seen_at` moves
    /// to now, the expiry too when `extend`; then the token is re-issued (stateless) or the record
    /// saved with the conflict model and the cookie re-issued if its lifetime moved (stateful).
    async fn update(
        &self,
        loaded: Loaded,
        changed: bool,
        extend: bool,
        now: UnixTime,
    ) -> Result<CookieUpdate, SessionError> {
        let Loaded {
            mut record,
            origin,
            access,
        } = loaded;
        let write = Write::new(&access, changed, &origin, now);
        record.last_seen_at = now;
        if extend {
            record.expires_at = self.0.policy.expiry_from(&record, now);
        }
        match &self.0.mode {
            Mode::Stateless { codec, revocations } => {
                self.issue_record(
                    &**codec,
                    revocations.as_deref(),
                    record,
                    write.revocation_checked(),
                    now,
                )
                .await
            }
            Mode::Stateful { codec, store } => {
                let Some(saved) = self.save(&**store, record, &write).await? else {
                    log_rejection(RejectReason::UnknownId);
                    return Ok(self.removal());
                };
                // The cookie lives as long as the session: re-issue it whenever the deadline
                // moved (a refresh, or a write that pushed the idle deadline), or the id was
                // signed with an old key.
                let moved = origin.deadline != self.0.policy.deadline(&saved);
                if extend || origin.stale_key || moved {
                    let Source::Store { id } = &origin.source else {
                        // Invariant: a record loaded in stateful mode came from the store.
                        unreachable!("a stored session has an id");
                    };
                    self.issue(&**codec, id, &saved, now)
                } else {
                    Ok(CookieUpdate::Unchanged)
                }
            }
        }
    }

    /// A `Set-Cookie` carrying `payload`, living exactly as long as `record` has left ([S-21]).
    ///
    /// [S-21]: crate::manual::contracts#s-21
    fn issue<P: 'static>(
        &self,
        codec: &dyn SessionCodec<Payload = P>,
        payload: &P,
        record: &SessionRecord,
        now: UnixTime,
    ) -> Result<CookieUpdate, SessionError> {
        let value = codec.encode(payload, now)?;
        let max_age = self
            .0
            .policy
            .deadline(record)
            .saturating_duration_since(now);
        Ok(CookieUpdate::Set(
            self.0.policy.cookie().set_cookie(&value, max_age)?,
        ))
    }

    /// A stateless token for `record`. With a revocation store and a signed-in user, the token's
    /// issue time (`last_seen_at`) is placed after the user's last "log out everywhere" when that
    /// fell in this very second, so the revocation refuses exactly the tokens issued before it
    /// (whole-second times could not tell them apart otherwise).
    async fn issue_record(
        &self,
        codec: &dyn SessionCodec<Payload = SessionRecord>,
        revocations: Option<&dyn SessionStore>,
        mut record: SessionRecord,
        checked_at_load: Option<Option<UnixTime>>,
        now: UnixTime,
    ) -> Result<CookieUpdate, SessionError> {
        if let (Some(store), Some(user)) = (revocations, &record.user_id) {
            // A session that came with its user was checked against the marker at load
            // (`checked_at_load`): that answer stands, so a request that began before a
            // revocation issues a revoked token. A new session, or one whose user signed in
            // during this request, is checked now.
            let not_before = match checked_at_load {
                Some(checked) => checked,
                None => self.not_before(store, user, now).await?,
            };
            if let Some(nb) = not_before.filter(|nb| record.last_seen_at <= *nb) {
                record.last_seen_at = nb + std::time::Duration::from_secs(1);
            }
        }
        self.issue(codec, &record, &record, now)
    }

    async fn create(
        &self,
        mut id: SessionId,
        mut record: SessionRecord,
        now: UnixTime,
    ) -> Result<CookieUpdate, SessionError> {
        match &self.0.mode {
            Mode::Stateless { codec, revocations } => {
                self.issue_record(&**codec, revocations.as_deref(), record, None, now)
                    .await
            }
            Mode::Stateful { codec, store } => {
                for attempt in 1..=MAX_ATTEMPTS {
                    match store.create(&record).await {
                        Ok(()) => break,
                        Err(StoreError::Collision) if attempt < MAX_ATTEMPTS => {
                            id = SessionId::generate();
                            record.key = id.key();
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                tracing::debug!(session = %record.key.fingerprint(), "session created");
                self.issue(&**codec, &id, &record, now)
            }
        }
    }

    /// [C6]: a new id with the same data, moved from the old one in one conditional store step
    /// ([S-06]), so a logout or "log out everywhere" that landed meanwhile is never undone under
    /// the new id, and a concurrent save is merged or refused like any other ([C8]).
    ///
    /// [C6]: crate::manual::contracts#c6
    /// [S-06]: crate::manual::contracts#s-06
    /// [C8]: crate::manual::contracts#c8
    async fn renew(
        &self,
        loaded: Loaded,
        changed: bool,
        now: UnixTime,
    ) -> Result<CookieUpdate, SessionError> {
        let Loaded {
            mut record,
            origin,
            access,
        } = loaded;
        let write = &Write::new(&access, changed, &origin, now);
        let old_key = record.key;
        let mut new_id = SessionId::generate();
        self.prepare_renewed(&mut record, &new_id, now);
        let (codec, store) = match &self.0.mode {
            Mode::Stateless { codec, revocations } => {
                return self
                    .issue_record(
                        &**codec,
                        revocations.as_deref(),
                        record,
                        write.revocation_checked(),
                        now,
                    )
                    .await;
            }
            Mode::Stateful { codec, store } => (codec, store),
        };
        let _turn = self.0.commit_locks.turn(&old_key).await;
        let mut expected = write.loaded_version;
        for _ in 0..MAX_MERGE_ATTEMPTS {
            match store.renew(&old_key, expected, &record).await {
                Ok(()) => return self.issue(&**codec, &new_id, &record, now),
                Err(StoreError::NotFound) => {
                    log_rejection(RejectReason::UnknownId);
                    return Ok(self.removal());
                }
                Err(StoreError::Collision) => {
                    new_id = SessionId::generate();
                    record.key = new_id.key();
                }
                Err(StoreError::Conflict) => {
                    let Some(current) = store.load(&old_key, now).await? else {
                        log_rejection(RejectReason::UnknownId);
                        return Ok(self.removal());
                    };
                    expected = current.version;
                    record = self.rebase(write, &record, &current)?.record;
                    self.prepare_renewed(&mut record, &new_id, now);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(SessionError::Conflict)
    }

    fn prepare_renewed(&self, record: &mut SessionRecord, id: &SessionId, now: UnixTime) {
        record.key = id.key();
        record.version = 1;
        record.last_seen_at = now;
        record.expires_at = self.0.policy.expiry_from(record, now);
    }

    /// Saves `record` (loaded at `write.loaded_version`) with the conflict model ([C8]): a save
    /// that lost a race reloads the other writer's record and merges into it, or fails with a
    /// conflict when they overlap and the policy rejects. `Ok(None)`: the record was deleted
    /// meanwhile. Returns the record as stored.
    ///
    /// [C8]: crate::manual::contracts#c8
    async fn save(
        &self,
        store: &dyn SessionStore,
        mut record: SessionRecord,
        write: &Write<'_>,
    ) -> Result<Option<SessionRecord>, SessionError> {
        let mut last_saved = self.0.commit_locks.turn(&record.key).await;
        let mut expected = write.loaded_version;
        // This process saved a later version since the request loaded it: a save would only
        // fail, so merge onto that record first.
        let mut known = last_saved
            .as_ref()
            .filter(|saved| saved.key == record.key && saved.version > expected)
            .cloned();
        let mut contended = known.is_some();
        for _ in 0..MAX_MERGE_ATTEMPTS {
            let current = match known.take() {
                Some(current) => current,
                None => {
                    record.version = expected + 1;
                    match store.save(&record, expected).await {
                        Ok(()) => {
                            if contended {
                                *last_saved = Some(record.clone());
                            }
                            return Ok(Some(record));
                        }
                        Err(StoreError::NotFound) => return Ok(None),
                        Err(StoreError::Conflict) => contended = true,
                        Err(e) => return Err(e.into()),
                    }
                    let Some(current) = store.load(&record.key, write.now).await? else {
                        return Ok(None);
                    };
                    current
                }
            };
            let rebased = self.rebase(write, &record, &current)?;
            if !rebased.needs_write {
                return Ok(Some(current));
            }
            expected = current.version;
            record = rebased.record;
        }
        Err(SessionError::Conflict)
    }

    /// This request's changes on top of `current`, the record another request saved since this
    /// one loaded: merged when they touched different keys (or this request only refreshed),
    /// a conflict when they overlap and the policy rejects ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    fn rebase(
        &self,
        write: &Write<'_>,
        ours: &SessionRecord,
        current: &SessionRecord,
    ) -> Result<Rebased, SessionError> {
        if write.changed
            && self.0.policy.on_conflict() == ConflictPolicy::Reject
            && write.access.overlaps(current)
        {
            return Err(SessionError::Conflict);
        }
        let record = write.access.apply(ours, current);
        // A refresh the other writer already covered needs no second write.
        let needs_write = write.changed
            || record.expires_at > current.expires_at
            || record.last_seen_at > current.last_seen_at;
        Ok(Rebased {
            record,
            needs_write,
        })
    }
}

/// What a commit of a loaded session needs besides the record.
struct Write<'a> {
    access: &'a Access,
    /// The handler changed something besides bookkeeping.
    changed: bool,
    loaded_version: u64,
    /// See [`Source::Token`]: the load-time revocation check, stateless mode only.
    not_before: Option<Option<UnixTime>>,
    now: UnixTime,
}

impl<'a> Write<'a> {
    fn new(access: &'a Access, changed: bool, origin: &Origin, now: UnixTime) -> Self {
        let not_before = match origin.source {
            Source::Token { not_before } => not_before,
            Source::Store { .. } => None,
        };
        Write {
            access,
            changed,
            loaded_version: origin.version,
            not_before,
            now,
        }
    }

    /// The load-time revocation check that still holds for this write: none once the request
    /// signed a user in.
    fn revocation_checked(&self) -> Option<Option<UnixTime>> {
        self.not_before.filter(|_| !self.access.changed_identity())
    }
}

/// A record rebased on another writer's.
struct Rebased {
    record: SessionRecord,
    /// Whether it differs from the other writer's record in anything worth a save.
    needs_write: bool,
}
