//! Soaks: long runs of real work under the counting allocator that fail
//! when the live heap, the open file descriptors or the threads grow.
//!
//! `ballast-suite soak [NAME…] [--quick] [--seconds N] [--iterations N]`
//! runs the built-in soaks ([`workloads::catalog`]) in the `ballast-suite`
//! binary, whose global allocator is a [`CountingAlloc`]; `cargo xtask
//! test-stability` runs it in release mode. Each soak warms up, takes its
//! baseline (live bytes, descriptors, threads), runs for its budget while
//! sampling live and peak bytes, lets its background work settle and
//! compares: live growth must stay under 1 % of the baseline (with a
//! [`HEAP_SLACK_BYTES`] floor), descriptors and threads must be back to
//! the baseline, and a soak with a floor of operations
//! ([`Budget::min_operations`]) must reach it before its time cap. Once the
//! soak is dropped, [`check_teardown`] wants the live heap back at its
//! level before the soak was built (within [`TEARDOWN_SLACK_BYTES`]) and
//! descriptors and threads exactly back. The report (`soak.json`,
//! `soak.md`, and `soak-<name>.svg`, live bytes over time against the
//! bound) names every breach with its soak and figure; the exit code is 1
//! on a breach.
//!
//! [`CountingAlloc`]: ballast_alloc::CountingAlloc

mod alloc_rounds;
mod chart;
mod cli;
mod idle_sessions;
mod parser;
mod pool_expiry;
mod proxy_churn;
mod report;
mod resilience_churn;
mod selftest;
pub mod workloads;

use std::time::{Duration, Instant};

use ballast_alloc::AllocStats;

pub use chart::live_bytes_svg;
pub use cli::main_with;
pub use report::{markdown, to_json};

/// Live growth the detector tolerates whatever the baseline: the counting
/// allocator counts requested bytes exactly, so two quiet points of a soak
/// that holds nothing new agree to the byte; this floor only keeps the 1 %
/// bound from reaching zero for the smallest soaks (1 % of 16 KiB is 160
/// bytes).
pub const HEAP_SLACK_BYTES: u64 = 512;

/// Live bytes the process may hold after a soak is dropped beyond what it
/// held before the soak was built (the soak's report excluded): state the
/// process keeps once, such as a first thread's name or a lazily built
/// table of the runtime.
pub const TEARDOWN_SLACK_BYTES: u64 = 1024;

/// Relative live growth allowed over a run, in percent of the baseline.
pub const HEAP_GROWTH_PERCENT: f64 = 1.0;

/// Samples of the live heap a run aims at (one every budget / this).
pub const SAMPLES_PER_RUN: usize = 50;

/// Most samples a run keeps (reserved before the baseline, so the report
/// itself never grows the heap during the measured run).
pub const MAX_SAMPLES: usize = 2 * SAMPLES_PER_RUN;

/// One unit of soak work.
pub trait Soak {
    /// The soak's name in reports and on the command line.
    fn name(&self) -> &'static str;
    /// Runs one iteration; returns the operations it did (for ops/s) or
    /// why it failed (a failed iteration fails the soak).
    fn iterate(&mut self) -> Result<u64, String>;
    /// Brings the soak to the same state before the baseline and before
    /// the end is measured, for soaks whose working set cycles by design
    /// (a pool holding between `min_idle` and `max_size` objects).
    fn quiesce(&mut self) {}
}

/// How long a soak runs: whichever limit comes first.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Iterations before the baseline is taken.
    pub warmup: u64,
    /// Most measured iterations.
    pub iterations: u64,
    /// Most measured wall time.
    pub seconds: f64,
    /// Operations the run must reach unless its iterations run out first:
    /// a run that hits its time cap below this is a breach (0: no floor).
    pub min_operations: u64,
}

/// Where the figures come from: the allocator's counters and the process.
pub trait Probe {
    /// The counting allocator's totals.
    fn alloc(&self) -> AllocStats;
    /// Open file descriptors of the process.
    fn fds(&self) -> usize {
        count_entries("/proc/self/fd")
    }
    /// Threads of the process.
    fn threads(&self) -> usize {
        count_entries("/proc/self/task")
    }
}

/// A [`Probe`] over a function reading the global counting allocator.
#[derive(Debug, Clone, Copy)]
pub struct AllocProbe(pub fn() -> AllocStats);

impl Probe for AllocProbe {
    fn alloc(&self) -> AllocStats {
        (self.0)()
    }
}

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// One sample of the heap during a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the baseline.
    pub seconds: f64,
    /// Live bytes.
    pub live_bytes: u64,
    /// Peak live bytes so far.
    pub peak_bytes: u64,
}

