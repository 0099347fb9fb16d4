//! The scenario catalog: named, reproducible fault episodes with the SLA a
//! resilient client is expected to meet under each, and (with the `proxy`
//! feature) a coordinator that applies one to a [`ChaosProxy`] on schedule.
//!
//! A scenario is a set of [`Toxic`]s that switch on `fault_after` into the
//! run and off `fault_for` later. Between, before and after, the client under
//! test keeps working; the run's operation [`History`](crate::history) and
//! [`Sample`](crate::sla::Sample)s are checked afterwards.
//!
//! ```
//! use ballast_chaos::scenario::{self, Scenario};
//!
//! let names: Vec<&str> = scenario::catalog().iter().map(|s| s.name).collect();
//! assert!(names.contains(&"connection-reset"));
//! let black_hole: Scenario = scenario::find("black-hole").expect("in the catalog");
//! assert!(!black_hole.toxics.is_empty());
//! ```
//!
//! [`ChaosProxy`]: crate::ChaosProxy

use std::time::Duration;

use crate::sla::Sla;
use crate::toxic::{Stream, Toxic, ToxicKind};

/// One named fault episode.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short kebab-case name, as given on the command line.
    pub name: &'static str,
    /// What the scenario does to the connection, in one sentence.
    pub description: &'static str,
    /// The faults applied during the episode.
    pub toxics: Vec<Toxic>,
    /// When the fault starts, from the run's start.
    pub fault_after: Duration,
    /// How long the fault lasts.
    pub fault_for: Duration,
    /// Total length of the run (the fault window lies inside it).
    pub run_for: Duration,
    /// What the client under test must achieve.
    pub sla: Sla,
}

fn both(kind: ToxicKind) -> Vec<Toxic> {
    vec![
        Toxic::new(kind.clone()).stream(Stream::Upstream),
        Toxic::new(kind).stream(Stream::Downstream),
    ]
}

fn episode(
    name: &'static str,
    description: &'static str,
    toxics: Vec<Toxic>,
    max_recovery_ms: u64,
) -> Scenario {
    Scenario {
        name,
        description,
        toxics,
        fault_after: Duration::from_millis(1_500),
        fault_for: Duration::from_millis(2_000),
        run_for: Duration::from_millis(6_000),
        sla: Sla {
            max_recovery: Duration::from_millis(max_recovery_ms),
            ..Sla::default()
        },
    }
}

/// Every scenario, in the order the suite runs them.
pub fn catalog() -> Vec<Scenario> {
    vec![
        episode(
            "latency-spike",
            "250 ms ± 50 ms added each way on every chunk",
            both(ToxicKind::Latency {
                latency_ms: 250,
                jitter_ms: 50,
            }),
            2_000,
        ),
        episode(
            "bandwidth-throttle",
            "the host's answers squeezed to 4 KB/s",
            vec![Toxic::new(ToxicKind::Bandwidth { rate_kb_per_sec: 4 })],
            2_000,
        ),
        episode(
            "connection-reset",
            "every connection is reset (RST) as soon as it carries data",
            vec![Toxic::new(ToxicKind::ResetPeer { timeout_ms: 0 })],
            2_000,
        ),
        episode(
            "black-hole",
            "data vanishes and connections hang open (timeout 0)",
            vec![Toxic::new(ToxicKind::Timeout { timeout_ms: 0 })],
            3_000,
        ),
        episode(
            "mid-screen-cut",
            "connections are closed after 1500 bytes from the host",
            vec![Toxic::new(ToxicKind::LimitData { bytes: 1_500 })],
            2_000,
        ),
        episode(
            "half-open",
            "the host's side goes silent and the client is never told",
            vec![Toxic::new(ToxicKind::HalfOpen)],
            3_000,
        ),
        episode(
            "packet-loss",
            "30 % of chunks lost and retransmitted after 200 ms",
            both(ToxicKind::Loss {
                probability: 0.3,
                retransmit_ms: 200,
                drop: false,
            }),
            3_000,
        ),
        episode(
            "sliced-records",
            "every chunk split into 1–12 byte pieces 50 µs apart",
            both(ToxicKind::Slicer {
                average_size: 6,
                size_variation: 5,
                delay_us: 50,
            }),
            2_000,
        ),
        episode(
            "first-connections-refused",
            "the proxy's first 3 connections are reset once the fault is on",
            vec![Toxic::new(ToxicKind::ResetPeer { timeout_ms: 0 }).first_connections(3)],
            2_000,
        ),
    ]
}

/// The catalog scenario called `name`.
pub fn find(name: &str) -> Option<Scenario> {
    catalog().into_iter().find(|s| s.name == name)
}

#[cfg(feature = "proxy")]
mod coordinator {
    use tokio::time::Instant;

    use super::Scenario;
    use crate::sla::FaultWindow;
    use crate::{ChaosProxy, Result};

    #[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
    impl Scenario {
        /// Waits until `fault_after` past `start`, applies the scenario's
        /// toxics to proxy `proxy_name` (replacing any there), waits
        /// `fault_for`, removes them, and returns when the fault was really
        /// on, measured from `start` (tokio's clock, so paused time works;
        /// `Instant::from_std(history.start())` lines it up with a history).
        ///
        /// # Errors
        ///
        /// The proxy's error when it does not exist or refuses a toxic; the
        /// toxics are removed again on the way out.
        pub async fn inject(
            &self,
            proxy: &ChaosProxy,
            proxy_name: &str,
            start: Instant,
        ) -> Result<FaultWindow> {
            tokio::time::sleep_until(start + self.fault_after).await;
            let on = start.elapsed();
            let applied = proxy.set_toxics(proxy_name, &self.toxics).await;
            if applied.is_ok() {
                tokio::time::sleep(self.fault_for).await;
            }
            let cleared = proxy.set_toxics(proxy_name, &[]).await;
            applied.and(cleared)?;
            Ok(FaultWindow {
                start: on,
                end: start.elapsed(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_valid_and_named_once() {
        let catalog = catalog();
        let mut names: Vec<&str> = catalog.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), catalog.len(), "duplicate scenario names");
        for s in &catalog {
            assert!(!s.toxics.is_empty(), "{} has no fault", s.name);
            for t in &s.toxics {
                t.validate().unwrap_or_else(|e| panic!("{}: {e}", s.name));
            }
            assert!(
                s.fault_after + s.fault_for < s.run_for,
                "{}: fault outlasts run",
                s.name
            );
        }
    }

    #[cfg(feature = "proxy")]
    #[tokio::test(start_paused = true)]
    async fn inject_switches_the_toxics_on_and_off_on_schedule() {
        let proxy = crate::ChaosProxy::new(1);
        proxy
            .create(crate::ProxyConfig::new("svc", "127.0.0.1:9"))
            .await
            .expect("proxy on loopback");
        let scenario = find("latency-spike").expect("in catalog");
        let start = tokio::time::Instant::now();
        let p = proxy.clone();
        let task = tokio::spawn(async move { scenario.inject(&p, "svc", start).await });
        tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
        assert_eq!(
            proxy.toxics("svc").await.expect("proxy exists").len(),
            2,
            "fault is on"
        );
        let window = task.await.expect("task").expect("inject");
        assert!(
            proxy.toxics("svc").await.expect("proxy exists").is_empty(),
            "fault removed"
        );
        assert!(window.end > window.start);
    }
}
