//! Chaos engineering for anything that speaks TCP or `Read`/`Write`.
//!
//! ballast-chaos injects network faults with exact, seeded, replayable
//! semantics, in two places that share one fault engine:
//!
//! - [`FaultyStream`] wraps any `Read + Write` or tokio `AsyncRead +
//!   AsyncWrite`, so a protocol client is unit-tested under faults without
//!   sockets, on virtual time ([`ManualClock`], or tokio's paused clock).
//! - [`ChaosProxy`] runs many named TCP proxies (listen → upstream) whose
//!   faults change at runtime; [`api`] serves a Toxiproxy-compatible HTTP API
//!   over it and the `ballast-proxy` binary is a drop-in replacement for
//!   `toxiproxy-server` (same flags, routes, JSON and status codes).
//!
//! Faults are [`Toxic`]s: the Toxiproxy toxics with the same attribute names
//! and units (`latency`, `bandwidth`, `slow_close`, `timeout`, `reset_peer`,
//! `slicer`, `limit_data`, `noop`) plus `delay`, `loss`, `gilbert_loss`, `corrupt`, `duplicate`,
//! `reorder`, `partial`, `zero_write` and `half_open`. Each acts on one
//! [`Stream`] with a toxicity decided once per connection, and may carry a
//! [`Condition`] (after N bytes or reads, on the first N connections, on a
//! byte pattern, within a time window, per-chunk probability, auto-removal).
//!
//! Every random decision comes from an RNG derived from (seed, proxy name,
//! stream, connection ordinal, toxic name) — see [`seed`] — so a run replays
//! exactly from its seed, and a toxic with toxicity 0 changes nothing at all.
//!
//! Time and randomness come from ballast-clock, the crate's one ballast
//! dependency: [`Clock`], [`ManualClock`], [`SystemClock`], [`SeededRng`]
//! and [`SeedGuard`] are its types, re-exported here ([`TokioClock`] is this
//! crate's). So the `ManualClock` that drives a [`FaultyStream`] or a
//! [`history::History`] (through `History::with_clock`) can drive
//! ballast-resilience's breaker and retry in the same test.
//!
//! # Example: a client under faults, on virtual time
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use ballast_chaos::{Clock, FaultConfig, ManualClock, Stream, Toxic, ToxicKind};
//!
//! let cfg = FaultConfig::new(42)
//!     .toxic(Toxic::new(ToxicKind::Latency { latency_ms: 200, jitter_ms: 0 }))
//!     .toxic(Toxic::new(ToxicKind::PartialIo { max_op_size: 2 }).stream(Stream::Upstream));
//! let clock = ManualClock::new();
//! // Any Read + Write works; a Cursor stands in for a peer here.
//! let mut s = cfg.wrap_with_clock(std::io::Cursor::new(b"hello".to_vec()), clock.clone());
//! let mut buf = [0u8; 5];
//! s.read_exact(&mut buf)?;
//! assert_eq!(&buf, b"hello");
//! assert_eq!(s.write(b"abc")?, 2, "partial write");
//! assert_eq!(clock.now(), Duration::from_millis(200), "no wall time spent");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Example: fail the first two connections, then recover
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ballast_chaos::Error> {
//! # #[cfg(feature = "proxy")] {
//! use ballast_chaos::{ChaosProxy, ProxyConfig, Toxic, ToxicKind};
//!
//! let chaos = ChaosProxy::new(7);
//! let db = chaos.create(ProxyConfig::new("db", "127.0.0.1:5432")).await?;
//! let flaky = Toxic::new(ToxicKind::ResetPeer { timeout_ms: 0 }).first_connections(2);
//! chaos.add_toxic("db", flaky).await?;
//! // Point the client under test at `db.listen` (the resolved 127.0.0.1 port).
//! assert!(db.listen_addr().is_some_and(|a| a.port() != 0));
//! # }
//! # Ok(())
//! # }
//! ```
//!
//! # Proving a service under faults
//!
//! [`scenario`] holds scenarios as data: TOML files (toxics in Toxiproxy's
//! vocabulary) with a baseline, a timeline of possibly overlapping faults, a
//! recovery phase, workload settings and an SLA; the built-in catalog
//! (latency spike, bandwidth throttle, connection resets, black hole,
//! half-open, packet loss, …) is embedded from `scenarios/*.toml`.
//! [`suite`] is the harness: implement [`suite::Target`] and
//! [`suite::Workload`] for your service and [`suite::run_scenario`] runs a
//! scenario against it through the embedded proxy or any Toxiproxy-API
//! server, always heals, and derives throughput, latency, error rates,
//! time to detect and time to recover from the run's [`history::History`].
//! [`history`] checks that history against the system's final state: no
//! acknowledged write lost, no read of an uncommitted value, no stale or
//! non-monotonic read; each anomaly names the fault that was active.
//! [`sla`] is the older per-sample SLA validator.
//!
//! # Resource faults
//!
//! `resource` (Linux) starves the process under test instead of its
//! network: a CPU hog (N threads at a duty cycle), a memory balloon (grows
//! to a cap at a rate, pages really resident) and file-descriptor
//! exhaustion (exactly K descriptors left below `RLIMIT_NOFILE`). Each is a
//! guard that heals completely on drop or panic and reports the fidelity
//! it reached.
//!
//! # Feature flags
//!
//! - `proxy` (default): [`ChaosProxy`], the Toxiproxy-compatible [`api`],
//!   the `ballast-proxy` binary (tokio net, axum, hyper, socket2, clap) and
//!   the suite's injectors `EmbeddedProxy` and `ToxiproxyApi` (ureq).
//!   Without it the crate is the fault engine and [`FaultyStream`] only.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub mod api;
pub mod check;
mod chunk;
pub mod clock;
pub mod engine;
pub mod error;
pub mod history;
#[cfg(feature = "logging")]
#[cfg_attr(docsrs, doc(cfg(feature = "logging")))]
pub mod logging;
#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub mod proxy;
pub mod resource;
pub mod scenario;
pub mod seed;
pub mod sla;
pub mod stream;
pub mod suite;
pub mod toxic;

/// Stable error codes, retry classes and recovery guidance (`ballast-error`):
/// every error of this crate implements [`Coded`].
pub use ballast_error::{CatalogEntry, Coded, ErrorClass};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, TokioClock};
pub use engine::{DirectionEngine, EngineContext, Piece, ToxicEntry};
pub use error::{Error, Result};
#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub use proxy::{
    ChaosProxy, ConnectionInfo, DirectionInfo, Populated, ProxyConfig, ProxyInfo, ProxyLimits,
    ProxyUpdate,
};
pub use seed::{SeedGuard, SeededRng};
pub use stream::{FaultConfig, FaultyStream};
pub use toxic::{Condition, DelayDistribution, InjectPosition, Stream, Toxic, ToxicKind};

/// Every error catalog of this crate, by error type: each variant's stable
/// code, class and recovery guidance (`docs/errors.md` is generated from
/// these).
pub fn error_catalogs() -> Vec<(&'static str, &'static [CatalogEntry])> {
    #[allow(unused_mut)]
    let mut all: Vec<(&'static str, &'static [CatalogEntry])> = vec![
        ("ballast_chaos::Error", error::CATALOG),
        (
            "ballast_chaos::resource::ResourceError",
            resource::error::CATALOG,
        ),
        ("ballast_chaos::suite::SuiteError", suite::CATALOG),
        ("ballast_chaos::check::CheckError", check::CATALOG),
    ];
    #[cfg(feature = "logging")]
    all.push(("ballast_chaos::logging::LogError", logging::CATALOG));
    all
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<crate::Toxic>();
        assert_send_sync::<crate::DirectionEngine>();
        assert_send_sync::<crate::FaultConfig>();
        assert_send_sync::<crate::FaultyStream<std::io::Cursor<Vec<u8>>, crate::ManualClock>>();
        assert_send_sync::<crate::Error>();
        #[cfg(feature = "proxy")]
        assert_send_sync::<crate::ChaosProxy>();
    }
}
