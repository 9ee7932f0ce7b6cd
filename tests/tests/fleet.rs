//! A fleet: several agents serving one directory from one PostgreSQL database (`[store] url`)
//! with one set of key files (`[store] keys_dir`). Each test runs its own PostgreSQL cluster
//! (Debian's `postgresql`, tests/src/postgres.rs).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use click_blackbox::postgres::{Postgres, psql};
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Account, Agent, Options, PASSWORD, Value, desktop_only, docs, drive_insert_body,
    insert_cloud_account, json, login, member, pattern, signup_and_login, wait_until,
};

/// A PostgreSQL cluster and a folder of key files for a test's agents; `None` (the test is
/// skipped) where the agents tested are not the desktop agent.
struct Cluster {
    pg: Postgres,
    keys: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        if desktop_only("a fleet of agents on PostgreSQL") {
            return None;
        }
        Some(Cluster {
            pg: Postgres::start(),
            keys: tempfile::tempdir().unwrap(),
        })
    }

    /// `n` agents on a new database, sharing the key files, with `more` configuration
    /// (TOML). They start one after the other: the first creates the keys.
    fn fleet(&self, n: usize, more: &str) -> Vec<Agent> {
        let config = store_config(&self.pg.database(), self.keys.path()) + more;
        (0..n)
            .map(|_| {
                Agent::start_with(Options {
                    config: config.clone(),
                    ..Options::default()
                })
            })
            .collect()
    }
}

fn store_config(url: &str, keys: &Path) -> String {
    format!(
        "[store]\nurl = \"{url}\"\nkeys_dir = \"{}\"\n",
        keys.display()
    )
}

#[test]
fn a_user_made_on_one_agent_signs_in_on_the_other_at_once() {
    let Some(c) = Cluster::start() else { return };
    let agents = c.fleet(2, "");
    let (a, b) = (&agents[0], &agents[1]);
    let owner = signup_and_login(a, "owner@example.com");
    member(a, &owner, "m@example.com", 64);
    // No wait: the other agent reads the same rows.
    let token = click_blackbox::login_as(b, "m@example.com", PASSWORD, 64);
    let me = b
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(me.json()["username"], "m@example.com");
    // A session made on one agent is good on the other: same rows, same signing key.
    let users = b
        .get("/user/get_all_users")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(users["total"], 2, "{users}");
}

