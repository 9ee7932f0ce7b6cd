//! The dashboard page (`GET /ui/`, an extension): its files are served with headers that
//! allow no inline code, no other origin and no framing, and need no token while the API
//! still does; and, in headless Chromium (Debian `chromium` and `chromium-driver`, installed
//! on first use), a user signs in through the form, opens a backup that has run against a
//! real S3 server (s3s-fs), sees the numbers the report API gives and the test wrote, and sees
//! them change without a reload when a file is added, then a synced folder's report from the
//! list of drives. The screenshots are kept in `<target>/test-output/dashboard/`
//! (`dashboard.png`, with `signin.png` and `drive.png`).

use std::path::PathBuf;
use std::time::Duration;

use click_blackbox::backup::{RUN, body, folder_of, owner, world};
use click_blackbox::browser::Browser;
use click_blackbox::{
    Agent, PASSWORD, Value, desktop_only, drive_insert_body, json, pattern, route_built_in, tools,
    wait_until,
};

const SHOWN: Duration = Duration::from_secs(20);

#[test]
fn the_page_is_served_with_its_security_headers() {
    if !route_built_in("/ui/") {
        eprintln!("skipped: builds without the cloud feature have no dashboard");
        return;
    }
    let agent = Agent::start();
    let page = agent.get("/ui/").send().expect(200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    let csp = page
        .header("content-security-policy")
        .expect("a Content-Security-Policy")
        .to_string();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    for loose in ["unsafe-inline", "unsafe-eval", "*", "http:", "https:"] {
        assert!(!csp.contains(loose), "no {loose} in {csp}");
    }
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("cache-control").is_some());
    let html = page.text();
    assert!(html.contains(r#"<script src="app.js""#), "{html}");
    assert!(html.contains(r#"<link rel="stylesheet" href="app.css">"#));
    for inline in [
        "<script>",
        "<style",
        " style=",
        " onclick=",
        "javascript:",
        "//",
    ] {
        assert!(!html.contains(inline), "no {inline:?} in the page");
    }

    for (file, kind) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let r = agent.get(&format!("/ui/{file}")).send().expect(200);
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with(kind)),
            "{file}: {:?}",
            r.headers
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        // Nothing from another origin: the only URL is SVG's namespace.
        let text = r.text().replace("http://www.w3.org/2000/svg", "");
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{file} names no other origin"
        );
        let tag = r.header("etag").expect("an ETag").to_string();
        let again = agent
            .get(&format!("/ui/{file}"))
            .header("If-None-Match", &tag)
            .send();
        assert_eq!(again.status, 304, "{file} unchanged");
    }
    let bare = agent.get("/ui").send();
    assert_eq!(bare.status, 308);
    assert_eq!(bare.header("location"), Some("ui/"));
    assert_eq!(agent.get("/ui/nope").send().status, 404);
    assert_eq!(agent.get("/ui/app.js/more").send().status, 404);
    assert_eq!(agent.post("/ui/", json!({})).send().status, 405);

    // The page needs no token; the data still does.
    let id = "00000000-0000-0000-0000-000000000001";
    for route in [
        format!("/backupreport/summary/{id}"),
        format!("/drivereport/summary/{id}"),
        "/management/cloudbackup".to_string(),
    ] {
        assert_eq!(agent.get(&route).send().status, 401, "{route}");
    }
}

/// `<target>/test-output/dashboard/`, made if needed: what CI keeps of this test.
fn output_dir() -> PathBuf {
    let dir = tools::target_dir().join("test-output").join("dashboard");
    std::fs::create_dir_all(&dir).expect("create the test output folder");
    dir
}

/// Checks that `png` is a PNG as wide as the browser's window and keeps it in the output
/// folder as `name`; its path.
fn save_png(png: &[u8], name: &str) -> PathBuf {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a PNG: {:?}",
        &png[..8.min(png.len())]
    );
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1280, "the window's width");
    let path = output_dir().join(name);
    std::fs::write(&path, png).expect("save the screenshot");
    eprintln!("screenshot: {}", path.display());
    path
}

