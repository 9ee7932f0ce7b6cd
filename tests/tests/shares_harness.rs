//! The file servers of the SMB and NFS tests (`click_blackbox::shares`) work: real Samba and
//! NFS-Ganesha, each in a network namespace of its own, checked with a client nobody here
//! wrote (`smbclient`) and with raw ONC RPC calls. Two of each kind run side by side; stopped,
//! a server refuses connections; frozen, it does not answer; restarted, it serves again;
//! dropped, its namespace is gone.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use click_blackbox::shares::{self, MOUNT_PROGRAM, NFS_PORT, NFS_PROGRAM, NfsServer, SambaServer};

const USER: &str = "clicktest";
const PASSWORD: &str = "s3cret pass";

/// `smbclient` on the server's share as `user%password`, SMB3, running `commands`.
fn smbclient(server: &SambaServer, credentials: &str, commands: &str) -> Output {
    smb_command(server, credentials, commands)
        .output()
        .expect("smbclient (Debian's) is installed")
}

fn smb_command(server: &SambaServer, credentials: &str, commands: &str) -> Command {
    let mut cmd = Command::new("smbclient");
    cmd.arg(server.unc().replace('\\', "/")).args([
        "-U",
        credentials,
        "-m",
        "SMB3",
        "-c",
        commands,
    ]);
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .is_err_and(|e| e.kind() == ErrorKind::ConnectionRefused)
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Lists and fetches `file.txt` (holding `content`), and writes a file the test can read.
fn smb_serves(server: &SambaServer, dir: &Path, content: &str) {
    let got = dir.with_extension("got");
    let up = dir.with_extension("up");
    std::fs::write(&up, "uploaded").unwrap();
    let commands = format!(
        "ls; get file.txt {}; put {} up.txt",
        got.display(),
        up.display()
    );
    let out = smbclient(server, &format!("{USER}%{PASSWORD}"), &commands);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("file.txt"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), content);
    let written = dir.join("up.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "uploaded");
    assert_eq!(std::fs::metadata(&written).unwrap().uid(), 0);
    std::fs::remove_file(written).unwrap();
}

#[test]
fn samba_serves_its_share_to_smbclient_and_stops_freezes_and_restarts() {
    // The servers do not depend on the agent under test: once, with the desktop run.
    if click_blackbox::desktop_only("the share servers' own checks") {
        return;
    }
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, d) in dirs.iter().enumerate() {
        std::fs::write(d.path().join("file.txt"), format!("share {i}")).unwrap();
    }
    // Two at once, as parallel tests start them.
    let mut servers: Vec<SambaServer> = std::thread::scope(|s| {
        let started: Vec<_> = dirs
            .iter()
            .map(|d| s.spawn(|| SambaServer::start(d.path(), "media", USER, PASSWORD)))
            .collect();
        started
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    assert_ne!(servers[0].host(), servers[1].host());
    for (i, server) in servers.iter().enumerate() {
        assert_eq!(server.unc(), format!(r"\\{}\media", server.host()));
        smb_serves(server, dirs[i].path(), &format!("share {i}"));
        let wrong = smbclient(server, &format!("{USER}%wrong"), "ls");
        assert!(!wrong.status.success(), "{}", text(&wrong));
        assert!(
            text(&wrong).contains("NT_STATUS_LOGON_FAILURE"),
            "{}",
            text(&wrong)
        );
        let anonymous = smbclient(server, "%", "ls");
        assert!(!anonymous.status.success(), "{}", text(&anonymous));
    }

    let port_445: SocketAddr = format!("{}:445", servers[0].host()).parse().unwrap();
    servers[0].stop();
    assert!(refused(port_445));
    smb_serves(&servers[1], dirs[1].path(), "share 1");
    servers[0].restart();
    smb_serves(&servers[0], dirs[0].path(), "share 0");

    // Frozen, the server leaves a client waiting (smbclient gives up only after 20 s);
    // thawed, it answers the client that waited.
    servers[1].freeze();
    let mut waiting = smb_command(&servers[1], &format!("{USER}%{PASSWORD}"), "ls")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let answered = waiting.try_wait().unwrap();
    servers[1].thaw();
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(answered, None, "a frozen server answered: {}", text(&out));
    assert!(out.status.success(), "{}", text(&out));
    smb_serves(&servers[1], dirs[1].path(), "share 1");

    let names: Vec<String> = servers.iter().map(|s| s.netns().name().into()).collect();
    assert!(names.iter().all(|n| netns_exists(n)));
    drop(servers);
    assert!(!names.iter().any(|n| netns_exists(n)), "{names:?}");
}

#[test]
fn ganesha_answers_nfs_and_mount_calls_and_stops_freezes_and_restarts() {
    // The servers do not depend on the agent under test: once, with the desktop run.
    if click_blackbox::desktop_only("the share servers' own checks") {
        return;
    }
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut servers: Vec<NfsServer> = std::thread::scope(|s| {
        let started: Vec<_> = dirs
            .iter()
            .map(|d| s.spawn(|| NfsServer::start(d.path(), "/export")))
            .collect();
        started
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    assert_ne!(servers[0].host(), servers[1].host());
    for server in &servers {
        let host = server.host();
        assert_eq!(server.share(), format!("{host}:/export"));
        let nfs = (host.as_str(), NFS_PORT);
        let mount = (host.as_str(), server.mount_port());
        assert!(shares::rpc_null(nfs, NFS_PROGRAM, 3), "{}", server.log());
        assert!(shares::rpc_null(nfs, NFS_PROGRAM, 4), "{}", server.log());
        assert!(!shares::rpc_null(nfs, NFS_PROGRAM, 2), "NFSv2 is off");
        assert!(shares::rpc_null(mount, MOUNT_PROGRAM, 3));
        // v3 mounts the share's path, the export's pseudo path.
        let share = server.share();
        let path = share.split_once(':').unwrap().1;
        let handle = shares::mount_v3(mount, path).expect("MNT /export");
        assert!(!handle.is_empty());
        assert_eq!(shares::mount_v3(mount, "/elsewhere"), None);
    }

    let nfs0: SocketAddr = format!("{}:{NFS_PORT}", servers[0].host()).parse().unwrap();
    servers[0].stop();
    assert!(refused(nfs0));
    assert!(!shares::rpc_null(nfs0, NFS_PROGRAM, 3));
    assert!(shares::rpc_null(
        (servers[1].host().as_str(), NFS_PORT),
        NFS_PROGRAM,
        3
    ));
    servers[0].restart();
    assert!(shares::rpc_null(nfs0, NFS_PROGRAM, 3));

    servers[0].freeze();
    assert!(
        !shares::rpc_null(nfs0, NFS_PROGRAM, 3),
        "a frozen server answered"
    );
    servers[0].thaw();
    assert!(shares::rpc_null(nfs0, NFS_PROGRAM, 3));

    let names: Vec<String> = servers.iter().map(|s| s.netns().name().into()).collect();
    drop(servers);
    assert!(!names.iter().any(|n| netns_exists(n)), "{names:?}");
}
