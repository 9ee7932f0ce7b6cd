//! Cloud Backups (`management.md`) through the agent binary against a real S3 server
//! (s3s-fs) and Azure's emulator (Azurite): the documented `CloudBackupModel`, a folder
//! uploaded one way (the first run, edits, renames, local deletes kept in the bucket, the
//! bucket's own files never brought down), deactivation, an agent killed with `kill -9`
//! mid-run, 10,000 small files and one of 2 GiB, and bad input refused with 499.

use click_blackbox::azure::Azurite;
use click_blackbox::backup::{BUCKET, RUN, body, folder_of, in_bucket, owner, world};
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Account, DataDir, Value, desktop_only, docs, insert_cloud_account, json, pattern, wait_until,
};
use std::time::Duration;

#[test]
fn backups_are_stored_and_shown_as_documented() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    let b = a
        .post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200)
        .json();
    let doc = &docs::example("management.md", "### Get Cloud Backups")[0];
    let fields: Vec<&String> = doc.as_object().unwrap().keys().collect();
    let mut shown: Vec<&String> = b.as_object().unwrap().keys().collect();
    let mut expected = fields.clone();
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected, "exactly the documented fields: {b}");
    assert_eq!(b["name"], "Daily photos");
    assert_eq!(b["prefix"], "photos/");
    assert_eq!(b["keepFileAfterUpload"], true);
    assert_eq!(
        b["transferOptions"], doc["transferOptions"],
        "the forced profile"
    );
    assert_eq!(
        b["account"]["cloudType"], 8,
        "taken from the stored account"
    );
    assert_eq!(b["account"]["id"], cloud.as_str());

    let all = a.get("/management/cloudbackup");
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0], b);
    let drives = a.get("/management/clouddrive");
    assert_eq!(drives.as_array().unwrap().len(), 0, "a backup is no drive");

    let id = b["id"].as_str().unwrap();
    let mut changed = b.clone();
    changed["name"] = json!("Nightly photos");
    changed["syncIntervalSeconds"] = json!(600);
    let after = a
        .put(&format!("/management/cloudbackup/{id}"), changed)
        .expect(200)
        .json();
    assert_eq!(after["name"], "Nightly photos");
    assert_eq!(after["syncIntervalSeconds"], 600);
    assert_eq!(
        a.get("/management/cloudbackup")[0]["name"],
        "Nightly photos"
    );

    let missing = "/management/cloudbackup/00000000-0000-0000-0000-000000000001";
    a.put(missing, after.clone()).expect_error("NOT_FOUND");
    agent
        .call("DELETE", &format!("/management/cloudbackup/{id}"))
        .token(&a.token)
        .send()
        .expect(200);
    assert_eq!(a.get("/management/cloudbackup"), json!([]));
}

#[test]
fn a_backup_uploads_its_folder_one_way() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    s3.put(BUCKET, "photos/theirs.txt", b"put there by someone else");
    let (a, cloud, folder) = owner(&agent, &s3);
    std::fs::create_dir_all(folder.join("2026")).unwrap();
    std::fs::write(folder.join("a.jpg"), b"first version").unwrap();
    let big = pattern(12 << 20, 3);
    std::fs::write(folder.join("2026/big.raw"), &big).unwrap();
    let b = a
        .post(
            "/management/cloudbackup",
            body(&cloud, &folder, json!({"syncIntervalSeconds": 10})),
        )
        .expect(200)
        .json();

    wait_until("the first run", RUN, || {
        in_bucket(&s3, "photos/a.jpg").as_deref() == Some(b"first version")
            && in_bucket(&s3, "photos/2026/big.raw").is_some_and(|b| b == big)
    });
    // Edits go up; a local delete is recorded, not carried to the bucket.
    std::fs::write(folder.join("a.jpg"), b"second version").unwrap();
    std::fs::remove_file(folder.join("2026/big.raw")).unwrap();
    std::fs::write(folder.join("new.jpg"), b"new").unwrap();
    wait_until("the edits", RUN, || {
        in_bucket(&s3, "photos/a.jpg").as_deref() == Some(b"second version")
            && in_bucket(&s3, "photos/new.jpg").is_some()
    });
    assert!(
        in_bucket(&s3, "photos/2026/big.raw").is_some_and(|b| b == big),
        "a file deleted locally stays in the backup"
    );
    assert!(
        !folder.join("theirs.txt").exists(),
        "the bucket's own files never come down"
    );
    assert!(
        !folder.join("2026/big.raw").exists(),
        "nor what was deleted"
    );
    // A rename is a new file; the old name stays backed up.
    std::fs::rename(folder.join("new.jpg"), folder.join("renamed.jpg")).unwrap();
    wait_until("the renamed file", RUN, || {
        in_bucket(&s3, "photos/renamed.jpg").as_deref() == Some(b"new")
    });
    assert_eq!(
        in_bucket(&s3, "photos/new.jpg").as_deref(),
        Some(&b"new"[..])
    );

    // Inactive: nothing moves; active again: the backup catches up.
    let id = b["id"].as_str().unwrap();
    let mut off = b.clone();
    off["active"] = json!(false);
    a.put(&format!("/management/cloudbackup/{id}"), off)
        .expect(200);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(folder.join("while-off.jpg"), b"later").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(in_bucket(&s3, "photos/while-off.jpg").is_none());
    a.put(&format!("/management/cloudbackup/{id}"), b.clone())
        .expect(200);
    wait_until("the catch-up", RUN, || {
        in_bucket(&s3, "photos/while-off.jpg").is_some()
    });

    // Deleted: it stops, and the bucket keeps what it holds.
    agent
        .call("DELETE", &format!("/management/cloudbackup/{id}"))
        .token(&a.token)
        .send()
        .expect(200);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(folder.join("after-delete.jpg"), b"x").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(in_bucket(&s3, "photos/after-delete.jpg").is_none());
    assert!(in_bucket(&s3, "photos/a.jpg").is_some());
}

