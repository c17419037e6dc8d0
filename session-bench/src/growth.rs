//! Part 4, `growth`: how `load` and `save` latency, memory and disk use grow with the number of
//! live sessions, for every store, at 1k, 100k and 1M sessions of the typical record (1k only
//! with `--quick`).
//!
//! Each store is measured in a child process of its own (`session-bench growth-store <store>`),
//! so the memory one store leaves in the allocator never counts towards the next. The child fills
//! its store in steps up to each size, samples loads and saves of random live sessions through
//! the real store API, and prints one `level` line per size (and `note` lines) on stdout; the
//! parent turns them into the section's table and notes and into an SVG plot.
//!
//! Filling uses each engine's bulk path in the store's own layout (sled batches over the store's
//! trees, written by a helper process while the store is closed, then reopened; one SQLite
//! transaction per chunk of rows; pipelined Redis commands), or `create` for the `MemoryStore`. Every sampled load must find its session and a sample of user lists must find
//! theirs, so a fill that missed the store's layout fails the run instead of measuring nothing.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use session_adapters::{
    RedisStore, RedisStoreConfig, SledStore, SledStoreConfig, SqliteStore, SqliteStoreConfig,
};
use session_core::{
    store::{SessionKey, SessionRecord},
    MemoryStore, SessionStore, UnixTime, UserId,
};
use session_store_sled::{BACKGROUND_FLUSH_MS, DEFAULT_CACHE_CAPACITY};
use sha2::{Digest, Sha256};

use crate::codec::typical_record;
use crate::stores::{cleanup_prefix, random_prefix, redis_url};
use crate::timing::Samples;
use crate::{context, fail, BoxError, Options, Report, Section, Table};

/// The live-session counts of a full run.
const FULL_SIZES: &[u64] = &[1_000, 100_000, 1_000_000];
/// The live-session counts of `--quick`.
const QUICK_SIZES: &[u64] = &[1_000];
/// Timed load + save pairs per size in a full run.
const FULL_OPS: usize = 2_000;
/// Timed load + save pairs per size with `--quick`.
const QUICK_OPS: usize = 200;
/// Untimed pairs before each timed sample (connections, scripts, caches).
const WARMUP_OPS: usize = 20;
/// Random sessions per size whose user's list must contain them (checks the fill's user index).
const USER_CHECKS: usize = 20;
/// A p50 that grows by this factor or more from the smallest to the largest size is called out.
const GROWTH_ALARM: f64 = 2.0;
/// The sled fill helper's command, after [`CHILD_COMMAND`].
const SLED_FILL: &str = "sled-fill";
/// How long to keep trying to open a sled database another process (or a store just dropped)
/// still holds the lock of.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(10);
/// Records per sled batch while filling.
const SLED_BATCH: usize = 10_000;
/// Rows per SQLite transaction while filling.
const SQLITE_BATCH: usize = 50_000;
/// Records per Redis pipeline while filling.
const REDIS_BATCH: usize = 1_000;
/// The argument that starts the measuring child (internal, like `serve`).
pub(crate) const CHILD_COMMAND: &str = "growth-store";
/// Where a full run writes the plot, relative to the workspace root (`BENCHMARKS.md` links it).
pub(crate) const PLOT_PATH: &str = "benchmarks/growth.svg";

/// The sled trees of `SledStore`'s documented layout (its crate docs, *Layout*).
const SLED_RECORDS_TREE: &str = "sessions.records";
/// The user index tree: `be_u64(len(user)) ++ user ++ key` -> empty.
const SLED_BY_USER_TREE: &str = "sessions.by_user";
/// The expiry index tree: `be_u64(effective expiry) ++ key` -> empty.
const SLED_BY_EXPIRY_TREE: &str = "sessions.by_expiry";
/// The row `SqliteStore::create` inserts (its schema: `session-store-sqlite/src/schema.rs`).
const SQLITE_INSERT: &str = "INSERT INTO sessions (key, user_id, created_at, expires_at, version, \
                             record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The growth part's output: its report, and the plot a full run writes to [`PLOT_PATH`].
#[derive(Debug)]
pub(crate) struct Growth {
    pub(crate) report: Report,
    pub(crate) plot_svg: String,
}

/// The stores measured, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Memory,
    Sled,
    Sqlite,
    Redis,
}

impl StoreKind {
    /// Every store, in table order.
    const ALL: [StoreKind; 4] = [
        StoreKind::Memory,
        StoreKind::Sled,
        StoreKind::Sqlite,
        StoreKind::Redis,
    ];

