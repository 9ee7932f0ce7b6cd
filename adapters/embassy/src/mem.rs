//! An in-memory connection: reads a script of bytes (then end of stream) and records what is
//! written. The request path runs over it in the host tests and in the firmware's self-test,
//! where no network exists.

use alloc::vec::Vec;

/// An `embedded-io-async` stream that reads a script and records the writes.
pub struct Scripted<'a> {
    input: &'a [u8],
    /// At most this many bytes per read, as a network delivers them in pieces.
    piece: usize,
    /// After the script: wait forever, like a client that keeps its socket open, instead of
    /// ending the stream.
    hold_open: bool,
    /// Everything written so far.
    pub output: Vec<u8>,
}

impl<'a> Scripted<'a> {
    /// A stream that reads `input` in pieces of at most `piece` bytes, then ends.
    pub fn new(input: &'a [u8], piece: usize) -> Scripted<'a> {
        Scripted {
            input,
            piece: piece.max(1),
            hold_open: false,
            output: Vec::new(),
        }
    }

    /// Like [`Scripted::new`], but the stream stays open once the script is read.
    pub fn held_open(input: &'a [u8], piece: usize) -> Scripted<'a> {
        Scripted {
            hold_open: true,
            ..Scripted::new(input, piece)
        }
    }
}

impl embedded_io_async::ErrorType for Scripted<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Read for Scripted<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if self.input.is_empty() && self.hold_open && !buf.is_empty() {
            core::future::pending::<()>().await;
        }
        let n = buf.len().min(self.input.len()).min(self.piece);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io_async::Write for Scripted<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
