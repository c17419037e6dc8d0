//! Part 2, `stores`: `load` and `save` latency of every store for the typical record,
//! sequentially on one task, against the raw engine measured in the same run (sled insert/get,
//! rusqlite prepared upsert/select, Redis SET/GET, the same on a Redis Cluster, PostgreSQL
//! prepared SELECT/UPDATE), and a check
//! that loading an unchanged Redis session is one round trip with no writes (from the server's
//! `INFO commandstats`).

mod postgres;
mod redis_cluster;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use redis::aio::MultiplexedConnection;
use session_adapters::{
    RedisStore, RedisStoreConfig, SledStore, SledStoreConfig, SqliteStore, SqliteStoreConfig,
};
use session_core::{
    store::{SessionKey, SessionRecord},
    CookieUpdate, MemoryStore, RequestContext, SessionManager, SessionStore, UnixTime,
};
use session_store_sled::FlushPolicy;

use crate::codec::{bench_policy, secret, seed_cookie, typical_record};
use crate::timing::{Samples, Spread};
use crate::{context, fail, BoxError, Options, Report, Section, Table, Target};

/// Iterations per repetition: (loads, saves).
#[derive(Debug, Clone, Copy)]
pub(super) struct Counts {
    pub(super) loads: usize,
    pub(super) saves: usize,
}

/// Per-repetition latency summaries of one operation.
#[derive(Debug, Default)]
pub(super) struct OpStats {
    medians: Vec<f64>,
    p99s: Vec<f64>,
}

impl OpStats {
    pub(super) fn add(&mut self, samples: &Samples) {
        self.medians.push(samples.percentile(50.0) / 1_000.0);
        self.p99s.push(samples.percentile(99.0) / 1_000.0);
    }

    pub(super) fn median(&self) -> Spread {
        Spread::of(&self.medians)
    }

    fn p99(&self) -> Spread {
        Spread::of(&self.p99s)
    }
}

/// One row pair of the table: a store and (optionally) its raw engine floor.
#[derive(Debug)]
pub(super) struct Measured {
    pub(super) store: String,
    pub(super) floor: Option<(&'static str, &'static str)>,
    pub(super) load: OpStats,
    pub(super) save: OpStats,
    pub(super) floor_load: OpStats,
    pub(super) floor_save: OpStats,
}

impl Measured {
    pub(super) fn new(
        store: impl Into<String>,
        floor: Option<(&'static str, &'static str)>,
    ) -> Self {
        Measured {
            store: store.into(),
            floor,
            load: OpStats::default(),
            save: OpStats::default(),
            floor_load: OpStats::default(),
            floor_save: OpStats::default(),
        }
    }
}

pub(crate) fn run(options: Options) -> Result<Report, BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))?;
    rt.block_on(run_async(options))
}

