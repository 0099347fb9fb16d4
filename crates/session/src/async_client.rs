//! `AsyncClient<S>`: the tokio twin of [`crate::Client`] over any
//! `AsyncRead + AsyncWrite` stream (feature `tokio`), a thin I/O shell over
//! the same [`Terminal`]. Every wait is bounded by
//! `tokio::time::timeout_at`, so no stream needs a read timeout.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use ballast_codec::tn3270::Aid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::time::{Instant, timeout_at};

use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::terminal::{Condition, Terminal, WaitState, first_screen};

/// The stream under an [`AsyncClient::connect_tls`] client (features
/// `tokio` and `tls`).
#[cfg(feature = "tls")]
pub type AsyncTlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// A TN3270 terminal on tokio over the stream `S` (TCP by default).
///
/// It dereferences to its [`Terminal`] (`screen()`, `type_text()`, `tab()`,
/// `fill_input()`, `poll_event()` …); the client adds keys and waits.
pub struct AsyncClient<S = TcpStream> {
    stream: S,
    terminal: Terminal,
}

impl<S> std::fmt::Debug for AsyncClient<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl<S> Deref for AsyncClient<S> {
    type Target = Terminal;

    fn deref(&self) -> &Terminal {
        &self.terminal
    }
}

impl<S> DerefMut for AsyncClient<S> {
    fn deref_mut(&mut self) -> &mut Terminal {
        &mut self.terminal
    }
}

impl AsyncClient<TcpStream> {
    /// Connects over TCP, negotiates and waits for the first screen, all
    /// within `timeout`.
    pub async fn connect(
        addr: impl ToSocketAddrs,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        let terminal = Terminal::new(config)?;
        let deadline = Instant::now() + timeout;
        let tcp = connect_tcp(addr, deadline, timeout).await?;
        Self::start(tcp, terminal, deadline).await
    }
}

#[cfg(feature = "tls")]
impl AsyncClient<AsyncTlsStream> {
    /// Like [`AsyncClient::connect`] over TLS (features `tokio` and `tls`):
    /// `server_name` is checked against the host's certificate; see
    /// [`crate::tls`] for configs. The handshake counts against `timeout`.
    pub async fn connect_tls(
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
        let tcp = connect_tcp(addr, deadline, timeout).await?;
        let handshake = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
        let stream = timeout_at(deadline, handshake)
            .await
            .map_err(|_| Error::Timeout {
                what: "tls handshake".into(),
                elapsed: timeout,
            })?
            .map_err(|e| Error::Tls(crate::tls::describe_handshake_error(&e)))?;
        Self::start(stream, terminal, deadline).await
    }
}

async fn connect_tcp(
    addr: impl ToSocketAddrs,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream> {
    let stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Timeout {
            what: "tcp connect".into(),
            elapsed: timeout,
        })??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncClient<S> {
    /// A client over `stream`, which must already be connected to the host.
    /// Nothing is read or sent yet: call [`AsyncClient::handshake`] next.
    pub fn new(stream: S, config: SessionConfig) -> Result<Self> {
        Ok(Self {
            stream,
            terminal: Terminal::new(config)?,
        })
    }

    async fn start(stream: S, terminal: Terminal, deadline: Instant) -> Result<Self> {
        let mut c = Self { stream, terminal };
        c.wait_until("the first screen", deadline, first_screen)
            .await?;
        Ok(c)
    }

    /// Negotiates and waits for the first screen, at most `timeout`.
    pub async fn handshake(&mut self, timeout: Duration) -> Result<()> {
        self.wait_until("the first screen", Instant::now() + timeout, first_screen)
            .await
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
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream, dropping the terminal.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Presses an AID key and sends the answer.
    pub async fn press(&mut self, aid: Aid) -> Result<()> {
        self.terminal.press(aid)?;
        self.flush().await
    }

    /// Presses `aid`, then waits until the host unlocks the keyboard.
    pub async fn press_and_wait(&mut self, aid: Aid, timeout: Duration) -> Result<()> {
        self.press(aid).await?;
        self.wait_for(Condition::Unlocked, timeout).await
    }

    /// Attn (telnet IAC IP).
    pub async fn attn(&mut self) -> Result<()> {
        self.terminal.attn()?;
        self.flush().await
    }

    /// Sends a telnet NOP.
    pub async fn keepalive(&mut self) -> Result<()> {
        self.terminal.keepalive();
        self.flush().await
    }

    /// Waits until `condition` holds, at most `timeout`.
    pub async fn wait_for(&mut self, condition: Condition, timeout: Duration) -> Result<()> {
        let what = format!("{condition:?}");
        self.wait_until(&what, Instant::now() + timeout, |s| {
            condition.holds(s.screen())
        })
        .await
    }

    async fn wait_until(
        &mut self,
        what: &str,
        deadline: Instant,
        done: impl Fn(&Session) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        let timed_out = |start: Instant| Error::Timeout {
            what: what.to_owned(),
            elapsed: start.elapsed(),
        };
        loop {
            // A host that stops reading cannot hold the wait past its
            // deadline: what was not sent stays queued.
            timeout_at(deadline, self.flush())
                .await
                .map_err(|_| timed_out(start))??;
            if self.terminal.wait_state(&done)? == WaitState::Done {
                return Ok(());
            }
            let read = timeout_at(deadline, self.stream.read(self.terminal.read_buf())).await;
            match read {
                Err(_) => return Err(timed_out(start)),
                Ok(Ok(0)) => return Err(Error::Closed),
                Ok(Ok(n)) => self.terminal.received(n)?,
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Sends what the session has queued. Each write's bytes leave the
    /// queue as soon as the stream takes them, so a flush cancelled part
    /// way (a timeout) never sends them twice.
    async fn flush(&mut self) -> Result<()> {
        while !self.terminal.output().is_empty() {
            let n = self.stream.write(self.terminal.output()).await?;
            if n == 0 {
                return Err(Error::Closed);
            }
            self.terminal.consume_output(n);
        }
        self.stream.flush().await?;
        Ok(())
    }

    /// Closes the connection cleanly (shuts the stream down).
    pub async fn disconnect(mut self) -> Result<()> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
