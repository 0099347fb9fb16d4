//! `[[fault.target]]` actions on a tiny in-test target (two tagged echo
//! servers): kill and start on the same port, restart, misroute, clock
//! jump and skew, expired certificate — each undone at the fault's end.
#![cfg(feature = "proxy")]

mod targets;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ballast_chaos::history::{Op, Outcome};
use ballast_chaos::scenario;
use ballast_chaos::suite::{
    self, CertificateHook, ClientContext, EmbeddedProxy, FaultInjector, RunOptions, SuiteError,
    TargetHooks, Workload,
};
use ballast_clock::{SkewedClock, system_clock};
use targets::{EchoClients, Echoes, tag_at};

fn scenario(tables: &str) -> scenario::Scenario {
    targets::one_fault_scenario("software", 600, 600, tables)
}

fn failed_ops(run: &suite::ScenarioRun<u64, u64>) -> usize {
    run.history
        .entries()
        .iter()
        .filter(|e| matches!(e.completed, Some((_, Outcome::Fail(_)))))
        .count()
}

#[test]
fn kill_stops_the_target_and_start_brings_it_back_on_the_same_port() {
    let proxy = EmbeddedProxy::new(2).unwrap();
    let mut target = Echoes::default();
    let s = scenario("[[fault.target]]\ntype = \"kill\"");
    let run = suite::run_scenario(
        &mut target,
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(2),
    );
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!((target.kills, target.starts), (1, 2));
    assert!(failed_ops(&run) > 0, "the clients saw the target down");
    assert!(run.performance.recovered.is_some(), "and back up");
    assert!(!target.running(), "stopped at the end");
}

#[test]
fn restart_brings_the_target_back_at_once() {
    let proxy = EmbeddedProxy::new(3).unwrap();
    let mut target = Echoes::default();
    let s = scenario("[[fault.target]]\ntype = \"restart\"");
    let run = suite::run_scenario(
        &mut target,
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(3),
    );
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!((target.kills, target.starts), (1, 2));
}

/// Records, per operation, the tag of the server link `a` reached.
#[derive(Default)]
struct Tags(Mutex<Vec<u8>>);

impl Workload<u64, u64> for Tags {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        while ctx.running() {
            let op = ctx.history.invoke(ctx.process, Op::Read { key: 0 });
            match tag_at(ctx.addr("a").expect("link a")) {
                Ok(tag) => {
                    self.0.lock().unwrap().push(tag);
                    op.ok(None);
                }
                Err(e) => op.fail(e.to_string()),
            }
            ctx.think();
        }
        Ok(())
    }
}

#[test]
fn misroute_sends_new_connections_to_the_other_upstream_until_healed() {
    let proxy = EmbeddedProxy::new(4).unwrap();
    let mut target = Echoes::default();
    let tags = Tags::default();
    let s = scenario("[[fault.target]]\ntype = \"misroute\"\nto = \"b\"");
    let run = suite::run_scenario(&mut target, &tags, &s, &[&proxy], &RunOptions::new(4));
    assert!(run.error.is_none(), "{:?}", run.error);
    let tags = tags.0.into_inner().unwrap();
    assert_eq!(tags.first(), Some(&b'A'));
    assert!(tags.contains(&b'B'), "misrouted to b during the fault");
    assert_eq!(tags.last(), Some(&b'A'), "back to a after it");
}

#[test]
fn repoint_forwards_new_connections_to_the_new_upstream() {
    let proxy = EmbeddedProxy::new(5).unwrap();
    let a = targets::Server::start(0, b'A').unwrap();
    let b = targets::Server::start(0, b'B').unwrap();
    let addr = proxy.front("p", a.addr).unwrap();
    assert_eq!(tag_at(addr).unwrap(), b'A');
    proxy.repoint("p", b.addr).unwrap();
    assert_eq!(
        tag_at(addr).unwrap(),
        b'B',
        "same proxy address, other upstream"
    );
    proxy.remove("p").unwrap();
}

/// Samples a value once per operation.
struct Sampler<F>(F, Mutex<Vec<i64>>);

impl<F: Fn() -> i64 + Sync> Workload<u64, u64> for Sampler<F> {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        while ctx.running() {
            ctx.history
                .invoke(ctx.process, Op::Read { key: 0 })
                .ok(None);
            self.1.lock().unwrap().push((self.0)());
            ctx.think();
        }
        Ok(())
    }
}

