//! The multi-node engines the tests run against: a Redis Cluster of our own on loopback, and a
//! PostgreSQL server (the machine's, or one started here). Each is found, started or installed,
//! or the step fails naming what is missing.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::{apt_install, have, is_root, output, run, Failure};

/// Three `redis-server --cluster-enabled yes` primaries on free loopback ports, in a temporary
/// directory, made one cluster by `redis-cli --cluster create`. Stopped, and its directory
/// removed, when dropped.
#[derive(Debug)]
pub(crate) struct RedisCluster {
    dir: PathBuf,
    ports: Vec<u16>,
    children: Vec<Child>,
}

impl RedisCluster {
    pub(crate) fn start() -> Result<Self, Failure> {
        if !(have("redis-server") && have("redis-cli")) {
            apt_install(&["redis-server", "redis-tools"])?;
        }
        let dir = std::env::temp_dir().join(format!("sessionkit-cluster-{}", std::process::id()));
        let mut cluster = RedisCluster {
            dir,
            ports: free_cluster_ports(3),
            children: Vec::new(),
        };
        for &port in &cluster.ports.clone() {
            let node_dir = cluster.dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir)
                .map_err(|e| Failure(format!("cannot create {}: {e}", node_dir.display())))?;
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .arg("--cluster-config-file")
                .arg(node_dir.join("nodes.conf"))
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| Failure(format!("cannot start redis-server: {e}")))?;
            cluster.children.push(child);
            wait_for_port(port, Duration::from_secs(10))?;
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        println!(
            "xtask: starting a 3-primary Redis Cluster on {}",
            addresses.join(" ")
        );
        output({
            let mut create = Command::new("redis-cli");
            create
                .arg("--cluster")
                .arg("create")
                .args(&addresses)
                .args(["--cluster-replicas", "0", "--cluster-yes"]);
            create
        })?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cluster.is_ok() {
            if Instant::now() > deadline {
                return Err(Failure(
                    "the Redis Cluster did not reach cluster_state:ok within 30 s".to_owned(),
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(cluster)
    }

    fn is_ok(&self) -> bool {
        self.ports.iter().all(|port| {
            Command::new("redis-cli")
                .args(["-p", &port.to_string(), "cluster", "info"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
        })
    }

    /// The nodes' URLs, comma-separated: `REDIS_CLUSTER_NODES`.
    pub(crate) fn nodes(&self) -> String {
        let urls: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect();
        urls.join(",")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `count` free loopback ports `p` whose cluster-bus port `p + 10000` is free too.
fn free_cluster_ports(count: usize) -> Vec<u16> {
    let mut ports = Vec::new();
    while ports.len() < count {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            continue;
        };
        if port <= 55_000
            && !ports.contains(&port)
            && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
        {
            ports.push(port);
        }
    }
    ports
}

fn wait_for_port(port: u16, within: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + within;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(Failure(format!("nothing listens on 127.0.0.1:{port}")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The PostgreSQL the tests use, as a URL (`POSTGRES_URL`), and a server started here, if one
/// was, that is stopped when this is dropped.
#[derive(Debug)]
pub(crate) struct Postgres {
    pub(crate) url: String,
    private: Option<PrivatePostgres>,
}

impl Postgres {
    /// `POSTGRES_URL` if set; else the machine's server on 127.0.0.1:5432 (started with
    /// `pg_ctlcluster` if it is installed but stopped), with a database `test`; else a private
    /// server (`initdb` in a temporary directory, as the `postgres` user when running as root)
    /// on a free port, installed with apt-get first if needed and possible; else a failure
    /// naming what is missing.
    pub(crate) fn ensure() -> Result<Self, Failure> {
        if let Ok(url) = std::env::var("POSTGRES_URL") {
            return Ok(Postgres { url, private: None });
        }
        if !answers(5432) && have("pg_ctlcluster") {
            if let Some(version) = installed_cluster_version() {
                println!("xtask: starting the machine's PostgreSQL {version} (pg_ctlcluster)");
                let _ = run(Command::new("pg_ctlcluster").args([
                    "--skip-systemctl-redirect",
                    &version,
                    "main",
                    "start",
                ]));
                let _ = wait_for_port(5432, Duration::from_secs(15));
            }
        }
        if answers(5432) && have("psql") {
            let psql = |sql: &str| {
                let mut command = Command::new("psql");
                command
                    .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
                    .args(["-tAc", sql]);
                output(command)
            };
            if psql("SELECT 1").is_ok() {
                if psql("SELECT 1 FROM pg_database WHERE datname = 'test'")?.trim() != "1" {
                    psql("CREATE DATABASE test")?;
                }
                return Ok(Postgres {
                    url: "postgres://postgres@127.0.0.1:5432/test".to_owned(),
                    private: None,
                });
            }
            println!(
                "xtask: PostgreSQL on 127.0.0.1:5432 refuses the user postgres without a \
                 password; starting a private server instead (or set POSTGRES_URL)"
            );
        }
        let private = PrivatePostgres::start()?;
        Ok(Postgres {
            url: format!("postgres://postgres@127.0.0.1:{}/postgres", private.port),
            private: Some(private),
        })
    }

    /// Whether this server was started here (and is stopped on drop).
    pub(crate) fn is_private(&self) -> bool {
        self.private.is_some()
    }
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
}

/// The version of the first cluster under `/etc/postgresql`, Debian's layout.
fn installed_cluster_version() -> Option<String> {
    let entries = std::fs::read_dir("/etc/postgresql").ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
}

/// The directory of `initdb` and `pg_ctl`: `PG_BIN`, `pg_config --bindir`, or Debian's
/// `/usr/lib/postgresql/<version>/bin`.
pub(crate) fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let usable = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if usable(&dir) {
            return Some(dir);
        }
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .find(|dir| usable(dir))
}

#[derive(Debug)]
struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Result<Self, Failure> {
        let bin = match postgres_bin_dir() {
            Some(bin) => bin,
            None => {
                apt_install(&["postgresql"])?;
                postgres_bin_dir().ok_or_else(|| {
                    Failure("PostgreSQL's initdb and pg_ctl were not found after installing the postgresql package".to_owned())
                })?
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Failure(format!("no free port: {e}")))?;
        let dir = std::env::temp_dir().join(format!("sessionkit-postgres-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
        let as_postgres = |program: &Path| {
            // initdb refuses to run as root: run it (and the server) as the postgres user.
            let mut command = if is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                Command::new(program)
            };
            command.stdout(Stdio::null());
            command
        };
        if is_root() {
            run(Command::new("chown").args(["postgres:postgres"]).arg(&dir))?;
        }
        let data = dir.join("data");
        println!(
            "xtask: starting a private PostgreSQL on 127.0.0.1:{port} in {}",
            dir.display()
        );
        run(as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres"]))?;
        run(as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1",
                dir.display()
            ))
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "start"]))?;
        Ok(PrivatePostgres { dir, bin, port })
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut stop = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = stop
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
