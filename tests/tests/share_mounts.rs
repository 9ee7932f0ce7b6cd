//! SMB / NFS Mounts (`management.md`) against real servers started by the tests, each in a
//! network namespace of its own: Debian's Samba (smbd) and nfs-ganesha (userspace NFS v3 and
//! v4). This machine's kernel has no cifs or nfs client, so the agent mounts them through its
//! FUSE layer over userspace clients; the tests read, write and list through the mount point.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use click_blackbox::mounts::{Unmount, is_mounted, names};
use click_blackbox::shares::{NfsServer, SambaServer};
use click_blackbox::{
    Account, Agent, DataDir, Options, Value, desktop_only, docs, json, transfer_roots, wait_until,
};

const USER: &str = "designer";
const PASSWORD: &str = "s3cret-Passw0rd";

/// A folder the shares' files live in on the server, and one the agent may mount under.
fn folders() -> (tempfile::TempDir, tempfile::TempDir) {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("brief.txt"), b"the design brief").unwrap();
    std::fs::create_dir(served.path().join("assets")).unwrap();
    std::fs::write(served.path().join("assets/logo.svg"), b"<svg/>").unwrap();
    (served, tempfile::tempdir().unwrap())
}

/// An agent whose mounts may go under `root`, with calls to servers bounded by 3 s and
/// shares whose server was down tried again every second.
fn agent_under(root: &Path) -> Agent {
    Agent::start_with(options_under(root))
}

fn options_under(root: &Path) -> Options {
    let mut o = transfer_roots(root, "");
    o.config
        .push_str("\n[shares]\ntimeout_secs = 3\nretry_secs = 1\n");
    o
}

/// The docs' "Insert SMB Client" example for `samba`, mounted at `at`.
fn smb_body(samba: &SambaServer, at: &Path) -> Value {
    let mut body = docs::example("management.md", "### Insert SMB Client");
    body["smbShare"] = json!(samba.unc());
    body["username"] = json!(USER);
    body["password"] = json!(PASSWORD);
    body["localPath"] = json!(at.to_str().unwrap());
    body
}

/// The docs' "Insert NFS Client" example for `nfs`, mounted at `at`.
fn nfs_body(nfs: &NfsServer, at: &Path, version: &str) -> Value {
    let mut body = docs::example("management.md", "### Insert NFS Client");
    body["nfsShare"] = json!(nfs.share());
    body["version"] = json!(version);
    body["localPath"] = json!(at.to_str().unwrap());
    body
}

/// What every mount must do: list, read, write new and old files, folders, renames, deletes.
fn files_round_trip(mount: &Path, served: &Path) {
    assert_eq!(names(mount), ["assets", "brief.txt"]);
    assert_eq!(names(&mount.join("assets")), ["logo.svg"]);
    assert_eq!(
        std::fs::read(mount.join("brief.txt")).unwrap(),
        b"the design brief"
    );

    // A new file, written in pieces larger than one request.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut f = std::fs::File::create(mount.join("render.bin")).unwrap();
    for chunk in big.chunks(700_000) {
        f.write_all(chunk).unwrap();
    }
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(std::fs::read(served.join("render.bin")).unwrap(), big);
    let mut back = Vec::new();
    std::fs::File::open(mount.join("render.bin"))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, big);

    // Overwrite (O_TRUNC) and append.
    std::fs::write(mount.join("brief.txt"), b"v2").unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(mount.join("brief.txt"))
        .unwrap();
    f.write_all(b" and more").unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(served.join("brief.txt")).unwrap(),
        b"v2 and more"
    );

    // Folders, renames, deletes.
    std::fs::create_dir(mount.join("drafts")).unwrap();
    std::fs::write(mount.join("drafts/a.txt"), b"a").unwrap();
    std::fs::rename(mount.join("drafts"), mount.join("final")).unwrap();
    assert_eq!(std::fs::read(served.join("final/a.txt")).unwrap(), b"a");
    assert_eq!(std::fs::read(mount.join("final/a.txt")).unwrap(), b"a");
    let e = std::fs::remove_dir(mount.join("final")).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(39), "ENOTEMPTY: {e}");
    std::fs::remove_file(mount.join("final/a.txt")).unwrap();
    std::fs::remove_dir(mount.join("final")).unwrap();
    assert!(!served.join("final").exists());
    std::fs::rename(mount.join("render.bin"), mount.join("assets/render.bin")).unwrap();
    assert!(served.join("assets/render.bin").exists());
    assert_eq!(
        std::fs::metadata(mount.join("assets/render.bin"))
            .unwrap()
            .len(),
        big.len() as u64
    );

    // What others put on the server shows through the mount.
    std::fs::write(served.join("from-server.txt"), b"hello").unwrap();
    wait_until("a file made on the server", Duration::from_secs(5), || {
        std::fs::read(mount.join("from-server.txt")).is_ok_and(|b| b == b"hello")
    });
    let e = std::fs::read(mount.join("missing.txt")).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);

    // The kernel lets go of its inodes (the agent drops them as they are forgotten): a file
    // held open reads on, and paths are looked up afresh.
    let mut open = std::fs::File::open(mount.join("assets/logo.svg")).unwrap();
    if std::fs::write("/proc/sys/vm/drop_caches", "2").is_err() {
        eprintln!("cannot drop the kernel's caches (not root): forgetting not exercised");
    }
    let mut logo = Vec::new();
    open.read_to_end(&mut logo).unwrap();
    assert_eq!(std::fs::read(mount.join("assets/logo.svg")).unwrap(), logo);
    assert_eq!(names(&mount.join("assets")), ["logo.svg", "render.bin"]);
}

