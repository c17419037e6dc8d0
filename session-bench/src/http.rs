//! Part 3, `http`: each framework's plain handler against the same handler with a session read
//! and written, for the stateless modes and every store, and against the established session
//! crates of each framework (the anchors, [`crate::anchors`]) in the same run, under three load
//! shapes: a new session per request, an existing session per connection (every connection its
//! own seeded session), and one hot session (one seeded cookie replayed by every connection).
//! Two reference cases per framework split the stateless overhead: the plain handler with
//! JWT-sized cookie headers in and out (no session code), and the plain handler behind the
//! session binding.
//!
//! Servers are child processes (`session-bench serve ...`) pinned to CPU 0 with `taskset`; `wrk`
//! loads them from CPU 1 over 127.0.0.1 (all connections on one thread, or one connection per
//! thread for the per-connection shape and its references), through a generated Lua script
//! whose `setup(thread)` hands each thread its cookie and which counts statuses. Server
//! CPU time per request comes from the child's `utime + stime` in `/proc/<pid>/stat` before and
//! after each run, and for Redis-backed cases the Redis server's the same way (its pid from
//! `INFO server`). Each case runs `reps` times, interleaved with every other case of its
//! framework, so every ratio compares runs made minutes apart at most. Without wrk, `--quick`
//! falls back to a small built-in client. The own Redis store works under a random key prefix
//! (removed afterwards); the Redis anchors in a database of their own, emptied afterwards.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use session_core::config::ConflictPolicy;

use crate::anchors::{anchor_redis_url, Anchor, ANCHOR_REDIS_DB};
use crate::codec;
use crate::servers::{policy_name, Backend, Framework, Subject, DIR_ENV, PREFIX_ENV};
use crate::stores::{cleanup_prefix, random_prefix, redis_url};
use crate::timing::{percentile_sorted, Spread};
use crate::{context, fail, BoxError, Options, Report, Section, Table, Target};

/// The stateless-JWT target: CPU per request at most this many times the plain handler's.
const TARGET_JWT_RATIO: f64 = 1.20;
/// The memory-store target: CPU per request at most this many times tower-sessions'.
const TARGET_MEMORY_X_ANCHOR: f64 = 0.80;
/// The memory-store target: new-session p99 below this many milliseconds.
const TARGET_MEMORY_NEW_P99_MS: f64 = 1.0;
/// The Redis-store target: server CPU per request at most this many times the Redis anchor's.
const TARGET_REDIS_CPU_X_ANCHOR: f64 = 0.70;
/// The Redis-store target: requests per second at least this many times the Redis anchor's.
const TARGET_REDIS_RPS_X_ANCHOR: f64 = 1.5;
/// wrk's connections, one per wrk thread (the built-in client has fewer: see [`StdClient`]).
const CONNECTIONS: u32 = 32;

/// Which request a case sends, and with which cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /plain` on the server without a session binding: the reference of the shapes loaded
    /// from one wrk thread (new and hot session).
    Plain,
    /// The same, one connection per wrk thread: the reference of the per-connection shapes.
    PlainPerThread,
    /// `GET /echo-cookie` on the server without a session binding, sending the stateless JWT
    /// cookies and answering a Set-Cookie of the same size: what the header bytes alone cost.
    PlainWithHeaders,
    /// `GET /plain` without a cookie on the stateless JWT server: what the binding costs when the
    /// handler never touches the session.
    PlainInBinding,
    /// `GET /counter` without a cookie: a new session every request.
    New,
    /// `GET /counter`, every connection replaying its own seeded session's cookie.
    PerConnection,
    /// `GET /counter`, every connection replaying the same seeded session's cookie.
    Hot,
}

impl Route {
    /// The shapes measured for every session backend and anchor.
    const SESSION_SHAPES: [Route; 3] = [Route::New, Route::PerConnection, Route::Hot];

    /// The name in the report.
    fn label(self) -> &'static str {
        match self {
            Route::Plain => "GET /plain",
            Route::PlainPerThread => "GET /plain, a thread per connection",
            Route::PlainWithHeaders => "GET /plain + JWT-sized cookie headers",
            Route::PlainInBinding => "GET /plain behind the binding",
            Route::New => "new session",
            Route::PerConnection => "existing, per connection",
            Route::Hot => "hot session (one cookie)",
        }
    }

    /// The request path.
    fn path(self) -> &'static str {
        match self {
            Route::Plain | Route::PlainPerThread | Route::PlainInBinding => "/plain",
            Route::PlainWithHeaders => "/echo-cookie",
            Route::New | Route::PerConnection | Route::Hot => "/counter",
        }
    }

    /// Whether wrk runs the route with one connection per thread (`-t32 -c32`: the only way
    /// wrk's Lua gives each connection its own cookie) rather than all connections on one
    /// thread (`-t1 -c32`). The split references measure the header and binding costs of the
    /// per-connection shape, so they run the same way.
    fn thread_per_connection(self) -> bool {
        matches!(
            self,
            Route::PlainPerThread
                | Route::PlainWithHeaders
                | Route::PlainInBinding
                | Route::PerConnection
        )
    }

    /// The `GET /plain` reference measured under the same client shape.
    fn reference(self) -> Route {
        if self.thread_per_connection() {
            Route::PlainPerThread
        } else {
            Route::Plain
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

/// The error when wrk is needed and missing.
fn no_wrk() -> BoxError {
    fail(
        "wrk not found on PATH: the HTTP part needs it for a full run (`apt-get install wrk`; \
         `cargo xtask bench` installs it), or run with --quick",
    )
}

/// wrk when it is there (or the built-in client when asked for, or in `--quick` without wrk).
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

/// `program` on `PATH`, if it is there.
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

/// The kernel clock ticks per second of `/proc/<pid>/stat` times.
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
    subject: Subject,
    /// The conflict policy of an own backend (anchors have their own behaviour).
    policy: ConflictPolicy,
}

impl Server {
    /// Starts `subject` on `framework` (pinned to CPU 0 when `pin`) and waits until it listens.
    fn start(
        framework: Framework,
        subject: Subject,
        policy: ConflictPolicy,
        pin: bool,
        dir: &Path,
        redis_prefix: &str,
    ) -> Result<Server, BoxError> {
        let port = free_port()?;
        let exe = std::env::current_exe().map_err(context("locate the bench binary"))?;
        let data = dir.join(format!(
            "{}-{}-{}",
            framework.name(),
            subject.name(),
            policy_name(policy)
        ));
        std::fs::create_dir_all(&data).map_err(context("create the server's data dir"))?;
        let mut command = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        command.args(["serve", framework.name(), subject.name(), &port.to_string()]);
        if let Subject::Own(_) = subject {
            command.arg(policy_name(policy));
        }
        command
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
            subject,
            policy,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// "Axum server with redis (last-write-wins)", for messages.
    fn name(&self) -> String {
        match self.subject {
            Subject::Own(backend) if backend.is_stateful() => format!(
                "{} server with {} ({})",
                self.framework.label(),
                backend.name(),
                policy_name(self.policy)
            ),
            subject => format!("{} server with {}", self.framework.label(), subject.name()),
        }
    }

    /// Waits up to 30 s for the server to accept connections.
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
        process_cpu_ticks(self.child.id())
            .map_err(context(format!("read /proc stat of the {}", self.name())))
    }
}

impl Drop for Server {
    /// Kills the child and reaps it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's user + system CPU time in clock ticks, all threads included, from
/// `/proc/<pid>/stat`.
fn process_cpu_ticks(pid: u32) -> Result<u64, BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_ticks(&stat).ok_or_else(|| fail("malformed /proc/<pid>/stat"))
}

/// `utime + stime` from the text of `/proc/<pid>/stat`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces: skip past it.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(tick(11)? + tick(12)?)
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, BoxError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(context("find a free port"))?;
    Ok(listener.local_addr()?.port())
}

