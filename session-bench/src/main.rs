//! `session-bench`: the benchmarks behind `cargo xtask bench [codec|stores|http] [--quick]`.
//!
//! - `codec`: JWT (HS256), JWE (`dir` + A256GCM) and signed-id codecs against raw floors (HMAC-SHA256
//!   or AES-256-GCM, + base64url + JSON).
//! - `stores`: load/save latency of every store against its raw engine, and a Redis round-trip
//!   check.
//! - `http`: Axum, Actix-web and Rocket servers (child processes pinned to CPU 0) under `wrk`
//!   (pinned to CPU 1), each session mode against the same framework's plain handler.
//!
//! No argument runs all three parts. `--quick` is CI's smoke run: tiny iteration counts, 1-second
//! HTTP runs, nothing written. A full run of all three parts writes `BENCHMARKS.md` at the
//! workspace root. `serve <framework> <backend> <port>` is the server child (internal).

mod codec;
mod http;
mod servers;
mod stores;
mod timing;

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Errors of the bench's main flow, printed with their source chain.
pub(crate) type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// An error with a message of our own.
pub(crate) fn fail(message: impl Into<String>) -> BoxError {
    message.into().into()
}

/// Wraps an error with what was being done.
pub(crate) fn context<E: std::fmt::Display>(what: impl Into<String>) -> impl FnOnce(E) -> BoxError {
    let what = what.into();
    move |e| fail(format!("{what}: {e}"))
}

const USAGE: &str = "\
usage: session-bench [codec] [stores] [http] [--quick] [--std-client]
       session-bench serve <axum|actix|rocket> <plain|jwt|jwe|memory|sled|sqlite|redis> <port>

  no part named   run all three parts
  --quick         smoke run: tiny iteration counts, 1 s per HTTP case, writes nothing
  --std-client    load the HTTP servers with the built-in client instead of wrk
                  (the automatic fallback when wrk is missing in --quick mode)

A full run of all three parts writes BENCHMARKS.md at the workspace root.
Environment: REDIS_URL (default redis://127.0.0.1:6379).";

/// Which parts to run, and how hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) std_client: bool,
}

/// A Markdown table that also reads well as plain text (padded columns).
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            }
            out.push('\n');
            out
        };
        let mut out = line(&self.headers);
        out.push('|');
        for width in &widths {
            let _ = write!(out, "{}|", "-".repeat(width + 2));
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// One part's output: titled sections of tables and notes, and the targets it judges.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) sections: Vec<Section>,
    pub(crate) targets: Vec<Target>,
}

#[derive(Debug, Default)]
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) intro: Vec<String>,
    pub(crate) table: Table,
    pub(crate) notes: Vec<String>,
}

