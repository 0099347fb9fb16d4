//! Performance derived from a run's history: nothing is measured twice.

use std::time::Duration;

use crate::history::{Entry, FaultEvent, Outcome};
use crate::sla::Sample;

/// Width of the windows throughput recovery is measured over.
pub const THROUGHPUT_WINDOW: Duration = Duration::from_millis(500);

/// When one fault was on, from the history's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpan {
    /// The fault's name.
    pub fault: String,
    /// Its link.
    pub link: String,
    /// Switched on.
    pub start: Duration,
    /// Healed (the run's end when it never was).
    pub end: Duration,
}

impl FaultSpan {
    /// Pairs start and stop events; a fault never healed ends at `run_end`.
    pub fn from_events(events: &[FaultEvent], run_end: Duration) -> Vec<Self> {
        let mut spans: Vec<Self> = Vec::new();
        for e in events {
            if e.started {
                spans.push(Self {
                    fault: e.fault.clone(),
                    link: e.link.clone(),
                    start: e.at,
                    end: run_end,
                });
            } else if let Some(s) = spans
                .iter_mut()
                .rev()
                .find(|s| s.fault == e.fault && s.end == run_end)
            {
                s.end = e.at;
            }
        }
        spans
    }

    /// Whether the fault was on at some time in `from..=to`.
    pub fn overlaps(&self, from: Duration, to: Duration) -> bool {
        from < self.end && to >= self.start
    }
}

/// One sample per completed operation: invoked at, latency, acknowledged.
pub fn samples<K, V>(entries: &[Entry<K, V>]) -> Vec<Sample> {
    entries
        .iter()
        .filter_map(|e| {
            let (done, outcome) = e.completed.as_ref()?;
            Some(Sample {
                at: e.invoked,
                latency: done.saturating_sub(e.invoked),
                ok: matches!(outcome, Outcome::Ok(_)),
            })
        })
        .collect()
}

/// Throughput, latency and errors of the operations invoked in one phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseStats {
    /// Operations invoked (and completed) in the phase.
    pub operations: u64,
    /// Of which acknowledged.
    pub ok: u64,
    /// Acknowledged operations per second of the phase.
    pub throughput_per_sec: f64,
    /// Median latency of acknowledged operations.
    pub p50: Option<Duration>,
    /// 95th percentile.
    pub p95: Option<Duration>,
    /// 99th percentile.
    pub p99: Option<Duration>,
    /// Share of failed or unknown operations (`None`: no operation).
    pub error_rate: Option<f64>,
}

impl PhaseStats {
    /// Stats of `samples` over a phase `len` long.
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>, len: Duration) -> Self {
        let mut latencies = Vec::new();
        let mut operations = 0u64;
        for s in samples {
            operations += 1;
            if s.ok {
                latencies.push(s.latency);
            }
        }
        latencies.sort_unstable();
        let ok = latencies.len() as u64;
        let secs = len.as_secs_f64();
        Self {
            operations,
            ok,
            throughput_per_sec: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            p50: quantile(&latencies, 0.50),
            p95: quantile(&latencies, 0.95),
            p99: quantile(&latencies, 0.99),
            error_rate: (operations > 0).then(|| (operations - ok) as f64 / operations as f64),
        }
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    sorted
        .get(((last as f64 * q).round() as usize).min(last))
        .copied()
}

/// Everything measured in one run, derived from its history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Performance {
    /// Before the first fault.
    pub baseline: PhaseStats,
    /// From the first fault's start to the last fault's end.
    pub during: PhaseStats,
    /// After the last fault's end.
    pub after: PhaseStats,
    /// Outside every fault and its allowed recovery time (what the SLA judges).
    pub outside: PhaseStats,
    /// From the first fault's start to the first operation that failed
    /// (completion time); `None`: nothing failed.
    pub time_to_detect: Option<Duration>,
    /// From the last fault's end to the first acknowledged operation
    /// invoked after it (completion time).
    pub first_success: Option<Duration>,
    /// From the last fault's end to the first of a stable run of
    /// successes (invocation time); `None`: never recovered.
    pub recovered: Option<Duration>,
    /// From the last fault's end to the first window of
    /// [`THROUGHPUT_WINDOW`] with throughput within 10 % of the baseline's.
    pub throughput_recovered: Option<Duration>,
    /// Share of acknowledged operations in the whole run.
    pub availability: Option<f64>,
}

