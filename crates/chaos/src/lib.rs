//! Chaos engineering for anything that speaks TCP or `Read`/`Write`.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

#[cfg(feature = "proxy")]
pub mod api;
pub mod clock;
pub mod engine;
pub mod error;
#[cfg(feature = "proxy")]
pub mod proxy;
pub mod seed;
pub mod stream;
pub mod toxic;

pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use engine::{DirectionEngine, EngineContext, Piece, ToxicEntry};
pub use error::{Error, Result};
#[cfg(feature = "proxy")]
pub use proxy::{ChaosProxy, ProxyConfig, ProxyInfo, ProxyLimits, ProxyUpdate};
pub use seed::SeedGuard;
pub use stream::{FaultConfig, FaultyStream};
pub use toxic::{Condition, Stream, Toxic, ToxicKind};
