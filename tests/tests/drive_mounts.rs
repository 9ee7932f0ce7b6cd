//! Cloud drives mounted through FUSE by the agent binary, over a real S3 server (s3s-fs):
//! the bucket read as a folder, writes uploaded after close (fsync waits for them), renames
//! of files and folders, deletes, truncation, a large file read at random offsets,
//! read-only and no-delete drives, pin/hydrate/evict through the object routes with the
//! cache held to `maximumCacheSize`, `/statechange` frames, and uploads an agent killed with
//! `kill -9` owed, finished by the next start on the stale mount it left.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use click_blackbox::azure::Azurite;
use click_blackbox::mounts::{Unmount, is_mounted, names};
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Account, Agent, DataDir, Value, concurrently, desktop_only, drive_insert_body, encode, json,
    pattern, wait_until,
};

const BUCKET: &str = "my-bucket";

fn s3_with_files() -> S3Server {
    let s3 = S3Server::start();
    s3.put(BUCKET, "photos/file.jpg", b"0123456789");
    s3.put(BUCKET, "photos/2026/a.txt", b"a");
    s3.put(BUCKET, "docs/readme.md", b"# hi");
    s3
}

/// The docs' insert example on a new cloud account of `a` on `s3`, with `changes` over it.
fn drive_body(agent: &Agent, a: &Account, s3: &S3Server, changes: Value) -> Value {
    drive_insert_body(agent, &a.token, s3.account("s3"), changes)
}

/// A drive on `s3` for the account `a`, with `changes` over the docs' insert example; waits
/// until it is mounted and returns its mount point.
fn mounted_drive(agent: &Agent, a: &Account, s3: &S3Server, changes: Value) -> (Value, Unmount) {
    mount(a, drive_body(agent, a, s3, changes))
}

/// Inserts the drive `body` for `a` and waits until it is mounted.
fn mount(a: &Account, body: Value) -> (Value, Unmount) {
    let d = a.post("/management/clouddrive", body).expect(200).json();
    let root = PathBuf::from(d["localPath"].as_str().unwrap());
    wait_until("the mount", Duration::from_secs(20), || is_mounted(&root));
    (d, Unmount(root))
}

/// The cache folder of drive `d`.
fn cache_of(d: &Value) -> PathBuf {
    PathBuf::from(d["permanentLocalPath"].as_str().unwrap())
}