/// Measures `samples` (sorted by invocation) of a run that ended at `end`,
/// given its fault spans, the stable-success count and the recovery
/// allowance that excuses errors after a fault.
pub(super) fn measure(
    samples: &[Sample],
    spans: &[FaultSpan],
    end: Duration,
    stable: usize,
    allowance: Duration,
) -> Performance {
    let first_on = spans.iter().map(|s| s.start).min().unwrap_or(end);
    let last_off = spans.iter().map(|s| s.end).max().unwrap_or(end);
    let excused = |s: &Sample| {
        spans
            .iter()
            .any(|f| s.at < f.end + allowance && s.at + s.latency >= f.start)
    };
    let baseline = PhaseStats::of(samples.iter().filter(|s| s.at < first_on), first_on);
    let after_len = end.saturating_sub(last_off);
    let outside_len = end.saturating_sub(last_off + allowance) + first_on;
    let mut p = Performance {
        during: PhaseStats::of(
            samples
                .iter()
                .filter(|s| s.at >= first_on && s.at < last_off),
            last_off - first_on.min(last_off),
        ),
        after: PhaseStats::of(samples.iter().filter(|s| s.at >= last_off), after_len),
        outside: PhaseStats::of(samples.iter().filter(|s| !excused(s)), outside_len),
        availability: PhaseStats::of(samples, end).error_rate.map(|e| 1.0 - e),
        ..Performance::default()
    };
    if !spans.is_empty() {
        p.time_to_detect = samples
            .iter()
            .filter(|s| !s.ok && s.at + s.latency >= first_on)
            .map(|s| (s.at + s.latency).saturating_sub(first_on))
            .min();
        let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= last_off).collect();
        p.first_success = after
            .iter()
            .filter(|s| s.ok)
            .map(|s| s.at + s.latency - last_off)
            .min();
        p.recovered = stable_run(&after, stable).map(|at| at - last_off);
        p.throughput_recovered =
            throughput_back(&after, last_off, end, baseline.throughput_per_sec);
    }
    p.baseline = baseline;
    p
}

/// The invocation time of the first of `stable` successes in a row.
fn stable_run(after: &[&Sample], stable: usize) -> Option<Duration> {
    let mut run = 0;
    let mut start = None;
    for s in after {
        if s.ok {
            start.get_or_insert(s.at);
            run += 1;
            if run >= stable.max(1) {
                return start;
            }
        } else {
            (run, start) = (0, None);
        }
    }
    None
}

/// The first window (sliding by a fifth of its width) after `from` whose
/// throughput is at least 90 % of `baseline`.
fn throughput_back(
    after: &[&Sample],
    from: Duration,
    end: Duration,
    baseline: f64,
) -> Option<Duration> {
    if baseline <= 0.0 {
        return None;
    }
    let step = THROUGHPUT_WINDOW / 5;
    let steps = end.saturating_sub(from).as_millis() / step.as_millis().max(1);
    (0..=steps as u32)
        .map(|i| from + step * i)
        .take_while(|w| *w + THROUGHPUT_WINDOW <= end)
        .find_map(|w| {
            let ok = after
                .iter()
                .filter(|s| s.ok && s.at >= w && s.at < w + THROUGHPUT_WINDOW)
                .count();
            (ok as f64 / THROUGHPUT_WINDOW.as_secs_f64() >= 0.9 * baseline).then(|| w - from)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn run(ok: impl Fn(u64) -> bool) -> Vec<Sample> {
        (0..600)
            .map(|i| Sample {
                at: ms(i * 10),
                latency: ms(2),
                ok: ok(i * 10),
            })
            .collect()
    }

    fn span(start: u64, end: u64) -> FaultSpan {
        FaultSpan {
            fault: "f".into(),
            link: "l".into(),
            start: ms(start),
            end: ms(end),
        }
    }

    #[test]
    fn phases_detection_and_recovery_come_from_the_samples() {
        let samples = run(|t| !(2_000..3_000).contains(&t));
        let p = measure(&samples, &[span(2_000, 2_900)], ms(6_000), 3, ms(1_000));
        assert_eq!(p.baseline.operations, 200);
        assert_eq!(p.baseline.error_rate, Some(0.0));
        assert!((p.baseline.throughput_per_sec - 100.0).abs() < 1e-9);
        assert_eq!(p.during.error_rate, Some(1.0));
        assert_eq!(
            p.time_to_detect,
            Some(ms(2)),
            "the first failure completes 2 ms in"
        );
        assert_eq!(p.recovered, Some(ms(100)));
        assert_eq!(p.first_success, Some(ms(102)));
        assert_eq!(
            p.throughput_recovered,
            Some(ms(100)),
            "windows slide by 100 ms"
        );
        assert_eq!(
            p.outside.error_rate,
            Some(0.0),
            "errors in the allowance are excused"
        );
        assert_eq!(p.baseline.p99, Some(ms(2)));
    }

    #[test]
    fn a_system_that_never_comes_back_has_no_recovery() {
        let samples = run(|t| t < 2_000);
        let p = measure(&samples, &[span(2_000, 2_500)], ms(6_000), 3, ms(500));
        assert_eq!(
            (p.recovered, p.first_success, p.throughput_recovered),
            (None, None, None)
        );
        assert!(p.outside.error_rate.is_some_and(|e| e > 0.5));
    }

    #[test]
    fn fault_spans_pair_overlapping_events_by_name() {
        let ev = |fault: &str, at: u64, started: bool| FaultEvent {
            fault: fault.into(),
            link: "l".into(),
            at: ms(at),
            started,
        };
        let events = [ev("a", 10, true), ev("b", 20, true), ev("a", 30, false)];
        let spans = FaultSpan::from_events(&events, ms(100));
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start, spans[0].end), (ms(10), ms(30)));
        assert_eq!(spans[1].end, ms(100), "never healed: ends with the run");
        assert!(spans[1].overlaps(ms(50), ms(60)));
        assert!(!spans[0].overlaps(ms(31), ms(40)));
    }
}
