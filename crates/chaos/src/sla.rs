//! Recovery and SLA validation: did the system stay available outside the
//! fault, and how long did it take to recover once the fault was removed?
//!
//! Feed it one [`Sample`] per operation (when it was invoked, how long it
//! took, whether it succeeded) and the [`FaultWindow`]s of the run; it
//! measures availability and latency outside the faults, the time from each
//! fault's end to the first run of [`Sla::stable_successes`] successes, and
//! reports every way the run missed its [`Sla`].
//!
//! ```
//! use std::time::Duration;
//! use ballast_chaos::sla::{FaultWindow, Sample, Sla, validate};
//!
//! let ms = Duration::from_millis;
//! let samples: Vec<Sample> = (0..100u64)
//!     .map(|i| Sample { at: ms(i * 10), latency: ms(1), ok: !(300..520).contains(&(i * 10)) })
//!     .collect();
//! let fault = FaultWindow { start: ms(300), end: ms(500) };
//! let report = validate(&samples, &[fault], &Sla::default());
//! assert_eq!(report.recovery, vec![Some(ms(20))]); // first success at 520 ms
//! assert!(report.violations.is_empty(), "{:?}", report.violations);
//! ```

use std::time::Duration;

/// One operation as the SLA sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When it was invoked, from the run's start.
    pub at: Duration,
    /// How long it took.
    pub latency: Duration,
    /// Whether it succeeded.
    pub ok: bool,
}

/// When a fault was active, from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultWindow {
    /// The fault was applied.
    pub start: Duration,
    /// The fault was removed.
    pub end: Duration,
}

/// What the system promises.
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    /// Longest allowed time from a fault's end to recovery.
    pub max_recovery: Duration,
    /// Consecutive successes that count as recovered.
    pub stable_successes: usize,
    /// Least share of successful operations outside faults and their
    /// allowed recovery time (0.0..=1.0).
    pub min_availability: f64,
    /// Highest allowed p99 latency outside faults, if any.
    pub max_p99_latency: Option<Duration>,
}

impl Default for Sla {
    /// Recover within 5 s (3 successes in a row), 99 % available and p99
    /// under 1 s outside faults.
    fn default() -> Self {
        Self {
            max_recovery: Duration::from_secs(5),
            stable_successes: 3,
            min_availability: 0.99,
            max_p99_latency: Some(Duration::from_secs(1)),
        }
    }
}

/// A way a run missed its SLA.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SlaViolation {
    /// No stable run of successes followed this fault.
    NotRecovered {
        /// Index of the fault window.
        window: usize,
    },
    /// Recovery took longer than allowed.
    SlowRecovery {
        /// Index of the fault window.
        window: usize,
        /// How long it took.
        took: Duration,
        /// The allowed maximum.
        limit: Duration,
    },
    /// Too few operations succeeded outside the faults.
    LowAvailability {
        /// Measured share of successes.
        measured: f64,
        /// Required share.
        required: f64,
    },
    /// p99 latency outside the faults was over the limit.
    SlowP99 {
        /// Measured p99.
        measured: Duration,
        /// The allowed maximum.
        limit: Duration,
    },
    /// No operation ran outside the faults, so nothing could be measured.
    NoSamplesOutsideFaults,
}

/// What [`validate`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaReport {
    /// Operations considered.
    pub samples: usize,
    /// Share of successes while a fault was active (`None`: no samples).
    pub availability_during_faults: Option<f64>,
    /// Share of successes outside faults and their allowed recovery.
    pub availability_outside: Option<f64>,
    /// Per fault window: time from its end to recovery (`None`: never).
    pub recovery: Vec<Option<Duration>>,
    /// Median latency of successful operations outside faults.
    pub p50_outside: Option<Duration>,
    /// 99th-percentile latency of successful operations outside faults.
    pub p99_outside: Option<Duration>,
    /// Everything the run missed.
    pub violations: Vec<SlaViolation>,
}