#[test]
fn a_stream_drive_shows_the_bucket_and_carries_changes_back() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = s3_with_files();
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let mut states = agent
        .ws(&format!("/statechange?token={}", a.token), &[])
        .expect("statechange");
    let (_d, mount) = mounted_drive(&agent, &a, &s3, json!({}));
    let root = &mount.0;

    assert_eq!(names(root), ["docs", "photos"]);
    assert_eq!(names(&root.join("photos")), ["2026", "file.jpg"]);
    assert_eq!(
        std::fs::read(root.join("photos/file.jpg")).unwrap(),
        b"0123456789"
    );
    assert_eq!(
        std::fs::metadata(root.join("docs/readme.md"))
            .unwrap()
            .len(),
        4
    );

    // A new file: close() returns before the upload; fsync() waits for it.
    let mut f = std::fs::File::create(root.join("new.txt")).unwrap();
    f.write_all(b"written through the mount").unwrap();
    f.sync_all().unwrap();
    assert_eq!(
        std::fs::read(s3.path(BUCKET, "new.txt")).unwrap(),
        b"written through the mount"
    );
    drop(f);
    std::fs::write(root.join("closed.txt"), b"after close").unwrap();
    wait_until("the upload after close", Duration::from_secs(10), || {
        std::fs::read(s3.path(BUCKET, "closed.txt")).is_ok_and(|b| b == b"after close")
    });

    // Overwrite, append and truncate an object that was in the bucket.
    std::fs::write(root.join("docs/readme.md"), b"# replaced").unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join("photos/file.jpg"))
        .unwrap();
    f.write_all(b"+more").unwrap();
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(s3.path(BUCKET, "photos/file.jpg")).unwrap(),
        b"0123456789+more"
    );
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(root.join("photos/file.jpg"))
        .unwrap();
    f.set_len(4).unwrap();
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(s3.path(BUCKET, "photos/file.jpg")).unwrap(),
        b"0123"
    );
    wait_until("the overwrite", Duration::from_secs(10), || {
        std::fs::read(s3.path(BUCKET, "docs/readme.md")).is_ok_and(|b| b == b"# replaced")
    });

    // Folders, renames, deletes.
    std::fs::create_dir(root.join("made")).unwrap();
    assert!(
        s3.path(BUCKET, "made").is_dir(),
        "the folder marker is in the bucket"
    );
    std::fs::rename(root.join("new.txt"), root.join("made/renamed.txt")).unwrap();
    assert!(!s3.exists(BUCKET, "new.txt"));
    assert_eq!(
        std::fs::read(s3.path(BUCKET, "made/renamed.txt")).unwrap(),
        b"written through the mount"
    );
    std::fs::rename(root.join("photos"), root.join("pictures")).unwrap();
    assert_eq!(names(&root.join("pictures")), ["2026", "file.jpg"]);
    assert_eq!(
        std::fs::read(root.join("pictures/2026/a.txt")).unwrap(),
        b"a"
    );
    wait_until("the folder rename", Duration::from_secs(15), || {
        s3.exists(BUCKET, "pictures/2026/a.txt") && !s3.exists(BUCKET, "photos/2026/a.txt")
    });
    // The last objects moved; the rename is over once the new folder's marker is written
    // and its record cleared, a moment later.
    let status = format!(
        "/management/get_directory_rename_status?path={}",
        encode(&root.join("photos").display().to_string())
    );
    wait_until("the rename reported over", Duration::from_secs(10), || {
        a.get(&status) == json!(true)
    });
    assert!(!names(root).contains(&"photos".to_string()));
    std::fs::remove_file(root.join("closed.txt")).unwrap();
    assert!(!s3.exists(BUCKET, "closed.txt"));
    assert!(std::fs::remove_dir(root.join("made")).is_err(), "not empty");
    std::fs::remove_file(root.join("made/renamed.txt")).unwrap();
    std::fs::remove_dir(root.join("made")).unwrap();
    assert!(!s3.exists(BUCKET, "made/"));

    // Changes made in the bucket show after the listing's time to live, or at once after
    // a sync of the folder.
    s3.put(BUCKET, "docs/from-elsewhere.txt", b"remote");
    let sync = format!("/management/clouddrive/sync/{}", _d["id"].as_str().unwrap());
    agent.get(&sync).token(&a.token).send().expect(200);
    wait_until("the remote change", Duration::from_secs(15), || {
        root.join("docs/from-elsewhere.txt").exists()
    });

    // Every change was a frame: the upload of new.txt, then its state back to normal.
    let path = root.join("new.txt").display().to_string();
    let seen = states.states_of(&path, BUCKET, Duration::from_secs(2));
    assert!(
        seen.windows(2).any(|w| w == [4, 0]),
        "Uploading then Normal for {path}: {seen:?}"
    );
}

#[test]
fn a_large_file_reads_back_at_random_offsets_and_the_cache_stays_in_its_bounds() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = S3Server::start();
    let big = pattern(24 << 20, 7);
    s3.put(BUCKET, "big.bin", &big);
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let limit = 4u64 << 20;
    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({"maximumCacheSize": limit}));
    let root = &mount.0;
    let cache = cache_of(&d);

    let mut f = std::fs::File::open(root.join("big.bin")).unwrap();
    let mut offsets = pattern(64, 3).into_iter().map(|b| u64::from(b) * 97_001);
    for _ in 0..64 {
        let at = offsets.next().unwrap() % (big.len() as u64 - 5000);
        let mut buf = vec![0u8; 5000];
        f.seek(SeekFrom::Start(at)).unwrap();
        f.read_exact(&mut buf).unwrap();
        assert_eq!(buf, big[at as usize..at as usize + 5000], "at {at}");
        assert!(
            cache_bytes(&cache) <= limit + (1 << 20),
            "cache over its limit"
        );
    }
    let mut all = Vec::new();
    std::fs::File::open(root.join("big.bin"))
        .unwrap()
        .read_to_end(&mut all)
        .unwrap();
    assert!(all == big, "a sequential read gives the object's bytes");
    assert!(
        cache_bytes(&cache) <= limit + (1 << 20) * 2,
        "cache over its limit"
    );

    // Readers at once, each its own handle: two sequential from either end of the object's
    // blocks, two at random places; the cache evicting under them all.
    let readers = concurrently(4, |i| {
        let mut f = std::fs::File::open(root.join("big.bin")).unwrap();
        let mut wrong = 0;
        for step in 0..48u64 {
            let at = match i {
                0 => step * 500_000,
                1 => big.len() as u64 - 3_000_000 - step * 400_000,
                _ => (step * 7_919_993 + i as u64 * 1_234_567) % (big.len() as u64 - 70_000),
            };
            let mut buf = vec![0u8; 70_000];
            f.seek(SeekFrom::Start(at)).unwrap();
            f.read_exact(&mut buf).unwrap();
            wrong += usize::from(buf != big[at as usize..at as usize + 70_000]);
        }
        wrong
    });
    assert_eq!(
        readers,
        vec![0; 4],
        "reads that gave other bytes, per reader"
    );
    assert!(
        cache_bytes(&cache) <= limit + (1 << 20) * 4,
        "cache over its limit plus a block per reader"
    );

    // Written through the mount: a multipart upload (the drive's 5 MB chunks).
    let written = pattern(11 << 20, 11);
    let mut w = std::fs::File::create(root.join("written.bin")).unwrap();
    w.write_all(&written).unwrap();
    w.sync_all().unwrap();
    assert!(std::fs::read(s3.path(BUCKET, "written.bin")).unwrap() == written);
}

