//! `cargo xtask chaos`: the chaos suite on its embedded defaults.

use crate::util::{Result, cargo, run_step, target_dir};

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
pub(crate) fn run(args: &ChaosArgs) -> Result {
    let report_dir = target_dir().join("ballast-reports").join("chaos");
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "ballast",
        "--features",
        "full",
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
