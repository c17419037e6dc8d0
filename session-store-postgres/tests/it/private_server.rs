//! A private PostgreSQL server for the fault tests that stop, restart or lose the server: its
//! own data directory in a temp dir, its own port, stopped (`-m immediate`) when dropped.
//!
//! `initdb` refuses to run as root, so as root the server runs as the `postgres` user
//! (`runuser -u postgres --`), with the temp dir handed to it. The binaries come from `PG_BIN`,
//! else `pg_config --bindir`, else `/usr/lib/postgresql/*/bin`; when none has `initdb` and
//! `pg_ctl`, the test fails saying what is missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A running private server.
#[derive(Debug)]
pub(crate) struct PrivateServer {
    bin: PathBuf,
    dir: TempDir,
    pub(crate) port: u16,
}

/// The directory holding `initdb` and `pg_ctl`.
fn find_bin() -> PathBuf {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut tried = Vec::new();
    if let Ok(dir) = std::env::var("PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_tools(&dir) {
            return dir;
        }
        tried.push(format!("PG_BIN={}", dir.display()));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return dir;
        }
        tried.push(format!("pg_config --bindir ({})", dir.display()));
    } else {
        tried.push("pg_config (not found)".to_owned());
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|d| has_tools(d))
            .collect();
        dirs.sort();
        if let Some(dir) = dirs.pop() {
            return dir;
        }
    }
    tried.push("/usr/lib/postgresql/*/bin".to_owned());
    panic!(
        "the PostgreSQL server binaries `initdb` and `pg_ctl` are missing (looked in: {}); \
         install the PostgreSQL server package or set PG_BIN",
        tried.join(", ")
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `bin/tool args...`, as the `postgres` user when running as root.
fn tool(bin: &Path, tool: &str, args: &[&str]) -> Command {
    let path = bin.join(tool);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path).args(args);
        cmd
    } else {
        let mut cmd = Command::new(path);
        cmd.args(args);
        cmd
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl PrivateServer {
    /// initdb and start a server on a free port (blocking: call from `spawn_blocking` or
    /// before the runtime is busy).
    pub(crate) fn start() -> Self {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("pg-private-")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres"]).arg(dir.path());
                    c
                },
                "chown the temp dir to postgres",
            );
        }
        let data = dir.path().join("data");
        run(
            tool(
                &bin,
                "initdb",
                &[
                    "-D",
                    data.to_str().expect("utf-8 path"),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
            ),
            "initdb",
        );
        let server = PrivateServer {
            bin,
            dir,
            port: free_port(),
        };
        server.pg_ctl_start();
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start -w` on the same port.
    pub(crate) fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        run(
            tool(
                &self.bin,
                "pg_ctl",
                &[
                    "-D",
                    &self.data(),
                    "-o",
                    &options,
                    "-l",
                    &log,
                    "-w",
                    "start",
                ],
            ),
            "pg_ctl start",
        );
    }

    /// `pg_ctl stop -m <mode> -w`.
    pub(crate) fn pg_ctl_stop(&self, mode: &str) {
        run(
            tool(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data(), "-m", mode, "-w", "stop"],
            ),
            "pg_ctl stop",
        );
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = tool(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .output();
    }
}
