//! [`SessionManager`]: the framework-agnostic engine. Adapters call [`SessionManager::load`] with
//! the request's `Cookie` header and [`SessionManager::commit`] with the handle after the handler,
//! and write the returned [`CookieUpdate`]. Everything else is decided here.

use std::fmt;
use std::sync::Arc;

use serde_json::json;

#[cfg(doc)]
use crate::codec::JwtCodec;
use crate::codec::{EncodeError, RejectReason, SessionCodec, SignedIdCodec};
use crate::guard::AccessGuard;
use crate::id::{SessionId, SessionKey, UserId};
use crate::key::Secret;
use crate::merge::Access;
use crate::policy::{ConflictPolicy, CookieTooLarge, Policy, SessionPolicy};
use crate::record::SessionRecord;
use crate::session::{RequestContext, Session, State};
use crate::store::{SessionStore, StoreError};
use crate::time::{Clock, SystemClock, UnixTime};

/// How many times a create is retried on an id collision (astronomically unlikely with 256-bit
/// ids), or a revocation marker on a race, before giving up.
const MAX_ATTEMPTS: usize = 3;
/// How many times a save or renew that lost a race reloads, merges and tries again (C8). Every
/// lost race means another request's save won, so with N concurrent writers of one session a
/// request retries at most N - 1 times; the bound only stops a pathological hot spot.
const MAX_MERGE_ATTEMPTS: usize = 256;

/// What the response must do with the session cookie.
///
/// `Debug` shows the cookie's attributes but never its value (the token or signed id).
#[derive(Clone, PartialEq, Eq)]
pub enum CookieUpdate {
    /// Leave it alone (C5).
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
    pub fn header_value(&self) -> Option<&str> {
        match self {
            CookieUpdate::Unchanged => None,
            CookieUpdate::Set(v) | CookieUpdate::Remove(v) => Some(v),
        }
    }
}

/// Why loading or committing a session failed. Invalid cookies are not errors (they give an empty
/// session, C2); these are failures of the system. `Display` never shows ids, tokens or keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed; see [`StoreError::is_transient`].
    #[error(transparent)]
    Store(StoreError),
    /// Another request saved the session first and the policy rejects late writes (C8).
    #[error("the session was changed by a concurrent request")]
    Conflict,
    /// The session no longer fits in a cookie (stateless mode, C10).
    #[error(transparent)]
    CookieTooLarge(#[from] CookieTooLarge),
    /// The session could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// "Log out everywhere" in stateless mode needs a revocation store.
    #[error("log out everywhere needs a revocation store in stateless mode")]
    NoRevocationStore,
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => SessionError::Conflict,
            other => SessionError::Store(other),
        }
    }
}

impl SessionError {
    /// The HTTP status adapters answer with: 503 for a transient store failure (C14), 409 for a
    /// conflict (C8), 500 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            SessionError::Store(e) if e.is_transient() => 503,
            SessionError::Conflict => 409,
            _ => 500,
        }
    }
}

pub(crate) fn log_rejection(reason: RejectReason) {
    tracing::info!(reason = reason.as_str(), "session cookie rejected");
}

enum Mode {
    Stateless {
        codec: Arc<dyn SessionCodec<Payload = SessionRecord>>,
        revocations: Option<Arc<dyn SessionStore>>,
    },
    Stateful {
        codec: Arc<dyn SessionCodec<Payload = SessionId>>,
        store: Arc<dyn SessionStore>,
    },
}

struct Inner {
    mode: Mode,
    policy: Arc<dyn SessionPolicy>,
    clock: Arc<dyn Clock>,
    guard: AccessGuard,
}

