//! `AsyncClient`: the tokio twin of [`crate::Client`], a thin shell over
//! [`Session`] (feature `tokio`).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ballast_codec::tn3270::Aid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::time::{Instant, timeout_at};

use crate::client::Condition;
use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::screen::Screen;
use crate::session::{Event, Session};

/// Size of the socket read buffer: 2 KiB (reads are bounded by it). A full
/// model-2 screen (~4 KB) takes two reads; an idle client stays under 16 KiB.
const READ_CHUNK: usize = 2 << 10;

/// The byte stream under an [`AsyncClient`]: plain TCP or TLS over it.
enum AsyncStream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for AsyncStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            AsyncStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for AsyncStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            AsyncStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            AsyncStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            AsyncStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connected TN3270 terminal on tokio.
pub struct AsyncClient {
    stream: AsyncStream,
    session: Session,
    buf: Box<[u8]>,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The read buffer may hold screen data: the session's redacted
        // Debug is all that is shown.
        f.debug_struct("AsyncClient")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl AsyncClient {
    /// Connects, negotiates and waits for the first screen, all within
    /// `timeout`.
    pub async fn connect(
        addr: impl ToSocketAddrs,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        let tcp = Self::tcp(addr, deadline, timeout).await?;
        Self::start(AsyncStream::Plain(tcp), config, deadline).await
    }

    /// Like [`AsyncClient::connect`] over TLS (features `tokio` and `tls`):
    /// `server_name` is checked against the host's certificate; see
    /// [`crate::tls`] for configs. The handshake counts against `timeout`.
    #[cfg(feature = "tls")]
    pub async fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: std::sync::Arc<rustls::ClientConfig>,
        config: SessionConfig,
        timeout: Duration,
    ) -> Result<Self> {
        let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|e| Error::Tls(format!("server name {server_name:?}: {e}")))?;
        let deadline = Instant::now() + timeout;
        let tcp = Self::tcp(addr, deadline, timeout).await?;
        let handshake = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
        let stream = timeout_at(deadline, handshake)
            .await
            .map_err(|_| Error::Timeout {
                what: "tls handshake".into(),
                elapsed: timeout,
            })?
            .map_err(|e| Error::Tls(e.to_string()))?;
        Self::start(AsyncStream::Tls(Box::new(stream)), config, deadline).await
    }

    async fn tcp(
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

    /// Negotiates over `stream` until the first screen arrives.
    async fn start(stream: AsyncStream, config: SessionConfig, deadline: Instant) -> Result<Self> {
        let mut c = Self {
            stream,
            session: Session::new(config)?,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
        };
        c.wait_until("the first screen", deadline, |s| {
            s.is_connected() && s.writes() > 0
        })
        .await?;
        Ok(c)
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

    /// Presses an AID key and sends the answer.
    pub async fn press(&mut self, aid: Aid) -> Result<()> {
        self.session.press(aid)?;
        self.flush().await
    }

    /// Presses `aid`, then waits until the host unlocks the keyboard.
    pub async fn press_and_wait(&mut self, aid: Aid, timeout: Duration) -> Result<()> {
        self.press(aid).await?;
        self.wait_for(Condition::Unlocked, timeout).await
    }

    /// Attn (telnet IAC IP).
    pub async fn attn(&mut self) -> Result<()> {
        self.session.attn()?;
        self.flush().await
    }

    /// Sends a telnet NOP.
    pub async fn keepalive(&mut self) -> Result<()> {
        self.session.keepalive();
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

    /// The next session event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.session.poll_event()
    }

    async fn wait_until(
        &mut self,
        what: &str,
        deadline: Instant,
        done: impl Fn(&Session) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            self.flush().await?;
            if done(&self.session) {
                return Ok(());
            }
            if self.session.is_closed() {
                return Err(Error::Closed);
            }
            let read = timeout_at(deadline, self.stream.read(&mut self.buf)).await;
            match read {
                Err(_) => {
                    return Err(Error::Timeout {
                        what: what.to_owned(),
                        elapsed: start.elapsed(),
                    });
                }
                Ok(Ok(0)) => return Err(Error::Closed),
                Ok(Ok(n)) => self.session.receive(&self.buf[..n])?,
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    async fn flush(&mut self) -> Result<()> {
        let n = self.session.output().len();
        if n > 0 {
            self.stream.write_all(self.session.output()).await?;
            self.session.consume_output(n);
        }
        Ok(())
    }

    /// Closes the connection cleanly.
    pub async fn disconnect(mut self) -> Result<()> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
