//! Cloud accounts connected over OAuth (`cloud.md`, OAuth Authorization): Dropbox, Box,
//! OneDrive and Google Drive. These SaaS cannot be reached from here, so the agent talks to
//! local stand-ins that follow each provider's documented authorization, token and account
//! endpoints (`tests/clients/oauth_providers.py`), through its configurable `[oauth.*]` URLs.

use click_blackbox::oauth::{CLIENT_ID, PROVIDERS, Providers};
use click_blackbox::*;

/// Why these tests run against the desktop agent only.
const DESKTOP: &str = "OAuth connections need the desktop agent's HTTP client";

const REDIRECT: &str = "http://localhost:3000/oauth/callback";

fn generate(agent: &Agent, token: &str, provider: &str, body: Value) -> Resp {
    agent
        .post(
            &format!("/cloud/generate_{provider}_authorization_url"),
            body,
        )
        .token(token)
        .send()
}

fn callback(agent: &Agent, token: &str, provider: &str, body: Value) -> Resp {
    agent
        .post(&format!("/cloud/{provider}_authorization_callback"), body)
        .token(token)
        .send()
}

fn start(agent: &Agent, token: &str, provider: &str, name: &str) -> String {
    let body = json!({"redirectURL": REDIRECT, "cloudName": name, "shared": true});
    let url = generate(agent, token, provider, body).expect(200).json();
    url.as_str().expect("the URL as a JSON string").to_string()
}

#[test]
fn each_provider_connects_an_account_through_the_code_flow_with_pkce() {
    if desktop_only(DESKTOP) {
        return;
    }
    let providers = Providers::start();
    let agent = Agent::start_with(Options {
        config: providers.config(""),
        ..Options::default()
    });
    let owner = signup_and_login(&agent, "owner@example.com");
    for (provider, cloud_type) in PROVIDERS {
        let name = format!("My {provider}");
        let url = start(&agent, &owner, provider, &name);
        let base = format!("http://127.0.0.1:{}/{provider}/authorize?", providers.port);
        assert!(url.starts_with(&base), "{url}");
        for part in [
            "response_type=code",
            "code_challenge_method=S256",
            "code_challenge=",
            "state=",
        ] {
            assert!(url.contains(part), "{provider}: {part} missing in {url}");
        }
        assert!(url.contains(&format!("client_id={CLIENT_ID}")), "{url}");
        let offline = match provider {
            "dropbox" => "token_access_type=offline",
            "googledrive" => "access_type=offline",
            "onedrive" => "offline_access",
            _ => "",
        };
        assert!(
            url.contains(offline),
            "{provider} asks for a refresh token: {url}"
        );

        let (code, state) = providers.approve(&url);
        let body = json!({"code": code, "state": state, "error": "", "errorDescription": "",
                          "redirectURL": REDIRECT});
        let account = callback(&agent, &owner, provider, body.clone())
            .expect(200)
            .json();
        assert_eq!(account["cloudType"], cloud_type, "{account}");
        assert_eq!(account["name"], name);
        assert_eq!(account["shared"], true);
        assert_eq!(
            account["secretKey"], "********",
            "the refresh token is never shown"
        );
        assert!(!account["id"].as_str().unwrap().is_empty());
        // The same answer again: the state is spent.
        let again = callback(&agent, &owner, provider, body).expect_error("AUTH");
        assert!(again.contains("already used"), "{again}");
    }
    let listed = agent
        .get("/cloud/accounts")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let types: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["cloudType"].as_u64().unwrap())
        .collect();
    assert_eq!(types.len(), 4, "{listed}");
    for (_, cloud_type) in PROVIDERS {
        assert!(types.contains(&(cloud_type as u64)), "{listed}");
    }
}

