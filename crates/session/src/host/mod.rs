//! `HostSimulator`: a scripted TN3270 / TN3270E host over TCP (feature
//! `host`), and [`InMemoryHost`], the same host as an in-memory stream.
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
//! One poller thread serves every session: an event loop over
//! non-blocking sockets (`mio`: epoll on Linux, kqueue on the BSDs) that
//! accepts connections, feeds each session's bytes to its sans-IO host state
//! and writes the answers as the sockets take them. A session has no thread
//! and no stack; idle it holds about 3 KB of heap (the application's state
//! and the screen it shows), its input and output buffers being released
//! when empty. Idle timeouts live in one list ordered by last input, so the
//! loop sleeps exactly until the next deadline (no polling).
//! [`HostSimulator::poller_thread_id`] gives that thread's Linux tid, for
//! fault injection that starves or stops it.
//!
//! Per-session limits keep the process bounded whatever a client does:
//! [`HostConfig::idle_timeout`], [`HostConfig::max_record_len`],
//! [`HostConfig::max_pending_input`] (bytes buffered while waiting for IAC
//! EOR), [`HostConfig::max_pending_output`] (the high-water mark of answers
//! a client has not read: above it the session's input is not read, so a
//! client that pipelines input gets backpressure, not a disconnect) and
//! the [`HostConfig::max_sessions`] cap. TLS (feature `tls`) is a rustls
//! `ServerConnection` driven by the same readiness events;
//! `HostSimulator::set_tls_config` swaps the config (a certificate
//! rotation, or an expired certificate in a chaos test) for the
//! connections accepted after it. The
//! [`Application`] runs on the poller thread, so its callbacks should be
//! quick; one that panics ends only its own session. [`HostSimulator::stop`]
//! stops accepting, ends every session and joins the poller thread.
//!
//! The [`RecordStore`] the demo application writes to is shared by every
//! session (and, through [`HostSimulator::start_shared`], by several
//! hosts). [`RecordStore::journaled`] makes it append each record to a
//! journal and flush it before the insert returns; a restarted host reads
//! it back with [`RecordStore::read_journal`] (format in the `store`
//! module docs). When the journal cannot be written the insert fails and
//! [`DemoApp`] shows `STORE FAILED` instead of a transaction id.

mod app;
mod conn;
mod demo;
mod event_loop;
mod idle;
mod memory;
mod peer;
mod script;
mod stats;
mod store;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub use app::{AppContext, Application, Input, Item, Reply, ScreenDef, color_by_name};
pub use demo::DemoApp;
pub use memory::InMemoryHost;
pub use script::{MAX_SCRIPT_SCREENS, ScriptApp, Transition};
pub use stats::HostStats;
pub use store::{MAX_JOURNAL_LINE, MAX_STORED_RECORDS, RecordStore, StoredRecord};

/// The AID for a key name; the same function as [`crate::parse_key`].
pub use crate::terminal::parse_key;

use crate::error::{Error, Result};
use event_loop::EventLoop;

/// Largest [`HostConfig::max_sessions`]: 1 Mi sessions.
pub const MAX_SESSIONS: usize = 1 << 20;
/// Connections the kernel may queue for the poller to accept: 4096 (it
/// caps this at its own limit, `net.core.somaxconn` on Linux). std listens
/// with 128, too few for a burst of clients arriving while the poller is
/// busy: beyond it their SYNs are dropped and they retry a second later.
const LISTEN_BACKLOG: i32 = 4096;
/// Smallest [`HostConfig::max_pending_output`]: 4 KiB, about two model 2
/// screens full of text.
pub const MIN_PENDING_OUTPUT: usize = 4 << 10;

/// Host simulator settings (TOML/JSON: durations with units, `listen` as
/// `"127.0.0.1:3270"`; the TLS config is set in code).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Offer TN3270E (clients that refuse get plain TN3270).
    pub tn3270e: bool,
    /// Most concurrent sessions; more connections are closed at once.
    pub max_sessions: usize,
    /// A session with no input for this long is closed.
    #[serde(with = "ballast_resilience::serde_config::duration")]
    pub idle_timeout: Duration,
    /// Largest inbound record.
    pub max_record_len: usize,
    /// Most bytes buffered from a client waiting for IAC EOR.
    pub max_pending_input: usize,
    /// High-water mark of the output waiting for a client to read it.
    /// While a session's unsent output is at or above it, the host reads
    /// no more of that session's input (backpressure): the input waits in
    /// the kernel and reading resumes once the client has read enough.
    /// A client that pipelines input and reads slowly is never closed for
    /// it; one that never reads stops being read, so it sends no input
    /// and [`HostConfig::idle_timeout`] ends it. A session's output stays
    /// below this plus one answer; an answer larger than this on its own
    /// ends the session with [`Error::Limit`].
    pub max_pending_output: usize,
    /// Serve TLS with this config (feature `tls`); see [`crate::tls`].
    /// [`HostSimulator::set_tls_config`] replaces it while running.
    #[cfg(feature = "tls")]
    #[serde(skip)]
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
            max_pending_output: 256 << 10,
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
        if self.max_sessions > MAX_SESSIONS {
            return bad("max_sessions", "must be at most 1048576 (MAX_SESSIONS)");
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
        if self.max_pending_output < MIN_PENDING_OUTPUT {
            return bad("max_pending_output", "must be at least 4096 bytes");
        }
        Ok(())
    }
}

