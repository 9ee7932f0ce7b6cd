//! A WebSocket client over a plain TCP stream (tungstenite).

use std::net::TcpStream;
use std::time::Duration;

pub use tungstenite::Error;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use crate::{Agent, Value};

pub struct Socket {
    pub inner: WebSocket<TcpStream>,
}

pub fn connect(agent: &Agent, path: &str, headers: &[(&str, &str)]) -> Result<Socket, Error> {
    let url = format!("ws://{}{path}", agent.host());
    let mut request = url.into_client_request()?;
    for (n, v) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let stream = TcpStream::connect(agent.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (inner, _) = tungstenite::client(request, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => Error::ConnectionClosed,
    })?;
    Ok(Socket { inner })
}

/// What the next read gave.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Close(Option<u16>),
    /// Nothing within the timeout.
    Timeout,
    /// The connection ended without a close frame, or failed.
    Gone,
}

impl Socket {
    pub fn set_timeout(&mut self, t: Duration) {
        self.inner.get_mut().set_read_timeout(Some(t)).unwrap();
    }

    pub fn read_frame(&mut self) -> Frame {
        loop {
            match self.inner.read() {
                Ok(Message::Text(t)) => {
                    return Frame::Json(serde_json::from_str(&t).expect("JSON frame"));
                }
                Ok(Message::Close(c)) => return Frame::Close(c.map(|c| u16::from(c.code))),
                Ok(_) => continue,
                Err(Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Frame::Timeout;
                }
                Err(_) => return Frame::Gone,
            }
        }
    }

    /// The `State` of every `/statechange` frame for `path`, in order, from the frames that
    /// arrive until none comes for `quiet` (at most 1,000 frames read); each frame for it
    /// must name `storage` as its `StorageName`.
    pub fn states_of(&mut self, path: &str, storage: &str, quiet: Duration) -> Vec<u64> {
        self.set_timeout(quiet);
        let mut states = Vec::new();
        for _ in 0..1000 {
            let Frame::Json(frame) = self.read_frame() else {
                break;
            };
            if frame["Path"] == path {
                assert_eq!(frame["StorageName"], storage, "{frame}");
                states.push(frame["State"].as_u64().expect("a numeric State"));
            }
        }
        states
    }

    /// The next JSON frame, or a panic naming what came instead.
    #[track_caller]
    pub fn next_json(&mut self) -> Value {
        match self.read_frame() {
            Frame::Json(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}
