//! Signed self-updates (`check_update`, `update`): a feed and releases this test signs with a
//! throwaway ed25519 key, the agent run from a copy of its program so that it may replace it.
//! A "new release" is the agent's own program with bytes appended (it still runs, and its
//! hash differs).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use click_blackbox::*;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

const CURRENT: &str = env!("CARGO_PKG_VERSION");

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(key: &SigningKey) -> String {
    STANDARD.encode(key.verifying_key().to_bytes())
}

fn platform() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// A release entry for `file` (its real bytes), signed by `key`, announcing `size`.
fn entry(key: &SigningKey, version: &str, file: &str, bytes: &[u8], size: usize) -> Value {
    let sha = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let message = format!(
        "click-agent release\n{version}\n{}\n{size}\n{sha}\n",
        platform()
    );
    json!({
        "version": version, "platform": platform(), "url": file, "size": size, "sha256": sha,
        "signature": STANDARD.encode(key.sign(message.as_bytes()).to_bytes()),
    })
}

/// A folder with a copy of the agent's program (`bin/click-agent`) and a release folder.
struct Setup {
    dir: tempfile::TempDir,
    program: PathBuf,
    old: Vec<u8>,
    new: Vec<u8>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::create_dir_all(dir.path().join("releases")).unwrap();
        let program = dir.path().join("bin").join("click-agent");
        let old = std::fs::read(agent_binary()).unwrap();
        std::fs::write(&program, &old).unwrap();
        let mut perms = std::fs::metadata(&program).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&program, perms).unwrap();
        let mut new = old.clone();
        new.extend_from_slice(b"\n#click-agent release 99.0.0\n");
        std::fs::write(dir.path().join("releases").join("click-agent-99"), &new).unwrap();
        Setup {
            dir,
            program,
            old,
            new,
        }
    }

    fn feed(&self) -> PathBuf {
        self.dir.path().join("releases").join("feed.json")
    }

    fn publish(&self, releases: Vec<Value>) {
        let feed = json!({ "releases": releases }).to_string();
        std::fs::write(self.feed(), feed).unwrap();
    }

    fn agent(&self, feed_url: &str, key: &SigningKey) -> Agent {
        Agent::start_with(Options {
            config: format!(
                "[update]\nfeed_url = \"{feed_url}\"\npublic_key = \"{}\"\n",
                public(key)
            ),
            binary: Some(self.program.clone()),
            data_dir: Some(self.dir.path().join("data")),
            ..Options::default()
        })
    }

    fn unchanged(&self) {
        assert!(
            std::fs::read(&self.program).unwrap() == self.old,
            "the program was changed"
        );
        let leftovers: Vec<_> = std::fs::read_dir(self.program.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "nothing else beside the program: {leftovers:?}"
        );
    }
}

fn check(agent: &Agent, token: &str) -> Resp {
    agent.get("/management/check_update").token(token).send()
}

fn update(agent: &Agent, token: &str) -> Resp {
    agent.call("POST", "/management/update").token(token).send()
}

#[test]
fn a_signed_newer_release_replaces_the_program_which_then_starts() {
    if desktop_only("self-updates replace the desktop agent's program") {
        return;
    }
    let setup = Setup::new();
    let release_key = key(7);
    let new = setup.new.clone();
    setup.publish(vec![
        entry(&release_key, "99.0.0", "click-agent-99", &new, new.len()),
        entry(&release_key, "0.0.1", "click-agent-99", &new, new.len()),
    ]);
    let agent = setup.agent(&setup.feed().display().to_string(), &release_key);
    let owner = signup_and_login(&agent, "owner@example.com");
    let offered = check(&agent, &owner).expect(200).json();
    assert_eq!(
        offered,
        json!({"isUpdateRequired": true, "currentVersion": CURRENT, "newVersion": "99.0.0"})
    );

    let mut ws = agent
        .ws(&format!("/notification?token={owner}"), &[])
        .unwrap();
    update(&agent, &owner).expect(200);
    let frame = ws.next_json();
    assert_eq!(frame["Data"]["Operation"], "AppExit", "{frame}");
    let status = agent
        .wait_exit(Duration::from_secs(20))
        .expect("the agent exits");
    assert!(status.success(), "{status:?}");
    assert!(
        std::fs::read(&setup.program).unwrap() == setup.new,
        "the new program is in place"
    );
    let previous = setup.program.with_file_name("click-agent.previous");
    assert!(
        std::fs::read(&previous).unwrap() == setup.old,
        "the old one is kept"
    );
    drop(agent);

    // What a service manager does next: start the program again, the new one.
    let again = setup.agent(&setup.feed().display().to_string(), &release_key);
    again.get("/management/agent_status").send().expect(200);
    let token = login(&again, "owner@example.com", PASSWORD);
    check(&again, &token).expect(200);
}

