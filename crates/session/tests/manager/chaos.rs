//! The manager behind a real `ChaosProxy`: a half-open toxic on an idle
//! session, and a host killed while its reply is held.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballast_chaos::{ChaosProxy, Condition, ProxyConfig, Toxic, ToxicKind};
use ballast_clock::ManualClock;
use ballast_session::host::{HostSimulator, RecordStore};
use ballast_session::manager::{Balancing, ManagerError, SessionManager, Target};

use ballast_session::Coded;

use super::{config, enter_record, enter_record_with, host, manager_on};

/// A chaos proxy on its own runtime (its connections keep running while
/// the test thread blocks on the manager).
struct Chaos {
    rt: tokio::runtime::Runtime,
    proxy: ChaosProxy,
}

impl Chaos {
    fn new() -> Chaos {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        Chaos {
            rt,
            proxy: ChaosProxy::new(13),
        }
    }

    /// A proxy named `name` in front of `upstream`; returns where to connect.
    fn front(&self, name: &str, upstream: SocketAddr) -> SocketAddr {
        let cfg = ProxyConfig::new(name, upstream.to_string()).listen("127.0.0.1:0");
        let info = self
            .rt
            .block_on(self.proxy.create(cfg))
            .expect("proxy created");
        info.listen_addr().expect("proxy listens")
    }

    fn add(&self, name: &str, toxic: Toxic) {
        self.rt
            .block_on(self.proxy.add_toxic(name, toxic))
            .expect("toxic added");
    }

    /// Deletes proxy `name`, closing its connections.
    fn delete(&self, name: &str) {
        self.rt
            .block_on(self.proxy.delete(name))
            .expect("proxy deleted");
    }
}

#[test]
fn keepalive_finds_a_half_open_chaos_proxy_connection_and_replaces_it() {
    let store = RecordStore::default();
    let h = host(&store);
    let chaos = Chaos::new();
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].address = chaos.front("mvs", h.local_addr()).to_string();
    cfg.endpoints[0].min_idle = 1;
    cfg.endpoints[0].breaker.consecutive_failures = Some(5);
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_timeout = Duration::from_millis(500);
    let m = manager_on(cfg, &clock, None);
    assert_eq!(m.maintain().opened, 1, "min_idle signs one session on");
    let first = m.stats().sessions[0].id;

    // Half-open: the one connection so far (ordinal 0) is black-holed both
    // ways and its close swallowed; later connections pass.
    let only_existing = Condition {
        first_connections: Some(1),
        ..Condition::default()
    };
    for stream in [
        ballast_chaos::Stream::Downstream,
        ballast_chaos::Stream::Upstream,
    ] {
        chaos.add(
            "mvs",
            Toxic::new(ToxicKind::HalfOpen)
                .stream(stream)
                .when(only_existing.clone()),
        );
    }

    clock.advance(Duration::from_secs(29));
    let quiet = m.maintain();
    assert_eq!(quiet.probed, 0, "not probed before the interval: {quiet:?}");

    clock.advance(Duration::from_secs(2));
    let started = Instant::now();
    let report = m.maintain();
    let took = started.elapsed();
    assert_eq!(
        (report.probed, report.dead, report.opened),
        (1, 1, 1),
        "found dead on the first pass past keepalive_interval, and replaced: {report:?}"
    );
    // The probe waits keepalive_timeout (500 ms); the replacement's
    // sign-on is fast. Generous slack for a loaded machine.
    assert!(
        took < Duration::from_secs(10),
        "the pass waited {took:?}, far past keepalive_timeout"
    );
    let stats = m.stats();
    assert_eq!(stats.endpoints[0].dead, 1);
    assert_eq!(stats.endpoints[0].reconnects, 1, "{:?}", stats.endpoints[0]);
    let mut s = m.acquire(Target::Any).expect("the replacement");
    assert_ne!(s.id(), first);
    let txid = enter_record(&mut s, "AFTER", 7).expect("new work succeeds");
    assert_eq!(store.get(&txid).map(|r| r.amount), Some(7));
}

/// Once a record reaches the store (its reply held by the proxy), stops
/// the host and deletes its proxy: the host and its network path die.
fn kill_once_stored(store: &RecordStore, host0: &Mutex<Option<HostSimulator>>, chaos: &Chaos) {
    // Bounded: the held transaction reaches the store within seconds.
    for _ in 0..1000 {
        if !store.all().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(a) = host0.lock().expect("host").take() {
        a.stop();
    }
    chaos.delete("host0");
}

/// What the test keeps of an attempt's error (`ManagerError` is not
/// `Clone`): a `SessionLost` as such, anything else by its kind.
fn copy_of(e: &ManagerError) -> ManagerError {
    match e {
        ManagerError::SessionLost {
            endpoint, session, ..
        } => ManagerError::SessionLost {
            endpoint: endpoint.clone(),
            session: *session,
            source: ballast_session::Error::Closed,
        },
        other => ManagerError::UnknownEndpoint(other.kind().to_owned()),
    }
}

#[test]
fn host_killed_under_a_held_reply_gives_session_lost_and_run_retries_elsewhere() {
    let store = RecordStore::default();
    let a = host(&store);
    let b = host(&store);
    let chaos = Chaos::new();
    let mut cfg = config(&[&a, &b]);
    cfg.endpoints[0].address = chaos.front("host0", a.local_addr()).to_string();
    // Ties go to the first endpoint: the first attempt runs on host0.
    cfg.balancing = Balancing::LeastLoaded;
    let m = SessionManager::new(cfg).expect("valid config");
    // A signed-on idle session on host0, which the first attempt takes.
    drop(m.acquire(Target::Endpoint("host0")).expect("host0 session"));

    let host0 = Mutex::new(Some(a));
    // (endpoint, error) of every failed attempt.
    let failures: Mutex<Vec<(String, ManagerError)>> = Mutex::new(Vec::new());
    let done = std::thread::scope(|scope| {
        scope.spawn(|| kill_once_stored(&store, &host0, &chaos));
        m.run(Target::Any, |s| {
            let at = s.endpoint().to_owned();
            let first = at == "host0";
            // On host0 the reply to the storing key is held for a minute:
            // the record is stored, its confirmation never arrives.
            let hold = || {
                if first {
                    chaos.add(
                        "host0",
                        Toxic::new(ToxicKind::Latency {
                            latency_ms: 60_000,
                            jitter_ms: 0,
                        }),
                    );
                }
            };
            enter_record_with(s, "HELD", 99, hold)
                .map(|txid| (at.clone(), txid))
                .inspect_err(|e| {
                    let seen = (at.clone(), copy_of(e));
                    failures.lock().expect("failures").push(seen);
                })
        })
    });
    let (at, txid) = done.expect("run retries on host1");
    let failures = failures.into_inner().expect("failures");
    assert_eq!(failures.len(), 1, "one failed attempt: {failures:?}");
    let (where_, err) = &failures[0];
    assert_eq!(where_, "host0");
    assert!(
        matches!(err, ManagerError::SessionLost { endpoint, .. } if endpoint == "host0"),
        "the in-flight command gets SessionLost: {err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(at, "host1", "the retry ran on the other endpoint");
    let r = store
        .get(&txid)
        .expect("the acknowledged record is in the store");
    assert_eq!((r.name.as_str(), r.amount), ("HELD", 99));
    let stats = m.stats();
    assert_eq!(stats.endpoints[0].open, 0, "host0's session was retired");
    assert!(stats.endpoints[0].errors.iter().sum::<u64>() >= 1);
}
