//! A WebSocket connection after the core accepted the upgrade: pushes the hub's frames,
//! answers pings, closes with 1000 when the agent shuts down and with 1008 when the hub drops
//! the client for falling behind (as the embassy adapter does).

use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::{
    CloseFrame, Role, WebSocketConfig, frame::coding::CloseCode,
};
use async_tungstenite::{WebSocketSender, WebSocketStream};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::sync::watch;

use crate::events::Subscription;
use crate::server::stopped;

const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// A client that stopped reading has a full socket to drain before it can see why it was
/// dropped; it gets this long, then the connection is cut.
const LAGGING_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

type Sender = WebSocketSender<TokioAdapter<TokioIo<Upgraded>>>;

pub async fn run(upgraded: Upgraded, mut sub: Subscription, mut shutdown: watch::Receiver<bool>) {
    let mut config = WebSocketConfig::default();
    // Clients only read; anything they send is small.
    config.max_message_size = Some(64 * 1024);
    config.max_frame_size = Some(64 * 1024);
    let ws = WebSocketStream::from_raw_socket(
        TokioAdapter::new(TokioIo::new(upgraded)),
        Role::Server,
        Some(config),
    )
    .await;
    let (mut tx, mut rx) = ws.split();
    loop {
        tokio::select! {
            biased;
            _ = sub.dropped.notified() => return close_lagging(&mut tx, &mut shutdown).await,
            _ = stopped(&mut shutdown) => {
                // Frames raised before the shutdown (the AppExit notice) go out first.
                let goodbye = async {
                    while let Ok(frame) = sub.frames.try_recv() {
                        tx.feed(Message::Text(frame)).await?;
                    }
                    let close = CloseFrame { code: CloseCode::Normal, reason: "agent shutting down".into() };
                    tx.close(Some(close)).await
                };
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
                return;
            }
            incoming = rx.next() => match incoming {
                // Pongs are queued by tungstenite while reading and go out with the next write.
                Some(Ok(Message::Ping(_))) => { let _ = tx.flush().await; }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            frame = sub.frames.recv() => {
                let Some(frame) = frame else { return };
                // A stuck write must not outlive a drop or a shutdown.
                let mut stop = shutdown.clone();
                tokio::select! {
                    biased;
                    _ = sub.dropped.notified() => return close_lagging(&mut tx, &mut shutdown).await,
                    sent = tx.send(Message::Text(frame)) => if sent.is_err() { return },
                    _ = stopped(&mut stop) => return,
                }
            }
        }
    }
}

/// Tells a client the hub dropped why (policy violation: it did not keep up), unless the
/// agent stops meanwhile.
async fn close_lagging(tx: &mut Sender, shutdown: &mut watch::Receiver<bool>) {
    let close = CloseFrame {
        code: CloseCode::Policy,
        reason: "client too slow".into(),
    };
    tokio::select! {
        _ = tokio::time::timeout(LAGGING_CLOSE_TIMEOUT, tx.close(Some(close))) => {}
        _ = stopped(shutdown) => {}
    }
}
