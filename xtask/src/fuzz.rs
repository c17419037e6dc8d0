//! `cargo xtask fuzz [target] [--seconds N]`: runs the coverage-guided fuzz targets of the
//! `fuzz/` crate (cargo-fuzz + libFuzzer), each for N seconds (30 by default), every target when
//! none is named, and fails naming the artifact when a target crashes.
//!
//! How it runs on the stable toolchain: cargo-fuzz's instrumentation (`-Cpasses=sancov-module`
//! and the `-Cllvm-args=-sanitizer-coverage-*` options) is all stable `-C` flags; only a
//! sanitizer needs `-Zsanitizer`, which is unstable. So the targets are built with
//! `--sanitizer none`, and no `RUSTC_BOOTSTRAP` is needed. Nothing is lost that matters here:
//! the project's crates are `#![forbid(unsafe_code)]`, so what the fuzzer looks for is panics
//! (an overflow, an index out of range, a failed roundtrip assertion), which libFuzzer catches
//! without AddressSanitizer; the build keeps debug assertions and overflow checks on.
//!
//! The checked-in seed corpus (`fuzz/corpus/<target>/`) is copied to a temporary folder and
//! libFuzzer runs on the copy, so what it discovers never grows the checked-in files (run the
//! seed generator, `fuzz/examples/seed_corpus.rs`, to change them). Crash inputs land in
//! `fuzz/artifacts/<target>/` (git-ignored).
//!
//! The build goes to `$CARGO_TARGET_DIR/fuzz` when `CARGO_TARGET_DIR` is set (CI's shared
//! cache), else to `fuzz/target`: instrumented artifacts never mix with the workspace's own.
//! cargo-fuzz itself is installed from crates.io (`cargo install cargo-fuzz --locked`) when it
//! is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::env::{self, have, workspace_root, Failure};

/// Every fuzz target, in the order they run (the `[[bin]]`s of `fuzz/Cargo.toml`).
const TARGETS: &[&str] = &[
    "cookie_header",
    "jwt",
    "jwe",
    "signed_id",
    "record",
    "bearer",
    "oauth_callback",
];

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 30;

/// The entry point: parses `[target] [--seconds N]`, builds once, runs each target.
pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let (targets, seconds) = parse_args(args)?;
    ensure_cargo_fuzz()?;
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let target_dir = fuzz_target_dir(&fuzz_dir);
    // One build of every target first, so each timed run fuzzes for its whole budget.
    let mut build = cargo_fuzz(&fuzz_dir, &target_dir, "build");
    env::run(&mut build)?;
    let mut outcomes = Vec::new();
    for target in &targets {
        outcomes.push(fuzz_one(&fuzz_dir, &target_dir, target, seconds)?);
    }
    println!("\nxtask: fuzz summary ({seconds} s per target)");
    for outcome in &outcomes {
        let result = match &outcome.crash {
            None => "no crash".to_owned(),
            Some(artifact) => format!("CRASH, input in {artifact}"),
        };
        let executions = outcome
            .executions
            .map_or_else(|| "? executions".to_owned(), |n| format!("{n} executions"));
        println!("  {:<16} {executions:>20}  {result}", outcome.target);
    }
    let crashed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| Some(format!("{}: {}", o.target, o.crash.as_ref()?)))
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!(
            "fuzzing found crashes (reproduce with `cd fuzz && cargo fuzz run --sanitizer none \
             <target> <artifact>`; turn each into a regression test):\n  {}",
            crashed.join("\n  ")
        )))
    }
}

fn parse_args(args: &[String]) -> Result<(Vec<&'static str>, u64), Failure> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| Failure("--seconds needs a positive number".into()))?;
        } else if let Some(&known) = TARGETS.iter().find(|t| **t == arg.as_str()) {
            targets.push(known);
        } else {
            return Err(Failure(format!(
                "unknown fuzz target {arg:?}; the targets are: {}",
                TARGETS.join(", ")
            )));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    Ok((targets, seconds))
}

/// Installs cargo-fuzz from crates.io when `cargo fuzz` is not there.
fn ensure_cargo_fuzz() -> Result<(), Failure> {
    let present = cargo_command()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    if !have("cc") {
        return Err(Failure(
            "cargo-fuzz needs a C compiler for libFuzzer (`cc`): install one (Debian: apt-get \
             install build-essential)"
                .into(),
        ));
    }
    println!("xtask: cargo-fuzz is not installed; installing it from crates.io");
    let mut install = cargo_command();
    install.args(["install", "cargo-fuzz", "--locked"]);
    // Its build must not land in (or be confused with) the project's target dir.
    install.env_remove("CARGO_TARGET_DIR");
    env::run(&mut install)
}

