//! `cargo xtask chaos`: the chaos suite (`ballast-suite chaos`).

use crate::util::{Result, cargo, run_step, target_dir};

/// Options of `cargo xtask chaos`: everything is passed on to
/// `ballast-suite chaos` (`--scenario NAME`…, `--category NAME`,
/// `--scenario-file PATH`, `--seed N`, `--quick`, `--duration SECS`,
/// `--clients N`, `--proxy-api URL`…, `--out DIR`, `--list`); with none it
/// runs the whole catalog.
#[derive(clap::Args)]
pub(crate) struct ChaosArgs {
    /// Arguments for the suite (see `cargo xtask chaos -- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Runs `ballast-suite chaos` (crates/suites) in release mode: the
/// scenario catalog against the embedded TN3270 host simulator through
/// the chaos proxy; reports in `target/ballast-reports/chaos`.
pub(crate) fn run(args: &ChaosArgs) -> Result {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "ballast-suites",
        "--bin",
        "ballast-suite",
        "--",
        "chaos",
    ]);
    if !args
        .args
        .iter()
        .any(|a| a == "--out" || a.starts_with("--out="))
    {
        cmd.arg("--out")
            .arg(target_dir().join("ballast-reports").join("chaos"));
    }
    cmd.args(args.args.iter().filter(|a| *a != "--"));
    run_step("chaos suite", &mut cmd)
}
