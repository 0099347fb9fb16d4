//! Scenarios as data: named, reproducible fault timelines with the workload
//! settings and the SLA a resilient system must meet under them.
//!
//! A [`Scenario`] runs in three phases: a **baseline** with no fault, the
//! **timeline** (several [`FaultSpec`]s, each with its own start offset,
//! duration and link; they may overlap), and a **recovery** phase.
//! Scenarios are TOML files; the built-in [`catalog`] is every
//! `crates/chaos/scenarios/*.toml`, embedded at build time and sorted by
//! file name (adding a scenario is adding a file), and [`load_file`] reads
//! a user's own. A bad file is a [`ScenarioError`] naming the file, line,
//! column and field, with a "did you mean" for a misspelt key or type.
//! The built-in catalog's categories are [`CATEGORIES`].
//!
//! Each `[[fault]]` holds any of four kinds of table, all switched on at
//! the fault's start and healed at its end (also when the run ends early):
//!
//! | table | `type`s | acts on |
//! |---|---|---|
//! | `[[fault.toxic]]` ([`Toxic`]) | Toxiproxy's vocabulary (`latency`, `bandwidth`, `slow_close`, `timeout`, `reset_peer`, `slicer`, `limit_data`) and ballast's (`delay`, `loss`, `gilbert_loss`, `corrupt`, `duplicate`, `reorder`, `partial`, `zero_write`, `half_open`, and the TN3270-aware `inject` and `truncate_record`); see [`TOXIC_TYPES`] | the link's proxy |
//! | `[[fault.resource]]` ([`ResourceSpec`]) | `cpu_hog {threads, duty_percent}`, `memory_balloon {cap_mb, rate_mb_per_sec}`, `fd_exhaustion {reserve}`, `lock_contention {threads, duty_percent, hold_ms}`, `thread_starvation {hogs}`, `disk_slow {delay_ms}`, `disk_fail {probability}`, `disk_full {}` | the target's process, through its [`TargetHooks`](crate::suite::TargetHooks) where needed |
//! | `[[fault.target]]` ([`TargetAction`]) | `kill`, `restart`, `misroute {to}`, `clock_jump {offset_ms, permanent = false}`, `clock_skew {rate}`, `expired_certificate` | the target itself |
//! | `[[fault.load]]` ([`LoadSpec`], [`Load`]) | `clients {count, think_time_ms?}`, `reconnect_storm {threads, max_connections}`, `slowloris {connections, interval_ms}`, `syn_burst {connections}`; each may name its own `link` | the link's upstream (clients: through the proxies) |
//!
//! Every number is checked when the file is read (`cpu_hog` threads
//! 1 ..= [`MAX_CPU_HOG_THREADS`], percentages 1 ..= 100, …), the error
//! naming the field.
//!
//! ```
//! use ballast_chaos::scenario::{self, Scenario};
//!
//! let names: Vec<String> = scenario::catalog().into_iter().map(|s| s.name).collect();
//! assert!(names.iter().any(|n| n == "connection-reset"));
//! let s: Scenario = scenario::parse("mine.toml", r#"
//!     name = "slow-db"
//!     category = "latency"
//!     description = "the database answers 100 ms late"
//!     [[fault]]
//!     name = "slow"
//!     duration_ms = 1000
//!     [[fault.toxic]]
//!     type = "latency"
//!     attributes = { latency = 100 }
//! "#)?;
//! assert_eq!(s.timeline[0].toxics.len(), 1);
//! # Ok::<(), ballast_chaos::scenario::ScenarioError>(())
//! ```

mod file;
mod tables;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::toxic::Toxic;

pub use file::{MAX_FILE_BYTES, ScenarioError, TOXIC_TYPES, load_file, parse};
pub use tables::{
    MAX_BALLOON_MB, MAX_BALLOON_RATE_MB_PER_SEC, MAX_CLOCK_JUMP_MS, MAX_CPU_HOG_THREADS,
    MAX_DISK_DELAY_MS, MAX_FD_RESERVE, MAX_LOAD_CLIENTS, MAX_LOAD_INTERVAL_MS,
    MAX_LOCK_CONTENTION_THREADS, MAX_LOCK_HOLD_MS, MAX_STARVATION_HOGS,
};

