//! `session-bench`: the benchmarks behind
//! `cargo xtask bench [codec|stores|http|growth|passwords] [--quick]`.
//!
//! - `codec`: JWT (HS256), JWE (`dir` + A256GCM) and signed-id codecs against raw floors (HMAC-SHA256
//!   or AES-256-GCM, + base64url + JSON).
//! - `stores`: load/save latency of every store against its raw engine, and a Redis round-trip
//!   check.
//! - `http`: Axum, Actix-web and Rocket servers (child processes pinned to CPU 0) under `wrk`
//!   (pinned to CPU 1), each session mode against the same framework's plain handler.
//!
//! - `growth`: load/save latency, memory and disk use of every store at 1k, 100k and 1M live
//!   sessions, with a plot.
//! - `passwords`: CPU time of a password check: an imported bcrypt cost-10 hash (verified, and
//!   verified and upgraded), a current Argon2id hash, an unknown user.
//!
//! No argument runs all five parts. `--quick` is CI's smoke run: tiny iteration counts, 1-second
//! HTTP runs, 1k sessions, nothing written. A full run of all five parts writes `BENCHMARKS.md`
//! and the growth plot at the workspace root, unless the machine is busy (see [`LoadCheck`]).
//! `serve <framework> <backend> <port>` is the server child and `growth-store <store>` the
//! growth part's child (both internal).

mod anchors;
mod codec;
mod growth;
mod http;
mod passwords;
mod servers;
mod soak;
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
usage: session-bench [codec] [stores] [http] [growth] [passwords] [--quick] [--std-client]
       session-bench serve <axum|actix|rocket> <backend|anchor> <port> [reject|last-write-wins]
         backends: plain jwt jwe memory sled sqlite redis
         anchors:  tower-memory tower-redis (axum), actix-cookie actix-redis (actix),
                   rocket-private (rocket)

  no part named   run all five parts
  --quick         smoke run: tiny iteration counts, 1 s per HTTP case, 1k sessions in the
                  growth part, writes nothing
  --std-client    load the HTTP servers with the built-in client instead of wrk
                  (the automatic fallback when wrk is missing in --quick mode)

A full run of all five parts writes BENCHMARKS.md and benchmarks/growth.svg at the workspace
root, unless the 1-minute load average at its start is at least half the number of cores
(another job is running): then it prints its figures but writes neither; rerun on a quiet
machine. A growth run without the other parts writes its plot to the temp dir only.
growth-store <memory|sled|sqlite|redis> [--quick] is the growth part's child process;
soak-client --url U [--seconds N] [--concurrency C] is `cargo xtask soak`'s load process.
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

/// The parts of a run, in the order a full run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Codec,
    Stores,
    Http,
    Growth,
    Passwords,
}

impl Part {
    const ALL: [Part; 5] = [
        Part::Codec,
        Part::Stores,
        Part::Http,
        Part::Growth,
        Part::Passwords,
    ];

    /// The part's command-line name.
    fn name(self) -> &'static str {
        match self {
            Part::Codec => "codec",
            Part::Stores => "stores",
            Part::Http => "http",
            Part::Growth => "growth",
            Part::Passwords => "passwords",
        }
    }

    /// The part for a command-line name.
    fn parse(name: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The part's heading in the output and in `BENCHMARKS.md`.
    fn heading(self) -> &'static str {
        match self {
            Part::Codec => "Codecs",
            Part::Stores => "Stores",
            Part::Http => "HTTP",
            Part::Growth => "Growth with live sessions",
            Part::Passwords => "Passwords",
        }
    }
}

/// The 1-minute load average per core at or above which another job is taken to be running:
/// half the cores (1.0 on a 2-core machine), since one busy core already skews every figure.
const BUSY_LOAD_PER_CORE: f64 = 0.5;

/// Whether the machine was quiet enough at the start of a full run for its figures to be
/// written down.
#[derive(Debug, Clone, PartialEq)]
enum LoadCheck {
    /// The 1-minute load average is below the threshold: the figures are written.
    Quiet { one_minute: f64, threshold: f64 },
    /// Another job is running: the figures are printed, nothing is written.
    Busy {
        /// The 1-, 5- and 15-minute load averages.
        averages: [f64; 3],
        threshold: f64,
    },
    /// `/proc/loadavg` could not be read or understood: the figures are printed, nothing is
    /// written.
    Unknown(String),
}

