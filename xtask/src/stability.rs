//! `cargo xtask test-stability` and `cargo xtask chaos`.

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

/// Options of `cargo xtask chaos`: everything is passed on to the suite
/// (`--seed N`, `--scenario NAME`…, `--clients N`, `--report-dir DIR`,
/// `--list`); with none it runs the whole catalog on its defaults.
#[derive(clap::Args)]
pub(crate) struct ChaosArgs {
    /// Arguments for the suite (see `cargo xtask chaos -- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Runs the chaos suite (`crates/ballast/examples/chaos`) in release mode:
/// every catalog scenario against the embedded TN3270 host simulator
/// through the chaos proxy; reports in `target/ballast-reports/chaos`.
pub(crate) fn chaos(args: &ChaosArgs) -> Result {
    let report_dir = target_dir().join("ballast-reports").join("chaos");
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "ballast",
        "--example",
        "chaos",
        "--",
    ]);
    if !args.args.iter().any(|a| a.starts_with("--report-dir")) {
        cmd.arg("--report-dir").arg(&report_dir);
    }
    cmd.args(&args.args);
    run_step("chaos suite", &mut cmd)
}