/// One fault of a scenario's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Unique within the scenario; fault events and violations name it.
    pub name: String,
    /// The link (a target's upstream, fronted by a proxy) it acts on;
    /// `None`: the target's first link.
    pub link: Option<String>,
    /// When it switches on, from the end of the baseline.
    pub start: Duration,
    /// How long it stays on.
    pub duration: Duration,
    /// The toxics switched on together.
    pub toxics: Vec<Toxic>,
    /// The resource faults switched on with them, acting on the process
    /// that runs the target (`[[fault.resource]]` in a file).
    pub resources: Vec<ResourceSpec>,
    /// What is done to the target itself at the fault's start and undone
    /// at its end (`[[fault.target]]` in a file).
    pub targets: Vec<TargetAction>,
    /// Extra load switched on with them and stopped at the fault's end
    /// (`[[fault.load]]` in a file).
    pub loads: Vec<LoadSpec>,
}

/// A load fault (`[[fault.load]]`): on the fault's link unless it names
/// its own (`link = "..."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    /// The link whose upstream it loads; `None`: the fault's.
    pub link: Option<String>,
    /// What load.
    pub load: Load,
}

/// The kinds of load fault; bounded in count and time, loopback only,
/// all stopped at the fault's end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Load {
    /// `type = "clients"`: `count` extra workload clients (process numbers
    /// after the regular ones) run through the proxies during the fault
    /// only. A connection spike is 10× the regular count; a burst is
    /// `think_time_ms = 0`.
    Clients {
        /// Extra clients (1 ..= 256).
        count: u64,
        /// Their pause between operations; `None`: the scenario's.
        think_time_ms: Option<u64>,
    },
    /// `type = "reconnect_storm"`: `threads` threads connect to the link's
    /// upstream (directly) and close, as fast as they can, at most
    /// `max_connections` times in all.
    ReconnectStorm {
        /// Connecting threads (1 ..= 32).
        threads: u32,
        /// Connections in all.
        max_connections: u64,
    },
    /// `type = "slowloris"`: `connections` connections to the upstream,
    /// each sending one byte every `interval_ms`.
    Slowloris {
        /// Connections held (1 ..= 1024).
        connections: u32,
        /// Gap between one connection's bytes, ms.
        interval_ms: u64,
    },
    /// `type = "syn_burst"`: `connections` non-blocking connects to the
    /// upstream at once, never used, closed at the end. Without raw
    /// sockets the kernel completes the handshakes: the connections are
    /// half-finished at the application level only.
    SynBurst {
        /// Connections opened (1 ..= 4096).
        connections: u32,
    },
}

/// An action on the target: the `[[fault.target]]` tables of a scenario
/// file, done at the fault's start and undone at its end (also when the
/// run ends early).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TargetAction {
    /// `type = "kill"`: [`Target::kill`](crate::suite::Target::kill) at the
    /// start, [`Target::start`](crate::suite::Target::start) at the end
    /// (the proxies follow if its addresses changed).
    Kill,
    /// `type = "restart"`: [`Target::restart`](crate::suite::Target::restart)
    /// at the start; nothing to undo.
    Restart,
    /// `type = "misroute"`, `to = "<link>"`: the fault's link forwards new
    /// connections to link `to`'s upstream; back at the end.
    Misroute {
        /// The link whose upstream gets the traffic.
        to: String,
    },
    /// `type = "clock_jump"`, `offset_ms = -30000`: the target's clock
    /// ([`TargetHooks::clock`](crate::suite::TargetHooks::clock)) jumps by
    /// `offset_ms` (negative: back); undone at the end unless `permanent`.
    ClockJump {
        /// The jump, in ms (negative: back).
        offset_ms: i64,
        /// Left in place at the end.
        permanent: bool,
    },
    /// `type = "clock_skew"`, `rate = 1.5`: the target's clock runs at
    /// `rate` × real speed; reset at the end.
    ClockSkew {
        /// Speed relative to real time (0.001 ..= 1000).
        rate: f64,
    },
    /// `type = "expired_certificate"`: the target serves an expired TLS
    /// certificate ([`TargetHooks::certificate`](crate::suite::TargetHooks::certificate));
    /// the valid one again at the end.
    ExpiredCertificate,
}