/// Bytes the cache folder's files hold on disk (holes not counted).
fn cache_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir.join("data")) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

/// Cache files holding bytes.
fn cached_files(dir: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir.join("data")).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.metadata().is_ok_and(|m| m.blocks() > 0))
            .count()
    })
}

#[test]
fn read_only_and_no_delete_drives_refuse_what_they_must() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = s3_with_files();
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let (_r, ro) = mounted_drive(
        &agent,
        &a,
        &s3,
        json!({"name": "Read Only", "driveName": "R", "permissionType": 1}),
    );
    let e = std::fs::write(ro.0.join("x.txt"), b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(30), "EROFS: {e}");
    assert_eq!(std::fs::read(ro.0.join("docs/readme.md")).unwrap(), b"# hi");

    let (_n, nd) = mounted_drive(
        &agent,
        &a,
        &s3,
        json!({"name": "Keep", "driveName": "K", "allowDelete": false}),
    );
    let e = std::fs::remove_file(nd.0.join("docs/readme.md")).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(1), "EPERM: {e}");
    assert!(s3.exists(BUCKET, "docs/readme.md"));
    std::fs::write(nd.0.join("docs/added.txt"), b"added").unwrap();
    wait_until("the upload", Duration::from_secs(10), || {
        s3.exists(BUCKET, "docs/added.txt")
    });
}

#[test]
fn pins_hydrate_and_evictions_go_through_the_object_routes() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = s3_with_files();
    let blob = pattern(3 << 20, 5);
    s3.put(BUCKET, "docs/blob.bin", &blob);
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({}));
    let cache = cache_of(&d);
    let file = mount.0.join("docs/blob.bin").display().to_string();
    let q = |route: &str| format!("/management/{route}?path={}", encode(&file));

    let get = |path: String| agent.get(&path).token(&a.token).send().expect(200);
    get(q("object_make_offline"));
    wait_until("the hydration", Duration::from_secs(10), || {
        cache_bytes(&cache) >= blob.len() as u64
    });
    // The drive's reports: the file, its size, the cache and the download in the history.
    let id = d["id"].as_str().unwrap();
    wait_until("the download recorded", Duration::from_secs(10), || {
        a.get(&format!("/drivereport/transfer_activity/{id}?direction=2"))["Total"] == 1
    });
    let summary = a.get(&format!("/drivereport/summary/{id}"));
    assert_eq!(summary["TotalSizeBytes"], blob.len(), "{summary}");
    assert!(summary["CacheSizeBytes"].as_u64().unwrap() >= blob.len() as u64);
    let moved = a.get(&format!("/drivereport/transfer_activity/{id}?direction=2"));
    assert_eq!(moved["Direction"], "Download");
    assert_eq!(moved["Data"][0]["transferredSize"], blob.len(), "{moved}");
    assert_eq!(moved["Data"][0]["sourcePath"], "docs/blob.bin");
    let uploads = a.get(&format!("/drivereport/transfer_activity/{id}?direction=1"));
    assert_eq!(uploads["Total"], 0);
    let refused = a.post(&q("object_remove_from_cache"), json!({}));
    assert_eq!(
        refused.status,
        499,
        "a pinned file stays: {}",
        refused.text()
    );
    a.post(&q("object_remove_offline"), json!({})).expect(200);
    wait_until("the eviction", Duration::from_secs(10), || {
        cache_bytes(&cache) == 0
    });
    get(q("object_download"));
    wait_until("the download", Duration::from_secs(10), || {
        cache_bytes(&cache) >= blob.len() as u64
    });
    a.post(&q("object_remove_from_cache"), json!({}))
        .expect(200);
    assert_eq!(cache_bytes(&cache), 0);
    assert!(
        std::fs::read(&file).unwrap() == blob,
        "fetched again on demand"
    );
    a.post(&q("object_delete"), json!({})).expect(200);
    assert!(!s3.exists(BUCKET, "docs/blob.bin"));
}