async fn run_async(options: Options) -> Result<Report, BoxError> {
    let reps = if options.quick { 1 } else { 3 };
    let counts = |loads: usize, saves: usize| {
        if options.quick {
            Counts {
                loads: loads.min(50),
                saves: saves.min(20),
            }
        } else {
            Counts { loads, saves }
        }
    };
    let dir = tempfile::tempdir().map_err(context("temp dir"))?;
    let mut rows = Vec::new();

    // MemoryStore: no engine below it.
    let memory = MemoryStore::new();
    let mut m = Measured::new("MemoryStore", None);
    let c = counts(20_000, 20_000);
    let mut record = typical_record(UnixTime::now());
    create(&memory, &record).await?;
    for _ in 0..reps {
        m.load.add(&loads(&memory, &record.key, c.loads).await?);
        m.save.add(&saves(&memory, &mut record, c.saves).await?);
    }
    rows.push(m);

    // What the sled and SQLite stores pay on every call before touching the engine.
    let mut hop = OpStats::default();
    for _ in 0..reps {
        hop.add(&blocking_hops(counts(5_000, 0).loads).await?);
    }

    for (flush, name, c) in [
        (
            FlushPolicy::EveryWrite,
            "SledStore (default: flush every write)",
            counts(3_000, 300),
        ),
        (
            FlushPolicy::Background,
            "SledStore (FlushPolicy::Background)",
            counts(5_000, 3_000),
        ),
    ] {
        let sub = dir.path().join(format!("sled-{flush:?}"));
        let store = SledStore::open(SledStoreConfig::new(sub.join("store")).flush(flush))
            .map_err(context("open SledStore"))?;
        let floor = sled::open(sub.join("floor")).map_err(context("open the sled floor"))?;
        let flush_floor = flush == FlushPolicy::EveryWrite;
        let floor_names = if flush_floor {
            ("sled get", "sled insert + flush")
        } else {
            ("sled get", "sled insert")
        };
        let mut m = Measured::new(name, Some(floor_names));
        let mut record = typical_record(UnixTime::now());
        create(&store, &record).await?;
        // Two different values written in turn, so every floor save really changes the record.
        let value = record.to_bytes();
        let other = [value.as_slice(), b" "].concat();
        let mut turn = false;
        floor.insert(record.key.as_bytes(), value.as_slice())?;
        for _ in 0..reps {
            m.load.add(&loads(&store, &record.key, c.loads).await?);
            m.floor_load.add(&time_sync(c.loads, || {
                floor
                    .get(record.key.as_bytes())?
                    .map(|_| ())
                    .ok_or_else(|| fail("sled floor: key missing"))
            })?);
            m.save.add(&saves(&store, &mut record, c.saves).await?);
            m.floor_save.add(&time_sync(c.saves, || {
                turn = !turn;
                let bytes = if turn { &other } else { &value };
                floor.insert(record.key.as_bytes(), bytes.as_slice())?;
                if flush_floor {
                    floor.flush()?;
                }
                Ok(())
            })?);
        }
        rows.push(m);
    }

    {
        let store = SqliteStore::open(SqliteStoreConfig::new(dir.path().join("store.db")))
            .map_err(context("open SqliteStore"))?;
        let floor = sqlite_floor(&dir.path().join("floor.db"))?;
        let mut m = Measured::new(
            "SqliteStore (WAL, synchronous=NORMAL)",
            Some(("prepared SELECT", "prepared upsert")),
        );
        let c = counts(5_000, 2_000);
        let mut record = typical_record(UnixTime::now());
        create(&store, &record).await?;
        let value = record.to_bytes();
        let key = record.key.as_bytes().to_vec();
        let mut upsert = floor.prepare(
            "INSERT INTO floor (key, version, record) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET version = excluded.version, record = excluded.record",
        )?;
        let mut select = floor.prepare("SELECT record FROM floor WHERE key = ?1")?;
        let mut version = 1i64;
        upsert.execute(rusqlite::params![key, version, value])?;
        for _ in 0..reps {
            m.load.add(&loads(&store, &record.key, c.loads).await?);
            m.floor_load.add(&time_sync(c.loads, || {
                let bytes: Vec<u8> = select.query_row([&key], |row| row.get(0))?;
                std::hint::black_box(bytes);
                Ok(())
            })?);
            m.save.add(&saves(&store, &mut record, c.saves).await?);
            m.floor_save.add(&time_sync(c.saves, || {
                version += 1;
                upsert.execute(rusqlite::params![key, version, value])?;
                Ok(())
            })?);
        }
        rows.push(m);
    }

    // Redis: everything under a random prefix, removed afterwards whatever happened.
    let url = redis_url();
    let prefix = random_prefix();
    let client = redis::Client::open(url.as_str()).map_err(context("Redis URL"))?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(context(format!(
            "connect to Redis at {url} (is it running? set REDIS_URL)"
        )))?;
    let redis_result = redis_part(&url, &prefix, &mut conn, counts(5_000, 5_000), reps).await;
    let cleaned = cleanup_prefix(&mut conn, &prefix).await;
    let (redis_row, round_trip) = redis_result?;
    let removed = cleaned.map_err(context("cleaning up the bench's Redis keys"))?;
    let (cluster_row, cluster_removed) = redis_cluster::part(
        &redis_cluster::nodes()?,
        &random_prefix(),
        counts(5_000, 5_000),
        reps,
    )
    .await?;
    let cluster_target = redis_cluster::target(&cluster_row, &redis_row);
    rows.push(redis_row);
    rows.push(cluster_row);
    let postgres_row = postgres::part(
        &postgres::url()?,
        &format!("session_bench_{}", &random_prefix()[14..30]),
        counts(3_000, 2_000),
        reps,
    )
    .await?;
    let postgres_target = postgres::target(&postgres_row);
    rows.push(postgres_row);

    let mut table = Table::new(&[
        "store",
        "op",
        "median us (min..max)",
        "p99 us",
        "raw floor",
        "floor median us",
        "floor p99 us",
        "x floor",
    ]);
    for m in &rows {
        for (op, stats, floor_stats, floor_name) in [
            ("load", &m.load, &m.floor_load, m.floor.map(|f| f.0)),
            ("save", &m.save, &m.floor_save, m.floor.map(|f| f.1)),
        ] {
            let median = stats.median();
            let (floor_name, floor_median, floor_p99, x) = match floor_name {
                Some(name) => {
                    let fm = floor_stats.median();
                    (
                        name.to_owned(),
                        fm.show(1),
                        format!("{:.1}", floor_stats.p99().median),
                        format!("{:.2}x", median.ratio_of_medians(&fm)),
                    )
                }
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            table.row(vec![
                m.store.clone(),
                op.into(),
                median.show(1),
                format!("{:.1}", stats.p99().median),
                floor_name,
                floor_median,
                floor_p99,
                x,
            ]);
        }
    }
    let stores = Section {
        title: "Store latency against the raw engine".into(),
        intro: vec![format!(
            "The typical record ({} bytes in the store format, with a user id), one task on a \
             current-thread Tokio runtime, {reps} repetition(s); median and p99 are per \
             repetition, shown as the median over repetitions (spread min..max of the medians). \
             A save is `save(record, v)` with `record.version = v + 1`. Floors store the same \
             bytes under the same 32-byte key: sled `get` / `insert` (+ `flush` to match the \
             store's default durability), SQLite (WAL, synchronous=NORMAL) through one rusqlite \
             connection with prepared statements, Redis `GET` / `SET` on a multiplexed \
             connection, and on the cluster through redis-rs' cluster connection (three \
             primaries on loopback, no replicas), PostgreSQL prepared `SELECT` / `UPDATE` on \
             one tokio-postgres connection to the same server. The sled and SQLite stores run one record's load (and sled its \
             transaction) on the calling task and their flushes and writes on Tokio's blocking \
             pool; the floors call the engine directly.",
            typical_record(UnixTime::now()).to_bytes().len()
        )],
        table,
        notes: vec![
            format!(
                "For reference, one round trip to Tokio's blocking pool (`spawn_blocking` of an \
                 empty closure, awaited) takes {:.1} us median (p99 {:.1} us) here: the SQLite \
                 store pays it on every write and the sled store on every flush; both decode the \
                 record (`SessionRecord::from_bytes`, see the codec part) on every load.",
                hop.median().median,
                hop.p99().median
            ),
            format!(
                "Redis keys were written under a random prefix and removed afterwards with SCAN \
                 MATCH + DEL ({removed} keys; on the cluster, per node: {cluster_removed} keys)."
            ),
        ],
    };
    let decode_us = record_decode_us()?;
    let mut report = Report {
        sections: vec![stores, round_trip.0],
        targets: engine_targets(&rows, decode_us),
    };
    report.targets.push(round_trip.1);
    report.targets.push(cluster_target);
    report.targets.push(postgres_target);
    Ok(report)
}

/// The embedded-store targets: SQLite load and save at most 2x its floor, sled at most
/// 3x, with the record decode every load pays (the floors return bytes) given beside them.
fn engine_targets(rows: &[Measured], decode_us: f64) -> Vec<Target> {
    let mut targets = Vec::new();
    for (prefix, name, limit) in [
        ("SqliteStore", "SqliteStore load and save", 2.0),
        (
            "SledStore (default",
            "SledStore load and save (default flush)",
            3.0,
        ),
    ] {
        let Some(m) = rows.iter().find(|m| m.store.starts_with(prefix)) else {
            continue;
        };
        let (load, floor_load) = (m.load.median(), m.floor_load.median());
        let (save, floor_save) = (m.save.median(), m.floor_save.median());
        let load_x = load.ratio_of_medians(&floor_load);
        let save_x = save.ratio_of_medians(&floor_save);
        targets.push(Target {
            name: format!("{name} <= {limit:.0}x the raw engine"),
            met: load_x <= limit && save_x <= limit,
            figure: format!(
                "load {load_x:.2}x ({:.1} us against {:.1} us), save {save_x:.2}x ({:.1} us \
                 against {:.1} us), medians.",
                load.median, floor_load.median, save.median, floor_save.median
            ),
            detail: vec![format!(
                "A load also decodes the record (`SessionRecord::from_bytes`: {decode_us:.1} us \
                 here), which the floor, returning bytes, does not: against floor + decode the \
                 load is {:.2}x.",
                load.median / (floor_load.median + decode_us)
            )],
        });
    }
    targets
}

/// Median microseconds to decode the typical record from the store format.
fn record_decode_us() -> Result<f64, BoxError> {
    let bytes = typical_record(UnixTime::now()).to_bytes();
    let samples = time_sync(5_000, || {
        std::hint::black_box(SessionRecord::from_bytes(std::hint::black_box(&bytes))?);
        Ok(())
    })?;
    Ok(samples.percentile(50.0) / 1_000.0)
}

/// Where Redis is when `REDIS_URL` is unset (the store's own default).
pub(crate) const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// The Redis URL from `REDIS_URL`, or the default.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

/// A fresh random key prefix, so concurrent runs and other users of the server never collide.
pub(crate) fn random_prefix() -> String {
    let hex = session_core::store::SessionId::generate().key().to_hex();
    format!("session-bench:{}:", &hex[..16])
}

pub(super) async fn create(
    store: &dyn SessionStore,
    record: &SessionRecord,
) -> Result<(), BoxError> {
    store.create(record).await.map_err(context("create"))
}

pub(super) async fn loads(
    store: &dyn SessionStore,
    key: &SessionKey,
    n: usize,
) -> Result<Samples, BoxError> {
    let now = UnixTime::now();
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let record = store.load(key, now).await.map_err(context("load"))?;
        samples.push(start.elapsed());
        if record.is_none() {
            return Err(fail("load found no record"));
        }
    }
    Ok(samples)
}

