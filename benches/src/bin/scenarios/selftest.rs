//! Hidden scenarios (`scenarios list --all`) with which `cargo xtask
//! regress` proves on every run that its gate can fail.
//!
//! `selftest/fixed_work` does a fixed amount of arithmetic and one 64-byte
//! allocation per operation; with `BALLAST_SCENARIO_SLOWDOWN_PERCENT=P` in
//! its environment it does the whole operation twice on P of every 100
//! operations: P % more arithmetic, allocations and bytes (exactly, for a
//! multiple of 100 operations), as a scenario that got slower would.

use std::hint::black_box;

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[("selftest/fixed_work", fixed_work)];

/// Environment variable naming the extra work in percent.
pub(crate) const SLOWDOWN_ENV: &str = "BALLAST_SCENARIO_SLOWDOWN_PERCENT";

/// Rounds of arithmetic per operation without a slowdown.
const ROUNDS: u64 = 400;

fn slowdown_percent() -> u64 {
    std::env::var(SLOWDOWN_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1_000)
}

/// One operation: the arithmetic and the allocation.
#[inline(never)]
fn unit(i: u64, acc: u64) -> u64 {
    let mut acc = acc;
    for r in 0..ROUNDS {
        acc = black_box(acc.wrapping_mul(31).wrapping_add(r ^ i));
    }
    drop(black_box(vec![0u8; 64]));
    acc
}

#[inline(never)]
fn fixed_work(n: u64) {
    let percent = slowdown_percent();
    let mut acc = 0u64;
    for i in 0..n {
        acc = unit(i, acc);
        // P % more work: the operation again on P of every 100.
        if i % 100 < percent {
            acc = unit(i, acc);
        }
    }
    black_box(acc);
}