impl LoadCheck {
    /// Judges `/proc/loadavg`'s text (`None` when it could not be read) on a machine of `cores`.
    fn judge(loadavg: Option<&str>, cores: usize) -> LoadCheck {
        let threshold = cores.max(1) as f64 * BUSY_LOAD_PER_CORE;
        let Some(text) = loadavg else {
            return LoadCheck::Unknown("/proc/loadavg could not be read".into());
        };
        let averages: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .filter_map(|n| n.parse().ok())
            .collect();
        let [one, five, fifteen] = averages[..] else {
            return LoadCheck::Unknown(format!("/proc/loadavg is not understood ({text:?})"));
        };
        if one >= threshold {
            LoadCheck::Busy {
                averages: [one, five, fifteen],
                threshold,
            }
        } else {
            LoadCheck::Quiet {
                one_minute: one,
                threshold,
            }
        }
    }

    /// Reads `/proc/loadavg` and the number of cores this process may use, and judges.
    fn now() -> LoadCheck {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let text = std::fs::read_to_string("/proc/loadavg").ok();
        LoadCheck::judge(text.as_deref(), cores)
    }

    /// Whether the figures may be written to `BENCHMARKS.md`.
    fn allows_writing(&self) -> bool {
        matches!(self, LoadCheck::Quiet { .. })
    }