#[test]
fn a_backup_killed_mid_run_finishes_at_the_next_start() {
    if desktop_only("cloud backups") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket(BUCKET);
    let data = DataDir::new();
    let first = data.agent();
    let a = Account::new(&first, "owner@example.com");
    let cloud = insert_cloud_account(&first, &a.token, s3.account("s3"));
    let folder = folder_of(&first, "Pictures");
    let files: Vec<(String, Vec<u8>)> = (0..150)
        .map(|i| {
            (
                format!("d{}/f{i:03}.bin", i % 5),
                pattern(30_000 + i * 100, i as u64),
            )
        })
        .collect();
    for (name, bytes) in &files {
        std::fs::create_dir_all(folder.join(name).parent().unwrap()).unwrap();
        std::fs::write(folder.join(name), bytes).unwrap();
    }
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("some files sent", RUN, || {
        files
            .iter()
            .any(|(name, _)| in_bucket(&s3, &format!("photos/{name}")).is_some())
    });
    first.kill();
    drop(a);
    drop(first);

    let _again = data.agent();
    wait_until("every file backed up", RUN, || {
        files
            .iter()
            .all(|(name, bytes)| in_bucket(&s3, &format!("photos/{name}")).as_ref() == Some(bytes))
    });
}

#[test]
fn bad_backups_are_refused_with_a_clear_499() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    let refused = |body: Value| {
        let r = a.post("/management/cloudbackup", body);
        assert_eq!(r.status, 499, "{}", r.text());
        r.json()
    };
    // The docs' own folder is outside the folders this agent may use.
    let mut outside = docs::example("management.md", "### Insert Cloud Backup");
    outside["account"]["id"] = json!(cloud);
    refused(outside);
    refused(body(
        "00000000-0000-0000-0000-0000000000aa",
        &folder,
        json!({}),
    ));
    for interval in [json!(0), json!(-5)] {
        refused(body(
            &cloud,
            &folder,
            json!({"syncIntervalSeconds": interval}),
        ));
    }
    refused(body(&cloud, &folder, json!({"name": ""})));
    refused(body(&cloud, &folder, json!({"storageName": ""})));
    assert_eq!(
        a.get("/management/cloudbackup"),
        json!([]),
        "nothing stored"
    );
}

