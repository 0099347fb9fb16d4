//! `cargo xtask`: ballast's project automation.
//!
//! xtask drives cargo and external tools; the suites themselves live in the
//! crates' tests, benches and examples, where users can read them.
//!
//! - `ci`: formatting, clippy, the workspace tests and the loom models, then
//!   one summary line `ci: N passed, M failed, K skipped`.
//! - `test-stability`: long runs of real work in release mode under the
//!   counting allocator (`ballast-suite soak`, the allocator soak among
//!   them); fails when memory, descriptors or threads grow, or are not
//!   back once a soak is dropped.
//! - `regress`: instruction counts per scenario (callgrind) against the
//!   committed baseline, wall time beside; CSV history + Markdown report.
//!   Without valgrind it exits 2 (a setup error): it cannot check anything.
//! - `chaos`: the chaos suite (see its help for what exists today).
//! - `fuzz`, `bench`: run the fuzz targets / criterion benches.

mod chaos;
mod ci;
mod criterion;
mod regress;
mod stability;
mod util;

#[cfg(test)]
mod map;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "ballast project automation", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Formatting, clippy, all tests and the loom models (what .ci/run runs).
    Ci(ci::CiArgs),
    /// Long-running stability suite in release mode; writes a report.
    TestStability(stability::StabilityArgs),
    /// Instruction-count regression check against benches/baseline.csv.
    Regress(regress::RegressArgs),
    /// The chaos suite against the embedded services, with a report.
    Chaos(chaos::ChaosArgs),
    /// Runs one or all cargo-fuzz targets for a while (needs cargo-fuzz).
    Fuzz(ci::FuzzArgs),
    /// Runs the criterion benchmarks (all areas, or one).
    Bench(ci::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ci(args) => ci::run(&args),
        Command::TestStability(args) => stability::run(&args),
        Command::Regress(args) => {
            if !regress::has_valgrind() {
                eprintln!("xtask: {}", regress::NO_VALGRIND);
                return ExitCode::from(2);
            }
            regress::run(&args)
        }
        Command::Chaos(args) => chaos::run(&args),
        Command::Fuzz(args) => ci::fuzz(&args),
        Command::Bench(args) => ci::bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
