//! Several app nodes on one store: two demo processes on different ports, with the same secret
//! and the same store, are one application. A session made on node A is used on node B, a write
//! on B is seen on A, "log out everywhere" on A ends the user's session on B, and concurrent
//! writers on A and B follow the conflict model: every increment a node acknowledged is in the
//! final count, the others were refused (409), none is lost. A form's CSRF token made on one
//! node is accepted on the other (it is derived from the shared secret and the session).
//!
//! Run for every store several processes can share: SQLite (one file), Redis, Redis Cluster
//! (`REDIS_CLUSTER_NODES`, which `cargo xtask test` sets) and PostgreSQL (`POSTGRES_URL`). The
//! memory and sled stores are single-process: memory lives in one process, and sled locks its
//! directory for one.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{redirect::Policy, Client, StatusCode};

const SECRET: &str = "multi-node test secret: the same on every node, 32+ bytes";

/// A demo process, killed when dropped.
struct Node {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts a demo node with `store`, data in `data_dir`, the extra environment `env`.
///
/// The port is picked free and then handed to the demo, so another process (the other tests'
/// nodes bind ephemeral ports for their stand-in providers) can take it in between: a node that
/// exits with `AddrInUse` is started again on another port, up to five times.
fn start(store: &str, data_dir: &Path, env: &[(&str, String)], log_dir: &Path) -> Node {
    for _ in 0..5 {
        match try_start(store, data_dir, env, log_dir) {
            Ok(node) => return node,
            Err(log) if log.contains("AddrInUse") => continue,
            Err(log) => panic!("the demo exited:\n{log}"),
        }
    }
    panic!("the demo found no free port in five tries");
}

/// One start on a fresh port: the running node, or the log of a node that exited.
fn try_start(
    store: &str,
    data_dir: &Path,
    env: &[(&str, String)],
    log_dir: &Path,
) -> Result<Node, String> {
    let port = free_port();
    let log = log_dir.join(format!("node-{port}.log"));
    let out = std::fs::File::create(&log).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_session-demo"));
    command
        .args(["--store", store, "--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .env(session_core::config::DEFAULT_SECRET_ENV, SECRET)
        .env_remove("PUBLIC_URL")
        .env_remove("GITHUB_CLIENT_ID")
        .env_remove("VERCEL_CLIENT_ID")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log handle"))
        .stderr(out);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut node = Node {
        child: command.spawn().expect("start the demo"),
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = node.child.try_wait().expect("poll") {
            return Err(format!("({status}) {}", read(&node.log)));
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not start:\n{}",
            read(&node.log)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(node)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The session cookie (`name=value`) a response sets, if it sets one with a value.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .map(str::to_owned)
}

/// The CSRF token of the first form on `page`.
fn csrf_field(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    let end = start + page[start..].find('"').expect("end of the token");
    page[start..end].to_owned()
}

/// Signs in on `node` as a browser does: the login page (a session and its form token), then
/// the form. Returns the signed-in session's cookie and its form token (a new one: the
/// session's id changed at sign-in).
async fn sign_in(client: &Client, node: &Node, user: &str, password: &str) -> (String, String) {
    let form = client
        .get(format!("{}/login", node.base))
        .send()
        .await
        .expect("GET /login");
    let cookie = session_cookie(&form).expect("a session for the form");
    let token = csrf_field(&form.text().await.expect("the login page"));
    let response = client
        .post(format!("{}/login", node.base))
        .header("cookie", &cookie)
        .form(&[("username", user), ("password", password), ("csrf", &token)])
        .send()
        .await
        .expect("POST /login");
    assert!(response.status().is_redirection(), "{}", response.status());
    let cookie = session_cookie(&response).expect("a session cookie");
    let dashboard = client
        .get(format!("{}/", node.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET /");
    let token = csrf_field(&dashboard.text().await.expect("the dashboard"));
    (cookie, token)
}

/// The counter on the node's dashboard, or `None` when the cookie is no signed-in session.
async fn counter(client: &Client, node: &Node, cookie: &str) -> Option<u64> {
    let response = client
        .get(format!("{}/", node.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("GET /");
    if response.status().is_redirection() {
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("page");
    let start = page.find("Counter: <strong>").expect("the counter") + "Counter: <strong>".len();
    let end = start + page[start..].find('<').expect("end of the counter");
    Some(page[start..end].parse().expect("a number"))
}

async fn increment(client: &Client, node: &Node, cookie: &str, token: &str) -> StatusCode {
    client
        .post(format!("{}/count", node.base))
        .header("cookie", cookie)
        .form(&[("csrf", token)])
        .send()
        .await
        .expect("POST /count")
        .status()
}

/// The whole scenario on two nodes of one store.
async fn two_nodes_are_one_app(store: &str, shared_data_dir: bool, env: &[(&str, String)]) {
    let temp = tempfile::tempdir().expect("temp dir");
    let (dir_a, dir_b) = if shared_data_dir {
        (temp.path().join("data"), temp.path().join("data"))
    } else {
        (temp.path().join("a"), temp.path().join("b"))
    };
    let a = start(store, &dir_a, env, temp.path());
    let b = start(store, &dir_b, env, temp.path());
    let http = client();
    let logs = || format!("node A:\n{}\nnode B:\n{}", read(&a.log), read(&b.log));

    // A session made on A is used on B, and a write on B is seen on A.
    let (alice, token) = sign_in(&http, &a, "alice", "wonderland").await;
    assert_eq!(counter(&http, &b, &alice).await, Some(0), "{}", logs());
    assert!(increment(&http, &b, &alice, &token).await.is_redirection());
    assert_eq!(counter(&http, &a, &alice).await, Some(1), "{}", logs());

    // A cross-site form post with the user's cookie (and even the right form token) is refused
    // before the handler, and so is a same-site one without the token.
    let forged = http
        .post(format!("{}/count", a.base))
        .header("cookie", &alice)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("POST /count");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let tokenless = http
        .post(format!("{}/count", b.base))
        .header("cookie", &alice)
        .form(&[("csrf", "")])
        .send()
        .await
        .expect("POST /count");
    assert_eq!(tokenless.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        counter(&http, &a, &alice).await,
        Some(1),
        "nothing was written"
    );

    // Concurrent writers on both nodes: what was acknowledged is counted, nothing is lost.
    let rounds = 20;
    let writer = |node: &Node| {
        let (http, cookie, url) = (http.clone(), alice.clone(), format!("{}/count", node.base));
        let token = token.clone();
        tokio::spawn(async move {
            let mut acknowledged = 0u64;
            for _ in 0..rounds {
                let status = http
                    .post(&url)
                    .header("cookie", &cookie)
                    .form(&[("csrf", &token)])
                    .send()
                    .await
                    .expect("POST /count")
                    .status();
                match status.as_u16() {
                    303 | 302 => acknowledged += 1,
                    409 => {}
                    other => panic!("unexpected status {other}"),
                }
            }
            acknowledged
        })
    };
    let (on_a, on_b) = (writer(&a), writer(&b));
    let acknowledged = on_a.await.expect("writer A") + on_b.await.expect("writer B");
    let counted = counter(&http, &a, &alice).await.expect("still signed in");
    eprintln!(
        "{store}: {acknowledged} of {} concurrent increments acknowledged, counter {counted}",
        2 * rounds
    );
    assert!(acknowledged > 0);
    assert_eq!(
        counted,
        1 + acknowledged,
        "every acknowledged write counted, no other"
    );
    assert_eq!(counter(&http, &b, &alice).await, Some(counted));

    // "Log out everywhere" on A ends the user's session made on B.
    let (on_b, _) = sign_in(&http, &b, "alice", "wonderland").await;
    assert!(counter(&http, &a, &on_b).await.is_some());
    let everywhere = http
        .post(format!("{}/logout-everywhere", a.base))
        .header("cookie", &alice)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("POST /logout-everywhere");
    assert!(
        everywhere.status().is_redirection(),
        "{}",
        everywhere.status()
    );
    assert_eq!(
        counter(&http, &b, &on_b).await,
        None,
        "ended on B: {}",
        logs()
    );
    assert_eq!(counter(&http, &b, &alice).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_sqlite_file() {
    two_nodes_are_one_app("sqlite", true, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_redis() {
    let prefix = format!("multi-node:{}:", std::process::id());
    two_nodes_are_one_app("redis", false, &[("REDIS_KEY_PREFIX", prefix)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_redis_cluster() {
    let nodes = std::env::var("REDIS_CLUSTER_NODES").unwrap_or_default();
    assert!(
        !nodes.is_empty(),
        "REDIS_CLUSTER_NODES is not set: run `cargo xtask test`, which starts a Redis Cluster"
    );
    let prefix = format!("multi-node:{}:", std::process::id());
    two_nodes_are_one_app(
        "redis-cluster",
        false,
        &[("REDIS_CLUSTER_NODES", nodes), ("REDIS_KEY_PREFIX", prefix)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres() {
    let url = std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("multi_node_{}", std::process::id());
    two_nodes_are_one_app(
        "postgres",
        false,
        &[
            ("POSTGRES_URL", url.clone()),
            ("POSTGRES_SCHEMA", schema.clone()),
        ],
    )
    .await;
    drop_schema(&url, &schema);
}

/// Drops the test's schema again (best effort: a leftover schema is only clutter).
fn drop_schema(url: &str, schema: &str) {
    let _ = Command::new("psql")
        .arg(url)
        .args(["-qc", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
