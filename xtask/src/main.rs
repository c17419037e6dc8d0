//! `cargo xtask <command>`: the project's single entry point for tests, lints, benchmarks and the
//! demo. Depends on nothing but std, so it compiles in seconds on a fresh machine.

mod engines;
mod env;
mod fuzz;
mod soak;
mod tidy;

use std::process::ExitCode;

use env::{cargo, run, workspace_root, Failure};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test                 the whole test suite: starts or installs Redis, a 3-primary Redis
                       Cluster on free loopback ports and PostgreSQL, installs the jose,
                       @auth/core, bcryptjs and playwright-core npm packages in .tools/node and
                       Debian's Chromium (apt-get) for the interop and browser tests, then
                       runs every crate's tests
  lint                 cargo fmt --check, clippy (-D warnings) per feature and all features,
                       rustdoc with warnings denied, dependency-tree and tidy checks
  bench [codec|stores|http|growth|passwords] [--quick]
                       benchmarks in release mode; writes the table to BENCHMARKS.md
                       (--quick: tiny iteration counts, a smoke run that writes nothing)
  demo [--store jwt|jwe|memory|sled|sqlite|redis|redis-cluster|postgres] [--port N]
                       the demo app on http://127.0.0.1:3000 (SQLite file store by default)
  fuzz [target] [--seconds N]
                       the cargo-fuzz targets (all, or the one named) for N seconds each
                       (default 30) on a copy of fuzz/corpus; fails naming any crash input
  soak [--seconds N] [--concurrency C] [--store S ...]
                       the release demo under a hostile request mix from a second process,
                       per store (sqlite memory redis postgres jwt; default 30 s, 16 clients):
                       fails on any 5xx, panic, lost write or lost session; reports memory
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("lint") => lint(),
        Some("bench") => bench(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Failure(format!("unknown command {other:?}\n\n{USAGE}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("\nxtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<(), Failure> {
    let redis_url = env::ensure_redis()?;
    // Both are stopped when `test` returns, passed or not.
    let cluster = engines::RedisCluster::start()?;
    let cluster_nodes = cluster.nodes();
    let postgres = engines::Postgres::ensure()?;
    let node_tools = env::ensure_npm_packages()?;
    let chromium = env::ensure_chromium()?;
    println!(
        "xtask: Redis at {redis_url}; Redis Cluster at {cluster_nodes}; PostgreSQL at {}{}; \
         jose, @auth/core and playwright-core in {}; Chromium at {}",
        postgres.url,
        if postgres.is_private() {
            " (started here)"
        } else {
            ""
        },
        node_tools.display(),
        chromium.display()
    );
    let envs = [
        ("REDIS_URL", redis_url.as_str()),
        ("REDIS_CLUSTER_NODES", cluster_nodes.as_str()),
        ("POSTGRES_URL", postgres.url.as_str()),
        (
            "SESSION_NODE_TOOLS",
            node_tools.to_str().unwrap_or_default(),
        ),
        ("SESSION_CHROMIUM", chromium.to_str().unwrap_or_default()),
    ];
    // One run over every crate with every feature, so each test binary is built once.
    run(cargo(&["test", "--workspace", "--all-features", "--all-targets"]).envs(envs))?;
    run(cargo(&["test", "--workspace", "--all-features", "--doc"]).envs(envs))?;
    println!(
        "xtask: all tests passed (Redis, Redis Cluster, PostgreSQL, SQLite and sled tests ran \
         against the real engines, the demo's browser test in Chromium)"
    );
    Ok(())
}

/// Every feature of the facade crate on its own: feature unification in workspace-wide runs
/// hides missing wiring.
const ADAPTER_FEATURES: &[&str] = &[
    "axum",
    "actix",
    "rocket",
    "sled",
    "sqlite",
    "redis",
    "redis-cluster",
    "postgres",
    "auth",
];
/// Framework crates that must not appear in another framework's dependency tree.
const FRAMEWORKS: &[(&str, &str)] = &[
    ("axum", "axum"),
    ("actix", "actix-web"),
    ("rocket", "rocket"),
];

fn lint() -> Result<(), Failure> {
    run(cargo(&["fmt", "--all", "--", "--check"]))?;
    run(cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    for feature in ADAPTER_FEATURES {
        run(cargo(&[
            "clippy",
            "-p",
            "session-adapters",
            "--no-default-features",
            "--features",
            feature,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    run(
        cargo(&["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    for (feature, krate) in FRAMEWORKS {
        let tree = env::output(cargo(&[
            "tree",
            "-e",
            "normal",
            "-p",
            "session-adapters",
            "--no-default-features",
            "--features",
            feature,
            "--prefix",
            "none",
        ]))?;
        for (_, other) in FRAMEWORKS.iter().filter(|(_, k)| k != krate) {
            if tree
                .lines()
                .any(|l| l.split_whitespace().next() == Some(other))
            {
                return Err(Failure(format!("feature `{feature}` pulls in `{other}`")));
            }
        }
    }
    let problems = tidy::check(&workspace_root())?;
    if !problems.is_empty() {
        return Err(Failure(format!("tidy:\n  {}", problems.join("\n  "))));
    }
    println!("xtask: lint clean");
    Ok(())
}

fn bench(args: &[String]) -> Result<(), Failure> {
    let quick = args.iter().any(|a| a == "--quick");
    let parts: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--quick")
        .collect();
    let wants = |part: &str| parts.is_empty() || parts.contains(&part);
    let mut command = cargo(&["run", "--release", "-p", "session-bench", "--"]);
    command.args(args);
    if wants("stores") || wants("http") || wants("growth") {
        command.env("REDIS_URL", env::ensure_redis()?);
    }
    // The stores part also measures a Redis Cluster and PostgreSQL; both stop with the bench.
    let mut engines = None;
    if wants("stores") {
        let cluster = engines::RedisCluster::start()?;
        let postgres = engines::Postgres::ensure()?;
        command
            .env("REDIS_CLUSTER_NODES", cluster.nodes())
            .env("POSTGRES_URL", &postgres.url);
        engines = Some((cluster, postgres));
    }
    // The quick smoke run uses wrk when it is there and a small built-in client otherwise.
    if wants("http") && !quick {
        env::ensure_wrk()?;
    }
    if parts.is_empty() && !quick {
        // A full run writes BENCHMARKS.md only on a quiet machine; the release build it needs
        // leaves the load average up for a while, so build first and let it settle.
        run(&mut cargo(&["build", "--release", "-p", "session-bench"]))?;
        env::wait_for_quiet_machine();
    }
    let result = run(&mut command);
    drop(engines);
    result
}

fn demo(args: &[String]) -> Result<(), Failure> {
    let store = args
        .windows(2)
        .find(|w| w[0] == "--store")
        .map(|w| w[1].as_str());
    let mut command = cargo(&["run", "-p", "session-demo", "--"]);
    command.args(args);
    // Engines started here stop when the demo does.
    let mut _cluster = None;
    let mut _postgres = None;
    match store {
        Some("redis") => {
            command.env("REDIS_URL", env::ensure_redis()?);
        }
        Some("redis-cluster") if std::env::var_os("REDIS_CLUSTER_NODES").is_none() => {
            let cluster = engines::RedisCluster::start()?;
            command.env("REDIS_CLUSTER_NODES", cluster.nodes());
            _cluster = Some(cluster);
        }
        Some("postgres") => {
            let postgres = engines::Postgres::ensure()?;
            command.env("POSTGRES_URL", &postgres.url);
            _postgres = Some(postgres);
        }
        _ => {}
    }
    run(&mut command)
}
