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
use crate::id::UserId;
use crate::manager::SessionManager;
use crate::policy::MAX_SESSION_LIFETIME;
use crate::record::SessionRecord;
use crate::state::{CommitPlan, Prior, Record, State};
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
    /// A context from the client address and `User-Agent` header. A `User-Agent` longer than 256
    /// bytes is cut there (at a character boundary), so a client cannot make stored records grow.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::RequestContext;
    /// let ctx = RequestContext::new(Some("203.0.113.7".into()), Some(&"x".repeat(300)));
    /// assert_eq!(ctx.ip.as_deref(), Some("203.0.113.7"));
    /// assert_eq!(ctx.user_agent.map(|ua| ua.len()), Some(256));
    /// ```
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

/// A snapshot of a session's lifetime ([C3]).
///
/// [C3]: crate::manual::contracts#c3
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
    /// From when a request refreshes it ([C4]).
    ///
    /// [C4]: crate::manual::contracts#c4
    pub refresh_from: UnixTime,
}

/// One of a user's sessions, as shown in "your active sessions" ([S-08]): no ids, no data.
///
/// [S-08]: crate::manual::contracts#s-08
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use session_core::UserId;
    /// let session = detached_session();
    /// session.login(UserId::new("alice"));
    /// let signed_in = session.require_user("/account", None).expect("alice is signed in");
    /// assert_eq!(signed_in.user_id().as_str(), "alice");
    /// ```
    pub fn user_id(&self) -> &UserId {
        &self.user
    }

    /// The user's session (the same one every clone of the request's handle refers to).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use session_core::UserId;
    /// let session = detached_session();
    /// session.login(UserId::new("alice"));
    /// let signed_in = session.require_user("/account", None).expect("alice is signed in");
    /// signed_in.session().insert("theme", "dark")?;
    /// assert_eq!(session.get::<String>("theme")?.as_deref(), Some("dark"));
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// The session of one request. Cheap to clone; every clone is the same session.
///
/// Reads and writes are synchronous and only touch memory; the store is written once, by
/// `SessionManager::commit`, and only if something changed ([C5]).
///
/// [C5]: crate::manual::contracts#c5
#[derive(Clone)]
pub struct Session {
    state: Arc<Mutex<State>>,
    manager: SessionManager,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Session")
            .field("record", &state.record.get())
            .field("changed", &state.record.is_changed())
            .field("renew", &state.record.renews())
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

    /// What to commit, once: `None` if this handle was committed already. The record is moved
    /// into the plan, not cloned (the request is over); the handle is left without a session.
    pub(crate) fn take_for_commit(&self) -> Option<CommitPlan> {
        let mut state = self.lock();
        if state.committed {
            return None;
        }
        state.committed = true;
        let record = std::mem::replace(&mut state.record, Record::Absent(Prior::NoCookie));
        Some(record.into_plan())
    }

