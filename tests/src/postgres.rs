//! A throwaway PostgreSQL cluster (Debian's `postgresql` package): `initdb` in a temporary
//! folder, the server on a free loopback port with fsync off, stopped when dropped.
//!
//! Two uses: the fleet tests start their own ([`Postgres::start`]), and with
//! `CLICK_TEST_POSTGRES` set to a server's URL (`tests/run-on-postgres.sh`) every desktop
//! agent the tests start keeps its state in a database of its own there ([`store_config`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The user the cluster's superuser is called.
const USER: &str = "click";

pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = server_bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        as_owner(dir.path());
        let data = dir.path().join("cluster");
        std::fs::create_dir(&data).unwrap();
        as_owner(&data);
        let port = crate::free_port();
        let init = run_as_owner(
            &bin.join("initdb"),
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                USER,
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(init.status.success(), "initdb: {}", text(&init));
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
            path(&data)
        );
        let log = dir.path().join("server.log");
        std::fs::write(&log, "").unwrap();
        as_owner(&log);
        let started = run_as_owner(
            &bin.join("pg_ctl"),
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&log),
                "-w",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start: {}\n{}",
            text(&started),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Postgres { dir, port, bin }
    }

    /// The server's URL, without a database.
    pub fn server_url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        let name = format!("t{}", std::process::id() as u64 * 1_000_000 + next());
        create_database(&self.server_url(), &name)
    }

    /// Stops the server at once (as a crash would), for tests of an unreachable database.
    pub fn kill(&self) {
        run_as_owner(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                path(&self.dir.path().join("cluster")),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}

fn next() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Creates database `name` on the server at `server` unless it exists; its URL.
fn create_database(server: &str, name: &str) -> String {
    let out = psql(
        &format!("{server}/postgres"),
        &format!("CREATE DATABASE {name}"),
    );
    let said = text(&out);
    assert!(
        out.status.success() || said.contains("already exists"),
        "CREATE DATABASE {name}: {said}"
    );
    format!("{server}/{name}")
}

/// Runs one SQL command with `psql`; its output.
pub fn psql(url: &str, sql: &str) -> Output {
    Command::new(crate::tools::os_package("psql", &["postgresql-client"]))
        .args([url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("run psql")
}

/// With `CLICK_TEST_POSTGRES` set: the `[store]` section that puts the agent of `data_dir`
/// in a database of its own (the same one again when the test restarts that agent).
pub fn store_config(data_dir: &Path) -> Option<String> {
    let server = std::env::var("CLICK_TEST_POSTGRES").ok()?;
    let url = create_database(server.trim_end_matches('/'), &database_name(data_dir));
    Some(format!("\n[store]\nurl = \"{url}\"\n"))
}

/// What the agent of `data_dir` keeps in PostgreSQL, every value as text (bytes that are not
/// printable escaped), for tests that look for secrets at rest.
pub fn stored_values(data_dir: &Path) -> Option<Vec<u8>> {
    let server = std::env::var("CLICK_TEST_POSTGRES").ok()?;
    let url = format!(
        "{}/{}",
        server.trim_end_matches('/'),
        database_name(data_dir)
    );
    let out = psql(
        &url,
        "SELECT encode(k, 'escape'), encode(v, 'escape') FROM click_kv",
    );
    assert!(out.status.success(), "{}", text(&out));
    Some(out.stdout)
}

fn database_name(data_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    format!("agent_{:016x}", h.finish())
}

/// The newest installed server's programs (Debian keeps them out of PATH); installs Debian's
/// `postgresql` first if it is missing (as root; otherwise the test says what to run).
fn server_bin_dir() -> PathBuf {
    crate::tools::os_package("pg_ctlcluster", &["postgresql"]);
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (Debian's postgresql; .ci/run installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL server in /usr/lib/postgresql")
}

fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
fn as_owner(p: &Path) {
    if root() {
        let status = Command::new("chown")
            .args(["postgres:postgres", path(p)])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn run_as_owner(program: &Path, args: &[&str]) -> Output {
    let mut cmd = if root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .current_dir("/")
        .output()
        .expect("run a PostgreSQL program")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
