//! ballast: a toolkit for hardened network protocol clients and gateways,
//! and for proving them hard.
//!
//! This facade re-exports the ballast crates, each behind a feature of the
//! same name, so an application can depend on `ballast` alone:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use ballast::alloc::RingBuffer;
//!
//! let mut ring = RingBuffer::with_capacity(4096).expect("4096 is a valid capacity");
//! ring.push_slice(b"hello");
//! assert_eq!(ring.len(), 5);
//! # }
//! ```
//!
//! # Feature flags
//!
//! The defaults are the libraries a protocol client needs and nothing that
//! starts a runtime or a server: `alloc`, `clock`, `codec`, `session`,
//! `resilience`.
//!
//! Crates:
//!
//! - `alloc` (default): [`ballast_alloc`] as `ballast::alloc`: byte ring
//!   buffer, SPSC ring, fixed-block pools, scratch arena, counting global
//!   allocator.
//! - `clock` (default): [`ballast_clock`] as `ballast::clock`: the one
//!   `Clock` (system, fast, manual) that resilience, chaos and session take
//!   time from, the coarse tick, the seeded RNG and `SeedGuard`.
//! - `codec` (default): [`ballast_codec`] as `ballast::codec`: telnet, 3270,
//!   TN3270E, EBCDIC, MudMode and length-prefixed frames.
//! - `session` (default): [`ballast_session`] as `ballast::session`: the
//!   sans-IO TN3270 session and the blocking client.
//! - `resilience` (default): [`ballast_resilience`] as `ballast::resilience`:
//!   circuit breaker, retry, pool, limits, health and shutdown.
//! - `chaos`: `ballast_chaos` as `ballast::chaos`: fault-injecting
//!   streams, scenarios, history checking and the SLA validator.
//!
//! Sub-features, forwarded to every enabled crate that has them:
//!
//! - `tokio`: `AsyncClient`, the codecs' `tokio_util::codec` impls, async
//!   retry sleeping.
//! - `tls`: rustls for the TN3270 clients (turns on `session`).
//! - `host`: the TN3270 host simulator, a server (turns on `session`).
//! - `http`, `metrics`: health and metrics over HTTP, stats through the
//!   `metrics` facade (turn on `resilience`).
//! - `proxy`: the chaos TCP proxy and its Toxiproxy-compatible API (turns
//!   on `chaos`).
//! - `full`: all of the above.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
#[doc(inline)]
pub use ballast_alloc as alloc;
#[cfg(feature = "chaos")]
#[cfg_attr(docsrs, doc(cfg(feature = "chaos")))]
#[doc(inline)]
pub use ballast_chaos as chaos;
#[cfg(feature = "clock")]
#[cfg_attr(docsrs, doc(cfg(feature = "clock")))]
#[doc(inline)]
pub use ballast_clock as clock;
#[cfg(feature = "codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "codec")))]
#[doc(inline)]
pub use ballast_codec as codec;
#[cfg(feature = "resilience")]
#[cfg_attr(docsrs, doc(cfg(feature = "resilience")))]
#[doc(inline)]
pub use ballast_resilience as resilience;
#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
#[doc(inline)]
pub use ballast_session as session;

#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub mod config;

/// Stable error codes, retry classes and recovery guidance: every error of
/// every ballast crate implements [`error::Coded`].
pub use ballast_error as error;

/// The error catalogs of the enabled crates, by error type: the source of
/// `docs/errors.md`.
pub fn error_catalogs() -> Vec<(&'static str, &'static [error::CatalogEntry])> {
    #[allow(unused_mut)]
    let mut all: Vec<(&'static str, &'static [error::CatalogEntry])> = Vec::new();
    #[cfg(feature = "alloc")]
    all.extend_from_slice(ballast_alloc::error_catalogs());
    #[cfg(feature = "codec")]
    all.extend_from_slice(ballast_codec::error_catalogs());
    #[cfg(feature = "session")]
    all.extend_from_slice(ballast_session::error_catalogs());
    #[cfg(feature = "resilience")]
    all.extend_from_slice(ballast_resilience::error_catalogs());
    #[cfg(feature = "chaos")]
    all.extend(ballast_chaos::error_catalogs());
    #[cfg(feature = "config")]
    all.push(("ballast::config::ConfigError", config::error_catalog()));
    all
}
