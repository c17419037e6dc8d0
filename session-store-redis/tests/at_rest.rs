//! What Redis holds (S-04): the documented key layout, and never a session id.

mod common;

use std::time::Duration;

use serde_json::json;
use session_core::{SessionId, SessionRecord, SessionStore, UnixTime, UserId};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_raw_scan_finds_no_session_id() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let id = SessionId::generate();
    let now = UnixTime::now();
    let mut r = SessionRecord::new(id.key(), now, now + Duration::from_secs(600));
    r.user_id = Some(UserId::new("scanned"));
    r.data.insert("note".into(), json!("hello"));
    store.create(&r).await.expect("create");
    let mut next = r.clone();
    next.version = 2;
    store.save(&next, 1).await.expect("save");

    let mut keys = guard.keys();
    keys.sort();
    let record_key = format!("{}s:{}", guard.prefix, id.key().to_hex());
    let index_key = format!("{}u:scanned", guard.prefix);
    let mut expected = vec![record_key.clone(), index_key];
    expected.sort();
    assert_eq!(keys, expected, "exactly the documented keys");

    let mut stored: Vec<Vec<u8>> = Vec::new();
    for key in &keys {
        stored.push(key.clone().into_bytes());
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut raw)
            .await
            .expect("TYPE");
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL").arg(key).query_async(&mut raw).await,
            "zset" => {
                redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut raw)
                    .await
            }
            other => panic!("unexpected key type {other}"),
        }
        .expect("read value");
        stored.extend(values);
    }
    for value in &stored {
        assert!(
            !contains(value, id.expose().as_bytes()),
            "the id's text is stored"
        );
        assert!(!contains(value, id.as_bytes()), "the id's bytes are stored");
    }

    let fields: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
        .arg(&record_key)
        .query_async(&mut raw)
        .await
        .expect("HGETALL");
    let field = |name: &str| {
        fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("v"), Some(b"2".to_vec()));
    assert_eq!(field("u"), Some(b"scanned".to_vec()));
    assert_eq!(field("r"), Some(next.to_bytes()));
}

#[tokio::test]
async fn anonymous_sessions_have_no_user_field_or_index() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let now = UnixTime::now();
    let mut r = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + Duration::from_secs(600),
    );
    r.user_id = Some(UserId::new("leaving"));
    store.create(&r).await.expect("create");
    let mut anonymous = r.clone();
    anonymous.user_id = None;
    anonymous.version = 2;
    store.save(&anonymous, 1).await.expect("save");

    let record_key = format!("{}s:{}", guard.prefix, r.key.to_hex());
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
