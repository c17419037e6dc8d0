//! S-04 after close: the conformance suite scans the trees and files of an open database (see
//! `conformance.rs`); once the store is closed, sled's files hold no session id either.

use session_core::testing::conformance::{assert_no_session_id, record_for, renewed};
use session_core::{store::SessionId, SessionStore, UserId};

use crate::common::*;

#[tokio::test]
async fn a_closed_database_holds_no_session_id_in_its_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let user = UserId::new("alice");
    let mut ids = Vec::new();
    {
        let store = open_store(dir.path());
        for i in 0..8 {
            let id = SessionId::generate();
            let mut record = record_for(&user, NOW);
            record.key = id.key();
            store.create(&record).await.expect("create");
            let mut next = record.clone();
            next.version = 2;
            store.save(&next, 1).await.expect("save");
            ids.push(id);
            if i % 2 == 0 {
                let new_id = SessionId::generate();
                let mut new = renewed(&next);
                new.key = new_id.key();
                store.renew(&next.key, 2, &new).await.expect("renew");
                ids.push(new_id);
            }
        }
    }

    let files = files_below(dir.path());
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).expect("read file");
        assert_no_session_id(
            &bytes,
            &ids,
            &format!("the database file {}", file.display()),
        );
    }
}
