//! `cargo xtask regress`: instruction counts, allocations and peak memory
//! per scenario against a committed baseline, wall time beside them.
//!
//! Each scenario of `benches/src/bin/scenarios/` runs twice under
//! callgrind (`scenarios bare`, the counting allocator off), with a small
//! and a large iteration count; the difference of the two totals divided
//! by the difference of the counts is the instructions per operation, with
//! setup cost cancelled out. Allocations and bytes allocated per operation
//! come the same way from two native runs (`scenarios run`, ballast's
//! `CountingAlloc` on) at fixed counts, and the peak live bytes from the
//! larger of them. These figures do not move with machine load, so they
//! are what we gate on: 10 % worse warns, 20 % worse fails (the change
//! as reported, rounded to 0.1 %: `+20.0 %` fails, `+19.9 %` warns), and
//! any allocation in a scenario whose baseline allocates nothing fails.
//! Peak live bytes are gated at +20 % for the scenarios whose baseline peak
//! is at least [`PEAK_GATED_BYTES`].
//!
//! The baseline records the rustc and valgrind versions it was measured
//! with; under another version a failure is reported as a warning, with
//! the reason. Every comparing run first proves the gate can fail: the
//! hidden `selftest/fixed_work` scenario measured twice must give identical
//! counts, and with 20 % more work it must fail the gate.
//! `--check-determinism` measures the selected scenarios twice and fails
//! when a count moves, except for the scenarios listed in
//! [`KNOWN_NONDETERMINISTIC`] with the reason.
//!
//! Without valgrind `cargo xtask regress` exits 2 (a setup error, see
//! `main`), never 0.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Result, cargo, root, run_step, target_dir};

/// Native time one wall-clock sample aims at.
const WALL_TARGET_NS: f64 = 200e6;
/// A change of at least this (in percent, rounded to 0.1) warns.
const WARN_PERCENT: f64 = 10.0;
/// A change of at least this (in percent, rounded to 0.1) fails.
const FAIL_PERCENT: f64 = 20.0;
/// Iterations of the two native counting runs; fixed, so every run counts
/// the same work whatever the machine's speed.
const ALLOC_ITERATIONS: (u64, u64) = (100, 1_100);
/// Scenarios whose baseline peak live bytes reach this are gated on it.
pub(crate) const PEAK_GATED_BYTES: f64 = 8.0 * 1024.0;
/// The hidden scenario that proves the gate can fail.
const SELFTEST_SCENARIO: &str = "selftest/fixed_work";
/// The environment variable that makes it do more work, and how much.
const SLOWDOWN_ENV: &str = "BALLAST_SCENARIO_SLOWDOWN_PERCENT";
const SELFTEST_SLOWDOWN_PERCENT: u32 = 20;
/// Iterations of the self-check's callgrind runs (multiples of 100, so
/// the slowed scenario does exactly 20 % more operations).
const SELFTEST_ITERATIONS: (u64, u64) = (200, 2_200);

/// The function of the `scenarios` binary that runs a scenario: callgrind
/// collects from its entry to its exit, so two identical runs count the
/// same.
const MEASURED_RUN: &str = "*callgrind_measured_run*";

/// Scenarios counted on their own thread only (callgrind collects from the
/// entry of the function matching the pattern): `coarse::tick` starts a
/// ticker thread whose instructions grow with wall time, not with work.
const COLLECT_ONLY: &[(&str, &str)] = &[("clock/coarse_tick_read/ballast", "*coarse_tick_read*")];

/// Scenarios whose counts move between two identical runs for a reason
/// the scenario cannot remove, and that reason; `--check-determinism`
/// reports them without failing.
pub(crate) const KNOWN_NONDETERMINISTIC: &[(&str, &str)] = &[
    (
        "resilience/breaker_open_rejection/ballast",
        "the open breaker reads the real clock to decide when to half-open; a clock read's instruction count varies with the time it returns (moved 0.006 %)",
    ),
    (
        "resilience/breaker_closed_call/failsafe",
        "failsafe (the peer crate) reads Instant::now on every call; a clock read's instruction count varies with the time it returns (moved 0.0006 %)",
    ),
];

