//! Verifies a session manager audit log and answers simple queries.
//!
//! ```text
//! cargo run -p ballast-session --example audit -- verify FILE
//! cargo run -p ballast-session --example audit -- query FILE
//!     [--session N] [--endpoint NAME] [--user ID] [--event E] [--aid KEY]
//!     [--from TS_MS] [--to TS_MS]
//! ```
//!
//! `verify` walks the hash chain and prints `ok: N entries, head HASH`, or
//! the first tampered, dropped or reordered entry on stderr (exit 1).
//! `query` verifies first, then prints the entries that match every filter
//! given (`--aid enter` matches AID entries of that key, case-insensitive;
//! `--user` the entries of sessions signed on as that user id; `--from`
//! and `--to` bound `ts_ms`, both inclusive).

use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use ballast_session::audit::verify;

/// Query filters.
#[derive(Default)]
struct Filter {
    session: Option<u64>,
    endpoint: Option<String>,
    user: Option<String>,
    event: Option<String>,
    aid: Option<String>,
    from: Option<u64>,
    to: Option<u64>,
}

fn parse_filter(args: &[String]) -> Result<Filter, String> {
    let mut f = Filter::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("bad {flag} {value:?}"))
        };
        match flag.as_str() {
            "--session" => f.session = Some(number()?),
            "--endpoint" => f.endpoint = Some(value.clone()),
            "--user" => f.user = Some(value.clone()),
            "--event" => f.event = Some(value.clone()),
            "--aid" => f.aid = Some(value.to_ascii_lowercase()),
            "--from" => f.from = Some(number()?),
            "--to" => f.to = Some(number()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(f)
}

impl Filter {
    fn matches(&self, e: &serde_json::Value) -> bool {
        let ts = e["ts_ms"].as_u64().unwrap_or(0);
        self.session
            .is_none_or(|s| e["session"].as_u64() == Some(s))
            && self.endpoint.as_deref().is_none_or(|n| e["endpoint"] == n)
            && self.user.as_deref().is_none_or(|u| e["user"] == u)
            && self.event.as_deref().is_none_or(|n| e["event"] == n)
            && self.aid.as_deref().is_none_or(|a| {
                e["aid"]
                    .as_str()
                    .is_some_and(|x| x.to_ascii_lowercase().replace(['(', ')'], "") == a)
            })
            && self.from.is_none_or(|t| ts >= t)
            && self.to.is_none_or(|t| ts <= t)
    }
}

fn open(path: &str) -> Result<BufReader<std::fs::File>, String> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|e| format!("{path}: {e}"))
}

fn run(args: &[String]) -> Result<(), String> {
    let usage = "usage: audit verify FILE | audit query FILE [--session N] [--endpoint NAME] [--user ID] [--event E] [--aid KEY] [--from TS_MS] [--to TS_MS]";
    let (command, path) = match args {
        [c, p, ..] => (c.as_str(), p.as_str()),
        _ => return Err(usage.to_owned()),
    };
    let report = verify(open(path)?).map_err(|e| format!("{path}: {e}"))?;
    match command {
        "verify" => {
            let head: String = report.head.iter().map(|b| format!("{b:02x}")).collect();
            println!("ok: {} entries, head {head}", report.entries);
            Ok(())
        }
        "query" => {
            let filter = parse_filter(&args[2..])?;
            for line in open(path)?.lines() {
                let line = line.map_err(|e| format!("{path}: {e}"))?;
                let entry: serde_json::Value =
                    serde_json::from_str(&line).map_err(|e| format!("{path}: {e}"))?;
                if filter.matches(&entry) {
                    println!("{line}");
                }
            }
            Ok(())
        }
        _ => Err(usage.to_owned()),
    }
}

fn main() -> ExitCode {
    // Log lines on standard error: `RUST_LOG` (default warnings) and
    // `BALLAST_LOG_FORMAT=json` for JSON lines.
    let format = ballast_chaos::logging::LogFormat::from_env();
    if let Err(e) = ballast_chaos::logging::init(format, "warn") {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit: {e}");
            ExitCode::FAILURE
        }
    }
}
