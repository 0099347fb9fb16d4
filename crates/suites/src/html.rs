//! `report.html`: a summary table and plotters SVG charts — throughput and
//! latency over time with fault windows shaded, recovery per scenario
//! against its limit, error rate per phase.

mod charts;

use std::fmt::Write as _;

use ballast_chaos::suite::{Datum, ScenarioRun};

/// What drawing a chart can fail with.
pub type ChartError = Box<dyn std::error::Error + Send + Sync>;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ms(d: Option<std::time::Duration>) -> String {
    d.map_or("-".into(), |d| d.as_millis().to_string())
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}", x * 100.0))
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}.ok{color:#1e8c3c}.bad{color:#c00;font-weight:bold}\
.legend span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;vertical-align:middle}\
svg{display:block;margin:.5em 0}";

/// The whole report page for `runs` of a suite seeded with `seed`.
///
/// # Errors
///
/// A chart that could not be drawn.
pub fn report<K: Datum, V: Datum>(
    seed: u64,
    runs: &[ScenarioRun<K, V>],
) -> Result<String, ChartError> {
    let passed = runs.iter().filter(|r| r.passed()).count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>ballast chaos report</title><style>{STYLE}</style></head><body>\
         <h1>ballast chaos report</h1><p>seed <code>{seed}</code> (replay: <code>cargo xtask chaos -- --seed {seed}</code>): \
         <b>{passed} of {} scenarios passed</b>. Terminal users sign on to the TN3270 host simulator through the chaos proxy, \
         store records and read them back; every history is checked against the host's store, and throughput, latency, \
         error rates, detection and recovery are derived from it.</p>",
        runs.len()
    );
    summary_table(&mut h, runs);
    h.push_str("<h2>Recovery after the last fault</h2><p>Time to a stable run of successes; the black tick is the scenario's limit, a red bar never recovered.</p>");
    h.push_str(&charts::recovery(runs)?);
    if runs.iter().any(|r| r.scenario.name.contains('@')) {
        h.push_str("<h2>Degradation vs intensity</h2><p>Throughput while the fault is on, as a share of the baseline's, at each level of the sweep.</p>");
        h.push_str(&charts::degradation(runs)?);
    }
    h.push_str("<h2>Error rate per phase</h2><p>Share of failed or unknown operations before, during and after the faults.</p>");
    h.push_str(&charts::error_rates(runs)?);
    for r in runs {
        scenario_section(&mut h, r)?;
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

fn summary_table<K: Datum, V: Datum>(h: &mut String, runs: &[ScenarioRun<K, V>]) {
    h.push_str(
        "<table><tr><th>scenario</th><th>category</th><th>ops</th><th>baseline ops/s</th><th>during ops/s</th>\
         <th>after ops/s</th><th>p99 ms (base)</th><th>detect ms</th><th>recovery ms</th><th>limit ms</th>\
         <th>availability %</th><th>anomalies</th><th>result</th></tr>",
    );
    for r in runs {
        let p = &r.performance;
        let (class, verdict) = match (&r.error, r.passed()) {
            (Some(e), _) => ("bad", format!("ERROR: {}", escape(&e.to_string()))),
            (None, true) => ("ok", "passed".into()),
            (None, false) => ("bad", "FAILED".into()),
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"#{name}\">{name}</a></td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{verdict}</td></tr>",
            escape(&r.scenario.category),
            r.check.as_ref().map_or(0, |c| c.operations),
            p.baseline.throughput_per_sec,
            p.during.throughput_per_sec,
            p.after.throughput_per_sec,
            ms(p.baseline.p99),
            ms(p.time_to_detect),
            ms(p.recovered),
            r.scenario.sla.max_recovery.as_millis(),
            pct(p.availability),
            r.anomalies.len(),
            name = escape(&r.scenario.name),
        );
    }
    h.push_str("</table>");
}

fn scenario_section<K: Datum, V: Datum>(
    h: &mut String,
    r: &ScenarioRun<K, V>,
) -> Result<(), ChartError> {
    let _ = write!(
        h,
        "<h2 id=\"{0}\">{0}</h2><p>{1}</p><p class=\"legend\">",
        escape(&r.scenario.name),
        escape(&r.scenario.description)
    );
    for (i, s) in r.spans.iter().enumerate() {
        let (cr, cg, cb) = charts::fault_color(i);
        let _ = write!(
            h,
            "<span style=\"background:rgb({cr},{cg},{cb})\"></span>fault <b>{}</b> on {} from {:.2} s to {:.2} s",
            escape(&s.fault),
            escape(&s.link),
            s.start.as_secs_f64(),
            s.end.as_secs_f64()
        );
    }
    h.push_str("</p>");
    h.push_str(&charts::timeline(r)?);
    for a in &r.anomalies {
        let during = if a.faults.is_empty() {
            "no fault".into()
        } else {
            a.faults.join(" + ")
        };
        let _ = write!(
            h,
            "<p class=\"bad\">history: {} — during {}</p>",
            escape(&format!("{:?}", a.violation)),
            escape(&during)
        );
    }
    for b in &r.breaches {
        let _ = write!(
            h,
            "<p class=\"bad\">SLA: {} — after {}</p>",
            escape(&format!("{:?}", b.breach)),
            escape(&b.faults.join(" + "))
        );
    }
    if let Some(e) = &r.error {
        let _ = write!(
            h,
            "<p class=\"bad\">run error: {}</p>",
            escape(&e.to_string())
        );
    }
    Ok(())
}