pub(super) async fn saves(
    store: &dyn SessionStore,
    record: &mut SessionRecord,
    n: usize,
) -> Result<Samples, BoxError> {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let expected = record.version;
        record.version = expected + 1;
        let start = Instant::now();
        store
            .save(record, expected)
            .await
            .map_err(context("save"))?;
        samples.push(start.elapsed());
    }
    // Every save landed: the stored version is the last one written.
    let stored = store
        .load(&record.key, UnixTime::now())
        .await
        .map_err(context("load after saves"))?;
    match stored {
        Some(r) if r.version == record.version => Ok(samples),
        _ => Err(fail("the stored version does not match the last save")),
    }
}

/// Latencies of awaiting `spawn_blocking` of an empty closure.
async fn blocking_hops(n: usize) -> Result<Samples, BoxError> {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        tokio::task::spawn_blocking(|| ())
            .await
            .map_err(context("spawn_blocking"))?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

fn time_sync(n: usize, mut op: impl FnMut() -> Result<(), BoxError>) -> Result<Samples, BoxError> {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        op()?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

fn sqlite_floor(path: &Path) -> Result<rusqlite::Connection, BoxError> {
    let conn = rusqlite::Connection::open(path).map_err(context("open the SQLite floor"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS floor (key BLOB PRIMARY KEY, version INTEGER NOT NULL, \
         record BLOB NOT NULL)",
    )?;
    Ok(conn)
}

async fn redis_part(
    url: &str,
    prefix: &str,
    conn: &mut MultiplexedConnection,
    c: Counts,
    reps: usize,
) -> Result<(Measured, (Section, Target)), BoxError> {
    let store = RedisStore::connect(RedisStoreConfig::new(url).key_prefix(prefix))
        .await
        .map_err(context("connect RedisStore"))?;
    let mut m = Measured::new("RedisStore", Some(("GET", "SET")));
    against_get_set(&mut m, &store, &format!("{prefix}floor"), conn, c, reps).await?;
    let check = round_trip_check(store, conn).await?;
    Ok((m, check))
}

/// Measures `store`'s load and save of the typical record into `m`, each repetition beside
/// `GET` / `SET` of the same bytes under `floor_key` on `conn` (one server or a cluster).
pub(super) async fn against_get_set(
    m: &mut Measured,
    store: &RedisStore,
    floor_key: &str,
    conn: &mut impl redis::aio::ConnectionLike,
    c: Counts,
    reps: usize,
) -> Result<(), BoxError> {
    let mut record = typical_record(UnixTime::now());
    create(store, &record).await?;
    let value = record.to_bytes();
    redis::cmd("SET")
        .arg(floor_key)
        .arg(&value)
        .query_async::<()>(conn)
        .await?;
    for _ in 0..reps {
        m.load.add(&loads(store, &record.key, c.loads).await?);
        let mut s = Samples::with_capacity(c.loads);
        for _ in 0..c.loads {
            let start = Instant::now();
            let bytes: Option<Vec<u8>> = redis::cmd("GET").arg(floor_key).query_async(conn).await?;
            s.push(start.elapsed());
            if bytes.is_none() {
                return Err(fail("Redis floor: key missing"));
            }
        }
        m.floor_load.add(&s);
        m.save.add(&saves(store, &mut record, c.saves).await?);
        let mut s = Samples::with_capacity(c.saves);
        for _ in 0..c.saves {
            let start = Instant::now();
            redis::cmd("SET")
                .arg(floor_key)
                .arg(&value)
                .query_async::<()>(conn)
                .await?;
            s.push(start.elapsed());
        }
        m.floor_save.add(&s);
    }
    Ok(())
}

/// Commands that only read; anything else seen in a delta counts as a write.
const READ_COMMANDS: &[&str] = &[
    "get",
    "hget",
    "hmget",
    "hgetall",
    "mget",
    "exists",
    "ttl",
    "pttl",
    "type",
    "smembers",
    "sismember",
    "scard",
    "hexists",
    "hlen",
    "strlen",
    "scan",
];

/// Per-command call counts from `INFO commandstats`.
async fn commandstats(conn: &mut MultiplexedConnection) -> Result<BTreeMap<String, u64>, BoxError> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await?;
    let mut out = BTreeMap::new();
    for line in info.lines() {
        let Some(rest) = line.strip_prefix("cmdstat_") else {
            continue;
        };
        let Some((name, fields)) = rest.split_once(':') else {
            continue;
        };
        let calls = fields
            .split(',')
            .find_map(|f| f.strip_prefix("calls="))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        out.insert(name.to_owned(), calls);
    }
    Ok(out)
}

/// The commands the server ran between two snapshots, without our own `INFO`.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(name, _)| name.as_str() != "info")
        .filter_map(|(name, &calls)| {
            let d = calls.saturating_sub(before.get(name).copied().unwrap_or(0));
            (d > 0).then(|| (name.clone(), d))
        })
        .collect()
}

/// Runs `op` between two `INFO commandstats` snapshots, up to 5 times, and keeps the attempt
/// with the fewest calls (other clients of a shared server can only add calls).
async fn observed<F, Fut>(
    conn: &mut MultiplexedConnection,
    mut op: F,
) -> Result<BTreeMap<String, u64>, BoxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    let mut best: Option<BTreeMap<String, u64>> = None;
    for _ in 0..5 {
        let before = commandstats(conn).await?;
        op().await?;
        let after = commandstats(conn).await?;
        let d = delta(&before, &after);
        let total: u64 = d.values().sum();
        if best
            .as_ref()
            .is_none_or(|b| total < b.values().sum::<u64>())
        {
            best = Some(d);
        }
        if total == 1 {
            break;
        }
    }
    best.ok_or_else(|| fail("no commandstats observation"))
}

