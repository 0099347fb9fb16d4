//! The TN3270 target under the faults only it can take: a real SIGKILL of
//! a child host that recovers its journal, and a naive client (no retries,
//! breaker or short timeouts) that misses the SLA a resilient one meets.

use std::path::PathBuf;
use std::sync::Arc;

use ballast_chaos::history::Outcome;
use ballast_chaos::scenario::{self, Scenario};
use ballast_chaos::suite::{self, EmbeddedProxy, RunOptions};
use ballast_suites::chaos::{Run, run_one};
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

#[test]
fn a_naive_client_misses_the_sla_that_the_resilient_client_meets() {
    for name in ["black-hole", "half-open"] {
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
