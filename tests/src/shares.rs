//! Real file servers for the SMB and NFS tests: Samba's `smbd` and NFS-Ganesha, the ones
//! Debian ships (`samba`, `nfs-ganesha`, `nfs-ganesha-vfs`), each in a network namespace of
//! its own that the host reaches over a veth pair. A namespace per server lets every server
//! listen on the standard ports (445, 2049) that clients assume, lets tests stop, restart or
//! freeze one server without touching the others, and keeps parallel tests (threads of one
//! test binary, and several binaries at once) apart. Needs root; nothing is kernel-mounted.
//!
//! Each server keeps its configuration, databases, pid file and log in a temporary folder of
//! its own, never in `/etc` or `/var/lib`, so servers side by side do not share state.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// ONC RPC program numbers of NFS and of its MOUNT protocol (v3 mounts use MOUNT).
pub const NFS_PROGRAM: u32 = 100_003;
pub const MOUNT_PROGRAM: u32 = 100_005;
/// The NFS server's ports: fixed, so that a v3 client needs no portmapper to find MOUNT.
pub const NFS_PORT: u16 = 2049;
pub const MOUNT_PORT: u16 = 20048;
/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ network namespaces

/// Where `ip netns` keeps its namespaces, and the prefix of ours there: `clk-<slot>-<pid>`.
const NETNS_DIR: &str = "/run/netns";
const PREFIX: &str = "clk-";
/// Held while a namespace picks its slot, by every test process of this machine.
const SLOT_LOCK: &str = "/run/clk-netns.lock";
/// Slots are /30 subnets of 10.201.0.0/16 (64 per third octet).
const SLOTS: u32 = 64 * 256;

/// A network namespace with a veth pair to the host (the namespace in which the test runs):
/// slot `s` is the subnet 10.201.(s / 64).(s % 64 * 4)/30, the host side (`clk<s>`) at `.1`
/// of it, the namespace side (`eth0`) at `.2`. The namespace is named `clk-<s>-<pid>` after
/// the test process, so a later run tells leftovers of a crashed one (whose process is gone)
/// from live ones, and clears them. Dropped, it kills whatever still runs in it and is
/// deleted, with its veth pair.
pub struct Netns {
    name: String,
    slot: u32,
}

