//! `Client`: a blocking TN3270 client over `std::net`, a thin shell over
//! [`Session`].

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use ballast_codec::tn3270::Aid;

use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::screen::Screen;
use crate::session::{Event, Session};
use crate::stream::{SharedTcp, Stream};

/// Size of the socket read buffer: 2 KiB (reads are bounded by it). A full
/// model-2 screen (~4 KB) takes two reads; an idle client stays under 16 KiB.
const READ_CHUNK: usize = 2 << 10;
/// Longest single blocking read; waits poll their deadline this often.
const MAX_READ_WAIT: Duration = Duration::from_millis(250);

/// What [`Client::wait_for`] waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The text appears on the screen (within one row).
    Text(String),
    /// The keyboard is unlocked.
    Unlocked,
    /// The keyboard is unlocked and the cursor is in an input field.
    InputField,
    /// The keyboard is unlocked and the cursor is at (row, column).
    Cursor(u16, u16),
}

impl Condition {
    /// True when `screen` satisfies the condition.
    pub fn holds(&self, screen: &Screen) -> bool {
        match self {
            Condition::Text(t) => screen.contains(t),
            Condition::Unlocked => !screen.is_locked(),
            Condition::InputField => {
                !screen.is_locked()
                    && screen.field_at(screen.cursor()).is_some_and(|f| {
                        f.field().is_input() && !screen.is_attribute(screen.cursor())
                    })
            }
            Condition::Cursor(r, c) => !screen.is_locked() && screen.cursor_position() == (*r, *c),
        }
    }
}

/// A connected TN3270 terminal.
pub struct Client {
    stream: Stream,
    session: Session,
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The read buffer may hold screen data: the session's redacted
        // Debug is all that is shown.
        f.debug_struct("Client")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects, negotiates and waits for the first screen, all within
    /// `timeout`.
    pub fn connect(
        addr: impl ToSocketAddrs,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        Self::connect_with(addr, config, timeout, |tcp, _| Ok(Stream::Plain(tcp)))
    }

    /// Like [`Client::connect`] over TLS (feature `tls`): `server_name` is
    /// checked against the host's certificate; see [`crate::tls`] for
    /// configs. The handshake counts against `timeout`.
    #[cfg(feature = "tls")]
    pub fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: std::sync::Arc<rustls::ClientConfig>,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|e| Error::Tls(format!("server name {server_name:?}: {e}")))?;
        Self::connect_with(addr, config, timeout, move |mut tcp, deadline| {
            let mut conn = rustls::ClientConnection::new(tls.clone(), name.clone())
                .map_err(|e| Error::Tls(e.to_string()))?;
            crate::tls::handshake(&mut conn, &mut tcp, deadline)?;
            Ok(Stream::ClientTls(Box::new(rustls::StreamOwned::new(
                conn, tcp,
            ))))
        })
    }

    fn connect_with(
        addr: impl ToSocketAddrs,
        config: SessionConfig,
        timeout: Duration,
        wrap: impl Fn(SharedTcp, Instant) -> Result<Stream>,
    ) -> Result<Self> {
        let session = Session::new(config)?;
        let deadline = Instant::now() + timeout;
        let mut last = Error::Config {
            field: "addr",
            reason: "resolves to no address",
        };
        for a in addr.to_socket_addrs()? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let tcp = match TcpStream::connect_timeout(&a, left) {
                Ok(tcp) => tcp,
                Err(e) => {
                    last = e.into();
                    continue;
                }
            };
            tcp.set_nodelay(true)?;
            let mut c = Self {
                stream: wrap(SharedTcp(std::sync::Arc::new(tcp)), deadline)?,
                session,
                buf: vec![0; READ_CHUNK].into_boxed_slice(),
            };
            c.wait_until("the first screen", deadline, |s| {
                s.is_connected() && s.writes() > 0
            })?;
            return Ok(c);
        }
        Err(last)
    }

    /// The session (screen, events, negotiated mode).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The screen.
    pub fn screen(&self) -> &Screen {
        self.session.screen()
    }

    /// The screen, for cursor moves and typing.
    pub fn screen_mut(&mut self) -> &mut Screen {
        self.session.screen_mut()
    }

    /// Types text at the cursor (see [`Screen::type_text`]).
    pub fn type_text(&mut self, text: &str) -> Result<()> {
        self.session.screen_mut().type_text(text)
    }

    /// Moves to the next input field.
    pub fn tab(&mut self) {
        self.session.screen_mut().tab();
    }

    /// Fills input field number `n` (0-based among input fields).
    pub fn fill_input(&mut self, n: usize, text: &str) -> Result<()> {
        let screen = self.session.screen();
        let i = screen
            .input_fields()
            .nth(n)
            .map(|f| f.index())
            .ok_or(Error::OutOfScreen {
                what: "field",
                value: n,
            })?;
        self.session.screen_mut().fill_field(i, text)
    }

    /// Presses an AID key and sends the answer.
    pub fn press(&mut self, aid: Aid) -> Result<()> {
        self.session.press(aid)?;
        self.flush()
    }

    /// Attn (telnet IAC IP).
    pub fn attn(&mut self) -> Result<()> {
        self.session.attn()?;
        self.flush()
    }

    /// Sends a telnet NOP so idle middleboxes keep the connection.
    pub fn keepalive(&mut self) -> Result<()> {
        self.session.keepalive();
        self.flush()
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

    /// Reads once (at most until `deadline`) and processes what came; true
    /// when anything arrived.
    pub fn poll(&mut self, deadline: Instant) -> Result<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        self.stream
            .tcp()
            .set_read_timeout(Some(left.min(MAX_READ_WAIT)))?;
        match self.stream.read(&mut self.buf) {
            Ok(0) => Err(Error::Closed),
            Ok(n) => {
                self.session.receive(&self.buf[..n])?;
                self.flush()?;
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn wait_until(
        &mut self,
        what: &str,
        deadline: Instant,
        done: impl Fn(&Session) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            self.flush()?;
            if done(&self.session) {
                return Ok(());
            }
            if self.session.is_closed() {
                return Err(Error::Closed);
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

    /// The next session event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.session.poll_event()
    }

    fn flush(&mut self) -> Result<()> {
        let out = self.session.output();
        if !out.is_empty() {
            self.stream.write_all(out)?;
            let n = out.len();
            self.session.consume_output(n);
        }
        Ok(())
    }

    /// Closes the connection cleanly (TCP shutdown both ways).
    pub fn disconnect(self) -> Result<()> {
        self.stream.tcp().shutdown(std::net::Shutdown::Both)?;
        Ok(())
    }
}