impl SlaReport {
    /// Whether the run met its SLA.
    pub fn is_met(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The value at quantile `q` (0..=1) of sorted `values`.
fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// Time from `window.end` to the first sample of a run of `stable`
/// successes invoked at or after it.
fn recovery_after(samples: &[Sample], window: &FaultWindow, stable: usize) -> Option<Duration> {
    let mut run_start = None;
    let mut run = 0;
    for s in samples.iter().filter(|s| s.at >= window.end) {
        if s.ok {
            run_start.get_or_insert(s.at);
            run += 1;
            if run >= stable.max(1) {
                return run_start.map(|start| start - window.end);
            }
        } else {
            run = 0;
            run_start = None;
        }
    }
    None
}

fn share_ok<'a>(samples: impl Iterator<Item = &'a Sample>) -> Option<f64> {
    let (mut ok, mut all) = (0usize, 0usize);
    for s in samples {
        all += 1;
        ok += usize::from(s.ok);
    }
    (all > 0).then(|| ok as f64 / all as f64)
}

/// Measures `samples` against `sla` given the run's `faults`.
pub fn validate(samples: &[Sample], faults: &[FaultWindow], sla: &Sla) -> SlaReport {
    let mut sorted: Vec<Sample> = samples.to_vec();
    sorted.sort_by_key(|s| s.at);
    // An operation counts as hit by a fault when its run overlaps the fault:
    // one invoked just before the fault starts can still be cut by it.
    let overlaps = |s: &Sample, from: Duration, to: Duration| s.at < to && s.at + s.latency >= from;
    let in_fault = |s: &Sample| faults.iter().any(|f| overlaps(s, f.start, f.end));
    let excused = |s: &Sample| {
        faults
            .iter()
            .any(|f| overlaps(s, f.start, f.end + sla.max_recovery))
    };
    let recovery: Vec<Option<Duration>> = faults
        .iter()
        .map(|f| recovery_after(&sorted, f, sla.stable_successes))
        .collect();
    let outside: Vec<&Sample> = sorted.iter().filter(|s| !excused(s)).collect();
    let mut latencies: Vec<Duration> = outside.iter().filter(|s| s.ok).map(|s| s.latency).collect();
    latencies.sort();
    let mut report = SlaReport {
        samples: sorted.len(),
        availability_during_faults: share_ok(sorted.iter().filter(|s| in_fault(s))),
        availability_outside: share_ok(outside.iter().copied()),
        p50_outside: quantile(&latencies, 0.50),
        p99_outside: quantile(&latencies, 0.99),
        recovery,
        violations: Vec::new(),
    };
    for (window, r) in report.recovery.iter().enumerate() {
        match r {
            None => report
                .violations
                .push(SlaViolation::NotRecovered { window }),
            Some(took) if *took > sla.max_recovery => {
                report.violations.push(SlaViolation::SlowRecovery {
                    window,
                    took: *took,
                    limit: sla.max_recovery,
                })
            }
            Some(_) => {}
        }
    }
    match report.availability_outside {
        None => report.violations.push(SlaViolation::NoSamplesOutsideFaults),
        Some(measured) if measured < sla.min_availability => {
            report.violations.push(SlaViolation::LowAvailability {
                measured,
                required: sla.min_availability,
            })
        }
        Some(_) => {}
    }
    if let (Some(limit), Some(measured)) = (sla.max_p99_latency, report.p99_outside)
        && measured > limit
    {
        report
            .violations
            .push(SlaViolation::SlowP99 { measured, limit });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn run(ok: impl Fn(u64) -> bool) -> Vec<Sample> {
        (0..200)
            .map(|i| Sample {
                at: ms(i * 10),
                latency: ms(2),
                ok: ok(i * 10),
            })
            .collect()
    }

    #[test]
    fn recovery_is_measured_from_the_fault_end_to_a_stable_run_of_successes() {
        // One lucky success at 510 ms, then failures, then stable from 600 ms.
        let samples = run(|t| !(400..600).contains(&t) || t == 510);
        let fault = FaultWindow {
            start: ms(400),
            end: ms(500),
        };
        let report = validate(&samples, &[fault], &Sla::default());
        assert_eq!(report.recovery, vec![Some(ms(100))]);
        assert!(report.is_met(), "{:?}", report.violations);
    }

    #[test]
    fn a_system_that_never_recovers_misses_the_sla() {
        let samples = run(|t| t < 400);
        let fault = FaultWindow {
            start: ms(400),
            end: ms(500),
        };
        let report = validate(&samples, &[fault], &Sla::default());
        assert_eq!(report.recovery, vec![None]);
        assert!(
            report
                .violations
                .contains(&SlaViolation::NotRecovered { window: 0 })
        );
    }

    #[test]
    fn slow_recovery_is_reported_with_the_limit() {
        let samples = run(|t| !(400..1500).contains(&t));
        let fault = FaultWindow {
            start: ms(400),
            end: ms(500),
        };
        let sla = Sla {
            max_recovery: ms(200),
            ..Sla::default()
        };
        let report = validate(&samples, &[fault], &sla);
        assert!(report.violations.contains(&SlaViolation::SlowRecovery {
            window: 0,
            took: ms(1000),
            limit: ms(200)
        }));
    }

    #[test]
    fn failures_outside_faults_lower_availability() {
        let samples = run(|t| t % 50 != 0); // one in five fails, no fault at all
        let report = validate(&samples, &[], &Sla::default());
        assert_eq!(report.availability_outside, Some(0.8));
        assert!(matches!(
            report.violations[0],
            SlaViolation::LowAvailability { .. }
        ));
    }

    #[test]
    fn failures_during_the_fault_and_its_recovery_allowance_are_excused() {
        let samples = run(|t| !(400..700).contains(&t));
        let fault = FaultWindow {
            start: ms(400),
            end: ms(500),
        };
        let report = validate(&samples, &[fault], &Sla::default());
        assert_eq!(report.availability_outside, Some(1.0));
        assert_eq!(report.availability_during_faults, Some(0.0));
    }

    #[test]
    fn an_operation_in_flight_when_the_fault_starts_is_excused() {
        let mut samples = run(|_| true);
        // Invoked 5 ms before the fault, cut by it 95 ms later.
        samples.push(Sample {
            at: ms(395),
            latency: ms(100),
            ok: false,
        });
        let fault = FaultWindow {
            start: ms(400),
            end: ms(500),
        };
        let report = validate(&samples, &[fault], &Sla::default());
        assert_eq!(report.availability_outside, Some(1.0));
        assert!(report.is_met(), "{:?}", report.violations);
    }

    #[test]
    fn p99_latency_outside_faults_is_checked() {
        let mut samples = run(|_| true);
        samples[7].latency = ms(5_000);
        samples[8].latency = ms(5_000);
        samples[9].latency = ms(5_000);
        let report = validate(&samples, &[], &Sla::default());
        assert_eq!(report.p50_outside, Some(ms(2)));
        assert!(matches!(report.violations[0], SlaViolation::SlowP99 { .. }));
    }
}
