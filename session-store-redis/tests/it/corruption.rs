//! Damaged values (R10) and stale index entries (R9) beyond the conformance suite's
//! `a_corrupt_record_is_a_typed_error` (typed `Corrupt` for damaged record bytes, nothing shown,
//! the record kept, other sessions unaffected): what the errors say, a key of another type, index
//! entries without a record, and the one log event.

use redis::aio::MultiplexedConnection;
use session_core::testing::conformance::record_for;
use session_core::testing::RawAccess;
use session_core::{
    store::{SessionRecord, StoreError},
    SessionStore, UnixTime, UserId,
};
use session_store_redis::RedisStore;

use crate::common::{self, RedisRaw};

struct Setup {
    store: RedisStore,
    raw: MultiplexedConnection,
    guard: common::PrefixGuard,
    user: UserId,
    damaged: SessionRecord,
    intact: SessionRecord,
}

impl Setup {
    async fn new() -> Self {
        let (store, guard) = common::shared_store().await;
        let raw = common::raw(&guard.url).await;
        let user = UserId::new("victim");
        let damaged = record_for(&user, UnixTime::now());
        let intact = record_for(&user, UnixTime::now());
        store.create(&damaged).await.expect("create");
        store.create(&intact).await.expect("create");
        Setup {
            store,
            raw,
            guard,
            user,
            damaged,
            intact,
        }
    }

    fn record_key(&self, r: &SessionRecord) -> String {
        common::record_key(&self.guard.prefix, &r.key)
    }

    async fn overwrite_bytes(&self, bytes: &[u8]) {
        RedisRaw::of(&self.guard)
            .overwrite_record(&self.damaged.key, bytes)
            .await
            .expect("overwrite the record's bytes");
    }

    async fn load_damaged(&self) -> StoreError {
        let now = UnixTime::now();
        let err = self
            .store
            .load(&self.damaged.key, now)
            .await
            .expect_err("a damaged record must not load");
        assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
        assert!(!err.is_transient());
        let shown = common::chain(&err);
        assert!(
            !shown.contains(&self.damaged.key.to_hex()),
            "error names the key: {shown}"
        );
        err
    }

    async fn others_unaffected(&self) {
        let now = UnixTime::now();
        assert_eq!(
            self.store.load(&self.intact.key, now).await.expect("load"),
            Some(self.intact.clone())
        );
        let listed = self
            .store
            .list_for_user(&self.user, now)
            .await
            .expect("list");
        assert_eq!(
            listed,
            vec![self.intact.clone()],
            "the damaged record is skipped"
        );
    }
}

/// What the `Corrupt` errors say: the format version found, where parsing stopped (never what
/// the bytes were), a record that belongs to another key.
#[tokio::test]
async fn corrupt_errors_say_why() {
    let s = Setup::new().await;
    let text = String::from_utf8(s.damaged.to_bytes()).expect("JSON");
    let created = format!("\"created_at\":{}", s.damaged.created_at.as_secs());
    assert!(text.contains(&created));
    let cases = [
        (text.replacen("\"fmt\":1", "\"fmt\":2", 1), "version 2"),
        (
            text.replacen(&created, "\"created_at\":\"s3cret-data\"", 1),
            "line 1",
        ),
        (
            String::from_utf8(s.intact.to_bytes()).expect("JSON"),
            "another session key",
        ),
    ];
    for (bytes, says) in cases {
        s.overwrite_bytes(bytes.as_bytes()).await;
        let shown = common::chain(&s.load_damaged().await);
        assert!(shown.contains(says), "{says}: {shown}");
    }
}

#[tokio::test]
async fn a_key_of_another_type_is_corrupt_and_can_be_deleted() {
    let mut s = Setup::new().await;
    let key = s.record_key(&s.damaged);
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut s.raw)
        .await
        .expect("DEL");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("garbage")
        .query_async(&mut s.raw)
        .await
        .expect("SET");
    s.load_damaged().await;
    s.others_unaffected().await;

    let mut next = s.damaged.clone();
    next.version = 2;
    let err = s
        .store
        .save(&next, 1)
        .await
        .expect_err("save onto a string key");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    let err = s
        .store
        .create(&s.damaged)
        .await
        .expect_err("create onto a taken key");
    assert!(matches!(err, StoreError::Collision), "got {err:?}");

    s.store
        .delete(&s.damaged.key)
        .await
        .expect("delete a corrupt key");
    assert_eq!(
        s.store
            .load(&s.damaged.key, UnixTime::now())
            .await
            .expect("load"),
        None
    );
    s.store
        .create(&s.damaged)
        .await
        .expect("the key is free again");
}

#[tokio::test]
async fn stale_index_entries_are_filtered_and_removed() {
    let mut s = Setup::new().await;
    // As if Redis had expired the record: the index entry stays behind.
    let key = s.record_key(&s.damaged);
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut s.raw)
        .await
        .expect("DEL");
    let index = format!("{}u:victim", s.guard.prefix);

    let listed = s
        .store
        .list_for_user(&s.user, UnixTime::now())
        .await
        .expect("list");
    assert_eq!(listed, vec![s.intact.clone()]);
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&index)
        .arg(0)
        .arg(-1)
        .query_async(&mut s.raw)
        .await
        .expect("ZRANGE");
    assert_eq!(
        members,
        vec![s.intact.key.to_hex()],
        "the dead entry was removed"
    );

    assert_eq!(
        s.store
            .delete_for_user(&s.user)
            .await
            .expect("delete_for_user"),
        1
    );
    assert_eq!(s.store.delete_for_user(&s.user).await.expect("again"), 0);
    assert!(s.guard.keys().is_empty());
}

#[tokio::test]
async fn a_corrupt_record_logs_one_event_without_key_or_data() {
    let s = Setup::new().await;
    let text = String::from_utf8(s.damaged.to_bytes()).expect("JSON");
    s.overwrite_bytes(
        text.replacen("\"data\":{", "\"data\":\"s3cret-data\",\"x\":{", 1)
            .as_bytes(),
    )
    .await;
    let capture = session_core::testing::LogCapture::new();
    {
        let _guard = capture.install();
        s.load_damaged().await;
    }
    let ours: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.target.starts_with("session_store_redis"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    let shown = ours[0].render();
    assert!(shown.contains(&s.damaged.key.fingerprint()), "{shown}");
    assert!(!shown.contains(&s.damaged.key.to_hex()), "{shown}");
    assert!(!shown.contains("s3cret-data"), "{shown}");
}
