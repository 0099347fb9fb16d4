//! Keepalive: a TIMING-MARK probe finds a half-open connection and the
//! manager replaces the session.

use std::sync::Arc;
use std::time::Duration;

use ballast_clock::ManualClock;
use ballast_session::host::RecordStore;
use ballast_session::manager::Target;

use super::relay::Relay;
use super::{config, host, manager_on};

#[test]
fn keepalive_finds_a_silently_dropped_connection_and_replaces_it() {
    let store = RecordStore::default();
    let h = host(&store);
    let relay = Relay::start(h.local_addr());
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].address = relay.addr().to_string();
    cfg.endpoints[0].min_idle = 1;
    // A dead probe is not a reason to stop using the endpoint here.
    cfg.endpoints[0].breaker.consecutive_failures = Some(5);
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_timeout = Duration::from_millis(300);
    let m = manager_on(cfg, &clock, None);

    let report = m.maintain();
    assert_eq!(report.opened, 1, "min_idle opens a session: {report:?}");
    let first = m.stats().sessions[0].id;

    clock.advance(Duration::from_secs(31));
    let report = m.maintain();
    assert_eq!(
        (report.probed, report.dead),
        (1, 0),
        "a live session answers: {report:?}"
    );

    relay.black_hole_existing();
    clock.advance(Duration::from_secs(31));
    let report = m.maintain();
    assert_eq!(
        (report.probed, report.dead),
        (1, 1),
        "the probe goes unanswered: {report:?}"
    );
    assert_eq!(report.opened, 1, "the dead session is replaced: {report:?}");
    let stats = m.stats();
    assert_eq!(stats.endpoints[0].dead, 1);
    assert_eq!(stats.open(), 1);
    let s = m.acquire(Target::Any).expect("the replacement works");
    assert_ne!(s.id(), first);
    assert!(s.screen().contains("MAIN MENU"));
}

#[test]
fn timing_mark_probes_are_answered_every_time_and_never_hit_the_negotiation_limit() {
    use ballast_session::{Client, SessionConfig};
    let store = RecordStore::default();
    let h = host(&store);
    let t = Duration::from_secs(5);
    let mut c = Client::connect(h.local_addr(), SessionConfig::default(), t).expect("client");
    // More probes than either side's negotiation limit (256).
    for i in 0..300 {
        c.probe(t)
            .unwrap_or_else(|e| panic!("probe {i} unanswered: {e}"));
    }
    assert_eq!(c.session().timing_marks(), 300);
    assert!(
        c.screen().contains("PLEASE SIGN ON"),
        "the session is untouched"
    );
}

#[test]
fn one_upkeep_pass_finds_every_dead_session_at_once() {
    let store = RecordStore::default();
    let h = host(&store);
    let relay = Relay::start(h.local_addr());
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config(&[&h]);
    cfg.endpoints[0].address = relay.addr().to_string();
    cfg.endpoints[0].min_idle = 3;
    cfg.endpoints[0].breaker.consecutive_failures = Some(10);
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_timeout = Duration::from_millis(300);
    let m = manager_on(cfg, &clock, None);
    assert_eq!(m.maintain().opened, 3);
    relay.black_hole_existing();
    clock.advance(Duration::from_secs(31));
    let report = m.maintain();
    assert_eq!(
        (report.probed, report.dead, report.opened),
        (3, 3, 3),
        "{report:?}"
    );
    assert_eq!(m.stats().endpoints[0].dead, 3);
}
