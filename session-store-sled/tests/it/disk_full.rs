//! D2: a full disk under a running store, on a 4 MiB tmpfs of its own (needs root to mount it,
//! as the tests run here).
//!
//! The write that does not fit fails with the transient `Full` (503), never a panic, and every
//! write acknowledged before it is on disk. sled 0.34 then keeps failing: with space freed, a
//! write either fails `Full` again at once or its flush never returns, which the store bounds
//! with its flush timeout (`Timeout`, 503) instead of hanging the request. Because such a stuck
//! flush keeps the database open in its thread, the writing runs in a child process (the test
//! binary running itself, filtered to `disk_full::child_filler`), which the parent reads and
//! then lets exit; the parent reopens the database and finds every acknowledged write.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use session_core::store::{SessionId, SessionRecord, StoreError};
use session_core::testing::{test_path, SmallDisk};
use session_core::SessionStore;
use session_store_sled::{SledStore, SledStoreConfig};

use crate::common::*;

const CHILD_DIR: &str = "SESSION_STORE_SLED_DISK_FULL_CHILD_DIR";

/// Record `n`, about 32 KiB, the same every time (the parent rebuilds what the child wrote).
fn numbered_bulky(n: u64) -> SessionRecord {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&n.to_be_bytes());
    let mut record = record_expiring_in(Duration::from_secs(3600));
    record.key = SessionId::from_bytes(id).key();
    record.data.insert(
        "bulk".into(),
        serde_json::json!(format!("{n:016x}").repeat(2048)),
    );
    record
}

fn config(dir: &std::path::Path) -> SledStoreConfig {
    SledStoreConfig::new(dir.join("db"))
        .background_purge(None)
        .flush_timeout(Duration::from_secs(1))
}

fn kind(result: &Result<(), StoreError>) -> String {
    match result {
        Ok(()) => "Ok".into(),
        Err(StoreError::Full { .. }) => "Full".into(),
        Err(StoreError::Timeout { .. }) => "Timeout".into(),
        Err(other) => format!("{other:?}"),
    }
}

/// The child side (a no-op when run as a normal test): fills the disk, prints `acked <n>` per
/// acknowledged write and `refused <kind>` for the first refusal, waits for a line on stdin
/// (the parent freed space), tries one more write and prints `after <kind> <ms>`, then exits
/// without dropping the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_filler() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = SledStore::open(config(dir.as_ref())).expect("open on the small disk");
    for n in 0..1000 {
        let result = store.create(&numbered_bulky(n)).await;
        if result.is_ok() {
            println!("acked {n}");
        } else {
            println!("refused {}", kind(&result));
            break;
        }
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .expect("the parent's go");
    let started = Instant::now();
    let result = store.create(&numbered_bulky(1_000_000)).await;
    println!("after {} {}", kind(&result), started.elapsed().as_millis());
    std::process::exit(0);
}

#[test]
fn a_full_disk_is_full_never_hangs_a_write_and_loses_nothing_acknowledged() {
    let disk = SmallDisk::mount("4m");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            &test_path(module_path!(), "child_filler"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, disk.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut stdin = child.stdin.take().expect("child stdin");
    let stdout = child.stdout.take().expect("child stdout");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut last_ack = None;
    let mut refused = None;
    let after = loop {
        let Ok(line) = received.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("the child went silent for 30 s: a write hung (last ack {last_ack:?})");
        };
        if let Some(n) = line.strip_prefix("acked ") {
            last_ack = Some(n.trim().parse::<u64>().expect("ack number"));
        } else if let Some(kind) = line.strip_prefix("refused ") {
            refused = Some(kind.to_owned());
            disk.resize("64m");
            writeln!(stdin, "go").expect("tell the child");
        } else if let Some(rest) = line.strip_prefix("after ") {
            break rest.to_owned();
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("poll the child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let last_ack = last_ack.expect("the child acknowledged writes");
    eprintln!(
        "disk full after {} writes: {refused:?}, then {after:?}",
        last_ack + 1
    );
    assert_eq!(refused.as_deref(), Some("Full"), "the refusal is Full");
    let (kind, millis) = after.split_once(' ').expect("kind and time");
    assert!(["Full", "Timeout"].contains(&kind), "{after}");
    let millis: u64 = millis.parse().expect("milliseconds");
    assert!(millis < 10_000, "bounded by the flush timeout: {after}");

    let store = reopen(config(disk.path())).expect("reopen once the child is gone");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for n in 0..=last_ack {
            let expected = numbered_bulky(n);
            assert_eq!(
                store.load(&expected.key, NOW).await.expect("load"),
                Some(expected),
                "acknowledged write {n} survived"
            );
        }
        store
            .create(&numbered_bulky(2_000_000))
            .await
            .expect("a reopened store writes again");
    });
    drop(store);
    drop(disk);
}
