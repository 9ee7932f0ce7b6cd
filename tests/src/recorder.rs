//! A recording proxy in front of a real server: it forwards every byte unchanged and notes
//! each HTTP request's method, path and headers, so a test can count what the agent asked of
//! its provider (an incremental backup sends only what changed; a write is conditional).
//! Signatures still verify: the agent signs for the proxy's address, which the server sees
//! in the `Host` header it receives. On request it flips a byte of an answer's body, to test
//! that the agent notices.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        (self.headers.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Recorder {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
    corrupt: Arc<AtomicUsize>,
}

impl Recorder {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let corrupt = Arc::new(AtomicUsize::new(0));
        let to_corrupt = corrupt.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let log = log.clone();
                let (client_out, server_in) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let to_corrupt = to_corrupt.clone();
                std::thread::spawn(move || forward_requests(client, server, &log));
                std::thread::spawn(move || copy_answers(server_in, client_out, &to_corrupt));
            }
        });
        Recorder {
            addr,
            seen,
            corrupt,
        }
    }

    /// The next `n` answers to ranged reads (206, with a body) get the body's first byte
    /// flipped on the way: what a faulty network or server could hand over.
    pub fn corrupt_answers(&self, n: usize) {
        self.corrupt.store(n, Ordering::SeqCst);
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in the order they arrived.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

/// Client to server: request heads parsed and noted, bodies passed through by their length.
fn forward_requests(client: TcpStream, mut server: TcpStream, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(client);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let end = line == b"\r\n";
            head.extend_from_slice(&line);
            if end {
                break;
            }
        }
        let request = parse(&head);
        let length: u64 = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let chunked = request.header("transfer-encoding").is_some();
        log.lock().unwrap().push(request);
        if server.write_all(&head).is_err() {
            return;
        }
        if chunked {
            // Not framed here: the rest of the connection goes through as it is.
            let _ = std::io::copy(&mut reader, &mut server);
            return;
        }
        let mut body = (&mut reader).take(length);
        if std::io::copy(&mut body, &mut server).is_err() {
            return;
        }
    }
}

fn copy_answers(mut server: TcpStream, mut client: TcpStream, corrupt: &AtomicUsize) {
    let mut buf = vec![0u8; 1 << 16];
    // An answer with a body was seen whose body has not started yet.
    let mut body_next = false;
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let piece = &mut buf[..n];
        let mut at = body_next.then_some(0);
        body_next = false;
        if let Some(end) = piece.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&piece[..end]).to_ascii_lowercase();
            // Ranged reads (206): a HEAD's 200 names a length it does not send.
            let has_body = head.starts_with("http/1.1 206")
                && head.lines().any(|l| {
                    l.strip_prefix("content-length:")
                        .is_some_and(|v| v.trim().parse::<u64>().is_ok_and(|n| n > 0))
                });
            if has_body && end + 4 < n {
                at = Some(end + 4);
            } else {
                body_next = has_body;
            }
        }
        let take = || {
            corrupt
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                .is_ok()
        };
        if let Some(at) = at
            && take()
        {
            piece[at] ^= 0xff;
        }
        if client.write_all(piece).is_err() {
            break;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}

fn parse(head: &[u8]) -> Request {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Request {
        method,
        target,
        headers,
    }
}
