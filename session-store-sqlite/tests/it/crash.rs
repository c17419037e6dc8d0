//! Q6: the process is killed (SIGKILL) in the middle of its writes. A child process (this test
//! binary run again on [`q6_child_writes_until_killed`]) creates and updates sessions in a loop
//! and prints each write once the store has acknowledged it; the parent kills it mid-run,
//! reopens the file, and finds the database intact and every acknowledged write there.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use session_core::store::SessionKey;
use session_core::testing::test_path;
use session_core::{SessionStore, UserId};

use crate::common;

/// The database path the child writes to; set only in the child.
const CHILD: &str = "Q6_CHILD";
/// Acknowledged writes the parent waits for before it kills the child.
const KILL_AFTER: usize = 300;

/// The child: a no-op unless [`CHILD`] names a database. Creates sessions (every other one then
/// saved with new data) until it is killed, printing `CREATE <key>` and `SAVE <key> <n>` after
/// each call returned `Ok`.
#[test]
fn q6_child_writes_until_killed() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let store = common::open(Path::new(&path));
        let user = UserId::new("q6");
        let mut stdout = std::io::stdout();
        for n in 0u64.. {
            let mut r = common::record();
            r.user_id = Some(user.clone());
            r.data.insert("n".into(), json!(n));
            // Data big enough that a write spans several pages.
            r.data.insert("pad".into(), json!("x".repeat(3000)));
            // Only writes the store acknowledged are reported.
            if store.create(&r).await.is_err() {
                continue;
            }
            writeln!(stdout, "CREATE {}", r.key.to_hex()).expect("stdout");
            if n % 2 == 0 {
                let mut next = r.clone();
                next.version += 1;
                next.data.insert("n".into(), json!(n + 1_000_000));
                if store.save(&next, r.version).await.is_ok() {
                    writeln!(stdout, "SAVE {} {}", r.key.to_hex(), n + 1_000_000).expect("stdout");
                }
            }
            stdout.flush().expect("flush");
        }
    });
}

#[tokio::test]
async fn q6_a_process_killed_mid_write_loses_no_acknowledged_write() {
    let (_dir, path) = common::temp_db();
    // Create the schema before the child starts, so the kill lands in the write loop.
    drop(common::open(&path));

    let test = test_path(module_path!(), "q6_child_writes_until_killed");
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run the test binary again");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    // Let it write, then kill it in the middle of its loop.
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < KILL_AFTER {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => acked.push(line),
            Err(err) => panic!(
                "the child stopped writing after {} lines: {err}",
                acked.len()
            ),
        }
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("wait for the child");
    assert!(!status.success(), "the child was killed: {status:?}");
    // Every line it printed before it died was an acknowledged write.
    reader.join().expect("the reader thread");
    acked.extend(lines.try_iter());

    assert_eq!(common::integrity_check(&path), "ok");
    let store = common::open(&path);
    let mut created = 0;
    let mut saved = 0;
    for line in acked
        .iter()
        .filter(|l| l.starts_with("CREATE ") || l.starts_with("SAVE "))
    {
        let mut words = line.split(' ');
        let (kind, hex) = (words.next(), words.next().expect("a key"));
        let key = SessionKey::from_hex(hex).expect("a key in hex");
        let found = store
            .load(&key, common::now())
            .await
            .expect("load")
            .unwrap_or_else(|| panic!("acknowledged write lost: {line}"));
        if kind == Some("SAVE") {
            let n: u64 = words.next().expect("n").parse().expect("a number");
            assert_eq!(found.data["n"], json!(n), "{line}");
            saved += 1;
        } else {
            created += 1;
        }
    }
    assert!(
        created >= KILL_AFTER / 2 && saved > 0,
        "the child wrote: {created} created, {saved} saved"
    );
    // Record and user index agree: every stored session of the user is listed, and every
    // acknowledged one is among them.
    let listed = store
        .list_for_user(&UserId::new("q6"), common::now())
        .await
        .expect("list");
    assert!(
        listed.len() >= created,
        "{} listed, {created} acknowledged",
        listed.len()
    );
}
