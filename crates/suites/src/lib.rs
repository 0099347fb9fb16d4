//! The ballast suites as a tool: `ballast-suite chaos` runs chaos scenarios
//! (the built-in catalog of `ballast-chaos`, or your own TOML files) against
//! the embedded TN3270 host simulator, through the embedded chaos proxy or
//! any Toxiproxy-API server, with resilient terminal clients on the other
//! side; it checks every history and SLA and writes `results.csv`,
//! `histories/<scenario>.jsonl` and `report.html`.
//!
//! `ballast-suite soak` runs the soaks of [`soak`] (a long TN3270 session,
//! session churn, the parsers, resilience churn) under the binary's
//! counting allocator and fails when memory, descriptors or threads grow;
//! `cargo xtask test-stability` runs it.
//!
//! `cargo xtask chaos` runs the chaos suite; `cargo install --path crates/suites`
//! installs it. The pieces are public so a test can run the whole tool
//! in-process ([`chaos::main_with`]) and a user can reuse the TN3270
//! [`tn3270::Tn3270Workload`] and [`tn3270::Tn3270Target`] with
//! `ballast_chaos::suite::run_scenario`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::AtomicBool;
//!
//! let argv = ["ballast-suite", "chaos", "--quick", "--seed", "7", "--out", "/tmp/chaos"];
//! let mut out = Vec::new();
//! let code = ballast_suites::chaos::main_with(argv.map(String::from), Arc::new(AtomicBool::new(false)), &mut out, true);
//! assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod chaos;
pub mod html;
pub mod soak;
pub mod tn3270;

/// The code blocks of `docs/chaos.md` run as doctests of this crate, so the
/// guide's "harden your own service" program stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/chaos.md")]
struct ChaosGuide;
