//! What a [`Session`](crate::Session) handle records during a request, as enums whose variants
//! carry their data, and the [`CommitPlan`] that `SessionManager::commit` carries out.
//!
//! The handle's methods move a [`Record`] between its variants; at commit the final record becomes
//! one plan ([`Record::into_plan`]), so the manager decides nothing from loose flags: it matches on
//! the plan once. The variants rule out the combinations the old flags allowed but never meant
//! (a renewal of a session that was never stored, a key to delete while the session is still
//! loaded, a loaded version without a record).

use crate::id::{SessionId, SessionKey};
use crate::merge::Access;
use crate::record::SessionRecord;
use crate::session::RequestContext;
use crate::time::UnixTime;

/// The state of one handle.
#[derive(Debug)]
pub(crate) struct State {
    /// The session's record and where it came from.
    pub(crate) record: Record,
    /// Who made the request: recorded in a new record's metadata.
    pub(crate) ctx: RequestContext,
    /// The time at load, which every decision the handle makes uses.
    pub(crate) now: UnixTime,
    /// Set by the first commit: committing the same handle again does nothing. The request is
    /// over then; the handle still answers reads and writes, but nothing more is stored.
    pub(crate) committed: bool,
}

/// The handle's record, by where it came from.
#[derive(Debug)]
pub(crate) enum Record {
    /// No session. [`Prior`] says what became of the request's cookie.
    Absent(Prior),
    /// Made by a write during this request ([C1]); not stored yet. Committed with a `create` when
    /// `changed` (a write that left the empty record as it was does not count). `prior` is what
    /// became of the request's cookie before this record was made.
    ///
    /// [C1]: crate::manual::contracts#c1
    New {
        /// The id the record is created under (stateful mode; a stateless token carries the
        /// record instead, and this id goes unused).
        id: SessionId,
        /// The record, keyed by the hash of `id`.
        record: SessionRecord,
        /// Whether the handler wrote anything into it.
        changed: bool,
        /// What became of the request's cookie.
        prior: Prior,
    },
    /// Valid at load: the cookie's token (stateless) or the store's record under the cookie's id
    /// (stateful). Only a loaded record can be renewed, and only its accesses are tracked, since a
    /// record made during this request has nobody to race with ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    Loaded {
        /// The record and what loading found.
        loaded: Loaded,
        /// What the handler asked of it.
        change: Change,
    },
}

/// What became of the request's cookie while there is no loaded record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prior {
    /// The request came without a session cookie: nothing to undo.
    NoCookie,
    /// The cookie was refused at load ([C2]): the commit clears it, unless a new session replaces
    /// it.
    ///
    /// [C2]: crate::manual::contracts#c2
    Rejected,
    /// The loaded session was destroyed ([C7]): the commit deletes the record under this key
    /// (stateful mode) and clears the cookie, unless a new session replaces it.
    ///
    /// [C7]: crate::manual::contracts#c7
    Destroyed(SessionKey),
}

impl Prior {
    /// The key of the destroyed record to delete at commit, if any.
    fn destroyed(self) -> Option<SessionKey> {
        match self {
            Prior::Destroyed(key) => Some(key),
            Prior::NoCookie | Prior::Rejected => None,
        }
    }
}

/// A loaded record, what the handler did with its data, and what loading found.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The record, with the handler's changes applied.
    pub(crate) record: SessionRecord,
    /// What loading found; fixed for the request.
    pub(crate) origin: Origin,
    /// The keys the handler read and wrote, with their values as loaded ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    pub(crate) access: Access,
}

/// What loading a valid cookie found.
#[derive(Debug)]
pub(crate) struct Origin {
    /// Token or store.
    pub(crate) source: Source,
    /// The record's version as loaded: saves, renewals and deletes are conditional on it ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    pub(crate) version: u64,
    /// When the loaded session would have ended: a stateful commit that moves it re-issues the
    /// cookie, so the cookie lives as long as the session.
    pub(crate) deadline: UnixTime,
    /// Less than the refresh threshold was left, or half the idle timeout had passed ([C4]): the
    /// commit extends the expiry even if nothing changed.
    ///
    /// [C4]: crate::manual::contracts#c4
    pub(crate) refresh_due: bool,
    /// The cookie was signed with an older key of the ring ([C11]): the commit re-issues it under
    /// the current key even if nothing changed.
    ///
    /// [C11]: crate::manual::contracts#c11
    pub(crate) stale_key: bool,
}

