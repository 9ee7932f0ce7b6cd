//! The benchmark baselines: a hyper 1 server with the agent's runtime settings (multi-threaded
//! tokio, HTTP/1.1 keep-alive) and none of its work.
//!
//! Usage: `bare-hyper [ADDR] [REPLAY_DIR]` (default 127.0.0.1:0); prints
//! `listening on http://ADDR`. Without REPLAY_DIR every request gets a one-byte JSON body.
//! With it, a request for `/a/b_c` gets the answer recorded in `REPLAY_DIR/a+b_c.http` (header
//! lines, an empty line, the body: what `curl -si` saved from the agent), so the baseline
//! moves the same bytes as the agent and the ratio shows the agent's own cost.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A recorded answer: its headers (without the ones hyper writes itself) and body.
struct Recorded {
    headers: HeaderMap,
    body: Bytes,
}

type Replays = HashMap<String, Recorded>;

/// Splits a `curl -si` capture into headers and body.
fn parse(raw: &[u8]) -> Recorded {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .expect("a blank line after the headers");
    let head = String::from_utf8_lossy(&raw[..split.0]);
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        // hyper writes these itself, as it does for the agent.
        if matches!(name.as_str(), "content-length" | "date" | "connection") {
            continue;
        }
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value.trim()).expect("header value"),
        );
    }
    Recorded {
        headers,
        body: Bytes::copy_from_slice(&raw[split.1..]),
    }
}

fn load(dir: &Path) -> Replays {
    let mut replays = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("replay dir") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let raw = std::fs::read(&path).expect("replay file");
        replays.insert(format!("/{}", stem.replace('+', "/")), parse(&raw));
    }
    replays
}

async fn answer(
    replays: Arc<Replays>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if let Some(r) = replays.get(req.uri().path()) {
        let mut out = hyper::Response::new(Full::new(r.body.clone()));
        *out.headers_mut() = r.headers.clone();
        return Ok(out);
    }
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(b"0")));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(r)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let replays = Arc::new(args.next().map(|d| load(Path::new(&d))).unwrap_or_default());
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().unwrap());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let replays = replays.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(replays.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
