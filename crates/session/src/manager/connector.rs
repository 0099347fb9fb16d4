//! [`Connector`]: how the manager opens a stream to an endpoint, and
//! [`NetConnector`], the TCP (and TLS) one.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::config::EndpointConfig;
use crate::error::Result;

/// Opens streams to endpoints. The manager runs the TN3270 handshake and
/// the login script over them; a stream's reads should end within a short
/// time (a read timeout) so waits can see their deadline.
pub trait Connector: Send + Sync + 'static {
    /// The stream a session runs over.
    type Stream: Read + Write + Send + 'static;

    /// Opens a connection to `endpoint` before `deadline`.
    fn connect(&self, endpoint: &EndpointConfig, deadline: Instant) -> Result<Self::Stream>;
}

/// TCP with `TCP_NODELAY` and read and write timeouts of
/// [`MAX_READ_WAIT`](crate::client::MAX_READ_WAIT), or
/// rustls over it when the endpoint has TLS settings (feature `tls`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NetConnector;

/// A [`NetConnector`] stream: plain TCP or TLS.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (feature `tls`).
    #[cfg(feature = "tls")]
    Tls(Box<crate::client::TlsStream>),
}

impl Read for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for NetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.flush(),
            #[cfg(feature = "tls")]
            Self::Tls(s) => s.flush(),
        }
    }
}

impl Connector for NetConnector {
    type Stream = NetStream;

    fn connect(&self, endpoint: &EndpointConfig, deadline: Instant) -> Result<NetStream> {
        // The same connect as `Client::connect`: TCP_NODELAY, bounded
        // read and write timeouts.
        let tcp = crate::client::connect_tcp(endpoint.address.as_str(), deadline)?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &endpoint.tls {
            return connect_tls(tcp, tls, deadline);
        }
        Ok(NetStream::Tcp(tcp))
    }
}

#[cfg(feature = "tls")]
fn connect_tls(
    mut tcp: TcpStream,
    tls: &super::config::EndpointTls,
    deadline: Instant,
) -> Result<NetStream> {
    use crate::client::MAX_READ_WAIT;
    use crate::error::Error;
    let name = rustls::pki_types::ServerName::try_from(tls.server_name.clone())
        .map_err(|e| Error::Tls(format!("server name {:?}: {e}", tls.server_name)))?;
    let mut conn = rustls::ClientConnection::new(Arc::clone(&tls.config), name)
        .map_err(|e| Error::Tls(e.to_string()))?;
    crate::tls::handshake(&mut conn, &mut tcp, deadline)?;
    tcp.set_read_timeout(Some(MAX_READ_WAIT))?;
    Ok(NetStream::Tls(Box::new(rustls::StreamOwned::new(
        conn, tcp,
    ))))
}

/// Bytes a session moved, shared with the stats.
#[derive(Debug, Default)]
pub(crate) struct ByteCounters {
    pub(crate) read: AtomicU64,
    pub(crate) written: AtomicU64,
}

/// A stream that counts the bytes through it (for its session and its
/// endpoint).
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    session: Arc<ByteCounters>,
    endpoint: Arc<ByteCounters>,
}

impl<S> Metered<S> {
    pub(crate) fn new(inner: S, session: Arc<ByteCounters>, endpoint: Arc<ByteCounters>) -> Self {
        Self {
            inner,
            session,
            endpoint,
        }
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Read> Read for Metered<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.session.read.fetch_add(n as u64, Ordering::Relaxed);
        self.endpoint.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<S: Write> Write for Metered<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.session.written.fetch_add(n as u64, Ordering::Relaxed);
        self.endpoint.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
