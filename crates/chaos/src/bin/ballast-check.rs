//! `ballast-check`: checks a Jepsen-style history for consistency
//! anomalies, as Elle does.
//!
//! ```text
//! ballast-check [--model list-append|rw-register|register|set] [--consistency-model NAME] [--json] [--stream] FILE
//! ballast-check generate --txns N [--seed S] [--format edn|jsonl]
//! ballast-check measure --txns N
//! ```
//!
//! Exit status: 0 valid, 1 anomalies the model proscribes, 2 a bad file or
//! bad arguments (with the line number and what is wrong).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ballast_chaos::check::format::{self, Format, HistoryReader};
use ballast_chaos::check::generate::{ListAppendGenerator, Workload};
use ballast_chaos::check::{CheckError, ConsistencyModel, ListAppend, Model, Report};
use clap::{Args, Parser, Subcommand};

/// Checks a history for consistency anomalies (G0, G1a-c, G-single, G2-item,
/// lost update, …) and explains each one.
#[derive(Debug, Parser)]
#[command(
    name = "ballast-check",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    check: CheckArgs,
    /// Log lines on standard error as `text` or `json` (default:
    /// `BALLAST_LOG_FORMAT`, else text); what is logged: `RUST_LOG`, else
    /// warnings.
    #[arg(long, global = true)]
    log_format: Option<ballast_chaos::logging::LogFormat>,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// What the history holds: list-append, rw-register, register or set.
    #[arg(long, default_value = "list-append")]
    model: String,
    /// The model to check against: read-committed, repeatable-read,
    /// snapshot-isolation, serializable, strong-session-serializable,
    /// strict-serializable, linearizable. A register history is always
    /// checked for linearizability; a set history is linearizable under
    /// strict-serializable and linearizable (stale and non-monotonic reads
    /// are anomalies) and eventually consistent under the others.
    #[arg(long, default_value = "strict-serializable")]
    consistency_model: String,
    /// The file's syntax (edn or jsonl); detected from the first line when absent.
    #[arg(long)]
    format: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Check while reading: search for cycles every --checkpoint
    /// operations and stop at the first anomaly the model proscribes.
    #[arg(long)]
    stream: bool,
    /// Operations between two checks in --stream mode.
    #[arg(long, default_value_t = 200_000)]
    checkpoint: u64,
    /// The history (`-` for standard input).
    file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes a generated strict-serializable list-append history.
    Generate {
        /// Transactions.
        #[arg(long, default_value_t = 10_000)]
        txns: u64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Concurrent processes.
        #[arg(long, default_value_t = 10)]
        processes: u64,
        /// edn or jsonl.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// Generates a history in memory, checks it as it is generated, and
    /// prints the check's time, rate and the process's peak memory.
    Measure {
        /// Transactions.
        #[arg(long, default_value_t = 1_000_000)]
        txns: u64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The model to check against.
        #[arg(long, default_value = "strict-serializable")]
        consistency_model: String,
        /// Check as --stream does, every this many operations (0: once,
        /// at the end).
        #[arg(long, default_value_t = 0)]
        checkpoint: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli
        .log_format
        .unwrap_or_else(ballast_chaos::logging::LogFormat::from_env);
    if let Err(e) = ballast_chaos::logging::init(format, "warn") {
        eprintln!("ballast-check: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Some(Command::Generate {
            txns,
            seed,
            processes,
            format,
        }) => generate(txns, seed, processes, &format),
        Some(Command::Measure {
            txns,
            seed,
            consistency_model,
            checkpoint,
        }) => measure(txns, seed, &consistency_model, checkpoint),
        None => check(&cli.check),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ballast-check: {message}");
            ExitCode::from(2)
        }
    }
}

fn consistency(name: &str) -> Result<ConsistencyModel, String> {
    ConsistencyModel::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
        format!(
            "unknown consistency model {name:?} (one of {})",
            names.join(", ")
        )
    })
}

fn parse_format(name: &str) -> Result<Format, String> {
    match name {
        "edn" => Ok(Format::Edn),
        "jsonl" | "json" => Ok(Format::Jsonl),
        _ => Err(format!("unknown format {name:?} (edn or jsonl)")),
    }
}

