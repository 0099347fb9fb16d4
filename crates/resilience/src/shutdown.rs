//! Graceful shutdown: phases draining → closing → cleanup → terminated, each
//! with its own deadline inside a total budget (default 30 s, Kubernetes'
//! grace period); in-flight guards counted during draining; SIGTERM, SIGINT
//! and SIGHUP via signal-hook, where a second signal forces a quick exit; a
//! report of what finished and what was cut off.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ConfigError;
use crate::health::HealthRegistry;

/// Where shutdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Not shutting down.
    Running,
    /// Readiness is false; new work is refused; in-flight work finishes.
    Draining,
    /// Closing hooks run (listeners, connections, pools).
    Closing,
    /// Cleanup hooks run (flush logs, remove temp files).
    Cleanup,
    /// Done.
    Terminated,
}

/// Shutdown budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// The whole shutdown must end within this.
    #[serde(with = "crate::serde_config::duration")]
    pub total: Duration,
    /// Longest wait for in-flight work.
    #[serde(with = "crate::serde_config::duration")]
    pub draining: Duration,
    /// Longest wait for closing hooks.
    #[serde(with = "crate::serde_config::duration")]
    pub closing: Duration,
    /// Longest wait for cleanup hooks.
    #[serde(with = "crate::serde_config::duration")]
    pub cleanup: Duration,
    /// Exit code when a second signal forces exit.
    pub forced_exit_code: i32,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            total: Duration::from_secs(30),
            draining: Duration::from_secs(20),
            closing: Duration::from_secs(5),
            cleanup: Duration::from_secs(5),
            forced_exit_code: 130,
        }
    }
}

impl ShutdownConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.total.is_zero() {
            return Err(ConfigError::new("total", "must be non-zero"));
        }
        for (field, d) in [
            ("draining", self.draining),
            ("closing", self.closing),
            ("cleanup", self.cleanup),
        ] {
            if d > self.total {
                return Err(ConfigError::new(field, "must not exceed total"));
            }
        }
        Ok(())
    }
}

/// How a hook ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskOutcome {
    /// Finished before its deadline.
    Finished,
    /// Still running at the deadline; abandoned.
    CutOff,
    /// Panicked.
    Panicked,
}

/// One hook's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskReport {
    /// The hook's name.
    pub name: String,
    /// How it ended.
    pub outcome: TaskOutcome,
}

/// One phase's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseReport {
    /// The phase.
    pub phase: Phase,
    /// Time spent in it, in milliseconds.
    pub elapsed_ms: u128,
    /// Its deadline, in milliseconds.
    pub deadline_ms: u128,
    /// Hooks run in it (closing, cleanup).
    pub tasks: Vec<TaskReport>,
}

/// What shutdown did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShutdownReport {
    /// In-flight guards when shutdown was triggered.
    pub in_flight_at_start: usize,
    /// In-flight guards still held when draining ended (cut off).
    pub in_flight_cut_off: usize,
    /// Per-phase results.
    pub phases: Vec<PhaseReport>,
    /// Total time, in milliseconds.
    pub total_ms: u128,
}

impl ShutdownReport {
    /// True when nothing was cut off.
    pub fn is_clean(&self) -> bool {
        self.in_flight_cut_off == 0
            && self
                .phases
                .iter()
                .flat_map(|p| &p.tasks)
                .all(|t| t.outcome == TaskOutcome::Finished)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

type Hook = Box<dyn FnOnce() + Send>;

struct Inner {
    config: ShutdownConfig,
    triggered: AtomicBool,
    signals: AtomicUsize,
    in_flight: AtomicUsize,
    in_flight_at_trigger: AtomicUsize,
    phase: parking_lot::Mutex<Phase>,
    changed: parking_lot::Condvar,
    closing: parking_lot::Mutex<Vec<(String, Hook)>>,
    cleanup: parking_lot::Mutex<Vec<(String, Hook)>>,
    health: Option<Arc<HealthRegistry>>,
}

/// The shutdown coordinator; cheap to clone (clones share it).
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("phase", &self.phase())
            .field("in_flight", &self.in_flight())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Counts one unit of in-flight work until dropped.
#[must_use = "the work counts as finished as soon as the guard is dropped"]
pub struct InFlightGuard {
    inner: Arc<Inner>,
}

impl fmt::Debug for InFlightGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightGuard").finish_non_exhaustive()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _phase = self.inner.phase.lock();
            self.inner.changed.notify_all();
        }
    }
}

