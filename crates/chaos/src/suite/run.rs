//! The coordinator: baseline → timeline → recovery, always healed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::baseline::{ResourceBaseline, Sample};
use super::inject::Faults;
use super::metrics::{FaultSpan, Performance, measure, samples};
use super::timeline::Timeline;
use super::verdict::{Anomaly, Breach, SlaBreach};
use super::{ClientContext, Datum, FaultInjector, Link, SuiteError, Target, Workload};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::history::{CheckReport, History};
use crate::scenario::Scenario;
use crate::seed::SeededRng;

/// How a run is done.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of every random choice (proxy faults, client RNGs).
    pub seed: u64,
    /// Clients when the scenario does not say.
    pub clients: u64,
    /// Pause between a client's operations when the scenario does not say.
    pub think_time: Duration,
    /// Most operations a history keeps.
    pub max_operations: usize,
    /// Set (by a Ctrl-C handler) to stop the run early, healed.
    pub interrupt: Arc<AtomicBool>,
    /// The one clock of the run: history, schedule and clients.
    pub clock: SharedClock,
}

impl RunOptions {
    /// Four clients, 20 ms think time, 200 000 operations, wall time.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            clients: 4,
            think_time: Duration::from_millis(20),
            max_operations: 200_000,
            interrupt: Arc::new(AtomicBool::new(false)),
            clock: Arc::new(SystemClock::new()),
        }
    }
}

/// Everything one scenario run produced.
#[derive(Debug, Clone)]
pub struct ScenarioRun<K, V> {
    /// What ran.
    pub scenario: Scenario,
    /// Its seed (replay with it).
    pub seed: u64,
    /// Every operation and fault event.
    pub history: History<K, V>,
    /// When each fault was on.
    pub spans: Vec<FaultSpan>,
    /// When the clients were told to stop, on the history's clock.
    pub end: Duration,
    /// Derived from the history.
    pub performance: Performance,
    /// The history checked against the final state (`None`: not read).
    pub check: Option<CheckReport<K, V>>,
    /// Violations with the faults they happened under.
    pub anomalies: Vec<Anomaly<K, V>>,
    /// SLA misses with the faults they follow from.
    pub breaches: Vec<SlaBreach>,
    /// Size of the final state.
    pub final_records: usize,
    /// The final state the history was checked against (`None`: not read).
    pub final_state: Option<HashMap<K, V>>,
    /// Why the run stopped early or could not be judged, if it did.
    pub error: Option<SuiteError>,
    /// For a scenario with resource faults (Linux): what the process held
    /// before the target started and after it stopped; a difference is a
    /// [`Breach::ResourceLeak`](super::Breach::ResourceLeak) in `breaches`.
    pub resources: Option<ResourceBaseline>,
}

impl<K, V> ScenarioRun<K, V> {
    /// Whether the run completed, its history is valid and it met the SLA.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.check.as_ref().is_some_and(CheckReport::is_valid)
            && self.breaches.is_empty()
    }

    /// One line: name, verdict, operations, recovery.
    pub fn summary(&self) -> String {
        let ops = self.check.as_ref().map_or(0, |c| c.operations);
        let rec = self
            .performance
            .recovered
            .map_or("-".into(), |d| format!("{} ms", d.as_millis()));
        let verdict = match (&self.error, self.passed()) {
            (Some(e), _) => format!("ERROR: {e}"),
            (None, true) => "passed".into(),
            (None, false) => "FAILED".into(),
        };
        let resources = self
            .resources
            .as_ref()
            .map_or(String::new(), |r| format!("; {}", r.summary()));
        format!(
            "{}: {verdict} ({ops} ops, recovery {rec}{resources})",
            self.scenario.name
        )
    }
}