/// A resource fault of a timeline: the `[[fault.resource]]` tables of a
/// scenario file, injected through [`crate::resource`] and healed with the
/// toxics of its fault. The `lock_contention`, `thread_starvation` and
/// `disk_*` types act through the target's
/// [`TargetHooks`](crate::suite::TargetHooks).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ResourceSpec {
    /// `type = "cpu_hog"`: `threads` threads busy `duty_percent` % of the time.
    CpuHog {
        /// Hog threads.
        threads: u32,
        /// Busy share of each slice, in percent.
        duty_percent: u32,
    },
    /// `type = "memory_balloon"`: grows to `cap_mb` MiB at `rate_mb_per_sec`.
    MemoryBalloon {
        /// Size to grow to, in MiB.
        cap_mb: u64,
        /// Growth rate, in MiB per second.
        rate_mb_per_sec: u64,
    },
    /// `type = "fd_exhaustion"`: descriptors held until `reserve` are left.
    FdExhaustion {
        /// Descriptors left free.
        reserve: u64,
    },
    /// `type = "lock_contention"`: `threads` threads hold the target's
    /// lock ([`TargetHooks::lock`](crate::suite::TargetHooks::lock)) for
    /// `hold_ms` at a time, `duty_percent` % of their time.
    LockContention {
        /// Contending threads.
        threads: u32,
        /// Share of each thread's time holding the lock, in percent.
        duty_percent: u32,
        /// One hold, in ms.
        hold_ms: u64,
    },
    /// `type = "thread_starvation"`: the target's worker threads
    /// ([`TargetHooks::threads`](crate::suite::TargetHooks::threads)) and
    /// `hogs` busy threads pinned onto one CPU (Linux).
    ThreadStarvation {
        /// Busy threads sharing the CPU.
        hogs: u32,
    },
    /// `type = "disk_slow"`: every write through the target's disk shim
    /// waits `delay_ms` first.
    DiskSlow {
        /// Delay per write, in ms.
        delay_ms: u64,
    },
    /// `type = "disk_fail"`: writes through the disk shim fail with `EIO`
    /// with this probability.
    DiskFail {
        /// Probability of each write failing, in (0, 1].
        probability: f64,
    },
    /// `type = "disk_full"`: the disk shim has no room left (`ENOSPC`).
    DiskFull,
}

impl FaultSpec {
    /// When it is healed, from the end of the baseline.
    pub fn end(&self) -> Duration {
        self.start + self.duration
    }
}

/// How the workload runs in a scenario.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadParams {
    /// Concurrent clients; `None`: the suite's default.
    pub clients: Option<u64>,
    /// Pause between one client's operations; `None`: the workload's default.
    pub think_time: Option<Duration>,
    /// Any other setting, for the workload to read (`key = value` as text).
    pub settings: BTreeMap<String, String>,
}

/// What the system must achieve in a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSla {
    /// Highest share of failed or unknown operations while a fault is on
    /// (`None`: no limit).
    pub max_error_rate_during: Option<f64>,
    /// Highest share of failed or unknown operations outside the faults and
    /// their allowed recovery time.
    pub max_error_rate_after: f64,
    /// Longest time from the last fault's end to a stable run of successes.
    pub max_recovery: Duration,
    /// Highest p99 latency of successful operations outside the faults.
    pub max_p99: Option<Duration>,
    /// Consecutive successes that count as recovered.
    pub stable_successes: usize,
}

impl Default for ScenarioSla {
    /// 1 % errors outside faults, recovery within 5 s (3 successes in a
    /// row), p99 under 1 s outside faults, no limit during them.
    fn default() -> Self {
        Self {
            max_error_rate_during: None,
            max_error_rate_after: 0.01,
            max_recovery: Duration::from_secs(5),
            max_p99: Some(Duration::from_secs(1)),
            stable_successes: 3,
        }
    }
}