impl Shutdown {
    /// A coordinator; `health` (if any) turns not-ready when draining starts.
    pub fn new(
        config: ShutdownConfig,
        health: Option<Arc<HealthRegistry>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                triggered: AtomicBool::new(false),
                signals: AtomicUsize::new(0),
                in_flight: AtomicUsize::new(0),
                in_flight_at_trigger: AtomicUsize::new(0),
                phase: parking_lot::Mutex::new(Phase::Running),
                changed: parking_lot::Condvar::new(),
                closing: parking_lot::Mutex::new(Vec::new()),
                cleanup: parking_lot::Mutex::new(Vec::new()),
                health,
            }),
        })
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.inner.phase.lock()
    }

    /// In-flight guards held now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// Starts a unit of work; `None` once shutdown was triggered (refuse the
    /// work, e.g. answer 503).
    pub fn enter(&self) -> Option<InFlightGuard> {
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlightGuard {
            inner: Arc::clone(&self.inner),
        };
        if self.is_triggered() {
            None
        } else {
            Some(guard)
        }
    }

    /// Runs `hook` in the closing phase, cut off at the phase deadline.
    pub fn on_closing(&self, name: impl Into<String>, hook: impl FnOnce() + Send + 'static) {
        self.inner
            .closing
            .lock()
            .push((name.into(), Box::new(hook)));
    }

    /// Runs `hook` in the cleanup phase, cut off at the phase deadline.
    pub fn on_cleanup(&self, name: impl Into<String>, hook: impl FnOnce() + Send + 'static) {
        self.inner
            .cleanup
            .lock()
            .push((name.into(), Box::new(hook)));
    }

    /// Requests shutdown (idempotent); [`Shutdown::wait`] returns.
    pub fn trigger(&self) {
        if !self.inner.triggered.swap(true, Ordering::SeqCst) {
            self.inner
                .in_flight_at_trigger
                .store(self.in_flight(), Ordering::SeqCst);
            if let Some(h) = &self.inner.health {
                h.begin_shutdown();
            }
            let _phase = self.inner.phase.lock();
            self.inner.changed.notify_all();
        }
    }

    /// True once shutdown was requested.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Blocks until shutdown is requested.
    pub fn wait(&self) {
        let mut phase = self.inner.phase.lock();
        while !self.is_triggered() {
            self.inner.changed.wait(&mut phase);
        }
    }

    fn set_phase(&self, phase: Phase) {
        *self.inner.phase.lock() = phase;
    }

    /// Triggers (if not yet) and runs every phase; returns the report.
    pub fn run(&self) -> ShutdownReport {
        self.trigger();
        let start = Instant::now();
        let total_deadline = start + self.inner.config.total;
        let mut phases = Vec::with_capacity(3);
        let in_flight_at_start = self.inner.in_flight_at_trigger.load(Ordering::SeqCst);
        let drain = self.drain(total_deadline);
        let in_flight_cut_off = self.in_flight();
        phases.push(drain);
        let closing = std::mem::take(&mut *self.inner.closing.lock());
        phases.push(self.run_hooks(
            Phase::Closing,
            self.inner.config.closing,
            total_deadline,
            closing,
        ));
        let cleanup = std::mem::take(&mut *self.inner.cleanup.lock());
        phases.push(self.run_hooks(
            Phase::Cleanup,
            self.inner.config.cleanup,
            total_deadline,
            cleanup,
        ));
        self.set_phase(Phase::Terminated);
        ShutdownReport {
            in_flight_at_start,
            in_flight_cut_off,
            phases,
            total_ms: start.elapsed().as_millis(),
        }
    }

    fn drain(&self, total_deadline: Instant) -> PhaseReport {
        let start = Instant::now();
        let deadline = (start + self.inner.config.draining).min(total_deadline);
        let mut phase = self.inner.phase.lock();
        *phase = Phase::Draining;
        while self.in_flight() > 0
            && !self
                .inner
                .changed
                .wait_until(&mut phase, deadline)
                .timed_out()
        {}
        PhaseReport {
            phase: Phase::Draining,
            elapsed_ms: start.elapsed().as_millis(),
            deadline_ms: deadline.saturating_duration_since(start).as_millis(),
            tasks: Vec::new(),
        }
    }

    fn run_hooks(
        &self,
        phase: Phase,
        budget: Duration,
        total: Instant,
        hooks: Vec<(String, Hook)>,
    ) -> PhaseReport {
        self.set_phase(phase);
        let start = Instant::now();
        let deadline = (start + budget).min(total);
        let (tx, rx) = std::sync::mpsc::channel::<(usize, TaskOutcome)>();
        let names: Vec<String> = hooks.iter().map(|(n, _)| n.clone()).collect();
        let mut outcomes = vec![TaskOutcome::CutOff; hooks.len()];
        for (i, (name, hook)) in hooks.into_iter().enumerate() {
            let tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("shutdown-{name}"))
                .spawn(move || {
                    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook))
                    {
                        Ok(()) => TaskOutcome::Finished,
                        Err(_) => TaskOutcome::Panicked,
                    };
                    let _ = tx.send((i, outcome));
                });
            if spawned.is_err() {
                outcomes[i] = TaskOutcome::Panicked;
            }
        }
        drop(tx);
        let mut pending = outcomes
            .iter()
            .filter(|o| **o == TaskOutcome::CutOff)
            .count();
        while pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((i, outcome)) => {
                    outcomes[i] = outcome;
                    pending -= 1;
                }
                Err(_) => break,
            }
        }
        let tasks = names
            .into_iter()
            .zip(outcomes)
            .map(|(name, outcome)| TaskReport { name, outcome })
            .collect();
        PhaseReport {
            phase,
            elapsed_ms: start.elapsed().as_millis(),
            deadline_ms: deadline.saturating_duration_since(start).as_millis(),
            tasks,
        }
    }

    /// Handles SIGTERM, SIGINT and SIGHUP on a background thread: the first
    /// signal triggers shutdown, a second one calls `std::process::exit`
    /// with `forced_exit_code` at once.
    pub fn install_signal_handlers(&self) -> std::io::Result<SignalHandle> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
        let handle = signals.handle();
        let this = self.clone();
        let thread = std::thread::Builder::new()
            .name("ballast-signals".into())
            .spawn(move || {
                for _signal in signals.forever() {
                    if this.inner.signals.fetch_add(1, Ordering::SeqCst) == 0 {
                        this.trigger();
                    } else {
                        std::process::exit(this.inner.config.forced_exit_code);
                    }
                }
            })?;
        Ok(SignalHandle {
            handle,
            thread: Some(thread),
        })
    }
}

