//! The resource baseline of a run: fds, threads and RSS before the target
//! starts and after it stops. One test in its own process, so no other
//! test's threads or sockets move the figures.
#![cfg(all(feature = "proxy", target_os = "linux"))]

mod targets;

use std::time::Duration;

use ballast_chaos::scenario;
use ballast_chaos::suite::{self, Breach, EmbeddedProxy, RunOptions};
use targets::{EchoClients, Echoes};

const HOGGED: &str = r#"
name = "hogged"
category = "resource"
description = "a small CPU hog"
baseline_ms = 300
recovery_ms = 300
[workload]
clients = 2
[sla]
max_p99_ms = 60000
max_error_rate_after = 1.0
[[fault]]
name = "hog"
duration_ms = 400
[[fault.resource]]
type = "cpu_hog"
threads = 1
duty_percent = 20
"#;

#[test]
fn a_healed_run_keeps_its_baseline_and_a_leaking_target_is_a_breach() {
    let proxy = EmbeddedProxy::new(1).unwrap();
    let s = scenario::parse("hogged.toml", HOGGED).unwrap();
    let opts = RunOptions::new(1);

    let mut target = Echoes::default();
    let run = suite::run_scenario(&mut target, &EchoClients, &s, &[&proxy], &opts);
    assert!(run.error.is_none(), "{:?}", run.error);
    let figures = run
        .resources
        .expect("measured: the scenario has a resource fault");
    eprintln!("healed run: {}", figures.summary());
    let leaks: Vec<_> = run
        .breaches
        .iter()
        .filter(|b| matches!(b.breach, Breach::ResourceLeak { .. }))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?} ({})", figures.summary());

    let mut leaky = Echoes {
        leak_on_stop: true,
        ..Echoes::default()
    };
    let run = suite::run_scenario(&mut leaky, &EchoClients, &s, &[&proxy], &opts);
    let figures = run.resources.expect("measured");
    eprintln!("leaking run: {}", figures.summary());
    let leak = run
        .breaches
        .iter()
        .find(|b| {
            matches!(
                b.breach,
                Breach::ResourceLeak {
                    what: "file descriptors",
                    ..
                }
            )
        })
        .unwrap_or_else(|| panic!("no fd leak in {:?}", run.breaches));
    assert_eq!(leak.faults, ["hog"]);
    assert_eq!(figures.fds_after, figures.fds_before + 1);
    assert!(!run.passed());

    // A scenario with no resource fault is not measured.
    let plain = scenario::find("latency-spike")
        .unwrap()
        .with_total(Duration::from_millis(600));
    let run = suite::run_scenario(
        &mut Echoes::default(),
        &EchoClients,
        &plain,
        &[&proxy],
        &opts,
    );
    assert!(run.resources.is_none());
}
