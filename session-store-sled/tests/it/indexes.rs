//! The user and expiry indexes: purges remove exactly the expired records with their entries,
//! dangling entries are cleaned, and one user's entries never leak into another's.

use std::time::Duration;

use crate::common::*;
use session_core::{SessionStore, UserId};

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn purge_removes_exactly_the_expired_records_and_their_entries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let user = UserId::new("alice");
    let expired = [
        user_record_expiring_in(&user, MINUTE),
        record_expiring_in(MINUTE * 2),
        user_record_expiring_in(&UserId::new("bob"), MINUTE * 10),
    ];
    let mut capped = user_record_expiring_in(&user, HOUR);
    capped.absolute_expires_at = Some(NOW + MINUTE * 5);
    let at_the_boundary = record_expiring_in(MINUTE * 10);
    let live = [
        user_record_expiring_in(&user, HOUR),
        record_expiring_in(MINUTE * 11),
    ];
    for record in expired
        .iter()
        .chain([&capped, &at_the_boundary])
        .chain(&live)
    {
        store.create(record).await.expect("create");
    }
    // A save that extends a record moves its expiry entry: the old one must not purge it.
    let mut extended = user_record_expiring_in(&user, MINUTE);
    store.create(&extended).await.expect("create");
    extended.expires_at = NOW + HOUR;
    extended.version = 2;
    store.save(&extended, 1).await.expect("save");
    assert_indexes_consistent(&db);

    let now = NOW + MINUTE * 10;
    assert_eq!(store.purge_expired(now).await.expect("purge"), 5);
    assert_indexes_consistent(&db);
    for record in expired.iter().chain([&capped, &at_the_boundary]) {
        assert!(!tree(&db, RECORDS)
            .contains_key(record.key.as_bytes())
            .expect("read"));
    }
    for record in live.iter().chain([&extended]) {
        assert!(store.load(&record.key, now).await.expect("load").is_some());
    }
    assert_eq!(tree(&db, RECORDS).len(), 3);
    assert_eq!(tree(&db, BY_EXPIRY).len(), 3);
    assert_eq!(
        tree(&db, BY_USER).len(),
        2,
        "alice's live and extended sessions"
    );
    assert_eq!(store.purge_expired(now).await.expect("purge again"), 0);
}

#[tokio::test]
async fn dangling_index_entries_are_cleaned_and_not_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let user = UserId::new("alice");
    let real = user_record_expiring_in(&user, HOUR);
    store.create(&real).await.expect("create");
    let ghost = user_record_expiring_in(&user, MINUTE);
    tree(&db, BY_USER)
        .insert(user_entry(&user, &ghost.key), &[][..])
        .expect("write");
    tree(&db, BY_EXPIRY)
        .insert(expiry_entry(&ghost), &[][..])
        .expect("write");

    assert_eq!(
        store.list_for_user(&user, NOW).await.expect("list"),
        vec![real.clone()]
    );
    assert!(!tree(&db, BY_USER)
        .contains_key(user_entry(&user, &ghost.key))
        .expect("read"));
    assert_eq!(store.purge_expired(NOW + MINUTE).await.expect("purge"), 0);
    assert_indexes_consistent(&db);

    tree(&db, BY_USER)
        .insert(user_entry(&user, &ghost.key), &[][..])
        .expect("write");
    assert_eq!(
        store.delete_for_user(&user).await.expect("delete_for_user"),
        1
    );
    assert_indexes_consistent(&db);
    assert_eq!(tree(&db, BY_USER).len(), 0);
}

#[tokio::test]
async fn a_user_id_that_prefixes_another_sees_only_its_own_sessions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let users = ["a", "ab", "a\0", "a\0b", ""].map(UserId::new);
    for user in &users {
        store
            .create(&user_record_expiring_in(user, HOUR))
            .await
            .expect("create");
    }
    for user in &users {
        let listed = store.list_for_user(user, NOW).await.expect("list");
        assert_eq!(listed.len(), 1, "user {user:?}");
        assert_eq!(listed[0].user_id.as_ref(), Some(user));
    }
    assert_eq!(store.delete_for_user(&users[0]).await.expect("delete"), 1);
    assert_eq!(tree(&db, RECORDS).len(), users.len() - 1);
    assert_indexes_consistent(&db);
}

#[tokio::test]
async fn delete_for_user_removes_every_entry_of_the_user() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let user = UserId::new("carol");
    for ttl in [MINUTE, HOUR, HOUR * 2] {
        store
            .create(&user_record_expiring_in(&user, ttl))
            .await
            .expect("create");
    }
    let other = user_record_expiring_in(&UserId::new("dave"), HOUR);
    store.create(&other).await.expect("create");
    let anonymous = record_expiring_in(HOUR);
    store.create(&anonymous).await.expect("create");

    assert_eq!(store.delete_for_user(&user).await.expect("delete"), 3);
    assert_indexes_consistent(&db);
    assert_eq!(tree(&db, RECORDS).len(), 2);
    assert_eq!(tree(&db, BY_USER).len(), 1);
}
