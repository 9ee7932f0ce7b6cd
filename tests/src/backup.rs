//! The setup of tests that run cloud backups (`management.md`, Cloud Backups) against a real
//! S3 server: the docs' insert example pointed at a folder of the agent's, the docs' bucket,
//! and the account owner with a cloud account on that server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::s3::S3Server;
use crate::{Account, Agent, Value, docs, insert_cloud_account, json};

/// The bucket of the docs' examples.
pub const BUCKET: &str = "my-bucket";
/// The longest a backup run of a test may take.
pub const RUN: Duration = Duration::from_secs(20);

/// The docs' insert example on cloud account `cloud`, backing up `folder`, with `changes`.
pub fn body(cloud: &str, folder: &Path, changes: Value) -> Value {
    let mut body = docs::example("management.md", "### Insert Cloud Backup");
    body["account"]["id"] = json!(cloud);
    body["localPath"] = json!(folder.display().to_string());
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A folder the agent may use (under its drive folder).
pub fn folder_of(agent: &Agent, name: &str) -> PathBuf {
    let dir = agent.data_dir.join("drives").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real S3 server with the docs' bucket, and an agent.
pub fn world() -> (S3Server, Agent) {
    let s3 = S3Server::start();
    s3.bucket(BUCKET);
    (s3, Agent::start())
}

/// The account owner, a cloud account on `s3`, and a folder to back up.
pub fn owner<'a>(agent: &'a Agent, s3: &S3Server) -> (Account<'a>, String, PathBuf) {
    let a = Account::new(agent, "owner@example.com");
    let cloud = insert_cloud_account(agent, &a.token, s3.account("s3"));
    (a, cloud, folder_of(agent, "Pictures"))
}

/// The object at `key` of the docs' bucket, if it is there.
pub fn in_bucket(s3: &S3Server, key: &str) -> Option<Vec<u8>> {
    std::fs::read(s3.path(BUCKET, key)).ok()
}
