//! The suite's reports: `summary.csv` and `report.html` with one latency
//! timeline per scenario (fault window shaded) and a recovery-time chart.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

use crate::Outcome;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn ms(d: Option<Duration>) -> String {
    d.map_or(String::new(), |d| d.as_millis().to_string())
}

fn pct(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{:.2}", x * 100.0))
}

fn summary_csv(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "scenario,operations,acknowledged_writes,failed,indeterminate,records_on_host,\
         history_violations,fault_start_ms,fault_end_ms,recovery_ms,recovery_limit_ms,\
         availability_during_fault_pct,availability_outside_pct,p50_ms,p99_ms,sla_violations,passed\n",
    );
    for o in outcomes {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            o.scenario.name,
            o.check.operations,
            o.check.acknowledged_writes,
            o.check.failed,
            o.check.indeterminate,
            o.records,
            o.check.violations.len(),
            o.fault.start.as_millis(),
            o.fault.end.as_millis(),
            ms(o.sla.recovery.first().copied().flatten()),
            o.scenario.sla.max_recovery.as_millis(),
            pct(o.sla.availability_during_faults),
            pct(o.sla.availability_outside),
            ms(o.sla.p50_outside),
            ms(o.sla.p99_outside),
            o.sla.violations.len(),
            o.passed(),
        );
    }
    out
}

/// Latency of every operation over time; failures in red, the fault shaded.
fn timeline_svg(o: &Outcome) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 240)).into_drawing_area();
        root.fill(&WHITE)?;
        let run_s = o.scenario.run_for.as_secs_f64() + 0.5;
        let max_ms = o
            .samples
            .iter()
            .map(|s| s.latency.as_secs_f64() * 1e3)
            .fold(10.0f64, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..run_s, 0f64..max_ms)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("latency (ms)")
            .draw()?;
        let (fs, fe) = (o.fault.start.as_secs_f64(), o.fault.end.as_secs_f64());
        chart.draw_series(std::iter::once(Rectangle::new(
            [(fs, 0.0), (fe, max_ms)],
            RGBColor(255, 225, 200).filled(),
        )))?;
        chart.draw_series(o.samples.iter().map(|s| {
            let style = if s.ok {
                RGBColor(30, 140, 60).filled()
            } else {
                RED.filled()
            };
            Circle::new(
                (s.at.as_secs_f64(), s.latency.as_secs_f64() * 1e3),
                2,
                style,
            )
        }))?;
        root.present()?;
    }
    Ok(svg)
}

/// Recovery time per scenario against its SLA limit.
fn recovery_svg(outcomes: &[Outcome]) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = outcomes.len().max(1);
        let top = outcomes
            .iter()
            .map(|o| o.scenario.sla.max_recovery.as_secs_f64() * 1e3)
            .fold(100.0f64, f64::max)
            * 1.2;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("recovery (ms)")
            .draw()?;
        for (i, o) in outcomes.iter().enumerate() {
            let x = i as f64;
            let limit = o.scenario.sla.max_recovery.as_secs_f64() * 1e3;
            let (value, color) = match o.sla.recovery.first().copied().flatten() {
                Some(d) => (d.as_secs_f64() * 1e3, RGBColor(60, 110, 200)),
                None => (top, RED),
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, value.min(top))],
                color.filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x + 0.05, limit), (x + 0.95, limit)],
                BLACK.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                o.scenario.name.to_string(),
                // Staggered so neighbouring names do not overlap.
                (x + 0.1, if i % 2 == 0 { top * 0.97 } else { top * 0.90 }),
                ("sans-serif", 11),
            )))?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn html(seed: u64, outcomes: &[Outcome]) -> Res<String> {
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>ballast chaos report</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:900px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}\
         .ok{{color:#1e8c3c}}.bad{{color:#c00;font-weight:bold}}</style></head><body>\
         <h1>ballast chaos report</h1><p>seed <code>{seed}</code> (replay with \
         <code>cargo xtask chaos -- --seed {seed}</code>): {passed} of {} scenarios passed. \
         Clients sign on to the TN3270 host simulator through the chaos proxy, store records \
         and read them back; the history check compares every acknowledged record with the \
         host's store.</p>",
        outcomes.len()
    );
    h.push_str("<h2>Recovery time vs SLA</h2>");
    h.push_str(&recovery_svg(outcomes)?);
    h.push_str(
        "<table><tr><th>scenario</th><th>ops</th><th>stored</th><th>failed</th><th>unknown</th>\
         <th>history</th><th>recovery ms</th><th>limit ms</th><th>avail. outside %</th>\
         <th>p99 ms</th><th>result</th></tr>",
    );
    for o in outcomes {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            o.scenario.name,
            o.check.operations,
            o.check.acknowledged_writes,
            o.check.failed,
            o.check.indeterminate,
            if o.check.is_valid() {
                "valid".to_string()
            } else {
                format!("{} violations", o.check.violations.len())
            },
            ms(o.sla.recovery.first().copied().flatten()),
            o.scenario.sla.max_recovery.as_millis(),
            pct(o.sla.availability_outside),
            ms(o.sla.p99_outside),
            if o.passed() { "ok" } else { "bad" },
            if o.passed() { "passed" } else { "FAILED" },
        );
    }
    h.push_str("</table>");
    for o in outcomes {
        let _ = write!(
            h,
            "<h2>{}</h2><p>{}. Fault from {:.2} s to {:.2} s (shaded); green: succeeded, red: failed.</p>",
            o.scenario.name,
            escape(o.scenario.description),
            o.fault.start.as_secs_f64(),
            o.fault.end.as_secs_f64()
        );
        h.push_str(&timeline_svg(o)?);
        for v in &o.check.violations {
            let _ = write!(
                h,
                "<p class=\"bad\">history: {}</p>",
                escape(&format!("{v:?}"))
            );
        }
        for v in &o.sla.violations {
            let _ = write!(h, "<p class=\"bad\">SLA: {}</p>", escape(&format!("{v:?}")));
        }
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Writes `summary.csv` and `report.html` into `dir`.
pub(crate) fn write(dir: &Path, seed: u64, outcomes: &[Outcome]) -> Res<()> {
    std::fs::write(dir.join("summary.csv"), summary_csv(outcomes))?;
    std::fs::write(dir.join("report.html"), html(seed, outcomes)?)?;
    Ok(())
}
