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
        .map(|r| r.scenario.name.split('@').next().unwrap_or_default())
        .collect();
    names.dedup();
    for name in names {
        cmd.push_str(&format!(" --scenario {}", shell_word(name)));
    }
    if let Some(sweep) = &args.sweep {
        cmd.push_str(&format!(" --sweep {}", shell_word(sweep)));
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
