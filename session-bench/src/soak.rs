//! `session-bench soak-client`: the second process of `cargo xtask soak`. It drives a running
//! demo app with a fixed mix of requests, ordinary and hostile, at a fixed concurrency for a
//! fixed time, and prints one JSON line of what came back.
//!
//! The mix, in turn per worker: a new session (`GET /login`), a signed-in read (`GET /`), a
//! signed-in write (`POST /count` with its form token), a tampered cookie, a logged-out cookie
//! replayed, a cross-site `POST` with the user's cookie, an oversized `Cookie` header, and a bad
//! bearer token. Each has the statuses it may get; anything else (a 5xx above all) is counted
//! as unexpected. At the end every signed-in session's counter must equal the increments that
//! were acknowledged for it (stateful stores; `--stateless` skips this, as the cookie is the
//! session there and the workers share one), and every new session made during the run must
//! still be a session: every stored session is accounted for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{redirect::Policy, Client, StatusCode};

use crate::{fail, BoxError};

/// The signed-in sessions the writers share.
const SIGNED_IN: usize = 8;
/// At most this many new sessions are kept for the final check.
const KEPT_NEW: usize = 5_000;

/// The operations of the mix, in the order each worker takes them.
const OPS: [&str; 8] = [
    "new_session",
    "signed_in_read",
    "signed_in_write",
    "tampered_cookie",
    "logged_out_replay",
    "cross_site_post",
    "oversized_header",
    "bad_bearer",
];

/// A signed-in session: its cookie, its form token, the increments acknowledged for it.
struct User {
    cookie: String,
    token: String,
    acknowledged: AtomicU64,
}

