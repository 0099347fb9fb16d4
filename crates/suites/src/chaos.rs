//! `ballast-suite chaos`: choose scenarios, run them against the TN3270
//! target, write the reports, print the verdict.

mod catalog;
mod select;
mod summary;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ballast_chaos::SeedGuard;
use ballast_chaos::scenario::Scenario;
use ballast_chaos::suite::{
    self, CSV_HEADER, EmbeddedProxy, FaultInjector, RunOptions, ScenarioRun, SuiteError,
    ToxiproxyApi,
};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::tn3270::{Setup, Tn3270Target, Tn3270Workload};

pub use catalog::{BEGIN_MARK, END_MARK, markdown};
pub use select::{QUICK, scale_loads, select};
pub use summary::replay_command;

/// Exit code: every scenario passed.
pub const EXIT_PASSED: i32 = 0;
/// Exit code: a check failed (history, SLA) or a run could not complete.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: a usage or setup error (unknown scenario, bad file, proxy API down).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: interrupted (Ctrl-C); faults healed, partial reports written.
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "ballast-suite",
    version,
    about = "ballast suites: chaos scenarios against the TN3270 host simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs chaos scenarios and checks every history and SLA.
    Chaos(ChaosArgs),
}

/// The flags of `ballast-suite chaos`.
#[derive(Args, Debug, Clone, Default)]
pub struct ChaosArgs {
    /// Run this scenario (repeatable); default: the whole catalog.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Run the scenarios of this category.
    #[arg(long, value_name = "NAME")]
    pub category: Option<String>,
    /// Add the scenario in this TOML file (repeatable); alone, runs only these.
    #[arg(long = "scenario-file", value_name = "PATH")]
    pub scenario_files: Vec<PathBuf>,
    /// Seed of every random choice; default: BALLAST_SEED or the clock (printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A representative subset that finishes in minutes.
    #[arg(long)]
    pub quick: bool,
    /// Scale each scenario (baseline, faults, recovery) to this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Clients per scenario (the scenario file may set its own).
    #[arg(long, default_value_t = 4)]
    pub clients: u64,
    /// Drive faults through this Toxiproxy-API server (repeatable; links are
    /// spread over them); default: the embedded proxy.
    #[arg(long = "proxy-api", value_name = "URL")]
    pub proxy_apis: Vec<String>,
    /// Where results.csv, histories/ and report.html go.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "target/ballast-reports/chaos"
    )]
    pub out: PathBuf,
    /// Sweep mode: run each scenario once per level of a toxic attribute,
    /// e.g. `latency=10,50,100,250,500` or `probability=0.01,0.05,0.1,0.3`.
    #[arg(long, value_name = "ATTR=V1,V2,…")]
    pub sweep: Option<String>,
    /// Config grid: run each scenario once per combination of workload
    /// settings (repeatable), e.g. `--grid retry_max_attempts=2,4 --grid
    /// breaker_consecutive_failures=3,10`; the summary names the best
    /// combination that kept the SLA.
    #[arg(long, value_name = "SETTING=V1,V2,…")]
    pub grid: Vec<String>,
    /// Print the scenarios (name, category, description) and exit.
    #[arg(long)]
    pub list: bool,
    /// With `--list`: the catalog table of docs/chaos.md, in Markdown.
    #[arg(long, requires = "list")]
    pub markdown: bool,
    /// The users' client: `resilient` (retries, breakers, timeouts,
    /// failover) or `naive` (none of them), for every scenario.
    #[arg(long, value_name = "KIND", value_parser = ["resilient", "naive"])]
    pub client: Option<String>,
}

/// Runs `ballast-suite` with `argv` (program name first), writing the
/// report lines to `out`; `quiet` hides the progress bar. Returns the exit
/// code ([`EXIT_PASSED`], [`EXIT_FAILED`], [`EXIT_USAGE`],
/// [`EXIT_INTERRUPTED`]).
pub fn main_with(
    argv: impl IntoIterator<Item = String>,
    interrupt: Arc<AtomicBool>,
    out: &mut dyn Write,
    quiet: bool,
) -> i32 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = write!(out, "{e}");
            return if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_PASSED
            };
        }
    };
    let Command::Chaos(args) = cli.command;
    run(&args, interrupt, out, quiet)
}

/// Runs the chaos suite with `args` (see [`main_with`]).
pub fn run(args: &ChaosArgs, interrupt: Arc<AtomicBool>, out: &mut dyn Write, quiet: bool) -> i32 {
    let scenarios = match select(args) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "ballast-suite: {e}");
            return EXIT_USAGE;
        }
    };
    if args.list && args.markdown {
        let _ = write!(out, "{}", markdown(&scenarios));
        return EXIT_PASSED;
    }
    if args.list {
        for s in &scenarios {
            let _ = writeln!(out, "{:<28} {:<12} {}", s.name, s.category, s.description);
        }
        return EXIT_PASSED;
    }
    let seed = args.seed.unwrap_or_else(|| SeedGuard::from_env().seed());
    let injectors = match injectors(args, seed) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(out, "ballast-suite: {e}");
            return EXIT_USAGE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(args.out.join("histories")) {
        let _ = writeln!(
            out,
            "ballast-suite: cannot create {}: {e}",
            args.out.display()
        );
        return EXIT_USAGE;
    }
    let _ = writeln!(
        out,
        "chaos: {} scenarios, seed {seed}, reports in {}",
        scenarios.len(),
        args.out.display()
    );
    let started = Instant::now();
    let refs: Vec<&dyn FaultInjector> = injectors.iter().map(AsRef::as_ref).collect();
    let mut opts = RunOptions::new(seed);
    opts.clients = args.clients.max(1);
    opts.interrupt = interrupt;
    let runs = run_all(&scenarios, &refs, &opts, &args.out, out, quiet);
    finish(args, seed, &runs, started, out)
}

