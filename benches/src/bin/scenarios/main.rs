//! One `#[inline(never)]` entry per benchmark scenario, ours and our peers',
//! for instruction counting under callgrind (`cargo xtask regress`) and
//! quick wall timing.
//!
//! `scenarios list` prints the names; `scenarios run NAME ITERATIONS` runs
//! one scenario that many times and prints `NAME ITERATIONS NANOS`. An
//! iteration is one operation (one push+pop, one record parsed, one call
//! through a breaker…), so counts divide into "per operation" figures.

mod alloc;
mod codec;
mod resilience;
mod session;

use std::time::Instant;

/// A named scenario: runs its operation `n` times.
pub(crate) type Scenario = (&'static str, fn(u64));

fn all() -> impl Iterator<Item = &'static Scenario> {
    alloc::SCENARIOS
        .iter()
        .chain(codec::SCENARIOS)
        .chain(resilience::SCENARIOS)
        .chain(session::SCENARIOS)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("list") => all().for_each(|(name, _)| println!("{name}")),
        Some("run") => {
            let name = args.get(2).map(String::as_str).unwrap_or_default();
            let iterations: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
            let Some((_, f)) = all().find(|(n, _)| *n == name) else {
                eprintln!("scenarios: unknown scenario {name:?}; see `scenarios list`");
                std::process::exit(2);
            };
            let start = Instant::now();
            f(iterations);
            println!("{name} {iterations} {}", start.elapsed().as_nanos());
        }
        _ => {
            eprintln!("usage: scenarios list | scenarios run NAME ITERATIONS");
            std::process::exit(2);
        }
    }
}