/// The Redis server's process, whose CPU time the Redis-backed cases add: found from
/// `INFO server`'s `process_id` when the server is on this machine and `/proc/<pid>` is
/// readable; otherwise why not.
#[derive(Debug, Clone)]
enum RedisProcess {
    Found(u32),
    Unavailable(String),
}

impl RedisProcess {
    /// Asks the Redis server of `REDIS_URL` for its pid and checks that it is readable here.
    fn find() -> RedisProcess {
        match redis_pid() {
            Ok(pid) => match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
                Ok(comm) if comm.contains("redis") && process_cpu_ticks(pid).is_ok() => {
                    RedisProcess::Found(pid)
                }
                Ok(comm) => RedisProcess::Unavailable(format!(
                    "/proc/{pid} is {:?}, not the Redis server (is Redis on another machine?)",
                    comm.trim()
                )),
                Err(e) => RedisProcess::Unavailable(format!("/proc/{pid} is not readable: {e}")),
            },
            Err(e) => RedisProcess::Unavailable(format!("no pid from INFO server: {e}")),
        }
    }

    /// The Redis server's CPU ticks now, if they can be read.
    fn cpu_ticks(&self) -> Option<u64> {
        match self {
            RedisProcess::Found(pid) => process_cpu_ticks(*pid).ok(),
            RedisProcess::Unavailable(_) => None,
        }
    }
}