#[test]
fn an_smb_share_mounts_and_carries_reads_and_writes() {
    if desktop_only("SMB mounts") {
        return;
    }
    let (served, root) = folders();
    let samba = SambaServer::start(served.path(), "design", USER, PASSWORD);
    let data = DataDir::new();
    let at = root.path().join("Design share");
    let _unmount = Unmount(at.clone());
    let agent = Agent::start_with(Options {
        data_dir: Some(data.path().to_path_buf()),
        ..options_under(root.path())
    });
    let a = Account::new(&agent, "owner@example.com");

    let s = a
        .post("/management/smbclient", smb_body(&samba, &at))
        .expect(200)
        .json();
    assert_eq!(s["name"], "Design share");
    assert_eq!(s["smbShare"], samba.unc());
    assert_eq!(s["version"], "3.0");
    assert_eq!(s["active"], true);
    assert_eq!(s["isAuthenticated"], true);
    assert_eq!(s["mountedBy"], "fuse");
    assert_eq!(s["username"], USER);
    assert_eq!(s["domain"], "WORKGROUP");
    assert!(s.get("password").is_none(), "{s}");
    assert!(is_mounted(&at));
    assert!(
        agent.log().contains("FUSE"),
        "the log says how it was mounted"
    );

    files_round_trip(&at, served.path());

    let id = s["id"].as_str().unwrap().to_string();
    let all = a.get("/management/smbclient");
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(all[0]["isAuthenticated"], true);
    assert!(all[0].get("password").is_none());
    assert_eq!(a.get("/management/nfsclient"), json!([]));

    // The full model back without its password keeps the password; inactive unmounts.
    let mut model = all[0].clone();
    model["active"] = json!(false);
    let s = a
        .put(&format!("/management/smbclient/{id}"), model.clone())
        .expect(200)
        .json();
    assert_eq!(s["mountedBy"], Value::Null);
    assert!(!is_mounted(&at));
    model["active"] = json!(true);
    let s = a
        .put(&format!("/management/smbclient/{id}"), model)
        .expect(200)
        .json();
    assert_eq!(s["mountedBy"], "fuse");
    assert_eq!(std::fs::read(at.join("brief.txt")).unwrap(), b"v2 and more");

    // A restarted agent mounts it again.
    agent.terminate();
    assert!(!is_mounted(&at), "exit unmounts");
    let agent = Agent::start_with(Options {
        data_dir: Some(data.path().to_path_buf()),
        ..options_under(root.path())
    });
    wait_until("the mount at start", Duration::from_secs(20), || {
        is_mounted(&at)
    });
    assert_eq!(std::fs::read(at.join("brief.txt")).unwrap(), b"v2 and more");
    let a = Account {
        agent: &agent,
        token: click_blackbox::login(&agent, "owner@example.com", click_blackbox::PASSWORD),
    };
    a.delete(&format!("/management/smbclient/{id}")).expect(200);
    assert!(!is_mounted(&at));
    assert_eq!(a.get("/management/smbclient"), json!([]));
    assert!(
        served.path().join("brief.txt").exists(),
        "deleting leaves the files"
    );
}

