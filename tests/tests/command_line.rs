//! The `click-agent` command line beside `serve`: shell completions (clap_complete), which
//! the Debian package installs (`packaging/deb/`).

use std::process::Command;

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
