//! Loading: the `Cookie` header to a [`Session`], with the reason logged when a cookie is
//! refused ([C1], [C2]).
//!
//! [C1]: crate::manual::contracts#c1
//! [C2]: crate::manual::contracts#c2

use crate::codec::RejectReason;
use crate::error::SessionError;
use crate::events::{log_failure, log_rejection, Operation};
use crate::merge::Access;
use crate::record::SessionRecord;
use crate::session::{RequestContext, Session};
use crate::state::{Change, Loaded, Origin, Prior, Record, Source, State};
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

use super::{Mode, SessionManager};

impl SessionManager {
    /// Loads the session for a request from its whole `Cookie` header (`None` if absent): the
    /// session cookie is found by the policy's cookie name (the first occurrence), then loaded as
    /// [`load`](Self::load) does.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let header = "theme=dark; session=forged.value; lang=en";
    /// let session = manager.load_from_header(Some(header), RequestContext::default()).await?;
    /// assert!(!session.exists(), "a forged cookie is no session");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), which also logs the failure.
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
    /// A missing cookie gives an empty session ([C1]); an invalid one gives an empty session that
    /// will clear the cookie, with an event naming the reason ([C2]). Only a failing store is an
    /// error, and then the client's cookie is left alone ([C14]).
    ///
    /// A failure is logged once, here: one `tracing` event at WARN, message `session operation
    /// failed`, with the fields `operation = "load"`, `status` (the error's
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
    /// assert!(!session.exists(), "no cookie: an empty session");
    /// session.insert("theme", "dark")?;
    /// let CookieUpdate::Set(cookie) = manager.commit(&session).await? else { panic!() };
    /// let value = cookie.split(';').next().unwrap().strip_prefix("session=").unwrap();
    ///
    /// let session = manager.load(Some(value), RequestContext::default()).await?;
    /// assert_eq!(session.get::<String>("theme")?.as_deref(), Some("dark"));
    ///
    /// switch.fail(StoreOp::Load); // the engine is gone
    /// let err = manager.load(Some(value), RequestContext::default()).await.unwrap_err();
    /// assert_eq!(err.status_code(), 503);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// - [`SessionError::Store`] when the store fails to load the record (stateful mode), to delete
    ///   a record found corrupt, or to read the user's "not before" marker (stateless mode with a
    ///   revocation store). A transient failure (unavailable, timeout, ...) maps to 503, a damaged
    ///   engine to 500.
    ///
    /// An invalid, expired, revoked or unknown cookie is not an error: it is an empty session.
    ///
    /// [C1]: crate::manual::contracts#c1
    /// [C2]: crate::manual::contracts#c2
    /// [C14]: crate::manual::contracts#c14
    pub async fn load(
        &self,
        cookie: Option<&str>,
        ctx: RequestContext,
    ) -> Result<Session, SessionError> {
        let loaded = self.load_cookie(cookie, ctx).await;
        if let Err(error) = &loaded {
            log_failure(Operation::Load, error);
        }
        loaded
    }

    /// [`load`](Self::load) without the failure event.
    async fn load_cookie(
        &self,
        cookie: Option<&str>,
        ctx: RequestContext,
    ) -> Result<Session, SessionError> {
        let now = self.now();
        let record = match cookie {
            None => Record::Absent(Prior::NoCookie),
            Some(value) => match self.decode(value, now).await? {
                Ok(valid) => {
                    let policy = &self.0.policy;
                    let origin = Origin {
                        source: valid.source,
                        version: valid.record.version,
                        deadline: policy.deadline(&valid.record),
                        refresh_due: policy.should_refresh(&valid.record, now),
                        stale_key: valid.stale_key,
                    };
                    Record::Loaded {
                        loaded: Loaded {
                            record: valid.record,
                            origin,
                            access: Access::default(),
                        },
                        change: Change::None,
                    }
                }
                Err(reason) => {
                    log_rejection(reason);
                    Record::Absent(Prior::Rejected)
                }
            },
        };
        Ok(Session::new(State::new(record, ctx, now), self.clone()))
    }

    /// Decodes and validates a cookie value: `Ok(Err(reason))` for an invalid cookie,
    /// `Err(..)` only for a store failure.
    async fn decode(
        &self,
        value: &str,
        now: UnixTime,
    ) -> Result<Result<Valid, RejectReason>, SessionError> {
        let valid = match &self.0.mode {
            Mode::Stateless { codec, revocations } => {
                let decoded = match codec.decode(value, now) {
                    Ok(d) => d,
                    Err(reason) => return Ok(Err(reason)),
                };
                let record = decoded.payload;
                if let Some(store) = revocations {
                    if self.is_token_revoked(&**store, &record.key, now).await? {
                        return Ok(Err(RejectReason::Revoked));
                    }
                }
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
                Valid {
                    record,
                    source: Source::Token { not_before },
                    stale_key: decoded.stale_key,
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
                Valid {
                    record,
                    source: Source::Store {
                        id: decoded.payload,
                    },
                    stale_key: decoded.stale_key,
                }
            }
        };
        if let Some(reason) = self.0.policy.rejection(&valid.record, now) {
            return Ok(Err(reason));
        }
        Ok(Ok(valid))
    }
}

/// A decoded, valid session cookie: the record and where it came from.
struct Valid {
    record: SessionRecord,
    source: Source,
    /// Signed with an older key of the ring.
    stale_key: bool,
}