/// Stops signal handling when dropped.
pub struct SignalHandle {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for SignalHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalHandle").finish_non_exhaustive()
    }
}

impl Drop for SignalHandle {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn quick() -> ShutdownConfig {
        ShutdownConfig {
            total: Duration::from_secs(30),
            draining: Duration::from_secs(20),
            closing: Duration::from_millis(50),
            cleanup: Duration::from_secs(20),
            forced_exit_code: 130,
        }
    }

    #[test]
    fn drains_in_flight_work_then_runs_hooks_in_order() {
        let health = Arc::new(HealthRegistry::new());
        let s = Shutdown::new(quick(), Some(Arc::clone(&health))).unwrap();
        let guard = s.enter().unwrap();
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let o = Arc::clone(&order);
        s.on_closing("listener", move || o.lock().push("closing"));
        let o = Arc::clone(&order);
        s.on_cleanup("logs", move || o.lock().push("cleanup"));
        let runner = {
            let s = s.clone();
            std::thread::spawn(move || s.run())
        };
        while s.phase() != Phase::Draining {
            std::thread::yield_now();
        }
        assert_eq!(health.readiness_status(), 503, "not ready while draining");
        assert!(s.enter().is_none(), "new work refused while draining");
        drop(guard);
        let report = runner.join().unwrap();
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.in_flight_at_start, 1);
        assert_eq!(*order.lock(), vec!["closing", "cleanup"]);
        assert_eq!(s.phase(), Phase::Terminated);
    }

    #[test]
    fn hung_hook_is_cut_off_at_its_phase_deadline_and_reported() {
        let s = Shutdown::new(quick(), None).unwrap();
        let (_keep, hang) = std::sync::mpsc::channel::<()>();
        s.on_closing("hung-socket", move || {
            let _ = hang.recv();
        });
        s.on_cleanup("panicky", || panic!("cleanup failed"));
        let report = s.run();
        assert_eq!(report.phases[1].tasks[0].outcome, TaskOutcome::CutOff);
        assert_eq!(report.phases[2].tasks[0].outcome, TaskOutcome::Panicked);
        assert!(!report.is_clean());
    }

    #[test]
    fn validate_names_the_bad_field() {
        let bad = ShutdownConfig {
            closing: Duration::from_secs(60),
            ..ShutdownConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "closing");
    }
}
