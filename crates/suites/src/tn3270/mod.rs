//! The TN3270 system under test: the embedded [`HostSimulator`] (demo
//! application, its record store as the final state) as a
//! [`Target`](ballast_chaos::suite::Target), and terminal users who sign
//! on, store records and read them back as a [`Workload`], connecting
//! through [`Retry`](ballast_resilience::Retry) behind a
//! [`CircuitBreaker`].
//!
//! A scenario's `[workload.settings]` shape both sides:
//!
//! | setting | values | what it does |
//! |---|---|---|
//! | `hosts` | 1–3 | endpoints sharing one record store (`host`, `host-b`, `host-c`), plus a `decoy` host of another system when more than one; users fail over between them |
//! | `tls` | `true` / `false` | the hosts serve TLS; users verify the certificate |
//! | `journal` | `true` / `false` | the store writes every record through a [`DiskFaults`] shim before it acknowledges it, and a restarted host recovers from it |
//! | `host_process` | `thread` / `child` | the host runs in this process, or as a child process (`ballast-suite host`) that a `kill` fault SIGKILLs |
//! | `client` | `resilient` / `naive` | the users' client: retries, a breaker, failover and 1.5 s step timeouts, or none of them (10 s step timeouts, only so that a run ends) |
//! | `retry_max_attempts`, `breaker_consecutive_failures`, `breaker_open_ms` | whole numbers | the resilient client's tuning ([`SETTINGS`]) |
//! | `logoff_every` | whole number | users sign off after every N operations and sign on again (0: never) |
//! | `load_clients_per_client` | whole number | a `clients` load fault runs N extra clients per regular client instead of its `count` (0: its `count`) |
//!
//! [`HostSimulator`]: ballast_session::host::HostSimulator
//! [`DiskFaults`]: ballast_chaos::resource::DiskFaults

mod child;
mod clock;
mod target;
mod tls;
mod user;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ballast_chaos::scenario::Scenario;
use ballast_chaos::suite::{ClientContext, SuiteError, Workload};
use ballast_clock::SkewedClock;
use ballast_resilience::{Backoff, BreakerConfig, CircuitBreaker};

pub use child::{HOST_SUBCOMMAND, host_main};
pub use clock::{UPTIME, target_clock};
pub use target::Tn3270Target;
pub(crate) use user::{query, sign_on};

/// How long one screen may take to arrive (the resilient client).
pub const STEP_TIMEOUT: Duration = Duration::from_millis(1_500);

/// How long the naive client waits for a screen. A truly naive client
/// would wait forever (a blocking read with no timeout); this 10 s bound,
/// far beyond any SLA, is there only so that a run ends.
pub const NAIVE_STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The names of the host links, in preference order.
pub const HOST_LINKS: [&str; 3] = ["host", "host-b", "host-c"];

/// The name of the host's link (the proxy in front of it).
pub const HOST_LINK: &str = HOST_LINKS[0];

/// The link of the decoy host (another system) that a `misroute` fault
/// points a proxy at; present when `hosts` > 1.
pub const DECOY_LINK: &str = "decoy";

/// Numeric workload settings a scenario (`[workload.settings]`) or `--grid`
/// may set, with their defaults: sign-on attempts through the retry,
/// failures in a row that open the breaker, and how long it stays open.
pub const SETTINGS: &[(&str, u64)] = &[
    ("retry_max_attempts", 4),
    ("breaker_consecutive_failures", 3),
    ("breaker_open_ms", 250),
    ("logoff_every", 0),
    ("load_clients_per_client", 0),
];

/// The other settings, with their values (see the module docs).
pub const TARGET_SETTINGS: &[(&str, &[&str])] = &[
    ("hosts", &["1", "2", "3"]),
    ("tls", &["false", "true"]),
    ("journal", &["false", "true"]),
    ("host_process", &["thread", "child"]),
    ("client", &["resilient", "naive"]),
];

/// Workload settings that are not the client's tuning, so `--grid` does
/// not offer them: `logoff_every` (users sign off after every N
/// operations; 0: never) and `load_clients_per_client` (a `clients` load
/// fault runs N extra clients per regular client instead of its `count`;
/// 0: its `count`).
pub const SHAPE_SETTINGS: &[&str] = &["logoff_every", "load_clients_per_client"];

/// Which client the users run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Retries with backoff, a breaker per endpoint, 1.5 s step timeouts,
    /// failover between endpoints.
    Resilient,
    /// No retry, no breaker, no failover (its first endpoint only) and no
    /// short timeouts: it waits [`NAIVE_STEP_TIMEOUT`] (10 s, only so that
    /// a run ends) for each screen.
    Naive,
}

/// Whether the host runs in this process or in a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostProcess {
    /// A [`HostSimulator`](ballast_session::host::HostSimulator) in this process.
    Thread,
    /// `ballast-suite host` as a child process.
    Child,
}

/// The settings of one scenario's target and workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Endpoints (1–3).
    pub hosts: usize,
    /// TLS on every host.
    pub tls: bool,
    /// Records journaled through the disk shim.
    pub journal: bool,
    /// Where the host runs.
    pub host_process: HostProcess,
    /// The users' client.
    pub client: ClientKind,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            hosts: 1,
            tls: false,
            journal: false,
            host_process: HostProcess::Thread,
            client: ClientKind::Resilient,
        }
    }
}