#[test]
fn reports_count_what_the_backup_holds() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    let files: Vec<(String, usize)> = (0..25)
        .map(|i| (format!("d{}/f{i:02}.bin", i % 3), 1000 + i * 37))
        .collect();
    for (name, len) in &files {
        std::fs::create_dir_all(folder.join(name).parent().unwrap()).unwrap();
        std::fs::write(folder.join(name), pattern(*len, *len as u64)).unwrap();
    }
    let b = a
        .post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200)
        .json();
    let id = b["id"].as_str().unwrap();
    let total: usize = files.iter().map(|(_, len)| len).sum();
    let summary_route = format!("/backupreport/summary/{id}");
    wait_until("every file backed up and counted", RUN, || {
        a.get(&summary_route)["FilesByState"]
            .as_array()
            .is_some_and(|s| {
                s.iter()
                    .any(|p| p["Label"] == "Normal" && p["Value"] == files.len())
            })
    });
    let summary = a.get(&summary_route);
    assert_eq!(summary["BackupId"], id);
    assert_eq!(summary["BackupName"], "Daily photos");
    assert_eq!(summary["TotalFiles"], files.len(), "{summary}");
    assert_eq!(summary["TotalDirectories"], 3);
    assert_eq!(summary["TotalSizeBytes"], total);
    assert_eq!(summary["CloudProvider"], "S3Generic");
    assert_eq!(summary["StorageBucket"], BUCKET);
    assert_eq!(summary["Status"], "Idle");
    assert_eq!(summary["TransferOptions"]["ChunkSize"], 5_242_880);
    let health = a.get(&format!("/backupreport/sync_health/{id}"));
    assert_eq!(health["TotalTrackedFiles"], files.len(), "{health}");
    assert_eq!(health["FilesNormal"], files.len());
    assert_eq!(health["FilesPendingUpload"], 0);
    assert_eq!(health["SyncCompletionPercent"], 100);

    // What moved, as the agent's own history: a file each, newest first; and the day's trend.
    let activity = a.get(&format!(
        "/backupreport/transfer_activity/{id}?page=1&pageSize=100"
    ));
    assert_eq!(activity["BackupId"], id);
    assert_eq!(activity["Total"], files.len(), "{activity}");
    let moved = activity["Data"].as_array().unwrap();
    assert!(
        moved
            .iter()
            .all(|t| t["direction"] == 1 && t["transferStatus"] == 4)
    );
    assert!(
        moved
            .iter()
            .all(|t| t["destinationBucket"] == BUCKET && t["name"] == "Daily photos")
    );
    let sizes: u64 = moved
        .iter()
        .map(|t| t["transferredSize"].as_u64().unwrap())
        .sum();
    assert_eq!(sizes, total as u64);
    let sample = &moved[0];
    let key = sample["destinationPath"].as_str().unwrap();
    assert!(key.starts_with("photos/"), "{sample}");
    assert!(
        sample["sourcePath"]
            .as_str()
            .unwrap()
            .starts_with(folder.to_str().unwrap())
    );
    assert_eq!(sample["userEmail"], "owner@example.com");
    let none = a.get(&format!("/backupreport/transfer_activity/{id}?status=16"));
    assert_eq!(none["Total"], 0, "no failures");
    let trends = a.get(&format!("/backupreport/historical_trends/{id}?days=7"));
    let per_day = trends["TransfersPerDay"].as_array().unwrap();
    assert_eq!(per_day.len(), 7, "{trends}");
    assert_eq!(per_day[6]["Value"], files.len(), "today last");
    assert_eq!(trends["DataVolumePerDay"][6]["Value"], total);
    assert_eq!(trends["SuccessVsFailureRate"][0]["Label"], "Completed");
    assert_eq!(trends["SuccessVsFailureRate"][0]["Value"], files.len());
    assert_eq!(trends["CumulativeDataTransferred"], total);
    let anonymous = agent
        .get(&format!("/backupreport/transfer_activity/{id}"))
        .send();
    assert_eq!(anonymous.status, 401, "documented as needing a token");

    // Every file, a page at a time, with its state; the distribution of the same files.
    let page = |n: usize| {
        a.get(&format!(
            "/backupreport/file_states/{id}?state=0&page={n}&pageSize=10"
        ))
    };
    let mut listed: Vec<(String, u64)> = Vec::new();
    for n in 1..=3 {
        let p = page(n);
        assert_eq!(p["Total"], files.len(), "{p}");
        assert_eq!(p["BackupId"], id);
        for f in p["Files"].as_array().unwrap() {
            assert_eq!(f["State"], "Normal");
            listed.push((
                f["Path"].as_str().unwrap().to_string(),
                f["SizeBytes"].as_u64().unwrap(),
            ));
        }
    }
    let mut expected: Vec<(String, u64)> =
        files.iter().map(|(n, l)| (n.clone(), *l as u64)).collect();
    expected.sort();
    assert_eq!(listed, expected, "each file once, in path order");
    let errors = a.get(&format!("/backupreport/file_states/{id}?state=256"));
    assert_eq!(errors["Total"], 0);
    let dist = a.get(&format!(
        "/backupreport/file_distribution/{id}?topFiles=3&topDirectories=2"
    ));
    assert_eq!(dist["FileCountByExtension"][0]["Label"], ".bin", "{dist}");
    assert_eq!(dist["FileCountByExtension"][0]["Value"], files.len());
    assert_eq!(dist["SizeByExtension"][0]["Value"], total);
    let largest: Vec<&str> = dist["LargestFiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Path"].as_str().unwrap())
        .collect();
    assert_eq!(largest, ["d0/f24.bin", "d2/f23.bin", "d1/f22.bin"]);
    assert_eq!(dist["DirectoryBreakdown"].as_array().unwrap().len(), 2);
    let buckets: u64 = dist["SizeDistribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Value"].as_u64().unwrap())
        .sum();
    assert_eq!(buckets, files.len() as u64);
    let board = a.get(&format!("/backupreport/dashboard/{id}"));
    assert_eq!(board["Summary"]["TotalFiles"], files.len());
    assert_eq!(board["SyncHealth"]["FilesNormal"], files.len());
    assert_eq!(board["FileDistribution"]["BackupId"], id);
    let mixed = agent
        .get(&format!("/backupreport/file_states/{id}?state=3"))
        .token(&a.token)
        .send();
    assert_eq!(mixed.status, 499, "one state at a time: {}", mixed.text());

    // A file deleted locally stays backed up, and stays counted as such.
    std::fs::remove_file(folder.join(&files[0].0)).unwrap();
    std::fs::write(folder.join("later.bin"), b"12345").unwrap();
    let activity = format!("/backupreport/transfer_activity/{id}?pageSize=1");
    wait_until("the new file counted", RUN, || {
        let s = a.get(&summary_route);
        s["TotalFiles"] == files.len() + 1
            && s["TotalSizeBytes"] == total + 5
            && a.get(&activity)["Data"][0]["sourcePath"]
                .as_str()
                .is_some_and(|p| p.ends_with("later.bin"))
    });
    // The incremental run moved the new file only: the history has one entry more.
    let after = a.get(&activity);
    assert_eq!(after["Total"], files.len() + 1, "{after}");
    assert!(
        after["Data"][0]["sourcePath"]
            .as_str()
            .unwrap()
            .ends_with("later.bin")
    );

    // Unknown: the documented 404; another account's: 499; no token: 401.
    let unknown = agent
        .get("/backupreport/summary/00000000-0000-0000-0000-000000000009")
        .token(&a.token)
        .send();
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    let other = Account::new(&agent, "other@example.com");
    other
        .agent
        .get(&summary_route)
        .token(&other.token)
        .send()
        .expect_error("NOT_FOUND");
    assert_eq!(agent.get(&summary_route).send().status, 401);
}