#[derive(Default)]
struct Tally {
    /// (op, status) -> count; status 0 is a transport error.
    statuses: BTreeMap<(&'static str, u16), u64>,
    unexpected: u64,
    server_errors: u64,
}

/// Runs the client: `--url U --seconds N --concurrency C [--stateless]`.
pub(crate) fn run(args: &[String]) -> Result<(), BoxError> {
    let mut url = None;
    let mut seconds = 30u64;
    let mut concurrency = 16usize;
    let mut stateless = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| fail(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--url" => url = Some(value()?.clone()),
            "--seconds" => seconds = value()?.parse()?,
            "--concurrency" => concurrency = value()?.parse()?,
            "--stateless" => stateless = true,
            other => return Err(fail(format!("unknown argument {other:?}"))),
        }
    }
    let url = url.ok_or_else(|| fail("--url is required"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(soak(
        url,
        Duration::from_secs(seconds),
        concurrency,
        stateless,
    ))
}

async fn soak(
    base: String,
    duration: Duration,
    concurrency: usize,
    stateless: bool,
) -> Result<(), BoxError> {
    let http = Client::builder()
        .redirect(Policy::none())
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut users = Vec::new();
    for _ in 0..SIGNED_IN {
        let (cookie, token) = sign_in(&http, &base).await?;
        users.push(User {
            cookie,
            token,
            acknowledged: AtomicU64::new(0),
        });
    }
    // A logged-out cookie to replay: signed in, then logged out.
    let (gone, gone_token) = sign_in(&http, &base).await?;
    let logout = http
        .post(format!("{base}/logout"))
        .header("cookie", &gone)
        .form(&[("csrf", gone_token.as_str())])
        .send()
        .await?;
    if !logout.status().is_redirection() {
        return Err(fail(format!("logout answered {}", logout.status())));
    }

    let users = Arc::new(users);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let new_sessions = Arc::new(Mutex::new(Vec::<String>::new()));
    let made = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (http, base, users, tally) = (http.clone(), base.clone(), users.clone(), tally.clone());
        let (new_sessions, made, gone) = (new_sessions.clone(), made.clone(), gone.clone());
        workers.push(tokio::spawn(async move {
            let mut turn = worker;
            while Instant::now() < deadline {
                let op = OPS[turn % OPS.len()];
                let user = &users[turn % users.len()];
                turn += 1;
                let outcome = one(&http, &base, op, user, &gone).await;
                let status = outcome.as_ref().map_or(0, |(s, _)| s.as_u16());
                let expected = match op {
                    "new_session" => status == 200,
                    "signed_in_read" => status == 200,
                    "signed_in_write" => status == 303 || status == 409,
                    "tampered_cookie" | "logged_out_replay" => status == 303,
                    "cross_site_post" => status == 403,
                    "oversized_header" => (300..500).contains(&status) || status == 200,
                    "bad_bearer" => status == 401,
                    _ => false,
                };
                if op == "signed_in_write" && status == 303 {
                    user.acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                if let (Ok((_, Some(cookie))), "new_session") = (&outcome, op) {
                    made.fetch_add(1, Ordering::Relaxed);
                    let mut kept = new_sessions.lock().expect("not poisoned");
                    if kept.len() < KEPT_NEW {
                        kept.push(cookie.clone());
                    }
                }
                let mut t = tally.lock().expect("not poisoned");
                *t.statuses.entry((op, status)).or_default() += 1;
                if !expected {
                    t.unexpected += 1;
                }
                if status >= 500 {
                    t.server_errors += 1;
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }

    // Every signed-in session holds exactly the increments acknowledged for it.
    let mut mismatches = Vec::new();
    for (i, user) in users.iter().enumerate().filter(|_| !stateless) {
        let page = http
            .get(format!("{base}/"))
            .header("cookie", &user.cookie)
            .send()
            .await?
            .text()
            .await?;
        let counter = counter(&page);
        let acknowledged = user.acknowledged.load(Ordering::Relaxed);
        if counter != Some(acknowledged) {
            mismatches.push(format!(
                "session {i}: counter {counter:?}, acknowledged {acknowledged}"
            ));
        }
    }
    // Every new session made during the run is still a session (its login page sets no cookie).
    let kept = new_sessions.lock().expect("not poisoned").clone();
    let mut lost = 0u64;
    for cookie in &kept {
        let response = http
            .get(format!("{base}/login"))
            .header("cookie", cookie)
            .send()
            .await?;
        if response.headers().contains_key("set-cookie") {
            lost += 1;
        }
    }

    let t = tally.lock().expect("not poisoned");
    let requests: u64 = t.statuses.values().sum();
    let by_op: serde_json::Map<String, serde_json::Value> = t
        .statuses
        .iter()
        .map(|((op, status), n)| (format!("{op} {status}"), (*n).into()))
        .collect();
    let report = serde_json::json!({
        "requests": requests,
        "seconds": duration.as_secs(),
        "concurrency": concurrency,
        "server_errors": t.server_errors,
        "unexpected": t.unexpected,
        "statuses": by_op,
        "signed_in_sessions": users.len(),
        "acknowledged_writes": users.iter().map(|u| u.acknowledged.load(Ordering::Relaxed)).sum::<u64>(),
        "counter_mismatches": mismatches,
        "counters_checked": !stateless,
        "new_sessions": made.load(Ordering::Relaxed),
        "new_sessions_checked": kept.len(),
        "new_sessions_lost": lost,
    });
    println!("{report}");
    Ok(())
}

/// One request of kind `op`: its status, and the session cookie it set (for `new_session`).
async fn one(
    http: &Client,
    base: &str,
    op: &str,
    user: &User,
    gone: &str,
) -> Result<(StatusCode, Option<String>), reqwest::Error> {
    let request = match op {
        "new_session" => http.get(format!("{base}/login")),
        "signed_in_read" => http.get(format!("{base}/")).header("cookie", &user.cookie),
        "signed_in_write" => http
            .post(format!("{base}/count"))
            .header("cookie", &user.cookie)
            .form(&[("csrf", user.token.as_str())]),
        "tampered_cookie" => http
            .get(format!("{base}/"))
            .header("cookie", tamper(&user.cookie)),
        "logged_out_replay" => http.get(format!("{base}/")).header("cookie", gone),
        "cross_site_post" => http
            .post(format!("{base}/count"))
            .header("cookie", &user.cookie)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .form(&[("csrf", user.token.as_str())]),
        "oversized_header" => http
            .get(format!("{base}/"))
            .header("cookie", format!("session={}", "A".repeat(20_000))),
        _ => http
            .get(format!("{base}/api/me"))
            .header("authorization", "Bearer sat_not-a-real-token"),
    };
    let response = request.send().await?;
    let status = response.status();
    let cookie = session_cookie(&response);
    // Read the body so the connection is reused.
    let _ = response.bytes().await?;
    Ok((status, cookie))
}

/// The cookie with one character of its value changed.
fn tamper(cookie: &str) -> String {
    let (name, value) = cookie.split_once('=').unwrap_or(("session", cookie));
    let mut bytes = value.as_bytes().to_vec();
    if let Some(b) = bytes.get_mut(value.len() / 2) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    format!("{name}={}", String::from_utf8_lossy(&bytes))
}

/// The session cookie (`name=value`) a response sets, if it sets one with a value.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .map(str::to_owned)
}

/// The CSRF token of the first form on `page`.
fn csrf_field(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_owned())
}

/// The dashboard's counter.
fn counter(page: &str) -> Option<u64> {
    let marker = "Counter: <strong>";
    let start = page.find(marker)? + marker.len();
    let end = start + page[start..].find('<')?;
    page[start..end].parse().ok()
}

/// Signs in as alice the way a browser does; the signed-in cookie and its form token.
async fn sign_in(http: &Client, base: &str) -> Result<(String, String), BoxError> {
    let form = http.get(format!("{base}/login")).send().await?;
    let cookie = session_cookie(&form).ok_or_else(|| fail("the login page set no session"))?;
    let token = csrf_field(&form.text().await?).ok_or_else(|| fail("no form token"))?;
    let response = http
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .form(&[
            ("username", "alice"),
            ("password", "wonderland"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await?;
    if !response.status().is_redirection() {
        return Err(fail(format!("sign-in answered {}", response.status())));
    }
    let cookie = session_cookie(&response).ok_or_else(|| fail("sign-in set no session"))?;
    let page = http
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let token = csrf_field(&page).ok_or_else(|| fail("no form token on the dashboard"))?;
    Ok((cookie, token))
}
