//! `Client<S>`: a blocking TN3270 client over any `Read + Write` stream, a
//! thin I/O shell over a [`Terminal`] in the style of tokio-util's
//! `Framed<T, U>`.
//!
//! [`Client::connect`] (TCP) and `Client::connect_tls` (feature `tls`) open
//! the stream for you; [`Client::new`] plus [`Client::handshake`] run the
//! terminal over a stream you bring: an in-memory pipe, a
//! `ballast_chaos::FaultyStream` around a socket, a serial line.
//!
//! # Deadlines
//!
//! A generic blocking stream cannot be told a timeout, so every wait reads
//! and checks its deadline between reads: a read that fails with
//! `WouldBlock`, `TimedOut` or `Interrupted` means "nothing yet". A wait
//! therefore ends at most one read after its deadline. A stream you bring
//! should bound its reads (give it a read timeout, or make it
//! non-blocking): one whose reads block forever makes waits block forever
//! too.
//!
//! The TCP and TLS helpers know their stream's socket, so they set its
//! read and write timeouts before each wait's I/O to the time left, at most
//! [`MAX_READ_WAIT`]: their waits end on their deadline, also when the host
//! stops reading.
//!
//! # Partial writes
//!
//! Bytes the stream took are never sent again: a write that takes part of
//! an answer, or a `WouldBlock`/`TimedOut` write, leaves the rest queued in
//! the session, and the next key or wait sends it first. A write that
//! takes nothing (`Ok(0)`) means the stream is closed: [`Error::Closed`].

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use ballast_codec::tn3270::Aid;

use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::session::Session;
pub use crate::terminal::Condition;
use crate::terminal::{Terminal, WaitState, first_screen};

/// Read timeout the TCP and TLS helpers give their socket: waits poll
/// their deadline at least this often.
pub const MAX_READ_WAIT: Duration = Duration::from_millis(250);

/// Pause after a read that found nothing, so a wait on a non-blocking
/// stream does not spin a core.
const IDLE_POLL_PAUSE: Duration = Duration::from_micros(200);

/// The stream under a [`Client::connect_tls`] client: rustls over TCP.
#[cfg(feature = "tls")]
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TN3270 terminal over the blocking stream `S` (TCP by default).
///
/// It dereferences to its [`Terminal`], which holds the operator surface:
/// `screen()`, `type_text()`, `tab()`, `fill_input()`, `poll_event()` ….
/// The client adds what needs the stream: keys, waits and polling.
pub struct Client<S = TcpStream> {
    stream: S,
    terminal: Terminal,
    /// Set when a connect helper opened `stream`: how to reach its
    /// socket's read timeout, fitted to each wait's deadline.
    timer: Option<ReadTimer<S>>,
}

/// Sets the read and write timeouts of the socket under a stream.
type SetReadTimeout<S> = fn(&S, Duration) -> std::io::Result<()>;

/// Sets both timeouts of a TCP socket.
fn set_tcp_timeouts(tcp: &TcpStream, t: Duration) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(t))?;
    tcp.set_write_timeout(Some(t))
}

/// The read and write timeouts of a connect helper's socket, set before
/// each wait's I/O.
/// A function pointer, not a duplicate socket handle: a client costs one
/// descriptor.
struct ReadTimer<S> {
    set: SetReadTimeout<S>,
    /// The timeouts set last ([`Duration::ZERO`]: unknown, set them again).
    current: Duration,
}

impl<S> ReadTimer<S> {
    /// A timer for a socket whose read timeout is [`MAX_READ_WAIT`].
    fn new(set: SetReadTimeout<S>) -> Self {
        Self {
            set,
            current: MAX_READ_WAIT,
        }
    }

    /// Makes the next read of `stream` end by `deadline` (or after
    /// [`MAX_READ_WAIT`]): a system call only when the timeout changes,
    /// i.e. in a wait's last quarter second.
    fn fit(&mut self, stream: &S, deadline: Instant) -> Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        // A zero timeout would mean "block forever".
        let want = left.clamp(Duration::from_millis(1), MAX_READ_WAIT);
        if want != self.current {
            (self.set)(stream, want)?;
            self.current = want;
        }
        Ok(())
    }
}

impl<S> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl<S> Deref for Client<S> {
    type Target = Terminal;

    fn deref(&self) -> &Terminal {
        &self.terminal
    }
}