impl Section {
    fn render(&self) -> String {
        let mut out = format!("### {}\n\n", self.title);
        for line in &self.intro {
            out.push_str(line);
            out.push('\n');
        }
        if !self.intro.is_empty() {
            out.push('\n');
        }
        out.push_str(&self.table.render());
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

/// A target from the design, judged on this run's figures.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) met: bool,
    pub(crate) figure: String,
    /// Where the time goes (always given; essential when the target is missed).
    pub(crate) detail: Vec<String>,
}

impl Target {
    fn render(&self) -> String {
        let verdict = if self.met { "MET" } else { "MISSED" };
        let mut out = format!("- **{}**: {verdict}. {}\n", self.name, self.figure);
        for line in &self.detail {
            let _ = writeln!(out, "  - {line}");
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Codec,
    Stores,
    Http,
}

impl Part {
    const ALL: [Part; 3] = [Part::Codec, Part::Stores, Part::Http];

    fn name(self) -> &'static str {
        match self {
            Part::Codec => "codec",
            Part::Stores => "stores",
            Part::Http => "http",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Part::Codec => "Codecs",
            Part::Stores => "Stores",
            Part::Http => "HTTP",
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return match servers::serve(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("session-bench serve: {}", chain(&*e));
                ExitCode::FAILURE
            }
        };
    }
    let mut parts = Vec::new();
    let mut options = Options {
        quick: false,
        std_client: false,
    };
    for arg in &args {
        match arg.as_str() {
            "codec" => parts.push(Part::Codec),
            "stores" => parts.push(Part::Stores),
            "http" => parts.push(Part::Http),
            "--quick" => options.quick = true,
            "--std-client" => options.std_client = true,
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("session-bench: unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::FAILURE;
            }
        }
    }
    if parts.is_empty() {
        parts = Part::ALL.to_vec();
    }
    parts.dedup();
    match run(&parts, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nsession-bench: {}", chain(&*e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its sources, one per line.
fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(out, "\n  caused by: {s}");
        source = s.source();
    }
    out
}

fn run(parts: &[Part], options: Options) -> Result<(), BoxError> {
    let machine = machine_description();
    println!(
        "session-bench ({}){}\n{machine}\n",
        if options.quick {
            "quick smoke run"
        } else {
            "full run"
        },
        if options.quick {
            ": figures are not meaningful"
        } else {
            ""
        }
    );
    if parts.contains(&Part::Http) {
        http::preflight(options)?;
    }
    let started = Instant::now();
    let mut reports = Vec::new();
    for &part in parts {
        println!("== {} ==", part.heading());
        let part_started = Instant::now();
        let report = match part {
            Part::Codec => codec::run(options),
            Part::Stores => stores::run(options),
            Part::Http => http::run(options),
        }
        .map_err(context(format!("the {} part failed", part.name())))?;
        for section in &report.sections {
            println!("{}", section.render());
        }
        for target in &report.targets {
            print!("{}", target.render());
        }
        println!(
            "({} part took {:.0} s)\n",
            part.name(),
            part_started.elapsed().as_secs_f64()
        );
        reports.push((part, report));
    }
    let total = started.elapsed().as_secs_f64();
    println!("total {total:.0} s");
    if options.quick {
        println!("--quick: BENCHMARKS.md not written");
    } else if parts.len() == Part::ALL.len() {
        let path = workspace_root().join("BENCHMARKS.md");
        std::fs::write(&path, benchmarks_md(&machine, &reports, total))
            .map_err(context(format!("could not write {}", path.display())))?;
        println!("wrote {}", path.display());
    } else {
        println!("BENCHMARKS.md is only written by a full run of all three parts; not written");
    }
    Ok(())
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn benchmarks_md(machine: &str, reports: &[(Part, Report)], total_secs: f64) -> String {
    let mut out = String::from(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (a full run of `session-bench`, all three parts; \
         `--quick` is CI's smoke run and writes nothing). Re-run it to refresh this file, and \
         quote figures only from full runs. The code is in `session-bench/src`: `codec.rs`, \
         `stores.rs`, `http.rs` (load generation, CPU accounting) and `servers.rs` (the three \
         framework servers).\n\n",
    );
    let _ = writeln!(out, "## Machine\n\n{machine}");
    let _ = writeln!(
        out,
        "- Whole run: {:.1} min. The machine's 2 cores are shared with other work, so expect \
         noise; medians and min..max spreads over repetitions are given for that reason.\n",
        total_secs / 60.0
    );
    for (part, report) in reports {
        let _ = writeln!(out, "## {}\n", part.heading());
        for section in &report.sections {
            let _ = writeln!(out, "{}", section.render());
        }
    }
    out.push_str("## Targets\n\n");
    for (_, report) in reports {
        for target in &report.targets {
            out.push_str(&target.render());
        }
    }
    out
}

/// CPU model, cores, rustc version, date and load: the lines heading every report.
fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned());
    format!(
        "- CPU: {model}, {cores} cores\n- rustc: {rustc} (release profile, `debug = 1`)\n\
         - Date: {} (UTC)\n- Load average at start: {load}",
        utc_now()
    )
}

/// The current UTC date and time as `YYYY-MM-DD HH:MM`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3_600,
        rem % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_renders_aligned_markdown() {
        let mut t = Table::new(&["a", "bee"]);
        t.row(vec!["long cell".into(), "x".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "| a         | bee |");
        assert_eq!(lines[1], "|-----------|-----|");
        assert_eq!(lines[2], "| long cell | x   |");
    }
}