/// Runs `scenario` against `target` with `workload`, faults through
/// `injectors` (link *i* on injector *i* mod n).
///
/// Never panics on the system's behalf and always heals: a target that does
/// not start, a workload that fails or panics, an injector error or an
/// interrupt end the run early with [`ScenarioRun::error`] set and what was
/// measured so far.
pub fn run_scenario<T, W>(
    target: &mut T,
    workload: &W,
    scenario: &Scenario,
    injectors: &[&dyn FaultInjector],
    opts: &RunOptions,
) -> ScenarioRun<T::Key, T::Value>
where
    T: Target,
    W: Workload<T::Key, T::Value>,
{
    // The coordinator's lines (faults on and off, the verdict) carry the
    // scenario: one log can be followed per scenario.
    let _span =
        tracing::info_span!("scenario", scenario = %scenario.name, seed = opts.seed).entered();
    let history = History::with_clock(opts.max_operations, Arc::clone(&opts.clock));
    let mut run = ScenarioRun {
        scenario: scenario.clone(),
        seed: opts.seed,
        history: history.clone(),
        spans: Vec::new(),
        end: Duration::ZERO,
        performance: Performance::default(),
        check: None,
        anomalies: Vec::new(),
        breaches: Vec::new(),
        final_records: 0,
        final_state: None,
        error: None,
        resources: None,
    };
    if injectors.is_empty() {
        run.error = Some(SuiteError::NoInjector);
        return run;
    }
    let has_resources = scenario.timeline.iter().any(|f| !f.resources.is_empty());
    let before = has_resources.then(Sample::take).flatten();
    let links = match target.start() {
        Ok(links) => links,
        Err(e) => {
            run.error = Some(e);
            return run;
        }
    };
    let (end, driven) = drive(
        target, workload, scenario, injectors, opts, &history, &links,
    );
    run.end = end;
    run.error = driven.err();
    match target.final_state() {
        Ok(state) => {
            run.final_records = state.len();
            run.check = Some(history.check(&state));
            run.final_state = Some(state);
        }
        Err(e) => {
            run.error.get_or_insert(e);
        }
    }
    target.stop();
    judge(&mut run);
    tracing::info!(
        passed = run.passed(),
        operations = run.check.as_ref().map_or(0, |c| c.operations),
        anomalies = run.anomalies.len(),
        breaches = run.breaches.len(),
        "scenario judged"
    );
    if let Some(before) = before {
        settle_resources(&mut run, &before);
    }
    run
}

/// Measures the process after the target stopped and adds a breach for
/// each figure off the baseline, attributed to the resource faults.
fn settle_resources<K, V>(run: &mut ScenarioRun<K, V>, before: &Sample) {
    let Some(after) = Sample::settled(before) else {
        return;
    };
    let baseline = ResourceBaseline::new(before, &after);
    let faults: Vec<String> = run
        .scenario
        .timeline
        .iter()
        .filter(|f| !f.resources.is_empty())
        .map(|f| f.name.clone())
        .collect();
    for (what, before, after) in baseline.leaks() {
        run.breaches.push(SlaBreach {
            breach: Breach::ResourceLeak {
                what,
                before,
                after,
            },
            faults: faults.clone(),
        });
    }
    run.resources = Some(baseline);
}

/// Fronts the links, runs the clients and the timeline, heals; returns
/// when the run ended (the clients were told to stop) on the history's clock.
fn drive<T: Target, W: Workload<T::Key, T::Value>>(
    target: &mut T,
    workload: &W,
    scenario: &Scenario,
    injectors: &[&dyn FaultInjector],
    opts: &RunOptions,
    history: &History<T::Key, T::Value>,
    links: &[Link],
) -> (Duration, Result<(), SuiteError>) {
    let mut faults = Faults::new(injectors, history.clone());
    let mut addrs = HashMap::new();
    for (i, link) in links.iter().enumerate() {
        match faults.front(i, &link.name, link.upstream) {
            Ok(addr) => addrs.insert(link.name.clone(), addr),
            Err(e) => return (history.elapsed(), Err(e)),
        };
    }
    let first = links.first().and_then(|l| addrs.get(&l.name).copied());
    let stop = Arc::new(AtomicBool::new(false));
    let failure: Mutex<Option<SuiteError>> = Mutex::new(None);
    let clients = scenario.workload.clients.unwrap_or(opts.clients).max(1);
    let (end, scheduled) = std::thread::scope(|s| {
        // Starts one client (a regular one, or an extra one of a load).
        let spawn = |ctx: ClientContext<T::Key, T::Value>| {
            let (stop, failure) = (&stop, &failure);
            s.spawn(move || {
                let process = ctx.process;
                let outcome = catch_unwind(AssertUnwindSafe(|| workload.client(&ctx)));
                let err = match outcome {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e,
                    Err(panic) => SuiteError::WorkloadPanicked {
                        process,
                        message: panic_message(&*panic),
                    },
                };
                failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(err);
                stop.store(true, Ordering::Release);
            });
        };
        for process in 0..clients {
            spawn(context(
                process, opts, scenario, history, &addrs, first, &stop,
            ));
        }
        // Extra clients of a `clients` load: numbered after the regular ones.
        let extra = |process: u64, think: Option<Duration>, load_stop: &Arc<AtomicBool>| {
            let mut ctx = context(process, opts, scenario, history, &addrs, first, &stop);
            if think.is_some() {
                ctx.params.think_time = think;
            }
            ctx.load_stop = Some(Arc::clone(load_stop));
            spawn(ctx);
        };
        // Clients stop however the timeline ends, so the scope can join them.
        let _stop_clients = StopOnDrop(&stop);
        let first_link = links.first().map(|l| l.name.clone()).unwrap_or_default();
        let mut timeline = Timeline::new(target, &mut faults, &first_link, &extra, clients);
        let scheduled = schedule(&mut timeline, scenario, opts, history, &stop);
        drop(timeline);
        (history.elapsed(), scheduled)
    });
    faults.heal_all();
    let failure = failure.into_inner().unwrap_or_else(PoisonError::into_inner);
    let result = match (failure, scheduled, faults.heal_error.take()) {
        (Some(e), _, _) | (None, Err(e), _) | (None, Ok(()), Some(e)) => Err(e),
        (None, Ok(()), None) => Ok(()),
    };
    (end, result)
}

