//! TN3270 sessions for ballast.
//!
//! This crate will hold a sans-IO TN3270 session (telnet and TN3270E
//! negotiation, the screen buffer, fields and keys), blocking and async
//! clients as thin shells over it, a scripted TN3270 host simulator, and a
//! session manager with limits, backpressure, balancing, failover and audit.
//!
//! Status: skeleton. The session lands with the ballast-session issue.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]
