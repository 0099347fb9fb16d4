//! `cargo xtask test-stability` and `cargo xtask chaos`.

use crate::util::{Result, cargo, root, run_step};

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
    let reports = root().join("target").join("ballast-reports");
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

/// Options of `cargo xtask chaos`.
#[derive(clap::Args)]
pub(crate) struct ChaosArgs {
    /// Seconds of soak to run while the scenario catalog is not built.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

pub(crate) fn chaos(args: &ChaosArgs) -> Result {
    eprintln!(
        "xtask chaos: the scenario catalog (chaos proxy in front of the TN3270 host \
         simulator, history checker, SLA report) is not built yet; running what exists: \
         the stability suites for {} s",
        args.seconds
    );
    run(&StabilityArgs {
        seconds: args.seconds,
    })
}
