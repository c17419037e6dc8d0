//! What the commands need from the machine: cargo, Redis, node with `jose`, `@auth/core`,
//! `playwright-core` and `bcryptjs`, Chromium, wrk. Each `ensure_*`
//! finds the thing, or starts or installs it, or fails naming what is missing: never a silent skip.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A failed step, with the message to print.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

pub(crate) fn workspace_root() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR for the process too. Prefer it to the compile-time
    // value: checkouts sharing one CARGO_TARGET_DIR (CI's clone and a working tree) can run a
    // binary that was built in the other checkout, and must still work on their own tree.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    Path::new(&manifest_dir)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `cargo <args>` in the workspace root.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(workspace_root());
    command
}

/// Runs a command, echoing it, and fails if it fails.
pub(crate) fn run(mut command: impl std::borrow::BorrowMut<Command>) -> Result<(), Failure> {
    let command = command.borrow_mut();
    println!("xtask: $ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| Failure(format!("could not start `{}`: {e}", describe(command))))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "`{}` failed ({status})",
            describe(command)
        )))
    }
}

/// Runs a command and returns its stdout.
pub(crate) fn output(mut command: Command) -> Result<String, Failure> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure(format!("could not start `{}`: {e}", describe(&command))))?;
    if !out.status.success() {
        return Err(Failure(format!(
            "`{}` failed ({})",
            describe(&command),
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

pub(crate) fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages when running as root on a Debian-like system.
pub(crate) fn apt_install(packages: &[&str]) -> Result<(), Failure> {
    if !(is_root() && have("apt-get")) {
        return Err(Failure(format!(
            "{} is not installed and cannot be installed automatically here (needs root and apt-get): install it",
            packages.join(" ")
        )));
    }
    println!("xtask: installing {} with apt-get", packages.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Answers PING with PONG within a second?
fn redis_answers(addr: &str) -> bool {
    let Ok(mut addrs) = addr.to_socket_addrs() else {
        return false;
    };
    let Some(addr) = addrs.next() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// `REDIS_URL` if set; else 127.0.0.1:6379 if it answers; else a `redis-server` started on
/// loopback (installed with apt-get first if needed and possible); else a clear failure.
pub(crate) fn ensure_redis() -> Result<String, Failure> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Ok(url);
    }
    if redis_answers("127.0.0.1:6379") {
        return Ok("redis://127.0.0.1:6379".to_owned());
    }
    if !have("redis-server") {
        apt_install(&["redis-server"])?;
    }
    println!("xtask: starting redis-server on 127.0.0.1:6379 (no persistence)");
    run(Command::new("redis-server").args([
        "--daemonize",
        "yes",
        "--bind",
        "127.0.0.1",
        "--port",
        "6379",
        "--save",
        "",
        "--appendonly",
        "no",
    ]))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if redis_answers("127.0.0.1:6379") {
            return Ok("redis://127.0.0.1:6379".to_owned());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Failure(
        "redis-server was started but does not answer on 127.0.0.1:6379".to_owned(),
    ))
}

/// The npm packages the tests run against: `jose` (what the Next.js apps sign and encrypt their
/// cookies with), `@auth/core` (Auth.js v5's session cookie), `playwright-core` (drives
/// Chromium in the demo's browser test; the core package downloads no browser) and `bcryptjs`
/// (the Node apps' password hashes, for `session-auth/tests/passwords.rs`).
const NPM_PACKAGES: [(&str, &str); 4] = [
    ("jose", "jose@6"),
    ("@auth/core", "@auth/core@0.41"),
    ("playwright-core", "playwright-core@1"),
    ("bcryptjs", "bcryptjs@3"),
];

/// node, npm and the tests' npm packages in `.tools/node` (ignored by git).
pub(crate) fn ensure_npm_packages() -> Result<PathBuf, Failure> {
    let dir = workspace_root().join(".tools/node");
    let installed = |name: &str| {
        dir.join("node_modules")
            .join(name)
            .join("package.json")
            .exists()
    };
    if NPM_PACKAGES.iter().all(|(name, _)| installed(name)) {
        return Ok(dir);
    }
    if !(have("node") && have("npm")) {
        apt_install(&["nodejs", "npm"])?;
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
    let manifest = dir.join("package.json");
    if !manifest.exists() {
        std::fs::write(&manifest, "{\"private\": true}\n")
            .map_err(|e| Failure(format!("cannot write {}: {e}", manifest.display())))?;
    }
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent"])
        .args(NPM_PACKAGES.iter().map(|(_, spec)| spec))
        .current_dir(&dir))
    .map_err(|Failure(m)| {
        let names: Vec<&str> = NPM_PACKAGES.iter().map(|(name, _)| *name).collect();
        Failure(format!(
            "{m}: the npm packages {} are needed by the tests",
            names.join(", ")
        ))
    })?;
    Ok(dir)
}

/// Where Debian's Chromium package puts the browser the demo's browser test drives.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// Debian's Chromium at [`CHROMIUM`], installed with apt-get if missing (never a browser
/// downloaded by Playwright).
pub(crate) fn ensure_chromium() -> Result<PathBuf, Failure> {
    let path = PathBuf::from(CHROMIUM);
    if !path.exists() {
        apt_install(&["chromium"])?;
    }
    if path.exists() {
        Ok(path)
    } else {
        Err(Failure(format!(
            "the chromium package was installed but {CHROMIUM} is missing"
        )))
    }
}

/// wrk, the HTTP load generator the benchmarks use.
pub(crate) fn ensure_wrk() -> Result<(), Failure> {
    if have("wrk") {
        return Ok(());
    }
    apt_install(&["wrk"])
}

/// The 1-minute load average per core below which a full benchmark run writes its figures (the
/// threshold `session-bench` checks at its start).
const QUIET_LOAD_PER_CORE: f64 = 0.5;
/// How long to wait for the load a build left behind to fall below it.
const QUIET_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Waits (up to five minutes) until the 1-minute load average is below half the cores, saying
/// what it waits for. The benchmark itself decides whether its figures are written; this only
/// keeps the release build that preceded it from being mistaken for another job.
pub(crate) fn wait_for_quiet_machine() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threshold = cores as f64 * QUIET_LOAD_PER_CORE;
    let started = std::time::Instant::now();
    loop {
        let Some(load) = one_minute_load() else {
            return;
        };
        if load < threshold {
            return;
        }
        if started.elapsed() >= QUIET_WAIT {
            eprintln!(
                "xtask: the 1-minute load average is still {load:.2} (threshold {threshold:.2}): \
                 another job is running; the benchmark will print its figures but not write them"
            );
            return;
        }
        eprintln!(
            "xtask: waiting for the machine to settle: 1-minute load average {load:.2}, \
             threshold {threshold:.2} ({cores} cores)"
        );
        std::thread::sleep(std::time::Duration::from_secs(15));
    }
}

fn one_minute_load() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
