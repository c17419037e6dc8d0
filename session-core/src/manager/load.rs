//! Loading: the `Cookie` header to a [`Session`], with the reason logged when a cookie is
//! refused (C1, C2).

use crate::codec::RejectReason;
use crate::error::SessionError;
use crate::events::log_rejection;
use crate::id::SessionId;
use crate::record::SessionRecord;
use crate::session::{RequestContext, Session, State};
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

use super::{Mode, SessionManager};

impl SessionManager {
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
}

/// A decoded, valid session cookie and what loading it found.
pub(super) struct Loaded {
    /// The cookie's session id (stateful mode).
    id: Option<SessionId>,
    record: SessionRecord,
    stale_key: bool,
    /// Stateless mode with a revocation store: `Some(marker)` when the user's "log out
    /// everywhere" time was read at load (`Some(None)`: the user has none).
    not_before: Option<Option<UnixTime>>,
}