/// `process_id` from `INFO server`, when `REDIS_URL` names this machine.
fn redis_pid() -> Result<u32, BoxError> {
    let url = redis_url();
    let host = url
        .split_once("://")
        .map_or(url.as_str(), |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let local = ["127.", "localhost", "[::1]"]
        .iter()
        .any(|l| host.starts_with(l));
    if !local {
        return Err(fail(format!("{host} is not this machine")));
    }
    let info: String = block_on_redis(&url, |mut conn| async move {
        Ok(redis::cmd("INFO")
            .arg("server")
            .query_async::<String>(&mut conn)
            .await?)
    })?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .ok_or_else(|| fail("INFO server has no process_id"))
}

/// How long the set-up and clean-up commands may take: a full run leaves about a million keys
/// behind, which the client's default 500 ms is too short to scan or flush.
const REDIS_MAINTENANCE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` on a connection to `url` (with [`REDIS_MAINTENANCE_TIMEOUT`] per command) on a
/// throwaway runtime.
fn block_on_redis<T, F, Fut>(url: &str, f: F) -> Result<T, BoxError>
where
    F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
    Fut: std::future::Future<Output = Result<T, BoxError>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))?;
    rt.block_on(async {
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        conn.set_response_timeout(REDIS_MAINTENANCE_TIMEOUT);
        f(conn).await
    })
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
    /// Socket errors (connect, read, write, timeout).
    socket_errors: u64,
    cpu_us_per_req: f64,
    /// The Redis server's CPU per request, for Redis-backed cases when it can be read.
    redis_cpu_us_per_req: Option<f64>,
}

impl Run {
    /// Responses whose status is not 2xx.
    fn non_2xx(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The cookies a load sends.
#[derive(Debug, Clone)]
enum Cookies {
    /// No cookie: every request starts a new session.
    None,
    /// One cookie per connection (wrk: per thread), each a session of its own.
    PerConnection(Vec<String>),
    /// The same cookie on every connection.
    Shared(String),
}

impl Cookies {
    /// The cookies handed out to connections in turn (none: no cookie).
    fn list(&self) -> Vec<&str> {
        match self {
            Cookies::None => Vec::new(),
            Cookies::PerConnection(cookies) => cookies.iter().map(String::as_str).collect(),
            Cookies::Shared(cookie) => vec![cookie.as_str()],
        }
    }
}

/// What the load generator sends: one path, and the cookies.
#[derive(Debug, Clone)]
struct Load {
    path: &'static str,
    cookies: Cookies,
    /// wrk threads: 1, or one per connection ([`Route::thread_per_connection`]).
    threads: u32,
}

/// A case of the main table and its runs.
#[derive(Debug)]
struct Case {
    framework: Framework,
    subject: Subject,
    route: Route,
    server: usize,
    load: Load,
    runs: Vec<Run>,
}

impl Case {
    /// `f` of every run, as a median and spread.
    fn spread(&self, f: impl Fn(&Run) -> f64) -> Spread {
        Spread::of(&self.runs.iter().map(f).collect::<Vec<_>>())
    }

    /// Non-2xx responses over all runs.
    fn non_2xx(&self) -> u64 {
        self.runs.iter().map(Run::non_2xx).sum()
    }

    /// Requests over all runs.
    fn requests(&self) -> u64 {
        self.runs.iter().map(|r| r.requests).sum()
    }

    /// Whether `(framework, backend, route)` names this case.
    fn is(&self, framework: Framework, subject: Subject, route: Route) -> bool {
        self.framework == framework && self.subject == subject && self.route == route
    }
}

/// `f(case run, other run)` repetition by repetition, as a median and spread.
fn per_rep(case: &Case, other: &Case, f: impl Fn(&Run, &Run) -> f64) -> Spread {
    let values: Vec<f64> = case
        .runs
        .iter()
        .zip(&other.runs)
        .map(|(a, b)| f(a, b))
        .collect();
    Spread::of(&values)
}

/// How the HTTP part runs.
struct Settings {
    client: Client,
    pin: bool,
    secs: u64,
    reps: usize,
    warmup: bool,
    ticks: f64,
    redis: RedisProcess,
    /// Where the wrk scripts go.
    scripts: PathBuf,
}

/// Runs the HTTP part: every framework's cases, then the report.
pub(crate) fn run(options: Options) -> Result<Report, BoxError> {
    let scripts = tempfile::tempdir().map_err(context("temp dir"))?;
    let settings = Settings {
        client: choose_client(options)?,
        pin: can_pin(),
        secs: if options.quick { 1 } else { 3 },
        reps: if options.quick { 1 } else { 3 },
        warmup: !options.quick,
        ticks: clock_ticks_per_sec(),
        redis: RedisProcess::find(),
        scripts: scripts.path().to_owned(),
    };
    if !settings.pin {
        println!("note: taskset or a second CPU is missing; servers and client run unpinned");
    }
    if let RedisProcess::Unavailable(why) = &settings.redis {
        println!("note: the Redis server's CPU is not measured: {why}");
    }
    let runs = with_anchor_database(|| {
        let mut runs = Vec::new();
        for framework in Framework::ALL {
            let started = Instant::now();
            runs.push(with_redis_prefix(|prefix| {
                let dir = tempfile::tempdir().map_err(context("temp dir"))?;
                run_framework(framework, &settings, dir.path(), prefix)
            })?);
            println!(
                "  {} done in {:.0} s",
                framework.label(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(runs)
    })?;
    let (jwt_existing_ns, jwt_new_ns) = codec::jwt_request_work_ns(options.quick)?;
    let mut cases = Vec::new();
    let mut stalled = Vec::new();
    for run in runs {
        cases.extend(run.cases);
        stalled.extend(run.stalled);
    }
    let figures = Figures {
        cases: &cases,
        settings: &settings,
    };
    Ok(report(&figures, &stalled, jwt_existing_ns, jwt_new_ns))
}

/// Runs `f` with a fresh Redis key prefix and removes every key under it afterwards, whatever
/// `f` returned.
fn with_redis_prefix<T>(f: impl FnOnce(&str) -> Result<T, BoxError>) -> Result<T, BoxError> {
    let prefix = random_prefix();
    let outcome = f(&prefix);
    let cleaned = block_on_redis(&redis_url(), |mut conn| async move {
        cleanup_prefix(&mut conn, &prefix).await
    });
    let value = outcome?;
    cleaned.map_err(context("cleaning up the bench's Redis keys"))?;
    Ok(value)
}

/// Runs `f`, then empties the Redis anchors' database ([`ANCHOR_REDIS_DB`]) whatever `f`
/// returned, so the anchors leave nothing behind.
fn with_anchor_database<T>(f: impl FnOnce() -> Result<T, BoxError>) -> Result<T, BoxError> {
    let outcome = f();
    let flushed = block_on_redis(&anchor_redis_url(), |mut conn| async move {
        // ASYNC: the keys are gone at once, their memory is freed in the background, and
        // Redis does not stall for the other users of the server.
        Ok(redis::cmd("FLUSHDB")
            .arg("ASYNC")
            .query_async::<()>(&mut conn)
            .await?)
    });
    let value = outcome?;
    flushed.map_err(context(format!(
        "emptying Redis database {ANCHOR_REDIS_DB} of the anchors"
    )))?;
    Ok(value)
}

/// One server to start, and the cases measured on it.
#[derive(Debug)]
struct Plan {
    subject: Subject,
    policy: ConflictPolicy,
    routes: Vec<Route>,
}

/// The servers of `framework` and their cases, in the report's order: the plain server, every
/// own backend (a stateful one twice: under `Reject` for the new-session and per-connection
/// shapes, under `LastWriteWins` for the hot session), then the anchors.
fn plans(framework: Framework) -> Vec<Plan> {
    let plan = |subject, policy, routes: &[Route]| Plan {
        subject,
        policy,
        routes: routes.to_vec(),
    };
    let mut plans = vec![plan(
        Subject::Own(Backend::Plain),
        ConflictPolicy::Reject,
        &[Route::Plain, Route::PlainPerThread, Route::PlainWithHeaders],
    )];
    for backend in Backend::MEASURED {
        let own = Subject::Own(backend);
        if backend == Backend::Plain {
            continue;
        }
        let mut routes = vec![Route::New, Route::PerConnection];
        if backend == Backend::Jwt {
            routes.insert(0, Route::PlainInBinding);
        }
        if backend.is_stateful() {
            plans.push(plan(own, ConflictPolicy::Reject, &routes));
            plans.push(plan(own, ConflictPolicy::LastWriteWins, &[Route::Hot]));
        } else {
            // Stateless cookies share no state: the conflict policy has nothing to decide.
            routes.push(Route::Hot);
            plans.push(plan(own, ConflictPolicy::Reject, &routes));
        }
    }
    for anchor in Anchor::of(framework) {
        plans.push(plan(
            Subject::Anchor(anchor),
            ConflictPolicy::Reject,
            &Route::SESSION_SHAPES,
        ));
    }
    plans
}

/// The cookies seeded on one server before the runs.
#[derive(Debug, Default)]
struct Seeded {
    /// One session per connection.
    per_connection: Vec<String>,
    /// The one session of the hot shape.
    hot: Option<String>,
    /// The session the start-up check and the after-load check use.
    check: Option<String>,
}

/// One framework's measured cases, and the servers that no longer answered after the load.
struct FrameworkRun {
    cases: Vec<Case>,
    stalled: Vec<String>,
}

/// Starts the framework's servers, checks them, and measures its cases.
fn run_framework(
    framework: Framework,
    settings: &Settings,
    dir: &Path,
    prefix: &str,
) -> Result<FrameworkRun, BoxError> {
    let plans = plans(framework);
    let mut servers = Vec::new();
    for plan in &plans {
        servers.push(Server::start(
            framework,
            plan.subject,
            plan.policy,
            settings.pin,
            dir,
            prefix,
        )?);
    }
    let seeded = plans
        .iter()
        .zip(&servers)
        .map(|(plan, server)| prepare(server, &plan.routes))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cases = cases_of(framework, &plans, &seeded)?;
    if settings.warmup {
        for case in &cases {
            load(settings, &servers[case.server], &case.load, 1)?;
        }
    }
    for rep in 0..settings.reps {
        for case in &mut cases {
            let run = measure(settings, &servers[case.server], &case.load, settings.secs)?;
            print_run(case, rep, &run);
            case.runs.push(run);
        }
    }
    let stalled = servers
        .iter()
        .zip(&seeded)
        .filter(|(server, seeded)| !answers_after_load(server, seeded))
        .map(|(server, _)| server.name())
        .collect();
    Ok(FrameworkRun { cases, stalled })
}

/// The cases of `plans`, with the cookies `seeded` on their servers.
fn cases_of(
    framework: Framework,
    plans: &[Plan],
    seeded: &[Seeded],
) -> Result<Vec<Case>, BoxError> {
    let jwt = plans
        .iter()
        .position(|p| p.subject == Subject::Own(Backend::Jwt))
        .ok_or_else(|| fail("no stateless JWT server"))?;
    let mut cases = Vec::new();
    for (server, plan) in plans.iter().enumerate() {
        for &route in &plan.routes {
            let cookies = match route {
                Route::Plain | Route::PlainPerThread | Route::PlainInBinding | Route::New => {
                    Cookies::None
                }
                Route::PlainWithHeaders => {
                    Cookies::PerConnection(seeded[jwt].per_connection.clone())
                }
                Route::PerConnection => {
                    Cookies::PerConnection(seeded[server].per_connection.clone())
                }
                Route::Hot => Cookies::Shared(
                    seeded[server]
                        .hot
                        .clone()
                        .ok_or_else(|| fail("no hot session seeded"))?,
                ),
            };
            cases.push(Case {
                framework,
                subject: plan.subject,
                route,
                server,
                load: Load {
                    path: route.path(),
                    cookies,
                    threads: if route.thread_per_connection() {
                        CONNECTIONS
                    } else {
                        1
                    },
                },
                runs: Vec::new(),
            });
        }
    }
    Ok(cases)
}

/// Checks that `server` answers, and seeds the sessions its `routes` need.
fn prepare(server: &Server, routes: &[Route]) -> Result<Seeded, BoxError> {
    if server.subject == Subject::Own(Backend::Plain) {
        expect_body(server, "/plain", None, "ok")?;
        return Ok(Seeded::default());
    }
    let check = seed(server)?;
    expect_body(server, "/counter", Some(&check), "1")?;
    expect_body(server, "/counter", None, "1")?;
    // The JWT server's cookies also go out on the plain server's header-cost case.
    let per_connection =
        if routes.contains(&Route::PerConnection) || server.subject == Subject::Own(Backend::Jwt) {
            (0..CONNECTIONS)
                .map(|_| seed(server))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
    let hot = if routes.contains(&Route::Hot) {
        Some(seed(server)?)
    } else {
        None
    };
    Ok(Seeded {
        per_connection,
        hot,
        check: Some(check),
    })
}

/// Whether `server` still answers one more request within 5 s once the load stopped (a store
/// that deadlocked under load does not).
fn answers_after_load(server: &Server, seeded: &Seeded) -> bool {
    let path = match server.subject {
        Subject::Own(Backend::Plain) => "/plain",
        _ => "/counter",
    };
    get_once(
        server.port,
        path,
        seeded.check.as_deref(),
        Duration::from_secs(5),
    )
    .is_ok()
}

/// The progress line of one run.
fn print_run(case: &Case, rep: usize, run: &Run) {
    let redis = run
        .redis_cpu_us_per_req
        .map(|us| format!(" + {us:.1} us Redis"))
        .unwrap_or_default();
    let non_2xx = match run.non_2xx() + run.socket_errors {
        0 => String::new(),
        _ => format!(
            ", {} non-2xx, {} socket errors ({})",
            run.non_2xx(),
            run.socket_errors,
            show_statuses(&run.statuses)
        ),
    };
    println!(
        "  {:<9} {:<46} {:<37} rep {}: {:>6.0} req/s, p50 {:>6.2} ms, p99 {:>6.2} ms, \
         {:>6.1} us CPU/req{redis}{non_2xx}",
        case.framework.label(),
        case.subject.label(),
        case.route.label(),
        rep + 1,
        run.rps,
        run.p50_us / 1_000.0,
        run.p99_us / 1_000.0,
        run.cpu_us_per_req,
    );
}

/// One load run with the server's (and for Redis-backed servers, the Redis server's) CPU time
/// read before and after.
fn measure(settings: &Settings, server: &Server, spec: &Load, secs: u64) -> Result<Run, BoxError> {
    let redis = server.subject.uses_redis();
    let redis_before = redis.then(|| settings.redis.cpu_ticks()).flatten();
    let before = server.cpu_ticks()?;
    let mut run = load(settings, server, spec, secs)?;
    let after = server.cpu_ticks()?;
    let redis_after = redis.then(|| settings.redis.cpu_ticks()).flatten();
    let requests = run.requests;
    let per_request = |ticks: u64| {
        if requests > 0 {
            ticks as f64 / settings.ticks * 1e6 / requests as f64
        } else {
            f64::NAN
        }
    };
    run.cpu_us_per_req = per_request(after.saturating_sub(before));
    run.redis_cpu_us_per_req = redis_before
        .zip(redis_after)
        .map(|(before, after)| per_request(after.saturating_sub(before)));
    Ok(run)
}

/// `200 x2668, 409 x4486`.
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

/// `GET /seed` and the cookie it sets (`name=value`).
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

/// Fails unless `GET path` (with `cookie`) answers 200 with `body`.
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

/// The wrk script: `setup(thread)` hands the cookies to the threads in turn (one connection
/// each), every request of a thread carries its cookie, and statuses are counted.
fn wrk_script(spec: &Load) -> String {
    let cookies: Vec<String> = spec
        .cookies
        .list()
        .iter()
        .map(|c| format!("{c:?}"))
        .collect();
    format!(
        r#"-- Generated by session-bench.
local cookies = {{ {cookies} }}
local threads = {{}}
local handed = 0
function setup(thread)
  table.insert(threads, thread)
  if #cookies > 0 then
    handed = handed % #cookies + 1
    thread:set("cookie", cookies[handed])
  end
end
-- wrk sets the Host header only once the thread starts: format the request from init() on.
function init(args)
  statuses = {{}}
  if cookie then
    req = wrk.format("GET", "{path}", {{ ["Cookie"] = cookie }})
  else
    req = wrk.format("GET", "{path}")
  end
end
function request() return req end
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

/// One wrk run with the load's threads and [`CONNECTIONS`] connections, pinned to CPU 1 when
/// possible.
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
        .arg(format!("-t{}", spec.threads))
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

/// Reads requests, req/s, p50/p99, statuses and socket errors from wrk's `--latency` output
/// plus the script's `status <code> <count>` lines.
fn parse_wrk(text: &str) -> Option<Run> {
    let mut requests = None;
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut socket_errors = 0;
    let mut statuses = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => p50 = parse_duration_us(v),
            ["99%", v] => p99 = parse_duration_us(v),
            [n, "requests", "in", ..] => requests = n.parse::<u64>().ok(),
            ["Requests/sec:", v] => rps = v.parse::<f64>().ok(),
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
    let requests = requests?;
    if requests > 0 && statuses.is_empty() {
        // The script's status lines are the only status counts: without them nothing is known.
        return None;
    }
    Some(Run {
        requests,
        rps: rps?,
        p50_us: p50?,
        p99_us: p99?,
        statuses,
        socket_errors,
        cpu_us_per_req: f64::NAN,
        redis_cpu_us_per_req: None,
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

/// Writes `GET path` (with `cookie`) on `stream`.
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

/// Reads one response: status, `Set-Cookie`, body (by length, chunked or to close).
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

/// The fallback load generator: a few threads, each with one keep-alive connection and its own
/// cookie (per connection: its own session; hot: the shared one), sending requests back to
/// back. Only used when wrk is missing (or `--std-client`).
struct StdClient;

impl StdClient {
    const THREADS: usize = 4;

    /// Loads `port` for `secs` seconds from [`Self::THREADS`] threads.
    fn run(port: u16, spec: &Load, secs: u64) -> Result<Run, BoxError> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let started = Instant::now();
        let cookies = spec.cookies.list();
        let results: Vec<Result<Worker, BoxError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..Self::THREADS)
                .map(|t| {
                    // Thread t keeps to one of the cookies (if any), as a wrk thread does.
                    let cookie = (!cookies.is_empty()).then(|| cookies[t % cookies.len()]);
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
        let mut socket_errors = 0;
        for result in results {
            let worker = result?;
            latencies.extend(worker.latencies);
            for (status, n) in worker.statuses {
                *statuses.entry(status).or_insert(0) += n;
            }
            socket_errors += worker.io_errors;
        }
        latencies.sort_by(f64::total_cmp);
        let requests = latencies.len() as u64;
        Ok(Run {
            requests,
            rps: requests as f64 / elapsed,
            p50_us: percentile_sorted(&latencies, 50.0) / 1_000.0,
            p99_us: percentile_sorted(&latencies, 99.0) / 1_000.0,
            statuses,
            socket_errors,
            cpu_us_per_req: f64::NAN,
            redis_cpu_us_per_req: None,
        })
    }

    /// One thread's loop until `deadline`: `GET path` with `cookie`, reconnecting after errors.
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

/// The measured cases, and how they were measured.
struct Figures<'a> {
    cases: &'a [Case],
    settings: &'a Settings,
}

impl Figures<'_> {
    /// The case of `subject` on `framework` under `route`, if it ran.
    fn find(&self, framework: Framework, subject: Subject, route: Route) -> Option<&Case> {
        self.cases.iter().find(|c| c.is(framework, subject, route))
    }

    /// The case of this framework's own `backend` under `route`, if it ran.
    fn own(&self, framework: Framework, backend: Backend, route: Route) -> Option<&Case> {
        self.find(framework, Subject::Own(backend), route)
    }

    /// The anchor an own case is compared with, if it has one.
    fn anchor_for(case: &Case) -> Option<Anchor> {
        match case.subject {
            Subject::Own(backend) if case.route != Route::PlainInBinding => {
                Anchor::matching(case.framework, backend)
            }
            _ => None,
        }
    }

    /// The matching anchor's case of the same shape, if the anchor has one and it ran.
    fn anchor_case(&self, case: &Case) -> Option<&Case> {
        let anchor = Self::anchor_for(case)?;
        self.find(case.framework, Subject::Anchor(anchor), case.route)
    }

    /// Per-repetition CPU/request against the same framework's `GET /plain` under the same
    /// client shape.
    fn x_plain(&self, case: &Case) -> Option<Spread> {
        let plain = self.own(case.framework, Backend::Plain, case.route.reference())?;
        Some(per_rep(case, plain, |r, p| {
            r.cpu_us_per_req / p.cpu_us_per_req
        }))
    }

    /// Per-repetition CPU/request against the matching anchor's of the same shape.
    fn x_anchor(&self, case: &Case) -> Option<Spread> {
        let anchor = self.anchor_case(case)?;
        Some(per_rep(case, anchor, |r, a| {
            r.cpu_us_per_req / a.cpu_us_per_req
        }))
    }

    /// Per-repetition requests per second against the matching anchor's.
    fn x_anchor_rps(&self, case: &Case) -> Option<Spread> {
        let anchor = self.anchor_case(case)?;
        Some(per_rep(case, anchor, |r, a| r.rps / a.rps))
    }

    /// Per-repetition Redis CPU/request against the matching anchor's, when every run has both.
    fn x_anchor_redis(&self, case: &Case) -> Option<Spread> {
        let anchor = self.anchor_case(case)?;
        let ratios: Option<Vec<f64>> = case
            .runs
            .iter()
            .zip(&anchor.runs)
            .map(|(r, a)| Some(r.redis_cpu_us_per_req? / a.redis_cpu_us_per_req?))
            .collect();
        ratios.filter(|r| !r.is_empty()).map(|r| Spread::of(&r))
    }
}

/// The Redis CPU/request of a case's runs, when every run has it.
fn redis_cpu(case: &Case) -> Option<Spread> {
    let values: Option<Vec<f64>> = case.runs.iter().map(|r| r.redis_cpu_us_per_req).collect();
    values.filter(|v| !v.is_empty()).map(|v| Spread::of(&v))
}

/// The HTTP section and its targets.
fn report(figures: &Figures, stalled: &[String], jwt_existing_ns: f64, jwt_new_ns: f64) -> Report {
    let section = Section {
        title: "HTTP: session overhead per framework, against the anchors".into(),
        intro: vec![intro(figures.settings)],
        table: main_table(figures),
        notes: notes(figures, stalled),
    };
    Report {
        sections: vec![section],
        targets: vec![
            jwt_plain_target(figures, jwt_existing_ns, jwt_new_ns),
            jwt_anchor_target(figures),
            memory_anchor_target(figures),
            memory_p99_target(figures),
            redis_cpu_target(figures),
            redis_redis_cpu_target(figures),
            redis_rps_target(figures),
            redis_non_2xx_target(figures),
            per_connection_target(figures),
        ],
    }
}

/// The section's opening paragraph: how the servers ran and were loaded.
fn intro(settings: &Settings) -> String {
    let client = match settings.client {
        Client::Wrk => format!(
            "`wrk -t1 -c{CONNECTIONS} -d{}s --latency` (`-t{CONNECTIONS}`, one connection per \
             thread, for the per-connection shape and its references){}",
            settings.secs,
            if settings.pin { " pinned to CPU 1" } else { "" }
        ),
        Client::Std => format!(
            "the built-in client ({} keep-alive connections, {} s; wrk was not used)",
            StdClient::THREADS,
            settings.secs
        ),
    };
    format!(
        "Each server is its own process on one worker thread{}, loaded by {client}. Each case \
         ran {} time(s), interleaved with every other case of its framework; figures are the \
         median (spread min..max) over repetitions. `x plain` is the median of the \
         per-repetition ratios of CPU per request to the same framework's `GET /plain` handler \
         without a session binding under the same client shape (see the notes); `x anchor` the same against the matching anchor's case of \
         the same shape (stateless JWT and JWE: actix-session's private cookie on Actix-web, \
         Rocket's private cookie on Rocket, tower-sessions' MemoryStore on Axum, which has no \
         cookie store; MemoryStore: tower-sessions' MemoryStore; RedisStore: the framework's \
         Redis anchor; `-`: no anchor).",
        if settings.pin {
            ", pinned to CPU 0 with `taskset -c 0`"
        } else {
            ""
        },
        settings.reps
    )
}

/// One row per case.
fn main_table(figures: &Figures) -> Table {
    let mut table = Table::new(&[
        "framework",
        "session",
        "path",
        "req/s median (min..max)",
        "p50 ms",
        "p99 ms",
        "server CPU us/req median (min..max)",
        "Redis CPU us/req",
        "x plain CPU/req (min..max)",
        "x anchor CPU/req (min..max)",
        "non-2xx",
        "socket errors",
    ]);
    for case in figures.cases {
        let redis = match (case.subject.uses_redis(), redis_cpu(case)) {
            (false, _) => "-".to_owned(),
            (true, Some(spread)) => spread.show(1),
            (true, None) => "n/a".to_owned(),
        };
        let x_plain = match case.route {
            Route::Plain | Route::PlainPerThread => "1.00 (reference)".to_owned(),
            _ => figures
                .x_plain(case)
                .map_or_else(|| "-".to_owned(), |s| s.show(2)),
        };
        let x_anchor = match (case.subject, Figures::anchor_for(case)) {
            (Subject::Anchor(_), _) => "(anchor)".to_owned(),
            (_, None) => "-".to_owned(),
            (_, Some(_)) => figures
                .x_anchor(case)
                .map_or_else(|| "n/a".to_owned(), |s| s.show(2)),
        };
        table.row(vec![
            case.framework.label().into(),
            case.subject.label().into(),
            case.route.label().into(),
            case.spread(|r| r.rps).show(0),
            format!("{:.2}", case.spread(|r| r.p50_us / 1_000.0).median),
            format!("{:.2}", case.spread(|r| r.p99_us / 1_000.0).median),
            case.spread(|r| r.cpu_us_per_req).show(1),
            redis,
            x_plain,
            x_anchor,
            case.non_2xx().to_string(),
            case.runs
                .iter()
                .map(|r| r.socket_errors)
                .sum::<u64>()
                .to_string(),
        ]);
    }
    table
}

/// What the figures mean, what ran how, and what went wrong.
fn notes(figures: &Figures, stalled: &[String]) -> Vec<String> {
    let settings = figures.settings;
    let mut notes = vec![
        format!(
            "Server CPU is the server process's utime + stime from /proc/<pid>/stat (all its \
             threads: the runtime worker, Tokio's blocking pool used by the sled and SQLite \
             stores, sled's threads, Actix's accept thread, fred's and redis' connection tasks) \
             over the run, divided by the requests completed. Redis CPU is the redis-server \
             process's utime + stime the same way (its pid from `INFO server`), for the \
             Redis-backed cases only; Redis is not pinned, and anything else using it during a \
             run adds to it. Clock ticks are 1/{:.0} s, so a {} s run at full load resolves CPU \
             to about {:.1}%.",
            settings.ticks,
            settings.secs,
            100.0 / (settings.ticks * settings.secs as f64)
        ),
        "New session: no cookie; each request creates a session holding only `n` (a store \
         create, or a cookie issued) and gets a Set-Cookie. Stores grow during the run."
            .into(),
        format!(
            "Client shapes: wrk's Lua has no per-connection hook, only `setup(thread)`, so the \
             per-connection shape runs {CONNECTIONS} wrk threads of one connection each; the \
             other shapes run all {CONNECTIONS} connections on one wrk thread, as before. One \
             connection per thread batches nothing (every wake-up of the server and of wrk \
             carries one request), which raises CPU per request and lowers req/s by itself, so \
             each shape has its own `GET /plain` reference and `x plain` divides by the one of \
             the same shape; the header and binding references run one connection per thread \
             too. The built-in fallback client keeps one cookie per worker the same way."
        ),
        format!(
            "Existing, per connection: before the runs, {CONNECTIONS} sessions are created with \
             `GET /seed` (signed in, holding the typical ~200-byte record); each connection \
             replays its own one, so no two requests in flight share a session. Every request \
             reads and increments `n`, so every request re-issues the cookie or saves to the \
             store. This framework's stores run under the default `ConflictPolicy::Reject` here \
             (and for new sessions), so any 409 would show in the non-2xx column."
        ),
        "Hot session: one seeded cookie replayed by every connection, so saves of one session \
         race. This framework's stores run under `ConflictPolicy::LastWriteWins` (a save that \
         lost a race is merged and retried, a bounded number of times before a 409); the \
         stateless cookies have no shared state and the anchors do not detect concurrent \
         updates (the last save overwrites), so they run as they are. Non-2xx answers are \
         counted, not hidden."
            .into(),
        "The load generator replays the seeded cookie and ignores Set-Cookie, like a client \
         that sends one cookie many times: stateless cookies (JWT, JWE, the private cookies) \
         then carry the seeded `n` every time, stores keep the session id and advance `n`."
            .into(),
        format!(
            "Anchors run with their crates' defaults on the same handlers: tower-sessions \
             (`SessionManagerLayer::new(store)`, saving a session only when it changed), \
             actix-session (`SessionMiddleware::new(store, key)`, private cookies), Rocket's \
             private cookies (`add_private` with the record as JSON, AES-256-GCM under the \
             configured secret key). The Redis anchors use Redis database {ANCHOR_REDIS_DB} on \
             the same server, emptied with FLUSHDB ASYNC after the run; tower-sessions-redis-store \
             talks to it through one `fred` client, actix-session through one redis \
             `ConnectionManager`, like RedisStore."
        ),
        "Stores run in their default configuration: SledStore flushes (fsyncs) every write \
         before it returns, SqliteStore uses WAL with synchronous=NORMAL, RedisStore talks to \
         the local server under a random key prefix (removed afterwards with SCAN MATCH + DEL)."
            .into(),
    ];
    if let RedisProcess::Unavailable(why) = &settings.redis {
        notes.push(format!("Redis CPU is n/a: {why}."));
    }
    notes.push(failures_note(figures.cases));
    notes.push(if stalled.is_empty() {
        "Every server still answered one more request within 5 s after the load: none stalled."
            .to_owned()
    } else {
        format!(
            "Stalled after the load (no answer within 5 s): {}.",
            stalled.join(", ")
        )
    });
    notes
}

/// Which cases had non-2xx answers or socket errors, and how many.
fn failures_note(cases: &[Case]) -> String {
    let failed: Vec<String> = cases
        .iter()
        .filter(|c| c.non_2xx() > 0 || c.runs.iter().any(|r| r.socket_errors > 0))
        .map(|c| {
            let mut statuses = BTreeMap::new();
            for run in &c.runs {
                for (status, n) in &run.statuses {
                    *statuses.entry(*status).or_insert(0) += n;
                }
            }
            let socket: u64 = c.runs.iter().map(|r| r.socket_errors).sum();
            format!(
                "{} / {} / {}: {} of {} requests non-2xx ({}), {socket} socket errors",
                c.framework.label(),
                c.subject.label(),
                c.route.label(),
                c.non_2xx(),
                c.requests(),
                show_statuses(&statuses)
            )
        })
        .collect();
    if failed.is_empty() {
        "Every response was 2xx; no socket errors.".into()
    } else {
        format!(
            "Non-2xx answers or socket errors (cheap error responses lower CPU/request): {}.",
            failed.join("; ")
        )
    }
}

/// One figure a target judges: a label and its value (`None`: not measured in this run).
struct Check {
    label: String,
    value: Option<Spread>,
}

/// A target met when every check was measured and its median passes.
fn judge(
    name: String,
    checks: &[Check],
    pass: impl Fn(f64) -> bool,
    show: impl Fn(&Spread) -> String,
    detail: Vec<String>,
) -> Target {
    let met = !checks.is_empty()
        && checks
            .iter()
            .all(|c| c.value.as_ref().is_some_and(|v| pass(v.median)));
    let figures: Vec<String> = checks
        .iter()
        .map(|c| match &c.value {
            Some(v) => format!("{} {}", c.label, show(v)),
            None => format!("{} not measured", c.label),
        })
        .collect();
    Target {
        name,
        met,
        figure: format!(
            "{} (medians of per-repetition figures, min..max).",
            figures.join("; ")
        ),
        detail,
    }
}

/// `0.62x (0.60..0.65)`.
fn show_ratio(s: &Spread) -> String {
    format!("{:.2}x ({:.2}..{:.2})", s.median, s.min, s.max)
}

/// The checks of `f` on `backend`'s cases of `routes` in each of `frameworks`.
fn checks_of(
    figures: &Figures,
    frameworks: &[Framework],
    backend: Backend,
    routes: &[Route],
    f: impl Fn(&Case) -> Option<Spread>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for &framework in frameworks {
        for &route in routes {
            checks.push(Check {
                label: format!("{} {}", framework.label(), route.label()),
                value: figures.own(framework, backend, route).and_then(&f),
            });
        }
    }
    checks
}

/// The existing-session and new-session shapes the stateless targets judge.
const STATELESS_SHAPES: [Route; 2] = [Route::PerConnection, Route::New];

/// The frameworks with a Redis anchor.
const REDIS_ANCHORED: [Framework; 2] = [Framework::Axum, Framework::Actix];

/// Stateless JWT <= 1.20x plain CPU/request on every framework, with where the time goes.
fn jwt_plain_target(figures: &Figures, jwt_existing_ns: f64, jwt_new_ns: f64) -> Target {
    let checks = checks_of(
        figures,
        &Framework::ALL,
        Backend::Jwt,
        &STATELESS_SHAPES,
        |c| figures.x_plain(c),
    );
    let mut detail = vec![format!(
        "In process, in a hot loop without HTTP, the stateless session work of one request \
         (lazy_from_headers + the first load + get + insert + commit_for_status) takes {:.1} us CPU for an existing session \
         and {:.1} us for a new one (codec part). Below, per framework, the CPU per request the \
         JWT cases add, split with the two reference cases; each figure is the median (min..max) \
         of per-repetition differences, so its spread shows the noise.",
        jwt_existing_ns / 1_000.0,
        jwt_new_ns / 1_000.0
    )];
    detail.extend(
        Framework::ALL
            .into_iter()
            .filter_map(|f| jwt_breakdown(figures, f)),
    );
    judge(
        format!(
            "Stateless JWT session <= {TARGET_JWT_RATIO:.2}x the plain handler's CPU/request on \
             every framework, existing (per connection) and new session"
        ),
        &checks,
        |x| x <= TARGET_JWT_RATIO,
        show_ratio,
        detail,
    )
}

/// Where a framework's stateless JWT CPU goes: header bytes, binding, session work.
fn jwt_breakdown(figures: &Figures, framework: Framework) -> Option<String> {
    let plain = figures.own(framework, Backend::Plain, Route::PlainPerThread)?;
    let headers = figures.own(framework, Backend::Plain, Route::PlainWithHeaders)?;
    let binding = figures.own(framework, Backend::Jwt, Route::PlainInBinding)?;
    let existing = figures.own(framework, Backend::Jwt, Route::PerConnection)?;
    let plain_one_thread = figures.own(framework, Backend::Plain, Route::Plain)?;
    let new = figures.own(framework, Backend::Jwt, Route::New)?;
    // Per-repetition CPU/request of each case, combined repetition by repetition.
    let cases = [plain, headers, binding, existing, plain_one_thread, new];
    let per_rep = |combine: &dyn Fn(&[f64; 6]) -> f64| -> String {
        let values: Vec<f64> = (0..plain.runs.len())
            .filter_map(|i| {
                let mut cpu = [0.0; 6];
                for (slot, case) in cpu.iter_mut().zip(cases) {
                    *slot = case.runs.get(i)?.cpu_us_per_req;
                }
                Some(combine(&cpu))
            })
            .collect();
        let s = Spread::of(&values);
        format!("{:+.1} us ({:+.1}..{:+.1})", s.median, s.min, s.max)
    };
    Some(format!(
        "{}: with a thread per connection, the plain handler takes {:.1} us CPU/request and an \
         existing session adds {}: the cookie headers alone (the session cookie in, as large a \
         Set-Cookie out, no session code) {}, the binding around an untouched session {}, which \
         leaves {} for the session work itself. With one wrk thread, the plain handler takes \
         {:.1} us and a new session adds {}.",
        framework.label(),
        plain.spread(|r| r.cpu_us_per_req).median,
        per_rep(&|c| c[3] - c[0]),
        per_rep(&|c| c[1] - c[0]),
        per_rep(&|c| c[2] - c[0]),
        per_rep(&|c| c[3] - c[1] - c[2] + c[0]),
        plain_one_thread.spread(|r| r.cpu_us_per_req).median,
        per_rep(&|c| c[5] - c[4]),
    ))
}

/// Stateless JWT <= the matching anchor's CPU/request on every framework.
fn jwt_anchor_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &Framework::ALL,
        Backend::Jwt,
        &STATELESS_SHAPES,
        |c| figures.x_anchor(c),
    );
    judge(
        "Stateless JWT session <= the matching anchor's CPU/request on every framework \
         (actix-session's and Rocket's private cookies, tower-sessions' MemoryStore on Axum), \
         existing (per connection) and new session"
            .into(),
        &checks,
        |x| x <= 1.0,
        show_ratio,
        vec!["Ratios of CPU per request to the anchor's case of the same shape.".into()],
    )
}

/// MemoryStore <= 0.80x tower-sessions' MemoryStore CPU/request (Axum), on every shape.
fn memory_anchor_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &[Framework::Axum],
        Backend::Memory,
        &Route::SESSION_SHAPES,
        |c| figures.x_anchor(c),
    );
    judge(
        format!(
            "MemoryStore <= {TARGET_MEMORY_X_ANCHOR:.2}x tower-sessions' MemoryStore CPU/request \
             (Axum), new session, existing per connection and hot session"
        ),
        &checks,
        |x| x <= TARGET_MEMORY_X_ANCHOR,
        show_ratio,
        vec![
            "The hot session runs MemoryStore under LastWriteWins (a lost race is merged and \
             retried) and tower-sessions without any conflict detection."
                .into(),
        ],
    )
}

/// MemoryStore new-session p99 under 1 ms on every framework.
fn memory_p99_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &Framework::ALL,
        Backend::Memory,
        &[Route::New],
        |c| Some(c.spread(|r| r.p99_us / 1_000.0)),
    );
    judge(
        format!(
            "MemoryStore new-session p99 < {TARGET_MEMORY_NEW_P99_MS:.0} ms on every framework"
        ),
        &checks,
        |ms| ms < TARGET_MEMORY_NEW_P99_MS,
        |s| format!("{:.2} ms ({:.2}..{:.2})", s.median, s.min, s.max),
        vec![format!(
            "Under {CONNECTIONS} connections on one server core, p99 includes queueing: by \
             Little's law the mean latency alone is {CONNECTIONS} / req/s."
        )],
    )
}

/// The detail line every Redis target carries.
fn redis_detail() -> Vec<String> {
    vec![
        "RedisStore against tower-sessions-redis-store on Axum and actix-session's Redis store on \
         Actix-web (Rocket has no Redis anchor here), on the three shapes; the hot session runs \
         RedisStore under LastWriteWins."
            .into(),
    ]
}

/// RedisStore <= 0.70x the Redis anchors' server CPU/request.
fn redis_cpu_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &REDIS_ANCHORED,
        Backend::Redis,
        &Route::SESSION_SHAPES,
        |c| figures.x_anchor(c),
    );
    judge(
        format!(
            "RedisStore <= {TARGET_REDIS_CPU_X_ANCHOR:.2}x the Redis anchors' server CPU/request"
        ),
        &checks,
        |x| x <= TARGET_REDIS_CPU_X_ANCHOR,
        show_ratio,
        redis_detail(),
    )
}

/// RedisStore <= the Redis anchors' Redis CPU/request.
fn redis_redis_cpu_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &REDIS_ANCHORED,
        Backend::Redis,
        &Route::SESSION_SHAPES,
        |c| figures.x_anchor_redis(c),
    );
    let mut detail = redis_detail();
    if let RedisProcess::Unavailable(why) = &figures.settings.redis {
        detail.push(format!("Redis CPU is n/a: {why}."));
    }
    judge(
        "RedisStore <= the Redis anchors' Redis-server CPU/request".into(),
        &checks,
        |x| x <= 1.0,
        show_ratio,
        detail,
    )
}

/// RedisStore >= 1.5x the Redis anchors' requests per second.
fn redis_rps_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &REDIS_ANCHORED,
        Backend::Redis,
        &Route::SESSION_SHAPES,
        |c| figures.x_anchor_rps(c),
    );
    judge(
        format!("RedisStore >= {TARGET_REDIS_RPS_X_ANCHOR:.1}x the Redis anchors' req/s"),
        &checks,
        |x| x >= TARGET_REDIS_RPS_X_ANCHOR,
        show_ratio,
        redis_detail(),
    )
}

/// A case's non-2xx count as a spread-less figure (for [`judge`]).
fn non_2xx_figure(case: &Case) -> Option<Spread> {
    let n = case.non_2xx() as f64;
    Some(Spread {
        median: n,
        min: n,
        max: n,
    })
}

/// RedisStore answers only 2xx on every shape and framework.
fn redis_non_2xx_target(figures: &Figures) -> Target {
    let checks = checks_of(
        figures,
        &Framework::ALL,
        Backend::Redis,
        &Route::SESSION_SHAPES,
        non_2xx_figure,
    );
    judge(
        "RedisStore: 0 non-2xx on new session, existing per connection and hot session".into(),
        &checks,
        |n| n == 0.0,
        |s| format!("{:.0} non-2xx", s.median),
        redis_detail(),
    )
}

/// Every own backend answers only 2xx on the per-connection shape under `Reject`.
fn per_connection_target(figures: &Figures) -> Target {
    let backends = Backend::MEASURED
        .into_iter()
        .filter(|b| *b != Backend::Plain);
    let mut checks = Vec::new();
    for backend in backends {
        for mut check in checks_of(
            figures,
            &Framework::ALL,
            backend,
            &[Route::PerConnection],
            non_2xx_figure,
        ) {
            check.label = format!("{} {}", check.label, backend.label());
            checks.push(check);
        }
    }
    judge(
        "Existing session per connection under the default ConflictPolicy::Reject: 0 non-2xx \
         on every backend and framework"
            .into(),
        &checks,
        |n| n == 0.0,
        |s| format!("{:.0}", s.median),
        vec![
            "Each connection replays its own session, one request at a time, so no save can \
             lose a race: a 409 here would be a false conflict."
                .into(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "\
Running 5s test @ http://127.0.0.1:8080/plain
  32 threads and 32 connections
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
status 200 249988
status 409 10
status 503 2
";

    #[test]
    fn parses_wrk_latency_output() {
        let run = parse_wrk(WRK).expect("parses");
        assert_eq!(run.requests, 250_000);
        assert_eq!(run.rps, 50_000.0);
        assert_eq!(run.p50_us, 230.0);
        assert_eq!(run.p99_us, 1_500.0);
        assert_eq!(run.socket_errors, 3);
        assert_eq!(run.non_2xx(), 12);
        assert!(parse_wrk("garbage").is_none());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration_us("2.00s"), Some(2e6));
        assert_eq!(parse_duration_us("1.00m"), Some(60e6));
        assert_eq!(parse_duration_us("12"), None);
    }

    #[test]
    fn reads_utime_and_stime_past_a_name_with_spaces() {
        let stat = "42 (tokio worker) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 2 0";
        assert_eq!(parse_stat_ticks(stat), Some(12));
        assert_eq!(parse_stat_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn the_wrk_script_hands_each_thread_its_cookie() {
        let spec = Load {
            path: "/counter",
            cookies: Cookies::PerConnection(vec!["session=a".into(), "session=b".into()]),
            threads: 2,
        };
        let script = wrk_script(&spec);
        assert!(script.contains(r#"local cookies = { "session=a", "session=b" }"#));
        assert!(script.contains(r#"thread:set("cookie", cookies[handed])"#));
        let none = wrk_script(&Load {
            path: "/counter",
            cookies: Cookies::None,
            threads: 1,
        });
        assert!(none.contains("local cookies = {  }"));
    }

    #[test]
    fn stateful_backends_get_a_server_per_conflict_policy() {
        let plans = plans(Framework::Actix);
        let of = |backend| {
            plans
                .iter()
                .filter(|p| p.subject == Subject::Own(backend))
                .map(|p| (p.policy, p.routes.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of(Backend::Sled),
            vec![
                (
                    ConflictPolicy::Reject,
                    vec![Route::New, Route::PerConnection]
                ),
                (ConflictPolicy::LastWriteWins, vec![Route::Hot]),
            ]
        );
        assert_eq!(of(Backend::Jwe).len(), 1);
        let anchors: Vec<Subject> = plans
            .iter()
            .filter(|p| matches!(p.subject, Subject::Anchor(_)))
            .map(|p| p.subject)
            .collect();
        assert_eq!(
            anchors,
            vec![
                Subject::Anchor(Anchor::ActixCookie),
                Subject::Anchor(Anchor::ActixRedis)
            ]
        );
    }
}
