//! The process itself as metrics and health checks, and the metrics page in
//! the other formats operators use.
//!
//! - [`ProcessStats`]: CPU time, resident memory, open and maximum file
//!   descriptors, threads and uptime, read from `/proc/self` (Linux; other
//!   systems report what they can, zeros otherwise), rendered under the
//!   Prometheus client libraries' standard names (`process_cpu_seconds_total`,
//!   `process_resident_memory_bytes`, `process_open_fds`, …) by
//!   [`MetricsRegistry::register_process`](crate::MetricsRegistry::register_process).
//! - [`HealthRegistry::register_process`](crate::HealthRegistry::register_process):
//!   readiness degrades when file descriptors near their limit or resident
//!   memory passes a budget, and says which in the `/health/ready` detail.
//! - [`parse_exposition`], [`to_json`], [`CsvSampler`]: the Prometheus text
//!   page (the registry's and every collector's) as a JSON snapshot, and as
//!   a CSV time series one row per sample per interval.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::health::Health;

/// The process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProcessStats {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on file descriptors (`RLIMIT_NOFILE`).
    pub max_fds: u64,
    /// Threads.
    pub threads: u64,
    /// Seconds since this process started (since the first sample where
    /// the start time cannot be read).
    pub uptime_seconds: f64,
}

fn first_sample() -> Instant {
    static FIRST: OnceLock<Instant> = OnceLock::new();
    *FIRST.get_or_init(Instant::now)
}