/// Loads and commits sessions; one per application, cheap to clone.
///
/// Stateless or stateful is one line:
///
/// ```
/// use session_core::{JwtCodec, MemoryStore, Secret, SessionManager};
/// let secret = Secret::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec())?;
/// let stateless = SessionManager::stateless(JwtCodec::hs256(&secret)?).build();
/// let stateful = SessionManager::stateful(&secret, MemoryStore::new()).build();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A request's life, as an adapter drives it:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
/// let secret = Secret::from_bytes(vec![7u8; 32])?;
/// let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
///
/// let session = manager.load(None, RequestContext::default()).await?;   // no cookie
/// session.insert("visits", 1)?;                                           // the handler
/// let CookieUpdate::Set(set_cookie) = manager.commit(&session).await? else { panic!() };
///
/// let cookie = set_cookie.split(';').next().unwrap();                    // the browser
/// let session = manager.load_from_header(Some(cookie), RequestContext::default()).await?;
/// assert_eq!(session.get::<u32>("visits")?, Some(1));
/// assert_eq!(manager.commit(&session).await?, CookieUpdate::Unchanged); // nothing changed
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct SessionManager(Arc<Inner>);

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.0.mode {
            Mode::Stateless { codec, .. } => format!("stateless({codec:?})"),
            Mode::Stateful { store, .. } => format!("stateful({store:?})"),
        };
        f.debug_struct("SessionManager")
            .field("mode", &mode)
            .field("policy", &self.0.policy)
            .finish()
    }
}

