//! The `click-agent` command line beside `serve`: shell completions (clap_complete), which
//! the Debian package installs (`packaging/deb/`).

use std::process::Command;
use std::time::Duration;

use click_blackbox::s3::S3Server;
use click_blackbox::*;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(agent_binary()).args(args).output().unwrap()
}

#[test]
fn completions_load_in_their_shells_and_name_the_commands() {
    if desktop_only("the desktop agent's command line") {
        return;
    }
    let bash = run(&["completions", "bash"]);
    assert!(bash.status.success());
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &bash.stdout).unwrap();
    // bash reads it and completes the subcommands from it.
    let words = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && COMP_WORDS=(click-agent '') COMP_CWORD=1 && _click__agent click-agent '' click-agent && echo \"${{COMPREPLY[@]}}\"",
            script.path().display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&words.stdout);
    for command in ["serve", "routes", "completions"] {
        assert!(offered.contains(command), "bash offers {offered:?}");
    }

    let zsh = String::from_utf8(run(&["completions", "zsh"]).stdout).unwrap();
    assert!(zsh.starts_with("#compdef click-agent"), "{zsh}");
    let fish = String::from_utf8(run(&["completions", "fish"]).stdout).unwrap();
    assert!(fish.contains("complete -c click-agent"), "{fish}");

    let unknown = run(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    let why = String::from_utf8_lossy(&unknown.stderr);
    assert!(why.contains("invalid value 'tcsh'"), "{why}");
}

/// The client commands, run as a script runs them: their own configuration folder, output
/// in pipes.
struct Client {
    config: tempfile::TempDir,
    agent_url: String,
}