#[test]
fn wrong_states_replayed_codes_provider_errors_and_missing_apps_are_refused() {
    if desktop_only(DESKTOP) {
        return;
    }
    let providers = Providers::start();
    let agent = Agent::start_with(Options {
        config: providers.config("box"),
        ..Options::default()
    });
    let owner = signup_and_login(&agent, "owner@example.com");
    let other = signup_and_login(&agent, "other@example.org");
    let answer =
        |code: &str, state: &str| json!({"code": code, "state": state, "redirectURL": REDIRECT});

    // No app registered for Box: the setting to add is named.
    let body = json!({"redirectURL": REDIRECT, "cloudName": "Box", "shared": false});
    let message = generate(&agent, &owner, "box", body).expect_error("DEFAULT");
    assert!(message.contains("[oauth.box] client_id"), "{message}");
    // Bad input.
    let body = json!({"redirectURL": "javascript:alert(1)", "cloudName": "x"});
    generate(&agent, &owner, "dropbox", body).expect_error("DEFAULT");
    agent
        .post("/cloud/generate_dropbox_authorization_url", json!({}))
        .send()
        .expect(401);

    // A state nobody issued; one issued to another user; one for another provider.
    let url = start(&agent, &owner, "dropbox", "D");
    let (code, state) = providers.approve(&url);
    callback(&agent, &owner, "dropbox", answer(&code, "made-up")).expect_error("AUTH");
    callback(&agent, &other, "dropbox", answer(&code, &state)).expect_error("AUTH");
    let url = start(&agent, &owner, "onedrive", "O");
    let (_, onedrive_state) = providers.approve(&url);
    let message =
        callback(&agent, &owner, "dropbox", answer(&code, &onedrive_state)).expect_error("AUTH");
    assert!(message.contains("another provider"), "{message}");

    // A code used once already, with a fresh state: the provider refuses it.
    let url = start(&agent, &owner, "googledrive", "G");
    let (code, state) = providers.approve(&url);
    callback(&agent, &owner, "googledrive", answer(&code, &state)).expect(200);
    let url = start(&agent, &owner, "googledrive", "G2");
    let (_, fresh) = providers.approve(&url);
    let message =
        callback(&agent, &owner, "googledrive", answer(&code, &fresh)).expect_error("ACCESS");
    assert!(message.contains("invalid_grant"), "{message}");

    // The user declined at the provider (OneDrive and Google Drive send error fields).
    let url = start(&agent, &owner, "onedrive", "O2");
    let (_, state) = providers.approve(&url);
    let declined = json!({"code": "", "state": state, "error": "access_denied",
                          "errorDescription": "The user declined.", "redirectURL": REDIRECT});
    let message = callback(&agent, &owner, "onedrive", declined).expect_error("AUTH");
    assert!(message.contains("The user declined."), "{message}");
    // Another redirect URL than the one the flow started with.
    let url = start(&agent, &owner, "dropbox", "D2");
    let (code, state) = providers.approve(&url);
    let elsewhere =
        json!({"code": code, "state": state, "redirectURL": "http://evil.example.com/cb"});
    callback(&agent, &owner, "dropbox", elsewhere).expect_error("AUTH");

    let listed = agent
        .get("/cloud/accounts")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "only the good connection: {listed}"
    );
}

/// The transfer an upload or download started.
fn transfer_id(started: &Value) -> String {
    started["transferId"]
        .as_str()
        .expect("a transferId")
        .to_string()
}

/// Connects `provider` through the whole flow; the new cloud account's id.
fn connect(agent: &Agent, token: &str, providers: &Providers, provider: &str) -> String {
    let url = start(agent, token, provider, &format!("My {provider}"));
    let (code, state) = providers.approve(&url);
    let body = json!({"code": code, "state": state, "redirectURL": REDIRECT});
    let account = callback(agent, token, provider, body).expect(200).json();
    account["id"].as_str().unwrap().to_string()
}

#[test]
fn a_dropbox_account_lists_writes_reads_and_deletes_through_the_dropbox_api() {
    if desktop_only(DESKTOP) {
        return;
    }
    round_trip("dropbox");
}

#[test]
fn a_box_account_lists_writes_reads_and_deletes_through_the_box_api() {
    if desktop_only(DESKTOP) {
        return;
    }
    round_trip("box");
}

#[test]
fn a_onedrive_account_lists_writes_reads_and_deletes_through_microsoft_graph() {
    if desktop_only(DESKTOP) {
        return;
    }
    round_trip("onedrive");
}

#[test]
fn a_google_drive_account_lists_writes_reads_and_deletes_through_the_drive_api() {
    if desktop_only(DESKTOP) {
        return;
    }
    round_trip("googledrive");
}

