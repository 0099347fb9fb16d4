//! The session manager against host simulators over loopback: sign-on and
//! reuse, limits, failover, keepalive, drain, audit, stress.
#![allow(unreachable_pub)]

mod audit;
mod budget;
mod chaos;
mod failover;
mod keepalive;
mod memory;
mod observe;
mod relay;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use ballast_clock::{ManualClock, SharedClock};
use ballast_resilience::Backoff;
use ballast_session::Coded;
use ballast_session::audit::AuditLog;
use ballast_session::host::{DemoApp, HostConfig, HostSimulator, RecordStore};
use ballast_session::manager::{
    Connector, EndpointConfig, LoginScript, ManagerConfig, ManagerError, NetConnector,
    SessionGuard, SessionManager, Target,
};
use ballast_session::{Aid, Condition, Secret};

/// The demo host's sign-on, its password a `Secret`.
pub fn demo_login() -> LoginScript {
    LoginScript::new()
        .wait_text("PLEASE SIGN ON")
        .type_text("DEMO")
        .type_secret(Secret::from("SECRET"))
        .key(Aid::Enter)
        .wait_text("MAIN MENU")
}

/// A demo host sharing `store`.
pub fn host(store: &RecordStore) -> HostSimulator {
    HostSimulator::start_shared(
        HostConfig::default(),
        Arc::new(DemoApp::default()),
        store.clone(),
    )
    .expect("host simulator starts")
}

/// A manager config over `hosts`, signed on, with short deadlines and a
/// breaker that opens on the first failure.
pub fn config(hosts: &[&HostSimulator]) -> ManagerConfig {
    let endpoints = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut e = EndpointConfig::new(format!("host{i}"), h.local_addr().to_string());
            e.breaker.consecutive_failures = Some(1);
            e.breaker.open_backoff = Backoff::fixed(Duration::from_secs(60));
            e
        })
        .collect();
    let mut retry = ManagerConfig::default().retry;
    retry.max_attempts = 8;
    retry.backoff = Backoff::fixed(Duration::from_millis(5));
    ManagerConfig {
        endpoints,
        login: demo_login(),
        acquire_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(5),
        retry,
        ..ManagerConfig::default()
    }
}

/// A manager on a manual clock (lifetimes, idle and keepalive timing).
pub fn manager_on(
    config: ManagerConfig,
    clock: &Arc<ManualClock>,
    audit: Option<Arc<AuditLog>>,
) -> SessionManager {
    let clock: SharedClock = clock.clone();
    SessionManager::with_clock(config, NetConnector, clock, audit).expect("valid config")
}

/// Enters one record from the menu and returns its transaction id; the
/// session is back at the menu after.
pub fn enter_record<C: Connector>(
    s: &mut SessionGuard<C>,
    name: &str,
    amount: u64,
) -> Result<String, ManagerError> {
    enter_record_with(s, name, amount, || {})
}

/// [`enter_record`], calling `before_store` just before the key that
/// stores the record.
pub fn enter_record_with<C: Connector>(
    s: &mut SessionGuard<C>,
    name: &str,
    amount: u64,
    before_store: impl FnOnce(),
) -> Result<String, ManagerError> {
    s.type_text("1").map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("RECORD ENTRY".into()))?;
    s.type_text(name).map_err(ManagerError::Session)?;
    s.tab();
    s.type_text(&amount.to_string())
        .map_err(ManagerError::Session)?;
    before_store();
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("TRANSACTION ID".into()))?;
    let row = s.screen().row(2).map_err(ManagerError::Session)?;
    let txid = row.split(": ").nth(1).unwrap_or_default().trim().to_owned();
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("MAIN MENU".into()))?;
    Ok(txid)
}

#[test]
fn manager_signs_on_once_and_reuses_the_session() {
    let store = RecordStore::default();
    let h = host(&store);
    let m = SessionManager::new(config(&[&h])).expect("valid config");
    let first = {
        let mut s = m.acquire(Target::Any).expect("a session");
        assert!(
            s.screen().contains("MAIN MENU"),
            "signed on by the login script"
        );
        let txid = enter_record(&mut s, "ACME", 42).expect("record stored");
        assert_eq!(store.get(&txid).map(|r| r.amount), Some(42));
        s.id()
    };
    let again = m
        .acquire(Target::Endpoint("host0"))
        .expect("the pooled session");
    assert_eq!(
        again.id(),
        first,
        "the idle session is reused, not reopened"
    );
    drop(again);
    let stats = m.stats();
    assert_eq!(stats.open(), 1);
    assert_eq!(stats.endpoints[0].connects, 1);
    assert!(stats.endpoints[0].commands >= 4);
    assert!(stats.endpoints[0].bytes_read > 0 && stats.endpoints[0].bytes_written > 0);
    assert_eq!(h.active_sessions(), 1);
}

