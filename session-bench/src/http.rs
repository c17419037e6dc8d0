//! Part 3, `http`: each framework's plain handler against the same handler with a session read
//! and written, for the stateless JWT mode and every store, on two paths (an existing session
//! whose cookies the load generator replays, and a new session per request). Two more cases per
//! framework split the stateless overhead: the plain handler with JWT-sized cookie headers in
//! and out (no session code), and the plain handler behind the session binding.
//!
//! Servers are child processes (`session-bench serve ...`) pinned to CPU 0 with `taskset`; `wrk`
//! loads them from CPU 1 over 127.0.0.1, through a generated Lua script that rotates the cookies
//! and counts statuses. Server CPU time per request comes from the child's `utime + stime` in
//! `/proc/<pid>/stat` before and after each run. Each case runs `reps` times, interleaved with
//! its framework's plain case, so every ratio compares runs made minutes apart at most. Without
//! wrk, `--quick` falls back to a small built-in client. Finally, a few concurrency checks report
//! what happens under contention (one session written by every connection; sled's default
//! flush policy).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::codec;
use crate::servers::{Backend, Framework, DIR_ENV, PREFIX_ENV};
use crate::stores::{cleanup_prefix, random_prefix, redis_url};
use crate::timing::{percentile_sorted, Spread};
use crate::{context, fail, BoxError, Options, Report, Section, Table, Target};

/// The stateless-JWT target: CPU per request at most this many times the plain handler's.
const TARGET_JWT_RATIO: f64 = 1.20;
/// wrk's connections (and the built-in client's threads are fewer: see [`StdClient`]).
const CONNECTIONS: u32 = 32;

/// Which request a case sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /plain` on the server without a session binding: the reference.
    Plain,
    /// `GET /echo-cookie` on the server without a session binding, sending the stateless JWT
    /// cookies and answering a Set-Cookie of the same size: what the header bytes alone cost.
    PlainWithHeaders,
    /// `GET /plain` without a cookie on the stateless JWT server: what the binding costs when the
    /// handler never touches the session.
    PlainInBinding,
    /// `GET /counter` replaying seeded sessions' cookies.
    Existing,
    /// `GET /counter` without a cookie: a new session every request.
    New,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Plain => "GET /plain",
            Route::PlainWithHeaders => "GET /plain + JWT-sized cookie headers",
            Route::PlainInBinding => "GET /plain behind the binding",
            Route::Existing => "existing session",
            Route::New => "new session",
        }
    }
}

/// The load generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// `wrk`, optionally pinned to CPU 1.
    Wrk,
    /// The built-in std client ([`StdClient`]).
    Std,
}

/// Checks the tools the HTTP part needs before anything runs, so a long run does not fail late.
pub(crate) fn preflight(options: Options) -> Result<(), BoxError> {
    if options.quick || options.std_client || which("wrk").is_some() {
        Ok(())
    } else {
        Err(no_wrk())
    }
}

fn no_wrk() -> BoxError {
    fail(
        "wrk not found on PATH: the HTTP part needs it for a full run (`apt-get install wrk`; \
         `cargo xtask bench` installs it), or run with --quick",
    )
}

fn choose_client(options: Options) -> Result<Client, BoxError> {
    if options.std_client {
        return Ok(Client::Std);
    }
    if which("wrk").is_some() {
        return Ok(Client::Wrk);
    }
    if options.quick {
        println!(
            "note: wrk not found; the --quick HTTP smoke run uses the built-in client instead \
             (`cargo xtask bench` installs wrk for full runs)"
        );
        return Ok(Client::Std);
    }
    Err(no_wrk())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether the server and the client can be pinned to CPUs 0 and 1.
fn can_pin() -> bool {
    which("taskset").is_some()
        && std::thread::available_parallelism()
            .map(|n| n.get() >= 2)
            .unwrap_or(false)
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|&t| t > 0.0)
        .unwrap_or(100.0)
}

/// A server child process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    framework: Framework,
    backend: Backend,
}

