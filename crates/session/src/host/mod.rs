//! `HostSimulator`: a scripted TN3270 / TN3270E host over TCP.
//!
//! ```
//! use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
//!
//! let host = HostSimulator::start(HostConfig::default(), DemoApp::default())?;
//! println!("demo host on {}", host.local_addr());
//! host.stop();
//! # Ok::<(), ballast_session::Error>(())
//! ```
//!
//! Every connection runs on its own small thread, blocked in `read` while
//! idle (no polling); per-session limits (idle timeout, record size,
//! pending input) and a session cap keep the process bounded. [`HostSimulator::stop`] stops accepting, ends every session and
//! joins the threads.

mod app;
mod conn;
mod demo;
mod script;

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use app::{
    AppContext, Application, Input, Item, MAX_STORED_RECORDS, RecordStore, Reply, ScreenDef,
    StoredRecord, color_by_name,
};
pub use demo::DemoApp;
pub use script::{MAX_SCRIPT_SCREENS, ScriptApp, Transition, parse_key};

use crate::error::{Error, Result};
use crate::stream::{SharedTcp, Stream};
use conn::HostConn;

/// Wait between retries after a failed accept, and per wake-up connect: 50 ms.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Stack of a session thread: 128 KiB.
const SESSION_STACK_BYTES: usize = 128 << 10;

/// Host simulator settings.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Offer TN3270E (clients that refuse get plain TN3270).
    pub tn3270e: bool,
    /// Most concurrent sessions; more connections are closed at once.
    pub max_sessions: usize,
    /// A session with no input for this long is closed.
    pub idle_timeout: Duration,
    /// Largest inbound record.
    pub max_record_len: usize,
    /// Most bytes buffered from a client waiting for IAC EOR.
    pub max_pending_input: usize,
    /// Serve TLS with this config (feature `tls`); see [`crate::tls`].
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tn3270e: true,
            max_sessions: 1024,
            idle_timeout: Duration::from_secs(300),
            max_record_len: 64 << 10,
            max_pending_input: 128 << 10,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl HostConfig {
    /// Checks the limits; the error names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason| Err(Error::Config { field, reason });
        if self.max_sessions == 0 {
            return bad("max_sessions", "must be at least 1");
        }
        if self.idle_timeout.is_zero() {
            return bad("idle_timeout", "must be above zero");
        }
        if self.max_record_len < 64 {
            return bad("max_record_len", "must be at least 64 bytes");
        }
        if self.max_pending_input < self.max_record_len {
            return bad("max_pending_input", "must be at least max_record_len");
        }
        Ok(())
    }
}

struct Shared {
    config: HostConfig,
    app: Arc<dyn Application>,
    store: RecordStore,
    stop: AtomicBool,
    active: AtomicUsize,
    accepted: AtomicUsize,
    sessions: Mutex<Vec<JoinHandle<()>>>,
    /// A handle on every open session's socket, to shut them down on stop.
    open: Mutex<HashMap<u64, Arc<TcpStream>>>,
    next_id: AtomicU64,
}

/// A running host simulator; dropping it stops it.
pub struct HostSimulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HostSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostSimulator")
            .field("addr", &self.addr)
            .field("active_sessions", &self.active_sessions())
            .finish_non_exhaustive()
    }
}

impl HostSimulator {
    /// Binds `config.listen` and serves `app` until stopped.
    pub fn start(config: HostConfig, app: impl Application) -> Result<Self> {
        Self::start_shared(config, Arc::new(app), RecordStore::default())
    }