/// Builds a [`SessionManager`].
pub struct SessionManagerBuilder {
    mode: Mode,
    policy: Arc<dyn SessionPolicy>,
    clock: Arc<dyn Clock>,
    guard: AccessGuard,
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SessionManagerBuilder {
    /// The lifetime and cookie policy (default [`Policy::default`]).
    pub fn policy(mut self, policy: impl SessionPolicy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Where "now" comes from (default the system clock; tests inject a mock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Stateless mode: keep per-user "not before" times in `store`, so "log out everywhere"
    /// revokes tokens already issued (C9, S-24). Costs one store read per request with a
    /// signed-in user. Without it, stateless tokens live until they expire.
    pub fn revocation_store(mut self, store: impl SessionStore) -> Self {
        if let Mode::Stateless { revocations, .. } = &mut self.mode {
            *revocations = Some(Arc::new(store));
        }
        self
    }

    /// Stateful mode: replace the signed-id codec (e.g. one with older keys for rotation).
    pub fn signed_ids(mut self, signed_ids: SignedIdCodec) -> Self {
        if let Mode::Stateful { codec, .. } = &mut self.mode {
            *codec = Arc::new(signed_ids);
        }
        self
    }

    /// Where the session guard sends signed-out page requests, and which paths are APIs that get
    /// 401 instead (see [`AccessGuard`]).
    pub fn guard(mut self, guard: AccessGuard) -> Self {
        self.guard = guard;
        self
    }

    /// The manager.
    pub fn build(self) -> SessionManager {
        SessionManager(Arc::new(Inner {
            mode: self.mode,
            policy: self.policy,
            clock: self.clock,
            guard: self.guard,
        }))
    }
}

impl SessionManager {
    fn builder_for(mode: Mode) -> SessionManagerBuilder {
        SessionManagerBuilder {
            mode,
            policy: Arc::new(Policy::default()),
            clock: Arc::new(SystemClock),
            guard: AccessGuard::default(),
        }
    }

    /// Stateless sessions: the whole record travels in the cookie, signed by `codec`
    /// ([`JwtCodec`], or any codec carrying whole records).
    pub fn stateless(codec: impl SessionCodec<Payload = SessionRecord>) -> SessionManagerBuilder {
        Self::builder_for(Mode::Stateless {
            codec: Arc::new(codec),
            revocations: None,
        })
    }

    /// Stateful sessions: a signed id in the cookie (tag key derived from `secret`), the record in
    /// `store`. To share the store with other code (an admin page, a test), pass an `Arc` of it:
    /// `Arc<S>` and `Arc<dyn SessionStore>` are stores too.
    pub fn stateful(secret: &Secret, store: impl SessionStore) -> SessionManagerBuilder {
        Self::builder_for(Mode::Stateful {
            codec: Arc::new(SignedIdCodec::new(secret)),
            store: Arc::new(store),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &dyn SessionPolicy {
        &*self.0.policy
    }

    /// The session guard's configuration.
    pub fn guard(&self) -> &AccessGuard {
        &self.0.guard
    }

    /// The current time from the manager's clock.
    pub fn now(&self) -> UnixTime {
        self.0.clock.now()
    }

    /// The store, in stateful mode.
    pub fn store(&self) -> Option<&Arc<dyn SessionStore>> {
        match &self.0.mode {
            Mode::Stateful { store, .. } => Some(store),
            Mode::Stateless { .. } => None,
        }
    }

    /// Loads the session for a request from its whole `Cookie` header (`None` if absent).
    pub async fn load_from_header(
        &self,
        cookie_header: Option<&str>,
        ctx: RequestContext,
    ) -> Result<Session, SessionError> {
        let value = cookie_header.and_then(|h| self.0.policy.cookie().find_in_header(h));
        self.load(value, ctx).await
    }

    /// Loads the session for a request from its session cookie value (`None` if absent).
    ///
    /// A missing cookie gives an empty session (C1); an invalid one gives an empty session that
    /// will clear the cookie, with an event naming the reason (C2). Only a failing store is an
    /// error, and then the client's cookie is left alone (C14).
    pub async fn load(
        &self,
        cookie: Option<&str>,
        ctx: RequestContext,
    ) -> Result<Session, SessionError> {
        let now = self.now();
        let mut state = State {
            record: None,
            id: None,
            loaded_version: None,
            loaded_deadline: None,
            not_before: None,
            changed: false,
            renew: false,
            refresh_due: false,
            stale_key: false,
            delete_key: None,
            cookie_presented: cookie.is_some(),
            ctx,
            now,
            access: Default::default(),
            committed: false,
        };
        if let Some(value) = cookie {
            match self.decode(value, now).await? {
                Ok(loaded) => {
                    let record = loaded.record;
                    state.refresh_due = self.0.policy.should_refresh(&record, now);
                    state.loaded_version = Some(record.version);
                    state.loaded_deadline = Some(self.0.policy.deadline(&record));
                    state.not_before = loaded.not_before;
                    state.id = loaded.id;
                    state.record = Some(record);
                    state.stale_key = loaded.stale_key;
                }
                Err(reason) => log_rejection(reason),
            }
        }
        Ok(Session::new(state, self.clone()))
    }

    /// Decodes and validates a cookie value: `Ok(Err(reason))` for an invalid cookie,
    /// `Err(..)` only for a store failure.
    async fn decode(
        &self,
        value: &str,
        now: UnixTime,
    ) -> Result<Result<Loaded, RejectReason>, SessionError> {
        let loaded = match &self.0.mode {
            Mode::Stateless { codec, revocations } => {
                let decoded = match codec.decode(value, now) {
                    Ok(d) => d,
                    Err(reason) => return Ok(Err(reason)),
                };
                let record = decoded.payload;
                let mut not_before = None;
                if let (Some(store), Some(user)) = (revocations, &record.user_id) {
                    let marker = self.not_before(&**store, user, now).await?;
                    not_before = Some(marker);
                    // `last_seen_at` is when the token was issued (every commit that encodes a
                    // token sets it, after the revocation's second when one exists, see
                    // `issue_record`), so exactly the tokens issued up to the revocation fail.
                    if marker.is_some_and(|nb| record.last_seen_at <= nb) {
                        return Ok(Err(RejectReason::Revoked));
                    }
                }
                Loaded {
                    id: None,
                    record,
                    stale_key: decoded.stale_key,
                    not_before,
                }
            }
            Mode::Stateful { codec, store } => {
                let decoded = match codec.decode(value, now) {
                    Ok(d) => d,
                    Err(reason) => return Ok(Err(reason)),
                };
                let key = decoded.payload.key();
                let record = match store.load(&key, now).await {
                    Ok(Some(record)) => record,
                    Ok(None) => return Ok(Err(RejectReason::UnknownId)),
                    Err(StoreError::Corrupt { .. }) => {
                        // One unreadable record is that session's problem, not the store's:
                        // drop it and carry on without a session. A damaged engine is
                        // `EngineCorrupt` instead and fails the request without writing.
                        store.delete(&key).await?;
                        return Ok(Err(RejectReason::CorruptRecord));
                    }
                    Err(e) => return Err(e.into()),
                };
                Loaded {
                    id: Some(decoded.payload),
                    record,
                    stale_key: decoded.stale_key,
                    not_before: None,
                }
            }
        };
        if let Some(reason) = self.0.policy.rejection(&loaded.record, now) {
            return Ok(Err(reason));
        }
        Ok(Ok(loaded))
    }

    /// Writes what the handler changed and says what to do with the cookie (C5-C8).
    ///
    /// A save that lost a race to another request is merged when the two did not touch the same
    /// keys, and refused with [`SessionError::Conflict`] when they did (unless the policy says
    /// [`ConflictPolicy::LastWriteWins`]); a commit that only refreshes the session never fails
    /// for a race (see the concurrency page of the manual).
    ///
    /// A handle is committed once: committing it again (e.g. a middleware attached twice) returns
    /// [`CookieUpdate::Unchanged`] and touches no store.
    pub async fn commit(&self, session: &Session) -> Result<CookieUpdate, SessionError> {
        let Some(state) = session.take_for_commit() else {
            return Ok(CookieUpdate::Unchanged);
        };
        let now = self.now();
        if let Some(key) = state.delete_key {
            if let Mode::Stateful { store, .. } = &self.0.mode {
                store.delete(&key).await?;
            }
            tracing::debug!(session = %key.fingerprint(), "session destroyed");
        }
        let Some(mut record) = state.record else {
            return Ok(self.removal_if(state.cookie_presented));
        };
        let Some(loaded_version) = state.loaded_version else {
            if !state.changed {
                return Ok(self.removal_if(state.cookie_presented && state.delete_key.is_some()));
            }
            // Invariant: a record created during the request always comes with its new id.
            let id = state.id.expect("a new record has an id");
            return self.create(id, record, now).await;
        };
        let write = Write {
            access: &state.access,
            changed: state.changed,
            loaded_version,
            not_before: state.not_before,
            now,
        };
        if state.renew {
            let old_key = record.key;
            let update = self.renew(record, &write).await?;
            tracing::debug!(session = %old_key.fingerprint(), "session renewed");
            return Ok(update);
        }
        if !(state.changed || state.refresh_due || state.stale_key) {
            return Ok(CookieUpdate::Unchanged);
        }
        record.last_seen_at = now;
        if state.refresh_due {
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
                    return Ok(self.removal_if(true));
                };
                // The cookie lives as long as the session: re-issue it whenever the deadline
                // moved (a refresh, or a write that pushed the idle deadline), or the id was
                // signed with an old key.
                let moved = state.loaded_deadline != Some(self.0.policy.deadline(&saved));
                if state.refresh_due || state.stale_key || moved {
                    // Invariant: a record loaded in stateful mode came with the cookie's id.
                    let id = state.id.expect("a stored session has an id");
                    self.issue(&**codec, &id, &saved, now)
                } else {
                    Ok(CookieUpdate::Unchanged)
                }
            }
        }
    }

    /// [`commit`](Self::commit) after a response with HTTP `status`: a server error (5xx)
    /// discards the request's session changes, so a sign-in that failed half-way leaves no
    /// session behind, unless the policy's
    /// [`commit_on_server_error`](SessionPolicy::commit_on_server_error) says otherwise (C18).
    /// Adapters call this one.
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

    fn removal_if(&self, condition: bool) -> CookieUpdate {
        if condition {
            CookieUpdate::Remove(self.0.policy.cookie().removal_cookie())
        } else {
            CookieUpdate::Unchanged
        }
    }

    /// A `Set-Cookie` carrying `payload`, living exactly as long as `record` has left (S-21).
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

    /// C6: a new id with the same data, moved from the old one in one conditional store step
    /// (S-06), so a logout or "log out everywhere" that landed meanwhile is never undone under the
    /// new id, and a concurrent save is merged or refused like any other (C8).
    async fn renew(
        &self,
        mut record: SessionRecord,
        write: &Write<'_>,
    ) -> Result<CookieUpdate, SessionError> {
        let now = write.now;
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
        let mut expected = write.loaded_version;
        for _ in 0..MAX_MERGE_ATTEMPTS {
            match store.renew(&old_key, expected, &record).await {
                Ok(()) => return self.issue(&**codec, &new_id, &record, now),
                Err(StoreError::NotFound) => {
                    log_rejection(RejectReason::UnknownId);
                    return Ok(self.removal_if(true));
                }
                Err(StoreError::Collision) => {
                    new_id = SessionId::generate();
                    record.key = new_id.key();
                }
                Err(StoreError::Conflict) => {
                    let Some(current) = store.load(&old_key, now).await? else {
                        log_rejection(RejectReason::UnknownId);
                        return Ok(self.removal_if(true));
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

    /// Saves `record` (loaded at `write.loaded_version`) with the conflict model (C8): a save
    /// that lost a race reloads the other writer's record and merges into it, or fails with a
    /// conflict when they overlap and the policy rejects. `Ok(None)`: the record was deleted
    /// meanwhile. Returns the record as stored.
    async fn save(
        &self,
        store: &dyn SessionStore,
        mut record: SessionRecord,
        write: &Write<'_>,
    ) -> Result<Option<SessionRecord>, SessionError> {
        let mut expected = write.loaded_version;
        for _ in 0..MAX_MERGE_ATTEMPTS {
            record.version = expected + 1;
            match store.save(&record, expected).await {
                Ok(()) => return Ok(Some(record)),
                Err(StoreError::NotFound) => return Ok(None),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            let Some(current) = store.load(&record.key, write.now).await? else {
                return Ok(None);
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
    /// a conflict when they overlap and the policy rejects (C8).
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

    /// A new, empty record for a request at `now`, with its id.
    pub(crate) fn new_record(
        &self,
        now: UnixTime,
        ctx: &RequestContext,
    ) -> (SessionId, SessionRecord) {
        let id = SessionId::generate();
        let policy = &self.0.policy;
        let mut record = SessionRecord::new(id.key(), now, now);
        record.absolute_expires_at = policy.absolute_lifetime().map(|cap| now + cap);
        record.expires_at = policy.expiry_from(&record, now);
        record.metadata.ip = ctx.ip.clone();
        record.metadata.user_agent = ctx.user_agent.clone();
        (id, record)
    }

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
    async fn not_before(
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

/// A decoded, valid session cookie and what loading it found.
struct Loaded {
    /// The cookie's session id (stateful mode).
    id: Option<SessionId>,
    record: SessionRecord,
    stale_key: bool,
    /// Stateless mode with a revocation store: `Some(marker)` when the user's "log out
    /// everywhere" time was read at load (`Some(None)`: the user has none).
    not_before: Option<Option<UnixTime>>,
}

/// What a commit of a loaded session needs besides the record.
struct Write<'a> {
    access: &'a Access,
    /// The handler changed something besides bookkeeping.
    changed: bool,
    loaded_version: u64,
    /// See [`Loaded::not_before`].
    not_before: Option<Option<UnixTime>>,
    now: UnixTime,
}

impl Write<'_> {
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
