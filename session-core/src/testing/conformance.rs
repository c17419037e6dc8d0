//! The store conformance suite: one `pub async fn` per contract, each taking an isolated store.
//!
//! Call them through [`store_conformance!`](crate::store_conformance), which expands to one named
//! `#[tokio::test]` per function, so a failure names the contract that broke.
//!
//! Two contracts also take the store's [`RawAccess`](super::RawAccess) hook:
//! [`no_session_id_at_rest`] and [`a_corrupt_record_is_a_typed_error`]
//! (`store_conformance!(factory, raw_access)` runs them). The record builders ([`record`],
//! [`record_for`], [`expired_record`], [`renewed`]) are public for stores' own tests.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::id::{SessionId, SessionKey, UserId};
use crate::record::{SessionMetadata, SessionRecord};
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

pub use super::at_rest::{
    a_corrupt_record_is_a_typed_error, assert_no_session_id, no_session_id_at_rest,
    session_id_forms,
};
pub use super::concurrent_requests::{
    concurrent_increments_under_last_write_wins_never_fail,
    concurrent_increments_under_reject_lose_nothing, concurrent_refreshes_all_succeed,
    concurrent_requests_writing_distinct_keys_all_succeed, SCENARIO_TIMEOUT,
};

const HOUR: Duration = Duration::from_secs(3600);

/// How many times each race of the concurrency contracts runs by default: a race lost once in
/// a hundred interleavings still shows.
pub const DEFAULT_RACE_ROUNDS: usize = 100;

/// The environment variable that sets another number of race rounds (a quick local loop, or a
/// long hunt for a rare interleaving).
pub const RACE_ROUNDS_ENV: &str = "SESSION_RACE_ROUNDS";

/// The rounds each race runs: [`RACE_ROUNDS_ENV`] if it holds a positive number, else
/// [`DEFAULT_RACE_ROUNDS`].
pub fn race_rounds() -> usize {
    std::env::var(RACE_ROUNDS_ENV)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .filter(|&rounds| rounds > 0)
        .unwrap_or(DEFAULT_RACE_ROUNDS)
}

/// A fresh record: new random key, created at `t0`, expiring an hour later, with some data.
///
/// Every scenario starts at the real current time, so stores whose engine expires keys on the
/// real clock (Redis TTLs) keep the records the scenario expects however long the run takes.
pub fn record(t0: UnixTime) -> SessionRecord {
    let mut r = SessionRecord::new(SessionId::generate().key(), t0, t0 + HOUR);
    r.data.insert("n".into(), json!(0));
    r.data.insert("note".into(), json!("ünïcode ✓ \"quoted\""));
    r.data
        .insert("nested".into(), json!({"a": [1, 2, {"b": null}]}));
    r.metadata = SessionMetadata {
        auth_provider: Some("password".into()),
        user_agent: Some("conformance/1.0".into()),
        ip: Some("127.0.0.1".into()),
        max_age_secs: None,
    };
    r
}

/// A record that expired an hour before `now` (created two hours before), with no data.
pub fn expired_record(now: UnixTime) -> SessionRecord {
    SessionRecord::new(
        SessionId::generate().key(),
        now.saturating_sub(HOUR * 2),
        now.saturating_sub(HOUR),
    )
}

/// A fresh record belonging to `user`.
pub fn record_for(user: &UserId, t0: UnixTime) -> SessionRecord {
    let mut r = record(t0);
    r.user_id = Some(user.clone());
    r
}

pub(super) fn unique_user(tag: &str) -> UserId {
    UserId::new(format!(
        "{tag}-{}",
        &SessionId::generate().key().to_hex()[..12]
    ))
}

async fn must_load(store: &dyn SessionStore, key: &SessionKey, t0: UnixTime) -> SessionRecord {
    store
        .load(key, t0)
        .await
        .expect("load must succeed")
        .expect("the record must exist")
}