#[test]
fn bad_signatures_downgrades_truncated_or_altered_downloads_and_dead_feeds_change_nothing() {
    if desktop_only("self-updates replace the desktop agent's program") {
        return;
    }
    let setup = Setup::new();
    let release_key = key(7);
    let agent = setup.agent(&setup.feed().display().to_string(), &release_key);
    let owner = signup_and_login(&agent, "owner@example.com");
    let new = setup.new.clone();
    let refused = |why: &str| {
        let message = update(&agent, &owner).expect_error("SECURITY");
        assert!(message.contains(why), "{why}: {message}");
        setup.unchanged();
    };

    // Signed by another key: not offered, not installed.
    setup.publish(vec![entry(
        &key(9),
        "99.0.0",
        "click-agent-99",
        &new,
        new.len(),
    )]);
    let message = check(&agent, &owner).expect_error("SECURITY");
    assert!(
        message.contains("not signed by the release key"),
        "{message}"
    );
    refused("not signed by the release key");
    // A signed entry whose fields were changed afterwards.
    let mut forged = entry(&release_key, "99.0.0", "click-agent-99", &new, new.len());
    forged["version"] = json!("99.0.1");
    setup.publish(vec![forged]);
    refused("not signed by the release key");

    // Only older or equal releases: nothing to do, and no downgrade.
    setup.publish(vec![
        entry(&release_key, "0.0.9", "click-agent-99", &new, new.len()),
        entry(&release_key, CURRENT, "click-agent-99", &new, new.len()),
    ]);
    let offered = check(&agent, &owner).expect(200).json();
    assert_eq!(offered["isUpdateRequired"], false);
    assert_eq!(offered["newVersion"], CURRENT);
    refused("downgrades are refused");

    // Truncated: the file is shorter than announced.
    let cut = &new[..new.len() - 1000];
    std::fs::write(setup.dir.path().join("releases").join("cut"), cut).unwrap();
    let mut truncated = entry(&release_key, "99.0.0", "cut", &new, new.len());
    truncated["url"] = json!("cut");
    setup.publish(vec![truncated]);
    refused("truncated");
    // Altered: the announced size, other bytes.
    let mut altered = new.clone();
    let last = altered.len() - 1;
    altered[last] ^= 0xff;
    std::fs::write(setup.dir.path().join("releases").join("altered"), &altered).unwrap();
    let mut wrong = entry(&release_key, "99.0.0", "altered", &new, new.len());
    wrong["url"] = json!("altered");
    setup.publish(vec![wrong]);
    refused("SHA-256");
    // Longer than announced.
    let mut long = entry(&release_key, "99.0.0", "click-agent-99", &new[..10], 10);
    long["url"] = json!("click-agent-99");
    setup.publish(vec![long]);
    refused("longer than announced");

    // Members may look, not update.
    setup.publish(vec![entry(
        &release_key,
        "99.0.0",
        "click-agent-99",
        &new,
        new.len(),
    )]);
    let (_, member) = member(&agent, &owner, "member@example.com", 64);
    check(&agent, &member).expect(200);
    update(&agent, &member).expect_error("ACCESS");
    setup.unchanged();
    drop(agent);

    // A feed that cannot be reached, and none at all.
    let dead = format!("http://127.0.0.1:{}/feed.json", free_port());
    let agent = setup.agent(&dead, &release_key);
    let token = login(&agent, "owner@example.com", PASSWORD);
    let message = check(&agent, &token).expect_error("DEFAULT");
    assert!(message.contains("cannot be read"), "{message}");
    update(&agent, &token).expect_error("DEFAULT");
    setup.unchanged();
    drop(agent);
    let agent = setup.agent("", &release_key);
    let token = login(&agent, "owner@example.com", PASSWORD);
    let message = check(&agent, &token).expect_error("DEFAULT");
    assert!(message.contains("No update feed"), "{message}");
}
