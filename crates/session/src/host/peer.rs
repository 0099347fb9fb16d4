//! One connected terminal in the event loop: its non-blocking socket,
//! optional TLS (rustls `ServerConnection`, driven by readiness), the
//! sans-IO [`HostConn`], and its output waiting for the socket.
//!
//! Nothing here blocks: reads stop at `WouldBlock` or a byte budget,
//! writes stop at `WouldBlock` and leave the rest for the next writable
//! event. Backpressure: while the output waiting for the socket is at
//! `HostConfig::max_pending_output` (the high-water mark), the peer takes
//! no more input, which waits in the kernel (or in TLS's or the host's
//! bounded buffers) until the client reads its answers.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use super::conn::HostConn;
use crate::error::{Error, Result};

/// What one read turn saw.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ReadTurn {
    /// Input reached the host (plaintext, or a finished TLS handshake):
    /// the session is not idle.
    pub(super) input: bool,
    /// The byte budget ran out before the socket was drained; the caller
    /// must come back without waiting for a new event.
    pub(super) more: bool,
}

/// One connected terminal.
pub(super) struct Peer {
    sock: TcpStream,
    host: HostConn,
    /// Bytes at the front of `host.out` already handed to the socket (or
    /// to TLS).
    sent: usize,
    #[cfg(feature = "tls")]
    tls: Option<Box<rustls::ServerConnection>>,
    /// The peer closed its side (EOF or TLS close_notify): read no more,
    /// close once the output is sent.
    eof: bool,
    /// Reading stopped at the output high-water mark before the input ran
    /// out: read again once the output drains below it, without waiting
    /// for an event (readiness is edge-triggered; none comes for input
    /// already in the kernel).
    held: bool,
    /// Waiting in the event loop's queue for another read turn.
    pub(super) queued: bool,
    /// Plaintext bytes received and sent since the event loop last took
    /// them ([`Peer::take_bytes`]).
    bytes_in: u64,
    bytes_out: u64,
}

impl Peer {
    /// A plain TN3270 peer.
    pub(super) fn new(sock: TcpStream, host: HostConn) -> Self {
        Self {
            sock,
            host,
            sent: 0,
            #[cfg(feature = "tls")]
            tls: None,
            eof: false,
            held: false,
            bytes_in: 0,
            bytes_out: 0,
            queued: false,
        }
    }

    /// A peer that must finish a TLS handshake first.
    #[cfg(feature = "tls")]
    pub(super) fn with_tls(
        sock: TcpStream,
        host: HostConn,
        config: &std::sync::Arc<rustls::ServerConfig>,
    ) -> Result<Self> {
        let tls = rustls::ServerConnection::new(std::sync::Arc::clone(config))
            .map_err(|e| Error::Tls(e.to_string()))?;
        let mut me = Self::new(sock, host);
        me.tls = Some(Box::new(tls));
        Ok(me)
    }

    /// The socket, to register with the poller.
    pub(super) fn socket(&mut self) -> &mut TcpStream {
        &mut self.sock
    }

    /// Reads what the socket holds, at most `budget` bytes, through `buf`,
    /// and feeds it to the host, first decoding input the host held back.
    /// Stops while the output is at the high-water mark (see
    /// [`Peer::resumable`]). Input after the host closed is not read.
    pub(super) fn read(&mut self, buf: &mut [u8], budget: usize) -> Result<ReadTurn> {
        self.held = false;
        let mut turn = ReadTurn::default();
        self.resume(&mut turn)?;
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.read_tls(buf, budget, turn);
        }
        let mut left = budget;
        while !self.host.is_closed() && !self.eof {
            if self.host.output_full() {
                self.held = true;
                break;
            }
            if left == 0 {
                turn.more = true;
                break;
            }
            match self.sock.read(buf) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    turn.input = true;
                    left = left.saturating_sub(n);
                    self.receive(&buf[..n])?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(turn)
    }