impl Netns {
    pub fn create() -> Netns {
        let slot = claim_slot();
        let netns = Netns {
            name: netns_name(slot),
            slot,
        };
        // Claimed: the name is ours from here; a failure below still deletes it on drop.
        let veth = netns.veth();
        let _ = Command::new("ip")
            .args(["link", "del", &veth])
            .stderr(Stdio::null())
            .status();
        let (host, peer) = (
            format!("{}/30", netns.host_addr()),
            format!("{}/30", netns.addr()),
        );
        let name = netns.name.as_str();
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", name,
        ]);
        ip(&["addr", "add", &host, "dev", &veth]);
        ip(&["link", "set", &veth, "up"]);
        ip(&["-n", name, "addr", "add", &peer, "dev", "eth0"]);
        ip(&["-n", name, "link", "set", "eth0", "up"]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
        netns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's end of the veth pair.
    pub fn host_addr(&self) -> Ipv4Addr {
        self.subnet_addr(1)
    }

    /// The namespace's end: where its servers listen.
    pub fn addr(&self) -> Ipv4Addr {
        self.subnet_addr(2)
    }

    fn subnet_addr(&self, host: u32) -> Ipv4Addr {
        let [_, _, c, d] = (self.slot * 4 + host).to_be_bytes();
        Ipv4Addr::new(10, 201, c, d)
    }

    fn veth(&self) -> String {
        format!("clk{}", self.slot)
    }

    /// `program` run inside the namespace, as the leader of a new process group (so that it
    /// and everything it forks can be signalled at once).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program])
            .process_group(0)
            .stdin(Stdio::null());
        cmd
    }

    /// The processes running in the namespace.
    pub fn pids(&self) -> Vec<u32> {
        netns_pids(&self.name)
    }

    /// Kills every process in the namespace and waits until they are gone (their sockets
    /// closed), so that a server can start again on the same ports.
    pub fn kill_all(&self) {
        kill_netns_processes(&self.name);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        kill_netns_processes(&self.name);
        // Deleting the namespace destroys the veth pair, the host's end with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Picks the lowest slot no live namespace of ours uses, clearing those whose test process
/// is gone on the way, and creates its namespace: under a lock shared by all test processes,
/// so that two never pick the same slot.
fn claim_slot() -> u32 {
    let lock = File::create(SLOT_LOCK).unwrap_or_else(|e| {
        panic!("{SLOT_LOCK}: {e} (the SMB and NFS servers need root, for network namespaces)")
    });
    lock.lock().expect("lock the namespace slots");
    let mut used = HashSet::new();
    for entry in std::fs::read_dir(NETNS_DIR).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((slot, pid)) = parse_netns_name(&name) else {
            continue;
        };
        if Path::new("/proc").join(pid.to_string()).exists() {
            used.insert(slot);
        } else {
            kill_netns_processes(&name);
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
    let slot = (0..SLOTS)
        .find(|s| !used.contains(s))
        .expect("a free namespace slot");
    ip(&["netns", "add", &netns_name(slot)]);
    slot
}

/// The name of this process's namespace in `slot`.
fn netns_name(slot: u32) -> String {
    format!("{PREFIX}{slot}-{}", std::process::id())
}

/// `clk-<slot>-<pid>` as (slot, pid).
fn parse_netns_name(name: &str) -> Option<(u32, u32)> {
    let (slot, pid) = name.strip_prefix(PREFIX)?.split_once('-')?;
    Some((slot.parse().ok()?, pid.parse().ok()?))
}

fn netns_pids(name: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn kill_netns_processes(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = netns_pids(name);
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        kill("KILL", &pids.iter().map(u32::to_string).collect::<Vec<_>>());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `kill -s <signal> -- <targets>`: pids, or `-<pgid>` for a process group. Targets already
/// gone are no error.
fn kill(signal: &str, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-s", signal, "--"])
        .args(targets)
        .stderr(Stdio::null())
        .status();
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2) is installed");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------ a server in a namespace

/// A server process in its own namespace, started again on demand with the same command.
/// [`SambaServer`] and [`NfsServer`] are one each (they dereference to it).
pub struct Daemon {
    what: &'static str,
    /// The program and its arguments, run inside the namespace.
    argv: Vec<String>,
    /// Where its output goes (appended to, across restarts).
    output: PathBuf,
    /// Files shown when it fails to start: its output and its log.
    logs: Vec<PathBuf>,
    /// True once it serves.
    ready: fn(Ipv4Addr) -> bool,
    child: Option<Child>,
    netns: Netns,
    /// Its configuration and state; removed last, after the processes are dead.
    _state: tempfile::TempDir,
}

impl Daemon {
    fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.what);
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output)
            .expect("the server's output file");
        let child = self
            .netns
            .command(&self.argv[0])
            .args(&self.argv[1..])
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.what));
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until the server answers, failing the test with its logs when it exits or does
    /// not answer in time.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = self.netns.addr();
        loop {
            if (self.ready)(addr) {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let why = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => format!("does not answer after {START_TIMEOUT:?}"),
                };
                panic!("{} at {addr} {why}\n{}", self.what, self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's output and log so far.
    pub fn log(&self) -> String {
        self.logs
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_else(|e| e.to_string());
                format!("--- {} ---\n{text}", p.display())
            })
            .collect()
    }

    /// Kills the server's process group and anything else left in its namespace; the address
    /// stays up, so clients are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.signal("KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
        self.netns.kill_all();
    }

    /// Stops every process of the server, and waits until every thread of them has stopped:
    /// `kill` returns once the signal is queued, and the threads of a busy machine stop only
    /// when scheduled, answering calls meanwhile. Connections are then accepted by the kernel
    /// but never answered, as a hung server's.
    pub fn freeze(&self) {
        self.signal("STOP");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.netns.pids().into_iter().all(all_threads_stopped) {
            assert!(Instant::now() < deadline, "{} does not stop", self.what);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Lets a [`freeze`](Daemon::freeze)d server run again.
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    /// Starts the server again, with the same configuration and address.
    pub fn restart(&mut self) {
        self.stop();
        self.start();
    }

    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// Signals the server's process group and every process in its namespace.
    fn signal(&self, signal: &str) {
        let mut targets: Vec<String> = self.netns.pids().iter().map(u32::to_string).collect();
        if let Some(child) = &self.child {
            targets.push(format!("-{}", child.id()));
        }
        kill(signal, &targets);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether every thread of `pid` is stopped (or gone): the state in `/proc/<pid>/task/*/stat`,
/// after the command name in parentheses.
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        state.is_none_or(|s| s.starts_with(['T', 't', 'Z', 'X']))
    })
}

