//! `cargo xtask ci`, `fuzz` and `bench`.

use crate::util::{Result, TestCounts, cargo, root, run_step, run_tests, target_dir};

/// Packages with loom model tests; their whole test suite runs again under
/// `--cfg loom` in release mode (the models live in `tests/loom.rs`).
const LOOM_PACKAGES: &[&str] = &["ballast-alloc", "ballast-resilience"];

/// Options of `cargo xtask ci`.
#[derive(clap::Args)]
pub(crate) struct CiArgs {
    /// Skip `cargo fmt --check` and clippy (tests only).
    #[arg(long)]
    tests_only: bool,
    /// Skip the loom model tests.
    #[arg(long)]
    no_loom: bool,
}

pub(crate) fn run_ci(args: &CiArgs) -> Result<TestCounts> {
    if !args.tests_only {
        run_step(
            "format check",
            cargo().args(["fmt", "--all", "--", "--check"]),
        )?;
        // The fuzz targets are their own workspace, which `--all` skips.
        run_step(
            "format check (fuzz)",
            cargo().args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]),
        )?;
        // Default features as users build, then every feature, so the
        // tokio, TLS and HTTP code is linted too.
        for features in [None, Some("--all-features")] {
            let mut cmd = cargo();
            cmd.args(["clippy", "--workspace", "--all-targets"]);
            cmd.args(features);
            cmd.args(["--", "-D", "warnings"]);
            run_step(&format!("clippy {}", features.unwrap_or("")), &mut cmd)?;
        }
    }
    let mut counts = TestCounts::default();
    // All features: the tokio and TLS clients and the tokio codecs have
    // tests too.
    let tests = run_tests(
        "workspace tests",
        cargo().args(["test", "--workspace", "--all-features", "--no-fail-fast"]),
        &mut counts,
    );
    let loom = if args.no_loom || tests.is_err() {
        Ok(())
    } else {
        LOOM_PACKAGES.iter().try_for_each(|package| {
            let target = target_dir().join("loom");
            let mut cmd = cargo();
            cmd.args(["test", "--release", "-p", package])
                .env("RUSTFLAGS", "--cfg loom")
                .env("CARGO_TARGET_DIR", target)
                .env("LOOM_MAX_PREEMPTIONS", "3");
            run_tests(&format!("loom models of {package}"), &mut cmd, &mut counts)
        })
    };
    println!(
        "ci: {} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.ignored
    );
    tests.and(loom).map(|()| counts)
}

pub(crate) fn run(args: &CiArgs) -> Result {
    run_ci(args).map(drop)
}

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub(crate) struct FuzzArgs {
    /// One target (default: every target in fuzz/fuzz_targets).
    target: Option<String>,
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

pub(crate) fn fuzz(args: &FuzzArgs) -> Result {
    let dir = root().join("fuzz");
    let targets: Vec<String> = match &args.target {
        Some(t) => vec![t.clone()],
        None => std::fs::read_dir(dir.join("fuzz_targets"))
            .map_err(|e| format!("no fuzz targets in {}: {e}", dir.display()))?
            .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
            .collect(),
    };
    if targets.is_empty() {
        return Err("no fuzz targets found".into());
    }
    for target in targets {
        let mut cmd = cargo();
        cmd.current_dir(&dir)
            .args(["fuzz", "run", "-s", "none", &target, "--"])
            .arg(format!("-max_total_time={}", args.seconds));
        run_step(&format!("fuzz {target}"), &mut cmd)?;
    }
    Ok(())
}

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// One area (`alloc`, `codec`, ...); default: all.
    area: Option<String>,
}

pub(crate) fn bench(args: &BenchArgs) -> Result {
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "ballast-benches"]);
    if let Some(area) = &args.area {
        cmd.args(["--bench", area]);
    }
    run_step("benchmarks", &mut cmd)
}
