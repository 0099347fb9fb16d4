//! Resilience primitives for ballast.
//!
//! This crate will hold a circuit breaker, retry with backoff and retry
//! budgets, an object pool, a rate limiter, a bulkhead, timeouts, a health
//! registry with Prometheus text metrics, and graceful shutdown. It depends on
//! no other ballast crate.
//!
//! Status: skeleton. The primitives land with the ballast-resilience issue.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]
