//! `ballast-suite soak`: the command line.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

use super::selftest::{LeakKind, LeakSoak};
use super::{
    Budget, Probe, SoakReport, before_soak, check_teardown, markdown, prime_process, run, to_json,
    workloads,
};

/// Exit code: every soak passed.
const EXIT_PASSED: i32 = 0;
/// Exit code: a soak breached a bound or failed.
const EXIT_BREACH: i32 = 1;
/// Exit code: bad arguments or the report could not be written.
const EXIT_USAGE: i32 = 2;

/// `ballast-suite soak`: long runs that fail when memory, descriptors or
/// threads grow.
#[derive(Parser, Debug)]
#[command(name = "ballast-suite soak")]
struct SoakArgs {
    /// Soaks to run (all when none): see `--list`.
    names: Vec<String>,
    /// The CI budget: a few seconds per soak, the whole set well under 2 minutes.
    #[arg(long)]
    quick: bool,
    /// Most seconds each soak runs (default 70, quick 10).
    #[arg(long)]
    seconds: Option<f64>,
    /// Most measured iterations per soak (default: the soak's own).
    #[arg(long)]
    iterations: Option<u64>,
    /// Directory for soak.json and soak.md.
    #[arg(long, default_value = "target/ballast-reports")]
    out: PathBuf,
    /// Lists the soaks and exits.
    #[arg(long)]
    list: bool,
    /// Runs only a soak that leaks on purpose (for the CLI's own test).
    #[arg(long, hide = true, value_enum)]
    selftest_leak: Option<LeakKind>,
}

/// Runs `ballast-suite soak` with `argv` (its first item the program name,
/// the second `soak`), writing progress and the table to `out`; returns the
/// exit code: 0 passed, 1 a breach, 2 usage or report error.
pub fn main_with(
    argv: impl IntoIterator<Item = String>,
    probe: &dyn Probe,
    out: &mut dyn Write,
) -> i32 {
    let argv: Vec<String> = argv
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, a)| a)
        .collect();
    let args = match SoakArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = write!(out, "{e}");
            return if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_PASSED
            };
        }
    };
    if args.list {
        for (name, _) in workloads::catalog() {
            let _ = writeln!(out, "{name}");
        }
        return EXIT_PASSED;
    }
    let unknown: Vec<&String> = args
        .names
        .iter()
        .filter(|n| !workloads::catalog().iter().any(|(c, _)| c == n))
        .collect();
    if !unknown.is_empty() {
        let _ = writeln!(
            out,
            "ballast-suite soak: unknown soak(s) {unknown:?}; see --list"
        );
        return EXIT_USAGE;
    }
    let reports = run_selected(&args, probe, out);
    finish(&args, &reports, out)
}

/// Builds one soak, quick or not, with its default budget.
type Maker = Box<dyn Fn(bool) -> Result<(Box<dyn super::Soak>, Budget), String>>;

fn run_selected(args: &SoakArgs, probe: &dyn Probe, out: &mut dyn Write) -> Vec<SoakReport> {
    let selected: Vec<(&str, Maker)> = match args.selftest_leak {
        Some(kind) => vec![("selftest-leak", Box::new(move |_| LeakSoak::make(kind)))],
        None => workloads::catalog()
            .iter()
            .filter(|(name, _)| args.names.is_empty() || args.names.iter().any(|n| n == name))
            .map(|&(name, make)| (name, Box::new(make) as Maker))
            .collect(),
    };
    // Reserved up front: the reports vector must not grow while a soak's
    // teardown is compared with the heap before it.
    let mut reports = Vec::with_capacity(selected.len());
    prime_process();
    for (name, make) in &selected {
        let _ = writeln!(out, "soak {name}: starting");
        let _ = out.flush();
        let before = before_soak(probe);
        let mut report = match make(args.quick) {
            Ok((mut soak, default)) => {
                let budget = Budget {
                    iterations: args.iterations.unwrap_or(default.iterations),
                    seconds: args.seconds.unwrap_or(default.seconds),
                    ..default
                };
                let report = run(soak.as_mut(), budget, probe);
                drop(soak);
                report
            }
            Err(e) => SoakReport {
                name: name.to_string(),
                breaches: vec![format!("{name}: cannot start: {e}")],
                ..SoakReport::default()
            },
        };
        report.before = before;
        check_teardown(&mut report, probe);
        let _ = writeln!(
            out,
            "soak {name}: {} iterations, {:.0} ops/s, live {:+.2} % (bound {} bytes){}",
            report.iterations,
            report.ops_per_second(),
            report.growth_percent(),
            report.bound_bytes,
            if report.breaches.is_empty() {
                ""
            } else {
                ": FAIL"
            }
        );
        reports.push(report);
    }
    reports
}