/// What a round left to check once the agent is back.
enum Owed {
    /// `key` must reach the bucket with these bytes.
    Upload(String, Vec<u8>),
    /// Every object of folder `from` must end under `to`, none left behind.
    Rename(String, String, Vec<Vec<u8>>),
    /// The pinned file must read whole.
    Pinned(String, Vec<u8>),
}

/// `kill -9` of the agent during uploads, folder renames and hydrations, round after round
/// (CLICK_KILL_ROUNDS, default 21): each restart finishes what the killed agent owed, over
/// the stale mount it left, and every file is intact.
#[test]
fn kill_9_during_uploads_renames_and_hydration_loses_nothing() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let rounds: usize = std::env::var("CLICK_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);
    let mut s3 = s3_with_files();
    let data = DataDir::new();
    let first = data.agent();
    let a = Account::new(&first, "owner@example.com");
    let token = a.token.clone();
    let (d, mount) = mounted_drive(&first, &a, &s3, json!({}));
    let root = mount.0.clone();
    let sync = format!("/management/clouddrive/sync/{}", d["id"].as_str().unwrap());
    drop(a);
    drop(first);
    let mut owed: Vec<Owed> = Vec::new();
    for round in 0..=rounds {
        let agent = data.agent();
        wait_until("the mount", Duration::from_secs(20), || {
            is_mounted(&root) && root.join("docs").exists()
        });
        for o in owed.drain(..) {
            check_owed(&s3, &root, o);
        }
        if round == rounds {
            break;
        }
        let body = pattern(200_000 + round * 1000, round as u64 + 1);
        match round % 3 {
            0 => {
                s3.stop();
                std::fs::write(root.join(format!("up{round}.bin")), &body).unwrap();
                std::thread::sleep(Duration::from_millis(100));
                agent.kill();
                s3.resume();
                owed.push(Owed::Upload(format!("up{round}.bin"), body));
            }
            1 => {
                let files: Vec<Vec<u8>> = (0..30).map(|i| pattern(1000 + i, i as u64)).collect();
                for (i, f) in files.iter().enumerate() {
                    s3.put(BUCKET, &format!("dir{round}/f{i:02}"), f);
                }
                agent.get(&sync).token(&token).send().expect(200);
                wait_until("the new folder", Duration::from_secs(10), || {
                    names(&root).contains(&format!("dir{round}"))
                });
                std::fs::rename(
                    root.join(format!("dir{round}")),
                    root.join(format!("moved{round}")),
                )
                .unwrap();
                agent.kill();
                owed.push(Owed::Rename(
                    format!("dir{round}"),
                    format!("moved{round}"),
                    files,
                ));
            }
            _ => {
                let big = pattern(6 << 20, round as u64 + 100);
                s3.put(BUCKET, &format!("pin{round}.bin"), &big);
                agent.get(&sync).token(&token).send().expect(200);
                let path = root.join(format!("pin{round}.bin")).display().to_string();
                wait_until("the new file", Duration::from_secs(10), || {
                    Path::new(&path).exists()
                });
                let pin = format!("/management/object_make_offline?path={}", encode(&path));
                agent.get(&pin).token(&token).send().expect(200);
                std::thread::sleep(Duration::from_millis(20));
                agent.kill();
                owed.push(Owed::Pinned(format!("pin{round}.bin"), big));
            }
        }
    }
}

/// Regular files under `dir` (an object store's folder may stay behind as an empty
/// directory).
fn regular_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => regular_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

