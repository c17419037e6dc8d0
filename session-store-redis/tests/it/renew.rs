//! `renew` beyond the conformance suite: what it leaves in Redis (keys, expiries, index entries),
//! including the renews that change the session's user and so need the old user's index.

use std::time::Duration;

use session_core::testing::conformance::renewed;
use session_core::{
    store::{SessionId, SessionRecord, StoreError},
    SessionStore, UnixTime, UserId,
};

use crate::common;

fn record_for(user: Option<&UserId>, lifetime: Duration) -> SessionRecord {
    common::record_lasting(user, UnixTime::now(), lifetime)
}

#[tokio::test]
async fn renew_writes_the_new_key_like_create_and_moves_the_index_entry() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let user = UserId::new("renewing");
    let index_key = format!("{}u:renewing", guard.prefix);
    let old = record_for(Some(&user), Duration::from_secs(600));
    store.create(&old).await.expect("create");
    let mut new = renewed(&old);
    new.expires_at = new.expires_at + Duration::from_secs(600);
    store.renew(&old.key, 1, &new).await.expect("renew");

    let new_key = format!("{}s:{}", guard.prefix, new.key.to_hex());
    let mut keys = guard.keys();
    keys.sort();
    let mut expected = vec![new_key.clone(), index_key.clone()];
    expected.sort();
    assert_eq!(
        keys, expected,
        "the old record is gone, nothing else was written"
    );
    let expiry = new.expires_at.as_secs();
    assert_eq!(
        common::expire_time(&mut raw, &new_key).await,
        i64::try_from(expiry).expect("fits")
    );
    assert_eq!(
        common::index(&mut raw, &index_key).await,
        vec![(new.key.to_hex(), expiry)],
        "the entry moved and carries the new expiry"
    );
    assert_eq!(
        common::expire_time(&mut raw, &index_key).await,
        i64::try_from(expiry).expect("fits")
    );
    let user_field: Option<String> = redis::cmd("HGET")
        .arg(&new_key)
        .arg("u")
        .query_async(&mut raw)
        .await
        .expect("HGET");
    assert_eq!(user_field.as_deref(), Some("renewing"));
}

/// A logout by renew (the new record is anonymous) needs the old user's index, which Rust does
/// not know: the script asks for it and the second call removes the entry.
#[tokio::test]
async fn renew_into_an_anonymous_session_leaves_no_entry_behind() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let user = UserId::new("leaving");
    let index_key = format!("{}u:leaving", guard.prefix);
    let other = record_for(Some(&user), Duration::from_secs(100));
    let old = record_for(Some(&user), Duration::from_secs(600));
    store.create(&other).await.expect("create");
    store.create(&old).await.expect("create");
    let mut new = renewed(&old);
    new.user_id = None;
    store.renew(&old.key, 1, &new).await.expect("renew");

    let now = UnixTime::now();
    assert_eq!(store.load(&old.key, now).await.expect("load"), None);
    assert_eq!(store.load(&new.key, now).await.expect("load"), Some(new));
    let other_expiry = other.expires_at.as_secs();
    assert_eq!(
        common::index(&mut raw, &index_key).await,
        vec![(other.key.to_hex(), other_expiry)],
        "only the user's remaining session"
    );
    assert_eq!(
        common::expire_time(&mut raw, &index_key).await,
        i64::try_from(other_expiry).expect("fits"),
        "the index now ends with its remaining session"
    );
    assert_eq!(store.delete_for_user(&user).await.expect("delete"), 1);
}

/// A renew that switches the session to another user moves the entry between the two indexes.
#[tokio::test]
async fn renew_to_another_user_moves_the_entry_between_indexes() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let alice = UserId::new("alice");
    let bob = UserId::new("bob");
    let old = record_for(Some(&alice), Duration::from_secs(600));
    store.create(&old).await.expect("create");
    let mut new = renewed(&old);
    new.user_id = Some(bob.clone());
    store.renew(&old.key, 1, &new).await.expect("renew");

    let alice_index = format!("{}u:alice", guard.prefix);
    let bob_index = format!("{}u:bob", guard.prefix);
    assert!(common::index(&mut raw, &alice_index).await.is_empty());
    assert_eq!(
        common::index(&mut raw, &bob_index).await,
        vec![(new.key.to_hex(), new.expires_at.as_secs())]
    );
    let now = UnixTime::now();
    assert!(store
        .list_for_user(&alice, now)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(
        store.list_for_user(&bob, now).await.expect("list"),
        vec![new]
    );
    assert_eq!(store.delete_for_user(&alice).await.expect("delete"), 0);
    assert_eq!(store.delete_for_user(&bob).await.expect("delete"), 1);
    assert!(guard.keys().is_empty());
}

/// The checks come before the second call: a stale or missing old record is reported as such even
/// when the user would change, and nothing is written.
#[tokio::test]
async fn a_failing_renew_that_changes_the_user_changes_nothing() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let alice = UserId::new("alice");
    let old = record_for(Some(&alice), Duration::from_secs(600));
    store.create(&old).await.expect("create");
    let mut new = renewed(&old);
    new.user_id = None;
    let before = common::index(&mut raw, &format!("{}u:alice", guard.prefix)).await;

    let err = store.renew(&old.key, 7, &new).await.expect_err("stale");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
    let taken = record_for(None, Duration::from_secs(600));
    store.create(&taken).await.expect("create");
    let mut onto_taken = new.clone();
    onto_taken.key = taken.key;
    let err = store
        .renew(&old.key, 1, &onto_taken)
        .await
        .expect_err("taken");
    assert!(matches!(err, StoreError::Collision), "got {err:?}");
    let err = store
        .renew(&SessionId::generate().key(), 1, &new)
        .await
        .expect_err("missing");
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");

    let now = UnixTime::now();
    assert_eq!(store.load(&old.key, now).await.expect("load"), Some(old));
    assert_eq!(store.load(&new.key, now).await.expect("load"), None);
    assert_eq!(
        common::index(&mut raw, &format!("{}u:alice", guard.prefix)).await,
        before
    );
}

/// A renew whose old key holds another type than a hash is `Corrupt`, like a save onto it.
#[tokio::test]
async fn renew_from_a_key_of_another_type_is_corrupt() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let old = record_for(None, Duration::from_secs(600));
    let old_key = format!("{}s:{}", guard.prefix, old.key.to_hex());
    let _: () = redis::cmd("SET")
        .arg(&old_key)
        .arg("garbage")
        .query_async(&mut raw)
        .await
        .expect("SET");
    let new = renewed(&old);
    let err = store.renew(&old.key, 1, &new).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert_eq!(guard.keys(), vec![old_key]);
}
