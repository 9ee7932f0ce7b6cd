//! FastrSettings' bandwidth caps measured on real uploads to a real S3 server (s3s-fs). A test
//! binary of its own: timings are measured, so no other test of this suite runs beside it.

use click_blackbox::s3::S3Server;
use click_blackbox::{desktop_only, insert_cloud_account, json, signup_and_login};

/// An upload through a cloud account whose FastrSettings cap its user's uploads goes at that
/// rate (within 10%); raising the cap mid-transfer speeds up the transfer already running.
#[test]
fn an_upload_cap_paces_uploads_and_a_new_cap_holds_at_once() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    let tmp = tempfile::tempdir().unwrap();
    let more = "progress_interval_ms = 100\n";
    let agent = click_blackbox::Agent::start_with(click_blackbox::transfer_roots(tmp.path(), more));
    let owner = signup_and_login(&agent, "owner@example.com");
    let cloud = insert_cloud_account(&agent, &owner, s3.account("s3"));
    // The Click page's insert body.
    let body = json!({
        "CloudAccountId": cloud,
        "MaxUploadBytesPerSecond": 4_000_000,
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
    let size = 24u64 << 20;
    let file = tmp.path().join("big.raw");
    std::fs::write(&file, click_blackbox::pattern(size as usize, 3)).unwrap();
    let upload = |name: &str| {
        let body = json!({
            "cloudAccount": {"id": cloud, "cloudType": 8},
            "storageName": "media",
            "uploadPath": name,
            "localFilePath": file.display().to_string(),
        });
        let r = agent
            .post("/cloud/upload_object", body)
            .token(&owner)
            .send();
        r.expect(200).json()["transferId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let seconds_until_done = |id: &str, started: std::time::Instant| {
        click_blackbox::wait_for_transfer(&agent, &owner, id, "completed");
        started.elapsed().as_secs_f64()
    };

    // 24 MiB at 4 MB/s: 6.3 s. (Rates well below what a debug build of the agent moves, so
    // that the cap, not the machine, sets the pace.)
    let started = std::time::Instant::now();
    let id = upload("capped");
    let took = seconds_until_done(&id, started);
    let expected = size as f64 / 4e6;
    assert!(
        (took - expected).abs() < expected * 0.1,
        "{took:.2} s at 4 MB/s, expected {expected:.2} s"
    );

    // Raised to 8 MB/s after 2 s: 8 MB at 4 MB/s, the rest at 8 MB/s.
    let started = std::time::Instant::now();
    let id = upload("raised");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut raised = settings.clone();
    raised["maxUploadBytesPerSecond"] = json!(8_000_000);
    let changed_at = started.elapsed().as_secs_f64();
    (agent.put("/fastrsettings/update", raised))
        .token(&owner)
        .send()
        .expect(200);
    let took = seconds_until_done(&id, started);
    let expected = changed_at + (size as f64 - 4e6 * changed_at) / 8e6;
    assert!(
        (took - expected).abs() < expected * 0.1,
        "{took:.2} s after the raise at {changed_at:.2} s, expected {expected:.2} s"
    );
}