/// Options of `cargo xtask regress`.
#[derive(clap::Args)]
pub(crate) struct RegressArgs {
    /// Only scenarios whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Write the measured figures as the new baseline instead of comparing
    /// (with --filter, only the matching rows change).
    #[arg(long)]
    update_baseline: bool,
    /// Measure every selected scenario twice and fail when a count moves
    /// (instead of comparing with the baseline).
    #[arg(long, conflicts_with = "update_baseline")]
    check_determinism: bool,
}

/// The figures of one scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Figures {
    /// Instructions per operation (callgrind); `None` without valgrind.
    instructions: Option<f64>,
    /// Allocations per operation.
    allocations: Option<f64>,
    /// Bytes allocated per operation.
    bytes: Option<f64>,
    /// Peak live bytes of the larger counting run, above its start.
    peak_bytes: Option<f64>,
}

#[derive(Debug, Clone)]
struct Measured {
    name: String,
    figures: Figures,
    wall_ns: f64,
}

/// The committed baseline: the versions it was measured with and one row
/// of figures per scenario.
#[derive(Debug, Clone, Default, PartialEq)]
struct Baseline {
    toolchain: Toolchain,
    rows: Vec<(String, Figures)>,
}

/// The rustc and valgrind versions figures were measured with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Toolchain {
    rustc: Option<String>,
    valgrind: Option<String>,
}

impl Toolchain {
    /// The versions on this machine (`$RUSTC` or rustc, and valgrind).
    fn current() -> Self {
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        Self {
            rustc: version_of(&rustc),
            valgrind: version_of("valgrind"),
        }
    }

