//! Upload sessions of the OAuth providers (Dropbox, Box, OneDrive, Google Drive) behind the
//! multipart calls the transfer engine makes. Their sessions take bytes in order, at offsets,
//! while the engine sends numbered parts, several at once: each session here hands out turns
//! by part number, so part N is sent once N-1 was, whatever order they arrive in, at the
//! offset the parts before it reached. A failed part fails the parts waiting behind it.
//! Sessions live in memory: after a restart the engine starts such an upload again
//! (`upload_known` is false).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use click_core::ports::StorageError;
use serde_json::Value;
use tokio::sync::watch;

/// The upload sessions in progress, by the id the provider gave (or the agent made), each
/// with what its parts reached so far: a [`Progress`] unless the provider needs more.
pub struct Sessions<P = Progress>(Mutex<HashMap<String, Arc<Session<P>>>>);

impl<P> Default for Sessions<P> {
    fn default() -> Self {
        Sessions(Mutex::default())
    }
}

pub struct Session<P = Progress> {
    /// The file's size, which some providers want with every piece.
    pub total: u64,
    /// The number of the part whose turn it is; 0 once one failed.
    turn: watch::Sender<u32>,
    state: tokio::sync::Mutex<P>,
}

/// What the parts sent so far reached.
#[derive(Default)]
pub struct Progress {
    /// Bytes the provider has.
    pub offset: u64,
    /// Bytes taken but not sent yet (a provider that wants pieces of a fixed multiple).
    pub held: BytesMut,
    /// What the piece that completed the file answered (its ETag), for the completion.
    pub finished: Option<String>,
}

/// A part's turn: the session's progress, for that part alone.
pub struct Turn<'a, P = Progress> {
    session: &'a Session<P>,
    number: u32,
    pub progress: tokio::sync::MutexGuard<'a, P>,
    done: bool,
}

impl<P: Default> Sessions<P> {
    pub fn start(&self, id: &str, total: u64) {
        self.start_with(id, total, P::default());
    }
}

impl<P> Sessions<P> {
    /// Follows the session `id` of a file of `total` bytes, from `progress`.
    pub fn start_with(&self, id: &str, total: u64, progress: P) {
        let session = Session {
            total,
            turn: watch::Sender::new(1),
            state: tokio::sync::Mutex::new(progress),
        };
        lock(&self.0).insert(id.to_string(), Arc::new(session));
    }

    pub fn get(&self, id: &str) -> Result<Arc<Session<P>>, StorageError> {
        lock(&self.0).get(id).cloned().ok_or_else(|| {
            StorageError::Failed(String::from(
                "the upload session is gone (the agent restarted); the upload starts again",
            ))
        })
    }

    pub fn knows(&self, id: &str) -> bool {
        lock(&self.0).contains_key(id)
    }

    pub fn end(&self, id: &str) {
        lock(&self.0).remove(id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<P> Session<P> {
    /// Waits for part `number`'s turn (parts are numbered from 1).
    pub async fn turn(&self, number: u32) -> Result<Turn<'_, P>, StorageError> {
        let mut rx = self.turn.subscribe();
        let now = *rx
            .wait_for(|n| *n == number || *n == 0)
            .await
            .map_err(|_| StorageError::Failed(String::from("the upload session ended")))?;
        if now == 0 {
            return Err(StorageError::Failed(String::from(
                "an earlier part of this upload failed",
            )));
        }
        Ok(Turn {
            session: self,
            number,
            progress: self.state.lock().await,
            done: false,
        })
    }

    /// The progress once every part had its turn (for the completion).
    pub async fn settled(&self) -> tokio::sync::MutexGuard<'_, P> {
        self.state.lock().await
    }
}

impl<P> Turn<'_, P> {
    /// The part was sent: the next one's turn.
    pub fn done(mut self) {
        self.done = true;
        self.session.turn.send_replace(self.number + 1);
    }
}

impl<P> Drop for Turn<'_, P> {
    /// A part that failed (or was dropped) fails the ones waiting behind it.
    fn drop(&mut self) {
        if !self.done {
            self.session.turn.send_replace(0);
        }
    }
}

/// `held` then `body`, as one piece.
pub fn joined(held: &mut BytesMut, body: Bytes) -> Bytes {
    if held.is_empty() {
        return body;
    }
    held.extend_from_slice(&body);
    held.split().freeze()
}

/// A provider whose sessions take byte ranges (OneDrive, Google Drive): pieces are multiples
/// of `granule` long (the last excepted) and at most `max_piece`; the piece that completes the
/// file is held back until the completion, so that its condition is checked first.
pub struct Ranged {
    pub granule: usize,
    pub max_piece: usize,
}

