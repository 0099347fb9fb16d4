//! `cargo xtask test-stability`: the release-mode soaks.

use crate::util::{Result, cargo, run_step, target_dir};

/// The soak tests: (package, test target). Each is an `#[ignore]`d test run
/// in release mode with `--ignored`, reading `BALLAST_STABILITY_SECS` and
/// writing its report into `BALLAST_REPORT_DIR`.
const STABILITY_SUITES: &[(&str, &str)] = &[("ballast-alloc", "stability")];

/// Options of `cargo xtask test-stability`.
#[derive(clap::Args)]
pub(crate) struct StabilityArgs {
    /// Seconds each suite runs.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

pub(crate) fn run(args: &StabilityArgs) -> Result {
    let reports = target_dir().join("ballast-reports");
    for (package, test) in STABILITY_SUITES {
        run_step(
            &format!("stability suite {package}/{test}"),
            cargo()
                .args(["test", "--release", "-p", package, "--test", test, "--"])
                .args(["--ignored", "--nocapture", "--test-threads=1"])
                .env("BALLAST_STABILITY_SECS", args.seconds.to_string())
                .env("BALLAST_REPORT_DIR", &reports),
        )?;
    }
    eprintln!("xtask: stability reports in {}", reports.display());
    Ok(())
}
