//! Runs the demo TN3270 host until Ctrl-C.
//!
//! ```text
//! cargo run -p ballast-session --example host-sim -- --listen 127.0.0.1:3270 [--tn3270e]
//! ```
//!
//! Sign on as `DEMO` / `SECRET`. `--script FILE` serves a TOML or JSON
//! screen script instead of the demo app.

use std::net::SocketAddr;
use std::process::ExitCode;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator, ScriptApp};

fn usage() -> ExitCode {
    eprintln!("usage: host-sim --listen ADDR:PORT [--tn3270e] [--script FILE.toml|FILE.json]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Log lines on standard error: `RUST_LOG` (default warnings) and
    // `BALLAST_LOG_FORMAT=json` for JSON lines.
    let format = ballast_chaos::logging::LogFormat::from_env();
    if let Err(e) = ballast_chaos::logging::init(format, "warn") {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let mut listen: Option<SocketAddr> = None;
    let mut tn3270e = false;
    let mut script = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => listen = Some(v),
                None => return usage(),
            },
            "--tn3270e" => tn3270e = true,
            "--script" => script = args.next(),
            _ => return usage(),
        }
    }
    let Some(listen) = listen else { return usage() };
    let config = HostConfig {
        listen,
        tn3270e,
        ..HostConfig::default()
    };
    let started = match script {
        None => HostSimulator::start(config, DemoApp::default()),
        Some(path) => std::fs::read_to_string(&path)
            .map_err(ballast_session::Error::from)
            .and_then(|text| {
                if path.ends_with(".json") {
                    ScriptApp::from_json(&text)
                } else {
                    ScriptApp::from_toml(&text)
                }
            })
            .and_then(|app| HostSimulator::start(config, app)),
    };
    match started {
        Ok(host) => {
            println!("listening on {} (tn3270e: {tn3270e})", host.local_addr());
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("host-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