fn check_owed(s3: &S3Server, root: &Path, owed: Owed) {
    match owed {
        Owed::Upload(key, body) => {
            wait_until(
                &format!("the owed upload of {key}"),
                Duration::from_secs(20),
                || std::fs::read(s3.path(BUCKET, &key)).is_ok_and(|b| b == body),
            );
            assert!(std::fs::read(root.join(&key)).unwrap() == body);
        }
        Owed::Rename(from, to, files) => {
            wait_until(
                &format!("the rename of {from}"),
                Duration::from_secs(20),
                || {
                    regular_files(&s3.path(BUCKET, &from)) == 0
                        && (0..files.len()).all(|i| s3.exists(BUCKET, &format!("{to}/f{i:02}")))
                },
            );
            for (i, f) in files.iter().enumerate() {
                let key = format!("{to}/f{i:02}");
                assert!(std::fs::read(s3.path(BUCKET, &key)).unwrap() == *f, "{key}");
                assert!(
                    std::fs::read(root.join(&key)).unwrap() == *f,
                    "{key} in the mount"
                );
            }
        }
        Owed::Pinned(name, body) => {
            assert!(std::fs::read(root.join(&name)).unwrap() == body, "{name}");
        }
    }
}

#[test]
fn a_mirror_drive_holds_every_file_and_refuses_a_cache_too_small() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = s3_with_files();
    let blob = pattern(2 << 20, 13);
    s3.put(BUCKET, "docs/deep/blob.bin", &blob);
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let body = drive_body(
        &agent,
        &a,
        &s3,
        json!({"syncType": 2, "maximumCacheSize": 1 << 20}),
    );
    let refused = a.post("/management/clouddrive", body);
    assert_eq!(refused.status, 499, "{}", refused.text());
    assert!(
        refused.text().contains("maximumCacheSize"),
        "{}",
        refused.text()
    );

    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({"syncType": 2}));
    let cache = cache_of(&d);
    let total = (blob.len() + 10 + 1 + 4) as u64;
    wait_until("the mirror", Duration::from_secs(20), || {
        cache_bytes(&cache) >= total
    });
    s3.put(BUCKET, "docs/later.txt", b"later");
    let sync = format!("/management/clouddrive/sync/{}", d["id"].as_str().unwrap());
    agent.get(&sync).token(&a.token).send().expect(200);
    // Five files, each with its bytes in the cache, before anything reads them.
    wait_until("the new file mirrored", Duration::from_secs(20), || {
        cached_files(&cache) == 5
    });
    assert_eq!(
        std::fs::read(mount.0.join("docs/later.txt")).unwrap(),
        b"later"
    );
    assert!(std::fs::read(mount.0.join("docs/deep/blob.bin")).unwrap() == blob);
}

#[test]
fn a_drive_over_azure_blob_storage_reads_writes_renames_and_deletes() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let az = Azurite::start();
    az.create_container(BUCKET);
    az.put(BUCKET, "docs/readme.md", b"# hi");
    let big = pattern(3 << 20, 5);
    az.put(BUCKET, "big.bin", &big);
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let body = drive_insert_body(&agent, &a.token, az.account("azure"), json!({}));
    let (_d, mount) = mount(&a, body);
    let root = &mount.0;

    assert_eq!(names(root), ["big.bin", "docs"]);
    assert_eq!(std::fs::read(root.join("docs/readme.md")).unwrap(), b"# hi");
    let mut f = std::fs::File::open(root.join("big.bin")).unwrap();
    for (i, at) in [2_900_000u64, 17, 1 << 20, 3_000_000, 123_457]
        .iter()
        .enumerate()
    {
        let mut buf = vec![0u8; 70_000 + i * 1000];
        f.seek(SeekFrom::Start(*at)).unwrap();
        let n = f.read(&mut buf).unwrap();
        let end = (*at as usize + n).min(big.len());
        assert!(n > 0 && buf[..n] == big[*at as usize..end], "at {at}");
    }

    let mut f = std::fs::File::create(root.join("docs/new.txt")).unwrap();
    f.write_all(b"written to a blob").unwrap();
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(
        az.get(BUCKET, "docs/new.txt").unwrap(),
        b"written to a blob"
    );
    std::fs::rename(root.join("docs/new.txt"), root.join("moved.txt")).unwrap();
    assert_eq!(az.get(BUCKET, "moved.txt").unwrap(), b"written to a blob");
    assert!(az.get(BUCKET, "docs/new.txt").is_none());
    std::fs::rename(root.join("docs"), root.join("notes")).unwrap();
    wait_until("the folder rename", Duration::from_secs(15), || {
        az.get(BUCKET, "notes/readme.md").is_some() && az.get(BUCKET, "docs/readme.md").is_none()
    });
    std::fs::remove_file(root.join("moved.txt")).unwrap();
    assert!(az.get(BUCKET, "moved.txt").is_none());
    assert_eq!(names(root), ["big.bin", "notes"]);
}