/// Where a loaded record came from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Stateless mode: the cookie was a token carrying the whole record.
    Token {
        /// With a revocation store and a signed-in user, the user's "log out everywhere" time as
        /// read at load (`Some(None)`: the user has none); `None` when it was not read.
        not_before: Option<Option<UnixTime>>,
    },
    /// Stateful mode: the record came from the store under the cookie's id.
    Store {
        /// The cookie's id.
        id: SessionId,
    },
}

/// What the handler asked of a loaded session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing, or reads only: the commit does only the bookkeeping that is due, and otherwise
    /// writes nothing and sends no cookie ([C5]).
    ///
    /// [C5]: crate::manual::contracts#c5
    None,
    /// Data, user or lifetime changed: saved (stateful) or re-issued (stateless). `extend`:
    /// [`Session::set_max_age`](crate::Session::set_max_age) gave the session a new lifetime, so
    /// the commit recomputes its expiry as a due refresh would.
    Write {
        /// The expiry is recomputed at commit.
        extend: bool,
    },
    /// A new id with the same data at commit ([C6]), asked by `renew()` or `login()`; `write`:
    /// something changed as well (always, for a login). A renewal always recomputes the expiry.
    ///
    /// [C6]: crate::manual::contracts#c6
    Renew {
        /// The handler changed something besides the id.
        write: bool,
    },
}

impl Change {
    /// The change after the handler writes data, the user or the lifetime (`extend`).
    fn written(self, extend: bool) -> Change {
        match self {
            Change::None => Change::Write { extend },
            Change::Write { extend: before } => Change::Write {
                extend: before || extend,
            },
            Change::Renew { .. } => Change::Renew { write: true },
        }
    }

    /// The change after the handler asks for a new id.
    fn renewed(self) -> Change {
        Change::Renew {
            write: self != Change::None,
        }
    }
}

/// What a commit does, computed from the handle's final record by [`Record::into_plan`].
#[derive(Debug)]
pub(crate) enum CommitPlan {
    /// No write and no `Set-Cookie` ([C1], [C5]).
    ///
    /// [C1]: crate::manual::contracts#c1
    /// [C5]: crate::manual::contracts#c5
    Nothing,
    /// Clear the client's cookie: it was refused at load ([C2]), or its session was destroyed
    /// ([C7]) and `delete` is the destroyed record's key.
    ///
    /// [C2]: crate::manual::contracts#c2
    /// [C7]: crate::manual::contracts#c7
    RemoveCookie {
        /// The destroyed record, deleted in stateful mode.
        delete: Option<SessionKey>,
    },
    /// Store the session made during this request and set its cookie; `delete` is a record the
    /// request destroyed before it, deleted first.
    Create {
        /// The destroyed record, deleted first in stateful mode.
        delete: Option<SessionKey>,
        /// The new id.
        id: SessionId,
        /// The new record.
        record: SessionRecord,
    },
    /// Move the loaded session to a new id, conditionally on the loaded version ([C6], [S-06]).
    ///
    /// [C6]: crate::manual::contracts#c6
    /// [S-06]: crate::manual::contracts#s-06
    Renew {
        /// The loaded session.
        loaded: Loaded,
        /// The handler changed something besides the id.
        changed: bool,
    },
    /// The handler changed the loaded session: save it with the conflict model (stateful, [C8]) or
    /// re-issue the token (stateless).
    ///
    /// [C8]: crate::manual::contracts#c8
    Save {
        /// The loaded session.
        loaded: Loaded,
        /// Recompute the expiry (a refresh was due, or a new lifetime was set).
        extend: bool,
    },
    /// Bookkeeping only: a refresh was due or the cookie was signed with an old key. Like a
    /// save, but it never fails for a race ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    Refresh {
        /// The loaded session.
        loaded: Loaded,
        /// Recompute the expiry (a refresh was due; otherwise only the key is stale).
        extend: bool,
    },
}

impl State {
    /// A handle's state at load: `record` is [`Record::Absent`] or [`Record::Loaded`].
    pub(crate) fn new(record: Record, ctx: RequestContext, now: UnixTime) -> State {
        State {
            record,
            ctx,
            now,
            committed: false,
        }
    }
}

