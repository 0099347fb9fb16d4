//! The chaos harness as a library: run any [`Scenario`](crate::scenario::Scenario) against any
//! service, Jepsen-style.
//!
//! You implement two traits for your system:
//!
//! - [`Target`]: starts and stops it, names the upstream [`Link`]s the
//!   proxies front, and reads its final state after healing (directly, not
//!   through a proxy);
//! - [`Workload`]: one client's loop; it records every operation through
//!   the [`History`] in its [`ClientContext`] (invoke → ok / fail / info).
//!
//! [`run_scenario`] then runs a **baseline** with no fault, the scenario's
//! **timeline** (faults switched on and off on schedule, overlaps allowed,
//! each start and stop recorded in the history), and a **recovery** phase.
//! It always heals: a guard removes every toxic and proxy on the way out,
//! also on a panic, a workload error or an interrupt. Performance
//! (throughput, p50/p95/p99 latency and error rate per phase, time to
//! detect, time to recover, availability) is derived from the history on
//! its one clock — nothing is recorded twice — and every history anomaly
//! and SLA breach names the faults active when it happened.
//!
//! Besides toxics on its links, a scenario may act on the target itself
//! (`[[fault.target]]`: kill, restart, misroute, clock jump or skew, an
//! expired certificate), on its process (`[[fault.resource]]`) and load
//! it (`[[fault.load]]`); the in-process faults act through the
//! [`TargetHooks`] it offers ([`Target::hooks`]: its clock, a shared lock,
//! its worker threads, its disk shim, its certificate). A fault needing a
//! hook the target lacks ends the run with [`SuiteError::Unsupported`],
//! healed. For a scenario with resource faults the run also measures the
//! process's descriptors, threads and RSS before the target starts and
//! after it stops ([`ScenarioRun::resources`]); a difference is a
//! [`Breach::ResourceLeak`].
//!
//! Faults go to any [`FaultInjector`]: the embedded [`EmbeddedProxy`] (a
//! [`ChaosProxy`](crate::ChaosProxy)) or [`ToxiproxyApi`], a client of the
//! Toxiproxy HTTP API (`ballast-proxy` or `toxiproxy-server`, on this host
//! or another); one run can drive several.
#![cfg_attr(
    feature = "proxy",
    doc = r#"
```no_run
use std::collections::HashMap;
use std::net::SocketAddr;
use ballast_chaos::history::Op;
use ballast_chaos::suite::{self, ClientContext, EmbeddedProxy, Link, RunOptions, SuiteError, Target, Workload};

struct Kv { addr: SocketAddr }
impl Target for Kv {
    type Key = u64;
    type Value = u64;
    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        Ok(vec![Link::new("kv", self.addr)])
    }
    fn stop(&mut self) {}
    fn final_state(&mut self) -> Result<HashMap<u64, u64>, SuiteError> {
        Ok(HashMap::new()) // read the store directly
    }
}
struct Writers;
impl Workload<u64, u64> for Writers {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        let mut n = 0;
        while ctx.running() {
            let op = ctx.history.invoke(ctx.process, Op::Write { key: ctx.process << 32 | n, value: n });
            op.ok(None); // talk to ctx.addr("kv") here
            n += 1;
            ctx.think();
        }
        Ok(())
    }
}
let proxy = EmbeddedProxy::new(7)?;
let scenario = ballast_chaos::scenario::find("connection-reset").expect("built in");
let run = suite::run_scenario(&mut Kv { addr: "127.0.0.1:7000".parse()? }, &Writers, &scenario, &[&proxy], &RunOptions::new(7));
println!("{}", run.summary());
# Ok::<(), Box<dyn std::error::Error>>(())
```
"#
)]

mod baseline;
#[cfg(feature = "proxy")]
mod embedded;
mod hooks;
mod inject;
mod metrics;
mod report;
mod resources;
mod run;
mod timeline;
#[cfg(feature = "proxy")]
mod toxiproxy;
mod verdict;

use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::{Clock, SharedClock};
use crate::history::History;
use crate::scenario::WorkloadParams;