/// A folder, an upload and a download as transfers, listings, throttling, expired and revoked
/// tokens, a delete and uploads through upload sessions, on an account of `provider`.
fn round_trip(provider: &str) {
    let providers = Providers::start();
    let root = tempfile::tempdir().unwrap();
    let agent = Agent::start_with(transfer_roots(root.path(), &providers.config("")));
    let owner = signup_and_login(&agent, "owner@example.com");
    let id = connect(&agent, &owner, &providers, provider);
    let post = |path: &str, body: Value| agent.post(path, body).token(&owner).send();
    let account = json!({ "id": id });

    // A folder (its parents made on the way): the root's folders are the buckets.
    let folder = json!({"cloudAccount": account, "id": "", "storageName": "Projects",
                        "path": "photos/", "folderName": "2026"});
    post("/cloud/create_folder", folder).expect(200);
    let buckets = post("/cloud/list_buckets", account.clone())
        .expect(200)
        .json();
    assert_eq!(buckets["data"][0]["name"], "Projects", "{buckets}");

    // An upload and a download, as transfers.
    let local = root.path().join("notes.txt");
    std::fs::write(&local, b"hello from the agent").unwrap();
    let upload = json!({"cloudAccount": account, "storageName": "Projects", "uploadPath": "photos",
                        "localFilePath": local.display().to_string()});
    let started = post("/cloud/upload_object", upload).expect(200).json();
    let transfer = transfer_id(&started);
    wait_for_transfer(&agent, &owner, &transfer, "completed");

    let list = |path: &str| {
        let body = json!({"account": account, "request": {"bucketName": "Projects", "path": path,
                          "continuationToken": "", "count": 100}});
        post("/cloud/list_objects", body).expect(200).json()
    };
    let listed = list("photos/");
    let names: Vec<&str> = (listed["data"].as_array().unwrap().iter())
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2026", "notes.txt"], "{listed}");

    let downloads = root.path().join("down");
    std::fs::create_dir_all(&downloads).unwrap();
    let download = json!({"cloudAccount": account, "storageName": "Projects",
                          "objectKey": "photos/notes.txt",
                          "downloadPath": downloads.display().to_string()});
    let started = post("/cloud/download_object", download).expect(200).json();
    let transfer = transfer_id(&started);
    wait_for_transfer(&agent, &owner, &transfer, "completed");
    let got = std::fs::read(downloads.join("notes.txt")).unwrap();
    assert_eq!(got, b"hello from the agent");

    // Throttled: waited out. Expired access tokens: refreshed.
    providers.hook("rate_limit", json!({"count": 2}));
    assert_eq!(list("photos/")["data"].as_array().unwrap().len(), 2);
    let token_path = format!("/{provider}/token");
    let before = providers.calls(&token_path);
    providers.hook("expire_tokens", json!({}));
    assert_eq!(list("photos/")["data"].as_array().unwrap().len(), 2);
    assert_eq!(providers.calls(&token_path), before + 1, "one refresh");

    // Deletes.
    let gone = json!({"cloudAccount": account, "storageName": "Projects",
                      "key": "photos/notes.txt", "id": ""});
    post("/cloud/delete_object", gone).expect(200);
    assert_eq!(list("photos/")["data"].as_array().unwrap().len(), 1);

    // Files over one request go through the provider's upload session, parts in order (a
    // 429 in the middle waited out), and come back whole.
    let mut files = vec![
        ("over-one-request.bin", (4 << 20) + (512 << 10)),
        ("parts.bin", (13 << 20) + 12_345),
    ];
    if provider == "box" {
        // Box's sessions take files of 20 MB and more, in parts of the size it sets (8 MiB
        // here, the engine's being 5 MiB); smaller files go up in one request.
        files.push(("chunked.bin", (20 << 20) + 12_345));
    }
    for (name, size) in files {
        let bytes = pattern(size, size as u64);
        std::fs::write(root.path().join(name), &bytes).unwrap();
        let upload = json!({"cloudAccount": account, "storageName": "Projects",
                            "localFilePath": root.path().join(name).display().to_string()});
        let started = post("/cloud/upload_object", upload).expect(200).json();
        providers.hook("rate_limit", json!({"count": 1}));
        wait_for_transfer(&agent, &owner, &transfer_id(&started), "completed");
        let download = json!({"cloudAccount": account, "storageName": "Projects",
                              "objectKey": name,
                              "downloadPath": downloads.display().to_string()});
        let started = post("/cloud/download_object", download).expect(200).json();
        wait_for_transfer(&agent, &owner, &transfer_id(&started), "completed");
        assert!(
            std::fs::read(downloads.join(name)).unwrap() == bytes,
            "{name} came back whole"
        );
    }
    assert!(
        providers.calls(&format!("/{provider}/upload-session")) >= 1,
        "the file in parts went through an upload session"
    );

    // The user revoked the agent at the provider: a clear refusal, and the account shows
    // `active: false`.
    providers.hook("revoke", json!({}));
    let message = post("/cloud/list_buckets", account.clone()).expect_error("ACCESS");
    assert!(message.contains("connect the account again"), "{message}");
    let shown = agent
        .get(&format!("/cloud/account?id={id}"))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(shown["active"], false, "{shown}");
}

