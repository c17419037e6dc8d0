//! [`Session`]: the handle a request handler reads and writes. Changes are recorded here and
//! carried out by `SessionManager::commit` after the handler returns.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::codec::RESERVED_CLAIMS;
use crate::error::{DataError, SessionError, ShapeError};
use crate::guard::Denial;
use crate::id::{SessionId, SessionKey, UserId};
use crate::manager::SessionManager;
use crate::merge::Access;
use crate::policy::MAX_SESSION_LIFETIME;
use crate::record::SessionRecord;
use crate::time::UnixTime;
use crate::validate::Validate;

/// Who made the request: recorded in a new session's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's address.
    pub ip: Option<String>,
    /// The `User-Agent` header, truncated to 256 bytes.
    pub user_agent: Option<String>,
}

const MAX_USER_AGENT: usize = 256;

impl RequestContext {
    /// A context from the client address and `User-Agent` header.
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].to_owned()
        });
        RequestContext { ip, user_agent }
    }
}

/// A snapshot of a session's lifetime (C3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStatus {
    /// The session was created during this request and is not stored yet.
    pub is_new: bool,
    /// Whether a user is signed in.
    pub is_authenticated: bool,
    /// Whether the session has ended (expired, idle, or destroyed).
    pub is_expired: bool,
    /// Time left until `expires_at` (zero when expired, never negative).
    pub remaining: Duration,
    /// When the session ends unless refreshed (the idle deadline if that is sooner).
    pub expires_at: UnixTime,
    /// When the session was created.
    pub created_at: UnixTime,
    /// When it was last written or refreshed.
    pub last_seen_at: UnixTime,
    /// From when a request refreshes it (C4).
    pub refresh_from: UnixTime,
}

/// One of a user's sessions, as shown in "your active sessions" (S-08): no ids, no data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was last written or refreshed.
    pub last_seen_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
    /// The browser that created it.
    pub user_agent: Option<String>,
    /// The address that created it.
    pub ip: Option<String>,
    /// How the user signed in.
    pub auth_provider: Option<String>,
    /// Whether this is the session of the current request.
    pub is_current: bool,
}

/// A session with a signed-in user: what every adapter's `RequireSession` guard hands to
/// handlers. Only [`Session::require_user`] makes one, so holding it proves the check was done.
#[derive(Debug, Clone)]
pub struct SignedIn {
    user: UserId,
    session: Session,
}

impl SignedIn {
    /// The signed-in user.
    pub fn user_id(&self) -> &UserId {
        &self.user
    }

    /// The user's session.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// The state a handle records; the manager reads it in `commit`.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) record: Option<SessionRecord>,
    /// The cookie's id (stateful) or a fresh one for a new record.
    pub(crate) id: Option<SessionId>,
    /// `Some(version)` when the record came from the cookie or the store.
    pub(crate) loaded_version: Option<u64>,
    /// When the loaded session would have ended: a commit that moves it re-issues the cookie.
    pub(crate) loaded_deadline: Option<UnixTime>,
    /// Stateless mode: the user's "log out everywhere" time as read at load, if it was read.
    pub(crate) not_before: Option<Option<UnixTime>>,
    pub(crate) changed: bool,
    pub(crate) renew: bool,
    pub(crate) refresh_due: bool,
    pub(crate) stale_key: bool,
    /// A record that must be deleted at commit (destroyed or invalid).
    pub(crate) delete_key: Option<SessionKey>,
    /// The request presented a session cookie that is now gone: send a removal cookie.
    pub(crate) cookie_presented: bool,
    pub(crate) ctx: RequestContext,
    pub(crate) now: UnixTime,
    /// What the handler read and wrote of a loaded record (C8: merging a save that lost a race).
    pub(crate) access: Access,
    /// Set by the first commit: committing the same handle again does nothing.
    pub(crate) committed: bool,
}

impl State {
    /// Records a read or write of `key`, before the change, when the record came from the store
    /// or the cookie (a record made during this request has nobody to race with).
    fn touch(&mut self, key: &str, written: bool) {
        if let (Some(record), Some(_)) = (&self.record, self.loaded_version) {
            self.access.touch(key, &record.data, written);
        }
    }

