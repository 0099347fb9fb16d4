//! The report's SVG charts (plotters).

use std::time::Duration;

use ballast_chaos::sla::Sample;
use ballast_chaos::suite::{self, Datum, ScenarioRun};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::ChartError;

/// Width of the throughput buckets.
const BUCKET: Duration = Duration::from_millis(250);
const WIDTH: u32 = 900;

/// The shading colour of the `i`-th fault of a scenario.
pub(super) fn fault_color(i: usize) -> (u8, u8, u8) {
    const COLORS: [(u8, u8, u8); 4] = [
        (255, 214, 170),
        (200, 215, 255),
        (215, 240, 200),
        (240, 200, 240),
    ];
    COLORS[i % COLORS.len()]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Throughput (top) and latency (bottom) over time, faults shaded.
pub(super) fn timeline<K: Datum, V: Datum>(r: &ScenarioRun<K, V>) -> Result<String, ChartError> {
    let samples = suite::samples(&r.history.entries());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 440)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, bottom) = root.split_vertically(220);
        let end = secs(r.end.max(r.scenario.total())) + 0.2;
        throughput_panel(&top, r, &samples, end)?;
        latency_panel(&bottom, r, &samples, end)?;
        root.present()?;
    }
    Ok(svg)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn shade<K: Datum, V: Datum>(
    chart: &mut Chart<'_, '_>,
    r: &ScenarioRun<K, V>,
    top: f64,
) -> Result<(), ChartError> {
    for (i, s) in r.spans.iter().enumerate() {
        let (cr, cg, cb) = fault_color(i);
        let area = Rectangle::new(
            [(secs(s.start), 0.0), (secs(s.end), top)],
            RGBAColor(cr, cg, cb, 0.7).filled(),
        );
        chart.draw_series(std::iter::once(area))?;
    }
    Ok(())
}

fn throughput_panel<K: Datum, V: Datum>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    r: &ScenarioRun<K, V>,
    samples: &[Sample],
    end: f64,
) -> Result<(), ChartError> {
    // Whole buckets up to the run's end only: a partial last bucket would
    // read as a drop in throughput.
    let buckets = (secs(r.end) / secs(BUCKET)).floor() as usize;
    let mut ok = vec![0u32; buckets];
    for s in samples.iter().filter(|s| s.ok) {
        if let Some(b) = ok.get_mut((secs(s.at) / secs(BUCKET)) as usize) {
            *b += 1;
        }
    }
    let rate: Vec<(f64, f64)> = ok
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                (i as f64 + 0.5) * secs(BUCKET),
                f64::from(*n) / secs(BUCKET),
            )
        })
        .collect();
    let top = rate.iter().map(|p| p.1).fold(10.0f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("throughput (acknowledged ops/s)", ("sans-serif", 14))
        .margin(6)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..end, 0f64..top)?;
    chart.configure_mesh().x_desc("time (s)").draw()?;
    shade(&mut chart, r, top)?;
    chart.draw_series(LineSeries::new(rate, RGBColor(40, 90, 200).stroke_width(2)))?;
    let baseline = r.performance.baseline.throughput_per_sec;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, baseline), (end, baseline)],
            RGBColor(120, 120, 120).stroke_width(1),
        )))?
        .label("baseline")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RGBColor(120, 120, 120)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn latency_panel<K: Datum, V: Datum>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    r: &ScenarioRun<K, V>,
    samples: &[Sample],
    end: f64,
) -> Result<(), ChartError> {
    let top = samples
        .iter()
        .map(|s| s.latency.as_secs_f64() * 1e3)
        .fold(10.0f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "latency per operation (ms): green ok, red failed or unknown",
            ("sans-serif", 14),
        )
        .margin(6)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..end, 0f64..top)?;
    chart.configure_mesh().x_desc("time (s)").draw()?;
    shade(&mut chart, r, top)?;
    chart.draw_series(samples.iter().map(|s| {
        let color = if s.ok {
            RGBColor(30, 140, 60).filled()
        } else {
            RED.filled()
        };
        Circle::new((secs(s.at), s.latency.as_secs_f64() * 1e3), 2, color)
    }))?;
    Ok(())
}

