//! One `#[inline(never)]` entry per benchmark scenario, ours and our peers',
//! for instruction counting under callgrind (`cargo xtask regress`), quick
//! wall timing and allocation counting.
//!
//! - `scenarios list` prints the gated scenarios' names (`list --all` adds
//!   the hidden `selftest/` ones, which `cargo xtask regress` uses to prove
//!   its gate can fail);
//! - `scenarios run NAME ITERATIONS` runs one scenario that many times with
//!   the counting allocator on and prints
//!   `NAME ITERATIONS NANOS ALLOCATIONS BYTES_ALLOCATED PEAK_LIVE_BYTES`
//!   (allocations and bytes over the whole process, the peak on the calling
//!   thread, above what was live when the scenario started);
//! - `scenarios bare NAME ITERATIONS` runs it with the counting allocator
//!   off (what callgrind counts) and prints `NAME ITERATIONS NANOS`.
//!
//! An iteration is one operation (one push+pop, one record parsed, one call
//! through a breaker…), so counts divide into "per operation" figures.

mod alloc;
mod chaos;
mod clock;
mod codec;
mod counting;
mod resilience;
mod selftest;
mod session;

use std::time::Instant;

/// A named scenario: runs its operation `n` times.
pub(crate) type Scenario = (&'static str, fn(u64));

fn gated() -> impl Iterator<Item = &'static Scenario> {
    alloc::SCENARIOS
        .iter()
        .chain(codec::SCENARIOS)
        .chain(resilience::SCENARIOS)
        .chain(session::SCENARIOS)
        .chain(chaos::SCENARIOS)
        .chain(clock::SCENARIOS)
}

fn all() -> impl Iterator<Item = &'static Scenario> {
    gated().chain(selftest::SCENARIOS)
}

fn find(name: &str) -> fn(u64) {
    match all().find(|(n, _)| *n == name) {
        Some((_, f)) => *f,
        None => {
            eprintln!("scenarios: unknown scenario {name:?}; see `scenarios list --all`");
            std::process::exit(2);
        }
    }
}

/// The scenario's run, in a function of its own: `cargo xtask regress`
/// counts only what happens inside it (callgrind's `--toggle-collect`), so
/// process start-up and printing the elapsed time (whose digits change from
/// run to run) never reach the counts.
#[inline(never)]
fn callgrind_measured_run(f: fn(u64), iterations: u64) {
    f(std::hint::black_box(iterations));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(2).map(String::as_str).unwrap_or_default();
    let iterations: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    match args.get(1).map(String::as_str) {
        Some("list") if args.get(2).is_some_and(|a| a == "--all") => {
            all().for_each(|(name, _)| println!("{name}"));
        }
        Some("list") => gated().for_each(|(name, _)| println!("{name}")),
        Some("run") => {
            let f = find(name);
            counting::enable();
            let before = counting::snapshot();
            let start = Instant::now();
            let delta = counting::measure(|| f(iterations));
            let nanos = start.elapsed().as_nanos();
            let after = counting::snapshot();
            println!(
                "{name} {iterations} {nanos} {} {} {}",
                after.allocations - before.allocations,
                after.bytes_allocated.saturating_sub(before.bytes_allocated),
                delta.peak_bytes,
            );
        }
        Some("bare") => {
            let f = find(name);
            let start = Instant::now();
            callgrind_measured_run(f, iterations);
            println!("{name} {iterations} {}", start.elapsed().as_nanos());
        }
        _ => {
            eprintln!(
                "usage: scenarios list [--all] | scenarios run NAME ITERATIONS | scenarios bare NAME ITERATIONS"
            );
            std::process::exit(2);
        }
    }
}