/// A backup to Azure Blob Storage (the Azurite emulator): the first run, then an edit that
/// replaces only the version the backup wrote (`If-Match` on a block blob).
#[test]
fn a_backup_to_azure_blob_storage() {
    if desktop_only("cloud backups") {
        return;
    }
    let az = Azurite::start();
    az.create_container(BUCKET);
    let agent = click_blackbox::Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let cloud = insert_cloud_account(&agent, &a.token, az.account("azure"));
    let folder = folder_of(&agent, "Pictures");
    std::fs::write(folder.join("a.jpg"), b"first version").unwrap();
    let big = pattern(11 << 20, 4);
    std::fs::write(folder.join("big.raw"), &big).unwrap();
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("the first run", RUN, || {
        az.get(BUCKET, "photos/a.jpg").as_deref() == Some(b"first version")
            && az.get(BUCKET, "photos/big.raw").is_some_and(|b| b == big)
    });
    std::fs::write(folder.join("a.jpg"), b"second version").unwrap();
    wait_until("the edit", RUN, || {
        az.get(BUCKET, "photos/a.jpg").as_deref() == Some(b"second version")
    });
}

/// A folder of 10,000 small files and one of 2 GiB, backed up whole and byte for byte.
#[test]
fn a_backup_of_ten_thousand_files_and_one_of_two_gib() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    for i in 0..10_000u64 {
        let dir = folder.join(format!("d{:02}", i % 50));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i:05}.txt")), format!("file {i}")).unwrap();
    }
    let big = folder.join("big.bin");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let mut window = pattern(8 << 20, 5);
        for chunk in 0..256u64 {
            // Each window differs, so a part sent twice or out of place is found.
            window[..8].copy_from_slice(&chunk.to_le_bytes());
            std::io::Write::write_all(&mut file, &window).unwrap();
        }
    }
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    let all_small = || {
        (0..10_000u64).all(|i| {
            let key = format!("photos/d{:02}/f{i:05}.txt", i % 50);
            in_bucket(&s3, &key).is_some_and(|b| b == format!("file {i}").as_bytes())
        })
    };
    let stored = s3.path(BUCKET, "photos/big.bin");
    let big_len = || std::fs::metadata(&stored).map_or(0, |m| m.len());
    wait_until("every file backed up", Duration::from_secs(600), || {
        big_len() == 2 << 30 && all_small()
    });
    assert!(
        click_blackbox::same_file(&big, &stored),
        "the 2 GiB file is intact"
    );
}

