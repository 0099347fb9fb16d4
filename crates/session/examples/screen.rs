//! Connects to a TN3270 host, runs steps in order, prints the final screen.
//!
//! ```text
//! cargo run -p ballast-session --example screen -- HOST:PORT [--tn3270e]
//!     [--terminal-type T] [--lu NAME] [--wait-text TEXT] [--type TEXT]
//!     [--key enter|clear|pfN|paN] [--timeout-ms N]
//! ```
//!
//! `--wait-text`, `--type` and `--key` are steps: they run in the order
//! given and may repeat. `--type` types at the cursor and then tabs to the
//! next input field; `--key` waits until the host unlocks the keyboard.
//! Without `--tn3270e` the client refuses TN3270E. On failure it prints
//! one line to stderr and exits with status 1.

use std::process::ExitCode;
use std::time::Duration;

use ballast_session::parse_key;
use ballast_session::{Aid, Client, Condition, SessionConfig};

enum Step {
    WaitText(String),
    Type(String),
    Key(Aid),
}

struct Args {
    host: String,
    config: SessionConfig,
    steps: Vec<Step>,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut host = None;
    let mut config = SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    };
    let mut steps = Vec::new();
    let mut timeout = Duration::from_secs(10);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--tn3270e" => config.tn3270e = true,
            "--terminal-type" => config.terminal_type = Some(value("--terminal-type")?),
            "--lu" => config.lu = Some(value("--lu")?),
            "--wait-text" => steps.push(Step::WaitText(value("--wait-text")?)),
            "--type" => steps.push(Step::Type(value("--type")?)),
            "--key" => {
                let k = value("--key")?;
                steps.push(Step::Key(
                    parse_key(&k).ok_or(format!("unknown key {k:?}"))?,
                ));
            }
            "--timeout-ms" => {
                let v = value("--timeout-ms")?;
                let ms = v
                    .parse::<u64>()
                    .map_err(|_| format!("bad --timeout-ms {v:?}"))?;
                timeout = Duration::from_millis(ms);
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ if host.is_none() => host = Some(a),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let host = host.ok_or("usage: screen HOST:PORT [--tn3270e] [--terminal-type T] [--lu NAME] [--wait-text TEXT] [--type TEXT] [--key enter|clear|pfN|paN] [--timeout-ms N]")?;
    Ok(Args {
        host,
        config,
        steps,
        timeout,
    })
}

fn run(args: Args) -> Result<String, String> {
    let t = args.timeout;
    let mut c = Client::connect(&args.host, args.config, t)
        .map_err(|e| format!("connect {}: {e}", args.host))?;
    for step in args.steps {
        match step {
            Step::WaitText(text) => c
                .wait_for(Condition::Text(text.clone()), t)
                .map_err(|e| format!("wait for {text:?}: {e}"))?,
            Step::Type(text) => {
                c.wait_for(Condition::Unlocked, t)
                    .map_err(|e| format!("type {text:?}: {e}"))?;
                c.type_text(&text)
                    .map_err(|e| format!("type {text:?}: {e}"))?;
                c.tab();
            }
            Step::Key(aid) => {
                c.wait_for(Condition::Unlocked, t)
                    .map_err(|e| format!("key {aid:?}: {e}"))?;
                c.press_and_wait(aid, t)
                    .map_err(|e| format!("key {aid:?}: {e}"))?;
            }
        }
    }
    let text = c.screen().text();
    let _ = c.disconnect();
    Ok(text)
}

fn main() -> ExitCode {
    // Log lines on standard error: `RUST_LOG` (default warnings) and
    // `BALLAST_LOG_FORMAT=json` for JSON lines.
    let format = ballast_chaos::logging::LogFormat::from_env();
    if let Err(e) = ballast_chaos::logging::init(format, "warn") {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    match parse_args().and_then(run) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("screen: {e}");
            ExitCode::FAILURE
        }
    }
}
