//! Chaos engineering for anything that speaks TCP or `Read`/`Write`.
//!
//! This crate will hold a fault engine, fault-injecting streams, a
//! Toxiproxy-compatible TCP chaos proxy, a catalog of named chaos scenarios,
//! an operation-history checker and a recovery/SLA validator. It depends on
//! no other ballast crate.
//!
//! Status: skeleton. The fault engine and proxy land with the ballast-chaos
//! issue.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]
