//! `-runtime-metrics`: what Toxiproxy's runtime collectors give, for this
//! process. Toxiproxy registers Prometheus' Go, build-info and process
//! collectors; the process families (`process_*`) carry the same names and
//! meanings here, read from `/proc`. In place of the Go runtime's `go_*`
//! families this proxy reports its tokio runtime (`tokio_*`) and its build
//! (`ballast_proxy_build_info`).

use std::fmt::Write as _;

use crate::resource::probe;

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`, 100 on every Linux
/// architecture's user ABI).
const USER_HZ: f64 = 100.0;

/// Appends the runtime metric families to `out`, in Prometheus text.
pub(super) fn render(out: &mut String) {
    let stat = ProcStat::read();
    let page = probe::page_size() as u64;
    let vsize = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page);
    let families: [(&str, &str, &str, f64); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            stat.cpu_seconds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            probe::open_fd_count().unwrap_or(0) as f64,
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            probe::nofile_limit().map_or(0, |(soft, _)| soft) as f64,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            probe::rss_bytes().unwrap_or(0) as f64,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            vsize as f64,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            stat.start_time_seconds,
        ),
    ];
    for (name, kind, help, value) in families {
        family(out, name, kind, help, value);
    }
    render_tokio(out);
    let _ = writeln!(
        out,
        "# HELP ballast_proxy_build_info Build information about the proxy.\n\
         # TYPE ballast_proxy_build_info gauge\n\
         ballast_proxy_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
}

/// The tokio runtime the API runs on, in place of Go's `go_*` families.
fn render_tokio(out: &mut String) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let m = handle.metrics();
        for (name, help, value) in [
            (
                "tokio_workers",
                "Worker threads of the proxy's tokio runtime.",
                m.num_workers(),
            ),
            (
                "tokio_alive_tasks",
                "Tasks alive in the runtime (about two per proxied connection).",
                m.num_alive_tasks(),
            ),
            (
                "tokio_global_queue_depth",
                "Tasks waiting in the runtime's global queue.",
                m.global_queue_depth(),
            ),
        ] {
            family(out, name, "gauge", help, value as f64);
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The fields of `/proc/self/stat` the process collector reads.
#[derive(Debug, Default)]
struct ProcStat {
    cpu_seconds: f64,
    start_time_seconds: f64,
}

impl ProcStat {
    fn read() -> Self {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
            return Self::default();
        };
        // Fields after the command name, which may hold spaces; rest[0] is
        // field 3 (state) of proc(5): utime is 14, stime 15, starttime 22.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return Self::default();
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .unwrap_or(0.0);
        Self {
            cpu_seconds: (num(11) + num(12)) / USER_HZ,
            start_time_seconds: boot + num(19) / USER_HZ,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_families_read_this_process() {
        let mut out = String::new();
        render(&mut out);
        let value = |name: &str| -> f64 {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in\n{out}"))
        };
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_resident_memory_bytes") > 1_000_000.0);
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let started = value("process_start_time_seconds");
        assert!(
            started > now - 3600.0 && started <= now + 1.0,
            "{started} vs {now}"
        );
        assert!(out.contains("ballast_proxy_build_info{version=\""));
    }
}