/// Recovery time per scenario (bar) against its limit (tick).
pub(super) fn recovery<K: Datum, V: Datum>(
    runs: &[ScenarioRun<K, V>],
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = runs.len().max(1);
        let top = runs
            .iter()
            .map(|r| secs(r.scenario.sla.max_recovery) * 1e3)
            .fold(100.0f64, f64::max)
            * 1.25;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(70)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("recovery (ms)")
            .draw()?;
        for (i, r) in runs.iter().enumerate() {
            let x = i as f64;
            let limit = secs(r.scenario.sla.max_recovery) * 1e3;
            let (value, color) = match r.performance.recovered {
                Some(d) => (secs(d) * 1e3, RGBColor(60, 110, 200)),
                None => (top, RED),
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, value.min(top))],
                color.filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x + 0.1, limit), (x + 0.9, limit)],
                BLACK.stroke_width(2),
            )))?;
        }
        label_columns(&root, runs.iter().map(|r| r.scenario.name.as_str()), n)?;
        root.present()?;
    }
    Ok(svg)
}

/// Sweep levels as (base scenario, level, during-fault throughput as % of
/// the baseline's), from names like `latency-spike@latency=50`.
fn sweep_points<K: Datum, V: Datum>(runs: &[ScenarioRun<K, V>]) -> Vec<(String, f64, f64)> {
    runs.iter()
        .filter_map(|r| {
            let (base, level) = r.scenario.name.split_once('@')?;
            let level: f64 = level.split_once('=')?.1.parse().ok()?;
            let p = &r.performance;
            let share = if p.baseline.throughput_per_sec > 0.0 {
                100.0 * p.during.throughput_per_sec / p.baseline.throughput_per_sec
            } else {
                0.0
            };
            Some((base.to_owned(), level, share))
        })
        .collect()
}

/// Degradation vs intensity: one line per swept scenario.
pub(super) fn degradation<K: Datum, V: Datum>(
    runs: &[ScenarioRun<K, V>],
) -> Result<String, ChartError> {
    let points = sweep_points(runs);
    let top_x = points.iter().map(|p| p.1).fold(0.0f64, f64::max) * 1.05 + 1e-9;
    let top_y = points.iter().map(|p| p.2).fold(100.0f64, f64::max) * 1.1;
    let mut bases: Vec<&str> = points.iter().map(|p| p.0.as_str()).collect();
    bases.dedup();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..top_x, 0f64..top_y)?;
        chart
            .configure_mesh()
            .x_desc("level")
            .y_desc("throughput during fault (% of baseline)")
            .draw()?;
        for (i, base) in bases.iter().enumerate() {
            const LINES: [RGBColor; 4] = [
                RGBColor(40, 90, 200),
                RGBColor(220, 90, 40),
                RGBColor(30, 140, 60),
                RGBColor(150, 60, 170),
            ];
            let color = LINES[i % LINES.len()];
            let line: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.0 == *base)
                .map(|p| (p.1, p.2))
                .collect();
            chart.draw_series(
                line.iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
            )?;
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))?
                .label(*base)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Error rate before / during / after the faults, per scenario.
pub(super) fn error_rates<K: Datum, V: Datum>(
    runs: &[ScenarioRun<K, V>],
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = runs.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(70)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..100f64)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("errors (%)")
            .draw()?;
        let phases = [
            ("baseline", RGBColor(120, 120, 120)),
            ("during", RGBColor(220, 90, 40)),
            ("after", RGBColor(60, 110, 200)),
        ];
        for (p, &(name, color)) in phases.iter().enumerate() {
            let bars = runs.iter().enumerate().map(|(i, r)| {
                let perf = &r.performance;
                let rate = [
                    perf.baseline.error_rate,
                    perf.during.error_rate,
                    perf.after.error_rate,
                ][p]
                    .unwrap_or(0.0)
                    * 100.0;
                let x = i as f64 + 0.15 + p as f64 * 0.23;
                Rectangle::new([(x, 0.0), (x + 0.2, rate.max(0.4))], color.filled())
            });
            chart.draw_series(bars)?.label(name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
            });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
        label_columns(&root, runs.iter().map(|r| r.scenario.name.as_str()), n)?;
        root.present()?;
    }
    Ok(svg)
}

/// Scenario names under the columns, alternating two rows so neighbours do not overlap.
fn label_columns<'a>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    names: impl Iterator<Item = &'a str>,
    n: usize,
) -> Result<(), ChartError> {
    let plot_left = 68.0;
    let width = f64::from(WIDTH) - plot_left - 8.0;
    let (_, h) = root.dim_in_pixel();
    for (i, name) in names.enumerate() {
        let x = plot_left + width * (i as f64 + 0.5) / n as f64;
        let y = i32::try_from(h).unwrap_or(300) - if i % 2 == 0 { 52 } else { 34 };
        let style = TextStyle::from(("sans-serif", if n > 8 { 10 } else { 12 })).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        );
        root.draw(&Text::new(name.to_owned(), (x as i32, y), style))?;
    }
    Ok(())
}