impl ProcessStats {
    /// Reads the process's figures now.
    pub fn sample() -> Self {
        let since_first = first_sample().elapsed().as_secs_f64();
        let mut s = Self {
            uptime_seconds: since_first,
            ..Self::default()
        };
        #[cfg(target_os = "linux")]
        linux::fill(&mut s);
        s
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::ProcessStats;

    /// Clock ticks per second in `/proc/*/stat` (`USER_HZ`: 100 on every
    /// Linux architecture's user ABI).
    const USER_HZ: f64 = 100.0;

    /// A `Name:   value kB` line of `/proc/self/status`, as a number.
    fn status_field(status: &str, name: &str) -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    pub(super) fn fill(s: &mut ProcessStats) {
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
            // Fields after the command name, which may hold spaces.
            && let Some((_, rest)) = stat.rsplit_once(')')
        {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // f[0] is field 3 (state) of proc(5): utime is field 14,
            // stime 15, starttime 22.
            s.cpu_seconds = (num(11) + num(12)) / USER_HZ;
            let started = num(19) / USER_HZ;
            if let Ok(up) = std::fs::read_to_string("/proc/uptime")
                && let Some(boot) = up
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
            {
                s.uptime_seconds = (boot - started).max(0.0);
            }
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            s.resident_bytes = status_field(&status, "VmRSS:").unwrap_or(0) * 1024;
            s.threads = status_field(&status, "Threads:").unwrap_or(0);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle itself is one of them.
            s.open_fds = (dir.count() as u64).saturating_sub(1);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            s.max_fds = limits
                .lines()
                .find_map(|l| l.strip_prefix("Max open files"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|soft| soft.parse().ok())
                .unwrap_or(0);
        }
    }
}

/// Writes `stats` as Prometheus metric families, under the standard
/// process-collector names.
pub fn render_process(stats: &ProcessStats, out: &mut String) {
    let families: [(&str, &str, &str, String); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time spent, in seconds.",
            format!("{:.3}", stats.cpu_seconds),
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size, in bytes.",
            stats.resident_bytes.to_string(),
        ),
        (
            "process_open_fds",
            "gauge",
            "Open file descriptors.",
            stats.open_fds.to_string(),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            stats.max_fds.to_string(),
        ),
        (
            "process_threads",
            "gauge",
            "Threads in the process.",
            stats.threads.to_string(),
        ),
        (
            "process_uptime_seconds",
            "gauge",
            "Seconds since the process started.",
            format!("{:.3}", stats.uptime_seconds),
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
}

/// The readiness verdict for the process's resources: degraded when open
/// file descriptors reach `fd_ratio` of the limit, or resident memory
/// passes `rss_budget` bytes (`None`: no budget).
pub fn resource_health(stats: &ProcessStats, fd_ratio: f64, rss_budget: Option<u64>) -> Health {
    let mut problems = Vec::new();
    if stats.max_fds > 0 && stats.open_fds as f64 >= fd_ratio * stats.max_fds as f64 {
        problems.push(format!(
            "{} of {} file descriptors open",
            stats.open_fds, stats.max_fds
        ));
    }
    if let Some(budget) = rss_budget
        && stats.resident_bytes > budget
    {
        problems.push(format!(
            "resident memory {} MiB over the budget of {} MiB",
            stats.resident_bytes >> 20,
            budget >> 20
        ));
    }
    if problems.is_empty() {
        Health::healthy()
    } else {
        Health::degraded(problems.join("; "))
    }
}

/// One sample of a Prometheus text page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// The metric name (`ballast_breaker_calls_total`, `…_bucket`).
    pub name: String,
    /// Its labels, in page order.
    pub labels: Vec<(String, String)>,
    /// The value (`+Inf`, `-Inf` and `NaN` as the floats they are).
    pub value: f64,
}

/// Reads the samples of a Prometheus text page (comments skipped; a line
/// that does not parse is skipped too, so one odd collector cannot hide
/// the rest).
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (name_labels, value) = line.trim().rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match name_labels.split_once('{') {
        None => (name_labels, Vec::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

fn parse_labels(mut s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let (key, rest) = s.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        out.push((key.trim_start_matches(',').to_string(), value));
        s = &rest[end + 1..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
    Some(out)
}

/// A page's samples as one JSON document:
/// `{"timestamp_ms": …, "samples": [{"name", "labels": {…}, "value"}]}`
/// (non-finite values as strings, as JSON has no infinity).
pub fn to_json(text: &str) -> String {
    let samples: Vec<serde_json::Value> = parse_exposition(text)
        .into_iter()
        .map(|s| {
            let labels: serde_json::Map<String, serde_json::Value> = s
                .labels
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            let value = if s.value.is_finite() {
                serde_json::json!(s.value)
            } else {
                serde_json::json!(s.value.to_string())
            };
            serde_json::json!({"name": s.name, "labels": labels, "value": value})
        })
        .collect();
    serde_json::json!({"timestamp_ms": now_ms(), "samples": samples}).to_string()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Appends a page's samples to a CSV time series, one row per sample:
/// `timestamp_ms,name,labels,value` (labels as `k=v;k=v`, quoted when
/// needed). The header is written with the first row.
///
/// ```no_run
/// use std::time::Duration;
/// use ballast_resilience::MetricsRegistry;
/// use ballast_resilience::process::CsvSampler;
///
/// let registry = MetricsRegistry::new();
/// registry.register_process();
/// let file = std::fs::File::create("metrics.csv")?;
/// let mut csv = CsvSampler::new(std::io::BufWriter::new(file));
/// // One page a second for an hour, at most a million rows.
/// let mut ticks = 0;
/// csv.run(Duration::from_secs(1), 1_000_000, || registry.render_prometheus(), || {
///     ticks += 1;
///     ticks <= 3600
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct CsvSampler<W: Write> {
    out: W,
    header: bool,
}

/// The CSV header [`CsvSampler`] writes.
pub const CSV_HEADER: &str = "timestamp_ms,name,labels,value";

impl<W: Write> CsvSampler<W> {
    /// A sampler writing to `out` (the header comes with the first rows).
    pub fn new(out: W) -> Self {
        Self { out, header: true }
    }

    /// A sampler appending to a series that already has its header.
    pub fn appending(out: W) -> Self {
        Self { out, header: false }
    }

    /// Appends one row per sample of `page`, stamped now.
    ///
    /// # Errors
    ///
    /// What the writer returns.
    pub fn append(&mut self, page: &str) -> std::io::Result<usize> {
        let stamp = now_ms();
        if std::mem::take(&mut self.header) {
            writeln!(self.out, "{CSV_HEADER}")?;
        }
        let samples = parse_exposition(page);
        for s in &samples {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(
                self.out,
                "{stamp},{},{},{}",
                csv_field(&s.name),
                csv_field(&labels.join(";")),
                s.value
            )?;
        }
        self.out.flush()?;
        Ok(samples.len())
    }

    /// Samples `page()` every `interval` until `keep_going()` is false or
    /// `max_rows` samples were written (every loop bounded), returning how
    /// many rows were written.
    ///
    /// # Errors
    ///
    /// What the writer returns.
    pub fn run(
        &mut self,
        interval: Duration,
        max_rows: usize,
        mut page: impl FnMut() -> String,
        mut keep_going: impl FnMut() -> bool,
    ) -> std::io::Result<usize> {
        let mut rows = 0;
        while rows < max_rows && keep_going() {
            rows += self.append(&page())?;
            std::thread::sleep(interval);
        }
        Ok(rows)
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_reports_itself() {
        let s = ProcessStats::sample();
        if cfg!(target_os = "linux") {
            assert!(s.resident_bytes > 1 << 20, "{s:?}");
            assert!(s.open_fds >= 3 && s.max_fds >= s.open_fds, "{s:?}");
            assert!(s.threads >= 1, "{s:?}");
            assert!(s.cpu_seconds >= 0.0 && s.uptime_seconds >= 0.0, "{s:?}");
        }
        let mut page = String::new();
        render_process(&s, &mut page);
        let samples = parse_exposition(&page);
        assert_eq!(samples.len(), 6);
        assert!(
            samples
                .iter()
                .any(|x| x.name == "process_open_fds" && x.value == s.open_fds as f64)
        );
    }

    #[test]
    fn resources_near_their_limits_degrade_readiness_and_say_which() {
        let s = ProcessStats {
            open_fds: 950,
            max_fds: 1000,
            resident_bytes: 300 << 20,
            ..ProcessStats::default()
        };
        let h = resource_health(&s, 0.9, Some(256 << 20));
        let text = format!("{h:?}");
        assert!(text.contains("950 of 1000 file descriptors"), "{text}");
        assert!(text.contains("over the budget of 256 MiB"), "{text}");
        assert_eq!(resource_health(&s, 0.99, None), Health::healthy());
    }

    const PAGE: &str = "# HELP a_total x\n# TYPE a_total counter\na_total{name=\"db, \\\"main\\\"\",state=\"open\"} 3\nb 1.5\nc_bucket{le=\"+Inf\"} 7\nd +Inf\nnot a sample\n";

    #[test]
    fn the_page_parses_with_escapes_and_infinities() {
        let s = parse_exposition(PAGE);
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(s[0].labels[0], ("name".into(), "db, \"main\"".into()));
        assert_eq!(s[0].labels[1], ("state".into(), "open".into()));
        assert_eq!((s[1].name.as_str(), s[1].value), ("b", 1.5));
        assert_eq!(s[2].labels[0].1, "+Inf");
        assert!(s[3].value.is_infinite());
        let json: serde_json::Value = serde_json::from_str(&to_json(PAGE)).unwrap();
        assert_eq!(json["samples"][0]["labels"]["state"], "open");
        assert_eq!(json["samples"][3]["value"], "inf");
    }

    #[test]
    fn the_csv_series_has_one_row_per_sample_per_interval() {
        let mut csv = CsvSampler::new(Vec::new());
        let mut calls = 0;
        let rows = csv
            .run(
                Duration::from_millis(1),
                100,
                || PAGE.to_string(),
                || {
                    calls += 1;
                    calls <= 3
                },
            )
            .unwrap();
        assert_eq!(rows, 12);
        let text = String::from_utf8(csv.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 13);
        assert!(
            lines[1].ends_with(",a_total,\"name=db, \"\"main\"\";state=open\",3"),
            "{}",
            lines[1]
        );
    }
}
