//! What the tests run besides the agent, installed on first use.
//!
//! Tools from cargo and npm go into `tools/` of the target directory (the one holding the test
//! executables, so a custom target directory has its own), the first time a test needs them:
//! one test installs while the others, in this process and in any other test process, wait on
//! a lock file there; later runs reuse that copy. A copy installed otherwise (on `PATH`, or in
//! `~/.cargo/bin` for cargo's) is used when there is no copy there. A failed install fails the
//! tests that need the tool, naming the command and showing the end of its output.
//!
//! Packages of the operating system ([`os_package`]) are installed with `apt-get install -y`
//! when the tests run as root; otherwise the test stops and names the one command to run
//! (`sudo apt-get install -y ...`). `tests/require.sh` does the same for the scripts.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The version of `s3s-fs` installed (0.17 needs Rust 1.96).
const S3S_FS: &str = "s3s-fs@0.14.1";
/// Azurite, Microsoft's Azure Storage emulator.
const AZURITE: &str = "azurite@3";
/// The longest an install may take before it counts as failed.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The S3 server `s3s-fs`, installed with `cargo install` on first use.
pub fn s3s_fs() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ready(&FOUND, || {
        let name = format!("s3s-fs{}", std::env::consts::EXE_SUFFIX);
        let dir = tools_dir();
        let local = dir.join("bin").join(&name);
        let elsewhere = || {
            on_path(&name).or_else(|| {
                let home = std::env::var_os("CARGO_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
                Some(home.join("bin").join(&name)).filter(|p| p.is_file())
            })
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut args: Vec<String> = vec![cargo, "install".into(), S3S_FS.into()];
        args.extend(["--features", "binary", "--locked", "--root"].map(String::from));
        args.push(dir.display().to_string());
        install_once("s3s-fs", &dir, &local, elsewhere, &args)
    })
}

/// Azurite's Blob service `azurite-blob`, installed with `npm install` on first use.
pub fn azurite_blob() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ready(&FOUND, || {
        let name = if cfg!(windows) {
            "azurite-blob.cmd"
        } else {
            "azurite-blob"
        };
        let dir = tools_dir();
        let prefix = dir.join("npm");
        let local = prefix.join("node_modules").join(".bin").join(name);
        if !local.is_file() && on_path(name).is_none() {
            // Needed to install; Azurite runs on Node.js, which comes with it.
            os_package_result("npm", &["nodejs", "npm"])?;
        }
        let mut args: Vec<String> = ["npm", "install", "--prefix"].map(String::from).into();
        args.push(prefix.display().to_string());
        args.push(AZURITE.into());
        install_once("Azurite", &dir, &local, || on_path(name), &args)
    })
}

/// The `node_modules` of the test OpenID Provider `tests/idp/oidc.mjs` (oidc-provider, jose),
/// installed with `npm ci` from its lock file on first use.
pub fn idp_modules() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ready(&FOUND, || npm_ci("idp", "oidc-provider"))
}

/// The `node_modules` of the test SAML identity provider `tests/idp/saml/run.cjs`
/// (saml-idp), installed with `npm ci` from its lock file on first use.
pub fn saml_idp_modules() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ready(&FOUND, || npm_ci("idp/saml", "saml-idp"))
}

/// Installs the packages of `tests/<folder>` (its `package.json` and `package-lock.json`)
/// into the tools folder, once per lock file; the `node_modules` holding `probe`.
fn npm_ci(folder: &str, probe: &str) -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let lock = std::fs::read(source.join("package-lock.json"))
        .map_err(|e| format!("tests/{folder}/package-lock.json: {e}"))?;
    // A changed lock file installs into a folder of its own.
    let version = lock
        .iter()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(*b as u32));
    let dir = tools_dir();
    let prefix = dir.join(format!("{}-{version:08x}", folder.replace('/', "-")));
    let modules = prefix.join("node_modules");
    let local = modules.join(probe).join("package.json");
    if !local.is_file() {
        os_package_result("npm", &["nodejs", "npm"])?;
        std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), prefix.join(file))
                .map_err(|e| format!("copy tests/{folder}/{file}: {e}"))?;
        }
    }
    let mut args: Vec<String> = ["npm", "ci", "--no-audit", "--no-fund", "--prefix"]
        .map(String::from)
        .into();
    args.push(prefix.display().to_string());
    install_once(probe, &dir, &local, || None, &args)?;
    Ok(modules)
}

/// Makes sure `command` (a name looked up on `PATH`, or a path) is there, installing the
/// operating system's `packages` with `apt-get install -y` when the tests run as root, and
/// returns its path. Otherwise the test fails at once, naming the command to run.
pub fn os_package(command: &str, packages: &[&str]) -> PathBuf {
    os_package_result(command, packages).unwrap_or_else(|e| panic!("{e}"))
}

/// [`os_package`]'s outcome, worked out once per process and command.
fn os_package_result(command: &str, packages: &[&str]) -> Result<PathBuf, String> {
    static FOUND: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let mut found = FOUND
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    found
        .entry(command.to_string())
        .or_insert_with(|| find_or_install(command, packages))
        .clone()
}