#[test]
fn smb_errors_are_clear_and_change_nothing() {
    if desktop_only("SMB mounts") {
        return;
    }
    let (served, root) = folders();
    let mut samba = SambaServer::start(served.path(), "design", USER, PASSWORD);
    let at = root.path().join("share");
    let _unmount = Unmount(at.clone());
    let agent = agent_under(root.path());
    let a = Account::new(&agent, "owner@example.com");
    let refused = |body: Value, code: &str, says: &str| {
        let why = a.post("/management/smbclient", body).expect_error(code);
        assert!(why.contains(says), "{code}: {why}");
        assert!(!is_mounted(&at));
        assert_eq!(a.get("/management/smbclient"), json!([]), "nothing stored");
    };

    let mut body = smb_body(&samba, &at);
    body["password"] = json!("wrong");
    refused(body, "AUTH", "refused the sign-in");
    let mut body = smb_body(&samba, &at);
    body["smbShare"] = json!(format!("\\\\{}\\nosuchshare", samba.host()));
    refused(body, "NOT_FOUND", "no such share");
    let mut body = smb_body(&samba, &at);
    body["version"] = json!("1.0");
    refused(body, "DEFAULT", "insecure");
    let mut body = smb_body(&samba, &at);
    body["smbShare"] = json!("server-without-slashes");
    refused(body, "DEFAULT", "smbShare");
    let mut body = smb_body(&samba, &at);
    body["localPath"] = json!("/etc/click-share");
    refused(body, "SECURITY", "localPath");
    let full = root.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("mine.txt"), b"mine").unwrap();
    let why = a
        .post("/management/smbclient", smb_body(&samba, &full))
        .expect_error("DEFAULT");
    assert!(why.contains("would hide"), "{why}");
    assert_eq!(std::fs::read(full.join("mine.txt")).unwrap(), b"mine");
    samba.stop();
    refused(smb_body(&samba, &at), "DEFAULT", "cannot be reached");
    samba.restart();

    // Accounts see only their own shares; members cannot change the owner's.
    let s = a
        .post("/management/smbclient", smb_body(&samba, &at))
        .expect(200)
        .json();
    let id = s["id"].as_str().unwrap();
    let other = Account::new(&agent, "other@example.com");
    assert_eq!(other.get("/management/smbclient"), json!([]));
    other
        .put(
            &format!("/management/smbclient/{id}"),
            json!({"active": false}),
        )
        .expect_error("NOT_FOUND");
    other
        .delete(&format!("/management/smbclient/{id}"))
        .expect_error("NOT_FOUND");
    let (_, member) = a.user("member@example.com", 64);
    agent
        .call("DELETE", &format!("/management/smbclient/{id}"))
        .token(&member)
        .send()
        .expect_error("ACCESS");
    // NFS routes do not reach SMB shares.
    a.delete(&format!("/management/nfsclient/{id}"))
        .expect_error("NOT_FOUND");

    // A name is unique; a second mount at the same folder is refused.
    let mut twin = smb_body(&samba, &root.path().join("elsewhere"));
    twin["name"] = json!("design share");
    a.post("/management/smbclient", twin)
        .expect_error("DUPLICATE");
    let mut same_place = smb_body(&samba, &at);
    same_place["name"] = json!("Another");
    a.post("/management/smbclient", same_place)
        .expect_error("DUPLICATE");

    // An update that cannot sign in leaves the working mount as it was.
    let id = id.to_string();
    a.put(
        &format!("/management/smbclient/{id}"),
        json!({"password": "wrong"}),
    )
    .expect_error("AUTH");
    assert!(is_mounted(&at));
    assert_eq!(
        std::fs::read(at.join("brief.txt")).unwrap(),
        b"the design brief"
    );
    a.delete(&format!("/management/smbclient/{id}")).expect(200);
}

#[test]
fn a_server_that_stops_fails_calls_in_time_and_comes_back() {
    if desktop_only("SMB mounts") {
        return;
    }
    let (served, root) = folders();
    let big: Vec<u8> = (0..8_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(served.path().join("video.bin"), &big).unwrap();
    let mut samba = SambaServer::start(served.path(), "design", USER, PASSWORD);
    let at = root.path().join("share");
    let _unmount = Unmount(at.clone());
    let agent = agent_under(root.path());
    let a = Account::new(&agent, "owner@example.com");
    let s = a
        .post("/management/smbclient", smb_body(&samba, &at))
        .expect(200)
        .json();

    // Stopped mid-read: the read fails with an error, it does not hang.
    let mut f = std::fs::File::open(at.join("video.bin")).unwrap();
    let mut head = vec![0u8; 1 << 20];
    f.read_exact(&mut head).unwrap();
    assert_eq!(head, big[..1 << 20]);
    samba.stop();
    let started = Instant::now();
    let mut rest = Vec::new();
    let e = f.read_to_end(&mut rest).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(e.raw_os_error(), Some(5 | 110)),
        "EIO or ETIMEDOUT: {e}"
    );
    drop(f);
    let shown = a.get("/management/smbclient");
    assert_eq!(shown[0]["isAuthenticated"], false, "{shown}");
    assert!(shown[0]["mountError"].is_string(), "{shown}");

    // Frozen (answers nothing): a call gives up after the timeout.
    samba.restart();
    wait_until(
        "the mount after the restart",
        Duration::from_secs(20),
        || std::fs::read(at.join("brief.txt")).is_ok(),
    );
    assert_eq!(a.get("/management/smbclient")[0]["isAuthenticated"], true);
    samba.freeze();
    let started = Instant::now();
    let e = std::fs::read(at.join("assets/logo.svg")).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(e.raw_os_error(), Some(5 | 110)),
        "EIO or ETIMEDOUT: {e}"
    );
    samba.thaw();
    let id = s["id"].as_str().unwrap();
    a.delete(&format!("/management/smbclient/{id}")).expect(200);
}

