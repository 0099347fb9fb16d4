//! The verdict of a run: history anomalies and SLA breaches, each
//! attributed to the faults it happened under.

use std::time::Duration;

use super::Datum;
use super::metrics::{FaultSpan, Performance};
use crate::history::{Entry, Op, Violation};
use crate::scenario::Scenario;

/// A history violation and the faults on while its operation ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly<K, V> {
    /// What the checker found.
    pub violation: Violation<K, V>,
    /// Faults active during the operation (empty: none).
    pub faults: Vec<String>,
}

/// A way a run missed its scenario's SLA.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Breach {
    /// Too many errors while faults were on.
    ErrorRateDuring {
        /// Measured share.
        measured: f64,
        /// Allowed share.
        limit: f64,
    },
    /// Too many errors outside the faults and their recovery allowance.
    ErrorRateAfter {
        /// Measured share.
        measured: f64,
        /// Allowed share.
        limit: f64,
    },
    /// No stable run of successes after the last fault.
    NotRecovered,
    /// Recovery took longer than allowed.
    SlowRecovery {
        /// How long it took.
        took: Duration,
        /// The limit.
        limit: Duration,
    },
    /// p99 latency outside the faults over the limit.
    SlowP99 {
        /// Measured.
        measured: Duration,
        /// The limit.
        limit: Duration,
    },
    /// No operation completed outside the faults: nothing to judge.
    NoOperations,
    /// After the target stopped, the process held more (or fewer) file
    /// descriptors or threads than before it started, or its RSS grew past
    /// [`ResourceBaseline::rss_limit`](super::ResourceBaseline::rss_limit):
    /// a resource fault was not healed completely, or the target leaked.
    ResourceLeak {
        /// `file descriptors`, `threads` or `rss bytes`.
        what: &'static str,
        /// Before the target started.
        before: u64,
        /// After it stopped.
        after: u64,
    },
}

/// A [`Breach`] and the faults it is attributed to.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaBreach {
    /// What was missed.
    pub breach: Breach,
    /// The faults it follows from (the timeline's for recovery and errors
    /// during; empty when it happened with no fault around).
    pub faults: Vec<String>,
}

/// The faults active at some time during `from..=to`.
fn active(spans: &[FaultSpan], from: Duration, to: Duration) -> Vec<String> {
    let mut names: Vec<String> = spans
        .iter()
        .filter(|s| s.overlaps(from, to))
        .map(|s| s.fault.clone())
        .collect();
    names.dedup();
    names
}

/// The first fault that started after `at`, if any.
fn next_fault(spans: &[FaultSpan], at: Duration) -> Vec<String> {
    spans
        .iter()
        .filter(|s| s.start >= at)
        .min_by_key(|s| s.start)
        .map(|s| s.fault.clone())
        .into_iter()
        .collect()
}

/// Attributes each violation to the faults that were on while its
/// operation (the write, for a lost or visible-failed write) ran; a write
/// lost after an acknowledgement given with no fault on, to the next fault.
pub(super) fn attribute<K: Datum, V: Datum>(
    violations: &[Violation<K, V>],
    entries: &[Entry<K, V>],
    spans: &[FaultSpan],
) -> Vec<Anomaly<K, V>> {
    violations
        .iter()
        .map(|v| {
            let entry = match v {
                Violation::LostWrite { key, .. } | Violation::FailedWriteVisible { key, .. } => {
                    entries
                        .iter()
                        .find(|e| matches!(&e.op, Op::Write { key: k, .. } if k == key))
                }
                Violation::PhantomRead { op, .. }
                | Violation::StaleRead { op, .. }
                | Violation::NonMonotonicRead { op, .. } => entries.iter().find(|e| e.id == *op),
                Violation::NonLinearizable { op, .. } => {
                    op.and_then(|op| entries.iter().find(|e| e.id == op))
                }
            };
            let faults = entry.map_or_else(Vec::new, |e| {
                let done = e.completed.as_ref().map_or(e.invoked, |(at, _)| *at);
                let during = active(spans, e.invoked, done);
                if during.is_empty() && matches!(v, Violation::LostWrite { .. }) {
                    // Lost after its acknowledgement: by the next fault.
                    next_fault(spans, done)
                } else {
                    during
                }
            });
            Anomaly {
                violation: v.clone(),
                faults,
            }
        })
        .collect()
}

/// The SLA breaches of a run.
pub(super) fn breaches(
    p: &Performance,
    scenario: &Scenario,
    spans: &[FaultSpan],
) -> Vec<SlaBreach> {
    let sla = &scenario.sla;
    let all: Vec<String> = spans.iter().map(|s| s.fault.clone()).collect();
    let last: Vec<String> = spans
        .iter()
        .max_by_key(|s| s.end)
        .map(|s| s.fault.clone())
        .into_iter()
        .collect();
    let mut out = Vec::new();
    let mut push = |breach, faults: &Vec<String>| {
        out.push(SlaBreach {
            breach,
            faults: faults.clone(),
        })
    };
    if let (Some(limit), Some(measured)) = (sla.max_error_rate_during, p.during.error_rate)
        && measured > limit
    {
        push(Breach::ErrorRateDuring { measured, limit }, &all);
    }
    match p.outside.error_rate {
        None => push(Breach::NoOperations, &Vec::new()),
        Some(measured) if measured > sla.max_error_rate_after => {
            push(
                Breach::ErrorRateAfter {
                    measured,
                    limit: sla.max_error_rate_after,
                },
                &last,
            );
        }
        Some(_) => {}
    }
    if !spans.is_empty() {
        match p.recovered {
            None => push(Breach::NotRecovered, &last),
            Some(took) if took > sla.max_recovery => push(
                Breach::SlowRecovery {
                    took,
                    limit: sla.max_recovery,
                },
                &last,
            ),
            Some(_) => {}
        }
    }
    if let (Some(limit), Some(measured)) = (sla.max_p99, p.outside.p99)
        && measured > limit
    {
        push(Breach::SlowP99 { measured, limit }, &Vec::new());
    }
    out
}
