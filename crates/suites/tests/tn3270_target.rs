//! The TN3270 target under the faults only it can take: a real SIGKILL of
//! a child host that recovers its journal, one endpoint of three stopped
//! and restarted, late data after a logoff, a spike sized by the clients,
//! and a naive client (no retries, breaker, failover or short timeouts)
//! that misses the SLA a resilient one meets.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballast_chaos::history::Outcome;
use ballast_chaos::scenario::{self, Load, Scenario, TargetAction};
use ballast_chaos::suite::{self, EmbeddedProxy, Link, RunOptions, Target};
use ballast_suites::chaos::{Run, run_one, scale_loads};
use ballast_suites::tn3270::{Setup, Tn3270Target, Tn3270Workload};

fn find(name: &str) -> Scenario {
    scenario::find(name).unwrap_or_else(|| panic!("{name} is in the catalog"))
}

fn options(seed: u64) -> RunOptions {
    let mut opts = RunOptions::new(seed);
    opts.clients = 3;
    opts
}

fn explain(run: &Run) -> String {
    format!(
        "{}\nerror: {:?}\nbreaches: {:?}\nanomalies: {:?}",
        run.summary(),
        run.error,
        run.breaches,
        run.anomalies
    )
}

#[test]
fn a_child_host_killed_with_sigkill_restarts_from_its_journal_and_loses_nothing_acknowledged() {
    let s = find("host-kill-restart");
    let clock = ballast_suites::tn3270::target_clock();
    let setup = Setup::of(&s).expect("settings");
    let workload = Tn3270Workload::new(&s, 11, Arc::clone(&clock)).expect("workload");
    let mut target = Tn3270Target::with_setup(setup, clock)
        .host_exe(PathBuf::from(env!("CARGO_BIN_EXE_ballast-suite")));
    let proxy = EmbeddedProxy::new(11).expect("proxy");
    let run = suite::run_scenario(&mut target, &workload, &s, &[&proxy], &options(11));
    assert!(run.passed(), "{}", explain(&run));
    // Records were acknowledged before the kill and after the restart.
    let killed = run.spans.first().expect("the kill fault ran");
    let acked: Vec<_> = run
        .history
        .entries()
        .into_iter()
        .filter_map(|e| match e.completed {
            Some((at, Outcome::Ok(_))) => Some(at),
            _ => None,
        })
        .collect();
    assert!(
        acked.iter().any(|t| *t < killed.start),
        "acks before the kill"
    );
    assert!(
        acked.iter().any(|t| *t > killed.end),
        "acks after the restart"
    );
}

fn with_client(name: &str, client: &str) -> Run {
    let mut s = find(name);
    s.workload.settings.insert("client".into(), client.into());
    let proxy = EmbeddedProxy::new(5).expect("proxy");
    run_one(&s, &[&proxy], &options(5))
}

/// Scenarios where retries, a breaker, failover and short step timeouts
/// make the difference, at least two per category.
const NAIVE_MISSES: &[(&str, &str)] = &[
    ("black-hole", "connection"),
    ("half-open", "connection"),
    ("truncated-records", "protocol"),
    ("tls-handshake-stall", "protocol"),
    ("endpoint-flap", "cascading"),
    ("two-of-three-down", "cascading"),
];

#[test]
fn a_naive_client_misses_the_sla_that_the_resilient_client_meets() {
    let categories: std::collections::BTreeSet<&str> =
        NAIVE_MISSES.iter().map(|(_, c)| *c).collect();
    assert!(NAIVE_MISSES.len() >= 6 && categories.len() >= 3);
    for (name, category) in NAIVE_MISSES {
        assert_eq!(&find(name).category, category, "{name}");
        let resilient = with_client(name, "resilient");
        assert!(resilient.passed(), "resilient, {}", explain(&resilient));
        let naive = with_client(name, "naive");
        assert!(naive.error.is_none(), "naive ran: {}", explain(&naive));
        assert!(
            !naive.breaches.is_empty(),
            "the naive client should miss the SLA under {name}: {}",
            explain(&naive)
        );
    }
}

#[test]
fn a_killed_endpoint_stops_alone_and_restarts_where_it_listened() {
    let setup = Setup {
        hosts: 3,
        ..Setup::default()
    };
    let mut target = Tn3270Target::with_setup(setup, ballast_suites::tn3270::target_clock());
    let links = target.start().expect("the hosts start");
    let addr = |links: &[Link], name: &str| {
        links
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.upstream)
            .unwrap_or_else(|| panic!("link {name}: {links:?}"))
    };
    let b = addr(&links, "host-b");
    let mut kept = TcpStream::connect(b).expect("host-b serves");
    target.kill_link("host-b");
    assert!(TcpStream::connect(b).is_err(), "host-b is down");
    for other in ["host", "host-c"] {
        TcpStream::connect(addr(&links, other)).expect("the other endpoints serve");
    }
    // Its sessions went with it: a read ends (EOF or reset), bounded.
    kept.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let mut ended = false;
    for _ in 0..64 {
        match kept.read(&mut buf) {
            Ok(0) | Err(_) => {
                ended = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(ended, "host-b's session was dropped");
    let again = target.start_link("host-b").expect("host-b restarts");
    assert_eq!(addr(&again, "host-b"), b, "on the same address");
    TcpStream::connect(b).expect("host-b serves again");
    target.stop();
}

#[test]
fn the_outage_scenarios_stop_the_host_behind_the_endpoint_rather_than_fake_it() {
    for (name, links) in [
        ("endpoint-flap", &["host-b"][..]),
        ("two-of-three-down", &["host-b", "host-c"][..]),
    ] {
        let s = find(name);
        for link in links {
            assert!(
                s.timeline
                    .iter()
                    .any(|f| f.link.as_deref() == Some(link)
                        && f.targets.contains(&TargetAction::Kill)),
                "{name}: the host behind {link} is killed"
            );
        }
        let run = with_client(name, "resilient");
        assert!(run.passed(), "{}", explain(&run));
    }
}

#[test]
fn late_data_after_a_logoff_is_drained_and_ignored() {
    let s = find("late-data-after-close");
    assert!(
        s.timeline.iter().all(|f| f.targets.is_empty()),
        "late data follows a logoff, not a host restart"
    );
    let clock = ballast_suites::tn3270::target_clock();
    let setup = Setup::of(&s).expect("settings");
    let workload = Tn3270Workload::new(&s, 9, Arc::clone(&clock)).expect("workload");
    let mut target = Tn3270Target::with_setup(setup, clock);
    let proxy = EmbeddedProxy::new(9).expect("proxy");
    let run = suite::run_scenario(&mut target, &workload, &s, &[&proxy], &options(9));
    assert!(run.passed(), "{}", explain(&run));
    assert!(workload.logoffs() > 0, "users signed off");
    assert!(
        workload.late_reads() > 0,
        "a stale screen arrived after a logoff ({} logoffs)",
        workload.logoffs()
    );
}

#[test]
fn a_connection_spike_is_ten_times_the_clients() {
    for clients in [1, 2, 4, 8] {
        let s = scale_loads(find("connection-spike"), clients);
        let extra: u64 = s
            .timeline
            .iter()
            .flat_map(|f| &f.loads)
            .map(|l| match l.load {
                Load::Clients { count, .. } => count,
                _ => 0,
            })
            .sum();
        assert_eq!(extra + clients, 10 * clients, "{clients} clients");
    }
    // A load without the setting keeps its count.
    let burst = scale_loads(find("burst-traffic"), 2);
    assert_eq!(burst.timeline, find("burst-traffic").timeline);
}