/// `$CARGO_TARGET_DIR/fuzz` when set, else `fuzz/target`.
fn fuzz_target_dir(fuzz_dir: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_relative() {
                workspace_root().join(dir)
            } else {
                dir
            };
            dir.join("fuzz")
        }
        _ => fuzz_dir.join("target"),
    }
}

fn cargo_command() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(cargo)
}

/// `cargo fuzz <subcommand> --sanitizer none --target-dir <dir>` in `fuzz/`.
fn cargo_fuzz(fuzz_dir: &Path, target_dir: &Path, subcommand: &str) -> Command {
    let mut command = cargo_command();
    command
        .current_dir(fuzz_dir)
        .args(["fuzz", subcommand, "--sanitizer", "none", "--target-dir"])
        .arg(target_dir)
        // cargo-fuzz passes its own target dir; the variable would only confuse nested cargos.
        .env_remove("CARGO_TARGET_DIR");
    command
}

/// What one target's run gave.
struct Outcome {
    target: &'static str,
    executions: Option<u64>,
    /// The artifact file of the crash, if one was found.
    crash: Option<String>,
}

fn fuzz_one(
    fuzz_dir: &Path,
    target_dir: &Path,
    target: &'static str,
    seconds: u64,
) -> Result<Outcome, Failure> {
    let work = std::env::temp_dir().join(format!(
        "session-fuzz-corpus-{}-{target}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&fuzz_dir.join("corpus").join(target), &work)?;
    let mut command = cargo_fuzz(fuzz_dir, target_dir, "run");
    command
        .arg(target)
        .arg(&work)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    println!(
        "\nxtask: fuzzing {target} for {seconds} s (corpus copied to {})",
        work.display()
    );
    let output = command
        .output()
        .map_err(|e| Failure(format!("could not start cargo fuzz: {e}")))?;
    let _ = std::fs::remove_dir_all(&work);
    let log = String::from_utf8_lossy(&output.stderr);
    // libFuzzer's output is the report; show its tail (the stats, or the crash and its input)
    // without the "recommended dictionary" it prints before them.
    let mut in_dictionary = false;
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| {
            let marker = line.starts_with("###### ");
            if marker {
                in_dictionary = line.contains("Recommended dictionary");
            }
            !marker && !in_dictionary
        })
        .collect();
    for line in &lines[lines.len().saturating_sub(40)..] {
        eprintln!("{line}");
    }
    let crash = artifact_of(&log);
    if crash.is_none() && !output.status.success() {
        return Err(Failure(format!(
            "cargo fuzz run {target} failed ({}) without naming a crash input",
            output.status
        )));
    }
    Ok(Outcome {
        target,
        executions: executions_of(&log),
        crash,
    })
}

/// The executions libFuzzer reports at the end: `stat::number_of_executed_units: N`, or
/// `Done N runs in S second(s)`.
fn executions_of(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|line| {
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            return n.trim().parse().ok();
        }
        let rest = line.strip_prefix("Done ")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The crash input file libFuzzer wrote: `Test unit written to <path>`.
fn artifact_of(log: &str) -> Option<String> {
    log.lines().find_map(|line| {
        let (_, path) = line.split_once("Test unit written to ")?;
        Some(path.trim().to_owned())
    })
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure(format!("copying {}: {e}", from.display()));
    std::fs::create_dir_all(to).map_err(fail)?;
    for entry in std::fs::read_dir(from).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        if entry.file_type().map_err(fail)?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(fail)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libfuzzer_stats_are_read() {
        let log = "#1024 DONE cov: 10\nDone 123456 runs in 31 second(s)\n";
        assert_eq!(executions_of(log), Some(123456));
        let log = "stat::number_of_executed_units: 987\nstat::average_exec_per_sec: 3\n";
        assert_eq!(executions_of(log), Some(987));
        let log = "==1== ERROR: libFuzzer: deadly signal\n\
                   artifact_prefix='a/'; Test unit written to a/crash-abc\nBase64: AA==";
        assert_eq!(artifact_of(log).as_deref(), Some("a/crash-abc"));
    }

    #[test]
    fn arguments_name_targets_and_seconds() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&[]).unwrap(), (TARGETS.to_vec(), 30));
        assert_eq!(
            parse_args(&args(&["jwt", "--seconds", "5"])).unwrap(),
            (vec!["jwt"], 5)
        );
        assert!(parse_args(&args(&["nope"])).is_err());
        assert!(parse_args(&args(&["--seconds", "0"])).is_err());
    }
}
