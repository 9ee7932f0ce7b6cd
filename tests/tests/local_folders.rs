//! The local-folder routes of File System Operations (management.md): drives, free drive
//! letters, listings and new folders, on real folders, inside `[transfers] roots` only.

use click_blackbox::{Account, Agent, Options, desktop_only, encode, json};

fn agent_with_root(root: &std::path::Path) -> Agent {
    Agent::start_with(Options {
        config: format!("[transfers]\nroots = [\"{}\"]\n", root.display()),
        ..Options::default()
    })
}

#[test]
fn listings_and_new_folders_stay_inside_the_roots() {
    if desktop_only("a local file system") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    std::fs::create_dir(root.join("Projects")).unwrap();
    std::fs::write(root.join("notes.txt"), b"n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
    let agent = agent_with_root(&root);
    let a = Account::new(&agent, "owner@example.com");
    let dir = root.display().to_string();

    let entries = a.get(&format!(
        "/management/list_files_directories?path={}",
        encode(&dir)
    ));
    let names: Vec<(String, u64)> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fileName"] != "escape")
        .map(|e| {
            assert_eq!(
                e["fullPath"],
                json!(format!("{dir}/{}", e["fileName"].as_str().unwrap()))
            );
            (
                e["fileName"].as_str().unwrap().to_string(),
                e["objectType"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("Projects".to_string(), 2), ("notes.txt".to_string(), 1)]
    );
    let folders = a.get(&format!(
        "/management/list_directories?path={}",
        encode(&dir)
    ));
    assert!(
        folders
            .as_array()
            .unwrap()
            .contains(&json!(format!("{dir}/Projects"))),
        "{folders}"
    );
    assert!(
        !folders
            .as_array()
            .unwrap()
            .contains(&json!(format!("{dir}/notes.txt")))
    );

    // New folders: created once, named plainly, never outside.
    let make = |path: &str, name: &str| {
        a.post(
            "/management/make_directory",
            json!({"path": path, "directoryName": name}),
        )
    };
    make(&dir, "New Folder").expect(200);
    assert!(root.join("New Folder").is_dir());
    make(&dir, "New Folder").expect_error("DUPLICATE");
    make(&dir, "../up").expect_error("SECURITY");
    make(&dir, "..").expect_error("SECURITY");
    make("/etc", "x").expect_error("SECURITY");
    // A link out of the root is outside, once resolved.
    make(&format!("{dir}/escape"), "x").expect_error("SECURITY");
    assert!(!outside.path().join("x").exists());
    agent
        .get(&format!(
            "/management/list_files_directories?path={}",
            encode(&format!("{dir}/escape"))
        ))
        .token(&a.token)
        .send()
        .expect_error("SECURITY");
    agent
        .get(&format!(
            "/management/list_directories?path={}",
            encode(&format!("{dir}/../.."))
        ))
        .token(&a.token)
        .send()
        .expect_error("SECURITY");

    // Mount points include the root file system; every letter is free until a drive takes one.
    let drives = a.get("/management/list_drives");
    assert!(drives.as_array().unwrap().contains(&json!("/")), "{drives}");
    let letters = a.get("/management/list_available_drives");
    assert_eq!(letters.as_array().unwrap().len(), 24);
    assert_eq!(
        (letters[0].clone(), letters[23].clone()),
        (json!("C"), json!("Z"))
    );
}
