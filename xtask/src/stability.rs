//! `cargo xtask test-stability`: the release-mode soaks of `ballast-suite
//! soak` (the allocator soak among them).

use crate::util::{Result, cargo, run_step, target_dir};

/// Options of `cargo xtask test-stability`.
#[derive(clap::Args)]
pub(crate) struct StabilityArgs {
    /// Most seconds each soak runs (default 70, about 10 minutes for the
    /// eight soaks; with --quick 10).
    #[arg(long)]
    seconds: Option<u64>,
    /// Most measured iterations per soak (default: each soak's own).
    #[arg(long)]
    iterations: Option<u64>,
    /// The CI budget: the whole set in under two minutes.
    #[arg(long)]
    quick: bool,
    /// Soaks to run (all when none; `ballast-suite soak --list` lists them).
    soaks: Vec<String>,
}

pub(crate) fn run(args: &StabilityArgs) -> Result {
    let reports = target_dir().join("ballast-reports");
    let started = std::time::Instant::now();
    let result = run_step(
        "soaks (ballast-suite soak)",
        &mut soak_command(args, &reports),
    );
    eprintln!(
        "xtask: stability reports in {} ({:.0} s)",
        reports.display(),
        started.elapsed().as_secs_f64()
    );
    result
}

fn soak_command(args: &StabilityArgs, reports: &std::path::Path) -> std::process::Command {
    let mut soak = cargo();
    soak.args([
        "run",
        "--release",
        "-p",
        "ballast-suites",
        "--bin",
        "ballast-suite",
        "--",
    ])
    .arg("soak")
    .arg("--out")
    .arg(reports)
    .args(&args.soaks);
    if args.quick {
        soak.arg("--quick");
    }
    if let Some(s) = args.seconds {
        soak.args(["--seconds", &s.to_string()]);
    }
    if let Some(n) = args.iterations {
        soak.args(["--iterations", &n.to_string()]);
    }
    soak
}
