//! Zero-copy, sans-IO protocol codecs for ballast.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod cursor;
pub mod error;
pub mod frame;
pub mod stream;

pub use cursor::Cursor;
pub use error::{Error, Result};
pub mod mudmode;
pub mod telnet;
pub mod tn3270;
