//! TN3270 sessions for ballast.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod apply;
pub mod client;
pub mod config;
pub mod error;
pub mod host;
pub mod screen;
pub mod session;

pub use ballast_codec::tn3270::{Aid, ScreenSize};
pub use client::{Client, Condition};
pub use config::{Limits, Model, SessionConfig};
pub use error::{Error, Result};
pub use host::{DemoApp, HostConfig, HostSimulator, ScriptApp};
pub use screen::{Field, FieldRef, Screen};
pub use session::{Event, Session};