/// Providers that replace the refresh token at each refresh (Box always does) take each one
/// once: the agent refreshes one call at a time per account, uses the newest token, and keeps
/// it in its store for the next start.
#[test]
fn refresh_tokens_a_provider_replaces_are_used_once_and_kept_across_restarts() {
    if desktop_only(DESKTOP) {
        return;
    }
    let providers = Providers::start();
    let data = DataDir::new();
    let options = || Options {
        data_dir: Some(data.path().to_path_buf()),
        config: providers.config(""),
        ..Options::default()
    };
    let agent = Agent::start_with(options());
    let owner = signup_and_login(&agent, "owner@example.com");
    let id = connect(&agent, &owner, &providers, "dropbox");
    let list = |agent: &Agent, token: &str| {
        let body = json!({ "id": id });
        agent.post("/cloud/list_buckets", body).token(token).send()
    };
    providers.hook("rotate_refresh_tokens", json!({"on": true}));

    // Refreshes in a row: each with the token the one before it got.
    for _ in 0..2 {
        providers.hook("expire_tokens", json!({}));
        list(&agent, &owner).expect(200);
    }
    // Eight calls at once after expiry: one refresh serves them all.
    providers.hook("expire_tokens", json!({}));
    let before = providers.calls("/dropbox/token");
    let statuses = concurrently(8, |_| list(&agent, &owner).status);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(providers.calls("/dropbox/token"), before + 1, "one refresh");

    // The next start reads the newest token from the store.
    agent.terminate();
    let agent = Agent::start_with(options());
    let owner = login(&agent, "owner@example.com", PASSWORD);
    providers.hook("expire_tokens", json!({}));
    list(&agent, &owner).expect(200);
    assert!(
        agent
            .log()
            .contains("kept the provider's new refresh token")
    );
}

/// Opt-in: the real services, for each provider whose app is given in the environment
/// (`CLICK_LIVE_<PROVIDER>_CLIENT_ID` and `..._CLIENT_SECRET`, PROVIDER one of DROPBOX, BOX,
/// ONEDRIVE, GOOGLEDRIVE). Someone signs in: the test prints the authorization URL and waits
/// (5 minutes) for the browser's redirect on `CLICK_LIVE_REDIRECT` (default
/// `http://127.0.0.1:53682/`, which the app must allow). Then, in a folder of its own under the
/// bucket `click-live-tests`, it uploads a small file and one of 21 MB (the providers' upload
/// sessions), lists, downloads and compares them, and deletes its folder. Run with
/// `cargo test -p click-blackbox --test cloud_oauth live -- --nocapture`.
#[test]
fn live_services_when_their_apps_are_given() {
    if desktop_only(DESKTOP) {
        return;
    }
    for (provider, _) in PROVIDERS {
        let upper = provider.to_uppercase();
        let var = |name: &str| std::env::var(format!("CLICK_LIVE_{upper}_{name}")).ok();
        match (var("CLIENT_ID"), var("CLIENT_SECRET")) {
            (Some(id), Some(secret)) => live_round_trip(provider, &id, &secret),
            _ => eprintln!("{provider}: no CLICK_LIVE_{upper}_CLIENT_ID/_SECRET, not tried"),
        }
    }
}

