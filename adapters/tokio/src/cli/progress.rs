//! Following a transfer to its end: `Progress` frames from `/notification` move the display
//! as bytes arrive, and the transfer's status (asked twice a second, so that a frame missed
//! or a transfer that ended before the socket opened still ends the wait) says when it is
//! over. On a terminal an `indicatif` bar with rate and ETA; otherwise a plain line on stderr
//! at most every second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::Failure;
use super::client::Api;

/// How a transfer ended.
pub struct Outcome {
    pub status: String,
    pub bytes: u64,
    pub seconds: f64,
    pub error: Option<String>,
}

type Socket = async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>;

/// Opens `/notification` before the transfer starts, so that its first frames are seen;
/// `None` if it cannot (the status alone then says how it goes).
pub async fn listen(api: &Api) -> Option<Socket> {
    let url = api.ws_url("/notification");
    async_tungstenite::tokio::connect_async(url)
        .await
        .ok()
        .map(|(socket, _)| socket)
}

/// What the screen shows of one transfer.
enum Display {
    Bar(ProgressBar),
    Lines {
        label: String,
        last: Option<Instant>,
    },
}

impl Display {
    fn new(label: &str) -> Display {
        if !std::io::stderr().is_terminal() {
            return Display::Lines {
                label: label.to_string(),
                last: None,
            };
        }
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = ProgressBar::new(0).with_style(style);
        bar.set_message(label.to_string());
        Display::Bar(bar)
    }

    fn show(&mut self, bytes: u64, total: u64, started: Instant) {
        match self {
            Display::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(bytes);
            }
            Display::Lines { label, last } => {
                if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                    return;
                }
                *last = Some(Instant::now());
                let rate = bytes as f64 / started.elapsed().as_secs_f64().max(0.001);
                let pct = match total {
                    0 => 100.0,
                    t => bytes as f64 * 100.0 / t as f64,
                };
                eprintln!(
                    "{label}: {} of {} ({pct:.0}%), {}/s",
                    mib(bytes),
                    mib(total),
                    mib(rate as u64)
                );
            }
        }
    }

    fn end(self, outcome: &Outcome) {
        if let Display::Bar(bar) = self {
            match outcome.status.as_str() {
                "completed" => bar.finish(),
                _ => bar.abandon(),
            }
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Follows transfer `id` until it completes, fails or is cancelled.
pub async fn follow(
    api: &Api,
    id: &str,
    label: &str,
    mut socket: Option<Socket>,
) -> Result<Outcome, Failure> {
    let started = Instant::now();
    let mut display = Display::new(label);
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            frame = next_frame(&mut socket) => {
                match frame {
                    Some(f) if f["Data"]["TransferId"] == id => {
                        let d = &f["Data"];
                        let size = d["Size"].as_u64().unwrap_or(0);
                        display.show(d["Bytes"].as_u64().unwrap_or(0), size, started);
                    }
                    Some(_) => {}
                    None => socket = None,
                }
            }
            _ = poll.tick() => {
                let s = api.get(&format!("/cloud/client_transfer/{id}/status")).await?;
                let bytes = s["transferredBytes"].as_u64().unwrap_or(0);
                display.show(bytes, s["totalBytes"].as_u64().unwrap_or(0), started);
                let status = s["status"].as_str().unwrap_or("").to_string();
                if matches!(status.as_str(), "completed" | "failed" | "cancelled") {
                    let outcome = Outcome {
                        status,
                        bytes,
                        seconds: started.elapsed().as_secs_f64(),
                        error: s["errorMessage"].as_str().map(str::to_string),
                    };
                    display.end(&outcome);
                    return Ok(outcome);
                }
            }
        }
    }
}

/// The next Progress frame (`Type` 1) of the socket; `None` once it is closed. Without a
/// socket, never.
async fn next_frame(socket: &mut Option<Socket>) -> Option<Value> {
    let Some(s) = socket else {
        return std::future::pending().await;
    };
    loop {
        let message = s.next().await?.ok()?;
        let Ok(text) = message.to_text() else {
            continue;
        };
        if let Ok(frame) = serde_json::from_str::<Value>(text)
            && frame["Type"] == 1
        {
            return Some(frame);
        }
    }
}
