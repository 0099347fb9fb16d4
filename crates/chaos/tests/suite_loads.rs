//! `[[fault.load]]` through the harness: extra clients only during the
//! fault, and storms against the link's upstream, stopped at its end.
#![cfg(feature = "proxy")]

mod targets;

use std::sync::Mutex;
use std::time::Duration;

use ballast_chaos::history::Op;
use ballast_chaos::scenario;
use ballast_chaos::suite::{self, ClientContext, EmbeddedProxy, RunOptions, SuiteError, Workload};
use targets::{EchoClients, Echoes};

fn scenario(tables: &str) -> scenario::Scenario {
    targets::one_fault_scenario("load", 500, 400, tables)
}

/// Records (process, when) of every operation.
#[derive(Default)]
struct Seen(Mutex<Vec<(u64, Duration)>>);

impl Workload<u64, u64> for Seen {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        while ctx.running() {
            ctx.history
                .invoke(ctx.process, Op::Read { key: 0 })
                .ok(None);
            self.0
                .lock()
                .unwrap()
                .push((ctx.process, ctx.history.elapsed()));
            ctx.think();
        }
        Ok(())
    }
}

#[test]
fn extra_clients_run_only_during_their_fault_numbered_after_the_regular_ones() {
    let proxy = EmbeddedProxy::new(11).unwrap();
    let seen = Seen::default();
    let s = scenario("[[fault.load]]\ntype = \"clients\"\ncount = 3\nthink_time_ms = 0");
    let run = suite::run_scenario(
        &mut Echoes::default(),
        &seen,
        &s,
        &[&proxy],
        &RunOptions::new(11),
    );
    assert!(run.error.is_none(), "{:?}", run.error);
    let span = run
        .spans
        .iter()
        .find(|sp| sp.fault == "f")
        .expect("the fault ran");
    let seen = seen.0.into_inner().unwrap();
    let mut extra: Vec<u64> = seen.iter().map(|(p, _)| *p).filter(|p| *p >= 2).collect();
    extra.sort_unstable();
    extra.dedup();
    assert_eq!(extra, [2, 3, 4]);
    for (p, at) in seen.iter().filter(|(p, _)| *p >= 2) {
        assert!(*at >= span.start, "client {p} before the fault at {at:?}");
        // Each op is short; the flag is seen at the next check.
        assert!(
            *at <= span.end + Duration::from_millis(200),
            "client {p} after it at {at:?}"
        );
    }
    let burst = seen.iter().filter(|(p, _)| *p >= 2).count();
    let regular = seen.iter().filter(|(p, _)| *p < 2).count();
    assert!(
        burst > regular,
        "think time 0: a burst ({burst} vs {regular})"
    );
}

#[test]
fn a_reconnect_storm_hits_the_links_upstream_directly_and_stops() {
    let proxy = EmbeddedProxy::new(12).unwrap();
    let mut target = Echoes::default();
    let s =
        scenario("[[fault.load]]\ntype = \"reconnect_storm\"\nthreads = 2\nmax_connections = 200");
    let run = suite::run_scenario(
        &mut target,
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(12),
    );
    assert!(run.error.is_none(), "{:?}", run.error);
    // The regular clients keep one connection each; the storm adds up to 200.
    assert!(target.accepted[0] > 20, "accepted {:?}", target.accepted);
    assert!(
        target.accepted[0] <= 200 + 20,
        "bounded: {:?}",
        target.accepted
    );
}

#[test]
fn slowloris_and_syn_burst_may_name_another_link() {
    let proxy = EmbeddedProxy::new(13).unwrap();
    let mut target = Echoes::default();
    let s = scenario(
        "[[fault.load]]\ntype = \"slowloris\"\nlink = \"b\"\nconnections = 5\ninterval_ms = 50\n\
         [[fault.load]]\ntype = \"syn_burst\"\nlink = \"b\"\nconnections = 7",
    );
    let run = suite::run_scenario(
        &mut target,
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(13),
    );
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(
        target.accepted[1], 12,
        "5 slowloris + 7 burst connections on b"
    );
}

#[test]
fn a_load_on_an_unknown_link_is_an_error() {
    let proxy = EmbeddedProxy::new(14).unwrap();
    let s = scenario("[[fault.load]]\ntype = \"syn_burst\"\nlink = \"zz\"\nconnections = 1");
    let run = suite::run_scenario(
        &mut Echoes::default(),
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(14),
    );
    assert!(matches!(run.error, Some(SuiteError::UnknownLink { ref link, .. }) if link == "zz"));
}