/// What one soak measured, and what it breached.
#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// The soak's name.
    pub name: String,
    /// Measured iterations (warm-up excluded).
    pub iterations: u64,
    /// Operations those iterations did.
    pub operations: u64,
    /// Measured wall time in seconds.
    pub seconds: f64,
    /// Live bytes, descriptors and threads after warm-up.
    pub baseline: (u64, usize, usize),
    /// Live bytes, descriptors and threads at the end, after settling.
    pub end: (u64, usize, usize),
    /// Peak live bytes over the run.
    pub peak_bytes: u64,
    /// Live and peak bytes over time.
    pub samples: Vec<Sample>,
    /// Live growth allowed over the run (1 % of the baseline, at least
    /// [`HEAP_SLACK_BYTES`]).
    pub bound_bytes: u64,
    /// Live bytes, descriptors and threads before the soak was built.
    pub before: (u64, usize, usize),
    /// The same once the soak was dropped (the report's own heap
    /// excluded); `None` until [`check_teardown`] ran.
    pub after_drop: Option<(u64, usize, usize)>,
    /// Every breach, naming the soak and the figure.
    pub breaches: Vec<String>,
}

impl SoakReport {
    /// Operations per second over the measured run.
    pub fn ops_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.operations as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Heap bytes the report itself holds (its name, samples and
    /// breaches), so the teardown check can leave them out.
    pub fn heap_bytes(&self) -> u64 {
        let strings = self.breaches.iter().map(String::capacity).sum::<usize>();
        (self.name.capacity()
            + self.samples.capacity() * std::mem::size_of::<Sample>()
            + self.breaches.capacity() * std::mem::size_of::<String>()
            + strings) as u64
    }

    /// Live growth over the run in percent of the baseline.
    pub fn growth_percent(&self) -> f64 {
        let (base, end) = (self.baseline.0 as f64, self.end.0 as f64);
        if base > 0.0 {
            (end - base) * 100.0 / base
        } else {
            0.0
        }
    }
}

fn measure(probe: &dyn Probe) -> (u64, usize, usize) {
    (probe.alloc().live_bytes, probe.fds(), probe.threads())
}

/// Runs `soak` for `budget` and checks it (see the module docs).
pub fn run(soak: &mut dyn Soak, budget: Budget, probe: &dyn Probe) -> SoakReport {
    let mut report = SoakReport {
        name: soak.name().to_string(),
        ..SoakReport::default()
    };
    for _ in 0..budget.warmup {
        if let Err(e) = soak.iterate() {
            report
                .breaches
                .push(format!("{}: warm-up failed: {e}", report.name));
            return report;
        }
    }
    // Room for every sample before the baseline: a vector doubling during
    // the run would show as live growth in doubling steps (the "creep" the
    // resilience soak once showed was this vector, not the primitives).
    report.samples.reserve(MAX_SAMPLES);
    soak.quiesce();
    // Two breaches at most are written after the baseline (heap, descriptors
    // or threads, floor); room for them too, so a clean run holds the same.
    report.breaches.reserve(4);
    report.baseline = measure(probe);
    report.bound_bytes = heap_allowance(report.baseline.0);
    let start = Instant::now();
    let every = Duration::from_secs_f64((budget.seconds / SAMPLES_PER_RUN as f64).max(0.01));
    let mut next_sample = Duration::ZERO;
    while report.iterations < budget.iterations && start.elapsed().as_secs_f64() < budget.seconds {
        match soak.iterate() {
            Ok(ops) => report.operations += ops,
            Err(e) => {
                report
                    .breaches
                    .push(format!("{}: iteration failed: {e}", report.name));
                break;
            }
        }
        report.iterations += 1;
        if start.elapsed() >= next_sample && report.samples.len() + 1 < MAX_SAMPLES {
            report.samples.push(sample(probe, start));
            next_sample = start.elapsed() + every;
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    soak.quiesce();
    let failed = !report.breaches.is_empty();
    if !failed && report.iterations < budget.iterations && report.operations < budget.min_operations
    {
        report.breaches.push(format!(
            "{}: only {} operations before the {} s time cap, fewer than the {} required",
            report.name, report.operations, budget.seconds, budget.min_operations
        ));
    }
    report.end = settle(probe, report.baseline);
    report.samples.push(sample(probe, start));
    report.peak_bytes = report
        .samples
        .iter()
        .map(|s| s.peak_bytes)
        .max()
        .unwrap_or(0);
    check(&mut report);
    report
}

fn sample(probe: &dyn Probe, start: Instant) -> Sample {
    let a = probe.alloc();
    Sample {
        seconds: start.elapsed().as_secs_f64(),
        live_bytes: a.live_bytes,
        peak_bytes: a.peak_bytes,
    }
}

/// Background work (a host's session threads, closing sockets) finishes
/// shortly after the last iteration: wait up to two seconds for the
/// figures to come back to the baseline, then take them as they are.
fn settle(probe: &dyn Probe, baseline: (u64, usize, usize)) -> (u64, usize, usize) {
    settle_within(probe, baseline, heap_allowance(baseline.0), 0)
}

/// Waits up to two seconds for live bytes (less `held`) within `slack` of
/// `target`'s and descriptors and threads at most `target`'s.
fn settle_within(
    probe: &dyn Probe,
    target: (u64, usize, usize),
    slack: u64,
    held: u64,
) -> (u64, usize, usize) {
    let look = || {
        let (live, fds, threads) = measure(probe);
        (live.saturating_sub(held), fds, threads)
    };
    let mut now = look();
    for _ in 0..40 {
        if now.1 <= target.1 && now.2 <= target.2 && now.0.saturating_sub(target.0) <= slack {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        now = look();
    }
    now
}

/// Live bytes, descriptors and threads now: what [`check_teardown`]
/// compares with, taken before a soak is built.
/// Builds the state the process keeps once whichever soak first needs it,
/// so the teardown check does not charge it to that soak. Found so far:
/// parking_lot's global table of parked threads (allocated on the first
/// park, never freed by design, and grown, the old one kept, when more
/// threads park at once: 1 056 bytes for one thread, 2 080 more seen after
/// idle-sessions), and tokio's process-wide
/// signal globals (a socket pair and a table of signals, about 24 KB and
/// 2 descriptors) built with the first runtime that has a signal driver,
/// such as the chaos proxy's.
pub fn prime_process() {
    // The table grows (the old one kept) as more threads park at once:
    // park PRIMED_PARKERS threads together so it is sized for them.
    let lock = parking_lot::Mutex::new(());
    let parked = parking_lot::Condvar::new();
    let all_here = std::sync::Barrier::new(PRIMED_PARKERS);
    std::thread::scope(|s| {
        for _ in 0..PRIMED_PARKERS {
            s.spawn(|| {
                all_here.wait();
                let mut guard = lock.lock();
                let _ = parked.wait_for(&mut guard, Duration::from_millis(20));
            });
        }
    });
    drop(ballast_chaos::suite::EmbeddedProxy::new(0));
}

/// Threads parked together by [`prime_process`]: more than any soak runs
/// at once (idle-sessions probes 16 sessions in parallel, beside the host's
/// and the manager's threads).
const PRIMED_PARKERS: usize = 96;

/// Threads are the fewest seen over 100 ms: a thread that just exited can
/// stay listed in `/proc/self/task` for a moment.
pub fn before_soak(probe: &dyn Probe) -> (u64, usize, usize) {
    let mut now = measure(probe);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        now.2 = now.2.min(probe.threads());
    }
    now
}

/// After the soak of `r` was dropped: waits for its threads and sockets to
/// go, then adds a breach when live bytes (the report's own excluded) are
/// more than [`TEARDOWN_SLACK_BYTES`] above `r.before`, or descriptors or
/// threads differ from it at all.
pub fn check_teardown(r: &mut SoakReport, probe: &dyn Probe) {
    // Room for the breaches this may add, before the report is measured.
    r.breaches.reserve(3);
    let before = r.before;
    let after = settle_within(probe, before, TEARDOWN_SLACK_BYTES, r.heap_bytes());
    r.after_drop = Some(after);
    let name = &r.name;
    if after.0 > before.0 + TEARDOWN_SLACK_BYTES {
        r.breaches.push(format!(
            "{name}: live heap after drop {} bytes above its level before the soak ({} to {}), over the {TEARDOWN_SLACK_BYTES} bytes allowed",
            after.0 - before.0,
            before.0,
            after.0
        ));
    }
    if after.1 != before.1 {
        r.breaches.push(format!(
            "{name}: file descriptors after drop {} where {} were open before the soak",
            after.1, before.1
        ));
    }
    if after.2 != before.2 {
        r.breaches.push(format!(
            "{name}: threads after drop {} where {} ran before the soak",
            after.2, before.2
        ));
    }
}

fn within_heap_bound(base: u64, end: u64) -> bool {
    end.saturating_sub(base) <= heap_allowance(base)
}

/// Growth allowed over a run from `base` live bytes.
pub fn heap_allowance(base: u64) -> u64 {
    ((base as f64 * HEAP_GROWTH_PERCENT / 100.0) as u64).max(HEAP_SLACK_BYTES)
}

/// Adds a breach for every figure over its bound.
fn check(r: &mut SoakReport) {
    let name = r.name.clone();
    let ((base_live, base_fds, base_threads), (live, fds, threads)) = (r.baseline, r.end);
    if !within_heap_bound(base_live, live) {
        r.breaches.push(format!(
            "{name}: live heap grew {} bytes ({:.2} %, from {base_live} to {live}), over the {} bytes allowed",
            live - base_live,
            r.growth_percent(),
            heap_allowance(base_live)
        ));
    }
    if fds > base_fds {
        r.breaches.push(format!(
            "{name}: file descriptors grew from {base_fds} to {fds}"
        ));
    }
    if threads > base_threads {
        r.breaches.push(format!(
            "{name}: threads grew from {base_threads} to {threads}"
        ));
    }
}