#[test]
fn session_limits_give_typed_errors_and_open_nothing_more() {
    let store = RecordStore::default();
    let h = host(&store);
    let mut cfg = config(&[&h]);
    cfg.max_sessions = 2;
    cfg.max_pending = 0;
    let m = SessionManager::new(cfg).expect("valid config");
    let a = m.acquire(Target::Any).expect("first");
    let b = m.acquire(Target::Any).expect("second");
    let err = m.acquire(Target::Any).expect_err("the limit is reached");
    assert!(
        matches!(err, ManagerError::Busy { limit: 0, .. }),
        "{err:?}"
    );
    assert_eq!(m.stats().open(), 2);
    drop(a);
    let c = m.acquire(Target::Any).expect("the returned session");
    drop((b, c));
    assert_eq!(m.stats().open(), 2, "no growth past max_sessions");
}

#[test]
fn acquire_waits_until_its_deadline_then_times_out() {
    let store = RecordStore::default();
    let h = host(&store);
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].max_sessions = 1;
    let m = SessionManager::new(cfg).expect("valid config");
    let _held = m.acquire(Target::Any).expect("first");
    let err = m
        .acquire_within(Target::Any, Duration::from_millis(30))
        .expect_err("the only session is lent");
    assert!(
        matches!(
            err,
            ManagerError::AcquireTimeout {
                open: 1,
                limit: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(matches!(
        m.acquire(Target::Endpoint("nope")),
        Err(ManagerError::UnknownEndpoint(_))
    ));
}

#[test]
fn config_validation_names_the_field() {
    let store = RecordStore::default();
    let h = host(&store);
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].weight = 0;
    let err = SessionManager::new(cfg).expect_err("weight 0");
    assert!(
        matches!(&err, ManagerError::Config { field, .. } if field == "endpoints[0].weight"),
        "{err}"
    );
    let mut cfg = config(&[&h, &h]);
    cfg.endpoints[1].name = "host0".into();
    let err = cfg.validate().expect_err("duplicate names");
    assert!(
        matches!(&err, ManagerError::Config { field, .. } if field == "endpoints[1].name"),
        "{err}"
    );
    let err = ManagerConfig::default()
        .validate()
        .expect_err("no endpoint");
    assert!(
        matches!(&err, ManagerError::Config { field, .. } if field == "endpoints"),
        "{err}"
    );
}

#[test]
fn idle_and_old_sessions_are_retired_on_the_manager_clock() {
    let store = RecordStore::default();
    let h = host(&store);
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config(&[&h]);
    cfg.idle_timeout = Duration::from_secs(60);
    cfg.keepalive_interval = Duration::from_secs(3600);
    let m = manager_on(cfg, &clock, None);
    drop(m.acquire(Target::Any).expect("a session"));
    assert_eq!(m.maintain().idle_retired, 0);
    clock.advance(Duration::from_secs(61));
    let report = m.maintain();
    assert_eq!(report.idle_retired, 1, "{report:?}");
    assert_eq!(m.stats().open(), 0);
}

#[test]
fn drain_cancels_work_still_in_flight_and_reports_it() {
    let store = RecordStore::default();
    let h = host(&store);
    let m = SessionManager::new(config(&[&h])).expect("valid config");
    drop(m.acquire(Target::Any).expect("an idle session"));
    let mut busy = m.acquire(Target::Any).expect("a lent session");
    let second = m.acquire(Target::Any).expect("another lent session");
    let id = second.id();
    drop(second);
    let report = m.drain(Duration::from_millis(20));
    assert_eq!(report.in_flight_at_start, 1);
    assert_eq!(report.cancelled.len(), 1, "{report:?}");
    assert_eq!(report.cancelled[0].session, busy.id());
    assert_eq!(report.cancelled[0].endpoint, "host0");
    assert!(
        report.closed_idle >= 1,
        "the idle session {id} was closed: {report:?}"
    );
    assert!(matches!(
        busy.press_and_wait(Aid::Enter),
        Err(ManagerError::Cancelled)
    ));
    assert!(matches!(
        m.acquire(Target::Any),
        Err(ManagerError::Draining)
    ));
    drop(busy);
    assert_eq!(m.stats().open(), 0, "nothing stays open after a drain");
}

#[test]
fn debug_output_never_shows_the_password() {
    let store = RecordStore::default();
    let h = host(&store);
    let cfg = config(&[&h]);
    let m = SessionManager::new(cfg.clone()).expect("valid config");
    let s = m.acquire(Target::Any).expect("a session");
    let shown = format!(
        "{cfg:?} {m:?} {s:?} {:?} {:?}",
        s.screen(),
        DemoApp::default()
    );
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn stats_reach_prometheus_and_the_resilience_registries() {
    let store = RecordStore::default();
    let h = host(&store);
    let m = SessionManager::new(config(&[&h])).expect("valid config");
    let mut s = m.acquire(Target::Any).expect("a session");
    enter_record(&mut s, "ACME", 1).expect("record stored");
    drop(s);
    let text = m.render_prometheus();
    assert!(
        text.contains("ballast_session_open{endpoint=\"host0\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("ballast_session_connects_total{endpoint=\"host0\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE ballast_session_latency_seconds histogram"),
        "{text}"
    );
    let commands = m.stats().endpoints[0].commands;
    assert!(text.contains(&format!(
        "ballast_session_commands_total{{endpoint=\"host0\"}} {commands}"
    )));
    let latency = m.stats().endpoints[0].latency;
    assert_eq!(
        latency.count(),
        commands,
        "every command's round trip is in the histogram"
    );
    assert!(latency.quantile_upper_bound(0.5).is_some());

    let metrics = ballast_resilience::MetricsRegistry::new();
    let health = ballast_resilience::HealthRegistry::new();
    m.register(&metrics, &health);
    let scraped = metrics.render_prometheus();
    assert!(
        scraped.contains("ballast_breaker_state{name=\"host0\""),
        "the endpoint's breaker is exported: {scraped}"
    );
    assert!(
        scraped.contains("ballast_session_commands_total{endpoint=\"host0\"}"),
        "one scrape of the registry holds the manager's families too"
    );
    assert!(health.report().ready);
    if let Some(b) = m.breaker("host0") {
        b.force_open();
    }
    assert!(!health.report().ready, "no endpoint up: not ready");
    assert!(matches!(
        m.acquire(Target::Any),
        Err(ManagerError::NoEndpointAvailable)
    ));
}

#[test]
fn connection_throttle_refuses_opens_past_its_rate() {
    let store = RecordStore::default();
    let h = host(&store);
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].connect_rate = Some(ballast_resilience::RateLimiterConfig {
        permits: 1,
        per: Duration::from_secs(60),
        burst: 1,
    });
    let m = manager_on(cfg, &clock, None);
    let first = m.acquire(Target::Any).expect("the first open is allowed");
    let err = m
        .acquire(Target::Any)
        .expect_err("a second open within the minute");
    assert!(matches!(err, ManagerError::Throttled { .. }), "{err:?}");
    assert!(err.is_retryable());
    clock.advance(Duration::from_secs(61));
    let second = m
        .acquire(Target::Any)
        .expect("a permit again after the period");
    assert_ne!(first.id(), second.id());
}

#[test]
fn a_session_past_its_lifetime_is_retired_when_it_comes_back() {
    let store = RecordStore::default();
    let h = host(&store);
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config(&[&h]);
    cfg.max_lifetime = Duration::from_secs(3600);
    let m = manager_on(cfg, &clock, None);
    let s = m.acquire(Target::Any).expect("a session");
    let old = s.id();
    clock.advance(Duration::from_secs(3601));
    drop(s);
    assert_eq!(m.stats().open(), 0, "retired on return");
    let s = m.acquire(Target::Any).expect("a new session");
    assert_ne!(s.id(), old);
    assert_eq!(m.stats().endpoints[0].retired, 1);
}

#[test]
fn an_audit_file_continues_its_chain_when_reopened() {
    use ballast_session::audit::{AuditEvent, verify};
    let path =
        std::env::temp_dir().join(format!("ballast-audit-reopen-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let event = AuditEvent::Disconnect { reason: "test" };
    AuditLog::create(&path)
        .expect("new")
        .record(1, "e", &event)
        .expect("append");
    let log = AuditLog::create(&path).expect("reopened");
    assert_eq!(
        log.record(2, "e", &event).expect("append"),
        2,
        "seq continues"
    );
    drop(log);
    let report = verify(std::io::BufReader::new(
        std::fs::File::open(&path).expect("open"),
    ))
    .expect("one chain across both opens");
    assert_eq!(report.entries, 2);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replacen("\"e\"", "\"x\"", 1)).expect("tamper");
    assert!(
        AuditLog::create(&path).is_err(),
        "a tampered log is not appended to"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn callers_past_max_pending_get_busy_while_others_wait() {
    let store = RecordStore::default();
    let h = host(&store);
    let mut cfg = config(&[&h]);
    cfg.max_sessions = 1;
    cfg.max_pending = 1;
    let m = SessionManager::new(cfg).expect("valid config");
    let held = m.acquire(Target::Any).expect("the only session");
    std::thread::scope(|s| {
        let waiter = s.spawn(|| m.acquire(Target::Any).map(|g| g.id()));
        // Bounded: the waiter registers within a few milliseconds.
        for _ in 0..500 {
            if m.stats().waiting == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(m.stats().waiting, 1, "one caller waits");
        let err = m.acquire(Target::Any).expect_err("the wait list is full");
        assert!(
            matches!(
                err,
                ManagerError::Busy {
                    waiting: 1,
                    limit: 1
                }
            ),
            "{err:?}"
        );
        let id = held.id();
        drop(held);
        assert_eq!(
            waiter.join().expect("waiter").expect("gets the session"),
            id
        );
    });
}