    /// [`touch`](Self::touch) for the whole data.
    fn touch_all(&mut self, written: bool) {
        if let (Some(record), Some(_)) = (&self.record, self.loaded_version) {
            self.access.touch_all(&record.data, written);
        }
    }

    /// [`touch`](Self::touch) for the user and metadata.
    fn touch_identity(&mut self) {
        if let (Some(record), Some(_)) = (&self.record, self.loaded_version) {
            self.access.touch_identity(record);
        }
    }
}

/// The session of one request. Cheap to clone; every clone is the same session.
///
/// Reads and writes are synchronous and only touch memory; the store is written once, by
/// `SessionManager::commit`, and only if something changed (C5).
#[derive(Clone)]
pub struct Session {
    state: Arc<Mutex<State>>,
    manager: SessionManager,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Session")
            .field("record", &state.record)
            .field("changed", &state.changed)
            .field("renew", &state.renew)
            .finish()
    }
}

impl Session {
    pub(crate) fn new(state: State, manager: SessionManager) -> Self {
        Session {
            state: Arc::new(Mutex::new(state)),
            manager,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data updated in single assignments; a panic elsewhere cannot leave
        // it torn, so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state to commit, once: `None` if this handle was committed already. The record is
    /// moved out, not cloned (the request is over); the handle keeps the rest for `status()`.
    pub(crate) fn take_for_commit(&self) -> Option<State> {
        let mut state = self.lock();
        if state.committed {
            return None;
        }
        state.committed = true;
        Some(State {
            record: state.record.take(),
            id: state.id.clone(),
            ctx: std::mem::take(&mut state.ctx),
            access: std::mem::take(&mut state.access),
            ..*state
        })
    }

    /// The record, created on first write.
    fn record_mut<'a>(&self, state: &'a mut State) -> &'a mut SessionRecord {
        if state.record.is_none() {
            let record = self.manager.new_record(state.now, &state.ctx);
            state.id = Some(record.0);
            state.record = Some(record.1);
            state.loaded_version = None;
            state.loaded_deadline = None;
            state.access = Access::default();
        }
        // Invariant: set just above when it was `None`.
        state.record.as_mut().expect("record exists")
    }

