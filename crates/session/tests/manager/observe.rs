//! Shutdown through the resilience coordinator, stats after known traffic,
//! and the manager's families in a `MetricsRegistry` scrape.

use std::time::Duration;

use ballast_resilience::{
    BreakerState, HealthRegistry, MetricsRegistry, Phase, ShutdownConfig, TaskOutcome,
};
use ballast_session::host::RecordStore;
use ballast_session::manager::{ERROR_KINDS, ManagerError, SessionManager, Target};
use ballast_session::{Aid, Condition};

use super::{config, enter_record, host};

#[test]
fn shutdown_run_drains_then_its_closing_hook_cancels_and_closes_sessions() {
    let store = RecordStore::default();
    let h = host(&store);
    let mut cfg = config(&[&h]);
    cfg.shutdown = ShutdownConfig {
        total: Duration::from_secs(5),
        draining: Duration::from_millis(200),
        closing: Duration::from_secs(2),
        cleanup: Duration::from_secs(1),
        ..ShutdownConfig::default()
    };
    let m = SessionManager::new(cfg).expect("valid config");
    let mut held = m.acquire(Target::Any).expect("a lent session");
    drop(m.acquire(Target::Any).expect("an idle session"));
    assert_eq!(m.stats().open(), 2);

    let report = m.shutdown().run();
    assert_eq!(report.in_flight_at_start, 1, "{report:?}");
    assert_eq!(
        report.in_flight_cut_off, 1,
        "the lent session outlived draining"
    );
    let closing = report
        .phases
        .iter()
        .find(|p| p.phase == Phase::Closing)
        .expect("a closing phase");
    assert!(
        closing
            .tasks
            .iter()
            .any(|t| t.name == "session-manager" && t.outcome == TaskOutcome::Finished),
        "the manager's closing hook ran: {closing:?}"
    );
    assert_eq!(
        m.stats().open(),
        1,
        "the idle session was closed by the hook"
    );
    assert!(matches!(
        held.press_and_wait(Aid::Enter),
        Err(ManagerError::Cancelled)
    ));
    drop(held);
    assert_eq!(
        m.stats().open(),
        0,
        "the cancelled session closes on return"
    );
    assert!(matches!(
        m.acquire(Target::Any),
        Err(ManagerError::Draining)
    ));
    // The host's thread sees the closes asynchronously.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.active_sessions() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the host still counts {} sessions",
            h.active_sessions()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn stats_after_known_traffic_count_commands_errors_latency_and_reconnects() {
    let store = RecordStore::default();
    let h = host(&store);
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].breaker.consecutive_failures = Some(5);
    cfg.command_timeout = Duration::from_millis(300);
    let m = SessionManager::new(cfg).expect("valid config");
    let mut s = m.acquire(Target::Any).expect("a session");
    let id = s.id();
    // enter_record runs 6 commands: 3 keys, 3 waits.
    enter_record(&mut s, "ACME", 5).expect("stored");
    // An operator error (a text never shown): a timeout that loses the
    // session, so one error of kind "timeout".
    let err = s
        .wait_for(Condition::Text("NEVER ON SCREEN".into()))
        .expect_err("times out");
    assert!(matches!(err, ManagerError::SessionLost { .. }), "{err:?}");
    let per_session = m
        .stats()
        .sessions
        .into_iter()
        .find(|x| x.id == id)
        .expect("the session while lent");
    assert_eq!(per_session.commands, 7);
    assert_eq!(per_session.latency.count(), 7);
    let timeout = ERROR_KINDS
        .iter()
        .position(|k| *k == "timeout")
        .expect("kind");
    assert_eq!(per_session.errors[timeout], 1);
    assert_eq!(per_session.error_count(), 1);
    drop(s);

    let before = m.stats().endpoints[0].clone();
    assert_eq!((before.connects, before.reconnects), (1, 0), "{before:?}");
    let again = m.acquire(Target::Any).expect("a replacement");
    assert_ne!(again.id(), id);
    drop(again);
    // A session that only grows the pool is no reconnect.
    let (a, b) = (
        m.acquire(Target::Any).expect("one"),
        m.acquire(Target::Any).expect("two"),
    );
    drop((a, b));
    let e = &m.stats().endpoints[0];
    assert_eq!((e.connects, e.reconnects), (3, 1), "{e:?}");
    assert_eq!(e.commands, 7);
    assert_eq!(e.latency.count(), 7);
    assert_eq!(e.errors[timeout], 1);
    assert_eq!(e.breaker, BreakerState::Closed);

    let text = m.render_prometheus();
    for line in [
        "ballast_session_reconnects_total{endpoint=\"host0\"} 1".to_owned(),
        "ballast_session_errors_total{endpoint=\"host0\",kind=\"timeout\"} 1".to_owned(),
        "ballast_session_latency_seconds_count{endpoint=\"host0\"} 7".to_owned(),
        "ballast_session_breaker_state{endpoint=\"host0\",state=\"closed\"} 1".to_owned(),
        "ballast_session_breaker_state{endpoint=\"host0\",state=\"open\"} 0".to_owned(),
    ] {
        assert!(text.contains(&line), "{line} missing:\n{text}");
    }
    assert!(
        text.contains("# TYPE ballast_session_session_latency_seconds histogram"),
        "{text}"
    );
}

#[test]
fn a_registered_manager_reaches_a_metrics_registry_render() {
    let store = RecordStore::default();
    let h = host(&store);
    let m = SessionManager::new(config(&[&h])).expect("valid config");
    let metrics = MetricsRegistry::new();
    let health = HealthRegistry::new();
    m.register(&metrics, &health);
    let mut s = m.acquire(Target::Any).expect("a session");
    let id = s.id();
    s.press_and_wait(Aid::Enter).expect("a command");
    let page = metrics.render_prometheus();
    for want in [
        "ballast_session_open{endpoint=\"host0\"} 1".to_owned(),
        "ballast_session_commands_total{endpoint=\"host0\"} 1".to_owned(),
        format!("ballast_session_session_commands_total{{endpoint=\"host0\",session=\"{id}\"}} 1"),
        format!(
            "ballast_session_session_latency_seconds_count{{endpoint=\"host0\",session=\"{id}\"}} 1"
        ),
        "ballast_session_breaker_state{endpoint=\"host0\",state=\"closed\"} 1".to_owned(),
        "ballast_retry_".to_owned(),
    ] {
        assert!(
            page.contains(&want),
            "{want} missing from the registry's page:\n{page}"
        );
    }
    drop(s);
    drop(m);
    let page = metrics.render_prometheus();
    assert!(
        !page.contains("ballast_session_open{"),
        "a dropped manager leaves the page"
    );
}
