//! `cargo xtask regress`: instruction counts per scenario against a
//! committed baseline, wall time beside them.
//!
//! Each scenario of `benches/src/bin/scenarios.rs` runs twice under
//! callgrind, with a small and a large iteration count; the difference of
//! the two totals divided by the difference of the counts is the
//! instructions per operation, with setup cost cancelled out. Instruction
//! counts do not move with machine load, so they are what we gate on:
//! 10 % worse warns, 20 % worse fails. Without valgrind `cargo xtask
//! regress` exits 2 (a setup error, see `main`), never 0.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Result, cargo, root, run_step, target_dir};

/// Native time one callgrind run aims at (valgrind runs ~50× slower).
const CALLGRIND_TARGET_NS: f64 = 40e6;
/// Native time one wall-clock sample aims at.
const WALL_TARGET_NS: f64 = 200e6;
const WARN_RATIO: f64 = 1.10;
const FAIL_RATIO: f64 = 1.20;

/// Options of `cargo xtask regress`.
#[derive(clap::Args)]
pub(crate) struct RegressArgs {
    /// Only scenarios whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Write the measured counts as the new baseline instead of comparing.
    #[arg(long)]
    update_baseline: bool,
}

struct Measured {
    name: String,
    instructions: Option<f64>,
    wall_ns: f64,
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

/// Nanoseconds per operation from one native run of `iterations`.
fn native_ns(name: &str, iterations: u64) -> Result<f64> {
    let out = Command::new(scenarios_bin())
        .args(["run", name, &iterations.to_string()])
        .output()
        .map_err(|e| format!("scenarios: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(2)
        .and_then(|n| n.parse::<f64>().ok())
        .map(|nanos| nanos / iterations as f64)
        .ok_or_else(|| format!("scenario {name} printed no timing: {text}"))
}

/// Iterations that take about `target_ns` at `ns_per_op`, within bounds.
fn iterations_for(target_ns: f64, ns_per_op: f64, min: u64, max: u64) -> u64 {
    ((target_ns / ns_per_op.max(0.1)) as u64).clamp(min, max)
}

/// Total instructions of one run under callgrind.
fn callgrind_total(name: &str, iterations: u64) -> Result<f64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(scenarios_bin())
        .args(["run", name, &iterations.to_string()])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no instruction total from callgrind for {name}: {stderr}"))
}

/// Median wall nanoseconds per operation over five native runs.
fn wall_ns(name: &str, iterations: u64) -> Result<f64> {
    let mut samples = (0..5)
        .map(|_| native_ns(name, iterations))
        .collect::<Result<Vec<_>>>()?;
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

fn read_baseline(path: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, n) = l.split_once(',')?;
            Some((name.trim().to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

fn measure_all(args: &RegressArgs, valgrind: bool) -> Result<Vec<Measured>> {
    let list = Command::new(scenarios_bin())
        .arg("list")
        .output()
        .map_err(|e| format!("scenarios list: {e}"))?;
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|n| args.filter.as_deref().is_none_or(|f| n.contains(f)))
        .map(String::from)
        .collect();
    let mut measured = Vec::new();
    for name in names {
        let estimate = native_ns(&name, 1_000)?;
        let instructions = if valgrind {
            let large = iterations_for(CALLGRIND_TARGET_NS, estimate, 1_100, 22_000);
            let small = large / 11;
            let (lo, hi) = (
                callgrind_total(&name, small)?,
                callgrind_total(&name, large)?,
            );
            Some((hi - lo) / (large - small) as f64)
        } else {
            None
        };
        let wall_ns = wall_ns(
            &name,
            iterations_for(WALL_TARGET_NS, estimate, 1_000, 2_000_000),
        )?;
        match instructions {
            Some(i) => eprintln!("xtask: {name}: {i:.0} instructions/op, {wall_ns:.2} ns/op"),
            None => eprintln!("xtask: {name}: {wall_ns:.2} ns/op (no valgrind, no count)"),
        }
        measured.push(Measured {
            name,
            instructions,
            wall_ns,
        });
    }
    Ok(measured)
}

/// The message (and exit code 2, a setup error) of a run without valgrind:
/// the gate counts instructions, so without valgrind it checks nothing.
pub(crate) const NO_VALGRIND: &str = "regress: valgrind not found on PATH: the gate counts instructions with callgrind and cannot check anything without it; install valgrind (apt-get install valgrind) and run again";

pub(crate) fn run(args: &RegressArgs) -> Result {
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
    let measured = measure_all(args, true)?;
    if args.update_baseline {
        return write_baseline(&measured);
    }
    let baseline = read_baseline(&baseline_path());
    let (report, failures) = compare(&measured, &baseline);
    write_reports(&measured, &report)?;
    print!("{report}");
    if failures > 0 {
        return Err(format!(
            "{failures} scenario(s) regressed by more than 20 %"
        ));
    }
    Ok(())
}

/// Writes the measured counts into the baseline, keeping the entries of
/// scenarios not measured this time (a `--filter` run updates only its own).
fn write_baseline(measured: &[Measured]) -> Result {
    let mut entries = read_baseline(&baseline_path());
    for m in measured {
        let Some(i) = m.instructions else {
            return Err("cannot write a baseline without valgrind".into());
        };
        match entries.iter_mut().find(|(n, _)| *n == m.name) {
            Some(entry) => entry.1 = i,
            None => entries.push((m.name.clone(), i)),
        }
    }
    let mut text = String::from(
        "# scenario,instructions per operation (callgrind; cargo xtask regress --update-baseline)\n",
    );
    for (name, i) in entries {
        let _ = writeln!(text, "{name},{i:.1}");
    }
    std::fs::write(baseline_path(), text).map_err(|e| format!("write baseline: {e}"))
}

/// Builds the Markdown report; returns it with the number of failures.
fn compare(measured: &[Measured], baseline: &[(String, f64)]) -> (String, usize) {
    let mut failures = 0;
    let mut out = String::from(
        "# cargo xtask regress\n\n| scenario | instr/op | baseline | change | ns/op (wall, noisy) | verdict |\n|---|---:|---:|---:|---:|---|\n",
    );
    for m in measured {
        let base = baseline.iter().find(|(n, _)| *n == m.name).map(|(_, b)| *b);
        let (change, verdict) = match (m.instructions, base) {
            (Some(now), Some(base)) if base > 0.0 => {
                let ratio = now / base;
                let verdict = if ratio > FAIL_RATIO {
                    failures += 1;
                    "FAIL (> +20 %)"
                } else if ratio > WARN_RATIO {
                    "warn (> +10 %)"
                } else {
                    "ok"
                };
                (format!("{:+.1} %", (ratio - 1.0) * 100.0), verdict)
            }
            (Some(_), _) => ("new".to_string(), "no baseline"),
            (None, _) => ("-".to_string(), "not gated (no valgrind)"),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {change} | {:.2} | {verdict} |",
            m.name,
            m.instructions.map_or("-".into(), |i| format!("{i:.1}")),
            base.map_or("-".into(), |b| format!("{b:.1}")),
            m.wall_ns,
        );
    }
    (out, failures)
}

fn write_reports(measured: &[Measured], report: &str) -> Result {
    let dir = reports_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    std::fs::write(dir.join("regress.md"), report).map_err(|e| format!("write report: {e}"))?;
    let history = dir.join("regress-history.csv");
    let mut text = std::fs::read_to_string(&history).unwrap_or_else(|_| {
        "unix_time,git_rev,scenario,instructions_per_op,wall_ns_per_op\n".into()
    });
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
        let instr = m.instructions.map_or(String::new(), |i| format!("{i:.1}"));
        let _ = writeln!(text, "{now},{rev},{},{instr},{:.3}", m.name, m.wall_ns);
    }
    std::fs::write(&history, text).map_err(|e| format!("write history: {e}"))?;
    eprintln!("xtask: report in {}", dir.join("regress.md").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, instructions: f64) -> Measured {
        Measured {
            name: name.into(),
            instructions: Some(instructions),
            wall_ns: 1.0,
        }
    }

    #[test]
    fn twenty_percent_worse_fails_and_ten_percent_warns() {
        let baseline = vec![("a".to_string(), 100.0), ("b".to_string(), 100.0)];
        let (report, failures) = compare(&[m("a", 125.0), m("b", 115.0)], &baseline);
        assert_eq!(failures, 1);
        assert!(report.contains("| a | 125.0 | 100.0 | +25.0 % | 1.00 | FAIL"));
        assert!(report.contains("warn (> +10 %)"));
    }

    #[test]
    fn baseline_lines_parse_and_comments_are_skipped() {
        let dir = std::env::temp_dir().join(format!("ballast-baseline-{}", std::process::id()));
        std::fs::write(&dir, "# header\nx/y,12.5\n\nbad line\n").expect("write temp file");
        assert_eq!(read_baseline(&dir), vec![("x/y".to_string(), 12.5)]);
        let _ = std::fs::remove_file(dir);
    }
}
