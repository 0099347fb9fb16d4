//! TN3270 sessions for ballast: talk to a mainframe like s3270, py3270 or
//! IBM's tnz do, and simulate one for tests.
//!
//! - [`Session`]: the sans-IO terminal. It owns telnet negotiation for
//!   plain TN3270 (RFC 1576: TERMINAL-TYPE, EOR, BINARY, answered in the
//!   order asked) and TN3270E (RFC 2355: DEVICE-TYPE with CONNECT to a
//!   named LU, FUNCTIONS; BIND-IMAGE declined; responses answered), applies
//!   host writes to the [`Screen`], answers Read Buffer / Read Modified /
//!   Read Modified All / Read Partition Query, and turns keys into inbound
//!   records. Bytes in, [`Event`]s and bytes out.
//! - [`Screen`]: cells, field attributes, colors, cursor (three bytes per
//!   cell); a field table searched by address; text views; input that obeys protected and numeric fields and
//!   sets the MDT. Non-display fields are blank in every text view and in
//!   `Debug` unless you ask ([`Screen::text_with_hidden`]).
//! - [`Client`]: a blocking client generic over its stream
//!   (`Client<S: Read + Write>`, TCP by default), in the style of
//!   tokio-util's `Framed`: [`Client::connect`] for TCP, `connect_tls` for
//!   TLS, or [`Client::new`] + [`Client::handshake`] over any stream (an
//!   in-memory pipe, a `ballast_chaos::FaultyStream`). [`Client::wait_for`]
//!   a [`Condition`], type, press keys, disconnect. Every wait has a
//!   deadline and every read is bounded. `AsyncClient<S>` (feature
//!   `tokio`) is the same on tokio. Both dereference to one [`Terminal`],
//!   which holds the operator surface (screen, fields, typing, events).
//! - `host::HostSimulator` (feature `host`): a TN3270/TN3270E server
//!   running a scripted application (`host::Application` in Rust,
//!   `host::ScriptApp` from TOML/JSON, or the built-in `host::DemoApp`)
//!   with per-session limits and graceful stop; `host::InMemoryHost` is the
//!   same host as an in-memory stream, for deterministic tests (its idle
//!   timeout runs on a `ballast_clock::Clock`, manual in tests). Its
//!   `host::RecordStore` can journal every record before acknowledging it
//!   (`RecordStore::journaled`, read back with `RecordStore::read_journal`),
//!   so a restarted host loses nothing acknowledged.
//!
//! - [`SessionManager`] ([`manager`]): pooled sessions over several
//!   endpoints, signed on by a login script, with limits, balancing,
//!   failover through per-endpoint circuit breakers and retries
//!   (ballast-resilience), TIMING-MARK keepalives that find half-open
//!   connections, a graceful drain, stats and Prometheus metrics.
//! - [`audit`]: a hash-chained (SHA-256) JSON-lines audit log of session
//!   events and its verifier; non-display field contents never reach it.
//! - [`Secret`]: credentials wiped on drop (`zeroize`) and never printed.
//!
//! The wire both ways is `ballast-codec`'s: the session and the host are
//! state machines over its record decoder and `StreamBuffer`, its inbound
//! encoders (the [`Screen`] implements its `InboundScreen`) and its record
//! framing.
//!
//! # Example
//!
//! Sign on to the demo host (feature `host`) and store a record:
//!
//! ```
//! use std::time::Duration;
//! use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
//! use ballast_session::{Aid, Client, Condition, SessionConfig};
//!
//! let host = HostSimulator::start(HostConfig::default(), DemoApp::default())?;
//! let t = Duration::from_secs(5);
//!
//! let mut c = Client::connect(host.local_addr(), SessionConfig::default(), t)?;
//! c.wait_for(Condition::Text("PLEASE SIGN ON".into()), t)?;
//! c.type_text("DEMO")?;
//! c.tab();
//! c.type_text("SECRET")?; // a non-display field: never in screen().text()
//! c.press_and_wait(Aid::Enter, t)?;
//! assert!(c.screen().contains("MAIN MENU"));
//!
//! c.type_text("1")?;
//! c.press_and_wait(Aid::Enter, t)?;
//! c.type_text("ACME")?;
//! c.tab();
//! c.type_text("42")?;
//! c.press_and_wait(Aid::Enter, t)?;
//! let row = c.screen().row(2)?; // "TRANSACTION ID: T0000001"
//! let txid = row.split(": ").nth(1).unwrap_or_default().trim();
//! assert_eq!(host.store().get(txid).map(|r| r.amount), Some(42));
//! c.disconnect()?;
//! # Ok::<(), ballast_session::Error>(())
//! ```
//!
//! # Errors and limits
//!
//! Everything returns [`Error`]. Bad host input (garbage, truncated
//! records, out-of-range addresses, endless subnegotiations, a record with
//! no IAC EOR) closes the session with a typed error; buffers are bounded
//! by [`Limits`] (defaults [`config::DEFAULT_MAX_RECORD_LEN`],
//! [`config::DEFAULT_MAX_SUBNEGOTIATION_LEN`],
//! [`config::DEFAULT_MAX_NEGOTIATIONS`], [`config::DEFAULT_MAX_EVENTS`]).
//!
//! # Feature flags
//!
//! - `host` (off by default): the `host` module: the
//!   simulator, its applications and scripts. It brings `mio`, `socket2`,
//!   `serde` and `toml`; a client-only build has none of them.
//!
//! - `tokio` (off by default): `async_client::AsyncClient`,
//!   the same client on `tokio::net`, every wait bounded by
//!   `tokio::time::timeout_at`.
//!
//! - `tls` (off by default): `Client::connect_tls`, `AsyncClient::connect_tls`
//!   (with `tokio`) and `HostConfig::tls` with rustls (ring provider);
//!   `tls::client_config` and `tls::server_config` build configs from PEM
//!   (certificates always verified; minimum protocol version explicit:
//!   `tls::MinTlsVersion`, TLS 1.2 by default).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod apply;
#[cfg(feature = "tokio")]
pub mod async_client;
pub mod audit;
pub mod client;
pub mod config;
pub mod error;
#[cfg(feature = "host")]
pub mod host;
pub mod manager;
pub mod screen;
pub mod secret;
pub mod session;
pub mod terminal;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "tokio")]
pub use async_client::AsyncClient;
pub use ballast_codec::tn3270::{Aid, ScreenSize};
/// Stable error codes, retry classes and recovery guidance (`ballast-error`):
/// every error of this crate implements [`Coded`].
pub use ballast_error::{CatalogEntry, Coded, ErrorClass};
pub use client::Client;
pub use config::{Limits, Model, SessionConfig};
pub use error::{Error, Result};
#[cfg(feature = "host")]
pub use host::{DemoApp, HostConfig, HostSimulator, InMemoryHost, ScriptApp};
pub use manager::{SessionGuard, SessionManager};
pub use screen::{Field, FieldRef, Screen};
pub use secret::Secret;
pub use session::{Event, Session};
pub use terminal::{Condition, Terminal, parse_key};

/// The user guide's examples compile (`docs/tn3270.md`).
#[cfg(all(doctest, feature = "host"))]
#[doc = include_str!("../../../docs/tn3270.md")]
mod guide {}

/// Every error catalog of this crate, by error type: each variant's stable
/// code, class and recovery guidance (`docs/errors.md` is generated from
/// these).
pub fn error_catalogs() -> &'static [(&'static str, &'static [CatalogEntry])] {
    &[
        ("ballast_session::Error", error::CATALOG),
        (
            "ballast_session::manager::ManagerError",
            manager::error::CATALOG,
        ),
        (
            "ballast_session::audit::VerifyError",
            audit::verify::CATALOG,
        ),
    ]
}