/// One named fault episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short kebab-case name, as given on the command line.
    pub name: String,
    /// A group of related scenarios (`network`, `latency`, …), for `--category`.
    pub category: String,
    /// What the scenario does, in one line.
    pub description: String,
    /// What a resilient client should do under it, in one line
    /// (`expected = "…"`; empty when the file does not say).
    pub expected: String,
    /// Fault-free time before the timeline.
    pub baseline: Duration,
    /// The faults, by start offset from the baseline's end.
    pub timeline: Vec<FaultSpec>,
    /// Time after the timeline's last fault is healed.
    pub recovery: Duration,
    /// How the workload runs.
    pub workload: WorkloadParams,
    /// What the system must achieve.
    pub sla: ScenarioSla,
}

impl Scenario {
    /// Length of the timeline: from its start to its last fault's end.
    pub fn timeline_len(&self) -> Duration {
        self.timeline
            .iter()
            .map(FaultSpec::end)
            .max()
            .unwrap_or_default()
    }

    /// Baseline, timeline and recovery together.
    pub fn total(&self) -> Duration {
        self.baseline + self.timeline_len() + self.recovery
    }

    /// The same scenario at another intensity: toxic attribute `attribute`
    /// (Toxiproxy's name: `latency`, `probability`, `rate`, …) set to
    /// `value` on every toxic that has it, and the name suffixed with
    /// `@attribute=value` — one level of a sweep.
    ///
    /// # Errors
    ///
    /// The toxic's error when `value` is out of range, or
    /// [`Error::InvalidAttribute`](crate::Error::InvalidAttribute) when no
    /// toxic of the scenario has the attribute.
    pub fn with_attribute(mut self, attribute: &str, value: f64) -> crate::Result<Self> {
        let mut changed = false;
        for toxic in self.timeline.iter_mut().flat_map(|f| f.toxics.iter_mut()) {
            let mut json = toxic.to_json();
            let Some(attrs) = json.get_mut("attributes").and_then(|a| a.as_object_mut()) else {
                continue;
            };
            // Toxiproxy's JSON lists every attribute of a toxic's type.
            if !attrs.contains_key(attribute) {
                continue;
            }
            let number = if value.fract() == 0.0 && value >= 0.0 {
                serde_json::json!(value as u64)
            } else {
                serde_json::json!(value)
            };
            attrs.insert(attribute.to_owned(), number);
            *toxic = Toxic::from_json_value(&json)?;
            changed = true;
        }
        if !changed {
            return Err(crate::Error::InvalidAttribute {
                name: "sweep",
                reason: format!("no toxic of {} has attribute {attribute}", self.name),
            });
        }
        self.name = format!("{}@{attribute}={value}", self.name);
        Ok(self)
    }

    /// The same scenario with every phase and fault time scaled so that
    /// [`total`](Self::total) is `total` (the SLA is unchanged).
    pub fn with_total(mut self, total: Duration) -> Self {
        let current = self.total().as_secs_f64();
        if current <= 0.0 {
            return self;
        }
        let k = total.as_secs_f64() / current;
        self.baseline = self.baseline.mul_f64(k);
        self.recovery = self.recovery.mul_f64(k);
        for f in &mut self.timeline {
            f.start = f.start.mul_f64(k);
            f.duration = f.duration.mul_f64(k);
        }
        self
    }
}

// `CATALOG`: every `scenarios/*.toml`, embedded by build.rs.
include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// The scenario categories of the built-in catalog (a user's own files may
/// use others).
pub const CATEGORIES: &[&str] = &[
    "network",
    "connection",
    "protocol",
    "resource",
    "load",
    "cascading",
    "software",
];

/// Every built-in scenario (`crates/chaos/scenarios/*.toml`), sorted by
/// file name: the order the suite runs them.
pub fn catalog() -> Vec<Scenario> {
    CATALOG
        .iter()
        .map(|(file, text)| {
            // A test parses every built-in file, so this cannot fail at run time.
            parse(file, text).unwrap_or_else(|e| panic!("built-in scenario {e}"))
        })
        .collect()
}

/// The built-in scenario called `name`.
pub fn find(name: &str) -> Option<Scenario> {
    catalog().into_iter().find(|s| s.name == name)
}

/// The closest of `candidates` to `word` when it is close enough to be a
/// likely misspelling (edit distance ≤ 1 + len/4).
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = 1 + word.chars().count() / 4;
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
