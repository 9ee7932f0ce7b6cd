//! A WebSocket connection once the core accepted the upgrade: pushes the hub's frames,
//! answers pings, and closes with 1000 when the app stops.

use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::ports::Subscription;
use crate::stopped;

/// How long a closing client gets to take its last frames.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Clients only read; anything they send is small.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

pub(crate) async fn push(
    upgraded: Upgraded,
    mut sub: Subscription,
    mut stop: watch::Receiver<bool>,
) {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_CLIENT_MESSAGE);
    config.max_frame_size = Some(MAX_CLIENT_MESSAGE);
    let io = TokioAdapter::new(TokioIo::new(upgraded));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (mut tx, mut rx) = ws.split();
    loop {
        tokio::select! {
            biased;
            _ = sub.dropped.notified() => return,
            _ = stopped(&mut stop) => {
                // Frames raised before the stop (the AppExit notice) go out first.
                let goodbye = async {
                    while let Ok(frame) = sub.frames.try_recv() {
                        tx.feed(Message::Text(frame)).await?;
                    }
                    let close = CloseFrame { code: CloseCode::Normal, reason: "stopping".into() };
                    tx.close(Some(close)).await
                };
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
                return;
            }
            incoming = rx.next() => match incoming {
                // tungstenite queues the pong while reading; a flush sends it.
                Some(Ok(Message::Ping(_))) => { let _ = tx.flush().await; }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            frame = sub.frames.recv() => {
                let Some(frame) = frame else { return };
                // A client that stopped reading must not hold this task past a drop or a stop.
                let mut stop = stop.clone();
                tokio::select! {
                    biased;
                    _ = sub.dropped.notified() => return,
                    _ = stopped(&mut stop) => return,
                    sent = tx.send(Message::Text(frame)) => if sent.is_err() { return },
                }
            }
        }
    }
}