impl Setup {
    /// Reads the settings of `scenario`.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Workload`] naming a setting whose value is not one of
    /// [`TARGET_SETTINGS`]'s.
    pub fn of(scenario: &Scenario) -> Result<Self, SuiteError> {
        let settings = &scenario.workload.settings;
        let pick = |name: &str| -> Result<Option<&str>, SuiteError> {
            let Some(v) = settings.get(name) else {
                return Ok(None);
            };
            let allowed = TARGET_SETTINGS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(&[][..], |(_, a)| *a);
            if allowed.contains(&v.as_str()) {
                Ok(Some(v.as_str()))
            } else {
                Err(SuiteError::Workload {
                    process: 0,
                    reason: format!("setting {name} = {v:?} is not one of {allowed:?}"),
                })
            }
        };
        let mut setup = Self::default();
        if let Some(h) = pick("hosts")? {
            setup.hosts = h.parse().unwrap_or(1);
        }
        setup.tls = pick("tls")? == Some("true");
        setup.journal = pick("journal")? == Some("true");
        if pick("host_process")? == Some("child") {
            setup.host_process = HostProcess::Child;
            // A child host keeps its records only in its journal.
            setup.journal = true;
        }
        if pick("client")? == Some("naive") {
            setup.client = ClientKind::Naive;
        }
        Ok(setup)
    }
}

/// Terminal users storing and reading records; one breaker per endpoint
/// (per scenario) and one retry policy for signing on, all on the clock
/// the target shares (so a `clock_jump` fault reaches them).
#[derive(Debug)]
pub struct Tn3270Workload {
    breakers: Vec<CircuitBreaker>,
    seed: u64,
    retry_max_attempts: u32,
    setup: Setup,
    /// Sign-offs after every this many operations (0: never).
    logoff_every: u64,
    /// Sessions the users signed off.
    logoffs: AtomicU64,
    /// Reads that brought data on a signed-off session before its close
    /// (a record, or bytes refused as malformed).
    late_reads: AtomicU64,
}

/// Setting `name` of `settings`, or its default from [`SETTINGS`].
fn setting(settings: &BTreeMap<String, String>, name: &str) -> Result<u64, SuiteError> {
    let default = SETTINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, d)| *d);
    settings.get(name).map_or(Ok(default), |v| {
        v.parse().map_err(|_| SuiteError::Workload {
            process: 0,
            reason: format!("setting {name} = {v:?} is not a whole number"),
        })
    })
}

impl Tn3270Workload {
    /// A workload for one run of `scenario`, seeded with `seed`, with the
    /// scenario's settings, its breakers on `clock`.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Workload`] for a setting that is not valid or that the
    /// breaker or retry refuses.
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        clock: Arc<SkewedClock>,
    ) -> Result<Self, SuiteError> {
        let setup = Setup::of(scenario)?;
        let settings = &scenario.workload.settings;
        let refused = |what: &str, e: &dyn std::fmt::Display| SuiteError::Workload {
            process: 0,
            reason: format!("{what}: {e}"),
        };
        let failures = u32::try_from(setting(settings, "breaker_consecutive_failures")?)
            .map_err(|e| refused("breaker_consecutive_failures", &e))?;
        let open = Duration::from_millis(setting(settings, "breaker_open_ms")?);
        let mut breakers = Vec::with_capacity(setup.hosts);
        for link in HOST_LINKS.iter().take(setup.hosts) {
            let config = BreakerConfig {
                name: format!("{link}/{}", scenario.name),
                minimum_calls: 5,
                consecutive_failures: Some(failures),
                open_backoff: Backoff::fixed(open),
                seed,
                ..BreakerConfig::default()
            };
            let clock: ballast_clock::SharedClock = clock.clone();
            breakers.push(
                CircuitBreaker::with_clock(config, clock).map_err(|e| refused("breaker", &e))?,
            );
        }
        let retry_max_attempts = u32::try_from(setting(settings, "retry_max_attempts")?)
            .map_err(|e| refused("retry_max_attempts", &e))?;
        Ok(Self {
            breakers,
            seed,
            retry_max_attempts,
            setup,
            logoff_every: setting(settings, "logoff_every")?,
            logoffs: AtomicU64::new(0),
            late_reads: AtomicU64::new(0),
        })
    }

    /// What the scenario's settings asked for.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Sessions the users signed off (`logoff_every`).
    pub fn logoffs(&self) -> u64 {
        self.logoffs.load(Ordering::Relaxed)
    }

    /// Reads that brought data on a signed-off session after the host was
    /// told to end it (late data: drained, or refused as malformed, and
    /// dropped with the session).
    pub fn late_reads(&self) -> u64 {
        self.late_reads.load(Ordering::Relaxed)
    }
}

impl Workload<String, u64> for Tn3270Workload {
    fn client(&self, ctx: &ClientContext<String, u64>) -> Result<(), SuiteError> {
        user::run(self, ctx)
    }
}