    /// The value under `key` as `T`; `Ok(None)` if absent, an error if it has another shape.
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// let session = detached_session();
    /// session.insert("visits", 3u32)?;
    /// assert_eq!(session.get::<u32>("visits")?, Some(3));
    /// assert!(session.get::<String>("visits").is_err());
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        let mut state = self.lock();
        state.touch(key, false);
        match state.record.as_ref().and_then(|r| r.data.get(key)) {
            Some(value) => typed(key, value).map(Some),
            None => Ok(None),
        }
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        state.touch(key, false);
        state.record.as_ref().and_then(|r| r.data.get(key).cloned())
    }

    /// Stores `value` under `key`. Creates the session if there is none.
    pub fn insert<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), DataError> {
        let key = key.into();
        if RESERVED_CLAIMS.contains(&key.as_str()) {
            return Err(DataError::ReservedKey(key));
        }
        let value =
            serde_json::to_value(value).map_err(|e| DataError::Serialize(ShapeError::from(&e)))?;
        let mut state = self.lock();
        let differs = state.record.as_ref().and_then(|r| r.data.get(&key)) != Some(&value);
        state.touch(&key, differs);
        let record = self.record_mut(&mut state);
        if differs {
            record.data.insert(key, value);
            state.changed = true;
        }
        Ok(())
    }

    /// Removes `key` and returns its value as `T`; `Ok(None)` if it was absent. The key is
    /// removed even when its value does not fit `T` (the error says so).
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// let session = detached_session();
    /// session.insert("flash", "saved")?;
    /// assert_eq!(session.remove::<String>("flash")?.as_deref(), Some("saved"));
    /// assert_eq!(session.remove::<String>("flash")?, None);
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`DataError::Deserialize`] when the removed value has another shape than `T`.
    pub fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        match self.remove_value(key) {
            Some(value) => typed(key, &value).map(Some),
            None => Ok(None),
        }
    }

    /// Removes `key` and returns its raw JSON value.
    pub fn remove_value(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        let present = state
            .record
            .as_ref()
            .is_some_and(|r| r.data.contains_key(key));
        state.touch(key, present);
        let removed = state.record.as_mut().and_then(|r| r.data.remove(key));
        if removed.is_some() {
            state.changed = true;
        }
        removed
    }

    /// Removes all data (the session and its user stay).
    pub fn clear(&self) {
        let mut state = self.lock();
        let has_data = state.record.as_ref().is_some_and(|r| !r.data.is_empty());
        state.touch_all(has_data);
        if let Some(record) = state.record.as_mut() {
            if !record.data.is_empty() {
                record.data.clear();
                state.changed = true;
            }
        }
    }

    /// The whole data as `T` (C15); a session without data reads as an empty object.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        let mut state = self.lock();
        state.touch_all(false);
        let empty = Map::new();
        let data = state.record.as_ref().map(|r| &r.data).unwrap_or(&empty);
        T::deserialize(&Value::Object(data.clone()))
            .map_err(|e| DataError::Schema(ShapeError::from(&e)))
    }

    /// Replaces the whole data with `value`, which must serialise to a JSON object.
    pub fn set_data<T: Serialize>(&self, value: &T) -> Result<(), DataError> {
        let Value::Object(map) =
            serde_json::to_value(value).map_err(|e| DataError::Serialize(ShapeError::from(&e)))?
        else {
            return Err(DataError::NotAnObject);
        };
        if let Some(reserved) = map.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
            return Err(DataError::ReservedKey(reserved.clone()));
        }
        let mut state = self.lock();
        let differs = state.record.as_ref().is_none_or(|r| r.data != map);
        state.touch_all(differs);
        let record = self.record_mut(&mut state);
        if differs {
            record.data = map;
            state.changed = true;
        }
        Ok(())
    }

    /// The whole data as `T` for a typed extractor: `None` if there is no session; if the data
    /// does not fit `T` or fails its [`Validate`] check, the session is treated as invalid (C2,
    /// reason `schema`): it is destroyed and the event logged.
    pub fn typed_or_invalidate<T: DeserializeOwned + Validate>(&self) -> Option<T> {
        if !self.exists() {
            return None;
        }
        let checked = self
            .data_as::<T>()
            .map_err(|_| "the data does not have the expected shape")
            .and_then(|value| value.validate().map(|()| value));
        match checked {
            Ok(value) => Some(value),
            Err(why) => {
                crate::events::log_invalid_data(why);
                self.destroy();
                None
            }
        }
    }

    /// The session with its signed-in user, or how to answer a request to `path` (with this
    /// `Accept` header) that requires one: a redirect to the login page or 401, as the manager's [`AccessGuard`]
    /// decides. Every adapter's guard calls this.
    ///
    /// [`AccessGuard`]: crate::AccessGuard
    pub fn require_user(&self, path: &str, accept: Option<&str>) -> Result<SignedIn, Denial> {
        match self.user_id() {
            Some(user) => Ok(SignedIn {
                user,
                session: self.clone(),
            }),
            None => Err(self.manager.guard().deny(path, accept)),
        }
    }

    /// The whole data as `T` for a typed extractor on a route that requires it: a missing session
    /// is the guard's [`Denial`]; data that does not fit `T` invalidates the session (C2, reason
    /// `schema`) and is denied the same way.
    pub fn typed_or_deny<T: DeserializeOwned + Validate>(
        &self,
        path: &str,
        accept: Option<&str>,
    ) -> Result<T, Denial> {
        self.typed_or_invalidate()
            .ok_or_else(|| self.manager.guard().deny(path, accept))
    }

    /// Whether a session exists (loaded, or created by a write during this request).
    pub fn exists(&self) -> bool {
        self.lock().record.is_some()
    }

    /// The signed-in user, if any.
    pub fn user_id(&self) -> Option<UserId> {
        self.lock().record.as_ref().and_then(|r| r.user_id.clone())
    }

    /// Signs `user` in: sets the user and renews the session id (C6, S-06).
    pub fn login(&self, user: UserId) {
        self.login_with(user, None);
    }

    /// [`login`](Self::login), recording how the user signed in (`"password"`, `"github"`, ...).
    pub fn login_with(&self, user: UserId, auth_provider: Option<&str>) {
        let mut state = self.lock();
        state.touch_identity();
        let record = self.record_mut(&mut state);
        record.user_id = Some(user);
        record.metadata.auth_provider = auth_provider.map(str::to_owned);
        state.changed = true;
        state.renew = state.loaded_version.is_some();
    }

    /// Gives this session a lifetime of its own ("remember me"), from now on, at most
    /// [`MAX_SESSION_LIFETIME`] (400 days, what browsers keep a cookie) and never past the
    /// policy's absolute cap.
    pub fn set_max_age(&self, lifetime: Duration) {
        let mut state = self.lock();
        state.touch_identity();
        let now = state.now;
        let record = self.record_mut(&mut state);
        record.metadata.max_age_secs = Some(lifetime.min(MAX_SESSION_LIFETIME).as_secs());
        record.expires_at = self.manager.policy().expiry_from(record, now);
        state.changed = true;
        state.refresh_due = true;
    }

    /// Issues a new id with the same data and deletes the old one at commit (C6).
    pub fn renew(&self) {
        let mut state = self.lock();
        if state.record.is_some() && state.loaded_version.is_some() {
            state.renew = true;
        }
    }

    /// Ends the session: the record is deleted and a removal cookie sent (C7). Writing to the
    /// session afterwards starts a new one.
    pub fn destroy(&self) {
        let mut state = self.lock();
        if let Some(record) = state.record.take() {
            if state.loaded_version.is_some() {
                state.delete_key = Some(record.key);
            }
        }
        state.id = None;
        state.loaded_version = None;
        state.loaded_deadline = None;
        state.access = Access::default();
        state.changed = false;
        state.renew = false;
        state.refresh_due = false;
    }

    /// The session's lifetime figures, or `None` when there is no session.
    pub fn status(&self) -> Option<SessionStatus> {
        let state = self.lock();
        let record = state.record.as_ref()?;
        let policy = self.manager.policy();
        let deadline = policy.deadline(record);
        let threshold = policy
            .refresh_threshold()
            .min(policy.lifetime_of(record) / 2);
        Some(SessionStatus {
            is_new: state.loaded_version.is_none(),
            is_authenticated: record.user_id.is_some(),
            is_expired: deadline <= state.now,
            // A clock that went backwards must not report more than one lifetime left (S-23).
            remaining: deadline
                .saturating_duration_since(state.now)
                .min(policy.lifetime_of(record)),
            expires_at: deadline,
            created_at: record.created_at,
            last_seen_at: record.last_seen_at,
            refresh_from: policy.expiry_of(record).saturating_sub(threshold),
        })
    }

    /// The signed-in user's live sessions (S-08). Empty when nobody is signed in.
    pub async fn list_user_sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let (user, current) = {
            let state = self.lock();
            let record = state.record.as_ref();
            (
                record.and_then(|r| r.user_id.clone()),
                record.map(|r| r.key),
            )
        };
        let Some(user) = user else {
            return Ok(Vec::new());
        };
        let records = self.manager.list_user_sessions(&user).await?;
        Ok(records
            .into_iter()
            .map(|r| SessionInfo {
                is_current: Some(r.key) == current,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.effective_expiry(),
                user_agent: r.metadata.user_agent,
                ip: r.metadata.ip,
                auth_provider: r.metadata.auth_provider,
            })
            .collect())
    }

    /// Logs the signed-in user out of every session, this one included (C9). Returns how many
    /// stored sessions were ended (stateless mode: 0, since tokens are revoked by time).
    pub async fn log_out_everywhere(&self) -> Result<u64, SessionError> {
        let Some(user) = self.user_id() else {
            return Ok(0);
        };
        let ended = self.manager.log_out_everywhere(&user).await?;
        self.destroy();
        Ok(ended)
    }
}

/// The value under `key` as `T`, or the shape error naming the key.
fn typed<T: DeserializeOwned>(key: &str, value: &Value) -> Result<T, DataError> {
    T::deserialize(value).map_err(|e| DataError::Deserialize {
        key: key.to_owned(),
        source: ShapeError::from(&e),
    })
}