fn check(args: &CheckArgs) -> Result<ExitCode, String> {
    let model = Model::from_name(&args.model).ok_or_else(|| {
        format!(
            "unknown model {:?} (list-append or rw-register)",
            args.model
        )
    })?;
    let consistency = consistency(&args.consistency_model)?;
    let format = args.format.as_deref().map(parse_format).transpose()?;
    let Some(path) = &args.file else {
        return Err("no history file given (see --help)".into());
    };
    let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(
            File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        ))
    };
    let reader = HistoryReader::new(input, format, model.read_as());
    let started = Instant::now();
    if args.stream && model != Model::ListAppend {
        return Err("--stream checks list-append histories".into());
    }
    let outcome = if args.stream {
        stream(reader, consistency, args.checkpoint.max(1))
    } else {
        ballast_chaos::check::check_results(model, consistency, reader).map(|r| (r, false))
    };
    let (report, early) = outcome.map_err(|e| match e {
        CheckError::Parse(e) => format!("{}: {e}", path.display()),
        e => format!("{}: {e}", path.display()),
    })?;
    print(&report, args.json)?;
    tracing::info!(
        file = %path.display(),
        model = model.name(),
        consistency = consistency.name(),
        ok = report.ok,
        anomalies = report.counts.values().sum::<u64>(),
        valid = report.valid,
        secs = started.elapsed().as_secs_f64(),
        "checked"
    );
    if early {
        eprintln!("ballast-check: stopped early, at the first checkpoint that found an anomaly");
    }
    eprintln!(
        "ballast-check: checked in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Checks after every `every` operations, and stops at the first invalid
/// checkpoint. A checkpoint re-checks the whole history so far, so it grows
/// with it: the next one also waits until as much time has gone to reading
/// as the last check took, which keeps checking at no more than half the
/// time on a history of any length (a soak's checker keeps up with it).
fn stream(
    reader: impl Iterator<Item = Result<ballast_chaos::check::Op, format::ParseError>>,
    consistency: ConsistencyModel,
    every: u64,
) -> Result<(Report, bool), CheckError> {
    let mut checker = ListAppend::new(consistency);
    let (mut since, mut reading, mut owed) = (0u64, Instant::now(), Duration::ZERO);
    for (n, op) in reader.enumerate() {
        checker.push(op?)?;
        since += 1;
        if since < every || reading.elapsed() < owed {
            continue;
        }
        let started = Instant::now();
        let report = checker.checkpoint();
        (since, owed, reading) = (0, started.elapsed(), Instant::now());
        eprintln!(
            "ballast-check: {} operations read, {} anomalies so far ({} ms to check)",
            n + 1,
            report.counts.values().sum::<u64>(),
            owed.as_millis()
        );
        tracing::debug!(
            operations = n + 1,
            check_ms = owed.as_millis() as u64,
            "checkpoint"
        );
        if !report.valid {
            return Ok((report, true));
        }
    }
    Ok((checker.check(), false))
}

fn print(report: &Report, json: bool) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, report)
            .map_err(|e| e.to_string())
            .and_then(|()| writeln!(out).map_err(|e| e.to_string()))
    } else {
        let text = report.to_string();
        let end = if text.ends_with('\n') { "" } else { "\n" };
        write!(out, "{text}{end}").map_err(|e| e.to_string())
    };
    written.map_err(|e| format!("cannot write the report: {e}"))
}

fn generate(txns: u64, seed: u64, processes: u64, format: &str) -> Result<ExitCode, String> {
    let format = parse_format(format)?;
    let ops = ListAppendGenerator::new(Workload {
        txns,
        seed,
        processes,
        ..Workload::default()
    });
    let mut out = BufWriter::new(std::io::stdout().lock());
    for op in ops {
        format::write_history([&op], format, &mut out).map_err(|e| format!("cannot write: {e}"))?;
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Peak resident memory of this process (Linux `VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn measure(
    txns: u64,
    seed: u64,
    consistency_model: &str,
    checkpoint: u64,
) -> Result<ExitCode, String> {
    let consistency = consistency(consistency_model)?;
    let workload = Workload {
        txns,
        seed,
        ..Workload::default()
    };
    // The generator alone, so its cost can be taken out of the check's.
    let started = Instant::now();
    let ops = ListAppendGenerator::new(workload.clone()).count();
    let generation = started.elapsed();
    let started = Instant::now();
    let report = if checkpoint == 0 {
        let mut checker = ListAppend::new(consistency);
        for op in ListAppendGenerator::new(workload) {
            checker.push(op).map_err(|e| e.to_string())?;
        }
        checker.check()
    } else {
        let ops = ListAppendGenerator::new(workload).map(Ok);
        stream(ops, consistency, checkpoint)
            .map_err(|e| e.to_string())?
            .0
    };
    let total = started.elapsed();
    let check = total.saturating_sub(generation);
    println!(
        "{txns} transactions ({ops} operations), {consistency}: {} anomalies, valid {}",
        report.counts.values().sum::<u64>(),
        report.valid
    );
    println!(
        "check {:.2} s ({:.0} txn/s); generation {:.2} s; graph {} nodes, {} edges; peak RSS {} MiB",
        check.as_secs_f64(),
        txns as f64 / check.as_secs_f64().max(1e-9),
        generation.as_secs_f64(),
        report.stats.get("graph-nodes").copied().unwrap_or(0),
        report.stats.get("graph-edges").copied().unwrap_or(0),
        peak_rss().map_or("?".to_string(), |b| (b >> 20).to_string())
    );
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
