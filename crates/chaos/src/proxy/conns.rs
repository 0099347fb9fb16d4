//! The live connections of each proxy: what `GET
//! /proxies/{proxy}/connections` lists and `DELETE
//! /proxies/{proxy}/connections/{id}` ends.
//!
//! A connection registers itself when it starts and leaves when it ends.
//! Its byte counters are relaxed atomics bumped once per chunk; its list
//! of active toxics is written only when the proxy's toxic chain changes,
//! so the data path never takes the table's lock.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::conn::End;
use crate::toxic::Stream;

/// One direction of a live connection, as listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectionInfo {
    /// Bytes read from the source side.
    pub bytes_received: u64,
    /// Bytes written to the destination side.
    pub bytes_sent: u64,
    /// The toxics acting on this connection in this direction (those whose
    /// toxicity and selectors chose it).
    pub toxics: Vec<String>,
}

/// A live proxied connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The connection's ordinal on its proxy (0-based): its id in the API.
    pub id: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// When it was accepted, ms since the Unix epoch.
    pub opened_at_ms: u64,
    /// How long it has been open, ms.
    pub age_ms: u64,
    /// Client → upstream.
    pub upstream: DirectionInfo,
    /// Upstream → client.
    pub downstream: DirectionInfo,
}

impl ConnectionInfo {
    /// The API's JSON object.
    pub fn to_json(&self) -> Value {
        let dir = |d: &DirectionInfo| {
            json!({
                "bytes_received": d.bytes_received,
                "bytes_sent": d.bytes_sent,
                "toxics": d.toxics,
            })
        };
        json!({
            "id": self.id,
            "client": self.client.to_string(),
            "opened_at_ms": self.opened_at_ms,
            "age_ms": self.age_ms,
            "upstream": dir(&self.upstream),
            "downstream": dir(&self.downstream),
        })
    }
}

#[derive(Debug, Default)]
pub(super) struct DirCounters {
    received: AtomicU64,
    sent: AtomicU64,
    toxics: Mutex<Vec<String>>,
}

impl DirCounters {
    pub(super) fn received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(super) fn sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(super) fn set_toxics(&self, names: Vec<String>) {
        *self.toxics.lock().unwrap_or_else(PoisonError::into_inner) = names;
    }

    fn info(&self) -> DirectionInfo {
        DirectionInfo {
            bytes_received: self.received.load(Ordering::Relaxed),
            bytes_sent: self.sent.load(Ordering::Relaxed),
            toxics: self
                .toxics
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// A live connection's entry in its proxy's table.
#[derive(Debug)]
pub(super) struct ConnRecord {
    id: u64,
    client: SocketAddr,
    opened_at_ms: u64,
    opened: Instant,
    up: DirCounters,
    down: DirCounters,
    end: Arc<watch::Sender<Option<End>>>,
}

impl ConnRecord {
    pub(super) fn direction(&self, stream: Stream) -> &DirCounters {
        match stream {
            Stream::Upstream => &self.up,
            Stream::Downstream => &self.down,
        }
    }

    pub(super) fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn client(&self) -> SocketAddr {
        self.client
    }

    /// The channel that ends the connection (read by both pumps).
    pub(super) fn end(&self) -> &watch::Sender<Option<End>> {
        &self.end
    }

    fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            id: self.id,
            client: self.client,
            opened_at_ms: self.opened_at_ms,
            age_ms: u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX),
            upstream: self.up.info(),
            downstream: self.down.info(),
        }
    }
}

/// The live connections of one proxy.
#[derive(Debug, Default)]
pub(super) struct ConnTable {
    map: Mutex<BTreeMap<u64, Arc<ConnRecord>>>,
    /// Splice pipes lent to this proxy's connections; closed when the last
    /// connection ends.
    #[cfg(target_os = "linux")]
    pipes: super::splice::PipePool,
}

impl ConnTable {
    /// Registers a new connection; it leaves the table when the returned
    /// guard drops.
    pub(super) fn register(self: &Arc<Self>, id: u64, client: SocketAddr) -> Registration {
        let opened_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let record = Arc::new(ConnRecord {
            id,
            client,
            opened_at_ms,
            opened: Instant::now(),
            up: DirCounters::default(),
            down: DirCounters::default(),
            end: Arc::new(watch::channel(None).0),
        });
        self.lock().insert(id, Arc::clone(&record));
        Registration {
            table: Arc::clone(self),
            record,
        }
    }

    /// The proxy's splice pipes.
    #[cfg(target_os = "linux")]
    pub(super) fn pipes(&self) -> &super::splice::PipePool {
        &self.pipes
    }

    /// How many connections are live.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Every live connection, oldest first.
    pub(super) fn list(&self) -> Vec<ConnectionInfo> {
        self.lock().values().map(|r| r.info()).collect()
    }

    /// Ends connection `id` (FIN both ways, or RST with `reset`); false when
    /// there is no such live connection.
    pub(super) fn end(&self, id: u64, reset: bool) -> bool {
        let Some(record) = self.lock().get(&id).cloned() else {
            return false;
        };
        let how = if reset { End::Reset } else { End::Close };
        record.end.send_if_modified(|e| {
            if e.is_none() {
                *e = Some(how);
                true
            } else {
                false
            }
        });
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ConnRecord>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection's place in its table, released on drop.
#[derive(Debug)]
pub(super) struct Registration {
    table: Arc<ConnTable>,
    record: Arc<ConnRecord>,
}

impl Registration {
    pub(super) fn record(&self) -> &Arc<ConnRecord> {
        &self.record
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = self.table.lock();
        map.remove(&self.record.id);
        #[cfg(target_os = "linux")]
        if map.is_empty() {
            drop(map);
            self.table.pipes.clear();
        }
    }
}