/// `cloudObjectsEncrypted`: the bucket holds only sealed objects (the format of
/// ARCHITECTURE.md), the mount shows plaintext at plaintext sizes, byte ranges read back from
/// the sealed object once the cache is dropped, a rename keeps the object readable, and an
/// object the drive did not seal reads as an error, never as garbage.
#[test]
fn an_encrypted_drive_keeps_only_ciphertext_in_the_bucket() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = S3Server::start();
    s3.put(BUCKET, "plain.txt", b"put there by another tool");
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({"cloudObjectsEncrypted": true}));
    let root = &mount.0;
    let big = pattern((3 << 20) + 12_345, 21);
    let mut f = std::fs::File::create(root.join("big.bin")).unwrap();
    f.write_all(&big).unwrap();
    f.sync_all().unwrap();
    drop(f);
    std::fs::write(root.join("empty.txt"), b"").unwrap();
    let f = std::fs::File::open(root.join("empty.txt")).unwrap();
    f.sync_all().unwrap();

    let stored = std::fs::read(s3.path(BUCKET, "big.bin")).unwrap();
    assert_eq!(
        &stored[..4],
        b"CLKE",
        "a sealed object starts with the format's magic"
    );
    let chunks = big.len().div_ceil(64 << 10);
    assert_eq!(stored.len(), 25 + big.len() + 16 * chunks);
    assert!(
        !stored.windows(64).any(|w| big[..64] == *w),
        "no plaintext in the bucket"
    );
    assert_eq!(
        std::fs::read(s3.path(BUCKET, "empty.txt")).unwrap().len(),
        25 + 16
    );

    // Sizes are the plaintext's; reads come from the sealed object once the cache is gone.
    std::fs::rename(root.join("big.bin"), root.join("moved.bin")).unwrap();
    assert_eq!(
        std::fs::metadata(root.join("moved.bin")).unwrap().len(),
        big.len() as u64
    );
    let file = root.join("moved.bin").display().to_string();
    a.post(
        &format!(
            "/management/object_remove_from_cache?path={}",
            encode(&file)
        ),
        json!({}),
    )
    .expect(200);
    let cache = cache_of(&d);
    assert_eq!(cache_bytes(&cache), 0);
    let mut f = std::fs::File::open(root.join("moved.bin")).unwrap();
    for at in [3_000_000u64, 65_535, 0, 1 << 20, (3 << 20) + 12_000] {
        let mut buf = vec![0u8; 100_000];
        f.seek(SeekFrom::Start(at)).unwrap();
        let n = f.read(&mut buf).unwrap();
        let end = (at as usize + n).min(big.len());
        assert!(n > 0 && buf[..n] == big[at as usize..end], "at {at}");
    }
    assert!(std::fs::read(root.join("moved.bin")).unwrap() == big);
    assert_eq!(std::fs::read(root.join("empty.txt")).unwrap(), b"");

    // The object routes show plaintext sizes and stream plaintext ranges; presigned URLs
    // (which would hand out the bucket's ciphertext) are refused.
    let info = a.get(&format!("/management/object_info?path={}", encode(&file)));
    assert_eq!(info["size"], big.len(), "{info}");
    let last = big.len() - 1;
    for (start, end) in [(0, 9), (65_530, 1_200_000), (3_000_000, last), (last, last)] {
        let stream = a
            .agent
            .get(&format!(
                "/management/get_object_stream?path={}&start={start}&end={end}",
                encode(&file)
            ))
            .token(&a.token)
            .send()
            .expect(200);
        assert!(stream.body == big[start..=end], "{start}..={end}");
    }
    let all = a
        .agent
        .get(&format!(
            "/management/get_object_stream?path={}&start=0",
            encode(&file)
        ))
        .token(&a.token)
        .send()
        .expect(200);
    assert!(all.body == big, "the whole plaintext");
    let beyond = a
        .agent
        .get(&format!(
            "/management/get_object_stream?path={}&start={}",
            encode(&file),
            big.len()
        ))
        .token(&a.token)
        .send();
    assert_eq!(beyond.status, 499, "a start past the plaintext's end");
    let presign = a.post(
        "/management/generate_presigned_urls",
        json!({"driveName": d["name"], "relativePath": "moved.bin", "uploadKey": "up.bin"}),
    );
    assert_eq!(presign.status, 499, "{}", presign.text());
    assert!(
        std::fs::read(root.join("plain.txt")).is_err(),
        "an object the drive did not seal is an error"
    );
}

