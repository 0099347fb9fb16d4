//! The ballast chaos suite: every scenario of the catalog against the
//! embedded TN3270 host simulator, through the chaos proxy, with resilient
//! terminal clients on the other side.
//!
//! For each scenario it starts a fresh `HostSimulator` (demo app), puts a
//! `ChaosProxy` in front, runs `--clients` terminal users that sign on, store
//! records and read them back (retrying with jittered backoff behind a
//! circuit breaker), switches the scenario's faults on and off on schedule,
//! then checks:
//!
//! - the operation history against the host's records: no acknowledged
//!   record lost, no failed store visible, no phantom, stale or
//!   non-monotonic read;
//! - recovery time and availability against the scenario's SLA.
//!
//! It writes `summary.csv`, one `history-<scenario>.csv` per scenario and
//! `report.html` (charts) into `--report-dir`, and exits non-zero when any
//! check fails. Everything runs on 127.0.0.1 and stops by itself.
//!
//! Run: `cargo xtask chaos`, or
//! `cargo run --release -p ballast --example chaos -- [--seed N] [--scenario NAME]…`.

mod report;
mod workload;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballast::chaos::history::{CheckReport, History};
use ballast::chaos::scenario::{self, Scenario};
use ballast::chaos::sla::{self, FaultWindow, Sample, SlaReport};
use ballast::chaos::{ChaosProxy, ProxyConfig, SeedGuard};
use ballast::resilience::{Backoff, BreakerConfig, CircuitBreaker};
use ballast::session::host::{DemoApp, HostConfig, HostSimulator};
use clap::Parser;

/// Command line of the chaos suite.
#[derive(Parser, Debug)]
#[command(
    name = "chaos",
    about = "ballast chaos suite: scenarios vs the TN3270 host simulator"
)]
struct Args {
    /// Seed for every random choice (faults, jitter); default: from
    /// BALLAST_SEED or the clock, printed either way.
    #[arg(long)]
    seed: Option<u64>,
    /// Run only these scenarios (repeatable); default: the whole catalog.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Terminal users per scenario.
    #[arg(long, default_value_t = 4)]
    clients: u64,
    /// Where the CSV and HTML reports go.
    #[arg(long, default_value = "target/ballast-reports/chaos")]
    report_dir: PathBuf,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
}

/// Everything measured for one scenario.
pub(crate) struct Outcome {
    pub(crate) scenario: Scenario,
    pub(crate) fault: FaultWindow,
    pub(crate) samples: Vec<Sample>,
    pub(crate) check: CheckReport<String, u64>,
    pub(crate) sla: SlaReport,
    pub(crate) records: usize,
}

impl Outcome {
    pub(crate) fn passed(&self) -> bool {
        self.check.is_valid() && self.sla.is_met()
    }
}

fn run_scenario(
    rt: &tokio::runtime::Runtime,
    scenario: &Scenario,
    seed: u64,
    clients: u64,
    report_dir: &std::path::Path,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default())?;
    let chaos = ChaosProxy::new(seed);
    let proxy =
        rt.block_on(chaos.create(ProxyConfig::new("host", host.local_addr().to_string())))?;
    let addr = proxy
        .listen_addr()
        .ok_or("the proxy reported no listen address")?;
    let history = History::new(200_000);
    let start = history.start();
    let breaker = CircuitBreaker::new(BreakerConfig {
        name: format!("host/{}", scenario.name),
        minimum_calls: 5,
        consecutive_failures: Some(3),
        open_backoff: Backoff::fixed(Duration::from_millis(250)),
        seed,
        ..BreakerConfig::default()
    })?;
    let shared = workload::Shared {
        addr,
        history: history.clone(),
        samples: Arc::new(Mutex::new(Vec::new())),
        breaker: Arc::new(breaker),
        start,
        deadline: start + scenario.run_for,
    };
    let workers: Vec<_> = (0..clients)
        .map(|id| {
            let worker = workload::Worker::new(id, seed, shared.clone());
            std::thread::spawn(move || worker.run())
        })
        .collect();
    let fault = rt.block_on(scenario.inject(&chaos, "host", tokio::time::Instant::from_std(start)));
    for w in workers {
        w.join().map_err(|_| "a client thread panicked")?;
    }
    let fault = fault?;
    // The truth: the host's records, read directly, not through the proxy.
    let records = host.records();
    let final_state: HashMap<String, u64> =
        records.iter().map(|r| (r.name.clone(), r.amount)).collect();
    let check = history.check(&final_state);
    let samples = shared.samples.lock().map(|s| s.clone()).unwrap_or_default();
    let sla = sla::validate(&samples, &[fault], &scenario.sla);
    let csv = std::fs::File::create(report_dir.join(format!("history-{}.csv", scenario.name)))?;
    history.write_csv(std::io::BufWriter::new(csv))?;
    rt.block_on(chaos.delete("host"))?;
    host.stop();
    Ok(Outcome {
        scenario: scenario.clone(),
        fault,
        samples,
        check,
        sla,
        records: records.len(),
    })
}

fn print_outcome(o: &Outcome) {
    let ms = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{} ms", d.as_millis()));
    println!(
        "{:<26} {:>5} ops {:>4} stored  fail {:>3}  unknown {:>3}  recovery {:>8}  avail {:>6}  p99 {:>7}  {}",
        o.scenario.name,
        o.check.operations,
        o.check.acknowledged_writes,
        o.check.failed,
        o.check.indeterminate,
        ms(o.sla.recovery.first().copied().flatten()),
        o.sla
            .availability_outside
            .map_or("-".into(), |a| format!("{:.1}%", a * 100.0)),
        ms(o.sla.p99_outside),
        if o.passed() { "ok" } else { "FAILED" },
    );
    for v in &o.check.violations {
        println!("    history violation: {v:?}");
    }
    for v in &o.sla.violations {
        println!("    sla violation: {v:?}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let catalog = scenario::catalog();
    if args.list {
        for s in &catalog {
            println!("{:<26} {}", s.name, s.description);
        }
        return Ok(());
    }
    let chosen: Vec<Scenario> = if args.scenarios.is_empty() {
        catalog
    } else {
        let mut chosen = Vec::new();
        for name in &args.scenarios {
            chosen.push(
                scenario::find(name)
                    .ok_or_else(|| format!("unknown scenario {name:?}; see --list"))?,
            );
        }
        chosen
    };
    let seed = args.seed.unwrap_or_else(|| SeedGuard::from_env().seed());
    println!(
        "chaos suite: {} scenarios, {} clients each, seed {seed} (replay: --seed {seed})",
        chosen.len(),
        args.clients
    );
    std::fs::create_dir_all(&args.report_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let suite_start = Instant::now();
    let mut outcomes = Vec::new();
    for s in &chosen {
        let outcome = run_scenario(&rt, s, seed, args.clients.max(1), &args.report_dir)?;
        print_outcome(&outcome);
        outcomes.push(outcome);
    }
    report::write(&args.report_dir, seed, &outcomes)?;
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    println!(
        "chaos: {} passed, {failed} failed ({:.1} s; report {})",
        outcomes.len() - failed,
        suite_start.elapsed().as_secs_f64(),
        args.report_dir.join("report.html").display()
    );
    if failed > 0 {
        return Err(format!("{failed} scenario(s) failed; replay with --seed {seed}").into());
    }
    Ok(())
}
