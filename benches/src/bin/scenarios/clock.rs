//! ballast-clock scenarios: a read of the process-wide coarse tick (the
//! open breaker's clock shortcut) and one `SeededRng` draw.

use std::hint::black_box;
use std::time::Duration;

use ballast_clock::{SeededRng, coarse};

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[
    ("clock/coarse_tick_read/ballast", coarse_tick),
    ("clock/seeded_rng_next_u64/ballast", seeded_rng),
];

/// Waits (at most 5 s) until the coarse ticker runs, so every measured
/// read takes the path a running ticker gives.
fn ticker_running() {
    for _ in 0..5_000 {
        if coarse::tick() != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the coarse ticker did not start within 5 s");
}

/// One `coarse::tick()` read with the ticker running. `cargo xtask
/// regress` counts this function's thread only (the ticker's own
/// instructions grow with wall time, not with reads).
#[inline(never)]
fn coarse_tick(n: u64) {
    ticker_running();
    coarse_tick_read(n);
}

#[inline(never)]
fn coarse_tick_read(n: u64) {
    for _ in 0..n {
        black_box(coarse::tick());
    }
}

/// One 64-bit draw from a seeded SplitMix64.
#[inline(never)]
fn seeded_rng(n: u64) {
    let mut rng = SeededRng::new(black_box(15));
    for _ in 0..n {
        black_box(rng.next_u64());
    }
}