impl<S> DerefMut for Client<S> {
    fn deref_mut(&mut self) -> &mut Terminal {
        &mut self.terminal
    }
}

impl Client<TcpStream> {
    /// Connects over TCP, negotiates and waits for the first screen, all
    /// within `timeout`. The socket gets `TCP_NODELAY`; its read timeout
    /// follows each wait's deadline (see the module docs).
    pub fn connect(
        addr: impl ToSocketAddrs,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        let terminal = Terminal::new(config)?;
        let deadline = Instant::now() + timeout;
        let tcp = connect_tcp(addr, deadline)?;
        let mut c = Self {
            timer: Some(ReadTimer::new(set_tcp_timeouts)),
            stream: tcp,
            terminal,
        };
        c.handshake_until(deadline)?;
        Ok(c)
    }

    /// Closes the connection cleanly (TCP shutdown both ways).
    pub fn disconnect(self) -> Result<()> {
        self.stream.shutdown(std::net::Shutdown::Both)?;
        Ok(())
    }
}

#[cfg(feature = "tls")]
impl Client<TlsStream> {
    /// Like [`Client::connect`] over TLS (feature `tls`): `server_name` is
    /// checked against the host's certificate; see [`crate::tls`] for
    /// configs. The TLS handshake counts against `timeout`.
    pub fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: std::sync::Arc<rustls::ClientConfig>,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|e| Error::Tls(format!("server name {server_name:?}: {e}")))?;
        let terminal = Terminal::new(config)?;
        let deadline = Instant::now() + timeout;
        let mut tcp = connect_tcp(addr, deadline)?;
        let mut conn =
            rustls::ClientConnection::new(tls, name).map_err(|e| Error::Tls(e.to_string()))?;
        crate::tls::handshake(&mut conn, &mut tcp, deadline)?;
        set_tcp_timeouts(&tcp, MAX_READ_WAIT)?;
        let mut c = Self {
            timer: Some(ReadTimer::new(|tls: &TlsStream, t| {
                set_tcp_timeouts(&tls.sock, t)
            })),
            stream: rustls::StreamOwned::new(conn, tcp),
            terminal,
        };
        c.handshake_until(deadline)?;
        Ok(c)
    }

    /// Closes the connection (TCP shutdown both ways).
    pub fn disconnect(self) -> Result<()> {
        self.stream.sock.shutdown(std::net::Shutdown::Both)?;
        Ok(())
    }
}

/// Connects to the first address of `addr` that answers before
/// `deadline`, with `TCP_NODELAY` and read and write timeouts of
/// [`MAX_READ_WAIT`].
pub(crate) fn connect_tcp(addr: impl ToSocketAddrs, deadline: Instant) -> Result<TcpStream> {
    let mut last = Error::Config {
        field: "addr",
        reason: "resolves to no address",
    };
    for a in addr.to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                set_tcp_timeouts(&tcp, MAX_READ_WAIT)?;
                return Ok(tcp);
            }
            Err(e) => last = e.into(),
        }
    }
    Err(last)
}

impl<S: Read + Write> Client<S> {
    /// A client over `stream`, which must already be connected to the host.
    /// Nothing is read or sent yet: call [`Client::handshake`] next. See
    /// the module docs for how deadlines work on `stream`.
    pub fn new(stream: S, config: SessionConfig) -> Result<Self> {
        Ok(Self {
            stream,
            terminal: Terminal::new(config)?,
            timer: None,
        })
    }

    /// Negotiates and waits for the first screen, at most `timeout`.
    pub fn handshake(&mut self, timeout: Duration) -> Result<()> {
        self.handshake_until(Instant::now() + timeout)
    }

    fn handshake_until(&mut self, deadline: Instant) -> Result<()> {
        self.wait_until("the first screen", deadline, first_screen)
    }

