//! FastrSettings' bandwidth caps measured on real uploads to a real S3 server (s3s-fs). A test
//! binary of its own: timings are measured, so no other test of this suite runs beside it.

use std::time::{Duration, Instant};

use click_blackbox::s3::S3Server;
use click_blackbox::{Agent, desktop_only, insert_cloud_account, json, signup_and_login};

/// The bytes an upload has moved, as its status says.
fn moved(agent: &Agent, token: &str, id: &str) -> f64 {
    click_blackbox::transfer_status(agent, token, id)["transferredBytes"]
        .as_f64()
        .unwrap()
}

/// The rate (bytes per second) an upload moves at over `window`.
fn rate(agent: &Agent, token: &str, id: &str, window: Duration) -> f64 {
    let (before, started) = (moved(agent, token, id), Instant::now());
    std::thread::sleep(window);
    (moved(agent, token, id) - before) / started.elapsed().as_secs_f64()
}

/// An upload through a cloud account whose FastrSettings cap its user's uploads at 20 MB/s
/// goes at that rate (within 10%, measured over 12 s once it runs); a cap lowered to 10 MB/s
/// mid-transfer holds at once for the transfer already running (measured over the next 12 s).
#[test]
fn an_upload_cap_paces_uploads_and_a_new_cap_holds_at_once() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    let tmp = tempfile::tempdir().unwrap();
    let more = "progress_interval_ms = 100\n";
    let agent = Agent::start_with(click_blackbox::transfer_roots(tmp.path(), more));
    let owner = signup_and_login(&agent, "owner@example.com");
    let cloud = insert_cloud_account(&agent, &owner, s3.account("s3"));
    // The Click page's insert body.
    let body = json!({
        "CloudAccountId": cloud,
        "MaxUploadBytesPerSecond": 20_000_000,
        "MaxDownloadBytesPerSecond": 0,
        "MaxServerToServerBytesPerSecond": 0,
        "VerifyChecksum": false,
        "FileExistsAction": 0,
        "Active": true
    });
    let settings = (agent.post("/fastrsettings/insert", body))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    // More than the 30 s of the test move: it is cancelled at the end.
    let file = tmp.path().join("big.raw");
    std::fs::write(&file, click_blackbox::pattern(600 << 20, 3)).unwrap();
    let body = json!({
        "cloudAccount": {"id": cloud, "cloudType": 8},
        "storageName": "media",
        "uploadPath": "capped",
        "localFilePath": file.display().to_string(),
    });
    let r = agent
        .post("/cloud/upload_object", body)
        .token(&owner)
        .send();
    let id = r.expect(200).json()["transferId"]
        .as_str()
        .unwrap()
        .to_string();

    let window = Duration::from_secs(12);
    std::thread::sleep(Duration::from_secs(2));
    let at_20 = rate(&agent, &owner, &id, window);
    assert!(
        (at_20 - 20e6).abs() < 2e6,
        "{:.2} MB/s under a 20 MB/s cap",
        at_20 / 1e6
    );
    eprintln!("under 20 MB/s: {:.2} MB/s", at_20 / 1e6);
    let mut lowered = settings.clone();
    lowered["maxUploadBytesPerSecond"] = json!(10_000_000);
    (agent.put("/fastrsettings/update", lowered))
        .token(&owner)
        .send()
        .expect(200);
    // Parts already let through finish first.
    std::thread::sleep(Duration::from_secs(2));
    let at_10 = rate(&agent, &owner, &id, window);
    assert!(
        (at_10 - 10e6).abs() < 1e6,
        "{:.2} MB/s after the cap was lowered to 10 MB/s",
        at_10 / 1e6
    );
    eprintln!("under 10 MB/s: {:.2} MB/s", at_10 / 1e6);
    agent
        .post(&format!("/cloud/client_transfer/{id}/cancel"), json!({}))
        .token(&owner)
        .send()
        .expect(200);
}