    /// The child's command-line name.
    fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Sled => "sled",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Redis => "redis",
        }
    }

    /// The store as the table and the plot name it.
    fn label(self) -> &'static str {
        match self {
            StoreKind::Memory => "MemoryStore",
            StoreKind::Sled => "SledStore",
            StoreKind::Sqlite => "SqliteStore",
            StoreKind::Redis => "RedisStore",
        }
    }

    /// The store for a command-line name.
    fn parse(name: &str) -> Option<StoreKind> {
        StoreKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// What the child measured at one size.
#[derive(Debug, Clone, PartialEq)]
struct Level {
    live: u64,
    load_p50_us: f64,
    load_p99_us: f64,
    save_p50_us: f64,
    save_p99_us: f64,
    /// Resident memory above the empty store's, in bytes (the child's `VmRSS`, or the Redis
    /// server's `used_memory`); negative when the allocator gave back more than it took.
    memory_bytes: i64,
    /// The store's files (sled, SQLite), allocated bytes.
    disk_bytes: Option<u64>,
    /// Seconds spent filling from the previous size to this one.
    fill_secs: f64,
}

impl Level {
    /// The line the child prints for the parent: `level` and `name=value` fields.
    fn to_line(&self) -> String {
        let disk = self
            .disk_bytes
            .map_or_else(|| "-".to_owned(), |d| d.to_string());
        format!(
            "level live={} load_p50_us={} load_p99_us={} save_p50_us={} save_p99_us={} \
             memory_bytes={} disk_bytes={disk} fill_secs={}",
            self.live,
            self.load_p50_us,
            self.load_p99_us,
            self.save_p50_us,
            self.save_p99_us,
            self.memory_bytes,
            self.fill_secs
        )
    }

    /// Reads a [`to_line`](Self::to_line) line back; `None` for any other line.
    fn parse(line: &str) -> Option<Level> {
        let fields = line.strip_prefix("level ")?;
        let value = |name: &str| {
            fields
                .split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
        };
        let number = |name: &str| value(name)?.parse::<f64>().ok();
        Some(Level {
            live: value("live")?.parse().ok()?,
            load_p50_us: number("load_p50_us")?,
            load_p99_us: number("load_p99_us")?,
            save_p50_us: number("save_p50_us")?,
            save_p99_us: number("save_p99_us")?,
            memory_bytes: value("memory_bytes")?.parse().ok()?,
            disk_bytes: match value("disk_bytes")? {
                "-" => None,
                d => Some(d.parse().ok()?),
            },
            fill_secs: number("fill_secs")?,
        })
    }
}

/// One store's child run: its levels and the notes it printed.
#[derive(Debug, Clone, PartialEq)]
struct StoreRun {
    kind: StoreKind,
    levels: Vec<Level>,
    notes: Vec<String>,
}

impl StoreRun {
    /// Reads a child's stdout.
    fn parse(kind: StoreKind, stdout: &str) -> Result<StoreRun, BoxError> {
        let mut run = StoreRun {
            kind,
            levels: Vec::new(),
            notes: Vec::new(),
        };
        for line in stdout.lines() {
            if let Some(note) = line.strip_prefix("note ") {
                run.notes.push(note.to_owned());
            } else if let Some(level) = Level::parse(line) {
                run.levels.push(level);
            } else if !line.trim().is_empty() {
                return Err(fail(format!(
                    "unexpected line from the {} child: {line:?}",
                    kind.name()
                )));
            }
        }
        Ok(run)
    }

    /// Seconds spent filling, over all sizes.
    fn fill_secs(&self) -> f64 {
        self.levels.iter().map(|l| l.fill_secs).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: one child per store, then the report and the plot.
// ---------------------------------------------------------------------------------------------

/// Runs the growth part: every store in a child process, then the table, notes and plot.
pub(crate) fn run(options: Options) -> Result<Growth, BoxError> {
    let mut runs = Vec::new();
    for kind in StoreKind::ALL {
        runs.push(run_child(kind, options)?);
    }
    let plot_svg = plot::render(&runs)?;
    Ok(Growth {
        report: report(&runs, options),
        plot_svg,
    })
}

/// Starts the measuring child for `kind` and reads what it printed.
fn run_child(kind: StoreKind, options: Options) -> Result<StoreRun, BoxError> {
    let exe = std::env::current_exe().map_err(context("locate the bench binary"))?;
    let mut command = Command::new(exe);
    command.arg(CHILD_COMMAND).arg(kind.name());
    if options.quick {
        command.arg("--quick");
    }
    let output = command
        .env("REDIS_URL", redis_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(context(format!("start the {} growth child", kind.name())))?;
    if !output.status.success() {
        return Err(fail(format!(
            "the {} growth child failed ({})",
            kind.name(),
            output.status
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let run = StoreRun::parse(kind, &stdout)?;
    if run.levels.is_empty() {
        return Err(fail(format!(
            "the {} growth child reported nothing",
            kind.name()
        )));
    }
    Ok(run)
}

/// The growth section: method, plot, table and notes.
fn report(runs: &[StoreRun], options: Options) -> Report {
    let section = Section {
        title: "Latency and memory against live sessions".into(),
        intro: intro(options),
        table: table(runs),
        notes: notes(runs),
    };
    Report {
        sections: vec![section],
        targets: Vec::new(),
    }
}

/// How the figures were taken.
fn intro(options: Options) -> Vec<String> {
    let (sizes, ops) = plan(options.quick);
    let sizes = sizes
        .iter()
        .map(|&n| count_label(n))
        .collect::<Vec<_>>()
        .join(", ");
    let record_len = typical_record(UnixTime::now()).to_bytes().len();
    vec![
        format!(
            "Each store is filled in steps to {sizes} live sessions of the typical record \
             ({record_len} bytes in the store format), each signed in as a user of its own (`u-` \
             and 8 hex digits of its key, as long as the typical user id, so the user indexes \
             hold about one session per user rather than one user with every session). At each \
             size, {WARMUP_OPS} untimed and then {ops} timed pairs of `load` of a random live \
             session and `save` of the loaded record at version v + 1 (as in the store part), \
             wall clock, one task on a current-thread Tokio runtime; every load must find its \
             session. Stores have their default settings (SledStore flushes every write, \
             SqliteStore WAL with synchronous=NORMAL)."
        ),
        "Memory: for the in-process stores, the measuring process's `VmRSS` after the fill and \
         the sampled operations, minus the same with the store open and empty (each store runs \
         in a process of its own); for Redis, the server's `used_memory` (`INFO memory`) delta. \
         On disk: the allocated size of the sled directory or the SQLite files (database and \
         WAL). Filling writes the store's own layout through the engine's bulk path (sled \
         batches, SQLite transactions of many rows, pipelined Redis commands; `create` for the \
         MemoryStore), so a fill column is engine time, not store-API time. Sled is filled by \
         a helper process while the store is closed, and the store reopened afterwards (as \
         after a restart; its fill column includes the reopen): right after a bulk fill, sled \
         0.34 holds gigabytes more, and serves reads more slowly, than the same database \
         reopened, which would measure the fill instead of the store."
            .to_owned(),
        String::new(),
        format!("![Load and save latency against live sessions, log-log]({PLOT_PATH})"),
    ]
}

/// One row per store and size.
fn table(runs: &[StoreRun]) -> Table {
    let mut table = Table::new(&[
        "store",
        "live sessions",
        "load p50 us",
        "load p99 us",
        "save p50 us",
        "save p99 us",
        "memory MiB",
        "memory per session B",
        "on disk MiB",
        "fill s",
    ]);
    for run in runs {
        for level in &run.levels {
            table.row(vec![
                run.kind.label().to_owned(),
                count_label(level.live),
                format!("{:.1}", level.load_p50_us),
                format!("{:.1}", level.load_p99_us),
                format!("{:.1}", level.save_p50_us),
                format!("{:.1}", level.save_p99_us),
                format!("{:.1}", level.memory_bytes as f64 / MIB),
                format!("{:.0}", level.memory_bytes as f64 / level.live as f64),
                level
                    .disk_bytes
                    .map_or_else(|| "-".to_owned(), |d| format!("{:.1}", d as f64 / MIB)),
                format!("{:.1}", level.fill_secs),
            ]);
        }
    }
    table
}

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// Fill times, growth findings, and what the children noted.
fn notes(runs: &[StoreRun]) -> Vec<String> {
    let mut notes = vec![fill_note(runs)];
    notes.extend(growth_notes(runs));
    for run in runs {
        notes.extend(run.notes.iter().cloned());
    }
    notes
}

/// The fill times of every store, step by step.
fn fill_note(runs: &[StoreRun]) -> String {
    let total: f64 = runs.iter().map(StoreRun::fill_secs).sum();
    let per_store = runs
        .iter()
        .map(|run| {
            let steps = run
                .levels
                .iter()
                .map(|l| format!("{:.1}", l.fill_secs))
                .collect::<Vec<_>>()
                .join(" + ");
            format!("{} {steps} s", run.kind.label())
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!("Filling took {total:.0} s in all ({per_store}; one figure per step).")
}

/// A note for every store and operation whose p50 grows by [`GROWTH_ALARM`] or more from the
/// smallest size to the largest, or one note saying none does.
fn growth_notes(runs: &[StoreRun]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut compared = false;
    for run in runs {
        let (Some(first), Some(last)) = (run.levels.first(), run.levels.last()) else {
            continue;
        };
        if first.live == last.live {
            continue;
        }
        compared = true;
        for op in ["load", "save"] {
            notes.extend(growth_note(run.kind, op, first, last));
        }
    }
    if compared && notes.is_empty() {
        notes.push(format!(
            "No store's load or save p50 grows {GROWTH_ALARM}x or more from the smallest size \
             to the largest."
        ));
    }
    notes
}

/// The (p50, p99) of `op` (`"load"` or `"save"`) at one level, in microseconds.
fn latencies(op: &str, level: &Level) -> (f64, f64) {
    if op == "load" {
        (level.load_p50_us, level.load_p99_us)
    } else {
        (level.save_p50_us, level.save_p99_us)
    }
}

/// The finding for one store and operation, if its p50 grew by [`GROWTH_ALARM`] or more from
/// `first` to `last`.
fn growth_note(kind: StoreKind, op: &str, first: &Level, last: &Level) -> Option<String> {
    let ((p50_from, p99_from), (p50_to, p99_to)) = (latencies(op, first), latencies(op, last));
    let factor = p50_to / p50_from;
    (p50_from > 0.0 && factor >= GROWTH_ALARM).then(|| {
        format!(
            "Finding: {}'s {op} p50 grows {factor:.1}x from {} to {} live sessions \
             ({p50_from:.1} -> {p50_to:.1} us; p99 {p99_from:.1} -> {p99_to:.1} us).",
            kind.label(),
            count_label(first.live),
            count_label(last.live)
        )
    })
}

/// `1k`, `100k`, `1M`, or the plain number.
fn count_label(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The sizes and timed operations per size.
fn plan(quick: bool) -> (&'static [u64], usize) {
    if quick {
        (QUICK_SIZES, QUICK_OPS)
    } else {
        (FULL_SIZES, FULL_OPS)
    }
}

// ---------------------------------------------------------------------------------------------
// The child: fill one store, sample, print.
// ---------------------------------------------------------------------------------------------

/// The child's entry point: `growth-store <memory|sled|sqlite|redis> [--quick]`, or the sled
/// fill helper, `growth-store sled-fill <path> <salt> <from> <to>` (see [`SledEngine::fill`]).
pub(crate) fn measure_store(args: &[String]) -> Result<(), BoxError> {
    let usage = || {
        fail(format!(
            "usage: session-bench {CHILD_COMMAND} <memory|sled|sqlite|redis> [--quick]\n       \
             session-bench {CHILD_COMMAND} {SLED_FILL} <path> <salt> <from> <to>"
        ))
    };
    let (name, quick) = match args {
        [name] => (name, false),
        [name, flag] if flag == "--quick" => (name, true),
        [command, path, salt, from, to] if command == SLED_FILL => {
            let number = |n: &String| n.parse::<u64>().map_err(|_| usage());
            let population = Population::with_salt(parse_salt(salt).ok_or_else(usage)?);
            return fill_sled_files(Path::new(path), &population, number(from)?..number(to)?);
        }
        _ => return Err(usage()),
    };
    let kind = StoreKind::parse(name).ok_or_else(usage)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))?;
    rt.block_on(measure(kind, quick))
}

/// Opens the store, measures every size, and cleans up whatever happened.
async fn measure(kind: StoreKind, quick: bool) -> Result<(), BoxError> {
    let population = Population::new()?;
    let mut engine = Engine::open(kind).await?;
    let measured = measure_levels(&mut engine, &population, quick).await;
    let cleaned = engine.clean_up().await;
    measured?;
    if let Some(note) = cleaned? {
        println!("note {note}");
    }
    Ok(())
}

/// Fills the store to each size in turn and prints a [`Level`] line for each.
async fn measure_levels(
    engine: &mut Engine,
    population: &Population,
    quick: bool,
) -> Result<(), BoxError> {
    let (sizes, ops) = plan(quick);
    let empty = engine.memory_bytes().await?;
    let mut rng = Rng::seeded()?;
    let mut filled = 0;
    for &live in sizes {
        let started = Instant::now();
        engine.fill(population, filled..live).await?;
        let fill_secs = started.elapsed().as_secs_f64();
        filled = live;
        let store = engine.store()?;
        check_user_index(store, population, live, &mut rng).await?;
        let (loads, saves) = sample(store, population, live, ops, &mut rng).await?;
        let memory = engine.memory_bytes().await?;
        let level = Level {
            live,
            load_p50_us: loads.percentile(50.0) / 1_000.0,
            load_p99_us: loads.percentile(99.0) / 1_000.0,
            save_p50_us: saves.percentile(50.0) / 1_000.0,
            save_p99_us: saves.percentile(99.0) / 1_000.0,
            memory_bytes: signed_delta(memory, empty),
            disk_bytes: engine.disk_bytes()?,
            fill_secs,
        };
        eprintln!(
            "  growth: {}: {} live sessions, filled in {fill_secs:.1} s",
            engine.kind().label(),
            count_label(live)
        );
        println!("{}", level.to_line());
    }
    for note in engine.notes().await {
        println!("note {note}");
    }
    Ok(())
}

/// `after - before` as a signed number of bytes.
fn signed_delta(after: u64, before: u64) -> i64 {
    let magnitude = i64::try_from(after.abs_diff(before)).unwrap_or(i64::MAX);
    if after >= before {
        magnitude
    } else {
        -magnitude
    }
}

/// Checks that the user lists of a few random sessions contain them: the fill wrote the user
/// index the store reads.
async fn check_user_index(
    store: &dyn SessionStore,
    population: &Population,
    live: u64,
    rng: &mut Rng,
) -> Result<(), BoxError> {
    for _ in 0..USER_CHECKS {
        let key = population.key(rng.below(live));
        let listed = store
            .list_for_user(&user_of(&key), UnixTime::now())
            .await
            .map_err(context("list_for_user"))?;
        if !listed.iter().any(|r| r.key == key) {
            return Err(fail(
                "a user's session list misses a live session: the fill did not write the store's \
                 user index",
            ));
        }
    }
    Ok(())
}

/// Warm-up, then `ops` timed load + save pairs on random live sessions.
async fn sample(
    store: &dyn SessionStore,
    population: &Population,
    live: u64,
    ops: usize,
    rng: &mut Rng,
) -> Result<(Samples, Samples), BoxError> {
    for _ in 0..WARMUP_OPS {
        load_then_save(store, &population.key(rng.below(live))).await?;
    }
    let mut loads = Samples::with_capacity(ops);
    let mut saves = Samples::with_capacity(ops);
    for _ in 0..ops {
        let (load, save) = load_then_save(store, &population.key(rng.below(live))).await?;
        loads.push(load);
        saves.push(save);
    }
    Ok((loads, saves))
}

/// Loads the session under `key` (which must be there) and saves it back at the next version;
/// the time of each call.
async fn load_then_save(
    store: &dyn SessionStore,
    key: &SessionKey,
) -> Result<(Duration, Duration), BoxError> {
    let started = Instant::now();
    let loaded = store
        .load(key, UnixTime::now())
        .await
        .map_err(context("load"))?;
    let load = started.elapsed();
    let mut record = loaded.ok_or_else(|| fail("the load of a live session found nothing"))?;
    let expected = record.version;
    record.version = expected + 1;
    let started = Instant::now();
    store
        .save(&record, expected)
        .await
        .map_err(context("save"))?;
    Ok((load, started.elapsed()))
}

/// The sessions of a run: keys derived from their index (so none need to be kept in memory, where
/// they would count as the store's), each a copy of the typical record with its own user.
#[derive(Debug)]
struct Population {
    salt: [u8; 16],
    template: SessionRecord,
}

impl Population {
    /// A population with a fresh random salt, so runs never share keys.
    fn new() -> Result<Population, BoxError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| fail(format!("getrandom: {e}")))?;
        Ok(Population::with_salt(salt))
    }

    /// The population of `salt` (the sled fill helper rebuilds its parent's this way).
    fn with_salt(salt: [u8; 16]) -> Population {
        Population {
            salt,
            template: typical_record(UnixTime::now()),
        }
    }

    /// The key of session number `index`: SHA-256 of the salt and the index.
    fn key(&self, index: u64) -> SessionKey {
        let digest = Sha256::new()
            .chain_update(self.salt)
            .chain_update(index.to_le_bytes())
            .finalize();
        SessionKey::from_bytes(digest.into())
    }

    /// The record stored under `key`.
    fn record(&self, key: SessionKey) -> SessionRecord {
        let mut record = self.template.clone();
        record.key = key;
        record.user_id = Some(user_of(&key));
        record
    }

    /// The keys of the sessions in `range`, sorted (engines take sorted bulk writes fastest).
    fn sorted_keys(&self, range: Range<u64>) -> Vec<SessionKey> {
        let mut keys: Vec<SessionKey> = range.map(|i| self.key(i)).collect();
        keys.sort_unstable();
        keys
    }
}

/// A salt as 32 hex digits, for the helper's command line.
fn salt_hex(salt: &[u8; 16]) -> String {
    salt.iter().map(|b| format!("{b:02x}")).collect()
}

/// A salt back from [`salt_hex`]'s digits.
fn parse_salt(hex: &str) -> Option<[u8; 16]> {
    let mut salt = [0u8; 16];
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    for (byte, pair) in salt.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(salt)
}

/// The user a session is signed in as: `u-` and the first 8 hex digits of its key, as long as
/// the typical user id.
fn user_of(key: &SessionKey) -> UserId {
    let hex = key.to_hex();
    UserId::new(format!("u-{}", &hex[..8]))
}

/// A small, fast pseudo-random generator (SplitMix64) for picking sessions.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    /// A generator seeded from the OS.
    fn seeded() -> Result<Rng, BoxError> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| fail(format!("getrandom: {e}")))?;
        Ok(Rng(u64::from_le_bytes(seed)))
    }

    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the modulo bias is negligible for the sizes used here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One store under measurement, with what its fill and its gauges need.
enum Engine {
    /// Boxed: a `MemoryStore` holds its 64 shards inline.
    Memory(Box<MemoryEngine>),
    Sled(SledEngine),
    Sqlite(SqliteEngine),
    Redis(RedisEngine),
}

/// The `MemoryStore`, filled through `create`.
struct MemoryEngine {
    store: MemoryStore,
    /// The slowest single `create` of each fill step: (live sessions after the step, time).
    slowest_creates: Vec<(u64, Duration)>,
}

/// A `SledStore`, closed while a helper process fills its files through sled batches.
struct SledEngine {
    /// Declared first, so the store is closed before the directory goes; `None` while filling.
    store: Option<SledStore>,
    path: PathBuf,
    dir: tempfile::TempDir,
}

/// A `SqliteStore`, filled through a connection of our own to its file.
struct SqliteEngine {
    /// Declared first, so the store is closed before the directory goes.
    store: SqliteStore,
    path: PathBuf,
    dir: tempfile::TempDir,
}

/// A `RedisStore` under a random prefix, filled through pipelines on a connection of our own.
struct RedisEngine {
    store: RedisStore,
    conn: MultiplexedConnection,
    prefix: String,
}

impl Engine {
    /// Opens an empty store of `kind` with its default settings.
    async fn open(kind: StoreKind) -> Result<Engine, BoxError> {
        Ok(match kind {
            StoreKind::Memory => Engine::Memory(Box::new(MemoryEngine {
                store: MemoryStore::new(),
                slowest_creates: Vec::new(),
            })),
            StoreKind::Sled => Engine::Sled(SledEngine::open()?),
            StoreKind::Sqlite => Engine::Sqlite(SqliteEngine::open()?),
            StoreKind::Redis => Engine::Redis(RedisEngine::connect().await?),
        })
    }

    /// Which store this is.
    fn kind(&self) -> StoreKind {
        match self {
            Engine::Memory(_) => StoreKind::Memory,
            Engine::Sled(_) => StoreKind::Sled,
            Engine::Sqlite(_) => StoreKind::Sqlite,
            Engine::Redis(_) => StoreKind::Redis,
        }
    }

    /// The store, as the application sees it.
    fn store(&self) -> Result<&dyn SessionStore, BoxError> {
        Ok(match self {
            Engine::Memory(e) => &e.store,
            Engine::Sled(e) => e
                .store
                .as_ref()
                .ok_or_else(|| fail("the SledStore did not reopen after its fill"))?,
            Engine::Sqlite(e) => &e.store,
            Engine::Redis(e) => &e.store,
        })
    }

    /// Adds the sessions of `range`.
    async fn fill(&mut self, population: &Population, range: Range<u64>) -> Result<(), BoxError> {
        match self {
            Engine::Memory(e) => e.fill(population, range).await,
            Engine::Sled(e) => e.fill(population, range),
            Engine::Sqlite(e) => e.fill(population, range),
            Engine::Redis(e) => e.fill(population, range).await,
        }
    }

    /// The memory this store's sessions live in: the process's `VmRSS`, or Redis' `used_memory`.
    async fn memory_bytes(&mut self) -> Result<u64, BoxError> {
        match self {
            Engine::Redis(e) => e.used_memory().await,
            _ => resident_bytes(),
        }
    }

    /// The store's files, for the stores that have some.
    fn disk_bytes(&self) -> Result<Option<u64>, BoxError> {
        match self {
            Engine::Sled(e) => disk_usage(e.dir.path()).map(Some),
            Engine::Sqlite(e) => disk_usage(e.dir.path()).map(Some),
            Engine::Memory(_) | Engine::Redis(_) => Ok(None),
        }
    }

    /// What the child noticed beyond the table.
    async fn notes(&mut self) -> Vec<String> {
        match self {
            Engine::Memory(e) => e.notes(),
            Engine::Redis(e) => e.notes().await,
            Engine::Sled(_) | Engine::Sqlite(_) => Vec::new(),
        }
    }

    /// Removes what the run left outside the process (Redis keys); temp dirs go with `self`.
    async fn clean_up(self) -> Result<Option<String>, BoxError> {
        match self {
            Engine::Redis(mut e) => {
                let removed = cleanup_prefix(&mut e.conn, &e.prefix)
                    .await
                    .map_err(context("cleaning up the growth part's Redis keys"))?;
                Ok(Some(format!(
                    "Redis keys were written under a random prefix and removed afterwards with \
                     SCAN MATCH + DEL ({removed} keys)."
                )))
            }
            Engine::Memory(_) | Engine::Sled(_) | Engine::Sqlite(_) => Ok(None),
        }
    }
}

impl MemoryEngine {
    /// Creates the sessions of `range` one by one, noting the slowest `create`.
    async fn fill(&mut self, population: &Population, range: Range<u64>) -> Result<(), BoxError> {
        let end = range.end;
        let mut slowest = Duration::ZERO;
        for index in range {
            let record = population.record(population.key(index));
            let started = Instant::now();
            self.store
                .create(&record)
                .await
                .map_err(context("MemoryStore::create"))?;
            slowest = slowest.max(started.elapsed());
        }
        self.slowest_creates.push((end, slowest));
        Ok(())
    }

    /// The slowest `create` of each fill step.
    fn notes(&self) -> Vec<String> {
        let steps = self
            .slowest_creates
            .iter()
            .map(|(live, d)| {
                format!(
                    "{:.0} us up to {}",
                    d.as_secs_f64() * 1e6,
                    count_label(*live)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        vec![format!(
            "MemoryStore: the slowest single `create` while filling took {steps}. Such a stall \
             can hit any request that creates a session: `create` sweeps one of the 64 shards \
             for expired records every 64th call, under that shard's write lock, and a growing \
             shard or user-index shard is rehashed inside the call."
        )]
    }
}

impl SledEngine {
    /// A `SledStore` with its default settings in a new temp dir.
    fn open() -> Result<SledEngine, BoxError> {
        let dir = tempfile::tempdir().map_err(context("temp dir"))?;
        let path = dir.path().join("sessions");
        let store = Some(open_sled_store(&path)?);
        Ok(SledEngine { store, path, dir })
    }

    /// Closes the store, has a helper process (`growth-store sled-fill`) write the sessions of
    /// `range` into its files, and reopens it.
    ///
    /// Why a helper: right after a bulk fill, sled 0.34 holds far more memory than the same
    /// database reopened (gigabytes at 1M sessions, beyond its 64 MiB cache budget, and much of
    /// it stays with the process after the database is dropped), and its reads are slower. The
    /// measured store is the database as a restarted application finds it; the helper's memory
    /// leaves with the helper.
    fn fill(&mut self, population: &Population, range: Range<u64>) -> Result<(), BoxError> {
        self.store = None;
        let exe = std::env::current_exe().map_err(context("locate the bench binary"))?;
        let status = Command::new(exe)
            .arg(CHILD_COMMAND)
            .arg(SLED_FILL)
            .arg(&self.path)
            .arg(salt_hex(&population.salt))
            .arg(range.start.to_string())
            .arg(range.end.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .map_err(context("start the sled fill helper"))?;
        if !status.success() {
            return Err(fail(format!("the sled fill helper failed ({status})")));
        }
        self.store = Some(open_sled_store(&self.path)?);
        Ok(())
    }
}

/// Opens the `SledStore` at `path` with its default settings, waiting for the lock a process
/// that just let go of it may still hold.
fn open_sled_store(path: &Path) -> Result<SledStore, BoxError> {
    retry_while_locked("open SledStore", || {
        SledStore::open(SledStoreConfig::new(path))
    })
}

/// Calls `open` until it succeeds or [`SLED_LOCK_WAIT`] has passed (sled 0.34 may release its
/// file lock a moment after the database is closed, or after its process exits).
fn retry_while_locked<T, E: std::fmt::Display>(
    what: &str,
    mut open: impl FnMut() -> Result<T, E>,
) -> Result<T, BoxError> {
    let deadline = Instant::now() + SLED_LOCK_WAIT;
    loop {
        match open() {
            Ok(opened) => return Ok(opened),
            Err(e) if Instant::now() > deadline => return Err(context(what)(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The sled fill helper: writes the sessions of `range` into the trees of the `SledStore` at
/// `path`, in its layout, a sorted batch per tree at a time, and flushes.
fn fill_sled_files(
    path: &Path,
    population: &Population,
    range: Range<u64>,
) -> Result<(), BoxError> {
    let db = retry_while_locked("open the sled database", || {
        sled::Config::new()
            .path(path)
            .cache_capacity(DEFAULT_CACHE_CAPACITY)
            .flush_every_ms(Some(BACKGROUND_FLUSH_MS))
            .open()
    })?;
    let tree = |name: &str| {
        db.open_tree(name)
            .map_err(context(format!("open sled tree {name}")))
    };
    let (records, by_user, by_expiry) = (
        tree(SLED_RECORDS_TREE)?,
        tree(SLED_BY_USER_TREE)?,
        tree(SLED_BY_EXPIRY_TREE)?,
    );
    for chunk in population.sorted_keys(range).chunks(SLED_BATCH) {
        let mut record_batch = sled::Batch::default();
        let mut user_batch = sled::Batch::default();
        let mut expiry_batch = sled::Batch::default();
        for key in chunk {
            let record = population.record(*key);
            record_batch.insert(&key.as_bytes()[..], record.to_bytes());
            user_batch.insert(sled_user_entry(&record), &[][..]);
            expiry_batch.insert(sled_expiry_entry(&record), &[][..]);
        }
        records
            .apply_batch(record_batch)
            .map_err(context("sled batch (records)"))?;
        by_user
            .apply_batch(user_batch)
            .map_err(context("sled batch (user index)"))?;
        by_expiry
            .apply_batch(expiry_batch)
            .map_err(context("sled batch (expiry index)"))?;
    }
    db.flush().map_err(context("sled flush"))?;
    Ok(())
}

/// The sled user index entry of `record`: `be_u64(len(user)) ++ user ++ key`.
fn sled_user_entry(record: &SessionRecord) -> Vec<u8> {
    let user = record
        .user_id
        .as_ref()
        .map_or("", |u| u.as_str())
        .as_bytes();
    let mut entry = Vec::with_capacity(8 + user.len() + 32);
    entry.extend_from_slice(&(user.len() as u64).to_be_bytes());
    entry.extend_from_slice(user);
    entry.extend_from_slice(record.key.as_bytes());
    entry
}

/// The sled expiry index entry of `record`: `be_u64(effective expiry) ++ key`.
fn sled_expiry_entry(record: &SessionRecord) -> Vec<u8> {
    let mut entry = Vec::with_capacity(8 + 32);
    entry.extend_from_slice(&record.effective_expiry().as_secs().to_be_bytes());
    entry.extend_from_slice(record.key.as_bytes());
    entry
}

impl SqliteEngine {
    /// A `SqliteStore` with its default settings on a new file in a temp dir.
    fn open() -> Result<SqliteEngine, BoxError> {
        let dir = tempfile::tempdir().map_err(context("temp dir"))?;
        let path = dir.path().join("sessions.db");
        let store = SqliteStore::open(SqliteStoreConfig::new(&path))
            .map_err(context("open SqliteStore"))?;
        Ok(SqliteEngine { store, path, dir })
    }

    /// Inserts the sessions of `range` as the store's rows through a connection of our own,
    /// [`SQLITE_BATCH`] rows per transaction, then folds the WAL back into the database.
    fn fill(&self, population: &Population, range: Range<u64>) -> Result<(), BoxError> {
        let mut conn =
            rusqlite::Connection::open(&self.path).map_err(context("open the SQLite file"))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Only this fill connection: the store's own connections keep synchronous=NORMAL.
        conn.pragma_update(None, "synchronous", "OFF")?;
        for chunk in population.sorted_keys(range).chunks(SQLITE_BATCH) {
            let tx = conn.transaction().map_err(context("SQLite transaction"))?;
            {
                let mut insert = tx.prepare_cached(SQLITE_INSERT)?;
                for key in chunk {
                    let record = population.record(*key);
                    insert
                        .execute(rusqlite::params![
                            &key.as_bytes()[..],
                            record.user_id.as_ref().map(|u| u.as_str()),
                            sql_secs(record.created_at),
                            sql_secs(record.effective_expiry()),
                            sql_int(record.version),
                            record.to_bytes(),
                        ])
                        .map_err(context("SQLite insert"))?;
                }
            }
            tx.commit().map_err(context("SQLite commit"))?;
        }
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(context("SQLite checkpoint"))?;
        Ok(())
    }
}

/// A time as the SQLite store keeps it (signed seconds).
fn sql_secs(t: UnixTime) -> i64 {
    sql_int(t.as_secs())
}

/// An unsigned number as a SQLite integer, saturating.
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl RedisEngine {
    /// A `RedisStore` under a fresh random prefix, and a connection of our own beside it.
    async fn connect() -> Result<RedisEngine, BoxError> {
        let url = redis_url();
        let prefix = random_prefix();
        let client = redis::Client::open(url.as_str()).map_err(context("Redis URL"))?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(context(format!(
                "connect to Redis at {url} (is it running? set REDIS_URL)"
            )))?;
        let store = RedisStore::connect(RedisStoreConfig::new(&url).key_prefix(&prefix))
            .await
            .map_err(context("connect RedisStore"))?;
        Ok(RedisEngine {
            store,
            conn,
            prefix,
        })
    }

    /// Writes the sessions of `range` in the store's layout (a hash per record with `EXPIREAT`,
    /// a sorted set per user scored by expiry), [`REDIS_BATCH`] records per pipeline.
    async fn fill(&mut self, population: &Population, range: Range<u64>) -> Result<(), BoxError> {
        for chunk in population.sorted_keys(range).chunks(REDIS_BATCH) {
            let mut pipe = redis::pipe();
            for key in chunk {
                self.add_to_pipeline(&mut pipe, &population.record(*key));
            }
            pipe.query_async::<()>(&mut self.conn)
                .await
                .map_err(context("Redis fill pipeline"))?;
        }
        Ok(())
    }

    /// The commands that store `record` as `RedisStore::create` would.
    fn add_to_pipeline(&self, pipe: &mut redis::Pipeline, record: &SessionRecord) {
        let hex = record.key.to_hex();
        let record_key = format!("{}s:{hex}", self.prefix);
        let expire_at = record.effective_expiry().as_secs();
        let user = record.user_id.as_ref().map_or("", |u| u.as_str());
        let index_key = format!("{}u:{user}", self.prefix);
        pipe.cmd("HSET")
            .arg(&record_key)
            .arg("v")
            .arg(record.version)
            .arg("r")
            .arg(record.to_bytes())
            .arg("u")
            .arg(user)
            .ignore();
        pipe.cmd("EXPIREAT")
            .arg(&record_key)
            .arg(expire_at)
            .ignore();
        pipe.cmd("ZADD")
            .arg(&index_key)
            .arg(expire_at)
            .arg(&hex)
            .ignore();
        pipe.cmd("EXPIREAT").arg(&index_key).arg(expire_at).ignore();
    }

    /// The server's `used_memory`.
    async fn used_memory(&mut self) -> Result<u64, BoxError> {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut self.conn)
            .await
            .map_err(context("INFO memory"))?;
        parse_used_memory(&info).ok_or_else(|| fail("no used_memory in INFO memory"))
    }

    /// How Redis encodes a record hash, which decides its memory per session.
    async fn notes(&mut self) -> Vec<String> {
        let probe = typical_record(UnixTime::now());
        let key = format!("{}probe", self.prefix);
        let encoding: redis::RedisResult<String> = async {
            redis::cmd("HSET")
                .arg(&key)
                .arg("v")
                .arg(1)
                .arg("r")
                .arg(probe.to_bytes())
                .query_async::<()>(&mut self.conn)
                .await?;
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(&key)
                .query_async(&mut self.conn)
                .await
        }
        .await;
        match encoding {
            Ok(encoding) => vec![format!(
                "RedisStore: Redis encodes each record hash as `{encoding}` (a hash stays a \
                 compact listpack only while every value is at most `hash-max-listpack-value` \
                 bytes, 64 by default; the `r` field holds the whole {}-byte record).",
                probe.to_bytes().len()
            )],
            Err(_) => Vec::new(),
        }
    }
}

/// The `used_memory` figure of `INFO memory`.
fn parse_used_memory(info: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
}

/// This process's resident memory (`VmRSS` in `/proc/self/status`), in bytes.
fn resident_bytes() -> Result<u64, BoxError> {
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(context("read /proc/self/status"))?;
    parse_vm_rss(&status).ok_or_else(|| fail("no VmRSS in /proc/self/status"))
}

/// The `VmRSS:   1234 kB` line of `/proc/self/status`, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The allocated size of the files under `path` (what `du` counts).
fn disk_usage(path: &Path) -> Result<u64, BoxError> {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0;
    let entries =
        std::fs::read_dir(path).map_err(context(format!("read dir {}", path.display())))?;
    for entry in entries {
        let entry = entry.map_err(context("read dir entry"))?;
        let meta = entry
            .metadata()
            .map_err(context(format!("stat {}", entry.path().display())))?;
        total += if meta.is_dir() {
            disk_usage(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// The plot.
// ---------------------------------------------------------------------------------------------

/// The SVG plot: load and save latency (p50 solid, p99 dashed) per store against live sessions,
/// both axes logarithmic.
mod plot {
    use plotters::coord::combinators::IntoLogRange;
    use plotters::prelude::*;

    use super::{count_label, latencies, Level, StoreRun};
    use crate::{context, BoxError};

    /// The whole picture, in pixels.
    const SIZE: (u32, u32) = (1200, 520);
    /// One colour per store, in table order.
    const COLOURS: [RGBColor; 4] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    /// The x axis: a little room on both sides of 1k and 1M.
    const X_RANGE: std::ops::Range<f64> = 500.0..2_000_000.0;

    /// The panels: the operation (see [`latencies`]) and its caption.
    const PANELS: [(&str, &str); 2] = [
        ("load", "load: p50 (solid), p99 (dashed)"),
        ("save", "save at v + 1: p50 (solid), p99 (dashed)"),
    ];

    /// Renders both panels side by side.
    pub(super) fn render(runs: &[StoreRun]) -> Result<String, BoxError> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(context("plot background"))?;
            let (left, right) = root.split_horizontally(SIZE.0 / 2);
            for (area, (op, caption)) in [&left, &right].into_iter().zip(PANELS) {
                panel(area, op, caption, runs)?;
            }
            root.present().map_err(context("plot"))?;
        }
        Ok(svg)
    }

    /// One panel: every store's p50 and p99 of `op`, with a legend of the stores.
    fn panel(
        area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
        op: &str,
        caption: &str,
        runs: &[StoreRun],
    ) -> Result<(), BoxError> {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(X_RANGE.log_scale(), y_range(runs, op).log_scale())
            .map_err(context("plot axes"))?;
        chart
            .configure_mesh()
            .x_desc("live sessions")
            .y_desc("latency (us)")
            .x_label_formatter(&|x| count_label(x.round() as u64))
            .y_label_formatter(&|y| trim_number(*y))
            .draw()
            .map_err(context("plot mesh"))?;
        for (run, colour) in runs.iter().zip(COLOURS) {
            let p50: Vec<(f64, f64)> = points(run, |l| latencies(op, l).0);
            let p99: Vec<(f64, f64)> = points(run, |l| latencies(op, l).1);
            chart
                .draw_series(LineSeries::new(p50, colour.stroke_width(2)).point_size(3))
                .map_err(context("plot p50"))?
                .label(run.kind.label())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(DashedLineSeries::new(p99, 6, 4, colour.stroke_width(1)))
                .map_err(context("plot p99"))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(context("plot legend"))?;
        Ok(())
    }

    /// A run's (live sessions, latency) points.
    fn points(run: &StoreRun, latency: impl Fn(&Level) -> f64) -> Vec<(f64, f64)> {
        run.levels
            .iter()
            .map(|l| (l.live as f64, latency(l).max(f64::MIN_POSITIVE)))
            .collect()
    }

    /// Whole decades around every p50 and p99 of `op` (1..10 us when there are none).
    fn y_range(runs: &[StoreRun], op: &str) -> std::ops::Range<f64> {
        let values = runs
            .iter()
            .flat_map(|r| &r.levels)
            .flat_map(|l| {
                let (p50, p99) = latencies(op, l);
                [p50, p99]
            })
            .filter(|v| *v > 0.0);
        let (low, high) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if !low.is_finite() {
            return 1.0..10.0;
        }
        let low = 10f64.powf(low.log10().floor());
        let high = 10f64.powf(high.log10().ceil()).max(low * 10.0);
        low..high
    }

    /// A number without trailing zeros: `0.1`, `1`, `100`.
    fn trim_number(v: f64) -> String {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn y_range_covers_whole_decades() {
            assert_eq!(y_range(&[], "load"), 1.0..10.0);
            assert_eq!(trim_number(0.1), "0.1");
            assert_eq!(trim_number(100.0), "100");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(live: u64, load_p50_us: f64, save_p50_us: f64) -> Level {
        Level {
            live,
            load_p50_us,
            load_p99_us: load_p50_us * 3.0,
            save_p50_us,
            save_p99_us: save_p50_us * 3.0,
            memory_bytes: -4096,
            disk_bytes: Some(123_456),
            fill_secs: 0.25,
        }
    }

    #[test]
    fn level_lines_round_trip() {
        let with_disk = level(1_000_000, 12.5, 300.0);
        assert_eq!(Level::parse(&with_disk.to_line()), Some(with_disk));
        let without = Level {
            disk_bytes: None,
            ..level(1_000, 0.4, 0.6)
        };
        assert_eq!(Level::parse(&without.to_line()), Some(without));
        assert_eq!(Level::parse("note something"), None);
        assert_eq!(Level::parse("level live=abc"), None);
    }

    #[test]
    fn child_output_parses_into_levels_and_notes() {
        let out = format!("{}\nnote a finding\n\n", level(1_000, 1.0, 2.0).to_line());
        let run = StoreRun::parse(StoreKind::Sled, &out).map_err(|e| e.to_string());
        assert_eq!(run.as_ref().map(|r| r.levels.len()), Ok(1));
        assert_eq!(run.map(|r| r.notes), Ok(vec!["a finding".to_owned()]));
        assert!(StoreRun::parse(StoreKind::Sled, "garbage").is_err());
    }

    #[test]
    fn growth_is_called_out_from_the_alarm_factor() {
        let flat = StoreRun {
            kind: StoreKind::Memory,
            levels: vec![level(1_000, 1.0, 1.0), level(1_000_000, 1.5, 1.9)],
            notes: Vec::new(),
        };
        let notes = growth_notes(std::slice::from_ref(&flat));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("No store's"), "{notes:?}");
        let grows = StoreRun {
            kind: StoreKind::Sled,
            levels: vec![level(1_000, 10.0, 100.0), level(1_000_000, 25.0, 150.0)],
            notes: Vec::new(),
        };
        let notes = growth_notes(&[flat, grows]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("SledStore's load p50 grows 2.5x from 1k to 1M"));
        let single = StoreRun {
            kind: StoreKind::Redis,
            levels: vec![level(1_000, 1.0, 1.0)],
            notes: Vec::new(),
        };
        assert!(growth_notes(&[single]).is_empty());
    }

    #[test]
    fn population_keys_are_stable_and_users_as_long_as_the_typical_one() {
        let population = Population {
            salt: [7; 16],
            template: typical_record(UnixTime::from_secs(1_000)),
        };
        assert_eq!(population.key(3), population.key(3));
        assert_ne!(population.key(3), population.key(4));
        let record = population.record(population.key(3));
        let user = record.user_id.as_ref().map(|u| u.as_str().len());
        assert_eq!(user, Some(crate::codec::TYPICAL_USER.len()));
        let sorted = population.sorted_keys(0..100);
        assert_eq!(sorted.len(), 100);
        assert!(sorted.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn salts_survive_the_command_line() {
        let salt = [
            0, 1, 0x7f, 0x80, 0xff, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 0xab,
        ];
        assert_eq!(parse_salt(&salt_hex(&salt)), Some(salt));
        assert_eq!(parse_salt("00"), None);
        assert_eq!(parse_salt(&"zz".repeat(16)), None);
    }

    #[test]
    fn sled_entries_follow_the_store_layout() {
        let mut record = typical_record(UnixTime::from_secs(1_000));
        record.user_id = Some(UserId::new("ab"));
        let entry = sled_user_entry(&record);
        assert_eq!(&entry[..8], &2u64.to_be_bytes());
        assert_eq!(&entry[8..10], b"ab");
        assert_eq!(&entry[10..], record.key.as_bytes());
        let expiry = sled_expiry_entry(&record);
        assert_eq!(
            &expiry[..8],
            &record.effective_expiry().as_secs().to_be_bytes()
        );
        assert_eq!(&expiry[8..], record.key.as_bytes());
    }

    #[test]
    fn gauges_parse_proc_and_redis_text() {
        assert_eq!(
            parse_vm_rss("Name:\tx\nVmRSS:\t    2048 kB\nVmSwap: 0 kB\n"),
            Some(2048 * 1024)
        );
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(
            parse_used_memory("# Memory\r\nused_memory:939584\r\nused_memory_human:917.56K\r\n"),
            Some(939_584)
        );
        assert_eq!(signed_delta(10, 4), 6);
        assert_eq!(signed_delta(4, 10), -6);
    }

    #[test]
    fn counts_and_the_random_picks() {
        assert_eq!(count_label(1_000), "1k");
        assert_eq!(count_label(100_000), "100k");
        assert_eq!(count_label(1_000_000), "1M");
        assert_eq!(count_label(1_234), "1234");
        let mut rng = Rng(42);
        assert!((0..1_000).all(|_| rng.below(10) < 10));
    }

    #[test]
    fn the_plot_names_every_store() {
        let runs: Vec<StoreRun> = StoreKind::ALL
            .into_iter()
            .map(|kind| StoreRun {
                kind,
                levels: vec![level(1_000, 1.0, 2.0), level(1_000_000, 3.0, 4.0)],
                notes: Vec::new(),
            })
            .collect();
        let svg = plot::render(&runs).map_err(|e| e.to_string());
        let svg = svg.as_deref().unwrap_or("");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        for kind in StoreKind::ALL {
            assert!(svg.contains(kind.label()), "{} missing", kind.label());
        }
        assert!(svg.contains("live sessions"));
    }
}