/// Whether a TCP port accepts a connection (within half a second).
fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn create_dirs(root: &Path, names: &[&str]) {
    for name in names {
        std::fs::create_dir_all(root.join(name)).unwrap();
    }
}

// ------------------------------------------------------------------ Samba

/// Samba's `smbd` serving one folder to one user over SMB 2.1 to 3.1.1 (`server min protocol
/// = SMB2_10`: no SMB1), on port 445 of its namespace; no NetBIOS.
pub struct SambaServer {
    daemon: Daemon,
    share_name: String,
}

impl SambaServer {
    /// Serves `dir` as share `share_name` to `user` with `password`. The user lives only in
    /// the server's own passdb; its `username map` maps it to root, so no system account is
    /// made and what clients write is root's, which the tests can read and change. There is no
    /// guest (`map to guest = never`), so a wrong password fails to sign in, and an anonymous
    /// session may not open the share.
    pub fn start(dir: &Path, share_name: &str, user: &str, password: &str) -> SambaServer {
        let netns = Netns::create();
        let state = tempfile::tempdir().expect("temp dir");
        let s = state.path();
        let dirs = [
            "private", "lock", "state", "cache", "run", "ncalrpc", "bind-dns",
        ];
        create_dirs(s, &dirs);
        let conf = s.join("smb.conf");
        write(&s.join("users.map"), &format!("root = {user}\n"));
        write(&conf, &smb_conf(s, netns.addr(), dir, share_name));
        add_smb_user(&conf, password);
        let mut server = SambaServer {
            daemon: Daemon {
                what: "smbd",
                argv: [
                    "smbd",
                    "--foreground",
                    "--no-process-group",
                    "--debug-stdout",
                    "-s",
                    &conf.display().to_string(),
                ]
                .map(String::from)
                .into(),
                output: s.join("smbd.log"),
                logs: vec![s.join("smbd.log")],
                ready: |addr| accepts(SocketAddr::from((addr, 445))),
                child: None,
                netns,
                _state: state,
            },
            share_name: share_name.to_string(),
        };
        server.daemon.start();
        server
    }

    /// The server's address as seen from the host (port 445).
    pub fn host(&self) -> String {
        self.daemon.netns.addr().to_string()
    }

    /// `\\host\share`, as the API takes it.
    pub fn unc(&self) -> String {
        format!(r"\\{}\{}", self.host(), self.share_name)
    }
}