impl Ranged {
    /// Part `number` of the session `upload_id` in its turn: whole granules sent with
    /// `send(offset, piece, total)`, the rest held for the next part. The part's ETag.
    pub async fn send_part<F, Fut>(
        &self,
        sessions: &Sessions,
        upload_id: &str,
        number: u32,
        body: Bytes,
        send: F,
    ) -> Result<String, StorageError>
    where
        F: Fn(u64, Bytes, u64) -> Fut,
        Fut: Future<Output = Result<Option<Value>, StorageError>>,
    {
        let session = sessions.get(upload_id)?;
        let total = session.total;
        self.part(&session, number, body, |offset, piece| {
            send(offset, piece, total)
        })
        .await?;
        Ok(format!("part-{number}"))
    }

    /// Completes the session once `check` (the write's condition) passed: sends what was
    /// held back; what the provider answered for the whole file. The session ends either way.
    pub async fn complete<F, Fut>(
        &self,
        sessions: &Sessions,
        upload_id: &str,
        check: impl Future<Output = Result<(), StorageError>>,
        send: F,
    ) -> Result<Option<Value>, StorageError>
    where
        F: Fn(u64, Bytes, u64) -> Fut,
        Fut: Future<Output = Result<Option<Value>, StorageError>>,
    {
        let session = sessions.get(upload_id)?;
        let total = session.total;
        let sent = match check.await {
            Ok(()) => {
                self.last(&session, |offset, piece| send(offset, piece, total))
                    .await
            }
            Err(e) => Err(e),
        };
        sessions.end(upload_id);
        sent
    }

    async fn part<F, Fut>(
        &self,
        session: &Session,
        number: u32,
        body: Bytes,
        send: F,
    ) -> Result<(), StorageError>
    where
        F: Fn(u64, Bytes) -> Fut,
        Fut: Future<Output = Result<Option<Value>, StorageError>>,
    {
        let mut turn = session.turn(number).await?;
        let data = joined(&mut turn.progress.held, body);
        let offset = turn.progress.offset;
        let sendable = if offset + data.len() as u64 >= session.total {
            0
        } else {
            data.len() / self.granule * self.granule
        };
        self.pieces(offset, data.slice(..sendable), &send).await?;
        turn.progress.offset += sendable as u64;
        turn.progress.held = BytesMut::from(&data[sendable..]);
        turn.done();
        Ok(())
    }

    /// Sends what was held back, which completes the file: what the provider answered.
    async fn last<F, Fut>(&self, session: &Session, send: F) -> Result<Option<Value>, StorageError>
    where
        F: Fn(u64, Bytes) -> Fut,
        Fut: Future<Output = Result<Option<Value>, StorageError>>,
    {
        let mut progress = session.settled().await;
        let last = progress.held.split().freeze();
        self.pieces(progress.offset, last, &send).await
    }

    async fn pieces<F, Fut>(
        &self,
        offset: u64,
        data: Bytes,
        send: &F,
    ) -> Result<Option<Value>, StorageError>
    where
        F: Fn(u64, Bytes) -> Fut,
        Fut: Future<Output = Result<Option<Value>, StorageError>>,
    {
        let mut answer = None;
        let mut at = 0;
        while at < data.len() {
            let piece = data.slice(at..(at + self.max_piece).min(data.len()));
            at += piece.len();
            answer = send(offset + (at - piece.len()) as u64, piece).await?;
        }
        Ok(answer)
    }
}

/// `Content-Range` of `len` bytes at `offset` of a file of `total` bytes.
pub fn content_range(offset: u64, len: usize, total: u64) -> String {
    format!("bytes {offset}-{}/{total}", offset + len as u64 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_take_their_turns_in_order_whatever_order_they_come_in() {
        let sessions: Sessions = Sessions::default();
        sessions.start("s", 30);
        let session = sessions.get("s").unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for number in [3u32, 1, 2] {
            let (session, order) = (session.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let mut turn = session.turn(number).await.unwrap();
                lock(&order).push((number, turn.progress.offset));
                turn.progress.offset += 10;
                turn.done();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock(&order), [(1, 0), (2, 10), (3, 20)]);
    }

    #[tokio::test]
    async fn a_failed_part_fails_the_parts_behind_it() {
        let sessions: Sessions = Sessions::default();
        sessions.start("s", 30);
        let session = sessions.get("s").unwrap();
        let waiting = {
            let session = session.clone();
            tokio::spawn(async move { session.turn(2).await.map(drop) })
        };
        drop(session.turn(1).await.unwrap());
        assert!(waiting.await.unwrap().is_err());
        assert!(sessions.get("gone").is_err());
    }
}