#[test]
fn a_signed_in_user_sees_a_backup_report_that_follows_the_backup_and_a_drive_report() {
    if desktop_only("backups, and a browser beside the agent") {
        return;
    }
    let (s3, agent) = world();
    let (a, cloud, folder) = owner(&agent, &s3);
    let files: [(&str, usize); 5] = [
        ("notes.txt", 1_200),
        ("photos/a.jpg", 48_000),
        ("photos/b.jpg", 230_000),
        ("photos/2026/c.jpg", 310_000),
        ("raw/d.raw", 2_100_000),
    ];
    for (i, (name, len)) in files.iter().enumerate() {
        let path = folder.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, pattern(*len, i as u64 + 1)).unwrap();
    }
    let total: usize = files.iter().map(|(_, len)| len).sum();
    let b = a
        .post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200)
        .json();
    let id = b["id"].as_str().unwrap().to_string();
    let summary_route = format!("/backupreport/summary/{id}");
    let normal = |s: &Value, n: usize| {
        s["FilesByState"]
            .as_array()
            .is_some_and(|s| s.iter().any(|p| p["Label"] == "Normal" && p["Value"] == n))
    };
    wait_until("the first run", RUN, || {
        normal(&a.get(&summary_route), files.len())
    });
    let summary = a.get(&summary_route);
    assert_eq!(summary["TotalFiles"], files.len());
    assert_eq!(summary["TotalSizeBytes"], total);
    // A synced folder (a LocalPath drive) beside it, on its own prefix.
    let shared = folder_of(&agent, "Shared");
    std::fs::write(shared.join("plan.pdf"), pattern(70_000, 7)).unwrap();
    let mut drive = drive_insert_body(
        &agent,
        &a.token,
        s3.account("s3 for the drive"),
        json!({"driveType": 2, "localPath": shared.display().to_string(), "prefix": "team/"}),
    );
    drive["name"] = json!("Team folder");
    let drive = a.post("/management/clouddrive", drive).expect(200).json();
    let drive_id = drive["id"].as_str().unwrap().to_string();
    let drive_summary = format!("/drivereport/summary/{drive_id}");
    wait_until("the drive's first pass", RUN, || {
        normal(&a.get(&drive_summary), 1)
    });

    let browser = Browser::start();
    let url = format!("http://{}/ui/", agent.addr);
    browser.goto(&url);

    // A wrong password is refused on the form; the right one signs in.
    browser
        .wait_for("#email", SHOWN)
        .send_keys("owner@example.com");
    save_png(&browser.screenshot(), "signin.png");
    browser
        .wait_for("#password", SHOWN)
        .send_keys("not the password");
    browser.wait_for("#signin-submit", SHOWN).click();
    wait_until("the refusal shown", SHOWN, || {
        browser
            .try_find("#signin-error")
            .is_some_and(|e| e.text().contains("Wrong email or password"))
    });
    let password = browser.wait_for("#password", SHOWN);
    password.clear();
    password.send_keys(PASSWORD);
    browser.wait_for("#signin-submit", SHOWN).click();

    let item = browser.wait_for(
        &format!(r#"button.item[data-kind="backup"][data-id="{id}"]"#),
        SHOWN,
    );
    assert!(item.text().contains("Daily photos"), "{}", item.text());
    item.click();
    browser.wait_for(
        &format!(r#"#report[data-id="{id}"][data-ready="true"]"#),
        SHOWN,
    );
    browser.wait_for(r#"#live[data-live="on"]"#, SHOWN);
    let token = browser.execute(
        "return sessionStorage.getItem('click.dashboard.token');",
        json!([]),
    );
    let token = token.as_str().expect("the token kept in sessionStorage");
    assert!(!token.is_empty());
    assert!(!browser.url().contains(token), "never in the page's URL");

    let shown = |name: &str| -> (u64, String) {
        let e = browser
            .try_find(&format!(r#"#report [data-field="{name}"]"#))
            .unwrap_or_else(|| panic!("no {name} shown"));
        let value = e
            .attribute("data-value")
            .unwrap_or_else(|| panic!("{name} has no value yet"));
        (
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {value:?}")),
            e.text(),
        )
    };
    let check = |files_now: usize, bytes_now: usize| {
        let summary = a.get(&summary_route);
        let health = a.get(&format!("/backupreport/sync_health/{id}"));
        let states = a.get(&format!("/backupreport/file_states/{id}?pageSize=1"));
        assert_eq!(summary["TotalFiles"], files_now, "{summary}");
        assert_eq!(summary["TotalSizeBytes"], bytes_now);
        assert_eq!(
            shown("totalFiles"),
            (files_now as u64, files_now.to_string())
        );
        let (bytes, text) = shown("totalSize");
        assert_eq!(bytes, bytes_now as u64);
        assert_eq!(text, summary["TotalSizeFormatted"].as_str().unwrap());
        assert_eq!(
            shown("totalDirectories").0,
            summary["TotalDirectories"].as_u64().unwrap()
        );
        assert_eq!(
            shown("syncPercent"),
            (
                health["SyncCompletionPercent"].as_u64().unwrap(),
                format!("{}%", health["SyncCompletionPercent"])
            )
        );
        assert_eq!(
            shown("errors").0,
            health["FilesWithErrors"].as_u64().unwrap()
        );
        // Every state the API counts files in, with its count; no other.
        let counted: Vec<(String, u64)> = states["StateCounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["Count"].as_u64() > Some(0))
            .map(|c| {
                (
                    c["State"].as_str().unwrap().to_string(),
                    c["Count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            counted,
            [("Normal".to_string(), files_now as u64)],
            "{states}"
        );
        let rows = browser.execute(
            "return [...document.querySelectorAll('#states .row')]
                .map(r => [r.dataset.state, Number(r.dataset.value)]);",
            json!([]),
        );
        let rows: Vec<(String, u64)> = serde_json::from_value(rows).unwrap();
        assert_eq!(rows, counted, "the file states shown");
        // The size chart has each file in one bar.
        let bars = browser.execute(
            "return [...document.querySelectorAll('#chart-sizes rect.bar')]
                .map(r => Number(r.dataset.value));",
            json!([]),
        );
        let bars: Vec<u64> = serde_json::from_value(bars).unwrap();
        assert_eq!(bars.len(), 6, "the six size buckets");
        assert_eq!(bars.iter().sum::<u64>(), files_now as u64);
    };
    check(files.len(), total);
    let largest = browser
        .try_find("#largest li .fname")
        .expect("the largest files");
    assert_eq!(largest.text(), "d.raw");
    let moved = browser.execute(
        "return [...document.querySelectorAll('#chart-recent rect.bar')]
            .reduce((a, r) => a + Number(r.dataset.value), 0);",
        json!([]),
    );
    assert_eq!(moved, json!(total), "the last hour's transfers, per minute");

    // A new file: the page follows without being loaded again.
    let page_root = browser.try_find("#report").expect("the report");
    std::fs::create_dir_all(folder.join("later")).unwrap();
    std::fs::write(folder.join("later/new.bin"), pattern(5_000, 99)).unwrap();
    wait_until("the new file shown", RUN, || {
        browser
            .try_find(r#"#report [data-field="totalFiles"]"#)
            .and_then(|e| e.attribute("data-value"))
            .is_some_and(|v| v == (files.len() + 1).to_string())
    });
    wait_until("the new file backed up and shown", RUN, || {
        browser
            .try_find(r#"#states .row[data-state="Normal"]"#)
            .and_then(|e| e.attribute("data-value"))
            .is_some_and(|v| v == (files.len() + 1).to_string())
    });
    assert!(page_root.still_attached(), "the page was not loaded again");
    assert_eq!(browser.url(), format!("{url}#backup/{id}"));
    check(files.len() + 1, total + 5_000);
    assert!(
        browser.try_find("#banner").is_some_and(|b| !b.displayed()),
        "no error shown"
    );

    // Leave the charts a moment to settle, then keep the picture.
    std::thread::sleep(Duration::from_millis(300));
    let saved = save_png(&browser.screenshot(), "dashboard.png");
    assert!(std::fs::metadata(saved).unwrap().len() > 10_000);

    // The drive's report, from the other list.
    browser
        .wait_for(
            &format!(r#"button.item[data-kind="drive"][data-id="{drive_id}"]"#),
            SHOWN,
        )
        .click();
    browser.wait_for(
        &format!(r#"#report[data-kind="drive"][data-id="{drive_id}"][data-ready="true"]"#),
        SHOWN,
    );
    let report = a.get(&drive_summary);
    assert_eq!(report["TotalFiles"], 1, "{report}");
    assert_eq!(shown("totalFiles").0, 1);
    assert_eq!(shown("totalSize").0, 70_000);
    assert_eq!(
        browser.try_find("#r-title").map(|t| t.text()).as_deref(),
        Some("Team folder")
    );
    save_png(&browser.screenshot(), "drive.png");

    // Signing out forgets the token here and revokes it at the agent.
    browser.wait_for("#sign-out", SHOWN).click();
    browser.wait_for("#signin-form", SHOWN);
    let kept = browser.execute(
        "return sessionStorage.getItem('click.dashboard.token');",
        json!([]),
    );
    assert_eq!(kept, Value::Null);
    wait_until("the token revoked", SHOWN, || {
        agent.get(&summary_route).token(token).send().status == 401
    });
}