#[test]
fn an_nfs_export_mounts_over_v4_and_v3() {
    if desktop_only("NFS mounts") {
        return;
    }
    let (served, root) = folders();
    let nfs = NfsServer::start(served.path(), "/media");
    let agent = agent_under(root.path());
    let a = Account::new(&agent, "owner@example.com");

    let at = root.path().join("media");
    let _unmount = Unmount(at.clone());
    let s = a
        .post("/management/nfsclient", nfs_body(&nfs, &at, "4"))
        .expect(200)
        .json();
    assert_eq!(s["name"], "Media NAS");
    assert_eq!(s["nfsShare"], nfs.share());
    assert_eq!(s["version"], "4");
    assert_eq!(s["active"], true);
    assert_eq!(s["mountedBy"], "fuse");
    assert!(s.get("smbShare").is_none() && s.get("isAuthenticated").is_none());
    files_round_trip(&at, served.path());

    // The same export over NFSv3 at a second folder sees the same files.
    let at3 = root.path().join("media-v3");
    let _unmount3 = Unmount(at3.clone());
    let mut body = nfs_body(&nfs, &at3, "3");
    body["name"] = json!("Media NAS v3");
    let s3 = a.post("/management/nfsclient", body).expect(200).json();
    assert_eq!(
        std::fs::read(at3.join("brief.txt")).unwrap(),
        b"v2 and more"
    );
    std::fs::write(at3.join("v3.txt"), b"three").unwrap();
    assert_eq!(
        std::fs::read(served.path().join("v3.txt")).unwrap(),
        b"three"
    );
    assert_eq!(a.get("/management/nfsclient").as_array().unwrap().len(), 2);

    // Errors: a missing export, an unreachable server; nothing stored.
    let mut body = nfs_body(&nfs, &root.path().join("x"), "4");
    body["name"] = json!("Missing");
    body["nfsShare"] = json!(format!("{}:/nothing-here", nfs.host()));
    a.post("/management/nfsclient", body)
        .expect_error("NOT_FOUND");
    let mut body = nfs_body(&nfs, &root.path().join("y"), "4");
    body["name"] = json!("Nowhere");
    body["nfsShare"] = json!("127.0.0.1:/media");
    let why = a
        .post("/management/nfsclient", body)
        .expect_error("DEFAULT");
    assert!(why.contains("cannot be reached"), "{why}");
    assert_eq!(a.get("/management/nfsclient").as_array().unwrap().len(), 2);

    for s in [&s, &s3] {
        let id = s["id"].as_str().unwrap();
        a.delete(&format!("/management/nfsclient/{id}")).expect(200);
    }
    assert!(!is_mounted(&at) && !is_mounted(&at3));
}

#[test]
fn a_share_whose_server_is_down_at_start_is_mounted_once_it_is_up() {
    if desktop_only("SMB mounts") {
        return;
    }
    let (served, root) = folders();
    let mut samba = SambaServer::start(served.path(), "design", USER, PASSWORD);
    let data = DataDir::new();
    let at = root.path().join("share");
    let _unmount = Unmount(at.clone());
    let options = || Options {
        data_dir: Some(data.path().to_path_buf()),
        ..options_under(root.path())
    };
    let agent = Agent::start_with(options());
    let a = Account::new(&agent, "owner@example.com");
    a.post("/management/smbclient", smb_body(&samba, &at))
        .expect(200);
    agent.terminate();

    samba.stop();
    let agent = Agent::start_with(options());
    let a = Account {
        agent: &agent,
        token: click_blackbox::login(&agent, "owner@example.com", click_blackbox::PASSWORD),
    };
    wait_until("the failed mount shown", Duration::from_secs(10), || {
        a.get("/management/smbclient")[0]["mountError"].is_string()
    });
    let shown = a.get("/management/smbclient");
    assert_eq!(shown[0]["isAuthenticated"], false, "{shown}");
    assert_eq!(shown[0]["mountedBy"], Value::Null, "{shown}");
    assert!(!is_mounted(&at));

    samba.restart();
    wait_until(
        "the mount once the server is up",
        Duration::from_secs(15),
        || is_mounted(&at),
    );
    assert_eq!(
        std::fs::read(at.join("brief.txt")).unwrap(),
        b"the design brief"
    );
    let shown = a.get("/management/smbclient");
    assert_eq!(shown[0]["isAuthenticated"], true, "{shown}");
    assert_eq!(shown[0]["mountError"], Value::Null, "{shown}");
}