    /// Drops output the socket already took, so `host.out` holds only
    /// what is pending (the host measures its high-water mark on it).
    fn drop_sent(&mut self) {
        if self.sent > 0 {
            self.host.out.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// The plaintext bytes received and sent since the last call.
    pub(super) fn take_bytes(&mut self) -> (u64, u64) {
        (
            std::mem::take(&mut self.bytes_in),
            std::mem::take(&mut self.bytes_out),
        )
    }

    /// Hands received plaintext to the host.
    fn receive(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes_in += bytes.len() as u64;
        self.drop_sent();
        self.host.receive(bytes)
    }

    /// Lets the host decode the input it held back; taking it counts as
    /// input (it re-arms the idle timer like a read would).
    fn resume(&mut self, turn: &mut ReadTurn) -> Result<()> {
        self.drop_sent();
        turn.input |= self.host.resume()?;
        Ok(())
    }

    /// True when reading stopped at the high-water mark and the output
    /// has drained below it since: read again now.
    pub(super) fn resumable(&self) -> bool {
        self.held && self.pending() < self.host.high_water()
    }

    /// Output bytes not handed to the socket (or to TLS) yet.
    fn pending(&self) -> usize {
        self.host.out.len() - self.sent
    }

    /// [`Peer::read`] through TLS: decrypted input the host could not take
    /// yet stays in rustls (which then reads no more records), and is
    /// taken first on the next turn.
    #[cfg(feature = "tls")]
    fn read_tls(&mut self, buf: &mut [u8], budget: usize, mut turn: ReadTurn) -> Result<ReadTurn> {
        let mut left = budget;
        let mut closed = self.read_plaintext(buf, &mut turn)?;
        while !closed && !self.host.is_closed() && !self.eof {
            if self.host.output_full() {
                self.held = true;
                break;
            }
            if left == 0 {
                turn.more = true;
                break;
            }
            let Some(tls) = self.tls.as_mut() else { break };
            match tls.read_tls(&mut self.sock) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            let handshaking = tls.is_handshaking();
            tls.process_new_packets()
                .map_err(|e| Error::Tls(e.to_string()))?;
            turn.input |= handshaking && !tls.is_handshaking();
            closed = self.read_plaintext(buf, &mut turn)?;
        }
        Ok(turn)
    }

    /// Moves decrypted bytes to the host until none is left or its output
    /// is full; true once the peer's input has ended: it sent close_notify,
    /// or it ended TCP without one. That unclean end is not an error: what
    /// it sent before was whole TLS records, its records are answered like
    /// a half-closed plain client's, and rustls would report it again on
    /// every later turn (a writable event on a socket at EOF is readable
    /// too), ending the session before its answers are sent.
    #[cfg(feature = "tls")]
    fn read_plaintext(&mut self, buf: &mut [u8], turn: &mut ReadTurn) -> Result<bool> {
        while !self.host.output_full() {
            let Some(tls) = self.tls.as_mut() else {
                return Ok(false);
            };
            match tls.reader().read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(n) => {
                    turn.input = true;
                    self.receive(&buf[..n])?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    return Ok(true);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }

    /// Writes pending output until the socket would block. Output above
    /// the high-water mark is not an error: reading stops meanwhile.
    pub(super) fn flush(&mut self) -> Result<()> {
        let before = self.sent;
        #[cfg(feature = "tls")]
        let flushed = if self.tls.is_some() {
            self.flush_tls()
        } else {
            self.flush_plain()
        };
        #[cfg(not(feature = "tls"))]
        let flushed = self.flush_plain();
        self.bytes_out += self.sent.saturating_sub(before) as u64;
        flushed?;
        if self.pending() == 0 {
            // An idle session keeps no output buffer.
            self.host.out = Vec::new();
            self.sent = 0;
        }
        Ok(())
    }

    fn flush_plain(&mut self) -> Result<()> {
        while self.sent < self.host.out.len() {
            match self.sock.write(&self.host.out[self.sent..]) {
                Ok(0) => return Err(Error::Io(ErrorKind::WriteZero.into())),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Hands pending output to rustls (which buffers at most its own
    /// limit, 64 KiB by default) and writes TLS records, until all is
    /// written or the socket would block. Stopping earlier would stall the
    /// session: readiness is edge-triggered, so no writable event comes for
    /// a socket that took everything it was given.
    #[cfg(feature = "tls")]
    fn flush_tls(&mut self) -> Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        // Bounded: every turn hands rustls more plaintext or drains its
        // TLS records into the socket, and ends when neither is left.
        loop {
            while self.sent < self.host.out.len() {
                match tls.writer().write(&self.host.out[self.sent..])? {
                    0 => break,
                    n => self.sent += n,
                }
            }
            if !tls.wants_write() {
                return Ok(());
            }
            while tls.wants_write() {
                match tls.write_tls(&mut self.sock) {
                    Ok(0) => return Err(Error::Io(ErrorKind::WriteZero.into())),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    /// True while output waits for the socket.
    fn output_pending(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.as_ref().is_some_and(|t| t.wants_write()) {
            return true;
        }
        self.sent < self.host.out.len()
    }

    /// Telnet negotiation finished at some point of the session.
    pub(super) fn negotiated(&self) -> bool {
        self.host.negotiated()
    }

    /// Telnet negotiation has not finished yet.
    pub(super) fn negotiating(&self) -> bool {
        self.host.is_negotiating()
    }

    /// The application or the peer ended the session and the last output
    /// is sent.
    pub(super) fn finished(&self) -> bool {
        (self.host.is_closed() || self.eof) && !self.output_pending()
    }

    /// Ends the connection: TLS close_notify (best effort, never waits),
    /// then both directions of the socket; dropping the peer closes it.
    pub(super) fn close(&mut self) {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = tls.write_tls(&mut self.sock);
        }
        tracing::trace!(terminal_type = self.host.terminal_type(), "session closed");
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}