pub use baseline::{RSS_GROWTH_FLOOR, RSS_GROWTH_SHARE, ResourceBaseline, SETTLE};
#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub use embedded::EmbeddedProxy;
pub use hooks::{CertificateHook, LockHook, TargetHooks};
pub use inject::FaultInjector;
pub use metrics::{FaultSpan, Performance, PhaseStats, THROUGHPUT_WINDOW, samples};
pub use report::{CSV_HEADER, write_jsonl, write_register_edn};
pub use run::{RunOptions, ScenarioRun, run_scenario};
#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub use toxiproxy::{API_TIMEOUT, ToxiproxyApi};
pub use verdict::{Anomaly, Breach, SlaBreach};

/// What a history key or value must be: comparable, printable, shareable.
pub trait Datum: Clone + Eq + Hash + Debug + Display + Send + Sync + 'static {}

impl<T: Clone + Eq + Hash + Debug + Display + Send + Sync + 'static> Datum for T {}

/// One upstream of a target that a proxy fronts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The name scenarios use (`link = "db"`) and the proxy is called.
    pub name: String,
    /// Where the service listens.
    pub upstream: SocketAddr,
}

impl Link {
    /// A link called `name` to `upstream`.
    pub fn new(name: impl Into<String>, upstream: SocketAddr) -> Self {
        Self {
            name: name.into(),
            upstream,
        }
    }
}

/// The system under test.
pub trait Target: Send {
    /// The keys of its state.
    type Key: Datum;
    /// The values of its state.
    type Value: Datum;

    /// Starts it (fresh, for one scenario) and names its upstream links.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Target`] when it cannot start.
    fn start(&mut self) -> Result<Vec<Link>, SuiteError>;

    /// Stops it gracefully; called once the final state was read.
    fn stop(&mut self);

    /// Stops it abruptly (a crash); by default the same as [`stop`](Self::stop).
    fn kill(&mut self) {
        self.stop();
    }

    /// Kills and starts it again, on the same links.
    ///
    /// # Errors
    ///
    /// What [`start`](Self::start) returns.
    fn restart(&mut self) -> Result<Vec<Link>, SuiteError> {
        self.kill();
        self.start()
    }

    /// Stops abruptly only what serves link `link` (one endpoint of
    /// several): a `kill` or `restart` fault that names its `link`. By
    /// default the whole target ([`kill`](Self::kill)).
    fn kill_link(&mut self, link: &str) {
        let _ = link;
        self.kill();
    }

    /// Starts what serves link `link` again after
    /// [`kill_link`](Self::kill_link) and names every link. By default
    /// [`start`](Self::start).
    ///
    /// # Errors
    ///
    /// What [`start`](Self::start) returns.
    fn start_link(&mut self, link: &str) -> Result<Vec<Link>, SuiteError> {
        let _ = link;
        self.start()
    }

    /// The handles in-process faults act through (its clock, a lock, its
    /// worker threads, its disk, its certificate). The harness asks when
    /// each fault starts, since a restart may have changed them; by
    /// default none.
    fn hooks(&self) -> TargetHooks {
        TargetHooks::default()
    }

    /// What it holds, read directly (not through a proxy), after healing.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Target`] when it cannot be read.
    fn final_state(&mut self) -> Result<HashMap<Self::Key, Self::Value>, SuiteError>;
}

/// What the clients do: one call of [`client`](Self::client) per client,
/// on its own thread, until [`ClientContext::running`] turns false.
pub trait Workload<K, V>: Sync {
    /// Runs one client, recording every operation in `ctx.history`.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Workload`] when the client cannot go on; the run stops,
    /// heals and reports what it measured.
    fn client(&self, ctx: &ClientContext<K, V>) -> Result<(), SuiteError>;
}

/// What one client of a [`Workload`] gets.
#[derive(Debug)]
pub struct ClientContext<K, V> {
    /// This client's process number (0-based), as recorded in the history.
    pub process: u64,
    /// The run's seed mixed with the process number, for the client's RNG.
    pub seed: u64,
    /// Where every operation is recorded.
    pub history: History<K, V>,
    /// The scenario's workload settings.
    pub params: WorkloadParams,
    /// Pause between operations when the scenario does not set one.
    pub default_think_time: Duration,
    addrs: HashMap<String, SocketAddr>,
    first: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    /// Set at the end of the load fault that started this client, if any.
    load_stop: Option<Arc<AtomicBool>>,
    clock: SharedClock,
}