    /// What the check found and what follows from it.
    fn describe(&self) -> String {
        match self {
            LoadCheck::Quiet {
                one_minute,
                threshold,
            } => format!(
                "load check: 1-minute load average {one_minute:.2}, below the busy threshold \
                 {threshold:.2}: BENCHMARKS.md will be written"
            ),
            LoadCheck::Busy {
                averages: [one, five, fifteen],
                threshold,
            } => format!(
                "load check: load averages {one:.2} {five:.2} {fifteen:.2} (1, 5, 15 min); the \
                 1-minute figure is at or above the busy threshold {threshold:.2} (half the \
                 cores), so another job is running. The figures are printed, but BENCHMARKS.md \
                 and {} are not written: rerun on a quiet machine.",
                growth::PLOT_PATH
            ),
            LoadCheck::Unknown(why) => format!(
                "load check: {why}, so the machine is not known to be quiet. The figures are \
                 printed, but BENCHMARKS.md and {} are not written: rerun on a quiet machine.",
                growth::PLOT_PATH
            ),
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
    if args.first().map(String::as_str) == Some("soak-client") {
        return match soak::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("session-bench soak-client: {}", chain(&*e));
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some(growth::CHILD_COMMAND) {
        return match growth::measure_store(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("session-bench {}: {}", growth::CHILD_COMMAND, chain(&*e));
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
        if let Some(part) = Part::parse(arg) {
            if !parts.contains(&part) {
                parts.push(part);
            }
            continue;
        }
        match arg.as_str() {
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

/// Runs `parts` in order and prints their reports; a full run on a quiet machine also writes
/// `BENCHMARKS.md` and the growth plot.
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
    let full = !options.quick && parts.len() == Part::ALL.len();
    let load = full.then(LoadCheck::now);
    if let Some(load) = &load {
        println!("{}\n", load.describe());
    }
    if parts.contains(&Part::Http) {
        http::preflight(options)?;
    }
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut plot = None;
    for &part in parts {
        println!("== {} ==", part.heading());
        let part_started = Instant::now();
        let report = run_part(part, options, &mut plot)
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
    let results = Results {
        machine: &machine,
        reports: &reports,
        total_secs: total,
        plot: plot.as_deref(),
    };
    match (options.quick, &load) {
        (true, _) => {
            println!("--quick: nothing written");
            Ok(())
        }
        (false, Some(load)) if load.allows_writing() => results.write(),
        (false, Some(load)) => {
            println!("{}", load.describe());
            Ok(())
        }
        (false, None) => results.write_preview(),
    }
}

/// Runs one part; the growth part also hands back its plot.
fn run_part(part: Part, options: Options, plot: &mut Option<String>) -> Result<Report, BoxError> {
    match part {
        Part::Codec => codec::run(options),
        Part::Stores => stores::run(options),
        Part::Http => http::run(options),
        Part::Passwords => passwords::run(options),
        Part::Growth => {
            let growth = growth::run(options)?;
            *plot = Some(growth.plot_svg);
            Ok(growth.report)
        }
    }
}

/// What a run produced, ready to be written.
#[derive(Debug)]
struct Results<'a> {
    machine: &'a str,
    reports: &'a [(Part, Report)],
    total_secs: f64,
    /// The growth plot (SVG), when the growth part ran.
    plot: Option<&'a str>,
}

impl Results<'_> {
    /// A full run on a quiet machine: `BENCHMARKS.md` and the growth plot it links.
    fn write(&self) -> Result<(), BoxError> {
        let root = workspace_root();
        if let Some(svg) = self.plot {
            let path = root.join(growth::PLOT_PATH);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(context(format!("could not create {}", dir.display())))?;
            }
            std::fs::write(&path, svg)
                .map_err(context(format!("could not write {}", path.display())))?;
            println!("wrote {}", path.display());
        }
        let path = root.join("BENCHMARKS.md");
        std::fs::write(
            &path,
            benchmarks_md(self.machine, self.reports, self.total_secs),
        )
        .map_err(context(format!("could not write {}", path.display())))?;
        println!("wrote {}", path.display());
        Ok(())
    }

    /// A run of some parts: `BENCHMARKS.md` is left alone; a growth plot goes to the temp dir,
    /// so the one `BENCHMARKS.md` links always matches its figures.
    fn write_preview(&self) -> Result<(), BoxError> {
        println!("BENCHMARKS.md is only written by a full run of all five parts; not written");
        if let Some(svg) = self.plot {
            let path = std::env::temp_dir().join("session-bench-growth.svg");
            std::fs::write(&path, svg)
                .map_err(context(format!("could not write {}", path.display())))?;
            println!(
                "growth plot of this run (not the one BENCHMARKS.md links): {}",
                path.display()
            );
        }
        Ok(())
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn benchmarks_md(machine: &str, reports: &[(Part, Report)], total_secs: f64) -> String {
    let mut out = String::from(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (a full run of `session-bench`, all five parts, on a \
         machine whose 1-minute load average was below half its cores at the start; `--quick` \
         is CI's smoke run and writes nothing). Re-run it to refresh this file and \
         `benchmarks/growth.svg`, and quote figures only from full runs. The code is in \
         `session-bench/src`: `codec.rs`, `stores.rs`, `http.rs` (load generation, CPU \
         accounting), `servers.rs` (the three framework servers), `growth.rs` (stores at \
         1k to 1M live sessions, and the plot) and `passwords.rs` (password checks).\n\n",
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

    #[test]
    fn a_load_of_half_the_cores_or_more_means_busy() {
        let quiet = LoadCheck::judge(Some("0.99 1.50 2.00 1/200 1234\n"), 2);
        assert_eq!(
            quiet,
            LoadCheck::Quiet {
                one_minute: 0.99,
                threshold: 1.0
            }
        );
        assert!(quiet.allows_writing());
        let busy = LoadCheck::judge(Some("1.00 0.50 0.20 3/200 1234\n"), 2);
        assert_eq!(
            busy,
            LoadCheck::Busy {
                averages: [1.0, 0.5, 0.2],
                threshold: 1.0
            }
        );
        assert!(!busy.allows_writing());
        let text = busy.describe();
        assert!(text.contains("1.00 0.50 0.20") && text.contains("threshold 1.00"));
        assert!(text.contains("rerun on a quiet machine"), "{text}");
        // The threshold follows the cores: 1.9 is quiet on 4 cores.
        assert!(LoadCheck::judge(Some("1.90 1.90 1.90 1/1 1"), 4).allows_writing());
    }

    #[test]
    fn an_unreadable_load_average_writes_nothing() {
        for check in [
            LoadCheck::judge(None, 2),
            LoadCheck::judge(Some("garbage"), 2),
            LoadCheck::judge(Some("0.1 0.2"), 2),
        ] {
            assert!(matches!(check, LoadCheck::Unknown(_)), "{check:?}");
            assert!(!check.allows_writing());
            assert!(check.describe().contains("rerun on a quiet machine"));
        }
    }

    #[test]
    fn parts_parse_by_name() {
        for part in Part::ALL {
            assert_eq!(Part::parse(part.name()), Some(part));
        }
        assert_eq!(Part::parse("--quick"), None);
    }
}
