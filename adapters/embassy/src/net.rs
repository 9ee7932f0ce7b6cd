//! The server over embassy-net TCP sockets (feature `net`).
//!
//! embassy-net has no listen backlog: a socket accepts only while it is listening. So a device
//! runs a fixed pool of connection tasks, each looping over [`Server::serve_connections`]:
//! every task keeps one socket listening, and the pool beyond the workers that may run the
//! request path at once is the accept queue. A worker is a request buffer: only connections
//! running the request path hold one, so RAM grows with the workers, not with the pool. A
//! WebSocket holds its task (it waits for events) but not a worker.

use alloc::vec::Vec;
use core::cell::RefCell;

use click_core::Agent;
use click_core::events::Channel;
use click_core::ports::Ports;
use embassy_futures::select::{Either, select};
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::semaphore::{FairSemaphore, Semaphore};
use embassy_sync::watch::Watch;
use embassy_time::{Duration, Timer};

use crate::http::{EmbassyTimer, Outcome, ReadLimits, send_answer, serve_with};
use crate::ports::EventChannel;
use crate::ws;

/// A WebSocket's subscription to the agent's events.
type Subscriber<'s, M, const CAP: usize, const SUBS: usize> = embassy_sync::pubsub::Subscriber<
    's,
    M,
    alloc::sync::Arc<click_core::events::Event>,
    CAP,
    SUBS,
    1,
>;

/// What every connection task of a device shares. `TASKS` is the size of the task pool (plus
/// one for whoever waits for [`Server::stopped`]).
pub struct Server<
    'a,
    P: Ports,
    M: RawMutex,
    const CAP: usize,
    const SUBS: usize,
    const TASKS: usize,
> {
    /// The network stack to accept on.
    pub stack: Stack<'a>,
    /// The TCP port to listen on.
    pub port: u16,
    /// The agent that answers.
    pub agent: &'a Agent<P>,
    /// Where the agent's events arrive (its [`ChannelEvents`](crate::ports::ChannelEvents)
    /// sink publishes here), for the WebSocket connections.
    pub events: &'a EventChannel<M, CAP, SUBS>,
    /// The read deadlines.
    pub limits: ReadLimits,
    /// In arrival order: waiters queue (one waker each) instead of waking one another.
    workers: FairSemaphore<M, TASKS>,
    /// The workers' request buffers (as many as permits: a permit finds one here).
    buffers: Mutex<M, RefCell<Vec<&'a mut [u8]>>>,
    /// Set once, by `command/8` (Exit) or the host: WebSocket connections close with 1000.
    shutdown: Watch<M, bool, TASKS>,
}

