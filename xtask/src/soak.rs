//! `cargo xtask soak [--seconds N] [--concurrency C] [--store S ...]`: the demo app under a
//! bounded hostile mix, once per store.
//!
//! For each store the release demo runs in a temporary data directory, and
//! `session-bench soak-client` (a second process) sends it a fixed mix of new sessions,
//! signed-in reads and writes, tampered and logged-out cookies, cross-site `POST`s, oversized
//! headers and bad bearer tokens at a fixed concurrency for a fixed time. The soak passes when
//! there is no 5xx and no unexpected status, the demo logged no panic and is still running,
//! every signed-in session holds exactly its acknowledged writes and every new session made
//! during the run is still there. Resident memory of the demo (`VmRSS`) is sampled every
//! 250 ms and reported as start (idle, before the load), warm (a quarter into the run: the
//! allocator's working set, Argon2's 19 MiB per sign-in, connection buffers), peak and end; the
//! run also fails when memory keeps growing after warm-up (end more than 10 % above warm),
//! except with the memory store, which keeps every session it is given in the process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engines::Postgres;
use crate::env::{self, cargo, run as run_command, workspace_root, Failure};

const STORES: [&str; 5] = ["sqlite", "memory", "redis", "postgres", "jwt"];
const SECRET: &str = "soak secret: the same for the demo and nothing else, 32+ bytes";

/// Runs the soak with the given arguments.
pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let mut seconds = 30u64;
    let mut concurrency = 16usize;
    let mut stores: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Failure(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--seconds" => seconds = number(&value()?)?,
            "--concurrency" => concurrency = number(&value()?)? as usize,
            "--store" => stores.push(value()?),
            other => return Err(Failure(format!("soak: unknown argument {other:?}"))),
        }
    }
    if stores.is_empty() {
        stores = STORES.iter().map(|s| s.to_string()).collect();
    }
    run_command(cargo(&[
        "build",
        "--release",
        "-p",
        "session-demo",
        "-p",
        "session-bench",
    ]))?;
    let bin = target_dir().join("release");
    let redis_url = if stores.iter().any(|s| s == "redis") {
        Some(env::ensure_redis()?)
    } else {
        None
    };
    let postgres = if stores.iter().any(|s| s == "postgres") {
        Some(Postgres::ensure()?)
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for store in &stores {
        let extra: Vec<(String, String)> = match store.as_str() {
            "redis" => vec![
                ("REDIS_URL".into(), redis_url.clone().unwrap_or_default()),
                (
                    "REDIS_KEY_PREFIX".into(),
                    format!("soak:{}:", std::process::id()),
                ),
            ],
            "postgres" => vec![
                (
                    "POSTGRES_URL".into(),
                    postgres.as_ref().map(|p| p.url.clone()).unwrap_or_default(),
                ),
                (
                    "POSTGRES_SCHEMA".into(),
                    format!("soak_{}", std::process::id()),
                ),
            ],
            _ => Vec::new(),
        };
        let outcome = soak_one(&bin, store, &extra, seconds, concurrency);
        cleanup(store, &extra);
        match outcome {
            Ok(row) => {
                if let Some(problem) = row.problem() {
                    failures.push(format!("{store}: {problem}"));
                }
                rows.push(row);
            }
            Err(Failure(message)) => failures.push(format!("{store}: {message}")),
        }
    }
    println!(
        "\nxtask soak: {seconds} s per store, {concurrency} concurrent clients\n\n\
         | store | requests | 5xx | unexpected | panics | RSS idle / warm / peak / end (MiB) | \
         signed-in writes acknowledged = counted | new sessions made / checked / lost |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for row in &rows {
        println!("{}", row.markdown());
    }
    if failures.is_empty() {
        println!("\nxtask: soak passed");
        Ok(())
    } else {
        Err(Failure(format!(
            "soak failed:\n  {}",
            failures.join("\n  ")
        )))
    }
}

