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
//! All are on by default; turn off what you do not use.
//!
//! - `alloc`: [`ballast_alloc`] as `ballast::alloc`: byte ring buffer, SPSC
//!   ring, fixed-block pools, scratch arena, counting global allocator.
//! - `codec`: [`ballast_codec`] as `ballast::codec`: telnet, 3270, TN3270E,
//!   EBCDIC, MudMode and length-prefixed frames.
//! - `session`: [`ballast_session`] as `ballast::session`: TN3270 sessions,
//!   clients and a host simulator.
//! - `resilience`: [`ballast_resilience`] as `ballast::resilience`: circuit
//!   breaker, retry, pool, limits, health and shutdown.
//! - `chaos`: [`ballast_chaos`] as `ballast::chaos`: fault injection, chaos
//!   proxy and history checking.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

#[cfg(feature = "alloc")]
#[doc(inline)]
pub use ballast_alloc as alloc;
#[cfg(feature = "chaos")]
#[doc(inline)]
pub use ballast_chaos as chaos;
#[cfg(feature = "codec")]
#[doc(inline)]
pub use ballast_codec as codec;
#[cfg(feature = "resilience")]
#[doc(inline)]
pub use ballast_resilience as resilience;
#[cfg(feature = "session")]
#[doc(inline)]
pub use ballast_session as session;
