//! [`ChaosProxy`]: many named TCP proxies (listen → upstream) with toxics
//! changed at runtime.
//!
//! Each proxy publishes its toxic chain through a `tokio::sync::watch`
//! channel. Connections read it only when it changes, at chunk boundaries, so
//! adding or removing a toxic never waits for traffic and traffic never waits
//! for the API. With no active toxic a connection copies through one reused
//! buffer and allocates nothing per chunk.

mod conn;
mod conns;
#[cfg(target_os = "linux")]
mod splice;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::engine::ToxicEntry;
use crate::error::{Error, Result};
use crate::toxic::Toxic;

/// Default listen address of a proxy created without one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:0";

/// Bounds of a [`ChaosProxy`]. Every one has a default.
#[derive(Debug, Clone)]
pub struct ProxyLimits {
    /// Most proxies (default 1024).
    pub max_proxies: usize,
    /// Most toxics per proxy (default 64).
    pub max_toxics: usize,
    /// Most live connections per proxy; more are closed at accept (default 1024).
    pub max_connections: usize,
    /// Bytes held per direction by the fault schedule (default 1 MiB).
    pub max_queued_bytes: usize,
    /// Read buffer per direction (default 256 KiB: 64 KiB costs a third of
    /// the loopback throughput in syscalls).
    pub buffer_size: usize,
    /// Upstream dial timeout (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        Self {
            max_proxies: 1024,
            max_toxics: 64,
            max_connections: 1024,
            max_queued_bytes: crate::engine::DEFAULT_MAX_QUEUED_BYTES,
            buffer_size: 256 * 1024,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What to create: Toxiproxy's proxy object, plus optional toxics applied
/// before the first connection is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// Unique name.
    pub name: String,
    /// Listen address; `None` means `127.0.0.1:0`.
    pub listen: Option<String>,
    /// Upstream `host:port`, dialled for each accepted connection.
    pub upstream: String,
    /// Listening right away (default true).
    pub enabled: bool,
    /// Toxics in chain order.
    pub toxics: Vec<Toxic>,
    /// TLS to terminate and/or originate (a ballast extension; the `tls`
    /// object documented in docs/chaos.md), checked when the proxy is
    /// created.
    pub tls: Option<Value>,
}

impl ProxyConfig {
    /// An enabled proxy on `127.0.0.1:0` with no toxics.
    pub fn new(name: impl Into<String>, upstream: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            listen: None,
            upstream: upstream.into(),
            enabled: true,
            toxics: Vec::new(),
            tls: None,
        }
    }
    /// Sets the TLS object (`{"cert", "key", "client_ca", "upstream"}`).
    pub fn tls(mut self, tls: Value) -> Self {
        self.tls = Some(tls);
        self
    }
    /// Sets the listen address.
    pub fn listen(mut self, listen: impl Into<String>) -> Self {
        self.listen = Some(listen.into());
        self
    }
    /// Adds a toxic.
    pub fn toxic(mut self, toxic: Toxic) -> Self {
        self.toxics.push(toxic);
        self
    }

    /// Parses a Toxiproxy proxy object (`name`, `listen`, `upstream`,
    /// `enabled`, and optionally `toxics`).
    pub fn from_json_value(v: &Value) -> Result<Self> {
        let obj = v.as_object().ok_or(Error::BadRequestBody {
            reason: "proxy must be a json object".into(),
        })?;
        let string = |key: &'static str| -> Result<Option<String>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::BadRequestBody {
                    reason: format!("{key} must be a string"),
                }),
            }
        };
        let name = string("name")?.ok_or(Error::MissingField { field: "name" })?;
        let upstream = string("upstream")?.ok_or(Error::MissingField { field: "upstream" })?;
        let enabled = match obj.get("enabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Error::BadRequestBody {
                    reason: "enabled must be a boolean".into(),
                });
            }
        };
        let toxics = match obj.get("toxics") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(Toxic::from_json_value)
                .collect::<Result<_>>()?,
            Some(_) => {
                return Err(Error::BadRequestBody {
                    reason: "toxics must be an array".into(),
                });
            }
        };
        if name.len() > 256 {
            return Err(Error::InvalidAttribute {
                name: "name",
                reason: "must be 1 to 256 bytes".into(),
            });
        }
        let tls = match obj.get("tls") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.clone()),
        };
        Ok(Self {
            name,
            listen: string("listen")?,
            upstream,
            enabled,
            toxics,
            tls,
        })
    }
}

/// A proxy as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyInfo {
    /// Name.
    pub name: String,
    /// Listen address; resolved (real port) once the proxy listened.
    pub listen: String,
    /// Upstream address.
    pub upstream: String,
    /// Listening or not.
    pub enabled: bool,
    /// Toxics in chain order.
    pub toxics: Vec<Toxic>,
    /// The TLS object, as given (file paths only).
    pub tls: Option<Value>,
}

impl ProxyInfo {
    /// The Toxiproxy JSON object (with `tls` when the proxy has TLS).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics.iter().map(Toxic::to_json).collect::<Vec<_>>(),
        });
        if let (Some(tls), Some(obj)) = (&self.tls, v.as_object_mut()) {
            obj.insert("tls".to_owned(), tls.clone());
        }
        v
    }
    /// The listen address as a socket address, once resolved.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }
}

