//! HTTP/1.1 over a byte stream: one request at a time in the caller's buffer, keep-alive and
//! pipelining, bounded head and body, the core answering.

use click_core::events::Channel;
use click_core::ports::Ports;
use click_core::{Agent, ApiError, Header, HostAction, Method, Request, Response};
use core::fmt::Write as _;
use embedded_io_async::{Read, Write};

/// Headers beyond this make a 431.
pub const MAX_HEADERS: usize = 32;

/// How a connection ended, or (from [`serve_with`]) where it stands.
#[derive(Debug)]
pub enum Outcome<U> {
    /// The client closed it, or asked to, or sent something that ends it.
    Closed,
    /// The core accepted a WebSocket upgrade: the caller streams this channel's frames, with
    /// what its `on_upgrade` made before the 101 went out (its event subscription, so that no
    /// event raised after the client saw the 101 is missed).
    WebSocket(Channel, U),
    /// `command/8` (Exit): the caller stops the device's server.
    Shutdown,
    /// (From [`serve_with`] only.) A request was answered and nothing of a next one is here:
    /// the caller gives the request buffer back before it sends `response` with
    /// [`send_answer`] (a client slow to take it holds no buffer), and, if `keep_alive`, waits
    /// for the client's next request without one (an idle client must not starve the others),
    /// then calls [`serve_with`] again.
    Answered {
        /// The answer, not sent yet.
        response: Response,
        /// Whether the connection stays open for another request.
        keep_alive: bool,
    },
}

/// The host's timer, for read deadlines: embassy-time on a device; none where a connection
/// cannot stall (in-memory tests, the firmware's self-test).
pub trait Timer {
    /// Resolves `ms` milliseconds from now.
    fn after(&self, ms: u64) -> impl core::future::Future<Output = ()>;
}

/// No deadlines.
pub struct NoTimer;

impl Timer for NoTimer {
    async fn after(&self, _: u64) {
        core::future::pending::<()>().await
    }
}

/// embassy-time's timer.
pub struct EmbassyTimer;

impl Timer for EmbassyTimer {
    async fn after(&self, ms: u64) {
        embassy_time::Timer::after_millis(ms).await
    }
}

/// How long a client may take, as `[limits]` configures it on the desktop.
#[derive(Clone, Copy, Debug)]
pub struct ReadLimits {
    /// For a request's head, counted from when the connection starts waiting for it (so an
    /// idle keep-alive connection is closed too); the connection closes without an answer.
    pub header_read_timeout_ms: u64,
    /// For a request's body once its head is in (408 and the connection closes), and for a
    /// response to be taken by the client (the connection closes).
    pub body_read_timeout_ms: u64,
}

/// Serves requests on `socket` until it closes or changes protocol. `buf` holds one request's
/// head and body; its length is the limit for both together. `on_upgrade` runs when the core
/// accepts a WebSocket upgrade, before the 101 is written.
pub async fn serve<P: Ports, S: Read + Write, U>(
    agent: &Agent<P>,
    socket: &mut S,
    buf: &mut [u8],
    on_upgrade: impl FnMut(Channel) -> U,
) -> Result<Outcome<U>, S::Error> {
    let unlimited = ReadLimits {
        header_read_timeout_ms: u64::MAX,
        body_read_timeout_ms: u64::MAX,
    };
    let mut on_upgrade = on_upgrade;
    loop {
        match serve_with(agent, socket, buf, &mut on_upgrade, &NoTimer, unlimited).await? {
            Outcome::Answered {
                response,
                keep_alive,
            } => {
                if !send_answer(socket, response, keep_alive, &NoTimer, unlimited).await?
                    || !keep_alive
                {
                    return Ok(Outcome::Closed);
                }
            }
            ended => return Ok(ended),
        }
    }
}

/// Sends `response`; false if the client did not take it within the body deadline (a client
/// that does not read must not keep what serves it).
pub async fn send_answer<S: Write>(
    socket: &mut S,
    response: Response,
    keep_alive: bool,
    timer: &impl Timer,
    limits: ReadLimits,
) -> Result<bool, S::Error> {
    use embassy_futures::select::{Either, select};
    let deadline = timer.after(limits.body_read_timeout_ms);
    match select(send(socket, response, keep_alive), deadline).await {
        Either::First(sent) => sent.map(|()| true),
        Either::Second(()) => Ok(false),
    }
}

/// A read that gives up when `deadline` passes first.
async fn read_until<S: Read>(
    socket: &mut S,
    buf: &mut [u8],
    deadline: core::pin::Pin<&mut impl core::future::Future<Output = ()>>,
) -> Option<Result<usize, S::Error>> {
    use embassy_futures::select::{Either, select};
    match select(socket.read(buf), deadline).await {
        Either::First(r) => Some(r),
        Either::Second(()) => None,
    }
}