/// Whether any file of the cache folder holds `needle`.
fn cache_holds(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir.join("data")).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            std::fs::read(e.path()).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        })
    })
}

#[test]
fn an_encrypted_cache_holds_no_plaintext_and_an_upload_it_owed_survives_kill_9() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let mut s3 = S3Server::start();
    let remote = pattern((2 << 20) + 777, 31);
    s3.put(BUCKET, "remote.bin", &remote);
    let data = DataDir::new();
    let agent = data.agent();
    let a = Account::new(&agent, "owner@example.com");
    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({"localCacheEncrypted": true}));
    let root = mount.0.clone();
    let cache = cache_of(&d);

    // Fetched blocks are sealed in the cache and read back as the object's bytes.
    assert!(std::fs::read(root.join("remote.bin")).unwrap() == remote);
    assert!(
        cache_bytes(&cache) >= remote.len() as u64,
        "the blocks are cached"
    );
    assert!(!cache_holds(&cache, &remote[1000..1064]));

    // Written, edited in place, grown and cut: the mount, the bucket and the model agree.
    let mut model = pattern((1 << 20) + 5, 32);
    std::fs::write(root.join("local.bin"), &model).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(root.join("local.bin"))
        .unwrap();
    for (at, len, seed) in [
        (70_000usize, 3usize, 1u64),
        (65_530, 20, 2),
        (1 << 20, 200_000, 3),
    ] {
        let bytes = pattern(len, seed);
        f.seek(SeekFrom::Start(at as u64)).unwrap();
        f.write_all(&bytes).unwrap();
        model.resize(model.len().max(at + len), 0);
        model[at..at + len].copy_from_slice(&bytes);
    }
    f.set_len(1_100_001).unwrap();
    model.truncate(1_100_001);
    f.sync_all().unwrap();
    drop(f);
    assert!(std::fs::read(root.join("local.bin")).unwrap() == model);
    assert!(std::fs::read(s3.path(BUCKET, "local.bin")).unwrap() == model);
    assert!(!cache_holds(&cache, &model[300_000..300_064]));

    // An upload owed when the agent is killed is finished from the sealed cache at restart.
    let owed = pattern(300_000, 33);
    s3.stop();
    std::fs::write(root.join("owed.bin"), &owed).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!cache_holds(&cache, &owed[1000..1064]));
    agent.kill();
    s3.resume();
    let _again = data.agent();
    wait_until("the owed upload", Duration::from_secs(20), || {
        std::fs::read(s3.path(BUCKET, "owed.bin")).is_ok_and(|b| b == owed)
    });
    wait_until("the mount", Duration::from_secs(20), || {
        is_mounted(&root) && root.join("owed.bin").exists()
    });
    assert!(std::fs::read(root.join("owed.bin")).unwrap() == owed);
}