impl Record {
    /// The plan for the record left at the end of the request.
    pub(crate) fn into_plan(self) -> CommitPlan {
        match self {
            Record::Absent(Prior::NoCookie) => CommitPlan::Nothing,
            Record::Absent(prior) => CommitPlan::RemoveCookie {
                delete: prior.destroyed(),
            },
            Record::New {
                id,
                record,
                changed: true,
                prior,
            } => CommitPlan::Create {
                delete: prior.destroyed(),
                id,
                record,
            },
            // An empty record nobody wrote to is no session. A refused cookie is then left
            // alone; a destroyed session is still deleted and its cookie cleared.
            Record::New { prior, .. } => match prior.destroyed() {
                Some(key) => CommitPlan::RemoveCookie { delete: Some(key) },
                None => CommitPlan::Nothing,
            },
            Record::Loaded { loaded, change } => {
                let refresh_due = loaded.origin.refresh_due;
                match change {
                    Change::Renew { write } => CommitPlan::Renew {
                        loaded,
                        changed: write,
                    },
                    Change::Write { extend } => CommitPlan::Save {
                        loaded,
                        extend: extend || refresh_due,
                    },
                    Change::None if refresh_due || loaded.origin.stale_key => CommitPlan::Refresh {
                        loaded,
                        extend: refresh_due,
                    },
                    Change::None => CommitPlan::Nothing,
                }
            }
        }
    }

    /// The record, if there is a session.
    pub(crate) fn get(&self) -> Option<&SessionRecord> {
        match self {
            Record::Absent(_) => None,
            Record::New { record, .. }
            | Record::Loaded {
                loaded: Loaded { record, .. },
                ..
            } => Some(record),
        }
    }

    /// The record to change, if there is a session.
    pub(crate) fn get_mut(&mut self) -> Option<&mut SessionRecord> {
        match self {
            Record::Absent(_) => None,
            Record::New { record, .. }
            | Record::Loaded {
                loaded: Loaded { record, .. },
                ..
            } => Some(record),
        }
    }

    /// The record, made by `make` (a fresh id and an empty record) if there is none.
    pub(crate) fn get_or_create(
        &mut self,
        make: impl FnOnce() -> (SessionId, SessionRecord),
    ) -> &mut SessionRecord {
        if let Record::Absent(prior) = *self {
            let (id, record) = make();
            *self = Record::New {
                id,
                record,
                changed: false,
                prior,
            };
        }
        match self {
            Record::New { record, .. }
            | Record::Loaded {
                loaded: Loaded { record, .. },
                ..
            } => record,
            // Invariant: replaced by `New` just above.
            Record::Absent(_) => unreachable!("an absent record was just created"),
        }
    }

    /// Whether the record came from the request's cookie (not made during this request).
    pub(crate) fn is_loaded(&self) -> bool {
        matches!(self, Record::Loaded { .. })
    }

    /// Whether the handler changed the session (for `Debug`).
    pub(crate) fn is_changed(&self) -> bool {
        match self {
            Record::Absent(_) => false,
            Record::New { changed, .. } => *changed,
            Record::Loaded { change, .. } => {
                matches!(change, Change::Write { .. } | Change::Renew { write: true })
            }
        }
    }

    /// Whether the commit gives the session a new id (for `Debug`).
    pub(crate) fn renews(&self) -> bool {
        matches!(
            self,
            Record::Loaded {
                change: Change::Renew { .. },
                ..
            }
        )
    }

    /// Records that the handler wrote data, the user or the lifetime (`extend`).
    pub(crate) fn mark_written(&mut self, extend: bool) {
        match self {
            Record::Absent(_) => {}
            Record::New { changed, .. } => *changed = true,
            Record::Loaded { change, .. } => *change = change.written(extend),
        }
    }

    /// Asks for a new id at commit: only a loaded session has one to replace (a new session gets
    /// its first id at commit anyway).
    pub(crate) fn renew(&mut self) {
        if let Record::Loaded { change, .. } = self {
            *change = change.renewed();
        }
    }

    /// Ends the session: a loaded one is deleted at commit; one made during this request is
    /// dropped, leaving what was before it.
    pub(crate) fn destroy(&mut self) {
        let prior = match self {
            Record::Absent(_) => return,
            Record::New { prior, .. } => *prior,
            Record::Loaded { loaded, .. } => Prior::Destroyed(loaded.record.key),
        };
        *self = Record::Absent(prior);
    }

