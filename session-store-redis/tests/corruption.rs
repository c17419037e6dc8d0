//! Damaged values (R10) and stale index entries (R9): typed errors, no panic, other sessions
//! unaffected.

mod common;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use session_core::{SessionId, SessionRecord, SessionStore, StoreError, UnixTime, UserId};
use session_store_redis::RedisStore;

fn record_for(user: &UserId) -> SessionRecord {
    let now = UnixTime::now();
    let mut r = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + Duration::from_secs(600),
    );
    r.user_id = Some(user.clone());
    r
}

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
        let damaged = record_for(&user);
        let intact = record_for(&user);
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
        format!("{}s:{}", self.guard.prefix, r.key.to_hex())
    }

    async fn overwrite_bytes(&mut self, bytes: &[u8]) {
        let key = self.record_key(&self.damaged);
        let _: () = redis::cmd("HSET")
            .arg(key)
            .arg("r")
            .arg(bytes)
            .query_async(&mut self.raw)
            .await
            .expect("HSET");
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

#[tokio::test]
async fn garbage_bytes_are_corrupt() {
    let mut s = Setup::new().await;
    s.overwrite_bytes(b"\xff\x00 garbage").await;
    s.load_damaged().await;
    s.others_unaffected().await;
    // The caller decides what to do with it; the store did not delete it.
    let still_there: bool = redis::cmd("EXISTS")
        .arg(s.record_key(&s.damaged))
        .query_async(&mut s.raw)
        .await
        .expect("EXISTS");
    assert!(still_there);
    s.store.delete(&s.damaged.key).await.expect("delete");
    assert!(s
        .guard
        .keys()
        .iter()
        .all(|k| !k.ends_with(&s.damaged.key.to_hex())));
}

#[tokio::test]
async fn an_unknown_format_version_is_corrupt() {
    let mut s = Setup::new().await;
    let text = String::from_utf8(s.damaged.to_bytes()).expect("JSON");
    let v2 = text.replacen("\"fmt\":1", "\"fmt\":2", 1);
    s.overwrite_bytes(v2.as_bytes()).await;
    let err = s.load_damaged().await;
    assert!(
        common::chain(&err).contains("version 2"),
        "{}",
        common::chain(&err)
    );
    s.others_unaffected().await;
}

#[tokio::test]
async fn errors_never_quote_stored_bytes() {
    let mut s = Setup::new().await;
    let text = String::from_utf8(s.damaged.to_bytes()).expect("JSON");
    let created = format!("\"created_at\":{}", s.damaged.created_at.as_secs());
    assert!(text.contains(&created));
    let poisoned = text.replacen(&created, "\"created_at\":\"s3cret-data\"", 1);
    s.overwrite_bytes(poisoned.as_bytes()).await;
    let err = s.load_damaged().await;
    let shown = common::chain(&err);
    assert!(!shown.contains("s3cret-data"), "{shown}");
    assert!(shown.contains("line 1"), "{shown}");
    s.others_unaffected().await;
}

#[tokio::test]
async fn a_record_copied_under_another_key_is_corrupt() {
    let mut s = Setup::new().await;
    let bytes = s.intact.to_bytes();
    s.overwrite_bytes(&bytes).await;
    let err = s.load_damaged().await;
    assert!(common::chain(&err).contains("another session key"));
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
    let mut s = Setup::new().await;
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