#[test]
fn a_change_in_the_bucket_reaches_the_kernel_before_its_caches_expire() {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = S3Server::start();
    s3.put(BUCKET, "news.txt", b"old news: 1");
    s3.put(BUCKET, "gone.txt", b"soon gone");
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    // Names and attributes are kept by the kernel for the longest time a drive allows (10 s).
    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({"syncIntervalSeconds": 3600}));
    let root = &mount.0;
    assert_eq!(
        std::fs::read(root.join("news.txt")).unwrap(),
        b"old news: 1"
    );
    assert!(root.join("gone.txt").exists());
    let news = root.join("news.txt").display().to_string();
    let pin = format!("/management/object_make_offline?path={}", encode(&news));
    agent.get(&pin).token(&a.token).send().expect(200);
    let cache = cache_of(&d);

    // Rewritten in place with as many bytes, and deleted, behind the drive's back.
    std::thread::sleep(Duration::from_millis(1100));
    s3.put(BUCKET, "news.txt", b"new news: 2");
    std::fs::remove_file(s3.path(BUCKET, "gone.txt")).unwrap();
    let sync = format!("/management/clouddrive/sync/{}", d["id"].as_str().unwrap());
    agent.get(&sync).token(&a.token).send().expect(200);
    // A file kept offline is fetched again by itself.
    wait_until(
        "the pinned file's new bytes",
        Duration::from_secs(4),
        || cache_holds(&cache, b"new news: 2"),
    );
    // Well within the kernel's 10 s: only an invalidation can make these true this soon.
    wait_until("the new bytes", Duration::from_secs(4), || {
        std::fs::read(root.join("news.txt")).is_ok_and(|b| b == b"new news: 2")
    });
    wait_until("the deletion", Duration::from_secs(4), || {
        !root.join("gone.txt").exists()
    });
}

#[test]
fn a_multipart_upload_cut_by_kill_9_resumes_from_the_parts_sent() {
    upload_cut_and_resumed(false);
}

#[test]
fn a_sealed_multipart_upload_cut_by_kill_9_resumes_under_its_first_nonces() {
    upload_cut_and_resumed(true);
}

fn upload_cut_and_resumed(sealed: bool) {
    if desktop_only("FUSE mounts") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket(BUCKET);
    let data = DataDir::new();
    let agent = data.agent();
    let a = Account::new(&agent, "owner@example.com");
    let (d, mount) = mounted_drive(&agent, &a, &s3, json!({"cloudObjectsEncrypted": sealed}));
    let root = mount.0.clone();
    let cache = cache_of(&d);

    // Parts of 5 MB (the forced transfer profile), 5 at a time: 32, or 13 sealed (the debug
    // build seals slowly).
    let big = pattern(if sealed { 64 << 20 } else { 160 << 20 }, 41);
    std::fs::write(root.join("big.bin"), &big).unwrap();
    // Cut once some parts are in: the server paused (parts in flight get no answer), the
    // agent killed.
    let sent = || -> usize {
        std::fs::read_dir(cache.join("uploads"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|p| p["parts"].as_array().map_or(0, Vec::len))
            .max()
            .unwrap_or(0)
    };
    wait_until("some parts sent", Duration::from_secs(30), || sent() >= 2);
    s3.pause();
    agent.kill();
    s3.unpause();
    assert!(!s3.exists(BUCKET, "big.bin"), "cut before its completion");

    let again = data.agent();
    let stored = if sealed {
        25 + big.len() + 16 * big.len().div_ceil(64 << 10)
    } else {
        big.len()
    };
    wait_until("the upload finished", Duration::from_secs(60), || {
        std::fs::metadata(s3.path(BUCKET, "big.bin")).is_ok_and(|m| m.len() == stored as u64)
    });
    wait_until("the mount", Duration::from_secs(20), || {
        is_mounted(&root) && root.join("big.bin").exists()
    });
    if !sealed {
        assert!(std::fs::read(s3.path(BUCKET, "big.bin")).unwrap() == big);
    }
    // Read from the bucket, not the cache (emptied at start): every chunk opens.
    assert!(std::fs::read(root.join("big.bin")).unwrap() == big);
    // Without the terminal colours the log may carry.
    let log: String = again
        .log()
        .split('\x1b')
        .enumerate()
        .map(|(i, piece)| match piece.find('m') {
            Some(end) if i > 0 => &piece[end + 1..],
            _ => piece,
        })
        .collect();
    let resumed = log
        .lines()
        .find(|l| l.contains("resuming an upload"))
        .unwrap_or_else(|| panic!("the upload was not resumed:\n{log}"));
    let parts: usize = resumed
        .split("parts=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(parts >= 2, "{resumed}");
    // Forgotten once the upload is done (just after the object appears: a loaded machine
    // may show the bucket first).
    let left = || -> Vec<_> {
        let entries = std::fs::read_dir(cache.join("uploads")).unwrap();
        entries.flatten().map(|e| e.file_name()).collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !left().is_empty() {
        let late = std::time::Instant::now() > deadline;
        assert!(!late, "the progress is not forgotten: {:?}", left());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(s3.pending_parts(), 0, "no parts left in the bucket");
}
