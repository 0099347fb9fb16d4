//! `ballast-proxy`: a drop-in replacement for the `toxiproxy-server` binary.
//!
//! Flags as Toxiproxy's (`-host`, `-port`, `-config FILE`, `-seed N`), also
//! accepted with two dashes. Binds 127.0.0.1 by default. Prints one line
//! when ready: `ballast-proxy listening on HOST:PORT seed N`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use ballast_chaos::api::{ApiConfig, ApiServer, DEFAULT_API_PORT};
use ballast_chaos::logging::{self, LogFormat};
use ballast_chaos::{ChaosProxy, ProxyConfig};
use clap::Parser;

/// Toxiproxy-compatible chaos proxy with seeded, replayable faults.
#[derive(Debug, Parser)]
#[command(name = "ballast-proxy", version)]
struct Args {
    /// Host for the HTTP API to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port for the HTTP API to listen on (0 picks a free port).
    #[arg(long, default_value_t = DEFAULT_API_PORT)]
    port: u16,
    /// JSON file with proxies (and optional toxics) to create at start.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed for every random decision; printed at start so a run can be replayed.
    #[arg(long)]
    seed: Option<u64>,
    /// Log lines on standard error as `text` or `json` (default:
    /// `BALLAST_LOG_FORMAT`, else text). What is logged: `RUST_LOG`, else
    /// Toxiproxy's `LOG_LEVEL`, else `info`.
    #[arg(long)]
    log_format: Option<LogFormat>,
    /// Serve Toxiproxy's proxy metrics at `/metrics`
    /// (`toxiproxy_proxy_received_bytes_total`, `…_sent_bytes_total`).
    #[arg(long)]
    proxy_metrics: bool,
    /// Serve process and runtime metrics at `/metrics` (`process_*` as
    /// Toxiproxy's `-runtime-metrics`, `tokio_*` for the runtime).
    #[arg(long)]
    runtime_metrics: bool,
}

/// Turns Toxiproxy's single-dash long flags (`-port 1`, `-port=1`) into clap's.
fn normalize(args: impl Iterator<Item = String>) -> Vec<String> {
    const LONG: [&str; 7] = [
        "host",
        "port",
        "config",
        "seed",
        "log-format",
        "proxy-metrics",
        "runtime-metrics",
    ];
    args.map(|a| {
        let flag = a.strip_prefix('-').filter(|r| !r.starts_with('-'));
        match flag {
            Some(rest)
                if LONG
                    .iter()
                    .any(|l| rest == *l || rest.starts_with(&format!("{l}="))) =>
            {
                format!("-{a}")
            }
            _ => a,
        }
    })
    .collect()
}

fn load_config(path: &PathBuf) -> Result<Vec<ProxyConfig>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("config {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?;
    let items = v
        .as_array()
        .ok_or_else(|| format!("config {}: expected a json array", path.display()))?;
    items
        .iter()
        .map(|p| {
            ProxyConfig::from_json_value(p).map_err(|e| format!("config {}: {e}", path.display()))
        })
        .collect()
}

async fn run(args: Args) -> Result<(), String> {
    let seed = args
        .seed
        .unwrap_or_else(|| ballast_chaos::SeedGuard::from_env().seed());
    let proxy = ChaosProxy::new(seed);
    if let Some(path) = &args.config {
        proxy
            .populate(load_config(path)?)
            .await
            .map_err(|e| format!("config: {e}"))?;
    }
    let addr: SocketAddr = tokio::net::lookup_host((args.host.as_str(), args.port))
        .await
        .map_err(|e| format!("host {}: {e}", args.host))?
        .next()
        .ok_or_else(|| format!("host {}: no address", args.host))?;
    let config = ApiConfig {
        proxy_metrics: args.proxy_metrics,
        runtime_metrics: args.runtime_metrics,
        ..ApiConfig::default()
    };
    let server = ApiServer::bind(addr, proxy, config)
        .await
        .map_err(|e| format!("listen {addr}: {e}"))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "ballast-proxy listening on {} seed {seed}",
        server.addr()
    );
    let _ = out.flush();
    drop(out);
    tracing::info!(api = %server.addr(), seed, "listening");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("signal: {e}"))?;
    drop(server);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse_from(normalize(std::env::args()));
    let format = args.log_format.unwrap_or_else(LogFormat::from_env);
    let filter = logging::directives(logging::toxiproxy_log_level(), "info");
    if let Err(e) = logging::init_with(format, &filter, std::io::stderr) {
        eprintln!("ballast-proxy: {e}");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ballast-proxy: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ballast-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        let argv = std::iter::once("ballast-proxy")
            .chain(args.iter().copied())
            .map(String::from);
        Args::try_parse_from(normalize(argv)).expect("flags parse")
    }

    #[test]
    fn toxiproxy_single_dash_flags_and_double_dash_flags_both_work() {
        let a = parse(&[
            "-host",
            "::1",
            "-port=9000",
            "-config",
            "x.json",
            "-seed",
            "5",
        ]);
        assert_eq!((a.host.as_str(), a.port, a.seed), ("::1", 9000, Some(5)));
        assert_eq!(a.config.as_deref(), Some(std::path::Path::new("x.json")));
        let b = parse(&["--port", "0", "--seed=9"]);
        assert_eq!((b.host.as_str(), b.port, b.seed), ("127.0.0.1", 0, Some(9)));
    }

    #[test]
    fn defaults_bind_loopback_on_toxiproxy_port() {
        let a = parse(&[]);
        assert_eq!(
            (a.host.as_str(), a.port, a.config, a.seed),
            ("127.0.0.1", 8474, None, None)
        );
    }
}
