//! The agent's API as the command line calls it, and the session `login` saves.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Common, Failure};

const DEFAULT_AGENT: &str = "http://127.0.0.1:29123";

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The user's name (an email address).
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input (its first line); else it is asked for, unechoed.
    #[arg(long)]
    pub password_stdin: bool,
}

/// What `login` keeps: where the agent is and the session's token.
#[derive(Serialize, Deserialize)]
struct Saved {
    agent: String,
    token: String,
    username: String,
}

/// `~/.config/click/cli.json` (the platform's configuration folder).
fn saved_path() -> Result<PathBuf, Failure> {
    let base = dirs::config_dir()
        .ok_or_else(|| Failure::Other("this machine has no configuration folder".into()))?;
    Ok(base.join("click").join("cli.json"))
}

fn saved() -> Option<Saved> {
    let text = std::fs::read_to_string(saved_path().ok()?).ok()?;
    serde_json::from_str(&text).ok()
}

/// The agent's URL: `--agent`, `CLICK_AGENT`, the saved one, or the default.
fn agent_url(common: &Common, saved: Option<&Saved>) -> String {
    let chosen = common.agent.clone();
    let chosen = chosen.or_else(|| std::env::var("CLICK_AGENT").ok());
    let chosen = chosen.or_else(|| saved.map(|s| s.agent.clone()));
    chosen
        .unwrap_or_else(|| DEFAULT_AGENT.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The agent, called with the saved session (or `CLICK_TOKEN`).
pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn open(common: &Common) -> Result<Api, Failure> {
        let saved = saved();
        let base = agent_url(common, saved.as_ref());
        let token = std::env::var("CLICK_TOKEN")
            .ok()
            .or_else(|| saved.filter(|s| s.agent == base).map(|s| s.token))
            .ok_or_else(|| {
                Failure::NotSignedIn(format!(
                    "not signed in to {base}: run `click-agent login --username <you>`"
                ))
            })?;
        Ok(Api {
            base,
            token,
            http: http()?,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, Failure> {
        let request = self.http.get(self.url(path)).bearer_auth(&self.token);
        answer(&self.base, request).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string());
        answer(&self.base, request).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, Failure> {
        let request = self.http.delete(self.url(path)).bearer_auth(&self.token);
        answer(&self.base, request).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The WebSocket URL of `path`, with the session's token.
    pub fn ws_url(&self, path: &str) -> String {
        let base = self.base.replacen("http", "ws", 1);
        format!("{base}{path}?token={}", self.token)
    }
}

fn http() -> Result<reqwest::Client, Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .build()
        .map_err(|e| Failure::Other(format!("cannot start the HTTP client: {e}")))
}

/// The JSON an answer carries, or the failure it means.
async fn answer(base: &str, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
    let response = request.send().await.map_err(|e| {
        Failure::Unreachable(format!(
            "cannot reach the agent at {base}: {}",
            crate::http_client::error_chain(&e.without_url())
        ))
    })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    match status {
        200..=299 if text.trim().is_empty() => Ok(Value::Null),
        200..=299 => serde_json::from_str(&text)
            .map_err(|e| Failure::Other(format!("the agent's answer is not JSON: {e}"))),
        401 => Err(Failure::NotSignedIn(format!(
            "{base} did not accept the session: run `click-agent login` again"
        ))),
        499 => Err(Failure::Refused(problem(&text))),
        _ => Err(Failure::Other(format!(
            "the agent answered {status}: {text}"
        ))),
    }
}

/// The messages of a problem-details body (`{"errors": {"CODE": ["message"]}}`).
fn problem(text: &str) -> String {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    let messages: Vec<String> = body["errors"]
        .as_object()
        .into_iter()
        .flat_map(|errors| errors.iter())
        .flat_map(|(code, list)| {
            let list = list.as_array().cloned().unwrap_or_default();
            list.into_iter()
                .map(move |m| format!("{} ({code})", m.as_str().unwrap_or("")))
        })
        .collect();
    match messages.is_empty() {
        true => text.to_string(),
        false => messages.join("; "),
    }
}

/// `click-agent login`: signs in and saves the session.
pub async fn login(common: &Common, args: LoginArgs) -> Result<(), Failure> {
    let base = agent_url(common, saved().as_ref());
    let password = read_password(args.password_stdin)?;
    let body = json!({"username": args.username, "password": password});
    let request = http()?
        .post(format!("{base}/authentication/login"))
        .header("content-type", "application/json")
        .body(body.to_string());
    let signed_in = answer(&base, request).await?;
    if signed_in["challenge"].as_u64().unwrap_or(0) != 0 {
        return Err(Failure::Refused(
            "this user signs in with a second factor, which the command line does not take \
             yet: create an API token in the app and set CLICK_TOKEN"
                .into(),
        ));
    }
    let token = signed_in["jwtToken"]
        .as_str()
        .ok_or_else(|| Failure::Other("the agent gave no token".into()))?;
    let saved = Saved {
        agent: base.clone(),
        token: token.to_string(),
        username: args.username.clone(),
    };
    save(&saved)?;
    match common.json {
        true => println!("{}", json!({"agent": base, "username": args.username})),
        false => println!("signed in to {base} as {}", args.username),
    }
    Ok(())
}

fn save(saved: &Saved) -> Result<(), Failure> {
    let path = saved_path()?;
    let failed = |e: std::io::Error| Failure::Other(format!("cannot save {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let text = serde_json::to_string_pretty(saved).unwrap_or_default();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)
}

fn read_password(from_stdin: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let asking = !from_stdin && stdin.is_terminal();
    if asking {
        eprint!("password: ");
        set_echo(false);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if asking {
        set_echo(true);
        eprintln!();
    }
    read.map_err(|e| Failure::Other(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Turns the terminal's echo of standard input off or on.
#[cfg(target_os = "linux")]
fn set_echo(on: bool) {
    // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed termios the call fills in.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) == 0 {
            match on {
                true => t.c_lflag |= libc::ECHO,
                false => t.c_lflag &= !libc::ECHO,
            }
            libc::tcsetattr(0, libc::TCSANOW, &t);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn set_echo(_: bool) {}