    /// Why figures measured under `self` may differ from `now`'s, if they may.
    fn differs(&self, now: &Self) -> Option<String> {
        let mut why = Vec::new();
        for (what, base, cur) in [
            ("rustc", &self.rustc, &now.rustc),
            ("valgrind", &self.valgrind, &now.valgrind),
        ] {
            if base != cur {
                why.push(format!(
                    "{what} is {} but the baseline was measured with {}",
                    cur.as_deref().unwrap_or("unknown"),
                    base.as_deref().unwrap_or("an unrecorded version"),
                ));
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn baseline_path() -> PathBuf {
    root().join("benches").join("baseline.csv")
}

fn reports_dir() -> PathBuf {
    target_dir().join("ballast-reports")
}

fn scenarios_bin() -> PathBuf {
    target_dir().join("release").join("scenarios")
}

pub(crate) fn has_valgrind() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One native run: `scenarios MODE NAME N` with `env`; the numbers it
/// printed after the name and the count (nanos, then with `run` the
/// allocations, bytes and peak).
fn native(mode: &str, name: &str, iterations: u64, env: &[(&str, String)]) -> Result<Vec<f64>> {
    let out = Command::new(scenarios_bin())
        .args([mode, name, &iterations.to_string()])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|e| format!("scenarios: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<f64> = text
        .split_whitespace()
        .skip(2)
        .map_while(|n| n.parse::<f64>().ok())
        .collect();
    let wanted = if mode == "run" { 4 } else { 1 };
    if !out.status.success() || numbers.len() < wanted {
        return Err(format!(
            "scenario {name} ({mode} {iterations}) failed or printed no figures: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(numbers)
}

/// Nanoseconds per operation from one native run of `iterations`.
fn native_ns(name: &str, iterations: u64) -> Result<f64> {
    Ok(native("bare", name, iterations, &[])?[0] / iterations as f64)
}

/// Allocations and bytes per operation, and the peak, from the two
/// counting runs at [`ALLOC_ITERATIONS`].
fn alloc_figures(name: &str, env: &[(&str, String)]) -> Result<(f64, f64, f64)> {
    let (small, large) = ALLOC_ITERATIONS;
    let lo = native("run", name, small, env)?;
    let hi = native("run", name, large, env)?;
    let per_op = |i: usize| ((hi[i] - lo[i]) / (large - small) as f64).max(0.0);
    Ok((per_op(1), per_op(2), hi[3]))
}

/// Iterations that take about `target_ns` at `ns_per_op`, within bounds.
fn iterations_for(target_ns: f64, ns_per_op: f64, min: u64, max: u64) -> u64 {
    ((target_ns / ns_per_op.max(0.1)) as u64).clamp(min, max)
}

/// Total instructions of one run under callgrind.
fn callgrind_total(name: &str, iterations: u64, env: &[(&str, String)]) -> Result<f64> {
    let mut valgrind = Command::new("valgrind");
    valgrind.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"]);
    // Count the scenario's run only: start-up and the printed wall time
    // (whose digits differ between runs) would move the last digits.
    let pattern = COLLECT_ONLY
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(MEASURED_RUN, |(_, p)| p);
    valgrind.args([
        "--collect-atstart=no",
        &format!("--toggle-collect={pattern}"),
    ]);
    let out = valgrind
        .arg(scenarios_bin())
        .args(["bare", name, &iterations.to_string()])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no instruction total from callgrind for {name}: {stderr}"))
}

/// Instructions per operation from callgrind runs at `small` and `large`.
fn instructions(name: &str, (small, large): (u64, u64), env: &[(&str, String)]) -> Result<f64> {
    let lo = callgrind_total(name, small, env)?;
    let hi = callgrind_total(name, large, env)?;
    Ok((hi - lo) / (large - small) as f64)
}

/// Iterations of the small callgrind run of every scenario.
const CALLGRIND_SMALL: u64 = 100;
/// Instructions the large callgrind run aims at.
const CALLGRIND_TARGET_INSTRUCTIONS: f64 = 1e8;

/// Instructions per operation with iteration counts that depend only on
/// counted instructions: the small run's total (setup included) picks the
/// large count, so two runs use the same counts. (Counts derived from a
/// wall-time estimate differed from run to run and moved the last digits.)
fn instructions_fixed_counts(name: &str) -> Result<f64> {
    let lo = callgrind_total(name, CALLGRIND_SMALL, &[])?;
    let per_iteration = (lo / CALLGRIND_SMALL as f64).max(1.0);
    let large = ((CALLGRIND_TARGET_INSTRUCTIONS / per_iteration) as u64).clamp(1_100, 22_000);
    let hi = callgrind_total(name, large, &[])?;
    Ok((hi - lo) / (large - CALLGRIND_SMALL) as f64)
}

/// Median wall nanoseconds per operation over five native runs.
fn wall_ns(name: &str, iterations: u64) -> Result<f64> {
    let mut samples = (0..5)
        .map(|_| native_ns(name, iterations))
        .collect::<Result<Vec<_>>>()?;
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// The scenarios `scenarios list` names that match the filter.
fn scenario_names(filter: Option<&str>) -> Result<Vec<String>> {
    let list = Command::new(scenarios_bin())
        .arg("list")
        .output()
        .map_err(|e| format!("scenarios list: {e}"))?;
    Ok(String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|n| filter.is_none_or(|f| n.contains(f)))
        .map(String::from)
        .collect())
}

fn measure_one(name: &str, valgrind: bool, wall: bool) -> Result<Measured> {
    let estimate = native_ns(name, 1_000)?;
    let instructions = if valgrind {
        Some(instructions_fixed_counts(name)?)
    } else {
        None
    };
    let (allocations, bytes, peak_bytes) = alloc_figures(name, &[])?;
    let wall_ns = if wall {
        wall_ns(
            name,
            iterations_for(WALL_TARGET_NS, estimate, 1_000, 2_000_000),
        )?
    } else {
        estimate
    };
    eprintln!(
        "xtask: {name}: {} instructions/op, {allocations:.3} allocations/op, {bytes:.1} bytes/op, peak {peak_bytes:.0} bytes, {wall_ns:.2} ns/op",
        instructions.map_or("-".into(), |i| format!("{i:.0}")),
    );
    Ok(Measured {
        name: name.to_string(),
        figures: Figures {
            instructions,
            allocations: Some(allocations),
            bytes: Some(bytes),
            peak_bytes: Some(peak_bytes),
        },
        wall_ns,
    })
}

fn measure_all(args: &RegressArgs, valgrind: bool, wall: bool) -> Result<Vec<Measured>> {
    scenario_names(args.filter.as_deref())?
        .iter()
        .map(|name| measure_one(name, valgrind, wall))
        .collect()
}

/// Every scenario whose counts differ between two runs, with what moved.
fn moved_between(first: &[Measured], second: &[Measured]) -> Vec<(String, String)> {
    let mut moved = Vec::new();
    for (a, b) in first.iter().zip(second) {
        let (fa, fb) = (a.figures, b.figures);
        let mut what = Vec::new();
        for (figure, x, y) in [
            ("instructions", fa.instructions, fb.instructions),
            ("allocations", fa.allocations, fb.allocations),
            ("bytes allocated", fa.bytes, fb.bytes),
            ("peak live bytes", fa.peak_bytes, fb.peak_bytes),
        ] {
            if x != y {
                let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
                let pct = if x == 0.0 { 0.0 } else { (y - x) * 100.0 / x };
                what.push(format!("{figure} {x:.4} then {y:.4} ({pct:+.4} %)"));
            }
        }
        if !what.is_empty() {
            moved.push((a.name.clone(), what.join("; ")));
        }
    }
    moved
}

/// `--check-determinism`: two runs of the selected scenarios must count
/// the same, but for [`KNOWN_NONDETERMINISTIC`].
fn check_determinism(args: &RegressArgs) -> Result {
    let first = measure_all(args, true, false)?;
    let second = measure_all(args, true, false)?;
    let mut unexplained = 0;
    for (name, what) in moved_between(&first, &second) {
        match KNOWN_NONDETERMINISTIC.iter().find(|(n, _)| *n == name) {
            Some((_, why)) => eprintln!("xtask: determinism: {name} moved (known: {why}): {what}"),
            None => {
                unexplained += 1;
                eprintln!("xtask: determinism: {name} MOVED: {what}");
            }
        }
    }
    eprintln!(
        "xtask: determinism: {} scenarios measured twice, {unexplained} moved unexplained",
        first.len()
    );
    if unexplained > 0 {
        return Err(format!(
            "{unexplained} scenario(s) counted differently in two identical runs"
        ));
    }
    Ok(())
}

/// The header line naming the baseline's columns.
const COLUMNS: &str =
    "# scenario,instructions_per_op,allocations_per_op,bytes_allocated_per_op,peak_live_bytes";

/// Parses the baseline. Lines `# rustc: …` and `# valgrind: …` name the
/// versions, other `#` lines are comments; a row is `scenario,instructions`
/// optionally followed by allocations, bytes and peak (the older two-column
/// rows still parse, their other figures unknown). Bad rows are skipped.
fn parse_baseline(text: &str) -> Baseline {
    let mut baseline = Baseline::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(v) = comment.strip_prefix("rustc:") {
                baseline.toolchain.rustc = Some(v.trim().to_string());
            } else if let Some(v) = comment.strip_prefix("valgrind:") {
                baseline.toolchain.valgrind = Some(v.trim().to_string());
            }
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let Some(name) = fields.next() else { continue };
        let mut numbers = fields.map(|f| f.parse::<f64>().ok());
        let Some(Some(instructions)) = numbers.next() else {
            continue;
        };
        let mut next = || numbers.next().flatten();
        let figures = Figures {
            instructions: Some(instructions),
            allocations: next(),
            bytes: next(),
            peak_bytes: next(),
        };
        baseline.rows.push((name.to_string(), figures));
    }
    baseline
}

fn read_baseline(path: &Path) -> Baseline {
    parse_baseline(&std::fs::read_to_string(path).unwrap_or_default())
}

fn render_baseline(baseline: &Baseline) -> String {
    let mut text = String::from(
        "# ballast regress baseline: cargo xtask regress --update-baseline [--filter NAME]\n",
    );
    let t = &baseline.toolchain;
    let _ = writeln!(text, "# rustc: {}", t.rustc.as_deref().unwrap_or("unknown"));
    let _ = writeln!(
        text,
        "# valgrind: {}",
        t.valgrind.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(text, "{COLUMNS}");
    let opt = |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
    for (name, f) in &baseline.rows {
        let _ = writeln!(
            text,
            "{name},{},{},{},{}",
            opt(f.instructions, 1),
            opt(f.allocations, 4),
            opt(f.bytes, 1),
            opt(f.peak_bytes, 0),
        );
    }
    text
}

/// Writes the measured figures into the baseline, keeping the rows of
/// scenarios not measured this time (a `--filter` run updates only its
/// own), and records this machine's rustc and valgrind versions.
fn write_baseline(measured: &[Measured]) -> Result {
    let mut baseline = read_baseline(&baseline_path());
    for m in measured {
        if m.figures.instructions.is_none() {
            return Err("cannot write a baseline without valgrind".into());
        }
        match baseline.rows.iter_mut().find(|(n, _)| *n == m.name) {
            Some(row) => row.1 = m.figures,
            None => baseline.rows.push((m.name.clone(), m.figures)),
        }
    }
    baseline.toolchain = Toolchain::current();
    std::fs::write(baseline_path(), render_baseline(&baseline))
        .map_err(|e| format!("write baseline: {e}"))
}

/// How one figure compares with its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Warn,
    Fail,
}

/// The change from `base` to `now` in percent, rounded to 0.1 % as the
/// report prints it: the gate judges what it shows.
fn change_percent(now: f64, base: f64) -> f64 {
    ((now / base - 1.0) * 1000.0).round() / 10.0
}

/// Judges `now` against `base` by its change: +10.0 % warns, +20.0 % fails.
fn by_ratio(what: &str, now: f64, base: f64) -> (Level, Option<String>) {
    let change = change_percent(now, base);
    let text = format!("{what} {change:+.1} %");
    if change >= FAIL_PERCENT {
        (Level::Fail, Some(text))
    } else if change >= WARN_PERCENT {
        (Level::Warn, Some(text))
    } else {
        (Level::Ok, None)
    }
}

/// Every gated figure of one scenario: the worst level and what breached.
fn judge(now: &Figures, base: &Figures) -> (Level, Vec<String>) {
    let mut verdicts = Vec::new();
    if let (Some(n), Some(b)) = (now.instructions, base.instructions)
        && b > 0.0
    {
        verdicts.push(by_ratio("instructions", n, b));
    }
    match (now.allocations, base.allocations) {
        (Some(n), Some(b)) if b == 0.0 && n > 0.0 => verdicts.push((
            Level::Fail,
            Some(format!(
                "allocates {n:.3}/op where the baseline allocates nothing"
            )),
        )),
        (Some(n), Some(b)) if b > 0.0 => verdicts.push(by_ratio("allocations", n, b)),
        _ => {}
    }
    if let (Some(n), Some(b)) = (now.bytes, base.bytes)
        && b > 0.0
    {
        verdicts.push(by_ratio("bytes allocated", n, b));
    }
    if let (Some(n), Some(b)) = (now.peak_bytes, base.peak_bytes)
        && b >= PEAK_GATED_BYTES
    {
        verdicts.push(by_ratio("peak live bytes", n, b));
    }
    let level = verdicts.iter().map(|v| v.0).max().unwrap_or(Level::Ok);
    let notes = verdicts.into_iter().filter_map(|v| v.1).collect();
    (level, notes)
}

/// The result of comparing a run with the baseline.
#[derive(Debug, Default)]
struct Comparison {
    /// The Markdown report.
    report: String,
    /// Scenarios that fail the gate.
    failures: usize,
    /// Scenarios that would fail but were downgraded to warnings.
    downgraded: usize,
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Builds the Markdown report. With `toolchain_differs` (the reason) a
/// failure counts as a warning.
fn compare(
    measured: &[Measured],
    baseline: &Baseline,
    toolchain_differs: Option<&str>,
) -> Comparison {
    let mut c = Comparison {
        report: String::from(
            "# cargo xtask regress\n\n| scenario | instr/op | base | allocs/op | base | bytes/op | base | peak bytes | base | ns/op (wall, noisy) | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        ),
        ..Comparison::default()
    };
    for m in measured {
        let base = baseline
            .rows
            .iter()
            .find(|(n, _)| *n == m.name)
            .map(|r| r.1);
        let verdict = match (m.figures.instructions, base) {
            (None, _) => "not gated (no valgrind)".to_string(),
            (Some(_), None) => "new: no baseline".to_string(),
            (Some(_), Some(base)) => {
                let (level, notes) = judge(&m.figures, &base);
                let notes = notes.join("; ");
                match (level, toolchain_differs) {
                    (Level::Fail, Some(_)) => {
                        c.downgraded += 1;
                        format!("warn (would FAIL, toolchain differs): {notes}")
                    }
                    (Level::Fail, None) => {
                        c.failures += 1;
                        format!("FAIL: {notes}")
                    }
                    (Level::Warn, _) => format!("warn: {notes}"),
                    (Level::Ok, _) => "ok".to_string(),
                }
            }
        };
        let (f, b) = (m.figures, base.unwrap_or_default());
        let _ = writeln!(
            c.report,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {verdict} |",
            m.name,
            cell(f.instructions, 1),
            cell(b.instructions, 1),
            cell(f.allocations, 3),
            cell(b.allocations, 3),
            cell(f.bytes, 1),
            cell(b.bytes, 1),
            cell(f.peak_bytes, 0),
            cell(b.peak_bytes, 0),
            m.wall_ns,
        );
    }
    if let Some(why) = toolchain_differs {
        let _ = writeln!(
            c.report,
            "\nFailures are reported as warnings: {why}. Re-bless the baseline on this toolchain (`cargo xtask regress --update-baseline`) to gate again."
        );
    }
    c
}

/// The self-check's figures of `selftest/fixed_work` with `slowdown` %.
fn selftest_figures(slowdown: u32) -> Result<Figures> {
    let env = [(SLOWDOWN_ENV, slowdown.to_string())];
    let instructions = instructions(SELFTEST_SCENARIO, SELFTEST_ITERATIONS, &env)?;
    let (allocations, bytes, peak) = alloc_figures(SELFTEST_SCENARIO, &env)?;
    Ok(Figures {
        instructions: Some(instructions),
        allocations: Some(allocations),
        bytes: Some(bytes),
        peak_bytes: Some(peak),
    })
}

/// Proves the gate can fail: two runs of the self-test scenario give
/// identical counts, and the same scenario doing 20 % more work fails.
fn gate_self_check() -> Result {
    let first = selftest_figures(0)?;
    let second = selftest_figures(0)?;
    if first != second {
        return Err(format!(
            "gate self-check: two runs of {SELFTEST_SCENARIO} counted differently ({first:?} vs {second:?}); the gate is not deterministic"
        ));
    }
    let slowed = selftest_figures(SELFTEST_SLOWDOWN_PERCENT)?;
    let (level, notes) = judge(&slowed, &first);
    if level != Level::Fail {
        return Err(format!(
            "gate self-check: {SELFTEST_SCENARIO} with {SELFTEST_SLOWDOWN_PERCENT} % more work did not fail the gate ({slowed:?} against {first:?})"
        ));
    }
    eprintln!(
        "xtask: gate self-check: two runs identical ({:.1} instructions/op), +{SELFTEST_SLOWDOWN_PERCENT} % work fails: {}",
        first.instructions.unwrap_or_default(),
        notes.join("; ")
    );
    Ok(())
}

/// The message (and exit code 2, a setup error) of a run without valgrind:
/// the gate counts instructions, so without valgrind it checks nothing.
pub(crate) const NO_VALGRIND: &str = "regress: valgrind not found on PATH: the gate counts instructions with callgrind and cannot check anything without it; install valgrind (apt-get install valgrind) and run again";

pub(crate) fn run(args: &RegressArgs) -> Result {
    let started = std::time::Instant::now();
    run_step(
        "build scenarios",
        cargo().args([
            "build",
            "--release",
            "-p",
            "ballast-benches",
            "--bin",
            "scenarios",
        ]),
    )?;
    if args.check_determinism {
        return check_determinism(args);
    }
    let measured = measure_all(args, true, true)?;
    if args.update_baseline {
        return write_baseline(&measured);
    }
    gate_self_check()?;
    let baseline = read_baseline(&baseline_path());
    let now = Toolchain::current();
    let differs = baseline.toolchain.differs(&now);
    let mut c = compare(&measured, &baseline, differs.as_deref());
    c.report
        .push_str(&crate::criterion::section(&target_dir().join("criterion")));
    write_reports(&measured, &c.report)?;
    print!("{}", c.report);
    eprintln!(
        "xtask: regress gate took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(why) = &differs {
        eprintln!(
            "xtask: {} failure(s) reported as warnings because {why}",
            c.downgraded
        );
    }
    if c.failures > 0 {
        return Err(format!(
            "{} scenario(s) regressed by 20 % or more (or allocate where the baseline does not)",
            c.failures
        ));
    }
    Ok(())
}

fn write_reports(measured: &[Measured], report: &str) -> Result {
    let dir = reports_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    std::fs::write(dir.join("regress.md"), report).map_err(|e| format!("write report: {e}"))?;
    let history = dir.join("regress-history.csv");
    let header = "unix_time,git_rev,scenario,instructions_per_op,wall_ns_per_op,allocations_per_op,bytes_allocated_per_op,peak_live_bytes\n";
    let mut text = std::fs::read_to_string(&history)
        .ok()
        .filter(|t| t.starts_with(header))
        .unwrap_or_else(|| header.into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    for m in measured {
        let f = m.figures;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
        let _ = writeln!(
            text,
            "{now},{rev},{},{},{:.3},{},{},{}",
            m.name,
            opt(f.instructions),
            m.wall_ns,
            opt(f.allocations),
            opt(f.bytes),
            opt(f.peak_bytes),
        );
    }
    std::fs::write(&history, text).map_err(|e| format!("write history: {e}"))?;
    eprintln!("xtask: report in {}", dir.join("regress.md").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(instructions: f64, allocations: f64, bytes: f64, peak: f64) -> Figures {
        Figures {
            instructions: Some(instructions),
            allocations: Some(allocations),
            bytes: Some(bytes),
            peak_bytes: Some(peak),
        }
    }

    fn m(name: &str, f: Figures) -> Measured {
        Measured {
            name: name.into(),
            figures: f,
            wall_ns: 1.0,
        }
    }

    fn baseline(rows: &[(&str, Figures)]) -> Baseline {
        Baseline {
            toolchain: Toolchain::default(),
            rows: rows.iter().map(|(n, f)| (n.to_string(), *f)).collect(),
        }
    }

    #[test]
    fn twenty_percent_more_instructions_fails_and_ten_percent_warns() {
        let base = baseline(&[
            ("a", figures(100.0, 0.0, 0.0, 0.0)),
            ("b", figures(100.0, 0.0, 0.0, 0.0)),
        ]);
        let now = [
            m("a", figures(125.0, 0.0, 0.0, 0.0)),
            m("b", figures(115.0, 0.0, 0.0, 0.0)),
        ];
        let c = compare(&now, &base, None);
        assert_eq!(c.failures, 1);
        assert!(
            c.report.contains("FAIL: instructions +25.0 %"),
            "{}",
            c.report
        );
        assert!(
            c.report.contains("warn: instructions +15.0 %"),
            "{}",
            c.report
        );
    }

    #[test]
    fn exactly_twenty_percent_fails_as_printed_and_just_under_warns() {
        let base = figures(1_663_294.0, 0.0, 0.0, 0.0);
        let twenty = figures(1_663_294.0 * 1.2, 0.0, 0.0, 0.0);
        assert_eq!(judge(&twenty, &base).0, Level::Fail);
        // 19.96 % prints as +20.0 % and fails: the gate judges what it shows.
        let shown_twenty = figures(119.96, 0.0, 0.0, 0.0);
        let (level, notes) = judge(&shown_twenty, &figures(100.0, 0.0, 0.0, 0.0));
        assert_eq!(
            (level, notes[0].as_str()),
            (Level::Fail, "instructions +20.0 %")
        );
        let under = figures(119.94, 0.0, 0.0, 0.0);
        let (level, notes) = judge(&under, &figures(100.0, 0.0, 0.0, 0.0));
        assert_eq!(
            (level, notes[0].as_str()),
            (Level::Warn, "instructions +19.9 %")
        );
        let ten = figures(110.0, 0.0, 0.0, 0.0);
        assert_eq!(judge(&ten, &figures(100.0, 0.0, 0.0, 0.0)).0, Level::Warn);
        // The self-check's slowed run: 20 % more allocations fails alone.
        let slowed = figures(4709.0 * 1.199, 1.2, 76.8, 0.0);
        let (level, notes) = judge(&slowed, &figures(4709.0, 1.0, 64.0, 0.0));
        assert_eq!(level, Level::Fail, "{notes:?}");
        assert!(
            notes.contains(&"allocations +20.0 %".to_string()),
            "{notes:?}"
        );
    }

    #[test]
    fn a_count_moving_between_two_runs_is_named_with_its_figure() {
        let first = [
            m("same", figures(100.0, 1.0, 64.0, 10.0)),
            m("moves", figures(1000.0, 1.0, 64.0, 10.0)),
        ];
        let second = [
            m("same", figures(100.0, 1.0, 64.0, 10.0)),
            m("moves", figures(1000.07, 1.0, 64.0, 10.0)),
        ];
        let moved = moved_between(&first, &second);
        assert_eq!(moved.len(), 1, "{moved:?}");
        assert_eq!(moved[0].0, "moves");
        assert!(
            moved[0]
                .1
                .starts_with("instructions 1000.0000 then 1000.0700"),
            "{moved:?}"
        );
    }

    #[test]
    fn any_allocation_where_the_baseline_has_none_fails() {
        let base = baseline(&[("a", figures(100.0, 0.0, 0.0, 0.0))]);
        let c = compare(&[m("a", figures(100.0, 0.001, 1.0, 0.0))], &base, None);
        assert_eq!(c.failures, 1);
        assert!(c.report.contains("where the baseline allocates nothing"));
    }

    #[test]
    fn allocations_bytes_and_big_peaks_are_gated_by_ratio() {
        let base = baseline(&[
            ("allocs", figures(100.0, 10.0, 1000.0, 0.0)),
            ("bytes", figures(100.0, 10.0, 1000.0, 0.0)),
            ("peak", figures(100.0, 10.0, 1000.0, 100_000.0)),
            ("small_peak", figures(100.0, 10.0, 1000.0, 1_000.0)),
        ]);
        let now = [
            m("allocs", figures(100.0, 12.5, 1000.0, 0.0)),
            m("bytes", figures(100.0, 10.0, 1250.0, 0.0)),
            m("peak", figures(100.0, 10.0, 1000.0, 125_000.0)),
            m("small_peak", figures(100.0, 10.0, 1000.0, 2_000.0)),
        ];
        let c = compare(&now, &base, None);
        assert_eq!(c.failures, 3, "{}", c.report);
        assert!(c.report.contains("| small_peak |") && c.report.contains("| ok |"));
    }

    #[test]
    fn another_toolchain_turns_failures_into_warnings_and_says_why() {
        let base = baseline(&[("a", figures(100.0, 0.0, 0.0, 0.0))]);
        let old = Toolchain {
            rustc: Some("rustc 1.94.0".into()),
            valgrind: Some("valgrind-3.19.0".into()),
        };
        let now = Toolchain {
            rustc: Some("rustc 1.95.0".into()),
            valgrind: Some("valgrind-3.19.0".into()),
        };
        let why = old.differs(&now).expect("the versions differ");
        assert!(
            why.contains("rustc is rustc 1.95.0 but the baseline was measured with rustc 1.94.0")
        );
        let c = compare(&[m("a", figures(200.0, 0.0, 0.0, 0.0))], &base, Some(&why));
        assert_eq!((c.failures, c.downgraded), (0, 1));
        assert!(c.report.contains("would FAIL, toolchain differs"));
        assert!(c.report.contains(&why));
        assert_eq!(now.differs(&now.clone()), None);
    }

    #[test]
    fn baseline_round_trips_and_old_two_column_rows_still_parse() {
        let text = "# header\n# rustc: rustc 1.95.0\n# valgrind: valgrind-3.19.0\nx/y,12.5\n\nbad line\nz,10.0,0.0000,0.0,4096\n";
        let parsed = parse_baseline(text);
        assert_eq!(parsed.toolchain.rustc.as_deref(), Some("rustc 1.95.0"));
        assert_eq!(
            parsed.toolchain.valgrind.as_deref(),
            Some("valgrind-3.19.0")
        );
        let old = parsed.rows[0].1;
        assert_eq!(
            (parsed.rows[0].0.as_str(), old.instructions, old.allocations),
            ("x/y", Some(12.5), None)
        );
        assert_eq!(parsed.rows[1].1, figures(10.0, 0.0, 0.0, 4096.0));
        assert_eq!(parse_baseline(&render_baseline(&parsed)), parsed);
    }

    #[test]
    fn the_committed_baseline_parses_with_every_column() {
        let baseline = read_baseline(&baseline_path());
        assert!(baseline.toolchain.rustc.is_some() && baseline.toolchain.valgrind.is_some());
        for (name, f) in &baseline.rows {
            assert!(
                f.instructions.is_some()
                    && f.allocations.is_some()
                    && f.bytes.is_some()
                    && f.peak_bytes.is_some(),
                "{name} lacks a figure"
            );
        }
        assert!(baseline.rows.len() >= 38);
    }
}