/// `create` then `load` gives back exactly the record, data and metadata included.
pub async fn create_then_load_returns_the_record(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let mut r = record_for(&unique_user("load"), t0);
    r.absolute_expires_at = Some(t0 + HOUR * 2);
    store.create(&r).await.expect("create");
    assert_eq!(must_load(&*store, &r.key, t0).await, r);
}

/// A key nobody created loads as `None`, not as an error.
pub async fn load_of_unknown_key_is_none(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let key = SessionId::generate().key();
    assert_eq!(store.load(&key, t0).await.expect("load"), None);
}

/// S-02: `create` on an existing key is `Collision`, and the stored record stays unchanged.
pub async fn create_collision_keeps_the_original(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let original = record(t0);
    store.create(&original).await.expect("create");
    let mut intruder = original.clone();
    intruder.data.insert("n".into(), json!(999));
    let err = store
        .create(&intruder)
        .await
        .expect_err("second create must fail");
    assert!(matches!(err, StoreError::Collision), "got {err:?}");
    assert_eq!(must_load(&*store, &original.key, t0).await, original);
}

/// S-02 under contention: K tasks create the same key, exactly one succeeds, in each of
/// [`race_rounds`] rounds.
pub async fn concurrent_creates_have_one_winner(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    const K: usize = 16;
    for _ in 0..race_rounds() {
        let base = record(t0);
        let mut tasks = Vec::new();
        for i in 0..K {
            let store = store.clone();
            let mut r = base.clone();
            r.data.insert("writer".into(), json!(i));
            tasks.push(tokio::spawn(async move { store.create(&r).await }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(()) => wins += 1,
                Err(StoreError::Collision) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(wins, 1, "exactly one create may win");
    }
}

/// Expiry is honoured at `load`, whatever the engine's TTL or purge has done (S-23, D6).
pub async fn load_honours_expiry(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let mut r = record(t0);
    r.expires_at = t0 + Duration::from_secs(100);
    store.create(&r).await.expect("create");
    let before = t0 + Duration::from_secs(99);
    let at = t0 + Duration::from_secs(100);
    assert!(store.load(&r.key, before).await.expect("load").is_some());
    assert_eq!(store.load(&r.key, at).await.expect("load"), None);
}

/// The absolute cap ends a record even when its sliding expiry is later (S-19).
pub async fn load_honours_the_absolute_cap(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let mut r = record(t0);
    r.absolute_expires_at = Some(t0 + Duration::from_secs(50));
    store.create(&r).await.expect("create");
    let after_cap = t0 + Duration::from_secs(50);
    assert_eq!(store.load(&r.key, after_cap).await.expect("load"), None);
}

/// C8: a save with the current version succeeds and the new version is stored.
pub async fn save_with_current_version_succeeds(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let r = record(t0);
    store.create(&r).await.expect("create");
    let mut next = r.clone();
    next.version = 2;
    next.data.insert("n".into(), json!(1));
    next.expires_at = t0 + HOUR * 2;
    store.save(&next, 1).await.expect("save");
    assert_eq!(must_load(&*store, &r.key, t0).await, next);
}

/// C8: a save with a stale version is `Conflict` and changes nothing.
pub async fn save_with_stale_version_conflicts(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let r = record(t0);
    store.create(&r).await.expect("create");
    let mut first = r.clone();
    first.version = 2;
    first.data.insert("n".into(), json!(1));
    store.save(&first, 1).await.expect("first save");
    let mut late = r.clone();
    late.version = 2;
    late.data.insert("n".into(), json!(42));
    let err = store
        .save(&late, 1)
        .await
        .expect_err("stale save must fail");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
    assert_eq!(must_load(&*store, &r.key, t0).await, first);
}

/// A delete wins over a late save: the save is `NotFound` and nothing is re-created.
pub async fn save_after_delete_does_not_resurrect(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let r = record_for(&unique_user("resurrect"), t0);
    store.create(&r).await.expect("create");
    store.delete(&r.key).await.expect("delete");
    let mut late = r.clone();
    late.version = 2;
    let err = store
        .save(&late, 1)
        .await
        .expect_err("save of deleted record");
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");
    assert_eq!(store.load(&r.key, t0).await.expect("load"), None);
    let user = r.user_id.as_ref().expect("user");
    assert!(store
        .list_for_user(user, t0)
        .await
        .expect("list")
        .is_empty());
}

/// `delete` removes the record, and deleting again (or a missing key) is fine.
pub async fn delete_is_idempotent(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let r = record(t0);
    store.create(&r).await.expect("create");
    store.delete(&r.key).await.expect("delete");
    assert_eq!(store.load(&r.key, t0).await.expect("load"), None);
    store.delete(&r.key).await.expect("second delete");
    store
        .delete(&SessionId::generate().key())
        .await
        .expect("delete of unknown key");
}

/// The record as the manager renews it: same data, a new key, the next version.
pub fn renewed(old: &SessionRecord) -> SessionRecord {
    let mut new = old.clone();
    new.key = SessionId::generate().key();
    new.version = old.version + 1;
    new
}

/// C6 at the store level: `renew` moves the record to its new key in one step; only the new key
/// loads afterwards and the per-user index follows.
pub async fn renew_moves_the_record_to_a_new_key(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let user = unique_user("renew");
    let old = record_for(&user, t0);
    store.create(&old).await.expect("create");
    let new = renewed(&old);
    store.renew(&old.key, 1, &new).await.expect("renew");
    assert_eq!(store.load(&old.key, t0).await.expect("load"), None);
    assert_eq!(must_load(&*store, &new.key, t0).await, new);
    let listed = store.list_for_user(&user, t0).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, new.key);
    assert_eq!(store.delete_for_user(&user).await.expect("delete"), 1);
}

/// Renewing an anonymous session into a signed-in one (a login) indexes the new key under the
/// user.
pub async fn renew_can_sign_the_session_in(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let old = record(t0);
    store.create(&old).await.expect("create");
    let user = unique_user("login");
    let mut new = renewed(&old);
    new.user_id = Some(user.clone());
    store.renew(&old.key, 1, &new).await.expect("renew");
    let listed = store.list_for_user(&user, t0).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, new.key);
}

/// C8: a renew from a stale version is `Conflict` and changes nothing: the old record keeps the
/// other writer's data and the new key stays empty.
pub async fn renew_from_a_stale_version_conflicts(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let old = record_for(&unique_user("stale-renew"), t0);
    store.create(&old).await.expect("create");
    let mut saved = old.clone();
    saved.version = 2;
    saved.data.insert("n".into(), json!(7));
    store.save(&saved, 1).await.expect("save");
    let new = renewed(&old);
    let err = store
        .renew(&old.key, 1, &new)
        .await
        .expect_err("stale renew must fail");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
    assert_eq!(must_load(&*store, &old.key, t0).await, saved);
    assert_eq!(store.load(&new.key, t0).await.expect("load"), None);
}

/// A logout that lands first wins: renewing a deleted record is `NotFound` and creates nothing.
pub async fn renew_after_delete_creates_nothing(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let user = unique_user("renew-deleted");
    let old = record_for(&user, t0);
    store.create(&old).await.expect("create");
    store.delete(&old.key).await.expect("delete");
    let new = renewed(&old);
    let err = store
        .renew(&old.key, 1, &new)
        .await
        .expect_err("renew of a deleted record");
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");
    assert_eq!(store.load(&new.key, t0).await.expect("load"), None);
    assert!(store
        .list_for_user(&user, t0)
        .await
        .expect("list")
        .is_empty());
}

/// S-02 for renew: a new key that is taken is `Collision`; both records stay as they were.
pub async fn renew_onto_a_taken_key_collides(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let old = record(t0);
    let other = record(t0);
    store.create(&old).await.expect("create");
    store.create(&other).await.expect("create");
    let mut new = renewed(&old);
    new.key = other.key;
    let err = store
        .renew(&old.key, 1, &new)
        .await
        .expect_err("renew onto a taken key");
    assert!(matches!(err, StoreError::Collision), "got {err:?}");
    assert_eq!(must_load(&*store, &old.key, t0).await, old);
    assert_eq!(must_load(&*store, &other.key, t0).await, other);
}

/// C6/C8 under contention, [`race_rounds`] times: a renew racing a delete of the same session
/// (a logout in another tab). Whichever lands first, the outcome is one of the two serial
/// orders: renew then delete (the new record lives, the old is gone) or delete then renew
/// (`NotFound`, nothing lives).
pub async fn concurrent_renew_and_delete_serialise(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    for _ in 0..race_rounds() {
        let old = record_for(&unique_user("race-delete"), t0);
        store.create(&old).await.expect("create");
        let new = renewed(&old);
        let renewing = {
            let (store, old_key, new) = (store.clone(), old.key, new.clone());
            tokio::spawn(async move { store.renew(&old_key, 1, &new).await })
        };
        let deleting = {
            let (store, old_key) = (store.clone(), old.key);
            tokio::spawn(async move { store.delete(&old_key).await })
        };
        deleting.await.expect("task").expect("delete");
        let renewed_ok = match renewing.await.expect("task") {
            Ok(()) => true,
            Err(StoreError::NotFound) => false,
            Err(other) => panic!("unexpected error {other:?}"),
        };
        assert_eq!(store.load(&old.key, t0).await.expect("load"), None);
        let new_lives = store.load(&new.key, t0).await.expect("load").is_some();
        assert_eq!(
            new_lives, renewed_ok,
            "the new record lives iff the renew won"
        );
    }
}

/// C9 under contention, [`race_rounds`] times: "log out everywhere" racing a renew of one of
/// the user's sessions ends it either way: no session of the user survives under the old or the
/// new key.
pub async fn concurrent_renew_and_delete_for_user_leave_nothing(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    for _ in 0..race_rounds() {
        let user = unique_user("race-everywhere");
        let old = record_for(&user, t0);
        store.create(&old).await.expect("create");
        let new = renewed(&old);
        let renewing = {
            let (store, old_key, new) = (store.clone(), old.key, new.clone());
            tokio::spawn(async move { store.renew(&old_key, 1, &new).await })
        };
        let ending = {
            let (store, user) = (store.clone(), user.clone());
            tokio::spawn(async move { store.delete_for_user(&user).await })
        };
        let ended = ending.await.expect("task").expect("delete_for_user");
        match renewing.await.expect("task") {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
        assert_eq!(ended, 1, "exactly the one session was ended");
        assert_eq!(store.load(&old.key, t0).await.expect("load"), None);
        assert_eq!(store.load(&new.key, t0).await.expect("load"), None);
        assert!(store
            .list_for_user(&user, t0)
            .await
            .expect("list")
            .is_empty());
    }
}

/// C8 under contention, [`race_rounds`] times: a renew racing a save from the same loaded
/// version. Exactly one wins: the save (the renew is `Conflict`, the new key empty) or the
/// renew (the save is `NotFound`).
pub async fn concurrent_renew_and_save_have_one_winner(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    for _ in 0..race_rounds() {
        let old = record_for(&unique_user("race-save"), t0);
        store.create(&old).await.expect("create");
        let new = renewed(&old);
        let mut saved = old.clone();
        saved.version = 2;
        saved.data.insert("n".into(), json!(1));
        let renewing = {
            let (store, old_key, new) = (store.clone(), old.key, new.clone());
            tokio::spawn(async move { store.renew(&old_key, 1, &new).await })
        };
        let saving = {
            let (store, saved) = (store.clone(), saved.clone());
            tokio::spawn(async move { store.save(&saved, 1).await })
        };
        let renew = renewing.await.expect("task");
        let save = saving.await.expect("task");
        match (renew, save) {
            (Ok(()), Err(StoreError::NotFound)) => {
                assert_eq!(must_load(&*store, &new.key, t0).await, new);
                assert_eq!(store.load(&old.key, t0).await.expect("load"), None);
            }
            (Err(StoreError::Conflict), Ok(())) => {
                assert_eq!(must_load(&*store, &old.key, t0).await, saved);
                assert_eq!(store.load(&new.key, t0).await.expect("load"), None);
            }
            other => panic!("not a serial outcome: {other:?}"),
        }
    }
}

/// C9/S-08: `delete_for_user` deletes exactly that user's sessions and counts them.
pub async fn delete_for_user_deletes_only_that_user(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let u = unique_user("u");
    let v = unique_user("v");
    let mine: Vec<SessionRecord> = (0..3).map(|_| record_for(&u, t0)).collect();
    let theirs: Vec<SessionRecord> = (0..2).map(|_| record_for(&v, t0)).collect();
    for r in mine.iter().chain(&theirs) {
        store.create(r).await.expect("create");
    }
    let anonymous = record(t0);
    store.create(&anonymous).await.expect("create");
    assert_eq!(store.delete_for_user(&u).await.expect("delete_for_user"), 3);
    for r in &mine {
        assert_eq!(store.load(&r.key, t0).await.expect("load"), None);
    }
    for r in theirs.iter().chain(std::iter::once(&anonymous)) {
        assert!(store.load(&r.key, t0).await.expect("load").is_some());
    }
    assert!(store.list_for_user(&u, t0).await.expect("list").is_empty());
    assert_eq!(store.delete_for_user(&u).await.expect("again"), 0);
}

/// S-08: `list_for_user` gives the user's live sessions only, with their metadata.
pub async fn list_for_user_lists_live_sessions(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let u = unique_user("list");
    let live = record_for(&u, t0);
    let mut expired = record_for(&u, t0);
    expired.expires_at = t0 + Duration::from_secs(10);
    let other = record_for(&unique_user("other"), t0);
    for r in [&live, &expired, &other] {
        store.create(r).await.expect("create");
    }
    let later = t0 + Duration::from_secs(20);
    let listed = store.list_for_user(&u, later).await.expect("list");
    assert_eq!(listed.len(), 1, "only the live session of this user");
    assert_eq!(listed[0].key, live.key);
    assert_eq!(listed[0].metadata, live.metadata);
}

/// Logging in changes a record's user: the per-user indexes follow the save.
pub async fn save_moves_the_record_between_users(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let r = record(t0);
    store.create(&r).await.expect("create");
    let alice = unique_user("alice");
    let bob = unique_user("bob");
    let mut as_alice = r.clone();
    as_alice.user_id = Some(alice.clone());
    as_alice.version = 2;
    store.save(&as_alice, 1).await.expect("save alice");
    assert_eq!(
        store.list_for_user(&alice, t0).await.expect("list").len(),
        1
    );
    let mut as_bob = as_alice.clone();
    as_bob.user_id = Some(bob.clone());
    as_bob.version = 3;
    store.save(&as_bob, 2).await.expect("save bob");
    assert!(store
        .list_for_user(&alice, t0)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(store.list_for_user(&bob, t0).await.expect("list").len(), 1);
    assert_eq!(store.delete_for_user(&alice).await.expect("delete"), 0);
    assert_eq!(store.delete_for_user(&bob).await.expect("delete"), 1);
}

/// `purge_expired` removes expired records and keeps live ones; a store whose engine expires
/// records itself may return 0, but the expired record must be gone either way.
pub async fn purge_expired_removes_only_expired(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let user = unique_user("purge");
    let live = record_for(&user, t0);
    let mut dead = record_for(&user, t0);
    dead.expires_at = t0 + Duration::from_secs(5);
    store.create(&live).await.expect("create");
    store.create(&dead).await.expect("create");
    let later = t0 + Duration::from_secs(10);
    let purged = store.purge_expired(later).await.expect("purge");
    if store.caps().expires_natively {
        assert!(purged <= 1);
    } else {
        assert!(
            purged >= 1,
            "the expired record must be purged, got {purged}"
        );
    }
    assert_eq!(store.load(&dead.key, later).await.expect("load"), None);
    assert!(store.load(&live.key, later).await.expect("load").is_some());
    let listed = store.list_for_user(&user, later).await.expect("list");
    assert_eq!(listed.len(), 1);
}

/// S-04/C13: the stored key, presented as if it were a session id, finds nothing (no lookup
/// ever falls back to raw keys).
pub async fn stored_key_used_as_an_id_finds_nothing(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let id = SessionId::generate();
    let mut r = record(t0);
    r.key = id.key();
    store.create(&r).await.expect("create");
    let forged = SessionId::from_bytes(*r.key.as_bytes());
    assert_eq!(store.load(&forged.key(), t0).await.expect("load"), None);
    assert!(store.load(&id.key(), t0).await.expect("load").is_some());
}

/// C8/S-32: 64 writers load version n and save; exactly one wins each of [`race_rounds`]
/// rounds, and the stored record is that writer's whole record.
pub async fn concurrent_writers_have_one_winner_per_version(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    const WRITERS: usize = 64;
    let rounds = race_rounds() as u64;
    let user = unique_user("writers");
    let base = record_for(&user, t0);
    store.create(&base).await.expect("create");
    for round in 0..rounds {
        let loaded = must_load(&*store, &base.key, t0).await;
        assert_eq!(loaded.version, round + 1);
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let store = store.clone();
            let mut next = loaded.clone();
            next.version = loaded.version + 1;
            next.data.insert("writer".into(), json!(writer));
            next.data.insert("round".into(), json!(round));
            tasks.push(tokio::spawn(async move {
                let res = store.save(&next, loaded.version).await;
                (writer, res)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.expect("task") {
                (w, Ok(())) => winners.push(w),
                (_, Err(StoreError::Conflict)) => {}
                (_, Err(other)) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one writer wins");
        let stored = must_load(&*store, &base.key, t0).await;
        assert_eq!(
            stored.data["writer"],
            json!(winners[0]),
            "the winner's record"
        );
        assert_eq!(stored.data["round"], json!(round));
    }
    let listed = store.list_for_user(&user, t0).await.expect("list");
    assert_eq!(
        listed.len(),
        1,
        "the index still holds exactly the one record"
    );
}

/// C8: N tasks × M increments with load/save/retry-on-conflict lose no update.
pub async fn concurrent_increments_lose_no_update(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    const TASKS: u64 = 8;
    const INCREMENTS: u64 = 10;
    let base = record(t0);
    store.create(&base).await.expect("create");
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        let key = base.key;
        tasks.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                loop {
                    let mut r = must_load(&*store, &key, t0).await;
                    let n = r.data["n"].as_u64().expect("counter");
                    r.data.insert("n".into(), Value::from(n + 1));
                    let expected = r.version;
                    r.version += 1;
                    match store.save(&r, expected).await {
                        Ok(()) => break,
                        Err(StoreError::Conflict) => tokio::task::yield_now().await,
                        Err(other) => panic!("unexpected error {other:?}"),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let last = must_load(&*store, &base.key, t0).await;
    assert_eq!(last.data["n"], json!(TASKS * INCREMENTS));
    assert_eq!(last.version, 1 + TASKS * INCREMENTS);
}

/// A record near the cookie-sized upper end of what applications store (about 16 KiB of data)
/// round-trips unchanged.
pub async fn large_records_round_trip(store: Arc<dyn SessionStore>) {
    let t0 = UnixTime::now();
    let mut r = record(t0);
    let blob: String = "x".repeat(16 * 1024);
    r.data.insert("blob".into(), json!(blob));
    store.create(&r).await.expect("create");
    assert_eq!(must_load(&*store, &r.key, t0).await, r);
}
