//! An agent serving its built-in storage (`[storage] listen`), its owner signed in, and the
//! clients nobody here wrote that reach it (`rclone`, Debian's).

use std::io::Read;
use std::process::{Command, Output, Stdio};

use crate::{Agent, Options, Value, docs, free_port, json, signup_and_login};

pub struct StorageAgent {
    pub agent: Agent,
    /// The owner's session token.
    pub token: String,
    /// The storage's S3 endpoint (`http://127.0.0.1:port`).
    pub endpoint: String,
    pub options: Options,
    /// A folder inside the agent's `[transfers] roots`.
    pub files: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

/// An access key and its secret.
pub type Key = (String, String);

impl StorageAgent {
    /// An agent whose `[storage]` section has `more` lines too.
    pub fn start(more: &str) -> StorageAgent {
        let tmp = tempfile::tempdir().unwrap();
        let files = tmp.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        let port = free_port();
        let options = Options {
            config: format!(
                "[storage]\nlisten = \"127.0.0.1:{port}\"\n{more}\n[transfers]\nroots = [\"{}\"]\n",
                files.display()
            ),
            data_dir: Some(tmp.path().join("data")),
            ..Options::default()
        };
        let agent = Agent::start_with(options.clone());
        let token = signup_and_login(&agent, "owner@example.com");
        StorageAgent {
            agent,
            token,
            endpoint: format!("http://127.0.0.1:{port}"),
            options,
            files,
            _tmp: tmp,
        }
    }

    /// Kills the agent (`kill -9`) and starts it again on the same data and ports.
    pub fn restart_after_kill(&mut self) {
        self.agent.kill();
        self.agent = Agent::start_with(self.options.clone());
    }

    /// `rclone` with remote `s3:` on the storage under `key` (access, secret).
    pub fn rclone(&self, key: (&str, &str), args: &[&str]) -> Output {
        self.rclone_command(key, args)
            .output()
            .expect("rclone (Debian's) is installed")
    }

    /// `rclone` as above, reading `input` on its standard input (`rcat`).
    pub fn rclone_fed(&self, key: (&str, &str), args: &[&str], mut input: impl Read) -> Output {
        let mut child = self
            .rclone_command(key, args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("rclone (Debian's) is installed");
        let mut stdin = child.stdin.take().unwrap();
        // A failed write means rclone stopped reading: its exit status and log tell why.
        let _ = std::io::copy(&mut input, &mut stdin);
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    /// Whether `rclone` (`cat`) writes exactly the bytes of `want` on its standard output.
    pub fn rclone_gives(&self, key: (&str, &str), args: &[&str], want: impl Read) -> bool {
        let mut child = self
            .rclone_command(key, args)
            .spawn()
            .expect("rclone (Debian's) is installed");
        let same = crate::same_bytes(child.stdout.take().unwrap(), want);
        let out = child.wait_with_output().unwrap();
        // On a difference the comparison stops reading, and rclone fails on the closed pipe.
        if same {
            ok(out);
        }
        same
    }

    pub fn rclone_command(&self, key: (&str, &str), args: &[&str]) -> Command {
        let mut c = Command::new("rclone");
        c.args(args)
            .env_remove("AWS_CA_BUNDLE")
            .env("RCLONE_CONFIG_S3_TYPE", "s3")
            .env("RCLONE_CONFIG_S3_PROVIDER", "Other")
            .env("RCLONE_CONFIG_S3_ENV_AUTH", "false")
            .env("RCLONE_CONFIG_S3_ACCESS_KEY_ID", key.0)
            .env("RCLONE_CONFIG_S3_SECRET_ACCESS_KEY", key.1)
            .env("RCLONE_CONFIG_S3_ENDPOINT", &self.endpoint)
            .env("RCLONE_CONFIG_S3_REGION", "us-east-1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// A plain GET of `url` on the storage's address, as a browser would send it.
    pub fn get_url(&self, url: &str) -> crate::Resp {
        let target = url
            .strip_prefix(&self.endpoint)
            .expect("a URL of the storage");
        let host = self.endpoint.trim_start_matches("http://");
        let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        crate::raw_exchange(host.parse().unwrap(), request.as_bytes())
    }

    /// `/storage/get_storage_key` as the owner sees it.
    pub fn storage_keys(&self) -> Value {
        (self.agent.get("/storage/get_storage_key"))
            .token(&self.token)
            .send()
            .expect(200)
            .json()
    }

    /// `/cloud/add_storage` with the Storj section's body: the storage's cloud account, with
    /// its first bucket `project-alpha`.
    pub fn add_storage(&self) -> Value {
        let body = docs::example("cloud.md", "### Add Storage");
        (self.agent.post("/cloud/add_storage", body))
            .token(&self.token)
            .send()
            .expect(200)
            .json()
    }

    /// `add_storage`'s cloud account (its id) and a key reaching all its buckets.
    pub fn storage_and_key(&self) -> (String, Key) {
        let cloud = self.add_storage()["id"].as_str().unwrap().to_string();
        let key = self.full_key(&cloud);
        (cloud, key)
    }

    /// A key reaching every bucket of the storage `cloud`, read and write.
    pub fn full_key(&self, cloud: &str) -> Key {
        let every = json!({"cloudAccountId": cloud, "permission": 2, "allBuckets": true,
            "selectedBuckets": []});
        self.new_key(every).0
    }

    /// A key from `create_storage_key` (the docs' body with `changes`): (access, secret), id.
    pub fn new_key(&self, changes: Value) -> (Key, String) {
        let mut body = docs::example("storage.md", "### Request Body");
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        let k = self
            .agent
            .post("/storage/create_storage_key", body)
            .token(&self.token)
            .send()
            .expect(200)
            .json();
        let access = k["accessKey"].as_str().unwrap().to_string();
        let secret = k["secretKey"].as_str().unwrap().to_string();
        ((access, secret), k["id"].as_str().unwrap().to_string())
    }
}

/// Runs `tests/clients/<script>` (Python, boto3) with `args`; its output.
pub fn python_client(script: &str, args: &[&str]) -> Output {
    let path = format!("{}/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    Command::new("python3")
        .arg(path)
        .args(args)
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .expect("python3 with boto3")
}

/// A client script's run that must succeed.
#[track_caller]
pub fn client_ok(out: Output) {
    assert!(
        out.status.success(),
        "client: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key as `rclone` takes it.
pub fn pair(k: &Key) -> (&str, &str) {
    (&k.0, &k.1)
}

/// The standard output of a command that must succeed.
#[track_caller]
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "rclone failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A command that must fail.
#[track_caller]
pub fn refused(out: Output) {
    assert!(!out.status.success(), "rclone was let through");
}