/// Polls `b` with `token` until it is refused; how long that took.
fn until_refused(b: &Agent, path: &str, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        let status = b.get(path).token(token).send().status;
        if status != 200 {
            assert!(matches!(status, 401 | 499), "{status}");
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still allowed after 5 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_right_taken_away_on_one_agent_is_refused_on_the_other_within_a_second() {
    let Some(c) = Cluster::start() else { return };
    let agents = c.fleet(2, "");
    let (a, b) = (&agents[0], &agents[1]);
    let owner = signup_and_login(a, "owner@example.com");
    let (admin_id, admin) = member(a, &owner, "admin@example.com", 16);
    // Warm the other agent's caches (one per thread) with the admin's session and user.
    for _ in 0..50 {
        b.get("/user/get_all_users")
            .token(&admin)
            .send()
            .expect(200);
    }
    a.put("/user/edit_user", json!({"id": admin_id, "userType": 64}))
        .token(&owner)
        .send()
        .expect(200);
    let took = until_refused(b, "/user/get_all_users", &admin);
    assert!(took < Duration::from_secs(1), "demotion took {took:?}");

    // A session ended on one agent ends on the other.
    let (_, user) = member(a, &owner, "u@example.com", 64);
    b.get("/authentication/user")
        .token(&user)
        .send()
        .expect(200);
    a.post("/authentication/logout", json!({"jwtToken": user}))
        .send()
        .expect(200);
    let took = until_refused(b, "/authentication/user", &user);
    assert!(took < Duration::from_secs(1), "logout took {took:?}");
}

#[test]
fn eight_writers_on_two_agents_racing_for_the_same_names_leave_no_duplicate() {
    let Some(c) = Cluster::start() else { return };
    let agents = c.fleet(2, "");
    let owner = signup_and_login(&agents[0], "owner@example.com");
    let names: Vec<String> = (0..10).map(|i| format!("team {i}")).collect();
    let created = click_blackbox::concurrently(8, |w| {
        let agent = &agents[w % 2];
        (names.iter())
            .map(|name| {
                let r = agent
                    .post("/usergroup/insert", json!({"name": name}))
                    .token(&owner)
                    .send();
                assert!(
                    matches!(r.status, 200 | 499),
                    "{}: {}\nagent log:\n{}",
                    r.status,
                    r.text(),
                    agent.log()
                );
                (r.status == 200) as usize
            })
            .collect::<Vec<_>>()
    });
    for (i, name) in names.iter().enumerate() {
        let winners: usize = created.iter().map(|w| w[i]).sum();
        assert_eq!(winners, 1, "{name} created {winners} times");
    }
    for agent in &agents {
        let page = agent
            .get("/usergroup/get_all?pagesize=50")
            .token(&owner)
            .send()
            .expect(200)
            .json();
        let mut listed: Vec<&str> = (page["data"].as_array().unwrap().iter())
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, names, "{page}");
        assert_eq!(page["total"], 10);
    }
}

/// Runs `click-agent serve` with `config` until it exits; its exit status and log.
fn start_failing(config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("click.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(click_blackbox::agent_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut log = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
            return (status.success(), log);
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("the agent kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_agent_with_other_keys_or_an_older_schema_is_refused_at_start() {
    let Some(c) = Cluster::start() else { return };
    let url = c.pg.database();
    let agent = Agent::start_with(Options {
        config: store_config(&url, c.keys.path()),
        ..Options::default()
    });
    let owner = signup_and_login(&agent, "owner@example.com");
    drop(agent);

    let other_keys = tempfile::tempdir().unwrap();
    let (ok, log) = start_failing(&store_config(&url, other_keys.path()));
    assert!(!ok && log.contains("other keys"), "{log}");

    let newer = psql(&url, "UPDATE click_schema SET version = version + 1");
    assert!(newer.status.success());
    let (ok, log) = start_failing(&store_config(&url, c.keys.path()));
    assert!(!ok && log.contains("newer click-agent"), "{log}");
    let back = psql(&url, "UPDATE click_schema SET version = version - 1");
    assert!(back.status.success());

    // Nothing was lost: the right agent starts and finds the account.
    let agent = Agent::start_with(Options {
        config: store_config(&url, c.keys.path()),
        ..Options::default()
    });
    let again = login(&agent, "owner@example.com", PASSWORD);
    agent
        .get("/authentication/user")
        .token(&again)
        .send()
        .expect(200);
    drop(owner);
}

#[test]
fn an_unreachable_database_is_a_clear_error_at_start_and_a_500_later_never_a_hang() {
    let Some(c) = Cluster::start() else { return };
    let unused = click_blackbox::free_port();
    let (ok, log) = start_failing(&store_config(
        &format!("postgres://click@127.0.0.1:{unused}/none"),
        c.keys.path(),
    ));
    assert!(
        !ok && log.contains("cannot reach PostgreSQL at 127.0.0.1"),
        "{log}"
    );

    let agents = c.fleet(1, "");
    let owner = signup_and_login(&agents[0], "owner@example.com");
    c.pg.kill();
    let started = Instant::now();
    let r = agents[0].get("/user/get_all_users").token(&owner).send();
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// The transfer `id` as `/transfer/get_all` lists it on `agent`.
fn transfer(agent: &Agent, token: &str, id: &str) -> Value {
    let page = agent
        .get("/transfer/get_all?page=1&pagesize=50&sortfield=RequestDate&descending=true&type=15")
        .token(token)
        .send()
        .expect(200)
        .json();
    (page["data"].as_array().unwrap().iter())
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("transfer {id} is not listed: {page}"))
}

/// Two agents of a fleet, two S3 servers, and a 48 MiB object being copied from one to the
/// other by a transfer queued on the first agent, caught in the middle: its source is frozen
/// (SIGSTOP) once parts have arrived.
struct CopyMidWay {
    agents: Vec<Agent>,
    src: S3Server,
    dst: S3Server,
    owner: String,
    id: String,
    content: Vec<u8>,
    _cluster: Cluster,
}

const MIB: usize = 1024 * 1024;

fn copy_mid_way() -> Option<CopyMidWay> {
    let cluster = Cluster::start()?;
    // One part at a time, so most of the object is still to come when the source freezes;
    // leases of 2 s, so a takeover comes soon after a kill.
    let more = "[transfers]\nconcurrent_chunks = 1\nprogress_interval_ms = 100\nlease_secs = 2\n";
    let agents = cluster.fleet(2, more);
    let a = &agents[0];
    let (src, dst) = (S3Server::start(), S3Server::start());
    src.bucket("media");
    dst.bucket("archive");
    let content = pattern(48 * MIB, 3);
    src.put("media", "big/takeover.bin", &content);
    let owner = signup_and_login(a, "owner@example.com");
    let from = insert_cloud_account(a, &owner, src.account("source"));
    let to = insert_cloud_account(a, &owner, dst.account("destination"));
    let mut body = docs::example("transfer.md", "### Request Body");
    for (field, value) in [
        ("sourceCloudAccountId", json!(from)),
        ("sourceBucket", json!("media")),
        ("sourcePath", json!("big/takeover.bin")),
        ("destinationCloudAccountId", json!(to)),
        ("destinationBucket", json!("archive")),
        ("destinationPath", json!("out/")),
    ] {
        assert!(body.get(field).is_some(), "{field} is documented");
        body[field] = value;
    }
    let queued = a.post("/transfer/transfer", body).token(&owner).send();
    let id = queued.expect(200).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    while dst.pending_parts() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no part arrived"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    src.pause();
    assert!(
        !dst.exists("archive", "out/takeover.bin"),
        "finished too soon"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !agents[1].log().contains("resuming transfer"),
        "the agent that queued it runs it"
    );
    Some(CopyMidWay {
        agents,
        src,
        dst,
        owner,
        id,
        content,
        _cluster: cluster,
    })
}

/// Polls the transfer on `agent` until its status is `status`.
fn wait_status(agent: &Agent, owner: &str, id: &str, status: u64) -> Value {
    let started = Instant::now();
    loop {
        let t = transfer(agent, owner, id);
        if t["transferStatus"] == status {
            return t;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{t}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_transfer_of_an_agent_killed_mid_way_is_finished_by_the_other() {
    let Some(c) = copy_mid_way() else { return };
    let (a, b) = (&c.agents[0], &c.agents[1]);
    a.kill();
    c.src.unpause();
    let t = wait_status(b, &c.owner, &c.id, 4);
    assert!(b.log().contains("resuming transfer"), "taken over: {t}");
    assert_eq!(t["transferredSize"], c.content.len() as u64, "{t}");
    let got = std::fs::read(c.dst.path("archive", "out/takeover.bin")).unwrap();
    assert!(
        got == c.content,
        "{} bytes arrived, or they differ",
        got.len()
    );
}

#[test]
fn a_cancel_through_one_agent_stops_the_job_running_on_the_other() {
    let Some(c) = copy_mid_way() else { return };
    let (a, b) = (&c.agents[0], &c.agents[1]);
    b.post("/transfer/cancel_transfer", json!({"id": c.id}))
        .token(&c.owner)
        .send()
        .expect(200);
    c.src.unpause();
    wait_status(b, &c.owner, &c.id, 8);
    // The agent running it aborts its multipart upload, and sends nothing more.
    let started = Instant::now();
    while c.dst.pending_parts() != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "parts left behind"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!c.dst.exists("archive", "out/takeover.bin"), "no object");
    assert_eq!(c.dst.pending_parts(), 0);
    assert!(!b.log().contains("resuming transfer"), "not taken over");
    assert_eq!(transfer(a, &c.owner, &c.id)["transferStatus"], 8);
}

#[test]
fn a_drive_runs_on_the_agent_that_made_it_and_follows_changes_made_through_another() {
    let Some(c) = Cluster::start() else { return };
    let agents = c.fleet(2, "");
    let (a, b) = (&agents[0], &agents[1]);
    let s3 = S3Server::start();
    s3.bucket("my-bucket");
    let owner = Account::new(a, "owner@example.com");
    let folder = a.data_dir.join("drives").join("team");
    let body = drive_insert_body(
        a,
        &owner.token,
        s3.account("s3"),
        json!({"driveType": 2, "localPath": folder.display().to_string(), "syncIntervalSeconds": 10}),
    );
    let drive = owner
        .post("/management/clouddrive", body)
        .expect(200)
        .json();
    let id = drive["id"].as_str().unwrap();
    wait_until("the drive's folder made", Duration::from_secs(10), || {
        folder.is_dir()
    });
    std::fs::write(folder.join("one.txt"), b"one").unwrap();
    wait_until("one.txt synced", Duration::from_secs(20), || {
        s3.exists("my-bucket", "one.txt")
    });
    assert!(
        a.log().contains("drive running"),
        "the agent that made it runs it"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(!b.log().contains("drive running"), "the other does not");

    // Turned off through the other agent: the one running it stops within seconds.
    let through_b = Account {
        agent: b,
        token: owner.token.clone(),
    };
    let mut off = drive.clone();
    off["active"] = json!(false);
    through_b
        .put(&format!("/management/clouddrive/{id}"), off)
        .expect(200);
    std::thread::sleep(Duration::from_secs(4));
    std::fs::write(folder.join("two.txt"), b"two").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(!s3.exists("my-bucket", "two.txt"), "stopped");

    // On again through the other agent: it runs again where its folder is.
    let mut on = drive.clone();
    on["active"] = json!(true);
    through_b
        .put(&format!("/management/clouddrive/{id}"), on)
        .expect(200);
    wait_until("two.txt synced", Duration::from_secs(20), || {
        s3.exists("my-bucket", "two.txt")
    });
    assert!(
        !b.log().contains("drive running"),
        "still only on the first agent"
    );
}

#[test]
fn a_single_agents_state_moves_into_postgres_with_copy_store() {
    let Some(c) = Cluster::start() else { return };
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    // On its redb file (an empty [store] keeps the PostgreSQL test run from adding one).
    let alone = Agent::start_with(Options {
        config: "[store]\nurl = \"\"\n".into(),
        data_dir: Some(data_dir.clone()),
        ..Options::default()
    });
    let owner = signup_and_login(&alone, "owner@example.com");
    member(&alone, &owner, "m@example.com", 64);
    alone
        .post("/usergroup/insert", json!({"name": "Team"}))
        .token(&owner)
        .send()
        .expect(200);
    drop(alone);

    let url = c.pg.database();
    let config = data.path().join("pg.toml");
    std::fs::write(&config, format!("[store]\nurl = \"{url}\"\n")).unwrap();
    let copy = || {
        Command::new(click_blackbox::agent_binary())
            .arg("copy-store")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let first = copy();
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success() && said.contains("rows into PostgreSQL"),
        "{said}"
    );
    let again = copy();
    assert!(
        !again.status.success(),
        "a database with rows is not copied into"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty one"));

    // The same agent on PostgreSQL: its users, groups and sessions are there.
    let moved = Agent::start_with(Options {
        config: format!("[store]\nurl = \"{url}\"\n"),
        data_dir: Some(data_dir.clone()),
        ..Options::default()
    });
    assert!(
        moved
            .log()
            .contains("state kept in the PostgreSQL database")
    );
    let token = click_blackbox::login_as(&moved, "m@example.com", PASSWORD, 64);
    moved
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    let groups = moved
        .get("/usergroup/get_all")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(groups["data"][0]["name"], "Team", "{groups}");
}