impl<K, V> ClientContext<K, V> {
    /// The proxied address of link `name` (what clients connect to).
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.addrs.get(name).copied()
    }

    /// The proxied address of the target's first link.
    pub fn first_addr(&self) -> Option<SocketAddr> {
        self.first
    }

    /// Whether the client should go on (false once the run ends or stops,
    /// and for an extra client of a `clients` load, once its fault ends).
    pub fn running(&self) -> bool {
        !self.stop.load(Ordering::Acquire)
            && !self
                .load_stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Acquire))
    }

    /// The run's clock (the history's).
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The pause between operations: the scenario's `think_time_ms`, else
    /// [`default_think_time`](Self::default_think_time).
    pub fn think_time(&self) -> Duration {
        self.params.think_time.unwrap_or(self.default_think_time)
    }

    /// Sleeps [`think_time`](Self::think_time) on the run's clock.
    pub fn think(&self) {
        self.sleep(self.think_time());
    }

    /// Sleeps `d` on the run's clock, returning early once the run stops.
    pub fn sleep(&self, d: Duration) {
        let deadline = self.clock.now() + d;
        // Slices of at most 50 ms, so a stop is seen promptly.
        for _ in 0..=d.as_millis() / 50 {
            let now = self.clock.now();
            if now >= deadline || !self.running() {
                return;
            }
            self.clock
                .sleep_until(deadline.min(now + Duration::from_millis(50)));
        }
    }
}

/// Why a suite run could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// The target failed to start, stop or show its state.
    #[error("target: {0}")]
    Target(String),
    /// A workload client failed.
    #[error("workload client {process}: {reason}")]
    Workload {
        /// The client's process number.
        process: u64,
        /// What went wrong.
        reason: String,
    },
    /// A workload client panicked.
    #[error("workload client {process} panicked: {message}")]
    WorkloadPanicked {
        /// The client's process number.
        process: u64,
        /// The panic message.
        message: String,
    },
    /// A fault could not be applied or healed, or a proxy not set up.
    #[error("fault injector {injector}: {reason}")]
    Injector {
        /// Which injector (`embedded`, or the API's URL).
        injector: String,
        /// What went wrong.
        reason: String,
    },
    /// A fault names a link the target does not have.
    #[error("fault {fault} names link {link}, which the target does not have")]
    UnknownLink {
        /// The fault.
        fault: String,
        /// The link it names.
        link: String,
    },
    /// A fault needs something the target or this platform does not
    /// offer (a hook of [`TargetHooks`], Linux); nothing was injected.
    #[error("fault {fault} is not supported: {reason}")]
    Unsupported {
        /// The fault.
        fault: String,
        /// What is missing.
        reason: String,
    },
    /// No fault injector was given.
    #[error("no fault injector given")]
    NoInjector,
    /// The run was interrupted (Ctrl-C); faults were healed.
    #[error("interrupted")]
    Interrupted,
}

ballast_error::catalog! {
    SuiteError => pub(crate) CATALOG {
        Target(_) => "BLST-SUITE-001", Permanent,
            "the target could not start, stop or report its final state",
            "The message is the target's own; fix the system under test's setup (a port, a binary, a data directory).";
        Workload { .. } => "BLST-SUITE-002", Permanent,
            "a workload client could not run",
            "The reason comes from the workload; check its links and settings.";
        WorkloadPanicked { .. } => "BLST-SUITE-003", Caller,
            "a workload client panicked",
            "A bug in the workload: the panic message says where. The run's faults were healed.";
        Injector { .. } => "BLST-SUITE-004", Transient,
            "a fault injector failed (a proxy API call, a resource fault)",
            "Check that the proxy (or Toxiproxy server) is reachable; the run healed what it had injected.";
        UnknownLink { .. } => "BLST-SUITE-005", Caller,
            "a fault names a link the target does not have",
            "Use a link name the target declares (`Target::start` returns them).";
        Unsupported { .. } => "BLST-SUITE-006", Permanent,
            "the injector cannot apply this fault",
            "Run the scenario with an injector that has it (the embedded proxy has every ballast toxic; Toxiproxy has its own), or skip it.";
        NoInjector => "BLST-SUITE-007", Caller,
            "no fault injector was given",
            "Pass at least one proxy (EmbeddedProxy or a Toxiproxy-API client).";
        Interrupted => "BLST-SUITE-008", Permanent,
            "the run was interrupted (Ctrl-C)",
            "Nothing to fix: faults were healed and what was measured was written. Rerun to finish.";
    }
}
