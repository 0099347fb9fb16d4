//! Time through ballast-clock's one [`Clock`], so time-based behaviour is
//! testable without sleeping.
//!
//! These are ballast-clock's types, re-exported so the paths users know
//! (`ballast_resilience::clock::ManualClock`, …) keep working: a
//! [`ManualClock`] made here is the one ballast-chaos takes, so one clock
//! drives a breaker, a retry, a faulty stream and a history together.
//! Every primitive holds a [`SharedClock`]; the default is [`FastClock`]
//! (TSC through quanta). An open breaker on a real-time clock reuses a
//! reading for up to one [`COARSE_TICK`] of the process-wide coarse tick
//! (`ballast_clock::coarse`).

pub use ballast_clock::{
    COARSE_TICK, Clock, FastClock, ManualClock, SharedClock, SystemClock, system_clock,
};

pub(crate) use ballast_clock::coarse;
pub(crate) use ballast_clock::duration_nanos as nanos;