fn clocked() -> (Arc<SkewedClock>, Echoes) {
    let clock = Arc::new(SkewedClock::new(system_clock()));
    let target = Echoes {
        hooks: TargetHooks {
            clock: Some(Arc::clone(&clock)),
            ..TargetHooks::default()
        },
        ..Echoes::default()
    };
    (clock, target)
}

#[test]
fn a_clock_jump_is_seen_through_the_hook_and_undone_unless_permanent() {
    let proxy = EmbeddedProxy::new(6).unwrap();
    let (clock, mut target) = clocked();
    let sampler = Sampler(|| clock.offset_nanos(), Mutex::default());
    let s = scenario("[[fault.target]]\ntype = \"clock_jump\"\noffset_ms = -5000");
    let run = suite::run_scenario(&mut target, &sampler, &s, &[&proxy], &RunOptions::new(6));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(sampler.1.lock().unwrap().contains(&-5_000_000_000));
    assert_eq!(clock.offset_nanos(), 0, "undone at the fault's end");

    let s = scenario("[[fault.target]]\ntype = \"clock_jump\"\noffset_ms = 7000\npermanent = true");
    let run = suite::run_scenario(&mut target, &sampler, &s, &[&proxy], &RunOptions::new(6));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(
        clock.offset_nanos(),
        7_000_000_000,
        "a permanent jump stays"
    );
}

#[test]
fn a_clock_skew_runs_the_hook_clock_at_the_rate_and_is_reset() {
    let proxy = EmbeddedProxy::new(7).unwrap();
    let (clock, mut target) = clocked();
    #[allow(clippy::cast_possible_truncation)]
    let sampler = Sampler(|| (clock.rate() * 1000.0) as i64, Mutex::default());
    let s = scenario("[[fault.target]]\ntype = \"clock_skew\"\nrate = 2.5");
    let run = suite::run_scenario(&mut target, &sampler, &s, &[&proxy], &RunOptions::new(7));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(sampler.1.lock().unwrap().contains(&2500));
    assert!(clock.is_true(), "reset at the end");
}

#[derive(Default)]
struct Certificate(AtomicBool);

impl CertificateHook for Certificate {
    fn set_expired(&self, expired: bool) -> Result<(), String> {
        self.0.store(expired, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn an_expired_certificate_is_served_during_the_fault_only() {
    let proxy = EmbeddedProxy::new(8).unwrap();
    let cert = Arc::new(Certificate::default());
    let mut target = Echoes {
        hooks: TargetHooks {
            certificate: Some(cert.clone()),
            ..TargetHooks::default()
        },
        ..Echoes::default()
    };
    let sampler = Sampler(
        || i64::from(cert.0.load(Ordering::SeqCst)),
        Mutex::default(),
    );
    let s = scenario("[[fault.target]]\ntype = \"expired_certificate\"");
    let run = suite::run_scenario(&mut target, &sampler, &s, &[&proxy], &RunOptions::new(8));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(sampler.1.lock().unwrap().contains(&1));
    assert!(!cert.0.load(Ordering::SeqCst), "valid again after");
}

#[test]
fn an_action_without_its_hook_is_unsupported_and_everything_is_healed() {
    let proxy = EmbeddedProxy::new(9).unwrap();
    let mut target = Echoes::default();
    let s = scenario("[[fault.target]]\ntype = \"clock_skew\"\nrate = 2.0");
    let run = suite::run_scenario(
        &mut target,
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(9),
    );
    match &run.error {
        Some(SuiteError::Unsupported { fault, reason }) => {
            assert_eq!(fault, "f");
            assert!(reason.contains("clock"), "{reason}");
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert!(!target.running());
    let left = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(proxy.proxy().list());
    assert!(left.is_empty(), "every proxy removed");
}

#[test]
fn a_misroute_to_an_unknown_link_is_an_error() {
    let proxy = EmbeddedProxy::new(10).unwrap();
    let s = scenario("[[fault.target]]\ntype = \"misroute\"\nto = \"nowhere\"");
    let run = suite::run_scenario(
        &mut Echoes::default(),
        &EchoClients,
        &s,
        &[&proxy],
        &RunOptions::new(10),
    );
    assert!(
        matches!(run.error, Some(SuiteError::UnknownLink { ref link, .. }) if link == "nowhere")
    );
}