/// What the poller thread shares with the [`HostSimulator`] handle.
struct Shared {
    store: RecordStore,
    /// The TLS config new connections get (`None` for a plain host);
    /// [`HostSimulator::set_tls_config`] swaps it.
    #[cfg(feature = "tls")]
    tls: Option<parking_lot::Mutex<Arc<rustls::ServerConfig>>>,
    stop: AtomicBool,
    active: AtomicUsize,
    accepted: AtomicUsize,
    counters: stats::Counters,
}

/// A running host simulator; dropping it stops it.
pub struct HostSimulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    waker: mio::Waker,
    poller: Option<JoinHandle<()>>,
    poller_tid: Option<u32>,
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
        // Listening again on a listening socket only changes its backlog.
        socket2::SockRef::from(&listener).listen(LISTEN_BACKLOG)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store,
            #[cfg(feature = "tls")]
            tls: config.tls.clone().map(parking_lot::Mutex::new),
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            counters: stats::Counters::default(),
        });
        let event_loop = EventLoop::new(listener, config, app, Arc::clone(&shared))?;
        let waker = event_loop.waker()?;
        let (tid_tx, tid_rx) = std::sync::mpsc::sync_channel(1);
        let poller = std::thread::Builder::new()
            .name("host-sim-poller".into())
            .spawn(move || {
                // The receiver waits for this send; it cannot be gone.
                let _ = tid_tx.send(current_thread_id());
                event_loop.run();
            })?;
        // The poller sends first thing; an error means it died before.
        let poller_tid = tid_rx.recv().ok().flatten();
        tracing::info!(%addr, "host simulator listening");
        Ok(Self {
            addr,
            shared,
            waker,
            poller: Some(poller),
            poller_tid,
        })
    }

    /// Serves connections accepted from now on with `config` (feature
    /// `tls`): a certificate rotation, or a fault (an expired or wrong
    /// certificate) for a chaos test. Sessions already open keep the
    /// config they were accepted with. A host started without
    /// [`HostConfig::tls`] serves plain TN3270 and cannot start TLS:
    /// that is [`Error::Config`] naming `tls`.
    #[cfg(feature = "tls")]
    pub fn set_tls_config(&self, config: Arc<rustls::ServerConfig>) -> Result<()> {
        let Some(tls) = &self.shared.tls else {
            return Err(Error::Config {
                field: "tls",
                reason: "is None: the host serves plain TN3270, it has no TLS config to swap",
            });
        };
        *tls.lock() = config;
        Ok(())
    }

    /// The Linux thread id (tid) of the poller thread that serves every
    /// session, for fault injection that targets it (pinning CPU hogs to
    /// its CPU, `SIGSTOP` on the thread, scheduling priority). Read by the
    /// thread itself at its start from `/proc/thread-self`; `None` off
    /// Linux or when `/proc` is not readable.
    pub fn poller_thread_id(&self) -> Option<u32> {
        self.poller_tid
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

    /// What the simulator has served so far: sessions accepted, open,
    /// refused and closed (by reason), negotiation failures, application
    /// panics, bytes each way, records stored.
    pub fn stats(&self) -> HostStats {
        let s = &self.shared;
        s.counters.snapshot(
            s.accepted.load(Ordering::Acquire) as u64,
            s.active.load(Ordering::Acquire) as u64,
            s.store.all().len() as u64,
        )
    }

    /// Appends [`HostSimulator::stats`] as Prometheus text
    /// (`ballast_host_*{host="name"}`); a `MetricsRegistry` collector can
    /// call it on every scrape.
    pub fn render_prometheus(&self, name: &str, out: &mut String) {
        self.stats().render_prometheus(name, out);
    }

    /// Connections accepted since start (refused ones excluded).
    pub fn accepted_sessions(&self) -> usize {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// Stops accepting, ends every session and joins the poller thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        let Some(poller) = self.poller.take() else {
            return;
        };
        match self.waker.wake() {
            Ok(()) => {
                if poller.join().is_err() {
                    tracing::error!("host simulator poller thread panicked");
                }
            }
            // Without a wake-up the poller could sleep forever; leave it to
            // see the stop flag at its next event rather than hang here.
            Err(e) => tracing::warn!(error = %e, "could not wake the host simulator poller"),
        }
    }
}

/// The calling thread's Linux tid: `/proc/thread-self` links to
/// `<pid>/task/<tid>`.
fn current_thread_id() -> Option<u32> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

impl Drop for HostSimulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
