//! The end of a run: the summary table and the replay command.

use std::io::Write;

use super::{ChaosArgs, Run};

/// The summary table: one line per scenario, then its anomalies and
/// breaches with the faults they are attributed to.
pub(super) fn table(runs: &[Run], out: &mut dyn Write) {
    let _ = writeln!(
        out,
        "\n{:<28} {:>7} {:>6} {:>7} {:>9} {:>9} {:>8}  verdict",
        "scenario", "ops", "anom.", "breach", "detect", "recovery", "p99"
    );
    let ms =
        |d: Option<std::time::Duration>| d.map_or("-".into(), |d| format!("{} ms", d.as_millis()));
    for r in runs {
        let verdict = if r.passed() {
            "passed".to_string()
        } else if let Some(e) = &r.error {
            format!("ERROR: {e}")
        } else {
            "FAILED".to_string()
        };
        let ops = r.check.as_ref().map_or(0, |c| c.operations);
        let p = &r.performance;
        let _ = writeln!(
            out,
            "{:<28} {ops:>7} {:>6} {:>7} {:>9} {:>9} {:>8}  {verdict}",
            r.scenario.name,
            r.anomalies.len(),
            r.breaches.len(),
            ms(p.time_to_detect),
            ms(p.recovered),
            ms(p.outside.p99)
        );
        for a in &r.anomalies {
            let _ = writeln!(
                out,
                "    anomaly: {:?} during {}",
                a.violation,
                fault_list(&a.faults)
            );
        }
        for b in &r.breaches {
            let _ = writeln!(
                out,
                "    sla: {:?} after {}",
                b.breach,
                fault_list(&b.faults)
            );
        }
    }
}

fn fault_list(faults: &[String]) -> String {
    if faults.is_empty() {
        "no fault".into()
    } else {
        format!("fault {}", faults.join(" + "))
    }
}

/// The command that reruns exactly the failed scenarios with this seed.
pub fn replay_command(args: &ChaosArgs, seed: u64, failed: &[&Run]) -> String {
    let mut cmd = format!(
        "cargo xtask chaos -- --seed {seed} --clients {}",
        args.clients
    );
    for f in &args.scenario_files {
        let path = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        cmd.push_str(&format!(
            " --scenario-file {}",
            shell_word(&path.display().to_string())
        ));
    }
    let mut names: Vec<&str> = failed
        .iter()
        .map(|r| r.scenario.name.split(['@', '+']).next().unwrap_or_default())
        .collect();
    names.dedup();
    for name in names {
        cmd.push_str(&format!(" --scenario {}", shell_word(name)));
    }
    if let Some(sweep) = &args.sweep {
        cmd.push_str(&format!(" --sweep {}", shell_word(sweep)));
    }
    for axis in &args.grid {
        cmd.push_str(&format!(" --grid {}", shell_word(axis)));
    }
    if let Some(d) = args.duration {
        cmd.push_str(&format!(" --duration {d}"));
    }
    for url in &args.proxy_apis {
        cmd.push_str(&format!(" --proxy-api {}", shell_word(url)));
    }
    cmd
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// For a config grid: per scenario (and sweep level), the combination of
/// settings that kept the SLA with the best throughput.
pub(super) fn best_configs(runs: &[Run], out: &mut dyn Write) {
    let mut bases: Vec<&str> = runs
        .iter()
        .filter_map(|r| r.scenario.name.split_once('+').map(|(base, _)| base))
        .collect();
    bases.dedup();
    for base in bases {
        let throughput = |r: &Run| {
            let p = &r.performance;
            let ok = p.baseline.ok + p.during.ok + p.after.ok;
            ok as f64 / r.end.as_secs_f64().max(1e-9)
        };
        let best = runs
            .iter()
            .filter(|r| {
                r.passed()
                    && r.scenario
                        .name
                        .split_once('+')
                        .is_some_and(|(b, _)| b == base)
            })
            .max_by(|a, b| throughput(a).total_cmp(&throughput(b)));
        let _ = match best {
            Some(r) => writeln!(
                out,
                "best config for {base}: {} ({:.1} ops/s)",
                r.scenario.name.split_once('+').map_or("", |(_, c)| c),
                throughput(r)
            ),
            None => writeln!(out, "best config for {base}: none kept the SLA"),
        };
    }
}