fn find_or_install(command: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let find = || {
        if command.contains('/') {
            Some(PathBuf::from(command)).filter(|p| p.exists())
        } else {
            on_path(command)
        }
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    let list = packages.join(" ");
    let apt = on_path("apt-get");
    if apt.is_none() || !is_root() {
        let mut how = format!("{command} is missing: run `sudo apt-get install -y {list}`");
        if apt.is_none() {
            how.push_str(" (or install the same with your system's package manager)");
        }
        return Err(how);
    }
    let dir = tools_dir();
    let _lock = lock(&dir, "apt", &list)?;
    if let Some(found) = find() {
        return Ok(found);
    }
    let mut args: Vec<String> = ["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=300"]
        .map(String::from)
        .into();
    args.extend(packages.iter().map(|p| p.to_string()));
    let log = dir.join("apt.log");
    note(&format!(
        "{command} is missing: installing {list} (once): {}",
        shown(&args)
    ));
    if run(&args, &dir, &log).is_err() {
        // A fresh machine has no package lists yet.
        let update: Vec<String> = ["apt-get", "update"].map(String::from).into();
        run(&update, &dir, &log)?;
        run(&args, &dir, &log)?;
    }
    find().ok_or_else(|| format!("{command} is still missing after `{}`", shown(&args)))
}

/// `<target dir>/tools`: the folder tools from cargo and npm are installed into.
pub fn tools_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| target_dir().join("tools")).clone()
}

/// The target directory this test executable was built in: cargo marks it with
/// `CACHEDIR.TAG` (`<dir>/<profile>/deps/<test>`, or `<dir>/<triple>/<profile>/deps/<test>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    if let Some(dir) = exe
        .ancestors()
        .skip(1)
        .take(4)
        .find(|d| d.join("CACHEDIR.TAG").is_file())
    {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    exe.ancestors()
        .nth(3)
        .expect("the test executable is in <target>/<profile>/deps")
        .to_path_buf()
}

/// The outcome of a tool's look-up, worked out once per process: every test that needs a tool
/// that could not be installed fails with the same message, none tries again.
fn ready(
    cell: &OnceLock<Result<PathBuf, String>>,
    find: impl FnOnce() -> Result<PathBuf, String>,
) -> PathBuf {
    match cell.get_or_init(find) {
        Ok(path) => path.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// Under the lock of `dir`: `local` if it is installed there, else a copy found `elsewhere`,
/// else `local` after running `install` (a program and its arguments).
fn install_once(
    what: &str,
    dir: &Path,
    local: &Path,
    elsewhere: impl FnOnce() -> Option<PathBuf>,
    install: &[String],
) -> Result<PathBuf, String> {
    let name = what.to_lowercase();
    let _lock = lock(dir, &name, what)?;
    if local.is_file() {
        return Ok(local.to_path_buf());
    }
    if let Some(found) = elsewhere() {
        return Ok(found);
    }
    note(&format!(
        "{what} is missing: installing it into {} (once; a few minutes): {}",
        dir.display(),
        shown(install)
    ));
    let log = dir.join(format!("{name}.log"));
    let started = Instant::now();
    run(install, dir, &log)?;
    if !local.is_file() {
        return Err(format!(
            "`{}` succeeded but {} is not there; its output is in {}",
            shown(install),
            local.display(),
            log.display()
        ));
    }
    note(&format!(
        "{what} installed in {} s",
        started.elapsed().as_secs()
    ));
    Ok(local.to_path_buf())
}

/// Takes the lock `<dir>/<name>.lock` (creating both), waiting while another test thread or
/// process holds it (one lock per tool, so that tools install side by side); released when
/// the file is dropped.
fn lock(dir: &Path, name: &str, what: &str) -> Result<File, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            note(&format!(
                "waiting for another test installing {what} (it holds {})",
                path.display()
            ));
            file.lock()
                .map_err(|e| format!("lock {}: {e}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("lock {}: {e}", path.display()));
        }
    }
    Ok(file)
}

/// Runs `args` in `dir`, its output appended to `log`; an error names the command, its exit
/// status and the last lines of its output.
fn run(args: &[String], dir: &Path, log: &Path) -> Result<(), String> {
    let command = shown(args);
    let mut out = File::options()
        .create(true)
        .append(true)
        .read(true)
        .open(log)
        .map_err(|e| format!("open {}: {e}", log.display()))?;
    let start = out.seek(SeekFrom::End(0)).unwrap_or(0);
    let _ = writeln!(out, "$ {command}");
    let err = out
        .try_clone()
        .map_err(|e| format!("open {}: {e}", log.display()))?;
    let mut child = Command::new(&args[0])
        .args(&args[1..])
        .current_dir(dir)
        // cargo install builds in a directory of its own, not in the tests' target directory.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("`{command}` could not start: {e}"))?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let failure = loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => break status.to_string(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break format!("killed after {} s", INSTALL_TIMEOUT.as_secs());
            }
            Err(e) => break format!("its status is not known: {e}"),
        }
    };
    let mut text = String::new();
    let _ = out.seek(SeekFrom::Start(start));
    let _ = out.read_to_string(&mut text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(format!(
        "`{command}` failed ({failure}); the end of its output (all of it is in {}):\n{tail}",
        log.display()
    ))
}

/// A command line as one would type it.
fn shown(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `name` in a folder of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Tells the person running the tests what is going on, straight to stderr: the test harness
/// captures what `eprintln!` writes until a test ends.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "click-blackbox: {text}");
}