impl<'a, P: Ports, M: RawMutex, const CAP: usize, const SUBS: usize, const TASKS: usize>
    Server<'a, P, M, CAP, SUBS, TASKS>
{
    /// One worker per request buffer; a buffer holds one request's head and body, and its
    /// length is the limit for both together.
    pub fn new(
        stack: Stack<'a>,
        port: u16,
        agent: &'a Agent<P>,
        events: &'a EventChannel<M, CAP, SUBS>,
        limits: ReadLimits,
        request_buffers: Vec<&'a mut [u8]>,
    ) -> Self {
        Server {
            stack,
            port,
            agent,
            events,
            limits,
            workers: FairSemaphore::new(request_buffers.len()),
            buffers: Mutex::new(RefCell::new(request_buffers)),
            shutdown: Watch::new(),
        }
    }

    /// Asks every WebSocket to close (its queued frames go out first) and [`Server::stopped`]
    /// to return.
    pub fn stop(&self) {
        self.shutdown.sender().send(true);
    }

    /// Resolves once the server was asked to stop.
    pub async fn stopped(&self) {
        match self.shutdown.receiver() {
            Some(mut rx) => {
                rx.changed_and(|stop| *stop).await;
            }
            // More waiters than `TASKS`: a pool sized against its own declaration.
            None => core::future::pending().await,
        }
    }

    /// Accepts and serves connections on `port`, one at a time, forever. `rx` and `tx` are the
    /// socket's buffers, `frames` holds a WebSocket client's frames (control frames: a few
    /// hundred bytes do).
    pub async fn serve_connections(&self, rx: &mut [u8], tx: &mut [u8], frames: &mut [u8]) -> ! {
        // Read deadlines close slow and idle clients; the socket's own timeout is a backstop.
        let backstop = self
            .limits
            .header_read_timeout_ms
            .max(self.limits.body_read_timeout_ms)
            .saturating_add(1000);
        loop {
            let mut socket = TcpSocket::new(self.stack, rx, tx);
            socket.set_timeout(Some(Duration::from_millis(backstop)));
            if socket.accept(self.port).await.is_ok() {
                self.serve(&mut socket, frames).await;
            }
            socket.close();
            let _ = socket.flush().await;
            socket.abort();
        }
    }

    async fn serve(&self, socket: &mut TcpSocket<'_>, frames: &mut [u8]) {
        loop {
            match self.serve_requests(socket).await {
                // The worker and its buffer are free again: a client slow to take its answer
                // or idle between requests holds only its own task.
                Ok(Outcome::Answered {
                    response,
                    keep_alive,
                }) => {
                    let sent =
                        send_answer(socket, response, keep_alive, &EmbassyTimer, self.limits).await;
                    if !matches!(sent, Ok(true)) || !keep_alive || !self.next_request(socket).await
                    {
                        return;
                    }
                }
                Ok(Outcome::WebSocket(channel, subscriber)) => {
                    return self.stream(socket, subscriber, channel, frames).await;
                }
                Ok(Outcome::Shutdown) => {
                    socket.close();
                    let _ = socket.flush().await;
                    return self.stop();
                }
                Ok(Outcome::Closed) | Err(_) => return,
            }
        }
    }

    /// Runs the request path with a worker and its buffer until a request is answered (the
    /// answer is the caller's to send), the connection ends or it changes protocol.
    async fn serve_requests(
        &self,
        socket: &mut TcpSocket<'_>,
    ) -> Result<Outcome<Option<Subscriber<'_, M, CAP, SUBS>>>, embassy_net::tcp::Error> {
        // The queue holds every task of the pool: it is never full.
        let Ok(_worker) = self.workers.acquire(1).await else {
            return Ok(Outcome::Closed);
        };
        let mut lease = Lease {
            buf: self.buffers.lock(|b| b.borrow_mut().pop()),
            home: &self.buffers,
        };
        let Some(buf) = lease.buf.as_deref_mut() else {
            return Ok(Outcome::Closed);
        };
        // A WebSocket subscribes before its 101 goes out, so it misses nothing raised after.
        serve_with(
            self.agent,
            socket,
            buf,
            |_| self.events.subscriber().ok(),
            &EmbassyTimer,
            self.limits,
        )
        .await
    }

    /// Waits, without a worker, for a kept-alive client's next request: false if none starts
    /// within the header deadline.
    async fn next_request(&self, socket: &TcpSocket<'_>) -> bool {
        let deadline = Timer::after_millis(self.limits.header_read_timeout_ms);
        matches!(
            select(socket.wait_read_ready(), deadline).await,
            Either::First(())
        )
    }

    async fn stream(
        &self,
        socket: &mut TcpSocket<'_>,
        subscriber: Option<Subscriber<'_, M, CAP, SUBS>>,
        channel: Channel,
        frames: &mut [u8],
    ) {
        // WebSocket connections have no idle timeout: the agent pushes when it has something.
        socket.set_timeout(None);
        match subscriber {
            Some(subscriber) => {
                let _ = ws::stream(socket, subscriber, channel, frames, self.stopped()).await;
            }
            // Every subscription is taken: try again later.
            None => {
                let _ = ws::write_close(socket, 1013).await;
            }
        }
    }
}

/// A worker's request buffer, back in the pool when dropped.
struct Lease<'a, 'b, M: RawMutex> {
    buf: Option<&'a mut [u8]>,
    home: &'b Mutex<M, RefCell<Vec<&'a mut [u8]>>>,
}

impl<M: RawMutex> Drop for Lease<'_, '_, M> {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            self.home.lock(|b| b.borrow_mut().push(buf));
        }
    }
}