fn describe(d: &BTreeMap<String, u64>) -> (u64, u64, String) {
    let calls = d.values().sum();
    let writes = d
        .iter()
        .filter(|(name, _)| !READ_COMMANDS.contains(&name.as_str()))
        .map(|(_, c)| c)
        .sum();
    let list = d
        .iter()
        .map(|(name, c)| format!("{name} x{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    (
        calls,
        writes,
        if list.is_empty() { "none".into() } else { list },
    )
}

async fn round_trip_check(
    store: RedisStore,
    conn: &mut MultiplexedConnection,
) -> Result<(Section, Target), BoxError> {
    let secret = secret()?;
    let store = Arc::new(store);
    let manager = SessionManager::stateful(&secret, store.clone())
        .policy(bench_policy()?)
        .build();
    let cookie = seed_cookie(&manager).await?;
    let record = typical_record(UnixTime::now());
    store.create(&record).await.map_err(context("create"))?;
    // Warm the connection up, then observe.
    store
        .load(&record.key, UnixTime::now())
        .await
        .map_err(context("load"))?;
    let store_load = observed(conn, || async {
        store
            .load(&record.key, UnixTime::now())
            .await
            .map_err(context("load"))?
            .map(|_| ())
            .ok_or_else(|| fail("load found no record"))
    })
    .await?;
    let request = observed(conn, || async {
        let session = manager
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .map_err(context("manager load"))?;
        let _ = session.get::<u64>("n").map_err(context("read n"))?;
        match manager.commit(&session).await.map_err(context("commit"))? {
            CookieUpdate::Unchanged => Ok(()),
            other => Err(fail(format!("an unchanged session committed {other:?}"))),
        }
    })
    .await?;
    let mut table = Table::new(&["what", "server commands", "calls", "write commands"]);
    let (store_calls, store_writes, store_list) = describe(&store_load);
    let (req_calls, req_writes, req_list) = describe(&request);
    table.row(vec![
        "RedisStore::load".into(),
        store_list,
        store_calls.to_string(),
        store_writes.to_string(),
    ]);
    table.row(vec![
        "request reading an unchanged session (manager load + read + commit)".into(),
        req_list,
        req_calls.to_string(),
        req_writes.to_string(),
    ]);
    let met = store_calls == 1 && store_writes == 0 && req_calls == 1 && req_writes == 0;
    let section = Section {
        title: "Redis: loading an unchanged session is one round trip".into(),
        intro: vec![
            "Delta of the server's `INFO commandstats` around one call (our own `INFO` excluded; \
             the best of up to 5 attempts, since other clients of a shared server can only add \
             calls)."
                .into(),
        ],
        table,
        notes: Vec::new(),
    };
    let target = Target {
        name: "Redis load of an unchanged session = 1 round trip, 0 writes".into(),
        met,
        figure: format!(
            "store load: {store_calls} call(s), {store_writes} write(s); whole request: \
             {req_calls} call(s), {req_writes} write(s)."
        ),
        detail: Vec::new(),
    };
    Ok((section, target))
}

/// Deletes every key under `prefix` with SCAN MATCH + DEL (never KEYS or FLUSH).
pub(crate) async fn cleanup_prefix(
    conn: &mut MultiplexedConnection,
    prefix: &str,
) -> Result<u64, BoxError> {
    let pattern = format!("{prefix}*");
    let mut cursor: u64 = 0;
    let mut removed = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1_000)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            let n: u64 = redis::cmd("DEL").arg(&keys).query_async(conn).await?;
            removed += n;
        }
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}