fn injectors(args: &ChaosArgs, seed: u64) -> Result<Vec<Box<dyn FaultInjector>>, String> {
    if args.proxy_apis.is_empty() {
        let embedded = EmbeddedProxy::new(seed)
            .map_err(|e| format!("cannot start the embedded proxy: {e}"))?;
        return Ok(vec![Box::new(embedded)]);
    }
    args.proxy_apis
        .iter()
        .map(|url| {
            ToxiproxyApi::connect(url)
                .map(|a| Box::new(a) as Box<dyn FaultInjector>)
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// One scenario run of the TN3270 suite.
pub type Run = ScenarioRun<String, u64>;

fn run_all(
    scenarios: &[Scenario],
    injectors: &[&dyn FaultInjector],
    opts: &RunOptions,
    dir: &Path,
    out: &mut dyn Write,
    quiet: bool,
) -> Vec<Run> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(scenarios.len() as u64)
    };
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut runs = Vec::with_capacity(scenarios.len());
    for s in scenarios {
        bar.set_message(s.name.clone());
        let run = run_one(s, injectors, opts);
        let line = format!("  {}", run.summary());
        bar.suspend(|| {
            let _ = writeln!(out, "{line}");
        });
        if let Err(e) = write_history(dir, &run) {
            let _ = writeln!(
                out,
                "ballast-suite: cannot write the history of {}: {e}",
                s.name
            );
        }
        let stop = matches!(run.error, Some(SuiteError::Interrupted));
        runs.push(run);
        // Partial reports after every scenario: an interrupt or a crash
        // leaves what was measured.
        let _ = write_reports(dir, opts.seed, &runs);
        bar.inc(1);
        if stop {
            break;
        }
    }
    bar.finish_and_clear();
    runs
}

/// Runs `s` against a fresh TN3270 target shaped by its settings.
pub fn run_one(s: &Scenario, injectors: &[&dyn FaultInjector], opts: &RunOptions) -> Run {
    let s = &scale_loads(s.clone(), opts.clients);
    // One clock for the target's hooks and the users' breakers, so a
    // clock fault reaches both.
    let clock = crate::tn3270::target_clock();
    let made = Setup::of(s).and_then(|setup| {
        let workload = Tn3270Workload::new(s, opts.seed, Arc::clone(&clock))?;
        Ok((setup, workload))
    });
    match made {
        Ok((setup, workload)) => {
            let mut target = Tn3270Target::with_setup(setup, clock);
            if let Some(exe) = host_exe() {
                target = target.host_exe(exe);
            }
            suite::run_scenario(&mut target, &workload, s, injectors, opts)
        }
        Err(e) => {
            let mut target = Tn3270Target::new();
            let mut run = suite::run_scenario(&mut target, &Idle, s, &[], opts);
            run.error = Some(e);
            run
        }
    }
}

/// The `ballast-suite` executable for child hosts: `BALLAST_SUITE_EXE`,
/// else this process when it is `ballast-suite`.
fn host_exe() -> Option<PathBuf> {
    if let Some(exe) = std::env::var_os("BALLAST_SUITE_EXE") {
        return Some(PathBuf::from(exe));
    }
    let exe = std::env::current_exe().ok()?;
    (exe.file_stem()? == "ballast-suite").then_some(exe)
}

/// A workload that does nothing, for runs that cannot start.
struct Idle;

impl suite::Workload<String, u64> for Idle {
    fn client(&self, _: &suite::ClientContext<String, u64>) -> Result<(), SuiteError> {
        Ok(())
    }
}

fn write_history(dir: &Path, run: &Run) -> std::io::Result<()> {
    let file = std::fs::File::create(
        dir.join("histories")
            .join(format!("{}.jsonl", run.scenario.name)),
    )?;
    let mut w = std::io::BufWriter::new(file);
    suite::write_jsonl(run, &mut w)?;
    w.flush()?;
    let edn = dir
        .join("histories")
        .join(format!("{}.register.edn", run.scenario.name));
    let mut w = std::io::BufWriter::new(std::fs::File::create(edn)?);
    suite::write_register_edn(run, &mut w)?;
    w.flush()
}

fn write_reports(dir: &Path, seed: u64, runs: &[Run]) -> std::io::Result<()> {
    let mut csv = String::from(CSV_HEADER);
    csv.push('\n');
    for r in runs {
        csv.push_str(&r.csv_row());
        csv.push('\n');
    }
    std::fs::write(dir.join("results.csv"), csv)?;
    let html = crate::html::report(seed, runs).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.html"), html)
}

fn finish(args: &ChaosArgs, seed: u64, runs: &[Run], started: Instant, out: &mut dyn Write) -> i32 {
    summary::table(runs, out);
    summary::best_configs(runs, out);
    let failed: Vec<&Run> = runs.iter().filter(|r| !r.passed()).collect();
    let _ = writeln!(
        out,
        "chaos: {} passed, {} failed in {:.1} s; report {}",
        runs.len() - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64(),
        args.out.join("report.html").display()
    );
    if runs
        .iter()
        .any(|r| matches!(r.error, Some(SuiteError::Interrupted)))
    {
        let _ = writeln!(
            out,
            "interrupted: every fault healed, partial reports written"
        );
        return EXIT_INTERRUPTED;
    }
    if failed.is_empty() {
        return EXIT_PASSED;
    }
    let _ = writeln!(
        out,
        "replay: {}",
        summary::replay_command(args, seed, &failed)
    );
    if failed.iter().any(|r| {
        matches!(
            r.error,
            Some(SuiteError::Target(_) | SuiteError::Injector { .. } | SuiteError::NoInjector)
        )
    }) {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}