fn context<K, V>(
    process: u64,
    opts: &RunOptions,
    scenario: &Scenario,
    history: &History<K, V>,
    addrs: &HashMap<String, SocketAddr>,
    first: Option<SocketAddr>,
    stop: &Arc<AtomicBool>,
) -> ClientContext<K, V> {
    ClientContext {
        process,
        seed: SeededRng::new(opts.seed ^ process.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64(),
        history: history.clone(),
        params: scenario.workload.clone(),
        default_think_time: opts.think_time,
        addrs: addrs.clone(),
        first,
        stop: Arc::clone(stop),
        load_stop: None,
        clock: Arc::clone(&opts.clock),
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Switches the faults on and off on schedule, then waits out recovery.
fn schedule<T: Target>(
    timeline: &mut Timeline<'_, '_, T>,
    scenario: &Scenario,
    opts: &RunOptions,
    history: &History<T::Key, T::Value>,
    stop: &AtomicBool,
) -> Result<(), SuiteError> {
    // (time from the history's start, fault index, on?) in time order; a
    // fault's stop sorts before another's start at the same instant.
    let mut events: Vec<(Duration, bool, usize)> = Vec::new();
    for (i, f) in scenario.timeline.iter().enumerate() {
        events.push((scenario.baseline + f.start, true, i));
        events.push((scenario.baseline + f.end(), false, i));
    }
    events.sort_by_key(|&(at, on, i)| (at, on, i));
    tracing::info!(
        phase = "baseline",
        ms = scenario.baseline.as_millis() as u64,
        "phase"
    );
    let mut faults_on = false;
    for (at, on, i) in events {
        wait_until(history, &opts.clock, at, stop, &opts.interrupt)?;
        let f = &scenario.timeline[i];
        if on {
            if !std::mem::replace(&mut faults_on, true) {
                tracing::info!(phase = "faults", "phase");
            }
            timeline.start(f)?;
        } else {
            timeline.stop(&f.name)?;
        }
    }
    tracing::info!(
        phase = "recovery",
        ms = scenario.recovery.as_millis() as u64,
        "phase"
    );
    wait_until(
        history,
        &opts.clock,
        scenario.total(),
        stop,
        &opts.interrupt,
    )
}

/// Sleeps until `at` on the history's clock, in slices of at most 20 ms;
/// ends early (Ok) when the clients stopped, with an error on interrupt.
fn wait_until<K, V>(
    history: &History<K, V>,
    clock: &SharedClock,
    at: Duration,
    stop: &AtomicBool,
    interrupt: &AtomicBool,
) -> Result<(), SuiteError> {
    let slice = Duration::from_millis(20);
    for _ in 0..=at.as_millis() / slice.as_millis() + 1 {
        if interrupt.load(Ordering::Acquire) {
            return Err(SuiteError::Interrupted);
        }
        let now = history.elapsed();
        if now >= at || stop.load(Ordering::Acquire) {
            return Ok(());
        }
        clock.sleep_until(clock.now() + (at - now).min(slice));
    }
    Ok(())
}

/// Derives performance, anomalies and SLA breaches from the history.
fn judge<K: Datum, V: Datum>(run: &mut ScenarioRun<K, V>) {
    run.spans = FaultSpan::from_events(&run.history.fault_events(), run.end);
    let entries = run.history.entries();
    let mut samples = samples(&entries);
    samples.sort_by_key(|s| s.at);
    let sla = &run.scenario.sla;
    run.performance = measure(
        &samples,
        &run.spans,
        run.end,
        sla.stable_successes,
        sla.max_recovery,
    );
    if let Some(check) = &run.check {
        run.anomalies = super::verdict::attribute(&check.violations, &entries, &run.spans);
    }
    run.breaches = super::verdict::breaches(&run.performance, &run.scenario, &run.spans);
}