/// A run shows on `/notification`: each file's upload starts and ends with a `Progress` frame
/// (`websockets.md`, Type 1), as a client transfer's does; and on `/statechange`.
#[test]
fn a_run_shows_each_file_on_notification_and_statechange() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    let mut notes = agent
        .ws(&format!("/notification?token={}", a.token), &[])
        .expect("notification");
    let files = [("a.jpg", 1200usize), ("sub/b.jpg", 34_000)];
    for (name, size) in files {
        let path = folder.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, pattern(size, 7)).unwrap();
    }
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("the run", RUN, || {
        files
            .iter()
            .all(|(name, _)| in_bucket(&s3, &format!("photos/{name}")).is_some())
    });
    notes.set_timeout(Duration::from_secs(2));
    let mut progress: Vec<Value> = Vec::new();
    while let click_blackbox::ws::Frame::Json(frame) = notes.read_frame() {
        if frame["Type"] == 1 {
            progress.push(frame["Data"].clone());
        }
    }
    for (name, size) in files {
        let path = folder.join(name).display().to_string();
        let seen: Vec<&Value> = progress
            .iter()
            .filter(|p| p["Path"] == path.as_str())
            .collect();
        let statuses: Vec<&str> = seen.iter().map(|p| p["Status"].as_str().unwrap()).collect();
        assert_eq!(
            statuses,
            ["InProgress", "Completed"],
            "{name}: {progress:?}"
        );
        let done = seen[1];
        assert_eq!(done["TransferMode"], "Upload");
        assert_eq!(done["Bytes"], size as u64);
        assert_eq!(done["Size"], size as u64);
        assert_eq!(done["StorageName"], BUCKET);
        assert_eq!(done["StorageType"], "S3Generic");
        assert_eq!(done["Name"], name.rsplit('/').next().unwrap());
        assert_eq!(done["TransferId"], seen[0]["TransferId"]);
    }
}

/// A file edited both locally and in the bucket since the last run: neither version is
/// overwritten, the local one goes up beside the bucket's as a conflict copy.
#[test]
fn an_edit_on_both_sides_keeps_both_in_the_bucket() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    std::fs::write(folder.join("a.jpg"), b"first version").unwrap();
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("the first run", RUN, || {
        in_bucket(&s3, "photos/a.jpg").is_some()
    });
    s3.put(BUCKET, "photos/a.jpg", b"their version");
    std::fs::write(folder.join("a.jpg"), b"our version").unwrap();
    let copy = || {
        std::fs::read_dir(s3.path(BUCKET, "photos"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("a (conflict ") && n.ends_with(").jpg"))
    };
    wait_until("the conflict copy", RUN, || copy().is_some());
    let name = copy().unwrap();
    assert_eq!(
        in_bucket(&s3, &format!("photos/{name}")).as_deref(),
        Some(&b"our version"[..])
    );
    assert_eq!(
        in_bucket(&s3, "photos/a.jpg").as_deref(),
        Some(&b"their version"[..]),
        "the bucket's edit stands"
    );
    assert_eq!(std::fs::read(folder.join("a.jpg")).unwrap(), b"our version");
}

/// A file replaced by another of the same size and the same modification time (as `cp -p`
/// or `rsync -t` leave it) is still backed up: its inode changed, and its content is checked.
#[test]
fn a_file_replaced_with_the_same_size_and_time_is_backed_up() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    let file = folder.join("a.jpg");
    std::fs::write(&file, b"version one").unwrap();
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("the first run", RUN, || {
        in_bucket(&s3, "photos/a.jpg").is_some()
    });
    let other = folder.join(".a.jpg.tmp");
    std::fs::write(&other, b"version two").unwrap();
    let f = std::fs::File::options().write(true).open(&other).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    std::fs::rename(&other, &file).unwrap();
    wait_until("the replacement backed up", RUN, || {
        in_bucket(&s3, "photos/a.jpg").as_deref() == Some(b"version two")
    });
}