    /// Like [`HostSimulator::start`] with a shared app and record store.
    pub fn start_shared(
        config: HostConfig,
        app: Arc<dyn Application>,
        store: RecordStore,
    ) -> Result<Self> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            app,
            store,
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            sessions: Mutex::new(Vec::new()),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("host-sim-accept".into())
            .spawn(move || accept_loop(&listener, &s))?;
        tracing::info!(%addr, "host simulator listening");
        Ok(Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The record store (records the demo application acknowledged).
    pub fn store(&self) -> &RecordStore {
        &self.shared.store
    }

    /// Every stored record.
    pub fn records(&self) -> Vec<StoredRecord> {
        self.shared.store.all()
    }

    /// Sessions open now.
    pub fn active_sessions(&self) -> usize {
        self.shared.active.load(Ordering::Acquire)
    }

    /// Connections accepted since start (refused ones excluded).
    pub fn accepted_sessions(&self) -> usize {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// Stops accepting, ends every session and joins every thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(a) = self.acceptor.take() {
            // Wake the blocking accept; it sees the stop flag and returns.
            // If no wake-up connection gets through (descriptors exhausted),
            // the thread is left to exit on the next connection rather than
            // blocking stop forever.
            let woke =
                (0..3).any(|_| TcpStream::connect_timeout(&self.addr, POLL_INTERVAL).is_ok());
            if woke {
                let _ = a.join();
            }
        }
        // Blocked session reads return at once on a shut-down socket.
        for (_, tcp) in lock(&self.shared.open).drain() {
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
        let handles = std::mem::take(&mut *lock(&self.shared.sessions));
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Drop for HostSimulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut next_lu = 0u32;
    for incoming in listener.incoming() {
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        match incoming {
            Ok(stream) => {
                if shared.active.load(Ordering::Acquire) >= shared.config.max_sessions {
                    tracing::warn!("session limit reached, connection refused");
                    drop(stream);
                    continue;
                }
                next_lu = next_lu.wrapping_add(1);
                spawn_session(shared, stream, format!("BLST{:04}", next_lu % 10_000));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                std::thread::sleep(POLL_INTERVAL);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn spawn_session(shared: &Arc<Shared>, stream: TcpStream, lu: String) {
    // The Arc in `open` lets stop shut the socket down without a second
    // descriptor.
    shared.active.fetch_add(1, Ordering::AcqRel);
    shared.accepted.fetch_add(1, Ordering::AcqRel);
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let stream = Arc::new(stream);
    lock(&shared.open).insert(id, Arc::clone(&stream));
    let s = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("host-sim-session".into())
        .stack_size(SESSION_STACK_BYTES)
        .spawn(move || {
            if let Err(e) = serve(&s, stream, lu) {
                tracing::debug!(error = %e, "simulated session ended with an error");
            }
            lock(&s.open).remove(&id);
            s.active.fetch_sub(1, Ordering::AcqRel);
        });
    match spawned {
        Ok(h) => {
            let mut sessions = lock(&shared.sessions);
            sessions.retain(|h| !h.is_finished());
            sessions.push(h);
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not start a session thread");
            lock(&shared.open).remove(&id);
            shared.active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Wraps an accepted connection in TLS when configured; the handshake
/// must finish within the idle timeout.
fn wrap(cfg: &HostConfig, tcp: Arc<TcpStream>) -> Result<Stream> {
    tcp.set_nonblocking(false)?;
    tcp.set_nodelay(true)?;
    let tcp = SharedTcp(tcp);
    #[cfg(feature = "tls")]
    if let Some(tls) = &cfg.tls {
        let mut tcp = tcp;
        let mut conn = rustls::ServerConnection::new(Arc::clone(tls))
            .map_err(|e| Error::Tls(e.to_string()))?;
        crate::tls::handshake(
            &mut conn,
            &mut tcp,
            std::time::Instant::now() + cfg.idle_timeout,
        )?;
        return Ok(Stream::ServerTls(Box::new(rustls::StreamOwned::new(
            conn, tcp,
        ))));
    }
    let _ = cfg;
    Ok(Stream::Plain(tcp))
}

fn serve(shared: &Shared, tcp: Arc<TcpStream>, lu: String) -> Result<()> {
    let cfg = &shared.config;
    let mut stream = wrap(cfg, tcp)?;
    // A read that waits this long means the session is idle.
    stream.tcp().set_read_timeout(Some(cfg.idle_timeout))?;
    let ctx = AppContext {
        store: shared.store.clone(),
        ..AppContext::default()
    };
    let mut conn = HostConn::new(
        Arc::clone(&shared.app),
        ctx,
        cfg.tn3270e,
        cfg.max_record_len,
        cfg.max_pending_input,
        lu,
    );
    let mut buf = [0u8; 4096];
    loop {
        if !conn.out.is_empty() {
            stream.write_all(&conn.out)?;
            conn.out.clear();
        }
        if conn.is_closed() || shared.stop.load(Ordering::Acquire) {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => conn.receive(&buf[..n])?,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                tracing::debug!(terminal_type = conn.terminal_type(), "idle session closed");
                break;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let _ = stream.tcp().shutdown(std::net::Shutdown::Both);
    Ok(())
}