/// What connections watch: the chain and the epoch they belong to.
#[derive(Debug, Clone)]
struct ProxyState {
    toxics: Arc<[ToxicEntry]>,
    epoch: u64,
}

/// Shared by a listener and its connections.
#[derive(Debug)]
struct ListenCtx {
    name: Arc<str>,
    /// The listen address, as reported (the `listener` label).
    listen: Arc<str>,
    upstream: Arc<str>,
    bytes: Arc<metrics::ByteCounters>,
    seed: u64,
    epoch: u64,
    state: Arc<watch::Sender<ProxyState>>,
    ordinal: Arc<AtomicU64>,
    conns: Arc<conns::ConnTable>,
    tls: Option<tls::TlsSettings>,
    limits: ProxyLimits,
}

#[derive(Debug)]
struct Entry {
    name: Arc<str>,
    listen: String,
    upstream: String,
    toxics: Vec<ToxicEntry>,
    state: Arc<watch::Sender<ProxyState>>,
    epoch: u64,
    listener: Option<JoinHandle<()>>,
    ordinal: Arc<AtomicU64>,
    conns: Arc<conns::ConnTable>,
    tls: Option<tls::TlsSettings>,
}

impl Entry {
    fn info(&self) -> ProxyInfo {
        ProxyInfo {
            name: self.name.to_string(),
            listen: self.listen.clone(),
            upstream: self.upstream.clone(),
            enabled: self.listener.is_some(),
            toxics: self.toxics.iter().map(|e| (*e.toxic).clone()).collect(),
            tls: self.tls.as_ref().map(|t| t.json.clone()),
        }
    }

    fn publish(&self) {
        let toxics: Arc<[ToxicEntry]> = Arc::from(self.toxics.clone());
        let epoch = self.epoch;
        self.state.send_replace(ProxyState { toxics, epoch });
    }

    /// Stops listening and ends every connection of this proxy.
    async fn stop(&mut self) {
        if let Some(task) = self.listener.take() {
            task.abort();
            let _ = task.await;
        }
        self.epoch += 1;
        self.publish();
    }
}

#[derive(Debug)]
struct Shared {
    seed: u64,
    limits: ProxyLimits,
    bytes: Arc<metrics::ByteCounters>,
    proxies: Mutex<BTreeMap<String, Entry>>,
    next_id: AtomicU64,
}

/// A set of named chaos proxies. Cheap to clone; all clones share state.
/// Methods must be called inside a tokio runtime.
#[derive(Debug, Clone)]
pub struct ChaosProxy {
    shared: Arc<Shared>,
}

mod metrics;
mod ops;
pub use conns::{ConnectionInfo, DirectionInfo};
pub use ops::{Populated, ProxyUpdate};

impl ChaosProxy {
    /// An empty proxy set whose random decisions all derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_limits(seed, ProxyLimits::default())
    }

    /// An empty proxy set with explicit limits.
    pub fn with_limits(seed: u64, limits: ProxyLimits) -> Self {
        let shared = Shared {
            seed,
            limits,
            bytes: Arc::default(),
            proxies: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Appends Toxiproxy's proxy metrics in Prometheus text:
    /// `toxiproxy_proxy_received_bytes_total` and
    /// `toxiproxy_proxy_sent_bytes_total`, labelled `direction`, `listener`,
    /// `proxy` and `upstream` (what `toxiproxy-server -proxy-metrics`
    /// serves at `/metrics`). Counters live as long as this `ChaosProxy`.
    pub fn render_metrics(&self, out: &mut String) {
        self.shared.bytes.render(out);
    }

    fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn weak(&self) -> Weak<Shared> {
        Arc::downgrade(&self.shared)
    }
}

async fn bind(addr: &str) -> Result<TcpListener> {
    let err = |reason: String| Error::InvalidAddress {
        addr: addr.to_owned(),
        reason,
    };
    let mut addrs = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| err(e.to_string()))?;
    let sa = addrs.next().ok_or_else(|| err("no address".into()))?;
    // Go's net.Listen names the resolved address: `listen tcp 127.0.0.1:N`.
    let listen_err = |source| Error::Listen {
        addr: sa.to_string(),
        source,
    };
    let socket = if sa.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(listen_err)?;
    socket.set_reuseaddr(true).map_err(listen_err)?;
    socket.bind(sa).map_err(listen_err)?;
    socket.listen(1024).map_err(listen_err)
}

async fn accept_loop(listener: TcpListener, ctx: Arc<ListenCtx>) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(proxy = %ctx.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if ctx.conns.len() >= ctx.limits.max_connections {
            tracing::warn!(proxy = %ctx.name, "connection limit reached; closing");
            continue;
        }
        let ordinal = ctx.ordinal.fetch_add(1, Ordering::Relaxed);
        let registration = ctx.conns.register(ordinal, peer);
        // One span per connection: its log lines can be followed alone.
        let span = tracing::info_span!("connection", proxy = %ctx.name, client = %peer, ordinal);
        tracing::debug!(parent: &span, "accepted");
        tokio::spawn(conn::run(client, Arc::clone(&ctx), registration, span));
    }
}
