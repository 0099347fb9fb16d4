//! The host simulator's counters after known traffic, and their
//! Prometheus text.
#![cfg(feature = "host")]

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator, HostStats};
use ballast_session::{Aid, Client, Condition, SessionConfig};

const T: Duration = Duration::from_secs(5);

/// Waits (bounded) until `f` holds for the host's stats.
fn eventually(host: &HostSimulator, f: impl Fn(&HostStats) -> bool) -> HostStats {
    let deadline = Instant::now() + T;
    loop {
        let s = host.stats();
        if f(&s) || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sessions_bytes_refusals_and_failures_are_counted() {
    let config = HostConfig {
        max_sessions: 1,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    c.press(Aid::Enter).unwrap();
    // A second terminal while the first is on: refused at the limit.
    let _second = TcpStream::connect(host.local_addr()).unwrap();
    let s = eventually(&host, |s| s.refused == 1 && s.bytes_in > 0);
    assert_eq!((s.accepted, s.active, s.refused), (1, 1, 1), "{s:?}");
    assert!(s.bytes_out > 100, "the sign-on screen went out: {s:?}");
    assert!(s.bytes_in > 10, "negotiation and the Enter came in: {s:?}");
    drop(c);
    let s = eventually(&host, |s| s.active == 0);
    // Closed by the client (a reset when its socket still held unread
    // screen data, which counts as an error).
    assert_eq!(
        (s.active, s.closed_normal + s.closed_error),
        (0, 1),
        "{s:?}"
    );
    let first = s.bytes_in;

    // A terminal that sends garbage instead of negotiating.
    let mut bad = TcpStream::connect(host.local_addr()).unwrap();
    bad.write_all(&[0xFF, 0xFA, 0x18, 0x00, 0xFF, 0xFB])
        .unwrap();
    bad.write_all(&[0xFF; 8]).unwrap();
    drop(bad);
    let s = eventually(&host, |s| s.accepted == 2 && s.active == 0);
    assert_eq!(s.closed_normal + s.closed_error, 2, "{s:?}");
    assert_eq!(
        s.negotiation_failures, 1,
        "the garbage never negotiated: {s:?}"
    );
    assert!(
        s.bytes_in > first,
        "its bytes (what was read before the error) count too: {s:?}"
    );

    let mut page = String::new();
    host.render_prometheus("demo", &mut page);
    for line in [
        "ballast_host_sessions_accepted_total{host=\"demo\"} 2",
        "ballast_host_sessions_refused_total{host=\"demo\"} 1",
        "ballast_host_sessions_active{host=\"demo\"} 0",
        "# TYPE ballast_host_bytes_total counter",
        "ballast_host_sessions_closed_total{host=\"demo\",reason=\"idle\"} 0",
        "ballast_host_negotiation_failures_total{host=\"demo\"} 1",
    ] {
        assert!(page.contains(line), "{line}\n{page}");
    }
}

#[test]
fn the_host_joins_a_metrics_registry_as_a_collector() {
    use std::sync::Arc;

    use ballast_resilience::MetricsRegistry;

    let registry = MetricsRegistry::new();
    registry.register_process();
    let host = Arc::new(HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap());
    let seen = Arc::clone(&host);
    registry.register_collector(move |page| seen.render_prometheus("demo", page));
    let page = registry.render_prometheus();
    assert!(
        page.contains("ballast_host_sessions_active{host=\"demo\"} 0"),
        "{page}"
    );
    assert!(page.contains("# TYPE process_open_fds gauge"), "{page}");
}