fn number(text: &str) -> Result<u64, Failure> {
    text.parse()
        .map_err(|_| Failure(format!("{text:?} is not a number")))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// One store's figures.
struct Row {
    store: String,
    report: String,
    panics: usize,
    alive: bool,
    rss_kib: Vec<u64>,
    /// `VmRSS` before the load started.
    idle_kib: Option<u64>,
}

impl Row {
    /// `VmRSS` a quarter into the run.
    fn warm_kib(&self) -> Option<u64> {
        self.rss_kib.get(self.rss_kib.len() / 4).copied()
    }
}

impl Row {
    fn field(&self, name: &str) -> u64 {
        json_number(&self.report, name).unwrap_or(u64::MAX)
    }

    fn problem(&self) -> Option<String> {
        let mut problems = Vec::new();
        for (name, what) in [
            ("server_errors", "5xx answers"),
            ("unexpected", "unexpected statuses"),
            ("new_sessions_lost", "new sessions lost"),
        ] {
            let n = self.field(name);
            if n != 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        if !self.report.contains("\"counter_mismatches\":[]") {
            problems.push("signed-in counters differ from their acknowledged writes".into());
        }
        if self.panics > 0 {
            problems.push(format!("{} panics in the demo's log", self.panics));
        }
        if !self.alive {
            problems.push("the demo exited during the run".into());
        }
        if let (Some(warm), Some(end)) = (self.warm_kib(), self.rss_kib.last()) {
            if self.store != "memory" && *end > warm + warm / 10 {
                problems.push(format!(
                    "memory grew after warm-up: {warm} KiB a quarter in, {end} KiB at the end"
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join(", "))
    }

    fn markdown(&self) -> String {
        let mib =
            |kib: Option<u64>| kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        let (start, warm, peak, end) = (
            mib(self.idle_kib),
            mib(self.warm_kib()),
            mib(self.rss_kib.iter().max().copied()),
            mib(self.rss_kib.last().copied()),
        );
        let acknowledged = self.field("acknowledged_writes");
        let counted = if self.report.contains("\"counters_checked\":false") {
            "n/a (stateless)".to_owned()
        } else if self.report.contains("\"counter_mismatches\":[]") {
            acknowledged.to_string()
        } else {
            "MISMATCH".into()
        };
        format!(
            "| {} | {} | {} | {} | {} | {start} / {warm} / {peak} / {end} | {acknowledged} = {counted} | {} / {} / {} |",
            self.store,
            self.field("requests"),
            self.field("server_errors"),
            self.field("unexpected"),
            self.panics,
            self.field("new_sessions"),
            self.field("new_sessions_checked"),
            self.field("new_sessions_lost"),
        )
    }
}

/// The number after `"name":` in a flat JSON object.
fn json_number(json: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    let start = json.find(&key)? + key.len();
    let digits: String = json[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn soak_one(
    bin: &Path,
    store: &str,
    extra: &[(String, String)],
    seconds: u64,
    concurrency: usize,
) -> Result<Row, Failure> {
    let dir = std::env::temp_dir().join(format!("sessionkit-soak-{store}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Failure(format!("temp dir: {e}")))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failure(format!("no free port: {e}")))?;
    let log_path = dir.join("demo.log");
    let log = std::fs::File::create(&log_path).map_err(|e| Failure(format!("log: {e}")))?;
    let mut demo = Command::new(bin.join("session-demo"));
    demo.args(["--store", store, "--port", &port.to_string(), "--data-dir"])
        .arg(dir.join("data"))
        .env("SESSION_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .env_remove("GITHUB_CLIENT_ID")
        .env_remove("VERCEL_CLIENT_ID")
        .env_remove("PUBLIC_URL")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| Failure(format!("log: {e}")))?)
        .stderr(log);
    for (name, value) in extra {
        demo.env(name, value);
    }
    println!(
        "xtask: soak {store}: demo on 127.0.0.1:{port}, {seconds} s at {concurrency} concurrent"
    );
    let mut child = demo
        .spawn()
        .map_err(|e| Failure(format!("cannot start the demo: {e}")))?;
    let pid = child.id();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if child.try_wait().ok().flatten().is_some() || started.elapsed() > Duration::from_secs(30)
        {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure(format!(
                "the demo did not start:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let idle_kib = rss_kib(pid);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, stop) = (samples.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    samples.lock().expect("not poisoned").push(kib);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let client = Command::new(bin.join("session-bench"))
        .args(["soak-client", "--url", &format!("http://127.0.0.1:{port}")])
        .args(["--seconds", &seconds.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .args(if matches!(store, "jwt" | "jwe") {
            &["--stateless"][..]
        } else {
            &[]
        })
        .stderr(Stdio::inherit())
        .output();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let alive = child.try_wait().ok().flatten().is_none();
    let _ = child.kill();
    let _ = child.wait();
    let client = client.map_err(|e| Failure(format!("cannot start the soak client: {e}")))?;
    if !client.status.success() {
        return Err(Failure(format!(
            "the soak client failed ({})",
            client.status
        )));
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let panics = log.matches("panicked").count();
    let rss_kib = samples.lock().expect("not poisoned").clone();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Row {
        store: store.to_owned(),
        report: String::from_utf8_lossy(&client.stdout).trim().to_owned(),
        panics,
        alive,
        rss_kib,
        idle_kib,
    })
}

/// `VmRSS` of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Removes what a store's soak left in a shared engine (keys under its Redis prefix, its
/// PostgreSQL schema); best effort.
fn cleanup(store: &str, extra: &[(String, String)]) {
    let get = |name: &str| {
        extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match store {
        "redis" => {
            let script = format!(
                "redis-cli -u '{}' --scan --pattern '{}*' | xargs -r -n 500 redis-cli -u '{}' DEL > /dev/null",
                get("REDIS_URL"),
                get("REDIS_KEY_PREFIX"),
                get("REDIS_URL")
            );
            let _ = Command::new("sh").args(["-c", &script]).status();
        }
        "postgres" => {
            let _ = Command::new("psql")
                .arg(get("POSTGRES_URL"))
                .args([
                    "-qc",
                    &format!("DROP SCHEMA IF EXISTS {} CASCADE", get("POSTGRES_SCHEMA")),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_from_the_clients_report() {
        let report =
            r#"{"requests":1234,"server_errors":0,"counter_mismatches":[],"new_sessions":12}"#;
        assert_eq!(json_number(report, "requests"), Some(1234));
        assert_eq!(json_number(report, "server_errors"), Some(0));
        assert_eq!(json_number(report, "missing"), None);
        let row = |rss_kib: Vec<u64>, panics: usize| Row {
            store: "sqlite".into(),
            report: format!("{report},\"unexpected\":0,\"new_sessions_lost\":0"),
            panics,
            alive: true,
            rss_kib,
            idle_kib: Some(5_120),
        };
        let flat = row(vec![10_240, 20_480, 15_360, 20_480], 0);
        assert_eq!(flat.problem(), None);
        assert!(
            flat.markdown().contains("5.0 / 20.0 / 20.0 / 20.0"),
            "{}",
            flat.markdown()
        );
        let growing = row(vec![10_240, 10_240, 10_240, 40_960], 0);
        assert!(growing.problem().unwrap().contains("memory grew"));
        let panicked = row(vec![10_240], 1);
        assert!(panicked.problem().unwrap().contains("1 panics"));
    }
}