    /// Records a read or write of `key`, before the change, when the record was loaded.
    pub(crate) fn touch(&mut self, key: &str, written: bool) {
        if let Record::Loaded {
            loaded: Loaded { record, access, .. },
            ..
        } = self
        {
            access.touch(key, &record.data, written);
        }
    }

    /// [`touch`](Self::touch) for the whole data.
    pub(crate) fn touch_all(&mut self, written: bool) {
        if let Record::Loaded {
            loaded: Loaded { record, access, .. },
            ..
        } = self
        {
            access.touch_all(&record.data, written);
        }
    }

    /// [`touch`](Self::touch) for the user and metadata.
    pub(crate) fn touch_identity(&mut self) {
        if let Record::Loaded {
            loaded: Loaded { record, access, .. },
            ..
        } = self
        {
            access.touch_identity(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(refresh_due: bool, stale_key: bool) -> Record {
        let id = SessionId::generate();
        let now = UnixTime::from_secs(1_000);
        Record::Loaded {
            loaded: Loaded {
                record: SessionRecord::new(id.key(), now, now + std::time::Duration::from_secs(60)),
                origin: Origin {
                    source: Source::Store { id },
                    version: 1,
                    deadline: now,
                    refresh_due,
                    stale_key,
                },
                access: Access::default(),
            },
            change: Change::None,
        }
    }

    fn fresh() -> (SessionId, SessionRecord) {
        let id = SessionId::generate();
        let now = UnixTime::from_secs(1_000);
        let record = SessionRecord::new(id.key(), now, now);
        (id, record)
    }

    #[test]
    fn reads_plan_nothing_and_bookkeeping_plans_a_refresh() {
        assert!(matches!(
            loaded(false, false).into_plan(),
            CommitPlan::Nothing
        ));
        assert!(matches!(
            loaded(true, false).into_plan(),
            CommitPlan::Refresh { extend: true, .. }
        ));
        assert!(matches!(
            loaded(false, true).into_plan(),
            CommitPlan::Refresh { extend: false, .. }
        ));
    }

    #[test]
    fn a_login_renews_and_a_renewal_keeps_the_writes() {
        let mut record = loaded(false, false);
        record.mark_written(false);
        record.renew();
        assert!(matches!(
            record.into_plan(),
            CommitPlan::Renew { changed: true, .. }
        ));
        let mut record = loaded(true, false);
        record.renew();
        assert!(matches!(
            record.into_plan(),
            CommitPlan::Renew { changed: false, .. }
        ));
    }

    #[test]
    fn a_new_lifetime_extends_the_expiry_at_save() {
        let mut record = loaded(false, false);
        record.mark_written(true);
        record.mark_written(false);
        assert!(matches!(
            record.into_plan(),
            CommitPlan::Save { extend: true, .. }
        ));
    }

    #[test]
    fn a_destroyed_session_is_deleted_even_when_a_new_one_replaces_it() {
        let mut record = loaded(false, false);
        let key = record.get().map(|r| r.key);
        record.destroy();
        assert!(matches!(
            record.into_plan(),
            CommitPlan::RemoveCookie { delete } if delete == key
        ));

        let mut record = loaded(false, false);
        record.destroy();
        record.get_or_create(fresh);
        record.mark_written(false);
        assert!(matches!(
            record.into_plan(),
            CommitPlan::Create {
                delete: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn a_new_session_cannot_be_renewed_and_destroying_it_restores_what_was_before() {
        let mut record = Record::Absent(Prior::Rejected);
        record.get_or_create(fresh);
        record.mark_written(false);
        record.renew();
        assert!(!record.renews());
        assert!(matches!(
            record.into_plan(),
            CommitPlan::Create { delete: None, .. }
        ));

        let mut record = Record::Absent(Prior::Rejected);
        record.get_or_create(fresh);
        record.destroy();
        assert!(matches!(
            record.into_plan(),
            CommitPlan::RemoveCookie { delete: None }
        ));
        let mut record = Record::Absent(Prior::NoCookie);
        record.get_or_create(fresh);
        record.destroy();
        assert!(matches!(record.into_plan(), CommitPlan::Nothing));
    }
}