impl Client {
    fn new(agent: &Agent) -> Client {
        Client {
            config: tempfile::tempdir().unwrap(),
            agent_url: format!("http://{}", agent.addr),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(agent_binary());
        c.args(args)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env_remove("CLICK_TOKEN")
            .env_remove("CLICK_AGENT");
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }

    fn login(&self) -> (i32, String, String) {
        use std::io::Write;
        let mut child = self
            .command(&[
                "login",
                "--agent",
                &self.agent_url,
                "--username",
                "owner@example.com",
                "--password-stdin",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        let out = child.wait_with_output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }
}

/// An S3 server with the bucket `media`, and an agent whose owner has it as the cloud
/// account "My S3", transferring files under the folder returned.
fn with_s3_account() -> (S3Server, tempfile::TempDir, Agent) {
    let s3 = S3Server::start();
    s3.bucket("media");
    let root = tempfile::tempdir().unwrap();
    let agent = Agent::start_with(transfer_roots(root.path(), ""));
    let owner = signup_and_login(&agent, "owner@example.com");
    insert_cloud_account(&agent, &owner, s3.account("My S3"));
    (s3, root, agent)
}

#[test]
fn login_cp_and_transfers_work_in_pipes_with_json_and_exit_codes_that_say_what_failed() {
    if desktop_only("the desktop agent's command line") {
        return;
    }
    let (s3, root, agent) = with_s3_account();
    let client = Client::new(&agent);

    // Not signed in: 4, and what to do.
    let (code, _, err) = client.run(&["transfers", "list"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("click-agent login"), "{err}");
    let (code, out, err) = client.login();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("signed in to"), "{out}");
    let saved = client.config.path().join("click/cli.json");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the session is the user's alone");

    // An upload and a download, their progress as plain lines (no terminal here).
    let bytes = pattern(6 << 20, 3);
    let file = root.path().join("report.bin");
    std::fs::write(&file, &bytes).unwrap();
    let (code, out, err) = client.run(&["cp", file.to_str().unwrap(), "My S3:media/reports/"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("bytes in"), "{out}");
    assert!(
        !err.contains('\u{1b}'),
        "no terminal codes in a pipe: {err:?}"
    );
    assert!(std::fs::read(s3.path("media", "reports/report.bin")).unwrap() == bytes);

    let down = root.path().join("down");
    std::fs::create_dir_all(&down).unwrap();
    let (code, out, err) = client.run(&[
        "cp",
        "--json",
        "My S3:media/reports/report.bin",
        down.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let outcome: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(outcome["status"], "completed", "{outcome}");
    assert_eq!(outcome["bytes"], bytes.len() as u64);
    assert!(std::fs::read(down.join("report.bin")).unwrap() == bytes);

    let (code, out, _) = client.run(&["transfers", "list", "--json"]);
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["transferId"] == outcome["transferId"])
    );

    // Failures: a local file missing (1), an account the agent does not know (5), an agent
    // that is not there (3).
    let (code, _, err) = client.run(&["cp", "/nonexistent/x.bin", "My S3:media/"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/x.bin"), "{err}");
    let (code, _, err) = client.run(&["cp", file.to_str().unwrap(), "Nope:media/"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no cloud account is named Nope"), "{err}");
    let (code, _, err) = client.run(&["cp", file.to_str().unwrap(), "My S3:media/other.bin"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("uploads keep the file's name"), "{err}");
    let gone = format!("http://127.0.0.1:{}", free_port());
    let out = client
        .command(&["transfers", "list", "--agent", &gone])
        .env("CLICK_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// On a terminal, `cp` draws a progress bar with the rate and the time left (tmux plays the
/// terminal; its screen is read back).
#[test]
fn cp_draws_a_progress_bar_on_a_terminal() {
    if desktop_only("the desktop agent's command line") {
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed (Debian's tmux; .ci/run installs it)");
    }
    let (_s3, root, agent) = with_s3_account();
    let client = Client::new(&agent);
    assert_eq!(client.login().0, 0);
    let file = root.path().join("big.bin");
    std::fs::write(&file, pattern(24 << 20, 5)).unwrap();

    let session = format!("click-cli-{}", std::process::id());
    let script = format!(
        "XDG_CONFIG_HOME={} {} cp {} 'My S3:media/'; echo exit=$?; sleep 30",
        client.config.path().display(),
        agent_binary().display(),
        file.display()
    );
    let tmux = |args: &[&str]| Command::new("tmux").args(args).output().unwrap();
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "24",
        &script,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let mut screen = String::new();
    wait_until("cp to end in tmux", Duration::from_secs(60), || {
        screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout)
            .to_string();
        screen.contains("exit=")
    });
    tmux(&["kill-session", "-t", &session]);
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        screen.contains("[=============================="),
        "a full bar: {screen}"
    );
    assert!(screen.contains("24.00 MiB/24.00 MiB"), "{screen}");
    assert!(screen.contains("/s ETA"), "rate and time left: {screen}");
}

#[test]
fn drives_are_added_listed_and_removed_from_the_command_line() {
    if desktop_only("the desktop agent's command line") {
        return;
    }
    let (s3, _root, agent) = with_s3_account();
    s3.put("media", "docs/readme.md", b"# hi");
    let client = Client::new(&agent);
    assert_eq!(client.login().0, 0);

    let (code, out, err) = client.run(&["drives", "add", "Team", "My S3:media", "--json"]);
    assert_eq!(code, 0, "{err}");
    let drive: Value = serde_json::from_str(out.trim()).unwrap();
    let mount = std::path::PathBuf::from(drive["localPath"].as_str().unwrap());
    wait_until("the drive's files", Duration::from_secs(20), || {
        std::fs::read(mount.join("docs/readme.md")).is_ok_and(|b| b == b"# hi")
    });
    let (code, out, _) = client.run(&["drives", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("Team") && out.contains("media"), "{out}");

    let (code, _, err) = client.run(&["drives", "add", "Team", "My S3:media"]);
    assert_eq!(code, 5, "a second drive of that name is refused: {err}");
    let (code, _, err) = client.run(&["drives", "remove", "Nope"]);
    assert_eq!(code, 5, "{err}");
    let (code, out, err) = client.run(&["drives", "remove", "Team"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed"), "{out}");
    wait_until("the unmount", Duration::from_secs(20), || {
        !click_blackbox::mounts::is_mounted(&mount)
    });
    let (_, out, _) = client.run(&["drives", "list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap(),
        json!([])
    );
}
