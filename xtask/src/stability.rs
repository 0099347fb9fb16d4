//! `cargo xtask test-stability`: the release-mode soaks.

use crate::util::{Result, cargo, run_step, target_dir};

/// The soak tests: (package, test target). Each is an `#[ignore]`d test run
/// in release mode with `--ignored`, reading `BALLAST_STABILITY_SECS` and
/// writing its report into `BALLAST_REPORT_DIR`.
const STABILITY_SUITES: &[(&str, &str)] = &[("ballast-alloc", "stability")];

/// Seconds each `ballast-alloc` stability test runs in `--quick` mode.
const QUICK_ALLOC_SECS: u64 = 10;

/// Options of `cargo xtask test-stability`.
#[derive(clap::Args)]
pub(crate) struct StabilityArgs {
    /// Most seconds each soak runs (default: 60 for the allocator suite,
    /// 120 per `ballast-suite soak`; with --quick 10).
    #[arg(long)]
    seconds: Option<u64>,
    /// Most measured iterations per `ballast-suite soak` (default: each soak's own).
    #[arg(long)]
    iterations: Option<u64>,
    /// The CI budget: the whole set in under two minutes.
    #[arg(long)]
    quick: bool,
    /// Soaks of `ballast-suite soak` to run (all when none; `--list` there lists them).
    soaks: Vec<String>,
}

pub(crate) fn run(args: &StabilityArgs) -> Result {
    let reports = target_dir().join("ballast-reports");
    // Every suite runs even when one fails, so one run names every breach.
    let mut failed = Vec::new();
    if let Err(e) = alloc_suites(args, &reports) {
        failed.push(e);
    }
    if let Err(e) = run_step(
        "soaks (ballast-suite soak)",
        &mut soak_command(args, &reports),
    ) {
        failed.push(e);
    }
    eprintln!("xtask: stability reports in {}", reports.display());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

fn alloc_suites(args: &StabilityArgs, reports: &std::path::Path) -> Result {
    let alloc_secs = args
        .seconds
        .unwrap_or(if args.quick { QUICK_ALLOC_SECS } else { 60 });
    for (package, test) in STABILITY_SUITES {
        run_step(
            &format!("stability suite {package}/{test}"),
            cargo()
                .args(["test", "--release", "-p", package, "--test", test, "--"])
                .args(["--ignored", "--nocapture", "--test-threads=1"])
                .env("BALLAST_STABILITY_SECS", alloc_secs.to_string())
                .env("BALLAST_REPORT_DIR", reports),
        )?;
    }
    Ok(())
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
