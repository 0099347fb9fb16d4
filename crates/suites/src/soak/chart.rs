//! The SVG chart of one soak: live bytes over time, and the bound.

use plotters::prelude::*;

use super::{SoakReport, heap_allowance};
use crate::html::ChartError;

/// Live bytes (KiB) over the measured run as an SVG line chart, with the
/// baseline plus the allowed growth as a red line.
pub fn live_bytes_svg(r: &SoakReport) -> Result<String, ChartError> {
    let kib = |b: u64| b as f64 / 1024.0;
    let bound = kib(r.baseline.0 + heap_allowance(r.baseline.0));
    let points: Vec<(f64, f64)> = r
        .samples
        .iter()
        .map(|s| (s.seconds, kib(s.live_bytes)))
        .collect();
    let top = points.iter().map(|p| p.1).fold(bound, f64::max) * 1.1;
    let right = points.iter().map(|p| p.0).fold(0.001, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{}: live heap", r.name), ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..right, 0f64..top)?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("live KiB")
            .draw()?;
        chart.draw_series(LineSeries::new(
            points,
            RGBColor(60, 110, 200).stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, bound), (right, bound)],
            RED.stroke_width(1),
        )))?;
        root.present()?;
    }
    Ok(svg)
}