fn finish(args: &SoakArgs, reports: &[SoakReport], out: &mut dyn Write) -> i32 {
    let md = markdown(reports);
    let written = std::fs::create_dir_all(&args.out)
        .and_then(|()| std::fs::write(args.out.join("soak.md"), &md))
        .and_then(|()| {
            let json = serde_json::to_string_pretty(&to_json(reports)).unwrap_or_default();
            std::fs::write(args.out.join("soak.json"), json)
        });
    let _ = write!(out, "{md}");
    if let Err(e) = written {
        let _ = writeln!(
            out,
            "ballast-suite soak: cannot write the report in {}: {e}",
            args.out.display()
        );
        return EXIT_USAGE;
    }
    for r in reports {
        let chart = super::live_bytes_svg(r)
            .map_err(|e| e.to_string())
            .and_then(|svg| {
                std::fs::write(args.out.join(format!("soak-{}.svg", r.name)), svg)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = chart {
            let _ = writeln!(out, "ballast-suite soak: no chart for {}: {e}", r.name);
        }
    }
    let _ = writeln!(out, "soak: report in {}", args.out.display());
    if reports.iter().any(|r| !r.breaches.is_empty()) {
        EXIT_BREACH
    } else {
        EXIT_PASSED
    }
}

#[cfg(test)]
mod tests {
    use ballast_alloc::AllocStats;

    use super::*;

    /// Constant figures, so tests running beside each other cannot move them.
    struct Still;

    impl Probe for Still {
        fn alloc(&self) -> AllocStats {
            AllocStats::default()
        }
        fn fds(&self) -> usize {
            3
        }
        fn threads(&self) -> usize {
            1
        }
    }

    fn soak(args: &[&str]) -> (i32, String) {
        let argv = ["ballast-suite", "soak"]
            .iter()
            .chain(args)
            .map(|a| a.to_string());
        let mut out = Vec::new();
        let code = main_with(argv, &Still, &mut out);
        (code, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn an_unknown_soak_is_a_usage_error_naming_it() {
        let (code, out) = soak(&["no-such-soak"]);
        assert_eq!(code, EXIT_USAGE);
        assert!(out.contains("no-such-soak"), "{out}");
    }

    #[test]
    fn list_names_every_soak() {
        let (code, out) = soak(&["--list"]);
        assert_eq!(code, EXIT_PASSED);
        for (name, _) in workloads::catalog() {
            assert!(out.lines().any(|l| l == *name), "{name} missing from {out}");
        }
    }

    #[test]
    fn a_passing_soak_writes_both_reports() {
        let dir = std::env::temp_dir().join(format!("ballast-soak-cli-{}", std::process::id()));
        let out_dir = dir.to_string_lossy().into_owned();
        let (code, out) = soak(&["parser", "--iterations", "3", "--out", &out_dir]);
        assert_eq!(code, EXIT_PASSED, "{out}");
        let json = std::fs::read_to_string(dir.join("soak.json")).unwrap_or_default();
        let report: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(report[0]["name"], "parser");
        assert_eq!(report[0]["iterations"], 3);
        assert_eq!(report[0]["passed"], true);
        let md = std::fs::read_to_string(dir.join("soak.md")).unwrap_or_default();
        assert!(md.contains("| parser | 3 |"), "{md}");
        let svg = std::fs::read_to_string(dir.join("soak-parser.svg")).unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