    /// The terminal (also reachable through `Deref`).
    pub fn terminal(&self) -> &Terminal {
        &self.terminal
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (bytes read or written here bypass the session).
    /// A connect helper's socket timeouts are set again before the next
    /// wait, so changing them here lasts only until then.
    pub fn get_mut(&mut self) -> &mut S {
        if let Some(timer) = &mut self.timer {
            timer.current = Duration::ZERO;
        }
        &mut self.stream
    }

    /// The stream, dropping the terminal. A connect helper's socket gets
    /// its timeouts of [`MAX_READ_WAIT`] back.
    pub fn into_inner(self) -> S {
        if let Some(timer) = self.timer {
            // Best effort: the socket is the caller's now, and a failure
            // here leaves a shorter timeout, which reads report as
            // `WouldBlock`/`TimedOut`.
            let _ = (timer.set)(&self.stream, MAX_READ_WAIT);
        }
        self.stream
    }

    /// Presses an AID key and sends the answer.
    pub fn press(&mut self, aid: Aid) -> Result<()> {
        self.terminal.press(aid)?;
        self.flush()
    }

    /// Attn (telnet IAC IP).
    pub fn attn(&mut self) -> Result<()> {
        self.terminal.attn()?;
        self.flush()
    }

    /// Sends a telnet NOP so idle middleboxes keep the connection.
    pub fn keepalive(&mut self) -> Result<()> {
        self.terminal.keepalive();
        self.flush()
    }

    /// Sends telnet `DO TIMING-MARK` and waits, at most `timeout`, for the
    /// host's answer: a round trip that a half-open connection (one whose
    /// peer vanished without a FIN) cannot make. A TN3270 host answers it
    /// whatever its state, keyboard locked or not.
    pub fn probe(&mut self, timeout: Duration) -> Result<()> {
        let before = self.terminal.session().timing_marks();
        self.terminal.timing_mark();
        self.wait_until("a timing-mark answer", Instant::now() + timeout, |s| {
            s.timing_marks() > before
        })
    }

    /// Waits until `condition` holds, at most `timeout`.
    pub fn wait_for(&mut self, condition: Condition, timeout: Duration) -> Result<()> {
        let what = format!("{condition:?}");
        self.wait_until(&what, Instant::now() + timeout, |s| {
            condition.holds(s.screen())
        })
    }

    /// Presses `aid`, then waits until the host unlocks the keyboard.
    pub fn press_and_wait(&mut self, aid: Aid, timeout: Duration) -> Result<()> {
        self.press(aid)?;
        self.wait_for(Condition::Unlocked, timeout)
    }

    /// Reads once and processes what came; true when anything arrived.
    /// Returns `Ok(false)` at once when `deadline` has passed; the read
    /// itself is bounded by the stream, or, on a connect helper's socket,
    /// ends by `deadline` (see the module docs).
    pub fn poll(&mut self, deadline: Instant) -> Result<bool> {
        if Instant::now() >= deadline {
            return Ok(false);
        }
        self.fit_timeouts(deadline)?;
        match self.stream.read(self.terminal.read_buf()) {
            Ok(0) => Err(Error::Closed),
            Ok(n) => {
                self.terminal.received(n)?;
                self.flush()?;
                Ok(true)
            }
            Err(e) if is_nothing_yet(e.kind()) => {
                // A stream with nothing to read yet: pause briefly rather
                // than spin on a non-blocking one.
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(left.min(IDLE_POLL_PAUSE));
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Bounds a connect helper's next reads and writes by `deadline`.
    fn fit_timeouts(&mut self, deadline: Instant) -> Result<()> {
        if let Some(timer) = &mut self.timer {
            timer.fit(&self.stream, deadline)?;
        }
        Ok(())
    }

    fn wait_until(
        &mut self,
        what: &str,
        deadline: Instant,
        done: impl Fn(&Session) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            self.fit_timeouts(deadline)?;
            self.flush()?;
            if self.terminal.wait_state(&done)? == WaitState::Done {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: what.to_owned(),
                    elapsed: start.elapsed(),
                });
            }
            self.poll(deadline)?;
        }
    }

    /// Sends what the session has queued. Each write's bytes leave the
    /// queue as soon as the stream takes them, so nothing is sent twice; a
    /// stream that cannot take more now keeps the rest queued.
    fn flush(&mut self) -> Result<()> {
        while !self.terminal.output().is_empty() {
            match self.stream.write(self.terminal.output()) {
                Ok(0) => return Err(Error::Closed),
                Ok(n) => self.terminal.consume_output(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_nothing_yet(e.kind()) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        match self.stream.flush() {
            Err(e) if !is_nothing_yet(e.kind()) => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// True for read errors that mean "nothing to read yet".
pub(crate) fn is_nothing_yet(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}
