//! S-04: nothing the store writes contains a session id, in text or raw form; only its SHA-256.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use session_core::{SessionId, SessionRecord, SessionStore, UserId};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_free_of(bytes: &[u8], id: &SessionId, what: &str) {
    assert!(
        !contains(bytes, id.expose().as_bytes()),
        "{what} holds the id text"
    );
    assert!(!contains(bytes, id.as_bytes()), "{what} holds the id bytes");
}

fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn no_tree_and_no_file_holds_the_session_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let ids: Vec<SessionId> = (0..8).map(|_| SessionId::generate()).collect();
    for id in &ids {
        let mut record = SessionRecord::new(id.key(), NOW, NOW + Duration::from_secs(3600));
        record.user_id = Some(UserId::new("alice"));
        record.data.insert("n".into(), 1.into());
        store.create(&record).await.expect("create");
        let mut next = record.clone();
        next.version = 2;
        store.save(&next, 1).await.expect("save");
    }

    let mut entries = 0;
    for name in db.tree_names() {
        for item in db.open_tree(&name).expect("open tree").iter() {
            let (key, value) = item.expect("read entry");
            for id in &ids {
                assert_free_of(&key, id, "a tree key");
                assert_free_of(&value, id, "a tree value");
            }
            entries += 1;
        }
    }
    assert!(
        entries >= ids.len() * 3,
        "records and both indexes were scanned"
    );

    drop(store);
    db.flush().expect("flush");
    drop(db);
    for file in files_below(dir.path()) {
        let bytes = std::fs::read(&file).expect("read file");
        for id in &ids {
            assert_free_of(&bytes, id, "a database file");
        }
    }
}
