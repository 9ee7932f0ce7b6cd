//! A real Azure Blob Storage emulator for cloud tests: Azurite (installed on first use, see
//! [`crate::tools`]), serving its well-known development account on a free loopback port, and
//! a minimal Shared Key client so that tests arrange and check blobs independently of the
//! agent.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Resp, Value, json, raw_exchange};

pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published development key.
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub struct Azurite {
    child: Child,
    pub addr: SocketAddr,
    _tmp: tempfile::TempDir,
}

impl Azurite {
    pub fn start() -> Azurite {
        // Before taking a port: the first use installs it, which takes minutes.
        let bin = crate::tools::azurite_blob();
        // The free port is only free when it is picked: a process started beside it may take
        // it first, and then Azurite exits (while the other answers the readiness check).
        for _ in 0..5 {
            let tmp = tempfile::tempdir().expect("temp dir");
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut child = Command::new(&bin)
                .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
                .arg("--location")
                .arg(tmp.path())
                .args(["--silent", "--skipApiVersionCheck", "--disableTelemetry"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start azurite-blob");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while TcpStream::connect(addr).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(200));
            if child.try_wait().ok().flatten().is_none() && TcpStream::connect(addr).is_ok() {
                return Azurite {
                    child,
                    addr,
                    _tmp: tmp,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("azurite did not start");
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/{ACCOUNT}", self.addr)
    }

    /// The body of `/cloud/insert_account` for the emulator (an `Azure` account).
    pub fn account(&self, name: &str) -> Value {
        json!({
            "name": name,
            "cloudType": 4,
            "endpoint": self.endpoint(),
            "accessKey": ACCOUNT,
            "secretKey": KEY,
            "shared": false
        })
    }

    /// One Shared Key request; `path` is below the account (`/container/blob`), already
    /// percent-encoded, and `query` sorted by name.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let date = httpdate();
        let mut ms: Vec<(String, String)> = vec![
            ("x-ms-date".into(), date),
            ("x-ms-version".into(), "2021-12-02".into()),
        ];
        ms.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ms.sort();
        let canonical: String = ms.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let mut resource = format!("/{ACCOUNT}/{ACCOUNT}{path}");
        for (k, v) in query {
            resource.push_str(&format!("\n{k}:{v}"));
        }
        let length = if body.is_empty() {
            String::new()
        } else {
            body.len().to_string()
        };
        let text = format!("{method}\n\n\n{length}\n\n\n\n\n\n\n\n\n{canonical}{resource}");
        let key = STANDARD.decode(KEY).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(text.as_bytes());
        let sig = STANDARD.encode(mac.finalize().into_bytes());
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let target = if q.is_empty() {
            format!("/{ACCOUNT}{path}")
        } else {
            format!("/{ACCOUNT}{path}?{}", q.join("&"))
        };
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in &ms {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Authorization: SharedKey {ACCOUNT}:{sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        raw_exchange(self.addr, &bytes)
    }

    pub fn create_container(&self, name: &str) {
        self.request(
            "PUT",
            &format!("/{name}"),
            &[("restype", "container")],
            &[],
            b"",
        )
        .expect(201);
    }

    pub fn put(&self, container: &str, blob: &str, bytes: &[u8]) {
        self.request(
            "PUT",
            &format!("/{container}/{blob}"),
            &[],
            &[("x-ms-blob-type", "BlockBlob")],
            bytes,
        )
        .expect(201);
    }

    /// The blob's `Content-MD5` property (base64), if it has one.
    pub fn content_md5(&self, container: &str, blob: &str) -> Option<String> {
        let r = self.request("HEAD", &format!("/{container}/{blob}"), &[], &[], b"");
        assert_eq!(r.status, 200, "HEAD {blob}");
        r.header("content-md5").map(String::from)
    }

    /// The blob's bytes, or `None` if it does not exist.
    pub fn get(&self, container: &str, blob: &str) -> Option<Vec<u8>> {
        let r = self.request("GET", &format!("/{container}/{blob}"), &[], &[], b"");
        match r.status {
            200 => Some(r.body),
            404 => None,
            s => panic!("GET {blob}: {s} {}", r.text()),
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn httpdate() -> String {
    let out = Command::new("date")
        .args(["-u", "+%a, %d %b %Y %H:%M:%S GMT"])
        .env("LC_ALL", "C")
        .output()
        .expect("date");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