/// [`serve`], with read and write deadlines, returning [`Outcome::Answered`] between requests.
pub async fn serve_with<P: Ports, S: Read + Write, U>(
    agent: &Agent<P>,
    socket: &mut S,
    buf: &mut [u8],
    mut on_upgrade: impl FnMut(Channel) -> U,
    timer: &impl Timer,
    limits: ReadLimits,
) -> Result<Outcome<U>, S::Error> {
    let mut filled = 0usize;
    loop {
        let mut head_deadline = core::pin::pin!(timer.after(limits.header_read_timeout_ms));
        let head = loop {
            if let Some(end) = head_end(&buf[..filled]) {
                break end;
            }
            if filled == buf.len() {
                send_answer(
                    socket,
                    ApiError::HeadersTooLarge.into_response(),
                    false,
                    timer,
                    limits,
                )
                .await?;
                return Ok(Outcome::Closed);
            }
            let Some(read) = read_until(socket, &mut buf[filled..], head_deadline.as_mut()).await
            else {
                return Ok(Outcome::Closed);
            };
            let n = read?;
            if n == 0 {
                return Ok(Outcome::Closed);
            }
            filled += n;
        };
        // The parsed head borrows its part of the buffer while the body is read into the rest.
        let (head_bytes, rest) = buf.split_at_mut(head);
        let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let (parsed, body_len) = match parse_head(head_bytes, &mut raw) {
            Ok(parsed) => parsed,
            Err(e) => {
                send_answer(socket, e.into_response(), false, timer, limits).await?;
                return Ok(Outcome::Closed);
            }
        };
        if body_len > rest.len() {
            let too_large = ApiError::PayloadTooLarge(rest.len()).into_response();
            send_answer(socket, too_large, false, timer, limits).await?;
            return Ok(Outcome::Closed);
        }
        let mut body_deadline = core::pin::pin!(timer.after(limits.body_read_timeout_ms));
        while filled < head + body_len {
            let Some(read) =
                read_until(socket, &mut rest[filled - head..], body_deadline.as_mut()).await
            else {
                send_answer(
                    socket,
                    ApiError::RequestTimeout.into_response(),
                    false,
                    timer,
                    limits,
                )
                .await?;
                return Ok(Outcome::Closed);
            };
            let n = read?;
            if n == 0 {
                return Ok(Outcome::Closed);
            }
            filled += n;
        }
        let (response, keep_alive) = answer(agent, &parsed, &rest[..body_len]).await;
        let action = response.action;
        let keep_alive = keep_alive && action != Some(HostAction::Shutdown);
        let upgrade = match action {
            Some(HostAction::Upgrade(channel)) => Some((channel, on_upgrade(channel))),
            _ => None,
        };
        let rest = filled - (head + body_len);
        if upgrade.is_none() && action != Some(HostAction::Shutdown) && rest == 0 {
            return Ok(Outcome::Answered {
                response,
                keep_alive,
            });
        }
        if !send_answer(socket, response, keep_alive, timer, limits).await? {
            return Ok(Outcome::Closed);
        }
        if let Some((channel, prepared)) = upgrade {
            return Ok(Outcome::WebSocket(channel, prepared));
        }
        if action == Some(HostAction::Shutdown) {
            return Ok(Outcome::Shutdown);
        }
        if !keep_alive {
            return Ok(Outcome::Closed);
        }
        // Pipelined bytes of the next request move to the front.
        buf.copy_within(head + body_len..filled, 0);
        filled = rest;
    }
}

/// The length of the head, blank line included, once it is all there.
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// The request line and headers of a complete head, and the length of the body that follows.
fn parse_head<'h, 'b>(
    head: &'b [u8],
    headers: &'h mut [httparse::Header<'b>; MAX_HEADERS],
) -> Result<(httparse::Request<'h, 'b>, usize), ApiError> {
    let mut req = httparse::Request::new(headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(ApiError::HeadersTooLarge),
        _ => return Err(ApiError::BadRequest("The request is not valid HTTP/1.1.")),
    }
    let mut length = 0usize;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ApiError::BadRequest(
                "Chunked bodies are not accepted here: send a Content-Length.",
            ));
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            length = core::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or(ApiError::BadRequest("Content-Length is not a number."))?;
        }
    }
    Ok((req, length))
}

/// Lets the core answer a parsed request; and whether the connection stays open.
async fn answer<P: Ports>(
    agent: &Agent<P>,
    req: &httparse::Request<'_, '_>,
    body: &[u8],
) -> (Response, bool) {
    let mut headers = [Header {
        name: "",
        value: &[],
    }; MAX_HEADERS];
    let count = req.headers.len();
    for (slot, h) in headers.iter_mut().zip(req.headers.iter()) {
        *slot = Header {
            name: h.name,
            value: h.value,
        };
    }
    let headers = &headers[..count];
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let close = headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close")
    });
    let keep_alive = req.version == Some(1) && !close;
    let request = Request {
        method: Method::parse(req.method.unwrap_or("")),
        path,
        query,
        headers,
        body,
    };
    (agent.handle(&request).await, keep_alive)
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        499 => "Client Error",
        500 => "Internal Server Error",
        _ => "",
    }
}

/// A line of at most `N` bytes, formatted on the stack.
struct Line<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Line<N> {
    fn new() -> Self {
        Line {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<const N: usize> core::fmt::Write for Line<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

async fn send<S: Write>(
    socket: &mut S,
    response: Response,
    keep_alive: bool,
) -> Result<(), S::Error> {
    let mut line = Line::<64>::new();
    let _ = write!(
        line,
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    socket.write_all(line.as_bytes()).await?;
    for (name, value) in &response.headers {
        for part in [name.as_bytes(), b": ", value.as_bytes(), b"\r\n"] {
            socket.write_all(part).await?;
        }
    }
    if response.status != 101 {
        let mut line = Line::<64>::new();
        let _ = write!(line, "content-length: {}\r\n", response.body.len());
        socket.write_all(line.as_bytes()).await?;
        if !keep_alive {
            socket.write_all(b"connection: close\r\n").await?;
        }
    }
    socket.write_all(b"\r\n").await?;
    socket.write_all(&response.body).await?;
    socket.flush().await
}
