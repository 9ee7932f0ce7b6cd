//! WebSocket frames (RFC 6455 section 5) straight to and from the socket: text frames the
//! agent pushes, the control frames a client may send. No heap per frame.

use embedded_io_async::Write;

/// Opcode of a text frame.
pub const OP_TEXT: u8 = 0x1;
/// Opcode of a close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Opcode of a ping.
pub const OP_PING: u8 = 0x9;
/// Opcode of a pong.
pub const OP_PONG: u8 = 0xA;

/// The header of an unmasked server frame (FIN set) for a payload of `len` bytes.
pub fn header(opcode: u8, len: usize, out: &mut [u8; 10]) -> &[u8] {
    out[0] = 0x80 | opcode;
    match len {
        0..=125 => {
            out[1] = len as u8;
            &out[..2]
        }
        126..=0xffff => {
            out[1] = 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            &out[..4]
        }
        _ => {
            out[1] = 127;
            out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            &out[..10]
        }
    }
}

/// Writes one unmasked, final frame and flushes.
pub async fn write_frame<W: Write>(w: &mut W, opcode: u8, payload: &[u8]) -> Result<(), W::Error> {
    let mut head = [0u8; 10];
    w.write_all(header(opcode, payload.len(), &mut head))
        .await?;
    w.write_all(payload).await?;
    w.flush().await
}

/// The close frame with a status code (1000: normal closure).
pub async fn write_close<W: Write>(w: &mut W, code: u16) -> Result<(), W::Error> {
    write_frame(w, OP_CLOSE, &code.to_be_bytes()).await
}

/// A client frame, read in place.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// Its opcode (`OP_*`, or a continuation or binary frame).
    pub opcode: u8,
    /// Whether it is the last frame of its message.
    pub fin: bool,
    /// Where the unmasked payload is in the buffer.
    pub payload: core::ops::Range<usize>,
    /// Bytes of the buffer the frame used.
    pub len: usize,
}

/// Why a client frame cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Clients must mask their frames (RFC 6455 5.1).
    Unmasked,
    /// Bigger than the buffer: the connection is closed (1009).
    TooBig,
}

/// Parses (and unmasks, in place) the first frame in `buf`, the bytes received so far;
/// `Ok(None)` until it is all there. `capacity` is the most the caller's buffer can hold.
pub fn parse(buf: &mut [u8], capacity: usize) -> Result<Option<Frame>, ParseError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (fin, opcode) = (buf[0] & 0x80 != 0, buf[0] & 0x0f);
    if buf[1] & 0x80 == 0 {
        return Err(ParseError::Unmasked);
    }
    let (len, mut at): (u64, usize) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() >= 10 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    let len = usize::try_from(len).map_err(|_| ParseError::TooBig)?;
    let end = at.checked_add(4 + len).ok_or(ParseError::TooBig)?;
    if end > capacity {
        return Err(ParseError::TooBig);
    }
    if end > buf.len() {
        return Ok(None);
    }
    let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    at += 4;
    for (i, b) in buf[at..at + len].iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok(Some(Frame {
        opcode,
        fin,
        payload: at..at + len,
        len: at + len,
    }))
}

/// Pushes the frames of `channel` to a client until it closes, errs, or falls behind (then it is
/// closed with 1008), or `stop` resolves (the agent shuts down: frames already queued go out,
/// then a close with 1000). Answers pings; `buf` holds client frames (a few bytes: clients only
/// send control frames).
pub async fn stream<M, const CAP: usize, const SUBS: usize, const PUBS: usize, S>(
    socket: &mut S,
    mut events: embassy_sync::pubsub::Subscriber<
        '_,
        M,
        alloc::sync::Arc<click_core::events::Event>,
        CAP,
        SUBS,
        PUBS,
    >,
    channel: click_core::events::Channel,
    buf: &mut [u8],
    stop: impl core::future::Future<Output = ()>,
) -> Result<(), S::Error>
where
    M: embassy_sync::blocking_mutex::raw::RawMutex,
    S: embedded_io_async::Read + Write,
{
    use embassy_futures::select::{Either3, select3};
    use embassy_sync::pubsub::WaitResult;
    let mut filled = 0usize;
    let mut stop = core::pin::pin!(stop);
    loop {
        // Shutdown first: then what is queued goes out before the close.
        match select3(
            stop.as_mut(),
            events.next_message(),
            socket.read(&mut buf[filled..]),
        )
        .await
        {
            Either3::First(()) => {
                while let Some(WaitResult::Message(event)) = events.try_next_message() {
                    if event.channel == channel {
                        write_frame(socket, OP_TEXT, event.frame.as_bytes()).await?;
                    }
                }
                return write_close(socket, 1000).await;
            }
            Either3::Second(WaitResult::Message(event)) => {
                if event.channel == channel {
                    write_frame(socket, OP_TEXT, event.frame.as_bytes()).await?;
                }
            }
            Either3::Second(WaitResult::Lagged(_)) => return write_close(socket, 1008).await,
            Either3::Third(read) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                filled += n;
                let capacity = buf.len();
                loop {
                    match parse(&mut buf[..filled], capacity) {
                        Ok(None) => break,
                        Ok(Some(frame)) => {
                            let payload = frame.payload.clone();
                            match frame.opcode {
                                OP_CLOSE => return write_close(socket, 1000).await,
                                OP_PING => {
                                    let mut pong = [0u8; 125];
                                    let len = payload.len().min(125);
                                    pong[..len]
                                        .copy_from_slice(&buf[payload.start..payload.start + len]);
                                    write_frame(socket, OP_PONG, &pong[..len]).await?;
                                }
                                _ => {}
                            }
                            buf.copy_within(frame.len..filled, 0);
                            filled -= frame.len;
                        }
                        Err(_) => return write_close(socket, 1009).await,
                    }
                }
            }
        }
    }
}
