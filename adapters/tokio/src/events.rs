//! The `EventSink`: fans frames out to WebSocket clients, each with a bounded queue. A client
//! whose queue is full is dropped (its connection closes with 1008); publishing never waits.

use std::sync::Arc;
use std::sync::Mutex;

use async_tungstenite::tungstenite::Utf8Bytes;
use click_core::events::{Channel, Event};
use click_core::ports::EventSink;
use tokio::sync::{Notify, mpsc};

struct Client {
    channel: Channel,
    frames: mpsc::Sender<Utf8Bytes>,
    /// Fired when the hub drops the client, to stop a write that is stuck on a full socket
    /// and send the close instead.
    dropped: Arc<Notify>,
}

/// A subscription held by one WebSocket connection.
pub struct Subscription {
    pub frames: mpsc::Receiver<Utf8Bytes>,
    pub dropped: Arc<Notify>,
}

pub struct Hub {
    clients: Mutex<Vec<Client>>,
    queue_frames: usize,
}

impl Hub {
    pub fn new(queue_frames: usize) -> Hub {
        Hub {
            clients: Mutex::new(Vec::new()),
            queue_frames: queue_frames.max(1),
        }
    }

    pub fn subscribe(&self, channel: Channel) -> Subscription {
        let (tx, rx) = mpsc::channel(self.queue_frames);
        let dropped = Arc::new(Notify::new());
        self.lock().push(Client {
            channel,
            frames: tx,
            dropped: dropped.clone(),
        });
        Subscription {
            frames: rx,
            dropped,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EventSink for Hub {
    fn publish(&self, event: Event) {
        let frame = Utf8Bytes::from(event.frame);
        self.lock().retain(|client| {
            if client.channel != event.channel {
                return !client.frames.is_closed();
            }
            match client.frames.try_send(frame.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        seq = event.seq,
                        "dropping a WebSocket client that does not keep up"
                    );
                    client.dropped.notify_one();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
}