    /// The record, created on first write.
    fn record_mut<'a>(&self, state: &'a mut State) -> &'a mut SessionRecord {
        let State {
            record, ctx, now, ..
        } = state;
        record.get_or_create(|| self.manager.new_record(*now, ctx))
    }

    /// The value under `key` as `T`; `Ok(None)` if absent, an error if it has another shape
    /// ([C15]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// let session = detached_session();
    /// session.insert("visits", 3u32)?;
    /// assert_eq!(session.get::<u32>("visits")?, Some(3));
    /// assert_eq!(session.get::<u32>("absent")?, None);
    /// assert!(session.get::<String>("visits").is_err());
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`DataError::Deserialize`] when the stored value does not fit `T` (its message names the key
    /// and the expected type, never the value).
    ///
    /// [C15]: crate::manual::contracts#c15
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        let mut state = self.lock();
        state.record.touch(key, false);
        match state.record.get().and_then(|r| r.data.get(key)) {
            Some(value) => typed(key, value).map(Some),
            None => Ok(None),
        }
    }

    /// The raw JSON value under `key`, for data whose type the caller does not know.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use serde_json::json;
    /// let session = detached_session();
    /// session.insert("cart", vec![1, 2])?;
    /// assert_eq!(session.get_value("cart"), Some(json!([1, 2])));
    /// assert_eq!(session.get_value("absent"), None);
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    pub fn get_value(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        state.record.touch(key, false);
        state.record.get().and_then(|r| r.data.get(key).cloned())
    }

    /// Stores `value` under `key`. Creates the session if there is none. Writing the value the key
    /// already holds changes nothing, so the commit writes nothing either ([C5]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// let session = detached_session();
    /// assert!(!session.exists());
    /// session.insert("theme", "dark")?;
    /// assert!(session.exists());
    /// assert!(session.insert("exp", 0).is_err(), "a claim name of the session token");
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`DataError::ReservedKey`] when `key` is one of the session token's own claims
    ///   ([`RESERVED_CLAIMS`](crate::codec::RESERVED_CLAIMS): `exp`, `iat`, `sub`, ...).
    /// - [`DataError::Serialize`] when `value` does not serialise to JSON (e.g. a map whose keys
    ///   are not strings).
    ///
    /// [C5]: crate::manual::contracts#c5
    pub fn insert<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), DataError> {
        let key = key.into();
        if RESERVED_CLAIMS.contains(&key.as_str()) {
            return Err(DataError::ReservedKey(key));
        }
        let value =
            serde_json::to_value(value).map_err(|e| DataError::Serialize(ShapeError::from(&e)))?;
        let mut state = self.lock();
        let differs = state.record.get().and_then(|r| r.data.get(&key)) != Some(&value);
        state.record.touch(&key, differs);
        let record = self.record_mut(&mut state);
        if differs {
            record.data.insert(key, value);
            state.record.mark_written(false);
        }
        Ok(())
    }

    /// Removes `key` and returns its value as `T`; `Ok(None)` if it was absent. The key is
    /// removed even when its value does not fit `T` (the error says so).
    ///
    /// # Examples
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use serde_json::json;
    /// let session = detached_session();
    /// session.insert("flash", "saved")?;
    /// assert_eq!(session.remove_value("flash"), Some(json!("saved")));
    /// assert_eq!(session.remove_value("flash"), None);
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    pub fn remove_value(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        let present = state.record.get().is_some_and(|r| r.data.contains_key(key));
        state.record.touch(key, present);
        let removed = state.record.get_mut().and_then(|r| r.data.remove(key));
        if removed.is_some() {
            state.record.mark_written(false);
        }
        removed
    }

    /// Removes all data (the session and its user stay).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use session_core::UserId;
    /// let session = detached_session();
    /// session.insert("cart", 3)?;
    /// session.login(UserId::new("alice"));
    /// session.clear();
    /// assert_eq!(session.get::<u32>("cart")?, None);
    /// assert_eq!(session.user_id(), Some(UserId::new("alice")));
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    pub fn clear(&self) {
        let mut state = self.lock();
        let has_data = state.record.get().is_some_and(|r| !r.data.is_empty());
        state.record.touch_all(has_data);
        if let Some(record) = state.record.get_mut() {
            if !record.data.is_empty() {
                record.data.clear();
                state.record.mark_written(false);
            }
        }
    }

    /// The whole data as `T` ([C15]); a session without data reads as an empty object.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use std::collections::HashMap;
    /// let session = detached_session();
    /// assert!(session.data_as::<HashMap<String, u32>>()?.is_empty());
    /// session.insert("a", 1)?;
    /// session.insert("b", 2)?;
    /// assert_eq!(session.data_as::<HashMap<String, u32>>()?.len(), 2);
    /// assert!(session.data_as::<Vec<u32>>().is_err());
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`DataError::Schema`] when the data does not fit `T`.
    ///
    /// [C15]: crate::manual::contracts#c15
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        let mut state = self.lock();
        state.record.touch_all(false);
        let empty = Map::new();
        let data = state.record.get().map(|r| &r.data).unwrap_or(&empty);
        T::deserialize(&Value::Object(data.clone()))
            .map_err(|e| DataError::Schema(ShapeError::from(&e)))
    }

    /// Replaces the whole data with `value`, which must serialise to a JSON object. Creates the
    /// session if there is none.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use serde_json::json;
    /// let session = detached_session();
    /// session.set_data(&json!({ "theme": "dark", "cart": 3 }))?;
    /// assert_eq!(session.get::<u32>("cart")?, Some(3));
    /// assert!(session.set_data(&[1, 2, 3]).is_err(), "not an object");
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`DataError::Serialize`] when `value` does not serialise to JSON.
    /// - [`DataError::NotAnObject`] when it serialises to something else than an object.
    /// - [`DataError::ReservedKey`] when one of its fields is a claim name of the session token
    ///   ([`RESERVED_CLAIMS`](crate::codec::RESERVED_CLAIMS)).
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
        let differs = state.record.get().is_none_or(|r| r.data != map);
        state.record.touch_all(differs);
        let record = self.record_mut(&mut state);
        if differs {
            record.data = map;
            state.record.mark_written(false);
        }
        Ok(())
    }

    /// The whole data as `T` for a typed extractor: `None` if there is no session; if the data
    /// does not fit `T` or fails its [`Validate`] check, the session is treated as invalid ([C2],
    /// reason `schema`): it is destroyed and the event logged.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use serde::Deserialize;
    /// use session_core::Validate;
    ///
    /// #[derive(Deserialize)]
    /// struct Cart { items: u32 }
    /// impl Validate for Cart {
    ///     fn validate(&self) -> Result<(), &'static str> {
    ///         if self.items > 100 { Err("too many items") } else { Ok(()) }
    ///     }
    /// }
    ///
    /// let session = detached_session();
    /// assert!(session.typed_or_invalidate::<Cart>().is_none(), "no session");
    /// session.insert("items", 3)?;
    /// assert_eq!(session.typed_or_invalidate::<Cart>().map(|c| c.items), Some(3));
    /// session.insert("items", 500)?;
    /// assert!(session.typed_or_invalidate::<Cart>().is_none(), "fails its check");
    /// assert!(!session.exists(), "and the session is gone");
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// [C2]: crate::manual::contracts#c2
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
    /// `Accept` header) that requires one: a redirect to the login page or 401, as the manager's
    /// [`AccessGuard`] decides. Every adapter's guard calls this.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use session_core::{adapter::Denial, UserId};
    /// let session = detached_session();
    /// assert_eq!(
    ///     session.require_user("/dashboard", Some("text/html")).unwrap_err(),
    ///     Denial::Redirect("/login".into())
    /// );
    /// assert_eq!(session.require_user("/api/me", None).unwrap_err(), Denial::Unauthorized);
    /// session.login(UserId::new("alice"));
    /// assert_eq!(session.require_user("/dashboard", None).unwrap().user_id().as_str(), "alice");
    /// ```
    ///
    /// # Errors
    ///
    /// The guard's [`Denial`] when nobody is signed in: [`Denial::Unauthorized`] (401) for API
    /// paths and requests that accept only JSON, [`Denial::Redirect`] to the login page otherwise.
    ///
    /// [`AccessGuard`]: crate::adapter::AccessGuard
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
    /// is the guard's [`Denial`]; data that does not fit `T` invalidates the session ([C2], reason
    /// `schema`) and is denied the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use serde::Deserialize;
    /// use session_core::{adapter::Denial, Validate};
    ///
    /// #[derive(Deserialize)]
    /// struct Cart { items: u32 }
    /// impl Validate for Cart {
    ///     fn validate(&self) -> Result<(), &'static str> { Ok(()) }
    /// }
    ///
    /// let session = detached_session();
    /// assert!(matches!(session.typed_or_deny::<Cart>("/api/cart", None), Err(Denial::Unauthorized)));
    /// session.insert("items", 3)?;
    /// assert_eq!(session.typed_or_deny::<Cart>("/api/cart", None).map(|c| c.items), Ok(3));
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The guard's [`Denial`] (as in [`require_user`](Self::require_user)) when there is no
    /// session, or when the data does not fit `T` or fails its check (the session is then
    /// destroyed).
    ///
    /// [C2]: crate::manual::contracts#c2
    pub fn typed_or_deny<T: DeserializeOwned + Validate>(
        &self,
        path: &str,
        accept: Option<&str>,
    ) -> Result<T, Denial> {
        self.typed_or_invalidate()
            .ok_or_else(|| self.manager.guard().deny(path, accept))
    }

    /// Whether a session exists (loaded, or created by a write during this request).
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// let session = detached_session();
    /// assert!(!session.exists());
    /// session.insert("theme", "dark")?;
    /// assert!(session.exists());
    /// session.destroy();
    /// assert!(!session.exists());
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    pub fn exists(&self) -> bool {
        self.lock().record.get().is_some()
    }

    /// The signed-in user, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use session_core::UserId;
    /// let session = detached_session();
    /// assert_eq!(session.user_id(), None);
    /// session.login(UserId::new("alice"));
    /// assert_eq!(session.user_id(), Some(UserId::new("alice")));
    /// ```
    pub fn user_id(&self) -> Option<UserId> {
        self.lock().record.get().and_then(|r| r.user_id.clone())
    }

    /// Signs `user` in: sets the user and renews the session id at commit ([C6], [S-06]), so an id
    /// planted before the login is worthless after it.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager, UserId};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("cart", 3)?;
    /// let CookieUpdate::Set(before) = manager.commit(&session).await? else { panic!() };
    /// let before = before.split(';').next().unwrap();
    ///
    /// let session = manager.load_from_header(Some(before), RequestContext::default()).await?;
    /// session.login(UserId::new("alice"));
    /// let CookieUpdate::Set(after) = manager.commit(&session).await? else { panic!() };
    /// assert_ne!(after.split(';').next().unwrap(), before, "a new id");
    ///
    /// // The pre-login cookie no longer finds a session.
    /// let stale = manager.load_from_header(Some(before), RequestContext::default()).await?;
    /// assert!(!stale.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// [C6]: crate::manual::contracts#c6
    /// [S-06]: crate::manual::contracts#s-06
    pub fn login(&self, user: UserId) {
        self.login_with(user, None);
    }

    /// [`login`](Self::login), recording how the user signed in (`"password"`, `"github"`, ...),
    /// as [`SessionInfo::auth_provider`] shows it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use session_core::UserId;
    /// let session = detached_session();
    /// session.login_with(UserId::new("alice"), Some("github"));
    /// assert_eq!(session.user_id(), Some(UserId::new("alice")));
    /// ```
    pub fn login_with(&self, user: UserId, auth_provider: Option<&str>) {
        let mut state = self.lock();
        state.record.touch_identity();
        let record = self.record_mut(&mut state);
        record.user_id = Some(user);
        record.metadata.auth_provider = auth_provider.map(str::to_owned);
        state.record.mark_written(false);
        state.record.renew();
    }

    /// Gives this session a lifetime of its own ("remember me"), from now on, at most
    /// [`MAX_SESSION_LIFETIME`] (400 days, what browsers keep a cookie) and never past the
    /// policy's absolute cap.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use std::time::Duration;
    /// let session = detached_session();
    /// session.set_max_age(Duration::from_secs(30 * 24 * 3600));
    /// let status = session.status().expect("setting a lifetime creates the session");
    /// assert_eq!(status.remaining, Duration::from_secs(30 * 24 * 3600));
    /// ```
    pub fn set_max_age(&self, lifetime: Duration) {
        let mut state = self.lock();
        state.record.touch_identity();
        let now = state.now;
        let record = self.record_mut(&mut state);
        record.metadata.max_age_secs = Some(lifetime.min(MAX_SESSION_LIFETIME).as_secs());
        record.expires_at = self.manager.policy().expiry_from(record, now);
        state.record.mark_written(true);
    }

    /// Issues a new id with the same data and deletes the old one at commit ([C6]). Only a session
    /// that came with the request has an id to replace; a new session gets its first id at commit
    /// anyway.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("cart", 3)?;
    /// let CookieUpdate::Set(old) = manager.commit(&session).await? else { panic!() };
    /// let old = old.split(';').next().unwrap();
    ///
    /// let session = manager.load_from_header(Some(old), RequestContext::default()).await?;
    /// session.renew();
    /// let CookieUpdate::Set(new) = manager.commit(&session).await? else { panic!() };
    /// let new = new.split(';').next().unwrap();
    /// assert_ne!(new, old);
    /// let renewed = manager.load_from_header(Some(new), RequestContext::default()).await?;
    /// assert_eq!(renewed.get::<u32>("cart")?, Some(3), "same data");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// [C6]: crate::manual::contracts#c6
    pub fn renew(&self) {
        self.lock().record.renew();
    }

    /// Ends the session: the record is deleted and a removal cookie sent at commit ([C7]). Writing
    /// to the session afterwards starts a new one.
    ///
    /// In stateless mode there is no record: with a
    /// [`revocation_store`](crate::adapter::SessionManagerBuilder::revocation_store) the token is
    /// revoked there until it would have expired, so a copy of the cookie replayed later is no
    /// session; **without one, the token stays valid until it expires**: only the browser's copy
    /// is removed, and anyone holding a copy can still use it.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("cart", 3)?;
    /// let CookieUpdate::Set(cookie) = manager.commit(&session).await? else { panic!() };
    /// let cookie = cookie.split(';').next().unwrap();
    ///
    /// let session = manager.load_from_header(Some(cookie), RequestContext::default()).await?;
    /// session.destroy();
    /// let CookieUpdate::Remove(removal) = manager.commit(&session).await? else { panic!() };
    /// assert!(removal.starts_with("session=; Max-Age=0"));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// [C7]: crate::manual::contracts#c7
    pub fn destroy(&self) {
        self.lock().record.destroy();
    }

    /// The CSRF token for this session's forms ([S-27]): put it in a hidden field and check it
    /// with [`verify_csrf_token`](Self::verify_csrf_token) when the form comes back.
    ///
    /// The token is an HMAC of the session's key, so it needs no storage and is valid for this
    /// session only; a sign-in or renewal gives the session a new key and so a new token (from
    /// the next request on: a page rendered in the request that signs in should redirect). Asked
    /// for without a session, it starts one, so the cookie that comes back with the form names
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{adapter::CsrfRefusal, MemoryStore, RequestContext, Secret, SessionError, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// let token = session.csrf_token()?;
    /// assert!(session.exists(), "a session was started for the form");
    /// assert!(session.verify_csrf_token(&token).is_ok());
    ///
    /// let other = manager.load(None, RequestContext::default()).await?;
    /// assert!(matches!(other.verify_csrf_token(&token), Err(SessionError::Csrf(CsrfRefusal::BadToken))));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::NoCsrfKey`] for a stateless manager whose codec holds no secret (a
    /// verify-only ring) built without
    /// [`csrf_token_secret`](crate::adapter::SessionManagerBuilder::csrf_token_secret).
    ///
    /// [S-27]: crate::manual::security
    pub fn csrf_token(&self) -> Result<String, SessionError> {
        let key = self.manager.csrf_key().ok_or(SessionError::NoCsrfKey)?;
        let mut state = self.lock();
        if !state.record.is_loaded() {
            // A new session: store it, so the form's cookie comes back with it.
            self.record_mut(&mut state);
            state.record.mark_written(false);
        }
        let record = self.record_mut(&mut state);
        Ok(key.token(&record.key))
    }

    /// Checks a form's CSRF token against this session, in constant time ([S-27]).
    ///
    /// # Errors
    ///
    /// - [`SessionError::Csrf`] with [`CsrfRefusal::BadToken`](crate::adapter::CsrfRefusal::BadToken)
    ///   (403) when the token is not this session's (missing, malformed, another session's, or
    ///   there is no session); logged once at WARN with reason `bad_token`.
    /// - [`SessionError::NoCsrfKey`] as for [`csrf_token`](Self::csrf_token).
    ///
    /// [S-27]: crate::manual::security
    pub fn verify_csrf_token(&self, presented: &str) -> Result<(), SessionError> {
        let key = self.manager.csrf_key().ok_or(SessionError::NoCsrfKey)?;
        let valid = self
            .lock()
            .record
            .get()
            .is_some_and(|record| key.verify(&record.key, presented));
        if valid {
            Ok(())
        } else {
            let refusal = crate::csrf::CsrfRefusal::BadToken;
            crate::events::log_csrf_refusal(refusal, "form");
            Err(SessionError::Csrf(refusal))
        }
    }

    /// The session's lifetime figures ([C3]), or `None` when there is no session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::testing::detached_session;
    /// use std::time::Duration;
    /// let session = detached_session();
    /// assert_eq!(session.status(), None);
    /// session.insert("theme", "dark")?;
    /// let status = session.status().expect("a session now");
    /// assert!(status.is_new && !status.is_authenticated && !status.is_expired);
    /// assert_eq!(status.remaining, Duration::from_secs(24 * 3600), "the default max_age");
    /// # Ok::<(), session_core::DataError>(())
    /// ```
    ///
    /// [C3]: crate::manual::contracts#c3
    pub fn status(&self) -> Option<SessionStatus> {
        let state = self.lock();
        let record = state.record.get()?;
        let policy = self.manager.policy();
        let deadline = policy.deadline(record);
        let threshold = policy
            .refresh_threshold()
            .min(policy.lifetime_of(record) / 2);
        Some(SessionStatus {
            is_new: !state.record.is_loaded(),
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

    /// The signed-in user's live sessions ([S-08]), for an "active sessions" page: no ids, no
    /// data, and the current one marked. Empty when nobody is signed in, and in stateless mode
    /// (tokens are not listed anywhere).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager, UserId};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let ctx = || RequestContext::new(None, Some("Firefox"));
    /// for _ in 0..2 {
    ///     let session = manager.load(None, ctx()).await?;
    ///     session.login(UserId::new("alice"));
    ///     manager.commit(&session).await?;
    /// }
    /// let session = manager.load(None, ctx()).await?;
    /// assert!(session.list_user_sessions().await?.is_empty(), "nobody signed in");
    /// session.login(UserId::new("alice"));
    /// let sessions = session.list_user_sessions().await?;
    /// assert_eq!(sessions.len(), 2, "this one is not stored yet");
    /// assert_eq!(sessions[0].user_agent.as_deref(), Some("Firefox"));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to list them (transient failures map to 503).
    ///
    /// [S-08]: crate::manual::contracts#s-08
    pub async fn list_user_sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let (user, current) = {
            let state = self.lock();
            let record = state.record.get();
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

    /// Logs the signed-in user out of every session, this one included ([C9]). Returns how many
    /// stored sessions were ended (stateless mode: 0, since tokens are revoked by time). Does
    /// nothing and returns 0 when nobody is signed in.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager, UserId};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// for _ in 0..2 {
    ///     let session = manager.load(None, RequestContext::default()).await?;
    ///     session.login(UserId::new("alice"));
    ///     manager.commit(&session).await?;
    /// }
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.login(UserId::new("alice"));
    /// assert_eq!(session.log_out_everywhere().await?, 2);
    /// assert!(!session.exists(), "this session ends too");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// - [`SessionError::Store`] when the store (or, stateless, the revocation store) fails.
    /// - [`SessionError::NoRevocationStore`] in stateless mode without a
    ///   [`revocation_store`](crate::adapter::SessionManagerBuilder::revocation_store).
    /// - [`SessionError::Conflict`] when the stateless "not before" marker kept losing races to
    ///   concurrent writers of the same marker.
    ///
    /// The session is destroyed only when this succeeds.
    ///
    /// [C9]: crate::manual::contracts#c9
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
