//! The demo in a real browser: starts the demo binary on a free port with an SQLite store in a
//! temporary directory, then runs `tests/browser/demo.mjs`, which drives Chromium with Playwright
//! (`playwright-core`, which downloads no browser) through sign-in, the counter, sign-out and a
//! replay of the signed-out cookie, then sign-in with GitHub and Vercel through the demo's
//! stand-in provider. Screenshots of each step land in
//! `<workspace>/target/browser-screenshots/`.
//!
//! Needs node with `playwright-core` in `<workspace>/.tools/node` (or `$SESSION_NODE_TOOLS`) and
//! Chromium at `/usr/bin/chromium` (or `$SESSION_CHROMIUM`); `cargo xtask test` installs both. A
//! missing piece fails the test with a message saying so: it is never skipped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the demo may take to accept connections.
const STARTUP: Duration = Duration::from_secs(20);
/// How long the whole browser script may take.
const SCRIPT: Duration = Duration::from_secs(180);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the demo crate sits in the workspace")
        .to_path_buf()
}

/// `$SESSION_NODE_TOOLS` or `<workspace>/.tools/node`, with `playwright-core` installed.
fn node_tools() -> PathBuf {
    let dir = std::env::var_os("SESSION_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".tools/node"));
    assert!(
        dir.join("node_modules/playwright-core/package.json")
            .exists(),
        "the playwright-core npm package is missing in {}: run `cargo xtask test` (it installs \
         it) or `npm install --prefix .tools/node playwright-core@1`",
        dir.display()
    );
    dir
}

/// `$SESSION_CHROMIUM` or Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("SESSION_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "Chromium is missing at {}: run `cargo xtask test` (it installs Debian's chromium \
         package) or `apt-get install --no-install-recommends chromium`, or set SESSION_CHROMIUM",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// A child process killed (and reaped) when dropped, so a failing test leaves no demo behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

/// Waits until the demo accepts connections on `addr`, failing if it exits or takes too long.
fn wait_until_listening(demo: &mut Child, addr: SocketAddr, log: &Path) {
    let deadline = Instant::now() + STARTUP;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Some(status) = demo.try_wait().expect("poll the demo") {
            panic!(
                "the demo exited ({status}) before listening:\n{}",
                read(log)
            );
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not accept connections on {addr} within {STARTUP:?}:\n{}",
            read(log)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_demo_signs_in_counts_and_signs_out_in_chromium() {
    let node_tools = node_tools();
    let chromium = chromium();
    let temp = tempfile::tempdir().expect("a temporary directory");
    let data_dir = temp.path().join("demo-data");
    let demo_log = temp.path().join("demo.log");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let log = std::fs::File::create(&demo_log).expect("create the demo's log");
    let mut demo = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_session-demo"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--store", "sqlite"])
            // A secret generated in the data directory, and the stand-in OAuth provider on
            // loopback (not real GitHub or Vercel apps), whatever the caller's environment says.
            .env_remove(session_core::config::DEFAULT_SECRET_ENV)
            .env_remove("PUBLIC_URL")
            .env_remove("GITHUB_CLIENT_ID")
            .env_remove("GITHUB_CLIENT_SECRET")
            .env_remove("VERCEL_CLIENT_ID")
            .env_remove("VERCEL_CLIENT_SECRET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("start the demo"),
    );
    wait_until_listening(&mut demo.0, addr, &demo_log);

    let screenshots = workspace().join("target/browser-screenshots");
    // Only this run's screenshots: a failed step must not sit next to an older run's success.
    let _ = std::fs::remove_dir_all(&screenshots);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/demo.mjs");
    let (node_out, node_err) = (temp.path().join("node.out"), temp.path().join("node.err"));
    let started = Instant::now();
    let mut node = KillOnDrop(
        Command::new("node")
            .arg(&script)
            .arg(format!("http://{addr}"))
            .arg(&screenshots)
            .env("NODE_PATH", node_tools.join("node_modules"))
            .env("SESSION_CHROMIUM", &chromium)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&node_out).expect("create node's stdout file"))
            .stderr(std::fs::File::create(&node_err).expect("create node's stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("node is required for the browser test: {e}")),
    );
    let status = loop {
        if let Some(status) = node.0.try_wait().expect("poll node") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let report = format!(
        "node stdout:\n{}\nnode stderr:\n{}\ndemo log:\n{}",
        read(&node_out),
        read(&node_err),
        read(&demo_log)
    );
    match status {
        Some(status) if status.success() => {
            let stdout = read(&node_out);
            // The summary line comes only after the last step: an early exit 0 is a failure.
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with("all ") && l.contains(" steps passed")),
                "the browser script exited 0 without finishing its steps:\n{report}"
            );
            println!("{stdout}");
            println!(
                "browser script took {:.1?}; screenshots in {}",
                started.elapsed(),
                screenshots.display()
            );
        }
        Some(status) => panic!("the browser script failed ({status}):\n{report}"),
        None => panic!("the browser script did not finish within {SCRIPT:?}:\n{report}"),
    }
}
