//! The byte stream under a client: plain TCP, or TLS over it (feature
//! `tls`). The host simulator drives its sockets itself (`host/peer.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// A TCP socket shared with whoever may need to shut it down, without
/// spending a second descriptor on a clone.
#[derive(Debug, Clone)]
pub(crate) struct SharedTcp(pub(crate) Arc<TcpStream>);

impl Read for SharedTcp {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for SharedTcp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

/// A TCP stream, optionally wrapped in TLS.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(SharedTcp),
    #[cfg(feature = "tls")]
    ClientTls(Box<rustls::StreamOwned<rustls::ClientConnection, SharedTcp>>),
}

impl Stream {
    /// The TCP socket (for timeouts and shutdown).
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => &s.0,
            #[cfg(feature = "tls")]
            Stream::ClientTls(s) => &s.sock.0,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::ClientTls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::ClientTls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::ClientTls(s) => s.flush(),
        }
    }
}
