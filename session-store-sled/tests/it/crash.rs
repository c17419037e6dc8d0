//! D3: a process killed (SIGKILL) in the middle of writing loses no acknowledged write, and the
//! database it leaves behind has its indexes in agreement with its records.
//!
//! The test binary runs itself as the child, filtered to exactly `crash::child_writer` (the
//! test's path in the one integration binary): `child_writer` does nothing unless the
//! environment variable [`CHILD_DIR`] names a database directory, in which case it creates
//! records until it is killed, printing `acked <n>` after each `create` returned.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use session_core::testing::conformance::record_for;
use session_core::{
    store::{SessionId, SessionRecord},
    SessionStore, UserId,
};

use crate::common::*;
use session_core::testing::test_path;

const CHILD_DIR: &str = "SESSION_STORE_SLED_CRASH_CHILD_DIR";
const ACKS_BEFORE_KILL: u64 = 40;

/// Record `n` (the same every time: the parent rebuilds what the child wrote).
fn numbered_record(n: u64) -> SessionRecord {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&n.to_be_bytes());
    let mut record = record_for(&UserId::new(format!("user-{}", n % 3)), NOW);
    record.key = SessionId::from_bytes(id).key();
    record
}

/// The child side of the crash test (a no-op when run as a normal test).
#[tokio::test]
async fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = open_store(dir.as_ref());
    for n in 0.. {
        store.create(&numbered_record(n)).await.expect("create");
        println!("acked {n}");
    }
}

#[test]
fn acknowledged_writes_survive_a_kill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child_writer = test_path(module_path!(), "child_writer");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([&child_writer, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut last_ack = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child output");
        if let Some(n) = line.split("acked ").nth(1) {
            last_ack = Some(n.trim().parse::<u64>().expect("ack number"));
            if last_ack >= Some(ACKS_BEFORE_KILL) {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    let last_ack = last_ack.expect("the child acknowledged writes");
    assert!(last_ack >= ACKS_BEFORE_KILL, "the child stopped early");

    let db = open_raw(dir.path());
    assert!(db.was_recovered());
    assert_indexes_consistent(&db);
    let store = store_over(&db);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for n in 0..=last_ack {
        let record = numbered_record(n);
        let loaded = runtime
            .block_on(store.load(&record.key, NOW))
            .expect("load");
        assert_eq!(loaded, Some(record), "acknowledged write {n}");
    }
}