fn live_round_trip(provider: &str, client_id: &str, client_secret: &str) {
    let redirect =
        std::env::var("CLICK_LIVE_REDIRECT").unwrap_or_else(|_| "http://127.0.0.1:53682/".into());
    let root = tempfile::tempdir().unwrap();
    let config = format!(
        "[oauth.{provider}]\nclient_id = \"{client_id}\"\nclient_secret = \"{client_secret}\"\n"
    );
    let agent = Agent::start_with(transfer_roots(root.path(), &config));
    let owner = signup_and_login(&agent, "owner@example.com");
    let body = json!({"redirectURL": redirect, "cloudName": "live", "shared": false});
    let url = generate(&agent, &owner, provider, body).expect(200).json();
    eprintln!("\n{provider}: sign in at\n  {}\n", url.as_str().unwrap());
    let (code, state) = browser_redirect(&redirect);
    let body = json!({"code": code, "state": state, "redirectURL": redirect});
    let account = callback(&agent, &owner, provider, body).expect(200).json();
    let account = json!({ "id": account["id"] });
    let post = |path: &str, body: Value| agent.post(path, body).token(&owner).send();

    let bucket = "click-live-tests";
    let since_epoch = std::time::UNIX_EPOCH.elapsed().unwrap().as_millis();
    let folder = format!("run-{}-{since_epoch}", std::process::id());
    let made = json!({"cloudAccount": account, "id": "", "storageName": bucket, "path": "",
                      "folderName": folder});
    post("/cloud/create_folder", made).expect(200);
    let downloads = root.path().join("down");
    std::fs::create_dir_all(&downloads).unwrap();
    for (name, size) in [("small.txt", 1234), ("sessions.bin", 21 << 20)] {
        let bytes = pattern(size, size as u64);
        std::fs::write(root.path().join(name), &bytes).unwrap();
        let upload = json!({"cloudAccount": account, "storageName": bucket, "uploadPath": folder,
                            "localFilePath": root.path().join(name).display().to_string()});
        let started = post("/cloud/upload_object", upload).expect(200).json();
        wait_for_transfer(&agent, &owner, &transfer_id(&started), "completed");
        let download = json!({"cloudAccount": account, "storageName": bucket,
                              "objectKey": format!("{folder}/{name}"),
                              "downloadPath": downloads.display().to_string()});
        let started = post("/cloud/download_object", download).expect(200).json();
        wait_for_transfer(&agent, &owner, &transfer_id(&started), "completed");
        assert!(
            std::fs::read(downloads.join(name)).unwrap() == bytes,
            "{provider}: {name}"
        );
    }
    let body = json!({"account": account, "request": {"bucketName": bucket,
                      "path": format!("{folder}/"), "continuationToken": "", "count": 100}});
    let listed = post("/cloud/list_objects", body).expect(200).json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed}");
    let gone = json!({"cloudAccount": account, "storageName": bucket,
                      "key": format!("{folder}/"), "id": ""});
    post("/cloud/delete_object", gone).expect(200);
    eprintln!("{provider}: the live round trip passed");
}

/// Waits for the browser to come back to `redirect` (an http://127.0.0.1:<port>/ URL): the
/// `code` and `state` it brings.
fn browser_redirect(redirect: &str) -> (String, String) {
    use std::io::{Read, Write};
    let port = redirect
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next()?.parse::<u16>().ok())
        .expect("CLICK_LIVE_REDIRECT is http://127.0.0.1:<port>/");
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "nobody signed in within 5 minutes"
        );
        let Ok((mut stream, _)) = listener.accept() else {
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        };
        stream.set_nonblocking(false).unwrap();
        let mut request = [0u8; 8192];
        let n = stream.read(&mut request).unwrap_or(0);
        let head = String::from_utf8_lossy(&request[..n]).to_string();
        let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| query_param(query, name);
        let page = "You may close this window and go back to the test.";
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(answer.as_bytes());
        if let (Some(code), Some(state)) = (param("code"), param("state")) {
            return (code, state);
        }
    }
}
