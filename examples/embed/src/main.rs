//! `click-example-embed`: an app with the Click API mounted under `/click/`.
//!
//! `click-example-embed [--listen ADDR] [--data-dir DIR] [--config FILE] [--compat]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use click_example_embed::config::{FileConfig, Settings};
use click_example_embed::{Host, serve};
use tokio::net::TcpListener;

const USAGE: &str =
    "usage: click-example-embed [--listen ADDR] [--data-dir DIR] [--config FILE] [--compat]

  --listen ADDR    default 127.0.0.1:8080; port 0 picks a free port
  --data-dir DIR   copies of outgoing mail go to DIR/outbox/*.eml (state stays in memory)
  --config FILE    click-agent's TOML keys this app has: listen, data_dir, compat,
                   allowed_hosts, allowed_origins, [auth], [plan], and [limits]
                   max_body_bytes, max_headers, max_header_bytes, header_read_timeout_ms,
                   body_read_timeout_ms, ws_queue_frames; any other key is refused
  --compat         the documented API exactly: /management/* and WebSockets without a token";

fn main() -> ExitCode {
    match settings(std::env::args().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("click-example-embed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line (winning) over the configuration file.
fn settings(mut args: impl Iterator<Item = String>) -> Result<Settings, String> {
    let (mut listen, mut data_dir, mut config, mut compat) = (None, None, None, false);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--listen" => {
                let addr = value()?;
                listen = Some(addr.parse().map_err(|e| format!("--listen {addr}: {e}"))?);
            }
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--config" => config = Some(PathBuf::from(value()?)),
            "--compat" => compat = true,
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    let file = match config {
        Some(path) => FileConfig::load(&path)?,
        None => FileConfig::default(),
    };
    Ok(file.resolve(listen, data_dir, compat))
}

fn run(settings: Settings) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // The same first line as click-agent: scripts and the tests read the port from it.
        println!("click-agent listening on http://{addr}");
        let host = Arc::new(Host::new(settings));
        tokio::spawn(stop_on_signal(host.clone()));
        serve(listener, host).await;
        Ok(())
    })
}

/// Ctrl-C or SIGTERM stop the app as `command/8` does.
async fn stop_on_signal(host: Arc<Host>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    host.stop();
}