impl Server {
    fn start(
        framework: Framework,
        backend: Backend,
        pin: bool,
        dir: &Path,
        redis_prefix: &str,
    ) -> Result<Server, BoxError> {
        let port = free_port()?;
        let exe = std::env::current_exe().map_err(context("locate the bench binary"))?;
        let data = dir.join(format!("{}-{}", framework.name(), backend.name()));
        std::fs::create_dir_all(&data).map_err(context("create the server's data dir"))?;
        let mut command = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        command
            .args(["serve", framework.name(), backend.name(), &port.to_string()])
            .env(DIR_ENV, &data)
            .env(PREFIX_ENV, redis_prefix)
            .env("REDIS_URL", redis_url())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command
            .spawn()
            .map_err(context("start the server child process"))?;
        let mut server = Server {
            child,
            port,
            framework,
            backend,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn name(&self) -> String {
        format!(
            "{} server with {}",
            self.framework.label(),
            self.backend.name()
        )
    }

    fn wait_ready(&mut self) -> Result<(), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(fail(format!(
                    "the {} exited at start-up ({status})",
                    self.name()
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(fail(format!(
                    "the {} did not listen within 30 s",
                    self.name()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The child's user + system CPU time in clock ticks, all threads included.
    fn cpu_ticks(&self) -> Result<u64, BoxError> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map_err(context(format!("read /proc stat of the {}", self.name())))?;
        // The command name (field 2) is in parentheses and may contain spaces: skip past it.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .ok_or_else(|| fail("malformed /proc/<pid>/stat"))?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
        let tick = |i: usize| -> Result<u64, BoxError> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| fail("malformed /proc/<pid>/stat"))
        };
        Ok(tick(11)? + tick(12)?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, BoxError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(context("find a free port"))?;
    Ok(listener.local_addr()?.port())
}

/// One measured run of one case.
#[derive(Debug, Clone, Default)]
struct Run {
    requests: u64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    /// Responses by status code (wrk: from the Lua script; the built-in client: counted).
    statuses: BTreeMap<u16, u64>,
    /// Non-2xx/3xx responses plus socket errors.
    errors: u64,
    cpu_us_per_req: f64,
}

/// What the load generator sends: one path, and the cookies to rotate through (none: no cookie).
#[derive(Debug, Clone)]
struct Load {
    path: &'static str,
    cookies: Vec<String>,
}

/// A case of the main table and its runs.
#[derive(Debug)]
struct Case {
    framework: Framework,
    backend: Backend,
    route: Route,
    server: usize,
    load: Load,
    runs: Vec<Run>,
}

impl Case {
    fn spread(&self, f: impl Fn(&Run) -> f64) -> Spread {
        Spread::of(&self.runs.iter().map(f).collect::<Vec<_>>())
    }
}

struct Settings {
    client: Client,
    pin: bool,
    secs: u64,
    reps: usize,
    warmup: bool,
    ticks: f64,
    /// Where the wrk scripts go.
    scripts: PathBuf,
}

/// Sessions seeded per server for the existing-session path: more than the connections, so two
/// requests in flight at once practically never carry the same session.
const SEEDED_SESSIONS: usize = 64;

pub(crate) fn run(options: Options) -> Result<Report, BoxError> {
    let scripts = tempfile::tempdir().map_err(context("temp dir"))?;
    let settings = Settings {
        client: choose_client(options)?,
        pin: can_pin(),
        secs: if options.quick { 1 } else { 3 },
        reps: if options.quick { 1 } else { 5 },
        warmup: !options.quick,
        ticks: clock_ticks_per_sec(),
        scripts: scripts.path().to_owned(),
    };
    if !settings.pin {
        println!("note: taskset or a second CPU is missing; servers and client run unpinned");
    }
    let mut cases = Vec::new();
    for framework in Framework::ALL {
        let started = Instant::now();
        let outcome = with_redis_prefix(|prefix| {
            let dir = tempfile::tempdir().map_err(context("temp dir"))?;
            run_framework(framework, &settings, dir.path(), prefix)
        });
        cases.extend(outcome?);
        println!(
            "  {} done in {:.0} s",
            framework.label(),
            started.elapsed().as_secs_f64()
        );
    }
    let checks = with_redis_prefix(|prefix| {
        let dir = tempfile::tempdir().map_err(context("temp dir"))?;
        concurrency_checks(&settings, dir.path(), prefix)
    })?;
    let (jwt_existing_ns, jwt_new_ns) = codec::jwt_request_work_ns(options.quick)?;
    let mut report = report(&cases, &settings, jwt_existing_ns, jwt_new_ns);
    report.sections.push(checks);
    Ok(report)
}

/// Runs `f` with a fresh Redis key prefix and removes every key under it afterwards, whatever
/// `f` returned.
fn with_redis_prefix<T>(f: impl FnOnce(&str) -> Result<T, BoxError>) -> Result<T, BoxError> {
    let prefix = random_prefix();
    let outcome = f(&prefix);
    let cleaned = cleanup_redis(&prefix);
    let value = outcome?;
    cleaned.map_err(context("cleaning up the bench's Redis keys"))?;
    Ok(value)
}

fn cleanup_redis(prefix: &str) -> Result<u64, BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))?;
    rt.block_on(async {
        let client = redis::Client::open(redis_url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        cleanup_prefix(&mut conn, prefix).await
    })
}

/// Starts the framework's servers, checks them, and measures its cases.
fn run_framework(
    framework: Framework,
    settings: &Settings,
    dir: &Path,
    prefix: &str,
) -> Result<Vec<Case>, BoxError> {
    let mut servers = Vec::new();
    for backend in Backend::MEASURED {
        servers.push(Server::start(
            framework,
            backend,
            settings.pin,
            dir,
            prefix,
        )?);
    }
    // Seed every session server and check that sessions work before measuring anything.
    let mut seeded = Vec::new();
    for server in &servers {
        if server.backend == Backend::Plain {
            expect_body(server, "/plain", None, "ok")?;
            seeded.push(Vec::new());
            continue;
        }
        let cookies = (0..SEEDED_SESSIONS)
            .map(|_| seed(server))
            .collect::<Result<Vec<_>, _>>()?;
        expect_body(server, "/counter", Some(&cookies[0]), "1")?;
        expect_body(server, "/counter", None, "1")?;
        seeded.push(cookies);
    }
    let index_of = |backend: Backend| {
        servers
            .iter()
            .position(|s| s.backend == backend)
            .ok_or_else(|| fail(format!("no {} server", backend.name())))
    };
    let (plain, jwt) = (index_of(Backend::Plain)?, index_of(Backend::Jwt)?);
    let case = |backend, route, server, path, cookies: &Vec<String>| Case {
        framework,
        backend,
        route,
        server,
        load: Load {
            path,
            cookies: cookies.clone(),
        },
        runs: Vec::new(),
    };
    let none = Vec::new();
    let mut cases = vec![
        case(Backend::Plain, Route::Plain, plain, "/plain", &none),
        case(
            Backend::Plain,
            Route::PlainWithHeaders,
            plain,
            "/echo-cookie",
            &seeded[jwt],
        ),
        case(Backend::Jwt, Route::PlainInBinding, jwt, "/plain", &none),
    ];
    for (index, server) in servers.iter().enumerate() {
        if server.backend == Backend::Plain {
            continue;
        }
        cases.push(case(
            server.backend,
            Route::Existing,
            index,
            "/counter",
            &seeded[index],
        ));
        cases.push(case(server.backend, Route::New, index, "/counter", &none));
    }
    if settings.warmup {
        for case in &cases {
            load(settings, &servers[case.server], &case.load, 1)?;
        }
    }
    for rep in 0..settings.reps {
        for case in &mut cases {
            let server = &servers[case.server];
            let run = measure(settings, server, &case.load, settings.secs)?;
            println!(
                "  {:<9} {:<29} {:<16} rep {}: {:>6.0} req/s, p50 {:>6.2} ms, p99 {:>6.2} ms, \
                 {:>6.1} us CPU/req{}",
                framework.label(),
                case.backend.label(),
                case.route.label(),
                rep + 1,
                run.rps,
                run.p50_us / 1_000.0,
                run.p99_us / 1_000.0,
                run.cpu_us_per_req,
                if run.errors > 0 {
                    format!(", {} errors ({})", run.errors, show_statuses(&run.statuses))
                } else {
                    String::new()
                }
            );
            case.runs.push(run);
        }
    }
    Ok(cases)
}

/// One load run with the server's CPU time read before and after.
fn measure(settings: &Settings, server: &Server, spec: &Load, secs: u64) -> Result<Run, BoxError> {
    let before = server.cpu_ticks()?;
    let mut run = load(settings, server, spec, secs)?;
    let after = server.cpu_ticks()?;
    let cpu_secs = after.saturating_sub(before) as f64 / settings.ticks;
    run.cpu_us_per_req = if run.requests > 0 {
        cpu_secs * 1e6 / run.requests as f64
    } else {
        f64::NAN
    };
    Ok(run)
}

/// `200 x 2668, 409 x 4486`.
fn show_statuses(statuses: &BTreeMap<u16, u64>) -> String {
    if statuses.is_empty() {
        return "no responses".into();
    }
    statuses
        .iter()
        .map(|(status, n)| format!("{status} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Correctness under concurrency, on Axum (the decisions are the core's, so every adapter
/// behaves the same): one session written by every connection at once under
/// `ConflictPolicy::LastWriteWins`, and many new sessions at once on the sled store's default
/// flush-every-write policy (which deadlocked in sled's `flush_async` before the store
/// serialised its flushes).
fn concurrency_checks(settings: &Settings, dir: &Path, prefix: &str) -> Result<Section, BoxError> {
    let secs = settings.secs.min(2);
    let framework = Framework::Axum;
    let mut table = Table::new(&[
        "check",
        "session",
        "requests",
        "responses",
        "server CPU us/req",
        "afterwards",
    ]);
    let mut conflicts = Vec::new();
    let mut stalled = Vec::new();
    let checks = [
        (Backend::Memory, true),
        (Backend::Sled, true),
        (Backend::Sqlite, true),
        (Backend::Redis, true),
        (Backend::Sled, false),
    ];
    for (backend, one_cookie) in checks {
        let server = Server::start(framework, backend, settings.pin, dir, prefix)?;
        let cookies = if one_cookie {
            vec![seed(&server)?]
        } else {
            Vec::new()
        };
        let spec = Load {
            path: "/counter",
            cookies,
        };
        let run = measure(settings, &server, &spec, secs)?;
        let after = get_once(
            server.port,
            "/counter",
            spec.cookies.first().map(String::as_str),
            Duration::from_secs(5),
        );
        let lost = run.statuses.get(&409).copied().unwrap_or(0);
        if lost > 0 {
            conflicts.push(format!(
                "{} {:.1}%",
                backend.label(),
                100.0 * lost as f64 / run.requests.max(1) as f64
            ));
        }
        if after.is_err() {
            stalled.push(backend.label());
        }
        table.row(vec![
            if one_cookie {
                "one cookie replayed on every connection (LastWriteWins)".into()
            } else {
                "a new session per request on every connection".into()
            },
            backend.label().into(),
            run.requests.to_string(),
            show_statuses(&run.statuses),
            format!("{:.1}", run.cpu_us_per_req),
            describe_after(&after),
        ]);
    }
    let connections = match settings.client {
        Client::Wrk => CONNECTIONS as usize,
        Client::Std => StdClient::THREADS,
    };
    let conflict_note = if conflicts.is_empty() {
        "One replayed cookie: no request answered 409; `ConflictPolicy::LastWriteWins` reloaded \
         and retried every save that lost a race until it landed. Those retries are why CPU per \
         request is higher here than in the main table, which rotates through seeded sessions so \
         that it measures a request's own work rather than contention."
            .to_owned()
    } else {
        format!(
            "One replayed cookie: `ConflictPolicy::LastWriteWins` reloads and retries a save that \
             lost a race, but only a bounded number of times before `SessionManager` answers 409 \
             (409 share: {}). The main table rotates through {SEEDED_SESSIONS} seeded sessions, \
             so it measures a request's own work rather than contention.",
            conflicts.join(", ")
        )
    };
    let stall_note = if stalled.is_empty() {
        "Every server still answered after the load: no store stalled.".to_owned()
    } else {
        format!(
            "Stalled after the load (no answer within 5 s): {}. SledStore's flush-every-write \
             policy used to await sled 0.34's `flush_async` concurrently, which deadlocks \
             (spacejam/sled#1308).",
            stalled.join(", ")
        )
    };
    Ok(Section {
        title: "Concurrency checks (Axum)".into(),
        intro: vec![format!(
            "{connections} connections for {secs} s against one server each, stores in their \
             default configuration; \"afterwards\" is one more `GET /counter` with a 5 s timeout \
             once the load stopped. The adapters only carry cookies, so the outcome is the core's \
             and the store's, whatever the framework."
        )],
        table,
        notes: vec![conflict_note, stall_note],
    })
}

fn describe_after(response: &Result<Response, BoxError>) -> String {
    match response {
        Ok(r) => format!("answers {}", r.status),
        Err(_) => "no answer within 5 s: stalled".into(),
    }
}

/// `GET /seed` and the cookie it sets (`session=...`).
fn seed(server: &Server) -> Result<String, BoxError> {
    let response = get_once(server.port, "/seed", None, Duration::from_secs(10))
        .map_err(context(format!("GET /seed on the {}", server.name())))?;
    if response.status != 200 {
        return Err(fail(format!(
            "GET /seed on the {} answered {}",
            server.name(),
            response.status
        )));
    }
    response
        .set_cookie
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .ok_or_else(|| fail(format!("GET /seed on the {} set no cookie", server.name())))
}

fn expect_body(
    server: &Server,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> Result<(), BoxError> {
    let response = get_once(server.port, path, cookie, Duration::from_secs(10))
        .map_err(context(format!("GET {path} on the {}", server.name())))?;
    if response.status != 200 || response.body.trim() != body {
        return Err(fail(format!(
            "GET {path} on the {} answered {} {:?}, expected 200 {body:?}",
            server.name(),
            response.status,
            response.body
        )));
    }
    Ok(())
}

/// Loads the server for `secs` seconds with the configured client.
fn load(settings: &Settings, server: &Server, spec: &Load, secs: u64) -> Result<Run, BoxError> {
    match settings.client {
        Client::Wrk => wrk(settings, server.port, spec, secs),
        Client::Std => StdClient::run(server.port, spec, secs),
    }
    .map_err(context(format!(
        "loading {} on the {}",
        spec.path,
        server.name()
    )))
}

/// The wrk script: rotates through the cookies (one per request) and counts statuses.
fn wrk_script(spec: &Load) -> String {
    let cookies: Vec<String> = spec.cookies.iter().map(|c| format!("{c:?}")).collect();
    format!(
        r#"-- Generated by session-bench.
local cookies = {{ {cookies} }}
local plain = nil
local threads = {{}}
local i = 0
function setup(thread) table.insert(threads, thread) end
-- wrk sets the Host header only once the thread starts: format requests from init() on.
function init(args)
  statuses = {{}}
  plain = wrk.format("GET", "{path}")
end
function request()
  if #cookies == 0 then return plain end
  i = i + 1
  return wrk.format("GET", "{path}", {{ ["Cookie"] = cookies[(i % #cookies) + 1] }})
end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do io.write("status ", status, " ", n, "\n") end
  end
end
"#,
        cookies = cookies.join(", "),
        path = spec.path
    )
}

fn wrk(settings: &Settings, port: u16, spec: &Load, secs: u64) -> Result<Run, BoxError> {
    let script = settings.scripts.join("load.lua");
    std::fs::write(&script, wrk_script(spec)).map_err(context("write the wrk script"))?;
    let mut command = if settings.pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", "wrk"]);
        c
    } else {
        Command::new("wrk")
    };
    command
        .arg("-t1")
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{secs}s"))
        .args(["--latency", "--timeout", "5s", "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}{}", spec.path))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(context("start wrk"))?;
    // Bounded in time: wrk stops itself after `secs`; give it generous slack, then kill it.
    let deadline = Instant::now() + Duration::from_secs(secs + 20);
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail("wrk did not finish in time"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(fail(format!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    parse_wrk(&stdout).ok_or_else(|| fail(format!("could not parse wrk's output:\n{stdout}")))
}

/// Reads requests, req/s, p50/p99, statuses and errors from wrk's `--latency` output plus the
/// script's `status <code> <count>` lines.
fn parse_wrk(text: &str) -> Option<Run> {
    let mut requests = None;
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut non_2xx = 0;
    let mut socket_errors = 0;
    let mut statuses = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => p50 = parse_duration_us(v),
            ["99%", v] => p99 = parse_duration_us(v),
            [n, "requests", "in", ..] => requests = n.parse::<u64>().ok(),
            ["Requests/sec:", v] => rps = v.parse::<f64>().ok(),
            ["Non-2xx", "or", "3xx", "responses:", n] => non_2xx = n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 0"
                socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["status", code, n] => {
                *statuses.entry(code.parse().ok()?).or_insert(0) += n.parse::<u64>().ok()?;
            }
            _ => {}
        }
    }
    Some(Run {
        requests: requests?,
        rps: rps?,
        p50_us: p50?,
        p99_us: p99?,
        statuses,
        errors: non_2xx + socket_errors,
        cpu_us_per_req: f64::NAN,
    })
}

/// `245.12us`, `1.50ms`, `2.00s`, `1.00m` in microseconds.
fn parse_duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3_600e6,
        _ => return None,
    };
    Some(value * scale)
}

/// One HTTP/1.1 response.
#[derive(Debug)]
struct Response {
    status: u16,
    set_cookie: Option<String>,
    body: String,
    close: bool,
}

/// One request on a fresh connection (set-up and checks).
fn get_once(
    port: u16,
    path: &str,
    cookie: Option<&str>,
    timeout: Duration,
) -> Result<Response, BoxError> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(timeout))?;
    let mut reader = BufReader::new(stream);
    send(reader.get_mut(), path, cookie)?;
    read_response(&mut reader)
}

fn send(stream: &mut TcpStream, path: &str, cookie: Option<&str>) -> Result<(), BoxError> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(cookie) = cookie {
        request.push_str("Cookie: ");
        request.push_str(cookie);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    Ok(())
}

fn read_response(reader: &mut BufReader<TcpStream>) -> Result<Response, BoxError> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(fail("connection closed before a response"));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail(format!("bad status line {line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    let mut set_cookie = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(fail("connection closed in the headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            "set-cookie" => set_cookie = Some(value.to_owned()),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(context("bad chunk size"))?;
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
        close = true;
    }
    Ok(Response {
        status,
        set_cookie,
        body: String::from_utf8_lossy(&body).into_owned(),
        close,
    })
}

/// The fallback load generator: a few threads, each with one keep-alive connection, sending
/// requests back to back. Only used when wrk is missing (or `--std-client`).
struct StdClient;

impl StdClient {
    const THREADS: usize = 4;

    fn run(port: u16, spec: &Load, secs: u64) -> Result<Run, BoxError> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let started = Instant::now();
        let results: Vec<Result<Worker, BoxError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..Self::THREADS)
                .map(|t| {
                    // Thread t keeps to one of the cookies (if any): its own session.
                    let cookie = (!spec.cookies.is_empty())
                        .then(|| spec.cookies[t % spec.cookies.len()].as_str());
                    let path = spec.path;
                    scope.spawn(move || Self::worker(port, path, cookie, deadline))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(fail("client thread panicked")))
                })
                .collect()
        });
        let elapsed = started.elapsed().as_secs_f64();
        let mut latencies = Vec::new();
        let mut statuses = BTreeMap::new();
        let mut io_errors = 0;
        for result in results {
            let worker = result?;
            latencies.extend(worker.latencies);
            for (status, n) in worker.statuses {
                *statuses.entry(status).or_insert(0) += n;
            }
            io_errors += worker.io_errors;
        }
        latencies.sort_by(f64::total_cmp);
        let requests = latencies.len() as u64;
        let bad: u64 = statuses
            .iter()
            .filter(|(status, _)| !(200..400).contains(*status))
            .map(|(_, n)| n)
            .sum();
        Ok(Run {
            requests,
            rps: requests as f64 / elapsed,
            p50_us: percentile_sorted(&latencies, 50.0) / 1_000.0,
            p99_us: percentile_sorted(&latencies, 99.0) / 1_000.0,
            statuses,
            errors: bad + io_errors,
            cpu_us_per_req: f64::NAN,
        })
    }

    fn worker(
        port: u16,
        path: &str,
        cookie: Option<&str>,
        deadline: Instant,
    ) -> Result<Worker, BoxError> {
        let mut out = Worker {
            latencies: Vec::with_capacity(1 << 14),
            statuses: BTreeMap::new(),
            io_errors: 0,
        };
        let mut connection: Option<BufReader<TcpStream>> = None;
        while Instant::now() < deadline {
            let reader = match &mut connection {
                Some(reader) => reader,
                None => {
                    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
                    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                    stream.set_nodelay(true)?;
                    connection.insert(BufReader::new(stream))
                }
            };
            let start = Instant::now();
            let response =
                send(reader.get_mut(), path, cookie).and_then(|()| read_response(reader));
            match response {
                Ok(response) => {
                    out.latencies.push(start.elapsed().as_nanos() as f64);
                    *out.statuses.entry(response.status).or_insert(0) += 1;
                    if response.close {
                        connection = None;
                    }
                }
                Err(_) => {
                    // A timeout or a dropped connection: count it and start a new connection.
                    out.io_errors += 1;
                    connection = None;
                }
            }
        }
        Ok(out)
    }
}

/// What one built-in client thread saw.
struct Worker {
    latencies: Vec<f64>,
    statuses: BTreeMap<u16, u64>,
    io_errors: u64,
}

fn report(cases: &[Case], settings: &Settings, jwt_existing_ns: f64, jwt_new_ns: f64) -> Report {
    let plain_of = |framework: Framework| {
        cases
            .iter()
            .find(|c| c.framework == framework && c.route == Route::Plain)
    };
    // Per-repetition ratio to the plain case of the same repetition.
    let ratio = |case: &Case| -> Spread {
        let Some(plain) = plain_of(case.framework) else {
            return Spread::of(&[]);
        };
        let ratios: Vec<f64> = case
            .runs
            .iter()
            .zip(&plain.runs)
            .map(|(r, p)| r.cpu_us_per_req / p.cpu_us_per_req)
            .collect();
        Spread::of(&ratios)
    };
    let mut table = Table::new(&[
        "framework",
        "session",
        "path",
        "req/s median (min..max)",
        "p50 ms",
        "p99 ms",
        "server CPU us/req median (min..max)",
        "x plain CPU/req (min..max)",
        "errors",
    ]);
    let mut errors_seen = Vec::new();
    for case in cases {
        let rps = case.spread(|r| r.rps);
        let cpu = case.spread(|r| r.cpu_us_per_req);
        let p50 = case.spread(|r| r.p50_us / 1_000.0);
        let p99 = case.spread(|r| r.p99_us / 1_000.0);
        let errors: u64 = case.runs.iter().map(|r| r.errors).sum();
        let requests: u64 = case.runs.iter().map(|r| r.requests).sum();
        if errors > 0 {
            errors_seen.push(format!(
                "{} / {} / {}: {errors} of {requests} requests failed (non-2xx or socket errors)",
                case.framework.label(),
                case.backend.label(),
                case.route.label()
            ));
        }
        table.row(vec![
            case.framework.label().into(),
            case.backend.label().into(),
            case.route.label().into(),
            rps.show(0),
            format!("{:.2}", p50.median),
            format!("{:.2}", p99.median),
            cpu.show(1),
            if case.route == Route::Plain {
                "1.00 (reference)".into()
            } else {
                ratio(case).show(2)
            },
            errors.to_string(),
        ]);
    }
    let client = match settings.client {
        Client::Wrk => format!(
            "`wrk -t1 -c{CONNECTIONS} -d{}s --latency`{}",
            settings.secs,
            if settings.pin { " pinned to CPU 1" } else { "" }
        ),
        Client::Std => format!(
            "the built-in client ({} keep-alive connections, {} s; wrk was not used)",
            StdClient::THREADS,
            settings.secs
        ),
    };
    let mut notes = vec![
        format!(
            "Server CPU is the server process's utime + stime from /proc/<pid>/stat (all its \
             threads: the runtime worker, Tokio's blocking pool used by the sled and SQLite \
             stores, sled's threads, Actix's accept thread) over the run, divided by the requests \
             completed; it excludes the Redis server's own CPU. Clock ticks are 1/{:.0} s, so a \
             {} s run at full load resolves CPU to about {:.1}%.",
            settings.ticks,
            settings.secs,
            100.0 / (settings.ticks * settings.secs as f64)
        ),
        format!(
            "Existing session: before the runs, {SEEDED_SESSIONS} sessions are created with \
             `GET /seed` (signed in, holding the typical ~200-byte record); the load generator \
             replays their cookies in rotation, one per request. Every request reads and \
             increments `n`, so every request re-signs the JWT or saves to the store. The policy \
             is `ConflictPolicy::LastWriteWins`, so the rare overlap of two requests of one \
             session overwrites instead of answering 409. Rotating keeps the figures about a \
             request's own work: one cookie replayed on all 32 connections measures contention \
             instead (every save races the others and is retried), which the concurrency checks \
             below show separately."
        ),
        "New session: no cookie; each request creates a session holding only `n` (a store \
         create, or a JWT issue) and gets a Set-Cookie. Stores grow during the run."
            .into(),
        "Stores run in their default configuration: SledStore flushes (fsyncs) every write \
         before it returns, SqliteStore uses WAL with synchronous=NORMAL, RedisStore talks to \
         the local server under a random key prefix (removed afterwards with SCAN MATCH + DEL)."
            .into(),
    ];
    if errors_seen.is_empty() {
        notes.push("Every response was 2xx; no socket errors.".into());
    } else {
        notes.push(format!(
            "Errors (their cheap responses lower CPU/request): {}.",
            errors_seen.join("; ")
        ));
    }
    let section = Section {
        title: "HTTP: session overhead per framework".into(),
        intro: vec![format!(
            "Each server is its own process on one worker thread{}, loaded by {client}. Each case \
             ran {} time(s), interleaved with the plain case of its framework; figures are the \
             median (spread min..max) over repetitions, and `x plain` is the median of the \
             per-repetition ratios of CPU per request to the same framework's `GET /plain` \
             handler without a session binding.",
            if settings.pin {
                ", pinned to CPU 0 with `taskset -c 0`"
            } else {
                ""
            },
            settings.reps
        )],
        table,
        notes,
    };

    // Target: stateless JWT <= 1.20x plain CPU/request, on every framework (both paths).
    let find = |framework: Framework, backend: Backend, route: Route| {
        cases
            .iter()
            .find(|c| c.framework == framework && c.backend == backend && c.route == route)
    };
    let mut met = true;
    let mut figures = Vec::new();
    let mut detail = vec![format!(
        "In process, in a hot loop without HTTP, the stateless session work of one request \
         (load_from_header + get + insert + commit) takes {:.1} us CPU for an existing session \
         and {:.1} us for a new one (codec part). Below, per framework, the CPU per request the \
         JWT cases add, split with the two reference cases; each figure is the median (min..max) \
         of per-repetition differences, so its spread shows the noise.",
        jwt_existing_ns / 1_000.0,
        jwt_new_ns / 1_000.0
    )];
    for framework in Framework::ALL {
        let mut parts = Vec::new();
        for route in [Route::Existing, Route::New] {
            let Some(case) = find(framework, Backend::Jwt, route) else {
                continue;
            };
            let r = ratio(case);
            met &= r.median <= TARGET_JWT_RATIO;
            parts.push(format!("{:.2}x {}", r.median, route.label()));
        }
        figures.push(format!("{}: {}", framework.label(), parts.join(", ")));
        let (Some(plain), Some(headers), Some(binding), Some(existing), Some(new)) = (
            find(framework, Backend::Plain, Route::Plain),
            find(framework, Backend::Plain, Route::PlainWithHeaders),
            find(framework, Backend::Jwt, Route::PlainInBinding),
            find(framework, Backend::Jwt, Route::Existing),
            find(framework, Backend::Jwt, Route::New),
        ) else {
            continue;
        };
        // Per-repetition CPU/request of each case, combined repetition by repetition.
        let per_rep = |combine: &dyn Fn(&[f64; 5]) -> f64| -> String {
            let values: Vec<f64> = (0..plain.runs.len())
                .filter_map(|i| {
                    let cpu = |c: &Case| c.runs.get(i).map(|r| r.cpu_us_per_req);
                    Some(combine(&[
                        cpu(plain)?,
                        cpu(headers)?,
                        cpu(binding)?,
                        cpu(existing)?,
                        cpu(new)?,
                    ]))
                })
                .collect();
            let s = Spread::of(&values);
            format!("{:+.1} us ({:+.1}..{:+.1})", s.median, s.min, s.max)
        };
        detail.push(format!(
            "{}: the plain handler takes {:.1} us CPU/request. An existing session adds {}: the \
             cookie headers alone (a ~600-byte Cookie in, as large a Set-Cookie out, no session \
             code) {}, the binding around an untouched session {}, which leaves {} for the session \
             work itself. A new session adds {} ({} beyond the binding).",
            framework.label(),
            plain.spread(|r| r.cpu_us_per_req).median,
            per_rep(&|c| c[3] - c[0]),
            per_rep(&|c| c[1] - c[0]),
            per_rep(&|c| c[2] - c[0]),
            per_rep(&|c| c[3] - c[1] - c[2] + c[0]),
            per_rep(&|c| c[4] - c[0]),
            per_rep(&|c| c[4] - c[2]),
        ));
    }
    let target = Target {
        name: format!(
            "Stateless JWT session <= {TARGET_JWT_RATIO:.2}x the plain handler's CPU/request on \
             every framework"
        ),
        met,
        figure: format!(
            "{} (medians of per-repetition ratios; both paths must meet it).",
            figures.join("; ")
        ),
        detail,
    };
    Report {
        sections: vec![section],
        targets: vec![target],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "\
Running 5s test @ http://127.0.0.1:8080/plain
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   245.12us  100.00us   5.00ms   90.00%
    Req/Sec    50.00k     2.00k   55.00k    80.00%
  Latency Distribution
     50%  230.00us
     75%  260.00us
     90%  300.00us
     99%    1.50ms
  250000 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:  50000.00
Transfer/sec:      6.00MB
";

    #[test]
    fn parses_wrk_latency_output() {
        let run = parse_wrk(WRK).expect("parses");
        assert_eq!(run.requests, 250_000);
        assert_eq!(run.rps, 50_000.0);
        assert_eq!(run.p50_us, 230.0);
        assert_eq!(run.p99_us, 1_500.0);
        assert_eq!(run.errors, 15);
        assert!(parse_wrk("garbage").is_none());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration_us("2.00s"), Some(2e6));
        assert_eq!(parse_duration_us("1.00m"), Some(60e6));
        assert_eq!(parse_duration_us("12"), None);
    }
}