impl std::ops::Deref for SambaServer {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl std::ops::DerefMut for SambaServer {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

/// A configuration whose every database and socket is under `state`.
fn smb_conf(state: &Path, addr: Ipv4Addr, dir: &Path, share_name: &str) -> String {
    let s = state.display();
    format!(
        "[global]
  server role = standalone server
  security = user
  map to guest = never
  restrict anonymous = 2
  server min protocol = SMB2_10
  interfaces = {addr}/30
  bind interfaces only = yes
  smb ports = 445
  disable netbios = yes
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  username map = {s}/users.map
  passdb backend = tdbsam:{s}/private/passdb.tdb
  private dir = {s}/private
  lock directory = {s}/lock
  state directory = {s}/state
  cache directory = {s}/cache
  pid directory = {s}/run
  ncalrpc dir = {s}/ncalrpc
  binddns dir = {s}/bind-dns
  log level = 1
[{share_name}]
  path = {}
  read only = no
  guest ok = no
",
        dir.display()
    )
}

/// Gives root (whom the user maps to) `password` in the server's passdb.
fn add_smb_user(conf: &Path, password: &str) {
    let mut child = Command::new("smbpasswd")
        .arg("-c")
        .arg(conf)
        .args(["-a", "-s", "root"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smbpasswd (Debian's samba-common-bin) is installed");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n{password}\n").as_bytes())
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "smbpasswd -a: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------ NFS-Ganesha

/// NFS-Ganesha (FSAL VFS) exporting one folder over TCP, NFSv3 (MOUNT on [`MOUNT_PORT`])
/// and NFSv4.0 and 4.1 on [`NFS_PORT`], read-write, root not squashed, AUTH_SYS. Ganesha
/// will not start without registering with a portmapper, so an `rpcbind` runs beside it
/// (port 111), with a private `/run` so that it is not the host's; clients may ignore it, the
/// ports are fixed. No grace period (`Graceless`), so clients may open files at once.
pub struct NfsServer {
    daemon: Daemon,
    export: String,
}

/// Runs inside the namespace: gives rpcbind and Ganesha a `/run` of their own (`$1`, emptied
/// first: rpcbind's socket of an earlier start must not pass for the new one's), starts
/// rpcbind, and replaces itself with Ganesha once rpcbind listens.
const NFS_SCRIPT: &str = r#"set -e
rm -rf "$1" && mkdir -p "$1/rpcbind" && mount --bind "$1" /run
rpcbind -f &
i=0
while [ ! -S /run/rpcbind.sock ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
exec ganesha.nfsd -F -f "$2" -L "$3" -p "$4" -N NIV_EVENT"#;

impl NfsServer {
    /// Exports `dir` at the pseudo path `export` (like "/export"), which v3 mounts use too.
    pub fn start(dir: &Path, export: &str) -> NfsServer {
        let netns = Netns::create();
        let state = tempfile::tempdir().expect("temp dir");
        let s = state.path();
        create_dirs(s, &["recovery"]);
        let conf = s.join("ganesha.conf");
        write(&conf, &ganesha_conf(s, netns.addr(), dir, export));
        let argv = [
            "sh",
            "-c",
            NFS_SCRIPT,
            "sh",
            &s.join("run").display().to_string(),
            &conf.display().to_string(),
            &s.join("ganesha.log").display().to_string(),
            &s.join("ganesha.pid").display().to_string(),
        ]
        .map(String::from)
        .into();
        let mut server = NfsServer {
            daemon: Daemon {
                what: "ganesha.nfsd",
                argv,
                output: s.join("output.log"),
                logs: vec![s.join("output.log"), s.join("ganesha.log")],
                ready: |addr| {
                    rpc_null((addr, NFS_PORT), NFS_PROGRAM, 3)
                        && rpc_null((addr, MOUNT_PORT), MOUNT_PROGRAM, 3)
                },
                child: None,
                netns,
                _state: state,
            },
            export: export.to_string(),
        };
        server.daemon.start();
        server
    }

    /// The server's address as seen from the host.
    pub fn host(&self) -> String {
        self.daemon.netns.addr().to_string()
    }

    /// `host:/export`, as the API's `nfsShare` takes it.
    pub fn share(&self) -> String {
        format!("{}:{}", self.host(), self.export)
    }

    /// The port of MOUNT (v3), fixed so that no portmapper is needed.
    pub fn mount_port(&self) -> u16 {
        MOUNT_PORT
    }
}

impl std::ops::Deref for NfsServer {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl std::ops::DerefMut for NfsServer {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

/// Ganesha's configuration: fixed ports, no NLM, RQUOTA or UDP, numeric owners (no ID
/// mapping), and its recovery state in `state` instead of `/var/lib/nfs/ganesha`.
fn ganesha_conf(state: &Path, addr: Ipv4Addr, dir: &Path, export: &str) -> String {
    format!(
        "NFS_CORE_PARAM {{
  Protocols = 3, 4;
  NFS_Port = {NFS_PORT};
  MNT_Port = {MOUNT_PORT};
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
  Mount_Path_Pseudo = true;
  Bind_Addr = {addr};
}}
NFSv4 {{
  Graceless = true;
  Minor_Versions = 0, 1;
  RecoveryBackend = fs;
  RecoveryRoot = {};
  Allow_Numeric_Owners = true;
  Only_Numeric_Owners = true;
}}
NFS_KRB5 {{
  Active_krb5 = false;
}}
EXPORT {{
  Export_Id = 1;
  Path = {};
  Pseudo = {export};
  Protocols = 3, 4;
  Transports = TCP;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  FSAL {{
    Name = VFS;
  }}
}}
",
        state.join("recovery").display(),
        dir.display()
    )
}

// ------------------------------------------------------------------ ONC RPC over TCP

/// Whether the server at `addr` accepts a NULL call (procedure 0, AUTH_NONE) of program
/// `prog` version `vers`: the one call every RPC service answers, a "ping". False when the
/// connection fails, nothing comes back within 2 s, or the call is refused (program or
/// version unavailable, say).
pub fn rpc_null(addr: impl ToSocketAddrs, prog: u32, vers: u32) -> bool {
    rpc_call(addr, prog, vers, 0, &AUTH_NONE, &[]).is_some()
}

/// The file handle of `path` (like "/export") from MOUNT v3's MNT, called as root (AUTH_SYS
/// uid 0), or None if the server refuses it.
pub fn mount_v3(addr: impl ToSocketAddrs, path: &str) -> Option<Vec<u8>> {
    let mut args = Vec::new();
    put_opaque(&mut args, path.as_bytes());
    let reply = rpc_call(addr, MOUNT_PROGRAM, 3, 1, &auth_sys_root(), &args)?;
    let mut r = Xdr(&reply);
    if r.u32()? != 0 {
        return None;
    }
    r.opaque().map(<[u8]>::to_vec)
}

/// An empty credential: flavor AUTH_NONE, no body.
const AUTH_NONE: [u8; 8] = [0; 8];

/// AUTH_SYS as root: stamp, machine name, uid 0, gid 0, no other groups.
fn auth_sys_root() -> Vec<u8> {
    let mut body = Vec::new();
    put_u32(&mut body, 0);
    put_opaque(&mut body, b"click-tests");
    for v in [0, 0, 0] {
        put_u32(&mut body, v);
    }
    let mut cred = Vec::new();
    put_u32(&mut cred, 1);
    put_opaque(&mut cred, &body);
    cred
}

/// Calls procedure `proc` of `prog`/`vers` with credential `cred` and XDR-encoded `args`
/// over one TCP connection; the results of an accepted, successful reply.
fn rpc_call(
    addr: impl ToSocketAddrs,
    prog: u32,
    vers: u32,
    proc: u32,
    cred: &[u8],
    args: &[u8],
) -> Option<Vec<u8>> {
    static XID: AtomicU32 = AtomicU32::new(1);
    let xid = XID.fetch_add(1, Ordering::Relaxed) ^ std::process::id().rotate_left(16);
    let mut msg = Vec::new();
    for v in [xid, 0, 2, prog, vers, proc] {
        put_u32(&mut msg, v);
    }
    msg.extend_from_slice(cred);
    msg.extend_from_slice(&AUTH_NONE); // the verifier
    msg.extend_from_slice(args);
    let addr = addr.to_socket_addrs().ok()?.next()?;
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    // Record marking: one fragment, the last.
    let mut record = (0x8000_0000 | msg.len() as u32).to_be_bytes().to_vec();
    record.extend_from_slice(&msg);
    stream.write_all(&record).ok()?;
    let reply = read_record(&mut stream)?;
    let mut r = Xdr(&reply);
    // xid, REPLY, MSG_ACCEPTED, the verifier, SUCCESS.
    let accepted = r.u32()? == xid && r.u32()? == 1 && r.u32()? == 0;
    let _verifier = (r.u32()?, r.opaque()?);
    (accepted && r.u32()? == 0).then(|| r.0.to_vec())
}

/// One record of record marking: its fragments, up to the last one.
fn read_record(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut record = Vec::new();
    loop {
        let mut head = [0; 4];
        stream.read_exact(&mut head).ok()?;
        let head = u32::from_be_bytes(head);
        let len = (head & 0x7fff_ffff) as usize;
        if record.len() + len > 1 << 20 {
            return None;
        }
        let start = record.len();
        record.resize(start + len, 0);
        stream.read_exact(&mut record[start..]).ok()?;
        if head & 0x8000_0000 != 0 {
            return Some(record);
        }
    }
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Variable-length opaque data (and strings): length, bytes, zeros to a multiple of 4.
fn put_opaque(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(buf, bytes.len() as u32);
    buf.extend_from_slice(bytes);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// Reads XDR from the front of a buffer.
struct Xdr<'a>(&'a [u8]);

impl<'a> Xdr<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn opaque(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        let padded = len.next_multiple_of(4);
        if self.0.len() < padded {
            return None;
        }
        let (bytes, rest) = self.0.split_at(padded);
        self.0 = rest;
        Some(&bytes[..len])
    }
}
