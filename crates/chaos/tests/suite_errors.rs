//! The coordinator on bad days: a target that never starts, a workload that
//! panics or fails, an interrupt — each ends the run with a clear error,
//! every fault healed and every proxy removed, and what was measured kept.
#![cfg(feature = "proxy")]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::time::Duration;

use ballast_chaos::history::Op;
use ballast_chaos::scenario;
use ballast_chaos::suite::{
    self, ClientContext, EmbeddedProxy, Link, RunOptions, SuiteError, Target, Workload,
};

/// A target that is a bare listener (nobody needs to answer).
struct Listener {
    listener: Option<TcpListener>,
    refuse: bool,
}

impl Target for Listener {
    type Key = u64;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        if self.refuse {
            return Err(SuiteError::Target("port 1 is not ours".into()));
        }
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| SuiteError::Target(e.to_string()))?;
        let addr: SocketAddr = l
            .local_addr()
            .map_err(|e| SuiteError::Target(e.to_string()))?;
        self.listener = Some(l);
        Ok(vec![Link::new("svc", addr)])
    }

    fn stop(&mut self) {
        self.listener = None;
    }

    fn final_state(&mut self) -> Result<HashMap<u64, u64>, SuiteError> {
        Ok(HashMap::new())
    }
}

/// Records reads until `panic_at` ms into the run, then panics (or fails).
struct Reader {
    stop_at: Option<Duration>,
    panic: bool,
}

impl Workload<u64, u64> for Reader {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        while ctx.running() {
            ctx.history
                .invoke(ctx.process, Op::Read { key: 1 })
                .ok(None);
            if self.stop_at.is_some_and(|t| ctx.history.elapsed() >= t) {
                if self.panic {
                    panic!("client {} gave up", ctx.process);
                }
                return Err(SuiteError::Workload {
                    process: ctx.process,
                    reason: "gave up".into(),
                });
            }
            ctx.think();
        }
        Ok(())
    }
}

fn scenario_of(total_ms: u64) -> scenario::Scenario {
    scenario::find("latency-spike")
        .expect("built in")
        .with_total(Duration::from_millis(total_ms))
}

fn opts() -> RunOptions {
    let mut o = RunOptions::new(3);
    o.clients = 2;
    o
}

/// `s` against a listener that starts, with readers that never give up.
fn healthy_run(
    proxy: &EmbeddedProxy,
    s: &scenario::Scenario,
    opts: &RunOptions,
) -> suite::ScenarioRun<u64, u64> {
    suite::run_scenario(
        &mut Listener {
            listener: None,
            refuse: false,
        },
        &Reader {
            stop_at: None,
            panic: false,
        },
        s,
        &[proxy],
        opts,
    )
}

fn healed(proxy: &EmbeddedProxy, run: &suite::ScenarioRun<u64, u64>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert!(
        rt.block_on(proxy.proxy().list()).is_empty(),
        "every proxy removed"
    );
    let events = run.history.fault_events();
    let on = events.iter().filter(|e| e.started).count();
    let off = events.iter().filter(|e| !e.started).count();
    assert_eq!(on, off, "every fault that started was healed: {events:?}");
}

#[test]
fn a_target_that_never_starts_is_a_clear_error_with_nothing_left_behind() {
    let proxy = EmbeddedProxy::new(1).expect("runtime");
    let run = suite::run_scenario(
        &mut Listener {
            listener: None,
            refuse: true,
        },
        &Reader {
            stop_at: None,
            panic: false,
        },
        &scenario_of(600),
        &[&proxy],
        &opts(),
    );
    assert_eq!(
        run.error,
        Some(SuiteError::Target("port 1 is not ours".into()))
    );
    assert!(!run.passed());
    healed(&proxy, &run);
}

#[test]
fn a_workload_that_panics_during_the_fault_stops_the_run_healed_with_its_history() {
    let proxy = EmbeddedProxy::new(1).expect("runtime");
    let s = scenario_of(3_000);
    let during = s.baseline + s.timeline[0].duration / 2;
    let run = suite::run_scenario(
        &mut Listener {
            listener: None,
            refuse: false,
        },
        &Reader {
            stop_at: Some(during),
            panic: true,
        },
        &s,
        &[&proxy],
        &opts(),
    );
    let Some(SuiteError::WorkloadPanicked { message, .. }) = &run.error else {
        panic!("expected a panic error, got {:?}", run.error)
    };
    assert!(message.contains("gave up"), "{message}");
    assert!(
        run.history.fault_events().iter().any(|e| e.started),
        "the fault had started"
    );
    assert!(run.end < s.total(), "the run stopped early");
    assert!(
        run.check.as_ref().is_some_and(|c| c.operations > 0),
        "partial history kept"
    );
    healed(&proxy, &run);
}

#[test]
fn a_workload_error_and_an_interrupt_end_the_run_healed() {
    let proxy = EmbeddedProxy::new(1).expect("runtime");
    let s = scenario_of(3_000);
    let run = suite::run_scenario(
        &mut Listener {
            listener: None,
            refuse: false,
        },
        &Reader {
            stop_at: Some(s.baseline),
            panic: false,
        },
        &s,
        &[&proxy],
        &opts(),
    );
    assert!(
        matches!(run.error, Some(SuiteError::Workload { .. })),
        "{:?}",
        run.error
    );
    healed(&proxy, &run);
    let o = opts();
    o.interrupt.store(true, Ordering::Release);
    let run = healthy_run(&proxy, &s, &o);
    assert_eq!(run.error, Some(SuiteError::Interrupted));
    healed(&proxy, &run);
}

#[test]
fn a_healthy_run_records_each_fault_and_derives_its_phases_from_the_history() {
    let proxy = EmbeddedProxy::new(1).expect("runtime");
    let s = scenario::find("slow-then-reset")
        .expect("built in")
        .with_total(Duration::from_millis(1_500));
    let run = healthy_run(&proxy, &s, &opts());
    assert_eq!(run.error, None);
    assert_eq!(
        run.spans
            .iter()
            .map(|s| s.fault.as_str())
            .collect::<Vec<_>>(),
        ["slow", "reset"]
    );
    let (slow, reset) = (&run.spans[0], &run.spans[1]);
    assert!(
        slow.start <= reset.start && reset.end <= slow.end,
        "overlapping, as scheduled: {:?}",
        run.spans
    );
    assert!(run.performance.baseline.operations > 0 && run.performance.after.operations > 0);
    assert!(run.passed(), "{} {:?}", run.summary(), run.breaches);
    healed(&proxy, &run);
}
