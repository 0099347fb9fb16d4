//! [`InMemoryHost`]: one simulated host connection as an in-memory
//! `Read + Write` stream, with no socket and no thread.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use ballast_clock::{Clock, SharedClock, SystemClock};

use super::HostConfig;
use super::app::{AppContext, Application};
use super::conn::HostConn;
use super::store::RecordStore;
use crate::error::Result;

/// The LU an in-memory host assigns when the client names none.
const IN_MEMORY_LU: &str = "BLSTMEM1";

/// The host side of one simulated connection as a stream: what a client
/// writes is the host's input, what it reads is the host's answers. The
/// application runs inside `write`, on the caller's thread, so a run is
/// deterministic: put a `Client` (or a `ballast_chaos::FaultyStream`
/// around this) on it to test without sockets.
///
/// A read with no answer waiting fails with `WouldBlock` (a client treats
/// that as "nothing yet"); once the host has ended the session (the
/// application disconnected, or the client broke a limit or the protocol)
/// and every answer was read, a read returns 0 (end of stream) and writes
/// fail with `BrokenPipe`. The limits of [`HostConfig`] apply as on a
/// socket, except `max_sessions` (there is one session).
///
/// `idle_timeout` is measured on a [`Clock`] ([`SystemClock`] unless
/// [`InMemoryHost::with_clock`] sets one): like the simulator, the host
/// ends a session that sent nothing for that long once negotiated, or
/// that has not finished negotiating that long after it began. It looks
/// at the clock on each read and write, so with a
/// [`ballast_clock::ManualClock`] a test drives the timeout without
/// sleeping. Unlike the [`super::HostSimulator`], a panicking application
/// panics the caller.
pub struct InMemoryHost {
    conn: HostConn,
    store: RecordStore,
    clock: SharedClock,
    idle_timeout: Duration,
    /// Clock time of the last input once negotiated (of the start before).
    last_input: Duration,
}

impl std::fmt::Debug for InMemoryHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryHost")
            .field("closed", &self.conn.is_closed())
            .field("pending_output", &self.pending())
            .finish_non_exhaustive()
    }
}

impl InMemoryHost {
    /// A connection serving `app`; its opening negotiation is ready to
    /// read at once (the host speaks first).
    pub fn new(config: &HostConfig, app: impl Application) -> Result<Self> {
        Self::with_store(config, Arc::new(app), RecordStore::default())
    }

    /// Like [`InMemoryHost::new`] with a shared app and record store.
    pub fn with_store(
        config: &HostConfig,
        app: Arc<dyn Application>,
        store: RecordStore,
    ) -> Result<Self> {
        config.validate()?;
        let ctx = AppContext {
            store: store.clone(),
            ..AppContext::default()
        };
        let conn = HostConn::new(
            app,
            ctx,
            config.tn3270e,
            config.max_record_len,
            config.max_pending_input,
            config.max_pending_output,
            IN_MEMORY_LU.to_owned(),
        );
        let clock: SharedClock = Arc::new(SystemClock::new());
        Ok(Self {
            conn,
            store,
            last_input: clock.now(),
            clock,
            idle_timeout: config.idle_timeout,
        })
    }

    /// Measures the idle timeout on `clock` from now on (the session
    /// counts as having just begun).
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.last_input = clock.now();
        self.clock = clock;
        self
    }

    /// Ends the session if it has been idle for the idle timeout; true
    /// when it is closed (now or before).
    fn expire_if_idle(&mut self) -> bool {
        if !self.conn.is_closed() {
            let idle = self.clock.now().saturating_sub(self.last_input);
            if idle >= self.idle_timeout {
                tracing::debug!("in-memory host session idle, closed");
                self.conn.close();
            }
        }
        self.conn.is_closed()
    }

    /// The record store (records the application acknowledged).
    pub fn store(&self) -> &RecordStore {
        &self.store
    }

    /// True once the host has ended the session.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// The terminal type the client announced (empty before it did).
    pub fn terminal_type(&self) -> &str {
        self.conn.terminal_type()
    }

    fn pending(&self) -> usize {
        self.conn.out.len()
    }
}

impl Read for InMemoryHost {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.expire_if_idle();
        if self.pending() == 0 {
            if self.conn.is_closed() {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.pending());
        buf[..n].copy_from_slice(&self.conn.out[..n]);
        self.conn.out.drain(..n);
        // Input held back while the output was full may go on now.
        if let Err(e) = self.conn.resume() {
            tracing::debug!(error = %e, "in-memory host session ended");
        }
        Ok(n)
    }
}

impl Write for InMemoryHost {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.expire_if_idle() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        // Backpressure, as a socket gives it: while the host's answers wait
        // at the output mark, it takes no input until the client reads.
        if self.conn.output_full() && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // An error closes the session (as on a socket): the client reads
        // the answers sent before it, then the end of the stream.
        if let Err(e) = self.conn.receive(buf) {
            tracing::debug!(error = %e, "in-memory host session ended");
        }
        // Input re-arms the idle timer only once negotiation is done (as
        // in the simulator's event loop).
        if !buf.is_empty() && !self.conn.is_negotiating() {
            self.last_input = self.clock.now();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
