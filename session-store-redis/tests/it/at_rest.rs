//! What Redis holds (S-04): the documented key layout and fields, exactly. That no session id is
//! among them is the conformance suite's `no_session_id_at_rest`, which scans every key under the
//! test's prefix through [`RedisRaw`](crate::common::RedisRaw).

use std::time::Duration;

use serde_json::json;
use session_core::{SessionStore, UnixTime, UserId};

use crate::common::{self, record_key, record_lasting};

#[tokio::test]
async fn a_signed_in_session_is_one_hash_and_one_index_entry() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let user = UserId::new("scanned");
    let mut r = record_lasting(Some(&user), UnixTime::now(), Duration::from_secs(600));
    r.data.insert("note".into(), json!("hello"));
    store.create(&r).await.expect("create");
    let mut next = r.clone();
    next.version = 2;
    store.save(&next, 1).await.expect("save");

    let mut keys = guard.keys();
    keys.sort();
    let record_key = record_key(&guard.prefix, &r.key);
    let index_key = format!("{}u:scanned", guard.prefix);
    let mut expected = vec![record_key.clone(), index_key.clone()];
    expected.sort();
    assert_eq!(keys, expected, "exactly the documented keys");

    let fields: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
        .arg(&record_key)
        .query_async(&mut raw)
        .await
        .expect("HGETALL");
    let mut names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["r", "u", "v"], "exactly the documented fields");
    let field = |name: &str| {
        fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("v"), Some(b"2".to_vec()));
    assert_eq!(field("u"), Some(b"scanned".to_vec()));
    assert_eq!(field("r"), Some(next.to_bytes()));
    let index: Vec<String> = redis::cmd("ZRANGE")
        .arg(&index_key)
        .arg(0)
        .arg(-1)
        .query_async(&mut raw)
        .await
        .expect("ZRANGE");
    assert_eq!(index, vec![r.key.to_hex()], "the index holds the key's hex");
}

#[tokio::test]
async fn anonymous_sessions_have_no_user_field_or_index() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let r = record_lasting(
        Some(&UserId::new("leaving")),
        UnixTime::now(),
        Duration::from_secs(600),
    );
    store.create(&r).await.expect("create");
    let mut anonymous = r.clone();
    anonymous.user_id = None;
    anonymous.version = 2;
    store.save(&anonymous, 1).await.expect("save");

    let record_key = record_key(&guard.prefix, &r.key);
    assert_eq!(
        guard.keys(),
        vec![record_key.clone()],
        "the emptied index is gone"
    );
    let user: Option<String> = redis::cmd("HGET")
        .arg(&record_key)
        .arg("u")
        .query_async(&mut raw)
        .await
        .expect("HGET");
    assert_eq!(user, None);
}
