//! A real S3 server for cloud tests: `s3s-fs` (installed on first use, see [`crate::tools`])
//! serving a temporary folder on a free loopback port.
//! A bucket is a folder under its root and an object a file, so tests can arrange and check
//! the server's contents directly on disk.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Resp, Value, json, raw_exchange};

pub const ACCESS_KEY: &str = "CLICKTESTACCESSKEY01";
pub const SECRET_KEY: &str = "click/test/secret+key/0123456789abcdefghij";

pub struct S3Server {
    child: Child,
    pub addr: SocketAddr,
    pub root: PathBuf,
    _tmp: tempfile::TempDir,
}

impl S3Server {
    pub fn start() -> S3Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("s3");
        std::fs::create_dir_all(&root).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        S3Server {
            child: spawn(addr, &root),
            addr,
            root,
            _tmp: tmp,
        }
    }

    /// Stops the server, as an outage would: calls fail until [`S3Server::resume`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port and folder.
    pub fn resume(&mut self) {
        self.child = spawn(self.addr, &self.root);
    }

    /// Freezes the server (SIGSTOP): requests in flight get no answer until
    /// [`S3Server::unpause`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn unpause(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal}");
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a bucket (a folder of the server's root).
    pub fn bucket(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes an object straight into the server's folder, as another client's write would
    /// leave it: what the server noted of an earlier version (its ETag) goes too.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.path(bucket, key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        let _ = std::fs::remove_file(self.noted(bucket, key));
    }

    /// Notes the ETag (MD5) of an object written straight into the folder, as the server
    /// does for what it receives: without it, s3s-fs hashes the whole object again for every
    /// read that names a version (`If-Match`), which makes ranged reads of a large one crawl.
    pub fn note_etag(&self, bucket: &str, key: &str) {
        use md5::{Digest, Md5};
        use std::io::Read;
        let mut file = std::fs::File::open(self.path(bucket, key)).unwrap();
        let (mut md5, mut buf) = (Md5::new(), vec![0u8; 1 << 20]);
        loop {
            let n = file.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
        }
        let hex: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let noted = serde_json::json!({ "e_tag": hex }).to_string();
        std::fs::write(self.noted(bucket, key), noted).unwrap();
    }

    /// Where s3s-fs keeps what it noted of an object.
    fn noted(&self, bucket: &str, key: &str) -> PathBuf {
        use base64::Engine;
        let name = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let file = format!(
            ".bucket-{}.object-{}.internal.json",
            name(bucket),
            name(key)
        );
        self.root.join(file)
    }

    pub fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// Parts of multipart uploads neither completed nor aborted (s3s-fs keeps each in a
    /// file of its root).
    pub fn pending_parts(&self) -> usize {
        std::fs::read_dir(&self.root).map_or(0, |entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".upload_id-"))
                .count()
        })
    }

    pub fn exists(&self, bucket: &str, key: &str) -> bool {
        Path::exists(&self.path(bucket, key))
    }

    /// The body of `/cloud/insert_account` for this server (an `S3Generic` account).
    pub fn account(&self, name: &str) -> Value {
        json!({
            "name": name,
            "cloudType": 8,
            "region": "us-east-1",
            "endpoint": self.endpoint(),
            "accessKey": ACCESS_KEY,
            "secretKey": SECRET_KEY,
            "serviceUrl": "",
            "shared": false
        })
    }
}

/// s3s-fs serving `root` on `addr`, once it accepts connections.
fn spawn(addr: SocketAddr, root: &Path) -> Child {
    // Before it listens: the first use installs it, which takes minutes.
    let bin = crate::tools::s3s_fs();
    let child = Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &addr.port().to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 exchange with an `http://host:port/path?query` URL, as any client
/// handed a presigned URL would make it.
pub fn fetch(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority.parse().expect("host:port");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    raw_exchange(addr, &bytes)
}
